/*
 * meeting_json.h — the meeting actor's answers as the JSON bodies of the
 * videocall.rs meeting API (videocall-rs-contract.md §2.1, §2.4, §2.5,
 * §3.2): the {success, result} envelope, error codes and exact messages,
 * and one function per response shape. Members come in the order of §3.2;
 * optional members are omitted, never null. Times in the rows are
 * milliseconds; each shape turns them into seconds or keeps them as §2.5
 * says.
 *
 * Every function returns a new reference the caller owns; the inputs are
 * only read.
 */
#ifndef VC_MEETING_JSON_H
#define VC_MEETING_JSON_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "actors/meetings.h"

#define VC_MEETING_MAX_ATTENDEES 100
/* What the participant and meeting columns hold (varchar(255)). */
#define VC_MEETING_TEXT_MAX 255

/* --- errors --------------------------------------------------------------- */

/* HTTP status of an error (500 for VC_MERR_OK or an unknown value). */
int vc_meeting_error_status(enum vc_meeting_error e);
/* {"success":false,"result":{"code","message"}} for an actor's error.
 * room_id names the meeting (MEETING_NOT_FOUND, MEETING_NOT_ACTIVE,
 * MEETING_EXISTS), user_id the participant (PARTICIPANT_NOT_FOUND); NULL
 * reads as "". engineering_error is never sent. */
json_t *vc_meeting_json_error(enum vc_meeting_error e, const char *room_id, const char *user_id);
/* 400 INVALID_MEETING_ID, "Invalid meeting ID: <detail>". */
json_t *vc_meeting_json_invalid_id(const char *detail);
/* 400 INVALID_DISPLAY_NAME, "Display name cannot exceed 255 characters". */
json_t *vc_meeting_json_invalid_display_name(void);
/* 403 RESERVED_USER_ID, "This user id is reserved and cannot take part in
 * meetings": the caller is VC_SYSTEM_USER_ID (actors/meeting_routes.c). */
json_t *vc_meeting_json_reserved_user(void);
/* 429 TOO_MANY_ATTEMPTS, "Too many attempts, try again later". */
json_t *vc_meeting_json_too_many_attempts(void);
/* 400 TOO_MANY_ATTENDEES, "Too many attendees: <n> provided, maximum is 100". */
json_t *vc_meeting_json_too_many(size_t n);

/* --- success -------------------------------------------------------------- */

/* {"success":true,"result":result} (steals result). */
json_t *vc_meeting_json_ok(json_t *result);
/* {"success":false,"result":{"code","message"}} for vcd's own codes. */
json_t *vc_meeting_json_envelope(const char *code, const char *message);
/* A Content-Type the meeting API reads as JSON (axum's rule):
 * application/json or application/<anything>+json, parameters aside. */
bool vc_meeting_json_content_type(const char *ct);

/* CreateMeetingResponse; attendees is the request's array, echoed as sent
 * (NULL: []). created_at in seconds. */
json_t *vc_meeting_json_created(const vc_meeting_reply_t *r, json_t *attendees);
/* MeetingInfoResponse (GET, PATCH, end): started_at/ended_at in ms;
 * your_status is the caller's row when r->has_participant. */
json_t *vc_meeting_json_info(const vc_meeting_reply_t *r);
/* MeetingSummary (times in seconds). */
json_t *vc_meeting_json_summary(const vc_meeting_row_t *m);
/* ListMeetingsResponse; limit and offset as clamped by the request. */
json_t *vc_meeting_json_list(const vc_meeting_reply_t *r, int64_t limit, int64_t offset);
/* ParticipantStatusResponse without tokens or meeting-level members (leave,
 * admit, reject, kick, the lists, your_status). Times in seconds. */
json_t *vc_meeting_json_participant(const vc_participant_row_t *p);
/* ParticipantStatusResponse of join and status: the caller's row, the
 * tokens §3.2 allows for r->cmd (room_token when admitted, from join and
 * status; observer_token when waiting or waiting_for_meeting, from join
 * only) and waiting_room_enabled, host_display_name, host_user_id. */
json_t *vc_meeting_json_joined(const vc_meeting_reply_t *r);
/* A bare array of participants (GET …/participants). */
json_t *vc_meeting_json_participants(const vc_meeting_reply_t *r);
/* WaitingRoomResponse: {meeting_id (as in the path), waiting}. */
json_t *vc_meeting_json_waiting(const vc_meeting_reply_t *r, const char *room_id);
/* AdmitAllResponse: {admitted_count, admitted}. */
json_t *vc_meeting_json_admitted_all(const vc_meeting_reply_t *r);
/* DeleteMeetingResponse: {"message":"Meeting '<id>' has been deleted"}. */
json_t *vc_meeting_json_deleted(const char *room_id);

#endif
