/*
 * admin_rows.c — one statement per admin request, rows as JSON and database
 * failures for the admin verbs.
 */
#include "actors/admin_rows.h"

#include <stdlib.h>

typedef struct db_op {
	vc_admin_req_t *req;
	vc_admin_db_cont_fn cont;
	char *arg; /* the verb's argument (for messages), or NULL */
} db_op_t;

static int db_op_done(vc_actor_t *self, vc_msg_t *m)
{
	db_op_t *op = self->state;

	op->cont(op->req, (const vc_pg_result_t *)m, op->arg);
	vc_actor_unref(self); /* vc_admin_db_run's reference: gone at the next safe point */
	return VC_MSG_DONE;
}

static void db_op_free(vc_actor_t *self)
{
	db_op_t *op = self->state;

	free(op->arg);
	free(op);
	free(self);
}

static const vc_handler_fn db_op_handlers[] = { db_op_done };
static const vc_behaviour_t db_op_behaviour = {
	.name = "admin-db",
	.handlers = db_op_handlers,
	.nhandlers = VC_ARRAY_LEN(db_op_handlers),
	.free = db_op_free,
};

void vc_admin_db_run(vc_admin_req_t *req, int stmt, int nparams, const char *const *params,
                     vc_admin_db_cont_fn cont, const char *arg)
{
	vc_worker_t *w = vc_worker_self();
	db_op_t *op;

	if (w == NULL) {
		vc_admin_fail(req, "internal error: an admin verb ran outside a worker thread");
		return;
	}
	op = vc_calloc(1, sizeof(*op));
	op->req = req;
	op->cont = cont;
	op->arg = arg != NULL ? vc_strdup(arg) : NULL;
	vc_pg_query(stmt, nparams, params, vc_actor_new(&db_op_behaviour, w, op), 0, NULL);
}

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
