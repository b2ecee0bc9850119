/*
 * lobby.c — the /lobby routes, the per-worker registry of rooms, the
 * vcd.rooms.* control subject, what meetings and vcctl ask of rooms, and
 * the counters (doc/lobby.md).
 *
 * The upgrade is decided on the worker that received the request: the room
 * token is checked there (videocall-rs-contract.md §5.4: statuses and bodies
 * in the table below, in this order), then the socket moves to the room's
 * worker (lobby_home: the same hash that places the meeting's actor), where
 * the participant joins its room.
 *
 *   no ?token=                         400  Query deserialize error: missing field `token`
 *   jwt_secret empty                   500  Server misconfigured
 *   valid signature, exp past          401  token has expired
 *   anything else wrong with it        403  We detected unusual activity ...
 *   (can_publish_sources not an array of strings included: grants.h)
 *   neither room_join nor observer     403  access denied
 *   embed_key not 32–128 [A-Za-z0-9_-] 403  We detected unusual activity ...
 *   not a WebSocket upgrade            400 / 426
 *
 * With ?embed_key=KEY and a room_join token that carries an embed_provider
 * claim, the session keeps SHA-256(KEY) and an authToken (actors/embed.c).
 * The query string (token, embed_key) is never logged.
 */
#include "actors/lobby_int.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "actors/embed.h"
#include "runtime/config.h"
#include "runtime/log.h"
#include "wire/jwt.h"
#include "wire/urlenc.h"

#define TEXT "text/plain; charset=utf-8"
#define UNUSUAL "We detected unusual activity from your browser. This incident has been logged."
#define CTL_PREFIX "vcd.rooms."

const char *const vc_lobby_drop_names[VC_DROP_COUNT] = {
	[VC_DROP_SLOW_CONSUMER] = "slow_consumer",
	[VC_DROP_KEYFRAME_LIMIT] = "keyframe_limit",
	[VC_DROP_OBSERVER] = "observer",
	[VC_DROP_CONGESTION] = "congestion",
	[VC_DROP_HEALTH] = "health",
	[VC_DROP_NATS_TOO_BIG] = "nats_too_big",
	[VC_DROP_FORGED] = "forged",
	[VC_DROP_NOT_GRANTED] = "not_granted",
};

static lobby_t **lobbies; /* by worker index, for the stats */
static unsigned nlobbies;
static pthread_once_t lobbies_once = PTHREAD_ONCE_INIT;

/* --- the registry: room id → room, per worker ---------------------------------- */

static uint64_t room_hash(const char *id)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a, as meetings.c places its actors */

	for (const char *p = id; *p; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ull;
	return h;
}

vc_worker_t *lobby_home(const char *room_id)
{
	return vc_runtime_place(room_hash(room_id));
}

lobby_t *lobby_of(vc_worker_t *w)
{
	return vc_worker_slot(w, VC_SLOT_LOBBY);
}

room_t *lobby_find(lobby_t *l, const char *room_id)
{
	for (room_t *r = l->rooms[room_hash(room_id) & 255]; r != NULL; r = r->reg_next)
		if (strcmp(r->id, room_id) == 0)
			return r;
	return NULL;
}

void lobby_add(lobby_t *l, room_t *r)
{
	room_t **head = &l->rooms[room_hash(r->id) & 255];

	r->reg_next = *head;
	*head = r;
	l->nrooms++;
	atomic_fetch_add_explicit(&l->rooms_open, 1, memory_order_relaxed);
}

void lobby_remove(lobby_t *l, room_t *r)
{
	for (room_t **pp = &l->rooms[room_hash(r->id) & 255]; *pp != NULL; pp = &(*pp)->reg_next) {
		if (*pp == r) {
			*pp = r->reg_next;
			l->nrooms--;
			atomic_fetch_sub_explicit(&l->rooms_open, 1, memory_order_relaxed);
			return;
		}
	}
}

void lobby_count_drop(lobby_t *l, enum vc_lobby_drop why)
{
	VC_STAT_ADD(l->dropped[why], 1);
}

/* --- per-room counters, readable by /metrics from any thread -------------------- */

static pthread_mutex_t stats_mu = PTHREAD_MUTEX_INITIALIZER;
static room_stats_t *stats_head;
static unsigned nstats;

room_stats_t *lobby_stats_add(const char *room_id)
{
	room_stats_t *s;

	pthread_mutex_lock(&stats_mu);
	if (nstats >= VC_LOBBY_ROOM_METRICS) { /* bounded cardinality: the rest go unlisted */
		pthread_mutex_unlock(&stats_mu);
		return NULL;
	}
	s = vc_calloc(1, sizeof(*s));
	s->room_id = vc_strdup(room_id);
	s->next = stats_head;
	stats_head = s;
	nstats++;
	pthread_mutex_unlock(&stats_mu);
	return s;
}

void lobby_stats_remove(room_stats_t *s)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&stats_mu);
	for (room_stats_t **pp = &stats_head; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			nstats--;
			break;
		}
	}
	pthread_mutex_unlock(&stats_mu);
	free(s->room_id);
	free(s);
}

void vc_lobby_room_metrics(void (*fn)(void *arg, const char *room, int64_t sessions,
                                      uint64_t dropped),
                           void *arg)
{
	pthread_mutex_lock(&stats_mu);
	for (room_stats_t *s = stats_head; s != NULL; s = s->next)
		fn(arg, s->room_id, atomic_load_explicit(&s->sessions, memory_order_relaxed),
		   atomic_load_explicit(&s->dropped, memory_order_relaxed));
	pthread_mutex_unlock(&stats_mu);
}

void vc_lobby_stats(vc_lobby_stats_t *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; lobbies != NULL && i < nlobbies; i++) {
		lobby_t *l = atomic_load_explicit((_Atomic(lobby_t *) *)&lobbies[i],
		                                  memory_order_acquire);
		if (l == NULL)
			continue;
		out->rooms += atomic_load_explicit(&l->rooms_open, memory_order_relaxed);
		out->sessions += atomic_load_explicit(&l->sessions, memory_order_relaxed);
		out->observers += atomic_load_explicit(&l->observers, memory_order_relaxed);
		out->sessions_total +=
		        atomic_load_explicit(&l->sessions_total, memory_order_relaxed);
		out->relayed += atomic_load_explicit(&l->relayed, memory_order_relaxed);
		out->from_nats += atomic_load_explicit(&l->from_nats, memory_order_relaxed);
		out->published += atomic_load_explicit(&l->published, memory_order_relaxed);
		for (unsigned k = 0; k < VC_ARRAY_LEN(out->dropped); k++)
			out->dropped[k] +=
			        atomic_load_explicit(&l->dropped[k], memory_order_relaxed);
	}
}

/* --- the routes -------------------------------------------------------------------- */

static void text(vc_http_req_t *req, int status, const char *body)
{
	vc_http_respond(req, status, TEXT, body, strlen(body));
}

/* ^[a-zA-Z0-9_-]*$ (videocall.rs's VALID_ID_PATTERN: the empty id passes). */
static bool safe_id(const char *s)
{
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") ==
	       strlen(s);
}

/* Upgrade and hand the socket to the room's worker. */
static void upgrade(vc_http_req_t *req, const char *room, const char *user, const char *name,
                    bool observer, unsigned may_publish, embed_cred_t *embed)
{
	const char *why;
	int status = vc_ws_check(req, &why);
	participant_t *p;

	if (status != 0) {
		if (status == 426)
			vc_http_add_header(req, "Sec-WebSocket-Version", "13");
		text(req, status, why);
		embed_cred_wipe(&embed);
		return;
	}
	p = participant_new(room, user, name, observer, may_publish);
	p->embed = embed;
	if (!vc_ws_accept(req, lobby_home(room), &participant_ws_ops, p))
		participant_free(p);
}

/* The claims struct of videocall.rs must deserialize: these, of these types. */
static bool claims_complete(json_t *c)
{
	json_t *observer = json_object_get(c, "observer");

	return json_is_string(json_object_get(c, "sub")) &&
	       json_is_string(json_object_get(c, "room")) &&
	       json_is_boolean(json_object_get(c, "room_join")) &&
	       json_is_boolean(json_object_get(c, "is_host")) &&
	       json_is_string(json_object_get(c, "display_name")) &&
	       json_is_string(json_object_get(c, "iss")) &&
	       (observer == NULL || json_is_boolean(observer)); /* defaults to false */
}

/* The session's embed credentials: only for a room_join token of a meeting
 * with a provider, and a key (kept as its SHA-256). */
static embed_cred_t *embed_of(json_t *claims, const char *key, bool observer, const char *room)
{
	const char *provider = json_string_value(json_object_get(claims, "embed_provider"));

	if (key == NULL || observer || provider == NULL || provider[0] == '\0' ||
	    !json_is_true(json_object_get(claims, "room_join")))
		return NULL;
	return embed_cred_new(key, room);
}

/* ?embed_key=: false when present and malformed (refused like a bad
 * token); else *embed holds the session's credentials, if it gets any. */
static bool embed_param(vc_http_req_t *req, json_t *claims, bool observer, const char *room,
                        embed_cred_t **embed)
{
	size_t len = 0;
	char *key = vc_query_value(vc_http_query(req), "embed_key", &len);
	/* a decoded %00 is not one of the key's characters either */
	bool ok = key == NULL || (strlen(key) == len && embed_key_valid(key));

	if (!ok)
		log_info("lobby: %s: embed_key refused: not 32 to 128 characters of [A-Za-z0-9_-]",
		         vc_http_peer(req));
	else
		*embed = embed_of(claims, key, observer, room);
	if (key != NULL) {
		sodium_memzero(key, strlen(key));
		free(key);
	}
	return ok;
}

void vc_lobby_route(vc_http_req_t *req)
{
	const vc_config_t *cfg = vc_config_get();
	size_t token_len = 0;
	char *token = vc_query_value(vc_http_query(req), "token", &token_len);
	json_t *claims = NULL;
	enum vc_jwt_error e;
	const char *room;
	unsigned may_publish;

	if (token == NULL) {
		text(req, 400, "Query deserialize error: missing field `token`");
		return;
	}
	if (cfg->jwt_secret[0] == '\0') {
		free(token);
		log_error("lobby: jwt_secret is not set: every /lobby connection is refused with "
		          "500");
		text(req, 500, "Server misconfigured");
		return;
	}
	/* a token cut by a decoded %00 is not the token that was sent */
	e = strlen(token) != token_len ? VC_JWT_MALFORMED
	                               : vc_jwt_verify(token, (const uint8_t *)cfg->jwt_secret,
	                                               strlen(cfg->jwt_secret), VC_JWT_ISSUER,
	                                               (int64_t)(vc_wall_ms() / 1000), &claims);
	free(token);
	if (e == VC_JWT_EXPIRED) {
		json_decref(claims);
		text(req, 401, "token has expired");
		return;
	}
	if (e != VC_JWT_OK || !claims_complete(claims) ||
	    !vc_grants_parse(json_object_get(claims, "can_publish_sources"), &may_publish) ||
	    !safe_id(room = json_string_value(json_object_get(claims, "room")))) {
		log_info("lobby: %s: room token refused: %s", vc_http_peer(req),
		         e != VC_JWT_OK ? vc_jwt_strerror(e)
		                        : "a claim is missing or of the wrong type, or the room id "
		                          "is not [a-zA-Z0-9_-]*");
		json_decref(claims);
		text(req, 403, UNUSUAL);
		return;
	}
	bool observer = json_is_true(json_object_get(claims, "observer"));
	if (!json_is_true(json_object_get(claims, "room_join")) && !observer) {
		json_decref(claims);
		text(req, 403, "access denied");
		return;
	}
	embed_cred_t *embed = NULL;
	if (!embed_param(req, claims, observer, room, &embed)) {
		json_decref(claims);
		text(req, 403, UNUSUAL);
		return;
	}
	upgrade(req, room, json_string_value(json_object_get(claims, "sub")),
	        json_string_value(json_object_get(claims, "display_name")), observer, may_publish,
	        embed);
	json_decref(claims);
}

/* Spaces become '_' (the original's cleaning of path identities). */
static char *clean_id(const char *s)
{
	size_t n;
	char *out = vc_pct_decode(s != NULL ? s : "", s != NULL ? strlen(s) : 0, false, &n);

	for (size_t i = 0; i < n; i++)
		if (out[i] == ' ')
			out[i] = '_';
	return out;
}

void vc_lobby_route_legacy(vc_http_req_t *req)
{
	char *user, *room;

	if (vc_config_get()->feature_meeting_management) {
		text(req, 410, "This endpoint is deprecated. Use GET /lobby?token=<JWT> instead.");
		return;
	}
	user = clean_id(vc_http_param(req, 0));
	room = clean_id(vc_http_param(req, 1));
	if (!safe_id(user) || !safe_id(room))
		text(req, 400, "Invalid user_id or room format");
	else
		upgrade(req, room, user, user, false, VC_GRANT_ALL, NULL);
	free(user);
	free(room);
}

/* --- the registry actor: what other threads ask of rooms -------------------------- */

enum { L_SYSTEM, L_END, L_KICK, L_CTL, L_ADMIN, L_EMBED, L_FORGET, L_COUNT };

typedef struct lobby_msg {
	vc_msg_t msg;
	char *room_id;
	char *user_id, *why;                  /* L_KICK, L_FORGET (user_id) */
	embed_q_t *q;                         /* L_EMBED */
	vc_shared_t *packet;                  /* L_SYSTEM */
	json_t *json;                         /* L_CTL */
	void (*admin)(lobby_t *l, void *arg); /* L_ADMIN */
	void *arg;
} lobby_msg_t;

static void lobby_msg_destroy(vc_msg_t *m)
{
	lobby_msg_t *lm = (lobby_msg_t *)m;

	free(lm->room_id);
	free(lm->user_id);
	free(lm->why);
	vc_shared_unref(lm->packet);
	json_decref(lm->json);
	embed_q_free(lm->q); /* not looked up: answered "no" */
	free(lm);
}

static lobby_msg_t *lobby_msg(uint32_t type, const char *room_id)
{
	lobby_msg_t *m = vc_msg_new(sizeof(*m), type);

	m->msg.destroy = lobby_msg_destroy;
	m->room_id = room_id != NULL ? vc_strdup(room_id) : NULL;
	return m;
}

/* Send to the registry of the room's worker. */
static void to_home(lobby_msg_t *m)
{
	lobby_t *l = lobby_of(lobby_home(m->room_id));

	if (l == NULL) { /* not started, or stopping */
		vc_msg_destroy(&m->msg);
		return;
	}
	vc_actor_send(&l->actor, &m->msg);
}

static int on_room_msg(vc_actor_t *self, vc_msg_t *msg)
{
	lobby_t *l = self->state;
	lobby_msg_t *m = (lobby_msg_t *)msg;
	room_t *r = lobby_find(l, m->room_id);

	if (r == NULL)
		return VC_MSG_DONE; /* no session of that room here */
	switch (msg->type) {
	case L_SYSTEM: room_system(r, m->packet, NULL); break;
	case L_END: room_end(r); break;
	case L_KICK: room_kick(r, m->user_id, VC_WS_REMOVED, m->why); break;
	case L_CTL: room_control(r, m->json); break;
	case L_FORGET: room_embed_forget(r, m->user_id); break;
	}
	return VC_MSG_DONE;
}

static int on_admin_msg(vc_actor_t *self, vc_msg_t *msg)
{
	lobby_msg_t *m = (lobby_msg_t *)msg;

	m->admin(self->state, m->arg);
	return VC_MSG_DONE;
}

/* An embed question, whether or not the room has sessions here. */
static int on_embed_msg(vc_actor_t *self, vc_msg_t *msg)
{
	lobby_msg_t *m = (lobby_msg_t *)msg;
	embed_q_t *q = m->q;

	m->q = NULL;
	embed_lookup(self->state, q);
	return VC_MSG_DONE;
}

static const vc_handler_fn lobby_handlers[L_COUNT] = {
	[L_SYSTEM] = on_room_msg, [L_END] = on_room_msg,    [L_KICK] = on_room_msg,
	[L_CTL] = on_room_msg,    [L_ADMIN] = on_admin_msg, [L_EMBED] = on_embed_msg,
	[L_FORGET] = on_room_msg,
};

static const vc_behaviour_t lobby_behaviour = {
	.name = "lobby",
	.handlers = lobby_handlers,
	.nhandlers = L_COUNT,
};

/* --- meetings ----------------------------------------------------------------------- */

void vc_lobby_system_event(const char *room_id, const void *packet, size_t len)
{
	lobby_msg_t *m = lobby_msg(L_SYSTEM, room_id);

	m->packet = vc_shared_copy(packet, len);
	vc_ws_frame(m->packet);
	to_home(m);
}

static void publish_ctl(const char *room_id, json_t *j)
{
	char subject[ROOM_SUBJECT_MAX + 16];
	char *text;

	if (!vc_nats_enabled() || room_id[0] == '\0') {
		json_decref(j);
		return;
	}
	json_object_set_new(j, "node", json_string(vc_nats_node_id()));
	text = json_dumps(j, JSON_COMPACT);
	snprintf(subject, sizeof(subject), CTL_PREFIX "%s", room_id);
	if (text != NULL)
		(void)vc_nats_publish(subject, text, strlen(text));
	free(text);
	json_decref(j);
}

void lobby_ctl_publish(const room_t *r, json_t *j)
{
	if (!r->clustered) {
		json_decref(j);
		return;
	}
	publish_ctl(r->id, j);
}

void vc_lobby_end(const char *room_id)
{
	to_home(lobby_msg(L_END, room_id));
	publish_ctl(room_id, json_pack("{s:s}", "op", "end"));
}

void vc_lobby_kick(const char *room_id, const char *user_id, const char *why)
{
	lobby_msg_t *m = lobby_msg(L_KICK, room_id);

	m->user_id = vc_strdup(user_id);
	m->why = vc_strdup(why);
	to_home(m);
	publish_ctl(room_id,
	            json_pack("{s:s,s:s,s:s}", "op", "kick", "user", user_id, "reason", why));
}

void vc_lobby_embed_forget(const char *room_id, const char *user_id)
{
	lobby_msg_t *m = lobby_msg(L_FORGET, room_id);
	json_t *ctl = json_pack("{s:s}", "op", "embed_forget");

	m->user_id = user_id != NULL ? vc_strdup(user_id) : NULL;
	to_home(m);
	if (user_id != NULL) /* without one: every session of the room */
		json_object_set_new(ctl, "user", json_string(user_id));
	publish_ctl(room_id, ctl);
}

void lobby_embed_ask(embed_q_t *q, const char *room_id)
{
	lobby_msg_t *m = lobby_msg(L_EMBED, room_id);

	m->q = q;
	to_home(m);
}

/* nats.c's thread: vcd.rooms.{id} from another node → the room's registry. */
static void on_ctl(const char *subject, const void *data, size_t len, void *arg)
{
	json_t *j;
	const char *node;
	lobby_msg_t *m;

	if (strncmp(subject, CTL_PREFIX, strlen(CTL_PREFIX)) != 0)
		return;
	j = json_loadb(data, len, 0, NULL);
	node = json_string_value(json_object_get(j, "node"));
	if (!json_is_object(j) || (node != NULL && strcmp(node, vc_nats_node_id()) == 0)) {
		json_decref(j);
		return;
	}
	m = lobby_msg(L_CTL, subject + strlen(CTL_PREFIX));
	m->json = j;
	to_home(m);
}

/* --- vcctl ------------------------------------------------------------------------- */

/* A question to every worker's registry; the last answer replies. */
typedef struct gather {
	vc_admin_req_t *req;
	pthread_mutex_t mu;
	unsigned left;
	json_t *result;
	char *room_id;
	uint64_t session_id;
	bool found;
} gather_t;

static void gather_done(gather_t *g)
{
	pthread_mutex_lock(&g->mu);
	bool last = --g->left == 0;
	pthread_mutex_unlock(&g->mu);
	if (!last)
		return;
	if (g->session_id != 0 && !g->found)
		vc_admin_fail(g->req, "no media session %" PRIu64 " on this node", g->session_id);
	else if (g->room_id != NULL && !g->found)
		vc_admin_fail(g->req, "no media session of room '%s' on this node", g->room_id);
	else
		vc_admin_reply(g->req, json_incref(g->result));
	json_decref(g->result);
	free(g->room_id);
	pthread_mutex_destroy(&g->mu);
	free(g);
}

static void ask_all(gather_t *g, void (*fn)(lobby_t *l, void *arg))
{
	unsigned n = vc_runtime_nworkers();

	pthread_mutex_init(&g->mu, NULL);
	g->left = n;
	for (unsigned i = 0; i < n; i++) {
		lobby_t *l = lobby_of(vc_runtime_worker(i));
		lobby_msg_t *m = lobby_msg(L_ADMIN, NULL);
		m->admin = fn;
		m->arg = g;
		if (l != NULL)
			vc_actor_send(&l->actor, &m->msg);
		else {
			vc_msg_destroy(&m->msg);
			gather_done(g);
		}
	}
}

static void list_rooms(lobby_t *l, void *arg)
{
	gather_t *g = arg;

	pthread_mutex_lock(&g->mu);
	for (unsigned b = 0; b < VC_ARRAY_LEN(l->rooms); b++)
		for (room_t *r = l->rooms[b]; r != NULL; r = r->reg_next) {
			unsigned remote = 0;
			for (remote_t *m = r->remote; m != NULL; m = m->next)
				remote++;
			json_array_append_new(g->result,
			                      json_pack("{s:s,s:i,s:i,s:i,s:i,s:I}", "room", r->id,
			                                "sessions",
			                                (int)(r->nlocal - r->nobservers),
			                                "observers", (int)r->nobservers, "remote",
			                                (int)remote, "worker",
			                                (int)vc_worker_index(l->w), "started_ms",
			                                (json_int_t)r->started_ms));
		}
	pthread_mutex_unlock(&g->mu);
	gather_done(g);
}

void vc_lobby_admin_rooms_list(vc_admin_req_t *req, int argc, char **argv)
{
	gather_t *g = vc_calloc(1, sizeof(*g));

	g->req = req;
	g->result = json_array();
	ask_all(g, list_rooms);
}

static void show_room(lobby_t *l, void *arg)
{
	gather_t *g = arg;
	room_t *r = lobby_find(l, g->room_id);

	if (r != NULL) {
		json_t *d = room_describe(r);
		pthread_mutex_lock(&g->mu);
		json_decref(g->result);
		g->result = d;
		g->found = true;
		pthread_mutex_unlock(&g->mu);
	}
	gather_done(g);
}

void vc_lobby_admin_rooms_show(vc_admin_req_t *req, int argc, char **argv)
{
	gather_t *g = vc_calloc(1, sizeof(*g));

	g->req = req;
	g->result = json_object();
	g->room_id = vc_strdup(argv[0]);
	ask_all(g, show_room);
}

static void kick_session(lobby_t *l, void *arg)
{
	gather_t *g = arg;

	for (unsigned b = 0; b < VC_ARRAY_LEN(l->rooms); b++)
		for (room_t *r = l->rooms[b]; r != NULL; r = r->reg_next) {
			participant_t *p = room_find_session(r, g->session_id);
			if (p == NULL)
				continue;
			pthread_mutex_lock(&g->mu);
			g->found = true;
			json_object_set_new(g->result, "room", json_string(r->id));
			json_object_set_new(g->result, "user", json_string(p->user_id));
			pthread_mutex_unlock(&g->mu);
			participant_kick_later(p, VC_WS_OPERATOR, "closed by the operator");
		}
	gather_done(g);
}

void vc_lobby_admin_sessions_kick(vc_admin_req_t *req, int argc, char **argv)
{
	char *end;
	uint64_t id = strtoull(argv[0], &end, 10);
	gather_t *g;

	if (*argv[0] == '\0' || *end != '\0' || id == 0) {
		vc_admin_fail(req, "'%s' is not a session id (a number, see vcctl rooms show)",
		              argv[0]);
		return;
	}
	g = vc_calloc(1, sizeof(*g));
	g->req = req;
	g->result = json_pack("{s:s}", "session", argv[0]);
	g->session_id = id;
	ask_all(g, kick_session);
}

/* --- lifecycle ----------------------------------------------------------------------- */

static void lobbies_alloc(void)
{
	nlobbies = vc_runtime_nworkers();
	lobbies = vc_calloc(nlobbies, sizeof(*lobbies));
}

int vc_lobby_init(void)
{
	if (vc_embed_init() != 0)
		return -1;
	return vc_nats_subscribe(CTL_PREFIX "*", on_ctl, NULL);
}

void vc_lobby_worker_start(vc_worker_t *w)
{
	lobby_t *l = vc_calloc(1, sizeof(*l));

	pthread_once(&lobbies_once, lobbies_alloc);
	vc_actor_init(&l->actor, &lobby_behaviour, w, l);
	l->w = w;
	vc_worker_set_slot(w, VC_SLOT_LOBBY, l);
	vc_embed_worker_start(w);
	atomic_store_explicit((_Atomic(lobby_t *) *)&lobbies[vc_worker_index(w)], l,
	                      memory_order_release);
}

void vc_lobby_worker_stop(vc_worker_t *w)
{
	lobby_t *l = lobby_of(w);

	vc_embed_worker_stop(w);
	if (l == NULL)
		return;
	/* The WebSocket layer stopped first: every participant has left, and
	 * rooms went with their last one; those waiting out a grace go now. */
	for (unsigned b = 0; b < VC_ARRAY_LEN(l->rooms); b++)
		while (l->rooms[b] != NULL)
			room_drop(l->rooms[b]);
	/* Their subscriptions' closed() send the rooms' last references home:
	 * let them arrive while this worker still runs what it is sent. */
	if (!vc_nats_wait_closed(2000))
		log_warn("lobby: NATS subscriptions of closed rooms still open after 2 s");
	vc_worker_set_slot(w, VC_SLOT_LOBBY, NULL);
	vc_actor_stop(&l->actor);
	vc_actor_unref(&l->actor);
}
