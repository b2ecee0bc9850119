/*
 * ws_baseline.c — the reference vcd's media relay is measured against in
 * make bench (BENCH_ONLY=lobby): a bare single-thread WebSocket broadcast
 * server on libev and wslay, written to be as fast as that design allows.
 *
 *   GET /room/R     upgrade (Sec-WebSocket-Accept with libcrypto's SHA-1);
 *                   every binary message a client sends goes to every other
 *                   client of room R, never back to the sender.
 *
 * One thread, one ev_loop. Frames are read with wslay's frame-level API; a
 * frame context (wslay keeps a 4 KiB input buffer in it) is borrowed from a
 * pool only while a connection has a frame partly read, so an idle
 * connection holds its struct and nothing else. A message is read straight
 * into a block with headroom for its frame header, framed once, and the
 * same block (reference counted, one iovec: header and payload together) is
 * appended to each recipient's queue: no copy per recipient. Queues are
 * written from an ev_prepare (before the loop sleeps) with one writev of
 * up to IOV_MAX frames per connection: no syscall per message.
 *
 * Like vcd, a recipient whose queue holds more than --send-buffer bytes
 * (default 1 MiB, vcd's ws_send_buffer) loses binary messages until it
 * drains; the losses are printed on exit. Pings are answered, a close is
 * echoed. No extensions, no subprotocols, no timers.
 *
 * usage: ws_baseline [--listen ADDR:PORT] [--send-buffer BYTES]
 * Prints "ws_baseline: listening on ADDR:PORT" when ready; SIGTERM or
 * SIGINT stops it and prints what it relayed and dropped.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ev.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/sha.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <wslay/wslay.h>

#define HEADROOM 10 /* the longest server frame header */
#define READ_BUF (64 * 1024)
#define REQ_MAX 8192
#define MSG_MAX (16u << 20)
#define ROOM_NAME_MAX 128
#define ACCEPT_BATCH 256

/* A framed message, shared by every queue it is in. */
typedef struct msg {
	uint32_t refs, len; /* len: frame bytes from frame */
	uint8_t *frame;
	size_t cap; /* payload bytes data can hold after the headroom */
	uint8_t data[];
} msg_t;

typedef struct room room_t;

enum cstate { CS_HTTP, CS_WS, CS_CLOSING, CS_CLOSED };

typedef struct conn {
	ev_io io;
	enum cstate state;
	bool dirty, want_write;
	room_t *room;
	uint32_t pos; /* in room->members */
	char *req;    /* the upgrade request while it is read */
	size_t req_len;
	/* input: the frame being read, the message being assembled */
	wslay_frame_context_ptr wf; /* NULL between frames */
	uint64_t fed;               /* bytes given to wf not yet part of a whole frame */
	bool in_frame, ffin, fmask;
	uint8_t fop, msg_op; /* msg_op: the message in progress (0 none) */
	uint64_t plen, pgot;
	msg_t *part; /* a binary message being read */
	size_t part_len;
	uint8_t ctl[125];
	/* output: a ring of frames */
	msg_t **q;
	uint32_t qhead, qlen, qcap;
	size_t qoff, qbytes;
} conn_t;

struct room {
	char name[ROOM_NAME_MAX];
	conn_t **members;
	uint32_t n, cap;
	room_t *next; /* hash chain */
};

static struct {
	struct ev_loop *loop;
	ev_io accept_io;
	ev_prepare flush;
	ev_signal sigterm, sigint;
	size_t send_buffer;
	room_t *rooms[4096];
	conn_t **dirty;
	size_t ndirty, dirty_cap;
	wslay_frame_context_ptr pool[64];
	int npool;
	/* the bytes wslay's recv callback hands out */
	const uint8_t *feed;
	size_t feed_len, feed_off;
	conn_t *feeding;
	uint8_t rbuf[READ_BUF];
	uint64_t conns, messages, deliveries, dropped;
} S = { .send_buffer = 1 << 20 };

/* --- messages --------------------------------------------------------------------- */

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n);

	if (q == NULL && n > 0) {
		fprintf(stderr, "ws_baseline: out of memory\n");
		abort();
	}
	return q;
}

static msg_t *msg_new(size_t cap)
{
	msg_t *m = xrealloc(NULL, sizeof(*m) + HEADROOM + cap);

	m->refs = 1;
	m->cap = cap;
	m->len = 0;
	m->frame = NULL;
	return m;
}

static void msg_unref(msg_t *m)
{
	if (--m->refs == 0)
		free(m);
}

/* Write the frame header in front of the n payload bytes. */
static void msg_frame(msg_t *m, int opcode, size_t n)
{
	uint8_t *p = m->data + HEADROOM;

	if (n < 126) {
		p -= 2;
		p[1] = (uint8_t)n;
	} else if (n < 65536) {
		p -= 4;
		p[1] = 126;
		p[2] = (uint8_t)(n >> 8);
		p[3] = (uint8_t)n;
	} else {
		p -= 10;
		p[1] = 127;
		for (int i = 0; i < 8; i++)
			p[2 + i] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
	}
	p[0] = (uint8_t)(0x80 | opcode);
	m->frame = p;
	m->len = (uint32_t)(m->data + HEADROOM + n - p);
}

/* --- rooms ------------------------------------------------------------------------ */

static room_t **room_slot(const char *name)
{
	uint32_t h = 2166136261u;

	for (const char *p = name; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	return &S.rooms[h % (sizeof(S.rooms) / sizeof(S.rooms[0]))];
}

static void room_join(conn_t *c, const char *name)
{
	room_t **slot = room_slot(name), *r;

	for (r = *slot; r != NULL && strcmp(r->name, name) != 0; r = r->next)
		;
	if (r == NULL) {
		r = xrealloc(NULL, sizeof(*r));
		memset(r, 0, sizeof(*r));
		snprintf(r->name, sizeof(r->name), "%s", name);
		r->next = *slot;
		*slot = r;
	}
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 8;
		r->members = xrealloc(r->members, r->cap * sizeof(*r->members));
	}
	c->room = r;
	c->pos = r->n;
	r->members[r->n++] = c;
}

static void room_leave(conn_t *c)
{
	room_t *r = c->room, **p;

	if (r == NULL)
		return;
	r->members[c->pos] = r->members[--r->n];
	r->members[c->pos]->pos = c->pos;
	c->room = NULL;
	if (r->n > 0)
		return;
	for (p = room_slot(r->name); *p != r; p = &(*p)->next)
		;
	*p = r->next;
	free(r->members);
	free(r);
}

/* --- output ------------------------------------------------------------------------ */

static void mark_dirty(conn_t *c)
{
	if (c->dirty)
		return;
	if (S.ndirty == S.dirty_cap) {
		S.dirty_cap = S.dirty_cap ? 2 * S.dirty_cap : 256;
		S.dirty = xrealloc(S.dirty, S.dirty_cap * sizeof(*S.dirty));
	}
	S.dirty[S.ndirty++] = c;
	c->dirty = true;
}

static void enqueue(conn_t *c, msg_t *m)
{
	if (c->qlen == c->qcap) {
		uint32_t cap = c->qcap ? 2 * c->qcap : 16;
		msg_t **q = xrealloc(NULL, cap * sizeof(*q));
		for (uint32_t i = 0; i < c->qlen; i++)
			q[i] = c->q[(c->qhead + i) % c->qcap];
		free(c->q);
		c->q = q;
		c->qhead = 0;
		c->qcap = cap;
	}
	c->q[(c->qhead + c->qlen++) % c->qcap] = m;
	m->refs++;
	c->qbytes += m->len;
	mark_dirty(c);
}

static void send_control(conn_t *c, int opcode, const uint8_t *p, size_t n)
{
	msg_t *m = msg_new(n);

	memcpy(m->data + HEADROOM, p, n);
	msg_frame(m, opcode, n);
	enqueue(c, m);
	msg_unref(m);
}

static void conn_release(conn_t *c);

/* Close now: leave the room, drop the queue; the struct is freed here, or
 * by the flush when c is on its list. */
static void conn_close(conn_t *c)
{
	if (c->state == CS_CLOSED)
		return;
	c->state = CS_CLOSED;
	ev_io_stop(S.loop, &c->io);
	close(c->io.fd);
	room_leave(c);
	S.conns--;
	if (!c->dirty)
		conn_release(c);
}

static void conn_release(conn_t *c)
{
	while (c->qlen > 0) {
		msg_unref(c->q[c->qhead]);
		c->qhead = (c->qhead + 1) % c->qcap;
		c->qlen--;
	}
	free(c->q);
	if (c->part != NULL)
		msg_unref(c->part);
	if (c->wf != NULL)
		wslay_frame_context_free(c->wf); /* mid-frame: not reusable */
	free(c->req);
	free(c);
}

static void set_write_watch(conn_t *c, bool on)
{
	if (c->want_write == on)
		return;
	c->want_write = on;
	ev_io_stop(S.loop, &c->io);
	ev_io_set(&c->io, c->io.fd, EV_READ | (on ? EV_WRITE : 0));
	ev_io_start(S.loop, &c->io);
}

/* One writev of up to IOV_MAX frames; the socket full: watch for EV_WRITE. */
static void flush_conn(conn_t *c)
{
	struct iovec iov[IOV_MAX];
	int n = 0;
	ssize_t w;

	while (c->qlen > 0 && c->state != CS_CLOSED) {
		for (n = 0; n < IOV_MAX && (uint32_t)n < c->qlen; n++) {
			msg_t *m = c->q[(c->qhead + (uint32_t)n) % c->qcap];
			iov[n].iov_base = m->frame;
			iov[n].iov_len = m->len;
		}
		iov[0].iov_base = (uint8_t *)iov[0].iov_base + c->qoff;
		iov[0].iov_len -= c->qoff;
		w = writev(c->io.fd, iov, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (w <= 0) {
			conn_close(c);
			return;
		}
		c->qbytes -= (size_t)w;
		w += (ssize_t)c->qoff;
		c->qoff = 0;
		while (c->qlen > 0 && (size_t)w >= c->q[c->qhead]->len) {
			w -= c->q[c->qhead]->len;
			msg_unref(c->q[c->qhead]);
			c->qhead = (c->qhead + 1) % c->qcap;
			c->qlen--;
		}
		if (c->qlen > 0 && w > 0) {
			c->qoff = (size_t)w;
			break; /* a short write: the socket is full */
		}
	}
	if (c->qlen == 0 && c->state == CS_CLOSING) {
		conn_close(c);
		return;
	}
	set_write_watch(c, c->qlen > 0);
}

/* ev_prepare: before the loop sleeps, write what the iteration queued. */
static void on_prepare(struct ev_loop *loop, ev_prepare *w, int revents)
{
	for (size_t i = 0; i < S.ndirty; i++) {
		conn_t *c = S.dirty[i];
		c->dirty = false;
		if (c->state == CS_CLOSED)
			conn_release(c);
		else
			flush_conn(c);
	}
	S.ndirty = 0;
}

/* --- input: frames ----------------------------------------------------------------- */

static void fan_out(conn_t *from, msg_t *m)
{
	room_t *r = from->room;

	S.messages++;
	for (uint32_t i = 0; i < r->n; i++) {
		conn_t *to = r->members[i];
		if (to == from || to->state != CS_WS)
			continue;
		if (to->qbytes > S.send_buffer) {
			S.dropped++;
			continue;
		}
		enqueue(to, m);
		S.deliveries++;
	}
}

static void proto_error(conn_t *c, uint16_t code)
{
	uint8_t b[2] = { (uint8_t)(code >> 8), (uint8_t)code };

	send_control(c, WSLAY_CONNECTION_CLOSE, b, 2);
	c->state = CS_CLOSING;
}

/* The first chunk of a frame: check it, and make room for its payload. */
static bool frame_start(conn_t *c, const struct wslay_frame_iocb *f)
{
	c->in_frame = true;
	c->fop = f->opcode;
	c->ffin = f->fin;
	c->fmask = f->mask;
	c->plen = f->payload_length;
	c->pgot = 0;
	if (!f->mask || f->rsv != 0)
		return false;
	switch (f->opcode) {
	case WSLAY_CONTINUATION_FRAME:
		if (c->msg_op == 0)
			return false;
		break;
	case WSLAY_TEXT_FRAME:
	case WSLAY_BINARY_FRAME:
		if (c->msg_op != 0)
			return false;
		c->msg_op = f->opcode;
		break;
	case WSLAY_CONNECTION_CLOSE:
	case WSLAY_PING:
	case WSLAY_PONG: return true;
	default: return false;
	}
	if (c->msg_op == WSLAY_BINARY_FRAME) {
		if (c->part_len + c->plen > MSG_MAX)
			return false;
		if (c->part == NULL) {
			c->part = msg_new(c->plen);
			c->part_len = 0;
		} else if (c->part_len + c->plen > c->part->cap) {
			c->part =
			        xrealloc(c->part, sizeof(msg_t) + HEADROOM + c->part_len + c->plen);
			c->part->cap = c->part_len + c->plen;
		}
	}
	return true;
}

static void frame_end(conn_t *c)
{
	c->in_frame = false;
	c->fed -= 2 + (c->plen >= 126 ? (c->plen >= 65536 ? 8 : 2) : 0) + (c->fmask ? 4 : 0) +
	          c->plen;
	switch (c->fop) {
	case WSLAY_PING: send_control(c, WSLAY_PONG, c->ctl, c->plen); return;
	case WSLAY_PONG: return;
	case WSLAY_CONNECTION_CLOSE:
		send_control(c, WSLAY_CONNECTION_CLOSE, c->ctl, c->plen >= 2 ? 2 : 0);
		c->state = CS_CLOSING;
		return;
	}
	if (!c->ffin)
		return;
	if (c->msg_op == WSLAY_BINARY_FRAME) {
		msg_frame(c->part, WSLAY_BINARY_FRAME, c->part_len);
		fan_out(c, c->part);
		msg_unref(c->part);
		c->part = NULL;
		c->part_len = 0;
	}
	c->msg_op = 0;
}

static bool on_chunk(conn_t *c, const struct wslay_frame_iocb *f)
{
	if (!c->in_frame && !frame_start(c, f))
		return false;
	if (c->fop >= WSLAY_CONNECTION_CLOSE)
		memcpy(c->ctl + c->pgot, f->data, f->data_length);
	else if (c->msg_op == WSLAY_BINARY_FRAME)
		memcpy(c->part->data + HEADROOM + c->part_len, f->data, f->data_length);
	c->pgot += f->data_length;
	if (c->msg_op == WSLAY_BINARY_FRAME && c->fop < WSLAY_CONNECTION_CLOSE)
		c->part_len += f->data_length;
	if (c->pgot == c->plen)
		frame_end(c);
	return true;
}

static ssize_t wf_recv(uint8_t *buf, size_t len, int flags, void *user)
{
	size_t n = S.feed_len - S.feed_off;

	if (n == 0)
		return -1; /* wslay: WANT_READ */
	if (n > len)
		n = len;
	memcpy(buf, S.feed + S.feed_off, n);
	S.feed_off += n;
	S.feeding->fed += n;
	return (ssize_t)n;
}

static const struct wslay_frame_callbacks wf_callbacks = { .recv_callback = wf_recv };

/* Bytes p[0..n) from c's socket, through wslay. */
static void ws_input(conn_t *c, const uint8_t *p, size_t n)
{
	if (c->wf == NULL) {
		if (S.npool > 0)
			c->wf = S.pool[--S.npool];
		else if (wslay_frame_context_init(&c->wf, &wf_callbacks, NULL) != 0)
			abort();
	}
	S.feed = p;
	S.feed_len = n;
	S.feed_off = 0;
	S.feeding = c;
	while (c->state == CS_WS) {
		struct wslay_frame_iocb f;
		ssize_t r = wslay_frame_recv(c->wf, &f);
		if (r == WSLAY_ERR_WANT_READ)
			break;
		if (r < 0 || !on_chunk(c, &f)) {
			proto_error(c, 1002);
			break;
		}
	}
	/* between frames with nothing buffered: give the context back */
	if (c->fed == 0 && !c->in_frame && S.npool < (int)(sizeof(S.pool) / sizeof(S.pool[0]))) {
		S.pool[S.npool++] = c->wf;
		c->wf = NULL;
	}
}

/* --- input: the upgrade -------------------------------------------------------------- */

static const char *header_value(const char *req, const char *name, size_t *len)
{
	size_t n = strlen(name);

	for (const char *l = strstr(req, "\r\n"); l != NULL; l = strstr(l + 2, "\r\n")) {
		if (strncasecmp(l + 2, name, n) == 0 && l[2 + n] == ':') {
			const char *v = l + 3 + n;
			v += strspn(v, " \t");
			*len = strcspn(v, " \t\r\n");
			return v;
		}
	}
	return NULL;
}

static bool upgrade(conn_t *c, char *req)
{
	static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
	static const char b64[] =
	        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char room[ROOM_NAME_MAX], cat[128], acc[29], resp[256];
	unsigned char sha[SHA_DIGEST_LENGTH + 1] = { 0 };
	const char *key;
	size_t klen, i, o = 0;
	int n;

	if (sscanf(req, "GET /room/%127[A-Za-z0-9_-] HTTP/1.1\r", room) != 1 ||
	    (key = header_value(req, "Sec-WebSocket-Key", &klen)) == NULL || klen != 24)
		return false;
	n = snprintf(cat, sizeof(cat), "%.*s%s", (int)klen, key, guid);
	SHA1((const unsigned char *)cat, (size_t)n, sha);
	for (i = 0; i < 21; i += 3) { /* 20 bytes: 27 characters and one '=' */
		uint32_t v = (uint32_t)sha[i] << 16 | (uint32_t)sha[i + 1] << 8 | sha[i + 2];
		acc[o++] = b64[v >> 18];
		acc[o++] = b64[(v >> 12) & 63];
		acc[o++] = b64[(v >> 6) & 63];
		acc[o++] = i + 2 < 20 ? b64[v & 63] : '=';
	}
	acc[28] = '\0';
	n = snprintf(resp, sizeof(resp),
	             "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	             "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
	             acc);
	if (write(c->io.fd, resp, (size_t)n) != n)
		return false;
	room_join(c, room);
	c->state = CS_WS;
	return true;
}

static void http_input(conn_t *c, const uint8_t *p, size_t n)
{
	static const char bad[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
	                          "Connection: close\r\n\r\n";
	char *end;
	size_t hlen;

	if (c->req_len + n >= REQ_MAX) {
		conn_close(c);
		return;
	}
	c->req = xrealloc(c->req, c->req_len + n + 1);
	memcpy(c->req + c->req_len, p, n);
	c->req_len += n;
	c->req[c->req_len] = '\0';
	if ((end = strstr(c->req, "\r\n\r\n")) == NULL)
		return;
	hlen = (size_t)(end + 4 - c->req);
	if (!upgrade(c, c->req)) {
		(void)!write(c->io.fd, bad, sizeof(bad) - 1);
		conn_close(c);
		return;
	}
	if (c->req_len > hlen)
		ws_input(c, (uint8_t *)c->req + hlen, c->req_len - hlen);
	free(c->req);
	c->req = NULL;
	c->req_len = 0;
}

static void on_io(struct ev_loop *loop, ev_io *w, int revents)
{
	conn_t *c = (conn_t *)w;

	if (revents & EV_WRITE) {
		flush_conn(c);
		if (c->state == CS_CLOSED)
			return;
	}
	if (!(revents & EV_READ) || c->state == CS_CLOSING)
		return;
	ssize_t r = read(w->fd, S.rbuf, sizeof(S.rbuf));
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (r <= 0) {
		conn_close(c);
		return;
	}
	if (c->state == CS_HTTP)
		http_input(c, S.rbuf, (size_t)r);
	else
		ws_input(c, S.rbuf, (size_t)r);
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		int one = 1, fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		conn_t *c;
		if (fd < 0)
			return; /* EAGAIN, or out of descriptors: try again next time */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c = xrealloc(NULL, sizeof(*c));
		memset(c, 0, sizeof(*c));
		ev_io_init(&c->io, on_io, fd, EV_READ);
		ev_io_start(loop, &c->io);
		S.conns++;
	}
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	ev_break(loop, EVBREAK_ALL);
}

/* --- main ---------------------------------------------------------------------------- */

static int listen_on(const char *spec)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	const char *colon = strrchr(spec, ':');
	char host[64];
	int one = 1, fd;

	if (colon == NULL || (size_t)(colon - spec) >= sizeof(host))
		return -1;
	snprintf(host, sizeof(host), "%.*s", (int)(colon - spec), spec);
	a.sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
		return -1;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 4096) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int main(int argc, char **argv)
{
	const char *spec = "127.0.0.1:8092";
	struct rlimit rl;
	int fd;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
			spec = argv[++i];
		} else if (strcmp(argv[i], "--send-buffer") == 0 && i + 1 < argc) {
			S.send_buffer = strtoul(argv[++i], NULL, 10);
		} else {
			fprintf(stderr,
			        "usage: ws_baseline [--listen ADDR:PORT] [--send-buffer BYTES]\n");
			return 2;
		}
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);
	if ((fd = listen_on(spec)) < 0) {
		fprintf(stderr, "ws_baseline: cannot listen on %s: %s\n", spec, strerror(errno));
		return 1;
	}
	S.loop = ev_default_loop(EVFLAG_AUTO);
	ev_io_init(&S.accept_io, on_accept, fd, EV_READ);
	ev_io_start(S.loop, &S.accept_io);
	ev_prepare_init(&S.flush, on_prepare);
	ev_prepare_start(S.loop, &S.flush);
	ev_signal_init(&S.sigterm, on_signal, SIGTERM);
	ev_signal_start(S.loop, &S.sigterm);
	ev_signal_init(&S.sigint, on_signal, SIGINT);
	ev_signal_start(S.loop, &S.sigint);
	printf("ws_baseline: listening on %s\n", spec);
	fflush(stdout);
	ev_run(S.loop, 0);
	fprintf(stderr,
	        "ws_baseline: %llu messages relayed, %llu deliveries, %llu dropped (slow "
	        "readers), %llu connections open\n",
	        (unsigned long long)S.messages, (unsigned long long)S.deliveries,
	        (unsigned long long)S.dropped, (unsigned long long)S.conns);
	return 0;
}
