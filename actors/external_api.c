/*
 * external_api.c — the external API (La Suite Meet's /external-api/v1.0/):
 * its two switches and the application token endpoint.
 *
 * `external_api` off: every /external-api/ path answers the router's plain
 * 404, whatever the method (vc_external_api_hidden(), asked by the router
 * before matching). `external_api_applications` off: the token endpoint
 * answers the same 404.
 *
 * The token endpoint follows Meet's order of checks
 * (shared/reference/meet-toju-rocketchat-livekit.md §A.3): switch (404),
 * media type (415: form or JSON only), fields (400, DRF-style field
 * errors), the application (the same vague 401 for an unknown client id
 * and a wrong secret; the secret is verified on the offload pool, and an
 * unknown client id costs the same Argon2id work), "inactive" only once the
 * secret is proven, the e-mail (400), the domain allow-list (403), the user
 * (404; 409 when several accounts share the address), then an HS256 token
 * signed with jwt_secret (doc/decisions.md).
 */
#include "actors/external_api.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <strings.h>
#include <time.h>

#include "actors/admin_apps.h"
#include "actors/password_job.h"
#include "runtime/config.h"
#include "runtime/pg.h"
#include "wire/jwt.h"
#include "runtime/log.h"
#include "wire/urlenc.h"

#define PREFIX "/external-api/"
#define TOKEN_TTL 3600
#define EMAIL_MAX 254

static int st_app, st_user;

void vc_external_api_init(void)
{
	st_app = vc_pg_statement(
	        "xapi_app",
	        "SELECT id::text, secret_hash, active, array_to_string(scopes, ' '),"
	        " name FROM applications WHERE client_id = $1",
	        1);
	/* allowed (no domain, or the e-mail's), matching users, one of them */
	st_user = vc_pg_statement(
	        "xapi_user",
	        "SELECT NOT EXISTS (SELECT 1 FROM application_domains WHERE application_id = "
	        "$1::uuid)"
	        " OR EXISTS (SELECT 1 FROM application_domains WHERE application_id = $1::uuid"
	        " AND domain = lower($2::text)),"
	        " (SELECT count(*) FROM users WHERE lower(email) = lower($3::text)"
	        " AND disabled_at IS NULL),"
	        " (SELECT id::text FROM users WHERE lower(email) = lower($3::text)"
	        " AND disabled_at IS NULL LIMIT 1)",
	        3);
}

bool vc_external_api_hidden(const char *path)
{
	return strncmp(path, PREFIX, sizeof(PREFIX) - 1) == 0 && !vc_config_get()->external_api;
}

enum body_kind { BODY_FORM, BODY_JSON, BODY_OTHER };

/* The media type of Content-Type, parameters ignored. A request without a
 * body and without a type parses as an empty form, as DRF does. */
static enum body_kind body_kind(const char *ctype, size_t body_len)
{
	size_t n;

	if (ctype == NULL || *ctype == '\0')
		return body_len == 0 ? BODY_FORM : BODY_OTHER;
	n = strcspn(ctype, "; \t");
	if (n == 33 && strncasecmp(ctype, "application/x-www-form-urlencoded", n) == 0)
		return BODY_FORM;
	if (n == 16 && strncasecmp(ctype, "application/json", n) == 0)
		return BODY_JSON;
	return BODY_OTHER;
}

static const char *const fields[] = { "client_id", "client_secret", "grant_type", "scope" };
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))
enum { F_ID, F_SECRET, F_GRANT, F_SCOPE };

/* What a token request carries from one step to the next. */
typedef struct token_op {
	char *v[NFIELDS]; /* the fields; the secret wiped with the op */
	char *app_id, *scopes, *name;
	bool active;
} token_op_t;

static void token_op_free(void *p)
{
	token_op_t *op = p;

	for (size_t i = 0; i < NFIELDS; i++) {
		if (op->v[i] != NULL)
			sodium_memzero(op->v[i], strlen(op->v[i]));
		free(op->v[i]);
	}
	free(op->app_id);
	free(op->scopes);
	free(op->name);
	free(op);
}

/* The request's fields (allocated, NULL when absent), or false with *bad
 * set to a 400 body when the JSON is not an object. */
static bool read_fields(vc_http_req_t *req, enum body_kind kind, char *out[NFIELDS], json_t **bad)
{
	size_t len = 0;
	const char *body = vc_http_body(req, &len);

	if (kind == BODY_FORM) {
		char *text = vc_strndup(body ? body : "", len);

		for (size_t i = 0; i < NFIELDS; i++) {
			size_t n;

			out[i] = vc_query_value(text, fields[i], &n);
			if (out[i] != NULL && strlen(out[i]) != n) {
				/* "%00": the value must not end at the NUL (DRF
				 * refuses null characters) */
				sodium_memzero(out[i], n);
				free(out[i]);
				out[i] = vc_strdup("\x02");
			}
		}
		sodium_memzero(text, len); /* holds the secret */
		free(text);
		return true;
	}
	json_t *doc = json_loadb(body ? body : "", len, 0, NULL);

	if (!json_is_object(doc)) {
		json_decref(doc);
		*bad = json_pack("{s:s}", "detail", "JSON parse error");
		return false;
	}
	for (size_t i = 0; i < NFIELDS; i++) {
		json_t *v = json_object_get(doc, fields[i]);

		out[i] = json_is_string(v) ? vc_strdup(json_string_value(v))
		         : v != NULL       ? vc_strdup("\x01") /* present, not a string */
		                           : NULL;
	}
	json_decref(doc);
	return true;
}

/* DRF's field errors for what is missing or wrong, or NULL when all is well. */
static json_t *field_errors(char *const v[NFIELDS])
{
	json_t *errs = json_object();

	for (size_t i = 0; i < NFIELDS; i++) {
		const char *msg = NULL;

		if (v[i] == NULL)
			msg = "This field is required.";
		else if (strcmp(v[i], "\x01") == 0)
			msg = "Not a valid string.";
		else if (strcmp(v[i], "\x02") == 0)
			msg = "Null characters are not allowed.";
		else if (v[i][0] == '\0')
			msg = "This field may not be blank.";
		else if (i == 2 && strcmp(v[i], "client_credentials") != 0)
			msg = "This is not a valid choice.";
		if (msg != NULL)
			json_object_set_new(errs, fields[i], json_pack("[s]", msg));
	}
	if (json_object_size(errs) == 0) {
		json_decref(errs);
		return NULL;
	}
	return errs;
}

static void detail(vc_http_req_t *req, int status, const char *text)
{
	vc_http_respond_json(req, status, json_pack("{s:s}", "detail", text));
}

static void error(vc_http_req_t *req, int status, const char *text)
{
	vc_http_respond_json(req, status, json_pack("{s:s}", "error", text));
}

static bool pg_failed(vc_http_req_t *req, vc_msg_t *reply)
{
	vc_pg_result_t *r = (vc_pg_result_t *)reply;

	if (r->status == VC_PG_OK)
		return false;
	if (r->status == VC_PG_ERROR)
		log_error("external_api: statement failed: %s",
		          PQresultErrorField(r->res, PG_DIAG_MESSAGE_PRIMARY));
	detail(req, r->status == VC_PG_UNAVAILABLE ? 503 : 500,
	       r->status == VC_PG_UNAVAILABLE ? "Service unavailable, try again"
	                                      : "Internal error");
	return true;
}

/* Django's validate_email, roughly: one '@', a local part, a dotted domain,
 * no spaces or control characters. */
static bool valid_email(const char *e)
{
	const char *at = strchr(e, '@');
	size_t n = strlen(e);

	if (n > EMAIL_MAX || at == NULL || at == e || strchr(at + 1, '@') != NULL)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)e[i] <= ' ' || e[i] == 0x7f)
			return false;
	at++;
	return at[0] != '.' && strchr(at, '.') != NULL && at[strlen(at) - 1] != '.';
}

static void issue(vc_http_req_t *req, token_op_t *op, const char *user_id)
{
	const vc_config_t *cfg = vc_config_get();
	int64_t now = (int64_t)time(NULL);
	json_t *claims, *body;
	char *jwt;

	if (cfg->jwt_secret[0] == '\0') {
		log_error(
		        "external_api: jwt_secret is not set: no application token can be signed");
		detail(req, 500, "Server misconfigured");
		return;
	}
	claims = json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:b, s:s}", "iss", VC_XAPI_ISSUER, "aud",
	                   VC_XAPI_AUDIENCE, "client_id", op->v[F_ID], "iat", (json_int_t)now,
	                   "exp", (json_int_t)(now + TOKEN_TTL), "user_id", user_id, "delegated", 1,
	                   "scope", op->scopes);
	jwt = vc_jwt_sign(claims, (const uint8_t *)cfg->jwt_secret, strlen(cfg->jwt_secret));
	json_decref(claims);
	if (jwt == NULL) {
		detail(req, 500, "Internal error");
		return;
	}
	body = json_pack("{s:s, s:s, s:i}", "access_token", jwt, "token_type", "Bearer",
	                 "expires_in", TOKEN_TTL);
	if (op->scopes[0] != '\0')
		json_object_set_new(body, "scope", json_string(op->scopes));
	sodium_memzero(jwt, strlen(jwt));
	free(jwt);
	log_info("external_api: application %s got a token for user %s, scope '%s'", op->v[F_ID],
	         user_id, op->scopes);
	vc_http_respond_json(req, 200, body);
}

static void user_found(vc_http_req_t *req, vc_msg_t *reply)
{
	token_op_t *op = vc_http_data(req);
	vc_pg_result_t *r = (vc_pg_result_t *)reply;
	long n;

	if (pg_failed(req, reply))
		return;
	if (PQgetvalue(r->res, 0, 0)[0] != 't') {
		log_warn("external_api: application %s refused: e-mail domain not allowed",
		         op->v[F_ID]);
		error(req, 403, "This application is not authorized for this email domain.");
		return;
	}
	n = strtol(PQgetvalue(r->res, 0, 1), NULL, 10);
	if (n == 0) {
		log_info("external_api: application %s refused: no such user", op->v[F_ID]);
		detail(req, 404, "User not found.");
	} else if (n > 1) {
		log_warn("external_api: application %s refused: %ld accounts share the "
		         "e-mail address",
		         op->v[F_ID], n);
		error(req, 409, "Failed to create or retrieve provisional user.");
	} else {
		issue(req, op, PQgetvalue(r->res, 0, 2));
	}
}

static void verified(vc_http_req_t *req, vc_msg_t *reply)
{
	token_op_t *op = vc_http_data(req);
	vc_pw_job_t *job = (vc_pw_job_t *)reply;
	const char *email = op->v[F_SCOPE];

	if (op->app_id == NULL || (job->result != VC_PW_OK && job->result != VC_PW_OK_REHASH)) {
		if (op->app_id != NULL)
			log_info("external_api: application %s refused: wrong secret", op->v[F_ID]);
		else
			log_info("external_api: token refused: unknown client id");
		detail(req, 401, "Invalid credentials");
		return;
	}
	if (!op->active) {
		log_info("external_api: application %s refused: inactive", op->v[F_ID]);
		detail(req, 401, "Application is inactive");
		return;
	}
	if (!valid_email(email)) {
		error(req, 400, "Scope should be a valid email address.");
		return;
	}
	const char *p[3] = { op->app_id, strrchr(email, '@') + 1, email };

	vc_http_await(req, user_found);
	vc_pg_query(st_user, 3, p, vc_http_actor(req), VC_HTTP_MSG_REPLY, NULL);
}

/* The application's row: verify the secret against its hash, or, for an
 * unknown client id, do the same work against nothing. */
static void app_found(vc_http_req_t *req, vc_msg_t *reply)
{
	token_op_t *op = vc_http_data(req);
	vc_pg_result_t *r = (vc_pg_result_t *)reply;
	int rc;

	if (pg_failed(req, reply))
		return;
	if (PQntuples(r->res) == 1) {
		op->app_id = vc_strdup(PQgetvalue(r->res, 0, 0));
		op->active = PQgetvalue(r->res, 0, 2)[0] == 't';
		op->scopes = vc_strdup(PQgetvalue(r->res, 0, 3));
		op->name = vc_strdup(PQgetvalue(r->res, 0, 4));
		rc = vc_pw_job_run(req, VC_PW_JOB_VERIFY, op->v[F_SECRET], PQgetvalue(r->res, 0, 1),
		                   verified);
	} else {
		rc = vc_pw_job_run(req, VC_PW_JOB_BURN, op->v[F_SECRET], NULL, verified);
	}
	if (rc != 0)
		detail(req, 503, "Service unavailable, try again");
}

void vc_external_api_token(vc_http_req_t *req)
{
	size_t len = 0;
	token_op_t *op;
	json_t *bad = NULL;
	enum body_kind kind;

	if (!vc_config_get()->external_api_applications) {
		vc_http_respond(req, 404, NULL, NULL, 0);
		return;
	}
	(void)vc_http_body(req, &len);
	kind = body_kind(vc_http_header(req, "Content-Type"), len);
	if (kind == BODY_OTHER) {
		detail(req, 415, "Unsupported media type.");
		return;
	}
	op = vc_calloc(1, sizeof(*op));
	vc_http_set_data(req, op, token_op_free);
	if (!read_fields(req, kind, op->v, &bad) || (bad = field_errors(op->v)) != NULL) {
		vc_http_respond_json(req, 400, bad);
		return;
	}
	if (!vc_app_client_id_ok(op->v[F_ID])) {
		/* no such application can exist: the same work, the same answer */
		if (vc_pw_job_run(req, VC_PW_JOB_BURN, op->v[F_SECRET], NULL, verified) != 0)
			detail(req, 503, "Service unavailable, try again");
		return;
	}
	const char *p[1] = { op->v[F_ID] };

	vc_http_await(req, app_found);
	vc_pg_query(st_app, 1, p, vc_http_actor(req), VC_HTTP_MSG_REPLY, NULL);
}
