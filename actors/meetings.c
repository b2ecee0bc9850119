/*
 * meetings.c — one actor per room id (see doc/meetings.md).
 *
 * The actor runs one command at a time: read what the decision needs,
 * decide with meeting_fsm.c, write with a statement conditioned on what was
 * read, answer, then publish. A condition that no longer holds (another node
 * changed the meeting in between) makes the command start over, at most
 * MAX_ATTEMPTS times. Commands arriving meanwhile wait in the actor's queue.
 * Each step is a continuation: query() names the function that receives the
 * result.
 */
#include "actors/meetings.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/meeting_fsm.h"
#include "actors/password.h"
#include "actors/room_tokens.h"
#include "runtime/config.h"
#include "runtime/log.h"
#include "runtime/nats.h"
#include "runtime/offload.h"
#include "runtime/pg.h"
#include "wire/http.h"
#include "wire/proto.h"

#define MAX_ATTEMPTS 3
#define REGISTRY_SHARDS 64
#define GENERATED_ID_LEN 12

enum { M_CMD, M_DB, M_PW, M_COUNT };

typedef struct meeting meeting_t;
typedef void (*cont_fn)(meeting_t *m, vc_pg_result_t *r);
typedef void (*next_fn)(meeting_t *m);

/* What the first read of a command found (S_READ). */
typedef struct facts {
	bool found;
	char *id; /* meetings.id */
	vc_meeting_row_t row;
	bool has_row; /* the caller's participant row */
	vc_participant_row_t caller;
	char *password_hash;
	json_t *attendees;
} facts_t;

struct meeting {
	vc_actor_t actor;
	char *room_id; /* NULL: a one-shot actor (LIST, CREATE with a generated id) */
	vc_meeting_cmd_msg_t *cur;
	vc_meeting_cmd_msg_t *queue_head, *queue_tail;
	vc_meeting_reply_t *reply;
	facts_t f;
	cont_fn cont;
	next_fn after_read; /* what runs once S_READ has answered */
	int attempts;
	bool password_ok;
	vc_join_plan_t plan;
	struct pending_event {
		enum vc_meeting_event ev;
		char *target;
	} * events; /* published after the answer */
	size_t nevents;
	meeting_t *reg_next;
};

static int S_READ, S_CREATE, S_ADHOC, S_JOIN, S_LEAVE, S_END, S_DELETE, S_UPDATE, S_LIST_STATUS,
        S_SET_STATUS, S_ADMIT_ALL, S_LIST;

/* --- the registry: room id → actor ----------------------------------------- */

static struct shard {
	pthread_mutex_t mu;
	meeting_t *head;
} registry[REGISTRY_SHARDS];

static uint64_t room_hash(const char *room_id)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a: placement only, not security */

	for (const char *p = room_id; *p; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ull;
	return h;
}

static void meeting_free(vc_actor_t *a);
static void start_next(meeting_t *m);
static void run(meeting_t *m);

/* --- replies and rows -------------------------------------------------------- */

static void row_free(vc_meeting_row_t *r)
{
	free(r->room_id);
	free(r->state);
	free(r->creator_id);
	free(r->host_display_name);
	free(r->admission);
}

static void prow_free(vc_participant_row_t *p)
{
	free(p->user_id);
	free(p->display_name);
	free(p->status);
}

static void reply_destroy(vc_msg_t *msg)
{
	vc_meeting_reply_t *r = (vc_meeting_reply_t *)msg;

	row_free(&r->meeting);
	prow_free(&r->participant);
	for (size_t i = 0; i < r->nlist; i++)
		prow_free(&r->list[i]);
	free(r->list);
	for (size_t i = 0; i < r->nmeetings; i++)
		row_free(&r->meetings[i]);
	free(r->meetings);
	free(r->room_token);
	free(r->observer_token);
	free(r->generated_id);
	free(r->detail);
	free(r);
}

static void cmd_destroy(vc_msg_t *msg)
{
	vc_meeting_cmd_msg_t *c = (vc_meeting_cmd_msg_t *)msg;

	free(c->room_id);
	free(c->caller_id);
	free(c->caller_name);
	free(c->display_name);
	if (c->password != NULL)
		sodium_memzero(c->password, strlen(c->password));
	free(c->password);
	free(c->target_user_id);
	free(c->admission);
	json_decref(c->attendees);
	if (c->reply_to != NULL)
		vc_actor_unref(c->reply_to);
	free(c);
}

static char *dup_value(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : vc_strdup(PQgetvalue(res, row, col));
}

static int64_t int_value(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? 0 : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static bool bool_value(const PGresult *res, int row, int col)
{
	return !PQgetisnull(res, row, col) && PQgetvalue(res, row, col)[0] == 't';
}

/* user_id, display_name, status, is_host, joined ms, admitted ms from col. */
static void read_prow(const PGresult *res, int row, int col, vc_participant_row_t *p)
{
	p->user_id = dup_value(res, row, col);
	p->display_name = dup_value(res, row, col + 1);
	p->status = dup_value(res, row, col + 2);
	p->is_host = bool_value(res, row, col + 3);
	p->joined_ms = int_value(res, row, col + 4);
	p->admitted_ms = int_value(res, row, col + 5);
}

static void copy_prow(vc_participant_row_t *to, const vc_participant_row_t *from)
{
	prow_free(to);
	*to = *from;
	to->user_id = from->user_id ? vc_strdup(from->user_id) : NULL;
	to->display_name = from->display_name ? vc_strdup(from->display_name) : NULL;
	to->status = from->status ? vc_strdup(from->status) : NULL;
}

static void copy_row(vc_meeting_row_t *to, const vc_meeting_row_t *from)
{
	row_free(to);
	*to = *from;
	to->room_id = from->room_id ? vc_strdup(from->room_id) : NULL;
	to->state = from->state ? vc_strdup(from->state) : NULL;
	to->creator_id = from->creator_id ? vc_strdup(from->creator_id) : NULL;
	to->host_display_name = from->host_display_name ? vc_strdup(from->host_display_name) : NULL;
	to->admission = from->admission ? vc_strdup(from->admission) : NULL;
}

static void facts_free(facts_t *f)
{
	free(f->id);
	row_free(&f->row);
	prow_free(&f->caller);
	if (f->password_hash != NULL)
		sodium_memzero(f->password_hash, strlen(f->password_hash));
	free(f->password_hash);
	json_decref(f->attendees);
	memset(f, 0, sizeof(*f));
}

/* --- events ------------------------------------------------------------------ */

/* Publish a system event on room.{id}.system. Called after the commit and
 * after the answer; a failure is counted by the bridge, not the client's. */
static void publish(const char *room_id, enum vc_meeting_event ev, const char *target)
{
	vc_meeting_packet_t p = { .event_type = ev, .room_id = room_id, .target_user_id = target };
	char subject[VC_ROOM_ID_MAX + 32];
	vc_buf_t b = { 0 };

	if (!vc_room_subject(room_id, subject, sizeof(subject)))
		return;
	vc_system_event_encode(&p, &b);
	(void)vc_nats_publish(subject, b.data, b.len);
	free(b.data);
}

static void event_later(meeting_t *m, enum vc_meeting_event ev, const char *target)
{
	m->events = vc_realloc(m->events, (m->nevents + 1) * sizeof(*m->events));
	m->events[m->nevents].ev = ev;
	m->events[m->nevents].target = target ? vc_strdup(target) : NULL;
	m->nevents++;
}

static const char *room_of(meeting_t *m)
{
	return m->f.row.room_id ? m->f.row.room_id : m->cur->room_id;
}

/* --- the command's end: answer, publish, next -------------------------------- */

static void finish(meeting_t *m, enum vc_meeting_error err)
{
	vc_meeting_cmd_msg_t *c = m->cur;
	vc_meeting_reply_t *r = m->reply;

	r->error = err;
	vc_actor_send(c->reply_to, &r->msg);
	m->reply = NULL;
	for (size_t i = 0; i < m->nevents; i++) {
		if (err == VC_MERR_OK)
			publish(room_of(m), m->events[i].ev, m->events[i].target);
		free(m->events[i].target);
	}
	free(m->events);
	m->events = NULL;
	m->nevents = 0;
	facts_free(&m->f);
	m->cur = NULL;
	vc_msg_destroy(&c->msg);
	start_next(m);
}

static void finish_internal(meeting_t *m, const char *why)
{
	log_error("meeting '%s': %s", m->cur->room_id ? m->cur->room_id : "-", why);
	m->reply->detail = vc_strdup(why);
	finish(m, VC_MERR_INTERNAL);
}

/* A conditional write found the meeting changed by someone else: again. */
static void retry(meeting_t *m)
{
	if (++m->attempts >= MAX_ATTEMPTS) {
		finish_internal(m, "the meeting kept changing under the command");
		return;
	}
	facts_free(&m->f);
	for (size_t i = 0; i < m->nevents; i++)
		free(m->events[i].target);
	m->nevents = 0;
	run(m);
}

static void query(meeting_t *m, int stmt, int n, const char *const *params, cont_fn cont)
{
	m->cont = cont;
	vc_pg_query(stmt, n, params, &m->actor, M_DB, NULL);
}

static int on_db(vc_actor_t *self, vc_msg_t *msg)
{
	meeting_t *m = self->state;
	vc_pg_result_t *r = (vc_pg_result_t *)msg;
	cont_fn cont = m->cont;

	m->cont = NULL;
	if (m->cur == NULL || cont == NULL)
		return VC_MSG_DONE; /* cannot happen: one query at a time */
	if (r->status == VC_PG_UNAVAILABLE)
		finish(m, VC_MERR_UNAVAILABLE);
	else if (r->status == VC_PG_ERROR)
		finish_internal(m, PQresultErrorField(r->res, PG_DIAG_MESSAGE_PRIMARY));
	else
		cont(m, r);
	return VC_MSG_DONE;
}

/* --- password work off the loop ----------------------------------------------- */

typedef struct pw_job {
	vc_offload_job_t job;
	char *password, *stored;
	char hash[VC_PASSWORD_HASH_MAX];
	enum vc_pw_result result;
	void (*cont)(meeting_t *m, struct pw_job *j);
} pw_job_t;

static void pw_work(vc_offload_job_t *job)
{
	pw_job_t *j = (pw_job_t *)job;

	if (j->stored != NULL)
		j->result = vc_password_verify(j->stored, j->password);
	else if (vc_password_hash(j->password, j->hash) != 0)
		j->hash[0] = '\0';
}

static void pw_destroy(vc_msg_t *msg)
{
	pw_job_t *j = (pw_job_t *)msg;

	sodium_memzero(j->password, strlen(j->password));
	free(j->password);
	free(j->stored);
	sodium_memzero(j->hash, sizeof(j->hash));
	free(j);
}

/* Hash (stored NULL) or verify `password` on an offload thread. */
static void password_work(meeting_t *m, const char *password, const char *stored,
                          void (*cont)(meeting_t *m, pw_job_t *j))
{
	pw_job_t *j = vc_msg_new(sizeof(*j), M_PW);

	j->job.msg.destroy = pw_destroy;
	j->job.fn = pw_work;
	j->password = vc_strdup(password);
	j->stored = stored ? vc_strdup(stored) : NULL;
	j->cont = cont;
	if (vc_offload_submit(&j->job, &m->actor) != 0) {
		pw_destroy(&j->job.msg);
		finish(m, VC_MERR_UNAVAILABLE);
	}
}

static int on_pw(vc_actor_t *self, vc_msg_t *msg)
{
	meeting_t *m = self->state;
	pw_job_t *j = (pw_job_t *)msg;

	if (m->cur != NULL)
		j->cont(m, j);
	return VC_MSG_DONE;
}

/* --- reading a meeting and the caller's row (S_READ) ---------------------------- */

static void read_facts(meeting_t *m, const PGresult *res)
{
	facts_t *f = &m->f;
	vc_meeting_row_t *r = &f->row;

	facts_free(f);
	if (PQntuples(res) != 1)
		return;
	f->found = true;
	f->id = dup_value(res, 0, 0);
	r->room_id = dup_value(res, 0, 1);
	r->state = dup_value(res, 0, 2);
	r->creator_id = dup_value(res, 0, 3);
	r->host_display_name = dup_value(res, 0, 4);
	r->admission = dup_value(res, 0, 5);
	f->password_hash = dup_value(res, 0, 6);
	r->has_password = f->password_hash != NULL;
	r->waiting_room = bool_value(res, 0, 7);
	r->started_ms = int_value(res, 0, 8);
	r->ended_ms = int_value(res, 0, 9);
	r->created_ms = int_value(res, 0, 10);
	r->participant_count = int_value(res, 0, 11);
	r->waiting_count = int_value(res, 0, 12);
	f->has_row = !PQgetisnull(res, 0, 13);
	if (f->has_row)
		read_prow(res, 0, 13, &f->caller);
	f->attendees = json_loads(PQgetvalue(res, 0, 19), 0, NULL);
}

static void read_done(meeting_t *m, vc_pg_result_t *r)
{
	read_facts(m, r->res);
	copy_row(&m->reply->meeting, &m->f.row);
	if (m->f.has_row) {
		m->reply->has_participant = true;
		copy_prow(&m->reply->participant, &m->f.caller);
	}
	m->after_read(m);
}

static void read_then(meeting_t *m, next_fn next)
{
	const char *params[2] = { m->cur->room_id, m->cur->caller_id };

	m->after_read = next;
	query(m, S_READ, 2, params, read_done);
}

static bool is_owner(const meeting_t *m)
{
	return m->f.row.creator_id != NULL && strcmp(m->f.row.creator_id, m->cur->caller_id) == 0;
}

/* The host moderates; with admission = participants so does anyone admitted. */
static bool can_moderate(const meeting_t *m)
{
	const facts_t *f = &m->f;

	if (!f->has_row || strcmp(f->caller.status, "admitted") != 0)
		return false;
	return f->caller.is_host || strcmp(f->row.admission, "participants") == 0;
}

/* Statuses from which `ev` applies, as a PostgreSQL text[] literal. */
static void allowed_from(enum vc_pevent ev, char *out, size_t len)
{
	size_t n = (size_t)snprintf(out, len, "{");

	for (enum vc_pstatus s = VC_PS_WAITING; s < VC_PS_COUNT; s++) {
		enum vc_pstatus to;
		bool adm;
		if (vc_participant_next(s, ev, &to, &adm))
			n += (size_t)snprintf(out + n, len - n, "%s%s", n > 1 ? "," : "",
			                      vc_pstatus_name(s));
	}
	snprintf(out + n, len - n, "}");
}

/* --- create and read ---------------------------------------------------------- */

static void create_done(meeting_t *m, vc_pg_result_t *r)
{
	vc_meeting_cmd_msg_t *c = m->cur;
	vc_meeting_row_t *row = &m->reply->meeting;

	if (PQntuples(r->res) != 1) {
		finish(m, VC_MERR_MEETING_EXISTS);
		return;
	}
	row_free(row);
	row->room_id = vc_strdup(c->room_id);
	row->state = vc_strdup("idle");
	row->creator_id = vc_strdup(c->caller_id);
	row->admission = vc_strdup(c->admission ? c->admission : "host");
	row->has_password = c->password != NULL && c->password[0] != '\0';
	row->waiting_room = c->waiting_room != 0;
	row->created_ms = int_value(r->res, 0, 0);
	row->started_ms = int_value(r->res, 0, 1);
	finish(m, VC_MERR_OK);
}

static void create_insert(meeting_t *m, const char *hash)
{
	vc_meeting_cmd_msg_t *c = m->cur;
	char *attendees = c->attendees ? json_dumps(c->attendees, JSON_COMPACT) : NULL;
	const char *params[6] = { c->room_id,
		                  c->caller_id,
		                  hash,
		                  attendees ? attendees : "[]",
		                  c->waiting_room == 0 ? "false" : "true",
		                  c->admission ? c->admission : "host" };

	query(m, S_CREATE, 6, params, create_done);
	free(attendees);
}

static void create_hashed(meeting_t *m, pw_job_t *j)
{
	if (j->hash[0] == '\0')
		finish_internal(m, "could not hash the meeting password");
	else
		create_insert(m, j->hash);
}

static void cmd_create(meeting_t *m)
{
	const char *pw = m->cur->password;

	if (pw != NULL && pw[0] != '\0')
		password_work(m, pw, NULL, create_hashed);
	else
		create_insert(m, NULL);
}

static void info_read(meeting_t *m)
{
	finish(m, m->f.found ? VC_MERR_OK : VC_MERR_MEETING_NOT_FOUND);
}

/* --- join (§4.7 and meeting_fsm.c) ------------------------------------------------ */

static bool listed_attendee(const meeting_t *m)
{
	size_t i;
	json_t *v;

	json_array_foreach(m->f.attendees, i, v)
	{
		if (json_is_string(v) && strcmp(json_string_value(v), m->cur->caller_id) == 0)
			return true;
	}
	return false;
}

/* A room token for the caller, or false (answered) when none can be made. */
static bool room_token(meeting_t *m, bool is_host, const char *display)
{
	const vc_config_t *cfg = vc_config_get();

	m->reply->room_token =
	        vc_room_token(cfg->jwt_secret, m->cur->caller_id, room_of(m), is_host, display,
	                      (int64_t)(vc_wall_ms() / 1000), (int64_t)cfg->token_ttl);
	if (m->reply->room_token != NULL)
		return true;
	finish_internal(m, "cannot issue room tokens: jwt_secret is not set");
	return false;
}

static bool observer_token(meeting_t *m, const char *display)
{
	m->reply->observer_token =
	        vc_observer_token(vc_config_get()->jwt_secret, m->cur->caller_id, room_of(m),
	                          display, (int64_t)(vc_wall_ms() / 1000));
	if (m->reply->observer_token != NULL)
		return true;
	finish_internal(m, "cannot issue observer tokens: jwt_secret is not set");
	return false;
}

static void join_written(meeting_t *m, vc_pg_result_t *r)
{
	vc_meeting_cmd_msg_t *c = m->cur;
	vc_join_plan_t *p = &m->plan;
	vc_meeting_reply_t *rep = m->reply;

	if (PQntuples(r->res) != 1) {
		retry(m);
		return;
	}
	prow_free(&rep->participant);
	read_prow(r->res, 0, 0, &rep->participant);
	rep->has_participant = true;
	free(rep->meeting.state);
	rep->meeting.state = vc_strdup(vc_mstate_name(p->meeting.to));
	if (p->is_host && c->display_name != NULL) {
		free(rep->meeting.host_display_name);
		rep->meeting.host_display_name = vc_strdup(c->display_name);
	}
	if (p->room_token && !room_token(m, p->is_host, c->display_name))
		return;
	if (p->observer_token && !observer_token(m, c->display_name))
		return;
	if (p->meeting.effects & VC_MEFF_ACTIVATED)
		event_later(m, VC_EV_MEETING_ACTIVATED, NULL);
	if (p->waiting_room_updated)
		event_later(m, VC_EV_WAITING_ROOM_UPDATED, NULL);
	finish(m, VC_MERR_OK);
}

static void join_decide(meeting_t *m)
{
	vc_meeting_cmd_msg_t *c = m->cur;
	facts_t *f = &m->f;
	vc_join_facts_t facts = {
		.state = vc_mstate_parse(f->row.state),
		.is_owner = is_owner(m),
		.status = f->has_row ? vc_pstatus_parse(f->caller.status) : VC_PS_NONE,
		.waiting_room = f->row.waiting_room,
		.is_attendee = listed_attendee(m),
		.has_password = f->row.has_password,
		.password_ok = m->password_ok,
	};
	vc_join_plan_t *p = &m->plan;

	*p = vc_join_decide(&facts);
	if (p->error == VC_JOIN_INVALID_PASSWORD) {
		finish(m, VC_MERR_INVALID_PASSWORD);
		return;
	}
	if (p->waiting_for_meeting) { /* nothing is written */
		vc_participant_row_t *w = &m->reply->participant;
		prow_free(w);
		w->user_id = vc_strdup(c->caller_id);
		w->display_name = c->display_name ? vc_strdup(c->display_name) : NULL;
		w->status = vc_strdup("waiting_for_meeting");
		w->joined_ms = (int64_t)vc_wall_ms();
		m->reply->has_participant = true;
		if (observer_token(m, c->display_name))
			finish(m, VC_MERR_OK);
		return;
	}
	const char *params[10] = {
		f->id,
		f->row.state,
		vc_mstate_name(p->meeting.to),
		f->row.waiting_room ? "true" : "false",
		c->caller_id,
		vc_pstatus_name(p->status),
		p->is_host ? "true" : "false",
		c->display_name,
		p->admitted_now ? "true" : "false",
		f->has_row ? f->caller.status : NULL,
	};
	query(m, S_JOIN, 10, params, join_written);
}

static void join_checked(meeting_t *m, pw_job_t *j)
{
	m->password_ok = j->result == VC_PW_OK || j->result == VC_PW_OK_REHASH;
	join_decide(m);
}

static void join_read(meeting_t *m);

static void adhoc_done(meeting_t *m, vc_pg_result_t *r)
{
	read_then(m, join_read); /* ours, or the one another node created first */
}

static void join_read(meeting_t *m)
{
	vc_meeting_cmd_msg_t *c = m->cur;

	m->password_ok = false;
	if (!m->f.found) {
		const char *params[2] = { c->room_id, c->caller_id };
		if (m->attempts++ >= MAX_ATTEMPTS) {
			finish_internal(m, "the ad-hoc meeting vanished while being created");
			return;
		}
		query(m, S_ADHOC, 2, params, adhoc_done);
		return;
	}
	if (m->f.row.has_password && !is_owner(m) && c->password != NULL && c->password[0])
		password_work(m, c->password, m->f.password_hash, join_checked);
	else
		join_decide(m);
}

/* --- status, leave, end, delete, update ---------------------------------------- */

static void status_read(meeting_t *m)
{
	facts_t *f = &m->f;

	if (!f->found)
		finish(m, VC_MERR_MEETING_NOT_FOUND);
	else if (vc_mstate_parse(f->row.state) == VC_MS_ENDED)
		finish(m, VC_MERR_MEETING_NOT_ACTIVE);
	else if (!f->has_row)
		finish(m, VC_MERR_NOT_IN_MEETING);
	else if (strcmp(f->caller.status, "admitted") != 0 ||
	         room_token(m, f->caller.is_host, f->caller.display_name))
		finish(m, VC_MERR_OK);
}

static void leave_written(meeting_t *m, vc_pg_result_t *r)
{
	vc_meeting_reply_t *rep = m->reply;

	if (PQntuples(r->res) != 1) {
		finish(m, VC_MERR_NOT_IN_MEETING);
		return;
	}
	prow_free(&rep->participant);
	read_prow(r->res, 0, 0, &rep->participant);
	rep->has_participant = true;
	if (int_value(r->res, 0, 6) > 0) { /* the meeting ended with it */
		free(rep->meeting.state);
		rep->meeting.state = vc_strdup("ended");
		event_later(m, VC_EV_MEETING_ENDED, NULL);
	}
	finish(m, VC_MERR_OK);
}

static void leave_read(meeting_t *m)
{
	facts_t *f = &m->f;
	enum vc_pstatus to;
	bool adm, ends;
	int64_t others;
	char allowed[64];

	if (!f->found) {
		finish(m, VC_MERR_MEETING_NOT_FOUND);
		return;
	}
	if (!f->has_row ||
	    !vc_participant_next(vc_pstatus_parse(f->caller.status), VC_PE_LEAVE, &to, &adm)) {
		finish(m, VC_MERR_NOT_IN_MEETING);
		return;
	}
	/* The owner leaving ends it; so does the last admitted participant. */
	others = f->row.participant_count - (strcmp(f->caller.status, "admitted") == 0 ? 1 : 0);
	ends = is_owner(m) || others <= 0;
	allowed_from(VC_PE_LEAVE, allowed, sizeof(allowed));
	const char *params[4] = { f->id, m->cur->caller_id, ends ? "true" : "false", allowed };
	query(m, S_LEAVE, 4, params, leave_written);
}

static void end_written(meeting_t *m, vc_pg_result_t *r)
{
	if (PQntuples(r->res) != 1) {
		retry(m);
		return;
	}
	free(m->reply->meeting.state);
	m->reply->meeting.state = vc_strdup("ended");
	m->reply->meeting.ended_ms = int_value(r->res, 0, 0);
	event_later(m, VC_EV_MEETING_ENDED, NULL);
	finish(m, VC_MERR_OK);
}

static void end_read(meeting_t *m)
{
	vc_mstep_t step;
	const char *params[1] = { m->f.id };

	if (!m->f.found)
		finish(m, VC_MERR_MEETING_NOT_FOUND);
	else if (!is_owner(m))
		finish(m, VC_MERR_NOT_OWNER);
	else if (!vc_meeting_next(vc_mstate_parse(m->f.row.state), VC_ME_END, &step) ||
	         !(step.effects & VC_MEFF_ENDED))
		finish(m, VC_MERR_OK); /* already ended: as it is */
	else
		query(m, S_END, 1, params, end_written);
}

static void delete_written(meeting_t *m, vc_pg_result_t *r)
{
	finish(m, strcmp(PQcmdTuples(r->res), "1") == 0 ? VC_MERR_OK : VC_MERR_MEETING_NOT_FOUND);
}

static void delete_read(meeting_t *m)
{
	const char *params[1] = { m->f.id };

	if (!m->f.found)
		finish(m, VC_MERR_MEETING_NOT_FOUND);
	else if (!is_owner(m))
		finish(m, VC_MERR_NOT_OWNER);
	else
		query(m, S_DELETE, 1, params, delete_written);
}

static void update_reread(meeting_t *m)
{
	finish(m, m->f.found ? VC_MERR_OK : VC_MERR_MEETING_NOT_FOUND);
}

static void update_written(meeting_t *m, vc_pg_result_t *r)
{
	read_then(m, update_reread);
}

static void update_read(meeting_t *m)
{
	vc_meeting_cmd_msg_t *c = m->cur;
	const char *wr = c->waiting_room < 0 ? NULL : c->waiting_room ? "true" : "false";
	const char *params[3] = { m->f.id, wr, c->admission };

	if (!m->f.found)
		finish(m, VC_MERR_MEETING_NOT_FOUND);
	else if (!is_owner(m))
		finish(m, VC_MERR_NOT_OWNER);
	else if (wr == NULL && c->admission == NULL)
		finish(m, VC_MERR_OK);
	else
		query(m, S_UPDATE, 3, params, update_written);
}

/* --- lists and host actions ------------------------------------------------------- */

static void list_rows(meeting_t *m, vc_pg_result_t *r)
{
	vc_meeting_reply_t *rep = m->reply;
	int n = PQntuples(r->res);

	rep->list = vc_calloc((size_t)n, sizeof(*rep->list));
	rep->nlist = (size_t)n;
	for (int i = 0; i < n; i++)
		read_prow(r->res, i, 0, &rep->list[i]);
	finish(m, VC_MERR_OK);
}

static void list_status(meeting_t *m, const char *status)
{
	const char *params[2] = { m->f.id, status };

	query(m, S_LIST_STATUS, 2, params, list_rows);
}

static void participants_read(meeting_t *m)
{
	if (!m->f.found)
		finish(m, VC_MERR_MEETING_NOT_FOUND);
	else if (!m->f.has_row)
		finish(m, VC_MERR_NOT_IN_MEETING);
	else
		list_status(m, "admitted");
}

static void waiting_read(meeting_t *m)
{
	if (!m->f.found)
		finish(m, VC_MERR_MEETING_NOT_FOUND);
	else if (!can_moderate(m))
		finish(m, VC_MERR_NOT_HOST);
	else
		list_status(m, "waiting");
}

static const struct host_action {
	enum vc_pevent ev;
	enum vc_meeting_event published;
} host_actions[VC_MC_COUNT] = {
	[VC_MC_ADMIT] = { VC_PE_ADMIT, VC_EV_PARTICIPANT_ADMITTED },
	[VC_MC_REJECT] = { VC_PE_REJECT, VC_EV_PARTICIPANT_REJECTED },
	[VC_MC_KICK] = { VC_PE_KICK, VC_EV_PARTICIPANT_LEFT },
};

static void action_written(meeting_t *m, vc_pg_result_t *r)
{
	vc_meeting_reply_t *rep = m->reply;

	if (PQntuples(r->res) != 1) {
		finish(m, VC_MERR_PARTICIPANT_NOT_FOUND);
		return;
	}
	prow_free(&rep->participant);
	read_prow(r->res, 0, 0, &rep->participant);
	rep->has_participant = true;
	event_later(m, host_actions[m->cur->cmd].published, rep->participant.user_id);
	finish(m, VC_MERR_OK);
}

static void action_read(meeting_t *m)
{
	const struct host_action *a = &host_actions[m->cur->cmd];
	enum vc_pstatus to = VC_PS_NONE;
	bool adm = false;
	char allowed[64];

	if (!m->f.found) {
		finish(m, VC_MERR_MEETING_NOT_FOUND);
		return;
	}
	/* kick is the host's alone; admit and reject follow `admission` */
	if (m->cur->cmd == VC_MC_KICK ? !(can_moderate(m) && m->f.caller.is_host)
	                              : !can_moderate(m)) {
		finish(m, VC_MERR_NOT_HOST);
		return;
	}
	for (enum vc_pstatus s = VC_PS_WAITING; s < VC_PS_COUNT && to == VC_PS_NONE; s++)
		if (!vc_participant_next(s, a->ev, &to, &adm))
			to = VC_PS_NONE;
	allowed_from(a->ev, allowed, sizeof(allowed));
	const char *params[5] = { m->f.id, m->cur->target_user_id, vc_pstatus_name(to),
		                  adm ? "true" : "false", allowed };
	query(m, S_SET_STATUS, 5, params, action_written);
}

static void admit_all_written(meeting_t *m, vc_pg_result_t *r)
{
	int n = PQntuples(r->res);

	for (int i = 0; i < n; i++)
		event_later(m, VC_EV_PARTICIPANT_ADMITTED, PQgetvalue(r->res, i, 0));
	list_rows(m, r);
}

static void admit_all_read(meeting_t *m)
{
	const char *params[1] = { m->f.id };

	if (!m->f.found)
		finish(m, VC_MERR_MEETING_NOT_FOUND);
	else if (!can_moderate(m))
		finish(m, VC_MERR_NOT_HOST);
	else
		query(m, S_ADMIT_ALL, 1, params, admit_all_written);
}

static void list_done(meeting_t *m, vc_pg_result_t *r)
{
	vc_meeting_reply_t *rep = m->reply;
	int n = PQntuples(r->res);

	rep->total = n > 0 ? int_value(r->res, 0, 0) : 0;
	rep->meetings = vc_calloc((size_t)n, sizeof(*rep->meetings));
	for (int i = 0; i < n; i++) {
		vc_meeting_row_t *row;
		if (PQgetisnull(r->res, i, 1))
			continue; /* the count row of an empty page */
		row = &rep->meetings[rep->nmeetings++];
		row->room_id = dup_value(r->res, i, 1);
		row->state = dup_value(r->res, i, 2);
		row->creator_id = dup_value(r->res, i, 3);
		row->has_password = bool_value(r->res, i, 4);
		row->waiting_room = bool_value(r->res, i, 5);
		row->created_ms = int_value(r->res, i, 6);
		row->started_ms = int_value(r->res, i, 7);
		row->ended_ms = int_value(r->res, i, 8);
		row->participant_count = int_value(r->res, i, 9);
		row->waiting_count = int_value(r->res, i, 10);
	}
	finish(m, VC_MERR_OK);
}

static void cmd_list(meeting_t *m)
{
	char limit[24], offset[24];
	const char *params[3] = { m->cur->caller_id, limit, offset };

	snprintf(limit, sizeof(limit), "%lld", (long long)m->cur->limit);
	snprintf(offset, sizeof(offset), "%lld", (long long)m->cur->offset);
	query(m, S_LIST, 3, params, list_done);
}

/* --- the actor ---------------------------------------------------------------------- */

/* The first step of each command: the reads go through S_READ. */
static const next_fn after_read_of[VC_MC_COUNT] = {
	[VC_MC_INFO] = info_read,           [VC_MC_UPDATE] = update_read,
	[VC_MC_DELETE] = delete_read,       [VC_MC_END] = end_read,
	[VC_MC_JOIN] = join_read,           [VC_MC_STATUS] = status_read,
	[VC_MC_LEAVE] = leave_read,         [VC_MC_PARTICIPANTS] = participants_read,
	[VC_MC_WAITING] = waiting_read,     [VC_MC_ADMIT] = action_read,
	[VC_MC_ADMIT_ALL] = admit_all_read, [VC_MC_REJECT] = action_read,
	[VC_MC_KICK] = action_read,
};

static void run(meeting_t *m)
{
	enum vc_meeting_cmd cmd = m->cur->cmd;

	if (cmd == VC_MC_CREATE)
		cmd_create(m);
	else if (cmd == VC_MC_LIST)
		cmd_list(m);
	else
		read_then(m, after_read_of[cmd]);
}

static void start(meeting_t *m, vc_meeting_cmd_msg_t *c)
{
	vc_meeting_reply_t *r = vc_msg_new(sizeof(*r), VC_HTTP_MSG_REPLY);

	r->msg.destroy = reply_destroy;
	r->cmd = c->cmd;
	if (c->_generated)
		r->generated_id = vc_strdup(c->room_id);
	m->cur = c;
	m->reply = r;
	m->attempts = 0;
	run(m);
}

static void start_next(meeting_t *m)
{
	vc_meeting_cmd_msg_t *c = m->queue_head;

	if (c != NULL) {
		m->queue_head = c->_next;
		if (m->queue_head == NULL)
			m->queue_tail = NULL;
		start(m, c);
	} else if (m->room_id == NULL) {
		vc_actor_unref(&m->actor); /* a one-shot actor is done */
	}
}

static int on_cmd(vc_actor_t *self, vc_msg_t *msg)
{
	meeting_t *m = self->state;
	vc_meeting_cmd_msg_t *c = (vc_meeting_cmd_msg_t *)msg;

	if (m->cur == NULL) {
		start(m, c);
		return VC_MSG_KEPT;
	}
	c->_next = NULL; /* one at a time: the rest wait here, in order */
	if (m->queue_tail != NULL)
		m->queue_tail->_next = c;
	else
		m->queue_head = c;
	m->queue_tail = c;
	return VC_MSG_KEPT;
}

static const vc_handler_fn meeting_handlers[M_COUNT] = {
	[M_CMD] = on_cmd,
	[M_DB] = on_db,
	[M_PW] = on_pw,
};

static const vc_behaviour_t meeting_behaviour = {
	.name = "meeting",
	.handlers = meeting_handlers,
	.nhandlers = M_COUNT,
	.free = meeting_free,
};

static void meeting_free(vc_actor_t *a)
{
	meeting_t *m = a->state;

	while (m->queue_head != NULL) { /* only at shutdown */
		vc_meeting_cmd_msg_t *c = m->queue_head;
		m->queue_head = c->_next;
		vc_msg_destroy(&c->msg);
	}
	facts_free(&m->f);
	free(m->room_id);
	free(m);
}

static meeting_t *meeting_new(const char *room_id, vc_worker_t *home)
{
	meeting_t *m = vc_calloc(1, sizeof(*m));

	m->room_id = room_id ? vc_strdup(room_id) : NULL;
	vc_actor_init(&m->actor, &meeting_behaviour, home, m);
	return m;
}

/* The actor of room_id, created on its home worker on first use. */
static void send_to_room(vc_meeting_cmd_msg_t *c)
{
	uint64_t h = room_hash(c->room_id);
	struct shard *s = &registry[h % REGISTRY_SHARDS];
	meeting_t *m;

	pthread_mutex_lock(&s->mu);
	for (m = s->head; m != NULL; m = m->reg_next)
		if (strcmp(m->room_id, c->room_id) == 0)
			break;
	if (m == NULL) {
		m = meeting_new(c->room_id, vc_runtime_place(h));
		m->reg_next = s->head;
		s->head = m; /* the registry keeps the first reference */
	}
	vc_actor_send(&m->actor, &c->msg);
	pthread_mutex_unlock(&s->mu);
}

static void generate_id(char out[GENERATED_ID_LEN + 1])
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";

	for (int i = 0; i < GENERATED_ID_LEN; i++)
		out[i] = alphabet[randombytes_uniform(sizeof(alphabet) - 1)];
	out[GENERATED_ID_LEN] = '\0';
}

void vc_meetings_send(vc_meeting_cmd_msg_t *c)
{
	if (c->cmd == VC_MC_LIST) {
		vc_worker_t *w = vc_worker_self();
		meeting_t *m = meeting_new(NULL, w ? w : vc_runtime_worker(0));
		vc_actor_send(&m->actor, &c->msg);
		return;
	}
	if (c->cmd == VC_MC_CREATE && c->room_id == NULL) {
		char id[GENERATED_ID_LEN + 1];
		generate_id(id);
		c->room_id = vc_strdup(id);
		c->_generated = true;
	}
	send_to_room(c);
}

vc_meeting_cmd_msg_t *vc_meeting_cmd_new(enum vc_meeting_cmd cmd, const char *room_id,
                                         const char *caller_id, const char *caller_name,
                                         vc_actor_t *reply_to)
{
	vc_meeting_cmd_msg_t *c = vc_msg_new(sizeof(*c), M_CMD);

	c->msg.destroy = cmd_destroy;
	c->cmd = cmd;
	c->room_id = room_id ? vc_strdup(room_id) : NULL;
	c->caller_id = vc_strdup(caller_id);
	c->caller_name = caller_name ? vc_strdup(caller_name) : NULL;
	c->waiting_room = -1;
	c->limit = 20;
	vc_actor_ref(reply_to);
	c->reply_to = reply_to;
	return c;
}

void vc_meetings_worker_stop(vc_worker_t *w)
{
	for (int i = 0; i < REGISTRY_SHARDS; i++) {
		struct shard *s = &registry[i];
		pthread_mutex_lock(&s->mu);
		for (meeting_t **pp = &s->head; *pp != NULL;) {
			meeting_t *m = *pp;
			if (m->actor.home == w) {
				*pp = m->reg_next;
				vc_actor_unref(&m->actor);
			} else {
				pp = &m->reg_next;
			}
		}
		pthread_mutex_unlock(&s->mu);
	}
}

/* --- statements ------------------------------------------------------------------------ */

#define PROW "user_id, display_name, status, is_host, vcd_ms(joined_at), vcd_ms(admitted_at)"

void vc_meetings_init(void)
{
	for (int i = 0; i < REGISTRY_SHARDS; i++)
		pthread_mutex_init(&registry[i].mu, NULL);
	S_READ = vc_pg_statement(
	        "meeting_read",
	        "SELECT m.id, m.room_id, m.state, m.creator_id, m.host_display_name, m.admission,"
	        " m.password_hash, m.waiting_room_enabled, vcd_ms(m.started_at), "
	        "vcd_ms(m.ended_at),"
	        " vcd_ms(m.created_at),"
	        " (SELECT count(*) FROM meeting_participants p"
	        "  WHERE p.meeting_id = m.id AND p.status = 'admitted'),"
	        " (SELECT count(*) FROM meeting_participants p"
	        "  WHERE p.meeting_id = m.id AND p.status = 'waiting'),"
	        " c.user_id, c.display_name, c.status, c.is_host, vcd_ms(c.joined_at),"
	        " vcd_ms(c.admitted_at), m.attendees::text"
	        " FROM meetings m LEFT JOIN meeting_participants c"
	        " ON c.meeting_id = m.id AND c.user_id = $2"
	        " WHERE m.room_id = $1 AND m.deleted_at IS NULL",
	        2);
	S_CREATE = vc_pg_statement(
	        "meeting_create",
	        "INSERT INTO meetings (room_id, creator_id, password_hash, attendees,"
	        " waiting_room_enabled, admission) VALUES ($1, $2, $3, $4::jsonb, $5, $6)"
	        " ON CONFLICT (room_id) WHERE deleted_at IS NULL DO NOTHING"
	        " RETURNING vcd_ms(created_at), vcd_ms(started_at)",
	        6);
	S_ADHOC = vc_pg_statement("meeting_adhoc",
	                          "INSERT INTO meetings (room_id, creator_id) VALUES ($1, $2)"
	                          " ON CONFLICT (room_id) WHERE deleted_at IS NULL DO NOTHING",
	                          2);
	/* The meeting row is the lock: the write applies only to the state read. */
	S_JOIN = vc_pg_statement(
	        "meeting_join",
	        "WITH m AS (UPDATE meetings SET state = $3,"
	        "  host_display_name = CASE WHEN $7 AND $8::text IS NOT NULL THEN $8"
	        "  ELSE host_display_name END"
	        "  WHERE id = $1 AND state = $2 AND waiting_room_enabled = $4 RETURNING id),"
	        " p AS (INSERT INTO meeting_participants"
	        "  (meeting_id, user_id, status, is_host, display_name, admitted_at)"
	        "  SELECT id, $5, $6, $7, $8, CASE WHEN $9 THEN now() END FROM m"
	        "  ON CONFLICT (meeting_id, user_id) DO UPDATE SET status = EXCLUDED.status,"
	        "  is_host = meeting_participants.is_host OR EXCLUDED.is_host, left_at = NULL,"
	        "  display_name = COALESCE(EXCLUDED.display_name, "
	        "meeting_participants.display_name),"
	        "  admitted_at = CASE WHEN $9 THEN now() ELSE meeting_participants.admitted_at END"
	        "  WHERE meeting_participants.status IS NOT DISTINCT FROM $10::text"
	        "  RETURNING " PROW ")"
	        " SELECT * FROM p",
	        10);
	S_LEAVE = vc_pg_statement(
	        "meeting_leave",
	        "WITH p AS (UPDATE meeting_participants SET status = 'left', left_at = now()"
	        "  WHERE meeting_id = $1 AND user_id = $2 AND status = ANY($4::text[])"
	        "  RETURNING " PROW "),"
	        " e AS (UPDATE meetings SET state = 'ended', ended_at = now()"
	        "  WHERE id = $1 AND $3 AND state <> 'ended' AND EXISTS (SELECT 1 FROM p) "
	        "RETURNING 1)"
	        " SELECT p.*, (SELECT count(*) FROM e) FROM p",
	        4);
	S_END = vc_pg_statement("meeting_end",
	                        "UPDATE meetings SET state = 'ended', ended_at = now()"
	                        " WHERE id = $1 AND state <> 'ended' RETURNING vcd_ms(ended_at)",
	                        1);
	S_DELETE = vc_pg_statement("meeting_delete",
	                           "UPDATE meetings SET deleted_at = now()"
	                           " WHERE id = $1 AND deleted_at IS NULL",
	                           1);
	S_UPDATE = vc_pg_statement(
	        "meeting_update",
	        "WITH m AS (UPDATE meetings SET"
	        "  waiting_room_enabled = COALESCE($2::boolean, waiting_room_enabled),"
	        "  admission = COALESCE($3, admission) WHERE id = $1 RETURNING id),"
	        " a AS (UPDATE meeting_participants SET status = 'admitted', admitted_at = now()"
	        "  WHERE meeting_id = $1 AND status = 'waiting' AND $2::boolean = false"
	        "  AND EXISTS (SELECT 1 FROM m) RETURNING 1)"
	        " SELECT (SELECT count(*) FROM a)",
	        3);
	S_LIST_STATUS = vc_pg_statement("meeting_list_status",
	                                "SELECT " PROW " FROM meeting_participants"
	                                " WHERE meeting_id = $1 AND status = $2"
	                                " ORDER BY joined_at, id",
	                                2);
	S_SET_STATUS = vc_pg_statement(
	        "meeting_set_status",
	        "UPDATE meeting_participants SET status = $3,"
	        " admitted_at = CASE WHEN $4 THEN now() ELSE admitted_at END,"
	        " left_at = CASE WHEN $3 = 'left' THEN now() ELSE left_at END"
	        " WHERE meeting_id = $1 AND user_id = $2 AND status = ANY($5::text[])"
	        " AND NOT (is_host AND $3 = 'left') RETURNING " PROW,
	        5);
	S_ADMIT_ALL = vc_pg_statement("meeting_admit_all",
	                              "UPDATE meeting_participants SET status = 'admitted',"
	                              " admitted_at = now() WHERE meeting_id = $1"
	                              " AND status = 'waiting' RETURNING " PROW,
	                              1);
	S_LIST = vc_pg_statement(
	        "meeting_list",
	        "WITH t AS (SELECT count(*) AS n FROM meetings"
	        "  WHERE creator_id = $1 AND deleted_at IS NULL)"
	        " SELECT t.n, l.room_id, l.state, l.creator_id, l.password_hash IS NOT NULL,"
	        " l.waiting_room_enabled, vcd_ms(l.created_at), vcd_ms(l.started_at),"
	        " vcd_ms(l.ended_at), l.admitted, l.waiting"
	        " FROM t LEFT JOIN LATERAL (SELECT m.*,"
	        "  (SELECT count(*) FROM meeting_participants p"
	        "   WHERE p.meeting_id = m.id AND p.status = 'admitted') AS admitted,"
	        "  (SELECT count(*) FROM meeting_participants p"
	        "   WHERE p.meeting_id = m.id AND p.status = 'waiting') AS waiting"
	        "  FROM meetings m WHERE m.creator_id = $1 AND m.deleted_at IS NULL"
	        "  ORDER BY m.created_at DESC, m.id DESC LIMIT $2 OFFSET $3) l ON true",
	        3);
}
