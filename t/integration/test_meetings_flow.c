/*
 * test_meetings_flow.c — conformance of vcd's meeting API with the
 * videocall.rs meeting backend (videocall-rs-contract.md), part two: the
 * people in a meeting. Join, status, leave and participants (§10.4,
 * §4.7–§4.10), the waiting room (§10.5, §4.11–§4.14), room and observer
 * tokens (§10.6, §5.2–§5.3), the NATS events on room.{id}.system byte for
 * byte (§8.1), vcd's documented differences (vcd-api(7), actors/
 * meeting_fsm.h), 200 callers joining one meeting at once, concurrent
 * ad-hoc creation, and a vcd restarted mid-meeting.
 *
 * One vcd (VCM_CONF, NATS on) serves the cases; the restart case starts
 * its own two on the same database. A NATS subscriber of the test's own
 * sees what vcd published.
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

#define HOST "host@example.com"
#define ATT "attendee@example.com"
#define OTHER "other@example.com"
#define HOST_NAME "Host User"
#define PATTERN_MSG "Invalid meeting ID: must match pattern: ^[a-zA-Z0-9_-]+$"
#define JSON_CT "Content-Type: application/json\r\n"
#define BAD_PASSWORD "Meeting password is missing or wrong" /* vcd-api(7) */
#define QUIET_MS 300 /* no further event within this after the last one expected */
#define CROWD 200
#define RACERS 100

static char *db_url;
static vct_vcd_t *vcd;

/* --- helpers -------------------------------------------------------------- */

/* Create `room` (owner HOST, `more` members) and let the host join as HOST_NAME. */
static void setup_meeting(const char *room, const char *more)
{
	vcm_new_room(HOST, room, more);
	json_decref(vcm_join(HOST, room, HOST_NAME));
}

/* join, and check the status and host flag of the answer. */
static json_t *join_as(const char *user, const char *room, const char *name, const char *status)
{
	json_t *p = vcm_join(user, room, name);

	vcm_participant(p, user, status, false);
	return p;
}

static json_t *my_status(const char *user, const char *room)
{
	json_t *p = vcm_ok(user, "GET", room, "status", NULL, 200);

	vcm_shape(p, VCM_PART_SHAPE, "status answer");
	vcm_absent(p, "observer_token", "status answer (never an observer token, §4.8)");
	return p;
}

static json_t *info(const char *user, const char *room)
{
	json_t *m = vcm_ok(user, "GET", room, NULL, NULL, 200);

	vcm_shape(m, VCM_INFO_SHAPE, "MeetingInfoResponse");
	return m;
}

/* A list of participants as /participants, /waiting and admit-all give it. */
static void plain_list(const json_t *a, const char *status)
{
	size_t i;
	json_t *p;

	if (!json_is_array(a))
		fail_msg("expected an array of participants");
	json_array_foreach(a, i, p)
	{
		vcm_participant(p, vct_json_str(p, "user_id"), status, vct_json_bool(p, "is_host"));
		vcm_absent(p, VCM_JOIN_ONLY, "listed participant");
	}
}

static json_t *participants(const char *user, const char *room)
{
	json_t *a = vcm_ok(user, "GET", room, "participants", NULL, 200);

	plain_list(a, "admitted");
	return a;
}

static json_t *waiting(const char *user, const char *room)
{
	json_t *w = vcm_ok(user, "GET", room, "waiting", NULL, 200), *a;

	vcm_shape(w, "meeting_id:s waiting:a", "WaitingRoomResponse");
	assert_string_equal(vct_json_str(w, "meeting_id"), room);
	a = json_incref(json_object_get(w, "waiting"));
	plain_list(a, "waiting");
	json_decref(w);
	return a;
}

/* {"user_id": user} (malloc'd). */
static char *user_body(const char *user)
{
	return vct_strf("{\"user_id\":\"%s\"}", user);
}

static json_t *reject(const char *host, const char *room, const char *user)
{
	char *body = user_body(user);
	json_t *p = vcm_ok(host, "POST", room, "reject", body, 200);

	vcm_participant(p, user, "rejected", false);
	vcm_absent(p, VCM_JOIN_ONLY, "reject answer");
	free(body);
	return p;
}

static void expect_no_participant(const char *host, const char *room, const char *op,
                                  const char *user)
{
	char *body = user_body(user), *msg = vcm_msg_no_participant(user);

	vcm_fail(host, "POST", room, op, body, 404, "PARTICIPANT_NOT_FOUND", msg);
	free(body);
	free(msg);
}

static void expect_not_found(const char *user, const char *method, const char *room, const char *op,
                             const char *body)
{
	char *msg = vcm_msg_not_found(room);

	vcm_fail(user, method, room, op, body, 404, "MEETING_NOT_FOUND", msg);
	free(msg);
}

/* The status of `user`'s row in `room`, from PostgreSQL ("" when none). */
static char *row_status(const char *room, const char *user)
{
	char *v = vct_db_valuef(db_url,
	                        "SELECT coalesce(min(p.status), '') FROM meeting_participants p "
	                        "JOIN meetings m ON m.id = p.meeting_id WHERE m.room_id = '%s' "
	                        "AND m.deleted_at IS NULL AND p.user_id = '%s'",
	                        room, user);

	return v;
}

static void expect_row(const char *room, const char *user, const char *status)
{
	char *v = row_status(room, user);

	if (strcmp(v, status) != 0)
		fail_msg("PostgreSQL: %s in %s has status '%s', expected '%s'", user, room, v,
		         status);
	free(v);
}

/* "admitted waiting …" counts of `room`'s rows, as "a/w/total". */
static char *row_counts(const char *room)
{
	return vct_db_valuef(db_url,
	                     "SELECT count(*) FILTER (WHERE p.status = 'admitted') || '/' || "
	                     "count(*) FILTER (WHERE p.status = 'waiting') || '/' || count(*) "
	                     "FROM meeting_participants p JOIN meetings m ON m.id = p.meeting_id "
	                     "WHERE m.room_id = '%s' AND m.deleted_at IS NULL",
	                     room);
}

static void expect_counts(const char *room, long long admitted, long long waiting_n)
{
	json_t *m = info(HOST, room);

	if (vct_json_int(m, "participant_count") != admitted ||
	    vct_json_int(m, "waiting_count") != waiting_n)
		fail_msg("GET %s: participant_count %lld, waiting_count %lld; expected %lld, %lld",
		         room, (long long)vct_json_int(m, "participant_count"),
		         (long long)vct_json_int(m, "waiting_count"), admitted, waiting_n);
	json_decref(m);
}

/* vcd publishes MEETING_ENDED (videocall.rs never does); which optional
 * fields it fills is vcd's choice, so the packet is decoded. */
static void expect_ended_event(vcm_sub_t *s, unsigned i, const char *room)
{
	size_t len;
	uint8_t *b;
	vcm_event_t e;

	if (vcm_sub_wait(s, i + 1, 5000) < i + 1)
		fail_msg("NATS: MEETING_ENDED for %s (event #%u) did not arrive within 5 s", room,
		         i);
	b = vcm_sub_msg(s, i, &len, NULL);
	if (!vcm_decode_event(b, len, &e) || e.packet_type != VC_PACKET_MEETING ||
	    strcmp(e.user_id, VC_SYSTEM_USER_ID) != 0 || e.event_type != VC_EV_MEETING_ENDED ||
	    strcmp(e.room_id, room) != 0)
		fail_msg("NATS: event #%u is packet %d from '%s', event %d for '%s'; expected "
		         "MEETING_ENDED (2) for '%s' from the system user",
		         i, e.packet_type, e.user_id, e.event_type, e.room_id, room);
	free(b);
}

/* --- §10.4 join, status, leave, participants ------------------------------ */

static void test_join_meeting_host_activates(void **state)
{
	const char *room = "f-p-1";
	long long t0, t1;
	json_t *p, *m;

	vcm_new_room(HOST, room, NULL);
	t0 = vcm_now();
	p = vcm_join(HOST, room, HOST_NAME);
	t1 = vcm_now();
	vcm_participant(p, HOST, "admitted", true);
	vcm_same(p,
	         "{\"user_id\":\"" HOST "\",\"display_name\":\"" HOST_NAME "\","
	         "\"status\":\"admitted\",\"is_host\":true,\"waiting_room_enabled\":true,"
	         "\"host_display_name\":\"" HOST_NAME "\",\"host_user_id\":\"" HOST "\"}",
	         "joined_at admitted_at room_token", "host join");
	vcm_secs(p, "admitted_at");
	vcm_room_token(vct_json_str(p, "room_token"), HOST, room, true, HOST_NAME, t0, t1);
	m = info(OTHER, room);
	assert_string_equal(vct_json_str(m, "state"), "active");
	assert_string_equal(vct_json_str(m, "host_display_name"), HOST_NAME);
	json_decref(m);
	expect_row(room, HOST, "admitted");
	json_decref(p);
	vct_pass();
}

static void test_join_meeting_attendee_waits(void **state)
{
	const char *room = "f-p-2";
	long long t0, t1;
	json_t *p;

	setup_meeting(room, NULL);
	t0 = vcm_now();
	p = join_as(ATT, room, NULL, "waiting");
	t1 = vcm_now();
	vcm_same(p,
	         "{\"user_id\":\"" ATT "\",\"status\":\"waiting\",\"is_host\":false,"
	         "\"waiting_room_enabled\":true,\"host_display_name\":\"" HOST_NAME "\","
	         "\"host_user_id\":\"" HOST "\"}",
	         "joined_at observer_token", "waiting join");
	vcm_observer_token(vct_json_str(p, "observer_token"), ATT, room, ATT, t0, t1);
	expect_counts(room, 1, 1);
	expect_row(room, ATT, "waiting");
	json_decref(p);
	vct_pass();
}

static void test_join_not_active_returns_waiting_for_meeting(void **state)
{
	const char *room = "f-p-3";
	long long t0, t1;
	json_t *p, *m;
	char *v;

	vcm_new_room(HOST, room, NULL);
	t0 = vcm_now();
	p = join_as(ATT, room, NULL, "waiting_for_meeting");
	t1 = vcm_now();
	vcm_same(p,
	         "{\"user_id\":\"" ATT "\",\"status\":\"waiting_for_meeting\",\"is_host\":false,"
	         "\"waiting_room_enabled\":true,\"host_user_id\":\"" HOST "\"}",
	         "joined_at observer_token", "waiting_for_meeting join");
	vcm_observer_token(vct_json_str(p, "observer_token"), ATT, room, ATT, t0, t1);
	json_decref(p);
	/* Nothing was written: no row, so /status and /participants do not know ATT. */
	v = row_counts(room);
	assert_string_equal(v, "0/0/0");
	free(v);
	vcm_fail(ATT, "GET", room, "status", NULL, 404, "NOT_IN_MEETING", VCM_NOT_IN);
	vcm_fail(ATT, "GET", room, "participants", NULL, 404, "NOT_IN_MEETING", VCM_NOT_IN);
	m = info(ATT, room);
	assert_string_equal(vct_json_str(m, "state"), "idle");
	vcm_absent(m, "your_status", "GET by a waiting_for_meeting caller");
	json_decref(m);
	vct_pass();
}

static void test_leave_meeting_success(void **state)
{
	const char *room = "f-p-4", *w = "p4-waiter@example.com";
	json_t *p;
	char *v;

	setup_meeting(room, NULL);
	json_decref(join_as(ATT, room, NULL, "waiting"));
	json_decref(vcm_admit(HOST, room, ATT));
	p = vcm_ok(ATT, "POST", room, "leave", NULL, 200);
	vcm_participant(p, ATT, "left", false);
	vcm_absent(p, VCM_JOIN_ONLY, "leave answer");
	json_decref(p);
	v = vct_db_valuef(
	        db_url,
	        "SELECT p.left_at IS NOT NULL FROM meeting_participants p JOIN meetings m "
	        "ON m.id = p.meeting_id WHERE m.room_id = '%s' AND p.user_id = '%s'",
	        room, ATT);
	assert_string_equal(v, "t");
	free(v);
	/* A non-creator leaving while the host stays: the meeting goes on. */
	p = info(HOST, room);
	assert_string_equal(vct_json_str(p, "state"), "active");
	json_decref(p);
	/* Only waiting and admitted rows can leave. */
	vcm_fail(ATT, "POST", room, "leave", NULL, 404, "NOT_IN_MEETING", VCM_NOT_IN);
	vcm_fail(OTHER, "POST", room, "leave", NULL, 404, "NOT_IN_MEETING", VCM_NOT_IN);
	expect_not_found(ATT, "POST", "f-p-unknown", "leave", NULL);
	json_decref(join_as(w, room, NULL, "waiting"));
	p = vcm_ok(w, "POST", room, "leave", NULL, 200);
	vcm_participant(p, w, "left", false);
	json_decref(p);
	expect_counts(room, 1, 0);
	vct_pass();
}

static void test_get_my_status_success(void **state)
{
	const char *room = "f-p-5";
	long long t0, t1;
	json_t *p;

	setup_meeting(room, NULL);
	t0 = vcm_now();
	p = my_status(HOST, room);
	t1 = vcm_now();
	vcm_participant(p, HOST, "admitted", true);
	vcm_same(p,
	         "{\"user_id\":\"" HOST "\",\"display_name\":\"" HOST_NAME "\","
	         "\"status\":\"admitted\",\"is_host\":true,\"waiting_room_enabled\":true,"
	         "\"host_display_name\":\"" HOST_NAME "\",\"host_user_id\":\"" HOST "\"}",
	         "joined_at admitted_at room_token", "host status");
	vcm_room_token(vct_json_str(p, "room_token"), HOST, room, true, HOST_NAME, t0, t1);
	json_decref(p);
	/* A waiting caller: no token of either kind. */
	json_decref(join_as(ATT, room, NULL, "waiting"));
	p = my_status(ATT, room);
	vcm_participant(p, ATT, "waiting", false);
	vcm_absent(p, "room_token admitted_at", "waiting status");
	assert_true(vct_json_bool(p, "waiting_room_enabled"));
	assert_string_equal(vct_json_str(p, "host_user_id"), HOST);
	json_decref(p);
	vcm_fail(OTHER, "GET", room, "status", NULL, 404, "NOT_IN_MEETING", VCM_NOT_IN);
	expect_not_found(HOST, "GET", "f-p-unknown", "status", NULL);
	vct_pass();
}

static void test_status_refused_after_meeting_ends(void **state)
{
	const char *room = "f-p-6";
	char *msg = vcm_msg_not_active(room);
	json_t *p;

	setup_meeting(room, NULL);
	json_decref(join_as(ATT, room, NULL, "waiting"));
	json_decref(vcm_admit(HOST, room, ATT));
	p = my_status(ATT, room);
	assert_non_null(json_object_get(p, "room_token"));
	json_decref(p);
	/* The creator leaving ends the meeting. */
	p = vcm_ok(HOST, "POST", room, "leave", NULL, 200);
	vcm_participant(p, HOST, "left", true);
	json_decref(p);
	p = info(HOST, room);
	assert_string_equal(vct_json_str(p, "state"), "ended");
	vcm_millis(p, "ended_at");
	json_decref(p);
	vcm_fail(ATT, "GET", room, "status", NULL, 400, "MEETING_NOT_ACTIVE", msg);
	/* Checked before the caller's row is looked up. */
	vcm_fail(OTHER, "GET", room, "status", NULL, 400, "MEETING_NOT_ACTIVE", msg);
	free(msg);
	vct_pass();
}

/* §4.7 step 4: a waiting_for_meeting answer is made from the request, not
 * from a row the caller may have: joined_at now, display_name only when
 * given, no admitted_at; nothing is written. */
static void test_attendee_rejoin_ended_meeting(void **state)
{
	const char *room = "f-p-7", *fresh = "p7-fresh@example.com";
	long long t0, t1;
	json_t *p;

	setup_meeting(room, ",\"waiting_room_enabled\":false");
	json_decref(join_as(ATT, room, "Old Name", "admitted"));
	json_decref(vcm_ok(HOST, "POST", room, "leave", NULL, 200));
	vct_sleep_ms(1100); /* so that "now" is not the first join's second */
	/* Admitted before, or never joined: both wait for the meeting. */
	for (int i = 0; i < 2; i++) {
		const char *u = i ? fresh : ATT;
		t0 = vcm_now();
		p = join_as(u, room, NULL, "waiting_for_meeting");
		t1 = vcm_now();
		vcm_absent(p, "room_token admitted_at display_name", "join of an ended meeting");
		if (vct_json_int(p, "joined_at") < t0)
			fail_msg("waiting_for_meeting: joined_at %lld is not now (%lld)",
			         (long long)vct_json_int(p, "joined_at"), t0);
		assert_false(vct_json_bool(p, "waiting_room_enabled"));
		vcm_observer_token(vct_json_str(p, "observer_token"), u, room, u, t0, t1);
		json_decref(p);
	}
	expect_row(room, fresh, "");
	expect_row(room, ATT, "admitted");
	vct_pass();
}

static void test_get_participants_success(void **state)
{
	const char *room = "f-p-8", *w = "p8-waiter@example.com", *r = "p8-rejected@example.com";
	const char *readers[] = { HOST, ATT, w, r };
	json_t *a;

	setup_meeting(room, NULL);
	json_decref(join_as(ATT, room, "Attendee One", "waiting"));
	json_decref(vcm_admit(HOST, room, ATT));
	json_decref(join_as(w, room, NULL, "waiting"));
	json_decref(join_as(r, room, NULL, "waiting"));
	json_decref(reject(HOST, room, r));
	/* Any row, whatever its status, may read the admitted ones. */
	for (size_t i = 0; i < sizeof(readers) / sizeof(readers[0]); i++) {
		a = participants(readers[i], room);
		assert_int_equal(json_array_size(a), 2);
		/* vcd: in join order (videocall.rs: unordered). */
		assert_string_equal(vct_json_str(json_array_get(a, 0), "user_id"), HOST);
		assert_true(vct_json_bool(vcm_find_user(a, HOST), "is_host"));
		assert_string_equal(vct_json_str(vcm_find_user(a, HOST), "display_name"),
		                    HOST_NAME);
		assert_string_equal(vct_json_str(vcm_find_user(a, ATT), "display_name"),
		                    "Attendee One");
		json_decref(a);
	}
	vcm_fail(OTHER, "GET", room, "participants", NULL, 404, "NOT_IN_MEETING", VCM_NOT_IN);
	expect_not_found(HOST, "GET", "f-p-unknown", "participants", NULL);
	vct_pass();
}

/* §4.7: display names are per meeting; the room token of /join names the
 * request's display_name (else the user id), that of /status the stored one. */
static void test_display_names(void **state)
{
	const char *room = "f-p-9";
	long long t0, t1;
	json_t *p, *a;

	setup_meeting(room, NULL);
	t0 = vcm_now();
	p = vcm_join(HOST, room, NULL);
	t1 = vcm_now();
	assert_string_equal(vct_json_str(p, "display_name"), HOST_NAME); /* COALESCE */
	vcm_room_token(vct_json_str(p, "room_token"), HOST, room, true, HOST, t0, t1);
	json_decref(p);
	t0 = vcm_now();
	p = my_status(HOST, room);
	t1 = vcm_now();
	vcm_room_token(vct_json_str(p, "room_token"), HOST, room, true, HOST_NAME, t0, t1);
	json_decref(p);
	/* The creator's new name becomes the meeting's host_display_name. */
	json_decref(vcm_join(HOST, room, "Boss"));
	p = info(OTHER, room);
	assert_string_equal(vct_json_str(p, "host_display_name"), "Boss");
	json_decref(p);
	/* An attendee's name stays when a later join gives none. */
	json_decref(join_as(ATT, room, "A One", "waiting"));
	p = join_as(ATT, room, NULL, "waiting");
	assert_string_equal(vct_json_str(p, "display_name"), "A One");
	json_decref(p);
	a = waiting(HOST, room);
	assert_string_equal(vct_json_str(vcm_find_user(a, ATT), "display_name"), "A One");
	json_decref(a);
	vct_pass();
}

/* --- §10.5 the waiting room ----------------------------------------------- */

static void test_get_waiting_room_success(void **state)
{
	const char *room = "f-w-1";
	json_t *a;

	setup_meeting(room, NULL);
	json_decref(join_as(ATT, room, NULL, "waiting"));
	a = waiting(HOST, room);
	assert_int_equal(json_array_size(a), 1);
	vcm_same(json_array_get(a, 0),
	         "{\"user_id\":\"" ATT "\",\"status\":\"waiting\",\"is_host\":false}", "joined_at",
	         "waiting entry");
	json_decref(a);
	vct_pass();
}

static void test_admit_participant_success(void **state)
{
	const char *room = "f-w-2";
	long long t0, t1;
	json_t *p;

	setup_meeting(room, NULL);
	json_decref(join_as(ATT, room, NULL, "waiting"));
	json_decref(vcm_admit(HOST, room, ATT));
	expect_row(room, ATT, "admitted");
	/* The token is fetched with /status afterwards. */
	t0 = vcm_now();
	p = my_status(ATT, room);
	t1 = vcm_now();
	vcm_participant(p, ATT, "admitted", false);
	vcm_room_token(vct_json_str(p, "room_token"), ATT, room, false, ATT, t0, t1);
	json_decref(p);
	expect_counts(room, 2, 0);
	vct_pass();
}

static void test_admit_participant_not_found(void **state)
{
	const char *room = "f-w-3";

	setup_meeting(room, NULL);
	expect_no_participant(HOST, room, "admit", "nobody@example.com");
	expect_no_participant(HOST, room, "reject", "nobody@example.com");
	vct_pass();
}

static void test_admit_all_participants(void **state)
{
	const char *room = "f-w-4";
	char user[64];
	json_t *r;

	setup_meeting(room, NULL);
	for (int i = 0; i < 3; i++) {
		snprintf(user, sizeof(user), "w4-%d@example.com", i);
		json_decref(join_as(user, room, NULL, "waiting"));
	}
	/* vcd lists the waiting room in join order (videocall.rs: unordered). */
	r = waiting(HOST, room);
	for (int i = 0; i < 3; i++) {
		snprintf(user, sizeof(user), "w4-%d@example.com", i);
		assert_string_equal(vct_json_str(json_array_get(r, (size_t)i), "user_id"), user);
	}
	json_decref(r);
	r = vcm_ok(HOST, "POST", room, "admit-all", NULL, 200);
	vcm_shape(r, "admitted_count:i admitted:a", "AdmitAllResponse");
	assert_int_equal(vct_json_int(r, "admitted_count"), 3);
	assert_int_equal(json_array_size(json_object_get(r, "admitted")), 3);
	plain_list(json_object_get(r, "admitted"), "admitted");
	for (int i = 0; i < 3; i++) {
		snprintf(user, sizeof(user), "w4-%d@example.com", i);
		assert_non_null(vcm_find_user(json_object_get(r, "admitted"), user));
		vcm_secs(vcm_find_user(json_object_get(r, "admitted"), user), "admitted_at");
	}
	json_decref(r);
	expect_counts(room, 4, 0);
	/* Nobody left to admit: 0 and an empty list. */
	r = vcm_ok(HOST, "POST", room, "admit-all", NULL, 200);
	vcm_same(r, "{\"admitted_count\":0,\"admitted\":[]}", NULL, "admit-all of nobody");
	json_decref(r);
	vct_pass();
}

static void test_reject_participant_success(void **state)
{
	const char *room = "f-w-5";
	json_t *p, *a;

	setup_meeting(room, NULL);
	json_decref(join_as(ATT, room, NULL, "waiting"));
	json_decref(reject(HOST, room, ATT));
	p = my_status(ATT, room);
	vcm_participant(p, ATT, "rejected", false);
	vcm_absent(p, "room_token", "rejected status");
	json_decref(p);
	a = participants(HOST, room);
	assert_null(vcm_find_user(a, ATT));
	json_decref(a);
	expect_counts(room, 1, 0);
	/* Not a ban: a rejected user may knock again (§7.2). */
	json_decref(join_as(ATT, room, NULL, "waiting"));
	expect_counts(room, 1, 1);
	vct_pass();
}

/* §4.11–§4.14, §7.2: only the host (the creator, admitted) runs the
 * waiting room, 404 for the meeting before 403, and only waiting rows can
 * be admitted or rejected. */
static void test_host_only_actions(void **state)
{
	const char *room = "f-w-6", *w = "w6-waiter@example.com", *r = "w6-rejected@example.com";
	const char *ops[] = { "admit", "reject" };
	char *body = user_body(w);

	/* The owner who has not joined is not the host. */
	vcm_new_room(HOST, room, NULL);
	vcm_fail(HOST, "GET", room, "waiting", NULL, 403, "NOT_HOST", VCM_NOT_HOST);
	json_decref(vcm_join(HOST, room, HOST_NAME));
	json_decref(join_as(ATT, room, NULL, "waiting"));
	json_decref(vcm_admit(HOST, room, ATT));
	json_decref(join_as(w, room, NULL, "waiting"));
	json_decref(join_as(r, room, NULL, "waiting"));
	json_decref(reject(HOST, room, r));
	/* An admitted participant, a waiting one, a stranger: not the host. */
	for (int i = 0; i < 3; i++) {
		const char *u = i == 0 ? ATT : i == 1 ? w : OTHER;
		vcm_fail(u, "GET", room, "waiting", NULL, 403, "NOT_HOST", VCM_NOT_HOST);
		vcm_fail(u, "POST", room, "admit", body, 403, "NOT_HOST", VCM_NOT_HOST);
		vcm_fail(u, "POST", room, "reject", body, 403, "NOT_HOST", VCM_NOT_HOST);
		vcm_fail(u, "POST", room, "admit-all", NULL, 403, "NOT_HOST", VCM_NOT_HOST);
	}
	expect_not_found(HOST, "GET", "f-w-unknown", "waiting", NULL);
	expect_not_found(HOST, "POST", "f-w-unknown", "admit", body);
	expect_not_found(HOST, "POST", "f-w-unknown", "admit-all", NULL);
	/* Admitted, rejected: neither can be admitted or rejected (no kick here). */
	for (int i = 0; i < 2; i++) {
		expect_no_participant(HOST, room, ops[i], ATT);
		expect_no_participant(HOST, room, ops[i], r);
	}
	/* Body errors (§2.2). */
	vcm_status(HOST, "POST", "/api/v1/meetings/f-w-6/admit", JSON_CT, "{}", 422);
	vcm_status(HOST, "POST", "/api/v1/meetings/f-w-6/admit", JSON_CT,
	           "{\"email\":\"w6-waiter@example.com\"}", 422);
	vcm_status(HOST, "POST", "/api/v1/meetings/f-w-6/admit", NULL, body, 415);
	vcm_status(HOST, "POST", "/api/v1/meetings/f-w-6/reject", JSON_CT, "{\"user_id\":", 400);
	expect_row(room, w, "waiting");
	/* No meeting-state check: an ended meeting's waiting row can be admitted. */
	json_decref(vcm_ok(HOST, "POST", room, "end", NULL, 200));
	json_decref(vcm_admit(HOST, room, w));
	/* A host who left is no longer the host. */
	json_decref(vcm_ok(HOST, "POST", room, "leave", NULL, 200));
	vcm_fail(HOST, "GET", room, "waiting", NULL, 403, "NOT_HOST", VCM_NOT_HOST);
	free(body);
	vct_pass();
}

/* --- §10.6 observer tokens ------------------------------------------------ */

static void test_observer_token_waiting_for_meeting(void **state)
{
	const char *room = "f-o-1";
	long long t0, t1;
	json_t *p;

	vcm_new_room(HOST, room, NULL);
	t0 = vcm_now();
	p = join_as(ATT, room, NULL, "waiting_for_meeting");
	t1 = vcm_now();
	vcm_observer_token(vct_json_str(p, "observer_token"), ATT, room, ATT, t0, t1);
	assert_true(vct_json_bool(p, "waiting_room_enabled"));
	json_decref(p);
	/* With a display name: echoed, and in the claims. */
	t0 = vcm_now();
	p = join_as("guest2@example.com", room, "Guest Two", "waiting_for_meeting");
	t1 = vcm_now();
	assert_string_equal(vct_json_str(p, "display_name"), "Guest Two");
	vcm_observer_token(vct_json_str(p, "observer_token"), "guest2@example.com", room,
	                   "Guest Two", t0, t1);
	json_decref(p);
	/* waiting_room_enabled is the meeting's. */
	vcm_new_room(HOST, "f-o-1b", ",\"waiting_room_enabled\":false");
	p = join_as(ATT, "f-o-1b", NULL, "waiting_for_meeting");
	assert_false(vct_json_bool(p, "waiting_room_enabled"));
	json_decref(p);
	vct_pass();
}

static void test_observer_token_waiting(void **state)
{
	const char *room = "f-o-2";
	long long t0, t1;
	json_t *p;

	setup_meeting(room, NULL);
	t0 = vcm_now();
	p = join_as(ATT, room, "Waiting Person", "waiting");
	t1 = vcm_now();
	assert_string_equal(vct_json_str(p, "display_name"), "Waiting Person");
	vcm_absent(p, "room_token", "waiting join");
	vcm_observer_token(vct_json_str(p, "observer_token"), ATT, room, "Waiting Person", t0, t1);
	json_decref(p);
	vct_pass();
}

static void test_no_observer_token_when_admitted(void **state)
{
	const char *room = "f-o-3";
	long long t0, t1;
	json_t *p;

	setup_meeting(room, ",\"waiting_room_enabled\":false");
	t0 = vcm_now();
	p = join_as(ATT, room, "Auto", "admitted");
	t1 = vcm_now();
	vcm_absent(p, "observer_token", "auto-admitted join");
	vcm_secs(p, "admitted_at");
	vcm_room_token(vct_json_str(p, "room_token"), ATT, room, false, "Auto", t0, t1);
	json_decref(p);
	/* Nor for the host. */
	p = vcm_join(HOST, room, NULL);
	vcm_absent(p, "observer_token", "host join");
	json_decref(p);
	vct_pass();
}

static void test_admit_and_reject_then_empty(void **state)
{
	const char *room = "f-o-4", *alice = "alice@example.com", *bob = "bob@example.com";
	json_t *a;

	setup_meeting(room, NULL);
	json_decref(join_as(alice, room, NULL, "waiting"));
	json_decref(join_as(bob, room, NULL, "waiting"));
	a = waiting(HOST, room);
	assert_int_equal(json_array_size(a), 2);
	json_decref(a);
	json_decref(vcm_admit(HOST, room, alice));
	json_decref(reject(HOST, room, bob));
	a = waiting(HOST, room);
	assert_int_equal(json_array_size(a), 0);
	json_decref(a);
	vct_pass();
}

/* --- §8.1 NATS ------------------------------------------------------------ */

/* The reference encodings of §8.1, room standup-2024. */
static const uint8_t ref_activated[] = { 0x08, 0x07, 0x12, 0x0e, 0x73, 0x79, 0x73, 0x74, 0x65,
	                                 0x6d, 0x2d, 0x26, 0x5e, 0x25, 0x24, 0x23, 0x40, 0x21,
	                                 0x1a, 0x10, 0x08, 0x05, 0x12, 0x0c, 0x73, 0x74, 0x61,
	                                 0x6e, 0x64, 0x75, 0x70, 0x2d, 0x32, 0x30, 0x32, 0x34 };
static const uint8_t ref_admitted[] = { 0x08, 0x07, 0x12, 0x0e, 0x73, 0x79, 0x73, 0x74, 0x65, 0x6d,
	                                0x2d, 0x26, 0x5e, 0x25, 0x24, 0x23, 0x40, 0x21, 0x1a, 0x23,
	                                0x08, 0x06, 0x12, 0x0c, 0x73, 0x74, 0x61, 0x6e, 0x64, 0x75,
	                                0x70, 0x2d, 0x32, 0x30, 0x32, 0x34, 0x3a, 0x11, 0x61, 0x6c,
	                                0x69, 0x63, 0x65, 0x40, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c,
	                                0x65, 0x2e, 0x63, 0x6f, 0x6d };

static void expect_bytes(vcm_sub_t *s, unsigned i, const uint8_t *want, size_t n)
{
	size_t len;
	uint8_t *got = vcm_sub_msg(s, i, &len, NULL);

	if (got == NULL || len != n || memcmp(got, want, n) != 0)
		fail_msg("NATS: event #%u differs from the reference bytes of §8.1", i);
	free(got);
}

static void test_nats_reference_bytes(void **state)
{
	const char *room = "standup-2024";
	vcm_sub_t *s = vcm_sub_open("room.standup-2024.system");
	uint8_t waiting_ref[sizeof(ref_activated)];

	memcpy(waiting_ref, ref_activated, sizeof(waiting_ref));
	waiting_ref[21] = 0x08; /* "same as ACTIVATED with inner 08 08" */
	vcm_new_room(HOST, room, NULL);
	json_decref(vcm_join(HOST, room, HOST_NAME));
	vcm_expect_event(s, 0, VC_EV_MEETING_ACTIVATED, room, NULL);
	expect_bytes(s, 0, ref_activated, sizeof(ref_activated));
	json_decref(join_as("alice@example.com", room, NULL, "waiting"));
	vcm_expect_event(s, 1, VC_EV_WAITING_ROOM_UPDATED, room, NULL);
	expect_bytes(s, 1, waiting_ref, sizeof(waiting_ref));
	json_decref(vcm_admit(HOST, room, "alice@example.com"));
	vcm_expect_event(s, 2, VC_EV_PARTICIPANT_ADMITTED, room, "alice@example.com");
	expect_bytes(s, 2, ref_admitted, sizeof(ref_admitted));
	json_decref(join_as(ATT, room, NULL, "waiting"));
	vcm_expect_event(s, 3, VC_EV_WAITING_ROOM_UPDATED, room, NULL);
	json_decref(reject(HOST, room, ATT));
	vcm_expect_event(s, 4, VC_EV_PARTICIPANT_REJECTED, room, ATT);
	vcm_expect_count(s, 5, QUIET_MS);
	vcm_sub_close(s);
	vct_pass();
}

static void patch_wr(const char *room, bool on)
{
	json_decref(
	        vcm_ok(HOST, "PATCH", room, NULL,
	               on ? "{\"waiting_room_enabled\":true}" : "{\"waiting_room_enabled\":false}",
	               200));
}

/*
 * The whole life of a meeting and exactly the events it publishes, in
 * order. An event that should not be there shifts every later one, so
 * each expected event also proves the silence of the steps before it.
 */
static void test_nats_event_sequence(void **state)
{
	const char *room = "f-n-seq";
	const char *a1 = "seq-a1@example.com", *a2 = "seq-a2@example.com";
	const char *a3 = "seq-a3@example.com", *a4 = "seq-a4@example.com";
	const char *a5 = "seq-a5@example.com";
	vcm_sub_t *s = vcm_sub_open("room.f-n-seq.system");
	unsigned n = 0;

	vcm_new_room(HOST, room, NULL);                               /* nothing */
	json_decref(join_as(ATT, room, NULL, "waiting_for_meeting")); /* nothing */
	json_decref(vcm_join(HOST, room, NULL));
	vcm_expect_event(s, n++, VC_EV_MEETING_ACTIVATED, room, NULL);
	json_decref(vcm_join(HOST, room, NULL)); /* already active: nothing */
	json_decref(join_as(a1, room, NULL, "waiting"));
	vcm_expect_event(s, n++, VC_EV_WAITING_ROOM_UPDATED, room, NULL);
	json_decref(join_as(a2, room, NULL, "waiting"));
	vcm_expect_event(s, n++, VC_EV_WAITING_ROOM_UPDATED, room, NULL);
	json_decref(vcm_admit(HOST, room, a1));
	vcm_expect_event(s, n++, VC_EV_PARTICIPANT_ADMITTED, room, a1);
	json_decref(reject(HOST, room, a2));
	vcm_expect_event(s, n++, VC_EV_PARTICIPANT_REJECTED, room, a2);
	/* vcd: a re-join while admitted stays admitted, so no WAITING_ROOM_UPDATED
	 * (videocall.rs demotes to waiting and publishes one). */
	json_decref(join_as(a1, room, NULL, "admitted"));
	json_decref(my_status(a1, room));
	json_decref(vcm_ok(a1, "POST", room, "leave", NULL, 200)); /* nothing (§8.1) */
	json_decref(join_as(a3, room, NULL, "waiting"));
	vcm_expect_event(s, n++, VC_EV_WAITING_ROOM_UPDATED, room, NULL);
	patch_wr(room, false);                            /* auto-admits a3: nothing (§4.4) */
	json_decref(join_as(a4, room, NULL, "admitted")); /* admitted at join: nothing */
	patch_wr(room, true);
	json_decref(join_as(a5, room, NULL, "waiting"));
	vcm_expect_event(s, n++, VC_EV_WAITING_ROOM_UPDATED, room, NULL);
	json_decref(vcm_ok(HOST, "POST", room, "admit-all", NULL, 200));
	vcm_expect_event(s, n++, VC_EV_PARTICIPANT_ADMITTED, room, a5);
	/* vcd: MEETING_ENDED when the meeting ends (videocall.rs: nothing), once. */
	json_decref(vcm_ok(HOST, "POST", room, "end", NULL, 200));
	expect_ended_event(s, n++, room);
	json_decref(vcm_ok(HOST, "POST", room, "end", NULL, 200));
	json_decref(vcm_join(HOST, room, NULL)); /* ended → active */
	vcm_expect_event(s, n++, VC_EV_MEETING_ACTIVATED, room, NULL);
	json_decref(vcm_ok(HOST, "POST", room, "leave", NULL, 200)); /* the host leaves: ends */
	expect_ended_event(s, n++, room);
	vcm_expect_count(s, n, QUIET_MS);
	vcm_sub_close(s);
	vct_pass();
}

static void test_nats_ad_hoc_join(void **state)
{
	vcm_sub_t *s = vcm_sub_open("room.f-n-adhoc.system");

	json_decref(vcm_join(HOST, "f-n-adhoc", NULL));
	vcm_expect_event(s, 0, VC_EV_MEETING_ACTIVATED, "f-n-adhoc", NULL);
	vcm_expect_count(s, 1, QUIET_MS);
	vcm_sub_close(s);
	vct_pass();
}

/* --- vcd's differences from videocall.rs ---------------------------------- */

/* videocall.rs demotes an admitted participant who calls /join again to
 * waiting; vcd keeps them admitted (first admitted_at kept) and answers a
 * room token. */
static void test_vcd_rejoin_while_admitted_stays_admitted(void **state)
{
	const char *room = "f-d-rejoin";
	long long admitted_at, t0, t1;
	json_t *p, *a;

	setup_meeting(room, NULL);
	json_decref(join_as(ATT, room, NULL, "waiting"));
	p = vcm_admit(HOST, room, ATT);
	admitted_at = vct_json_int(p, "admitted_at");
	json_decref(p);
	vct_sleep_ms(1100);
	t0 = vcm_now();
	p = join_as(ATT, room, "Again", "admitted");
	t1 = vcm_now();
	assert_int_equal(vct_json_int(p, "admitted_at"), admitted_at);
	vcm_absent(p, "observer_token", "re-join while admitted");
	vcm_room_token(vct_json_str(p, "room_token"), ATT, room, false, "Again", t0, t1);
	json_decref(p);
	a = waiting(HOST, room);
	assert_int_equal(json_array_size(a), 0);
	json_decref(a);
	expect_row(room, ATT, "admitted");
	expect_counts(room, 2, 0);
	vct_pass();
}

/* videocall.rs stores the meeting password and never checks it; vcd
 * requires it on /join from everyone but the owner: 403 INVALID_PASSWORD
 * (code and message are vcd's, not in §2.4), nothing written. */
static void test_vcd_password_on_join(void **state)
{
	const char *room = "f-d-pw";
	json_t *p;

	vcm_new_room(HOST, room, ",\"password\":\"pw-secret-1\"");
	/* Idle meeting: refused before waiting_for_meeting. */
	vcm_fail(ATT, "POST", room, "join", NULL, 403, "INVALID_PASSWORD", BAD_PASSWORD);
	/* The owner needs none. */
	json_decref(vcm_join(HOST, room, HOST_NAME));
	vcm_fail(ATT, "POST", room, "join", NULL, 403, "INVALID_PASSWORD", BAD_PASSWORD);
	vcm_fail(ATT, "POST", room, "join", "{\"display_name\":\"A\"}", 403, "INVALID_PASSWORD",
	         BAD_PASSWORD);
	vcm_fail(ATT, "POST", room, "join", "{\"password\":\"pw-secret-2\"}", 403,
	         "INVALID_PASSWORD", BAD_PASSWORD);
	vcm_fail(ATT, "POST", room, "join", "{\"password\":\"\"}", 403, "INVALID_PASSWORD",
	         BAD_PASSWORD);
	expect_row(room, ATT, "");
	vcm_fail(ATT, "GET", room, "status", NULL, 404, "NOT_IN_MEETING", VCM_NOT_IN);
	p = vcm_ok(ATT, "POST", room, "join",
	           "{\"display_name\":\"A\",\"password\":\"pw-secret-1\"}", 200);
	vcm_participant(p, ATT, "waiting", false);
	assert_string_equal(vct_json_str(p, "display_name"), "A");
	json_decref(p);
	/* A meeting without a password ignores one given. */
	setup_meeting("f-d-pw2", NULL);
	p = vcm_ok(ATT, "POST", "f-d-pw2", "join", "{\"password\":\"anything\"}", 200);
	vcm_participant(p, ATT, "waiting", false);
	json_decref(p);
	vct_pass();
}

/* videocall.rs stores attendees and never consults them; in vcd a listed
 * attendee skips the waiting room of an active meeting. */
static void test_vcd_attendees_skip_waiting_room(void **state)
{
	const char *room = "f-d-att", *vip = "vip@example.com";
	long long t0, t1;
	json_t *p;

	vcm_new_room(HOST, room, ",\"attendees\":[\"vip@example.com\"]");
	/* Not active yet: listed or not, wait for the meeting. */
	json_decref(join_as(vip, room, NULL, "waiting_for_meeting"));
	json_decref(vcm_join(HOST, room, NULL));
	t0 = vcm_now();
	p = join_as(vip, room, NULL, "admitted");
	t1 = vcm_now();
	vcm_absent(p, "observer_token", "attendee join");
	vcm_room_token(vct_json_str(p, "room_token"), vip, room, false, vip, t0, t1);
	json_decref(p);
	json_decref(join_as(ATT, room, NULL, "waiting"));
	expect_counts(room, 2, 1);
	vct_pass();
}

/* videocall.rs: only the host admits. vcd: admission = "participants" lets
 * any admitted participant run the waiting room. */
static void test_vcd_admission_participants(void **state)
{
	const char *room = "f-d-adm", *p1 = "adm-p1@example.com", *p2 = "adm-p2@example.com";
	const char *p3 = "adm-p3@example.com", *p4 = "adm-p4@example.com";
	const char *p5 = "adm-p5@example.com";
	json_t *a, *r;

	setup_meeting(room, ",\"admission\":\"participants\"");
	json_decref(join_as(p1, room, NULL, "waiting"));
	json_decref(vcm_admit(HOST, room, p1));
	json_decref(join_as(p2, room, NULL, "waiting"));
	a = waiting(p1, room);
	assert_non_null(vcm_find_user(a, p2));
	json_decref(a);
	json_decref(vcm_admit(p1, room, p2));
	json_decref(join_as(p3, room, NULL, "waiting"));
	json_decref(reject(p1, room, p3));
	json_decref(join_as(p4, room, NULL, "waiting"));
	r = vcm_ok(p1, "POST", room, "admit-all", NULL, 200);
	assert_int_equal(vct_json_int(r, "admitted_count"), 1);
	json_decref(r);
	/* Still only admitted participants. */
	json_decref(join_as(p5, room, NULL, "waiting"));
	vcm_fail(p5, "GET", room, "waiting", NULL, 403, "NOT_HOST", VCM_NOT_HOST);
	vcm_fail(OTHER, "GET", room, "waiting", NULL, 403, "NOT_HOST", VCM_NOT_HOST);
	/* Only the two values. */
	vcm_status(HOST, "POST", "/api/v1/meetings", JSON_CT,
	           "{\"meeting_id\":\"f-d-adm3\",\"admission\":\"everyone\"}", 422);
	vcm_status(HOST, "PATCH", "/api/v1/meetings/f-d-adm", JSON_CT,
	           "{\"admission\":\"everyone\"}", 422);
	/* Switched on later by the owner. */
	setup_meeting("f-d-adm2", NULL);
	json_decref(join_as(p1, "f-d-adm2", NULL, "waiting"));
	json_decref(vcm_admit(HOST, "f-d-adm2", p1));
	vcm_fail(p1, "GET", "f-d-adm2", "waiting", NULL, 403, "NOT_HOST", VCM_NOT_HOST);
	json_decref(
	        vcm_ok(HOST, "PATCH", "f-d-adm2", NULL, "{\"admission\":\"participants\"}", 200));
	json_decref(waiting(p1, "f-d-adm2"));
	vct_pass();
}

/* A system event decoded: kind, room and target (for events whose other
 * fields are vcd's choice). */
static void expect_decoded(vcm_sub_t *s, unsigned i, int event, const char *room,
                           const char *target)
{
	size_t len;
	uint8_t *b;
	vcm_event_t e;

	if (vcm_sub_wait(s, i + 1, 5000) < i + 1)
		fail_msg("NATS: event #%u (%d for %s) did not arrive within 5 s", i, event, room);
	b = vcm_sub_msg(s, i, &len, NULL);
	if (!vcm_decode_event(b, len, &e) || e.packet_type != VC_PACKET_MEETING ||
	    strcmp(e.user_id, VC_SYSTEM_USER_ID) != 0 || e.event_type != event ||
	    strcmp(e.room_id, room) != 0 || strcmp(e.target, target ? target : "") != 0)
		fail_msg("NATS: event #%u is %d for '%s' (target '%s'); expected %d for '%s' "
		         "(target '%s')",
		         i, e.event_type, e.room_id, e.target, event, room, target ? target : "");
	free(b);
}

/* videocall.rs has no kick; vcd's host can remove an admitted or waiting
 * participant (status left, PARTICIPANT_LEFT published), who may knock
 * again. */
static void test_vcd_kick(void **state)
{
	const char *room = "f-d-kick", *p1 = "kick-p1@example.com", *p2 = "kick-p2@example.com";
	const char *p3 = "kick-p3@example.com";
	char *b1 = user_body(p1), *b2 = user_body(p2);
	vcm_sub_t *s = vcm_sub_open("room.f-d-kick.system");
	unsigned n = 0;
	json_t *p, *a;

	setup_meeting(room, ",\"admission\":\"participants\"");
	vcm_expect_event(s, n++, VC_EV_MEETING_ACTIVATED, room, NULL);
	json_decref(join_as(p1, room, NULL, "waiting"));
	vcm_expect_event(s, n++, VC_EV_WAITING_ROOM_UPDATED, room, NULL);
	json_decref(vcm_admit(HOST, room, p1));
	vcm_expect_event(s, n++, VC_EV_PARTICIPANT_ADMITTED, room, p1);
	json_decref(join_as(p2, room, NULL, "waiting"));
	vcm_expect_event(s, n++, VC_EV_WAITING_ROOM_UPDATED, room, NULL);
	/* Only the host, whatever the admission. */
	vcm_fail(p1, "POST", room, "kick", b2, 403, "NOT_HOST", VCM_NOT_HOST);
	p = vcm_ok(HOST, "POST", room, "kick", b1, 200);
	vcm_participant(p, p1, "left", false);
	vcm_absent(p, VCM_JOIN_ONLY, "kick answer");
	json_decref(p);
	expect_decoded(s, n++, VC_EV_PARTICIPANT_LEFT, room, p1);
	p = my_status(p1, room);
	vcm_participant(p, p1, "left", false);
	vcm_absent(p, "room_token", "status after a kick");
	json_decref(p);
	a = participants(HOST, room);
	assert_int_equal(json_array_size(a), 1);
	json_decref(a);
	p = vcm_ok(HOST, "POST", room, "kick", b2, 200);
	vcm_participant(p, p2, "left", false);
	json_decref(p);
	expect_decoded(s, n++, VC_EV_PARTICIPANT_LEFT, room, p2);
	expect_counts(room, 1, 0);
	/* Only rows that are in, and never the host. */
	expect_no_participant(HOST, room, "kick", p1);
	expect_no_participant(HOST, room, "kick", "nobody@example.com");
	expect_no_participant(HOST, room, "kick", HOST);
	vcm_status(HOST, "POST", "/api/v1/meetings/f-d-kick/kick", JSON_CT, "{}", 422);
	vcm_status(HOST, "POST", "/api/v1/meetings/f-d-kick/kick", NULL, b1, 415);
	expect_not_found(HOST, "POST", "f-d-kick-unknown", "kick", b1);
	vcm_fail(NULL, "POST", room, "kick", b1, 401, "UNAUTHORIZED", VCM_NOAUTH);
	/* Knocking again after a kick. */
	json_decref(join_as(p1, room, NULL, "waiting"));
	vcm_expect_event(s, n++, VC_EV_WAITING_ROOM_UPDATED, room, NULL);
	json_decref(join_as(p3, room, NULL, "waiting"));
	vcm_expect_event(s, n++, VC_EV_WAITING_ROOM_UPDATED, room, NULL);
	vcm_expect_count(s, n, QUIET_MS);
	vcm_sub_close(s);
	free(b1);
	free(b2);
	vct_pass();
}

/* videocall.rs creates ad-hoc meetings under any id (the media server then
 * refuses the room, and >255 bytes is a 500); vcd answers
 * INVALID_MEETING_ID on /join for ids the media server refuses. */
static void test_vcd_join_refuses_unsafe_room_ids(void **state)
{
	char long_id[260];
	char *v;

	memset(long_id, 'x', 256);
	long_id[256] = '\0';
	vcm_fail(HOST, "POST", "bad.room", "join", NULL, 400, "INVALID_MEETING_ID", PATTERN_MSG);
	vcm_fail(HOST, "POST", "has%20space", "join", NULL, 400, "INVALID_MEETING_ID", PATTERN_MSG);
	vcm_fail(HOST, "POST", "a%2Ab", "join", NULL, 400, "INVALID_MEETING_ID", PATTERN_MSG);
	vcm_fail(HOST, "POST", long_id, "join", NULL, 400, "INVALID_MEETING_ID",
	         "Invalid meeting ID: cannot exceed 255 characters");
	v = vct_db_value(db_url, "SELECT count(*) FROM meetings WHERE room_id IN "
	                         "('bad.room', 'has space', 'a*b') OR length(room_id) > 255");
	assert_string_equal(v, "0");
	free(v);
	json_decref(vcm_join(HOST, "My_Room-123", NULL));
	vct_pass();
}

/* vcd: a meeting password is guessed no faster than a login password.
 * Joins with a password count against auth_rate_limit per client
 * address, with login and register; joins without one do not. */
static void test_vcd_password_guesses_are_limited(void **state)
{
	const char *room = "f-d-pw-limit";
	char *conf = vct_strf(VCM_CONF "auth_rate_limit = 3/1m\n");
	vct_vcd_t *v = vct_vcd_start("mflow_limit", db_url, conf);
	vct_resp_t r;
	char *path = vcm_url(room, "join");

	vcm_target(v);
	vcm_new_room(HOST, room, ",\"password\":\"pw-right-1\"");
	json_decref(vcm_join(HOST, room, HOST_NAME));
	for (int i = 0; i < 3; i++)
		vcm_fail(ATT, "POST", room, "join", "{\"password\":\"pw-guess\"}", 403,
		         "INVALID_PASSWORD", BAD_PASSWORD);
	/* Without a password: no guess, not counted, not limited. */
	vcm_fail(OTHER, "POST", room, "join", "{}", 403, "INVALID_PASSWORD", BAD_PASSWORD);
	/* The fourth guess is refused before its password is checked, even the
	 * right one, from any caller at that address. */
	assert_int_equal(vcm_call(OTHER, "POST", path, "{\"password\":\"pw-right-1\"}", &r), 429);
	vcm_error(&r, 429, "TOO_MANY_ATTEMPTS", "Too many attempts, try again later",
	          "the fourth password join");
	if (vct_resp_header(&r, "Retry-After") == NULL ||
	    atoi(vct_resp_header(&r, "Retry-After")) < 1)
		fail_msg("429 without a Retry-After of at least 1 s");
	vct_resp_free(&r);
	expect_row(room, OTHER, "");
	/* One budget with login. */
	assert_int_equal(vct_http(v->port, "POST", "/api/users/login", JSON_CT,
	                          "{\"username\":\"nobody\",\"password\":\"pw-nobody-1\"}", &r),
	                 429);
	vct_resp_free(&r);
	vcm_target(vcd);
	vct_vcd_stop_ok(v);
	free(path);
	free(conf);
	vct_pass();
}

/* videocall.rs stores display names and user ids as varchar(255) and
 * answers 500 past that; vcd refuses them first: a display name of more
 * than 255 characters is INVALID_DISPLAY_NAME, a session JWT whose sub is
 * longer is no credential (401). Characters, not bytes. */
static void test_vcd_refuses_what_no_row_can_hold(void **state)
{
	const char *room = "flow-long-texts";
	char name[256 * 2 + 32], user[300];
	char *path = vcm_url(room, "join"), *v;
	vct_resp_t r;

	json_decref(vcm_join(HOST, room, NULL));
	strcpy(name, "{\"display_name\":\"");
	for (int i = 0; i < 255; i++)
		strcat(name, "\u00e9"); /* é, 2 bytes */
	strcat(name, "\"}");
	json_decref(vcm_ok(ATT, "POST", room, "join", name, 200));
	name[strlen(name) - 2] = '\0';
	strcat(name, "x\"}");
	vcm_fail(OTHER, "POST", room, "join", name, 400, "INVALID_DISPLAY_NAME",
	         "Display name cannot exceed 255 characters");
	memset(user, 'u', 256);
	user[256] = '\0';
	assert_int_equal(vcm_call(user, "POST", path, "{}", &r), 401);
	vct_resp_free(&r);
	free(path);
	user[255] = '\0';
	json_decref(vcm_ok(user, "POST", room, "join", "{}", 200));
	v = vct_db_valuef(db_url,
	                  "SELECT count(*) FROM meeting_participants p JOIN meetings m"
	                  " ON m.id = p.meeting_id WHERE m.room_id = '%s'",
	                  room);
	assert_string_equal(v, "3"); /* the host, the guest and the 255-character user */
	free(v);
	vct_pass();
}

/* The reserved system user id (VC_SYSTEM_USER_ID) is who the media server
 * says system events come from and whose tokens it refuses (§5.4), so no
 * room token may ever name it. A session JWT can carry it as its sub (a
 * vcd account's id is a UUID and cannot): vcd refuses such a caller with
 * 403 RESERVED_USER_ID on every route that would make it an owner or a
 * participant or give it a token, before anything is written. */
static void test_vcd_refuses_the_system_user(void **state)
{
	const char *sys = VC_SYSTEM_USER_ID, *live = "f-sys-live";
	const char *msg = "This user id is reserved and cannot take part in meetings";
	char *before, *after, *v;
	vcm_sub_t *s;

	/* /join of a room nobody created: no ad-hoc meeting */
	vcm_fail(sys, "POST", "f-sys-adhoc", "join", "{\"display_name\":\"Sys\"}", 403,
	         "RESERVED_USER_ID", msg);
	vcm_fail(sys, "POST", "f-sys-adhoc", "join", NULL, 403, "RESERVED_USER_ID", msg);
	/* POST /api/v1/meetings: no meeting either */
	vcm_fail_at(sys, "POST", "/api/v1/meetings", "{\"meeting_id\":\"f-sys-create\"}", 403,
	            "RESERVED_USER_ID", msg);
	v = vct_db_value(db_url, "SELECT count(*) FROM meetings WHERE room_id IN "
	                         "('f-sys-adhoc', 'f-sys-create')");
	if (strcmp(v, "0") != 0)
		fail_msg("PostgreSQL: %s meeting rows for f-sys-adhoc and f-sys-create, expected "
		         "none",
		         v);
	free(v);
	/* /join and /status of a live meeting: no row, the meeting unchanged,
	 * no event */
	setup_meeting(live, NULL);
	before = vct_db_valuef(db_url, "SELECT m::text FROM meetings m WHERE room_id = '%s'", live);
	s = vcm_sub_open("room.f-sys-live.system");
	vcm_fail(sys, "POST", live, "join", NULL, 403, "RESERVED_USER_ID", msg);
	vcm_fail(sys, "GET", live, "status", NULL, 403, "RESERVED_USER_ID", msg);
	vcm_expect_count(s, 0, QUIET_MS);
	vcm_sub_close(s);
	after = vct_db_valuef(db_url, "SELECT m::text FROM meetings m WHERE room_id = '%s'", live);
	if (strcmp(before, after) != 0)
		fail_msg("PostgreSQL: the meeting row changed:\n  before %s\n  after  %s", before,
		         after);
	v = vct_db_valuef(db_url,
	                  "SELECT (SELECT count(*) FROM meeting_participants WHERE user_id = '%s')"
	                  " + (SELECT count(*) FROM meetings WHERE creator_id = '%s')",
	                  sys, sys);
	if (strcmp(v, "0") != 0)
		fail_msg("PostgreSQL: %s participant or meeting rows name the system user id", v);
	free(v);
	free(before);
	free(after);
	expect_counts(live, 1, 0);
	vct_pass();
}

/* --- concurrency ---------------------------------------------------------- */

/* Every job answered 200 with a success envelope; its result's status. */
static const char *job_status(const vcm_job_t *j)
{
	json_t *res = json_object_get(j->json, "result");

	if (j->status != 200 || !json_is_true(json_object_get(j->json, "success")))
		fail_msg("%s %s as %s: HTTP %d, expected 200", j->method, j->path, j->user,
		         j->status);
	return vct_json_str(res, "status");
}

static bool error_code_is(const vcm_job_t *j, const char *code)
{
	const char *c =
	        json_string_value(json_object_get(json_object_get(j->json, "result"), "code"));

	return c != NULL && strcmp(c, code) == 0;
}

/* Count events of each kind and the ADMITTED targets; every packet is
 * checked byte for byte. */
static void count_events(vcm_sub_t *s, const char *room, unsigned n, unsigned *kinds,
                         json_t *targets)
{
	vcm_event_t e;
	size_t len;
	uint8_t *b;

	for (unsigned i = 0; i < n; i++) {
		b = vcm_sub_msg(s, i, &len, NULL);
		if (b == NULL || !vcm_decode_event(b, len, &e) || e.event_type > 8)
			fail_msg("NATS: event #%u of %s does not decode", i, room);
		vcm_expect_event(s, i, e.event_type, room, e.target[0] ? e.target : NULL);
		kinds[e.event_type]++;
		if (e.event_type == VC_EV_PARTICIPANT_ADMITTED) {
			if (json_object_get(targets, e.target) != NULL)
				fail_msg("NATS: %s admitted twice", e.target);
			json_object_set_new(targets, e.target, json_true());
		}
		free(b);
	}
}

/*
 * 200 attendees join one meeting at the same moment from 200 connections,
 * then the host admits 100 of them from 100 connections at once (plus ten
 * racing admits of one more: exactly one wins, §7.2), then admits the rest
 * with admit-all. The rows in PostgreSQL, the counts of GET, the answers
 * and the events published agree exactly.
 */
static void test_concurrent_joins_then_admit(void **state)
{
	const char *room = "f-crowd";
	static char users[CROWD][48];
	static vcm_job_t jobs[CROWD];
	char *join_path = vcm_url(room, "join"), *admit_path = vcm_url(room, "admit");
	char *bodies[110], *v;
	vcm_sub_t *s = vcm_sub_open("room.f-crowd.system");
	unsigned kinds[9] = { 0 }, won = 0, lost = 0;
	json_t *targets = json_object(), *r, *a;

	setup_meeting(room, NULL);
	vcm_expect_event(s, 0, VC_EV_MEETING_ACTIVATED, room, NULL);
	for (unsigned i = 0; i < CROWD; i++) {
		snprintf(users[i], sizeof(users[i]), "crowd-%03u@example.com", i);
		jobs[i] = (vcm_job_t){ .user = users[i], .method = "POST", .path = join_path };
	}
	vcm_run_jobs(jobs, CROWD);
	for (unsigned i = 0; i < CROWD; i++) {
		json_t *p = json_object_get(jobs[i].json, "result");
		assert_string_equal(job_status(&jobs[i]), "waiting");
		vcm_participant(p, users[i], "waiting", false);
		assert_non_null(json_object_get(p, "observer_token"));
	}
	vcm_jobs_free(jobs, CROWD);
	v = row_counts(room);
	assert_string_equal(v, "1/200/201");
	free(v);
	expect_counts(room, 1, CROWD);
	/* 100 admits at once, and ten of user 150. */
	for (unsigned i = 0; i < 110; i++) {
		bodies[i] = user_body(users[i < 100 ? i : 150]);
		jobs[i] = (vcm_job_t){
			.user = HOST, .method = "POST", .path = admit_path, .body = bodies[i]
		};
	}
	vcm_run_jobs(jobs, 110);
	for (unsigned i = 0; i < 100; i++)
		assert_string_equal(job_status(&jobs[i]), "admitted");
	for (unsigned i = 100; i < 110; i++) {
		if (jobs[i].status == 200) {
			won++;
		} else if (jobs[i].status == 404 &&
		           error_code_is(&jobs[i], "PARTICIPANT_NOT_FOUND")) {
			lost++;
		}
	}
	if (won != 1 || lost != 9)
		fail_msg("ten racing admits of one user: %u answered 200 and %u 404 "
		         "PARTICIPANT_NOT_FOUND; expected 1 and 9",
		         won, lost);
	vcm_jobs_free(jobs, 110);
	for (unsigned i = 0; i < 110; i++)
		free(bodies[i]);
	r = vcm_ok(HOST, "POST", room, "admit-all", NULL, 200);
	assert_int_equal(vct_json_int(r, "admitted_count"), CROWD - 101);
	assert_int_equal(json_array_size(json_object_get(r, "admitted")), CROWD - 101);
	json_decref(r);
	/* Everything agrees. */
	v = row_counts(room);
	assert_string_equal(v, "201/0/201");
	free(v);
	expect_counts(room, CROWD + 1, 0);
	a = participants(HOST, room);
	assert_int_equal(json_array_size(a), CROWD + 1);
	json_decref(a);
	vcm_expect_count(s, 1 + 2 * CROWD, QUIET_MS);
	count_events(s, room, 1 + 2 * CROWD, kinds, targets);
	if (kinds[VC_EV_MEETING_ACTIVATED] != 1 || kinds[VC_EV_WAITING_ROOM_UPDATED] != CROWD ||
	    kinds[VC_EV_PARTICIPANT_ADMITTED] != CROWD)
		fail_msg("NATS: %u ACTIVATED, %u WAITING_ROOM_UPDATED, %u ADMITTED; expected 1, "
		         "%d, %d",
		         kinds[5], kinds[8], kinds[6], CROWD, CROWD);
	for (unsigned i = 0; i < CROWD; i++)
		if (json_object_get(targets, users[i]) == NULL)
			fail_msg("NATS: no PARTICIPANT_ADMITTED for %s", users[i]);
	json_decref(targets);
	vcm_sub_close(s);
	free(join_path);
	free(admit_path);
	vct_pass();
}

/* videocall.rs answers concurrent ad-hoc creations of one id with 500
 * (unique violation); vcd makes one meeting: one caller is its host, the
 * others find it active and wait. */
static void test_concurrent_ad_hoc_creation(void **state)
{
	const char *room = "f-race";
	static char users[RACERS][48];
	static vcm_job_t jobs[RACERS];
	char *path = vcm_url(room, "join"), *v, *sql;
	vcm_sub_t *s = vcm_sub_open("room.f-race.system");
	unsigned hosts = 0, waiters = 0, kinds[9] = { 0 };
	const char *host = NULL;
	json_t *targets = json_object();

	for (unsigned i = 0; i < RACERS; i++) {
		snprintf(users[i], sizeof(users[i]), "race-%03u@example.com", i);
		jobs[i] = (vcm_job_t){ .user = users[i], .method = "POST", .path = path };
	}
	vcm_run_jobs(jobs, RACERS);
	for (unsigned i = 0; i < RACERS; i++) {
		json_t *p = json_object_get(jobs[i].json, "result");
		const char *st = job_status(&jobs[i]);
		if (strcmp(st, "admitted") == 0 && json_is_true(json_object_get(p, "is_host")) &&
		    json_object_get(p, "room_token") != NULL) {
			hosts++;
			host = users[i];
		} else if (strcmp(st, "waiting") == 0 &&
		           json_object_get(p, "observer_token") != NULL) {
			waiters++;
		}
	}
	if (hosts != 1 || waiters != RACERS - 1)
		fail_msg("%d concurrent ad-hoc joins: %u hosts and %u waiting; expected 1 and %d",
		         RACERS, hosts, waiters, RACERS - 1);
	sql = vct_strf("SELECT count(*) || ' ' || min(creator_id) FROM meetings "
	               "WHERE room_id = '%s'",
	               room);
	v = vct_db_value(db_url, sql);
	free(sql);
	sql = vct_strf("1 %s", host);
	assert_string_equal(v, sql);
	free(sql);
	free(v);
	v = row_counts(room);
	sql = vct_strf("1/%d/%d", RACERS - 1, RACERS);
	assert_string_equal(v, sql);
	free(sql);
	free(v);
	vcm_jobs_free(jobs, RACERS);
	vcm_expect_event(s, 0, VC_EV_MEETING_ACTIVATED, room, NULL);
	vcm_expect_count(s, RACERS, QUIET_MS);
	count_events(s, room, RACERS, kinds, targets);
	assert_int_equal(kinds[VC_EV_WAITING_ROOM_UPDATED], RACERS - 1);
	json_decref(targets);
	vcm_sub_close(s);
	free(path);
	vct_pass();
}

/* --- restart -------------------------------------------------------------- */

/* Every caller's /status, room tokens left out (fresh on every call). */
static json_t *statuses(const char *room, const char *const *users, size_t n)
{
	json_t *all = json_object(), *p;

	for (size_t i = 0; i < n; i++) {
		p = my_status(users[i], room);
		if (strcmp(vct_json_str(p, "status"), "admitted") == 0)
			assert_non_null(json_object_get(p, "room_token"));
		json_object_del(p, "room_token");
		json_object_set_new(all, users[i], p);
	}
	return all;
}

/* Participants keyed by user id (the list is unordered). */
static json_t *by_user(json_t *a)
{
	json_t *o = json_object(), *p;
	size_t i;

	json_array_foreach(a, i, p) json_object_set(o, vct_json_str(p, "user_id"), p);
	json_decref(a);
	return o;
}

static void expect_same(json_t *before, json_t *after, const char *what)
{
	if (!json_equal(before, after)) {
		char *b = json_dumps(before, JSON_COMPACT | JSON_SORT_KEYS);
		char *a = json_dumps(after, JSON_COMPACT | JSON_SORT_KEYS);
		fail_msg("%s changed across the restart:\n  before %s\n  after  %s", what, b, a);
	}
	json_decref(before);
	json_decref(after);
}

static void test_restart_keeps_state(void **state)
{
	const char *room = "f-restart";
	const char *users[] = { HOST, "r-admitted@example.com", "r-waiting@example.com",
		                "r-rejected@example.com", "r-left@example.com" };
	char *conf = vct_strf(VCM_CONF "nats_url = %s\n", vct_env("VCT_NATS_URL"));
	vct_vcd_t *a = vct_vcd_start("mflow_r1", db_url, conf), *b;
	json_t *m0, *p0, *s0, *m1, *p1, *s1;
	vcm_sub_t *s;

	vcm_target(a);
	setup_meeting(room, NULL);
	json_decref(join_as(users[1], room, NULL, "waiting"));
	json_decref(vcm_admit(HOST, room, users[1]));
	json_decref(join_as(users[2], room, "Still Waiting", "waiting"));
	json_decref(join_as(users[3], room, NULL, "waiting"));
	json_decref(reject(HOST, room, users[3]));
	json_decref(join_as(users[4], room, NULL, "waiting"));
	json_decref(vcm_admit(HOST, room, users[4]));
	json_decref(vcm_ok(users[4], "POST", room, "leave", NULL, 200));
	m0 = info(HOST, room);
	p0 = by_user(participants(HOST, room));
	s0 = statuses(room, users, 5);
	vct_vcd_stop_ok(a);

	b = vct_vcd_start("mflow_r2", db_url, conf);
	vcm_target(b);
	vcm_wait_nats(b);
	m1 = info(HOST, room);
	p1 = by_user(participants(HOST, room));
	s1 = statuses(room, users, 5);
	expect_same(m0, m1, "GET /api/v1/meetings/f-restart");
	expect_same(p0, p1, "GET …/participants");
	expect_same(s0, s1, "GET …/status of each participant");
	/* And it goes on: the new vcd admits, publishes, counts. */
	s = vcm_sub_open("room.f-restart.system");
	json_decref(vcm_admit(HOST, room, users[2]));
	vcm_expect_event(s, 0, VC_EV_PARTICIPANT_ADMITTED, room, users[2]);
	expect_counts(room, 3, 0);
	vcm_sub_close(s);
	vct_vcd_stop_ok(b);
	free(conf);
	vct_pass();
}

/* --- main ----------------------------------------------------------------- */

static int group_setup(void **state)
{
	char *more = vct_strf("nats_url = %s\n", vct_env("VCT_NATS_URL"));

	vcd = vcm_start("meetings_flow", "mflow", more, &db_url);
	vcm_wait_nats(vcd);
	free(more);
	return 0;
}

static int group_teardown(void **state)
{
	return vcm_finish(vcd, &db_url);
}

/* Point the helpers back at the main vcd whatever the case did. */
static int case_teardown(void **state)
{
	vcm_target(vcd);
	return vct_teardown(state);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, vct_setup, case_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_join_meeting_host_activates),
		T(test_join_meeting_attendee_waits),
		T(test_join_not_active_returns_waiting_for_meeting),
		T(test_leave_meeting_success),
		T(test_get_my_status_success),
		T(test_status_refused_after_meeting_ends),
		T(test_attendee_rejoin_ended_meeting),
		T(test_get_participants_success),
		T(test_display_names),
		T(test_get_waiting_room_success),
		T(test_admit_participant_success),
		T(test_admit_participant_not_found),
		T(test_admit_all_participants),
		T(test_reject_participant_success),
		T(test_host_only_actions),
		T(test_observer_token_waiting_for_meeting),
		T(test_observer_token_waiting),
		T(test_no_observer_token_when_admitted),
		T(test_admit_and_reject_then_empty),
		T(test_nats_reference_bytes),
		T(test_nats_event_sequence),
		T(test_nats_ad_hoc_join),
		T(test_vcd_rejoin_while_admitted_stays_admitted),
		T(test_vcd_password_on_join),
		T(test_vcd_attendees_skip_waiting_room),
		T(test_vcd_admission_participants),
		T(test_vcd_kick),
		T(test_vcd_join_refuses_unsafe_room_ids),
		T(test_vcd_refuses_what_no_row_can_hold),
		T(test_vcd_password_guesses_are_limited),
		T(test_vcd_refuses_the_system_user),
		T(test_concurrent_joins_then_admit),
		T(test_concurrent_ad_hoc_creation),
		T(test_restart_keeps_state),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
