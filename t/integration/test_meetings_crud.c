/*
 * test_meetings_crud.c — conformance of vcd's meeting API with the
 * videocall.rs meeting backend (videocall-rs-contract.md), part one: the
 * meetings themselves. Authentication (§10.1, §2.3), ad-hoc join (§10.2),
 * create/read/list/delete (§10.3, §4.1–§4.5), end (§10.7, §4.6), the
 * waiting-room toggle (§10.8, §4.4), pagination (§7.3), validation and
 * error precedence (§2.2, §4.2), JSON shapes and time units (§3.2, §2.5),
 * and vcd's own rule that a database failure never shows database text.
 * Participants, the waiting room, tokens, NATS, concurrency and restarts
 * are in test_meetings_flow.c.
 *
 * One vcd with the videocall.rs test settings (VCM_CONF) serves every case;
 * each case uses its own room ids and, where it counts meetings, its own
 * owner.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "t/lib/vctest.h"
#include "t/lib/vctest_meetings.h"
#include "wire/jwt.h"

#define HOST "host@example.com"
#define ATT "attendee@example.com"
#define OTHER "other@example.com"
#define PATTERN_MSG "Invalid meeting ID: must match pattern: ^[a-zA-Z0-9_-]+$"
#define JSON_CT "Content-Type: application/json\r\n"

static char *db_url;
static vct_vcd_t *vcd;

/* --- helpers -------------------------------------------------------------- */

/* `c` n times (malloc'd). */
static char *rep(const char *s, size_t n)
{
	size_t len = strlen(s);
	char *out = malloc(len * n + 1);

	for (size_t i = 0; i < n; i++)
		memcpy(out + i * len, s, len);
	out[len * n] = '\0';
	return out;
}

/* {"meeting_id":"<id>"} plus `more` members (",\"x\":1" or ""). */
static char *create_body(const char *id, const char *more)
{
	return vct_strf("{\"meeting_id\":\"%s\"%s}", id, more ? more : "");
}

static void create(const char *owner, const char *id, const char *more)
{
	vcm_new_room(owner, id, more);
}

/* A JSON array of n attendee addresses (malloc'd). */
static char *attendees(unsigned n)
{
	char *s = vct_strf("["), *t;

	for (unsigned i = 0; i < n; i++) {
		t = vct_strf("%s%s\"user%u@example.com\"", s, i ? "," : "", i);
		free(s);
		s = t;
	}
	t = vct_strf("%s]", s);
	free(s);
	return t;
}

static json_t *info(const char *user, const char *room)
{
	json_t *m = vcm_ok(user, "GET", room, NULL, NULL, 200);

	vcm_shape(m, VCM_INFO_SHAPE, "MeetingInfoResponse");
	return m;
}

static void expect_not_found(const char *user, const char *method, const char *room, const char *op,
                             const char *body)
{
	char *msg = vcm_msg_not_found(room);

	vcm_fail(user, method, room, op, body, 404, "MEETING_NOT_FOUND", msg);
	free(msg);
}

static char *db_count(const char *fmt, const char *room)
{
	return vct_db_valuef(db_url, fmt, room);
}

/* The summaries of GET path as `user`, checked; the list answer is returned. */
static json_t *list(const char *user, const char *path)
{
	json_t *l = vcm_ok_at(user, "GET", path, NULL, 200), *m;
	size_t i;

	vcm_shape(l, VCM_LIST_SHAPE, "ListMeetingsResponse");
	json_array_foreach(json_object_get(l, "meetings"), i, m)
	{
		vcm_shape(m, VCM_SUMMARY_SHAPE, "MeetingSummary");
		vcm_secs(m, "created_at");
		vcm_secs(m, "started_at");
		if (json_object_get(m, "ended_at") != NULL)
			vcm_secs(m, "ended_at");
	}
	return l;
}

static json_t *find_meeting(const json_t *l, const char *room)
{
	size_t i;
	json_t *m;

	json_array_foreach(json_object_get(l, "meetings"), i,
	                   m) if (strcmp(vct_json_str(m, "meeting_id"), room) == 0) return m;
	return NULL;
}

/* --- §10.1 authentication ------------------------------------------------- */

/* Every meeting route, for the 401 sweep. */
static const struct {
	const char *method, *op;
	bool room;
} routes[] = {
	{ "GET", NULL, false },          { "POST", NULL, false },    { "GET", NULL, true },
	{ "PATCH", NULL, true },         { "DELETE", NULL, true },   { "POST", "end", true },
	{ "POST", "join", true },        { "POST", "leave", true },  { "GET", "status", true },
	{ "GET", "participants", true }, { "GET", "waiting", true }, { "POST", "admit", true },
	{ "POST", "admit-all", true },   { "POST", "reject", true },
};

static void test_auth_required(void **state)
{
	char *path;

	/* The three cases of auth_tests.rs. */
	vcm_fail(NULL, "POST", NULL, NULL, "{}", 401, "UNAUTHORIZED", VCM_NOAUTH);
	vcm_fail(NULL, "GET", "some-meeting", NULL, NULL, 401, "UNAUTHORIZED", VCM_NOAUTH);
	vcm_fail_at(NULL, "GET", "/api/v1/meetings?limit=10&offset=0", NULL, 401, "UNAUTHORIZED",
	            VCM_NOAUTH);
	/* Every other route too, on a meeting that exists. */
	create(HOST, "c-auth-1", NULL);
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		path = vcm_url(routes[i].room ? "c-auth-1" : NULL, routes[i].op);
		vcm_fail_at(NULL, routes[i].method, path, NULL, 401, "UNAUTHORIZED", VCM_NOAUTH);
		free(path);
	}
	/* 401 comes before body errors (§2.2 extractor order). */
	vcm_fail(NULL, "POST", NULL, NULL, "not json", 401, "UNAUTHORIZED", VCM_NOAUTH);
	vcm_fail(NULL, "POST", NULL, NULL, "{\"attendees\":\"x\"}", 401, "UNAUTHORIZED",
	         VCM_NOAUTH);
	vcm_fail(NULL, "POST", "c-auth-1", "admit", "{\"email\":\"a@example.com\"}", 401,
	         "UNAUTHORIZED", VCM_NOAUTH);
	vct_pass();
}

#define INVALID_SESSION                                                                            \
	"{\"success\":false,\"result\":{\"code\":\"UNAUTHORIZED\","                                \
	"\"message\":\"Authentication required.\","                                                \
	"\"engineering_error\":\"invalid or expired session\"}}"

static void expect_headers(const char *headers, int status, const char *want)
{
	vct_resp_t r;

	vcm_raw(NULL, "GET", "/api/v1/meetings", headers, NULL, &r);
	if (want != NULL)
		vct_expect_json(&r, status, want);
	else
		json_decref(vcm_result(&r, status, headers));
	vct_resp_free(&r);
}

static void test_auth_credentials(void **state)
{
	char *good = vcm_session_jwt(HOST, 3600), *expired = vcm_session_jwt(HOST, -120);
	json_t *c = json_pack("{s:s,s:s,s:I,s:I,s:s}", "sub", HOST, "name", HOST, "exp",
	                      (json_int_t)vcm_now() + 3600, "iat", (json_int_t)vcm_now(), "iss",
	                      VC_JWT_ISSUER);
	char *wrong = vc_jwt_sign(c, (const uint8_t *)"another-secret", 14), *h;

	/* Bearer works; a cookie among others works. */
	h = vct_strf("Authorization: Bearer %s\r\n", good);
	expect_headers(h, 200, NULL);
	free(h);
	h = vct_strf("Cookie: theme=dark; session=%s; lang=en\r\n", good);
	expect_headers(h, 200, NULL);
	free(h);
	/* A token that fails says so in engineering_error. */
	expect_headers("Cookie: session=garbage\r\n", 401, INVALID_SESSION);
	h = vct_strf("Cookie: session=%s\r\n", expired);
	expect_headers(h, 401, INVALID_SESSION);
	free(h);
	h = vct_strf("Authorization: Bearer %s\r\n", wrong);
	expect_headers(h, 401, INVALID_SESSION);
	free(h);
	/* The cookie wins, and an invalid cookie is not rescued by a good Bearer. */
	h = vct_strf("Cookie: session=garbage\r\nAuthorization: Bearer %s\r\n", good);
	expect_headers(h, 401, INVALID_SESSION);
	free(h);
	json_decref(c);
	free(good);
	free(expired);
	free(wrong);
	vct_pass();
}

/* vcd: a vcd session token (an account's) is a caller too; its user id is
 * the account id (vcd-api(7), "Callers, owners and hosts"). */
static void test_vcd_session_token_caller(void **state)
{
	vct_resp_t r;
	json_t *acct, *m;
	char *h;

	vct_http(vcd->port, "POST", "/api/users/register", JSON_CT,
	         "{\"username\":\"meetowner\",\"password\":\"Meet-pass-123\"}", &r);
	assert_int_equal(r.status, 201);
	acct = vct_resp_json(&r);
	vct_resp_free(&r);
	h = vct_strf("Authorization: Bearer %s\r\n%s", vct_json_str(acct, "token"), JSON_CT);
	vcm_raw(NULL, "POST", "/api/v1/meetings", h, "{\"meeting_id\":\"c-acct-1\"}", &r);
	m = vcm_result(&r, 201, "create with a vcd session token");
	assert_string_equal(vct_json_str(m, "host"), vct_json_str(acct, "id"));
	json_decref(m);
	vct_resp_free(&r);
	vcm_raw(NULL, "POST", "/api/v1/meetings/c-acct-1/join", h, "{}", &r);
	m = vcm_result(&r, 200, "join with a vcd session token");
	vcm_participant(m, vct_json_str(acct, "id"), "admitted", true);
	json_decref(m);
	vct_resp_free(&r);
	free(h);
	json_decref(acct);
	vct_pass();
}

/* --- §10.2 ad-hoc join ---------------------------------------------------- */

static void test_ad_hoc_join_creates_meeting(void **state)
{
	const char *room = "c-adhoc-1";
	long long t0 = vcm_now(), t1;
	json_t *p = vcm_join(HOST, room, "Host User"), *m, *me;
	char *n;

	t1 = vcm_now();
	vcm_participant(p, HOST, "admitted", true);
	vcm_same(p,
	         "{\"user_id\":\"" HOST "\",\"display_name\":\"Host User\",\"status\":\"admitted\","
	         "\"is_host\":true,\"waiting_room_enabled\":true,"
	         "\"host_display_name\":\"Host User\",\"host_user_id\":\"" HOST "\"}",
	         "joined_at admitted_at room_token", "ad-hoc host join");
	vcm_secs(p, "admitted_at");
	vcm_room_token(vct_json_str(p, "room_token"), HOST, room, true, "Host User", t0, t1);
	/* GET shows it: active, owned by the joiner. */
	m = info(ATT, room);
	vcm_same(m,
	         "{\"meeting_id\":\"c-adhoc-1\",\"state\":\"active\",\"host\":\"" HOST "\","
	         "\"host_user_id\":\"" HOST "\",\"host_display_name\":\"Host User\","
	         "\"has_password\":false,\"waiting_room_enabled\":true,"
	         "\"participant_count\":1,\"waiting_count\":0}",
	         "started_at", "GET after ad-hoc join");
	vcm_millis(m, "started_at");
	json_decref(m);
	/* The joiner's own GET carries your_status, without tokens or meeting fields. */
	m = info(HOST, room);
	me = json_object_get(m, "your_status");
	assert_non_null(me);
	vcm_participant(me, HOST, "admitted", true);
	vcm_absent(me, VCM_JOIN_ONLY, "your_status");
	assert_string_equal(vct_json_str(me, "display_name"), "Host User");
	n = db_count("SELECT count(*) || ' ' || min(creator_id) || ' ' || min(state) FROM meetings "
	             "WHERE room_id = '%s'",
	             room);
	assert_string_equal(n, "1 " HOST " active");
	free(n);
	json_decref(m);
	json_decref(p);
	vct_pass();
}

static void test_ad_hoc_join_token_is_valid_jwt(void **state)
{
	const char *room = "c-adhoc-2";
	long long t0 = vcm_now(), t1;
	vct_resp_t r;
	json_t *p;

	/* No body and no Content-Type: no display name. */
	vcm_raw(HOST, "POST", "/api/v1/meetings/c-adhoc-2/join", NULL, NULL, &r);
	t1 = vcm_now();
	p = vcm_result(&r, 200, "join without a body");
	vcm_participant(p, HOST, "admitted", true);
	vcm_absent(p, "display_name observer_token host_display_name", "join without a name");
	vcm_room_token(vct_json_str(p, "room_token"), HOST, room, true, HOST, t0, t1);
	json_decref(p);
	vct_resp_free(&r);
	vct_pass();
}

/* §2.2: the optional join body. */
static void test_join_body_forms(void **state)
{
	json_t *p;

	vcm_status(HOST, "POST", "/api/v1/meetings/c-jb-1/join", JSON_CT, "", 400);
	vcm_status(HOST, "POST", "/api/v1/meetings/c-jb-1/join", JSON_CT,
	           "{\"display_name\":", 400);
	vcm_status(HOST, "POST", "/api/v1/meetings/c-jb-1/join", "Content-Type: text/plain\r\n",
	           "{\"display_name\":\"x\"}", 415);
	vcm_status(HOST, "POST", "/api/v1/meetings/c-jb-1/join", JSON_CT, "{\"display_name\":5}",
	           422);
	/* None of those created the meeting. */
	expect_not_found(HOST, "GET", "c-jb-1", NULL, NULL);
	/* The Rust client's {"display_name": null} is no name. */
	p = vcm_ok(HOST, "POST", "c-jb-1", "join", "{\"display_name\":null}", 200);
	vcm_participant(p, HOST, "admitted", true);
	vcm_absent(p, "display_name", "join with a null name");
	json_decref(p);
	vct_pass();
}

/* --- §10.3 create, read, list, delete ------------------------------------- */

static void test_create_meeting_success(void **state)
{
	json_t *m = vcm_create(HOST, "{\"meeting_id\":\"c-create-1\","
	                             "\"attendees\":[\"a@example.com\",\"b@example.com\"],"
	                             "\"password\":\"secret123\"}");
	char *v;

	vcm_same(m,
	         "{\"meeting_id\":\"c-create-1\",\"host\":\"" HOST "\",\"state\":\"idle\","
	         "\"attendees\":[\"a@example.com\",\"b@example.com\"],\"has_password\":true,"
	         "\"waiting_room_enabled\":true}",
	         "created_at", "create");
	vcm_secs(m, "created_at");
	/* Stored hashed (PHC string), no participant row, no activation. */
	v = db_count("SELECT password_hash LIKE '$argon2id$%%' FROM meetings WHERE room_id = '%s'",
	             "c-create-1");
	assert_string_equal(v, "t");
	free(v);
	v = db_count("SELECT count(*) FROM meeting_participants p JOIN meetings m "
	             "ON m.id = p.meeting_id WHERE m.room_id = '%s'",
	             "c-create-1");
	assert_string_equal(v, "0");
	free(v);
	json_decref(m);
	vct_pass();
}

static void expect_generated(const char *body, char *out)
{
	json_t *m = vcm_create(HOST, body);
	const char *id = vct_json_str(m, "meeting_id");

	if (strlen(id) != 12 || strspn(id, "abcdefghijklmnopqrstuvwxyz0123456789") != 12)
		fail_msg("generated meeting_id '%s' (body %s) is not 12 of [a-z0-9]", id, body);
	strcpy(out, id);
	json_decref(m);
}

static void test_create_meeting_generates_id(void **state)
{
	char a[13], b[13], c[13];
	json_t *m;

	expect_generated("{\"attendees\":[]}", a);
	expect_generated("{}", b);
	expect_generated("{\"meeting_id\":null}", c);
	assert_true(strcmp(a, b) != 0 && strcmp(b, c) != 0 && strcmp(a, c) != 0);
	m = info(HOST, a);
	assert_string_equal(vct_json_str(m, "meeting_id"), a);
	json_decref(m);
	vct_pass();
}

static void test_create_meeting_body_variants(void **state)
{
	char *big = attendees(100), *body, *id255 = rep("a", 255);
	json_t *m;

	/* Attendees echoed as sent: no dedup, no address check. */
	m = vcm_create(HOST, "{\"meeting_id\":\"c-var-1\",\"attendees\":[\"x@example.com\","
	                     "\"x@example.com\",\"not an address\"],\"password\":\"\","
	                     "\"waiting_room_enabled\":null,\"unknown_field\":{\"a\":1}}");
	vcm_same(m,
	         "{\"meeting_id\":\"c-var-1\",\"host\":\"" HOST "\",\"state\":\"idle\","
	         "\"attendees\":[\"x@example.com\",\"x@example.com\",\"not an address\"],"
	         "\"has_password\":false,\"waiting_room_enabled\":true}",
	         "created_at", "create with an empty password");
	json_decref(m);
	m = vcm_create(HOST, "{\"meeting_id\":\"c-var-2\",\"waiting_room_enabled\":false,"
	                     "\"password\":null}");
	assert_false(vct_json_bool(m, "waiting_room_enabled"));
	assert_false(vct_json_bool(m, "has_password"));
	assert_int_equal(json_array_size(json_object_get(m, "attendees")), 0);
	json_decref(m);
	/* The limits themselves are allowed. */
	body = vct_strf("{\"meeting_id\":\"c-var-3\",\"attendees\":%s}", big);
	m = vcm_create(HOST, body);
	assert_int_equal(json_array_size(json_object_get(m, "attendees")), 100);
	json_decref(m);
	free(body);
	body = create_body(id255, NULL);
	m = vcm_create(HOST, body);
	assert_string_equal(vct_json_str(m, "meeting_id"), id255);
	json_decref(m);
	free(body);
	free(big);
	free(id255);
	vct_pass();
}

static void test_create_meeting_duplicate_id(void **state)
{
	char *msg = vcm_msg_exists("c-dup-1");

	create(HOST, "c-dup-1", NULL);
	vcm_fail(HOST, "POST", NULL, NULL, "{\"meeting_id\":\"c-dup-1\"}", 409, "MEETING_EXISTS",
	         msg);
	/* Any owner: room ids are global. */
	vcm_fail(OTHER, "POST", NULL, NULL, "{\"meeting_id\":\"c-dup-1\"}", 409, "MEETING_EXISTS",
	         msg);
	free(msg);
	vct_pass();
}

static void test_create_meeting_too_many_attendees(void **state)
{
	char *many = attendees(101),
	     *body = vct_strf("{\"meeting_id\":\"c-many-1\",\"attendees\":%s}", many);

	vcm_fail(HOST, "POST", NULL, NULL, body, 400, "TOO_MANY_ATTENDEES",
	         "Too many attendees: 101 provided, maximum is 100");
	expect_not_found(HOST, "GET", "c-many-1", NULL, NULL);
	/* Checked before uniqueness (§4.2 order). */
	create(HOST, "c-many-2", NULL);
	free(body);
	body = vct_strf("{\"meeting_id\":\"c-many-2\",\"attendees\":%s}", many);
	vcm_fail(HOST, "POST", NULL, NULL, body, 400, "TOO_MANY_ATTENDEES",
	         "Too many attendees: 101 provided, maximum is 100");
	free(body);
	free(many);
	vct_pass();
}

static void test_create_meeting_invalid_id(void **state)
{
	char *long_id = rep("a", 256), *wide = rep("\xc3\xa9", 128), *narrow = rep("\xc3\xa9", 100);
	char *many = attendees(101), *body;
	const char *bad[] = { "has space", "../etc/passwd", "room.name", "a*b",
		              "a>b",       "tab\\tx",       narrow };

	vcm_fail(HOST, "POST", NULL, NULL, "{\"meeting_id\":\"\"}", 400, "INVALID_MEETING_ID",
	         "Invalid meeting ID: cannot be empty");
	body = create_body(long_id, NULL);
	vcm_fail(HOST, "POST", NULL, NULL, body, 400, "INVALID_MEETING_ID",
	         "Invalid meeting ID: cannot exceed 255 characters");
	free(body);
	/* 128 two-byte characters: 256 bytes, too long before it is a bad pattern. */
	body = create_body(wide, NULL);
	vcm_fail(HOST, "POST", NULL, NULL, body, 400, "INVALID_MEETING_ID",
	         "Invalid meeting ID: cannot exceed 255 characters");
	free(body);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		body = create_body(bad[i], NULL);
		vcm_fail(HOST, "POST", NULL, NULL, body, 400, "INVALID_MEETING_ID", PATTERN_MSG);
		free(body);
	}
	/* The id is checked before the attendees. */
	body = vct_strf("{\"meeting_id\":\"bad.id\",\"attendees\":%s}", many);
	vcm_fail(HOST, "POST", NULL, NULL, body, 400, "INVALID_MEETING_ID", PATTERN_MSG);
	free(body);
	free(many);
	free(long_id);
	free(wide);
	free(narrow);
	vct_pass();
}

/* §2.2: body errors are the framework's (not the envelope), after auth. */
static void test_create_body_errors(void **state)
{
	const char *shapes[] = { "{\"attendees\":\"x\"}",
		                 "{\"meeting_id\":5}",
		                 "{\"waiting_room_enabled\":\"yes\"}",
		                 "{\"password\":7}",
		                 "{\"attendees\":[1,2]}",
		                 "{\"attendees\":null}",
		                 "[]" };

	vcm_status(HOST, "POST", "/api/v1/meetings", NULL, "{\"meeting_id\":\"c-body-1\"}", 415);
	vcm_status(HOST, "POST", "/api/v1/meetings", "Content-Type: text/plain\r\n",
	           "{\"meeting_id\":\"c-body-1\"}", 415);
	vcm_status(HOST, "POST", "/api/v1/meetings", JSON_CT, "not json", 400);
	vcm_status(HOST, "POST", "/api/v1/meetings", JSON_CT, "", 400);
	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++)
		vcm_status(HOST, "POST", "/api/v1/meetings", JSON_CT, shapes[i], 422);
	expect_not_found(HOST, "GET", "c-body-1", NULL, NULL);
	vct_pass();
}

static void test_get_meeting_success(void **state)
{
	json_t *m;

	create(HOST, "c-get-1", ",\"password\":\"secret123\"");
	/* Any authenticated user may read any meeting. */
	for (int i = 0; i < 2; i++) {
		m = info(i ? OTHER : HOST, "c-get-1");
		vcm_same(m,
		         "{\"meeting_id\":\"c-get-1\",\"state\":\"idle\",\"host\":\"" HOST "\","
		         "\"host_user_id\":\"" HOST "\",\"has_password\":true,"
		         "\"waiting_room_enabled\":true,\"participant_count\":0,"
		         "\"waiting_count\":0}",
		         "started_at", "GET of a new meeting");
		vcm_millis(m, "started_at");
		json_decref(m);
	}
	vct_pass();
}

static void test_get_meeting_not_found(void **state)
{
	expect_not_found(HOST, "GET", "c-no-such-meeting", NULL, NULL);
	vct_pass();
}

static void test_list_meetings_success(void **state)
{
	const char *owner = "lister@example.com";
	json_t *c = vcm_create(owner, "{\"meeting_id\":\"c-list-1\",\"password\":\"pw\","
	                              "\"waiting_room_enabled\":false}"),
	       *l, *s, *m;

	l = list(owner, "/api/v1/meetings");
	s = find_meeting(l, "c-list-1");
	assert_non_null(s);
	vcm_same(s,
	         "{\"meeting_id\":\"c-list-1\",\"host\":\"lister@example.com\",\"state\":\"idle\","
	         "\"has_password\":true,\"participant_count\":0,\"waiting_count\":0,"
	         "\"waiting_room_enabled\":false}",
	         "created_at started_at", "MeetingSummary");
	/* Seconds here, milliseconds in MeetingInfoResponse (§2.5). */
	assert_int_equal(vct_json_int(s, "created_at"), vct_json_int(c, "created_at"));
	m = info(owner, "c-list-1");
	assert_int_equal(vct_json_int(s, "started_at"), vct_json_int(m, "started_at") / 1000);
	json_decref(m);
	json_decref(l);
	/* Only the caller's own meetings. */
	l = list(OTHER, "/api/v1/meetings?limit=100");
	assert_null(find_meeting(l, "c-list-1"));
	json_decref(l);
	json_decref(c);
	vct_pass();
}

/* §7.3: newest first, limit clamped to [1, 100] (default 20), offset ≥ 0,
 * total counting every live meeting of the caller. */
static void test_list_pagination(void **state)
{
	const char *owner = "pager@example.com";
	static const struct {
		const char *query;
		long long limit, offset, first, n; /* first: index of the first meeting */
	} pages[] = {
		{ "", 20, 0, 24, 20 },
		{ "?limit=10&offset=0", 10, 0, 24, 10 },
		{ "?limit=10&offset=10", 10, 10, 14, 10 },
		{ "?limit=10&offset=20", 10, 20, 4, 5 },
		{ "?offset=30", 20, 30, -1, 0 },
		{ "?limit=0", 1, 0, 24, 1 },
		{ "?limit=-5", 1, 0, 24, 1 },
		{ "?limit=1000", 100, 0, 24, 25 },
		{ "?offset=-3&limit=2", 2, 0, 24, 2 },
	};
	char id[32], *path;
	json_t *l, *ms;

	for (int i = 0; i < 26; i++) {
		snprintf(id, sizeof(id), "c-page-%02d", i);
		create(owner, id, NULL);
	}
	/* A deleted one counts nowhere; other owners' meetings neither. */
	json_decref(vcm_ok(owner, "DELETE", "c-page-25", NULL, NULL, 200));
	create(OTHER, "c-page-other", NULL);
	for (size_t p = 0; p < sizeof(pages) / sizeof(pages[0]); p++) {
		path = vct_strf("/api/v1/meetings%s", pages[p].query);
		l = list(owner, path);
		ms = json_object_get(l, "meetings");
		if (vct_json_int(l, "total") != 25 || vct_json_int(l, "limit") != pages[p].limit ||
		    vct_json_int(l, "offset") != pages[p].offset ||
		    (long long)json_array_size(ms) != pages[p].n)
			fail_msg("GET %s: total %lld, limit %lld, offset %lld, %zu meetings; "
			         "expected 25, %lld, %lld, %lld",
			         path, (long long)vct_json_int(l, "total"),
			         (long long)vct_json_int(l, "limit"),
			         (long long)vct_json_int(l, "offset"), json_array_size(ms),
			         pages[p].limit, pages[p].offset, pages[p].n);
		for (long long k = 0; k < pages[p].n; k++) {
			snprintf(id, sizeof(id), "c-page-%02lld", pages[p].first - k);
			if (strcmp(vct_json_str(json_array_get(ms, (size_t)k), "meeting_id"), id) !=
			    0)
				fail_msg("GET %s: meeting #%lld is %s, expected %s (newest first)",
				         path, k,
				         vct_json_str(json_array_get(ms, (size_t)k), "meeting_id"),
				         id);
		}
		json_decref(l);
		free(path);
	}
	/* A query that does not parse is the framework's 400. */
	vcm_status(owner, "GET", "/api/v1/meetings?limit=abc", NULL, NULL, 400);
	vcm_status(owner, "GET", "/api/v1/meetings?offset=1.5", NULL, NULL, 400);
	vcm_status(owner, "GET", "/api/v1/meetings?limit=", NULL, NULL, 400);
	vct_pass();
}

static void test_delete_meeting_success(void **state)
{
	json_t *r, *m, *l;
	char *v;

	create(HOST, "c-del-1", NULL);
	r = vcm_ok(HOST, "DELETE", "c-del-1", NULL, NULL, 200);
	vcm_same(r, "{\"message\":\"Meeting 'c-del-1' has been deleted\"}", NULL, "delete");
	json_decref(r);
	/* Gone for every route, but only soft-deleted. */
	expect_not_found(HOST, "GET", "c-del-1", NULL, NULL);
	expect_not_found(HOST, "DELETE", "c-del-1", NULL, NULL);
	expect_not_found(HOST, "POST", "c-del-1", "end", NULL);
	expect_not_found(HOST, "GET", "c-del-1", "status", NULL);
	l = list(HOST, "/api/v1/meetings?limit=100");
	assert_null(find_meeting(l, "c-del-1"));
	json_decref(l);
	v = db_count("SELECT count(*) FILTER (WHERE deleted_at IS NOT NULL) FROM meetings "
	             "WHERE room_id = '%s'",
	             "c-del-1");
	assert_string_equal(v, "1");
	free(v);
	/* The id is free again: a join creates a new meeting owned by the joiner. */
	json_decref(vcm_join(OTHER, "c-del-1", NULL));
	m = info(HOST, "c-del-1");
	assert_string_equal(vct_json_str(m, "host"), OTHER);
	assert_string_equal(vct_json_str(m, "state"), "active");
	json_decref(m);
	vct_pass();
}

static void test_delete_meeting_not_owner(void **state)
{
	create(HOST, "c-del-2", ",\"waiting_room_enabled\":false");
	vcm_fail(OTHER, "DELETE", "c-del-2", NULL, NULL, 403, "NOT_OWNER", VCM_NOT_OWNER);
	/* A participant, even admitted, is not the owner. */
	json_decref(vcm_join(HOST, "c-del-2", NULL));
	json_decref(vcm_join(ATT, "c-del-2", NULL));
	vcm_fail(ATT, "DELETE", "c-del-2", NULL, NULL, 403, "NOT_OWNER", VCM_NOT_OWNER);
	json_decref(info(HOST, "c-del-2"));
	/* 404 before 403. */
	expect_not_found(OTHER, "DELETE", "c-del-unknown", NULL, NULL);
	vct_pass();
}

/* Methods and paths that are not routes (§2.2: framework answers). */
static void test_methods_and_paths(void **state)
{
	create(HOST, "c-meth-1", NULL);
	vcm_status(HOST, "PUT", "/api/v1/meetings", NULL, NULL, 405);
	vcm_status(HOST, "PUT", "/api/v1/meetings/c-meth-1", NULL, NULL, 405);
	vcm_status(HOST, "GET", "/api/v1/meetings/c-meth-1/join", NULL, NULL, 405);
	vcm_status(HOST, "DELETE", "/api/v1/meetings/c-meth-1/admit", NULL, NULL, 405);
	vcm_status(HOST, "GET", "/api/v1/meetings/c-meth-1/nope", NULL, NULL, 404);
	/* A path id that is not UTF-8 is the framework's 400 (vcd-api(7)). */
	vcm_status(HOST, "GET", "/api/v1/meetings/%FF", NULL, NULL, 400);
	/* Percent-decoded: %2D is '-'. */
	json_decref(vcm_ok(HOST, "GET", "c%2Dmeth%2D1", NULL, NULL, 200));
	vct_pass();
}

/* --- §10.7 end ------------------------------------------------------------ */

static void test_end_meeting_success(void **state)
{
	json_t *m;

	create(HOST, "c-end-1", NULL);
	m = vcm_ok(HOST, "POST", "c-end-1", "end", NULL, 200);
	vcm_shape(m, VCM_INFO_SHAPE, "end answer");
	vcm_same(m,
	         "{\"meeting_id\":\"c-end-1\",\"state\":\"ended\",\"host\":\"" HOST "\","
	         "\"host_user_id\":\"" HOST "\",\"has_password\":false,"
	         "\"waiting_room_enabled\":true,\"participant_count\":0,\"waiting_count\":0}",
	         "started_at ended_at", "end of an idle meeting");
	vcm_millis(m, "started_at");
	vcm_millis(m, "ended_at");
	json_decref(m);
	vct_pass();
}

static void test_end_meeting_not_owner(void **state)
{
	create(HOST, "c-end-2", NULL);
	vcm_fail(OTHER, "POST", "c-end-2", "end", NULL, 403, "NOT_OWNER", VCM_NOT_OWNER);
	vct_pass();
}

static void test_end_meeting_not_found(void **state)
{
	expect_not_found(HOST, "POST", "c-end-unknown", "end", NULL);
	vct_pass();
}

static void test_end_meeting_idempotent(void **state)
{
	json_t *a, *b;

	create(HOST, "c-end-3", NULL);
	a = vcm_ok(HOST, "POST", "c-end-3", "end", NULL, 200);
	vct_sleep_ms(1100);
	b = vcm_ok(HOST, "POST", "c-end-3", "end", NULL, 200);
	assert_string_equal(vct_json_str(b, "state"), "ended");
	assert_int_equal(vct_json_int(a, "ended_at"), vct_json_int(b, "ended_at"));
	json_decref(a);
	json_decref(b);
	vct_pass();
}

static void test_get_meeting_includes_stats_fields(void **state)
{
	json_t *m;

	create(HOST, "c-end-4", NULL);
	m = info(HOST, "c-end-4");
	assert_int_equal(vct_json_int(m, "participant_count"), 0);
	assert_int_equal(vct_json_int(m, "waiting_count"), 0);
	assert_true(vct_json_int(m, "started_at") > 0);
	vcm_absent(m, "ended_at", "new meeting");
	json_decref(m);
	vct_pass();
}

static void test_end_meeting_populates_ended_at(void **state)
{
	json_t *m, *l, *s;
	long long ended;

	create(HOST, "c-end-5", NULL);
	m = info(HOST, "c-end-5");
	vcm_absent(m, "ended_at", "before end");
	json_decref(m);
	json_decref(vcm_ok(HOST, "POST", "c-end-5", "end", NULL, 200));
	m = info(HOST, "c-end-5");
	assert_string_equal(vct_json_str(m, "state"), "ended");
	ended = vcm_millis(m, "ended_at");
	/* The summary says the same in seconds. */
	l = list(HOST, "/api/v1/meetings?limit=100");
	s = find_meeting(l, "c-end-5");
	assert_non_null(s);
	assert_string_equal(vct_json_str(s, "state"), "ended");
	assert_int_equal(vct_json_int(s, "ended_at"), ended / 1000);
	json_decref(l);
	json_decref(m);
	vct_pass();
}

static void test_update_meeting_returns_stats_fields(void **state)
{
	json_t *m;

	create(HOST, "c-end-6", NULL);
	m = vcm_ok(HOST, "PATCH", "c-end-6", NULL, "{\"waiting_room_enabled\":false}", 200);
	vcm_shape(m, VCM_INFO_SHAPE, "PATCH answer");
	assert_int_equal(vct_json_int(m, "participant_count"), 0);
	assert_int_equal(vct_json_int(m, "waiting_count"), 0);
	vcm_millis(m, "started_at");
	assert_false(vct_json_bool(m, "waiting_room_enabled"));
	json_decref(m);
	vct_pass();
}

/* --- §10.8 waiting-room toggle -------------------------------------------- */

static bool patch_wr(const char *user, const char *room, const char *value)
{
	char *body = vct_strf("{\"waiting_room_enabled\":%s}", value);
	json_t *m = vcm_ok(user, "PATCH", room, NULL, body, 200);
	bool on;

	vcm_shape(m, VCM_INFO_SHAPE, "PATCH answer");
	assert_string_equal(vct_json_str(m, "meeting_id"), room);
	on = vct_json_bool(m, "waiting_room_enabled");
	json_decref(m);
	free(body);
	return on;
}

static void test_toggle_waiting_room(void **state)
{
	json_t *m;

	/* off, then on again; GET and the list reflect it. */
	create(HOST, "c-wr-1", NULL);
	assert_false(patch_wr(HOST, "c-wr-1", "false"));
	m = info(OTHER, "c-wr-1");
	assert_false(vct_json_bool(m, "waiting_room_enabled"));
	json_decref(m);
	create(HOST, "c-wr-2", ",\"waiting_room_enabled\":false");
	assert_true(patch_wr(HOST, "c-wr-2", "true"));
	/* Only the owner; 404 for unknown and deleted meetings. */
	vcm_fail(OTHER, "PATCH", "c-wr-1", NULL, "{\"waiting_room_enabled\":true}", 403,
	         "NOT_OWNER", VCM_NOT_OWNER);
	expect_not_found(HOST, "PATCH", "c-wr-unknown", NULL, "{\"waiting_room_enabled\":true}");
	vcm_fail(NULL, "PATCH", "c-wr-1", NULL, "{\"waiting_room_enabled\":true}", 401,
	         "UNAUTHORIZED", VCM_NOAUTH);
	json_decref(vcm_ok(HOST, "DELETE", "c-wr-2", NULL, NULL, 200));
	expect_not_found(HOST, "PATCH", "c-wr-2", NULL, "{\"waiting_room_enabled\":false}");
	vct_pass();
}

static void test_create_defaults_and_reads_waiting_room(void **state)
{
	json_t *m, *l, *s;

	m = vcm_create(HOST, "{\"meeting_id\":\"c-wr-3\"}");
	assert_true(vct_json_bool(m, "waiting_room_enabled"));
	json_decref(m);
	m = vcm_create(HOST, "{\"meeting_id\":\"c-wr-4\",\"waiting_room_enabled\":false}");
	assert_false(vct_json_bool(m, "waiting_room_enabled"));
	json_decref(m);
	m = info(HOST, "c-wr-4");
	assert_false(vct_json_bool(m, "waiting_room_enabled"));
	json_decref(m);
	l = list(HOST, "/api/v1/meetings?limit=100");
	s = find_meeting(l, "c-wr-4");
	assert_non_null(s);
	assert_false(vct_json_bool(s, "waiting_room_enabled"));
	s = find_meeting(l, "c-wr-3");
	assert_non_null(s);
	assert_true(vct_json_bool(s, "waiting_room_enabled"));
	json_decref(l);
	vct_pass();
}

static void test_join_follows_waiting_room(void **state)
{
	long long t0, t1;
	json_t *p;

	/* Off: an attendee is admitted at once, with a room token. */
	create(HOST, "c-wr-5", ",\"waiting_room_enabled\":false");
	json_decref(vcm_join(HOST, "c-wr-5", NULL));
	t0 = vcm_now();
	p = vcm_join(ATT, "c-wr-5", NULL);
	t1 = vcm_now();
	vcm_participant(p, ATT, "admitted", false);
	vcm_absent(p, "observer_token", "auto-admitted join");
	vcm_room_token(vct_json_str(p, "room_token"), ATT, "c-wr-5", false, ATT, t0, t1);
	json_decref(p);
	/* On: the attendee waits, without a room token. */
	create(HOST, "c-wr-6", NULL);
	json_decref(vcm_join(HOST, "c-wr-6", NULL));
	p = vcm_join(ATT, "c-wr-6", NULL);
	vcm_participant(p, ATT, "waiting", false);
	vcm_absent(p, "room_token admitted_at", "waiting join");
	json_decref(p);
	vct_pass();
}

static void test_toggle_off_admits_waiting(void **state)
{
	const char *room = "c-wr-7";
	const char *att[] = { "wr7-a1@example.com", "wr7-a2@example.com", "wr7-a3@example.com" };
	long long t0, t1;
	json_t *p, *m;
	char *v;

	create(HOST, room, NULL);
	json_decref(vcm_join(HOST, room, NULL));
	for (int i = 0; i < 3; i++) {
		p = vcm_join(att[i], room, NULL);
		assert_string_equal(vct_json_str(p, "status"), "waiting");
		json_decref(p);
	}
	m = vcm_ok(HOST, "PATCH", room, NULL, "{\"waiting_room_enabled\":false}", 200);
	vcm_same(m,
	         "{\"meeting_id\":\"c-wr-7\",\"state\":\"active\",\"host\":\"" HOST "\","
	         "\"host_user_id\":\"" HOST "\",\"has_password\":false,"
	         "\"waiting_room_enabled\":false,\"participant_count\":4,\"waiting_count\":0}",
	         "started_at your_status", "PATCH off with three waiting");
	json_decref(m);
	m = vcm_ok(HOST, "GET", room, "waiting", NULL, 200);
	vcm_same(m, "{\"meeting_id\":\"c-wr-7\",\"waiting\":[]}", NULL, "waiting after PATCH");
	json_decref(m);
	t0 = vcm_now();
	p = vcm_ok(att[0], "GET", room, "status", NULL, 200);
	t1 = vcm_now();
	vcm_participant(p, att[0], "admitted", false);
	vcm_secs(p, "admitted_at");
	vcm_room_token(vct_json_str(p, "room_token"), att[0], room, false, att[0], t0, t1);
	json_decref(p);
	v = db_count("SELECT count(*) FROM meeting_participants p JOIN meetings m "
	             "ON m.id = p.meeting_id WHERE m.room_id = '%s' AND p.status = 'admitted' "
	             "AND p.admitted_at IS NOT NULL",
	             room);
	assert_string_equal(v, "4");
	free(v);
	/* A new attendee is admitted at once. */
	p = vcm_join("wr7-a4@example.com", room, NULL);
	vcm_participant(p, "wr7-a4@example.com", "admitted", false);
	assert_non_null(json_object_get(p, "room_token"));
	json_decref(p);
	/* On again: the next one waits. */
	assert_true(patch_wr(HOST, room, "true"));
	p = vcm_join("wr7-a5@example.com", room, NULL);
	vcm_participant(p, "wr7-a5@example.com", "waiting", false);
	vcm_absent(p, "room_token", "waiting after toggling back on");
	json_decref(p);
	vct_pass();
}

static void test_update_meeting_empty_body_noop(void **state)
{
	json_t *m;

	create(HOST, "c-wr-8", NULL);
	m = vcm_ok(HOST, "PATCH", "c-wr-8", NULL, "{}", 200);
	vcm_shape(m, VCM_INFO_SHAPE, "PATCH {}");
	assert_string_equal(vct_json_str(m, "meeting_id"), "c-wr-8");
	assert_true(vct_json_bool(m, "waiting_room_enabled"));
	assert_string_equal(vct_json_str(m, "state"), "idle");
	json_decref(m);
	/* {} still checks the meeting and the owner; an ended meeting can be patched. */
	vcm_fail(OTHER, "PATCH", "c-wr-8", NULL, "{}", 403, "NOT_OWNER", VCM_NOT_OWNER);
	expect_not_found(HOST, "PATCH", "c-wr-unknown-2", NULL, "{}");
	json_decref(vcm_ok(HOST, "POST", "c-wr-8", "end", NULL, 200));
	assert_false(patch_wr(HOST, "c-wr-8", "false"));
	vct_pass();
}

/* §2.2: body errors come before the meeting lookup. */
static void test_update_body_errors(void **state)
{
	const char *p = "/api/v1/meetings/c-wr-nothing";

	vcm_status(HOST, "PATCH", p, NULL, "{\"waiting_room_enabled\":false}", 415);
	vcm_status(HOST, "PATCH", p, JSON_CT, "{", 400);
	vcm_status(HOST, "PATCH", p, JSON_CT, "{\"waiting_room_enabled\":\"no\"}", 422);
	vcm_status(HOST, "POST", "/api/v1/meetings/c-wr-nothing/admit", JSON_CT,
	           "{\"email\":\"a@example.com\"}", 422);
	vcm_status(HOST, "POST", "/api/v1/meetings/c-wr-nothing/reject", JSON_CT, "{}", 422);
	vct_pass();
}

/* --- vcd: no database text in answers ------------------------------------- */

static void wait_ready(int want)
{
	uint64_t end = vct_now_ms() + 15000;

	while (vct_http_get_status(vcd->port, "/readyz") != want) {
		if (vct_now_ms() > end)
			fail_msg("/readyz is not %d after 15 s", want);
		vct_sleep_ms(100);
	}
}

/* vcd difference: videocall.rs puts the driver's error text in
 * engineering_error; vcd answers 503 INTERNAL_ERROR while PostgreSQL is
 * unreachable and never shows database text (vcd-api(7), DIFFERENCES FROM
 * VIDEOCALL.RS). */
static void test_database_down_no_db_text(void **state)
{
	const char *paths[] = { "/api/v1/meetings/c-down-1", "/api/v1/meetings",
		                "/api/v1/meetings/c-down-1/status" };
	vct_resp_t r;

	create(HOST, "c-down-1", NULL);
	vct_pg_stop();
	wait_ready(503);
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		vcm_call(HOST, "GET", paths[i], NULL, &r);
		vcm_error(&r, 503, "INTERNAL_ERROR", "Internal server error", paths[i]);
		vct_resp_free(&r);
	}
	vcm_call(HOST, "POST", "/api/v1/meetings", "{\"meeting_id\":\"c-down-2\"}", &r);
	vcm_error(&r, 503, "INTERNAL_ERROR", "Internal server error", "create without PostgreSQL");
	vct_resp_free(&r);
	vct_pg_start();
	wait_ready(200);
	json_decref(info(HOST, "c-down-1"));
	vct_pass();
}

/* --- main ----------------------------------------------------------------- */

static int group_setup(void **state)
{
	vcd = vcm_start("meetings_crud", "mcrud", NULL, &db_url);
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
		T(test_auth_required),
		T(test_auth_credentials),
		T(test_vcd_session_token_caller),
		T(test_ad_hoc_join_creates_meeting),
		T(test_ad_hoc_join_token_is_valid_jwt),
		T(test_join_body_forms),
		T(test_create_meeting_success),
		T(test_create_meeting_generates_id),
		T(test_create_meeting_body_variants),
		T(test_create_meeting_duplicate_id),
		T(test_create_meeting_too_many_attendees),
		T(test_create_meeting_invalid_id),
		T(test_create_body_errors),
		T(test_get_meeting_success),
		T(test_get_meeting_not_found),
		T(test_list_meetings_success),
		T(test_list_pagination),
		T(test_delete_meeting_success),
		T(test_delete_meeting_not_owner),
		T(test_methods_and_paths),
		T(test_end_meeting_success),
		T(test_end_meeting_not_owner),
		T(test_end_meeting_not_found),
		T(test_end_meeting_idempotent),
		T(test_get_meeting_includes_stats_fields),
		T(test_end_meeting_populates_ended_at),
		T(test_update_meeting_returns_stats_fields),
		T(test_toggle_waiting_room),
		T(test_create_defaults_and_reads_waiting_room),
		T(test_join_follows_waiting_room),
		T(test_toggle_off_admits_waiting),
		T(test_update_meeting_empty_body_noop),
		T(test_update_body_errors),
		T(test_database_down_no_db_text), /* last: stops PostgreSQL for a while */
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
