/*
 * password.h — password hashing and verification. CPU-heavy by design
 * (Argon2id): call these only on an offload thread (runtime/offload.h),
 * never on a worker.
 *
 * New hashes are Argon2id strings from libsodium's crypto_pwhash_str
 * ("$argon2id$v=19$m=…"). Imported legacy hashes are verified too:
 * bcrypt ("$2a$", "$2b$", "$2y$", via libcrypt) and unsalted SHA-256 as 64
 * hex characters; a successful check of a legacy (or outdated Argon2id)
 * hash says VC_PW_OK_REHASH so the caller stores a fresh Argon2id hash.
 */
#ifndef VC_PASSWORD_H
#define VC_PASSWORD_H

#include <stddef.h>

#include "runtime/vc.h"

#define VC_PASSWORD_HASH_MAX 128 /* >= crypto_pwhash_STRBYTES, NUL included */

enum vc_pw_result {
	VC_PW_OK,        /* matches, hash is current */
	VC_PW_OK_REHASH, /* matches, but store a new hash (legacy or outdated parameters) */
	VC_PW_BAD,       /* does not match */
	VC_PW_ERROR,     /* unusable stored hash or out of memory */
};

/* Library initialisation (sodium_init); 0 or -1. Main thread, once. */
int vc_password_init(void) VC_MUSTCHECK;
/* Argon2id hash of pw into out (VC_PASSWORD_HASH_MAX bytes). 0 or -1 (OOM). */
int vc_password_hash(const char *pw, char *out) VC_MUSTCHECK;
/* Check pw against a stored hash of any supported kind, in constant time
 * for a given kind. */
enum vc_pw_result vc_password_verify(const char *stored, const char *pw);
/* Is this a hash string vcd can verify (for `vcctl users import`)? */
int vc_password_hash_kind_ok(const char *stored);

/* A run of the Argon2id hash whose only purpose is to make the answer for an
 * unknown user take as long as for a known one: the same function with the
 * same parameters as vc_password_hash, so the same work as verifying a
 * current stored hash. Its result is wiped. */
void vc_password_burn(const char *pw);

/* TEST HOOK, for t/unit/test_password.c only; vcd leaves it NULL. When set
 * (before any burn runs, from the thread that will burn), vc_password_burn
 * calls it with the dummy hash it made, before wiping it, so that the test
 * can check that the work done is an Argon2id hash of the password with
 * the parameters of stored hashes. */
extern void (*vc_password_burn_test_hook)(const char *dummy_hash);

#endif
