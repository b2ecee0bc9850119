/*
 * password.c — password hashing and verification (see password.h).
 *
 * New hashes: Argon2id via crypto_pwhash_str with
 * crypto_pwhash_OPSLIMIT_INTERACTIVE and crypto_pwhash_MEMLIMIT_INTERACTIVE
 * (libsodium's interactive profile: 2 passes over 64 MiB). An Argon2id hash
 * made with other parameters still verifies; crypto_pwhash_str_needs_rehash
 * against these two limits decides whether the answer is VC_PW_OK_REHASH.
 *
 * Legacy kinds, chosen by the shape of the stored string, always answer
 * VC_PW_OK_REHASH on a match:
 *   bcrypt  "$2a$", "$2b$", "$2y$" + two-digit cost (04..31) + '$' + 53
 *           characters of ./A-Za-z0-9, checked with crypt_r (libxcrypt) and
 *           a constant-time compare of the whole recomputed string. bcrypt
 *           uses only the first 72 bytes of a password, so longer ones are
 *           cut there (same hash; libcrypt would refuse over 511 bytes).
 *           $2y$ is PHP's name for the same algorithm as $2b$. Debian's
 *           libxcrypt knows all three prefixes; where a libcrypt refuses
 *           $2y$ we retry with the prefix rewritten to $2b$ and compare the
 *           result with the stored string rewritten the same way.
 *   SHA-256 64 hex digits (either case), unsalted SHA-256 of the password,
 *           compared in constant time.
 * Anything else is VC_PW_ERROR: the stored hash is unusable, not "wrong".
 *
 * Copies of passwords and derived material are wiped with sodium_memzero.
 */
#include "actors/password.h"

#include <crypt.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/log.h"

#define PW_OPSLIMIT crypto_pwhash_OPSLIMIT_INTERACTIVE
#define PW_MEMLIMIT crypto_pwhash_MEMLIMIT_INTERACTIVE

#define ARGON2ID_PREFIX "$argon2id$"
#define BCRYPT_LEN 60      /* "$2b$" "NN" "$" + 22 salt + 31 hash characters */
#define BCRYPT_BODY_LEN 53 /* salt and hash after "$2b$NN$" */
#define BCRYPT_KEY_MAX 72  /* password bytes bcrypt uses */
#define SHA256_HEX_LEN (2 * crypto_hash_sha256_BYTES)

_Static_assert(VC_PASSWORD_HASH_MAX >= crypto_pwhash_STRBYTES,
               "VC_PASSWORD_HASH_MAX must hold a crypto_pwhash_str string");

enum pw_kind {
	PW_KIND_UNKNOWN,
	PW_KIND_ARGON2ID,
	PW_KIND_BCRYPT,
	PW_KIND_SHA256,
};

int vc_password_init(void)
{
	if (sodium_init() < 0) {
		log_error("password: libsodium failed to initialise (sodium_init); "
		          "cannot hash or verify passwords");
		return -1;
	}
	return 0;
}

int vc_password_hash(const char *pw, char *out)
{
	if (crypto_pwhash_str(out, pw, strlen(pw), PW_OPSLIMIT, PW_MEMLIMIT) != 0)
		return -1;
	return 0;
}

/* TEST HOOK — see password.h; NULL in vcd. */
void (*vc_password_burn_test_hook)(const char *dummy_hash);

void vc_password_burn(const char *pw)
{
	char buf[crypto_pwhash_STRBYTES];

	if (crypto_pwhash_str(buf, pw, strlen(pw), PW_OPSLIMIT, PW_MEMLIMIT) != 0)
		log_debug("password: dummy hash for an unknown user failed (out of memory?)");
	else if (vc_password_burn_test_hook != NULL)
		vc_password_burn_test_hook(buf);
	sodium_memzero(buf, sizeof(buf));
}

/* ---- recognising the kind of a stored hash ------------------------------ */

static int is_bcrypt_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '/';
}

/* "$2a$", "$2b$" or "$2y$", cost 04..31, '$', 53 characters, nothing more. */
static int is_bcrypt(const char *s)
{
	int cost;

	if (strncmp(s, "$2", 2) != 0 || strchr("aby", s[2]) == NULL || s[2] == '\0' || s[3] != '$')
		return 0;
	if (s[4] < '0' || s[4] > '9' || s[5] < '0' || s[5] > '9' || s[6] != '$')
		return 0;
	cost = (s[4] - '0') * 10 + (s[5] - '0');
	if (cost < 4 || cost > 31)
		return 0;
	for (size_t i = 0; i < BCRYPT_BODY_LEN; i++)
		if (!is_bcrypt_char(s[7 + i]))
			return 0;
	return s[BCRYPT_LEN] == '\0';
}

static int is_sha256_hex(const char *s)
{
	size_t n = strspn(s, "0123456789abcdefABCDEF");

	return n == SHA256_HEX_LEN && s[n] == '\0';
}

static enum pw_kind pw_kind(const char *stored)
{
	if (stored == NULL)
		return PW_KIND_UNKNOWN; /* e.g. a user row without a password */
	if (strncmp(stored, ARGON2ID_PREFIX, strlen(ARGON2ID_PREFIX)) == 0)
		return PW_KIND_ARGON2ID;
	if (is_bcrypt(stored))
		return PW_KIND_BCRYPT;
	if (is_sha256_hex(stored))
		return PW_KIND_SHA256;
	return PW_KIND_UNKNOWN;
}

int vc_password_hash_kind_ok(const char *stored)
{
	switch (pw_kind(stored)) {
	case PW_KIND_ARGON2ID:
		/* -1 when the string does not decode as an Argon2id hash */
		return crypto_pwhash_str_needs_rehash(stored, PW_OPSLIMIT, PW_MEMLIMIT) >= 0;
	case PW_KIND_BCRYPT:
	case PW_KIND_SHA256: return 1;
	default: return 0;
	}
}

/* ---- verification, one function per kind -------------------------------- */

static enum vc_pw_result verify_argon2id(const char *stored, const char *pw)
{
	int rehash = crypto_pwhash_str_needs_rehash(stored, PW_OPSLIMIT, PW_MEMLIMIT);

	if (rehash < 0)
		return VC_PW_ERROR;
	if (crypto_pwhash_str_verify(stored, pw, strlen(pw)) != 0)
		return VC_PW_BAD;
	return rehash ? VC_PW_OK_REHASH : VC_PW_OK;
}

/* crypt_r into data; NULL when libcrypt refuses the setting. */
static const char *bcrypt_run(const char *pw, const char *setting, struct crypt_data *data)
{
	const char *out = crypt_r(pw, setting, data);

	/* Failure is NULL or, in libxcrypt's default mode, a string starting '*'. */
	if (out == NULL || out[0] == '*')
		return NULL;
	return out;
}

static enum vc_pw_result verify_bcrypt(const char *stored, const char *pw)
{
	struct crypt_data *data = vc_calloc(1, sizeof(*data)); /* ~32 KiB: not on the stack */
	char setting[BCRYPT_LEN + 1];
	enum vc_pw_result res = VC_PW_ERROR;
	char key[BCRYPT_KEY_MAX + 1];
	const char *out;

	/* bcrypt reads at most 72 bytes of the password; libcrypt refuses
	 * passwords over 511 bytes, so hand it only the bytes that count. */
	strncpy(key, pw, BCRYPT_KEY_MAX);
	key[BCRYPT_KEY_MAX] = '\0';
	memcpy(setting, stored, sizeof(setting));
	out = bcrypt_run(key, setting, data);
	if (out == NULL && setting[2] == 'y') {
		setting[2] = 'b'; /* $2y$ is $2b$ under another name */
		out = bcrypt_run(key, setting, data);
	}
	if (out != NULL && strlen(out) == BCRYPT_LEN)
		res = sodium_memcmp(out, setting, BCRYPT_LEN) == 0 ? VC_PW_OK_REHASH : VC_PW_BAD;
	sodium_memzero(key, sizeof(key));
	sodium_memzero(data, sizeof(*data)); /* holds the password's bcrypt state */
	free(data);
	return res;
}

static enum vc_pw_result verify_sha256(const char *stored, const char *pw)
{
	unsigned char want[crypto_hash_sha256_BYTES], got[crypto_hash_sha256_BYTES];
	size_t len = 0;
	enum vc_pw_result res;

	if (sodium_hex2bin(want, sizeof(want), stored, SHA256_HEX_LEN, NULL, &len, NULL) != 0 ||
	    len != sizeof(want))
		return VC_PW_ERROR;
	crypto_hash_sha256(got, (const unsigned char *)pw, strlen(pw));
	res = sodium_memcmp(got, want, sizeof(got)) == 0 ? VC_PW_OK_REHASH : VC_PW_BAD;
	sodium_memzero(got, sizeof(got));
	sodium_memzero(want, sizeof(want));
	return res;
}

enum vc_pw_result vc_password_verify(const char *stored, const char *pw)
{
	if (pw == NULL)
		return VC_PW_ERROR;
	switch (pw_kind(stored)) {
	case PW_KIND_ARGON2ID: return verify_argon2id(stored, pw);
	case PW_KIND_BCRYPT: return verify_bcrypt(stored, pw);
	case PW_KIND_SHA256: return verify_sha256(stored, pw);
	default: return VC_PW_ERROR;
	}
}
