/*
 * admin_rows.h — what the admin verbs that read PostgreSQL share: one
 * statement run for one admin request, database failures answered in one
 * voice, and result rows turned into JSON objects by a table of fields
 * (actors/admin_users.c, actors/admin_meetings.c, actors/admin_servers.c).
 */
#ifndef VC_ADMIN_ROWS_H
#define VC_ADMIN_ROWS_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>

#include "wire/admin.h"
#include "runtime/pg.h"

/* What runs on the worker once the statement has: answer req from r. arg
 * is the copy vc_admin_db_run made (NULL when none was given). */
typedef void (*vc_admin_db_cont_fn)(vc_admin_req_t *req, const vc_pg_result_t *r, const char *arg);

/* On a worker thread (the admin socket's): run statement stmt, then
 * cont(req, result, arg) on this worker. A one-shot actor receives the
 * result and goes once cont has run. arg (copied; may be NULL) is for the
 * continuation's messages, typically the verb's argument. */
void vc_admin_db_run(vc_admin_req_t *req, int stmt, int nparams, const char *const *params,
                     vc_admin_db_cont_fn cont, const char *arg);

/* A text value as JSON: string (invalid UTF-8 shown as "(not UTF-8)"),
 * integer, or boolean ('t'). */
json_t *vc_admin_as_str(const char *v);
json_t *vc_admin_as_int(const char *v);
json_t *vc_admin_as_bool(const char *v);

typedef struct vc_admin_field {
	const char *name;
	int col;
	json_t *(*conv)(const char *v);
} vc_admin_field_t;

/* Row `row` as an object of `fields`; SQL NULL becomes JSON null. */
json_t *vc_admin_row_json(const PGresult *res, int row, const vc_admin_field_t *fields, size_t n);

/* The database's one-line message of a failed statement. */
const char *vc_admin_pg_message(const vc_pg_result_t *r);

/* True (and the request answered) when the statement did not run: the
 * database is unreachable, or it refused the statement. */
bool vc_admin_db_failed(vc_admin_req_t *req, const vc_pg_result_t *r);

#endif
