/*
 * meeting_roles.h — roles on a meeting besides its owner (vcd, issue 9;
 * doc/external.md): GET /api/v1/meetings/{meeting_id}/roles, PUT and DELETE
 * /api/v1/meetings/{meeting_id}/roles/{user_id} with
 * {"role":"administrator"|"member"}. The owner only; errors in the meeting
 * API's envelope. See vcd-api(7), ROLES.
 */
#ifndef VC_MEETING_ROLES_H
#define VC_MEETING_ROLES_H

#include "wire/http.h"

/* Before the workers start: register the statements. */
void vc_meeting_roles_init(void);

void vc_meeting_roles_list(vc_http_req_t *req);   /* GET …/roles */
void vc_meeting_roles_put(vc_http_req_t *req);    /* PUT …/roles/{user_id} */
void vc_meeting_roles_delete(vc_http_req_t *req); /* DELETE …/roles/{user_id} */

#endif
