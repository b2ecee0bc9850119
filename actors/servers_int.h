/*
 * servers_int.h — what actors/servers.c and actors/server_members.c share:
 * error answers in the {"error": "..."} style of /api/users, request
 * bodies, ids and paging. Not for other modules.
 */
#ifndef VC_SERVERS_INT_H
#define VC_SERVERS_INT_H

#include <jansson.h>
#include <stdbool.h>

#include "actors/auth.h"
#include "runtime/pg.h"
#include "wire/http.h"

/* Bounds (bytes); vcd-api(7) and the CHECKs of sql/006_servers.sql say the same. */
#define VC_SRV_NAME_MAX 100
#define VC_SRV_DESCRIPTION_MAX 1000
#define VC_SRV_PASSWORD_MAX 256
#define VC_SRV_ICON_MAX 2048
#define VC_SRV_REASON_MAX 500
#define VC_SRV_MAX_USERS 100000
#define VC_SRV_OFFSET_MAX 1000000
#define VC_SRV_PAGE_DEFAULT 100 /* lists but the directory */
#define VC_SRV_PAGE_MAX 1000

#define VC_SRV_E_SERVER "Server not found"
#define VC_SRV_E_OWNER "Only the server's owner can do this"

/* clang-format off */
/* A CTE `s` of server $1 with `mine`: caller $2 owns it (no row: no server). */
#define VC_SRV_OWNED \
	"s AS (SELECT id, owner_id = $2::uuid AS mine FROM servers WHERE id = $1::uuid)"
/* clang-format on */

/* Main thread: the statements of actors/server_members.c and
 * actors/server_moderation.c. */
void vc_server_members_init(void);
void vc_server_moderation_init(void);

/* {"error": message} with status. */
void vc_srv_fail(vc_http_req_t *req, int status, const char *message);
/* True (and the request answered 500 or 503) unless the statement ran. */
bool vc_srv_pg_failed(vc_http_req_t *req, vc_msg_t *reply);
/* The SQLSTATE of a failed statement, or "". */
const char *vc_srv_sqlstate(vc_msg_t *reply);

/* A UUID in its text form (either case). */
bool vc_srv_is_uuid(const char *s);
/* Path parameter i, when it is a UUID, into out in lower case; else false
 * and the request answered 404 with `missing`. */
bool vc_srv_path_id(vc_http_req_t *req, unsigned i, const char *missing, char out[37]);
/* s, a UUID, into out in lower case. */
void vc_srv_uuid_copy(const char *s, char out[37]);

/* The body as a JSON object, or NULL with the request answered 400. With
 * optional, an empty body is an empty object. */
json_t *vc_srv_body(vc_http_req_t *req, bool optional);
/* A string member: 0 absent or null, 1 a string (*out set), -1 otherwise. */
int vc_srv_string(json_t *o, const char *key, const char **out);

/*
 * A request's state between its steps. On a route that requires a session
 * the request's data slot holds the caller's identity (actors/auth.h),
 * which vc_srv_op_new replaces: read the caller from `me` afterwards, never
 * from vc_auth_identity().
 */
typedef struct vc_srv_op {
	vc_identity_t *me;          /* the caller (a copy), NULL when anonymous */
	json_t *body;               /* NULL when none; a "password" in it is wiped at the end */
	char id[37];                /* the path's server or request id, lower case */
	char target[37];            /* the user an owner acts on, lower case */
	char limit[12], offset[12]; /* a list's page, as statement text */
} vc_srv_op_t;

/* A zeroed state of `size` bytes (a struct whose first member is a
 * vc_srv_op_t), owned by the request from now on, with a copy of the
 * caller's identity if there is one. */
void *vc_srv_op_new(vc_http_req_t *req, size_t size);

/* limit and offset of the query string into op: limit 1 to max (default
 * def), offset 0 to VC_SRV_OFFSET_MAX (default 0). False with the request
 * answered 400. */
bool vc_srv_paging(vc_http_req_t *req, unsigned def, unsigned max, vc_srv_op_t *op);
/* {key: items (stolen), total, limit, offset} with 200. */
void vc_srv_answer_page(vc_http_req_t *req, const vc_srv_op_t *op, const char *key, json_t *items,
                        json_int_t total);

/* The path's server and the page (VC_SRV_PAGE_*) into a new state, then
 * stmt with ($id, the caller or NULL, limit, offset) and cont. */
void vc_srv_list_run(vc_http_req_t *req, int stmt, vc_http_cont_fn cont);

/* What an outcome (column 0 of a function's row) answers: status and
 * message, or, when answer is set, what it writes. */
typedef struct vc_srv_outcome {
	const char *name;
	int status;
	const char *message;
	void (*answer)(vc_http_req_t *req, const PGresult *res);
} vc_srv_outcome_t;

/* Answer by row 0's outcome; one the table lacks (a bug between the code
 * and the migration) answers 500. */
void vc_srv_answer_outcome(vc_http_req_t *req, const PGresult *res, const vc_srv_outcome_t *tab,
                           size_t n);
/* Owner-only statements (VC_SRV_OWNED) answer `mine` first: true when the
 * caller owns the server; else the request answered 404 or 403. */
bool vc_srv_owned(vc_http_req_t *req, const PGresult *res);
/* 200 {"success":true}. */
void vc_srv_success(vc_http_req_t *req);

/* A column as JSON: text (NULL: null), bigint, boolean. */
json_t *vc_srv_text(const PGresult *res, int row, int col);
json_int_t vc_srv_int(const PGresult *res, int row, int col);
bool vc_srv_bool(const PGresult *res, int row, int col);

#endif
