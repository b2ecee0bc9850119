/*
 * accounts.c — /api/users/... (Toju/MetoYou) and /session, /profile, /logout
 * (videocall.rs). Each handler is a short chain of steps — validate, hash
 * off the loop, one statement, answer — joined by vc_http_await.
 *
 * Rules enforced here (documented in vcd-api(7)): a username is 3 to 32
 * letters, digits, '_', '.' or '-', starting with a letter or digit, unique
 * without regard to case; a password is 8 to 256 bytes; a display name at
 * most 64 bytes; an e-mail at most 254 bytes with an '@'. Unknown user and
 * wrong password answer the same 401, after the same Argon2id work.
 */
#include "actors/accounts.h"

#include <ctype.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/auth.h"
#include "actors/password_job.h"
#include "actors/user_import.h" /* vc_user_name_ok: the one username rule */
#include "runtime/config.h"
#include "runtime/log.h"
#include "runtime/pg.h"
#include "runtime/ratelimit.h"
#include "wire/client_addr.h"
#include "wire/urlenc.h"

#define PASSWORD_MIN 8
#define PASSWORD_MAX 256
#define DISPLAY_MAX 64
#define EMAIL_MAX 254
/* 2048: a device token is a primary key, and PostgreSQL's b-tree refuses
 * entries over 2704 bytes (random text does not compress). */
#define DEVICE_TOKEN_MAX 2048
#define USER_AGENT_MAX 512 /* bytes of User-Agent kept with a session */

static int st_register, st_find, st_session, st_logout, st_list, st_revoke, st_dev_put, st_dev_del,
        st_devs, st_logout_hash;

static vc_ratelimit_t *auth_limit;
static pthread_mutex_t limit_mu = PTHREAD_MUTEX_INITIALIZER;
static char *limit_spec;

/* What register and login carry from step to step. */
typedef struct acct {
	char *username, *password, *display_name, *email;
	char *user_id, *stored_hash;
	char new_hash[VC_PASSWORD_HASH_MAX];
	bool disabled, found, set_cookie;
	char token[65];
	uint8_t hash[32];
} acct_t;

static void acct_free(void *p)
{
	acct_t *a = p;

	if (a->password != NULL)
		sodium_memzero(a->password, strlen(a->password));
	free(a->password);
	free(a->username);
	free(a->display_name);
	free(a->email);
	free(a->user_id);
	free(a->stored_hash);
	sodium_memzero(a->token, sizeof(a->token));
	sodium_memzero(a->new_hash, sizeof(a->new_hash));
	free(a);
}

void vc_accounts_init(void)
{
	st_register = vc_pg_statement(
	        "acct_register",
	        "WITH u AS (INSERT INTO users (username, display_name, email, password_hash)"
	        " VALUES ($1, $2, $3, $4) RETURNING id, username, display_name),"
	        " s AS (INSERT INTO sessions (token_hash, user_id, expires_at, user_agent, "
	        "client_addr)"
	        " SELECT $5::bytea, id, now() + $6::bigint * interval '1 millisecond', $7, $8 FROM "
	        "u"
	        " RETURNING expires_at)"
	        " SELECT u.id::text, u.username, u.display_name,"
	        " (extract(epoch FROM s.expires_at) * 1000)::bigint FROM u, s",
	        8);
	st_find = vc_pg_statement("acct_find",
	                          "SELECT id::text, username, display_name, password_hash,"
	                          " disabled_at IS NOT NULL FROM users"
	                          " WHERE lower(username) = lower($1)",
	                          1);
	st_session = vc_pg_statement(
	        "acct_session",
	        "WITH up AS (UPDATE users SET password_hash = $6, updated_at = now()"
	        " WHERE id = $1::uuid AND $6::text IS NOT NULL AND password_hash = $7)"
	        " INSERT INTO sessions (token_hash, user_id, expires_at, user_agent, client_addr)"
	        " VALUES ($2::bytea, $1::uuid, now() + $3::bigint * interval '1 millisecond', $4, "
	        "$5)"
	        " RETURNING (extract(epoch FROM expires_at) * 1000)::bigint",
	        7);
	st_logout = vc_pg_statement("acct_logout",
	                            "UPDATE sessions SET revoked_at = now()"
	                            " WHERE id = $1 AND revoked_at IS NULL",
	                            1);
	st_logout_hash = vc_pg_statement("acct_logout_hash",
	                                 "UPDATE sessions SET revoked_at = now()"
	                                 " WHERE token_hash = $1::bytea AND revoked_at IS NULL",
	                                 1);
	st_list = vc_pg_statement("acct_sessions",
	                          "SELECT id, (extract(epoch FROM created_at) * 1000)::bigint,"
	                          " (extract(epoch FROM last_seen_at) * 1000)::bigint,"
	                          " (extract(epoch FROM expires_at) * 1000)::bigint, user_agent"
	                          " FROM sessions WHERE user_id = $1::uuid AND revoked_at IS NULL"
	                          " AND expires_at > now() ORDER BY created_at, id",
	                          1);
	st_revoke = vc_pg_statement("acct_revoke",
	                            "UPDATE sessions SET revoked_at = now() WHERE id = $1"
	                            " AND user_id = $2::uuid AND revoked_at IS NULL RETURNING id",
	                            2);
	st_dev_put =
	        vc_pg_statement("acct_device_put",
	                        "INSERT INTO device_tokens (token, user_id) VALUES ($1, $2::uuid)"
	                        " ON CONFLICT (token) DO UPDATE SET user_id = EXCLUDED.user_id,"
	                        " updated_at = now()",
	                        2);
	st_dev_del =
	        vc_pg_statement("acct_device_delete",
	                        "DELETE FROM device_tokens WHERE token = $1 AND user_id = $2::uuid",
	                        2);
	st_devs =
	        vc_pg_statement("acct_devices",
	                        "SELECT token, (extract(epoch FROM created_at) * 1000)::bigint"
	                        " FROM device_tokens WHERE user_id = $1::uuid ORDER BY created_at",
	                        1);
	auth_limit = vc_ratelimit_new(0, 0, 100000);
}

/* --- answers -------------------------------------------------------------- */

static void fail(vc_http_req_t *req, int status, const char *message)
{
	vc_auth_error(req, 0, status, NULL, message);
}

static void unavailable(vc_http_req_t *req, const vc_pg_result_t *r)
{
	if (r->status == VC_PG_ERROR)
		log_error("statement failed: %s",
		          PQresultErrorField(r->res, PG_DIAG_MESSAGE_PRIMARY));
	fail(req, r->status == VC_PG_UNAVAILABLE ? 503 : 500,
	     r->status == VC_PG_UNAVAILABLE ? "Service unavailable, try again" : "Internal error");
}

static bool pg_failed(vc_http_req_t *req, vc_msg_t *reply)
{
	vc_pg_result_t *r = (vc_pg_result_t *)reply;

	if (r->status == VC_PG_OK)
		return false;
	unavailable(req, r);
	return true;
}

static json_t *str_or_null(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

/* --- rate limits and client addresses --------------------------------------- */

/* The User-Agent kept with a session ("" when none): its first
 * USER_AGENT_MAX bytes, as valid UTF-8 (a header may hold any bytes, and
 * the database takes only UTF-8). */
static void user_agent(vc_http_req_t *req, char buf[USER_AGENT_MAX + 1])
{
	const char *ua = vc_http_header(req, "User-Agent");
	size_t n = ua != NULL ? strnlen(ua, USER_AGENT_MAX) : 0;

	memcpy(buf, ua != NULL ? ua : "", n);
	buf[n] = '\0';
	vc_utf8_scrub(buf, n);
}

static void client_addr(vc_http_req_t *req, char *buf, size_t len)
{
	const char *list = vc_config_get()->trusted_proxies;
	char err[128];
	vc_netlist_t *trusted = NULL;

	if (list[0] != '\0')
		trusted = vc_netlist_parse(list, err, sizeof(err)); /* checked at load */
	vc_client_addr(trusted, vc_http_peer(req), vc_http_header(req, "X-Forwarded-For"), buf,
	               len);
	vc_netlist_free(trusted);
}

static void limit_follow_config(void)
{
	const char *spec = vc_config_get()->auth_rate_limit;
	unsigned limit;
	double window;
	char err[128];

	pthread_mutex_lock(&limit_mu);
	if (limit_spec == NULL || strcmp(limit_spec, spec) != 0) {
		if (vc_ratelimit_parse(spec, &limit, &window, err, sizeof(err)) == 0)
			vc_ratelimit_set(auth_limit, limit, window);
		free(limit_spec);
		limit_spec = vc_strdup(spec);
	}
	pthread_mutex_unlock(&limit_mu);
}

unsigned vc_accounts_attempt(vc_http_req_t *req)
{
	char addr[64], after[24];
	unsigned wait;

	limit_follow_config();
	client_addr(req, addr, sizeof(addr));
	wait = vc_ratelimit_hit(auth_limit, addr, (double)vc_now_ms() / 1000.0);
	if (wait == 0)
		return 0;
	log_info("rate limit: %s over auth_rate_limit on %s", addr, vc_http_path(req));
	snprintf(after, sizeof(after), "%u", wait);
	vc_http_add_header(req, "Retry-After", after);
	return wait;
}

/* True when the request may go on; else it was answered 429. */
static bool rate_ok(vc_http_req_t *req)
{
	if (vc_accounts_attempt(req) == 0)
		return true;
	fail(req, 429, "Too many attempts, try again later");
	return false;
}

/* --- request bodies ------------------------------------------------------- */

static json_t *body_object(vc_http_req_t *req)
{
	size_t len;
	const char *b = vc_http_body(req, &len);
	json_error_t e;
	json_t *j = json_loadb(b, len, JSON_REJECT_DUPLICATES, &e);

	if (j == NULL || !json_is_object(j)) {
		json_decref(j);
		fail(req, 400, "The request body must be a JSON object");
		return NULL;
	}
	return j;
}

/* A string member: 0 when absent or null (optional), 1 when a string, -1 otherwise. */
static int member(json_t *o, const char *key, const char **out)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return -1;
	*out = json_string_value(v);
	return 1;
}

static bool valid_password(const char *p)
{
	size_t n = strlen(p);
	return n >= PASSWORD_MIN && n <= PASSWORD_MAX;
}

static bool valid_email(const char *e)
{
	size_t n = strlen(e);
	const char *at = strchr(e, '@');
	return n <= EMAIL_MAX && at != NULL && at != e && at[1] != '\0' && strchr(e, ' ') == NULL;
}

/* Read and check {username, password, displayName?, email?, setCookie?}. */
static acct_t *read_credentials(vc_http_req_t *req, bool registering)
{
	json_t *o = body_object(req);
	const char *user, *pass, *display = NULL, *email = NULL;
	json_t *cookie;
	acct_t *a;

	if (o == NULL)
		return NULL;
	if (member(o, "username", &user) != 1 || member(o, "password", &pass) != 1) {
		fail(req, 400, "username and password are required strings");
	} else if (registering && !vc_user_name_ok(user)) {
		fail(req, 400,
		     "username must be 3 to 32 letters, digits, '_', '.' or '-', "
		     "starting with a letter or digit");
	} else if (registering && !valid_password(pass)) {
		fail(req, 400, "password must be 8 to 256 bytes long");
	} else if (registering && (member(o, "displayName", &display) < 0 ||
	                           (display != NULL && strlen(display) > DISPLAY_MAX))) {
		fail(req, 400, "displayName must be a string of at most 64 bytes");
	} else if (registering &&
	           (member(o, "email", &email) < 0 || (email != NULL && !valid_email(email)))) {
		fail(req, 400, "email must look like name@example.com (at most 254 bytes)");
	} else {
		a = vc_calloc(1, sizeof(*a));
		a->username = vc_strdup(user);
		a->password = vc_strdup(pass);
		a->display_name = vc_strdup(display != NULL && display[0] ? display : user);
		a->email = email != NULL ? vc_strdup(email) : NULL;
		cookie = json_object_get(o, "setCookie");
		a->set_cookie = json_is_true(cookie);
		json_decref(o);
		return a;
	}
	json_decref(o);
	return NULL;
}

/* {id, username, displayName, token, expiresAt} and, if asked, the cookie. */
static void answer_session(vc_http_req_t *req, acct_t *a, int status, const char *id,
                           const char *username, const char *display, long long expires_ms)
{
	if (a->set_cookie)
		vc_auth_set_cookie(req, a->token, (long long)vc_config_get()->session_ttl);
	vc_http_respond_json(req, status,
	                     json_pack("{s:s,s:s,s:s,s:s,s:I}", "id", id, "username", username,
	                               "displayName", display, "token", a->token, "expiresAt",
	                               (json_int_t)expires_ms));
}

static void ttl_ms(char *buf, size_t len)
{
	snprintf(buf, len, "%lld", (long long)(vc_config_get()->session_ttl * 1000.0));
}

/* --- register ------------------------------------------------------------- */

static void register_done(vc_http_req_t *req, vc_msg_t *reply)
{
	vc_pg_result_t *r = (vc_pg_result_t *)reply;
	acct_t *a = vc_http_data(req);
	const char *state = r->res ? PQresultErrorField(r->res, PG_DIAG_SQLSTATE) : NULL;

	if (r->status == VC_PG_ERROR && state != NULL && strcmp(state, "23505") == 0) {
		fail(req, 409, "Username is already taken");
		return;
	}
	if (pg_failed(req, reply))
		return;
	log_info("account registered: %s", PQgetvalue(r->res, 0, 1));
	answer_session(req, a, 201, PQgetvalue(r->res, 0, 0), PQgetvalue(r->res, 0, 1),
	               PQgetvalue(r->res, 0, 2), strtoll(PQgetvalue(r->res, 0, 3), NULL, 10));
}

static void register_hashed(vc_http_req_t *req, vc_msg_t *reply)
{
	vc_pw_job_t *job = (vc_pw_job_t *)reply;
	acct_t *a = vc_http_data(req);
	char hashp[67], ttl[24], addr[64], ua[USER_AGENT_MAX + 1];
	const char *params[8];

	if (job->hash[0] == '\0') {
		fail(req, 500, "Internal error");
		return;
	}
	vc_session_token_new(a->token, a->hash);
	vc_session_hash_param(a->hash, hashp);
	ttl_ms(ttl, sizeof(ttl));
	client_addr(req, addr, sizeof(addr));
	params[0] = a->username;
	params[1] = a->display_name;
	params[2] = a->email;
	params[3] = job->hash;
	params[4] = hashp;
	params[5] = ttl;
	user_agent(req, ua);
	params[6] = ua[0] ? ua : NULL;
	params[7] = addr;
	vc_http_await(req, register_done);
	vc_pg_query(st_register, 8, params, vc_http_actor(req), VC_HTTP_MSG_REPLY, NULL);
}

void vc_accounts_register(vc_http_req_t *req)
{
	acct_t *a;

	if (!rate_ok(req) || (a = read_credentials(req, true)) == NULL)
		return;
	vc_http_set_data(req, a, acct_free);
	if (vc_pw_job_run(req, VC_PW_JOB_HASH, a->password, NULL, register_hashed) != 0)
		fail(req, 503, "Service unavailable, try again");
}

/* --- login: find → verify (→ rehash) → session ------------------------------ */

static void login_done(vc_http_req_t *req, vc_msg_t *reply)
{
	vc_pg_result_t *r = (vc_pg_result_t *)reply;
	acct_t *a = vc_http_data(req);

	if (pg_failed(req, reply))
		return;
	if (a->new_hash[0] != '\0')
		log_info("password hash of %s upgraded to Argon2id", a->username);
	answer_session(req, a, 200, a->user_id, a->username, a->display_name,
	               strtoll(PQgetvalue(r->res, 0, 0), NULL, 10));
}

static void login_session(vc_http_req_t *req, acct_t *a)
{
	char hashp[67], ttl[24], addr[64], ua[USER_AGENT_MAX + 1];
	const char *params[7];

	vc_session_token_new(a->token, a->hash);
	vc_session_hash_param(a->hash, hashp);
	ttl_ms(ttl, sizeof(ttl));
	client_addr(req, addr, sizeof(addr));
	params[0] = a->user_id;
	params[1] = hashp;
	params[2] = ttl;
	user_agent(req, ua);
	params[3] = ua[0] ? ua : NULL;
	params[4] = addr;
	params[5] = a->new_hash[0] ? a->new_hash : NULL;
	params[6] = a->stored_hash;
	vc_http_await(req, login_done);
	vc_pg_query(st_session, 7, params, vc_http_actor(req), VC_HTTP_MSG_REPLY, NULL);
}

static void login_rehashed(vc_http_req_t *req, vc_msg_t *reply)
{
	vc_pw_job_t *job = (vc_pw_job_t *)reply;
	acct_t *a = vc_http_data(req);

	memcpy(a->new_hash, job->hash, sizeof(a->new_hash)); /* "" keeps the old one */
	login_session(req, a);
}

static void login_checked(vc_http_req_t *req, vc_msg_t *reply)
{
	vc_pw_job_t *job = (vc_pw_job_t *)reply;
	acct_t *a = vc_http_data(req);
	bool ok = a->found && (job->result == VC_PW_OK || job->result == VC_PW_OK_REHASH);

	if (!ok || a->disabled) {
		log_info("login refused for '%s': %s", a->username,
		         !a->found ? "no such user"
		         : !ok     ? (job->result == VC_PW_ERROR ? "unusable stored hash"
		                                                 : "wrong password")
		                   : "account disabled");
		fail(req, 401, "Invalid username or password");
		return;
	}
	if (job->result == VC_PW_OK_REHASH &&
	    vc_pw_job_run(req, VC_PW_JOB_HASH, a->password, NULL, login_rehashed) == 0)
		return;
	login_session(req, a); /* no rehash (or the pool is full: upgrade next time) */
}

static void login_found(vc_http_req_t *req, vc_msg_t *reply)
{
	vc_pg_result_t *r = (vc_pg_result_t *)reply;
	acct_t *a = vc_http_data(req);
	int rc;

	if (pg_failed(req, reply))
		return;
	if (PQntuples(r->res) == 1) {
		a->found = true;
		a->user_id = vc_strdup(PQgetvalue(r->res, 0, 0));
		free(a->username);
		a->username = vc_strdup(PQgetvalue(r->res, 0, 1));
		free(a->display_name);
		a->display_name = vc_strdup(PQgetvalue(r->res, 0, 2));
		a->stored_hash = vc_strdup(PQgetvalue(r->res, 0, 3));
		a->disabled = PQgetvalue(r->res, 0, 4)[0] == 't';
		rc = vc_pw_job_run(req, VC_PW_JOB_VERIFY, a->password, a->stored_hash,
		                   login_checked);
	} else { /* as much work as a real check: no timing oracle */
		rc = vc_pw_job_run(req, VC_PW_JOB_BURN, a->password, NULL, login_checked);
	}
	if (rc != 0)
		fail(req, 503, "Service unavailable, try again");
}

void vc_accounts_login(vc_http_req_t *req)
{
	acct_t *a;
	const char *params[1];

	if (!rate_ok(req) || (a = read_credentials(req, false)) == NULL)
		return;
	vc_http_set_data(req, a, acct_free);
	params[0] = a->username;
	vc_http_await(req, login_found);
	vc_pg_query(st_find, 1, params, vc_http_actor(req), VC_HTTP_MSG_REPLY, NULL);
}

/* --- the caller's own things ------------------------------------------------ */

static void logout_done(vc_http_req_t *req, vc_msg_t *reply)
{
	const vc_identity_t *id = vc_auth_identity(req);

	if (pg_failed(req, reply))
		return;
	vc_auth_forget_token(id->token_hash);
	if (id->from_cookie)
		vc_auth_set_cookie(req, "", 0);
	vc_http_respond_json(req, 200, json_pack("{s:b}", "success", 1));
}

void vc_accounts_logout(vc_http_req_t *req)
{
	const vc_identity_t *id = vc_auth_identity(req);
	char sid[24];
	const char *params[1] = { sid };

	snprintf(sid, sizeof(sid), "%lld", (long long)id->session_id);
	vc_http_await(req, logout_done);
	vc_pg_query(st_logout, 1, params, vc_http_actor(req), VC_HTTP_MSG_REPLY, NULL);
}

void vc_accounts_me(vc_http_req_t *req)
{
	const vc_identity_t *id = vc_auth_identity(req);

	vc_http_respond_json(req, 200,
	                     json_pack("{s:s,s:s,s:s,s:o,s:I}", "id", id->user_id, "username",
	                               id->username, "displayName", id->display_name, "email",
	                               str_or_null(id->email), "createdAt",
	                               (json_int_t)id->created_ms));
}

static void sessions_done(vc_http_req_t *req, vc_msg_t *reply)
{
	vc_pg_result_t *r = (vc_pg_result_t *)reply;
	const vc_identity_t *id = vc_auth_identity(req);
	json_t *list = json_array();

	if (pg_failed(req, reply)) {
		json_decref(list);
		return;
	}
	for (int i = 0; i < PQntuples(r->res); i++) {
		long long sid = strtoll(PQgetvalue(r->res, i, 0), NULL, 10);
		json_array_append_new(
		        list,
		        json_pack("{s:I,s:I,s:I,s:I,s:o,s:b}", "id", (json_int_t)sid, "createdAt",
		                  (json_int_t)strtoll(PQgetvalue(r->res, i, 1), NULL, 10),
		                  "lastSeenAt",
		                  (json_int_t)strtoll(PQgetvalue(r->res, i, 2), NULL, 10),
		                  "expiresAt",
		                  (json_int_t)strtoll(PQgetvalue(r->res, i, 3), NULL, 10),
		                  "userAgent",
		                  str_or_null(PQgetisnull(r->res, i, 4) ? NULL
		                                                        : PQgetvalue(r->res, i, 4)),
		                  "current", sid == id->session_id));
	}
	vc_http_respond_json(req, 200, json_pack("{s:o}", "sessions", list));
}

void vc_accounts_sessions(vc_http_req_t *req)
{
	const char *params[1] = { vc_auth_identity(req)->user_id };

	vc_http_await(req, sessions_done);
	vc_pg_query(st_list, 1, params, vc_http_actor(req), VC_HTTP_MSG_REPLY, NULL);
}

static void revoke_done(vc_http_req_t *req, vc_msg_t *reply)
{
	vc_pg_result_t *r = (vc_pg_result_t *)reply;
	long long sid;

	if (pg_failed(req, reply))
		return;
	if (PQntuples(r->res) != 1) {
		fail(req, 404, "Session not found");
		return;
	}
	sid = strtoll(PQgetvalue(r->res, 0, 0), NULL, 10);
	vc_auth_forget_session(sid);
	vc_http_respond_json(req, 200, json_pack("{s:I}", "revoked", (json_int_t)sid));
}

/* A positive decimal id, or false. */
static bool parse_id(const char *s, long long *out)
{
	char *end;

	if (s == NULL || !isdigit((unsigned char)s[0]) || strlen(s) > 18)
		return false;
	*out = strtoll(s, &end, 10);
	return *end == '\0' && *out > 0;
}

void vc_accounts_session_delete(vc_http_req_t *req)
{
	long long sid;
	char buf[24];
	const char *params[2] = { buf, vc_auth_identity(req)->user_id };

	if (!parse_id(vc_http_param(req, 0), &sid)) {
		fail(req, 404, "Session not found");
		return;
	}
	snprintf(buf, sizeof(buf), "%lld", sid);
	vc_http_await(req, revoke_done);
	vc_pg_query(st_revoke, 2, params, vc_http_actor(req), VC_HTTP_MSG_REPLY, NULL);
}

/* --- push device tokens ----------------------------------------------------- */

/* The percent-decoded device token of the path, or NULL (answered 400). */
static char *device_token(vc_http_req_t *req)
{
	const char *s = vc_http_param(req, 0);
	size_t j;
	char *out = vc_pct_decode(s ? s : "", s ? strlen(s) : 0, false, &j);

	for (size_t i = 0; i < j; i++) {
		if ((unsigned char)out[i] < 0x21 || (unsigned char)out[i] > 0x7e) {
			j = 0;
			break;
		}
	}
	if (j == 0 || j > DEVICE_TOKEN_MAX) {
		free(out);
		fail(req, 400, "A device token is 1 to 2048 printable characters");
		return NULL;
	}
	return out;
}

static void device_put_done(vc_http_req_t *req, vc_msg_t *reply)
{
	if (pg_failed(req, reply))
		return;
	vc_http_respond_json(req, 200, json_pack("{s:b}", "success", 1));
}

void vc_accounts_device_put(vc_http_req_t *req)
{
	char *tok = device_token(req);
	const char *params[2] = { tok, vc_auth_identity(req)->user_id };

	if (tok == NULL)
		return;
	vc_http_await(req, device_put_done);
	vc_pg_query(st_dev_put, 2, params, vc_http_actor(req), VC_HTTP_MSG_REPLY, NULL);
	free(tok);
}

static void device_delete_done(vc_http_req_t *req, vc_msg_t *reply)
{
	vc_pg_result_t *r = (vc_pg_result_t *)reply;

	if (pg_failed(req, reply))
		return;
	if (strcmp(PQcmdTuples(r->res), "0") == 0) {
		fail(req, 404, "Device token not found");
		return;
	}
	vc_http_respond_json(req, 200, json_pack("{s:b}", "success", 1));
}

void vc_accounts_device_delete(vc_http_req_t *req)
{
	char *tok = device_token(req);
	const char *params[2] = { tok, vc_auth_identity(req)->user_id };

	if (tok == NULL)
		return;
	vc_http_await(req, device_delete_done);
	vc_pg_query(st_dev_del, 2, params, vc_http_actor(req), VC_HTTP_MSG_REPLY, NULL);
	free(tok);
}

static void devices_done(vc_http_req_t *req, vc_msg_t *reply)
{
	vc_pg_result_t *r = (vc_pg_result_t *)reply;
	json_t *list;

	if (pg_failed(req, reply))
		return;
	list = json_array();
	for (int i = 0; i < PQntuples(r->res); i++)
		json_array_append_new(
		        list, json_pack("{s:s,s:I}", "token", PQgetvalue(r->res, i, 0), "createdAt",
		                        (json_int_t)strtoll(PQgetvalue(r->res, i, 1), NULL, 10)));
	vc_http_respond_json(req, 200, json_pack("{s:o}", "tokens", list));
}

void vc_accounts_devices(vc_http_req_t *req)
{
	const char *params[1] = { vc_auth_identity(req)->user_id };

	vc_http_await(req, devices_done);
	vc_pg_query(st_devs, 1, params, vc_http_actor(req), VC_HTTP_MSG_REPLY, NULL);
}

/* --- videocall.rs: /session, /profile, /logout -------------------------------- */

void vc_accounts_vc_session(vc_http_req_t *req)
{
	vc_http_respond(req, 200, NULL, NULL, 0);
}

void vc_accounts_vc_profile(vc_http_req_t *req)
{
	const vc_identity_t *id = vc_auth_identity(req);

	vc_http_respond_json(req, 200,
	                     json_pack("{s:b,s:{s:s,s:s}}", "success", 1, "result", "user_id",
	                               id->user_id, "name", id->display_name));
}

static void vc_logout_done(vc_http_req_t *req, vc_msg_t *reply)
{
	const uint8_t *hash = vc_http_data(req);

	if (((vc_pg_result_t *)reply)->status != VC_PG_OK) {
		vc_auth_error(req, VC_ERR_ENVELOPE, 503, "INTERNAL_ERROR",
		              "Service unavailable, try again");
		return;
	}
	vc_auth_forget_token(hash);
	vc_auth_set_cookie(req, "", 0);
	vc_http_respond(req, 200, NULL, NULL, 0);
}

/* No authentication required: the cookie is cleared in any case, and a vcd
 * session presented with the request is revoked first. */
void vc_accounts_vc_logout(vc_http_req_t *req)
{
	bool from_cookie;
	char *tok = vc_auth_credential(req, &from_cookie);
	uint8_t *hash = vc_malloc(32);
	char hashp[67];
	const char *params[1] = { hashp };

	/* HEAD is a safe method: it shows the answer and changes nothing. */
	if (tok == NULL || !vc_session_token_hash(tok, hash) ||
	    strcmp(vc_http_method(req), "HEAD") == 0) {
		free(tok);
		free(hash);
		vc_auth_set_cookie(req, "", 0);
		vc_http_respond(req, 200, NULL, NULL, 0);
		return;
	}
	sodium_memzero(tok, strlen(tok));
	free(tok);
	vc_http_set_data(req, hash, free);
	vc_session_hash_param(hash, hashp);
	vc_http_await(req, vc_logout_done);
	vc_pg_query(st_logout_hash, 1, params, vc_http_actor(req), VC_HTTP_MSG_REPLY, NULL);
}
