/*
 * test_signal_cluster.c — the signaling WebSocket /ws on two vcd nodes, A
 * and B, that share one PostgreSQL and one nats-server (doc/signaling.md
 * "State and the cluster"): what a client sees must not depend on which
 * node it reached.
 *
 *   presence     three devices of one user, two on A and one on B: an
 *                observer on each node hears exactly one user_joined when
 *                the first device joins the server, nothing while the
 *                others join and leave, exactly one user_left when the last
 *                one leaves (once the last leaver is on A and leaves with
 *                leave_server, once it is on B and its socket vanishes)
 *   account_sync from a device on either node reaches the user's other
 *                devices on both nodes, exactly {type, fromUserId,
 *                clientInstanceId, payload, seq} with the acknowledged seq,
 *                never the sender; account_sync_peer_online crosses nodes
 *                when a device identifies
 *   takeover     20 rounds of voice_client_takeover sent at the same time
 *                by a device on A and one on B: every device on both nodes
 *                ends told the owner that voice_owners holds (instance and
 *                generation), generations rising, the last announcement the
 *                final one; an offer then reaches the owner's socket only
 *   rtc          offer / answer / ice_candidate to a user whose voice owner
 *                is on the other node reach the owner's socket only, also
 *                when the sender's node learned the owner from PostgreSQL
 *                (its first device of that user identified after the
 *                takeover)
 *   revocation   logout through B of a session used by sockets on A and B
 *                closes both with 4504; vcctl sessions revoke on A closes a
 *                socket on B; the user's sockets of other sessions stay
 *   catch-up     a device that was away while 1,000 account_syncs were sent
 *                on A identifies on B with lastSyncSeq: all of them in
 *                order, then the live one sent meanwhile, once
 *   two senders  devices on A and B send 50 account_syncs each at once:
 *                every other device gets all 100, once each (seqs cross in
 *                delivery; none may be dropped as "already had")
 *   first device the first device of a user on a node, just identified,
 *                gets a direct message and an account_sync sent from the
 *                other node at once (30 new users)
 *   chat         chat_message / user_typing to the server's joined
 *                connections on both nodes, the sender's other devices
 *                included, never the sending socket, nobody not joined
 *
 * Absence is proven by order: a later marker that travels the same way
 * (same node, same actor, same NATS subject) as what must not have come.
 * Nodes A and B run for the whole program with NATS, no REST rate limits,
 * a session cache that would keep a revoked session for an hour (so only
 * the revocation messages can close a socket), and /ws rate limits raised
 * for the catch-up's bulk sender.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "t/lib/vctest.h"
#include "t/lib/vctest_sig.h"
#include "t/lib/vctest_ws.h"

#define BASE_CONF "auth_rate_limit = off\nserver_join_rate_limit = off\nsession_cache_ttl = 1h\n"
#define ROUNDS 20      /* simultaneous takeovers */
#define CATCH_UP 1000  /* account_syncs missed */
#define BULK_MS 120000 /* 1,000 account_syncs persisted one by one, relayed over NATS */

static char *db_url;
static vct_vcd_t *node_a, *node_b;
static bool teardown_failed;

/* --- helpers -------------------------------------------------------------------- */

static char *send_chat(vcs_t *s, const char *server, const char *tag)
{
	return vcs_send_mk(s,
	                   vcs_mk("chat_message",
	                          "\"serverId\":\"%s\",\"tag\":\"%s\",\"message\":{\"id\":\"m-%s\","
	                          "\"content\":\"h\\u00e9 \\u2713 %s\",\"timestamp\":1710000000000,"
	                          "\"meta\":{\"n\":1.5,\"nil\":null}}",
	                          server, tag, tag, tag));
}

/*
 * Markers through a server: a chat tagged <tag>-A from `ma` (a connection
 * on node A) and <tag>-B from `mb` (on node B), taken by every observer;
 * end[k] is one past the later of the two at obs[k]. Whatever a server
 * actor of either node sent an observer before handling the marker's relay
 * is in obs[k]'s inbox before end[k].
 */
static void server_markers(vcs_t *ma, vcs_t *mb, vcs_t **obs, unsigned n, const char *server,
                           const char *tag, unsigned *end)
{
	char *ta = vct_strf("%s-A", tag), *tb = vct_strf("%s-B", tag);
	char *ca = send_chat(ma, server, ta), *cb = send_chat(mb, server, tb);

	for (unsigned k = 0; k < n; k++) {
		char *wa = vct_strf("the marker chat '%s' from %s", ta, ma->name);
		char *wb = vct_strf("the marker chat '%s' from %s", tb, mb->name);
		unsigned i = vcs_got_tag(obs[k], "chat_message", ta, wa);
		unsigned j = vcs_got_tag(obs[k], "chat_message", tb, wb);
		end[k] = (i > j ? i : j) + 1;
		free(wa);
		free(wb);
	}
	free(ca);
	free(cb);
	free(ta);
	free(tb);
}

/* Markers to a user: a direct_message tagged <tag>-A from `ma` (on A) and
 * <tag>-B from `mb` (on B) to user `to`, taken by each of its devices;
 * end[k] as for server_markers. They travel as RTC does (the user actor of
 * the sender's node, vcd.sig.user.{id}). */
static void user_markers(vcs_t *ma, vcs_t *mb, const vcs_user_t *to, vcs_t **devs, unsigned n,
                         const char *tag, unsigned *end)
{
	char *ta = vct_strf("%s-A", tag), *tb = vct_strf("%s-B", tag);

	vcs_send(ma, "{\"type\":\"direct_message\",\"targetUserId\":\"%s\",\"tag\":\"%s\"}", to->id,
	         ta);
	vcs_send(mb, "{\"type\":\"direct_message\",\"targetUserId\":\"%s\",\"tag\":\"%s\"}", to->id,
	         tb);
	for (unsigned k = 0; k < n; k++) {
		char *wa = vct_strf("the marker direct_message '%s' from %s", ta, ma->name);
		char *wb = vct_strf("the marker direct_message '%s' from %s", tb, mb->name);
		unsigned i = vcs_got_tag(devs[k], "direct_message", ta, wa);
		unsigned j = vcs_got_tag(devs[k], "direct_message", tb, wb);
		end[k] = (i > j ? i : j) + 1;
		free(wa);
		free(wb);
	}
	free(ta);
	free(tb);
}

/* s takes the account_sync with seq: exactly {type, fromUserId,
 * clientInstanceId, payload, seq}. */
static unsigned sync_got(vcs_t *s, long long seq, const vcs_user_t *from, const char *cid,
                         const char *payload)
{
	char *what = vct_strf("account_sync seq %lld from %s", seq, cid);
	unsigned i = vcs_take(s, what, "account_sync", "{\"seq\":%lld}", seq);
	json_t *want = json_pack("{s:s,s:s,s:s,s:I}", "type", "account_sync", "fromUserId",
	                         from->id, "clientInstanceId", cid, "seq", (json_int_t)seq);

	json_object_set_new(want, "payload", json_loads(payload, JSON_DECODE_ANY, NULL));
	if (!json_equal(want, (json_t *)vcs_msg(s, i))) {
		char *w = json_dumps(want, JSON_COMPACT),
		     *g = json_dumps(vcs_msg(s, i), JSON_COMPACT);
		fail_msg("%s: %s is %s, expected exactly %s", s->name, what, g, w);
	}
	json_decref(want);
	free(what);
	return i;
}

static vcs_t *open_at(const vct_vcd_t *v, const vcs_user_t *u, const char *cid, const char *who)
{
	char *name = vct_strf("%s/%s", who, cid);
	vcs_t *s = vcs_open(v, u, cid, name);

	free(name);
	return s;
}

/* voice_owners of u: its generation (0: no row) and instance (into cid). */
static long long owner_of(const vcs_user_t *u, char *cid, size_t len)
{
	char *g = vct_db_valuef(db_url, "SELECT generation FROM voice_owners WHERE user_id = '%s'",
	                        u->id);
	char *c = vct_db_valuef(db_url,
	                        "SELECT client_instance_id FROM voice_owners WHERE user_id = '%s'",
	                        u->id);
	long long gen = g != NULL ? strtoll(g, NULL, 10) : 0;

	if (cid != NULL)
		snprintf(cid, len, "%s", c != NULL ? c : "");
	free(g);
	free(c);
	return gen;
}

/* The takeover naming cid at s: its generation. */
static long long takeover_got(vcs_t *s, const char *cid)
{
	char *what = vct_strf("voice_client_takeover naming %s", cid);
	unsigned i =
	        vcs_take(s, what, "voice_client_takeover", "{\"clientInstanceId\":\"%s\"}", cid);

	free(what);
	return vcs_int(s, i, "generation");
}

static void wait_nats(const vct_vcd_t *v)
{
	uint64_t end = vct_now_ms() + 10000;

	while (vct_metric_get(v->port, "vcd_nats_connected") != 1) {
		if (vct_now_ms() > end)
			fail_msg("%s is not connected to NATS (%s) after 10 s: vcd_nats_connected "
			         "is not 1 in /metrics",
			         v->name, vct_env("VCT_NATS_URL"));
		vct_sleep_ms(20);
	}
}

/* --- presence ------------------------------------------------------------------------ */

/* Each observer got exactly `joined` user_joined and `left` user_left of u
 * in [from[k], end[k]). */
static void presence_count(vcs_t **obs, unsigned n, const unsigned *from, const unsigned *end,
                           const vcs_user_t *u, const char *sid, unsigned joined, unsigned left,
                           const char *when)
{
	for (unsigned k = 0; k < n; k++) {
		unsigned j = vcs_count(obs[k], from[k], end[k], "user_joined",
		                       "{\"oderId\":\"%s\",\"serverId\":\"%s\"}", u->id, sid);
		unsigned l = vcs_count(obs[k], from[k], end[k], "user_left",
		                       "{\"oderId\":\"%s\",\"serverId\":\"%s\"}", u->id, sid);
		if (j != joined || l != left) {
			vcs_dump(obs[k]);
			fail_msg("%s: %u user_joined and %u user_left of %s in #%u..#%u (%s); "
			         "expected %u and %u",
			         obs[k]->name, j, l, u->username, from[k], end[k], when, joined,
			         left);
		}
	}
}

static void test_presence(void **state)
{
	vcs_user_t o, a, w, x;
	char sid[37];
	vcs_t *obs[2], *xa, *xb, *a1, *a2, *a3;
	unsigned from[2], end[2];

	vcs_register(node_a, &o, "cpo");
	vcs_register(node_a, &a, "cpa");
	vcs_register(node_b, &w, "cpw");
	vcs_register(node_b, &x, "cpx");
	vcs_server_create(node_a, &o, sid);
	vcs_server_join(node_a, sid, &a);
	vcs_server_join(node_b, sid, &w);
	vcs_server_join(node_b, sid, &x);
	/* Observers on both nodes; marker senders on both nodes. */
	obs[0] = open_at(node_a, &w, "cp-w-a", "w");
	obs[1] = open_at(node_b, &w, "cp-w-b", "w");
	xa = open_at(node_a, &x, "cp-x-a", "x (markers)");
	xb = open_at(node_b, &x, "cp-x-b", "x (markers)");
	vcs_join(obs[0], sid);
	vcs_join(obs[1], sid);
	vcs_join(xa, sid);
	vcs_join(xb, sid);
	a1 = open_at(node_a, &a, "cp-1", "a");
	a2 = open_at(node_a, &a, "cp-2", "a");
	a3 = open_at(node_b, &a, "cp-3", "a");

	/* Round 1: the first device (on A) joins: one user_joined everywhere. */
	for (unsigned k = 0; k < 2; k++)
		from[k] = vcs_n(obs[k]);
	vcs_join(a1, sid);
	for (unsigned k = 0; k < 2; k++)
		vcs_take(obs[k], "user_joined of a (its first device, on A)", "user_joined",
		         "{\"oderId\":\"%s\",\"serverId\":\"%s\",\"displayName\":\"%s\"}", a.id,
		         sid, a.display);
	/* Its other devices join, on A and on B: nothing new. */
	vcs_join(a2, sid);
	vcs_join(a3, sid);
	server_markers(xa, xb, obs, 2, sid, "cp-r1-all-joined", end);
	presence_count(obs, 2, from, end, &a, sid, 1, 0,
	               "three devices joined, two on A, one on B");
	/* Two leave (one per node): a is still in the server through a2. */
	vcs_leave(a1, sid);
	vcs_leave(a3, sid);
	server_markers(xa, xb, obs, 2, sid, "cp-r1-two-left", end);
	presence_count(obs, 2, from, end, &a, sid, 1, 0, "a1 (A) and a3 (B) left, a2 (A) is in");
	/* The last one (on A) leaves: one user_left everywhere. */
	vcs_leave(a2, sid);
	for (unsigned k = 0; k < 2; k++)
		vcs_take(obs[k], "user_left of a (its last device left, on A)", "user_left",
		         "{\"oderId\":\"%s\",\"serverId\":\"%s\"}", a.id, sid);
	server_markers(xa, xb, obs, 2, sid, "cp-r1-end", end);
	presence_count(obs, 2, from, end, &a, sid, 1, 1, "round 1: all three joined and left");

	/* Round 2: first in on B, last out on B, whose socket vanishes. */
	for (unsigned k = 0; k < 2; k++)
		from[k] = vcs_n(obs[k]);
	vcs_join(a3, sid);
	for (unsigned k = 0; k < 2; k++)
		vcs_take(obs[k], "user_joined of a (its first device, on B)", "user_joined",
		         "{\"oderId\":\"%s\",\"serverId\":\"%s\"}", a.id, sid);
	vcs_join(a1, sid);
	vcs_join(a2, sid);
	server_markers(xa, xb, obs, 2, sid, "cp-r2-all-joined", end);
	presence_count(obs, 2, from, end, &a, sid, 1, 0, "round 2: three devices joined");
	vcs_leave(a1, sid);
	vcs_leave(a2, sid);
	server_markers(xa, xb, obs, 2, sid, "cp-r2-two-left", end);
	presence_count(obs, 2, from, end, &a, sid, 1, 0, "round 2: both devices on A left");
	vcs_free(a3); /* vanishes without a close frame */
	for (unsigned k = 0; k < 2; k++)
		vcs_take(obs[k], "user_left of a (its last device, on B, vanished)", "user_left",
		         "{\"oderId\":\"%s\",\"serverId\":\"%s\"}", a.id, sid);
	server_markers(xa, xb, obs, 2, sid, "cp-r2-end", end);
	presence_count(obs, 2, from, end, &a, sid, 1, 1, "round 2: all three joined and left");
	/* The markers' own users never heard of themselves. */
	vcs_expect_none(xa, 0, vcs_n(xa), "user_joined about oneself", "user_joined",
	                "{\"oderId\":\"%s\"}", x.id);
	vct_pass();
}

/* --- account_sync ------------------------------------------------------------------------ */

#define NSYNC 6

static void test_account_sync(void **state)
{
	vcs_user_t a, b;
	vcs_t *d[4], *b1;
	static const char *const cids[4] = { "cs-1", "cs-2", "cs-3", "cs-4" };
	static const char *const payloads[NSYNC] = {
		"{\"type\":\"saved-room-sync\",\"room\":{\"id\":\"r1\",\"name\":\"Room ✓\"}}",
		"\"friend-added:f-2\"",
		"[\"custom-emoji-chunk\",{\"i\":0,\"of\":3}]",
		"42",
		"{\"type\":\"user-avatar-full\",\"data\":\"iVBORw0KGgo=\"}",
		"{\"type\":\"friend-removed\",\"friendId\":\"f-2\",\"nested\":{\"deep\":[[],{}]}}",
	};
	/* d0, d1 and d3 on A, d2 on B; who sends payload k. */
	static const unsigned sender[NSYNC] = { 0, 2, 1, 2, 3, 0 };
	long long seq[NSYNC], mark;
	char *scope_b, *list, *want;
	unsigned i;

	vcs_register(node_a, &a, "csa");
	vcs_register(node_b, &b, "csb");
	d[0] = open_at(node_a, &a, cids[0], "a");
	d[1] = open_at(node_a, &a, cids[1], "a");
	vcs_take(d[0], "account_sync_peer_online of cs-2 (same node)", "account_sync_peer_online",
	         "{\"fromUserId\":\"%s\",\"clientInstanceId\":\"cs-2\"}", a.id);
	/* A device on B: both devices on A hear of it, with its scope. */
	d[2] = open_at(node_b, &a, cids[2], "a");
	scope_b = vct_strf("ws://127.0.0.1:%d", node_b->port);
	for (unsigned k = 0; k < 2; k++)
		vcs_take(d[k], "account_sync_peer_online of cs-3 (identified on B)",
		         "account_sync_peer_online",
		         "{\"fromUserId\":\"%s\",\"clientInstanceId\":\"cs-3\","
		         "\"connectionScope\":\"%s\"}",
		         a.id, scope_b);
	/* A device on A with a scope of its own: the device on B hears of it. */
	d[3] = vcs_open_x(node_a, &a,
	                  &(vcs_ident_t){ .scope = "ws://peer.example:3001", .cid = cids[3] },
	                  "a/cs-4");
	vcs_take(d[2], "account_sync_peer_online of cs-4 (identified on A)",
	         "account_sync_peer_online",
	         "{\"fromUserId\":\"%s\",\"clientInstanceId\":\"cs-4\","
	         "\"connectionScope\":\"ws://peer.example:3001\"}",
	         a.id);
	vcs_take(d[0], "account_sync_peer_online of cs-4 at cs-1", "account_sync_peer_online",
	         "{\"clientInstanceId\":\"cs-4\"}");
	vcs_take(d[1], "account_sync_peer_online of cs-4 at cs-2", "account_sync_peer_online",
	         "{\"clientInstanceId\":\"cs-4\"}");
	b1 = open_at(node_b, &b, "csb-1", "b");

	for (unsigned k = 0; k < NSYNC; k++) {
		seq[k] = vcs_sync_send(d[sender[k]], payloads[k]);
		if (k > 0 && seq[k] != seq[k - 1] + 1)
			fail_msg("account_sync_ack seq %lld after %lld (one user, one sender at a "
			         "time): expected %lld",
			         seq[k], seq[k - 1], seq[k - 1] + 1);
		for (unsigned t = 0; t < 4; t++)
			if (t != sender[k])
				sync_got(d[t], seq[k], &a, cids[sender[k]], payloads[k]);
	}
	/* Never the sender: a marker from cs-2 (on A) reaches everyone after any
	 * echo of their own would have (on B, through NATS after cs-3's own). */
	mark = vcs_sync_send(d[1], "{\"type\":\"marker\"}");
	for (unsigned t = 0; t < 4; t++)
		if (t != 1)
			sync_got(d[t], mark, &a, "cs-2", "{\"type\":\"marker\"}");
	for (unsigned k = 0; k < NSYNC; k++) {
		vcs_t *own = d[sender[k]];
		if (vcs_count(own, 0, vcs_n(own), "account_sync", "{\"seq\":%lld}", seq[k]) != 0) {
			vcs_dump(own);
			fail_msg("%s received its own account_sync (seq %lld) back", own->name,
			         seq[k]);
		}
	}
	/* Each device got each message once. */
	for (unsigned t = 0; t < 4; t++)
		for (unsigned k = 0; k < NSYNC; k++)
			if (t != sender[k] && vcs_count(d[t], 0, vcs_n(d[t]), "account_sync",
			                                "{\"seq\":%lld}", seq[k]) != 1) {
				vcs_dump(d[t]);
				fail_msg("%s got account_sync seq %lld %u times, expected once",
				         d[t]->name, seq[k],
				         vcs_count(d[t], 0, vcs_n(d[t]), "account_sync",
				                   "{\"seq\":%lld}", seq[k]));
			}
	/* Persisted once per seq, whichever node took it. */
	list = vct_strf("%lld", seq[0]);
	for (unsigned k = 1; k < NSYNC; k++) {
		char *l = vct_strf("%s,%lld", list, seq[k]);
		free(list);
		list = l;
	}
	want = vct_strf("%s,%lld", list, mark);
	vcs_db_expect(db_url, want,
	              "SELECT string_agg(seq::text, ',' ORDER BY seq) FROM account_sync_log"
	              " WHERE user_id = '%s'",
	              a.id);
	/* Another user on B heard nothing: a direct message from A comes after. */
	vcs_send(d[0], "{\"type\":\"direct_message\",\"targetUserId\":\"%s\",\"tag\":\"cs-dm\"}",
	         b.id);
	i = vcs_got_tag(b1, "direct_message", "cs-dm", "the marker direct_message from a/cs-1");
	vcs_expect_none(b1, 0, i, "another user's account_sync", "account_sync", NULL);
	vcs_expect_none(b1, 0, i, "another user's peer_online", "account_sync_peer_online", NULL);
	/* Nor did a device hear of itself coming online. */
	for (unsigned t = 0; t < 4; t++)
		vcs_expect_none(d[t], 0, vcs_n(d[t]), "peer_online about itself",
		                "account_sync_peer_online", "{\"clientInstanceId\":\"%s\"}",
		                cids[t]);
	free(want);
	free(list);
	free(scope_b);
	vct_pass();
}

/* --- simultaneous takeovers ------------------------------------------------------------- */

/* Wait until voice_owners of u has generation `gen` (both takeovers of a
 * round committed): its instance into cid. */
static void wait_generation(const vcs_user_t *u, long long gen, char *cid, size_t len,
                            unsigned round)
{
	uint64_t end = vct_now_ms() + VCS_MS;
	long long g;

	while ((g = owner_of(u, cid, len)) < gen) {
		if (vct_now_ms() > end)
			fail_msg("round %u: voice_owners of a has generation %lld after %d ms, "
			         "expected %lld (both takeovers committed)",
			         round, g, VCS_MS, gen);
		vct_sleep_ms(10);
	}
	if (g != gen)
		fail_msg("round %u: voice_owners of a has generation %lld, expected %lld (two "
		         "takeovers, one step each)",
		         round, g, gen);
}

static void test_takeover_race(void **state)
{
	vcs_user_t a, c;
	vcs_t *dev[4], *ca, *cb;
	static const char *const cids[4] = { "tr-a", "tr-b", "tr-pa", "tr-pb" };
	unsigned from[4], end[4], rtc_from[4];
	char owner[64], first[64];
	long long g0;

	vcs_register(node_a, &a, "tra");
	vcs_register(node_b, &c, "trc");
	dev[0] = open_at(node_a, &a, cids[0], "a"); /* takes voice, on A */
	dev[1] = open_at(node_b, &a, cids[1], "a"); /* takes voice, on B */
	dev[2] = open_at(node_a, &a, cids[2], "a"); /* passive, on A */
	dev[3] = open_at(node_b, &a, cids[3], "a"); /* passive, on B */
	ca = open_at(node_a, &c, "trc-a", "c (offers, markers)");
	cb = open_at(node_b, &c, "trc-b", "c (offers, markers)");
	/* A first owner, so that every round starts from a row. */
	vcs_send(dev[2], "{\"type\":\"voice_client_takeover\"}");
	for (unsigned k = 0; k < 4; k++)
		takeover_got(dev[k], "tr-pa");
	for (unsigned r = 0; r < ROUNDS; r++) {
		unsigned x = r % 2, y = 1 - x; /* who sends first */
		char *tag = vct_strf("tr-offer-%u", r), *mtag = vct_strf("tr-m-%u", r), *text;
		vcs_t *owner_dev = NULL, *sender = r % 2 ? cb : ca;

		g0 = owner_of(&a, NULL, 0);
		for (unsigned k = 0; k < 4; k++)
			from[k] = vcs_n(dev[k]);
		/* Both in as tight a window as two writes allow. */
		vcs_send(dev[x], "{\"type\":\"voice_client_takeover\"}");
		vcs_send(dev[y], "{\"type\":\"voice_client_takeover\"}");
		wait_generation(&a, g0 + 2, owner, sizeof(owner), r);
		snprintf(first, sizeof(first), "%s", strcmp(owner, "tr-a") == 0 ? "tr-b" : "tr-a");
		if (strcmp(owner, "tr-a") != 0 && strcmp(owner, "tr-b") != 0)
			fail_msg("round %u: voice_owners names %s, expected tr-a or tr-b", r,
			         owner);
		/* Every device is told the final owner with its generation. */
		for (unsigned k = 0; k < 4; k++) {
			char *what =
			        vct_strf("round %u: voice_client_takeover of %s, generation %lld "
			                 "(voice_owners)",
			                 r, owner, g0 + 2);
			unsigned i =
			        vcs_take_from(dev[k], from[k], VCS_MS, what,
			                      "voice_client_takeover",
			                      "{\"clientInstanceId\":\"%s\",\"generation\":%lld}",
			                      owner, g0 + 2);
			const json_t *p =
			        json_object_get(vcs_msg(dev[k], i), "previousClientInstanceId");
			/* the takeovers serialize on the row: the later one replaced the earlier */
			if (!json_is_string(p) || strcmp(json_string_value(p), first) != 0)
				fail_msg("%s: round %u: the final takeover (%s, generation %lld) "
				         "has "
				         "previousClientInstanceId %s, expected \"%s\" (generation "
				         "%lld)",
				         dev[k]->name, r, owner, g0 + 2,
				         p ? json_dumps(p, JSON_ENCODE_ANY) : "(none)", first,
				         g0 + 1);
			free(what);
			if (strcmp(cids[k], owner) == 0)
				owner_dev = dev[k];
		}
		/* RTC to a now goes to the owner's socket only. */
		for (unsigned k = 0; k < 4; k++)
			rtc_from[k] = vcs_n(dev[k]);
		text = vcs_send_mk(
		        sender, vcs_mk("offer",
		                       "\"targetUserId\":\"%s\",\"tag\":\"%s\",\"sdp\":{\"type\":"
		                       "\"offer\",\"sdp\":\"v=0\\r\\n\"}",
		                       a.id, tag));
		vcs_got_relayed(owner_dev, "offer", tag, text, c.id);
		/* Markers through a's user actors on both nodes: nothing older after. */
		user_markers(ca, cb, &a, dev, 4, mtag, end);
		for (unsigned k = 0; k < 4; k++) {
			long long last = g0;
			unsigned n = 0;
			for (unsigned i = from[k]; i < end[k]; i++) {
				long long g;
				const char *who;
				if (!vcs_matches(dev[k], i, "voice_client_takeover", NULL))
					continue;
				g = vcs_int(dev[k], i, "generation");
				who = vcs_str(dev[k], i, "clientInstanceId");
				n++;
				if (g <= last || g > g0 + 2 ||
				    strcmp(who, g == g0 + 2 ? owner : first) != 0) {
					vcs_dump(dev[k]);
					fail_msg("%s: round %u: message #%u announces %s "
					         "generation %lld "
					         "after generation %lld; expected rising "
					         "generations "
					         "%lld (%s) and %lld (%s) only",
					         dev[k]->name, r, i, who, g, last, g0 + 1, first,
					         g0 + 2, owner);
				}
				last = g;
			}
			if (last != g0 + 2 || n == 0)
				fail_msg("%s: round %u: the last takeover it was told has "
				         "generation "
				         "%lld, expected %lld",
				         dev[k]->name, r, last, g0 + 2);
			if (dev[k] != owner_dev)
				vcs_expect_none(
				        dev[k], rtc_from[k], end[k],
				        "an offer to a at a device that is not its voice owner",
				        "offer", "{\"tag\":\"%s\"}", tag);
		}
		free(text);
		free(tag);
		free(mtag);
	}
	vcs_db_expect(db_url, "1", "SELECT count(*) FROM voice_owners WHERE user_id = '%s'", a.id);
	vct_pass();
}

/* --- RTC to the owner on the other node --------------------------------------------------- */

static void test_rtc_across_nodes(void **state)
{
	vcs_user_t a, b;
	vcs_t *aa, *ab, *b1, *b2, *b3, *devs[3];
	char *o1, *an, *ice, *o2, *o3;
	unsigned end[3], i;

	vcs_register(node_a, &a, "rca");
	vcs_register(node_b, &b, "rcb");
	aa = open_at(node_a, &a, "rca-a", "a");
	ab = open_at(node_b, &a, "rca-b", "a");
	b2 = open_at(node_b, &b, "rc-2", "b");
	b3 = open_at(node_b, &b, "rc-3", "b");
	/* b2 (on B) owns voice before b has any device on A. */
	vcs_send(b2, "{\"type\":\"voice_client_takeover\"}");
	takeover_got(b2, "rc-2");
	takeover_got(b3, "rc-2");
	/* b's first device on A: node A learns the owner from PostgreSQL. */
	b1 = open_at(node_a, &b, "rc-1", "b");
	devs[0] = b1;
	devs[1] = b2;
	devs[2] = b3;
	o1 = vcs_send_mk(
	        aa, vcs_mk("offer",
	                   "\"targetUserId\":\"%s\",\"tag\":\"rc-o1\",\"sdp\":{\"type\":\"offer\","
	                   "\"sdp\":\"v=0\\r\\no=- 1 2 IN IP4 127.0.0.1\\r\\n\"}",
	                   b.id));
	an = vcs_send_mk(
	        aa, vcs_mk("answer",
	                   "\"targetUserId\":\"%s\",\"tag\":\"rc-an\",\"sdp\":{\"type\":\"answer\","
	                   "\"sdp\":\"v=0\\r\\n\"}",
	                   b.id));
	ice = vcs_send_mk(aa,
	                  vcs_mk("ice_candidate",
	                         "\"targetUserId\":\"%s\",\"tag\":\"rc-ice\",\"candidate\":{"
	                         "\"candidate\":\"candidate:1 1 udp 2122260223 10.0.0.1 54321 typ "
	                         "host\",\"sdpMid\":\"0\",\"sdpMLineIndex\":0}",
	                         b.id));
	{
		unsigned x = vcs_got_relayed(b2, "offer", "rc-o1", o1, a.id);
		unsigned y = vcs_got_relayed(b2, "answer", "rc-an", an, a.id);
		unsigned z = vcs_got_relayed(b2, "ice_candidate", "rc-ice", ice, a.id);
		if (!(x < y && y < z))
			fail_msg(
			        "b/rc-2 got offer #%u, answer #%u, ice_candidate #%u: out of order",
			        x, y, z);
	}
	user_markers(aa, ab, &b, devs, 3, "rc-m1", end);
	for (unsigned k = 0; k < 3; k++) {
		if (k == 1)
			continue;
		vcs_expect_none(devs[k], 0, end[k], "RTC from A while rc-2 (on B) owns voice",
		                "offer", NULL);
		vcs_expect_none(devs[k], 0, end[k], "RTC from A while rc-2 (on B) owns voice",
		                "answer", NULL);
		vcs_expect_none(devs[k], 0, end[k], "RTC from A while rc-2 (on B) owns voice",
		                "ice_candidate", NULL);
	}
	/* The same from B, where the owner is. */
	o2 = vcs_send_mk(ab, vcs_mk("offer", "\"targetUserId\":\"%s\",\"tag\":\"rc-o2\",\"sdp\":{}",
	                            b.id));
	vcs_got_relayed(b2, "offer", "rc-o2", o2, a.id);
	/* b1 (on A) takes voice: RTC from B goes to b1 only. */
	vcs_send(b1, "{\"type\":\"voice_client_takeover\"}");
	for (unsigned k = 0; k < 3; k++)
		takeover_got(devs[k], "rc-1");
	o3 = vcs_send_mk(ab, vcs_mk("offer", "\"targetUserId\":\"%s\",\"tag\":\"rc-o3\",\"sdp\":{}",
	                            b.id));
	i = vcs_got_relayed(b1, "offer", "rc-o3", o3, a.id);
	(void)i;
	user_markers(aa, ab, &b, devs, 3, "rc-m2", end);
	for (unsigned k = 1; k < 3; k++)
		vcs_expect_none(devs[k], 0, end[k], "an offer while rc-1 (on A) owns voice",
		                "offer", "{\"tag\":\"rc-o3\"}");
	vcs_expect_none(b1, 0, end[0], "an offer from B while rc-2 (on B) owned voice", "offer",
	                "{\"tag\":\"rc-o2\"}");
	vcs_expect_none(b3, 0, end[2], "an offer from B while rc-2 (on B) owned voice", "offer",
	                "{\"tag\":\"rc-o2\"}");
	/* Never the sender's own devices. */
	vcs_expect_none(aa, 0, vcs_n(aa), "one's own RTC back", "offer", NULL);
	vcs_expect_none(ab, 0, vcs_n(ab), "one's own RTC back", "offer", NULL);
	free(o1);
	free(an);
	free(ice);
	free(o2);
	free(o3);
	vct_pass();
}

/* --- revocation ------------------------------------------------------------------------------ */

static void test_revocation(void **state)
{
	vcs_user_t a;
	char t1[65], t2[65], *sid;
	vcs_t *x1, *x2, *y, *z;
	long long seq;
	vct_cmd_t r;

	vcs_register(node_a, &a, "cra");
	vcs_login(node_a, &a, t1);
	vcs_login(node_b, &a, t2);
	x1 = vcs_open_x(node_a, &a, &(vcs_ident_t){ .token = t1, .cid = "cr-x1" },
	                "a/x1 (session 1, A)");
	x2 = vcs_open_x(node_b, &a, &(vcs_ident_t){ .token = t1, .cid = "cr-x2" },
	                "a/x2 (session 1, B)");
	y = vcs_open_x(node_b, &a, &(vcs_ident_t){ .token = t2, .cid = "cr-y" },
	               "a/y (session 2, B)");
	z = vcs_open_x(node_a, &a, &(vcs_ident_t){ .cid = "cr-z" },
	               "a/z (registration session, A)");
	/* Logout of session 1 through B closes its sockets on both nodes. */
	vcs_logout(node_b, t1);
	vcs_expect_close(x1, 4504, VCS_MS, "its session logged out on the other node");
	vcs_expect_close(x2, 4504, VCS_MS, "its session logged out on this node");
	/* The others stay, and still work across nodes. */
	seq = vcs_sync_send(z, "{\"after\":\"logout\"}");
	sync_got(y, seq, &a, "cr-z", "{\"after\":\"logout\"}");
	vcs_sync(y);
	vcs_sync(z);
	/* vcctl sessions revoke on A closes session 2's socket on B, not z. */
	sid = vct_strf("%lld", vcs_session_id(db_url, t2));
	vct_vcctl(&r, node_a, false, (const char *const[]){ "sessions", "revoke", sid, NULL });
	vct_expect_exit(&r, 0);
	vct_cmd_free(&r);
	vcs_expect_close(y, 4504, VCS_MS, "vcctl sessions revoke of its session on the other node");
	seq = vcs_sync_send(z, "{\"after\":\"revoke\"}");
	vcs_sync(z);
	if (z->ws->close_seen)
		fail_msg("a/z was closed %d; its session was not revoked", z->ws->close_code);
	free(sid);
	vct_pass();
}

/* --- catch-up across nodes -------------------------------------------------------------------- */

/* n account_syncs from s in batches: their seqs (rising) in seqs. */
static void bulk_sync(vcs_t *s, unsigned n, long long *seqs)
{
	unsigned from = vcs_n(s), got = 0;
	uint64_t deadline = vct_now_ms() + BULK_MS;

	for (unsigned k = 0; k < n; k += 100) {
		const char *batch[100];
		char *texts[100];
		unsigned m = n - k < 100 ? n - k : 100;
		for (unsigned j = 0; j < m; j++) {
			texts[j] =
			        vcs_mk("account_sync",
			               "\"clientInstanceId\":\"%s\",\"payload\":{\"type\":\"bulk\","
			               "\"n\":%u}",
			               s->cid, k + j);
			batch[j] = texts[j];
		}
		vcs_send_batch(s, batch, m);
		for (unsigned j = 0; j < m; j++)
			free(texts[j]);
	}
	while (got < n) {
		for (unsigned i = from; i < vcs_n(s) && got < n; i++, from++) {
			if (strcmp(vcs_type(s, i), "error") == 0) {
				vcs_dump(s);
				fail_msg("%s: message #%u is an error among the acks of its "
				         "account_syncs",
				         s->name, i);
			}
			if (strcmp(vcs_type(s, i), "account_sync_ack") != 0)
				continue;
			s->taken[i] = true;
			seqs[got] = vcs_int(s, i, "seq");
			if (got > 0 && seqs[got] != seqs[got - 1] + 1)
				fail_msg("%s: ack %u has seq %lld after %lld", s->name, got,
				         seqs[got], seqs[got - 1]);
			got++;
		}
		if (got == n)
			break;
		if (s->ws->close_seen || s->ws->eof || vct_now_ms() > deadline)
			fail_msg("%s: %u of %u account_sync_acks within %d ms (closed: %d %d)",
			         s->name, got, n, BULK_MS,
			         s->ws->close_seen ? s->ws->close_code : 0, s->ws->eof);
		vcs_pump(s, 100);
	}
}

static void test_catch_up_across_nodes(void **state)
{
	vcs_user_t a;
	vcs_t *d, *s, *live, *back;
	long long *seqs = calloc(CATCH_UP, sizeof(*seqs)), first, live_seq, after_seq;
	char *ident;
	unsigned i;

	vcs_register(node_a, &a, "cua");
	s = open_at(node_a, &a, "cu-s", "a (sender)");
	d = open_at(node_b, &a, "cu-d", "a (away)");
	live = open_at(node_b, &a, "cu-l", "a (live)");
	first = vcs_sync_send(s, "{\"type\":\"before\"}");
	sync_got(d, first, &a, "cu-s", "{\"type\":\"before\"}");
	vcs_close(d);
	/* 1,000 on A while the device is away. */
	bulk_sync(s, CATCH_UP, seqs);
	if (seqs[0] != first + 1)
		fail_msg("the bulk's first seq is %lld, expected %lld", seqs[0], first + 1);
	/* The live device on B got them all over NATS, in order. */
	vcs_drain_to(live, 2 + CATCH_UP, BULK_MS, "the first account_sync and the 1,000, from A");
	for (unsigned k = 0, prev = 0; k < CATCH_UP; k++) {
		i = vcs_take(live, "a bulk account_sync at the live device", "account_sync",
		             "{\"seq\":%lld}", seqs[k]);
		if (k > 0 && i <= prev) {
			vcs_dump(live);
			fail_msg("%s: account_sync seq %lld is message #%u, before seq %lld (#%u)",
			         live->name, seqs[k], i, seqs[k - 1], prev);
		}
		prev = i;
	}
	/* It comes back on B with lastSyncSeq; a live one from A meanwhile. */
	back = vcs_connect(node_b, "a (back, on B)");
	ident = vcs_identify_text(&a,
	                          &(vcs_ident_t){
	                                  .cid = "cu-d", .has_last = true, .last_sync_seq = first },
	                          node_b->port);
	vcs_send(back, "%s", ident);
	live_seq = vcs_sync_send(s, "{\"type\":\"live\"}");
	if (live_seq != seqs[CATCH_UP - 1] + 1)
		fail_msg("the live account_sync has seq %lld, expected %lld", live_seq,
		         seqs[CATCH_UP - 1] + 1);
	vcs_drain_to(back, CATCH_UP + 2, BULK_MS,
	             "identified, the catch-up and the live account_sync");
	if (strcmp(vcs_type(back, 0), "identified") != 0) {
		vcs_dump(back);
		fail_msg("a (back): the first message is %s, expected identified",
		         vcs_type(back, 0));
	}
	back->taken[0] = true;
	for (unsigned k = 0; k < CATCH_UP; k++) {
		const json_t *p;
		i = 1 + k;
		if (strcmp(vcs_type(back, i), "account_sync") != 0 ||
		    vcs_int(back, i, "seq") != seqs[k]) {
			vcs_dump(back);
			fail_msg("a (back): message #%u is %s; expected the missed account_sync %u "
			         "of "
			         "%d with seq %lld, in order, before anything live",
			         i, vcs_type(back, i), k + 1, CATCH_UP, seqs[k]);
		}
		p = json_object_get(vcs_msg(back, i), "payload");
		if (strcmp(vcs_str(back, i, "fromUserId"), a.id) != 0 ||
		    strcmp(vcs_str(back, i, "clientInstanceId"), "cu-s") != 0 ||
		    json_integer_value(json_object_get(p, "n")) != (json_int_t)k)
			fail_msg("a (back): catch-up message #%u has the wrong fromUserId, "
			         "clientInstanceId or payload (expected n = %u)",
			         i, k);
		back->taken[i] = true;
	}
	i = 1 + CATCH_UP;
	if (strcmp(vcs_type(back, i), "account_sync") != 0 || vcs_int(back, i, "seq") != live_seq) {
		vcs_dump(back);
		fail_msg("a (back): message #%u is %s; expected the live account_sync seq %lld "
		         "right "
		         "after the catch-up",
		         i, vcs_type(back, i), live_seq);
	}
	back->taken[i] = true;
	/* Not twice: the next one from A is the next message. */
	after_seq = vcs_sync_send(s, "{\"type\":\"after\"}");
	i = sync_got(back, after_seq, &a, "cu-s", "{\"type\":\"after\"}");
	if (i != CATCH_UP + 2) {
		vcs_dump(back);
		fail_msg("a (back): the account_sync after the live one is message #%u, expected "
		         "#%d (nothing in between: the live one not twice)",
		         i, CATCH_UP + 2);
	}
	free(seqs);
	free(ident);
	vct_pass();
}

/* --- account_sync from two nodes at once ----------------------------------------------------- */

#define CONCURRENT 50 /* account_syncs per sender */

/* n account_syncs from s in one write, payload {"from": s->cid, "n": k}. */
static void sync_batch(vcs_t *s, unsigned n)
{
	const char **batch = calloc(n, sizeof(*batch));
	char **texts = calloc(n, sizeof(*texts));

	for (unsigned k = 0; k < n; k++) {
		texts[k] = vcs_mk("account_sync",
		                  "\"clientInstanceId\":\"%s\",\"payload\":{\"from\":\"%s\","
		                  "\"n\":%u}",
		                  s->cid, s->cid, k);
		batch[k] = texts[k];
	}
	vcs_send_batch(s, batch, n);
	for (unsigned k = 0; k < n; k++)
		free(texts[k]);
	free(texts);
	free(batch);
}

/* The n acks of s's account_syncs since inbox index from: their seqs. */
static void sync_acks(vcs_t *s, unsigned from, unsigned n, long long *seqs)
{
	for (unsigned k = 0; k < n; k++) {
		unsigned i = vcs_take_from(s, from, VCS_MS, "account_sync_ack of its batch",
		                           "account_sync_ack", NULL);
		seqs[k] = vcs_int(s, i, "seq");
	}
}

/*
 * Two devices of one user, one on each node, send account_syncs at the same
 * time: PostgreSQL gives them interleaved seqs, and each node hands its own
 * at once and the other's after a trip through NATS, so a device can see a
 * higher seq before a lower one. Every other device must still get every
 * message exactly once (doc/signaling.md: "delivered to every other
 * connection of the user on every node").
 */
static void test_sync_two_senders(void **state)
{
	vcs_user_t a;
	vcs_t *sa, *sb, *oa, *ob, *obs[2];
	long long seq_a[CONCURRENT], seq_b[CONCURRENT];
	unsigned fa, fb;

	vcs_register(node_a, &a, "c2a");
	sa = open_at(node_a, &a, "c2-sa", "a (sender)");
	sb = open_at(node_b, &a, "c2-sb", "a (sender)");
	oa = open_at(node_a, &a, "c2-oa", "a (reader)");
	ob = open_at(node_b, &a, "c2-ob", "a (reader)");
	obs[0] = oa;
	obs[1] = ob;
	fa = vcs_n(sa);
	fb = vcs_n(sb);
	sync_batch(sa, CONCURRENT);
	sync_batch(sb, CONCURRENT);
	sync_acks(sa, fa, CONCURRENT, seq_a);
	sync_acks(sb, fb, CONCURRENT, seq_b);
	for (unsigned k = 0; k < CONCURRENT; k++) {
		char *pa = vct_strf("{\"from\":\"c2-sa\",\"n\":%u}", k);
		char *pb = vct_strf("{\"from\":\"c2-sb\",\"n\":%u}", k);
		for (unsigned o = 0; o < 2; o++) {
			sync_got(obs[o], seq_a[k], &a, "c2-sa", pa);
			sync_got(obs[o], seq_b[k], &a, "c2-sb", pb);
		}
		sync_got(sb, seq_a[k], &a, "c2-sa", pa);
		sync_got(sa, seq_b[k], &a, "c2-sb", pb);
		free(pa);
		free(pb);
	}
	/* Once each: a marker from each node after. */
	{
		long long ma = vcs_sync_send(sa, "{\"m\":\"a\"}"),
		          mb = vcs_sync_send(sb, "{\"m\":\"b\"}");
		for (unsigned o = 0; o < 2; o++) {
			unsigned i = sync_got(obs[o], ma, &a, "c2-sa", "{\"m\":\"a\"}");
			unsigned j = sync_got(obs[o], mb, &a, "c2-sb", "{\"m\":\"b\"}");
			unsigned end = (i > j ? i : j) + 1;
			if (vcs_count(obs[o], 0, end, "account_sync", NULL) != 2 * CONCURRENT + 2) {
				vcs_dump(obs[o]);
				fail_msg("%s got %u account_syncs, expected %d, each once",
				         obs[o]->name,
				         vcs_count(obs[o], 0, end, "account_sync", NULL),
				         2 * CONCURRENT + 2);
			}
		}
	}
	vct_pass();
}

/* --- the first device of a user on a node -------------------------------------------------------
 */

#define FIRST_ROUNDS 30

/*
 * A node hears of a user through a subscription to vcd.sig.user.{id} that it
 * makes when the user's first device there identifies. Once that device
 * has `identified`, what the user's device on the other node sends must
 * reach it (doc/signaling.md: account_sync "delivered to every other
 * connection of the user on every node"; direct_message "to every
 * connection of the target user"). Each round a new user: a device on A,
 * then its first device on B, then at once a direct message to the user
 * and an account_sync from A.
 */
static void test_first_device_on_node(void **state)
{
	vcs_user_t c;
	vcs_t *ca;

	vcs_register(node_a, &c, "fdc");
	ca = open_at(node_a, &c, "fd-c", "c (direct messages, A)");
	for (unsigned r = 0; r < FIRST_ROUNDS; r++) {
		char *tag = vct_strf("fd-dm-%u", r), *payload = vct_strf("{\"round\":%u}", r);
		vcs_user_t a;
		vcs_t *sa, *d;
		long long seq;

		vcs_register(node_a, &a, "fda");
		sa = open_at(node_a, &a, "fd-a", "a (on A)");
		d = open_at(node_b, &a, "fd-b", "a (its first device on B)");
		vcs_send(ca, "{\"type\":\"direct_message\",\"targetUserId\":\"%s\",\"tag\":\"%s\"}",
		         a.id, tag);
		seq = vcs_sync_send(sa, payload);
		vcs_got_tag(sa, "direct_message", tag, "the direct message on A");
		sync_got(d, seq, &a, "fd-a", payload);
		vcs_got_tag(d, "direct_message", tag,
		            "a direct message sent right after identified");
		vcs_close(d);
		vcs_close(sa);
		free(tag);
		free(payload);
	}
	vct_pass();
}

/* --- chat across nodes ------------------------------------------------------------------------ */

static void test_chat_across_nodes(void **state)
{
	vcs_user_t o, a, b, c;
	char sid[37];
	vcs_t *a1, *a2, *a3, *b1, *c1, *all[4];
	char *chat, *typing, *chat_b;
	unsigned end[4], i;

	vcs_register(node_a, &o, "cco");
	vcs_register(node_a, &a, "cca");
	vcs_register(node_b, &b, "ccb");
	vcs_register(node_b, &c, "ccc");
	vcs_server_create(node_a, &o, sid);
	vcs_server_join(node_a, sid, &a);
	vcs_server_join(node_b, sid, &b);
	vcs_server_join(node_b, sid, &c);
	a1 = open_at(node_a, &a, "cc-1", "a (sender)");
	a2 = open_at(node_a, &a, "cc-2", "a");
	a3 = open_at(node_b, &a, "cc-3", "a");
	b1 = open_at(node_b, &b, "ccb-1", "b");
	c1 = open_at(node_b, &c, "ccc-1", "c (member, not joined)");
	vcs_join(a1, sid);
	vcs_join(a2, sid);
	vcs_join(a3, sid);
	vcs_join(b1, sid);
	chat = send_chat(a1, sid, "cc-chat");
	typing = vcs_send_mk(
	        a1, vcs_mk("user_typing",
	                   "\"serverId\":\"%s\",\"tag\":\"cc-typing\",\"channelId\":\"general\","
	                   "\"isTyping\":true",
	                   sid));
	/* Every other joined connection, on both nodes, a's other devices too. */
	vcs_got_relayed(a2, "chat_message", "cc-chat", chat, a.id);
	vcs_got_relayed(a3, "chat_message", "cc-chat", chat, a.id);
	vcs_got_relayed(b1, "chat_message", "cc-chat", chat, a.id);
	vcs_got_relayed(a2, "user_typing", "cc-typing", typing, a.id);
	vcs_got_relayed(a3, "user_typing", "cc-typing", typing, a.id);
	vcs_got_relayed(b1, "user_typing", "cc-typing", typing, a.id);
	/* And from B to A. */
	chat_b = send_chat(b1, sid, "cc-from-b");
	vcs_got_relayed(a1, "chat_message", "cc-from-b", chat_b, b.id);
	vcs_got_relayed(a2, "chat_message", "cc-from-b", chat_b, b.id);
	vcs_got_relayed(a3, "chat_message", "cc-from-b", chat_b, b.id);
	/* Never back to the sending socket: markers from both nodes come after
	 * what a1's own relays (or their echo through NATS) would have. */
	all[0] = a1;
	all[1] = a2;
	all[2] = a3;
	all[3] = b1;
	server_markers(a2, a3, all, 1, sid, "cc-m1", end);
	vcs_expect_none(a1, 0, end[0], "one's own chat_message back", "chat_message",
	                "{\"tag\":\"cc-chat\"}");
	vcs_expect_none(a1, 0, end[0], "one's own user_typing back", "user_typing", NULL);
	vcs_expect_none(b1, 0, vcs_n(b1), "one's own chat_message back", "chat_message",
	                "{\"tag\":\"cc-from-b\"}");
	/* Each got each once. */
	for (unsigned k = 1; k < 4; k++)
		if (vcs_count(all[k], 0, vcs_n(all[k]), "chat_message", "{\"tag\":\"cc-chat\"}") !=
		    1)
			fail_msg("%s got cc-chat %u times, expected once", all[k]->name,
			         vcs_count(all[k], 0, vcs_n(all[k]), "chat_message",
			                   "{\"tag\":\"cc-chat\"}"));
	/* Nor a member who has not joined: c joins now and hears only what follows. */
	vcs_join(c1, sid);
	{
		vcs_t *cobs[1] = { c1 };
		server_markers(a1, b1, cobs, 1, sid, "cc-after-c", end);
	}
	vcs_expect_none(c1, 0, end[0], "relays of a server before joining it", "chat_message",
	                "{\"tag\":\"cc-chat\"}");
	vcs_expect_none(c1, 0, end[0], "relays of a server before joining it", "user_typing", NULL);
	i = vcs_count(c1, 0, end[0], "chat_message", "{\"tag\":\"cc-from-b\"}");
	if (i != 0)
		fail_msg("c got a chat sent before it joined");
	free(chat);
	free(typing);
	free(chat_b);
	vct_pass();
}

/* --- main ----------------------------------------------------------------------------------------
 */

static int group_setup(void **state)
{
	char *c1 = VCS_CONF("account_sync_keep", "5000");
	char *c2 = VCS_CONF("signal_rate", "100000");
	char *c3 = VCS_CONF("signal_burst", "100000");
	char *conf =
	        vct_strf("%snats_url = %s\n%s%s%s", BASE_CONF, vct_env("VCT_NATS_URL"), c1, c2, c3);

	db_url = vct_db_create("signal_cluster");
	node_a = vct_vcd_start("sig_node_a", db_url, conf);
	node_b = vct_vcd_start("sig_node_b", db_url, conf);
	vct_vcd_keep(node_a);
	vct_vcd_keep(node_b);
	wait_nats(node_a);
	wait_nats(node_b);
	free(conf);
	free(c1);
	free(c2);
	free(c3);
	return 0;
}

static int group_teardown(void **state)
{
	int rc = vct_vcd_finish(node_a);

	if (vct_vcd_finish(node_b) != 0)
		rc = -1;
	free(db_url);
	teardown_failed = rc != 0;
	return rc;
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, vct_setup, vcs_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_presence),          T(test_account_sync),
		T(test_takeover_race),     T(test_rtc_across_nodes),
		T(test_revocation),        T(test_catch_up_across_nodes),
		T(test_sync_two_senders),  T(test_first_device_on_node),
		T(test_chat_across_nodes),
	};
	int rc = cmocka_run_group_tests_name("signal_cluster", tests, group_setup, group_teardown);

	/* cmocka does not count a failed group teardown in its result. */
	return rc != 0 || teardown_failed ? 1 : 0;
}
