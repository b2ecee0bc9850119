/*
 * servers.h — servers (Toju/MetoYou communities) over REST: the public
 * directory, create, update and delete by the owner (actors/servers.c);
 * joining, leaving, members, join requests and moderation
 * (actors/server_members.c). Tables in sql/006_servers.sql; the API in
 * vcd-api(7), section SERVERS.
 *
 * Every handler runs on the connection's worker and answers after one
 * statement (two, and a password check on the offload pool, where a
 * password is set or checked). The acting user is always the request's
 * credential (vc_auth_identity); user ids in bodies only name the target of
 * an owner's action.
 */
#ifndef VC_SERVERS_H
#define VC_SERVERS_H

#include "wire/http.h"

/* Main thread, before the workers: statements, the join rate limiter. */
void vc_servers_init(void);

/* Public: no credential. */
void vc_servers_list(vc_http_req_t *req);
void vc_servers_get(vc_http_req_t *req);
/* Public, but a credential, when presented, is checked (private servers). */
void vc_servers_members(vc_http_req_t *req);

/* Session required. */
void vc_servers_create(vc_http_req_t *req);
void vc_servers_update(vc_http_req_t *req);
void vc_servers_delete(vc_http_req_t *req);
void vc_servers_join(vc_http_req_t *req);
void vc_servers_leave(vc_http_req_t *req);
void vc_servers_requests(vc_http_req_t *req);
void vc_servers_decide(vc_http_req_t *req);
void vc_servers_kick(vc_http_req_t *req);
void vc_servers_ban(vc_http_req_t *req);
void vc_servers_bans(vc_http_req_t *req);
void vc_servers_unban(vc_http_req_t *req);

#endif
