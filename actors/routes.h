/*
 * routes.h — the HTTP route table and the handlers it names.
 */
#ifndef VC_ROUTES_H
#define VC_ROUTES_H

#include <stdio.h>

#include "wire/http.h"

/* Before the workers start: register statements etc. */
void vc_routes_init(void);
/* The handler given to the HTTP server: route, then call. */
void vc_routes_handle(vc_http_req_t *req);
/* `vcd --list-routes`: one "METHOD /pattern" per line. */
void vc_routes_print(FILE *out);

/* actors/ops.c — operational endpoints */
void vc_ops_init(void);
void vc_ops_healthz(vc_http_req_t *req);
void vc_ops_readyz(vc_http_req_t *req);
void vc_ops_version(vc_http_req_t *req);
void vc_ops_metrics(vc_http_req_t *req);

#endif
