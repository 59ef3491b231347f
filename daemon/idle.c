/* Running backends' background steps from one ev_idle watcher (see idle.h). */
#include "config.h"
#include "daemon/idle.h"

#include <errno.h>
#include <stdlib.h>

/* One started step; step is NULL once it has ended or was stopped. */
struct idle_job {
	struct idle_job *next;
	backend_step_fn step;
	void *arg;
};

/* Frees the jobs that ended; stops the watcher when none is left. */
static void idle_sweep(struct idle *idle)
{
	struct idle_job **p = &idle->jobs;

	while (*p) {
		struct idle_job *j = *p;

		if (j->step) {
			p = &j->next;
			continue;
		}
		*p = j->next;
		free(j);
	}
	if (!idle->jobs && ev_is_active(&idle->watcher))
		ev_idle_stop(idle->loop, &idle->watcher);
}

/* One loop turn: one slice of every step started before it. */
static void idle_on_turn(struct ev_loop *loop, ev_idle *w, int revents)
{
	struct idle *idle = w->data;

	(void)loop;
	(void)revents;
	idle->in_turn = true;
	/* Steps started meanwhile go in front of the head: next turn. */
	for (struct idle_job *j = idle->jobs; j; j = j->next)
		if (j->step && !j->step(j->arg))
			j->step = NULL;
	idle->in_turn = false;
	idle_sweep(idle);
}

/* backend_idle.start: adds step(arg) and makes sure the watcher runs. */
static int idle_start(struct backend_idle *ops, backend_step_fn step, void *arg)
{
	struct idle *idle = (struct idle *)ops;
	struct idle_job *j = malloc(sizeof(*j));

	if (!j)
		return -ENOMEM;
	j->step = step;
	j->arg = arg;
	j->next = idle->jobs;
	idle->jobs = j;
	ev_idle_start(idle->loop, &idle->watcher);
	return 0;
}

/* backend_idle.stop: ends step(arg); inside a turn only marks it, since the
 * turn still walks the list. */
static void idle_stop(struct backend_idle *ops, backend_step_fn step, void *arg)
{
	struct idle *idle = (struct idle *)ops;

	for (struct idle_job *j = idle->jobs; j; j = j->next)
		if (j->step == step && j->arg == arg)
			j->step = NULL;
	if (!idle->in_turn)
		idle_sweep(idle);
}

/* Prepares idle for loop, with no steps. */
void idle_init(struct idle *idle, struct ev_loop *loop)
{
	idle->ops.start = idle_start;
	idle->ops.stop = idle_stop;
	idle->loop = loop;
	idle->jobs = NULL;
	idle->in_turn = false;
	ev_idle_init(&idle->watcher, idle_on_turn);
	idle->watcher.data = idle;
}

/* Drops the steps still started and stops the watcher. */
void idle_fini(struct idle *idle)
{
	for (struct idle_job *j = idle->jobs; j; j = j->next)
		j->step = NULL;
	idle_sweep(idle);
}
