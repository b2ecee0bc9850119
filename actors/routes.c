/*
 * routes.c — every HTTP route vcd serves, in one table.
 *
 * Unknown paths answer 404 and known paths with another method 405 (with
 * Allow), both with an empty body, as the videocall.rs meeting API does.
 */
#include "actors/routes.h"

#include "actors/accounts.h"
#include "actors/auth.h"
#include "actors/embed.h"
#include "actors/external_api.h"
#include "actors/external_rooms.h"
#include "actors/lobby.h"
#include "actors/signal.h"
#include "actors/meeting_roles.h"
#include "actors/meeting_routes.h"
#include "actors/meetings.h"
#include "actors/servers.h"
#include "wire/router.h"

/* Credentials each route accepts, and how its errors look. */
#define PUBLIC 0
#define SESSION VC_AUTH_SESSION
#define VIDEOCALL (VC_AUTH_SESSION | VC_AUTH_JWT | VC_ERR_ENVELOPE)
/* ... and an embed authToken (actors/embed.h): the few routes an embed needs */
#define EMBED VC_AUTH_EMBED

/* clang-format off */
static const vc_route_t routes[] = {
	{ "GET", "/healthz", vc_ops_healthz, PUBLIC },
	{ "GET", "/readyz", vc_ops_readyz, PUBLIC },
	{ "GET", "/version", vc_ops_version, PUBLIC },
	{ "GET", "/metrics", vc_ops_metrics, PUBLIC },

	{ "POST", "/api/users/register", vc_accounts_register, PUBLIC },
	{ "POST", "/api/users/login", vc_accounts_login, PUBLIC },
	{ "POST", "/api/users/logout", vc_accounts_logout, SESSION },
	{ "GET", "/api/users/me", vc_accounts_me, SESSION | EMBED },
	{ "GET", "/api/users/sessions", vc_accounts_sessions, SESSION },
	{ "DELETE", "/api/users/sessions/{id}", vc_accounts_session_delete, SESSION },
	{ "GET", "/api/users/device-tokens", vc_accounts_devices, SESSION },
	{ "PUT", "/api/users/device-tokens/{token}", vc_accounts_device_put, SESSION },
	{ "DELETE", "/api/users/device-tokens/{token}", vc_accounts_device_delete, SESSION },

	{ "GET", "/api/servers", vc_servers_list, PUBLIC },
	{ "POST", "/api/servers", vc_servers_create, SESSION },
	{ "GET", "/api/servers/{id}", vc_servers_get, PUBLIC },
	{ "PUT", "/api/servers/{id}", vc_servers_update, SESSION },
	{ "DELETE", "/api/servers/{id}", vc_servers_delete, SESSION },
	{ "POST", "/api/servers/{id}/join", vc_servers_join, SESSION },
	{ "POST", "/api/servers/{id}/leave", vc_servers_leave, SESSION },
	{ "GET", "/api/servers/{id}/members", vc_servers_members, PUBLIC }, /* checks a credential */
	{ "GET", "/api/servers/{id}/requests", vc_servers_requests, SESSION },
	{ "PUT", "/api/requests/{id}", vc_servers_decide, SESSION },
	{ "POST", "/api/servers/{id}/kick", vc_servers_kick, SESSION },
	{ "POST", "/api/servers/{id}/ban", vc_servers_ban, SESSION },
	{ "GET", "/api/servers/{id}/bans", vc_servers_bans, SESSION },
	{ "DELETE", "/api/servers/{id}/bans/{user_id}", vc_servers_unban, SESSION },

	{ "GET", "/session", vc_accounts_vc_session, VIDEOCALL },
	{ "GET", "/profile", vc_accounts_vc_profile, VIDEOCALL },
	{ "GET", "/logout", vc_accounts_vc_logout, PUBLIC },

	{ "GET", "/api/v1/meetings", vc_meeting_routes_list, VIDEOCALL },
	{ "POST", "/api/v1/meetings", vc_meeting_routes_create, VIDEOCALL },
	{ "GET", "/api/v1/meetings/{meeting_id}", vc_meeting_routes_info, VIDEOCALL | EMBED },
	{ "PATCH", "/api/v1/meetings/{meeting_id}", vc_meeting_routes_update, VIDEOCALL },
	{ "DELETE", "/api/v1/meetings/{meeting_id}", vc_meeting_routes_delete, VIDEOCALL },
	{ "POST", "/api/v1/meetings/{meeting_id}/end", vc_meeting_routes_end, VIDEOCALL },
	{ "POST", "/api/v1/meetings/{meeting_id}/join", vc_meeting_routes_join, VIDEOCALL },
	{ "POST", "/api/v1/meetings/{meeting_id}/leave", vc_meeting_routes_leave, VIDEOCALL },
	{ "GET", "/api/v1/meetings/{meeting_id}/status", vc_meeting_routes_status, VIDEOCALL },
	{ "GET", "/api/v1/meetings/{meeting_id}/participants", vc_meeting_routes_participants, VIDEOCALL | EMBED },
	{ "GET", "/api/v1/meetings/{meeting_id}/embed-credentials", vc_embed_route, PUBLIC }, /* checks a room token */
	{ "GET", "/api/v1/meetings/{meeting_id}/waiting", vc_meeting_routes_waiting, VIDEOCALL },
	{ "POST", "/api/v1/meetings/{meeting_id}/admit", vc_meeting_routes_admit, VIDEOCALL },
	{ "POST", "/api/v1/meetings/{meeting_id}/admit-all", vc_meeting_routes_admit_all, VIDEOCALL },
	{ "POST", "/api/v1/meetings/{meeting_id}/reject", vc_meeting_routes_reject, VIDEOCALL },
	{ "POST", "/api/v1/meetings/{meeting_id}/kick", vc_meeting_routes_kick, VIDEOCALL },
	{ "GET", "/api/v1/meetings/{meeting_id}/roles", vc_meeting_roles_list, VIDEOCALL },
	{ "PUT", "/api/v1/meetings/{meeting_id}/roles/{user_id}", vc_meeting_roles_put, VIDEOCALL },
	{ "DELETE", "/api/v1/meetings/{meeting_id}/roles/{user_id}", vc_meeting_roles_delete, VIDEOCALL },

	{ "GET", "/lobby", vc_lobby_route, PUBLIC },
	{ "GET", "/lobby/{user_id}/{room}", vc_lobby_route_legacy, PUBLIC },

	{ "GET", "/ws", vc_signal_route, PUBLIC },

	/* Hidden (404) unless external_api is on: vc_external_api_hidden(). */
	{ "POST", "/external-api/v1.0/application/token/", vc_external_api_token, PUBLIC },
	/* application tokens, checked by the handlers (actors/external_rooms.c) */
	{ "GET", "/external-api/v1.0/rooms/", vc_external_rooms_list, PUBLIC },
	{ "POST", "/external-api/v1.0/rooms/", vc_external_rooms_create, PUBLIC },
	{ "GET", "/external-api/v1.0/rooms/{id}/", vc_external_rooms_retrieve, PUBLIC },
	{ "PATCH", "/external-api/v1.0/rooms/{id}/", vc_external_rooms_update, PUBLIC },
	{ "PUT", "/external-api/v1.0/rooms/{id}/", vc_external_rooms_update, PUBLIC },
	{ "DELETE", "/external-api/v1.0/rooms/{id}/", vc_external_rooms_delete, PUBLIC },
};
/* clang-format on */

void vc_routes_init(void)
{
	vc_ops_init();
	vc_auth_init();
	vc_accounts_init();
	vc_servers_init();
	vc_external_api_init();
	vc_external_rooms_init();
	vc_meetings_init();
	vc_meeting_roles_init();
	vc_signal_init();
}

void vc_routes_handle(vc_http_req_t *req)
{
	const vc_route_t *r = NULL;
	vc_route_param_t params[VC_ROUTE_MAX_PARAMS];
	unsigned np = 0;
	char allow[128];

	if (vc_external_api_hidden(vc_http_path(req))) {
		vc_http_respond(req, 404, NULL, NULL, 0);
		return;
	}
	switch (vc_router_match(routes, VC_ARRAY_LEN(routes), vc_http_method(req),
	                        vc_http_path(req), &r, params, &np, allow, sizeof(allow))) {
	case VC_ROUTE_FOUND:
		for (unsigned i = 0; i < np; i++)
			vc_http_add_param(req, params[i].at, params[i].len);
		if (r->flags & (VC_AUTH_SESSION | VC_AUTH_JWT))
			vc_auth_run(req, r->flags, r->handler);
		else
			r->handler(req);
		return;
	case VC_ROUTE_BAD_METHOD:
		vc_http_add_header(req, "Allow", allow);
		vc_http_respond(req, 405, NULL, NULL, 0);
		return;
	case VC_ROUTE_NOT_FOUND: vc_http_respond(req, 404, NULL, NULL, 0); return;
	}
}

void vc_routes_print(FILE *out)
{
	for (size_t i = 0; i < VC_ARRAY_LEN(routes); i++)
		fprintf(out, "%s %s\n", routes[i].method, routes[i].pattern);
}
