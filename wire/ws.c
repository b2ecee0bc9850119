/*
 * ws.c — WebSocket connections (wire/ws.h): the upgrade, the output queue
 * and its flush, the deadline lists, drain. Reading frames is ws_read.c.
 *
 * A connection is in one state at a time (ws_set_state is the only place
 * that changes it):
 *
 *   MOVING ──home worker──▶ OPEN ──vc_ws_close / error / timeout──▶ CLOSING
 *     (the socket travels        │ (close frame queued; input discarded)   │
 *      to its home worker)       │ EOF or a socket error                   │ queue written
 *                                ▼                                         ▼
 *                              DEAD ◀──────EOF, or 2 s─────────────── LINGER
 *                                                        (write side shut; what the
 *                                                         client still sends is discarded)
 *
 * OPEN connections are on two per-worker lists in deadline order: `ping`
 * (when the next ping is due) and `seen` (when the client was last heard
 * from, refreshed at most once a second); LINGER ones on `linger`. One timer
 * per worker sweeps the heads of the three lists.
 */
#include "wire/ws_int.h"

#include <errno.h>
#include <openssl/sha.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "runtime/config.h"
#include "runtime/log.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define IOV_BATCH_WS 256 /* frames per writev (IOV_MAX is 1024) */
#define SWEEP_EVERY 0.25
#define LINGER_TIME 2.0
#define SEEN_REFRESH 1.0 /* seconds between moves of a busy connection on `seen` */

static ws_server_t **servers; /* by worker index */
static unsigned nservers;
static pthread_once_t servers_once = PTHREAD_ONCE_INIT;

const int vc_ws_close_codes[16] = { VC_WS_NORMAL,
	                            VC_WS_GOING_AWAY,
	                            VC_WS_PROTOCOL,
	                            VC_WS_BAD_DATA,
	                            VC_WS_POLICY,
	                            VC_WS_TOO_BIG,
	                            VC_WS_INTERNAL,
	                            VC_WS_ABNORMAL,
	                            VC_WS_SLOW,
	                            VC_WS_IDLE,
	                            VC_WS_ENDED,
	                            VC_WS_REMOVED,
	                            VC_WS_OPERATOR,
	                            0,
	                            0,
	                            0 };

unsigned vc_ws_close_slot(int code)
{
	for (unsigned i = 0; i < 13; i++)
		if (vc_ws_close_codes[i] == code)
			return i;
	return 15; /* others */
}

static void start_close(vc_ws_t *c, int code, const char *reason);
static void tell_owner(vc_ws_t *c, int code);
static int drain(vc_ws_t *c);
static void watch(vc_ws_t *c, int events);
static int read_events(const vc_ws_t *c);

/* --- per-worker server ----------------------------------------------------- */

static void servers_alloc(void)
{
	nservers = vc_runtime_nworkers();
	servers = vc_calloc(nservers, sizeof(*servers));
}

ws_server_t *ws_server(vc_worker_t *w)
{
	return vc_worker_slot(w, VC_SLOT_WS);
}

static void count_close(ws_server_t *s, int code)
{
	atomic_fetch_add_explicit(&s->closes[vc_ws_close_slot(code)], 1, memory_order_relaxed);
}

/* --- deadline lists -------------------------------------------------------- */

static ws_link_t *link_of(vc_ws_t *c, size_t off)
{
	return (ws_link_t *)((char *)c + off);
}

static void list_unlink(ws_list_t *l, vc_ws_t *c)
{
	ws_link_t *k = link_of(c, l->off);

	if (!k->on)
		return;
	if (k->prev != NULL)
		link_of(k->prev, l->off)->next = k->next;
	else
		l->head = k->next;
	if (k->next != NULL)
		link_of(k->next, l->off)->prev = k->prev;
	else
		l->tail = k->prev;
	k->prev = k->next = NULL;
	k->on = false;
}

/* Lists stay in deadline order because every entry goes to the tail with
 * the current time (or, for a requeue, a time no earlier than the rest). */
static void list_append(ws_list_t *l, vc_ws_t *c, double at)
{
	ws_link_t *k = link_of(c, l->off);

	list_unlink(l, c);
	k->at = at;
	k->on = true;
	k->prev = l->tail;
	k->next = NULL;
	if (l->tail != NULL)
		link_of(l->tail, l->off)->next = c;
	else
		l->head = c;
	l->tail = c;
}

void ws_touch(vc_ws_t *c)
{
	ws_server_t *s = c->srv;
	double now = ev_now(s->loop);

	c->heard = now;
	if (c->state == WS_OPEN && now - c->seen.at >= SEEN_REFRESH)
		list_append(&s->seen_list, c, now);
}

/* The one place a connection changes state. */
static void ws_set_state(vc_ws_t *c, enum ws_state st)
{
	ws_server_t *s = c->srv;
	double now = ev_now(s->loop);
	enum ws_state old = c->state;

	c->state = (uint8_t)st;
	if (old == WS_OPEN) {
		list_unlink(&s->ping_list, c);
		list_unlink(&s->seen_list, c);
	} else if (old == WS_CLOSING || old == WS_LINGER) {
		list_unlink(&s->linger_list, c);
	}
	switch (st) {
	case WS_MOVING:
	case WS_DEAD: break;
	case WS_OPEN:
		list_append(&s->ping_list, c, now);
		list_append(&s->seen_list, c, now);
		break;
	case WS_CLOSING: /* bounded too: a reader that takes the close frame */
	case WS_LINGER:  /* or the FIN too long is cut off */
		list_append(&s->linger_list, c, now);
		break;
	}
}

/* --- the output queue ------------------------------------------------------ */

static unsigned ring_class(uint32_t cap)
{
	unsigned k = 0;

	while (((uint32_t)WS_RING_MIN << k) < cap)
		k++;
	return k;
}

static vc_shared_t **ring_get(ws_server_t *s, uint32_t cap)
{
	unsigned k = ring_class(cap);

	if (k < WS_RING_CLASSES && s->nring_free[k] > 0)
		return s->ring_free[k][--s->nring_free[k]];
	return vc_malloc(cap * sizeof(vc_shared_t *));
}

static void ring_put(ws_server_t *s, vc_shared_t **ring, uint32_t cap)
{
	unsigned k = ring_class(cap);

	if (k < WS_RING_CLASSES && s->nring_free[k] < WS_RING_POOLED)
		s->ring_free[k][s->nring_free[k]++] = ring;
	else
		free(ring);
}

/* Everything written: the ring goes back (an idle connection holds none). */
static void ring_release(vc_ws_t *c)
{
	if (c->ring == NULL)
		return;
	ring_put(c->srv, c->ring, c->ring_cap);
	c->ring = NULL;
	c->ring_head = c->ring_len = c->ring_cap = 0;
	c->head_off = 0;
}

/* Room for one more payload at the tail: the ring doubles when full. */
static void ring_reserve(vc_ws_t *c)
{
	vc_shared_t **r;
	uint32_t cap;

	if (c->ring == NULL) {
		c->ring = ring_get(c->srv, WS_RING_MIN);
		c->ring_cap = WS_RING_MIN;
		return;
	}
	if (c->ring_len < c->ring_cap)
		return;
	cap = c->ring_cap * 2;
	r = ring_get(c->srv, cap);
	for (uint32_t i = 0; i < c->ring_len; i++)
		r[i] = c->ring[(c->ring_head + i) & (c->ring_cap - 1)];
	ring_put(c->srv, c->ring, c->ring_cap);
	c->ring = r;
	c->ring_cap = cap;
	c->ring_head = 0;
}

/* Drop everything queued (the connection is going). */
static void ring_clear(vc_ws_t *c)
{
	for (uint32_t i = 0; i < c->ring_len; i++)
		vc_shared_unref(c->ring[(c->ring_head + i) & (c->ring_cap - 1)]);
	c->ring_len = 0;
	ring_release(c);
	c->queued = 0;
}

/* Write a frame header for `len` payload bytes into s's headroom. */
static void frame_header(vc_shared_t *s, unsigned opcode)
{
	uint8_t h[VC_SHARED_HEADROOM];
	size_t n = 0, len = s->len;

	h[n++] = (uint8_t)(0x80 | opcode);
	if (len < 126) {
		h[n++] = (uint8_t)len;
	} else if (len < 65536) {
		h[n++] = 126;
		h[n++] = (uint8_t)(len >> 8);
		h[n++] = (uint8_t)len;
	} else {
		h[n++] = 127;
		for (int i = 7; i >= 0; i--)
			h[n++] = (uint8_t)(len >> (8 * i));
	}
	memcpy(s->data - n, h, n);
	s->head = (uint8_t)n;
}

void vc_ws_frame(vc_shared_t *s)
{
	if (s->head == 0)
		frame_header(s, WS_OP_BINARY);
}

void vc_ws_frame_text(vc_shared_t *s)
{
	if (s->head == 0)
		frame_header(s, WS_OP_TEXT);
}

/* Append a framed (or raw) payload to c's queue, no limits. */
void ws_enqueue(vc_ws_t *c, vc_shared_t *s)
{
	ring_reserve(c);
	c->ring[(c->ring_head + c->ring_len++) & (c->ring_cap - 1)] = vc_shared_ref(s);
	c->queued += vc_shared_frame_len(s);
	if (!c->want_write)
		vc_worker_want_flush(c->srv->w, &c->flush);
}

/* A control frame (opcode, payload up to 125 bytes) at the end of the queue. */
void ws_send_control(vc_ws_t *c, unsigned opcode, const void *p, size_t len)
{
	vc_shared_t *s = vc_shared_copy(p, len);

	frame_header(s, opcode);
	ws_enqueue(c, s);
	vc_shared_unref(s);
}

bool vc_ws_send(vc_ws_t *c, vc_shared_t *msg, enum vc_ws_class cls)
{
	const vc_config_t *cfg = vc_config_get();
	size_t len;

	if (c->state != WS_OPEN)
		return false;
	vc_ws_frame(msg);
	len = vc_shared_frame_len(msg);
	/* Over the buffer: first see whether the socket takes it now (a burst
	 * read in one turn is not a slow reader), then drop. */
	if (cls == VC_WS_LOSSY && c->queued > cfg->ws_send_buffer && !c->want_write &&
	    !c->write_failed) {
		int r = drain(c);
		if (r == 1) {
			c->want_write = true;
			watch(c, read_events(c) | EV_WRITE);
		} else if (r < 0) { /* the owner hears of it in the flush */
			c->write_failed = true;
			vc_worker_want_flush(c->srv->w, &c->flush);
		}
	}
	if (cls == VC_WS_LOSSY && c->queued > cfg->ws_send_buffer) {
		c->dropped++;
		VC_STAT_ADD(c->srv->dropped, 1);
		return false;
	}
	if (cls == VC_WS_RELIABLE && c->queued + len > cfg->ws_send_buffer_max) {
		log_info(
		        "%s: WebSocket closed: %zu bytes queued for a reader that does not keep up "
		        "(ws_send_buffer_max)",
		        c->peer, c->queued);
		/* The owner is sending (perhaps to a whole room): it hears of the
		 * close in the pre-sleep flush, not in the middle of its loop. */
		start_close(c, VC_WS_SLOW, "slow consumer");
		c->notify = VC_WS_SLOW;
		vc_worker_want_flush(c->srv->w, &c->flush);
		return false;
	}
	ws_enqueue(c, msg);
	c->msgs_out++;
	VC_STAT_ADD(c->srv->messages_out, 1);
	return true;
}

/* --- writing --------------------------------------------------------------- */

static void watch(vc_ws_t *c, int events)
{
	struct ev_loop *loop = c->srv->loop;

	if (ev_is_active(&c->io) && c->io.events == events)
		return;
	ev_io_stop(loop, &c->io);
	if (events != 0) {
		ev_io_set(&c->io, c->fd, events);
		ev_io_start(loop, &c->io);
	}
}

static int read_events(const vc_ws_t *c)
{
	/* CLOSING and LINGER read too, to discard: a client blocked writing to
	 * us would never get to read our close frame. */
	return c->state != WS_DEAD && c->state != WS_MOVING ? EV_READ : 0;
}

/* Everything queued is out: a closing connection half-closes and lingers. */
static void written(vc_ws_t *c)
{
	c->want_write = false;
	if (c->state == WS_CLOSING) {
		shutdown(c->fd, SHUT_WR);
		ws_set_state(c, WS_LINGER);
	}
	watch(c, read_events(c));
}

/* Write what the socket takes: 0 all written, 1 the socket is full, -1 it
 * failed (errno). Nothing else happens to the connection. */
static int drain(vc_ws_t *c)
{
	struct iovec iov[IOV_BATCH_WS];

	while (c->ring_len > 0) {
		uint32_t n = c->ring_len < IOV_BATCH_WS ? c->ring_len : IOV_BATCH_WS;
		for (uint32_t i = 0; i < n; i++) {
			const vc_shared_t *s = c->ring[(c->ring_head + i) & (c->ring_cap - 1)];
			uint32_t off = i == 0 ? c->head_off : 0;
			iov[i].iov_base = (void *)(vc_shared_frame(s) + off);
			iov[i].iov_len = vc_shared_frame_len(s) - off;
		}
		ssize_t w = writev(c->fd, iov, (int)n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK ? 1 : -1;
		}
		c->bytes_out += (uint64_t)w;
		c->queued -= (size_t)w;
		VC_STAT_ADD(c->srv->bytes_out, (uint64_t)w);
		for (uint32_t i = 0; i < n && w > 0; i++) {
			vc_shared_t *s = c->ring[c->ring_head];
			size_t left = vc_shared_frame_len(s) - c->head_off;
			if ((size_t)w < left) {
				c->head_off += (uint32_t)w;
				break;
			}
			w -= (ssize_t)left;
			vc_shared_unref(s);
			c->head_off = 0;
			c->ring_head = (c->ring_head + 1) & (c->ring_cap - 1);
			c->ring_len--;
		}
	}
	ring_release(c);
	return 0;
}

void ws_write(vc_ws_t *c)
{
	switch (drain(c)) {
	case 0: written(c); break;
	case 1:
		c->want_write = true;
		watch(c, read_events(c) | EV_WRITE);
		break;
	default:
		log_debug("%s: WebSocket write failed: %s", c->peer, strerror(errno));
		ws_abort(c, VC_WS_ABNORMAL);
		break;
	}
}

static void on_flush(vc_flush_t *f)
{
	vc_ws_t *c = vc_container_of(f, vc_ws_t, flush);

	if (c->write_failed && c->state != WS_DEAD) {
		ws_abort(c, VC_WS_ABNORMAL);
		return;
	}
	if (c->notify != 0)
		tell_owner(c, c->notify);
	if (c->state != WS_DEAD && !c->want_write)
		ws_write(c);
}

/* --- ending ---------------------------------------------------------------- */

static void ws_free(void *p)
{
	vc_ws_t *c = p;

	free(c->rest);
	free(c);
}

/* Close the socket now and free the connection at the end of this loop
 * iteration (callers up the stack may still hold it). */
static void ws_destroy(vc_ws_t *c)
{
	ws_server_t *s = c->srv;

	if (c->state == WS_DEAD)
		return;
	tell_owner(c, c->notify != 0 ? c->notify : VC_WS_ABNORMAL); /* if not told yet */
	ws_set_state(c, WS_DEAD);
	ev_io_stop(s->loop, &c->io);
	vc_worker_cancel_flush(s->w, &c->flush);
	close(c->fd);
	c->fd = -1;
	vc_http_socket_closed();
	ws_rx_release(&c->rx, &s->pool);
	ring_clear(c);
	atomic_fetch_sub_explicit(&s->connections, 1, memory_order_relaxed);
	vc_worker_defer(s->w, ws_free, c);
}

/* The owner hears of an end it did not ask for, once. */
static void tell_owner(vc_ws_t *c, int code)
{
	void *user = c->user;

	c->notify = 0;
	if (user == NULL)
		return;
	c->user = NULL;
	c->ops->on_close(c, user, code);
}

/* Queue a close frame and go CLOSING (no owner callback). */
static void start_close(vc_ws_t *c, int code, const char *reason)
{
	uint8_t p[125];
	size_t n = 0;

	if (c->state != WS_OPEN)
		return;
	count_close(c->srv, code);
	if (code != 0 && code != 1005) { /* 1005: the client's close had no code */
		p[0] = (uint8_t)(code >> 8);
		p[1] = (uint8_t)code;
		n = 2;
		if (reason != NULL) {
			size_t r = vc_utf8_prefix(reason, 123);
			memcpy(p + 2, reason, r);
			n += r;
		}
	}
	ws_send_control(c, WS_OP_CLOSE, p, n);
	ws_set_state(c, WS_CLOSING);
	watch(c, read_events(c) | (c->want_write ? EV_WRITE : 0));
}

void vc_ws_set_text_max(vc_ws_t *c, size_t max)
{
	c->rx.keep_max = max;
}

void vc_ws_close(vc_ws_t *c, int code, const char *reason)
{
	c->user = NULL;
	start_close(c, code, reason);
}

void ws_fail(vc_ws_t *c, int code, const char *reason)
{
	start_close(c, code, reason);
	tell_owner(c, code);
}

void ws_abort(vc_ws_t *c, int code)
{
	if (c->state == WS_OPEN)
		count_close(c->srv, code);
	tell_owner(c, code);
	ws_destroy(c);
}

/* --- the sweep: pings, idle clients, lingering closes ---------------------- */

static const uint8_t empty_payload[1];

static void on_sweep(struct ev_loop *loop, ev_timer *t, int revents)
{
	ws_server_t *s = t->data;
	const vc_config_t *cfg = vc_config_get();
	double now = ev_now(loop);
	vc_ws_t *c;

	while ((c = s->seen_list.head) != NULL && c->seen.at + cfg->ws_idle_timeout <= now) {
		if (c->heard + cfg->ws_idle_timeout > now) { /* heard since: requeue */
			list_append(&s->seen_list, c, now);
			continue;
		}
		log_debug("%s: nothing from the client for %.1fs; closing", c->peer,
		          cfg->ws_idle_timeout);
		ws_fail(c, VC_WS_IDLE, "no frame within ws_idle_timeout");
	}
	while ((c = s->ping_list.head) != NULL && c->ping.at + cfg->ws_ping_interval <= now) {
		ws_send_control(c, WS_OP_PING, empty_payload, 0);
		atomic_fetch_add_explicit(&s->pings, 1, memory_order_relaxed);
		list_append(&s->ping_list, c, now);
	}
	while ((c = s->linger_list.head) != NULL && c->seen.at + LINGER_TIME <= now)
		ws_destroy(c);
}

/* --- reading: the socket as the reader's sink ------------------------------- */

#define READ_BUDGET 16 /* reads (of up to 4 KiB) per event, then others get a turn */

static ssize_t sock_recv(void *arg, uint8_t *buf, size_t len)
{
	vc_ws_t *c = arg;
	ssize_t n;

	if (c->rest != NULL) { /* first what came with the HTTP request */
		n = (ssize_t)(c->rest_len - c->rest_off < len ? c->rest_len - c->rest_off : len);
		memcpy(buf, c->rest + c->rest_off, (size_t)n);
		c->rest_off += (uint32_t)n;
		if (c->rest_off == c->rest_len) {
			free(c->rest);
			c->rest = NULL;
		}
	} else {
		do
			n = read(c->fd, buf, len);
		while (n < 0 && errno == EINTR);
		if (n == 0) {
			c->eof = true;
			return -1;
		}
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			c->rerr = true;
			return -1;
		}
	}
	c->bytes_in += (uint64_t)n;
	VC_STAT_ADD(c->srv->bytes_in, (uint64_t)n);
	ws_touch(c);
	return n;
}

static void sock_message(void *arg, vc_shared_t *msg, bool text)
{
	vc_ws_t *c = arg;

	c->msgs_in++;
	VC_STAT_ADD(c->srv->messages_in, 1);
	if (c->user == NULL || c->state != WS_OPEN) {
		vc_shared_unref(msg);
		return;
	}
	if (msg == NULL) { /* text over the owner's limit, dropped */
		if (c->ops->on_text_too_big != NULL)
			c->ops->on_text_too_big(c, c->user);
		return;
	}
	if (text)
		c->ops->on_text(c, c->user, msg);
	else
		c->ops->on_message(c, c->user, msg);
}

static bool sock_control(void *arg, unsigned opcode, const uint8_t *p, size_t len)
{
	vc_ws_t *c = arg;
	int code;

	if (c->state != WS_OPEN) /* the owner closed it while reading: nothing after a close */
		return false;
	switch (opcode) {
	case WS_OP_PING:
		/* A client that pings and never reads would grow the queue forever. */
		if (c->queued + len + 2 > vc_config_get()->ws_send_buffer_max) {
			ws_fail(c, VC_WS_SLOW, "slow consumer");
			return false;
		}
		ws_send_control(c, WS_OP_PONG, p, len);
		return true;
	case WS_OP_PONG: return true;
	default: /* close: echo its code, then the connection ends */
		code = len >= 2 ? (int)((unsigned)p[0] << 8 | p[1]) : 1005;
		ws_fail(c, code, NULL);
		return false;
	}
}

void ws_read(vc_ws_t *c)
{
	const ws_rx_sink_t sink = {
		.recv = sock_recv, .message = sock_message, .control = sock_control, .arg = c
	};
	int rc = ws_rx_run(&c->rx, &c->srv->pool, &sink, vc_config_get()->ws_max_message,
	                   READ_BUDGET);

	if (c->state != WS_OPEN) /* the owner or a close frame ended it meanwhile */
		return;
	switch (rc) {
	case WS_RX_AGAIN:
	case WS_RX_STOP: break;
	case WS_RX_MORE: ev_feed_event(c->srv->loop, &c->io, EV_READ); break;
	case WS_RX_EOF:
		log_debug("%s: the client %s without a close frame", c->peer,
		          c->rerr ? "reset the connection" : "closed the connection");
		ws_abort(c, VC_WS_ABNORMAL);
		break;
	default:
		log_debug("%s: WebSocket protocol error: closing with %d", c->peer, rc);
		ws_fail(c, rc, rc == VC_WS_TOO_BIG ? "message too big" : "protocol error");
		break;
	}
}

/* LINGER: the close is out; read and drop until the client closes. */
void ws_discard(vc_ws_t *c)
{
	char buf[4096];

	for (int i = 0; i < 4; i++) {
		ssize_t n = read(c->fd, buf, sizeof(buf));
		if (n > 0)
			continue;
		if (n < 0 && (errno == EINTR))
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		ws_destroy(c); /* EOF or error: done */
		return;
	}
}

/* --- fuzzing --------------------------------------------------------------- */

typedef struct fuzz_src {
	const uint8_t *p;
	size_t left;
} fuzz_src_t;

static ssize_t fuzz_recv(void *arg, uint8_t *buf, size_t len)
{
	fuzz_src_t *f = arg;
	size_t n = f->left < len ? f->left : len;

	if (f->left == 0)
		return -1;
	/* Hand out odd-sized pieces so frames straddle reads. */
	if (n > 1 && (f->p[0] & 1))
		n = n / 2 + 1;
	memcpy(buf, f->p, n);
	f->p += n;
	f->left -= n;
	return (ssize_t)n;
}

static void fuzz_message(void *arg, vc_shared_t *msg, bool text)
{
	vc_shared_unref(msg);
}

static bool fuzz_control(void *arg, unsigned opcode, const uint8_t *p, size_t len)
{
	return opcode != WS_OP_CLOSE;
}

int vc_ws__fuzz_read(const uint8_t *data, size_t len, size_t max_message)
{
	static ws_pool_t pool;
	fuzz_src_t src = { .p = data, .left = len };
	/* Text kept up to half the limit: both the kept and the dropped path. */
	ws_rx_t rx = { .keep_text = true, .keep_max = max_message / 2 };
	const ws_rx_sink_t sink = {
		.recv = fuzz_recv, .message = fuzz_message, .control = fuzz_control, .arg = &src
	};
	int rc;

	do
		rc = ws_rx_run(&rx, &pool, &sink, max_message, 8);
	while (rc == WS_RX_MORE || (rc == WS_RX_AGAIN && src.left > 0));
	ws_rx_release(&rx, &pool);
	return rc > 0 ? rc : 0;
}

/* --- I/O events ------------------------------------------------------------ */

static void on_io(struct ev_loop *loop, ev_io *io, int revents)
{
	vc_ws_t *c = vc_container_of(io, vc_ws_t, io);

	vc_log_set_context(c->peer);
	if (revents & EV_WRITE)
		ws_write(c);
	if ((revents & EV_READ) && (c->state == WS_LINGER || c->state == WS_CLOSING))
		ws_discard(c);
	else if ((revents & EV_READ) && c->state == WS_OPEN)
		ws_read(c);
	vc_log_set_context(NULL);
}

/* --- the upgrade ----------------------------------------------------------- */

/* Does the comma-separated header value contain `token` (any case)? */
static bool has_token(const char *value, const char *token)
{
	size_t tl = strlen(token);

	while (value != NULL && *value != '\0') {
		while (*value == ' ' || *value == '\t' || *value == ',')
			value++;
		size_t n = strcspn(value, ",");
		size_t m = n;
		while (m > 0 && (value[m - 1] == ' ' || value[m - 1] == '\t'))
			m--;
		if (m == tl && strncasecmp(value, token, tl) == 0)
			return true;
		value += n;
	}
	return false;
}

static bool key_ok(const char *key)
{
	unsigned char raw[32];
	size_t len = 0;

	return key != NULL && strlen(key) == 24 &&
	       sodium_base642bin(raw, sizeof(raw), key, 24, NULL, &len, NULL,
	                         sodium_base64_VARIANT_ORIGINAL) == 0 &&
	       len == 16;
}

int vc_ws_check(vc_http_req_t *req, const char **why)
{
	const char *version = vc_http_header(req, "Sec-WebSocket-Version");

	if (strcmp(vc_http_method(req), "GET") != 0 ||
	    !has_token(vc_http_header(req, "Upgrade"), "websocket") ||
	    !has_token(vc_http_header(req, "Connection"), "upgrade")) {
		*why = "WebSocket upgrade expected";
		return 400;
	}
	if (version == NULL || strcmp(version, "13") != 0) {
		*why = "Sec-WebSocket-Version 13 expected";
		return 426;
	}
	if (!key_ok(vc_http_header(req, "Sec-WebSocket-Key"))) {
		*why = "Sec-WebSocket-Key must be 16 bytes in base64";
		return 400;
	}
	return 0;
}

/* Sec-WebSocket-Accept for key (29 bytes with the NUL). */
static void accept_value(const char *key, char out[29])
{
	unsigned char digest[SHA_DIGEST_LENGTH];
	char buf[24 + sizeof(WS_GUID)];

	snprintf(buf, sizeof(buf), "%s%s", key, WS_GUID);
	SHA1((const unsigned char *)buf, strlen(buf), digest);
	sodium_bin2base64(out, 29, digest, sizeof(digest), sodium_base64_VARIANT_ORIGINAL);
}

/* On the home worker: serve the socket that moved here. */
static void ws_start(vc_worker_t *w, void *arg)
{
	vc_ws_t *c = arg;
	ws_server_t *s = ws_server(w);

	if (s == NULL || s->draining) {
		close(c->fd);
		vc_http_socket_closed();
		c->ops->on_close(c, c->user, VC_WS_GOING_AWAY);
		free(c->rest);
		vc_shared_unref(c->upgrade);
		free(c);
		return;
	}
	c->srv = s;
	atomic_fetch_add_explicit(&s->connections, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->upgrades, 1, memory_order_relaxed);
	ev_io_init(&c->io, on_io, c->fd, EV_READ);
	ev_io_start(s->loop, &c->io);
	c->heard = ev_now(s->loop);
	ws_set_state(c, WS_OPEN);
	ws_enqueue(c, c->upgrade);
	vc_shared_unref(c->upgrade);
	c->upgrade = NULL;
	c->ops->on_open(c, c->user);
	if (c->rest != NULL && c->state == WS_OPEN) /* frames that came with the request */
		ev_feed_event(s->loop, &c->io, EV_READ);
}

bool vc_ws_accept(vc_http_req_t *req, vc_worker_t *home, const vc_ws_ops_t *ops, void *user)
{
	static const char fmt[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	                          "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n";
	char accept[29], head[160];
	vc_http_socket_t sock;
	vc_ws_t *c;
	int n;

	accept_value(vc_http_header(req, "Sec-WebSocket-Key"), accept);
	if (vc_http_detach(req, 101, &sock) < 0)
		return false;
	pthread_once(&servers_once, servers_alloc);
	c = vc_calloc(1, sizeof(*c));
	c->fd = sock.fd;
	c->rest = sock.rest;
	c->rest_len = (uint32_t)sock.rest_len;
	memcpy(c->peer, sock.peer, sizeof(c->peer));
	c->ops = ops;
	c->rx.keep_text = ops->on_text != NULL;
	c->user = user;
	c->flush.fn = on_flush;
	c->state = WS_MOVING;
	n = snprintf(head, sizeof(head), fmt, accept);
	c->upgrade = vc_shared_copy(head, (size_t)n);
	vc_worker_call(home, ws_start, c);
	return true;
}

/* --- accessors ------------------------------------------------------------- */

const char *vc_ws_peer(const vc_ws_t *c)
{
	return c->peer;
}

size_t vc_ws_queued(const vc_ws_t *c)
{
	return c->queued;
}

void vc_ws_info(const vc_ws_t *c, vc_ws_info_t *out)
{
	out->bytes_in = c->bytes_in;
	out->bytes_out = c->bytes_out;
	out->messages_in = c->msgs_in;
	out->messages_out = c->msgs_out;
	out->dropped = c->dropped;
	out->queued = c->queued;
}

/* --- the worker's server --------------------------------------------------- */

void vc_ws_worker_start(vc_worker_t *w)
{
	ws_server_t *s = vc_calloc(1, sizeof(*s));

	pthread_once(&servers_once, servers_alloc);
	s->w = w;
	s->loop = vc_worker_loop(w);
	s->ping_list.off = offsetof(vc_ws_t, ping);
	s->seen_list.off = offsetof(vc_ws_t, seen);
	s->linger_list.off = offsetof(vc_ws_t, seen); /* OPEN: seen; CLOSING, LINGER: linger */

	ev_timer_init(&s->sweep, on_sweep, SWEEP_EVERY, SWEEP_EVERY);
	s->sweep.data = s;
	ev_timer_start(s->loop, &s->sweep);
	vc_worker_set_slot(w, VC_SLOT_WS, s);
	atomic_store_explicit((_Atomic(ws_server_t *) *)&servers[vc_worker_index(w)], s,
	                      memory_order_release);
}

void vc_ws_worker_drain(vc_worker_t *w)
{
	ws_server_t *s = ws_server(w);
	vc_ws_t *c, *next;

	if (s == NULL || s->draining)
		return;
	s->draining = true;
	for (c = s->seen_list.head; c != NULL; c = next) {
		next = c->seen.next;
		ws_fail(c, VC_WS_GOING_AWAY, "server shutting down");
	}
}

void vc_ws_worker_stop(vc_worker_t *w)
{
	ws_server_t *s = ws_server(w);

	if (s == NULL)
		return;
	vc_ws_worker_drain(w); /* every open connection is now closing */
	while (s->linger_list.head != NULL)
		ws_destroy(s->linger_list.head);
	ev_timer_stop(s->loop, &s->sweep);
	ws_pool_fini(&s->pool);
	for (unsigned k = 0; k < WS_RING_CLASSES; k++)
		while (s->nring_free[k] > 0)
			free(s->ring_free[k][--s->nring_free[k]]);
}

void vc_ws_stats_sum(vc_ws_stats_t *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; servers != NULL && i < nservers; i++) {
		ws_server_t *s = atomic_load_explicit((_Atomic(ws_server_t *) *)&servers[i],
		                                      memory_order_acquire);
		if (s == NULL)
			continue;
		out->connections += atomic_load_explicit(&s->connections, memory_order_relaxed);
		out->upgrades += atomic_load_explicit(&s->upgrades, memory_order_relaxed);
		out->messages_in += atomic_load_explicit(&s->messages_in, memory_order_relaxed);
		out->messages_out += atomic_load_explicit(&s->messages_out, memory_order_relaxed);
		out->bytes_in += atomic_load_explicit(&s->bytes_in, memory_order_relaxed);
		out->bytes_out += atomic_load_explicit(&s->bytes_out, memory_order_relaxed);
		out->dropped += atomic_load_explicit(&s->dropped, memory_order_relaxed);
		out->pings += atomic_load_explicit(&s->pings, memory_order_relaxed);
		for (unsigned k = 0; k < 16; k++)
			out->closes[k] += atomic_load_explicit(&s->closes[k], memory_order_relaxed);
	}
}
