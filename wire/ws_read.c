/*
 * ws_read.c — the WebSocket frame reader (RFC 6455 §5, client to server),
 * on wslay's frame API, without sockets: bytes come from a sink's recv and
 * messages and control frames go to its callbacks. wire/ws.c gives it a
 * socket; t/fuzz/fuzz_ws.c gives it fuzzer input.
 *
 * wslay (wslay_frame_recv) splits the stream into frames, unmasks payloads
 * and refuses control frames over 125 bytes or fragmented and non-minimal
 * length encodings. This file adds the rest of §5: masking required, no RSV
 * bits (no extension is ever negotiated), no reserved opcode, continuations
 * only inside a fragmented message and data frames only outside one, close
 * codes and reasons as §7.4 allows, UTF-8 in text messages (checked as the
 * bytes arrive, so a bad byte fails at once), and the message size limit
 * checked from each frame's header before its payload is read.
 *
 * Memory: a wslay frame context holds a 4 KiB input buffer. A reader
 * borrows one from its thread's pool when bytes arrive and gives it back
 * as soon as it stands between two frames with nothing buffered, which it
 * knows by counting: `given` bytes went into wslay, `used` bytes came back
 * as whole frames (header + payload). So an idle connection holds no
 * context, and a context handed to another connection is always empty and
 * expecting a frame header.
 */
#include "wire/ws_int.h"

#include <stdlib.h>
#include <string.h>

#include "runtime/log.h"

#define MSG_EAGER (256 * 1024) /* bytes reserved from a frame header at most */

/* --- the pool of wslay contexts -------------------------------------------- */

/* wslay calls this for bytes; the pool knows whose they are. */
static ssize_t pool_recv(uint8_t *buf, size_t len, int flags, void *user_data)
{
	ws_pool_t *pool = user_data;
	const ws_rx_sink_t *sink = pool->sink;
	ssize_t n = sink->recv(sink->arg, buf, len);

	return n > 0 ? n : -1; /* wslay: WSLAY_ERR_WANT_READ */
}

static ssize_t never_send(const uint8_t *data, size_t len, int flags, void *user_data)
{
	return -1; /* frames out are built by wire/ws.c, never through wslay */
}

static int never_mask(uint8_t *buf, size_t len, void *user_data)
{
	return -1;
}

static const struct wslay_frame_callbacks pool_callbacks = {
	.send_callback = never_send,
	.recv_callback = pool_recv,
	.genmask_callback = never_mask,
};

static wslay_frame_context_ptr ctx_get(ws_pool_t *pool)
{
	wslay_frame_context_ptr ctx;

	if (pool->nfree > 0)
		return pool->free[--pool->nfree];
	if (wslay_frame_context_init(&ctx, &pool_callbacks, pool) != 0)
		vc_fatal("out of memory (wslay frame context)");
	return ctx;
}

static void ctx_put(ws_pool_t *pool, wslay_frame_context_ptr ctx)
{
	if (pool->nfree < VC_ARRAY_LEN(pool->free))
		pool->free[pool->nfree++] = ctx;
	else
		wslay_frame_context_free(ctx);
}

void ws_pool_fini(ws_pool_t *pool)
{
	while (pool->nfree > 0)
		wslay_frame_context_free(pool->free[--pool->nfree]);
}

void ws_rx_release(ws_rx_t *rx, ws_pool_t *pool)
{
	if (rx->fctx != NULL) {
		/* Mid-frame, it holds state no other reader may inherit. */
		if (!rx->in_frame && rx->given == rx->used)
			ctx_put(pool, rx->fctx);
		else
			wslay_frame_context_free(rx->fctx);
		rx->fctx = NULL;
	}
	vc_shared_unref(rx->msg);
	rx->msg = NULL;
	free(rx->ctl);
	rx->ctl = NULL;
}

/* --- UTF-8, as the bytes come ----------------------------------------------- */

/* Feed bytes of a text message; false at the first byte that cannot be
 * valid UTF-8 (RFC 3629: no overlongs, no surrogates, nothing past
 * U+10FFFF). */
static bool utf8_feed(ws_rx_t *rx, const uint8_t *p, size_t n)
{
	uint8_t need = rx->u_need, lo = rx->u_lo, hi = rx->u_hi;

	for (size_t i = 0; i < n; i++) {
		uint8_t b = p[i];
		if (need > 0) {
			if (b < lo || b > hi)
				return false;
			need--;
			lo = 0x80;
			hi = 0xbf;
			continue;
		}
		if (b < 0x80)
			continue;
		lo = 0x80;
		hi = 0xbf;
		if (b >= 0xc2 && b <= 0xdf) {
			need = 1;
		} else if (b >= 0xe0 && b <= 0xef) {
			need = 2;
			if (b == 0xe0)
				lo = 0xa0;
			else if (b == 0xed)
				hi = 0x9f;
		} else if (b >= 0xf0 && b <= 0xf4) {
			need = 3;
			if (b == 0xf0)
				lo = 0x90;
			else if (b == 0xf4)
				hi = 0x8f;
		} else {
			return false;
		}
	}
	rx->u_need = need;
	rx->u_lo = lo;
	rx->u_hi = hi;
	return true;
}

static bool utf8_whole(const uint8_t *p, size_t n)
{
	ws_rx_t probe = { 0 };

	return utf8_feed(&probe, p, n) && probe.u_need == 0;
}

/* --- frames ---------------------------------------------------------------- */

/* Bytes of a masked frame's header, from its payload length. */
static uint64_t header_len(uint64_t payload)
{
	return 2 + (payload < 126 ? 0 : payload < 65536 ? 2 : 8) + 4;
}

/* RFC 6455 §7.4: codes a peer may send. */
static bool close_code_ok(unsigned code)
{
	return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
	       (code >= 3000 && code <= 4999);
}

/* Room for `extra` more bytes of the binary message. Capacity doubles, so
 * a message in many fragments is copied O(1) times per byte. */
static void msg_reserve(ws_rx_t *rx, size_t extra)
{
	size_t need = rx->msg_len + extra, cap = rx->msg != NULL ? rx->msg->len : 0;
	vc_shared_t *m;

	if (need <= cap)
		return;
	if (need < 2 * cap)
		need = 2 * cap;
	m = vc_shared_new(need);
	if (rx->msg != NULL) {
		memcpy(m->data, rx->msg->data, rx->msg_len);
		vc_shared_unref(rx->msg);
	}
	rx->msg = m;
}

/* Is the message being read kept (binary, or text the owner wants)? */
static bool keeps(const ws_rx_t *rx)
{
	return rx->m_opcode == WS_OP_BINARY ||
	       (rx->m_opcode == WS_OP_TEXT && rx->keep_text && !rx->m_oversize);
}

/* A new frame's header (in iocb): 0 or a close code. A header announcing a
 * large payload reserves only MSG_EAGER bytes: memory follows the bytes that
 * really arrive, not what a client claims. */
static int frame_start(ws_rx_t *rx, const struct wslay_frame_iocb *f, size_t max_message)
{
	if (!f->mask)
		return VC_WS_PROTOCOL; /* a client must mask */
	if (f->rsv != 0)
		return VC_WS_PROTOCOL; /* no extension was negotiated */
	switch (f->opcode) {
	case WS_OP_CONT:
		if (rx->m_opcode == 0)
			return VC_WS_PROTOCOL;
		break;
	case WS_OP_TEXT:
	case WS_OP_BINARY:
		if (rx->m_opcode != 0)
			return VC_WS_PROTOCOL; /* a new message inside a fragmented one */
		rx->m_opcode = f->opcode;
		rx->msg_len = 0;
		rx->u_need = 0;
		rx->m_oversize = false;
		break;
	case WS_OP_CLOSE:
	case WS_OP_PING:
	case WS_OP_PONG: /* wslay refused them over 125 bytes or fragmented */
		if (rx->ctl == NULL)
			rx->ctl = vc_malloc(125);
		rx->ctl_len = 0;
		break;
	default: return VC_WS_PROTOCOL; /* reserved opcode */
	}
	if (f->opcode <= WS_OP_BINARY && f->payload_length > max_message - rx->msg_len)
		return VC_WS_TOO_BIG; /* refused from the header (wslay shows it with a first byte)
		                       */
	/* Text over the owner's limit is read on, kept no more, and told
	 * (NULL) at its end: the owner answers it, nothing is buffered. */
	if (f->opcode <= WS_OP_BINARY && rx->m_opcode == WS_OP_TEXT && keeps(rx) &&
	    rx->keep_max != 0 && f->payload_length > rx->keep_max - rx->msg_len) {
		vc_shared_unref(rx->msg);
		rx->msg = NULL;
		rx->m_oversize = true;
	}
	if (keeps(rx) && f->opcode <= WS_OP_BINARY)
		msg_reserve(rx,
		            f->payload_length < MSG_EAGER ? (size_t)f->payload_length : MSG_EAGER);
	rx->in_frame = true;
	rx->f_opcode = f->opcode;
	rx->f_fin = f->fin;
	rx->f_left = f->payload_length;
	rx->used += header_len(f->payload_length);
	return 0;
}

/* A whole control frame: validate a close, then hand it over. */
static int frame_control(ws_rx_t *rx, const ws_rx_sink_t *sink)
{
	const uint8_t *p = rx->ctl;
	size_t n = rx->ctl_len;

	if (rx->f_opcode == WS_OP_CLOSE) {
		if (n == 1)
			return VC_WS_PROTOCOL;
		if (n >= 2 && !close_code_ok((unsigned)p[0] << 8 | p[1]))
			return VC_WS_PROTOCOL;
		if (n > 2 && !utf8_whole(p + 2, n - 2))
			return VC_WS_BAD_DATA;
	}
	return sink->control(sink->arg, rx->f_opcode, p, n) ? 0 : WS_RX_STOP;
}

/* The last frame of a message is in. */
static void message_end(ws_rx_t *rx, const ws_rx_sink_t *sink)
{
	uint8_t op = rx->m_opcode;

	if (keeps(rx)) {
		vc_shared_t *m = rx->msg != NULL ? rx->msg : vc_shared_new(0);
		rx->msg = NULL;
		vc_shared_trim(m, rx->msg_len);
		rx->m_opcode = 0;
		sink->message(sink->arg, m, op == WS_OP_TEXT);
	} else if (rx->m_oversize) {
		rx->m_opcode = 0;
		rx->m_oversize = false;
		sink->message(sink->arg, NULL, true);
	}
	rx->m_opcode = 0; /* text nobody wants is checked and dropped */
}

/* A piece of payload (or the end of an empty frame): 0, or a close code,
 * or WS_RX_STOP. */
static int frame_piece(ws_rx_t *rx, const ws_rx_sink_t *sink, const uint8_t *p, size_t n)
{
	rx->used += n;
	rx->f_left -= n;
	switch (rx->f_opcode) {
	case WS_OP_CLOSE:
	case WS_OP_PING:
	case WS_OP_PONG:
		memcpy(rx->ctl + rx->ctl_len, p, n); /* at most 125 in all (wslay) */
		rx->ctl_len = (uint8_t)(rx->ctl_len + n);
		break;
	default:
		if (rx->m_opcode == WS_OP_TEXT && !utf8_feed(rx, p, n))
			return VC_WS_BAD_DATA;
		if (keeps(rx) && n > 0) {
			msg_reserve(rx, n);
			memcpy(rx->msg->data + rx->msg_len, p, n);
		}
		rx->msg_len += n;
		break;
	}
	if (rx->f_left > 0)
		return 0;
	rx->in_frame = false;
	if (rx->f_opcode >= WS_OP_CLOSE)
		return frame_control(rx, sink);
	if (!rx->f_fin)
		return 0;
	if (rx->m_opcode == WS_OP_TEXT && rx->u_need != 0)
		return VC_WS_BAD_DATA; /* the message ends inside a character */
	message_end(rx, sink);
	return 0;
}

/* Counting wrapper: what went into wslay. */
static ssize_t counted_recv(void *arg, uint8_t *buf, size_t len);

typedef struct counted {
	ws_rx_t *rx;
	const ws_rx_sink_t *inner;
	unsigned reads;
	bool ended; /* the inner source said EOF or error */
} counted_t;

static ssize_t counted_recv(void *arg, uint8_t *buf, size_t len)
{
	counted_t *c = arg;
	ssize_t n = c->inner->recv(c->inner->arg, buf, len);

	if (n > 0) {
		c->rx->given += (uint64_t)n;
		c->reads++;
	} else if (n < 0) {
		c->ended = true;
	}
	return n;
}

int ws_rx_run(ws_rx_t *rx, ws_pool_t *pool, const ws_rx_sink_t *sink, size_t max_message,
              unsigned budget)
{
	counted_t counted = { .rx = rx, .inner = sink };
	ws_rx_sink_t wrapped = { .recv = counted_recv, .arg = &counted };
	int rc = WS_RX_AGAIN;

	pool->sink = &wrapped;
	for (;;) {
		struct wslay_frame_iocb f;
		ssize_t r;

		if (counted.reads >= budget) {
			rc = rx->given > rx->used || rx->in_frame ? WS_RX_MORE : WS_RX_AGAIN;
			break;
		}
		if (rx->fctx == NULL)
			rx->fctx = ctx_get(pool);
		memset(&f, 0, sizeof(f));
		r = wslay_frame_recv(rx->fctx, &f);
		if (r == WSLAY_ERR_WANT_READ) {
			rc = counted.ended ? WS_RX_EOF : WS_RX_AGAIN;
			break;
		}
		if (r < 0) { /* WSLAY_ERR_PROTO: a bad length or control frame */
			rc = VC_WS_PROTOCOL;
			break;
		}
		if (!rx->in_frame) {
			rc = frame_start(rx, &f, max_message);
			if (rc != 0)
				break;
		}
		rc = frame_piece(rx, sink, f.data, f.data_length);
		if (rc != 0)
			break;
		/* Between two frames with nothing buffered: give the context back. */
		if (!rx->in_frame && rx->given == rx->used) {
			ctx_put(pool, rx->fctx);
			rx->fctx = NULL;
		}
	}
	pool->sink = NULL;
	if (rc == WS_RX_AGAIN && !rx->in_frame && rx->given == rx->used && rx->fctx != NULL) {
		ctx_put(pool, rx->fctx);
		rx->fctx = NULL;
	}
	return rc;
}
