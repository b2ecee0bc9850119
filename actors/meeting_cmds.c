/*
 * meeting_cmds.c — the commands of the meeting actor, each a short chain of
 * steps: read (mt_read_then), decide (meeting_fsm.c), write with a statement
 * conditioned on what was read, answer (mt_finish). The error order of
 * videocall-rs-contract.md §2.2 holds inside: 404, then 403, then the
 * business errors.
 */
#include "actors/meetings_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/room_tokens.h"
#include "runtime/config.h"
#include "runtime/log.h"

/* --- create and read ---------------------------------------------------------- */

static void create_done(meeting_t *m, vc_pg_result_t *r)
{
	vc_meeting_cmd_msg_t *c = m->cur;
	vc_meeting_row_t *row = &m->reply->meeting;

	if (PQntuples(r->res) != 1) {
		mt_finish(m, VC_MERR_MEETING_EXISTS);
		return;
	}
	mt_row_free(row);
	row->room_id = vc_strdup(c->room_id);
	row->state = vc_strdup("idle");
	row->creator_id = vc_strdup(c->caller_id);
	row->admission = vc_strdup(c->admission ? c->admission : "host");
	row->has_password = c->password != NULL && c->password[0] != '\0';
	row->waiting_room = c->waiting_room != 0;
	row->created_ms = mt_int_value(r->res, 0, 0);
	row->started_ms = mt_int_value(r->res, 0, 1);
	row->access_level = c->access_level ? vc_strdup(c->access_level) : NULL;
	row->configuration = c->configuration
	                             ? json_dumps(c->configuration, JSON_COMPACT | JSON_SORT_KEYS)
	                             : NULL;
	row->embed_provider = c->embed_provider ? vc_strdup(c->embed_provider) : NULL;
	mt_finish(m, VC_MERR_OK);
}

static void create_insert(meeting_t *m, const char *hash)
{
	vc_meeting_cmd_msg_t *c = m->cur;
	char *attendees = c->attendees ? json_dumps(c->attendees, JSON_COMPACT) : NULL;
	char *config = c->configuration ? json_dumps(c->configuration, JSON_COMPACT) : NULL;
	const char *params[9] = { c->room_id,
		                  c->caller_id,
		                  hash,
		                  attendees ? attendees : "[]",
		                  c->waiting_room == 0 ? "false" : "true",
		                  c->admission ? c->admission : "host",
		                  c->access_level,
		                  config,
		                  c->embed_provider };

	mt_query(m, S_CREATE, 9, params, create_done);
	free(attendees);
	free(config);
}

static void create_hashed(meeting_t *m, pw_job_t *j)
{
	if (mt_pw_hash(j)[0] == '\0')
		mt_finish_internal(m, "could not hash the meeting password");
	else
		create_insert(m, mt_pw_hash(j));
}

void cmd_create(meeting_t *m)
{
	const char *pw = m->cur->password;

	if (pw != NULL && pw[0] != '\0')
		mt_password_work(m, pw, NULL, create_hashed);
	else
		create_insert(m, NULL);
}

void info_read(meeting_t *m)
{
	mt_finish(m, m->f.found ? VC_MERR_OK : VC_MERR_MEETING_NOT_FOUND);
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

/* A room token for the caller, with its grants (doc/external.md): its
 * role (owner, or the role read or written with the join), the meeting's
 * configured sources and embed provider. False (answered) when none can
 * be made. */
static bool room_token(meeting_t *m, bool is_host, const char *display)
{
	const vc_config_t *cfg = vc_config_get();
	const facts_t *f = &m->f;
	json_t *conf = f->row.configuration ? json_loads(f->row.configuration, 0, NULL) : NULL;
	vc_room_grants_t g = {
		.role = mt_is_owner(m) ? "owner" : vc_room_role_name(vc_room_role_parse(f->role)),
		.sources = json_object_get(conf, "can_publish_sources"),
		.embed_provider = f->row.embed_provider,
	};

	m->reply->room_token =
	        vc_room_token_granted(cfg->jwt_secret, m->cur->caller_id, mt_room_of(m), is_host,
	                              display, (int64_t)(vc_wall_ms() / 1000),
	                              (int64_t)cfg->token_ttl, &g);
	json_decref(conf);
	if (m->reply->room_token != NULL)
		return true;
	mt_finish_internal(m, "cannot issue room tokens: jwt_secret is not set");
	return false;
}

static bool observer_token(meeting_t *m, const char *display)
{
	m->reply->observer_token =
	        vc_observer_token(vc_config_get()->jwt_secret, m->cur->caller_id, mt_room_of(m),
	                          display, (int64_t)(vc_wall_ms() / 1000));
	if (m->reply->observer_token != NULL)
		return true;
	mt_finish_internal(m, "cannot issue observer tokens: jwt_secret is not set");
	return false;
}

/* A write that matched nothing: kept facts were stale (read and decide
 * again), or a fresh read was overtaken by another node (start over). */
static void overtaken(meeting_t *m)
{
	if (m->from_cache)
		mt_refresh(m);
	else
		mt_retry(m);
}

/* The join's answer from the written participant row (at pcol), and what
 * the actor now knows of the meeting. */
static void join_answer(meeting_t *m, const PGresult *res, int pcol)
{
	vc_meeting_cmd_msg_t *c = m->cur;
	vc_join_plan_t *p = &m->plan;
	vc_meeting_reply_t *rep = m->reply;
	vc_meeting_row_t *known = &m->f.row;

	mt_prow_free(&rep->participant);
	mt_read_prow(res, m->row, pcol, &rep->participant);
	rep->has_participant = true;
	free(known->state);
	known->state = vc_strdup(vc_mstate_name(p->meeting.to));
	if (p->is_host && c->display_name != NULL) {
		free(known->host_display_name);
		known->host_display_name = vc_strdup(c->display_name);
	}
	mt_copy_row(&rep->meeting, known);
	if (p->room_token && !room_token(m, p->is_host, c->display_name))
		return;
	if (p->observer_token && !observer_token(m, c->display_name))
		return;
	if (p->meeting.effects & VC_MEFF_ACTIVATED)
		mt_event_later(m, VC_EV_MEETING_ACTIVATED, NULL);
	if (p->waiting_room_updated)
		mt_event_later(m, VC_EV_WAITING_ROOM_UPDATED, NULL);
	mt_finish(m, VC_MERR_OK);
}

/* S_JOIN, S_JOIN_GUEST and S_JOIN_GUESTS: the participant row (at m->row),
 * then the meeting's version, host display name, admission, configuration
 * and embed provider as they are now, and the caller's role (the token's
 * grants come from these, not from what was read or kept). */
static void join_written(meeting_t *m, vc_pg_result_t *r)
{
	facts_t *f = &m->f;
	int row = m->row;

	if (row < 0 || row >= PQntuples(r->res)) {
		overtaken(m);
		return;
	}
	snprintf(f->version, sizeof(f->version), "%s", PQgetvalue(r->res, row, 6));
	free(f->row.host_display_name);
	f->row.host_display_name = mt_dup_value(r->res, row, 7);
	free(f->row.admission);
	f->row.admission = mt_dup_value(r->res, row, 8);
	free(f->row.configuration);
	f->row.configuration = mt_dup_value(r->res, row, 9);
	free(f->row.embed_provider);
	f->row.embed_provider = mt_dup_value(r->res, row, 10);
	free(f->role);
	f->role = mt_dup_value(r->res, row, 11);
	join_answer(m, r->res, 0);
}

static void join_decide(meeting_t *m)
{
	vc_meeting_cmd_msg_t *c = m->cur;
	facts_t *f = &m->f;
	vc_join_facts_t facts = {
		.state = vc_mstate_parse(f->row.state),
		.is_owner = mt_is_owner(m),
		.status = f->has_row ? vc_pstatus_parse(f->caller.status) : VC_PS_NONE,
		.waiting_room = f->row.waiting_room,
		.is_attendee = listed_attendee(m),
		.has_password = f->row.has_password,
		.password_ok = m->password_ok,
		.access_level = vc_access_level_parse(f->row.access_level),
		.role = vc_room_role_parse(f->role),
	};
	vc_join_plan_t *p = &m->plan;

	*p = vc_join_decide(&facts);
	if (m->from_cache && (p->error != VC_JOIN_OK || p->waiting_for_meeting)) {
		mt_refresh(m); /* nothing to write: only a fresh read may answer */
		return;
	}
	if (p->error == VC_JOIN_INVALID_PASSWORD) {
		mt_finish(m, VC_MERR_INVALID_PASSWORD);
		return;
	}
	if (p->waiting_for_meeting) { /* nothing is written; built from the request alone */
		vc_participant_row_t *w = &m->reply->participant;
		mt_prow_free(w);
		memset(w, 0, sizeof(*w)); /* no admitted_at or is_host from an old row */
		w->user_id = vc_strdup(c->caller_id);
		w->display_name = c->display_name ? vc_strdup(c->display_name) : NULL;
		w->status = vc_strdup("waiting_for_meeting");
		w->joined_ms = (int64_t)vc_wall_ms();
		m->reply->has_participant = true;
		if (observer_token(m, c->display_name))
			mt_finish(m, VC_MERR_OK);
		return;
	}
	/* the write holds only while the access level is the one decided on
	 * ($11), and the role when it let the caller in ($12) */
	const char *params[12] = {
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
		f->row.access_level,
		p->by_role ? "true" : "false",
	};
	/* the host (or a state change) rewrites the meeting row; a guest only
	 * locks it, maybe with other guests' joins (mt_join_guest) */
	if (p->is_host || p->meeting.to != facts.state)
		mt_query(m, S_JOIN, 12, params, join_written);
	else
		mt_join_guest(m, params, join_written, join_decide);
}

static void join_checked(meeting_t *m, pw_job_t *j)
{
	m->password_ok = mt_pw_result(j) == VC_PW_OK || mt_pw_result(j) == VC_PW_OK_REHASH;
	join_decide(m);
}

/* S_ADHOC_JOIN(S): the new meeting (columns 0-13) and the host's row, at
 * m->row. No row: another node or command created the room first; join it
 * as it is. */
static void adhoc_joined(meeting_t *m, vc_pg_result_t *r)
{
	if (m->row < 0 || m->row >= PQntuples(r->res)) {
		mt_read_then(m, join_read);
		return;
	}
	mt_read_meeting(m, r->res, 0);
	join_answer(m, r->res, 14);
}

/* No live meeting with this room id: the caller creates it and joins as
 * its host, in one statement, as the state machine plans it for a room
 * with the table's defaults (waiting room on, no password, no attendees). */
static void adhoc_join(meeting_t *m)
{
	vc_meeting_cmd_msg_t *c = m->cur;
	const vc_join_facts_t facts = {
		.state = VC_MS_NONE, .is_owner = true, .status = VC_PS_NONE, .waiting_room = true
	};
	vc_join_plan_t *p = &m->plan;

	*p = vc_join_decide(&facts);
	const char *params[6] = {
		c->room_id,
		c->caller_id,
		vc_mstate_name(p->meeting.to),
		c->display_name,
		vc_pstatus_name(p->status),
		p->admitted_now ? "true" : "false",
	};
	mt_adhoc_join(m, params, adhoc_joined, adhoc_join);
}

void join_read(meeting_t *m)
{
	vc_meeting_cmd_msg_t *c = m->cur;

	m->password_ok = false;
	if (!m->f.found) {
		if (m->attempts++ >= MAX_ATTEMPTS) {
			mt_finish_internal(m, "the ad-hoc meeting vanished while being created");
			return;
		}
		adhoc_join(m);
		return;
	}
	if (m->f.row.has_password && !mt_is_owner(m) && c->password != NULL && c->password[0])
		mt_password_work(m, c->password, m->f.password_hash, join_checked);
	else
		join_decide(m);
}

/* Join on a room the actor knows nothing of: most such joins create it
 * (ad-hoc), so try that first; a room that exists makes the insert match
 * nothing and the join reads it. */
void join_unknown(meeting_t *m)
{
	m->password_ok = false;
	m->attempts++;
	adhoc_join(m);
}

/* Join on kept facts: the caller's row is unknown, so the write expects
 * none (a re-join finds one, matches nothing and reads). A password is
 * always checked against a fresh read; so is a restricted meeting's role
 * (per caller, never kept). */
void join_known(meeting_t *m)
{
	m->password_ok = false;
	if (m->f.row.has_password ||
	    vc_access_level_parse(m->f.row.access_level) == VC_AL_RESTRICTED)
		mt_refresh(m);
	else
		join_decide(m);
}

/* --- status, leave, end, delete, update ---------------------------------------- */

void status_read(meeting_t *m)
{
	facts_t *f = &m->f;

	if (!f->found)
		mt_finish(m, VC_MERR_MEETING_NOT_FOUND);
	else if (vc_mstate_parse(f->row.state) == VC_MS_ENDED)
		mt_finish(m, VC_MERR_MEETING_NOT_ACTIVE);
	else if (!f->has_row)
		mt_finish(m, VC_MERR_NOT_IN_MEETING);
	else if (strcmp(f->caller.status, "admitted") != 0 ||
	         room_token(m, f->caller.is_host, f->caller.display_name))
		mt_finish(m, VC_MERR_OK);
}

static void leave_written(meeting_t *m, vc_pg_result_t *r)
{
	vc_meeting_reply_t *rep = m->reply;

	if (PQntuples(r->res) != 1) {
		mt_finish(m, VC_MERR_NOT_IN_MEETING);
		return;
	}
	mt_prow_free(&rep->participant);
	mt_read_prow(r->res, 0, 0, &rep->participant);
	rep->has_participant = true;
	if (mt_int_value(r->res, 0, 6) > 0) { /* the meeting ended with it */
		free(rep->meeting.state);
		rep->meeting.state = vc_strdup("ended");
		mt_event_later(m, VC_EV_MEETING_ENDED, NULL);
	}
	mt_finish(m, VC_MERR_OK);
}

void leave_read(meeting_t *m)
{
	facts_t *f = &m->f;
	enum vc_pstatus to;
	bool adm, ends;
	int64_t others;
	char allowed[64];

	if (!f->found) {
		mt_finish(m, VC_MERR_MEETING_NOT_FOUND);
		return;
	}
	if (!f->has_row ||
	    !vc_participant_next(vc_pstatus_parse(f->caller.status), VC_PE_LEAVE, &to, &adm)) {
		mt_finish(m, VC_MERR_NOT_IN_MEETING);
		return;
	}
	/* The owner leaving ends it; so does the last admitted participant. */
	others = f->row.participant_count - (strcmp(f->caller.status, "admitted") == 0 ? 1 : 0);
	ends = mt_is_owner(m) || others <= 0;
	mt_allowed_from(VC_PE_LEAVE, allowed, sizeof(allowed));
	const char *params[4] = { f->id, m->cur->caller_id, ends ? "true" : "false", allowed };
	mt_query(m, S_LEAVE, 4, params, leave_written);
}

static void end_written(meeting_t *m, vc_pg_result_t *r)
{
	if (PQntuples(r->res) != 1) {
		mt_retry(m);
		return;
	}
	free(m->reply->meeting.state);
	m->reply->meeting.state = vc_strdup("ended");
	m->reply->meeting.ended_ms = mt_int_value(r->res, 0, 0);
	mt_event_later(m, VC_EV_MEETING_ENDED, NULL);
	mt_finish(m, VC_MERR_OK);
}

void end_read(meeting_t *m)
{
	vc_mstep_t step;
	const char *params[1] = { m->f.id };

	if (!m->f.found)
		mt_finish(m, VC_MERR_MEETING_NOT_FOUND);
	else if (!mt_is_owner(m))
		mt_finish(m, VC_MERR_NOT_OWNER);
	else if (!vc_meeting_next(vc_mstate_parse(m->f.row.state), VC_ME_END, &step) ||
	         !(step.effects & VC_MEFF_ENDED))
		mt_finish(m, VC_MERR_OK); /* already ended: as it is */
	else
		mt_query(m, S_END, 1, params, end_written);
}

static void delete_written(meeting_t *m, vc_pg_result_t *r)
{
	mt_finish(m,
	          strcmp(PQcmdTuples(r->res), "1") == 0 ? VC_MERR_OK : VC_MERR_MEETING_NOT_FOUND);
}

void delete_read(meeting_t *m)
{
	const char *params[1] = { m->f.id };

	if (!m->f.found)
		mt_finish(m, VC_MERR_MEETING_NOT_FOUND);
	else if (!mt_is_owner(m))
		mt_finish(m, VC_MERR_NOT_OWNER);
	else
		mt_query(m, S_DELETE, 1, params, delete_written);
}

static void update_reread(meeting_t *m)
{
	mt_finish(m, m->f.found ? VC_MERR_OK : VC_MERR_MEETING_NOT_FOUND);
}

static void update_written(meeting_t *m, vc_pg_result_t *r)
{
	mt_read_then(m, update_reread);
}

void update_read(meeting_t *m)
{
	vc_meeting_cmd_msg_t *c = m->cur;
	const char *wr = c->waiting_room < 0 ? NULL : c->waiting_room ? "true" : "false";
	char *config = c->configuration ? json_dumps(c->configuration, JSON_COMPACT) : NULL;
	const char *params[8] = { m->f.id,
		                  wr,
		                  c->admission,
		                  c->set_access_level ? "true" : "false",
		                  c->access_level,
		                  config,
		                  c->set_embed_provider ? "true" : "false",
		                  c->embed_provider };

	if (!m->f.found)
		mt_finish(m, VC_MERR_MEETING_NOT_FOUND);
	else if (!mt_is_owner(m))
		mt_finish(m, VC_MERR_NOT_OWNER);
	else if (wr == NULL && c->admission == NULL && !c->set_access_level && config == NULL &&
	         !c->set_embed_provider)
		mt_finish(m, VC_MERR_OK);
	else
		mt_query(m, S_UPDATE, 8, params, update_written);
	free(config);
}

/* --- lists and host actions ------------------------------------------------------- */

static void list_rows(meeting_t *m, vc_pg_result_t *r)
{
	vc_meeting_reply_t *rep = m->reply;
	int n = PQntuples(r->res);

	rep->list = vc_calloc((size_t)n, sizeof(*rep->list));
	rep->nlist = (size_t)n;
	for (int i = 0; i < n; i++)
		mt_read_prow(r->res, i, 0, &rep->list[i]);
	mt_finish(m, VC_MERR_OK);
}

static void list_status(meeting_t *m, const char *status)
{
	const char *params[2] = { m->f.id, status };

	mt_query(m, S_LIST_STATUS, 2, params, list_rows);
}

void participants_read(meeting_t *m)
{
	if (!m->f.found)
		mt_finish(m, VC_MERR_MEETING_NOT_FOUND);
	else if (!m->f.has_row)
		mt_finish(m, VC_MERR_NOT_IN_MEETING);
	else
		list_status(m, "admitted");
}

void waiting_read(meeting_t *m)
{
	if (!m->f.found)
		mt_finish(m, VC_MERR_MEETING_NOT_FOUND);
	else if (!mt_can_moderate(m))
		mt_finish(m, VC_MERR_NOT_HOST);
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

/* S_SET_STATUS: the statement itself says why nothing changed. On kept
 * facts, a read decides the answer (its error order is the contract's). */
static void action_written(meeting_t *m, vc_pg_result_t *r)
{
	vc_meeting_reply_t *rep = m->reply;
	const PGresult *res = r->res;

	if (PQntuples(res) != 1) {
		mt_finish_internal(m, "meeting_set_status answered no row");
		return;
	}
	if (PQgetisnull(res, 0, 0)) {
		if (m->from_cache)
			mt_refresh(m);
		else if (!mt_bool_value(res, 0, 6))
			mt_finish(m, VC_MERR_MEETING_NOT_FOUND); /* deleted meanwhile */
		else if (!mt_bool_value(res, 0, 7))
			mt_finish(m, VC_MERR_NOT_HOST); /* lost the right meanwhile */
		else
			mt_finish(m, VC_MERR_PARTICIPANT_NOT_FOUND);
		return;
	}
	mt_prow_free(&rep->participant);
	mt_read_prow(res, 0, 0, &rep->participant);
	rep->has_participant = true;
	mt_event_later(m, host_actions[m->cur->cmd].published, rep->participant.user_id);
	mt_finish(m, VC_MERR_OK);
}

/* The write of admit, reject or kick. The statement checks again that the
 * meeting is live and that the caller may do it, with what is true when it
 * runs: so it is also the whole command on kept facts. */
void action_known(meeting_t *m)
{
	vc_meeting_cmd_msg_t *c = m->cur;
	const struct host_action *a = &host_actions[c->cmd];
	enum vc_pstatus to = VC_PS_NONE;
	bool adm = false;
	char allowed[64];

	for (enum vc_pstatus s = VC_PS_WAITING; s < VC_PS_COUNT && to == VC_PS_NONE; s++)
		if (!vc_participant_next(s, a->ev, &to, &adm))
			to = VC_PS_NONE;
	mt_allowed_from(a->ev, allowed, sizeof(allowed));
	const char *params[7] = {
		m->f.id,
		c->target_user_id,
		vc_pstatus_name(to),
		adm ? "true" : "false",
		allowed,
		c->as_admin ? NULL : c->caller_id,
		c->cmd == VC_MC_KICK ? "true" : "false",
	};
	mt_query(m, S_SET_STATUS, 7, params, action_written);
}

void action_read(meeting_t *m)
{
	if (!m->f.found) {
		mt_finish(m, VC_MERR_MEETING_NOT_FOUND);
		return;
	}
	/* kick is the host's alone; admit and reject follow `admission` */
	if (m->cur->cmd == VC_MC_KICK ? !mt_is_host(m) : !mt_can_moderate(m)) {
		mt_finish(m, VC_MERR_NOT_HOST);
		return;
	}
	action_known(m);
}

static void admit_all_written(meeting_t *m, vc_pg_result_t *r)
{
	int n = PQntuples(r->res);

	for (int i = 0; i < n; i++)
		mt_event_later(m, VC_EV_PARTICIPANT_ADMITTED, PQgetvalue(r->res, i, 0));
	list_rows(m, r);
}

void admit_all_read(meeting_t *m)
{
	const char *params[1] = { m->f.id };

	if (!m->f.found)
		mt_finish(m, VC_MERR_MEETING_NOT_FOUND);
	else if (!mt_can_moderate(m))
		mt_finish(m, VC_MERR_NOT_HOST);
	else
		mt_query(m, S_ADMIT_ALL, 1, params, admit_all_written);
}

static void list_done(meeting_t *m, vc_pg_result_t *r)
{
	vc_meeting_reply_t *rep = m->reply;
	int n = PQntuples(r->res);

	rep->total = n > 0 ? mt_int_value(r->res, 0, 0) : 0;
	rep->meetings = vc_calloc((size_t)n, sizeof(*rep->meetings));
	for (int i = 0; i < n; i++) {
		vc_meeting_row_t *row;
		if (PQgetisnull(r->res, i, 1))
			continue; /* the count row of an empty page */
		row = &rep->meetings[rep->nmeetings++];
		row->room_id = mt_dup_value(r->res, i, 1);
		row->state = mt_dup_value(r->res, i, 2);
		row->creator_id = mt_dup_value(r->res, i, 3);
		row->has_password = mt_bool_value(r->res, i, 4);
		row->waiting_room = mt_bool_value(r->res, i, 5);
		row->created_ms = mt_int_value(r->res, i, 6);
		row->started_ms = mt_int_value(r->res, i, 7);
		row->ended_ms = mt_int_value(r->res, i, 8);
		row->participant_count = mt_int_value(r->res, i, 9);
		row->waiting_count = mt_int_value(r->res, i, 10);
		row->access_level = mt_dup_value(r->res, i, 11);
		row->configuration = mt_dup_value(r->res, i, 12);
		row->embed_provider = mt_dup_value(r->res, i, 13);
	}
	mt_finish(m, VC_MERR_OK);
}

void cmd_list(meeting_t *m)
{
	char limit[24], offset[24];
	const char *params[3] = { m->cur->caller_id, limit, offset };

	snprintf(limit, sizeof(limit), "%lld", (long long)m->cur->limit);
	snprintf(offset, sizeof(offset), "%lld", (long long)m->cur->offset);
	mt_query(m, S_LIST, 3, params, list_done);
}
