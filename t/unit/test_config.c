/*
 * test_config.c — runtime/config.c: defaults, the file format, every value
 * type, precedence (default < file < environment < command line), error
 * messages, secret redaction, the reload diff.
 *
 * The unit under test is included so the one type no key uses yet (bool)
 * can be exercised through its parser; everything else goes through the
 * public API. The environment is always a fixed array, never the process's.
 */
#include "runtime/config.c"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#define DB "postgresql://vcd:s3cr3t-pw@db.example/vcd"

static char *const env_db[] = { "DATABASE_URL=" DB, NULL };

/* A config file with this text; the path is valid until the test ends. */
static char tmp_path[64];

static const char *write_conf(const char *text)
{
	int fd;

	snprintf(tmp_path, sizeof(tmp_path), "/tmp/test_config.XXXXXX");
	fd = mkstemp(tmp_path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return tmp_path;
}

static void drop_conf(void)
{
	if (tmp_path[0] != '\0')
		unlink(tmp_path);
	tmp_path[0] = '\0';
}

/* Load with one override and the database env; must succeed. */
static vc_config_t *load_flag(const char *flag)
{
	char err[512] = "";
	char *ov[] = { (char *)flag };
	vc_config_t *c = vc_config_load(NULL, ov, 1, env_db, err, sizeof(err));

	if (c == NULL)
		fail_msg("%s: %s", flag, err);
	return c;
}

/* Load with one override; must fail with exactly `expected`. */
static void bad_flag(const char *flag, const char *expected)
{
	char err[512] = "";
	char *ov[] = { (char *)flag };
	vc_config_t *c = vc_config_load(NULL, ov, 1, env_db, err, sizeof(err));

	if (c != NULL) {
		vc_config_free(c);
		fail_msg("%s was accepted", flag);
	}
	assert_string_equal(err, expected);
}

static const char *json_value_str(json_t *j, const char *key)
{
	return json_string_value(json_object_get(json_object_get(j, key), "value"));
}

static const char *json_source(json_t *j, const char *key)
{
	return json_string_value(json_object_get(json_object_get(j, key), "source"));
}

/* --- defaults ------------------------------------------------------------- */

static void test_defaults(void **state)
{
	char err[512] = "";
	vc_config_t *c = vc_config_load(NULL, NULL, 0, env_db, err, sizeof(err));

	assert_non_null(c);
	assert_string_equal(c->listen, "127.0.0.1:8081");
	assert_int_equal(c->workers, (unsigned)sysconf(_SC_NPROCESSORS_ONLN));
	assert_string_equal(c->database_url, DB);
	assert_int_equal(c->db_pool_size, 1);
	assert_string_equal(c->migrations_dir, VC_PKGDATADIR "/sql");
	assert_string_equal(c->admin_socket, VC_RUNSTATEDIR "/vcd.sock");
	assert_int_equal(c->log_level, VC_LOG_INFO);
	assert_int_equal(c->max_connections, 10000);
	assert_int_equal(c->max_body, 1024 * 1024);
	assert_int_equal(c->max_header_size, 8192);
	assert_int_equal(c->max_uri, 8192);
	assert_true(c->request_timeout == 30.0);
	assert_true(c->idle_timeout == 60.0);
	assert_true(c->shutdown_timeout == 10.0);
	assert_string_equal(c->cors_allowed_origin, "");
	vc_config_free(c);
	assert_string_equal(vc_config_default_path(), VC_SYSCONFDIR "/vcd/vcd.conf");
}

static void test_workers_auto(void **state)
{
	vc_config_t *c = load_flag("workers=4");
	assert_int_equal(c->workers, 4);
	vc_config_free(c);
	c = load_flag("workers=AUTO");
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	assert_int_equal(c->workers, (unsigned)(n < 1 ? 1 : n > 256 ? 256 : n));
	json_t *j = vc_config_to_json(c);
	assert_string_equal(json_value_str(j, "workers"), "auto");
	json_decref(j);
	vc_config_free(c);
	bad_flag("workers=0", "command line: workers = '0': expected auto or an integer "
			      "from 1 to 256");
	bad_flag("workers=257", "command line: workers = '257': expected auto or an integer "
				"from 1 to 256");
	bad_flag("workers=many", "command line: workers = 'many': expected auto or an integer "
				 "from 1 to 256");
}

/* --- the file ------------------------------------------------------------- */

static void test_file(void **state)
{
	char err[512] = "";
	const char *path = write_conf(
		"# vcd.conf\n"
		"\n"
		"   # an indented comment\n"
		"listen = 0.0.0.0:9000   # a comment after the value\n"
		"log_level=debug\n"
		"max-body = 2m\r\n"
		"cors_allowed_origin = \"https://a.example\"  # quoted\n"
		"admin_socket = \"/tmp/with # hash.sock\"\n"
		"migrations_dir = /srv/sql#not-a-comment\n"
		"\t db_pool_size\t=\t5\t\n"
		"max_connections = 100\n"
		"max_connections = 200\n");
	vc_config_t *c = vc_config_load(path, NULL, 0, env_db, err, sizeof(err));

	if (c == NULL)
		fail_msg("%s", err);
	assert_string_equal(c->listen, "0.0.0.0:9000");
	assert_int_equal(c->log_level, VC_LOG_DEBUG);
	assert_int_equal(c->max_body, 2 * 1024 * 1024);
	assert_string_equal(c->cors_allowed_origin, "https://a.example");
	assert_string_equal(c->admin_socket, "/tmp/with # hash.sock");
	assert_string_equal(c->migrations_dir, "/srv/sql#not-a-comment");
	assert_int_equal(c->db_pool_size, 5);
	assert_int_equal(c->max_connections, 200); /* the last one wins */
	json_t *j = vc_config_to_json(c);
	assert_string_equal(json_source(j, "listen"), "file");
	assert_string_equal(json_source(j, "workers"), "default");
	assert_string_equal(json_value_str(j, "max_body"), "2m");
	json_decref(j);
	vc_config_free(c);
	drop_conf();
}

static void file_fails(const char *text, const char *expected_after_path)
{
	char err[512] = "", want[600];
	const char *path = write_conf(text);
	vc_config_t *c = vc_config_load(path, NULL, 0, env_db, err, sizeof(err));

	assert_null(c);
	snprintf(want, sizeof(want), "%s%s", path, expected_after_path);
	assert_string_equal(err, want);
	drop_conf();
}

static void test_file_errors(void **state)
{
	file_fails("# ok\nlisten = 127.0.0.1:1\nnope = 1\n",
		   ":3: unknown key 'nope' (vcd --list-keys lists them)");
	file_fails("\nmax_body 2m\n", ":2: expected key = value (this line has no '=')");
	file_fails(" = 2m\n", ":1: expected key = value (no key before '=')");
	file_fails("max_body = 12q\n", ":1: max_body = '12q': expected a size such as 1048576, "
				       "64k or 1m, from 1k to 1g");
	file_fails("listen = \"127.0.0.1:80\n", ":1: listen = '\"127.0.0.1:80': expected a "
						"closing double quote");
	file_fails("listen = \"127.0.0.1:80\" x\n", ":1: listen = '\"127.0.0.1:80\" x': "
						    "expected nothing but a # comment after "
						    "the closing quote");
	/* A URL pasted without a key: neither echoed nor taken for a key. */
	file_fails("postgresql://u:pw@h/db?sslmode=require\n",
		   ":1: expected key = value, where key is a name such as max_body");

	char err[512] = "";
	assert_null(vc_config_load("/nonexistent/vcd.conf", NULL, 0, env_db, err, sizeof(err)));
	assert_string_equal(err, "cannot open config file /nonexistent/vcd.conf: "
				 "No such file or directory");
}

/* --- every type ----------------------------------------------------------- */

static void test_uint(void **state)
{
	vc_config_t *c = load_flag("db_pool_size=64");
	assert_int_equal(c->db_pool_size, 64);
	vc_config_free(c);
	c = load_flag("max_connections=1000000");
	assert_int_equal(c->max_connections, 1000000);
	vc_config_free(c);

	static const char *const bad[] = { "0", "65", "-1", "+2", "2x", "", " 2", "0x10",
					   "99999999999999999999999" };
	char flag[64], want[256];
	for (size_t i = 0; i < VC_ARRAY_LEN(bad); i++) {
		snprintf(flag, sizeof(flag), "db_pool_size=%s", bad[i]);
		snprintf(want, sizeof(want), "command line: db_pool_size = '%s': expected an "
					     "integer from 1 to 64", bad[i]);
		bad_flag(flag, want);
	}
}

static void test_size(void **state)
{
	static const struct { const char *flag; size_t v; } good[] = {
		{ "max_body=1024", 1024 }, { "max_body=2M", 2u << 20 },
		{ "max_body=1g", 1u << 30 }, { "max_body=64k", 64u << 10 },
		{ "max_uri=256", 256 }, { "max_uri=1m", 1u << 20 },
		{ "max_header_size=1K", 1024 },
	};
	for (size_t i = 0; i < VC_ARRAY_LEN(good); i++) {
		vc_config_t *c = load_flag(good[i].flag);
		size_t got = strncmp(good[i].flag, "max_body", 8) == 0 ? c->max_body
			     : strncmp(good[i].flag, "max_uri", 7) == 0 ? c->max_uri
									  : c->max_header_size;
		assert_int_equal(got, good[i].v);
		vc_config_free(c);
	}

	static const char *const bad[] = { "12q", "-1k", "1kb", "k", "", "1.5m", "1 k", "2g",
					   "1023", "18446744073709551616",
					   "17179869184g", "99999999999999999999k" };
	char flag[64], want[256];
	for (size_t i = 0; i < VC_ARRAY_LEN(bad); i++) {
		snprintf(flag, sizeof(flag), "max_body=%s", bad[i]);
		snprintf(want, sizeof(want), "command line: max_body = '%s': expected a size "
					     "such as 1048576, 64k or 1m, from 1k to 1g", bad[i]);
		bad_flag(flag, want);
	}
	bad_flag("max_uri=255", "command line: max_uri = '255': expected a size such as "
				"1048576, 64k or 1m, from 256 to 1m");
	bad_flag("max-header-size=2m", "command line: max_header_size = '2m': expected a size "
				       "such as 1048576, 64k or 1m, from 1k to 64k");
}

static void test_duration(void **state)
{
	static const struct { const char *flag; double v; } good[] = {
		{ "request_timeout=30", 30 }, { "request_timeout=1.5", 1.5 },
		{ "request_timeout=500ms", 0.5 }, { "request_timeout=5m", 300 },
		{ "request_timeout=1h", 3600 }, { "request_timeout=2S", 2 },
		{ "request_timeout=.25", 0.25 }, { "request_timeout=1ms", 0.001 },
		{ "request_timeout=24h", 86400 },
	};
	for (size_t i = 0; i < VC_ARRAY_LEN(good); i++) {
		vc_config_t *c = load_flag(good[i].flag);
		assert_true(c->request_timeout == good[i].v);
		vc_config_free(c);
	}

	static const char *const bad[] = { "0", "0s", "-1s", "1e3", "1..5", ".", "10x", "",
					   "25h", "0.5ms", "inf", "nan", "1.5.2", "s", "1 s",
					   "999999999999999999999999999999h" };
	char flag[64], want[256];
	for (size_t i = 0; i < VC_ARRAY_LEN(bad); i++) {
		snprintf(flag, sizeof(flag), "idle_timeout=%s", bad[i]);
		snprintf(want, sizeof(want), "command line: idle_timeout = '%s': expected a "
					     "duration such as 30, 1.5, 500ms, 30s, 5m, 1h or 7d, "
					     "from 1ms to 24h", bad[i]);
		bad_flag(flag, want);
	}
}

static void test_bool(void **state)
{
	static const char *const yes[] = { "true", "YES", "on", "1" };
	static const char *const no[] = { "false", "No", "OFF", "0" };
	static const char *const bad[] = { "", "2", "maybe", "truee", " true" };
	const struct key k = { .name = "flag", .type = T_BOOL };
	bool v;
	char buf[128];

	for (size_t i = 0; i < VC_ARRAY_LEN(yes); i++) {
		v = false;
		assert_int_equal(types[T_BOOL].parse(&k, yes[i], &v), 0);
		assert_true(v);
	}
	for (size_t i = 0; i < VC_ARRAY_LEN(no); i++) {
		v = true;
		assert_int_equal(types[T_BOOL].parse(&k, no[i], &v), 0);
		assert_false(v);
	}
	for (size_t i = 0; i < VC_ARRAY_LEN(bad); i++)
		assert_int_equal(types[T_BOOL].parse(&k, bad[i], &v), -1);
	types[T_BOOL].expect(&k, buf, sizeof(buf));
	assert_string_equal(buf, "true or false (or yes/no, on/off, 1/0)");
	v = true;
	char *text = types[T_BOOL].text(&k, "YES", &v);
	assert_string_equal(text, "true");
	free(text);
}

static void test_log_level(void **state)
{
	vc_config_t *c = load_flag("log_level=WARNING");
	assert_int_equal(c->log_level, VC_LOG_WARN);
	json_t *j = vc_config_to_json(c);
	assert_string_equal(json_value_str(j, "log_level"), "warn");
	json_decref(j);
	vc_config_free(c);
	c = load_flag("log-level=error");
	assert_int_equal(c->log_level, VC_LOG_ERROR);
	vc_config_free(c);
	bad_flag("log_level=verbose", "command line: log_level = 'verbose': expected one of "
				      "error, warn, info, debug");
	bad_flag("log_level=", "command line: log_level = '': expected one of error, warn, "
			       "info, debug");
}

#define LISTEN_EXPECT                                                                      \
	"expected host:port such as 127.0.0.1:8081, 0.0.0.0:8081 or [::1]:8081, with a port " \
	"from 1 to 65535"

static void test_listen(void **state)
{
	static const char *const good[] = { "0.0.0.0:80", "[::1]:8081", "[::]:1",
					     "localhost:65535", "[fe80::1%eth0]:9000",
					     "vcd-1.internal:8081" };
	static const char *const bad[] = { "8081", ":8081", "host:0", "host:65536", "::1:80",
					   "[::1]", "[::1]8081", "host:80x", "host:", "[]:80",
					   "a b:80", "host:080000", "" };
	char flag[128], want[256];

	for (size_t i = 0; i < VC_ARRAY_LEN(good); i++) {
		snprintf(flag, sizeof(flag), "listen=%s", good[i]);
		vc_config_t *c = load_flag(flag);
		assert_string_equal(c->listen, good[i]);
		vc_config_free(c);
	}
	for (size_t i = 0; i < VC_ARRAY_LEN(bad); i++) {
		snprintf(flag, sizeof(flag), "listen=%s", bad[i]);
		snprintf(want, sizeof(want), "command line: listen = '%s': " LISTEN_EXPECT,
			 bad[i]);
		bad_flag(flag, want);
	}
}

#define CORS_EXPECT                                                                        \
	"expected a comma-separated list of origins (scheme://host[:port], no path) such as " \
	"https://meet.example.com,http://localhost:8080, or nothing to mirror the request "   \
	"Origin"

static void test_cors(void **state)
{
	vc_config_t *c = load_flag("cors-allowed-origin= https://A.example , http://h:8080");
	assert_string_equal(c->cors_allowed_origin, "https://a.example,http://h:8080");
	vc_config_free(c);
	c = load_flag("cors_allowed_origin=");
	assert_string_equal(c->cors_allowed_origin, "");
	vc_config_free(c);

	static const char *const bad[] = { "a.example", "https://a.example/", "https://a,",
					   "*", "https://a.example,,http://b", "ftp://x",
					   "https://", "https://a:0", "null" };
	char flag[128], want[512];
	for (size_t i = 0; i < VC_ARRAY_LEN(bad); i++) {
		snprintf(flag, sizeof(flag), "cors_allowed_origin=%s", bad[i]);
		snprintf(want, sizeof(want), "command line: cors_allowed_origin = '%s': "
					     CORS_EXPECT, bad[i]);
		bad_flag(flag, want);
	}
}

static void test_embed_server_url(void **state)
{
	vc_config_t *c = load_flag("embed_server_url=https://meet.example.com");
	assert_string_equal(c->embed_server_url, "https://meet.example.com");
	vc_config_free(c);
	c = load_flag("embed_server_url=");
	assert_string_equal(c->embed_server_url, "");
	vc_config_free(c);

	static const char *const bad[] = { "meet.example.com", "https://meet.example.com/",
					   "ftp://x", "https://a b", "https://a\"b" };
	char flag[128], want[512];
	for (size_t i = 0; i < VC_ARRAY_LEN(bad); i++) {
		snprintf(flag, sizeof(flag), "embed_server_url=%s", bad[i]);
		snprintf(want, sizeof(want),
			 "command line: embed_server_url = '%s': expected an http:// or https:// "
			 "URL without a trailing slash, or nothing",
			 bad[i]);
		bad_flag(flag, want);
	}
}

static void test_paths(void **state)
{
	char flag[256], want[512], path[109];

	memset(path, 'a', 108);
	path[0] = '/';
	path[108] = '\0';
	snprintf(flag, sizeof(flag), "admin_socket=%.107s", path);
	vc_config_t *c = load_flag(flag);
	assert_int_equal(strlen(c->admin_socket), 107);
	vc_config_free(c);
	snprintf(flag, sizeof(flag), "admin_socket=%s", path);
	snprintf(want, sizeof(want), "command line: admin_socket = '%.80s...': expected a "
				     "non-empty path of at most 107 bytes (the limit for a Unix "
				     "socket)", path);
	bad_flag(flag, want);
	bad_flag("migrations_dir=", "command line: migrations_dir = '': expected a non-empty "
				    "path of at most 4095 bytes");
}

/* --- precedence ----------------------------------------------------------- */

static void test_precedence(void **state)
{
	char err[512] = "";
	const char *path = write_conf("max_body = 2m\nlisten = 127.0.0.1:1000\n"
				      "log_level = warn\nworkers = 3\n");
	char *const env[] = { "PATH=/bin", "DATABASE_URL=" DB, "VCD_MAX_BODY=3m",
			      "LISTEN_ADDR=127.0.0.1:2000", "VCD_LISTEN=127.0.0.1:3000",
			      "VCD_LOG_LEVEL=debug", "VCD_LOG_LEVEL_X=error", NULL };
	char *ov[] = { "max-body=4m", "--workers=2" };

	/* default < file < env < flag */
	vc_config_t *c = vc_config_load(path, ov, 2, env, err, sizeof(err));
	assert_non_null(c);
	assert_int_equal(c->max_body, 4u << 20);
	assert_int_equal(c->workers, 2);
	assert_int_equal(c->log_level, VC_LOG_DEBUG);
	assert_string_equal(c->listen, "127.0.0.1:3000"); /* VCD_ beats the compat name */
	json_t *j = vc_config_to_json(c);
	assert_string_equal(json_source(j, "max_body"), "flag");
	assert_string_equal(json_source(j, "workers"), "flag");
	assert_string_equal(json_source(j, "log_level"), "env");
	assert_string_equal(json_source(j, "listen"), "env");
	assert_string_equal(json_source(j, "database_url"), "env");
	assert_string_equal(json_source(j, "idle_timeout"), "default");
	json_decref(j);
	vc_config_free(c);

	/* without flags, the environment wins over the file */
	c = vc_config_load(path, NULL, 0, env, err, sizeof(err));
	assert_non_null(c);
	assert_int_equal(c->max_body, 3u << 20);
	assert_int_equal(c->workers, 3);
	vc_config_free(c);

	/* the compat name alone is used; the file alone is used */
	char *const env2[] = { "DATABASE_URL=" DB, "LISTEN_ADDR=127.0.0.1:2000", NULL };
	c = vc_config_load(path, NULL, 0, env2, err, sizeof(err));
	assert_non_null(c);
	assert_string_equal(c->listen, "127.0.0.1:2000");
	assert_int_equal(c->max_body, 2u << 20);
	vc_config_free(c);

	/* VCD_DATABASE_URL beats DATABASE_URL */
	char *const env3[] = { "DATABASE_URL=host=a", "VCD_DATABASE_URL=host=b", NULL };
	c = vc_config_load(NULL, NULL, 0, env3, err, sizeof(err));
	assert_non_null(c);
	assert_string_equal(c->database_url, "host=b");
	vc_config_free(c);
	drop_conf();
}

static void test_env_and_flag_errors(void **state)
{
	char err[512] = "";
	char *const env[] = { "DATABASE_URL=" DB, "VCD_MAX_BODY=12q", NULL };
	assert_null(vc_config_load(NULL, NULL, 0, env, err, sizeof(err)));
	assert_string_equal(err, "environment VCD_MAX_BODY: max_body = '12q': expected a size "
				 "such as 1048576, 64k or 1m, from 1k to 1g");

	char *const env2[] = { "DATABASE_URL=" DB, "LISTEN_ADDR=8081", NULL };
	assert_null(vc_config_load(NULL, NULL, 0, env2, err, sizeof(err)));
	assert_string_equal(err, "environment LISTEN_ADDR: listen = '8081': " LISTEN_EXPECT);

	/* a bad compat value is ignored when the VCD_ name is set */
	char *const env3[] = { "DATABASE_URL=" DB, "LISTEN_ADDR=8081",
			       "VCD_LISTEN=127.0.0.1:1", NULL };
	vc_config_t *c = vc_config_load(NULL, NULL, 0, env3, err, sizeof(err));
	assert_non_null(c);
	vc_config_free(c);

	bad_flag("nope=1", "command line: unknown key 'nope' (vcd --list-keys lists them)");
	bad_flag("max_body", "command line: 'max_body': expected key=value, such as "
			     "--max-body=2m");
	bad_flag("=1", "command line: expected key=value, such as --max-body=2m");
	bad_flag("database_url:postgresql://u:pw@h/db", "command line: 'database_url': "
							 "expected key=value, such as "
							 "--max-body=2m");
}

static void test_missing_database_url(void **state)
{
	char err[512] = "";
	char *const env[] = { "VCD_LISTEN=127.0.0.1:1", NULL };

	assert_null(vc_config_load(NULL, NULL, 0, env, err, sizeof(err)));
	assert_string_equal(err, "database_url is not set: set it in " VC_SYSCONFDIR
				 "/vcd/vcd.conf or DATABASE_URL");
	const char *path = write_conf("# nothing\n");
	char want[256];
	assert_null(vc_config_load(path, NULL, 0, NULL, err, sizeof(err)));
	snprintf(want, sizeof(want), "database_url is not set: set it in %s or DATABASE_URL",
		 path);
	assert_string_equal(err, want);
	drop_conf();

	char *const env2[] = { "DATABASE_URL=", NULL };
	assert_null(vc_config_load(NULL, NULL, 0, env2, err, sizeof(err)));
	/* a null err buffer is allowed */
	assert_null(vc_config_load(NULL, NULL, 0, env2, NULL, 0));
}

/* --- secrets -------------------------------------------------------------- */

static void assert_shown_db(const char *url, const char *shown)
{
	char flag[256];

	snprintf(flag, sizeof(flag), "database_url=%s", url);
	vc_config_t *c = load_flag(flag);
	assert_string_equal(c->database_url, url);
	json_t *j = vc_config_to_json(c);
	assert_string_equal(json_value_str(j, "database_url"), shown);
	char *dump = json_dumps(j, 0);
	assert_null(strstr(dump, "s3cr3t"));
	free(dump);
	json_decref(j);
	vc_config_free(c);
}

static void test_secret_redaction(void **state)
{
	assert_shown_db(DB, "postgresql://vcd:***@db.example/vcd");
	assert_shown_db("postgres://vcd:s3cr3t@h:5432/vcd?sslmode=require",
			"postgres://vcd:***@h:5432/vcd?sslmode=require");
	assert_shown_db("postgres://vcd:s3/cr@3t@h/vcd", "postgres://vcd:***@h/vcd");
	assert_shown_db("postgresql://vcd@h/vcd?password=s3cr3t&sslmode=disable",
			"postgresql://vcd@h/vcd?password=***&sslmode=disable");
	assert_shown_db("postgresql:///vcd?host=/run/postgresql",
			"postgresql:///vcd?host=/run/postgresql");
	assert_shown_db("host=h password=s3cr3t dbname=vcd", "host=h password=*** dbname=vcd");
	assert_shown_db("host=h password = 's3cr3t x\\' y' dbname=vcd",
			"host=h password = *** dbname=vcd");
	assert_shown_db("password=s3cr3t", "password=***");
	assert_shown_db("host=h sslpassword=s3cr3t", "host=h sslpassword=***");
	assert_shown_db("postgresql://h/vcd?sslpassword=s3cr3t#x",
			"postgresql://h/vcd?sslpassword=***#x");
	assert_shown_db("postgresql://h/vcd?xpassword=1&password=s3cr3t",
			"postgresql://h/vcd?xpassword=1&password=***");

	/* errors never echo the value */
	char err[512] = "";
	char *const env[] = { "DATABASE_URL=user:s3cr3t@localhost", NULL };
	assert_null(vc_config_load(NULL, NULL, 0, env, err, sizeof(err)));
	assert_string_equal(err, "environment DATABASE_URL: database_url = '***': expected a URL "
				 "such as postgresql://user:password@host/dbname or a conninfo "
				 "string such as host=/run/postgresql dbname=vcd");

	const char *path = write_conf("database_url = \"postgresql://u:s3cr3t@h/db\n");
	char want[256];
	assert_null(vc_config_load(path, NULL, 0, NULL, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s:1: database_url = '***': expected a closing double "
				     "quote", path);
	assert_string_equal(err, want);
	drop_conf();
}

/* --- JSON, diff, publish, keys -------------------------------------------- */

static void test_to_json(void **state)
{
	vc_config_t *c = load_flag("max_body=1048576");
	json_t *j = vc_config_to_json(c), *v;
	const char *name;

	assert_int_equal(json_object_size(j), NKEYS);
	json_object_foreach(j, name, v) {
		assert_non_null(json_object_get(v, "value"));
		assert_non_null(json_object_get(v, "default"));
		assert_true(json_is_string(json_object_get(v, "source")));
		assert_true(json_is_boolean(json_object_get(v, "reload")));
	}
	v = json_object_get(j, "db_pool_size");
	assert_int_equal(json_integer_value(json_object_get(v, "value")), 1);
	assert_int_equal(json_integer_value(json_object_get(v, "default")), 1);
	v = json_object_get(j, "max_body");
	assert_string_equal(json_string_value(json_object_get(v, "value")), "1048576");
	assert_string_equal(json_string_value(json_object_get(v, "default")), "1m");
	assert_true(json_is_true(json_object_get(v, "reload")));
	assert_true(json_is_false(json_object_get(json_object_get(j, "listen"), "reload")));
	json_decref(j);
	vc_config_free(c);

	/* a value that is not UTF-8 still gives valid JSON */
	c = load_flag("migrations_dir=/srv/\xff\xfe");
	j = vc_config_to_json(c);
	assert_string_equal(json_value_str(j, "migrations_dir"), "/srv/??");
	json_decref(j);
	vc_config_free(c);
}

static void test_diff(void **state)
{
	char err[512] = "";
	char *a[] = { "log_level=info", "max_body=1m", "listen=127.0.0.1:1", "workers=2" };
	char *b[] = { "log_level=debug", "max_body=2m", "listen=127.0.0.1:2", "workers=3" };
	char *same[] = { "max_body=1048576", "workers=2", "request_timeout=30000ms",
			 "listen=127.0.0.1:1", "log_level=INFO" };
	vc_config_t *ca = vc_config_load(NULL, a, 4, env_db, err, sizeof(err));
	vc_config_t *cb = vc_config_load(NULL, b, 4, env_db, err, sizeof(err));
	vc_config_t *cs = vc_config_load(NULL, same, 5, env_db, err, sizeof(err));
	json_t *applied = json_array(), *restart = json_array();

	assert_non_null(ca);
	assert_non_null(cb);
	assert_non_null(cs);
	vc_config_diff(ca, cb, applied, restart);
	char *s1 = json_dumps(applied, JSON_COMPACT), *s2 = json_dumps(restart, JSON_COMPACT);
	assert_string_equal(s1, "[\"log_level\",\"max_body\"]");
	assert_string_equal(s2, "[\"listen\",\"workers\"]");
	free(s1);
	free(s2);
	json_array_clear(applied);
	json_array_clear(restart);
	vc_config_diff(ca, cs, applied, restart); /* same values, other spellings */
	assert_int_equal(json_array_size(applied), 0);
	assert_int_equal(json_array_size(restart), 0);
	vc_config_diff(ca, cb, NULL, NULL);
	json_decref(applied);
	json_decref(restart);
	vc_config_free(ca);
	vc_config_free(cb);
	vc_config_free(cs);
}

static void test_publish(void **state)
{
	vc_config_t *a = load_flag("workers=1"), *b = load_flag("workers=2");

	assert_null(vc_config_publish(a));
	assert_ptr_equal(vc_config_get(), a);
	assert_ptr_equal(vc_config_publish(b), a);
	assert_int_equal(vc_config_get()->workers, 2);
	assert_ptr_equal(vc_config_publish(NULL), b);
	vc_config_free(a);
	vc_config_free(b);
}

/* The media server's switch keeps videocall.rs's name; the WebSocket keys
 * have their defaults from the original (doc/lobby.md). */
static void test_lobby_keys(void **state)
{
	char err[512] = "";
	char *const env[] = { "DATABASE_URL=" DB, "FEATURE_MEETING_MANAGEMENT=true", NULL };
	char *const none[] = { "DATABASE_URL=" DB, NULL };
	vc_config_t *c = vc_config_load(NULL, NULL, 0, none, err, sizeof(err));

	assert_non_null(c);
	assert_false(c->feature_meeting_management);
	assert_int_equal(c->ws_max_message, 4000000);
	assert_true(c->ws_ping_interval == 5.0);
	assert_true(c->ws_idle_timeout == 30.0);
	assert_true(c->lobby_reconnect_grace == 2.0);
	assert_true(c->ws_send_buffer < c->ws_send_buffer_max);
	vc_config_free(c);
	c = vc_config_load(NULL, NULL, 0, env, err, sizeof(err));
	assert_non_null(c);
	assert_true(c->feature_meeting_management);
	vc_config_free(c);
}

/* The external API's switches: off by default, Meet's environment names. */
static void test_external_api_keys(void **state)
{
	char err[512] = "";
	char *const env[] = { "DATABASE_URL=" DB, "EXTERNAL_API_ENABLED=True",
		              "APPLICATION_ENABLED=true", NULL };
	char *const none[] = { "DATABASE_URL=" DB, NULL };
	vc_config_t *c = vc_config_load(NULL, NULL, 0, none, err, sizeof(err));

	assert_non_null(c);
	assert_false(c->external_api);
	assert_false(c->external_api_applications);
	vc_config_free(c);
	c = vc_config_load(NULL, NULL, 0, env, err, sizeof(err));
	assert_non_null(c);
	assert_true(c->external_api);
	assert_true(c->external_api_applications);
	vc_config_free(c);
}

/* The external rooms API's keys: Meet's environment names and defaults; an
 * unknown access level and a base URL with a trailing slash are refused. */
static void test_external_rooms_keys(void **state)
{
	char err[512] = "";
	char *const none[] = { "DATABASE_URL=" DB, NULL };
	char *const env[] = { "DATABASE_URL=" DB, "APPLICATION_BASE_URL=https://meet.example",
		              "EXTERNAL_API_DEFAULT_ACCESS_LEVEL=restricted",
		              "EXTERNAL_API_ALLOW_PUBLIC_ACCESS=true", NULL };
	char *const bad_level[] = { "DATABASE_URL=" DB, "EXTERNAL_API_DEFAULT_ACCESS_LEVEL=open",
		                    NULL };
	char *const bad_url[] = { "DATABASE_URL=" DB, "APPLICATION_BASE_URL=https://x.example/",
		                  NULL };
	vc_config_t *c = vc_config_load(NULL, NULL, 0, none, err, sizeof(err));

	assert_non_null(c);
	assert_string_equal(c->external_api_base_url, "");
	assert_string_equal(c->external_api_default_access_level, "trusted");
	assert_false(c->external_api_allow_public);
	vc_config_free(c);
	c = vc_config_load(NULL, NULL, 0, env, err, sizeof(err));
	assert_non_null(c);
	assert_string_equal(c->external_api_base_url, "https://meet.example");
	assert_string_equal(c->external_api_default_access_level, "restricted");
	assert_true(c->external_api_allow_public);
	vc_config_free(c);
	assert_null(vc_config_load(NULL, NULL, 0, bad_level, err, sizeof(err)));
	assert_non_null(strstr(err, "external_api_default_access_level"));
	assert_null(vc_config_load(NULL, NULL, 0, bad_url, err, sizeof(err)));
	assert_non_null(strstr(err, "external_api_base_url"));
}

static void test_print_keys(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	static const char want[] =
		"listen\nworkers\ndatabase_url\ndb_pool_size\ndb_group_commit\nmigrations_dir\nadmin_socket\n"
		"log_level\nmax_connections\nmax_body\nmax_header_size\nmax_uri\n"
		"request_timeout\nidle_timeout\nshutdown_timeout\ncors_allowed_origin\n"
		"cors_allowlist\noffload_threads\nnats_url\nnats_publish_queue\njwt_secret\n"
		"session_jwt_compat\n"
		"session_ttl\nsession_cache_ttl\ncookie_name\ncookie_secure\ncookie_domain\n"
		"auth_rate_limit\nserver_join_rate_limit\ntoken_ttl\nmeeting_idle_timeout\ntrusted_proxies\n"
		"feature_meeting_management\nws_max_message\nws_ping_interval\nws_idle_timeout\n"
		"ws_send_buffer\nws_send_buffer_max\nlobby_reconnect_grace\nembed_server_url\n"
		"signal_max_message\nsignal_rate\nsignal_burst\nsignal_max_user_connections\n"
		"account_sync_keep\naccount_sync_retention\nexternal_api\nexternal_api_applications\n"
		"external_api_base_url\nexternal_api_default_access_level\nexternal_api_allow_public\n";

	vc_config_print_keys(f);
	fclose(f);
	assert_string_equal(buf, want);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_workers_auto),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_uint),
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_bool),
		cmocka_unit_test(test_log_level),
		cmocka_unit_test(test_listen),
		cmocka_unit_test(test_cors),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_embed_server_url),
		cmocka_unit_test(test_precedence),
		cmocka_unit_test(test_env_and_flag_errors),
		cmocka_unit_test(test_missing_database_url),
		cmocka_unit_test(test_secret_redaction),
		cmocka_unit_test(test_to_json),
		cmocka_unit_test(test_diff),
		cmocka_unit_test(test_publish),
		cmocka_unit_test(test_lobby_keys),
		cmocka_unit_test(test_external_api_keys),
		cmocka_unit_test(test_external_rooms_keys),
		cmocka_unit_test(test_print_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
