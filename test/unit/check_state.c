/* Unit tests of the state record store, in a temporary directory. */
#include "config.h"
#include "daemon/state.h"
#include "common/log.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_SEEN 16

static char base[64];		/* made by main, removed at the end even after a failure */
static char top[96];		/* one test's --state-dir, under base */
static char devices[128];	/* top/devices */
static char err[512];

/* What state_load_all reported. */
struct seen {
	int nfound, nbad;
	uint32_t ids[MAX_SEEN];
	struct json_object *recs[MAX_SEEN];
	char files[MAX_SEEN][64];
	char whys[MAX_SEEN][256];
};

/* Keeps a found record. */
static void on_found(void *arg, uint32_t id, struct json_object *rec)
{
	struct seen *s = arg;

	ck_assert_int_lt(s->nfound, MAX_SEEN);
	s->ids[s->nfound] = id;
	s->recs[s->nfound++] = json_object_get(rec);
}

/* Keeps a bad file's name and why. */
static void on_bad(void *arg, const char *file, const char *why)
{
	struct seen *s = arg;

	ck_assert_int_lt(s->nbad, MAX_SEEN);
	snprintf(s->files[s->nbad], sizeof(s->files[0]), "%s", file);
	snprintf(s->whys[s->nbad++], sizeof(s->whys[0]), "%s", why);
}

/* Loads all records into s and checks the count returned. */
static void load(struct seen *s)
{
	int n;

	memset(s, 0, sizeof(*s));
	n = state_load_all(on_found, on_bad, s);
	ck_assert_int_eq(n, s->nfound);
}

/* Drops the records kept in s. */
static void seen_free(struct seen *s)
{
	for (int i = 0; i < s->nfound; i++)
		json_object_put(s->recs[i]);
	s->nfound = 0;
}

/* The path of a file in the devices directory (one static buffer). */
static const char *path_of(const char *name)
{
	static char path[224];

	snprintf(path, sizeof(path), "%s/%s", devices, name);
	return path;
}

/* Whether a file exists in the devices directory. */
static bool exists(const char *name)
{
	struct stat st;

	return lstat(path_of(name), &st) == 0;
}

/* Writes len bytes of text to a file in the devices directory. */
static void put_file(const char *name, const char *text, size_t len)
{
	FILE *f = fopen(path_of(name), "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(text, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

/* Reads a file of the devices directory into buf (NUL-terminated). */
static void get_file(const char *name, char *buf, size_t size)
{
	FILE *f = fopen(path_of(name), "r");
	size_t n;

	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, size - 1, f);
	buf[n] = '\0';
	fclose(f);
}

/* Saves a record given as JSON text and checks that it worked. */
static void save_text(uint32_t id, const char *text)
{
	struct json_object *rec = json_tokener_parse(text);

	ck_assert_ptr_nonnull(rec);
	ck_assert_msg(state_save(id, rec, err, sizeof(err)) == 0, "%s", err);
	json_object_put(rec);
}

/* Checks that a found record equals the JSON text. */
static void ck_record(struct json_object *rec, const char *text)
{
	struct json_object *want = json_tokener_parse(text);

	ck_assert_ptr_nonnull(want);
	ck_assert_msg(json_object_equal(rec, want), "got %s, want %s",
		      json_object_to_json_string(rec), text);
	json_object_put(want);
}

/* Removes a file tree (for nftw). */
static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st, (void)type, (void)ftw;
	return remove(path);
}

/* Makes a fresh state directory and opens the store on it. */
static void setup(void)
{
	snprintf(top, sizeof(top), "%s/test.XXXXXX", base);
	ck_assert_ptr_nonnull(mkdtemp(top));
	snprintf(devices, sizeof(devices), "%s/devices", top);
	ck_assert_msg(state_init(top, err, sizeof(err)) == 0, "%s", err);
}

/* Closes the store and removes the state directory. */
static void teardown(void)
{
	state_shutdown();
	chmod(devices, 0700);
	nftw(top, remove_one, 8, FTW_DEPTH | FTW_PHYS);
}

START_TEST(test_init)
{
	char sub[160];
	struct stat st;

	ck_assert_int_eq(stat(devices, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 0777, 0700);
	/* DIR must exist; a second init closes the first. */
	snprintf(sub, sizeof(sub), "%s/sub", top);
	ck_assert_int_eq(state_init(sub, err, sizeof(err)), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err, "cannot create"));
	ck_assert_int_eq(mkdir(sub, 0755), 0);
	ck_assert_int_eq(state_init(sub, err, sizeof(err)), 0);
	snprintf(sub, sizeof(sub), "%s/sub/devices", top);
	ck_assert_int_eq(stat(sub, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0700);
	/* DIR/devices that is a file cannot be used. */
	snprintf(sub, sizeof(sub), "%s/file", top);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	snprintf(sub, sizeof(sub), "%s/file/devices", top);
	ck_assert_int_eq(close(open(sub, O_CREAT | O_WRONLY, 0600)), 0);
	snprintf(sub, sizeof(sub), "%s/file", top);
	ck_assert_int_eq(state_init(sub, err, sizeof(err)), -ENOTDIR);
	ck_assert_ptr_nonnull(strstr(err, "cannot open"));
	/* Closed: every call says so. */
	ck_assert_int_eq(state_save(1, NULL, err, sizeof(err)), -EBADF);
	ck_assert_int_eq(state_remove(1), -EBADF);
	ck_assert_int_eq(state_move_aside(1, "x"), -EBADF);
	ck_assert_int_eq(state_load_all(on_found, on_bad, NULL), -EBADF);
}
END_TEST

START_TEST(test_lock)
{
	struct json_object *rec = json_object_new_object();
	int fd = open(devices, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	/* The open store holds DIR/devices: nobody else takes it. */
	ck_assert_int_eq(flock(fd, LOCK_EX | LOCK_NB), -1);
	ck_assert_int_eq(errno, EWOULDBLOCK);
	/* Another holder (a second daemon) keeps the store from opening. */
	state_shutdown();
	ck_assert_int_eq(flock(fd, LOCK_EX | LOCK_NB), 0);
	ck_assert_int_eq(state_init(top, err, sizeof(err)), -EBUSY);
	ck_assert_msg(strstr(err, "another ublkd uses the state directory") &&
		      strstr(err, top) && strstr(err, "--state-dir"), "%s", err);
	ck_assert_int_eq(state_save(1, rec, err, sizeof(err)), -EBADF);
	ck_assert_int_eq(state_remove(1), -EBADF);
	/* Once it lets go, the store opens and writes again. */
	ck_assert_int_eq(flock(fd, LOCK_UN), 0);
	ck_assert_msg(state_init(top, err, sizeof(err)) == 0, "%s", err);
	ck_assert_msg(state_save(1, rec, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(flock(fd, LOCK_EX | LOCK_NB), -1);
	close(fd);
	json_object_put(rec);
}
END_TEST

START_TEST(test_save_load)
{
	struct json_object *rec = json_tokener_parse(
		"{\"backend\":\"mem\",\"queues\":2,\"args\":{\"size\":\"1G\"},"
		"\"version\":9,\"id\":77}");
	char text[256];
	struct stat st;
	struct seen s;

	ck_assert_int_eq(state_save(3, rec, err, sizeof(err)), 0);
	/* The caller's object is not modified. */
	ck_record(rec, "{\"backend\":\"mem\",\"queues\":2,\"args\":{\"size\":\"1G\"},"
		  "\"version\":9,\"id\":77}");
	json_object_put(rec);
	get_file("ublkb3.json", text, sizeof(text));
	ck_assert_str_eq(text, "{\"version\":1,\"id\":3,\"backend\":\"mem\",\"queues\":2,"
			 "\"args\":{\"size\":\"1G\"}}");
	ck_assert_int_eq(stat(path_of("ublkb3.json"), &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	ck_assert(!exists("ublkb3.json.tmp"));
	load(&s);
	ck_assert_int_eq(s.nfound, 1);
	ck_assert_int_eq(s.nbad, 0);
	ck_assert_uint_eq(s.ids[0], 3);
	ck_record(s.recs[0], "{\"version\":1,\"id\":3,\"backend\":\"mem\",\"queues\":2,"
		  "\"args\":{\"size\":\"1G\"}}");
	seen_free(&s);
	/* Not an object: refused. */
	rec = json_object_new_int(5);
	ck_assert_int_eq(state_save(4, rec, err, sizeof(err)), -EINVAL);
	json_object_put(rec);
	ck_assert(!exists("ublkb4.json"));
}
END_TEST

START_TEST(test_save_twice)
{
	struct seen s;

	save_text(6, "{\"size\":1}");
	save_text(6, "{\"size\":2,\"path\":\"/x\"}");
	load(&s);
	ck_assert_int_eq(s.nfound, 1);
	ck_assert_uint_eq(s.ids[0], 6);
	ck_record(s.recs[0], "{\"version\":1,\"id\":6,\"size\":2,\"path\":\"/x\"}");
	seen_free(&s);
	ck_assert(!exists("ublkb6.json.tmp"));
}
END_TEST

START_TEST(test_remove)
{
	struct seen s;

	save_text(1, "{}");
	ck_assert_int_eq(state_remove(1), 0);
	ck_assert(!exists("ublkb1.json"));
	load(&s);
	ck_assert_int_eq(s.nfound, 0);
	ck_assert_int_eq(s.nbad, 0);
	ck_assert_int_eq(state_remove(1), 0);
	ck_assert_int_eq(state_remove(42), 0);
}
END_TEST

START_TEST(test_order)
{
	struct seen s;

	save_text(10, "{\"n\":10}");
	save_text(2, "{\"n\":2}");
	save_text(7, "{\"n\":7}");
	load(&s);
	ck_assert_int_eq(s.nfound, 3);
	ck_assert_uint_eq(s.ids[0], 2);
	ck_assert_uint_eq(s.ids[1], 7);
	ck_assert_uint_eq(s.ids[2], 10);
	ck_record(s.recs[2], "{\"version\":1,\"id\":10,\"n\":10}");
	seen_free(&s);
}
END_TEST

START_TEST(test_strays)
{
	struct seen s;

	put_file("ublkb5.json.tmp", "{\"version\":1,", 13);
	put_file("notes", "x", 1);
	put_file("ublkb05.json", "x", 1);
	put_file("ublkb8.json.bad", "x", 1);
	save_text(1, "{}");
	load(&s);
	ck_assert_int_eq(s.nfound, 1);
	ck_assert_uint_eq(s.ids[0], 1);
	ck_assert_int_eq(s.nbad, 0);
	ck_assert(!exists("ublkb5.json.tmp"));
	ck_assert(exists("notes"));
	ck_assert(exists("ublkb05.json"));
	ck_assert(exists("ublkb8.json.bad"));
	seen_free(&s);
}
END_TEST

/* A bad file, what state_load_all must say of it. */
static const struct bad_case {
	const char *name;
	const char *text;	/* NULL: oversized */
	size_t len;		/* 0: all of text */
	const char *why;
} bad_cases[] = {
	{ "ublkb2.json", "garbage {", 0, "not JSON: unexpected character" },
	{ "ublkb2.json", "{\"version\":1,\"id\":2} {}", 0, "not JSON: more data" },
	{ "ublkb2.json", "{\"version\":1,\"id\":2,\"backend\":\"file\",\"path\":\"/x.img\"}", 26,
	  "truncated" },
	{ "ublkb2.json", "[1,2]", 0, "not a JSON object but array" },
	{ "ublkb3.json", "{\"version\":1,\"id\":4}", 0, "\"id\" 4 does not match the file name" },
	{ "ublkb2.json", "{\"version\":1,\"id\":\"2\"}", 0, "no integer \"id\"" },
	{ "ublkb2.json", "{\"version\":2,\"id\":2}", 0, "\"version\" 2 is not supported" },
	{ "ublkb2.json", "{\"id\":2}", 0, "no integer \"version\"" },
	{ "ublkb2.json", "", 0, "empty" },
	{ "ublkb2.json", NULL, 0, "larger than 65536 bytes" },
};

START_TEST(test_bad_file)
{
	const struct bad_case *c = &bad_cases[_i];
	char bad[64], text[128];
	struct seen s;

	save_text(1, "{\"n\":1}");
	save_text(9, "{\"n\":9}");
	snprintf(bad, sizeof(bad), "%s.bad", c->name);
	put_file(bad, "older", 5);
	if (c->text) {
		put_file(c->name, c->text, c->len ? c->len : strlen(c->text));
	} else {
		/* Valid JSON, only too large. */
		size_t len = STATE_MAX_BYTES + 1;
		char *big = malloc(len);

		ck_assert_ptr_nonnull(big);
		memset(big, ' ', len);
		memcpy(big, "{\"version\":1,\"id\":2}", 20);
		put_file(c->name, big, len);
		free(big);
	}
	load(&s);
	ck_assert_int_eq(s.nfound, 2);
	ck_assert_uint_eq(s.ids[0], 1);
	ck_assert_uint_eq(s.ids[1], 9);
	ck_assert_int_eq(s.nbad, 1);
	ck_assert_str_eq(s.files[0], c->name);
	ck_assert_msg(strstr(s.whys[0], c->why), "why '%s' lacks '%s'", s.whys[0], c->why);
	seen_free(&s);
	/* Moved aside over the older .bad; the next load does not meet it. */
	ck_assert(!exists(c->name));
	get_file(bad, text, sizeof(text));
	ck_assert_str_ne(text, "older");
	load(&s);
	ck_assert_int_eq(s.nfound, 2);
	ck_assert_int_eq(s.nbad, 0);
	seen_free(&s);
}
END_TEST

START_TEST(test_move_aside)
{
	struct seen s;

	save_text(4, "{\"path\":\"/gone\"}");
	ck_assert_int_eq(state_move_aside(4, "backing file gone"), 0);
	ck_assert(!exists("ublkb4.json"));
	ck_assert(exists("ublkb4.json.bad"));
	load(&s);
	ck_assert_int_eq(s.nfound, 0);
	ck_assert_int_eq(s.nbad, 0);
	ck_assert_int_eq(state_move_aside(4, "again"), -ENOENT);
}
END_TEST

START_TEST(test_too_big)
{
	struct json_object *rec = json_object_new_object();
	char *big = malloc(STATE_MAX_BYTES + 1);
	char text[64];

	ck_assert_ptr_nonnull(big);
	save_text(1, "{\"n\":1}");
	memset(big, 'a', STATE_MAX_BYTES);
	big[STATE_MAX_BYTES] = '\0';
	json_object_object_add(rec, "blob", json_object_new_string(big));
	free(big);
	ck_assert_int_eq(state_save(1, rec, err, sizeof(err)), -EFBIG);
	ck_assert_ptr_nonnull(strstr(err, "more than 65536"));
	json_object_put(rec);
	get_file("ublkb1.json", text, sizeof(text));
	ck_assert_str_eq(text, "{\"version\":1,\"id\":1,\"n\":1}");
	ck_assert(!exists("ublkb1.json.tmp"));
}
END_TEST

START_TEST(test_fail_open)
{
	struct json_object *rec = json_object_new_object();

	/* The directory goes away under the open fd: openat fails, even for root. */
	ck_assert_int_eq(rmdir(devices), 0);
	ck_assert_int_eq(state_save(1, rec, err, sizeof(err)), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err, "cannot write"));
	ck_assert_ptr_nonnull(strstr(err, "ublkb1.json.tmp"));
	json_object_put(rec);
	ck_assert(!exists("ublkb1.json.tmp"));
	ck_assert_int_eq(state_remove(1), 0);
}
END_TEST

START_TEST(test_fail_write)
{
	struct rlimit old, small = { .rlim_cur = 30, .rlim_max = RLIM_INFINITY };
	struct json_object *rec = json_tokener_parse("{\"path\":\"/a/long/path/to/a/backing/file\"}");
	void (*old_sig)(int);
	char text[64];
	int ret;

	save_text(1, "{\"n\":1}");
	/* A file size limit makes write() fail after a short write, even for
	 * root; nothing else may write to a file until it is lifted. */
	ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
	small.rlim_max = old.rlim_max;
	old_sig = signal(SIGXFSZ, SIG_IGN);
	setrlimit(RLIMIT_FSIZE, &small);
	ret = state_save(1, rec, err, sizeof(err));
	setrlimit(RLIMIT_FSIZE, &old);
	signal(SIGXFSZ, old_sig);
	json_object_put(rec);
	ck_assert_int_eq(ret, -EFBIG);
	ck_assert_ptr_nonnull(strstr(err, "cannot write"));
	ck_assert(!exists("ublkb1.json.tmp"));
	get_file("ublkb1.json", text, sizeof(text));
	ck_assert_str_eq(text, "{\"version\":1,\"id\":1,\"n\":1}");
}
END_TEST

START_TEST(test_fail_rename)
{
	struct json_object *rec = json_object_new_object();
	struct seen s;

	/* A directory where the record goes: rename fails, even for root. */
	ck_assert_int_eq(mkdir(path_of("ublkb3.json"), 0700), 0);
	put_file("ublkb3.json/x", "x", 1);
	save_text(1, "{}");
	ck_assert_int_lt(state_save(3, rec, err, sizeof(err)), 0);
	json_object_put(rec);
	ck_assert_ptr_nonnull(strstr(err, "cannot rename"));
	ck_assert(!exists("ublkb3.json.tmp"));
	ck_assert(exists("ublkb3.json/x"));
	/* A file that cannot be read is reported but stays. */
	load(&s);
	ck_assert_int_eq(s.nfound, 1);
	ck_assert_int_eq(s.nbad, 1);
	ck_assert_str_eq(s.files[0], "ublkb3.json");
	ck_assert_ptr_nonnull(strstr(s.whys[0], "cannot read"));
	ck_assert(exists("ublkb3.json/x"));
	seen_free(&s);
}
END_TEST

/* Builds the suite. */
static Suite *state_suite(void)
{
	Suite *s = suite_create("state");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_init);
	tcase_add_test(tc, test_lock);
	tcase_add_test(tc, test_save_load);
	tcase_add_test(tc, test_save_twice);
	tcase_add_test(tc, test_remove);
	tcase_add_test(tc, test_order);
	tcase_add_test(tc, test_strays);
	tcase_add_loop_test(tc, test_bad_file, 0, sizeof(bad_cases) / sizeof(bad_cases[0]));
	tcase_add_test(tc, test_move_aside);
	tcase_add_test(tc, test_too_big);
	tcase_add_test(tc, test_fail_open);
	tcase_add_test(tc, test_fail_write);
	tcase_add_test(tc, test_fail_rename);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(state_suite());
	int failed;

	log_init("check_state", LOG_LEVEL_DEBUG);
	snprintf(base, sizeof(base), "/tmp/check_state.XXXXXX");
	if (!mkdtemp(base)) {
		perror("mkdtemp");
		return 1;
	}
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	nftw(base, remove_one, 8, FTW_DEPTH | FTW_PHYS);
	return failed ? 1 : 0;
}
