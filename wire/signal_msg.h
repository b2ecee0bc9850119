/*
 * signal_msg.h — the messages of the signaling WebSocket /ws, in one table
 * (doc/signaling.md).
 *
 * Every message is a JSON object in a text frame with a "type" member. One
 * row per type says which way it travels, the members it must or may have
 * and their JSON types, whether the connection must have identified first,
 * how it is relayed and which limit it counts against. The table drives the
 * dispatch (actors/signal.c), the validation below, `vcd --list-messages`
 * (which t/check-docs.sh holds against vcd-protocol(7)) and the dictionary
 * of t/fuzz/fuzz_signal.c.
 */
#ifndef VC_SIGNAL_MSG_H
#define VC_SIGNAL_MSG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum vc_sig_type {
	/* client → server */
	VC_SIG_IDENTIFY,
	VC_SIG_PING,
	VC_SIG_JOIN_SERVER,
	VC_SIG_LEAVE_SERVER,
	VC_SIG_SERVER_USERS, /* also server → client, the answer */
	VC_SIG_CHAT_MESSAGE, /* relayed types travel both ways */
	VC_SIG_USER_TYPING,
	VC_SIG_VOICE_STATE,
	VC_SIG_OFFER,
	VC_SIG_ANSWER,
	VC_SIG_ICE_CANDIDATE,
	VC_SIG_DIRECT_MESSAGE,
	VC_SIG_DIRECT_CALL,
	VC_SIG_SERVER_ICON,
	VC_SIG_SERVER_UPDATE,
	VC_SIG_ACCOUNT_SYNC,
	VC_SIG_VOICE_TAKEOVER,
	/* server → client only */
	VC_SIG_IDENTIFIED,
	VC_SIG_AUTH_REQUIRED,
	VC_SIG_AUTH_ERROR,
	VC_SIG_ERROR,
	VC_SIG_PONG,
	VC_SIG_USER_JOINED,
	VC_SIG_USER_LEFT,
	VC_SIG_ACCOUNT_SYNC_ACK,
	VC_SIG_ACCOUNT_SYNC_RESET,
	VC_SIG_PEER_ONLINE,
	VC_SIG_COUNT
};

enum vc_sig_dir { VC_SIG_IN = 1, VC_SIG_OUT = 2, VC_SIG_BOTH = 3 };

/* Where an incoming message goes. */
enum vc_sig_relay {
	VC_RELAY_NONE,    /* handled by the server */
	VC_RELAY_SERVER,  /* every other connection joined to serverId */
	VC_RELAY_VOICE,   /* targetUserId's voice owner (all of it without one) */
	VC_RELAY_USER,    /* every connection of targetUserId */
	VC_RELAY_SHARED,  /* targetUserId, when sender and target share serverId */
	VC_RELAY_ACCOUNT, /* the sender's other connections, persisted first */
};

/* What a message counts against (signal_rate has a bucket per class). */
enum vc_sig_limit { VC_LIMIT_CONTROL, VC_LIMIT_RELAY };

enum vc_sig_json { J_STRING = 1, J_INTEGER = 2, J_ANY = 3, J_OBJECT = 4 };

typedef struct vc_sig_field {
	const char *name;
	enum vc_sig_json json;
	bool required;
} vc_sig_field_t;

#define VC_SIG_MAX_FIELDS 8

typedef struct vc_sig_row {
	const char *name;
	enum vc_sig_dir dir;
	bool before_identify; /* allowed before identify */
	enum vc_sig_relay relay;
	enum vc_sig_limit limit;
	vc_sig_field_t fields[VC_SIG_MAX_FIELDS]; /* ends at name == NULL */
	const char *help;                         /* one line, for --list-messages */
} vc_sig_row_t;

const vc_sig_row_t *vc_sig_row(enum vc_sig_type t);

/* The "type" a client sent in obj, for an error's "ref": NULL when there is
 * none, or when it is longer than VC_SIG_REF_MAX bytes (not echoed back). */
#define VC_SIG_REF_MAX 64
const char *vc_sig_ref(const json_t *obj);

/* Parse one incoming text message. On success *type and *obj are set and
 * NULL is returned; otherwise the error code ("bad_message", "unknown_type")
 * and *why (static text) say what is wrong, *type is the type when it was
 * known (else VC_SIG_COUNT) and *obj is the message when it was a JSON
 * object (else NULL), so that an error can name the type the client sent.
 * The caller decrefs *obj either way. */
const char *vc_sig_parse(const char *text, size_t len, enum vc_sig_type *type, json_t **obj,
                         const char **why);

/* A message of `type` as JSON text (malloc'd): members of `body` (not
 * stolen) after "type". */
char *vc_sig_encode(enum vc_sig_type type, const json_t *body);

/* `vcd --list-messages`: "name direction" per line. */
void vc_sig_print_table(FILE *out);

#endif
