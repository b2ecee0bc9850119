/*
 * server_moderation.c — what a server's owner does to its members: kick
 * (they may come back), ban (they may not; their membership ends and a
 * pending request is declined) and unban, and the list of bans.
 *
 * The target is the body's userId; the owner is always the credential's
 * user, who cannot be the target. A ban is one call of vcd_server_ban
 * (sql/006_servers.sql), which locks the server as a join does, so a ban
 * and a join of the same user run one after the other and end banned.
 */
#include "actors/servers.h"

#include "actors/servers_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/log.h"

#define BAN_USER_FKEY "server_bans_user_id_fkey" /* an unknown user */
#define OWNED VC_SRV_OWNED
#define E_SERVER VC_SRV_E_SERVER
#define E_OWNER VC_SRV_E_OWNER

static const char E_SELF[] = "The owner cannot kick or ban themselves";
static const char E_USER_ID[] = "userId must be a user id (a UUID)";

static int st_kick, st_ban, st_bans, st_unban;

/* clang-format off */
static const vc_pg_stmt_def_t stmts[] = {
	/* $3 the member. Columns: the caller owns it, members removed. */
	{ &st_kick, "srv_kick",
	  "WITH " OWNED ", d AS (DELETE FROM server_members m USING s"
	  " WHERE m.server_id = s.id AND s.mine AND m.user_id = $3::uuid AND m.role <> 'owner'"
	  " RETURNING 1) SELECT s.mine, (SELECT count(*) FROM d) FROM s", 3 },
	{ &st_ban, "srv_ban",
	  "SELECT b.o_outcome, b.o_ms, b.o_was_member, u.username, u.display_name"
	  " FROM vcd_server_ban($1::uuid, $2::uuid, $3::uuid, $4) b"
	  " LEFT JOIN users u ON u.id = $3::uuid", 4 },
	/* Columns: the caller owns it, bans, then each ban. */
	{ &st_bans, "srv_bans",
	  "WITH " OWNED " SELECT s.mine, (SELECT count(*) FROM server_bans b"
	  "  WHERE b.server_id = s.id),"
	  " p.user_id::text, p.username, p.display_name, p.reason, p.banned_by::text,"
	  " vcd_ms(p.created_at) FROM s LEFT JOIN LATERAL (SELECT b.user_id, u.username,"
	  "  u.display_name, b.reason, b.banned_by, b.created_at FROM server_bans b"
	  "  JOIN users u ON u.id = b.user_id WHERE b.server_id = s.id AND s.mine"
	  "  ORDER BY b.created_at, b.user_id LIMIT $3::bigint OFFSET $4::bigint) p ON true"
	  " ORDER BY p.created_at, p.user_id", 4 },
	/* $3 the banned user. Columns: the caller owns it, bans removed. */
	{ &st_unban, "srv_unban",
	  "WITH " OWNED ", d AS (DELETE FROM server_bans b USING s"
	  " WHERE b.server_id = s.id AND s.mine AND b.user_id = $3::uuid RETURNING 1)"
	  " SELECT s.mine, (SELECT count(*) FROM d) FROM s", 3 },
};
/* clang-format on */

void vc_server_moderation_init(void)
{
	vc_pg_statements(stmts, VC_ARRAY_LEN(stmts));
}

/* --- kick, ban, unban -------------------------------------------------------------- */

/* The path's server and, from the body, the target of an owner's action
 * (member userId, a UUID) into a new state owned by the request; NULL when
 * answered (404, 400). The caller is never taken from the body. */
static vc_srv_op_t *mod_read(vc_http_req_t *req)
{
	vc_srv_op_t *op = vc_srv_op_new(req, sizeof(*op));
	const char *user;

	if (!vc_srv_path_id(req, 0, E_SERVER, op->id) ||
	    (op->body = vc_srv_body(req, false)) == NULL)
		return NULL;
	if (vc_srv_string(op->body, "userId", &user) != 1 || !vc_srv_is_uuid(user)) {
		vc_srv_fail(req, 400, E_USER_ID);
		return NULL;
	}
	vc_srv_uuid_copy(user, op->target);
	return op;
}

static void kicked(vc_http_req_t *req, vc_msg_t *reply)
{
	vc_pg_result_t *r = (vc_pg_result_t *)reply;
	const vc_srv_op_t *op = vc_http_data(req);

	if (vc_srv_pg_failed(req, reply) || !vc_srv_owned(req, r->res))
		return;
	if (strcmp(op->target, op->me->user_id) == 0) {
		vc_srv_fail(req, 409, E_SELF);
	} else if (vc_srv_int(r->res, 0, 1) == 0) {
		vc_srv_fail(req, 404, "User is not a member of this server");
	} else {
		log_info("server %s: user %s kicked by the owner", op->id, op->target);
		vc_srv_success(req);
	}
}

void vc_servers_kick(vc_http_req_t *req)
{
	vc_srv_op_t *op = mod_read(req);
	const char *params[3];

	if (op == NULL)
		return;
	params[0] = op->id;
	params[1] = op->me->user_id;
	params[2] = op->target;
	vc_http_await(req, kicked);
	vc_pg_query(st_kick, 3, params, vc_http_actor(req), VC_HTTP_MSG_REPLY, NULL);
}

static void ban_done(vc_http_req_t *req, const PGresult *res)
{
	const vc_srv_op_t *op = vc_http_data(req);
	const char *reason;

	vc_srv_string(op->body, "reason", &reason);
	log_info("server %s: user %s banned by the owner%s", op->id, op->target,
	         vc_srv_bool(res, 0, 2) ? " (a member until now)" : "");
	vc_http_respond_json(req, 200,
	                     json_pack("{s:s,s:s,s:o,s:o,s:o,s:s,s:I}", "serverId", op->id,
	                               "userId", op->target, "username", vc_srv_text(res, 0, 3),
	                               "displayName", vc_srv_text(res, 0, 4), "reason",
	                               reason != NULL ? json_string(reason) : json_null(),
	                               "bannedBy", op->me->user_id, "createdAt",
	                               vc_srv_int(res, 0, 1)));
}

/* clang-format off */
static const vc_srv_outcome_t ban_outcomes[] = {
	{ "forbidden", 403, E_OWNER, NULL },
	{ "self", 409, E_SELF, NULL },
	{ "banned", 200, NULL, ban_done },
};
/* clang-format on */

static void banned(vc_http_req_t *req, vc_msg_t *reply)
{
	vc_pg_result_t *r = (vc_pg_result_t *)reply;
	const char *c = r->res != NULL ? PQresultErrorField(r->res, PG_DIAG_CONSTRAINT_NAME) : NULL;

	if (strcmp(vc_srv_sqlstate(reply), "23503") == 0 && c != NULL &&
	    strcmp(c, BAN_USER_FKEY) == 0) {
		vc_srv_fail(req, 404, "User not found");
		return;
	}
	if (vc_srv_pg_failed(req, reply))
		return;
	if (PQntuples(r->res) != 1)
		vc_srv_fail(req, 404, E_SERVER);
	else
		vc_srv_answer_outcome(req, r->res, ban_outcomes, VC_ARRAY_LEN(ban_outcomes));
}

void vc_servers_ban(vc_http_req_t *req)
{
	vc_srv_op_t *op = mod_read(req);
	const char *params[4], *reason;

	if (op == NULL)
		return;
	if (vc_srv_string(op->body, "reason", &reason) < 0 ||
	    (reason != NULL && strlen(reason) > VC_SRV_REASON_MAX)) {
		vc_srv_fail(req, 400, "reason must be a string of at most 500 bytes, or null");
		return;
	}
	params[0] = op->id;
	params[1] = op->me->user_id;
	params[2] = op->target;
	params[3] = reason;
	vc_http_await(req, banned);
	vc_pg_query(st_ban, 4, params, vc_http_actor(req), VC_HTTP_MSG_REPLY, NULL);
}

static void unbanned(vc_http_req_t *req, vc_msg_t *reply)
{
	vc_pg_result_t *r = (vc_pg_result_t *)reply;
	const vc_srv_op_t *op = vc_http_data(req);

	if (vc_srv_pg_failed(req, reply) || !vc_srv_owned(req, r->res))
		return;
	if (vc_srv_int(r->res, 0, 1) == 0) {
		vc_srv_fail(req, 404, "User is not banned from this server");
		return;
	}
	log_info("server %s: user %s unbanned by the owner", op->id, op->target);
	vc_srv_success(req);
}

void vc_servers_unban(vc_http_req_t *req)
{
	vc_srv_op_t *op = vc_srv_op_new(req, sizeof(*op));
	const char *params[3] = { op->id, op->me->user_id, op->target };

	if (!vc_srv_path_id(req, 0, E_SERVER, op->id) ||
	    !vc_srv_path_id(req, 1, "User is not banned from this server", op->target))
		return;
	vc_http_await(req, unbanned);
	vc_pg_query(st_unban, 3, params, vc_http_actor(req), VC_HTTP_MSG_REPLY, NULL);
}

/* --- GET /api/servers/{id}/bans --------------------------------------------------- */

static void bans_listed(vc_http_req_t *req, vc_msg_t *reply)
{
	vc_pg_result_t *r = (vc_pg_result_t *)reply;
	const PGresult *res = r->res;
	json_t *list;

	if (vc_srv_pg_failed(req, reply) || !vc_srv_owned(req, res))
		return;
	list = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		if (!PQgetisnull(res, i, 2))
			json_array_append_new(list, json_pack("{s:o,s:o,s:o,s:o,s:o,s:I}", "userId",
			                                      vc_srv_text(res, i, 2), "username",
			                                      vc_srv_text(res, i, 3), "displayName",
			                                      vc_srv_text(res, i, 4), "reason",
			                                      vc_srv_text(res, i, 5), "bannedBy",
			                                      vc_srv_text(res, i, 6), "createdAt",
			                                      vc_srv_int(res, i, 7)));
	vc_srv_answer_page(req, vc_http_data(req), "bans", list, vc_srv_int(res, 0, 1));
}

void vc_servers_bans(vc_http_req_t *req)
{
	vc_srv_list_run(req, st_bans, bans_listed);
}
