/*
 * test_db.c — vcd and its PostgreSQL: the shared cluster is stopped under a
 * running vcd (/readyz turns 503, /healthz stays 200, every answer stays
 * prompt, vcd survives) and started again (/readyz back to 200, reconnects
 * counted); `vcd --migrate-only` applies the migrations once, also when two
 * run at the same time on one fresh database.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "t/lib/vctest.h"

#define PROMPT_MS 2000      /* an answer slower than this is a hang */
#define DOWN_WAIT_MS 10000  /* for /readyz to notice PostgreSQL is gone */
#define UP_WAIT_MS 15000    /* for /readyz to recover after it is back */
#define MIGRATE_MS 20000

/* GET path, failing when vcd takes longer than PROMPT_MS to answer. */
static int timed_get(vct_vcd_t *v, const char *path, vct_resp_t *r)
{
	uint64_t t0 = vct_now_ms(), took;
	int st = vct_http(v->port, "GET", path, NULL, NULL, r);

	took = vct_now_ms() - t0;
	if (took > PROMPT_MS)
		fail_msg("GET %s took %llu ms (status %d); vcd must answer within %d ms even "
			 "without PostgreSQL", path, (unsigned long long)took, st, PROMPT_MS);
	return st;
}

/* Poll /readyz (and /healthz, which must stay 200) until /readyz answers
 * `want`; fails after `ms`. */
static void wait_readyz(vct_vcd_t *v, int want, unsigned ms)
{
	uint64_t deadline = vct_now_ms() + ms;
	vct_resp_t r;
	int st;

	for (;;) {
		assert_int_equal(timed_get(v, "/healthz", &r), 200);
		vct_resp_free(&r);
		st = timed_get(v, "/readyz", &r);
		vct_resp_free(&r);
		if (st == want)
			return;
		if (vct_now_ms() > deadline)
			fail_msg("/readyz still answers %d after %u ms; expected %d", st, ms, want);
		vct_sleep_ms(100);
	}
}

static void check_unavailable_body(vct_vcd_t *v)
{
	vct_resp_t r;
	json_t *j;

	assert_int_equal(timed_get(v, "/readyz", &r), 503);
	j = json_loads(r.body, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "status")), "unavailable");
	assert_string_equal(json_string_value(json_object_get(j, "database")), "unreachable");
	json_decref(j);
	vct_resp_free(&r);
}

static void test_postgres_outage(void **state)
{
	char *db = vct_db_create("outage");
	vct_vcd_t *v = vct_vcd_start("db_outage", db, NULL);
	vct_resp_t r;

	wait_readyz(v, 200, 5000);
	vct_pg_stop();
	wait_readyz(v, 503, DOWN_WAIT_MS);
	check_unavailable_body(v);
	/* A while without PostgreSQL: vcd keeps answering, promptly. */
	for (int i = 0; i < 10; i++) {
		assert_int_equal(timed_get(v, "/healthz", &r), 200);
		vct_resp_free(&r);
		assert_int_equal(timed_get(v, "/readyz", &r), 503);
		vct_resp_free(&r);
		assert_int_equal(timed_get(v, "/metrics", &r), 200);
		assert_true(vct_metric(r.body, "vcd_db_connections") == 0);
		vct_resp_free(&r);
		vct_sleep_ms(150);
	}
	assert_int_equal(vct_vcd_wait_exit(v, 0), -1);
	assert_true(vct_vcd_log_has(v, "connection lost"));
	vct_pg_start();
	wait_readyz(v, 200, UP_WAIT_MS);
	assert_true(vct_metric_get(v->port, "vcd_db_reconnects_total") > 0);
	assert_true(vct_metric_get(v->port, "vcd_db_connections") >= 1);
	assert_true(vct_vcd_wait_log(v, "reconnected", 2000));
	vct_vcd_stop_ok(v);
	free(db);
	vct_pass();
}

/* Migration files vcd will apply: NNN_name.sql in $VCT_SQLDIR. */
static unsigned count_migrations(void)
{
	DIR *d = opendir(vct_env("VCT_SQLDIR"));
	struct dirent *e;
	unsigned n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);
		if (len > 8 && strspn(e->d_name, "0123456789") == 3 && e->d_name[3] == '_' &&
		    strcmp(e->d_name + len - 4, ".sql") == 0)
			n++;
	}
	closedir(d);
	return n;
}

static unsigned applied_rows(const char *db)
{
	char *n = vct_db_value(db, "SELECT count(*) FROM schema_migrations");
	unsigned v;

	assert_non_null(n);
	v = (unsigned)strtoul(n, NULL, 10);
	free(n);
	return v;
}

/* Run vcd --migrate-only to its end; returns how many it says it applied. */
static void migrate_spawn(vct_vcd_t *v)
{
	static const char *const args[] = { "--migrate-only", NULL };

	vct_vcd_spawn(v, args);
}

static unsigned migrate_result(vct_vcd_t *v)
{
	int st = vct_vcd_wait_exit(v, MIGRATE_MS);
	char *log;
	const char *p;

	if (st != 0) {
		vct_vcd_dump_log(v, 20);
		fail_msg("vcd --migrate-only exited with %d (-1: still running after %d ms)", st,
			 MIGRATE_MS);
	}
	log = vct_vcd_log(v);
	p = strstr(log, "database schema up to date (");
	if (p == NULL)
		fail_msg("vcd --migrate-only did not log how many migrations it applied:\n%s", log);
	unsigned n = (unsigned)strtoul(p + strlen("database schema up to date ("), NULL, 10);
	assert_null(strstr(log, "listening on"));
	free(log);
	return n;
}

static void test_migrate_only(void **state)
{
	char *db = vct_db_create("migrate");
	vct_vcd_t *v = vct_vcd_new("db_migrate", db, NULL);
	unsigned files = count_migrations();
	char *first;

	assert_true(files >= 1);
	migrate_spawn(v);
	assert_int_equal(migrate_result(v), files);
	assert_int_equal(applied_rows(db), files);
	first = vct_db_value(db, "SELECT version FROM schema_migrations ORDER BY version LIMIT 1");
	assert_non_null(first);
	assert_true(strncmp(first, "001", 3) == 0);
	free(first);
	/* It did not stay to serve. */
	assert_int_equal(vct_tcp_connect(v->port), -1);
	/* A second run finds nothing to do. */
	migrate_spawn(v);
	assert_int_equal(migrate_result(v), 0);
	assert_int_equal(applied_rows(db), files);
	free(db);
	vct_pass();
}

static void test_migrate_concurrent(void **state)
{
	char *db = vct_db_create("migrate2");
	vct_vcd_t *a = vct_vcd_new("db_migrate_a", db, NULL);
	vct_vcd_t *b = vct_vcd_new("db_migrate_b", db, NULL);
	unsigned files = count_migrations(), na, nb;

	migrate_spawn(a);
	migrate_spawn(b);
	na = migrate_result(a);
	nb = migrate_result(b);
	/* Each file applied once, by one of them. */
	assert_int_equal(na + nb, files);
	assert_true(na == 0 || nb == 0);
	assert_int_equal(applied_rows(db), files);
	free(db);
	vct_pass();
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, vct_setup, vct_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_postgres_outage),
		T(test_migrate_only),
		T(test_migrate_concurrent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
