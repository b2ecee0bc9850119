/*
 * test_grants.c — can_publish_sources as a bitmask (actors/grants.c): the
 * claim's forms (absent, arrays, unknown names, the wrong types), the source
 * each media type needs, and the rule of /lobby (a packet passes when the
 * mask holds what it needs) on MediaPacket bytes read by wire/proto.c, as
 * actors/participant.c applies it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/grants.h"
#include "wire/proto.h"

#define MIC VC_GRANT_MICROPHONE
#define CAM VC_GRANT_CAMERA
#define SCREEN VC_GRANT_SCREEN_SHARE
#define SCREEN_AUDIO VC_GRANT_SCREEN_SHARE_AUDIO

static void test_names(void **state)
{
	static const struct {
		const char *name;
		unsigned bit;
	} cases[] = {
		{ "camera", CAM },
		{ "microphone", MIC },
		{ "screen_share", SCREEN },
		{ "screen_share_audio", SCREEN_AUDIO },
		{ "Camera", 0 },
		{ "video", 0 },
		{ "", 0 },
		{ "camera ", 0 },
		{ "screen_share_", 0 },
		{ "unknown", 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (vc_grant_of_name(cases[i].name) != cases[i].bit)
			fail_msg("vc_grant_of_name(\"%s\") = %#x, expected %#x", cases[i].name,
			         vc_grant_of_name(cases[i].name), cases[i].bit);
	}
	/* Four distinct bits, ALL their union, MEDIA the three with packets. */
	assert_int_equal(CAM | MIC | SCREEN | SCREEN_AUDIO, VC_GRANT_ALL);
	assert_int_equal(CAM | MIC | SCREEN, VC_GRANT_MEDIA);
	assert_int_equal(__builtin_popcount(VC_GRANT_ALL), 4);
	assert_true(VC_GRANT_ALL <= 0xff); /* participant_t keeps it in a uint8_t */
}

/* The claim as it comes in a token: JSON text, or NULL for absent. */
static void expect_parse(const char *json, bool ok, unsigned mask)
{
	json_error_t err;
	json_t *claim = NULL;
	unsigned got = 0xdead;
	bool r;

	if (json != NULL) {
		claim = json_loads(json, JSON_DECODE_ANY, &err);
		if (claim == NULL)
			fail_msg("test JSON '%s': %s", json, err.text);
	}
	r = vc_grants_parse(claim, &got);
	json_decref(claim);
	if (r != ok)
		fail_msg("vc_grants_parse(%s) = %s, expected %s", json ? json : "absent",
		         r ? "true" : "false", ok ? "true" : "false");
	if (ok && got != mask)
		fail_msg("vc_grants_parse(%s): mask %#x, expected %#x", json ? json : "absent", got,
		         mask);
	if (!ok && got != 0xdead)
		fail_msg("vc_grants_parse(%s) refused but changed the mask to %#x",
		         json ? json : "absent", got);
}

static void test_parse(void **state)
{
	/* absent: a videocall.rs token, no restriction */
	expect_parse(NULL, true, VC_GRANT_ALL);
	expect_parse("[]", true, 0);
	expect_parse("[\"microphone\"]", true, MIC);
	expect_parse("[\"camera\",\"microphone\",\"screen_share\",\"screen_share_audio\"]", true,
	             VC_GRANT_ALL);
	expect_parse("[\"screen_share_audio\"]", true, SCREEN_AUDIO);
	expect_parse("[\"camera\",\"camera\"]", true, CAM);
	/* unknown names are ignored */
	expect_parse("[\"microphone\",\"hologram\"]", true, MIC);
	expect_parse("[\"hologram\"]", true, 0);
	/* not an array of strings: a malformed token */
	expect_parse("null", false, 0);
	expect_parse("\"camera\"", false, 0);
	expect_parse("true", false, 0);
	expect_parse("3", false, 0);
	expect_parse("{\"camera\":true}", false, 0);
	expect_parse("[1]", false, 0);
	expect_parse("[\"camera\",null]", false, 0);
	expect_parse("[\"camera\",[\"microphone\"]]", false, 0);
	expect_parse("[{}]", false, 0);
}

static void test_needed(void **state)
{
	static const struct {
		uint64_t type;
		unsigned needs;
	} cases[] = {
		{ VC_MEDIA_VIDEO, CAM },     { VC_MEDIA_AUDIO, MIC },
		{ VC_MEDIA_SCREEN, SCREEN }, { VC_MEDIA_HEARTBEAT, 0 },
		{ VC_MEDIA_RTT, 0 },         { VC_MEDIA_KEYFRAME_REQUEST, 0 },
		{ 0, VC_GRANT_MEDIA }, /* no media_type */
		{ 7, VC_GRANT_MEDIA }, /* a type vcd does not know */
		{ 1000, VC_GRANT_MEDIA },    { UINT64_MAX, VC_GRANT_MEDIA },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (vc_grants_needed(true, cases[i].type) != cases[i].needs)
			fail_msg("media_type %llu needs %#x, expected %#x",
			         (unsigned long long)cases[i].type,
			         vc_grants_needed(true, cases[i].type), cases[i].needs);
		/* unreadable: whatever the value left behind */
		assert_int_equal(vc_grants_needed(false, cases[i].type), VC_GRANT_MEDIA);
	}
}

/* MediaPacket bytes through wire/proto.c's reader, then the rule. */
static bool passes(const char *bytes, size_t n, unsigned mask)
{
	uint64_t type = 0;
	bool readable = vc_media_packet_type(bytes, n, &type);

	return (vc_grants_needed(readable, type) & ~mask) == 0;
}

static void test_rule_on_packets(void **state)
{
	static const struct {
		const char *what, *bytes;
		size_t len;
		/* passes with: [] / microphone / camera+microphone+screen_share / absent */
		bool none, mic, media, all;
	} cases[] = {
		{ "VIDEO", "\x08\x01\x1a\x01x", 5, false, false, true, true },
		{ "AUDIO", "\x08\x02\x1a\x01x", 5, false, true, true, true },
		{ "SCREEN", "\x08\x03", 2, false, false, true, true },
		{ "HEARTBEAT", "\x08\x04", 2, true, true, true, true },
		{ "RTT", "\x08\x05", 2, true, true, true, true },
		{ "KEYFRAME_REQUEST", "\x08\x06", 2, true, true, true, true },
		{ "no media_type", "\x1a\x01x", 3, false, false, true, true },
		{ "media_type 9", "\x08\x09", 2, false, false, true, true },
		{ "AUDIO then VIDEO (last wins)", "\x08\x02\x08\x01", 4, false, false, true, true },
		{ "a truncated varint", "\x08", 1, false, false, true, true },
		{ "a length past the end", "\x08\x02\x1a\x09x", 5, false, false, true, true },
		{ "media_type as bytes", "\x0a\x01\x02", 3, false, false, true, true },
		/* an enum is an int32: a decoder keeps the low 32 bits of the varint */
		{ "AUDIO + 2^32", "\x08\x82\x80\x80\x80\x10", 6, false, true, true, true },
		{ "VIDEO + 2^32", "\x08\x81\x80\x80\x80\x10", 6, false, false, true, true },
	};
	unsigned masks[] = { 0, MIC, VC_GRANT_MEDIA, VC_GRANT_ALL };

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool want[] = { cases[i].none, cases[i].mic, cases[i].media, cases[i].all };

		for (size_t k = 0; k < 4; k++)
			if (passes(cases[i].bytes, cases[i].len, masks[k]) != want[k])
				fail_msg("%s with grants %#x: %s, expected %s", cases[i].what,
				         masks[k], want[k] ? "dropped" : "relayed",
				         want[k] ? "relayed" : "dropped");
	}
}

/* PacketWrapper.packet_type is an int32 too: MEDIA + 2^32 is MEDIA to
 * every receiver, so it is MEDIA to the rule (else it would pass as data,
 * whatever the grants; and MEETING + 2^32 would pass as a client's). */
static void test_wrapper_type_int32(void **state)
{
	static const uint8_t media[] = { 0x08, 0x83, 0x80, 0x80, 0x80, 0x10 };
	static const uint8_t meeting[] = { 0x08, 0x87, 0x80, 0x80, 0x80, 0x10 };
	vc_packet_view_t v;

	assert_true(vc_packet_wrapper_decode(media, sizeof(media), &v));
	assert_int_equal(v.packet_type, VC_PACKET_MEDIA);
	assert_true(vc_packet_wrapper_decode(meeting, sizeof(meeting), &v));
	assert_int_equal(v.packet_type, VC_PACKET_MEETING);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_needed),
		cmocka_unit_test(test_rule_on_packets),
		cmocka_unit_test(test_wrapper_type_int32),
	};
	return cmocka_run_group_tests_name("grants", tests, NULL, NULL);
}
