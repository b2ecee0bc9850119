/*
 * lobby_int.h — what actors/lobby.c (routes, the per-worker registry, the
 * NATS control subject, vcctl), actors/room.c (a room on this node) and
 * actors/participant.c (one /lobby connection) share.
 *
 * Threads: a room, its participants and the registry that holds it live on
 * one worker (the room's); they call each other directly. Other threads
 * reach them by message: the registry actor (meetings, NATS control, vcctl)
 * and the room actor (NATS media and system packets, timers).
 */
#ifndef VC_LOBBY_INT_H
#define VC_LOBBY_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "actors/grants.h"
#include "actors/lobby.h"
#include "runtime/actor.h"
#include "runtime/nats.h"
#include "runtime/shared.h"
#include "wire/proto.h"
#include "wire/ws.h"

#define LOBBY_SETTLE 0.3 /* seconds a new room waits for other nodes' members */
#define KEYFRAME_MAX 2   /* KEYFRAME_REQUEST per session per second */
#define ROOM_SUBJECT_MAX (VC_ROOM_ID_MAX + 32)
#ifndef VC_ROOM_ID_MAX
#define VC_ROOM_ID_MAX 255
#endif

typedef struct room room_t;
typedef struct lobby lobby_t;
typedef struct embed_cred embed_cred_t; /* actors/embed.c */
typedef struct embed_q embed_q_t;

/* One /lobby connection (actors/participant.c). */
typedef struct participant {
	vc_actor_t actor; /* mailbox: P_CLOSE from vcctl */
	vc_ws_t *ws;      /* NULL once the socket is gone */
	room_t *room;     /* NULL until the socket reached the room's worker */
	char *room_id;    /* until then */
	char *user_id, *display_name;
	uint64_t session_id;
	bool observer;
	uint8_t may_publish; /* enum vc_grant bits: the token's can_publish_sources */
	bool active;         /* sent a packet that is not an RTT probe */
	bool reconnect;      /* came back within the grace: no PARTICIPANT_JOINED */
	bool welcomed;       /* got MEETING_STARTED and the member list */
	bool announced_join; /* its activation was dealt with (JOINED or not) */
	bool quiet;          /* removed by a kick: the meeting announced it, no LEFT */
	embed_cred_t *embed; /* embed credentials (embed.c), NULL when none */
	uint64_t kf_window_ms;
	uint32_t kf_count;
	struct participant *prev, *next; /* the room's members */
} participant_t;

/* A member of the room on another node, as this node believes. */
typedef struct remote {
	char *user_id, *display_name;
	uint64_t session_id;
	struct remote *next;
} remote_t;

/* A PARTICIPANT_LEFT that waits out the grace (here), or that another node
 * announced it waits out (`node` set: nothing to send, only to cancel). */
typedef struct departure {
	char *user_id, *display_name;
	uint64_t session_id;
	bool was_active;
	bool remote;
	double until;
	vc_timer_t timer; /* local ones */
	struct departure *next;
} departure_t;

/* Per-room counters /metrics can read from any thread. */
typedef struct room_stats {
	char *room_id;
	_Atomic int64_t sessions;
	_Atomic uint64_t dropped;
	struct room_stats *next;
} room_stats_t;

struct room {
	vc_actor_t actor; /* mailbox: NATS packets, timers */
	lobby_t *lobby;
	char *id;
	bool clustered; /* has NATS subjects (NATS on and the id makes a subject) */
	char subject_prefix[ROOM_SUBJECT_MAX]; /* "room.{id}." */
	participant_t *head, *tail;
	unsigned nlocal, nobservers;
	remote_t *remote;
	departure_t *departures;
	uint64_t started_ms; /* when the room's first session connected, any node */
	bool settled;        /* other nodes have had their chance to answer sync */
	bool announced;      /* MEETING_STARTED went to the room */
	bool ending;         /* room_end is closing every session: no LEFT */
	bool end_sent;       /* a MEETING_ENDED reached the sessions lately */
	bool closing;        /* left the registry */
	vc_nats_sub_t *sub;
	vc_timer_t settle_timer;
	room_stats_t *stats;
	room_t *reg_next;
};

struct lobby {
	vc_actor_t actor; /* mailbox: meetings, NATS control, vcctl */
	vc_worker_t *w;
	room_t *rooms[256];
	unsigned nrooms;
	/* counters of this worker, written here only */
	_Atomic int64_t sessions, observers, rooms_open;
	_Atomic uint64_t sessions_total, relayed, from_nats, published;
	_Atomic uint64_t dropped[VC_DROP_COUNT];
};

/* Room actor messages. */
enum { R_NATS, R_READY, R_SETTLE, R_DEPART, R_COUNT };
typedef struct room_nats_msg {
	vc_msg_t msg;
	vc_shared_t *payload;
	uint64_t from_session; /* room.{id}.{session}; 0 for .system */
	bool system;
} room_nats_msg_t;
typedef struct room_depart_msg {
	vc_msg_t msg;
	departure_t *d;
} room_depart_msg_t;

/* lobby.c */
lobby_t *lobby_of(vc_worker_t *w);
vc_worker_t *lobby_home(const char *room_id);
room_t *lobby_find(lobby_t *l, const char *room_id);
void lobby_add(lobby_t *l, room_t *r);
void lobby_remove(lobby_t *l, room_t *r);
void lobby_count_drop(lobby_t *l, enum vc_lobby_drop why);
/* Publish a control message {op, node, ...} on vcd.rooms.{room} (steals j). */
void lobby_ctl_publish(const room_t *r, json_t *j);
room_stats_t *lobby_stats_add(const char *room_id);
void lobby_stats_remove(room_stats_t *s);

/* room.c */
room_t *room_open(lobby_t *l, const char *room_id);
void room_join(room_t *r, participant_t *p);
void room_leave(room_t *r, participant_t *p);
void room_activated(room_t *r, participant_t *p);
void room_relay(room_t *r, participant_t *from, vc_shared_t *msg);
void room_system(room_t *r, vc_shared_t *packet, const participant_t *except);
void room_end(room_t *r);
/* At exit: close what is left and take the room out, departures and all. */
void room_drop(room_t *r);
void room_kick(room_t *r, const char *user_id, int code, const char *why);
void room_control(room_t *r, json_t *j);
json_t *room_describe(room_t *r);
participant_t *room_find_session(room_t *r, uint64_t session_id);
/* System packets (PacketWrapper MEETING, user_id = the system id). */
vc_shared_t *lobby_meeting_packet(const vc_meeting_packet_t *m);

/* embed.c: a session's embed credentials, and the lookups of them. */
/* Is key an embed_key: 32 to 128 characters of [A-Za-z0-9_-]? */
bool embed_key_valid(const char *key);
/* SHA-256(key) and a new authToken for a session of room_id, in memory of
 * their own; NULL for a room id no meeting can have. */
embed_cred_t *embed_cred_new(const char *key, const char *room_id);
/* Zero and free *c (NULL is fine); *c is NULL afterwards. */
void embed_cred_wipe(embed_cred_t **c);
/* On the room's worker: answer q from this node's sessions (steals q). */
void embed_lookup(lobby_t *l, embed_q_t *q);
/* Any thread: free q; a request still waiting for it is answered "no". */
void embed_q_free(embed_q_t *q);
/* Another node's question (JSON, vcd-protocol(7) "Embed credentials over
 * NATS"): NULL when malformed. Pure (t/fuzz/fuzz_embed.c). */
embed_q_t *embed_question_parse(const void *data, size_t len, bool verify);
/* lobby.c: hand q to its room's registry (any thread; steals q). */
void lobby_embed_ask(embed_q_t *q, const char *room_id);
/* room.c: wipe the embed credentials of user_id's sessions in r. */
void room_embed_forget(room_t *r, const char *user_id);

/* participant.c */
participant_t *participant_new(const char *room_id, const char *user_id, const char *display_name,
                               bool observer, unsigned may_publish);
void participant_free(participant_t *p);
extern const vc_ws_ops_t participant_ws_ops;
/* Send on p's socket (reliable: control; else lossy media). */
void participant_send(participant_t *p, vc_shared_t *msg, bool reliable);
/* Close p's socket with code (after what is queued) and take p out of its room. */
void participant_close(participant_t *p, int code, const char *reason);
/* From any thread: ask p's actor to close it (the caller holds a reference). */
void participant_kick_later(participant_t *p, int code, const char *reason);

#endif
