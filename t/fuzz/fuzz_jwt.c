/*
 * fuzz_jwt.c — libFuzzer target for JWT verification (wire/jwt.c), with a
 * fixed key and issuer. Each input is used twice:
 *   - as a whole token: the result is a known error, and claims come back
 *     exactly on VC_JWT_OK;
 *   - as the payload of a token correctly signed here (libsodium, not
 *     wire/jwt.c), so the payload parser and the claim checks behind the
 *     signature are reached: such a token never fails on alg or signature.
 * Any token that verifies is re-signed with vc_jwt_sign and must verify to
 * equal claims.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/jwt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_KEY "fuzz-secret"
#define FUZZ_NOW ((int64_t)1700000000)
#define FUZZ_HEADER "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9" /* {"typ":"JWT","alg":"HS256"} */
#define B64 sodium_base64_VARIANT_URLSAFE_NO_PADDING

static enum vc_jwt_error verify(const char *token, json_t **claims)
{
	return vc_jwt_verify(token, (const uint8_t *)FUZZ_KEY, strlen(FUZZ_KEY), VC_JWT_ISSUER,
	                     FUZZ_NOW, claims);
}

/* A verified payload signs to a token that verifies to equal claims. */
static void check_resign(json_t *claims)
{
	char *tok = vc_jwt_sign(claims, (const uint8_t *)FUZZ_KEY, strlen(FUZZ_KEY));
	json_t *again = NULL;

	if (tok == NULL)
		abort();
	if (strlen(tok) <= 8192) {
		if (verify(tok, &again) != VC_JWT_OK || !json_equal(claims, again))
			abort();
		json_decref(again);
	}
	free(tok);
}

static enum vc_jwt_error check(const char *token)
{
	json_t *claims = (json_t *)&claims; /* must be overwritten */
	enum vc_jwt_error e = verify(token, &claims);

	if (e > VC_JWT_HAS_AUDIENCE || vc_jwt_strerror(e) == NULL)
		abort();
	if ((e == VC_JWT_OK) != (claims != NULL))
		abort();
	if (claims != NULL) {
		check_resign(claims);
		json_decref(claims);
	}
	return e;
}

/* FUZZ_HEADER "." base64url(data) "." HMAC, made without wire/jwt.c. */
static char *sign_payload(const uint8_t *data, size_t size)
{
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	size_t hlen = strlen(FUZZ_HEADER), plen = sodium_base64_ENCODED_LEN(size, B64);
	size_t cap = hlen + 1 + plen + 1 + sodium_base64_ENCODED_LEN(sizeof(mac), B64);
	char *tok = malloc(cap);
	crypto_auth_hmacsha256_state st;
	size_t n;

	memcpy(tok, FUZZ_HEADER ".", hlen + 1);
	sodium_bin2base64(tok + hlen + 1, plen, data, size, B64);
	n = strlen(tok);
	crypto_auth_hmacsha256_init(&st, (const unsigned char *)FUZZ_KEY, strlen(FUZZ_KEY));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)tok, n);
	crypto_auth_hmacsha256_final(&st, mac);
	tok[n++] = '.';
	sodium_bin2base64(tok + n, cap - n, mac, sizeof(mac), B64);
	return tok;
}

/* Does data parse as a JSON object without duplicate keys? */
static int is_object(const uint8_t *data, size_t size)
{
	json_t *j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	int ok = json_is_object(j);

	json_decref(j);
	return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *token = malloc(size + 1); /* exact size + NUL so ASan sees any over-read */
	enum vc_jwt_error e;

	memcpy(token, data, size);
	token[size] = '\0';
	check(token);
	free(token);

	token = sign_payload(data, size);
	e = check(token);
	if (e == VC_JWT_BAD_ALG || e == VC_JWT_BAD_SIGNATURE)
		abort();
	if (e == VC_JWT_MALFORMED && strlen(token) <= 8192 && is_object(data, size))
		abort();
	free(token);
	return 0;
}
