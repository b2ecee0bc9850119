/*
 * admin_meetings.c — what the meetings admin verbs do.
 *
 * `meetings end`, `meetings delete` and `participants kick` are the meeting
 * actor's own commands (actors/meetings.h) sent with as_admin, which gives
 * the operator the owner's and the host's rights: the same checks, the same
 * conditional statements and the same NATS events as the REST API. `meetings
 * show` asks the actor for the meeting (INFO), then reads every participant
 * row, whatever its status, with one statement. `meetings list` is one
 * statement over every owner's meetings (the actor's LIST is one caller's).
 *
 * Each request gets a one-shot actor on the worker serving the admin socket:
 * the meeting actor's reply (type VC_HTTP_MSG_REPLY) and the database's
 * result arrive there, each step answers the request or starts the next
 * one, and the actor lets itself go once the request is answered.
 */
#include "actors/admin_meetings.h"

#include "actors/admin_rows.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actors/meetings.h"
#include "runtime/log.h"
#include "runtime/pg.h"
#include "wire/admin_proto.h"
#include "wire/http.h"

/* The operator's caller id in meeting commands. It is never stored: the
 * commands sent from here (INFO, END, DELETE, KICK) write no participant
 * row for their caller. */
#define CALLER "vcctl"
#define LIST_USAGE "usage: vcctl meetings list [--state S] [--owner U]"

/* clang-format off */
#define XSTR(x) #x
#define STR(x) XSTR(x)
#define ISO(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
/* clang-format on */

static int st_list, st_participants;

/* clang-format off */
static const vc_pg_stmt_def_t stmts[] = {
	/* $1 a state or NULL, $2 a creator id or NULL. */
	{ &st_list, "adm_meetings",
	  "SELECT m.room_id, m.state, m.creator_id, c.admitted, c.waiting,"
	  " " ISO("m.created_at") ", " ISO("m.ended_at")
	  " FROM meetings m CROSS JOIN LATERAL (SELECT"
	  "  count(*) FILTER (WHERE p.status = 'admitted') AS admitted,"
	  "  count(*) FILTER (WHERE p.status = 'waiting') AS waiting"
	  "  FROM meeting_participants p WHERE p.meeting_id = m.id) c"
	  " WHERE m.deleted_at IS NULL AND ($1::text IS NULL OR m.state = $1)"
	  " AND ($2::text IS NULL OR m.creator_id = $2)"
	  " ORDER BY m.created_at DESC, m.id DESC LIMIT " STR(VC_ADMIN_LIST_MAX), 2 },
	/* Every row whatever its status; the last column counts them all. */
	{ &st_participants, "adm_meeting_participants",
	  "SELECT p.user_id, p.display_name, p.status, p.is_host,"
	  " " ISO("p.joined_at") ", " ISO("p.admitted_at") ", count(*) OVER ()"
	  " FROM meetings m JOIN meeting_participants p ON p.meeting_id = m.id"
	  " WHERE m.room_id = $1 AND m.deleted_at IS NULL"
	  " ORDER BY p.joined_at, p.id LIMIT " STR(VC_ADMIN_LIST_MAX), 1 },
};
/* clang-format on */

void vc_admin_meetings_init(void)
{
	vc_pg_statements(stmts, VC_ARRAY_LEN(stmts));
}

/* ---- values and rows as JSON ------------------------------------------------ */

/* Short names for the field tables below (actors/admin_rows.h). */
#define as_str vc_admin_as_str
#define as_int vc_admin_as_int
#define as_bool vc_admin_as_bool
typedef vc_admin_field_t field_t;

static json_t *str_or_null(const char *v)
{
	return v != NULL ? as_str(v) : json_null();
}

/* Milliseconds since the epoch as ISO 8601 UTC; 0 (none) as null. */
static json_t *iso_ms(int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char buf[32];

	if (ms == 0 || gmtime_r(&t, &tm) == NULL)
		return json_null();
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(buf);
}

/* clang-format off */
static const field_t meeting_fields[] = {
	{ "meeting_id", 0, as_str }, { "state", 1, as_str }, { "owner", 2, as_str },
	{ "participant_count", 3, as_int }, { "waiting_count", 4, as_int },
	{ "created_at", 5, as_str }, { "ended_at", 6, as_str },
};
static const field_t participant_fields[] = {
	{ "user_id", 0, as_str }, { "display_name", 1, as_str }, { "status", 2, as_str },
	{ "is_host", 3, as_bool }, { "joined_at", 4, as_str }, { "admitted_at", 5, as_str },
};
/* clang-format on */
#define PARTICIPANT_TOTAL_COL 6

/* A meeting as the actor answered it (`meetings show`, `meetings end`). */
static json_t *meeting_json(const vc_meeting_row_t *m)
{
	json_t *o = json_object();

	json_object_set_new(o, "meeting_id", str_or_null(m->room_id));
	json_object_set_new(o, "state", str_or_null(m->state));
	json_object_set_new(o, "owner", str_or_null(m->creator_id));
	json_object_set_new(o, "host_display_name", str_or_null(m->host_display_name));
	json_object_set_new(o, "admission", str_or_null(m->admission));
	json_object_set_new(o, "has_password", json_boolean(m->has_password));
	json_object_set_new(o, "waiting_room_enabled", json_boolean(m->waiting_room));
	json_object_set_new(o, "participant_count", json_integer(m->participant_count));
	json_object_set_new(o, "waiting_count", json_integer(m->waiting_count));
	json_object_set_new(o, "created_at", iso_ms(m->created_ms));
	json_object_set_new(o, "started_at", iso_ms(m->started_ms));
	json_object_set_new(o, "ended_at", iso_ms(m->ended_ms));
	return o;
}

/* ---- the one-shot actor ------------------------------------------------------ */

enum { A_REPLY = VC_HTTP_MSG_REPLY, A_ROWS, A_COUNT };

typedef struct op op_t;
/* A step: true when the request has been answered (the actor then goes). */
typedef bool (*reply_fn)(vc_actor_t *self, op_t *op, const vc_meeting_reply_t *r);
typedef bool (*rows_fn)(vc_actor_t *self, op_t *op, const vc_pg_result_t *r);

struct op {
	vc_admin_req_t *req;
	char *room_id;    /* the ID argument, or NULL (list) */
	char *user_id;    /* kick: the USER argument */
	reply_fn replied; /* the meeting actor answered without an error */
	rows_fn rows;     /* the statement in flight answered */
	json_t *meeting;  /* show: the meeting, until its participants are read */
};

static bool refused(vc_actor_t *self, op_t *op, const vc_meeting_reply_t *r);

static int on_reply(vc_actor_t *self, vc_msg_t *m)
{
	op_t *op = self->state;
	const vc_meeting_reply_t *r = (const vc_meeting_reply_t *)m;

	if (r->error != VC_MERR_OK ? refused(self, op, r) : op->replied(self, op, r))
		vc_actor_unref(self); /* op_new's reference */
	return VC_MSG_DONE;
}

static int on_rows(vc_actor_t *self, vc_msg_t *m)
{
	op_t *op = self->state;

	if (op->rows(self, op, (const vc_pg_result_t *)m))
		vc_actor_unref(self);
	return VC_MSG_DONE;
}

static void op_free(vc_actor_t *self)
{
	op_t *op = self->state;

	free(op->room_id);
	free(op->user_id);
	json_decref(op->meeting);
	free(op);
	free(self);
}

static const vc_handler_fn op_handlers[A_COUNT] = {
	[A_REPLY] = on_reply,
	[A_ROWS] = on_rows,
};
static const vc_behaviour_t op_behaviour = {
	.name = "admin-meeting",
	.handlers = op_handlers,
	.nhandlers = A_COUNT,
	.free = op_free,
};

/* On the admin worker: the actor for one request (*a holds its reference),
 * or NULL with the request answered. */
static op_t *op_new(vc_admin_req_t *req, const char *room_id, const char *user_id, vc_actor_t **a)
{
	vc_worker_t *w = vc_worker_self();
	op_t *op;

	if (w == NULL) {
		vc_admin_fail(req, "internal error: a meetings verb ran outside a worker thread");
		return NULL;
	}
	op = vc_calloc(1, sizeof(*op));
	op->req = req;
	op->room_id = room_id != NULL ? vc_strdup(room_id) : NULL;
	op->user_id = user_id != NULL ? vc_strdup(user_id) : NULL;
	*a = vc_actor_new(&op_behaviour, w, op);
	return op;
}

/* Run statement `stmt`; `rows` gets its result. */
static void op_query(vc_actor_t *a, op_t *op, int stmt, int n, const char *const *params,
                     rows_fn rows)
{
	op->rows = rows;
	vc_pg_query(stmt, n, params, a, A_ROWS, NULL);
}

/* Send `cmd` for ID (and USER) to the meeting's actor with the operator's
 * rights; `replied` gets its answer unless it is an error. */
static void run_command(vc_admin_req_t *req, enum vc_meeting_cmd cmd, const char *room_id,
                        const char *user_id, reply_fn replied)
{
	vc_actor_t *a;
	op_t *op = op_new(req, room_id, user_id, &a);
	vc_meeting_cmd_msg_t *c;

	if (op == NULL)
		return;
	op->replied = replied;
	c = vc_meeting_cmd_new(cmd, room_id, CALLER, NULL, a);
	c->as_admin = true;
	c->target_user_id = user_id != NULL ? vc_strdup(user_id) : NULL;
	vc_meetings_send(c);
}

/* True (and the request answered) when the statement did not run. */
/* ---- the meeting actor's refusals ------------------------------------------- */

/* One %s: the meeting's id. With as_admin the actor never answers NOT_OWNER
 * nor NOT_HOST; if it does, it is a bug worth reporting as such. */
/* clang-format off */
static const char *const refusals[] = {
	[VC_MERR_MEETING_NOT_FOUND]  = "no meeting '%.255s'",
	[VC_MERR_NOT_OWNER]          = "meeting '%.255s': refused as not its owner (a bug: vcctl "
	                               "acts with the owner's rights)",
	[VC_MERR_NOT_HOST]           = "meeting '%.255s': refused as not its host (a bug: vcctl "
	                               "acts with the host's rights)",
	[VC_MERR_NOT_IN_MEETING]     = "meeting '%.255s': refused as not in it",
	[VC_MERR_MEETING_NOT_ACTIVE] = "meeting '%.255s' is not active",
	[VC_MERR_MEETING_EXISTS]     = "meeting '%.255s' already exists",
	[VC_MERR_INVALID_PASSWORD]   = "meeting '%.255s': refused for its password",
	[VC_MERR_UNAVAILABLE]        = "meeting '%.255s': the database is unreachable; nothing "
	                               "was done (try again once 'vcctl status' shows it ok)",
	[VC_MERR_INTERNAL]           = "meeting '%.255s': internal error",
};
/* clang-format on */

static bool kick_checked(vc_actor_t *self, op_t *op, const vc_pg_result_t *r);

static bool refused(vc_actor_t *self, op_t *op, const vc_meeting_reply_t *r)
{
	const char *params[1] = { op->room_id };
	const char *fmt = NULL;
	char msg[512];

	if (r->error == VC_MERR_PARTICIPANT_NOT_FOUND) { /* kick: the host, or nobody? */
		op_query(self, op, st_participants, 1, params, kick_checked);
		return false;
	}
	if ((size_t)r->error < VC_ARRAY_LEN(refusals))
		fmt = refusals[r->error];
	if (fmt == NULL)
		fmt = "meeting '%.255s': refused (unexpected error)";
	snprintf(msg, sizeof(msg), fmt, op->room_id);
	if (r->detail != NULL)
		vc_admin_fail(op->req, "%s: %s", msg, r->detail);
	else
		vc_admin_fail(op->req, "%s", msg);
	return true;
}

/* ---- meetings list ---------------------------------------------------------- */

typedef struct list_opts {
	const char *state, *owner;
} list_opts_t;

/* clang-format off */
static const struct list_option {
	const char *name;
	size_t off; /* into list_opts_t */
} list_options[] = {
	{ "--state", offsetof(list_opts_t, state) },
	{ "--owner", offsetof(list_opts_t, owner) },
};
/* clang-format on */
static const char *const states[] = { "idle", "active", "ended" };

/* The option at argv[*i] ("--name VALUE" or "--name=VALUE") into o; -1 with
 * err when it is not one of list_options or has no value. */
static int list_option(int argc, char **argv, int *i, list_opts_t *o, char *err, size_t len)
{
	const char *w = argv[*i];

	for (size_t k = 0; k < VC_ARRAY_LEN(list_options); k++) {
		const char *name = list_options[k].name, *v;
		const char **dst = (const char **)(void *)((char *)o + list_options[k].off);
		size_t n = strlen(name);

		if (strncmp(w, name, n) != 0 || (w[n] != '\0' && w[n] != '='))
			continue;
		v = w[n] == '=' ? w + n + 1 : *i + 1 < argc ? argv[++*i] : NULL;
		if (v == NULL || v[0] == '\0') {
			snprintf(err, len, "%s needs a value", name);
			return -1;
		}
		if (*dst != NULL) {
			snprintf(err, len, "%s given twice", name);
			return -1;
		}
		*dst = v;
		return 0;
	}
	snprintf(err, len, "unknown option '%.64s' (expected --state or --owner)", w);
	return -1;
}

static int list_opts(int argc, char **argv, list_opts_t *o, char *err, size_t len)
{
	size_t k = 0;

	for (int i = 0; i < argc; i++)
		if (list_option(argc, argv, &i, o, err, len) < 0)
			return -1;
	if (o->state == NULL)
		return 0;
	while (k < VC_ARRAY_LEN(states) && strcmp(o->state, states[k]) != 0)
		k++;
	if (k == VC_ARRAY_LEN(states)) {
		snprintf(err, len, "unknown state '%.64s' (expected --state idle, active or ended)",
		         o->state);
		return -1;
	}
	return 0;
}

static bool listed(vc_actor_t *self, op_t *op, const vc_pg_result_t *r)
{
	json_t *list;

	if (vc_admin_db_failed(op->req, r))
		return true;
	list = json_array();
	for (int i = 0; i < PQntuples(r->res); i++)
		json_array_append_new(list, vc_admin_row_json(r->res, i, meeting_fields,
		                                              VC_ARRAY_LEN(meeting_fields)));
	vc_admin_reply(op->req, list);
	return true;
}

void vc_admin_meetings_list(vc_admin_req_t *req, int argc, char **argv)
{
	list_opts_t o = { 0 };
	const char *params[2];
	char err[256];
	vc_actor_t *a;
	op_t *op;

	if (list_opts(argc, argv, &o, err, sizeof(err)) < 0) {
		vc_admin_fail(req, "%s; " LIST_USAGE, err);
		return;
	}
	op = op_new(req, NULL, NULL, &a);
	if (op == NULL)
		return;
	params[0] = o.state;
	params[1] = o.owner;
	op_query(a, op, st_list, 2, params, listed);
}

/* ---- meetings show ---------------------------------------------------------- */

static bool shown_participants(vc_actor_t *self, op_t *op, const vc_pg_result_t *r)
{
	json_t *list;
	int n;

	if (vc_admin_db_failed(op->req, r))
		return true;
	n = PQntuples(r->res);
	list = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(list, vc_admin_row_json(r->res, i, participant_fields,
		                                              VC_ARRAY_LEN(participant_fields)));
	json_object_set_new(op->meeting, "participant_rows",
	                    n > 0 ? as_int(PQgetvalue(r->res, 0, PARTICIPANT_TOTAL_COL))
	                          : json_integer(0));
	json_object_set_new(op->meeting, "participants", list);
	vc_admin_reply(op->req, op->meeting);
	op->meeting = NULL; /* the reply's */
	return true;
}

static bool shown_meeting(vc_actor_t *self, op_t *op, const vc_meeting_reply_t *r)
{
	const char *params[1] = { op->room_id };

	op->meeting = meeting_json(&r->meeting);
	op_query(self, op, st_participants, 1, params, shown_participants);
	return false;
}

void vc_admin_meetings_show(vc_admin_req_t *req, int argc, char **argv)
{
	run_command(req, VC_MC_INFO, argv[0], NULL, shown_meeting);
}

/* ---- meetings end, meetings delete -------------------------------------------- */

static bool ended(vc_actor_t *self, op_t *op, const vc_meeting_reply_t *r)
{
	log_info("admin: meeting '%s' ended", op->room_id);
	vc_admin_reply(op->req, meeting_json(&r->meeting));
	return true;
}

void vc_admin_meetings_end(vc_admin_req_t *req, int argc, char **argv)
{
	run_command(req, VC_MC_END, argv[0], NULL, ended);
}

static bool deleted(vc_actor_t *self, op_t *op, const vc_meeting_reply_t *r)
{
	log_info("admin: meeting '%s' deleted", op->room_id);
	vc_admin_reply(op->req,
	               json_pack("{s:o,s:b}", "meeting_id", as_str(op->room_id), "deleted", 1));
	return true;
}

void vc_admin_meetings_delete(vc_admin_req_t *req, int argc, char **argv)
{
	run_command(req, VC_MC_DELETE, argv[0], NULL, deleted);
}

/* ---- participants kick ------------------------------------------------------- */

static bool kicked(vc_actor_t *self, op_t *op, const vc_meeting_reply_t *r)
{
	const vc_participant_row_t *p = &r->participant;
	json_t *o = json_object();

	log_info("admin: '%s' kicked from meeting '%s'", op->user_id, op->room_id);
	json_object_set_new(o, "meeting_id", as_str(op->room_id));
	json_object_set_new(o, "user_id", str_or_null(p->user_id));
	json_object_set_new(o, "display_name", str_or_null(p->display_name));
	json_object_set_new(o, "status", str_or_null(p->status));
	vc_admin_reply(op->req, o);
	return true;
}

/* The actor found no row it may kick: say whether USER is the host. */
static bool kick_checked(vc_actor_t *self, op_t *op, const vc_pg_result_t *r)
{
	bool host = false;

	for (int i = 0; r->status == VC_PG_OK && i < PQntuples(r->res); i++)
		host |= strcmp(PQgetvalue(r->res, i, 0), op->user_id) == 0 &&
		        PQgetvalue(r->res, i, 3)[0] == 't';
	if (host)
		vc_admin_fail(op->req,
		              "'%.255s' is the host of meeting '%.255s' and cannot be kicked "
		              "(end the meeting instead: vcctl meetings end %.255s)",
		              op->user_id, op->room_id, op->room_id);
	else
		vc_admin_fail(op->req, "no participant '%.255s' in meeting '%.255s' (%s)",
		              op->user_id, op->room_id, "waiting or admitted");
	return true;
}

void vc_admin_participants_kick(vc_admin_req_t *req, int argc, char **argv)
{
	run_command(req, VC_MC_KICK, argv[0], argv[1], kicked);
}
