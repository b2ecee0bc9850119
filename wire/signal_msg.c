/*
 * signal_msg.c — the /ws message table and its checks (wire/signal_msg.h).
 */
#include "wire/signal_msg.h"

#include <stdlib.h>
#include <string.h>

#include "runtime/vc.h"

#define F(n, j, r)                                                                                 \
	{                                                                                          \
		n, j, r                                                                            \
	}
#define SERVER_ID F("serverId", J_STRING, true)
#define TARGET F("targetUserId", J_STRING, true)

/* clang-format off */
static const vc_sig_row_t rows[VC_SIG_COUNT] = {
	[VC_SIG_IDENTIFY] = { "identify", VC_SIG_IN, true, VC_RELAY_NONE, VC_LIMIT_CONTROL,
		{ F("token", J_STRING, true), F("oderId", J_STRING, false),
		  F("displayName", J_STRING, false), F("connectionScope", J_STRING, false),
		  F("clientInstanceId", J_STRING, false), F("lastSyncSeq", J_INTEGER, false) },
		"prove who is connecting with a session token; first message of a connection" },
	[VC_SIG_PING] = { "ping", VC_SIG_IN, true, VC_RELAY_NONE, VC_LIMIT_CONTROL, { { 0 } },
		"answered with pong" },
	[VC_SIG_JOIN_SERVER] = { "join_server", VC_SIG_IN, false, VC_RELAY_NONE, VC_LIMIT_CONTROL,
		{ SERVER_ID }, "take part in a server the user is a member of" },
	[VC_SIG_LEAVE_SERVER] = { "leave_server", VC_SIG_IN, false, VC_RELAY_NONE, VC_LIMIT_CONTROL,
		{ SERVER_ID }, "stop taking part in a server" },
	[VC_SIG_SERVER_USERS] = { "server_users", VC_SIG_BOTH, false, VC_RELAY_NONE,
		VC_LIMIT_CONTROL, { SERVER_ID }, "who is present in a joined server" },
	[VC_SIG_CHAT_MESSAGE] = { "chat_message", VC_SIG_BOTH, false, VC_RELAY_SERVER,
		VC_LIMIT_RELAY, { SERVER_ID }, "relayed to the server's other connections" },
	[VC_SIG_USER_TYPING] = { "user_typing", VC_SIG_BOTH, false, VC_RELAY_SERVER,
		VC_LIMIT_RELAY, { SERVER_ID }, "relayed to the server's other connections" },
	[VC_SIG_VOICE_STATE] = { "voice_state", VC_SIG_BOTH, false, VC_RELAY_SERVER,
		VC_LIMIT_RELAY, { SERVER_ID }, "relayed to the server's other connections" },
	[VC_SIG_OFFER] = { "offer", VC_SIG_BOTH, false, VC_RELAY_VOICE, VC_LIMIT_RELAY,
		{ TARGET }, "WebRTC offer to a user's voice owner" },
	[VC_SIG_ANSWER] = { "answer", VC_SIG_BOTH, false, VC_RELAY_VOICE, VC_LIMIT_RELAY,
		{ TARGET }, "WebRTC answer to a user's voice owner" },
	[VC_SIG_ICE_CANDIDATE] = { "ice_candidate", VC_SIG_BOTH, false, VC_RELAY_VOICE,
		VC_LIMIT_RELAY, { TARGET }, "ICE candidate to a user's voice owner" },
	[VC_SIG_DIRECT_MESSAGE] = { "direct_message", VC_SIG_BOTH, false, VC_RELAY_USER,
		VC_LIMIT_RELAY, { TARGET }, "relayed to every connection of a user" },
	[VC_SIG_DIRECT_CALL] = { "direct_call", VC_SIG_BOTH, false, VC_RELAY_USER,
		VC_LIMIT_RELAY, { TARGET }, "relayed to every connection of a user" },
	[VC_SIG_SERVER_ICON] = { "server_icon", VC_SIG_BOTH, false, VC_RELAY_SHARED,
		VC_LIMIT_RELAY, { TARGET, SERVER_ID },
		"to a user who shares the server with the sender" },
	[VC_SIG_SERVER_UPDATE] = { "server_update", VC_SIG_BOTH, false, VC_RELAY_SHARED,
		VC_LIMIT_RELAY, { TARGET, SERVER_ID },
		"to a user who shares the server with the sender" },
	[VC_SIG_ACCOUNT_SYNC] = { "account_sync", VC_SIG_BOTH, false, VC_RELAY_ACCOUNT,
		VC_LIMIT_RELAY, { F("clientInstanceId", J_STRING, false), F("payload", J_ANY, true) },
		"persisted, then to the user's other connections with seq" },
	[VC_SIG_VOICE_TAKEOVER] = { "voice_client_takeover", VC_SIG_BOTH, false, VC_RELAY_NONE,
		VC_LIMIT_CONTROL, { { 0 } }, "this device becomes the user's voice owner" },
	[VC_SIG_IDENTIFIED] = { "identified", VC_SIG_OUT, true, VC_RELAY_NONE, VC_LIMIT_CONTROL,
		{ { 0 } }, "identify succeeded" },
	[VC_SIG_AUTH_REQUIRED] = { "auth_required", VC_SIG_OUT, true, VC_RELAY_NONE,
		VC_LIMIT_CONTROL, { { 0 } }, "a message came before identify" },
	[VC_SIG_AUTH_ERROR] = { "auth_error", VC_SIG_OUT, true, VC_RELAY_NONE, VC_LIMIT_CONTROL,
		{ { 0 } }, "identify refused" },
	[VC_SIG_ERROR] = { "error", VC_SIG_OUT, true, VC_RELAY_NONE, VC_LIMIT_CONTROL, { { 0 } },
		"a message refused: code, message, ref" },
	[VC_SIG_PONG] = { "pong", VC_SIG_OUT, true, VC_RELAY_NONE, VC_LIMIT_CONTROL, { { 0 } },
		"the answer to ping" },
	[VC_SIG_USER_JOINED] = { "user_joined", VC_SIG_OUT, false, VC_RELAY_NONE, VC_LIMIT_CONTROL,
		{ { 0 } }, "a user is now present in a server" },
	[VC_SIG_USER_LEFT] = { "user_left", VC_SIG_OUT, false, VC_RELAY_NONE, VC_LIMIT_CONTROL,
		{ { 0 } }, "a user is no longer present in a server" },
	[VC_SIG_ACCOUNT_SYNC_ACK] = { "account_sync_ack", VC_SIG_OUT, false, VC_RELAY_NONE,
		VC_LIMIT_CONTROL, { { 0 } }, "an account_sync is stored, with its seq" },
	[VC_SIG_ACCOUNT_SYNC_RESET] = { "account_sync_reset", VC_SIG_OUT, false, VC_RELAY_NONE,
		VC_LIMIT_CONTROL, { { 0 } }, "what was missed is gone: take a snapshot" },
	[VC_SIG_PEER_ONLINE] = { "account_sync_peer_online", VC_SIG_OUT, false, VC_RELAY_NONE,
		VC_LIMIT_CONTROL, { { 0 } }, "another device of the user identified" },
};
/* clang-format on */

const vc_sig_row_t *vc_sig_row(enum vc_sig_type t)
{
	return (unsigned)t < VC_SIG_COUNT ? &rows[t] : NULL;
}

static bool type_ok(const json_t *v, enum vc_sig_json j)
{
	switch (j) {
	case J_STRING: return json_is_string(v);
	case J_INTEGER: return json_is_integer(v);
	case J_OBJECT: return json_is_object(v);
	case J_ANY: return v != NULL;
	}
	return false;
}

const char *vc_sig_parse(const char *text, size_t len, enum vc_sig_type *type, json_t **obj,
                         const char **why)
{
	json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	const char *name = json_string_value(json_object_get(o, "type"));
	const vc_sig_row_t *row = NULL;

	*type = VC_SIG_COUNT;
	*obj = NULL;
	if (!json_is_object(o)) {
		*why = "not a JSON object";
		json_decref(o);
		return "bad_message";
	}
	*obj = o;
	if (name == NULL) {
		*why = "no \"type\" string";
		return "bad_message";
	}
	for (unsigned t = 0; t < VC_SIG_COUNT; t++)
		if ((rows[t].dir & VC_SIG_IN) && strcmp(rows[t].name, name) == 0) {
			*type = (enum vc_sig_type)t;
			row = &rows[t];
			break;
		}
	if (row == NULL) {
		*why = "unknown message type";
		return "unknown_type";
	}
	for (const vc_sig_field_t *f = row->fields; f->name != NULL; f++) {
		json_t *v = json_object_get(o, f->name);
		if (v == NULL || json_is_null(v)) {
			if (f->required) {
				*why = "a required member is missing";
				return "bad_message";
			}
			continue;
		}
		if (!type_ok(v, f->json)) {
			*why = "a member has the wrong JSON type";
			return "bad_message";
		}
	}
	return NULL;
}

const char *vc_sig_ref(const json_t *obj)
{
	const json_t *t = json_object_get(obj, "type");

	if (!json_is_string(t) || json_string_length(t) > VC_SIG_REF_MAX)
		return NULL;
	return json_string_value(t);
}

char *vc_sig_encode(enum vc_sig_type type, const json_t *body)
{
	json_t *o = json_pack("{s:s}", "type", rows[type].name);
	char *text;

	if (body != NULL)
		json_object_update(o, (json_t *)body);
	json_object_set_new(o, "type", json_string(rows[type].name));
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return text;
}

void vc_sig_print_table(FILE *out)
{
	static const char *const dirs[] = { "", "in", "out", "both" };

	for (unsigned t = 0; t < VC_SIG_COUNT; t++)
		fprintf(out, "%s %s\n", rows[t].name, dirs[rows[t].dir]);
}
