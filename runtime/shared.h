/*
 * shared.h — immutable, reference-counted byte payloads.
 *
 * A payload that many receivers need (a media packet fanned out to a room, a
 * system event sent to every session) is built once and shared: each holder
 * takes a reference, nobody copies, the last unref frees it. After it has
 * been shared its bytes never change.
 *
 * Every payload is allocated with VC_SHARED_HEADROOM spare bytes in front of
 * `data`, so that a protocol can put a header there once for all receivers
 * (wire/ws.c writes the WebSocket frame header: the frame is then one
 * contiguous run of bytes, head + len long, ending where the payload ends).
 * The header is written before the payload is first shared, by whoever
 * shares it, and `head` says how long it is.
 *
 * Threads: refs are atomic; a payload may be created on one thread and
 * released on another. Allocation follows the OOM policy of vc.h; callers
 * bound `len` before asking for it when a client controls it.
 */
#ifndef VC_SHARED_H
#define VC_SHARED_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/vc.h"

#define VC_SHARED_HEADROOM 14 /* the longest WebSocket frame header */

typedef struct vc_shared {
	_Atomic uint32_t refs;
	uint8_t head;  /* bytes of header written just before data (0..HEADROOM) */
	uint8_t flags; /* free for the protocol that frames it */
	size_t len;    /* bytes of payload at data */
	uint8_t *data;
	uint8_t room[VC_SHARED_HEADROOM];
	uint8_t bytes[]; /* data == bytes */
} vc_shared_t;

_Static_assert(offsetof(vc_shared_t, bytes) == offsetof(vc_shared_t, room) + VC_SHARED_HEADROOM,
               "the headroom must end where the payload begins");

/* A payload of len bytes (contents undefined), one reference, owned by the
 * caller. */
vc_shared_t *vc_shared_new(size_t len);
/* A payload holding a copy of p[0..len). */
vc_shared_t *vc_shared_copy(const void *p, size_t len);
/* Give back unused tail bytes: len may only shrink, before sharing. */
void vc_shared_trim(vc_shared_t *s, size_t len);

static inline vc_shared_t *vc_shared_ref(vc_shared_t *s)
{
	atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
	return s;
}

/* Drop one reference; the last one frees. NULL is ignored. */
void vc_shared_unref(vc_shared_t *s);

/* The header bytes and the payload as one run (data - head, head + len). */
static inline const uint8_t *vc_shared_frame(const vc_shared_t *s)
{
	return s->data - s->head;
}
static inline size_t vc_shared_frame_len(const vc_shared_t *s)
{
	return s->head + s->len;
}

#endif
