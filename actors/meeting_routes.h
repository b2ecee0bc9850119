/*
 * meeting_routes.h — the HTTP handlers of the videocall.rs meeting API
 * under /api/v1/meetings (videocall-rs-contract.md §4.1–§4.14) and vcd's
 * kick. Each runs after authentication (the route's VIDEOCALL flags),
 * checks the request in the reference's order (path, query, body: 400,
 * 415, 422 as plain text; then INVALID_MEETING_ID and TOO_MANY_ATTENDEES,
 * then 403 RESERVED_USER_ID for the system user id where it would become
 * an owner or participant or get a token),
 * sends one command to the meeting actors (actors/meetings.h) and answers
 * their reply through actors/meeting_json.h. See vcd-api(7), MEETINGS.
 *
 * The checks are one pure function, vc_meeting_routes_parse: the handlers
 * hand it the parts of the request and either answer its refusal or send
 * the command it built. t/fuzz/fuzz_meetings.c and
 * t/unit/test_meeting_routes.c call it without a server.
 */
#ifndef VC_MEETING_ROUTES_H
#define VC_MEETING_ROUTES_H

#include <stddef.h>

#include "actors/meetings.h"
#include "wire/http.h"

void vc_meeting_routes_list(vc_http_req_t *req);         /* GET /api/v1/meetings */
void vc_meeting_routes_create(vc_http_req_t *req);       /* POST /api/v1/meetings */
void vc_meeting_routes_info(vc_http_req_t *req);         /* GET …/{meeting_id} */
void vc_meeting_routes_update(vc_http_req_t *req);       /* PATCH …/{meeting_id} */
void vc_meeting_routes_delete(vc_http_req_t *req);       /* DELETE …/{meeting_id} */
void vc_meeting_routes_end(vc_http_req_t *req);          /* POST …/end */
void vc_meeting_routes_join(vc_http_req_t *req);         /* POST …/join */
void vc_meeting_routes_status(vc_http_req_t *req);       /* GET …/status */
void vc_meeting_routes_leave(vc_http_req_t *req);        /* POST …/leave */
void vc_meeting_routes_participants(vc_http_req_t *req); /* GET …/participants */
void vc_meeting_routes_waiting(vc_http_req_t *req);      /* GET …/waiting */
void vc_meeting_routes_admit(vc_http_req_t *req);        /* POST …/admit */
void vc_meeting_routes_admit_all(vc_http_req_t *req);    /* POST …/admit-all */
void vc_meeting_routes_reject(vc_http_req_t *req);       /* POST …/reject */
void vc_meeting_routes_kick(vc_http_req_t *req);         /* POST …/kick (vcd) */

/* A meeting request without its connection: the route that matched and
 * the parts of the request it reads. Only read; strings NUL-terminated. */
typedef struct vc_meeting_req {
	enum vc_meeting_cmd cmd;  /* the route (< VC_MC_COUNT) */
	const char *meeting_id;   /* the path's {meeting_id}, percent-encoded; NULL reads as "" */
	const char *query;        /* the target after '?'; NULL reads as "" */
	const char *content_type; /* the Content-Type header; NULL: none was sent */
	const char *body;         /* body_len bytes, not NUL-terminated (NULL if 0) */
	size_t body_len;
	const char *caller_id;   /* the command's caller, from the credential (not NULL) */
	const char *caller_name; /* the credential's display name, or NULL */
	vc_actor_t *reply_to;    /* the command's reply_to (not NULL; it takes a reference) */
} vc_meeting_req_t;

/* Why a request is refused before a meeting actor is asked. */
typedef struct vc_meeting_refusal {
	int status;        /* 400, 403, 415 or 422 */
	char code[32];     /* "INVALID_MEETING_ID", "TOO_MANY_ATTENDEES", "INVALID_DISPLAY_NAME",
	                    * "RESERVED_USER_ID"; "": plain text */
	char message[512]; /* the plain-text body, or the envelope's message */
	json_t *envelope;  /* with a code: the JSON body to answer (the caller's); else NULL */
} vc_meeting_refusal_t;

/* The checks of the request in the handler's order (path, query string,
 * Content-Type, JSON syntax, body shape, then the handler's own, then the
 * caller: the reserved system user id on create, join and status). No I/O,
 * no sends, any thread. Returns the command for the meeting actors, which
 * the caller owns (vc_meetings_send or vc_msg_destroy), or NULL and *rf:
 * exactly what the route answers; the caller releases rf->envelope. */
vc_meeting_cmd_msg_t *vc_meeting_routes_parse(const vc_meeting_req_t *rq,
                                              vc_meeting_refusal_t *rf) VC_MUSTCHECK;

#endif
