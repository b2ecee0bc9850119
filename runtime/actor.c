/*
 * actor.c — mailboxes, sending, and one actor's turn.
 *
 * Scheduling rule: `_pending` counts messages sent and not yet handled. A
 * sender increments it *before* pushing; the sender that moves it from 0 to
 * 1 schedules the actor (taking a reference for the scheduler). The home
 * worker pops at most VC_ACTOR_BATCH messages per turn, then subtracts what
 * it handled: if anything is left (possibly a message still being pushed)
 * the actor stays scheduled, otherwise it drops the scheduler's reference.
 * So an actor is on at most one worker's run list at a time, and only its
 * home worker ever runs it: its handlers never run on two threads at once.
 */
#include "runtime/actor.h"

#include <stdlib.h>
#include <string.h>

#include "runtime/log.h"
#include "runtime/worker.h"

typedef struct call_msg {
	vc_msg_t msg;
	void (*fn)(vc_actor_t *self, void *arg);
	void *arg;
} call_msg_t;

static _Atomic uint64_t next_actor_id = 1;

void vc_actor_init(vc_actor_t *a, const vc_behaviour_t *beh, vc_worker_t *home, void *state)
{
	memset(a, 0, sizeof(*a));
	a->beh = beh;
	a->home = home;
	a->state = state;
	a->id = atomic_fetch_add_explicit(&next_actor_id, 1, memory_order_relaxed);
	vc_mpsc_init(&a->_mbox);
	atomic_init(&a->_pending, 0);
	atomic_init(&a->_refs, 1);
	atomic_fetch_add_explicit(&vc_worker_stats(home)->actors, 1, memory_order_relaxed);
}

vc_actor_t *vc_actor_new(const vc_behaviour_t *beh, vc_worker_t *home, void *state)
{
	vc_actor_t *a = vc_malloc(sizeof(*a));
	vc_actor_init(a, beh, home, state);
	return a;
}

static void actor_free(void *p)
{
	vc_actor_t *a = p;

	atomic_fetch_sub_explicit(&vc_worker_stats(a->home)->actors, 1, memory_order_relaxed);
	if (a->beh->free != NULL)
		a->beh->free(a);
	else
		free(a);
}

static void actor_free_on_home(vc_worker_t *w, void *p)
{
	vc_worker_defer(w, actor_free, p);
}

void vc_actor_ref(vc_actor_t *a)
{
	atomic_fetch_add_explicit(&a->_refs, 1, memory_order_relaxed);
}

void vc_actor_unref(vc_actor_t *a)
{
	/* acq_rel: every use of `a` by other holders happens before the free. */
	if (atomic_fetch_sub_explicit(&a->_refs, 1, memory_order_acq_rel) != 1)
		return;
	if (vc_worker_self() == a->home)
		vc_worker_defer(a->home, actor_free, a);
	else
		vc_worker_call(a->home, actor_free_on_home, a);
}

void *vc_msg_new(size_t size, uint32_t type)
{
	vc_msg_t *m = vc_calloc(1, size);
	m->type = type;
	return m;
}

void vc_msg_destroy(vc_msg_t *m)
{
	if (m->destroy != NULL)
		m->destroy(m);
	else
		free(m);
}

void vc_actor_send(vc_actor_t *a, vc_msg_t *m)
{
	atomic_fetch_add_explicit(&vc_worker_stats(a->home)->queued, 1, memory_order_relaxed);
	/* Count before pushing, so the consumer never handles more than it was told. */
	uint32_t before = atomic_fetch_add_explicit(&a->_pending, 1, memory_order_acq_rel);
	vc_mpsc_push(&a->_mbox, &m->_node);
	if (before == 0) {
		vc_actor_ref(a); /* the scheduler's reference */
		vc_worker__schedule(a->home, a);
	}
}

void vc_actor_call(vc_actor_t *a, void (*fn)(vc_actor_t *self, void *arg), void *arg)
{
	call_msg_t *m = vc_msg_new(sizeof(*m), VC_MSG_CALL);
	m->fn = fn;
	m->arg = arg;
	vc_actor_send(a, &m->msg);
}

void vc_actor_stop(vc_actor_t *a)
{
	vc_actor_send(a, vc_msg_new(sizeof(vc_msg_t), VC_MSG_STOP));
}

bool vc_actor_stopped(const vc_actor_t *a)
{
	return a->_stopped;
}

static void dispatch(vc_actor_t *a, vc_msg_t *m)
{
	const vc_behaviour_t *beh = a->beh;

	if (m->type == VC_MSG_CALL) {
		call_msg_t *c = (call_msg_t *)m;
		c->fn(a, c->arg);
	} else if (a->_stopped) {
		/* dropped: destroy releases whatever the message carries */
	} else if (m->type == VC_MSG_STOP) {
		a->_stopped = true;
		if (beh->on_stop != NULL)
			beh->on_stop(a);
	} else if (m->type < beh->nhandlers && beh->handlers[m->type] != NULL) {
		if (beh->handlers[m->type](a, m) == VC_MSG_KEPT)
			return;
	} else {
		log_error("actor %s#%llu: no handler for message type %u", beh->name,
		          (unsigned long long)a->id, m->type);
	}
	vc_msg_destroy(m);
}

bool vc_actor__run(vc_actor_t *a)
{
	vc_worker_stats_t *st = vc_worker_stats(a->home);
	uint32_t handled = 0;

	while (handled < VC_ACTOR_BATCH) {
		vc_qnode_t *n = vc_mpsc_pop(&a->_mbox);
		if (n == NULL)
			break;
		dispatch(a, vc_container_of(n, vc_msg_t, _node));
		handled++;
	}
	atomic_fetch_sub_explicit(&st->queued, handled, memory_order_relaxed);
	atomic_fetch_add_explicit(&st->handled, handled, memory_order_relaxed);
	atomic_fetch_add_explicit(&st->turns, 1, memory_order_relaxed);

	uint32_t before = atomic_fetch_sub_explicit(&a->_pending, handled, memory_order_acq_rel);
	if (before != handled)
		return true; /* more mail (or a push in progress): stay scheduled */
	vc_actor_unref(a);   /* the scheduler's reference; a free is deferred */
	return false;
}
