/*
 * signal_int.h — what actors/signal.c (the /ws route and the session
 * actors), actors/signal_hub.c (users and servers of one worker) and
 * actors/signal_cluster.c (the other nodes) share (doc/signaling.md).
 *
 * A session actor lives on the worker of its socket. Users and servers are
 * records placed by a hash of their id on one worker and owned there by
 * that worker's hub actor: everything addressed to a user or a server is a
 * message to the hub of its worker, which finds the record and acts on it
 * at once (one hop). Sessions get what is for them as messages to their
 * own actor.
 */
#ifndef VC_SIGNAL_INT_H
#define VC_SIGNAL_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "actors/auth.h"
#include "actors/session_cache.h"
#include "actors/signal.h"
#include "runtime/actor.h"
#include "runtime/nats.h"
#include "runtime/shared.h"
#include "wire/signal_msg.h"
#include "wire/ws.h"

#define SIG_IDENTIFY_TIMEOUT 10.0 /* seconds to send identify */
#define SIG_IDENTIFY_TRIES 5
#define SIG_SETTLE 0.3        /* seconds a server new on this node waits for the others */
#define SIG_REFUSALS_CLOSE 10 /* rate-limited messages in a row that close */
#define SIG_ID_MAX 200        /* bytes of ids and names from clients */

enum sig_close {
	SIG_CLOSE_IDENTIFY_TIMEOUT = 4003,
	SIG_CLOSE_RATE = 4008,
	SIG_CLOSE_REPLACED = 4503,
	SIG_CLOSE_REVOKED = 4504,
	SIG_CLOSE_IDENTIFY_FAILED = 4505,
};

typedef struct sig_session sig_session_t;
typedef struct sig_hub sig_hub_t;

/* --- session actor messages ------------------------------------------------ */
enum {
	S_PG,       /* a PostgreSQL answer for the step in progress */
	S_DELIVER,  /* a frame to send (a relayed message, an event) */
	S_ATTACHED, /* the hub registered the session with its user */
	S_CLOSE,    /* close with a code (replaced, revoked) */
	S_RECHECK,  /* a session may have been revoked: ask again */
	S_TIMEOUT,  /* identify did not come in time */
	S_JOINED,   /* the hub's answer to a join: the users present */
	S_COUNT
};

typedef struct sig_deliver_msg {
	vc_msg_t msg;
	vc_shared_t *frame; /* a framed text message */
	uint64_t seq;       /* an account_sync's seq, else 0 */
} sig_deliver_msg_t;

typedef struct sig_close_msg {
	vc_msg_t msg;
	int code;
	char reason[64];
} sig_close_msg_t;

typedef struct sig_attached_msg {
	vc_msg_t msg;
	uint64_t sync_seq; /* the user's last seq this node knows of (0: unknown) */
} sig_attached_msg_t;

typedef struct sig_joined_msg {
	vc_msg_t msg;
	json_t *answer; /* the server_users message's body (stolen) */
} sig_joined_msg_t;

/* --- hub messages ---------------------------------------------------------- */
enum {
	H_ATTACH,       /* a session identified: add it to its user */
	H_DETACH,       /* a session ended: take it out of its user and servers */
	H_JOIN,         /* a session joins a server (membership already checked) */
	H_LEAVE,        /* ... leaves it */
	H_USERS,        /* server_users: who is present */
	H_TO_SERVER,    /* a frame for a server's connections but one */
	H_TO_USER,      /* a frame for a user's connections (voice owner, all, others) */
	H_SYNCED,       /* an account_sync was stored: deliver it */
	H_VOICE,        /* a voice owner changed */
	H_REMOTE,       /* a message from another node (vcd.sig.*) */
	H_REVOKED,      /* sessions were forgotten: recheck the matching ones */
	H_SETTLED,      /* a server's wait for the other nodes is over */
	H_SUB_READY,    /* a user's NATS subscription is active: parked attaches go on */
	H_SERVER_READY, /* a server's is: say hello to the other nodes, then settle */
	H_COUNT
};

enum sig_to { TO_VOICE, TO_ALL, TO_OTHERS };

typedef struct sig_hub_msg {
	vc_msg_t msg;
	char *id;                        /* the user's or the server's id */
	vc_actor_t *session;             /* the session concerned (a reference) */
	uint64_t conn;                   /* its connection id */
	char *user_id, *name;            /* ATTACH, JOIN: who */
	char *scope, *instance;          /* ATTACH */
	vc_shared_t *frame;              /* TO_*, SYNCED */
	uint64_t seq;                    /* SYNCED */
	enum sig_to to;                  /* TO_USER */
	int64_t generation;              /* VOICE */
	int64_t db_session;              /* ATTACH: sessions.id, for revocations */
	uint8_t token_hash[32];          /* ATTACH */
	char *previous;                  /* VOICE */
	json_t *json;                    /* REMOTE, REVOKED */
	void *record;                    /* SETTLED */
	struct sig_hub_msg *parked_next; /* ATTACH, while its user waits for NATS */
} sig_hub_msg_t;

/* signal_hub.c */
void sig_hub_init(void);
sig_hub_msg_t *sig_hub_msg(uint32_t type, const char *id);
/* Send to the hub of id's worker (users and servers are placed by id). */
void sig_hub_send(sig_hub_msg_t *m);
void sig_hub_worker_start(vc_worker_t *w);
void sig_hub_worker_stop(vc_worker_t *w);
void sig_hub_stats(vc_signal_stats_t *out);

/* signal.c */
/* A session's frame, for hubs: framed text of `type` with body (not stolen). */
vc_shared_t *sig_frame(enum vc_sig_type type, const json_t *body);
void sig_deliver(vc_actor_t *session, vc_shared_t *frame, uint64_t seq);
void sig_close_session(vc_actor_t *session, int code, const char *reason);

/* signal_cluster.c: vcd.sig.user.{id} and vcd.sig.server.{id} */
void sig_cluster_publish(const char *kind, const char *id, json_t *j);
/* Subscribe to kind's subject for id. ready_gen != 0: when the
 * subscription is active (vc_nats_sub_ready), id's hub gets H_SUB_READY
 * (a user) or H_SERVER_READY with generation = ready_gen. NULL with NATS
 * off. */
vc_nats_sub_t *sig_cluster_sub(const char *kind, const char *id, uint64_t ready_gen);

#endif
