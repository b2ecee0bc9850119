/*
 * test_group_commit.c — db_group_commit (runtime/pg.c) with a real vcd and
 * PostgreSQL. The vcd has one worker with one connection, so statements
 * that arrive while a transaction is in flight wait in the queue and leave
 * together as the next one. The test holds a lock on the meeting's row in
 * its own session to keep vcd's first statement waiting while the others
 * arrive, then lets go. What the clients are answered, the rows and vcd's
 * group commit counters in /metrics must agree:
 *
 *   - joins waiting together are committed together, each answered once;
 *   - a batch with a statement that fails (a username already taken) is
 *     rolled back as a whole and every statement in it runs again alone:
 *     the others succeed exactly once, the failing one gets its own answer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "t/lib/vctest.h"
#include "t/lib/vctest_meetings.h"

#define HOST "gc-host@example.com"
#define JOINS 12
#define LOCK_WAIT_MS 10000 /* for vcd's statement to be seen waiting */
#define GATHER_MS 1500     /* for the rest to arrive (and hash passwords) */
#define MORE "workers = 1\ndb_pool_size = 1\ndb_group_commit = true\nauth_rate_limit = off\n"

static char *db_url;
static vct_vcd_t *vcd;

/* --- the test's own session, holding a lock ---------------------------------- */

static PGconn *lock_open(void)
{
	PGconn *pg = PQconnectdb(db_url);

	if (PQstatus(pg) != CONNECTION_OK)
		fail_msg("cannot connect to %s: %s", db_url, PQerrorMessage(pg));
	return pg;
}

static void sql_ok(PGconn *pg, const char *sql)
{
	PGresult *r = PQexec(pg, sql);

	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQerrorMessage(pg));
	PQclear(r);
}

/* Lock the meeting's row until lock_release: vcd's joins of it wait. */
static PGconn *lock_meeting(const char *room)
{
	PGconn *pg = lock_open();
	char *sql = vct_strf("SELECT 1 FROM meetings WHERE room_id = '%s' AND deleted_at IS NULL"
	                     " FOR UPDATE",
	                     room);

	sql_ok(pg, "BEGIN");
	sql_ok(pg, sql);
	free(sql);
	return pg;
}

static void lock_release(PGconn *pg)
{
	sql_ok(pg, "COMMIT");
	PQfinish(pg);
}

/* Until a backend of vcd's database waits for a lock. */
static void wait_for_lock_waiter(void)
{
	for (unsigned waited = 0; waited < LOCK_WAIT_MS; waited += 20) {
		char *n = vct_db_value(db_url, "SELECT count(*) FROM pg_stat_activity"
		                               " WHERE wait_event_type = 'Lock'");
		bool seen = strcmp(n, "0") != 0;

		free(n);
		if (seen)
			return;
		vct_sleep_ms(20);
	}
	fail_msg("no statement of vcd waited for the test's lock within %d ms", LOCK_WAIT_MS);
}

/* --- requests on a thread while the lock is held ------------------------------ */

typedef struct run {
	vcm_job_t *jobs;
	unsigned n;
	pthread_t th;
} run_t;

static void *run_main(void *arg)
{
	run_t *r = arg;

	vcm_run_jobs(r->jobs, r->n);
	return NULL;
}

static double metric(const char *name)
{
	double v = vct_metric_get(vcd->port, name);

	if (v < 0)
		fail_msg("/metrics has no %s", name);
	return v;
}

static char *count(const char *fmt, const char *arg)
{
	return vct_db_valuef(db_url, fmt, arg);
}

static void expect_db(char *got, const char *want, const char *what)
{
	if (strcmp(got, want) != 0)
		fail_msg("%s: %s, expected %s", what, got, want);
	free(got);
}

/* Joins of `room` by n new guests while the room's row is locked; returns
 * the jobs (answered) after the lock is released. */
static void joins_under_lock(const char *room, vcm_job_t *jobs, unsigned n, char **paths,
                             char **users, vcm_job_t *extra, unsigned nextra)
{
	vcm_job_t *all = calloc(n + nextra, sizeof(*all));
	run_t r = { all, n + nextra, 0 };

	assert_non_null(all);
	PGconn *lock = lock_meeting(room);

	for (unsigned i = 0; i < n; i++) {
		users[i] = vct_strf("gc-%s-%u@example.com", room, i);
		paths[i] = vcm_url(room, "join");
		all[i] = (vcm_job_t){
			.user = users[i], .method = "POST", .path = paths[i], .body = "{}"
		};
	}
	for (unsigned i = 0; i < nextra; i++)
		all[n + i] = extra[i];
	assert_int_equal(pthread_create(&r.th, NULL, run_main, &r), 0);
	wait_for_lock_waiter();
	vct_sleep_ms(GATHER_MS);
	lock_release(lock);
	assert_int_equal(pthread_join(r.th, NULL), 0);
	memcpy(jobs, all, n * sizeof(*jobs));
	if (nextra > 0)
		memcpy(extra, all + n, nextra * sizeof(*extra));
	free(all);
}

static void expect_waiting(vcm_job_t *jobs, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (jobs[i].status != 200 ||
		    !json_is_true(json_object_get(jobs[i].json, "success")))
			fail_msg("join %u (%s): status %d", i, jobs[i].user, jobs[i].status);
		vcm_participant(json_object_get(jobs[i].json, "result"), jobs[i].user, "waiting",
		                false);
	}
}

static void test_waiting_statements_commit_together(void **state)
{
	const char *room = "gc-together";
	vcm_job_t jobs[JOINS];
	char *paths[JOINS], *users[JOINS];
	double commits = metric("vcd_db_group_commits_total");
	double committed = metric("vcd_db_group_committed_queries_total");
	double failures = metric("vcd_db_group_commit_failures_total");

	json_decref(vcm_join(HOST, room, "Host"));
	joins_under_lock(room, jobs, JOINS, paths, users, NULL, 0);
	expect_waiting(jobs, JOINS);
	expect_db(count("SELECT count(*) FROM meeting_participants p JOIN meetings m"
	                " ON m.id = p.meeting_id WHERE m.room_id = '%s' AND status = 'waiting'",
	                room),
	          "12", "waiting rows");
	/* The first join waited for the lock; the others arrived meanwhile and
	 * left together once it committed. */
	if (metric("vcd_db_group_commits_total") - commits < 1 ||
	    metric("vcd_db_group_committed_queries_total") - committed < JOINS / 2)
		fail_msg("group commits: %.0f more, with %.0f queries; expected at least 1 with %d",
		         metric("vcd_db_group_commits_total") - commits,
		         metric("vcd_db_group_committed_queries_total") - committed, JOINS / 2);
	assert_true(metric("vcd_db_group_commit_failures_total") == failures);
	vcm_jobs_free(jobs, JOINS);
	for (unsigned i = 0; i < JOINS; i++) {
		free(paths[i]);
		free(users[i]);
	}
	vct_pass();
}

static void test_failed_group_commit_runs_each_alone(void **state)
{
	const char *room = "gc-failed";
	const char *taken = "{\"username\":\"gc_taken\",\"password\":\"Pw-gc-taken-1!\"}";
	const char *fresh = "{\"username\":\"gc_fresh\",\"password\":\"Pw-gc-fresh-1!\"}";
	vcm_job_t jobs[JOINS], regs[2] = {
		{ .user = HOST, .method = "POST", .path = "/api/users/register", .body = taken },
		{ .user = HOST, .method = "POST", .path = "/api/users/register", .body = fresh },
	};
	char *paths[JOINS], *users[JOINS];
	double failures = metric("vcd_db_group_commit_failures_total");
	vct_resp_t r;

	assert_int_equal(vct_http(vcd->port, "POST", "/api/users/register",
	                          "Content-Type: application/json\r\n", taken, &r),
	                 201);
	vct_resp_free(&r);
	json_decref(vcm_join(HOST, room, "Host"));
	joins_under_lock(room, jobs, JOINS, paths, users, regs, 2);
	expect_waiting(jobs, JOINS);
	if (regs[0].status != 409 || regs[1].status != 201)
		fail_msg("registrations: taken %d (expected 409), fresh %d (expected 201)",
		         regs[0].status, regs[1].status);
	/* Nothing twice: each statement of the rolled back batch ran once more. */
	expect_db(count("SELECT count(*) FROM meeting_participants p JOIN meetings m"
	                " ON m.id = p.meeting_id WHERE m.room_id = '%s' AND status = 'waiting'",
	                room),
	          "12", "waiting rows");
	expect_db(count("SELECT count(*) FROM users WHERE username LIKE '%s'", "gc\\_%"), "2",
	          "users");
	if (metric("vcd_db_group_commit_failures_total") - failures < 1)
		fail_msg("no group commit failed: the taken username was not in a batch");
	vcm_jobs_free(jobs, JOINS);
	vcm_jobs_free(regs, 2);
	for (unsigned i = 0; i < JOINS; i++) {
		free(paths[i]);
		free(users[i]);
	}
	vct_pass();
}

static int group_setup(void **state)
{
	vcd = vcm_start("group_commit", "gcommit", MORE, &db_url);
	return 0;
}

static int group_teardown(void **state)
{
	return vcm_finish(vcd, &db_url);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, vct_setup, vct_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_waiting_statements_commit_together),
		T(test_failed_group_commit_runs_each_alone),
	};

	return cmocka_run_group_tests_name("group_commit", tests, group_setup, group_teardown);
}
