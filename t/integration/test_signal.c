/*
 * test_signal.c — the Toju/MetoYou signaling WebSocket /ws on one vcd
 * (doc/signaling.md; shared/reference/meet-toju-rocketchat-livekit.md §B;
 * authentication.md, seeds 003/004), spoken as a Toju client speaks it: JSON
 * text messages {type, …}, accounts and servers made through the REST API.
 *
 *   identify     the fields of identified; a ping is answered before
 *                identify; anything else first → auth_required and nothing
 *                done (shown by later effects: the join did not happen, the
 *                chat was not relayed, nothing was persisted); bad, expired,
 *                revoked, disabled tokens and a foreign oderId → auth_error
 *                with retries allowed, the fifth failure closes 4505; no
 *                identify within 10 s closes 4003
 *   order        identify + join_server (+ chat) written in ONE TCP segment:
 *                the join is handled after identify; a burst of mixed kinds
 *                is answered and relayed in arrival order
 *   servers      join_server checks membership (not_member); server_users
 *                to the joiner, user_joined to the others; presence is
 *                per identity (one user_joined for two devices, user_left
 *                with the last one, a vanished socket counts as leaving)
 *   relays       chat_message, user_typing, voice_state to every other
 *                connection joined to the server, the sender's other
 *                devices included, never back to the sending socket, with
 *                fromUserId (a client's own fromUserId overwritten) and the
 *                payload unchanged; direct_message / direct_call to every
 *                connection of the target; offer / answer / ice_candidate to
 *                the voice owner's socket, or all sockets without one;
 *                server_icon / server_update only with a shared server
 *   tabs         re-identify with the same (oderId, connectionScope,
 *                clientInstanceId) closes the older socket with 4503, and
 *                only that one
 *   voice        voice_client_takeover: every device told {clientInstanceId,
 *                previousClientInstanceId, generation}, generation rising,
 *                voice_owners holding it
 *   account_sync acknowledged with seq, delivered to every other connection
 *                of the user with fromUserId, clientInstanceId, payload, seq,
 *                never to the sending socket; seq per user, rising,
 *                persisted in account_sync_log; catch-up of 1,000 missed
 *                messages in order before a live one (not duplicated);
 *                account_sync_reset when the missed ones were pruned; a
 *                catch-up over ws_send_buffer_max closes 4001 after a
 *                prefix and resumes from the last seq, no gap, no repeat;
 *                numbers that jsonb rewrites (1e20) come back as numbers;
 *                account_sync_peer_online when a device identifies
 *   revocation   logout, vcctl sessions revoke and vcctl users disable close
 *                the sockets of the session (of the user) with 4504, and no
 *                others
 *   limits       signal_rate (error rate_limited, the message dropped; ten
 *                refusals in a row close 4008), signal_max_message (error
 *                too_big or close 1009), signal_max_user_connections
 *                (auth_error); each counted in a vcd_signal* metric
 *   table        vcd --list-messages lists every type; malformed, unknown
 *                and server-only messages answered with error
 *                bad_message / unknown_type, the connection kept
 *
 * One vcd (no REST rate limits, a session cache that would keep a revoked
 * session alive for an hour, the /ws limits at their defaults) serves most
 * cases; cases that need other /ws settings start their own on the same
 * database. Every case registers users of its own, so that presence and
 * account_sync of one case never reach another. Absence is proven by a
 * later marker that travels the same way (same sender, same actor) where
 * one exists.
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

#define MAIN_CONF "auth_rate_limit = off\nserver_join_rate_limit = off\nsession_cache_ttl = 1h\n"
#define NO_SUCH "00000000-0000-4000-8000-000000000000" /* a UUID nothing has */
#define IDENTIFY_TIMEOUT_MS 10000                      /* fixed by the spec */
#define CATCH_UP 1000                                  /* account_syncs missed */
#define BULK_MS 120000   /* 1,000 account_syncs persisted one by one */
#define RATE_BURST 60    /* signal_rate's default burst */
#define MAX_MESSAGE 4096 /* signal_max_message of the limits case */
#define USER_CONNS 3     /* signal_max_user_connections of the limits case */

static char *db_url;
static vct_vcd_t *vcd;

/* --- helpers -------------------------------------------------------------------- */

/* A chat_message to server with a tag and a body that exercises the JSON:
 * nested objects, UTF-8 and escapes, a big integer, a real, null, booleans. */
static char *chat_text(const char *server, const char *tag)
{
	return vcs_mk(
	        "chat_message",
	        "\"serverId\":\"%s\",\"tag\":\"%s\",\"message\":{\"id\":\"m-%s\","
	        "\"content\":\"h\\u00e9 \\u2713 \\\"quoted\\\" %s\",\"timestamp\":1710000000000,"
	        "\"reactions\":[],\"meta\":{\"n\":1.5,\"big\":9007199254740993,\"nil\":null,"
	        "\"yes\":true}}",
	        server, tag, tag, tag);
}

static char *send_chat(vcs_t *s, const char *server, const char *tag)
{
	return vcs_send_mk(s, chat_text(server, tag));
}

/* Take error {code, ref} (ref NULL: any). */
static unsigned expect_error(vcs_t *s, const char *code, const char *ref, const char *what)
{
	if (ref == NULL)
		return vcs_take(s, what, "error", "{\"code\":\"%s\"}", code);
	return vcs_take(s, what, "error", "{\"code\":\"%s\",\"ref\":\"%s\"}", code, ref);
}

/* A marker chat from `from` that `to` takes: its index at `to`. */
static unsigned marker(vcs_t *from, vcs_t *to, const char *server, const char *tag)
{
	char *text = send_chat(from, server, tag);
	char *what = vct_strf("the marker chat '%s' from %s", tag, from->name);
	unsigned i = vcs_got_tag(to, "chat_message", tag, what);

	free(what);
	free(text);
	return i;
}

/* A direct_message marker from `from` to user `to_user` that `to` takes. */
static unsigned dm_marker(vcs_t *from, const vcs_user_t *to_user, vcs_t *to, const char *tag)
{
	char *text = vcs_mk("direct_message", "\"targetUserId\":\"%s\",\"tag\":\"%s\"", to_user->id,
	                    tag);
	char *what = vct_strf("the marker direct_message '%s' from %s", tag, from->name);
	unsigned i;

	vcs_send(from, "%s", text);
	i = vcs_got_tag(to, "direct_message", tag, what);
	free(what);
	free(text);
	return i;
}

/* s takes the account_sync with seq and checks it: exactly {type,
 * fromUserId, clientInstanceId, payload, seq}. */
static unsigned sync_got(vcs_t *s, long long seq, const vcs_user_t *from, const char *cid,
                         const char *payload)
{
	char *what = vct_strf("account_sync seq %lld from %s", seq, cid);
	unsigned i = vcs_take(s, what, "account_sync", "{\"seq\":%lld}", seq);
	json_t *want = json_pack("{s:s,s:s,s:s,s:I}", "type", "account_sync", "fromUserId",
	                         from->id, "clientInstanceId", cid, "seq", (json_int_t)seq);
	json_t *p = json_loads(payload, JSON_DECODE_ANY, NULL);

	json_object_set_new(want, "payload", p);
	if (!json_equal(want, (json_t *)vcs_msg(s, i))) {
		char *w = json_dumps(want, JSON_COMPACT),
		     *g = json_dumps(vcs_msg(s, i), JSON_COMPACT);
		fail_msg("%s: %s is %s, expected exactly %s", s->name, what, g, w);
	}
	json_decref(want);
	free(what);
	return i;
}

/* The voice_client_takeover of owner `cid` at s: its generation; previous
 * must be prev (NULL: null, absent or ""). */
static long long takeover_got(vcs_t *s, const char *cid, const char *prev)
{
	char *what = vct_strf("voice_client_takeover naming %s", cid);
	unsigned i =
	        vcs_take(s, what, "voice_client_takeover", "{\"clientInstanceId\":\"%s\"}", cid);
	const json_t *p = json_object_get(vcs_msg(s, i), "previousClientInstanceId");

	if (prev == NULL ? p != NULL && !json_is_null(p) &&
	                           !(json_is_string(p) && json_string_length(p) == 0)
	                 : !json_is_string(p) || strcmp(json_string_value(p), prev) != 0)
		fail_msg("%s: %s has previousClientInstanceId %s, expected %s", s->name, what,
		         p ? json_dumps(p, JSON_ENCODE_ANY) : "(none)", prev ? prev : "none");
	free(what);
	return vcs_int(s, i, "generation");
}

/* voice_owners of user u is "cid generation" (want NULL: no row). */
static void owner_is(const vcs_user_t *u, const char *want)
{
	vcs_db_expect(db_url, want,
	              "SELECT client_instance_id || ' ' || generation FROM voice_owners"
	              " WHERE user_id = '%s'",
	              u->id);
}

static void vcctl_ok(const char *const *words)
{
	vct_cmd_t r;

	vct_vcctl(&r, vcd, false, words);
	vct_expect_exit(&r, 0);
	vct_cmd_free(&r);
}

/* --- identify ---------------------------------------------------------------------- */

static void test_identified(void **state)
{
	vcs_user_t a;
	vcs_t *s1, *s2, *s3, *early;

	vcs_register(vcd, &a, "ida");
	/* A ping is answered before identify (keep-alive of a connecting tab). */
	early = vcs_connect(vcd, "a/early");
	vcs_sync(early);
	vcs_identify(early, vcd, &a, NULL);
	/* Everything: the fields come back; syncSeq 0 before any account_sync. */
	s1 = vcs_open(vcd, &a, "ida-tab-1", "a/1");
	if (s1->sync_seq != 0 || early->sync_seq != 0)
		fail_msg("a new user's identified.syncSeq is %lld (and %lld), expected 0: no "
		         "account_sync was ever sent",
		         s1->sync_seq, early->sync_seq);
	/* No oderId, no displayName, no scope: the token's user, the account's name. */
	s2 = vcs_open_x(vcd, &a, &(vcs_ident_t){ .oder_id = "-", .display = "-", .scope = "-" },
	                "a/2");
	/* Another display name for this connection is what identified says. */
	s3 = vcs_open_x(vcd, &a,
	                &(vcs_ident_t){ .display = "Zoë on the phone ✓", .cid = "ida-tab-3" },
	                "a/3");
	/* Every connection has its own id. */
	if (strcmp(s1->connection_id, s2->connection_id) == 0 ||
	    strcmp(s1->connection_id, s3->connection_id) == 0 ||
	    strcmp(s2->connection_id, s3->connection_id) == 0 ||
	    strcmp(early->connection_id, s1->connection_id) == 0)
		fail_msg("connectionIds are not distinct: %s %s %s %s", early->connection_id,
		         s1->connection_id, s2->connection_id, s3->connection_id);
	vcs_sync(s1);
	vcs_sync(s2);
	vcs_sync(s3);
	vct_pass();
}

static void test_identify_first(void **state)
{
	vcs_user_t a, w;
	char sid[37];
	vcs_t *ws, *c;
	char *early, *late;
	unsigned i, mk_at;
	static const char *const kinds[] = { "join_server", "chat_message", "account_sync",
		                             "voice_client_takeover", "server_users" };

	vcs_register(vcd, &w, "ifw");
	vcs_register(vcd, &a, "ifa");
	vcs_server_create(vcd, &w, sid);
	vcs_server_join(vcd, sid, &a);
	ws = vcs_open(vcd, &w, "ifw-1", "w");
	vcs_join(ws, sid);
	c = vcs_connect(vcd, "a/unidentified");
	/* Each message before identify: auth_required, in order, nothing else. */
	vcs_send(c, "{\"type\":\"join_server\",\"serverId\":\"%s\"}", sid);
	early = send_chat(c, sid, "before-identify");
	vcs_send(c, "{\"type\":\"account_sync\",\"clientInstanceId\":\"x\",\"payload\":{\"early\":"
	            "true}}");
	vcs_send(c, "{\"type\":\"voice_client_takeover\"}");
	vcs_send(c, "{\"type\":\"server_users\",\"serverId\":\"%s\"}", sid);
	for (i = 0; i < 5; i++) {
		char *what = vct_strf("auth_required for %s sent before identify", kinds[i]);
		const vct_ws_msg_t *m = vct_ws_wait_msg(c->ws, i, VCS_MS, what);
		(void)m;
		if (strcmp(vcs_type(c, i), "auth_required") != 0) {
			vcs_dump(c);
			fail_msg("%s: message #%u is %s, expected auth_required (%s)", c->name, i,
			         vcs_type(c, i), what);
		}
		c->taken[i] = true;
		free(what);
	}
	vcs_identify(c, vcd, &a, &(vcs_ident_t){ .cid = "ifa-1" });
	if (c->sync_seq != 0)
		fail_msg("identified.syncSeq is %lld: the account_sync sent before identify was "
		         "persisted",
		         c->sync_seq);
	vcs_db_expect(db_url, "0", "SELECT count(*) FROM account_sync_log WHERE user_id = '%s'",
	              a.id);
	owner_is(&a, NULL);
	/* The join before identify did not happen: server_users is refused. */
	vcs_send(c, "{\"type\":\"server_users\",\"serverId\":\"%s\"}", sid);
	expect_error(c, "not_joined", "server_users",
	             "error not_joined: the join_server sent before identify must not count");
	/* Joining now: w hears of a once, and a's chat after it, never the early one. */
	vcs_join(c, sid);
	i = vcs_take(ws, "user_joined of a (joined after identify)", "user_joined",
	             "{\"oderId\":\"%s\",\"serverId\":\"%s\"}", a.id, sid);
	late = send_chat(c, sid, "after-identify");
	mk_at = vcs_got_relayed(ws, "chat_message", "after-identify", late, a.id);
	vcs_expect_none(ws, 0, mk_at, "a chat sent before identify", "chat_message",
	                "{\"tag\":\"before-identify\"}");
	if (vcs_count(ws, 0, mk_at, "user_joined", "{\"oderId\":\"%s\"}", a.id) != 1)
		fail_msg("w got %u user_joined of a, expected 1",
		         vcs_count(ws, 0, mk_at, "user_joined", "{\"oderId\":\"%s\"}", a.id));
	(void)i;
	free(early);
	free(late);
	vct_pass();
}

static void test_auth_errors(void **state)
{
	vcs_user_t a, b, d;
	char t_exp[65], t_rev[65];
	vcs_t *c, *c5, *cd;
	vcs_metrics_t before;
	char *text;
	static const char bad_token[] =
	        "00000000000000000000000000000000000000000000000000000000000000ff";

	vcs_register(vcd, &a, "aea");
	vcs_register(vcd, &b, "aeb");
	vcs_register(vcd, &d, "aed");
	vcs_metrics_read(vcd, &before);
	/* An expired session (never used, so no cache knows it) and a revoked one. */
	vcs_login(vcd, &a, t_exp);
	free(vct_db_valuef(db_url,
	                   "UPDATE sessions SET expires_at = now() - interval '1 second'"
	                   " WHERE id = %lld RETURNING id",
	                   vcs_session_id(db_url, t_exp)));
	vcs_login(vcd, &a, t_rev);
	vcs_logout(vcd, t_rev);
	c = vcs_connect(vcd, "a/retrying");
	/* Four refusals, each answered auth_error; the connection stays. */
	text = vcs_identify_text(&a, &(vcs_ident_t){ .token = bad_token }, vcd->port);
	vcs_send(c, "%s", text);
	free(text);
	vcs_take(c, "auth_error for a token that is no session", "auth_error", NULL);
	text = vcs_identify_text(&a, &(vcs_ident_t){ .token = t_exp }, vcd->port);
	vcs_send(c, "%s", text);
	free(text);
	vcs_take(c, "auth_error for an expired session's token", "auth_error", NULL);
	text = vcs_identify_text(&a, &(vcs_ident_t){ .token = t_rev }, vcd->port);
	vcs_send(c, "%s", text);
	free(text);
	vcs_take(c, "auth_error for a logged-out session's token", "auth_error", NULL);
	text = vcs_identify_text(&a, &(vcs_ident_t){ .oder_id = b.id }, vcd->port);
	vcs_send(c, "%s", text);
	free(text);
	vcs_take(c, "auth_error for an oderId that is not the token's user", "auth_error", NULL);
	/* Still not identified: a join is auth_required. */
	vcs_send(c, "{\"type\":\"join_server\",\"serverId\":\"%s\"}", NO_SUCH);
	vcs_take(c, "auth_required after failed identifies", "auth_required", NULL);
	/* The fifth try succeeds. */
	vcs_identify(c, vcd, &a, &(vcs_ident_t){ .cid = "aea-1" });
	vcs_sync(c);
	/* Five failures close 4505 (auth_errors may come before the close). */
	c5 = vcs_connect(vcd, "b/failing");
	for (unsigned k = 0; k < 5; k++) {
		text = vcs_identify_text(&b, &(vcs_ident_t){ .token = bad_token }, vcd->port);
		vcs_send(c5, "%s", text);
		free(text);
		if (k < 4)
			vcs_take(c5, "auth_error for a bad token (tries 1 to 4)", "auth_error",
			         NULL);
	}
	vcs_expect_close(c5, 4505, VCS_MS, "five failed identifies");
	/* A disabled account's token: auth_error. */
	vcctl_ok((const char *const[]){ "users", "disable", d.username, NULL });
	cd = vcs_connect(vcd, "d/disabled");
	text = vcs_identify_text(&d, NULL, vcd->port);
	vcs_send(cd, "%s", text);
	free(text);
	vcs_take(cd, "auth_error for a disabled account's token", "auth_error", NULL);
	vcs_expect_metric_rise(vcd, &before, "auth|identif", 4,
	                       "the identifies refused with auth_error");
	vcs_metrics_free(&before);
	vct_pass();
}

static void test_identify_timeout(void **state)
{
	vcs_user_t a;
	vcs_t *silent, *talker, *ok;
	uint64_t t0 = vct_now_ms(), took;

	vcs_register(vcd, &a, "ita");
	ok = vcs_open(vcd, &a, "ita-1", "a/identified");
	silent = vcs_connect(vcd, "silent");
	talker = vcs_connect(vcd, "talker");
	/* Messages that are not identify do not stop the clock. */
	vcs_send(talker, "{\"type\":\"ping\"}");
	vcs_send(talker, "{\"type\":\"join_server\",\"serverId\":\"%s\"}", NO_SUCH);
	vcs_take(talker, "auth_required for a join before identify", "auth_required", NULL);
	vcs_expect_close(silent, 4003, IDENTIFY_TIMEOUT_MS + 5000,
	                 "no identify within 10 s (identify_timeout)");
	took = vct_now_ms() - t0;
	if (took < IDENTIFY_TIMEOUT_MS - 1000)
		fail_msg("the silent connection was closed 4003 after %llu ms; the identify "
		         "timeout is 10 s",
		         (unsigned long long)took);
	vcs_expect_close(talker, 4003, 5000, "no identify within 10 s, pings notwithstanding");
	/* An identified connection is not affected by the timer. */
	vcs_sync(ok);
	vct_pass();
}

/* --- order -------------------------------------------------------------------------- */

static void test_identify_race(void **state)
{
	vcs_user_t a, w;
	char sid[37];
	vcs_t *ws, *c;

	vcs_register(vcd, &w, "irw");
	vcs_register(vcd, &a, "ira");
	vcs_server_create(vcd, &w, sid);
	vcs_server_join(vcd, sid, &a);
	ws = vcs_open(vcd, &w, "irw-1", "w");
	vcs_join(ws, sid);
	for (unsigned r = 0; r < 8; r++) {
		char *ident = vcs_identify_text(&a, &(vcs_ident_t){ .cid = "ira-tab" }, vcd->port);
		char *joins = vct_strf("{\"type\":\"join_server\",\"serverId\":\"%s\"}", sid);
		char tag[32], *chat, *name = vct_strf("a/race-%u", r);
		const char *batch[3];
		unsigned i, uj, ch;

		snprintf(tag, sizeof(tag), "race-%u", r);
		chat = chat_text(sid, tag);
		batch[0] = ident;
		batch[1] = joins;
		batch[2] = chat;
		c = vcs_connect(vcd, name);
		/* identify, join_server and a chat in one write, one TCP segment. */
		vcs_send_batch(c, batch, r % 2 == 0 ? 2 : 3);
		vct_ws_wait_msg(c->ws, 0, VCS_MS, "identified (identify + join in one segment)");
		if (strcmp(vcs_type(c, 0), "identified") != 0) {
			vcs_dump(c);
			fail_msg("round %u: the first answer is %s, expected identified", r,
			         vcs_type(c, 0));
		}
		c->taken[0] = true;
		i = vcs_take(c, "server_users: the join_server written with identify",
		             "server_users", "{\"serverId\":\"%s\"}", sid);
		vcs_sync(c);
		vcs_expect_none(c, 0, vcs_n(c), "a refusal of the join written with identify",
		                "error", NULL);
		vcs_expect_none(c, 0, vcs_n(c), "auth_required for the join written with identify",
		                "auth_required", NULL);
		uj = vcs_take(ws, "user_joined of a (identify + join in one segment)",
		              "user_joined", "{\"oderId\":\"%s\",\"serverId\":\"%s\"}", a.id, sid);
		if (r % 2 == 1) {
			ch = vcs_got_relayed(ws, "chat_message", tag, chat, a.id);
			if (ch < uj)
				fail_msg("w got a's chat (#%u) before a's user_joined (#%u)", ch,
				         uj);
		}
		/* Leaving for the next round: w hears of it. */
		vcs_close(c);
		vcs_take(ws, "user_left of a (its only socket closed)", "user_left",
		         "{\"oderId\":\"%s\",\"serverId\":\"%s\"}", a.id, sid);
		(void)i;
		free(ident);
		free(joins);
		free(chat);
		free(name);
	}
	vct_pass();
}

static void test_strict_order(void **state)
{
	vcs_user_t a, w;
	char s1[37], s2[37], s3[37];
	vcs_t *a1, *a2, *ws;
	char *sent[64];
	const char *batch[64];
	const char *expect[64]; /* a1's answers, in order */
	unsigned n = 0, ne = 0, nrelay = 0, base;
	char tags[16][16];
	const char *rtype[16];
	long long last = 0;

	vcs_register(vcd, &w, "sow");
	vcs_register(vcd, &a, "soa");
	vcs_server_create(vcd, &w, s1);
	vcs_server_create(vcd, &w, s2); /* a is a member, never joins */
	vcs_server_create(vcd, &w, s3); /* a is not a member */
	vcs_server_join(vcd, s1, &a);
	vcs_server_join(vcd, s2, &a);
	ws = vcs_open(vcd, &w, "sow-1", "w");
	vcs_join(ws, s1);
	a2 = vcs_open(vcd, &a, "soa-2", "a/2");
	vcs_join(a2, s1);
	vcs_take(ws, "user_joined of a", "user_joined", "{\"oderId\":\"%s\"}", a.id);
	a1 = vcs_open(vcd, &a, "soa-1", "a/1");
	vcs_take(a2, "account_sync_peer_online of a/1", "account_sync_peer_online", NULL);
	/* The burst: messages that wait for PostgreSQL between relays and answers. */
#define ADD(text, answer)                                                                          \
	do {                                                                                       \
		sent[n] = (text);                                                                  \
		batch[n] = sent[n];                                                                \
		n++;                                                                               \
		if ((answer) != NULL)                                                              \
			expect[ne++] = (answer);                                                   \
	} while (0)
#define RELAY(type)                                                                                \
	do {                                                                                       \
		snprintf(tags[nrelay], sizeof(tags[nrelay]), "o-%u", nrelay);                      \
		rtype[nrelay] = (type);                                                            \
		ADD(vcs_mk((type), "\"serverId\":\"%s\",\"tag\":\"%s\"", s1, tags[nrelay]), NULL); \
		nrelay++;                                                                          \
	} while (0)
	for (unsigned r = 0; r < 3; r++) {
		ADD(vcs_mk("join_server", "\"serverId\":\"%s\"", s1), "server_users");
		RELAY("chat_message");
		ADD(vcs_mk("account_sync", "\"clientInstanceId\":\"soa-1\",\"payload\":{\"r\":%u}",
		           r),
		    "account_sync_ack");
		RELAY("user_typing");
		ADD(vcs_mk("server_users", "\"serverId\":\"%s\"", s2), "error");
		RELAY("voice_state");
		ADD(vct_strf("{\"type\":\"ping\"}"), "pong");
		ADD(vcs_mk("join_server", "\"serverId\":\"%s\"", s3), "error");
		RELAY("chat_message");
		ADD(vcs_mk("account_sync", "\"clientInstanceId\":\"soa-1\",\"payload\":[%u]", r),
		    "account_sync_ack");
		ADD(vct_strf("{\"type\":\"ping\"}"), "pong");
	}
#undef ADD
#undef RELAY
	base = vcs_n(a1);
	vcs_send_batch(a1, batch, n);
	/* a1's answers: exactly in the order of its requests. */
	for (unsigned j = 0; j < ne; j++) {
		unsigned k = base + j;
		char *what = vct_strf("answer %u of the burst (%s)", j, expect[j]);
		vct_ws_wait_msg(a1->ws, k, VCS_MS, what);
		if (strcmp(vcs_type(a1, k), expect[j]) != 0) {
			vcs_dump(a1);
			fail_msg(
			        "a/1: message #%u is %s, expected %s: the burst was not handled in "
			        "arrival order (answers listed above)",
			        k, vcs_type(a1, k), expect[j]);
		}
		a1->taken[k] = true;
		if (strcmp(expect[j], "account_sync_ack") == 0) {
			if (vcs_int(a1, k, "seq") <= last)
				fail_msg("a/1: account_sync_ack seq %lld after %lld",
				         vcs_int(a1, k, "seq"), last);
			last = vcs_int(a1, k, "seq");
		}
		if (strcmp(expect[j], "error") == 0) {
			const char *code = vcs_str(a1, k, "code");
			if (strcmp(code, "not_joined") != 0 && strcmp(code, "not_member") != 0)
				fail_msg("a/1: answer #%u is error %s, expected not_joined / "
				         "not_member",
				         k, code);
		}
		free(what);
	}
	/* w: the relays, all of them, in the order sent. */
	{
		unsigned prev = 0;
		for (unsigned k = 0; k < nrelay; k++) {
			char *what = vct_strf("relay %s '%s' (burst order)", rtype[k], tags[k]);
			unsigned i = vcs_got_tag(ws, rtype[k], tags[k], what);
			if (k > 0 && i < prev) {
				vcs_dump(ws);
				fail_msg("w got '%s' (#%u) before '%s' (#%u): relays out of order",
				         tags[k], i, tags[k - 1], prev);
			}
			prev = i;
			free(what);
		}
	}
	/* a2 (the sender's other device): the relays in order, the syncs in order. */
	{
		unsigned prev = 0;
		long long seq = 0;
		for (unsigned k = 0; k < nrelay; k++) {
			char *what = vct_strf("relay '%s' at the sender's other device", tags[k]);
			unsigned i = vcs_got_tag(a2, rtype[k], tags[k], what);
			if (k > 0 && i < prev)
				fail_msg("a/2 got '%s' before '%s': relays out of order", tags[k],
				         tags[k - 1]);
			prev = i;
			free(what);
		}
		for (unsigned k = 0; k < 6; k++) {
			unsigned i =
			        vcs_take(a2, "the burst's account_syncs", "account_sync", NULL);
			if (vcs_int(a2, i, "seq") <= seq)
				fail_msg("a/2: account_sync seq %lld after %lld",
				         vcs_int(a2, i, "seq"), seq);
			seq = vcs_int(a2, i, "seq");
		}
		if (seq != last)
			fail_msg("a/2's last account_sync has seq %lld, a/1's last ack %lld", seq,
			         last);
	}
	for (unsigned k = 0; k < n; k++)
		free(sent[k]);
	vct_pass();
}

/* --- servers and presence ------------------------------------------------------------- */

static void test_join_not_member(void **state)
{
	vcs_user_t o, w, c;
	char sid[37];
	vcs_t *os, *ws, *cs;
	char *text;
	unsigned i;

	vcs_register(vcd, &o, "nmo");
	vcs_register(vcd, &w, "nmw");
	vcs_register(vcd, &c, "nmc");
	vcs_server_create(vcd, &o, sid);
	vcs_server_join(vcd, sid, &w);
	ws = vcs_open(vcd, &w, "nmw-1", "w");
	vcs_join(ws, sid);
	cs = vcs_open(vcd, &c, "nmc-1", "c (no member)");
	vcs_send(cs, "{\"type\":\"join_server\",\"serverId\":\"%s\"}", sid);
	expect_error(cs, "not_member", "join_server", "join_server of a server c is not in");
	vcs_send(cs, "{\"type\":\"join_server\",\"serverId\":\"%s\"}", NO_SUCH);
	expect_error(cs, "not_member", "join_server",
	             "join_server of a server that does not exist");
	/* Relays into it are refused too, and reach nobody. */
	text = send_chat(cs, sid, "intruder");
	i = vcs_take(cs, "an error for a chat to a server c never joined", "error",
	             "{\"ref\":\"chat_message\"}");
	if (strcmp(vcs_str(cs, i, "code"), "not_joined") != 0 &&
	    strcmp(vcs_str(cs, i, "code"), "not_member") != 0)
		fail_msg(
		        "c's chat to a foreign server: error %s, expected not_joined or not_member",
		        vcs_str(cs, i, "code"));
	vcs_expect_none(cs, 0, vcs_n(cs), "server_users for a refused join", "server_users", NULL);
	/* The owner joins: w hears of the owner, never of c. */
	os = vcs_open(vcd, &o, "nmo-1", "o");
	vcs_join(os, sid);
	i = vcs_take(ws, "user_joined of the owner (the marker)", "user_joined",
	             "{\"oderId\":\"%s\"}", o.id);
	vcs_expect_none(ws, 0, i, "user_joined of a user who is no member", "user_joined",
	                "{\"oderId\":\"%s\"}", c.id);
	i = marker(os, ws, sid, "after-intruder");
	vcs_expect_none(ws, 0, i, "a chat from a connection not in the server", "chat_message",
	                "{\"tag\":\"intruder\"}");
	free(text);
	vct_pass();
}

/* Does users[] of server_users message i list user u (once)? */
static unsigned listed(vcs_t *s, unsigned i, const vcs_user_t *u)
{
	const json_t *users = json_object_get(vcs_msg(s, i), "users"), *e;
	unsigned n = 0;
	size_t k;

	if (!json_is_array(users))
		fail_msg("%s: server_users #%u has no array users", s->name, i);
	json_array_foreach(users, k, e)
	{
		const json_t *id = json_object_get(e, "oderId");
		if (!json_is_string(id))
			fail_msg("%s: server_users #%u: users[%zu] has no string oderId", s->name,
			         i, k);
		if (strcmp(json_string_value(id), u->id) == 0) {
			const json_t *dn = json_object_get(e, "displayName");
			if (!json_is_string(dn) || strcmp(json_string_value(dn), u->display) != 0)
				fail_msg("%s: server_users #%u lists %s with displayName %s, "
				         "expected "
				         "'%s'",
				         s->name, i, u->username,
				         dn ? json_dumps(dn, JSON_ENCODE_ANY) : "(none)",
				         u->display);
			n++;
		}
	}
	return n;
}

static void test_join_and_leave(void **state)
{
	vcs_user_t o, a, b;
	char sid[37];
	vcs_t *a1, *b1;
	char *text;
	unsigned i, j;

	vcs_register(vcd, &o, "jlo");
	vcs_register(vcd, &a, "jla");
	vcs_register(vcd, &b, "jlb");
	vcs_server_create(vcd, &o, sid);
	vcs_server_join(vcd, sid, &a);
	vcs_server_join(vcd, sid, &b);
	a1 = vcs_open(vcd, &a, "jla-1", "a");
	i = vcs_join(a1, sid);
	if (listed(a1, i, &b) != 0)
		fail_msg("a's server_users lists b, who has not joined");
	b1 = vcs_open(vcd, &b, "jlb-1", "b");
	i = vcs_join(b1, sid);
	if (listed(b1, i, &a) != 1)
		fail_msg(
		        "b's server_users (answering its join) does not list a once, who is in the "
		        "server");
	j = vcs_take(a1, "user_joined of b", "user_joined",
	             "{\"oderId\":\"%s\",\"serverId\":\"%s\"}", b.id, sid);
	if (strcmp(vcs_str(a1, j, "displayName"), b.display) != 0)
		fail_msg("user_joined of b has displayName '%s', expected '%s'",
		         vcs_str(a1, j, "displayName"), b.display);
	/* Asked for: both, once each. */
	vcs_send(a1, "{\"type\":\"server_users\",\"serverId\":\"%s\"}", sid);
	i = vcs_take(a1, "server_users asked for", "server_users", "{\"serverId\":\"%s\"}", sid);
	if (listed(a1, i, &b) != 1 || listed(a1, i, &a) > 1)
		fail_msg("server_users asked for by a lists b %u times and a %u times",
		         listed(a1, i, &b), listed(a1, i, &a));
	/* Joining again changes nothing for the others. */
	vcs_join(a1, sid);
	i = marker(a1, b1, sid, "after-rejoin");
	vcs_expect_none(b1, 0, i, "a second user_joined for a join of a joined connection",
	                "user_joined", "{\"oderId\":\"%s\"}", a.id);
	vcs_expect_none(b1, 0, i, "user_joined about oneself", "user_joined", "{\"oderId\":\"%s\"}",
	                b.id);
	/* Leaving: b hears user_left; a's server_users and chats are refused after. */
	vcs_leave(a1, sid);
	vcs_take(b1, "user_left of a", "user_left", "{\"oderId\":\"%s\",\"serverId\":\"%s\"}", a.id,
	         sid);
	vcs_send(a1, "{\"type\":\"server_users\",\"serverId\":\"%s\"}", sid);
	expect_error(a1, "not_joined", "server_users", "server_users after leave_server");
	text = send_chat(a1, sid, "after-leave");
	vcs_take(a1, "an error for a chat after leave_server", "error",
	         "{\"ref\":\"chat_message\"}");
	/* b is told when a comes back, and gets nothing of a's refused chat. */
	vcs_join(a1, sid);
	i = vcs_take(b1, "user_joined of a (back)", "user_joined", "{\"oderId\":\"%s\"}", a.id);
	vcs_expect_none(b1, 0, i, "a chat sent after leave_server", "chat_message",
	                "{\"tag\":\"after-leave\"}");
	free(text);
	vct_pass();
}

static void test_presence_per_identity(void **state)
{
	vcs_user_t o, a, w, x;
	char sid[37];
	vcs_t *ws, *a1, *a2, *xs;
	unsigned from, m1, m2, end;

	vcs_register(vcd, &o, "ppo");
	vcs_register(vcd, &a, "ppa");
	vcs_register(vcd, &w, "ppw");
	vcs_register(vcd, &x, "ppx");
	vcs_server_create(vcd, &o, sid);
	vcs_server_join(vcd, sid, &a);
	vcs_server_join(vcd, sid, &w);
	vcs_server_join(vcd, sid, &x);
	ws = vcs_open(vcd, &w, "ppw-1", "w");
	vcs_join(ws, sid);
	xs = vcs_open(vcd, &x, "ppx-1", "x (markers)");
	vcs_join(xs, sid);
	vcs_take(ws, "user_joined of x", "user_joined", "{\"oderId\":\"%s\"}", x.id);
	/* Two devices of a join: one user_joined. */
	a1 = vcs_open(vcd, &a, "ppa-1", "a/1");
	a2 = vcs_open(vcd, &a, "ppa-2", "a/2");
	from = vcs_n(ws);
	vcs_join(a1, sid);
	vcs_take(ws, "user_joined of a (first device)", "user_joined", "{\"oderId\":\"%s\"}", a.id);
	vcs_join(a2, sid);
	/* One leaves: a is still there. */
	vcs_leave(a1, sid);
	m1 = marker(xs, ws, sid, "pp-after-first-leave");
	if (vcs_count(ws, from, m1, "user_joined", "{\"oderId\":\"%s\"}", a.id) != 1)
		fail_msg("w got %u user_joined of a for two devices, expected 1",
		         vcs_count(ws, from, m1, "user_joined", "{\"oderId\":\"%s\"}", a.id));
	vcs_expect_none(ws, from, m1, "user_left while a's other device is in the server",
	                "user_left", "{\"oderId\":\"%s\"}", a.id);
	/* The last one leaves: user_left. */
	vcs_leave(a2, sid);
	vcs_take(ws, "user_left of a (last device left)", "user_left",
	         "{\"oderId\":\"%s\",\"serverId\":\"%s\"}", a.id, sid);
	/* A vanished socket counts as leaving: a1 vanishes, then a2 closes. */
	from = vcs_n(ws);
	vcs_join(a1, sid);
	vcs_join(a2, sid);
	vcs_take(ws, "user_joined of a (back with two devices)", "user_joined",
	         "{\"oderId\":\"%s\"}", a.id);
	vcs_free(a1);
	m2 = marker(xs, ws, sid, "pp-after-vanish");
	vcs_close(a2);
	vcs_take(ws, "user_left of a (both sockets gone)", "user_left", "{\"oderId\":\"%s\"}",
	         a.id);
	end = marker(xs, ws, sid, "pp-end");
	if (vcs_count(ws, from, end, "user_left", "{\"oderId\":\"%s\"}", a.id) != 1 ||
	    vcs_count(ws, from, end, "user_joined", "{\"oderId\":\"%s\"}", a.id) != 1)
		fail_msg("w got %u user_joined and %u user_left of a for two devices that joined, "
		         "then vanished and closed; expected 1 and 1",
		         vcs_count(ws, from, end, "user_joined", "{\"oderId\":\"%s\"}", a.id),
		         vcs_count(ws, from, end, "user_left", "{\"oderId\":\"%s\"}", a.id));
	(void)m2;
	vct_pass();
}

/* --- relays --------------------------------------------------------------------------- */

static void test_broadcasts(void **state)
{
	vcs_user_t o, a, b, c;
	char sid[37];
	vcs_t *a1, *a2, *b1, *c1;
	char *chat, *typing, *voice, *spoof;
	unsigned i;

	vcs_register(vcd, &o, "bco");
	vcs_register(vcd, &a, "bca");
	vcs_register(vcd, &b, "bcb");
	vcs_register(vcd, &c, "bcc");
	vcs_server_create(vcd, &o, sid);
	vcs_server_join(vcd, sid, &a);
	vcs_server_join(vcd, sid, &b);
	vcs_server_join(vcd, sid, &c);
	a1 = vcs_open(vcd, &a, "bca-1", "a/1");
	a2 = vcs_open(vcd, &a, "bca-2", "a/2");
	b1 = vcs_open(vcd, &b, "bcb-1", "b");
	c1 = vcs_open(vcd, &c, "bcc-1", "c (member, not joined)");
	vcs_join(a1, sid);
	vcs_join(a2, sid);
	vcs_join(b1, sid);
	chat = send_chat(a1, sid, "bc-chat");
	typing = vcs_send_mk(
	        a1, vcs_mk("user_typing",
	                   "\"serverId\":\"%s\",\"tag\":\"bc-typing\",\"channelId\":\"general\","
	                   "\"isTyping\":true",
	                   sid));
	voice = vcs_send_mk(a1,
	                    vcs_mk("voice_state",
	                           "\"serverId\":\"%s\",\"tag\":\"bc-voice\",\"voiceState\":{"
	                           "\"isConnected\":true,\"isMuted\":false,\"isDeafened\":false,"
	                           "\"roomId\":\"general-voice\",\"clientInstanceId\":\"bca-1\"}",
	                           sid));
	/* A fromUserId of the client's own naming another user is overwritten. */
	spoof = vcs_send_mk(a1,
	                    vcs_mk("chat_message",
	                           "\"serverId\":\"%s\",\"tag\":\"bc-spoof\",\"fromUserId\":\"%s\","
	                           "\"message\":{\"content\":\"not from b\"}",
	                           sid, b.id));
	/* Every other connection joined to the server, a's other device too. */
	vcs_got_relayed(a2, "chat_message", "bc-chat", chat, a.id);
	vcs_got_relayed(b1, "chat_message", "bc-chat", chat, a.id);
	vcs_got_relayed(a2, "user_typing", "bc-typing", typing, a.id);
	vcs_got_relayed(b1, "user_typing", "bc-typing", typing, a.id);
	vcs_got_relayed(a2, "voice_state", "bc-voice", voice, a.id);
	vcs_got_relayed(b1, "voice_state", "bc-voice", voice, a.id);
	vcs_got_relayed(b1, "chat_message", "bc-spoof", spoof, a.id);
	vcs_got_relayed(a2, "chat_message", "bc-spoof", spoof, a.id);
	/* Never the sending socket: b's marker comes after a1's relays would have. */
	i = marker(b1, a1, sid, "bc-from-b");
	vcs_expect_none(a1, 0, i, "one's own chat_message back", "chat_message",
	                "{\"tag\":\"bc-chat\"}");
	vcs_expect_none(a1, 0, i, "one's own user_typing back", "user_typing", NULL);
	vcs_expect_none(a1, 0, i, "one's own voice_state back", "voice_state", NULL);
	vcs_expect_none(a1, 0, i, "one's own chat_message back", "chat_message",
	                "{\"tag\":\"bc-spoof\"}");
	/* Nor a member who has not joined: c joins now and hears only what follows. */
	vcs_join(c1, sid);
	i = marker(b1, c1, sid, "bc-after-c-joined");
	vcs_expect_none(c1, 0, i, "relays of a server before joining it", "chat_message",
	                "{\"tag\":\"bc-chat\"}");
	vcs_expect_none(c1, 0, i, "relays of a server before joining it", "user_typing", NULL);
	vcs_expect_none(c1, 0, i, "relays of a server before joining it", "voice_state", NULL);
	free(chat);
	free(typing);
	free(voice);
	free(spoof);
	vct_pass();
}

static void test_direct_relays(void **state)
{
	vcs_user_t a, b, c;
	vcs_t *a1, *a2, *b1, *b2, *c1;
	char *dm, *call;
	unsigned i;

	vcs_register(vcd, &a, "dra");
	vcs_register(vcd, &b, "drb");
	vcs_register(vcd, &c, "drc");
	a1 = vcs_open(vcd, &a, "dra-1", "a/1");
	a2 = vcs_open(vcd, &a, "dra-2", "a/2");
	b1 = vcs_open(vcd, &b, "drb-1", "b/1");
	b2 = vcs_open(vcd, &b, "drb-2", "b/2");
	c1 = vcs_open(vcd, &c, "drc-1", "c");
	/* No server in common: direct messages and calls relay all the same. */
	dm = vcs_send_mk(
	        a1, vcs_mk("direct_message",
	                   "\"targetUserId\":\"%s\",\"tag\":\"dr-dm\",\"message\":{\"id\":\"dm-1\","
	                   "\"content\":\"hi b ✓\",\"timestamp\":1710000000001}",
	                   b.id));
	call = vcs_send_mk(
	        a1, vcs_mk("direct_call",
	                   "\"targetUserId\":\"%s\",\"tag\":\"dr-call\",\"callId\":\"call-1\","
	                   "\"action\":\"ring\"",
	                   b.id));
	vcs_got_relayed(b1, "direct_message", "dr-dm", dm, a.id);
	vcs_got_relayed(b2, "direct_message", "dr-dm", dm, a.id);
	vcs_got_relayed(b1, "direct_call", "dr-call", call, a.id);
	vcs_got_relayed(b2, "direct_call", "dr-call", call, a.id);
	/* Not to the sender's devices: b answers through a's user, after. */
	i = dm_marker(b1, &a, a2, "dr-back");
	vcs_expect_none(a2, 0, i, "a direct message to b at a's other device", "direct_message",
	                "{\"tag\":\"dr-dm\"}");
	vcs_expect_none(a2, 0, i, "a direct call to b at a's other device", "direct_call", NULL);
	i = vcs_got_tag(a1, "direct_message", "dr-back", "b's answer at a/1");
	vcs_expect_none(a1, 0, i, "one's own direct message back", "direct_message",
	                "{\"tag\":\"dr-dm\"}");
	/* Nor to a third user. */
	i = dm_marker(a1, &c, c1, "dr-to-c");
	vcs_expect_none(c1, 0, i, "a direct message to b at c", "direct_message",
	                "{\"tag\":\"dr-dm\"}");
	vcs_expect_none(c1, 0, i, "a direct call to b at c", "direct_call", NULL);
	free(dm);
	free(call);
	vct_pass();
}

static void test_voice_takeover(void **state)
{
	vcs_user_t a;
	vcs_t *d[3], *old;
	static const char *const cids[3] = { "vt-1", "vt-2", "vt-3" };
	long long g1 = 0, g2 = 0, g;
	char *want;

	vcs_register(vcd, &a, "vta");
	for (unsigned k = 0; k < 3; k++) {
		char *name = vct_strf("a/%s", cids[k]);
		d[k] = vcs_open(vcd, &a, cids[k], name);
		free(name);
	}
	old = vcs_open(vcd, &a, NULL, "a/old client (no clientInstanceId)");
	owner_is(&a, NULL);
	/* vt-1 takes voice: every device is told, the row holds it. */
	vcs_send(d[0], "{\"type\":\"voice_client_takeover\"}");
	for (unsigned k = 0; k < 3; k++) {
		g = takeover_got(d[k], "vt-1", NULL);
		if (k == 0)
			g1 = g;
		else if (g != g1)
			fail_msg("%s was told generation %lld, %s generation %lld", d[k]->name, g,
			         d[0]->name, g1);
	}
	takeover_got(old, "vt-1", NULL);
	if (g1 < 1)
		fail_msg("the first takeover has generation %lld, expected >= 1", g1);
	want = vct_strf("vt-1 %lld", g1);
	owner_is(&a, want);
	free(want);
	/* vt-2 takes it from vt-1: previous vt-1, a higher generation. */
	vcs_send(d[1], "{\"type\":\"voice_client_takeover\"}");
	for (unsigned k = 0; k < 3; k++) {
		g = takeover_got(d[k], "vt-2", "vt-1");
		if (k == 0)
			g2 = g;
		else if (g != g2)
			fail_msg("%s was told generation %lld, %s generation %lld", d[k]->name, g,
			         d[0]->name, g2);
	}
	if (g2 <= g1)
		fail_msg("the second takeover has generation %lld, not above the first's %lld", g2,
		         g1);
	want = vct_strf("vt-2 %lld", g2);
	owner_is(&a, want);
	free(want);
	/* A connection without clientInstanceId cannot own voice. */
	vcs_send(old, "{\"type\":\"voice_client_takeover\"}");
	vcs_take(old, "an error for a takeover without clientInstanceId", "error",
	         "{\"ref\":\"voice_client_takeover\"}");
	want = vct_strf("vt-2 %lld", g2);
	owner_is(&a, want);
	free(want);
	vct_pass();
}

static void test_rtc_relay(void **state)
{
	vcs_user_t a, b;
	vcs_t *a1, *b1, *b2;
	char *o1, *o2, *an, *ice, *back;
	unsigned i;

	vcs_register(vcd, &a, "rta");
	vcs_register(vcd, &b, "rtb");
	a1 = vcs_open(vcd, &a, "rta-1", "a");
	b1 = vcs_open(vcd, &b, "rtb-1", "b/1");
	b2 = vcs_open(vcd, &b, "rtb-2", "b/2");
	/* No voice owner: every connection of b (no server shared: DM calls). */
	o1 = vcs_send_mk(
	        a1, vcs_mk("offer",
	                   "\"targetUserId\":\"%s\",\"tag\":\"rt-o1\",\"sdp\":{\"type\":\"offer\","
	                   "\"sdp\":\"v=0\\r\\no=- 1 2 IN IP4 127.0.0.1\\r\\n\"}",
	                   b.id));
	vcs_got_relayed(b1, "offer", "rt-o1", o1, a.id);
	vcs_got_relayed(b2, "offer", "rt-o1", o1, a.id);
	/* b2 takes voice: RTC goes to b2 only. */
	vcs_send(b2, "{\"type\":\"voice_client_takeover\"}");
	takeover_got(b1, "rtb-2", NULL);
	takeover_got(b2, "rtb-2", NULL);
	o2 = vcs_send_mk(
	        a1, vcs_mk("offer",
	                   "\"targetUserId\":\"%s\",\"tag\":\"rt-o2\",\"sdp\":{\"type\":\"offer\","
	                   "\"sdp\":\"v=0\\r\\n\"}",
	                   b.id));
	an = vcs_send_mk(
	        a1, vcs_mk("answer",
	                   "\"targetUserId\":\"%s\",\"tag\":\"rt-an\",\"sdp\":{\"type\":\"answer\","
	                   "\"sdp\":\"v=0\\r\\n\"}",
	                   b.id));
	ice = vcs_send_mk(a1,
	                  vcs_mk("ice_candidate",
	                         "\"targetUserId\":\"%s\",\"tag\":\"rt-ice\",\"candidate\":{"
	                         "\"candidate\":\"candidate:1 1 udp 2122260223 10.0.0.1 54321 typ "
	                         "host\",\"sdpMid\":\"0\",\"sdpMLineIndex\":0}",
	                         b.id));
	{
		unsigned x = vcs_got_relayed(b2, "offer", "rt-o2", o2, a.id);
		unsigned y = vcs_got_relayed(b2, "answer", "rt-an", an, a.id);
		unsigned z = vcs_got_relayed(b2, "ice_candidate", "rt-ice", ice, a.id);
		if (!(x < y && y < z))
			fail_msg("b/2 got offer #%u, answer #%u, ice_candidate #%u: out of order",
			         x, y, z);
	}
	/* b1 gets none of them: a's direct message (to all of b) comes after. */
	i = dm_marker(a1, &b, b1, "rt-marker");
	vcs_expect_none(b1, 0, i, "RTC to b while b/2 owns voice", "offer", "{\"tag\":\"rt-o2\"}");
	vcs_expect_none(b1, 0, i, "RTC to b while b/2 owns voice", "answer", NULL);
	vcs_expect_none(b1, 0, i, "RTC to b while b/2 owns voice", "ice_candidate", NULL);
	/* And back: a has no owner, so a1 gets b2's answer; never the sender. */
	back = vcs_send_mk(b2,
	                   vcs_mk("answer",
	                          "\"targetUserId\":\"%s\",\"tag\":\"rt-back\",\"sdp\":{\"type\":"
	                          "\"answer\",\"sdp\":\"v=0\\r\\n\"}",
	                          a.id));
	vcs_got_relayed(a1, "answer", "rt-back", back, b.id);
	vcs_expect_none(a1, 0, vcs_n(a1), "one's own RTC back", "offer", NULL);
	free(o1);
	free(o2);
	free(an);
	free(ice);
	free(back);
	vct_pass();
}

static void test_server_scoped_types(void **state)
{
	vcs_user_t o, a, b, c;
	char s1[37], s2[37];
	vcs_t *a1, *b1, *c1;
	char *icon, *upd;
	unsigned i;

	vcs_register(vcd, &o, "sso");
	vcs_register(vcd, &a, "ssa");
	vcs_register(vcd, &b, "ssb");
	vcs_register(vcd, &c, "ssc");
	vcs_server_create(vcd, &o, s1); /* a and b */
	vcs_server_create(vcd, &o, s2); /* c only */
	vcs_server_join(vcd, s1, &a);
	vcs_server_join(vcd, s1, &b);
	vcs_server_join(vcd, s2, &c);
	a1 = vcs_open(vcd, &a, "ssa-1", "a");
	b1 = vcs_open(vcd, &b, "ssb-1", "b");
	c1 = vcs_open(vcd, &c, "ssc-1", "c");
	/* Members of a shared server (joined through REST, not over /ws): relayed. */
	icon = vcs_send_mk(a1,
	                   vcs_mk("server_icon",
	                          "\"targetUserId\":\"%s\",\"serverId\":\"%s\",\"tag\":\"ss-icon\","
	                          "\"icon\":\"data:image/png;base64,iVBORw0KGgo=\",\"chunk\":0,"
	                          "\"total\":1",
	                          b.id, s1));
	upd = vcs_send_mk(a1,
	                  vcs_mk("server_update",
	                         "\"targetUserId\":\"%s\",\"serverId\":\"%s\",\"tag\":\"ss-upd\","
	                         "\"changes\":{\"name\":\"Renamed ✓\"}",
	                         b.id, s1));
	vcs_got_relayed(b1, "server_icon", "ss-icon", icon, a.id);
	vcs_got_relayed(b1, "server_update", "ss-upd", upd, a.id);
	/* The target is not in the server: not_member. */
	vcs_send(a1,
	         "{\"type\":\"server_icon\",\"targetUserId\":\"%s\",\"serverId\":\"%s\",\"tag\":"
	         "\"ss-no-1\"}",
	         c.id, s1);
	expect_error(a1, "not_member", "server_icon", "server_icon to a user outside the server");
	/* The sender is not in the server: not_member. */
	vcs_send(a1,
	         "{\"type\":\"server_icon\",\"targetUserId\":\"%s\",\"serverId\":\"%s\",\"tag\":"
	         "\"ss-no-2\"}",
	         c.id, s2);
	expect_error(a1, "not_member", "server_icon", "server_icon for a server a is not in");
	vcs_send(a1,
	         "{\"type\":\"server_update\",\"targetUserId\":\"%s\",\"serverId\":\"%s\",\"tag\":"
	         "\"ss-no-3\"}",
	         c.id, s2);
	expect_error(a1, "not_member", "server_update", "server_update for a server a is not in");
	/* c got none of them. */
	i = dm_marker(a1, &c, c1, "ss-marker");
	vcs_expect_none(c1, 0, i, "a server-scoped message without a shared server", "server_icon",
	                NULL);
	vcs_expect_none(c1, 0, i, "a server-scoped message without a shared server",
	                "server_update", NULL);
	free(icon);
	free(upd);
	vct_pass();
}

/* --- tabs ------------------------------------------------------------------------------- */

static void test_reidentify_tuple(void **state)
{
	vcs_user_t a, b;
	vcs_t *x1, *x2, *x3, *x4, *y;
	const char *scope = "ws://signal.example:3001";
	const char *other = "ws://other.example:3001";
	long long seq;

	vcs_register(vcd, &a, "rta");
	vcs_register(vcd, &b, "rtb");
	x1 = vcs_open_x(vcd, &a, &(vcs_ident_t){ .scope = scope, .cid = "tab-1" }, "a/tab-1 (old)");
	x2 = vcs_open_x(vcd, &a, &(vcs_ident_t){ .scope = scope, .cid = "tab-1" }, "a/tab-1 (new)");
	vcs_expect_close(x1, 4503, VCS_MS, "a newer socket identified with the same tuple");
	/* Another tab, another scope, another user with the same tab id: no close. */
	x3 = vcs_open_x(vcd, &a, &(vcs_ident_t){ .scope = scope, .cid = "tab-2" }, "a/tab-2");
	x4 = vcs_open_x(vcd, &a, &(vcs_ident_t){ .scope = other, .cid = "tab-1" },
	                "a/tab-1 on another scope");
	y = vcs_open_x(vcd, &b, &(vcs_ident_t){ .scope = scope, .cid = "tab-1" }, "b/tab-1");
	vcs_take(x2, "account_sync_peer_online of tab-2", "account_sync_peer_online",
	         "{\"clientInstanceId\":\"tab-2\"}");
	/* They all still work: an account_sync reaches x2, x3, x4. */
	seq = vcs_sync_send(x3, "{\"type\":\"friend-added\",\"friendId\":\"f-1\"}");
	sync_got(x2, seq, &a, "tab-2", "{\"type\":\"friend-added\",\"friendId\":\"f-1\"}");
	sync_got(x4, seq, &a, "tab-2", "{\"type\":\"friend-added\",\"friendId\":\"f-1\"}");
	vcs_sync(x2);
	vcs_sync(x4);
	vcs_sync(y);
	if (x2->ws->close_seen || x3->ws->close_seen || x4->ws->close_seen || y->ws->close_seen)
		fail_msg("a socket of another tuple was closed");
	vct_pass();
}

/* --- account_sync ------------------------------------------------------------------------ */

#define NSYNC 7

static void test_account_sync(void **state)
{
	vcs_user_t a, b;
	vcs_t *d[3], *b1, *d4;
	static const char *const cids[3] = { "as-1", "as-2", "as-3" };
	static const char *const payloads[NSYNC] = {
		"{\"type\":\"saved-room-sync\",\"room\":{\"id\":\"r1\",\"name\":\"Room ✓\","
		"\"members\":[1,2.5,null,true]}}",
		"\"friend-added:f-2\"",
		"[\"custom-emoji-chunk\",{\"i\":0,\"of\":3}]",
		"42",
		"{\"type\":\"user-avatar-full\",\"data\":\"iVBORw0KGgo=\"}",
		"{\"type\":\"saved-room-remove\",\"roomId\":\"r1\"}",
		"{\"type\":\"friend-removed\",\"friendId\":\"f-2\",\"nested\":{\"deep\":[[],{}]}}",
	};
	/* Who sends payload k; the marker after them comes from a2. */
	static const unsigned sender[NSYNC] = { 0, 1, 2, 0, 1, 2, 0 };
	long long seq[NSYNC], mark, bseq;
	char *want, *list;
	unsigned i;

	vcs_register(vcd, &a, "asa");
	vcs_register(vcd, &b, "asb");
	for (unsigned k = 0; k < 3; k++) {
		char *name = vct_strf("a/%s", cids[k]);
		d[k] = vcs_open(vcd, &a, cids[k], name);
		free(name);
	}
	b1 = vcs_open(vcd, &b, "asb-1", "b");
	for (unsigned k = 0; k < NSYNC; k++) {
		seq[k] = vcs_sync_send(d[sender[k]], payloads[k]);
		if (k == 0 && seq[0] != d[0]->sync_seq + 1)
			fail_msg("the first account_sync of a new user has seq %lld, expected %lld "
			         "(identified.syncSeq + 1)",
			         seq[0], d[0]->sync_seq + 1);
		if (k > 0 && seq[k] <= seq[k - 1])
			fail_msg("account_sync_ack seq %lld after %lld: not rising", seq[k],
			         seq[k - 1]);
		/* Every other device, with the sender's clientInstanceId and the seq. */
		for (unsigned t = 0; t < 3; t++)
			if (t != sender[k])
				sync_got(d[t], seq[k], &a, cids[sender[k]], payloads[k]);
	}
	/* Never the sending socket: a marker from a2 reaches a1 and a3 after all
	 * of theirs would have; a2's own are followed by a3's and a1's. */
	mark = vcs_sync_send(d[1], "{\"type\":\"marker\"}");
	sync_got(d[0], mark, &a, "as-2", "{\"type\":\"marker\"}");
	sync_got(d[2], mark, &a, "as-2", "{\"type\":\"marker\"}");
	for (unsigned k = 0; k < NSYNC; k++) {
		vcs_t *own = d[sender[k]];
		if (vcs_count(own, 0, vcs_n(own), "account_sync", "{\"seq\":%lld}", seq[k]) != 0) {
			vcs_dump(own);
			fail_msg("%s received its own account_sync (seq %lld) back", own->name,
			         seq[k]);
		}
	}
	/* Persisted: the log holds every seq with its instance and payload. */
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
	free(want);
	free(list);
	for (unsigned k = 0; k < NSYNC; k++)
		vcs_db_expect(db_url, "t",
		              "SELECT payload = '%s'::jsonb AND client_instance_id = '%s'"
		              " FROM account_sync_log WHERE user_id = '%s' AND seq = %lld",
		              payloads[k], cids[sender[k]], a.id, seq[k]);
	want = vct_strf("%lld", mark);
	vcs_db_expect(db_url, want, "SELECT last_seq FROM account_sync_seq WHERE user_id = '%s'",
	              a.id);
	free(want);
	/* Another user has a sequence of its own, and heard nothing of a's. */
	bseq = vcs_sync_send(b1, "{\"type\":\"friend-removed\"}");
	if (bseq != 1)
		fail_msg("b's first account_sync has seq %lld, expected 1 (a sequence per user)",
		         bseq);
	i = dm_marker(d[0], &b, b1, "as-marker");
	vcs_expect_none(b1, 0, i, "another user's account_sync", "account_sync", NULL);
	/* A new device learns the current seq. */
	d4 = vcs_open(vcd, &a, "as-4", "a/as-4");
	if (d4->sync_seq != mark)
		fail_msg("identified.syncSeq is %lld, expected the last seq %lld", d4->sync_seq,
		         mark);
	vct_pass();
}

static void test_peer_online(void **state)
{
	vcs_user_t a, b;
	vcs_t *a1, *a2, *a3, *b1;
	unsigned i;
	long long seq;

	vcs_register(vcd, &a, "poa");
	vcs_register(vcd, &b, "pob");
	a1 = vcs_open(vcd, &a, "po-1", "a/1");
	b1 = vcs_open(vcd, &b, "pob-1", "b");
	a2 = vcs_open_x(vcd, &a, &(vcs_ident_t){ .scope = "ws://peer.example:3001", .cid = "po-2" },
	                "a/2");
	i = vcs_take(a1, "account_sync_peer_online of a/2", "account_sync_peer_online",
	             "{\"fromUserId\":\"%s\",\"clientInstanceId\":\"po-2\","
	             "\"connectionScope\":\"ws://peer.example:3001\"}",
	             a.id);
	(void)i;
	a3 = vcs_open(vcd, &a, "po-3", "a/3");
	vcs_take(a1, "account_sync_peer_online of a/3 at a/1", "account_sync_peer_online",
	         "{\"clientInstanceId\":\"po-3\"}");
	vcs_take(a2, "account_sync_peer_online of a/3 at a/2", "account_sync_peer_online",
	         "{\"clientInstanceId\":\"po-3\"}");
	/* Not to the device itself, not to another user: markers behind. */
	seq = vcs_sync_send(a1, "{\"type\":\"snapshot\"}");
	i = sync_got(a3, seq, &a, "po-1", "{\"type\":\"snapshot\"}");
	vcs_expect_none(a3, 0, i, "peer_online about itself", "account_sync_peer_online", NULL);
	i = sync_got(a2, seq, &a, "po-1", "{\"type\":\"snapshot\"}");
	vcs_expect_none(a2, 0, i, "peer_online about itself", "account_sync_peer_online",
	                "{\"clientInstanceId\":\"po-2\"}");
	i = dm_marker(a1, &b, b1, "po-marker");
	vcs_expect_none(b1, 0, i, "another user's peer_online", "account_sync_peer_online", NULL);
	vct_pass();
}

/* 1,000 account_syncs from s: their seqs in *seqs (rising); payload {"n": k}. */
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
				continue; /* a peer_online, say */
			s->taken[i] = true;
			seqs[got] = vcs_int(s, i, "seq");
			if (got > 0 && seqs[got] <= seqs[got - 1])
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

static void test_catch_up(void **state)
{
	char *c1 = VCS_CONF("account_sync_keep", "5000");
	char *c2 = VCS_CONF("signal_rate", "100000");
	char *c3 = VCS_CONF("signal_burst", "100000");
	char *conf = vct_strf("%s%s%s%s", MAIN_CONF, c1, c2, c3);
	vct_vcd_t *v = vct_vcd_start("sig_catch_up", db_url, conf);
	vcs_user_t a;
	vcs_t *d, *s, *live, *back;
	long long *seqs = calloc(CATCH_UP, sizeof(*seqs)), first, live_seq, after_seq;
	char *ident;
	unsigned base, i;

	vcs_register(v, &a, "cua");
	d = vcs_open(v, &a, "cu-d", "a/offline device");
	s = vcs_open(v, &a, "cu-s", "a/sender");
	live = vcs_open(v, &a, "cu-l", "a/live");
	first = vcs_sync_send(s, "{\"type\":\"before\"}");
	sync_got(d, first, &a, "cu-s", "{\"type\":\"before\"}");
	vcs_close(d);
	/* 1,000 while the device is away. */
	bulk_sync(s, CATCH_UP, seqs);
	if (seqs[0] <= first)
		fail_msg("the bulk's first seq %lld is not after %lld", seqs[0], first);
	/* The live device read them all (its socket must not fill up). */
	vcs_drain_to(live, 2 + CATCH_UP, BULK_MS, "the first account_sync and the 1,000");
	/* It comes back with lastSyncSeq; a live one is sent at the same time. */
	back = vcs_connect(v, "a/back");
	ident = vcs_identify_text(&a,
	                          &(vcs_ident_t){
	                                  .cid = "cu-d", .has_last = true, .last_sync_seq = first },
	                          v->port);
	vcs_send(back, "%s", ident);
	live_seq = vcs_sync_send(live, "{\"type\":\"live\"}");
	if (live_seq <= seqs[CATCH_UP - 1])
		fail_msg("the live account_sync has seq %lld, not after the bulk's last %lld",
		         live_seq, seqs[CATCH_UP - 1]);
	/* identified, the 1,000 in order, then the live one, once. */
	vcs_drain_to(back, CATCH_UP + 2, BULK_MS,
	             "identified, the catch-up and the live account_sync");
	if (strcmp(vcs_type(back, 0), "identified") != 0) {
		vcs_dump(back);
		fail_msg("a/back: the first message is %s, expected identified", vcs_type(back, 0));
	}
	if (vcs_int(back, 0, "syncSeq") < seqs[CATCH_UP - 1])
		fail_msg("identified.syncSeq %lld is before the last seq %lld",
		         vcs_int(back, 0, "syncSeq"), seqs[CATCH_UP - 1]);
	base = 1;
	for (unsigned k = 0; k < CATCH_UP; k++) {
		i = base + k;
		if (strcmp(vcs_type(back, i), "account_sync") != 0 ||
		    vcs_int(back, i, "seq") != seqs[k]) {
			vcs_dump(back);
			fail_msg("a/back: message #%u is %s seq %s; expected the missed "
			         "account_sync "
			         "%u of %d with seq %lld, in order, before anything live",
			         i, vcs_type(back, i),
			         strcmp(vcs_type(back, i), "account_sync") == 0
			                 ? vct_strf("%lld", vcs_int(back, i, "seq"))
			                 : "-",
			         k + 1, CATCH_UP, seqs[k]);
		}
		{
			const json_t *m = vcs_msg(back, i);
			const json_t *p = json_object_get(m, "payload");
			if (strcmp(vcs_str(back, i, "fromUserId"), a.id) != 0 ||
			    strcmp(vcs_str(back, i, "clientInstanceId"), "cu-s") != 0 ||
			    json_integer_value(json_object_get(p, "n")) != (json_int_t)k)
				fail_msg("a/back: catch-up message #%u has the wrong fromUserId, "
				         "clientInstanceId or payload (expected n = %u)",
				         i, k);
		}
		back->taken[i] = true;
	}
	i = base + CATCH_UP;
	if (strcmp(vcs_type(back, i), "account_sync") != 0 || vcs_int(back, i, "seq") != live_seq) {
		vcs_dump(back);
		fail_msg("a/back: message #%u is %s; expected the live account_sync seq %lld right "
		         "after the catch-up",
		         i, vcs_type(back, i), live_seq);
	}
	/* Not twice: a later one arrives next. */
	after_seq = vcs_sync_send(s, "{\"type\":\"after\"}");
	i = sync_got(back, after_seq, &a, "cu-s", "{\"type\":\"after\"}");
	if (vcs_count(back, 0, i, "account_sync", "{\"seq\":%lld}", live_seq) != 1)
		fail_msg("a/back got the live account_sync (seq %lld) %u times, expected once",
		         live_seq,
		         vcs_count(back, 0, i, "account_sync", "{\"seq\":%lld}", live_seq));
	if (i != base + CATCH_UP + 1)
		vcs_dump(back);
	vcs_expect_none(back, base + CATCH_UP + 1, i, "anything between the live and the next one",
	                "account_sync", NULL);
	vcs_close_all();
	vct_vcd_stop_ok(v);
	free(seqs);
	free(ident);
	free(conf);
	free(c1);
	free(c2);
	free(c3);
	vct_pass();
}

static void test_catch_up_too_old(void **state)
{
	char *c1 = VCS_CONF("account_sync_keep", "5");
	char *conf = vct_strf("%s%s", MAIN_CONF, c1);
	vct_vcd_t *v = vct_vcd_start("sig_too_old", db_url, conf);
	vcs_user_t a;
	vcs_t *s, *d;
	long long seq[16], reset;
	unsigned i;

	vcs_register(v, &a, "toa");
	s = vcs_open(v, &a, "to-s", "a/sender");
	for (unsigned k = 0; k < 4; k++) /* seqs 1..4: all kept */
		seq[k] = vcs_sync_send(s, "{\"k\":\"early\"}");
	/* Missed 2..4, all still there: they come, no reset. */
	d = vcs_open_x(v, &a,
	               &(vcs_ident_t){ .cid = "to-d", .has_last = true, .last_sync_seq = seq[0] },
	               "a/missed three");
	for (unsigned k = 1; k < 4; k++)
		sync_got(d, seq[k], &a, "to-s", "{\"k\":\"early\"}");
	vcs_expect_none(d, 0, vcs_n(d), "a reset while every missed row is kept",
	                "account_sync_reset", NULL);
	vcs_close(d);
	for (unsigned k = 4; k < 14; k++) /* 10 more: only the last 5 are kept */
		seq[k] = vcs_sync_send(s, "{\"k\":\"late\"}");
	vcs_db_expect(db_url, "5", "SELECT count(*) FROM account_sync_log WHERE user_id = '%s'",
	              a.id);
	/* Missed from seq[3] on: pruned, take a snapshot. */
	d = vcs_open_x(v, &a,
	               &(vcs_ident_t){ .cid = "to-d", .has_last = true, .last_sync_seq = seq[3] },
	               "a/too old");
	i = vcs_take(d, "account_sync_reset (the missed rows were pruned)", "account_sync_reset",
	             NULL);
	reset = vcs_int(d, i, "syncSeq");
	if (reset != seq[13])
		fail_msg("account_sync_reset.syncSeq is %lld, expected the last seq %lld", reset,
		         seq[13]);
	seq[14] = vcs_sync_send(s, "{\"k\":\"after reset\"}");
	i = sync_got(d, seq[14], &a, "to-s", "{\"k\":\"after reset\"}");
	if (vcs_count(d, 0, i, "account_sync", NULL) != 0) {
		vcs_dump(d);
		fail_msg("a/too old got pruned-era account_syncs besides the reset");
	}
	vcs_close(d);
	/* Missed exactly the kept ones: they come, no reset. */
	d = vcs_open_x(v, &a,
	               &(vcs_ident_t){ .cid = "to-d", .has_last = true, .last_sync_seq = seq[9] },
	               "a/missed the kept five");
	for (unsigned k = 10; k < 15; k++)
		sync_got(d, seq[k], &a, "to-s",
		         k < 14 ? "{\"k\":\"late\"}" : "{\"k\":\"after reset\"}");
	vcs_expect_none(d, 0, vcs_n(d), "a reset while every missed row is kept",
	                "account_sync_reset", NULL);
	vcs_close_all();
	vct_vcd_stop_ok(v);
	free(conf);
	free(c1);
	vct_pass();
}

/*
 * Numbers in a caught-up payload: PostgreSQL's jsonb gives 1e20 back as
 * 100000000000000000000, too big for a JSON integer in vcd; the payload must
 * still arrive with the same numbers (as a live device got them), not null.
 */
static void test_catch_up_numbers(void **state)
{
	static const char payload[] = "{\"big\":1e20,\"n\":7,\"half\":0.5,\"neg\":-2.5e300}";
	static const struct {
		const char *key;
		double value;
	} want[] = { { "big", 1e20 }, { "n", 7 }, { "half", 0.5 }, { "neg", -2.5e300 } };
	vcs_user_t a;
	vcs_t *s, *live, *d;
	const json_t *got[2];
	long long seq;

	vcs_register(vcd, &a, "cna");
	s = vcs_open(vcd, &a, "cn-s", "a/sender");
	live = vcs_open(vcd, &a, "cn-l", "a/live");
	seq = vcs_sync_send(s, payload);
	d = vcs_open_x(vcd, &a,
	               &(vcs_ident_t){ .cid = "cn-d", .has_last = true, .last_sync_seq = seq - 1 },
	               "a/caught up");
	got[0] = json_object_get(vcs_msg(live, vcs_take(live, "the live account_sync",
	                                                "account_sync", "{\"seq\":%lld}", seq)),
	                         "payload");
	got[1] = json_object_get(vcs_msg(d, vcs_take(d, "the missed account_sync", "account_sync",
	                                             "{\"seq\":%lld}", seq)),
	                         "payload");
	for (unsigned k = 0; k < sizeof(want) / sizeof(want[0]); k++)
		for (unsigned w = 0; w < 2; w++) {
			const json_t *v = json_object_get(got[w], want[k].key);
			if (!json_is_number(v) || json_number_value(v) != want[k].value) {
				vcs_dump(w == 0 ? live : d);
				fail_msg("%s: payload.%s of the account_sync is not %g (sent %s)",
				         w == 0 ? "a/live" : "a/caught up", want[k].key,
				         want[k].value, payload);
			}
		}
	vcs_close_all();
	vct_pass();
}

/*
 * A catch-up larger than ws_send_buffer_max: vcd queues it all at once, so the
 * connection closes with 4001 after a prefix; the device comes back with the
 * last seq it got and has the rest, in order, without a gap or a repeat, over
 * as many rounds as it takes (vcd stops encoding the rows nobody will get).
 */
#define OVERFLOW_SYNCS 40
#define OVERFLOW_PAD 8000 /* bytes per payload: 40 of them are five times the queue */

static void test_catch_up_overflow(void **state)
{
	char *c1 = VCS_CONF("ws_send_buffer_max", "64k", "65536");
	char *c2 = VCS_CONF("signal_rate", "100000");
	char *c3 = VCS_CONF("signal_burst", "100000");
	char *conf = vct_strf("%s%s%s%s", MAIN_CONF, c1, c2, c3);
	vct_vcd_t *v = vct_vcd_start("sig_overflow", db_url, conf);
	char *pad = malloc(OVERFLOW_PAD + 1), *payload;
	long long seqs[OVERFLOW_SYNCS], first, last;
	unsigned next = 0, rounds = 0;
	vcs_user_t a;
	vcs_t *s, *d;

	memset(pad, 'x', OVERFLOW_PAD);
	pad[OVERFLOW_PAD] = '\0';
	vcs_register(v, &a, "ova");
	s = vcs_open(v, &a, "ov-s", "a/sender");
	first = vcs_sync_send(s, "{\"k\":-1}");
	for (unsigned k = 0; k < OVERFLOW_SYNCS; k++) {
		payload = vct_strf("{\"k\":%u,\"pad\":\"%s\"}", k, pad);
		seqs[k] = vcs_sync_send(s, payload);
		free(payload);
	}
	last = first;
	while (next < OVERFLOW_SYNCS) {
		unsigned before = next, i;
		char *name = vct_strf("a/device round %u", ++rounds);

		if (rounds > OVERFLOW_SYNCS)
			fail_msg("the catch-up of %d account_syncs took more than %d rounds",
			         OVERFLOW_SYNCS, OVERFLOW_SYNCS);
		d = vcs_open_x(v, &a,
		               &(vcs_ident_t){
		                       .cid = "ov-d", .has_last = true, .last_sync_seq = last },
		               name);
		if (d->sync_seq != seqs[OVERFLOW_SYNCS - 1])
			fail_msg("%s: identified.syncSeq %lld, expected %lld", name, d->sync_seq,
			         seqs[OVERFLOW_SYNCS - 1]);
		for (i = 1; next < OVERFLOW_SYNCS; i++) {
			uint64_t deadline = vct_now_ms() + VCS_MS;
			while (vcs_n(d) <= i && !d->ws->close_seen && !d->ws->eof &&
			       vct_now_ms() < deadline)
				vcs_pump(d, 50);
			if (vcs_n(d) <= i)
				break;
			if (strcmp(vcs_type(d, i), "account_sync") != 0 ||
			    vcs_int(d, i, "seq") != seqs[next]) {
				vcs_dump(d);
				fail_msg(
				        "%s: message #%u is %s; expected the account_sync seq %lld "
				        "(%u of %d), in order",
				        name, i, vcs_type(d, i), seqs[next], next + 1,
				        OVERFLOW_SYNCS);
			}
			d->taken[i] = true;
			last = seqs[next++];
		}
		if (next == before)
			fail_msg("%s: no account_sync of the catch-up arrived before the close",
			         name);
		if (next < OVERFLOW_SYNCS) {
			vcs_expect_close(d, 4001, VCS_MS, "the queue over ws_send_buffer_max");
			vcs_free(d);
		} else {
			vcs_expect_none(d, 0, vcs_n(d), "a reset in a catch-up of kept rows",
			                "account_sync_reset", NULL);
			vcs_sync(d);
			vcs_close(d);
		}
		free(name);
	}
	if (rounds < 2)
		fail_msg("the catch-up came in one round: ws_send_buffer_max did not overflow");
	vcs_sync(s);
	vcs_close_all();
	vct_vcd_stop_ok(v);
	free(pad);
	free(conf);
	free(c1);
	free(c2);
	free(c3);
	vct_pass();
}

/* --- revocation ---------------------------------------------------------------------------- */

static void test_revocation(void **state)
{
	vcs_user_t a;
	char t1[65], t2[65], *sid, *text;
	vcs_t *x1, *x2, *y, *z, *again;
	long long seq;

	vcs_register(vcd, &a, "rva");
	vcs_login(vcd, &a, t1);
	vcs_login(vcd, &a, t2);
	x1 = vcs_open_x(vcd, &a, &(vcs_ident_t){ .token = t1, .cid = "rv-x1" }, "a/x1 (session 1)");
	x2 = vcs_open_x(vcd, &a, &(vcs_ident_t){ .token = t1, .cid = "rv-x2" }, "a/x2 (session 1)");
	y = vcs_open_x(vcd, &a, &(vcs_ident_t){ .token = t2, .cid = "rv-y" }, "a/y (session 2)");
	z = vcs_open_x(vcd, &a, &(vcs_ident_t){ .cid = "rv-z" }, "a/z (registration session)");
	/* Logout of session 1 closes its two sockets. */
	vcs_logout(vcd, t1);
	vcs_expect_close(x1, 4504, VCS_MS, "its session logged out");
	vcs_expect_close(x2, 4504, VCS_MS, "its session logged out");
	seq = vcs_sync_send(z, "{\"after\":\"logout\"}");
	sync_got(y, seq, &a, "rv-z", "{\"after\":\"logout\"}");
	vcs_sync(y);
	/* The revoked token cannot identify again. */
	again = vcs_connect(vcd, "a/again with session 1");
	text = vcs_identify_text(&a, &(vcs_ident_t){ .token = t1 }, vcd->port);
	vcs_send(again, "%s", text);
	free(text);
	vcs_take(again, "auth_error for a logged-out session", "auth_error", NULL);
	/* vcctl sessions revoke closes session 2's socket, not z. */
	sid = vct_strf("%lld", vcs_session_id(db_url, t2));
	vcctl_ok((const char *const[]){ "sessions", "revoke", sid, NULL });
	vcs_expect_close(y, 4504, VCS_MS, "vcctl sessions revoke of its session");
	vcs_sync(z);
	/* Disabling the user closes the rest. */
	vcctl_ok((const char *const[]){ "users", "disable", a.username, NULL });
	vcs_expect_close(z, 4504, VCS_MS, "vcctl users disable of its user");
	free(sid);
	vct_pass();
}

/* --- limits ---------------------------------------------------------------------------------- */

static void test_rate_limit(void **state)
{
	vcs_user_t o, r, w;
	char sid[37];
	vcs_t *rs, *ws, *flood;
	const char *batch[RATE_BURST + 40];
	char *texts[RATE_BURST + 40];
	unsigned n = RATE_BURST + 5, errors = 0, relayed = 0, mark_at = 0, next = 0;
	vcs_metrics_t before;
	char tag[32];

	vcs_register(vcd, &o, "rlo");
	vcs_register(vcd, &r, "rlr");
	vcs_register(vcd, &w, "rlw");
	vcs_server_create(vcd, &o, sid);
	vcs_server_join(vcd, sid, &r);
	vcs_server_join(vcd, sid, &w);
	ws = vcs_open(vcd, &w, "rlw-1", "w");
	vcs_join(ws, sid);
	rs = vcs_open(vcd, &r, "rlr-1", "r");
	vcs_join(rs, sid);
	vcs_take(ws, "user_joined of r", "user_joined", "{\"oderId\":\"%s\"}", r.id);
	vcs_metrics_read(vcd, &before);
	/* The burst (60) and five more at once: some are refused, and dropped. */
	for (unsigned k = 0; k < n; k++) {
		snprintf(tag, sizeof(tag), "rl-%u", k);
		texts[k] = chat_text(sid, tag);
		batch[k] = texts[k];
	}
	vcs_send_batch(rs, batch, n);
	for (unsigned k = 0; k < n; k++)
		free(texts[k]);
	{
		uint64_t deadline = vct_now_ms() + VCS_MS;
		while (errors + relayed < n) {
			if (vct_now_ms() > deadline || rs->ws->close_seen || ws->ws->close_seen)
				fail_msg("of %u chats sent at once, %u were relayed to w and %u "
				         "refused "
				         "with rate_limited within %d ms (r closed: %d)",
				         n, relayed, errors, VCS_MS, rs->ws->close_seen);
			vcs_pump(rs, 20);
			vcs_pump(ws, 20);
			errors = vcs_count(rs, 0, vcs_n(rs), "error",
			                   "{\"code\":\"rate_limited\",\"ref\":\"chat_message\"}");
			relayed = vcs_count(ws, 0, vcs_n(ws), "chat_message", NULL);
		}
	}
	if (errors == 0)
		fail_msg("%u chats at once went through; signal_rate allows a burst of %d", n,
		         RATE_BURST);
	if (errors > 9)
		fail_msg("%u of %u chats refused, expected at most %u", errors, n, n - RATE_BURST);
	/* A marker once the bucket has refilled (20/s): the refused ones never come. */
	for (unsigned t = 0;; t++) {
		unsigned from = vcs_n(rs), e;
		char *text;
		snprintf(tag, sizeof(tag), "rl-mark-%u", t);
		vct_sleep_ms(200); /* a token every 50 ms: a poll, not a stand-in */
		text = send_chat(rs, sid, tag);
		free(text);
		vcs_sync(rs);
		e = vcs_count(rs, from, vcs_n(rs), "error", "{\"code\":\"rate_limited\"}");
		if (e == 0) {
			mark_at =
			        vcs_got_tag(ws, "chat_message", tag, "the marker after the refill");
			break;
		}
		if (t == 5)
			fail_msg("a chat 1.2 s after the burst is still rate_limited");
	}
	/* w got exactly the ones not refused, in order, each once. */
	for (unsigned i = 0; i < mark_at; i++) {
		if (strcmp(vcs_type(ws, i), "chat_message") != 0)
			continue;
		snprintf(tag, sizeof(tag), "rl-%u", next);
		while (next < n && strcmp(vcs_str(ws, i, "tag"), tag) != 0) {
			next++;
			snprintf(tag, sizeof(tag), "rl-%u", next);
		}
		if (next == n)
			fail_msg("w: chat #%u (%s) out of order or repeated", i,
			         vcs_str(ws, i, "tag"));
		next++;
	}
	relayed = vcs_count(ws, 0, mark_at, "chat_message", NULL);
	if (relayed + errors != n)
		fail_msg("w got %u chats of %u, %u were refused: a refused one was relayed, or one "
		         "was lost",
		         relayed, n, errors);
	vcs_expect_metric_rise(vcd, &before, "rate", errors, "chats refused with rate_limited");
	/* Ten refusals in a row close 4008. */
	flood = vcs_open(vcd, &r, "rlr-2", "r/flood");
	vcs_join(flood, sid);
	for (unsigned k = 0; k < RATE_BURST + 40; k++) {
		snprintf(tag, sizeof(tag), "fl-%u", k);
		texts[k] = chat_text(sid, tag);
		batch[k] = texts[k];
	}
	vcs_send_batch(flood, batch, RATE_BURST + 40);
	vcs_expect_close(flood, 4008, VCS_MS, "ten rate_limited refusals in a row");
	if (vcs_count(flood, 0, vcs_n(flood), "error", "{\"code\":\"rate_limited\"}") < 10)
		fail_msg("r/flood was closed 4008 after %u rate_limited errors, expected 10",
		         vcs_count(flood, 0, vcs_n(flood), "error", "{\"code\":\"rate_limited\"}"));
	for (unsigned k = 0; k < RATE_BURST + 40; k++)
		free(texts[k]);
	vcs_metrics_free(&before);
	vct_pass();
}

/* A chat_message of exactly `len` bytes of JSON text, tagged tag. */
static char *chat_of_len(const char *server, const char *tag, size_t len)
{
	char *head = vct_strf("{\"type\":\"chat_message\",\"serverId\":\"%s\",\"tag\":\"%s\","
	                      "\"pad\":\"",
	                      server, tag);
	size_t hl = strlen(head);
	char *text = malloc(len + 1);

	if (len < hl + 2)
		fail_msg("chat_of_len: %zu is too short", len);
	memcpy(text, head, hl);
	memset(text + hl, 'x', len - hl - 2);
	memcpy(text + len - 2, "\"}", 2);
	text[len] = '\0';
	free(head);
	return text;
}

static void test_limits(void **state)
{
	char *c1 = VCS_CONF("signal_max_message", "4k", "4096");
	char *c2 = VCS_CONF("signal_max_user_connections", "3");
	char *conf = vct_strf("%s%s%s", MAIN_CONF, c1, c2);
	vct_vcd_t *v = vct_vcd_start("sig_limits", db_url, conf);
	vcs_user_t o, u, p, w;
	char sid[37];
	vcs_t *pc[USER_CONNS], *extra, *us, *ws, *u2;
	vcs_metrics_t before;
	char *text, *ident;
	unsigned i;

	vcs_register(v, &o, "lmo");
	vcs_register(v, &u, "lmu");
	vcs_register(v, &p, "lmp");
	vcs_register(v, &w, "lmw");
	vcs_server_create(v, &o, sid);
	vcs_server_join(v, sid, &u);
	vcs_server_join(v, sid, &w);
	vcs_metrics_read(v, &before);
	/* Connections per user: three, then auth_error; other users unaffected. */
	for (unsigned k = 0; k < USER_CONNS; k++) {
		char *cid = vct_strf("lm-p%u", k), *name = vct_strf("p/%u", k);
		pc[k] = vcs_open(v, &p, cid, name);
		free(cid);
		free(name);
	}
	extra = vcs_connect(v, "p/one too many");
	ident = vcs_identify_text(&p, &(vcs_ident_t){ .cid = "lm-p9" }, v->port);
	vcs_send(extra, "%s", ident);
	vcs_take(extra, "auth_error: more connections than signal_max_user_connections",
	         "auth_error", NULL);
	vcs_expect_metric_rise(v, &before, "user_conn|per_user|too_many|limit|refus|reject", 1,
	                       "an identify over signal_max_user_connections");
	/* One closes: there is room again (vcd may take a moment to count it). */
	vcs_close(pc[0]);
	for (unsigned t = 0;; t++) {
		vcs_t *again = vcs_connect(v, "p/after one closed");
		unsigned from = vcs_n(again);
		vcs_send(again, "%s", ident);
		vct_ws_wait_msg(again->ws, from, VCS_MS, "the answer to identify");
		if (strcmp(vcs_type(again, from), "identified") == 0)
			break;
		vcs_free(again);
		if (t == 20)
			fail_msg(
			        "a new connection of p is still refused 2 s after one of its three "
			        "closed");
		vct_sleep_ms(100); /* a poll for the count to drop */
	}
	/* Size: exactly signal_max_message goes through, one byte more does not. */
	ws = vcs_open(v, &w, "lm-w", "w");
	vcs_join(ws, sid);
	us = vcs_open(v, &u, "lm-u", "u");
	vcs_join(us, sid);
	text = chat_of_len(sid, "lm-fits", MAX_MESSAGE);
	vcs_send(us, "%s", text);
	vcs_got_relayed(ws, "chat_message", "lm-fits", text, u.id);
	free(text);
	text = chat_of_len(sid, "lm-big", MAX_MESSAGE + 1);
	vcs_send(us, "%s", text);
	free(text);
	/* Either error too_big (the connection kept) or close 1009. */
	{
		uint64_t deadline = vct_now_ms() + VCS_MS;
		bool closed = false;
		for (;;) {
			if (vcs_count(us, 0, vcs_n(us), "error", "{\"code\":\"too_big\"}") > 0)
				break;
			if (us->ws->close_seen) {
				if (us->ws->close_code != 1009)
					fail_msg("u: closed %d after a message over "
					         "signal_max_message, "
					         "expected error too_big or close 1009",
					         us->ws->close_code);
				closed = true;
				break;
			}
			if (us->ws->eof || vct_now_ms() > deadline)
				fail_msg(
				        "u: neither error too_big nor close 1009 within %d ms of a "
				        "message over signal_max_message",
				        VCS_MS);
			vcs_pump(us, 50);
		}
		if (closed) {
			vcs_expect_close(us, 1009, VCS_MS, "a message over signal_max_message");
			u2 = vcs_open(v, &u, "lm-u2", "u/2");
			vcs_join(u2, sid);
			i = marker(u2, ws, sid, "lm-after-big");
		} else {
			i = marker(us, ws, sid, "lm-after-big");
		}
	}
	vcs_expect_none(ws, 0, i, "a message over signal_max_message", "chat_message",
	                "{\"tag\":\"lm-big\"}");
	vcs_expect_metric_rise(v, &before, "too_big|size|big|large", 1,
	                       "a message over signal_max_message");
	vcs_metrics_free(&before);
	vcs_close_all();
	vct_vcd_stop_ok(v);
	free(ident);
	free(conf);
	free(c1);
	free(c2);
	vct_pass();
}

/* --- the message table ------------------------------------------------------------------------ */

static void test_message_table(void **state)
{
	static const char *const types[] = {
		"identify",
		"ping",
		"join_server",
		"leave_server",
		"server_users",
		"chat_message",
		"user_typing",
		"voice_state",
		"offer",
		"answer",
		"ice_candidate",
		"direct_message",
		"direct_call",
		"server_icon",
		"server_update",
		"account_sync",
		"voice_client_takeover",
		"identified",
		"auth_required",
		"auth_error",
		"error",
		"pong",
		"user_joined",
		"user_left",
		"account_sync_ack",
		"account_sync_reset",
		"account_sync_peer_online",
	};
	static const struct {
		const char *text, *ref;
	} bad[] = {
		{ "{\"type\":\"join_server\"}", "join_server" },
		{ "{\"type\":\"join_server\",\"serverId\":42}", "join_server" },
		{ "{\"type\":\"leave_server\",\"serverId\":[]}", "leave_server" },
		{ "{\"type\":\"chat_message\",\"message\":{}}", "chat_message" },
		{ "{\"type\":\"offer\",\"sdp\":{}}", "offer" },
		{ "{\"type\":\"direct_message\",\"targetUserId\":7}", "direct_message" },
		{ "{\"type\":\"account_sync\",\"clientInstanceId\":5,\"payload\":{}}",
		  "account_sync" },
		{ "{\"type\":\"server_icon\",\"targetUserId\":\"x\"}", "server_icon" },
	};
	vct_cmd_t r;
	vcs_user_t a;
	vcs_t *s;
	unsigned i;

	vct_runl(&r, NULL, vct_env("VCD"), "--list-messages", (char *)NULL);
	if (r.status != 0)
		fail_msg("vcd --list-messages exited %d: %s", r.status, r.err);
	for (size_t k = 0; k < sizeof(types) / sizeof(types[0]); k++) {
		bool found = false;
		size_t n = strlen(types[k]);
		for (const char *l = r.out; *l != '\0';) {
			if (strncmp(l, types[k], n) == 0 &&
			    (l[n] == ' ' || l[n] == '\t' || l[n] == '\n' || l[n] == '\0'))
				found = true;
			l += strcspn(l, "\n");
			l += *l == '\n';
		}
		if (!found)
			fail_msg("vcd --list-messages has no line for %s:\n%s", types[k], r.out);
	}
	vct_cmd_free(&r);
	/* The table's validation on the wire; the connection survives each. */
	vcs_register(vcd, &a, "mta");
	s = vcs_open(vcd, &a, "mt-1", "a");
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		char *what = vct_strf("error bad_message for %s", bad[k].text);
		vcs_send(s, "%s", bad[k].text);
		expect_error(s, "bad_message", bad[k].ref, what);
		free(what);
	}
	vcs_send(s, "not json at all");
	expect_error(s, "bad_message", NULL, "error bad_message for text that is not JSON");
	vcs_send(s, "[\"identify\"]");
	expect_error(s, "bad_message", NULL, "error bad_message for a JSON array");
	vcs_send(s, "{\"serverId\":\"x\"}");
	expect_error(s, "bad_message", NULL, "error bad_message for an object without type");
	vcs_send(s, "{\"type\":\"no_such_type\"}");
	expect_error(s, "unknown_type", "no_such_type", "error unknown_type");
	/* Types only vcd sends are not accepted from a client. */
	vcs_send(s, "{\"type\":\"user_joined\",\"serverId\":\"x\",\"oderId\":\"y\"}");
	i = vcs_take(s, "an error for a client sending user_joined", "error",
	             "{\"ref\":\"user_joined\"}");
	if (strcmp(vcs_str(s, i, "code"), "unknown_type") != 0 &&
	    strcmp(vcs_str(s, i, "code"), "bad_message") != 0)
		fail_msg("a client's user_joined: error %s, expected unknown_type or bad_message",
		         vcs_str(s, i, "code"));
	vcs_sync(s);
	if (s->ws->close_seen)
		fail_msg("a: closed %d after malformed messages, which only get errors",
		         s->ws->close_code);
	vct_pass();
}

/* --- main ----------------------------------------------------------------------------------------
 */

static int group_setup(void **state)
{
	db_url = vct_db_create("signal");
	vcd = vct_vcd_start("sig_main", db_url, MAIN_CONF);
	vct_vcd_keep(vcd);
	return 0;
}

static bool teardown_failed;

static int group_teardown(void **state)
{
	int rc = vct_vcd_finish(vcd);

	free(db_url);
	teardown_failed = rc != 0;
	return rc;
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, vct_setup, vcs_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_identified),
		T(test_identify_first),
		T(test_auth_errors),
		T(test_identify_timeout),
		T(test_identify_race),
		T(test_strict_order),
		T(test_join_not_member),
		T(test_join_and_leave),
		T(test_presence_per_identity),
		T(test_broadcasts),
		T(test_direct_relays),
		T(test_voice_takeover),
		T(test_rtc_relay),
		T(test_server_scoped_types),
		T(test_reidentify_tuple),
		T(test_account_sync),
		T(test_peer_online),
		T(test_catch_up),
		T(test_catch_up_too_old),
		T(test_catch_up_overflow),
		T(test_catch_up_numbers),
		T(test_revocation),
		T(test_rate_limit),
		T(test_limits),
		T(test_message_table),
	};
	int rc = cmocka_run_group_tests_name("signal", tests, group_setup, group_teardown);

	/* cmocka does not count a failed group teardown in its result. */
	return rc != 0 || teardown_failed ? 1 : 0;
}
