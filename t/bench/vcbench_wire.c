/*
 * vcbench_wire.c — the wire pieces of vcbench: tokens, the WebSocket
 * handshake and frames (client side), the PacketWrapper envelope, the
 * latency histogram. See vcbench.h.
 */
#include <openssl/sha.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "t/bench/vcbench.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

uint64_t vcb_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* --- tokens --------------------------------------------------------------------- */

static size_t b64url(char *out, size_t len, const void *p, size_t n)
{
	if (sodium_base64_encoded_len(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING) > len)
		return 0;
	sodium_bin2base64(out, len, p, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return strlen(out);
}

bool vcb_mint_jwt(const char *secret, unsigned client, unsigned room, long long exp, char *out,
                  size_t len)
{
	static const char header[] = "{\"typ\":\"JWT\",\"alg\":\"HS256\"}";
	char claims[512];
	uint8_t mac[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_state st;
	size_t h, c, s;
	int n;

	n = snprintf(claims, sizeof(claims),
	             "{\"sub\":\"u%u\",\"room\":\"bench%u\",\"room_join\":true,\"is_host\":false,"
	             "\"display_name\":\"u%u\",\"observer\":false,\"exp\":%lld,"
	             "\"iss\":\"videocall-meeting-backend\"}",
	             client, room, client, exp);
	if (n < 0 || (size_t)n >= sizeof(claims))
		return false;
	if ((h = b64url(out, len, header, sizeof(header) - 1)) == 0 || h + 1 >= len)
		return false;
	out[h++] = '.';
	if ((c = b64url(out + h, len - h, claims, (size_t)n)) == 0 || h + c + 1 >= len)
		return false;
	crypto_auth_hmacsha256_init(&st, (const uint8_t *)secret, strlen(secret));
	crypto_auth_hmacsha256_update(&st, (const uint8_t *)out, h + c);
	crypto_auth_hmacsha256_final(&st, mac);
	out[h + c] = '.';
	s = b64url(out + h + c + 1, len - h - c - 1, mac, sizeof(mac));
	return s > 0;
}

/* --- handshake -------------------------------------------------------------------- */

void vcb_ws_key(char key[VCB_KEY_LEN + 1])
{
	uint8_t raw[16];

	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(key, VCB_KEY_LEN + 1, raw, sizeof(raw), sodium_base64_VARIANT_ORIGINAL);
}

void vcb_ws_accept(const char *key, char accept[29])
{
	char in[VCB_KEY_LEN + sizeof(WS_GUID)];
	uint8_t sha[SHA_DIGEST_LENGTH];
	int n = snprintf(in, sizeof(in), "%s%s", key, WS_GUID);

	SHA1((const unsigned char *)in, (size_t)n, sha);
	sodium_bin2base64(accept, 29, sha, sizeof(sha), sodium_base64_VARIANT_ORIGINAL);
}

size_t vcb_ws_request(char *out, size_t len, const char *host, int port, const char *path,
                      const char *key)
{
	int n = snprintf(out, len,
	                 "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
	                 "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
	                 "Sec-WebSocket-Version: 13\r\n\r\n",
	                 path, host, port, key);

	return n < 0 || (size_t)n >= len ? 0 : (size_t)n;
}

long vcb_ws_response(const char *p, size_t n, const char *key, char *why, size_t whylen)
{
	const char *end = memmem(p, n, "\r\n\r\n", 4), *l;
	char want[29];
	size_t hlen;

	if (end == NULL)
		return 0;
	hlen = (size_t)(end + 4 - p);
	if (hlen < 12 || memcmp(p, "HTTP/1.1 101", 12) != 0) {
		const char *eol = memchr(p, '\r', hlen);
		snprintf(why, whylen, "the upgrade was answered '%.*s'", (int)(eol - p), p);
		return -1;
	}
	vcb_ws_accept(key, want);
	for (l = p; l < end; l = (const char *)memchr(l, '\n', (size_t)(end - l)) + 1) {
		static const char name[] = "Sec-WebSocket-Accept:";
		if (strncasecmp(l, name, sizeof(name) - 1) == 0) {
			const char *v = l + sizeof(name) - 1;
			v += strspn(v, " \t");
			if (strncmp(v, want, 28) == 0 && (v[28] == '\r' || v[28] == ' '))
				return (long)hlen;
			snprintf(why, whylen, "wrong Sec-WebSocket-Accept '%.28s' (want %s)", v,
			         want);
			return -1;
		}
		if (memchr(l, '\n', (size_t)(end - l)) == NULL)
			break;
	}
	snprintf(why, whylen, "101 without Sec-WebSocket-Accept");
	return -1;
}

/* --- frames ------------------------------------------------------------------------ */

size_t vcb_frame_header(uint8_t *out, int opcode, uint64_t n, uint32_t mask)
{
	size_t h = 2;

	out[0] = (uint8_t)(0x80 | opcode);
	if (n < 126) {
		out[1] = (uint8_t)(0x80 | n);
	} else if (n < 65536) {
		out[1] = 0x80 | 126;
		out[2] = (uint8_t)(n >> 8);
		out[3] = (uint8_t)n;
		h = 4;
	} else {
		out[1] = 0x80 | 127;
		for (int i = 0; i < 8; i++)
			out[2 + i] = (uint8_t)(n >> (56 - 8 * i));
		h = 10;
	}
	memcpy(out + h, &mask, 4);
	return h + 4;
}

void vcb_mask(uint8_t *p, size_t n, uint32_t mask)
{
	uint64_t m8 = (uint64_t)mask << 32 | mask, w;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		memcpy(&w, p + i, 8);
		w ^= m8;
		memcpy(p + i, &w, 8);
	}
	for (; i < n; i++)
		p[i] ^= (uint8_t)(mask >> (8 * (i & 3)));
}

int vcb_frame_parse(const uint8_t *p, size_t n, vcb_frame_t *f)
{
	size_t h = 2;
	uint64_t len;

	f->size = 0;
	if (n < 2)
		return 0;
	if ((p[0] & 0x70) != 0 || (p[1] & 0x80) != 0)
		return -1;
	f->fin = (p[0] & 0x80) != 0;
	f->opcode = p[0] & 0x0f;
	f->masked = false;
	len = p[1] & 0x7f;
	if (len == 126) {
		if (n < 4)
			return 0;
		len = (uint64_t)p[2] << 8 | p[3];
		h = 4;
	} else if (len == 127) {
		if (n < 10)
			return 0;
		len = 0;
		for (int i = 0; i < 8; i++)
			len = len << 8 | p[2 + i];
		if (len >> 63)
			return -1;
		h = 10;
	}
	f->len = len;
	f->size = h + len;
	if (n - h < len)
		return 0;
	f->payload = p + h;
	return 1;
}

/* --- PacketWrapper ------------------------------------------------------------------ */

static size_t put_varint(uint8_t *p, uint64_t v)
{
	size_t i = 0;

	while (v >= 0x80) {
		p[i++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[i++] = (uint8_t)v;
	return i;
}

bool vcb_wrapper_init(vcb_wrapper_t *w, const char *user_id, size_t dlen, uint64_t session_id)
{
	size_t ulen = strlen(user_id), i = 0;

	if (ulen > 32)
		return false;
	w->prefix[i++] = 1 << 3 | 0; /* packet_type, varint */
	w->prefix[i++] = VCB_PT_MEDIA;
	w->prefix[i++] = 2 << 3 | 2; /* user_id, bytes */
	w->prefix[i++] = (uint8_t)ulen;
	memcpy(w->prefix + i, user_id, ulen);
	i += ulen;
	w->prefix[i++] = 3 << 3 | 2; /* data, bytes */
	i += put_varint(w->prefix + i, dlen);
	w->prefix_len = i;
	w->suffix_len = 0;
	if (session_id != 0) {
		w->suffix[0] = 4 << 3 | 0; /* session_id, varint */
		w->suffix_len = 1 + put_varint(w->suffix + 1, session_id);
	}
	return true;
}

static bool get_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	*v = 0;
	for (int shift = 0; shift < 64 && *p < end; shift += 7) {
		uint8_t b = *(*p)++;
		*v |= (uint64_t)(b & 0x7f) << shift;
		if (b < 0x80)
			return true;
	}
	return false;
}

bool vcb_wrapper_parse(const uint8_t *p, size_t n, uint64_t *type, const uint8_t **data,
                       size_t *dlen, uint64_t *session_id)
{
	const uint8_t *end = p + n;

	*type = *session_id = 0;
	*data = NULL;
	*dlen = 0;
	while (p < end) {
		uint64_t key, v;
		if (!get_varint(&p, end, &key))
			return false;
		switch (key & 7) {
		case 0:
			if (!get_varint(&p, end, &v))
				return false;
			if (key >> 3 == 1)
				*type = v;
			else if (key >> 3 == 4)
				*session_id = v;
			break;
		case 2:
			if (!get_varint(&p, end, &v) || v > (uint64_t)(end - p))
				return false;
			if (key >> 3 == 3) {
				*data = p;
				*dlen = (size_t)v;
			}
			p += v;
			break;
		case 1:
			if (end - p < 8)
				return false;
			p += 8;
			break;
		case 5:
			if (end - p < 4)
				return false;
			p += 4;
			break;
		default: return false;
		}
	}
	return true;
}

/* --- histogram ------------------------------------------------------------------------ */

static size_t bucket_of(uint64_t ns)
{
	int e;

	if (ns < VCB_HIST_SUB)
		return (size_t)ns;
	e = 63 - __builtin_clzll(ns); /* >= 6 */
	return (size_t)(e - 5) * VCB_HIST_SUB + ((ns >> (e - 6)) & (VCB_HIST_SUB - 1));
}

static uint64_t bucket_mid(size_t b)
{
	size_t e;
	uint64_t lo, width;

	if (b < VCB_HIST_SUB)
		return b;
	e = b / VCB_HIST_SUB + 5;
	width = 1ull << (e - 6);
	lo = (1ull << e) + (b % VCB_HIST_SUB) * width;
	return lo + width / 2;
}

void vcb_hist_add(vcb_hist_t *h, uint64_t ns)
{
	size_t b = bucket_of(ns);

	h->n[b < VCB_HIST_BUCKETS ? b : VCB_HIST_BUCKETS - 1]++;
	h->count++;
	if (ns > h->max)
		h->max = ns;
}

void vcb_hist_merge(vcb_hist_t *to, const vcb_hist_t *from)
{
	for (size_t i = 0; i < VCB_HIST_BUCKETS; i++)
		to->n[i] += from->n[i];
	to->count += from->count;
	if (from->max > to->max)
		to->max = from->max;
}

uint64_t vcb_hist_pct(const vcb_hist_t *h, double p)
{
	uint64_t rank = (uint64_t)(p * (double)h->count + 0.999999), seen = 0;

	if (h->count == 0)
		return 0;
	if (rank == 0)
		rank = 1;
	for (size_t i = 0; i < VCB_HIST_BUCKETS; i++) {
		seen += h->n[i];
		if (seen >= rank) {
			uint64_t mid = bucket_mid(i);
			return mid > h->max ? h->max : mid;
		}
	}
	return h->max;
}
