/*
 * test_embed.c — call-scoped embed credentials on two vcd nodes sharing one
 * nats-server (doc/external.md "Embed credentials", vcd-api(7) "EMBED
 * CREDENTIALS", vcd-protocol(7) embed_key).
 *
 *   lifecycle  a session opened with ?embed_key=KEY on node A: its
 *              credentials fetched on A and on B (same userId and authToken;
 *              serverUrl the request's Host on A, embed_server_url on B);
 *              the authToken works on A and B on its three routes, for its
 *              own meeting only, and nowhere else
 *   teardown   socket close, kick, reject, end, delete, leave (socket kept),
 *              drain, kill -9 of the holder: after each the authToken is
 *              refused on both nodes within 1 s (polled, bound 1.5 s) and
 *              every fetch answers null
 *   IDOR       other user, other meeting, the same user's other session,
 *              forged and replayed keys and tokens, no provider claim, an
 *              observer token, no or a bad credential: every answer is the
 *              same `200 null`, whole responses compared (Date aside)
 *   secrets    no key nor authToken in the vcds' logs (node B logs at debug
 *              level), in a pg_dump of the database, or in any file under
 *              the test run's directory (vcd configs and logs, PostgreSQL's
 *              data directory and WAL, nats-server's files)
 *
 * Nodes A and B serve the cases; drain and crash start nodes of their own.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <dirent.h>
#include <jansson.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "t/lib/vctest.h"
#include "t/lib/vctest_meetings.h"
#include "t/lib/vctest_ws.h"

#define SECRET VCM_SECRET
#define WAIT VCL_MS
#define HOST "host@example.com"
#define GUEST "guest@example.com"
#define OTHER "other@example.com"
#define PROVIDER "chat"
#define SERVER_URL_B "https://meet.example.com"
#define WIPE_BOUND_MS 1500 /* the contract's 1 s, and a margin */
#define MAX_SECRETS 256

static char *db_url;
static vct_vcd_t *node_a, *node_b;
static bool teardown_failed;
/* Every key and authToken the cases saw, for the last case. */
static char *secrets[MAX_SECRETS];
static unsigned nsecrets;

/* --- helpers -------------------------------------------------------------------- */

static void remember(const char *s)
{
	if (nsecrets < MAX_SECRETS)
		secrets[nsecrets++] = vct_strf("%s", s);
}

/* A random embed_key: 43 characters of base64url. */
static char *key_new(void)
{
	uint8_t raw[32];
	char *out = malloc(sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_URLSAFE_NO_PADDING));

	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(out,
	                  sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_URLSAFE_NO_PADDING),
	                  raw, sizeof(raw), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	remember(out);
	return out;
}

/* A room token as part A's vc_room_token will issue it for a meeting with a
 * provider (provider NULL: without the claim). */
static char *room_token(const char *user, const char *room, const char *provider)
{
	json_t *c = vct_room_claims(user, room, user);
	char *t;

	if (provider != NULL)
		json_object_set_new(c, "embed_provider", json_string(provider));
	t = vct_jwt(c, SECRET);
	json_decref(c);
	return t;
}

static vcl_t *open_with_key(const vct_vcd_t *v, const char *token, const char *key,
                            const char *user, const char *room)
{
	char *base = vct_lobby_target(token);
	char *target = key != NULL ? vct_strf("%s&embed_key=%s", base, key) : vct_strf("%s", base);
	vcl_t *s = vcl_open_target(v->port, target, user, room, user);

	free(base);
	free(target);
	return s;
}

/* GET .../embed-credentials on v with these headers. */
static int fetch_raw(const vct_vcd_t *v, const char *room, const char *headers, vct_resp_t *r)
{
	char *path = vct_strf("/api/v1/meetings/%s/embed-credentials", room);
	int st = vct_http(v->port, "GET", path, headers, NULL, r);

	free(path);
	return st;
}

static int fetch(const vct_vcd_t *v, const char *room, const char *token, const char *key,
                 vct_resp_t *r)
{
	char *h = vct_strf("Authorization: Bearer %s\r\nX-Embed-Key: %s\r\n", token, key);
	int st = fetch_raw(v, room, h, r);

	free(h);
	return st;
}

/* The whole response but its Date: status, headers in order, body. */
static char *whole(const vct_resp_t *r)
{
	size_t cap = 64 + r->body_len, n;
	char *out;

	for (unsigned i = 0; i < r->nheaders; i++)
		cap += strlen(r->names[i]) + strlen(r->values[i]) + 4;
	out = malloc(cap);
	n = (size_t)snprintf(out, cap, "%d\n", r->status);
	for (unsigned i = 0; i < r->nheaders; i++)
		if (strcasecmp(r->names[i], "Date") != 0)
			n += (size_t)snprintf(out + n, cap - n, "%s: %s\n", r->names[i],
			                      r->values[i]);
	snprintf(out + n, cap - n, "\n%.*s", (int)r->body_len, r->body);
	return out;
}

/* The reference null: a fetch with no credential at all. */
static char *null_reference(const vct_vcd_t *v)
{
	vct_resp_t r;
	char *w;

	fetch_raw(v, "embed-nobody", NULL, &r);
	w = whole(&r);
	if (r.status != 200 || strcmp(r.body, "null") != 0 ||
	    !vct_resp_header_has(&r, "Content-Type", "application/json"))
		fail_msg("a fetch without credentials on %s answered:\n%s", v->name, w);
	vct_resp_free(&r);
	return w;
}

/* r must be byte for byte the null answer (Date aside). */
static void expect_null(const vct_vcd_t *v, vct_resp_t *r, const char *what)
{
	char *ref = null_reference(v), *got = whole(r);

	if (strcmp(ref, got) != 0)
		fail_msg("%s on %s: expected the uniform null answer\n%s\ngot\n%s", what, v->name,
		         ref, got);
	free(ref);
	free(got);
	vct_resp_free(r);
}

static void fetch_null(const vct_vcd_t *v, const char *room, const char *token, const char *key,
                       const char *what)
{
	vct_resp_t r;

	fetch(v, room, token, key, &r);
	expect_null(v, &r, what);
}

/* The credentials on v: userId, the authToken (malloc'd), serverUrl checked. */
static char *fetch_ok(const vct_vcd_t *v, const char *room, const char *token, const char *key,
                      const char *user, const char *server_url)
{
	vct_resp_t r;
	json_t *j;
	char *auth, *w;

	fetch(v, room, token, key, &r);
	w = whole(&r);
	if (r.status != 200 || strcmp(r.body, "null") == 0)
		fail_msg("fetching %s's credentials on %s: expected them, got\n%s", user, v->name,
		         w);
	j = vct_resp_json(&r);
	if (json_object_size(j) != 3 || strcmp(vct_json_str(j, "userId"), user) != 0 ||
	    strcmp(vct_json_str(j, "serverUrl"), server_url) != 0 ||
	    strncmp(vct_json_str(j, "authToken"), "vce1.", 5) != 0 ||
	    !vct_resp_header_has(&r, "Cache-Control", "no-store"))
		fail_msg("fetching %s's credentials on %s (serverUrl %s expected):\n%s", user,
		         v->name, server_url, w);
	auth = vct_strf("%s", vct_json_str(j, "authToken"));
	remember(auth);
	json_decref(j);
	vct_resp_free(&r);
	free(w);
	return auth;
}

static char *url_of(const vct_vcd_t *v)
{
	return v == node_b ? vct_strf("%s", SERVER_URL_B)
	                   : vct_strf("http://127.0.0.1:%d", v->port);
}

/* GET path on v with the authToken as Bearer: the status (the body in *body). */
static int use(const vct_vcd_t *v, const char *path, const char *method, const char *auth,
               json_t **body)
{
	char *h = vct_strf("Authorization: Bearer %s\r\n", auth);
	vct_resp_t r;
	int st = vct_http(v->port, method, path, h, NULL, &r);

	if (body != NULL)
		*body = st == 200 ? vct_resp_json(&r) : NULL;
	vct_resp_free(&r);
	free(h);
	return st;
}

/* The authToken works on v: /api/users/me, the meeting, its participants. */
static void expect_works(const vct_vcd_t *v, const char *auth, const char *user, const char *room)
{
	char *info = vct_strf("/api/v1/meetings/%s", room);
	char *parts = vct_strf("/api/v1/meetings/%s/participants", room);
	json_t *j;
	int st;

	if ((st = use(v, "/api/users/me", "GET", auth, &j)) != 200)
		fail_msg("GET /api/users/me with the authToken on %s: %d, expected 200", v->name,
		         st);
	if (strcmp(vct_json_str(j, "id"), user) != 0)
		fail_msg("GET /api/users/me with the authToken on %s: id %s, expected %s", v->name,
		         vct_json_str(j, "id"), user);
	json_decref(j);
	if ((st = use(v, info, "GET", auth, &j)) != 200)
		fail_msg("GET %s with the authToken on %s: %d, expected 200", info, v->name, st);
	json_decref(j);
	if ((st = use(v, parts, "GET", auth, &j)) != 200)
		fail_msg("GET %s with the authToken on %s: %d, expected 200", parts, v->name, st);
	json_decref(j);
	free(info);
	free(parts);
}

/* GET /api/users/me with the authToken on both nodes at once: refused[i]
 * when node i answered 401. */
static void me_both(const char *auth, bool refused[2])
{
	const vct_vcd_t *nodes[2] = { node_a, node_b };
	vct_conn_t *c[2];

	for (unsigned i = 0; i < 2; i++) {
		c[i] = vct_conn_open(nodes[i]->port);
		if (!vct_conn_sendf(c[i],
		                    "GET /api/users/me HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
		                    "Connection: close\r\nAuthorization: Bearer %s\r\n\r\n",
		                    nodes[i]->port, auth))
			fail_msg("cannot send to %s", nodes[i]->name);
	}
	for (unsigned i = 0; i < 2; i++) {
		vct_resp_t r;
		if (!vct_http_read(c[i], &r, false, 5000))
			fail_msg("GET /api/users/me on %s: no answer within 5 s", nodes[i]->name);
		refused[i] = r.status == 401;
		vct_resp_free(&r);
		vct_conn_close(c[i]);
	}
}

/* Poll both nodes (both asked at once) until the authToken is refused
 * (401) on each: fail when that takes longer than WIPE_BOUND_MS after
 * `since`. Returns the time it took (ms). */
static uint64_t expect_refused_soon(const char *auth, uint64_t since, const char *after)
{
	bool refused[2];
	uint64_t now;

	for (;;) {
		me_both(auth, refused); /* both in the same round */
		now = vct_now_ms();
		if (refused[0] && refused[1])
			return now - since;
		if (now - since > WIPE_BOUND_MS)
			fail_msg("after %s: the authToken still accepted %llu ms later on%s%s "
			         "(awaited: 401 on GET /api/users/me on both nodes within %d ms)",
			         after, (unsigned long long)(now - since),
			         refused[0] ? "" : " node A", refused[1] ? "" : " node B",
			         WIPE_BOUND_MS);
		vct_sleep_ms(20);
	}
}

/* After a teardown: refused everywhere soon, and fetches answer null. */
static void expect_wiped(const char *auth, const char *room, const char *token, const char *key,
                         uint64_t since, const char *after)
{
	char *what = vct_strf("a fetch after %s", after);

	uint64_t took = expect_refused_soon(auth, since, after);

	print_message("after %s: the authToken refused on both nodes %llu ms later\n", after,
	              (unsigned long long)took);
	fetch_null(node_a, room, token, key, what);
	fetch_null(node_b, room, token, key, what);
	free(what);
}

/* A meeting on node A, waiting room off (or on), the guest joined. */
static void meeting(const char *room, bool waiting_room)
{
	vcm_target(node_a);
	vcm_new_room(HOST, room,
	             waiting_room ? ",\"waiting_room_enabled\":true"
	                          : ",\"waiting_room_enabled\":false");
	json_decref(vcm_join(HOST, room, "Host"));
	json_decref(vcm_join(GUEST, room, "Guest"));
}

/* The guest's session with a key on node v, and its authToken (fetched on A). */
static vcl_t *guest_session(const vct_vcd_t *v, const char *room, char **token, char **key,
                            char **auth)
{
	vcl_t *s;
	char *url = url_of(node_a);

	*token = room_token(GUEST, room, PROVIDER);
	*key = key_new();
	s = open_with_key(v, *token, *key, GUEST, room);
	*auth = fetch_ok(node_a, room, *token, *key, GUEST, url);
	free(url);
	return s;
}

/* --- lifecycle --------------------------------------------------------------------- */

static void test_lifecycle(void **state)
{
	const char *room = "em-life";
	char *token, *key, *auth, *auth_b, *url_b = url_of(node_b);
	char *other = vct_strf("/api/v1/meetings/%s", "em-elsewhere");
	vcl_t *s;
	uint64_t t0;

	double given_a =
	        vct_metric_get(node_a->port, "vcd_embed_fetches_total{answer=\"credentials\"}");
	double used_b = vct_metric_get(node_b->port, "vcd_embed_uses_total{result=\"accepted\"}");

	meeting(room, false);
	s = guest_session(node_a, room, &token, &key, &auth);
	auth_b = fetch_ok(node_b, room, token, key, GUEST, url_b);
	if (strcmp(auth, auth_b) != 0)
		fail_msg("the same session's authToken differs between nodes: %s / %s", auth,
		         auth_b);
	expect_works(node_a, auth, GUEST, room);
	expect_works(node_b, auth, GUEST, room);
	/* /metrics: one session holds credentials (on A), A gave them once, B
	 * accepted the authToken on three requests */
	assert_true(vct_metric_get(node_a->port, "vcd_embed_sessions") == 1);
	assert_true(vct_metric_get(node_b->port, "vcd_embed_sessions") == 0);
	assert_true(
	        vct_metric_get(node_a->port, "vcd_embed_fetches_total{answer=\"credentials\"}") ==
	        given_a + 1);
	assert_true(vct_metric_get(node_b->port, "vcd_embed_uses_total{result=\"accepted\"}") ==
	            used_b + 3);
	/* vcctl rooms show says which session holds credentials, never them. */
	{
		const char *words[] = { "rooms", "show", room, NULL };
		json_t *j = vct_vcctl_json(node_a, words), *e;
		char *text = json_dumps(j, JSON_COMPACT);
		size_t i;
		unsigned with = 0;
		json_array_foreach(json_object_get(j, "sessions"), i, e) with +=
		        json_is_true(json_object_get(e, "embed"));
		if (with != 1 || strstr(text, auth) != NULL || strstr(text, key) != NULL)
			fail_msg("vcctl rooms show %s: %u sessions with embed true, expected 1; or "
			         "a secret shown: %s",
			         room, with, text);
		free(text);
		json_decref(j);
	}
	/* Only those routes, only its meeting. */
	struct {
		const char *method, *path;
	} refused[] = {
		{ "GET", "/api/v1/meetings" },
		{ "GET", other },
		{ "GET", "/api/v1/meetings/em-elsewhere/participants" },
		{ "GET", "/api/v1/meetings/em-life/status" },
		{ "GET", "/api/v1/meetings/em-life/waiting" },
		{ "POST", "/api/v1/meetings/em-life/leave" },
		{ "POST", "/api/v1/meetings/em-life/end" },
		{ "DELETE", "/api/v1/meetings/em-life" },
		{ "GET", "/api/users/sessions" },
		{ "POST", "/api/users/logout" },
		{ "GET", "/session" },
		{ "GET", "/profile" },
	};
	for (unsigned i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		for (unsigned n = 0; n < 2; n++) {
			const vct_vcd_t *v = n == 0 ? node_a : node_b;
			int st = use(v, refused[i].path, refused[i].method, auth, NULL);
			if (st != 401)
				fail_msg("%s %s with the authToken on %s: %d, expected 401",
				         refused[i].method, refused[i].path, v->name, st);
		}
	/* A page of another origin may send X-Embed-Key (CORS preflight). */
	{
		vct_resp_t r;
		vct_http(node_a->port, "OPTIONS", "/api/v1/meetings/em-life/embed-credentials",
		         "Origin: https://chat.example.com\r\n"
		         "Access-Control-Request-Method: GET\r\n"
		         "Access-Control-Request-Headers: authorization,x-embed-key\r\n",
		         NULL, &r);
		if (r.status != 200 ||
		    !vct_resp_header_has(&r, "Access-Control-Allow-Headers", "x-embed-key"))
			fail_msg("the preflight of a fetch: %d, Access-Control-Allow-Headers %s",
			         r.status, vct_resp_header(&r, "Access-Control-Allow-Headers"));
		vct_resp_free(&r);
	}
	/* The authToken is no room token: a fetch with it is null. */
	fetch_null(node_a, room, auth, key, "a fetch with the authToken as the room token");
	/* The meeting is still there and the guest still in it. */
	json_decref(vcm_ok(GUEST, "GET", room, NULL, NULL, 200));
	/* Socket close: at once, no reconnect grace. */
	t0 = vct_now_ms();
	vcl_leave(s);
	expect_wiped(auth, room, token, key, t0, "the session's socket closed");
	free(token);
	free(key);
	free(auth);
	free(auth_b);
	free(url_b);
	free(other);
	vct_pass();
}

/* --- teardown paths ------------------------------------------------------------------- */

static void test_kick(void **state)
{
	const char *room = "em-kick";
	char *token, *key, *auth, *body = vct_strf("{\"user_id\":\"%s\"}", GUEST);
	vcl_t *s;
	uint64_t t0;

	meeting(room, false);
	s = guest_session(node_b, room, &token, &key, &auth);
	expect_works(node_a, auth, GUEST, room);
	t0 = vct_now_ms();
	json_decref(vcm_ok(HOST, "POST", room, "kick", body, 200));
	vct_ws_expect_close(s->ws, 4501, NULL, WAIT, "the kicked guest's session on node B");
	expect_wiped(auth, room, token, key, t0, "a kick");
	free(token);
	free(key);
	free(auth);
	free(body);
	vct_pass();
}

static void test_reject(void **state)
{
	const char *room = "em-reject";
	char *token, *key, *auth, *body = vct_strf("{\"user_id\":\"%s\"}", GUEST);
	vcl_t *s;
	uint64_t t0;

	meeting(room, true); /* the guest waits */
	s = guest_session(node_a, room, &token, &key, &auth);
	expect_works(node_b, auth, GUEST, room);
	t0 = vct_now_ms();
	json_decref(vcm_ok(HOST, "POST", room, "reject", body, 200));
	vct_ws_expect_close(s->ws, 4501, NULL, WAIT, "the rejected guest's session");
	expect_wiped(auth, room, token, key, t0, "a reject");
	free(token);
	free(key);
	free(auth);
	free(body);
	vct_pass();
}

static void test_end(void **state)
{
	const char *room = "em-end";
	char *token, *key, *auth;
	vcl_t *s;
	uint64_t t0;

	meeting(room, false);
	s = guest_session(node_b, room, &token, &key, &auth);
	t0 = vct_now_ms();
	json_decref(vcm_ok(HOST, "POST", room, "end", NULL, 200));
	vct_ws_expect_close(s->ws, 4500, NULL, WAIT, "the guest's session when the meeting ended");
	expect_wiped(auth, room, token, key, t0, "the meeting's end");
	free(token);
	free(key);
	free(auth);
	vct_pass();
}

static void test_delete(void **state)
{
	const char *room = "em-delete";
	char *token, *key, *auth;
	vcl_t *s;
	uint64_t t0;
	vct_resp_t r;

	meeting(room, false);
	s = guest_session(node_a, room, &token, &key, &auth);
	t0 = vct_now_ms();
	char *path = vcm_url(room, NULL);
	if (vcm_call(HOST, "DELETE", path, NULL, &r) != 200)
		fail_msg("DELETE %s: %d %s", path, r.status, r.body);
	vct_resp_free(&r);
	free(path);
	vct_ws_expect_close(s->ws, 4500, NULL, WAIT, "the guest's session when the meeting went");
	expect_wiped(auth, room, token, key, t0, "the meeting's deletion");
	free(token);
	free(key);
	free(auth);
	vct_pass();
}

/* leave through the meeting API: the credentials go, the socket stays. */
static void test_leave(void **state)
{
	const char *room = "em-leave";
	char *token, *key, *auth, *htoken = room_token(HOST, room, PROVIDER);
	vcl_t *s, *h;
	uint64_t t0;

	meeting(room, false);
	h = open_with_key(node_a, htoken, NULL, HOST, room);
	s = guest_session(node_b, room, &token, &key, &auth);
	expect_works(node_a, auth, GUEST, room);
	t0 = vct_now_ms();
	json_decref(vcm_ok(GUEST, "POST", room, "leave", NULL, 200));
	expect_wiped(auth, room, token, key, t0, "the guest's leave");
	/* The socket is still open: it gets the host's media. */
	vcl_activate(h);
	vcl_send_media(h, VCT_MT_VIDEO, "after-leave", 0);
	vcl_wait(s, VCL_TAG("after-leave"), WAIT, "the host's media at the guest after its leave");
	vcl_leave(s);
	vcl_leave(h);
	free(token);
	free(key);
	free(auth);
	free(htoken);
	vct_pass();
}

static void null_both(const char *room, const char *token, const char *key, const char *what);

/* End to end through the meeting API: the provider set on the meeting puts
 * the claim in the room token /join answers; switched off, every session's
 * credentials go on both nodes and new room tokens mint none; a meeting
 * that never had one never mints one. */
static void test_through_the_meeting_api(void **state)
{
	const char *room = "em-api", *plain = "em-api-plain";
	json_t *j;
	char *token, *key, *auth, *token2, *key2, *token3, *key3, *url = url_of(node_a);
	vcl_t *s, *s2, *s3;
	uint64_t t0;

	vcm_target(node_a);
	vcm_new_room(HOST, room, ",\"waiting_room_enabled\":false,\"embed_provider\":\"chat\"");
	json_decref(vcm_join(HOST, room, "Host"));
	j = vcm_join(GUEST, room, "Guest");
	token = vct_strf("%s", vct_json_str(j, "room_token"));
	json_decref(j);
	key = key_new();
	s = open_with_key(node_b, token, key, GUEST, room);
	auth = fetch_ok(node_a, room, token, key, GUEST, url);
	expect_works(node_b, auth, GUEST, room);

	/* switched off: the live session's credentials go everywhere */
	t0 = vct_now_ms();
	json_decref(vcm_ok(HOST, "PATCH", room, NULL, "{\"embed_provider\":null}", 200));
	expect_wiped(auth, room, token, key, t0, "the meeting's embed provider switched off");
	/* and a session opened with a room token issued now gets nothing */
	j = vcm_join(OTHER, room, "Other");
	token2 = vct_strf("%s", vct_json_str(j, "room_token"));
	json_decref(j);
	key2 = key_new();
	s2 = open_with_key(node_a, token2, key2, OTHER, room);
	null_both(room, token2, key2, "a room token issued after the provider was switched off");

	/* a meeting without a provider never mints one */
	vcm_new_room(HOST, plain, ",\"waiting_room_enabled\":false");
	json_decref(vcm_join(HOST, plain, "Host"));
	j = vcm_join(GUEST, plain, "Guest");
	token3 = vct_strf("%s", vct_json_str(j, "room_token"));
	json_decref(j);
	key3 = key_new();
	s3 = open_with_key(node_a, token3, key3, GUEST, plain);
	null_both(plain, token3, key3, "a meeting that never enabled a provider");

	vcl_leave(s);
	vcl_leave(s2);
	vcl_leave(s3);
	free(token);
	free(key);
	free(auth);
	free(token2);
	free(key2);
	free(token3);
	free(key3);
	free(url);
	vct_pass();
}

/* A third node, on the same NATS and database. */
static vct_vcd_t *node_c(const char *name)
{
	char *extra = vct_strf("%snats_url = %s\n", VCM_CONF, vct_env("VCT_NATS_URL"));
	vct_vcd_t *v = vct_vcd_start(name, db_url, extra);

	vcm_wait_nats(v);
	free(extra);
	return v;
}

static void test_drain(void **state)
{
	const char *room = "em-drain";
	vct_vcd_t *c = node_c("embed_node_c");
	char *token, *key, *auth;
	vcl_t *s;
	uint64_t t0;

	meeting(room, false);
	s = guest_session(c, room, &token, &key, &auth);
	expect_works(node_b, auth, GUEST, room);
	t0 = vct_now_ms();
	vct_vcd_signal(c, SIGTERM);
	vct_ws_expect_close(s->ws, 1001, NULL, WAIT, "the guest's session when its node drains");
	expect_wiped(auth, room, token, key, t0, "the holder's drain (SIGTERM)");
	if (vct_vcd_wait_exit(c, 10000) != 0)
		fail_msg("node C did not exit 0 after SIGTERM");
	free(token);
	free(key);
	free(auth);
	vct_pass();
}

static void test_crash(void **state)
{
	const char *room = "em-crash";
	vct_vcd_t *c = node_c("embed_node_d");
	char *token, *key, *auth;
	uint64_t t0;

	meeting(room, false);
	guest_session(c, room, &token, &key, &auth);
	expect_works(node_b, auth, GUEST, room);
	expect_works(node_a, auth, GUEST, room);
	t0 = vct_now_ms();
	vct_vcd_kill(c);
	expect_wiped(auth, room, token, key, t0, "kill -9 of the holder");
	free(token);
	free(key);
	free(auth);
	vct_pass();
}

/* --- IDOR matrix --------------------------------------------------------------------------- */

/* A fetch answers null on both nodes. */
static void null_both(const char *room, const char *token, const char *key, const char *what)
{
	fetch_null(node_a, room, token, key, what);
	fetch_null(node_b, room, token, key, what);
}

static void null_both_raw(const char *room, const char *headers, const char *what)
{
	vct_resp_t r;

	fetch_raw(node_a, room, headers, &r);
	expect_null(node_a, &r, what);
	fetch_raw(node_b, room, headers, &r);
	expect_null(node_b, &r, what);
}

/* The authToken is refused on both nodes, on every route it is for. */
static void refused_both(const char *auth, const char *room, const char *what)
{
	char *info = vct_strf("/api/v1/meetings/%s", room);
	const char *paths[] = { "/api/users/me", info };

	for (unsigned n = 0; n < 2; n++)
		for (unsigned i = 0; i < 2; i++) {
			const vct_vcd_t *v = n == 0 ? node_a : node_b;
			int st = use(v, paths[i], "GET", auth, NULL);
			if (st != 401)
				fail_msg("%s: GET %s on %s answered %d, expected 401", what,
				         paths[i], v->name, st);
		}
	free(info);
}

static char *signed_with(const char *user, const char *room, const char *secret, long long exp)
{
	json_t *c = vct_room_claims(user, room, user);
	char *t;

	json_object_set_new(c, "embed_provider", json_string(PROVIDER));
	if (exp != 0)
		json_object_set_new(c, "exp", json_integer(exp));
	t = vct_jwt(c, secret);
	json_decref(c);
	return t;
}

static void test_idor(void **state)
{
	const char *room = "em-idor", *room2 = "em-idor2";
	char *token, *key, *auth, *url_a = url_of(node_a);
	char *key2 = key_new(), *key3 = key_new(), *plain_key = key_new(), *obs_key = key_new();
	char *token2 = room_token(GUEST, room, PROVIDER);
	char *other_tok = room_token(OTHER, room, PROVIDER);
	char *room2_tok = room_token(GUEST, room2, PROVIDER);
	char *plain_tok = room_token(GUEST, room, NULL);
	char *obs_tok = vct_observer_token(SECRET, GUEST, room, GUEST);
	char *forged_tok = signed_with(GUEST, room, "not-the-secret", 0);
	char *expired_tok = signed_with(GUEST, room, SECRET, vcm_now() - 3600);
	char *auth2, *forged_auth, *moved_auth, *h;
	vcl_t *s1;
	vct_resp_t r;
	uint64_t t0;

	meeting(room, false);
	vcm_new_room(HOST, room2, ",\"waiting_room_enabled\":false");
	json_decref(vcm_join(GUEST, room2, "Guest"));
	s1 = guest_session(node_a, room, &token, &key, &auth);
	/* The same user's other session, other key: its own credentials. */
	open_with_key(node_b, token2, key2, GUEST, room);
	auth2 = fetch_ok(node_a, room, token2, key2, GUEST, url_a);
	if (strcmp(auth, auth2) == 0)
		fail_msg("two sessions got the same authToken %s", auth);
	/* Sessions that hold no credentials: no provider claim, an observer. */
	open_with_key(node_a, plain_tok, plain_key, GUEST, room);
	open_with_key(node_b, obs_tok, obs_key, GUEST, room);

	null_both(room, other_tok, key, "another user's room token with the guest's key");
	null_both(room2, room2_tok, key, "the guest's token for another meeting");
	null_both(room, room2_tok, key, "a token for another meeting than the path's");
	null_both(room2, token, key, "the path of another meeting than the token's");
	null_both(room, token, key3, "the guest's token with a key no session holds");
	null_both(room, token, plain_key, "the key of a session without embed_provider");
	null_both(room, plain_tok, key, "a token without embed_provider");
	null_both(room, token, obs_key, "the key of an observer's session");
	null_both(room, obs_tok, key, "an observer token");
	null_both(room, forged_tok, key, "a room token signed with another secret");
	null_both(room, expired_tok, key, "an expired room token");
	null_both(room, auth, key, "the authToken instead of the room token");
	null_both(room, token, "short", "a key of 5 characters");
	null_both(room, token, "an invalid key of thirty-two characters!!", "a key with bad bytes");
	h = vct_strf("Authorization: Bearer %s\r\n", token);
	null_both_raw(room, h, "no X-Embed-Key");
	free(h);
	h = vct_strf("X-Embed-Key: %s\r\n", key);
	null_both_raw(room, h, "no Authorization");
	free(h);
	h = vct_strf("Authorization: Basic %s\r\nX-Embed-Key: %s\r\n", token, key);
	null_both_raw(room, h, "Authorization: Basic");
	free(h);
	/* Forged authTokens: the right node and room, another secret; the
	 * guest's with the room changed. */
	forged_auth = vct_strf("%.*s%s", (int)(strlen(auth) - 43), auth,
	                       "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	refused_both(forged_auth, room, "a forged authToken");
	moved_auth = vct_strf("vce1.%.16s.%s.%s", auth + 5, room2, auth + strlen(auth) - 43);
	refused_both(moved_auth, room2, "the guest's authToken moved to another meeting");
	/* A bad embed_key refuses the upgrade like a bad token. */
	{
		char *base = vct_lobby_target(token);
		h = vct_strf("%s&embed_key=short", base);
		if (vct_ws_try(node_a->port, h, NULL, &r) != NULL || r.status != 403)
			fail_msg("/lobby with embed_key=short: %d, expected 403", r.status);
		vct_resp_free(&r);
		free(h);
		free(base);
	}
	/* Replayed after the session went: null and refused. */
	t0 = vct_now_ms();
	vcl_leave(s1);
	expect_refused_soon(auth, t0, "the guest's first session closed");
	null_both(room, token, key, "the closed session's token and key, replayed");
	/* The other session is untouched. */
	expect_works(node_b, auth2, GUEST, room);
	free(auth2);
	auth2 = fetch_ok(node_b, room, token2, key2, GUEST, SERVER_URL_B);
	free(token);
	free(key);
	free(auth);
	free(auth2);
	free(key2);
	free(key3);
	free(plain_key);
	free(obs_key);
	free(token2);
	free(other_tok);
	free(room2_tok);
	free(plain_tok);
	free(obs_tok);
	free(forged_tok);
	free(expired_tok);
	free(forged_auth);
	free(moved_auth);
	free(url_a);
	vct_pass();
}

/* --- nothing written anywhere --------------------------------------------------------------- */

static unsigned files_scanned, files_with_guest; /* the scan's own check */

/* Fail when the file at path holds one of the secrets. */
static void check_file(const char *path)
{
	size_t len;
	char *text = vct_read_file(path, &len);

	if (text == NULL)
		return;
	files_scanned++;
	if (memmem(text, len, GUEST, strlen(GUEST)) != NULL)
		files_with_guest++;
	for (unsigned i = 0; i < nsecrets; i++)
		if (memmem(text, len, secrets[i], strlen(secrets[i])) != NULL)
			fail_msg("%s holds the secret %s", path, secrets[i]);
	free(text);
}

/* Every regular file under dir that holds one of the secrets: failure. */
static void scan_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		struct stat st;
		char *path;
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		path = vct_strf("%s/%s", dir, e->d_name);
		if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
			scan_dir(path);
		else if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size < 256 << 20)
			check_file(path);
		free(path);
	}
	closedir(d);
}

static void test_nothing_written(void **state)
{
	char *pg_dump = vct_strf("%s/pg_dump", vct_env("VCT_PGBIN"));
	vct_cmd_t r;

	if (nsecrets < 10)
		fail_msg("only %u keys and authTokens seen by the cases before: they did not run?",
		         nsecrets);
	for (unsigned i = 0; i < nsecrets; i++) {
		if (vct_vcd_log_has(node_a, secrets[i]) || vct_vcd_log_has(node_b, secrets[i]))
			fail_msg("a vcd log holds the secret %s", secrets[i]);
	}
	if (vct_runl(&r, NULL, pg_dump, "--data-only", "-d", db_url, NULL) != 0)
		fail_msg("pg_dump %s: exit %d: %s", db_url, r.status, r.err);
	if (strlen(r.out) < 100 || strstr(r.out, GUEST) == NULL)
		fail_msg("the dump of %s does not even hold %s: not a dump?", db_url, GUEST);
	for (unsigned i = 0; i < nsecrets; i++)
		if (strstr(r.out, secrets[i]) != NULL)
			fail_msg("the database holds the secret %s", secrets[i]);
	vct_cmd_free(&r);
	scan_dir(vct_env("VCT_TMPDIR"));
	/* The scan reads what it should: the guest's id is in the logs (and
	 * the database's files), its secrets nowhere. */
	if (files_with_guest < 2)
		fail_msg("the scan of %s read %u files, %u with %s: not the vcd logs?",
		         vct_env("VCT_TMPDIR"), files_scanned, files_with_guest, GUEST);
	print_message("scanned %u files under %s for %u secrets\n", files_scanned,
	              vct_env("VCT_TMPDIR"), nsecrets);
	free(pg_dump);
	vct_pass();
}

/* --- main ------------------------------------------------------------------------------------ */

static int group_setup(void **state)
{
	char *extra = vct_strf("%snats_url = %s\n", VCM_CONF, vct_env("VCT_NATS_URL"));
	/* B logs at debug level: no secret there either. */
	char *extra_b =
	        vct_strf("%sembed_server_url = %s\nlog_level = debug\n", extra, SERVER_URL_B);

	vcm_init();
	db_url = vct_db_create("embed");
	node_a = vct_vcd_start("embed_node_a", db_url, extra);
	node_b = vct_vcd_start("embed_node_b", db_url, extra_b);
	vct_vcd_keep(node_a);
	vct_vcd_keep(node_b);
	vcm_wait_nats(node_a);
	vcm_wait_nats(node_b);
	vcm_target(node_a);
	free(extra);
	free(extra_b);
	return 0;
}

static int group_teardown(void **state)
{
	int rc = vct_vcd_finish(node_a);

	if (vct_vcd_finish(node_b) != 0)
		rc = -1;
	free(db_url);
	for (unsigned i = 0; i < nsecrets; i++)
		free(secrets[i]);
	teardown_failed = rc != 0;
	return rc;
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, vct_setup, vcl_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_lifecycle),
		T(test_kick),
		T(test_reject),
		T(test_end),
		T(test_delete),
		T(test_leave),
		T(test_drain),
		T(test_crash),
		T(test_idor),
		T(test_through_the_meeting_api),
		T(test_nothing_written),
	};
	int rc = cmocka_run_group_tests_name("embed", tests, group_setup, group_teardown);

	return rc != 0 || teardown_failed ? 1 : 0;
}
