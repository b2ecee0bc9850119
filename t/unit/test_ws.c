/*
 * test_ws.c — the WebSocket frame reader (wire/ws_read.c) on crafted client
 * bytes: what it delivers, and the close code of each refusal RFC 6455
 * describes (the Autobahn cases of sections 1-7 and 9 that a reader alone
 * decides). The socket side is tested against the real server in
 * t/integration.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "wire/ws_int.h"

typedef struct feed {
	const uint8_t *p;
	size_t left, piece; /* bytes handed out per recv (0: all) */
	vc_shared_t *msgs[8];
	bool texts[8];
	unsigned nmsgs;
	unsigned controls[8];
	unsigned ncontrols;
	uint8_t close_payload[125];
	size_t close_len;
} feed_t;

static ssize_t feed_recv(void *arg, uint8_t *buf, size_t len)
{
	feed_t *f = arg;
	size_t n = f->left < len ? f->left : len;

	if (f->left == 0)
		return 0; /* nothing more for now (not an EOF) */
	if (f->piece != 0 && n > f->piece)
		n = f->piece;
	memcpy(buf, f->p, n);
	f->p += n;
	f->left -= n;
	return (ssize_t)n;
}

static void feed_message(void *arg, vc_shared_t *msg, bool text)
{
	feed_t *f = arg;

	assert_true(f->nmsgs < 8);
	f->texts[f->nmsgs] = text;
	f->msgs[f->nmsgs++] = msg;
}

static bool feed_control(void *arg, unsigned opcode, const uint8_t *p, size_t len)
{
	feed_t *f = arg;

	f->controls[f->ncontrols++] = opcode;
	if (opcode == WS_OP_CLOSE) {
		memcpy(f->close_payload, p, len);
		f->close_len = len;
		return false;
	}
	return true;
}

/* A masked client frame. */
static size_t frame(uint8_t *out, unsigned first, const void *payload, size_t n)
{
	static const uint8_t mask[4] = { 0x37, 0xfa, 0x21, 0x3d };
	size_t h = 0;

	out[h++] = (uint8_t)first;
	if (n < 126) {
		out[h++] = (uint8_t)(0x80 | n);
	} else if (n < 65536) {
		out[h++] = 0x80 | 126;
		out[h++] = (uint8_t)(n >> 8);
		out[h++] = (uint8_t)n;
	} else {
		out[h++] = 0x80 | 127;
		for (int i = 7; i >= 0; i--)
			out[h++] = (uint8_t)((uint64_t)n >> (8 * i));
	}
	memcpy(out + h, mask, 4);
	h += 4;
	for (size_t i = 0; i < n; i++)
		out[h + i] = ((const uint8_t *)payload)[i] ^ mask[i % 4];
	return h + n;
}

#define FIN 0x80

static ws_pool_t pool;

/* Run the reader over buf until it has everything; returns its result. */
static int run(feed_t *f, const uint8_t *buf, size_t len, size_t max)
{
	ws_rx_t rx = { 0 };
	const ws_rx_sink_t sink = { feed_recv, feed_message, feed_control, f };
	int rc;

	f->p = buf;
	f->left = len;
	do
		rc = ws_rx_run(&rx, &pool, &sink, max, 4);
	while (rc == WS_RX_MORE || (rc == WS_RX_AGAIN && f->left > 0));
	ws_rx_release(&rx, &pool);
	return rc;
}

static void free_msgs(feed_t *f)
{
	for (unsigned i = 0; i < f->nmsgs; i++)
		vc_shared_unref(f->msgs[i]);
	f->nmsgs = 0;
}

static int code_of(const uint8_t *buf, size_t len, size_t max)
{
	feed_t f = { 0 };
	int rc = run(&f, buf, len, max);

	free_msgs(&f);
	return rc;
}

static void test_binary_messages(void **state)
{
	uint8_t buf[200000], big[70000];
	size_t n = 0;
	feed_t f = { .piece = 3 }; /* frames straddle every read */

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)i;
	n += frame(buf + n, FIN | WS_OP_BINARY, "hello", 5);
	n += frame(buf + n, FIN | WS_OP_BINARY, "", 0);
	n += frame(buf + n, FIN | WS_OP_BINARY, big, 300);
	n += frame(buf + n, FIN | WS_OP_BINARY, big, sizeof(big));
	assert_int_equal(run(&f, buf, n, 4000000), WS_RX_AGAIN);
	assert_int_equal(f.nmsgs, 4);
	assert_int_equal(f.msgs[0]->len, 5);
	assert_memory_equal(f.msgs[0]->data, "hello", 5);
	assert_int_equal(f.msgs[1]->len, 0);
	assert_int_equal(f.msgs[2]->len, 300);
	assert_memory_equal(f.msgs[2]->data, big, 300);
	assert_int_equal(f.msgs[3]->len, sizeof(big));
	assert_memory_equal(f.msgs[3]->data, big, sizeof(big));
	free_msgs(&f);
}

static void test_fragments_and_control_between(void **state)
{
	uint8_t buf[1024];
	size_t n = 0;
	feed_t f = { .piece = 1 };

	n += frame(buf + n, WS_OP_BINARY, "frag", 4);
	n += frame(buf + n, FIN | WS_OP_PING, "p!", 2); /* allowed inside a message */
	n += frame(buf + n, WS_OP_CONT, "men", 3);
	n += frame(buf + n, FIN | WS_OP_CONT, "ted", 3);
	n += frame(buf + n, FIN | WS_OP_TEXT, "ignored \xc3\xa9", 10);
	assert_int_equal(run(&f, buf, n, 1024), WS_RX_AGAIN);
	assert_int_equal(f.nmsgs, 1); /* text is checked, not delivered */
	assert_int_equal(f.msgs[0]->len, 10);
	assert_memory_equal(f.msgs[0]->data, "fragmented", 10);
	assert_int_equal(f.ncontrols, 1);
	assert_int_equal(f.controls[0], WS_OP_PING);
	free_msgs(&f);
}

static void test_close_frames(void **state)
{
	uint8_t buf[256];
	feed_t f = { 0 };
	size_t n = frame(buf, FIN | WS_OP_CLOSE, "\x03\xe8ok", 4);

	assert_int_equal(run(&f, buf, n, 1024), WS_RX_STOP);
	assert_int_equal(f.close_len, 4);
	assert_int_equal(code_of(buf, frame(buf, FIN | WS_OP_CLOSE, "", 0), 1024), WS_RX_STOP);
	assert_int_equal(code_of(buf, frame(buf, FIN | WS_OP_CLOSE, "\x0b\xb8", 2), 1024),
	                 WS_RX_STOP); /* 3000 */
	/* one byte, reserved codes, out of range */
	assert_int_equal(code_of(buf, frame(buf, FIN | WS_OP_CLOSE, "\x03", 1), 1024), 1002);
	assert_int_equal(code_of(buf, frame(buf, FIN | WS_OP_CLOSE, "\x03\xed", 2), 1024), 1002);
	assert_int_equal(code_of(buf, frame(buf, FIN | WS_OP_CLOSE, "\x03\xee", 2), 1024), 1002);
	assert_int_equal(code_of(buf, frame(buf, FIN | WS_OP_CLOSE, "\x03\xe7", 2), 1024), 1002);
	assert_int_equal(code_of(buf, frame(buf, FIN | WS_OP_CLOSE, "\x13\x88", 2), 1024), 1002);
	/* a reason that is not UTF-8 */
	assert_int_equal(code_of(buf, frame(buf, FIN | WS_OP_CLOSE, "\x03\xe8\xc3\x28", 4), 1024),
	                 1007);
}

static void test_protocol_errors(void **state)
{
	uint8_t buf[512], p[200];
	size_t n;

	memset(p, 'a', sizeof(p));
	/* unmasked */
	buf[0] = FIN | WS_OP_BINARY;
	buf[1] = 1;
	buf[2] = 'x';
	assert_int_equal(code_of(buf, 3, 1024), 1002);
	/* RSV1, RSV2, RSV3 */
	for (unsigned rsv = 1; rsv <= 4; rsv <<= 1)
		assert_int_equal(code_of(buf, frame(buf, FIN | (rsv << 4) | WS_OP_BINARY, "x", 1),
		                         1024),
		                 1002);
	/* reserved opcodes */
	for (unsigned op = 3; op <= 15; op++) {
		if (op >= WS_OP_CLOSE && op <= WS_OP_PONG)
			continue;
		assert_int_equal(code_of(buf, frame(buf, FIN | op, "x", 1), 1024), 1002);
	}
	/* a control frame over 125 bytes, or fragmented */
	assert_int_equal(code_of(buf, frame(buf, FIN | WS_OP_PING, p, 126), 1024), 1002);
	assert_int_equal(code_of(buf, frame(buf, WS_OP_PING, "x", 1), 1024), 1002);
	/* a continuation with nothing to continue */
	assert_int_equal(code_of(buf, frame(buf, FIN | WS_OP_CONT, "x", 1), 1024), 1002);
	/* a new message inside a fragmented one */
	n = frame(buf, WS_OP_BINARY, "x", 1);
	n += frame(buf + n, FIN | WS_OP_TEXT, "y", 1);
	assert_int_equal(code_of(buf, n, 1024), 1002);
	/* a length in 16 bits that fits in 7 (wslay: not minimal) */
	buf[0] = FIN | WS_OP_BINARY;
	buf[1] = 0x80 | 126;
	buf[2] = 0;
	buf[3] = 5;
	memset(buf + 4, 0, 4 + 5);
	assert_int_equal(code_of(buf, 13, 1024), 1002);
}

static void test_utf8(void **state)
{
	uint8_t buf[256];
	size_t n;

	assert_int_equal(code_of(buf, frame(buf, FIN | WS_OP_TEXT, "\xc3\x28", 2), 1024), 1007);
	assert_int_equal(code_of(buf, frame(buf, FIN | WS_OP_TEXT, "\xed\xa0\x80", 3), 1024),
	                 1007); /* a surrogate */
	assert_int_equal(code_of(buf, frame(buf, FIN | WS_OP_TEXT, "\xf4\x90\x80\x80", 4), 1024),
	                 1007); /* past U+10FFFF */
	assert_int_equal(code_of(buf, frame(buf, FIN | WS_OP_TEXT, "\xc0\xaf", 2), 1024),
	                 1007); /* overlong */
	/* a character split over two fragments is fine; a bad one is not */
	n = frame(buf, WS_OP_TEXT, "\xe2\x82", 2);
	n += frame(buf + n, FIN | WS_OP_CONT, "\xac", 1);
	assert_int_equal(code_of(buf, n, 1024), WS_RX_AGAIN);
	n = frame(buf, WS_OP_TEXT, "\xe2\x82", 2);
	n += frame(buf + n, FIN | WS_OP_CONT, "\x28", 1);
	assert_int_equal(code_of(buf, n, 1024), 1007);
	/* a message that ends inside a character */
	assert_int_equal(code_of(buf, frame(buf, FIN | WS_OP_TEXT, "\xe2\x82", 2), 1024), 1007);
}

static void test_too_big(void **state)
{
	static uint8_t buf[8192], p[4000];
	size_t n;

	assert_int_equal(code_of(buf, frame(buf, FIN | WS_OP_BINARY, p, 1025), 1024), 1009);
	assert_int_equal(code_of(buf, frame(buf, FIN | WS_OP_BINARY, p, 1024), 1024), WS_RX_AGAIN);
	/* the fragments count together */
	n = frame(buf, WS_OP_BINARY, p, 600);
	n += frame(buf + n, FIN | WS_OP_CONT, p, 600);
	assert_int_equal(code_of(buf, n, 1024), 1009);
	/* refused from the header (wslay shows it with the first payload byte):
	 * a 2^62-byte frame */
	buf[0] = FIN | WS_OP_BINARY;
	buf[1] = 0x80 | 127;
	buf[2] = 0x40;
	memset(buf + 3, 0, 7 + 4 + 1);
	assert_int_equal(code_of(buf, 15, 4000000), 1009);
}

/* An owner that wants text gets it whole, fragments joined, marked text. */
static void test_text_kept(void **state)
{
	uint8_t buf[256];
	size_t n = 0;
	feed_t f = { .piece = 2 };
	ws_rx_t rx = { .keep_text = true };
	const ws_rx_sink_t sink = { feed_recv, feed_message, feed_control, &f };
	int rc;

	n += frame(buf + n, WS_OP_TEXT, "{\"type\":", 8);
	n += frame(buf + n, FIN | WS_OP_CONT, "\"ping\"}", 7);
	n += frame(buf + n, FIN | WS_OP_BINARY, "b", 1);
	f.p = buf;
	f.left = n;
	do
		rc = ws_rx_run(&rx, &pool, &sink, 1024, 4);
	while (rc == WS_RX_MORE || (rc == WS_RX_AGAIN && f.left > 0));
	assert_int_equal(rc, WS_RX_AGAIN);
	assert_int_equal(f.nmsgs, 2);
	assert_true(f.texts[0]);
	assert_false(f.texts[1]);
	assert_int_equal(f.msgs[0]->len, 15);
	assert_memory_equal(f.msgs[0]->data, "{\"type\":\"ping\"}", 15);
	free_msgs(&f);
	ws_rx_release(&rx, &pool);
}

/* Text over keep_max is read on without being kept and told as NULL at its
 * end, also when only a later fragment crosses the limit; the messages
 * around it are whole, and a binary message is not limited by it. */
static void test_text_over_keep_max(void **state)
{
	static uint8_t buf[4096];
	static char big[600];
	size_t n = 0;
	feed_t f = { .piece = 7 };
	ws_rx_t rx = { .keep_text = true, .keep_max = 100 };
	const ws_rx_sink_t sink = { feed_recv, feed_message, feed_control, &f };
	int rc;

	memset(big, 'x', sizeof(big));
	n += frame(buf + n, FIN | WS_OP_TEXT, big, 100); /* at the limit: kept */
	n += frame(buf + n, FIN | WS_OP_TEXT, big, 500); /* over: dropped */
	n += frame(buf + n, WS_OP_TEXT, big, 60);        /* 60 + 60: over at the second */
	n += frame(buf + n, FIN | WS_OP_CONT, big, 60);
	n += frame(buf + n, FIN | WS_OP_BINARY, big, 600); /* binary: not limited */
	n += frame(buf + n, FIN | WS_OP_TEXT, "ok", 2);
	f.p = buf;
	f.left = n;
	do
		rc = ws_rx_run(&rx, &pool, &sink, 1024, 4);
	while (rc == WS_RX_MORE || (rc == WS_RX_AGAIN && f.left > 0));
	assert_int_equal(rc, WS_RX_AGAIN);
	assert_int_equal(f.nmsgs, 5);
	assert_non_null(f.msgs[0]);
	assert_int_equal(f.msgs[0]->len, 100);
	assert_null(f.msgs[1]);
	assert_true(f.texts[1]);
	assert_null(f.msgs[2]);
	assert_non_null(f.msgs[3]);
	assert_false(f.texts[3]);
	assert_int_equal(f.msgs[3]->len, 600);
	assert_non_null(f.msgs[4]);
	assert_memory_equal(f.msgs[4]->data, "ok", 2);
	assert_null(rx.msg);
	free_msgs(&f);
	ws_rx_release(&rx, &pool);
}

/* An idle reader holds no wslay context; one mid-frame does. */
static void test_context_pooled(void **state)
{
	uint8_t buf[64];
	size_t n = frame(buf, FIN | WS_OP_BINARY, "hello", 5);
	feed_t f = { .p = buf, .left = n - 2 };
	ws_rx_t rx = { 0 };
	const ws_rx_sink_t sink = { feed_recv, feed_message, feed_control, &f };

	assert_int_equal(ws_rx_run(&rx, &pool, &sink, 1024, 100), WS_RX_AGAIN);
	assert_non_null(rx.fctx); /* the frame is not all in */
	f.left = 2;
	assert_int_equal(ws_rx_run(&rx, &pool, &sink, 1024, 100), WS_RX_AGAIN);
	assert_null(rx.fctx);
	assert_int_equal(f.nmsgs, 1);
	free_msgs(&f);
	ws_rx_release(&rx, &pool);
}

static int teardown(void **state)
{
	ws_pool_fini(&pool);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_binary_messages),
		cmocka_unit_test(test_fragments_and_control_between),
		cmocka_unit_test(test_close_frames),
		cmocka_unit_test(test_protocol_errors),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_too_big),
		cmocka_unit_test(test_context_pooled),
		cmocka_unit_test(test_text_kept),
		cmocka_unit_test(test_text_over_keep_max),
	};
	return cmocka_run_group_tests(tests, NULL, teardown);
}
