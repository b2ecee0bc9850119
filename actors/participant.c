/*
 * participant.c — one /lobby connection: the packet rules of a videocall.rs
 * media session (doc/lobby.md "Packet rules").
 *
 * A participant is created on the worker that granted the upgrade, then
 * lives on its room's worker, where the socket moved: on_open joins the
 * room, on_message applies the rules below, on_close leaves. Its state is
 * touched only there — by these callbacks, by its room (same worker) and by
 * its actor's handler (P_CLOSE, sent by vcctl from another thread).
 *
 *   packet (binary message)                    rule
 *   ─────────────────────────────────────────  ───────────────────────────────
 *   MEDIA whose MediaPacket is an RTT probe    echoed to the sender only
 *   HEALTH                                     not relayed
 *   CONGESTION                                 dropped (clients may not send it)
 *   MEETING, SESSION_ASSIGNED, or from the     dropped (only the server speaks
 *   system user id                             for the system)
 *   MEDIA KEYFRAME_REQUEST                     relayed, at most 2 per second
 *   MEDIA VIDEO, AUDIO, SCREEN whose source    dropped (grants.h)
 *   the token does not grant; MEDIA vcd
 *   cannot read, and what is not a
 *   PacketWrapper, unless it grants them all
 *   anything else, or not a PacketWrapper      relayed to the room
 *   anything but an RTT probe, from observers  dropped
 *
 * The first packet that is not an RTT probe activates the session (the
 * room then announces it), whether it is relayed or dropped: a session
 * whose camera is not granted is live all the same.
 */
#include "actors/lobby_int.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/log.h"

enum { P_CLOSE, P_COUNT };

typedef struct close_msg {
	vc_msg_t msg;
	int code;
	char reason[64];
} close_msg_t;

enum packet_kind { K_RTT, K_HEALTH, K_CONGESTION, K_KEYFRAME, K_DATA, K_FORGED };

/* As the original classifies: a packet that does not parse is data.
 * *needs: the grants its relay takes (vc_grants_needed; a packet that does
 * not parse is media vcd cannot read, fail closed), 0 when not media. */
static enum packet_kind classify(const vc_shared_t *msg, vc_packet_view_t *v, bool *parsed,
                                 unsigned *needs)
{
	uint64_t media_type;
	bool readable;

	*needs = 0;
	*parsed = vc_packet_wrapper_decode(msg->data, msg->len, v);
	if (!*parsed) {
		*needs = VC_GRANT_MEDIA;
		return K_DATA;
	}
	/* What only the server says (vcd's difference: the original relays a
	 * client's forged MEETING_ENDED to the whole room). */
	if (v->packet_type == VC_PACKET_MEETING || v->packet_type == VC_PACKET_SESSION_ASSIGNED ||
	    (v->user_id.len == strlen(VC_SYSTEM_USER_ID) &&
	     memcmp(v->user_id.p, VC_SYSTEM_USER_ID, v->user_id.len) == 0))
		return K_FORGED;
	switch (v->packet_type) {
	case VC_PACKET_CONGESTION: return K_CONGESTION;
	case VC_PACKET_HEALTH: return K_HEALTH;
	case VC_PACKET_MEDIA:
		readable = vc_media_packet_type(v->data.p, v->data.len, &media_type);
		*needs = vc_grants_needed(readable, media_type);
		if (!readable)
			return K_DATA;
		if (media_type == VC_MEDIA_RTT)
			return K_RTT;
		return media_type == VC_MEDIA_KEYFRAME_REQUEST ? K_KEYFRAME : K_DATA;
	default: return K_DATA;
	}
}

/* At most KEYFRAME_MAX per fixed one-second window (the original's limiter). */
static bool keyframe_allowed(participant_t *p)
{
	uint64_t now = vc_now_ms();

	if (now - p->kf_window_ms > 1000) {
		p->kf_window_ms = now;
		p->kf_count = 0;
	}
	if (p->kf_count >= KEYFRAME_MAX)
		return false;
	p->kf_count++;
	return true;
}

/* A relayed wrapper without a session id gets the sender's: the field is
 * appended (see vc_packet_session_id_field). Returns the packet to relay. */
static vc_shared_t *with_session_id(participant_t *p, vc_shared_t *msg)
{
	uint8_t field[11];
	size_t n = vc_packet_session_id_field(p->session_id, field);
	vc_shared_t *out = vc_shared_new(msg->len + n);

	memcpy(out->data, msg->data, msg->len);
	memcpy(out->data + msg->len, field, n);
	vc_shared_unref(msg);
	return out;
}

static void on_message(vc_ws_t *ws, void *user, vc_shared_t *msg)
{
	participant_t *p = user;
	room_t *r = p->room;
	vc_packet_view_t v;
	bool parsed;
	unsigned needs;
	enum packet_kind kind = classify(msg, &v, &parsed, &needs);

	if (kind != K_RTT && !p->active)
		room_activated(r, p);
	if (p->ws == NULL) { /* activation may have closed it (a room that ended) */
		vc_shared_unref(msg);
		return;
	}
	switch (kind) {
	case K_RTT: participant_send(p, msg, true); break;
	case K_HEALTH: lobby_count_drop(r->lobby, VC_DROP_HEALTH); break;
	case K_CONGESTION: lobby_count_drop(r->lobby, VC_DROP_CONGESTION); break;
	case K_FORGED: lobby_count_drop(r->lobby, VC_DROP_FORGED); break;
	case K_KEYFRAME:
		if (p->observer) {
			lobby_count_drop(r->lobby, VC_DROP_OBSERVER);
		} else if (!keyframe_allowed(p)) {
			lobby_count_drop(r->lobby, VC_DROP_KEYFRAME_LIMIT);
		} else {
			if (parsed && v.session_id == 0)
				msg = with_session_id(p, msg);
			room_relay(r, p, msg);
		}
		break;
	case K_DATA:
		if (p->observer) {
			lobby_count_drop(r->lobby, VC_DROP_OBSERVER);
			break;
		}
		if ((needs & ~p->may_publish) != 0) {
			lobby_count_drop(r->lobby, VC_DROP_NOT_GRANTED);
			break;
		}
		if (parsed && v.session_id == 0)
			msg = with_session_id(p, msg);
		room_relay(r, p, msg);
		break;
	}
	vc_shared_unref(msg);
}

/* The system user may not have a session (videocall.rs's SessionManager). */
static void reject_system_user(participant_t *p)
{
	vc_meeting_packet_t m = {
		.event_type = VC_EV_MEETING_ENDED,
		.room_id = p->room_id,
		.message = "Session rejected: Cannot use reserved system user ID",
	};
	vc_shared_t *s = lobby_meeting_packet(&m);

	log_warn("lobby: a token for the reserved system user id tried to join room '%s'",
	         p->room_id);
	vc_ws_send(p->ws, s, VC_WS_RELIABLE);
	vc_shared_unref(s);
	vc_ws_close(p->ws, VC_WS_POLICY, "Session rejected");
	p->ws = NULL;
	participant_free(p);
}

static void on_open(vc_ws_t *ws, void *user)
{
	participant_t *p = user;
	lobby_t *l = lobby_of(vc_worker_self());
	room_t *r;

	p->ws = ws;
	if (strcmp(p->user_id, VC_SYSTEM_USER_ID) == 0) {
		reject_system_user(p);
		return;
	}
	do
		randombytes_buf(&p->session_id, sizeof(p->session_id));
	while (p->session_id == 0);
	vc_actor_init(&p->actor, p->actor.beh, vc_worker_self(), p);
	r = lobby_find(l, p->room_id);
	if (r == NULL)
		r = room_open(l, p->room_id);
	room_join(r, p);
}

static void on_close(vc_ws_t *ws, void *user, int code)
{
	participant_t *p = user;

	p->ws = NULL;
	if (p->room != NULL)
		room_leave(p->room, p);
	else
		participant_free(p); /* never reached its room (vcd is draining) */
}

const vc_ws_ops_t participant_ws_ops = {
	.on_open = on_open,
	.on_message = on_message,
	.on_close = on_close,
};

void participant_send(participant_t *p, vc_shared_t *msg, bool reliable)
{
	if (p->ws == NULL)
		return;
	if (!vc_ws_send(p->ws, msg, reliable ? VC_WS_RELIABLE : VC_WS_LOSSY) && !reliable) {
		lobby_count_drop(p->room->lobby, VC_DROP_SLOW_CONSUMER);
		if (p->room->stats != NULL)
			atomic_fetch_add_explicit(&p->room->stats->dropped, 1,
			                          memory_order_relaxed);
	}
}

void participant_close(participant_t *p, int code, const char *reason)
{
	if (p->ws != NULL) {
		vc_ws_close(p->ws, code, reason);
		p->ws = NULL;
	}
	room_leave(p->room, p);
}

/* --- the actor ------------------------------------------------------------- */

static int on_close_msg(vc_actor_t *self, vc_msg_t *m)
{
	participant_t *p = self->state;
	close_msg_t *c = (close_msg_t *)m;

	if (p->ws != NULL && p->room != NULL)
		participant_close(p, c->code, c->reason);
	return VC_MSG_DONE;
}

static const vc_handler_fn handlers[P_COUNT] = { [P_CLOSE] = on_close_msg };

static void participant_actor_free(vc_actor_t *a)
{
	participant_t *p = a->state;

	embed_cred_wipe(&p->embed); /* one that never reached its room */
	free(p->room_id);
	free(p->user_id);
	free(p->display_name);
	free(p);
}

static const vc_behaviour_t behaviour = {
	.name = "participant",
	.handlers = handlers,
	.nhandlers = P_COUNT,
	.free = participant_actor_free,
};

participant_t *participant_new(const char *room_id, const char *user_id, const char *display_name,
                               bool observer, unsigned may_publish)
{
	participant_t *p = vc_calloc(1, sizeof(*p));

	p->actor.beh = &behaviour; /* vc_actor_init runs on the room's worker */
	p->room_id = vc_strdup(room_id);
	p->user_id = vc_strdup(user_id);
	p->display_name = vc_strdup(display_name);
	p->observer = observer;
	p->may_publish = (uint8_t)may_publish;
	return p;
}

/* Before on_open the actor is not initialised: free by hand. After, the
 * last reference frees it on the home worker. */
void participant_free(participant_t *p)
{
	if (p->actor.home == NULL) {
		participant_actor_free(&(vc_actor_t){ .state = p });
		return;
	}
	vc_actor_stop(&p->actor);
	vc_actor_unref(&p->actor);
}

void participant_kick_later(participant_t *p, int code, const char *reason)
{
	close_msg_t *m = vc_msg_new(sizeof(*m), P_CLOSE);

	m->code = code;
	snprintf(m->reason, sizeof(m->reason), "%s", reason);
	vc_actor_send(&p->actor, &m->msg);
}
