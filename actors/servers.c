/*
 * servers.c — the server directory and a server's own settings:
 * GET /api/servers (search, paging), GET /api/servers/{id}, and the
 * owner's POST, PUT and DELETE. The helpers all the server routes share
 * are in actors/servers_common.c.
 *
 * A server's password is hashed with Argon2id on the offload pool before
 * the statement that stores it. Updating one first checks that the caller
 * owns the server (one statement), so nobody else can make vcd hash; the
 * update itself checks ownership again. Only whether a password is set is
 * ever answered.
 */
#include "actors/servers.h"

#include "actors/servers_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/auth.h"
#include "actors/password_job.h"
#include "runtime/log.h"
#include "wire/urlenc.h"

#define LIST_DEFAULT 20
#define LIST_MAX 100

/* clang-format off */
/* A server's public columns from row alias s, its owner o (users), and
 * `n` its member count. server_json() reads them in this order. */
#define SERVER_COLS(s, n) \
	s ".id::text, " s ".name, " s ".description, " s ".owner_id::text, o.display_name," \
	" " s ".is_private, " s ".password_hash IS NOT NULL, " s ".max_users, " n "," \
	" " s ".icon, vcd_ms(" s ".created_at), vcd_ms(" s ".updated_at)"
#define MEMBER_COUNT(s) "(SELECT count(*) FROM server_members m WHERE m.server_id = " s ".id)"
/* $1: the search text or NULL. */
#define MATCH "($1::text IS NULL OR strpos(lower(s.name), lower($1)) > 0)"
#define OWNED VC_SRV_OWNED
/* clang-format on */

static int st_list, st_get, st_create, st_owner, st_update, st_delete;

/* clang-format off */
static const vc_pg_stmt_def_t stmts[] = {
	/* One row even for an empty page: the count, then NULL columns. */
	{ &st_list, "srv_list",
	  "SELECT (SELECT count(*) FROM servers s WHERE " MATCH "), p.* FROM (SELECT 1) one"
	  " LEFT JOIN LATERAL (SELECT " SERVER_COLS("s", MEMBER_COUNT("s")) ","
	  "  lower(s.name) AS k, s.id AS sid FROM servers s JOIN users o ON o.id = s.owner_id"
	  "  WHERE " MATCH " ORDER BY lower(s.name), s.id LIMIT $2::bigint OFFSET $3::bigint) p"
	  " ON true ORDER BY p.k, p.sid", 3 },
	{ &st_get, "srv_get",
	  "SELECT " SERVER_COLS("s", MEMBER_COUNT("s"))
	  " FROM servers s JOIN users o ON o.id = s.owner_id WHERE s.id = $1::uuid", 1 },
	/* The creator is the owner and the first member. */
	{ &st_create, "srv_create",
	  "WITH s AS (INSERT INTO servers (name, description, owner_id, is_private,"
	  " password_hash, max_users, icon) VALUES ($1, $2, $3::uuid, $4::boolean, $5,"
	  " $6::integer, $7) RETURNING *),"
	  " m AS (INSERT INTO server_members (server_id, user_id, role)"
	  " SELECT id, owner_id, 'owner' FROM s)"
	  " SELECT " SERVER_COLS("s", "1") " FROM s JOIN users o ON o.id = s.owner_id", 7 },
	{ &st_owner, "srv_owner", "WITH " OWNED " SELECT mine FROM s", 2 },
	/* $3..$5 NULL: unchanged; $6, $8, $10 say whether $7, $9, $11 (NULL:
	 * none) replace the password hash, max_users, icon. First column: the
	 * caller owns it; the server's columns follow (NULL: not updated). */
	{ &st_update, "srv_update",
	  "WITH " OWNED ", u AS (UPDATE servers t SET name = coalesce($3, t.name),"
	  " description = coalesce($4, t.description),"
	  " is_private = coalesce($5::boolean, t.is_private),"
	  " password_hash = CASE WHEN $6::boolean THEN $7 ELSE t.password_hash END,"
	  " max_users = CASE WHEN $8::boolean THEN $9::integer ELSE t.max_users END,"
	  " icon = CASE WHEN $10::boolean THEN $11 ELSE t.icon END, updated_at = now()"
	  " FROM s WHERE t.id = s.id AND s.mine RETURNING t.*)"
	  " SELECT s.mine, " SERVER_COLS("u", MEMBER_COUNT("u"))
	  " FROM s LEFT JOIN u ON true LEFT JOIN users o ON o.id = u.owner_id", 11 },
	{ &st_delete, "srv_delete",
	  "WITH " OWNED ", d AS (DELETE FROM servers t USING s WHERE t.id = s.id AND s.mine"
	  " RETURNING t.id) SELECT s.mine, (SELECT count(*) FROM d) FROM s", 2 },
};
/* clang-format on */

void vc_servers_init(void)
{
	vc_pg_statements(stmts, VC_ARRAY_LEN(stmts));
	vc_server_members_init();
	vc_server_moderation_init();
}

/* --- servers as JSON ---------------------------------------------------------- */

/* The server of SERVER_COLS starting at column c. */
static json_t *server_json(const PGresult *res, int row, int c)
{
	json_t *max = PQgetisnull(res, row, c + 7) ? json_null()
	                                           : json_integer(vc_srv_int(res, row, c + 7));

	return json_pack("{s:o,s:o,s:o,s:o,s:o,s:b,s:b,s:o,s:I,s:o,s:I,s:I}", "id",
	                 vc_srv_text(res, row, c), "name", vc_srv_text(res, row, c + 1),
	                 "description", vc_srv_text(res, row, c + 2), "ownerId",
	                 vc_srv_text(res, row, c + 3), "ownerName", vc_srv_text(res, row, c + 4),
	                 "isPrivate", vc_srv_bool(res, row, c + 5), "hasPassword",
	                 vc_srv_bool(res, row, c + 6), "maxUsers", max, "memberCount",
	                 vc_srv_int(res, row, c + 8), "icon", vc_srv_text(res, row, c + 9),
	                 "createdAt", vc_srv_int(res, row, c + 10), "updatedAt",
	                 vc_srv_int(res, row, c + 11));
}

/* --- the directory ------------------------------------------------------------ */

static void listed(vc_http_req_t *req, vc_msg_t *reply)
{
	vc_pg_result_t *r = (vc_pg_result_t *)reply;
	json_t *list;

	if (vc_srv_pg_failed(req, reply))
		return;
	list = json_array();
	for (int i = 0; i < PQntuples(r->res); i++)
		if (!PQgetisnull(r->res, i, 1))
			json_array_append_new(list, server_json(r->res, i, 1));
	vc_srv_answer_page(req, vc_http_data(req), "servers", list, vc_srv_int(r->res, 0, 0));
}

void vc_servers_list(vc_http_req_t *req)
{
	size_t len = 0;
	char *q = vc_query_value(vc_http_query(req), "q", &len);
	vc_srv_op_t *page = vc_srv_op_new(req, sizeof(*page));
	const char *params[3];
	json_t *valid = q != NULL ? json_stringn(q, len) : NULL; /* NULL: not UTF-8 */

	if (q != NULL && (valid == NULL || len != strlen(q) || len > VC_SRV_NAME_MAX)) {
		vc_srv_fail(req, 400, "q must be text of at most 100 bytes");
	} else if (vc_srv_paging(req, LIST_DEFAULT, LIST_MAX, page)) {
		params[0] = q != NULL && len > 0 ? q : NULL;
		params[1] = page->limit;
		params[2] = page->offset;
		vc_http_await(req, listed);
		vc_pg_query(st_list, 3, params, vc_http_actor(req), VC_HTTP_MSG_REPLY, NULL);
	}
	json_decref(valid);
	free(q);
}

static void got(vc_http_req_t *req, vc_msg_t *reply)
{
	vc_pg_result_t *r = (vc_pg_result_t *)reply;

	if (vc_srv_pg_failed(req, reply))
		return;
	if (PQntuples(r->res) != 1) {
		vc_srv_fail(req, 404, "Server not found");
		return;
	}
	vc_http_respond_json(req, 200, server_json(r->res, 0, 0));
}

void vc_servers_get(vc_http_req_t *req)
{
	char id[37];
	const char *params[1] = { id };

	if (!vc_srv_path_id(req, 0, "Server not found", id))
		return;
	vc_http_await(req, got);
	vc_pg_query(st_get, 1, params, vc_http_actor(req), VC_HTTP_MSG_REPLY, NULL);
}

/* --- a server's settings ------------------------------------------------------ */

/*
 * What a create or update body says. A `has_` flag false means absent
 * (update: unchanged); a NULL string with its flag set means none.
 */
typedef struct fields {
	const char *name, *description, *password, *icon;
	bool has_private, is_private, has_password, has_max, has_icon;
	char max[12]; /* "" for no limit */
} fields_t;

static bool name_ok(const char *s)
{
	size_t n = strlen(s);
	bool text = false;

	if (n == 0 || n > VC_SRV_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			return false;
		text |= c != ' ';
	}
	return text;
}

static bool read_max(json_t *o, fields_t *f)
{
	json_t *v = json_object_get(o, "maxUsers");

	f->has_max = v != NULL;
	f->max[0] = '\0';
	if (v == NULL || json_is_null(v))
		return true;
	if (!json_is_integer(v) || json_integer_value(v) < 1 ||
	    json_integer_value(v) > VC_SRV_MAX_USERS)
		return false;
	snprintf(f->max, sizeof(f->max), "%lld", (long long)json_integer_value(v));
	return true;
}

/* Read and check the fields of a create (name required) or an update
 * body; false when answered 400. Members vcd does not know are ignored. */
static bool read_fields(vc_http_req_t *req, json_t *o, bool creating, fields_t *f)
{
	json_t *priv = json_object_get(o, "isPrivate");
	int n = vc_srv_string(o, "name", &f->name);
	/* Creating needs a name; an update may leave it out, not remove it. */
	bool name_bad = creating ? n != 1 : n < 0 || (n == 0 && json_object_get(o, "name"));
	const char *why = NULL;

	if (name_bad || (n == 1 && !name_ok(f->name)))
		why = "name must be a string of 1 to 100 bytes, not only spaces, without "
		      "control characters";
	else if (vc_srv_string(o, "description", &f->description) < 0 ||
	         (f->description != NULL && strlen(f->description) > VC_SRV_DESCRIPTION_MAX))
		why = "description must be a string of at most 1000 bytes";
	else if (priv != NULL && !json_is_null(priv) && !json_is_boolean(priv))
		why = "isPrivate must be true or false";
	else if (vc_srv_string(o, "password", &f->password) < 0 ||
	         (f->password != NULL && strlen(f->password) > VC_SRV_PASSWORD_MAX))
		why = "password must be a string of at most 256 bytes, or null";
	else if (!read_max(o, f))
		why = "maxUsers must be an integer from 1 to 100000, or null";
	else if (vc_srv_string(o, "icon", &f->icon) < 0 ||
	         (f->icon != NULL && strlen(f->icon) > VC_SRV_ICON_MAX))
		why = "icon must be a string of at most 2048 bytes, or null";
	if (why != NULL) {
		vc_srv_fail(req, 400, why);
		return false;
	}
	/* A null description is an empty one; absent on an update, unchanged. */
	if (f->description == NULL && (creating || json_object_get(o, "description")))
		f->description = "";
	f->has_private = json_is_boolean(priv);
	f->is_private = json_is_true(priv);
	f->has_password = json_object_get(o, "password") != NULL;
	if (f->password != NULL && f->password[0] == '\0')
		f->password = NULL; /* "" is no password */
	f->has_icon = json_object_get(o, "icon") != NULL;
	return true;
}

/* What create and update carry between their steps. */
typedef struct change {
	vc_srv_op_t op; /* the strings of `f` point into op.body */
	fields_t f;
} change_t;

/* The server id of the path (update), then the body, into a new change_t
 * owned by the request; NULL when answered. */
static change_t *read_change(vc_http_req_t *req, bool creating)
{
	change_t *c = vc_srv_op_new(req, sizeof(*c));

	if ((!creating && !vc_srv_path_id(req, 0, "Server not found", c->op.id)) ||
	    (c->op.body = vc_srv_body(req, false)) == NULL ||
	    !read_fields(req, c->op.body, creating, &c->f))
		return NULL;
	return c;
}

/* Hash c's password on the offload pool, then cont; false when answered. */
static bool hash_then(vc_http_req_t *req, change_t *c, vc_http_cont_fn cont)
{
	if (vc_pw_job_run(req, VC_PW_JOB_HASH, c->f.password, NULL, cont) == 0)
		return true;
	vc_srv_fail(req, 503, "Service unavailable, try again");
	return false;
}

/* The new hash of a finished job, or NULL with the request answered 500. */
static const char *new_hash(vc_http_req_t *req, vc_msg_t *reply)
{
	vc_pw_job_t *job = (vc_pw_job_t *)reply;

	if (job->hash[0] != '\0')
		return job->hash;
	vc_srv_fail(req, 500, "Internal error");
	return NULL;
}

/* --- POST /api/servers -------------------------------------------------------- */

static void created(vc_http_req_t *req, vc_msg_t *reply)
{
	vc_pg_result_t *r = (vc_pg_result_t *)reply;

	if (vc_srv_pg_failed(req, reply))
		return;
	log_info("server %s created by %s", PQgetvalue(r->res, 0, 0),
	         ((change_t *)vc_http_data(req))->op.me->username);
	vc_http_respond_json(req, 201, server_json(r->res, 0, 0));
}

static void create_run(vc_http_req_t *req, const char *hash)
{
	change_t *c = vc_http_data(req);
	const char *params[7] = { c->f.name,
		                  c->f.description,
		                  c->op.me->user_id,
		                  c->f.is_private ? "true" : "false",
		                  hash,
		                  c->f.max[0] ? c->f.max : NULL,
		                  c->f.icon };

	vc_http_await(req, created);
	vc_pg_query(st_create, 7, params, vc_http_actor(req), VC_HTTP_MSG_REPLY, NULL);
}

static void create_hashed(vc_http_req_t *req, vc_msg_t *reply)
{
	const char *hash = new_hash(req, reply);

	if (hash != NULL)
		create_run(req, hash);
}

void vc_servers_create(vc_http_req_t *req)
{
	change_t *c = read_change(req, true);

	if (c == NULL)
		return;
	if (c->f.password == NULL)
		create_run(req, NULL);
	else
		hash_then(req, c, create_hashed);
}

/* --- PUT /api/servers/{id}: (owner? → hash →) update --------------------------- */

static void updated(vc_http_req_t *req, vc_msg_t *reply)
{
	vc_pg_result_t *r = (vc_pg_result_t *)reply;

	if (vc_srv_pg_failed(req, reply))
		return;
	if (PQntuples(r->res) != 1 || (vc_srv_bool(r->res, 0, 0) && PQgetisnull(r->res, 0, 1))) {
		vc_srv_fail(req, 404, "Server not found");
		return;
	}
	if (!vc_srv_bool(r->res, 0, 0)) {
		vc_srv_fail(req, 403, "Only the server's owner can do this");
		return;
	}
	log_info("server %s updated by its owner", PQgetvalue(r->res, 0, 1));
	vc_http_respond_json(req, 200, server_json(r->res, 0, 1));
}

static void update_run(vc_http_req_t *req, const char *hash)
{
	change_t *c = vc_http_data(req);
	const char *params[11] = { c->op.id,
		                   c->op.me->user_id,
		                   c->f.name,
		                   c->f.description,
		                   c->f.has_private ? (c->f.is_private ? "true" : "false") : NULL,
		                   c->f.has_password ? "true" : "false",
		                   hash,
		                   c->f.has_max ? "true" : "false",
		                   c->f.max[0] ? c->f.max : NULL,
		                   c->f.has_icon ? "true" : "false",
		                   c->f.icon };

	vc_http_await(req, updated);
	vc_pg_query(st_update, 11, params, vc_http_actor(req), VC_HTTP_MSG_REPLY, NULL);
}

static void update_hashed(vc_http_req_t *req, vc_msg_t *reply)
{
	const char *hash = new_hash(req, reply);

	if (hash != NULL)
		update_run(req, hash);
}

static void update_owned(vc_http_req_t *req, vc_msg_t *reply)
{
	vc_pg_result_t *r = (vc_pg_result_t *)reply;

	if (vc_srv_pg_failed(req, reply))
		return;
	if (PQntuples(r->res) != 1)
		vc_srv_fail(req, 404, "Server not found");
	else if (!vc_srv_bool(r->res, 0, 0))
		vc_srv_fail(req, 403, "Only the server's owner can do this");
	else
		hash_then(req, vc_http_data(req), update_hashed);
}

void vc_servers_update(vc_http_req_t *req)
{
	change_t *c = read_change(req, false);
	const char *params[2];

	if (c == NULL)
		return;
	if (c->f.password == NULL) {
		update_run(req, NULL);
		return;
	}
	params[0] = c->op.id;
	params[1] = c->op.me->user_id;
	vc_http_await(req, update_owned);
	vc_pg_query(st_owner, 2, params, vc_http_actor(req), VC_HTTP_MSG_REPLY, NULL);
}

/* --- DELETE /api/servers/{id} --------------------------------------------------- */

static void deleted(vc_http_req_t *req, vc_msg_t *reply)
{
	vc_pg_result_t *r = (vc_pg_result_t *)reply;
	const vc_srv_op_t *op = vc_http_data(req);

	if (vc_srv_pg_failed(req, reply))
		return;
	if (PQntuples(r->res) != 1 ||
	    (vc_srv_bool(r->res, 0, 0) && vc_srv_int(r->res, 0, 1) == 0)) {
		vc_srv_fail(req, 404, "Server not found");
		return;
	}
	if (!vc_srv_bool(r->res, 0, 0)) {
		vc_srv_fail(req, 403, "Only the server's owner can do this");
		return;
	}
	log_info("server %s deleted by its owner %s", op->id, op->me->username);
	vc_http_respond_json(req, 200, json_pack("{s:b}", "success", 1));
}

void vc_servers_delete(vc_http_req_t *req)
{
	vc_srv_op_t *op = vc_srv_op_new(req, sizeof(*op));
	const char *params[2] = { op->id, op->me->user_id };

	if (!vc_srv_path_id(req, 0, "Server not found", op->id))
		return;
	vc_http_await(req, deleted);
	vc_pg_query(st_delete, 2, params, vc_http_actor(req), VC_HTTP_MSG_REPLY, NULL);
}
