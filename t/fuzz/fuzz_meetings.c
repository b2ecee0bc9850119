/*
 * fuzz_meetings.c — libFuzzer target: arbitrary requests through the
 * checks of the meeting routes (vc_meeting_routes_parse): the path's
 * percent-decoding, list's limit/offset, the Content-Type, the JSON body
 * and its members, the room id and attendee checks. Whatever comes back
 * must be a well-formed refusal or a command that satisfies the checks.
 *
 * Input: byte 0 picks the route (modulo VC_MC_COUNT), bit 0 of byte 1 says
 * whether a Content-Type was sent, bit 2 makes the caller the reserved
 * system user id; then "meeting_id\nquery\ncontent type\n"
 * and the rest is the body.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "actors/meeting_json.h"
#include "actors/meeting_routes.h"
#include "actors/room_tokens.h"
#include "wire/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The commands' reply_to: never scheduled, never freed (one reference is
 * ours). */
static vc_actor_t sink;

/* The next '\n'-terminated field as an exact-size string (NULL when the
 * input is used up), so that ASan sees any over-read. */
static char *field(const uint8_t **p, const uint8_t *end)
{
	const uint8_t *nl;
	size_t n;
	char *s;

	if (*p >= end)
		return NULL;
	nl = memchr(*p, '\n', (size_t)(end - *p));
	n = (size_t)((nl != NULL ? nl : end) - *p);
	s = malloc(n + 1);
	memcpy(s, *p, n);
	s[n] = '\0';
	*p += n + (nl != NULL);
	return s;
}

/* Does the system user id become an owner or participant, or get a token? */
static bool makes_party(enum vc_meeting_cmd cmd)
{
	return cmd == VC_MC_CREATE || cmd == VC_MC_JOIN || cmd == VC_MC_STATUS;
}

static void check_refusal(vc_meeting_refusal_t *rf, const vc_meeting_req_t *rq)
{
	bool system = strcmp(rq->caller_id, VC_SYSTEM_USER_ID) == 0;

	if (rf->status == 403) { /* only the reserved caller, only where it would take part */
		if (!system || !makes_party(rq->cmd) || strcmp(rf->code, "RESERVED_USER_ID") != 0 ||
		    rf->envelope == NULL)
			abort();
		json_decref(rf->envelope);
		return;
	}
	if (rf->status != 400 && rf->status != 415 && rf->status != 422)
		abort();
	if (rf->message[0] == '\0' || (rf->code[0] != '\0') != (rf->envelope != NULL))
		abort(); /* every refusal says why; a code always comes with its envelope */
	if (rf->envelope != NULL &&
	    (rf->status != 400 || (strcmp(rf->code, "INVALID_MEETING_ID") != 0 &&
	                           strcmp(rf->code, "TOO_MANY_ATTENDEES") != 0 &&
	                           strcmp(rf->code, "INVALID_DISPLAY_NAME") != 0)))
		abort();
	json_decref(rf->envelope);
}

static bool is_target(enum vc_meeting_cmd cmd)
{
	return cmd == VC_MC_ADMIT || cmd == VC_MC_REJECT || cmd == VC_MC_KICK;
}

static void check_command(const vc_meeting_cmd_msg_t *c, const vc_meeting_req_t *rq)
{
	enum vc_meeting_cmd cmd = rq->cmd;
	bool named = cmd != VC_MC_LIST && cmd != VC_MC_CREATE;

	if (c->cmd != cmd || c->reply_to != &sink || strcmp(c->caller_id, rq->caller_id) != 0)
		abort();
	if (makes_party(cmd) && strcmp(c->caller_id, VC_SYSTEM_USER_ID) == 0)
		abort(); /* the reserved id never reaches the actor that would record it */
	if ((named && c->room_id == NULL) || (cmd == VC_MC_LIST && c->room_id != NULL))
		abort();
	if ((cmd == VC_MC_JOIN || (cmd == VC_MC_CREATE && c->room_id != NULL)) &&
	    vc_room_id_problem(c->room_id) != NULL)
		abort(); /* the media server's rule was checked */
	if (cmd == VC_MC_JOIN && c->display_name != NULL &&
	    vc_utf8_chars(c->display_name) > VC_MEETING_TEXT_MAX)
		abort(); /* what no participant row holds is refused */
	if (is_target(cmd) != (c->target_user_id != NULL))
		abort();
	if (cmd == VC_MC_LIST && (c->limit < 1 || c->limit > 100 || c->offset < 0))
		abort();
	if ((cmd == VC_MC_CREATE) != (c->attendees != NULL) ||
	    (c->attendees != NULL && json_array_size(c->attendees) > VC_MEETING_MAX_ATTENDEES))
		abort();
	if (c->waiting_room < -1 || c->waiting_room > 1)
		abort();
	if (c->admission != NULL && strcmp(c->admission, "host") != 0 &&
	    strcmp(c->admission, "participants") != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data + (size < 2 ? size : 2), *end = data + size;
	vc_meeting_req_t rq = { .caller_id = "fuzz@example.com", .reply_to = &sink };
	char *id, *query, *ct, *body;
	vc_meeting_refusal_t rf;
	vc_meeting_cmd_msg_t *c;

	if (size < 2)
		return 0;
	if (atomic_load(&sink._refs) == 0)
		atomic_init(&sink._refs, 1);
	rq.cmd = (enum vc_meeting_cmd)(data[0] % VC_MC_COUNT);
	rq.meeting_id = id = field(&p, end);
	rq.query = query = field(&p, end);
	ct = field(&p, end);
	rq.content_type = (data[1] & 1) ? (ct != NULL ? ct : "") : NULL;
	rq.body_len = (size_t)(end - p);
	rq.body = body = malloc(rq.body_len ? rq.body_len : 1);
	memcpy(body, p, rq.body_len);
	rq.caller_name = (data[1] & 2) ? "Fuzz" : NULL;
	if (data[1] & 4)
		rq.caller_id = VC_SYSTEM_USER_ID;

	c = vc_meeting_routes_parse(&rq, &rf);
	if (c != NULL) {
		check_command(c, &rq);
		vc_msg_destroy(&c->msg);
	} else {
		check_refusal(&rf, &rq);
	}
	if (atomic_load(&sink._refs) != 1)
		abort(); /* the command's reference went with it */
	free(id);
	free(query);
	free(ct);
	free(body);
	return 0;
}
