/*
 * external_rooms.h — the external API's rooms (/external-api/v1.0/rooms/,
 * La Suite Meet's external RoomViewSet; shared/reference/
 * meet-toju-rocketchat-livekit.md §A.4–§A.6): application tokens from
 * actors/external_api.c authenticate, their scopes authorize, and a room
 * is a vcd meeting. See vcd-api(7), EXTERNAL API.
 */
#ifndef VC_EXTERNAL_ROOMS_H
#define VC_EXTERNAL_ROOMS_H

#include "wire/http.h"

/* Before the workers start: register the statements. */
void vc_external_rooms_init(void);

void vc_external_rooms_list(vc_http_req_t *req);     /* GET  /external-api/v1.0/rooms/ */
void vc_external_rooms_create(vc_http_req_t *req);   /* POST /external-api/v1.0/rooms/ */
void vc_external_rooms_retrieve(vc_http_req_t *req); /* GET  …/rooms/{id}/ */
void vc_external_rooms_update(vc_http_req_t *req);   /* PATCH, PUT …/rooms/{id}/ */
void vc_external_rooms_delete(vc_http_req_t *req);   /* DELETE …/rooms/{id}/ */

#endif
