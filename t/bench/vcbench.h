/*
 * vcbench.h — the wire pieces of vcbench (t/bench/vcbench_wire.c): a
 * minimal RFC 6455 client (handshake with a random key, masked frames out,
 * server frames in with 7-, 16- and 64-bit lengths), the PacketWrapper
 * envelope vcd relays, the videocall.rs room token vcbench mints, the
 * bench payload and a latency histogram. No state and no threads here:
 * everything works on the caller's buffers.
 */
#ifndef VCBENCH_H
#define VCBENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* --- the payload every bench message carries -------------------------------- */

#define VCB_MAGIC 0x31424356u /* "VCB1" little-endian */
#define VCB_WARM UINT64_MAX   /* base of a message sent during the warm-up */

/* The first VCB_DATA_MIN bytes of a message's data (little-endian on the
 * wire, this machine's order: sender and receiver are the same process).
 * seq counts every message of a sender from 0; base is the seq of its first
 * measured message, VCB_WARM while it warms up. The rest is padding. */
typedef struct vcb_data {
	uint32_t magic;
	uint32_t sender; /* client index */
	uint64_t seq;
	uint64_t base;
	uint64_t sent_ns; /* CLOCK_MONOTONIC */
} vcb_data_t;
#define VCB_DATA_MIN sizeof(vcb_data_t)

uint64_t vcb_now_ns(void);

/* --- tokens -------------------------------------------------------------------- */

/* The room token of client i for room r, as vcd's /join hands out: HS256
 * over header {"typ":"JWT","alg":"HS256"}, base64url without padding.
 * Writes a NUL-terminated token into out (len bytes); false if too small. */
bool vcb_mint_jwt(const char *secret, unsigned client, unsigned room, long long exp, char *out,
                  size_t len);

/* --- handshake ------------------------------------------------------------------ */

#define VCB_KEY_LEN 24 /* base64 of 16 random bytes */

/* A random Sec-WebSocket-Key (NUL-terminated, VCB_KEY_LEN chars). */
void vcb_ws_key(char key[VCB_KEY_LEN + 1]);
/* The Sec-WebSocket-Accept a server must answer for key (29 bytes + NUL). */
void vcb_ws_accept(const char *key, char accept[29]);
/* The upgrade request for path on host:port; returns its length, 0 if it
 * does not fit out. */
size_t vcb_ws_request(char *out, size_t len, const char *host, int port, const char *path,
                      const char *key);
/* An answer to the upgrade in p[0..n): 0 not complete yet, -1 not a 101
 * with the right Sec-WebSocket-Accept (why says what), else the length of
 * the header block (bytes after it are frames). */
long vcb_ws_response(const char *p, size_t n, const char *key, char *why, size_t whylen);

/* --- frames ---------------------------------------------------------------------- */

#define VCB_FRAME_MAX_HDR 14 /* 2 + 8 (64-bit length) + 4 (mask) */

enum {
	VCB_OP_CONT = 0,
	VCB_OP_TEXT = 1,
	VCB_OP_BIN = 2,
	VCB_OP_CLOSE = 8,
	VCB_OP_PING = 9,
	VCB_OP_PONG = 10
};

/* A masked client frame header for a payload of n bytes with mask key
 * `mask`; returns its length. The caller then writes the payload masked
 * with vcb_mask(). */
size_t vcb_frame_header(uint8_t *out, int opcode, uint64_t n, uint32_t mask);
/* XOR p[0..n) with the 4-byte key, starting at key byte 0. */
void vcb_mask(uint8_t *p, size_t n, uint32_t mask);

typedef struct vcb_frame {
	int opcode;
	bool fin, masked;
	const uint8_t *payload;
	uint64_t len;
	size_t size; /* header + payload */
} vcb_frame_t;

/* The server frame at the start of p[0..n): 1 with f filled, 0 when not all
 * of it is there yet (f->size then holds what is needed so far, or 0 when
 * the header itself is cut), -1 when it is malformed (RSV bits, a masked
 * server frame, a 64-bit length with the top bit). */
int vcb_frame_parse(const uint8_t *p, size_t n, vcb_frame_t *f);

/* --- PacketWrapper ----------------------------------------------------------------- */

enum { VCB_PT_MEDIA = 3, VCB_PT_MEETING = 7, VCB_PT_SESSION_ASSIGNED = 8 };

/* The bytes of a PacketWrapper {packet_type MEDIA, user_id, data (dlen
 * bytes), session_id} before and after its data: out gets the prefix
 * (returns its length, *suffix_at gets where the suffix starts in out) and
 * the suffix follows it; the data goes between the two when a message is
 * built. */
typedef struct vcb_wrapper {
	uint8_t prefix[64], suffix[16];
	size_t prefix_len, suffix_len;
} vcb_wrapper_t;

bool vcb_wrapper_init(vcb_wrapper_t *w, const char *user_id, size_t dlen, uint64_t session_id);

/* Fields 1, 3 and 4 of a PacketWrapper in p[0..n); false if malformed. */
bool vcb_wrapper_parse(const uint8_t *p, size_t n, uint64_t *type, const uint8_t **data,
                       size_t *dlen, uint64_t *session_id);

/* --- latency histogram ------------------------------------------------------------- */

/* Log-linear buckets of nanoseconds: exact below 64, then 64 buckets per
 * power of two (under 1.6 % error). */
#define VCB_HIST_SUB 64
#define VCB_HIST_BUCKETS (VCB_HIST_SUB * 59)

typedef struct vcb_hist {
	uint64_t n[VCB_HIST_BUCKETS];
	uint64_t count, max;
} vcb_hist_t;

void vcb_hist_add(vcb_hist_t *h, uint64_t ns);
void vcb_hist_merge(vcb_hist_t *to, const vcb_hist_t *from);
/* Nearest-rank percentile p (0..1], in nanoseconds (a bucket's middle). */
uint64_t vcb_hist_pct(const vcb_hist_t *h, double p);

#endif
