/*
 * proto.h — the protobuf packets of videocall.rs that vcd writes: the
 * PacketWrapper envelope and the MeetingPacket system events published on
 * NATS subject room.{id}.system and read by media servers and clients.
 *
 * Encoded by hand (proto3 wire format: varints and length-delimited
 * fields, ascending field numbers, default values omitted) because two small
 * messages do not earn a code generator and a library; the unit test holds
 * the reference encodings byte for byte (videocall-rs-contract.md §8.1).
 */
#ifndef VC_PROTO_H
#define VC_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/vc.h"

/* The user id of system messages; never a participant's (no token is ever
 * issued for it). */
#define VC_SYSTEM_USER_ID "system-&^%$#@!"

/* PacketWrapper.packet_type (PacketType). */
enum vc_packet_type {
	VC_PACKET_UNKNOWN = 0,
	VC_PACKET_RSA_PUB_KEY = 1,
	VC_PACKET_AES_KEY = 2,
	VC_PACKET_MEDIA = 3,
	VC_PACKET_CONNECTION = 4,
	VC_PACKET_DIAGNOSTICS = 5,
	VC_PACKET_HEALTH = 6,
	VC_PACKET_MEETING = 7,
	VC_PACKET_SESSION_ASSIGNED = 8,
	VC_PACKET_CONGESTION = 9,
};

/* MediaPacket.media_type (MediaType). */
enum vc_media_type {
	VC_MEDIA_VIDEO = 1,
	VC_MEDIA_AUDIO = 2,
	VC_MEDIA_SCREEN = 3,
	VC_MEDIA_HEARTBEAT = 4,
	VC_MEDIA_RTT = 5,
	VC_MEDIA_KEYFRAME_REQUEST = 6,
};

/* MeetingPacket.event_type (MeetingEventType). */
enum vc_meeting_event {
	VC_EV_UNKNOWN = 0,
	VC_EV_MEETING_STARTED = 1,
	VC_EV_MEETING_ENDED = 2,
	VC_EV_PARTICIPANT_JOINED = 3,
	VC_EV_PARTICIPANT_LEFT = 4,
	VC_EV_MEETING_ACTIVATED = 5,
	VC_EV_PARTICIPANT_ADMITTED = 6,
	VC_EV_PARTICIPANT_REJECTED = 7,
	VC_EV_WAITING_ROOM_UPDATED = 8,
};

/* A MeetingPacket; NULL strings and zero numbers are left out. */
typedef struct vc_meeting_packet {
	enum vc_meeting_event event_type; /* 1 */
	const char *room_id;              /* 2, the unsanitized id */
	uint64_t start_time_ms;           /* 3 */
	const char *message;              /* 4 */
	const char *creator_id;           /* 5, bytes */
	int64_t participant_count;        /* 6 */
	const char *target_user_id;       /* 7, bytes */
	const char *room_token;           /* 8, never set by vcd's events */
	uint64_t session_id;              /* 9 */
	const char *display_name;         /* 10, bytes */
} vc_meeting_packet_t;

/* A growable byte buffer (free .data). */
typedef struct vc_buf {
	uint8_t *data;
	size_t len, cap;
} vc_buf_t;

void vc_meeting_packet_encode(const vc_meeting_packet_t *p, vc_buf_t *out);
void vc_packet_wrapper_encode(enum vc_packet_type type, const void *user_id, size_t user_id_len,
                              const void *data, size_t data_len, uint64_t session_id,
                              vc_buf_t *out);
/* The wrapped system event published on NATS: packet_type MEETING,
 * user_id VC_SYSTEM_USER_ID, data = the MeetingPacket. */
void vc_system_event_encode(const vc_meeting_packet_t *p, vc_buf_t *out);

/* --- decoding (views into the caller's bytes; nothing is copied) ---------- */

typedef struct vc_bytes {
	const uint8_t *p;
	size_t len;
} vc_bytes_t;

/* A decoded PacketWrapper. Absent fields are 0 / empty. */
typedef struct vc_packet_view {
	uint64_t packet_type;
	vc_bytes_t user_id, data;
	uint64_t session_id;
} vc_packet_view_t;

/* A decoded MeetingPacket. */
typedef struct vc_meeting_view {
	uint64_t event_type;
	vc_bytes_t room_id;
	uint64_t start_time_ms;
	vc_bytes_t message, creator_id;
	int64_t participant_count;
	vc_bytes_t target_user_id, room_token;
	uint64_t session_id;
	vc_bytes_t display_name;
} vc_meeting_view_t;

/* False when p[0..n) is not a well-formed message of that type (a field of
 * the wrong wire type, a length past the end, a group, a truncated varint);
 * unknown fields are skipped, later values of a field win and an enum
 * (int32) keeps the low 32 bits of its varint, as protobuf decoders do. */
bool vc_packet_wrapper_decode(const void *p, size_t n, vc_packet_view_t *out) VC_MUSTCHECK;
bool vc_meeting_packet_decode(const void *p, size_t n, vc_meeting_view_t *out) VC_MUSTCHECK;
/* MediaPacket.media_type of p[0..n), the nested messages checked too. */
bool vc_media_packet_type(const void *p, size_t n, uint64_t *media_type) VC_MUSTCHECK;
/* Bytes of a session_id field (key and varint) appended to a PacketWrapper
 * that has none: protobuf's last-field-wins makes the result the wrapper
 * with that session id, byte for byte what an encoder writes when the
 * wrapper's other fields were in order. Writes at most 11 bytes. */
size_t vc_packet_session_id_field(uint64_t session_id, uint8_t out[11]);

/* "room.{id}.system" with '.', '*', '>', space, tab, CR and LF in the id
 * replaced by '_' (videocall.rs's sanitizer). False if out is too small. */
bool vc_room_subject(const char *room_id, char *out, size_t len);

#endif
