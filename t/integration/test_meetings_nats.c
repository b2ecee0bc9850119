/*
 * test_meetings_nats.c — meeting events when NATS is down (vcd's issue: "no
 * NATS configured → a no-op; NATS down → requests still succeed, the
 * failure is counted in /metrics and logged once per outage").
 *
 * The test runs a nats-server of its own on a free port (as test_nats.c
 * does) so that it can kill it, and one vcd (VCM_CONF) with nats_url
 * pointing to it. The same meeting flow (create, the host joins, a guest
 * joins and waits, admit, the guest leaves, end) runs with NATS up, with
 * NATS killed and with no nats_url at all: the answers agree (times,
 * tokens and the room aside), the rows are committed, and /metrics and the
 * log say what runtime/nats.c promises. When the server comes back on the
 * same port vcd reconnects and publishes again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "t/lib/vctest.h"
#include "t/lib/vctest_meetings.h"
#include "wire/proto.h"

#define HOST "host@example.com"
#define GUEST "guest@example.com"
#define HOST_NAME "Host User"
#define GUEST_NAME "Guest User"
#define FLOW_EVENTS 4 /* ACTIVATED, WAITING_ROOM_UPDATED, ADMITTED, ENDED */
#define QUIET_MS 300  /* no further event within this after the last one expected */
#define SLACK_MS 1000 /* a flow with NATS down may take this much longer than with it up */

/* runtime/nats.c's words. */
#define LOG_PUBLISH_FAILED                                                                         \
	"nats: publish failed, NATS unreachable; further failures are counted in /metrics"
#define LOG_LOST "nats: lost the connection to"
#define LOG_RECONNECTED "nats: reconnected to"
#define LOG_AGAIN "; publishing again (%.0f publishes failed so far, see /metrics)"
#define LOG_NO_NATS "nats: no nats_url, running as a single node"

#define M_CONNECTED "vcd_nats_connected"
#define M_PUBLISHED "vcd_nats_published_total"
#define M_FAILURES "vcd_nats_publish_failures_total"
#define M_RECONNECTS "vcd_nats_reconnects_total"

static struct {
	char *db_url;
	vct_vcd_t *vcd;
	int port;       /* the nats-server's */
	char *url;      /* nats://127.0.0.1:port */
	pid_t server;   /* 0 when not running */
	json_t *normal; /* the flow's answers with NATS up (times etc. blanked) */
	json_t *normal_info, *normal_show;
	uint64_t normal_ms; /* how long that flow took */
	size_t outage_at;   /* length of vcd's log when the server was killed */
} t;

/* --- a nats-server of our own (as test_nats.c) ----------------------------- */

/* --- metrics and the log ----------------------------------------------------- */

static double metric(const char *sample)
{
	double v = vct_metric_get(t.vcd->port, sample);

	if (v < 0)
		fail_msg("/metrics of %s has no %s", t.vcd->name, sample);
	return v;
}

/* Poll /metrics until `sample` is `want` (bounded); fail otherwise. */
static void wait_metric(const char *sample, double want, unsigned ms)
{
	uint64_t end = vct_now_ms() + ms;
	double got;

	while ((got = vct_metric_get(t.vcd->port, sample)) != want) {
		if (vct_now_ms() > end)
			fail_msg("%s is %.0f after %u ms, expected %.0f", sample, got, ms, want);
		vct_sleep_ms(20);
	}
}

/* Lines of `text` (up to `end`, NULL: all of it) that contain `needle`. */
static unsigned count_lines(const char *text, const char *end, const char *needle)
{
	unsigned n = 0;
	const char *p = text;

	while ((p = strstr(p, needle)) != NULL && (end == NULL || p < end)) {
		n++;
		p = strchr(p, '\n');
		if (p == NULL)
			break;
	}
	return n;
}

static void expect_log_count(const char *needle, unsigned want)
{
	unsigned got = vct_vcd_log_count(t.vcd, needle);

	if (got != want)
		fail_msg("vcd's log has '%s' %u times, expected %u", needle, got, want);
}

/* --- the meeting flow -------------------------------------------------------- */

/* Members that differ from one run to the next: times, tokens, the room.
 * Their values become their type, so that only presence and type compare. */
static const char *const volatile_members[] = {
	"meeting_id", "created_at",  "started_at", "ended_at",
	"joined_at",  "admitted_at", "room_token", "observer_token",
};

static bool is_volatile(const char *key)
{
	for (size_t i = 0; i < sizeof(volatile_members) / sizeof(volatile_members[0]); i++)
		if (strcmp(key, volatile_members[i]) == 0)
			return true;
	return false;
}

static const char *type_name(const json_t *v)
{
	static const char *const names[] = {
		[JSON_OBJECT] = "<object>",   [JSON_ARRAY] = "<array>", [JSON_STRING] = "<string>",
		[JSON_INTEGER] = "<integer>", [JSON_REAL] = "<real>",   [JSON_TRUE] = "<bool>",
		[JSON_FALSE] = "<bool>",      [JSON_NULL] = "<null>",
	};

	return names[json_typeof(v)];
}

/* j with the volatile members' values replaced by their types (changed in
 * place, and returned). */
static json_t *blank(json_t *j)
{
	const char *key;
	json_t *v;
	void *tmp;
	size_t i;

	if (json_is_array(j)) {
		json_array_foreach(j, i, v) blank(v);
	} else if (json_is_object(j)) {
		json_object_foreach_safe(j, tmp, key, v)
		{
			if (is_volatile(key))
				json_object_set_new(j, key, json_string(type_name(v)));
			else
				blank(v);
		}
	}
	return j;
}

/* Fail unless `got` (blanked) equals `want`; what names the two. */
static void expect_same(const json_t *want, const json_t *got, const char *what)
{
	char *w, *g;

	if (want == NULL)
		fail_msg("%s: no answers with NATS up to compare with (test_events_published "
		         "failed?)",
		         what);
	if (json_equal(want, got))
		return;
	w = json_dumps(want, JSON_COMPACT | JSON_SORT_KEYS);
	g = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);
	fail_msg("%s differ from those with NATS up:\n  up:   %s\n  here: %s", what, w, g);
}

/* create, the host joins (activates), a guest joins (waits), admit, the
 * guest leaves, the host ends it: every answer checked, and all of them
 * returned by step, blanked. */
static json_t *meeting_flow(const char *room)
{
	char *body = vct_strf("{\"meeting_id\":\"%s\"}", room);
	json_t *all = json_object(), *j;
	long long t0, t1;

	j = vcm_create(HOST, body);
	assert_string_equal(vct_json_str(j, "meeting_id"), room);
	assert_string_equal(vct_json_str(j, "state"), "idle");
	json_object_set_new(all, "create", j);
	t0 = vcm_now();
	j = vcm_join(HOST, room, HOST_NAME);
	t1 = vcm_now();
	vcm_participant(j, HOST, "admitted", true);
	vcm_room_token(vct_json_str(j, "room_token"), HOST, room, true, HOST_NAME, t0, t1);
	json_object_set_new(all, "host_join", j);
	t0 = vcm_now();
	j = vcm_join(GUEST, room, GUEST_NAME);
	t1 = vcm_now();
	vcm_participant(j, GUEST, "waiting", false);
	vcm_observer_token(vct_json_str(j, "observer_token"), GUEST, room, GUEST_NAME, t0, t1);
	json_object_set_new(all, "guest_join", j);
	json_object_set_new(all, "admit", vcm_admit(HOST, room, GUEST));
	j = vcm_ok(GUEST, "POST", room, "leave", NULL, 200);
	vcm_participant(j, GUEST, "left", false);
	json_object_set_new(all, "leave", j);
	j = vcm_ok(HOST, "POST", room, "end", NULL, 200);
	vcm_shape(j, VCM_INFO_SHAPE, "end answer");
	assert_string_equal(vct_json_str(j, "meeting_id"), room);
	assert_string_equal(vct_json_str(j, "state"), "ended");
	vcm_millis(j, "ended_at");
	json_object_set_new(all, "end", j);
	free(body);
	return blank(all);
}

/* What the database holds afterwards, by GET and by vcctl meetings show
 * (blanked, new references). */
static json_t *stored_info(const char *room)
{
	json_t *m = vcm_ok(HOST, "GET", room, NULL, NULL, 200);

	vcm_shape(m, VCM_INFO_SHAPE, "MeetingInfoResponse");
	assert_string_equal(vct_json_str(m, "state"), "ended");
	return blank(m);
}

static json_t *stored_show(const char *room)
{
	json_t *m = vct_vcctl_json(t.vcd, (const char *const[]){ "meetings", "show", room, NULL });
	json_t *ps = json_object_get(m, "participants");

	assert_string_equal(vct_json_str(m, "meeting_id"), room);
	assert_string_equal(vct_json_str(m, "state"), "ended");
	assert_int_equal(vct_json_int(m, "participant_rows"), 2);
	assert_int_equal(json_array_size(ps), 2);
	assert_string_equal(vct_json_str(vcm_find_user(ps, HOST), "status"), "admitted");
	assert_string_equal(vct_json_str(vcm_find_user(ps, GUEST), "status"), "left");
	return blank(m);
}

/* vcd publishes MEETING_ENDED with fields of its choice: decoded. */
static void expect_ended_event(vcm_sub_t *s, unsigned i, const char *room)
{
	vcm_event_t e;
	size_t len;
	uint8_t *b;

	if (vcm_sub_wait(s, i + 1, 5000) < i + 1)
		fail_msg("NATS: MEETING_ENDED for %s (event #%u) did not arrive within 5 s", room,
		         i);
	b = vcm_sub_msg(s, i, &len, NULL);
	if (!vcm_decode_event(b, len, &e) || e.packet_type != VC_PACKET_MEETING ||
	    e.event_type != VC_EV_MEETING_ENDED || strcmp(e.room_id, room) != 0)
		fail_msg("NATS: event #%u is packet %d, event %d for '%s'; expected MEETING_ENDED "
		         "(2) for '%s'",
		         i, e.packet_type, e.event_type, e.room_id, room);
	free(b);
}

/* --- cases -------------------------------------------------------------------- */

/* NATS up: the flow's events arrive on room.{id}.system, counted as published. */
static void test_events_published(void **state)
{
	const char *room = "n-up";
	vcm_sub_t *s = vcm_sub_open("room.n-up.system");
	double pub = metric(M_PUBLISHED);
	uint64_t t0 = vct_now_ms();

	t.normal = meeting_flow(room);
	t.normal_ms = vct_now_ms() - t0;
	vcm_expect_event(s, 0, VC_EV_MEETING_ACTIVATED, room, NULL);
	vcm_expect_event(s, 1, VC_EV_WAITING_ROOM_UPDATED, room, NULL);
	vcm_expect_event(s, 2, VC_EV_PARTICIPANT_ADMITTED, room, GUEST);
	expect_ended_event(s, 3, room);
	vcm_expect_count(s, FLOW_EVENTS, QUIET_MS);
	vcm_sub_close(s);
	t.normal_info = stored_info(room);
	t.normal_show = stored_show(room);
	assert_true(metric(M_PUBLISHED) >= pub + FLOW_EVENTS);
	assert_true(metric(M_FAILURES) == 0);
	assert_true(metric(M_CONNECTED) == 1);
	vct_pass();
}

/* NATS killed: the same flow answers the same, the rows are written, the
 * failed publishes are counted, and the log says so once. */
static void test_flow_while_nats_down(void **state)
{
	const char *room = "n-down";
	double pub = metric(M_PUBLISHED), failed = metric(M_FAILURES);
	json_t *answers, *info, *show;
	char *log = vct_vcd_log(t.vcd);
	uint64_t t0, ms;

	t.outage_at = strlen(log);
	free(log);
	vct_nats_server_kill(&t.server);
	wait_metric(M_CONNECTED, 0, 5000);

	t0 = vct_now_ms();
	answers = meeting_flow(room);
	ms = vct_now_ms() - t0;
	expect_same(t.normal, answers, "the answers with NATS down");
	if (ms > t.normal_ms + SLACK_MS)
		fail_msg("the flow took %llu ms with NATS down, %llu ms with it up",
		         (unsigned long long)ms, (unsigned long long)t.normal_ms);
	info = stored_info(room);
	expect_same(t.normal_info, info, "GET of the meeting afterwards");
	show = stored_show(room);
	expect_same(t.normal_show, show, "vcctl meetings show afterwards");

	if (metric(M_FAILURES) < failed + FLOW_EVENTS)
		fail_msg("%s grew from %.0f to %.0f over a flow of %d events with NATS down",
		         M_FAILURES, failed, metric(M_FAILURES), FLOW_EVENTS);
	assert_true(metric(M_PUBLISHED) == pub);
	assert_true(metric(M_CONNECTED) == 0);
	if (!vct_vcd_wait_log(t.vcd, LOG_PUBLISH_FAILED, 5000))
		fail_msg("vcd did not log '%s' within 5 s", LOG_PUBLISH_FAILED);
	assert_true(vct_vcd_wait_log(t.vcd, LOG_LOST, 5000));
	expect_log_count(LOG_PUBLISH_FAILED, 1);
	expect_log_count(LOG_LOST, 1);
	json_decref(answers);
	json_decref(info);
	json_decref(show);
	vct_pass();
}

/* The server is back on the same port: vcd reconnects (counted, logged with
 * the outage's failures), nothing of the outage is replayed, and the next
 * events arrive. Over the whole outage: two warnings, no errors. */
static void test_nats_back(void **state)
{
	const char *room = "n-back";
	vcm_sub_t *s;
	char *again, *log;
	const char *from, *to;
	double pub, failed;

	if (t.server != 0 || t.outage_at == 0)
		fail_msg("no outage to end (test_flow_while_nats_down did not kill the server)");
	t.server = vct_nats_server_start(t.port, 0, true);
	/* Subscribed before vcd reconnects (it retries every second): a replay of
	 * the outage's events would arrive first. */
	s = vcm_sub_open("room.*.system");
	wait_metric(M_CONNECTED, 1, 15000);
	if (!vct_vcd_wait_log(t.vcd, LOG_RECONNECTED, 5000))
		fail_msg("vcd did not log '%s' within 5 s", LOG_RECONNECTED);
	failed = metric(M_FAILURES);
	again = vct_strf(LOG_AGAIN, failed);
	if (!vct_vcd_log_has(t.vcd, again))
		fail_msg("vcd's log has no '%s'", again);
	assert_true(metric(M_RECONNECTS) == 1);

	log = vct_vcd_log(t.vcd);
	assert_true(strlen(log) > t.outage_at);
	from = log + t.outage_at;
	to = strstr(from, LOG_RECONNECTED);
	assert_non_null(to);
	if (count_lines(from, to, "Z warn ") != 2 || count_lines(from, to, "Z error ") != 0 ||
	    count_lines(from, to, LOG_PUBLISH_FAILED) != 1 || count_lines(from, to, LOG_LOST) != 1)
		fail_msg("the outage's log lines are not one '%s' and one '%s' warning:\n%.*s",
		         LOG_LOST, LOG_PUBLISH_FAILED, (int)(to - from), from);
	free(log);
	expect_log_count(LOG_PUBLISH_FAILED, 1);

	pub = metric(M_PUBLISHED);
	vcm_new_room(HOST, room, NULL);
	json_decref(vcm_join(HOST, room, HOST_NAME));
	json_decref(vcm_join(GUEST, room, NULL));
	vcm_expect_event(s, 0, VC_EV_MEETING_ACTIVATED, room, NULL);
	vcm_expect_event(s, 1, VC_EV_WAITING_ROOM_UPDATED, room, NULL);
	vcm_expect_count(s, 2, QUIET_MS);
	vcm_sub_close(s);
	assert_true(metric(M_PUBLISHED) >= pub + 2);
	assert_true(metric(M_FAILURES) == failed);
	free(again);
	vct_pass();
}

/* No nats_url: the flow answers the same and nothing is published. */
static void test_no_nats(void **state)
{
	vct_vcd_t *v = vct_vcd_start("mnats_off", t.db_url, VCM_CONF);
	json_t *answers;

	vcm_target(v);
	answers = meeting_flow("n-off");
	expect_same(t.normal, answers, "the answers without NATS");
	assert_true(vct_metric_get(v->port, M_PUBLISHED) == 0);
	assert_true(vct_metric_get(v->port, M_FAILURES) == 0);
	assert_true(vct_metric_get(v->port, M_CONNECTED) == 0);
	assert_true(vct_vcd_log_has(v, LOG_NO_NATS));
	assert_false(vct_vcd_log_has(v, "nats: publish"));
	vct_vcd_stop_ok(v);
	json_decref(answers);
	vct_pass();
}

/* --- main ----------------------------------------------------------------- */

static int group_setup(void **state)
{
	char *conf;

	vcm_init();
	t.port = vct_free_port();
	t.url = vct_strf("nats://127.0.0.1:%d", t.port);
	/* The helpers' subscriber (vcm_sub_open) connects to $VCT_NATS_URL: ours. */
	setenv("VCT_NATS_URL", t.url, 1);
	t.server = vct_nats_server_start(t.port, 0, true);
	t.db_url = vct_db_create("meetings_nats");
	conf = vct_strf(VCM_CONF "nats_url = %s\n", t.url);
	t.vcd = vct_vcd_start("mnats", t.db_url, conf);
	vct_vcd_keep(t.vcd);
	vcm_target(t.vcd);
	vcm_wait_nats(t.vcd);
	free(conf);
	return 0;
}

static int group_teardown(void **state)
{
	int rc = vct_vcd_finish(t.vcd);

	vct_nats_server_kill(&t.server);
	json_decref(t.normal);
	json_decref(t.normal_info);
	json_decref(t.normal_show);
	free(t.db_url);
	free(t.url);
	return rc;
}

static int case_teardown(void **state)
{
	vcm_target(t.vcd);
	return vct_teardown(state);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, vct_setup, case_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_events_published),
		T(test_flow_while_nats_down),
		T(test_nats_back),
		T(test_no_nats),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
