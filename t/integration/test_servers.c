/*
 * test_servers.c — servers (Toju/MetoYou communities) against a real vcd
 * and PostgreSQL: the public directory (search, paging), create, update and
 * delete by the owner, joining (public, password, private → a join request
 * the owner decides), leaving, members, kick, ban and unban, ids in bodies
 * never taken for the caller, maxUsers under joins fired at once, bans
 * racing joins, the join and password rate limits, and vcctl servers.
 *
 * Accounts are registered through the API. One vcd (no rate limits) serves
 * most cases; the rate limit cases start their own on the same database.
 * Every case makes servers of its own, so cases do not see each other's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actors/password.h"
#include "t/lib/vctest.h"

#define MAIN_CONF "auth_rate_limit = off\nserver_join_rate_limit = off\n"
#define WAIT_MS 10000 /* a response under load: generous, never a condition's stand-in */
#define RACERS 16     /* joins fired at once at a server with room for RACE_SEATS */
#define RACE_SEATS 5  /* maxUsers of that server, the owner included */
#define BAN_ROUNDS 12 /* a join and a ban of one user fired at once */
#define NUSERS (RACERS + 8)
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Error bodies. */
#define E_BODY "{\"error\":\"The request body must be a JSON object\"}"
#define E_NOAUTH "{\"error\":\"Authentication required\"}"
#define E_INVALID "{\"error\":\"Invalid or expired session\"}"
#define E_SERVER "{\"error\":\"Server not found\"}"
#define E_OWNER "{\"error\":\"Only the server's owner can do this\"}"
#define E_NAME                                                                                     \
	"{\"error\":\"name must be a string of 1 to 100 bytes, not only spaces, without control "  \
	"characters\"}"
#define E_DESCRIPTION "{\"error\":\"description must be a string of at most 1000 bytes\"}"
#define E_PRIVATE "{\"error\":\"isPrivate must be true or false\"}"
#define E_PASSWORD "{\"error\":\"password must be a string of at most 256 bytes, or null\"}"
#define E_MAX "{\"error\":\"maxUsers must be an integer from 1 to 100000, or null\"}"
#define E_ICON "{\"error\":\"icon must be a string of at most 2048 bytes, or null\"}"
#define E_BANNED "{\"error\":\"You are banned from this server\"}"
#define E_NEEDS_PW "{\"error\":\"This server requires a password\"}"
#define E_WRONG_PW "{\"error\":\"Wrong password\"}"
#define E_FULL "{\"error\":\"Server is full\"}"
#define E_OWNER_LEAVE "{\"error\":\"The owner cannot leave the server; delete it instead\"}"
#define E_NOT_MEMBER "{\"error\":\"Not a member of this server\"}"
#define E_NO_REQUEST "{\"error\":\"Join request not found\"}"
#define E_ACCEPTED "{\"error\":\"Join request already accepted\"}"
#define E_DECLINED "{\"error\":\"Join request already declined\"}"
#define E_STATUS "{\"error\":\"status must be \\\"accepted\\\" or \\\"declined\\\"\"}"
#define E_USER_ID "{\"error\":\"userId must be a user id (a UUID)\"}"
#define E_SELF "{\"error\":\"The owner cannot kick or ban themselves\"}"
#define E_KICK_NONE "{\"error\":\"User is not a member of this server\"}"
#define E_NO_USER "{\"error\":\"User not found\"}"
#define E_NOT_BANNED "{\"error\":\"User is not banned from this server\"}"
#define E_REASON "{\"error\":\"reason must be a string of at most 500 bytes, or null\"}"
#define E_PRIVATE_MEMBERS "{\"error\":\"Only members can see the members of a private server\"}"
#define E_JOIN_RATE "{\"error\":\"Too many join attempts, try again later\"}"
#define E_AUTH_RATE "{\"error\":\"Too many attempts, try again later\"}"
#define E_LIMIT "{\"error\":\"limit must be an integer from 1 to 100\"}"
#define E_LIMIT_1000 "{\"error\":\"limit must be an integer from 1 to 1000\"}"
#define E_OFFSET "{\"error\":\"offset must be an integer from 0 to 1000000\"}"
#define E_Q "{\"error\":\"q must be text of at most 100 bytes\"}"
#define OK_TRUE "{\"success\":true}"
#define NO_SUCH "00000000-0000-4000-8000-000000000000" /* a UUID nothing has */

typedef struct acct {
	char id[37];
	char username[40];
	char token[65];
} acct_t;

static char *db_url;
static vct_vcd_t *vcd;
static acct_t users[NUSERS];
static unsigned nservers; /* for unique names */

/* --- helpers -------------------------------------------------------------- */

static char *rep(char c, size_t n)
{
	char *s = malloc(n + 1);

	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/* The compact text of j, which is stolen (malloc'd). */
static char *dump(json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);

	json_decref(j);
	return s;
}

static long long wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One request to v with a as the caller (Bearer; none when NULL). */
static int call_on(vct_vcd_t *v, const char *method, const char *path, const acct_t *a,
                   const char *body, vct_resp_t *r)
{
	char *h = a != NULL ? vct_strf("Authorization: Bearer %s\r\n", a->token) : NULL;
	int st = vct_http(v->port, method, path, h, body, r);

	free(h);
	return st;
}

/* Expect status and exactly the JSON body want. */
static void expect_on(vct_vcd_t *v, const char *method, const char *path, const acct_t *a,
                      const char *body, int status, const char *want)
{
	vct_resp_t r;

	call_on(v, method, path, a, body, &r);
	if (r.status != status)
		fail_msg("%s %s as %s with %.200s: HTTP %d %s, expected %d %s", method, path,
		         a ? a->username : "nobody", body ? body : "no body", r.status, r.body,
		         status, want);
	vct_expect_json(&r, status, want);
	vct_resp_free(&r);
}

static void expect(const char *method, const char *path, const acct_t *a, const char *body,
                   int status, const char *want)
{
	expect_on(vcd, method, path, a, body, status, want);
}

/* Expect status with a JSON body; return it parsed (the caller decrefs). */
static json_t *expect_json_on(vct_vcd_t *v, const char *method, const char *path, const acct_t *a,
                              const char *body, int status)
{
	vct_resp_t r;
	json_t *j;

	call_on(v, method, path, a, body, &r);
	if (r.status != status)
		fail_msg("%s %s as %s with %.200s: HTTP %d %s, expected %d", method, path,
		         a ? a->username : "nobody", body ? body : "no body", r.status, r.body,
		         status);
	j = vct_resp_json(&r);
	vct_resp_free(&r);
	return j;
}

static json_t *expect_ok(const char *method, const char *path, const acct_t *a, const char *body,
                         int status)
{
	return expect_json_on(vcd, method, path, a, body, status);
}

static void db_expect(const char *want, const char *fmt, ...) VCT_PRINTF(2, 3);

/* The first value of a query (printf-style) equals want (NULL: no row). */
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
		fail_msg("%s\n  gave %s, expected %s", sql, got ? got : "no row",
		         want ? want : "no row");
	free(got);
	free(sql);
}

/* Members of server id in PostgreSQL, as a count. */
static void expect_members(const char *id, unsigned n)
{
	char want[16];

	snprintf(want, sizeof(want), "%u", n);
	db_expect(want, "SELECT count(*) FROM server_members WHERE server_id = '%s'", id);
}

static void expect_member(const char *id, const acct_t *a, bool yes)
{
	db_expect(yes ? "1" : "0",
	          "SELECT count(*) FROM server_members WHERE server_id = '%s' AND user_id = '%s'",
	          id, a->id);
}

/* Register account a as `name` through the API. */
static void reg(acct_t *a, const char *name)
{
	char *body = dump(json_pack("{s:s,s:s}", "username", name, "password", "Pw-servers-7c1e!"));
	json_t *j = expect_ok("POST", "/api/users/register", NULL, body, 201);

	memset(a, 0, sizeof(*a));
	snprintf(a->id, sizeof(a->id), "%s", vct_json_str(j, "id"));
	snprintf(a->username, sizeof(a->username), "%s", name);
	snprintf(a->token, sizeof(a->token), "%s", vct_json_str(j, "token"));
	json_decref(j);
	free(body);
}

static char *path(const char *fmt, ...) VCT_PRINTF(1, 2);

static char *path(const char *fmt, ...)
{
	va_list ap;
	char *p;

	va_start(ap, fmt);
	if (vasprintf(&p, fmt, ap) < 0)
		abort();
	va_end(ap);
	return p;
}

/* A server name no other case uses, with `stem` in it (static buffer). */
static const char *fresh_name(const char *stem)
{
	static char buf[96];

	snprintf(buf, sizeof(buf), "%s %u", stem, ++nservers);
	return buf;
}

/* POST /api/servers as owner with the JSON object `more` (its members are
 * added to a fresh name; NULL: none); the new server's id into id. */
static void create(const acct_t *owner, const char *more, char id[37])
{
	json_t *o = more ? json_loads(more, 0, NULL) : json_object(), *j;
	char *body;

	if (o == NULL)
		fail_msg("create: bad JSON in the test: %s", more);
	if (json_object_get(o, "name") == NULL)
		json_object_set_new(o, "name", json_string(fresh_name("server")));
	body = dump(o);
	j = expect_ok("POST", "/api/servers", owner, body, 201);
	snprintf(id, 37, "%s", vct_json_str(j, "id"));
	json_decref(j);
	free(body);
}

/* A server answer: exactly the twelve members, with these values; max < 0
 * means null. createdAt within two minutes of now. */
static void expect_server(const json_t *j, const char *name, const char *description,
                          const acct_t *owner, bool priv, bool password, long long max,
                          long long members, const char *icon)
{
	long long now = wall_ms();
	json_t *m = json_object_get(j, "maxUsers"), *ic = json_object_get(j, "icon");

	if (!json_is_object(j) || json_object_size(j) != 12)
		fail_msg("not a server object of 12 members: %s", json_dumps(j, JSON_COMPACT));
	if (strlen(vct_json_str(j, "id")) != 36)
		fail_msg("id is not a UUID: %s", vct_json_str(j, "id"));
	assert_string_equal(vct_json_str(j, "name"), name);
	assert_string_equal(vct_json_str(j, "description"), description);
	assert_string_equal(vct_json_str(j, "ownerId"), owner->id);
	assert_string_equal(vct_json_str(j, "ownerName"), owner->username);
	assert_int_equal(vct_json_bool(j, "isPrivate"), priv);
	assert_int_equal(vct_json_bool(j, "hasPassword"), password);
	if (max < 0 ? !json_is_null(m) : !json_is_integer(m) || json_integer_value(m) != max)
		fail_msg("maxUsers is %s, expected %lld", json_dumps(m, JSON_ENCODE_ANY), max);
	assert_int_equal(vct_json_int(j, "memberCount"), members);
	if (icon == NULL ? !json_is_null(ic)
	                 : !json_is_string(ic) || strcmp(json_string_value(ic), icon) != 0)
		fail_msg("icon is %s, expected %s", json_dumps(ic, JSON_ENCODE_ANY),
		         icon ? icon : "null");
	if (llabs(vct_json_int(j, "createdAt") - now) > 120000)
		fail_msg("createdAt %lld is not now (%lld)",
		         (long long)vct_json_int(j, "createdAt"), now);
	if (vct_json_int(j, "updatedAt") < vct_json_int(j, "createdAt"))
		fail_msg("updatedAt before createdAt");
}

/* POST join as a with body (NULL: none): the status, the answer in *out
 * (decref'd by the caller; may be NULL). */
static json_t *join_as(const char *id, const acct_t *a, const char *body, int status)
{
	char *p = path("/api/servers/%s/join", id);
	json_t *j = expect_ok("POST", p, a, body, status);

	free(p);
	return j;
}

static void join_ok(const char *id, const acct_t *a, const char *body)
{
	json_t *j = join_as(id, a, body, 200);

	assert_string_equal(vct_json_str(j, "status"), "member");
	assert_string_equal(vct_json_str(j, "serverId"), id);
	assert_string_equal(vct_json_str(j, "userId"), a->id);
	json_decref(j);
}

static void join_refused(const char *id, const acct_t *a, const char *body, int status,
                         const char *want)
{
	char *p = path("/api/servers/%s/join", id);

	expect("POST", p, a, body, status, want);
	free(p);
}

/* `by` acts on `who`: POST /api/servers/{id}/VERB {"userId": who, more…}.
 * Expect status and the body want, or (want NULL) any JSON body. */
static void owner_act(const char *id, const char *verb, const acct_t *by, const char *who,
                      const char *more, int status, const char *want)
{
	char *p = path("/api/servers/%s/%s", id, verb);
	char *body = vct_strf("{\"userId\":\"%s\"%s}", who, more ? more : "");

	if (want != NULL)
		expect("POST", p, by, body, status, want);
	else
		json_decref(expect_ok("POST", p, by, body, status));
	free(body);
	free(p);
}

/* --- create, get, update, delete ------------------------------------------ */

static void test_create_and_get(void **state)
{
	acct_t *a = &users[0], *b = &users[1];
	json_t *j, *g;
	char *p, *hash, *body;
	const char *name = fresh_name("Chess Club");

	/* Every member; ownerId in the body names someone else and is ignored. */
	body = vct_strf(
	        "{\"name\":\"%s\",\"description\":\"Blitz on Fridays\",\"isPrivate\":false,"
	        "\"password\":\"knight to f3\",\"maxUsers\":50,\"icon\":\"https://i/c.png\","
	        "\"ownerId\":\"%s\",\"memberCount\":99}",
	        name, b->id);
	j = expect_ok("POST", "/api/servers", a, body, 201);
	expect_server(j, name, "Blitz on Fridays", a, false, true, 50, 1, "https://i/c.png");
	/* What PostgreSQL holds: the owner as the first member, an Argon2id hash. */
	db_expect("owner",
	          "SELECT role FROM server_members WHERE server_id = '%s' AND user_id = '%s'",
	          vct_json_str(j, "id"), a->id);
	expect_members(vct_json_str(j, "id"), 1);
	hash = vct_db_valuef(db_url, "SELECT password_hash FROM servers WHERE id = '%s'",
	                     vct_json_str(j, "id"));
	if (hash == NULL || strncmp(hash, "$argon2id$", 10) != 0)
		fail_msg("stored server password '%s' is not an Argon2id hash", hash ? hash : "");
	assert_int_equal(vc_password_verify(hash, "knight to f3"), VC_PW_OK);
	/* GET answers the same, without a credential; never the hash. */
	p = path("/api/servers/%s", vct_json_str(j, "id"));
	g = expect_ok("GET", p, NULL, NULL, 200);
	assert_true(json_equal(g, j));
	json_decref(g);
	free(p);
	free(hash);
	free(body);
	json_decref(j);

	/* Only a name: the defaults. null members count as absent or none. */
	name = fresh_name("Go Club");
	body = vct_strf("{\"name\":\"%s\",\"description\":null,\"isPrivate\":null,"
	                "\"password\":\"\",\"maxUsers\":null,\"icon\":null}",
	                name);
	j = expect_ok("POST", "/api/servers", b, body, 201);
	expect_server(j, name, "", b, false, false, -1, 1, NULL);
	db_expect(NULL, "SELECT 1 FROM servers WHERE id = '%s' AND password_hash IS NOT NULL",
	          vct_json_str(j, "id"));
	json_decref(j);
	free(body);

	/* The limits themselves. */
	{
		char *n100 = rep('n', 100), *d1000 = rep('d', 1000), *p256 = rep('p', 256);
		char *i2048 = rep('i', 2048);

		body = vct_strf("{\"name\":\"%s\",\"description\":\"%s\",\"password\":\"%s\","
		                "\"maxUsers\":100000,\"icon\":\"%s\",\"isPrivate\":true}",
		                n100, d1000, p256, i2048);
		j = expect_ok("POST", "/api/servers", a, body, 201);
		expect_server(j, n100, d1000, a, true, true, 100000, 1, i2048);
		json_decref(j);
		free(body);
		free(n100);
		free(d1000);
		free(p256);
		free(i2048);
	}

	/* Unknown and malformed ids. */
	expect("GET", "/api/servers/" NO_SUCH, NULL, NULL, 404, E_SERVER);
	expect("GET", "/api/servers/not-a-uuid", NULL, NULL, 404, E_SERVER);
	/* No credential, or a bad one. */
	expect("POST", "/api/servers", NULL, "{\"name\":\"x\"}", 401, E_NOAUTH);
	{
		acct_t bad = *a;
		memset(bad.token, 'a', 64);
		expect("POST", "/api/servers", &bad, "{\"name\":\"x\"}", 401, E_INVALID);
	}
	vct_pass();
}

typedef struct bad_body {
	const char *body;
	const char *want;
} bad_body_t;

static void test_create_invalid(void **state)
{
	char *n101 = rep('n', 101), *d1001 = rep('d', 1001), *p257 = rep('p', 257);
	char *i2049 = rep('i', 2049), *before, *after;
	char *long_name = vct_strf("{\"name\":\"%s\"}", n101);
	char *long_desc = vct_strf("{\"name\":\"x\",\"description\":\"%s\"}", d1001);
	char *long_pw = vct_strf("{\"name\":\"x\",\"password\":\"%s\"}", p257);
	char *long_icon = vct_strf("{\"name\":\"x\",\"icon\":\"%s\"}", i2049);
	const bad_body_t cases[] = {
		{ "", E_BODY },
		{ "not json", E_BODY },
		{ "[]", E_BODY },
		{ "\"x\"", E_BODY },
		{ "{\"name\":\"a\",\"name\":\"b\"}", E_BODY },
		{ "{}", E_NAME },
		{ "{\"name\":null}", E_NAME },
		{ "{\"name\":\"\"}", E_NAME },
		{ "{\"name\":\"   \"}", E_NAME },
		{ "{\"name\":\"a\\tb\"}", E_NAME },
		{ "{\"name\":\"a\\u007fb\"}", E_NAME },
		{ "{\"name\":42}", E_NAME },
		{ "{\"name\":[\"x\"]}", E_NAME },
		{ long_name, E_NAME },
		{ "{\"name\":\"x\",\"description\":7}", E_DESCRIPTION },
		{ long_desc, E_DESCRIPTION },
		{ "{\"name\":\"x\",\"isPrivate\":\"yes\"}", E_PRIVATE },
		{ "{\"name\":\"x\",\"isPrivate\":1}", E_PRIVATE },
		{ "{\"name\":\"x\",\"password\":1234}", E_PASSWORD },
		{ long_pw, E_PASSWORD },
		{ "{\"name\":\"x\",\"maxUsers\":0}", E_MAX },
		{ "{\"name\":\"x\",\"maxUsers\":100001}", E_MAX },
		{ "{\"name\":\"x\",\"maxUsers\":-3}", E_MAX },
		{ "{\"name\":\"x\",\"maxUsers\":2.5}", E_MAX },
		{ "{\"name\":\"x\",\"maxUsers\":\"10\"}", E_MAX },
		{ "{\"name\":\"x\",\"icon\":false}", E_ICON },
		{ long_icon, E_ICON },
	};

	before = vct_db_value(db_url, "SELECT count(*) FROM servers");
	for (size_t i = 0; i < ARRAY_LEN(cases); i++)
		expect("POST", "/api/servers", &users[0], cases[i].body, 400, cases[i].want);
	expect("POST", "/api/servers", &users[0], NULL, 400, E_BODY);
	after = vct_db_value(db_url, "SELECT count(*) FROM servers");
	assert_string_equal(before, after);
	free(before);
	free(after);
	free(long_name);
	free(long_desc);
	free(long_pw);
	free(long_icon);
	free(n101);
	free(d1001);
	free(p257);
	free(i2049);
	vct_pass();
}

static void test_update(void **state)
{
	acct_t *a = &users[0], *b = &users[1];
	char id[37], *p, *hash;
	json_t *j;
	const char *name = fresh_name("Update Club");
	char *body = vct_strf("{\"name\":\"%s\",\"description\":\"first\",\"maxUsers\":10,"
	                      "\"icon\":\"i1\"}",
	                      name);

	j = expect_ok("POST", "/api/servers", a, body, 201);
	snprintf(id, sizeof(id), "%s", vct_json_str(j, "id"));
	json_decref(j);
	free(body);
	p = path("/api/servers/%s", id);

	/* Absent members stay; an empty object changes nothing but updatedAt. */
	j = expect_ok("PUT", p, a, "{}", 200);
	expect_server(j, name, "first", a, false, false, 10, 1, "i1");
	json_decref(j);
	j = expect_ok("PUT", p, a, "{\"isPrivate\":true,\"password\":\"rook\"}", 200);
	expect_server(j, name, "first", a, true, true, 10, 1, "i1");
	json_decref(j);
	hash = vct_db_valuef(db_url, "SELECT password_hash FROM servers WHERE id = '%s'", id);
	assert_int_equal(vc_password_verify(hash, "rook"), VC_PW_OK);
	free(hash);
	/* null clears; a new name; the owner may name the server as before. */
	j = expect_ok("PUT", p, a,
	              "{\"name\":\"Renamed\",\"description\":null,\"password\":null,"
	              "\"maxUsers\":null,\"icon\":null,\"isPrivate\":false}",
	              200);
	expect_server(j, "Renamed", "", a, false, false, -1, 1, NULL);
	json_decref(j);
	db_expect(NULL, "SELECT 1 FROM servers WHERE id = '%s' AND password_hash IS NOT NULL", id);
	/* "" is no password too. */
	j = expect_ok("PUT", p, a, "{\"password\":\"x\"}", 200);
	json_decref(j);
	j = expect_ok("PUT", p, a, "{\"password\":\"\",\"maxUsers\":3}", 200);
	expect_server(j, "Renamed", "", a, false, false, 3, 1, NULL);
	json_decref(j);
	/* GET shows what PUT answered. */
	j = expect_ok("GET", p, NULL, NULL, 200);
	expect_server(j, "Renamed", "", a, false, false, 3, 1, NULL);
	json_decref(j);

	/* Refusals: not the owner (with or without a password to hash), bad
	 * members, a name removed, unknown and malformed ids, no credential. */
	expect("PUT", p, b, "{\"name\":\"Mine now\"}", 403, E_OWNER);
	expect("PUT", p, b, "{\"password\":\"mine\"}", 403, E_OWNER);
	expect("PUT", p, a, "{\"name\":null}", 400, E_NAME);
	expect("PUT", p, a, "{\"name\":\"\"}", 400, E_NAME);
	expect("PUT", p, a, "{\"maxUsers\":0}", 400, E_MAX);
	expect("PUT", p, a, "{\"isPrivate\":\"no\"}", 400, E_PRIVATE);
	expect("PUT", p, a, "[1]", 400, E_BODY);
	expect("PUT", "/api/servers/" NO_SUCH, a, "{\"name\":\"x\"}", 404, E_SERVER);
	expect("PUT", "/api/servers/" NO_SUCH, a, "{\"password\":\"x\"}", 404, E_SERVER);
	expect("PUT", "/api/servers/12345", a, "{\"name\":\"x\"}", 404, E_SERVER);
	expect("PUT", p, NULL, "{\"name\":\"x\"}", 401, E_NOAUTH);
	db_expect("Renamed", "SELECT name FROM servers WHERE id = '%s'", id);
	free(p);
	vct_pass();
}

static void test_delete(void **state)
{
	acct_t *a = &users[0], *b = &users[1], *c = &users[2], *d = &users[3];
	char id[37], pid[37], *p;

	create(a, NULL, id);
	create(a, "{\"isPrivate\":true}", pid);
	join_ok(id, b, NULL);
	owner_act(id, "ban", a, c->id, ",\"reason\":\"spam\"", 200, NULL);
	json_decref(join_as(pid, d, NULL, 202));
	p = path("/api/servers/%s", id);
	expect("DELETE", p, b, NULL, 403, E_OWNER);
	expect("DELETE", p, NULL, NULL, 401, E_NOAUTH);
	expect("DELETE", p, a, NULL, 200, OK_TRUE);
	expect("GET", p, NULL, NULL, 404, E_SERVER);
	expect("DELETE", p, a, NULL, 404, E_SERVER);
	/* Its members and bans went with it; the other server is untouched. */
	db_expect("0", "SELECT count(*) FROM server_members WHERE server_id = '%s'", id);
	db_expect("0", "SELECT count(*) FROM server_bans WHERE server_id = '%s'", id);
	free(p);
	p = path("/api/servers/%s", pid);
	expect("DELETE", p, a, NULL, 200, OK_TRUE);
	db_expect("0", "SELECT count(*) FROM server_join_requests WHERE server_id = '%s'", pid);
	expect("DELETE", "/api/servers/" NO_SUCH, a, NULL, 404, E_SERVER);
	expect("DELETE", "/api/servers/x", a, NULL, 404, E_SERVER);
	free(p);
	vct_pass();
}

/* --- the directory --------------------------------------------------------- */

/* GET target: 200 with a page; the names of its servers joined by '|'
 * into out, total and limit/offset checked. */
static void list_names(const char *target, long long total, long long limit, long long offset,
                       char *out, size_t len)
{
	json_t *j = expect_ok("GET", target, NULL, NULL, 200),
	       *list = json_object_get(j, "servers");
	size_t o = 0;

	if (!json_is_array(list) || json_object_size(j) != 4)
		fail_msg("GET %s: not {servers, total, limit, offset}: %s", target,
		         json_dumps(j, JSON_COMPACT));
	if (vct_json_int(j, "total") != total || vct_json_int(j, "limit") != limit ||
	    vct_json_int(j, "offset") != offset)
		fail_msg("GET %s: total, limit, offset %lld, %lld, %lld; expected %lld, %lld, %lld",
		         target, (long long)vct_json_int(j, "total"),
		         (long long)vct_json_int(j, "limit"), (long long)vct_json_int(j, "offset"),
		         total, limit, offset);
	out[0] = '\0';
	for (size_t i = 0; i < json_array_size(list); i++) {
		json_t *s = json_array_get(list, i);
		char *text = json_dumps(s, 0);
		if (json_object_get(s, "password") != NULL || strstr(text, "argon2"))
			fail_msg("the directory shows a password: %s", text);
		free(text);
		o += (size_t)snprintf(out + o, len - o, "%s%s", i ? "|" : "",
		                      vct_json_str(s, "name"));
	}
	json_decref(j);
}

static void test_directory(void **state)
{
	acct_t *a = &users[4], *b = &users[5];
	static const char *const names[] = { "zebra Dirtest", "Alpha dirtest", "beta DIRTEST",
		                             "Gamma dirtest", "delta other" };
	char id[37], got[512], *body;
	json_t *j, *s;

	for (size_t i = 0; i < ARRAY_LEN(names); i++) {
		body = vct_strf("{\"name\":\"%s\",\"isPrivate\":%s,\"password\":\"%s\"}", names[i],
		                i % 2 ? "true" : "false", i == 2 ? "pw" : "");
		create(i < 3 ? a : b, body, id);
		free(body);
	}
	join_ok(id, a, NULL); /* "delta other" has two members */

	/* Search: a substring of the name, without regard to case, private too;
	 * ordered by name without regard to case. */
	list_names("/api/servers?q=dirtest", 4, 20, 0, got, sizeof(got));
	assert_string_equal(got, "Alpha dirtest|beta DIRTEST|Gamma dirtest|zebra Dirtest");
	list_names("/api/servers?q=DirTest&limit=2", 4, 2, 0, got, sizeof(got));
	assert_string_equal(got, "Alpha dirtest|beta DIRTEST");
	list_names("/api/servers?q=dirtest&limit=2&offset=2", 4, 2, 2, got, sizeof(got));
	assert_string_equal(got, "Gamma dirtest|zebra Dirtest");
	list_names("/api/servers?q=dirtest&offset=4", 4, 20, 4, got, sizeof(got));
	assert_string_equal(got, "");
	list_names("/api/servers?q=dirtest&offset=1000000", 4, 20, 1000000, got, sizeof(got));
	list_names("/api/servers?q=ta%20dir", 1, 20, 0, got, sizeof(got)); /* percent-decoded */
	assert_string_equal(got, "beta DIRTEST");
	list_names("/api/servers?q=ta+dir", 1, 20, 0, got, sizeof(got)); /* '+' is a space */
	list_names("/api/servers?q=%25", 0, 20, 0, got, sizeof(got));    /* no wildcards */
	list_names("/api/servers?q=_", 0, 20, 0, got, sizeof(got));
	list_names("/api/servers?q=nothing-has-this-name", 0, 20, 0, got, sizeof(got));
	list_names("/api/servers?q=dirtest&limit=100", 4, 100, 0, got, sizeof(got));
	/* An empty q, or none: every server. */
	{
		char *n = vct_db_value(db_url, "SELECT count(*) FROM servers");

		list_names("/api/servers?q=&limit=1", strtoll(n, NULL, 10), 1, 0, got, sizeof(got));
		list_names("/api/servers?limit=1", strtoll(n, NULL, 10), 1, 0, got, sizeof(got));
		free(n);
	}

	/* One server as the directory shows it: public fields and counts. */
	j = expect_ok("GET", "/api/servers?q=delta%20other", NULL, NULL, 200);
	s = json_array_get(json_object_get(j, "servers"), 0);
	expect_server(s, "delta other", "", b, false, false, -1, 2, NULL);
	json_decref(j);
	j = expect_ok("GET", "/api/servers?q=beta", NULL, NULL, 200);
	s = json_array_get(json_object_get(j, "servers"), 0);
	expect_server(s, "beta DIRTEST", "", a, false, true, -1, 1, NULL);
	json_decref(j);

	/* Bad paging and search. */
	expect("GET", "/api/servers?limit=0", NULL, NULL, 400, E_LIMIT);
	expect("GET", "/api/servers?limit=101", NULL, NULL, 400, E_LIMIT);
	expect("GET", "/api/servers?limit=ten", NULL, NULL, 400, E_LIMIT);
	expect("GET", "/api/servers?limit=", NULL, NULL, 400, E_LIMIT);
	expect("GET", "/api/servers?limit=-1", NULL, NULL, 400, E_LIMIT);
	expect("GET", "/api/servers?offset=1000001", NULL, NULL, 400, E_OFFSET);
	expect("GET", "/api/servers?offset=1.5", NULL, NULL, 400, E_OFFSET);
	expect("GET", "/api/servers?q=%ff", NULL, NULL, 400, E_Q);
	expect("GET", "/api/servers?q=a%00b", NULL, NULL, 400, E_Q);
	{
		char *q101 = rep('q', 101);

		body = vct_strf("/api/servers?q=%s", q101);
		expect("GET", body, NULL, NULL, 400, E_Q);
		free(body);
		free(q101);
	}
	vct_pass();
}

/* --- joining ---------------------------------------------------------------- */

static void test_join_public(void **state)
{
	acct_t *a = &users[0], *b = &users[1];
	char id[37], *p;
	json_t *j, *k;

	create(a, NULL, id);
	j = join_as(id, b, NULL, 200);
	if (json_object_size(j) != 5)
		fail_msg("join answer: %s", json_dumps(j, JSON_COMPACT));
	assert_string_equal(vct_json_str(j, "status"), "member");
	assert_string_equal(vct_json_str(j, "role"), "member");
	expect_member(id, b, true);
	/* Again: harmless, the same membership. An empty object is no body. */
	k = join_as(id, b, "{}", 200);
	assert_int_equal(vct_json_int(k, "joinedAt"), vct_json_int(j, "joinedAt"));
	json_decref(k);
	json_decref(j);
	expect_members(id, 2);
	/* The owner is a member already. */
	j = join_as(id, a, NULL, 200);
	assert_string_equal(vct_json_str(j, "role"), "owner");
	json_decref(j);
	/* A password offered to a server without one is not looked at. */
	join_ok(id, b, "{\"password\":\"whatever\"}");
	/* The members, public: the owner first. */
	p = path("/api/servers/%s/members", id);
	j = expect_ok("GET", p, NULL, NULL, 200);
	assert_int_equal(vct_json_int(j, "total"), 2);
	k = json_object_get(j, "members");
	assert_int_equal(json_array_size(k), 2);
	assert_string_equal(vct_json_str(json_array_get(k, 0), "userId"), a->id);
	assert_string_equal(vct_json_str(json_array_get(k, 0), "role"), "owner");
	assert_string_equal(vct_json_str(json_array_get(k, 0), "username"), a->username);
	assert_string_equal(vct_json_str(json_array_get(k, 1), "userId"), b->id);
	assert_string_equal(vct_json_str(json_array_get(k, 1), "role"), "member");
	if (json_object_size(json_array_get(k, 1)) != 5)
		fail_msg("member: %s", json_dumps(json_array_get(k, 1), JSON_COMPACT));
	json_decref(j);
	free(p);
	p = path("/api/servers/%s/members?limit=1&offset=1", id);
	j = expect_ok("GET", p, b, NULL, 200);
	assert_int_equal(json_array_size(json_object_get(j, "members")), 1);
	assert_string_equal(vct_json_str(json_array_get(json_object_get(j, "members"), 0),
	                                 "userId"),
	                    b->id);
	json_decref(j);
	free(p);
	p = path("/api/servers/%s/members?limit=1001", id);
	expect("GET", p, NULL, NULL, 400, E_LIMIT_1000);
	free(p);
	/* Refusals. */
	join_refused(NO_SUCH, b, NULL, 404, E_SERVER);
	join_refused("nope", b, NULL, 404, E_SERVER);
	join_refused(id, b, "[]", 400, E_BODY);
	join_refused(id, b, "{\"password\":5}", 400, E_PASSWORD);
	join_refused(id, NULL, NULL, 401, E_NOAUTH);
	expect("GET", "/api/servers/" NO_SUCH "/members", NULL, NULL, 404, E_SERVER);
	vct_pass();
}

static void test_join_password(void **state)
{
	acct_t *a = &users[0], *b = &users[1], *c = &users[2];
	char id[37], *p;

	create(a, "{\"password\":\"open sesame\"}", id);
	join_refused(id, b, NULL, 403, E_NEEDS_PW);
	join_refused(id, b, "{\"password\":\"\"}", 403, E_NEEDS_PW);
	join_refused(id, b, "{\"password\":null}", 403, E_NEEDS_PW);
	join_refused(id, b, "{\"password\":\"open says me\"}", 403, E_WRONG_PW);
	expect_member(id, b, false);
	join_ok(id, b, "{\"password\":\"open sesame\"}");
	expect_member(id, b, true);
	/* A member needs it no more; after leaving, again. */
	join_ok(id, b, NULL);
	p = path("/api/servers/%s/leave", id);
	expect("POST", p, b, NULL, 200, OK_TRUE);
	free(p);
	join_refused(id, b, NULL, 403, E_NEEDS_PW);
	/* A new password: the old one is wrong now. */
	p = path("/api/servers/%s", id);
	json_decref(expect_ok("PUT", p, a, "{\"password\":\"new one\"}", 200));
	join_refused(id, c, "{\"password\":\"open sesame\"}", 403, E_WRONG_PW);
	join_ok(id, c, "{\"password\":\"new one\"}");
	/* Cleared: anyone joins. */
	json_decref(expect_ok("PUT", p, a, "{\"password\":null}", 200));
	join_ok(id, b, NULL);
	free(p);
	vct_pass();
}

static void test_private_requests(void **state)
{
	acct_t *a = &users[0], *b = &users[1], *c = &users[2], *d = &users[3];
	char id[37], rid[37], rid2[37], *p, *rp;
	json_t *j, *q;

	create(a, "{\"isPrivate\":true}", id);
	/* A join makes a pending request; again, the same one. */
	j = join_as(id, b, NULL, 202);
	assert_string_equal(vct_json_str(j, "status"), "pending");
	q = json_object_get(j, "request");
	if (json_object_size(q) != 9)
		fail_msg("request: %s", json_dumps(q, JSON_COMPACT));
	snprintf(rid, sizeof(rid), "%s", vct_json_str(q, "id"));
	assert_string_equal(vct_json_str(q, "serverId"), id);
	assert_string_equal(vct_json_str(q, "userId"), b->id);
	assert_string_equal(vct_json_str(q, "username"), b->username);
	assert_string_equal(vct_json_str(q, "status"), "pending");
	assert_true(json_is_null(json_object_get(q, "decidedAt")));
	assert_true(json_is_null(json_object_get(q, "decidedBy")));
	json_decref(j);
	j = join_as(id, b, NULL, 202);
	assert_string_equal(vct_json_str(json_object_get(j, "request"), "id"), rid);
	json_decref(j);
	expect_member(id, b, false);
	db_expect("pending", "SELECT status FROM server_join_requests WHERE id = '%s'", rid);
	j = join_as(id, c, NULL, 202);
	snprintf(rid2, sizeof(rid2), "%s", vct_json_str(json_object_get(j, "request"), "id"));
	json_decref(j);

	/* The owner's list, oldest first; nobody else's. */
	p = path("/api/servers/%s/requests", id);
	j = expect_ok("GET", p, a, NULL, 200);
	assert_int_equal(vct_json_int(j, "total"), 2);
	q = json_object_get(j, "requests");
	assert_string_equal(vct_json_str(json_array_get(q, 0), "id"), rid);
	assert_string_equal(vct_json_str(json_array_get(q, 1), "id"), rid2);
	assert_string_equal(vct_json_str(json_array_get(q, 1), "userId"), c->id);
	json_decref(j);
	expect("GET", p, b, NULL, 403, E_OWNER);
	expect("GET", p, NULL, NULL, 401, E_NOAUTH);
	free(p);
	expect("GET", "/api/servers/" NO_SUCH "/requests", a, NULL, 404, E_SERVER);

	/* A private server's members: its members only. */
	p = path("/api/servers/%s/members", id);
	expect("GET", p, NULL, NULL, 401, E_NOAUTH);
	expect("GET", p, b, NULL, 403, E_PRIVATE_MEMBERS);
	json_decref(expect_ok("GET", p, a, NULL, 200));
	{
		acct_t bad = *a;
		memset(bad.token, 'b', 64);
		expect("GET", p, &bad, NULL, 401, E_INVALID);
	}

	/* Deciding: the owner only, once. */
	rp = path("/api/requests/%s", rid);
	expect("PUT", rp, b, "{\"status\":\"accepted\"}", 403, E_OWNER);
	expect("PUT", rp, NULL, "{\"status\":\"accepted\"}", 401, E_NOAUTH);
	expect("PUT", rp, a, "{\"status\":\"yes\"}", 400, E_STATUS);
	expect("PUT", rp, a, "{\"status\":true}", 400, E_STATUS);
	expect("PUT", rp, a, "{}", 400, E_STATUS);
	expect("PUT", rp, a, "", 400, E_BODY);
	j = expect_ok("PUT", rp, a, "{\"status\":\"accepted\"}", 200);
	assert_string_equal(vct_json_str(j, "id"), rid);
	assert_string_equal(vct_json_str(j, "status"), "accepted");
	assert_string_equal(vct_json_str(j, "decidedBy"), a->id);
	assert_string_equal(vct_json_str(j, "userId"), b->id);
	assert_true(vct_json_int(j, "decidedAt") >= vct_json_int(j, "createdAt"));
	json_decref(j);
	expect_member(id, b, true);
	expect("PUT", rp, a, "{\"status\":\"accepted\"}", 409, E_ACCEPTED);
	expect("PUT", rp, a, "{\"status\":\"declined\"}", 409, E_ACCEPTED);
	json_decref(expect_ok("GET", p, b, NULL, 200)); /* a member sees the members */
	free(rp);
	rp = path("/api/requests/%s", rid2);
	j = expect_ok("PUT", rp, a, "{\"status\":\"declined\"}", 200);
	assert_string_equal(vct_json_str(j, "status"), "declined");
	json_decref(j);
	expect_member(id, c, false);
	expect("PUT", rp, a, "{\"status\":\"accepted\"}", 409, E_DECLINED);
	free(rp);
	expect("PUT", "/api/requests/" NO_SUCH, a, "{\"status\":\"accepted\"}", 404, E_NO_REQUEST);
	expect("PUT", "/api/requests/42", a, "{\"status\":\"accepted\"}", 404, E_NO_REQUEST);
	/* Declined may ask again: a new request. Decided ones leave the list. */
	j = join_as(id, c, NULL, 202);
	assert_string_not_equal(vct_json_str(json_object_get(j, "request"), "id"), rid2);
	json_decref(j);
	free(p);
	p = path("/api/servers/%s/requests", id);
	j = expect_ok("GET", p, a, NULL, 200);
	assert_int_equal(vct_json_int(j, "total"), 1);
	json_decref(j);
	free(p);
	/* A private server with a password wants both. */
	create(a, "{\"isPrivate\":true,\"password\":\"both\"}", id);
	join_refused(id, d, NULL, 403, E_NEEDS_PW);
	join_refused(id, d, "{\"password\":\"neither\"}", 403, E_WRONG_PW);
	json_decref(join_as(id, d, "{\"password\":\"both\"}", 202));
	vct_pass();
}

static void test_leave(void **state)
{
	acct_t *a = &users[0], *b = &users[1];
	char id[37], *p;

	create(a, NULL, id);
	join_ok(id, b, NULL);
	p = path("/api/servers/%s/leave", id);
	expect("POST", p, a, NULL, 409, E_OWNER_LEAVE);
	expect("POST", p, b, NULL, 200, OK_TRUE);
	expect_member(id, b, false);
	expect("POST", p, b, NULL, 404, E_NOT_MEMBER);
	expect("POST", p, NULL, NULL, 401, E_NOAUTH);
	expect_members(id, 1);
	free(p);
	expect("POST", "/api/servers/" NO_SUCH "/leave", b, NULL, 404, E_SERVER);
	vct_pass();
}

/* --- moderation --------------------------------------------------------------- */

static void test_kick(void **state)
{
	acct_t *a = &users[0], *b = &users[1], *c = &users[2];
	char id[37], *p, *body;

	create(a, NULL, id);
	join_ok(id, b, NULL);
	join_ok(id, c, NULL);
	owner_act(id, "kick", b, c->id, NULL, 403, E_OWNER);
	owner_act(id, "kick", a, a->id, NULL, 409, E_SELF);
	owner_act(id, "kick", b, b->id, NULL, 403, E_OWNER); /* not the owner, not "self" */
	expect_members(id, 3);
	owner_act(id, "kick", a, c->id, NULL, 200, OK_TRUE);
	expect_member(id, c, false);
	owner_act(id, "kick", a, c->id, NULL, 404, E_KICK_NONE);
	owner_act(id, "kick", a, NO_SUCH, NULL, 404, E_KICK_NONE);
	/* Upper case names the same user. */
	{
		char up[37];
		for (size_t i = 0; i < 37; i++)
			up[i] = (char)toupper((unsigned char)b->id[i]);
		owner_act(id, "kick", a, up, NULL, 200, OK_TRUE);
		expect_member(id, b, false);
	}
	/* Kicked is not banned. */
	join_ok(id, c, NULL);
	p = path("/api/servers/%s/kick", id);
	expect("POST", p, a, "{}", 400, E_USER_ID);
	expect("POST", p, a, "{\"userId\":42}", 400, E_USER_ID);
	expect("POST", p, a, "{\"userId\":\"bob\"}", 400, E_USER_ID);
	expect("POST", p, a, "nope", 400, E_BODY);
	body = vct_strf("{\"userId\":\"%s\"}", c->id);
	expect("POST", p, NULL, body, 401, E_NOAUTH);
	expect("POST", "/api/servers/" NO_SUCH "/kick", a, body, 404, E_SERVER);
	free(body);
	free(p);
	vct_pass();
}

static void test_ban(void **state)
{
	acct_t *a = &users[0], *b = &users[1], *c = &users[2], *d = &users[3];
	char id[37], pid[37], *p, *body;
	json_t *j, *k;

	create(a, NULL, id);
	join_ok(id, b, NULL);
	p = path("/api/servers/%s/ban", id);
	body = vct_strf("{\"userId\":\"%s\",\"reason\":\"spam\"}", b->id);
	j = expect_ok("POST", p, a, body, 200);
	if (json_object_size(j) != 7)
		fail_msg("ban: %s", json_dumps(j, JSON_COMPACT));
	assert_string_equal(vct_json_str(j, "serverId"), id);
	assert_string_equal(vct_json_str(j, "userId"), b->id);
	assert_string_equal(vct_json_str(j, "username"), b->username);
	assert_string_equal(vct_json_str(j, "reason"), "spam");
	assert_string_equal(vct_json_str(j, "bannedBy"), a->id);
	expect_member(id, b, false);
	join_refused(id, b, NULL, 403, E_BANNED);
	/* Banning again replaces the reason, keeps the time. */
	free(body);
	body = vct_strf("{\"userId\":\"%s\"}", b->id);
	k = expect_ok("POST", p, a, body, 200);
	assert_true(json_is_null(json_object_get(k, "reason")));
	assert_int_equal(vct_json_int(k, "createdAt"), vct_json_int(j, "createdAt"));
	json_decref(k);
	json_decref(j);
	free(body);
	/* Someone who never joined may be banned; an unknown user may not. */
	owner_act(id, "ban", a, c->id, NULL, 200, NULL);
	join_refused(id, c, NULL, 403, E_BANNED);
	owner_act(id, "ban", a, NO_SUCH, NULL, 404, E_NO_USER);
	owner_act(id, "ban", a, a->id, NULL, 409, E_SELF);
	owner_act(id, "ban", b, d->id, NULL, 403, E_OWNER);
	owner_act(id, "ban", a, d->id, ",\"reason\":7", 400, E_REASON);
	{
		char *r501 = rep('r', 501), *more = vct_strf(",\"reason\":\"%s\"", r501);
		owner_act(id, "ban", a, d->id, more, 400, E_REASON);
		free(more);
		free(r501);
	}
	owner_act(id, "ban", a, "x", NULL, 400, E_USER_ID);
	db_expect("0", "SELECT count(*) FROM server_bans WHERE user_id = '%s'", d->id);
	/* The owner's list. */
	free(p);
	p = path("/api/servers/%s/bans", id);
	j = expect_ok("GET", p, a, NULL, 200);
	assert_int_equal(vct_json_int(j, "total"), 2);
	k = json_array_get(json_object_get(j, "bans"), 0);
	assert_string_equal(vct_json_str(k, "userId"), b->id);
	if (json_object_size(k) != 6)
		fail_msg("ban in the list: %s", json_dumps(k, JSON_COMPACT));
	json_decref(j);
	expect("GET", p, b, NULL, 403, E_OWNER);
	expect("GET", p, NULL, NULL, 401, E_NOAUTH);
	free(p);
	/* Unban: the user may join again. */
	p = path("/api/servers/%s/bans/%s", id, b->id);
	expect("DELETE", p, c, NULL, 403, E_OWNER);
	expect("DELETE", p, a, NULL, 200, OK_TRUE);
	expect("DELETE", p, a, NULL, 404, E_NOT_BANNED);
	join_ok(id, b, NULL);
	free(p);
	p = path("/api/servers/%s/bans/not-a-user", id);
	expect("DELETE", p, a, NULL, 404, E_NOT_BANNED);
	free(p);
	p = path("/api/servers/" NO_SUCH "/bans/%s", c->id);
	expect("DELETE", p, a, NULL, 404, E_SERVER);
	free(p);
	/* A ban declines a pending request. */
	create(a, "{\"isPrivate\":true}", pid);
	j = join_as(pid, d, NULL, 202);
	owner_act(pid, "ban", a, d->id, NULL, 200, NULL);
	db_expect("declined", "SELECT status FROM server_join_requests WHERE id = '%s'",
	          vct_json_str(json_object_get(j, "request"), "id"));
	json_decref(j);
	join_refused(pid, d, NULL, 403, E_BANNED);
	vct_pass();
}

/* --- ids in bodies ------------------------------------------------------------- */

/* Only the credential says who acts: a member naming the owner in a body
 * gets nothing the owner could do. */
static void test_body_ids_ignored(void **state)
{
	acct_t *a = &users[0], *b = &users[1], *c = &users[2];
	char id[37], pid[37], rid[37], *p, *body;
	json_t *j;

	create(a, "{\"name\":\"Owned by a\"}", id);
	join_ok(id, b, NULL);
	join_ok(id, c, NULL);
	body = vct_strf("{\"name\":\"Taken\",\"ownerId\":\"%s\",\"userId\":\"%s\","
	                "\"actorId\":\"%s\",\"authUserId\":\"%s\"}",
	                a->id, a->id, a->id, a->id);
	p = path("/api/servers/%s", id);
	expect("PUT", p, b, body, 403, E_OWNER);
	expect("DELETE", p, b, body, 403, E_OWNER);
	db_expect("Owned by a", "SELECT name FROM servers WHERE id = '%s'", id);
	free(body);
	free(p);
	body = vct_strf(",\"ownerId\":\"%s\",\"actorId\":\"%s\"", a->id, a->id);
	owner_act(id, "kick", b, c->id, body, 403, E_OWNER);
	owner_act(id, "ban", b, c->id, body, 403, E_OWNER);
	expect_member(id, c, true);
	free(body);
	/* Deciding a request while naming the owner. */
	create(a, "{\"isPrivate\":true}", pid);
	j = join_as(pid, c, NULL, 202);
	snprintf(rid, sizeof(rid), "%s", vct_json_str(json_object_get(j, "request"), "id"));
	json_decref(j);
	p = path("/api/requests/%s", rid);
	body = vct_strf("{\"status\":\"accepted\",\"ownerId\":\"%s\",\"userId\":\"%s\"}", a->id,
	                a->id);
	expect("PUT", p, b, body, 403, E_OWNER);
	db_expect("pending", "SELECT status FROM server_join_requests WHERE id = '%s'", rid);
	free(body);
	free(p);
	/* A join or a leave naming someone else acts for the caller. */
	body = vct_strf("{\"userId\":\"%s\"}", c->id);
	json_decref(join_as(pid, b, body, 202));
	db_expect("1",
	          "SELECT count(*) FROM server_join_requests WHERE server_id = '%s' AND "
	          "user_id = '%s'",
	          pid, b->id);
	p = path("/api/servers/%s/leave", id);
	expect("POST", p, b, body, 200, OK_TRUE);
	expect_member(id, b, false);
	expect_member(id, c, true);
	free(p);
	free(body);
	/* Creating while naming an owner: the caller owns it. */
	body = vct_strf("{\"name\":\"Mine\",\"ownerId\":\"%s\"}", a->id);
	j = expect_ok("POST", "/api/servers", b, body, 201);
	assert_string_equal(vct_json_str(j, "ownerId"), b->id);
	db_expect("owner",
	          "SELECT role FROM server_members WHERE server_id = '%s' AND user_id = '%s'",
	          vct_json_str(j, "id"), b->id);
	expect_members(vct_json_str(j, "id"), 1);
	json_decref(j);
	free(body);
	vct_pass();
}

/* --- at the same time ------------------------------------------------------------ */

typedef struct shot {
	const char *method;
	char *path;
	const acct_t *as;
	char *body; /* NULL: none */
	int status; /* the answer */
	char *answer;
} shot_t;

/*
 * Each request on its own connection, all of them sent but for their last
 * byte, and read by vcd that far; then the last bytes one after another, so
 * that vcd has them all at once (on both workers); then every answer.
 */
static void fire(vct_vcd_t *v, shot_t *s, unsigned n)
{
	vct_conn_t **c = calloc(n, sizeof(*c));
	char **req = calloc(n, sizeof(*req));
	vct_resp_t r;

	for (unsigned i = 0; i < n; i++) {
		c[i] = vct_conn_open(v->port);
		req[i] = vct_strf("%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
		                  "Authorization: Bearer %s\r\nContent-Length: %zu\r\n\r\n%s",
		                  s[i].method, s[i].path, s[i].as->token,
		                  s[i].body ? strlen(s[i].body) : 0, s[i].body ? s[i].body : "");
		if (!vct_conn_send(c[i], req[i], strlen(req[i]) - 1))
			fail_msg("request %u: vcd closed the connection", i);
	}
	for (unsigned i = 0; i < n; i++)
		if (!vct_conn_wait_peer_read(c[i], WAIT_MS))
			fail_msg("vcd did not read request %u (%s %s) within %d ms", i, s[i].method,
			         s[i].path, WAIT_MS);
	for (unsigned i = 0; i < n; i++)
		if (!vct_conn_send(c[i], req[i] + strlen(req[i]) - 1, 1))
			fail_msg("request %u: vcd closed the connection", i);
	for (unsigned i = 0; i < n; i++) {
		if (!vct_http_read(c[i], &r, false, WAIT_MS))
			fail_msg("no answer to request %u (%s %s) within %d ms", i, s[i].method,
			         s[i].path, WAIT_MS);
		s[i].status = r.status;
		s[i].answer = strdup(r.body);
		vct_resp_free(&r);
		vct_conn_close(c[i]);
		free(req[i]);
	}
	free(c);
	free(req);
}

static void shots_free(shot_t *s, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		free(s[i].path);
		free(s[i].body);
		free(s[i].answer);
	}
}

/* RACERS joins at once at a server with RACE_SEATS - 1 free seats: exactly
 * that many get in, the others are told it is full. The same for the
 * owner accepting requests at once. */
static void test_max_users_race(void **state)
{
	acct_t *a = &users[0];
	shot_t s[RACERS];
	char id[37], more[64], *p;
	unsigned ok = 0, full = 0;
	json_t *j, *list;

	snprintf(more, sizeof(more), "{\"maxUsers\":%d}", RACE_SEATS);
	create(a, more, id);
	for (unsigned i = 0; i < RACERS; i++)
		s[i] = (shot_t){ .method = "POST",
			         .path = path("/api/servers/%s/join", id),
			         .as = &users[4 + i] };
	fire(vcd, s, RACERS);
	for (unsigned i = 0; i < RACERS; i++) {
		if (s[i].status == 200)
			ok++;
		else if (s[i].status == 409 && strcmp(s[i].answer, E_FULL) == 0)
			full++;
		else
			fail_msg("join %u: HTTP %d %s, expected 200 or 409 full", i, s[i].status,
			         s[i].answer);
	}
	shots_free(s, RACERS);
	if (ok != RACE_SEATS - 1 || full != RACERS - (RACE_SEATS - 1))
		fail_msg("%u joins got in and %u were refused as full; expected %d and %d", ok,
		         full, RACE_SEATS - 1, RACERS - (RACE_SEATS - 1));
	expect_members(id, RACE_SEATS);
	/* A lower limit removes nobody; a join is still refused. */
	p = path("/api/servers/%s", id);
	j = expect_ok("PUT", p, a, "{\"maxUsers\":2}", 200);
	assert_int_equal(vct_json_int(j, "memberCount"), RACE_SEATS);
	json_decref(j);
	free(p);
	expect_members(id, RACE_SEATS);
	join_refused(id, &users[3], NULL, 409, E_FULL);

	/* Accepting requests at once: two seats, RACERS requests. */
	snprintf(more, sizeof(more), "{\"maxUsers\":3,\"isPrivate\":true}");
	create(a, more, id);
	for (unsigned i = 0; i < RACERS; i++)
		json_decref(join_as(id, &users[4 + i], NULL, 202));
	p = path("/api/servers/%s/requests", id);
	j = expect_ok("GET", p, a, NULL, 200);
	list = json_object_get(j, "requests");
	assert_int_equal(json_array_size(list), RACERS);
	for (unsigned i = 0; i < RACERS; i++)
		s[i] = (shot_t){ .method = "PUT",
			         .path = path("/api/requests/%s",
			                      vct_json_str(json_array_get(list, i), "id")),
			         .as = a,
			         .body = strdup("{\"status\":\"accepted\"}") };
	json_decref(j);
	free(p);
	fire(vcd, s, RACERS);
	ok = full = 0;
	for (unsigned i = 0; i < RACERS; i++) {
		if (s[i].status == 200)
			ok++;
		else if (s[i].status == 409 && strcmp(s[i].answer, E_FULL) == 0)
			full++;
		else
			fail_msg("accept %u: HTTP %d %s, expected 200 or 409 full", i, s[i].status,
			         s[i].answer);
	}
	shots_free(s, RACERS);
	if (ok != 2 || full != RACERS - 2)
		fail_msg("%u acceptances got in and %u were refused as full; expected 2 and %d", ok,
		         full, RACERS - 2);
	expect_members(id, 3);
	db_expect("2",
	          "SELECT count(*) FROM server_join_requests WHERE server_id = '%s' AND "
	          "status = 'accepted'",
	          id);
	vct_pass();
}

/* A join and a ban of the same user at once end banned, never a member,
 * whichever runs first. */
static void test_ban_races_join(void **state)
{
	acct_t *a = &users[0];
	char id[37];
	shot_t s[2];

	create(a, NULL, id);
	for (unsigned round = 0; round < BAN_ROUNDS; round++) {
		const acct_t *u = &users[4 + round];
		unsigned jn = round % 2, bn = 1 - jn; /* which goes first varies */

		s[jn] = (shot_t){ .method = "POST",
			          .path = path("/api/servers/%s/join", id),
			          .as = u };
		s[bn] = (shot_t){ .method = "POST",
			          .path = path("/api/servers/%s/ban", id),
			          .as = a,
			          .body = vct_strf("{\"userId\":\"%s\"}", u->id) };
		fire(vcd, s, 2);
		if (s[bn].status != 200)
			fail_msg("round %u: ban answered %d %s", round, s[bn].status, s[bn].answer);
		if (s[jn].status != 200 &&
		    !(s[jn].status == 403 && strcmp(s[jn].answer, E_BANNED) == 0))
			fail_msg("round %u: join answered %d %s", round, s[jn].status,
			         s[jn].answer);
		shots_free(s, 2);
		expect_member(id, u, false);
		db_expect("1",
		          "SELECT count(*) FROM server_bans WHERE server_id = '%s' AND user_id = "
		          "'%s'",
		          id, u->id);
	}
	expect_members(id, 1);
	vct_pass();
}

/* --- rate limits ----------------------------------------------------------------- */

static void expect_retry_after(vct_vcd_t *v, const char *target, const acct_t *a, const char *body,
                               unsigned most, const char *want)
{
	vct_resp_t r;
	const char *ra;

	call_on(v, "POST", target, a, body, &r);
	vct_expect_json(&r, 429, want);
	ra = vct_resp_header(&r, "Retry-After");
	if (ra == NULL || atoi(ra) < 1 || (unsigned)atoi(ra) > most)
		fail_msg("Retry-After: %s, expected 1 to %u", ra ? ra : "(none)", most);
	vct_resp_free(&r);
}

static void test_join_rate_limit(void **state)
{
	vct_vcd_t *v = vct_vcd_start("srv_join_rate", db_url,
	                             "auth_rate_limit = off\nserver_join_rate_limit = 3/1m\n");
	acct_t *a = &users[0], *b = &users[1], *c = &users[2];
	char id[37], *p = NULL, *np = path("/api/servers/%s/join", NO_SUCH);

	create(a, NULL, id);
	p = path("/api/servers/%s/join", id);
	/* Every join counts: a new membership, an old one, a refusal. */
	json_decref(expect_json_on(v, "POST", p, b, NULL, 200));
	json_decref(expect_json_on(v, "POST", p, b, NULL, 200));
	expect_on(v, "POST", np, b, NULL, 404, E_SERVER);
	expect_retry_after(v, p, b, NULL, 60, E_JOIN_RATE);
	expect_retry_after(v, np, b, NULL, 60, E_JOIN_RATE);
	/* Per user: another user, from the same address, is not held back. */
	json_decref(expect_json_on(v, "POST", p, c, NULL, 200));
	/* Other routes are not counted. */
	expect_on(v, "POST", "/api/servers/" NO_SUCH "/leave", b, NULL, 404, E_SERVER);
	vct_vcd_stop_ok(v);
	free(p);
	free(np);
	vct_pass();
}

static void test_password_rate_limit(void **state)
{
	vct_vcd_t *v = vct_vcd_start("srv_pw_rate", db_url,
	                             "auth_rate_limit = 2/1m\nserver_join_rate_limit = off\n");
	acct_t *a = &users[0], *b = &users[1];
	char id[37], open[37], *p, *po;

	create(a, "{\"password\":\"swordfish\"}", id);
	create(a, NULL, open);
	p = path("/api/servers/%s/join", id);
	po = path("/api/servers/%s/join", open);
	/* No password offered, or one to a server without: nothing to guess. */
	for (int i = 0; i < 3; i++)
		expect_on(v, "POST", p, b, NULL, 403, E_NEEDS_PW);
	json_decref(expect_json_on(v, "POST", po, b, "{\"password\":\"x\"}", 200));
	json_decref(expect_json_on(v, "POST", po, b, "{\"password\":\"y\"}", 200));
	/* Guesses count per address, right or wrong, before the check. */
	expect_on(v, "POST", p, b, "{\"password\":\"tuna\"}", 403, E_WRONG_PW);
	expect_on(v, "POST", p, b, "{\"password\":\"trout\"}", 403, E_WRONG_PW);
	expect_retry_after(v, p, b, "{\"password\":\"swordfish\"}", 60, E_AUTH_RATE);
	expect_member(id, b, false);
	vct_vcd_stop_ok(v);
	free(p);
	free(po);
	vct_pass();
}

/* --- vcctl ----------------------------------------------------------------------- */

static void test_vcctl(void **state)
{
	acct_t *a = &users[0], *b = &users[1], *c = &users[2], *d = &users[3];
	const char *name = fresh_name("Vcctl Club");
	char id[37], *body;
	json_t *j, *row = NULL;
	vct_cmd_t r;

	body = vct_strf("{\"name\":\"%s\",\"isPrivate\":true,\"password\":\"pw\",\"maxUsers\":9,"
	                "\"description\":\"about\"}",
	                name);
	create(a, body, id);
	free(body);
	json_decref(join_as(id, b, "{\"password\":\"pw\"}", 202));
	json_decref(join_as(id, c, "{\"password\":\"pw\"}", 202));
	{
		char *rp = path("/api/servers/%s/requests", id), *dp;
		j = expect_ok("GET", rp, a, NULL, 200);
		dp = path("/api/requests/%s",
		          vct_json_str(json_array_get(json_object_get(j, "requests"), 0), "id"));
		json_decref(expect_ok("PUT", dp, a, "{\"status\":\"accepted\"}", 200));
		json_decref(j);
		free(dp);
		free(rp);
	}
	owner_act(id, "ban", a, d->id, NULL, 200, NULL);

	/* servers list: name, id, owner, members, private, password. */
	j = vct_vcctl_json(vcd, (const char *const[]){ "servers", "list", NULL });
	for (size_t i = 0; i < json_array_size(j); i++)
		if (strcmp(vct_json_str(json_array_get(j, i), "id"), id) == 0)
			row = json_array_get(j, i);
	if (row == NULL)
		fail_msg("servers list lacks %s", id);
	if (json_object_size(row) != 6)
		fail_msg("servers list row: %s", json_dumps(row, JSON_COMPACT));
	assert_string_equal(vct_json_str(row, "name"), name);
	assert_string_equal(vct_json_str(row, "owner"), a->username);
	assert_int_equal(vct_json_int(row, "members"), 2);
	assert_true(vct_json_bool(row, "private"));
	assert_true(vct_json_bool(row, "password"));
	json_decref(j);
	/* As text: a table with a header. */
	vct_vcctl(&r, vcd, false, (const char *const[]){ "servers", "list", NULL });
	vct_expect_exit(&r, 0);
	if (strncmp(r.out, "name", 4) != 0 || strstr(r.out, id) == NULL)
		fail_msg("servers list printed:\n%s", r.out);
	vct_cmd_free(&r);

	/* servers show: the counts. */
	j = vct_vcctl_json(vcd, (const char *const[]){ "servers", "show", id, NULL });
	assert_string_equal(vct_json_str(j, "name"), name);
	assert_string_equal(vct_json_str(j, "description"), "about");
	assert_string_equal(vct_json_str(j, "owner_id"), a->id);
	assert_int_equal(vct_json_int(j, "max_users"), 9);
	assert_int_equal(vct_json_int(j, "members"), 2);
	assert_int_equal(vct_json_int(j, "pending_requests"), 1);
	assert_int_equal(vct_json_int(j, "bans"), 1);
	char *shown = json_dumps(j, 0);
	if (strstr(shown, "argon2") != NULL)
		fail_msg("servers show shows a password hash: %s", shown);
	free(shown);
	json_decref(j);

	/* servers delete: gone for the API too. */
	j = vct_vcctl_json(vcd, (const char *const[]){ "servers", "delete", id, NULL });
	assert_string_equal(vct_json_str(j, "deleted"), id);
	assert_int_equal(vct_json_int(j, "members"), 2);
	json_decref(j);
	body = path("/api/servers/%s", id);
	expect("GET", body, NULL, NULL, 404, E_SERVER);
	free(body);
	db_expect("0", "SELECT count(*) FROM server_members WHERE server_id = '%s'", id);
	assert_true(vct_vcd_wait_log(vcd, "admin: server ", WAIT_MS));

	/* Unknown and malformed ids. */
	vct_vcctl(&r, vcd, false, (const char *const[]){ "servers", "show", id, NULL });
	vct_expect_exit(&r, 1);
	if (strstr(r.err, "no server '") == NULL)
		fail_msg("servers show of a deleted server said: %s", r.err);
	vct_cmd_free(&r);
	vct_vcctl(&r, vcd, false, (const char *const[]){ "servers", "delete", "chess", NULL });
	vct_expect_exit(&r, 1);
	if (strstr(r.err, "expected a server id") == NULL)
		fail_msg("servers delete chess said: %s", r.err);
	vct_cmd_free(&r);
	vct_pass();
}

/* Server passwords never reach the log (last: the cases above used them). */
static void test_log_holds_no_passwords(void **state)
{
	static const char *const pws[] = { "knight to f3", "open sesame", "open says me",
		                           "new one",      "swordfish",   "neither" };
	char *log = vct_vcd_log(vcd);

	for (size_t i = 0; i < ARRAY_LEN(pws); i++)
		if (strstr(log, pws[i]) != NULL)
			fail_msg("the log holds the server password '%s'", pws[i]);
	free(log);
	vct_pass();
}

/* --- main ------------------------------------------------------------------------- */

static int group_setup(void **state)
{
	char name[16];

	if (vc_password_init() != 0)
		return -1;
	db_url = vct_db_create("servers");
	vcd = vct_vcd_start("srv_main", db_url, MAIN_CONF);
	vct_vcd_keep(vcd);
	for (unsigned i = 0; i < NUSERS; i++) {
		snprintf(name, sizeof(name), "user%02u", i);
		reg(&users[i], name);
	}
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
		T(test_create_and_get),
		T(test_create_invalid),
		T(test_update),
		T(test_delete),
		T(test_directory),
		T(test_join_public),
		T(test_join_password),
		T(test_private_requests),
		T(test_leave),
		T(test_kick),
		T(test_ban),
		T(test_body_ids_ignored),
		T(test_max_users_race),
		T(test_ban_races_join),
		T(test_join_rate_limit),
		T(test_password_rate_limit),
		T(test_vcctl),
		T(test_log_holds_no_passwords), /* last: reads the log */
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
