/*
 * meetings.c — one actor per room id (see doc/meetings.md): the registry,
 * the room's queue and plumbing, and the statements. The commands
 * themselves are in meeting_cmds.c.
 *
 * A command reads what its decision needs (or starts from what the room
 * kept of the meeting), decides with meeting_fsm.c, writes with a statement
 * conditioned on what it decided on, answers, then publishes. A condition
 * that no longer holds (another command or node changed the meeting in
 * between) makes the command read and decide again, at most MAX_ATTEMPTS
 * times after fresh reads. Joins, admits, rejects and reads of one room run
 * side by side (pump), so PostgreSQL commits them together; every other
 * command runs alone, in arrival order. A room with nothing to do for
 * meeting_idle_timeout leaves the registry and memory (on_idle); the
 * meeting itself lives on in PostgreSQL. Each step is a continuation:
 * mt_query() names the function that receives the result. Joins written
 * together (group commit) are in meeting_batch.c.
 */
#include "actors/meetings_int.h"

#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/lobby.h"
#include "actors/room_tokens.h"
#include "runtime/config.h"
#include "runtime/log.h"
#include "runtime/nats.h"
#include "runtime/offload.h"
#include "wire/http.h"
#include "wire/proto.h"

int S_READ, S_READ_COUNTS, S_JOIN_GUEST, S_CREATE, S_ADHOC_JOIN, S_JOIN, S_LEAVE, S_END, S_DELETE,
        S_UPDATE, S_LIST_STATUS, S_SET_STATUS, S_ADMIT_ALL, S_LIST, S_JOIN_GUESTS, S_ADHOC_JOINS;

static void meeting_free(vc_actor_t *a);

/* --- the registry: room id → actor ----------------------------------------- */

/* The actor of a room id: its queue of commands, the commands running, what
 * it keeps of the meeting between commands, and its place in the registry. */
struct room {
	vc_actor_t actor;
	char *room_id; /* NULL: a one-shot actor (LIST, CREATE with a generated id) */
	vc_meeting_cmd_msg_t *queue_head, *queue_tail;
	unsigned running;   /* commands started and not finished */
	bool running_alone; /* the one running may not overlap others */
	bool pumping;
	/* The meeting (never a caller) as a finished command left it,
	 * confirmed by a read or a write: join, admit and reject may start
	 * from it instead of reading (doc/meetings.md). */
	bool known;
	facts_t kept;
	/* Retirement (see on_idle): commands sent through the registry
	 * (counted under its shard lock) and received by the actor. */
	uint64_t sent, received;
	uint64_t idle_since_ms;
	vc_timer_t idle_timer;
	/* Guest joins gathering in a statement that waits for a connection
	 * (mt_join_guest, meeting_batch.c). */
	struct joins *joins;
	uint64_t hash; /* room_hash(room_id) */
	room_t *reg_next;
};

/* Each shard a hash table of chains, grown as rooms come: a busy hour
 * keeps hundreds of thousands of rooms for meeting_idle_timeout, and a
 * list per shard made every command of a new room walk thousands of them
 * (strcmp was a fifth of vcd's CPU in the ad-hoc benchmark). */
static struct shard {
	pthread_mutex_t mu;
	room_t **buckets; /* nbuckets chains (a power of two), by room_hash */
	size_t nbuckets, count;
} registry[REGISTRY_SHARDS];

static _Atomic int64_t live_actors; /* room actors: room_new → meeting_free */

static uint64_t room_hash(const char *room_id)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a: placement only, not security */

	for (const char *p = room_id; *p; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ull;
	return h;
}

/* --- replies and rows -------------------------------------------------------- */

void mt_row_free(vc_meeting_row_t *r)
{
	free(r->room_id);
	free(r->state);
	free(r->creator_id);
	free(r->host_display_name);
	free(r->admission);
	free(r->access_level);
	free(r->configuration);
	free(r->embed_provider);
}

void mt_prow_free(vc_participant_row_t *p)
{
	free(p->user_id);
	free(p->display_name);
	free(p->status);
}

static void reply_destroy(vc_msg_t *msg)
{
	vc_meeting_reply_t *r = (vc_meeting_reply_t *)msg;

	mt_row_free(&r->meeting);
	mt_prow_free(&r->participant);
	for (size_t i = 0; i < r->nlist; i++)
		mt_prow_free(&r->list[i]);
	free(r->list);
	for (size_t i = 0; i < r->nmeetings; i++)
		mt_row_free(&r->meetings[i]);
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
	free(c->access_level);
	free(c->embed_provider);
	json_decref(c->configuration);
	if (c->reply_to != NULL)
		vc_actor_unref(c->reply_to);
	free(c);
}

char *mt_dup_value(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : vc_strdup(PQgetvalue(res, row, col));
}

int64_t mt_int_value(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? 0 : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

bool mt_bool_value(const PGresult *res, int row, int col)
{
	return !PQgetisnull(res, row, col) && PQgetvalue(res, row, col)[0] == 't';
}

/* user_id, display_name, status, is_host, joined ms, admitted ms from col. */
void mt_read_prow(const PGresult *res, int row, int col, vc_participant_row_t *p)
{
	p->user_id = mt_dup_value(res, row, col);
	p->display_name = mt_dup_value(res, row, col + 1);
	p->status = mt_dup_value(res, row, col + 2);
	p->is_host = mt_bool_value(res, row, col + 3);
	p->joined_ms = mt_int_value(res, row, col + 4);
	p->admitted_ms = mt_int_value(res, row, col + 5);
}

void mt_copy_prow(vc_participant_row_t *to, const vc_participant_row_t *from)
{
	mt_prow_free(to);
	*to = *from;
	to->user_id = from->user_id ? vc_strdup(from->user_id) : NULL;
	to->display_name = from->display_name ? vc_strdup(from->display_name) : NULL;
	to->status = from->status ? vc_strdup(from->status) : NULL;
}

void mt_copy_row(vc_meeting_row_t *to, const vc_meeting_row_t *from)
{
	mt_row_free(to);
	*to = *from;
	to->room_id = from->room_id ? vc_strdup(from->room_id) : NULL;
	to->state = from->state ? vc_strdup(from->state) : NULL;
	to->creator_id = from->creator_id ? vc_strdup(from->creator_id) : NULL;
	to->host_display_name = from->host_display_name ? vc_strdup(from->host_display_name) : NULL;
	to->admission = from->admission ? vc_strdup(from->admission) : NULL;
	to->access_level = from->access_level ? vc_strdup(from->access_level) : NULL;
	to->configuration = from->configuration ? vc_strdup(from->configuration) : NULL;
	to->embed_provider = from->embed_provider ? vc_strdup(from->embed_provider) : NULL;
}

void mt_facts_free(facts_t *f)
{
	free(f->id);
	mt_row_free(&f->row);
	mt_prow_free(&f->caller);
	if (f->password_hash != NULL)
		sodium_memzero(f->password_hash, strlen(f->password_hash));
	free(f->password_hash);
	json_decref(f->attendees);
	free(f->role);
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
	vc_lobby_system_event(room_id, b.data, b.len); /* NATS does not echo it to us */
	free(b.data);
}

/* After the events: what the meeting's live media sessions must undergo
 * (on every node; doc/lobby.md "Meetings act on live sessions"). */
static void act_on_media(const char *room_id, enum vc_meeting_cmd cmd, enum vc_meeting_event ev,
                         const char *target)
{
	if (ev == VC_EV_MEETING_ENDED)
		vc_lobby_end(room_id);
	else if (ev == VC_EV_PARTICIPANT_REJECTED && target != NULL)
		vc_lobby_kick(room_id, target, "rejected");
	else if (ev == VC_EV_PARTICIPANT_LEFT && cmd == VC_MC_KICK && target != NULL)
		vc_lobby_kick(room_id, target, "removed from the meeting");
}

void mt_event_later(meeting_t *m, enum vc_meeting_event ev, const char *target)
{
	m->events = vc_realloc(m->events, (m->nevents + 1) * sizeof(*m->events));
	m->events[m->nevents].ev = ev;
	m->events[m->nevents].target = target ? vc_strdup(target) : NULL;
	m->nevents++;
}

const char *mt_room_of(meeting_t *m)
{
	return m->f.row.room_id ? m->f.row.room_id : m->cur->room_id;
}

/* --- the command's end: answer, publish, next -------------------------------- */

/* Commands after which m->f tells the meeting as it is: they read it or
 * confirmed it by their write, and change no meeting column the write did
 * not report back. After any other command the room forgets it. */
static const bool keeps_facts[VC_MC_COUNT] = {
	[VC_MC_INFO] = true,    [VC_MC_STATUS] = true, [VC_MC_PARTICIPANTS] = true,
	[VC_MC_WAITING] = true, [VC_MC_JOIN] = true,   [VC_MC_ADMIT] = true,
	[VC_MC_REJECT] = true,
};

static void forget(room_t *rm)
{
	rm->known = false;
	mt_facts_free(&rm->kept);
}

/* Hand m's facts to the room, unless the room already has newer ones
 * (commands overlap: the last to finish is not always the newest). */
static void keep_or_forget(meeting_t *m, enum vc_meeting_error err)
{
	room_t *rm = m->room;
	facts_t *f = &m->f;

	if (err != VC_MERR_OK || !f->found || !keeps_facts[m->cur->cmd] || m->cur->as_admin) {
		forget(rm);
		mt_facts_free(f);
		return;
	}
	if (rm->known && strtoll(rm->kept.version, NULL, 10) > strtoll(f->version, NULL, 10)) {
		mt_facts_free(f);
		return;
	}
	forget(rm);
	mt_prow_free(&f->caller); /* the next command has its own caller */
	memset(&f->caller, 0, sizeof(f->caller));
	f->has_row = false;
	free(f->role); /* per caller: never kept */
	f->role = NULL;
	rm->kept = *f;
	rm->known = true;
	memset(f, 0, sizeof(*f));
}

static void run_end(meeting_t *m);

void mt_finish(meeting_t *m, enum vc_meeting_error err)
{
	vc_meeting_cmd_msg_t *c = m->cur;
	vc_meeting_reply_t *r = m->reply;

	r->error = err;
	vc_actor_send(c->reply_to, &r->msg);
	m->reply = NULL;
	for (size_t i = 0; i < m->nevents; i++) {
		if (err == VC_MERR_OK) {
			publish(mt_room_of(m), m->events[i].ev, m->events[i].target);
			act_on_media(mt_room_of(m), c->cmd, m->events[i].ev, m->events[i].target);
		}
		free(m->events[i].target);
	}
	if (err == VC_MERR_OK && c->cmd == VC_MC_DELETE) /* deleted: its sessions end too */
		vc_lobby_end(mt_room_of(m));
	if (err == VC_MERR_OK && c->cmd == VC_MC_LEAVE) /* its embed credentials go */
		vc_lobby_embed_forget(mt_room_of(m), c->caller_id);
	if (err == VC_MERR_OK && c->cmd == VC_MC_UPDATE && c->set_embed_provider &&
	    c->embed_provider == NULL) /* the provider is off: every session's go */
		vc_lobby_embed_forget(mt_room_of(m), NULL);
	free(m->events);
	m->events = NULL;
	m->nevents = 0;
	keep_or_forget(m, err);
	run_end(m);
}

void mt_finish_internal(meeting_t *m, const char *why)
{
	log_error("meeting '%s': %s", m->cur->room_id ? m->cur->room_id : "-", why);
	m->reply->detail = vc_strdup(why);
	mt_finish(m, VC_MERR_INTERNAL);
}

/* A conditional write found the meeting changed by someone else: again. */
void mt_retry(meeting_t *m)
{
	if (++m->attempts >= MAX_ATTEMPTS) {
		mt_finish_internal(m, "the meeting kept changing under the command");
		return;
	}
	mt_refresh(m);
}

void mt_refresh(meeting_t *m)
{
	forget(m->room);
	m->from_cache = false;
	m->refreshed = true;
	for (size_t i = 0; i < m->nevents; i++)
		free(m->events[i].target);
	m->nevents = 0;
	mt_run(m); /* it drops m->f and reads */
}

void mt_query(meeting_t *m, int stmt, int n, const char *const *params, cont_fn cont)
{
	m->cont = cont;
	m->row = 0;
	vc_pg_query(stmt, n, params, &m->room->actor, M_DB, m);
}

vc_actor_t *mt_room_actor(room_t *rm)
{
	return &rm->actor;
}

struct joins **mt_room_joins(room_t *rm)
{
	return &rm->joins;
}

static int on_db(vc_actor_t *self, vc_msg_t *msg)
{
	vc_pg_result_t *r = (vc_pg_result_t *)msg;
	meeting_t *m = r->cookie;
	cont_fn cont = m->cont;

	m->cont = NULL;
	if (r->status == VC_PG_UNAVAILABLE)
		mt_finish(m, VC_MERR_UNAVAILABLE);
	else if (r->status == VC_PG_ERROR)
		mt_finish_internal(m, PQresultErrorField(r->res, PG_DIAG_MESSAGE_PRIMARY));
	else
		cont(m, r);
	return VC_MSG_DONE;
}

/* --- password work off the loop ----------------------------------------------- */

struct pw_job {
	vc_offload_job_t job;
	char *password, *stored;
	char hash[VC_PASSWORD_HASH_MAX];
	enum vc_pw_result result;
	meeting_t *m;
	void (*cont)(meeting_t *m, struct pw_job *j);
};

enum vc_pw_result mt_pw_result(const pw_job_t *j)
{
	return j->result;
}

const char *mt_pw_hash(const pw_job_t *j)
{
	return j->hash;
}

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
void mt_password_work(meeting_t *m, const char *password, const char *stored,
                      void (*cont)(meeting_t *m, pw_job_t *j))
{
	pw_job_t *j = vc_msg_new(sizeof(*j), M_PW);

	j->job.msg.destroy = pw_destroy;
	j->job.fn = pw_work;
	j->password = vc_strdup(password);
	j->stored = stored ? vc_strdup(stored) : NULL;
	j->cont = cont;
	j->m = m;
	if (vc_offload_submit(&j->job, &m->room->actor) != 0) {
		pw_destroy(&j->job.msg);
		mt_finish(m, VC_MERR_UNAVAILABLE);
	}
}

static int on_pw(vc_actor_t *self, vc_msg_t *msg)
{
	pw_job_t *j = (pw_job_t *)msg;

	j->cont(j->m, j);
	return VC_MSG_DONE;
}

/* --- reading a meeting and the caller's row (S_READ) ---------------------------- */

static void read_facts(meeting_t *m, const PGresult *res)
{
	facts_t *f = &m->f;
	vc_meeting_row_t *r = &f->row;

	mt_facts_free(f);
	if (PQntuples(res) != 1)
		return;
	f->found = true;
	f->id = mt_dup_value(res, 0, 0);
	r->room_id = mt_dup_value(res, 0, 1);
	r->state = mt_dup_value(res, 0, 2);
	r->creator_id = mt_dup_value(res, 0, 3);
	r->host_display_name = mt_dup_value(res, 0, 4);
	r->admission = mt_dup_value(res, 0, 5);
	f->password_hash = mt_dup_value(res, 0, 6);
	r->has_password = f->password_hash != NULL;
	r->waiting_room = mt_bool_value(res, 0, 7);
	r->started_ms = mt_int_value(res, 0, 8);
	r->ended_ms = mt_int_value(res, 0, 9);
	r->created_ms = mt_int_value(res, 0, 10);
	r->participant_count = mt_int_value(res, 0, 11);
	r->waiting_count = mt_int_value(res, 0, 12);
	f->has_row = !PQgetisnull(res, 0, 13);
	if (f->has_row)
		mt_read_prow(res, 0, 13, &f->caller);
	f->attendees = json_loads(PQgetvalue(res, 0, 19), 0, NULL);
	snprintf(f->version, sizeof(f->version), "%s", PQgetvalue(res, 0, 20));
	r->access_level = mt_dup_value(res, 0, 21);
	r->configuration = mt_dup_value(res, 0, 22);
	r->embed_provider = mt_dup_value(res, 0, 23);
	f->role = mt_dup_value(res, 0, 24);
}

/* S_ADHOC_JOIN's meeting columns of row m->row from col: a meeting just
 * created, so no password, no attendees and no participant counts. */
void mt_read_meeting(meeting_t *m, const PGresult *res, int col)
{
	facts_t *f = &m->f;
	vc_meeting_row_t *r = &f->row;
	int row = m->row;

	mt_facts_free(f);
	f->found = true;
	f->id = mt_dup_value(res, row, col);
	r->room_id = mt_dup_value(res, row, col + 1);
	r->state = mt_dup_value(res, row, col + 2);
	r->creator_id = mt_dup_value(res, row, col + 3);
	r->host_display_name = mt_dup_value(res, row, col + 4);
	r->admission = mt_dup_value(res, row, col + 5);
	r->waiting_room = mt_bool_value(res, row, col + 6);
	r->started_ms = mt_int_value(res, row, col + 7);
	r->ended_ms = mt_int_value(res, row, col + 8);
	r->created_ms = mt_int_value(res, row, col + 9);
	snprintf(f->version, sizeof(f->version), "%s", PQgetvalue(res, row, col + 10));
	r->access_level = mt_dup_value(res, row, col + 11);
	r->configuration = mt_dup_value(res, row, col + 12);
	r->embed_provider = mt_dup_value(res, row, col + 13);
	f->attendees = json_array();
}

static void read_done(meeting_t *m, vc_pg_result_t *r)
{
	read_facts(m, r->res);
	mt_copy_row(&m->reply->meeting, &m->f.row);
	if (m->f.has_row) {
		m->reply->has_participant = true;
		mt_copy_prow(&m->reply->participant, &m->f.caller);
	}
	m->after_read(m);
}

/* Commands whose answer (or decision) uses the participant counts. */
static const bool needs_counts[VC_MC_COUNT] = {
	[VC_MC_INFO] = true,
	[VC_MC_END] = true,
	[VC_MC_UPDATE] = true,
	[VC_MC_LEAVE] = true,
};

void mt_read_then(meeting_t *m, next_fn next)
{
	const char *params[2] = { m->cur->room_id, m->cur->caller_id };

	m->after_read = next;
	mt_query(m, needs_counts[m->cur->cmd] ? S_READ_COUNTS : S_READ, 2, params, read_done);
}

bool mt_is_owner(const meeting_t *m)
{
	if (m->cur->as_admin)
		return true;
	return m->f.row.creator_id != NULL && strcmp(m->f.row.creator_id, m->cur->caller_id) == 0;
}

bool mt_is_host(const meeting_t *m)
{
	return m->cur->as_admin ||
	       (m->f.has_row && m->f.caller.is_host && strcmp(m->f.caller.status, "admitted") == 0);
}

/* The host moderates; so does an admitted administrator of the meeting
 * (vcd, doc/external.md); with admission = participants, anyone admitted. */
bool mt_can_moderate(const meeting_t *m)
{
	const facts_t *f = &m->f;

	if (m->cur->as_admin)
		return true;
	if (!f->has_row || strcmp(f->caller.status, "admitted") != 0)
		return false;
	return f->caller.is_host || strcmp(f->row.admission, "participants") == 0 ||
	       vc_room_role_parse(f->role) == VC_RR_ADMINISTRATOR;
}

/* Statuses from which `ev` applies, as a PostgreSQL text[] literal. */
void mt_allowed_from(enum vc_pevent ev, char *out, size_t len)
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

/* The commands that may start from kept facts, and how. */
static const next_fn on_known_of[VC_MC_COUNT] = {
	[VC_MC_JOIN] = join_known,
	[VC_MC_ADMIT] = action_known,
	[VC_MC_REJECT] = action_known,
};

/* Deep copy of the meeting's facts (no caller row). */
static void copy_facts(facts_t *to, const facts_t *from)
{
	mt_facts_free(to);
	to->found = from->found;
	to->id = from->id ? vc_strdup(from->id) : NULL;
	memcpy(to->version, from->version, sizeof(to->version));
	mt_copy_row(&to->row, &from->row);
	to->password_hash = from->password_hash ? vc_strdup(from->password_hash) : NULL;
	to->attendees = json_incref(from->attendees); /* the room's worker only */
}

void mt_run(meeting_t *m)
{
	enum vc_meeting_cmd cmd = m->cur->cmd;
	room_t *rm = m->room;

	if (cmd == VC_MC_CREATE) {
		cmd_create(m);
	} else if (cmd == VC_MC_LIST) {
		cmd_list(m);
	} else if (rm->known && on_known_of[cmd] != NULL && !m->cur->as_admin) {
		m->from_cache = true;
		copy_facts(&m->f, &rm->kept);
		mt_copy_row(&m->reply->meeting, &m->f.row);
		on_known_of[cmd](m);
	} else if (cmd == VC_MC_JOIN && !rm->known && m->attempts == 0 && !m->refreshed &&
	           !m->cur->as_admin) {
		mt_facts_free(&m->f);
		join_unknown(m);
	} else {
		mt_facts_free(&m->f);
		mt_read_then(m, after_read_of[cmd]);
	}
}

/* --- the room: which commands run, retirement ------------------------------- */

/*
 * Commands that may run beside each other on one meeting. Each decides on
 * its own facts and writes with a statement conditioned on them, so they
 * stay right when another one commits in between (as they do against
 * another node); running them together lets PostgreSQL commit them
 * together. The others (end, leave, update, delete, kick, admit-all,
 * create, and anything the operator does) run alone, in arrival order.
 */
static const bool may_overlap[VC_MC_COUNT] = {
	[VC_MC_JOIN] = true,         [VC_MC_ADMIT] = true, [VC_MC_REJECT] = true,
	[VC_MC_STATUS] = true,       [VC_MC_INFO] = true,  [VC_MC_WAITING] = true,
	[VC_MC_PARTICIPANTS] = true,
};

static bool overlaps(const vc_meeting_cmd_msg_t *c)
{
	return may_overlap[c->cmd] && !c->as_admin;
}

static void start(room_t *rm, vc_meeting_cmd_msg_t *c)
{
	meeting_t *m = vc_calloc(1, sizeof(*m));
	vc_meeting_reply_t *r = vc_msg_new(sizeof(*r), VC_HTTP_MSG_REPLY);

	r->msg.destroy = reply_destroy;
	r->cmd = c->cmd;
	if (c->_generated)
		r->generated_id = vc_strdup(c->room_id);
	m->room = rm;
	m->cur = c;
	m->reply = r;
	rm->running++;
	rm->running_alone = !overlaps(c);
	mt_run(m);
}

static void idle_begin(room_t *rm);

/* Start what the queue allows: the head alone when it may not overlap,
 * else overlapping commands up to MAX_RUNNING, in arrival order. Commands
 * finishing inside start() come back here and return at once. */
static void pump(room_t *rm)
{
	if (rm->pumping)
		return;
	rm->pumping = true;
	while (rm->queue_head != NULL) {
		vc_meeting_cmd_msg_t *c = rm->queue_head;
		if (rm->running > 0 &&
		    (rm->running_alone || !overlaps(c) || rm->running >= MAX_RUNNING))
			break;
		rm->queue_head = c->_next;
		if (rm->queue_head == NULL)
			rm->queue_tail = NULL;
		start(rm, c);
	}
	rm->pumping = false;
	if (rm->running > 0 || rm->queue_head != NULL)
		return;
	if (rm->room_id == NULL)
		vc_actor_unref(&rm->actor); /* a one-shot actor is done */
	else
		idle_begin(rm);
}

static void run_end(meeting_t *m)
{
	room_t *rm = m->room;

	mt_facts_free(&m->f);
	vc_msg_destroy(&m->cur->msg);
	free(m);
	if (--rm->running == 0)
		rm->running_alone = false;
	pump(rm);
}

static int on_cmd(vc_actor_t *self, vc_msg_t *msg)
{
	room_t *rm = self->state;
	vc_meeting_cmd_msg_t *c = (vc_meeting_cmd_msg_t *)msg;

	rm->received++;
	c->_next = NULL;
	if (rm->queue_tail != NULL)
		rm->queue_tail->_next = c;
	else
		rm->queue_head = c;
	rm->queue_tail = c;
	pump(rm);
	return VC_MSG_KEPT;
}

static struct shard *shard_of(uint64_t h)
{
	return &registry[h % REGISTRY_SHARDS];
}

/* The chain of hash h in its shard (the shard's bits are the low ones). */
static room_t **bucket_of(struct shard *s, uint64_t h)
{
	return &s->buckets[(h / REGISTRY_SHARDS) & (s->nbuckets - 1)];
}

/* Under the shard's lock: room rm in, the table doubled when full. */
static void shard_add(struct shard *s, room_t *rm)
{
	room_t **b;

	if (s->count >= s->nbuckets) {
		size_t old = s->nbuckets;
		room_t **was = s->buckets;
		s->nbuckets = old ? old * 2 : 64;
		s->buckets = vc_calloc(s->nbuckets, sizeof(*s->buckets));
		for (size_t i = 0; i < old; i++)
			while (was[i] != NULL) {
				room_t *r = was[i];
				was[i] = r->reg_next;
				b = bucket_of(s, r->hash);
				r->reg_next = *b;
				*b = r;
			}
		free(was);
	}
	b = bucket_of(s, rm->hash);
	rm->reg_next = *b;
	*b = rm;
	s->count++;
}

/* Under the shard's lock: room rm out; false if it was not in. */
static bool shard_remove(struct shard *s, room_t *rm)
{
	if (s->nbuckets == 0)
		return false;
	for (room_t **pp = bucket_of(s, rm->hash); *pp != NULL; pp = &(*pp)->reg_next)
		if (*pp == rm) {
			*pp = rm->reg_next;
			s->count--;
			return true;
		}
	return false;
}

static void idle_arm(room_t *rm, double after)
{
	vc_timer_start(&rm->idle_timer, &rm->actor, vc_msg_new(sizeof(vc_msg_t), M_IDLE), after);
}

/* The room has nothing to do: note when, and make sure a timer looks later. */
static void idle_begin(room_t *rm)
{
	rm->idle_since_ms = vc_now_ms();
	if (!vc_timer_active(&rm->idle_timer))
		idle_arm(rm, vc_config_get()->meeting_idle_timeout);
}

/*
 * Unlink the actor from the registry when no command is running, queued or
 * on its way. Commands are sent under the shard lock and counted there
 * (rm->sent), so holding the lock, sent == received means none is in the
 * mailbox and none can reach this actor any more: the next one creates a
 * new actor. A command in flight re-arms the timer when it ends.
 */
static int on_idle(vc_actor_t *self, vc_msg_t *msg)
{
	room_t *rm = self->state;
	double timeout = vc_config_get()->meeting_idle_timeout;
	uint64_t idle_ms = vc_now_ms() - rm->idle_since_ms;
	struct shard *s = shard_of(rm->hash);
	bool retired = false;

	if (rm->running > 0 || rm->queue_head != NULL)
		return VC_MSG_DONE;
	if ((double)idle_ms < timeout * 1000.0) {
		idle_arm(rm, timeout - (double)idle_ms / 1000.0); /* busy meanwhile */
		return VC_MSG_DONE;
	}
	pthread_mutex_lock(&s->mu);
	if (rm->sent == rm->received)
		retired = shard_remove(s, rm);
	pthread_mutex_unlock(&s->mu);
	if (retired)
		vc_actor_unref(&rm->actor); /* the registry's reference */
	return VC_MSG_DONE;
}

static const vc_handler_fn meeting_handlers[M_COUNT] = {
	[M_CMD] = on_cmd,          [M_DB] = on_db, [M_JOINS] = mt_on_joins,
	[M_ADHOCS] = mt_on_adhocs, [M_PW] = on_pw, [M_IDLE] = on_idle,
};

static const vc_behaviour_t meeting_behaviour = {
	.name = "meeting",
	.handlers = meeting_handlers,
	.nhandlers = M_COUNT,
	.free = meeting_free,
};

static void meeting_free(vc_actor_t *a)
{
	room_t *rm = a->state;

	while (rm->queue_head != NULL) { /* only at shutdown */
		vc_meeting_cmd_msg_t *c = rm->queue_head;
		rm->queue_head = c->_next;
		vc_msg_destroy(&c->msg);
	}
	forget(rm);
	if (rm->room_id != NULL)
		atomic_fetch_sub_explicit(&live_actors, 1, memory_order_relaxed);
	free(rm->room_id);
	free(rm);
}

int64_t vc_meetings_live_actors(void)
{
	return atomic_load_explicit(&live_actors, memory_order_relaxed);
}

static room_t *room_new(const char *room_id, vc_worker_t *home)
{
	room_t *rm = vc_calloc(1, sizeof(*rm));

	if (room_id != NULL)
		atomic_fetch_add_explicit(&live_actors, 1, memory_order_relaxed);
	rm->room_id = room_id ? vc_strdup(room_id) : NULL;
	vc_actor_init(&rm->actor, &meeting_behaviour, home, rm);
	return rm;
}

/* The actor of room_id, created on its home worker on first use. */
static void send_to_room(vc_meeting_cmd_msg_t *c)
{
	uint64_t h = room_hash(c->room_id);
	struct shard *s = shard_of(h);
	room_t *rm = NULL;

	pthread_mutex_lock(&s->mu);
	if (s->nbuckets > 0)
		for (rm = *bucket_of(s, h); rm != NULL; rm = rm->reg_next)
			if (rm->hash == h && strcmp(rm->room_id, c->room_id) == 0)
				break;
	if (rm == NULL) {
		rm = room_new(c->room_id, vc_runtime_place(h));
		rm->hash = h;
		shard_add(s, rm); /* the registry keeps the first reference */
	}
	rm->sent++;
	vc_actor_send(&rm->actor, &c->msg);
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
		room_t *rm = room_new(NULL, w ? w : vc_runtime_worker(0));
		vc_actor_send(&rm->actor, &c->msg);
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
		for (size_t b = 0; b < s->nbuckets; b++)
			for (room_t **pp = &s->buckets[b]; *pp != NULL;) {
				room_t *rm = *pp;
				if (rm->actor.home == w) {
					*pp = rm->reg_next;
					s->count--;
					vc_timer_cancel(&rm->idle_timer); /* it holds a reference */
					vc_actor_unref(&rm->actor);
				} else {
					pp = &rm->reg_next;
				}
			}
		pthread_mutex_unlock(&s->mu);
	}
}

/* --- statements ------------------------------------------------------------------------ */

/* S_READ's columns 21-24: vcd's meeting columns and the caller's role. */
#define READ_EXT                                                                                   \
	" m.access_level, m.configuration::text, m.embed_provider,"                                \
	" (SELECT r.role FROM meeting_roles r WHERE r.meeting_id = m.id AND r.user_id = $2)"

/* What a join's write reports back after the participant row (columns 6-11). */
#define JOIN_BACK                                                                                  \
	" m.version, m.host_display_name, m.admission, m.configuration::text, m.embed_provider,"   \
	" (SELECT r.role FROM meeting_roles r WHERE r.meeting_id = m.id AND r.user_id = "          \
	"p.user_id)"

/* A join that skips the waiting room for its role ($12) finds the role ($5). */
#define ROLE_HOLDS                                                                                 \
	" AND (NOT $12 OR EXISTS (SELECT 1 FROM meeting_roles r"                                   \
	"  WHERE r.meeting_id = $1 AND r.user_id = $5))"

#define PROW "user_id, display_name, status, is_host, vcd_ms(joined_at), vcd_ms(admitted_at)"

/* The caller's row as a join writes it, from the meeting row(s) in m; only
 * over a row whose status is still $10 (NULL: none). */
#define JOIN_UPSERT                                                                                \
	"INSERT INTO meeting_participants"                                                         \
	" (meeting_id, user_id, status, is_host, display_name, admitted_at)"                       \
	" SELECT id, $5, $6, $7, $8, CASE WHEN $9 THEN now() END FROM m"                           \
	" ON CONFLICT (meeting_id, user_id) DO UPDATE SET status = EXCLUDED.status,"               \
	" is_host = meeting_participants.is_host OR EXCLUDED.is_host, left_at = NULL,"             \
	" display_name = COALESCE(EXCLUDED.display_name, meeting_participants.display_name),"      \
	" admitted_at = CASE WHEN $9 THEN now() ELSE meeting_participants.admitted_at END"         \
	" WHERE meeting_participants.status IS NOT DISTINCT FROM $10::text"                        \
	" RETURNING " PROW

void vc_meetings_init(void)
{
	for (int i = 0; i < REGISTRY_SHARDS; i++)
		pthread_mutex_init(&registry[i].mu, NULL);
	/* The counts cost a scan of the participants: only the answers that show
	 * them (info, end, update) and leave's decision read them. */
	S_READ_COUNTS = vc_pg_statement(
	        "meeting_read_counts",
	        "SELECT m.id, m.room_id, m.state, m.creator_id, m.host_display_name, m.admission,"
	        " m.password_hash, m.waiting_room_enabled, vcd_ms(m.started_at), "
	        "vcd_ms(m.ended_at),"
	        " vcd_ms(m.created_at),"
	        " (SELECT count(*) FROM meeting_participants p"
	        "  WHERE p.meeting_id = m.id AND p.status = 'admitted'),"
	        " (SELECT count(*) FROM meeting_participants p"
	        "  WHERE p.meeting_id = m.id AND p.status = 'waiting'),"
	        " c.user_id, c.display_name, c.status, c.is_host, vcd_ms(c.joined_at),"
	        " vcd_ms(c.admitted_at), m.attendees::text, m.version," READ_EXT
	        " FROM meetings m LEFT JOIN meeting_participants c"
	        " ON c.meeting_id = m.id AND c.user_id = $2"
	        " WHERE m.room_id = $1 AND m.deleted_at IS NULL",
	        2);
	S_READ = vc_pg_statement(
	        "meeting_read",
	        "SELECT m.id, m.room_id, m.state, m.creator_id, m.host_display_name, m.admission,"
	        " m.password_hash, m.waiting_room_enabled, vcd_ms(m.started_at), "
	        "vcd_ms(m.ended_at),"
	        " vcd_ms(m.created_at), 0, 0,"
	        " c.user_id, c.display_name, c.status, c.is_host, vcd_ms(c.joined_at),"
	        " vcd_ms(c.admitted_at), m.attendees::text, m.version," READ_EXT
	        " FROM meetings m LEFT JOIN meeting_participants c"
	        " ON c.meeting_id = m.id AND c.user_id = $2"
	        " WHERE m.room_id = $1 AND m.deleted_at IS NULL",
	        2);
	S_CREATE = vc_pg_statement(
	        "meeting_create",
	        "INSERT INTO meetings (room_id, creator_id, password_hash, attendees,"
	        " waiting_room_enabled, admission, access_level, configuration, embed_provider)"
	        " VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, COALESCE($8::jsonb, '{}'), $9)"
	        " ON CONFLICT (room_id) WHERE deleted_at IS NULL DO NOTHING"
	        " RETURNING vcd_ms(created_at), vcd_ms(started_at)",
	        9);
	/* An ad-hoc meeting and its host's row at once; no row when another
	 * node created the room first. */
	S_ADHOC_JOIN = vc_pg_statement(
	        "meeting_adhoc_join",
	        "WITH m AS (INSERT INTO meetings (room_id, creator_id, state, host_display_name)"
	        "  VALUES ($1, $2, $3, $4)"
	        "  ON CONFLICT (room_id) WHERE deleted_at IS NULL DO NOTHING"
	        "  RETURNING id, room_id, state, creator_id, host_display_name, admission,"
	        "  waiting_room_enabled, vcd_ms(started_at), vcd_ms(ended_at), vcd_ms(created_at),"
	        "  version, access_level, configuration::text, embed_provider),"
	        " p AS (INSERT INTO meeting_participants"
	        "  (meeting_id, user_id, status, is_host, display_name, admitted_at)"
	        "  SELECT id, $2, $5, true, $4, CASE WHEN $6 THEN now() END FROM m"
	        "  RETURNING " PROW ")"
	        " SELECT m.*, p.* FROM m, p",
	        6);
	/* S_ADHOC_JOIN for the rooms of several callers ($4: [{r, c, d}] of
	 * room id, caller, display name; $1, $5, $6 of S_ADHOC_JOIN in $1-$3),
	 * S_ADHOC_JOIN's columns per room created; a room that exists, or
	 * named twice, gets no row (mt_adhoc_join). */
	S_ADHOC_JOINS = vc_pg_statement(
	        "meeting_adhoc_joins",
	        "WITH m AS (INSERT INTO meetings (room_id, creator_id, state, host_display_name)"
	        "  SELECT DISTINCT ON (j.r) j.r, j.c, $1::text, j.d"
	        "  FROM jsonb_to_recordset($4::jsonb) AS j(r text, c text, d text)"
	        "  ON CONFLICT (room_id) WHERE deleted_at IS NULL DO NOTHING"
	        "  RETURNING id, room_id, state, creator_id, host_display_name, admission,"
	        "  waiting_room_enabled, vcd_ms(started_at), vcd_ms(ended_at), vcd_ms(created_at),"
	        "  version, access_level, configuration::text, embed_provider),"
	        " p AS (INSERT INTO meeting_participants"
	        "  (meeting_id, user_id, status, is_host, display_name, admitted_at)"
	        "  SELECT id, creator_id, $2::text, true, host_display_name,"
	        "  CASE WHEN $3::boolean THEN now() END FROM m"
	        "  RETURNING " PROW ", meeting_id)"
	        " SELECT m.*, p.* FROM m JOIN p ON p.meeting_id = m.id",
	        4);
	/* The meeting row is the lock: the write applies only to a live meeting
	 * and a caller's row as the decision saw them ($2, $4, $10). It reports
	 * back the meeting columns the decision did not depend on. */
	S_JOIN = vc_pg_statement(
	        "meeting_join",
	        "WITH m AS (UPDATE meetings SET state = $3,"
	        "  host_display_name = CASE WHEN $7 AND $8::text IS NOT NULL THEN $8"
	        "  ELSE host_display_name END"
	        "  WHERE id = $1 AND state = $2 AND waiting_room_enabled = $4"
	        "  AND access_level IS NOT DISTINCT FROM $11::text" ROLE_HOLDS
	        "  AND deleted_at IS NULL AND (SELECT status FROM meeting_participants"
	        "   WHERE meeting_id = $1 AND user_id = $5) IS NOT DISTINCT FROM $10::text"
	        "  RETURNING id, version, host_display_name, admission, configuration,"
	        "  embed_provider),"
	        " p AS (" JOIN_UPSERT ")"
	        " SELECT p.*," JOIN_BACK " FROM p, m",
	        12);
	/* A guest changes no meeting field: a share lock keeps PATCH and the host's
	 * state change out while it writes, without rewriting the meeting row. */
	S_JOIN_GUEST = vc_pg_statement(
	        "meeting_join_guest",
	        "WITH m AS (SELECT id, version, host_display_name, admission, configuration,"
	        "  embed_provider FROM meetings"
	        "  WHERE id = $1 AND state = $2 AND state = $3 AND waiting_room_enabled = $4"
	        "  AND access_level IS NOT DISTINCT FROM $11::text" ROLE_HOLDS
	        "  AND NOT $7 AND deleted_at IS NULL FOR SHARE),"
	        " p AS (" JOIN_UPSERT ")"
	        " SELECT p.*," JOIN_BACK " FROM p, m",
	        12);
	/* S_JOIN_GUEST for several callers with no row ($4: [{u, s, d, a}] of
	 * user id, status, display name, admitted now); a caller with a row,
	 * or named twice, gets no row back (mt_join_guest). */
	S_JOIN_GUESTS = vc_pg_statement(
	        "meeting_join_guests",
	        "WITH m AS (SELECT id, version, host_display_name, admission, configuration,"
	        "  embed_provider FROM meetings"
	        "  WHERE id = $1 AND state = $2 AND waiting_room_enabled = $3"
	        "  AND access_level IS NOT DISTINCT FROM $5::text"
	        "  AND deleted_at IS NULL FOR SHARE),"
	        " p AS (INSERT INTO meeting_participants"
	        "  (meeting_id, user_id, status, is_host, display_name, admitted_at)"
	        "  SELECT m.id, j.u, j.s, false, j.d, CASE WHEN j.a THEN now() END"
	        "  FROM m, jsonb_to_recordset($4::jsonb)"
	        "   AS j(u text, s text, d text, a boolean, r boolean)"
	        "  WHERE NOT j.r OR EXISTS (SELECT 1 FROM meeting_roles x"
	        "   WHERE x.meeting_id = m.id AND x.user_id = j.u)"
	        "  ON CONFLICT (meeting_id, user_id) DO NOTHING RETURNING " PROW ")"
	        " SELECT p.*," JOIN_BACK " FROM p, m",
	        5);
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
	/* A function: its second statement must see joins committed meanwhile
	 * (sql/003_meetings.sql, vcd_meeting_update). */
	S_UPDATE = vc_pg_statement("meeting_update",
	                           "SELECT vcd_meeting_update($1::bigint, $2::boolean, $3,"
	                           " $4::boolean, $5, $6::jsonb, $7::boolean, $8)",
	                           8);
	S_LIST_STATUS = vc_pg_statement("meeting_list_status",
	                                "SELECT " PROW " FROM meeting_participants"
	                                " WHERE meeting_id = $1 AND status = $2"
	                                " ORDER BY joined_at, id",
	                                2);
	/* Admit, reject, kick ($2 the target): only in a live meeting and when
	 * the caller ($6; NULL: the operator) may moderate it now — the host,
	 * or any admitted participant under admission = participants unless
	 * $7 (kick). Always one row: the target's new row (NULL when nothing
	 * changed), then whether the meeting is live and the caller may. */
	S_SET_STATUS = vc_pg_statement(
	        "meeting_set_status",
	        "WITH g AS (SELECT mt.id IS NOT NULL AS live,"
	        "  ($6::text IS NULL OR COALESCE((SELECT h.status = 'admitted'"
	        "   AND (h.is_host OR (NOT $7 AND (mt.admission = 'participants'"
	        "   OR EXISTS (SELECT 1 FROM meeting_roles a WHERE a.meeting_id = $1"
	        "    AND a.user_id = $6 AND a.role = 'administrator'))))"
	        "   FROM meeting_participants h WHERE h.meeting_id = $1 AND h.user_id = $6),"
	        "   false)) AS may"
	        "  FROM (SELECT 1) one LEFT JOIN meetings mt"
	        "  ON mt.id = $1 AND mt.deleted_at IS NULL),"
	        " u AS (UPDATE meeting_participants SET status = $3,"
	        "  admitted_at = CASE WHEN $4 THEN now() ELSE admitted_at END,"
	        "  left_at = CASE WHEN $3 = 'left' THEN now() ELSE left_at END"
	        "  WHERE meeting_id = $1 AND user_id = $2 AND status = ANY($5::text[])"
	        "  AND NOT (is_host AND $3 = 'left') AND (SELECT live AND may FROM g)"
	        "  RETURNING " PROW ")"
	        " SELECT u.*, g.live, g.may FROM g LEFT JOIN u ON true",
	        7);
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
	        " vcd_ms(l.ended_at), l.admitted, l.waiting, l.access_level,"
	        " l.configuration::text, l.embed_provider"
	        " FROM t LEFT JOIN LATERAL (SELECT m.*,"
	        "  (SELECT count(*) FROM meeting_participants p"
	        "   WHERE p.meeting_id = m.id AND p.status = 'admitted') AS admitted,"
	        "  (SELECT count(*) FROM meeting_participants p"
	        "   WHERE p.meeting_id = m.id AND p.status = 'waiting') AS waiting"
	        "  FROM meetings m WHERE m.creator_id = $1 AND m.deleted_at IS NULL"
	        "  ORDER BY m.created_at DESC, m.id DESC LIMIT $2 OFFSET $3) l ON true",
	        3);
}
