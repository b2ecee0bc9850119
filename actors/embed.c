/*
 * embed.c — call-scoped embed credentials (embed.h; doc/external.md
 * "Embed credentials"; the pattern of Rocket.Chat's call window: captured
 * at session open, memory only, wiped on every close, served only to the
 * verified caller, the same null to anyone else).
 *
 * Where the secrets live: in the participant (actors/participant.c) whose
 * /lobby session they belong to, in an embed_cred_t of its own —
 * SHA-256 of the client's embed_key, the authToken and its SHA-256. They
 * are zeroed and freed with the session (room_leave, participant_actor_free)
 * or when the user leaves the meeting (room_embed_forget). Nothing is
 * written anywhere, nothing is cached. Plain heap memory, not
 * sodium_malloc: guarded pages cost three mappings per session, and
 * vm.max_map_count ran out at about 20,000 sessions (doc/decisions.md).
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
 * The HTTP faces (the fetch route, the authToken as a credential) are in
 * actors/embed_http.c.
 *
 * A question dropped anywhere (a registry or asker that stopped, a full
 * NATS queue) is freed by embed_q_free, which answers "no": the waiting
 * HTTP request always gets exactly one answer. Keys and tokens cross NATS
 * only as SHA-256, except the authToken in a fetch's answer.
 */
#include "actors/embed_int.h"

#include <inttypes.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/log.h"
#include "runtime/nats.h"

#define ASK_TIMEOUT 0.5 /* seconds another node has to answer */
#define ASK_MAX 2048    /* bytes of a question or an answer on NATS */
#define SUBJ_FETCH "vcd.embed.fetch"
#define SUBJ_ASK "vcd.embed.ask."       /* + node: verify a token it holds */
#define SUBJ_ANSWER "vcd.embed.answer." /* + node: answers to its questions */

static _Atomic int64_t live;                          /* embed_cred_t allocated now */
_Atomic uint64_t embed_fetch_given, embed_fetch_null; /* embed_http.c counts them */
static _Atomic uint64_t uses_accepted, uses_refused;

void vc_embed_stats(vc_embed_stats_t *out)
{
	out->sessions = atomic_load_explicit(&live, memory_order_relaxed);
	out->fetch_given = atomic_load_explicit(&embed_fetch_given, memory_order_relaxed);
	out->fetch_null = atomic_load_explicit(&embed_fetch_null, memory_order_relaxed);
	out->uses_accepted = atomic_load_explicit(&uses_accepted, memory_order_relaxed);
	out->uses_refused = atomic_load_explicit(&uses_refused, memory_order_relaxed);
}

void vc_embed_count_use(bool accepted)
{
	atomic_fetch_add_explicit(accepted ? &uses_accepted : &uses_refused, 1,
	                          memory_order_relaxed);
}

struct embed_cred {
	uint8_t key_hash[32];
	uint8_t token_hash[32];
	char token[TOKEN_MAX];
};

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
	c = vc_calloc(1, sizeof(*c));
	atomic_fetch_add_explicit(&live, 1, memory_order_relaxed);
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
	sodium_memzero(*c, sizeof(**c));
	free(*c);
	atomic_fetch_sub_explicit(&live, 1, memory_order_relaxed);
	*c = NULL;
}

/* --- questions and answers -------------------------------------------------------- */

embed_q_t *embed_q_new(enum q_op op, const char *room)
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

void embed_json_wipe(json_t *j, const char *key)
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
	embed_json_wipe(j, "token");
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
	embed_json_wipe(a->json, "token");
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

void embed_ask_others(embed_q_t *q)
{
	ask_msg_t *m = ask_msg(A_ASK);

	m->q = q;
	to_asker(m);
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
		q->asked = true;
		embed_ask_others(q);
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
		q = embed_q_new(verify ? Q_VERIFY : Q_FETCH, room);
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
