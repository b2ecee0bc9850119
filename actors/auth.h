/*
 * auth.h — who is calling: the credential on a request, checked.
 *
 * A credential is the session cookie (cookie_name) or, only when no such
 * cookie is present, "Authorization: Bearer <token>" — the cookie wins and
 * an invalid cookie is not rescued by a header (videocall.rs §2.3). It is
 * either a vcd session token (64 hex characters; looked up by its SHA-256,
 * through a per-node cache) or, with session_jwt_compat on and on routes
 * that allow it, a videocall.rs session JWT (HS256, not revocable).
 *
 * The identity derives from the credential only; user ids in bodies are
 * never trusted.
 */
#ifndef VC_AUTH_H
#define VC_AUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "wire/http.h"

enum vc_identity_kind { VC_ID_SESSION = 1, VC_ID_JWT = 2, VC_ID_EMBED = 3 };

/* The longest user id vcd stores (meeting_participants.user_id): a session
 * JWT whose sub is longer is refused. */
#define VC_USER_ID_MAX 255

typedef struct vc_identity {
	enum vc_identity_kind kind;
	char *user_id;      /* users.id, or the JWT's sub */
	char *username;     /* "" for a JWT */
	char *display_name; /* the JWT's name */
	char *email;        /* NULL when none */
	int64_t created_ms; /* account creation, 0 for a JWT */
	int64_t session_id; /* sessions.id, 0 for a JWT */
	uint8_t token_hash[32];
	bool from_cookie;
} vc_identity_t;

/* Route flags (vc_route_t.flags). */
enum {
	VC_AUTH_SESSION = 1 << 0, /* a vcd session token is required */
	VC_AUTH_JWT = 1 << 1,     /* ... or a videocall.rs session JWT (compat switch) */
	VC_AUTH_EMBED = 1 << 2,   /* ... or an embed authToken of a live /lobby session
	                           * (actors/embed.h), as that session's user; on a
	                           * route whose first path parameter is a meeting id,
	                           * only for the token's own meeting */
	VC_ERR_ENVELOPE = 1 << 4, /* errors as videocall.rs {success,result}; else {"error"} */
};

/* Main thread, before the workers: statements and the cache. */
void vc_auth_init(void);
/* Check the request's credential as `flags` demand, then run handler (at
 * once or after a database lookup); on failure answer 401 (or 503 when the
 * database is unreachable) in the route's error style. */
void vc_auth_run(vc_http_req_t *req, unsigned flags, vc_http_handler_fn handler);
/* The identity of an authenticated request (NULL before vc_auth_run). */
const vc_identity_t *vc_auth_identity(const vc_http_req_t *req);

/* A session token checked outside an HTTP request (the /ws identify), on
 * the caller's worker. VC_AUTH_OK: *id is the identity (free with
 * vc_identity_free). VC_AUTH_BAD: not a live session. VC_AUTH_PENDING: the
 * cache did not know it; the database answers reply_to with a
 * vc_pg_result_t of type reply_type, to be handed to vc_auth_token_result
 * with the same hash. */
enum vc_auth_check { VC_AUTH_OK, VC_AUTH_BAD, VC_AUTH_PENDING, VC_AUTH_UNAVAILABLE };
enum vc_auth_check vc_auth_token_check(const char *token, uint8_t hash[32], vc_actor_t *reply_to,
                                       uint32_t reply_type, vc_identity_t **id);
/* The same for a token known by its hash (a session that asks again). */
enum vc_auth_check vc_auth_token_check_hash(const uint8_t hash[32], vc_actor_t *reply_to,
                                            uint32_t reply_type, vc_identity_t **id);
/* Called with what a revocation (or any forgetting) concerns — one of a
 * token's hash, a session id or a user id — on this node and when another
 * node announces one; from any thread. The /ws sessions register here. */
typedef void (*vc_auth_forget_hook)(const uint8_t *hash, int64_t session_id, const char *user_id);
void vc_auth_on_forget(vc_auth_forget_hook hook);
/* The database's answer to a PENDING check: OK with *id, BAD, or
 * UNAVAILABLE (the database could not be asked). */
enum vc_auth_check vc_auth_token_result(vc_msg_t *reply, const uint8_t hash[32],
                                        vc_identity_t **id);

/* The raw credential (cookie first, then Bearer), malloc'ed, or NULL. */
char *vc_auth_credential(vc_http_req_t *req, bool *from_cookie);
/* Hash a session token (64 hex characters); false if it is not one. */
bool vc_session_token_hash(const char *token, uint8_t hash[32]);

/* Error answers in a route's style. */
void vc_auth_error(vc_http_req_t *req, unsigned flags, int status, const char *code,
                   const char *message);

/* A new session token: 64 hex characters (NUL-terminated) and its hash. */
void vc_session_token_new(char hex[65], uint8_t hash[32]);
/* hash as PostgreSQL bytea text ("\\x" + 64 hex), NUL-terminated. */
void vc_session_hash_param(const uint8_t hash[32], char out[67]);

/* Forget cached sessions: one (by token hash or id) or all of a user's.
 * Safe from any thread; also announced to other nodes over NATS. */
void vc_auth_forget_token(const uint8_t hash[32]);
void vc_auth_forget_session(int64_t session_id);
void vc_auth_forget_user(const char *user_id);

/* On worker w's thread before its loop runs: worker 0 gets the actor that
 * applies other nodes' revocations (vc_auth_subscribe) to the cache. */
void vc_auth_worker_start(vc_worker_t *w);
/* On worker w's thread as it stops (after its PostgreSQL pool): release
 * what auth keeps per worker. */
void vc_auth_worker_stop(vc_worker_t *w);
/* Main thread, after vc_nats_start: hear other nodes' revocations. */
int vc_auth_subscribe(void) VC_MUSTCHECK;

/* The session cookie, set or cleared (Max-Age=0), with the configured
 * attributes. */
void vc_auth_set_cookie(vc_http_req_t *req, const char *value, int64_t max_age);

#endif
