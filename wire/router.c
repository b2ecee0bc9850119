/*
 * router.c — segment-by-segment matching of paths against route patterns.
 */
#include "wire/router.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Does `path` match `pattern`? Placeholders are recorded in params. */
static bool match_path(const char *pattern, const char *path, vc_route_param_t *params,
                       unsigned *nparams)
{
	unsigned np = 0;

	while (*pattern == '/' && *path == '/') {
		size_t pl = strcspn(++pattern, "/");
		size_t sl = strcspn(++path, "/");
		if (pl >= 2 && pattern[0] == '{' && pattern[pl - 1] == '}') {
			if (sl == 0 || np == VC_ROUTE_MAX_PARAMS)
				return false;
			params[np].at = path;
			params[np].len = sl;
			np++;
		} else if (pl != sl || memcmp(pattern, path, pl) != 0) {
			return false;
		}
		pattern += pl;
		path += sl;
	}
	if (*pattern != '\0' || *path != '\0')
		return false;
	*nparams = np;
	return true;
}

static bool method_matches(const char *route_method, const char *method)
{
	return strcmp(route_method, method) == 0 ||
	       (strcmp(method, "HEAD") == 0 && strcmp(route_method, "GET") == 0);
}

static void allow_add(char *allow, size_t len, const char *method)
{
	size_t used = strlen(allow);

	if (strstr(allow, method) != NULL)
		return;
	snprintf(allow + used, len - used, "%s%s", used ? ", " : "", method);
}

enum vc_route_result vc_router_match(const vc_route_t *routes, size_t n, const char *method,
                                     const char *path, const vc_route_t **found,
                                     vc_route_param_t *params, unsigned *nparams, char *allow,
                                     size_t allow_len)
{
	bool path_seen = false;
	vc_route_param_t scratch[VC_ROUTE_MAX_PARAMS];
	unsigned ns;

	if (allow_len > 0)
		allow[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (!match_path(routes[i].pattern, path, scratch, &ns))
			continue;
		if (method_matches(routes[i].method, method)) {
			memcpy(params, scratch, ns * sizeof(*params));
			*nparams = ns;
			*found = &routes[i];
			return VC_ROUTE_FOUND;
		}
		path_seen = true;
		if (allow_len > 0)
			allow_add(allow, allow_len, routes[i].method);
	}
	return path_seen ? VC_ROUTE_BAD_METHOD : VC_ROUTE_NOT_FOUND;
}
