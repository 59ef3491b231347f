/* Unit tests of the registry of shared librados clients (rbd_cluster.c),
 * with a fake connect function and fake handles: which keys share, that a
 * client is connected once and shut down by its last user, and that threads
 * waiting for a connect that fails take its error instead of trying in turn. */
#include "config.h"
#include "backends/rbd_cluster.h"

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char conf_path[64];
static int connects;		/* calls of fake_connect */
static int connect_result;	/* what fake_connect returns */
static int gate[2];		/* fake_connect waits for a byte here when gated */
static int gated;

/* A connect that counts itself, may wait at the gate, and answers
 * connect_result with a message. */
static int fake_connect(void *arg, rados_t own, char *msg, size_t len)
{
	char c;

	(void)arg;
	(void)own;
	__atomic_add_fetch(&connects, 1, __ATOMIC_SEQ_CST);
	if (gated && read(gate[0], &c, 1) != 1)
		return -EIO;
	if (connect_result)
		snprintf(msg, len, "no monitor answered");
	return connect_result;
}

/* A fresh configuration file and counters. */
static void setup(void)
{
	int fd;

	snprintf(conf_path, sizeof(conf_path), "/tmp/check_rbd_cluster-XXXXXX");
	fd = mkstemp(conf_path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "[global]\n", 9), 9);
	close(fd);
	connects = 0;
	connect_result = 0;
	gated = 0;
	ck_assert_int_eq(pipe(gate), 0);
}

/* Removes the file and the gate. */
static void teardown(void)
{
	unlink(conf_path);
	close(gate[0]);
	close(gate[1]);
	ck_assert_uint_eq(rbd_cluster_count(), 0);
}

/* A fake handle: any non-NULL pointer the registry only passes around. */
static rados_t fake_handle(uintptr_t n)
{
	return (rados_t)n;
}

/* Attaches for k with a fresh fake handle n; *own_left says whether the
 * caller kept its handle. */
static struct rbd_cluster *attach(const struct rbd_cluster_key *k, uintptr_t n, bool *own_left)
{
	rados_t own = fake_handle(n);
	char msg[128] = "";
	int res = 0;
	struct rbd_cluster *c = rbd_cluster_attach(k, &own, fake_connect, NULL, &res, msg,
						   sizeof(msg));

	ck_assert_msg(c != NULL, "attach failed: %d %s", res, msg);
	*own_left = own != NULL;
	return c;
}

/* Two devices of one key share one client, connected once; the handle
 * goes back to be shut down only with the last user. */
START_TEST(test_share)
{
	struct rbd_cluster_key k;
	struct rbd_cluster *a, *b;
	bool left;

	ck_assert_int_eq(rbd_cluster_key_read(&k, conf_path, NULL, false), 0);
	ck_assert_str_eq(k.client, "admin");
	a = attach(&k, 1, &left);
	ck_assert(!left);		/* taken as the shared client */
	b = attach(&k, 2, &left);
	ck_assert(left);		/* not needed: the caller shuts it down */
	ck_assert_ptr_eq(a, b);
	ck_assert_int_eq(connects, 1);
	ck_assert_ptr_eq(rbd_cluster_handle(a), fake_handle(1));
	ck_assert_uint_eq(rbd_cluster_users(a), 2);
	ck_assert_uint_eq(rbd_cluster_count(), 1);
	ck_assert_ptr_null(rbd_cluster_detach(b));
	ck_assert_uint_eq(rbd_cluster_users(a), 1);
	ck_assert_ptr_eq(rbd_cluster_detach(a), fake_handle(1));
	ck_assert_uint_eq(rbd_cluster_count(), 0);
	ck_assert_ptr_null(rbd_cluster_detach(NULL));
	/* Gone with its last user: the next device connects afresh. */
	a = attach(&k, 3, &left);
	ck_assert_int_eq(connects, 2);
	ck_assert_ptr_eq(rbd_cluster_detach(a), fake_handle(3));
}
END_TEST

/* Another client id, another cache setting, or the file changed since:
 * each a client of its own. */
START_TEST(test_keys_differ)
{
	struct rbd_cluster_key k[4];
	struct rbd_cluster *c[4];
	bool left;
	FILE *f;

	ck_assert_int_eq(rbd_cluster_key_read(&k[0], conf_path, "admin", false), 0);
	ck_assert_int_eq(rbd_cluster_key_read(&k[1], conf_path, "other", false), 0);
	ck_assert_int_eq(rbd_cluster_key_read(&k[2], conf_path, "admin", true), 0);
	f = fopen(conf_path, "a");
	ck_assert_ptr_nonnull(f);
	fputs("mon_host = 127.0.0.1\n", f);
	fclose(f);
	ck_assert_int_eq(rbd_cluster_key_read(&k[3], conf_path, "admin", false), 0);
	for (int i = 0; i < 4; i++) {
		c[i] = attach(&k[i], 10 + i, &left);
		ck_assert(!left);
		for (int j = 0; j < i; j++)
			ck_assert_ptr_ne(c[i], c[j]);
	}
	ck_assert_int_eq(connects, 4);
	ck_assert_uint_eq(rbd_cluster_count(), 4);
	for (int i = 0; i < 4; i++)
		ck_assert_ptr_eq(rbd_cluster_detach(c[i]), fake_handle(10 + i));
}
END_TEST

/* A file that cannot be read, or an id too long to compare, has no key. */
START_TEST(test_key_errors)
{
	struct rbd_cluster_key k;
	char id[300];

	ck_assert_int_eq(rbd_cluster_key_read(&k, "/nonexistent/ceph.conf", NULL, false), -ENOENT);
	memset(id, 'x', sizeof(id) - 1);
	id[sizeof(id) - 1] = 0;
	ck_assert_int_eq(rbd_cluster_key_read(&k, conf_path, id, false), -ENAMETOOLONG);
}
END_TEST

struct waiter {
	const struct rbd_cluster_key *k;
	struct rbd_cluster *c;
	int res;
	char msg[128];
	bool own_left;
};

/* A thread that attaches for w->k and records the outcome. */
static void *waiter_thread(void *arg)
{
	struct waiter *w = arg;
	rados_t own = fake_handle(100);

	w->c = rbd_cluster_attach(w->k, &own, fake_connect, NULL, &w->res, w->msg, sizeof(w->msg));
	w->own_left = own != NULL;
	return NULL;
}

/* Starts attaches for k on n threads, the first gated in its connect and
 * the others waiting for it; then opens the gate. */
static void attach_together(const struct rbd_cluster_key *k, struct waiter *w, pthread_t *t, int n)
{
	gated = 1;
	for (int i = 0; i < n; i++) {
		w[i] = (struct waiter){ .k = k };
		ck_assert_int_eq(pthread_create(&t[i], NULL, waiter_thread, &w[i]), 0);
		if (i == 0)	/* the first is the one that connects */
			while (__atomic_load_n(&connects, __ATOMIC_SEQ_CST) == 0)
				usleep(1000);
	}
	usleep(100000);		/* the others reach their wait */
	ck_assert_int_eq(write(gate[1], "x", 1), 1);
	for (int i = 0; i < n; i++)
		ck_assert_int_eq(pthread_join(t[i], NULL), 0);
	gated = 0;
}

/* Devices added together while the first connects: a failed connect is
 * everyone's error at once (one connect, not one per device in turn). */
START_TEST(test_failure_shared)
{
	enum { N = 4 };
	struct rbd_cluster_key k;
	struct waiter w[N];
	pthread_t t[N];
	struct rbd_cluster *c;
	bool left;

	ck_assert_int_eq(rbd_cluster_key_read(&k, conf_path, NULL, false), 0);
	connect_result = -ETIMEDOUT;
	attach_together(&k, w, t, N);
	ck_assert_int_eq(connects, 1);
	for (int i = 0; i < N; i++) {
		ck_assert_ptr_null(w[i].c);
		ck_assert_int_eq(w[i].res, -ETIMEDOUT);
		ck_assert_str_eq(w[i].msg, "no monitor answered");
		ck_assert(w[i].own_left);	/* each shuts its own handle down */
	}
	ck_assert_uint_eq(rbd_cluster_count(), 0);
	/* The next add tries again, and now succeeds. */
	connect_result = 0;
	c = attach(&k, 5, &left);
	ck_assert_int_eq(connects, 2);
	ck_assert_ptr_eq(rbd_cluster_detach(c), fake_handle(5));
}
END_TEST

/* Devices added together while the first connects: all share its client. */
START_TEST(test_success_shared)
{
	enum { N = 4 };
	struct rbd_cluster_key k;
	struct waiter w[N];
	pthread_t t[N];
	rados_t last = NULL;

	ck_assert_int_eq(rbd_cluster_key_read(&k, conf_path, NULL, false), 0);
	attach_together(&k, w, t, N);
	ck_assert_int_eq(connects, 1);
	ck_assert(!w[0].own_left);
	for (int i = 0; i < N; i++) {
		ck_assert_ptr_nonnull(w[i].c);
		ck_assert_ptr_eq(w[i].c, w[0].c);
		if (i)
			ck_assert(w[i].own_left);
	}
	ck_assert_uint_eq(rbd_cluster_users(w[0].c), N);
	for (int i = 0; i < N; i++) {
		rados_t h = rbd_cluster_detach(w[i].c);

		ck_assert(i == N - 1 ? h != NULL : h == NULL);
		last = h ? h : last;
	}
	ck_assert_ptr_eq(last, fake_handle(100));
}
END_TEST

/* The suite. */
static Suite *rbd_cluster_suite(void)
{
	Suite *s = suite_create("rbd_cluster");
	TCase *tc = tcase_create("rbd_cluster");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_share);
	tcase_add_test(tc, test_keys_differ);
	tcase_add_test(tc, test_key_errors);
	tcase_add_test(tc, test_failure_shared);
	tcase_add_test(tc, test_success_shared);
	suite_add_tcase(s, tc);
	return s;
}

/* Runs the suite. */
int main(void)
{
	SRunner *sr = srunner_create(rbd_cluster_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
