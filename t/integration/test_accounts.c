/*
 * test_accounts.c — vcd's accounts and sessions against a real vcd and
 * PostgreSQL: register and login (answers, validation, what the database
 * keeps), sessions (list, revoke, logout, the cache), credentials (Bearer,
 * cookie, the cookie's attributes), the videocall.rs routes and session
 * JWTs, legacy password hashes, the auth rate limit, push device tokens,
 * identities never taken from bodies, CORS, and logs free of secrets.
 *
 * One vcd (debug log, no rate limit, session JWTs on) serves most cases;
 * cases that need other settings start their own against the same database.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <crypt.h>
#include <ctype.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "actors/password.h"
#include "t/lib/vctest.h"
#include "wire/jwt.h"

#define JWT_KEY "jwt-key-of-the-accounts-test-5b9e2d"
#define TTL_MS (2 * 3600 * 1000LL) /* session_ttl = 2h, every vcd here */
#define UA "vct-accounts/1.0 (integration test)"
#define APP_ORIGIN "https://app.example"

/* The main vcd: debug log (for the secrets check), no rate limit, a cache
 * that would keep a revoked session alive for an hour, session JWTs on. */
#define MAIN_CONF                                                                                  \
	"log_level = debug\nauth_rate_limit = off\nsession_cache_ttl = 1h\n"                       \
	"session_jwt_compat = true\njwt_secret = " JWT_KEY "\ncors_allowlist = " APP_ORIGIN "\n"

/* Error bodies. */
#define E_USERNAME                                                                                 \
	"{\"error\":\"username must be 3 to 32 letters, digits, '_', '.' or '-', starting with "   \
	"a letter or digit\"}"
#define E_PASSWORD "{\"error\":\"password must be 8 to 256 bytes long\"}"
#define E_DISPLAY "{\"error\":\"displayName must be a string of at most 64 bytes\"}"
#define E_EMAIL "{\"error\":\"email must look like name@example.com (at most 254 bytes)\"}"
#define E_BODY "{\"error\":\"The request body must be a JSON object\"}"
#define E_REQUIRED "{\"error\":\"username and password are required strings\"}"
#define E_TAKEN "{\"error\":\"Username is already taken\"}"
#define E_LOGIN "{\"error\":\"Invalid username or password\"}"
#define E_INVALID "{\"error\":\"Invalid or expired session\"}"
#define E_NOAUTH "{\"error\":\"Authentication required\"}"
#define E_NOSESSION "{\"error\":\"Session not found\"}"
#define E_NODEVICE "{\"error\":\"Device token not found\"}"
#define E_RATE "{\"error\":\"Too many attempts, try again later\"}"
#define OK_TRUE "{\"success\":true}"
#define VC_NOAUTH                                                                                  \
	"{\"success\":false,\"result\":{\"code\":\"UNAUTHORIZED\","                                \
	"\"message\":\"Authentication required.\"}}"
#define VC_INVALID                                                                                 \
	"{\"success\":false,\"result\":{\"code\":\"UNAUTHORIZED\","                                \
	"\"message\":\"Authentication required.\","                                                \
	"\"engineering_error\":\"invalid or expired session\"}}"

#define MAX_SECRETS 512
#define MAX_LOGS 16

static char *db_url;
static vct_vcd_t *vcd; /* the main one */

/* Every token and password the tests used, and every vcd log: none may hold
 * any of them (test_logs_hold_no_secrets). */
static char *secrets[MAX_SECRETS];
static unsigned nsecrets;
static char *logs[MAX_LOGS];
static unsigned nlogs;

typedef struct acct {
	char id[37];
	char username[40];
	char display[80];
	char password[300];
	char token[65]; /* from the registration */
} acct_t;

/* --- helpers -------------------------------------------------------------- */

static const char *keep_secret(const char *s)
{
	if (nsecrets == MAX_SECRETS)
		fail_msg("more than %d secrets: raise MAX_SECRETS", MAX_SECRETS);
	secrets[nsecrets++] = strdup(s);
	return s;
}

/* Fail unless r's Set-Cookie is exactly want (NULL: no Set-Cookie). */
static void expect_cookie(const vct_resp_t *r, const char *want)
{
	const char *got = vct_resp_header(r, "Set-Cookie");

	if (want == NULL ? got != NULL : got == NULL || strcmp(got, want) != 0)
		fail_msg("Set-Cookie: '%s', expected '%s'", got ? got : "(none)",
		         want ? want : "(none)");
}

/* Start a vcd on the test database with session_ttl = 2h and `extra`. */
static vct_vcd_t *start(const char *name, const char *extra)
{
	char *conf = vct_strf("session_ttl = 2h\n%s", extra);
	vct_vcd_t *v = vct_vcd_start(name, db_url, conf);

	if (nlogs == MAX_LOGS)
		fail_msg("more than %d vcds: raise MAX_LOGS", MAX_LOGS);
	logs[nlogs++] = strdup(v->log_path);
	free(conf);
	return v;
}

static long long wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* `c` n times (malloc'd). */
static char *rep(char c, size_t n)
{
	char *s = malloc(n + 1);

	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/* n letters and digits that do not compress (malloc'd): as long in an
 * index as in the request, like a real token. */
static char *noise(size_t n)
{
	static const char set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	uint32_t x = 2463534242u; /* xorshift32: the same noise on every run */
	char *s = malloc(n + 1);

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		s[i] = set[x % (sizeof(set) - 1)];
	}
	s[n] = '\0';
	return s;
}

/* "é" (two bytes in UTF-8) n times (malloc'd): bytes, not characters, count. */
static char *utf8_rep(size_t n)
{
	char *s = malloc(2 * n + 1);

	for (size_t i = 0; i < n; i++)
		memcpy(s + 2 * i, "\xc3\xa9", 2);
	s[2 * n] = '\0';
	return s;
}

/* The compact text of j, which is stolen (malloc'd). */
static char *dump(json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);

	json_decref(j);
	return s;
}

/* One request, the token (if any) as Bearer, `more` headers, `body`. */
static int call(vct_vcd_t *v, const char *method, const char *path, const char *token,
                const char *more, const char *body, vct_resp_t *r)
{
	char *h = vct_strf("%s%s%s%s", token ? "Authorization: Bearer " : "", token ? token : "",
	                   token ? "\r\n" : "", more ? more : "");
	int st = vct_http(v->port, method, path, h, body, r);

	free(h);
	return st;
}

/* call() and expect `status` with the JSON body `want`, or an empty body
 * when want is NULL. */
static void expect(vct_vcd_t *v, const char *method, const char *path, const char *token,
                   const char *more, const char *body, int status, const char *want)
{
	vct_resp_t r;

	call(v, method, path, token, more, body, &r);
	if (want != NULL) {
		vct_expect_json(&r, status, want);
	} else if (r.status != status || r.body_len != 0) {
		fail_msg("%s %s: HTTP %d with body '%s', expected %d with an empty body", method,
		         path, r.status, r.body, status);
	}
	vct_resp_free(&r);
}

/* GET /api/users/me with token (as Bearer, if any) and `more` headers: 200
 * for user id, or (id NULL) 401 with the body `err`. */
static void expect_me_h(vct_vcd_t *v, const char *token, const char *more, const char *id,
                        const char *err)
{
	vct_resp_t r;
	json_t *j;

	call(v, "GET", "/api/users/me", token, more, NULL, &r);
	if (id == NULL) {
		vct_expect_json(&r, 401, err);
	} else {
		if (r.status != 200)
			fail_msg("GET /api/users/me: HTTP %d (%s), expected 200 for user %s",
			         r.status, r.body, id);
		j = vct_resp_json(&r);
		assert_string_equal(vct_json_str(j, "id"), id);
		json_decref(j);
	}
	vct_resp_free(&r);
}

/* The same with a Bearer token only: 200 for id, or 401 invalid session. */
static void expect_me(vct_vcd_t *v, const char *token, const char *id)
{
	expect_me_h(v, token, NULL, id, E_INVALID);
}

static bool is_lower_hex(const char *s, size_t n)
{
	if (strlen(s) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]) && (s[i] < 'a' || s[i] > 'f'))
			return false;
	return true;
}

static void check_uuid(const char *s)
{
	static const int dash[] = { 8, 13, 18, 23 };
	char hex[33];
	size_t n = 0;

	for (size_t i = 0; i < strlen(s) && n < 32; i++)
		if (s[i] != '-')
			hex[n++] = s[i];
	hex[n] = '\0';
	if (strlen(s) != 36 || !is_lower_hex(hex, 32))
		fail_msg("'%s' is not a UUID", s);
	for (size_t i = 0; i < 4; i++)
		if (s[dash[i]] != '-')
			fail_msg("'%s' is not a UUID", s);
}

/* hex of SHA-256 of the 32 bytes a session token spells. */
static void token_sha(const char *token, char out[65])
{
	uint8_t raw[32], hash[32];
	size_t len;

	assert_int_equal(sodium_hex2bin(raw, 32, token, 64, NULL, &len, NULL), 0);
	assert_int_equal(len, 32);
	crypto_hash_sha256(hash, raw, 32);
	sodium_bin2hex(out, 65, hash, 32);
}

static void db_expect(const char *want, const char *fmt, ...) VCT_PRINTF(2, 3);

/* The first value of a query (printf-style) equals want (NULL: no value). */
static void db_expect(const char *want, const char *fmt, ...)
{
	va_list ap;
	char *sql, *got;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	sql = malloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(sql, (size_t)n + 1, fmt, ap);
	va_end(ap);
	got = vct_db_value(db_url, sql);
	if (want == NULL ? got != NULL : got == NULL || strcmp(got, want) != 0)
		fail_msg("%s\n  gave %s, expected %s", sql, got ? got : "no value",
		         want ? want : "no value");
	free(got);
	free(sql);
}

/* sessions.id of a token. */
static long long sid_of(const char *token)
{
	char sha[65], *v;
	long long id;

	token_sha(token, sha);
	v = vct_db_valuef(db_url, "SELECT id FROM sessions WHERE token_hash = decode('%s', 'hex')",
	                  sha);
	if (v == NULL)
		fail_msg("no session in PostgreSQL for a token vcd handed out");
	id = strtoll(v, NULL, 10);
	free(v);
	return id;
}

/* A register or login answer: exactly {id, username, displayName, token,
 * expiresAt}, the token 64 lowercase hex, expiresAt now + session_ttl.
 * Returns the body (caller decrefs); the token is kept as a secret. */
static json_t *session_answer(const vct_resp_t *r, int status, const char *username,
                              const char *display)
{
	long long exp, now = wall_ms();
	json_t *j;

	if (r->status != status)
		fail_msg("HTTP %d (%s), expected %d", r->status, r->body, status);
	assert_true(vct_resp_header_has(r, "Content-Type", "application/json"));
	j = vct_resp_json(r);
	if (!json_is_object(j) || json_object_size(j) != 5)
		fail_msg("not {id, username, displayName, token, expiresAt}: %s", r->body);
	check_uuid(vct_json_str(j, "id"));
	assert_string_equal(vct_json_str(j, "username"), username);
	assert_string_equal(vct_json_str(j, "displayName"), display);
	keep_secret(vct_json_str(j, "token"));
	if (!is_lower_hex(vct_json_str(j, "token"), 64))
		fail_msg("token '%s' is not 64 lowercase hex digits", vct_json_str(j, "token"));
	exp = vct_json_int(j, "expiresAt");
	if (llabs(exp - (now + TTL_MS)) > 10000)
		fail_msg("expiresAt %lld is not now (%lld) + session_ttl (%lld ms)", exp, now,
		         TTL_MS);
	return j;
}

/* POST /api/users/register with `more` headers; display and email may be
 * NULL. The password is made from the username. */
static void reg_h(vct_vcd_t *v, acct_t *a, const char *username, const char *display,
                  const char *email, const char *more)
{
	json_t *o = json_pack("{s:s}", "username", username), *j;
	vct_resp_t r;
	char *body, *h;

	memset(a, 0, sizeof(*a));
	snprintf(a->username, sizeof(a->username), "%s", username);
	snprintf(a->display, sizeof(a->display), "%s", display ? display : username);
	snprintf(a->password, sizeof(a->password), "Pw-%s-7c1e!", username);
	keep_secret(a->password);
	json_object_set_new(o, "password", json_string(a->password));
	if (display != NULL)
		json_object_set_new(o, "displayName", json_string(display));
	if (email != NULL)
		json_object_set_new(o, "email", json_string(email));
	body = dump(o);
	h = vct_strf("User-Agent: " UA "\r\n%s", more ? more : "");
	call(v, "POST", "/api/users/register", NULL, h, body, &r);
	j = session_answer(&r, 201, a->username, a->display);
	expect_cookie(&r, NULL);
	snprintf(a->id, sizeof(a->id), "%s", vct_json_str(j, "id"));
	snprintf(a->token, sizeof(a->token), "%s", vct_json_str(j, "token"));
	json_decref(j);
	vct_resp_free(&r);
	free(body);
	free(h);
}

static void reg(vct_vcd_t *v, acct_t *a, const char *username, const char *display,
                const char *email)
{
	reg_h(v, a, username, display, email, NULL);
}

/* POST /api/users/login as `as` (a->username when NULL) with `more`
 * headers: 200 for a, a new token into tok. */
static void login(vct_vcd_t *v, const acct_t *a, const char *as, const char *more, char tok[65])
{
	char *body = dump(
	        json_pack("{s:s,s:s}", "username", as ? as : a->username, "password", a->password));
	vct_resp_t r;
	json_t *j;

	call(v, "POST", "/api/users/login", NULL, more, body, &r);
	j = session_answer(&r, 200, a->username, a->display);
	assert_string_equal(vct_json_str(j, "id"), a->id);
	expect_cookie(&r, NULL);
	snprintf(tok, 65, "%s", vct_json_str(j, "token"));
	json_decref(j);
	vct_resp_free(&r);
	free(body);
}

/* POST /api/users/login with username and password (both kept as secrets). */
static void login_raw(vct_vcd_t *v, const char *username, const char *password, const char *more,
                      vct_resp_t *r)
{
	char *body = dump(json_pack("{s:s,s:s}", "username", username, "password", password));

	keep_secret(password);
	call(v, "POST", "/api/users/login", NULL, more, body, r);
	free(body);
}

/* A session token no session has: 64 random hex digits. */
static void unknown_token(char tok[65])
{
	uint8_t raw[32];

	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(tok, 65, raw, sizeof(raw));
	keep_secret(tok);
}

/* --- register ------------------------------------------------------------- */

static void test_register(void **state)
{
	acct_t a, b, c;
	char sha[65], *hash, *dbexp, *name32 = rep('n', 32), *disp64 = rep('D', 64);
	char *pw256 = rep('p', 256), *body;
	vct_resp_t r;
	json_t *j;

	reg(vcd, &a, "alice", NULL, NULL);
	db_expect("alice|alice|-",
	          "SELECT username || '|' || display_name || '|' || coalesce(email, '-')"
	          " FROM users WHERE id = '%s'",
	          a.id);
	/* An Argon2id hash of the password; the session's SHA-256, never the token. */
	hash = vct_db_valuef(db_url, "SELECT password_hash FROM users WHERE id = '%s'", a.id);
	if (strncmp(hash, "$argon2id$", 10) != 0)
		fail_msg("stored password hash '%s' is not Argon2id", hash);
	assert_int_equal(vc_password_verify(hash, a.password), VC_PW_OK);
	free(hash);
	token_sha(a.token, sha);
	db_expect(sha, "SELECT encode(token_hash, 'hex') FROM sessions WHERE user_id = '%s'", a.id);
	db_expect("1", "SELECT count(*) FROM sessions WHERE user_id = '%s'", a.id);
	db_expect(UA "|127.0.0.1|true",
	          "SELECT user_agent || '|' || client_addr || '|' || (revoked_at IS NULL)"
	          " FROM sessions WHERE user_id = '%s'",
	          a.id);
	db_expect("0", "SELECT count(*) FROM sessions s WHERE strpos(s::text, '%s') > 0", a.token);
	db_expect("0", "SELECT count(*) FROM users u WHERE strpos(u::text, '%s') > 0", a.token);
	db_expect("0", "SELECT count(*) FROM users u WHERE strpos(u::text, '%s') > 0", a.password);
	/* expiresAt is what PostgreSQL holds; no User-Agent, none stored. */
	body = dump(json_pack("{s:s,s:s}", "username", "alice2", "password", "Pw-alice2-7c1e!"));
	keep_secret("Pw-alice2-7c1e!");
	call(vcd, "POST", "/api/users/register", NULL, NULL, body, &r);
	j = session_answer(&r, 201, "alice2", "alice2");
	dbexp = vct_strf("%lld", (long long)vct_json_int(j, "expiresAt"));
	db_expect(dbexp, "SELECT (extract(epoch FROM s.expires_at) * 1000)::bigint FROM sessions s"
	                 " JOIN users u ON u.id = s.user_id WHERE u.username = 'alice2'");
	db_expect(NULL, "SELECT user_agent FROM sessions WHERE user_id = '%s'",
	          vct_json_str(j, "id"));
	free(dbexp);
	json_decref(j);
	vct_resp_free(&r);
	free(body);
	/* Display name and e-mail given; mixed case and the allowed punctuation. */
	reg(vcd, &b, "Bob.Smith-2_x", "Bob Smith", "bob@example.com");
	db_expect("Bob.Smith-2_x|Bob Smith|bob@example.com",
	          "SELECT username || '|' || display_name || '|' || coalesce(email, '-')"
	          " FROM users WHERE id = '%s'",
	          b.id);
	/* The limits themselves are allowed: 3 and 32 characters, 8 and 256
	 * bytes, 64 bytes of display name; null members are absent. */
	body = dump(json_pack("{s:s,s:s,s:n,s:n}", "username", "abc", "password", "8-bytes!",
	                      "displayName", "email"));
	keep_secret("8-bytes!");
	call(vcd, "POST", "/api/users/register", NULL, NULL, body, &r);
	json_decref(session_answer(&r, 201, "abc", "abc"));
	vct_resp_free(&r);
	free(body);
	reg(vcd, &c, name32, disp64, NULL);
	body = dump(json_pack("{s:s,s:s}", "username", "pw256", "password", pw256));
	keep_secret(pw256);
	call(vcd, "POST", "/api/users/register", NULL, NULL, body, &r);
	json_decref(session_answer(&r, 201, "pw256", "pw256"));
	vct_resp_free(&r);
	free(body);
	free(name32);
	free(disp64);
	free(pw256);
	vct_pass();
}

typedef struct bad_body {
	const char *body;
	const char *want;
} bad_body_t;

static void test_register_invalid(void **state)
{
	char *u33 = rep('u', 33), *p7 = "Sh0rt!7", *p257 = rep('q', 257), *d65 = rep('d', 65);
	char *e255 = rep('e', 255), *before, *after, *pe130 = utf8_rep(130), *de33 = utf8_rep(33);
	const char *pw = "Pw-valid-but-unused-3d";
	acct_t a;
	vct_resp_t r;

	e255[100] = '@';
	keep_secret(p7);
	keep_secret(p257);
	keep_secret(pe130);
	keep_secret(pw);
	bad_body_t cases[] = {
		{ vct_strf("{\"username\":\"ab\",\"password\":\"%s\"}", pw), E_USERNAME },
		{ vct_strf("{\"username\":\"%s\",\"password\":\"%s\"}", u33, pw), E_USERNAME },
		{ vct_strf("{\"username\":\"\",\"password\":\"%s\"}", pw), E_USERNAME },
		{ vct_strf("{\"username\":\"al ice\",\"password\":\"%s\"}", pw), E_USERNAME },
		{ vct_strf("{\"username\":\"al/ice\",\"password\":\"%s\"}", pw), E_USERNAME },
		{ vct_strf("{\"username\":\"al@ice\",\"password\":\"%s\"}", pw), E_USERNAME },
		{ vct_strf("{\"username\":\"al\\u00efce\",\"password\":\"%s\"}", pw), E_USERNAME },
		{ vct_strf("{\"username\":\".alice\",\"password\":\"%s\"}", pw), E_USERNAME },
		{ vct_strf("{\"username\":\"_alice\",\"password\":\"%s\"}", pw), E_USERNAME },
		{ vct_strf("{\"username\":\"-alice\",\"password\":\"%s\"}", pw), E_USERNAME },
		{ vct_strf("{\"username\":\"valid1\",\"password\":\"%s\"}", p7), E_PASSWORD },
		{ vct_strf("{\"username\":\"valid1\",\"password\":\"%s\"}", p257), E_PASSWORD },
		{ vct_strf("{\"username\":\"valid1\",\"password\":\"\"}"), E_PASSWORD },
		{ vct_strf("{\"username\":\"valid1\",\"password\":\"%s\"}", pe130), E_PASSWORD },
		{ vct_strf("{\"username\":\"valid1\",\"password\":\"%s\",\"displayName\":\"%s\"}",
		           pw, d65),
		  E_DISPLAY },
		{ vct_strf("{\"username\":\"valid1\",\"password\":\"%s\",\"displayName\":\"%s\"}",
		           pw, de33),
		  E_DISPLAY },
		{ vct_strf("{\"username\":\"valid1\",\"password\":\"%s\",\"displayName\":42}", pw),
		  E_DISPLAY },
		{ vct_strf("{\"username\":\"valid1\",\"password\":\"%s\",\"displayName\":[]}", pw),
		  E_DISPLAY },
		{ vct_strf("{\"username\":\"valid1\",\"password\":\"%s\",\"email\":\"nope\"}", pw),
		  E_EMAIL },
		{ vct_strf("{\"username\":\"valid1\",\"password\":\"%s\",\"email\":\"@ex.com\"}",
		           pw),
		  E_EMAIL },
		{ vct_strf("{\"username\":\"valid1\",\"password\":\"%s\",\"email\":\"bob@\"}", pw),
		  E_EMAIL },
		{ vct_strf("{\"username\":\"valid1\",\"password\":\"%s\",\"email\":\"b b@ex.com\"}",
		           pw),
		  E_EMAIL },
		{ vct_strf("{\"username\":\"valid1\",\"password\":\"%s\",\"email\":\"%s\"}", pw,
		           e255),
		  E_EMAIL },
		{ vct_strf("{\"username\":\"valid1\",\"password\":\"%s\",\"email\":17}", pw),
		  E_EMAIL },
		{ vct_strf("[]"), E_BODY },
		{ vct_strf("\"alice\""), E_BODY },
		{ vct_strf("null"), E_BODY },
		{ vct_strf("42"), E_BODY },
		{ vct_strf("{"), E_BODY },
		{ vct_strf("not json"), E_BODY },
		{ vct_strf("%s", ""), E_BODY },
		{ vct_strf("{\"username\":\"valid1\",\"username\":\"valid2\",\"password\":\"%s\"}",
		           pw),
		  E_BODY },
		{ vct_strf("{}"), E_REQUIRED },
		{ vct_strf("{\"username\":\"valid1\"}"), E_REQUIRED },
		{ vct_strf("{\"password\":\"%s\"}", pw), E_REQUIRED },
		{ vct_strf("{\"username\":42,\"password\":\"%s\"}", pw), E_REQUIRED },
		{ vct_strf("{\"username\":null,\"password\":\"%s\"}", pw), E_REQUIRED },
		{ vct_strf("{\"username\":[\"valid1\"],\"password\":\"%s\"}", pw), E_REQUIRED },
		{ vct_strf("{\"username\":\"valid1\",\"password\":12345678}"), E_REQUIRED },
		{ vct_strf("{\"username\":\"valid1\",\"password\":true}"), E_REQUIRED },
	};

	before = vct_db_value(db_url, "SELECT count(*) FROM users");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		call(vcd, "POST", "/api/users/register", NULL, NULL, cases[i].body, &r);
		if (r.status != 400)
			fail_msg("register with %.300s: HTTP %d (%s), expected 400", cases[i].body,
			         r.status, r.body);
		vct_expect_json(&r, 400, cases[i].want);
		vct_resp_free(&r);
	}
	/* No body at all. */
	expect(vcd, "POST", "/api/users/register", NULL, NULL, NULL, 400, E_BODY);
	after = vct_db_value(db_url, "SELECT count(*) FROM users");
	assert_string_equal(before, after);
	/* Taken, also in another case; the first account stays the only one. */
	reg(vcd, &a, "carol", NULL, NULL);
	for (size_t i = 0; i < 3; i++) {
		static const char *const names[] = { "carol", "Carol", "CAROL" };
		char *body = dump(json_pack("{s:s,s:s}", "username", names[i], "password",
		                            "Pw-other-carol-1"));
		keep_secret("Pw-other-carol-1");
		expect(vcd, "POST", "/api/users/register", NULL, NULL, body, 409, E_TAKEN);
		free(body);
	}
	db_expect("1", "SELECT count(*) FROM users WHERE lower(username) = 'carol'");
	db_expect("1", "SELECT count(*) FROM sessions WHERE user_id = '%s'", a.id);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		free((char *)cases[i].body);
	free(before);
	free(after);
	free(u33);
	free(p257);
	free(d65);
	free(e255);
	free(pe130);
	free(de33);
	vct_pass();
}

/* --- login ---------------------------------------------------------------- */

static void test_login(void **state)
{
	acct_t d, e;
	char t1[65], t2[65], t3[65];
	vct_resp_t wrong, unknown, disabled;

	reg(vcd, &d, "dave", "Dave D", NULL);
	login(vcd, &d, NULL, NULL, t1);
	login(vcd, &d, "DAVE", NULL, t2); /* case-insensitive; the stored name answers */
	login(vcd, &d, "Dave", NULL, t3);
	assert_string_not_equal(t1, d.token);
	assert_string_not_equal(t1, t2);
	assert_string_not_equal(t2, t3);
	/* Every login is a new session; the older ones stay valid. */
	db_expect("4", "SELECT count(*) FROM sessions WHERE user_id = '%s' AND revoked_at IS NULL",
	          d.id);
	expect_me(vcd, d.token, d.id);
	expect_me(vcd, t1, d.id);
	expect_me(vcd, t2, d.id);
	expect_me(vcd, t3, d.id);
	/* Unknown user and wrong password: one answer. */
	login_raw(vcd, "dave", "Pw-not-daves-at-all", NULL, &wrong);
	login_raw(vcd, "nobody-here", "Pw-not-daves-at-all", NULL, &unknown);
	vct_expect_json(&wrong, 401, E_LOGIN);
	assert_int_equal(wrong.status, unknown.status);
	assert_string_equal(wrong.body, unknown.body);
	/* The password is case-sensitive. */
	login_raw(vcd, "dave", "PW-DAVE-7C1E!", NULL, &disabled);
	vct_expect_json(&disabled, 401, E_LOGIN);
	vct_resp_free(&disabled);
	/* A disabled account: the same 401, and no new session. */
	reg(vcd, &e, "erin", NULL, NULL);
	free(vct_db_valuef(db_url, "UPDATE users SET disabled_at = now() WHERE id = '%s'", e.id));
	login_raw(vcd, "erin", e.password, NULL, &disabled);
	assert_int_equal(disabled.status, wrong.status);
	assert_string_equal(disabled.body, wrong.body);
	db_expect("1", "SELECT count(*) FROM sessions WHERE user_id = '%s'", e.id);
	/* Bad bodies are 400s as for register. */
	expect(vcd, "POST", "/api/users/login", NULL, NULL, "{\"username\":\"dave\"}", 400,
	       E_REQUIRED);
	expect(vcd, "POST", "/api/users/login", NULL, NULL, "[1]", 400, E_BODY);
	vct_resp_free(&wrong);
	vct_resp_free(&unknown);
	vct_resp_free(&disabled);
	vct_pass();
}

/* --- sessions ------------------------------------------------------------- */

/* GET /api/users/sessions as token: the entries, in order, are the sessions
 * of tokens[0..n) with user agents uas[], current only for tokens[cur]. */
static void expect_sessions(const char *token, const char *const *tokens, const char *const *uas,
                            size_t n, size_t cur)
{
	vct_resp_t r;
	json_t *j, *list, *e;
	long long now = wall_ms();

	call(vcd, "GET", "/api/users/sessions", token, NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	j = vct_resp_json(&r);
	list = json_object_get(j, "sessions");
	if (json_object_size(j) != 1 || !json_is_array(list) || json_array_size(list) != n)
		fail_msg("expected {\"sessions\": [%zu entries]}, got %s", n, r.body);
	for (size_t i = 0; i < n; i++) {
		long long created, seen, expires;
		e = json_array_get(list, i);
		if (json_object_size(e) != 6)
			fail_msg("session %zu has not exactly id, createdAt, lastSeenAt, "
			         "expiresAt, userAgent, current: %s",
			         i, r.body);
		assert_int_equal(vct_json_int(e, "id"), sid_of(tokens[i]));
		created = vct_json_int(e, "createdAt");
		seen = vct_json_int(e, "lastSeenAt");
		expires = vct_json_int(e, "expiresAt");
		assert_true(llabs(created - now) < 60000);
		assert_true(seen >= created && seen <= now + 5000);
		assert_true(llabs(expires - created - TTL_MS) <= 1);
		if (uas[i] == NULL)
			assert_true(json_is_null(json_object_get(e, "userAgent")));
		else
			assert_string_equal(vct_json_str(e, "userAgent"), uas[i]);
		assert_int_equal(vct_json_bool(e, "current"), i == cur);
	}
	json_decref(j);
	vct_resp_free(&r);
}

static void test_me_and_sessions(void **state)
{
	acct_t f;
	char t1[65], t2[65], t3[65], sha[65], *want, *created;
	const char *tokens[3], *uas[3] = { UA, "agent-two", NULL };

	reg(vcd, &f, "frank", "Frank F", "frank@example.com");
	login(vcd, &f, NULL, "User-Agent: agent-two\r\n", t1);
	login(vcd, &f, NULL, NULL, t2);
	created = vct_db_valuef(db_url,
	                        "SELECT (extract(epoch FROM created_at) * 1000)::bigint"
	                        " FROM users WHERE id = '%s'",
	                        f.id);
	want = vct_strf("{\"id\":\"%s\",\"username\":\"frank\",\"displayName\":\"Frank F\","
	                "\"email\":\"frank@example.com\",\"createdAt\":%s}",
	                f.id, created);
	expect(vcd, "GET", "/api/users/me", t1, NULL, NULL, 200, want);
	free(want);
	free(created);
	tokens[0] = f.token;
	tokens[1] = t1;
	tokens[2] = t2;
	expect_sessions(t1, tokens, uas, 3, 1);
	expect_sessions(t2, tokens, uas, 3, 2);
	expect_sessions(f.token, tokens, uas, 3, 0);
	/* An expired session is refused and no longer listed. */
	login(vcd, &f, NULL, NULL, t3);
	token_sha(t3, sha);
	free(vct_db_valuef(db_url,
	                   "UPDATE sessions SET expires_at = now() - interval '1 second'"
	                   " WHERE token_hash = decode('%s', 'hex')",
	                   sha));
	expect_me(vcd, t3, NULL);
	expect_sessions(t1, tokens, uas, 3, 1);
	vct_pass();
}

static void test_session_revoke(void **state)
{
	static const char *const bad[] = {
		"abc", "0", "-1", "1.5", "1e3", "12345678901234567890", "%31", "99999999999",
	};
	acct_t h, iv;
	char t1[65], *path, *want;
	long long sid;

	reg(vcd, &h, "heidi", NULL, NULL);
	login(vcd, &h, NULL, NULL, t1);
	reg(vcd, &iv, "ivan", NULL, NULL);
	expect_me(vcd, t1, h.id); /* cached now, for an hour */
	sid = sid_of(t1);
	path = vct_strf("/api/users/sessions/%lld", sid);
	want = vct_strf("{\"revoked\":%lld}", sid);
	expect(vcd, "DELETE", path, h.token, NULL, NULL, 200, want);
	expect_me(vcd, t1, NULL); /* the very next request */
	db_expect("t", "SELECT revoked_at IS NOT NULL FROM sessions WHERE id = %lld", sid);
	expect(vcd, "DELETE", path, h.token, NULL, NULL, 404, E_NOSESSION); /* already */
	expect_me(vcd, h.token, h.id);
	free(path);
	free(want);
	/* Another user's session: not found, and it keeps working. */
	expect_me(vcd, iv.token, iv.id);
	sid = sid_of(iv.token);
	path = vct_strf("/api/users/sessions/%lld", sid);
	expect(vcd, "DELETE", path, h.token, NULL, NULL, 404, E_NOSESSION);
	expect_me(vcd, iv.token, iv.id);
	db_expect("t", "SELECT revoked_at IS NULL FROM sessions WHERE id = %lld", sid);
	free(path);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		path = vct_strf("/api/users/sessions/%s", bad[i]);
		expect(vcd, "DELETE", path, h.token, NULL, NULL, 404, E_NOSESSION);
		free(path);
	}
	/* One's own current session. */
	sid = sid_of(h.token);
	path = vct_strf("/api/users/sessions/%lld", sid);
	want = vct_strf("{\"revoked\":%lld}", sid);
	expect(vcd, "DELETE", path, h.token, NULL, NULL, 200, want);
	expect_me(vcd, h.token, NULL);
	expect(vcd, "DELETE", path, NULL, NULL, NULL, 401, E_NOAUTH);
	free(path);
	free(want);
	vct_pass();
}

static void test_logout(void **state)
{
	acct_t j;
	char t1[65], t2[65];
	vct_resp_t r;

	reg(vcd, &j, "judy", NULL, NULL);
	login(vcd, &j, NULL, NULL, t1);
	login(vcd, &j, NULL, NULL, t2);
	expect_me(vcd, t1, j.id);
	call(vcd, "POST", "/api/users/logout", t1, NULL, NULL, &r);
	vct_expect_json(&r, 200, OK_TRUE);
	expect_cookie(&r, NULL); /* a Bearer logout has no cookie to clear */
	vct_resp_free(&r);
	expect_me(vcd, t1, NULL);
	expect(vcd, "POST", "/api/users/logout", t1, NULL, NULL, 401, E_INVALID);
	expect_me(vcd, j.token, j.id);
	expect_me(vcd, t2, j.id);
	db_expect("t", "SELECT revoked_at IS NOT NULL FROM sessions WHERE id = %lld", sid_of(t1));
	db_expect("2", "SELECT count(*) FROM sessions WHERE user_id = '%s' AND revoked_at IS NULL",
	          j.id);
	expect(vcd, "POST", "/api/users/logout", NULL, NULL, NULL, 401, E_NOAUTH);
	vct_pass();
}

/* --- credentials and cookies ---------------------------------------------- */

/* --- credentials and cookies ---------------------------------------------- */

static void test_credentials(void **state)
{
	acct_t k, l;
	char unknown[65], *h, *hex63, *hex65, *nonhex = rep('g', 64), *created, *want;

	reg(vcd, &k, "kate", NULL, NULL);
	reg(vcd, &l, "leo", NULL, NULL);
	unknown_token(unknown);
	/* The profile of an account without e-mail: null. */
	created = vct_db_valuef(db_url,
	                        "SELECT (extract(epoch FROM created_at) * 1000)::bigint"
	                        " FROM users WHERE id = '%s'",
	                        k.id);
	want = vct_strf("{\"id\":\"%s\",\"username\":\"kate\",\"displayName\":\"kate\","
	                "\"email\":null,\"createdAt\":%s}",
	                k.id, created);
	expect(vcd, "GET", "/api/users/me", k.token, NULL, NULL, 200, want);
	free(want);
	free(created);
	/* The cookie named cookie_name wins over Bearer, also among others. */
	h = vct_strf("Cookie: session=%s\r\n", l.token);
	expect_me_h(vcd, k.token, h, l.id, NULL);
	expect_me_h(vcd, NULL, h, l.id, NULL);
	free(h);
	h = vct_strf("Cookie: theme=dark; session=%s; lang=en\r\n", l.token);
	expect_me_h(vcd, k.token, h, l.id, NULL);
	free(h);
	/* An invalid cookie is not rescued by a valid Bearer. */
	h = vct_strf("Cookie: session=%s\r\n", unknown);
	expect_me_h(vcd, k.token, h, NULL, E_INVALID);
	free(h);
	expect_me_h(vcd, k.token, "Cookie: session=not-a-token\r\n", NULL, E_INVALID);
	/* The first non-empty session cookie counts; an empty one is no cookie. */
	h = vct_strf("Cookie: session=; session=%s\r\n", l.token);
	expect_me_h(vcd, k.token, h, l.id, NULL);
	free(h);
	expect_me_h(vcd, k.token, "Cookie: session= ; theme=dark\r\n", k.id, NULL);
	/* Other cookie names are ignored. */
	h = vct_strf("Cookie: other=%s; sessionid=%s; xsession=%s\r\n", l.token, l.token, l.token);
	expect_me_h(vcd, k.token, h, k.id, NULL);
	expect_me_h(vcd, NULL, h, NULL, E_NOAUTH);
	free(h);
	/* No usable credential: "required"; a malformed one: "invalid". */
	expect_me_h(vcd, NULL, "Authorization: Bearer \r\n", NULL, E_NOAUTH);
	expect_me_h(vcd, NULL, "Authorization: Bearer     \r\n", NULL, E_NOAUTH);
	expect_me_h(vcd, NULL, "Authorization: Basic dXNlcjpwYXNz\r\n", NULL, E_NOAUTH);
	/* "Bearer " is case-sensitive; the value is trimmed. */
	h = vct_strf("Authorization: bearer %s\r\n", k.token);
	expect_me_h(vcd, NULL, h, NULL, E_NOAUTH);
	free(h);
	h = vct_strf("Authorization: Bearer   %s \t\r\n", k.token);
	expect_me_h(vcd, NULL, h, k.id, NULL);
	free(h);
	hex63 = vct_strf("%.63s", k.token);
	hex65 = vct_strf("%s0", k.token);
	keep_secret(hex63);
	keep_secret(hex65);
	expect_me_h(vcd, hex63, NULL, NULL, E_INVALID);
	expect_me_h(vcd, hex65, NULL, NULL, E_INVALID);
	expect_me_h(vcd, nonhex, NULL, NULL, E_INVALID);
	expect_me_h(vcd, unknown, NULL, NULL, E_INVALID);
	expect_me(vcd, k.token, k.id);
	free(hex63);
	free(hex65);
	free(nonhex);
	vct_pass();
}

/* Log in (or register) with {"setCookie": true}: the token, and the
 * Set-Cookie header exactly `fmt` with the token in it. */
static void cookie_session(vct_vcd_t *v, const char *path, acct_t *a, const char *fmt, char tok[65])
{
	char *body = dump(json_pack("{s:s,s:s,s:b}", "username", a->username, "password",
	                            a->password, "setCookie", 1)),
	     *want;
	bool registering = strstr(path, "register") != NULL;
	vct_resp_t r;
	json_t *j;

	keep_secret(a->password);
	call(v, "POST", path, NULL, NULL, body, &r);
	j = session_answer(&r, registering ? 201 : 200, a->username, a->display);
	snprintf(tok, 65, "%s", vct_json_str(j, "token"));
	if (registering)
		snprintf(a->id, sizeof(a->id), "%s", vct_json_str(j, "id"));
	want = vct_strf(fmt, tok);
	expect_cookie(&r, want);
	free(want);
	json_decref(j);
	vct_resp_free(&r);
	free(body);
}

#define SECURE_COOKIE "session=%s; Path=/; HttpOnly; SameSite=Lax; Max-Age=7200; Secure"
#define SECURE_CLEAR "session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0; Secure"

static void test_set_cookie(void **state)
{
	acct_t m, m2 = { .username = "mia2", .display = "mia2", .password = "Pw-mia2-7c1e!" };
	char tok[65], *h, *body;
	vct_resp_t r;

	reg(vcd, &m, "mia", NULL, NULL);
	cookie_session(vcd, "/api/users/login", &m, SECURE_COOKIE, tok);
	/* Only true asks for the cookie. */
	body = dump(json_pack("{s:s,s:s,s:s}", "username", "mia", "password", m.password,
	                      "setCookie", "true"));
	call(vcd, "POST", "/api/users/login", NULL, NULL, body, &r);
	json_decref(session_answer(&r, 200, "mia", "mia"));
	expect_cookie(&r, NULL);
	vct_resp_free(&r);
	free(body);
	/* The cookie authenticates; a logout through it revokes and clears it. */
	h = vct_strf("Cookie: session=%s\r\n", tok);
	expect_me_h(vcd, NULL, h, m.id, NULL);
	call(vcd, "POST", "/api/users/logout", NULL, h, NULL, &r);
	vct_expect_json(&r, 200, OK_TRUE);
	expect_cookie(&r, SECURE_CLEAR);
	vct_resp_free(&r);
	expect_me_h(vcd, NULL, h, NULL, E_INVALID);
	expect_me(vcd, m.token, m.id);
	free(h);
	/* Register sets it too. */
	cookie_session(vcd, "/api/users/register", &m2, SECURE_COOKIE, tok);
	expect_me(vcd, tok, m2.id);
	vct_pass();
}

/* --- session JWTs made here ---------------------------------------------- */

/* Session JWT claims; NULL strings and 0 times are left out. */
static json_t *claims(const char *sub, const char *name, long long exp, long long iat,
                      const char *iss)
{
	json_t *c = json_object();

	if (sub != NULL)
		json_object_set_new(c, "sub", json_string(sub));
	if (name != NULL)
		json_object_set_new(c, "name", json_string(name));
	if (exp != 0)
		json_object_set_new(c, "exp", json_integer(exp));
	if (iat != 0)
		json_object_set_new(c, "iat", json_integer(iat));
	if (iss != NULL)
		json_object_set_new(c, "iss", json_string(iss));
	return c;
}

/* claims (stolen) signed HS256 with key (malloc'd; kept as a secret). */
static char *sign(json_t *c, const char *key)
{
	char *t = vc_jwt_sign(c, (const uint8_t *)key, strlen(key));

	json_decref(c);
	assert_non_null(t);
	keep_secret(t);
	return t;
}

static char *b64url(const char *s)
{
	int v = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
	size_t cap = sodium_base64_ENCODED_LEN(strlen(s), v);
	char *out = malloc(cap);

	sodium_bin2base64(out, cap, (const unsigned char *)s, strlen(s), v);
	return out;
}

/* An unsigned token: {"alg":"none"}, claims (stolen), an empty signature. */
static char *alg_none(json_t *c)
{
	char *payload = dump(c), *h = b64url("{\"typ\":\"JWT\",\"alg\":\"none\"}");
	char *p = b64url(payload), *t = vct_strf("%s.%s.", h, p);

	free(payload);
	free(h);
	free(p);
	keep_secret(t);
	return t;
}

/* good's header and signature around the payload of claims c (stolen). */
static char *tampered(const char *good, json_t *c)
{
	char *payload = dump(c), *p = b64url(payload);
	const char *dot1 = strchr(good, '.'), *dot2 = strrchr(good, '.');
	char *t = vct_strf("%.*s.%s%s", (int)(dot1 - good), good, p, dot2);

	free(payload);
	free(p);
	keep_secret(t);
	return t;
}

static void test_cookie_config(void **state)
{
	vct_vcd_t *v =
	        start("acct_cookie", "cookie_name = vcsid\ncookie_secure = false\n"
	                             "cookie_domain = example.com\nauth_rate_limit = off\n"
	                             "session_jwt_compat = false\njwt_secret = " JWT_KEY "\n");
	acct_t n = { .username = "nina", .display = "nina", .password = "Pw-nina-7c1e!" };
	char tok[65], unknown[65], *h, *jwt;
	long long now = time(NULL);
	vct_resp_t r;

	unknown_token(unknown);
	cookie_session(v, "/api/users/register", &n,
	               "vcsid=%s; Path=/; HttpOnly; SameSite=Lax; "
	               "Max-Age=7200; Domain=example.com",
	               tok);
	h = vct_strf("Cookie: vcsid=%s\r\n", tok);
	expect_me_h(v, NULL, h, n.id, NULL);
	expect_me_h(v, unknown, h, n.id, NULL);
	free(h);
	/* "session" is just another cookie here. */
	h = vct_strf("Cookie: session=%s\r\n", tok);
	expect_me_h(v, NULL, h, NULL, E_NOAUTH);
	expect_me_h(v, unknown, h, NULL, E_INVALID);
	free(h);
	h = vct_strf("Cookie: vcsid=%s\r\n", unknown);
	expect_me_h(v, tok, h, NULL, E_INVALID);
	free(h);
	/* Cleared with the same attributes. */
	h = vct_strf("Cookie: vcsid=%s\r\n", tok);
	call(v, "POST", "/api/users/logout", NULL, h, NULL, &r);
	vct_expect_json(&r, 200, OK_TRUE);
	expect_cookie(&r, "vcsid=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0; Domain=example.com");
	vct_resp_free(&r);
	expect_me_h(v, NULL, h, NULL, E_INVALID);
	free(h);
	call(v, "GET", "/logout", NULL, NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	expect_cookie(&r, "vcsid=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0; Domain=example.com");
	vct_resp_free(&r);
	/* session_jwt_compat off: a well-made session JWT is refused. */
	jwt = sign(claims("vc-user-17", "Pat Jwt", now + 3600, now, VC_JWT_ISSUER), JWT_KEY);
	expect(v, "GET", "/session", jwt, NULL, NULL, 401, VC_INVALID);
	expect(v, "GET", "/profile", jwt, NULL, NULL, 401, VC_INVALID);
	free(jwt);
	vct_vcd_stop_ok(v);
	vct_pass();
}

/* --- videocall.rs routes and session JWTs ---------------------------------- */

static void test_videocall_routes(void **state)
{
	acct_t o;
	char t2[65], t3[65], unknown[65], *want, *h;
	vct_resp_t r;

	reg(vcd, &o, "oscar", "Oscar O", NULL);
	unknown_token(unknown);
	expect(vcd, "GET", "/session", o.token, NULL, NULL, 200, NULL);
	expect(vcd, "GET", "/session", NULL, NULL, NULL, 401, VC_NOAUTH);
	call(vcd, "GET", "/session", NULL, NULL, NULL, &r);
	assert_string_equal(r.body, VC_NOAUTH); /* member order too */
	vct_resp_free(&r);
	expect(vcd, "GET", "/session", unknown, NULL, NULL, 401, VC_INVALID);
	expect(vcd, "GET", "/session", "not-a-token", NULL, NULL, 401, VC_INVALID);
	want = vct_strf("{\"success\":true,\"result\":{\"user_id\":\"%s\",\"name\":\"Oscar O\"}}",
	                o.id);
	expect(vcd, "GET", "/profile", o.token, NULL, NULL, 200, want);
	h = vct_strf("Cookie: session=%s\r\n", o.token);
	expect(vcd, "GET", "/profile", NULL, h, NULL, 200, want);
	free(h);
	expect(vcd, "GET", "/profile", NULL, NULL, NULL, 401, VC_NOAUTH);
	expect(vcd, "GET", "/profile", unknown, NULL, NULL, 401, VC_INVALID);
	/* GET /logout: 200, empty, the cookie cleared, with or without a session. */
	call(vcd, "GET", "/logout", NULL, NULL, NULL, &r);
	if (r.status != 200 || r.body_len != 0)
		fail_msg("GET /logout: HTTP %d '%s', expected 200 and no body", r.status, r.body);
	expect_cookie(&r, SECURE_CLEAR);
	vct_resp_free(&r);
	login(vcd, &o, NULL, NULL, t2);
	expect(vcd, "GET", "/session", t2, NULL, NULL, 200, NULL); /* cached */
	/* HEAD is safe: it shows the answer and revokes nothing. */
	call(vcd, "HEAD", "/logout", t2, NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	expect_cookie(&r, SECURE_CLEAR);
	vct_resp_free(&r);
	expect(vcd, "GET", "/session", t2, NULL, NULL, 200, NULL);
	call(vcd, "GET", "/logout", t2, NULL, NULL, &r);
	if (r.status != 200 || r.body_len != 0)
		fail_msg("GET /logout: HTTP %d '%s', expected 200 and no body", r.status, r.body);
	expect_cookie(&r, SECURE_CLEAR);
	vct_resp_free(&r);
	expect(vcd, "GET", "/session", t2, NULL, NULL, 401, VC_INVALID);
	expect_me(vcd, t2, NULL);
	expect(vcd, "GET", "/session", o.token, NULL, NULL, 200, NULL);
	/* ... and through the cookie. */
	login(vcd, &o, NULL, NULL, t3);
	h = vct_strf("Cookie: session=%s\r\n", t3);
	expect(vcd, "GET", "/session", NULL, h, NULL, 200, NULL);
	call(vcd, "GET", "/logout", NULL, h, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body_len, 0);
	expect_cookie(&r, SECURE_CLEAR);
	vct_resp_free(&r);
	expect(vcd, "GET", "/session", NULL, h, NULL, 401, VC_INVALID);
	free(h);
	db_expect("t", "SELECT revoked_at IS NOT NULL FROM sessions WHERE id = %lld", sid_of(t2));
	db_expect("t", "SELECT revoked_at IS NOT NULL FROM sessions WHERE id = %lld", sid_of(t3));
	db_expect("t", "SELECT revoked_at IS NULL FROM sessions WHERE id = %lld", sid_of(o.token));
	free(want);
	vct_pass();
}

static void test_session_jwt(void **state)
{
	long long now = time(NULL);
	const char *iss = VC_JWT_ISSUER;
	char *good = sign(claims("vc-user-17", "Pat Jwt", now + 3600, now, iss), JWT_KEY);
	char *bad[16], *h;
	json_t *c;
	size_t n = 0;

	expect(vcd, "GET", "/session", good, NULL, NULL, 200, NULL);
	expect(vcd, "GET", "/profile", good, NULL, NULL, 200,
	       "{\"success\":true,\"result\":{\"user_id\":\"vc-user-17\",\"name\":\"Pat Jwt\"}}");
	h = vct_strf("Cookie: session=%s\r\n", good);
	expect(vcd, "GET", "/profile", NULL, h, NULL, 200,
	       "{\"success\":true,\"result\":{\"user_id\":\"vc-user-17\",\"name\":\"Pat Jwt\"}}");
	free(h);
	/* Never on vcd's own routes. */
	expect(vcd, "GET", "/api/users/me", good, NULL, NULL, 401, E_INVALID);
	expect(vcd, "GET", "/api/users/sessions", good, NULL, NULL, 401, E_INVALID);
	expect(vcd, "GET", "/api/users/device-tokens", good, NULL, NULL, 401, E_INVALID);
	expect(vcd, "POST", "/api/users/logout", good, NULL, NULL, 401, E_INVALID);
	/* Refused: expired, another issuer or none, no name, iat, sub or exp,
	 * a bad name, an audience, another key, alg none, a changed payload. */
	bad[n++] = sign(claims("vc-user-17", "Pat Jwt", now - 3600, now - 7200, iss), JWT_KEY);
	bad[n++] = sign(claims("vc-user-17", "Pat Jwt", now - 120, now - 3600, iss), JWT_KEY);
	bad[n++] = sign(claims("vc-user-17", "Pat Jwt", now + 3600, now, "someone-else"), JWT_KEY);
	bad[n++] = sign(claims("vc-user-17", "Pat Jwt", now + 3600, now, NULL), JWT_KEY);
	bad[n++] = sign(claims("vc-user-17", NULL, now + 3600, now, iss), JWT_KEY);
	bad[n++] = sign(claims("vc-user-17", "Pat Jwt", now + 3600, 0, iss), JWT_KEY);
	bad[n++] = sign(claims(NULL, "Pat Jwt", now + 3600, now, iss), JWT_KEY);
	bad[n++] = sign(claims("", "Pat Jwt", now + 3600, now, iss), JWT_KEY);
	bad[n++] = sign(claims("vc-user-17", "Pat Jwt", 0, now, iss), JWT_KEY);
	c = claims("vc-user-17", NULL, now + 3600, now, iss);
	json_object_set_new(c, "name", json_integer(42));
	bad[n++] = sign(c, JWT_KEY);
	c = claims("vc-user-17", "Pat Jwt", now + 3600, now, iss);
	json_object_set_new(c, "aud", json_string("videocall"));
	bad[n++] = sign(c, JWT_KEY);
	bad[n++] = sign(claims("vc-user-17", "Pat Jwt", now + 3600, now, iss), "another-key-0123");
	bad[n++] = alg_none(claims("vc-user-17", "Pat Jwt", now + 3600, now, iss));
	bad[n++] = tampered(good, claims("vc-admin", "Pat Jwt", now + 3600, now, iss));
	for (size_t i = 0; i < n; i++) {
		vct_resp_t r;
		call(vcd, "GET", "/session", bad[i], NULL, NULL, &r);
		if (r.status != 401)
			fail_msg("bad session JWT #%zu accepted by GET /session: HTTP %d", i,
			         r.status);
		vct_expect_json(&r, 401, VC_INVALID);
		vct_resp_free(&r);
		expect(vcd, "GET", "/profile", bad[i], NULL, NULL, 401, VC_INVALID);
		free(bad[i]);
	}
	free(good);
	vct_pass();
}

/* --- legacy password hashes ----------------------------------------------- */

/* An account inserted with a legacy hash logs in, is upgraded to Argon2id
 * once, and a wrong password changes nothing. */
static void legacy_login(const char *username, const char *hash, const char *password)
{
	acct_t a = { 0 };
	char tok[65], *id, *h1, *h2;
	vct_resp_t r;

	keep_secret(password);
	id = vct_db_valuef(db_url,
	                   "INSERT INTO users (username, display_name, password_hash)"
	                   " VALUES ('%s', 'Legacy %s', '%s') RETURNING id",
	                   username, username, hash);
	snprintf(a.id, sizeof(a.id), "%s", id);
	snprintf(a.username, sizeof(a.username), "%s", username);
	snprintf(a.display, sizeof(a.display), "Legacy %s", username);
	snprintf(a.password, sizeof(a.password), "%s", password);
	login_raw(vcd, username, "Pw-wrong-for-legacy-1", NULL, &r);
	vct_expect_json(&r, 401, E_LOGIN);
	vct_resp_free(&r);
	db_expect(hash, "SELECT password_hash FROM users WHERE id = '%s'", id);
	login(vcd, &a, NULL, NULL, tok);
	expect_me(vcd, tok, a.id);
	h1 = vct_db_valuef(db_url, "SELECT password_hash FROM users WHERE id = '%s'", id);
	if (strncmp(h1, "$argon2id$", 10) != 0)
		fail_msg("%s: the hash after a login is '%s', expected an Argon2id one", username,
		         h1);
	assert_int_equal(vc_password_verify(h1, password), VC_PW_OK);
	login(vcd, &a, NULL, NULL, tok);
	h2 = vct_db_valuef(db_url, "SELECT password_hash FROM users WHERE id = '%s'", id);
	assert_string_equal(h1, h2); /* current now: not hashed again */
	login_raw(vcd, username, "Pw-wrong-for-legacy-1", NULL, &r);
	vct_expect_json(&r, 401, E_LOGIN);
	vct_resp_free(&r);
	db_expect(h1, "SELECT password_hash FROM users WHERE id = '%s'", id);
	free(id);
	free(h1);
	free(h2);
}

static void test_legacy_hashes(void **state)
{
	const char *pw_bc = "Legacy-bcrypt-Pw#1", *pw_sha = "Legacy-sha256-Pw#2";
	const char *pw_uc = "Legacy-SHA256-upper#3";
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	char setting[CRYPT_GENSALT_OUTPUT_SIZE], *bc, hex[65];
	uint8_t sum[32];

	assert_non_null(crypt_gensalt_rn("$2b$", 4, NULL, 0, setting, sizeof(setting)));
	bc = strdup(crypt_r(pw_bc, setting, cd));
	if (strncmp(bc, "$2b$04$", 7) != 0 || strlen(bc) != 60)
		fail_msg("crypt_r made '%s', not a bcrypt hash of cost 4", bc);
	legacy_login("legacy_bc", bc, pw_bc);
	crypto_hash_sha256(sum, (const uint8_t *)pw_sha, strlen(pw_sha));
	sodium_bin2hex(hex, sizeof(hex), sum, sizeof(sum));
	legacy_login("legacy_sha", hex, pw_sha);
	crypto_hash_sha256(sum, (const uint8_t *)pw_uc, strlen(pw_uc));
	sodium_bin2hex(hex, sizeof(hex), sum, sizeof(sum));
	for (char *p = hex; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	legacy_login("legacy_sha_uc", hex, pw_uc);
	free(bc);
	free(cd);
	vct_pass();
}

/* --- the auth rate limit -------------------------------------------------- */

/* POST path with body and `more` headers on v: the status. A 429 must carry
 * Retry-After 1 or 2 (a 2 s window) and its error. */
static int attempt(vct_vcd_t *v, const char *path, const char *body, const char *more)
{
	vct_resp_t r;
	int st = call(v, "POST", path, NULL, more, body, &r);
	const char *after = vct_resp_header(&r, "Retry-After");

	if (st == 429) {
		if (after == NULL || atoi(after) < 1 || atoi(after) > 2)
			fail_msg("429 with Retry-After '%s', expected 1 or 2",
			         after ? after : "(none)");
		vct_expect_json(&r, 429, E_RATE);
	}
	vct_resp_free(&r);
	return st;
}

static void within_window(uint64_t t0, const char *what)
{
	if (vct_now_ms() - t0 >= 1900)
		fail_msg("%s took %llu ms: the 2 s window may have ended; too slow to test", what,
		         (unsigned long long)(vct_now_ms() - t0));
}

static void test_rate_limit(void **state)
{
	vct_vcd_t *v = start("acct_rate", "auth_rate_limit = 5/2s\n");
	const char *xff = "X-Forwarded-For: 198.51.100.7\r\n";
	char tok[65], *wrong, *again;
	uint64_t t0, t1;
	acct_t q, q3;

	reg(vcd, &q, "quinn", NULL, NULL); /* on the main vcd: not counted here */
	wrong = dump(json_pack("{s:s,s:s}", "username", "quinn", "password", "Pw-not-quinns-9"));
	keep_secret("Pw-not-quinns-9");
	again = dump(json_pack("{s:s,s:s}", "username", "quinn2", "password", "Pw-quinn2-7c1e!"));
	keep_secret("Pw-quinn2-7c1e!");
	/* Five attempts pass, whatever their outcome; the header is not believed. */
	t0 = vct_now_ms();
	login(v, &q, NULL, xff, tok); /* 1 */
	t1 = vct_now_ms();
	assert_int_equal(attempt(v, "/api/users/login", wrong, NULL), 401);   /* 2 */
	assert_int_equal(attempt(v, "/api/users/login", "{}", NULL), 400);    /* 3 */
	assert_int_equal(attempt(v, "/api/users/register", "{}", NULL), 400); /* 4 */
	assert_int_equal(attempt(v, "/api/users/login", "nope", NULL), 400);  /* 5 */
	assert_int_equal(attempt(v, "/api/users/login", wrong, NULL), 429);   /* 6 */
	assert_int_equal(attempt(v, "/api/users/register", again, NULL), 429);
	assert_int_equal(attempt(v, "/api/users/login", "{}", xff), 429); /* one budget */
	within_window(t0, "eight attempts");
	db_expect("127.0.0.1", "SELECT client_addr FROM sessions WHERE id = %lld", sid_of(tok));
	db_expect("0", "SELECT count(*) FROM users WHERE username = 'quinn2'");
	expect_me(v, tok, q.id); /* other routes are not limited */
	/* After the window: allowed again; register counts in the same bucket.
	 * (On a slow machine the window may be over already.) */
	t0 = vct_now_ms();
	if (t0 < t1 + 2100)
		vct_sleep_ms((unsigned)(t1 + 2100 - t0));
	t0 = vct_now_ms();
	login(v, &q, NULL, NULL, tok);     /* 1 */
	reg(v, &q3, "quinn3", NULL, NULL); /* 2 */
	for (int i = 0; i < 3; i++)        /* 3, 4, 5 */
		assert_int_equal(attempt(v, "/api/users/login", "{}", NULL), 400);
	assert_int_equal(attempt(v, "/api/users/login", "{}", NULL), 429);
	within_window(t0, "six attempts");
	free(wrong);
	free(again);
	vct_vcd_stop_ok(v);
	vct_pass();
}

static void test_rate_limit_proxies(void **state)
{
	vct_vcd_t *v = start("acct_proxy", "auth_rate_limit = 5/2s\ntrusted_proxies = 127.0.0.1\n");
	const char *a = "X-Forwarded-For: 198.51.100.1\r\n",
	           *b = "X-Forwarded-For: 203.0.113.9\r\n";
	char tok[65];
	uint64_t t0;
	acct_t p;

	/* The client behind the trusted proxy is who PostgreSQL records. */
	reg_h(v, &p, "paula", NULL, NULL, "X-Forwarded-For: 198.51.100.23\r\n");
	db_expect("198.51.100.23", "SELECT client_addr FROM sessions WHERE id = %lld",
	          sid_of(p.token));
	login(v, &p, NULL, "X-Forwarded-For: 203.0.113.50, 198.51.100.24\r\n", tok);
	db_expect("198.51.100.24", "SELECT client_addr FROM sessions WHERE id = %lld", sid_of(tok));
	t0 = vct_now_ms();
	for (int i = 0; i < 5; i++)
		assert_int_equal(attempt(v, "/api/users/login", "{}", a), 400);
	assert_int_equal(attempt(v, "/api/users/login", "{}", a), 429);
	for (int i = 0; i < 5; i++)
		assert_int_equal(attempt(v, "/api/users/login", "{}", b), 400);
	assert_int_equal(attempt(v, "/api/users/login", "{}", b), 429);
	assert_int_equal(attempt(v, "/api/users/login", "{}", NULL), 400); /* the proxy itself */
	within_window(t0, "the attempts of two clients");
	vct_vcd_stop_ok(v);
	vct_pass();
}

/* --- push device tokens --------------------------------------------------- */

/* GET /api/users/device-tokens as token: exactly the tokens listed (each
 * with its createdAt as PostgreSQL holds it). */
static void expect_devices(const char *token, const char *const *want, size_t n)
{
	vct_resp_t r;
	json_t *j, *list, *e;
	char *created;

	call(vcd, "GET", "/api/users/device-tokens", token, NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	j = vct_resp_json(&r);
	list = json_object_get(j, "tokens");
	if (json_object_size(j) != 1 || !json_is_array(list) || json_array_size(list) != n)
		fail_msg("expected {\"tokens\": [%zu entries]}, got %s", n, r.body);
	for (size_t i = 0; i < n; i++) {
		e = json_array_get(list, i);
		if (json_object_size(e) != 2)
			fail_msg("device token entry %zu is not {token, createdAt}: %s", i, r.body);
		assert_string_equal(vct_json_str(e, "token"), want[i]);
		created = vct_db_valuef(db_url,
		                        "SELECT (extract(epoch FROM created_at) * 1000)::bigint"
		                        " FROM device_tokens WHERE token = '%s'",
		                        want[i]);
		assert_int_equal(vct_json_int(e, "createdAt"), strtoll(created, NULL, 10));
		free(created);
	}
	json_decref(j);
	vct_resp_free(&r);
}

#define APNS_PATH "/api/users/device-tokens/apns%3Aabc%2Fdef%2B1"
#define APNS "apns:abc/def+1"

static void test_device_tokens(void **state)
{
	const char *apns[] = { APNS }, *fcm[] = { "fcm-token-2" },
	           *both[] = { APNS, "fcm-token-2" };
	char *long_tok = noise(2048), *path;
	acct_t ri, sa;

	reg(vcd, &ri, "rita", NULL, NULL);
	reg(vcd, &sa, "sam", NULL, NULL);
	expect(vcd, "PUT", APNS_PATH, ri.token, NULL, NULL, 200, OK_TRUE);
	expect_devices(ri.token, apns, 1);
	db_expect(ri.id, "SELECT user_id FROM device_tokens WHERE token = '" APNS "'");
	expect(vcd, "PUT", APNS_PATH, ri.token, NULL, NULL, 200, OK_TRUE); /* again: one */
	vct_sleep_ms(5);
	expect(vcd, "PUT", "/api/users/device-tokens/fcm-token-2", ri.token, NULL, NULL, 200,
	       OK_TRUE);
	expect_devices(ri.token, both, 2);
	expect_devices(sa.token, NULL, 0);
	/* Not sam's to delete. */
	expect(vcd, "DELETE", "/api/users/device-tokens/fcm-token-2", sa.token, NULL, NULL, 404,
	       E_NODEVICE);
	db_expect(ri.id, "SELECT user_id FROM device_tokens WHERE token = 'fcm-token-2'");
	/* Registered again by sam: it moves to sam. */
	expect(vcd, "PUT", APNS_PATH, sa.token, NULL, NULL, 200, OK_TRUE);
	expect_devices(ri.token, fcm, 1);
	expect_devices(sa.token, apns, 1);
	db_expect(sa.id, "SELECT user_id FROM device_tokens WHERE token = '" APNS "'");
	expect(vcd, "DELETE", APNS_PATH, sa.token, NULL, NULL, 200, OK_TRUE);
	expect_devices(sa.token, NULL, 0);
	db_expect("0", "SELECT count(*) FROM device_tokens WHERE token = '" APNS "'");
	expect(vcd, "DELETE", APNS_PATH, sa.token, NULL, NULL, 404, E_NODEVICE);
	/* Not printable: 400. */
	expect(vcd, "PUT", "/api/users/device-tokens/a%20b", ri.token, NULL, NULL, 400,
	       "{\"error\":\"A device token is 1 to 2048 printable characters\"}");
	expect(vcd, "PUT", "/api/users/device-tokens/%00", ri.token, NULL, NULL, 400,
	       "{\"error\":\"A device token is 1 to 2048 printable characters\"}");
	/* 2048 characters at most, even when they do not compress (a b-tree
	 * entry holds at most 2704 bytes). */
	path = vct_strf("/api/users/device-tokens/%s", long_tok);
	expect(vcd, "PUT", path, ri.token, NULL, NULL, 200, OK_TRUE);
	db_expect(ri.id, "SELECT user_id FROM device_tokens WHERE token = '%s'", long_tok);
	expect(vcd, "DELETE", path, ri.token, NULL, NULL, 200, OK_TRUE);
	free(path);
	path = vct_strf("/api/users/device-tokens/%sb", long_tok);
	expect(vcd, "PUT", path, ri.token, NULL, NULL, 400,
	       "{\"error\":\"A device token is 1 to 2048 printable characters\"}");
	free(path);
	free(long_tok);
	/* No credential. */
	expect(vcd, "GET", "/api/users/device-tokens", NULL, NULL, NULL, 401, E_NOAUTH);
	expect(vcd, "PUT", "/api/users/device-tokens/x1", NULL, NULL, NULL, 401, E_NOAUTH);
	expect(vcd, "DELETE", "/api/users/device-tokens/fcm-token-2", NULL, NULL, NULL, 401,
	       E_NOAUTH);
	db_expect(ri.id, "SELECT user_id FROM device_tokens WHERE token = 'fcm-token-2'");
	db_expect("0", "SELECT count(*) FROM device_tokens WHERE token = 'x1'");
	vct_pass();
}

/* --- identities come from credentials, never bodies ------------------------ */

static void test_body_ids_ignored(void **state)
{
	acct_t t, u;
	char u2[65], *other, *path, *want;
	long long sid;

	reg(vcd, &t, "tom", NULL, NULL);
	reg(vcd, &u, "uma", NULL, NULL);
	login(vcd, &u, NULL, NULL, u2);
	other = vct_strf("{\"userId\":\"%s\",\"oderId\":\"%s\",\"id\":\"%s\",\"user_id\":\"%s\"}",
	                 u.id, u.id, u.id, u.id);
	expect(vcd, "PUT", "/api/users/device-tokens/tok-of-tom", t.token, NULL, other, 200,
	       OK_TRUE);
	db_expect(t.id, "SELECT user_id FROM device_tokens WHERE token = 'tok-of-tom'");
	expect_devices(u.token, NULL, 0);
	/* Uma cannot delete tom's token by naming tom in the body either. */
	free(other);
	other = vct_strf("{\"userId\":\"%s\",\"oderId\":\"%s\",\"id\":\"%s\"}", t.id, t.id, t.id);
	expect(vcd, "DELETE", "/api/users/device-tokens/tok-of-tom", u.token, NULL, other, 404,
	       E_NODEVICE);
	db_expect(t.id, "SELECT user_id FROM device_tokens WHERE token = 'tok-of-tom'");
	free(other);
	/* Tom cannot revoke uma's session, whatever the body says. */
	other = vct_strf("{\"userId\":\"%s\",\"oderId\":\"%s\",\"id\":\"%s\"}", u.id, u.id, u.id);
	path = vct_strf("/api/users/sessions/%lld", sid_of(u2));
	expect(vcd, "DELETE", path, t.token, NULL, other, 404, E_NOSESSION);
	expect_me(vcd, u2, u.id);
	free(path);
	/* ... and revoking his own acts on his own. */
	sid = sid_of(t.token);
	path = vct_strf("/api/users/sessions/%lld", sid);
	want = vct_strf("{\"revoked\":%lld}", sid);
	expect(vcd, "DELETE", path, t.token, NULL, other, 200, want);
	free(want);
	expect_me(vcd, t.token, NULL);
	expect_me(vcd, u.token, u.id);
	expect_me(vcd, u2, u.id);
	db_expect("2", "SELECT count(*) FROM sessions WHERE user_id = '%s' AND revoked_at IS NULL",
	          u.id);
	free(path);
	/* The profile is the caller's. */
	expect_me_h(vcd, u2, NULL, u.id, NULL);
	free(other);
	vct_pass();
}

/* --- the session cache ---------------------------------------------------- */

/* Poll GET /api/users/me as token on v until it is refused (401): the
 * milliseconds that took, or fail after `ms`. */
static unsigned wait_refused(vct_vcd_t *v, const char *token, unsigned ms)
{
	uint64_t t0 = vct_now_ms();
	vct_resp_t r;

	for (;;) {
		call(v, "GET", "/api/users/me", token, NULL, NULL, &r);
		if (r.status == 401) {
			vct_expect_json(&r, 401, E_INVALID);
			vct_resp_free(&r);
			return (unsigned)(vct_now_ms() - t0);
		}
		if (r.status != 200)
			fail_msg("GET /api/users/me: HTTP %d (%s), expected 200 or 401", r.status,
			         r.body);
		vct_resp_free(&r);
		if (vct_now_ms() - t0 > ms)
			fail_msg("the session was still accepted %u ms after it was revoked or "
			         "its user disabled in PostgreSQL (session_cache_ttl = 1s)",
			         ms);
		vct_sleep_ms(50);
	}
}

static void test_cache_ttl(void **state)
{
	vct_vcd_t *v = start("acct_short", "session_cache_ttl = 1s\nauth_rate_limit = off\n");
	char t1[65], sha[65];
	unsigned ms;
	acct_t w;

	reg(v, &w, "vera", NULL, NULL);
	login(v, &w, NULL, NULL, t1);
	expect_me(v, w.token, w.id);
	expect_me(v, t1, w.id);
	/* Revoked behind vcd's back. */
	token_sha(t1, sha);
	free(vct_db_valuef(
	        db_url,
	        "UPDATE sessions SET revoked_at = now() WHERE token_hash = decode('%s', 'hex')",
	        sha));
	ms = wait_refused(v, t1, 3000);
	if (ms > 2000)
		fail_msg("a session revoked in SQL was accepted for %u ms (session_cache_ttl 1 s)",
		         ms);
	expect_me(v, w.token, w.id);
	/* Expired behind vcd's back. */
	login(v, &w, NULL, NULL, t1);
	expect_me(v, t1, w.id);
	token_sha(t1, sha);
	free(vct_db_valuef(db_url,
	                   "UPDATE sessions SET expires_at = now() - interval '1 second'"
	                   " WHERE token_hash = decode('%s', 'hex')",
	                   sha));
	ms = wait_refused(v, t1, 3000);
	if (ms > 2000)
		fail_msg("an expired session was accepted for %u ms (session_cache_ttl 1 s)", ms);
	expect_me(v, w.token, w.id);
	/* The user disabled. */
	free(vct_db_valuef(db_url, "UPDATE users SET disabled_at = now() WHERE id = '%s'", w.id));
	ms = wait_refused(v, w.token, 3000);
	if (ms > 2000)
		fail_msg("a disabled user's session was accepted for %u ms (session_cache_ttl 1 s)",
		         ms);
	vct_vcd_stop_ok(v);
	vct_pass();
}

/* --- CORS ----------------------------------------------------------------- */

static void test_cors(void **state)
{
	static const char *const others[] = {
		"https://evil.example",
		"https://app.example.evil",
		"http://app.example",
	};
	acct_t x;
	vct_resp_t r;
	char *h;

	reg(vcd, &x, "xena", NULL, NULL);
	call(vcd, "GET", "/healthz", NULL, "Origin: " APP_ORIGIN "\r\n", NULL, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(vct_resp_header(&r, "Access-Control-Allow-Origin"), APP_ORIGIN);
	assert_string_equal(vct_resp_header(&r, "Access-Control-Allow-Credentials"), "true");
	vct_resp_free(&r);
	call(vcd, "GET", "/api/users/me", x.token, "Origin: " APP_ORIGIN "\r\n", NULL, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(vct_resp_header(&r, "Access-Control-Allow-Origin"), APP_ORIGIN);
	assert_string_equal(vct_resp_header(&r, "Access-Control-Allow-Credentials"), "true");
	vct_resp_free(&r);
	call(vcd, "POST", "/api/users/login", NULL, "Origin: " APP_ORIGIN "\r\n", "{}", &r);
	assert_int_equal(r.status, 400);
	assert_string_equal(vct_resp_header(&r, "Access-Control-Allow-Origin"), APP_ORIGIN);
	vct_resp_free(&r);
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		h = vct_strf("Origin: %s\r\n", others[i]);
		call(vcd, "GET", "/api/users/me", x.token, h, NULL, &r);
		assert_int_equal(r.status, 200);
		if (vct_resp_header(&r, "Access-Control-Allow-Origin") != NULL ||
		    vct_resp_header(&r, "Access-Control-Allow-Credentials") != NULL)
			fail_msg("Origin %s is not allowed, yet got Access-Control-Allow-* headers",
			         others[i]);
		vct_resp_free(&r);
		free(h);
	}
	vct_pass();
}

/* --- logs ----------------------------------------------------------------- */

/* Text from clients that reaches the database or the log: a User-Agent
 * that is not UTF-8 (which PostgreSQL refused: login answered 500) is kept
 * with '?' for its bad bytes; a user name with a new line and a terminal
 * escape cannot forge a log line. */
static void test_client_text_is_scrubbed(void **state)
{
	const char *forged = "2026-01-01T00:00:00.000Z error w0: FORGED";
	char tok[65], *body, *text;
	const char *tokens[2], *uas[2] = { UA, "Mozilla/5.0 ??? x" };
	acct_t a;

	reg(vcd, &a, "scrubbed", NULL, NULL);
	login(vcd, &a, NULL, "User-Agent: Mozilla/5.0 \xff\xfe\x80 x\r\n", tok);
	keep_secret(tok);
	tokens[0] = a.token;
	tokens[1] = tok;
	expect_sessions(tok, tokens, uas, 2, 1);
	body = vct_strf("{\"username\":\"zz\\n%s\\u001b[31m\\r\",\"password\":\"Pw-x-1!\"}",
	                forged);
	expect(vcd, "POST", "/api/users/login", NULL, NULL, body, 401, E_LOGIN);
	free(body);
	/* The log is written by its own thread, maybe after the answer. */
	if (!vct_vcd_wait_log(vcd, "'zz?2026-01-01T00:00:00.000Z error w0: FORGED?[31m?'", 10000))
		fail_msg("the refused login's name is not in the log as one scrubbed line "
		         "(waited 10 s)");
	text = vct_vcd_log(vcd);
	if (strstr(text, "\n2026-01-01T00:00:00.000Z") != NULL)
		fail_msg("a client forged a log line:\n%s", strstr(text, "\n2026-01-01") + 1);
	free(text);
	vct_pass();
}

static void test_logs_hold_no_secrets(void **state)
{
	char *text;

	vct_vcd_stop_ok(vcd); /* its last words too */
	assert_true(nsecrets > 50);
	for (unsigned i = 0; i < nlogs; i++) {
		text = vct_read_file(logs[i], NULL);
		if (text == NULL)
			fail_msg("cannot read %s", logs[i]);
		for (unsigned k = 0; k < nsecrets; k++) {
			const char *hit = strstr(text, secrets[k]), *line = hit;
			if (hit == NULL)
				continue;
			while (line > text && line[-1] != '\n')
				line--;
			fail_msg("%s holds a token or password the tests used ('%s'):\n%.*s",
			         logs[i], secrets[k], (int)strcspn(line, "\n"), line);
		}
		/* The main vcd logged at debug level, and about accounts. */
		if (i == 0 && (strstr(text, " debug ") == NULL ||
		               strstr(text, "account registered: alice") == NULL))
			fail_msg("%s has no debug lines or no account lines", logs[i]);
		free(text);
	}
	vct_pass();
}

/* --- main ----------------------------------------------------------------- */

static int group_setup(void **state)
{
	if (vc_password_init() != 0)
		return -1;
	db_url = vct_db_create("accounts");
	vcd = start("acct_main", MAIN_CONF);
	vct_vcd_keep(vcd);
	keep_secret(JWT_KEY);
	return 0;
}

static int group_teardown(void **state)
{
	int rc = vct_vcd_finish(vcd);

	for (unsigned i = 0; i < nsecrets; i++)
		free(secrets[i]);
	for (unsigned i = 0; i < nlogs; i++)
		free(logs[i]);
	free(db_url);
	return rc;
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, vct_setup, vct_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_register),
		T(test_register_invalid),
		T(test_login),
		T(test_me_and_sessions),
		T(test_session_revoke),
		T(test_logout),
		T(test_credentials),
		T(test_set_cookie),
		T(test_cookie_config),
		T(test_videocall_routes),
		T(test_session_jwt),
		T(test_legacy_hashes),
		T(test_rate_limit),
		T(test_rate_limit_proxies),
		T(test_device_tokens),
		T(test_body_ids_ignored),
		T(test_cache_ttl),
		T(test_cors),
		T(test_client_text_is_scrubbed),
		T(test_logs_hold_no_secrets), /* last: reads every log */
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
