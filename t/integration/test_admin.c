/*
 * test_admin.c — the admin socket and vcctl against a real vcd: socket mode
 * and peer uid check, status/version/stats/config show (human and --json),
 * the database password never shown, log-level, vcctl's exit codes (0 ok,
 * 1 vcd said no, 2 usage, 3 unreachable), VCD_ADMIN_SOCKET, config reload
 * (applied vs restart_needed) and drain.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <jansson.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "t/lib/vctest.h"

#define PASSWORD "Pa55-never-shown"

static vct_vcd_t *vcd;
static char *db_url;

/* --- helpers -------------------------------------------------------------- */

/* vcctl [--json] [-s sock] words… with options o; returns the exit status. */
static int ctl_opts(vct_cmd_t *r, const vct_run_opts_t *o, const char *sock, bool json,
		    const char *const *words)
{
	const char *argv[16];
	size_t n = 0;

	argv[n++] = vct_env("VCCTL");
	if (json)
		argv[n++] = "--json";
	if (sock != NULL) {
		argv[n++] = "-s";
		argv[n++] = sock;
	}
	while (*words != NULL && n < 15)
		argv[n++] = *words++;
	argv[n] = NULL;
	return vct_run(r, o, argv);
}

#define CTL(r, json, ...) \
	ctl_opts((r), NULL, vcd->admin_path, (json), (const char *const[]){ __VA_ARGS__, NULL })

/* Parse vcctl --json output (a JSON object), or fail showing it. */
static json_t *parse(const vct_cmd_t *r)
{
	json_error_t err;
	json_t *j = json_loads(r->out, 0, &err);

	if (j == NULL || !json_is_object(j))
		fail_msg("vcctl --json printed no JSON object (%s):\n%s\nstderr: %s", err.text,
			 r->out, r->err);
	return j;
}

static void expect_status(const vct_cmd_t *r, int want)
{
	if (r->status != want)
		fail_msg("vcctl exited %d, expected %d\nstdout: %s\nstderr: %s", r->status, want,
			 r->out, r->err);
}

static json_int_t int_at(json_t *j, const char *path)
{
	json_t *v = json_object_get(j, path);

	if (!json_is_integer(v))
		fail_msg("'%s' is not an integer in the vcctl answer", path);
	return json_integer_value(v);
}

/* --- queries -------------------------------------------------------------- */

static void test_socket_mode(void **state)
{
	struct stat st;

	assert_int_equal(stat(vcd->admin_path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_uid, geteuid());
	vct_pass();
}

static void test_status(void **state)
{
	vct_cmd_t r;
	json_t *j;
	char *pid = vct_strf("%d", (int)vcd->pid);

	CTL(&r, false, "status");
	expect_status(&r, 0);
	assert_non_null(strstr(r.out, "pid"));
	assert_non_null(strstr(r.out, pid));
	assert_non_null(strstr(r.out, "draining"));
	vct_cmd_free(&r);
	CTL(&r, true, "status");
	expect_status(&r, 0);
	j = parse(&r);
	assert_int_equal(int_at(j, "pid"), vcd->pid);
	assert_int_equal(int_at(j, "workers"), 2);
	assert_true(json_is_false(json_object_get(j, "draining")));
	assert_true(json_is_string(json_object_get(j, "version")));
	assert_true(json_is_number(json_object_get(j, "uptime_s")));
	assert_true(json_is_object(json_object_get(j, "database")));
	json_decref(j);
	vct_cmd_free(&r);
	free(pid);
	vct_pass();
}

static void test_version(void **state)
{
	vct_cmd_t r, v;
	json_t *j;
	char *want;

	assert_int_equal(vct_runl(&v, NULL, vct_env("VCD"), "--version", NULL), 0);
	CTL(&r, true, "version");
	expect_status(&r, 0);
	j = parse(&r);
	want = vct_strf("vcd %s (%s)\n", json_string_value(json_object_get(j, "version")),
			json_string_value(json_object_get(j, "git_sha")));
	assert_string_equal(v.out, want);
	vct_cmd_free(&r);
	CTL(&r, false, "version");
	expect_status(&r, 0);
	assert_non_null(strstr(r.out, json_string_value(json_object_get(j, "version"))));
	free(want);
	json_decref(j);
	vct_cmd_free(&r);
	vct_cmd_free(&v);
	vct_pass();
}

static void test_stats(void **state)
{
	vct_cmd_t r;
	json_t *j, *http, *workers;

	assert_int_equal(vct_http_get_status(vcd->port, "/healthz"), 200);
	CTL(&r, true, "stats");
	expect_status(&r, 0);
	j = parse(&r);
	http = json_object_get(j, "http");
	assert_true(json_is_object(http));
	assert_true(int_at(http, "requests") >= 1);
	assert_true(int_at(http, "accepted") >= 1);
	workers = json_object_get(j, "workers");
	assert_true(json_is_array(workers));
	assert_int_equal(json_array_size(workers), 2);
	assert_true(json_is_object(json_object_get(j, "database")));
	json_decref(j);
	vct_cmd_free(&r);
	CTL(&r, false, "stats");
	expect_status(&r, 0);
	assert_non_null(strstr(r.out, "http.requests"));
	vct_cmd_free(&r);
	vct_pass();
}

static const char *key_str(json_t *cfg, const char *key, const char *member)
{
	json_t *v = json_object_get(json_object_get(cfg, key), member);

	if (!json_is_string(v))
		fail_msg("config show: %s.%s is not a string", key, member);
	return json_string_value(v);
}

static void test_config_show(void **state)
{
	vct_cmd_t r;
	json_t *j;
	char *listen = vct_strf("127.0.0.1:%d", vcd->port), *log;

	CTL(&r, true, "config", "show");
	expect_status(&r, 0);
	assert_null(strstr(r.out, PASSWORD));
	j = parse(&r);
	assert_string_equal(key_str(j, "listen", "value"), listen);
	assert_string_equal(key_str(j, "listen", "source"), "file");
	assert_string_equal(key_str(j, "max_body", "source"), "default");
	assert_true(json_is_false(json_object_get(json_object_get(j, "listen"), "reload")));
	assert_true(json_is_true(json_object_get(json_object_get(j, "log_level"), "reload")));
	assert_non_null(strstr(key_str(j, "database_url", "value"), "***"));
	json_decref(j);
	vct_cmd_free(&r);
	CTL(&r, false, "config", "show");
	expect_status(&r, 0);
	assert_null(strstr(r.out, PASSWORD));
	assert_non_null(strstr(r.out, "***"));
	assert_non_null(strstr(r.out, listen));
	vct_cmd_free(&r);
	log = vct_vcd_log(vcd);
	assert_null(strstr(log, PASSWORD));
	free(log);
	free(listen);
	vct_pass();
}

static void test_log_level(void **state)
{
	vct_cmd_t r;
	json_t *j;

	CTL(&r, true, "log-level", "debug");
	expect_status(&r, 0);
	j = parse(&r);
	assert_string_equal(json_string_value(json_object_get(j, "log_level")), "debug");
	assert_string_equal(json_string_value(json_object_get(j, "previous")), "info");
	json_decref(j);
	vct_cmd_free(&r);
	assert_true(vct_vcd_wait_log(vcd, "log level set to debug (was info)", 2000));
	CTL(&r, false, "log-level", "info");
	expect_status(&r, 0);
	assert_non_null(strstr(r.out, "info"));
	vct_cmd_free(&r);
	assert_true(vct_vcd_wait_log(vcd, "log level set to info (was debug)", 2000));
	/* A bad level: vcd says no (1), clearly, and changes nothing. */
	CTL(&r, false, "log-level", "bogus");
	expect_status(&r, 1);
	assert_non_null(strstr(r.err, "unknown log level 'bogus'"));
	assert_non_null(strstr(r.err, "debug"));
	vct_cmd_free(&r);
	CTL(&r, true, "log-level", "info");
	expect_status(&r, 0);
	j = parse(&r);
	assert_string_equal(json_string_value(json_object_get(j, "previous")), "info");
	json_decref(j);
	vct_cmd_free(&r);
	vct_pass();
}

/* --- exit codes and the socket path --------------------------------------- */

static void test_usage_errors(void **state)
{
	char *nowhere = vct_tmp_path("no-such-dir/vcd.sock");
	vct_cmd_t r;

	/* 2, and no attempt to connect (that would be 3). */
	ctl_opts(&r, NULL, nowhere, false, (const char *const[]){ "frobnicate", NULL });
	expect_status(&r, 2);
	assert_non_null(strstr(r.err, "unknown command 'frobnicate'"));
	vct_cmd_free(&r);
	ctl_opts(&r, NULL, nowhere, false, (const char *const[]){ "log-level", NULL });
	expect_status(&r, 2);
	assert_non_null(strstr(r.err, "usage: vcctl log-level LEVEL"));
	vct_cmd_free(&r);
	ctl_opts(&r, NULL, nowhere, false, (const char *const[]){ "status", "now", NULL });
	expect_status(&r, 2);
	vct_cmd_free(&r);
	ctl_opts(&r, NULL, nowhere, false, (const char *const[]){ NULL });
	expect_status(&r, 2);
	assert_non_null(strstr(r.err, "usage"));
	vct_cmd_free(&r);
	assert_false(vct_vcd_log_has(vcd, "frobnicate"));
	free(nowhere);
	vct_pass();
}

static void test_missing_socket(void **state)
{
	char *nowhere = vct_tmp_path("nobody-listens.sock");
	vct_cmd_t r;

	ctl_opts(&r, NULL, nowhere, false, (const char *const[]){ "status", NULL });
	expect_status(&r, 3);
	assert_non_null(strstr(r.err, "cannot connect to"));
	assert_non_null(strstr(r.err, nowhere));
	vct_cmd_free(&r);
	free(nowhere);
	vct_pass();
}

static void test_socket_from_env(void **state)
{
	char *env = vct_strf("VCD_ADMIN_SOCKET=%s", vcd->admin_path);
	char *bad = vct_tmp_path("nobody-listens.sock");
	char *badenv = vct_strf("VCD_ADMIN_SOCKET=%s", bad);
	vct_run_opts_t o = { .env = (const char *const[]){ env, NULL } };
	vct_run_opts_t wrong = { .env = (const char *const[]){ badenv, NULL } };
	vct_cmd_t r;
	json_t *j;

	ctl_opts(&r, &o, NULL, true, (const char *const[]){ "status", NULL });
	expect_status(&r, 0);
	j = parse(&r);
	assert_int_equal(int_at(j, "pid"), vcd->pid);
	json_decref(j);
	vct_cmd_free(&r);
	/* The variable is really used: a wrong one fails, and -s beats it. */
	ctl_opts(&r, &wrong, NULL, false, (const char *const[]){ "status", NULL });
	expect_status(&r, 3);
	assert_non_null(strstr(r.err, bad));
	vct_cmd_free(&r);
	ctl_opts(&r, &wrong, vcd->admin_path, false, (const char *const[]){ "status", NULL });
	expect_status(&r, 0);
	vct_cmd_free(&r);
	free(env);
	free(bad);
	free(badenv);
	vct_pass();
}

static void test_other_uid_refused(void **state)
{
	struct passwd *pw;
	vct_run_opts_t o = { .as_user = true };
	vct_cmd_t r;
	char *refused, *log, *line;

	if (!vct_is_root()) {
		vct_pass();
		skip();
	}
	pw = getpwnam("nobody");
	assert_non_null(pw);
	o.uid = pw->pw_uid;
	o.gid = pw->pw_gid;
	/* Mode 0600 keeps nobody out at connect(). */
	ctl_opts(&r, &o, vcd->admin_path, false, (const char *const[]){ "status", NULL });
	expect_status(&r, 3);
	vct_cmd_free(&r);
	/* With the file opened up, vcd's peer check still refuses. */
	assert_int_equal(chmod(vcd->admin_path, 0666), 0);
	ctl_opts(&r, &o, vcd->admin_path, false, (const char *const[]){ "status", NULL });
	assert_int_equal(chmod(vcd->admin_path, 0600), 0);
	expect_status(&r, 1);
	assert_non_null(strstr(r.err, "permission denied"));
	vct_cmd_free(&r);
	/* ...and vcd logs it as a warning: "<time> warn w0: admin: refused uid N …". */
	refused = vct_strf("admin: refused uid %u ", (unsigned)pw->pw_uid);
	assert_true(vct_vcd_wait_log(vcd, refused, 2000));
	log = vct_vcd_log(vcd);
	line = strstr(log, refused);
	while (line > log && line[-1] != '\n')
		line--;
	if (strncmp(strchr(line, ' '), " warn ", 6) != 0)
		fail_msg("the refusal is not logged at warn level: %.200s", line);
	free(log);
	free(refused);
	/* Root still gets in. */
	CTL(&r, false, "status");
	expect_status(&r, 0);
	vct_cmd_free(&r);
	vct_pass();
}

/* --- changing vcd --------------------------------------------------------- */

/* Has JSON array `a` a string element equal to s? */
static bool array_has(json_t *a, const char *s)
{
	size_t i;
	json_t *e;

	json_array_foreach(a, i, e)
		if (json_is_string(e) && strcmp(json_string_value(e), s) == 0)
			return true;
	return false;
}

static json_t *reload(vct_vcd_t *v)
{
	vct_cmd_t r;
	json_t *j;

	ctl_opts(&r, NULL, v->admin_path, true, (const char *const[]){ "config", "reload", NULL });
	expect_status(&r, 0);
	j = parse(&r);
	vct_cmd_free(&r);
	assert_true(json_is_array(json_object_get(j, "applied")));
	assert_true(json_is_array(json_object_get(j, "restart_needed")));
	return j;
}

static void test_config_reload(void **state)
{
	vct_vcd_t *v = vct_vcd_start("admin_reload", db_url, NULL);
	char *listen = vct_strf("log_level = debug\nlisten = 127.0.0.1:%d\n", vct_free_port());
	vct_cmd_t r;
	json_t *j;

	vct_vcd_write_conf(v, "log_level = debug\n");
	j = reload(v);
	assert_true(array_has(json_object_get(j, "applied"), "log_level"));
	assert_int_equal(json_array_size(json_object_get(j, "restart_needed")), 0);
	json_decref(j);
	assert_true(vct_vcd_wait_log(v, "configuration reloaded", 2000));
	vct_vcd_write_conf(v, listen);
	j = reload(v);
	assert_true(array_has(json_object_get(j, "restart_needed"), "listen"));
	assert_false(array_has(json_object_get(j, "applied"), "listen"));
	json_decref(j);
	/* Still serving where it was. */
	assert_int_equal(vct_http_get_status(v->port, "/healthz"), 200);
	/* A broken file: vcd says why (1) and keeps what it had. */
	vct_vcd_write_conf(v, "max_body = lots\n");
	ctl_opts(&r, NULL, v->admin_path, false, (const char *const[]){ "config", "reload", NULL });
	expect_status(&r, 1);
	assert_non_null(strstr(r.err, "max_body = 'lots'"));
	vct_cmd_free(&r);
	assert_int_equal(vct_http_get_status(v->port, "/healthz"), 200);
	vct_vcd_stop_ok(v);
	free(listen);
	vct_pass();
}

static void test_drain(void **state)
{
	vct_vcd_t *v = vct_vcd_start("admin_drain", db_url, NULL);
	vct_cmd_t r;
	json_t *j;
	struct stat st;

	ctl_opts(&r, NULL, v->admin_path, true, (const char *const[]){ "drain", NULL });
	expect_status(&r, 0);
	j = parse(&r);
	assert_true(json_is_true(json_object_get(j, "draining")));
	json_decref(j);
	vct_cmd_free(&r);
	if (vct_vcd_wait_exit(v, 10000) != 0)
		fail_msg("vcd exited with %d after vcctl drain (-1: still running after 10 s); "
			 "expected 0", v->status);
	assert_true(vct_vcd_log_has(v, "draining"));
	assert_int_equal(stat(v->admin_path, &st), -1); /* the socket file is gone */
	vct_pass();
}

/* --- main ----------------------------------------------------------------- */

static int group_setup(void **state)
{
	char *db = vct_db_create("admin");

	db_url = vct_strf("%s&password=%s", db, PASSWORD);
	free(db);
	vcd = vct_vcd_start("admin", db_url, NULL);
	vct_vcd_keep(vcd);
	return 0;
}

static int group_teardown(void **state)
{
	int rc = vct_vcd_finish(vcd);

	free(db_url);
	return rc;
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, vct_setup, vct_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_socket_mode),
		T(test_status),
		T(test_version),
		T(test_stats),
		T(test_config_show),
		T(test_log_level),
		T(test_usage_errors),
		T(test_missing_socket),
		T(test_socket_from_env),
		T(test_other_uid_refused),
		T(test_config_reload),
		T(test_drain),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
