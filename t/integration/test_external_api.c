/*
 * test_external_api.c — the external API's switches and the application
 * token endpoint (La Suite Meet's, shared/reference/meet-toju-rocketchat-
 * livekit.md §A.1 and §A.3) against a real vcd and PostgreSQL.
 *
 * Three vcds on one database: both switches off (the defaults), only
 * external_api on, and both on. Off, every /external-api/ path answers what
 * an unknown path answers. On, Meet's token test list is ported one by one
 * (test_external_api_token.py), with the claims decoded and the signature
 * checked; the vcctl apps verbs; no secret in the database or the log.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <sodium.h>
#include <string.h>
#include <time.h>

#include "t/lib/vctest.h"

#define TOKEN "/external-api/v1.0/application/token/"
#define FORM "Content-Type: application/x-www-form-urlencoded\r\n"
#define JSON "Content-Type: application/json\r\n"
#define E_CREDS "{\"detail\":\"Invalid credentials\"}"
#define SECRET "s3cr3t&=+%25-never-logged"
#define SECRET_PLAIN "s3cr3t&=+%-never-logged"
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#define JWT_KEY "external-api-test-key"
#define GRANT "&grant_type=client_credentials"

static char *db_url;
static char alice_id[40], bob_id[40];
/* secrets handed out, for the log check */
static char *secrets[16];
static size_t nsecrets;
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

/* Both switches reload: on with vcctl config reload, off again. */
static void test_switches_reload(void **state)
{
	json_t *o;
	char *b;

	vct_vcd_write_conf(half, "external_api = on\nexternal_api_applications = on\n");
	o = vct_vcctl_json(half, (const char *const[]){ "config", "reload", NULL });
	json_decref(o);
	assert_int_equal(req(half, "POST", TOKEN, "Content-Type: text/plain\r\n", "x", &b, NULL),
	                 415);
	free(b);
	vct_vcd_write_conf(half, "");
	o = vct_vcctl_json(half, (const char *const[]){ "config", "reload", NULL });
	json_decref(o);
	assert_like_unknown(half, "POST", TOKEN, "Content-Type: text/plain\r\n", "x");
	vct_vcd_write_conf(half, "external_api = on\n");
	o = vct_vcctl_json(half, (const char *const[]){ "config", "reload", NULL });
	json_decref(o);
	assert_like_unknown(half, "POST", TOKEN, FORM, "client_id=a");
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

	/* scopes set: exactly these, once each; none at all */
	o = vct_vcctl_json(on, (const char *const[]){ "apps", "scopes", "set", ida, "rooms:delete",
	                                              "rooms:list", "rooms:delete", NULL });
	assert_int_equal(json_array_size(json_object_get(o, "scopes")), 2);
	assert_string_equal(json_string_value(json_array_get(json_object_get(o, "scopes"), 0)),
	                    "rooms:delete");
	json_decref(o);
	n = vct_db_valuef(db_url, "SELECT scopes::text FROM applications WHERE client_id = '%s'",
	                  ida);
	assert_string_equal(n, "{rooms:delete,rooms:list}");
	free(n);
	o = vct_vcctl_json(on, (const char *const[]){ "apps", "scopes", "set", ida, NULL });
	assert_int_equal(json_array_size(json_object_get(o, "scopes")), 0);
	json_decref(o);
	vct_vcctl(&c, on, false,
	          (const char *const[]){ "apps", "scopes", "set", ida, "rooms:admin", NULL });
	vct_expect_exit(&c, 1);
	vct_cmd_free(&c);

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

/* --- the token endpoint with applications ---------------------------------------- */

typedef struct app {
	char id[41];
	char secret[129];
} app_t;

static void app_new(app_t *a, const char *const *words)
{
	json_t *j = app_create(words);

	snprintf(a->id, sizeof(a->id), "%s", vct_json_str(j, "client_id"));
	snprintf(a->secret, sizeof(a->secret), "%s", vct_json_str(j, "client_secret"));
	if (nsecrets < ARRAY_LEN(secrets))
		secrets[nsecrets++] = strdup(a->secret);
	json_decref(j);
}

/* A form request for a token; the response body parsed into *out. */
static int token_form(const char *id, const char *secret, const char *email, json_t **out)
{
	char *esc = vct_strf("%s", email), *body, *b;
	int st;

	/* '@' percent-encoded as a form encoder would */
	for (char *at; (at = strchr(esc, '@')) != NULL;) {
		char *n = vct_strf("%.*s%%40%s", (int)(at - esc), esc, at + 1);
		free(esc);
		esc = n;
	}
	body = vct_strf("client_id=%s&client_secret=%s" GRANT "&scope=%s", id, secret, esc);
	st = req(on, "POST", TOKEN, FORM, body, &b, NULL);
	*out = json_loads(b, 0, NULL);
	assert_non_null(*out);
	free(b);
	free(body);
	free(esc);
	return st;
}

static void expect_token(const char *id, const char *secret, const char *email, int status,
                         const char *want)
{
	json_t *j;
	char *got;

	assert_int_equal(token_form(id, secret, email, &j), status);
	got = json_dumps(j, JSON_COMPACT);
	assert_string_equal(got, want);
	free(got);
	json_decref(j);
}

/* The payload of a JWT whose HS256 signature with JWT_KEY is checked. */
static json_t *jwt_payload(const char *jwt)
{
	const char *d1 = strchr(jwt, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
	unsigned char mac[crypto_auth_hmacsha256_BYTES], buf[4096];
	char sig[128];
	size_t n;
	json_t *p;

	assert_non_null(d2);
	crypto_auth_hmacsha256_state st;
	crypto_auth_hmacsha256_init(&st, (const unsigned char *)JWT_KEY, strlen(JWT_KEY));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)jwt, (size_t)(d2 - jwt));
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_bin2base64(sig, sizeof(sig), mac, sizeof(mac),
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	assert_string_equal(sig, d2 + 1);
	assert_int_equal(sodium_base642bin(buf, sizeof(buf) - 1, d1 + 1, (size_t)(d2 - d1 - 1),
	                                   NULL, &n, NULL,
	                                   sodium_base64_VARIANT_URLSAFE_NO_PADDING),
	                 0);
	buf[n] = '\0';
	p = json_loads((const char *)buf, 0, NULL);
	assert_non_null(p);
	return p;
}

/* ..._generate_token_success, ..._form_urlencoded, ..._domain_authorized,
 * test_api_applications_token_payload_structure: 200, the body, the exact
 * claim set; the e-mail matched without regard to case. */
static void test_token_success(void **state)
{
	app_t a;
	json_t *j, *p;
	char *rest, *body, *b;
	int64_t before = (int64_t)time(NULL);
	char *users = vct_db_value(db_url, "SELECT count(*) FROM users"), *after;

	app_new(&a,
	        (const char *const[]){ "apps", "create", "Ok", "--scope", "rooms:list", "--scope",
	                               "rooms:create", "--domain", "example.com", NULL });
	assert_int_equal(token_form(a.id, a.secret, "ALICE@Example.com", &j), 200);
	p = jwt_payload(vct_json_str(j, "access_token"));
	json_object_del(j, "access_token");
	rest = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(rest, "{\"expires_in\":3600,\"scope\":\"rooms:list rooms:create\","
	                          "\"token_type\":\"Bearer\"}");
	free(rest);
	assert_int_equal(json_object_size(p), 8);
	assert_string_equal(vct_json_str(p, "iss"), "vcd");
	assert_string_equal(vct_json_str(p, "aud"), "vcd-external-api");
	assert_string_equal(vct_json_str(p, "client_id"), a.id);
	assert_string_equal(vct_json_str(p, "user_id"), alice_id);
	assert_string_equal(vct_json_str(p, "scope"), "rooms:list rooms:create");
	assert_true(json_is_true(json_object_get(p, "delegated")));
	assert_int_equal(json_integer_value(json_object_get(p, "exp")) -
	                         json_integer_value(json_object_get(p, "iat")),
	                 3600);
	assert_true(json_integer_value(json_object_get(p, "iat")) >= before);
	assert_true(json_integer_value(json_object_get(p, "iat")) <= (int64_t)time(NULL));
	json_decref(p);
	json_decref(j);

	/* JSON body */
	body = vct_strf("{\"client_id\":\"%s\",\"client_secret\":\"%s\","
	                "\"grant_type\":\"client_credentials\",\"scope\":\"alice@example.com\"}",
	                a.id, a.secret);
	assert_int_equal(req(on, "POST", TOKEN, JSON, body, &b, NULL), 200);
	free(b);
	free(body);

	/* ..._token_existing_user: no account is made */
	after = vct_db_value(db_url, "SELECT count(*) FROM users");
	assert_string_equal(users, after);
	free(users);
	free(after);
	vct_pass();
}

/* An application without scope: no "scope" in the body, "" in the token;
 * without domains, any domain. */
static void test_token_no_scope(void **state)
{
	app_t a;
	json_t *j, *p;

	app_new(&a, (const char *const[]){ "apps", "create", "NoScope", NULL });
	assert_int_equal(token_form(a.id, a.secret, "bob@other.example", &j), 200);
	assert_null(json_object_get(j, "scope"));
	p = jwt_payload(vct_json_str(j, "access_token"));
	assert_string_equal(vct_json_str(p, "scope"), "");
	assert_string_equal(vct_json_str(p, "user_id"), bob_id);
	json_decref(p);
	json_decref(j);
	vct_pass();
}

/* ..._invalid_client_id / ..._invalid_client_secret /
 * ..._form_urlencoded_invalid_credentials: one vague 401. */
static void test_token_bad_credentials(void **state)
{
	app_t a;

	app_new(&a, (const char *const[]){ "apps", "create", "Creds", NULL });
	expect_token("x", a.secret, "alice@example.com", 401, E_CREDS);
	expect_token("A123456789012345678901234567890123456789", a.secret, "alice@example.com", 401,
	             E_CREDS);
	expect_token(a.id, "wrong", "alice@example.com", 401, E_CREDS);
	vct_pass();
}

/* ..._inactive_application / ..._inactive_application_wrong_secret. */
static void test_token_inactive(void **state)
{
	app_t a;
	json_t *o;

	app_new(&a, (const char *const[]){ "apps", "create", "Sleepy", NULL });
	o = vct_vcctl_json(on, (const char *const[]){ "apps", "disable", a.id, NULL });
	json_decref(o);
	expect_token(a.id, a.secret, "alice@example.com", 401,
	             "{\"detail\":\"Application is inactive\"}");
	expect_token(a.id, "wrong", "alice@example.com", 401, E_CREDS);
	o = vct_vcctl_json(on, (const char *const[]){ "apps", "enable", a.id, NULL });
	json_decref(o);
	expect_token(a.id, "wrong", "not an e-mail", 401, E_CREDS);
	vct_pass();
}

/* ..._invalid_email_format, ..._domain_not_authorized, ..._user_not_found,
 * several accounts with one address (409). */
static void test_token_refusals(void **state)
{
	app_t a;

	app_new(&a, (const char *const[]){ "apps", "create", "Picky", "--scope", "rooms:list",
	                                   "--domain", "example.com", NULL });
	expect_token(a.id, a.secret, "not-an-email", 400,
	             "{\"error\":\"Scope should be a valid email address.\"}");
	expect_token(a.id, a.secret, "bob@other.example", 403,
	             "{\"error\":\"This application is not authorized for this email domain.\"}");
	expect_token(a.id, a.secret, "nobody@example.com", 404, "{\"detail\":\"User not found.\"}");
	expect_token(a.id, a.secret, "twin@example.com", 409,
	             "{\"error\":\"Failed to create or retrieve provisional user.\"}");
	vct_pass();
}

/* rotate-secret: the old secret stops working, the new one works. */
static void test_token_rotate(void **state)
{
	app_t a;
	json_t *r, *j;

	app_new(&a, (const char *const[]){ "apps", "create", "Rotating", NULL });
	r = vct_vcctl_json(on, (const char *const[]){ "apps", "rotate-secret", a.id, NULL });
	expect_token(a.id, a.secret, "alice@example.com", 401, E_CREDS);
	assert_int_equal(token_form(a.id, vct_json_str(r, "client_secret"), "alice@example.com",
	                            &j),
	                 200);
	if (nsecrets < ARRAY_LEN(secrets))
		secrets[nsecrets++] = strdup(vct_json_str(r, "client_secret"));
	json_decref(j);
	json_decref(r);
	vct_pass();
}

/* No secret a client sent reaches the log. */
static void test_log_holds_no_secret(void **state)
{
	char *log = vct_vcd_log(on);

	assert_true(vct_vcd_log_has(on, "token refused"));
	assert_null(strstr(log, "never-logged"));
	for (size_t i = 0; i < nsecrets; i++)
		if (strstr(log, secrets[i]) != NULL)
			fail_msg("the log holds an application secret");
	for (size_t i = 0; i < nsecrets; i++) {
		char *n = vct_db_valuef(db_url,
		                        "SELECT count(*) FROM applications a"
		                        " WHERE position('%s' in a::text) > 0",
		                        secrets[i]);
		assert_string_equal(n, "0");
		free(n);
	}
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
	                   "external_api = on\nexternal_api_applications = on\n"
	                   "auth_rate_limit = off\njwt_secret = " JWT_KEY "\n");
	vct_vcd_keep(on);
	vct_register(on->port, "alice", "alice@example.com", alice_id);
	vct_register(on->port, "bob", "bob@other.example", bob_id);
	vct_register(on->port, "twin1", "twin@example.com", NULL);
	vct_register(on->port, "twin2", "TWIN@example.com", NULL);
	return 0;
}

static int group_teardown(void **state)
{
	int rc = vct_vcd_finish(off);

	rc |= vct_vcd_finish(half);
	rc |= vct_vcd_finish(on);
	free(db_url);
	for (size_t i = 0; i < nsecrets; i++)
		free(secrets[i]);
	return rc;
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, vct_setup, vct_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		/* clang-format off */
		T(test_disabled_is_unknown_path),
		T(test_applications_disabled),
		T(test_switches_reload),
		T(test_unsupported_media_type),
		T(test_missing_fields),
		T(test_invalid_grant_type),
		T(test_unknown_client_id),
		T(test_apps_verbs),
		T(test_token_success),
		T(test_token_no_scope),
		T(test_token_bad_credentials),
		T(test_token_inactive),
		T(test_token_refusals),
		T(test_token_rotate),
		T(test_log_holds_no_secret), /* last: reads the log */
		/* clang-format on */
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
