/*
 * meeting_json.c — the JSON bodies of the meeting API (see meeting_json.h).
 *
 * The member order of each shape is the order videocall-rs-contract.md
 * §3.2 lists, kept stable because clients and tests compare bytes. Error
 * messages are the reference's exact texts (§2.4) plus vcd's own
 * (INVALID_PASSWORD, INVALID_DISPLAY_NAME, TOO_MANY_ATTEMPTS,
 * RESERVED_USER_ID); a failure inside vcd answers INTERNAL_ERROR without
 * engineering_error, so no database text ever reaches a client.
 */
#include "actors/meeting_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "runtime/vc.h"

/* What an error message names. */
enum merr_arg { ARG_NONE, ARG_ROOM, ARG_USER };

/* clang-format off */
static const struct merr {
	int status;
	const char *code;
	const char *message; /* a format with at most one %s, named by arg */
	enum merr_arg arg;
} merrs[] = {
	[VC_MERR_MEETING_NOT_FOUND]     = { 404, "MEETING_NOT_FOUND", "Meeting '%s' not found", ARG_ROOM },
	[VC_MERR_NOT_OWNER]             = { 403, "NOT_OWNER", "Only the meeting owner can perform this action", ARG_NONE },
	[VC_MERR_NOT_HOST]              = { 403, "NOT_HOST", "Only the meeting host can perform this action", ARG_NONE },
	[VC_MERR_NOT_IN_MEETING]        = { 404, "NOT_IN_MEETING", "You have not joined this meeting", ARG_NONE },
	[VC_MERR_PARTICIPANT_NOT_FOUND] = { 404, "PARTICIPANT_NOT_FOUND", "Participant '%s' not found in waiting room", ARG_USER },
	[VC_MERR_MEETING_NOT_ACTIVE]    = { 400, "MEETING_NOT_ACTIVE", "Meeting '%s' is not active. Host must join first.", ARG_ROOM },
	[VC_MERR_MEETING_EXISTS]        = { 409, "MEETING_EXISTS", "Meeting with ID '%s' already exists", ARG_ROOM },
	[VC_MERR_INVALID_PASSWORD]      = { 403, "INVALID_PASSWORD", "Meeting password is missing or wrong", ARG_NONE },
	[VC_MERR_UNAVAILABLE]           = { 503, "INTERNAL_ERROR", "Internal server error", ARG_NONE },
	[VC_MERR_INTERNAL]              = { 500, "INTERNAL_ERROR", "Internal server error", ARG_NONE },
};
/* clang-format on */

static const struct merr *merr_of(enum vc_meeting_error e)
{
	if ((size_t)e >= VC_ARRAY_LEN(merrs) || merrs[e].code == NULL)
		return &merrs[VC_MERR_INTERNAL];
	return &merrs[e];
}

/* fmt with one string argument, malloc'ed (ids may be long). */
static char *format1(const char *fmt, const char *arg)
{
	int n = snprintf(NULL, 0, fmt, arg);
	char *s = vc_malloc((size_t)n + 1);

	snprintf(s, (size_t)n + 1, fmt, arg);
	return s;
}

static json_t *error_envelope(const char *code, const char *message)
{
	return json_pack("{s:b,s:{s:s,s:s}}", "success", 0, "result", "code", code, "message",
	                 message);
}

json_t *vc_meeting_json_envelope(const char *code, const char *message)
{
	return error_envelope(code, message);
}

int vc_meeting_error_status(enum vc_meeting_error e)
{
	return merr_of(e)->status;
}

json_t *vc_meeting_json_error(enum vc_meeting_error e, const char *room_id, const char *user_id)
{
	const struct merr *m = merr_of(e);
	const char *arg = m->arg == ARG_ROOM ? room_id : m->arg == ARG_USER ? user_id : NULL;
	char *message = format1(m->message, arg != NULL ? arg : "");
	json_t *j = error_envelope(m->code, message);

	free(message);
	return j;
}

json_t *vc_meeting_json_invalid_id(const char *detail)
{
	char *message = format1("Invalid meeting ID: %s", detail);
	json_t *j = error_envelope("INVALID_MEETING_ID", message);

	free(message);
	return j;
}

json_t *vc_meeting_json_invalid_display_name(void)
{
	return error_envelope("INVALID_DISPLAY_NAME", "Display name cannot exceed 255 characters");
}

json_t *vc_meeting_json_reserved_user(void)
{
	return error_envelope("RESERVED_USER_ID",
	                      "This user id is reserved and cannot take part in meetings");
}

json_t *vc_meeting_json_too_many_attempts(void)
{
	return error_envelope("TOO_MANY_ATTEMPTS", "Too many attempts, try again later");
}

json_t *vc_meeting_json_too_many(size_t n)
{
	char message[96];

	snprintf(message, sizeof(message), "Too many attendees: %zu provided, maximum is %d", n,
	         VC_MEETING_MAX_ATTENDEES);
	return error_envelope("TOO_MANY_ATTENDEES", message);
}

/* --- members -------------------------------------------------------------- */

json_t *vc_meeting_json_ok(json_t *result)
{
	return json_pack("{s:b,s:o}", "success", 1, "result", result);
}

/* A string member; NULL → "" (for members that are never omitted). */
static void put_str(json_t *o, const char *key, const char *s)
{
	json_object_set_new(o, key, json_string(s != NULL ? s : ""));
}

/* An optional string member: omitted when NULL. */
static void put_opt_str(json_t *o, const char *key, const char *s)
{
	if (s != NULL)
		json_object_set_new(o, key, json_string(s));
}

static void put_int(json_t *o, const char *key, int64_t v)
{
	json_object_set_new(o, key, json_integer((json_int_t)v));
}

/* An optional time: omitted when 0 (none); seconds or ms as asked. */
static void put_opt_time(json_t *o, const char *key, int64_t ms, bool in_seconds)
{
	if (ms != 0)
		put_int(o, key, in_seconds ? ms / 1000 : ms);
}

static void put_bool(json_t *o, const char *key, bool v)
{
	json_object_set_new(o, key, json_boolean(v));
}

/* --- meetings ------------------------------------------------------------- */

/* vcd's extensions (doc/external.md), each only when set. */
static void put_extensions(json_t *o, const vc_meeting_row_t *m)
{
	json_t *conf = m->configuration ? json_loads(m->configuration, 0, NULL) : NULL;

	put_opt_str(o, "access_level", m->access_level);
	if (json_object_size(conf) > 0)
		json_object_set(o, "configuration", conf);
	json_decref(conf);
	put_opt_str(o, "embed_provider", m->embed_provider);
}

json_t *vc_meeting_json_created(const vc_meeting_reply_t *r, json_t *attendees)
{
	const vc_meeting_row_t *m = &r->meeting;
	json_t *o = json_object();

	put_str(o, "meeting_id", m->room_id != NULL ? m->room_id : r->generated_id);
	put_str(o, "host", m->creator_id);
	put_int(o, "created_at", m->created_ms / 1000);
	put_str(o, "state", m->state);
	json_object_set_new(o, "attendees",
	                    attendees != NULL ? json_deep_copy(attendees) : json_array());
	put_bool(o, "has_password", m->has_password);
	put_bool(o, "waiting_room_enabled", m->waiting_room);
	put_extensions(o, m);
	return o;
}

json_t *vc_meeting_json_info(const vc_meeting_reply_t *r)
{
	const vc_meeting_row_t *m = &r->meeting;
	json_t *o = json_object();

	put_str(o, "meeting_id", m->room_id);
	put_str(o, "state", m->state);
	put_str(o, "host", m->creator_id);
	put_opt_str(o, "host_display_name", m->host_display_name);
	put_opt_str(o, "host_user_id", m->creator_id);
	put_bool(o, "has_password", m->has_password);
	put_bool(o, "waiting_room_enabled", m->waiting_room);
	put_int(o, "participant_count", m->participant_count);
	put_int(o, "waiting_count", m->waiting_count);
	put_int(o, "started_at", m->started_ms);
	put_opt_time(o, "ended_at", m->ended_ms, false);
	put_extensions(o, m);
	if (r->has_participant)
		json_object_set_new(o, "your_status", vc_meeting_json_participant(&r->participant));
	return o;
}

json_t *vc_meeting_json_summary(const vc_meeting_row_t *m)
{
	json_t *o = json_object();

	put_str(o, "meeting_id", m->room_id);
	put_opt_str(o, "host", m->creator_id);
	put_str(o, "state", m->state);
	put_bool(o, "has_password", m->has_password);
	put_int(o, "created_at", m->created_ms / 1000);
	put_int(o, "participant_count", m->participant_count);
	put_int(o, "started_at", m->started_ms / 1000);
	put_opt_time(o, "ended_at", m->ended_ms, true);
	put_int(o, "waiting_count", m->waiting_count);
	put_bool(o, "waiting_room_enabled", m->waiting_room);
	put_extensions(o, m);
	return o;
}

json_t *vc_meeting_json_list(const vc_meeting_reply_t *r, int64_t limit, int64_t offset)
{
	json_t *list = json_array();

	for (size_t i = 0; i < r->nmeetings; i++)
		json_array_append_new(list, vc_meeting_json_summary(&r->meetings[i]));
	return json_pack("{s:o,s:I,s:I,s:I}", "meetings", list, "total", (json_int_t)r->total,
	                 "limit", (json_int_t)limit, "offset", (json_int_t)offset);
}

json_t *vc_meeting_json_deleted(const char *room_id)
{
	char *message = format1("Meeting '%s' has been deleted", room_id != NULL ? room_id : "");
	json_t *j = json_pack("{s:s}", "message", message);

	free(message);
	return j;
}

/* --- participants --------------------------------------------------------- */

json_t *vc_meeting_json_participant(const vc_participant_row_t *p)
{
	json_t *o = json_object();

	put_str(o, "user_id", p->user_id);
	put_opt_str(o, "display_name", p->display_name);
	put_str(o, "status", p->status);
	put_bool(o, "is_host", p->is_host);
	put_int(o, "joined_at", p->joined_ms / 1000);
	put_opt_time(o, "admitted_at", p->admitted_ms, true);
	return o;
}

static bool status_is(const vc_participant_row_t *p, const char *status)
{
	return p->status != NULL && strcmp(p->status, status) == 0;
}

json_t *vc_meeting_json_joined(const vc_meeting_reply_t *r)
{
	const vc_participant_row_t *p = &r->participant;
	json_t *o = vc_meeting_json_participant(p);
	bool admitted = status_is(p, "admitted");
	bool waits = status_is(p, "waiting") || status_is(p, "waiting_for_meeting");

	if (admitted && (r->cmd == VC_MC_JOIN || r->cmd == VC_MC_STATUS))
		put_opt_str(o, "room_token", r->room_token);
	if (waits && r->cmd == VC_MC_JOIN)
		put_opt_str(o, "observer_token", r->observer_token);
	put_bool(o, "waiting_room_enabled", r->meeting.waiting_room);
	put_opt_str(o, "host_display_name", r->meeting.host_display_name);
	put_opt_str(o, "host_user_id", r->meeting.creator_id);
	return o;
}

static json_t *participant_array(const vc_participant_row_t *list, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, vc_meeting_json_participant(&list[i]));
	return a;
}

json_t *vc_meeting_json_participants(const vc_meeting_reply_t *r)
{
	return participant_array(r->list, r->nlist);
}

json_t *vc_meeting_json_waiting(const vc_meeting_reply_t *r, const char *room_id)
{
	const char *id = room_id != NULL ? room_id : r->meeting.room_id;

	return json_pack("{s:s,s:o}", "meeting_id", id != NULL ? id : "", "waiting",
	                 participant_array(r->list, r->nlist));
}

json_t *vc_meeting_json_admitted_all(const vc_meeting_reply_t *r)
{
	return json_pack("{s:I,s:o}", "admitted_count", (json_int_t)r->nlist, "admitted",
	                 participant_array(r->list, r->nlist));
}

/* axum's rule: application/json, or application/<anything>+json. */
bool vc_meeting_json_content_type(const char *ct)
{
	const char *slash, *sub;
	size_t n, sl;

	if (ct == NULL)
		return false;
	ct += strspn(ct, " \t");
	n = strcspn(ct, ";");
	while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
		n--;
	slash = memchr(ct, '/', n);
	if (slash == NULL || slash - ct != 11 || strncasecmp(ct, "application", 11) != 0)
		return false;
	sub = slash + 1;
	sl = n - 12;
	return (sl == 4 && strncasecmp(sub, "json", 4) == 0) ||
	       (sl > 5 && strncasecmp(sub + sl - 5, "+json", 5) == 0);
}
