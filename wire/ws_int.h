/*
 * ws_int.h — what wire/ws.c (connections, output, deadlines) and
 * wire/ws_read.c (frames in) share. Not for use outside wire/ws*.c.
 */
#ifndef VC_WS_INT_H
#define VC_WS_INT_H

#include <ev.h>
#include <pthread.h>
#include <stdatomic.h>
#include <wslay/wslay.h>

#include "wire/ws.h"

enum ws_opcode {
	WS_OP_CONT = 0x0,
	WS_OP_TEXT = 0x1,
	WS_OP_BINARY = 0x2,
	WS_OP_CLOSE = 0x8,
	WS_OP_PING = 0x9,
	WS_OP_PONG = 0xa,
};

enum ws_state { WS_MOVING, WS_OPEN, WS_CLOSING, WS_LINGER, WS_DEAD };

/* The output queue: a ring of framed payloads (or the raw 101 response),
 * allocated while something is queued and given back when it drains. */
#define WS_RING_MIN 16    /* slots of the smallest ring */
#define WS_RING_CLASSES 9 /* pooled ring sizes: 16, 32, ..., 4096 slots */
#define WS_RING_POOLED 32 /* rings kept per size */

typedef struct ws_link {
	vc_ws_t *prev, *next;
	double at; /* when the entry went to the tail */
	bool on;
} ws_link_t;

typedef struct ws_list {
	vc_ws_t *head, *tail;
	size_t off; /* of the ws_link_t inside vc_ws_t */
} ws_list_t;

typedef struct ws_server ws_server_t;

/* The frame reader's state: one per connection, ~64 bytes. The wslay
 * context (with its 4 KiB buffer) is borrowed from a pool only while a
 * frame is partly read. */
typedef struct ws_rx {
	wslay_frame_context_ptr fctx;
	uint64_t given, used; /* bytes wslay took / bytes of frames it handed back */
	uint64_t f_left;      /* payload bytes of the current frame still to come */
	vc_shared_t *msg;     /* the binary message being reassembled */
	size_t msg_len;       /* bytes in it so far (msg->len is its capacity) */
	uint8_t *ctl;         /* the control frame being read (125 bytes) */
	uint8_t ctl_len;
	bool in_frame;      /* a frame's header was seen, its payload is not all in */
	bool f_fin;         /* of that frame */
	uint8_t f_opcode;   /* of that frame */
	uint8_t m_opcode;   /* WS_OP_TEXT or WS_OP_BINARY while a message is open */
	uint8_t u_need;     /* UTF-8 of a text message: continuation bytes expected */
	uint8_t u_lo, u_hi; /* and the range the next one must be in */
	bool keep_text;     /* deliver text messages (else checked and dropped) */
	bool m_oversize;    /* this text message went over keep_max: dropped as it comes */
	size_t keep_max;    /* text kept up to this many bytes (0: up to max_message) */
} ws_rx_t;

/* Where a reader's bytes come from and where its messages go. */
typedef struct ws_rx_sink {
	/* Up to len bytes into buf: > 0 bytes, 0 none for now, -1 EOF/error. */
	ssize_t (*recv)(void *arg, uint8_t *buf, size_t len);
	/* A complete message, binary or text (the callee owns the reference);
	 * NULL for a text message over keep_max, read and dropped. */
	void (*message)(void *arg, vc_shared_t *msg, bool text);
	/* A valid control frame (close: code 1005 when it has none). Return
	 * false to stop reading. */
	bool (*control)(void *arg, unsigned opcode, const uint8_t *p, size_t len);
	void *arg;
} ws_rx_sink_t;

/* wslay contexts not in use, shared by the readers of one thread. */
typedef struct ws_pool {
	wslay_frame_context_ptr free[64];
	unsigned nfree;
	const ws_rx_sink_t *sink; /* of the reader wslay is reading for */
} ws_pool_t;

enum ws_rx_result {
	WS_RX_AGAIN = 0, /* the source has nothing more for now */
	WS_RX_MORE = -1, /* the budget is spent and bytes are still buffered: call again */
	WS_RX_EOF = -2,  /* the source ended */
	WS_RX_STOP = -3, /* a callback asked to stop */
	                 /* > 0: a close code (1002, 1007, 1009): the client broke the protocol */
};

struct vc_ws {
	ev_io io;
	vc_flush_t flush;
	ws_server_t *srv;
	const vc_ws_ops_t *ops;
	void *user; /* NULL once the owner has forgotten the connection */
	int fd;
	uint8_t state; /* enum ws_state */
	bool want_write;
	bool write_failed; /* a write in vc_ws_send failed: on_flush ends it */
	uint16_t notify;   /* a close code the owner must still hear of (on_flush) */
	/* --- in (ws_read.c) --- */
	ws_rx_t rx;
	char *rest; /* bytes that came after the HTTP request */
	uint32_t rest_len, rest_off;
	bool eof, rerr;
	double heard; /* ev_now of the last bytes from the client */
	/* --- out (ws.c) --- */
	vc_shared_t **ring; /* NULL while nothing is queued */
	uint32_t ring_head, ring_len, ring_cap;
	uint32_t head_off; /* bytes of ring[ring_head]'s frame already written */
	size_t queued;
	vc_shared_t *upgrade; /* the 101 response, until the socket is home */
	ws_link_t ping, seen;
	uint64_t bytes_in, bytes_out, msgs_in, msgs_out, dropped;
	char peer[56];
};

struct ws_server {
	vc_worker_t *w;
	struct ev_loop *loop;
	ev_timer sweep;
	ws_list_t ping_list, seen_list, linger_list;
	/* rings given back, by size class, for the next burst (no malloc in
	 * the steady state of a busy room) */
	vc_shared_t **ring_free[WS_RING_CLASSES][WS_RING_POOLED];
	unsigned nring_free[WS_RING_CLASSES];
	ws_pool_t pool; /* ws_read.c */
	bool draining;
	_Atomic int64_t connections;
	_Atomic uint64_t upgrades, messages_in, messages_out, bytes_in, bytes_out, dropped, pings;
	_Atomic uint64_t closes[16];
};

/* ws.c */
ws_server_t *ws_server(vc_worker_t *w);
void ws_touch(vc_ws_t *c);
void ws_enqueue(vc_ws_t *c, vc_shared_t *s);
void ws_send_control(vc_ws_t *c, unsigned opcode, const void *p, size_t len);
void ws_write(vc_ws_t *c);
/* Close with code (queue the close frame), then tell the owner. */
void ws_fail(vc_ws_t *c, int code, const char *reason);
/* The socket is unusable: tell the owner, close now. */
void ws_abort(vc_ws_t *c, int code);

/* ws_read.c: the reader, without sockets */
/* Read through sink until it has nothing more, `budget` source reads have
 * returned bytes, or a stop; enum ws_rx_result or a close code. */
int ws_rx_run(ws_rx_t *rx, ws_pool_t *pool, const ws_rx_sink_t *sink, size_t max_message,
              unsigned budget);
/* Give back what a reader holds (its wslay context, a partial message). */
void ws_rx_release(ws_rx_t *rx, ws_pool_t *pool);
void ws_pool_fini(ws_pool_t *pool);

/* ws_conn.c-side of reading, in ws.c: a connection's socket as a sink */
void ws_read(vc_ws_t *c);
void ws_discard(vc_ws_t *c);

#endif
