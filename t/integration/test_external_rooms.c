/*
 * test_external_rooms.c — the external rooms API (/external-api/v1.0/rooms/,
 * La Suite Meet's, shared/reference/meet-toju-rocketchat-livekit.md §A.4–
 * §A.6), access levels and roles on /api/v1/meetings/{id}/join, and the
 * grants in room tokens (doc/external.md), against a real vcd and
 * PostgreSQL.
 *
 * Meet's test list (test_external_api_rooms.py) is ported row by row. Rows
 * that do not apply: test_resource_server_* (vcd has no OIDC resource
 * server backend), test_api_rooms_*_addons_token* (no addons tokens) and
 * ..._list_with_invalid_rs_token (the 400 comes from the resource server).
 * Application tokens are forged here with the shared jwt_secret, so each
 * claim can be left out or spoiled; one comes from the real token endpoint.
 *
 * Three vcds on one database: `on` (external API and applications on, a
 * base URL), `half` (external API on, applications off) and `off`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <ctype.h>
#include <jansson.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "t/lib/vctest.h"
#include "t/lib/vctest_meetings.h"
#include "wire/jwt.h"

#define ROOMS "/external-api/v1.0/rooms/"
#define JSON "Content-Type: application/json\r\n"
#define BASE_URL "http://meet.example"
#define ON_CONF                                                                                    \
	"external_api = on\nexternal_api_applications = on\nauth_rate_limit = off\n"               \
	"external_api_base_url = " BASE_URL "\n"
#define ALL_SCOPES "rooms:list rooms:create rooms:retrieve rooms:update rooms:delete"
#define NOT_PROVIDED "{\"detail\":\"Authentication credentials were not provided.\"}"
#define NO_PERMISSION "{\"detail\":\"You do not have permission to perform this action.\"}"
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static char *db_url;
static vct_vcd_t *on, *half, *off;
/* users: owner, administrator, member, stranger (no role), disabled */
static char owner[40], admin[40], member[40], stranger[40], disabled[40];
static char *app_id;        /* client id of the application with every scope */
static char *app_secret;    /* its secret (for the real token endpoint) */
static char *inactive_app;  /* client id of a disabled application */

/* --- application tokens ----------------------------------------------------- */

/* Claims of an application token as the token endpoint makes them; each
 * argument NULL leaves its claim out. */
static json_t *claims(const char *client, const char *user, const char *scope)
{
	json_t *c = json_pack("{s:s,s:s,s:I,s:I,s:b}", "iss", "vcd", "aud", "vcd-external-api",
	                      "iat", (json_int_t)vcm_now(), "exp", (json_int_t)(vcm_now() + 3600),
	                      "delegated", 1);

	if (client != NULL)
		json_object_set_new(c, "client_id", json_string(client));
	if (user != NULL)
		json_object_set_new(c, "user_id", json_string(user));
	if (scope != NULL)
		json_object_set_new(c, "scope", json_string(scope));
	return c;
}

static char *sign(json_t *c, const char *key)
{
	char *t = vc_jwt_sign(c, (const uint8_t *)key, strlen(key));

	json_decref(c);
	assert_non_null(t);
	return t;
}

static char *token_for(const char *user, const char *scope)
{
	return sign(claims(app_id, user, scope), VCM_SECRET);
}

/* One request with "Authorization: Bearer token" (none when NULL). */
static int xcall(vct_vcd_t *v, const char *method, const char *path, const char *token,
                 const char *body, vct_resp_t *r)
{
	char *h = vct_strf("%s%s%s%s", token ? "Authorization: Bearer " : "", token ? token : "",
	                   token ? "\r\n" : "", body ? JSON : "");
	int st = vct_http(v->port, method, path, h, body, r);

	free(h);
	return st;
}

/* status and exact body. */
static void expect(vct_vcd_t *v, const char *method, const char *path, const char *token,
                   const char *body, int status, const char *want)
{
	vct_resp_t r;

	xcall(v, method, path, token, body, &r);
	vct_expect_json(&r, status, want);
	if (status == 401 && (vct_resp_header(&r, "WWW-Authenticate") == NULL ||
	                      strcmp(vct_resp_header(&r, "WWW-Authenticate"), "Bearer") != 0))
		fail_msg("%s %s: a 401 without WWW-Authenticate: Bearer", method, path);
	vct_resp_free(&r);
}

/* status and the body as JSON (new reference). */
static json_t *xjson(const char *method, const char *path, const char *token, const char *body,
                     int status)
{
	vct_resp_t r;
	json_t *j;

	if (xcall(on, method, path, token, body, &r) != status)
		fail_msg("%s %s: status %d, expected %d; body %s", method, path, r.status, status,
		         r.body ? r.body : "");
	if (status == 204 && r.body != NULL && r.body[0] != '\0')
		fail_msg("%s %s: 204 with a body: %s", method, path, r.body);
	j = status == 204 ? NULL : vct_resp_json(&r);
	vct_resp_free(&r);
	return j;
}

static char *room_path(const char *id)
{
	return vct_strf(ROOMS "%s/", id);
}

/* A room created by `user` through the external API (body may be NULL). */
static json_t *xcreate(const char *user, const char *body)
{
	char *t = token_for(user, ALL_SCOPES);
	json_t *j = xjson("POST", ROOMS, t, body ? body : "{}", 201);

	free(t);
	return j;
}

/* Give `user` `role` on the meeting `room` (as its owner). */
static void set_role(const char *room_owner, const char *room, const char *user,
                     const char *role)
{
	char *path = vct_strf("/api/v1/meetings/%s/roles/%s", room, user);
	char *body = vct_strf("{\"role\":\"%s\"}", role);
	json_t *res = vcm_ok_at(room_owner, "PUT", path, body, 200);

	json_decref(res);
	free(path);
	free(body);
}

/* --- authentication (§A.4) ---------------------------------------------------- */

/* ..._list_requires_authentication, and every broken credential that Meet
 * lets fall through to the next backend (bad signature, alg, garbage, no
 * exp): nothing authenticates, the same 401. */
static void test_requires_authentication(void **state)
{
	char *bad_sig = sign(claims(app_id, owner, ALL_SCOPES), "another-key");
	char *good = token_for(owner, ALL_SCOPES);
	char *alg_none;
	json_t *c = claims(app_id, owner, ALL_SCOPES);
	char *payload, *dot;

	expect(on, "GET", ROOMS, NULL, NULL, 401, NOT_PROVIDED);
	expect(on, "GET", ROOMS, bad_sig, NULL, 401, NOT_PROVIDED);
	expect(on, "GET", ROOMS, "garbage", NULL, 401, NOT_PROVIDED);
	/* ..._token_invalid_alg: the same payload under alg none, unsigned */
	dot = strchr(good, '.');
	payload = strndup(dot + 1, strcspn(dot + 1, "."));
	alg_none = vct_strf("eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.%s.", payload);
	expect(on, "GET", ROOMS, alg_none, NULL, 401, NOT_PROVIDED);
	/* no exp */
	json_object_del(c, "exp");
	free(bad_sig);
	bad_sig = sign(c, VCM_SECRET);
	expect(on, "GET", ROOMS, bad_sig, NULL, 401, NOT_PROVIDED);
	/* Basic is no opinion either; "Bearer" alone is a broken header */
	{
		vct_resp_t r;
		vct_http(on->port, "GET", ROOMS, "Authorization: Basic YTpi\r\n", NULL, &r);
		vct_expect_json(&r, 401, NOT_PROVIDED);
		vct_resp_free(&r);
		vct_http(on->port, "GET", ROOMS, "Authorization: Bearer\r\n", NULL, &r);
		vct_expect_json(&r, 401, "{\"detail\":\"Invalid token header.\"}");
		vct_resp_free(&r);
	}
	free(alg_none);
	free(payload);
	free(good);
	free(bad_sig);
	vct_pass();
}

/* ..._list_with_expired_token, ..._invalid_audience, a wrong issuer. */
static void test_token_expired_or_foreign(void **state)
{
	json_t *c = claims(app_id, owner, ALL_SCOPES);
	char *t;

	json_object_set_new(c, "exp", json_integer(vcm_now() - 3600));
	t = sign(c, VCM_SECRET);
	expect(on, "GET", ROOMS, t, NULL, 401, "{\"detail\":\"Token expired.\"}");
	free(t);
	c = claims(app_id, owner, ALL_SCOPES);
	json_object_set_new(c, "aud", json_string("someone-else"));
	t = sign(c, VCM_SECRET);
	expect(on, "GET", ROOMS, t, NULL, 401, "{\"detail\":\"Invalid token.\"}");
	free(t);
	c = claims(app_id, owner, ALL_SCOPES);
	json_object_set_new(c, "iss", json_string("videocall-meeting-backend"));
	t = sign(c, VCM_SECRET);
	expect(on, "GET", ROOMS, t, NULL, 401, "{\"detail\":\"Invalid token.\"}");
	free(t);
	vct_pass();
}

/* ..._token_missing_client_id / _missing_user_id / _unknown_user /
 * _unknown_application / _inactive_application / _without_delegated_flag,
 * ..._list_inactive_user. */
static void test_token_claims(void **state)
{
	static const char *const unknown_user = "00000000-0000-4000-8000-000000000000";
	json_t *c;
	char *t;

	t = sign(claims(NULL, owner, ALL_SCOPES), VCM_SECRET);
	expect(on, "GET", ROOMS, t, NULL, 401, "{\"detail\":\"Invalid token claims.\"}");
	free(t);
	t = sign(claims(app_id, NULL, ALL_SCOPES), VCM_SECRET);
	expect(on, "GET", ROOMS, t, NULL, 401, "{\"detail\":\"Invalid token claims.\"}");
	free(t);
	t = token_for(unknown_user, ALL_SCOPES);
	expect(on, "GET", ROOMS, t, NULL, 401, "{\"detail\":\"User not found.\"}");
	free(t);
	t = token_for("not-a-uuid", ALL_SCOPES);
	expect(on, "GET", ROOMS, t, NULL, 401, "{\"detail\":\"User not found.\"}");
	free(t);
	t = token_for(disabled, ALL_SCOPES);
	expect(on, "GET", ROOMS, t, NULL, 401, "{\"detail\":\"User account is disabled.\"}");
	free(t);
	t = sign(claims("NoSuchApplication0000000000000000000000", owner, ALL_SCOPES), VCM_SECRET);
	expect(on, "GET", ROOMS, t, NULL, 401, "{\"detail\":\"Application not found.\"}");
	free(t);
	t = sign(claims(inactive_app, owner, ALL_SCOPES), VCM_SECRET);
	expect(on, "GET", ROOMS, t, NULL, 401, "{\"detail\":\"Application is disabled.\"}");
	free(t);
	c = claims(app_id, owner, ALL_SCOPES);
	json_object_del(c, "delegated");
	t = sign(c, VCM_SECRET);
	expect(on, "GET", ROOMS, t, NULL, 401, "{\"detail\":\"Invalid token type.\"}");
	free(t);
	c = claims(app_id, owner, ALL_SCOPES);
	json_object_set_new(c, "delegated", json_string("true"));
	t = sign(c, VCM_SECRET);
	expect(on, "GET", ROOMS, t, NULL, 401, "{\"detail\":\"Invalid token type.\"}");
	free(t);
	vct_pass();
}

/* ..._list_with_application_disabled: applications off, application
 * tokens are not accepted (401); external API off: the router's 404. */
static void test_switches(void **state)
{
	char *t = token_for(owner, ALL_SCOPES);
	vct_resp_t r1, r2;

	expect(half, "GET", ROOMS, t, NULL, 401, NOT_PROVIDED);
	expect(half, "POST", ROOMS, t, "{}", 401, NOT_PROVIDED);
	xcall(off, "GET", ROOMS, t, NULL, &r1);
	vct_http(off->port, "GET", "/no/such/path", NULL, NULL, &r2);
	assert_int_equal(r1.status, 404);
	assert_int_equal(r2.status, 404);
	assert_string_equal(r1.body ? r1.body : "", r2.body ? r2.body : "");
	vct_resp_free(&r1);
	vct_resp_free(&r2);
	free(t);
	vct_pass();
}

/* A token from the real endpoint works (the claims vcd signs are the ones
 * it checks). */
static void test_real_token(void **state)
{
	char *body = vct_strf("client_id=%s&client_secret=%s&grant_type=client_credentials"
	                      "&scope=owner%%40rooms.example",
	                      app_id, app_secret);
	vct_resp_t r;
	json_t *j, *l;

	vct_http(on->port, "POST", "/external-api/v1.0/application/token/",
	         "Content-Type: application/x-www-form-urlencoded\r\n", body, &r);
	j = vct_resp_json(&r);
	assert_int_equal(r.status, 200);
	l = xjson("GET", ROOMS, vct_json_str(j, "access_token"), NULL, 200);
	assert_true(json_is_integer(json_object_get(l, "count")));
	json_decref(l);
	json_decref(j);
	vct_resp_free(&r);
	free(body);
	vct_pass();
}

/* --- scopes (§A.5) ------------------------------------------------------------ */

/* ..._list_missing_scope / _no_scope, ..._retrieve_requires_scope /
 * _no_scope, update and delete; ..._token_scope_case_insensitive. */
static void test_scopes(void **state)
{
	static const struct {
		const char *method, *path, *scope;
	} rows[] = {
		{ "GET", ROOMS, "rooms:list" },
		{ "POST", ROOMS, "rooms:create" },
		{ "GET", ROOMS "%s/", "rooms:retrieve" },
		{ "PATCH", ROOMS "%s/", "rooms:update" },
		{ "PUT", ROOMS "%s/", "rooms:update" },
		{ "DELETE", ROOMS "%s/", "rooms:delete" },
	};
	json_t *room = xcreate(owner, NULL);
	char *none = token_for(owner, NULL), *empty = token_for(owner, " ");
	char *others = token_for(owner, "rooms:other"), *upper, *path, *want;

	for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
		path = vct_strf(rows[i].path, vct_json_str(room, "id"));
		want = vct_strf("{\"detail\":\"Insufficient permissions. Required scope: %s\"}",
		                rows[i].scope);
		expect(on, rows[i].method, path, none, "{}", 403,
		       "{\"detail\":\"Insufficient permissions.\"}");
		expect(on, rows[i].method, path, empty, "{}", 403,
		       "{\"detail\":\"Insufficient permissions.\"}");
		expect(on, rows[i].method, path, others, "{}", 403, want);
		free(path);
		free(want);
	}
	upper = token_for(owner, "ROOMS:LIST Rooms:List");
	json_decref(xjson("GET", ROOMS, upper, NULL, 200));
	free(upper);
	free(none);
	free(empty);
	free(others);
	json_decref(room);
	vct_pass();
}

static char *new_app(const char *name);

/* vcd: `vcctl apps scopes set` applies to tokens already issued — a scope
 * the operator withdrew is refused at once, one given back works again. */
static void test_scopes_follow_the_application(void **state)
{
	char *app = new_app("Shrinking");
	char *tok = sign(claims(app, owner, "rooms:list rooms:create"), VCM_SECRET);

	json_decref(xjson("GET", ROOMS, tok, NULL, 200));
	json_decref(vct_vcctl_json(on, (const char *const[]){ "apps", "scopes", "set", app,
	                                                      "rooms:create", NULL }));
	expect(on, "GET", ROOMS, tok, NULL, 403,
	       "{\"detail\":\"Insufficient permissions. Required scope: rooms:list\"}");
	json_decref(vct_vcctl_json(on, (const char *const[]){ "apps", "scopes", "set", app,
	                                                      "rooms:list", NULL }));
	json_decref(xjson("GET", ROOMS, tok, NULL, 200));
	free(tok);
	free(app);
	vct_pass();
}

/* --- list ------------------------------------------------------------------------ */

static bool has_id(const json_t *results, const char *id)
{
	size_t i;
	json_t *v;

	json_array_foreach(results, i, v)
	{
		if (strcmp(vct_json_str(v, "id"), id) == 0)
			return true;
	}
	return false;
}

/* ..._list_with_no_rooms, ..._list_filters_by_user (owner and member rooms,
 * not a foreign one, not a deleted one), ..._list_access_level_in_results,
 * ..._list_expected_fields, ..._list_does_not_expose_sensitive_fields. */
static void test_list(void **state)
{
	char *t = token_for(member, "rooms:list");
	json_t *l = xjson("GET", ROOMS, t, NULL, 200), *mine, *theirs, *foreign, *gone, *r;
	char *path;

	assert_int_equal(json_integer_value(json_object_get(l, "count")), 0);
	assert_true(json_is_null(json_object_get(l, "next")));
	assert_true(json_is_null(json_object_get(l, "previous")));
	assert_int_equal(json_array_size(json_object_get(l, "results")), 0);
	json_decref(l);

	mine = xcreate(member, "{\"access_level\":\"restricted\"}");
	theirs = xcreate(owner, NULL);
	set_role(owner, vct_json_str(theirs, "slug"), member, "member");
	foreign = xcreate(owner, NULL);
	gone = xcreate(member, NULL);
	path = room_path(vct_json_str(gone, "id"));
	free(t);
	t = token_for(member, ALL_SCOPES);
	json_decref(xjson("DELETE", path, t, NULL, 204));
	free(path);

	l = xjson("GET", ROOMS, t, NULL, 200);
	assert_int_equal(json_integer_value(json_object_get(l, "count")), 2);
	r = json_object_get(l, "results");
	assert_true(has_id(r, vct_json_str(mine, "id")));
	assert_true(has_id(r, vct_json_str(theirs, "id")));
	assert_false(has_id(r, vct_json_str(foreign, "id")));
	assert_false(has_id(r, vct_json_str(gone, "id")));
	/* ordered by name; each exactly the room's fields */
	assert_true(strcmp(vct_json_str(json_array_get(r, 0), "name"),
	                   vct_json_str(json_array_get(r, 1), "name")) < 0);
	for (size_t i = 0; i < 2; i++) {
		json_t *e = json_array_get(r, i);
		const char *want = strcmp(vct_json_str(e, "id"), vct_json_str(mine, "id")) == 0
		                           ? "restricted"
		                           : "trusted";

		vcm_shape(e, "id:s name:s slug:s access_level:s configuration:o url:s", "room");
		assert_string_equal(vct_json_str(e, "access_level"), want);
	}
	json_decref(l);
	json_decref(mine);
	json_decref(theirs);
	json_decref(foreign);
	json_decref(gone);
	free(t);
	vct_pass();
}

/* DRF's PageNumberPagination: 20 a page, absolute next/previous from the
 * Host header, 404 "Invalid page." past the end or for a non-number. */
static void test_list_pages(void **state)
{
	char *t = token_for(stranger, ALL_SCOPES), *h, *base, *url;
	json_t *l;
	vct_resp_t r;

	for (int i = 0; i < 21; i++)
		json_decref(xcreate(stranger, NULL));
	/* vct_http sends Host: 127.0.0.1:<port> */
	base = vct_strf("http://127.0.0.1:%d" ROOMS, on->port);
	h = vct_strf("Authorization: Bearer %s\r\n", t);
	vct_http(on->port, "GET", ROOMS, h, NULL, &r);
	l = vct_resp_json(&r);
	assert_int_equal(r.status, 200);
	assert_int_equal(json_integer_value(json_object_get(l, "count")), 21);
	assert_int_equal(json_array_size(json_object_get(l, "results")), 20);
	url = vct_strf("%s?page=2", base);
	assert_string_equal(vct_json_str(l, "next"), url);
	free(url);
	assert_true(json_is_null(json_object_get(l, "previous")));
	json_decref(l);
	vct_resp_free(&r);
	vct_http(on->port, "GET", ROOMS "?page=2", h, NULL, &r);
	l = vct_resp_json(&r);
	assert_int_equal(r.status, 200);
	assert_int_equal(json_array_size(json_object_get(l, "results")), 1);
	assert_true(json_is_null(json_object_get(l, "next")));
	assert_string_equal(vct_json_str(l, "previous"), base);
	json_decref(l);
	vct_resp_free(&r);
	expect(on, "GET", ROOMS "?page=3", t, NULL, 404, "{\"detail\":\"Invalid page.\"}");
	expect(on, "GET", ROOMS "?page=0", t, NULL, 404, "{\"detail\":\"Invalid page.\"}");
	expect(on, "GET", ROOMS "?page=x", t, NULL, 404, "{\"detail\":\"Invalid page.\"}");
	expect(on, "GET", ROOMS "?page=-1", t, NULL, 404, "{\"detail\":\"Invalid page.\"}");
	l = xjson("GET", ROOMS "?page=", t, NULL, 200); /* empty: page 1, as DRF */
	assert_int_equal(json_array_size(json_object_get(l, "results")), 20);
	json_decref(l);
	free(base);
	free(h);
	free(t);
	vct_pass();
}

/* --- create ----------------------------------------------------------------------- */

static void assert_slug(const char *s)
{
	regex_t re;

	assert_int_equal(regcomp(&re, "^[a-z]{3}-[a-z]{4}-[a-z]{3}$", REG_EXTENDED | REG_NOSUB), 0);
	if (regexec(&re, s, 0, NULL, 0) != 0)
		fail_msg("slug '%s' is not abc-defg-hij", s);
	regfree(&re);
}

/* ..._create_success: 201, name == slug, the caller owns it, trusted, {},
 * the application recorded; ..._create_readonly_enforcement. */
static void test_create(void **state)
{
	json_t *j = xcreate(owner, "{\"id\":\"11111111-1111-4111-8111-111111111111\","
	                           "\"slug\":\"chosen\",\"name\":\"Chosen\",\"telephony\":{}}");
	char *url, *v;

	vcm_shape(j, "id:s name:s slug:s access_level:s configuration:o url:s", "created room");
	assert_string_not_equal(vct_json_str(j, "id"), "11111111-1111-4111-8111-111111111111");
	assert_string_equal(vct_json_str(j, "name"), vct_json_str(j, "slug"));
	assert_slug(vct_json_str(j, "slug"));
	assert_string_equal(vct_json_str(j, "access_level"), "trusted");
	assert_int_equal(json_object_size(json_object_get(j, "configuration")), 0);
	url = vct_strf(BASE_URL "/%s", vct_json_str(j, "slug"));
	assert_string_equal(vct_json_str(j, "url"), url);
	v = vct_db_valuef(db_url,
	                  "SELECT m.creator_id || ' ' || m.room_id || ' ' || a.client_id"
	                  " FROM meetings m JOIN applications a ON a.id = m.application_id"
	                  " WHERE m.external_id = '%s' AND m.deleted_at IS NULL",
	                  vct_json_str(j, "id"));
	free(url);
	url = vct_strf("%s %s %s", owner, vct_json_str(j, "slug"), app_id);
	assert_non_null(v);
	assert_string_equal(v, url);
	assert_true(vct_vcd_log_has(on, "room created via application"));
	free(v);
	free(url);
	json_decref(j);
	vct_pass();
}

/* ..._create_with_configuration_success; ..._create_rejects_invalid_
 * configuration / _values; ..._create_public_access_disabled_by_default. */
static void test_create_checks(void **state)
{
	static const char *const bad[] = {
		"{\"configuration\":{\"unknown\":1}}",
		"{\"configuration\":{\"can_publish_sources\":[\"camera\",\"hologram\"]}}",
		"{\"configuration\":{\"can_publish_sources\":\"camera\"}}",
		"{\"configuration\":{\"everyone_can_mute\":\"yes\"}}",
		"{\"configuration\":[]}",
	};
	char *t = token_for(owner, ALL_SCOPES);
	json_t *j = xcreate(owner, "{\"access_level\":\"restricted\","
	                           "\"configuration\":{\"can_publish_sources\":[\"camera\"]}}");

	json_t *want = json_pack("{s:[s]}", "can_publish_sources", "camera");

	assert_string_equal(vct_json_str(j, "access_level"), "restricted");
	assert_true(json_equal(json_object_get(j, "configuration"), want));
	json_decref(want);
	json_decref(j);
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		j = xjson("POST", ROOMS, t, bad[i], 400);
		assert_non_null(json_object_get(j, "configuration"));
		json_decref(j);
	}
	j = xjson("POST", ROOMS, t, "{\"access_level\":\"open\"}", 400);
	assert_non_null(json_object_get(j, "access_level"));
	json_decref(j);
	expect(on, "POST", ROOMS, t, "{\"access_level\":\"public\"}", 400,
	       "{\"access_level\":[\"Public rooms are disabled for the external API.\"]}");
	free(t);
	vct_pass();
}

static void reload(const char *more)
{
	char *conf = vct_strf(VCM_CONF ON_CONF "%s", more);
	json_t *o;

	vct_vcd_write_conf(on, conf);
	o = vct_vcctl_json(on, (const char *const[]){ "config", "reload", NULL });
	json_decref(o);
	free(conf);
}

/* ..._create_public_access_enabled_with_settings, ..._default_access_level_
 * respects_settings, ..._public_access_level_when_default_is_public,
 * ..._list_expected_fields_missing_base_url. */
static void test_create_settings(void **state)
{
	char *t = token_for(owner, ALL_SCOPES);
	json_t *j;

	reload("external_api_allow_public = true\n");
	j = xjson("POST", ROOMS, t, "{\"access_level\":\"public\"}", 201);
	assert_string_equal(vct_json_str(j, "access_level"), "public");
	json_decref(j);
	reload("external_api_default_access_level = restricted\n");
	j = xjson("POST", ROOMS, t, "{}", 201);
	assert_string_equal(vct_json_str(j, "access_level"), "restricted");
	json_decref(j);
	reload("external_api_default_access_level = public\n");
	j = xjson("POST", ROOMS, t, NULL, 201);
	assert_string_equal(vct_json_str(j, "access_level"), "public");
	json_decref(j);
	j = xjson("POST", ROOMS, t, "{\"access_level\":\"public\"}", 201);
	json_decref(j);
	reload("external_api_base_url =\n");
	j = xjson("POST", ROOMS, t, NULL, 201);
	vcm_shape(j, "id:s name:s slug:s access_level:s configuration:o", "room without url");
	json_decref(j);
	reload("");
	free(t);
	vct_pass();
}

/* --- retrieve -------------------------------------------------------------------- */

/* ..._retrieve_success (exact body), ..._retrieve_success_by_user (owner,
 * member, administrator 200; foreign 403), ..._retrieve_not_found. */
static void test_retrieve(void **state)
{
	json_t *room = xcreate(owner, NULL);
	char *path = room_path(vct_json_str(room, "id"));
	const char *const who[] = { owner, admin, member };
	char *want = json_dumps(room, JSON_COMPACT), *t;

	set_role(owner, vct_json_str(room, "slug"), admin, "administrator");
	set_role(owner, vct_json_str(room, "slug"), member, "member");
	for (size_t i = 0; i < ARRAY_LEN(who); i++) {
		t = token_for(who[i], "rooms:retrieve");
		expect(on, "GET", path, t, NULL, 200, want);
		free(t);
	}
	t = token_for(stranger, "rooms:retrieve");
	expect(on, "GET", path, t, NULL, 403, NO_PERMISSION);
	expect(on, "GET", ROOMS "00000000-0000-4000-8000-000000000000/", t, NULL, 404,
	       "{\"detail\":\"Not found.\"}");
	expect(on, "GET", ROOMS "not-a-uuid/", t, NULL, 404, "{\"detail\":\"Not found.\"}");
	/* a known path with an unknown method */
	{
		vct_resp_t r;
		assert_int_equal(xcall(on, "POST", path, t, "{}", &r), 405);
		vct_resp_free(&r);
	}
	free(t);
	free(want);
	free(path);
	json_decref(room);
	vct_pass();
}

/* --- update and delete (vcd: Meet has neither yet) ------------------------------ */

static void test_update(void **state)
{
	json_t *room = xcreate(owner, NULL), *j;
	char *path = room_path(vct_json_str(room, "id"));
	char *to = token_for(owner, ALL_SCOPES), *ta = token_for(admin, ALL_SCOPES);
	char *tm = token_for(member, ALL_SCOPES), *v;

	set_role(owner, vct_json_str(room, "slug"), admin, "administrator");
	set_role(owner, vct_json_str(room, "slug"), member, "member");
	expect(on, "PATCH", path, tm, "{\"access_level\":\"restricted\"}", 403, NO_PERMISSION);
	j = xjson("PATCH", path, ta,
	          "{\"access_level\":\"restricted\",\"name\":\"ignored\","
	          "\"configuration\":{\"everyone_can_mute\":true}}",
	          200);
	assert_string_equal(vct_json_str(j, "access_level"), "restricted");
	assert_string_equal(vct_json_str(j, "name"), vct_json_str(room, "name"));
	assert_string_equal(vct_json_str(j, "id"), vct_json_str(room, "id"));
	assert_true(json_is_true(
	        json_object_get(json_object_get(j, "configuration"), "everyone_can_mute")));
	json_decref(j);
	v = vct_db_valuef(db_url,
	                  "SELECT access_level || ' ' || configuration::text FROM meetings"
	                  " WHERE external_id = '%s'",
	                  vct_json_str(room, "id"));
	assert_string_equal(v, "restricted {\"everyone_can_mute\": true}");
	free(v);
	j = xjson("PUT", path, to, "{\"access_level\":\"trusted\"}", 200);
	assert_string_equal(vct_json_str(j, "access_level"), "trusted");
	json_decref(j);
	expect(on, "PATCH", path, to, "{\"access_level\":\"public\"}", 400,
	       "{\"access_level\":[\"Public rooms are disabled for the external API.\"]}");
	j = xjson("PATCH", path, to, "{\"configuration\":{\"x\":1}}", 400);
	json_decref(j);
	free(to);
	free(ta);
	free(tm);
	free(path);
	json_decref(room);
	vct_pass();
}

/* Delete: the owner only; the meeting is soft-deleted and ends for its
 * participants as DELETE /api/v1/meetings/{id} makes it. */
static void test_delete(void **state)
{
	json_t *room = xcreate(owner, NULL), *j;
	const char *slug = vct_json_str(room, "slug");
	char *path = room_path(vct_json_str(room, "id"));
	char *to = token_for(owner, ALL_SCOPES), *ta = token_for(admin, ALL_SCOPES), *v;

	set_role(owner, slug, admin, "administrator");
	j = vcm_ok(owner, "POST", slug, "join", "{}", 200);
	json_decref(j);
	expect(on, "DELETE", path, ta, NULL, 403, NO_PERMISSION);
	json_decref(xjson("DELETE", path, to, NULL, 204));
	v = vct_db_valuef(db_url, "SELECT deleted_at IS NOT NULL FROM meetings"
	                          " WHERE external_id = '%s'",
	                  vct_json_str(room, "id"));
	assert_string_equal(v, "t");
	free(v);
	expect(on, "GET", path, to, NULL, 404, "{\"detail\":\"Not found.\"}");
	expect(on, "DELETE", path, to, NULL, 404, "{\"detail\":\"Not found.\"}");
	vcm_fail(owner, "GET", slug, "status", NULL, 404, "MEETING_NOT_FOUND", NULL);
	free(to);
	free(ta);
	free(path);
	json_decref(room);
	vct_pass();
}

/* --- the meeting API: fields, roles, access levels, grants -------------------- */

/* POST and PATCH /api/v1/meetings take access_level, configuration and
 * embed_provider; answers show them only when set; bad values are 422. */
static void test_meeting_fields(void **state)
{
	json_t *j = vcm_ok_at(owner, "POST", "/api/v1/meetings",
	                      "{\"meeting_id\":\"xr-fields\",\"access_level\":\"restricted\","
	                      "\"configuration\":{\"can_publish_sources\":[\"microphone\"]},"
	                      "\"embed_provider\":\"rocketchat\"}",
	                      201);

	assert_string_equal(vct_json_str(j, "access_level"), "restricted");
	assert_string_equal(vct_json_str(j, "embed_provider"), "rocketchat");
	assert_non_null(json_object_get(j, "configuration"));
	json_decref(j);
	j = vcm_ok(owner, "PATCH", "xr-fields", NULL,
	           "{\"access_level\":null,\"configuration\":null,\"embed_provider\":null}", 200);
	assert_null(json_object_get(j, "access_level"));
	assert_null(json_object_get(j, "configuration"));
	assert_null(json_object_get(j, "embed_provider"));
	json_decref(j);
	j = vcm_ok(owner, "PATCH", "xr-fields", NULL, "{\"access_level\":\"public\"}", 200);
	assert_string_equal(vct_json_str(j, "access_level"), "public");
	json_decref(j);
	j = vcm_ok(owner, "GET", "xr-fields", NULL, NULL, 200);
	assert_string_equal(vct_json_str(j, "access_level"), "public");
	json_decref(j);
	vcm_status(owner, "PATCH", "/api/v1/meetings/xr-fields", JSON,
	           "{\"access_level\":\"open\"}", 422);
	vcm_status(owner, "PATCH", "/api/v1/meetings/xr-fields", JSON,
	           "{\"configuration\":{\"extra\":true}}", 422);
	vcm_status(owner, "PATCH", "/api/v1/meetings/xr-fields", JSON,
	           "{\"embed_provider\":\"Not Valid\"}", 422);
	vct_pass();
}

/* The roles routes: the owner sets, lists and removes; anyone else 403;
 * an unknown meeting 404; a bad role 422; the owner has no role row. */
static void test_roles_routes(void **state)
{
	json_t *j;
	char *path = vct_strf("/api/v1/meetings/xr-roles/roles/%s", member);

	vcm_new_room(owner, "xr-roles", NULL);
	j = vcm_ok_at(owner, "PUT", path, "{\"role\":\"member\"}", 200);
	assert_string_equal(vct_json_str(j, "role"), "member");
	json_decref(j);
	j = vcm_ok_at(owner, "PUT", path, "{\"role\":\"administrator\"}", 200);
	json_decref(j);
	j = vcm_ok_at(owner, "GET", "/api/v1/meetings/xr-roles/roles", NULL, 200);
	assert_int_equal(json_array_size(json_object_get(j, "roles")), 1);
	assert_string_equal(vct_json_str(json_array_get(json_object_get(j, "roles"), 0), "role"),
	                    "administrator");
	json_decref(j);
	vcm_fail_at(member, "PUT", path, "{\"role\":\"member\"}", 403, "NOT_OWNER", VCM_NOT_OWNER);
	vcm_fail_at(member, "GET", "/api/v1/meetings/xr-roles/roles", NULL, 403, "NOT_OWNER",
	            VCM_NOT_OWNER);
	vcm_fail_at(owner, "GET", "/api/v1/meetings/xr-nothing/roles", NULL, 404,
	            "MEETING_NOT_FOUND", NULL);
	vcm_status(owner, "PUT", path, JSON, "{\"role\":\"owner\"}", 422);
	free(path);
	path = vct_strf("/api/v1/meetings/xr-roles/roles/%s", owner);
	vcm_fail_at(owner, "PUT", path, "{\"role\":\"member\"}", 400, "OWNER_ROLE", NULL);
	free(path);
	path = vct_strf("/api/v1/meetings/xr-roles/roles/%s", member);
	j = vcm_ok_at(owner, "DELETE", path, NULL, 200);
	json_decref(j);
	vcm_fail_at(owner, "DELETE", path, NULL, 404, "ROLE_NOT_FOUND", NULL);
	free(path);
	vct_pass();
}


/* vcctl meetings roles / roles set / roles remove: the operator manages a
 * meeting's roles whoever owns it; they decide the join like the owner's
 * own PUT does; the owner takes no role. */
static void test_roles_by_operator(void **state)
{
	json_t *j;
	vct_cmd_t c;

	vcm_new_room(owner, "xr-oproles",
	             ",\"waiting_room_enabled\":true,\"access_level\":\"restricted\"");
	json_decref(vcm_ok(owner, "POST", "xr-oproles", "join", "{}", 200));
	j = vct_vcctl_json(on, (const char *const[]){ "meetings", "roles", "set", "xr-oproles",
	                                              member, "member", NULL });
	assert_string_equal(vct_json_str(j, "role"), "member");
	assert_true(vct_json_bool(j, "set"));
	json_decref(j);
	j = vct_vcctl_json(on, (const char *const[]){ "meetings", "roles", "xr-oproles", NULL });
	assert_string_equal(vct_json_str(j, "owner"), owner);
	assert_int_equal(json_array_size(json_object_get(j, "roles")), 1);
	assert_string_equal(vct_json_str(json_array_get(json_object_get(j, "roles"), 0), "user_id"),
	                    member);
	json_decref(j);
	/* the role the operator gave lets the member skip the waiting room */
	j = vcm_ok(member, "POST", "xr-oproles", "join", "{}", 200);
	assert_string_equal(vct_json_str(j, "status"), "admitted");
	json_decref(j);
	j = vct_vcctl_json(on, (const char *const[]){ "meetings", "roles", "remove", "xr-oproles",
	                                              member, NULL });
	assert_string_equal(vct_json_str(j, "role"), "member");
	assert_true(vct_json_bool(j, "removed"));
	json_decref(j);
	/* refusals: the owner, a role it does not know, no role, no meeting */
	vct_vcctl(&c, on, false, (const char *const[]){ "meetings", "roles", "set", "xr-oproles",
	                                                owner, "member", NULL });
	vct_expect_exit(&c, 1);
	vct_cmd_free(&c);
	vct_vcctl(&c, on, false, (const char *const[]){ "meetings", "roles", "set", "xr-oproles",
	                                                member, "owner", NULL });
	vct_expect_exit(&c, 1);
	vct_cmd_free(&c);
	vct_vcctl(&c, on, false, (const char *const[]){ "meetings", "roles", "remove",
	                                                "xr-oproles", member, NULL });
	vct_expect_exit(&c, 1);
	vct_cmd_free(&c);
	vct_vcctl(&c, on, false,
	          (const char *const[]){ "meetings", "roles", "xr-no-such-meeting", NULL });
	vct_expect_exit(&c, 1);
	vct_cmd_free(&c);
	vct_pass();
}

/* doc/external.md's table on /join: NULL, public, trusted, restricted ×
 * owner, administrator, member, no role × waiting room on and off. */
static void test_access_level_matrix(void **state)
{
	static const struct {
		const char *level; /* NULL: not set */
		bool admin_in, member_in, none_in; /* with the waiting room on */
	} rows[] = {
		{ NULL, false, false, false },
		{ "public", true, true, true },
		{ "trusted", true, true, true },
		{ "restricted", true, true, false },
	};

	for (size_t i = 0; i < ARRAY_LEN(rows); i++)
		for (int wr = 0; wr < 2; wr++) {
			char room[40], *body;
			const char *users[3] = { admin, member, stranger };
			bool in[3] = { rows[i].admin_in, rows[i].member_in, rows[i].none_in };
			json_t *j;

			snprintf(room, sizeof(room), "xr-m-%zu-%d", i, wr);
			body = vct_strf("{\"meeting_id\":\"%s\",\"waiting_room_enabled\":%s%s%s%s}",
			                room, wr ? "true" : "false",
			                rows[i].level ? ",\"access_level\":\"" : "",
			                rows[i].level ? rows[i].level : "", rows[i].level ? "\"" : "");
			json_decref(vcm_ok_at(owner, "POST", "/api/v1/meetings", body, 201));
			free(body);
			set_role(owner, room, admin, "administrator");
			set_role(owner, room, member, "member");
			j = vcm_ok(owner, "POST", room, "join", "{}", 200);
			assert_string_equal(vct_json_str(j, "status"), "admitted");
			assert_true(vct_json_bool(j, "is_host"));
			json_decref(j);
			for (int u = 0; u < 3; u++) {
				const char *want = !wr || in[u] ? "admitted" : "waiting";

				j = vcm_ok(users[u], "POST", room, "join", "{}", 200);
				if (strcmp(vct_json_str(j, "status"), want) != 0)
					fail_msg("level %s, waiting room %d, user %d: %s, expected %s",
					         rows[i].level ? rows[i].level : "NULL", wr, u,
					         vct_json_str(j, "status"), want);
				json_decref(j);
			}
		}
	vct_pass();
}

/* A join decided on kept facts holds only while the access level is the one
 * it saw: a level changed behind the meeting actor's back (another node, or
 * here SQL) makes the write match nothing, and the join decides again on a
 * fresh read. Without the condition the second caller would wait. */
static void test_level_change_behind_kept_facts(void **state)
{
	json_t *j;
	char *v;

	vcm_new_room(owner, "xr-stale", NULL); /* waiting room on, no level */
	json_decref(vcm_ok(owner, "POST", "xr-stale", "join", "{}", 200));
	j = vcm_ok("early@example.com", "POST", "xr-stale", "join", "{}", 200);
	assert_string_equal(vct_json_str(j, "status"), "waiting");
	json_decref(j);
	v = vct_db_valuef(db_url, "UPDATE meetings SET access_level = 'public'"
	                          " WHERE room_id = 'xr-stale' AND deleted_at IS NULL RETURNING 1");
	assert_string_equal(v, "1");
	free(v);
	j = vcm_ok("late@example.com", "POST", "xr-stale", "join", "{}", 200);
	assert_string_equal(vct_json_str(j, "status"), "admitted");
	json_decref(j);
	/* and back: restricted, no role, waits again */
	v = vct_db_valuef(db_url, "UPDATE meetings SET access_level = 'restricted'"
	                          " WHERE room_id = 'xr-stale' AND deleted_at IS NULL RETURNING 1");
	free(v);
	j = vcm_ok("later@example.com", "POST", "xr-stale", "join", "{}", 200);
	assert_string_equal(vct_json_str(j, "status"), "waiting");
	json_decref(j);
	vct_pass();
}

/* The external API's update goes through the meeting actor: the next join
 * follows the new level. */
static void test_update_then_join(void **state)
{
	json_t *room = xcreate(owner, "{\"access_level\":\"restricted\"}"), *j;
	char *path = room_path(vct_json_str(room, "id"));
	char *t = token_for(owner, ALL_SCOPES);
	const char *slug = vct_json_str(room, "slug");

	json_decref(vcm_ok(owner, "POST", slug, "join", "{}", 200));
	j = vcm_ok("guest1@example.com", "POST", slug, "join", "{}", 200);
	assert_string_equal(vct_json_str(j, "status"), "waiting");
	json_decref(j);
	json_decref(xjson("PATCH", path, t, "{\"access_level\":\"trusted\"}", 200));
	j = vcm_ok("guest2@example.com", "POST", slug, "join", "{}", 200);
	assert_string_equal(vct_json_str(j, "status"), "admitted");
	json_decref(j);
	free(t);
	free(path);
	json_decref(room);
	vct_pass();
}

/* The claims of a room token in a join's answer. */
static json_t *token_claims(const json_t *joined)
{
	json_t *c = NULL;

	assert_int_equal(vc_jwt_verify(vct_json_str(joined, "room_token"),
	                               (const uint8_t *)VCM_SECRET, strlen(VCM_SECRET),
	                               VC_JWT_ISSUER, vcm_now(), &c),
	                 VC_JWT_OK);
	return c;
}

static void assert_sources(const json_t *c, const char *want)
{
	char *got = json_dumps(json_object_get(c, "can_publish_sources"), JSON_COMPACT);

	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

#define ALL "[\"camera\",\"microphone\",\"screen_share\",\"screen_share_audio\"]"

/* doc/external.md's grants: owner and administrator all sources and
 * room_admin; a member and a caller without role the configured sources;
 * embed_provider only when the meeting enables one. */
static void test_token_grants(void **state)
{
	json_t *j, *c;

	json_decref(vcm_ok_at(owner, "POST", "/api/v1/meetings",
	                      "{\"meeting_id\":\"xr-grants\",\"waiting_room_enabled\":false,"
	                      "\"configuration\":{\"can_publish_sources\":[\"camera\"]},"
	                      "\"embed_provider\":\"rocketchat\"}",
	                      201));
	set_role(owner, "xr-grants", admin, "administrator");
	set_role(owner, "xr-grants", member, "member");
	j = vcm_ok(owner, "POST", "xr-grants", "join", "{}", 200);
	c = token_claims(j);
	assert_string_equal(vct_json_str(c, "room_role"), "owner");
	assert_true(vct_json_bool(c, "room_admin") && vct_json_bool(c, "can_publish"));
	assert_sources(c, ALL);
	assert_string_equal(vct_json_str(c, "embed_provider"), "rocketchat");
	json_decref(c);
	json_decref(j);
	j = vcm_ok(admin, "POST", "xr-grants", "join", "{}", 200);
	c = token_claims(j);
	assert_string_equal(vct_json_str(c, "room_role"), "administrator");
	assert_true(vct_json_bool(c, "room_admin"));
	assert_sources(c, ALL);
	json_decref(c);
	json_decref(j);
	j = vcm_ok(member, "POST", "xr-grants", "join", "{}", 200);
	c = token_claims(j);
	assert_string_equal(vct_json_str(c, "room_role"), "member");
	assert_false(vct_json_bool(c, "room_admin"));
	assert_sources(c, "[\"camera\"]");
	json_decref(c);
	json_decref(j);
	j = vcm_ok(stranger, "POST", "xr-grants", "join", "{}", 200);
	c = token_claims(j);
	assert_null(json_object_get(c, "room_role"));
	assert_sources(c, "[\"camera\"]");
	json_decref(c);
	json_decref(j);
	/* the configuration changes: the next token (GET /status) follows it */
	json_decref(vcm_ok(owner, "PATCH", "xr-grants", NULL,
	                   "{\"configuration\":{\"can_publish_sources\":[]},"
	                   "\"embed_provider\":null}",
	                   200));
	j = vcm_ok(stranger, "GET", "xr-grants", "status", NULL, 200);
	c = token_claims(j);
	assert_sources(c, "[]");
	assert_false(vct_json_bool(c, "can_publish"));
	assert_null(json_object_get(c, "embed_provider"));
	json_decref(c);
	json_decref(j);
	vct_pass();
}

/* vcd: an admitted administrator admits and rejects like the host. */
static void test_administrator_moderates(void **state)
{
	json_t *j;

	vcm_new_room(owner, "xr-mod", NULL);
	set_role(owner, "xr-mod", admin, "administrator");
	json_decref(vcm_ok(owner, "POST", "xr-mod", "join", "{}", 200));
	json_decref(vcm_ok(admin, "POST", "xr-mod", "join", "{}", 200)); /* waits */
	json_decref(vcm_admit(owner, "xr-mod", admin));
	j = vcm_ok(stranger, "POST", "xr-mod", "join", "{}", 200);
	assert_string_equal(vct_json_str(j, "status"), "waiting");
	json_decref(j);
	j = vcm_ok(admin, "GET", "xr-mod", "waiting", NULL, 200);
	assert_int_equal(json_array_size(json_object_get(j, "waiting")), 1);
	json_decref(j);
	j = vcm_admit(admin, "xr-mod", stranger);
	json_decref(j);
	vct_pass();
}

/* Every use is logged with the application and the user, never a token. */
static void test_log(void **state)
{
	char *t = token_for(owner, ALL_SCOPES);
	char *log, *want;

	json_decref(xjson("GET", ROOMS, t, NULL, 200));
	want = vct_strf("rooms list by application %s for user %s", app_id, owner);
	assert_true(vct_vcd_wait_log(on, want, 5000));
	log = vct_vcd_log(on);
	assert_null(strstr(log, t));
	assert_null(strstr(log, app_secret));
	free(log);
	free(want);
	free(t);
	vct_pass();
}

/* --- setup -------------------------------------------------------------------------- */


static char *new_app(const char *name)
{
	json_t *a = vct_vcctl_json(on, (const char *const[]){
	        "apps", "create", name, "--scope", "rooms:list", "--scope", "rooms:create",
	        "--scope", "rooms:retrieve", "--scope", "rooms:update", "--scope", "rooms:delete",
	        NULL });
	char *id = strdup(vct_json_str(a, "client_id"));

	if (app_secret == NULL)
		app_secret = strdup(vct_json_str(a, "client_secret"));
	json_decref(a);
	return id;
}

static int group_setup(void **state)
{
	char *v;

	on = vcm_start("external_rooms", "xrooms_on", ON_CONF, &db_url);
	half = vct_vcd_start("xrooms_half", db_url, VCM_CONF "external_api = on\n");
	vct_vcd_keep(half);
	off = vct_vcd_start("xrooms_off", db_url, VCM_CONF);
	vct_vcd_keep(off);
	vct_register(on->port, "owner", "owner@rooms.example", owner);
	vct_register(on->port, "admin", "admin@rooms.example", admin);
	vct_register(on->port, "member", "member@rooms.example", member);
	vct_register(on->port, "stranger", "stranger@rooms.example", stranger);
	vct_register(on->port, "disabled", "disabled@rooms.example", disabled);
	v = vct_db_valuef(db_url, "UPDATE users SET disabled_at = now() WHERE id = '%s'"
	                          " RETURNING 1",
	                  disabled);
	free(v);
	app_id = new_app("Rooms");
	inactive_app = new_app("Inactive");
	json_decref(vct_vcctl_json(on,
	                           (const char *const[]){ "apps", "disable", inactive_app, NULL }));
	return 0;
}

static int group_teardown(void **state)
{
	int rc = vct_vcd_finish(half);

	rc |= vct_vcd_finish(off);
	rc |= vcm_finish(on, &db_url);
	free(app_id);
	free(app_secret);
	free(inactive_app);
	return rc;
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, vct_setup, vct_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		/* clang-format off */
		T(test_requires_authentication),
		T(test_token_expired_or_foreign),
		T(test_token_claims),
		T(test_switches),
		T(test_real_token),
		T(test_scopes),
		T(test_scopes_follow_the_application),
		T(test_list),
		T(test_list_pages),
		T(test_create),
		T(test_create_checks),
		T(test_create_settings),
		T(test_retrieve),
		T(test_update),
		T(test_delete),
		T(test_meeting_fields),
		T(test_roles_routes),
		T(test_roles_by_operator),
		T(test_access_level_matrix),
		T(test_level_change_behind_kept_facts),
		T(test_update_then_join),
		T(test_token_grants),
		T(test_administrator_moderates),
		T(test_log),
		/* clang-format on */
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
