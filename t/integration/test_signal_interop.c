/*
 * test_signal_interop.c — vcd's signaling WebSocket /ws with a client vcd
 * shares no code with: Node's `ws` running t/interop/signal_ws.mjs. Users
 * and a server are made here through the REST API; the script plays the
 * scenario described at its top (auth_required before identify, identify,
 * join_server, server_users, user_joined, chat_message both ways and never
 * back, account_sync_peer_online, account_sync with its ack and seq, the
 * closes) and prints what it received; that report is checked here, field
 * by field, against what vcd must have said.
 *
 * Needs node 18 or later with ws installed by `npm ci --prefix t/interop`
 * in the source tree. Without them the program is skipped (exit 77,
 * counted as skipped by t/integration/run.sh) with a message saying what
 * to install.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "t/lib/vctest.h"
#include "t/lib/vctest_sig.h"

#define CONF "auth_rate_limit = off\nserver_join_rate_limit = off\n"
#define NODE_MIN 18
#define NODE_MS 45000 /* the scenario, start-up included; the script gives up after 40 s */
#define SKIP_STATUS 77

static char *db_url;
static vct_vcd_t *vcd;
static const char *top;
static bool teardown_failed;

/* --- checking the report ------------------------------------------------------------- */

static const json_t *member(const json_t *o, const char *key, const char *what)
{
	const json_t *v = json_object_get(o, key);

	if (v == NULL) {
		char *text = json_dumps(o, JSON_COMPACT);
		fail_msg("%s: no '%s' in %s", what, key, text);
	}
	return v;
}

static const char *str(const json_t *o, const char *key, const char *what)
{
	const json_t *v = member(o, key, what);

	if (!json_is_string(v)) {
		char *text = json_dumps(o, JSON_COMPACT);
		fail_msg("%s: '%s' is not a string in %s", what, key, text);
	}
	return json_string_value(v);
}

static long long num(const json_t *o, const char *key, const char *what)
{
	const json_t *v = member(o, key, what);

	if (!json_is_integer(v)) {
		char *text = json_dumps(o, JSON_COMPACT);
		fail_msg("%s: '%s' is not an integer in %s", what, key, text);
	}
	return (long long)json_integer_value(v);
}

static void expect_str(const json_t *o, const char *key, const char *want, const char *what)
{
	const char *got = str(o, key, what);

	if (strcmp(got, want) != 0)
		fail_msg("%s: %s is '%s', expected '%s'", what, key, got, want);
}

/* Exactly `want` (JSON text): nothing missing, nothing added. */
static void expect_json(const json_t *got, const char *want, const char *what)
{
	json_error_t err;
	json_t *w = json_loads(want, JSON_DECODE_ANY, &err);

	if (w == NULL)
		fail_msg("the test's expectation for %s is not JSON (%s): %s", what, err.text,
		         want);
	if (!json_equal((json_t *)got, w)) {
		char *g = json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY);
		fail_msg("%s is %s, expected exactly %s", what, g, want);
	}
	json_decref(w);
}

/* server_users' users: exactly the given users (ids), each once, with their names. */
static void expect_users(const json_t *m, const vcs_user_t *const *us, unsigned n, const char *what)
{
	const json_t *users = member(m, "users", what), *e;
	size_t k;

	if (!json_is_array(users) || json_array_size(users) != n) {
		char *text = json_dumps(m, JSON_COMPACT);
		fail_msg("%s lists %zu users, expected %u: %s", what, json_array_size(users), n,
		         text);
	}
	for (unsigned i = 0; i < n; i++) {
		unsigned seen = 0;
		json_array_foreach(users, k, e)
		{
			if (strcmp(str(e, "oderId", what), us[i]->id) == 0) {
				expect_str(e, "displayName", us[i]->display, what);
				seen++;
			}
		}
		if (seen != 1)
			fail_msg("%s lists %s %u times, expected once", what, us[i]->username,
			         seen);
	}
}

/* A relayed message: the sent object (from the report) plus fromUserId. */
static void expect_relayed(const json_t *got, const json_t *sent, const char *from,
                           const char *what)
{
	json_t *want = json_deep_copy(sent);
	char *text;

	json_object_set_new(want, "fromUserId", json_string(from));
	text = json_dumps(want, JSON_COMPACT);
	expect_json(got, text, what);
	free(text);
	json_decref(want);
}

static void check_report(const json_t *r, const vcs_user_t *a, const vcs_user_t *b, const char *sid)
{
	const json_t *m, *acks, *at2, *payloads, *close;
	char *want;

	expect_str(r, "implementation", "node ws", "the report");
	/* 1. Nothing before identify. */
	m = member(r, "auth_required", "the report");
	expect_str(m, "type", "auth_required", "the answer to join_server before identify");
	expect_str(m, "ref", "join_server", "the answer to join_server before identify");
	expect_str(member(r, "early_identified", "the report"), "oderId", a->id,
	           "identified after auth_required");
	m = member(r, "early_server_users", "the report");
	expect_str(m, "type", "error",
	           "server_users for a server whose join was refused before identify");
	expect_str(m, "code", "not_joined", "the error for server_users after a refused join");
	expect_str(m, "ref", "server_users", "the error for server_users after a refused join");
	/* 2. identified. */
	m = member(r, "a_identified", "the report");
	expect_str(m, "oderId", a->id, "A's identified");
	expect_str(m, "displayName", a->display, "A's identified");
	if (num(m, "syncSeq", "A's identified") != 0)
		fail_msg("A's identified: syncSeq %lld for a user without account_sync, expected 0",
		         num(m, "syncSeq", "A's identified"));
	member(m, "connectionId", "A's identified");
	m = member(r, "b_identified", "the report");
	expect_str(m, "oderId", b->id, "B's identified");
	expect_str(m, "displayName", b->display, "B's identified");
	/* 3. Joins and presence. */
	m = member(r, "a_join", "the report");
	expect_str(m, "serverId", sid, "A's server_users (join)");
	expect_users(m, (const vcs_user_t *const[]){ a }, 1, "A's server_users (join)");
	m = member(r, "b_join", "the report");
	expect_str(m, "serverId", sid, "B's server_users (join)");
	expect_users(m, (const vcs_user_t *const[]){ a, b }, 2, "B's server_users (join)");
	want = vct_strf("{\"type\":\"user_joined\",\"serverId\":\"%s\",\"oderId\":\"%s\","
	                "\"displayName\":\"%s\"}",
	                sid, b->id, b->display);
	expect_json(member(r, "a_user_joined", "the report"), want, "B's user_joined at A");
	free(want);
	m = member(r, "a_server_users", "the report");
	expect_users(m, (const vcs_user_t *const[]){ a, b }, 2, "server_users asked for by A");
	/* 4. Chat. */
	expect_relayed(member(r, "chat_at_b", "the report"), member(r, "chat_sent", "the report"),
	               a->id, "A's chat_message at B");
	m = member(r, "chat_back_at_a", "the report");
	expect_str(m, "fromUserId", b->id, "B's chat_message at A");
	if (!json_is_false(member(r, "own_chat_back", "the report")))
		fail_msg("A's own chat came back");
	/* 5. account_sync. */
	m = member(r, "peer_online", "the report");
	want = vct_strf("{\"type\":\"account_sync_peer_online\",\"fromUserId\":\"%s\","
	                "\"clientInstanceId\":\"a-2\",\"connectionScope\":\"interop://node\"}",
	                a->id);
	expect_json(m, want, "account_sync_peer_online of a-2 at a-1");
	free(want);
	acks = member(r, "sync_acks", "the report");
	at2 = member(r, "sync_at_a2", "the report");
	payloads = member(r, "sync_payloads", "the report");
	if (json_array_size(acks) != 2 || json_array_size(at2) != 2 ||
	    json_array_size(payloads) != 2)
		fail_msg("the report has %zu acks, %zu account_syncs at a-2, %zu payloads; "
		         "expected 2",
		         json_array_size(acks), json_array_size(at2), json_array_size(payloads));
	for (size_t k = 0; k < 2; k++) {
		long long seq = num(json_array_get(acks, k), "seq", "account_sync_ack");
		json_t *exp;
		char *text;
		expect_str(json_array_get(acks, k), "type", "account_sync_ack", "the ack");
		if (seq != (long long)k + 1)
			fail_msg("account_sync_ack %zu has seq %lld, expected %zu (a new user's "
			         "sequence)",
			         k, seq, k + 1);
		exp = json_pack("{s:s,s:s,s:s,s:O,s:I}", "type", "account_sync", "fromUserId",
		                a->id, "clientInstanceId", "a-1", "payload",
		                json_array_get(payloads, k), "seq", (json_int_t)seq);
		text = json_dumps(exp, JSON_COMPACT);
		expect_json(json_array_get(at2, k), text, "a-1's account_sync at a-2");
		free(text);
		json_decref(exp);
	}
	/* 6. Closes echoed. */
	close = member(r, "close", "the report");
	for (const char *const *k = (const char *const[]){ "early", "a1", "a2", "b1", NULL }; *k;
	     k++)
		if (num(close, *k, "the closes") != 1000)
			fail_msg("%s's close 1000 was answered with %lld", *k,
			         num(close, *k, "the closes"));
}

/* --- the case --------------------------------------------------------------------------- */

static void test_node_ws(void **state)
{
	vcs_user_t o, a, b;
	char sid[37];
	char *path = vct_strf("%s/t/interop/signal_ws.mjs", top);
	char *e_url = vct_strf("SIGNAL_URL=ws://127.0.0.1:%d/ws", vcd->port);
	char *e_sid, *e_ua, *e_ta, *e_na, *e_ub, *e_tb, *e_nb;
	vct_cmd_t r;
	json_error_t err;
	json_t *report;

	vcs_register(vcd, &o, "io");
	vcs_register(vcd, &a, "ia");
	vcs_register(vcd, &b, "ib");
	vcs_server_create(vcd, &o, sid);
	vcs_server_join(vcd, sid, &a);
	vcs_server_join(vcd, sid, &b);
	e_sid = vct_strf("SERVER_ID=%s", sid);
	e_ua = vct_strf("USER_A=%s", a.id);
	e_ta = vct_strf("TOKEN_A=%s", a.token);
	e_na = vct_strf("NAME_A=%s", a.display);
	e_ub = vct_strf("USER_B=%s", b.id);
	e_tb = vct_strf("TOKEN_B=%s", b.token);
	e_nb = vct_strf("NAME_B=%s", b.display);
	{
		const char *env[] = { e_url, e_sid, e_ua, e_ta, e_na, e_ub, e_tb, e_nb, NULL };
		vct_run_opts_t opts = { .env = env, .timeout_ms = NODE_MS };
		vct_runl(&r, &opts, "node", path, NULL);
	}
	if (r.status != 0)
		fail_msg("node %s exited %d:\n%s%s", path, r.status, r.err, r.out);
	report = json_loads(r.out, 0, &err);
	if (!json_is_object(report))
		fail_msg("node %s printed no JSON report (%s): '%s'", path, err.text, r.out);
	check_report(report, &a, &b, sid);
	/* What the script did is in PostgreSQL too. */
	{
		char *got = vct_db_valuef(db_url,
		                          "SELECT string_agg(seq::text, ',' ORDER BY seq) FROM "
		                          "account_sync_log WHERE user_id = '%s'",
		                          a.id);
		if (got == NULL || strcmp(got, "1,2") != 0)
			fail_msg("account_sync_log of A holds seqs '%s', expected '1,2'",
			         got ? got : "(none)");
		free(got);
	}
	json_decref(report);
	vct_cmd_free(&r);
	free(path);
	free(e_url);
	free(e_sid);
	free(e_ua);
	free(e_ta);
	free(e_na);
	free(e_ub);
	free(e_tb);
	free(e_nb);
	vct_pass();
}

/* --- main --------------------------------------------------------------------------------- */

/* Why this program cannot run here (a static string), or NULL. */
static const char *missing(void)
{
	char line[64] = "";
	FILE *f = popen("node --version 2>/dev/null", "r");
	char *p;
	bool ok;

	if (f == NULL || fgets(line, sizeof(line), f) == NULL) {
		if (f != NULL)
			pclose(f);
		return "node is not on PATH: install Node.js 18 or later (Debian: apt-get "
		       "install nodejs npm), then run `npm ci --prefix t/interop` in the source "
		       "tree";
	}
	pclose(f);
	if (line[0] != 'v' || atoi(line + 1) < NODE_MIN)
		return "node is older than 18, which the /ws interop test needs";
	p = vct_strf("%s/t/interop/node_modules/ws/package.json", top);
	ok = access(p, R_OK) == 0;
	free(p);
	if (!ok)
		return "ws is not installed: run `npm ci --prefix t/interop` in the source tree";
	return NULL;
}

static int group_setup(void **state)
{
	db_url = vct_db_create("signal_interop");
	vcd = vct_vcd_start("sig_interop", db_url, CONF);
	vct_vcd_keep(vcd);
	return 0;
}

static int group_teardown(void **state)
{
	int rc = vct_vcd_finish(vcd);

	free(db_url);
	teardown_failed = rc != 0;
	return rc;
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, vct_setup, vcs_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_node_ws),
	};
	const char *why;
	int rc;

	top = getenv("top_srcdir");
	if (top == NULL || *top == '\0') {
		fprintf(stderr, "test_signal_interop: top_srcdir is not set (run me through make "
		                "check)\n");
		return 99;
	}
	why = missing();
	if (why != NULL) {
		fprintf(stderr,
		        "test_signal_interop: SKIP: %s; the /ws interop test with Node's ws did "
		        "not run\n",
		        why);
		return SKIP_STATUS;
	}
	rc = cmocka_run_group_tests_name("signal_interop", tests, group_setup, group_teardown);
	return rc != 0 || teardown_failed ? 1 : 0;
}
