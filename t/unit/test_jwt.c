/*
 * test_jwt.c — HS256 tokens (wire/jwt.c): signing is byte-exact against
 * tokens made independently with Node's crypto module, and verification
 * rejects every way a token can be wrong with the right error: algorithm,
 * signature, key, exp, iss, aud and the shape of the token itself.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/jwt.h"

#define KEY "vcd-test-secret"
#define NOW ((int64_t)1700000000)
#define HEADER_B64 "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9"
#define HS256_HEADER "{\"typ\":\"JWT\",\"alg\":\"HS256\"}"

/*
 * Made with Node 20, crypto module only, outside vcd:
 *   b64 = b => Buffer.from(b).toString("base64").replace(/=+$/, "")
 *                     .replace(/\+/g, "-").replace(/\//g, "_");
 *   h = b64(JSON.stringify({typ: "JWT", alg: "HS256"}));
 *   p = b64(JSON.stringify(claims));
 *   token = h + "." + p + "." + b64(crypto.createHmac("sha256", key)
 *                                   .update(h + "." + p).digest());
 * NODE_TOKEN: key "vcd-test-secret", claims {"sub":"alice@example.com",
 * "name":"Alice","exp":4102444800,"iat":1700000000,"iss":"videocall-meeting-backend"}.
 * NODE_TOKEN_LONG_KEY: key "k" x 100 (longer than the HMAC block), claims
 * {"sub":"bob","exp":4102444800,"iss":"videocall-meeting-backend"}.
 */
#define NODE_TOKEN                                                                                 \
	HEADER_B64 ".eyJzdWIiOiJhbGljZUBleGFtcGxlLmNvbSIsIm5hbWUiOiJBbGljZSIsImV4cCI6NDEwMjQ0NDgw" \
	           "MCwiaWF0IjoxNzAwMDAwMDAwLCJpc3MiOiJ2aWRlb2NhbGwtbWVldGluZy1iYWNrZW5kIn0"       \
	           ".ChXl4a-i4dou2-iw5NkNvoA-0IIdgqEfHZEwQPCLuDM"
#define NODE_TOKEN_LONG_KEY                                                                        \
	HEADER_B64 ".eyJzdWIiOiJib2IiLCJleHAiOjQxMDI0NDQ4MDAsImlzcyI6InZpZGVvY2FsbC1tZWV0aW5nLWJh" \
	           "Y2tlbmQifQ.3wZnfwbihXCXBzf0wkath7B1fai8FZO8bf1HhVXUCeY"

/* ---- helpers: tokens built here with libsodium, not with wire/jwt.c ------ */

static char *b64(const char *s, int variant)
{
	size_t cap = sodium_base64_ENCODED_LEN(strlen(s), variant);
	char *out = malloc(cap);

	assert_non_null(out);
	return sodium_bin2base64(out, cap, (const unsigned char *)s, strlen(s), variant);
}

/* h "." p "." HMAC-SHA-256(key, h "." p), h and p already encoded. */
static char *sign_parts(const char *h, const char *p, const char *key)
{
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_state st;
	size_t n = strlen(h) + strlen(p) + 2, cap = n + 64;
	char *tok = malloc(cap);

	assert_non_null(tok);
	snprintf(tok, cap, "%s.%s", h, p);
	crypto_auth_hmacsha256_init(&st, (const unsigned char *)key, strlen(key));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)tok, n - 1);
	crypto_auth_hmacsha256_final(&st, mac);
	tok[n - 1] = '.';
	sodium_bin2base64(tok + n, cap - n, mac, sizeof(mac),
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return tok;
}

/* A correctly signed token for any header and payload text. */
static char *make(const char *header, const char *payload, const char *key)
{
	char *h = b64(header, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char *p = b64(payload, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char *tok = sign_parts(h, p, key);

	free(h);
	free(p);
	return tok;
}

static enum vc_jwt_error verify(const char *tok)
{
	json_t *claims = (json_t *)&claims; /* must be overwritten */
	enum vc_jwt_error e =
	        vc_jwt_verify(tok, (const uint8_t *)KEY, strlen(KEY), VC_JWT_ISSUER, NOW, &claims);

	if (e == VC_JWT_OK)
		assert_true(json_is_object(claims));
	else
		assert_null(claims);
	json_decref(claims);
	return e;
}

/* Sign `payload` (JSON text) with the HS256 header and KEY, verify it. */
static enum vc_jwt_error verify_payload(const char *payload)
{
	char *tok = make(HS256_HEADER, payload, KEY);
	enum vc_jwt_error e = verify(tok);

	free(tok);
	return e;
}

static enum vc_jwt_error verify_header(const char *header)
{
	char *tok = make(header, "{\"exp\":4102444800,\"iss\":\"videocall-meeting-backend\"}", KEY);
	enum vc_jwt_error e = verify(tok);

	free(tok);
	return e;
}

static json_t *alice(void)
{
	return json_pack("{s:s, s:s, s:I, s:I, s:s}", "sub", "alice@example.com", "name", "Alice",
	                 "exp", (json_int_t)4102444800, "iat", (json_int_t)1700000000, "iss",
	                 VC_JWT_ISSUER);
}

/* ---- signing --------------------------------------------------------------- */

static void test_sign_verify_round_trip(void **state)
{
	json_t *in = alice(), *out = NULL;
	char *tok = vc_jwt_sign(in, (const uint8_t *)KEY, strlen(KEY));

	assert_non_null(tok);
	assert_int_equal(vc_jwt_verify(tok, (const uint8_t *)KEY, strlen(KEY), VC_JWT_ISSUER, NOW,
	                               &out),
	                 VC_JWT_OK);
	assert_true(json_equal(in, out));
	json_decref(out);
	/* a NULL claims pointer just verifies */
	assert_int_equal(vc_jwt_verify(tok, (const uint8_t *)KEY, strlen(KEY), NULL, NOW, NULL),
	                 VC_JWT_OK);
	free(tok);
	json_decref(in);
}

static void test_sign_header_byte_exact(void **state)
{
	json_t *in = json_pack("{s:I}", "exp", (json_int_t)1);
	char *tok = vc_jwt_sign(in, (const uint8_t *)"k", 1);

	assert_non_null(tok);
	assert_memory_equal(tok, HEADER_B64 ".", strlen(HEADER_B64) + 1);
	free(tok);
	json_decref(in);
}

/* Same claims in the same order give exactly the token Node made. */
static void test_sign_matches_node(void **state)
{
	json_t *in = alice();
	char *tok = vc_jwt_sign(in, (const uint8_t *)KEY, strlen(KEY));

	assert_string_equal(tok, NODE_TOKEN);
	free(tok);
	json_decref(in);
}

static void test_sign_refuses(void **state)
{
	json_t *arr = json_array(), *obj = json_object();

	assert_null(vc_jwt_sign(arr, (const uint8_t *)KEY, strlen(KEY)));
	assert_null(vc_jwt_sign(obj, (const uint8_t *)"", 0));
	json_decref(arr);
	json_decref(obj);
}

/* ---- verification: good tokens -------------------------------------------- */

static void test_verify_node_vectors(void **state)
{
	char long_key[101];
	json_t *claims = NULL;

	assert_int_equal(vc_jwt_verify(NODE_TOKEN, (const uint8_t *)KEY, strlen(KEY), VC_JWT_ISSUER,
	                               NOW, &claims),
	                 VC_JWT_OK);
	assert_string_equal(json_string_value(json_object_get(claims, "sub")), "alice@example.com");
	assert_int_equal(json_integer_value(json_object_get(claims, "exp")), 4102444800);
	json_decref(claims);

	memset(long_key, 'k', 100);
	long_key[100] = '\0';
	assert_int_equal(vc_jwt_verify(NODE_TOKEN_LONG_KEY, (const uint8_t *)long_key, 100,
	                               VC_JWT_ISSUER, NOW, NULL),
	                 VC_JWT_OK);
	assert_int_equal(vc_jwt_verify(NODE_TOKEN_LONG_KEY, (const uint8_t *)long_key, 99,
	                               VC_JWT_ISSUER, NOW, NULL),
	                 VC_JWT_BAD_SIGNATURE);
}

/* ---- verification: algorithm ---------------------------------------------- */

static void test_alg(void **state)
{
	char *h, *p, *tok;

	assert_int_equal(verify_header("{\"typ\":\"JWT\",\"alg\":\"none\"}"), VC_JWT_BAD_ALG);
	assert_int_equal(verify_header("{\"alg\":\"HS512\"}"), VC_JWT_BAD_ALG);
	assert_int_equal(verify_header("{\"alg\":\"RS256\"}"), VC_JWT_BAD_ALG);
	assert_int_equal(verify_header("{\"alg\":\"hs256\"}"), VC_JWT_BAD_ALG);
	assert_int_equal(verify_header("{\"alg\":\"HS256 \"}"), VC_JWT_BAD_ALG);
	assert_int_equal(verify_header("{\"alg\":null}"), VC_JWT_BAD_ALG);
	assert_int_equal(verify_header("{\"alg\":256}"), VC_JWT_BAD_ALG);
	assert_int_equal(verify_header("{\"typ\":\"JWT\"}"), VC_JWT_BAD_ALG);
	assert_int_equal(verify_header("{}"), VC_JWT_BAD_ALG);
	/* the header need not be byte-identical to ours, only say HS256 */
	assert_int_equal(verify_header("{\"alg\":\"HS256\"}"), VC_JWT_OK);
	assert_int_equal(verify_header("{ \"alg\" : \"HS256\", \"kid\": \"1\" }"), VC_JWT_OK);
	/* an unsigned "none" token, the classic attack: empty signature part */
	h = b64("{\"alg\":\"none\",\"typ\":\"JWT\"}", sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	p = b64("{\"exp\":4102444800,\"iss\":\"videocall-meeting-backend\"}",
	        sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	tok = malloc(strlen(h) + strlen(p) + 3);
	sprintf(tok, "%s.%s.", h, p);
	assert_int_equal(verify(tok), VC_JWT_BAD_ALG);
	free(tok);
	free(h);
	free(p);
}

/* ---- verification: signature and key ---------------------------------------- */

static void test_tampered_payload(void **state)
{
	char *good = make(HS256_HEADER,
	                  "{\"exp\":4102444800,\"iss\":\"videocall-meeting-backend\"}", KEY);
	char *evil =
	        make(HS256_HEADER,
	             "{\"exp\":4102444800,\"iss\":\"videocall-meeting-backend\",\"admin\":1}", KEY);
	char *sig = strrchr(good, '.'), *sig2 = strrchr(evil, '.');

	assert_int_equal(verify(good), VC_JWT_OK);
	/* the other payload with the first signature */
	assert_int_equal(strlen(sig), strlen(sig2));
	memcpy(sig2, sig, strlen(sig));
	assert_int_equal(verify(evil), VC_JWT_BAD_SIGNATURE);
	free(good);
	free(evil);
}

static void test_tampered_signature(void **state)
{
	char *tok = make(HS256_HEADER, "{\"exp\":4102444800,\"iss\":\"videocall-meeting-backend\"}",
	                 KEY);
	char *sig = strrchr(tok, '.') + 1;

	sig[10] = sig[10] == 'A' ? 'B' : 'A';
	assert_int_equal(verify(tok), VC_JWT_BAD_SIGNATURE);
	sig[8] = '\0'; /* valid base64url, but 6 bytes, not 32 */
	assert_int_equal(verify(tok), VC_JWT_BAD_SIGNATURE);
	sig[0] = '\0'; /* no signature at all */
	assert_int_equal(verify(tok), VC_JWT_BAD_SIGNATURE);
	free(tok);
}

static void test_wrong_key(void **state)
{
	char *tok = make(HS256_HEADER, "{\"exp\":4102444800,\"iss\":\"videocall-meeting-backend\"}",
	                 "another-secret");

	assert_int_equal(verify(tok), VC_JWT_BAD_SIGNATURE);
	assert_int_equal(vc_jwt_verify(tok, (const uint8_t *)"another-secret", 14, VC_JWT_ISSUER,
	                               NOW, NULL),
	                 VC_JWT_OK);
	/* a key that is a prefix of the right one */
	assert_int_equal(vc_jwt_verify(tok, (const uint8_t *)"another-secret", 13, VC_JWT_ISSUER,
	                               NOW, NULL),
	                 VC_JWT_BAD_SIGNATURE);
	free(tok);
	/* an empty key never verifies, even a token signed with the empty key */
	tok = make(HS256_HEADER, "{\"exp\":4102444800,\"iss\":\"videocall-meeting-backend\"}", "");
	assert_int_equal(vc_jwt_verify(tok, (const uint8_t *)"", 0, VC_JWT_ISSUER, NOW, NULL),
	                 VC_JWT_BAD_SIGNATURE);
	free(tok);
}

/* ---- verification: claims --------------------------------------------------- */

static enum vc_jwt_error verify_exp(const char *exp)
{
	char payload[256];

	snprintf(payload, sizeof(payload), "{\"iss\":\"videocall-meeting-backend\"%s%s}",
	         exp ? ",\"exp\":" : "", exp ? exp : "");
	return verify_payload(payload);
}

static void test_exp(void **state)
{
	assert_int_equal(verify_exp(NULL), VC_JWT_NO_EXP);
	assert_int_equal(verify_exp("\"4102444800\""), VC_JWT_NO_EXP);
	assert_int_equal(verify_exp("4102444800.0"), VC_JWT_NO_EXP);
	assert_int_equal(verify_exp("null"), VC_JWT_NO_EXP);
	assert_int_equal(verify_exp("true"), VC_JWT_NO_EXP);
	assert_int_equal(verify_exp("1699999939"), VC_JWT_EXPIRED); /* now - leeway - 1 */
	assert_int_equal(verify_exp("0"), VC_JWT_EXPIRED);
	assert_int_equal(verify_exp("-9223372036854775808"), VC_JWT_EXPIRED);
	assert_int_equal(verify_exp("1699999940"), VC_JWT_OK); /* now - leeway */
	assert_int_equal(verify_exp("1699999999"), VC_JWT_OK); /* just past, within leeway */
	assert_int_equal(verify_exp("1700000000"), VC_JWT_OK);
	assert_int_equal(verify_exp("9223372036854775807"), VC_JWT_OK);
	assert_int_equal(VC_JWT_LEEWAY, 60); /* the numbers above assume it */
}

static void test_exp_at_extreme_now(void **state)
{
	char *tok = make(HS256_HEADER, "{\"exp\":-9223372036854775808}", KEY);

	/* now - leeway would overflow: must not wrap around to "far future" */
	assert_int_equal(vc_jwt_verify(tok, (const uint8_t *)KEY, strlen(KEY), NULL, INT64_MIN,
	                               NULL),
	                 VC_JWT_OK);
	assert_int_equal(vc_jwt_verify(tok, (const uint8_t *)KEY, strlen(KEY), NULL, INT64_MAX,
	                               NULL),
	                 VC_JWT_EXPIRED);
	free(tok);
}

static void test_iss(void **state)
{
	char *tok;

	assert_int_equal(verify_payload("{\"exp\":4102444800,\"iss\":\"someone-else\"}"),
	                 VC_JWT_BAD_ISSUER);
	assert_int_equal(verify_payload(
	                         "{\"exp\":4102444800,\"iss\":\"videocall-meeting-backend \"}"),
	                 VC_JWT_BAD_ISSUER);
	assert_int_equal(verify_payload("{\"exp\":4102444800,\"iss\":\"\"}"), VC_JWT_BAD_ISSUER);
	assert_int_equal(verify_payload("{\"exp\":4102444800,\"iss\":null}"), VC_JWT_BAD_ISSUER);
	assert_int_equal(verify_payload(
	                         "{\"exp\":4102444800,\"iss\":[\"videocall-meeting-backend\"]}"),
	                 VC_JWT_BAD_ISSUER);
	assert_int_equal(verify_payload("{\"exp\":4102444800}"), VC_JWT_BAD_ISSUER);
	/* issuer NULL: iss is not checked */
	tok = make(HS256_HEADER, "{\"exp\":4102444800}", KEY);
	assert_int_equal(vc_jwt_verify(tok, (const uint8_t *)KEY, strlen(KEY), NULL, NOW, NULL),
	                 VC_JWT_OK);
	free(tok);
}

static void test_aud(void **state)
{
	assert_int_equal(verify_payload("{\"exp\":4102444800,\"iss\":\"videocall-meeting-backend\","
	                                "\"aud\":\"videocall\"}"),
	                 VC_JWT_HAS_AUDIENCE);
	assert_int_equal(verify_payload("{\"aud\":[],\"exp\":4102444800,"
	                                "\"iss\":\"videocall-meeting-backend\"}"),
	                 VC_JWT_HAS_AUDIENCE);
	assert_int_equal(verify_payload("{\"exp\":4102444800,\"iss\":\"videocall-meeting-backend\","
	                                "\"aud\":null}"),
	                 VC_JWT_HAS_AUDIENCE);
}

/* vc_jwt_verify_aud: aud required, equal to the audience or an array holding it. */
static enum vc_jwt_error verify_aud(const char *payload)
{
	char *tok = make(HS256_HEADER, payload, KEY);
	enum vc_jwt_error e = vc_jwt_verify_aud(tok, (const uint8_t *)KEY, strlen(KEY), "vcd",
	                                        "vcd-external-api", NOW, NULL);

	free(tok);
	return e;
}

static void test_aud_required(void **state)
{
	assert_int_equal(verify_aud("{\"exp\":4102444800,\"iss\":\"vcd\",\"aud\":\"vcd-external-api\"}"),
	                 VC_JWT_OK);
	assert_int_equal(verify_aud("{\"exp\":4102444800,\"iss\":\"vcd\","
	                            "\"aud\":[\"x\",\"vcd-external-api\"]}"),
	                 VC_JWT_OK);
	assert_int_equal(verify_aud("{\"exp\":4102444800,\"iss\":\"vcd\"}"), VC_JWT_BAD_AUDIENCE);
	assert_int_equal(verify_aud("{\"exp\":4102444800,\"iss\":\"vcd\",\"aud\":\"other\"}"),
	                 VC_JWT_BAD_AUDIENCE);
	assert_int_equal(verify_aud("{\"exp\":4102444800,\"iss\":\"vcd\",\"aud\":[]}"),
	                 VC_JWT_BAD_AUDIENCE);
	/* exp and iss come first */
	assert_int_equal(verify_aud("{\"exp\":1,\"iss\":\"vcd\",\"aud\":\"other\"}"),
	                 VC_JWT_EXPIRED);
	assert_int_equal(verify_aud("{\"exp\":4102444800,\"iss\":\"x\",\"aud\":\"vcd-external-api\"}"),
	                 VC_JWT_BAD_ISSUER);
}

/* ---- verification: shape ------------------------------------------------------ */

static void test_parts(void **state)
{
	char *tok = make(HS256_HEADER, "{\"exp\":4102444800,\"iss\":\"videocall-meeting-backend\"}",
	                 KEY);
	size_t len = strlen(tok);
	char *longer = malloc(len + 6);

	assert_int_equal(verify(tok), VC_JWT_OK);
	snprintf(longer, len + 6, "%s.AAAA", tok); /* four parts */
	assert_int_equal(verify(longer), VC_JWT_MALFORMED);
	snprintf(longer, len + 6, "%s.", tok); /* four parts, the last empty */
	assert_int_equal(verify(longer), VC_JWT_MALFORMED);
	*strrchr(tok, '.') = '\0'; /* two parts */
	assert_int_equal(verify(tok), VC_JWT_MALFORMED);
	*strrchr(tok, '.') = '\0'; /* one */
	assert_int_equal(verify(tok), VC_JWT_MALFORMED);
	assert_int_equal(verify(""), VC_JWT_MALFORMED);
	assert_int_equal(verify(".."), VC_JWT_MALFORMED);
	assert_int_equal(verify(NULL), VC_JWT_MALFORMED);
	free(longer);
	free(tok);
}

static void test_base64(void **state)
{
	const char *payload = "{\"exp\":4102444800,\"iss\":\"videocall-meeting-backend\",\"n\":1}";
	char *h = b64(HS256_HEADER, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char *padded = b64(payload, sodium_base64_VARIANT_URLSAFE);
	char *plain = b64(payload, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	const char *tricky =
	        "{\"exp\":4102444800,\"iss\":\"videocall-meeting-backend\",\"x\":\"~~~???\"}";
	char *std = b64(tricky, sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
	char *url = b64(tricky, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char *tok;

	assert_non_null(strchr(padded, '=')); /* the test means something */
	tok = sign_parts(h, plain, KEY);
	assert_int_equal(verify(tok), VC_JWT_OK);
	free(tok);
	tok = sign_parts(h, padded, KEY); /* correctly signed, but padded */
	assert_int_equal(verify(tok), VC_JWT_MALFORMED);
	free(tok);
	assert_true(strpbrk(std, "+/") != NULL);
	tok = sign_parts(h, url, KEY);
	assert_int_equal(verify(tok), VC_JWT_OK);
	free(tok);
	tok = sign_parts(h, std, KEY); /* the same in the standard alphabet: not url-safe */
	assert_int_equal(verify(tok), VC_JWT_MALFORMED);
	free(tok);
	tok = sign_parts(h, "eyJleHAiOjF9*", KEY); /* a character outside the alphabet */
	assert_int_equal(verify(tok), VC_JWT_MALFORMED);
	free(tok);
	tok = sign_parts(h, "eyJleHAiOjF9A", KEY); /* 4n + 1 characters cannot be base64 */
	assert_int_equal(verify(tok), VC_JWT_MALFORMED);
	free(tok);
	tok = sign_parts("eyJhbGciOiJIUzI1NiJ9 ", plain, KEY); /* trailing space in the header */
	assert_int_equal(verify(tok), VC_JWT_MALFORMED);
	free(tok);
	free(h);
	free(padded);
	free(plain);
	free(std);
	free(url);
}

static void test_not_objects(void **state)
{
	assert_int_equal(verify_payload("[1,2]"), VC_JWT_MALFORMED);
	assert_int_equal(verify_payload("\"exp\""), VC_JWT_MALFORMED);
	assert_int_equal(verify_payload("4102444800"), VC_JWT_MALFORMED);
	assert_int_equal(verify_payload("{\"exp\":4102444800"), VC_JWT_MALFORMED);
	assert_int_equal(verify_payload(""), VC_JWT_MALFORMED);
	assert_int_equal(verify_payload("{\"exp\":1,\"exp\":4102444800,"
	                                "\"iss\":\"videocall-meeting-backend\"}"),
	                 VC_JWT_MALFORMED); /* duplicate keys are ambiguous */
	assert_int_equal(verify_header("[\"HS256\"]"), VC_JWT_MALFORMED);
	assert_int_equal(verify_header("{\"alg\":\"HS256\""), VC_JWT_MALFORMED);
	assert_int_equal(verify_header("{\"alg\":\"none\",\"alg\":\"HS256\"}"), VC_JWT_MALFORMED);
	assert_int_equal(verify_header("{\"alg\":\"HS256\",\"crit\":[\"b64\"],\"b64\":false}"),
	                 VC_JWT_MALFORMED);
}

static void test_too_long(void **state)
{
	const char *head = "{\"exp\":4102444800,\"iss\":\"videocall-meeting-backend\",\"x\":\"";
	size_t n = strlen(head);
	char *payload = malloc(n + 6000 + 3), *tok;

	memcpy(payload, head, n);
	memset(payload + n, 'x', 6000);
	strcpy(payload + n + 6000, "\"}");
	tok = make(HS256_HEADER, payload, KEY); /* about 8,100 characters */
	assert_true(strlen(tok) <= 8192);
	assert_int_equal(verify(tok), VC_JWT_OK);
	free(tok);
	payload = realloc(payload, n + 6200 + 3); /* 6,200 x: over 8 KiB once encoded */
	memset(payload + n, 'x', 6200);
	strcpy(payload + n + 6200, "\"}");
	tok = make(HS256_HEADER, payload, KEY);
	assert_true(strlen(tok) > 8192);
	assert_int_equal(verify(tok), VC_JWT_MALFORMED);
	free(tok);
	free(payload);
}

static void test_strerror(void **state)
{
	for (int e = VC_JWT_OK; e <= VC_JWT_HAS_AUDIENCE; e++) {
		const char *s = vc_jwt_strerror((enum vc_jwt_error)e);
		assert_non_null(s);
		assert_true(strlen(s) > 5);
	}
	assert_string_equal(vc_jwt_strerror((enum vc_jwt_error)99), "unknown token error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sign_verify_round_trip),
		cmocka_unit_test(test_sign_header_byte_exact),
		cmocka_unit_test(test_sign_matches_node),
		cmocka_unit_test(test_sign_refuses),
		cmocka_unit_test(test_verify_node_vectors),
		cmocka_unit_test(test_alg),
		cmocka_unit_test(test_tampered_payload),
		cmocka_unit_test(test_tampered_signature),
		cmocka_unit_test(test_wrong_key),
		cmocka_unit_test(test_exp),
		cmocka_unit_test(test_exp_at_extreme_now),
		cmocka_unit_test(test_iss),
		cmocka_unit_test(test_aud),
		cmocka_unit_test(test_parts),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_not_objects),
		cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_strerror),
		cmocka_unit_test(test_aud_required),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
