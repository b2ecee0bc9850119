/*
 * embed.c — call-scoped embed credentials (embed.h; doc/external.md
 * "Embed credentials"; the pattern of Rocket.Chat's call window: captured
 * at session open, memory only, wiped on every close, served only to the
 * verified caller, the same null to anyone else).
 *
 * Where the secrets live: in the participant (actors/participant.c) whose
 * /lobby session they belong to, in a sodium_malloc'd embed_cred_t —
 * SHA-256 of the client's embed_key, the authToken and its SHA-256. They
 * are wiped with the session (room_leave, participant_actor_free) or when
 * the user leaves the meeting (room_embed_forget). Nothing is written
 * anywhere, nothing is cached.
 *
 * A question (embed_q_t) travels to where the answer is and answers once:
 *
 *   fetch   request worker ──▶ room's worker (this node's sessions)
 *             found: answer │ not found, NATS on: ──▶ asker (worker 0)
 *             ──▶ vcd.embed.fetch (every node) ──▶ their room's worker
 *             ──▶ the holder answers on vcd.embed.answer.{node}; the
 *             others stay silent; nothing within ASK_TIMEOUT: "no"
 *   verify  the token names its node: this node ──▶ room's worker; another
 *             ──▶ asker ──▶ vcd.embed.ask.{node} ──▶ its room's worker
 *             ──▶ yes or no on vcd.embed.answer.{node}; a node that does
 *             not answer within ASK_TIMEOUT (crashed): "no"
 *
 * A question dropped anywhere (a registry or asker that stopped, a full
 * NATS queue) is freed by embed_q_free, which answers "no": the waiting
 * HTTP request always gets exactly one answer. Keys and tokens cross NATS
 * only as SHA-256, except the authToken in a fetch's answer.
 */
#include "actors/embed.h"

#include <inttypes.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/lobby_int.h"
#include "runtime/config.h"
#include "runtime/log.h"
#include "runtime/nats.h"
#include "wire/jwt.h"
#include "wire/urlenc.h"

#define KEY_MIN 32
#define KEY_MAX 128
#define NODE_LEN 16   /* vc_nats_node_id(): 16 hex characters */
#define SECRET_LEN 32 /* random bytes of an authToken */
#define SECRET_B64 43 /* ... in unpadded base64url */
#define TOKEN_MAX                                                                                  \
	(sizeof(VC_EMBED_TOKEN_PREFIX) + NODE_LEN + 1 + VC_ROOM_ID_MAX + 1 + SECRET_B64 + 1)
#define ASK_TIMEOUT 0.5 /* seconds another node has to answer */
#define ASK_MAX 2048    /* bytes of a question or an answer on NATS */
#define SUBJ_FETCH "vcd.embed.fetch"
#define SUBJ_ASK "vcd.embed.ask."       /* + node: verify a token it holds */
#define SUBJ_ANSWER "vcd.embed.answer." /* + node: answers to its questions */
#define URLSAFE "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"

struct embed_cred {
	uint8_t key_hash[32];
	uint8_t token_hash[32];
	char token[TOKEN_MAX];
};

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

/* --- a session's credentials ------------------------------------------------------ */

bool embed_key_valid(const char *key)
{
	size_t n = strlen(key);

	return n >= KEY_MIN && n <= KEY_MAX && strspn(key, URLSAFE) == n;
}

embed_cred_t *embed_cred_new(const char *key, const char *room_id)
{
	embed_cred_t *c;
	uint8_t secret[SECRET_LEN];
	char b64[SECRET_B64 + 1];

	if (strlen(room_id) > VC_ROOM_ID_MAX) /* no meeting has such an id */
		return NULL;
	c = sodium_malloc(sizeof(*c));
	if (c == NULL) {
		log_warn("lobby: no locked memory for embed credentials: none for this session");
		return NULL;
	}
	memset(c, 0, sizeof(*c));
	crypto_hash_sha256(c->key_hash, (const uint8_t *)key, strlen(key));
	randombytes_buf(secret, sizeof(secret));
	sodium_bin2base64(b64, sizeof(b64), secret, sizeof(secret),
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	snprintf(c->token, sizeof(c->token), "%s%s.%s.%s", VC_EMBED_TOKEN_PREFIX, vc_nats_node_id(),
	         room_id, b64);
	crypto_hash_sha256(c->token_hash, (const uint8_t *)c->token, strlen(c->token));
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(b64, sizeof(b64));
	return c;
}

void embed_cred_wipe(embed_cred_t **c)
{
	if (*c == NULL)
		return;
	sodium_free(*c); /* zeroes it */
	*c = NULL;
}

/* --- questions and answers -------------------------------------------------------- */

static embed_q_t *q_new(enum q_op op, const char *room)
{
	embed_q_t *q = vc_calloc(1, sizeof(*q));

	q->op = op;
	q->room = vc_strdup(room);
	return q;
}

static void answer_destroy(vc_msg_t *m)
{
	embed_answer_t *a = (embed_answer_t *)m;

	free(a->user);
	free(a->name);
	if (a->token != NULL) {
		sodium_memzero(a->token, strlen(a->token));
		free(a->token);
	}
	free(a);
}

/* Answer q's waiting request (once). */
static void answer_local(embed_q_t *q, const char *user, const char *name, const char *token)
{
	embed_answer_t *a = vc_msg_new(sizeof(*a), VC_HTTP_MSG_REPLY);

	a->msg.destroy = answer_destroy;
	a->ok = user != NULL;
	a->user = user != NULL ? vc_strdup(user) : NULL;
	a->name = name != NULL ? vc_strdup(name) : NULL;
	a->token = token != NULL ? vc_strdup(token) : NULL;
	vc_actor_send(q->http, &a->msg);
	q->http = NULL;
}

void embed_q_free(embed_q_t *q)
{
	if (q == NULL)
		return;
	if (q->http != NULL)
		answer_local(q, NULL, NULL, NULL);
	free(q->room);
	free(q->user);
	free(q->reply);
	sodium_memzero(q->hash, sizeof(q->hash));
	free(q);
}

/* Publish j (stolen) on subject; false when it was not queued. */
static bool publish_json(const char *subject, json_t *j)
{
	char *text = json_dumps(j, JSON_COMPACT);
	bool ok = text != NULL && vc_nats_publish(subject, text, strlen(text)) == 0;

	if (text != NULL) {
		sodium_memzero(text, strlen(text));
		free(text);
	}
	json_decref(j);
	return ok;
}

/* Zero the string member key of j (jansson's own copy) before j goes. */
static void json_wipe(json_t *j, const char *key)
{
	char *v = (char *)json_string_value(json_object_get(j, key));

	if (v != NULL)
		sodium_memzero(v, strlen(v));
}

/* Answer another node's question: found (p) or not. */
static void answer_remote(embed_q_t *q, const participant_t *p)
{
	json_t *j = json_pack("{s:s,s:b}", "id", q->id, "ok", p != NULL);

	if (p != NULL) {
		json_object_set_new(j, "user", json_string(p->user_id));
		json_object_set_new(j, "name", json_string(p->display_name));
		if (q->op == Q_FETCH)
			json_object_set_new(j, "token", json_string(p->embed->token));
	}
	json_incref(j);
	(void)publish_json(q->reply, j);
	json_wipe(j, "token");
	json_decref(j);
}

/* --- the asker: this node's questions to the others (worker 0) -------------------- */

typedef struct pending {
	uint64_t id;
	embed_q_t *q;
	vc_timer_t timer;
	struct pending *next;
} pending_t;

typedef struct asker {
	vc_actor_t actor;
	pending_t *head;
	uint64_t next_id;
} asker_t;

enum { A_ASK, A_ANSWER, A_TIMEOUT, A_COUNT };

typedef struct ask_msg {
	vc_msg_t msg;
	embed_q_t *q; /* A_ASK */
	json_t *json; /* A_ANSWER */
	uint64_t id;  /* A_TIMEOUT */
} ask_msg_t;

static pthread_mutex_t asker_mu = PTHREAD_MUTEX_INITIALIZER;
static vc_actor_t *asker_actor; /* under asker_mu */

static void ask_msg_destroy(vc_msg_t *m)
{
	ask_msg_t *a = (ask_msg_t *)m;

	embed_q_free(a->q);
	json_wipe(a->json, "token");
	json_decref(a->json);
	free(a);
}

static ask_msg_t *ask_msg(uint32_t type)
{
	ask_msg_t *m = vc_msg_new(sizeof(*m), type);

	m->msg.destroy = ask_msg_destroy;
	return m;
}

/* Any thread: to the asker, or dropped (which answers "no"). */
static void to_asker(ask_msg_t *m)
{
	pthread_mutex_lock(&asker_mu);
	if (asker_actor != NULL) {
		vc_actor_send(asker_actor, &m->msg);
		m = NULL;
	}
	pthread_mutex_unlock(&asker_mu);
	if (m != NULL)
		vc_msg_destroy(&m->msg);
}

static pending_t *pending_take(asker_t *a, uint64_t id)
{
	for (pending_t **pp = &a->head; *pp != NULL; pp = &(*pp)->next) {
		if ((*pp)->id == id) {
			pending_t *p = *pp;
			*pp = p->next;
			if (vc_timer_active(&p->timer))
				vc_timer_cancel(&p->timer);
			return p;
		}
	}
	return NULL;
}

static void pending_free(pending_t *p)
{
	embed_q_free(p->q); /* answers "no" unless answered */
	free(p);
}

static json_t *question(const embed_q_t *q, uint64_t id)
{
	char hex[65], sid[24], reply[sizeof(SUBJ_ANSWER) + NODE_LEN];

	sodium_bin2hex(hex, sizeof(hex), q->hash, sizeof(q->hash));
	snprintf(sid, sizeof(sid), "%" PRIu64, id);
	snprintf(reply, sizeof(reply), SUBJ_ANSWER "%s", vc_nats_node_id());
	return json_pack("{s:s,s:s,s:s,s:s,s:s?}", "id", sid, "reply", reply, "room", q->room,
	                 "hash", hex, "user", q->user);
}

static int on_ask(vc_actor_t *self, vc_msg_t *msg)
{
	asker_t *a = self->state;
	ask_msg_t *m = (ask_msg_t *)msg;
	char subject[sizeof(SUBJ_ASK) + NODE_LEN];
	pending_t *p;
	ask_msg_t *t;

	if (!vc_nats_enabled())
		return VC_MSG_DONE; /* nobody to ask: the destroy answers "no" */
	if (m->q->op == Q_FETCH)
		snprintf(subject, sizeof(subject), "%s", SUBJ_FETCH);
	else
		snprintf(subject, sizeof(subject), SUBJ_ASK "%s", m->q->node);
	p = vc_calloc(1, sizeof(*p));
	p->id = ++a->next_id;
	if (!publish_json(subject, question(m->q, p->id))) {
		free(p);
		return VC_MSG_DONE;
	}
	p->q = m->q;
	m->q = NULL;
	p->next = a->head;
	a->head = p;
	t = ask_msg(A_TIMEOUT);
	t->id = p->id;
	vc_timer_start(&p->timer, self, &t->msg, ASK_TIMEOUT);
	return VC_MSG_DONE;
}

/* Does another node's answer fit the question it answers? */
static bool answer_fits(const embed_q_t *q, json_t *j, const char **user, const char **name,
                        const char **token)
{
	*user = json_string_value(json_object_get(j, "user"));
	*name = json_string_value(json_object_get(j, "name"));
	*token = json_string_value(json_object_get(j, "token"));
	if (!json_is_true(json_object_get(j, "ok")) || *user == NULL || *name == NULL)
		return false;
	if (q->op == Q_VERIFY)
		return true;
	return *token != NULL && strcmp(*user, q->user) == 0 &&
	       strncmp(*token, VC_EMBED_TOKEN_PREFIX, strlen(VC_EMBED_TOKEN_PREFIX)) == 0;
}

static int on_answer(vc_actor_t *self, vc_msg_t *msg)
{
	asker_t *a = self->state;
	ask_msg_t *m = (ask_msg_t *)msg;
	const char *sid = json_string_value(json_object_get(m->json, "id"));
	const char *user, *name, *token;
	pending_t *p;

	if (sid == NULL || (p = pending_take(a, strtoull(sid, NULL, 10))) == NULL)
		return VC_MSG_DONE; /* late: the question was answered "no" already */
	if (answer_fits(p->q, m->json, &user, &name, &token))
		answer_local(p->q, user, name, p->q->op == Q_FETCH ? token : NULL);
	pending_free(p);
	return VC_MSG_DONE;
}

static int on_timeout(vc_actor_t *self, vc_msg_t *msg)
{
	pending_t *p = pending_take(self->state, ((ask_msg_t *)msg)->id);

	if (p != NULL)
		pending_free(p); /* nobody held it, or the holder is gone: "no" */
	return VC_MSG_DONE;
}

static void asker_on_stop(vc_actor_t *self)
{
	asker_t *a = self->state;

	while (a->head != NULL) {
		pending_t *p = a->head;
		a->head = p->next;
		if (vc_timer_active(&p->timer))
			vc_timer_cancel(&p->timer);
		pending_free(p);
	}
}

static void asker_free(vc_actor_t *self)
{
	free(self->state);
}

static const vc_handler_fn asker_handlers[A_COUNT] = {
	[A_ASK] = on_ask,
	[A_ANSWER] = on_answer,
	[A_TIMEOUT] = on_timeout,
};

static const vc_behaviour_t asker_behaviour = {
	.name = "embed-asker",
	.handlers = asker_handlers,
	.nhandlers = A_COUNT,
	.on_stop = asker_on_stop,
	.free = asker_free,
};

void vc_embed_worker_start(vc_worker_t *w)
{
	asker_t *a;

	if (vc_worker_index(w) != 0)
		return;
	a = vc_calloc(1, sizeof(*a));
	vc_actor_init(&a->actor, &asker_behaviour, w, a);
	pthread_mutex_lock(&asker_mu);
	asker_actor = &a->actor;
	pthread_mutex_unlock(&asker_mu);
}

void vc_embed_worker_stop(vc_worker_t *w)
{
	vc_actor_t *a;

	if (vc_worker_index(w) != 0)
		return;
	pthread_mutex_lock(&asker_mu);
	a = asker_actor;
	asker_actor = NULL;
	pthread_mutex_unlock(&asker_mu);
	if (a == NULL)
		return;
	vc_actor_stop(a); /* on_stop answers what waits */
	vc_actor_unref(a);
}

/* --- the lookup, on the room's worker --------------------------------------------- */

static participant_t *holder(room_t *r, const embed_q_t *q)
{
	for (participant_t *p = r->head; p != NULL; p = p->next) {
		if (p->embed == NULL)
			continue;
		if (q->op == Q_FETCH && sodium_memcmp(p->embed->key_hash, q->hash, 32) == 0 &&
		    strcmp(p->user_id, q->user) == 0)
			return p;
		if (q->op == Q_VERIFY && sodium_memcmp(p->embed->token_hash, q->hash, 32) == 0)
			return p;
	}
	return NULL;
}

void embed_lookup(lobby_t *l, embed_q_t *q)
{
	room_t *r = lobby_find(l, q->room);
	participant_t *p = r != NULL ? holder(r, q) : NULL;

	if (q->reply != NULL) {                     /* another node asks */
		if (p != NULL || q->op == Q_VERIFY) /* a fetch nobody holds: others may */
			answer_remote(q, p);
	} else if (p != NULL) {
		answer_local(q, p->user_id, p->display_name,
		             q->op == Q_FETCH ? p->embed->token : NULL);
	} else if (q->op == Q_FETCH && !q->asked && vc_nats_enabled()) {
		ask_msg_t *m = ask_msg(A_ASK);
		q->asked = true;
		m->q = q;
		to_asker(m);
		return;
	}
	embed_q_free(q);
}

/* --- NATS: the other nodes' questions and answers (nats.c's thread) --------------- */

static bool read_hash(json_t *j, uint8_t out[32])
{
	const char *hex = json_string_value(json_object_get(j, "hash"));
	size_t n;

	return hex != NULL && sodium_hex2bin(out, 32, hex, strlen(hex), NULL, &n, NULL) == 0 &&
	       n == 32;
}

embed_q_t *embed_question_parse(const void *data, size_t len, bool verify)
{
	json_t *j = len <= ASK_MAX ? json_loadb(data, len, 0, NULL) : NULL;
	const char *room = json_string_value(json_object_get(j, "room"));
	const char *reply = json_string_value(json_object_get(j, "reply"));
	const char *id = json_string_value(json_object_get(j, "id"));
	const char *user = json_string_value(json_object_get(j, "user"));
	embed_q_t *q = NULL;

	if (room != NULL && reply != NULL && id != NULL && strlen(id) < sizeof(q->id) &&
	    strncmp(reply, SUBJ_ANSWER, strlen(SUBJ_ANSWER)) == 0 && (verify || user != NULL)) {
		q = q_new(verify ? Q_VERIFY : Q_FETCH, room);
		if (read_hash(j, q->hash)) {
			q->user = user != NULL ? vc_strdup(user) : NULL;
			q->reply = vc_strdup(reply);
			snprintf(q->id, sizeof(q->id), "%s", id);
			q->asked = true;
		} else {
			embed_q_free(q);
			q = NULL;
		}
	}
	json_decref(j);
	return q;
}

/* nats.c's thread: another node asks (arg: non-NULL for a verify). */
static void on_question(const char *subject, const void *data, size_t len, void *arg)
{
	embed_q_t *q = embed_question_parse(data, len, arg != NULL);

	if (q == NULL) {
		log_warn("embed: ignored a malformed question on %s", subject);
		return;
	}
	lobby_embed_ask(q, q->room);
}

static void on_answer_msg(const char *subject, const void *data, size_t len, void *arg)
{
	json_t *j = len <= ASK_MAX ? json_loadb(data, len, 0, NULL) : NULL;
	ask_msg_t *m;

	if (!json_is_object(j)) {
		json_decref(j);
		return;
	}
	m = ask_msg(A_ANSWER);
	m->json = j;
	to_asker(m);
}

int vc_embed_init(void)
{
	char ask[sizeof(SUBJ_ASK) + NODE_LEN], answer[sizeof(SUBJ_ANSWER) + NODE_LEN];
	static int verify = 1; /* on_question's arg: a verify question */

	snprintf(ask, sizeof(ask), SUBJ_ASK "%s", vc_nats_node_id());
	snprintf(answer, sizeof(answer), SUBJ_ANSWER "%s", vc_nats_node_id());
	if (vc_nats_subscribe(SUBJ_FETCH, on_question, NULL) != 0 ||
	    vc_nats_subscribe(ask, on_question, &verify) != 0 ||
	    vc_nats_subscribe(answer, on_answer_msg, NULL) != 0)
		return -1;
	return 0;
}

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
	q = q_new(Q_VERIFY, room);
	memcpy(q->node, node, sizeof(node));
	crypto_hash_sha256(q->hash, (const uint8_t *)token, strlen(token));
	q->http = vc_http_actor(req);
	vc_http_await(req, cont);
	if (strcmp(node, vc_nats_node_id()) == 0) {
		q->asked = true;
		lobby_embed_ask(q, room);
	} else {
		ask_msg_t *m = ask_msg(A_ASK);
		m->q = q;
		to_asker(m);
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
		q = q_new(Q_FETCH, meeting_id);
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
	json_wipe(body, "authToken");
	json_decref(body);
	vc_http_add_header(req, "Cache-Control", "no-store");
	vc_http_respond(req, 200, "application/json", text, strlen(text));
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
