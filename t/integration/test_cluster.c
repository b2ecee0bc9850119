/*
 * test_cluster.c — two vcd nodes on one database and one nats-server: a
 * session revoked on one node stops working on the other at once, although
 * both cache sessions for an hour — only the NATS announcement can explain
 * it. Without NATS the other node holds on until session_cache_ttl, which
 * the last case shows with a short TTL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "t/lib/vctest.h"

static char *db_url;

static int status_of(vct_vcd_t *v, const char *method, const char *path, const char *token,
                     const char *body, vct_resp_t *out)
{
	char *h = token ? vct_strf("Authorization: Bearer %s\r\n", token) : NULL;
	vct_resp_t r;
	int st = vct_http(v->port, method, path, h, body, out ? out : &r);

	if (out == NULL)
		vct_resp_free(&r);
	free(h);
	return st;
}

/* Register `user` on v and return its token (malloc'd). */
static char *register_user(vct_vcd_t *v, const char *user)
{
	char *body = vct_strf("{\"username\":\"%s\",\"password\":\"cluster-pass\"}", user);
	vct_resp_t r;
	json_t *j;
	char *tok;

	assert_int_equal(status_of(v, "POST", "/api/users/register", NULL, body, &r), 201);
	j = vct_resp_json(&r);
	tok = strdup(vct_json_str(j, "token"));
	json_decref(j);
	vct_resp_free(&r);
	free(body);
	return tok;
}

/* GET /api/users/me on v until it answers 401, for at most `ms`; returns
 * the milliseconds it took, or fails. */
static unsigned until_refused(vct_vcd_t *v, const char *token, unsigned ms)
{
	uint64_t t0 = vct_now_ms();

	for (;;) {
		int st = status_of(v, "GET", "/api/users/me", token, NULL, NULL);
		if (st == 401)
			return (unsigned)(vct_now_ms() - t0);
		assert_int_equal(st, 200);
		if (vct_now_ms() - t0 > ms)
			fail_msg("%s still accepts a revoked session after %u ms", v->name, ms);
		vct_sleep_ms(20);
	}
}

/* Wait (bounded) until v reports NATS connected in /metrics. */
static void wait_nats(vct_vcd_t *v)
{
	for (int i = 0; i < 100; i++) {
		if (vct_metric_get(v->port, "vcd_nats_connected") == 1)
			return;
		vct_sleep_ms(50);
	}
	fail_msg("%s did not connect to NATS", v->name);
}

static void test_revocation_reaches_the_other_node(void **state)
{
	char *extra = vct_strf("nats_url = %s\nsession_cache_ttl = 1h\n", vct_env("VCT_NATS_URL"));
	vct_vcd_t *a = vct_vcd_start("node_a", db_url, extra);
	vct_vcd_t *b = vct_vcd_start("node_b", db_url, extra);
	char *t1, *t2, *t3;
	char path[64];
	vct_resp_t r;
	json_t *j;

	wait_nats(a);
	wait_nats(b);
	t1 = register_user(a, "carol");
	/* b learns the session (and caches it for an hour) */
	assert_int_equal(status_of(b, "GET", "/api/users/me", t1, NULL, NULL), 200);
	assert_int_equal(status_of(a, "POST", "/api/users/logout", t1, NULL, NULL), 200);
	/* NATS is asynchronous: milliseconds, where the cache alone would take an hour */
	until_refused(b, t1, 2000);

	/* revoke by id on b, used on a */
	t2 = register_user(a, "dave");
	t3 = register_user(a, "erin");
	assert_int_equal(status_of(a, "GET", "/api/users/me", t2, NULL, NULL), 200);
	assert_int_equal(status_of(b, "GET", "/api/users/sessions", t2, NULL, &r), 200);
	j = vct_resp_json(&r);
	snprintf(path, sizeof(path), "/api/users/sessions/%lld",
	         (long long)json_integer_value(
	                 json_object_get(json_array_get(json_object_get(j, "sessions"), 0), "id")));
	json_decref(j);
	vct_resp_free(&r);
	assert_int_equal(status_of(b, "DELETE", path, t2, NULL, NULL), 200);
	until_refused(a, t2, 2000);
	/* an unrelated session on both nodes is untouched */
	assert_int_equal(status_of(b, "GET", "/api/users/me", t3, NULL, NULL), 200);
	assert_int_equal(status_of(a, "GET", "/api/users/me", t3, NULL, NULL), 200);

	vct_vcd_stop_ok(a);
	vct_vcd_stop_ok(b);
	free(t1);
	free(t2);
	free(t3);
	free(extra);
	vct_pass();
}

static void test_without_nats_the_cache_ttl_bounds_it(void **state)
{
	vct_vcd_t *a = vct_vcd_start("solo_a", db_url, "session_cache_ttl = 1s\n");
	vct_vcd_t *b = vct_vcd_start("solo_b", db_url, "session_cache_ttl = 1s\n");
	char *t = register_user(a, "frank");

	assert_int_equal(status_of(b, "GET", "/api/users/me", t, NULL, NULL), 200);
	assert_int_equal(status_of(a, "POST", "/api/users/logout", t, NULL, NULL), 200);
	/* within the documented bound (1 s), with slack for a busy machine */
	until_refused(b, t, 2500);
	vct_vcd_stop_ok(a);
	vct_vcd_stop_ok(b);
	free(t);
	vct_pass();
}

static int group_setup(void **state)
{
	db_url = vct_db_create("cluster");
	return 0;
}

static int group_teardown(void **state)
{
	free(db_url);
	return 0;
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, vct_setup, vct_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_revocation_reaches_the_other_node),
		T(test_without_nats_the_cache_ttl_bounds_it),
	};
	return cmocka_run_group_tests_name("cluster", tests, group_setup, group_teardown);
}
