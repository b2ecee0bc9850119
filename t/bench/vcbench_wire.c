/*
 * vcbench_wire.c — what vcbench sends that only the media relay speaks:
 * the room tokens it mints and the PacketWrapper envelope. The WebSocket
 * client is t/bench/wsclient*.c. See vcbench.h.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "t/bench/vcbench.h"

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
