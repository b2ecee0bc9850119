/*
 * jwt.c — HS256 JWS compact tokens (see jwt.h).
 *
 * A token is base64url(header) "." base64url(payload) "." base64url(sig),
 * base64url without padding (RFC 7515 §2), sig = HMAC-SHA-256 over the
 * first two parts as they appear in the token. Decoding is strict: '='
 * padding, characters outside A-Za-z0-9-_ and non-canonical trailing bits
 * are MALFORMED.
 *
 * Verification order: size and shape (three parts, each valid base64url),
 * header (a JSON object; alg exactly "HS256"; a "crit" header — extensions
 * we would have to understand — is refused as MALFORMED), signature
 * (constant-time compare), then payload (a JSON object) and its claims:
 * exp, iss, aud. The payload is parsed only once the signature holds.
 * An empty key never verifies and never signs: it can only be a
 * configuration mistake.
 */
#include "wire/jwt.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define JWT_MAX_LEN 8192 /* longer tokens are MALFORMED before any decoding */
#define JWT_HEADER "{\"typ\":\"JWT\",\"alg\":\"HS256\"}"
#define JWT_ALG "HS256"
#define B64_VARIANT sodium_base64_VARIANT_URLSAFE_NO_PADDING

/* One part of a token: where it is and what it decodes to. */
typedef struct {
	const char *text;
	size_t len;
	unsigned char *bin;
	size_t binlen;
} jwt_part_t;

/* clang-format off */
static const char *const jwt_errors[] = {
	[VC_JWT_OK]            = "token valid",
	[VC_JWT_MALFORMED]     = "token malformed (not three base64url parts of JSON objects)",
	[VC_JWT_BAD_ALG]       = "token algorithm is not HS256",
	[VC_JWT_BAD_SIGNATURE] = "token signature does not match the key",
	[VC_JWT_EXPIRED]       = "token expired",
	[VC_JWT_NO_EXP]        = "token has no integer exp claim",
	[VC_JWT_BAD_ISSUER]    = "token issuer (iss) missing or not the expected one",
	[VC_JWT_HAS_AUDIENCE]  = "token carries an aud claim (not accepted)",
	[VC_JWT_BAD_AUDIENCE]  = "token audience (aud) missing or not the expected one",
};
/* clang-format on */

const char *vc_jwt_strerror(enum vc_jwt_error e)
{
	if ((size_t)e >= VC_ARRAY_LEN(jwt_errors) || jwt_errors[e] == NULL)
		return "unknown token error";
	return jwt_errors[e];
}

/* ---- primitives ---------------------------------------------------------- */

/* base64url of bin appended at out; returns the number of characters written. */
static size_t b64_put(char *out, const unsigned char *bin, size_t len)
{
	size_t cap = sodium_base64_ENCODED_LEN(len, B64_VARIANT);

	sodium_bin2base64(out, cap, bin, len, B64_VARIANT);
	return strlen(out);
}

/* Decode p->text into a fresh p->bin; -1 on any byte that is not strict base64url. */
static int b64_get(jwt_part_t *p)
{
	const char *end = NULL;

	p->bin = vc_malloc(p->len / 4 * 3 + 3);
	if (sodium_base642bin(p->bin, p->len / 4 * 3 + 3, p->text, p->len, NULL, &p->binlen, &end,
	                      B64_VARIANT) != 0 ||
	    end != p->text + p->len)
		return -1;
	return 0;
}

static void hmac(unsigned char mac[crypto_auth_hmacsha256_BYTES], const uint8_t *key, size_t keylen,
                 const char *msg, size_t len)
{
	crypto_auth_hmacsha256_state st;

	crypto_auth_hmacsha256_init(&st, key, keylen);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)msg, len);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_memzero(&st, sizeof(st)); /* holds key-derived pads */
}

/* ---- signing ------------------------------------------------------------- */

char *vc_jwt_sign(const json_t *claims, const uint8_t *key, size_t keylen)
{
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	char *payload, *tok;
	size_t plen, n;

	if (!json_is_object(claims) || keylen == 0)
		return NULL;
	payload = json_dumps(claims, JSON_COMPACT);
	if (payload == NULL)
		return NULL;
	plen = strlen(payload);
	tok = vc_malloc(sodium_base64_ENCODED_LEN(strlen(JWT_HEADER), B64_VARIANT) +
	                sodium_base64_ENCODED_LEN(plen, B64_VARIANT) +
	                sodium_base64_ENCODED_LEN(sizeof(mac), B64_VARIANT));
	n = b64_put(tok, (const unsigned char *)JWT_HEADER, strlen(JWT_HEADER));
	tok[n++] = '.';
	n += b64_put(tok + n, (const unsigned char *)payload, plen);
	free(payload);
	hmac(mac, key, keylen, tok, n);
	tok[n++] = '.';
	b64_put(tok + n, mac, sizeof(mac));
	return tok;
}

/* ---- verification -------------------------------------------------------- */

/* Split token into three parts and decode each; -1 unless exactly three. */
static int split(const char *token, size_t len, jwt_part_t part[3])
{
	const char *p = token, *end = token + len;

	for (int i = 0; i < 3; i++) {
		const char *dot = memchr(p, '.', (size_t)(end - p));

		if ((dot == NULL) != (i == 2))
			return -1; /* fewer than three parts, or more */
		part[i].text = p;
		part[i].len = (size_t)((dot ? dot : end) - p);
		if (b64_get(&part[i]) != 0)
			return -1;
		if (dot != NULL)
			p = dot + 1;
	}
	return 0;
}

/* A JSON object (no duplicate keys) from a decoded part, or NULL. */
static json_t *parse_object(const jwt_part_t *p)
{
	json_t *j = json_loadb((const char *)p->bin, p->binlen, JSON_REJECT_DUPLICATES, NULL);

	if (j != NULL && !json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

static enum vc_jwt_error check_header(const jwt_part_t *p)
{
	json_t *h = parse_object(p), *alg;
	enum vc_jwt_error e = VC_JWT_OK;

	if (h == NULL)
		return VC_JWT_MALFORMED;
	alg = json_object_get(h, "alg");
	if (!json_is_string(alg) || json_string_length(alg) != strlen(JWT_ALG) ||
	    memcmp(json_string_value(alg), JWT_ALG, strlen(JWT_ALG)) != 0)
		e = VC_JWT_BAD_ALG;
	else if (json_object_get(h, "crit") != NULL)
		e = VC_JWT_MALFORMED;
	json_decref(h);
	return e;
}

static enum vc_jwt_error check_signature(const char *token, const jwt_part_t part[3],
                                         const uint8_t *key, size_t keylen)
{
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	size_t signed_len = (size_t)(part[2].text - 1 - token); /* header "." payload */
	int diff;

	if (keylen == 0 || part[2].binlen != sizeof(mac))
		return VC_JWT_BAD_SIGNATURE;
	hmac(mac, key, keylen, token, signed_len);
	diff = sodium_memcmp(mac, part[2].bin, sizeof(mac));
	sodium_memzero(mac, sizeof(mac));
	return diff == 0 ? VC_JWT_OK : VC_JWT_BAD_SIGNATURE;
}

/* exp must be an integer no older than now - VC_JWT_LEEWAY. */
static enum vc_jwt_error check_exp(const json_t *claims, int64_t now)
{
	const json_t *exp = json_object_get(claims, "exp");
	int64_t oldest;

	if (!json_is_integer(exp))
		return VC_JWT_NO_EXP;
	if (__builtin_sub_overflow(now, (int64_t)VC_JWT_LEEWAY, &oldest))
		oldest = INT64_MIN;
	return (int64_t)json_integer_value(exp) < oldest ? VC_JWT_EXPIRED : VC_JWT_OK;
}

/* aud is the expected audience, or an array holding it. */
static bool audience_ok(const json_t *aud, const char *audience)
{
	size_t i;
	json_t *v;

	if (json_is_string(aud))
		return strcmp(json_string_value(aud), audience) == 0;
	json_array_foreach(aud, i, v)
	{
		if (json_is_string(v) && strcmp(json_string_value(v), audience) == 0)
			return true;
	}
	return false;
}

static enum vc_jwt_error check_claims(const json_t *claims, const char *issuer,
                                      const char *audience, int64_t now)
{
	const json_t *iss = json_object_get(claims, "iss");
	enum vc_jwt_error e = check_exp(claims, now);

	if (e != VC_JWT_OK)
		return e;
	if (issuer != NULL && (!json_is_string(iss) || strcmp(json_string_value(iss), issuer) != 0))
		return VC_JWT_BAD_ISSUER;
	if (audience != NULL)
		return audience_ok(json_object_get(claims, "aud"), audience) ? VC_JWT_OK
		                                                             : VC_JWT_BAD_AUDIENCE;
	if (json_object_get(claims, "aud") != NULL)
		return VC_JWT_HAS_AUDIENCE;
	return VC_JWT_OK;
}

static enum vc_jwt_error verify_parts(const char *token, jwt_part_t part[3], const uint8_t *key,
                                      size_t keylen, const char *issuer, const char *audience,
                                      int64_t now, json_t **claims)
{
	enum vc_jwt_error e;
	json_t *payload;

	if (split(token, strlen(token), part) != 0)
		return VC_JWT_MALFORMED;
	if ((e = check_header(&part[0])) != VC_JWT_OK)
		return e;
	if ((e = check_signature(token, part, key, keylen)) != VC_JWT_OK)
		return e;
	if ((payload = parse_object(&part[1])) == NULL)
		return VC_JWT_MALFORMED;
	if ((e = check_claims(payload, issuer, audience, now)) != VC_JWT_OK) {
		json_decref(payload);
		return e;
	}
	*claims = payload;
	return VC_JWT_OK;
}

static enum vc_jwt_error verify(const char *token, const uint8_t *key, size_t keylen,
                                const char *issuer, const char *audience, int64_t now,
                                json_t **claims)
{
	jwt_part_t part[3] = { { 0 } };
	json_t *payload = NULL;
	enum vc_jwt_error e = VC_JWT_MALFORMED;

	if (token != NULL && strnlen(token, JWT_MAX_LEN + 1) <= JWT_MAX_LEN)
		e = verify_parts(token, part, key, keylen, issuer, audience, now, &payload);
	for (int i = 0; i < 3; i++)
		free(part[i].bin);
	if (claims != NULL)
		*claims = payload;
	else
		json_decref(payload);
	return e;
}

enum vc_jwt_error vc_jwt_verify(const char *token, const uint8_t *key, size_t keylen,
                                const char *issuer, int64_t now, json_t **claims)
{
	return verify(token, key, keylen, issuer, NULL, now, claims);
}

enum vc_jwt_error vc_jwt_verify_aud(const char *token, const uint8_t *key, size_t keylen,
                                    const char *issuer, const char *audience, int64_t now,
                                    json_t **claims)
{
	return verify(token, key, keylen, issuer, audience, now, claims);
}
