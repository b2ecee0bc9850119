/*
 * admin_apps.c — the apps admin verbs: applications of the external API
 * (sql/009_applications.sql). An application is named by its client id.
 *
 * `apps create` and `apps rotate-secret` make a secret (128 letters and
 * digits from libsodium's CSPRNG), hash it with Argon2id on the offload pool
 * (never on the worker), store only the hash and answer the secret once.
 * The secret is never logged; its copies are wiped.
 */
#include "actors/admin_apps.h"

#include "actors/admin_rows.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "actors/password.h"
#include "runtime/log.h"
#include "runtime/offload.h"
#include "runtime/pg.h"
#include "wire/admin_proto.h"

/* clang-format off */
#define XSTR(x) #x
#define STR(x) XSTR(x)
#define ISO(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
#define DOMAINS(app) "(SELECT coalesce(json_agg(d.domain ORDER BY d.domain), '[]')::text" \
	" FROM application_domains d WHERE d.application_id = " app ")"
#define APP_BY_ID "WITH a AS (SELECT id, client_id, name FROM applications WHERE client_id = $1)"
/* clang-format on */

static int st_create, st_list, st_show, st_active, st_rotate, st_delete, st_dom_add, st_dom_rm,
        st_scopes;

/* clang-format off */
static const vc_pg_stmt_def_t stmts[] = {
	{ &st_create, "adm_app_create",
	  "WITH a AS (INSERT INTO applications (name, client_id, secret_hash, scopes)"
	  " VALUES ($1, $2, $3, $4::text[]) RETURNING id, client_id, name, scopes),"
	  " d AS (INSERT INTO application_domains (application_id, domain)"
	  " SELECT DISTINCT a.id, x FROM a, unnest($5::text[]) AS x RETURNING domain)"
	  " SELECT a.client_id, a.name, array_to_json(a.scopes)::text,"
	  " (SELECT coalesce(json_agg(domain ORDER BY domain), '[]')::text FROM d) FROM a", 5 },
	{ &st_list, "adm_apps",
	  "SELECT a.name, a.client_id, array_to_string(a.scopes, ' '), a.active,"
	  " (SELECT count(*) FROM application_domains d WHERE d.application_id = a.id), "
	  ISO("a.created_at") " FROM applications a ORDER BY lower(a.name), a.client_id"
	  " LIMIT " STR(VC_ADMIN_LIST_MAX), 0 },
	{ &st_show, "adm_app",
	  "SELECT a.client_id, a.name, array_to_json(a.scopes)::text, a.active, " DOMAINS("a.id")
	  ", " ISO("a.created_at") ", " ISO("a.updated_at")
	  " FROM applications a WHERE a.client_id = $1", 1 },
	{ &st_active, "adm_app_active",
	  "UPDATE applications SET active = $2::boolean, updated_at = now() WHERE client_id = $1"
	  " RETURNING client_id, name, active", 2 },
	{ &st_rotate, "adm_app_rotate",
	  "UPDATE applications SET secret_hash = $2, updated_at = now() WHERE client_id = $1"
	  " RETURNING client_id, name", 2 },
	{ &st_scopes, "adm_app_scopes",
	  "UPDATE applications SET scopes = $2::text[], updated_at = now() WHERE client_id = $1"
	  " RETURNING client_id, name, array_to_json(scopes)::text", 2 },
	{ &st_delete, "adm_app_delete",
	  "DELETE FROM applications WHERE client_id = $1 RETURNING client_id, name", 1 },
	{ &st_dom_add, "adm_app_domain_add",
	  APP_BY_ID ", i AS (INSERT INTO application_domains (application_id, domain)"
	  " SELECT id, $2::text FROM a ON CONFLICT DO NOTHING RETURNING domain)"
	  " SELECT a.client_id, a.name, $2::text, EXISTS (SELECT 1 FROM i) FROM a", 2 },
	{ &st_dom_rm, "adm_app_domain_remove",
	  APP_BY_ID ", x AS (DELETE FROM application_domains d USING a"
	  " WHERE d.application_id = a.id AND d.domain = $2::text RETURNING d.domain)"
	  " SELECT a.client_id, a.name, $2::text, EXISTS (SELECT 1 FROM x) FROM a", 2 },
};
/* clang-format on */

void vc_admin_apps_init(void)
{
	vc_pg_statements(stmts, VC_ARRAY_LEN(stmts));
}

static json_t *as_json(const char *v)
{
	json_t *j = json_loads(v, 0, NULL);

	return j != NULL ? j : json_null();
}

#define as_str vc_admin_as_str
#define as_int vc_admin_as_int
#define as_bool vc_admin_as_bool
typedef vc_admin_field_t field_t;

/* clang-format off */
static const field_t list_fields[] = {
	{ "name", 0, as_str }, { "client_id", 1, as_str }, { "scopes", 2, as_str },
	{ "active", 3, as_bool }, { "domains", 4, as_int }, { "created_at", 5, as_str },
};
static const field_t show_fields[] = {
	{ "client_id", 0, as_str }, { "name", 1, as_str }, { "scopes", 2, as_json },
	{ "active", 3, as_bool }, { "domains", 4, as_json }, { "created_at", 5, as_str },
	{ "updated_at", 6, as_str },
};
static const field_t active_fields[] = {
	{ "client_id", 0, as_str }, { "name", 1, as_str }, { "active", 2, as_bool },
};
static const field_t scopes_fields[] = {
	{ "client_id", 0, as_str }, { "name", 1, as_str }, { "scopes", 2, as_json },
};
static const field_t deleted_fields[] = { { "deleted", 0, as_str }, { "name", 1, as_str } };
static const field_t dom_add_fields[] = {
	{ "client_id", 0, as_str }, { "name", 1, as_str }, { "domain", 2, as_str },
	{ "added", 3, as_bool },
};
static const field_t dom_rm_fields[] = {
	{ "client_id", 0, as_str }, { "name", 1, as_str }, { "domain", 2, as_str },
	{ "removed", 3, as_bool },
};
/* clang-format on */

static const char *const scopes[] = { "rooms:create", "rooms:list", "rooms:retrieve",
	                              "rooms:update", "rooms:delete" };

/* --- checks ------------------------------------------------------------------------ */

bool vc_app_client_id_ok(const char *s)
{
	size_t n = 0;

	for (; s[n] != '\0'; n++)
		if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z') ||
		      (s[n] >= '0' && s[n] <= '9')))
			return false;
	return n == VC_APP_CLIENT_ID_LEN;
}

static bool app_id_ok(vc_admin_req_t *req, const char *id)
{
	if (vc_app_client_id_ok(id))
		return true;
	vc_admin_fail(req,
	              "no application '%.64s' (expected a client id, 40 letters and digits, "
	              "as 'vcctl apps list' shows)",
	              id);
	return false;
}

/* A domain lower-cased and trimmed into out (254 bytes), or false: labels
 * of letters, digits and '-' (not first or last), at least two of them. */
static bool domain_norm(const char *in, char *out)
{
	size_t b = 0, e = strlen(in), n, label = 0, labels = 1;

	while (b < e && (in[b] == ' ' || in[b] == '\t'))
		b++;
	while (e > b && (in[e - 1] == ' ' || in[e - 1] == '\t'))
		e--;
	n = e - b;
	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = in[b + i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c == '.') {
			if (label == 0 || out[i - 1] == '-')
				return false;
			label = 0;
			labels++;
		} else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		           (c == '-' && label > 0)) {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
		out[i] = c;
	}
	out[n] = '\0';
	return label > 0 && out[n - 1] != '-' && labels >= 2;
}

static bool scope_ok(const char *s)
{
	for (size_t i = 0; i < VC_ARRAY_LEN(scopes); i++)
		if (strcmp(s, scopes[i]) == 0)
			return true;
	return false;
}

/* Letters and digits from the CSPRNG. */
static void random_token(char *out, size_t n)
{
	static const char alphabet[] =
	        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

	for (size_t i = 0; i < n; i++)
		out[i] = alphabet[randombytes_uniform(sizeof(alphabet) - 1)];
	out[n] = '\0';
}

/* --- create and rotate-secret: hash on the offload pool, then one statement -------- */

enum { MSG_HASHED, MSG_STORED };

typedef struct secret_op {
	vc_admin_req_t *req;
	bool create;
	char client_id[VC_APP_CLIENT_ID_LEN + 1];
	char secret[VC_APP_SECRET_LEN + 1];
	char hash[VC_PASSWORD_HASH_MAX];
	char *name, *scopes, *domains; /* create: text and two array literals */
} secret_op_t;

typedef struct hash_job {
	vc_offload_job_t job;
	char secret[VC_APP_SECRET_LEN + 1];
	char hash[VC_PASSWORD_HASH_MAX]; /* "" on failure */
} hash_job_t;

static void hash_work(vc_offload_job_t *job)
{
	hash_job_t *j = (hash_job_t *)job;

	if (vc_password_hash(j->secret, j->hash) != 0)
		j->hash[0] = '\0';
}

static void hash_job_destroy(vc_msg_t *m)
{
	sodium_memzero(m, sizeof(hash_job_t));
	free(m);
}

static int op_hashed(vc_actor_t *self, vc_msg_t *m)
{
	secret_op_t *op = self->state;
	hash_job_t *j = (hash_job_t *)m;

	if (j->hash[0] == '\0') {
		vc_admin_fail(op->req, "internal error: the secret could not be hashed");
		vc_actor_unref(self);
		return VC_MSG_DONE;
	}
	memcpy(op->hash, j->hash, sizeof(op->hash));
	if (op->create) {
		const char *p[5] = { op->name, op->client_id, op->hash, op->scopes, op->domains };

		vc_pg_query(st_create, 5, p, self, MSG_STORED, NULL);
	} else {
		const char *p[2] = { op->client_id, op->hash };

		vc_pg_query(st_rotate, 2, p, self, MSG_STORED, NULL);
	}
	return VC_MSG_DONE;
}

static int op_stored(vc_actor_t *self, vc_msg_t *m)
{
	secret_op_t *op = self->state;
	const vc_pg_result_t *r = (const vc_pg_result_t *)m;
	json_t *o;

	if (vc_admin_db_failed(op->req, r)) {
		vc_actor_unref(self);
		return VC_MSG_DONE;
	}
	if (PQntuples(r->res) == 0) {
		vc_admin_fail(op->req, "no application '%s'", op->client_id);
		vc_actor_unref(self);
		return VC_MSG_DONE;
	}
	if (op->create) {
		log_info("admin: application %s (%s) created with scopes %s and domains %s",
		         op->client_id, PQgetvalue(r->res, 0, 1), PQgetvalue(r->res, 0, 2),
		         PQgetvalue(r->res, 0, 3));
		o = json_pack("{s:s, s:o, s:s, s:o, s:o}", "client_id", op->client_id, "name",
		              as_str(PQgetvalue(r->res, 0, 1)), "client_secret", op->secret,
		              "scopes", as_json(PQgetvalue(r->res, 0, 2)), "domains",
		              as_json(PQgetvalue(r->res, 0, 3)));
	} else {
		log_info("admin: application %s (%s): secret rotated", op->client_id,
		         PQgetvalue(r->res, 0, 1));
		o = json_pack("{s:s, s:o, s:s}", "client_id", op->client_id, "name",
		              as_str(PQgetvalue(r->res, 0, 1)), "client_secret", op->secret);
	}
	vc_admin_reply(op->req, o);
	vc_actor_unref(self);
	return VC_MSG_DONE;
}

static void op_destroy(secret_op_t *op)
{
	free(op->name);
	free(op->scopes);
	free(op->domains);
	sodium_memzero(op, sizeof(*op));
	free(op);
}

static void op_free(vc_actor_t *self)
{
	op_destroy(self->state);
	free(self);
}

static const vc_handler_fn op_handlers[] = { [MSG_HASHED] = op_hashed, [MSG_STORED] = op_stored };
static const vc_behaviour_t op_behaviour = {
	.name = "admin-app-secret",
	.handlers = op_handlers,
	.nhandlers = VC_ARRAY_LEN(op_handlers),
	.free = op_free,
};

/* Make a secret for op, hash it off the worker; the actor answers. */
static void secret_run(vc_admin_req_t *req, secret_op_t *op)
{
	vc_worker_t *w = vc_worker_self();
	hash_job_t *j;
	vc_actor_t *a;

	if (w == NULL) {
		vc_admin_fail(req, "internal error: an admin verb ran outside a worker thread");
		op_destroy(op);
		return;
	}
	random_token(op->secret, VC_APP_SECRET_LEN);
	a = vc_actor_new(&op_behaviour, w, op);
	j = vc_msg_new(sizeof(*j), MSG_HASHED);
	j->job.msg.destroy = hash_job_destroy;
	j->job.fn = hash_work;
	memcpy(j->secret, op->secret, sizeof(j->secret));
	if (vc_offload_submit(&j->job, a) != 0) {
		hash_job_destroy(&j->job.msg);
		vc_admin_fail(req, "the offload queue is full; nothing was done (try again)");
		vc_actor_unref(a);
	}
}

/* apps create NAME [--scope S]... [--domain D]... */
void vc_admin_apps_create(vc_admin_req_t *req, int argc, char **argv)
{
	char dom[254];
	size_t ns = 0, nd = 0;
	char *sc, *dm;
	size_t sl = 3, dl = 3; /* "{}" and the NUL; each item adds itself and a comma */
	secret_op_t *op;

	if (argv[0][0] == '\0' || strlen(argv[0]) > 255) {
		vc_admin_fail(req, "the name must be 1 to 255 bytes");
		return;
	}
	for (const char *c = argv[0]; *c != '\0'; c++) {
		if ((unsigned char)*c < ' ' || *c == 0x7f) {
			vc_admin_fail(req, "the name must not hold control characters");
			return;
		}
	}
	for (int i = 1; i < argc; i += 2) {
		if (i + 1 >= argc ||
		    (strcmp(argv[i], "--scope") != 0 && strcmp(argv[i], "--domain") != 0)) {
			vc_admin_fail(req, "expected --scope SCOPE or --domain DOMAIN, not '%.64s'",
			              argv[i]);
			return;
		}
		if (argv[i][2] == 's' && !scope_ok(argv[i + 1])) {
			vc_admin_fail(req,
			              "unknown scope '%.64s' (rooms:create, rooms:list, "
			              "rooms:retrieve, rooms:update or rooms:delete)",
			              argv[i + 1]);
			return;
		}
		if (argv[i][2] == 'd' && !domain_norm(argv[i + 1], dom)) {
			vc_admin_fail(req, "'%.64s' is not a domain name such as example.com",
			              argv[i + 1]);
			return;
		}
		*(argv[i][2] == 's' ? &sl : &dl) += strlen(argv[i + 1]) + 1;
	}
	sc = vc_malloc(sl);
	dm = vc_malloc(dl);
	strcpy(sc, "{");
	strcpy(dm, "{");
	for (int i = 1; i + 1 < argc; i += 2) {
		if (argv[i][2] == 's') {
			/* scopes once each, in the order given */
			bool seen = false;

			for (int k = 1; k < i; k += 2)
				seen |= argv[k][2] == 's' && strcmp(argv[k + 1], argv[i + 1]) == 0;
			if (!seen) {
				if (ns++ > 0)
					strcat(sc, ",");
				strcat(sc, argv[i + 1]);
			}
		} else {
			(void)domain_norm(argv[i + 1], dom);
			if (nd++ > 0)
				strcat(dm, ",");
			strcat(dm, dom);
		}
	}
	strcat(sc, "}");
	strcat(dm, "}");
	op = vc_calloc(1, sizeof(*op));
	op->req = req;
	op->create = true;
	op->name = vc_strdup(argv[0]);
	op->scopes = sc;
	op->domains = dm;
	random_token(op->client_id, VC_APP_CLIENT_ID_LEN);
	secret_run(req, op);
}

void vc_admin_apps_rotate_secret(vc_admin_req_t *req, int argc, char **argv)
{
	secret_op_t *op;

	if (!app_id_ok(req, argv[0]))
		return;
	op = vc_calloc(1, sizeof(*op));
	op->req = req;
	memcpy(op->client_id, argv[0], VC_APP_CLIENT_ID_LEN);
	secret_run(req, op);
}

/* --- the others: one statement ---------------------------------------------------- */

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

void vc_admin_apps_list(vc_admin_req_t *req, int argc, char **argv)
{
	vc_admin_db_run(req, st_list, 0, NULL, listed, NULL);
}

/* One row of `fields` answered, or "no application"; `what` (may be NULL)
 * is logged. */
static void one_row(vc_admin_req_t *req, const vc_pg_result_t *r, const char *id,
                    const field_t *fields, size_t n, const char *what)
{
	if (vc_admin_db_failed(req, r))
		return;
	if (PQntuples(r->res) == 0) {
		vc_admin_fail(req, "no application '%s'", id);
		return;
	}
	if (what != NULL)
		log_info("admin: application %s (%s): %s", PQgetvalue(r->res, 0, 0),
		         PQgetvalue(r->res, 0, 1), what);
	vc_admin_reply(req, vc_admin_row_json(r->res, 0, fields, n));
}

static void shown(vc_admin_req_t *req, const vc_pg_result_t *r, const char *id)
{
	one_row(req, r, id, show_fields, VC_ARRAY_LEN(show_fields), NULL);
}

static void enabled(vc_admin_req_t *req, const vc_pg_result_t *r, const char *id)
{
	one_row(req, r, id, active_fields, VC_ARRAY_LEN(active_fields), "enabled");
}

static void disabled(vc_admin_req_t *req, const vc_pg_result_t *r, const char *id)
{
	one_row(req, r, id, active_fields, VC_ARRAY_LEN(active_fields), "disabled");
}

static void scopes_set(vc_admin_req_t *req, const vc_pg_result_t *r, const char *id)
{
	one_row(req, r, id, scopes_fields, VC_ARRAY_LEN(scopes_fields), "scopes set");
}

static void deleted(vc_admin_req_t *req, const vc_pg_result_t *r, const char *id)
{
	one_row(req, r, id, deleted_fields, VC_ARRAY_LEN(deleted_fields), "deleted");
}

static void dom_added(vc_admin_req_t *req, const vc_pg_result_t *r, const char *id)
{
	one_row(req, r, id, dom_add_fields, VC_ARRAY_LEN(dom_add_fields), "domain added");
}

static void dom_removed(vc_admin_req_t *req, const vc_pg_result_t *r, const char *id)
{
	one_row(req, r, id, dom_rm_fields, VC_ARRAY_LEN(dom_rm_fields), "domain removed");
}

void vc_admin_apps_show(vc_admin_req_t *req, int argc, char **argv)
{
	const char *p[1] = { argv[0] };

	if (app_id_ok(req, argv[0]))
		vc_admin_db_run(req, st_show, 1, p, shown, argv[0]);
}

void vc_admin_apps_disable(vc_admin_req_t *req, int argc, char **argv)
{
	const char *p[2] = { argv[0], "false" };

	if (app_id_ok(req, argv[0]))
		vc_admin_db_run(req, st_active, 2, p, disabled, argv[0]);
}

void vc_admin_apps_enable(vc_admin_req_t *req, int argc, char **argv)
{
	const char *p[2] = { argv[0], "true" };

	if (app_id_ok(req, argv[0]))
		vc_admin_db_run(req, st_active, 2, p, enabled, argv[0]);
}

void vc_admin_apps_delete(vc_admin_req_t *req, int argc, char **argv)
{
	const char *p[1] = { argv[0] };

	if (app_id_ok(req, argv[0]))
		vc_admin_db_run(req, st_delete, 1, p, deleted, argv[0]);
}

/* apps scopes set APP [SCOPE]...: the scopes become exactly these, once
 * each in the order given (none: the application may do nothing). */
void vc_admin_apps_scopes_set(vc_admin_req_t *req, int argc, char **argv)
{
	char sc[128] = "{"; /* the five scopes and their commas fit */
	const char *p[2] = { argv[0], sc };

	if (!app_id_ok(req, argv[0]))
		return;
	for (int i = 1; i < argc; i++) {
		bool seen = false;

		if (!scope_ok(argv[i])) {
			vc_admin_fail(req,
			              "unknown scope '%.64s' (rooms:create, rooms:list, "
			              "rooms:retrieve, rooms:update or rooms:delete)",
			              argv[i]);
			return;
		}
		for (int k = 1; k < i; k++)
			seen |= strcmp(argv[k], argv[i]) == 0;
		if (seen)
			continue;
		if (sc[1] != '\0')
			strcat(sc, ",");
		strcat(sc, argv[i]);
	}
	strcat(sc, "}");
	vc_admin_db_run(req, st_scopes, 2, p, scopes_set, argv[0]);
}

static void domain_verb(vc_admin_req_t *req, char **argv, int stmt, vc_admin_db_cont_fn cont)
{
	char dom[254];
	const char *p[2] = { argv[0], dom };

	if (!app_id_ok(req, argv[0]))
		return;
	if (!domain_norm(argv[1], dom)) {
		vc_admin_fail(req, "'%.64s' is not a domain name such as example.com", argv[1]);
		return;
	}
	vc_admin_db_run(req, stmt, 2, p, cont, argv[0]);
}

void vc_admin_apps_domains_add(vc_admin_req_t *req, int argc, char **argv)
{
	domain_verb(req, argv, st_dom_add, dom_added);
}

void vc_admin_apps_domains_remove(vc_admin_req_t *req, int argc, char **argv)
{
	domain_verb(req, argv, st_dom_rm, dom_removed);
}
