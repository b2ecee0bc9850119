/*
 * external_api.c — the external API (La Suite Meet's /external-api/v1.0/):
 * its two switches and the application token endpoint.
 *
 * `external_api` off: every /external-api/ path answers the router's plain
 * 404, whatever the method (vc_external_api_hidden(), asked by the router
 * before matching). `external_api_applications` off: the token endpoint
 * answers the same 404.
 *
 * The token endpoint follows Meet's order of checks
 * (shared/reference/meet-toju-rocketchat-livekit.md §A.3): switch (404),
 * media type (415: form or JSON only), fields (400, DRF-style field
 * errors), then the credentials. vcd has no application table yet (issue 9
 * item 2), so no client id is known and every well-formed request gets the
 * vague 401 Meet answers for an unknown client id.
 */
#include "actors/external_api.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <strings.h>

#include "runtime/config.h"
#include "runtime/log.h"
#include "wire/urlenc.h"

#define PREFIX "/external-api/"

bool vc_external_api_hidden(const char *path)
{
	return strncmp(path, PREFIX, sizeof(PREFIX) - 1) == 0 && !vc_config_get()->external_api;
}

enum body_kind { BODY_FORM, BODY_JSON, BODY_OTHER };

/* The media type of Content-Type, parameters ignored. A request without a
 * body and without a type parses as an empty form, as DRF does. */
static enum body_kind body_kind(const char *ctype, size_t body_len)
{
	size_t n;

	if (ctype == NULL || *ctype == '\0')
		return body_len == 0 ? BODY_FORM : BODY_OTHER;
	n = strcspn(ctype, "; \t");
	if (n == 33 && strncasecmp(ctype, "application/x-www-form-urlencoded", n) == 0)
		return BODY_FORM;
	if (n == 16 && strncasecmp(ctype, "application/json", n) == 0)
		return BODY_JSON;
	return BODY_OTHER;
}

static const char *const fields[] = { "client_id", "client_secret", "grant_type", "scope" };
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

/* The request's fields (allocated, NULL when absent), or false with *bad
 * set to a 400 body when the JSON is not an object. */
static bool read_fields(vc_http_req_t *req, enum body_kind kind, char *out[NFIELDS], json_t **bad)
{
	size_t len = 0;
	const char *body = vc_http_body(req, &len);

	if (kind == BODY_FORM) {
		char *text = vc_strndup(body ? body : "", len);

		for (size_t i = 0; i < NFIELDS; i++)
			out[i] = vc_query_value(text, fields[i], NULL);
		free(text);
		return true;
	}
	json_t *doc = json_loadb(body ? body : "", len, 0, NULL);

	if (!json_is_object(doc)) {
		json_decref(doc);
		*bad = json_pack("{s:s}", "detail", "JSON parse error");
		return false;
	}
	for (size_t i = 0; i < NFIELDS; i++) {
		json_t *v = json_object_get(doc, fields[i]);

		out[i] = json_is_string(v) ? vc_strdup(json_string_value(v))
		         : v != NULL       ? vc_strdup("\x01") /* present, not a string */
		                           : NULL;
	}
	json_decref(doc);
	return true;
}

/* DRF's field errors for what is missing or wrong, or NULL when all is well. */
static json_t *field_errors(char *const v[NFIELDS])
{
	json_t *errs = json_object();

	for (size_t i = 0; i < NFIELDS; i++) {
		const char *msg = NULL;

		if (v[i] == NULL)
			msg = "This field is required.";
		else if (strcmp(v[i], "\x01") == 0)
			msg = "Not a valid string.";
		else if (v[i][0] == '\0')
			msg = "This field may not be blank.";
		else if (i == 2 && strcmp(v[i], "client_credentials") != 0)
			msg = "This is not a valid choice.";
		if (msg != NULL)
			json_object_set_new(errs, fields[i], json_pack("[s]", msg));
	}
	if (json_object_size(errs) == 0) {
		json_decref(errs);
		return NULL;
	}
	return errs;
}

void vc_external_api_token(vc_http_req_t *req)
{
	size_t len = 0;
	char *v[NFIELDS] = { 0 };
	json_t *bad = NULL;
	enum body_kind kind;

	if (!vc_config_get()->external_api_applications) {
		vc_http_respond(req, 404, NULL, NULL, 0);
		return;
	}
	(void)vc_http_body(req, &len);
	kind = body_kind(vc_http_header(req, "Content-Type"), len);
	if (kind == BODY_OTHER) {
		vc_http_respond_json(req, 415,
		                     json_pack("{s:s}", "detail", "Unsupported media type."));
		return;
	}
	if (!read_fields(req, kind, v, &bad) || (bad = field_errors(v)) != NULL) {
		vc_http_respond_json(req, 400, bad);
	} else {
		/* No application table yet: every client id is unknown. */
		log_info("external_api: token refused: unknown client id");
		vc_http_respond_json(req, 401, json_pack("{s:s}", "detail", "Invalid credentials"));
	}
	for (size_t i = 0; i < NFIELDS; i++) {
		if (v[i] != NULL)
			sodium_memzero(v[i], strlen(v[i]));
		free(v[i]);
	}
}
