/*
 * vctest_meetings.c — the meeting conformance tests' shared helpers (see
 * vctest_meetings.h): authenticated requests, envelope and shape checks,
 * token checks, a NATS subscriber, and concurrent callers.
 */
#include "t/lib/vctest_meetings.h"

#include <ctype.h>
#include <nats/nats.h>
#include <pthread.h>
#include <setjmp.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "wire/jwt.h"
#include "wire/proto.h"

#define JOB_CONNECT_MS 5000
#define JOB_ANSWER_MS 60000
#define JOB_STACK (256 * 1024)

static int target_port;

/* --- setup ---------------------------------------------------------------- */

void vcm_init(void)
{
	if (sodium_init() < 0)
		fail_msg("sodium_init failed: cannot sign or verify tokens");
}

void vcm_target(const vct_vcd_t *v)
{
	target_port = v->port;
}

void vcm_wait_nats(const vct_vcd_t *v)
{
	uint64_t end = vct_now_ms() + 10000;

	while (vct_metric_get(v->port, "vcd_nats_connected") != 1) {
		if (vct_now_ms() > end)
			fail_msg("%s is not connected to NATS (%s) after 10 s: vcd_nats_connected "
			         "is not 1 in /metrics",
			         v->name, vct_env("VCT_NATS_URL"));
		vct_sleep_ms(20);
	}
}

vct_vcd_t *vcm_start(const char *db, const char *name, const char *more, char **db_url)
{
	char *conf = vct_strf("%s%s", VCM_CONF, more != NULL ? more : "");
	vct_vcd_t *v;

	vcm_init();
	*db_url = vct_db_create(db);
	v = vct_vcd_start(name, *db_url, conf);
	vct_vcd_keep(v);
	vcm_target(v);
	free(conf);
	return v;
}

int vcm_finish(vct_vcd_t *v, char **db_url)
{
	int rc = vct_vcd_finish(v);

	free(*db_url);
	*db_url = NULL;
	return rc;
}

/* CLOCK_REALTIME, as vcd reads it: time(2) comes from the coarse clock, which
 * can still show the last second when vcd already sees the next one. */
long long vcm_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec;
}

long long vcm_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- requests ------------------------------------------------------------- */

char *vcm_session_jwt(const char *user, long long exp_in)
{
	long long now = vcm_now();
	json_t *c =
	        json_pack("{s:s,s:s,s:I,s:I,s:s}", "sub", user, "name", user, "exp",
	                  (json_int_t)(now + exp_in), "iat", (json_int_t)now, "iss", VC_JWT_ISSUER);
	char *t = vc_jwt_sign(c, (const uint8_t *)VCM_SECRET, strlen(VCM_SECRET));

	json_decref(c);
	if (t == NULL)
		fail_msg("vc_jwt_sign failed for user '%s'", user);
	return t;
}

char *vcm_url(const char *room, const char *op)
{
	if (room == NULL)
		return vct_strf("/api/v1/meetings");
	if (op == NULL)
		return vct_strf("/api/v1/meetings/%s", room);
	return vct_strf("/api/v1/meetings/%s/%s", room, op);
}

int vcm_raw(const char *user, const char *method, const char *path, const char *headers,
            const char *body, vct_resp_t *r)
{
	char *jwt = user ? vcm_session_jwt(user, 3600) : NULL;
	char *h = vct_strf("%s%s%s%s", jwt ? "Cookie: session=" : "", jwt ? jwt : "",
	                   jwt ? "\r\n" : "", headers ? headers : "");
	int st = vct_http(target_port, method, path, h, body, r);

	free(h);
	free(jwt);
	return st;
}

int vcm_call(const char *user, const char *method, const char *path, const char *body,
             vct_resp_t *r)
{
	return vcm_raw(user, method, path, body ? "Content-Type: application/json\r\n" : NULL, body,
	               r);
}

static void expect_json_type(const vct_resp_t *r, const char *what)
{
	if (!vct_resp_header_has(r, "Content-Type", "application/json"))
		fail_msg("%s: HTTP %d with Content-Type '%s', expected application/json; body '%s'",
		         what, r->status,
		         vct_resp_header(r, "Content-Type") ? vct_resp_header(r, "Content-Type")
		                                            : "(none)",
		         r->body);
}

json_t *vcm_result(const vct_resp_t *r, int status, const char *what)
{
	json_t *j, *res;

	if (r->status != status)
		fail_msg("%s: HTTP %d, expected %d; body '%s'", what, r->status, status, r->body);
	expect_json_type(r, what);
	j = vct_resp_json(r);
	res = json_object_get(j, "result");
	if (!json_is_object(j) || json_object_size(j) != 2 ||
	    !json_is_true(json_object_get(j, "success")) || res == NULL || json_is_null(res))
		fail_msg("%s: body '%s' is not {\"success\":true,\"result\":…}", what, r->body);
	json_incref(res);
	json_decref(j);
	return res;
}

void vcm_error(const vct_resp_t *r, int status, const char *code, const char *message,
               const char *what)
{
	json_t *j, *res, *want;

	if (r->status != status)
		fail_msg("%s: HTTP %d, expected %d %s; body '%s'", what, r->status, status, code,
		         r->body);
	expect_json_type(r, what);
	j = vct_resp_json(r);
	if (message != NULL) {
		want = json_pack("{s:b,s:{s:s,s:s}}", "success", 0, "result", "code", code,
		                 "message", message);
		if (!json_equal(j, want))
			fail_msg("%s: body '%s', expected "
			         "{\"success\":false,\"result\":{\"code\":\"%s\",\"message\":\"%"
			         "s\"}}",
			         what, r->body, code, message);
		json_decref(want);
	} else {
		res = json_object_get(j, "result");
		vcm_shape(res, "code:s message:s", what);
		if (!json_is_false(json_object_get(j, "success")) || json_object_size(j) != 2 ||
		    strcmp(vct_json_str(res, "code"), code) != 0 ||
		    vct_json_str(res, "message")[0] == '\0')
			fail_msg("%s: body '%s', expected an error envelope with code %s", what,
			         r->body, code);
	}
	json_decref(j);
}

json_t *vcm_ok_at(const char *user, const char *method, const char *path, const char *body,
                  int status)
{
	char *what = vct_strf("%s %s as %s", method, path, user ? user : "(nobody)");
	vct_resp_t r;
	json_t *res;

	vcm_call(user, method, path, body, &r);
	res = vcm_result(&r, status, what);
	vct_resp_free(&r);
	free(what);
	return res;
}

void vcm_fail_at(const char *user, const char *method, const char *path, const char *body,
                 int status, const char *code, const char *message)
{
	char *what = vct_strf("%s %s as %s", method, path, user ? user : "(nobody)");
	vct_resp_t r;

	vcm_call(user, method, path, body, &r);
	vcm_error(&r, status, code, message, what);
	vct_resp_free(&r);
	free(what);
}

json_t *vcm_ok(const char *user, const char *method, const char *room, const char *op,
               const char *body, int status)
{
	char *path = vcm_url(room, op);
	json_t *res = vcm_ok_at(user, method, path, body, status);

	free(path);
	return res;
}

void vcm_fail(const char *user, const char *method, const char *room, const char *op,
              const char *body, int status, const char *code, const char *message)
{
	char *path = vcm_url(room, op);

	vcm_fail_at(user, method, path, body, status, code, message);
	free(path);
}

void vcm_status(const char *user, const char *method, const char *path, const char *headers,
                const char *body, int status)
{
	vct_resp_t r;
	json_t *j;

	vcm_raw(user, method, path, headers, body, &r);
	if (r.status != status)
		fail_msg("%s %s: HTTP %d, expected %d; body '%s'", method, path, r.status, status,
		         r.body);
	j = json_loadb(r.body, r.body_len, JSON_DECODE_ANY, NULL);
	if (j != NULL && json_is_true(json_object_get(j, "success")))
		fail_msg("%s %s: HTTP %d with a success envelope '%s'", method, path, r.status,
		         r.body);
	json_decref(j);
	vct_resp_free(&r);
}

char *vcm_msg_not_found(const char *room)
{
	return vct_strf("Meeting '%s' not found", room);
}

char *vcm_msg_exists(const char *room)
{
	return vct_strf("Meeting with ID '%s' already exists", room);
}

char *vcm_msg_not_active(const char *room)
{
	return vct_strf("Meeting '%s' is not active. Host must join first.", room);
}

char *vcm_msg_no_participant(const char *user)
{
	return vct_strf("Participant '%s' not found in waiting room", user);
}

/* {"key": value} as compact JSON text (malloc'd). */
static char *one_member(const char *key, const char *value)
{
	json_t *o = json_pack("{s:s}", key, value);
	char *s = json_dumps(o, JSON_COMPACT);

	json_decref(o);
	return s;
}

json_t *vcm_create(const char *owner, const char *body)
{
	json_t *m = vcm_ok(owner, "POST", NULL, NULL, body, 201);

	vcm_shape(m, VCM_CREATE_SHAPE, "CreateMeetingResponse");
	return m;
}

void vcm_new_room(const char *owner, const char *room, const char *more)
{
	char *body = vct_strf("{\"meeting_id\":\"%s\"%s}", room, more ? more : "");
	json_t *m = vcm_create(owner, body);

	if (strcmp(vct_json_str(m, "meeting_id"), room) != 0 ||
	    strcmp(vct_json_str(m, "host"), owner) != 0 ||
	    strcmp(vct_json_str(m, "state"), "idle") != 0)
		fail_msg("create %s: answer meeting_id '%s', host '%s', state '%s'", body,
		         vct_json_str(m, "meeting_id"), vct_json_str(m, "host"),
		         vct_json_str(m, "state"));
	json_decref(m);
	free(body);
}

json_t *vcm_join(const char *user, const char *room, const char *display_name)
{
	char *body = display_name ? one_member("display_name", display_name) : NULL;
	json_t *p = vcm_ok(user, "POST", room, "join", body, 200);

	vcm_shape(p, VCM_PART_SHAPE, "join answer");
	if (strcmp(vct_json_str(p, "user_id"), user) != 0)
		fail_msg("join of %s as %s: user_id is '%s'", room, user,
		         vct_json_str(p, "user_id"));
	free(body);
	return p;
}

json_t *vcm_admit(const char *host, const char *room, const char *user)
{
	char *body = one_member("user_id", user);
	json_t *p = vcm_ok(host, "POST", room, "admit", body, 200);

	vcm_participant(p, user, "admitted", false);
	vcm_secs(p, "admitted_at");
	vcm_absent(p, VCM_JOIN_ONLY, "admit answer");
	free(body);
	return p;
}

/* --- shapes and values ---------------------------------------------------- */

/* The type letter spec gives member `key`, '\0' when it allows no such
 * member; *optional says whether it may be left out. */
static char spec_type(const char *spec, const char *key, bool *optional)
{
	size_t klen = strlen(key);

	for (const char *p = spec; *p != '\0';) {
		size_t n = strcspn(p, " ");
		bool opt = *p == '?';
		const char *name = p + opt, *colon = memchr(p, ':', n);

		if (colon != NULL && (size_t)(colon - name) == klen &&
		    memcmp(name, key, klen) == 0) {
			*optional = opt;
			return colon[1];
		}
		p += n;
		p += strspn(p, " ");
	}
	return '\0';
}

static bool type_ok(const json_t *v, char t)
{
	switch (t) {
	case 's': return json_is_string(v);
	case 'i': return json_is_integer(v);
	case 'b': return json_is_boolean(v);
	case 'a': return json_is_array(v);
	case 'o': return json_is_object(v);
	default: return false;
	}
}

void vcm_shape(const json_t *o, const char *spec, const char *what)
{
	char *text = json_dumps(o, JSON_COMPACT | JSON_ENCODE_ANY);
	const char *key;
	json_t *v;
	bool opt;
	char name[64];

	if (!json_is_object(o))
		fail_msg("%s: '%s' is not an object", what, text);
	json_object_foreach((json_t *)o, key, v)
	{
		char t = spec_type(spec, key, &opt);
		if (t == '\0')
			fail_msg("%s: member '%s' is not in the contract's shape; in %s", what, key,
			         text);
		if (json_is_null(v))
			fail_msg("%s: member '%s' is null; optional members are omitted, in %s",
			         what, key, text);
		if (!type_ok(v, t))
			fail_msg("%s: member '%s' has the wrong type (want %c) in %s", what, key, t,
			         text);
	}
	for (const char *p = spec; *p != '\0';) {
		size_t n = strcspn(p, " "), len = strcspn(p, ":");
		if (*p != '?' && len < sizeof(name)) {
			memcpy(name, p, len);
			name[len] = '\0';
			if (json_object_get(o, name) == NULL)
				fail_msg("%s: member '%s' is missing in %s", what, name, text);
		}
		p += n;
		p += strspn(p, " ");
	}
	free(text);
}

void vcm_absent(const json_t *o, const char *names, const char *what)
{
	char name[64];

	for (const char *p = names; *p != '\0';) {
		size_t n = strcspn(p, " ");
		if (n < sizeof(name)) {
			memcpy(name, p, n);
			name[n] = '\0';
			if (json_object_get(o, name) != NULL) {
				char *text = json_dumps(o, JSON_COMPACT);
				fail_msg("%s: member '%s' must be absent here, in %s", what, name,
				         text);
			}
		}
		p += n;
		p += strspn(p, " ");
	}
}

/* A deep copy of o without the space-separated members `skip`. */
static json_t *without(const json_t *o, const char *skip)
{
	json_t *c = json_deep_copy(o);
	char name[64];

	for (const char *p = skip ? skip : ""; *p != '\0';) {
		size_t n = strcspn(p, " ");
		if (n < sizeof(name)) {
			memcpy(name, p, n);
			name[n] = '\0';
			json_object_del(c, name);
		}
		p += n;
		p += strspn(p, " ");
	}
	return c;
}

void vcm_same(const json_t *o, const char *want, const char *skip, const char *what)
{
	json_error_t err;
	json_t *w = json_loads(want, 0, &err), *a, *b;

	if (w == NULL)
		fail_msg("vcm_same: expected text is not JSON (%s): %s", err.text, want);
	a = without(o, skip);
	b = without(w, skip);
	if (!json_equal(a, b)) {
		char *got = json_dumps(o, JSON_COMPACT);
		fail_msg("%s: got %s, expected %s (ignoring: %s)", what, got, want,
		         skip ? skip : "nothing");
	}
	json_decref(a);
	json_decref(b);
	json_decref(w);
}

/* Within 5 minutes before and 5 s after now, in the unit of `now`. */
static long long near(const json_t *o, const char *key, long long now, long long unit,
                      const char *unit_name)
{
	long long v = (long long)vct_json_int(o, key);

	if (v < now - 300 * unit || v > now + 5 * unit)
		fail_msg("member '%s' = %lld is not a time in %s since the epoch near now "
		         "(%lld)",
		         key, v, unit_name, now);
	return v;
}

long long vcm_secs(const json_t *o, const char *key)
{
	return near(o, key, vcm_now(), 1, "seconds");
}

long long vcm_millis(const json_t *o, const char *key)
{
	return near(o, key, vcm_now_ms(), 1000, "milliseconds");
}

void vcm_participant(const json_t *p, const char *user, const char *status, bool is_host)
{
	char *what = vct_strf("participant %s", user);

	vcm_shape(p, VCM_PART_SHAPE, what);
	if (strcmp(vct_json_str(p, "user_id"), user) != 0 ||
	    strcmp(vct_json_str(p, "status"), status) != 0 ||
	    vct_json_bool(p, "is_host") != is_host)
		fail_msg("%s: user_id '%s', status '%s', is_host %d; expected '%s', '%s', %d", what,
		         vct_json_str(p, "user_id"), vct_json_str(p, "status"),
		         vct_json_bool(p, "is_host"), user, status, is_host);
	vcm_secs(p, "joined_at");
	if (json_object_get(p, "admitted_at") != NULL)
		vcm_secs(p, "admitted_at");
	free(what);
}

json_t *vcm_find_user(const json_t *a, const char *user)
{
	size_t i;
	json_t *e;

	json_array_foreach(a, i, e) if (json_is_string(json_object_get(e, "user_id")) &&
	                                strcmp(json_string_value(json_object_get(e, "user_id")),
	                                       user) == 0) return e;
	return NULL;
}

/* --- tokens --------------------------------------------------------------- */

/* The JSON of a token's first part, or NULL. */
static json_t *token_header(const char *token)
{
	size_t n = strcspn(token, "."), len;
	unsigned char buf[256];
	json_t *h;

	if (sodium_base642bin(buf, sizeof(buf) - 1, token, n, NULL, &len, NULL,
	                      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
		return NULL;
	h = json_loadb((const char *)buf, len, 0, NULL);
	return h;
}

static void check_token(const char *token, const char *user, const char *room, bool join,
                        bool is_host, bool observer, const char *display_name, long long exp_lo,
                        long long exp_hi, const char *kind)
{
	json_t *claims = NULL, *h = token_header(token),
	       *want_h = json_pack("{s:s,s:s}", "typ", "JWT", "alg", "HS256");
	enum vc_jwt_error e = vc_jwt_verify(token, (const uint8_t *)VCM_SECRET, strlen(VCM_SECRET),
	                                    VC_JWT_ISSUER, vcm_now(), &claims);
	long long exp;

	if (e != VC_JWT_OK)
		fail_msg("%s token of %s for %s does not verify: %s", kind, user, room,
		         vc_jwt_strerror(e));
	if (h == NULL || !json_equal(h, want_h))
		fail_msg("%s token header is not {\"typ\":\"JWT\",\"alg\":\"HS256\"}", kind);
	/* room tokens carry vcd's grants (doc/external.md); observer tokens none */
	vcm_shape(claims,
	          join ? "sub:s room:s room_join:b is_host:b display_name:s observer:b exp:i iss:s"
	                 " room_admin:b can_publish:b can_publish_sources:a ?room_role:s"
	                 " ?embed_provider:s"
	               : "sub:s room:s room_join:b is_host:b display_name:s observer:b exp:i iss:s",
	          kind);
	exp = (long long)vct_json_int(claims, "exp");
	if (strcmp(vct_json_str(claims, "sub"), user) != 0 ||
	    strcmp(vct_json_str(claims, "room"), room) != 0 ||
	    vct_json_bool(claims, "room_join") != join ||
	    vct_json_bool(claims, "is_host") != is_host ||
	    vct_json_bool(claims, "observer") != observer ||
	    strcmp(vct_json_str(claims, "display_name"), display_name) != 0 ||
	    strcmp(vct_json_str(claims, "iss"), VC_JWT_ISSUER) != 0 || exp < exp_lo ||
	    exp > exp_hi) {
		char *text = json_dumps(claims, JSON_COMPACT);
		fail_msg("%s token claims %s; expected sub '%s', room '%s', room_join %d, "
		         "is_host %d, observer %d, display_name '%s', exp in [%lld, %lld]",
		         kind, text, user, room, join, is_host, observer, display_name, exp_lo,
		         exp_hi);
	}
	json_decref(claims);
	json_decref(h);
	json_decref(want_h);
}

void vcm_room_token(const char *token, const char *user, const char *room, bool is_host,
                    const char *display_name, long long t0, long long t1)
{
	check_token(token, user, room, true, is_host, false, display_name, t0 + VCM_TOKEN_TTL,
	            t1 + VCM_TOKEN_TTL, "room");
}

void vcm_observer_token(const char *token, const char *user, const char *room,
                        const char *display_name, long long t0, long long t1)
{
	check_token(token, user, room, false, false, true, display_name, t0 + VCM_OBSERVER_TTL,
	            t1 + VCM_OBSERVER_TTL, "observer");
}

/* --- NATS ----------------------------------------------------------------- */

typedef struct sub_msg {
	uint8_t *data;
	size_t len;
	char *subject;
} sub_msg_t;

struct vcm_sub {
	natsConnection *nc;
	natsSubscription *sub;
	pthread_mutex_t mu;
	sub_msg_t *msgs;
	unsigned n, cap;
};

static void on_msg(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *arg)
{
	vcm_sub_t *s = arg;
	size_t len = (size_t)natsMsg_GetDataLength(msg);
	sub_msg_t m = { .data = malloc(len ? len : 1),
		        .len = len,
		        .subject = strdup(natsMsg_GetSubject(msg)) };

	memcpy(m.data, natsMsg_GetData(msg), len);
	pthread_mutex_lock(&s->mu);
	if (s->n == s->cap) {
		s->cap = s->cap * 2 + 64;
		s->msgs = realloc(s->msgs, s->cap * sizeof(*s->msgs));
	}
	s->msgs[s->n++] = m;
	pthread_mutex_unlock(&s->mu);
	natsMsg_Destroy(msg);
}

vcm_sub_t *vcm_sub_open(const char *subject)
{
	vcm_sub_t *s = calloc(1, sizeof(*s));
	const char *url = vct_env("VCT_NATS_URL");
	natsStatus st;

	pthread_mutex_init(&s->mu, NULL);
	st = natsConnection_ConnectTo(&s->nc, url);
	if (st != NATS_OK)
		fail_msg("the test's NATS connection to %s: %s", url, natsStatus_GetText(st));
	st = natsConnection_Subscribe(&s->sub, s->nc, subject, on_msg, s);
	if (st == NATS_OK)
		st = natsConnection_FlushTimeout(s->nc, 5000);
	if (st != NATS_OK)
		fail_msg("subscribing to %s on %s: %s", subject, url, natsStatus_GetText(st));
	return s;
}

void vcm_sub_close(vcm_sub_t *s)
{
	if (s == NULL)
		return;
	natsSubscription_Unsubscribe(s->sub);
	natsSubscription_Destroy(s->sub);
	natsConnection_Destroy(s->nc);
	for (unsigned i = 0; i < s->n; i++) {
		free(s->msgs[i].data);
		free(s->msgs[i].subject);
	}
	free(s->msgs);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

unsigned vcm_sub_count(vcm_sub_t *s)
{
	unsigned n;

	pthread_mutex_lock(&s->mu);
	n = s->n;
	pthread_mutex_unlock(&s->mu);
	return n;
}

unsigned vcm_sub_wait(vcm_sub_t *s, unsigned n, unsigned ms)
{
	uint64_t end = vct_now_ms() + ms;

	while (vcm_sub_count(s) < n && vct_now_ms() < end)
		vct_sleep_ms(5);
	return vcm_sub_count(s);
}

uint8_t *vcm_sub_msg(vcm_sub_t *s, unsigned i, size_t *len, char **subject)
{
	uint8_t *copy = NULL;

	pthread_mutex_lock(&s->mu);
	if (i < s->n) {
		*len = s->msgs[i].len;
		copy = malloc(*len ? *len : 1);
		memcpy(copy, s->msgs[i].data, *len);
		if (subject != NULL)
			*subject = strdup(s->msgs[i].subject);
	}
	pthread_mutex_unlock(&s->mu);
	return copy;
}

static char *hex(const uint8_t *b, size_t n)
{
	char *s = malloc(n * 3 + 1);

	s[0] = '\0';
	for (size_t i = 0; i < n; i++)
		sprintf(s + 3 * i, "%02x ", b[i]);
	return s;
}

static const char *event_name(int ev)
{
	static const char *const names[] = { "UNKNOWN",
		                             "MEETING_STARTED",
		                             "MEETING_ENDED",
		                             "PARTICIPANT_JOINED",
		                             "PARTICIPANT_LEFT",
		                             "MEETING_ACTIVATED",
		                             "PARTICIPANT_ADMITTED",
		                             "PARTICIPANT_REJECTED",
		                             "WAITING_ROOM_UPDATED" };

	return ev >= 0 && ev <= 8 ? names[ev] : "?";
}

void vcm_expect_event(vcm_sub_t *s, unsigned i, int event, const char *room, const char *target)
{
	vc_meeting_packet_t p = { .event_type = (enum vc_meeting_event)event,
		                  .room_id = room,
		                  .target_user_id = target };
	vc_buf_t want = { 0 };
	char subject[300], *got_subject = NULL;
	size_t len = 0;
	uint8_t *got;
	vcm_event_t e;

	if (vcm_sub_wait(s, i + 1, 5000) < i + 1)
		fail_msg("NATS: event #%u (%s for room %s) did not arrive within 5 s; %u arrived",
		         i, event_name(event), room, vcm_sub_count(s));
	got = vcm_sub_msg(s, i, &len, &got_subject);
	vc_system_event_encode(&p, &want);
	if (!vc_room_subject(room, subject, sizeof(subject)) || strcmp(got_subject, subject) != 0)
		fail_msg("NATS: event #%u came on '%s', expected '%s'", i, got_subject, subject);
	if (len != want.len || memcmp(got, want.data, len) != 0) {
		bool ok = vcm_decode_event(got, len, &e);
		fail_msg("NATS: event #%u is %s (%s, target '%s')\n  got:  %s\n  want: %s (%s for "
		         "%s, target '%s')",
		         i, ok ? event_name(e.event_type) : "undecodable", ok ? e.room_id : "",
		         ok ? e.target : "", hex(got, len), hex(want.data, want.len),
		         event_name(event), room, target ? target : "");
	}
	free(want.data);
	free(got);
	free(got_subject);
}

void vcm_expect_count(vcm_sub_t *s, unsigned n, unsigned quiet_ms)
{
	unsigned got = vcm_sub_wait(s, n, 5000);

	if (got == n) {
		vct_sleep_ms(quiet_ms);
		got = vcm_sub_count(s);
	}
	if (got != n) {
		vcm_event_t e;
		size_t len;
		uint8_t *last = vcm_sub_msg(s, got - 1, &len, NULL);
		bool ok = last && vcm_decode_event(last, len, &e);
		fail_msg("NATS: %u events arrived, expected exactly %u (the last: %s, room '%s', "
		         "target '%s')",
		         got, n, ok ? event_name(e.event_type) : "none", ok ? e.room_id : "",
		         ok ? e.target : "");
	}
}

/* One protobuf field: its number, wire type and value (varint, or bytes). */
typedef struct pb_field {
	unsigned num, wire;
	uint64_t v;
	const uint8_t *p;
	size_t len;
} pb_field_t;

static bool pb_varint(const uint8_t **b, const uint8_t *end, uint64_t *v)
{
	*v = 0;
	for (unsigned shift = 0; *b < end && shift < 64; shift += 7) {
		uint8_t c = *(*b)++;
		*v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			return true;
	}
	return false;
}

static bool pb_next(const uint8_t **b, const uint8_t *end, pb_field_t *f)
{
	uint64_t k;

	if (!pb_varint(b, end, &k))
		return false;
	f->num = (unsigned)(k >> 3);
	f->wire = (unsigned)(k & 7);
	if (f->wire == 0)
		return pb_varint(b, end, &f->v);
	if (f->wire != 2 || !pb_varint(b, end, &f->v) || f->v > (uint64_t)(end - *b))
		return false;
	f->p = *b;
	f->len = (size_t)f->v;
	*b += f->len;
	return true;
}

static void pb_str(const pb_field_t *f, char *out, size_t cap)
{
	size_t n = f->len < cap - 1 ? f->len : cap - 1;

	memcpy(out, f->p, n);
	out[n] = '\0';
}

bool vcm_decode_event(const uint8_t *b, size_t n, vcm_event_t *e)
{
	const uint8_t *end = b + n, *data = NULL, *dend = NULL;
	pb_field_t f;

	memset(e, 0, sizeof(*e));
	while (b < end) {
		if (!pb_next(&b, end, &f))
			return false;
		if (f.num == 1 && f.wire == 0)
			e->packet_type = (int)f.v;
		else if (f.num == 2 && f.wire == 2)
			pb_str(&f, e->user_id, sizeof(e->user_id));
		else if (f.num == 3 && f.wire == 2)
			data = f.p, dend = f.p + f.len;
	}
	if (data == NULL)
		return false;
	while (data < dend) {
		if (!pb_next(&data, dend, &f))
			return false;
		if (f.num == 1 && f.wire == 0)
			e->event_type = (int)f.v;
		else if (f.num == 2 && f.wire == 2)
			pb_str(&f, e->room_id, sizeof(e->room_id));
		else if (f.num == 7 && f.wire == 2)
			pb_str(&f, e->target, sizeof(e->target));
	}
	return true;
}

/* --- many callers at once ------------------------------------------------- */

typedef struct job_run {
	vcm_job_t *job;
	char *request;
	int port;
	pthread_barrier_t *go;
} job_run_t;

static int connect_retry(int port)
{
	uint64_t end = vct_now_ms() + JOB_CONNECT_MS;
	int fd;

	while ((fd = vct_tcp_connect(port)) < 0 && vct_now_ms() < end)
		vct_sleep_ms(10);
	return fd;
}

static void *job_thread(void *arg)
{
	job_run_t *run = arg;
	vct_conn_t c = { .fd = connect_retry(run->port) };
	vct_resp_t r;

	pthread_barrier_wait(run->go);
	if (c.fd < 0)
		return NULL;
	if (vct_conn_send(&c, run->request, strlen(run->request)) &&
	    vct_http_read(&c, &r, false, JOB_ANSWER_MS)) {
		run->job->status = r.status;
		run->job->json = json_loadb(r.body, r.body_len, JSON_DECODE_ANY, NULL);
		vct_resp_free(&r);
	}
	close(c.fd);
	free(c.buf);
	return NULL;
}

static char *job_request(const vcm_job_t *j, int port)
{
	char *jwt = vcm_session_jwt(j->user, 3600);
	char *req = vct_strf("%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n"
	                     "Cookie: session=%s\r\n%sContent-Length: %zu\r\n\r\n%s",
	                     j->method, j->path, port, jwt,
	                     j->body ? "Content-Type: application/json\r\n" : "",
	                     j->body ? strlen(j->body) : 0, j->body ? j->body : "");

	free(jwt);
	return req;
}

void vcm_run_jobs(vcm_job_t *jobs, unsigned n)
{
	job_run_t *runs = calloc(n, sizeof(*runs));
	pthread_t *th = calloc(n, sizeof(*th));
	pthread_barrier_t go;
	pthread_attr_t attr;
	unsigned started = 0;

	pthread_barrier_init(&go, NULL, n);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, JOB_STACK);
	for (unsigned i = 0; i < n; i++) {
		int port = jobs[i].port ? jobs[i].port : target_port;
		runs[i] = (job_run_t){ .job = &jobs[i], .port = port, .go = &go };
		runs[i].request = job_request(&jobs[i], port);
		jobs[i].status = 0;
		jobs[i].json = NULL;
	}
	for (; started < n; started++)
		if (pthread_create(&th[started], &attr, job_thread, &runs[started]) != 0)
			break;
	if (started < n) /* cannot happen in practice; never leave threads at the barrier */
		abort();
	for (unsigned i = 0; i < n; i++) {
		pthread_join(th[i], NULL);
		free(runs[i].request);
	}
	pthread_attr_destroy(&attr);
	pthread_barrier_destroy(&go);
	free(runs);
	free(th);
}

void vcm_jobs_free(vcm_job_t *jobs, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		json_decref(jobs[i].json);
		jobs[i].json = NULL;
	}
}
