/*
 * admin_users.c — what the accounts and sessions admin verbs do.
 *
 * Every verb is one statement. vc_admin_db_run() creates a one-shot actor on the
 * calling worker (the one serving the admin socket); its only handler
 * receives the vc_pg_result_t, calls the verb's continuation, which answers
 * the admin request, and lets the actor go. `users import` first checks its
 * rows on an offload thread (they may fill VC_ADMIN_LINE_MAX), then inserts
 * them all in one statement, so a failure applies nothing.
 *
 * A USER argument is a username, without regard to case, or a user's id (a
 * uuid: 36 characters, which no username can be). A session is live when it
 * is neither revoked nor expired. After a change the session cache is told
 * at once (vc_auth_forget_*), on this node and, over NATS, on the others.
 * Password hashes are never logged nor answered.
 */
#include "actors/admin_users.h"

#include "actors/admin_rows.h"

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/auth.h"
#include "actors/user_import.h"
#include "runtime/log.h"
#include "runtime/offload.h"
#include "runtime/pg.h"
#include "wire/admin_proto.h"

/* clang-format off */
#define XSTR(x) #x
#define STR(x) XSTR(x)
#define LIST_LIMIT " LIMIT " STR(VC_ADMIN_LIST_MAX)
#define ISO(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
#define LIVE(s) s ".revoked_at IS NULL AND " s ".expires_at > now()"
/* $1 a username or NULL, $2 a uuid or NULL (user_params). */
#define BY_KEY(u) "(lower(" u ".username) = lower($1) OR " u ".id = $2::uuid)"
#define USER_COLS \
	"u.id::text, u.username, u.display_name, u.email, " ISO("u.created_at") "," \
	" u.disabled_at IS NOT NULL," \
	" (SELECT count(*) FROM sessions s WHERE s.user_id = u.id AND " LIVE("s") ")"
#define SESSION_COLS \
	"s.id, u.username, " ISO("s.created_at") ", " ISO("s.last_seen_at") "," \
	" " ISO("s.expires_at") ", s.user_agent, s.client_addr"
#define UNIQUE_USERNAME "users_username_key" /* sql/002_accounts.sql */
/* clang-format on */

static int st_users, st_user, st_set_disabled, st_sessions, st_user_sessions, st_revoke,
        st_revoke_all, st_import;

/* clang-format off */
static const vc_pg_stmt_def_t stmts[] = {
	{ &st_users, "adm_users",
	  "SELECT " USER_COLS " FROM users u ORDER BY lower(u.username)" LIST_LIMIT, 0 },
	{ &st_user, "adm_user",
	  "SELECT " USER_COLS ", " ISO("u.disabled_at") ","
	  " (SELECT count(*) FROM device_tokens d WHERE d.user_id = u.id)"
	  " FROM users u WHERE " BY_KEY("u"), 2 },
	/* Enabling also returns the live sessions' token hashes: a token tried
	 * while the account was disabled is cached as unknown until forgotten. */
	{ &st_set_disabled, "adm_set_disabled",
	  "WITH u AS (UPDATE users u SET disabled_at = CASE WHEN $3::boolean"
	  " THEN coalesce(u.disabled_at, now()) END, updated_at = now()"
	  " WHERE " BY_KEY("u") " RETURNING u.id, u.username, u.disabled_at IS NOT NULL AS off)"
	  " SELECT u.id::text, u.username, u.off, s.token_hash FROM u"
	  " LEFT JOIN sessions s ON s.user_id = u.id AND NOT u.off AND " LIVE("s"), 3 },
	{ &st_sessions, "adm_sessions",
	  "SELECT " SESSION_COLS " FROM sessions s JOIN users u ON u.id = s.user_id"
	  " WHERE " LIVE("s") " ORDER BY s.created_at DESC, s.id DESC" LIST_LIMIT, 0 },
	/* One row with a NULL s.id when the user exists and has no session. */
	{ &st_user_sessions, "adm_user_sessions",
	  "SELECT " SESSION_COLS " FROM users u LEFT JOIN sessions s"
	  " ON s.user_id = u.id AND " LIVE("s") " WHERE " BY_KEY("u")
	  " ORDER BY s.created_at DESC NULLS LAST, s.id DESC" LIST_LIMIT, 2 },
	{ &st_revoke, "adm_revoke",
	  "UPDATE sessions s SET revoked_at = now() WHERE s.id = $1 AND " LIVE("s")
	  " RETURNING s.id, s.user_id::text", 1 },
	{ &st_revoke_all, "adm_revoke_all",
	  "WITH u AS (SELECT id, username FROM users u WHERE " BY_KEY("u") "),"
	  " r AS (UPDATE sessions s SET revoked_at = now() FROM u"
	  " WHERE s.user_id = u.id AND " LIVE("s") " RETURNING s.id)"
	  " SELECT u.id::text, u.username, (SELECT count(*) FROM r) FROM u", 2 },
	{ &st_import, "adm_import",
	  "WITH i AS (INSERT INTO users (username, password_hash, display_name)"
	  " SELECT t.u, t.h, t.d FROM unnest($1::text[], $2::text[], $3::text[]) AS t (u, h, d)"
	  " RETURNING 1) SELECT count(*) FROM i", 3 },
};
/* clang-format on */

void vc_admin_users_init(void)
{
	vc_pg_statements(stmts, VC_ARRAY_LEN(stmts));
}

/* ---- rows as JSON ---------------------------------------------------------- */

/* Short names for the field tables below (actors/admin_rows.h). */
#define as_str vc_admin_as_str
#define as_int vc_admin_as_int
#define as_bool vc_admin_as_bool
typedef vc_admin_field_t field_t;

/* clang-format off */
static const field_t user_fields[] = {
	{ "id", 0, as_str }, { "username", 1, as_str }, { "display_name", 2, as_str },
	{ "email", 3, as_str }, { "created_at", 4, as_str }, { "disabled", 5, as_bool },
	{ "sessions", 6, as_int },
};
static const field_t user_show_fields[] = {
	{ "id", 0, as_str }, { "username", 1, as_str }, { "display_name", 2, as_str },
	{ "email", 3, as_str }, { "created_at", 4, as_str }, { "disabled", 5, as_bool },
	{ "disabled_at", 7, as_str }, { "sessions", 6, as_int }, { "device_tokens", 8, as_int },
};
static const field_t session_fields[] = {
	{ "id", 0, as_int }, { "user", 1, as_str }, { "created_at", 2, as_str },
	{ "last_seen_at", 3, as_str }, { "expires_at", 4, as_str }, { "user_agent", 5, as_str },
	{ "client_addr", 6, as_str },
};
/* clang-format on */

/* ---- USER and ID arguments ----------------------------------------------- */

static bool is_uuid(const char *s)
{
	static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";

	for (size_t i = 0; i < sizeof(shape) - 1; i++)
		if (shape[i] == '-' ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return false;
	return s[sizeof(shape) - 1] == '\0';
}

static void user_params(const char *user, const char *params[2])
{
	bool id = is_uuid(user);

	params[0] = id ? NULL : user;
	params[1] = id ? user : NULL;
}

static void no_user(vc_admin_req_t *req, const char *user)
{
	vc_admin_fail(req, "no user '%.64s'", user);
}

/* A session id: 1 to 18 decimal digits, not 0. */
static bool parse_session_id(const char *s, long long *out)
{
	size_t n = strspn(s, "0123456789");

	if (n == 0 || n > 18 || s[n] != '\0')
		return false;
	*out = strtoll(s, NULL, 10);
	return *out > 0;
}

/* ---- users list / show ----------------------------------------------------- */

static void users_listed(vc_admin_req_t *req, const vc_pg_result_t *r, const char *arg)
{
	json_t *list;

	if (vc_admin_db_failed(req, r))
		return;
	list = json_array();
	for (int i = 0; i < PQntuples(r->res); i++)
		json_array_append_new(list, vc_admin_row_json(r->res, i, user_fields,
		                                              VC_ARRAY_LEN(user_fields)));
	vc_admin_reply(req, list);
}

void vc_admin_users_list(vc_admin_req_t *req, int argc, char **argv)
{
	vc_admin_db_run(req, st_users, 0, NULL, users_listed, NULL);
}

static void user_shown(vc_admin_req_t *req, const vc_pg_result_t *r, const char *user)
{
	if (vc_admin_db_failed(req, r))
		return;
	if (PQntuples(r->res) == 0) {
		no_user(req, user);
		return;
	}
	vc_admin_reply(req, vc_admin_row_json(r->res, 0, user_show_fields,
	                                      VC_ARRAY_LEN(user_show_fields)));
}

void vc_admin_users_show(vc_admin_req_t *req, int argc, char **argv)
{
	const char *params[2];

	user_params(argv[0], params);
	vc_admin_db_run(req, st_user, 2, params, user_shown, argv[0]);
}

/* ---- users disable / enable ------------------------------------------------ */

/* Forget the cached "unknown" answers for the tokens in column 3. */
static void forget_tokens(const PGresult *res)
{
	uint8_t hash[32];
	size_t len;

	for (int i = 0; i < PQntuples(res); i++) {
		const char *hex = PQgetvalue(res, i, 3);
		if (PQgetisnull(res, i, 3) || strncmp(hex, "\\x", 2) != 0)
			continue;
		if (sodium_hex2bin(hash, sizeof(hash), hex + 2, strlen(hex + 2), NULL, &len,
		                   NULL) == 0 &&
		    len == sizeof(hash))
			vc_auth_forget_token(hash);
	}
}

static void disabled_set(vc_admin_req_t *req, const vc_pg_result_t *r, const char *user)
{
	const char *id, *name;
	bool off;

	if (vc_admin_db_failed(req, r))
		return;
	if (PQntuples(r->res) == 0) {
		no_user(req, user);
		return;
	}
	id = PQgetvalue(r->res, 0, 0);
	name = PQgetvalue(r->res, 0, 1);
	off = PQgetvalue(r->res, 0, 2)[0] == 't';
	/* auth's lookup skips disabled users; the cache must not remember them. */
	vc_auth_forget_user(id);
	if (!off)
		forget_tokens(r->res);
	log_info("admin: account %s (%s) %s", name, id, off ? "disabled" : "enabled");
	vc_admin_reply(req,
	               json_pack("{s:s,s:s,s:b}", "id", id, "username", name, "disabled", off));
}

static void set_disabled(vc_admin_req_t *req, const char *user, bool off)
{
	const char *params[3];

	user_params(user, params);
	params[2] = off ? "true" : "false";
	vc_admin_db_run(req, st_set_disabled, 3, params, disabled_set, user);
}

void vc_admin_users_disable(vc_admin_req_t *req, int argc, char **argv)
{
	set_disabled(req, argv[0], true);
}

void vc_admin_users_enable(vc_admin_req_t *req, int argc, char **argv)
{
	set_disabled(req, argv[0], false);
}

/* ---- sessions -------------------------------------------------------------- */

/* arg is NULL for everyone's sessions. */
static void sessions_listed(vc_admin_req_t *req, const vc_pg_result_t *r, const char *user)
{
	json_t *list;

	if (vc_admin_db_failed(req, r))
		return;
	if (user != NULL && PQntuples(r->res) == 0) {
		no_user(req, user);
		return;
	}
	list = json_array();
	for (int i = 0; i < PQntuples(r->res); i++)
		if (!PQgetisnull(r->res, i, 0)) /* the user has no session */
			json_array_append_new(list,
			                      vc_admin_row_json(r->res, i, session_fields,
			                                        VC_ARRAY_LEN(session_fields)));
	vc_admin_reply(req, list);
}

void vc_admin_sessions_list(vc_admin_req_t *req, int argc, char **argv)
{
	const char *params[2];

	if (argc == 0) {
		vc_admin_db_run(req, st_sessions, 0, NULL, sessions_listed, NULL);
		return;
	}
	user_params(argv[0], params);
	vc_admin_db_run(req, st_user_sessions, 2, params, sessions_listed, argv[0]);
}

static void session_revoked(vc_admin_req_t *req, const vc_pg_result_t *r, const char *sid)
{
	long long id;

	if (vc_admin_db_failed(req, r))
		return;
	if (PQntuples(r->res) == 0) {
		vc_admin_fail(req, "no live session %s", sid);
		return;
	}
	id = strtoll(PQgetvalue(r->res, 0, 0), NULL, 10);
	vc_auth_forget_session(id);
	log_info("admin: session %lld of user %s revoked", id, PQgetvalue(r->res, 0, 1));
	vc_admin_reply(req, json_pack("{s:I}", "revoked", (json_int_t)id));
}

void vc_admin_sessions_revoke(vc_admin_req_t *req, int argc, char **argv)
{
	long long id;
	char buf[24];
	const char *params[1] = { buf };

	if (!parse_session_id(argv[0], &id)) {
		vc_admin_fail(req,
		              "no live session '%.64s' (expected a session id, a number as "
		              "'vcctl sessions list' shows)",
		              argv[0]);
		return;
	}
	snprintf(buf, sizeof(buf), "%lld", id);
	vc_admin_db_run(req, st_revoke, 1, params, session_revoked, buf);
}

static void sessions_revoked(vc_admin_req_t *req, const vc_pg_result_t *r, const char *user)
{
	const char *id, *name;
	long long n;

	if (vc_admin_db_failed(req, r))
		return;
	if (PQntuples(r->res) == 0) {
		no_user(req, user);
		return;
	}
	id = PQgetvalue(r->res, 0, 0);
	name = PQgetvalue(r->res, 0, 1);
	n = strtoll(PQgetvalue(r->res, 0, 2), NULL, 10);
	vc_auth_forget_user(id);
	log_info("admin: %lld sessions of %s (%s) revoked", n, name, id);
	vc_admin_reply(req, json_pack("{s:s,s:I}", "user", name, "revoked", (json_int_t)n));
}

void vc_admin_sessions_revoke_all(vc_admin_req_t *req, int argc, char **argv)
{
	const char *params[2];

	user_params(argv[0], params);
	vc_admin_db_run(req, st_revoke_all, 2, params, sessions_revoked, argv[0]);
}

/* ---- users import ------------------------------------------------------------ */

/*
 * The rows arrive as the JSON text of [[username, hash, displayName|null],
 * …] (vcctl has checked them). An offload thread checks them again and
 * turns them into three PostgreSQL text[] literals for one INSERT.
 */
typedef struct import_job {
	vc_offload_job_t job;
	vc_admin_req_t *req;
	char *text;      /* the rows as JSON */
	char *arrays[3]; /* text[] literals: usernames, hashes, display names */
	size_t nrows;
	size_t bad;
	char err[512]; /* the first problem, when bad > 0 */
} import_job_t;

typedef struct sbuf {
	char *p;
	size_t len, cap;
} sbuf_t;

static void sbuf_put(sbuf_t *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = vc_realloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* Append s as a quoted element of a text[] literal ("{" opens it). */
static void array_add(sbuf_t *b, const char *s)
{
	sbuf_put(b, b->len == 0 ? "{\"" : ",\"", 2);
	while (*s != '\0') {
		size_t k = strcspn(s, "\"\\");
		sbuf_put(b, s, k);
		s += k;
		if (*s != '\0') {
			sbuf_put(b, "\\", 1);
			sbuf_put(b, s++, 1);
		}
	}
	sbuf_put(b, "\"", 1);
}

static void import_note(import_job_t *job, size_t row, const char *why)
{
	if (job->bad++ == 0)
		snprintf(job->err, sizeof(job->err), "row %zu: %s", row + 1, why);
}

/* [username, hash] or [username, hash, displayName|null]: 0, else -1. */
static int row_fields(const json_t *row, const char *f[3])
{
	size_t n = json_array_size(row);
	const json_t *d = json_array_get(row, 2);

	if (!json_is_array(row) || n < 2 || n > 3 || !json_is_string(json_array_get(row, 0)) ||
	    !json_is_string(json_array_get(row, 1)) ||
	    (d != NULL && !json_is_string(d) && !json_is_null(d)))
		return -1;
	f[0] = json_string_value(json_array_get(row, 0));
	f[1] = json_string_value(json_array_get(row, 1));
	f[2] = json_is_string(d) && json_string_length(d) > 0 ? json_string_value(d) : NULL;
	return 0;
}

/* Check every row; names[i] is "" for a malformed one. */
static void import_check_rows(import_job_t *job, const json_t *rows, const char **names)
{
	size_t n = json_array_size(rows);
	size_t *first = vc_calloc(n, sizeof(*first));
	const char *f[3];
	char why[256];

	for (size_t i = 0; i < n; i++) {
		names[i] = "";
		if (row_fields(json_array_get(rows, i), f) < 0) {
			import_note(job, i, "expected [username, hash, displayName or null]");
			continue;
		}
		names[i] = f[0];
		if (vc_user_import_check(f[0], f[1], f[2], why, sizeof(why)) < 0)
			import_note(job, i, why);
	}
	vc_user_import_repeats(names, n, first);
	for (size_t i = 0; i < n; i++) {
		if (first[i] == i || names[i][0] == '\0')
			continue;
		snprintf(why, sizeof(why), "username '%s' repeats row %zu", names[i], first[i] + 1);
		import_note(job, i, why);
	}
	free(first);
}

static void import_build(import_job_t *job, const json_t *rows)
{
	sbuf_t arr[3] = { { 0 } };
	const char *f[3];

	job->nrows = json_array_size(rows);
	for (size_t i = 0; i < job->nrows; i++) {
		if (row_fields(json_array_get(rows, i), f) < 0)
			continue; /* not reached: checked before */
		array_add(&arr[0], f[0]);
		array_add(&arr[1], f[1]);
		array_add(&arr[2], f[2] != NULL ? f[2] : f[0]);
	}
	for (int k = 0; k < 3; k++) {
		sbuf_put(&arr[k], "}", 1);
		job->arrays[k] = arr[k].p;
	}
}

/* On an offload thread. */
static void import_check(vc_offload_job_t *j)
{
	import_job_t *job = (import_job_t *)j;
	json_t *rows = json_loads(job->text, 0, NULL);
	const char **names;

	if (!json_is_array(rows) || json_array_size(rows) == 0) {
		job->bad = 1;
		snprintf(job->err, sizeof(job->err),
		         "the rows are not a non-empty JSON array of [username, hash, "
		         "displayName] (as 'vcctl users import FILE' sends)");
		json_decref(rows);
		return;
	}
	names = vc_calloc(json_array_size(rows), sizeof(*names));
	import_check_rows(job, rows, names);
	if (job->bad == 0)
		import_build(job, rows);
	free(names);
	json_decref(rows);
}

static void import_job_free(vc_msg_t *m)
{
	import_job_t *job = (import_job_t *)m;

	free(job->text);
	for (int k = 0; k < 3; k++)
		free(job->arrays[k]);
	free(job);
}

/* The username named by a unique violation's detail, "Key (lower(username))=(bob)
 * already exists.", into out; false when the detail does not say. */
static bool taken_username(const vc_pg_result_t *r, char *out, size_t len)
{
	const char *c = PQresultErrorField(r->res, PG_DIAG_CONSTRAINT_NAME);
	const char *d = PQresultErrorField(r->res, PG_DIAG_MESSAGE_DETAIL);
	const char *p = d != NULL ? strstr(d, ")=(") : NULL;
	size_t n;

	if (c == NULL || strcmp(c, UNIQUE_USERNAME) != 0 || p == NULL)
		return false;
	p += 3;
	n = strcspn(p, ")");
	snprintf(out, len, "%.*s", (int)n, p);
	return vc_user_name_ok(out);
}

static void imported(vc_admin_req_t *req, const vc_pg_result_t *r, const char *arg)
{
	const char *state = r->res ? PQresultErrorField(r->res, PG_DIAG_SQLSTATE) : NULL;
	char name[64];
	long long n;

	if (r->status == VC_PG_ERROR && state != NULL && strcmp(state, "23505") == 0) {
		if (taken_username(r, name, sizeof(name)))
			vc_admin_fail(req, "nothing imported: username '%s' already exists", name);
		else
			vc_admin_fail(req, "nothing imported: a username already exists");
		return;
	}
	if (r->status == VC_PG_UNAVAILABLE) {
		vc_admin_fail(req, "nothing imported: the database is unreachable; try again");
		return;
	}
	if (r->status != VC_PG_OK) {
		vc_admin_fail(req, "nothing imported: the database refused the rows: %s",
		              vc_admin_pg_message(r));
		return;
	}
	n = strtoll(PQgetvalue(r->res, 0, 0), NULL, 10);
	log_info("admin: %lld accounts imported", n);
	vc_admin_reply(req, json_pack("{s:I}", "imported", (json_int_t)n));
}

static int import_checked(vc_actor_t *self, vc_msg_t *m)
{
	import_job_t *job = (import_job_t *)m;

	if (job->bad > 0)
		vc_admin_fail(job->req, "nothing imported: %zu bad row%s; %s", job->bad,
		              job->bad == 1 ? "" : "s", job->err);
	else
		vc_admin_db_run(job->req, st_import, 3, (const char *const *)job->arrays, imported,
		                NULL);
	vc_actor_unref(self);
	return VC_MSG_DONE; /* the runtime frees the job */
}

static const vc_handler_fn import_handlers[] = { import_checked };
static const vc_behaviour_t import_behaviour = {
	.name = "admin-import",
	.handlers = import_handlers,
	.nhandlers = VC_ARRAY_LEN(import_handlers),
};

void vc_admin_users_import(vc_admin_req_t *req, int argc, char **argv)
{
	vc_worker_t *w = vc_worker_self();
	import_job_t *job;
	vc_actor_t *a;

	if (w == NULL) {
		vc_admin_fail(req, "internal error: users import ran outside a worker thread");
		return;
	}
	job = vc_calloc(1, sizeof(*job));
	job->job.msg.type = 0;
	job->job.msg.destroy = import_job_free;
	job->job.fn = import_check;
	job->req = req;
	job->text = vc_strdup(argv[0]);
	a = vc_actor_new(&import_behaviour, w, NULL);
	if (vc_offload_submit(&job->job, a) != 0) {
		import_job_free(&job->job.msg);
		vc_actor_unref(a);
		vc_admin_fail(req, "nothing imported: vcd is busy (offload queue full); try again");
	}
}
