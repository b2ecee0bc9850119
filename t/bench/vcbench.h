/*
 * vcbench.h — what vcbench (t/bench/vcbench.c) sends that only the media
 * relay speaks (t/bench/vcbench_wire.c): the PacketWrapper envelope vcd
 * relays, the videocall.rs room token vcbench mints and the bench payload.
 * The WebSocket client and the histogram are shared with the other load
 * generators (wsclient.h, benchutil.h). No state and no threads here.
 */
#ifndef VCBENCH_H
#define VCBENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "t/bench/benchutil.h"
#include "t/bench/wsclient.h"

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

/* --- tokens -------------------------------------------------------------------- */

/* The room token of client i for room r, as vcd's /join hands out: HS256
 * over header {"typ":"JWT","alg":"HS256"}, base64url without padding.
 * Writes a NUL-terminated token into out (len bytes); false if too small. */
bool vcb_mint_jwt(const char *secret, unsigned client, unsigned room, long long exp, char *out,
                  size_t len);

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

#endif
