/*
 * actor.h — actors: a behaviour (handler table), a mailbox and a home worker.
 *
 * Any thread may send to an actor. Handlers run on the actor's home worker,
 * one message at a time, never on two threads at once, at most
 * VC_ACTOR_BATCH messages per turn. A send that makes an empty mailbox
 * non-empty schedules the actor on its home worker (and rings that worker's
 * doorbell only if the worker's inbox was empty).
 *
 * Ownership: a message belongs to the receiver once sent. After the handler
 * returns VC_MSG_DONE the runtime destroys it (msg->destroy, or free());
 * a handler that keeps it returns VC_MSG_KEPT and destroys it later itself.
 *
 * Lifetime: an actor is reference counted. Whoever stores a pointer to an
 * actor holds a reference (vc_actor_ref/unref); a scheduled actor holds one
 * for itself. When the count reaches zero the behaviour's free() runs on the
 * home worker at the next safe point (the pre-sleep hook), never inside a
 * callback chain that might still use it.
 *
 * The struct is public only so that it can be embedded (a connection embeds
 * its actor); fields starting with '_' belong to the runtime.
 */
#ifndef VC_ACTOR_H
#define VC_ACTOR_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "runtime/mpsc.h"
#include "runtime/vc.h"

#define VC_ACTOR_BATCH 64

typedef struct vc_actor vc_actor_t;
typedef struct vc_worker vc_worker_t;

typedef struct vc_msg {
	vc_qnode_t _node;
	uint32_t type; /* index into the receiver's handler table, or VC_MSG_* */
	void (*destroy)(struct vc_msg *m); /* NULL: free(m) */
} vc_msg_t;

/* Message types the runtime handles itself, for every actor. */
#define VC_MSG_STOP 0xffff0001u /* vc_actor_stop(): on_stop runs, later messages are dropped */
#define VC_MSG_CALL 0xffff0002u /* vc_actor_call(): run a function on the home worker */

enum { VC_MSG_DONE = 0, VC_MSG_KEPT = 1 };

typedef int (*vc_handler_fn)(vc_actor_t *self, vc_msg_t *msg);

typedef struct vc_behaviour {
	const char *name;
	const vc_handler_fn *handlers; /* indexed by msg->type */
	uint32_t nhandlers;
	void (*on_stop)(vc_actor_t *self); /* optional, on the home worker */
	void (*free)(vc_actor_t *self);    /* optional; NULL: the actor was vc_actor_new()'d */
} vc_behaviour_t;

struct vc_actor {
	const vc_behaviour_t *beh;
	vc_worker_t *home;
	void *state;
	uint64_t id;
	vc_mpsc_t _mbox;
	_Atomic uint32_t _pending; /* messages sent and not yet handled */
	_Atomic uint32_t _refs;
	vc_qnode_t _sched;     /* link in the home worker's inbox */
	vc_actor_t *_run_next; /* link in the home worker's ready list */
	bool _stopped;
};

/* Allocate an actor (one reference, owned by the caller). */
vc_actor_t *vc_actor_new(const vc_behaviour_t *beh, vc_worker_t *home, void *state);
/* Initialise an embedded actor (one reference, owned by the caller). */
void vc_actor_init(vc_actor_t *a, const vc_behaviour_t *beh, vc_worker_t *home, void *state);

void vc_actor_ref(vc_actor_t *a);
void vc_actor_unref(vc_actor_t *a);

/* Send; takes ownership of m. Safe from any thread. A message sent to a
 * stopped actor is destroyed unhandled. */
void vc_actor_send(vc_actor_t *a, vc_msg_t *m);

/* Allocate a message of `size` bytes (>= sizeof(vc_msg_t)), zeroed, typed. */
void *vc_msg_new(size_t size, uint32_t type);
void vc_msg_destroy(vc_msg_t *m);

/* Run fn(self, arg) on a's home worker, in mailbox order. */
void vc_actor_call(vc_actor_t *a, void (*fn)(vc_actor_t *self, void *arg), void *arg);

/* Ask the actor to stop: queued behind the messages already sent. Once
 * stopped, typed messages are destroyed unhandled; calls still run (so that
 * a late reply can release what it carries) and can test vc_actor_stopped. */
void vc_actor_stop(vc_actor_t *a);
/* On the home worker: has the actor handled its stop message? */
bool vc_actor_stopped(const vc_actor_t *a);

/* Runtime-internal: run one turn of a scheduled actor on its home worker.
 * Returns true if messages remain and the actor must be rescheduled. */
bool vc_actor__run(vc_actor_t *a);

#endif
