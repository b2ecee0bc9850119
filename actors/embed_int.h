/*
 * embed_int.h — what actors/embed.c (the credentials, the lookups, the
 * cross-node questions) and actors/embed_http.c (the fetch route, the
 * authToken as a credential) share. See embed.h.
 */
#ifndef VC_EMBED_INT_H
#define VC_EMBED_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "actors/embed.h"
#include "actors/lobby_int.h"

/* Fetches answered (embed.c holds them, embed_http.c counts). */
extern _Atomic uint64_t embed_fetch_given, embed_fetch_null;

#define KEY_MIN 32
#define KEY_MAX 128
#define NODE_LEN 16   /* vc_nats_node_id(): 16 hex characters */
#define SECRET_LEN 32 /* random bytes of an authToken */
#define SECRET_B64 43 /* ... in unpadded base64url */
#define TOKEN_MAX                                                                                  \
	(sizeof(VC_EMBED_TOKEN_PREFIX) + NODE_LEN + 1 + VC_ROOM_ID_MAX + 1 + SECRET_B64 + 1)
#define URLSAFE "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"

enum q_op { Q_FETCH, Q_VERIFY };

struct embed_q {
	enum q_op op;
	char *room;
	char *user;              /* fetch: the room token's sub */
	uint8_t hash[32];        /* SHA-256 of the key (fetch) or of the authToken (verify) */
	char node[NODE_LEN + 1]; /* verify: the holder */
	vc_actor_t *http;        /* a request of this node waiting for the answer */
	bool asked;              /* this node's sessions were looked at */
	char *reply;             /* a question from another node: where to answer */
	char id[24];             /* ... and its id there */
};

/* The answer a waiting request gets (VC_HTTP_MSG_REPLY). */
typedef struct embed_answer {
	vc_msg_t msg;
	bool ok;
	char *user, *name, *token;
} embed_answer_t;

/* A new question about room (its other fields zero). */
embed_q_t *embed_q_new(enum q_op op, const char *room);
/* Zero the string member key of j (jansson's own copy) before j goes. */
void embed_json_wipe(json_t *j, const char *key);
/* Any thread: ask the other nodes (the asker on worker 0; steals q). */
void embed_ask_others(embed_q_t *q);

#endif
