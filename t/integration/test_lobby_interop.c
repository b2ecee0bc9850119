/*
 * test_lobby_interop.c — vcd's media WebSocket /lobby with clients vcd shares
 * no code with: Node's `ws` (t/interop/lobby_ws.mjs) and headless Chromium's
 * own WebSocket (t/interop/lobby_page.mjs serves t/interop/lobby_page.html),
 * both decoding and encoding packets with protobufjs from t/interop/lobby.proto
 * (videocall.rs's field numbers, parsed with keepCase). Both play the scenario
 * of t/interop/lobby_session.mjs with two sessions whose room tokens a real
 * vcd issued over HTTP (/join of a host and of an auto-admitted attendee):
 * the first two packets decoded, a MEDIA packet relayed with the sender's
 * session id filled in and its payload intact, a packet with a session id
 * relayed byte for byte, an RTT probe echoed, the closes echoed with 1000.
 * The report the script prints is checked here, field by field.
 *
 * Needs node 18 or later with ws and protobufjs installed by `npm ci
 * --prefix t/interop` in the source tree, and Chromium ($CHROMIUM, else
 * /usr/bin/chromium; Debian: apt-get install chromium). Without them the
 * program is skipped (exit 77, counted as skipped by t/integration/run.sh)
 * with a message saying what to install; contrib/vcd-dev test installs both.
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
#include "t/lib/vctest_meetings.h"

#define HOST "host@example.com"
#define GUEST "guest@example.com"
#define HOST_NAME "Host Person"
#define GUEST_NAME "Guest Person"
#define SYSTEM_USER "system-&^%$#@!"
#define NODE_MIN 18
#define NODE_MS 40000     /* the Node scenario, start-up included */
#define BROWSER_MS 60000  /* the browser scenario: lobby_page.mjs gives up after 45 s */
#define SKIP_STATUS 77

static char *db_url;
static vct_vcd_t *vcd;
static const char *top;
static const char *chromium;

/* --- running a scenario ---------------------------------------------------- */

/* Host and guest tokens of a new meeting `room` (waiting room off), from vcd. */
static void tokens(const char *room, char **host_token, char **guest_token)
{
	json_t *p;

	vcm_new_room(HOST, room, ",\"waiting_room_enabled\":false");
	p = vcm_join(HOST, room, HOST_NAME);
	*host_token = vct_strf("%s", vct_json_str(p, "room_token"));
	json_decref(p);
	p = vcm_join(GUEST, room, GUEST_NAME);
	if (strcmp(vct_json_str(p, "status"), "admitted") != 0)
		fail_msg("the guest of %s is '%s', expected admitted", room,
		         vct_json_str(p, "status"));
	*guest_token = vct_strf("%s", vct_json_str(p, "room_token"));
	json_decref(p);
}

/* Run `node script` with the scenario's environment: its report (new
 * reference), or the test fails with what the script said. */
static json_t *run_scenario(const char *script, const char *room, unsigned ms)
{
	char *host_token, *guest_token;
	char *path = vct_strf("%s/t/interop/%s", top, script);
	char *e_url = vct_strf("LOBBY_URL=ws://127.0.0.1:%d/lobby", vcd->port);
	char *e_room = vct_strf("ROOM=%s", room);
	char *e_ta, *e_tb, *e_chromium = vct_strf("CHROMIUM=%s", chromium);
	vct_cmd_t r;
	json_error_t err;
	json_t *report;

	tokens(room, &host_token, &guest_token);
	e_ta = vct_strf("TOKEN_A=%s", host_token);
	e_tb = vct_strf("TOKEN_B=%s", guest_token);
	{
		const char *env[] = { e_url, e_room, "USER_A=" HOST, e_ta, "USER_B=" GUEST, e_tb,
			              e_chromium, NULL };
		vct_run_opts_t o = { .env = env, .timeout_ms = ms };
		vct_runl(&r, &o, "node", path, NULL);
	}
	if (r.status != 0)
		fail_msg("node %s exited %d:\n%s%s", script, r.status, r.err, r.out);
	report = json_loads(r.out, 0, &err);
	if (report == NULL)
		fail_msg("node %s printed no JSON report (%s): '%s'", script, err.text, r.out);
	vct_cmd_free(&r);
	free(host_token);
	free(guest_token);
	free(path);
	free(e_url);
	free(e_room);
	free(e_ta);
	free(e_tb);
	free(e_chromium);
	return report;
}

/* --- checking the report ------------------------------------------------------ */

static json_t *obj(const json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_object(v)) {
		char *text = json_dumps(o, JSON_COMPACT);
		fail_msg("the report has no object '%s' in %s", key, text);
	}
	return v;
}

static void expect_str(const json_t *o, const char *key, const char *want, const char *what)
{
	const char *got = vct_json_str(o, key);

	if (strcmp(got, want) != 0)
		fail_msg("%s: %s is '%s', expected '%s'", what, key, got, want);
}

/* A decimal uint64 string of the report (protobufjs longs as String). */
static unsigned long long u64(const json_t *o, const char *key, const char *what)
{
	const char *s = vct_json_str(o, key);
	char *end;
	unsigned long long v = strtoull(s, &end, 10);

	if (*s == '\0' || *end != '\0')
		fail_msg("%s: %s is '%s', not a decimal number", what, key, s);
	return v;
}

/* The first two packets of one session: its session id; *started the
 * meeting's start_time_ms. */
static unsigned long long check_opening(const json_t *s, const char *room, const char *user,
                                        unsigned long long *started, const char *who)
{
	json_t *as = obj(s, "assigned"), *st = obj(s, "started"), *m = obj(st, "meeting");
	unsigned long long sid;
	long long now = vcm_now_ms();
	char *what = vct_strf("%s's SESSION_ASSIGNED", who);

	expect_str(as, "packet_type", "SESSION_ASSIGNED", what);
	expect_str(as, "user_id", SYSTEM_USER, what);
	sid = u64(as, "session_id", what);
	if (sid == 0)
		fail_msg("%s: session_id 0", what);
	if (vct_json_int(as, "data_len") != 0)
		fail_msg("%s: carries %lld bytes of data, expected none", what,
		         (long long)vct_json_int(as, "data_len"));
	free(what);
	what = vct_strf("%s's MEETING_STARTED", who);
	expect_str(st, "packet_type", "MEETING", what);
	expect_str(st, "user_id", SYSTEM_USER, what);
	expect_str(m, "event_type", "MEETING_STARTED", what);
	expect_str(m, "room_id", room, what);
	expect_str(m, "creator_id", user, what);
	*started = u64(m, "start_time_ms", what);
	if ((long long)*started > now + 5000 || (long long)*started < now - 600000)
		fail_msg("%s: start_time_ms %llu is not a time in the last ten minutes (now %lld)",
		         what, *started, now);
	free(what);
	return sid;
}

/* PARTICIPANT_JOINED of user's session, as the report decoded it. */
static void check_joined(const json_t *m, const char *room, const char *user,
                         unsigned long long sid, const char *name, const char *what)
{
	char *msg = vct_strf("%s has joined the meeting", user);

	expect_str(m, "event_type", "PARTICIPANT_JOINED", what);
	expect_str(m, "room_id", room, what);
	expect_str(m, "target_user_id", user, what);
	expect_str(m, "display_name", name, what);
	expect_str(m, "message", msg, what);
	if (u64(m, "session_id", what) != sid)
		fail_msg("%s: session_id %llu, expected %llu", what, u64(m, "session_id", what),
		         sid);
	free(msg);
}

static void check_report(const json_t *r, const char *room)
{
	unsigned long long sa, sb, ta, tb;
	json_t *bg = obj(r, "b_got"), *ag = obj(r, "a_got"), *close = obj(r, "close"), *before;

	sa = check_opening(obj(r, "a"), room, HOST, &ta, "A (the host)");
	sb = check_opening(obj(r, "b"), room, GUEST, &tb, "B (the guest)");
	if (sa == sb)
		fail_msg("A and B got the same session id %llu", sa);
	if (ta != tb)
		fail_msg("MEETING_STARTED: start_time_ms %llu for A, %llu for B; both are the "
		         "room's start",
		         ta, tb);
	/* A's media reached B with A's session id, its payload intact. */
	expect_str(bg, "packet_type", "MEDIA", "A's media at B");
	expect_str(bg, "user_id", HOST, "A's media at B");
	expect_str(bg, "media_type", "VIDEO", "A's media at B");
	expect_str(bg, "media_user_id", HOST, "A's media at B");
	expect_str(bg, "frame_type", "key", "A's media at B");
	if (u64(bg, "session_id", "A's media at B") != sa)
		fail_msg("A's media at B has session_id %llu, expected A's %llu (filled in)",
		         u64(bg, "session_id", "A's media at B"), sa);
	if (json_real_value(json_object_get(bg, "timestamp")) != 1234.5 ||
	    vct_json_int(bg, "data_len") != 1500 || !vct_json_bool(bg, "data_intact"))
		fail_msg("A's media at B: timestamp %g, %lld bytes of data, intact %d; expected "
		         "1234.5, 1500, true",
		         json_real_value(json_object_get(bg, "timestamp")),
		         (long long)vct_json_int(bg, "data_len"), vct_json_bool(bg, "data_intact"));
	if (vct_json_int(bg, "got_len") <= vct_json_int(bg, "sent_len"))
		fail_msg("A's media at B is %lld bytes, sent %lld: no session_id was added",
		         (long long)vct_json_int(bg, "got_len"),
		         (long long)vct_json_int(bg, "sent_len"));
	/* Before it, B heard of A's activation, and of nothing else. */
	before = json_object_get(bg, "meetings_before");
	if (json_array_size(before) != 1)
		fail_msg("B got %zu MEETING packets before A's media, expected 1 "
		         "(A's PARTICIPANT_JOINED)",
		         json_array_size(before));
	check_joined(json_array_get(before, 0), room, HOST, sa, HOST_NAME, "B's notice of A");
	/* B's packet, with its own session id, reached A byte for byte. */
	if (!vct_json_bool(ag, "identical"))
		fail_msg("B's media (with its session id) did not reach A byte for byte");
	expect_str(ag, "packet_type", "MEDIA", "B's media at A");
	expect_str(ag, "media_type", "AUDIO", "B's media at A");
	if (u64(ag, "session_id", "B's media at A") != sb)
		fail_msg("B's media at A has session_id %llu, expected %llu",
		         u64(ag, "session_id", "B's media at A"), sb);
	before = json_object_get(ag, "meetings_before");
	if (json_array_size(before) != 2)
		fail_msg("A got %zu MEETING packets before B's media, expected 2 (its own "
		         "PARTICIPANT_JOINED, then B's)",
		         json_array_size(before));
	check_joined(json_array_get(before, 0), room, HOST, sa, HOST_NAME, "A's own notice");
	check_joined(json_array_get(before, 1), room, GUEST, sb, GUEST_NAME, "A's notice of B");
	if (!vct_json_bool(r, "rtt_echo_identical"))
		fail_msg("A's RTT probe did not come back as it was sent");
	if (vct_json_int(close, "a") != 1000 || vct_json_int(close, "b") != 1000)
		fail_msg("the closes came back with %lld and %lld, expected 1000 (echoed)",
		         (long long)vct_json_int(close, "a"), (long long)vct_json_int(close, "b"));
	expect_str(r, "room", room, "the report");
}

/* --- cases ------------------------------------------------------------------- */

static void test_node_ws(void **state)
{
	json_t *r = run_scenario("lobby_ws.mjs", "interop-node-ws", NODE_MS);

	check_report(r, "interop-node-ws");
	expect_str(r, "implementation", "node ws", "the report");
	json_decref(r);
	vct_pass();
}

static void test_chromium(void **state)
{
	json_t *r = run_scenario("lobby_page.mjs", "interop-chromium", BROWSER_MS);
	const char *ua = vct_json_str(r, "implementation");

	check_report(r, "interop-chromium");
	if (strstr(ua, "HeadlessChrome") == NULL)
		fail_msg("the page ran in '%s', expected headless Chromium", ua);
	json_decref(r);
	vct_pass();
}

/* --- main ----------------------------------------------------------------------- */

/* Why this program cannot run here (a static string), or NULL. */
static const char *missing(void)
{
	static const char *const modules[] = { "ws/package.json", "protobufjs/package.json",
		                               "protobufjs/dist/protobuf.min.js" };
	char line[64] = "";
	FILE *f = popen("node --version 2>/dev/null", "r");

	if (f == NULL || fgets(line, sizeof(line), f) == NULL) {
		if (f != NULL)
			pclose(f);
		return "node is not on PATH: install Node.js 18 or later (Debian: apt-get "
		       "install nodejs npm), then run `npm ci --prefix t/interop` in the source "
		       "tree";
	}
	pclose(f);
	if (line[0] != 'v' || atoi(line + 1) < NODE_MIN)
		return "node is older than 18, which the /lobby interop test needs";
	for (size_t i = 0; i < sizeof(modules) / sizeof(modules[0]); i++) {
		char *p = vct_strf("%s/t/interop/node_modules/%s", top, modules[i]);
		bool ok = access(p, R_OK) == 0;
		free(p);
		if (!ok)
			return "ws and protobufjs are not installed: run `npm ci --prefix "
			       "t/interop` in the source tree";
	}
	if (access(chromium, X_OK) != 0)
		return "Chromium is not installed (Debian: apt-get install chromium; or set "
		       "CHROMIUM to its path)";
	return NULL;
}

static int group_setup(void **state)
{
	char *more = vct_strf("nats_url = %s\n", vct_env("VCT_NATS_URL"));

	vcd = vcm_start("lobby_interop", "lobby_interop", more, &db_url);
	vcm_wait_nats(vcd);
	free(more);
	return 0;
}

/* cmocka reports a failed group teardown but does not count it in its exit
 * status: a vcd that crashed on SIGTERM must fail the program. */
static bool teardown_failed;

static int group_teardown(void **state)
{
	int rc = vcm_finish(vcd, &db_url);

	teardown_failed = rc != 0;
	return rc;
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, vct_setup, vct_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_node_ws),
		T(test_chromium),
	};
	const char *why;
	int rc;

	top = getenv("top_srcdir");
	if (top == NULL || *top == '\0') {
		fprintf(stderr, "test_lobby_interop: top_srcdir is not set (run me through make "
		                "check)\n");
		return 99;
	}
	chromium = getenv("CHROMIUM") != NULL && *getenv("CHROMIUM") != '\0'
	                   ? getenv("CHROMIUM")
	                   : "/usr/bin/chromium";
	why = missing();
	if (why != NULL) {
		fprintf(stderr,
		        "test_lobby_interop: SKIP: %s; the /lobby interop test with Node's ws and "
		        "headless Chromium did not run\n",
		        why);
		return SKIP_STATUS;
	}
	rc = cmocka_run_group_tests_name("lobby_interop", tests, group_setup, group_teardown);
	return rc != 0 || teardown_failed ? 1 : 0;
}
