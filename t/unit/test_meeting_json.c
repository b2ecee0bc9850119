/*
 * test_meeting_json.c — the meeting API's bodies, byte for byte, from
 * hand-built replies: the shapes of videocall-rs-contract.md §3.2 in their
 * member order, optional members omitted (never null), seconds where §2.5
 * says seconds and milliseconds in MeetingInfoResponse, tokens only where
 * §3.2 allows them, and every error envelope with its status and exact
 * message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "actors/meeting_json.h"

#define T0 1767225600123LL /* 2026-01-01T00:00:00.123Z */
#define T1 1767225660999LL /* a minute later */

/* The compact text of j (consumed) must be `want`. */
static void assert_json(json_t *j, const char *want)
{
	char *text;

	assert_non_null(j);
	text = json_dumps(j, JSON_COMPACT);
	assert_non_null(text);
	assert_string_equal(text, want);
	free(text);
	json_decref(j);
}

static vc_meeting_row_t meeting(void)
{
	return (vc_meeting_row_t){ .room_id = "standup-2024",
		                   .state = "active",
		                   .creator_id = "host@example.com",
		                   .host_display_name = "Host User",
		                   .admission = "host",
		                   .has_password = true,
		                   .waiting_room = true,
		                   .started_ms = T0,
		                   .ended_ms = T1,
		                   .created_ms = T0,
		                   .participant_count = 2,
		                   .waiting_count = 1 };
}

static vc_participant_row_t participant(const char *user, const char *name, const char *status)
{
	return (vc_participant_row_t){ .user_id = (char *)user,
		                       .display_name = (char *)name,
		                       .status = (char *)status,
		                       .joined_ms = T0,
		                       .admitted_ms = strcmp(status, "admitted") == 0 ? T1 : 0 };
}

/* --- errors --------------------------------------------------------------- */

static void test_errors(void **state)
{
	/* clang-format off */
	static const struct {
		enum vc_meeting_error e;
		int status;
		const char *body;
	} cases[] = {
		{ VC_MERR_MEETING_NOT_FOUND, 404, "{\"success\":false,\"result\":{\"code\":\"MEETING_NOT_FOUND\",\"message\":\"Meeting 'standup' not found\"}}" },
		{ VC_MERR_NOT_OWNER, 403, "{\"success\":false,\"result\":{\"code\":\"NOT_OWNER\",\"message\":\"Only the meeting owner can perform this action\"}}" },
		{ VC_MERR_NOT_HOST, 403, "{\"success\":false,\"result\":{\"code\":\"NOT_HOST\",\"message\":\"Only the meeting host can perform this action\"}}" },
		{ VC_MERR_NOT_IN_MEETING, 404, "{\"success\":false,\"result\":{\"code\":\"NOT_IN_MEETING\",\"message\":\"You have not joined this meeting\"}}" },
		{ VC_MERR_PARTICIPANT_NOT_FOUND, 404, "{\"success\":false,\"result\":{\"code\":\"PARTICIPANT_NOT_FOUND\",\"message\":\"Participant 'bob@example.com' not found in waiting room\"}}" },
		{ VC_MERR_MEETING_NOT_ACTIVE, 400, "{\"success\":false,\"result\":{\"code\":\"MEETING_NOT_ACTIVE\",\"message\":\"Meeting 'standup' is not active. Host must join first.\"}}" },
		{ VC_MERR_MEETING_EXISTS, 409, "{\"success\":false,\"result\":{\"code\":\"MEETING_EXISTS\",\"message\":\"Meeting with ID 'standup' already exists\"}}" },
		{ VC_MERR_INVALID_PASSWORD, 403, "{\"success\":false,\"result\":{\"code\":\"INVALID_PASSWORD\",\"message\":\"Meeting password is missing or wrong\"}}" },
		{ VC_MERR_UNAVAILABLE, 503, "{\"success\":false,\"result\":{\"code\":\"INTERNAL_ERROR\",\"message\":\"Internal server error\"}}" },
		{ VC_MERR_INTERNAL, 500, "{\"success\":false,\"result\":{\"code\":\"INTERNAL_ERROR\",\"message\":\"Internal server error\"}}" },
		/* not an error, or out of range: a 500, never a crash */
		{ VC_MERR_OK, 500, "{\"success\":false,\"result\":{\"code\":\"INTERNAL_ERROR\",\"message\":\"Internal server error\"}}" },
		{ (enum vc_meeting_error)99, 500, "{\"success\":false,\"result\":{\"code\":\"INTERNAL_ERROR\",\"message\":\"Internal server error\"}}" },
	};
	/* clang-format on */

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(vc_meeting_error_status(cases[i].e), cases[i].status);
		assert_json(vc_meeting_json_error(cases[i].e, "standup", "bob@example.com"),
		            cases[i].body);
	}
}

static void test_error_names_missing(void **state)
{
	/* NULL ids read as "", and an id is inserted verbatim (JSON-escaped) */
	assert_json(vc_meeting_json_error(VC_MERR_MEETING_NOT_FOUND, NULL, NULL),
	            "{\"success\":false,\"result\":{\"code\":\"MEETING_NOT_FOUND\","
	            "\"message\":\"Meeting '' not found\"}}");
	assert_json(vc_meeting_json_error(VC_MERR_PARTICIPANT_NOT_FOUND, "r", "a \"b\" %s"),
	            "{\"success\":false,\"result\":{\"code\":\"PARTICIPANT_NOT_FOUND\","
	            "\"message\":\"Participant 'a \\\"b\\\" %s' not found in waiting room\"}}");
}

static void test_handler_errors(void **state)
{
	assert_json(vc_meeting_json_invalid_id("cannot be empty"),
	            "{\"success\":false,\"result\":{\"code\":\"INVALID_MEETING_ID\","
	            "\"message\":\"Invalid meeting ID: cannot be empty\"}}");
	assert_json(vc_meeting_json_invalid_id("must match pattern: ^[a-zA-Z0-9_-]+$"),
	            "{\"success\":false,\"result\":{\"code\":\"INVALID_MEETING_ID\","
	            "\"message\":\"Invalid meeting ID: must match pattern: ^[a-zA-Z0-9_-]+$\"}}");
	assert_json(vc_meeting_json_too_many(101),
	            "{\"success\":false,\"result\":{\"code\":\"TOO_MANY_ATTENDEES\","
	            "\"message\":\"Too many attendees: 101 provided, maximum is 100\"}}");
}

/* --- meetings ------------------------------------------------------------- */

static void test_created(void **state)
{
	vc_meeting_reply_t r = { .cmd = VC_MC_CREATE, .meeting = meeting() };
	json_t *attendees = json_pack("[s,s,s]", "b@example.com", "a@example.com", "b@example.com");

	r.meeting.state = "idle";
	r.meeting.has_password = false;
	r.meeting.waiting_room = false;
	/* 201 body: seconds, attendees as sent (order and duplicates kept) */
	assert_json(vc_meeting_json_ok(vc_meeting_json_created(&r, attendees)),
	            "{\"success\":true,\"result\":{\"meeting_id\":\"standup-2024\","
	            "\"host\":\"host@example.com\",\"created_at\":1767225600,\"state\":\"idle\","
	            "\"attendees\":[\"b@example.com\",\"a@example.com\",\"b@example.com\"],"
	            "\"has_password\":false,\"waiting_room_enabled\":false}}");
	/* the caller's array is not consumed */
	assert_int_equal(json_array_size(attendees), 3);
	json_decref(attendees);

	/* a generated id, no attendees given */
	r.meeting.room_id = NULL;
	r.generated_id = "k3x9q2m7a1b0";
	r.meeting.has_password = true;
	r.meeting.waiting_room = true;
	assert_json(vc_meeting_json_created(&r, NULL),
	            "{\"meeting_id\":\"k3x9q2m7a1b0\",\"host\":\"host@example.com\","
	            "\"created_at\":1767225600,\"state\":\"idle\",\"attendees\":[],"
	            "\"has_password\":true,\"waiting_room_enabled\":true}");
}

static void test_info_full(void **state)
{
	vc_meeting_reply_t r = { .cmd = VC_MC_INFO, .meeting = meeting(), .has_participant = true };

	r.participant = participant("host@example.com", "Host User", "admitted");
	r.participant.is_host = true;
	r.room_token = "must.not.appear"; /* your_status never carries tokens */
	r.observer_token = "must.not.appear";
	assert_json(vc_meeting_json_ok(vc_meeting_json_info(&r)),
	            "{\"success\":true,\"result\":{\"meeting_id\":\"standup-2024\","
	            "\"state\":\"active\",\"host\":\"host@example.com\","
	            "\"host_display_name\":\"Host User\",\"host_user_id\":\"host@example.com\","
	            "\"has_password\":true,\"waiting_room_enabled\":true,"
	            "\"participant_count\":2,\"waiting_count\":1,"
	            "\"started_at\":1767225600123,\"ended_at\":1767225660999,"
	            "\"your_status\":{\"user_id\":\"host@example.com\","
	            "\"display_name\":\"Host User\",\"status\":\"admitted\",\"is_host\":true,"
	            "\"joined_at\":1767225600,\"admitted_at\":1767225660}}}");
}

static void test_info_minimal(void **state)
{
	vc_meeting_reply_t r = { .cmd = VC_MC_UPDATE, .meeting = meeting() };

	/* no host name, no creator, not ended, caller without a row */
	r.meeting.host_display_name = NULL;
	r.meeting.creator_id = NULL;
	r.meeting.ended_ms = 0;
	r.meeting.participant_count = 0;
	r.meeting.waiting_count = 0;
	r.meeting.state = "idle";
	assert_json(vc_meeting_json_info(&r),
	            "{\"meeting_id\":\"standup-2024\",\"state\":\"idle\",\"host\":\"\","
	            "\"has_password\":true,\"waiting_room_enabled\":true,"
	            "\"participant_count\":0,\"waiting_count\":0,"
	            "\"started_at\":1767225600123}");
}

static void test_list(void **state)
{
	vc_meeting_row_t rows[2] = { meeting(), meeting() };
	vc_meeting_reply_t r = { .cmd = VC_MC_LIST, .meetings = rows, .nmeetings = 2, .total = 7 };

	rows[1].room_id = "retro";
	rows[1].state = "idle";
	rows[1].ended_ms = 0;
	rows[1].creator_id = NULL;
	rows[1].has_password = false;
	rows[1].waiting_room = false;
	rows[1].participant_count = 0;
	rows[1].waiting_count = 0;
	assert_json(vc_meeting_json_ok(vc_meeting_json_list(&r, 2, 4)),
	            "{\"success\":true,\"result\":{\"meetings\":["
	            "{\"meeting_id\":\"standup-2024\",\"host\":\"host@example.com\","
	            "\"state\":\"active\",\"has_password\":true,\"created_at\":1767225600,"
	            "\"participant_count\":2,\"started_at\":1767225600,"
	            "\"ended_at\":1767225660,\"waiting_count\":1,\"waiting_room_enabled\":true},"
	            "{\"meeting_id\":\"retro\",\"state\":\"idle\",\"has_password\":false,"
	            "\"created_at\":1767225600,\"participant_count\":0,"
	            "\"started_at\":1767225600,\"waiting_count\":0,"
	            "\"waiting_room_enabled\":false}],"
	            "\"total\":7,\"limit\":2,\"offset\":4}}");

	r.nmeetings = 0;
	r.total = 0;
	assert_json(vc_meeting_json_list(&r, 20, 0),
	            "{\"meetings\":[],\"total\":0,\"limit\":20,\"offset\":0}");
}

static void test_deleted(void **state)
{
	assert_json(vc_meeting_json_ok(vc_meeting_json_deleted("standup-2024")),
	            "{\"success\":true,\"result\":"
	            "{\"message\":\"Meeting 'standup-2024' has been deleted\"}}");
}

/* --- participants --------------------------------------------------------- */

static void test_participant(void **state)
{
	vc_participant_row_t p = participant("bob@example.com", NULL, "waiting");

	/* no display name, not admitted: both omitted */
	assert_json(vc_meeting_json_participant(&p),
	            "{\"user_id\":\"bob@example.com\",\"status\":\"waiting\",\"is_host\":false,"
	            "\"joined_at\":1767225600}");
	p = participant("bob@example.com", "Bob", "left");
	p.admitted_ms = T1; /* left after being admitted: admitted_at kept */
	assert_json(vc_meeting_json_participant(&p),
	            "{\"user_id\":\"bob@example.com\",\"display_name\":\"Bob\",\"status\":\"left\","
	            "\"is_host\":false,\"joined_at\":1767225600,\"admitted_at\":1767225660}");
}

static void test_join_host(void **state)
{
	vc_meeting_reply_t r = { .cmd = VC_MC_JOIN, .meeting = meeting(), .has_participant = true };

	r.participant = participant("host@example.com", "Host User", "admitted");
	r.participant.is_host = true;
	r.room_token = "room.token.sig";
	r.observer_token = "must.not.appear";
	assert_json(vc_meeting_json_ok(vc_meeting_json_joined(&r)),
	            "{\"success\":true,\"result\":{\"user_id\":\"host@example.com\","
	            "\"display_name\":\"Host User\",\"status\":\"admitted\",\"is_host\":true,"
	            "\"joined_at\":1767225600,\"admitted_at\":1767225660,"
	            "\"room_token\":\"room.token.sig\",\"waiting_room_enabled\":true,"
	            "\"host_display_name\":\"Host User\",\"host_user_id\":\"host@example.com\"}}");
}

static void test_join_waiting(void **state)
{
	vc_meeting_reply_t r = { .cmd = VC_MC_JOIN, .meeting = meeting(), .has_participant = true };

	r.participant = participant("bob@example.com", NULL, "waiting_for_meeting");
	r.observer_token = "observer.token.sig";
	r.room_token = "must.not.appear";
	r.meeting.host_display_name = NULL;
	r.meeting.waiting_room = false;
	assert_json(vc_meeting_json_joined(&r),
	            "{\"user_id\":\"bob@example.com\",\"status\":\"waiting_for_meeting\","
	            "\"is_host\":false,\"joined_at\":1767225600,"
	            "\"observer_token\":\"observer.token.sig\",\"waiting_room_enabled\":false,"
	            "\"host_user_id\":\"host@example.com\"}");

	r.participant.status = "waiting";
	r.participant.display_name = "Bob";
	r.meeting.waiting_room = true;
	assert_json(vc_meeting_json_joined(&r),
	            "{\"user_id\":\"bob@example.com\",\"display_name\":\"Bob\","
	            "\"status\":\"waiting\",\"is_host\":false,\"joined_at\":1767225600,"
	            "\"observer_token\":\"observer.token.sig\",\"waiting_room_enabled\":true,"
	            "\"host_user_id\":\"host@example.com\"}");
}

static void test_status(void **state)
{
	vc_meeting_reply_t r = { .cmd = VC_MC_STATUS,
		                 .meeting = meeting(),
		                 .has_participant = true };

	/* admitted: a room token; never an observer token from /status */
	r.participant = participant("bob@example.com", "Bob", "admitted");
	r.room_token = "room.token.sig";
	r.observer_token = "must.not.appear";
	assert_json(vc_meeting_json_joined(&r),
	            "{\"user_id\":\"bob@example.com\",\"display_name\":\"Bob\","
	            "\"status\":\"admitted\",\"is_host\":false,\"joined_at\":1767225600,"
	            "\"admitted_at\":1767225660,\"room_token\":\"room.token.sig\","
	            "\"waiting_room_enabled\":true,\"host_display_name\":\"Host User\","
	            "\"host_user_id\":\"host@example.com\"}");

	/* waiting: /status never hands out an observer token (§4.8) */
	r.participant = participant("bob@example.com", "Bob", "waiting");
	assert_json(vc_meeting_json_joined(&r),
	            "{\"user_id\":\"bob@example.com\",\"display_name\":\"Bob\","
	            "\"status\":\"waiting\",\"is_host\":false,\"joined_at\":1767225600,"
	            "\"waiting_room_enabled\":true,\"host_display_name\":\"Host User\","
	            "\"host_user_id\":\"host@example.com\"}");

	/* not admitted: no token at all, whatever the reply holds */
	r.participant = participant("bob@example.com", "Bob", "rejected");
	assert_json(vc_meeting_json_joined(&r),
	            "{\"user_id\":\"bob@example.com\",\"display_name\":\"Bob\","
	            "\"status\":\"rejected\",\"is_host\":false,\"joined_at\":1767225600,"
	            "\"waiting_room_enabled\":true,\"host_display_name\":\"Host User\","
	            "\"host_user_id\":\"host@example.com\"}");

	/* admitted but no token issued (e.g. no jwt_secret): omitted, not null */
	r.participant = participant("bob@example.com", "Bob", "admitted");
	r.room_token = NULL;
	r.meeting.creator_id = NULL;
	r.meeting.host_display_name = NULL;
	assert_json(vc_meeting_json_joined(&r),
	            "{\"user_id\":\"bob@example.com\",\"display_name\":\"Bob\","
	            "\"status\":\"admitted\",\"is_host\":false,\"joined_at\":1767225600,"
	            "\"admitted_at\":1767225660,\"waiting_room_enabled\":true}");
}

static void test_lists(void **state)
{
	vc_participant_row_t rows[2] = { participant("host@example.com", "Host User", "admitted"),
		                         participant("bob@example.com", NULL, "admitted") };
	vc_meeting_reply_t r = { .cmd = VC_MC_PARTICIPANTS, .list = rows, .nlist = 2 };
	const char *two = "[{\"user_id\":\"host@example.com\",\"display_name\":\"Host User\","
	                  "\"status\":\"admitted\",\"is_host\":true,\"joined_at\":1767225600,"
	                  "\"admitted_at\":1767225660},"
	                  "{\"user_id\":\"bob@example.com\",\"status\":\"admitted\","
	                  "\"is_host\":false,\"joined_at\":1767225600,"
	                  "\"admitted_at\":1767225660}]";
	char want[1024];

	rows[0].is_host = true;
	/* participants: a bare array in result */
	snprintf(want, sizeof(want), "{\"success\":true,\"result\":%s}", two);
	assert_json(vc_meeting_json_ok(vc_meeting_json_participants(&r)), want);

	r.cmd = VC_MC_ADMIT_ALL;
	snprintf(want, sizeof(want), "{\"admitted_count\":2,\"admitted\":%s}", two);
	assert_json(vc_meeting_json_admitted_all(&r), want);

	r.cmd = VC_MC_WAITING;
	rows[0] = participant("carol@example.com", "Carol", "waiting");
	r.nlist = 1;
	r.meeting.room_id = "other"; /* the path's id wins */
	assert_json(vc_meeting_json_waiting(&r, "standup-2024"),
	            "{\"meeting_id\":\"standup-2024\",\"waiting\":[{\"user_id\":"
	            "\"carol@example.com\",\"display_name\":\"Carol\",\"status\":\"waiting\","
	            "\"is_host\":false,\"joined_at\":1767225600}]}");

	r.nlist = 0;
	assert_json(vc_meeting_json_participants(&r), "[]");
	assert_json(vc_meeting_json_waiting(&r, "standup-2024"),
	            "{\"meeting_id\":\"standup-2024\",\"waiting\":[]}");
	assert_json(vc_meeting_json_admitted_all(&r), "{\"admitted_count\":0,\"admitted\":[]}");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_errors),         cmocka_unit_test(test_error_names_missing),
		cmocka_unit_test(test_handler_errors), cmocka_unit_test(test_created),
		cmocka_unit_test(test_info_full),      cmocka_unit_test(test_info_minimal),
		cmocka_unit_test(test_list),           cmocka_unit_test(test_deleted),
		cmocka_unit_test(test_participant),    cmocka_unit_test(test_join_host),
		cmocka_unit_test(test_join_waiting),   cmocka_unit_test(test_status),
		cmocka_unit_test(test_lists),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
