/*
 * ws.h — WebSocket connections (RFC 6455, server side), upgraded from an
 * HTTP/1.1 request on the same port.
 *
 * A handler that grants an upgrade calls vc_ws_accept(): the socket leaves
 * the HTTP server and becomes a WebSocket owned by `home`, the worker whose
 * loop will serve it from then on (it may be another worker: the socket
 * moves). The owner — an actor living on `home` — gets its callbacks there
 * and calls the vc_ws_* verbs there only.
 *
 * In: frames are read with wslay's frame API (contexts borrowed from a
 * per-worker pool only while a frame is partly read, so an idle connection
 * holds none). Fragmented messages are reassembled up to ws_max_message
 * (larger: close 1009). Binary messages go to on_message; text messages are
 * checked for UTF-8 (close 1007) and go to on_text, or are dropped when the
 * owner has none; pings are answered,
 * every frame counts as activity. Protocol errors (unmasked frames, RSV bits,
 * reserved opcodes, bad control frames, continuations out of place, bad
 * close codes) close with 1002.
 *
 * Out: a queue of shared payloads (runtime/shared.h); a payload is framed
 * once (the header goes in its headroom) however many connections send it,
 * and each connection writes its queue with batched writev() in the
 * worker's pre-sleep flush. Two classes:
 *   VC_WS_LOSSY     dropped (vc_ws_send returns false) while the queue holds
 *                   more than ws_send_buffer bytes: a slow reader loses
 *                   media, nobody waits for it;
 *   VC_WS_RELIABLE  never dropped; a queue that would exceed
 *                   ws_send_buffer_max closes the connection with 4001.
 *
 * Time: a ping every ws_ping_interval; no frame from the client for
 * ws_idle_timeout closes with 4002. Both are per-worker deadline lists swept
 * by one timer (no timer per connection).
 *
 * Closing: vc_ws_close() queues a close frame behind what is queued; the
 * owner must forget the connection at once (no callback follows). Any other
 * end — the client's close frame, EOF, an error, a timeout, a drain — is
 * reported once by on_close, after which the owner must forget it too. In
 * both cases the connection then flushes, half-closes and waits (at most
 * 2 s) for the client to close before it closes the socket and frees itself.
 * The memory of a vc_ws_t is the WebSocket layer's.
 */
#ifndef VC_WS_H
#define VC_WS_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/shared.h"
#include "runtime/worker.h"
#include "wire/http.h"

typedef struct vc_ws vc_ws_t;

/* Close codes: RFC 6455's, then vcd's (4000-4499: reconnect; 4500-4999: do
 * not). vcd-protocol(7) lists them. */
enum vc_ws_close {
	VC_WS_NORMAL = 1000,
	VC_WS_GOING_AWAY = 1001, /* vcd drains */
	VC_WS_PROTOCOL = 1002,
	VC_WS_BAD_DATA = 1007, /* invalid UTF-8 */
	VC_WS_POLICY = 1008,
	VC_WS_TOO_BIG = 1009,
	VC_WS_INTERNAL = 1011,
	VC_WS_ABNORMAL = 1006, /* never sent: the connection ended without a close */
	VC_WS_SLOW = 4001,     /* reliable output over ws_send_buffer_max */
	VC_WS_IDLE = 4002,     /* nothing from the client for ws_idle_timeout */
	VC_WS_ENDED = 4500,    /* the meeting ended or was deleted */
	VC_WS_REMOVED = 4501,  /* kicked or rejected */
	VC_WS_OPERATOR = 4502, /* vcctl sessions kick */
};

enum vc_ws_class { VC_WS_LOSSY, VC_WS_RELIABLE };

typedef struct vc_ws_ops {
	/* The connection is open (101 queued); the owner may send. */
	void (*on_open)(vc_ws_t *ws, void *user);
	/* A complete binary message; the owner gets the reference. It has
	 * VC_SHARED_HEADROOM free in front, so it can be sent on as it is. */
	void (*on_message)(vc_ws_t *ws, void *user, vc_shared_t *msg);
	/* A complete text message, valid UTF-8, as on_message; NULL: text
	 * messages are checked and dropped. */
	void (*on_text)(vc_ws_t *ws, void *user, vc_shared_t *msg);
	/* A text message over vc_ws_set_text_max's limit (and within
	 * ws_max_message): read and dropped as it came, never buffered. NULL:
	 * dropped silently. */
	void (*on_text_too_big)(vc_ws_t *ws, void *user);
	/* The connection ended by no call of the owner's (see above). */
	void (*on_close)(vc_ws_t *ws, void *user, int code);
} vc_ws_ops_t;

/* Is req a WebSocket upgrade vcd can grant? 0, or the HTTP status to
 * answer (400, or 426 for another Sec-WebSocket-Version) with *why set. */
int vc_ws_check(vc_http_req_t *req, const char **why);

/* Answer req with 101 and make its connection a WebSocket served by `home`
 * with `ops` and `user`. vc_ws_check(req) must have passed. On req's
 * worker. Returns false (ops are never called) when the client has already
 * gone. */
bool vc_ws_accept(vc_http_req_t *req, vc_worker_t *home, const vc_ws_ops_t *ops, void *user);

/* The rest run on the connection's home worker. */

/* Keep text messages of at most max bytes (0: up to ws_max_message);
 * longer ones go to on_text_too_big instead, without being buffered. For
 * the next message on. */
void vc_ws_set_text_max(vc_ws_t *ws, size_t max);

/* Write msg's binary frame header into its headroom (once; later calls do
 * nothing). vc_ws_send does it on first use; a payload that other threads
 * will send too must be framed before it is shared with them. Any thread
 * that holds the only reference. */
void vc_ws_frame(vc_shared_t *msg);
/* The same, as a text frame (msg must be UTF-8). vc_ws_send sends a payload
 * as it was framed. */
void vc_ws_frame_text(vc_shared_t *msg);

/* Queue a binary message (takes a reference of its own; the caller keeps
 * its). Framed on first use. Returns false when a LOSSY message was dropped
 * or the connection is closing. */
bool vc_ws_send(vc_ws_t *ws, vc_shared_t *msg, enum vc_ws_class cls);
/* Queue a close frame with code and reason (at most 123 bytes of UTF-8),
 * after what is queued. The owner forgets ws now. */
void vc_ws_close(vc_ws_t *ws, int code, const char *reason);

const char *vc_ws_peer(const vc_ws_t *ws);
/* Bytes queued and not yet written. */
size_t vc_ws_queued(const vc_ws_t *ws);

/* Per-connection counters for vcctl. */
typedef struct vc_ws_info {
	uint64_t bytes_in, bytes_out, messages_in, messages_out, dropped;
	size_t queued;
} vc_ws_info_t;
void vc_ws_info(const vc_ws_t *ws, vc_ws_info_t *out);

/* --- the worker's WebSocket server --------------------------------------- */

/* On each worker, before it serves: per-worker lists, pools, the sweep. */
void vc_ws_worker_start(vc_worker_t *w);
/* On the worker: every open connection gets on_close(1001) and is closed
 * with 1001 after its queue is flushed; new upgrades are refused. */
void vc_ws_worker_drain(vc_worker_t *w);
/* On the worker, at exit: close everything now and free the pools. */
void vc_ws_worker_stop(vc_worker_t *w);

/* Counters over all workers (for /metrics). */
typedef struct vc_ws_stats {
	int64_t connections; /* open now */
	uint64_t upgrades, messages_in, messages_out, bytes_in, bytes_out, dropped;
	uint64_t pings, closes[16]; /* by vc_ws_close_slot() */
} vc_ws_stats_t;
void vc_ws_stats_sum(vc_ws_stats_t *out);
/* The close codes counted separately, and the slot of each (last: others). */
extern const int vc_ws_close_codes[16];
unsigned vc_ws_close_slot(int code);

/* The frame parser without a socket, for t/fuzz/fuzz_ws.c: feeds data as a
 * client's bytes through the reader and its limits (max_message bytes);
 * returns the close code the reader would send, or 0. */
int vc_ws__fuzz_read(const uint8_t *data, size_t len, size_t max_message);

#endif
