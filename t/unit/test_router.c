/*
 * test_router.c — route matching: literals, placeholders, 404 vs 405 with
 * Allow, HEAD as GET, no partial or empty-segment matches.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "wire/router.h"

static void h_list(vc_http_req_t *r) { (void)r; }
static void h_create(vc_http_req_t *r) { (void)r; }
static void h_get(vc_http_req_t *r) { (void)r; }
static void h_join(vc_http_req_t *r) { (void)r; }

static const vc_route_t routes[] = {
	{ "GET", "/api/v1/meetings", h_list },
	{ "POST", "/api/v1/meetings", h_create },
	{ "GET", "/api/v1/meetings/{id}", h_get },
	{ "POST", "/api/v1/meetings/{id}/join", h_join },
};

static enum vc_route_result match(const char *method, const char *path, const vc_route_t **r,
				  vc_route_param_t *p, unsigned *np, char *allow)
{
	return vc_router_match(routes, sizeof(routes) / sizeof(routes[0]), method, path, r, p, np, allow, 64);
}

static void test_literal_and_method(void **state)
{
	const vc_route_t *r = NULL;
	vc_route_param_t p[VC_ROUTE_MAX_PARAMS];
	unsigned np = 9;
	char allow[64];

	assert_int_equal(match("GET", "/api/v1/meetings", &r, p, &np, allow), VC_ROUTE_FOUND);
	assert_ptr_equal(r->handler, h_list);
	assert_int_equal(np, 0);
	assert_int_equal(match("POST", "/api/v1/meetings", &r, p, &np, allow), VC_ROUTE_FOUND);
	assert_ptr_equal(r->handler, h_create);
	assert_int_equal(match("HEAD", "/api/v1/meetings", &r, p, &np, allow), VC_ROUTE_FOUND);
	assert_ptr_equal(r->handler, h_list);
}

static void test_placeholders(void **state)
{
	const vc_route_t *r = NULL;
	vc_route_param_t p[VC_ROUTE_MAX_PARAMS];
	unsigned np = 0;
	char allow[64];

	assert_int_equal(match("POST", "/api/v1/meetings/room-1/join", &r, p, &np, allow),
			 VC_ROUTE_FOUND);
	assert_ptr_equal(r->handler, h_join);
	assert_int_equal(np, 1);
	assert_int_equal(p[0].len, 6);
	assert_memory_equal(p[0].at, "room-1", 6);
}

static void test_not_found_and_bad_method(void **state)
{
	const vc_route_t *r = NULL;
	vc_route_param_t p[VC_ROUTE_MAX_PARAMS];
	unsigned np = 0;
	char allow[64];

	assert_int_equal(match("GET", "/api/v1/meeting", &r, p, &np, allow), VC_ROUTE_NOT_FOUND);
	assert_int_equal(match("GET", "/api/v1/meetings/", &r, p, &np, allow),
			 VC_ROUTE_NOT_FOUND); /* empty segment is no id */
	assert_int_equal(match("GET", "/api/v1/meetings/x/join/extra", &r, p, &np, allow),
			 VC_ROUTE_NOT_FOUND);
	assert_int_equal(match("GET", "", &r, p, &np, allow), VC_ROUTE_NOT_FOUND);
	assert_int_equal(match("DELETE", "/api/v1/meetings", &r, p, &np, allow),
			 VC_ROUTE_BAD_METHOD);
	assert_string_equal(allow, "GET, POST");
	assert_int_equal(match("GET", "/api/v1/meetings/x/join", &r, p, &np, allow),
			 VC_ROUTE_BAD_METHOD);
	assert_string_equal(allow, "POST");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_literal_and_method),
		cmocka_unit_test(test_placeholders),
		cmocka_unit_test(test_not_found_and_bad_method),
	};
	return cmocka_run_group_tests_name("router", tests, NULL, NULL);
}
