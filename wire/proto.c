/*
 * proto.c — proto3 encoding of PacketWrapper and MeetingPacket.
 */
#include "wire/proto.h"

#include <stdlib.h>
#include <string.h>

enum { WIRE_VARINT = 0, WIRE_LEN = 2 };

static void put(vc_buf_t *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2 + 32;
		b->data = vc_realloc(b->data, b->cap);
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

static void varint(vc_buf_t *b, uint64_t v)
{
	uint8_t tmp[10];
	size_t n = 0;

	do {
		tmp[n] = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v != 0)
			tmp[n] |= 0x80;
		n++;
	} while (v != 0);
	put(b, tmp, n);
}

static void key(vc_buf_t *b, unsigned field, unsigned wire)
{
	varint(b, (uint64_t)field << 3 | wire);
}

/* A varint field; zero is the default and is left out. int64 values are
 * written as their two's complement (negative numbers take ten bytes). */
static void field_varint(vc_buf_t *b, unsigned field, uint64_t v)
{
	if (v == 0)
		return;
	key(b, field, WIRE_VARINT);
	varint(b, v);
}

static void field_bytes(vc_buf_t *b, unsigned field, const void *p, size_t n)
{
	if (p == NULL || n == 0)
		return;
	key(b, field, WIRE_LEN);
	varint(b, n);
	put(b, p, n);
}

static void field_str(vc_buf_t *b, unsigned field, const char *s)
{
	if (s != NULL)
		field_bytes(b, field, s, strlen(s));
}

void vc_meeting_packet_encode(const vc_meeting_packet_t *p, vc_buf_t *out)
{
	field_varint(out, 1, (uint64_t)p->event_type);
	field_str(out, 2, p->room_id);
	field_varint(out, 3, p->start_time_ms);
	field_str(out, 4, p->message);
	field_str(out, 5, p->creator_id);
	field_varint(out, 6, (uint64_t)p->participant_count);
	field_str(out, 7, p->target_user_id);
	field_str(out, 8, p->room_token);
	field_varint(out, 9, p->session_id);
	field_str(out, 10, p->display_name);
}

void vc_packet_wrapper_encode(enum vc_packet_type type, const void *user_id, size_t user_id_len,
                              const void *data, size_t data_len, uint64_t session_id, vc_buf_t *out)
{
	field_varint(out, 1, (uint64_t)type);
	field_bytes(out, 2, user_id, user_id_len);
	field_bytes(out, 3, data, data_len);
	field_varint(out, 4, session_id);
}

void vc_system_event_encode(const vc_meeting_packet_t *p, vc_buf_t *out)
{
	vc_buf_t inner = { 0 };

	vc_meeting_packet_encode(p, &inner);
	vc_packet_wrapper_encode(VC_PACKET_MEETING, VC_SYSTEM_USER_ID, strlen(VC_SYSTEM_USER_ID),
	                         inner.data, inner.len, 0, out);
	free(inner.data);
}

bool vc_room_subject(const char *room_id, char *out, size_t len)
{
	static const char prefix[] = "room.", suffix[] = ".system";
	size_t n = strlen(room_id);

	if (sizeof(prefix) - 1 + n + sizeof(suffix) > len)
		return false;
	memcpy(out, prefix, sizeof(prefix) - 1);
	for (size_t i = 0; i < n; i++) {
		char c = room_id[i];
		out[sizeof(prefix) - 1 + i] = strchr(".*> \t\r\n", c) != NULL ? '_' : c;
	}
	memcpy(out + sizeof(prefix) - 1 + n, suffix, sizeof(suffix));
	return true;
}
