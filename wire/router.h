/*
 * router.h — match a request's method and path against a route table.
 *
 * Patterns are literal segments and `{name}` placeholders, each matching one
 * non-empty path segment: "/api/v1/meetings/{id}/join". HEAD matches GET
 * routes. The table is the only list of routes: dispatch, `vcd
 * --list-routes` and the documentation check all read it.
 */
#ifndef VC_ROUTER_H
#define VC_ROUTER_H

#include <stddef.h>

#include "wire/http.h"

typedef struct vc_route {
	const char *method;  /* "GET", "POST", … */
	const char *pattern; /* "/healthz", "/api/v1/meetings/{id}" */
	vc_http_handler_fn handler;
	unsigned flags; /* the caller's (actors/routes.c: authentication, error style) */
} vc_route_t;

enum vc_route_result {
	VC_ROUTE_FOUND,     /* *found is set, params filled */
	VC_ROUTE_NOT_FOUND, /* no pattern matches the path: 404 */
	VC_ROUTE_BAD_METHOD /* the path matches, the method does not: 405 */
};

#define VC_ROUTE_MAX_PARAMS 4

typedef struct vc_route_param {
	const char *at; /* into the path given to vc_router_match */
	size_t len;
} vc_route_param_t;

/* `allow` receives "GET, POST" for VC_ROUTE_BAD_METHOD. */
enum vc_route_result vc_router_match(const vc_route_t *routes, size_t n, const char *method,
                                     const char *path, const vc_route_t **found,
                                     vc_route_param_t *params, unsigned *nparams, char *allow,
                                     size_t allow_len);

#endif
