/*
 * meeting_roles.c — the roles routes (see meeting_roles.h).
 *
 * Each route is one statement that finds the live meeting, says whether
 * the caller owns it and does the work only then, so the answer's 404 /
 * 403 / success comes from one snapshot. Roles are never kept by the
 * meeting actors (a join reads the caller's role, or its write checks it),
 * so nothing else needs telling. The owner is the meeting's creator and
 * has no row: PUT or DELETE of the owner's own id answers 400.
 */
#include "actors/meeting_roles.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "actors/auth.h"
#include "actors/meeting_fsm.h"
#include "actors/meeting_json.h"
#include "actors/meetings.h"
#include "runtime/log.h"
#include "runtime/pg.h"
#include "wire/urlenc.h"

#define TEXT "text/plain; charset=utf-8"

static int st_list, st_put, st_delete;

/* The meeting ($1 room id) and whether $2 owns it, as columns 0-2 of one row. */
#define FIND                                                                                       \
	"WITH m AS (SELECT id, creator_id, creator_id = $2 AS owner FROM meetings"                 \
	"  WHERE room_id = $1 AND deleted_at IS NULL)"

void vc_meeting_roles_init(void)
{
	st_list = vc_pg_statement(
	        "roles_list",
	        FIND " SELECT (SELECT count(*) FROM m) > 0, COALESCE((SELECT owner FROM m), false),"
	             " (SELECT creator_id FROM m), r.user_id, r.role"
	             " FROM (SELECT 1) one LEFT JOIN meeting_roles r"
	             " ON r.meeting_id = (SELECT id FROM m WHERE owner)"
	             " ORDER BY r.user_id",
	        2);
	st_put = vc_pg_statement(
	        "roles_put",
	        FIND ", w AS (INSERT INTO meeting_roles (meeting_id, user_id, role)"
	             "  SELECT id, $3::text, $4::text FROM m WHERE owner AND creator_id <> $3::text"
	             "  ON CONFLICT (meeting_id, user_id) DO UPDATE SET role = EXCLUDED.role"
	             "  RETURNING user_id, role)"
	             " SELECT (SELECT count(*) FROM m) > 0, COALESCE((SELECT owner FROM m), false),"
	             " (SELECT creator_id FROM m), w.user_id, w.role"
	             " FROM (SELECT 1) one LEFT JOIN w ON true",
	        4);
	st_delete = vc_pg_statement(
	        "roles_delete",
	        FIND ", w AS (DELETE FROM meeting_roles r USING m"
	             "  WHERE r.meeting_id = m.id AND m.owner AND r.user_id = $3::text"
	             "  RETURNING r.user_id, r.role)"
	             " SELECT (SELECT count(*) FROM m) > 0, COALESCE((SELECT owner FROM m), false),"
	             " (SELECT creator_id FROM m), w.user_id, w.role"
	             " FROM (SELECT 1) one LEFT JOIN w ON true",
	        3);
}

/* What a roles request keeps while its statement runs. */
typedef struct rreq {
	char *caller; /* from the credential */
	char *room_id, *user_id, *role;
} rreq_t;

static void rreq_free(void *p)
{
	rreq_t *r = p;

	free(r->caller);
	free(r->room_id);
	free(r->user_id);
	free(r->role);
	free(r);
}

static void respond_envelope(vc_http_req_t *req, int status, const char *code, const char *fmt,
                             const char *a, const char *b)
{
	char msg[640];

	snprintf(msg, sizeof(msg), fmt, a, b);
	vc_http_respond_json(req, status, vc_meeting_json_envelope(code, msg));
}

/* The statement's verdict on the meeting: false when answered (404, 403, 5xx). */
static bool meeting_ok(vc_http_req_t *req, vc_msg_t *reply)
{
	vc_pg_result_t *r = (vc_pg_result_t *)reply;
	rreq_t *rr = vc_http_data(req);

	if (r->status != VC_PG_OK) {
		if (r->status == VC_PG_ERROR)
			log_error("meeting roles: statement failed: %s",
			          PQresultErrorField(r->res, PG_DIAG_MESSAGE_PRIMARY));
		vc_http_respond_json(req, r->status == VC_PG_UNAVAILABLE ? 503 : 500,
		                     vc_meeting_json_error(r->status == VC_PG_UNAVAILABLE
		                                                   ? VC_MERR_UNAVAILABLE
		                                                   : VC_MERR_INTERNAL,
		                                           NULL, NULL));
		return false;
	}
	if (PQntuples(r->res) < 1 || PQgetvalue(r->res, 0, 0)[0] != 't') {
		vc_http_respond_json(req, 404,
		                     vc_meeting_json_error(VC_MERR_MEETING_NOT_FOUND, rr->room_id,
		                                           NULL));
		return false;
	}
	if (PQgetvalue(r->res, 0, 1)[0] != 't') {
		vc_http_respond_json(req, 403,
		                     vc_meeting_json_error(VC_MERR_NOT_OWNER, NULL, NULL));
		return false;
	}
	return true;
}

static void listed(vc_http_req_t *req, vc_msg_t *reply)
{
	vc_pg_result_t *r = (vc_pg_result_t *)reply;
	rreq_t *rr = vc_http_data(req);
	json_t *roles;

	if (!meeting_ok(req, reply))
		return;
	roles = json_array();
	for (int i = 0; i < PQntuples(r->res); i++)
		if (!PQgetisnull(r->res, i, 3))
			json_array_append_new(roles, json_pack("{s:s,s:s}", "user_id",
			                                       PQgetvalue(r->res, i, 3), "role",
			                                       PQgetvalue(r->res, i, 4)));
	vc_http_respond_json(req, 200,
	                     vc_meeting_json_ok(
	                             json_pack("{s:s,s:s,s:o}", "meeting_id", rr->room_id, "owner",
	                                       PQgetvalue(r->res, 0, 2), "roles", roles)));
}

/* PUT and DELETE: the row written or removed, or why none was. */
static void changed(vc_http_req_t *req, vc_msg_t *reply)
{
	vc_pg_result_t *r = (vc_pg_result_t *)reply;
	rreq_t *rr = vc_http_data(req);

	if (!meeting_ok(req, reply))
		return;
	if (strcmp(PQgetvalue(r->res, 0, 2), rr->user_id) == 0) {
		respond_envelope(req, 400, "OWNER_ROLE",
		                 "User '%s' owns meeting '%s': the owner's role cannot change",
		                 rr->user_id, rr->room_id);
		return;
	}
	if (PQgetisnull(r->res, 0, 3)) {
		respond_envelope(req, 404, "ROLE_NOT_FOUND",
		                 "User '%s' has no role in meeting '%s'", rr->user_id, rr->room_id);
		return;
	}
	log_info("meeting '%s': role of '%s' %s (%s)", rr->room_id, rr->user_id,
	         rr->role != NULL ? "set" : "removed", PQgetvalue(r->res, 0, 4));
	vc_http_respond_json(req, 200,
	                     vc_meeting_json_ok(json_pack("{s:s,s:s,s:s?}", "meeting_id",
	                                                  rr->room_id, "user_id", rr->user_id,
	                                                  "role", rr->role)));
}

/* Path parameter i, percent-decoded; NULL (answered 400) when it is not
 * text: PostgreSQL refuses what is not UTF-8. */
static char *path_param(vc_http_req_t *req, unsigned i)
{
	const char *raw = vc_http_param(req, i);
	size_t len;
	char *v = vc_pct_decode(raw ? raw : "", raw ? strlen(raw) : 0, false, &len);
	json_t *probe = len == 0 || len > 255 || memchr(v, '\0', len) != NULL
	                        ? NULL
	                        : json_stringn(v, len); /* jansson checks UTF-8 */

	if (probe == NULL) {
		static const char msg[] = "Invalid URL: a path parameter is empty, too long, "
		                          "holds NUL or is not UTF-8";
		free(v);
		vc_http_respond(req, 400, TEXT, msg, sizeof(msg) - 1);
		return NULL;
	}
	json_decref(probe);
	return v;
}

/* The request's data with the caller and the path read; NULL when
 * answered. The caller is copied first: setting the request's data
 * releases the identity (actors/auth.h). */
static rreq_t *begin(vc_http_req_t *req, bool with_user)
{
	rreq_t *rr = vc_calloc(1, sizeof(*rr));

	rr->caller = vc_strdup(vc_auth_identity(req)->user_id);
	vc_http_set_data(req, rr, rreq_free);
	if ((rr->room_id = path_param(req, 0)) == NULL)
		return NULL;
	if (with_user && (rr->user_id = path_param(req, 1)) == NULL)
		return NULL;
	return rr;
}

void vc_meeting_roles_list(vc_http_req_t *req)
{
	rreq_t *rr = begin(req, false);

	if (rr == NULL)
		return;
	const char *p[2] = { rr->room_id, rr->caller };
	vc_http_await(req, listed);
	vc_pg_query(st_list, 2, p, vc_http_actor(req), VC_HTTP_MSG_REPLY, NULL);
}

/* {"role": "administrator" | "member"}, as the meeting API reads bodies
 * (415 without JSON, 400 when it does not parse, 422 for its shape). */
static char *read_role(vc_http_req_t *req)
{
	size_t len = 0;
	const char *body = vc_http_body(req, &len);
	const char *ct = vc_http_header(req, "Content-Type");
	json_t *doc, *v;
	char msg[256];
	char *role = NULL;

	if (!vc_meeting_json_content_type(ct)) {
		snprintf(msg, sizeof(msg),
		         "Expected request with `Content-Type: application/json`");
		vc_http_respond(req, 415, TEXT, msg, strlen(msg));
		return NULL;
	}
	doc = json_loadb(body ? body : "", len, 0, NULL);
	v = json_object_get(doc, "role");
	if (doc == NULL) {
		snprintf(msg, sizeof(msg), "Failed to parse the request body as JSON");
		vc_http_respond(req, 400, TEXT, msg, strlen(msg));
	} else if (!json_is_string(v) || vc_room_role_parse(json_string_value(v)) == VC_RR_NONE ||
	           vc_room_role_parse(json_string_value(v)) == VC_RR_COUNT) {
		snprintf(msg, sizeof(msg),
		         "Failed to deserialize the JSON body into the target type: role: "
		         "expected `administrator` or `member`");
		vc_http_respond(req, 422, TEXT, msg, strlen(msg));
	} else {
		role = vc_strdup(json_string_value(v));
	}
	json_decref(doc);
	return role;
}

void vc_meeting_roles_put(vc_http_req_t *req)
{
	rreq_t *rr = begin(req, true);

	if (rr == NULL || (rr->role = read_role(req)) == NULL)
		return;
	const char *p[4] = { rr->room_id, rr->caller, rr->user_id, rr->role };
	vc_http_await(req, changed);
	vc_pg_query(st_put, 4, p, vc_http_actor(req), VC_HTTP_MSG_REPLY, NULL);
}

void vc_meeting_roles_delete(vc_http_req_t *req)
{
	rreq_t *rr = begin(req, true);

	if (rr == NULL)
		return;
	const char *p[3] = { rr->room_id, rr->caller, rr->user_id };
	vc_http_await(req, changed);
	vc_pg_query(st_delete, 3, p, vc_http_actor(req), VC_HTTP_MSG_REPLY, NULL);
}
