/*
 * worker.c — worker threads: the loop, the doorbell, the ready list and the
 * pre-sleep hook.
 *
 * Actors made runnable by another thread arrive through the worker's inbox
 * (an MPSC queue of actors) and the doorbell (one ev_async), rung only when
 * the inbox count goes from 0 to 1. Actors made runnable on the worker itself
 * go straight to its ready list. The pre-sleep hook (ev_prepare) drains the
 * inbox, runs one bounded pass over the ready list (an actor still busy after
 * its batch goes to the back), calls the flush callbacks and the deferred
 * frees. While work remains an ev_idle watcher keeps the loop from sleeping.
 */
#include "runtime/worker.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/log.h"

typedef struct deferred {
	struct deferred *next;
	void (*fn)(void *p);
	void *p;
} deferred_t;

typedef struct worker_call {
	void (*fn)(vc_worker_t *w, void *arg);
	void *arg;
} worker_call_t;

struct vc_worker {
	unsigned index;
	pthread_t thread;
	struct ev_loop *loop;
	ev_async doorbell;
	ev_prepare presleep;
	ev_idle spin;
	vc_mpsc_t inbox;
	_Atomic uint32_t inbox_pending;
	vc_actor_t *ready_head, *ready_tail;
	unsigned nready;
	vc_flush_t *flush_head;
	deferred_t *defer_head;
	vc_actor_t control; /* runs vc_worker_call()s */
	void *slots[VC_SLOT_MAX];
	vc_worker_stats_t stats;
	const vc_worker_hooks_t *hooks;
	char name[16];
};

static vc_worker_t *workers;
static unsigned nworkers;
static vc_worker_hooks_t hooks_copy;
static _Thread_local vc_worker_t *self;

static const vc_behaviour_t control_behaviour = { .name = "worker-control" };

vc_worker_t *vc_worker_self(void)
{
	return self;
}

unsigned vc_worker_index(const vc_worker_t *w)
{
	return w->index;
}

struct ev_loop *vc_worker_loop(vc_worker_t *w)
{
	return w->loop;
}

vc_worker_stats_t *vc_worker_stats(vc_worker_t *w)
{
	return &w->stats;
}

void *vc_worker_slot(vc_worker_t *w, enum vc_worker_slot s)
{
	return w->slots[s];
}

void vc_worker_set_slot(vc_worker_t *w, enum vc_worker_slot s, void *p)
{
	w->slots[s] = p;
}

unsigned vc_runtime_nworkers(void)
{
	return nworkers;
}

vc_worker_t *vc_runtime_worker(unsigned i)
{
	return i < nworkers ? &workers[i] : NULL;
}

vc_worker_t *vc_runtime_place(uint64_t hash)
{
	return &workers[hash % nworkers];
}

/* --- the ready list (worker thread only) ---------------------------------- */

static void ready_push(vc_worker_t *w, vc_actor_t *a)
{
	a->_run_next = NULL;
	if (w->ready_tail != NULL)
		w->ready_tail->_run_next = a;
	else
		w->ready_head = a;
	w->ready_tail = a;
	w->nready++;
}

static vc_actor_t *ready_pop(vc_worker_t *w)
{
	vc_actor_t *a = w->ready_head;
	if (a == NULL)
		return NULL;
	w->ready_head = a->_run_next;
	if (w->ready_head == NULL)
		w->ready_tail = NULL;
	w->nready--;
	return a;
}

void vc_worker__schedule(vc_worker_t *w, vc_actor_t *a)
{
	if (self == w) {
		ready_push(w, a);
		return;
	}
	/* Count first (as actor sends do): the drain never sees more than counted. */
	if (atomic_fetch_add_explicit(&w->inbox_pending, 1, memory_order_acq_rel) == 0) {
		vc_mpsc_push(&w->inbox, &a->_sched);
		ev_async_send(w->loop, &w->doorbell);
		return;
	}
	vc_mpsc_push(&w->inbox, &a->_sched);
}

/* Move actors scheduled by other threads to the ready list. Returns true if
 * some are still being pushed (the caller must not sleep). */
static bool drain_inbox(vc_worker_t *w)
{
	uint32_t n = 0;
	vc_qnode_t *q;

	while ((q = vc_mpsc_pop(&w->inbox)) != NULL) {
		ready_push(w, vc_container_of(q, vc_actor_t, _sched));
		n++;
	}
	if (n == 0)
		return atomic_load_explicit(&w->inbox_pending, memory_order_acquire) != 0;
	return atomic_fetch_sub_explicit(&w->inbox_pending, n, memory_order_acq_rel) != n;
}

/* One pass over the actors ready now; those scheduled meanwhile wait for the
 * next pass, so one busy actor cannot starve the others or the sockets. */
static void run_ready(vc_worker_t *w)
{
	unsigned n = w->nready;

	while (n-- > 0) {
		vc_actor_t *a = ready_pop(w);
		if (vc_actor__run(a))
			ready_push(w, a);
	}
}

static void run_flushes(vc_worker_t *w)
{
	vc_flush_t *f = w->flush_head;

	w->flush_head = NULL;
	while (f != NULL) {
		vc_flush_t *next = f->_next;
		f->_queued = false;
		f->_next = NULL;
		f->fn(f);
		f = next;
	}
}

static void run_deferred(vc_worker_t *w)
{
	deferred_t *d = w->defer_head;

	w->defer_head = NULL;
	while (d != NULL) {
		deferred_t *next = d->next;
		d->fn(d->p);
		free(d);
		d = next;
	}
}

/* Returns true if work is left for another pass. */
static bool presleep_work(vc_worker_t *w)
{
	bool pushing = drain_inbox(w);

	run_ready(w);
	run_flushes(w);
	run_deferred(w);
	return pushing || w->nready > 0 || w->flush_head != NULL || w->defer_head != NULL;
}

static void on_presleep(struct ev_loop *loop, ev_prepare *p, int revents)
{
	vc_worker_t *w = p->data;

	atomic_fetch_add_explicit(&w->stats.loops, 1, memory_order_relaxed);
	if (presleep_work(w))
		ev_idle_start(loop, &w->spin);
	else
		ev_idle_stop(loop, &w->spin);
}

static void on_doorbell(struct ev_loop *loop, ev_async *a, int revents)
{
	/* Nothing to do here: the pre-sleep hook drains the inbox. */
}

static void on_spin(struct ev_loop *loop, ev_idle *i, int revents)
{
	/* Present only so that the loop polls without sleeping. */
}

void vc_worker_defer(vc_worker_t *w, void (*fn)(void *p), void *p)
{
	deferred_t *d = vc_malloc(sizeof(*d));

	d->fn = fn;
	d->p = p;
	d->next = w->defer_head;
	w->defer_head = d;
}

void vc_worker_want_flush(vc_worker_t *w, vc_flush_t *f)
{
	if (f->_queued)
		return;
	f->_queued = true;
	f->_next = w->flush_head;
	w->flush_head = f;
}

void vc_worker_cancel_flush(vc_worker_t *w, vc_flush_t *f)
{
	if (!f->_queued)
		return;
	for (vc_flush_t **pp = &w->flush_head; *pp != NULL; pp = &(*pp)->_next) {
		if (*pp == f) {
			*pp = f->_next;
			break;
		}
	}
	f->_queued = false;
	f->_next = NULL;
}

static void run_worker_call(vc_actor_t *self_actor, void *arg)
{
	worker_call_t *c = arg;

	c->fn(self_actor->home, c->arg);
	free(c);
}

void vc_worker_call(vc_worker_t *w, void (*fn)(vc_worker_t *w, void *arg), void *arg)
{
	worker_call_t *c = vc_malloc(sizeof(*c));

	c->fn = fn;
	c->arg = arg;
	vc_actor_call(&w->control, run_worker_call, c);
}

void vc_runtime_call_all(void (*fn)(vc_worker_t *w, void *arg), void *arg)
{
	for (unsigned i = 0; i < nworkers; i++)
		vc_worker_call(&workers[i], fn, arg);
}

/* --- timers --------------------------------------------------------------- */

static void on_timer(struct ev_loop *loop, ev_timer *ev, int revents)
{
	vc_timer_t *t = vc_container_of(ev, vc_timer_t, _ev);
	vc_actor_t *a = t->_target;
	vc_msg_t *m = t->_msg;

	t->_target = NULL;
	t->_msg = NULL;
	vc_actor_send(a, m);
	vc_actor_unref(a);
}

void vc_timer_start(vc_timer_t *t, vc_actor_t *target, vc_msg_t *m, double after)
{
	vc_timer_cancel(t);
	vc_actor_ref(target);
	t->_target = target;
	t->_msg = m;
	ev_timer_init(&t->_ev, on_timer, after, 0.);
	ev_timer_start(target->home->loop, &t->_ev);
}

void vc_timer_cancel(vc_timer_t *t)
{
	vc_actor_t *a = t->_target;

	if (a == NULL)
		return;
	ev_timer_stop(a->home->loop, &t->_ev);
	vc_msg_destroy(t->_msg);
	t->_target = NULL;
	t->_msg = NULL;
	vc_actor_unref(a);
}

bool vc_timer_active(const vc_timer_t *t)
{
	return t->_target != NULL;
}

/* --- threads -------------------------------------------------------------- */

static void break_loop(vc_worker_t *w, void *arg)
{
	ev_break(w->loop, EVBREAK_ALL);
}

static void *worker_main(void *arg)
{
	vc_worker_t *w = arg;
	sigset_t all;

	/* Signals are the main thread's business. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	self = w;
	vc_log_set_thread(w->name);
	if (w->hooks->start != NULL)
		w->hooks->start(w, w->hooks->arg);
	ev_run(w->loop, 0);
	if (w->hooks->stop != NULL)
		w->hooks->stop(w, w->hooks->arg);
	/* Let what the stop hook released finish: bounded passes. */
	for (int i = 0; i < 1000 && presleep_work(w); i++)
		;
	return NULL;
}

static void worker_init(vc_worker_t *w, unsigned i)
{
	w->index = i;
	snprintf(w->name, sizeof(w->name), "w%u", i);
	w->loop = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK);
	if (w->loop == NULL)
		vc_fatal("cannot create an event loop for worker %u", i);
	vc_mpsc_init(&w->inbox);
	ev_async_init(&w->doorbell, on_doorbell);
	ev_async_start(w->loop, &w->doorbell);
	ev_prepare_init(&w->presleep, on_presleep);
	w->presleep.data = w;
	ev_prepare_start(w->loop, &w->presleep);
	ev_idle_init(&w->spin, on_spin);
	vc_actor_init(&w->control, &control_behaviour, w, NULL);
	w->hooks = &hooks_copy;
}

int vc_runtime_start(unsigned n, const vc_worker_hooks_t *hooks)
{
	if (n == 0) {
		errno = EINVAL;
		return -1;
	}
	hooks_copy = *hooks;
	workers = vc_calloc(n, sizeof(*workers));
	nworkers = n;
	for (unsigned i = 0; i < n; i++)
		worker_init(&workers[i], i);
	for (unsigned i = 0; i < n; i++) {
		int err = pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]);
		if (err != 0)
			vc_fatal("cannot start worker thread %u: %s", i, strerror(err));
	}
	return 0;
}

void vc_runtime_stop(void)
{
	for (unsigned i = 0; i < nworkers; i++)
		vc_worker_call(&workers[i], break_loop, NULL);
	for (unsigned i = 0; i < nworkers; i++)
		pthread_join(workers[i].thread, NULL);
	for (unsigned i = 0; i < nworkers; i++) {
		vc_worker_t *w = &workers[i];
		/* Calls that arrived after the loop ended are dropped with their mailbox. */
		vc_qnode_t *q;
		while ((q = vc_mpsc_pop(&w->control._mbox)) != NULL)
			vc_msg_destroy(vc_container_of(q, vc_msg_t, _node));
		ev_loop_destroy(w->loop);
	}
	free(workers);
	workers = NULL;
	nworkers = 0;
}
