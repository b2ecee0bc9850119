/*
 * vctest_ws.c — the /lobby tests' WebSocket client, protobuf codec, tokens
 * and media sessions (see vctest_ws.h).
 *
 * Plain blocking code over vctest's connections (non-blocking sockets read
 * through poll with a deadline). Nothing here shares code with vcd's
 * wire/ws.c or wire/proto.c: the tests check vcd against an independent
 * reading of RFC 6455 and of videocall.rs's .proto files.
 */
#include "t/lib/vctest_ws.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <setjmp.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "actors/room_tokens.h"
#include "wire/jwt.h"

#define UPGRADE_MS 5000
#define CLOSE_EOF_MS 5000
#define SPLIT_READ_MS 5000
#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define TOKEN_TTL 600
#define DESCRIBE_MAX 40 /* messages listed when a wait fails */

static vct_ws_t *open_ws; /* every connection not freed */
static vcl_t *open_sessions;
static int next_rcvbuf; /* vct_ws_rcvbuf_next */

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (p == NULL) {
		fprintf(stderr, "vctest_ws: out of memory\n");
		abort();
	}
	return p;
}

static char *xstrdup(const char *s)
{
	return vct_strf("%s", s);
}

static int left_ms(uint64_t deadline)
{
	uint64_t now = vct_now_ms();

	return now >= deadline ? 0 : (int)(deadline - now);
}

static void random_bytes(void *p, size_t n)
{
	uint8_t *b = p;

	while (n > 0) {
		ssize_t got = getrandom(b, n, 0);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			fail_msg("getrandom: %s", strerror(errno));
		b += got;
		n -= (size_t)got;
	}
}

static void buf_put(vct_buf_t *b, const void *p, size_t n)
{
	if (b->cap - b->len < n)
		b->p = xrealloc(b->p, b->cap = (b->len + n) * 2 + 64);
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

void vct_buf_free(vct_buf_t *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* --- the upgrade ---------------------------------------------------------- */

static char *base64(const uint8_t *p, size_t n)
{
	char *out = xrealloc(NULL, 4 * ((n + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)out, p, (int)n);
	return out;
}

char *vct_ws_key(void)
{
	uint8_t raw[16];

	random_bytes(raw, sizeof(raw));
	return base64(raw, sizeof(raw));
}

/* Sec-WebSocket-Accept for key: base64(SHA-1(key + GUID)) (RFC 6455 4.2.2). */
static char *accept_for(const char *key)
{
	char *cat = vct_strf("%s%s", key, WS_GUID);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (!EVP_Digest(cat, strlen(cat), md, &mdlen, EVP_sha1(), NULL) || mdlen != 20)
		fail_msg("SHA-1 failed (OpenSSL)");
	free(cat);
	return base64(md, mdlen);
}

static vct_ws_t *ws_new(vct_conn_t *c, const char *name)
{
	vct_ws_t *ws = xrealloc(NULL, sizeof(*ws));
	int one = 1;

	memset(ws, 0, sizeof(*ws));
	ws->c = c;
	ws->name = xstrdup(name);
	/* Small writes go out at once, so a frame cut in pieces reaches vcd cut. */
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	ws->next = open_ws;
	open_ws = ws;
	return ws;
}

/* A request target short enough for messages (tokens are long). */
static char *short_target(const char *target)
{
	size_t n = strlen(target);

	return n <= 60 ? xstrdup(target) : vct_strf("%.40s…%s", target, target + n - 12);
}

int vct_ws_request_raw(int port, const char *request, vct_resp_t *r)
{
	vct_conn_t *c;
	bool ok;

	memset(r, 0, sizeof(*r));
	c = vct_conn_open(port);
	ok = vct_conn_send(c, request, strlen(request)) && vct_http_read(c, r, false, UPGRADE_MS);
	vct_conn_close(c);
	return ok ? r->status : 0;
}

/* The checks of RFC 6455 4.1 on a 101: the accept value, the Upgrade and
 * Connection tokens, and nothing negotiated that vcd never offers. */
static void check_101(const vct_resp_t *r, const char *key, const char *what)
{
	char *want = accept_for(key);
	const char *got = vct_resp_header(r, "Sec-WebSocket-Accept");

	if (got == NULL || strcmp(got, want) != 0)
		fail_msg("%s: 101 with Sec-WebSocket-Accept '%s', expected '%s'", what,
		         got ? got : "(none)", want);
	if (!vct_resp_header_has(r, "Upgrade", "websocket") ||
	    !vct_resp_header_has(r, "Connection", "upgrade"))
		fail_msg("%s: 101 without Upgrade: websocket and Connection: Upgrade", what);
	if (vct_resp_header(r, "Sec-WebSocket-Extensions") != NULL)
		fail_msg("%s: 101 negotiated extensions '%s'; vcd negotiates none", what,
		         vct_resp_header(r, "Sec-WebSocket-Extensions"));
	if (vct_resp_header(r, "Sec-WebSocket-Protocol") != NULL)
		fail_msg("%s: 101 chose a subprotocol '%s'; vcd offers none", what,
		         vct_resp_header(r, "Sec-WebSocket-Protocol"));
	free(want);
}

void vct_ws_rcvbuf_next(int bytes)
{
	next_rcvbuf = bytes;
}

/* A connection like vct_conn_open's (not in vctest's list: vct_conn_close
 * frees it all the same) whose SO_RCVBUF is set before it connects. */
static vct_conn_t *conn_with_rcvbuf(int port, int bytes)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	vct_conn_t *c;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes)) != 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		fail_msg("connecting to 127.0.0.1:%d with SO_RCVBUF %d: %s", port, bytes,
		         strerror(errno));
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	c = xrealloc(NULL, sizeof(*c));
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	return c;
}

vct_ws_t *vct_ws_try(int port, const char *target, const char *headers, vct_resp_t *refusal)
{
	char *key = vct_ws_key(), *what = short_target(target);
	vct_conn_t *c = next_rcvbuf > 0 ? conn_with_rcvbuf(port, next_rcvbuf) : vct_conn_open(port);
	vct_resp_t r;
	vct_ws_t *ws = NULL;

	next_rcvbuf = 0;
	if (!vct_conn_sendf(c,
	                    "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
	                    "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
	                    "Sec-WebSocket-Version: 13\r\n%s\r\n",
	                    target, port, key, headers ? headers : "") ||
	    !vct_http_read(c, &r, false, UPGRADE_MS)) {
		memset(&r, 0, sizeof(r));
	} else if (r.status == 101) {
		check_101(&r, key, what);
		ws = ws_new(c, what);
		c = NULL;
	}
	vct_conn_close(c);
	if (refusal != NULL)
		*refusal = r;
	else
		vct_resp_free(&r);
	free(key);
	free(what);
	return ws;
}

vct_ws_t *vct_ws_open(int port, const char *target, const char *headers, const char *name)
{
	vct_resp_t r;
	vct_ws_t *ws = vct_ws_try(port, target, headers, &r);
	char *t = short_target(target);

	if (ws == NULL) {
		if (r.status == 0)
			fail_msg("GET %s (%s): no answer to the upgrade within %d ms, expected 101",
			         t, name, UPGRADE_MS);
		fail_msg("GET %s (%s) answered %d, expected 101: '%s'", t, name, r.status,
		         r.body ? r.body : "");
	}
	vct_resp_free(&r);
	free(t);
	free(ws->name);
	ws->name = xstrdup(name);
	return ws;
}

/* --- sending -------------------------------------------------------------- */

/* Write bytes in pieces of `chunk` (0: at once); after each piece but the
 * last, wait until vcd has read it, so that it sees the bytes cut there. */
static bool send_split(vct_ws_t *ws, const uint8_t *p, size_t len, size_t chunk)
{
	if (chunk == 0 || chunk >= len)
		return vct_conn_send(ws->c, p, len);
	while (len > 0) {
		size_t n = len < chunk ? len : chunk;
		if (!vct_conn_send(ws->c, p, n))
			return false;
		p += n;
		len -= n;
		if (len > 0)
			(void)vct_conn_wait_peer_read(ws->c, SPLIT_READ_MS);
	}
	return true;
}

static void frame_build(vct_buf_t *b, const vct_ws_out_t *f)
{
	uint8_t h[14], mask[4];
	size_t hl = 2;
	unsigned form = f->len_form;

	h[0] = (uint8_t)((f->more ? 0 : 0x80) | ((f->rsv & 7) << 4) | (f->opcode & 0x0f));
	if (form == 0)
		form = f->len < 126 ? 0 : f->len <= 0xffff ? 126 : 127;
	if (form == 0) {
		h[1] = (uint8_t)f->len;
	} else if (form == 126) {
		h[1] = 126;
		h[2] = (uint8_t)(f->len >> 8);
		h[3] = (uint8_t)f->len;
		hl = 4;
	} else {
		h[1] = 127;
		for (int i = 0; i < 8; i++)
			h[2 + i] = (uint8_t)((uint64_t)f->len >> (56 - 8 * i));
		hl = 10;
	}
	if (!f->unmasked) {
		h[1] |= 0x80;
		random_bytes(mask, sizeof(mask));
		memcpy(h + hl, mask, 4);
		hl += 4;
	}
	buf_put(b, h, hl);
	buf_put(b, f->data, f->len);
	if (!f->unmasked)
		for (size_t i = 0; i < f->len; i++)
			b->p[b->len - f->len + i] ^= mask[i & 3];
}

void vct_ws_frame_bytes(vct_buf_t *out, const vct_ws_out_t *f)
{
	frame_build(out, f);
}

bool vct_ws_send_frame(vct_ws_t *ws, const vct_ws_out_t *f)
{
	vct_buf_t b = { 0 };
	bool ok;

	frame_build(&b, f);
	ok = send_split(ws, b.p, b.len, f->chunk);
	if (f->opcode == VCT_WS_CLOSE)
		ws->close_sent = true;
	vct_buf_free(&b);
	return ok;
}

bool vct_ws_send_raw(vct_ws_t *ws, const void *bytes, size_t len, size_t chunk)
{
	return send_split(ws, bytes, len, chunk);
}

static bool send_simple(vct_ws_t *ws, unsigned opcode, const void *data, size_t len)
{
	return vct_ws_send_frame(ws, &(vct_ws_out_t){ .opcode = opcode, .data = data, .len = len });
}

bool vct_ws_send_binary(vct_ws_t *ws, const void *data, size_t len)
{
	return send_simple(ws, VCT_WS_BINARY, data, len);
}

bool vct_ws_send_text(vct_ws_t *ws, const void *data, size_t len)
{
	return send_simple(ws, VCT_WS_TEXT, data, len);
}

bool vct_ws_send_ping(vct_ws_t *ws, const void *data, size_t len)
{
	return send_simple(ws, VCT_WS_PING, data, len);
}

bool vct_ws_send_pong(vct_ws_t *ws, const void *data, size_t len)
{
	return send_simple(ws, VCT_WS_PONG, data, len);
}

bool vct_ws_send_close(vct_ws_t *ws, int code, const void *reason, size_t reason_len)
{
	uint8_t p[256];
	size_t n = 0;

	if (code >= 0) {
		if (reason_len > sizeof(p) - 2)
			reason_len = sizeof(p) - 2;
		p[0] = (uint8_t)(code >> 8);
		p[1] = (uint8_t)code;
		if (reason_len > 0)
			memcpy(p + 2, reason, reason_len);
		n = 2 + reason_len;
	}
	return send_simple(ws, VCT_WS_CLOSE, p, n);
}

bool vct_ws_send_fragments(vct_ws_t *ws, unsigned opcode, const void *data, size_t len,
                           unsigned nfrags)
{
	const uint8_t *p = data;
	size_t each = nfrags > 1 ? len / nfrags : len, off = 0;

	for (unsigned i = 0; i < nfrags; i++) {
		bool last = i + 1 == nfrags;
		size_t n = last ? len - off : each;
		vct_ws_out_t f = { .opcode = i == 0 ? opcode : VCT_WS_CONT,
			           .more = !last,
			           .data = p + off,
			           .len = n };
		if (!vct_ws_send_frame(ws, &f))
			return false;
		off += n;
		if (!last)
			(void)vct_conn_wait_peer_read(ws->c, SPLIT_READ_MS);
	}
	return true;
}

/* --- receiving ------------------------------------------------------------ */

/* Codes an endpoint may put in a close frame (RFC 6455 7.4). */
static bool close_code_allowed(int code)
{
	return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) ||
	       (code >= 3000 && code <= 4999);
}

static void inbox_add(vct_ws_t *ws, unsigned opcode, uint8_t *data, size_t len, unsigned frames)
{
	if (ws->n == ws->cap)
		ws->inbox = xrealloc(ws->inbox, (ws->cap = ws->cap * 2 + 32) * sizeof(*ws->inbox));
	ws->inbox[ws->n++] = (vct_ws_msg_t){
		.opcode = opcode, .data = data, .len = len, .frames = frames, .at_ms = vct_now_ms()
	};
}

/* Handle one complete frame (payload unmasked, owned here). */
static void frame_handle(vct_ws_t *ws, bool fin, unsigned opcode, uint8_t *p, size_t len)
{
	if (ws->close_seen)
		fail_msg("%s: vcd sent a frame (opcode %u) after its close frame", ws->name,
		         opcode);
	switch (opcode) {
	case VCT_WS_PING:
		ws->pings++;
		if (ws->auto_pong && !ws->close_sent)
			(void)vct_ws_send_pong(ws, p, len);
		free(p);
		return;
	case VCT_WS_PONG:
		ws->pongs++;
		memcpy(ws->last_pong, p, len);
		ws->last_pong_len = len;
		free(p);
		return;
	case VCT_WS_CLOSE: /* checked by frame_take */
		ws->close_seen = true;
		ws->close_code = len >= 2 ? (p[0] << 8 | p[1]) : VCT_WS_NO_STATUS;
		snprintf(ws->close_reason, sizeof(ws->close_reason), "%.*s",
		         len > 2 ? (int)(len - 2) : 0, len > 2 ? (const char *)p + 2 : "");
		free(p);
		return;
	case VCT_WS_CONT:
		if (ws->frag == NULL)
			fail_msg("%s: vcd sent a continuation frame outside a fragmented message",
			         ws->name);
		ws->frag = xrealloc(ws->frag, ws->frag_len + len + 1);
		memcpy(ws->frag + ws->frag_len, p, len);
		ws->frag_len += len;
		ws->frag_frames++;
		free(p);
		if (fin) {
			ws->frag[ws->frag_len] = '\0';
			inbox_add(ws, ws->frag_opcode, ws->frag, ws->frag_len, ws->frag_frames);
			ws->frag = NULL;
			ws->frag_len = 0;
		}
		return;
	default:
		if (ws->frag != NULL)
			fail_msg("%s: vcd started a new message inside a fragmented one", ws->name);
		if (fin) {
			inbox_add(ws, opcode, p, len, 1);
		} else {
			ws->frag = p;
			ws->frag_len = len;
			ws->frag_opcode = opcode;
			ws->frag_frames = 1;
		}
	}
}

/* Take one frame off the start of the buffer, checked as a client must:
 * true with *f filled (payload owned by f), false while it is incomplete. */
static bool frame_take(vct_ws_t *ws, vct_ws_frame_t *f)
{
	const uint8_t *b = (const uint8_t *)ws->c->buf;
	size_t have = ws->c->len, hl = 2;
	uint64_t len;

	if (have < 2)
		return false;
	memset(f, 0, sizeof(*f));
	f->fin = b[0] & 0x80;
	f->rsv = (b[0] >> 4) & 7;
	f->opcode = b[0] & 0x0f;
	if (f->rsv != 0)
		fail_msg("%s: vcd sent a frame with RSV bits %u (no extension was negotiated)",
		         ws->name, f->rsv);
	if (b[1] & 0x80)
		fail_msg("%s: vcd sent a masked frame (a server must not mask, RFC 6455 5.1)",
		         ws->name);
	if ((f->opcode >= 3 && f->opcode <= 7) || f->opcode >= 11)
		fail_msg("%s: vcd sent a frame with the reserved opcode %u", ws->name, f->opcode);
	len = b[1] & 0x7f;
	if (len == 126) {
		if (have < 4)
			return false;
		len = (uint64_t)b[2] << 8 | b[3];
		hl = 4;
	} else if (len == 127) {
		if (have < 10)
			return false;
		len = 0;
		for (int i = 0; i < 8; i++)
			len = len << 8 | b[2 + i];
		if (len >> 63)
			fail_msg("%s: vcd sent a 64-bit frame length with the top bit set",
			         ws->name);
		hl = 10;
	}
	if (f->opcode >= 8 && (len > 125 || !f->fin))
		fail_msg("%s: vcd sent a control frame (opcode %u) that is %s", ws->name, f->opcode,
		         len > 125 ? "longer than 125 bytes" : "fragmented");
	if (have < hl + len)
		return false;
	f->data = xrealloc(NULL, (size_t)len + 1);
	memcpy(f->data, b + hl, (size_t)len);
	f->data[len] = '\0';
	f->len = (size_t)len;
	vct_conn_consume(ws->c, hl + (size_t)len);
	if (f->opcode == VCT_WS_CLOSE) {
		if (f->len == 1)
			fail_msg("%s: vcd sent a close frame with a 1-byte payload", ws->name);
		f->close_code = f->len >= 2 ? (f->data[0] << 8 | f->data[1]) : VCT_WS_NO_STATUS;
		if (f->len >= 2 && !close_code_allowed(f->close_code))
			fail_msg("%s: vcd sent close code %d, which RFC 6455 forbids on the wire",
			         ws->name, f->close_code);
		snprintf(f->close_reason, sizeof(f->close_reason), "%.*s",
		         f->len > 2 ? (int)(f->len - 2) : 0,
		         f->len > 2 ? (const char *)f->data + 2 : "");
	}
	return true;
}

/* Parse one frame at the start of the buffer: 1 handled, 0 incomplete. */
static int frame_parse(vct_ws_t *ws)
{
	vct_ws_frame_t f;

	if (!frame_take(ws, &f))
		return 0;
	frame_handle(ws, f.fin, f.opcode, f.data, f.len);
	return 1;
}

void vct_ws_frame_free(vct_ws_frame_t *f)
{
	free(f->data);
	f->data = NULL;
}

int vct_ws_recv_frame(vct_ws_t *ws, vct_ws_frame_t *f, unsigned ms)
{
	uint64_t deadline = vct_now_ms() + ms;
	bool tried = false;

	for (;;) {
		if (frame_take(ws, f)) {
			if (ws->close_seen)
				fail_msg("%s: vcd sent a frame (opcode %u) after its close frame",
				         ws->name, f->opcode);
			if (f->opcode == VCT_WS_CLOSE) {
				ws->close_seen = true;
				ws->close_code = f->close_code;
				memcpy(ws->close_reason, f->close_reason, sizeof(ws->close_reason));
			}
			return 1;
		}
		if (ws->c->eof) {
			ws->eof = true;
			return -1;
		}
		if (tried && left_ms(deadline) == 0)
			return 0;
		vct_conn_recv(ws->c, (unsigned)left_ms(deadline));
		tried = true;
	}
}

int vct_ws_pump(vct_ws_t *ws, unsigned ms)
{
	uint64_t deadline = vct_now_ms() + ms;
	bool tried = false;

	for (;;) {
		if (frame_parse(ws))
			return 1;
		if (ws->c->eof) {
			ws->eof = true;
			return -1;
		}
		if (tried && left_ms(deadline) == 0)
			return 0;
		vct_conn_recv(ws->c, (unsigned)left_ms(deadline)); /* at least one try */
		tried = true;
	}
}

const vct_ws_msg_t *vct_ws_msg(const vct_ws_t *ws, unsigned i)
{
	if (i >= ws->n)
		fail_msg("%s: no message #%u (%u received)", ws->name, i, ws->n);
	return &ws->inbox[i];
}

/* Why a wait ended badly, for failure messages. */
static const char *end_state(const vct_ws_t *ws, char *buf, size_t len)
{
	if (ws->close_seen)
		snprintf(buf, len, "vcd closed the WebSocket with %d '%s'", ws->close_code,
		         ws->close_reason);
	else if (ws->eof)
		snprintf(buf, len, "the connection ended (%s) without a close frame",
		         ws->c->reset ? "reset" : "EOF");
	else
		snprintf(buf, len, "it did not come");
	return buf;
}

const vct_ws_msg_t *vct_ws_wait_msg(vct_ws_t *ws, unsigned i, unsigned ms, const char *what)
{
	uint64_t deadline = vct_now_ms() + ms;
	char why[200];

	while (ws->n <= i) {
		if (ws->close_seen || ws->eof || left_ms(deadline) == 0)
			fail_msg("%s: awaited %s (message #%u) for %u ms: %s", ws->name, what, i,
			         ms, end_state(ws, why, sizeof(why)));
		vct_ws_pump(ws, (unsigned)left_ms(deadline));
	}
	return &ws->inbox[i];
}

void vct_ws_expect_close(vct_ws_t *ws, int code, const char *reason, unsigned ms, const char *what)
{
	uint64_t deadline = vct_now_ms() + ms;
	char why[200];

	while (!ws->close_seen) {
		if (ws->eof || left_ms(deadline) == 0)
			fail_msg("%s: awaited close %d (%s) for %u ms: %s", ws->name, code, what,
			         ms, end_state(ws, why, sizeof(why)));
		vct_ws_pump(ws, (unsigned)left_ms(deadline));
	}
	if (ws->close_code != code)
		fail_msg("%s: vcd closed with %d '%s', expected %d (%s)", ws->name, ws->close_code,
		         ws->close_reason, code, what);
	if (reason != NULL && strcmp(ws->close_reason, reason) != 0)
		fail_msg("%s: close %d with reason '%s', expected '%s' (%s)", ws->name, code,
		         ws->close_reason, reason, what);
	if (!ws->close_sent)
		(void)vct_ws_send_close(ws, code == VCT_WS_NO_STATUS ? -1 : code, NULL, 0);
	if (!vct_conn_wait_eof(ws->c, CLOSE_EOF_MS))
		fail_msg("%s: vcd sent close %d but did not end the TCP connection within %d ms "
		         "of the client's close (%s)",
		         ws->name, code, CLOSE_EOF_MS, what);
	ws->eof = true;
}

void vct_ws_expect_pong(vct_ws_t *ws, const void *data, size_t len, unsigned ms, const char *what)
{
	uint64_t deadline = vct_now_ms() + ms;
	unsigned before = ws->pongs;
	char why[200];

	while (ws->pongs == before) {
		if (ws->close_seen || ws->eof || left_ms(deadline) == 0)
			fail_msg("%s: awaited a pong (%s) for %u ms: %s", ws->name, what, ms,
			         end_state(ws, why, sizeof(why)));
		vct_ws_pump(ws, (unsigned)left_ms(deadline));
	}
	if (ws->last_pong_len != len || (len > 0 && memcmp(ws->last_pong, data, len) != 0))
		fail_msg("%s: the pong (%s) carries %zu bytes '%.*s', expected the ping's %zu "
		         "bytes '%.*s'",
		         ws->name, what, ws->last_pong_len, (int)ws->last_pong_len, ws->last_pong,
		         len, (int)len, len > 0 ? (const char *)data : "");
}

void vct_ws_expect_pings(vct_ws_t *ws, unsigned n, unsigned ms, const char *what)
{
	uint64_t deadline = vct_now_ms() + ms;
	char why[200];

	while (ws->pings < n) {
		if (ws->close_seen || ws->eof || left_ms(deadline) == 0)
			fail_msg("%s: awaited %u pings (%s) for %u ms, %u came: %s", ws->name, n,
			         what, ms, ws->pings, end_state(ws, why, sizeof(why)));
		vct_ws_pump(ws, (unsigned)left_ms(deadline));
	}
}

void vct_ws_expect_silence(vct_ws_t *ws, unsigned ms, const char *what)
{
	uint64_t deadline = vct_now_ms() + ms;
	unsigned before = ws->n;

	while (left_ms(deadline) > 0 && !ws->close_seen && !ws->eof && ws->n == before)
		vct_ws_pump(ws, (unsigned)left_ms(deadline));
	if (ws->n > before) {
		const vct_ws_msg_t *m = &ws->inbox[before];
		char *d = vct_pb_describe(m->data, m->len, m->opcode);
		fail_msg("%s: a message arrived within %u ms where none may (%s): %s", ws->name, ms,
		         what, d);
	}
	if (ws->close_seen)
		fail_msg("%s: closed with %d '%s' within %u ms where nothing may come (%s)",
		         ws->name, ws->close_code, ws->close_reason, ms, what);
	if (ws->eof)
		fail_msg("%s: the connection ended within %u ms where nothing may come (%s)",
		         ws->name, ms, what);
}

void vct_ws_free(vct_ws_t *ws)
{
	if (ws == NULL)
		return;
	for (vct_ws_t **pp = &open_ws; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == ws) {
			*pp = ws->next;
			break;
		}
	}
	vct_conn_close(ws->c);
	for (unsigned i = 0; i < ws->n; i++)
		free(ws->inbox[i].data);
	free(ws->inbox);
	free(ws->frag);
	free(ws->name);
	free(ws);
}

static void vcl_destroy(vcl_t *s);

void vct_ws_close_all(void)
{
	while (open_sessions != NULL)
		vcl_destroy(open_sessions);
	while (open_ws != NULL)
		vct_ws_free(open_ws);
}

/* --- protobuf ------------------------------------------------------------- */

typedef struct pb_field {
	unsigned num, wire;
	uint64_t v;
	vct_pb_bytes_t b;
} pb_field_t;

static bool pb_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	*v = 0;
	for (unsigned shift = 0; *p < end && shift < 64; shift += 7) {
		uint8_t c = *(*p)++;
		*v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			return true;
	}
	return false;
}

/* The next field: false at a malformed one. */
static bool pb_next(const uint8_t **p, const uint8_t *end, pb_field_t *f)
{
	uint64_t key;

	memset(f, 0, sizeof(*f));
	if (!pb_varint(p, end, &key) || (key >> 3) == 0 || (key >> 3) > 536870911)
		return false;
	f->num = (unsigned)(key >> 3);
	f->wire = (unsigned)(key & 7);
	switch (f->wire) {
	case 0: return pb_varint(p, end, &f->v);
	case 1:
		if (end - *p < 8)
			return false;
		*p += 8;
		return true;
	case 5:
		if (end - *p < 4)
			return false;
		*p += 4;
		return true;
	case 2:
		if (!pb_varint(p, end, &f->v) || f->v > (uint64_t)(end - *p))
			return false;
		f->b.p = *p;
		f->b.len = (size_t)f->v;
		*p += f->b.len;
		return true;
	default: return false; /* groups */
	}
}

/* A field of a message: 'v' varint, 'b' bytes kept, 'm' bytes not kept
 * (an embedded message or string), 'd' fixed64; 0 unknown. */
typedef struct pb_slot {
	char kind;
	size_t off; /* of the uint64_t or vct_pb_bytes_t in the struct */
} pb_slot_t;

static bool pb_decode(const void *data, size_t n, const pb_slot_t *slots, unsigned nslots,
                      void *out, unsigned *has, unsigned *unknown)
{
	const uint8_t *p = data, *end = p + n;
	pb_field_t f;

	*has = *unknown = 0;
	while (p < end) {
		if (!pb_next(&p, end, &f))
			return false;
		if (f.num >= nslots || slots[f.num].kind == 0) {
			(*unknown)++;
			continue;
		}
		switch (slots[f.num].kind) {
		case 'v':
			if (f.wire != 0)
				return false;
			*(uint64_t *)((char *)out + slots[f.num].off) = f.v;
			break;
		case 'b':
			if (f.wire != 2)
				return false;
			*(vct_pb_bytes_t *)((char *)out + slots[f.num].off) = f.b;
			break;
		case 'm':
			if (f.wire != 2)
				return false;
			break;
		case 'd':
			if (f.wire != 1)
				return false;
			break;
		}
		*has |= 1u << f.num;
	}
	return true;
}

#define SLOT(kind, type, field)                                                                    \
	{                                                                                          \
		kind, offsetof(type, field)                                                        \
	}

bool vct_pw_decode(const void *p, size_t n, vct_pw_t *out)
{
	static const pb_slot_t slots[] = {
		{ 0, 0 },
		SLOT('v', vct_pw_t, packet_type),
		SLOT('b', vct_pw_t, user_id),
		SLOT('b', vct_pw_t, data),
		SLOT('v', vct_pw_t, session_id),
	};

	memset(out, 0, sizeof(*out));
	return pb_decode(p, n, slots, 5, out, &out->has, &out->unknown);
}

bool vct_mp_decode(const void *p, size_t n, vct_mp_t *out)
{
	static const pb_slot_t slots[] = {
		{ 0, 0 },
		SLOT('v', vct_mp_t, event_type),
		SLOT('b', vct_mp_t, room_id),
		SLOT('v', vct_mp_t, start_time_ms),
		SLOT('b', vct_mp_t, message),
		SLOT('b', vct_mp_t, creator_id),
		SLOT('v', vct_mp_t, participant_count),
		SLOT('b', vct_mp_t, target_user_id),
		SLOT('b', vct_mp_t, room_token),
		SLOT('v', vct_mp_t, session_id),
		SLOT('b', vct_mp_t, display_name),
	};

	memset(out, 0, sizeof(*out));
	return pb_decode(p, n, slots, 11, out, &out->has, &out->unknown);
}

bool vct_media_decode(const void *p, size_t n, vct_media_t *out)
{
	/* 4 frame_type (string), 5 timestamp and 6 duration (double), 7-9
	 * metadata messages: their wire types checked, their values not kept. */
	static const pb_slot_t slots[] = {
		{ 0, 0 },
		SLOT('v', vct_media_t, media_type),
		SLOT('b', vct_media_t, user_id),
		SLOT('b', vct_media_t, data),
		{ 'm', 0 },
		{ 'd', 0 },
		{ 'd', 0 },
		{ 'm', 0 },
		{ 'm', 0 },
		{ 'm', 0 },
	};

	memset(out, 0, sizeof(*out));
	return pb_decode(p, n, slots, 10, out, &out->has, &out->unknown);
}

bool vct_pb_eq(vct_pb_bytes_t b, const char *s)
{
	size_t n = strlen(s);

	return b.len == n && (n == 0 || memcmp(b.p, s, n) == 0);
}

static void pb_put_varint(vct_buf_t *b, uint64_t v)
{
	uint8_t tmp[10];
	size_t n = 0;

	do {
		tmp[n] = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v)
			tmp[n] |= 0x80;
		n++;
	} while (v);
	buf_put(b, tmp, n);
}

static void pb_put_uint(vct_buf_t *b, unsigned num, uint64_t v)
{
	if (v == 0)
		return;
	pb_put_varint(b, (uint64_t)num << 3);
	pb_put_varint(b, v);
}

static void pb_put_bytes(vct_buf_t *b, unsigned num, const void *p, size_t n)
{
	if (p == NULL || n == 0)
		return;
	pb_put_varint(b, (uint64_t)num << 3 | 2);
	pb_put_varint(b, n);
	buf_put(b, p, n);
}

static void pb_put_str(vct_buf_t *b, unsigned num, const char *s)
{
	if (s != NULL)
		pb_put_bytes(b, num, s, strlen(s));
}

void vct_pw_encode(vct_buf_t *out, uint64_t packet_type, const void *user_id, size_t user_id_len,
                   const void *data, size_t data_len, uint64_t session_id)
{
	pb_put_uint(out, 1, packet_type);
	pb_put_bytes(out, 2, user_id, user_id_len);
	pb_put_bytes(out, 3, data, data_len);
	pb_put_uint(out, 4, session_id);
}

void vct_media_encode(vct_buf_t *out, uint64_t media_type, const char *user_id, const void *data,
                      size_t data_len)
{
	pb_put_uint(out, 1, media_type);
	pb_put_str(out, 2, user_id);
	pb_put_bytes(out, 3, data, data_len);
}

void vct_mp_encode(vct_buf_t *out, const vct_mp_in_t *m)
{
	pb_put_uint(out, 1, m->event_type);
	pb_put_str(out, 2, m->room_id);
	pb_put_uint(out, 3, m->start_time_ms);
	pb_put_str(out, 4, m->message);
	pb_put_str(out, 5, m->creator_id);
	pb_put_uint(out, 6, (uint64_t)m->participant_count);
	pb_put_str(out, 7, m->target_user_id);
	pb_put_str(out, 8, m->room_token);
	pb_put_uint(out, 9, m->session_id);
	pb_put_str(out, 10, m->display_name);
}

void vct_system_packet(vct_buf_t *out, const vct_mp_in_t *m)
{
	vct_buf_t inner = { 0 };

	vct_mp_encode(&inner, m);
	vct_pw_encode(out, VCT_PT_MEETING, VCT_SYSTEM_USER, strlen(VCT_SYSTEM_USER), inner.p,
	              inner.len, 0);
	vct_buf_free(&inner);
}

void vct_media_packet(vct_buf_t *out, uint64_t media_type, const char *user, const char *tag,
                      uint64_t session_id)
{
	vct_buf_t inner = { 0 };

	vct_media_encode(&inner, media_type, user, tag, strlen(tag));
	vct_pw_encode(out, VCT_PT_MEDIA, user, strlen(user), inner.p, inner.len, session_id);
	vct_buf_free(&inner);
}

const char *vct_pt_name(uint64_t t)
{
	static const char *const names[] = {
		"UNKNOWN",          "RSA_PUB_KEY", "AES_KEY", "MEDIA",
		"CONNECTION",       "DIAGNOSTICS", "HEALTH",  "MEETING",
		"SESSION_ASSIGNED", "CONGESTION",
	};

	return t < 10 ? names[t] : "PACKET_TYPE_?";
}

const char *vct_ev_name(uint64_t e)
{
	static const char *const names[] = {
		"UNKNOWN",
		"MEETING_STARTED",
		"MEETING_ENDED",
		"PARTICIPANT_JOINED",
		"PARTICIPANT_LEFT",
		"MEETING_ACTIVATED",
		"PARTICIPANT_ADMITTED",
		"PARTICIPANT_REJECTED",
		"WAITING_ROOM_UPDATED",
	};

	return e < 9 ? names[e] : "EVENT_?";
}

static const char *mt_name(uint64_t t)
{
	static const char *const names[] = { "UNKNOWN",   "VIDEO", "AUDIO",           "SCREEN",
		                             "HEARTBEAT", "RTT",   "KEYFRAME_REQUEST" };

	return t < 7 ? names[t] : "MEDIA_TYPE_?";
}

/* Printable text of b (at most 60 bytes), in a ring of static buffers. */
static const char *pr(vct_pb_bytes_t b)
{
	static char ring[8][72];
	static unsigned k;
	char *s = ring[k++ % 8];
	size_t n = b.len < 60 ? b.len : 60, j = 0;

	for (size_t i = 0; i < n; i++)
		s[j++] = isprint(b.p[i]) ? (char)b.p[i] : '?';
	if (b.len > n)
		s[j++] = '~';
	s[j] = '\0';
	return s;
}

static char *describe_meeting(const vct_pw_t *pw)
{
	vct_mp_t m;

	if (!vct_mp_decode(pw->data.p, pw->data.len, &m))
		return vct_strf("MEETING with undecodable data (%zu bytes)", pw->data.len);
	return vct_strf("MEETING %s room='%s' target='%s' session=%llu name='%s' msg='%s' "
	                "creator='%s' start=%llu (wrapper user='%s' session=%llu)",
	                vct_ev_name(m.event_type), pr(m.room_id), pr(m.target_user_id),
	                (unsigned long long)m.session_id, pr(m.display_name), pr(m.message),
	                pr(m.creator_id), (unsigned long long)m.start_time_ms, pr(pw->user_id),
	                (unsigned long long)pw->session_id);
}

char *vct_pb_describe(const uint8_t *p, size_t len, unsigned opcode)
{
	vct_pw_t pw;
	vct_media_t md;

	if (opcode == VCT_WS_TEXT)
		return vct_strf("text message '%.*s'", len > 60 ? 60 : (int)len, (const char *)p);
	if (!vct_pw_decode(p, len, &pw) || !VCT_HAS(&pw, 1))
		return vct_strf("opaque %zu bytes (%02x %02x %02x …)", len, len > 0 ? p[0] : 0,
		                len > 1 ? p[1] : 0, len > 2 ? p[2] : 0);
	if (pw.packet_type == VCT_PT_MEETING)
		return describe_meeting(&pw);
	if (pw.packet_type == VCT_PT_MEDIA && vct_media_decode(pw.data.p, pw.data.len, &md))
		return vct_strf("MEDIA %s from='%s' tag='%s' session=%llu (%zu bytes)",
		                mt_name(md.media_type), pr(pw.user_id), pr(md.data),
		                (unsigned long long)pw.session_id, len);
	return vct_strf("%s user='%s' session=%llu data=%zu bytes", vct_pt_name(pw.packet_type),
	                pr(pw.user_id), (unsigned long long)pw.session_id, pw.data.len);
}

/* --- tokens --------------------------------------------------------------- */

static long long wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec;
}

json_t *vct_room_claims(const char *user, const char *room, const char *display_name)
{
	return json_pack("{s:s,s:s,s:b,s:b,s:s,s:b,s:I,s:s}", "sub", user, "room", room,
	                 "room_join", 1, "is_host", 0, "display_name", display_name, "observer", 0,
	                 "exp", (json_int_t)(wall_now() + 3600), "iss", VC_JWT_ISSUER);
}

char *vct_jwt(const json_t *claims, const char *secret)
{
	char *t = vc_jwt_sign(claims, (const uint8_t *)secret, strlen(secret));

	if (t == NULL)
		fail_msg("vc_jwt_sign failed");
	return t;
}

static char *b64url(const void *p, size_t n)
{
	size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char *out = xrealloc(NULL, cap);

	sodium_bin2base64(out, cap, p, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return out;
}

char *vct_jwt_alg(const json_t *claims, const char *secret, const char *alg)
{
	json_t *h = json_pack("{s:s,s:s}", "typ", "JWT", "alg", alg);
	char *hj = json_dumps(h, JSON_COMPACT), *cj = json_dumps(claims, JSON_COMPACT);
	char *h64 = b64url(hj, strlen(hj)), *c64 = b64url(cj, strlen(cj));
	char *input = vct_strf("%s.%s", h64, c64), *sig, *token;
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	const EVP_MD *md = strcmp(alg, "HS384") == 0   ? EVP_sha384()
	                   : strcmp(alg, "HS512") == 0 ? EVP_sha512()
	                   : strcmp(alg, "HS256") == 0 ? EVP_sha256()
	                                               : NULL;

	if (md != NULL) {
		if (HMAC(md, secret, (int)strlen(secret), (const unsigned char *)input,
		         strlen(input), mac, &maclen) == NULL)
			fail_msg("HMAC failed (OpenSSL)");
		sig = b64url(mac, maclen);
	} else {
		sig = xstrdup(""); /* "none" and the like: no signature */
	}
	token = vct_strf("%s.%s", input, sig);
	json_decref(h);
	free(hj);
	free(cj);
	free(h64);
	free(c64);
	free(input);
	free(sig);
	return token;
}

char *vct_room_token(const char *secret, const char *user, const char *room,
                     const char *display_name)
{
	char *t = vc_room_token(secret, user, room, false, display_name, wall_now(), TOKEN_TTL);

	if (t == NULL)
		fail_msg("vc_room_token refused user '%s' room '%s'", user, room);
	return t;
}

char *vct_observer_token(const char *secret, const char *user, const char *room,
                         const char *display_name)
{
	char *t = vc_observer_token(secret, user, room, display_name, wall_now());

	if (t == NULL)
		fail_msg("vc_observer_token refused user '%s' room '%s'", user, room);
	return t;
}

char *vct_lobby_target(const char *token)
{
	size_t n = strlen(token);
	char *out = xrealloc(NULL, 14 + 3 * n + 1), *o = out;

	o += sprintf(o, "/lobby?token=");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)token[i];
		if (isalnum(c) || strchr("-._~", c) != NULL)
			*o++ = (char)c;
		else
			o += sprintf(o, "%%%02X", c);
	}
	*o = '\0';
	return out;
}

/* --- media sessions ------------------------------------------------------- */

bool vcl_matches(const vct_ws_msg_t *msg, const vcl_match_t *m)
{
	vct_pw_t pw;
	vct_mp_t mp;
	vct_media_t md;

	if (m->bytes != NULL)
		return msg->opcode == VCT_WS_BINARY && msg->len == m->len &&
		       memcmp(msg->data, m->bytes, m->len) == 0;
	if (msg->opcode != VCT_WS_BINARY || !vct_pw_decode(msg->data, msg->len, &pw))
		return m->type == 0 && m->event == 0 && m->target == NULL && m->tag == NULL;
	if (m->type != 0 && pw.packet_type != m->type)
		return false;
	if (m->event != 0 || m->target != NULL) {
		if (pw.packet_type != VCT_PT_MEETING || !vct_mp_decode(pw.data.p, pw.data.len, &mp))
			return false;
		if (m->event != 0 && mp.event_type != m->event)
			return false;
		if (m->target != NULL && !vct_pb_eq(mp.target_user_id, m->target))
			return false;
	}
	if (m->tag != NULL) {
		if (pw.packet_type != VCT_PT_MEDIA ||
		    !vct_media_decode(pw.data.p, pw.data.len, &md))
			return false;
		if (!vct_pb_eq(md.data, m->tag))
			return false;
	}
	return true;
}

static char *describe_range(const vcl_t *s, unsigned from, unsigned to)
{
	vct_buf_t b = { 0 };
	char nul = '\0';

	if (to > s->ws->n)
		to = s->ws->n;
	for (unsigned i = from; i < to && i < from + DESCRIBE_MAX; i++) {
		char *d = vct_pb_describe(s->ws->inbox[i].data, s->ws->inbox[i].len,
		                          s->ws->inbox[i].opcode);
		char *line = vct_strf("\n    #%u %s", i, d);
		buf_put(&b, line, strlen(line));
		free(line);
		free(d);
	}
	if (to > from + DESCRIBE_MAX) {
		char *line = vct_strf("\n    … and %u more", to - from - DESCRIBE_MAX);
		buf_put(&b, line, strlen(line));
		free(line);
	}
	if (from >= to)
		buf_put(&b, " (nothing)", 10);
	buf_put(&b, &nul, 1);
	return (char *)b.p;
}

unsigned vcl_wait(vcl_t *s, const vcl_match_t *m, unsigned ms, const char *what)
{
	uint64_t deadline = vct_now_ms() + ms;
	unsigned i = s->cursor;
	char why[200];

	for (;;) {
		for (; i < s->ws->n; i++) {
			if (vcl_matches(&s->ws->inbox[i], m)) {
				s->cursor = i + 1;
				return i;
			}
		}
		if (s->ws->close_seen || s->ws->eof || left_ms(deadline) == 0) {
			char *d = describe_range(s, s->cursor, s->ws->n);
			/* cmocka cuts long messages: the list goes to stderr first */
			fprintf(stderr, "%s: received since #%u:%s\n", s->user, s->cursor, d);
			fflush(stderr);
			fail_msg("%s (session %llu, room '%s'): awaited %s for %u ms: %s (%u "
			         "messages since, listed above)",
			         s->user, (unsigned long long)s->session_id, s->room, what, ms,
			         end_state(s->ws, why, sizeof(why)), s->ws->n - s->cursor);
		}
		vct_ws_pump(s->ws, (unsigned)left_ms(deadline));
	}
}

unsigned vcl_count(const vcl_t *s, unsigned from, unsigned to, const vcl_match_t *m)
{
	unsigned n = 0;

	for (unsigned i = from; i < to && i < s->ws->n; i++)
		n += vcl_matches(&s->ws->inbox[i], m);
	return n;
}

void vcl_expect_none(const vcl_t *s, unsigned from, unsigned to, const vcl_match_t *m,
                     const char *what)
{
	for (unsigned i = from; i < to && i < s->ws->n; i++) {
		if (vcl_matches(&s->ws->inbox[i], m)) {
			char *d = vct_pb_describe(s->ws->inbox[i].data, s->ws->inbox[i].len,
			                          s->ws->inbox[i].opcode);
			char *all = describe_range(s, from, to);
			fprintf(stderr, "%s: received #%u..#%u:%s\n", s->user, from, to, all);
			fflush(stderr);
			fail_msg("%s: received #%u %s, which must not come (%s; all of #%u..#%u "
			         "listed above)",
			         s->user, i, d, what, from, to);
		}
	}
}

void vcl_decode(const vcl_t *s, unsigned i, vct_pw_t *pw, vct_mp_t *mp)
{
	const vct_ws_msg_t *m = vct_ws_msg(s->ws, i);
	char *d = vct_pb_describe(m->data, m->len, m->opcode);

	if (m->opcode != VCT_WS_BINARY || !vct_pw_decode(m->data, m->len, pw))
		fail_msg("%s: message #%u is not a PacketWrapper: %s", s->user, i, d);
	if (mp != NULL &&
	    (pw->packet_type != VCT_PT_MEETING || !vct_mp_decode(pw->data.p, pw->data.len, mp)))
		fail_msg("%s: message #%u is not a MEETING packet: %s", s->user, i, d);
	free(d);
}

void vcl_expect_member_fields(const vcl_t *s, unsigned i, uint64_t ev, const char *user,
                              uint64_t session_id, const char *name)
{
	const vct_ws_msg_t *msg = vct_ws_msg(s->ws, i);
	char *text = vct_strf("%s has %s the meeting", user,
	                      ev == VCT_EV_PARTICIPANT_JOINED ? "joined" : "left");
	vct_pw_t pw;
	vct_mp_t mp;

	vcl_decode(s, i, &pw, &mp);
	if (!vct_pb_eq(pw.user_id, VCT_SYSTEM_USER) || mp.event_type != ev ||
	    !vct_pb_eq(mp.room_id, s->room) || !vct_pb_eq(mp.target_user_id, user) ||
	    mp.session_id != session_id || !vct_pb_eq(mp.display_name, name) ||
	    !vct_pb_eq(mp.message, text)) {
		fprintf(stderr, "%s: message #%u is %s\n", s->user, i,
		        vct_pb_describe(msg->data, msg->len, msg->opcode));
		fflush(stderr);
		fail_msg("%s: message #%u (above) is not %s of '%s' in room '%s' from the system "
		         "user with session_id %llu, display_name '%s', message '%s'",
		         s->user, i, vct_ev_name(ev), user, s->room, (unsigned long long)session_id,
		         name, text);
	}
	free(text);
}

void vcl_expect_member_event(const vcl_t *s, unsigned i, uint64_t ev, const vcl_t *who)
{
	vcl_expect_member_fields(s, i, ev, who->user, who->session_id, who->name);
}

void vcl_dump(const vcl_t *s)
{
	char *d = describe_range(s, 0, s->ws->n);

	fprintf(stderr, "--- inbox of %s (cursor %u):%s\n", s->user, s->cursor, d);
	free(d);
}

vcl_t *vcl_open_target(int port, const char *target, const char *user, const char *room,
                       const char *name)
{
	vcl_t *s = xrealloc(NULL, sizeof(*s));
	const vct_ws_msg_t *m;
	vct_pw_t pw = { 0 };
	vct_mp_t mp = { 0 };

	memset(s, 0, sizeof(*s));
	s->ws = vct_ws_open(port, target, NULL, user);
	s->user = xstrdup(user);
	s->room = xstrdup(room);
	s->name = xstrdup(name);
	s->next = open_sessions;
	open_sessions = s;
	m = vct_ws_wait_msg(s->ws, 0, VCL_MS, "SESSION_ASSIGNED");
	if (m->opcode != VCT_WS_BINARY || !vct_pw_decode(m->data, m->len, &pw) ||
	    pw.packet_type != VCT_PT_SESSION_ASSIGNED || pw.session_id == 0)
		fail_msg("%s: the first message is %s; expected SESSION_ASSIGNED with a session id",
		         user, vct_pb_describe(m->data, m->len, m->opcode));
	s->session_id = pw.session_id;
	m = vct_ws_wait_msg(s->ws, 1, VCL_MS, "MEETING_STARTED");
	if (m->opcode != VCT_WS_BINARY || !vct_pw_decode(m->data, m->len, &pw) ||
	    pw.packet_type != VCT_PT_MEETING || !vct_mp_decode(pw.data.p, pw.data.len, &mp) ||
	    mp.event_type != VCT_EV_MEETING_STARTED || !vct_pb_eq(mp.room_id, room))
		fail_msg("%s: the second message is %s; expected MEETING_STARTED of room '%s'",
		         user, vct_pb_describe(m->data, m->len, m->opcode), room);
	s->start_time_ms = mp.start_time_ms;
	s->cursor = 2;
	return s;
}

vcl_t *vcl_open(int port, const char *token, const char *user, const char *room, const char *name)
{
	char *target = vct_lobby_target(token);
	vcl_t *s = vcl_open_target(port, target, user, room, name);

	free(target);
	return s;
}

vcl_t *vcl_join(int port, const char *secret, const char *user, const char *room, const char *name)
{
	char *t = vct_room_token(secret, user, room, name);
	vcl_t *s = vcl_open(port, t, user, room, name);

	free(t);
	return s;
}

vcl_t *vcl_observe(int port, const char *secret, const char *user, const char *room,
                   const char *name)
{
	char *t = vct_observer_token(secret, user, room, name);
	vcl_t *s = vcl_open(port, t, user, room, name);

	free(t);
	return s;
}

static void vcl_destroy(vcl_t *s)
{
	for (vcl_t **pp = &open_sessions; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
	vct_ws_free(s->ws);
	free(s->user);
	free(s->room);
	free(s->name);
	free(s);
}

void vcl_free(vcl_t *s)
{
	if (s != NULL)
		vcl_destroy(s);
}

void vcl_leave(vcl_t *s)
{
	char *what = vct_strf("the answer to %s's close 1000", s->user);

	if (!vct_ws_send_close(s->ws, 1000, "bye", 3))
		fail_msg("%s: cannot send a close frame: the connection is gone", s->user);
	vct_ws_expect_close(s->ws, 1000, NULL, VCL_MS, what);
	free(what);
	vcl_destroy(s);
}

void vcl_send(vcl_t *s, const void *p, size_t len)
{
	if (!vct_ws_send_binary(s->ws, p, len))
		fail_msg("%s: cannot send a %zu-byte packet: the connection is gone", s->user, len);
}

void vcl_send_media(vcl_t *s, uint64_t media_type, const char *tag, uint64_t session_id)
{
	vct_buf_t b = { 0 };

	vct_media_packet(&b, media_type, s->user, tag, session_id);
	vcl_send(s, b.p, b.len);
	vct_buf_free(&b);
}

void vcl_activate(vcl_t *s)
{
	char *tag = vct_strf("hello-%s", s->user);

	vcl_send_media(s, VCT_MT_HEARTBEAT, tag, 0);
	free(tag);
}

int vcl_teardown(void **state)
{
	vct_ws_close_all();
	return vct_teardown(state);
}
