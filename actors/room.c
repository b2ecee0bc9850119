/*
 * room.c — a media room on this node: its sessions, the fan-out, the
 * join/leave notices and the room's view of the other nodes
 * (doc/lobby.md "A session's life" and "Many nodes").
 *
 * The room and its participants share a worker, so the fan-out is a loop of
 * function calls: a packet is framed once and every other session's socket
 * takes a reference to it (vc_ws_send), written in the pre-sleep flush.
 *
 * A session's notices:
 *
 *   join ──────▶ SESSION_ASSIGNED; once the room is settled: MEETING_STARTED,
 *                then PARTICIPANT_JOINED for each active member, here and on
 *                other nodes (the first non-observer of the meeting also
 *                sends MEETING_STARTED to the room)
 *   activation ▶ PARTICIPANT_JOINED to the room, every node — unless an
 *                observer, or the user's session left less than the grace
 *                ago on any node (a reconnect)
 *   leave ─────▶ after lobby_reconnect_grace: PARTICIPANT_LEFT, unless the
 *                user came back meanwhile on any node; never for observers
 *                or sessions that never became active
 *
 * "Settled": a room that opens on a node with NATS asks the other nodes for
 * their members (sync), once its subscription is active (R_READY: their
 * answers would pass it by before), and waits LOBBY_SETTLE for answers before it tells a
 * joiner who is there and whether the meeting has started. Answers that
 * come later still add members (and tell the joiners). Until it is
 * welcomed a session gets nothing of the room (media, system packets):
 * its first two packets are SESSION_ASSIGNED and MEETING_STARTED, and
 * what happened before is in the member list it then gets.
 *
 * The room leaves the registry when its last session and its last pending
 * departure are gone.
 */
#include "actors/lobby_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/config.h"
#include "runtime/log.h"

/* --- packets ---------------------------------------------------------------- */

vc_shared_t *lobby_meeting_packet(const vc_meeting_packet_t *m)
{
	vc_buf_t b = { 0 };
	vc_shared_t *s;

	vc_system_event_encode(m, &b);
	s = vc_shared_copy(b.data, b.len);
	free(b.data);
	vc_ws_frame(s);
	return s;
}

static vc_shared_t *session_assigned(uint64_t session_id)
{
	vc_buf_t b = { 0 };
	vc_shared_t *s;

	vc_packet_wrapper_encode(VC_PACKET_SESSION_ASSIGNED, VC_SYSTEM_USER_ID,
	                         strlen(VC_SYSTEM_USER_ID), NULL, 0, session_id, &b);
	s = vc_shared_copy(b.data, b.len);
	free(b.data);
	return s;
}

static vc_shared_t *member_packet(const room_t *r, enum vc_meeting_event ev, const char *user,
                                  uint64_t session, const char *name)
{
	char msg[300];
	vc_meeting_packet_t m = { .event_type = ev,
		                  .room_id = r->id,
		                  .message = msg,
		                  .target_user_id = user,
		                  .session_id = session,
		                  .display_name = name };

	snprintf(msg, sizeof(msg), "%s has %s the meeting", user,
	         ev == VC_EV_PARTICIPANT_JOINED ? "joined" : "left");
	return lobby_meeting_packet(&m);
}

/* --- NATS ------------------------------------------------------------------- */

/* Publish a packet on room.{id}.{tail}; a packet too big for the server still
 * reached the local sessions, and is counted here as well as by the bridge
 * (which refuses it). */
static void publish(room_t *r, const char *tail, const vc_shared_t *s)
{
	char subject[ROOM_SUBJECT_MAX + 24];
	size_t max;

	if (!r->clustered)
		return;
	snprintf(subject, sizeof(subject), "%s%s", r->subject_prefix, tail);
	max = vc_nats_max_payload();
	if (vc_nats_publish(subject, s->data, s->len) == 0)
		atomic_fetch_add_explicit(&r->lobby->published, 1, memory_order_relaxed);
	else if (max != 0 && s->len > max)
		lobby_count_drop(r->lobby, VC_DROP_NATS_TOO_BIG);
}

/* To this node's sessions (except one) and to the room on every node. */
static void announce(room_t *r, vc_shared_t *s, const participant_t *except)
{
	room_system(r, s, except);
	publish(r, "system", s);
}

/* nats.c's thread: hand the packet to the room (DESIGN §3). */
static void nats_msg_destroy(vc_msg_t *m)
{
	vc_shared_unref(((room_nats_msg_t *)m)->payload);
	free(m);
}

static void on_nats(const char *subject, const void *data, size_t len, void *arg)
{
	room_t *r = arg;
	const char *tail = strrchr(subject, '.');
	room_nats_msg_t *m = vc_msg_new(sizeof(*m), R_NATS);

	m->msg.destroy = nats_msg_destroy;
	tail = tail != NULL ? tail + 1 : "";
	m->system = strcmp(tail, "system") == 0;
	m->from_session = m->system ? 0 : strtoull(tail, NULL, 10);
	m->payload = vc_shared_copy(data, len);
	vc_ws_frame(m->payload); /* before it is shared */
	vc_actor_send(&r->actor, &m->msg);
}

/* nats-pub (or room_open, NATS down): the subscription is active. It runs
 * before on_sub_closed, so the subscription's reference still holds r. */
static void on_sub_ready(void *arg)
{
	room_t *r = arg;

	vc_actor_send(&r->actor, vc_msg_new(sizeof(vc_msg_t), R_READY));
}

/* The subscription is gone: no callback holds the room any more. */
static void on_sub_closed(void *arg)
{
	room_t *r = arg;

	vc_actor_unref(&r->actor);
}

/* --- the view of the other nodes --------------------------------------------- */

static remote_t *remote_find(room_t *r, uint64_t session)
{
	for (remote_t *m = r->remote; m != NULL; m = m->next)
		if (m->session_id == session)
			return m;
	return NULL;
}

static void remote_free(remote_t *m)
{
	free(m->user_id);
	free(m->display_name);
	free(m);
}

static void remote_remove(room_t *r, uint64_t session)
{
	for (remote_t **pp = &r->remote; *pp != NULL; pp = &(*pp)->next) {
		if ((*pp)->session_id == session) {
			remote_t *m = *pp;
			*pp = m->next;
			remote_free(m);
			return;
		}
	}
}

participant_t *room_find_session(room_t *r, uint64_t session_id)
{
	for (participant_t *p = r->head; p != NULL; p = p->next)
		if (p->session_id == session_id)
			return p;
	return NULL;
}

/* A member on another node; true when it is news. Welcomed joiners hear of
 * it at once. */
static bool remote_add(room_t *r, const char *user, uint64_t session, const char *name)
{
	remote_t *m;

	if (session == 0 || remote_find(r, session) != NULL ||
	    room_find_session(r, session) != NULL)
		return false;
	m = vc_calloc(1, sizeof(*m));
	m->user_id = vc_strdup(user);
	m->display_name = vc_strdup(name != NULL ? name : user);
	m->session_id = session;
	m->next = r->remote;
	r->remote = m;
	return true;
}

static void tell_joiners(room_t *r, const remote_t *m)
{
	vc_shared_t *s = member_packet(r, VC_EV_PARTICIPANT_JOINED, m->user_id, m->session_id,
	                               m->display_name);

	for (participant_t *p = r->head; p != NULL; p = p->next)
		if (p->welcomed && !p->observer)
			participant_send(p, s, true);
	vc_shared_unref(s);
}

/* --- departures (the grace) ---------------------------------------------------- */

static departure_t *departure_of(room_t *r, const char *user, bool remote)
{
	for (departure_t *d = r->departures; d != NULL; d = d->next)
		if (d->remote == remote && strcmp(d->user_id, user) == 0)
			return d;
	return NULL;
}

static void departure_unlink(room_t *r, departure_t *d)
{
	for (departure_t **pp = &r->departures; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == d) {
			*pp = d->next;
			return;
		}
	}
}

static void departure_free(departure_t *d)
{
	if (vc_timer_active(&d->timer))
		vc_timer_cancel(&d->timer);
	free(d->user_id);
	free(d->display_name);
	free(d);
}

static departure_t *departure_new(room_t *r, const char *user, uint64_t session, const char *name,
                                  bool was_active, bool remote)
{
	departure_t *d = vc_calloc(1, sizeof(*d));

	d->user_id = vc_strdup(user);
	d->display_name = vc_strdup(name != NULL ? name : user);
	d->session_id = session;
	d->was_active = was_active;
	d->remote = remote;
	d->next = r->departures;
	r->departures = d;
	return d;
}

/* Remote departures are only remembered for their grace: drop old ones. */
static void departures_expire(room_t *r)
{
	double now = (double)vc_now_ms() / 1000.0;

	for (departure_t **pp = &r->departures; *pp != NULL;) {
		departure_t *d = *pp;
		if (d->remote && d->until <= now) {
			*pp = d->next;
			departure_free(d);
		} else {
			pp = &d->next;
		}
	}
}

/* --- opening and closing ----------------------------------------------------- */

static void room_close(room_t *r)
{
	if (r->closing)
		return;
	r->closing = true;
	lobby_remove(r->lobby, r);
	lobby_stats_remove(r->stats);
	r->stats = NULL;
	if (vc_timer_active(&r->settle_timer))
		vc_timer_cancel(&r->settle_timer);
	while (r->remote != NULL) {
		remote_t *m = r->remote;
		r->remote = m->next;
		remote_free(m);
	}
	while (r->departures != NULL) {
		departure_t *d = r->departures;
		r->departures = d->next;
		departure_free(d);
	}
	if (r->sub != NULL) {
		vc_nats_unsub(r->sub); /* on_sub_closed drops the subscription's reference */
		r->sub = NULL;
	}
	vc_actor_stop(&r->actor);
	vc_actor_unref(&r->actor); /* the registry's */
}

void room_drop(room_t *r)
{
	vc_actor_ref(&r->actor);
	while (r->head != NULL)
		participant_close(r->head, VC_WS_GOING_AWAY, "server shutting down");
	/* The node stops: the grace is cut short, the rest of the cluster is
	 * told now rather than never. */
	for (departure_t *d = r->departures; d != NULL; d = d->next) {
		if (d->remote)
			continue;
		vc_shared_t *s = member_packet(r, VC_EV_PARTICIPANT_LEFT, d->user_id, d->session_id,
		                               d->display_name);
		publish(r, "system", s);
		vc_shared_unref(s);
	}
	room_close(r);
	vc_actor_unref(&r->actor);
}

/* Nobody here and nobody to say goodbye for: the room goes. (What other
 * nodes said about their departures is not worth keeping a room for.) */
static void maybe_close(room_t *r)
{
	departures_expire(r);
	if (r->head != NULL)
		return;
	for (departure_t *d = r->departures; d != NULL; d = d->next)
		if (!d->remote)
			return;
	room_close(r);
}

static void welcome(room_t *r, participant_t *p);

static int on_settle(vc_actor_t *self, vc_msg_t *m)
{
	room_t *r = self->state;

	r->settled = true;
	if (r->remote != NULL)
		r->announced = true; /* somebody is there: the meeting has started */
	for (participant_t *p = r->head; p != NULL; p = p->next)
		if (!p->welcomed)
			welcome(r, p);
	return VC_MSG_DONE;
}

/* The room's subscription is active: ask the other nodes, then settle. */
static int on_ready(vc_actor_t *self, vc_msg_t *m)
{
	room_t *r = self->state;

	if (r->closing || r->settled || vc_timer_active(&r->settle_timer))
		return VC_MSG_DONE;
	lobby_ctl_publish(r, json_pack("{s:s}", "op", "sync"));
	vc_timer_start(&r->settle_timer, &r->actor, vc_msg_new(sizeof(vc_msg_t), R_SETTLE),
	               LOBBY_SETTLE);
	return VC_MSG_DONE;
}

static int on_depart(vc_actor_t *self, vc_msg_t *m);
static int on_nats_msg(vc_actor_t *self, vc_msg_t *m);

static const vc_handler_fn room_handlers[R_COUNT] = {
	[R_NATS] = on_nats_msg,
	[R_READY] = on_ready,
	[R_SETTLE] = on_settle,
	[R_DEPART] = on_depart,
};

static void room_free(vc_actor_t *a)
{
	room_t *r = a->state;

	free(r->id);
	free(r);
}

static const vc_behaviour_t room_behaviour = {
	.name = "room",
	.handlers = room_handlers,
	.nhandlers = R_COUNT,
	.free = room_free,
};

room_t *room_open(lobby_t *l, const char *room_id)
{
	room_t *r = vc_calloc(1, sizeof(*r));
	char subject[ROOM_SUBJECT_MAX + 8];

	vc_actor_init(&r->actor, &room_behaviour, l->w, r);
	r->lobby = l;
	r->id = vc_strdup(room_id);
	r->started_ms = vc_wall_ms();
	r->stats = lobby_stats_add(room_id);
	/* An empty id is a valid room but makes no NATS subject: local only. */
	r->clustered = vc_nats_enabled() && room_id[0] != '\0' && strlen(room_id) <= VC_ROOM_ID_MAX;
	lobby_add(l, r);
	if (!r->clustered) {
		r->settled = true;
		return r;
	}
	snprintf(r->subject_prefix, sizeof(r->subject_prefix), "room.%s.", room_id);
	snprintf(subject, sizeof(subject), "room.%s.*", room_id);
	vc_actor_ref(&r->actor); /* the subscription's, until on_sub_closed */
	r->sub = vc_nats_sub_ready(subject, on_nats, r, on_sub_closed, on_sub_ready);
	return r; /* on_ready asks the others */
}

/* --- joining, activation, leaving ---------------------------------------------- */

static void send_member(participant_t *to, room_t *r, const char *user, uint64_t session,
                        const char *name)
{
	vc_shared_t *s = member_packet(r, VC_EV_PARTICIPANT_JOINED, user, session, name);

	participant_send(to, s, true);
	vc_shared_unref(s);
}

/* MEETING_STARTED, then who is here. */
static void welcome(room_t *r, participant_t *p)
{
	vc_meeting_packet_t m = { .event_type = VC_EV_MEETING_STARTED,
		                  .room_id = r->id,
		                  .start_time_ms = r->started_ms,
		                  .creator_id = p->user_id };
	vc_shared_t *s = lobby_meeting_packet(&m);

	p->welcomed = true;
	participant_send(p, s, true);
	if (!p->observer) {
		for (participant_t *q = r->head; q != NULL; q = q->next)
			if (q != p && (q->active || q->reconnect) && !q->observer)
				send_member(p, r, q->user_id, q->session_id, q->display_name);
		for (remote_t *q = r->remote; q != NULL; q = q->next)
			send_member(p, r, q->user_id, q->session_id, q->display_name);
		if (!r->announced) { /* the meeting's first: tell the room it started */
			r->announced = true;
			for (participant_t *q = r->head; q != NULL; q = q->next)
				if (q != p && q->welcomed) /* the others get their own */
					participant_send(q, s, true);
			publish(r, "system", s);
		}
	}
	vc_shared_unref(s);
	if (p->active && !p->announced_join) /* activated before it was welcomed */
		room_activated(r, p);
}

void room_join(room_t *r, participant_t *p)
{
	vc_shared_t *s = session_assigned(p->session_id);
	departure_t *d;

	p->room = r;
	p->prev = r->tail;
	if (r->tail != NULL)
		r->tail->next = p;
	else
		r->head = p;
	r->tail = p;
	r->nlocal++;
	atomic_fetch_add_explicit(&r->lobby->sessions, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&r->lobby->sessions_total, 1, memory_order_relaxed);
	if (p->observer) {
		r->nobservers++;
		atomic_fetch_add_explicit(&r->lobby->observers, 1, memory_order_relaxed);
	}
	if (r->stats != NULL)
		atomic_fetch_add_explicit(&r->stats->sessions, 1, memory_order_relaxed);
	log_info("lobby: session %" PRIu64 " of '%s' joined room '%s'%s", p->session_id, p->user_id,
	         r->id, p->observer ? " as an observer" : "");
	participant_send(p, s, true);
	vc_shared_unref(s);
	if (!p->observer) {
		/* The same user left less than the grace ago, here or elsewhere. */
		departures_expire(r);
		if ((d = departure_of(r, p->user_id, false)) != NULL ||
		    (d = departure_of(r, p->user_id, true)) != NULL) {
			char old[24], now[24];

			snprintf(old, sizeof(old), "%" PRIu64, d->session_id);
			snprintf(now, sizeof(now), "%" PRIu64, p->session_id);
			p->reconnect = true;
			remote_remove(r, d->session_id);
			departure_unlink(r, d);
			departure_free(d);
			if (r->clustered)
				lobby_ctl_publish(r, json_pack("{s:s,s:s,s:s,s:s,s:s}", "op",
				                               "back", "user", p->user_id,
				                               "old_session", old, "session", now,
				                               "name", p->display_name));
		}
	}
	if (r->settled)
		welcome(r, p);
}

void room_activated(room_t *r, participant_t *p)
{
	vc_shared_t *s;

	p->active = true;
	if (!p->welcomed || p->announced_join)
		return; /* welcome() calls again */
	p->announced_join = true;
	if (p->observer || p->reconnect)
		return;
	s = member_packet(r, VC_EV_PARTICIPANT_JOINED, p->user_id, p->session_id, p->display_name);
	announce(r, s, NULL);
	vc_shared_unref(s);
}

void room_leave(room_t *r, participant_t *p)
{
	embed_cred_wipe(&p->embed); /* no grace for credentials: a reconnect is a new session */
	if (p->prev != NULL)
		p->prev->next = p->next;
	else
		r->head = p->next;
	if (p->next != NULL)
		p->next->prev = p->prev;
	else
		r->tail = p->prev;
	r->nlocal--;
	atomic_fetch_sub_explicit(&r->lobby->sessions, 1, memory_order_relaxed);
	if (p->observer) {
		r->nobservers--;
		atomic_fetch_sub_explicit(&r->lobby->observers, 1, memory_order_relaxed);
	}
	if (r->stats != NULL)
		atomic_fetch_sub_explicit(&r->stats->sessions, 1, memory_order_relaxed);
	log_info("lobby: session %" PRIu64 " of '%s' left room '%s'", p->session_id, p->user_id,
	         r->id);
	/* Only a session the room was told about is said goodbye to: not an
	 * observer, not one that never became active, not one a kick or the
	 * meeting's end removed (the meeting announced that itself). */
	if (!p->observer && (p->active || p->reconnect) && !p->quiet && !r->ending) {
		const vc_config_t *cfg = vc_config_get();
		departure_t *d;
		room_depart_msg_t *m;

		d = departure_new(r, p->user_id, p->session_id, p->display_name, true, false);
		m = vc_msg_new(sizeof(*m), R_DEPART);
		m->d = d;
		vc_timer_start(&d->timer, &r->actor, &m->msg, cfg->lobby_reconnect_grace);
		if (r->clustered) {
			char sid[24];
			snprintf(sid, sizeof(sid), "%" PRIu64, p->session_id);
			lobby_ctl_publish(r, json_pack("{s:s,s:s,s:s}", "op", "leaving", "user",
			                               p->user_id, "session", sid));
		}
	}
	p->room = NULL;
	participant_free(p);
	maybe_close(r);
}

/* The grace is over and the user did not come back. */
static int on_depart(vc_actor_t *self, vc_msg_t *msg)
{
	room_t *r = self->state;
	departure_t *d = ((room_depart_msg_t *)msg)->d;

	departure_unlink(r, d);
	if (d->was_active) {
		vc_shared_t *s = member_packet(r, VC_EV_PARTICIPANT_LEFT, d->user_id, d->session_id,
		                               d->display_name);
		announce(r, s, NULL);
		vc_shared_unref(s);
	}
	free(d->user_id);
	free(d->display_name);
	free(d); /* its timer has fired: nothing to cancel */
	maybe_close(r);
	return VC_MSG_DONE;
}

/* --- fan-out --------------------------------------------------------------------- */

void room_relay(room_t *r, participant_t *from, vc_shared_t *msg)
{
	uint64_t n = 0;
	char tail[24];

	vc_ws_frame(msg);
	for (participant_t *p = r->head; p != NULL; p = p->next) {
		if (p == from || p->observer || !p->welcomed)
			continue;
		participant_send(p, msg, false);
		n++;
	}
	VC_STAT_ADD(r->lobby->relayed, n);
	if (r->clustered) {
		snprintf(tail, sizeof(tail), "%" PRIu64, from->session_id);
		publish(r, tail, msg);
	}
}

void room_system(room_t *r, vc_shared_t *packet, const participant_t *except)
{
	vc_packet_view_t v;
	vc_meeting_view_t m;

	vc_ws_frame(packet);
	if (vc_packet_wrapper_decode(packet->data, packet->len, &v) &&
	    v.packet_type == VC_PACKET_MEETING &&
	    vc_meeting_packet_decode(v.data.p, v.data.len, &m)) {
		if (m.event_type == VC_EV_MEETING_ENDED)
			r->end_sent = true;
		else if (m.event_type == VC_EV_MEETING_ACTIVATED ||
		         m.event_type == VC_EV_MEETING_STARTED)
			r->end_sent = false;
	}
	for (participant_t *p = r->head; p != NULL; p = p->next)
		if (p != except && p->welcomed)
			participant_send(p, packet, true);
}

/* What another node (or a videocall.rs server) says on room.{id}.system:
 * who joined and left there, whether the meeting started. */
static void learn(room_t *r, const vc_shared_t *s)
{
	vc_packet_view_t v;
	vc_meeting_view_t m;
	char user[256], name[256];

	if (!vc_packet_wrapper_decode(s->data, s->len, &v) || v.packet_type != VC_PACKET_MEETING ||
	    !vc_meeting_packet_decode(v.data.p, v.data.len, &m))
		return;
	snprintf(user, sizeof(user), "%.*s", (int)m.target_user_id.len,
	         (const char *)m.target_user_id.p);
	snprintf(name, sizeof(name), "%.*s", (int)m.display_name.len,
	         (const char *)m.display_name.p);
	switch (m.event_type) {
	case VC_EV_PARTICIPANT_JOINED: remote_add(r, user, m.session_id, name); break;
	case VC_EV_PARTICIPANT_LEFT: /* its grace is over: no reconnect to it any more */
		remote_remove(r, m.session_id);
		for (departure_t *d = r->departures; d != NULL; d = d->next)
			if (d->remote && d->session_id == m.session_id) {
				departure_unlink(r, d);
				departure_free(d);
				break;
			}
		break;
	case VC_EV_MEETING_STARTED:
		r->announced = true;
		if (m.start_time_ms != 0 && m.start_time_ms < r->started_ms)
			r->started_ms = m.start_time_ms;
		break;
	}
}

static int on_nats_msg(vc_actor_t *self, vc_msg_t *msg)
{
	room_t *r = self->state;
	room_nats_msg_t *m = (room_nats_msg_t *)msg;
	vc_packet_view_t v;
	bool congestion;

	atomic_fetch_add_explicit(&r->lobby->from_nats, 1, memory_order_relaxed);
	if (m->system) {
		learn(r, m->payload);
		room_system(r, m->payload, NULL);
		return VC_MSG_DONE;
	}
	/* A session's own subject comes back only for CONGESTION (the original's
	 * self-echo rule; vcd's own packets never come back: no echo). */
	congestion = vc_packet_wrapper_decode(m->payload->data, m->payload->len, &v) &&
	             v.packet_type == VC_PACKET_CONGESTION;
	for (participant_t *p = r->head; p != NULL; p = p->next) {
		if (p->observer || !p->welcomed ||
		    (p->session_id == m->from_session && !congestion))
			continue;
		participant_send(p, m->payload, false);
	}
	return VC_MSG_DONE;
}

/* --- meetings act on live sessions ------------------------------------------------- */

void room_end(room_t *r)
{
	if (!r->end_sent) {
		/* as the meeting actor publishes it (doc/lobby.md) */
		vc_meeting_packet_t m = { .event_type = VC_EV_MEETING_ENDED, .room_id = r->id };
		vc_shared_t *s = lobby_meeting_packet(&m);
		room_system(r, s, NULL);
		vc_shared_unref(s);
	}
	r->ending = true; /* no PARTICIPANT_LEFT for an ended meeting */
	vc_actor_ref(&r->actor);
	while (r->head != NULL)
		participant_close(r->head, VC_WS_ENDED, "meeting ended");
	r->ending = false;
	vc_actor_unref(&r->actor);
}

void room_kick(room_t *r, const char *user_id, int code, const char *why)
{
	participant_t *p = r->head, *next;

	vc_actor_ref(&r->actor);
	for (; p != NULL; p = next) {
		next = p->next;
		if (strcmp(p->user_id, user_id) == 0) {
			p->quiet = true; /* the meeting announced the removal */
			participant_close(p, code, why);
		}
	}
	vc_actor_unref(&r->actor);
}

/* The user left the meeting (user_id NULL: the meeting no longer enables
 * an embed provider): those sessions' embed credentials go, the sockets
 * stay (the client closes them itself). */
void room_embed_forget(room_t *r, const char *user_id)
{
	for (participant_t *p = r->head; p != NULL; p = p->next)
		if (p->embed != NULL && (user_id == NULL || strcmp(p->user_id, user_id) == 0))
			embed_cred_wipe(&p->embed);
}

/* --- vcd.rooms.{id}: the other nodes ---------------------------------------------- */

static uint64_t session_of(json_t *j, const char *key)
{
	const char *s = json_string_value(json_object_get(j, key));

	return s != NULL ? strtoull(s, NULL, 10) : 0;
}

static void answer_sync(room_t *r)
{
	json_t *members = json_array();
	char sid[24];

	for (participant_t *p = r->head; p != NULL; p = p->next) {
		if (!p->active || p->observer)
			continue;
		snprintf(sid, sizeof(sid), "%" PRIu64, p->session_id);
		json_array_append_new(members, json_pack("{s:s,s:s,s:s}", "user", p->user_id,
		                                         "session", sid, "name", p->display_name));
	}
	lobby_ctl_publish(r, json_pack("{s:s,s:I,s:b,s:o}", "op", "members", "started_ms",
	                               (json_int_t)r->started_ms, "announced", r->announced,
	                               "members", members));
}

static void take_members(room_t *r, json_t *j)
{
	json_t *list = json_object_get(j, "members"), *e;
	json_int_t started = json_integer_value(json_object_get(j, "started_ms"));
	size_t i;

	if (started > 0 && (uint64_t)started < r->started_ms)
		r->started_ms = (uint64_t)started;
	if (json_is_true(json_object_get(j, "announced")))
		r->announced = true;
	json_array_foreach(list, i, e)
	{
		const char *user = json_string_value(json_object_get(e, "user"));
		const char *name = json_string_value(json_object_get(e, "name"));
		uint64_t session = session_of(e, "session");

		if (user != NULL && remote_add(r, user, session, name) && r->settled)
			tell_joiners(r, r->remote);
		if (user != NULL)
			r->announced = true;
	}
}

void room_control(room_t *r, json_t *j)
{
	const char *op = json_string_value(json_object_get(j, "op"));
	const char *user = json_string_value(json_object_get(j, "user"));
	const char *why = json_string_value(json_object_get(j, "reason"));

	if (op == NULL)
		return;
	if (strcmp(op, "sync") == 0) {
		answer_sync(r);
	} else if (strcmp(op, "members") == 0) {
		take_members(r, j);
	} else if (strcmp(op, "leaving") == 0 && user != NULL) {
		departure_t *d = departure_new(r, user, session_of(j, "session"), NULL, true, true);
		d->until = (double)vc_now_ms() / 1000.0 + vc_config_get()->lobby_reconnect_grace;
	} else if (strcmp(op, "back") == 0 && user != NULL) {
		/* The user reappeared on another node: no LEFT for the old session. */
		departure_t *d = departure_of(r, user, false);
		if (d != NULL) {
			departure_unlink(r, d);
			departure_free(d);
		}
		while ((d = departure_of(r, user, true)) != NULL) {
			departure_unlink(r, d);
			departure_free(d);
		}
		remote_remove(r, session_of(j, "old_session"));
		remote_add(r, user, session_of(j, "session"),
		           json_string_value(json_object_get(j, "name")));
		maybe_close(r);
	} else if (strcmp(op, "end") == 0) {
		room_end(r);
	} else if (strcmp(op, "embed_forget") == 0) {
		room_embed_forget(r, user); /* no user: every session's */
	} else if (strcmp(op, "kick") == 0 && user != NULL) {
		room_kick(r, user, VC_WS_REMOVED, why != NULL ? why : "removed from the meeting");
	}
}

/* --- vcctl ----------------------------------------------------------------------- */

json_t *room_describe(room_t *r)
{
	json_t *sessions = json_array(), *remote = json_array();
	char sid[24];

	for (participant_t *p = r->head; p != NULL; p = p->next) {
		vc_ws_info_t info = { 0 };
		if (p->ws != NULL)
			vc_ws_info(p->ws, &info);
		snprintf(sid, sizeof(sid), "%" PRIu64, p->session_id);
		json_array_append_new(
		        sessions,
		        json_pack("{s:s,s:s,s:s,s:s,s:s,s:b,s:b,s:I,s:I,s:I,s:I,s:I,s:I}",
		                  "session", sid, "user", p->user_id, "name", p->display_name,
		                  "node", vc_nats_node_id(), "state",
		                  p->active ? "active" : "testing", "observer", p->observer,
		                  "embed", p->embed != NULL, "bytes_in", (json_int_t)info.bytes_in,
		                  "bytes_out", (json_int_t)info.bytes_out, "messages_in",
		                  (json_int_t)info.messages_in, "messages_out",
		                  (json_int_t)info.messages_out, "dropped",
		                  (json_int_t)info.dropped, "queued", (json_int_t)info.queued));
	}
	for (remote_t *m = r->remote; m != NULL; m = m->next) {
		snprintf(sid, sizeof(sid), "%" PRIu64, m->session_id);
		json_array_append_new(remote, json_pack("{s:s,s:s,s:s}", "session", sid, "user",
		                                        m->user_id, "name", m->display_name));
	}
	return json_pack("{s:s,s:I,s:b,s:o,s:o}", "room", r->id, "started_ms",
	                 (json_int_t)r->started_ms, "clustered", r->clustered, "sessions", sessions,
	                 "remote", remote);
}
