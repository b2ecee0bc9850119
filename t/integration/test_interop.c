/*
 * test_interop.c — vcd's room and observer tokens verified by a JWT library
 * vcd shares no code with: Node's jose (t/interop/verify_room_token.mjs,
 * HS256 only, issuer videocall-meeting-backend), given only the shared
 * secret, as a media server would. The tokens come from a real vcd over
 * HTTP (a host's and an auto-admitted attendee's room tokens, a waiting
 * attendee's observer token); the claims jose prints are checked member by
 * member, and a tampered token or a wrong secret must be refused.
 *
 * Needs node (18 or later) and jose installed by `npm ci --prefix t/interop`
 * in the source tree; without them the whole program is skipped (exit 77,
 * which t/integration/run.sh counts as skipped) with a message saying how to
 * install them. A make distcheck tree has no node_modules, so it skips there.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "t/lib/vctest.h"
#include "t/lib/vctest_meetings.h"
#include "wire/jwt.h"

#define HOST "host@example.com"
#define ATT "attendee@example.com"
#define HOST_NAME "Host User"
#define CLAIMS_SHAPE "sub:s room:s room_join:b is_host:b display_name:s observer:b exp:i iss:s"
/* Room tokens add vcd's grants (doc/external.md); observer tokens do not. */
#define ROOM_SHAPE                                                                                 \
	CLAIMS_SHAPE " room_admin:b can_publish:b can_publish_sources:a ?room_role:s ?embed_provider:s"
#define SCRIPT "t/interop/verify_room_token.mjs"
#define NODE_MIN 18   /* Debian 12 has 18; jose 5 runs there */
#define NODE_MS 20000 /* one node run, start-up included */
#define SKIP_STATUS 77

static char *db_url;
static vct_vcd_t *vcd;
static char *script;

/* --- running jose --------------------------------------------------------- */

/* Run the verifier on token with secret (in SECRET, kept out of argv). */
static int verify(vct_cmd_t *r, const char *token, const char *secret)
{
	char *env = vct_strf("SECRET=%s", secret);
	const char *envv[] = { env, "TOKEN", NULL };
	vct_run_opts_t o = { .env = envv, .timeout_ms = NODE_MS };
	int st = vct_runl(r, &o, "node", script, token, NULL);

	free(env);
	return st;
}

/* jose must accept token: its claims as jose printed them (new reference). */
static json_t *jose_claims(const char *token, const char *what)
{
	vct_cmd_t r;
	json_error_t e;
	json_t *claims;

	if (verify(&r, token, VCM_SECRET) != 0)
		fail_msg("jose refused the %s (node exited %d): %s%s", what, r.status, r.err,
		         r.out);
	claims = json_loads(r.out, JSON_REJECT_DUPLICATES, &e);
	if (claims == NULL)
		fail_msg("node printed no JSON for the %s (%s): '%s'", what, e.text, r.out);
	vct_cmd_free(&r);
	vcm_shape(claims, strstr(what, "observer") != NULL ? CLAIMS_SHAPE : ROOM_SHAPE, what);
	return claims;
}

/* jose must refuse token with secret: exit 1 and `reason` on stderr. */
static void jose_refuses(const char *token, const char *secret, const char *reason,
                         const char *what)
{
	vct_cmd_t r;

	verify(&r, token, secret);
	if (r.status != 1 || strstr(r.err, reason) == NULL)
		fail_msg("jose on the %s: exit %d, stderr '%s'; expected exit 1 and '%s'", what,
		         r.status, r.err, reason);
	vct_cmd_free(&r);
}

/* The claims jose gave against what vcd was asked for; exp within
 * [t0, t1] + ttl. */
static void expect_claims(const json_t *c, const char *user, const char *room, bool join,
                          bool is_host, bool observer, const char *name, long long t0, long long t1,
                          long long ttl)
{
	long long exp = (long long)vct_json_int(c, "exp");

	assert_string_equal(vct_json_str(c, "sub"), user);
	assert_string_equal(vct_json_str(c, "room"), room);
	assert_int_equal(vct_json_bool(c, "room_join"), join);
	assert_int_equal(vct_json_bool(c, "is_host"), is_host);
	assert_int_equal(vct_json_bool(c, "observer"), observer);
	assert_string_equal(vct_json_str(c, "display_name"), name);
	assert_string_equal(vct_json_str(c, "iss"), VC_JWT_ISSUER);
	assert_null(json_object_get(c, "aud"));
	if (exp < t0 + ttl || exp > t1 + ttl)
		fail_msg("exp %lld is not now + %lld s (expected %lld..%lld)", exp, ttl, t0 + ttl,
		         t1 + ttl);
}

/* --- tampering ------------------------------------------------------------ */

static char *b64url(const char *text)
{
	size_t n = strlen(text),
	       cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char *out = malloc(cap);

	assert_non_null(out);
	sodium_bin2base64(out, cap, (const unsigned char *)text, n,
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return out;
}

/* token with its payload replaced by `claims` and the signature kept. */
static char *with_payload(const char *token, const json_t *claims)
{
	const char *dot1 = strchr(token, '.'), *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
	char *json = json_dumps(claims, JSON_COMPACT), *p, *t;

	assert_non_null(dot2);
	p = b64url(json);
	t = vct_strf("%.*s.%s%s", (int)(dot1 - token), token, p, dot2);
	free(json);
	free(p);
	return t;
}

/* token with one character in the middle of its signature changed. */
static char *with_bad_signature(const char *token)
{
	char *t = vct_strf("%s", token), *sig = strrchr(t, '.') + 1;
	size_t i = strlen(sig) / 2;

	sig[i] = sig[i] == 'A' ? 'B' : 'A';
	return t;
}

/* --- cases ---------------------------------------------------------------- */

static void test_host_room_token(void **state)
{
	const char *room = "interop-host";
	long long t0, t1;
	json_t *p, *c;

	vcm_new_room(HOST, room, NULL);
	t0 = vcm_now();
	p = vcm_join(HOST, room, HOST_NAME);
	t1 = vcm_now();
	vcm_participant(p, HOST, "admitted", true);
	c = jose_claims(vct_json_str(p, "room_token"), "host's room token");
	expect_claims(c, HOST, room, true, true, false, HOST_NAME, t0, t1, VCM_TOKEN_TTL);
	json_decref(c);
	json_decref(p);
	vct_pass();
}

/* Without a waiting room an attendee is admitted at once: is_host false,
 * and the display name defaults to the user id. */
static void test_attendee_room_token(void **state)
{
	const char *room = "interop-attendee";
	long long t0, t1;
	json_t *p, *c;

	vcm_new_room(HOST, room, ",\"waiting_room_enabled\":false");
	json_decref(vcm_join(HOST, room, HOST_NAME));
	t0 = vcm_now();
	p = vcm_join(ATT, room, NULL);
	t1 = vcm_now();
	vcm_participant(p, ATT, "admitted", false);
	c = jose_claims(vct_json_str(p, "room_token"), "attendee's room token");
	expect_claims(c, ATT, room, true, false, false, ATT, t0, t1, VCM_TOKEN_TTL);
	json_decref(c);
	json_decref(p);
	vct_pass();
}

static void test_observer_token(void **state)
{
	const char *room = "interop-observer";
	long long t0, t1;
	json_t *p, *c;

	vcm_new_room(HOST, room, NULL);
	json_decref(vcm_join(HOST, room, HOST_NAME));
	t0 = vcm_now();
	p = vcm_join(ATT, room, "Waiting Person");
	t1 = vcm_now();
	vcm_participant(p, ATT, "waiting", false);
	vcm_absent(p, "room_token", "waiting join");
	c = jose_claims(vct_json_str(p, "observer_token"), "observer token");
	expect_claims(c, ATT, room, false, false, true, "Waiting Person", t0, t1, VCM_OBSERVER_TTL);
	json_decref(c);
	json_decref(p);
	vct_pass();
}

/* A changed signature, or claims changed under the old signature (an
 * attendee making itself host), or the wrong secret: all refused. */
static void test_tampered_and_wrong_secret(void **state)
{
	const char *room = "interop-tamper", *sig_fail = "ERR_JWS_SIGNATURE_VERIFICATION_FAILED";
	json_t *p, *c;
	char *bad;

	vcm_new_room(HOST, room, ",\"waiting_room_enabled\":false");
	json_decref(vcm_join(HOST, room, HOST_NAME));
	p = vcm_join(ATT, room, NULL);
	c = jose_claims(vct_json_str(p, "room_token"), "attendee's room token");
	bad = with_bad_signature(vct_json_str(p, "room_token"));
	jose_refuses(bad, VCM_SECRET, sig_fail, "token with a changed signature");
	free(bad);
	json_object_set_new(c, "is_host", json_true());
	bad = with_payload(vct_json_str(p, "room_token"), c);
	jose_refuses(bad, VCM_SECRET, sig_fail, "token claiming is_host under the old signature");
	free(bad);
	jose_refuses(vct_json_str(p, "room_token"), "wrong-" VCM_SECRET, sig_fail,
	             "token checked with a wrong secret");
	jose_refuses("not.a.jwt", VCM_SECRET, "token rejected", "malformed token");
	json_decref(c);
	json_decref(p);
	vct_pass();
}

/* --- main ----------------------------------------------------------------- */

/* Why this program cannot run here (a static string), or NULL: node 18+ on
 * PATH and jose under $top_srcdir/t/interop/node_modules. */
static const char *missing(const char *top)
{
	char line[64] = "", *jose;
	FILE *f = popen("node --version 2>/dev/null", "r");
	bool ok;

	if (f == NULL || fgets(line, sizeof(line), f) == NULL) {
		if (f != NULL)
			pclose(f);
		return "node is not on PATH: install Node.js 18 or later (Debian: apt-get "
		       "install nodejs npm), then run `npm ci --prefix t/interop` in the source "
		       "tree";
	}
	pclose(f);
	if (line[0] != 'v' || atoi(line + 1) < NODE_MIN)
		return "node is older than 18, which the interop test needs";
	jose = vct_strf("%s/t/interop/node_modules/jose/package.json", top);
	ok = access(jose, R_OK) == 0;
	free(jose);
	return ok ? NULL
	          : "jose is not installed: run `npm ci --prefix t/interop` in the source tree";
}

static int group_setup(void **state)
{
	vcd = vcm_start("interop", "interop", NULL, &db_url);
	return 0;
}

static int group_teardown(void **state)
{
	return vcm_finish(vcd, &db_url);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, vct_setup, vct_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_host_room_token),
		T(test_attendee_room_token),
		T(test_observer_token),
		T(test_tampered_and_wrong_secret),
	};
	const char *top = getenv("top_srcdir"), *why;
	int rc;

	if (top == NULL || *top == '\0') {
		fprintf(stderr,
		        "test_interop: top_srcdir is not set (run me through make check)\n");
		return 99;
	}
	why = missing(top);
	if (why != NULL) {
		fprintf(stderr,
		        "test_interop: SKIP: %s; the interop test of room tokens with jose "
		        "did not run\n",
		        why);
		return SKIP_STATUS;
	}
	script = vct_strf("%s/%s", top, SCRIPT);
	rc = cmocka_run_group_tests(tests, group_setup, group_teardown);
	free(script);
	return rc;
}
