/*
 * test_users_admin.c — the accounts verbs of vcctl against a real vcd and
 * PostgreSQL: users list/show/disable/enable/import and sessions
 * list/revoke/revoke-all, human and --json. What a user relies on: a
 * disabled account's token is refused on its very next request (the session
 * cache holds entries for an hour here, so only an explicit forget can make
 * that true) and its logins fail; enabling brings both back; a revoked
 * session's token is refused at once; an import file is checked line by
 * line by vcctl (nothing sent when a line is bad) and inserted all or
 * nothing by vcd; imported bcrypt, SHA-256 and Argon2id hashes log in; no
 * hash is ever printed or logged.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <crypt.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/password.h"
#include "t/lib/vctest.h"

/* An hour-long cache: a refusal right after a change proves the forget. */
#define CONF "auth_rate_limit = off\nsession_cache_ttl = 1h\nsession_ttl = 2h\n"
#define LIST_MAX 1000 /* VC_ADMIN_LIST_MAX */
#define BULK 2000     /* rows of the import that needs more than 64 KiB */

static vct_vcd_t *vcd;
static char *db_url;

typedef struct acct {
	char id[37];
	char token[65];
} acct_t;

/* --- helpers -------------------------------------------------------------- */

/* vcctl against this program's vcd (t/lib/vctest.h). */
#define ctl_argv(r, json, ...) vct_vcctl((r), vcd, (json), __VA_ARGS__)
#define ctl_json(...) vct_vcctl_json(vcd, __VA_ARGS__)
#define expect_status vct_expect_exit
#define CTL(r, json, ...) ctl_argv((r), (json), (const char *const[]){ __VA_ARGS__, NULL })
#define CTLJ(...) ctl_json((const char *const[]){ __VA_ARGS__, NULL })

/* vcctl words…: expect exit 1 with `msg` on stderr. */
static void ctl_fails(const char *msg, const char *const *words)
{
	vct_cmd_t r;

	ctl_argv(&r, false, words);
	expect_status(&r, 1);
	if (strstr(r.err, msg) == NULL)
		fail_msg("vcctl said '%s', expected '%s'", r.err, msg);
	vct_cmd_free(&r);
}

#define CTL_FAILS(msg, ...) ctl_fails((msg), (const char *const[]){ __VA_ARGS__, NULL })

/* POST path {username, password}: the status; the session in *a on success. */
static int post_account(const char *path, const char *user, const char *pw, acct_t *a)
{
	char *body = vct_strf("{\"username\":\"%s\",\"password\":\"%s\"}", user, pw);
	vct_resp_t r;
	int st = vct_http(vcd->port, "POST", path, "Content-Type: application/json\r\n", body, &r);
	json_t *j;

	if (a != NULL && (st == 200 || st == 201)) {
		j = vct_resp_json(&r);
		snprintf(a->id, sizeof(a->id), "%s", vct_json_str(j, "id"));
		snprintf(a->token, sizeof(a->token), "%s", vct_json_str(j, "token"));
		json_decref(j);
	}
	vct_resp_free(&r);
	free(body);
	return st;
}

static void registered(const char *user, const char *pw, acct_t *a)
{
	int st = post_account("/api/users/register", user, pw, a);

	if (st != 201)
		fail_msg("registering %s answered %d, expected 201", user, st);
}

static int login(const char *user, const char *pw, acct_t *a)
{
	return post_account("/api/users/login", user, pw, a);
}

/* GET /api/users/me with the token: the status. */
static int me(const char *token)
{
	char *h = vct_strf("Authorization: Bearer %s\r\n", token);
	vct_resp_t r;
	int st = vct_http(vcd->port, "GET", "/api/users/me", h, NULL, &r);

	vct_resp_free(&r);
	free(h);
	return st;
}

static long long db_count(const char *sql)
{
	char *v = vct_db_value(db_url, sql);
	long long n = v ? strtoll(v, NULL, 10) : -1;

	free(v);
	return n;
}

/* The element of array `list` whose `key` is the string `val`, or NULL. */
static json_t *find(json_t *list, const char *key, const char *val)
{
	size_t i;
	json_t *e;

	json_array_foreach(list, i, e) {
		const char *s = json_string_value(json_object_get(e, key));
		if (s != NULL && strcmp(s, val) == 0)
			return e;
	}
	return NULL;
}

/* "2026-11-22T14:41:45Z" */
static void expect_iso(const json_t *o, const char *key)
{
	const char *s = vct_json_str(o, key);
	static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";

	for (size_t i = 0; i < sizeof(shape) - 1; i++)
		if (shape[i] == 'd' ? s[i] < '0' || s[i] > '9' : s[i] != shape[i])
			fail_msg("%s = '%s' is not ISO 8601 UTC like 2026-11-22T14:41:45Z", key, s);
	assert_int_equal(strlen(s), sizeof(shape) - 1);
}

/* --- users list / show ---------------------------------------------------- */

static void test_users_list(void **state)
{
	acct_t a;
	json_t *list, *u;
	vct_cmd_t r;

	registered("listed-one", "Pw-listed-one", &a);
	list = CTLJ("users", "list");
	assert_true(json_is_array(list));
	u = find(list, "username", "listed-one");
	assert_non_null(u);
	assert_string_equal(vct_json_str(u, "id"), a.id);
	assert_string_equal(vct_json_str(u, "display_name"), "listed-one");
	assert_true(json_is_null(json_object_get(u, "email")));
	expect_iso(u, "created_at");
	assert_false(vct_json_bool(u, "disabled"));
	assert_int_equal(vct_json_int(u, "sessions"), 1);
	assert_int_equal(json_object_size(u), 7);
	json_decref(list);
	/* A table for humans: a header row, then one row per account. */
	CTL(&r, false, "users", "list");
	expect_status(&r, 0);
	assert_non_null(strstr(r.out, "username"));
	assert_non_null(strstr(r.out, "display_name"));
	assert_non_null(strstr(r.out, "listed-one"));
	assert_non_null(strstr(r.out, a.id));
	vct_cmd_free(&r);
	vct_pass();
}

static void test_users_show(void **state)
{
	acct_t a, b;
	json_t *u;
	vct_cmd_t r;
	char *h;
	vct_resp_t resp;

	registered("Shown-Two", "Pw-shown-two", &a);
	assert_int_equal(login("shown-two", "Pw-shown-two", &b), 200);
	h = vct_strf("Authorization: Bearer %s\r\n", a.token);
	assert_int_equal(vct_http(vcd->port, "PUT", "/api/users/device-tokens/dev-tok-1", h, NULL,
				  &resp), 200);
	vct_resp_free(&resp);
	free(h);
	/* By name without regard to case, and by id: the same account. */
	u = CTLJ("users", "show", "SHOWN-two");
	assert_string_equal(vct_json_str(u, "id"), a.id);
	assert_string_equal(vct_json_str(u, "username"), "Shown-Two");
	assert_int_equal(vct_json_int(u, "sessions"), 2);
	assert_int_equal(vct_json_int(u, "device_tokens"), 1);
	assert_false(vct_json_bool(u, "disabled"));
	assert_true(json_is_null(json_object_get(u, "disabled_at")));
	expect_iso(u, "created_at");
	json_decref(u);
	u = CTLJ("users", "show", a.id);
	assert_string_equal(vct_json_str(u, "username"), "Shown-Two");
	json_decref(u);
	CTL(&r, false, "users", "show", "shown-two");
	expect_status(&r, 0);
	assert_non_null(strstr(r.out, "device_tokens  1"));
	assert_non_null(strstr(r.out, "Shown-Two"));
	vct_cmd_free(&r);
	CTL_FAILS("no user 'nobody-here'", "users", "show", "nobody-here");
	CTL_FAILS("no user '00000000-0000-0000-0000-000000000000'", "users", "show",
		  "00000000-0000-0000-0000-000000000000");
	vct_pass();
}

/* --- users disable / enable ----------------------------------------------- */

static void test_disable_enable(void **state)
{
	acct_t a, b;
	json_t *j;
	vct_cmd_t r;

	registered("to-disable", "Pw-to-disable", &a);
	assert_int_equal(me(a.token), 200); /* now cached for an hour */
	j = CTLJ("users", "disable", "TO-DISABLE");
	assert_string_equal(vct_json_str(j, "id"), a.id);
	assert_string_equal(vct_json_str(j, "username"), "to-disable");
	assert_true(vct_json_bool(j, "disabled"));
	json_decref(j);
	assert_int_equal(me(a.token), 401);
	assert_int_equal(login("to-disable", "Pw-to-disable", NULL), 401);
	/* Nothing was revoked: the session is still in the database. */
	assert_int_equal(db_count("SELECT count(*) FROM sessions s JOIN users u ON u.id = s.user_id"
				  " WHERE u.username = 'to-disable' AND s.revoked_at IS NULL"), 1);
	assert_int_equal(db_count("SELECT count(*) FROM users WHERE username = 'to-disable'"
				  " AND disabled_at IS NOT NULL"), 1);
	j = CTLJ("users", "show", a.id);
	assert_true(vct_json_bool(j, "disabled"));
	expect_iso(j, "disabled_at");
	json_decref(j);
	/* Disabling twice is harmless (and for humans: key/value lines). */
	CTL(&r, false, "users", "disable", a.id);
	expect_status(&r, 0);
	assert_non_null(strstr(r.out, "disabled  true"));
	assert_non_null(strstr(r.out, "username  to-disable"));
	vct_cmd_free(&r);
	/* Enable: the token refused a moment ago works again at once, and logins. */
	CTL(&r, false, "users", "enable", "to-disable");
	expect_status(&r, 0);
	assert_non_null(strstr(r.out, "disabled  false"));
	vct_cmd_free(&r);
	assert_int_equal(me(a.token), 200);
	assert_int_equal(login("to-disable", "Pw-to-disable", &b), 200);
	assert_int_equal(me(b.token), 200);
	assert_int_equal(db_count("SELECT count(*) FROM users WHERE username = 'to-disable'"
				  " AND disabled_at IS NULL"), 1);
	CTL_FAILS("no user 'nobody-here'", "users", "disable", "nobody-here");
	CTL_FAILS("no user 'nobody-here'", "users", "enable", "nobody-here");
	vct_pass();
}

/* --- sessions ------------------------------------------------------------- */

static void test_sessions_list_revoke(void **state)
{
	acct_t s1, s2, s3;
	json_t *list, *all, *e;
	json_int_t id1, id2, id3;
	char *sid, *again;
	vct_cmd_t r;

	registered("sess-user", "Pw-sess-user", &s1);
	assert_int_equal(login("sess-user", "Pw-sess-user", &s2), 200);
	assert_int_equal(login("Sess-User", "Pw-sess-user", &s3), 200);
	list = CTLJ("sessions", "list", "sess-user");
	assert_int_equal(json_array_size(list), 3);
	/* Newest first. */
	id3 = vct_json_int(json_array_get(list, 0), "id");
	id2 = vct_json_int(json_array_get(list, 1), "id");
	id1 = vct_json_int(json_array_get(list, 2), "id");
	assert_true(id3 > id2 && id2 > id1);
	e = json_array_get(list, 0);
	assert_string_equal(vct_json_str(e, "user"), "sess-user");
	assert_string_equal(vct_json_str(e, "client_addr"), "127.0.0.1");
	expect_iso(e, "created_at");
	expect_iso(e, "last_seen_at");
	expect_iso(e, "expires_at");
	assert_non_null(json_object_get(e, "user_agent"));
	assert_int_equal(json_object_size(e), 7);
	/* Everyone's: these three are among them. */
	all = CTLJ("sessions", "list");
	assert_true(json_array_size(all) >= 4);
	for (size_t i = 0; i < 3; i++) {
		json_int_t want = vct_json_int(json_array_get(list, i), "id");
		bool seen = false;
		for (size_t k = 0; k < json_array_size(all); k++)
			seen |= vct_json_int(json_array_get(all, k), "id") == want;
		assert_true(seen);
	}
	json_decref(all);
	json_decref(list);
	CTL(&r, false, "sessions", "list", "sess-user");
	expect_status(&r, 0);
	assert_non_null(strstr(r.out, "last_seen_at"));
	assert_int_equal(vct_count_lines(r.out), 4); /* header + 3 */
	vct_cmd_free(&r);

	/* Revoke the middle one: its token is refused at once, the others work. */
	assert_int_equal(me(s2.token), 200);
	sid = vct_strf("%lld", (long long)id2);
	e = CTLJ("sessions", "revoke", sid);
	assert_int_equal(vct_json_int(e, "revoked"), id2);
	json_decref(e);
	assert_int_equal(me(s2.token), 401);
	assert_int_equal(me(s1.token), 200);
	assert_int_equal(me(s3.token), 200);
	again = vct_strf("no live session %s", sid);
	CTL_FAILS(again, "sessions", "revoke", sid);
	free(again);
	CTL_FAILS("no live session 'abc'", "sessions", "revoke", "abc");
	CTL_FAILS("no live session 999999999", "sessions", "revoke", "999999999");
	list = CTLJ("sessions", "list", "sess-user");
	assert_int_equal(json_array_size(list), 2);
	json_decref(list);
	CTL_FAILS("no user 'nobody-here'", "sessions", "list", "nobody-here");
	free(sid);
	/* For humans: "revoked  ID". */
	sid = vct_strf("%lld", (long long)id1);
	CTL(&r, false, "sessions", "revoke", sid);
	expect_status(&r, 0);
	again = vct_strf("revoked  %s\n", sid);
	assert_string_equal(r.out, again);
	vct_cmd_free(&r);
	assert_int_equal(me(s1.token), 401);
	assert_int_equal(me(s3.token), 200);
	free(again);
	free(sid);
	vct_pass();
}

static void test_sessions_revoke_all(void **state)
{
	acct_t a, b, c;
	json_t *j;
	vct_cmd_t r;

	registered("revoke-all", "Pw-revoke-all", &a);
	assert_int_equal(login("revoke-all", "Pw-revoke-all", &b), 200);
	registered("bystander", "Pw-bystander", &c);
	assert_int_equal(me(a.token), 200);
	assert_int_equal(me(b.token), 200);
	j = CTLJ("sessions", "revoke-all", "REVOKE-ALL");
	assert_string_equal(vct_json_str(j, "user"), "revoke-all");
	assert_int_equal(vct_json_int(j, "revoked"), 2);
	json_decref(j);
	assert_int_equal(me(a.token), 401);
	assert_int_equal(me(b.token), 401);
	assert_int_equal(me(c.token), 200);
	j = CTLJ("sessions", "list", a.id);
	assert_true(json_is_array(j));
	assert_int_equal(json_array_size(j), 0);
	json_decref(j);
	CTL(&r, false, "sessions", "revoke-all", a.id);
	expect_status(&r, 0);
	assert_non_null(strstr(r.out, "revoked  0"));
	vct_cmd_free(&r);
	/* A new login still works: revoking is not disabling. */
	assert_int_equal(login("revoke-all", "Pw-revoke-all", &b), 200);
	assert_int_equal(me(b.token), 200);
	CTL_FAILS("no user 'nobody-here'", "sessions", "revoke-all", "nobody-here");
	vct_pass();
}

/* --- users import --------------------------------------------------------- */

static char *bcrypt_of(const char *pw)
{
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	char setting[64], *out;

	assert_non_null(crypt_gensalt_rn("$2b$", 4, NULL, 0, setting, sizeof(setting)));
	out = strdup(crypt_r(pw, setting, cd));
	free(cd);
	if (strncmp(out, "$2b$04$", 7) != 0)
		fail_msg("crypt_r made '%s', not a bcrypt hash of cost 4", out);
	return out;
}

static char *sha256_of(const char *pw)
{
	unsigned char d[crypto_hash_sha256_BYTES];
	char *hex = malloc(2 * sizeof(d) + 1);

	crypto_hash_sha256(d, (const unsigned char *)pw, strlen(pw));
	sodium_bin2hex(hex, 2 * sizeof(d) + 1, d, sizeof(d));
	return hex;
}

/* Neither the vcd log nor `text` holds the hash. */
static void expect_hidden(const char *hash, const char *text)
{
	char *log = vct_vcd_log(vcd);

	if (strstr(log, hash) != NULL)
		fail_msg("vcd's log holds a password hash");
	if (text != NULL && strstr(text, hash) != NULL)
		fail_msg("vcctl printed a password hash: %s", text);
	free(log);
}

static void test_import(void **state)
{
	char *bc = bcrypt_of("Bcrypt-Pw-1"), *sha = sha256_of("Sha256-Pw-2");
	char ar[VC_PASSWORD_HASH_MAX];
	char *path = vct_tmp_path("import-good.csv"), *text;
	long long before = db_count("SELECT count(*) FROM users");
	json_t *u;
	vct_cmd_t r;

	assert_int_equal(vc_password_init(), 0);
	assert_int_equal(vc_password_hash("Argon-Pw-3", ar), 0);
	/* Comments, a blank line, CRLF, spaces around fields, a display name
	 * with commas and quotes, an Argon2id hash with commas of its own. */
	text = vct_strf("# exported from the old system\n"
			"imp_bc,%s\n"
			"\n"
			" imp.sha , %s , Imp, Sha \"two\" \\ \r\n"
			"imp-ar,%s,Argon \xc3\x9c\n",
			bc, sha, ar);
	vct_write_file(path, text);
	CTL(&r, false, "users", "import", path);
	expect_status(&r, 0);
	assert_non_null(strstr(r.out, "imported  3"));
	expect_hidden(bc, r.out);
	expect_hidden(sha, r.out);
	expect_hidden(ar, r.out);
	vct_cmd_free(&r);
	assert_int_equal(db_count("SELECT count(*) FROM users"), before + 3);
	assert_int_equal(login("imp_bc", "Bcrypt-Pw-1", NULL), 200);
	assert_int_equal(login("imp.sha", "Sha256-Pw-2", NULL), 200);
	assert_int_equal(login("imp-ar", "Argon-Pw-3", NULL), 200);
	assert_int_equal(login("imp-ar", "Bcrypt-Pw-1", NULL), 401);
	assert_int_equal(login("imp_bc", "Sha256-Pw-2", NULL), 401);
	u = CTLJ("users", "show", "imp.sha");
	assert_string_equal(vct_json_str(u, "display_name"), "Imp, Sha \"two\" \\");
	json_decref(u);
	u = CTLJ("users", "show", "imp-ar");
	assert_string_equal(vct_json_str(u, "display_name"), "Argon \xc3\x9c");
	json_decref(u);
	u = CTLJ("users", "show", "imp_bc");
	assert_string_equal(vct_json_str(u, "display_name"), "imp_bc");
	json_decref(u);
	/* --json: {imported: N}. */
	vct_write_file(path, "imp-json,00000000000000000000000000000000"
			     "00000000000000000000000000000000\n");
	u = CTLJ("users", "import", path);
	assert_int_equal(vct_json_int(u, "imported"), 1);
	json_decref(u);
	expect_hidden(bc, NULL);
	free(text);
	free(path);
	free(bc);
	free(sha);
	vct_pass();
}

static void test_import_bad_lines(void **state)
{
	char *sha = sha256_of("Sha256-Pw-bad");
	char *path = vct_tmp_path("import-bad.csv"), *text;
	long long before = db_count("SELECT count(*) FROM users");
	unsigned asked = vct_vcd_log_count(vcd, "users import");
	vct_cmd_t r;

	text = vct_strf("bad-one,%s\n"
			"# a comment\n"
			"bad-two,$2b$04$tooshort\n"
			"bad-three,%s\n"
			"x!,%s\n",
			sha, sha, sha);
	vct_write_file(path, text);
	CTL(&r, false, "users", "import", path);
	expect_status(&r, 1);
	assert_non_null(strstr(r.err, "line 3: bad hash"));
	assert_non_null(strstr(r.err, "line 5: bad username 'x!'"));
	assert_null(strstr(r.err, "line 1:"));
	assert_null(strstr(r.err, "line 4:"));
	assert_non_null(strstr(r.err, "2 bad lines; nothing was sent to vcd"));
	assert_null(strstr(r.err, sha));
	assert_null(strstr(r.err, "tooshort"));
	vct_cmd_free(&r);
	/* A username twice (without regard to case) is a bad line too. */
	free(text);
	text = vct_strf("rep-one,%s\nrep-two,%s\nREP-one,%s\n", sha, sha, sha);
	vct_write_file(path, text);
	CTL(&r, false, "users", "import", path);
	expect_status(&r, 1);
	assert_non_null(strstr(r.err, "line 3: username 'REP-one' repeats line 1"));
	vct_cmd_free(&r);
	CTL_FAILS("cannot read", "users", "import", "/nonexistent/users.csv");
	/* Nothing reached vcd, nothing was inserted. */
	assert_int_equal(vct_vcd_log_count(vcd, "users import"), asked);
	assert_int_equal(db_count("SELECT count(*) FROM users"), before);
	free(text);
	free(path);
	free(sha);
	vct_pass();
}

static void test_import_existing(void **state)
{
	char *sha = sha256_of("Sha256-Pw-exists");
	char *path = vct_tmp_path("import-exists.csv"), *text;
	long long before;

	registered("already-here", "Pw-already-here", NULL);
	before = db_count("SELECT count(*) FROM users");
	text = vct_strf("new-one,%s\nALREADY-here,%s\nnew-two,%s\n", sha, sha, sha);
	vct_write_file(path, text);
	CTL_FAILS("nothing imported: username 'already-here' already exists", "users", "import",
		  path);
	assert_int_equal(db_count("SELECT count(*) FROM users"), before);
	assert_int_equal(db_count("SELECT count(*) FROM users WHERE username LIKE 'new-%'"), 0);
	/* The account that was there is untouched: its password still works. */
	assert_int_equal(login("already-here", "Pw-already-here", NULL), 200);
	expect_hidden(sha, NULL);
	free(text);
	free(path);
	free(sha);
	vct_pass();
}

/* Last: leaves BULK accounts and LIST_MAX + 1 sessions behind. */
static void test_import_bulk_and_caps(void **state)
{
	char *path = vct_tmp_path("import-bulk.csv"), *sha = sha256_of("Bulk-Pw");
	size_t cap = BULK * 100, len = 0;
	char *text = malloc(cap);
	long long before = db_count("SELECT count(*) FROM users");
	json_t *j;
	vct_cmd_t r;

	for (int i = 0; i < BULK; i++)
		len += (size_t)snprintf(text + len, cap - len, "bulk%05d,%s,Bulk user %d\n", i, sha,
					i);
	assert_true(len > 64 * 1024); /* more than the old request limit */
	vct_write_file(path, text);
	j = CTLJ("users", "import", path);
	assert_int_equal(vct_json_int(j, "imported"), BULK);
	json_decref(j);
	assert_int_equal(db_count("SELECT count(*) FROM users"), before + BULK);
	assert_int_equal(login("bulk01999", "Bulk-Pw", NULL), 200);
	/* users list shows at most LIST_MAX, and says there may be more. */
	CTL(&r, true, "users", "list");
	expect_status(&r, 0);
	j = json_loads(r.out, 0, NULL);
	assert_int_equal(json_array_size(j), LIST_MAX);
	json_decref(j);
	assert_non_null(strstr(r.err, "showing 1000 accounts"));
	vct_cmd_free(&r);
	/* sessions list likewise (sessions made in the database directly). */
	free(vct_db_value(db_url,
			  "INSERT INTO sessions (token_hash, user_id, expires_at)"
			  " SELECT sha256(('bulk-session-' || g)::bytea), u.id,"
			  " now() + interval '1 hour' FROM generate_series(1, 1001) g,"
			  " users u WHERE u.username = 'bulk00000'"));
	CTL(&r, true, "sessions", "list");
	expect_status(&r, 0);
	j = json_loads(r.out, 0, NULL);
	assert_int_equal(json_array_size(j), LIST_MAX);
	json_decref(j);
	assert_non_null(strstr(r.err, "showing 1000 sessions"));
	vct_cmd_free(&r);
	j = CTLJ("sessions", "revoke-all", "bulk00000");
	assert_int_equal(vct_json_int(j, "revoked"), 1001);
	json_decref(j);
	expect_hidden(sha, NULL);
	free(text);
	free(path);
	free(sha);
	vct_pass();
}

/* --- main ----------------------------------------------------------------- */

static int group_setup(void **state)
{
	db_url = vct_db_create("users_admin");
	vcd = vct_vcd_start("users_admin", db_url, CONF);
	vct_vcd_keep(vcd);
	return 0;
}

static int group_teardown(void **state)
{
	int rc = vct_vcd_finish(vcd);

	free(db_url);
	return rc;
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, vct_setup, vct_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_users_list),
		T(test_users_show),
		T(test_disable_enable),
		T(test_sessions_list_revoke),
		T(test_sessions_revoke_all),
		T(test_import),
		T(test_import_bad_lines),
		T(test_import_existing),
		T(test_import_bulk_and_caps),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
