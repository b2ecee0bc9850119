/*
 * jwt.h — JWS compact tokens, HS256 only (videocall.rs's session, room and
 * observer tokens).
 *
 * Signing writes the header {"typ":"JWT","alg":"HS256"} exactly as
 * jsonwebtoken's default header does. Verification is strict: three
 * base64url parts, header alg exactly "HS256" ("none" and every other alg
 * rejected), signature compared in constant time, `exp` required and in the
 * future within `leeway` seconds, `iss` equal to the expected issuer, no
 * `aud` claim at all (videocall.rs rejects tokens carrying one).
 */
#ifndef VC_JWT_H
#define VC_JWT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/vc.h"

#define VC_JWT_ISSUER "videocall-meeting-backend"
#define VC_JWT_LEEWAY 60

/* Sign `claims` (not stolen) with key; returns a malloc'ed token or NULL. */
char *vc_jwt_sign(const json_t *claims, const uint8_t *key, size_t keylen);

enum vc_jwt_error {
	VC_JWT_OK = 0,
	VC_JWT_MALFORMED, /* not three base64url parts of JSON objects */
	VC_JWT_BAD_ALG,   /* alg is not exactly HS256 */
	VC_JWT_BAD_SIGNATURE,
	VC_JWT_EXPIRED, /* exp past (with leeway): the only retryable refusal */
	VC_JWT_NO_EXP,  /* exp missing or not an integer */
	VC_JWT_BAD_ISSUER,
	VC_JWT_HAS_AUDIENCE,
	VC_JWT_BAD_AUDIENCE, /* vc_jwt_verify_aud: aud missing or not the expected one */
};

/* Verify token at time `now` (seconds). On VC_JWT_OK *claims receives the
 * payload object (caller decrefs). */
enum vc_jwt_error vc_jwt_verify(const char *token, const uint8_t *key, size_t keylen,
                                const char *issuer, int64_t now, json_t **claims) VC_MUSTCHECK;
/* vc_jwt_verify, but `aud` is required and must be `audience` (a string
 * equal to it, or an array holding it), as PyJWT checks it (the external
 * API's application tokens). */
enum vc_jwt_error vc_jwt_verify_aud(const char *token, const uint8_t *key, size_t keylen,
                                    const char *issuer, const char *audience, int64_t now,
                                    json_t **claims) VC_MUSTCHECK;
const char *vc_jwt_strerror(enum vc_jwt_error e);

#endif
