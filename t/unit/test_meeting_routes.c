/*
 * test_meeting_routes.c — the checks of the meeting routes
 * (vc_meeting_routes_parse) without a server: which refusal wins when a
 * request has several faults (path, then query string, then Content-Type,
 * then JSON syntax, then shape, then the handler's own INVALID_MEETING_ID
 * and TOO_MANY_ATTENDEES, then the reserved system user id as the caller),
 * the exact status and text of each, list's
 * limit/offset parsing and clamping, and the command a good request
 * becomes. The texts are those the handlers answered before the checks
 * became a function of their own.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "actors/meeting_routes.h"
#include "wire/proto.h"

#define JSON_CT "application/json"
#define UNPROCESSABLE "Failed to deserialize the JSON body into the target type: "
#define A63 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define PATTERN_MSG "Invalid meeting ID: must match pattern: ^[a-zA-Z0-9_-]+$"

/* The commands' reply_to: never scheduled; the test holds its one reference. */
static vc_actor_t sink;

static vc_meeting_req_t req(enum vc_meeting_cmd cmd, const char *id, const char *query,
                            const char *ct, const char *body)
{
	return (vc_meeting_req_t){ .cmd = cmd,
		                   .meeting_id = id,
		                   .query = query,
		                   .content_type = ct,
		                   .body = body,
		                   .body_len = body != NULL ? strlen(body) : 0,
		                   .caller_id = "host@example.com",
		                   .caller_name = "Host",
		                   .reply_to = &sink };
}

/* The request must be refused with this status, code ("" for plain text)
 * and message. */
static void refused(vc_meeting_req_t rq, int status, const char *code, const char *message)
{
	vc_meeting_refusal_t rf;
	vc_meeting_cmd_msg_t *c = vc_meeting_routes_parse(&rq, &rf);

	assert_null(c);
	assert_int_equal(rf.status, status);
	assert_string_equal(rf.code, code);
	assert_string_equal(rf.message, message);
	if (code[0] == '\0') {
		assert_null(rf.envelope);
		return;
	}
	assert_non_null(rf.envelope);
	assert_string_equal(
	        json_string_value(json_object_get(json_object_get(rf.envelope, "result"), "code")),
	        code);
	assert_true(json_is_false(json_object_get(rf.envelope, "success")));
	json_decref(rf.envelope);
}

/* The request must pass; the caller checks and destroys the command. */
static vc_meeting_cmd_msg_t *accepted(vc_meeting_req_t rq)
{
	vc_meeting_refusal_t rf = { 0 };
	vc_meeting_cmd_msg_t *c = vc_meeting_routes_parse(&rq, &rf);

	if (c == NULL)
		fail_msg("refused: %d %s %s", rf.status, rf.code, rf.message);
	assert_int_equal(c->cmd, rq.cmd);
	assert_string_equal(c->caller_id, "host@example.com");
	assert_ptr_equal(c->reply_to, &sink);
	return c;
}

static void done(vc_meeting_cmd_msg_t *c)
{
	vc_msg_destroy(&c->msg);
	assert_int_equal(atomic_load(&sink._refs), 1); /* the command's reference went with it */
}

/* --- refusals and their order --------------------------------------------- */

static void test_bad_json(void **state)
{
	refused(req(VC_MC_CREATE, NULL, NULL, JSON_CT, "not json"), 400, "",
	        "Failed to parse the request body as JSON: invalid token near 'not' at line 1 "
	        "column 3");
	refused(req(VC_MC_CREATE, NULL, NULL, JSON_CT, ""), 400, "",
	        "Failed to parse the request body as JSON: unexpected token near end of file at "
	        "line 1 column 0");
	refused(req(VC_MC_CREATE, NULL, NULL, JSON_CT, "{\"a\":1,\"a\":2}"), 422, "",
	        UNPROCESSABLE "duplicate object key near '\"a\"'");
}

static void test_content_type(void **state)
{
	const char *want = "Expected request with `Content-Type: application/json`";

	/* 415 before the body's syntax is looked at */
	refused(req(VC_MC_UPDATE, "room", NULL, "text/plain", "{"), 415, "", want);
	refused(req(VC_MC_UPDATE, "room", NULL, NULL, "{}"), 415, "", want);
	refused(req(VC_MC_ADMIT, "room", NULL, "application/jsonx", "{}"), 415, "", want);
	/* but after the path */
	refused(req(VC_MC_UPDATE, "%FF", NULL, "text/plain", "{"), 400, "",
	        "Invalid URL: the meeting id must decode to UTF-8 text without NUL");
	done(accepted(req(VC_MC_KICK, "room", NULL, " Application/Vnd.X+JSON ; charset=utf-8",
	                  "{\"user_id\":\"u\"}")));
}

static void test_room_id(void **state)
{
	refused(req(VC_MC_JOIN, "bad.room", NULL, NULL, NULL), 400, "INVALID_MEETING_ID",
	        PATTERN_MSG);
	refused(req(VC_MC_JOIN, "has%20space", NULL, NULL, NULL), 400, "INVALID_MEETING_ID",
	        PATTERN_MSG);
	/* the body's syntax comes first */
	refused(req(VC_MC_JOIN, "bad.room", NULL, JSON_CT, "{\"display_name\":"), 400, "",
	        "Failed to parse the request body as JSON: unexpected token near end of file at "
	        "line 1 column 16");
	refused(req(VC_MC_CREATE, NULL, NULL, JSON_CT, "{\"meeting_id\":\"\"}"), 400,
	        "INVALID_MEETING_ID", "Invalid meeting ID: cannot be empty");
}

/* {"display_name": n copies of the UTF-8 character ch} */
static char *display_name_body(const char *ch, int n)
{
	size_t w = strlen(ch), cap = 32 + (size_t)n * w;
	char *b = malloc(cap), *at = b + snprintf(b, cap, "{\"display_name\":\"");

	for (int i = 0; i < n; i++, at += w)
		memcpy(at, ch, w);
	snprintf(at, cap - (size_t)(at - b), "\"}");
	return b;
}

static void test_display_name(void **state)
{
	const char *too_long = "Display name cannot exceed 255 characters";
	char *b;
	vc_meeting_cmd_msg_t *c;

	/* characters, as the varchar(255) column counts them, not bytes */
	b = display_name_body("\u00e9", 255); /* é: 2 bytes each */
	c = accepted(req(VC_MC_JOIN, "room", NULL, JSON_CT, b));
	assert_int_equal(strlen(c->display_name), 510);
	done(c);
	free(b);
	b = display_name_body("\xf0\x9f\x98\x80", 256); /* 😀: 4 bytes each */
	refused(req(VC_MC_JOIN, "room", NULL, JSON_CT, b), 400, "INVALID_DISPLAY_NAME", too_long);
	free(b);
	b = display_name_body("x", 256);
	refused(req(VC_MC_JOIN, "room", NULL, JSON_CT, b), 400, "INVALID_DISPLAY_NAME", too_long);
	/* after the room id */
	refused(req(VC_MC_JOIN, "bad.room", NULL, JSON_CT, b), 400, "INVALID_MEETING_ID",
	        PATTERN_MSG);
	free(b);
}

static char *attendees_body(const char *meeting_id, int n)
{
	size_t cap = 64 + (size_t)n * 4;
	char *b = malloc(cap);
	size_t len = (size_t)snprintf(b, cap, "{%s%s%s\"attendees\":[",
	                              meeting_id ? "\"meeting_id\":\"" : "",
	                              meeting_id ? meeting_id : "", meeting_id ? "\"," : "");

	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(b + len, cap - len, "%s\"x\"", i > 0 ? "," : "");
	snprintf(b + len, cap - len, "]}");
	return b;
}

static void test_attendees(void **state)
{
	char *b = attendees_body(NULL, 101);
	vc_meeting_cmd_msg_t *c;

	refused(req(VC_MC_CREATE, NULL, NULL, JSON_CT, b), 400, "TOO_MANY_ATTENDEES",
	        "Too many attendees: 101 provided, maximum is 100");
	free(b);
	b = attendees_body("a b", 101); /* the meeting id is checked first */
	refused(req(VC_MC_CREATE, NULL, NULL, JSON_CT, b), 400, "INVALID_MEETING_ID", PATTERN_MSG);
	free(b);
	b = attendees_body("ok-1", 100);
	c = accepted(req(VC_MC_CREATE, NULL, NULL, JSON_CT, b));
	assert_string_equal(c->room_id, "ok-1");
	assert_int_equal(json_array_size(c->attendees), 100);
	done(c);
	free(b);
	refused(req(VC_MC_CREATE, NULL, NULL, JSON_CT, "{\"attendees\":[\"a\",1]}"), 422, "",
	        UNPROCESSABLE "attendees[1]: invalid type: integer, expected a string");
}

static void test_shape(void **state)
{
	refused(req(VC_MC_ADMIT, "room", NULL, JSON_CT, "{}"), 422, "",
	        UNPROCESSABLE "missing field `user_id`");
	refused(req(VC_MC_REJECT, "room", NULL, JSON_CT, "{\"user_id\":7}"), 422, "",
	        UNPROCESSABLE "user_id: invalid type: integer, expected a string");
	refused(req(VC_MC_REJECT, "room", NULL, JSON_CT, "[]"), 422, "",
	        UNPROCESSABLE "invalid type: sequence, expected a JSON object");
	refused(req(VC_MC_CREATE, NULL, NULL, JSON_CT, "{\"admission\":\"everyone\"}"), 422, "",
	        UNPROCESSABLE
	        "admission: unknown variant `everyone`, expected `host` or `participants`");
	/* the echo stops at 64 bytes, and before a character that would cross it */
	refused(req(VC_MC_UPDATE, "room", NULL, JSON_CT,
	            "{\"admission\":\"" A63 "\u00e9\u00e9\"}"),
	        422, "",
	        UNPROCESSABLE "admission: unknown variant `" A63
	                      "`, expected `host` or `participants`");
}

/* --- list's query string -------------------------------------------------- */

static void test_query(void **state)
{
	static const struct {
		const char *query, *message;
	} bad[] = {
		{ "limit=abc", "limit: invalid digit found in string" },
		{ "limit=", "limit: cannot parse integer from empty string" },
		{ "offset=1.5", "offset: invalid digit found in string" },
		{ "offset=99999999999999999999", "offset: number too large to fit in target type" },
		{ "limit=-99999999999999999999", "limit: number too small to fit in target type" },
		{ "limit=1&limit=2", "duplicate field `limit`" },
	};
	char want[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(want, sizeof(want), "Failed to deserialize query string: %s",
		         bad[i].message);
		refused(req(VC_MC_LIST, NULL, bad[i].query, NULL, NULL), 400, "", want);
	}
}

static void test_query_clamped(void **state)
{
	static const struct {
		const char *query;
		int64_t limit, offset;
	} cases[] = {
		{ "", 20, 0 },
		{ "limit=500&offset=-3&x=y", 100, 0 },
		{ "limit=0", 1, 0 },
		{ "&&lim%69t=%2B50&offset=10&", 50, 10 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		vc_meeting_cmd_msg_t *c =
		        accepted(req(VC_MC_LIST, NULL, cases[i].query, NULL, NULL));

		assert_null(c->room_id);
		assert_int_equal(c->limit, cases[i].limit);
		assert_int_equal(c->offset, cases[i].offset);
		done(c);
	}
}

/* --- the caller ------------------------------------------------------------- */

static vc_meeting_req_t as_system(vc_meeting_req_t rq)
{
	rq.caller_id = VC_SYSTEM_USER_ID;
	return rq;
}

/* The reserved system user id never owns, joins or gets a token: 403 on
 * create, join and status, after the request's own faults. */
static void test_system_caller(void **state)
{
	const char *msg = "This user id is reserved and cannot take part in meetings";
	vc_meeting_cmd_msg_t *c;

	refused(as_system(req(VC_MC_JOIN, "room", NULL, NULL, NULL)), 403, "RESERVED_USER_ID", msg);
	refused(as_system(req(VC_MC_JOIN, "room", NULL, JSON_CT, "{\"display_name\":\"S\"}")), 403,
	        "RESERVED_USER_ID", msg);
	refused(as_system(req(VC_MC_STATUS, "room", NULL, NULL, NULL)), 403, "RESERVED_USER_ID",
	        msg);
	refused(as_system(req(VC_MC_CREATE, NULL, NULL, JSON_CT, "{}")), 403, "RESERVED_USER_ID",
	        msg);
	refused(as_system(req(VC_MC_JOIN, "bad.room", NULL, NULL, NULL)), 400, "INVALID_MEETING_ID",
	        PATTERN_MSG);
	refused(as_system(req(VC_MC_CREATE, NULL, NULL, JSON_CT, "{\"attendees\":1}")), 422, "",
	        UNPROCESSABLE "attendees: invalid type: integer, expected a sequence");
	/* the routes that need a meeting it owns or a row it has answer as usual */
	c = vc_meeting_routes_parse(&(vc_meeting_req_t){ .cmd = VC_MC_LEAVE,
	                                                 .meeting_id = "room",
	                                                 .caller_id = VC_SYSTEM_USER_ID,
	                                                 .reply_to = &sink },
	                            &(vc_meeting_refusal_t){ 0 });
	assert_non_null(c);
	assert_string_equal(c->caller_id, VC_SYSTEM_USER_ID);
	done(c);
}

/* --- commands ------------------------------------------------------------- */

/* vcd's room fields on create and update: absent leaves them, null clears
 * them (configuration null resets it to {}), bad values are 422. */
static void test_room_fields(void **state)
{
	vc_meeting_cmd_msg_t *c;
	char *conf;

	c = accepted(req(VC_MC_CREATE, NULL, NULL, JSON_CT,
	                 "{\"access_level\":\"restricted\",\"embed_provider\":\"rocket_chat-2\","
	                 "\"configuration\":{\"can_publish_sources\":[\"camera\"],"
	                 "\"everyone_can_mute\":null}}"));
	assert_true(c->set_access_level && c->set_embed_provider);
	assert_string_equal(c->access_level, "restricted");
	assert_string_equal(c->embed_provider, "rocket_chat-2");
	conf = json_dumps(c->configuration, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(conf, "{\"can_publish_sources\":[\"camera\"],\"everyone_can_mute\":null}");
	free(conf);
	done(c);
	c = accepted(req(VC_MC_UPDATE, "m", NULL, JSON_CT,
	                 "{\"access_level\":null,\"configuration\":null}"));
	assert_true(c->set_access_level);
	assert_null(c->access_level);
	assert_false(c->set_embed_provider);
	assert_int_equal(json_object_size(c->configuration), 0);
	assert_true(json_is_object(c->configuration));
	done(c);
	c = accepted(req(VC_MC_UPDATE, "m", NULL, JSON_CT, "{}"));
	assert_false(c->set_access_level || c->set_embed_provider);
	assert_null(c->configuration);
	done(c);
	refused(req(VC_MC_UPDATE, "m", NULL, JSON_CT, "{\"access_level\":\"open\"}"), 422, "",
	        UNPROCESSABLE "access_level: unknown variant `open`, expected one of `public`, "
	                      "`trusted`, `restricted`");
	refused(req(VC_MC_UPDATE, "m", NULL, JSON_CT, "{\"access_level\":1}"), 422, "",
	        UNPROCESSABLE "access_level: invalid type: integer, expected a string or null");
	refused(req(VC_MC_CREATE, NULL, NULL, JSON_CT, "{\"configuration\":{\"x\":1}}"), 422, "",
	        UNPROCESSABLE "configuration: x: Extra inputs are not permitted");
	refused(req(VC_MC_CREATE, NULL, NULL, JSON_CT,
	            "{\"configuration\":{\"can_publish_sources\":[\"hologram\"]}}"),
	        422, "",
	        UNPROCESSABLE "configuration: can_publish_sources.0: Input should be 'camera', "
	                      "'microphone', 'screen_share' or 'screen_share_audio'");
	refused(req(VC_MC_CREATE, NULL, NULL, JSON_CT, "{\"configuration\":[]}"), 422, "",
	        UNPROCESSABLE "configuration: Input should be a valid dictionary");
	refused(req(VC_MC_UPDATE, "m", NULL, JSON_CT, "{\"embed_provider\":\"Rocket\"}"), 422, "",
	        UNPROCESSABLE "embed_provider: must match ^[a-z0-9_-]{1,32}$");
	refused(req(VC_MC_UPDATE, "m", NULL, JSON_CT,
	            "{\"embed_provider\":\"" A63 "\"}"),
	        422, "", UNPROCESSABLE "embed_provider: must match ^[a-z0-9_-]{1,32}$");
}

static void test_commands(void **state)
{
	vc_meeting_cmd_msg_t *c;

	c = accepted(req(VC_MC_CREATE, NULL, NULL, JSON_CT,
	                 "{\"password\":\"\",\"waiting_room_enabled\":false,"
	                 "\"admission\":\"participants\"}"));
	assert_null(c->room_id);  /* the actor names it */
	assert_null(c->password); /* "" sets none */
	assert_int_equal(c->waiting_room, 0);
	assert_string_equal(c->admission, "participants");
	assert_int_equal(json_array_size(c->attendees), 0);
	done(c);

	c = accepted(req(VC_MC_JOIN, "team%2Dsync", NULL, NULL, "ignored"));
	assert_string_equal(c->room_id, "team-sync");
	assert_null(c->display_name);
	done(c);

	c = accepted(req(VC_MC_JOIN, "r1", NULL, JSON_CT,
	                 "{\"display_name\":\"Alice\",\"password\":\"pw\"}"));
	assert_string_equal(c->display_name, "Alice");
	assert_string_equal(c->password, "pw");
	assert_string_equal(c->caller_name, "Host");
	done(c);

	c = accepted(req(VC_MC_KICK, "r1", NULL, JSON_CT, "{\"user_id\":\"eve@example.com\"}"));
	assert_string_equal(c->target_user_id, "eve@example.com");
	done(c);

	c = accepted(req(VC_MC_INFO, "caf%C3%A9%20room", NULL, "text/plain", "{"));
	assert_string_equal(c->room_id, "caf\xc3\xa9 room"); /* no body read, no room check */
	done(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_json),      cmocka_unit_test(test_content_type),
		cmocka_unit_test(test_room_id),       cmocka_unit_test(test_attendees),
		cmocka_unit_test(test_display_name),
		cmocka_unit_test(test_shape),         cmocka_unit_test(test_query),
		cmocka_unit_test(test_query_clamped), cmocka_unit_test(test_commands),
		cmocka_unit_test(test_room_fields),
		cmocka_unit_test(test_system_caller),
	};

	atomic_init(&sink._refs, 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
