/*
 * test_room_tokens.c — room id rules (INVALID_MEETING_ID details) and the
 * claims of room and observer tokens, verified with vcd's own strict JWT
 * check; the system user never gets a token.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "actors/room_tokens.h"
#include "wire/jwt.h"
#include "wire/proto.h"

static const char secret[] = "test-secret-for-integration-tests";

static json_t *verified(const char *token, int64_t now)
{
	json_t *claims = NULL;

	assert_non_null(token);
	assert_int_equal(vc_jwt_verify(token, (const uint8_t *)secret, strlen(secret),
	                               VC_JWT_ISSUER, now, &claims),
	                 VC_JWT_OK);
	return claims;
}

static void test_room_ids(void **state)
{
	char long_id[300];

	assert_null(vc_room_id_problem("standup-2024"));
	assert_null(vc_room_id_problem("A_b-9"));
	assert_string_equal(vc_room_id_problem(""), "cannot be empty");
	memset(long_id, 'a', 256);
	long_id[256] = '\0';
	assert_string_equal(vc_room_id_problem(long_id), "cannot exceed 255 characters");
	long_id[255] = '\0';
	assert_null(vc_room_id_problem(long_id));
	assert_string_equal(vc_room_id_problem("room with spaces"),
	                    "must match pattern: ^[a-zA-Z0-9_-]+$");
	assert_string_equal(vc_room_id_problem("a.b"), "must match pattern: ^[a-zA-Z0-9_-]+$");
	assert_string_equal(vc_room_id_problem("caf\xc3\xa9"),
	                    "must match pattern: ^[a-zA-Z0-9_-]+$");
}

static void test_room_token(void **state)
{
	char *t = vc_room_token(secret, "alice@example.com", "standup", true, "Alice", 1000, 600);
	json_t *c = verified(t, 1000);

	assert_string_equal(json_string_value(json_object_get(c, "sub")), "alice@example.com");
	assert_string_equal(json_string_value(json_object_get(c, "room")), "standup");
	assert_true(json_is_true(json_object_get(c, "room_join")));
	assert_true(json_is_true(json_object_get(c, "is_host")));
	assert_false(json_is_true(json_object_get(c, "observer")));
	assert_string_equal(json_string_value(json_object_get(c, "display_name")), "Alice");
	assert_int_equal(json_integer_value(json_object_get(c, "exp")), 1600);
	assert_null(json_object_get(c, "aud"));
	assert_null(json_object_get(c, "iat"));
	/* expired past the 60 s leeway */
	json_t *none = NULL;
	assert_int_equal(vc_jwt_verify(t, (const uint8_t *)secret, strlen(secret), VC_JWT_ISSUER,
	                               1661, &none),
	                 VC_JWT_EXPIRED);
	json_decref(c);
	free(t);
}

static void test_observer_token(void **state)
{
	char *t = vc_observer_token(secret, "bob", "standup", NULL, 1000);
	json_t *c = verified(t, 1000);

	assert_false(json_is_true(json_object_get(c, "room_join")));
	assert_true(json_is_true(json_object_get(c, "observer")));
	assert_false(json_is_true(json_object_get(c, "is_host")));
	assert_string_equal(json_string_value(json_object_get(c, "display_name")), "bob");
	assert_int_equal(json_integer_value(json_object_get(c, "exp")), 1000 + 1800);
	json_decref(c);
	free(t);
}

/* The claims as text, for comparing arrays. */
static char *claim_text(const json_t *c, const char *key)
{
	return json_dumps(json_object_get(c, key), JSON_COMPACT | JSON_ENCODE_ANY);
}

static void assert_claim(const json_t *c, const char *key, const char *want)
{
	char *got = claim_text(c, key);

	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static json_t *granted(const char *role, const char *sources, const char *embed)
{
	json_t *src = sources ? json_loads(sources, JSON_DECODE_ANY, NULL) : NULL;
	vc_room_grants_t g = { .role = role, .sources = src, .embed_provider = embed };
	char *t = vc_room_token_granted(secret, "carol", "standup", false, "Carol", 1000, 60, &g);
	json_t *c = verified(t, 1000);

	json_decref(src);
	free(t);
	return c;
}

#define ALL "[\"camera\",\"microphone\",\"screen_share\",\"screen_share_audio\"]"

/* doc/external.md: owner and administrator get all four sources whatever
 * the configuration; others get the configured ones, or all when unset. */
static void test_grant_claims(void **state)
{
	static const struct {
		const char *role, *sources, *embed;
		const char *want_role; /* NULL: the claim is absent */
		bool admin, can_publish;
		const char *want_sources;
	} rows[] = {
		{ "owner", "[\"camera\"]", NULL, "owner", true, true, ALL },
		{ "administrator", "[]", NULL, "administrator", true, true, ALL },
		{ "member", "[\"camera\"]", NULL, "member", false, true, "[\"camera\"]" },
		{ "member", NULL, NULL, "member", false, true, ALL },
		{ NULL, "null", NULL, NULL, false, true, ALL },
		{ NULL, "[]", NULL, NULL, false, false, "[]" },
		{ NULL, "[\"screen_share\",\"bogus\",\"screen_share\",\"microphone\"]", "rocketchat",
		  NULL, false, true, "[\"screen_share\",\"microphone\"]" },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		json_t *c = granted(rows[i].role, rows[i].sources, rows[i].embed);

		if (rows[i].want_role != NULL)
			assert_string_equal(json_string_value(json_object_get(c, "room_role")),
			                    rows[i].want_role);
		else
			assert_null(json_object_get(c, "room_role"));
		assert_true(json_is_boolean(json_object_get(c, "room_admin")));
		assert_int_equal(json_is_true(json_object_get(c, "room_admin")), rows[i].admin);
		assert_int_equal(json_is_true(json_object_get(c, "can_publish")),
		                 rows[i].can_publish);
		assert_claim(c, "can_publish_sources", rows[i].want_sources);
		if (rows[i].embed != NULL)
			assert_string_equal(json_string_value(json_object_get(c, "embed_provider")),
			                    rows[i].embed);
		else
			assert_null(json_object_get(c, "embed_provider"));
		/* the videocall.rs claims are untouched */
		assert_string_equal(json_string_value(json_object_get(c, "sub")), "carol");
		assert_true(json_is_true(json_object_get(c, "room_join")));
		assert_false(json_is_true(json_object_get(c, "is_host")));
		json_decref(c);
	}
}

/* Without grants, none of the new claims: what a videocall.rs backend mints. */
static void test_no_grants(void **state)
{
	char *t = vc_room_token(secret, "dave", "standup", false, NULL, 1000, 60);
	json_t *c = verified(t, 1000);
	static const char *const added[] = { "room_role", "room_admin", "can_publish",
		                             "can_publish_sources", "embed_provider" };

	for (size_t i = 0; i < sizeof(added) / sizeof(added[0]); i++)
		assert_null(json_object_get(c, added[i]));
	assert_int_equal(json_object_size(c), 8);
	json_decref(c);
	free(t);
}

static void test_never_for_the_system_user(void **state)
{
	assert_null(vc_room_token(secret, VC_SYSTEM_USER_ID, "standup", true, NULL, 1000, 60));
	assert_null(vc_observer_token(secret, VC_SYSTEM_USER_ID, "standup", NULL, 1000));
	assert_null(vc_room_token("", "alice", "standup", false, NULL, 1000, 60));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_room_ids),
		cmocka_unit_test(test_room_token),
		cmocka_unit_test(test_observer_token),
		cmocka_unit_test(test_grant_claims),
		cmocka_unit_test(test_no_grants),
		cmocka_unit_test(test_never_for_the_system_user),
	};
	return cmocka_run_group_tests_name("room_tokens", tests, NULL, NULL);
}
