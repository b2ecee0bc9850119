/*
 * test_lobby_cluster.c — the media WebSocket /lobby on two vcd nodes that
 * share one nats-server (doc/lobby.md "Many nodes", videocall-rs-contract.md
 * §8.2, realtime-anchors.md §1 "Join notices and multi-node gaps"): what a
 * client sees must not depend on which node it reached.
 *
 *   relay        every packet reaches every other session of the room on
 *                both nodes exactly once, in each sender's order, with the
 *                sender's session id, never back to its sender
 *   members      a joiner on a node where the room is new hears of the
 *                members on the other node, and gets the room's start time
 *   started      MEETING_STARTED goes to the room once per meeting (as a
 *                raw NATS subscriber sees room.{id}.system), not once per node
 *   reconnect    a session that comes back on the other node within
 *                lobby_reconnect_grace: no PARTICIPANT_LEFT for the old
 *                session, no PARTICIPANT_JOINED for the new one
 *   meetings     /end on node A ends the sessions on both nodes (one
 *                MEETING_ENDED, close 4500); a kick on node A closes the
 *                user's sessions on both nodes with 4501
 *   raw NATS     a PacketWrapper published on room.{id}.system by a plain
 *                NATS client (a videocall.rs meeting backend) reaches every
 *                session on both nodes unchanged; one on room.{id}.{session}
 *                (a videocall.rs media server) reaches the participants,
 *                not the observers
 *   max_payload  with a nats-server of the case's own whose max_payload is
 *                small, a larger packet still reaches the sender's node's
 *                sessions and is counted, and a later small one still
 *                crosses to the other node
 *
 * Nodes A and B (VCM_CONF, NATS at $VCT_NATS_URL, grace GRACE_MS) serve
 * the cases; the max_payload case starts its own nats-server and two vcds.
 * Absence is proven by order: a marker from the same publisher that must
 * come after what must not have come.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <jansson.h>
#include <nats/nats.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "t/lib/vctest.h"
#include "t/lib/vctest_meetings.h"
#include "t/lib/vctest_ws.h"

#define SECRET VCM_SECRET
#define GRACE_MS 1500
#define WAIT VCL_MS
#define HOST "host@example.com"
#define GUEST "guest@example.com"
#define FRAMES 60        /* per sender in the relay case */
#define SMALL_MAX 65536  /* max_payload of the max_payload case's nats-server */
#define TOO_BIG "vcd_lobby_dropped_total{reason=\"nats_too_big\"}"

static char *db_url;
static vct_vcd_t *node_a, *node_b;
static bool teardown_failed;

/* --- helpers -------------------------------------------------------------------- */

static vcl_t *join_at(const vct_vcd_t *v, const char *user, const char *room)
{
	char *name = vct_strf("%s on %s", user, v->name);
	vcl_t *s = vcl_join(v->port, SECRET, user, room, name);

	free(name);
	return s;
}

/* A MEDIA packet's tag (MediaPacket.data), or NULL for anything else
 * (malloc'd). */
static char *tag_of(const vct_ws_msg_t *m)
{
	vct_pw_t pw;
	vct_media_t md;

	if (m->opcode != VCT_WS_BINARY || !vct_pw_decode(m->data, m->len, &pw) ||
	    pw.packet_type != VCT_PT_MEDIA || !vct_media_decode(pw.data.p, pw.data.len, &md))
		return NULL;
	return strndup((const char *)md.data.p, md.data.len);
}

/* Wait up to ms until s's inbox holds, at or after `from`, a message that
 * matches: its index (s's cursor does not move: messages from two nodes
 * come in any order between them). */
static unsigned seen(vcl_t *s, unsigned from, const vcl_match_t *m, unsigned ms,
                     const char *what)
{
	vcl_t probe = *s;

	probe.cursor = from;
	return vcl_wait(&probe, m, ms, what);
}

/* s gets PARTICIPANT_JOINED of `who` (any node) — the next one for `who`. */
static void expect_joined(vcl_t *s, const vcl_t *who, const char *what)
{
	unsigned i = seen(s, 2, VCL_EVENT(VCT_EV_PARTICIPANT_JOINED, who->user), WAIT, what);

	vcl_expect_member_event(s, i, VCT_EV_PARTICIPANT_JOINED, who);
}

/* Activate s; every session of `all` (s included) hears of it. */
static void activate_all(vcl_t *s, vcl_t **all, unsigned n)
{
	vcl_activate(s);
	for (unsigned i = 0; i < n; i++) {
		char *what = vct_strf("PARTICIPANT_JOINED of %s (%llu) at %s", s->user,
		                      (unsigned long long)s->session_id, all[i]->user);
		expect_joined(all[i], s, what);
		free(what);
	}
}

/* --- a plain NATS client (a videocall.rs backend or media server) ------------- */

static natsConnection *nats_open(const char *url)
{
	natsConnection *nc = NULL;
	natsStatus st = natsConnection_ConnectTo(&nc, url);

	if (st != NATS_OK)
		fail_msg("the test's NATS connection to %s: %s", url, natsStatus_GetText(st));
	return nc;
}

static void nats_publish(natsConnection *nc, const char *subject, const void *p, size_t n)
{
	natsStatus st = natsConnection_Publish(nc, subject, p, (int)n);

	if (st == NATS_OK)
		st = natsConnection_FlushTimeout(nc, 5000);
	if (st != NATS_OK)
		fail_msg("publishing %zu bytes on %s: %s", n, subject, natsStatus_GetText(st));
}

/* --- a nats-server with a config of the case's own ----------------------------- */

static pid_t nats_server_conf(int port, const char *extra)
{
	char *conf = vct_tmp_path("nats-%d.conf", port), *log = vct_tmp_path("nats-%d.log", port);
	char *text = vct_strf("host: 127.0.0.1\nport: %d\n%s", port, extra);
	uint64_t end;
	pid_t pid;
	int fd;

	vct_write_file(conf, text);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		execlp("nats-server", "nats-server", "-c", conf, (char *)NULL);
		_exit(127);
	}
	end = vct_now_ms() + 10000;
	while ((fd = vct_tcp_connect(port)) < 0) {
		if (vct_now_ms() > end || waitpid(pid, NULL, WNOHANG) == pid)
			fail_msg("nats-server -c %s did not listen on %d within 10 s (log %s)", conf,
			         port, log);
		vct_sleep_ms(10);
	}
	close(fd);
	free(conf);
	free(log);
	free(text);
	return pid;
}

/* --- relay ----------------------------------------------------------------------- */

/* After every sender's end marker reached s: the MEDIA packets of s's inbox
 * from `from` on are, per sender, exactly "<sender>-0" … "<sender>-N-1",
 * "<sender>-end", none of s's own, nothing unknown. */
static void check_relay(vcl_t *s, unsigned from, vcl_t **all, unsigned n)
{
	unsigned next[8] = { 0 };
	bool ended[8] = { false };

	for (unsigned i = from; i < s->ws->n; i++) {
		char *tag = tag_of(&s->ws->inbox[i]);
		unsigned k;
		if (tag == NULL)
			continue; /* MEETING packets */
		for (k = 0; k < n; k++) {
			size_t ul = strlen(all[k]->user);
			if (strncmp(tag, all[k]->user, ul) == 0 && tag[ul] == '-')
				break;
		}
		if (k == n)
			fail_msg("%s received media '%s' from nobody of the room", s->user, tag);
		if (all[k] == s)
			fail_msg("%s received its own media '%s' back", s->user, tag);
		const char *rest = tag + strlen(all[k]->user) + 1;
		if (ended[k])
			fail_msg("%s received '%s' after %s's end marker (a duplicate?)", s->user,
			         tag, all[k]->user);
		if (strcmp(rest, "end") == 0) {
			if (next[k] != FRAMES)
				fail_msg("%s got %s's end marker after %u of its %d packets", s->user,
				         all[k]->user, next[k], FRAMES);
			ended[k] = true;
		} else if (atoi(rest) != (int)next[k]) {
			fail_msg("%s received '%s' where %s-%u was due: lost, repeated or out of "
			         "order",
			         s->user, tag, all[k]->user, next[k]);
		} else {
			vct_pw_t pw;
			(void)vct_pw_decode(s->ws->inbox[i].data, s->ws->inbox[i].len, &pw);
			if (pw.session_id != all[k]->session_id)
				fail_msg("%s received '%s' with session_id %llu, expected %s's %llu",
				         s->user, tag, (unsigned long long)pw.session_id,
				         all[k]->user, (unsigned long long)all[k]->session_id);
			next[k]++;
		}
		free(tag);
	}
}

static void test_relay_across_nodes(void **state)
{
	const char *room = "cl-relay";
	vcl_t *all[4];
	vct_buf_t burst[4] = { { 0 } };
	unsigned from[4];

	all[0] = join_at(node_a, "a1@example.com", room);
	all[1] = join_at(node_b, "b1@example.com", room);
	all[2] = join_at(node_a, "a2@example.com", room);
	all[3] = join_at(node_b, "b2@example.com", room);
	for (unsigned k = 0; k < 4; k++)
		activate_all(all[k], all, 4);
	/* The activating heartbeats are relayed too: all in before counting. */
	for (unsigned r = 0; r < 4; r++) {
		for (unsigned k = 0; k < 4; k++) {
			char *tag = vct_strf("hello-%s", all[k]->user);
			if (k != r)
				seen(all[r], 2, VCL_TAG(tag), WAIT, "an activating heartbeat");
			free(tag);
		}
		from[r] = all[r]->ws->n;
	}
	/* Every sender's packets in one write, all senders at once. */
	for (unsigned k = 0; k < 4; k++) {
		for (unsigned i = 0; i <= FRAMES; i++) {
			vct_buf_t pkt = { 0 };
			char *tag = i < FRAMES ? vct_strf("%s-%u", all[k]->user, i)
			                       : vct_strf("%s-end", all[k]->user);
			vct_media_packet(&pkt, VCT_MT_VIDEO, all[k]->user, tag, 0);
			vct_ws_frame_bytes(&burst[k],
			                   &(vct_ws_out_t){ .opcode = VCT_WS_BINARY, .data = pkt.p,
			                                    .len = pkt.len });
			vct_buf_free(&pkt);
			free(tag);
		}
	}
	for (unsigned k = 0; k < 4; k++)
		if (!vct_ws_send_raw(all[k]->ws, burst[k].p, burst[k].len, 0))
			fail_msg("%s: cannot send its packets", all[k]->user);
	/* Each receiver waits for the three end markers, then checks. */
	for (unsigned r = 0; r < 4; r++) {
		for (unsigned k = 0; k < 4; k++) {
			if (k == r)
				continue;
			char *tag = vct_strf("%s-end", all[k]->user);
			char *what = vct_strf("%s's end marker (after %d packets), from %s", tag,
			                      FRAMES, k % 2 == r % 2 ? "this node" : "the other node");
			seen(all[r], from[r], VCL_TAG(tag), 3 * WAIT, what);
			free(tag);
			free(what);
		}
		check_relay(all[r], from[r], all, 4);
	}
	for (unsigned k = 0; k < 4; k++) {
		vct_buf_free(&burst[k]);
		vcl_leave(all[k]);
	}
	vct_pass();
}

/* --- members and start time ---------------------------------------------------- */

/* Wait (10 s) until `vcctl rooms list` on v shows `room` with started_ms
 * `want`: the node took the other node's answer to its sync (doc/lobby.md
 * "Many nodes"), so what it tells a joiner now is settled. */
static void wait_room_started(const vct_vcd_t *v, const char *room, uint64_t want)
{
	static const char *const words[] = { "rooms", "list", NULL };
	uint64_t end = vct_now_ms() + 10000;
	json_int_t got = -1;

	for (;;) {
		json_t *a = vct_vcctl_json(v, words), *e;
		size_t i;
		json_array_foreach(a, i, e)
		{
			if (json_is_string(json_object_get(e, "room")) &&
			    strcmp(json_string_value(json_object_get(e, "room")), room) == 0)
				got = json_integer_value(json_object_get(e, "started_ms"));
		}
		json_decref(a);
		if (got == (json_int_t)want)
			return;
		if (vct_now_ms() > end)
			fail_msg("vcctl rooms list on %s: room %s has started_ms %lld after 10 s, "
			         "expected the other node's %llu",
			         v->name, room, (long long)got, (unsigned long long)want);
		vct_sleep_ms(20);
	}
}

/* Wait until the raw subscriber s holds a system event `ev` for `target`. */
static void wait_event(vcm_sub_t *s, int ev, const char *target, const char *what)
{
	for (uint64_t end = vct_now_ms() + WAIT;; vct_sleep_ms(5)) {
		for (unsigned i = 0; i < vcm_sub_count(s); i++) {
			size_t len;
			uint8_t *b = vcm_sub_msg(s, i, &len, NULL);
			vcm_event_t e;
			bool hit = vcm_decode_event(b, len, &e) && e.event_type == ev &&
			           (target == NULL || strcmp(e.target, target) == 0);
			free(b);
			if (hit)
				return;
		}
		if (vct_now_ms() > end)
			fail_msg("NATS: no %s within %d ms", what, WAIT);
	}
}

static void test_joiner_learns_remote_members(void **state)
{
	const char *room = "cl-members";
	vcm_sub_t *sys = vcm_sub_open("room.cl-members.system");
	vcl_t *a1 = join_at(node_a, "a1@example.com", room), *j, *b1;
	vcl_t *two[2];
	unsigned i;

	vcl_activate(a1);
	expect_joined(a1, a1, "a1's own PARTICIPANT_JOINED");
	wait_event(sys, VCT_EV_PARTICIPANT_JOINED, a1->user, "a1's PARTICIPANT_JOINED");
	vcm_sub_close(sys);
	/* The room is new on node B: its first joiner hears of a1, from node
	 * A's answer to node B's sync (in its welcome, or right after when the
	 * answer comes later than LOBBY_SETTLE). */
	j = join_at(node_b, "joiner@example.com", room);
	i = seen(j, 2, VCL_EVENT(VCT_EV_PARTICIPANT_JOINED, a1->user), WAIT,
	         "PARTICIPANT_JOINED of a1, a member on the other node");
	vcl_expect_member_event(j, i, VCT_EV_PARTICIPANT_JOINED, a1);
	/* Once node B has node A's answer, a joiner there gets the room's start
	 * time and its member list first thing. */
	wait_room_started(node_b, room, a1->start_time_ms);
	b1 = join_at(node_b, "b1@example.com", room);
	if (b1->start_time_ms != a1->start_time_ms)
		fail_msg("MEETING_STARTED on node B has start_time_ms %llu, on node A %llu: the "
		         "room's start is when its first session connected, on any node",
		         (unsigned long long)b1->start_time_ms,
		         (unsigned long long)a1->start_time_ms);
	i = vcl_wait(b1, VCL_EVENT(VCT_EV_PARTICIPANT_JOINED, a1->user), WAIT,
	             "PARTICIPANT_JOINED of a1 for a joiner on node B");
	if (i != 2)
		fail_msg("b1's third message is not a1's PARTICIPANT_JOINED (that is #%u)", i);
	vcl_expect_member_event(b1, i, VCT_EV_PARTICIPANT_JOINED, a1);
	two[0] = a1;
	two[1] = j;
	activate_all(b1, two, 2);
	two[0] = a1;
	two[1] = b1;
	activate_all(j, two, 2);
	/* The joiner was announced once, when it became active (not when it
	 * joined); a1 was announced to the joiner once. */
	if (vcl_count(b1, 2, b1->ws->n, VCL_EVENT(VCT_EV_PARTICIPANT_JOINED, j->user)) != 1)
		fail_msg("b1 heard of the joiner %u times, expected once (at its activation)",
		         vcl_count(b1, 2, b1->ws->n, VCL_EVENT(VCT_EV_PARTICIPANT_JOINED, j->user)));
	if (vcl_count(j, 2, j->ws->n, VCL_EVENT(VCT_EV_PARTICIPANT_JOINED, a1->user)) != 1)
		fail_msg("the joiner heard of a1 %u times, expected once",
		         vcl_count(j, 2, j->ws->n, VCL_EVENT(VCT_EV_PARTICIPANT_JOINED, a1->user)));
	vcl_leave(j);
	vcl_leave(b1);
	vcl_leave(a1);
	vct_pass();
}

/* room.{id}.system as a NATS subscriber sees it: MEETING_STARTED once. */
static void test_meeting_started_once_per_meeting(void **state)
{
	const char *room = "cl-started";
	vcm_sub_t *sub = vcm_sub_open("room.cl-started.system");
	char *ot = vct_observer_token(SECRET, "watcher@example.com", room, "Watcher");
	vcl_t *a1, *b1, *a2, *ob;
	unsigned started = 0, joined = 0, n;

	a1 = join_at(node_a, "a1@example.com", room);
	/* An observer opens the room on node B (observers never start a
	 * meeting); once node B took node A's answer, members join there. */
	ob = vcl_open(node_b->port, ot, "watcher@example.com", room, "Watcher");
	wait_room_started(node_b, room, a1->start_time_ms);
	b1 = join_at(node_b, "b1@example.com", room);
	a2 = join_at(node_a, "a2@example.com", room);
	/* Markers after each node's welcomes: a JOINED published by each node. */
	vcl_activate(b1);
	vcl_activate(a2);
	expect_joined(a1, b1, "b1's PARTICIPANT_JOINED");
	expect_joined(a1, a2, "a2's PARTICIPANT_JOINED");
	/* Wait until the subscriber has both JOINEDs; then count. */
	for (uint64_t end = vct_now_ms() + WAIT; joined < 2; vct_sleep_ms(10)) {
		n = vcm_sub_count(sub);
		started = joined = 0;
		for (unsigned i = 0; i < n; i++) {
			size_t len;
			uint8_t *b = vcm_sub_msg(sub, i, &len, NULL);
			vcm_event_t e;
			if (vcm_decode_event(b, len, &e) && e.event_type == VCT_EV_MEETING_STARTED)
				started++;
			if (vcm_decode_event(b, len, &e) && e.event_type == VCT_EV_PARTICIPANT_JOINED)
				joined++;
			free(b);
		}
		if (vct_now_ms() > end)
			fail_msg("NATS room.cl-started.system: %u PARTICIPANT_JOINED after %d ms, "
			         "expected b1's and a2's",
			         joined, WAIT);
	}
	if (started != 1)
		fail_msg("NATS room.cl-started.system carried MEETING_STARTED %u times for one "
		         "meeting on two nodes, expected once",
		         started);
	/* Each session got its own MEETING_STARTED only (vcl_open read it):
	 * no second one before the JOINEDs. */
	vcl_expect_none(b1, 2, b1->ws->n, VCL_EVENT(VCT_EV_MEETING_STARTED, NULL),
	                "a second MEETING_STARTED");
	vcl_expect_none(a2, 2, a2->ws->n, VCL_EVENT(VCT_EV_MEETING_STARTED, NULL),
	                "a second MEETING_STARTED");
	/* The observer, there before b1, got a1's broadcast? No: a1 started the
	 * meeting before node B had the room. It hears of b1 and a2. */
	seen(ob, 2, VCL_EVENT(VCT_EV_PARTICIPANT_JOINED, a2->user), WAIT,
	     "a2's PARTICIPANT_JOINED at the observer on node B");
	vcl_expect_none(ob, 2, ob->ws->n, VCL_EVENT(VCT_EV_MEETING_STARTED, NULL),
	                "a second MEETING_STARTED at the observer");
	vcm_sub_close(sub);
	vcl_leave(a1);
	vcl_leave(b1);
	vcl_leave(a2);
	vcl_leave(ob);
	free(ot);
	vct_pass();
}

/* --- the grace across nodes ------------------------------------------------------- */

static void test_reconnect_on_other_node(void **state)
{
	const char *room = "cl-move", *mover = "mover@example.com";
	vcm_sub_t *ctl = vcm_sub_open("vcd.rooms.cl-move");
	vcl_t *w = join_at(node_a, "witness@example.com", room), *old, *now, *marker;
	vcl_t *both[2];
	uint64_t marker_session;
	char *marker_name;
	unsigned i, from;

	old = join_at(node_b, mover, room);
	both[0] = w;
	both[1] = old;
	activate_all(w, both, 2);
	activate_all(old, both, 2);
	/* The mover leaves node B; once node B has said so on NATS (a raw
	 * subscriber sees its "leaving"), it comes back on node A. */
	vcl_leave(old);
	for (uint64_t end = vct_now_ms() + WAIT;; vct_sleep_ms(5)) {
		bool seen = false;
		for (unsigned k = 0; k < vcm_sub_count(ctl) && !seen; k++) {
			size_t len;
			uint8_t *b = vcm_sub_msg(ctl, k, &len, NULL);
			json_t *j = json_loadb((const char *)b, len, 0, NULL);
			seen = j != NULL &&
			       json_is_string(json_object_get(j, "op")) &&
			       strcmp(json_string_value(json_object_get(j, "op")), "leaving") == 0;
			json_decref(j);
			free(b);
		}
		if (seen)
			break;
		if (vct_now_ms() > end)
			fail_msg("node B published no \"leaving\" on vcd.rooms.cl-move within %d ms "
			         "of the mover's close",
			         WAIT);
	}
	/* ... and once node A took it: node A answers a sync (doc/lobby.md, "Many
	 * nodes") after what came before it on vcd.rooms.*, the "leaving" too. */
	{
		natsConnection *nc = nats_open(vct_env("VCT_NATS_URL"));
		const char *sync = "{\"op\":\"sync\",\"node\":\"test_lobby_cluster\"}";
		bool answered = false;

		nats_publish(nc, "vcd.rooms.cl-move", sync, strlen(sync));
		for (uint64_t end = vct_now_ms() + WAIT; !answered; vct_sleep_ms(5)) {
			for (unsigned k = 0; k < vcm_sub_count(ctl) && !answered; k++) {
				size_t len;
				uint8_t *b = vcm_sub_msg(ctl, k, &len, NULL);
				json_t *j = json_loadb((const char *)b, len, 0, NULL);
				json_t *m = json_object_get(j, "members");
				size_t x;
				json_t *e;
				json_array_foreach(m, x, e)
				{
					const char *u = json_string_value(json_object_get(e, "user"));
					answered = answered || (u != NULL && strcmp(u, w->user) == 0);
				}
				json_decref(j);
				free(b);
			}
			if (!answered && vct_now_ms() > end)
				fail_msg("node A did not answer a sync on vcd.rooms.cl-move within %d ms",
				         WAIT);
		}
		natsConnection_Destroy(nc);
	}
	vcm_sub_close(ctl);
	from = w->ws->n;
	now = join_at(node_a, mover, room);
	vcl_send_media(now, VCT_MT_VIDEO, "mover-back", 0);
	i = vcl_wait(w, VCL_TAG("mover-back"), WAIT, "the mover's media from its new session");
	vcl_expect_none(w, from, i, VCL_EVENT(VCT_EV_PARTICIPANT_JOINED, mover),
	                "PARTICIPANT_JOINED for a session that came back within the grace");
	/* A marker on node B: its PARTICIPANT_LEFT comes after the mover's would
	 * have (same node, same grace, later). */
	marker = join_at(node_b, "marker@example.com", room);
	both[0] = w;
	both[1] = marker;
	activate_all(marker, both, 2);
	marker_session = marker->session_id;
	marker_name = vct_strf("%s", marker->name);
	vcl_leave(marker);
	i = vcl_wait(w, VCL_EVENT(VCT_EV_PARTICIPANT_LEFT, "marker@example.com"), 3 * GRACE_MS + WAIT,
	             "the marker's PARTICIPANT_LEFT after the grace");
	vcl_expect_none(w, from, i, VCL_EVENT(VCT_EV_PARTICIPANT_LEFT, mover),
	                "a ghost PARTICIPANT_LEFT for the mover's old session");
	vcl_expect_member_fields(w, i, VCT_EV_PARTICIPANT_LEFT, "marker@example.com",
	                         marker_session, marker_name);
	free(marker_name);
	vcl_leave(now);
	vcl_leave(w);
	vct_pass();
}

/* --- meetings act on both nodes ----------------------------------------------------- */

/* A meeting on node A (waiting room off): the host's and the guest's room
 * tokens, from /join. */
static void meeting(const char *room, char **host_token, char **guest_token)
{
	json_t *p;

	vcm_target(node_a);
	vcm_new_room(HOST, room, ",\"waiting_room_enabled\":false");
	p = vcm_join(HOST, room, "Host");
	*host_token = vct_strf("%s", vct_json_str(p, "room_token"));
	json_decref(p);
	p = vcm_join(GUEST, room, "Guest");
	*guest_token = vct_strf("%s", vct_json_str(p, "room_token"));
	json_decref(p);
}

/* After what came before: exactly one MEETING_ENDED, then close 4500. */
static void expect_ended(vcl_t *s, unsigned from, const char *what)
{
	char *w = vct_strf("close 4500 of %s", what);

	vct_ws_expect_close(s->ws, 4500, NULL, WAIT, w);
	if (vcl_count(s, from, s->ws->n, VCL_EVENT(VCT_EV_MEETING_ENDED, NULL)) != 1)
		fail_msg("%s got %u MEETING_ENDED before its close 4500, expected exactly one",
		         what, vcl_count(s, from, s->ws->n, VCL_EVENT(VCT_EV_MEETING_ENDED, NULL)));
	/* ... and it is the last message. */
	vcl_t probe = *s;
	probe.cursor = from;
	unsigned i = vcl_wait(&probe, VCL_EVENT(VCT_EV_MEETING_ENDED, NULL), 0, w);
	if (i + 1 != s->ws->n)
		fail_msg("%s: %u messages after MEETING_ENDED", what, s->ws->n - i - 1);
	free(w);
}

static void test_end_meeting_closes_both_nodes(void **state)
{
	const char *room = "cl-end";
	char *ht, *gt;
	vcl_t *h, *g, *g2;
	unsigned fh, fg, fg2;

	meeting(room, &ht, &gt);
	h = vcl_open(node_a->port, ht, HOST, room, "Host");
	g = vcl_open(node_b->port, gt, GUEST, room, "Guest");
	g2 = vcl_open(node_b->port, gt, GUEST, room, "Guest");
	vcl_activate(h);
	vcl_activate(g);
	expect_joined(h, g, "the guest's PARTICIPANT_JOINED, from node B");
	expect_joined(g, h, "the host's PARTICIPANT_JOINED, from node A");
	fh = h->ws->n;
	fg = g->ws->n;
	fg2 = g2->ws->n;
	json_decref(vcm_ok(HOST, "POST", room, "end", NULL, 200));
	expect_ended(h, fh, "the host on node A");
	expect_ended(g, fg, "the guest on node B");
	expect_ended(g2, fg2, "the guest's second session on node B");
	free(ht);
	free(gt);
	vct_pass();
}

static void test_kick_closes_both_nodes(void **state)
{
	const char *room = "cl-kick";
	char *ht, *gt, *body = vct_strf("{\"user_id\":\"%s\"}", GUEST);
	vcl_t *h, *ga, *gb, *o;
	json_t *p;
	unsigned i;

	meeting(room, &ht, &gt);
	h = vcl_open(node_a->port, ht, HOST, room, "Host");
	ga = vcl_open(node_a->port, gt, GUEST, room, "Guest");
	gb = vcl_open(node_b->port, gt, GUEST, room, "Guest");
	o = join_at(node_b, "other@example.com", room);
	vcl_activate(gb);
	expect_joined(h, gb, "the guest's PARTICIPANT_JOINED, from node B");
	p = vcm_ok(HOST, "POST", room, "kick", body, 200);
	json_decref(p);
	vct_ws_expect_close(gb->ws, 4501, NULL, WAIT, "the kicked guest's session on node B");
	vct_ws_expect_close(ga->ws, 4501, NULL, WAIT, "the kicked guest's session on node A");
	/* The others stay: the host hears of the kick, and still relays. */
	i = vcl_wait(h, VCL_EVENT(VCT_EV_PARTICIPANT_LEFT, GUEST), WAIT,
	             "PARTICIPANT_LEFT of the kicked guest");
	(void)i;
	vcl_send_media(h, VCT_MT_VIDEO, "after-kick", 0);
	vcl_wait(o, VCL_TAG("after-kick"), WAIT, "the host's media on node B after the kick");
	vcl_leave(h);
	vcl_leave(o);
	free(ht);
	free(gt);
	free(body);
	vct_pass();
}

/* --- NATS publishers other than vcd ---------------------------------------------------- */

static void test_raw_nats_packets(void **state)
{
	const char *room = "cl-raw";
	natsConnection *nc = nats_open(vct_env("VCT_NATS_URL"));
	vcl_t *a = join_at(node_a, "a1@example.com", room);
	vcl_t *b = join_at(node_b, "b1@example.com", room);
	char *ot = vct_observer_token(SECRET, "watcher@example.com", room, "Watcher");
	vcl_t *o = vcl_open(node_b->port, ot, "watcher@example.com", room, "Watcher");
	vcl_t *all[3] = { a, b, o };
	vct_buf_t sys = { 0 }, media = { 0 }, marker = { 0 };
	/* A system event as a videocall.rs backend publishes it, with a field
	 * vcd does not know (field 15): relayed unchanged all the same. */
	vct_mp_in_t m = { .event_type = VCT_EV_PARTICIPANT_ADMITTED,
		          .room_id = room,
		          .target_user_id = "someone@example.com",
		          .message = "from a plain NATS client" };
	static const uint8_t unknown_field[] = { 0x78, 0x2a }; /* field 15, varint 42 */

	vct_system_packet(&sys, &m);
	sys.p = realloc(sys.p, sys.len + sizeof(unknown_field));
	memcpy(sys.p + sys.len, unknown_field, sizeof(unknown_field));
	sys.len += sizeof(unknown_field);
	sys.cap = sys.len;
	nats_publish(nc, "room.cl-raw.system", sys.p, sys.len);
	for (unsigned k = 0; k < 3; k++) {
		char *what = vct_strf("the raw system packet at %s", all[k]->user);
		vcl_wait(all[k], VCL_BYTES(sys.p, sys.len), WAIT, what);
		free(what);
	}
	/* Media from a session of another media server: to the participants,
	 * byte for byte, not to the observer. */
	vct_media_packet(&media, VCT_MT_VIDEO, "remote@example.com", "from-another-server", 4242);
	nats_publish(nc, "room.cl-raw.4242", media.p, media.len);
	m.event_type = VCT_EV_WAITING_ROOM_UPDATED;
	m.target_user_id = NULL;
	m.message = "marker";
	vct_system_packet(&marker, &m);
	nats_publish(nc, "room.cl-raw.system", marker.p, marker.len);
	vcl_wait(a, VCL_BYTES(media.p, media.len), WAIT, "the raw media packet, unchanged");
	vcl_wait(b, VCL_BYTES(media.p, media.len), WAIT, "the raw media packet, unchanged");
	{
		unsigned from = o->cursor;
		unsigned i = vcl_wait(o, VCL_BYTES(marker.p, marker.len), WAIT,
		                      "the raw system marker at the observer");
		vcl_expect_none(o, from, i, VCL_TYPE(VCT_PT_MEDIA),
		                "media at an observer (it gets MEETING packets only)");
	}
	vct_buf_free(&sys);
	vct_buf_free(&media);
	vct_buf_free(&marker);
	natsConnection_Destroy(nc);
	free(ot);
	vct_pass();
}

/* --- nats-server's max_payload ------------------------------------------------------- */

static void test_packet_over_max_payload(void **state)
{
	const char *room = "cl-big";
	int port = vct_free_port();
	pid_t ns = nats_server_conf(port, "max_payload: 65536\n");
	char *extra = vct_strf("%snats_url = nats://127.0.0.1:%d\n", VCM_CONF, port);
	vct_vcd_t *c = vct_vcd_start("cluster_big_c", db_url, extra);
	vct_vcd_t *d = vct_vcd_start("cluster_big_d", db_url, extra);
	vcl_t *sender, *local, *remote, *all[3];
	size_t big_len = 3 * SMALL_MAX;
	char *big = malloc(big_len + 1);
	vct_buf_t pkt = { 0 };
	double before;
	unsigned i;

	vcm_wait_nats(c);
	vcm_wait_nats(d);
	sender = join_at(c, "sender@example.com", room);
	local = join_at(c, "local@example.com", room);
	remote = join_at(d, "remote@example.com", room);
	all[0] = sender;
	all[1] = local;
	all[2] = remote;
	for (unsigned k = 0; k < 3; k++)
		activate_all(all[k], all, 3);
	before = vct_metric_get(c->port, TOO_BIG);
	if (before < 0)
		fail_msg("/metrics of %s has no %s", c->name, TOO_BIG);
	/* A packet three times max_payload, then a small marker. */
	memset(big, 'x', big_len);
	memcpy(big, "big-", 4);
	big[big_len] = '\0';
	vct_media_packet(&pkt, VCT_MT_VIDEO, sender->user, big, 0);
	vcl_send(sender, pkt.p, pkt.len);
	vcl_send_media(sender, VCT_MT_VIDEO, "small-after-big", 0);
	i = vcl_wait(local, VCL_TAG(big), WAIT, "the big packet on the sender's node");
	vcl_wait(local, VCL_TAG("small-after-big"), WAIT, "the marker after it, same node");
	i = vcl_wait(remote, VCL_TAG("small-after-big"), WAIT,
	             "the marker on the other node (NATS still works)");
	vcl_expect_none(remote, 2, i, VCL_TAG(big),
	                "a packet over max_payload on the other node");
	if (vct_metric_get(c->port, TOO_BIG) != before + 1)
		fail_msg("%s went from %g to %g, expected one more", TOO_BIG, before,
		         vct_metric_get(c->port, TOO_BIG));
	vct_ws_close_all();
	vct_vcd_stop_ok(c);
	vct_vcd_stop_ok(d);
	kill(ns, SIGKILL);
	waitpid(ns, NULL, 0);
	vct_buf_free(&pkt);
	free(big);
	free(extra);
	vct_pass();
}

/* --- main ---------------------------------------------------------------------------- */

static int group_setup(void **state)
{
	char *extra = vct_strf("%snats_url = %s\nlobby_reconnect_grace = %dms\n", VCM_CONF,
	                       vct_env("VCT_NATS_URL"), GRACE_MS);

	vcm_init();
	db_url = vct_db_create("lobby_cluster");
	node_a = vct_vcd_start("lobby_node_a", db_url, extra);
	node_b = vct_vcd_start("lobby_node_b", db_url, extra);
	vct_vcd_keep(node_a);
	vct_vcd_keep(node_b);
	vcm_wait_nats(node_a);
	vcm_wait_nats(node_b);
	vcm_target(node_a);
	free(extra);
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

#define T(fn) cmocka_unit_test_setup_teardown(fn, vct_setup, vcl_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_relay_across_nodes),
		T(test_joiner_learns_remote_members),
		T(test_meeting_started_once_per_meeting),
		T(test_reconnect_on_other_node),
		T(test_end_meeting_closes_both_nodes),
		T(test_kick_closes_both_nodes),
		T(test_raw_nats_packets),
		T(test_packet_over_max_payload),
	};
	int rc = cmocka_run_group_tests_name("lobby_cluster", tests, group_setup, group_teardown);

	/* cmocka does not count a failed group teardown (a node that did not
	 * exit 0 on SIGTERM) in its result. */
	return rc != 0 || teardown_failed ? 1 : 0;
}
