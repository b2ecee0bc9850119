/*
 * routes.c — every HTTP route vcd serves, in one table.
 *
 * Unknown paths answer 404 and known paths with another method 405 (with
 * Allow), both with an empty body, as the videocall.rs meeting API does.
 */
#include "actors/routes.h"

#include "wire/router.h"

/* clang-format off */
static const vc_route_t routes[] = {
	{ "GET", "/healthz", vc_ops_healthz },
	{ "GET", "/readyz", vc_ops_readyz },
	{ "GET", "/version", vc_ops_version },
	{ "GET", "/metrics", vc_ops_metrics },
};
/* clang-format on */

void vc_routes_init(void)
{
	vc_ops_init();
}

void vc_routes_handle(vc_http_req_t *req)
{
	const vc_route_t *r = NULL;
	vc_route_param_t params[VC_ROUTE_MAX_PARAMS];
	unsigned np = 0;
	char allow[128];

	switch (vc_router_match(routes, VC_ARRAY_LEN(routes), vc_http_method(req),
	                        vc_http_path(req), &r, params, &np, allow, sizeof(allow))) {
	case VC_ROUTE_FOUND:
		for (unsigned i = 0; i < np; i++)
			vc_http_add_param(req, params[i].at, params[i].len);
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
