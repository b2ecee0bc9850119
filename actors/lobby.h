/*
 * lobby.h — the media WebSocket /lobby: participants and rooms (design and
 * wire behaviour: doc/lobby.md; for clients: vcd-protocol(7)).
 *
 * Each /lobby connection is a participant actor; each room with sessions on
 * this node is a room actor; both live on the room's worker (the socket
 * moves there at the upgrade). Everything here may be called from any
 * thread: the work is sent to the room's worker.
 */
#ifndef VC_LOBBY_H
#define VC_LOBBY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/worker.h"
#include "wire/admin.h"
#include "wire/http.h"

/* Main thread, before the workers: the node-wide NATS subscriptions. */
int vc_lobby_init(void) VC_MUSTCHECK;
/* On each worker: its registry of rooms; at exit, release them. */
void vc_lobby_worker_start(vc_worker_t *w);
void vc_lobby_worker_stop(vc_worker_t *w);

/* The routes: GET /lobby?token=JWT and the deprecated GET /lobby/{user_id}/{room}. */
void vc_lobby_route(vc_http_req_t *req);
void vc_lobby_route_legacy(vc_http_req_t *req);

/* What the meeting actors tell the media sessions of a room, after their
 * commit. A system event (a serialized PacketWrapper) vcd published on
 * room.{id}.system reaches this node's sessions too (NATS does not echo). */
void vc_lobby_system_event(const char *room_id, const void *packet, size_t len);
/* The meeting ended or was deleted: MEETING_ENDED to the room's sessions on
 * every node (unless they just got one), then close 4500. */
void vc_lobby_end(const char *room_id);
/* A user was kicked or rejected: close that user's sessions of the room on
 * every node with 4501. */
void vc_lobby_kick(const char *room_id, const char *user_id, const char *why);
/* A user left the meeting (the meeting API): wipe the embed credentials of
 * that user's sessions of the room on every node; the sockets stay open.
 * user_id NULL: the meeting's embed provider was switched off, every
 * session's credentials go. */
void vc_lobby_embed_forget(const char *room_id, const char *user_id);

/* vcctl: `rooms list`, `rooms show ROOM`, `sessions kick SESSION_ID`. */
void vc_lobby_admin_rooms_list(vc_admin_req_t *req, int argc, char **argv);
void vc_lobby_admin_rooms_show(vc_admin_req_t *req, int argc, char **argv);
void vc_lobby_admin_sessions_kick(vc_admin_req_t *req, int argc, char **argv);

/* Why a packet was not delivered. */
enum vc_lobby_drop {
	VC_DROP_SLOW_CONSUMER,
	VC_DROP_KEYFRAME_LIMIT,
	VC_DROP_OBSERVER,
	VC_DROP_CONGESTION,
	VC_DROP_HEALTH,
	VC_DROP_NATS_TOO_BIG,
	VC_DROP_FORGED,
	VC_DROP_NOT_GRANTED, /* media of a source the token does not grant */
	VC_DROP_COUNT
};
/* Counters for /metrics (summed over workers). */
typedef struct vc_lobby_stats {
	int64_t rooms, sessions, observers;
	uint64_t sessions_total, relayed, from_nats, published;
	uint64_t dropped[VC_DROP_COUNT];
} vc_lobby_stats_t;
extern const char *const vc_lobby_drop_names[VC_DROP_COUNT];
void vc_lobby_stats(vc_lobby_stats_t *out);
/* Per room (at most VC_LOBBY_ROOM_METRICS rooms are listed): calls fn for
 * each room with sessions on this node. */
#define VC_LOBBY_ROOM_METRICS 1000
void vc_lobby_room_metrics(void (*fn)(void *arg, const char *room, int64_t sessions,
                                      uint64_t dropped),
                           void *arg);

#endif
