/*
 * meeting_routes.h — the HTTP handlers of the videocall.rs meeting API
 * under /api/v1/meetings (videocall-rs-contract.md §4.1–§4.14) and vcd's
 * kick. Each runs after authentication (the route's VIDEOCALL flags),
 * checks the request in the reference's order (path, query, body: 400,
 * 415, 422 as plain text; then INVALID_MEETING_ID and TOO_MANY_ATTENDEES),
 * sends one command to the meeting actors (actors/meetings.h) and answers
 * their reply through actors/meeting_json.h. See vcd-api(7), MEETINGS.
 */
#ifndef VC_MEETING_ROUTES_H
#define VC_MEETING_ROUTES_H

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

#endif
