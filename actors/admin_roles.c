/*
 * admin_roles.c — `vcctl meetings roles`, `meetings roles set` and
 * `meetings roles remove`: the roles of a live meeting (doc/external.md
 * "Access levels"), for the operator, whoever owns the meeting.
 *
 * Each verb is one statement that finds the live meeting and does the work
 * only when there is one, as the REST routes do (actors/meeting_roles.c)
 * without their owner check. The owner is the meeting's creator and has no
 * row: setting or removing a role of the owner is refused.
 */
#include "actors/admin_roles.h"

#include <stdlib.h>
#include <string.h>

#include "actors/admin_rows.h"
#include "actors/auth.h"
#include "runtime/log.h"
#include "runtime/pg.h"

/* The live meeting of room id $1 as m (id, creator_id). */
#define FIND                                                                                       \
	"WITH m AS (SELECT id, creator_id FROM meetings WHERE room_id = $1 AND deleted_at IS "     \
	"NULL)"
/* Columns 0-1 of every answer: meeting found, its owner. */
#define HEAD "SELECT (SELECT count(*) FROM m) > 0, (SELECT creator_id FROM m)"

static int st_list, st_set, st_remove;

/* clang-format off */
static const vc_pg_stmt_def_t stmts[] = {
	{ &st_list, "adm_roles",
	  FIND " " HEAD ", r.user_id, r.role FROM (SELECT 1) one LEFT JOIN meeting_roles r"
	  " ON r.meeting_id = (SELECT id FROM m) ORDER BY r.user_id", 1 },
	{ &st_set, "adm_roles_set",
	  FIND ", w AS (INSERT INTO meeting_roles (meeting_id, user_id, role)"
	  "  SELECT id, $2::text, $3::text FROM m WHERE creator_id IS DISTINCT FROM $2::text"
	  "  ON CONFLICT (meeting_id, user_id) DO UPDATE SET role = EXCLUDED.role"
	  "  RETURNING user_id, role)"
	  " " HEAD ", w.user_id, w.role FROM (SELECT 1) one LEFT JOIN w ON true", 3 },
	{ &st_remove, "adm_roles_remove",
	  FIND ", w AS (DELETE FROM meeting_roles r USING m"
	  "  WHERE r.meeting_id = m.id AND r.user_id = $2::text RETURNING r.user_id, r.role)"
	  " " HEAD ", w.user_id, w.role FROM (SELECT 1) one LEFT JOIN w ON true", 2 },
};
/* clang-format on */

void vc_admin_roles_init(void)
{
	vc_pg_statements(stmts, VC_ARRAY_LEN(stmts));
}

/* The meeting was found; else the request is answered. */
static bool found(vc_admin_req_t *req, const vc_pg_result_t *r, const char *room)
{
	if (vc_admin_db_failed(req, r))
		return false;
	if (PQgetvalue(r->res, 0, 0)[0] != 't') {
		vc_admin_fail(req, "no live meeting '%s'", room);
		return false;
	}
	return true;
}

static void listed(vc_admin_req_t *req, const vc_pg_result_t *r, const char *room)
{
	json_t *roles;

	if (!found(req, r, room))
		return;
	roles = json_array();
	for (int i = 0; i < PQntuples(r->res); i++)
		if (!PQgetisnull(r->res, i, 2))
			json_array_append_new(roles, json_pack("{s:s,s:s}", "user_id",
			                                       PQgetvalue(r->res, i, 2), "role",
			                                       PQgetvalue(r->res, i, 3)));
	vc_admin_reply(req, json_pack("{s:s,s:s?,s:o}", "meeting_id", room, "owner",
	                              PQgetisnull(r->res, 0, 1) ? NULL : PQgetvalue(r->res, 0, 1),
	                              "roles", roles));
}

/* Set or removed: the row's user and role, or why nothing changed. */
static void changed(vc_admin_req_t *req, const vc_pg_result_t *r, const char *room, bool set)
{
	if (!found(req, r, room))
		return;
	if (PQgetisnull(r->res, 0, 2)) {
		vc_admin_fail(req,
		              set ? "the owner of '%s' has every right; it takes no role"
		                  : "that user has no role in '%s'",
		              room);
		return;
	}
	log_info("admin: meeting '%s': role of '%s' %s (%s)", room, PQgetvalue(r->res, 0, 2),
	         set ? "set" : "removed", PQgetvalue(r->res, 0, 3));
	vc_admin_reply(req, json_pack("{s:s,s:s,s:s,s:b}", "meeting_id", room, "user_id",
	                              PQgetvalue(r->res, 0, 2), "role", PQgetvalue(r->res, 0, 3),
	                              set ? "set" : "removed", 1));
}

static void set_done(vc_admin_req_t *req, const vc_pg_result_t *r, const char *room)
{
	changed(req, r, room, true);
}

static void remove_done(vc_admin_req_t *req, const vc_pg_result_t *r, const char *room)
{
	changed(req, r, room, false);
}

/* A user id as the meeting API stores them: 1 to 255 bytes, no control
 * characters. */
static bool user_ok(vc_admin_req_t *req, const char *user)
{
	size_t n = strlen(user);

	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)user[i] < ' ' || user[i] == 0x7f) {
			vc_admin_fail(req, "a user id holds no control characters");
			return false;
		}
	}
	if (n == 0 || n > VC_USER_ID_MAX) {
		vc_admin_fail(req, "a user id is 1 to %d bytes", VC_USER_ID_MAX);
		return false;
	}
	return true;
}

void vc_admin_meetings_roles(vc_admin_req_t *req, int argc, char **argv)
{
	const char *p[1] = { argv[0] };

	vc_admin_db_run(req, st_list, 1, p, listed, argv[0]);
}

void vc_admin_meetings_roles_set(vc_admin_req_t *req, int argc, char **argv)
{
	const char *p[3] = { argv[0], argv[1], argv[2] };

	if (!user_ok(req, argv[1]))
		return;
	if (strcmp(argv[2], "administrator") != 0 && strcmp(argv[2], "member") != 0) {
		vc_admin_fail(req, "unknown role '%.64s' (administrator or member)", argv[2]);
		return;
	}
	vc_admin_db_run(req, st_set, 3, p, set_done, argv[0]);
}

void vc_admin_meetings_roles_remove(vc_admin_req_t *req, int argc, char **argv)
{
	const char *p[2] = { argv[0], argv[1] };

	if (user_ok(req, argv[1]))
		vc_admin_db_run(req, st_remove, 2, p, remove_done, argv[0]);
}
