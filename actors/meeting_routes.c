/*
 * meeting_routes.c — /api/v1/meetings…: from an authenticated request to a
 * command for the meeting actors, and from their reply to the answer.
 *
 * One table row per command says what the request carries: a {meeting_id}
 * in the path, a JSON body (required, or optional as /join's), the members
 * that body may hold, a check that runs before the actor is asked, and the
 * shape of the answer. The checks follow videocall-rs-contract.md §2.2:
 * the route's flags already answered 401; then the path, the query string
 * (400), the body's Content-Type (415), its syntax (400) and its shape
 * (422), all as plain text like the reference's framework; then the
 * checks of the handler itself (INVALID_MEETING_ID, TOO_MANY_ATTENDEES) in
 * the envelope, and vcd's refusal of the reserved system user id on the
 * routes that would make it an owner or a participant or give it a room
 * token (403 RESERVED_USER_ID). Everything else — 404, 403, 409, the state machines — is
 * the actor's to decide (actors/meetings.c).
 *
 * Those checks are vc_meeting_routes_parse: pure, from the request's parts
 * to a command or a refusal, so that they can be fuzzed and tested without
 * a server (t/fuzz/fuzz_meetings.c, t/unit/test_meeting_routes.c).
 */
#include "actors/meeting_routes.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "actors/accounts.h"
#include "actors/auth.h"
#include "actors/meeting_json.h"
#include "actors/meetings.h"
#include "actors/room_config.h"
#include "actors/room_tokens.h"
#include "runtime/log.h"
#include "wire/proto.h"
#include "wire/urlenc.h"

#define TEXT "text/plain; charset=utf-8"
#define LIST_LIMIT_DEFAULT 20
#define LIST_LIMIT_MAX 100

/* What the answer needs from the request; the request's data once the
 * command is sent. */
typedef struct mreq {
	enum vc_meeting_cmd cmd;
	char *room_id;     /* percent-decoded path, or the create body's meeting_id */
	char *target;      /* admit, reject, kick: the body's user_id */
	json_t *attendees; /* create: the array as sent, echoed in the answer */
	int64_t limit, offset;
} mreq_t;

static void mreq_free(void *p)
{
	mreq_t *m = p;

	if (m == NULL)
		return;
	free(m->room_id);
	free(m->target);
	json_decref(m->attendees);
	free(m);
}

/* A member that null sets (to NULL) and absence leaves alone. */
typedef struct nullable {
	bool set;
	const char *v;
} nullable_t;

/* The members of a request body, borrowed from the parsed JSON. */
typedef struct fields {
	const char *meeting_id, *password, *display_name, *user_id, *admission;
	int waiting_room; /* -1 when absent */
	json_t *attendees;
	nullable_t access_level, embed_provider; /* vcd (doc/external.md) */
	json_t *configuration;                   /* vcd: a checked object, or JSON null */
} fields_t;

enum mtype { M_STRING, M_BOOL, M_ADMISSION, M_STRINGS, M_LEVEL, M_CONFIG, M_EMBED };
enum presence {
	OPTIONAL, /* absent or null: not given */
	NOT_NULL, /* may be absent, but not null (a list with a default) */
	REQUIRED,
	NULLABLE, /* absent: not given; null: given as null (M_LEVEL, M_CONFIG, M_EMBED) */
};

typedef struct member {
	const char *key;
	enum mtype type;
	enum presence presence;
	size_t off; /* into fields_t */
} member_t;

#define F(name) offsetof(fields_t, name)

/* A request while it is checked: what has been read so far. */
typedef struct parse {
	const vc_meeting_req_t *rq;
	vc_meeting_refusal_t *rf;
	char *room_id;         /* the decoded path, or the create body's meeting_id */
	int64_t limit, offset; /* list */
	json_t *body;          /* the parsed body, which f borrows from */
	fields_t f;
} parse_t;

/* clang-format off */
static const member_t create_members[] = {
	{ "meeting_id",           M_STRING,    OPTIONAL, F(meeting_id) },
	{ "attendees",            M_STRINGS,   NOT_NULL, F(attendees) },
	{ "password",             M_STRING,    OPTIONAL, F(password) },
	{ "waiting_room_enabled", M_BOOL,      OPTIONAL, F(waiting_room) },
	{ "admission",            M_ADMISSION, OPTIONAL, F(admission) },
	{ "access_level",         M_LEVEL,     NULLABLE, F(access_level) },
	{ "configuration",        M_CONFIG,    NULLABLE, F(configuration) },
	{ "embed_provider",       M_EMBED,     NULLABLE, F(embed_provider) },
	{ NULL, 0, 0, 0 },
};
static const member_t update_members[] = {
	{ "waiting_room_enabled", M_BOOL,      OPTIONAL, F(waiting_room) },
	{ "admission",            M_ADMISSION, OPTIONAL, F(admission) },
	{ "access_level",         M_LEVEL,     NULLABLE, F(access_level) },
	{ "configuration",        M_CONFIG,    NULLABLE, F(configuration) },
	{ "embed_provider",       M_EMBED,     NULLABLE, F(embed_provider) },
	{ NULL, 0, 0, 0 },
};
static const member_t join_members[] = {
	{ "display_name",         M_STRING,    OPTIONAL, F(display_name) },
	{ "password",             M_STRING,    OPTIONAL, F(password) },
	{ NULL, 0, 0, 0 },
};
static const member_t target_members[] = {
	{ "user_id",              M_STRING,    REQUIRED, F(user_id) },
	{ NULL, 0, 0, 0 },
};
/* clang-format on */

/* --- refusals ------------------------------------------------------------- */

/* A plain-text refusal (truncated to the buffer); always false. */
static bool VC_PRINTF(3, 4) plain(vc_meeting_refusal_t *rf, int status, const char *fmt, ...)
{
	va_list ap;

	rf->status = status;
	rf->code[0] = '\0';
	rf->envelope = NULL;
	va_start(ap, fmt);
	if (vsnprintf(rf->message, sizeof(rf->message), fmt, ap) < 0)
		rf->message[0] = '\0';
	va_end(ap);
	return false;
}

/* A refusal in the envelope of actors/meeting_json.h (stolen), its code
 * and message copied out of it; always false. */
static bool enveloped(vc_meeting_refusal_t *rf, int status, json_t *envelope)
{
	const char *code = "", *message = "";

	json_unpack(envelope, "{s:{s:s,s:s}}", "result", "code", &code, "message", &message);
	rf->status = status;
	snprintf(rf->code, sizeof(rf->code), "%s", code);
	snprintf(rf->message, sizeof(rf->message), "%s", message);
	rf->envelope = envelope;
	return false;
}

#define UNPROCESSABLE "Failed to deserialize the JSON body into the target type: "

/* --- the path and the query string ---------------------------------------- */

/* The {meeting_id} of the path, decoded; false when refused (400). */
static bool read_path(parse_t *p)
{
	const char *raw = p->rq->meeting_id;
	size_t len;
	char *id =
	        vc_pct_decode(raw != NULL ? raw : "", raw != NULL ? strlen(raw) : 0, false, &len);
	json_t *probe = memchr(id, '\0', len) == NULL ? json_stringn(id, len) : NULL;

	if (probe == NULL) { /* jansson checks UTF-8 */
		free(id);
		return plain(p->rf, 400,
		             "Invalid URL: the meeting id must decode to UTF-8 text without NUL");
	}
	json_decref(probe);
	p->room_id = id;
	return true;
}

/* A number as Rust's i64::from_str reads it: NULL, or why not. */
static const char *parse_i64(const char *s, int64_t *out)
{
	const char *p = s + (*s == '+' || *s == '-');
	long long v;

	if (*s == '\0')
		return "cannot parse integer from empty string";
	if (*p == '\0' || strspn(p, "0123456789") != strlen(p))
		return "invalid digit found in string";
	errno = 0;
	v = strtoll(s, NULL, 10);
	if (errno == ERANGE)
		return *s == '-' ? "number too small to fit in target type"
		                 : "number too large to fit in target type";
	*out = v;
	return NULL;
}

/* One key=value of the list's query string; false when refused (400). */
static bool query_pair(parse_t *p, const char *q, size_t n, bool seen[2])
{
	static const char *const keys[2] = { "limit", "offset" };
	const char *eq = memchr(q, '=', n);
	size_t kl = eq != NULL ? (size_t)(eq - q) : n, vl;
	char *key = vc_pct_decode(q, kl, true, &vl);
	char *val = eq != NULL ? vc_pct_decode(eq + 1, n - kl - 1, true, &vl) : vc_strdup("");
	int64_t *dst[2] = { &p->limit, &p->offset };
	const char *why;
	bool ok = true;
	int k;

	for (k = 0; k < 2 && strcmp(key, keys[k]) != 0; k++)
		;
	if (k < 2 && seen[k])
		ok = plain(p->rf, 400, "Failed to deserialize query string: duplicate field `%s`",
		           keys[k]);
	else if (k < 2 && (why = parse_i64(val, dst[k])) != NULL)
		ok = plain(p->rf, 400, "Failed to deserialize query string: %s: %s", keys[k], why);
	if (k < 2)
		seen[k] = true;
	free(key);
	free(val);
	return ok;
}

/* limit and offset of GET /api/v1/meetings, clamped (§4.1); false when
 * refused (400). Other parameters are ignored. */
static bool read_query(parse_t *p)
{
	const char *q = p->rq->query != NULL ? p->rq->query : "";
	bool seen[2] = { false, false };

	p->limit = LIST_LIMIT_DEFAULT;
	p->offset = 0;
	while (*q != '\0') {
		size_t n = strcspn(q, "&");

		if (n > 0 && !query_pair(p, q, n, seen))
			return false;
		q += n + (q[n] == '&');
	}
	p->limit = p->limit < 1 ? 1 : p->limit > LIST_LIMIT_MAX ? LIST_LIMIT_MAX : p->limit;
	p->offset = p->offset < 0 ? 0 : p->offset;
	return true;
}

/* --- the body ------------------------------------------------------------- */

/* serde's names for what was found. */
static const char *kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "map";
	case JSON_ARRAY: return "sequence";
	case JSON_STRING: return "string";
	case JSON_INTEGER: return "integer";
	case JSON_REAL: return "floating point";
	case JSON_TRUE:
	case JSON_FALSE: return "boolean";
	case JSON_NULL: return "null";
	}
	return "value";
}

/* 422 for a value of the wrong type (key NULL: the body itself). */
static bool bad_type(vc_meeting_refusal_t *rf, const char *key, const json_t *v,
                     const char *expected)
{
	return plain(rf, 422, UNPROCESSABLE "%s%sinvalid type: %s, expected %s", key ? key : "",
	             key ? ": " : "", kind(v), expected);
}

static bool read_strings(vc_meeting_refusal_t *rf, const member_t *mb, json_t *v, json_t **out)
{
	size_t i;
	json_t *e;

	if (!json_is_array(v))
		return bad_type(rf, mb->key, v, "a sequence");
	json_array_foreach(v, i, e)
	{
		if (!json_is_string(e))
			return plain(rf, 422,
			             UNPROCESSABLE "%s[%zu]: invalid type: %s, expected a string",
			             mb->key, i, kind(e));
	}
	*out = v;
	return true;
}

static bool read_admission(vc_meeting_refusal_t *rf, const member_t *mb, json_t *v,
                           const char **out)
{
	const char *s = json_string_value(v);

	if (s == NULL)
		return bad_type(rf, mb->key, v, "`host` or `participants`");
	if (strcmp(s, "host") != 0 && strcmp(s, "participants") != 0)
		return plain(rf, 422,
		             UNPROCESSABLE
		             "%s: unknown variant `%.*s`, expected `host` or `participants`",
		             mb->key, (int)vc_utf8_prefix(s, 64), s);
	*out = s;
	return true;
}

/* vcd's room fields (doc/external.md): null clears them. */
static bool read_room_field(vc_meeting_refusal_t *rf, const member_t *mb, json_t *v, void *at)
{
	nullable_t *n = at;
	const char *s = json_string_value(v);
	char why[160];

	if (mb->type == M_CONFIG) {
		if (!json_is_null(v) && vc_room_config_problem(v, why, sizeof(why)) != NULL)
			return plain(rf, 422, UNPROCESSABLE "%s: %s", mb->key, why);
		*(json_t **)at = v;
		return true;
	}
	if (!json_is_null(v) && s == NULL)
		return bad_type(rf, mb->key, v, "a string or null");
	if (s != NULL && mb->type == M_LEVEL && !vc_access_level_ok(s))
		return plain(rf, 422,
		             UNPROCESSABLE "%s: unknown variant `%.*s`, expected one of `public`, "
		                           "`trusted`, `restricted`",
		             mb->key, (int)vc_utf8_prefix(s, 64), s);
	if (s != NULL && mb->type == M_EMBED && !vc_embed_provider_ok(s))
		return plain(rf, 422, UNPROCESSABLE "%s: must match ^[a-z0-9_-]{1,32}$", mb->key);
	n->set = true;
	n->v = s;
	return true;
}

/* One member of the body into f; false when refused (422). */
static bool read_member(vc_meeting_refusal_t *rf, json_t *body, const member_t *mb, fields_t *f)
{
	json_t *v = json_object_get(body, mb->key);
	char *at = (char *)f + mb->off;

	if (v == NULL && mb->presence == REQUIRED)
		return plain(rf, 422, UNPROCESSABLE "missing field `%s`", mb->key);
	if (v == NULL || (json_is_null(v) && mb->presence == OPTIONAL))
		return true;
	switch (mb->type) {
	case M_STRING:
		if (!json_is_string(v))
			return bad_type(rf, mb->key, v, "a string");
		*(const char **)(void *)at = json_string_value(v);
		return true;
	case M_BOOL:
		if (!json_is_boolean(v))
			return bad_type(rf, mb->key, v, "a boolean");
		*(int *)(void *)at = json_is_true(v);
		return true;
	case M_ADMISSION: return read_admission(rf, mb, v, (const char **)(void *)at);
	case M_STRINGS: return read_strings(rf, mb, v, (json_t **)(void *)at);
	case M_LEVEL:
	case M_CONFIG:
	case M_EMBED: return read_room_field(rf, mb, v, at);
	}
	return true;
}

/* The body as §2.2 reads it: 415 without a JSON Content-Type, 400 when it
 * does not parse, 422 when its shape is wrong; false when refused. A
 * route with an optional body (join) reads none without a Content-Type. */
static bool read_body(parse_t *p, const member_t *members, bool optional)
{
	const char *ct = p->rq->content_type;
	json_error_t e;
	json_t *j;

	if (members == NULL || (optional && ct == NULL))
		return true;
	if (!vc_meeting_json_content_type(ct))
		return plain(p->rf, 415, "Expected request with `Content-Type: application/json`");
	j = json_loadb(p->rq->body != NULL ? p->rq->body : "", p->rq->body_len,
	               JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &e);
	if (j == NULL && json_error_code(&e) == json_error_duplicate_key)
		return plain(p->rf, 422, UNPROCESSABLE "%s", e.text);
	if (j == NULL)
		return plain(p->rf, 400,
		             "Failed to parse the request body as JSON: %s at line %d column %d",
		             e.text, e.line, e.column);
	p->body = j;
	if (!json_is_object(j))
		return bad_type(p->rf, NULL, j, "a JSON object");
	for (const member_t *mb = members; mb->key != NULL; mb++)
		if (!read_member(p->rf, j, mb, &p->f))
			return false;
	return true;
}

/* --- the handler's own checks (envelope errors) --------------------------- */

static bool room_id_ok(vc_meeting_refusal_t *rf, const char *id)
{
	const char *problem = vc_room_id_problem(id);

	return problem == NULL || enveloped(rf, 400, vc_meeting_json_invalid_id(problem));
}

/* §4.2: the meeting id, then the number of attendees. */
static bool check_create(parse_t *p)
{
	const fields_t *f = &p->f;

	if (f->meeting_id != NULL) {
		if (!room_id_ok(p->rf, f->meeting_id))
			return false;
		p->room_id = vc_strdup(f->meeting_id);
	}
	if (f->attendees != NULL && json_array_size(f->attendees) > VC_MEETING_MAX_ATTENDEES)
		return enveloped(p->rf, 400,
		                 vc_meeting_json_too_many(json_array_size(f->attendees)));
	return true;
}

/* vcd: a room id the media server would refuse is not created ad hoc, and
 * a display name the participant row cannot hold is refused, not a 500. */
static bool check_join(parse_t *p)
{
	const char *dn = p->f.display_name;

	if (!room_id_ok(p->rf, p->room_id))
		return false;
	if (dn != NULL && vc_utf8_chars(dn) > VC_MEETING_TEXT_MAX)
		return enveloped(p->rf, 400, vc_meeting_json_invalid_display_name());
	return true;
}

/* --- answers -------------------------------------------------------------- */

static json_t *ans_created(const vc_meeting_reply_t *r, const mreq_t *m)
{
	return vc_meeting_json_created(r, m->attendees);
}

static json_t *ans_info(const vc_meeting_reply_t *r, const mreq_t *m)
{
	return vc_meeting_json_info(r);
}

static json_t *ans_list(const vc_meeting_reply_t *r, const mreq_t *m)
{
	return vc_meeting_json_list(r, m->limit, m->offset);
}

static json_t *ans_deleted(const vc_meeting_reply_t *r, const mreq_t *m)
{
	return vc_meeting_json_deleted(m->room_id);
}

static json_t *ans_joined(const vc_meeting_reply_t *r, const mreq_t *m)
{
	return vc_meeting_json_joined(r);
}

static json_t *ans_participant(const vc_meeting_reply_t *r, const mreq_t *m)
{
	return vc_meeting_json_participant(&r->participant);
}

static json_t *ans_participants(const vc_meeting_reply_t *r, const mreq_t *m)
{
	return vc_meeting_json_participants(r);
}

static json_t *ans_waiting(const vc_meeting_reply_t *r, const mreq_t *m)
{
	return vc_meeting_json_waiting(r, m->room_id);
}

static json_t *ans_admitted_all(const vc_meeting_reply_t *r, const mreq_t *m)
{
	return vc_meeting_json_admitted_all(r);
}

/* --- the table ------------------------------------------------------------ */

typedef struct spec {
	bool party;              /* the caller becomes an owner or participant, or gets a token */
	bool path_id;            /* {meeting_id} in the path */
	bool query;              /* limit and offset */
	const member_t *members; /* a JSON body with these members; NULL: none is read */
	bool optional;           /* the body may be left out (no Content-Type) */
	bool (*check)(parse_t *p);
	json_t *(*answer)(const vc_meeting_reply_t *r, const mreq_t *m);
} spec_t;

/* clang-format off */
static const spec_t specs[VC_MC_COUNT] = {
	/*                      party  path   query  body            optional check         answer */
	[VC_MC_LIST]         = { false, false, true,  NULL,           false, NULL,          ans_list },
	[VC_MC_CREATE]       = { true,  false, false, create_members, false, check_create,  ans_created },
	[VC_MC_INFO]         = { false, true,  false, NULL,           false, NULL,          ans_info },
	[VC_MC_UPDATE]       = { false, true,  false, update_members, false, NULL,          ans_info },
	[VC_MC_DELETE]       = { false, true,  false, NULL,           false, NULL,          ans_deleted },
	[VC_MC_END]          = { false, true,  false, NULL,           false, NULL,          ans_info },
	[VC_MC_JOIN]         = { true,  true,  false, join_members,   true,  check_join,    ans_joined },
	[VC_MC_STATUS]       = { true,  true,  false, NULL,           false, NULL,          ans_joined },
	[VC_MC_LEAVE]        = { false, true,  false, NULL,           false, NULL,          ans_participant },
	[VC_MC_PARTICIPANTS] = { false, true,  false, NULL,           false, NULL,          ans_participants },
	[VC_MC_WAITING]      = { false, true,  false, NULL,           false, NULL,          ans_waiting },
	[VC_MC_ADMIT]        = { false, true,  false, target_members, false, NULL,          ans_participant },
	[VC_MC_ADMIT_ALL]    = { false, true,  false, NULL,           false, NULL,          ans_admitted_all },
	[VC_MC_REJECT]       = { false, true,  false, target_members, false, NULL,          ans_participant },
	[VC_MC_KICK]         = { false, true,  false, target_members, false, NULL,          ans_participant },
};
/* clang-format on */

/* The media server takes VC_SYSTEM_USER_ID for itself and refuses tokens
 * that name it (videocall-rs-contract.md §5.4), so vc_room_token never
 * makes one. A caller with that id (a session JWT can carry it) is refused
 * on the routes that would record it as an owner or participant or answer
 * it a token, before the actor is asked and so before anything is
 * written: an ad-hoc /join would otherwise create the meeting and then
 * fail for want of a token. The other routes need a meeting it owns or a
 * row it has, which it then never gets. */
static bool caller_ok(parse_t *p, const spec_t *s)
{
	return !s->party || strcmp(p->rq->caller_id, VC_SYSTEM_USER_ID) != 0 ||
	       enveloped(p->rf, 403, vc_meeting_json_reserved_user());
}

/* --- the command --------------------------------------------------------- */

static char *dup_or_null(const char *s)
{
	return s != NULL ? vc_strdup(s) : NULL;
}

/* The command of a checked request (the caller from the credential,
 * never the body). */
static vc_meeting_cmd_msg_t *build_command(const parse_t *p)
{
	const vc_meeting_req_t *rq = p->rq;
	const fields_t *f = &p->f;
	vc_meeting_cmd_msg_t *c = vc_meeting_cmd_new(rq->cmd, p->room_id, rq->caller_id,
	                                             rq->caller_name, rq->reply_to);
	bool no_password = rq->cmd == VC_MC_CREATE && f->password != NULL && f->password[0] == '\0';

	c->display_name = dup_or_null(f->display_name);
	c->password = no_password ? NULL : dup_or_null(f->password); /* "" sets none (§4.2) */
	c->target_user_id = dup_or_null(f->user_id);
	c->waiting_room = f->waiting_room;
	c->admission = dup_or_null(f->admission);
	if (rq->cmd == VC_MC_CREATE) /* the actor's own copy: it lives on another thread */
		c->attendees = f->attendees != NULL ? json_deep_copy(f->attendees) : json_array();
	c->set_access_level = f->access_level.set;
	c->access_level = dup_or_null(f->access_level.v);
	c->set_embed_provider = f->embed_provider.set;
	c->embed_provider = dup_or_null(f->embed_provider.v);
	if (f->configuration != NULL) /* null resets it to {} */
		c->configuration = json_is_null(f->configuration)
		                           ? json_object()
		                           : json_deep_copy(f->configuration);
	c->limit = p->limit;
	c->offset = p->offset;
	return c;
}

vc_meeting_cmd_msg_t *vc_meeting_routes_parse(const vc_meeting_req_t *rq, vc_meeting_refusal_t *rf)
{
	const spec_t *s = &specs[rq->cmd];
	parse_t p = { .rq = rq, .rf = rf, .f = { .waiting_room = -1 } };
	vc_meeting_cmd_msg_t *c = NULL;

	if ((!s->path_id || read_path(&p)) && (!s->query || read_query(&p)) &&
	    read_body(&p, s->members, s->optional) && (s->check == NULL || s->check(&p)) &&
	    caller_ok(&p, s))
		c = build_command(&p);
	json_decref(p.body);
	free(p.room_id);
	return c;
}

/* --- request and reply ---------------------------------------------------- */

static void answered(vc_http_req_t *req, vc_msg_t *msg)
{
	const vc_meeting_reply_t *r = (const vc_meeting_reply_t *)msg;
	const mreq_t *m = vc_http_data(req);
	const char *room = m->room_id != NULL ? m->room_id : r->generated_id;

	if (r->cmd != m->cmd)
		log_error("meeting actor answered command %d to a request for command %d (%s %s)",
		          (int)r->cmd, (int)m->cmd, vc_http_method(req), vc_http_path(req));
	if (r->error != VC_MERR_OK) {
		vc_http_respond_json(req, vc_meeting_error_status(r->error),
		                     vc_meeting_json_error(r->error, room, m->target));
		return;
	}
	vc_http_respond_json(req, m->cmd == VC_MC_CREATE ? 201 : 200,
	                     vc_meeting_json_ok(specs[m->cmd].answer(r, m)));
}

/* Keep what the answer needs as the request's data, send the command and
 * wait for the actor's reply. */
static void send_command(vc_http_req_t *req, vc_meeting_cmd_msg_t *c)
{
	mreq_t *m = vc_calloc(1, sizeof(*m));

	m->cmd = c->cmd;
	m->room_id = dup_or_null(c->room_id); /* NULL for a create the actor names */
	m->target = dup_or_null(c->target_user_id);
	if (c->cmd == VC_MC_CREATE) /* echoed as sent: the actor has its own copy */
		m->attendees = json_deep_copy(c->attendees);
	m->limit = c->limit;
	m->offset = c->offset;
	vc_http_set_data(req, m, mreq_free); /* releases the identity: not used after this */
	vc_http_await(req, answered);
	vc_meetings_send(c);
}

static void refuse(vc_http_req_t *req, vc_meeting_refusal_t *rf)
{
	if (rf->envelope != NULL)
		vc_http_respond_json(req, rf->status, rf->envelope);
	else
		vc_http_respond(req, rf->status, TEXT, rf->message, strlen(rf->message));
}

static void run(vc_http_req_t *req, enum vc_meeting_cmd cmd)
{
	const vc_identity_t *id = vc_auth_identity(req);
	vc_meeting_req_t rq = { .cmd = cmd,
		                .meeting_id = vc_http_param(req, 0),
		                .query = vc_http_query(req),
		                .content_type = vc_http_header(req, "Content-Type"),
		                .caller_id = id->user_id,
		                .caller_name = id->display_name,
		                .reply_to = vc_http_actor(req) };
	vc_meeting_refusal_t rf;
	vc_meeting_cmd_msg_t *c;

	rq.body = vc_http_body(req, &rq.body_len);
	c = vc_meeting_routes_parse(&rq, &rf);
	if (c == NULL) {
		refuse(req, &rf);
		return;
	}
	/* A meeting password is a secret to guess, as a login's is: each try
	 * counts against auth_rate_limit before Argon2id is asked to check it. */
	if (c->cmd == VC_MC_JOIN && c->password != NULL && c->password[0] != '\0' &&
	    vc_accounts_attempt(req) != 0) {
		vc_msg_destroy(&c->msg);
		vc_http_respond_json(req, 429, vc_meeting_json_too_many_attempts());
		return;
	}
	send_command(req, c);
}

/* --- the routes ----------------------------------------------------------- */

void vc_meeting_routes_list(vc_http_req_t *req)
{
	run(req, VC_MC_LIST);
}

void vc_meeting_routes_create(vc_http_req_t *req)
{
	run(req, VC_MC_CREATE);
}

void vc_meeting_routes_info(vc_http_req_t *req)
{
	run(req, VC_MC_INFO);
}

void vc_meeting_routes_update(vc_http_req_t *req)
{
	run(req, VC_MC_UPDATE);
}

void vc_meeting_routes_delete(vc_http_req_t *req)
{
	run(req, VC_MC_DELETE);
}

void vc_meeting_routes_end(vc_http_req_t *req)
{
	run(req, VC_MC_END);
}

void vc_meeting_routes_join(vc_http_req_t *req)
{
	run(req, VC_MC_JOIN);
}

void vc_meeting_routes_status(vc_http_req_t *req)
{
	run(req, VC_MC_STATUS);
}

void vc_meeting_routes_leave(vc_http_req_t *req)
{
	run(req, VC_MC_LEAVE);
}

void vc_meeting_routes_participants(vc_http_req_t *req)
{
	run(req, VC_MC_PARTICIPANTS);
}

void vc_meeting_routes_waiting(vc_http_req_t *req)
{
	run(req, VC_MC_WAITING);
}

void vc_meeting_routes_admit(vc_http_req_t *req)
{
	run(req, VC_MC_ADMIT);
}

void vc_meeting_routes_admit_all(vc_http_req_t *req)
{
	run(req, VC_MC_ADMIT_ALL);
}

void vc_meeting_routes_reject(vc_http_req_t *req)
{
	run(req, VC_MC_REJECT);
}

void vc_meeting_routes_kick(vc_http_req_t *req)
{
	run(req, VC_MC_KICK);
}
