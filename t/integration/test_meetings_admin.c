/*
 * test_meetings_admin.c — the meetings verbs of vcctl against a real vcd,
 * PostgreSQL and nats-server: meetings list/show/end/delete and
 * participants kick, human and --json. Meetings are made over the HTTP API
 * (callers with forged session JWTs, as the conformance tests do); what a
 * user relies on is then checked where it shows: the API's answers to the
 * people in the meeting (status after an end or a kick, 404 after a
 * delete), the database, and the NATS events the meeting actor publishes
 * (MEETING_ENDED, PARTICIPANT_LEFT), exactly as for the REST API. The
 * operator's caller id never becomes a participant row.
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
#include "t/lib/vctest_meetings.h"
#include "wire/proto.h"

#define LIST_MAX 1000 /* VC_ADMIN_LIST_MAX */
#define HOST "admin-host@example.com"
#define HOST_NAME "Host User"
#define P1 "admin-p1@example.com"
#define P2 "admin-p2@example.com"
#define P3 "admin-p3@example.com"
#define NO_WAITING ",\"waiting_room_enabled\":false"
#define QUIET_MS 300

static vct_vcd_t *vcd;
static char *db_url;

/* --- vcctl ---------------------------------------------------------------- */

/* vcctl against this program's vcd (t/lib/vctest.h). */
#define ctl_argv(r, json, ...) vct_vcctl((r), vcd, (json), __VA_ARGS__)
#define ctl_json(...) vct_vcctl_json(vcd, __VA_ARGS__)
#define expect_status vct_expect_exit
#define CTL(r, json, ...) ctl_argv((r), (json), (const char *const[]){ __VA_ARGS__, NULL })
#define CTLJ(...) ctl_json((const char *const[]){ __VA_ARGS__, NULL })

/* vcctl [--json] words…: expect exit 1, `msg` on stderr and nothing on stdout. */
static void ctl_fails(bool json, const char *msg, const char *const *words)
{
	vct_cmd_t r;

	ctl_argv(&r, json, words);
	expect_status(&r, 1);
	if (strstr(r.err, msg) == NULL)
		fail_msg("vcctl said '%s', expected '%s'", r.err, msg);
	assert_string_equal(r.out, "");
	vct_cmd_free(&r);
}

#define CTL_FAILS(msg, ...) ctl_fails(false, (msg), (const char *const[]){ __VA_ARGS__, NULL })
#define CTLJ_FAILS(msg, ...) ctl_fails(true, (msg), (const char *const[]){ __VA_ARGS__, NULL })

/* --- values --------------------------------------------------------------- */

/* "2026-11-22T14:41:45Z" */
static void expect_iso(const json_t *o, const char *key)
{
	const char *s = vct_json_str(o, key);
	static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";

	for (size_t i = 0; i < sizeof(shape) - 1; i++)
		if (shape[i] == 'd' ? s[i] < '0' || s[i] > '9' : s[i] != shape[i])
			fail_msg("%s = '%s' is not ISO 8601 UTC like 2026-11-22T14:41:45Z", key, s);
	assert_int_equal(strlen(s), sizeof(shape) - 1);
}

static void expect_null(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_null(v))
		fail_msg("%s is %s, expected null", key, v ? "set" : "absent");
}

/* The element of array `list` whose `key` is the string `val`, or NULL;
 * its index in *at. */
static json_t *find(const json_t *list, const char *key, const char *val, size_t *at)
{
	size_t i;
	json_t *e;

	json_array_foreach(list, i, e)
	{
		const char *s = json_string_value(json_object_get(e, key));
		if (s != NULL && strcmp(s, val) == 0) {
			if (at != NULL)
				*at = i;
			return e;
		}
	}
	return NULL;
}

/* Fail unless every element of `list` has member `key` equal to `val`. */
static void all_have(const json_t *list, const char *key, const char *val)
{
	size_t i;
	json_t *e;

	json_array_foreach(list, i, e)
	{
		if (strcmp(vct_json_str(e, key), val) != 0)
			fail_msg("element %zu has %s '%s', expected only '%s'", i, key,
			         vct_json_str(e, key), val);
	}
}

/* Fail unless a line of `out`, its runs of spaces made one and trimmed,
 * starts with `want` (a table row, whatever the column widths). */
static void expect_row(const char *out, const char *want)
{
	for (const char *l = out; *l != '\0';) {
		size_t n = strcspn(l, "\n"), k = 0;
		char *line = malloc(n + 1);

		for (size_t i = 0; i < n; i++)
			if (l[i] != ' ' || (k > 0 && line[k - 1] != ' '))
				line[k++] = l[i];
		line[k] = '\0';
		if (strncmp(line, want, strlen(want)) == 0) {
			free(line);
			return;
		}
		free(line);
		l += n + (l[n] == '\n');
	}
	fail_msg("no line starting with '%s' in:\n%s", want, out);
}

static long long db_count(const char *sql)
{
	char *v = vct_db_value(db_url, sql);
	long long n = v ? strtoll(v, NULL, 10) : -1;

	free(v);
	return n;
}

/* The database's value of a meeting column as ISO 8601 UTC (malloc'd):
 * as stored (`meetings list` reads it so), or as the meeting actor has it,
 * in milliseconds (vcd_ms rounds), for what vcd formats itself. */
static char *db_iso_at(const char *room, const char *col, bool as_ms)
{
	char *t = as_ms ? vct_strf("to_timestamp(floor(vcd_ms(%s) / 1000.0))", col)
	                : vct_strf("%s", col);
	char *v = vct_db_valuef(db_url,
	                        "SELECT to_char(%s AT TIME ZONE 'UTC',"
	                        " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM meetings"
	                        " WHERE room_id = '%s' AND deleted_at IS NULL",
	                        t, room);

	free(t);
	return v;
}

#define db_iso(room, col) db_iso_at((room), (col), false)
#define db_iso_ms(room, col) db_iso_at((room), (col), true)

/* --- the API -------------------------------------------------------------- */

static char *user_body(const char *user)
{
	return vct_strf("{\"user_id\":\"%s\"}", user);
}

/* The participant's own status answer (200). */
static json_t *my_status(const char *user, const char *room)
{
	return vcm_ok(user, "GET", room, "status", NULL, 200);
}

/* No participant row for vcctl's caller id, whatever was done. */
static void no_operator_rows(void)
{
	assert_int_equal(db_count("SELECT count(*) FROM meeting_participants"
	                          " WHERE user_id = 'vcctl'"),
	                 0);
}

/* --- NATS ----------------------------------------------------------------- */

static bool event_is(vcm_sub_t *s, unsigned i, int event, const char *room, const char *target)
{
	size_t len;
	uint8_t *b = vcm_sub_msg(s, i, &len, NULL);
	vcm_event_t e;
	bool ok = vcm_decode_event(b, len, &e) && e.packet_type == VC_PACKET_MEETING &&
	          strcmp(e.user_id, VC_SYSTEM_USER_ID) == 0 && e.event_type == event &&
	          strcmp(e.room_id, room) == 0 && (target == NULL || strcmp(e.target, target) == 0);

	free(b);
	return ok;
}

/* How many events `event` (for room, and target unless NULL) s has got. */
static unsigned events_of(vcm_sub_t *s, int event, const char *room, const char *target)
{
	unsigned n = 0, got = vcm_sub_count(s);

	for (unsigned i = 0; i < got; i++)
		n += event_is(s, i, event, room, target);
	return n;
}

/* Wait up to 5 s until s has got `want` such events, then QUIET_MS more:
 * fail unless exactly `want`. */
static void expect_events(vcm_sub_t *s, unsigned want, int event, const char *room,
                          const char *target)
{
	uint64_t until = vct_now_ms() + 5000;
	unsigned n;

	while ((n = events_of(s, event, room, target)) < want && vct_now_ms() < until)
		vcm_sub_wait(s, vcm_sub_count(s) + 1, 100);
	vct_sleep_ms(QUIET_MS);
	n = events_of(s, event, room, target);
	if (n != want)
		fail_msg("NATS: %u events %d for '%s' (target '%s'), expected %u", n, event, room,
		         target ? target : "any", want);
}

/* --- meetings list -------------------------------------------------------- */

static void test_list(void **state)
{
	const char *own_a = "lister-a@example.com", *own_b = "lister-b@example.com";
	json_t *list, *a, *b, *c;
	size_t ia, ib, ic;
	vct_cmd_t r;

	vcm_new_room(own_a, "adm-l-a", NULL);
	vcm_new_room(own_b, "adm-l-b", NULL);
	vcm_new_room(own_a, "adm-l-c", NULL);
	vcm_new_room(own_a, "adm-l-gone", NULL);
	json_decref(vcm_join(own_b, "adm-l-b", "Bee"));
	json_decref(vcm_ok(own_a, "POST", "adm-l-c", "end", NULL, 200));
	json_decref(vcm_ok(own_a, "DELETE", "adm-l-gone", NULL, NULL, 200));

	/* Everyone's, newest first, deleted ones left out. */
	list = CTLJ("meetings", "list");
	assert_true(json_is_array(list));
	a = find(list, "meeting_id", "adm-l-a", &ia);
	b = find(list, "meeting_id", "adm-l-b", &ib);
	c = find(list, "meeting_id", "adm-l-c", &ic);
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	assert_null(find(list, "meeting_id", "adm-l-gone", NULL));
	assert_true(ic < ib && ib < ia);
	assert_int_equal(json_object_size(a), 7);
	assert_string_equal(vct_json_str(a, "state"), "idle");
	assert_string_equal(vct_json_str(a, "owner"), own_a);
	assert_int_equal(vct_json_int(a, "participant_count"), 0);
	assert_int_equal(vct_json_int(a, "waiting_count"), 0);
	expect_iso(a, "created_at");
	expect_null(a, "ended_at");
	assert_string_equal(vct_json_str(b, "state"), "active");
	assert_string_equal(vct_json_str(b, "owner"), own_b);
	assert_int_equal(vct_json_int(b, "participant_count"), 1);
	assert_string_equal(vct_json_str(c, "state"), "ended");
	expect_iso(c, "ended_at");
	{
		char *want = db_iso("adm-l-c", "ended_at");
		assert_string_equal(vct_json_str(c, "ended_at"), want);
		free(want);
	}
	json_decref(list);

	/* Filters: by state, by owner, both; both spellings. */
	list = CTLJ("meetings", "list", "--state", "active");
	assert_non_null(find(list, "meeting_id", "adm-l-b", NULL));
	assert_null(find(list, "meeting_id", "adm-l-a", NULL));
	all_have(list, "state", "active");
	json_decref(list);
	list = CTLJ("meetings", "list", "--state=idle");
	assert_non_null(find(list, "meeting_id", "adm-l-a", NULL));
	assert_null(find(list, "meeting_id", "adm-l-b", NULL));
	assert_null(find(list, "meeting_id", "adm-l-c", NULL));
	all_have(list, "state", "idle");
	json_decref(list);
	list = CTLJ("meetings", "list", "--owner", own_a);
	assert_int_equal(json_array_size(list), 2);
	assert_string_equal(vct_json_str(json_array_get(list, 0), "meeting_id"), "adm-l-c");
	assert_string_equal(vct_json_str(json_array_get(list, 1), "meeting_id"), "adm-l-a");
	json_decref(list);
	list = CTLJ("meetings", "list", "--owner=lister-a@example.com", "--state", "ended");
	assert_int_equal(json_array_size(list), 1);
	assert_string_equal(vct_json_str(json_array_get(list, 0), "meeting_id"), "adm-l-c");
	json_decref(list);
	list = CTLJ("meetings", "list", "--state", "active", "--owner", "nobody@example.com");
	assert_true(json_is_array(list));
	assert_int_equal(json_array_size(list), 0);
	json_decref(list);

	/* For humans: a table with a header row. */
	CTL(&r, false, "meetings", "list", "--owner", own_a);
	expect_status(&r, 0);
	assert_int_equal(vct_count_lines(r.out), 3);
	assert_true(strncmp(r.out, "meeting_id", 10) == 0);
	assert_non_null(strstr(r.out, "participant_count"));
	expect_row(r.out, "meeting_id state owner participant_count waiting_count created_at "
	                  "ended_at");
	expect_row(r.out, "adm-l-c ended lister-a@example.com 0 0 ");
	expect_row(r.out, "adm-l-a idle lister-a@example.com 0 0 ");
	assert_string_equal(r.err, "");
	vct_cmd_free(&r);
	CTL(&r, false, "meetings", "list", "--owner", "nobody@example.com");
	expect_status(&r, 0);
	assert_string_equal(r.out, "(none)\n");
	vct_cmd_free(&r);
	vct_pass();
}

static void test_list_bad_options(void **state)
{
	vct_cmd_t r;

	CTL_FAILS("unknown state 'paused' (expected --state idle, active or ended)", "meetings",
	          "list", "--state", "paused");
	CTLJ_FAILS("unknown state 'ACTIVE' (expected --state idle, active or ended)", "meetings",
	           "list", "--state=ACTIVE");
	CTL_FAILS("usage: vcctl meetings list [--state S] [--owner U]", "meetings", "list",
	          "--state", "paused");
	CTL_FAILS("--state needs a value", "meetings", "list", "--state");
	CTL_FAILS("--owner needs a value", "meetings", "list", "--owner=");
	CTL_FAILS("--state given twice", "meetings", "list", "--state", "idle", "--state=ended");
	CTL_FAILS("unknown option '--frob' (expected --state or --owner)", "meetings", "list",
	          "--frob");
	CTL_FAILS("unknown option 'idle'", "meetings", "list", "idle");
	/* More words than the options take: vcctl refuses without asking vcd. */
	CTL(&r, false, "meetings", "list", "--state", "idle", "--owner", "x", "y");
	expect_status(&r, 2);
	assert_non_null(strstr(r.err, "usage: vcctl meetings list [--state S] [--owner U]"));
	vct_cmd_free(&r);
	vct_pass();
}

/* More than the most vcd lists at once: 1000 rows, and vcctl says so. */
static void test_list_capped(void **state)
{
	json_t *list;
	vct_cmd_t r;

	free(vct_db_value(db_url, "INSERT INTO meetings (room_id, creator_id, created_at)"
	                          " SELECT 'adm-cap-' || g, 'capper', now() - g * interval '1 s'"
	                          " FROM generate_series(1, 1001) g"));
	list = CTLJ("meetings", "list", "--owner", "capper");
	assert_int_equal(json_array_size(list), LIST_MAX);
	assert_string_equal(vct_json_str(json_array_get(list, 0), "meeting_id"), "adm-cap-1");
	assert_string_equal(vct_json_str(json_array_get(list, LIST_MAX - 1), "meeting_id"),
	                    "adm-cap-1000");
	json_decref(list);
	CTL(&r, false, "meetings", "list", "--owner", "capper");
	expect_status(&r, 0);
	assert_int_equal(vct_count_lines(r.out), LIST_MAX + 1);
	assert_non_null(strstr(r.err, "showing 1000 meetings (newest first), the most vcd lists "
	                              "at once; there may be more"));
	vct_cmd_free(&r);
	/* Under the cap: nothing said. */
	CTL(&r, false, "meetings", "list", "--owner", "capper", "--state", "ended");
	expect_status(&r, 0);
	assert_string_equal(r.err, "");
	vct_cmd_free(&r);
	vct_pass();
}

/* --- meetings show -------------------------------------------------------- */

static void expect_participant(const json_t *p, const char *user, const char *name,
                               const char *status, bool is_host, bool admitted)
{
	assert_int_equal(json_object_size(p), 6);
	assert_string_equal(vct_json_str(p, "user_id"), user);
	if (name != NULL)
		assert_string_equal(vct_json_str(p, "display_name"), name);
	else
		expect_null(p, "display_name");
	assert_string_equal(vct_json_str(p, "status"), status);
	assert_true(vct_json_bool(p, "is_host") == is_host);
	expect_iso(p, "joined_at");
	if (admitted)
		expect_iso(p, "admitted_at");
	else
		expect_null(p, "admitted_at");
}

static void test_show(void **state)
{
	const char *room = "adm-show";
	char *b3 = user_body(P3), *want;
	json_t *m, *ps;
	vct_cmd_t r;

	vcm_new_room(HOST, room, NULL); /* the waiting room is on */
	json_decref(vcm_join(HOST, room, HOST_NAME));
	json_decref(vcm_join(P1, room, "One"));
	json_decref(vcm_join(P2, room, NULL));
	json_decref(vcm_admit(HOST, room, P2));
	json_decref(vcm_join(P3, room, "Three"));
	json_decref(vcm_ok(HOST, "POST", room, "reject", b3, 200));

	m = CTLJ("meetings", "show", room);
	assert_int_equal(json_object_size(m), 14);
	assert_string_equal(vct_json_str(m, "meeting_id"), room);
	assert_string_equal(vct_json_str(m, "state"), "active");
	assert_string_equal(vct_json_str(m, "owner"), HOST);
	assert_string_equal(vct_json_str(m, "host_display_name"), HOST_NAME);
	assert_string_equal(vct_json_str(m, "admission"), "host");
	assert_false(vct_json_bool(m, "has_password"));
	assert_true(vct_json_bool(m, "waiting_room_enabled"));
	assert_int_equal(vct_json_int(m, "participant_count"), 2);
	assert_int_equal(vct_json_int(m, "waiting_count"), 1);
	expect_iso(m, "created_at");
	want = db_iso_ms(room, "created_at");
	assert_string_equal(vct_json_str(m, "created_at"), want);
	free(want);
	want = db_iso_ms(room, "started_at");
	assert_string_equal(vct_json_str(m, "started_at"), want);
	free(want);
	expect_null(m, "ended_at");
	assert_int_equal(vct_json_int(m, "participant_rows"), 4);
	/* Every row whatever its status, in the order they came. */
	ps = json_object_get(m, "participants");
	assert_true(json_is_array(ps));
	assert_int_equal(json_array_size(ps), 4);
	expect_participant(json_array_get(ps, 0), HOST, HOST_NAME, "admitted", true, true);
	expect_participant(json_array_get(ps, 1), P1, "One", "waiting", false, false);
	expect_participant(json_array_get(ps, 2), P2, NULL, "admitted", false, true);
	expect_participant(json_array_get(ps, 3), P3, "Three", "rejected", false, false);
	json_decref(m);
	no_operator_rows();

	/* For humans: the meeting's lines, then the participants' table. */
	CTL(&r, false, "meetings", "show", room);
	expect_status(&r, 0);
	assert_true(strncmp(r.out, "meeting_id ", 11) == 0);
	assert_non_null(strstr(r.out, "\nstate                 active\n"));
	assert_non_null(strstr(r.out, "\nparticipant_rows      4\n"));
	assert_non_null(strstr(r.out, "\nended_at              -\n"));
	assert_non_null(strstr(r.out, "\n\nparticipants:\n  user_id "));
	expect_row(r.out, "user_id display_name status is_host joined_at admitted_at");
	expect_row(r.out, HOST " " HOST_NAME " admitted true ");
	expect_row(r.out, P1 " One waiting false ");
	expect_row(r.out, P2 " - admitted false ");
	expect_row(r.out, P3 " Three rejected false ");
	vct_cmd_free(&r);

	/* A meeting nobody joined: no rows. */
	vcm_new_room(HOST, "adm-show-empty", NULL);
	m = CTLJ("meetings", "show", "adm-show-empty");
	assert_string_equal(vct_json_str(m, "state"), "idle");
	expect_null(m, "host_display_name");
	assert_int_equal(vct_json_int(m, "participant_rows"), 0);
	assert_int_equal(json_array_size(json_object_get(m, "participants")), 0);
	json_decref(m);
	CTL(&r, false, "meetings", "show", "adm-show-empty");
	expect_status(&r, 0);
	assert_non_null(strstr(r.out, "\nparticipants          (none)\n"));
	vct_cmd_free(&r);

	CTL_FAILS("no meeting 'adm-show-nope'", "meetings", "show", "adm-show-nope");
	CTLJ_FAILS("no meeting 'adm-show-nope'", "meetings", "show", "adm-show-nope");
	no_operator_rows();
	free(b3);
	vct_pass();
}

/* --- meetings end --------------------------------------------------------- */

static void test_end(void **state)
{
	const char *room = "adm-end";
	vcm_sub_t *s = vcm_sub_open("room.adm-end.system");
	char *not_active = vcm_msg_not_active(room), *want;
	json_t *m;
	vct_cmd_t r;

	vcm_new_room(HOST, room, NO_WAITING);
	json_decref(vcm_join(HOST, room, HOST_NAME));
	json_decref(vcm_join(P1, room, "One"));
	json_decref(my_status(P1, room));

	m = CTLJ("meetings", "end", room);
	assert_int_equal(json_object_size(m), 12);
	assert_string_equal(vct_json_str(m, "meeting_id"), room);
	assert_string_equal(vct_json_str(m, "state"), "ended");
	assert_string_equal(vct_json_str(m, "owner"), HOST);
	assert_int_equal(vct_json_int(m, "participant_count"), 2);
	expect_iso(m, "ended_at");
	want = db_iso_ms(room, "ended_at");
	assert_string_equal(vct_json_str(m, "ended_at"), want);
	free(want);
	json_decref(m);
	expect_events(s, 1, VC_EV_MEETING_ENDED, room, NULL);
	assert_int_equal(db_count("SELECT count(*) FROM meetings WHERE room_id = 'adm-end'"
	                          " AND state = 'ended' AND ended_at IS NOT NULL"),
	                 1);
	/* What the people in it see. */
	vcm_fail(P1, "GET", room, "status", NULL, 400, "MEETING_NOT_ACTIVE", not_active);
	vcm_fail(HOST, "GET", room, "status", NULL, 400, "MEETING_NOT_ACTIVE", not_active);
	m = vcm_ok(HOST, "GET", room, NULL, NULL, 200);
	assert_string_equal(vct_json_str(m, "state"), "ended");
	json_decref(m);
	assert_true(vct_vcd_wait_log(vcd, "admin: meeting 'adm-end' ended", 2000));

	/* Again, for humans: as it is, and no second MEETING_ENDED. */
	CTL(&r, false, "meetings", "end", room);
	expect_status(&r, 0);
	assert_true(strncmp(r.out, "meeting_id ", 11) == 0);
	assert_non_null(strstr(r.out, "\nstate                 ended\n"));
	assert_null(strstr(r.out, "participants:"));
	vct_cmd_free(&r);
	expect_events(s, 1, VC_EV_MEETING_ENDED, room, NULL);

	CTL_FAILS("no meeting 'adm-end-nope'", "meetings", "end", "adm-end-nope");
	CTLJ_FAILS("no meeting 'adm-end-nope'", "meetings", "end", "adm-end-nope");
	no_operator_rows();
	vcm_sub_close(s);
	free(not_active);
	vct_pass();
}

/* --- participants kick ---------------------------------------------------- */

static void test_kick(void **state)
{
	const char *room = "adm-kick";
	vcm_sub_t *s = vcm_sub_open("room.adm-kick.system");
	json_t *k, *p;
	vct_cmd_t r;

	vcm_new_room(HOST, room, NULL);
	json_decref(vcm_join(HOST, room, HOST_NAME));
	json_decref(vcm_join(P1, room, "One"));
	json_decref(vcm_admit(HOST, room, P1));
	json_decref(vcm_join(P2, room, NULL));

	/* An admitted participant. */
	k = CTLJ("participants", "kick", room, P1);
	assert_int_equal(json_object_size(k), 4);
	assert_string_equal(vct_json_str(k, "meeting_id"), room);
	assert_string_equal(vct_json_str(k, "user_id"), P1);
	assert_string_equal(vct_json_str(k, "display_name"), "One");
	assert_string_equal(vct_json_str(k, "status"), "left");
	json_decref(k);
	expect_events(s, 1, VC_EV_PARTICIPANT_LEFT, room, P1);
	p = my_status(P1, room);
	assert_string_equal(vct_json_str(p, "status"), "left");
	assert_null(json_object_get(p, "room_token"));
	json_decref(p);
	assert_true(vct_vcd_wait_log(vcd, "admin: '" P1 "' kicked from meeting 'adm-kick'", 2000));

	/* A waiting one, for humans. */
	CTL(&r, false, "participants", "kick", room, P2);
	expect_status(&r, 0);
	assert_string_equal(r.out, "meeting_id    adm-kick\n"
	                           "user_id       " P2 "\n"
	                           "display_name  -\n"
	                           "status        left\n");
	vct_cmd_free(&r);
	expect_events(s, 1, VC_EV_PARTICIPANT_LEFT, room, P2);
	p = my_status(P2, room);
	assert_string_equal(vct_json_str(p, "status"), "left");
	json_decref(p);

	/* Only rows that are in, never the host, only meetings that exist. */
	CTL_FAILS("no participant '" P1 "' in meeting 'adm-kick' (waiting or admitted)",
	          "participants", "kick", room, P1);
	CTLJ_FAILS("no participant 'nobody@example.com' in meeting 'adm-kick' (waiting or "
	           "admitted)",
	           "participants", "kick", room, "nobody@example.com");
	CTL_FAILS("'" HOST "' is the host of meeting 'adm-kick' and cannot be kicked",
	          "participants", "kick", room, HOST);
	p = my_status(HOST, room);
	assert_string_equal(vct_json_str(p, "status"), "admitted");
	json_decref(p);
	CTL_FAILS("no meeting 'adm-kick-nope'", "participants", "kick", "adm-kick-nope", P1);
	/* Two kicks, two events: the failures published nothing. */
	expect_events(s, 2, VC_EV_PARTICIPANT_LEFT, room, NULL);
	k = CTLJ("meetings", "show", room);
	assert_int_equal(vct_json_int(k, "participant_count"), 1);
	assert_int_equal(vct_json_int(k, "waiting_count"), 0);
	p = json_object_get(k, "participants");
	assert_int_equal(json_array_size(p), 3);
	assert_string_equal(vct_json_str(find(p, "user_id", HOST, NULL), "status"), "admitted");
	assert_string_equal(vct_json_str(find(p, "user_id", P1, NULL), "status"), "left");
	assert_string_equal(vct_json_str(find(p, "user_id", P2, NULL), "status"), "left");
	json_decref(k);
	no_operator_rows();
	vcm_sub_close(s);
	vct_pass();
}

/* --- meetings delete ------------------------------------------------------ */

static void test_delete(void **state)
{
	const char *room = "adm-del";
	char *gone = vcm_msg_not_found(room);
	json_t *d, *list;
	vct_cmd_t r;

	vcm_new_room(HOST, room, NULL);
	json_decref(vcm_join(HOST, room, HOST_NAME));
	d = CTLJ("meetings", "delete", room);
	assert_int_equal(json_object_size(d), 2);
	assert_string_equal(vct_json_str(d, "meeting_id"), room);
	assert_true(vct_json_bool(d, "deleted"));
	json_decref(d);
	vcm_fail(HOST, "GET", room, NULL, NULL, 404, "MEETING_NOT_FOUND", gone);
	assert_int_equal(db_count("SELECT count(*) FROM meetings WHERE room_id = 'adm-del'"
	                          " AND deleted_at IS NOT NULL"),
	                 1);
	list = CTLJ("meetings", "list", "--owner", HOST);
	assert_null(find(list, "meeting_id", room, NULL));
	json_decref(list);
	CTL_FAILS("no meeting 'adm-del'", "meetings", "show", room);
	CTL_FAILS("no meeting 'adm-del'", "meetings", "delete", room);
	assert_true(vct_vcd_wait_log(vcd, "admin: meeting 'adm-del' deleted", 2000));
	/* The id is free again; deleting for humans. */
	vcm_new_room(HOST, room, NULL);
	CTL(&r, false, "meetings", "delete", room);
	expect_status(&r, 0);
	assert_string_equal(r.out, "meeting_id  adm-del\ndeleted     true\n");
	vct_cmd_free(&r);
	vcm_fail(HOST, "GET", room, NULL, NULL, 404, "MEETING_NOT_FOUND", gone);
	CTLJ_FAILS("no meeting 'adm-del-nope'", "meetings", "delete", "adm-del-nope");
	no_operator_rows();
	free(gone);
	vct_pass();
}

/* --- main ----------------------------------------------------------------- */

static int group_setup(void **state)
{
	char *more = vct_strf("nats_url = %s\n", vct_env("VCT_NATS_URL"));

	vcd = vcm_start("meetings_admin", "madmin", more, &db_url);
	vcm_wait_nats(vcd);
	free(more);
	return 0;
}

static int group_teardown(void **state)
{
	return vcm_finish(vcd, &db_url);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, vct_setup, vct_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_list), T(test_list_bad_options), T(test_show),        T(test_end),
		T(test_kick), T(test_delete),           T(test_list_capped), /* last: its 1001
		                                                                meetings crowd
		                                                                everyone's list */
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
