/*
 * server_members.c — who is in a server: join (public, password, private
 * → a join request), leave, the member list, and the owner's join requests
 * and decisions. Kick, ban and unban are in actors/server_moderation.c.
 *
 * A join is one call of vcd_server_join (sql/006_servers.sql), which locks
 * the server and decides. When the server has a password the call answers
 * "password" with the stored hash instead; the offered password is checked
 * against it on the offload pool (counted against auth_rate_limit first, as
 * every guess at a secret is) and the call is made again with the hash that
 * matched, so a password changed in between is checked again. Joins are
 * limited per user (server_join_rate_limit), counted before anything else.
 *
 * Outcomes of the functions map to answers through tables (vc_srv_outcome_t).
 */
#include "actors/servers.h"

#include "actors/servers_int.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/accounts.h"
#include "actors/auth.h"
#include "actors/password_job.h"
#include "runtime/config.h"
#include "runtime/log.h"
#include "runtime/ratelimit.h"

#define PASSWORD_CHECKS 2 /* a password changed twice during one join: refused */

#define OWNED VC_SRV_OWNED

static int st_join, st_leave, st_members, st_requests, st_decide;

/* clang-format off */
/* Lists: the first columns once per row, then one item per row; an empty
 * page is one row with NULL item columns. */
static const vc_pg_stmt_def_t stmts[] = {
	{ &st_join, "srv_join",
	  "SELECT o_outcome, o_hash, o_request::text, o_role, o_ms"
	  " FROM vcd_server_join($1::uuid, $2::uuid, $3)", 3 },
	/* Columns: the caller owns it, members removed (0 or 1). */
	{ &st_leave, "srv_leave",
	  "WITH " OWNED ", d AS (DELETE FROM server_members m USING s"
	  " WHERE m.server_id = s.id AND m.user_id = $2::uuid AND NOT s.mine RETURNING 1)"
	  " SELECT s.mine, (SELECT count(*) FROM d) FROM s", 2 },
	/* $2 the caller or NULL. Columns: private, the caller is a member,
	 * members, then each member (none when private and not a member). */
	{ &st_members, "srv_members",
	  "WITH s AS (SELECT id, is_private, EXISTS (SELECT 1 FROM server_members m"
	  "  WHERE m.server_id = $1::uuid AND m.user_id = $2::uuid) AS mine,"
	  "  (SELECT count(*) FROM server_members m WHERE m.server_id = $1::uuid) AS n"
	  "  FROM servers WHERE id = $1::uuid)"
	  " SELECT s.is_private, s.mine, s.n, p.user_id::text, p.username, p.display_name,"
	  " p.role, vcd_ms(p.joined_at) FROM s LEFT JOIN LATERAL (SELECT m.user_id, u.username,"
	  "  u.display_name, m.role, m.joined_at FROM server_members m"
	  "  JOIN users u ON u.id = m.user_id"
	  "  WHERE m.server_id = s.id AND (NOT s.is_private OR s.mine)"
	  "  ORDER BY m.role = 'owner' DESC, m.joined_at, m.user_id"
	  "  LIMIT $3::bigint OFFSET $4::bigint) p ON true"
	  " ORDER BY p.role = 'owner' DESC, p.joined_at, p.user_id", 4 },
	/* Columns: the caller owns it, pending requests, then each request. */
	{ &st_requests, "srv_requests",
	  "WITH " OWNED " SELECT s.mine, (SELECT count(*) FROM server_join_requests q"
	  "  WHERE q.server_id = s.id AND q.status = 'pending'),"
	  " p.id::text, p.user_id::text, p.username, p.display_name, vcd_ms(p.created_at)"
	  " FROM s LEFT JOIN LATERAL (SELECT q.id, q.user_id, u.username, u.display_name,"
	  "  q.created_at FROM server_join_requests q JOIN users u ON u.id = q.user_id"
	  "  WHERE q.server_id = s.id AND q.status = 'pending' AND s.mine"
	  "  ORDER BY q.created_at, q.id LIMIT $3::bigint OFFSET $4::bigint) p ON true"
	  " ORDER BY p.created_at, p.id", 4 },
	{ &st_decide, "srv_decide",
	  "SELECT d.o_outcome, d.o_server::text, d.o_user::text, u.username, u.display_name,"
	  " d.o_status, d.o_created_ms, d.o_decided_ms, d.o_decided_by::text"
	  " FROM vcd_server_decide($1::uuid, $2::uuid, $3::boolean) d"
	  " LEFT JOIN users u ON u.id = d.o_user", 3 },
};
/* clang-format on */

static vc_ratelimit_t *join_limit;
static pthread_mutex_t limit_mu = PTHREAD_MUTEX_INITIALIZER;
static char *limit_spec; /* the server_join_rate_limit join_limit follows */

void vc_server_members_init(void)
{
	vc_pg_statements(stmts, VC_ARRAY_LEN(stmts));
	join_limit = vc_ratelimit_new(0, 0, 100000);
}

/* --- answers ------------------------------------------------------------------ */

#define E_SERVER VC_SRV_E_SERVER
#define E_OWNER VC_SRV_E_OWNER

static json_t *nullable_int(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? json_null() : json_integer(vc_srv_int(res, row, col));
}

/* A join request. */
static json_t *request_json(const char *id, const char *server, const char *user, json_t *username,
                            json_t *display, json_t *status, json_int_t created, json_t *decided,
                            json_t *decided_by)
{
	return json_pack("{s:s,s:s,s:s,s:o,s:o,s:o,s:I,s:o,s:o}", "id", id, "serverId", server,
	                 "userId", user, "username", username, "displayName", display, "status",
	                 status, "createdAt", created, "decidedAt", decided, "decidedBy",
	                 decided_by);
}

/* --- the join rate limit --------------------------------------------------------- */

static void limit_follow_config(void)
{
	const char *spec = vc_config_get()->server_join_rate_limit;
	unsigned limit;
	double window;
	char err[128];

	pthread_mutex_lock(&limit_mu);
	if (limit_spec == NULL || strcmp(limit_spec, spec) != 0) {
		if (vc_ratelimit_parse(spec, &limit, &window, err, sizeof(err)) == 0)
			vc_ratelimit_set(join_limit, limit, window);
		free(limit_spec);
		limit_spec = vc_strdup(spec);
	}
	pthread_mutex_unlock(&limit_mu);
}

/* True when this user may try a join now; else answered 429. */
static bool join_allowed(vc_http_req_t *req, const char *user)
{
	unsigned wait;
	char after[24];

	limit_follow_config();
	wait = vc_ratelimit_hit(join_limit, user, (double)vc_now_ms() / 1000.0);
	if (wait == 0)
		return true;
	log_info("rate limit: user %s over server_join_rate_limit", user);
	snprintf(after, sizeof(after), "%u", wait);
	vc_http_add_header(req, "Retry-After", after);
	vc_srv_fail(req, 429, "Too many join attempts, try again later");
	return false;
}

/* --- POST /api/servers/{id}/join -------------------------------------------------- */

typedef struct join {
	vc_srv_op_t op;
	const char *password;               /* into op.body; NULL: none offered */
	char matched[VC_PASSWORD_HASH_MAX]; /* the stored hash it matched, once checked */
	int checks;
} join_t;

static void join_run(vc_http_req_t *req);

static void joined_member(vc_http_req_t *req, const PGresult *res)
{
	const join_t *j = vc_http_data(req);

	if (strcmp(PQgetvalue(res, 0, 0), "joined") == 0)
		log_info("server %s: user %s joined", j->op.id, j->op.me->user_id);
	vc_http_respond_json(req, 200,
	                     json_pack("{s:s,s:s,s:s,s:o,s:I}", "status", "member", "serverId",
	                               j->op.id, "userId", j->op.me->user_id, "role",
	                               vc_srv_text(res, 0, 3), "joinedAt", vc_srv_int(res, 0, 4)));
}

static void joined_pending(vc_http_req_t *req, const PGresult *res)
{
	const join_t *j = vc_http_data(req);
	const vc_identity_t *me = j->op.me;

	if (strcmp(PQgetvalue(res, 0, 0), "requested") == 0)
		log_info("server %s: user %s asked to join", j->op.id, me->user_id);
	vc_http_respond_json(req, 202,
	                     json_pack("{s:s,s:o}", "status", "pending", "request",
	                               request_json(PQgetvalue(res, 0, 2), j->op.id, me->user_id,
	                                            json_string(me->username),
	                                            json_string(me->display_name),
	                                            json_string("pending"), vc_srv_int(res, 0, 4),
	                                            json_null(), json_null())));
}

static void join_checked(vc_http_req_t *req, vc_msg_t *reply)
{
	vc_pw_job_t *job = (vc_pw_job_t *)reply;
	join_t *j = vc_http_data(req);

	if (job->result != VC_PW_OK && job->result != VC_PW_OK_REHASH) {
		log_info("server %s: wrong password from user %s%s", j->op.id, j->op.me->user_id,
		         job->result == VC_PW_ERROR ? " (the stored hash is unusable)" : "");
		vc_srv_fail(req, 403, "Wrong password");
		return;
	}
	j->checks++;
	join_run(req);
}

/* The server has a password the offered one was not checked against. */
static void join_password(vc_http_req_t *req, const PGresult *res)
{
	join_t *j = vc_http_data(req);

	if (j->password == NULL) {
		vc_srv_fail(req, 403, "This server requires a password");
		return;
	}
	if (j->checks >= PASSWORD_CHECKS) { /* it changed again while we checked */
		vc_srv_fail(req, 403, "Wrong password");
		return;
	}
	if (vc_accounts_attempt(req) != 0) {
		vc_srv_fail(req, 429, "Too many attempts, try again later");
		return;
	}
	snprintf(j->matched, sizeof(j->matched), "%s", PQgetvalue(res, 0, 1));
	if (vc_pw_job_run(req, VC_PW_JOB_VERIFY, j->password, j->matched, join_checked) != 0)
		vc_srv_fail(req, 503, "Service unavailable, try again");
}

/* clang-format off */
static const vc_srv_outcome_t join_outcomes[] = {
	{ "banned", 403, "You are banned from this server", NULL },
	{ "member", 200, NULL, joined_member },
	{ "joined", 200, NULL, joined_member },
	{ "password", 403, NULL, join_password },
	{ "pending", 202, NULL, joined_pending },
	{ "requested", 202, NULL, joined_pending },
	{ "full", 409, "Server is full", NULL },
};
/* clang-format on */

static void join_done(vc_http_req_t *req, vc_msg_t *reply)
{
	vc_pg_result_t *r = (vc_pg_result_t *)reply;

	if (vc_srv_pg_failed(req, reply))
		return;
	if (PQntuples(r->res) != 1)
		vc_srv_fail(req, 404, E_SERVER);
	else
		vc_srv_answer_outcome(req, r->res, join_outcomes, VC_ARRAY_LEN(join_outcomes));
}

static void join_run(vc_http_req_t *req)
{
	join_t *j = vc_http_data(req);
	const char *params[3] = { j->op.id, j->op.me->user_id, j->checks > 0 ? j->matched : NULL };

	vc_http_await(req, join_done);
	vc_pg_query(st_join, 3, params, vc_http_actor(req), VC_HTTP_MSG_REPLY, NULL);
}

void vc_servers_join(vc_http_req_t *req)
{
	join_t *j = vc_srv_op_new(req, sizeof(*j));
	const char *pw;

	if (!join_allowed(req, j->op.me->user_id) || !vc_srv_path_id(req, 0, E_SERVER, j->op.id) ||
	    (j->op.body = vc_srv_body(req, true)) == NULL)
		return;
	if (vc_srv_string(j->op.body, "password", &pw) < 0 ||
	    (pw != NULL && strlen(pw) > VC_SRV_PASSWORD_MAX)) {
		vc_srv_fail(req, 400, "password must be a string of at most 256 bytes, or null");
		return;
	}
	j->password = pw != NULL && pw[0] != '\0' ? pw : NULL;
	join_run(req);
}

/* --- POST /api/servers/{id}/leave ----------------------------------------------- */

static void left(vc_http_req_t *req, vc_msg_t *reply)
{
	vc_pg_result_t *r = (vc_pg_result_t *)reply;
	const vc_srv_op_t *op = vc_http_data(req);

	if (vc_srv_pg_failed(req, reply))
		return;
	if (PQntuples(r->res) == 0) {
		vc_srv_fail(req, 404, E_SERVER);
	} else if (vc_srv_bool(r->res, 0, 0)) {
		vc_srv_fail(req, 409, "The owner cannot leave the server; delete it instead");
	} else if (vc_srv_int(r->res, 0, 1) == 0) {
		vc_srv_fail(req, 404, "Not a member of this server");
	} else {
		log_info("server %s: user %s left", op->id, op->me->user_id);
		vc_srv_success(req);
	}
}

void vc_servers_leave(vc_http_req_t *req)
{
	vc_srv_op_t *op = vc_srv_op_new(req, sizeof(*op));
	const char *params[2] = { op->id, op->me->user_id };

	if (!vc_srv_path_id(req, 0, E_SERVER, op->id))
		return;
	vc_http_await(req, left);
	vc_pg_query(st_leave, 2, params, vc_http_actor(req), VC_HTTP_MSG_REPLY, NULL);
}

/* --- lists: members, requests, bans -------------------------------------------- */

static void members_listed(vc_http_req_t *req, vc_msg_t *reply)
{
	vc_pg_result_t *r = (vc_pg_result_t *)reply;
	const vc_srv_op_t *op = vc_http_data(req);
	const PGresult *res = r->res;
	json_t *list;

	if (vc_srv_pg_failed(req, reply))
		return;
	if (PQntuples(res) == 0) {
		vc_srv_fail(req, 404, E_SERVER);
		return;
	}
	if (vc_srv_bool(res, 0, 0) && !vc_srv_bool(res, 0, 1)) { /* private, not a member */
		if (op->me == NULL)
			vc_srv_fail(req, 401, "Authentication required");
		else
			vc_srv_fail(req, 403,
			            "Only members can see the members of a private server");
		return;
	}
	list = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		if (!PQgetisnull(res, i, 3))
			json_array_append_new(list, json_pack("{s:o,s:o,s:o,s:o,s:I}", "userId",
			                                      vc_srv_text(res, i, 3), "username",
			                                      vc_srv_text(res, i, 4), "displayName",
			                                      vc_srv_text(res, i, 5), "role",
			                                      vc_srv_text(res, i, 6), "joinedAt",
			                                      vc_srv_int(res, i, 7)));
	vc_srv_answer_page(req, op, "members", list, vc_srv_int(res, 0, 2));
}

static void members_run(vc_http_req_t *req)
{
	vc_srv_list_run(req, st_members, members_listed);
}

/* Public servers' members are everyone's to see; a private server's only
 * its members'. So a credential is checked when one is presented. */
void vc_servers_members(vc_http_req_t *req)
{
	bool from_cookie;
	char *cred = vc_auth_credential(req, &from_cookie);

	if (cred == NULL) {
		members_run(req);
		return;
	}
	sodium_memzero(cred, strlen(cred));
	free(cred);
	vc_auth_run(req, VC_AUTH_SESSION, members_run);
}

static void requests_listed(vc_http_req_t *req, vc_msg_t *reply)
{
	vc_pg_result_t *r = (vc_pg_result_t *)reply;
	const vc_srv_op_t *op = vc_http_data(req);
	const PGresult *res = r->res;
	json_t *list;

	if (vc_srv_pg_failed(req, reply) || !vc_srv_owned(req, res))
		return;
	list = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		if (!PQgetisnull(res, i, 2))
			json_array_append_new(list, request_json(PQgetvalue(res, i, 2), op->id,
			                                         PQgetvalue(res, i, 3),
			                                         vc_srv_text(res, i, 4),
			                                         vc_srv_text(res, i, 5),
			                                         json_string("pending"),
			                                         vc_srv_int(res, i, 6), json_null(),
			                                         json_null()));
	vc_srv_answer_page(req, op, "requests", list, vc_srv_int(res, 0, 1));
}

void vc_servers_requests(vc_http_req_t *req)
{
	vc_srv_list_run(req, st_requests, requests_listed);
}

/* --- PUT /api/requests/{id} ------------------------------------------------------ */

/* The request of a decide row. */
static json_t *decided_json(vc_http_req_t *req, const PGresult *res)
{
	const vc_srv_op_t *op = vc_http_data(req);

	return request_json(op->id, PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2),
	                    vc_srv_text(res, 0, 3), vc_srv_text(res, 0, 4), vc_srv_text(res, 0, 5),
	                    vc_srv_int(res, 0, 6), nullable_int(res, 0, 7), vc_srv_text(res, 0, 8));
}

static void decided_now(vc_http_req_t *req, const PGresult *res)
{
	log_info("server %s: join request of user %s %s by the owner", PQgetvalue(res, 0, 1),
	         PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 5));
	vc_http_respond_json(req, 200, decided_json(req, res));
}

static void decided_before(vc_http_req_t *req, const PGresult *res)
{
	bool accepted = strcmp(PQgetvalue(res, 0, 5), "accepted") == 0;

	vc_srv_fail(req, 409,
	            accepted ? "Join request already accepted" : "Join request already declined");
}

/* clang-format off */
static const vc_srv_outcome_t decide_outcomes[] = {
	{ "forbidden", 403, E_OWNER, NULL },
	{ "decided", 409, NULL, decided_before },
	{ "full", 409, "Server is full", NULL },
	{ "accepted", 200, NULL, decided_now },
	{ "declined", 200, NULL, decided_now },
};
/* clang-format on */

static void decide_done(vc_http_req_t *req, vc_msg_t *reply)
{
	vc_pg_result_t *r = (vc_pg_result_t *)reply;

	if (vc_srv_pg_failed(req, reply))
		return;
	if (PQntuples(r->res) != 1)
		vc_srv_fail(req, 404, "Join request not found");
	else
		vc_srv_answer_outcome(req, r->res, decide_outcomes, VC_ARRAY_LEN(decide_outcomes));
}

void vc_servers_decide(vc_http_req_t *req)
{
	vc_srv_op_t *op = vc_srv_op_new(req, sizeof(*op));
	const char *params[3] = { op->id, op->me->user_id }, *status;

	if (!vc_srv_path_id(req, 0, "Join request not found", op->id) ||
	    (op->body = vc_srv_body(req, false)) == NULL)
		return;
	if (vc_srv_string(op->body, "status", &status) != 1 ||
	    (strcmp(status, "accepted") != 0 && strcmp(status, "declined") != 0)) {
		vc_srv_fail(req, 400, "status must be \"accepted\" or \"declined\"");
		return;
	}
	params[2] = strcmp(status, "accepted") == 0 ? "true" : "false";
	vc_http_await(req, decide_done);
	vc_pg_query(st_decide, 3, params, vc_http_actor(req), VC_HTTP_MSG_REPLY, NULL);
}
