/*
 * test_http.c — the HTTP engine's limits and protocol behaviour, against a
 * real vcd with small limits: 400/431/414/413/408 and close, idle and
 * max_connections handling, keep-alive, pipelining in order (with /readyz
 * answered asynchronously through PostgreSQL), 404/405, HEAD, 100-continue
 * and CORS (mirrored, and an allow list).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "t/lib/vctest.h"

#define LIMITS                                                                   \
	"max_body = 1k\nmax_header_size = 2k\nmax_uri = 512\nrequest_timeout = 1s\n" \
	"idle_timeout = 1s\nmax_connections = 4\n"
#define WAIT_MS 3000

static vct_vcd_t *vcd;
static char *db_url;

/* --- helpers -------------------------------------------------------------- */

static vct_conn_t *conn(void)
{
	return vct_conn_open(vcd->port);
}

/* Read one response or fail. */
static void read_resp(vct_conn_t *c, vct_resp_t *r, bool head)
{
	if (!vct_http_read(c, r, head, WAIT_MS))
		fail_msg("no complete response within %d ms (%s)", WAIT_MS,
			 c->eof ? "connection closed" : "timeout");
}

/* Send a request on a keep-alive connection and read its response. */
static int request(vct_conn_t *c, const char *method, const char *path, const char *headers,
		   vct_resp_t *r)
{
	assert_true(vct_conn_sendf(c, "%s %s HTTP/1.1\r\nHost: t\r\n%s\r\n", method, path,
				   headers ? headers : ""));
	read_resp(c, r, strcmp(method, "HEAD") == 0);
	return r->status;
}

/* Send raw bytes on a fresh connection: expect `status`, then the close. */
static void expect_error_close(const char *raw, size_t len, int status)
{
	vct_conn_t *c = conn();
	vct_resp_t r;

	assert_true(vct_conn_send(c, raw, len));
	read_resp(c, &r, false);
	if (r.status != status)
		fail_msg("sent %.*s: got status %d, expected %d", (int)(len > 200 ? 200 : len),
			 raw, r.status, status);
	assert_true(vct_resp_header_has(&r, "Connection", "close"));
	assert_true(vct_conn_wait_eof(c, WAIT_MS));
	assert_int_equal(c->len, 0); /* nothing after the error response */
	vct_resp_free(&r);
	vct_conn_close(c);
}

static char *repeat(char ch, size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, ch, n);
	s[n] = '\0';
	return s;
}

/* Wait until the only open connection is the /metrics request itself. */
static void wait_quiet(void)
{
	uint64_t deadline = vct_now_ms() + 5000;
	double n;

	while ((n = vct_metric_get(vcd->port, "vcd_http_connections")) != 1) {
		if (vct_now_ms() > deadline)
			fail_msg("vcd still has %.0f connections open after 5 s", n - 1);
		vct_sleep_ms(50);
	}
}

/* --- limits --------------------------------------------------------------- */

static void test_malformed_400(void **state)
{
	static const char bad_method[] = "FLY /healthz HTTP/1.1\r\nHost: t\r\n\r\n";
	static const char bad_header[] = "GET /healthz HTTP/1.1\r\nHost: t\r\nno colon\r\n\r\n";
	static const char bad_length[] = "POST /healthz HTTP/1.1\r\nHost: t\r\n"
					 "Content-Length: 12abc\r\n\r\n";
	static const char tls_hello[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03";
	static const char no_version[] = "GET /healthz\r\n\r\n"; /* HTTP/0.9 */
	static const char http2[] = "GET /healthz HTTP/2.0\r\nHost: t\r\n\r\n";

	expect_error_close(bad_method, sizeof(bad_method) - 1, 400);
	expect_error_close(bad_header, sizeof(bad_header) - 1, 400);
	expect_error_close(bad_length, sizeof(bad_length) - 1, 400);
	expect_error_close(tls_hello, sizeof(tls_hello) - 1, 400);
	expect_error_close(no_version, sizeof(no_version) - 1, 400);
	expect_error_close(http2, sizeof(http2) - 1, 505);
	vct_pass();
}

static void test_headers_too_large_431(void **state)
{
	char *fill = repeat('a', 1500), *big = repeat('b', 3000), *req;
	vct_resp_t r;
	vct_conn_t *c = conn();

	/* Under max_header_size (2k) is fine... */
	req = vct_strf("X-Fill: %s\r\n", fill);
	assert_int_equal(request(c, "GET", "/healthz", req, &r), 200);
	vct_resp_free(&r);
	vct_conn_close(c);
	free(req);
	/* ...one big header over it is not, nor many small ones. */
	req = vct_strf("GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: %s\r\n\r\n", big);
	expect_error_close(req, strlen(req), 431);
	free(req);
	req = vct_strf("GET /healthz HTTP/1.1\r\nHost: t\r\n");
	for (int i = 0; i < 100; i++) {
		char *more = vct_strf("%sX-Header-%03d: %020d\r\n", req, i, i);
		free(req);
		req = more;
	}
	char *full = vct_strf("%s\r\n", req);
	expect_error_close(full, strlen(full), 431);
	free(full);
	free(req);
	free(fill);
	free(big);
	vct_pass();
}

static void test_uri_too_long_414(void **state)
{
	char *ok = repeat('a', 400), *bad = repeat('a', 600);
	char *req = vct_strf("GET /%s HTTP/1.1\r\nHost: t\r\n\r\n", bad);
	char *path = vct_strf("/%s", ok);
	vct_resp_t r;

	assert_int_equal(vct_http(vcd->port, "GET", path, NULL, NULL, &r), 404);
	vct_resp_free(&r);
	free(path);
	expect_error_close(req, strlen(req), 414);
	free(req);
	free(ok);
	free(bad);
	vct_pass();
}

static void test_content_length_too_large_413(void **state)
{
	static const char over[] = "POST /upload HTTP/1.1\r\nHost: t\r\n"
				   "Content-Length: 2000\r\n\r\n";
	char *body = repeat('x', 800);
	vct_resp_t r;

	/* Refused on the headers alone: the body is never sent. */
	expect_error_close(over, sizeof(over) - 1, 413);
	/* A body under max_body (1k) is read: the unknown path answers 404. */
	assert_int_equal(vct_http(vcd->port, "POST", "/upload", NULL, body, &r), 404);
	vct_resp_free(&r);
	free(body);
	vct_pass();
}

static void test_chunked_too_large_413(void **state)
{
	char *chunk = repeat('c', 500), *small = repeat('s', 300);
	vct_conn_t *c = conn();
	vct_resp_t r;

	/* 300 + 300 bytes in chunks: read whole, then 404. */
	assert_true(vct_conn_sendf(c, "POST /upload HTTP/1.1\r\nHost: t\r\n"
				      "Transfer-Encoding: chunked\r\n\r\n"
				      "12c\r\n%s\r\n12c\r\n%s\r\n0\r\n\r\n", small, small));
	read_resp(c, &r, false);
	assert_int_equal(r.status, 404);
	vct_resp_free(&r);
	/* 500 + 500 bytes are still under 1k: no answer yet... */
	assert_true(vct_conn_sendf(c, "POST /upload HTTP/1.1\r\nHost: t\r\n"
				      "Transfer-Encoding: chunked\r\n\r\n"
				      "1f4\r\n%s\r\n1f4\r\n%s\r\n", chunk, chunk));
	assert_int_equal(vct_conn_recv(c, 300), 0);
	/* ...the third chunk takes the body over max_body. */
	assert_true(vct_conn_sendf(c, "1f4\r\n%s\r\n", chunk));
	read_resp(c, &r, false);
	assert_int_equal(r.status, 413);
	assert_true(vct_resp_header_has(&r, "Connection", "close"));
	assert_true(vct_conn_wait_eof(c, WAIT_MS));
	vct_resp_free(&r);
	vct_conn_close(c);
	free(chunk);
	free(small);
	vct_pass();
}

/* Send an unfinished request; expect 408 after ~request_timeout, then close. */
static void expect_408(const char *partial)
{
	vct_conn_t *c = conn();
	vct_resp_t r;
	uint64_t t0 = vct_now_ms(), took;

	assert_true(vct_conn_send(c, partial, strlen(partial)));
	read_resp(c, &r, false);
	took = vct_now_ms() - t0;
	assert_int_equal(r.status, 408);
	assert_true(vct_resp_header_has(&r, "Connection", "close"));
	assert_true(took >= 900 && took <= 2500);
	assert_true(vct_conn_wait_eof(c, WAIT_MS));
	vct_resp_free(&r);
	vct_conn_close(c);
}

static void test_request_timeout_408(void **state)
{
	expect_408("GET /healthz HTTP/1.1\r\nHost: t\r\n");
	expect_408("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n12345");
	vct_pass();
}

/* Wait for vcd to close c without a byte; returns how long it took. */
static uint64_t silent_close_ms(vct_conn_t *c)
{
	uint64_t t0 = vct_now_ms();

	assert_true(vct_conn_wait_eof(c, WAIT_MS));
	assert_int_equal(c->len, 0);
	return vct_now_ms() - t0;
}

static void test_idle_timeout(void **state)
{
	vct_conn_t *c = conn();
	vct_resp_t r;
	uint64_t took;

	/* After a response, the keep-alive connection idles out silently. */
	assert_int_equal(request(c, "GET", "/healthz", NULL, &r), 200);
	assert_false(vct_resp_header_has(&r, "Connection", "close"));
	vct_resp_free(&r);
	took = silent_close_ms(c);
	assert_true(took >= 900 && took <= 2500);
	vct_conn_close(c);
	/* So does a connection that never sent anything. */
	c = conn();
	took = silent_close_ms(c);
	assert_true(took >= 900 && took <= 2500);
	vct_conn_close(c);
	vct_pass();
}

static void test_max_connections_503(void **state)
{
	vct_conn_t *c[4], *extra;
	vct_resp_t r;

	wait_quiet();
	for (int i = 0; i < 4; i++) {
		c[i] = conn();
		assert_int_equal(request(c[i], "GET", "/healthz", NULL, &r), 200);
		vct_resp_free(&r);
	}
	/* The fifth is answered 503 and closed without sending anything... */
	extra = conn();
	read_resp(extra, &r, false);
	assert_int_equal(r.status, 503);
	assert_true(vct_resp_header_has(&r, "Connection", "close"));
	assert_true(vct_conn_wait_eof(extra, WAIT_MS));
	vct_resp_free(&r);
	vct_conn_close(extra);
	/* ...while the four still answer. */
	for (int i = 0; i < 4; i++) {
		assert_int_equal(request(c[i], "GET", "/healthz", NULL, &r), 200);
		vct_resp_free(&r);
		vct_conn_close(c[i]);
	}
	wait_quiet();
	assert_true(vct_metric_get(vcd->port, "vcd_http_connections_refused_total") >= 1);
	vct_pass();
}

/* --- protocol ------------------------------------------------------------- */

static void test_keep_alive(void **state)
{
	static const char *const paths[] = { "/healthz", "/version", "/healthz", "/readyz" };
	vct_conn_t *c = conn();
	vct_resp_t r;

	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(request(c, "GET", paths[i], NULL, &r), 200);
		assert_false(vct_resp_header_has(&r, "Connection", "close"));
		vct_resp_free(&r);
	}
	assert_int_equal(vct_conn_recv(c, 100), 0); /* still open, nothing more */
	assert_false(c->eof);
	/* Connection: close is honoured. */
	assert_int_equal(request(c, "GET", "/healthz", "Connection: close\r\n", &r), 200);
	assert_true(vct_resp_header_has(&r, "Connection", "close"));
	assert_true(vct_conn_wait_eof(c, WAIT_MS));
	vct_resp_free(&r);
	vct_conn_close(c);
	/* HTTP/1.0 without keep-alive closes after the response. */
	c = conn();
	assert_true(vct_conn_sendf(c, "GET /healthz HTTP/1.0\r\n\r\n"));
	read_resp(c, &r, false);
	assert_int_equal(r.status, 200);
	assert_true(vct_conn_wait_eof(c, WAIT_MS));
	vct_resp_free(&r);
	vct_conn_close(c);
	vct_pass();
}

static void test_pipelining_in_order(void **state)
{
	static const struct {
		int status;
		const char *body_has; /* NULL: empty body */
	} want[] = {
		{ 200, "\"ok\"" }, { 200, "\"ready\"" }, { 404, NULL }, { 200, "\"vcd\"" },
		{ 200, "\"ready\"" },
	};
	vct_conn_t *c = conn();
	vct_resp_t r;

	assert_true(vct_conn_sendf(c, "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"
				      "GET /readyz HTTP/1.1\r\nHost: t\r\n\r\n"
				      "GET /no/such/path HTTP/1.1\r\nHost: t\r\n\r\n"
				      "GET /version HTTP/1.1\r\nHost: t\r\n\r\n"
				      "GET /readyz HTTP/1.1\r\nHost: t\r\n\r\n"));
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		read_resp(c, &r, false);
		assert_int_equal(r.status, want[i].status);
		if (want[i].body_has != NULL)
			assert_non_null(strstr(r.body, want[i].body_has));
		else
			assert_int_equal(r.body_len, 0);
		vct_resp_free(&r);
	}
	assert_int_equal(vct_conn_recv(c, 100), 0);
	assert_false(c->eof);
	vct_conn_close(c);
	vct_pass();
}

/* A request that arrives while the one before is still with PostgreSQL
 * (/readyz): vcd keeps the socket watched while it answers, and pauses
 * reading when the next request comes early; it is answered after, in
 * order, and the connection stays usable. */
static void test_request_during_answer(void **state)
{
	static const char *const want[] = { "\"ready\"", "\"ok\"", "\"vcd\"", "\"ready\"" };
	vct_conn_t *c = conn();
	vct_resp_t r;

	for (int round = 0; round < 20; round++) {
		assert_true(vct_conn_sendf(c, "GET /readyz HTTP/1.1\r\nHost: t\r\n\r\n"));
		assert_true(vct_conn_sendf(c, "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"));
		assert_true(vct_conn_sendf(c, "GET /version HTTP/1.1\r\nHost: t\r\n\r\n"
					      "GET /readyz HTTP/1.1\r\nHost: t\r\n\r\n"));
		for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
			read_resp(c, &r, false);
			assert_int_equal(r.status, 200);
			if (strstr(r.body, want[i]) == NULL)
				fail_msg("round %d, answer %zu: expected %s, got %.*s", round, i,
					 want[i], (int)r.body_len, r.body);
			vct_resp_free(&r);
		}
	}
	assert_int_equal(request(c, "GET", "/healthz", NULL, &r), 200);
	vct_resp_free(&r);
	vct_conn_close(c);
	vct_pass();
}

/* A fragment is the client's: vcd routes as if it were not there. */
static void test_fragment_ignored(void **state)
{
	vct_resp_t r;

	assert_int_equal(vct_http(vcd->port, "GET", "/healthz#top", NULL, NULL, &r), 200);
	vct_resp_free(&r);
	assert_int_equal(vct_http(vcd->port, "GET", "/healthz?x=1#a?b#c", NULL, NULL, &r), 200);
	vct_resp_free(&r);
	assert_int_equal(vct_http(vcd->port, "GET", "/no#/healthz", NULL, NULL, &r), 404);
	vct_resp_free(&r);
	vct_pass();
}

static void test_404_405_empty(void **state)
{
	vct_resp_t r;

	assert_int_equal(vct_http(vcd->port, "GET", "/no/such/path", NULL, NULL, &r), 404);
	assert_int_equal(r.body_len, 0);
	assert_string_equal(vct_resp_header(&r, "Content-Length"), "0");
	vct_resp_free(&r);
	assert_int_equal(vct_http(vcd->port, "POST", "/healthz", NULL, "", &r), 405);
	assert_int_equal(r.body_len, 0);
	assert_true(vct_resp_header_has(&r, "Allow", "GET"));
	vct_resp_free(&r);
	assert_int_equal(vct_http(vcd->port, "DELETE", "/metrics", NULL, NULL, &r), 405);
	assert_true(vct_resp_header_has(&r, "Allow", "GET"));
	assert_int_equal(r.body_len, 0);
	vct_resp_free(&r);
	vct_pass();
}

static void test_head_no_body(void **state)
{
	vct_conn_t *c = conn();
	vct_resp_t head, get;

	/* If HEAD sent a body, the GET response would not parse. */
	assert_true(vct_conn_sendf(c, "HEAD /version HTTP/1.1\r\nHost: t\r\n\r\n"
				      "GET /version HTTP/1.1\r\nHost: t\r\n\r\n"));
	read_resp(c, &head, true);
	assert_int_equal(head.status, 200);
	assert_non_null(vct_resp_header(&head, "Content-Type"));
	read_resp(c, &get, false);
	assert_int_equal(get.status, 200);
	assert_true(get.body_len > 0);
	assert_int_equal(strtoul(vct_resp_header(&head, "Content-Length"), NULL, 10),
			 get.body_len);
	assert_int_equal(c->len, 0);
	vct_resp_free(&head);
	vct_resp_free(&get);
	vct_conn_close(c);
	vct_pass();
}

static void test_expect_100_continue(void **state)
{
	vct_conn_t *c = conn();
	vct_resp_t r;

	assert_true(vct_conn_sendf(c, "POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
				      "Expect: 100-continue\r\n\r\n"));
	read_resp(c, &r, false);
	assert_int_equal(r.status, 100);
	vct_resp_free(&r);
	assert_true(vct_conn_sendf(c, "hello"));
	read_resp(c, &r, false);
	assert_int_equal(r.status, 404);
	vct_resp_free(&r);
	vct_conn_close(c);
	/* A body over max_body gets 413 instead of the go-ahead. */
	c = conn();
	assert_true(vct_conn_sendf(c, "POST /upload HTTP/1.1\r\nHost: t\r\n"
				      "Content-Length: 5000\r\nExpect: 100-continue\r\n\r\n"));
	read_resp(c, &r, false);
	assert_int_equal(r.status, 413);
	vct_resp_free(&r);
	vct_conn_close(c);
	vct_pass();
}

/* --- CORS ----------------------------------------------------------------- */

static int get_with_origin(int port, const char *origin, vct_resp_t *r)
{
	char *h = vct_strf("Origin: %s\r\n", origin);
	int st = vct_http(port, "GET", "/healthz", h, NULL, r);

	free(h);
	return st;
}

static int preflight(int port, const char *origin, vct_resp_t *r)
{
	char *h = vct_strf("Origin: %s\r\nAccess-Control-Request-Method: POST\r\n"
			   "Access-Control-Request-Headers: content-type\r\n", origin);
	int st = vct_http(port, "OPTIONS", "/healthz", h, NULL, r);

	free(h);
	return st;
}

static void assert_cors_allowed(const vct_resp_t *r, const char *origin)
{
	assert_non_null(vct_resp_header(r, "Access-Control-Allow-Origin"));
	assert_string_equal(vct_resp_header(r, "Access-Control-Allow-Origin"), origin);
	assert_non_null(vct_resp_header(r, "Access-Control-Allow-Credentials"));
	assert_string_equal(vct_resp_header(r, "Access-Control-Allow-Credentials"), "true");
}

static void assert_no_cors(const vct_resp_t *r)
{
	for (unsigned i = 0; i < r->nheaders; i++)
		if (strncasecmp(r->names[i], "Access-Control-", 15) == 0)
			fail_msg("unexpected CORS header %s: %s", r->names[i], r->values[i]);
}

static void assert_preflight_ok(const vct_resp_t *r, const char *origin)
{
	assert_int_equal(r->status, 200);
	assert_cors_allowed(r, origin);
	assert_true(vct_resp_header_has(r, "Access-Control-Allow-Methods", "POST"));
	assert_true(vct_resp_header_has(r, "Access-Control-Allow-Headers", "content-type"));
}

static void test_cors_mirror(void **state)
{
	vct_resp_t r;

	assert_int_equal(get_with_origin(vcd->port, "http://anything.example:3000", &r), 200);
	assert_cors_allowed(&r, "http://anything.example:3000");
	assert_true(vct_resp_header_has(&r, "Vary", "Origin"));
	vct_resp_free(&r);
	assert_int_equal(vct_http(vcd->port, "GET", "/healthz", NULL, NULL, &r), 200);
	assert_no_cors(&r);
	vct_resp_free(&r);
	preflight(vcd->port, "https://elsewhere.example", &r);
	assert_preflight_ok(&r, "https://elsewhere.example");
	vct_resp_free(&r);
	vct_pass();
}

static void test_cors_allow_list(void **state)
{
	vct_vcd_t *v = vct_vcd_start("http_cors", db_url,
				     "cors_allowed_origin = https://meet.example.com, "
				     "http://localhost:8080\n");
	vct_resp_t r;

	assert_int_equal(get_with_origin(v->port, "https://meet.example.com", &r), 200);
	assert_cors_allowed(&r, "https://meet.example.com");
	vct_resp_free(&r);
	assert_int_equal(get_with_origin(v->port, "http://localhost:8080", &r), 200);
	assert_cors_allowed(&r, "http://localhost:8080");
	vct_resp_free(&r);
	assert_int_equal(get_with_origin(v->port, "https://evil.example.com", &r), 200);
	assert_no_cors(&r);
	vct_resp_free(&r);
	preflight(v->port, "http://localhost:8080", &r);
	assert_preflight_ok(&r, "http://localhost:8080");
	vct_resp_free(&r);
	preflight(v->port, "https://evil.example.com", &r);
	assert_no_cors(&r);
	vct_resp_free(&r);
	vct_vcd_stop_ok(v);
	vct_pass();
}

/* --- main ----------------------------------------------------------------- */

static int group_setup(void **state)
{
	db_url = vct_db_create("http");
	vcd = vct_vcd_start("http", db_url, LIMITS);
	vct_vcd_keep(vcd);
	return 0;
}

static int group_teardown(void **state)
{
	int rc = vct_vcd_finish(vcd);

	free(db_url);
	return rc;
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, vct_setup, vct_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_malformed_400),
		T(test_headers_too_large_431),
		T(test_uri_too_long_414),
		T(test_content_length_too_large_413),
		T(test_chunked_too_large_413),
		T(test_request_timeout_408),
		T(test_idle_timeout),
		T(test_max_connections_503),
		T(test_keep_alive),
		T(test_pipelining_in_order),
		T(test_request_during_answer),
		T(test_404_405_empty),
		T(test_fragment_ignored),
		T(test_head_no_body),
		T(test_expect_100_continue),
		T(test_cors_mirror),
		T(test_cors_allow_list),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
