/*
 * admin_rows.h — what the admin verbs that read PostgreSQL share: database
 * failures answered in one voice, and result rows turned into JSON objects
 * by a table of fields (actors/admin_users.c, actors/admin_meetings.c).
 */
#ifndef VC_ADMIN_ROWS_H
#define VC_ADMIN_ROWS_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>

#include "wire/admin.h"
#include "runtime/pg.h"

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
