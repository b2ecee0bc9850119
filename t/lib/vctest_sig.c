/*
 * vctest_sig.c — accounts, servers, /ws connections speaking JSON, config
 * spellings and vcd_signal metrics for the signaling tests (see
 * vctest_sig.h).
 *
 * Plain blocking code over vctest_ws's WebSocket client. Nothing here
 * shares code with vcd's wire/signal_msg.c: messages are built and read
 * with jansson as a Toju/MetoYou client would.
 */
#include "t/lib/vctest_sig.h"

#include <ctype.h>
#include <setjmp.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#define DESCRIBE_MAX 40 /* messages listed when a wait fails */
#define SHOW_MAX 300    /* bytes of one message shown */

static vcs_t *open_vcs;
static unsigned nusers; /* for unique usernames */
static unsigned nservers;

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (p == NULL) {
		fprintf(stderr, "vctest_sig: out of memory\n");
		abort();
	}
	return p;
}

static char *xstrdup(const char *s)
{
	return s != NULL ? vct_strf("%s", s) : NULL;
}

static char *vstrf(const char *fmt, va_list ap)
{
	char *s;

	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	return s;
}

static int left_ms(uint64_t deadline)
{
	uint64_t now = vct_now_ms();

	return now >= deadline ? 0 : (int)(deadline - now);
}

/* The compact text of j, which is stolen (malloc'd). */
static char *dump(json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);

	json_decref(j);
	return s;
}

/* --- accounts and servers --------------------------------------------------------- */

/* One request with a Bearer token (none when NULL): the answer in r. */
static int call(const vct_vcd_t *v, const char *method, const char *path, const char *token,
                const char *body, vct_resp_t *r)
{
	char *h = token != NULL ? vct_strf("Authorization: Bearer %s\r\n", token) : NULL;
	int st = vct_http(v->port, method, path, h, body, r);

	free(h);
	return st;
}

/* call() expecting `status` and a JSON body (returned; the caller decrefs). */
static json_t *call_json(const vct_vcd_t *v, const char *method, const char *path,
                         const char *token, const char *body, int status)
{
	vct_resp_t r;
	json_t *j;

	call(v, method, path, token, body, &r);
	if (r.status != status)
		fail_msg("%s %s on %s: HTTP %d '%s', expected %d", method, path, v->name, r.status,
		         r.body ? r.body : "", status);
	j = vct_resp_json(&r);
	vct_resp_free(&r);
	return j;
}

void vcs_register(const vct_vcd_t *v, vcs_user_t *u, const char *stem)
{
	unsigned n = ++nusers;
	char *display = vct_strf("%c%s Zoë %u", toupper((unsigned char)stem[0]), stem + 1, n);
	char *username = vct_strf("%s-%u", stem, n);
	char *body = dump(json_pack("{s:s,s:s,s:s}", "username", username, "password", VCS_PASSWORD,
	                            "displayName", display));
	json_t *j = call_json(v, "POST", "/api/users/register", NULL, body, 201);

	memset(u, 0, sizeof(*u));
	snprintf(u->id, sizeof(u->id), "%s", vct_json_str(j, "id"));
	snprintf(u->username, sizeof(u->username), "%s", username);
	snprintf(u->display, sizeof(u->display), "%s", display);
	snprintf(u->token, sizeof(u->token), "%s", vct_json_str(j, "token"));
	if (strcmp(vct_json_str(j, "displayName"), display) != 0)
		fail_msg("registered %s with displayName '%s', the answer says '%s'", username,
		         display, vct_json_str(j, "displayName"));
	json_decref(j);
	free(body);
	free(username);
	free(display);
}

void vcs_login(const vct_vcd_t *v, const vcs_user_t *u, char token[65])
{
	char *body =
	        dump(json_pack("{s:s,s:s}", "username", u->username, "password", VCS_PASSWORD));
	json_t *j = call_json(v, "POST", "/api/users/login", NULL, body, 200);

	snprintf(token, 65, "%s", vct_json_str(j, "token"));
	json_decref(j);
	free(body);
}

void vcs_logout(const vct_vcd_t *v, const char *token)
{
	json_decref(call_json(v, "POST", "/api/users/logout", token, NULL, 200));
}

long long vcs_session_id(const char *db_url, const char *token)
{
	uint8_t raw[32], hash[32];
	char sha[65], *val;
	size_t len = 0;
	long long id;

	if (sodium_hex2bin(raw, sizeof(raw), token, strlen(token), NULL, &len, NULL) != 0 ||
	    len != 32)
		fail_msg("'%s' is not a session token (64 hex digits)", token);
	crypto_hash_sha256(hash, raw, sizeof(raw));
	sodium_bin2hex(sha, sizeof(sha), hash, sizeof(hash));
	val = vct_db_valuef(db_url,
	                    "SELECT id FROM sessions WHERE token_hash = decode('%s', 'hex')", sha);
	if (val == NULL)
		fail_msg("no row in sessions for a token vcd handed out");
	id = strtoll(val, NULL, 10);
	free(val);
	return id;
}

void vcs_server_create(const vct_vcd_t *v, const vcs_user_t *owner, char id[37])
{
	char *body = vct_strf("{\"name\":\"signal server %u\"}", ++nservers);
	json_t *j = call_json(v, "POST", "/api/servers", owner->token, body, 201);

	snprintf(id, 37, "%s", vct_json_str(j, "id"));
	json_decref(j);
	free(body);
}

void vcs_server_join(const vct_vcd_t *v, const char *server_id, const vcs_user_t *u)
{
	char *path = vct_strf("/api/servers/%s/join", server_id);
	json_t *j = call_json(v, "POST", path, u->token, NULL, 200);

	if (strcmp(vct_json_str(j, "status"), "member") != 0)
		fail_msg("POST %s as %s: status '%s', expected member", path, u->username,
		         vct_json_str(j, "status"));
	json_decref(j);
	free(path);
}

/* --- configuration ------------------------------------------------------------------ */

char *vcs_conf(const char *key, const char *const *values)
{
	char *last = NULL;

	for (unsigned i = 0; values[i] != NULL; i++) {
		char *arg = vct_strf("--%s=%s", key, values[i]);
		vct_cmd_t r;

		vct_runl(&r, NULL, vct_env("VCD"), "--check-config",
		         "--database_url=postgresql:///vct_check", arg, (char *)NULL);
		free(arg);
		if (r.status == 0) {
			vct_cmd_free(&r);
			free(last);
			return vct_strf("%s = %s\n", key, values[i]);
		}
		if (strstr(r.err, "unknown key") != NULL)
			fail_msg("vcd does not know the configuration key '%s' (not in vcd "
			         "--list-keys): this build has no /ws signaling limits (%s)",
			         key, r.err);
		free(last);
		last = xstrdup(r.err);
		vct_cmd_free(&r);
	}
	fail_msg("vcd refuses every value tried for %s (the last said: %s)", key,
	         last ? last : "nothing");
	return NULL;
}

/* --- connections ---------------------------------------------------------------------- */

static vcs_t *vcs_new(vct_ws_t *ws, const char *name)
{
	vcs_t *s = xrealloc(NULL, sizeof(*s));

	memset(s, 0, sizeof(*s));
	s->ws = ws;
	s->name = xstrdup(name);
	ws->auto_pong = true; /* as a browser does: vcd pings every ws_ping_interval */
	s->next = open_vcs;
	open_vcs = s;
	return s;
}

vcs_t *vcs_connect(const vct_vcd_t *v, const char *name)
{
	char *label = vct_strf("%s on %s", name, v->name);
	vct_ws_t *ws = vct_ws_open(v->port, "/ws", NULL, label);
	vcs_t *s = vcs_new(ws, label);

	free(label);
	return s;
}

char *vcs_identify_text(const vcs_user_t *u, const vcs_ident_t *o, int port)
{
	vcs_ident_t none = { 0 };
	json_t *j = json_pack("{s:s}", "type", "identify");
	char *scope;

	if (o == NULL)
		o = &none;
	json_object_set_new(j, "token", json_string(o->token ? o->token : u->token));
	if (o->oder_id == NULL || strcmp(o->oder_id, "-") != 0)
		json_object_set_new(j, "oderId", json_string(o->oder_id ? o->oder_id : u->id));
	if (o->display == NULL || strcmp(o->display, "-") != 0)
		json_object_set_new(j, "displayName",
		                    json_string(o->display ? o->display : u->display));
	if (o->scope == NULL || strcmp(o->scope, "-") != 0) {
		scope = o->scope ? xstrdup(o->scope) : vct_strf("ws://127.0.0.1:%d", port);
		json_object_set_new(j, "connectionScope", json_string(scope));
		free(scope);
	}
	if (o->cid != NULL)
		json_object_set_new(j, "clientInstanceId", json_string(o->cid));
	if (o->has_last)
		json_object_set_new(j, "lastSyncSeq", json_integer(o->last_sync_seq));
	return dump(j);
}

/* Make room for the parse cache of every inbox message. */
static void cache_grow(vcs_t *s)
{
	unsigned n = s->ws->n;

	if (n <= s->cap)
		return;
	s->parsed = xrealloc(s->parsed, n * 2 * sizeof(*s->parsed));
	s->taken = xrealloc(s->taken, n * 2 * sizeof(*s->taken));
	memset(s->parsed + s->cap, 0, (n * 2 - s->cap) * sizeof(*s->parsed));
	memset(s->taken + s->cap, 0, (n * 2 - s->cap) * sizeof(*s->taken));
	s->cap = n * 2;
}

/* Message i parsed, or NULL when it is not a JSON object with a string type. */
static const json_t *parsed(vcs_t *s, unsigned i)
{
	const vct_ws_msg_t *m;

	cache_grow(s);
	if (i >= s->ws->n)
		return NULL;
	if (s->parsed[i] == NULL) {
		m = &s->ws->inbox[i];
		if (m->opcode != VCT_WS_TEXT)
			return NULL;
		s->parsed[i] = json_loadb((const char *)m->data, m->len, 0, NULL);
	}
	if (!json_is_object(s->parsed[i]) || !json_is_string(json_object_get(s->parsed[i], "type")))
		return NULL;
	return s->parsed[i];
}

/* One line for message i (malloc'd). */
static char *describe(const vcs_t *s, unsigned i)
{
	const vct_ws_msg_t *m = &s->ws->inbox[i];

	if (m->opcode != VCT_WS_TEXT)
		return vct_strf("#%u a binary message of %zu bytes", i, m->len);
	return vct_strf("#%u %.*s%s", i, m->len > SHOW_MAX ? SHOW_MAX : (int)m->len,
	                (const char *)m->data, m->len > SHOW_MAX ? "…" : "");
}

static void list_range(const vcs_t *s, unsigned from, unsigned to)
{
	if (to > s->ws->n)
		to = s->ws->n;
	fprintf(stderr, "%s: received #%u..#%u:%s\n", s->name, from, to,
	        from >= to ? " (nothing)" : "");
	for (unsigned i = from; i < to && i < from + DESCRIBE_MAX; i++) {
		char *d = describe(s, i);
		fprintf(stderr, "    %s%s\n",
		        s->taken != NULL && i < s->cap && s->taken[i] ? "(taken) " : "", d);
		free(d);
	}
	if (to > from + DESCRIBE_MAX)
		fprintf(stderr, "    … and %u more\n", to - from - DESCRIBE_MAX);
	fflush(stderr);
}

void vcs_dump(vcs_t *s)
{
	cache_grow(s);
	list_range(s, 0, s->ws->n);
}

/* Why a wait ended badly, for failure messages. */
static const char *end_state(const vcs_t *s, char *buf, size_t len)
{
	if (s->ws->close_seen)
		snprintf(buf, len, "vcd closed the WebSocket with %d '%s'", s->ws->close_code,
		         s->ws->close_reason);
	else if (s->ws->eof)
		snprintf(buf, len, "the connection ended without a close frame");
	else
		snprintf(buf, len, "it did not come");
	return buf;
}

void vcs_send(vcs_t *s, const char *fmt, ...)
{
	va_list ap;
	char *text;

	va_start(ap, fmt);
	text = vstrf(fmt, ap);
	va_end(ap);
	if (!vct_ws_send_text(s->ws, text, strlen(text)))
		fail_msg("%s: cannot send %.200s: the connection is gone", s->name, text);
	free(text);
}

void vcs_sendj(vcs_t *s, json_t *j)
{
	char *text = dump(j);

	vcs_send(s, "%s", text);
	free(text);
}

void vcs_send_batch(vcs_t *s, const char *const *texts, unsigned n)
{
	vct_buf_t b = { 0 };
	bool ok;

	for (unsigned i = 0; i < n; i++)
		vct_ws_frame_bytes(&b, &(vct_ws_out_t){ .opcode = VCT_WS_TEXT,
		                                        .data = texts[i],
		                                        .len = strlen(texts[i]) });
	ok = vct_ws_send_raw(s->ws, b.p, b.len, 0);
	vct_buf_free(&b);
	if (!ok)
		fail_msg("%s: cannot send a batch of %u messages: the connection is gone", s->name,
		         n);
}

unsigned vcs_n(const vcs_t *s)
{
	return s->ws->n;
}

void vcs_pump(vcs_t *s, unsigned ms)
{
	uint64_t deadline = vct_now_ms() + ms;

	while (vct_ws_pump(s->ws, (unsigned)left_ms(deadline)) == 1 && left_ms(deadline) > 0)
		;
	cache_grow(s);
}

const json_t *vcs_msg(vcs_t *s, unsigned i)
{
	const json_t *j;

	if (i >= s->ws->n)
		fail_msg("%s: no message #%u (%u received)", s->name, i, s->ws->n);
	j = parsed(s, i);
	if (j == NULL) {
		char *d = describe(s, i);
		fail_msg("%s: message %s is not a JSON object with a string \"type\"", s->name, d);
	}
	return j;
}

const char *vcs_type(vcs_t *s, unsigned i)
{
	const json_t *j;

	if (i >= s->ws->n)
		return "(none)";
	j = parsed(s, i);
	return j != NULL ? json_string_value(json_object_get(j, "type")) : "(not JSON)";
}

static const json_t *member(vcs_t *s, unsigned i, const char *key)
{
	const json_t *j = vcs_msg(s, i), *v = json_object_get(j, key);

	if (v == NULL) {
		char *d = describe(s, i);
		fail_msg("%s: message %s has no member \"%s\"", s->name, d, key);
	}
	return v;
}

const char *vcs_str(vcs_t *s, unsigned i, const char *key)
{
	const json_t *v = member(s, i, key);

	if (!json_is_string(v)) {
		char *d = describe(s, i);
		fail_msg("%s: member \"%s\" of message %s is not a string", s->name, key, d);
	}
	return json_string_value(v);
}

long long vcs_int(vcs_t *s, unsigned i, const char *key)
{
	const json_t *v = member(s, i, key);

	if (!json_is_integer(v)) {
		char *d = describe(s, i);
		fail_msg("%s: member \"%s\" of message %s is not an integer", s->name, key, d);
	}
	return (long long)json_integer_value(v);
}

bool vcs_matches(vcs_t *s, unsigned i, const char *type, const json_t *match)
{
	const json_t *j = parsed(s, i), *want;
	const char *k;

	if (j == NULL)
		return false;
	if (type != NULL && strcmp(json_string_value(json_object_get(j, "type")), type) != 0)
		return false;
	json_object_foreach((json_t *)match, k, want)
	{
		const json_t *got = json_object_get(j, k);
		if (got == NULL || !json_equal((json_t *)got, (json_t *)want))
			return false;
	}
	return true;
}

/* The object of a match format, or NULL for none (the caller decrefs). */
static json_t *match_of(const char *fmt, va_list ap)
{
	json_error_t err;
	char *text;
	json_t *m;

	if (fmt == NULL)
		return NULL;
	text = vstrf(fmt, ap);
	m = json_loads(text, 0, &err);
	if (!json_is_object(m))
		fail_msg("a match in the test is not a JSON object (%s): %s", err.text, text);
	free(text);
	return m;
}

/* A short text for the failure message: type and match. */
static char *wanted(const char *type, const json_t *m)
{
	char *mt = m != NULL ? json_dumps(m, JSON_COMPACT) : NULL;
	char *w = vct_strf("%s%s%s", type ? type : "any message", mt ? " with " : "", mt ? mt : "");

	free(mt);
	return w;
}

static unsigned take(vcs_t *s, unsigned from, unsigned ms, const char *what, const char *type,
                     const json_t *m)
{
	uint64_t deadline = vct_now_ms() + ms;
	unsigned i = from;
	char why[200];

	for (;;) {
		cache_grow(s);
		for (; i < s->ws->n; i++) {
			if (!s->taken[i] && vcs_matches(s, i, type, m)) {
				s->taken[i] = true;
				return i;
			}
		}
		if (s->ws->close_seen || s->ws->eof || left_ms(deadline) == 0) {
			char *w = wanted(type, m);
			/* cmocka cuts long messages: the list goes to stderr first */
			list_range(s, from, s->ws->n);
			fail_msg("%s: awaited %s (%s) for %u ms: %s (the %u messages since #%u are "
			         "listed above)",
			         s->name, what, w, ms, end_state(s, why, sizeof(why)),
			         s->ws->n > from ? s->ws->n - from : 0, from);
		}
		vct_ws_pump(s->ws, (unsigned)left_ms(deadline));
	}
}

unsigned vcs_take(vcs_t *s, const char *what, const char *type, const char *match_fmt, ...)
{
	va_list ap;
	json_t *m;
	unsigned i;

	va_start(ap, match_fmt);
	m = match_of(match_fmt, ap);
	va_end(ap);
	i = take(s, 0, VCS_MS, what, type, m);
	json_decref(m);
	return i;
}

unsigned vcs_take_from(vcs_t *s, unsigned from, unsigned ms, const char *what, const char *type,
                       const char *match_fmt, ...)
{
	va_list ap;
	json_t *m;
	unsigned i;

	va_start(ap, match_fmt);
	m = match_of(match_fmt, ap);
	va_end(ap);
	i = take(s, from, ms, what, type, m);
	json_decref(m);
	return i;
}

unsigned vcs_count(vcs_t *s, unsigned from, unsigned to, const char *type, const char *match_fmt,
                   ...)
{
	va_list ap;
	json_t *m;
	unsigned n = 0;

	va_start(ap, match_fmt);
	m = match_of(match_fmt, ap);
	va_end(ap);
	for (unsigned i = from; i < to && i < s->ws->n; i++)
		n += vcs_matches(s, i, type, m);
	json_decref(m);
	return n;
}

void vcs_expect_none(vcs_t *s, unsigned from, unsigned to, const char *what, const char *type,
                     const char *match_fmt, ...)
{
	va_list ap;
	json_t *m;

	va_start(ap, match_fmt);
	m = match_of(match_fmt, ap);
	va_end(ap);
	for (unsigned i = from; i < to && i < s->ws->n; i++) {
		if (vcs_matches(s, i, type, m)) {
			char *d = describe(s, i);
			list_range(s, from, to);
			fail_msg("%s: received %s, which must not come (%s; #%u..#%u listed above)",
			         s->name, d, what, from, to);
		}
	}
	json_decref(m);
}

void vcs_expect_relayed(vcs_t *s, unsigned i, const char *sent, const char *from, const char *what)
{
	json_error_t err;
	json_t *want = json_loads(sent, 0, &err), *got = json_deep_copy(vcs_msg(s, i));
	const json_t *f = json_object_get(got, "fromUserId");

	if (want == NULL)
		fail_msg("the sent message in the test is not JSON (%s): %s", err.text, sent);
	if (!json_is_string(f) || strcmp(json_string_value(f), from) != 0) {
		char *d = describe(s, i);
		fail_msg("%s: %s: message %s has fromUserId %s, expected \"%s\"", s->name, what, d,
		         f ? json_dumps(f, JSON_ENCODE_ANY) : "(none)", from);
	}
	json_object_del(want, "fromUserId"); /* a client's own fromUserId is overwritten */
	json_object_del(got, "fromUserId");
	if (!json_equal(want, got)) {
		char *d = describe(s, i);
		fail_msg("%s: %s: message %s is not what was sent plus fromUserId: sent %s",
		         s->name, what, d, sent);
	}
	json_decref(want);
	json_decref(got);
}

unsigned vcs_sync(vcs_t *s)
{
	unsigned from = s->ws->n;

	vcs_send(s, "{\"type\":\"ping\"}");
	return take(s, from, VCS_MS, "the pong to a ping (everything sent before is handled)",
	            "pong", NULL);
}

void vcs_expect_close(vcs_t *s, int code, unsigned ms, const char *what)
{
	vct_ws_expect_close(s->ws, code, NULL, ms, what);
	cache_grow(s);
}

static void vcs_destroy(vcs_t *s)
{
	for (vcs_t **pp = &open_vcs; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
	for (unsigned i = 0; i < s->cap; i++)
		json_decref(s->parsed[i]);
	free(s->parsed);
	free(s->taken);
	vct_ws_free(s->ws);
	free(s->name);
	free(s->scope);
	free(s->cid);
	free(s->connection_id);
	free(s);
}

void vcs_free(vcs_t *s)
{
	if (s != NULL)
		vcs_destroy(s);
}

void vcs_close(vcs_t *s)
{
	char *what = vct_strf("the answer to %s's close 1000", s->name);

	if (!vct_ws_send_close(s->ws, 1000, "bye", 3))
		fail_msg("%s: cannot send a close frame: the connection is gone", s->name);
	vct_ws_expect_close(s->ws, 1000, NULL, VCS_MS, what);
	free(what);
	vcs_destroy(s);
}

void vcs_close_all(void)
{
	while (open_vcs != NULL)
		vcs_destroy(open_vcs);
}

int vcs_teardown(void **state)
{
	vcs_close_all();
	vct_ws_close_all();
	return vct_teardown(state);
}

/* --- identify ----------------------------------------------------------------------------- */

void vcs_identify(vcs_t *s, const vct_vcd_t *v, const vcs_user_t *u, const vcs_ident_t *o)
{
	char *text = vcs_identify_text(u, o, v->port), *d;
	unsigned from = s->ws->n, i;
	const json_t *j, *cid;
	const char *type, *want_display;
	char why[200];
	uint64_t deadline = vct_now_ms() + VCS_MS;

	vcs_send(s, "%s", text);
	free(text);
	/* The answer is the next message: identified, or a refusal. */
	for (i = from;; i++) {
		while (s->ws->n <= i) {
			if (s->ws->close_seen || s->ws->eof || left_ms(deadline) == 0)
				fail_msg("%s: awaited identified (identify as %s) for %d ms: %s",
				         s->name, u->username, VCS_MS,
				         end_state(s, why, sizeof(why)));
			vct_ws_pump(s->ws, (unsigned)left_ms(deadline));
		}
		cache_grow(s);
		type = vcs_type(s, i);
		if (strcmp(type, "identified") == 0)
			break;
		if (strcmp(type, "pong") != 0) { /* a pong of a ping sent before may come first */
			d = describe(s, i);
			fail_msg("%s: identify as %s (%s) answered %s, expected identified",
			         s->name, u->username, u->id, d);
		}
	}
	s->taken[i] = true;
	j = vcs_msg(s, i);
	if (strcmp(vcs_str(s, i, "oderId"), u->id) != 0)
		fail_msg("%s: identified.oderId is '%s', expected the user's id %s", s->name,
		         vcs_str(s, i, "oderId"), u->id);
	want_display = o != NULL && o->display != NULL && strcmp(o->display, "-") != 0 ? o->display
	                                                                               : u->display;
	if (strcmp(vcs_str(s, i, "displayName"), want_display) != 0)
		fail_msg("%s: identified.displayName is '%s', expected '%s'", s->name,
		         vcs_str(s, i, "displayName"), want_display);
	cid = json_object_get(j, "connectionId");
	if (json_is_string(cid) && json_string_length(cid) > 0)
		s->connection_id = xstrdup(json_string_value(cid));
	else if (json_is_integer(cid))
		s->connection_id = vct_strf("%lld", (long long)json_integer_value(cid));
	else
		fail_msg(
		        "%s: identified has no connectionId (a non-empty string or an integer): %s",
		        s->name, (d = describe(s, i)));
	s->sync_seq = vcs_int(s, i, "syncSeq");
	if (s->sync_seq < 0)
		fail_msg("%s: identified.syncSeq is %lld", s->name, s->sync_seq);
	snprintf(s->user_id, sizeof(s->user_id), "%s", u->id);
	free(s->scope);
	free(s->cid);
	s->scope = o != NULL && o->scope != NULL
	                   ? (strcmp(o->scope, "-") == 0 ? NULL : xstrdup(o->scope))
	                   : vct_strf("ws://127.0.0.1:%d", v->port);
	s->cid = o != NULL ? xstrdup(o->cid) : NULL;
}

vcs_t *vcs_open_x(const vct_vcd_t *v, const vcs_user_t *u, const vcs_ident_t *o, const char *name)
{
	vcs_t *s = vcs_connect(v, name);

	vcs_identify(s, v, u, o);
	return s;
}

vcs_t *vcs_open(const vct_vcd_t *v, const vcs_user_t *u, const char *cid, const char *name)
{
	vcs_ident_t o = { .cid = cid };

	return vcs_open_x(v, u, &o, name);
}

/* --- metrics ---------------------------------------------------------------------------------- */

void vcs_metrics_read(const vct_vcd_t *v, vcs_metrics_t *m)
{
	vct_resp_t r;

	memset(m, 0, sizeof(*m));
	if (vct_http(v->port, "GET", "/metrics", NULL, NULL, &r) != 200)
		fail_msg("GET /metrics on %s answered %d", v->name, r.status);
	for (const char *l = r.body; *l != '\0';) {
		size_t n = strcspn(l, "\n");
		const char *sp = memrchr(l, ' ', n);
		if (strncmp(l, "vcd_signal", 10) == 0 && sp != NULL) {
			m->names = xrealloc(m->names, (m->n + 1) * sizeof(*m->names));
			m->values = xrealloc(m->values, (m->n + 1) * sizeof(*m->values));
			m->names[m->n] = strndup(l, (size_t)(sp - l));
			m->values[m->n] = strtod(sp + 1, NULL);
			m->n++;
		}
		l += n;
		l += *l == '\n';
	}
	vct_resp_free(&r);
}

void vcs_metrics_free(vcs_metrics_t *m)
{
	for (unsigned i = 0; i < m->n; i++)
		free(m->names[i]);
	free(m->names);
	free(m->values);
	memset(m, 0, sizeof(*m));
}

static double metric_in(const vcs_metrics_t *m, const char *name)
{
	for (unsigned i = 0; i < m->n; i++)
		if (strcmp(m->names[i], name) == 0)
			return m->values[i];
	return 0;
}

/* Does name contain one of the '|'-separated words (case-insensitive)? */
static bool has_word(const char *name, const char *words)
{
	for (const char *w = words; *w != '\0';) {
		size_t n = strcspn(w, "|");
		for (const char *p = name; *p != '\0'; p++)
			if (strncasecmp(p, w, n) == 0)
				return true;
		w += n;
		w += *w == '|';
	}
	return false;
}

static void metrics_print(const char *label, const vcs_metrics_t *m)
{
	fprintf(stderr, "vcd_signal* samples %s:%s\n", label, m->n == 0 ? " (none)" : "");
	for (unsigned i = 0; i < m->n; i++)
		fprintf(stderr, "    %s %g\n", m->names[i], m->values[i]);
	fflush(stderr);
}

void vcs_expect_metric_rise(const vct_vcd_t *v, const vcs_metrics_t *before, const char *words,
                            double k, const char *what)
{
	uint64_t deadline = vct_now_ms() + VCS_MS;
	vcs_metrics_t now;

	for (;;) {
		vcs_metrics_read(v, &now);
		for (unsigned i = 0; i < now.n; i++) {
			if (has_word(now.names[i], words) &&
			    now.values[i] - metric_in(before, now.names[i]) >= k) {
				vcs_metrics_free(&now);
				return;
			}
		}
		if (left_ms(deadline) == 0)
			break;
		vcs_metrics_free(&now);
		vct_sleep_ms(50);
	}
	metrics_print("before", before);
	metrics_print("after", &now);
	fail_msg("%s: no vcd_signal* sample of /metrics whose name has one of '%s' rose by %g "
	         "within %d ms (%s; samples listed above)",
	         v->name, words, k, VCS_MS, what);
}

/* --- shared by the signaling tests ---------------------------------------------------- */

void vcs_db_expect(const char *db_url, const char *want, const char *fmt, ...)
{
	va_list ap;
	char *sql, *got;

	va_start(ap, fmt);
	if (vasprintf(&sql, fmt, ap) < 0)
		abort();
	va_end(ap);
	got = vct_db_value(db_url, sql);
	if (want == NULL ? got != NULL : got == NULL || strcmp(got, want) != 0)
		fail_msg("%s\n  gave %s, expected %s", sql, got ? got : "no row",
		         want ? want : "no row");
	free(got);
	free(sql);
}

char *vcs_mk(const char *type, const char *members, ...)
{
	va_list ap;
	char *rest, *text;

	va_start(ap, members);
	if (vasprintf(&rest, members, ap) < 0)
		abort();
	va_end(ap);
	text = vct_strf("{\"type\":\"%s\"%s%s}", type, *rest ? "," : "", rest);
	free(rest);
	return text;
}

char *vcs_send_mk(vcs_t *s, char *text)
{
	vcs_send(s, "%s", text);
	return text;
}

void vcs_drain_to(vcs_t *s, unsigned n, unsigned ms, const char *what)
{
	uint64_t deadline = vct_now_ms() + ms;

	while (vcs_n(s) < n) {
		if (s->ws->close_seen || s->ws->eof || vct_now_ms() > deadline)
			fail_msg("%s: %u of the %u messages awaited (%s) within %u ms", s->name,
			         vcs_n(s), n, what, ms);
		vcs_pump(s, 100);
	}
}

unsigned vcs_got_tag(vcs_t *s, const char *type, const char *tag, const char *what)
{
	return vcs_take(s, what, type, "{\"tag\":\"%s\"}", tag);
}

unsigned vcs_got_relayed(vcs_t *s, const char *type, const char *tag, const char *sent,
                         const char *from)
{
	char *what = vct_strf("%s '%s' relayed from %s", type, tag, from);
	unsigned i = vcs_got_tag(s, type, tag, what);

	vcs_expect_relayed(s, i, sent, from, what);
	free(what);
	return i;
}

unsigned vcs_join(vcs_t *s, const char *server)
{
	char *what = vct_strf("server_users answering join_server %s", server);
	unsigned i;

	vcs_send(s, "{\"type\":\"join_server\",\"serverId\":\"%s\"}", server);
	i = vcs_take(s, what, "server_users", "{\"serverId\":\"%s\"}", server);
	free(what);
	return i;
}

void vcs_leave(vcs_t *s, const char *server)
{
	vcs_send(s, "{\"type\":\"leave_server\",\"serverId\":\"%s\"}", server);
	vcs_sync(s);
}

long long vcs_sync_send(vcs_t *s, const char *payload)
{
	unsigned from = vcs_n(s), i;

	vcs_send(s, "{\"type\":\"account_sync\",\"clientInstanceId\":\"%s\",\"payload\":%s}",
	         s->cid ? s->cid : "", payload);
	i = vcs_take_from(s, from, VCS_MS, "account_sync_ack {seq} of its account_sync",
	                  "account_sync_ack", NULL);
	return vcs_int(s, i, "seq");
}
