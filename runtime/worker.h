/*
 * worker.h — worker threads, one ev_loop each, and what runs on them.
 *
 * A worker owns its loop: only its own thread touches the loop or its
 * watchers. Other threads reach a worker through an actor's mailbox
 * (vc_actor_send) or vc_worker_call(); both ring the worker's doorbell
 * (one ev_async) only when its inbox goes from empty to non-empty.
 *
 * Each loop iteration ends in the pre-sleep hook (an ev_prepare): it runs the
 * ready actors for one bounded pass, calls the flush callbacks registered
 * with vc_worker_want_flush() (connections write their queued output there,
 * batched), then runs deferred frees. If actors are still ready the loop
 * polls without sleeping.
 */
#ifndef VC_WORKER_H
#define VC_WORKER_H

#include <ev.h>
#include <stdatomic.h>

#include "runtime/actor.h"

typedef struct vc_worker_hooks {
	/* On the worker thread, before its loop runs / after it ended. */
	void (*start)(vc_worker_t *w, void *arg);
	void (*stop)(vc_worker_t *w, void *arg);
	void *arg;
} vc_worker_hooks_t;

/* Start n worker threads (n >= 1). Returns 0, or -1 with errno set. */
int vc_runtime_start(unsigned n, const vc_worker_hooks_t *hooks) VC_MUSTCHECK;
/* Break every loop, join the threads (stop hooks run on them), free workers. */
void vc_runtime_stop(void);
unsigned vc_runtime_nworkers(void);
vc_worker_t *vc_runtime_worker(unsigned i);
/* The home worker for an object with this hash (meetings, users). */
vc_worker_t *vc_runtime_place(uint64_t hash);
/* Run fn(w, arg) on every worker, asynchronously. */
void vc_runtime_call_all(void (*fn)(vc_worker_t *w, void *arg), void *arg);

/* The worker whose thread is calling, or NULL on any other thread. */
vc_worker_t *vc_worker_self(void);
unsigned vc_worker_index(const vc_worker_t *w);
struct ev_loop *vc_worker_loop(vc_worker_t *w);

/* Run fn(w, arg) on w's thread, in order with other calls from this thread. */
void vc_worker_call(vc_worker_t *w, void (*fn)(vc_worker_t *w, void *arg), void *arg);

/* On w's thread only: run fn(p) at the end of this loop iteration. */
void vc_worker_defer(vc_worker_t *w, void (*fn)(void *p), void *p);

/* On w's thread only: call f->fn(f) in this iteration's pre-sleep hook.
 * Registering twice before the hook runs is harmless. */
typedef struct vc_flush {
	void (*fn)(struct vc_flush *f);
	struct vc_flush *_next;
	bool _queued;
} vc_flush_t;
void vc_worker_want_flush(vc_worker_t *w, vc_flush_t *f);
/* On w's thread only: forget f (its owner is going away). */
void vc_worker_cancel_flush(vc_worker_t *w, vc_flush_t *f);

/* Per-worker state of subsystems (HTTP server, PostgreSQL pool). */
enum vc_worker_slot {
	VC_SLOT_HTTP,
	VC_SLOT_WS,
	VC_SLOT_PG,
	VC_SLOT_APP,
	VC_SLOT_LOBBY,
	VC_SLOT_SIGNAL,
	VC_SLOT_MAX
};
void *vc_worker_slot(vc_worker_t *w, enum vc_worker_slot s);
void vc_worker_set_slot(vc_worker_t *w, enum vc_worker_slot s, void *p);

/* Counters, written by anyone with relaxed atomics, read by /metrics. */
typedef struct vc_worker_stats {
	_Atomic int64_t actors;   /* live actors homed here */
	_Atomic int64_t queued;   /* messages in mailboxes of actors homed here */
	_Atomic uint64_t handled; /* messages handled */
	_Atomic uint64_t turns;   /* actor turns run */
	_Atomic uint64_t loops;   /* loop iterations */
} vc_worker_stats_t;
vc_worker_stats_t *vc_worker_stats(vc_worker_t *w);

/*
 * Timers deliver a message to an actor after a delay. Start and cancel on
 * the target's home worker thread. While armed the timer holds a reference
 * to the target and owns the message; cancel destroys the message.
 */
typedef struct vc_timer {
	ev_timer _ev;
	vc_actor_t *_target;
	vc_msg_t *_msg;
} vc_timer_t;
void vc_timer_start(vc_timer_t *t, vc_actor_t *target, vc_msg_t *m, double after);
void vc_timer_cancel(vc_timer_t *t);
bool vc_timer_active(const vc_timer_t *t);

/* Runtime-internal: schedule a (now non-empty) actor on its home worker. */
void vc_worker__schedule(vc_worker_t *w, vc_actor_t *a);

#endif
