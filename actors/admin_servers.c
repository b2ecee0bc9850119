/*
 * admin_servers.c — what the servers admin verbs do: one statement each
 * (vc_admin_db_run). An operator's delete is the owner's DELETE
 * /api/servers/{id} without the owner check: the server goes with its
 * members, bans and join requests. Password hashes are never answered,
 * only whether one is set.
 */
#include "actors/admin_servers.h"

#include "actors/admin_rows.h"

#include <stdlib.h>

#include "actors/servers_int.h" /* vc_srv_is_uuid */
#include "runtime/log.h"
#include "runtime/pg.h"
#include "wire/admin_proto.h"

/* clang-format off */
#define XSTR(x) #x
#define STR(x) XSTR(x)
#define ISO(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
#define COUNT(table, cond) "(SELECT count(*) FROM " table " x WHERE x.server_id = s.id" cond ")"
/* clang-format on */

static int st_list, st_show, st_delete;

/* clang-format off */
static const vc_pg_stmt_def_t stmts[] = {
	{ &st_list, "adm_servers",
	  "SELECT s.name, s.id::text, u.username, " COUNT("server_members", "") ","
	  " s.is_private, s.password_hash IS NOT NULL"
	  " FROM servers s JOIN users u ON u.id = s.owner_id"
	  " ORDER BY lower(s.name), s.id LIMIT " STR(VC_ADMIN_LIST_MAX), 0 },
	{ &st_show, "adm_server",
	  "SELECT s.id::text, s.name, s.description, u.username, s.owner_id::text,"
	  " s.is_private, s.password_hash IS NOT NULL, s.max_users,"
	  " " COUNT("server_members", "") ","
	  " " COUNT("server_join_requests", " AND x.status = 'pending'") ","
	  " " COUNT("server_bans", "") ", s.icon, " ISO("s.created_at") ", " ISO("s.updated_at")
	  " FROM servers s JOIN users u ON u.id = s.owner_id WHERE s.id = $1::uuid", 1 },
	{ &st_delete, "adm_server_delete",
	  "DELETE FROM servers s USING users u WHERE s.id = $1::uuid AND u.id = s.owner_id"
	  " RETURNING s.id::text, s.name, u.username, " COUNT("server_members", ""), 1 },
};
/* clang-format on */

void vc_admin_servers_init(void)
{
	vc_pg_statements(stmts, VC_ARRAY_LEN(stmts));
}

/* Short names for the field tables below (actors/admin_rows.h). */
#define as_str vc_admin_as_str
#define as_int vc_admin_as_int
#define as_bool vc_admin_as_bool
typedef vc_admin_field_t field_t;

/* clang-format off */
static const field_t list_fields[] = {
	{ "name", 0, as_str }, { "id", 1, as_str }, { "owner", 2, as_str },
	{ "members", 3, as_int }, { "private", 4, as_bool }, { "password", 5, as_bool },
};
static const field_t show_fields[] = {
	{ "id", 0, as_str }, { "name", 1, as_str }, { "description", 2, as_str },
	{ "owner", 3, as_str }, { "owner_id", 4, as_str }, { "private", 5, as_bool },
	{ "password", 6, as_bool }, { "max_users", 7, as_int }, { "members", 8, as_int },
	{ "pending_requests", 9, as_int }, { "bans", 10, as_int }, { "icon", 11, as_str },
	{ "created_at", 12, as_str }, { "updated_at", 13, as_str },
};
static const field_t deleted_fields[] = {
	{ "deleted", 0, as_str }, { "name", 1, as_str }, { "owner", 2, as_str },
	{ "members", 3, as_int },
};
/* clang-format on */

/* ID must be a server id; else false and the request answered. */
static bool server_id_ok(vc_admin_req_t *req, const char *id)
{
	if (vc_srv_is_uuid(id))
		return true;
	vc_admin_fail(
	        req,
	        "no server '%.64s' (expected a server id, a UUID as 'vcctl servers list' shows)",
	        id);
	return false;
}

static void listed(vc_admin_req_t *req, const vc_pg_result_t *r, const char *arg)
{
	json_t *list;

	if (vc_admin_db_failed(req, r))
		return;
	list = json_array();
	for (int i = 0; i < PQntuples(r->res); i++)
		json_array_append_new(list, vc_admin_row_json(r->res, i, list_fields,
		                                              VC_ARRAY_LEN(list_fields)));
	vc_admin_reply(req, list);
}

void vc_admin_servers_list(vc_admin_req_t *req, int argc, char **argv)
{
	vc_admin_db_run(req, st_list, 0, NULL, listed, NULL);
}

static void shown(vc_admin_req_t *req, const vc_pg_result_t *r, const char *id)
{
	if (vc_admin_db_failed(req, r))
		return;
	if (PQntuples(r->res) == 0) {
		vc_admin_fail(req, "no server '%s'", id);
		return;
	}
	vc_admin_reply(req, vc_admin_row_json(r->res, 0, show_fields, VC_ARRAY_LEN(show_fields)));
}

void vc_admin_servers_show(vc_admin_req_t *req, int argc, char **argv)
{
	const char *params[1] = { argv[0] };

	if (server_id_ok(req, argv[0]))
		vc_admin_db_run(req, st_show, 1, params, shown, argv[0]);
}

static void deleted(vc_admin_req_t *req, const vc_pg_result_t *r, const char *id)
{
	if (vc_admin_db_failed(req, r))
		return;
	if (PQntuples(r->res) == 0) {
		vc_admin_fail(req, "no server '%s'", id);
		return;
	}
	log_info("admin: server %s (%s) of %s deleted with its %s members",
	         PQgetvalue(r->res, 0, 0), PQgetvalue(r->res, 0, 1), PQgetvalue(r->res, 0, 2),
	         PQgetvalue(r->res, 0, 3));
	vc_admin_reply(req,
	               vc_admin_row_json(r->res, 0, deleted_fields, VC_ARRAY_LEN(deleted_fields)));
}

void vc_admin_servers_delete(vc_admin_req_t *req, int argc, char **argv)
{
	const char *params[1] = { argv[0] };

	if (server_id_ok(req, argv[0]))
		vc_admin_db_run(req, st_delete, 1, params, deleted, argv[0]);
}
