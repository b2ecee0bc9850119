/*
 * test_ops.c — the operational endpoints of a real vcd: /healthz, /readyz
 * (a PostgreSQL round trip), /version (matches `vcd --version`), /metrics
 * (well-formed Prometheus text whose counters move), and `vcd
 * --list-routes`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "t/lib/vctest.h"

static vct_vcd_t *vcd;
static char *db_url;

/* GET path; expect 200 and a JSON object body (returned, owned by caller). */
static json_t *get_json(const char *path)
{
	vct_resp_t r;
	json_error_t err;
	json_t *j;

	assert_int_equal(vct_http(vcd->port, "GET", path, NULL, NULL, &r), 200);
	assert_true(vct_resp_header_has(&r, "Content-Type", "application/json"));
	j = json_loadb(r.body, r.body_len, 0, &err);
	if (j == NULL || !json_is_object(j))
		fail_msg("GET %s: body is not a JSON object (%s): %s", path, err.text, r.body);
	vct_resp_free(&r);
	return j;
}

static const char *str_member(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_string(v) || json_string_length(v) == 0)
		fail_msg("member '%s' is missing or not a non-empty string", key);
	return json_string_value(v);
}

static void test_healthz(void **state)
{
	json_t *j = get_json("/healthz");

	assert_string_equal(str_member(j, "status"), "ok");
	json_decref(j);
	vct_pass();
}

static void test_readyz(void **state)
{
	json_t *j = get_json("/readyz");

	assert_string_equal(str_member(j, "status"), "ready");
	assert_string_equal(str_member(j, "database"), "ok");
	json_decref(j);
	vct_pass();
}

static void test_version(void **state)
{
	json_t *j = get_json("/version");
	vct_cmd_t r;
	char *want;

	assert_string_equal(str_member(j, "service"), "vcd");
	str_member(j, "git_branch");
	str_member(j, "build_timestamp");
	/* The same build as `vcd --version`: "vcd VERSION (SHA)". */
	assert_int_equal(vct_runl(&r, NULL, vct_env("VCD"), "--version", NULL), 0);
	want = vct_strf("vcd %s (%s)\n", str_member(j, "version"), str_member(j, "git_sha"));
	assert_string_equal(r.out, want);
	free(want);
	vct_cmd_free(&r);
	json_decref(j);
	vct_pass();
}

/* Does the text declare "# TYPE <name[0..len)> "? */
static bool has_type(const char *text, const char *name, size_t len)
{
	char *want = vct_strf("# TYPE %.*s ", (int)len, name);
	bool found = strstr(text, want) != NULL;

	free(want);
	return found;
}

/* A sample's family: itself, or for name_sum / name_count of a summary, name. */
static bool family_typed(const char *text, const char *name, size_t len)
{
	static const char *const suffixes[] = { "_sum", "_count" };

	if (has_type(text, name, len))
		return true;
	for (size_t i = 0; i < 2; i++) {
		size_t sl = strlen(suffixes[i]);
		if (len > sl && strncmp(name + len - sl, suffixes[i], sl) == 0 &&
		    has_type(text, name, len - sl))
			return true;
	}
	return false;
}

/* Every sample line is "name[{labels}] value" and its family has a TYPE. */
static void check_exposition(const char *text)
{
	for (const char *l = text; *l != '\0';) {
		size_t len = strcspn(l, "\n");
		char *line = strndup(l, len), *sp, *end;
		if (line[0] != '#' && line[0] != '\0') {
			sp = strrchr(line, ' ');
			if (sp == NULL || sp == line)
				fail_msg("metrics line without a value: %s", line);
			strtod(sp + 1, &end);
			if (end == sp + 1 || *end != '\0')
				fail_msg("metrics value is not a number: %s", line);
			if (!family_typed(text, line, strcspn(line, "{ ")))
				fail_msg("metrics line without a # TYPE for its family: %s", line);
		}
		free(line);
		l += len + (l[len] == '\n');
	}
}

static void test_metrics(void **state)
{
	static const char *const samples[] = {
		"vcd_http_connections", "vcd_http_requests_total{code=\"200\"}",
		"vcd_actors{worker=\"0\"}", "vcd_actors{worker=\"1\"}",
		"vcd_mailbox_depth{worker=\"0\"}", "vcd_db_round_trip_seconds_count",
		"vcd_db_reconnects_total",
	};
	vct_resp_t r;
	double ok_before, ok_after, rtt;

	assert_int_equal(vct_http_get_status(vcd->port, "/readyz"), 200);
	assert_int_equal(vct_http(vcd->port, "GET", "/metrics", NULL, NULL, &r), 200);
	assert_true(vct_resp_header_has(&r, "Content-Type", "text/plain"));
	assert_true(vct_resp_header_has(&r, "Content-Type", "version=0.0.4"));
	check_exposition(r.body);
	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++)
		if (vct_metric(r.body, samples[i]) < 0)
			fail_msg("/metrics has no sample %s:\n%s", samples[i], r.body);
	/* This connection is open while the text is made. */
	assert_true(vct_metric(r.body, "vcd_http_connections") >= 1);
	rtt = vct_metric(r.body, "vcd_db_round_trip_seconds_count");
	assert_true(rtt >= 1); /* the /readyz above */
	ok_before = vct_metric(r.body, "vcd_http_requests_total{code=\"200\"}");
	vct_resp_free(&r);
	for (int i = 0; i < 3; i++)
		assert_int_equal(vct_http_get_status(vcd->port, "/healthz"), 200);
	assert_int_equal(vct_http_get_status(vcd->port, "/readyz"), 200);
	assert_int_equal(vct_http_get_status(vcd->port, "/no/such/path"), 404);
	/* 3 /healthz + 1 /readyz + the previous /metrics itself. */
	ok_after = vct_metric_get(vcd->port, "vcd_http_requests_total{code=\"200\"}");
	assert_true(ok_after >= ok_before + 5);
	assert_true(vct_metric_get(vcd->port, "vcd_http_requests_total{code=\"404\"}") >= 1);
	assert_true(vct_metric_get(vcd->port, "vcd_db_round_trip_seconds_count") >= rtt + 1);
	vct_pass();
}

static void test_list_routes(void **state)
{
	static const char *const routes[] = {
		"GET /healthz\n", "GET /readyz\n", "GET /version\n", "GET /metrics\n",
	};
	vct_cmd_t r;

	assert_int_equal(vct_runl(&r, NULL, vct_env("VCD"), "--list-routes", NULL), 0);
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (strstr(r.out, routes[i]) == NULL)
			fail_msg("vcd --list-routes does not list %s:\n%s", routes[i], r.out);
	assert_string_equal(r.err, "");
	vct_cmd_free(&r);
	vct_pass();
}

static int group_setup(void **state)
{
	db_url = vct_db_create("ops");
	vcd = vct_vcd_start("ops", db_url, NULL);
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
		T(test_healthz), T(test_readyz), T(test_version), T(test_metrics),
		T(test_list_routes),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
