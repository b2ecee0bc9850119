/*
 * test_actor.c — the actor runtime on real worker threads: nothing lost or
 * reordered per producer, an actor never runs on two threads at once and
 * always on its home worker, a busy actor cannot starve another, timers
 * deliver and cancel, the last reference frees on the home worker.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "runtime/actor.h"
#include "runtime/worker.h"

enum { MSG_SEQ, MSG_PING, MSG_COUNT };

typedef struct seq_msg {
	vc_msg_t msg;
	unsigned producer;
	unsigned seq;
} seq_msg_t;

#define PRODUCERS 4
#define PER_PRODUCER 50000
#define NACTORS 4

typedef struct counter {
	unsigned next[PRODUCERS];
	_Atomic unsigned long handled;
	_Atomic int inside;
	_Atomic int violations;
	_Atomic int wrong_thread;
	_Atomic unsigned long snapshot; /* used by the fairness test */
	struct counter *peer;
} counter_t;

static const vc_worker_hooks_t no_hooks = { 0 };

static void wait_until(_Atomic unsigned long *v, unsigned long target)
{
	struct timespec ts = { 0, 1000000 };
	for (int i = 0; i < 30000 && atomic_load(v) < target; i++)
		nanosleep(&ts, NULL); /* the test thread, not a worker */
}

static int on_seq(vc_actor_t *self, vc_msg_t *m)
{
	counter_t *c = self->state;
	seq_msg_t *s = (seq_msg_t *)m;

	if (atomic_exchange(&c->inside, 1) != 0)
		atomic_fetch_add(&c->violations, 1);
	if (vc_worker_self() != self->home)
		atomic_fetch_add(&c->wrong_thread, 1);
	if (s->seq != c->next[s->producer])
		atomic_fetch_add(&c->violations, 1);
	c->next[s->producer] = s->seq + 1;
	for (volatile int i = 0; i < 50; i++)
		;
	atomic_store(&c->inside, 0);
	atomic_fetch_add(&c->handled, 1);
	return VC_MSG_DONE;
}

static int on_ping(vc_actor_t *self, vc_msg_t *m)
{
	counter_t *c = self->state;
	atomic_store(&c->snapshot, atomic_load(&c->peer->handled));
	atomic_fetch_add(&c->handled, 1);
	return VC_MSG_DONE;
}

static const vc_handler_fn handlers[MSG_COUNT] = {
	[MSG_SEQ] = on_seq,
	[MSG_PING] = on_ping,
};
static const vc_behaviour_t counter_beh = {
	.name = "counter", .handlers = handlers, .nhandlers = MSG_COUNT,
};

static vc_actor_t *actors[NACTORS];
static counter_t counters[NACTORS];

static void *produce(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg;
	for (unsigned i = 0; i < PER_PRODUCER; i++) {
		for (unsigned k = 0; k < NACTORS; k++) {
			seq_msg_t *s = vc_msg_new(sizeof(*s), MSG_SEQ);
			s->producer = id;
			s->seq = i;
			vc_actor_send(actors[k], &s->msg);
		}
	}
	return NULL;
}

/* Producer 3 sends from a worker thread, actor to actor, as domain code will. */
static void produce_on_worker(vc_worker_t *w, void *arg)
{
	produce(arg);
}

static void test_no_loss_no_reorder_no_overlap(void **state)
{
	pthread_t th[PRODUCERS - 1];

	assert_int_equal(vc_runtime_start(2, &no_hooks), 0);
	for (unsigned k = 0; k < NACTORS; k++) {
		counters[k] = (counter_t){ 0 };
		actors[k] = vc_actor_new(&counter_beh, vc_runtime_place(k), &counters[k]);
	}
	for (unsigned i = 0; i < PRODUCERS - 1; i++)
		pthread_create(&th[i], NULL, produce, (void *)(uintptr_t)i);
	vc_worker_call(vc_runtime_worker(1), produce_on_worker, (void *)(uintptr_t)(PRODUCERS - 1));
	for (unsigned i = 0; i < PRODUCERS - 1; i++)
		pthread_join(th[i], NULL);
	for (unsigned k = 0; k < NACTORS; k++) {
		wait_until(&counters[k].handled, (unsigned long)PRODUCERS * PER_PRODUCER);
		assert_int_equal(atomic_load(&counters[k].handled),
				 (unsigned long)PRODUCERS * PER_PRODUCER);
		assert_int_equal(atomic_load(&counters[k].violations), 0);
		assert_int_equal(atomic_load(&counters[k].wrong_thread), 0);
		for (unsigned p = 0; p < PRODUCERS; p++)
			assert_int_equal(counters[k].next[p], PER_PRODUCER);
		vc_actor_unref(actors[k]);
	}
	vc_runtime_stop();
}

static _Atomic int gate;

static void hold_worker(vc_worker_t *w, void *arg)
{
	struct timespec ts = { 0, 1000000 };
	/* Deliberately blocks this worker until the test has queued its mail. */
	for (int i = 0; i < 10000 && !atomic_load(&gate); i++)
		nanosleep(&ts, NULL);
}

static void test_busy_actor_does_not_starve_others(void **state)
{
	enum { FLOOD = 20000 };
	counter_t busy = { 0 }, quiet = { 0 };

	assert_int_equal(vc_runtime_start(1, &no_hooks), 0);
	quiet.peer = &busy;
	vc_actor_t *a = vc_actor_new(&counter_beh, vc_runtime_worker(0), &busy);
	vc_actor_t *b = vc_actor_new(&counter_beh, vc_runtime_worker(0), &quiet);
	atomic_store(&gate, 0);
	vc_worker_call(vc_runtime_worker(0), hold_worker, NULL);
	for (unsigned i = 0; i < FLOOD; i++) {
		seq_msg_t *s = vc_msg_new(sizeof(*s), MSG_SEQ);
		s->seq = i;
		vc_actor_send(a, &s->msg);
	}
	vc_actor_send(b, vc_msg_new(sizeof(vc_msg_t), MSG_PING));
	atomic_store(&gate, 1);
	wait_until(&quiet.handled, 1);
	wait_until(&busy.handled, FLOOD);
	assert_int_equal(atomic_load(&quiet.handled), 1);
	/* b ran after at most a couple of a's batches, not after all of them */
	assert_true(atomic_load(&quiet.snapshot) <= 2 * VC_ACTOR_BATCH);
	assert_int_equal(atomic_load(&busy.handled), FLOOD);
	vc_actor_unref(a);
	vc_actor_unref(b);
	vc_runtime_stop();
}

/* --- timers and frees ---------------------------------------------------- */

static _Atomic unsigned long fired, destroyed, freed, freed_on_home;
static vc_timer_t timer_a, timer_b;

static void count_destroy(vc_msg_t *m)
{
	atomic_fetch_add(&destroyed, 1);
	free(m);
}

static int on_tick(vc_actor_t *self, vc_msg_t *m)
{
	atomic_fetch_add(&fired, 1);
	return VC_MSG_DONE;
}

static void tracked_free(vc_actor_t *a)
{
	if (vc_worker_self() == a->home)
		atomic_fetch_add(&freed_on_home, 1);
	atomic_fetch_add(&freed, 1);
	free(a);
}

static const vc_handler_fn tick_handlers[] = { on_tick };
static const vc_behaviour_t tick_beh = {
	.name = "ticker", .handlers = tick_handlers, .nhandlers = 1, .free = tracked_free,
};

static void arm_timers(vc_actor_t *self, void *arg)
{
	vc_msg_t *m1 = vc_msg_new(sizeof(vc_msg_t), 0);
	vc_msg_t *m2 = vc_msg_new(sizeof(vc_msg_t), 0);
	m1->destroy = count_destroy;
	m2->destroy = count_destroy;
	vc_timer_start(&timer_a, self, m1, 0.02);
	vc_timer_start(&timer_b, self, m2, 0.02);
	vc_timer_cancel(&timer_b); /* destroys m2 now, never delivered */
}

static void test_timers_and_deferred_free(void **state)
{
	assert_int_equal(vc_runtime_start(2, &no_hooks), 0);
	vc_actor_t *t = vc_actor_new(&tick_beh, vc_runtime_worker(1), NULL);
	vc_actor_call(t, arm_timers, NULL);
	wait_until(&fired, 1);
	wait_until(&destroyed, 2);
	assert_int_equal(atomic_load(&fired), 1);
	assert_int_equal(atomic_load(&destroyed), 2);
	assert_false(vc_timer_active(&timer_a));
	vc_actor_unref(t); /* from the test thread: the free happens on worker 1 */
	wait_until(&freed, 1);
	assert_int_equal(atomic_load(&freed), 1);
	assert_int_equal(atomic_load(&freed_on_home), 1);
	vc_runtime_stop();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_loss_no_reorder_no_overlap),
		cmocka_unit_test(test_busy_actor_does_not_starve_others),
		cmocka_unit_test(test_timers_and_deferred_free),
	};
	return cmocka_run_group_tests_name("actor", tests, NULL, NULL);
}
