/*
 * test_xapi_hostile.c — hostile and sloppy clients against the external
 * API (token endpoint, rooms), the roles routes and embed credentials:
 * each answer is an exact, clear error, and nothing is stored or logged
 * that should not be.
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
#include "t/lib/vctest_ws.h"
#include "wire/jwt.h"

#define ROOMS "/external-api/v1.0/rooms/"
#define TOKEN "/external-api/v1.0/application/token/"
#define JSON "Content-Type: application/json\r\n"
#define FORM "Content-Type: application/x-www-form-urlencoded\r\n"
#define CONF "external_api = on\nexternal_api_applications = on\nauth_rate_limit = off\n"
#define ALL_SCOPES "rooms:list rooms:create rooms:retrieve rooms:update rooms:delete"
#define NOT_PROVIDED "{\"detail\":\"Authentication credentials were not provided.\"}"

static char *db_url;
static vct_vcd_t *on;
static char owner[40], other[40];
static char *app_id, *app_secret;


static json_t *claims(const char *client, const char *user, const char *scope)
{
	return json_pack("{s:s,s:s,s:I,s:I,s:b,s:s,s:s,s:s}", "iss", "vcd", "aud",
	                 "vcd-external-api", "iat", (json_int_t)vcm_now(), "exp",
	                 (json_int_t)(vcm_now() + 3600), "delegated", 1, "client_id", client,
	                 "user_id", user, "scope", scope);
}

static char *token_for(const char *user)
{
	json_t *c = claims(app_id, user, ALL_SCOPES);
	char *t = vc_jwt_sign(c, (const uint8_t *)VCM_SECRET, strlen(VCM_SECRET));

	json_decref(c);
	assert_non_null(t);
	return t;
}

/* One request: status and exact body. */
static void expect_raw(const char *method, const char *path, const char *headers,
                       const char *body, int status, const char *want)
{
	vct_resp_t r;

	vct_http(on->port, method, path, headers, body, &r);
	if (r.status != status || strcmp(r.body ? r.body : "", want) != 0)
		fail_msg("%s %s: %d %s; expected %d %s", method, path, r.status,
		         r.body ? r.body : "", status, want);
	vct_resp_free(&r);
}

/* expect_raw with headers made by vct_strf, freed here. */
static void expect_raw_f(const char *method, const char *path, char *headers, const char *body,
                         int status, const char *want)
{
	expect_raw(method, path, headers, body, status, want);
	free(headers);
}

static void expect(const char *method, const char *path, const char *token, const char *body,
                   int status, const char *want)
{
	char *h = vct_strf("%s%s%s%s", token ? "Authorization: Bearer " : "", token ? token : "",
	                   token ? "\r\n" : "", body ? JSON : "");

	expect_raw(method, path, h, body, status, want);
	free(h);
}

static json_t *xjson(const char *method, const char *path, const char *token, const char *body,
                     int status)
{
	char *h = vct_strf("Authorization: Bearer %s\r\n%s", token, body ? JSON : "");
	vct_resp_t r;
	json_t *j;

	if (vct_http(on->port, method, path, h, body, &r) != status)
		fail_msg("%s %s: status %d, expected %d; body %s", method, path, r.status, status,
		         r.body ? r.body : "");
	j = vct_resp_json(&r);
	vct_resp_free(&r);
	free(h);
	return j;
}

static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/* --- rooms: bodies ------------------------------------------------------------ */

/* A configuration member or an access level whose name is cut in the
 * middle of a character by the message's 64-byte bound: still a clear
 * 400 with the cut before the character, never an empty body. */
static void test_messages_cut_utf8(void **state)
{
	char *t = token_for(owner);
	char *a63 = repeat('a', 63);
	char *body = vct_strf("{\"configuration\":{\"%s\\u00e9b\":true}}", a63);
	char *want = vct_strf("{\"configuration\":[\"%s: Extra inputs are not permitted\"]}", a63);

	expect("POST", ROOMS, t, body, 400, want);
	free(body);
	free(want);
	body = vct_strf("{\"access_level\":\"%s\\u00e9b\"}", a63);
	want = vct_strf("{\"access_level\":[\"\\\"%s\\\" is not a valid choice.\"]}", a63);
	expect("POST", ROOMS, t, body, 400, want);
	free(body);
	free(want);
	/* nothing was stored */
	char *n = vct_db_valuef(db_url, "SELECT count(*) FROM meetings WHERE creator_id = '%s'",
	                        owner);
	assert_string_equal(n, "0");
	free(n);
	free(a63);
	free(t);
	vct_pass();
}

/* Bodies a sloppy client sends: each a DRF-style 400, nothing created. */
static void test_bad_bodies(void **state)
{
	char *t = token_for(owner);
	char *deep = malloc(2 * 5000 + 1), *n;

	memset(deep, '[', 5000);
	memset(deep + 5000, ']', 5000);
	deep[10000] = '\0';
	expect("POST", ROOMS, t, deep, 400, "{\"detail\":\"JSON parse error\"}");
	expect("POST", ROOMS, t, "{\"access_level\":\"a\\u0000b\"}", 400,
	       "{\"detail\":\"JSON parse error\"}");
	expect("POST", ROOMS, t, "{\"access_level\":\"\xff\"}", 400,
	       "{\"detail\":\"JSON parse error\"}");
	expect("POST", ROOMS, t, "[]", 400,
	       "{\"non_field_errors\":[\"Invalid data. Expected a dictionary.\"]}");
	expect("POST", ROOMS, t, "{\"access_level\":null}", 400,
	       "{\"access_level\":[\"This field may not be null.\"]}");
	expect("POST", ROOMS, t, "{\"configuration\":[]}", 400,
	       "{\"configuration\":[\"Input should be a valid dictionary\"]}");
	expect("POST", ROOMS, t, "{\"configuration\":{\"can_publish_sources\":\"camera\"}}", 400,
	       "{\"configuration\":[\"can_publish_sources: Input should be a valid list\"]}");
	expect("POST", ROOMS, t, "{\"configuration\":{\"can_publish_sources\":[\"camera\",7]}}",
	       400,
	       "{\"configuration\":[\"can_publish_sources.1: Input should be 'camera', "
	       "'microphone', 'screen_share' or 'screen_share_audio'\"]}");
	expect("POST", ROOMS, t, "{\"configuration\":{\"everyone_can_mute\":\"yes\"}}", 400,
	       "{\"configuration\":[\"everyone_can_mute: Input should be a valid boolean\"]}");
	/* duplicate keys: the last one counts, as in Python */
	expect("POST", ROOMS, t, "{\"access_level\":\"trusted\",\"access_level\":\"bogus\"}", 400,
	       "{\"access_level\":[\"\\\"bogus\\\" is not a valid choice.\"]}");
	expect_raw_f("POST", ROOMS,
	           vct_strf("Authorization: Bearer %s\r\nContent-Type: text/plain\r\n", t), "{}",
	           415, "{\"detail\":\"Unsupported media type.\"}");
	/* a media type that only starts like JSON's is not JSON */
	expect_raw_f("POST", ROOMS,
	           vct_strf("Authorization: Bearer %s\r\nContent-Type: application/jsonx\r\n", t),
	           "{}", 415, "{\"detail\":\"Unsupported media type.\"}");
	expect_raw_f("POST", ROOMS,
	           vct_strf("Authorization: Bearer %s\r\nContent-Type: application/json-seq\r\n",
	                    t),
	           "{}", 415, "{\"detail\":\"Unsupported media type.\"}");
	n = vct_db_valuef(db_url, "SELECT count(*) FROM meetings WHERE creator_id = '%s'", owner);
	assert_string_equal(n, "0");
	free(n);
	/* with a parameter it is */
	vct_resp_t r;
	char *h = vct_strf("Authorization: Bearer %s\r\nContent-Type: application/json; "
	                   "charset=utf-8\r\n",
	                   t);
	vct_http(on->port, "POST", ROOMS, h, "{\"access_level\":\"trusted\"}", &r);
	assert_int_equal(r.status, 201);
	vct_resp_free(&r);
	free(h);
	free(vct_db_valuef(db_url, "DELETE FROM meetings WHERE creator_id = '%s' RETURNING 1",
	                   owner));
	free(deep);
	free(t);
	vct_pass();
}

/* --- rooms: paths and pages --------------------------------------------------- */

static void test_paths(void **state)
{
	char *t = token_for(owner);
	json_t *room = xjson("POST", ROOMS, t, "{}", 201);
	const char *id = vct_json_str(room, "id");
	char *up = strdup(id), *p;

	for (char *c = up; *c; c++)
		*c = (char)toupper((unsigned char)*c);
	/* an upper-case id names the same room, and every answer shows its id */
	p = vct_strf(ROOMS "%s/", up);
	json_t *got = xjson("GET", p, t, NULL, 200);
	assert_string_equal(vct_json_str(got, "id"), id);
	json_decref(got);
	got = xjson("PATCH", p, t, "{\"access_level\":\"trusted\"}", 200);
	assert_string_equal(vct_json_str(got, "id"), id);
	assert_string_equal(vct_json_str(got, "access_level"), "trusted");
	json_decref(got);
	free(p);
	/* not ids */
	const char *bad[] = { "nope", "%2F", "..", "00000000-0000-0000-0000-00000000000g",
		              "00000000-0000-0000-0000-000000000000x" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p = vct_strf(ROOMS "%s/", bad[i]);
		expect("GET", p, t, NULL, 404, "{\"detail\":\"Not found.\"}");
		expect("DELETE", p, t, NULL, 404, "{\"detail\":\"Not found.\"}");
		free(p);
	}
	p = vct_strf(ROOMS "%s%%00/", id);
	expect("GET", p, t, NULL, 404, "{\"detail\":\"Not found.\"}");
	free(p);
	/* pages */
	const char *pages[] = { "0", "-1", "abc", "99999999999999999999", "1e3", "+1", "2",
		                        "1%00x", "%00" };
	for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
		p = vct_strf(ROOMS "?page=%s", pages[i]);
		expect("GET", p, t, NULL, 404, "{\"detail\":\"Invalid page.\"}");
		free(p);
	}
	json_decref(room);
	free(up);
	free(t);
	vct_pass();
}

/* Updates that change nothing answer the room as it is; a refused one
 * stores nothing. */
static void test_empty_updates(void **state)
{
	char *t = token_for(owner), *p;
	json_t *room = xjson("POST", ROOMS, t,
	                     "{\"access_level\":\"restricted\",\"configuration\":"
	                     "{\"everyone_can_mute\":true}}",
	                     201), *got;
	char *want = json_dumps(room, JSON_COMPACT | JSON_SORT_KEYS), *now;

	p = vct_strf(ROOMS "%s/", vct_json_str(room, "id"));
	const char *bodies[] = { NULL, "{}", "{\"id\":\"x\",\"slug\":\"y\",\"name\":\"z\"}" };
	const char *methods[] = { "PATCH", "PUT" };
	for (size_t m = 0; m < 2; m++)
		for (size_t i = 0; i < 3; i++) {
			got = xjson(methods[m], p, t, bodies[i], 200);
			now = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);
			if (strcmp(now, want) != 0)
				fail_msg("%s %s with %s: %s, expected %s", methods[m], p,
				         bodies[i] ? bodies[i] : "no body", now, want);
			free(now);
			json_decref(got);
		}
	expect("PATCH", p, t, "{\"access_level\":\"public\",\"configuration\":{}}", 400,
	       "{\"access_level\":[\"Public rooms are disabled for the external API.\"]}");
	got = xjson("GET", p, t, NULL, 200);
	now = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(now, want);
	free(now);
	json_decref(got);
	expect("DELETE", p, t, NULL, 204, "");
	expect("DELETE", p, t, NULL, 404, "{\"detail\":\"Not found.\"}");
	expect("PATCH", p, t, "{}", 404, "{\"detail\":\"Not found.\"}");
	free(p);
	free(want);
	json_decref(room);
	free(t);
	vct_pass();
}

/* --- rooms: authorization headers ------------------------------------------- */

static void test_auth_headers(void **state)
{
	char *t = token_for(owner), *h, *big;
	json_t *c;

	/* lower-case scheme and extra spaces are fine */
	h = vct_strf("Authorization: bearer   %s  \r\n", t);
	vct_resp_t r;
	vct_http(on->port, "GET", ROOMS, h, NULL, &r);
	assert_int_equal(r.status, 200);
	vct_resp_free(&r);
	free(h);
	h = vct_strf("Authorization: Bearer %s extra\r\n", t);
	expect_raw("GET", ROOMS, h, NULL, 401, "{\"detail\":\"Invalid token header.\"}");
	free(h);
	big = repeat('A', 60000);
	h = vct_strf("Authorization: Bearer %s\r\n", big);
	vct_http(on->port, "GET", ROOMS, h, NULL, &r);
	if (r.status != 401 && r.status != 431 && r.status != 400)
		fail_msg("a 60 kB token: %d", r.status);
	vct_resp_free(&r);
	free(h);
	free(big);
	/* exp as a string, user_id not a UUID, SQL in the claims */
	c = claims(app_id, owner, ALL_SCOPES);
	json_object_set_new(c, "exp", json_string("9999999999"));
	char *s = vc_jwt_sign(c, (const uint8_t *)VCM_SECRET, strlen(VCM_SECRET));
	expect("GET", ROOMS, s, NULL, 401, NOT_PROVIDED);
	free(s);
	json_decref(c);
	/* other algorithms, signed with the same secret or not at all */
	const char *algs[] = { "HS512", "HS384", "RS256", "none", "hs256" };
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		c = claims(app_id, owner, ALL_SCOPES);
		s = vct_jwt_alg(c, VCM_SECRET, algs[i]);
		expect("GET", ROOMS, s, NULL, 401, NOT_PROVIDED);
		free(s);
		json_decref(c);
	}
	/* aud as an array that holds the audience: PyJWT takes it too */
	c = claims(app_id, owner, ALL_SCOPES);
	json_object_set_new(c, "aud", json_pack("[s,s]", "other", "vcd-external-api"));
	s = vc_jwt_sign(c, (const uint8_t *)VCM_SECRET, strlen(VCM_SECRET));
	{
		char *hh = vct_strf("Authorization: Bearer %s\r\n", s);
		vct_http(on->port, "GET", ROOMS, hh, NULL, &r);
		assert_int_equal(r.status, 200);
		vct_resp_free(&r);
		free(hh);
	}
	free(s);
	json_object_set_new(c, "aud", json_pack("[s]", "other"));
	s = vc_jwt_sign(c, (const uint8_t *)VCM_SECRET, strlen(VCM_SECRET));
	expect("GET", ROOMS, s, NULL, 401, "{\"detail\":\"Invalid token.\"}");
	free(s);
	json_decref(c);
	/* user_id a number, delegated a string */
	c = claims(app_id, owner, ALL_SCOPES);
	json_object_set_new(c, "user_id", json_integer(5));
	s = vc_jwt_sign(c, (const uint8_t *)VCM_SECRET, strlen(VCM_SECRET));
	expect("GET", ROOMS, s, NULL, 401, "{\"detail\":\"Invalid token claims.\"}");
	free(s);
	json_object_set_new(c, "user_id", json_string(owner));
	json_object_set_new(c, "delegated", json_string("true"));
	s = vc_jwt_sign(c, (const uint8_t *)VCM_SECRET, strlen(VCM_SECRET));
	expect("GET", ROOMS, s, NULL, 401, "{\"detail\":\"Invalid token type.\"}");
	free(s);
	json_decref(c);
	c = claims(app_id, "x' OR '1'='1", ALL_SCOPES);
	s = vc_jwt_sign(c, (const uint8_t *)VCM_SECRET, strlen(VCM_SECRET));
	expect("GET", ROOMS, s, NULL, 401, "{\"detail\":\"User not found.\"}");
	free(s);
	json_decref(c);
	c = claims("x' OR '1'='1", owner, ALL_SCOPES);
	s = vc_jwt_sign(c, (const uint8_t *)VCM_SECRET, strlen(VCM_SECRET));
	expect("GET", ROOMS, s, NULL, 401, "{\"detail\":\"Application not found.\"}");
	free(s);
	json_decref(c);
	free(t);
	vct_pass();
}

/* --- rooms: other users' rooms ------------------------------------------------ */

static void test_idor(void **state)
{
	char *t = token_for(owner), *u = token_for(other), *p;
	json_t *room = xjson("POST", ROOMS, t, "{}", 201);

	p = vct_strf(ROOMS "%s/", vct_json_str(room, "id"));
	expect("GET", p, u, NULL, 403,
	       "{\"detail\":\"You do not have permission to perform this action.\"}");
	expect("PATCH", p, u, "{\"access_level\":\"public\"}", 403,
	       "{\"detail\":\"You do not have permission to perform this action.\"}");
	expect("DELETE", p, u, NULL, 403,
	       "{\"detail\":\"You do not have permission to perform this action.\"}");
	json_t *got = xjson("GET", p, t, NULL, 200);
	assert_string_equal(vct_json_str(got, "access_level"),
	                    vct_json_str(room, "access_level"));
	json_decref(got);
	free(p);
	json_decref(room);
	free(t);
	free(u);
	vct_pass();
}

/* --- roles routes -------------------------------------------------------------- */

/* A user id or meeting id that is not UTF-8 text: a 400, not a failed
 * statement. */
static void test_roles_bad_ids(void **state)
{
	char *p;

	vcm_new_room(owner, "hostile-roles", NULL);
	p = strdup("/api/v1/meetings/hostile-roles/roles/%FF");
	vcm_status(owner, "PUT", p, JSON, "{\"role\":\"member\"}", 400);
	vcm_status(owner, "DELETE", p, NULL, NULL, 400);
	free(p);
	vcm_status(owner, "GET", "/api/v1/meetings/%FF/roles", NULL, NULL, 400);
	vcm_status(owner, "PUT", "/api/v1/meetings/hostile-roles/roles/a%00b", JSON,
	           "{\"role\":\"member\"}", 400);
	assert_false(vct_vcd_log_has(on, "meeting roles: statement failed"));
	vct_pass();
}

/* Roles on a room made through the external API: a member may read but
 * not change it, an administrator may change but not delete it; the
 * owner's own role cannot be set; a user id too long is a 400. */
static void test_roles_permissions(void **state)
{
	char *t = token_for(owner), *u = token_for(other), *p, *rp, *big, *n;
	json_t *room = xjson("POST", ROOMS, t, "{\"access_level\":\"trusted\"}", 201);
	const char *slug = vct_json_str(room, "slug");

	p = vct_strf(ROOMS "%s/", vct_json_str(room, "id"));
	rp = vct_strf("/api/v1/meetings/%s/roles/%s", slug, other);
	json_decref(vcm_ok_at(owner, "PUT", rp, "{\"role\":\"member\"}", 200));
	json_decref(xjson("GET", p, u, NULL, 200));
	expect("PATCH", p, u, "{\"access_level\":\"public\"}", 403,
	       "{\"detail\":\"You do not have permission to perform this action.\"}");
	json_decref(vcm_ok_at(owner, "PUT", rp, "{\"role\":\"administrator\"}", 200));
	json_decref(xjson("PATCH", p, u, "{\"access_level\":\"restricted\"}", 200));
	expect("DELETE", p, u, NULL, 403,
	       "{\"detail\":\"You do not have permission to perform this action.\"}");
	n = vct_db_valuef(db_url, "SELECT access_level FROM meetings WHERE room_id = '%s'"
	                          " AND deleted_at IS NULL", slug);
	assert_string_equal(n, "restricted");
	free(n);
	free(rp);
	rp = vct_strf("/api/v1/meetings/%s/roles/%s", slug, owner);
	vcm_status(owner, "PUT", rp, JSON, "{\"role\":\"member\"}", 400);
	free(rp);
	big = repeat('u', 300);
	rp = vct_strf("/api/v1/meetings/%s/roles/%s", slug, big);
	vcm_status(owner, "PUT", rp, JSON, "{\"role\":\"member\"}", 400);
	free(rp);
	free(big);
	rp = vct_strf("/api/v1/meetings/%s/roles/%s", slug, other);
	vcm_status(other, "PUT", rp, JSON, "{\"role\":\"administrator\"}", 403);
	vcm_status(owner, "PUT", rp, JSON, "{\"role\":\"owner\"}", 422);
	vcm_status(owner, "PUT", rp, JSON, "{\"role\":[\"member\"]}", 422);
	vcm_status(owner, "PUT", rp, "Content-Type: application/jsonx\r\n",
	           "{\"role\":\"member\"}", 415);
	{
		vct_resp_t r;
		vcm_raw(owner, "PUT", rp, "Content-Type: application/json; charset=utf-8\r\n",
		        "{\"role\":\"member\"}", &r);
		assert_int_equal(r.status, 200);
		vct_resp_free(&r);
	}
	free(rp);
	expect("DELETE", p, t, NULL, 204, "");
	free(p);
	json_decref(room);
	free(t);
	free(u);
	vct_pass();
}

/* --- token endpoint -------------------------------------------------------------- */

static void test_token_bodies(void **state)
{
	char *body;

	expect_raw("POST", TOKEN, JSON, "[1]", 400, "{\"detail\":\"JSON parse error\"}");
	expect_raw("POST", TOKEN, JSON, "{\"client_id\":5,\"client_secret\":[],\"grant_type\":"
	           "\"client_credentials\",\"scope\":{}}", 400,
	           "{\"client_id\":[\"Not a valid string.\"],\"client_secret\":[\"Not a valid "
	           "string.\"],\"scope\":[\"Not a valid string.\"]}");
	body = vct_strf("client_id=%s&client_secret=wrong&grant_type=client_credentials"
	                "&scope=owner@hostile.example", app_id);
	expect_raw("POST", TOKEN, FORM, body, 401, "{\"detail\":\"Invalid credentials\"}");
	free(body);
	/* a secret that only starts with the right one is not the secret */
	body = vct_strf("client_id=%s&client_secret=%s%%00x&grant_type=client_credentials"
	                "&scope=owner@hostile.example", app_id, app_secret);
	expect_raw("POST", TOKEN, FORM, body, 400,
	           "{\"client_secret\":[\"Null characters are not allowed.\"]}");
	free(body);
	body = vct_strf("client_id=%s%%00&client_secret=%s&grant_type=client_credentials"
	                "&scope=owner@hostile.example%%00.evil", app_id, app_secret);
	expect_raw("POST", TOKEN, FORM, body, 400,
	           "{\"client_id\":[\"Null characters are not allowed.\"],"
	           "\"scope\":[\"Null characters are not allowed.\"]}");
	free(body);
	assert_false(vct_vcd_log_has(on, "got a token"));
	expect_raw("POST", TOKEN, "Content-Type: text/plain\r\n", "x", 415,
	           "{\"detail\":\"Unsupported media type.\"}");
	/* neither the secret nor a token in the log */
	assert_false(vct_vcd_log_has(on, app_secret));
	vct_pass();
}

/* The log: never the client secret nor an application token, and client
 * input in it without its control characters. */
static void test_log(void **state)
{
	char *body = vct_strf("client_id=%s&client_secret=%s&grant_type=client_credentials"
	                      "&scope=owner@hostile.example", app_id, app_secret);
	json_t *c = claims(app_id, owner, "rooms:list");
	char *narrow = vc_jwt_sign(c, (const uint8_t *)VCM_SECRET, strlen(VCM_SECRET));
	vct_resp_t r;
	json_t *j;
	char *tok, *log;

	json_decref(c);
	vct_http(on->port, "POST", TOKEN, FORM, body, &r);
	assert_int_equal(r.status, 200);
	j = vct_resp_json(&r);
	tok = strdup(vct_json_str(j, "access_token"));
	json_decref(j);
	vct_resp_free(&r);
	json_decref(xjson("GET", ROOMS, tok, NULL, 200));
	/* refused for its scope: the path's id is logged */
	expect("GET", ROOMS "abc%0A2026-01-01T00:00:00.000Z%20error%20forged/", narrow, NULL, 403,
	       "{\"detail\":\"Insufficient permissions. Required scope: rooms:retrieve\"}");
	assert_true(vct_vcd_wait_log(on, "refused (scope)", 5000));
	log = vct_vcd_log(on);
	if (strstr(log, app_secret) != NULL || strstr(log, tok) != NULL ||
	    strstr(log, narrow) != NULL)
		fail_msg("a secret or a token in the log");
	if (strstr(log, "\n2026-01-01T00:00:00.000Z error forged") != NULL)
		fail_msg("a client's new line in the log");
	assert_non_null(strstr(log, "abc?2026-01-01T00:00:00.000Z error forged"));
	free(log);
	free(tok);
	free(narrow);
	free(body);
	vct_pass();
}

/* /lobby: a token or an embed_key with a decoded %00 is refused like any
 * malformed one (403), not cut at the NUL and taken. */
static void test_lobby_nul(void **state)
{
	json_t *c = vct_room_claims(owner, "hostile-lobby", "Owner");
	char *tok, *key = repeat('k', 40), *target;
	vct_resp_t r;
	vct_ws_t *ws;
	const char *unusual = "We detected unusual activity from your browser. This incident has "
	                      "been logged.";

	json_object_set_new(c, "embed_provider", json_string("chat"));
	tok = vct_jwt(c, VCM_SECRET);
	json_decref(c);
	for (int nul_in_token = 0; nul_in_token < 2; nul_in_token++) {
		target = nul_in_token ? vct_strf("/lobby?token=%s%%00x&embed_key=%s", tok, key)
		                      : vct_strf("/lobby?token=%s&embed_key=%s%%00x", tok, key);
		ws = vct_ws_try(on->port, target, NULL, &r);
		assert_null(ws);
		assert_int_equal(r.status, 403);
		assert_string_equal(r.body, unusual);
		vct_resp_free(&r);
		free(target);
	}
	/* the same token and key without the NUL: upgraded */
	target = vct_strf("/lobby?token=%s&embed_key=%s", tok, key);
	ws = vct_ws_try(on->port, target, NULL, &r);
	if (ws == NULL)
		fail_msg("/lobby with a good token and key: %d %s", r.status, r.body ? r.body : "");
	vct_resp_free(&r); /* the 101's head */
	vct_ws_close_all();
	free(target);
	free(key);
	free(tok);
	vct_pass();
}

/* Embed credentials: fetched once right, then every sloppy or hostile
 * variant answers null or 401, and neither key nor authToken is logged. */
static void test_embed_hostile(void **state)
{
	const char *room = "hostile-embed";
	json_t *c = vct_room_claims(owner, room, "Owner"), *j;
	char *tok, *key = repeat('e', 43), *target, *h, *auth, *forged, *log;
	vct_resp_t r;
	vct_ws_t *ws;
	const char *path = "/api/v1/meetings/hostile-embed/embed-credentials";

	json_object_set_new(c, "embed_provider", json_string("chat"));
	tok = vct_jwt(c, VCM_SECRET);
	json_decref(c);
	target = vct_strf("/lobby?token=%s&embed_key=%s", tok, key);
	ws = vct_ws_try(on->port, target, NULL, &r);
	if (ws == NULL)
		fail_msg("/lobby with an embed_key: %d", r.status);
	vct_resp_free(&r); /* the 101's head */
	h = vct_strf("Authorization: Bearer %s\r\nX-Embed-Key: %s\r\n", tok, key);
	vct_http(on->port, "GET", path, h, NULL, &r);
	assert_int_equal(r.status, 200);
	j = vct_resp_json(&r);
	if (!json_is_object(j))
		fail_msg("no credentials: %s", r.body);
	auth = strdup(vct_json_str(j, "authToken"));
	json_decref(j);
	vct_resp_free(&r);
	free(h);
	/* variants: each the null answer */
	const char *fmts[] = {
		"Authorization: Bearer %s\r\nX-Embed-Key: %s\r\nX-Embed-Key: x\r\n",
		"Authorization: bearer %s\r\nX-Embed-Key: %s\r\n",
		"Authorization: Bearer  %s\r\nX-Embed-Key: %s\r\n",
	};
	for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		h = vct_strf(fmts[i], tok, key);
		vct_http(on->port, "GET", path, h, NULL, &r);
		if (i == 0) { /* the first of two keys counts: still the right one */
			assert_int_equal(r.status, 200);
		} else if (r.status != 200 || strcmp(r.body, "null") != 0) {
			fail_msg("variant %zu: %d %s", i, r.status, r.body);
		}
		vct_resp_free(&r);
		free(h);
	}
	h = vct_strf("Authorization: Bearer %s\r\nX-Embed-Key: x\r\nX-Embed-Key: %s\r\n", tok,
	             key);
	vct_http(on->port, "GET", path, h, NULL, &r);
	assert_string_equal(r.body, "null");
	vct_resp_free(&r);
	free(h);
	/* the authToken: its own routes only */
	h = vct_strf("Authorization: Bearer %s\r\n", auth);
	vct_http(on->port, "GET", "/api/users/me", h, NULL, &r);
	assert_int_equal(r.status, 200);
	vct_resp_free(&r);
	const char *others[][2] = {
		{ "GET", "/api/v1/meetings/hostile-embed/roles" },
		{ "GET", "/api/v1/meetings" },
		{ "POST", "/api/v1/meetings/hostile-embed/leave" },
		{ "DELETE", "/api/v1/meetings/hostile-embed" },
		{ "GET", "/api/v1/meetings/other-room" },
		{ "GET", "/api/v1/meetings/hostile-embed/embed-credentials" },
	};
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		vct_http(on->port, others[i][0], others[i][1], h, NULL, &r);
		bool ok = i == 5 ? strcmp(r.body, "null") == 0 : r.status == 401;
		if (!ok)
			fail_msg("%s %s with the authToken: %d %s", others[i][0], others[i][1],
			         r.status, r.body);
		vct_resp_free(&r);
	}
	expect_raw("GET", ROOMS, h, NULL, 401, NOT_PROVIDED);
	free(h);
	/* tampered: another node, the secret changed */
	forged = strdup(auth);
	forged[5] = forged[5] == '0' ? '1' : '0';
	h = vct_strf("Authorization: Bearer %s\r\n", forged);
	vct_http(on->port, "GET", "/api/users/me", h, NULL, &r);
	assert_int_equal(r.status, 401);
	vct_resp_free(&r);
	free(h);
	strcpy(forged, auth);
	forged[strlen(forged) - 1] = forged[strlen(forged) - 1] == 'A' ? 'B' : 'A';
	h = vct_strf("Authorization: Bearer %s\r\n", forged);
	vct_http(on->port, "GET", "/api/users/me", h, NULL, &r);
	assert_int_equal(r.status, 401);
	vct_resp_free(&r);
	free(h);
	log = vct_vcd_log(on);
	if (strstr(log, key) != NULL || strstr(log, auth) != NULL ||
	    strstr(log, auth + 22) != NULL)
		fail_msg("the embed key or the authToken in the log");
	free(log);
	vct_ws_close_all();
	free(forged);
	free(auth);
	free(target);
	free(key);
	free(tok);
	vct_pass();
}

static int group_setup(void **state)
{
	json_t *a;

	on = vcm_start("xapi_hostile", "xhostile", CONF, &db_url);
	vct_register(on->port, "howner", "owner@hostile.example", owner);
	vct_register(on->port, "hother", "other@hostile.example", other);
	a = vct_vcctl_json(on, (const char *const[]){ "apps", "create", "Hostile", "--scope",
	                                              "rooms:list", "--scope", "rooms:create",
	                                              "--scope", "rooms:retrieve", "--scope",
	                                              "rooms:update", "--scope", "rooms:delete",
	                                              NULL });
	app_id = strdup(vct_json_str(a, "client_id"));
	app_secret = strdup(vct_json_str(a, "client_secret"));
	json_decref(a);
	return 0;
}

static int group_teardown(void **state)
{
	int rc = vcm_finish(on, &db_url);

	free(app_id);
	free(app_secret);
	return rc;
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, vct_setup, vct_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_messages_cut_utf8), T(test_bad_bodies),  T(test_paths),
		T(test_auth_headers),      T(test_idor),        T(test_roles_bad_ids),
		T(test_token_bodies),      T(test_roles_permissions),
		T(test_log),               T(test_empty_updates),     T(test_lobby_nul),
		T(test_embed_hostile),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
