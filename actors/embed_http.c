/*
 * embed_http.c — the HTTP faces of embed credentials (embed.h, vcd-api(7)
 * "EMBED CREDENTIALS"): GET /api/v1/meetings/{meeting_id}/embed-credentials,
 * which answers the caller's credentials or the same `200 null` whatever
 * went wrong, and the authToken as a credential (actors/auth.c asks
 * vc_embed_verify). Both ask actors/embed.c, which finds the session on
 * this node or another, and wait for its one answer (vc_http_await).
 */
#include "actors/embed_int.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/config.h"
#include "runtime/nats.h"
#include "wire/jwt.h"
#include "wire/urlenc.h"

/* --- authTokens as credentials (actors/auth.c) ------------------------------------ */

bool vc_embed_is_token(const char *credential)
{
	return strncmp(credential, VC_EMBED_TOKEN_PREFIX, strlen(VC_EMBED_TOKEN_PREFIX)) == 0;
}

/* "vce1.<node>.<room>.<secret>": the node and the room, or false. */
static bool token_parts(const char *token, char node[NODE_LEN + 1], char *room, size_t n)
{
	const char *p = token + strlen(VC_EMBED_TOKEN_PREFIX), *last;
	size_t len = strlen(token), rlen;

	if (!vc_embed_is_token(token) || len >= TOKEN_MAX ||
	    strspn(p, "0123456789abcdef") != NODE_LEN || p[NODE_LEN] != '.')
		return false;
	last = strrchr(token, '.');
	if (last < p + NODE_LEN + 1 || strlen(last + 1) != SECRET_B64 ||
	    strspn(last + 1, URLSAFE) != SECRET_B64)
		return false;
	rlen = (size_t)(last - (p + NODE_LEN + 1));
	if (rlen >= n || strspn(p + NODE_LEN + 1, URLSAFE) != rlen)
		return false;
	memcpy(node, p, NODE_LEN);
	node[NODE_LEN] = '\0';
	memcpy(room, p + NODE_LEN + 1, rlen);
	room[rlen] = '\0';
	return true;
}

bool vc_embed_token_room(const char *token, char *room, size_t n)
{
	char node[NODE_LEN + 1];

	return token_parts(token, node, room, n);
}

bool vc_embed_verify(vc_http_req_t *req, const char *token, vc_http_cont_fn cont)
{
	char node[NODE_LEN + 1], room[VC_ROOM_ID_MAX + 1];
	embed_q_t *q;

	if (!token_parts(token, node, room, sizeof(room)))
		return false;
	q = embed_q_new(Q_VERIFY, room);
	memcpy(q->node, node, sizeof(node));
	crypto_hash_sha256(q->hash, (const uint8_t *)token, strlen(token));
	q->http = vc_http_actor(req);
	vc_http_await(req, cont);
	if (strcmp(node, vc_nats_node_id()) == 0) {
		q->asked = true;
		lobby_embed_ask(q, room);
	} else {
		embed_ask_others(q);
	}
	return true;
}

bool vc_embed_answer(const vc_msg_t *reply, const char **user_id, const char **display_name)
{
	const embed_answer_t *a = (const embed_answer_t *)reply;

	*user_id = a->user;
	*display_name = a->name;
	return a->ok;
}

/* --- GET /api/v1/meetings/{meeting_id}/embed-credentials -------------------------- */

/* Every answer that is not the caller's credentials: byte for byte the same. */
static void answer_null(vc_http_req_t *req)
{
	atomic_fetch_add_explicit(&embed_fetch_null, 1, memory_order_relaxed);
	vc_http_add_header(req, "Cache-Control", "no-store");
	vc_http_respond(req, 200, "application/json", "null", 4);
}

/* The room token's claims, if it is a room_join token for meeting_id with
 * a provider; NULL for anything else. */
static json_t *embed_claims(vc_http_req_t *req, const char *meeting_id)
{
	const vc_config_t *cfg = vc_config_get();
	const char *auth = vc_http_header(req, "Authorization");
	json_t *claims = NULL;
	const char *room, *provider;

	if (cfg->jwt_secret[0] == '\0' || auth == NULL || strncmp(auth, "Bearer ", 7) != 0)
		return NULL;
	if (vc_jwt_verify(auth + 7, (const uint8_t *)cfg->jwt_secret, strlen(cfg->jwt_secret),
	                  VC_JWT_ISSUER, (int64_t)(vc_wall_ms() / 1000), &claims) != VC_JWT_OK) {
		json_decref(claims);
		return NULL;
	}
	room = json_string_value(json_object_get(claims, "room"));
	provider = json_string_value(json_object_get(claims, "embed_provider"));
	if (room == NULL || strcmp(room, meeting_id) != 0 || provider == NULL ||
	    provider[0] == '\0' || !json_is_true(json_object_get(claims, "room_join")) ||
	    json_is_true(json_object_get(claims, "observer")) ||
	    !json_is_string(json_object_get(claims, "sub"))) {
		json_decref(claims);
		return NULL;
	}
	return claims;
}

/* The question a fetch asks, or NULL when the answer is null anyway. */
static embed_q_t *fetch_question(vc_http_req_t *req)
{
	const char *raw = vc_http_param(req, 0), *key = vc_http_header(req, "X-Embed-Key");
	size_t len;
	char *meeting_id;
	json_t *claims;
	embed_q_t *q = NULL;

	if (raw == NULL || key == NULL || !embed_key_valid(key))
		return NULL;
	meeting_id = vc_pct_decode(raw, strlen(raw), false, &len);
	if (strlen(meeting_id) == len && len <= VC_ROOM_ID_MAX &&
	    (claims = embed_claims(req, meeting_id)) != NULL) {
		q = embed_q_new(Q_FETCH, meeting_id);
		q->user = vc_strdup(json_string_value(json_object_get(claims, "sub")));
		crypto_hash_sha256(q->hash, (const uint8_t *)key, strlen(key));
		json_decref(claims);
	}
	free(meeting_id);
	return q;
}

/* embed_server_url, else scheme://Host of the request. */
static char *server_url(vc_http_req_t *req)
{
	const char *url = vc_config_get()->embed_server_url;
	const char *host = vc_http_header(req, "Host");
	char *out;

	if (url != NULL && url[0] != '\0')
		return vc_strdup(url);
	if (host == NULL)
		host = vc_config_get()->listen;
	out = vc_malloc(strlen(host) + 8);
	memcpy(out, "http://", 7);
	memcpy(out + 7, host, strlen(host) + 1);
	return out;
}

static void fetched(vc_http_req_t *req, vc_msg_t *reply)
{
	const embed_answer_t *a = (const embed_answer_t *)reply;
	json_t *body;
	char *url, *text;

	if (!a->ok || a->token == NULL) {
		answer_null(req);
		return;
	}
	url = server_url(req);
	body = json_pack("{s:s,s:s,s:s}", "userId", a->user, "authToken", a->token, "serverUrl",
	                 url);
	text = json_dumps(body, JSON_COMPACT);
	embed_json_wipe(body, "authToken");
	json_decref(body);
	vc_http_add_header(req, "Cache-Control", "no-store");
	vc_http_respond(req, 200, "application/json", text, strlen(text));
	atomic_fetch_add_explicit(&embed_fetch_given, 1, memory_order_relaxed);
	sodium_memzero(text, strlen(text));
	free(text);
	free(url);
}

void vc_embed_route(vc_http_req_t *req)
{
	embed_q_t *q = fetch_question(req);

	if (q == NULL) {
		answer_null(req);
		return;
	}
	q->http = vc_http_actor(req);
	vc_http_await(req, fetched);
	lobby_embed_ask(q, q->room);
}
