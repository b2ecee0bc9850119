/*
 * servers_common.c — what the server routes share (servers_int.h): error
 * answers, bodies, ids, a request's state, paging, outcome tables and
 * result columns.
 */
#include "actors/servers_int.h"

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/session_cache.h" /* vc_identity_copy */
#include "runtime/log.h"
#include "wire/urlenc.h"

void vc_srv_fail(vc_http_req_t *req, int status, const char *message)
{
	vc_auth_error(req, 0, status, NULL, message);
}

bool vc_srv_pg_failed(vc_http_req_t *req, vc_msg_t *reply)
{
	vc_pg_result_t *r = (vc_pg_result_t *)reply;

	if (r->status == VC_PG_OK)
		return false;
	if (r->status == VC_PG_ERROR)
		log_error("statement failed: %s",
		          PQresultErrorField(r->res, PG_DIAG_MESSAGE_PRIMARY));
	if (r->status == VC_PG_UNAVAILABLE)
		vc_srv_fail(req, 503, "Service unavailable, try again");
	else
		vc_srv_fail(req, 500, "Internal error");
	return true;
}

const char *vc_srv_sqlstate(vc_msg_t *reply)
{
	vc_pg_result_t *r = (vc_pg_result_t *)reply;
	const char *s = r->res != NULL ? PQresultErrorField(r->res, PG_DIAG_SQLSTATE) : NULL;

	return r->status == VC_PG_ERROR && s != NULL ? s : "";
}

bool vc_srv_is_uuid(const char *s)
{
	static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";

	for (size_t i = 0; i < sizeof(shape) - 1; i++)
		if (shape[i] == '-' ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return false;
	return s[sizeof(shape) - 1] == '\0';
}

void vc_srv_uuid_copy(const char *s, char out[37])
{
	for (size_t i = 0; i < 36; i++)
		out[i] = (char)tolower((unsigned char)s[i]);
	out[36] = '\0';
}

bool vc_srv_path_id(vc_http_req_t *req, unsigned i, const char *missing, char out[37])
{
	const char *id = vc_http_param(req, i);

	if (id != NULL && vc_srv_is_uuid(id)) {
		vc_srv_uuid_copy(id, out);
		return true;
	}
	vc_srv_fail(req, 404, missing);
	return false;
}

json_t *vc_srv_body(vc_http_req_t *req, bool optional)
{
	size_t len;
	const char *b = vc_http_body(req, &len);
	json_t *j;

	if (optional && len == 0)
		return json_object();
	j = json_loadb(b, len, JSON_REJECT_DUPLICATES, NULL);
	if (j == NULL || !json_is_object(j)) {
		json_decref(j);
		vc_srv_fail(req, 400, "The request body must be a JSON object");
		return NULL;
	}
	return j;
}

int vc_srv_string(json_t *o, const char *key, const char **out)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return -1;
	*out = json_string_value(v);
	return 1;
}

static void op_free(void *p)
{
	vc_srv_op_t *op = p;
	json_t *pw = json_object_get(op->body, "password");

	if (json_is_string(pw))
		sodium_memzero((char *)json_string_value(pw), json_string_length(pw));
	json_decref(op->body);
	vc_identity_free(op->me);
	free(op);
}

void *vc_srv_op_new(vc_http_req_t *req, size_t size)
{
	const vc_identity_t *id = vc_auth_identity(req);
	vc_srv_op_t *op = vc_calloc(1, size);

	op->me = id != NULL ? vc_identity_copy(id) : NULL;
	vc_http_set_data(req, op, op_free); /* frees the identity the slot held */
	return op;
}

/* A decimal number of at most 7 digits in [lo, hi] from the query string;
 * def when absent. False when present and not one. */
static bool query_number(vc_http_req_t *req, const char *key, long lo, long hi, long def, long *out)
{
	size_t len;
	char *v = vc_query_value(vc_http_query(req), key, &len);
	bool ok = v == NULL || (len > 0 && len <= 7 && strspn(v, "0123456789") == len);

	*out = def;
	if (v != NULL && ok) {
		*out = strtol(v, NULL, 10);
		ok = *out >= lo && *out <= hi;
	}
	free(v);
	return ok;
}

bool vc_srv_paging(vc_http_req_t *req, unsigned def, unsigned max, vc_srv_op_t *p)
{
	long l, o;
	char msg[64];

	if (!query_number(req, "limit", 1, max, def, &l)) {
		snprintf(msg, sizeof(msg), "limit must be an integer from 1 to %u", max);
		vc_srv_fail(req, 400, msg);
		return false;
	}
	if (!query_number(req, "offset", 0, VC_SRV_OFFSET_MAX, 0, &o)) {
		vc_srv_fail(req, 400, "offset must be an integer from 0 to 1000000");
		return false;
	}
	snprintf(p->limit, sizeof(p->limit), "%ld", l);
	snprintf(p->offset, sizeof(p->offset), "%ld", o);
	return true;
}

void vc_srv_answer_page(vc_http_req_t *req, const vc_srv_op_t *p, const char *key, json_t *items,
                        json_int_t total)
{
	vc_http_respond_json(req, 200,
	                     json_pack("{s:o,s:I,s:I,s:I}", key, items, "total", total, "limit",
	                               (json_int_t)strtoll(p->limit, NULL, 10), "offset",
	                               (json_int_t)strtoll(p->offset, NULL, 10)));
}

json_t *vc_srv_text(const PGresult *res, int row, int col)
{
	json_t *s;

	if (PQgetisnull(res, row, col))
		return json_null();
	s = json_string(PQgetvalue(res, row, col));
	return s != NULL ? s : json_null();
}

json_int_t vc_srv_int(const PGresult *res, int row, int col)
{
	return (json_int_t)strtoll(PQgetvalue(res, row, col), NULL, 10);
}

bool vc_srv_bool(const PGresult *res, int row, int col)
{
	return PQgetvalue(res, row, col)[0] == 't';
}

/* --- answers from statements -------------------------------------------------- */

void vc_srv_answer_outcome(vc_http_req_t *req, const PGresult *res, const vc_srv_outcome_t *tab,
                           size_t n)
{
	const char *name = PQgetvalue(res, 0, 0);

	for (size_t i = 0; i < n; i++) {
		if (strcmp(tab[i].name, name) != 0)
			continue;
		if (tab[i].answer != NULL)
			tab[i].answer(req, res);
		else
			vc_srv_fail(req, tab[i].status, tab[i].message);
		return;
	}
	log_error("servers: unknown outcome '%s'", name);
	vc_srv_fail(req, 500, "Internal error");
}

bool vc_srv_owned(vc_http_req_t *req, const PGresult *res)
{
	if (PQntuples(res) == 0) {
		vc_srv_fail(req, 404, VC_SRV_E_SERVER);
		return false;
	}
	if (!vc_srv_bool(res, 0, 0)) {
		vc_srv_fail(req, 403, VC_SRV_E_OWNER);
		return false;
	}
	return true;
}

void vc_srv_success(vc_http_req_t *req)
{
	vc_http_respond_json(req, 200, json_pack("{s:b}", "success", 1));
}

void vc_srv_list_run(vc_http_req_t *req, int stmt, vc_http_cont_fn cont)
{
	vc_srv_op_t *op = vc_srv_op_new(req, sizeof(*op));
	const char *params[4] = { op->id, op->me != NULL ? op->me->user_id : NULL, op->limit,
		                  op->offset };

	if (!vc_srv_path_id(req, 0, VC_SRV_E_SERVER, op->id) ||
	    !vc_srv_paging(req, VC_SRV_PAGE_DEFAULT, VC_SRV_PAGE_MAX, op))
		return;
	vc_http_await(req, cont);
	vc_pg_query(stmt, 4, params, vc_http_actor(req), VC_HTTP_MSG_REPLY, NULL);
}
