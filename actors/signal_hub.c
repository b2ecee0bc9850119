/*
 * signal_hub.c — users and servers of the signaling WebSocket, one hub
 * actor per worker (doc/signaling.md "State and the cluster").
 *
 * A user's record on this node holds its connections here (their actors,
 * connection ids, clientInstanceId and connectionScope), what the node
 * believes of its voice owner, and the last account_sync seq it saw. A
 * server's record holds the connections joined to it here and who is
 * present in it, here and on the other nodes. Records are placed by a hash
 * of their id on one worker and touched only by that worker's hub; a
 * record goes when its last connection does.
 *
 * Every change other nodes must hear of is published on vcd.sig.user.{id}
 * or vcd.sig.server.{id} (JSON with "op"); a record subscribes to its
 * subject while it exists, so a node hears only of users and servers it
 * has connections of.
 */
#include "actors/signal_int.h"

#include <inttypes.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/config.h"
#include "runtime/log.h"
#include "runtime/pg.h"

#define BUCKETS 256
#define PRUNE_EVERY 60.0 /* seconds between account_sync_log prunes by age */

typedef struct u_conn {
	vc_actor_t *actor; /* a reference */
	uint64_t conn;
	char *instance, *scope; /* NULL when the client gave none */
	int64_t db_session;
	uint8_t hash[32];
	struct u_conn *next;
} u_conn_t;

typedef struct sig_user {
	char *id;
	u_conn_t *conns;
	unsigned nconns;
	char *voice; /* the voice owner's clientInstanceId, NULL unknown */
	int64_t voice_gen;
	uint64_t last_seq;
	vc_nats_sub_t *sub;
	/* A new record's subscription is not active at once: until it is
	 * (H_SUB_READY of generation sub_gen), attaches wait here, so that no
	 * device is told `identified` before other nodes can reach it. */
	bool waiting;
	uint64_t sub_gen;
	sig_hub_msg_t *parked, **parked_tail;
	struct sig_user *next;
} sig_user_t;

typedef struct s_member {
	vc_actor_t *actor; /* a reference */
	uint64_t conn;
	bool answered; /* got its server_users: notices from now on */
	char *user;
	struct s_member *next;
} s_member_t;

typedef struct presence {
	char *user, *name;
	unsigned local; /* this node's connections joined */
	char **nodes;   /* other nodes where the user is present */
	unsigned nnodes;
	struct presence *next;
} presence_t;

typedef struct waiter {
	vc_actor_t *actor; /* a reference */
	struct waiter *next;
} waiter_t;

typedef struct sig_server {
	char *id;
	s_member_t *members;
	presence_t *presence;
	waiter_t *waiters; /* joins and server_users waiting for settle */
	bool settled;
	uint64_t sub_gen; /* its subscription's, for H_SERVER_READY */
	vc_timer_t settle;
	vc_nats_sub_t *sub;
	struct sig_server *next;
} sig_server_t;

struct sig_hub {
	vc_actor_t actor;
	vc_worker_t *w;
	sig_user_t *users[BUCKETS];
	sig_server_t *servers[BUCKETS];
	vc_timer_t prune;
	uint64_t sub_gen; /* the last user subscription's generation */
	_Atomic int64_t nusers, nservers;
	_Atomic uint64_t relayed;
};

enum { H_PRUNE = H_COUNT, H_PG_DONE, H_ALL };

static int S_PRUNE_AGE;
static sig_hub_t **hubs;
static unsigned nhubs;
static pthread_once_t hubs_once = PTHREAD_ONCE_INIT;

/* --- placement and messages -------------------------------------------------- */

static uint64_t id_hash(const char *id)
{
	uint64_t h = 1469598103934665603ull;

	for (const char *p = id; *p; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ull;
	return h;
}

static void hub_msg_destroy(vc_msg_t *msg)
{
	sig_hub_msg_t *m = (sig_hub_msg_t *)msg;

	free(m->id);
	free(m->user_id);
	free(m->name);
	free(m->scope);
	free(m->instance);
	free(m->previous);
	if (m->session != NULL)
		vc_actor_unref(m->session);
	vc_shared_unref(m->frame);
	json_decref(m->json);
	free(m);
}

sig_hub_msg_t *sig_hub_msg(uint32_t type, const char *id)
{
	sig_hub_msg_t *m = vc_msg_new(sizeof(*m), type);

	m->msg.destroy = hub_msg_destroy;
	m->id = vc_strdup(id != NULL ? id : "");
	return m;
}

static sig_hub_t *hub_of(const char *id)
{
	return vc_worker_slot(vc_runtime_place(id_hash(id)), VC_SLOT_SIGNAL);
}

void sig_hub_send(sig_hub_msg_t *m)
{
	sig_hub_t *h = hub_of(m->id);

	if (h == NULL) {
		vc_msg_destroy(&m->msg);
		return;
	}
	vc_actor_send(&h->actor, &m->msg);
}

/* --- users ------------------------------------------------------------------------ */

static sig_user_t *user_find(sig_hub_t *h, const char *id)
{
	for (sig_user_t *u = h->users[id_hash(id) % BUCKETS]; u != NULL; u = u->next)
		if (strcmp(u->id, id) == 0)
			return u;
	return NULL;
}

static sig_user_t *user_get(sig_hub_t *h, const char *id)
{
	sig_user_t *u = user_find(h, id);
	sig_user_t **head;

	if (u != NULL)
		return u;
	u = vc_calloc(1, sizeof(*u));
	u->id = vc_strdup(id);
	head = &h->users[id_hash(id) % BUCKETS];
	u->next = *head;
	*head = u;
	atomic_fetch_add(&h->nusers, 1);
	u->sub_gen = ++h->sub_gen;
	u->sub = sig_cluster_sub("user", id, u->sub_gen);
	u->waiting = u->sub != NULL;
	u->parked_tail = &u->parked;
	return u;
}

static void conn_free(u_conn_t *c)
{
	vc_actor_unref(c->actor);
	free(c->instance);
	free(c->scope);
	free(c);
}

static void user_drop(sig_hub_t *h, sig_user_t *u)
{
	for (sig_user_t **pp = &h->users[id_hash(u->id) % BUCKETS]; *pp != NULL; pp = &(*pp)->next)
		if (*pp == u) {
			*pp = u->next;
			break;
		}
	atomic_fetch_sub(&h->nusers, 1);
	while (u->parked != NULL) { /* only when the hub stops */
		sig_hub_msg_t *p = u->parked;
		u->parked = p->parked_next;
		vc_msg_destroy(&p->msg);
	}
	while (u->conns != NULL) {
		u_conn_t *c = u->conns;
		u->conns = c->next;
		conn_free(c);
	}
	if (u->sub != NULL)
		vc_nats_unsub(u->sub);
	free(u->voice);
	free(u->id);
	free(u);
}

static bool same(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

static void deliver_all(sig_user_t *u, vc_shared_t *frame, uint64_t except, uint64_t seq)
{
	for (u_conn_t *c = u->conns; c != NULL; c = c->next)
		if (c->conn != except)
			sig_deliver(c->actor, frame, seq);
}

/* A device of the user identified (here or elsewhere): an older socket of
 * the same tab closes, the others hear of it. */
static void peer_online(sig_user_t *u, uint64_t conn, const char *instance, const char *scope)
{
	json_t *body = json_pack("{s:s,s:s?,s:s?}", "fromUserId", u->id, "clientInstanceId",
	                         instance, "connectionScope", scope);
	vc_shared_t *f = sig_frame(VC_SIG_PEER_ONLINE, body);

	for (u_conn_t **pp = &u->conns; *pp != NULL;) {
		u_conn_t *c = *pp;
		if (c->conn != conn && instance != NULL && same(c->instance, instance) &&
		    (same(c->scope, scope) || (c->scope == NULL && scope == NULL))) {
			sig_close_session(c->actor, SIG_CLOSE_REPLACED,
			                  "replaced by a newer connection");
			*pp = c->next;
			u->nconns--;
			conn_free(c);
			continue;
		}
		if (c->conn != conn)
			sig_deliver(c->actor, f, 0);
		pp = &c->next;
	}
	vc_shared_unref(f);
	json_decref(body);
}

/* Attach m's session to u. False when that dropped u (refused, and u had
 * nothing else). */
static bool attach(sig_hub_t *h, sig_user_t *u, sig_hub_msg_t *m)
{
	sig_attached_msg_t *a = vc_msg_new(sizeof(*a), S_ATTACHED);
	u_conn_t *c;

	if (u->nconns >= vc_config_get()->signal_max_user_connections) {
		a->sync_seq = UINT64_MAX;
		vc_actor_send(m->session, &a->msg);
		if (u->conns == NULL && u->parked == NULL) {
			user_drop(h, u);
			return false;
		}
		return true;
	}
	peer_online(u, m->conn, m->instance, m->scope);
	c = vc_calloc(1, sizeof(*c));
	c->actor = m->session;
	m->session = NULL; /* the record keeps the reference */
	c->conn = m->conn;
	c->instance = m->instance;
	c->scope = m->scope;
	m->instance = m->scope = NULL;
	c->db_session = m->db_session;
	memcpy(c->hash, m->token_hash, 32);
	c->next = u->conns;
	u->conns = c;
	u->nconns++;
	sig_cluster_publish("user", u->id,
	                    json_pack("{s:s,s:s?,s:s?,s:s}", "op", "online", "instance",
	                              c->instance, "scope", c->scope, "conn", ""));
	a->sync_seq = u->last_seq;
	vc_actor_send(c->actor, &a->msg);
	return true;
}

/* True when m was kept (parked until the user's subscription is active). */
static bool on_attach(sig_hub_t *h, sig_hub_msg_t *m)
{
	sig_user_t *u = user_get(h, m->id);

	if (u->waiting) {
		m->parked_next = NULL;
		*u->parked_tail = m;
		u->parked_tail = &m->parked_next;
		return true;
	}
	(void)attach(h, u, m);
	return false;
}

/* The user's subscription is active: the parked attaches go on, in order. */
static void on_sub_ready(sig_hub_t *h, sig_hub_msg_t *m)
{
	sig_user_t *u = user_find(h, m->id);
	sig_hub_msg_t *p;
	bool alive = true;

	if (u == NULL || !u->waiting || u->sub_gen != (uint64_t)m->generation)
		return; /* a record dropped since, or a newer one's wait */
	u->waiting = false;
	while (alive && (p = u->parked) != NULL) {
		u->parked = p->parked_next;
		if (u->parked == NULL)
			u->parked_tail = &u->parked;
		alive = attach(h, u, p);
		vc_msg_destroy(&p->msg);
	}
}

static void on_detach(sig_hub_t *h, sig_hub_msg_t *m)
{
	sig_user_t *u = user_find(h, m->id);

	if (u == NULL)
		return;
	for (sig_hub_msg_t **pp = &u->parked; *pp != NULL; pp = &(*pp)->parked_next)
		if ((*pp)->conn == m->conn) { /* gone before it was attached */
			sig_hub_msg_t *p = *pp;
			*pp = p->parked_next;
			if (*pp == NULL)
				u->parked_tail = pp;
			vc_msg_destroy(&p->msg);
			break;
		}
	for (u_conn_t **pp = &u->conns; *pp != NULL; pp = &(*pp)->next)
		if ((*pp)->conn == m->conn) {
			u_conn_t *c = *pp;
			*pp = c->next;
			u->nconns--;
			conn_free(c);
			break;
		}
	if (u->conns == NULL && u->parked == NULL)
		user_drop(h, u);
}

/* A frame for a user: its voice owner's connection, or all of them. */
static void to_user(sig_user_t *u, vc_shared_t *frame, enum sig_to to, uint64_t except)
{
	if (u == NULL)
		return;
	if (to == TO_VOICE && u->voice != NULL) {
		for (u_conn_t *c = u->conns; c != NULL; c = c->next)
			if (same(c->instance, u->voice) && c->conn != except)
				sig_deliver(c->actor, frame, 0);
		return;
	}
	deliver_all(u, frame, except, 0);
}

static void publish_frame(const char *kind, const char *id, const char *op, vc_shared_t *f,
                          json_t *extra)
{
	json_t *j = extra != NULL ? extra : json_object();

	json_object_set_new(j, "op", json_string(op));
	json_object_set_new(j, "frame", json_stringn((const char *)f->data, f->len));
	sig_cluster_publish(kind, id, j);
}

static void on_to_user(sig_hub_t *h, sig_hub_msg_t *m)
{
	sig_user_t *u = user_find(h, m->id);
	bool voice_here = false;

	if (u != NULL && m->to == TO_VOICE && u->voice != NULL)
		for (u_conn_t *c = u->conns; c != NULL; c = c->next)
			voice_here |= same(c->instance, u->voice);
	to_user(u, m->frame, m->to, m->conn);
	atomic_fetch_add(&h->relayed, 1);
	if (!voice_here) /* another node may have the owner, or more connections */
		publish_frame("user", m->id, "rtc", m->frame,
		              json_pack("{s:s}", "to", m->to == TO_VOICE ? "voice" : "all"));
}

static void on_synced(sig_hub_t *h, sig_hub_msg_t *m)
{
	sig_user_t *u = user_find(h, m->id);
	char seq[24];

	if (u != NULL) {
		if (m->seq > u->last_seq)
			u->last_seq = m->seq;
		deliver_all(u, m->frame, m->conn, m->seq);
	}
	snprintf(seq, sizeof(seq), "%" PRIu64, m->seq);
	publish_frame("user", m->id, "sync", m->frame, json_pack("{s:s}", "seq", seq));
}

/* A voice owner, if newer than what this node believes: announced to the
 * user's devices here (and, for this node's own takeover, elsewhere). */
static void voice_update(sig_user_t *u, const char *instance, const char *previous,
                         int64_t generation, bool announce, bool publish)
{
	json_t *body;
	vc_shared_t *f;

	if (u == NULL || generation <= u->voice_gen)
		return;
	free(u->voice);
	u->voice = vc_strdup(instance);
	u->voice_gen = generation;
	if (!announce)
		return;
	body = json_pack("{s:s,s:s?,s:I}", "clientInstanceId", instance, "previousClientInstanceId",
	                 previous, "generation", (json_int_t)generation);
	f = sig_frame(VC_SIG_VOICE_TAKEOVER, body);
	deliver_all(u, f, 0, 0);
	vc_shared_unref(f);
	if (publish)
		sig_cluster_publish("user", u->id,
		                    json_pack("{s:s,s:s,s:s?,s:I}", "op", "voice", "instance",
		                              instance, "previous", previous, "generation",
		                              (json_int_t)generation));
	json_decref(body);
}

static void on_voice(sig_hub_t *h, sig_hub_msg_t *m)
{
	bool announce = m->to == TO_ALL;

	voice_update(user_find(h, m->id), m->instance, m->previous, m->generation, announce,
	             announce);
}

/* --- servers ------------------------------------------------------------------------ */

static sig_server_t *server_find(sig_hub_t *h, const char *id)
{
	for (sig_server_t *s = h->servers[id_hash(id) % BUCKETS]; s != NULL; s = s->next)
		if (strcmp(s->id, id) == 0)
			return s;
	return NULL;
}

static sig_server_t *server_get(sig_hub_t *h, const char *id)
{
	sig_server_t *s = server_find(h, id);
	sig_server_t **head;

	if (s != NULL)
		return s;
	s = vc_calloc(1, sizeof(*s));
	s->id = vc_strdup(id);
	head = &h->servers[id_hash(id) % BUCKETS];
	s->next = *head;
	*head = s;
	atomic_fetch_add(&h->nservers, 1);
	s->sub_gen = ++h->sub_gen;
	s->sub = sig_cluster_sub("server", id, s->sub_gen);
	if (s->sub == NULL) /* one node: nobody to wait for */
		s->settled = true;
	return s; /* else unsettled until on_server_ready, and SIG_SETTLE after */
}

/* The server's subscription is active, so the other nodes' answers will
 * reach this one: ask them who is present, and settle SIG_SETTLE later. */
static void on_server_ready(sig_hub_t *h, sig_hub_msg_t *m)
{
	sig_server_t *s = server_find(h, m->id);
	sig_hub_msg_t *t;

	if (s == NULL || s->settled || s->sub_gen != (uint64_t)m->generation ||
	    vc_timer_active(&s->settle))
		return;
	sig_cluster_publish("server", s->id, json_pack("{s:s}", "op", "hello"));
	t = sig_hub_msg(H_SETTLED, s->id);
	vc_timer_start(&s->settle, &h->actor, &t->msg, SIG_SETTLE);
}

static presence_t *presence_of(sig_server_t *s, const char *user, const char *name, bool create)
{
	presence_t *p;

	for (p = s->presence; p != NULL; p = p->next)
		if (strcmp(p->user, user) == 0)
			return p;
	if (!create)
		return NULL;
	p = vc_calloc(1, sizeof(*p));
	p->user = vc_strdup(user);
	p->name = vc_strdup(name != NULL ? name : user);
	p->next = s->presence;
	s->presence = p;
	return p;
}

static void presence_drop(sig_server_t *s, presence_t *gone)
{
	for (presence_t **pp = &s->presence; *pp != NULL; pp = &(*pp)->next)
		if (*pp == gone) {
			*pp = gone->next;
			break;
		}
	for (unsigned i = 0; i < gone->nnodes; i++)
		free(gone->nodes[i]);
	free(gone->nodes);
	free(gone->user);
	free(gone->name);
	free(gone);
}

static bool present(const presence_t *p)
{
	return p != NULL && (p->local > 0 || p->nnodes > 0);
}

/* user_joined / user_left to this node's connections of the server. */
static void tell_members(sig_server_t *s, enum vc_sig_type type, const presence_t *p,
                         uint64_t except)
{
	json_t *body = json_pack("{s:s,s:s,s:s}", "serverId", s->id, "oderId", p->user,
	                         "displayName", p->name);
	vc_shared_t *f = sig_frame(type, body);

	for (s_member_t *m = s->members; m != NULL; m = m->next)
		if (m->conn != except && m->answered) /* the others see it in their answer */
			sig_deliver(m->actor, f, 0);
	vc_shared_unref(f);
	json_decref(body);
}

static json_t *users_answer(sig_server_t *s)
{
	json_t *users = json_array();

	for (presence_t *p = s->presence; p != NULL; p = p->next)
		if (present(p))
			json_array_append_new(users, json_pack("{s:s,s:s}", "oderId", p->user,
			                                       "displayName", p->name));
	return json_pack("{s:s,s:o}", "serverId", s->id, "users", users);
}

static void answer(sig_server_t *s, vc_actor_t *session)
{
	sig_joined_msg_t *j = vc_msg_new(sizeof(*j), S_JOINED);

	for (s_member_t *m = s->members; m != NULL; m = m->next)
		if (m->actor == session)
			m->answered = true;
	j->answer = users_answer(s);
	vc_actor_send(session, &j->msg);
}

static void answer_when_settled(sig_server_t *s, sig_hub_msg_t *m)
{
	waiter_t *w;

	if (s->settled) {
		answer(s, m->session);
		return;
	}
	w = vc_calloc(1, sizeof(*w));
	w->actor = m->session;
	m->session = NULL;
	w->next = s->waiters;
	s->waiters = w;
}

static void server_drop(sig_hub_t *h, sig_server_t *s)
{
	for (sig_server_t **pp = &h->servers[id_hash(s->id) % BUCKETS]; *pp != NULL;
	     pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	atomic_fetch_sub(&h->nservers, 1);
	if (vc_timer_active(&s->settle))
		vc_timer_cancel(&s->settle);
	while (s->presence != NULL)
		presence_drop(s, s->presence);
	while (s->waiters != NULL) {
		waiter_t *w = s->waiters;
		s->waiters = w->next;
		answer(s, w->actor); /* an answer rather than none */
		vc_actor_unref(w->actor);
		free(w);
	}
	if (s->sub != NULL)
		vc_nats_unsub(s->sub);
	free(s->id);
	free(s);
}

static void on_join(sig_hub_t *h, sig_hub_msg_t *m)
{
	sig_server_t *s = server_get(h, m->id);
	presence_t *p = presence_of(s, m->user_id, m->name, true);
	s_member_t *mm;

	for (mm = s->members; mm != NULL && mm->conn != m->conn; mm = mm->next)
		;
	if (mm == NULL) { /* joining twice is joining once */
		mm = vc_calloc(1, sizeof(*mm));
		vc_actor_ref(m->session);
		mm->actor = m->session;
		mm->conn = m->conn;
		mm->user = vc_strdup(m->user_id);
		mm->next = s->members;
		s->members = mm;
		if (p->local++ == 0) {
			if (p->nnodes == 0)
				tell_members(s, VC_SIG_USER_JOINED, p, m->conn);
			sig_cluster_publish("server", s->id,
			                    json_pack("{s:s,s:s,s:s,s:b}", "op", "presence", "user",
			                              p->user, "name", p->name, "present", 1));
		}
	}
	answer_when_settled(s, m);
}

static void on_leave(sig_hub_t *h, sig_hub_msg_t *m)
{
	sig_server_t *s = server_find(h, m->id);
	presence_t *p;

	if (s == NULL)
		return;
	for (s_member_t **pp = &s->members; *pp != NULL; pp = &(*pp)->next) {
		s_member_t *mm = *pp;
		if (mm->conn != m->conn)
			continue;
		*pp = mm->next;
		p = presence_of(s, mm->user, NULL, false);
		if (p != NULL && --p->local == 0) {
			if (p->nnodes == 0)
				tell_members(s, VC_SIG_USER_LEFT, p, m->conn);
			sig_cluster_publish("server", s->id,
			                    json_pack("{s:s,s:s,s:s,s:b}", "op", "presence", "user",
			                              p->user, "name", p->name, "present", 0));
			if (!present(p))
				presence_drop(s, p);
		}
		vc_actor_unref(mm->actor);
		free(mm->user);
		free(mm);
		break;
	}
	if (s->members == NULL && s->waiters == NULL)
		server_drop(h, s);
}

static void on_users(sig_hub_t *h, sig_hub_msg_t *m)
{
	sig_server_t *s = server_find(h, m->id);

	if (s == NULL) { /* cannot be: the session joined it */
		sig_joined_msg_t *j = vc_msg_new(sizeof(*j), S_JOINED);
		j->answer = json_pack("{s:s,s:[]}", "serverId", m->id, "users");
		vc_actor_send(m->session, &j->msg);
		return;
	}
	answer_when_settled(s, m);
}

static void on_to_server(sig_hub_t *h, sig_hub_msg_t *m)
{
	sig_server_t *s = server_find(h, m->id);

	if (s != NULL)
		for (s_member_t *mm = s->members; mm != NULL; mm = mm->next)
			if (mm->conn != m->conn)
				sig_deliver(mm->actor, m->frame, 0);
	atomic_fetch_add(&h->relayed, 1);
	publish_frame("server", m->id, "relay", m->frame, NULL);
}

static void on_settled(sig_hub_t *h, sig_hub_msg_t *m)
{
	sig_server_t *s = server_find(h, m->id);

	if (s == NULL)
		return;
	s->settled = true;
	while (s->waiters != NULL) {
		waiter_t *w = s->waiters;
		s->waiters = w->next;
		answer(s, w->actor);
		vc_actor_unref(w->actor);
		free(w);
	}
	if (s->members == NULL)
		server_drop(h, s);
}

/* --- other nodes ------------------------------------------------------------------ */

static void node_add(presence_t *p, const char *node)
{
	for (unsigned i = 0; i < p->nnodes; i++)
		if (strcmp(p->nodes[i], node) == 0)
			return;
	p->nodes = vc_realloc(p->nodes, (p->nnodes + 1) * sizeof(char *));
	p->nodes[p->nnodes++] = vc_strdup(node);
}

static bool node_remove(presence_t *p, const char *node)
{
	for (unsigned i = 0; i < p->nnodes; i++)
		if (strcmp(p->nodes[i], node) == 0) {
			free(p->nodes[i]);
			p->nodes[i] = p->nodes[--p->nnodes];
			return true;
		}
	return false;
}

static void remote_server(sig_hub_t *h, sig_server_t *s, json_t *j, const char *op,
                          const char *node)
{
	const char *user = json_string_value(json_object_get(j, "user"));
	const char *name = json_string_value(json_object_get(j, "name"));
	const char *frame = json_string_value(json_object_get(j, "frame"));

	if (strcmp(op, "hello") == 0) { /* a node opened the server: who is here */
		json_t *users = json_array();
		for (presence_t *p = s->presence; p != NULL; p = p->next)
			if (p->local > 0)
				json_array_append_new(users, json_pack("{s:s,s:s}", "user", p->user,
				                                       "name", p->name));
		sig_cluster_publish("server", s->id,
		                    json_pack("{s:s,s:o}", "op", "present", "users", users));
	} else if (strcmp(op, "present") == 0) { /* state, not news: no notices */
		json_t *e;
		size_t i;
		json_array_foreach(json_object_get(j, "users"), i, e)
		{
			const char *u = json_string_value(json_object_get(e, "user"));
			if (u != NULL)
				node_add(presence_of(s, u,
				                     json_string_value(json_object_get(e, "name")),
				                     true),
				         node);
		}
	} else if (strcmp(op, "presence") == 0 && user != NULL) {
		presence_t *p = presence_of(s, user, name, true);
		bool was = present(p);
		if (json_is_true(json_object_get(j, "present")))
			node_add(p, node);
		else
			node_remove(p, node);
		if (!was && present(p))
			tell_members(s, VC_SIG_USER_JOINED, p, 0);
		else if (was && !present(p))
			tell_members(s, VC_SIG_USER_LEFT, p, 0);
		if (!present(p))
			presence_drop(s, p);
	} else if (strcmp(op, "relay") == 0 && frame != NULL) {
		vc_shared_t *f = vc_shared_copy(frame, strlen(frame));
		vc_ws_frame_text(f);
		for (s_member_t *m = s->members; m != NULL; m = m->next)
			sig_deliver(m->actor, f, 0);
		vc_shared_unref(f);
	}
}

static void remote_user(sig_hub_t *h, sig_user_t *u, json_t *j, const char *op)
{
	const char *frame = json_string_value(json_object_get(j, "frame"));
	const char *instance = json_string_value(json_object_get(j, "instance"));
	vc_shared_t *f = NULL;

	if (frame != NULL) {
		f = vc_shared_copy(frame, strlen(frame));
		vc_ws_frame_text(f);
	}
	if (strcmp(op, "online") == 0) {
		peer_online(u, 0, instance, json_string_value(json_object_get(j, "scope")));
	} else if (strcmp(op, "sync") == 0 && f != NULL) {
		const char *seq = json_string_value(json_object_get(j, "seq"));
		uint64_t n = seq != NULL ? strtoull(seq, NULL, 10) : 0;
		if (n > u->last_seq)
			u->last_seq = n;
		deliver_all(u, f, 0, n);
	} else if (strcmp(op, "rtc") == 0 && f != NULL) {
		const char *to = json_string_value(json_object_get(j, "to"));
		to_user(u, f, to != NULL && strcmp(to, "voice") == 0 ? TO_VOICE : TO_ALL, 0);
	} else if (strcmp(op, "voice") == 0 && instance != NULL) {
		voice_update(u, instance, json_string_value(json_object_get(j, "previous")),
		             json_integer_value(json_object_get(j, "generation")), true, false);
	}
	vc_shared_unref(f);
}

static void on_remote(sig_hub_t *h, sig_hub_msg_t *m)
{
	const char *kind = json_string_value(json_object_get(m->json, "kind"));
	const char *op = json_string_value(json_object_get(m->json, "op"));
	const char *node = json_string_value(json_object_get(m->json, "node"));

	if (kind == NULL || op == NULL || node == NULL)
		return;
	if (strcmp(kind, "user") == 0) {
		sig_user_t *u = user_find(h, m->id);
		if (u != NULL)
			remote_user(h, u, m->json, op);
	} else {
		sig_server_t *s = server_find(h, m->id);
		if (s != NULL)
			remote_server(h, s, m->json, op, node);
	}
}

/* --- revocations --------------------------------------------------------------------- */

static void on_revoked(sig_hub_t *h, sig_hub_msg_t *m)
{
	const char *user = json_string_value(json_object_get(m->json, "user_id"));
	json_int_t sid = json_integer_value(json_object_get(m->json, "session_id"));
	const char *hex = json_string_value(json_object_get(m->json, "token_hash"));
	uint8_t hash[32];
	size_t n = 0;
	bool by_hash = hex != NULL &&
	               sodium_hex2bin(hash, sizeof(hash), hex, strlen(hex), NULL, &n, NULL) == 0 &&
	               n == 32;

	for (unsigned b = 0; b < BUCKETS; b++)
		for (sig_user_t *u = h->users[b]; u != NULL; u = u->next)
			for (u_conn_t *c = u->conns; c != NULL; c = c->next)
				if ((user != NULL && strcmp(u->id, user) == 0) ||
				    (sid != 0 && c->db_session == sid) ||
				    (by_hash && memcmp(c->hash, hash, 32) == 0))
					vc_actor_send(c->actor,
					              vc_msg_new(sizeof(vc_msg_t), S_RECHECK));
}

/* From any thread (auth's hook): every hub looks at its connections. */
static void forgotten(const uint8_t *hash, int64_t session_id, const char *user_id)
{
	char hex[65];

	if (hubs == NULL)
		return;
	if (hash != NULL)
		sodium_bin2hex(hex, sizeof(hex), hash, 32);
	for (unsigned i = 0; i < nhubs; i++) {
		sig_hub_t *h = atomic_load_explicit((_Atomic(sig_hub_t *) *)&hubs[i],
		                                    memory_order_acquire);
		sig_hub_msg_t *m;
		if (h == NULL)
			continue;
		m = sig_hub_msg(H_REVOKED, NULL);
		m->json = json_pack("{s:s?,s:I,s:s?}", "token_hash", hash ? hex : NULL,
		                    "session_id", (json_int_t)session_id, "user_id", user_id);
		vc_actor_send(&h->actor, &m->msg);
	}
}

/* --- the hub actor ------------------------------------------------------------------- */

static int on_msg(vc_actor_t *self, vc_msg_t *msg)
{
	sig_hub_t *h = self->state;
	sig_hub_msg_t *m = (sig_hub_msg_t *)msg;

	switch (msg->type) {
	case H_ATTACH:
		if (on_attach(h, m))
			return VC_MSG_KEPT;
		break;
	case H_SUB_READY: on_sub_ready(h, m); break;
	case H_SERVER_READY: on_server_ready(h, m); break;
	case H_DETACH: on_detach(h, m); break;
	case H_JOIN: on_join(h, m); break;
	case H_LEAVE: on_leave(h, m); break;
	case H_USERS: on_users(h, m); break;
	case H_TO_SERVER: on_to_server(h, m); break;
	case H_TO_USER: on_to_user(h, m); break;
	case H_SYNCED: on_synced(h, m); break;
	case H_VOICE: on_voice(h, m); break;
	case H_REMOTE: on_remote(h, m); break;
	case H_REVOKED: on_revoked(h, m); break;
	case H_SETTLED: on_settled(h, m); break;
	}
	return VC_MSG_DONE;
}

/* Worker 0 prunes account_sync_log by age, once a minute. */
static int on_prune(vc_actor_t *self, vc_msg_t *msg)
{
	sig_hub_t *h = self->state;
	char secs[32];
	const char *params[1] = { secs };

	snprintf(secs, sizeof(secs), "%.0f", vc_config_get()->account_sync_retention);
	vc_pg_query(S_PRUNE_AGE, 1, params, &h->actor, H_PG_DONE, NULL);
	vc_timer_start(&h->prune, &h->actor, vc_msg_new(sizeof(vc_msg_t), H_PRUNE), PRUNE_EVERY);
	return VC_MSG_DONE;
}

static int on_pg_done(vc_actor_t *self, vc_msg_t *msg)
{
	vc_pg_result_t *r = (vc_pg_result_t *)msg;

	if (r->status == VC_PG_OK && strcmp(PQcmdTuples(r->res), "0") != 0)
		log_debug(
		        "signal: pruned %s account_sync messages older than account_sync_retention",
		        PQcmdTuples(r->res));
	return VC_MSG_DONE;
}

static const vc_handler_fn hub_handlers[H_ALL] = {
	[H_ATTACH] = on_msg,      [H_DETACH] = on_msg,       [H_JOIN] = on_msg,
	[H_LEAVE] = on_msg,       [H_USERS] = on_msg,        [H_TO_SERVER] = on_msg,
	[H_TO_USER] = on_msg,     [H_SYNCED] = on_msg,       [H_VOICE] = on_msg,
	[H_REMOTE] = on_msg,      [H_REVOKED] = on_msg,      [H_SETTLED] = on_msg,
	[H_SUB_READY] = on_msg,   [H_SERVER_READY] = on_msg, [H_PRUNE] = on_prune,
	[H_PG_DONE] = on_pg_done,
};

static const vc_behaviour_t hub_behaviour = {
	.name = "signal-hub",
	.handlers = hub_handlers,
	.nhandlers = H_ALL,
};

static void hubs_alloc(void)
{
	nhubs = vc_runtime_nworkers();
	hubs = vc_calloc(nhubs, sizeof(*hubs));
}

void sig_hub_init(void)
{
	S_PRUNE_AGE = vc_pg_statement("sig_prune_age",
	                              "DELETE FROM account_sync_log WHERE created_at <"
	                              " now() - make_interval(secs => $1::double precision)",
	                              1);
	vc_auth_on_forget(forgotten);
}

void sig_hub_worker_start(vc_worker_t *w)
{
	sig_hub_t *h = vc_calloc(1, sizeof(*h));

	pthread_once(&hubs_once, hubs_alloc);
	vc_actor_init(&h->actor, &hub_behaviour, w, h);
	h->w = w;
	vc_worker_set_slot(w, VC_SLOT_SIGNAL, h);
	atomic_store_explicit((_Atomic(sig_hub_t *) *)&hubs[vc_worker_index(w)], h,
	                      memory_order_release);
	if (vc_worker_index(w) == 0)
		vc_timer_start(&h->prune, &h->actor, vc_msg_new(sizeof(vc_msg_t), H_PRUNE), 1.0);
}

void sig_hub_worker_stop(vc_worker_t *w)
{
	sig_hub_t *h = vc_worker_slot(w, VC_SLOT_SIGNAL);

	if (h == NULL)
		return;
	if (vc_timer_active(&h->prune))
		vc_timer_cancel(&h->prune);
	for (unsigned b = 0; b < BUCKETS; b++) {
		while (h->users[b] != NULL)
			user_drop(h, h->users[b]);
		while (h->servers[b] != NULL) {
			sig_server_t *s = h->servers[b];
			while (s->members != NULL) {
				s_member_t *m = s->members;
				s->members = m->next;
				vc_actor_unref(m->actor);
				free(m->user);
				free(m);
			}
			server_drop(h, s);
		}
	}
	vc_worker_set_slot(w, VC_SLOT_SIGNAL, NULL);
	atomic_store_explicit((_Atomic(sig_hub_t *) *)&hubs[vc_worker_index(w)], NULL,
	                      memory_order_release);
	vc_actor_stop(&h->actor);
	vc_actor_unref(&h->actor);
}

void sig_hub_stats(vc_signal_stats_t *out)
{
	for (unsigned i = 0; hubs != NULL && i < nhubs; i++) {
		sig_hub_t *h = atomic_load_explicit((_Atomic(sig_hub_t *) *)&hubs[i],
		                                    memory_order_acquire);
		if (h == NULL)
			continue;
		out->users += atomic_load(&h->nusers);
		out->servers += atomic_load(&h->nservers);
		out->relayed += atomic_load(&h->relayed);
	}
}
