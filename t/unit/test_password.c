/*
 * test_password.c — password hashing (actors/password.c): Argon2id round
 * trips and rehash on outdated parameters, legacy bcrypt ($2a$, $2b$, $2y$)
 * and unsalted SHA-256 hashes verifying once with VC_PW_OK_REHASH,
 * unusable stored hashes answering VC_PW_ERROR, never VC_PW_OK, and the
 * dummy hash for unknown users doing a stored hash's Argon2id work.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <crypt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/password.h"

/* Public crypt_blowfish / OpenBSD test vectors (also checked with crypt_r). */
#define BCRYPT_UU "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"   /* "U*U" */
#define BCRYPT_UUU "$2a$05$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK"  /* "U*U*" */
#define BCRYPT_UU_Y "$2y$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW" /* "U*U" */
/* sha256("password"), e.g. `printf password | sha256sum` */
#define SHA256_PASSWORD "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"
#define SHA256_PASSWORD_UC "5E884898DA28047151D0E56F8DC6292773603D0D6AABBDD62A11EF721D1542D8"

/* bcrypt hash of pw at cost 4 with the given prefix, made with libxcrypt. */
static void bcrypt_make(const char *prefix, const char *pw, char out[CRYPT_OUTPUT_SIZE])
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	const char *h;

	assert_non_null(cd);
	assert_non_null(crypt_gensalt_rn(prefix, 4, NULL, 0, salt, sizeof(salt)));
	h = crypt_r(pw, salt, cd);
	assert_non_null(h);
	assert_int_equal(strlen(h), 60);
	assert_memory_equal(h, prefix, 4);
	strcpy(out, h);
	free(cd);
}

/* ---- Argon2id -------------------------------------------------------------- */

static void test_hash_round_trip(void **state)
{
	char h1[VC_PASSWORD_HASH_MAX], h2[VC_PASSWORD_HASH_MAX];

	assert_int_equal(vc_password_hash("correct horse battery staple", h1), 0);
	assert_memory_equal(h1, "$argon2id$", 10);
	assert_true(strlen(h1) < VC_PASSWORD_HASH_MAX);
	assert_int_equal(vc_password_verify(h1, "correct horse battery staple"), VC_PW_OK);
	assert_int_equal(vc_password_verify(h1, "correct horse battery stapl"), VC_PW_BAD);
	assert_int_equal(vc_password_verify(h1, "Correct horse battery staple"), VC_PW_BAD);
	assert_int_equal(vc_password_verify(h1, ""), VC_PW_BAD);
	assert_true(vc_password_hash_kind_ok(h1));
	/* salted: the same password never hashes to the same string twice */
	assert_int_equal(vc_password_hash("correct horse battery staple", h2), 0);
	assert_string_not_equal(h1, h2);
	assert_int_equal(vc_password_verify(h2, "correct horse battery staple"), VC_PW_OK);
}

static void test_hash_empty_and_utf8(void **state)
{
	char h[VC_PASSWORD_HASH_MAX];

	assert_int_equal(vc_password_hash("", h), 0);
	assert_int_equal(vc_password_verify(h, ""), VC_PW_OK);
	assert_int_equal(vc_password_verify(h, " "), VC_PW_BAD);
	assert_int_equal(vc_password_hash("p\xc3\xa4ssw\xc3\xb6rd", h), 0);
	assert_int_equal(vc_password_verify(h, "p\xc3\xa4ssw\xc3\xb6rd"), VC_PW_OK);
	assert_int_equal(vc_password_verify(h, "passw\xc3\xb6rd"), VC_PW_BAD);
}

/* Argon2id made with other parameters than ours: valid, but rehash. */
static void test_argon2id_outdated(void **state)
{
	char h[crypto_pwhash_STRBYTES];

	assert_int_equal(crypto_pwhash_str_alg(h, "hunter2", 7, crypto_pwhash_OPSLIMIT_MIN,
	                                       crypto_pwhash_MEMLIMIT_MIN,
	                                       crypto_pwhash_ALG_ARGON2ID13),
	                 0);
	assert_true(vc_password_hash_kind_ok(h));
	assert_int_equal(vc_password_verify(h, "hunter2"), VC_PW_OK_REHASH);
	assert_int_equal(vc_password_verify(h, "hunter3"), VC_PW_BAD);
	/* stronger than ours is "different" too: the stored hash follows the config */
	assert_int_equal(crypto_pwhash_str_alg(h, "hunter2", 7,
	                                       crypto_pwhash_OPSLIMIT_INTERACTIVE + 1,
	                                       crypto_pwhash_MEMLIMIT_MIN,
	                                       crypto_pwhash_ALG_ARGON2ID13),
	                 0);
	assert_int_equal(vc_password_verify(h, "hunter2"), VC_PW_OK_REHASH);
}

/* Argon2i is not a kind vcd stores or imports. */
static void test_argon2i_refused(void **state)
{
	char h[crypto_pwhash_STRBYTES];

	assert_int_equal(crypto_pwhash_str_alg(h, "hunter2", 7, crypto_pwhash_OPSLIMIT_MIN + 2,
	                                       crypto_pwhash_MEMLIMIT_MIN,
	                                       crypto_pwhash_ALG_ARGON2I13),
	                 0);
	assert_memory_equal(h, "$argon2i$", 9);
	assert_false(vc_password_hash_kind_ok(h));
	assert_int_equal(vc_password_verify(h, "hunter2"), VC_PW_ERROR);
}

/* ---- bcrypt -------------------------------------------------------------------- */

static void test_bcrypt_generated(void **state)
{
	static const char *const prefixes[] = { "$2b$", "$2a$", "$2y$" };
	char h[CRYPT_OUTPUT_SIZE];

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		bcrypt_make(prefixes[i], "s3cret pass", h);
		assert_true(vc_password_hash_kind_ok(h));
		assert_int_equal(vc_password_verify(h, "s3cret pass"), VC_PW_OK_REHASH);
		assert_int_equal(vc_password_verify(h, "s3cret pasS"), VC_PW_BAD);
		assert_int_equal(vc_password_verify(h, ""), VC_PW_BAD);
	}
}

static void test_bcrypt_vectors(void **state)
{
	assert_int_equal(vc_password_verify(BCRYPT_UU, "U*U"), VC_PW_OK_REHASH);
	assert_int_equal(vc_password_verify(BCRYPT_UU, "U*U*"), VC_PW_BAD);
	assert_int_equal(vc_password_verify(BCRYPT_UUU, "U*U*"), VC_PW_OK_REHASH);
	assert_int_equal(vc_password_verify(BCRYPT_UUU, "U*U"), VC_PW_BAD);
	assert_int_equal(vc_password_verify(BCRYPT_UU_Y, "U*U"), VC_PW_OK_REHASH);
}

/* bcrypt uses 72 bytes of a password; longer ones still verify, even past
 * libcrypt's own 511-byte limit. */
static void test_bcrypt_long_password(void **state)
{
	char pw[700], h[CRYPT_OUTPUT_SIZE];

	memset(pw, 'p', sizeof(pw) - 1);
	pw[sizeof(pw) - 1] = '\0';
	pw[100] = '\0';
	bcrypt_make("$2b$", pw, h);
	assert_int_equal(vc_password_verify(h, pw), VC_PW_OK_REHASH);
	pw[100] = 'p';
	assert_int_equal(vc_password_verify(h, pw), VC_PW_OK_REHASH); /* 699 bytes */
	pw[71] = 'q';
	assert_int_equal(vc_password_verify(h, pw), VC_PW_BAD);
	pw[71] = '\0';
	assert_int_equal(vc_password_verify(h, pw), VC_PW_BAD); /* 71 bytes */
}

static void test_bcrypt_malformed(void **state)
{
	static const char *const bad[] = {
		"$2x$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", /* old buggy variant
		                                                                 */
		"$2$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
		"$2a$03$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", /* cost too low */
		"$2a$32$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", /* too high */
		"$2a$5$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
		"$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOe",   /* 59 */
		"$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeWW", /* 61 */
		"$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOe=",
		"$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW\n",
		"$2a$05$",
		"$2a$",
		"$2",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(vc_password_hash_kind_ok(bad[i]));
		assert_int_equal(vc_password_verify(bad[i], "U*U"), VC_PW_ERROR);
	}
}

/* ---- unsalted SHA-256 ------------------------------------------------------------ */

static void test_sha256(void **state)
{
	assert_int_equal(vc_password_verify(SHA256_PASSWORD, "password"), VC_PW_OK_REHASH);
	assert_int_equal(vc_password_verify(SHA256_PASSWORD_UC, "password"), VC_PW_OK_REHASH);
	assert_int_equal(vc_password_verify(SHA256_PASSWORD, "Password"), VC_PW_BAD);
	assert_int_equal(vc_password_verify(SHA256_PASSWORD, ""), VC_PW_BAD);
	/* sha256("") */
	assert_int_equal(vc_password_verify("e3b0c44298fc1c149afbf4c8996fb924"
	                                    "27ae41e4649b934ca495991b7852b855",
	                                    ""),
	                 VC_PW_OK_REHASH);
	assert_int_equal(vc_password_verify(SHA256_PASSWORD "0", "password"), VC_PW_ERROR);
	assert_int_equal(vc_password_verify(SHA256_PASSWORD_UC + 1, "password"), VC_PW_ERROR);
	assert_int_equal(vc_password_verify(
	                         "5g884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8",
	                         "password"),
	                 VC_PW_ERROR);
	assert_int_equal(vc_password_verify(SHA256_PASSWORD " ", "password"), VC_PW_ERROR);
}

/* ---- unusable hashes ------------------------------------------------------------- */

static void test_garbage(void **state)
{
	char h[VC_PASSWORD_HASH_MAX], cut[VC_PASSWORD_HASH_MAX];
	static const char *const bad[] = {
		"",
		"password",
		"*",
		"!",
		"$argon2id$",
		"$argon2id$v=19$m=65536,t=2,p=1$",
		"$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$",
		"$argon2id$v=19$m=65536,t=2,p=1$$",
		"$argon2$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$c29tZWhhc2g",
		"$1$saltsalt$qjXMvbEw8oaL.CzflDugX/", /* md5crypt-shaped */
		"$6$salt$"
		"IxDD3jeSOb5eB1CX5LBsqZFVkJdido3OUILO5Ifz5iwMuTS4XMS130MTSuDDl3aCI6WouIL9AjRbLCelDC"
		"y.g.", /* sha512crypt-shaped */
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(vc_password_hash_kind_ok(bad[i]));
		assert_int_equal(vc_password_verify(bad[i], "password"), VC_PW_ERROR);
		assert_int_equal(vc_password_verify(bad[i], ""), VC_PW_ERROR);
	}
	assert_false(vc_password_hash_kind_ok(NULL));
	assert_int_equal(vc_password_verify(NULL, "password"), VC_PW_ERROR);
	assert_int_equal(vc_password_verify(SHA256_PASSWORD, NULL), VC_PW_ERROR);
	/* a real hash cut inside its parameters or salt */
	assert_int_equal(vc_password_hash("password", h), 0);
	for (size_t n = 10; n < 40; n += 7) {
		memcpy(cut, h, n);
		cut[n] = '\0';
		assert_false(vc_password_hash_kind_ok(cut));
		assert_int_equal(vc_password_verify(cut, "password"), VC_PW_ERROR);
	}
	/* or losing its hash part: never OK */
	strcpy(cut, h);
	cut[strlen(cut) - 3] = '\0';
	assert_int_not_equal(vc_password_verify(cut, "password"), VC_PW_OK);
	assert_int_not_equal(vc_password_verify(cut, "password"), VC_PW_OK_REHASH);
}

/* ---- the import check ------------------------------------------------------------ */

static void test_hash_kind_ok(void **state)
{
	char h[VC_PASSWORD_HASH_MAX], b[CRYPT_OUTPUT_SIZE];
	/* clang-format off */
	static const struct {
		const char *stored;
		int ok;
	} table[] = {
		{ BCRYPT_UU,          1 },
		{ BCRYPT_UUU,         1 },
		{ BCRYPT_UU_Y,        1 },
		{ "$2b$31$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", 1 },
		{ "$2b$04$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", 1 },
		{ "$2b$04$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvy+eW", 0 },
		{ "$2B$04$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", 0 },
		{ SHA256_PASSWORD,    1 },
		{ SHA256_PASSWORD_UC, 1 },
		{ "5e884898DA28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8", 1 },
		{ SHA256_PASSWORD "\n", 0 },
		{ " " SHA256_PASSWORD,  0 },
		{ "",                 0 },
		{ "plaintext",        0 },
		{ "$argon2id$garbage", 0 },
		{ "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$", 0 },
	};
	/* clang-format on */

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (vc_password_hash_kind_ok(table[i].stored) != table[i].ok)
			fail_msg("hash_kind_ok(\"%s\") should be %d", table[i].stored, table[i].ok);
	assert_int_equal(vc_password_hash("x", h), 0);
	assert_int_equal(vc_password_hash_kind_ok(h), 1);
	bcrypt_make("$2b$", "x", b);
	assert_int_equal(vc_password_hash_kind_ok(b), 1);
}

/*
 * vc_password_burn exists so that a login for an unknown user costs the
 * Argon2id work a wrong password for a real one costs. Timing it against
 * a verify would be flaky and DESIGN.md §7 keeps timing out of make check;
 * the cost of Argon2id is fixed by its parameters, so the test checks
 * those instead, through the test hook: every burn runs crypto_pwhash_str
 * to completion, on the password, with exactly the memory, passes and
 * lanes of a hash vc_password_hash stores (the string's "$argon2id$v=19$
 * m=…,t=…,p=…$" part), and the result verifies as VC_PW_OK (not
 * OK_REHASH: the parameters are the current ones). Verifying a real
 * user's current hash runs Argon2id with the same parameters.
 */
static char burned[4][VC_PASSWORD_HASH_MAX];
static unsigned nburned;

static void burn_seen(const char *dummy_hash)
{
	if (nburned < 4)
		snprintf(burned[nburned], sizeof(burned[0]), "%s", dummy_hash);
	nburned++;
}

/* The parameter part of an Argon2id string: up to the '$' before the salt. */
static size_t argon2_params_len(const char *h)
{
	const char *p = h;

	for (int dollars = 0; *p != '\0'; p++)
		if (*p == '$' && ++dollars == 4)
			return (size_t)(p - h) + 1;
	fail_msg("'%s' is not an Argon2id string", h);
	return 0;
}

static void test_burn(void **state)
{
	static const char *const pws[] = { "some password", "" };
	char stored[VC_PASSWORD_HASH_MAX];
	size_t n;

	assert_int_equal(vc_password_hash("a real user's password", stored), 0);
	n = argon2_params_len(stored);
	nburned = 0;
	vc_password_burn_test_hook = burn_seen;
	for (unsigned i = 0; i < 2; i++)
		vc_password_burn(pws[i]);
	vc_password_burn_test_hook = NULL;
	assert_int_equal(nburned, 2); /* one full hash per burn, none failed */
	for (unsigned i = 0; i < 2; i++) {
		if (argon2_params_len(burned[i]) != n || memcmp(burned[i], stored, n) != 0)
			fail_msg("burn ran '%.*s', a stored hash has '%.*s'",
			         (int)argon2_params_len(burned[i]), burned[i], (int)n, stored);
		assert_int_equal(vc_password_verify(burned[i], pws[i]), VC_PW_OK);
		assert_int_equal(vc_password_verify(burned[i], "another password"), VC_PW_BAD);
	}
	/* salted like a real hash: no shortcut through a cached result */
	assert_string_not_equal(burned[0] + n, burned[1] + n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_round_trip),
		cmocka_unit_test(test_hash_empty_and_utf8),
		cmocka_unit_test(test_argon2id_outdated),
		cmocka_unit_test(test_argon2i_refused),
		cmocka_unit_test(test_bcrypt_generated),
		cmocka_unit_test(test_bcrypt_vectors),
		cmocka_unit_test(test_bcrypt_long_password),
		cmocka_unit_test(test_bcrypt_malformed),
		cmocka_unit_test(test_sha256),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_hash_kind_ok),
		cmocka_unit_test(test_burn),
	};

	if (vc_password_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
