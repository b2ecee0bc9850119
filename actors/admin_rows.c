/*
 * admin_rows.c — rows as JSON and database failures for the admin verbs.
 */
#include "actors/admin_rows.h"

#include <stdlib.h>

json_t *vc_admin_as_str(const char *v)
{
	json_t *s = json_string(v);

	return s != NULL ? s : json_string("(not UTF-8)");
}

json_t *vc_admin_as_int(const char *v)
{
	return json_integer(strtoll(v, NULL, 10));
}

json_t *vc_admin_as_bool(const char *v)
{
	return json_boolean(v[0] == 't');
}

json_t *vc_admin_row_json(const PGresult *res, int row, const vc_admin_field_t *fields, size_t n)
{
	json_t *o = json_object();

	for (size_t i = 0; i < n; i++) {
		int c = fields[i].col;
		json_object_set_new(o, fields[i].name,
		                    PQgetisnull(res, row, c)
		                            ? json_null()
		                            : fields[i].conv(PQgetvalue(res, row, c)));
	}
	return o;
}

const char *vc_admin_pg_message(const vc_pg_result_t *r)
{
	const char *m = r->res ? PQresultErrorField(r->res, PG_DIAG_MESSAGE_PRIMARY) : NULL;

	return m != NULL ? m : "unknown error";
}

bool vc_admin_db_failed(vc_admin_req_t *req, const vc_pg_result_t *r)
{
	if (r->status == VC_PG_OK)
		return false;
	if (r->status == VC_PG_UNAVAILABLE) {
		vc_admin_fail(req, "the database is unreachable; nothing was done (try again once "
		                   "'vcctl status' shows it ok)");
		return true;
	}
	vc_admin_fail(req, "the database refused the statement: %s", vc_admin_pg_message(r));
	return true;
}
