/*
 * signal.c — the /ws route and the session actor: one per connection, on
 * the worker of its socket (doc/signaling.md).
 *
 * A session handles its messages strictly in arrival order: each waits in
 * the session's queue until the one before it is done, and a message that
 * needs PostgreSQL or the hub (identify, join_server, server_users,
 * account_sync, voice_client_takeover, a shared-server check) keeps the
 * queue waiting until its answer. So an identify and a join_server sent in
 * one TCP segment are handled one after the other, as the original's
 * handleWebSocketMessage chain does.
 *
 *   NEW ──identify──▶ IDENTIFYING ──token good, attached──▶ READY
 *    ▲                    │ bad token (≤ 5 times)                │ closed,
 *    └────────────────────┘                                      ▼ revoked, replaced
 *                                                               GONE
 */
#include "actors/signal_int.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/config.h"
#include "runtime/log.h"
#include "runtime/pg.h"

const char *const vc_signal_refusal_names[VC_SIG_REFUSED_COUNT] = {
	[VC_SIG_REFUSED_AUTH] = "auth",     [VC_SIG_REFUSED_BAD] = "bad_message",
	[VC_SIG_REFUSED_RATE] = "rate",     [VC_SIG_REFUSED_SIZE] = "too_big",
	[VC_SIG_REFUSED_MEMBER] = "member", [VC_SIG_REFUSED_LIMIT] = "user_connections",
};

static int S_MEMBER, S_SHARED, S_SYNC_APPEND, S_TAKEOVER, S_CATCHUP;

enum session_state { SS_NEW, SS_IDENTIFYING, SS_READY, SS_GONE };

/* The step a session waits for (busy). */
enum step {
	STEP_NONE,
	STEP_TOKEN,    /* identify: the token's lookup */
	STEP_ATTACH,   /* identify: the hub's registration */
	STEP_CATCHUP,  /* identify: the log after lastSyncSeq */
	STEP_MEMBER,   /* join_server: membership */
	STEP_JOINED,   /* join_server, server_users: the hub's answer */
	STEP_SHARED,   /* a server-scoped relay: both members */
	STEP_SYNC,     /* account_sync: stored */
	STEP_TAKEOVER, /* voice_client_takeover: stored */
	STEP_RECHECK,  /* a revocation: the token again */
};

struct sig_session {
	vc_actor_t actor;
	vc_ws_t *ws; /* NULL once the socket is gone */
	uint8_t state, step;
	uint8_t identify_failures;
	uint16_t refusals; /* rate-limited messages in a row */
	uint64_t conn;     /* connection id, random */
	/* who, once identified */
	char *user_id, *display_name, *scope, *instance;
	int64_t db_session;
	uint8_t token_hash[32];
	/* the message waiting for its step, and those behind it */
	json_t *cur;
	enum vc_sig_type cur_type;
	vc_shared_t **queue;
	uint32_t qhead, qlen, qcap;
	/* identify's catch-up: live account_syncs wait until the log is out */
	int64_t last_sync; /* lastSyncSeq asked for, -1 none */
	/* the user's last seq when identify read the log: live account_syncs
	 * at or below it were committed before, so the client has them (in
	 * the catch-up) or starts after them (syncSeq). Live ones above it
	 * come once each but not in seq order (two senders, two nodes):
	 * nothing above it is dropped. */
	uint64_t delivered_seq;
	sig_deliver_msg_t **held;
	uint32_t nheld;
	/* rate */
	double tokens, refill_at;
	/* servers joined */
	char **servers;
	uint32_t nservers;
	vc_timer_t timer;
};

/* --- counters -------------------------------------------------------------- */

static _Atomic int64_t n_connections, n_identified;
static _Atomic uint64_t n_messages, n_syncs, n_takeovers;
static _Atomic uint64_t n_refused[VC_SIG_REFUSED_COUNT];

void vc_signal_stats(vc_signal_stats_t *out)
{
	memset(out, 0, sizeof(*out));
	out->connections = atomic_load(&n_connections);
	out->identified = atomic_load(&n_identified);
	out->messages = atomic_load(&n_messages);
	out->account_syncs = atomic_load(&n_syncs);
	out->takeovers = atomic_load(&n_takeovers);
	for (unsigned i = 0; i < VC_SIG_REFUSED_COUNT; i++)
		out->refused[i] = atomic_load(&n_refused[i]);
	sig_hub_stats(out);
}

/* --- sending --------------------------------------------------------------- */

vc_shared_t *sig_frame(enum vc_sig_type type, const json_t *body)
{
	char *text = vc_sig_encode(type, body);
	vc_shared_t *s = vc_shared_copy(text, strlen(text));

	free(text);
	vc_ws_frame_text(s);
	return s;
}

/* False when the connection is gone or closing (its queue is full). */
static bool send_frame(sig_session_t *s, vc_shared_t *f)
{
	return s->ws != NULL && vc_ws_send(s->ws, f, VC_WS_RELIABLE);
}

/* Send type with body (stolen); false as send_frame. */
static bool reply(sig_session_t *s, enum vc_sig_type type, json_t *body)
{
	vc_shared_t *f = sig_frame(type, body);
	bool sent = send_frame(s, f);

	vc_shared_unref(f);
	json_decref(body);
	return sent;
}

static void refuse(sig_session_t *s, enum vc_signal_refusal why, const char *code,
                   const char *message, const char *ref)
{
	atomic_fetch_add_explicit(&n_refused[why], 1, memory_order_relaxed);
	reply(s, VC_SIG_ERROR,
	      json_pack("{s:s,s:s,s:s?}", "code", code, "message", message, "ref", ref));
}

static void auth_error(sig_session_t *s, const char *message)
{
	atomic_fetch_add_explicit(&n_refused[VC_SIG_REFUSED_AUTH], 1, memory_order_relaxed);
	reply(s, VC_SIG_AUTH_ERROR, json_pack("{s:s}", "error", message));
}

/* --- the session's end ------------------------------------------------------- */

static void queue_clear(sig_session_t *s)
{
	for (uint32_t i = 0; i < s->qlen; i++)
		vc_shared_unref(s->queue[(s->qhead + i) % s->qcap]);
	s->qlen = 0;
	free(s->queue);
	s->queue = NULL;
	s->qcap = 0;
}

static void held_clear(sig_session_t *s)
{
	for (uint32_t i = 0; i < s->nheld; i++)
		vc_msg_destroy(&s->held[i]->msg);
	free(s->held);
	s->held = NULL;
	s->nheld = 0;
}

/* The session is over (its socket gone or being closed): out of its user
 * and servers, its actor stops. */
static void session_end(sig_session_t *s)
{
	if (s->state == SS_GONE)
		return;
	if (s->state == SS_READY || s->step == STEP_ATTACH) {
		sig_hub_msg_t *m = sig_hub_msg(H_DETACH, s->user_id);
		m->session = &s->actor;
		vc_actor_ref(&s->actor);
		m->conn = s->conn;
		sig_hub_send(m);
		for (uint32_t i = 0; i < s->nservers; i++) {
			m = sig_hub_msg(H_LEAVE, s->servers[i]);
			m->session = &s->actor;
			vc_actor_ref(&s->actor);
			m->conn = s->conn;
			m->user_id = vc_strdup(s->user_id);
			m->name = vc_strdup(s->display_name);
			sig_hub_send(m);
		}
		if (s->state == SS_READY)
			atomic_fetch_sub(&n_identified, 1);
	}
	s->state = SS_GONE;
	atomic_fetch_sub(&n_connections, 1);
	if (vc_timer_active(&s->timer))
		vc_timer_cancel(&s->timer);
	queue_clear(s);
	held_clear(s);
	json_decref(s->cur);
	s->cur = NULL;
	vc_actor_stop(&s->actor);
	vc_actor_unref(&s->actor); /* the socket's */
}

static void close_with(sig_session_t *s, int code, const char *reason)
{
	if (s->ws != NULL) {
		vc_ws_close(s->ws, code, reason);
		s->ws = NULL;
	}
	session_end(s);
}

/* --- the queue ------------------------------------------------------------------ */

static void process(sig_session_t *s);

static void enqueue(sig_session_t *s, vc_shared_t *msg)
{
	if (s->qlen == s->qcap) {
		uint32_t cap = s->qcap ? s->qcap * 2 : 8;
		vc_shared_t **q = vc_malloc(cap * sizeof(*q));
		for (uint32_t i = 0; i < s->qlen; i++)
			q[i] = s->queue[(s->qhead + i) % s->qcap];
		free(s->queue);
		s->queue = q;
		s->qcap = cap;
		s->qhead = 0;
	}
	s->queue[(s->qhead + s->qlen++) % s->qcap] = msg;
}

/* The step in progress is over: the next message may go. */
static void step_done(sig_session_t *s)
{
	s->step = STEP_NONE;
	json_decref(s->cur);
	s->cur = NULL;
	process(s);
}

/* --- identify ------------------------------------------------------------------- */

static char *member_copy(json_t *o, const char *name)
{
	const char *v = json_string_value(json_object_get(o, name));

	return v != NULL ? vc_strndup(v, vc_utf8_prefix(v, SIG_ID_MAX)) : NULL;
}

static void identify_failed(sig_session_t *s, const char *why)
{
	auth_error(s, why);
	s->state = SS_NEW;
	if (++s->identify_failures >= SIG_IDENTIFY_TRIES) {
		close_with(s, SIG_CLOSE_IDENTIFY_FAILED, "too many failed identify attempts");
		return;
	}
	step_done(s);
}

/* The token names a live session: check oderId, then attach to the user. */
static void identity_known(sig_session_t *s, vc_identity_t *id)
{
	const char *oder = json_string_value(json_object_get(s->cur, "oderId"));
	const char *name = json_string_value(json_object_get(s->cur, "displayName"));
	sig_hub_msg_t *m;

	if (oder != NULL && strcmp(oder, id->user_id) != 0) {
		vc_identity_free(id);
		identify_failed(s, "oderId is not the token's user");
		return;
	}
	s->user_id = vc_strdup(id->user_id);
	s->display_name = name != NULL && name[0] != '\0' ? member_copy(s->cur, "displayName")
	                                                  : vc_strdup(id->display_name);
	s->scope = member_copy(s->cur, "connectionScope");
	s->instance = member_copy(s->cur, "clientInstanceId");
	s->db_session = id->session_id;
	memcpy(s->token_hash, id->token_hash, 32);
	vc_identity_free(id);
	if (vc_timer_active(&s->timer))
		vc_timer_cancel(&s->timer);
	m = sig_hub_msg(H_ATTACH, s->user_id);
	m->session = &s->actor;
	vc_actor_ref(&s->actor);
	m->conn = s->conn;
	m->user_id = vc_strdup(s->user_id);
	m->name = vc_strdup(s->display_name);
	m->scope = s->scope ? vc_strdup(s->scope) : NULL;
	m->instance = s->instance ? vc_strdup(s->instance) : NULL;
	m->db_session = s->db_session; /* for revocations */
	memcpy(m->token_hash, s->token_hash, 32);
	s->step = STEP_ATTACH;
	sig_hub_send(m);
}

static void do_identify(sig_session_t *s)
{
	const char *token = json_string_value(json_object_get(s->cur, "token"));
	json_t *last = json_object_get(s->cur, "lastSyncSeq");
	vc_identity_t *id = NULL;

	if (s->state != SS_NEW) {
		refuse(s, VC_SIG_REFUSED_BAD, "bad_message", "already identified", "identify");
		step_done(s);
		return;
	}
	s->state = SS_IDENTIFYING;
	s->last_sync = json_is_integer(last) && json_integer_value(last) >= 0
	                       ? (int64_t)json_integer_value(last)
	                       : -1;
	switch (vc_auth_token_check(token, s->token_hash, &s->actor, S_PG, &id)) {
	case VC_AUTH_OK: identity_known(s, id); break;
	case VC_AUTH_PENDING: s->step = STEP_TOKEN; break;
	case VC_AUTH_UNAVAILABLE:
		auth_error(s, "Service unavailable, try again");
		s->state = SS_NEW;
		step_done(s);
		break;
	case VC_AUTH_BAD: identify_failed(s, "Invalid or expired session"); break;
	}
}

/* The hub has the session: say so, then catch up if asked. */
static void attached(sig_session_t *s, uint64_t sync_seq)
{
	char last[24];
	char keep[24];
	const char *params[3] = { s->user_id, last, keep };

	s->state = SS_READY;
	atomic_fetch_add(&n_identified, 1);
	snprintf(last, sizeof(last), "%" PRId64, s->last_sync >= 0 ? s->last_sync : INT64_MAX);
	snprintf(keep, sizeof(keep), "%u", vc_config_get()->account_sync_keep);
	log_info("signal: connection %" PRIx64 " identified as '%s' (%s)", s->conn, s->user_id,
	         s->instance ? s->instance : "no clientInstanceId");
	s->step = STEP_CATCHUP;
	vc_pg_query(S_CATCHUP, 3, params, &s->actor, S_PG, NULL);
	(void)sync_seq;
}

static void held_flush(sig_session_t *s);

/* A payload as PostgreSQL gives it back. jsonb writes numbers without an
 * exponent, so a real the client sent as 1e20 (which vcd stored as
 * 1e+20) comes back as an integer too big for jansson: then every number is
 * read as a real, rather than the whole payload becoming null. */
static json_t *stored_payload(const char *text)
{
	json_t *j = json_loads(text, JSON_DECODE_ANY, NULL);

	return j != NULL ? j : json_loads(text, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, NULL);
}

/* The log since lastSyncSeq (and the user's last seq, and the voice owner). */
static void catchup_done(sig_session_t *s, vc_pg_result_t *r)
{
	int64_t last = 0, oldest = 0;
	int rows = r->status == VC_PG_OK ? PQntuples(r->res) : 0;

	if (rows > 0) {
		last = strtoll(PQgetvalue(r->res, 0, 0), NULL, 10);
		oldest = strtoll(PQgetvalue(r->res, 0, 1), NULL, 10);
	}
	char conn[17];
	snprintf(conn, sizeof(conn), "%016" PRIx64, s->conn);
	reply(s, VC_SIG_IDENTIFIED,
	      json_pack("{s:s,s:s,s:s,s:I}", "oderId", s->user_id, "displayName", s->display_name,
	                "connectionId", conn, "syncSeq", (json_int_t)last));
	if (rows > 0 && !PQgetisnull(r->res, 0, 5)) { /* the voice owner, for the hub's cache */
		sig_hub_msg_t *m = sig_hub_msg(H_VOICE, s->user_id);
		m->instance = vc_strdup(PQgetvalue(r->res, 0, 5));
		m->generation = strtoll(PQgetvalue(r->res, 0, 6), NULL, 10);
		m->to = TO_OTHERS; /* quiet: only what the node believes */
		sig_hub_send(m);
	}
	s->delivered_seq = (uint64_t)last;
	if (s->last_sync >= 0 && s->last_sync < last) {
		if (oldest == 0 || oldest > s->last_sync + 1) { /* pruned: a snapshot instead */
			reply(s, VC_SIG_ACCOUNT_SYNC_RESET,
			      json_pack("{s:I,s:I}", "syncSeq", (json_int_t)last, "oldestSeq",
			                (json_int_t)oldest));
		} else {
			/* Until the queue overflows (4001): the rest would be
			 * parsed and encoded for nobody, on this worker's loop. */
			for (int i = 0; i < rows; i++) {
				if (PQgetisnull(r->res, i, 2))
					continue;
				json_t *payload = stored_payload(PQgetvalue(r->res, i, 4));
				if (!reply(s, VC_SIG_ACCOUNT_SYNC,
				           json_pack("{s:s,s:s,s:o,s:I}", "fromUserId", s->user_id,
				                     "clientInstanceId", PQgetvalue(r->res, i, 3),
				                     "payload", payload ? payload : json_null(),
				                     "seq",
				                     (json_int_t)strtoll(PQgetvalue(r->res, i, 2),
				                                         NULL, 10))))
					break;
			}
		}
	}
	s->last_sync = -1;
	held_flush(s);
	step_done(s);
}

/* --- servers ------------------------------------------------------------------------ */

static bool joined(const sig_session_t *s, const char *server)
{
	for (uint32_t i = 0; i < s->nservers; i++)
		if (strcmp(s->servers[i], server) == 0)
			return true;
	return false;
}

static void forget_server(sig_session_t *s, const char *server)
{
	for (uint32_t i = 0; i < s->nservers; i++)
		if (strcmp(s->servers[i], server) == 0) {
			free(s->servers[i]);
			s->servers[i] = s->servers[--s->nservers];
			return;
		}
}

/* A server id vcd made: a UUID (so PostgreSQL is never asked with junk). */
static bool uuid_ok(const char *id)
{
	static const char tmpl[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";

	if (strlen(id) != sizeof(tmpl) - 1)
		return false;
	for (size_t i = 0; i < sizeof(tmpl) - 1; i++)
		if (tmpl[i] == '-' ? id[i] != '-' : strchr("0123456789abcdefABCDEF", id[i]) == NULL)
			return false;
	return true;
}

static const char *server_of(sig_session_t *s)
{
	return json_string_value(json_object_get(s->cur, "serverId"));
}

static void do_join(sig_session_t *s)
{
	const char *server = server_of(s);
	const char *params[2] = { server, s->user_id };

	if (!uuid_ok(server)) {
		refuse(s, VC_SIG_REFUSED_MEMBER, "not_member", "not a member of that server",
		       "join_server");
		step_done(s);
		return;
	}
	s->step = STEP_MEMBER;
	vc_pg_query(S_MEMBER, 2, params, &s->actor, S_PG, NULL);
}

static void ask_users(sig_session_t *s, uint32_t type)
{
	sig_hub_msg_t *m = sig_hub_msg(type, server_of(s));

	m->session = &s->actor;
	vc_actor_ref(&s->actor);
	m->conn = s->conn;
	m->user_id = vc_strdup(s->user_id);
	m->name = vc_strdup(s->display_name);
	s->step = STEP_JOINED;
	sig_hub_send(m);
}

static void member_done(sig_session_t *s, vc_pg_result_t *r)
{
	if (r->status != VC_PG_OK) {
		refuse(s, VC_SIG_REFUSED_BAD, "unavailable",
		       "the database is unreachable, try again", "join_server");
		step_done(s);
		return;
	}
	if (PQntuples(r->res) != 1) {
		refuse(s, VC_SIG_REFUSED_MEMBER, "not_member", "not a member of that server",
		       "join_server");
		step_done(s);
		return;
	}
	if (!joined(s, server_of(s))) {
		s->servers = vc_realloc(s->servers, (s->nservers + 1) * sizeof(char *));
		s->servers[s->nservers++] = vc_strdup(server_of(s));
	}
	ask_users(s, H_JOIN);
}

static void do_leave(sig_session_t *s)
{
	const char *server = server_of(s);
	sig_hub_msg_t *m;

	if (!joined(s, server)) {
		refuse(s, VC_SIG_REFUSED_MEMBER, "not_joined", "that server was not joined",
		       "leave_server");
		step_done(s);
		return;
	}
	m = sig_hub_msg(H_LEAVE, server);
	m->session = &s->actor;
	vc_actor_ref(&s->actor);
	m->conn = s->conn;
	m->user_id = vc_strdup(s->user_id);
	m->name = vc_strdup(s->display_name);
	sig_hub_send(m);
	forget_server(s, server);
	step_done(s);
}

/* --- relays -------------------------------------------------------------------------- */

/* The message as it goes on: unchanged, with fromUserId. */
static vc_shared_t *relayed(sig_session_t *s)
{
	json_t *o = json_copy(s->cur);
	vc_shared_t *f;

	json_object_del(o, "type");
	json_object_set_new(o, "fromUserId", json_string(s->user_id));
	f = sig_frame(s->cur_type, o);
	json_decref(o);
	return f;
}

static void relay_to_user(sig_session_t *s, enum sig_to to)
{
	sig_hub_msg_t *m =
	        sig_hub_msg(H_TO_USER, json_string_value(json_object_get(s->cur, "targetUserId")));
	m->frame = relayed(s);
	m->to = to;
	m->conn = s->conn;
	sig_hub_send(m);
}

static void do_relay(sig_session_t *s)
{
	const char *name = vc_sig_row(s->cur_type)->name;
	const char *server = server_of(s);
	const char *params[3];
	sig_hub_msg_t *m;

	switch (vc_sig_row(s->cur_type)->relay) {
	case VC_RELAY_SERVER:
		if (!joined(s, server)) {
			refuse(s, VC_SIG_REFUSED_MEMBER, "not_joined", "that server was not joined",
			       name);
			break;
		}
		m = sig_hub_msg(H_TO_SERVER, server);
		m->frame = relayed(s);
		m->conn = s->conn;
		sig_hub_send(m);
		break;
	case VC_RELAY_VOICE: relay_to_user(s, TO_VOICE); break;
	case VC_RELAY_USER: relay_to_user(s, TO_ALL); break;
	case VC_RELAY_SHARED:
		if (!uuid_ok(server)) {
			refuse(s, VC_SIG_REFUSED_MEMBER, "not_member",
			       "sender and target do not share that server", name);
			break;
		}
		params[0] = server;
		params[1] = s->user_id;
		params[2] = json_string_value(json_object_get(s->cur, "targetUserId"));
		s->step = STEP_SHARED;
		vc_pg_query(S_SHARED, 3, params, &s->actor, S_PG, NULL);
		return;
	default: break;
	}
	step_done(s);
}

static void shared_done(sig_session_t *s, vc_pg_result_t *r)
{
	if (r->status == VC_PG_OK && PQntuples(r->res) == 1 &&
	    strcmp(PQgetvalue(r->res, 0, 0), "2") == 0)
		relay_to_user(s, TO_ALL);
	else
		refuse(s, VC_SIG_REFUSED_MEMBER, "not_member",
		       "sender and target do not share that server", vc_sig_row(s->cur_type)->name);
	step_done(s);
}

/* --- account_sync --------------------------------------------------------------------- */

static void do_sync(sig_session_t *s)
{
	char keep[24];
	char *payload =
	        json_dumps(json_object_get(s->cur, "payload"), JSON_COMPACT | JSON_ENCODE_ANY);
	const char *instance = json_string_value(json_object_get(s->cur, "clientInstanceId"));
	const char *params[4] = { s->user_id,
		                  instance ? instance : (s->instance ? s->instance : ""), payload,
		                  keep };

	if (strlen(params[1]) > SIG_ID_MAX) {
		free(payload);
		refuse(s, VC_SIG_REFUSED_BAD, "bad_message", "clientInstanceId over 200 bytes",
		       "account_sync");
		step_done(s);
		return;
	}
	snprintf(keep, sizeof(keep), "%u", vc_config_get()->account_sync_keep);
	s->step = STEP_SYNC;
	vc_pg_query(S_SYNC_APPEND, 4, params, &s->actor, S_PG, NULL);
	free(payload);
}

static void sync_done(sig_session_t *s, vc_pg_result_t *r)
{
	const char *instance = json_string_value(json_object_get(s->cur, "clientInstanceId"));
	json_t *out;
	sig_hub_msg_t *m;
	uint64_t seq;

	if (r->status != VC_PG_OK || PQntuples(r->res) != 1) {
		refuse(s, VC_SIG_REFUSED_BAD, "unavailable", "not stored, try again",
		       "account_sync");
		step_done(s);
		return;
	}
	seq = strtoull(PQgetvalue(r->res, 0, 0), NULL, 10);
	atomic_fetch_add_explicit(&n_syncs, 1, memory_order_relaxed);
	reply(s, VC_SIG_ACCOUNT_SYNC_ACK, json_pack("{s:I}", "seq", (json_int_t)seq));
	/* its own is never delivered back (the hub skips this connection) */
	out = json_pack("{s:s,s:s,s:O,s:I}", "fromUserId", s->user_id, "clientInstanceId",
	                instance ? instance : (s->instance ? s->instance : ""), "payload",
	                json_object_get(s->cur, "payload"), "seq", (json_int_t)seq);
	m = sig_hub_msg(H_SYNCED, s->user_id);
	m->frame = sig_frame(VC_SIG_ACCOUNT_SYNC, out);
	m->seq = seq;
	m->conn = s->conn;
	json_decref(out);
	sig_hub_send(m);
	step_done(s);
}

/* --- voice ------------------------------------------------------------------------------ */

static void do_takeover(sig_session_t *s)
{
	const char *params[2] = { s->user_id, s->instance };

	if (s->instance == NULL || s->instance[0] == '\0') {
		refuse(s, VC_SIG_REFUSED_BAD, "bad_message",
		       "voice needs a clientInstanceId (identify with one)",
		       "voice_client_takeover");
		step_done(s);
		return;
	}
	s->step = STEP_TAKEOVER;
	vc_pg_query(S_TAKEOVER, 2, params, &s->actor, S_PG, NULL);
}

static void takeover_done(sig_session_t *s, vc_pg_result_t *r)
{
	sig_hub_msg_t *m;

	if (r->status != VC_PG_OK || PQntuples(r->res) != 1) {
		refuse(s, VC_SIG_REFUSED_BAD, "unavailable", "not stored, try again",
		       "voice_client_takeover");
		step_done(s);
		return;
	}
	atomic_fetch_add_explicit(&n_takeovers, 1, memory_order_relaxed);
	m = sig_hub_msg(H_VOICE, s->user_id);
	m->instance = vc_strdup(s->instance);
	m->generation = strtoll(PQgetvalue(r->res, 0, 0), NULL, 10);
	m->previous = PQgetisnull(r->res, 0, 1) ? NULL : vc_strdup(PQgetvalue(r->res, 0, 1));
	m->to = TO_ALL; /* tell every device */
	sig_hub_send(m);
	step_done(s);
}

/* --- dispatch ------------------------------------------------------------------------------ */

static void handle(sig_session_t *s)
{
	const vc_sig_row_t *row = vc_sig_row(s->cur_type);

	if (s->state != SS_READY && !row->before_identify) {
		atomic_fetch_add_explicit(&n_refused[VC_SIG_REFUSED_AUTH], 1, memory_order_relaxed);
		reply(s, VC_SIG_AUTH_REQUIRED,
		      json_pack("{s:s,s:s}", "error", "identify first", "ref", row->name));
		step_done(s);
		return;
	}
	switch (s->cur_type) {
	case VC_SIG_IDENTIFY: do_identify(s); return;
	case VC_SIG_PING: reply(s, VC_SIG_PONG, NULL); break;
	case VC_SIG_JOIN_SERVER: do_join(s); return;
	case VC_SIG_LEAVE_SERVER: do_leave(s); return;
	case VC_SIG_SERVER_USERS:
		if (!joined(s, server_of(s))) {
			refuse(s, VC_SIG_REFUSED_MEMBER, "not_joined", "that server was not joined",
			       row->name);
			break;
		}
		ask_users(s, H_USERS);
		return;
	case VC_SIG_ACCOUNT_SYNC: do_sync(s); return;
	case VC_SIG_VOICE_TAKEOVER: do_takeover(s); return;
	default: do_relay(s); return;
	}
	step_done(s);
}

/* Take the next message, unless a step is in progress. */
static void process(sig_session_t *s)
{
	while (s->step == STEP_NONE && s->cur == NULL && s->qlen > 0 && s->state != SS_GONE) {
		vc_shared_t *msg = s->queue[s->qhead];
		const char *why, *code;

		s->qhead = (s->qhead + 1) % s->qcap;
		s->qlen--;
		code = vc_sig_parse((const char *)msg->data, msg->len, &s->cur_type, &s->cur, &why);
		vc_shared_unref(msg);
		atomic_fetch_add_explicit(&n_messages, 1, memory_order_relaxed);
		if (code != NULL) {
			refuse(s, VC_SIG_REFUSED_BAD, code, why, vc_sig_ref(s->cur));
			json_decref(s->cur);
			s->cur = NULL;
			continue;
		}
		handle(s);
	}
}

/* signal_rate per second, signal_burst at once. */
static bool rate_ok(sig_session_t *s)
{
	const vc_config_t *cfg = vc_config_get();
	double now = (double)vc_now_ms() / 1000.0;

	s->tokens += (now - s->refill_at) * cfg->signal_rate;
	s->refill_at = now;
	if (s->tokens > cfg->signal_burst)
		s->tokens = cfg->signal_burst;
	if (s->tokens < 1.0)
		return false;
	s->tokens -= 1.0;
	return true;
}

/* --- the socket --------------------------------------------------------------------------- */

/* Over signal_max_message: the WebSocket layer read it without keeping it. */
static void on_text_too_big(vc_ws_t *ws, void *user)
{
	sig_session_t *s = user;

	vc_ws_set_text_max(ws, vc_config_get()->signal_max_message); /* after a reload */
	refuse(s, VC_SIG_REFUSED_SIZE, "too_big", "message over signal_max_message", NULL);
}

static void on_text(vc_ws_t *ws, void *user, vc_shared_t *msg)
{
	sig_session_t *s = user;

	vc_ws_set_text_max(ws, vc_config_get()->signal_max_message); /* after a reload */
	if (msg->len > vc_config_get()->signal_max_message) {
		vc_shared_unref(msg);
		refuse(s, VC_SIG_REFUSED_SIZE, "too_big", "message over signal_max_message", NULL);
		return;
	}
	if (!rate_ok(s)) {
		enum vc_sig_type type;
		json_t *obj;
		const char *why;

		/* Parsed only to name what was dropped (ten in a row close). */
		vc_sig_parse((const char *)msg->data, msg->len, &type, &obj, &why);
		vc_shared_unref(msg);
		refuse(s, VC_SIG_REFUSED_RATE, "rate_limited", "over signal_rate: message dropped",
		       vc_sig_ref(obj));
		json_decref(obj);
		if (++s->refusals >= SIG_REFUSALS_CLOSE)
			close_with(s, SIG_CLOSE_RATE, "rate limited");
		return;
	}
	s->refusals = 0;
	enqueue(s, msg);
	process(s);
}

static void on_binary(vc_ws_t *ws, void *user, vc_shared_t *msg)
{
	sig_session_t *s = user;

	vc_shared_unref(msg);
	refuse(s, VC_SIG_REFUSED_BAD, "bad_message", "messages are JSON in text frames", NULL);
}

static void on_open(vc_ws_t *ws, void *user)
{
	sig_session_t *s = user;

	s->ws = ws;
	vc_ws_set_text_max(ws, vc_config_get()->signal_max_message);
	vc_actor_init(&s->actor, s->actor.beh, vc_worker_self(), s);
	atomic_fetch_add(&n_connections, 1);
	s->refill_at = (double)vc_now_ms() / 1000.0;
	s->tokens = vc_config_get()->signal_burst;
	vc_timer_start(&s->timer, &s->actor, vc_msg_new(sizeof(vc_msg_t), S_TIMEOUT),
	               SIG_IDENTIFY_TIMEOUT);
}

static void on_close(vc_ws_t *ws, void *user, int code)
{
	sig_session_t *s = user;

	s->ws = NULL;
	if (s->actor.home == NULL) { /* never opened (vcd is draining) */
		free(s);
		return;
	}
	session_end(s);
}

static const vc_ws_ops_t ws_ops = {
	.on_open = on_open,
	.on_message = on_binary,
	.on_text = on_text,
	.on_text_too_big = on_text_too_big,
	.on_close = on_close,
};

/* --- the actor ---------------------------------------------------------------------------- */

static void held_flush(sig_session_t *s)
{
	for (uint32_t i = 0; i < s->nheld; i++) {
		sig_deliver_msg_t *d = s->held[i];
		if (d->seq == 0 || d->seq > s->delivered_seq)
			send_frame(s, d->frame);
		vc_msg_destroy(&d->msg);
	}
	free(s->held);
	s->held = NULL;
	s->nheld = 0;
}

static int on_deliver(vc_actor_t *self, vc_msg_t *msg)
{
	sig_session_t *s = self->state;
	sig_deliver_msg_t *d = (sig_deliver_msg_t *)msg;

	if (s->state == SS_GONE)
		return VC_MSG_DONE;
	if (s->step == STEP_ATTACH || s->step == STEP_CATCHUP) { /* after identified and the log */
		s->held = vc_realloc(s->held, (s->nheld + 1) * sizeof(*s->held));
		s->held[s->nheld++] = d;
		return VC_MSG_KEPT;
	}
	if (d->seq != 0 && d->seq <= s->delivered_seq)
		return VC_MSG_DONE; /* in the snapshot identify read */
	send_frame(s, d->frame);
	return VC_MSG_DONE;
}

static int on_pg(vc_actor_t *self, vc_msg_t *msg)
{
	sig_session_t *s = self->state;
	vc_pg_result_t *r = (vc_pg_result_t *)msg;
	vc_identity_t *id = NULL;

	if (s->state == SS_GONE)
		return VC_MSG_DONE;
	switch (s->step) {
	case STEP_TOKEN:
		switch (vc_auth_token_result(msg, s->token_hash, &id)) {
		case VC_AUTH_OK: identity_known(s, id); break;
		case VC_AUTH_UNAVAILABLE:
			auth_error(s, "Service unavailable, try again");
			s->state = SS_NEW;
			step_done(s);
			break;
		default: identify_failed(s, "Invalid or expired session"); break;
		}
		break;
	case STEP_RECHECK:
		if (vc_auth_token_result(msg, s->token_hash, &id) == VC_AUTH_BAD) {
			close_with(s, SIG_CLOSE_REVOKED, "session revoked");
			break;
		}
		vc_identity_free(id);
		s->step = STEP_NONE;
		process(s);
		break;
	case STEP_CATCHUP: catchup_done(s, r); break;
	case STEP_MEMBER: member_done(s, r); break;
	case STEP_SHARED: shared_done(s, r); break;
	case STEP_SYNC: sync_done(s, r); break;
	case STEP_TAKEOVER: takeover_done(s, r); break;
	default: log_error("signal: a database answer for no step"); break;
	}
	return VC_MSG_DONE;
}

static int on_attached(vc_actor_t *self, vc_msg_t *msg)
{
	sig_session_t *s = self->state;
	sig_attached_msg_t *a = (sig_attached_msg_t *)msg;

	if (s->state == SS_GONE || s->step != STEP_ATTACH)
		return VC_MSG_DONE;
	if (a->sync_seq == UINT64_MAX) { /* over signal_max_user_connections */
		atomic_fetch_add_explicit(&n_refused[VC_SIG_REFUSED_LIMIT], 1,
		                          memory_order_relaxed);
		auth_error(s, "too many connections for this user");
		s->state = SS_GONE; /* the hub did not keep it */
		atomic_fetch_sub(&n_connections, 1);
		if (s->ws != NULL) {
			vc_ws_close(s->ws, SIG_CLOSE_IDENTIFY_FAILED, "too many connections");
			s->ws = NULL;
		}
		queue_clear(s);
		json_decref(s->cur);
		s->cur = NULL;
		vc_actor_stop(&s->actor);
		vc_actor_unref(&s->actor);
		return VC_MSG_DONE;
	}
	attached(s, a->sync_seq);
	return VC_MSG_DONE;
}

static int on_joined(vc_actor_t *self, vc_msg_t *msg)
{
	sig_session_t *s = self->state;
	sig_joined_msg_t *j = (sig_joined_msg_t *)msg;

	if (s->state == SS_GONE || s->step != STEP_JOINED)
		return VC_MSG_DONE;
	reply(s, VC_SIG_SERVER_USERS, j->answer);
	j->answer = NULL;
	step_done(s);
	return VC_MSG_DONE;
}

static int on_close_msg(vc_actor_t *self, vc_msg_t *msg)
{
	sig_session_t *s = self->state;
	sig_close_msg_t *c = (sig_close_msg_t *)msg;

	if (s->state != SS_GONE)
		close_with(s, c->code, c->reason);
	return VC_MSG_DONE;
}

/* A revocation may concern this session: ask PostgreSQL again (the cache
 * has forgotten it) between two messages. */
static int on_recheck(vc_actor_t *self, vc_msg_t *msg)
{
	sig_session_t *s = self->state;
	vc_identity_t *id = NULL;

	if (s->state != SS_READY)
		return VC_MSG_DONE;
	if (s->step != STEP_NONE) { /* after the step in progress */
		vc_actor_send(self, vc_msg_new(sizeof(vc_msg_t), S_RECHECK));
		return VC_MSG_DONE;
	}
	switch (vc_auth_token_check_hash(s->token_hash, &s->actor, S_PG, &id)) {
	case VC_AUTH_OK: vc_identity_free(id); break;
	case VC_AUTH_BAD: close_with(s, SIG_CLOSE_REVOKED, "session revoked"); break;
	case VC_AUTH_PENDING: s->step = STEP_RECHECK; break;
	case VC_AUTH_UNAVAILABLE: break;
	}
	return VC_MSG_DONE;
}

static int on_timeout(vc_actor_t *self, vc_msg_t *msg)
{
	sig_session_t *s = self->state;

	if (s->state == SS_NEW || s->state == SS_IDENTIFYING)
		close_with(s, SIG_CLOSE_IDENTIFY_TIMEOUT, "identify within 10 s");
	return VC_MSG_DONE;
}

static const vc_handler_fn handlers[S_COUNT] = {
	[S_PG] = on_pg,           [S_DELIVER] = on_deliver, [S_ATTACHED] = on_attached,
	[S_CLOSE] = on_close_msg, [S_RECHECK] = on_recheck, [S_TIMEOUT] = on_timeout,
	[S_JOINED] = on_joined,
};

static void session_free(vc_actor_t *a)
{
	sig_session_t *s = a->state;

	for (uint32_t i = 0; i < s->nservers; i++)
		free(s->servers[i]);
	free(s->servers);
	free(s->user_id);
	free(s->display_name);
	free(s->scope);
	free(s->instance);
	free(s);
}

static const vc_behaviour_t behaviour = {
	.name = "signal-session",
	.handlers = handlers,
	.nhandlers = S_COUNT,
	.free = session_free,
};

/* --- what hubs send sessions ------------------------------------------------------------- */

static void deliver_destroy(vc_msg_t *m)
{
	vc_shared_unref(((sig_deliver_msg_t *)m)->frame);
	free(m);
}

void sig_deliver(vc_actor_t *session, vc_shared_t *frame, uint64_t seq)
{
	sig_deliver_msg_t *d = vc_msg_new(sizeof(*d), S_DELIVER);

	d->msg.destroy = deliver_destroy;
	d->frame = vc_shared_ref(frame);
	d->seq = seq;
	vc_actor_send(session, &d->msg);
}

void sig_close_session(vc_actor_t *session, int code, const char *reason)
{
	sig_close_msg_t *c = vc_msg_new(sizeof(*c), S_CLOSE);

	c->code = code;
	snprintf(c->reason, sizeof(c->reason), "%s", reason);
	vc_actor_send(session, &c->msg);
}

/* --- the route and the rest ------------------------------------------------------------------ */

void vc_signal_route(vc_http_req_t *req)
{
	const char *why;
	int status = vc_ws_check(req, &why);
	sig_session_t *s;

	if (status != 0) {
		if (status == 426)
			vc_http_add_header(req, "Sec-WebSocket-Version", "13");
		vc_http_respond(req, status, "text/plain; charset=utf-8", why, strlen(why));
		return;
	}
	s = vc_calloc(1, sizeof(*s));
	s->actor.beh = &behaviour;
	randombytes_buf(&s->conn, sizeof(s->conn));
	s->last_sync = -1;
	if (!vc_ws_accept(req, vc_http_worker(req), &ws_ops, s))
		free(s);
}

void vc_signal_init(void)
{
	S_MEMBER = vc_pg_statement("sig_member",
	                           "SELECT 1 FROM server_members WHERE server_id = $1::uuid"
	                           " AND user_id = $2::uuid",
	                           2);
	S_SHARED = vc_pg_statement("sig_shared",
	                           "SELECT count(*) FROM server_members WHERE server_id = $1::uuid"
	                           " AND user_id IN ($2::uuid, $3::uuid)",
	                           3);
	/* One account_sync: the user's next seq and the new first kept seq
	 * (last `keep`), the row, and the prune of [previous first, new
	 * first): one row per append, constant time (sql/008). */
	S_SYNC_APPEND = vc_pg_statement(
	        "sig_sync_append",
	        "WITH q AS (INSERT INTO account_sync_seq AS q (user_id, last_seq)"
	        " VALUES ($1::uuid, 1) ON CONFLICT (user_id) DO UPDATE SET"
	        " last_seq = q.last_seq + 1, prev_first = q.first_seq,"
	        " first_seq = greatest(q.first_seq, q.last_seq + 2 - $4::bigint)"
	        " RETURNING last_seq, prev_first, first_seq),"
	        " l AS (INSERT INTO account_sync_log (user_id, seq, client_instance_id, payload)"
	        " SELECT $1::uuid, last_seq, $2, $3::jsonb FROM q),"
	        " d AS (DELETE FROM account_sync_log WHERE user_id = $1::uuid"
	        " AND seq >= (SELECT prev_first FROM q) AND seq < (SELECT first_seq FROM q))"
	        " SELECT last_seq FROM q",
	        4);
	/* The old owner is locked and read as the INSERT's source, before the
	 * upsert: read only in RETURNING, the FOR UPDATE scan would run after
	 * the update and skip the row this very command changed (null). */
	S_TAKEOVER = vc_pg_statement(
	        "sig_takeover",
	        "WITH old AS (SELECT client_instance_id FROM voice_owners WHERE user_id = $1::uuid"
	        " FOR UPDATE)"
	        " INSERT INTO voice_owners AS v (user_id, client_instance_id)"
	        " SELECT $1::uuid, $2 FROM (SELECT 1) one LEFT JOIN old ON true"
	        " ON CONFLICT (user_id) DO UPDATE SET client_instance_id = $2,"
	        " generation = v.generation + 1, updated_at = now()"
	        " RETURNING generation, (SELECT client_instance_id FROM old)",
	        2);
	S_CATCHUP = vc_pg_statement(
	        "sig_catchup",
	        "SELECT coalesce((SELECT last_seq FROM account_sync_seq WHERE user_id = $1::uuid), "
	        "0),"
	        " coalesce((SELECT min(seq) FROM account_sync_log WHERE user_id = $1::uuid), 0),"
	        " l.seq, l.client_instance_id, l.payload::text,"
	        " (SELECT client_instance_id FROM voice_owners WHERE user_id = $1::uuid),"
	        " (SELECT generation FROM voice_owners WHERE user_id = $1::uuid)"
	        " FROM (SELECT 1) one LEFT JOIN LATERAL (SELECT seq, client_instance_id, payload"
	        " FROM account_sync_log WHERE user_id = $1::uuid AND seq > $2::bigint"
	        " ORDER BY seq LIMIT $3::bigint) l ON true ORDER BY l.seq",
	        3);
	sig_hub_init();
}

void vc_signal_worker_start(vc_worker_t *w)
{
	sig_hub_worker_start(w);
}

void vc_signal_worker_stop(vc_worker_t *w)
{
	sig_hub_worker_stop(w);
}
