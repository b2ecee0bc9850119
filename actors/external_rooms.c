/*
 * external_rooms.c — /external-api/v1.0/rooms/ (see external_rooms.h).
 *
 * Every request goes the same way: the application token (Authorization:
 * Bearer, HS256 with jwt_secret, iss VC_XAPI_ISSUER, aud VC_XAPI_AUDIENCE,
 * exp required) with Meet's 401 texts (§A.4); one statement that finds the
 * delegated user and the application, so a disabled user or application
 * loses access at once; the scope of the action (§A.5, 403); then the
 * action. A room is a meeting: id = meetings.external_id, name = slug =
 * meetings.room_id. Reads and the create write PostgreSQL directly; update
 * and delete are commands to the meeting's actor (actors/meetings.h), so
 * they act exactly as PATCH and DELETE /api/v1/meetings/{id} do — a delete
 * ends the meeting for its connected clients.
 *
 * With external_api_applications off no application token is accepted:
 * Meet's application backend is then disabled and nothing else
 * authenticates, so every request answers "Authentication credentials
 * were not provided." (401). Meet's addons and OIDC resource-server
 * backends have no counterpart in vcd.
 */
#include "actors/external_rooms.h"

#include <ctype.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "actors/external_api.h"
#include "actors/meeting_fsm.h"
#include "actors/meetings.h"
#include "actors/room_config.h"
#include "runtime/config.h"
#include "runtime/log.h"
#include "runtime/pg.h"
#include "wire/jwt.h"
#include "wire/urlenc.h"

#define PAGE_SIZE 20
#define PAGE_MAX 1000000
#define CREATE_ATTEMPTS 5
#define ROOMS_PATH "/external-api/v1.0/rooms/"

#define NOT_PROVIDED "Authentication credentials were not provided."
#define NO_PERMISSION "You do not have permission to perform this action."

enum action { A_LIST, A_CREATE, A_RETRIEVE, A_UPDATE, A_DELETE, A_COUNT };

/* What a room needs of its caller: any role, administrator or owner. */
enum need { N_NONE, N_ANY_ROLE, N_ADMIN, N_OWNER };

typedef struct xreq xreq_t;

static void run_list(vc_http_req_t *req);
static void run_create(vc_http_req_t *req);
static void run_on_room(vc_http_req_t *req);

/* clang-format off */
static const struct act {
	const char *name;  /* for the log */
	const char *scope; /* required (§A.5) */
	enum need need;    /* on the room (Meet's RoomPermissions) */
	bool body;         /* reads access_level and configuration */
	void (*run)(vc_http_req_t *req);
} acts[A_COUNT] = {
	[A_LIST]     = { "list",     "rooms:list",     N_NONE,     false, run_list },
	[A_CREATE]   = { "create",   "rooms:create",   N_NONE,     true,  run_create },
	[A_RETRIEVE] = { "retrieve", "rooms:retrieve", N_ANY_ROLE, false, run_on_room },
	[A_UPDATE]   = { "update",   "rooms:update",   N_ADMIN,    true,  run_on_room },
	[A_DELETE]   = { "delete",   "rooms:delete",   N_OWNER,    false, run_on_room },
};
/* clang-format on */

/* One request: who it acts for, what it asks. */
struct xreq {
	enum action action;
	json_t *claims;
	const char *client_id, *user_id; /* borrowed from claims */
	char *room_ext_id;               /* the path's {id}, the room's once found */
	char *room_id;                   /* the meeting's room id, once found */
	bool set_level;
	char *level; /* the body's access_level (set_level) */
	json_t *configuration;
	json_t *app_scopes; /* the application's scopes now (vcctl apps scopes set) */
	long page;
	int attempts;
	char slug[16];
};

static void xreq_free(void *p)
{
	xreq_t *x = p;

	json_decref(x->claims);
	free(x->room_ext_id);
	free(x->room_id);
	free(x->level);
	json_decref(x->configuration);
	json_decref(x->app_scopes);
	free(x);
}

static int st_auth, st_list, st_get, st_create;

void vc_external_rooms_init(void)
{
	/* the delegated user (NULL: none; false: disabled), the application
	 * and its scopes now */
	st_auth = vc_pg_statement(
	        "xrooms_auth",
	        "SELECT (SELECT disabled_at IS NULL FROM users WHERE id = $1::uuid),"
	        " a.active, array_to_string(a.scopes, ' ')"
	        " FROM (SELECT 1) AS one LEFT JOIN applications a ON a.client_id = $2",
	        2);
	/* the meetings the user owns or has a role on, by name */
	st_list = vc_pg_statement(
	        "xrooms_list",
	        "WITH v AS (SELECT m.id, m.external_id, m.room_id, m.access_level, m.configuration,"
	        "  m.waiting_room_enabled FROM meetings m WHERE m.deleted_at IS NULL"
	        "  AND (m.creator_id = $1 OR EXISTS (SELECT 1 FROM meeting_roles r"
	        "   WHERE r.meeting_id = m.id AND r.user_id = $1))),"
	        " t AS (SELECT count(*) AS n FROM v)"
	        " SELECT t.n, l.external_id, l.room_id, l.access_level, l.configuration::text,"
	        " l.waiting_room_enabled FROM t LEFT JOIN LATERAL (SELECT * FROM v"
	        "  ORDER BY v.room_id, v.id LIMIT $2 OFFSET $3) l ON true",
	        3);
	st_get = vc_pg_statement(
	        "xrooms_get",
	        "SELECT m.external_id, m.room_id, m.access_level, m.configuration::text,"
	        " m.waiting_room_enabled, m.creator_id = $2,"
	        " (SELECT r.role FROM meeting_roles r WHERE r.meeting_id = m.id AND r.user_id = $2)"
	        " FROM meetings m WHERE m.external_id = $1::uuid AND m.deleted_at IS NULL",
	        2);
	st_create = vc_pg_statement(
	        "xrooms_create",
	        "INSERT INTO meetings (room_id, creator_id, access_level, configuration,"
	        " application_id) VALUES ($1, $2, $3, $4::jsonb,"
	        " (SELECT id FROM applications WHERE client_id = $5))"
	        " ON CONFLICT (room_id) WHERE deleted_at IS NULL DO NOTHING"
	        " RETURNING external_id, room_id, access_level, configuration::text,"
	        " waiting_room_enabled",
	        5);
}

/* --- answers ------------------------------------------------------------ */

static void detail(vc_http_req_t *req, int status, const char *text)
{
	vc_http_respond_json(req, status, json_pack("{s:s}", "detail", text));
}

/* Every 401 names the scheme (DRF's authenticate_header). */
static void unauthorized(vc_http_req_t *req, const char *text)
{
	vc_http_add_header(req, "WWW-Authenticate", "Bearer");
	detail(req, 401, text);
}

/* A DRF field error: {"field": ["message"]}. */
static void field_error(vc_http_req_t *req, const char *field, const char *text)
{
	vc_http_respond_json(req, 400, json_pack("{s:[s]}", field, text));
}

static bool pg_failed(vc_http_req_t *req, vc_msg_t *reply)
{
	vc_pg_result_t *r = (vc_pg_result_t *)reply;

	if (r->status == VC_PG_OK)
		return false;
	if (r->status == VC_PG_ERROR)
		log_error("external_api: rooms statement failed: %s",
		          PQresultErrorField(r->res, PG_DIAG_MESSAGE_PRIMARY));
	detail(req, r->status == VC_PG_UNAVAILABLE ? 503 : 500,
	       r->status == VC_PG_UNAVAILABLE ? "Service unavailable, try again"
	                                      : "Internal error");
	return true;
}

/*
 * A room as Meet's external RoomSerializer shows it: id, name, slug,
 * access_level, configuration, and url when external_api_base_url is set.
 * vcd has no telephony: never a telephony member. A meeting without an
 * access level (made by the meeting API) shows the level that describes
 * it: "public" when its waiting room is off, "restricted" when on.
 */
static json_t *room_json(const char *ext_id, const char *room_id, const char *level,
                         bool waiting_room, const char *config)
{
	const char *base = vc_config_get()->external_api_base_url;
	json_t *conf = config != NULL ? json_loads(config, 0, NULL) : NULL;
	json_t *o = json_object();

	json_object_set_new(o, "id", json_string(ext_id));
	json_object_set_new(o, "name", json_string(room_id));
	json_object_set_new(o, "slug", json_string(room_id));
	json_object_set_new(o, "access_level",
	                    json_string(level != NULL  ? level
	                                : waiting_room ? "restricted"
	                                               : "public"));
	json_object_set_new(o, "configuration", json_is_object(conf) ? conf : json_object());
	if (!json_is_object(conf))
		json_decref(conf);
	if (base != NULL && base[0] != '\0') {
		size_t n = strlen(base) + strlen(room_id) + 2;
		char *url = vc_malloc(n);

		snprintf(url, n, "%s/%s", base, room_id);
		json_object_set_new(o, "url", json_string(url));
		free(url);
	}
	return o;
}

/* Columns ext_id, room_id, level, configuration, waiting_room from col. */
static json_t *room_row(const PGresult *res, int row, int col)
{
	return room_json(PQgetvalue(res, row, col), PQgetvalue(res, row, col + 1),
	                 PQgetisnull(res, row, col + 2) ? NULL : PQgetvalue(res, row, col + 2),
	                 PQgetvalue(res, row, col + 4)[0] == 't', PQgetvalue(res, row, col + 3));
}

static void logged(const xreq_t *x, const char *what, const char *room)
{
	log_info("external_api: rooms %s by application %s for user %s%s%s", what, x->client_id,
	         x->user_id, room ? ": room " : "", room ? room : "");
}

/* --- authentication (§A.4) and scope (§A.5) ------------------------------- */

/* The token of "Authorization: Bearer <token>": NULL and *why NULL when
 * there is no Bearer credential (no opinion), NULL and *why set when the
 * header is broken. */
static char *bearer(vc_http_req_t *req, const char **why)
{
	const char *h = vc_http_header(req, "Authorization");
	const char *p, *tok;
	size_t n;

	*why = NULL;
	if (h == NULL)
		return NULL;
	p = h + strspn(h, " \t");
	n = strcspn(p, " \t");
	if (n != 6 || strncasecmp(p, "bearer", 6) != 0)
		return NULL;
	tok = p + n + strspn(p + n, " \t");
	n = strcspn(tok, " \t");
	if (n == 0 || tok[n + strspn(tok + n, " \t")] != '\0') {
		*why = "Invalid token header.";
		return NULL;
	}
	return vc_strndup(tok, n);
}

static bool uuid_text(const char *s)
{
	if (s == NULL || strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return false;
	}
	return true;
}

/* The scope claim, split on white space, lower-cased, deduplicated: does it
 * hold `need`? *empty says it holds nothing. */
static bool has_scope(const json_t *claim, const char *need, bool *empty)
{
	const char *s = json_string_value(claim);
	bool found = false;
	size_t i;
	json_t *v;

	*empty = true;
	if (json_is_array(claim)) {
		json_array_foreach(claim, i, v)
		{
			if (json_is_string(v) && json_string_length(v) > 0) {
				*empty = false;
				found |= strcasecmp(json_string_value(v), need) == 0;
			}
		}
		return found;
	}
	while (s != NULL && *(s += strspn(s, " \t\r\n")) != '\0') {
		size_t n = strcspn(s, " \t\r\n");

		*empty = false;
		found |= n == strlen(need) && strncasecmp(s, need, n) == 0;
		s += n;
	}
	return found;
}

static bool scope_ok(vc_http_req_t *req, const xreq_t *x)
{
	const char *need = acts[x->action].scope;
	bool empty;
	char msg[96];

	bool now_empty;

	/* The token's scopes, as far as the application still has them: an
	 * operator's `vcctl apps scopes set` applies to tokens already issued. */
	if (has_scope(json_object_get(x->claims, "scope"), need, &empty) &&
	    has_scope(x->app_scopes, need, &now_empty))
		return true;
	if (empty) {
		detail(req, 403, "Insufficient permissions.");
	} else {
		snprintf(msg, sizeof(msg), "Insufficient permissions. Required scope: %s", need);
		detail(req, 403, msg);
	}
	logged(x, "refused (scope)", x->room_ext_id);
	return false;
}

/* The user and the application as they are now. */
static void authed(vc_http_req_t *req, vc_msg_t *reply)
{
	xreq_t *x = vc_http_data(req);
	vc_pg_result_t *r = (vc_pg_result_t *)reply;
	const PGresult *res;

	if (pg_failed(req, reply))
		return;
	res = r->res;
	if (PQgetisnull(res, 0, 0)) {
		unauthorized(req, "User not found.");
	} else if (PQgetvalue(res, 0, 0)[0] != 't') {
		unauthorized(req, "User account is disabled.");
	} else if (x->client_id == NULL) {
		unauthorized(req, "Invalid token claims.");
	} else if (PQgetisnull(res, 0, 1)) {
		unauthorized(req, "Application not found.");
	} else if (PQgetvalue(res, 0, 1)[0] != 't') {
		unauthorized(req, "Application is disabled.");
	} else if (!json_is_true(json_object_get(x->claims, "delegated"))) {
		unauthorized(req, "Invalid token type.");
	} else {
		x->app_scopes = json_string(PQgetvalue(res, 0, 2));
		if (scope_ok(req, x))
			acts[x->action].run(req);
		return;
	}
	log_info("external_api: rooms %s refused for application %s, user %s", acts[x->action].name,
	         x->client_id ? x->client_id : "-", x->user_id);
}

/* The token's signature, issuer, audience and expiry; false when answered. */
static bool token_ok(vc_http_req_t *req, xreq_t *x)
{
	const vc_config_t *cfg = vc_config_get();
	const char *why;
	char *tok = bearer(req, &why);
	enum vc_jwt_error e;

	if (tok == NULL || !cfg->external_api_applications || cfg->jwt_secret[0] == '\0') {
		unauthorized(req,
		             why != NULL && cfg->external_api_applications ? why : NOT_PROVIDED);
		free(tok);
		return false;
	}
	e = vc_jwt_verify_aud(tok, (const uint8_t *)cfg->jwt_secret, strlen(cfg->jwt_secret),
	                      VC_XAPI_ISSUER, VC_XAPI_AUDIENCE, (int64_t)time(NULL), &x->claims);
	sodium_memzero(tok, strlen(tok));
	free(tok);
	if (e == VC_JWT_OK)
		return true;
	log_info("external_api: rooms %s refused: %s", acts[x->action].name, vc_jwt_strerror(e));
	unauthorized(req, e == VC_JWT_EXPIRED                                  ? "Token expired."
	                  : e == VC_JWT_BAD_ISSUER || e == VC_JWT_BAD_AUDIENCE ? "Invalid token."
	                                                                       : NOT_PROVIDED);
	return false;
}

/* --- the request body (create, update) ----------------------------------- */

/* access_level and configuration of the body into x (other members are
 * read-only or unknown: ignored, as DRF does); false when answered. */
static bool read_fields(vc_http_req_t *req, xreq_t *x, json_t *body)
{
	const vc_config_t *cfg = vc_config_get();
	json_t *lv = json_object_get(body, "access_level");
	json_t *cv = json_object_get(body, "configuration");
	char why[200], msg[240];

	if (lv != NULL) {
		const char *s = json_string_value(lv);

		if (json_is_null(lv)) {
			field_error(req, "access_level", "This field may not be null.");
			return false;
		}
		if (!vc_access_level_ok(s)) {
			if (s == NULL)
				s = "";
			snprintf(msg, sizeof(msg), "\"%.*s\" is not a valid choice.",
			         (int)vc_utf8_prefix(s, 64), s);
			field_error(req, "access_level", msg);
			return false;
		}
		if (strcmp(s, "public") == 0 && !cfg->external_api_allow_public &&
		    strcmp(cfg->external_api_default_access_level, "public") != 0) {
			field_error(req, "access_level",
			            "Public rooms are disabled for the external API.");
			return false;
		}
		x->set_level = true;
		x->level = vc_strdup(s);
	}
	if (cv != NULL) {
		if (json_is_null(cv)) {
			field_error(req, "configuration", "This field may not be null.");
			return false;
		}
		if (vc_room_config_problem(cv, why, sizeof(why)) != NULL) {
			field_error(req, "configuration", why);
			return false;
		}
		x->configuration = json_deep_copy(cv);
	}
	return true;
}

/* The JSON body (none is an empty object); false when answered. */
static bool read_body(vc_http_req_t *req, xreq_t *x)
{
	size_t len = 0;
	const char *body = vc_http_body(req, &len);
	const char *ct = vc_http_header(req, "Content-Type");
	json_t *doc;
	bool ok;

	if (len == 0)
		return true;
	/* DRF's JSONParser: application/json, parameters aside */
	if (ct == NULL || strcspn(ct, "; \t") != 16 ||
	    strncasecmp(ct, "application/json", 16) != 0) {
		detail(req, 415, "Unsupported media type."); /* the type is not echoed */
		return false;
	}
	doc = json_loadb(body, len, 0, NULL);
	if (doc == NULL) {
		detail(req, 400, "JSON parse error");
		return false;
	}
	if (!json_is_object(doc)) {
		vc_http_respond_json(req, 400,
		                     json_pack("{s:[s]}", "non_field_errors",
		                               "Invalid data. Expected a dictionary."));
		json_decref(doc);
		return false;
	}
	ok = read_fields(req, x, doc);
	json_decref(doc);
	return ok;
}

/* --- the entry: every route ----------------------------------------------- */

static void handle(vc_http_req_t *req, enum action a)
{
	xreq_t *x = vc_calloc(1, sizeof(*x));
	const json_t *uid, *cid;

	x->action = a;
	vc_http_set_data(req, x, xreq_free);
	if (!token_ok(req, x))
		return;
	uid = json_object_get(x->claims, "user_id");
	cid = json_object_get(x->claims, "client_id");
	x->user_id = json_string_value(uid);
	x->client_id = json_string_value(cid);
	if (x->user_id == NULL) {
		unauthorized(req, "Invalid token claims.");
		return;
	}
	if (!uuid_text(x->user_id)) {
		unauthorized(req, "User not found.");
		return;
	}
	if (a == A_RETRIEVE || a == A_UPDATE || a == A_DELETE) {
		size_t n;
		const char *raw = vc_http_param(req, 0);
		x->room_ext_id = vc_pct_decode(raw ? raw : "", raw ? strlen(raw) : 0, false, &n);
		if (strlen(x->room_ext_id) != n)
			x->room_ext_id[0] = '\0'; /* "%00": not an id, whatever precedes it */
	}
	const char *p[2] = { x->user_id, x->client_id };
	vc_http_await(req, authed);
	vc_pg_query(st_auth, 2, p, vc_http_actor(req), VC_HTTP_MSG_REPLY, NULL);
}

void vc_external_rooms_list(vc_http_req_t *req)
{
	handle(req, A_LIST);
}

void vc_external_rooms_create(vc_http_req_t *req)
{
	handle(req, A_CREATE);
}

void vc_external_rooms_retrieve(vc_http_req_t *req)
{
	handle(req, A_RETRIEVE);
}

void vc_external_rooms_update(vc_http_req_t *req)
{
	handle(req, A_UPDATE);
}

void vc_external_rooms_delete(vc_http_req_t *req)
{
	handle(req, A_DELETE);
}

/* --- list ----------------------------------------------------------------- */

/* ?page=N: a positive integer, 1 when absent or empty (DRF's `or 1`); 0
 * when invalid. */
static long page_of(const char *query)
{
	size_t len = 0;
	char *v = vc_query_value(query ? query : "", "page", &len);
	char *end;
	long n = 1;

	if (v != NULL && len > 0) {
		n = strtol(v, &end, 10);
		if (!isdigit((unsigned char)v[0]) || end != v + len || n < 1 || n > PAGE_MAX)
			n = 0;
	}
	free(v);
	return n;
}

/* DRF's next/previous: this URL with page=N (page 1: without it), from the
 * Host header; NULL past the ends. */
static json_t *page_url(vc_http_req_t *req, long page)
{
	const char *host = vc_http_header(req, "Host");
	char url[1024];

	if (host == NULL || host[0] == '\0' || strpbrk(host, "/\\?#\"") != NULL)
		host = "localhost";
	if (page == 1)
		snprintf(url, sizeof(url), "http://%.255s" ROOMS_PATH, host);
	else
		snprintf(url, sizeof(url), "http://%.255s" ROOMS_PATH "?page=%ld", host, page);
	return json_string(url);
}

static void listed(vc_http_req_t *req, vc_msg_t *reply)
{
	xreq_t *x = vc_http_data(req);
	vc_pg_result_t *r = (vc_pg_result_t *)reply;
	long count, pages;
	json_t *results;

	if (pg_failed(req, reply))
		return;
	count = (long)strtoll(PQgetvalue(r->res, 0, 0), NULL, 10);
	pages = count == 0 ? 1 : (count + PAGE_SIZE - 1) / PAGE_SIZE;
	if (x->page > pages) {
		detail(req, 404, "Invalid page.");
		return;
	}
	results = json_array();
	for (int i = 0; i < PQntuples(r->res); i++)
		if (!PQgetisnull(r->res, i, 1))
			json_array_append_new(results, room_row(r->res, i, 1));
	logged(x, "list", NULL);
	vc_http_respond_json(req, 200,
	                     json_pack("{s:I,s:o,s:o,s:o}", "count", (json_int_t)count, "next",
	                               x->page < pages ? page_url(req, x->page + 1) : json_null(),
	                               "previous",
	                               x->page > 1 ? page_url(req, x->page - 1) : json_null(),
	                               "results", results));
}

static void run_list(vc_http_req_t *req)
{
	xreq_t *x = vc_http_data(req);
	char limit[24], offset[24];

	x->page = page_of(vc_http_query(req));
	if (x->page == 0) {
		detail(req, 404, "Invalid page.");
		return;
	}
	snprintf(limit, sizeof(limit), "%d", PAGE_SIZE);
	snprintf(offset, sizeof(offset), "%ld", (x->page - 1) * PAGE_SIZE);
	const char *p[3] = { x->user_id, limit, offset };
	vc_http_await(req, listed);
	vc_pg_query(st_list, 3, p, vc_http_actor(req), VC_HTTP_MSG_REPLY, NULL);
}

/* --- create --------------------------------------------------------------- */

/* Meet's generate_room_slug: three, four and three random lower-case
 * letters (abc-defg-hij). */
static void new_slug(char out[16])
{
	static const int parts[] = { 3, 4, 3 };
	size_t n = 0;

	for (size_t i = 0; i < 3; i++) {
		if (i > 0)
			out[n++] = '-';
		for (int k = 0; k < parts[i]; k++)
			out[n++] = (char)('a' + randombytes_uniform(26));
	}
	out[n] = '\0';
}

static void insert_room(vc_http_req_t *req);

static void created(vc_http_req_t *req, vc_msg_t *reply)
{
	xreq_t *x = vc_http_data(req);
	vc_pg_result_t *r = (vc_pg_result_t *)reply;

	if (pg_failed(req, reply))
		return;
	if (PQntuples(r->res) != 1) { /* the slug is taken: another */
		if (++x->attempts < CREATE_ATTEMPTS) {
			insert_room(req);
			return;
		}
		log_error("external_api: no free room slug after %d attempts", CREATE_ATTEMPTS);
		detail(req, 500, "Internal error");
		return;
	}
	log_info("external_api: room created via application: room_id=%s, user_id=%s, "
	         "client_id=%s",
	         x->slug, x->user_id, x->client_id);
	vc_http_respond_json(req, 201, room_row(r->res, 0, 0));
}

static void insert_room(vc_http_req_t *req)
{
	xreq_t *x = vc_http_data(req);
	char *config = x->configuration ? json_dumps(x->configuration, JSON_COMPACT) : NULL;

	new_slug(x->slug);
	const char *p[5] = { x->slug, x->user_id, x->level, config ? config : "{}", x->client_id };
	vc_http_await(req, created);
	vc_pg_query(st_create, 5, p, vc_http_actor(req), VC_HTTP_MSG_REPLY, NULL);
	free(config);
}

static void run_create(vc_http_req_t *req)
{
	xreq_t *x = vc_http_data(req);

	if (!read_body(req, x))
		return;
	if (!x->set_level) {
		x->set_level = true;
		x->level = vc_strdup(vc_config_get()->external_api_default_access_level);
	}
	insert_room(req);
}

/* --- retrieve, update, delete --------------------------------------------- */

static bool allowed(enum need need, bool owner, const char *role)
{
	enum vc_room_role r = vc_room_role_parse(role);

	switch (need) {
	case N_NONE: return true;
	case N_ANY_ROLE: return owner || r == VC_RR_MEMBER || r == VC_RR_ADMINISTRATOR;
	case N_ADMIN: return owner || r == VC_RR_ADMINISTRATOR;
	case N_OWNER: return owner;
	}
	return false;
}

/* The meeting actor's answer to update or delete. */
static void acted(vc_http_req_t *req, vc_msg_t *msg)
{
	xreq_t *x = vc_http_data(req);
	const vc_meeting_reply_t *r = (const vc_meeting_reply_t *)msg;
	const vc_meeting_row_t *m = &r->meeting;

	if (r->error == VC_MERR_MEETING_NOT_FOUND) {
		detail(req, 404, "Not found.");
	} else if (r->error == VC_MERR_NOT_OWNER) {
		detail(req, 403, NO_PERMISSION);
	} else if (r->error != VC_MERR_OK) {
		detail(req, r->error == VC_MERR_UNAVAILABLE ? 503 : 500,
		       r->error == VC_MERR_UNAVAILABLE ? "Service unavailable, try again"
		                                       : "Internal error");
	} else if (x->action == A_DELETE) {
		logged(x, "delete", x->room_id);
		vc_http_respond(req, 204, NULL, NULL, 0);
	} else {
		logged(x, "update", x->room_id);
		vc_http_respond_json(req, 200,
		                     room_json(x->room_ext_id, m->room_id ? m->room_id : x->room_id,
		                               m->access_level, m->waiting_room, m->configuration));
	}
}

/* Update and delete are the meeting API's own commands: update as the
 * operator would (the owner-or-administrator check is done), delete as
 * the owner (the actor checks it again). */
static void send_to_meeting(vc_http_req_t *req, xreq_t *x)
{
	enum vc_meeting_cmd cmd = x->action == A_DELETE ? VC_MC_DELETE : VC_MC_UPDATE;
	vc_meeting_cmd_msg_t *c =
	        vc_meeting_cmd_new(cmd, x->room_id, x->user_id, NULL, vc_http_actor(req));

	if (cmd == VC_MC_UPDATE) {
		c->as_admin = true;
		c->set_access_level = x->set_level;
		c->access_level = x->level ? vc_strdup(x->level) : NULL;
		c->configuration = x->configuration ? json_deep_copy(x->configuration) : NULL;
	}
	vc_http_await(req, acted);
	vc_meetings_send(c);
}

static void found(vc_http_req_t *req, vc_msg_t *reply)
{
	xreq_t *x = vc_http_data(req);
	vc_pg_result_t *r = (vc_pg_result_t *)reply;
	const PGresult *res;

	if (pg_failed(req, reply))
		return;
	res = r->res;
	if (PQntuples(res) != 1) {
		detail(req, 404, "Not found.");
		return;
	}
	if (!allowed(acts[x->action].need, PQgetvalue(res, 0, 5)[0] == 't',
	             PQgetisnull(res, 0, 6) ? NULL : PQgetvalue(res, 0, 6))) {
		logged(x, "refused (role)", PQgetvalue(res, 0, 1));
		detail(req, 403, NO_PERMISSION);
		return;
	}
	x->room_id = vc_strdup(PQgetvalue(res, 0, 1));
	/* the room's id as stored: the path's may be upper-case */
	free(x->room_ext_id);
	x->room_ext_id = vc_strdup(PQgetvalue(res, 0, 0));
	if (x->action == A_RETRIEVE) {
		logged(x, "retrieve", x->room_id);
		vc_http_respond_json(req, 200, room_row(res, 0, 0));
		return;
	}
	if (x->action == A_UPDATE && !read_body(req, x))
		return;
	send_to_meeting(req, x);
}

static void run_on_room(vc_http_req_t *req)
{
	xreq_t *x = vc_http_data(req);

	if (!uuid_text(x->room_ext_id)) {
		detail(req, 404, "Not found.");
		return;
	}
	const char *p[2] = { x->room_ext_id, x->user_id };
	vc_http_await(req, found);
	vc_pg_query(st_get, 2, p, vc_http_actor(req), VC_HTTP_MSG_REPLY, NULL);
}
