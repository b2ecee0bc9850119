/*
 * mpsc.h — intrusive multi-producer single-consumer FIFO (Vyukov's algorithm
 * with a stub node). Push is wait-free (one exchange); pop is done only by the
 * owning consumer thread and may return NULL while a producer is between its
 * exchange and its link store — the caller retries later (it knows from its
 * own counter that something is coming).
 */
#ifndef VC_MPSC_H
#define VC_MPSC_H

#include <stdatomic.h>
#include <stddef.h>

typedef struct vc_qnode {
	_Atomic(struct vc_qnode *) next;
} vc_qnode_t;

typedef struct vc_mpsc {
	_Atomic(vc_qnode_t *) head; /* producers push here */
	vc_qnode_t *tail;           /* consumer pops here */
	vc_qnode_t stub;
} vc_mpsc_t;

static inline void vc_mpsc_init(vc_mpsc_t *q)
{
	atomic_store_explicit(&q->stub.next, NULL, memory_order_relaxed);
	atomic_store_explicit(&q->head, &q->stub, memory_order_relaxed);
	q->tail = &q->stub;
}

static inline void vc_mpsc_push(vc_mpsc_t *q, vc_qnode_t *n)
{
	atomic_store_explicit(&n->next, NULL, memory_order_relaxed);
	/* acq_rel: publishes n's contents to the consumer that reads prev->next. */
	vc_qnode_t *prev = atomic_exchange_explicit(&q->head, n, memory_order_acq_rel);
	/* release: the consumer's acquire load of ->next sees n fully written. */
	atomic_store_explicit(&prev->next, n, memory_order_release);
}

static inline vc_qnode_t *vc_mpsc_pop(vc_mpsc_t *q)
{
	vc_qnode_t *tail = q->tail;
	vc_qnode_t *next = atomic_load_explicit(&tail->next, memory_order_acquire);

	if (tail == &q->stub) {
		if (next == NULL)
			return NULL;
		q->tail = next;
		tail = next;
		next = atomic_load_explicit(&next->next, memory_order_acquire);
	}
	if (next != NULL) {
		q->tail = next;
		return tail;
	}
	if (tail != atomic_load_explicit(&q->head, memory_order_acquire))
		return NULL; /* a producer is mid-push; retry later */
	vc_mpsc_push(q, &q->stub);
	next = atomic_load_explicit(&tail->next, memory_order_acquire);
	if (next != NULL) {
		q->tail = next;
		return tail;
	}
	return NULL;
}

#endif
