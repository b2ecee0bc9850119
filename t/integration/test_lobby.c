/*
 * test_lobby.c — the media WebSocket GET /lobby?token=JWT of doc/lobby.md
 * against one real vcd (NATS on, as run.sh provides it), driven by the
 * test WebSocket client of t/lib/vctest_ws.c:
 *
 *   the upgrade     every row of the status table with its exact body, in
 *                   the table's order; the deprecated /lobby/{user}/{room}
 *   a session       SESSION_ASSIGNED and MEETING_STARTED byte for byte, the
 *                   reserved system user (MEETING_ENDED, close 1008)
 *   packet rules    Testing and Active, RTT echo, HEALTH, CONGESTION,
 *                   KEYFRAME_REQUEST limit, session_id filled in, relay
 *                   exactly once and in order, observers, join and leave
 *                   notices, the reconnect grace, a stalled reader (media
 *                   dropped and counted), reliable output past
 *                   ws_send_buffer_max (4001), vcctl sessions kick (4502)
 *   RFC 6455        the frames a server must refuse (1002, 1007, 1009),
 *                   fragments, control frames, pings, the idle timeout
 *   meetings        /end (4500), kick and reject (4501), the meeting
 *                   actor's events on observer sockets, SIGTERM (1001)
 *
 * Absence ("not relayed", "no LEFT") is proven by a later marker packet
 * that must arrive after what must not: every wait is for a condition,
 * bounded, and says what it awaited. The config keys used are those of
 * doc/lobby.md: ws_max_message, ws_ping_interval, ws_idle_timeout,
 * ws_send_buffer, ws_send_buffer_max, lobby_reconnect_grace,
 * feature_meeting_management; the metric vcd_lobby_dropped_total{reason=
 * "slow_consumer"}. Cases that need other settings start a vcd of their
 * own. Table-driven cases print a MISMATCH line per case that answered
 * otherwise, then fail once. VCT_FILTER='test_relay*' runs some cases only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "t/lib/vctest.h"
#include "t/lib/vctest_meetings.h"
#include "t/lib/vctest_ws.h"

#define SECRET VCM_SECRET
#define WAIT VCL_MS   /* for a packet, a close, a status */
#define GRACE_MS 500  /* lobby_reconnect_grace of the group's vcd */
#define MAX_MSG 65536 /* its ws_max_message */
#define HOST "host@example.com"
#define UNUSUAL "We detected unusual activity from your browser. This incident has been logged."
#define GONE "This endpoint is deprecated. Use GET /lobby?token=<JWT> instead."
#define SLOW_DROPS "vcd_lobby_dropped_total{reason=\"slow_consumer\"}"

static vct_vcd_t *vcd;
static char *db_url;

/* --- helpers -------------------------------------------------------------- */

static vcl_t *join(const char *user, const char *room)
{
	return vcl_join(vcd->port, SECRET, user, room, user);
}

static vcl_t *join_named(const char *user, const char *room, const char *name)
{
	return vcl_join(vcd->port, SECRET, user, room, name);
}

static vcl_t *observe(const char *user, const char *room)
{
	return vcl_observe(vcd->port, SECRET, user, room, user);
}

/* Join and become Active; every session in `others` waits for its
 * PARTICIPANT_JOINED, so that the room is known to be settled. */
static vcl_t *join_active(const char *user, const char *room, vcl_t **others, unsigned n)
{
	vcl_t *s = join(user, room);
	char *what = vct_strf("PARTICIPANT_JOINED of %s", user);

	vcl_activate(s);
	for (unsigned i = 0; i < n; i++)
		vcl_wait(others[i], VCL_EVENT(VCT_EV_PARTICIPANT_JOINED, user), WAIT, what);
	free(what);
	return s;
}

/* A marker media packet from s: `tag` must reach every session in `to`;
 * returns nothing, the cursors of `to` are after it. */
static void marker(vcl_t *from, const char *tag, vcl_t **to, unsigned n)
{
	char *what = vct_strf("the marker '%s' from %s", tag, from->user);

	vcl_send_media(from, VCT_MT_VIDEO, tag, 0);
	for (unsigned i = 0; i < n; i++)
		vcl_wait(to[i], VCL_TAG(tag), WAIT, what);
	free(what);
}

/* Table-driven cases report every mismatch, then fail once (soft_done). */
static unsigned soft_failures;

static void soft_fail(const char *fmt, ...) VCT_PRINTF(1, 2);
static void soft_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("MISMATCH: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	soft_failures++;
}

static void soft_done(const char *what)
{
	unsigned n = soft_failures;

	soft_failures = 0;
	if (n > 0)
		fail_msg("%s: %u case(s) answered otherwise (each MISMATCH line above)", what, n);
}

/* The upgrade of target on v must be refused with status and body (a soft
 * check: see soft_done). */
static void expect_refused_at(const vct_vcd_t *v, const char *target, int status, const char *body,
                              const char *what)
{
	vct_resp_t r;
	vct_ws_t *ws = vct_ws_try(v->port, target, NULL, &r);

	if (ws != NULL) {
		soft_fail("%s: the upgrade was granted (101); expected %d '%s'", what, status,
		          body);
		vct_ws_free(ws);
	} else if (r.status != status || r.body == NULL || strcmp(r.body, body) != 0) {
		soft_fail("%s: answered %d '%s', expected %d '%s'", what, r.status,
		          r.body ? r.body : "", status, body);
	} else if (!vct_resp_header_has(&r, "Content-Type", "text/plain")) {
		soft_fail("%s: %d with Content-Type '%s', expected text/plain", what, status,
		          vct_resp_header(&r, "Content-Type") ? vct_resp_header(&r, "Content-Type")
		                                              : "(none)");
	}
	vct_resp_free(&r);
}

static void expect_refused(const char *token, int status, const char *body, const char *what)
{
	char *target = vct_lobby_target(token);

	expect_refused_at(vcd, target, status, body, what);
	free(target);
}

/* A token signed with SECRET from claims (stolen). */
static char *signed_claims(json_t *claims)
{
	char *t = vct_jwt(claims, SECRET);

	json_decref(claims);
	return t;
}

/* Claims of a valid room token with one member changed (value NULL:
 * removed; the value is stolen). */
static json_t *claims_with(const char *room, const char *key, json_t *value)
{
	json_t *c = vct_room_claims("claims@example.com", room, "Claims");

	if (value == NULL)
		json_object_del(c, key);
	else
		json_object_set_new(c, key, value);
	return c;
}

static long long wall(void)
{
	return vcm_now();
}

/* A metric of v that must be present. */
static double metric(const vct_vcd_t *v, const char *sample)
{
	double x = vct_metric_get(v->port, sample);

	if (x < 0)
		fail_msg("/metrics of %s has no sample %s", v->name, sample);
	return x;
}

/* An upgrade request head with the given extra lines and a valid token. */
static char *upgrade_request(const char *method, const char *token, const char *lines)
{
	char *target = vct_lobby_target(token);
	char *req = vct_strf("%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n", method, target, lines);

	free(target);
	return req;
}

static void expect_raw_status(const char *req, int status, const char *body, const char *what)
{
	vct_resp_t r;
	int st = vct_ws_request_raw(vcd->port, req, &r);

	if (st != status || (body != NULL && strcmp(r.body ? r.body : "", body) != 0))
		soft_fail("%s: answered %d '%s', expected %d '%s'", what, st, r.body ? r.body : "",
		          status, body ? body : "(any body)");
	vct_resp_free(&r);
}

/* --- the upgrade: statuses in the table's order --------------------------- */

static void test_upgrade_without_token_400(void **state)
{
	const char *body = "Query deserialize error: missing field `token`";

	expect_refused_at(vcd, "/lobby", 400, body, "GET /lobby");
	expect_refused_at(vcd, "/lobby?room=x&tok=y", 400, body, "GET /lobby?room=x&tok=y");
	soft_done("upgrade_without_token_400");
	vct_pass();
}

/* jwt_secret empty: every token is refused with 500, after the token
 * parameter's check. */
static void test_upgrade_without_secret_500(void **state)
{
	vct_vcd_t *v = vct_vcd_start("lobby-nosecret", db_url, "");
	char *t = vct_room_token(SECRET, "a@example.com", "nosecret", "A");
	char *target = vct_lobby_target(t);

	expect_refused_at(v, target, 500, "Server misconfigured", "a room token, no jwt_secret");
	expect_refused_at(v, "/lobby?token=garbage", 500, "Server misconfigured",
	                  "garbage, no jwt_secret");
	expect_refused_at(v, "/lobby", 400, "Query deserialize error: missing field `token`",
	                  "no token, no jwt_secret");
	free(target);
	free(t);
	vct_vcd_stop_ok(v);
	soft_done("upgrade_without_secret_500");
	vct_pass();
}

/* exp past by more than the 60 s leeway: 401; within it: accepted; an
 * expired token with a bad signature is not "valid": 403. */
static void test_upgrade_expired_token_401(void **state)
{
	const char *room = "lb-expired";
	json_t *c;
	char *t;
	vcl_t *s;

	t = signed_claims(claims_with(room, "exp", json_integer(wall() - 120)));
	expect_refused(t, 401, "token has expired", "exp two minutes ago");
	free(t);
	c = claims_with(room, "exp", json_integer(wall() - 120));
	t = vct_jwt(c, "another-secret");
	json_decref(c);
	expect_refused(t, 403, UNUSUAL, "exp two minutes ago, wrong secret");
	free(t);
	t = signed_claims(claims_with(room, "exp", json_integer(wall() - 20)));
	s = vcl_open(vcd->port, t, "claims@example.com", room, "Claims");
	vcl_free(s);
	free(t);
	soft_done("upgrade_expired_token_401");
	vct_pass();
}

/* Signatures, algorithms and things that are not JWTs. */
static void test_upgrade_forged_tokens_403(void **state)
{
	const char *room = "lb-forged";
	json_t *c = vct_room_claims("forger@example.com", room, "Forger");
	char *good = vct_jwt(c, SECRET), *t;
	struct {
		char *token;
		const char *what;
	} cases[] = {
		{ vct_jwt(c, "not-the-secret"), "signed with another secret" },
		{ vct_jwt_alg(c, SECRET, "none"), "alg none, no signature" },
		{ vct_jwt_alg(c, SECRET, "HS512"), "alg HS512 with the right secret" },
		{ vct_jwt_alg(c, SECRET, "HS384"), "alg HS384 with the right secret" },
		{ vct_strf("garbage"), "garbage" },
		{ vct_strf("a.b.c"), "three parts of nothing" },
		{ vct_strf("%s.x", good), "four parts" },
		{ vct_strf("%.*s", (int)strlen(good) - 2, good), "a signature cut short" },
		{ vct_strf("%s", ""), "an empty token" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		expect_refused(cases[i].token, 403, UNUSUAL, cases[i].what);
		free(cases[i].token);
	}
	/* The claims changed under the old signature (an attendee making itself host). */
	json_object_set_new(c, "is_host", json_true());
	t = vct_jwt(c, "x");
	{
		const char *dot = strrchr(good, '.'), *tdot = strrchr(t, '.');
		char *mixed = vct_strf("%.*s%s", (int)(tdot - t), t, dot);
		expect_refused(mixed, 403, UNUSUAL, "claims changed under the old signature");
		free(mixed);
	}
	free(t);
	free(good);
	json_decref(c);
	soft_done("upgrade_forged_tokens_403");
	vct_pass();
}

/* Claims: iss, aud, each required claim missing or of the wrong type. */
static void test_upgrade_bad_claims_403(void **state)
{
	const char *room = "lb-claims";
	static const char *const required[] = { "sub",          "room", "room_join", "is_host",
		                                "display_name", "exp",  "iss" };
	struct {
		const char *key;
		json_t *value;
		const char *what;
	} cases[] = {
		{ "iss", json_string("someone-else"), "a wrong iss" },
		{ "aud", json_string("videocall"), "an aud claim" },
		{ "sub", json_integer(42), "sub a number" },
		{ "room", json_integer(42), "room a number" },
		{ "room_join", json_string("true"), "room_join a string" },
		{ "is_host", json_integer(0), "is_host a number" },
		{ "display_name", json_integer(7), "display_name a number" },
		{ "iss", json_integer(1), "iss a number" },
		{ "observer", json_string("true"), "observer a string" },
		{ "exp", json_string("9999999999"), "exp a string" },
		{ "exp", json_real(9999999999.5), "exp not an integer" },
		{ "exp", json_null(), "exp null" },
	};
	char *t, *what;

	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		t = signed_claims(claims_with(room, required[i], NULL));
		what = vct_strf("claim '%s' missing", required[i]);
		expect_refused(t, 403, UNUSUAL, what);
		free(what);
		free(t);
	}
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		t = signed_claims(claims_with(room, cases[i].key, cases[i].value));
		expect_refused(t, 403, UNUSUAL, cases[i].what);
		free(t);
	}
	soft_done("upgrade_bad_claims_403");
	vct_pass();
}

/* Room ids outside ^[a-zA-Z0-9_-]*$ (they would be NATS wildcards or
 * separators). */
static void test_upgrade_unsafe_room_403(void **state)
{
	static const char *const rooms[] = { "a.b", "a*b", "a>b", "a b", "room.*", ">" };
	char *t, *what;

	for (size_t i = 0; i < sizeof(rooms) / sizeof(rooms[0]); i++) {
		t = signed_claims(vct_room_claims("u@example.com", rooms[i], "U"));
		what = vct_strf("room '%s'", rooms[i]);
		expect_refused(t, 403, UNUSUAL, what);
		free(what);
		free(t);
	}
	soft_done("upgrade_unsafe_room_403");
	vct_pass();
}

static void test_upgrade_neither_join_nor_observer_403(void **state)
{
	json_t *c = vct_room_claims("nobody@example.com", "lb-denied", "Nobody");
	char *t;

	json_object_set_new(c, "room_join", json_false());
	t = vct_jwt(c, SECRET);
	expect_refused(t, 403, "access denied", "room_join false, observer false");
	free(t);
	json_object_del(c, "observer"); /* absent: false */
	t = vct_jwt(c, SECRET);
	expect_refused(t, 403, "access denied", "room_join false, observer absent");
	free(t);
	json_decref(c);
	soft_done("upgrade_neither_join_nor_observer_403");
	vct_pass();
}

/* room_join false with observer true: an observer session. observer
 * absent means false: a plain room token without it is accepted. */
static void test_upgrade_observer_or_join_accepted(void **state)
{
	json_t *c = vct_room_claims("obs@example.com", "lb-obs-ok", "Obs");
	char *t;
	vcl_t *s;

	json_object_set_new(c, "room_join", json_false());
	json_object_set_new(c, "observer", json_true());
	t = vct_jwt(c, SECRET);
	s = vcl_open(vcd->port, t, "obs@example.com", "lb-obs-ok", "Obs");
	vcl_free(s);
	free(t);
	json_object_set_new(c, "room_join", json_true());
	json_object_del(c, "observer");
	t = vct_jwt(c, SECRET);
	s = vcl_open(vcd->port, t, "obs@example.com", "lb-obs-ok", "Obs");
	vcl_free(s);
	free(t);
	json_decref(c);
	vct_pass();
}

/* The pattern's edges: letters, digits, '_' and '-'; the empty room
 * passes ('*'); sub is not checked (emails). */
static void test_upgrade_room_pattern_accepted(void **state)
{
	vcl_t *s = join("first.last+tag@example.com", "My_Room-123");

	vcl_free(s);
	s = join("empty@example.com", "");
	vcl_free(s);
	vct_pass();
}

/* Offered permessage-deflate and subprotocols: 101 with neither (the
 * client checks the answer), and the session works. */
static void test_upgrade_negotiates_nothing(void **state)
{
	char *t = vct_room_token(SECRET, "nego@example.com", "lb-nego", "N");
	char *target = vct_lobby_target(t);
	vct_ws_t *ws = vct_ws_open(vcd->port, target,
	                           "Sec-WebSocket-Extensions: permessage-deflate; "
	                           "client_max_window_bits\r\n"
	                           "Sec-WebSocket-Protocol: videocall, chat\r\n",
	                           "nego");

	vct_ws_wait_msg(ws, 1, WAIT, "SESSION_ASSIGNED and MEETING_STARTED after the upgrade");
	if (ws->inbox[0].frames != 1 || ws->inbox[1].frames != 1)
		fail_msg("the first packets came fragmented (%u and %u frames)",
		         ws->inbox[0].frames, ws->inbox[1].frames);
	vct_ws_free(ws);
	free(target);
	free(t);
	vct_pass();
}

/* A valid token on a request that is not a WebSocket upgrade. */
static void test_upgrade_not_websocket_400_426(void **state)
{
	char *t = vct_room_token(SECRET, "ws@example.com", "lb-notws", "WS");
	char *key = vct_ws_key(), *req, *lines, *target = vct_lobby_target(t);
	const char *expected = "WebSocket upgrade expected";
	vct_resp_t r;

	if (vct_http(vcd->port, "GET", target, NULL, NULL, &r) != 400 ||
	    strcmp(r.body, expected) != 0)
		soft_fail("a plain GET /lobby?token=…: %d '%s', expected 400 '%s'", r.status,
		          r.body, expected);
	vct_resp_free(&r);
	/* another version: 426 naming 13 */
	lines = vct_strf("Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
	                 "Sec-WebSocket-Version: 8\r\n",
	                 key);
	req = upgrade_request("GET", t, lines);
	if (vct_ws_request_raw(vcd->port, req, &r) != 426 ||
	    !vct_resp_header_has(&r, "Sec-WebSocket-Version", "13"))
		soft_fail("Sec-WebSocket-Version: 8: answered %d with Sec-WebSocket-Version '%s', "
		          "expected 426 with 13",
		          r.status,
		          vct_resp_header(&r, "Sec-WebSocket-Version")
		                  ? vct_resp_header(&r, "Sec-WebSocket-Version")
		                  : "(none)");
	vct_resp_free(&r);
	free(req);
	free(lines);
	/* a key that is not 16 bytes */
	lines = vct_strf(
	        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	        "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAA\r\nSec-WebSocket-Version: 13\r\n");
	req = upgrade_request("GET", t, lines);
	expect_raw_status(req, 400, "Sec-WebSocket-Key must be 16 bytes in base64",
	                  "a Sec-WebSocket-Key of 15 bytes");
	free(req);
	free(lines);
	/* no Connection: Upgrade */
	lines = vct_strf("Upgrade: websocket\r\nSec-WebSocket-Key: %s\r\n"
	                 "Sec-WebSocket-Version: 13\r\n",
	                 key);
	req = upgrade_request("GET", t, lines);
	expect_raw_status(req, 400, expected, "no Connection: Upgrade");
	free(req);
	free(lines);
	/* no Upgrade: websocket */
	lines = vct_strf("Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
	                 "Sec-WebSocket-Version: 13\r\n",
	                 key);
	req = upgrade_request("GET", t, lines);
	expect_raw_status(req, 400, expected, "no Upgrade: websocket");
	free(req);
	free(lines);
	/* the method */
	lines = vct_strf("Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
	                 "Sec-WebSocket-Version: 13\r\nContent-Length: 0\r\n",
	                 key);
	req = upgrade_request("POST", t, lines);
	/* the route is GET only: the router's 405, as for every route */
	expect_raw_status(req, 405, "", "POST with the upgrade headers");
	free(req);
	free(lines);
	free(target);
	free(key);
	free(t);
	soft_done("upgrade_not_websocket_400_426");
	vct_pass();
}

/* The token is judged before the request is: a plain GET with no token,
 * an expired one, a forged one gets the token's status. */
static void test_upgrade_token_checked_first(void **state)
{
	char *expired = signed_claims(claims_with("lb-order", "exp", json_integer(wall() - 600)));
	char *target = vct_lobby_target(expired);
	vct_resp_t r;

	if (vct_http(vcd->port, "GET", "/lobby", NULL, NULL, &r) != 400 ||
	    strcmp(r.body, "Query deserialize error: missing field `token`") != 0)
		soft_fail("a plain GET /lobby: %d '%s', expected the missing token's 400", r.status,
		          r.body);
	vct_resp_free(&r);
	if (vct_http(vcd->port, "GET", target, NULL, NULL, &r) != 401)
		soft_fail("a plain GET with an expired token: %d '%s', expected 401", r.status,
		          r.body);
	vct_resp_free(&r);
	if (vct_http(vcd->port, "GET", "/lobby?token=x.y.z", NULL, NULL, &r) != 403)
		soft_fail("a plain GET with a forged token: %d '%s', expected 403", r.status,
		          r.body);
	vct_resp_free(&r);
	free(target);
	free(expired);
	soft_done("upgrade_token_checked_first");
	vct_pass();
}

/* --- the deprecated GET /lobby/{user_id}/{room} ---------------------------- */

/* With feature_meeting_management on: 410, whatever the path; the token
 * route still works. */
static void test_deprecated_path_gone_when_managed(void **state)
{
	char *conf = vct_strf(VCM_CONF "feature_meeting_management = true\n");
	vct_vcd_t *v = vct_vcd_start("lobby-managed", db_url, conf);
	char *t = vct_room_token(SECRET, "m@example.com", "lb-managed", "M");
	vcl_t *s;
	free(conf); /* vcd has read it */

	expect_refused_at(v, "/lobby/alice/room1", 410, GONE, "/lobby/alice/room1, flag on");
	expect_refused_at(v, "/lobby/bad.user/room1", 410, GONE, "/lobby/bad.user/room1, flag on");
	s = vcl_open(v->port, t, "m@example.com", "lb-managed", "M");
	vcl_free(s);
	free(t);
	vct_vcd_stop_ok(v);
	soft_done("deprecated_path_gone_when_managed");
	vct_pass();
}

/* Flag off (the group's vcd): no token; spaces become '_'; the identity
 * comes from the path, the display name is the user id, never an observer. */
static void test_deprecated_path_identity(void **state)
{
	const char *room = "lb_dep_room";
	vcl_t *a = vcl_open_target(vcd->port, "/lobby/ann%20lee/lb%20dep%20room", "ann_lee", room,
	                           "ann_lee");
	vcl_t *b = join("bob@example.com", room);
	vcl_t *to_b[] = { b };
	unsigned i;
	vct_pw_t pw;
	vct_mp_t mp;

	vcl_decode(a, 1, &pw, &mp);
	if (!vct_pb_eq(mp.creator_id, "ann_lee"))
		fail_msg("MEETING_STARTED of the path session: creator_id '%.*s', expected ann_lee",
		         (int)mp.creator_id.len, mp.creator_id.p);
	vcl_activate(a);
	i = vcl_wait(b, VCL_EVENT(VCT_EV_PARTICIPANT_JOINED, "ann_lee"), WAIT,
	             "PARTICIPANT_JOINED of the path session");
	vcl_expect_member_event(b, i, VCT_EV_PARTICIPANT_JOINED, a);
	marker(a, "from-the-path", to_b, 1); /* not an observer: its media are relayed */
	vct_pass();
}

static void test_deprecated_path_bad_id_400(void **state)
{
	const char *body = "Invalid user_id or room format";

	expect_refused_at(vcd, "/lobby/bad.user/room1", 400, body, "user id with '.'");
	expect_refused_at(vcd, "/lobby/user/ro*om", 400, body, "room with '*'");
	expect_refused_at(vcd, "/lobby/user/a%3Eb", 400, body, "room with '>'");
	soft_done("deprecated_path_bad_id_400");
	vct_pass();
}

/* --- a session's first packets --------------------------------------------- */

/* SESSION_ASSIGNED: type 8, the system user, a session id, nothing else;
 * MEETING_STARTED: type 7 from the system user, MeetingPacket event 1 with
 * room_id, start_time_ms (when the room's first session connected) and
 * creator_id (the connecting user), nothing else. */
static void test_first_packets_byte_for_byte(void **state)
{
	const char *room = "lb-first", *user = "first@example.com";
	long long t0 = vcm_now_ms(), t1;
	vcl_t *s = join(user, room);
	vct_buf_t want = { 0 };
	const vct_ws_msg_t *m;
	vct_pw_t pw;
	vct_mp_t mp;

	t1 = vcm_now_ms();
	m = vct_ws_msg(s->ws, 0);
	vct_pw_encode(&want, VCT_PT_SESSION_ASSIGNED, VCT_SYSTEM_USER, strlen(VCT_SYSTEM_USER),
	              NULL, 0, s->session_id);
	if (m->len != want.len || memcmp(m->data, want.p, want.len) != 0) {
		char *d = vct_pb_describe(m->data, m->len, m->opcode);
		fail_msg("SESSION_ASSIGNED is %s (%zu bytes); expected exactly type 8, user_id "
		         "'%s', session_id %llu (%zu bytes)",
		         d, m->len, VCT_SYSTEM_USER, (unsigned long long)s->session_id, want.len);
	}
	vct_buf_free(&want);
	vcl_decode(s, 1, &pw, &mp);
	if (mp.start_time_ms < (uint64_t)t0 - 1000 || mp.start_time_ms > (uint64_t)t1 + 1000)
		fail_msg("MEETING_STARTED start_time_ms %llu is not when the room opened "
		         "(%lld..%lld)",
		         (unsigned long long)mp.start_time_ms, t0, t1);
	vct_system_packet(&want, &(vct_mp_in_t){ .event_type = VCT_EV_MEETING_STARTED,
	                                         .room_id = room,
	                                         .start_time_ms = mp.start_time_ms,
	                                         .creator_id = user });
	m = vct_ws_msg(s->ws, 1);
	if (m->len != want.len || memcmp(m->data, want.p, want.len) != 0) {
		char *d = vct_pb_describe(m->data, m->len, m->opcode);
		fail_msg("MEETING_STARTED is %s (%zu bytes, %u unknown fields, fields 0x%x); "
		         "expected a system wrapper with exactly event 1, room_id, start_time_ms, "
		         "creator_id (%zu bytes)",
		         d, m->len, mp.unknown, mp.has, want.len);
	}
	vct_buf_free(&want);
	vcl_free(s);
	vct_pass();
}

/* The second session of a room gets the room's start time and itself as
 * creator; the first gets no second MEETING_STARTED. */
static void test_meeting_started_per_session(void **state)
{
	const char *room = "lb-started";
	vcl_t *a = join("a@example.com", room), *b;
	vcl_t *others[1] = { a };
	unsigned i;
	vct_pw_t pw;
	vct_mp_t mp;

	vcl_activate(a);
	b = join_active("b@example.com", room, others, 1);
	vcl_decode(b, 1, &pw, &mp);
	if (mp.start_time_ms != a->start_time_ms || !vct_pb_eq(mp.creator_id, "b@example.com"))
		fail_msg("the second session's MEETING_STARTED: start_time_ms %llu (the room's: "
		         "%llu), creator_id '%.*s' (expected b@example.com)",
		         (unsigned long long)mp.start_time_ms, (unsigned long long)a->start_time_ms,
		         (int)mp.creator_id.len, mp.creator_id.p);
	i = a->cursor;
	vcl_expect_none(a, 2, i, VCL_EVENT(VCT_EV_MEETING_STARTED, NULL),
	                "a second MEETING_STARTED for a session already in the meeting");
	vct_pass();
}

/* The reserved system user: MEETING_ENDED "Session rejected: …", then
 * close 1008 "Session rejected"; no session is assigned. */
static void test_system_user_rejected_1008(void **state)
{
	const char *room = "lb-system";
	char *t = signed_claims(vct_room_claims(VCT_SYSTEM_USER, room, "System"));
	char *target = vct_lobby_target(t);
	vct_ws_t *ws = vct_ws_open(vcd->port, target, NULL, "system user");
	const vct_ws_msg_t *m;
	vct_pw_t pw;
	vct_mp_t mp;
	char *d;

	m = vct_ws_wait_msg(ws, 0, WAIT, "MEETING_ENDED for the system user");
	d = vct_pb_describe(m->data, m->len, m->opcode);
	if (!vct_pw_decode(m->data, m->len, &pw) || pw.packet_type != VCT_PT_MEETING ||
	    !vct_mp_decode(pw.data.p, pw.data.len, &mp) || mp.event_type != VCT_EV_MEETING_ENDED ||
	    !vct_pb_eq(mp.message, "Session rejected: Cannot use reserved system user ID") ||
	    !vct_pb_eq(mp.room_id, room) || !vct_pb_eq(pw.user_id, VCT_SYSTEM_USER))
		fail_msg("the system user's first message is %s; expected MEETING_ENDED of room "
		         "'%s' with message 'Session rejected: Cannot use reserved system user ID'",
		         d, room);
	free(d);
	vct_ws_expect_close(ws, 1008, "Session rejected", WAIT, "the system user's session");
	if (ws->n != 1)
		fail_msg("the system user got %u messages before the close, expected only "
		         "MEETING_ENDED",
		         ws->n);
	vct_ws_free(ws);
	free(target);
	free(t);
	vct_pass();
}

/* --- activation ------------------------------------------------------------ */

/* A Testing session (it sent only RTT probes) is not relayed; its first
 * other packet activates it: PARTICIPANT_JOINED with its fields reaches
 * the others before that packet does. */
static void test_first_packet_activates(void **state)
{
	const char *room = "lb-activate";
	vcl_t *a = join("a@example.com", room), *b, *c;
	vcl_t *ac[2];
	vct_buf_t rtt = { 0 };
	unsigned joined, pkt;

	vcl_activate(a);
	c = join_active("c@example.com", room, (vcl_t *[]){ a }, 1);
	b = join_named("b@example.com", room, "Bea B.");
	vct_media_packet(&rtt, VCT_MT_RTT, "b@example.com", "rtt-b", 0);
	for (int k = 0; k < 3; k++) {
		vcl_send(b, rtt.p, rtt.len);
		vcl_wait(b, VCL_BYTES(rtt.p, rtt.len), WAIT, "the echo of an RTT probe");
	}
	vcl_send_media(b, VCT_MT_AUDIO, "b-first", 0);
	ac[0] = a;
	ac[1] = c;
	for (int k = 0; k < 2; k++) {
		unsigned from = ac[k]->cursor;
		joined = vcl_wait(ac[k], VCL_EVENT(VCT_EV_PARTICIPANT_JOINED, "b@example.com"),
		                  WAIT, "PARTICIPANT_JOINED of b");
		vcl_expect_member_event(ac[k], joined, VCT_EV_PARTICIPANT_JOINED, b);
		pkt = vcl_wait(ac[k], VCL_TAG("b-first"), WAIT, "b's first packet");
		vcl_expect_none(ac[k], from, pkt, VCL_TAG("rtt-b"),
		                "an RTT probe relayed to another session");
		(void)pkt;
	}
	vct_buf_free(&rtt);
	vct_pass();
}

/* An RTT probe comes back to its sender byte for byte, to nobody else, and
 * does not activate: a marker from another session sent after the echo
 * reaches a third one with no PARTICIPANT_JOINED of the prober before it. */
static void test_rtt_echoed_to_sender_only(void **state)
{
	const char *room = "lb-rtt";
	vcl_t *a = join("a@example.com", room), *b, *c;
	vct_buf_t rtt = { 0 };
	unsigned from, at;

	vcl_activate(a);
	c = join_active("c@example.com", room, (vcl_t *[]){ a }, 1);
	b = join("b@example.com", room);
	from = a->cursor;
	vct_media_packet(&rtt, VCT_MT_RTT, "b@example.com", "rtt-probe", 0);
	vcl_send(b, rtt.p, rtt.len);
	vcl_wait(b, VCL_BYTES(rtt.p, rtt.len), WAIT, "the RTT echo, byte for byte");
	marker(c, "c-after-rtt", (vcl_t *[]){ a }, 1);
	at = a->cursor - 1;
	vcl_expect_none(a, from, at, VCL_TAG("rtt-probe"), "b's RTT probe relayed");
	vcl_expect_none(a, from, at, VCL_EVENT(VCT_EV_PARTICIPANT_JOINED, "b@example.com"),
	                "b activated by an RTT probe");
	vcl_expect_none(b, 2, b->ws->n, VCL_EVENT(VCT_EV_PARTICIPANT_JOINED, "b@example.com"),
	                "b activated by an RTT probe");
	/* Now b activates: JOINED, then its packet. */
	vcl_send_media(b, VCT_MT_VIDEO, "b-go", 0);
	vcl_wait(a, VCL_EVENT(VCT_EV_PARTICIPANT_JOINED, "b@example.com"), WAIT,
	         "PARTICIPANT_JOINED of b after its first media");
	vcl_wait(a, VCL_TAG("b-go"), WAIT, "b's packet after its PARTICIPANT_JOINED");
	vct_buf_free(&rtt);
	vct_pass();
}

/* HEALTH and CONGESTION activate a session but are never relayed. */
static void test_health_and_congestion_activate_not_relayed(void **state)
{
	const char *room = "lb-health";
	vcl_t *a = join("a@example.com", room), *b, *c;
	vct_buf_t h = { 0 }, g = { 0 };
	unsigned from = 2, at;

	vcl_activate(a);
	b = join("b@example.com", room);
	vct_pw_encode(&h, VCT_PT_HEALTH, "b@example.com", 13, "health-b", 8, 0);
	vcl_send(b, h.p, h.len);
	vcl_wait(a, VCL_EVENT(VCT_EV_PARTICIPANT_JOINED, "b@example.com"), WAIT,
	         "PARTICIPANT_JOINED of b, activated by HEALTH");
	c = join("c@example.com", room);
	vct_pw_encode(&g, VCT_PT_CONGESTION, "c@example.com", 13, NULL, 0, a->session_id);
	vcl_send(c, g.p, g.len);
	vcl_wait(a, VCL_EVENT(VCT_EV_PARTICIPANT_JOINED, "c@example.com"), WAIT,
	         "PARTICIPANT_JOINED of c, activated by CONGESTION");
	/* Active now: more of each, then markers from both. */
	vcl_send(b, h.p, h.len);
	vcl_send(c, g.p, g.len);
	marker(b, "b-mark", (vcl_t *[]){ a }, 1);
	marker(c, "c-mark", (vcl_t *[]){ a }, 1);
	at = a->cursor;
	vcl_expect_none(a, from, at, &(vcl_match_t){ .type = VCT_PT_HEALTH }, "a HEALTH packet");
	vcl_expect_none(a, from, at, &(vcl_match_t){ .type = VCT_PT_CONGESTION },
	                "a CONGESTION packet from a client");
	vcl_expect_none(b, 2, b->ws->n, &(vcl_match_t){ .type = VCT_PT_CONGESTION },
	                "a CONGESTION packet from a client");
	vct_buf_free(&h);
	vct_buf_free(&g);
	vct_pass();
}

/* A non-observer joiner hears of every Active session already there
 * (PARTICIPANT_JOINED with its fields), not of observers; an observer
 * joiner hears of nobody. */
static void test_existing_members_sent_to_joiner(void **state)
{
	const char *room = "lb-members";
	vcl_t *a = join_named("a@example.com", room, "Ann"), *b, *o, *c, *o2, *d;
	unsigned ia, ib, end;

	vcl_activate(a);
	b = join_active("b@example.com", room, (vcl_t *[]){ a }, 1);
	o = observe("o@example.com", room);
	vcl_activate(o); /* observers are never announced */
	c = join("c@example.com", room);
	ia = vcl_wait(c, VCL_EVENT(VCT_EV_PARTICIPANT_JOINED, "a@example.com"), WAIT,
	              "the existing member a");
	c->cursor = 2;
	ib = vcl_wait(c, VCL_EVENT(VCT_EV_PARTICIPANT_JOINED, "b@example.com"), WAIT,
	              "the existing member b");
	vcl_expect_member_event(c, ia, VCT_EV_PARTICIPANT_JOINED, a);
	vcl_expect_member_event(c, ib, VCT_EV_PARTICIPANT_JOINED, b);
	c->cursor = 2;
	marker(a, "a-after-c", (vcl_t *[]){ c }, 1);
	end = c->cursor;
	if (vcl_count(c, 2, end, VCL_EVENT(VCT_EV_PARTICIPANT_JOINED, "a@example.com")) != 1 ||
	    vcl_count(c, 2, end, VCL_EVENT(VCT_EV_PARTICIPANT_JOINED, "b@example.com")) != 1)
		fail_msg("the joiner c heard of a %u times and of b %u times, expected once each",
		         vcl_count(c, 2, end,
		                   VCL_EVENT(VCT_EV_PARTICIPANT_JOINED, "a@example.com")),
		         vcl_count(c, 2, end,
		                   VCL_EVENT(VCT_EV_PARTICIPANT_JOINED, "b@example.com")));
	vcl_expect_none(c, 2, end, VCL_EVENT(VCT_EV_PARTICIPANT_JOINED, "o@example.com"),
	                "an observer listed as a member");
	/* An observer joiner: no member list before a later JOINED. */
	o2 = observe("o2@example.com", room);
	d = join_active("d@example.com", room, (vcl_t *[]){ a }, 1);
	end = vcl_wait(o2, VCL_EVENT(VCT_EV_PARTICIPANT_JOINED, "d@example.com"), WAIT,
	               "PARTICIPANT_JOINED of d at an observer");
	vcl_expect_none(o2, 2, end, VCL_EVENT(VCT_EV_PARTICIPANT_JOINED, "a@example.com"),
	                "the member list sent to an observer");
	(void)d;
	vct_pass();
}

/* --- packet rules ----------------------------------------------------------- */

/* Ten KEYFRAME_REQUESTs at once: exactly the first two reach the others
 * before a later marker. */
static void test_keyframe_requests_limited(void **state)
{
	const char *room = "lb-keyframe";
	vcl_t *a = join("a@example.com", room), *b;
	vct_buf_t burst = { 0 };
	unsigned from, at, n;
	char tag[16];

	vcl_activate(a);
	b = join_active("b@example.com", room, (vcl_t *[]){ a }, 1);
	from = a->cursor;
	for (int k = 0; k < 10; k++) { /* ten frames, one TCP write */
		vct_buf_t p = { 0 };
		snprintf(tag, sizeof(tag), "kf-%d", k);
		vct_media_packet(&p, VCT_MT_KEYFRAME_REQUEST, "b@example.com", tag, b->session_id);
		vct_ws_frame_bytes(&burst, &(vct_ws_out_t){ .opcode = VCT_WS_BINARY,
		                                            .data = p.p,
		                                            .len = p.len });
		vct_buf_free(&p);
	}
	if (!vct_ws_send_raw(b->ws, burst.p, burst.len, 0))
		fail_msg("b: cannot send the burst of keyframe requests");
	marker(b, "b-after-burst", (vcl_t *[]){ a }, 1);
	at = a->cursor - 1;
	for (int k = 0; k < 10; k++) {
		snprintf(tag, sizeof(tag), "kf-%d", k);
		n = vcl_count(a, from, at, VCL_TAG(tag));
		if (n != (k < 2 ? 1u : 0u)) {
			vcl_dump(a);
			fail_msg("keyframe request %s reached a %u times before the marker; "
			         "expected exactly the first 2 of 10 sent at once (kf-0, kf-1)",
			         tag, n);
		}
	}
	vct_buf_free(&burst);
	vct_pass();
}

/* session_id 0 becomes the sender's (the rest unchanged: the bytes are
 * what an encoder writes with it); any other session_id and bytes that
 * are not a PacketWrapper are relayed byte for byte. */
static void test_session_id_filled_in(void **state)
{
	const char *room = "lb-sid", *ua = "a@example.com";
	vcl_t *a = join(ua, room), *b;
	vct_buf_t sent = { 0 }, want = { 0 }, inner = { 0 };
	static const uint8_t opaque[] = { 0xff, 0xff, 0xff, 0xff, 'o', 'p', 'a', 'q', 'u', 'e' };

	vcl_activate(a);
	b = join_active("b@example.com", room, (vcl_t *[]){ a }, 1);
	/* MEDIA, session_id 0 */
	vct_media_packet(&sent, VCT_MT_VIDEO, ua, "sid-zero", 0);
	vct_media_packet(&want, VCT_MT_VIDEO, ua, "sid-zero", a->session_id);
	vcl_send(a, sent.p, sent.len);
	vcl_wait(b, VCL_BYTES(want.p, want.len), WAIT,
	         "the media packet with session_id 0 filled in with a's session id");
	vct_buf_free(&sent);
	vct_buf_free(&want);
	/* another packet type, session_id 0 */
	vct_media_encode(&inner, VCT_MT_AUDIO, ua, "aes", 3);
	vct_pw_encode(&sent, VCT_PT_AES_KEY, ua, strlen(ua), "key-bytes", 9, 0);
	vct_pw_encode(&want, VCT_PT_AES_KEY, ua, strlen(ua), "key-bytes", 9, a->session_id);
	vcl_send(a, sent.p, sent.len);
	vcl_wait(b, VCL_BYTES(want.p, want.len), WAIT,
	         "the AES_KEY packet with session_id 0 filled in");
	vct_buf_free(&sent);
	vct_buf_free(&want);
	vct_buf_free(&inner);
	/* a session_id that is not the sender's: left alone */
	vct_media_packet(&sent, VCT_MT_VIDEO, ua, "sid-other", 777);
	vcl_send(a, sent.p, sent.len);
	vcl_wait(b, VCL_BYTES(sent.p, sent.len), WAIT, "the packet with session_id 777, unchanged");
	vct_buf_free(&sent);
	/* not a PacketWrapper: opaque media, byte for byte */
	vcl_send(a, opaque, sizeof(opaque));
	vcl_wait(b, VCL_BYTES(opaque, sizeof(opaque)), WAIT, "the opaque packet, byte for byte");
	vct_pass();
}

#define RELAY_N 5
#define RELAY_M 150

/* Tag "s<i>-<k>" parsed: sender i and frame k (k = RELAY_M for "end"). */
static bool parse_tag(const vct_ws_msg_t *m, int *i, int *k)
{
	vct_pw_t pw;
	vct_media_t md;
	char tag[32];

	if (!vct_pw_decode(m->data, m->len, &pw) || pw.packet_type != VCT_PT_MEDIA ||
	    !vct_media_decode(pw.data.p, pw.data.len, &md) || md.data.len >= sizeof(tag) ||
	    md.data.len < 2 || md.data.p[0] != 's')
		return false;
	memcpy(tag, md.data.p, md.data.len);
	tag[md.data.len] = '\0';
	if (sscanf(tag, "s%d-end", i) == 1 && strstr(tag, "-end") != NULL) {
		*k = RELAY_M;
		return true;
	}
	return sscanf(tag, "s%d-%d", i, k) == 2;
}

/* N sessions each send M packets: every other session gets each exactly
 * once, in each sender's order; nobody gets its own back. */
static void test_relay_exactly_once_in_order(void **state)
{
	const char *room = "lb-relay";
	vcl_t *s[RELAY_N];
	unsigned done_at[RELAY_N];
	char user[32], tag[32];

	for (int i = 0; i < RELAY_N; i++) {
		snprintf(user, sizeof(user), "r%d@example.com", i);
		s[i] = join_active(user, room, s, (unsigned)i);
	}
	for (int k = 0; k <= RELAY_M; k++) {
		for (int i = 0; i < RELAY_N; i++) {
			if (k == RELAY_M)
				snprintf(tag, sizeof(tag), "s%d-end", i);
			else
				snprintf(tag, sizeof(tag), "s%d-%d", i, k);
			vcl_send_media(s[i], VCT_MT_VIDEO, tag, s[i]->session_id);
		}
		if (k % 25 == 0) /* keep the receivers reading */
			for (int i = 0; i < RELAY_N; i++)
				while (vct_ws_pump(s[i]->ws, 0) == 1)
					;
	}
	for (int r = 0; r < RELAY_N; r++) {
		int next[RELAY_N] = { 0 };
		uint64_t deadline = vct_now_ms() + 2 * WAIT;
		bool done = false;

		while (!done) {
			done = true;
			for (int i = 0; i < RELAY_N; i++)
				if (i != r && next[i] <= RELAY_M)
					done = false;
			if (done)
				break;
			if (s[r]->cursor >= s[r]->ws->n) {
				if (vct_now_ms() > deadline)
					fail_msg("%s: after %d ms, got up to frames %d %d %d %d %d "
					         "of "
					         "each sender (of %d and the end marker)",
					         s[r]->user, 2 * WAIT, next[0], next[1], next[2],
					         next[3], next[4], RELAY_M);
				if (s[r]->ws->close_seen || s[r]->ws->eof)
					fail_msg("%s: the connection ended while receiving the "
					         "relay",
					         s[r]->user);
				vct_ws_pump(s[r]->ws, 100);
				continue;
			}
			int i, k;
			const vct_ws_msg_t *m = &s[r]->ws->inbox[s[r]->cursor++];
			if (!parse_tag(m, &i, &k))
				continue; /* JOINED and such */
			if (i == r)
				fail_msg("%s got its own packet s%d-%d back", s[r]->user, i, k);
			if (i < 0 || i >= RELAY_N || k != next[i])
				fail_msg("%s: got s%d-%d where s%d-%d was next from that sender "
				         "(a duplicate, a loss or a reordering)",
				         s[r]->user, i, k, i, i >= 0 && i < RELAY_N ? next[i] : -1);
			next[i]++;
		}
	}
	/* Nothing more of theirs after the end markers (duplicates come late). */
	for (int r = 0; r < RELAY_N; r++)
		done_at[r] = s[r]->cursor;
	marker(s[0], "relay-last", &s[1], RELAY_N - 1);
	marker(s[1], "relay-last-1", &s[0], 1);
	for (int r = 0; r < RELAY_N; r++)
		for (unsigned j = done_at[r]; j + 1 < s[r]->cursor; j++) {
			int i, k;
			if (parse_tag(&s[r]->ws->inbox[j], &i, &k))
				fail_msg("%s: s%d-%d arrived again after s%d's end marker",
				         s[r]->user, i, k, i);
		}
	vct_pass();
}

/* Text frames are not relayed (they are ignored). */
static void test_text_frames_ignored(void **state)
{
	const char *room = "lb-text";
	vcl_t *a = join("a@example.com", room), *b;
	unsigned from, at;

	vcl_activate(a);
	b = join_active("b@example.com", room, (vcl_t *[]){ a }, 1);
	from = b->cursor;
	if (!vct_ws_send_text(a->ws, "hello, text", 11))
		fail_msg("a: cannot send a text frame");
	marker(a, "a-after-text", (vcl_t *[]){ b }, 1);
	at = b->cursor - 1;
	for (unsigned i = from; i < at; i++)
		if (b->ws->inbox[i].opcode == VCT_WS_TEXT)
			fail_msg("b received a's text frame");
	if (a->ws->close_seen)
		fail_msg("a was closed (%d) for a text frame", a->ws->close_code);
	vct_pass();
}

/* --- observers ------------------------------------------------------------- */

/* Observers get the room's MEETING packets, never its media. */
static void test_observer_gets_meeting_packets_only(void **state)
{
	const char *room = "lb-observer";
	vcl_t *a = join("a@example.com", room), *b, *o, *c;
	unsigned at;

	vcl_activate(a);
	b = join_active("b@example.com", room, (vcl_t *[]){ a }, 1);
	o = observe("o@example.com", room);
	vcl_send_media(a, VCT_MT_VIDEO, "a-video", 0);
	vcl_send_media(b, VCT_MT_AUDIO, "b-audio", 0);
	vcl_send_media(b, VCT_MT_KEYFRAME_REQUEST, "b-kf", 0);
	vcl_wait(a, VCL_TAG("b-kf"), WAIT, "b's keyframe request");
	c = join_active("c@example.com", room, (vcl_t *[]){ a, o }, 2);
	at = o->cursor - 1;
	vcl_expect_none(o, 2, at, &(vcl_match_t){ .type = VCT_PT_MEDIA },
	                "media relayed to an observer");
	vcl_expect_member_event(o, at, VCT_EV_PARTICIPANT_JOINED, c);
	vct_pass();
}

/* From an observer: the RTT probe is echoed, everything else dropped, and
 * it is never announced. */
static void test_observer_media_dropped(void **state)
{
	const char *room = "lb-obs-drop";
	vcl_t *a = join("a@example.com", room), *o, *c;
	vct_buf_t rtt = { 0 };
	unsigned at;

	vcl_activate(a);
	o = observe("o@example.com", room);
	vcl_send_media(o, VCT_MT_VIDEO, "o-video", 0);
	vcl_send_media(o, VCT_MT_KEYFRAME_REQUEST, "o-kf", 0);
	vct_media_packet(&rtt, VCT_MT_RTT, "o@example.com", "o-rtt", 0);
	vcl_send(o, rtt.p, rtt.len);
	vcl_wait(o, VCL_BYTES(rtt.p, rtt.len), WAIT, "the observer's RTT echo");
	c = join_active("c@example.com", room, (vcl_t *[]){ a }, 1);
	at = a->cursor - 1;
	vcl_expect_none(a, 2, at, VCL_TAG("o-video"), "an observer's media relayed");
	vcl_expect_none(a, 2, at, VCL_TAG("o-kf"), "an observer's keyframe request relayed");
	vcl_expect_none(a, 2, at, VCL_TAG("o-rtt"), "an observer's RTT probe relayed");
	vcl_expect_none(a, 2, at, VCL_EVENT(VCT_EV_PARTICIPANT_JOINED, "o@example.com"),
	                "an observer announced");
	(void)c;
	vct_buf_free(&rtt);
	vct_pass();
}

/* --- leaving ----------------------------------------------------------------- */

/* PARTICIPANT_LEFT with its fields, lobby_reconnect_grace after the session
 * went (a close frame, or the connection simply dropped). */
static void test_left_after_grace(void **state)
{
	const char *room = "lb-left";
	vcl_t *a = join("a@example.com", room), *b, *c;
	uint64_t t0, sid_b, sid_c;
	unsigned i;

	vcl_activate(a);
	b = join_named("b@example.com", room, "Bee");
	vcl_activate(b);
	vcl_wait(a, VCL_EVENT(VCT_EV_PARTICIPANT_JOINED, "b@example.com"), WAIT, "b's JOINED");
	c = join_active("c@example.com", room, (vcl_t *[]){ a }, 1);
	sid_b = b->session_id;
	sid_c = c->session_id;
	t0 = vct_now_ms();
	vcl_leave(b);
	i = vcl_wait(a, VCL_EVENT(VCT_EV_PARTICIPANT_LEFT, "b@example.com"), WAIT,
	             "PARTICIPANT_LEFT of b (closed)");
	vcl_expect_member_fields(a, i, VCT_EV_PARTICIPANT_LEFT, "b@example.com", sid_b, "Bee");
	if (a->ws->inbox[i].at_ms - t0 < GRACE_MS / 2)
		fail_msg("PARTICIPANT_LEFT came %llu ms after b left; lobby_reconnect_grace is "
		         "%d ms",
		         (unsigned long long)(a->ws->inbox[i].at_ms - t0), GRACE_MS);
	vcl_free(c); /* the connection drops without a close frame */
	i = vcl_wait(a, VCL_EVENT(VCT_EV_PARTICIPANT_LEFT, "c@example.com"), WAIT,
	             "PARTICIPANT_LEFT of c (connection dropped)");
	vcl_expect_member_fields(a, i, VCT_EV_PARTICIPANT_LEFT, "c@example.com", sid_c,
	                         "c@example.com");
	vct_pass();
}

/* No PARTICIPANT_LEFT for an observer, nor for a session that never was
 * Active: a later participant's LEFT arrives with none before it. */
static void test_no_left_for_observer_or_never_active(void **state)
{
	const char *room = "lb-noleft";
	vcl_t *a = join("a@example.com", room), *o, *t, *b;
	unsigned from, at;

	vcl_activate(a);
	o = observe("o@example.com", room);
	vcl_activate(o);
	t = join("t@example.com", room); /* Testing only */
	b = join_active("b@example.com", room, (vcl_t *[]){ a }, 1);
	from = a->cursor;
	vcl_leave(o);
	vcl_leave(t);
	vcl_leave(b);
	at = vcl_wait(a, VCL_EVENT(VCT_EV_PARTICIPANT_LEFT, "b@example.com"), WAIT,
	              "PARTICIPANT_LEFT of b");
	vcl_expect_none(a, from, at, VCL_EVENT(VCT_EV_PARTICIPANT_LEFT, "o@example.com"),
	                "PARTICIPANT_LEFT of an observer");
	vcl_expect_none(a, from, at, VCL_EVENT(VCT_EV_PARTICIPANT_LEFT, "t@example.com"),
	                "PARTICIPANT_LEFT of a session that was never Active");
	vct_pass();
}

/* The same user back within the grace: no JOINED for the new session, no
 * LEFT for the old one (a vcd with a grace of 3 s, so that the reconnect
 * surely falls inside it). */
static void test_reconnect_within_grace_is_silent(void **state)
{
	const char *room = "lb-reconnect";
	char *conf = vct_strf(VCM_CONF "nats_url = %s\nlobby_reconnect_grace = 3s\n",
	                      vct_env("VCT_NATS_URL"));
	vct_vcd_t *v = vct_vcd_start("lobby-grace", db_url, conf);
	vcl_t *a, *b, *b2, *c;
	unsigned from, at;
	free(conf); /* vcd has read it */

	a = vcl_join(v->port, SECRET, "a@example.com", room, "A");
	vcl_activate(a);
	b = vcl_join(v->port, SECRET, "b@example.com", room, "B");
	vcl_activate(b);
	vcl_wait(a, VCL_EVENT(VCT_EV_PARTICIPANT_JOINED, "b@example.com"), WAIT, "b's JOINED");
	c = vcl_join(v->port, SECRET, "c@example.com", room, "C");
	vcl_activate(c);
	vcl_wait(a, VCL_EVENT(VCT_EV_PARTICIPANT_JOINED, "c@example.com"), WAIT, "c's JOINED");
	from = a->cursor;
	vcl_free(b);                                                /* b's connection drops ... */
	b2 = vcl_join(v->port, SECRET, "b@example.com", room, "B"); /* ... and b is back */
	vcl_send_media(b2, VCT_MT_VIDEO, "b2-first", 0);
	vcl_wait(a, VCL_TAG("b2-first"), WAIT, "the reconnected b's first packet");
	vcl_leave(c); /* its LEFT comes a grace later, after b's would have */
	at = vcl_wait(a, VCL_EVENT(VCT_EV_PARTICIPANT_LEFT, "c@example.com"), 3000 + WAIT,
	              "PARTICIPANT_LEFT of c");
	vcl_expect_none(a, from, at, VCL_EVENT(VCT_EV_PARTICIPANT_LEFT, "b@example.com"),
	                "PARTICIPANT_LEFT of b, which came back within the grace");
	vcl_expect_none(a, from, at, VCL_EVENT(VCT_EV_PARTICIPANT_JOINED, "b@example.com"),
	                "PARTICIPANT_JOINED of b's new session within the grace");
	vct_ws_close_all();
	vct_vcd_stop_ok(v);
	vct_pass();
}

/* --- a reader that stalls ------------------------------------------------------ */

#define FLOOD_N 750
#define FLOOD_SIZE 16000

/* A session that stops reading (small SO_RCVBUF) loses media, counted in
 * vcd_lobby_dropped_total{reason="slow_consumer"}; the others keep
 * receiving everything meanwhile; it is not closed for that, and gets
 * media again once it reads. */
static void test_stalled_reader_does_not_slow_others(void **state)
{
	const char *room = "lb-stall";
	char *conf =
	        vct_strf(VCM_CONF "nats_url = %s\nws_send_buffer = 64k\n", vct_env("VCT_NATS_URL"));
	vct_vcd_t *v = vct_vcd_start("lobby-stall", db_url, conf);
	vcl_t *a, *b, *st, *d;
	double drops0, drops1;
	char *pad = malloc(FLOOD_SIZE + 1), tag[FLOOD_SIZE + 32], what[100];
	unsigned got = 0;
	free(conf); /* vcd has read it */

	a = vcl_join(v->port, SECRET, "a@example.com", room, "A");
	vcl_activate(a);
	b = vcl_join(v->port, SECRET, "b@example.com", room, "B");
	vcl_activate(b);
	vcl_wait(a, VCL_EVENT(VCT_EV_PARTICIPANT_JOINED, "b@example.com"), WAIT, "b's JOINED");
	vct_ws_rcvbuf_next(4096);
	st = vcl_join(v->port, SECRET, "stall@example.com", room, "Stall");
	vcl_activate(st);
	vcl_wait(a, VCL_EVENT(VCT_EV_PARTICIPANT_JOINED, "stall@example.com"), WAIT,
	         "the staller's JOINED");
	vcl_wait(b, VCL_EVENT(VCT_EV_PARTICIPANT_JOINED, "stall@example.com"), WAIT,
	         "the staller's JOINED");
	drops0 = metric(v, SLOW_DROPS);
	memset(pad, 'x', FLOOD_SIZE);
	pad[FLOOD_SIZE] = '\0';
	/* In lockstep: b must get each packet before the next is sent, so vcd
	 * never holds more than one for b; the staller's queue only grows. */
	for (int k = 0; k < FLOOD_N; k++) {
		snprintf(tag, sizeof(tag), "f-%d-%s", k, pad);
		vcl_send_media(a, VCT_MT_VIDEO, tag, a->session_id);
		snprintf(what, sizeof(what),
		         "flood packet %d of %d at the reader b while the staller does not read", k,
		         FLOOD_N);
		vcl_wait(b, VCL_TAG(tag), WAIT, what);
	}
	for (unsigned i = 2; i < b->ws->n; i++) {
		vct_pw_t pw;
		vct_media_t md;
		if (vct_pw_decode(b->ws->inbox[i].data, b->ws->inbox[i].len, &pw) &&
		    pw.packet_type == VCT_PT_MEDIA &&
		    vct_media_decode(pw.data.p, pw.data.len, &md) && md.data.len > 2 &&
		    md.data.p[0] == 'f' && md.data.p[1] == '-')
			got++;
	}
	if (got != FLOOD_N)
		fail_msg("b received %u flood packets, expected each of the %d exactly once", got,
		         FLOOD_N);
	drops1 = metric(v, SLOW_DROPS);
	if (drops1 - drops0 < 100)
		fail_msg("%s rose by %.0f while a reader with a 4 KB receive buffer stalled "
		         "under %d packets of %d bytes (ws_send_buffer 64k): expected hundreds",
		         SLOW_DROPS, drops1 - drops0, FLOOD_N, FLOOD_SIZE);
	/* The staller reads again: a reliable packet, then media, reach it. */
	d = vcl_join(v->port, SECRET, "d@example.com", room, "D");
	vcl_activate(d);
	vcl_wait(st, VCL_EVENT(VCT_EV_PARTICIPANT_JOINED, "d@example.com"), 3 * WAIT,
	         "PARTICIPANT_JOINED of d once the staller reads again (it was not closed)");
	vcl_send_media(a, VCT_MT_VIDEO, "after-the-stall", 0);
	vcl_wait(st, VCL_TAG("after-the-stall"), WAIT, "media to the staller after it caught up");
	free(pad);
	vct_ws_close_all();
	vct_vcd_stop_ok(v);
	vct_pass();
}

#define PROBE_SIZE 60000
#define PROBES 160

/* Reliable output (here RTT echoes) to a client that does not read, past
 * ws_send_buffer_max (64k on this vcd): close 4001, after what was queued. */
static void test_reliable_overflow_closes_4001(void **state)
{
	char *conf = vct_strf(VCM_CONF "ws_send_buffer_max = 64k\n");
	vct_vcd_t *v = vct_vcd_start("lobby-sendmax", db_url, conf);
	vct_buf_t probe = { 0 };
	char *tag = malloc(PROBE_SIZE + 1);
	vcl_t *s;
	int k;
	free(conf); /* vcd has read it */

	memset(tag, 'r', PROBE_SIZE);
	tag[PROBE_SIZE] = '\0';
	vct_media_packet(&probe, VCT_MT_RTT, "hoarder@example.com", tag, 0);
	vct_ws_rcvbuf_next(4096);
	s = vcl_join(v->port, SECRET, "hoarder@example.com", "lb-sendmax", "H");
	for (k = 0; k < PROBES; k++) /* vcd may close before the last */
		if (!vct_ws_send_binary(s->ws, probe.p, probe.len))
			break;
	vct_ws_expect_close(s->ws, 4001, NULL, 3 * WAIT,
	                    "the close of a client whose RTT echoes outgrew ws_send_buffer_max");
	for (unsigned i = 2; i < s->ws->n; i++)
		if (!vcl_matches(&s->ws->inbox[i], VCL_BYTES(probe.p, probe.len)))
			fail_msg("message #%u before the 4001 is not an RTT echo", i);
	vct_buf_free(&probe);
	free(tag);
	vct_ws_close_all();
	vct_vcd_stop_ok(v);
	vct_pass();
}

/* vcctl sessions kick SESSION_ID: that session is closed with 4502, the
 * others of the room stay. */
static void test_operator_kick_4502(void **state)
{
	const char *room = "lb-opkick";
	vcl_t *a = join("a@example.com", room), *b;
	char sid[24];
	vct_cmd_t r;

	vcl_activate(a);
	b = join_active("b@example.com", room, (vcl_t *[]){ a }, 1);
	snprintf(sid, sizeof(sid), "%llu", (unsigned long long)b->session_id);
	vct_vcctl(&r, vcd, false, (const char *const[]){ "sessions", "kick", sid, NULL });
	vct_expect_exit(&r, 0);
	vct_cmd_free(&r);
	vct_ws_expect_close(b->ws, 4502, NULL, WAIT, "vcctl sessions kick");
	vcl_send_media(a, VCT_MT_RTT, "a-rtt", 0);
	vcl_wait(a, VCL_TAG("a-rtt"), WAIT, "a's RTT echo after b was kicked (a stays)");
	vct_pass();
}

/* --- RFC 6455: what a server must refuse ------------------------------------- */

/* Soft: vcd must close ws with `code` within WAIT, then end the connection
 * once the close handshake is done. */
static void soft_expect_close(vct_ws_t *ws, int code, const char *what)
{
	uint64_t end = vct_now_ms() + WAIT;

	while (!ws->close_seen && !ws->eof && vct_now_ms() < end)
		vct_ws_pump(ws, 100);
	if (!ws->close_seen) {
		soft_fail("%s: no close frame within %d ms (%s), expected close %d", what, WAIT,
		          ws->eof ? "the connection ended" : "still open", code);
		return;
	}
	if (ws->close_code != code) {
		soft_fail("%s: close %d '%s', expected %d", what, ws->close_code, ws->close_reason,
		          code);
		return;
	}
	if (!ws->close_sent)
		(void)vct_ws_send_close(ws, code, NULL, 0);
	if (!vct_conn_wait_eof(ws->c, WAIT))
		soft_fail("%s: close %d sent but the connection did not end within %d ms", what,
		          code, WAIT);
}

/* A fresh session sends f (after its first two packets): close `code`. */
static void expect_frame_close(const vct_ws_out_t *f, int code, const char *what)
{
	vcl_t *s = join("frames@example.com", "lb-frames");

	(void)vct_ws_send_frame(s->ws, f); /* vcd may close before reading it all */
	soft_expect_close(s->ws, code, what);
	vcl_free(s);
}

static void test_unmasked_frame_1002(void **state)
{
	expect_frame_close(&(vct_ws_out_t){ .opcode = VCT_WS_BINARY,
	                                    .unmasked = true,
	                                    .data = "unmasked",
	                                    .len = 8 },
	                   1002, "an unmasked client frame");
	expect_frame_close(&(vct_ws_out_t){ .opcode = VCT_WS_PING, .unmasked = true }, 1002,
	                   "an unmasked ping");
	soft_done("unmasked_frame_1002");
	vct_pass();
}

static void test_rsv_bits_1002(void **state)
{
	static const unsigned rsv[] = { 4, 2, 1, 7 };
	char what[64];

	for (size_t i = 0; i < 4; i++) {
		snprintf(what, sizeof(what), "a binary frame with RSV bits %u", rsv[i]);
		expect_frame_close(&(vct_ws_out_t){ .opcode = VCT_WS_BINARY,
		                                    .rsv = rsv[i],
		                                    .data = "rsv",
		                                    .len = 3 },
		                   1002, what);
	}
	expect_frame_close(&(vct_ws_out_t){ .opcode = VCT_WS_PING, .rsv = 4 }, 1002,
	                   "a ping with RSV1");
	soft_done("rsv_bits_1002");
	vct_pass();
}

static void test_reserved_opcodes_1002(void **state)
{
	static const unsigned ops[] = { 3, 4, 5, 6, 7, 11, 12, 13, 14, 15 };
	char what[64];

	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		snprintf(what, sizeof(what), "a frame with the reserved opcode %u", ops[i]);
		expect_frame_close(&(vct_ws_out_t){ .opcode = ops[i], .data = "op", .len = 2 },
		                   1002, what);
	}
	soft_done("reserved_opcodes_1002");
	vct_pass();
}

static void test_bad_control_frames_1002(void **state)
{
	char big[126];

	memset(big, 'p', sizeof(big));
	expect_frame_close(&(vct_ws_out_t){ .opcode = VCT_WS_PING, .data = big, .len = 126 }, 1002,
	                   "a ping with a 126-byte payload");
	expect_frame_close(&(vct_ws_out_t){ .opcode = VCT_WS_PONG, .data = big, .len = 126 }, 1002,
	                   "a pong with a 126-byte payload");
	expect_frame_close(
	        &(vct_ws_out_t){ .opcode = VCT_WS_PING, .len_form = 126, .data = "x", .len = 1 },
	        1002, "a ping with its 1-byte length in the 16-bit form");
	expect_frame_close(
	        &(vct_ws_out_t){ .opcode = VCT_WS_PING, .more = true, .data = "frag", .len = 4 },
	        1002, "a fragmented ping");
	soft_done("bad_control_frames_1002");
	vct_pass();
}

static void test_continuation_out_of_place_1002(void **state)
{
	vcl_t *s;

	expect_frame_close(&(vct_ws_out_t){ .opcode = VCT_WS_CONT, .data = "cont", .len = 4 }, 1002,
	                   "a continuation frame with no message started");
	/* a new data frame while a fragmented message is open */
	s = join("frames@example.com", "lb-frames");
	vct_ws_send_frame(s->ws,
	                  &(vct_ws_out_t){
	                          .opcode = VCT_WS_BINARY, .more = true, .data = "ab", .len = 2 });
	vct_ws_send_frame(s->ws,
	                  &(vct_ws_out_t){ .opcode = VCT_WS_BINARY, .data = "cd", .len = 2 });
	soft_expect_close(s->ws, 1002, "a binary frame inside a fragmented message");
	vcl_free(s);
	s = join("frames@example.com", "lb-frames");
	vct_ws_send_frame(s->ws,
	                  &(vct_ws_out_t){
	                          .opcode = VCT_WS_TEXT, .more = true, .data = "ab", .len = 2 });
	vct_ws_send_frame(s->ws, &(vct_ws_out_t){ .opcode = VCT_WS_TEXT, .data = "cd", .len = 2 });
	soft_expect_close(s->ws, 1002, "a text frame inside a fragmented message");
	vcl_free(s);
	soft_done("continuation_out_of_place_1002");
	vct_pass();
}

/* A ping between fragments is answered at once; the message completes and
 * is relayed whole. A message in five fragments, and a frame cut into
 * many TCP writes, arrive as one message, byte for byte. */
static void test_fragments_reassembled_and_relayed(void **state)
{
	const char *room = "lb-fragments";
	vcl_t *a = join("a@example.com", room), *b;
	vct_buf_t p = { 0 };
	char tag[600];
	unsigned i;

	vcl_activate(a);
	b = join_active("b@example.com", room, (vcl_t *[]){ a }, 1);
	/* ping inside a fragmented message */
	vct_media_packet(&p, VCT_MT_VIDEO, "a@example.com", "fragmented-with-a-ping",
	                 a->session_id);
	vct_ws_send_frame(a->ws,
	                  &(vct_ws_out_t){
	                          .opcode = VCT_WS_BINARY, .more = true, .data = p.p, .len = 10 });
	vct_ws_send_ping(a->ws, "in-between", 10);
	vct_ws_expect_pong(a->ws, "in-between", 10, WAIT, "a ping inside a fragmented message");
	vct_ws_send_frame(a->ws, &(vct_ws_out_t){ .opcode = VCT_WS_CONT,
	                                          .data = p.p + 10,
	                                          .len = p.len - 10 });
	vcl_wait(b, VCL_BYTES(p.p, p.len), WAIT, "the message completed after the ping");
	vct_buf_free(&p);
	/* five fragments */
	memset(tag, 'z', sizeof(tag) - 1);
	tag[sizeof(tag) - 1] = '\0';
	memcpy(tag, "five-", 5);
	vct_media_packet(&p, VCT_MT_VIDEO, "a@example.com", tag, a->session_id);
	vct_ws_send_fragments(a->ws, VCT_WS_BINARY, p.p, p.len, 5);
	i = vcl_wait(b, VCL_BYTES(p.p, p.len), WAIT, "the message sent in five fragments, whole");
	if (b->ws->inbox[i].frames != 1)
		fail_msg("the message a sent in five fragments reached b in %u frames, expected "
		         "one",
		         b->ws->inbox[i].frames);
	vct_buf_free(&p);
	/* one frame cut into TCP writes of 7 bytes */
	tag[250] = '\0';
	memcpy(tag, "split", 5);
	vct_media_packet(&p, VCT_MT_VIDEO, "a@example.com", tag, a->session_id);
	vct_ws_send_frame(a->ws,
	                  &(vct_ws_out_t){
	                          .opcode = VCT_WS_BINARY, .data = p.p, .len = p.len, .chunk = 7 });
	vcl_wait(b, VCL_BYTES(p.p, p.len), WAIT, "the frame written 7 bytes at a time, whole");
	vct_buf_free(&p);
	vct_pass();
}

/* Text must be UTF-8, also across fragments (a character may be split). */
static void test_invalid_utf8_text_1007(void **state)
{
	vcl_t *s;

	expect_frame_close(&(vct_ws_out_t){ .opcode = VCT_WS_TEXT, .data = "ok\xc3\x28", .len = 4 },
	                   1007, "a text frame with invalid UTF-8");
	expect_frame_close(&(vct_ws_out_t){ .opcode = VCT_WS_TEXT,
	                                    .data = "\xed\xa0\x80",
	                                    .len = 3 },
	                   1007, "a text frame with an encoded surrogate");
	expect_frame_close(&(vct_ws_out_t){ .opcode = VCT_WS_TEXT,
	                                    .data = "cut \xe2\x82",
	                                    .len = 6 },
	                   1007, "a text message ending inside a character");
	/* invalid across fragments */
	s = join("utf8@example.com", "lb-utf8");
	vct_ws_send_frame(s->ws, &(vct_ws_out_t){ .opcode = VCT_WS_TEXT,
	                                          .more = true,
	                                          .data = "\xe2\x82",
	                                          .len = 2 });
	vct_ws_send_frame(s->ws,
	                  &(vct_ws_out_t){ .opcode = VCT_WS_CONT, .data = "\x28", .len = 1 });
	soft_expect_close(s->ws, 1007, "invalid UTF-8 across two fragments");
	vcl_free(s);
	/* valid, a character split across fragments: fine (a ping after it is answered) */
	s = join("utf8@example.com", "lb-utf8");
	vct_ws_send_frame(s->ws, &(vct_ws_out_t){ .opcode = VCT_WS_TEXT,
	                                          .more = true,
	                                          .data = "euro \xe2\x82",
	                                          .len = 7 });
	vct_ws_send_frame(s->ws,
	                  &(vct_ws_out_t){ .opcode = VCT_WS_CONT, .data = "\xac", .len = 1 });
	vct_ws_send_ping(s->ws, "still-open", 10);
	vct_ws_expect_pong(s->ws, "still-open", 10, WAIT,
	                   "after a valid character split across fragments");
	vcl_free(s);
	soft_done("invalid_utf8_text_1007");
	vct_pass();
}

/* Close codes a client may not send (1005, 1006 and 1015 are never on the
 * wire; < 1000 and >= 5000 are undefined; 1004 and 1016-2999 reserved),
 * a 1-byte close payload, and a reason that is not UTF-8. */
static void test_bad_close_frames(void **state)
{
	static const int bad[] = { 0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535 };
	char what[64];
	vcl_t *s;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t p[2] = { (uint8_t)(bad[i] >> 8), (uint8_t)bad[i] };
		snprintf(what, sizeof(what), "a client close with code %d", bad[i]);
		expect_frame_close(&(vct_ws_out_t){ .opcode = VCT_WS_CLOSE, .data = p, .len = 2 },
		                   1002, what);
	}
	expect_frame_close(&(vct_ws_out_t){ .opcode = VCT_WS_CLOSE, .data = "\x03", .len = 1 },
	                   1002, "a close frame with a 1-byte payload");
	s = join("close@example.com", "lb-close");
	vct_ws_send_close(s->ws, 1000, "bad \xc3\x28 reason", 12);
	soft_expect_close(s->ws, 1007, "a close reason that is not UTF-8");
	vcl_free(s);
	soft_done("bad_close_frames");
	vct_pass();
}

/* A client's valid close is echoed with its code. */
static void test_client_close_echoed(void **state)
{
	static const int codes[] = { 1000, 1001, 3000, 4000, 4999 };
	char what[64];
	vcl_t *s;

	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		s = join("close@example.com", "lb-close");
		vct_ws_send_close(s->ws, codes[i], "bye", 3);
		snprintf(what, sizeof(what), "the echo of a client close %d", codes[i]);
		soft_expect_close(s->ws, codes[i], what);
		vcl_free(s);
	}
	/* An empty close: answered by an empty close (or 1000, RFC 6455 5.5.1). */
	s = join("close@example.com", "lb-close");
	vct_ws_send_close(s->ws, -1, NULL, 0);
	{
		uint64_t end = vct_now_ms() + WAIT;
		while (!s->ws->close_seen && !s->ws->eof && vct_now_ms() < end)
			vct_ws_pump(s->ws, 100);
		if (!s->ws->close_seen ||
		    (s->ws->close_code != VCT_WS_NO_STATUS && s->ws->close_code != 1000))
			fail_msg("the answer to an empty close frame: %s %d, expected an empty "
			         "close "
			         "or 1000",
			         s->ws->close_seen ? "close" : "no close, EOF or nothing",
			         s->ws->close_code);
		if (!vct_conn_wait_eof(s->ws->c, WAIT))
			fail_msg("vcd did not end the connection after the close handshake");
	}
	vcl_free(s);
	soft_done("client_close_echoed");
	vct_pass();
}

/* ws_max_message (64 KiB here): exactly that is relayed; one byte more,
 * in one frame or in fragments, closes with 1009. */
static void test_message_over_max_1009(void **state)
{
	const char *room = "lb-max";
	uint8_t *big = malloc(MAX_MSG + 1);
	vcl_t *a = join("a@example.com", room), *b, *s;

	memset(big, 0xff, MAX_MSG + 1); /* not a PacketWrapper: relayed as it is */
	vcl_activate(a);
	b = join_active("b@example.com", room, (vcl_t *[]){ a }, 1);
	vcl_send(a, big, MAX_MSG);
	vcl_wait(b, VCL_BYTES(big, MAX_MSG), WAIT, "a message of exactly ws_max_message bytes");
	(void)vct_ws_send_binary(a->ws, big, MAX_MSG + 1);
	vct_ws_expect_close(a->ws, 1009, NULL, WAIT, "a frame of ws_max_message + 1 bytes");
	s = join("c@example.com", room);
	(void)vct_ws_send_frame(s->ws, &(vct_ws_out_t){ .opcode = VCT_WS_BINARY,
	                                                .more = true,
	                                                .data = big,
	                                                .len = MAX_MSG / 2 });
	(void)vct_ws_send_frame(s->ws, &(vct_ws_out_t){ .opcode = VCT_WS_CONT,
	                                                .more = true,
	                                                .data = big,
	                                                .len = MAX_MSG / 2 });
	(void)vct_ws_send_frame(s->ws,
	                        &(vct_ws_out_t){ .opcode = VCT_WS_CONT, .data = big, .len = 1 });
	vct_ws_expect_close(s->ws, 1009, NULL, WAIT,
	                    "a message of ws_max_message + 1 bytes in three fragments");
	free(big);
	vct_pass();
}

/* A ping is answered with a pong carrying the same payload. */
static void test_ping_answered(void **state)
{
	vcl_t *s = join("ping@example.com", "lb-ping");
	char p125[125];

	vct_ws_send_ping(s->ws, "ping-payload-123", 16);
	vct_ws_expect_pong(s->ws, "ping-payload-123", 16, WAIT, "the answer to a ping");
	vct_ws_send_ping(s->ws, NULL, 0);
	vct_ws_expect_pong(s->ws, "", 0, WAIT, "the answer to an empty ping");
	memset(p125, 'q', sizeof(p125));
	vct_ws_send_ping(s->ws, p125, sizeof(p125));
	vct_ws_expect_pong(s->ws, p125, sizeof(p125), WAIT, "the answer to a 125-byte ping");
	vct_pass();
}

/* --- timers (a vcd of their own: ws_ping_interval 200ms, ws_idle_timeout 1s) -- */

#define TIMERS_CONF "ws_ping_interval = 200ms\nws_idle_timeout = 1s\n"
#define IDLE_MS 1000

static vct_vcd_t *timers_vcd(void)
{
	return vct_vcd_start("lobby-timers", db_url, VCM_CONF TIMERS_CONF);
}

/* vcd pings; a client that answers them (a pong is a frame) stays open
 * longer than the idle timeout. */
static void test_server_pings(void **state)
{
	vct_vcd_t *v = timers_vcd();
	vcl_t *s = vcl_join(v->port, SECRET, "pinged@example.com", "lb-pings", "P");

	s->ws->auto_pong = true;
	vct_ws_expect_pings(s->ws, 3, WAIT, "vcd's pings every ws_ping_interval (200 ms)");
	vct_ws_expect_pings(s->ws, 10, 2 * WAIT,
	                    "pings for longer than ws_idle_timeout, the pongs keeping it open");
	vct_ws_close_all();
	vct_vcd_stop_ok(v);
	vct_pass();
}

/* No frame from the client for ws_idle_timeout: close 4002. Text frames
 * count as activity (and are otherwise ignored). */
static void test_idle_close_4002(void **state)
{
	vct_vcd_t *v = timers_vcd();
	vcl_t *t = vcl_join(v->port, SECRET, "texter@example.com", "lb-idle", "T"), *s;
	uint64_t t0, end, next;

	/* text every 200 ms for 2.5 idle timeouts: still open */
	end = vct_now_ms() + 5 * IDLE_MS / 2;
	while (vct_now_ms() < end) {
		if (!vct_ws_send_text(t->ws, "still here", 10))
			fail_msg("texter: the connection is gone while it sent text every 200 ms");
		next = vct_now_ms() + 200;
		while (vct_now_ms() < next && !t->ws->close_seen && !t->ws->eof)
			vct_ws_pump(t->ws, (unsigned)(next - vct_now_ms()));
		if (t->ws->close_seen || t->ws->eof)
			fail_msg("texter: closed (%d) while sending text every 200 ms with "
			         "ws_idle_timeout 1 s (text counts as activity)",
			         t->ws->close_code);
	}
	vct_ws_expect_close(t->ws, 4002, NULL, WAIT, "the idle timeout once the text stopped");
	/* a client silent from the start */
	t0 = vct_now_ms();
	s = vcl_join(v->port, SECRET, "idle@example.com", "lb-idle", "I");
	vct_ws_expect_close(s->ws, 4002, NULL, WAIT, "the idle timeout of a silent client");
	if (vct_now_ms() - t0 < IDLE_MS / 2)
		fail_msg("the idle close came %llu ms after the upgrade; ws_idle_timeout is %d ms",
		         (unsigned long long)(vct_now_ms() - t0), IDLE_MS);
	vct_ws_close_all();
	vct_vcd_stop_ok(v);
	vct_pass();
}

/* --- meetings act on live sessions -------------------------------------------- */

static char *token_of(json_t *p, const char *key)
{
	char *t = vct_strf("%s", vct_json_str(p, key));

	json_decref(p);
	return t;
}

/* The host's room token (the meeting created with `more`, the host joined). */
static char *host_room(const char *room, const char *more)
{
	vcm_target(vcd);
	vcm_new_room(HOST, room, more);
	return token_of(vcm_join(HOST, room, "Host"), "room_token");
}

/* /end: MEETING_ENDED to every session of the room (participants and
 * observers), then close 4500. */
static void test_end_meeting_closes_4500(void **state)
{
	const char *room = "lb-end", *p = "p@example.com", *w = "w@example.com";
	char *th = host_room(room, ",\"waiting_room_enabled\":true"), *tp, *tw;
	vcl_t *s[3];
	json_t *j;

	vcm_target(vcd);
	json_decref(vcm_join(p, room, "P"));
	json_decref(vcm_admit(HOST, room, p));
	tp = token_of(vcm_ok(p, "GET", room, "status", NULL, 200), "room_token");
	tw = token_of(vcm_join(w, room, "W"), "observer_token");
	s[0] = vcl_open(vcd->port, th, HOST, room, "Host");
	vcl_activate(s[0]);
	s[1] = vcl_open(vcd->port, tp, p, room, "P");
	vcl_activate(s[1]);
	s[2] = vcl_open(vcd->port, tw, w, room, "W");
	vcl_wait(s[0], VCL_EVENT(VCT_EV_PARTICIPANT_JOINED, p), WAIT, "p's JOINED");
	j = vcm_ok(HOST, "POST", room, "end", NULL, 200);
	json_decref(j);
	for (int i = 0; i < 3; i++) {
		unsigned at = vcl_wait(s[i], VCL_EVENT(VCT_EV_MEETING_ENDED, NULL), WAIT,
		                       "MEETING_ENDED after POST /end");
		vct_pw_t pw;
		vct_mp_t mp;
		vcl_decode(s[i], at, &pw, &mp);
		if (!vct_pb_eq(mp.room_id, room) || !vct_pb_eq(pw.user_id, VCT_SYSTEM_USER))
			fail_msg(
			        "%s: MEETING_ENDED for room '%.*s' from '%.*s', expected room '%s' "
			        "from the system user",
			        s[i]->user, (int)mp.room_id.len, mp.room_id.p, (int)pw.user_id.len,
			        pw.user_id.p, room);
		vct_ws_expect_close(s[i]->ws, 4500, NULL, WAIT, "the close after MEETING_ENDED");
	}
	free(th);
	free(tp);
	free(tw);
	vct_pass();
}

/* A kick closes every session of that user in the room with 4501, and
 * only those. */
static void test_kick_closes_4501(void **state)
{
	const char *room = "lb-kick", *p = "p@example.com", *q = "q@example.com";
	char *th = host_room(room, ",\"waiting_room_enabled\":false"), *tp, *tq;
	vcl_t *h, *p1, *p2, *qs;

	vcm_target(vcd);
	tp = token_of(vcm_join(p, room, "P"), "room_token");
	tq = token_of(vcm_join(q, room, "Q"), "room_token");
	h = vcl_open(vcd->port, th, HOST, room, "Host");
	vcl_activate(h);
	p1 = vcl_open(vcd->port, tp, p, room, "P");
	vcl_activate(p1);
	p2 = vcl_open(vcd->port, tp, p, room, "P");
	vcl_activate(p2);
	qs = vcl_open(vcd->port, tq, q, room, "Q");
	vcl_activate(qs);
	vcl_wait(h, VCL_EVENT(VCT_EV_PARTICIPANT_JOINED, q), WAIT, "q's JOINED");
	json_decref(vcm_ok(HOST, "POST", room, "kick", "{\"user_id\":\"p@example.com\"}", 200));
	vct_ws_expect_close(p1->ws, 4501, NULL, WAIT, "the kicked user's first session");
	vct_ws_expect_close(p2->ws, 4501, NULL, WAIT, "the kicked user's second session");
	marker(qs, "q-after-kick", (vcl_t *[]){ h }, 1); /* the others stay */
	free(th);
	free(tp);
	free(tq);
	vct_pass();
}

/* A rejected waiting user's observer socket is closed with 4501. */
static void test_reject_closes_observer_4501(void **state)
{
	const char *room = "lb-reject", *w = "w@example.com";
	char *th = host_room(room, ",\"waiting_room_enabled\":true"), *tw;
	vcl_t *h, *o;

	vcm_target(vcd);
	tw = token_of(vcm_join(w, room, "W"), "observer_token");
	h = vcl_open(vcd->port, th, HOST, room, "Host");
	vcl_activate(h);
	o = vcl_open(vcd->port, tw, w, room, "W");
	json_decref(vcm_ok(HOST, "POST", room, "reject", "{\"user_id\":\"w@example.com\"}", 200));
	vct_ws_expect_close(o->ws, 4501, NULL, WAIT, "the rejected user's observer socket");
	free(th);
	free(tw);
	vct_pass();
}

/* What vcd's meeting actor publishes reaches the sessions on this node:
 * MEETING_ACTIVATED to a user waiting for the meeting, WAITING_ROOM_UPDATED
 * to the host, PARTICIPANT_ADMITTED to the admitted user's observer socket. */
static void test_meeting_events_reach_sessions(void **state)
{
	const char *room = "lb-events", *u = "u@example.com", *w = "w@example.com";
	char *tu, *th, *tw;
	vcl_t *us, *h, *ws_;
	unsigned i;
	vct_pw_t pw;
	vct_mp_t mp;

	vcm_target(vcd);
	vcm_new_room(HOST, room, ",\"waiting_room_enabled\":true");
	tu = token_of(vcm_join(u, room, "U"), "observer_token"); /* waiting_for_meeting */
	us = vcl_open(vcd->port, tu, u, room, "U");
	th = token_of(vcm_join(HOST, room, "Host"), "room_token");
	i = vcl_wait(us, VCL_EVENT(VCT_EV_MEETING_ACTIVATED, NULL), WAIT,
	             "MEETING_ACTIVATED when the host joined");
	vcl_decode(us, i, &pw, &mp);
	if (!vct_pb_eq(mp.room_id, room))
		fail_msg("MEETING_ACTIVATED for room '%.*s', expected '%s'", (int)mp.room_id.len,
		         mp.room_id.p, room);
	h = vcl_open(vcd->port, th, HOST, room, "Host");
	vcl_activate(h);
	tw = token_of(vcm_join(w, room, "W"), "observer_token");
	vcl_wait(h, VCL_EVENT(VCT_EV_WAITING_ROOM_UPDATED, NULL), WAIT,
	         "WAITING_ROOM_UPDATED at the host when w knocked");
	ws_ = vcl_open(vcd->port, tw, w, room, "W");
	json_decref(vcm_admit(HOST, room, w));
	vcl_wait(ws_, VCL_EVENT(VCT_EV_PARTICIPANT_ADMITTED, w), WAIT,
	         "PARTICIPANT_ADMITTED of w on its observer socket");
	free(tu);
	free(th);
	free(tw);
	vct_pass();
}

/* --- shutting down ------------------------------------------------------------- */

/* SIGTERM: every WebSocket is closed with 1001, and vcd exits 0. */
static void test_sigterm_closes_1001(void **state)
{
	vct_vcd_t *v = vct_vcd_start("lobby-drain", db_url, VCM_CONF);
	vcl_t *a = vcl_join(v->port, SECRET, "a@example.com", "lb-drain", "A");
	vcl_t *b = vcl_join(v->port, SECRET, "b@example.com", "lb-drain-2", "B");
	int st;

	vcl_activate(a);
	vct_vcd_signal(v, SIGTERM);
	vct_ws_expect_close(a->ws, 1001, NULL, WAIT, "the drain on SIGTERM");
	vct_ws_expect_close(b->ws, 1001, NULL, WAIT, "the drain on SIGTERM");
	st = vct_vcd_wait_exit(v, 10000);
	if (st != 0)
		fail_msg("vcd exited with %d after SIGTERM with open WebSockets, expected 0", st);
	vct_pass();
}

/* --- main ------------------------------------------------------------------ */

static int group_setup(void **state)
{
	char *more = vct_strf("nats_url = %s\nlobby_reconnect_grace = %dms\nws_max_message = %d\n",
	                      vct_env("VCT_NATS_URL"), GRACE_MS, MAX_MSG);

	vcd = vcm_start("lobby", "lobby", more, &db_url);
	vcm_wait_nats(vcd);
	free(more);
	return 0;
}

/* cmocka does not count a failed group teardown in its result: main does. */
static int teardown_rc;

static int group_teardown(void **state)
{
	vct_ws_close_all();
	teardown_rc = vcm_finish(vcd, &db_url);
	return teardown_rc;
}

static int lobby_setup(void **state)
{
	soft_failures = 0;
	return vct_setup(state);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, lobby_setup, vcl_teardown)

int main(void)
{
	int rc;
	const struct CMUnitTest tests[] = {
		T(test_upgrade_without_token_400),
		T(test_upgrade_without_secret_500),
		T(test_upgrade_expired_token_401),
		T(test_upgrade_forged_tokens_403),
		T(test_upgrade_bad_claims_403),
		T(test_upgrade_unsafe_room_403),
		T(test_upgrade_neither_join_nor_observer_403),
		T(test_upgrade_observer_or_join_accepted),
		T(test_upgrade_room_pattern_accepted),
		T(test_upgrade_negotiates_nothing),
		T(test_upgrade_not_websocket_400_426),
		T(test_upgrade_token_checked_first),
		T(test_deprecated_path_gone_when_managed),
		T(test_deprecated_path_identity),
		T(test_deprecated_path_bad_id_400),
		T(test_first_packets_byte_for_byte),
		T(test_meeting_started_per_session),
		T(test_system_user_rejected_1008),
		T(test_first_packet_activates),
		T(test_rtt_echoed_to_sender_only),
		T(test_health_and_congestion_activate_not_relayed),
		T(test_existing_members_sent_to_joiner),
		T(test_keyframe_requests_limited),
		T(test_session_id_filled_in),
		T(test_relay_exactly_once_in_order),
		T(test_text_frames_ignored),
		T(test_observer_gets_meeting_packets_only),
		T(test_observer_media_dropped),
		T(test_left_after_grace),
		T(test_no_left_for_observer_or_never_active),
		T(test_reconnect_within_grace_is_silent),
		T(test_stalled_reader_does_not_slow_others),
		T(test_reliable_overflow_closes_4001),
		T(test_operator_kick_4502),
		T(test_unmasked_frame_1002),
		T(test_rsv_bits_1002),
		T(test_reserved_opcodes_1002),
		T(test_bad_control_frames_1002),
		T(test_continuation_out_of_place_1002),
		T(test_fragments_reassembled_and_relayed),
		T(test_invalid_utf8_text_1007),
		T(test_bad_close_frames),
		T(test_client_close_echoed),
		T(test_message_over_max_1009),
		T(test_ping_answered),
		T(test_server_pings),
		T(test_idle_close_4002),
		T(test_end_meeting_closes_4500),
		T(test_kick_closes_4501),
		T(test_reject_closes_observer_4501),
		T(test_meeting_events_reach_sessions),
		T(test_sigterm_closes_1001),
	};

	if (getenv("VCT_FILTER") != NULL) /* e.g. VCT_FILTER='test_relay*' */
		cmocka_set_test_filter(getenv("VCT_FILTER"));
	rc = cmocka_run_group_tests(tests, group_setup, group_teardown);
	if (rc == 0 && teardown_rc != 0) {
		fprintf(stderr, "test_lobby: the group's vcd did not stop cleanly (see above)\n");
		rc = 1;
	}
	return rc;
}
