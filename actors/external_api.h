/*
 * external_api.h — the external API (/external-api/, La Suite Meet's):
 * its switches and the application token endpoint.
 */
#ifndef VC_EXTERNAL_API_H
#define VC_EXTERNAL_API_H

#include <stdbool.h>

#include "wire/http.h"

/* The issuer and audience of application tokens (doc/decisions.md). */
#define VC_XAPI_ISSUER "vcd"
#define VC_XAPI_AUDIENCE "vcd-external-api"

/* Before the workers start: register the statements. */
void vc_external_api_init(void);

/* True when `path` is under /external-api/ and `external_api` is off: the
 * router then answers its plain 404 without matching. */
bool vc_external_api_hidden(const char *path);

/* POST /external-api/v1.0/application/token/ */
void vc_external_api_token(vc_http_req_t *req);

#endif
