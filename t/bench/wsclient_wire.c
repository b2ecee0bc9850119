/*
 * wsclient_wire.c — RFC 6455 on the client side: the handshake (key,
 * request, the server's answer) and frames (masked out, parsed in). See
 * wsclient.h.
 */
#include <openssl/sha.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "t/bench/wsclient.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

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
