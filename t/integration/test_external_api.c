/*
 * test_external_api.c — the external API's switches and the application
 * token endpoint (La Suite Meet's, shared/reference/meet-toju-rocketchat-
 * livekit.md §A.1 and §A.3) against a real vcd and PostgreSQL.
 *
 * Three vcds on one database: both switches off (the defaults), only
 * external_api on, and both on. Off, every /external-api/ path answers what
 * an unknown path answers. On, the token endpoint checks the media type
 * (415), then the fields (400), then the credentials: no application table
 * exists yet (issue 9 item 2), so every client id is unknown (401).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "t/lib/vctest.h"

#define TOKEN "/external-api/v1.0/application/token/"
#define FORM "Content-Type: application/x-www-form-urlencoded\r\n"
#define JSON "Content-Type: application/json\r\n"
#define E_CREDS "{\"detail\":\"Invalid credentials\"}"
#define SECRET "s3cr3t&=+%25-never-logged"
#define SECRET_PLAIN "s3cr3t&=+%-never-logged"
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static char *db_url;
static vct_vcd_t *off;  /* defaults: both switches off */
static vct_vcd_t *half; /* external_api on, applications off */
static vct_vcd_t *on;   /* both on */

/* status and body of one request; the body is returned (allocated). */
static int req(vct_vcd_t *v, const char *method, const char *path, const char *headers,
               const char *body, char **out_body, char **out_ctype)
{
	vct_resp_t r;
	int st = vct_http(v->port, method, path, headers, body, &r);
	const char *ct = vct_resp_header(&r, "Content-Type");

	if (out_body != NULL)
		*out_body = strdup(r.body ? r.body : "");
	if (out_ctype != NULL)
		*out_ctype = ct ? strdup(ct) : NULL;
	vct_resp_free(&r);
	return st;
}

/* The answer to `method path` equals the answer to an unknown path. */
static void assert_like_unknown(vct_vcd_t *v, const char *method, const char *path,
                                const char *headers, const char *body)
{
	char *b1, *c1, *b2, *c2;
	int s1 = req(v, method, path, headers, body, &b1, &c1);
	int s2 = req(v, method, "/no-such-path/at-all", headers, body, &b2, &c2);

	assert_int_equal(s1, 404);
	assert_int_equal(s1, s2);
	assert_string_equal(b1, b2);
	assert_string_equal(b1, "");
	assert_true((c1 == NULL && c2 == NULL) || (c1 && c2 && strcmp(c1, c2) == 0));
	free(b1);
	free(b2);
	free(c1);
	free(c2);
}

/* §A.1: off (the default), every /external-api/ path, every method, is the
 * router's plain 404. */
static void test_disabled_is_unknown_path(void **state)
{
	static const char *const paths[] = {
		TOKEN,
		"/external-api/",
		"/external-api/v1.0/rooms/",
		"/external-api/v1.0/application/token",
		"/external-api/nothing",
	};
	static const char *const methods[] = { "GET", "POST", "PUT", "DELETE" };

	for (size_t i = 0; i < ARRAY_LEN(paths); i++)
		for (size_t j = 0; j < ARRAY_LEN(methods); j++)
			assert_like_unknown(off, methods[j], paths[i], FORM,
			                    "client_id=a&client_secret=b");
	vct_pass();
}

/* §A.1 (test_api_applications_generate_token_application_disabled):
 * applications off, the token endpoint 404s. */
static void test_applications_disabled(void **state)
{
	assert_like_unknown(half, "POST", TOKEN, FORM,
	                    "client_id=a&client_secret=b&grant_type=client_credentials"
	                    "&scope=a%40example.com");
	assert_like_unknown(half, "POST", TOKEN, JSON, "{}");
	vct_pass();
}

/* ..._unsupported_media_type: text/plain gives 415 (as does a body
 * without a type). */
static void test_unsupported_media_type(void **state)
{
	char *b;

	assert_int_equal(req(on, "POST", TOKEN, "Content-Type: text/plain\r\n", "client_id=a", &b,
	                     NULL),
	                 415);
	free(b);
	assert_int_equal(req(on, "POST", TOKEN, NULL, "client_id=a", &b, NULL), 415);
	free(b);
	vct_pass();
}

/* ..._form_urlencoded_missing_fields: 400 naming each missing field. */
static void test_missing_fields(void **state)
{
	static const char *const bodies[] = { "", "grant_type=client_credentials", "{}" };
	static const char *const types[] = { FORM, FORM, JSON };

	for (size_t i = 0; i < ARRAY_LEN(bodies); i++) {
		char *b;
		json_t *doc;

		assert_int_equal(req(on, "POST", TOKEN, types[i], bodies[i], &b, NULL), 400);
		doc = json_loads(b, 0, NULL);
		assert_non_null(doc);
		assert_non_null(json_object_get(doc, "client_id"));
		assert_non_null(json_object_get(doc, "client_secret"));
		assert_non_null(json_object_get(doc, "scope"));
		assert_true((json_object_get(doc, "grant_type") != NULL) == (i != 1));
		json_decref(doc);
		free(b);
	}
	vct_pass();
}

/* ..._form_urlencoded_invalid_grant_type: authorization_code is refused. */
static void test_invalid_grant_type(void **state)
{
	char *b;
	json_t *doc;

	assert_int_equal(req(on, "POST", TOKEN, FORM,
	                     "client_id=a&client_secret=b&grant_type=authorization_code"
	                     "&scope=a%40example.com",
	                     &b, NULL),
	                 400);
	doc = json_loads(b, 0, NULL);
	assert_non_null(doc);
	assert_non_null(json_object_get(doc, "grant_type"));
	assert_int_equal(json_object_size(doc), 1);
	json_decref(doc);
	free(b);
	vct_pass();
}

/* ..._invalid_client_id, form and JSON: the vague 401. */
static void test_unknown_client_id(void **state)
{
	char *b;

	assert_int_equal(req(on, "POST", TOKEN, FORM,
	                     "client_id=nobody&client_secret=" SECRET
	                     "&grant_type=client_credentials&scope=a%40example.com",
	                     &b, NULL),
	                 401);
	assert_string_equal(b, E_CREDS);
	free(b);
	assert_int_equal(req(on, "POST", TOKEN, "Content-Type: application/json; charset=utf-8\r\n",
	                     "{\"client_id\":\"nobody\",\"client_secret\":\"" SECRET_PLAIN "\","
	                     "\"grant_type\":\"client_credentials\",\"scope\":\"a@example.com\"}",
	                     &b, NULL),
	                 401);
	assert_string_equal(b, E_CREDS);
	free(b);
	vct_pass();
}

/* vcctl apps create: a 40-character client id and a 128-character secret
 * of letters and digits, shown once; the database holds only an Argon2id
 * hash; no scope unless given; domains lower-cased. */
static json_t *app_create(const char *const *words)
{
	json_t *app = vct_vcctl_json(on, words);
	const char *id = json_string_value(json_object_get(app, "client_id"));
	const char *secret = json_string_value(json_object_get(app, "client_secret"));

	assert_non_null(id);
	assert_non_null(secret);
	assert_int_equal(strlen(id), 40);
	assert_int_equal(strlen(secret), 128);
	for (size_t i = 0; i < 128; i++)
		assert_true(isalnum((unsigned char)secret[i]));
	return app;
}

static void test_apps_verbs(void **state)
{
	json_t *a = app_create((const char *const[]){ "apps", "create", "Bare", NULL });
	json_t *b = app_create((const char *const[]){
	        "apps", "create", "Full", "--scope", "rooms:list", "--domain", " Example.COM ",
	        "--scope", "rooms:create", "--scope", "rooms:list", NULL });
	const char *ida = json_string_value(json_object_get(a, "client_id"));
	const char *idb = json_string_value(json_object_get(b, "client_id"));
	const char *sb = json_string_value(json_object_get(b, "client_secret"));
	char *hash, *n;
	json_t *o, *r;
	vct_cmd_t c;

	assert_int_equal(json_array_size(json_object_get(a, "scopes")), 0);
	assert_int_equal(json_array_size(json_object_get(a, "domains")), 0);
	o = json_object_get(b, "scopes");
	assert_int_equal(json_array_size(o), 2);
	assert_string_equal(json_string_value(json_array_get(o, 0)), "rooms:list");
	assert_string_equal(json_string_value(json_array_get(o, 1)), "rooms:create");
	assert_string_equal(json_string_value(json_array_get(json_object_get(b, "domains"), 0)),
	                    "example.com");

	/* only a slow hash in the database */
	hash = vct_db_valuef(db_url, "SELECT secret_hash FROM applications WHERE client_id = '%s'",
	                     idb);
	assert_non_null(hash);
	assert_true(strncmp(hash, "$argon2id$", 10) == 0);
	free(hash);
	n = vct_db_valuef(db_url,
	                  "SELECT count(*) FROM applications a WHERE position('%s' in a::text) > 0",
	                  sb);
	assert_string_equal(n, "0");
	free(n);

	/* show, disable, enable, domains */
	o = vct_vcctl_json(on, (const char *const[]){ "apps", "show", idb, NULL });
	assert_string_equal(json_string_value(json_object_get(o, "name")), "Full");
	assert_true(json_is_true(json_object_get(o, "active")));
	assert_null(json_object_get(o, "client_secret"));
	json_decref(o);
	o = vct_vcctl_json(on, (const char *const[]){ "apps", "disable", ida, NULL });
	assert_true(json_is_false(json_object_get(o, "active")));
	json_decref(o);
	o = vct_vcctl_json(on, (const char *const[]){ "apps", "enable", ida, NULL });
	assert_true(json_is_true(json_object_get(o, "active")));
	json_decref(o);
	o = vct_vcctl_json(on,
	                   (const char *const[]){ "apps", "domains", "add", ida, "A.org", NULL });
	assert_string_equal(json_string_value(json_object_get(o, "domain")), "a.org");
	assert_true(json_is_true(json_object_get(o, "added")));
	json_decref(o);
	o = vct_vcctl_json(on,
	                   (const char *const[]){ "apps", "domains", "add", ida, "a.org", NULL });
	assert_true(json_is_false(json_object_get(o, "added")));
	json_decref(o);
	o = vct_vcctl_json(on, (const char *const[]){ "apps", "domains", "remove", ida, "a.org",
	                                              NULL });
	assert_true(json_is_true(json_object_get(o, "removed")));
	json_decref(o);

	/* refusals */
	vct_vcctl(&c, on, false,
	          (const char *const[]){ "apps", "create", "X", "--scope", "admin", NULL });
	vct_expect_exit(&c, 1);
	vct_cmd_free(&c);
	vct_vcctl(&c, on, false,
	          (const char *const[]){ "apps", "domains", "add", ida, "not a domain", NULL });
	vct_expect_exit(&c, 1);
	vct_cmd_free(&c);
	vct_vcctl(&c, on, false, (const char *const[]){ "apps", "show", "nope", NULL });
	vct_expect_exit(&c, 1);
	vct_cmd_free(&c);

	/* rotate: a new secret, a new hash */
	r = vct_vcctl_json(on, (const char *const[]){ "apps", "rotate-secret", ida, NULL });
	assert_int_equal(strlen(json_string_value(json_object_get(r, "client_secret"))), 128);
	assert_string_not_equal(json_string_value(json_object_get(r, "client_secret")),
	                        json_string_value(json_object_get(a, "client_secret")));
	json_decref(r);

	/* list, delete */
	o = vct_vcctl_json(on, (const char *const[]){ "apps", "list", NULL });
	assert_true(json_array_size(o) >= 2);
	json_decref(o);
	o = vct_vcctl_json(on, (const char *const[]){ "apps", "delete", ida, NULL });
	assert_string_equal(json_string_value(json_object_get(o, "deleted")), ida);
	json_decref(o);
	vct_vcctl(&c, on, false, (const char *const[]){ "apps", "show", ida, NULL });
	vct_expect_exit(&c, 1);
	vct_cmd_free(&c);
	json_decref(a);
	json_decref(b);
	vct_pass();
}

/* No secret a client sent reaches the log. */
static void test_log_holds_no_secret(void **state)
{
	char *log = vct_vcd_log(on);

	assert_true(vct_vcd_log_has(on, "token refused"));
	assert_null(strstr(log, "never-logged"));
	free(log);
	vct_pass();
}

static int group_setup(void **state)
{
	db_url = vct_db_create("external_api");
	off = vct_vcd_start("xapi_off", db_url, "");
	vct_vcd_keep(off);
	half = vct_vcd_start("xapi_half", db_url, "external_api = on\n");
	vct_vcd_keep(half);
	on = vct_vcd_start("xapi_on", db_url,
	                   "external_api = on\nexternal_api_applications = on\n");
	vct_vcd_keep(on);
	return 0;
}

static int group_teardown(void **state)
{
	int rc = vct_vcd_finish(off);

	rc |= vct_vcd_finish(half);
	rc |= vct_vcd_finish(on);
	free(db_url);
	return rc;
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, vct_setup, vct_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		/* clang-format off */
		T(test_disabled_is_unknown_path),
		T(test_applications_disabled),
		T(test_unsupported_media_type),
		T(test_missing_fields),
		T(test_invalid_grant_type),
		T(test_unknown_client_id),
		T(test_apps_verbs),
		T(test_log_holds_no_secret), /* last: reads the log */
		/* clang-format on */
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
