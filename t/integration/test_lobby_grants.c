/*
 * test_lobby_grants.c — the room token's can_publish_sources on /lobby
 * (doc/external.md "Grants in the room token", doc/lobby.md "Grants")
 * against two real vcd nodes sharing one nats-server, with two WebSocket
 * clients: a publisher whose token carries the claim (or not), and a
 * receiver whose token does not.
 *
 *   relay      the publisher sends one packet of each kind (VIDEO, AUDIO,
 *              SCREEN, HEARTBEAT, RTT, KEYFRAME_REQUEST, a MEDIA packet whose
 *              MediaPacket does not parse, media_type 9, no media_type,
 *              RSA_PUB_KEY, CONNECTION, bytes that are no PacketWrapper) and
 *              a DIAGNOSTICS marker last; the receiver gets exactly what the
 *              claim allows, in order, and vcd_lobby_dropped_total{reason=
 *              "not_granted"} rises by exactly the number withheld; the RTT
 *              probe is echoed to the publisher whatever the claim
 *   claims     microphone only; absent (a videocall.rs token: everything);
 *              [] and only names without packets (no media at all); camera
 *              and screen_share; the three sources with packets (media vcd
 *              cannot read passes); an owner's token with all four
 *   activation the publisher's first packet is withheld VIDEO: it is
 *              announced (PARTICIPANT_JOINED) all the same
 *   refusal    a claim that is not an array of strings: 403 with the body of
 *              every malformed token
 *   cluster    publisher on node A, receiver on node B: node A withholds, so
 *              a raw NATS subscriber of room.{id}.{session} sees only what
 *              was allowed, and node B counts nothing
 *
 * Absence is proven by the marker, sent last by the same publisher on the
 * same connection: every wait is for a condition, bounded, and says what it
 * awaited.
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
#include "t/lib/vctest_meetings.h"
#include "t/lib/vctest_ws.h"

#define SECRET VCM_SECRET
#define WAIT VCL_MS
#define UNUSUAL "We detected unusual activity from your browser. This incident has been logged."
#define NOT_GRANTED "vcd_lobby_dropped_total{reason=\"not_granted\"}"
#define PUB "pub@example.com"
#define RECV "recv@example.com"
#define MARK "DIAGNOSTICS:mark"

/* What every case sends, in order, after the first packet (VIDEO v1). */
#define EVERYTHING                                                                                 \
	"VIDEO:v1 AUDIO:a1 SCREEN:s1 HEARTBEAT:h1 KEYFRAME_REQUEST:k1 MEDIA? MT9:u1 MT0:n1 "       \
	"RSA_PUB_KEY:rsa1 CONNECTION:conn1 opaque " MARK
/* What no claim can withhold. */
#define NO_MEDIA "HEARTBEAT:h1 KEYFRAME_REQUEST:k1 RSA_PUB_KEY:rsa1 CONNECTION:conn1 " MARK

static char *db_url;
static vct_vcd_t *node_a, *node_b;
static bool teardown_failed;

/* --- helpers -------------------------------------------------------------- */

/* A room token for user; sources: the JSON text of can_publish_sources,
 * NULL for none; owner adds Meet's owner claims. */
static char *token_with(const char *user, const char *room, const char *sources, bool owner)
{
	json_t *c = vct_room_claims(user, room, user);
	json_error_t err;
	char *t;

	if (sources != NULL) {
		json_t *s = json_loads(sources, JSON_DECODE_ANY, &err);

		if (s == NULL)
			fail_msg("test JSON '%s': %s", sources, err.text);
		json_object_set_new(c, "can_publish_sources", s);
	}
	if (owner) {
		json_object_set_new(c, "room_role", json_string("owner"));
		json_object_set_new(c, "room_admin", json_true());
		json_object_set_new(c, "can_publish", json_true());
		json_object_set_new(c, "is_host", json_true());
	}
	t = vct_jwt(c, SECRET);
	json_decref(c);
	return t;
}

static double metric(const vct_vcd_t *v, const char *sample)
{
	double x = vct_metric_get(v->port, sample);

	if (x < 0)
		fail_msg("/metrics of %s has no sample %s", v->name, sample);
	return x;
}

/* One received message as a word: "AUDIO:a1" (MEDIA: media type and tag),
 * "MEDIA?" (MediaPacket unreadable), "MT9:u1" (an unknown media type),
 * "RSA_PUB_KEY:rsa1" (other types: type and data), "opaque" (no
 * PacketWrapper); NULL for MEETING packets (the room's notices). */
static char *label(const vct_ws_msg_t *m)
{
	static const char *const media[] = { "MT0",       "VIDEO", "AUDIO",           "SCREEN",
		                             "HEARTBEAT", "RTT",   "KEYFRAME_REQUEST" };
	vct_pw_t pw;
	vct_media_t mp;

	if (!vct_pw_decode(m->data, m->len, &pw))
		return vct_strf("opaque");
	if (pw.packet_type == VCT_PT_MEETING || pw.packet_type == VCT_PT_SESSION_ASSIGNED)
		return NULL;
	if (pw.packet_type != VCT_PT_MEDIA)
		return vct_strf("%s:%.*s", vct_pt_name(pw.packet_type), (int)pw.data.len,
		                (const char *)pw.data.p);
	if (!vct_media_decode(pw.data.p, pw.data.len, &mp))
		return vct_strf("MEDIA?");
	if (mp.media_type < sizeof(media) / sizeof(media[0]))
		return vct_strf("%s:%.*s", media[mp.media_type], (int)mp.data.len,
		                (const char *)mp.data.p);
	return vct_strf("MT%llu:%.*s", (unsigned long long)mp.media_type, (int)mp.data.len,
	                (const char *)mp.data.p);
}

/* The labels of s's inbox from message `from` on, space-separated, up to
 * the first `last` (included); sets *found when it was there. */
static char *labels(const vct_ws_t *ws, unsigned from, const char *last, bool *found)
{
	char *out = vct_strf("%s", "");

	*found = false;
	for (unsigned i = from; i < ws->n && !*found; i++) {
		char *l = label(&ws->inbox[i]), *next;

		if (l == NULL)
			continue;
		next = vct_strf("%s%s%s", out, out[0] ? " " : "", l);
		*found = strcmp(l, last) == 0;
		free(out);
		free(l);
		out = next;
	}
	return out;
}

/* Wait up to WAIT for `last` among ws's messages from `from` on; fail,
 * saying what, when it does not come. The labels up to it (malloc'd). */
static char *wait_labels(vct_ws_t *ws, unsigned from, const char *last, const char *what)
{
	uint64_t until = vct_now_ms() + WAIT;
	bool found;
	char *got;

	for (;;) {
		got = labels(ws, from, last, &found);
		if (found)
			return got;
		if (vct_now_ms() >= until || vct_ws_pump(ws, 100) < 0)
			fail_msg("%s: '%s' did not arrive within %d ms; got '%s'", what, last, WAIT,
			         got);
		free(got);
	}
}

static void send_pw(vcl_t *s, uint64_t type, const void *data, size_t len)
{
	vct_buf_t b = { 0 };

	vct_pw_encode(&b, type, s->user, strlen(s->user), data, len, 0);
	vcl_send(s, b.p, b.len);
	vct_buf_free(&b);
}

/* Everything but the first packet (VIDEO v1, sent by the caller), the
 * DIAGNOSTICS marker last. */
static void send_the_rest(vcl_t *s)
{
	static const struct {
		uint64_t type;
		const char *tag;
	} media[] = {
		{ VCT_MT_AUDIO, "a1" },
		{ VCT_MT_SCREEN, "s1" },
		{ VCT_MT_HEARTBEAT, "h1" },
		{ VCT_MT_RTT, "r1" },
		{ VCT_MT_KEYFRAME_REQUEST, "k1" },
	};
	vct_buf_t b = { 0 };

	for (size_t i = 0; i < sizeof(media) / sizeof(media[0]); i++)
		vcl_send_media(s, media[i].type, media[i].tag, 0);
	send_pw(s, VCT_PT_MEDIA, "\x08\x80", 2); /* media_type cut short */
	vcl_send_media(s, 9, "u1", 0);
	vct_media_encode(&b, 0, s->user, "n1", 2); /* media_type left out */
	send_pw(s, VCT_PT_MEDIA, b.p, b.len);
	vct_buf_free(&b);
	send_pw(s, VCT_PT_RSA_PUB_KEY, "rsa1", 4);
	send_pw(s, VCT_PT_CONNECTION, "conn1", 5);
	vcl_send(s, "\x08\x80", 2); /* not a PacketWrapper */
	send_pw(s, VCT_PT_DIAGNOSTICS, "mark", 4);
}

/*
 * In a room of its own on v: a receiver without the claim, then the
 * publisher with `sources` (see token_with), whose first packet is VIDEO
 * v1; the receiver must hear PARTICIPANT_JOINED of the publisher (activated
 * by that packet, withheld or not), then exactly `want` (labels), and the
 * not_granted counter must rise by `drops`. The publisher's RTT probe comes
 * back to it.
 */
static void run_tokens(const char *room, const char *rt, const char *pt, const char *what,
                       const char *want, unsigned drops);

static void run_case(const char *room, const char *sources, bool owner, const char *want,
                     unsigned drops)
{
	char *rt = token_with(RECV, room, NULL, false);
	char *pt = token_with(PUB, room, sources, owner);
	char *what = vct_strf("claim %s", sources ? sources : "absent");

	run_tokens(room, rt, pt, what, want, drops);
	free(what);
	free(rt);
	free(pt);
}

/* run_case with the receiver's and the publisher's room tokens given. */
static void run_tokens(const char *room, const char *rt, const char *pt, const char *what,
                       const char *want, unsigned drops)
{
	vcl_t *recv = vcl_open(node_a->port, rt, RECV, room, RECV), *pub;
	double before = metric(node_a, NOT_GRANTED), after;
	char *got;
	unsigned from;

	vcl_activate(recv);
	pub = vcl_open(node_a->port, pt, PUB, room, PUB);
	vcl_send_media(pub, VCT_MT_VIDEO, "v1", 0);
	vcl_wait(recv, VCL_EVENT(VCT_EV_PARTICIPANT_JOINED, PUB), WAIT,
	         "PARTICIPANT_JOINED of the publisher, whose first packet was VIDEO");
	from = 2;
	send_the_rest(pub);
	got = wait_labels(recv->ws, from, MARK, what);
	if (strcmp(got, want) != 0)
		fail_msg("%s: the receiver got\n  '%s'\nexpected\n  '%s'", what, got, want);
	vcl_wait(pub, &(vcl_match_t){ .type = VCT_PT_MEDIA, .tag = "r1" }, WAIT,
	         "the echo of the publisher's RTT probe");
	after = metric(node_a, NOT_GRANTED);
	if (after - before != drops)
		fail_msg("%s: %s rose by %.0f, expected %u", what, NOT_GRANTED, after - before,
		         drops);
	free(got);
}

/* --- relay by claim -------------------------------------------------------- */

/* The case of the issue: microphone only. */
static void test_microphone_only(void **state)
{
	run_case(
	        "gr-mic", "[\"microphone\"]", false,
	        "AUDIO:a1 HEARTBEAT:h1 KEYFRAME_REQUEST:k1 RSA_PUB_KEY:rsa1 CONNECTION:conn1 " MARK,
	        6 /* v1, s1, MEDIA?, MT9, MT0, opaque */);
	vct_pass();
}

/* packet_type is an int32: MEDIA + 2^32 is MEDIA to the receiver's
 * decoder, so it is withheld like any MEDIA packet the claim does not
 * grant (here a VIDEO from a microphone-only publisher). */
static void test_packet_type_above_32_bits(void **state)
{
	const char *room = "gr-wide";
	char *rt = token_with(RECV, room, NULL, false);
	char *pt = token_with(PUB, room, "[\"microphone\"]", false);
	vcl_t *recv = vcl_open(node_a->port, rt, RECV, room, RECV), *pub;
	vct_buf_t b = { 0 };
	double before;
	char *got;

	vcl_activate(recv);
	pub = vcl_open(node_a->port, pt, PUB, room, PUB);
	vcl_send_media(pub, VCT_MT_AUDIO, "a1", 0);
	vcl_wait(recv, VCL_EVENT(VCT_EV_PARTICIPANT_JOINED, PUB), WAIT,
	         "PARTICIPANT_JOINED of the publisher");
	before = metric(node_a, NOT_GRANTED);
	vct_media_encode(&b, VCT_MT_VIDEO, PUB, "v9", 2);
	send_pw(pub, VCT_PT_MEDIA + (1ULL << 32), b.p, b.len);
	vct_buf_free(&b);
	send_pw(pub, VCT_PT_DIAGNOSTICS, "mark", 4);
	got = wait_labels(recv->ws, 0, MARK, "MEDIA + 2^32");
	assert_string_equal(got, "AUDIO:a1 " MARK);
	assert_int_equal(metric(node_a, NOT_GRANTED) - before, 1);
	free(got);
	free(rt);
	free(pt);
	vct_pass();
}

/* A token of a videocall.rs backend (or of vcd before grants): everything. */
static void test_no_claim_relays_everything(void **state)
{
	run_case("gr-compat", NULL, false, EVERYTHING, 0);
	vct_pass();
}

static void test_empty_array_publishes_no_media(void **state)
{
	run_case("gr-empty", "[]", false, NO_MEDIA, 7);
	vct_pass();
}

/* Unknown names are ignored; screen_share_audio has no packet to allow. */
static void test_only_sources_without_packets(void **state)
{
	run_case("gr-unknown", "[\"screen_share_audio\",\"hologram\",\"Camera\"]", false, NO_MEDIA,
	         7);
	vct_pass();
}

static void test_camera_and_screen(void **state)
{
	run_case("gr-camscreen", "[\"screen_share\",\"camera\"]", false,
	         "VIDEO:v1 SCREEN:s1 HEARTBEAT:h1 KEYFRAME_REQUEST:k1 RSA_PUB_KEY:rsa1 "
	         "CONNECTION:conn1 " MARK,
	         5 /* a1, MEDIA?, MT9, MT0, opaque */);
	vct_pass();
}

/* The three sources with packets: what vcd cannot read passes too. */
static void test_every_source_with_packets(void **state)
{
	run_case("gr-three", "[\"camera\",\"microphone\",\"screen_share\"]", false, EVERYTHING, 0);
	vct_pass();
}

/* The token vcd gives a meeting's owner (doc/external.md). */
static void test_owner_all_four(void **state)
{
	run_case("gr-owner", "[\"camera\",\"microphone\",\"screen_share\",\"screen_share_audio\"]",
	         true, EVERYTHING, 0);
	vct_pass();
}

/* --- the upgrade ----------------------------------------------------------- */

static void test_malformed_claim_refused(void **state)
{
	static const char *const claims[] = {
		"null",
		"\"microphone\"",
		"true",
		"1",
		"{\"camera\":true}",
		"[1]",
		"[\"camera\",null]",
		"[[\"microphone\"]]",
	};
	unsigned bad = 0;

	for (size_t i = 0; i < sizeof(claims) / sizeof(claims[0]); i++) {
		char *t = token_with(PUB, "gr-bad", claims[i], false);
		char *target = vct_lobby_target(t);
		vct_resp_t r;
		vct_ws_t *ws = vct_ws_try(node_a->port, target, NULL, &r);

		if (ws != NULL) {
			fprintf(stderr,
			        "MISMATCH: can_publish_sources %s: the upgrade was granted\n",
			        claims[i]);
			vct_ws_free(ws);
			bad++;
		} else if (r.status != 403 || r.body == NULL || strcmp(r.body, UNUSUAL) != 0) {
			fprintf(stderr, "MISMATCH: can_publish_sources %s: %d '%s', expected 403\n",
			        claims[i], r.status, r.body ? r.body : "");
			bad++;
		}
		vct_resp_free(&r);
		free(target);
		free(t);
	}
	if (bad > 0)
		fail_msg("%u malformed can_publish_sources claim(s) were not refused with 403 '%s' "
		         "(each MISMATCH line above)",
		         bad, UNUSUAL);
	vct_pass();
}

/* --- two nodes --------------------------------------------------------------- */

/* Node A withholds: what reaches NATS for the publisher's session is only
 * what was allowed, node B gets only that, and counts nothing. */
static void test_withheld_at_the_senders_node(void **state)
{
	const char *room = "gr-cluster";
	const char *want =
	        "AUDIO:a1 HEARTBEAT:h1 KEYFRAME_REQUEST:k1 RSA_PUB_KEY:rsa1 CONNECTION:conn1 " MARK;
	char *rt = token_with(RECV, room, NULL, false),
	     *pt = token_with(PUB, room, "[\"microphone\"]", false);
	vcl_t *recv = vcl_open(node_b->port, rt, RECV, room, RECV), *pub;
	double a0 = metric(node_a, NOT_GRANTED), b0 = metric(node_b, NOT_GRANTED);
	char *subject, *got, *raw = vct_strf("%s", "");
	vcm_sub_t *sub;
	unsigned n;

	vcl_activate(recv);
	pub = vcl_open(node_a->port, pt, PUB, room, PUB);
	subject = vct_strf("room.%s.%llu", room, (unsigned long long)pub->session_id);
	sub = vcm_sub_open(subject);
	vcl_send_media(pub, VCT_MT_VIDEO, "v1", 0);
	vcl_wait(recv, VCL_EVENT(VCT_EV_PARTICIPANT_JOINED, PUB), WAIT,
	         "on node B, PARTICIPANT_JOINED of the publisher on node A");
	send_the_rest(pub);
	got = wait_labels(recv->ws, 2, MARK, "node B's receiver");
	if (strcmp(got, want) != 0)
		fail_msg("node B's receiver got\n  '%s'\nexpected\n  '%s'", got, want);
	/* The raw subscriber: every packet node A published for the session,
	 * up to the marker (six words in want). */
	n = vcm_sub_wait(sub, 6, WAIT);
	for (unsigned i = 0; i < n; i++) {
		size_t len;
		uint8_t *b = vcm_sub_msg(sub, i, &len, NULL);
		vct_ws_msg_t m = { .opcode = VCT_WS_BINARY, .data = b, .len = len };
		char *l = label(&m),
		     *next = vct_strf("%s%s%s", raw, raw[0] ? " " : "", l ? l : "?");

		free(raw);
		raw = next;
		free(l);
		free(b);
	}
	if (strcmp(raw, want) != 0)
		fail_msg("NATS %s carried\n  '%s'\nexpected\n  '%s'", subject, raw, want);
	if (metric(node_a, NOT_GRANTED) - a0 != 6)
		fail_msg("node A's %s rose by %.0f, expected 6", NOT_GRANTED,
		         metric(node_a, NOT_GRANTED) - a0);
	if (metric(node_b, NOT_GRANTED) != b0)
		fail_msg("node B's %s moved (%.0f → %.0f): it should never see a withheld packet",
		         NOT_GRANTED, b0, metric(node_b, NOT_GRANTED));
	vcm_sub_close(sub);
	free(subject);
	free(got);
	free(raw);
	free(rt);
	free(pt);
	vct_pass();
}

/* End to end: the meeting's configuration, through /join's room tokens, on
 * /lobby. A guest of a meeting that lets others publish only their
 * microphone is held to it (the owner's token granting all four is
 * test_external_rooms' test_token_grants). */
static void test_through_the_meeting_api(void **state)
{
	const char *room = "gr-api";
	json_t *j;
	char *owner_token, *guest_token;

	vcm_target(node_a);
	vcm_new_room(RECV, room,
	             ",\"waiting_room_enabled\":false,"
	             "\"configuration\":{\"can_publish_sources\":[\"microphone\"]}");
	j = vcm_join(RECV, room, "Owner");
	owner_token = vct_strf("%s", vct_json_str(j, "room_token"));
	json_decref(j);
	j = vcm_join(PUB, room, "Guest");
	guest_token = vct_strf("%s", vct_json_str(j, "room_token"));
	json_decref(j);
	run_tokens(room, owner_token, guest_token, "a guest of a microphone-only meeting",
	           "AUDIO:a1 HEARTBEAT:h1 KEYFRAME_REQUEST:k1 RSA_PUB_KEY:rsa1 CONNECTION:conn1 " MARK,
	           6);
	free(owner_token);
	free(guest_token);
	vct_pass();
}

/* --- main ------------------------------------------------------------------ */

static int group_setup(void **state)
{
	char *extra = vct_strf("%snats_url = %s\n", VCM_CONF, vct_env("VCT_NATS_URL"));

	vcm_init();
	db_url = vct_db_create("lobby_grants");
	node_a = vct_vcd_start("grants_node_a", db_url, extra);
	node_b = vct_vcd_start("grants_node_b", db_url, extra);
	vct_vcd_keep(node_a);
	vct_vcd_keep(node_b);
	vcm_wait_nats(node_a);
	vcm_wait_nats(node_b);
	free(extra);
	return 0;
}

static int group_teardown(void **state)
{
	int rc;

	vct_ws_close_all();
	rc = vct_vcd_finish(node_a);
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
		T(test_microphone_only),
		T(test_packet_type_above_32_bits),
		T(test_no_claim_relays_everything),
		T(test_empty_array_publishes_no_media),
		T(test_only_sources_without_packets),
		T(test_camera_and_screen),
		T(test_every_source_with_packets),
		T(test_owner_all_four),
		T(test_malformed_claim_refused),
		T(test_withheld_at_the_senders_node),
		T(test_through_the_meeting_api),
	};
	int rc;

	if (getenv("VCT_FILTER") != NULL)
		cmocka_set_test_filter(getenv("VCT_FILTER"));
	rc = cmocka_run_group_tests_name("lobby_grants", tests, group_setup, group_teardown);
	/* cmocka does not count a failed group teardown in its result. */
	return rc != 0 || teardown_failed ? 1 : 0;
}
