/*
 * test_proto.c — the NATS system events byte for byte against the reference
 * encodings of videocall.rs (videocall-rs-contract.md §8.1), the field rules
 * of proto3 (defaults omitted, ascending fields, negative int64 in ten
 * bytes), and the subject sanitizer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/proto.h"

/* "08 07 12 0e …" → bytes */
static size_t unhex(const char *text, uint8_t *out)
{
	size_t n = 0;
	unsigned v;

	while (sscanf(text, "%2x", &v) == 1) {
		out[n++] = (uint8_t)v;
		text += 2;
		while (*text == ' ')
			text++;
	}
	return n;
}

static void expect_event(const vc_meeting_packet_t *p, const char *want_hex)
{
	uint8_t want[256];
	size_t n = unhex(want_hex, want);
	vc_buf_t b = { 0 };

	vc_system_event_encode(p, &b);
	assert_int_equal(b.len, n);
	assert_memory_equal(b.data, want, n);
	free(b.data);
}

static void test_meeting_activated(void **state)
{
	vc_meeting_packet_t p = { .event_type = VC_EV_MEETING_ACTIVATED,
		                  .room_id = "standup-2024" };

	expect_event(&p, "08 07 12 0e 73 79 73 74 65 6d 2d 26 5e 25 24 23 40 21 1a 10 08 05 12 0c "
	                 "73 74 61 6e 64 75 70 2d 32 30 32 34");
}

static void test_participant_admitted(void **state)
{
	vc_meeting_packet_t p = { .event_type = VC_EV_PARTICIPANT_ADMITTED,
		                  .room_id = "standup-2024",
		                  .target_user_id = "alice@example.com" };

	expect_event(&p, "08 07 12 0e 73 79 73 74 65 6d 2d 26 5e 25 24 23 40 21 1a 23 08 06 12 0c "
	                 "73 74 61 6e 64 75 70 2d 32 30 32 34 3a 11 61 6c 69 63 65 40 65 78 61 6d "
	                 "70 6c 65 2e 63 6f 6d");
}

static void test_waiting_room_updated(void **state)
{
	vc_meeting_packet_t p = { .event_type = VC_EV_WAITING_ROOM_UPDATED,
		                  .room_id = "standup-2024" };

	expect_event(&p, "08 07 12 0e 73 79 73 74 65 6d 2d 26 5e 25 24 23 40 21 1a 10 08 08 12 0c "
	                 "73 74 61 6e 64 75 70 2d 32 30 32 34");
}

static void test_every_field(void **state)
{
	vc_meeting_packet_t p = { .event_type = VC_EV_PARTICIPANT_LEFT,
		                  .room_id = "r",
		                  .start_time_ms = 300,
		                  .message = "m",
		                  .creator_id = "c",
		                  .participant_count = -1,
		                  .target_user_id = "t",
		                  .room_token = "k",
		                  .session_id = 1,
		                  .display_name = "d" };
	uint8_t want[64];
	size_t n = unhex("08 04 12 01 72 18 ac 02 22 01 6d 2a 01 63 "
	                 "30 ff ff ff ff ff ff ff ff ff 01 3a 01 74 42 01 6b 48 01 52 01 64",
	                 want);
	vc_buf_t b = { 0 };

	vc_meeting_packet_encode(&p, &b);
	assert_int_equal(b.len, n);
	assert_memory_equal(b.data, want, n);
	free(b.data);
}

static void test_defaults_are_omitted(void **state)
{
	vc_meeting_packet_t p = { 0 };
	vc_buf_t b = { 0 };

	vc_meeting_packet_encode(&p, &b);
	assert_int_equal(b.len, 0);
	p.room_id = ""; /* an empty string is the default too */
	vc_meeting_packet_encode(&p, &b);
	assert_int_equal(b.len, 0);
	free(b.data);
}

static void test_subject(void **state)
{
	char s[64];

	assert_true(vc_room_subject("standup-2024", s, sizeof(s)));
	assert_string_equal(s, "room.standup-2024.system");
	assert_true(vc_room_subject("room with spaces", s, sizeof(s)));
	assert_string_equal(s, "room.room_with_spaces.system");
	assert_true(vc_room_subject("a.b*c>d\te\rf\ng", s, sizeof(s)));
	assert_string_equal(s, "room.a_b_c_d_e_f_g.system");
	assert_false(vc_room_subject("standup-2024", s, 24)); /* needs 25 with the NUL */
	assert_true(vc_room_subject("standup-2024", s, 25));
}

/* What vcd encodes, it decodes; the views point into the bytes. */
static void test_decode_round_trip(void **state)
{
	vc_meeting_packet_t p = { .event_type = VC_EV_PARTICIPANT_JOINED,
		                  .room_id = "standup-2024",
		                  .start_time_ms = 1700000000123ull,
		                  .message = "alice has joined the meeting",
		                  .target_user_id = "alice@example.com",
		                  .session_id = 0xfedcba9876543210ull,
		                  .display_name = "Alice" };
	vc_buf_t b = { 0 };
	vc_packet_view_t v;
	vc_meeting_view_t m;

	vc_system_event_encode(&p, &b);
	assert_true(vc_packet_wrapper_decode(b.data, b.len, &v));
	assert_int_equal(v.packet_type, VC_PACKET_MEETING);
	assert_int_equal(v.user_id.len, strlen(VC_SYSTEM_USER_ID));
	assert_memory_equal(v.user_id.p, VC_SYSTEM_USER_ID, v.user_id.len);
	assert_int_equal(v.session_id, 0);
	assert_true(vc_meeting_packet_decode(v.data.p, v.data.len, &m));
	assert_int_equal(m.event_type, VC_EV_PARTICIPANT_JOINED);
	assert_int_equal(m.start_time_ms, 1700000000123ull);
	assert_int_equal(m.session_id, 0xfedcba9876543210ull);
	assert_int_equal(m.target_user_id.len, strlen("alice@example.com"));
	assert_memory_equal(m.display_name.p, "Alice", 5);
	free(b.data);
}

static void test_decode_refuses_malformed(void **state)
{
	vc_packet_view_t v;
	uint64_t mt;
	/* a length past the end; a group; a truncated varint; a field of the
	 * wrong wire type (packet_type as bytes); field number 0 */
	static const uint8_t past[] = { 0x12, 0x05, 'a' };
	static const uint8_t group[] = { 0x0b, 0x0c };
	static const uint8_t trunc[] = { 0x08, 0x80 };
	static const uint8_t wrong[] = { 0x0a, 0x01, 0x03 };
	static const uint8_t zero[] = { 0x00, 0x01 };
	/* unknown fields are skipped; the last value of a field wins */
	static const uint8_t unknown[] = { 0x08, 0x03, 0x78, 0x05, 0x08, 0x09 };

	assert_false(vc_packet_wrapper_decode(past, sizeof(past), &v));
	assert_false(vc_packet_wrapper_decode(group, sizeof(group), &v));
	assert_false(vc_packet_wrapper_decode(trunc, sizeof(trunc), &v));
	assert_false(vc_packet_wrapper_decode(wrong, sizeof(wrong), &v));
	assert_false(vc_packet_wrapper_decode(zero, sizeof(zero), &v));
	assert_true(vc_packet_wrapper_decode(unknown, sizeof(unknown), &v));
	assert_int_equal(v.packet_type, VC_PACKET_CONGESTION);
	assert_true(vc_packet_wrapper_decode("", 0, &v)); /* every field absent */
	/* MediaPacket: RTT, and a nested message that does not parse */
	static const uint8_t rtt[] = { 0x08, 0x05, 0x12, 0x01, 'u' };
	static const uint8_t bad_nested[] = { 0x08, 0x05, 0x3a, 0x02, 0x12, 0x09 };
	assert_true(vc_media_packet_type(rtt, sizeof(rtt), &mt));
	assert_int_equal(mt, VC_MEDIA_RTT);
	assert_false(vc_media_packet_type(bad_nested, sizeof(bad_nested), &mt));
}

/* Appending session_id to a wrapper written in field order gives what an
 * encoder writes for the wrapper with that session id. */
static void test_session_id_appended(void **state)
{
	vc_buf_t without = { 0 }, with = { 0 };
	uint8_t field[11];
	size_t n;

	vc_packet_wrapper_encode(VC_PACKET_MEDIA, "bob", 3, "\x08\x01", 2, 0, &without);
	vc_packet_wrapper_encode(VC_PACKET_MEDIA, "bob", 3, "\x08\x01", 2, 1234567890123ull, &with);
	n = vc_packet_session_id_field(1234567890123ull, field);
	assert_int_equal(without.len + n, with.len);
	assert_memory_equal(with.data, without.data, without.len);
	assert_memory_equal(with.data + without.len, field, n);
	assert_int_equal(vc_packet_session_id_field(UINT64_MAX, field), 11);
	free(without.data);
	free(with.data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_meeting_activated),
		cmocka_unit_test(test_participant_admitted),
		cmocka_unit_test(test_waiting_room_updated),
		cmocka_unit_test(test_every_field),
		cmocka_unit_test(test_defaults_are_omitted),
		cmocka_unit_test(test_subject),
		cmocka_unit_test(test_decode_round_trip),
		cmocka_unit_test(test_decode_refuses_malformed),
		cmocka_unit_test(test_session_id_appended),
	};
	return cmocka_run_group_tests_name("proto", tests, NULL, NULL);
}
