/*
 * vctest_ws.h — what the /lobby tests (t/integration/test_lobby*.c) share
 * on top of vctest.h: a WebSocket client written for tests, the
 * videocall.rs packets as protobuf, room tokens good and bad, and media
 * sessions with an inbox of what they received.
 *
 * Parts (each usable alone):
 *   WebSocket  RFC 6455, client side, over vctest's raw connections: the
 *              upgrade (a random Sec-WebSocket-Key, Sec-WebSocket-Accept
 *              checked with SHA-1), frames sent with every bit under the
 *              test's control (opcode, FIN, RSV, masked or not, the length
 *              form, raw bytes, a frame cut into many TCP writes, a message
 *              cut into fragments), frames received and checked as a client
 *              must (a server frame is never masked, has no RSV bits, a
 *              control frame is short and whole); data messages are
 *              reassembled and kept in an inbox, pings and pongs counted,
 *              the close frame kept.
 *   protobuf   PacketWrapper, MediaPacket and MeetingPacket encoded and
 *              decoded here, independently of vcd's wire/proto.c (the field
 *              numbers of videocall.rs's protobuf/types/ *.proto), so that
 *              tests assert on fields, not on hex.
 *   tokens     room and observer tokens (actors/room_tokens.h), any claims
 *              signed (wire/jwt.h), and tokens with another alg.
 *   sessions   vcl_*: a /lobby connection that read its SESSION_ASSIGNED
 *              and MEETING_STARTED, and helpers that wait for a packet
 *              matching a description in its inbox, count them, or prove
 *              an absence by a later marker.
 *
 * Every wait is bounded (milliseconds given by the caller) and its failure
 * says what was awaited and what arrived instead. Failures call cmocka's
 * fail_msg(). Connections still open at the end of a case are closed and
 * freed by vct_ws_close_all() (vcl_teardown does it, then vct_teardown).
 */
#ifndef VCTEST_WS_H
#define VCTEST_WS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "t/lib/vctest.h"

/* A growable byte buffer (free .p with vct_buf_free). */
typedef struct vct_buf {
	uint8_t *p;
	size_t len, cap;
} vct_buf_t;
void vct_buf_free(vct_buf_t *b);

/* --- WebSocket ------------------------------------------------------------ */

enum {
	VCT_WS_CONT = 0x0,
	VCT_WS_TEXT = 0x1,
	VCT_WS_BINARY = 0x2,
	VCT_WS_CLOSE = 0x8,
	VCT_WS_PING = 0x9,
	VCT_WS_PONG = 0xa,
};

/* The code of a close frame that had no payload (RFC 6455 7.1.5). */
#define VCT_WS_NO_STATUS 1005

/* One data message received (fragments reassembled). */
typedef struct vct_ws_msg {
	unsigned opcode; /* VCT_WS_TEXT or VCT_WS_BINARY */
	uint8_t *data;   /* malloc'd, NUL-terminated (not counted in len) */
	size_t len;
	unsigned frames; /* how many frames it came in */
	uint64_t at_ms;  /* vct_now_ms() when it was complete */
} vct_ws_msg_t;

typedef struct vct_ws {
	vct_conn_t *c;
	char *name;          /* for messages: "alice", or the request target */
	vct_ws_msg_t *inbox; /* every data message received, in order */
	unsigned n, cap;
	unsigned pings; /* pings received (never answered unless auto_pong) */
	bool auto_pong; /* answer pings as a browser does */
	unsigned pongs; /* pongs received; the last one's payload: */
	uint8_t last_pong[125];
	size_t last_pong_len;
	bool close_seen; /* a close frame arrived: */
	int close_code;  /* its code, VCT_WS_NO_STATUS when it had none */
	char close_reason[124];
	bool close_sent; /* we sent one */
	bool eof;        /* the TCP connection ended */
	/* a fragmented message being received */
	uint8_t *frag;
	size_t frag_len;
	unsigned frag_opcode, frag_frames;
	struct vct_ws *next; /* open connections */
} vct_ws_t;

/*
 * Upgrade `GET target` on 127.0.0.1:port: Host, Upgrade: websocket,
 * Connection: Upgrade, Sec-WebSocket-Version: 13, a fresh random
 * Sec-WebSocket-Key, then `headers` ("Name: value\r\n"…, may be NULL).
 * On 101 the answer must carry the right Sec-WebSocket-Accept and no
 * extension or subprotocol (the test fails otherwise) and the connection
 * is returned; on any other answer NULL, with *refusal holding it (its
 * status 0 when nothing complete arrived within 5 s). refusal may be NULL.
 */
vct_ws_t *vct_ws_try(int port, const char *target, const char *headers, vct_resp_t *refusal);
/* The same, failing the test unless 101: "GET /lobby?token=… (alice)
 * answered 404, expected 101: '<body>'". `name` names the connection in
 * later messages. */
vct_ws_t *vct_ws_open(int port, const char *target, const char *headers, const char *name);
/* The next upgrade (only the next) connects from a socket whose SO_RCVBUF
 * is set to `bytes` before it connects (a reader with a small window). */
void vct_ws_rcvbuf_next(int bytes);
/* Send `request` (the whole request head, "\r\n\r\n" included) as it is on a
 * fresh connection and read the answer (5 s); the status, 0 for none. */
int vct_ws_request_raw(int port, const char *request, vct_resp_t *r);
/* A valid Sec-WebSocket-Key (base64 of 16 random bytes), malloc'd. */
char *vct_ws_key(void);

/* A frame to send. Zero-initialised fields give a masked, final frame with
 * the shortest length form and a random mask, written in one TCP write. */
typedef struct vct_ws_out {
	unsigned opcode;
	bool more;        /* FIN clear: more fragments follow */
	unsigned rsv;     /* RSV1..3 as 4, 2, 1 */
	bool unmasked;    /* send it without a mask (a client must not) */
	const void *data; /* the payload (unmasked text) */
	size_t len;
	unsigned len_form; /* 0: shortest; 126 or 127: force that form */
	size_t chunk;      /* > 0: write it in TCP writes of this many bytes,
	                    * each read by vcd before the next is written */
} vct_ws_out_t;

/* Send one frame as described. False when the connection is gone (the
 * peer may have closed it on purpose: the caller decides). */
bool vct_ws_send_frame(vct_ws_t *ws, const vct_ws_out_t *f);
/* Append the bytes of frame f to out (to send many frames in one write). */
void vct_ws_frame_bytes(vct_buf_t *out, const vct_ws_out_t *f);
/* Bytes as they are (malformed frames), in writes of `chunk` bytes (0:
 * one write), each read by vcd before the next. */
bool vct_ws_send_raw(vct_ws_t *ws, const void *bytes, size_t len, size_t chunk);
/* A masked final binary / text frame, a ping, a pong. */
bool vct_ws_send_binary(vct_ws_t *ws, const void *data, size_t len);
bool vct_ws_send_text(vct_ws_t *ws, const void *data, size_t len);
bool vct_ws_send_ping(vct_ws_t *ws, const void *data, size_t len);
bool vct_ws_send_pong(vct_ws_t *ws, const void *data, size_t len);
/* A close frame with code and reason (raw bytes, reason_len of them); code
 * < 0 sends an empty payload. */
bool vct_ws_send_close(vct_ws_t *ws, int code, const void *reason, size_t reason_len);
/* One message of `opcode` as `nfrags` frames (a first frame, continuations,
 * the last with FIN), each in its own TCP write read by vcd before the next. */
bool vct_ws_send_fragments(vct_ws_t *ws, unsigned opcode, const void *data, size_t len,
                           unsigned nfrags);

/*
 * Read and handle one frame within ms (0: what is there now): data go to
 * the inbox (when a message is complete), pings and pongs are counted
 * (pings answered when auto_pong), a close frame is kept. 1 when a frame
 * was handled, 0 when none arrived in time, -1 when the connection ended
 * (ws->eof). Fails the test when vcd breaks the protocol (masked or RSV
 * frames, a reserved opcode, a bad control frame, a continuation out of
 * place, a close code not allowed on the wire, a frame after its close).
 */
int vct_ws_pump(vct_ws_t *ws, unsigned ms);
/* One frame as it came, for tests of framing itself. */
typedef struct vct_ws_frame {
	bool fin;
	unsigned rsv, opcode;
	uint8_t *data; /* malloc'd, NUL-terminated (not counted in len) */
	size_t len;
	int close_code; /* close frames: the code, VCT_WS_NO_STATUS for none */
	char close_reason[124];
} vct_ws_frame_t;
/* The next frame within ms, not reassembled nor put in the inbox (a close
 * frame is also recorded in ws->close_*): 1, 0 when none came in time, -1
 * when the connection ended. The same checks as vct_ws_pump. Free with
 * vct_ws_frame_free. */
int vct_ws_recv_frame(vct_ws_t *ws, vct_ws_frame_t *f, unsigned ms);
void vct_ws_frame_free(vct_ws_frame_t *f);
/* Message i of the inbox (fails unless i < ws->n). */
const vct_ws_msg_t *vct_ws_msg(const vct_ws_t *ws, unsigned i);
/* Wait up to ms until the inbox has more than `i` messages: message i.
 * Fails, saying what was awaited (`what`), when a close or the end of the
 * connection comes first or time runs out. */
const vct_ws_msg_t *vct_ws_wait_msg(vct_ws_t *ws, unsigned i, unsigned ms, const char *what);
/* Wait up to ms for the close frame (data arriving first stay in the
 * inbox), fail unless its code is `code` (and its reason `reason`, unless
 * NULL), answer it with a close of the same code (unless one was sent),
 * then wait up to 5 s for vcd to end the TCP connection. */
void vct_ws_expect_close(vct_ws_t *ws, int code, const char *reason, unsigned ms, const char *what);
/* Wait up to ms for a pong after the ones counted so far: fail unless its
 * payload is data[0..len). */
void vct_ws_expect_pong(vct_ws_t *ws, const void *data, size_t len, unsigned ms, const char *what);
/* Wait up to ms until `n` pings in all have arrived. */
void vct_ws_expect_pings(vct_ws_t *ws, unsigned n, unsigned ms, const char *what);
/* Only where an absence must be proven and no later marker can prove it:
 * fail if a data message or a close arrives within ms (keep ms small). */
void vct_ws_expect_silence(vct_ws_t *ws, unsigned ms, const char *what);
/* Close the socket (no close frame) and free. NULL is fine. */
void vct_ws_free(vct_ws_t *ws);
/* Free every session and connection still open (test teardowns). */
void vct_ws_close_all(void);

/* --- protobuf (videocall.rs's protobuf/types/ *.proto) -------------------- */

/* PacketWrapper.packet_type */
enum {
	VCT_PT_UNKNOWN = 0,
	VCT_PT_RSA_PUB_KEY = 1,
	VCT_PT_AES_KEY = 2,
	VCT_PT_MEDIA = 3,
	VCT_PT_CONNECTION = 4,
	VCT_PT_DIAGNOSTICS = 5,
	VCT_PT_HEALTH = 6,
	VCT_PT_MEETING = 7,
	VCT_PT_SESSION_ASSIGNED = 8,
	VCT_PT_CONGESTION = 9,
};
/* MediaPacket.media_type */
enum {
	VCT_MT_VIDEO = 1,
	VCT_MT_AUDIO = 2,
	VCT_MT_SCREEN = 3,
	VCT_MT_HEARTBEAT = 4,
	VCT_MT_RTT = 5,
	VCT_MT_KEYFRAME_REQUEST = 6,
};
/* MeetingPacket.event_type */
enum {
	VCT_EV_MEETING_STARTED = 1,
	VCT_EV_MEETING_ENDED = 2,
	VCT_EV_PARTICIPANT_JOINED = 3,
	VCT_EV_PARTICIPANT_LEFT = 4,
	VCT_EV_MEETING_ACTIVATED = 5,
	VCT_EV_PARTICIPANT_ADMITTED = 6,
	VCT_EV_PARTICIPANT_REJECTED = 7,
	VCT_EV_WAITING_ROOM_UPDATED = 8,
};

#define VCT_SYSTEM_USER "system-&^%$#@!"

/* A length-delimited field: a view into the decoded bytes. */
typedef struct vct_pb_bytes {
	const uint8_t *p;
	size_t len;
} vct_pb_bytes_t;

/* Decoded messages: `has` has bit n set when field n was present (the last
 * value wins, as protobuf decoders do); `unknown` counts fields of other
 * numbers. */
typedef struct vct_pw {
	uint64_t packet_type;   /* 1 */
	vct_pb_bytes_t user_id; /* 2 */
	vct_pb_bytes_t data;    /* 3 */
	uint64_t session_id;    /* 4 */
	unsigned has, unknown;
} vct_pw_t;

typedef struct vct_mp {
	uint64_t event_type;           /* 1 */
	vct_pb_bytes_t room_id;        /* 2 */
	uint64_t start_time_ms;        /* 3 */
	vct_pb_bytes_t message;        /* 4 */
	vct_pb_bytes_t creator_id;     /* 5 */
	int64_t participant_count;     /* 6 */
	vct_pb_bytes_t target_user_id; /* 7 */
	vct_pb_bytes_t room_token;     /* 8 */
	uint64_t session_id;           /* 9 */
	vct_pb_bytes_t display_name;   /* 10 */
	unsigned has, unknown;
} vct_mp_t;

typedef struct vct_media {
	uint64_t media_type;    /* 1 */
	vct_pb_bytes_t user_id; /* 2 */
	vct_pb_bytes_t data;    /* 3 */
	unsigned has, unknown;
} vct_media_t;

#define VCT_HAS(m, field) ((((m)->has) >> (field)) & 1u)

/* False when p[0..n) is not well-formed protobuf of that message (a field
 * of the wrong wire type, a length past the end, a truncated varint). */
bool vct_pw_decode(const void *p, size_t n, vct_pw_t *out);
bool vct_mp_decode(const void *p, size_t n, vct_mp_t *out);
bool vct_media_decode(const void *p, size_t n, vct_media_t *out);
/* Does b hold exactly the string s? */
bool vct_pb_eq(vct_pb_bytes_t b, const char *s);

/* Encoders (proto3: ascending fields, defaults left out; NULL strings and
 * zero numbers are left out), appending to out. */
void vct_pw_encode(vct_buf_t *out, uint64_t packet_type, const void *user_id, size_t user_id_len,
                   const void *data, size_t data_len, uint64_t session_id);
void vct_media_encode(vct_buf_t *out, uint64_t media_type, const char *user_id, const void *data,
                      size_t data_len);
typedef struct vct_mp_in {
	uint64_t event_type;
	const char *room_id;
	uint64_t start_time_ms;
	const char *message, *creator_id;
	int64_t participant_count;
	const char *target_user_id, *room_token;
	uint64_t session_id;
	const char *display_name;
} vct_mp_in_t;
void vct_mp_encode(vct_buf_t *out, const vct_mp_in_t *m);
/* The wrapper of a system event: MEETING, user_id the system id, data the
 * MeetingPacket, no session_id. */
void vct_system_packet(vct_buf_t *out, const vct_mp_in_t *m);
/* The test media packet: a MEDIA wrapper (user_id = user) around a
 * MediaPacket of media_type with user_id = user and data = tag. */
void vct_media_packet(vct_buf_t *out, uint64_t media_type, const char *user, const char *tag,
                      uint64_t session_id);

/* One line describing a message for failure output ("MEETING
 * PARTICIPANT_JOINED room='r' target='bob' session=12 name='Bob' …",
 * "MEDIA VIDEO from='alice' tag='a-3' session=12", "opaque 7 bytes …"),
 * malloc'd. */
char *vct_pb_describe(const uint8_t *p, size_t len, unsigned opcode);
const char *vct_pt_name(uint64_t packet_type);
const char *vct_ev_name(uint64_t event_type);

/* --- tokens --------------------------------------------------------------- */

/* The claims of a valid room token (room_join true, is_host false,
 * observer false, exp in an hour, iss videocall-meeting-backend); the
 * caller changes and decrefs. */
json_t *vct_room_claims(const char *user, const char *room, const char *display_name);
/* HS256 over claims with secret (wire/jwt.h), malloc'd. */
char *vct_jwt(const json_t *claims, const char *secret);
/* A token whose header says `alg`: "HS256", "HS384", "HS512" (signed with
 * secret through OpenSSL) or anything else, "none" say (no signature). */
char *vct_jwt_alg(const json_t *claims, const char *secret, const char *alg);
/* vc_room_token (TTL 10 min) / vc_observer_token (actors/room_tokens.h). */
char *vct_room_token(const char *secret, const char *user, const char *room,
                     const char *display_name);
char *vct_observer_token(const char *secret, const char *user, const char *room,
                         const char *display_name);
/* "/lobby?token=" + the token, percent-encoded where needed (malloc'd). */
char *vct_lobby_target(const char *token);

/* --- media sessions ------------------------------------------------------- */

#define VCL_MS 5000 /* how long a session waits for what it expects */

typedef struct vcl {
	vct_ws_t *ws;
	char *user, *room, *name; /* as the token says */
	uint64_t session_id;      /* from SESSION_ASSIGNED */
	uint64_t start_time_ms;   /* from MEETING_STARTED */
	unsigned cursor;          /* the next inbox message vcl_wait looks at */
	struct vcl *next;         /* open sessions */
} vcl_t;

/*
 * Connect to GET /lobby?token=… on port (101 expected), read the first
 * message, which must be SESSION_ASSIGNED (session id not 0), and the
 * second, MEETING_STARTED for `room`. The cursor is then after them. user,
 * room and name are what the token says (for messages and matching).
 */
vcl_t *vcl_open(int port, const char *token, const char *user, const char *room, const char *name);
/* The same on any request target (the deprecated /lobby/{user_id}/{room}). */
vcl_t *vcl_open_target(int port, const char *target, const char *user, const char *room,
                       const char *name);
/* vcl_open with a room token (or an observer token) minted with secret. */
vcl_t *vcl_join(int port, const char *secret, const char *user, const char *room, const char *name);
vcl_t *vcl_observe(int port, const char *secret, const char *user, const char *room,
                   const char *name);
/* Close the socket without a close frame (a client that vanished) and free. */
void vcl_free(vcl_t *s);
/* Send a close 1000, wait (5 s) for vcd's close and the end of the
 * connection, free. */
void vcl_leave(vcl_t *s);

/* Send a packet (binary frame); fails the test when the connection is gone. */
void vcl_send(vcl_t *s, const void *p, size_t len);
/* Send vct_media_packet(media_type, s->user, tag, session_id). */
void vcl_send_media(vcl_t *s, uint64_t media_type, const char *tag, uint64_t session_id);
/* Activate the session: a HEARTBEAT media packet tagged "hello-<user>". */
void vcl_activate(vcl_t *s);

/* What a message must be to match; zero fields match anything. */
typedef struct vcl_match {
	uint64_t type;        /* PacketWrapper.packet_type */
	uint64_t event;       /* MeetingPacket.event_type (MEETING packets) */
	const char *target;   /* MeetingPacket.target_user_id */
	const char *tag;      /* MediaPacket.data (MEDIA packets) */
	const uint8_t *bytes; /* exactly these bytes */
	size_t len;
} vcl_match_t;

#define VCL_EVENT(ev, who)                                                                         \
	(&(vcl_match_t){ .type = VCT_PT_MEETING, .event = (ev), .target = (who) })
#define VCL_TAG(t) (&(vcl_match_t){ .type = VCT_PT_MEDIA, .tag = (t) })
#define VCL_BYTES(b, n) (&(vcl_match_t){ .bytes = (const uint8_t *)(b), .len = (n) })
#define VCL_TYPE(t) (&(vcl_match_t){ .type = (t) })

bool vcl_matches(const vct_ws_msg_t *msg, const vcl_match_t *m);
/* Wait up to ms for the first message at or after the cursor that matches:
 * its inbox index; the cursor moves past it. On failure the message says
 * `what` and lists what arrived meanwhile. */
unsigned vcl_wait(vcl_t *s, const vcl_match_t *m, unsigned ms, const char *what);
/* Messages [from, to) of the inbox that match. */
unsigned vcl_count(const vcl_t *s, unsigned from, unsigned to, const vcl_match_t *m);
/* Fail if a message in [from, to) matches, naming it and `what`. */
void vcl_expect_none(const vcl_t *s, unsigned from, unsigned to, const vcl_match_t *m,
                     const char *what);
/* Message i, decoded: its PacketWrapper (fails unless it is one), and the
 * MeetingPacket inside (unless mp is NULL; fails unless MEETING). */
void vcl_decode(const vcl_t *s, unsigned i, vct_pw_t *pw, vct_mp_t *mp);
/* Fail unless message i is PARTICIPANT_JOINED (or _LEFT, by ev) of `who`:
 * system wrapper, room_id, target_user_id, session_id, display_name and
 * the message "{user} has joined the meeting" / "… left …". */
void vcl_expect_member_event(const vcl_t *s, unsigned i, uint64_t ev, const vcl_t *who);
/* The same with the member given by its fields (a session of another node,
 * one already gone). */
void vcl_expect_member_fields(const vcl_t *s, unsigned i, uint64_t ev, const char *user,
                              uint64_t session_id, const char *name);
/* Print the inbox to stderr (debugging). */
void vcl_dump(const vcl_t *s);

/* cmocka teardown: vct_ws_close_all, then vct_teardown. */
int vcl_teardown(void **state);

#endif
