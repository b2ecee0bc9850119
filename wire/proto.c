/*
 * proto.c — proto3 encoding of PacketWrapper and MeetingPacket, and the
 * decoding vcd needs to route media packets and read system events.
 */
#include "wire/proto.h"

#include <stdlib.h>
#include <string.h>

enum { WIRE_VARINT = 0, WIRE_I64 = 1, WIRE_LEN = 2, WIRE_I32 = 5 };

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

/* --- decoding ---------------------------------------------------------------- */

typedef struct reader {
	const uint8_t *p, *end;
} reader_t;

static bool get_varint(reader_t *r, uint64_t *v)
{
	uint64_t x = 0;

	for (unsigned shift = 0; shift < 64; shift += 7) {
		if (r->p == r->end)
			return false;
		uint8_t b = *r->p++;
		x |= (uint64_t)(b & 0x7f) << shift;
		if ((b & 0x80) == 0) {
			*v = x;
			return true;
		}
	}
	return false; /* more than ten bytes */
}

/* The next field: its number, wire type and value (varints in *v, lengths
 * as a view). False at the end (r->p == r->end) or on malformed input. */
typedef struct field {
	uint32_t num;
	unsigned wire;
	uint64_t v;
	vc_bytes_t b;
} field_t;

static bool next_field(reader_t *r, field_t *f, bool *bad)
{
	uint64_t k;

	*bad = false;
	if (r->p == r->end)
		return false;
	if (!get_varint(r, &k) || (k >> 3) == 0 || (k >> 3) > 0x1fffffff) {
		*bad = true;
		return false;
	}
	f->num = (uint32_t)(k >> 3);
	f->wire = (unsigned)(k & 7);
	switch (f->wire) {
	case WIRE_VARINT:
		if (!get_varint(r, &f->v))
			goto bad;
		return true;
	case WIRE_I64:
	case WIRE_I32: {
		size_t n = f->wire == WIRE_I64 ? 8 : 4;
		if ((size_t)(r->end - r->p) < n)
			goto bad;
		f->b.p = r->p;
		f->b.len = n;
		r->p += n;
		return true;
	}
	case WIRE_LEN:
		if (!get_varint(r, &f->v) || f->v > (uint64_t)(r->end - r->p))
			goto bad;
		f->b.p = r->p;
		f->b.len = (size_t)f->v;
		r->p += f->v;
		return true;
	default: goto bad; /* groups (3, 4) and the undefined 6, 7 */
	}
bad:
	*bad = true;
	return false;
}

/* Walk a message; `want` maps a field number to the wire type it must have
 * (or -1: unknown, skipped); each known field goes to `take`. */
typedef bool (*take_fn)(const field_t *f, void *out);

static bool walk(const void *p, size_t n, int (*want)(uint32_t num), take_fn take, void *out)
{
	reader_t r = { .p = p, .end = (const uint8_t *)p + n };
	field_t f;
	bool bad;

	while (next_field(&r, &f, &bad)) {
		int w = want(f.num);
		if (w < 0)
			continue;
		if ((unsigned)w != f.wire || !take(&f, out))
			return false;
	}
	return !bad;
}

static int wrapper_want(uint32_t num)
{
	static const int w[] = { -1, WIRE_VARINT, WIRE_LEN, WIRE_LEN, WIRE_VARINT };
	return num < VC_ARRAY_LEN(w) ? w[num] : -1;
}

static bool wrapper_take(const field_t *f, void *out)
{
	vc_packet_view_t *v = out;

	switch (f->num) {
	case 1: v->packet_type = (uint32_t)f->v; break; /* an int32: see media_take */
	case 2: v->user_id = f->b; break;
	case 3: v->data = f->b; break;
	case 4: v->session_id = f->v; break;
	}
	return true;
}

bool vc_packet_wrapper_decode(const void *p, size_t n, vc_packet_view_t *out)
{
	memset(out, 0, sizeof(*out));
	return walk(p, n, wrapper_want, wrapper_take, out);
}

static int meeting_want(uint32_t num)
{
	static const int w[] = { -1,       WIRE_VARINT, WIRE_LEN,    WIRE_VARINT,
		                 WIRE_LEN, WIRE_LEN,    WIRE_VARINT, WIRE_LEN,
		                 WIRE_LEN, WIRE_VARINT, WIRE_LEN };
	return num < VC_ARRAY_LEN(w) ? w[num] : -1;
}

static bool meeting_take(const field_t *f, void *out)
{
	vc_meeting_view_t *v = out;

	switch (f->num) {
	case 1: v->event_type = f->v; break;
	case 2: v->room_id = f->b; break;
	case 3: v->start_time_ms = f->v; break;
	case 4: v->message = f->b; break;
	case 5: v->creator_id = f->b; break;
	case 6: v->participant_count = (int64_t)f->v; break;
	case 7: v->target_user_id = f->b; break;
	case 8: v->room_token = f->b; break;
	case 9: v->session_id = f->v; break;
	case 10: v->display_name = f->b; break;
	}
	return true;
}

bool vc_meeting_packet_decode(const void *p, size_t n, vc_meeting_view_t *out)
{
	memset(out, 0, sizeof(*out));
	return walk(p, n, meeting_want, meeting_take, out);
}

/* MediaPacket: 1 media_type, 2 user_id, 3 data, 4 frame_type, 5 timestamp
 * (double), 6 duration (double), 7-9 nested metadata messages. */
static int media_want(uint32_t num)
{
	static const int w[] = { -1,       WIRE_VARINT, WIRE_LEN, WIRE_LEN, WIRE_LEN,
		                 WIRE_I64, WIRE_I64,    WIRE_LEN, WIRE_LEN, WIRE_LEN };
	return num < VC_ARRAY_LEN(w) ? w[num] : -1;
}

static int any_want(uint32_t num)
{
	return -1; /* a nested message: only its shape is checked */
}

static bool any_take(const field_t *f, void *out)
{
	return true;
}

static bool media_take(const field_t *f, void *out)
{
	/* An enum is an int32, and decoders keep the low 32 bits of a longer
	 * varint (protobuf's rule): the type is the one receivers will see. */
	if (f->num == 1)
		*(uint64_t *)out = (uint32_t)f->v;
	else if (f->num >= 7)
		return walk(f->b.p, f->b.len, any_want, any_take, NULL);
	return true;
}

bool vc_media_packet_type(const void *p, size_t n, uint64_t *media_type)
{
	*media_type = 0;
	return walk(p, n, media_want, media_take, media_type);
}

size_t vc_packet_session_id_field(uint64_t session_id, uint8_t out[11])
{
	size_t n = 0;

	out[n++] = 4 << 3 | WIRE_VARINT;
	do {
		out[n] = (uint8_t)(session_id & 0x7f);
		session_id >>= 7;
		if (session_id != 0)
			out[n] |= 0x80;
		n++;
	} while (session_id != 0);
	return n;
}
