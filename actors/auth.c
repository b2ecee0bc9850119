/*
 * auth.c — checking the credential of a request (see auth.h): cookie or
 * Bearer, session token through the cache or PostgreSQL, or a videocall.rs
 * session JWT when the compatibility switch is on.
 */
#include "actors/auth.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "actors/embed.h"
#include "actors/session_cache.h"
#include "runtime/config.h"
#include "runtime/log.h"
#include "runtime/nats.h"
#include "runtime/pg.h"
#include "wire/jwt.h"
#include "wire/urlenc.h"

static int stmt_lookup, stmt_touch;
/* The actor that applies other nodes' revocations (see on_forget). */
static pthread_mutex_t forgetter_mu = PTHREAD_MUTEX_INITIALIZER;
static vc_actor_t *forgetter; /* under forgetter_mu */

typedef struct pending {
	vc_http_handler_fn handler;
	unsigned flags;
	uint8_t hash[32];
	bool from_cookie;
} pending_t;

void vc_auth_init(void)
{
	stmt_lookup =
	        vc_pg_statement("auth_lookup",
	                        "SELECT s.id, u.id::text, u.username, u.display_name, u.email,"
	                        " (extract(epoch FROM u.created_at) * 1000)::bigint"
	                        " FROM sessions s JOIN users u ON u.id = s.user_id"
	                        " WHERE s.token_hash = $1::bytea AND s.revoked_at IS NULL"
	                        " AND s.expires_at > now() AND u.disabled_at IS NULL",
	                        1);
	stmt_touch = vc_pg_statement("auth_touch",
	                             "UPDATE sessions SET last_seen_at = now() WHERE id = $1", 1);
}

/* --- tokens --------------------------------------------------------------- */

void vc_session_token_new(char hex[65], uint8_t hash[32])
{
	uint8_t raw[32];

	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(hex, 65, raw, sizeof(raw));
	crypto_hash_sha256(hash, raw, sizeof(raw));
	sodium_memzero(raw, sizeof(raw));
}

void vc_session_hash_param(const uint8_t hash[32], char out[67])
{
	out[0] = '\\';
	out[1] = 'x';
	sodium_bin2hex(out + 2, 65, hash, 32);
}

/* 64 hex characters (either case) → the SHA-256 of the 32 bytes. */
bool vc_session_token_hash(const char *tok, uint8_t hash[32])
{
	uint8_t raw[32];
	size_t len;

	if (strlen(tok) != 64 || sodium_hex2bin(raw, sizeof(raw), tok, 64, NULL, &len, NULL) != 0 ||
	    len != 32)
		return false;
	crypto_hash_sha256(hash, raw, sizeof(raw));
	sodium_memzero(raw, sizeof(raw));
	return true;
}

/* --- errors --------------------------------------------------------------- */

static void error_envelope(vc_http_req_t *req, int status, const char *code, const char *message,
                           const char *engineering)
{
	json_t *result = json_pack("{s:s,s:s}", "code", code, "message", message);

	if (engineering != NULL)
		json_object_set_new(result, "engineering_error", json_string(engineering));
	vc_http_respond_json(req, status, json_pack("{s:b,s:o}", "success", 0, "result", result));
}

void vc_auth_error(vc_http_req_t *req, unsigned flags, int status, const char *code,
                   const char *message)
{
	if (flags & VC_ERR_ENVELOPE)
		error_envelope(req, status, code, message, NULL);
	else
		vc_http_respond_json(req, status, json_pack("{s:s}", "error", message));
}

/* 401; `presented` says a credential was there but did not hold. */
static void unauthorized(vc_http_req_t *req, unsigned flags, bool presented)
{
	if (flags & VC_ERR_ENVELOPE)
		error_envelope(req, 401, "UNAUTHORIZED", "Authentication required.",
		               presented ? "invalid or expired session" : NULL);
	else
		vc_http_respond_json(req, 401,
		                     json_pack("{s:s}", "error",
		                               presented ? "Invalid or expired session"
		                                         : "Authentication required"));
}

/* --- finding the credential (videocall.rs §2.3) --------------------------- */

static char *trimmed(const char *s, size_t n)
{
	while (n > 0 && (*s == ' ' || *s == '\t'))
		s++, n--;
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	return vc_strndup(s, n);
}

/* The first "<name>=<non-empty>" pair of the Cookie header, or NULL. */
static char *cookie_token(const char *header, const char *name)
{
	size_t nl = strlen(name);

	while (header != NULL && *header != '\0') {
		size_t n = strcspn(header, ";");
		char *pair = trimmed(header, n);
		if (strncmp(pair, name, nl) == 0 && pair[nl] == '=') {
			char *v = trimmed(pair + nl + 1, strlen(pair + nl + 1));
			free(pair);
			if (*v != '\0')
				return v;
			free(v);
		} else {
			free(pair);
		}
		header += n;
		if (*header == ';')
			header++;
	}
	return NULL;
}

char *vc_auth_credential(vc_http_req_t *req, bool *from_cookie)
{
	const char *auth = vc_http_header(req, "Authorization");
	char *tok = cookie_token(vc_http_header(req, "Cookie"), vc_config_get()->cookie_name);

	*from_cookie = tok != NULL;
	if (tok == NULL && auth != NULL && strncmp(auth, "Bearer ", 7) == 0) {
		tok = trimmed(auth + 7, strlen(auth + 7));
		if (*tok == '\0') {
			free(tok);
			tok = NULL;
		}
	}
	return tok;
}

/* --- outcomes ------------------------------------------------------------- */

static void proceed(vc_http_req_t *req, vc_identity_t *id, vc_http_handler_fn handler)
{
	vc_http_set_data(req, id, vc_identity_free);
	handler(req);
}

static int sink_result(vc_actor_t *self, vc_msg_t *m)
{
	return VC_MSG_DONE; /* last_seen_at is best effort */
}

static const vc_handler_fn sink_handlers[] = { sink_result };
static const vc_behaviour_t sink_behaviour = { .name = "auth-sink",
	                                       .handlers = sink_handlers,
	                                       .nhandlers = 1 };

void vc_auth_worker_stop(vc_worker_t *w)
{
	vc_actor_t *sink = vc_worker_slot(w, VC_SLOT_APP), *f = NULL;

	if (sink != NULL) {
		vc_worker_set_slot(w, VC_SLOT_APP, NULL);
		vc_actor_unref(sink); /* freed once its last answer has been dropped */
	}
	if (vc_worker_index(w) == 0) {
		pthread_mutex_lock(&forgetter_mu);
		f = forgetter;
		forgetter = NULL;
		pthread_mutex_unlock(&forgetter_mu);
	}
	if (f != NULL) {
		vc_actor_stop(f);
		vc_actor_unref(f);
	}
}

/* Record a session's use, without waiting for the answer. */
static void touch(vc_http_req_t *req, int64_t session_id)
{
	vc_worker_t *w = vc_http_worker(req);
	vc_actor_t *sink = vc_worker_slot(w, VC_SLOT_APP);
	char id[24];
	const char *params[1] = { id };

	if (sink == NULL) {
		sink = vc_actor_new(&sink_behaviour, w, NULL);
		vc_worker_set_slot(w, VC_SLOT_APP, sink);
	}
	snprintf(id, sizeof(id), "%lld", (long long)session_id);
	vc_pg_query(stmt_touch, 1, params, sink, 0, NULL);
}

/* One row of stmt_lookup as an identity (pointing into the result). */
static void identity_of_row(const PGresult *res, const uint8_t hash[32], vc_identity_t *id)
{
	memcpy(id->token_hash, hash, 32);
	id->kind = VC_ID_SESSION;
	id->session_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	id->user_id = PQgetvalue(res, 0, 1);
	id->username = PQgetvalue(res, 0, 2);
	id->display_name = PQgetvalue(res, 0, 3);
	id->email = PQgetisnull(res, 0, 4) ? NULL : PQgetvalue(res, 0, 4);
	id->created_ms = strtoll(PQgetvalue(res, 0, 5), NULL, 10);
}

enum vc_auth_check vc_auth_token_check(const char *token, uint8_t hash[32], vc_actor_t *reply_to,
                                       uint32_t reply_type, vc_identity_t **id)
{
	*id = NULL;
	if (token == NULL || !vc_session_token_hash(token, hash))
		return VC_AUTH_BAD;
	return vc_auth_token_check_hash(hash, reply_to, reply_type, id);
}

enum vc_auth_check vc_auth_token_check_hash(const uint8_t hash[32], vc_actor_t *reply_to,
                                            uint32_t reply_type, vc_identity_t **id)
{
	char param[67];
	const char *params[1] = { param };
	bool want_touch;

	*id = NULL;
	switch (vc_session_cache_get(hash, vc_now_us() / 1e6, vc_config_get()->session_cache_ttl,
	                             id, &want_touch)) {
	case VC_CACHE_HIT: return VC_AUTH_OK;
	case VC_CACHE_NEGATIVE: return VC_AUTH_BAD;
	case VC_CACHE_MISS: break;
	}
	vc_session_hash_param(hash, param);
	vc_pg_query(stmt_lookup, 1, params, reply_to, reply_type, NULL);
	return VC_AUTH_PENDING;
}

enum vc_auth_check vc_auth_token_result(vc_msg_t *reply, const uint8_t hash[32], vc_identity_t **id)
{
	vc_pg_result_t *r = (vc_pg_result_t *)reply;
	vc_identity_t row = { 0 };

	*id = NULL;
	if (r->status != VC_PG_OK)
		return VC_AUTH_UNAVAILABLE;
	if (PQntuples(r->res) != 1) {
		vc_session_cache_put(hash, NULL, vc_now_us() / 1e6);
		return VC_AUTH_BAD;
	}
	identity_of_row(r->res, hash, &row);
	vc_session_cache_put(hash, &row, vc_now_us() / 1e6);
	*id = vc_identity_copy(&row);
	return VC_AUTH_OK;
}

static void lookup_done(vc_http_req_t *req, vc_msg_t *reply)
{
	vc_pg_result_t *r = (vc_pg_result_t *)reply;
	pending_t *p = vc_http_data(req);
	vc_http_handler_fn handler = p->handler;
	unsigned flags = p->flags;
	vc_identity_t id = { .kind = VC_ID_SESSION, .from_cookie = p->from_cookie };

	if (r->status != VC_PG_OK) {
		vc_auth_error(req, flags, 503, "INTERNAL_ERROR", "Service unavailable, try again");
		return;
	}
	if (PQntuples(r->res) != 1) {
		vc_session_cache_put(p->hash, NULL, vc_now_us() / 1e6);
		unauthorized(req, flags, true);
		return;
	}
	identity_of_row(r->res, p->hash, &id);
	vc_session_cache_put(p->hash, &id, vc_now_us() / 1e6);
	touch(req, id.session_id);
	proceed(req, vc_identity_copy(&id), handler);
}

static void check_session(vc_http_req_t *req, const char *tok, bool from_cookie, unsigned flags,
                          vc_http_handler_fn handler)
{
	const vc_config_t *cfg = vc_config_get();
	uint8_t hash[32];
	char param[67];
	const char *params[1] = { param };
	vc_identity_t *id;
	bool want_touch;
	pending_t *p;

	if (!vc_session_token_hash(tok, hash)) {
		unauthorized(req, flags, true);
		return;
	}
	switch (vc_session_cache_get(hash, vc_now_us() / 1e6, cfg->session_cache_ttl, &id,
	                             &want_touch)) {
	case VC_CACHE_HIT:
		id->from_cookie = from_cookie;
		if (want_touch)
			touch(req, id->session_id);
		proceed(req, id, handler);
		return;
	case VC_CACHE_NEGATIVE: unauthorized(req, flags, true); return;
	case VC_CACHE_MISS: break;
	}
	p = vc_malloc(sizeof(*p));
	*p = (pending_t){ .handler = handler, .flags = flags, .from_cookie = from_cookie };
	memcpy(p->hash, hash, 32);
	vc_http_set_data(req, p, free);
	vc_session_hash_param(hash, param);
	vc_http_await(req, lookup_done);
	vc_pg_query(stmt_lookup, 1, params, vc_http_actor(req), VC_HTTP_MSG_REPLY, NULL);
}

static void check_jwt(vc_http_req_t *req, const char *tok, bool from_cookie, unsigned flags,
                      vc_http_handler_fn handler)
{
	const vc_config_t *cfg = vc_config_get();
	json_t *claims = NULL;
	const char *sub, *name;
	enum vc_jwt_error e;

	e = vc_jwt_verify(tok, (const uint8_t *)cfg->jwt_secret, strlen(cfg->jwt_secret),
	                  VC_JWT_ISSUER, (int64_t)(vc_wall_ms() / 1000), &claims);
	sub = claims ? json_string_value(json_object_get(claims, "sub")) : NULL;
	name = claims ? json_string_value(json_object_get(claims, "name")) : NULL;
	if (e != VC_JWT_OK || sub == NULL || name == NULL || *sub == '\0' ||
	    vc_utf8_chars(sub) > VC_USER_ID_MAX ||
	    !json_is_integer(json_object_get(claims, "iat"))) {
		log_debug("session JWT refused: %s",
		          e != VC_JWT_OK ? vc_jwt_strerror(e)
		                         : "missing sub, name or iat, or sub over 255 characters");
		json_decref(claims);
		unauthorized(req, flags, true);
		return;
	}
	vc_identity_t id = { .kind = VC_ID_JWT,
		             .user_id = (char *)sub,
		             .username = "",
		             .display_name = (char *)name,
		             .from_cookie = from_cookie };
	vc_identity_t *copy = vc_identity_copy(&id);
	json_decref(claims);
	proceed(req, copy, handler);
}

/* The holder of an embed authToken answered (actors/embed.c). */
static void embed_done(vc_http_req_t *req, vc_msg_t *reply)
{
	pending_t *p = vc_http_data(req);
	const char *user, *name;

	if (!vc_embed_answer(reply, &user, &name)) {
		vc_embed_count_use(false);
		unauthorized(req, p->flags, true);
		return;
	}
	vc_embed_count_use(true);
	vc_identity_t id = { .kind = VC_ID_EMBED,
		             .user_id = (char *)user,
		             .username = "",
		             .display_name = (char *)name,
		             .from_cookie = p->from_cookie };
	vc_http_handler_fn handler = p->handler;
	proceed(req, vc_identity_copy(&id), handler);
}

/* An embed authToken: for its own meeting only (the route's first path
 * parameter, when it has one), live at the node that holds it. */
static void check_embed(vc_http_req_t *req, const char *tok, bool from_cookie, unsigned flags,
                        vc_http_handler_fn handler)
{
	const char *param = vc_http_param(req, 0);
	char room[256];
	pending_t *p;

	if (!vc_embed_token_room(tok, room, sizeof(room))) {
		vc_embed_count_use(false);
		unauthorized(req, flags, true);
		return;
	}
	if (param != NULL) {
		size_t len;
		char *meeting = vc_pct_decode(param, strlen(param), false, &len);
		bool same = strlen(meeting) == len && strcmp(meeting, room) == 0;
		free(meeting);
		if (!same) {
			log_debug("embed authToken refused: for another meeting");
			vc_embed_count_use(false);
			unauthorized(req, flags, true);
			return;
		}
	}
	p = vc_malloc(sizeof(*p));
	*p = (pending_t){ .handler = handler, .flags = flags, .from_cookie = from_cookie };
	vc_http_set_data(req, p, free);
	if (!vc_embed_verify(req, tok, embed_done)) {
		vc_embed_count_use(false);
		unauthorized(req, flags, true);
	}
}

void vc_auth_run(vc_http_req_t *req, unsigned flags, vc_http_handler_fn handler)
{
	const vc_config_t *cfg = vc_config_get();
	bool from_cookie;
	char *tok = vc_auth_credential(req, &from_cookie);

	if (tok == NULL) {
		unauthorized(req, flags, false);
	} else if (vc_embed_is_token(tok)) {
		if (flags & VC_AUTH_EMBED)
			check_embed(req, tok, from_cookie, flags, handler);
		else
			unauthorized(req, flags, true);
	} else if (strchr(tok, '.') != NULL) { /* a JWT */
		if ((flags & VC_AUTH_JWT) && cfg->session_jwt_compat && cfg->jwt_secret[0] != '\0')
			check_jwt(req, tok, from_cookie, flags, handler);
		else
			unauthorized(req, flags, true);
	} else {
		check_session(req, tok, from_cookie, flags, handler);
	}
	if (tok != NULL)
		sodium_memzero(tok, strlen(tok));
	free(tok);
}

const vc_identity_t *vc_auth_identity(const vc_http_req_t *req)
{
	return vc_http_data(req);
}

/* --- revocation ----------------------------------------------------------- */

/*
 * A revocation is applied to this node's cache at once and announced on
 * VC_AUTH_SUBJECT so that every other node forgets the same sessions; the
 * bridge never echoes a node's own messages back to it. Without NATS (or
 * while it is down) other nodes notice within session_cache_ttl.
 */
#define VC_AUTH_SUBJECT "vcd.sessions.forget"

static _Atomic(vc_auth_forget_hook) forget_hook;

void vc_auth_on_forget(vc_auth_forget_hook hook)
{
	atomic_store(&forget_hook, hook);
}

static void tell_hook(const uint8_t *hash, int64_t session_id, const char *user_id)
{
	vc_auth_forget_hook hook = atomic_load(&forget_hook);

	if (hook != NULL)
		hook(hash, session_id, user_id);
}

static void announce(json_t *what)
{
	char *text = json_dumps(what, JSON_COMPACT);

	if (text != NULL && vc_nats_publish(VC_AUTH_SUBJECT, text, strlen(text)) != 0)
		log_debug("session revocation not announced (NATS down); other nodes "
		          "notice within session_cache_ttl");
	free(text);
	json_decref(what);
}

void vc_auth_forget_token(const uint8_t hash[32])
{
	char hex[65];

	vc_session_cache_forget_token(hash);
	tell_hook(hash, 0, NULL);
	sodium_bin2hex(hex, sizeof(hex), hash, 32);
	announce(json_pack("{s:s}", "token_hash", hex));
}

void vc_auth_forget_session(int64_t session_id)
{
	vc_session_cache_forget_session(session_id);
	tell_hook(NULL, session_id, NULL);
	announce(json_pack("{s:I}", "session_id", (json_int_t)session_id));
}

void vc_auth_forget_user(const char *user_id)
{
	vc_session_cache_forget_user(user_id);
	tell_hook(NULL, 0, user_id);
	announce(json_pack("{s:s}", "user_id", user_id));
}

/*
 * Other nodes' revocations arrive on a nats.c thread, which only turns each
 * into a message (DESIGN.md §3) for the forgetter: one actor, on worker 0,
 * that applies them to the cache. Before the workers start and after they
 * stop there is no forgetter, and no request to serve from the cache: the
 * message is dropped.
 */
#define FORGET_MAX 1024 /* bytes: the messages are a few dozen */

typedef struct forget_msg {
	vc_msg_t msg;
	size_t len;
	char text[];
} forget_msg_t;

static int on_forget_msg(vc_actor_t *self, vc_msg_t *msg)
{
	forget_msg_t *f = (forget_msg_t *)msg;
	json_t *m = json_loadb(f->text, f->len, 0, NULL);
	const char *hex = json_string_value(json_object_get(m, "token_hash"));
	const char *user = json_string_value(json_object_get(m, "user_id"));
	json_t *sid = json_object_get(m, "session_id");
	uint8_t hash[32];
	size_t n;

	if (hex != NULL &&
	    sodium_hex2bin(hash, sizeof(hash), hex, strlen(hex), NULL, &n, NULL) == 0 && n == 32) {
		vc_session_cache_forget_token(hash);
		tell_hook(hash, 0, NULL);
	} else if (user != NULL) {
		vc_session_cache_forget_user(user);
		tell_hook(NULL, 0, user);
	} else if (json_is_integer(sid)) {
		vc_session_cache_forget_session(json_integer_value(sid));
		tell_hook(NULL, json_integer_value(sid), NULL);
	} else
		log_warn("ignored a malformed message on %s", VC_AUTH_SUBJECT);
	json_decref(m);
	return VC_MSG_DONE;
}

static const vc_handler_fn forgetter_handlers[] = { on_forget_msg };
static const vc_behaviour_t forgetter_behaviour = { .name = "auth-forget",
	                                            .handlers = forgetter_handlers,
	                                            .nhandlers = 1 };

/* On a nats.c thread: another node revoked something. */
static void on_forget(const char *subject, const void *data, size_t len, void *arg)
{
	forget_msg_t *f;

	if (len > FORGET_MAX) {
		log_warn("ignored a %zu-byte message on %s (revocations are small)", len, subject);
		return;
	}
	f = vc_msg_new(sizeof(*f) + len, 0);
	f->len = len;
	memcpy(f->text, data, len);
	pthread_mutex_lock(&forgetter_mu);
	if (forgetter != NULL) {
		vc_actor_send(forgetter, &f->msg);
		f = NULL;
	}
	pthread_mutex_unlock(&forgetter_mu);
	if (f != NULL)
		vc_msg_destroy(&f->msg);
}

void vc_auth_worker_start(vc_worker_t *w)
{
	if (vc_worker_index(w) != 0)
		return;
	pthread_mutex_lock(&forgetter_mu);
	forgetter = vc_actor_new(&forgetter_behaviour, w, NULL);
	pthread_mutex_unlock(&forgetter_mu);
}

int vc_auth_subscribe(void)
{
	return vc_nats_subscribe(VC_AUTH_SUBJECT, on_forget, NULL);
}

/* --- the cookie ----------------------------------------------------------- */

void vc_auth_set_cookie(vc_http_req_t *req, const char *value, int64_t max_age)
{
	const vc_config_t *cfg = vc_config_get();
	char buf[512];

	snprintf(buf, sizeof(buf), "%s=%s; Path=/; HttpOnly; SameSite=Lax; Max-Age=%lld%s%s%s",
	         cfg->cookie_name, value, (long long)max_age, cfg->cookie_secure ? "; Secure" : "",
	         cfg->cookie_domain[0] ? "; Domain=" : "", cfg->cookie_domain);
	vc_http_add_header(req, "Set-Cookie", buf);
}
