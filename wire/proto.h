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

/* PacketWrapper.packet_type values vcd uses. */
enum vc_packet_type {
	VC_PACKET_MEETING = 7,
	VC_PACKET_SESSION_ASSIGNED = 8,
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

/* "room.{id}.system" with '.', '*', '>', space, tab, CR and LF in the id
 * replaced by '_' (videocall.rs's sanitizer). False if out is too small. */
bool vc_room_subject(const char *room_id, char *out, size_t len);

#endif
