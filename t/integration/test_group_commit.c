/*
 * test_group_commit.c — db_group_commit (runtime/pg.c) and the guest
 * joins written together (actors/meetings.c, mt_join_guest) with a real vcd
 * and PostgreSQL. The vcd has one worker with one connection, so statements
 * that arrive while a transaction is in flight wait in the queue and leave
 * together as the next one. The test holds a lock on a meeting's row in its
 * own session to keep vcd's first statement waiting while the others
 * arrive, then lets go. What the clients are answered, the rows and vcd's
 * counters in /metrics must agree:
 *
 *   - statements waiting together (joins of different meetings) are
 *     committed together, each answered once;
 *   - guest joins of one meeting that wait together are one statement,
 *     each answered from its own row;
 *   - a batch with a statement that fails (a username already taken) is
 *     rolled back as a whole; the failed statement runs again alone and the
 *     others together: each succeeds exactly once, the failing one gets its
 *     own answer;
 *   - a joins statement that fails (a row the database refuses) is written
 *     again one join at a time: only the refused join fails;
 *   - ad-hoc joins of different rooms that wait together are one statement,
 *     each answered from its own row (a room that exists, or two callers
 *     creating one room, read and join it as it is);
 *   - for every kind of meeting write that goes in a batch — ad-hoc joins
 *     of different rooms, guest joins of different meetings, admits, leaves
 *     — one refused by a CHECK among five others fails alone (500), the
 *     five are answered 200, their rows are there, and they were committed
 *     together again after the failed batch (vcd_db_queued tells the test
 *     that all six wait behind the lock before it lets go); the six ad-hoc
 *     joins are one statement (vcd_meeting_adhocs_gathering), which fails,
 *     and each is written again alone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
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

/* Joins by n new guests (of rooms[i], or all of rooms[0] when rooms[1] is
 * NULL) while the row of rooms[0] is locked; returns the jobs (answered)
 * after the lock is released. */
static void joins_under_lock(const char *const *rooms, vcm_job_t *jobs, unsigned n, char **paths,
                             char **users, vcm_job_t *extra, unsigned nextra)
{
	vcm_job_t *all = calloc(n + nextra, sizeof(*all));
	run_t r = { all, n + nextra, 0 };

	assert_non_null(all);
	PGconn *lock = lock_meeting(rooms[0]);

	for (unsigned i = 0; i < n; i++) {
		const char *room = rooms[1] == NULL ? rooms[0] : rooms[i];
		users[i] = users[i] != NULL ? users[i] : vct_strf("gc-%s-%u@example.com", room, i);
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

static void free_all(vcm_job_t *jobs, char **paths, char **users, unsigned n)
{
	vcm_jobs_free(jobs, n);
	for (unsigned i = 0; i < n; i++) {
		free(paths[i]);
		free(users[i]);
	}
}

/* Waiting rows of `room`, as text. */
static char *waiting_rows(const char *room)
{
	return count("SELECT count(*) FROM meeting_participants p JOIN meetings m"
	             " ON m.id = p.meeting_id WHERE m.room_id = '%s' AND status = 'waiting'",
	             room);
}

static void test_waiting_statements_commit_together(void **state)
{
	const char *rooms[JOINS];
	vcm_job_t jobs[JOINS];
	char *paths[JOINS], *users[JOINS] = { NULL };
	double commits = metric("vcd_db_group_commits_total");
	double committed = metric("vcd_db_group_committed_queries_total");
	double failures = metric("vcd_db_group_commit_failures_total");

	/* One meeting per guest: their joins are different statements. */
	for (unsigned i = 0; i < JOINS; i++) {
		rooms[i] = vct_strf("gc-together-%u", i);
		json_decref(vcm_join(HOST, rooms[i], "Host"));
	}
	joins_under_lock(rooms, jobs, JOINS, paths, users, NULL, 0);
	expect_waiting(jobs, JOINS);
	for (unsigned i = 0; i < JOINS; i++)
		expect_db(waiting_rows(rooms[i]), "1", "waiting rows of one meeting");
	/* The first join waited for the lock; the others arrived meanwhile and
	 * left together once it committed. */
	if (metric("vcd_db_group_commits_total") - commits < 1 ||
	    metric("vcd_db_group_committed_queries_total") - committed < JOINS / 2)
		fail_msg("group commits: %.0f more, with %.0f queries; expected at least 1 with %d",
		         metric("vcd_db_group_commits_total") - commits,
		         metric("vcd_db_group_committed_queries_total") - committed, JOINS / 2);
	assert_true(metric("vcd_db_group_commit_failures_total") == failures);
	free_all(jobs, paths, users, JOINS);
	for (unsigned i = 0; i < JOINS; i++)
		free((char *)rooms[i]);
	vct_pass();
}

static void test_joins_of_one_meeting_are_one_statement(void **state)
{
	const char *rooms[2] = { "gc-one-statement", NULL };
	vcm_job_t jobs[JOINS];
	char *paths[JOINS], *users[JOINS] = { NULL };
	double batches = metric("vcd_meeting_join_batches_total");
	double batched = metric("vcd_meeting_joins_batched_total");

	json_decref(vcm_join(HOST, rooms[0], "Host"));
	joins_under_lock(rooms, jobs, JOINS, paths, users, NULL, 0);
	/* Each is answered from its own row (vcm_participant checks the user). */
	expect_waiting(jobs, JOINS);
	expect_db(waiting_rows(rooms[0]), "12", "waiting rows");
	/* The first statement waited for the lock with the only connection;
	 * every join after it gathered in the next one while it waited. */
	if (metric("vcd_meeting_joins_batched_total") - batched != JOINS ||
	    metric("vcd_meeting_join_batches_total") - batches > 2)
		fail_msg("%.0f joins written in %.0f statements; expected %d in at most 2",
		         metric("vcd_meeting_joins_batched_total") - batched,
		         metric("vcd_meeting_join_batches_total") - batches, JOINS);
	free_all(jobs, paths, users, JOINS);
	vct_pass();
}

static void test_failed_joins_statement_writes_each_alone(void **state)
{
	const char *rooms[2] = { "gc-one-refused", NULL };
	const char *refused = "gc-refused@example.com";
	vcm_job_t jobs[JOINS];
	char *paths[JOINS], *users[JOINS] = { NULL };
	double batches = metric("vcd_meeting_join_batches_total");
	PGconn *pg = lock_open();

	/* A row the database refuses, as a constraint added by a DBA would. */
	sql_ok(pg, "ALTER TABLE meeting_participants ADD CONSTRAINT gc_refused"
	           " CHECK (user_id <> 'gc-refused@example.com')");
	json_decref(vcm_join(HOST, rooms[0], "Host"));
	users[JOINS - 1] = strdup(refused);
	joins_under_lock(rooms, jobs, JOINS, paths, users, NULL, 0);
	sql_ok(pg, "ALTER TABLE meeting_participants DROP CONSTRAINT gc_refused");
	PQfinish(pg);
	expect_waiting(jobs, JOINS - 1);
	if (jobs[JOINS - 1].status != 500)
		fail_msg("the refused join: status %d, expected 500", jobs[JOINS - 1].status);
	expect_db(waiting_rows(rooms[0]), "11", "waiting rows");
	expect_db(count("SELECT count(*) FROM meeting_participants WHERE user_id = '%s'", refused),
	          "0", "rows of the refused user");
	if (metric("vcd_meeting_join_batches_total") - batches < 1 ||
	    vct_vcd_log_count(vcd, "guest joins written together failed") != 1)
		fail_msg("%u log lines of a failed joins statement; expected 1 (the one that "
		         "held the refused join)",
		         vct_vcd_log_count(vcd, "guest joins written together failed"));
	free_all(jobs, paths, users, JOINS);
	vct_pass();
}

static void test_failed_group_commit_runs_each_alone(void **state)
{
	const char *taken = "{\"username\":\"gc_taken\",\"password\":\"Pw-gc-taken-1!\"}";
	const char *fresh = "{\"username\":\"gc_fresh\",\"password\":\"Pw-gc-fresh-1!\"}";
	vcm_job_t jobs[JOINS], regs[2] = {
		{ .user = HOST, .method = "POST", .path = "/api/users/register", .body = taken },
		{ .user = HOST, .method = "POST", .path = "/api/users/register", .body = fresh },
	};
	const char *rooms[2] = { "gc-failed", NULL };
	char *paths[JOINS], *users[JOINS] = { NULL };
	double failures = metric("vcd_db_group_commit_failures_total");
	vct_resp_t r;

	assert_int_equal(vct_http(vcd->port, "POST", "/api/users/register",
	                          "Content-Type: application/json\r\n", taken, &r),
	                 201);
	vct_resp_free(&r);
	json_decref(vcm_join(HOST, rooms[0], "Host"));
	joins_under_lock(rooms, jobs, JOINS, paths, users, regs, 2);
	expect_waiting(jobs, JOINS);
	if (regs[0].status != 409 || regs[1].status != 201)
		fail_msg("registrations: taken %d (expected 409), fresh %d (expected 201)",
		         regs[0].status, regs[1].status);
	/* Nothing twice: each statement of the rolled back batch ran once more. */
	expect_db(waiting_rows(rooms[0]), "12", "waiting rows");
	expect_db(count("SELECT count(*) FROM users WHERE username LIKE '%s'", "gc\\_%"), "2",
	          "users");
	if (metric("vcd_db_group_commit_failures_total") - failures < 1)
		fail_msg("no group commit failed: the taken username was not in a batch");
	free_all(jobs, paths, users, JOINS);
	vcm_jobs_free(regs, 2);
	vct_pass();
}

/* --- one refused write among others of its kind -------------------------------- */

#define KIND_N 6 /* writes of one kind behind the lock, the last one refused */

static double metric_now(const char *name)
{
	return metric(name);
}

/* Until gauge `name` (vcd_db_queued: statements waiting for vcd's
 * connection; vcd_meeting_adhocs_gathering: ad-hoc joins in a statement
 * that waits) is at least n. */
static void wait_for_gauge(const char *name, unsigned n)
{
	for (unsigned waited = 0; waited < LOCK_WAIT_MS; waited += 20) {
		if (metric_now(name) >= n)
			return;
		vct_sleep_ms(20);
	}
	fail_msg("%s: %.0f within %d ms; expected %u", name, metric_now(name), LOCK_WAIT_MS, n);
}

/* The n jobs while vcd's only connection is held by a guest join waiting
 * for the test's lock on another meeting: their statements (n of them,
 * each job's first) queue behind it and, once the lock goes, leave as one
 * transaction. */
static void behind_lock_until(vcm_job_t *jobs, unsigned n, const char *gauge)
{
	static unsigned blocked;
	const char *room = "gc-blocker";
	char *path = vcm_url(room, "join");
	char *user = vct_strf("gc-blocked-%u@example.com", blocked++);
	vcm_job_t block = { .user = user, .method = "POST", .path = path, .body = "{}" };
	run_t b = { &block, 1, 0 }, r = { jobs, n, 0 };
	PGconn *lock;

	json_decref(vcm_join(HOST, room, "Host"));
	lock = lock_meeting(room);
	assert_int_equal(pthread_create(&b.th, NULL, run_main, &b), 0);
	wait_for_lock_waiter();
	assert_int_equal(pthread_create(&r.th, NULL, run_main, &r), 0);
	wait_for_gauge(gauge, n);
	lock_release(lock);
	assert_int_equal(pthread_join(b.th, NULL), 0);
	assert_int_equal(pthread_join(r.th, NULL), 0);
	if (block.status != 200)
		fail_msg("the blocked join: status %d", block.status);
	vcm_jobs_free(&block, 1);
	free(path);
	free(user);
}

static void behind_lock(vcm_job_t *jobs, unsigned n)
{
	behind_lock_until(jobs, n, "vcd_db_queued");
}

/* The last of n jobs refused (500), every other answered 200 — and their
 * batch failed once, then its other statements were committed together
 * again, not one by one: those before the refused one and those after it,
 * a side of one going alone (n - 2 at least, for n >= 4; none before).
 * `reads`: statements answered from group commits before the writes (a
 * leave reads first: its n reads queue behind the lock and go together).
 * failures < 0: the writes were one statement (ad-hoc joins), not a batch
 * of them; only the answers are checked here. */
static void expect_only_last_refused(vcm_job_t *jobs, unsigned n, const char *what, double failures,
                                     double committed, unsigned reads)
{
	double together;

	for (unsigned i = 0; i + 1 < n; i++)
		if (jobs[i].status != 200 ||
		    !json_is_true(json_object_get(jobs[i].json, "success")))
			fail_msg("%s %u (%s): status %d, expected 200", what, i, jobs[i].user,
			         jobs[i].status);
	if (jobs[n - 1].status != 500)
		fail_msg("the refused %s: status %d, expected 500", what, jobs[n - 1].status);
	if (failures < 0)
		return;
	if (metric("vcd_db_group_commit_failures_total") - failures < 1)
		fail_msg("no group commit failed: the refused %s was not written with the others",
		         what);
	together = metric("vcd_db_group_committed_queries_total") - committed;
	if (together < reads + n - 2)
		fail_msg("%.0f statements answered from group commits; expected at least %u: the "
		         "refused %s's neighbours were not committed together again",
		         together, reads + n - 2, what);
}

/* A CHECK the database refuses `user`'s row with, as a DBA's would. */
static PGconn *refuse(const char *table, const char *check)
{
	PGconn *pg = lock_open();
	char *sql = vct_strf("ALTER TABLE %s ADD CONSTRAINT gc_refused CHECK (%s)", table, check);

	sql_ok(pg, sql);
	free(sql);
	return pg;
}

static void refuse_end(PGconn *pg, const char *table)
{
	char *sql = vct_strf("ALTER TABLE %s DROP CONSTRAINT gc_refused", table);

	sql_ok(pg, sql);
	free(sql);
	PQfinish(pg);
}

static void jobs_clear(vcm_job_t *jobs, char **strs, unsigned n)
{
	vcm_jobs_free(jobs, n);
	for (unsigned i = 0; i < n; i++)
		free(strs[i]);
}

static void test_refused_adhoc_join_fails_alone(void **state)
{
	vcm_job_t jobs[KIND_N];
	char *users[KIND_N], *paths[KIND_N];
	double batched = metric("vcd_meeting_adhocs_batched_total");
	PGconn *pg = refuse("meetings", "room_id <> 'gc-adhoc-5'");

	/* New rooms: each join creates its meeting (S_ADHOC_JOIN). */
	for (unsigned i = 0; i < KIND_N; i++) {
		char room[32];
		snprintf(room, sizeof(room), "gc-adhoc-%u", i);
		users[i] = vct_strf("gc-adhoc-host-%u@example.com", i);
		paths[i] = vcm_url(room, "join");
		jobs[i] = (vcm_job_t){
			.user = users[i], .method = "POST", .path = paths[i], .body = "{}"
		};
	}
	/* one statement gathers them (S_ADHOC_JOINS) */
	behind_lock_until(jobs, KIND_N, "vcd_meeting_adhocs_gathering");
	refuse_end(pg, "meetings");
	expect_only_last_refused(jobs, KIND_N, "ad-hoc join", -1, 0, 0);
	/* they were one statement, which failed once; each was written again
	 * alone, and only the refused one failed */
	if (vct_vcd_log_count(vcd, "ad-hoc joins written together failed") != 1)
		fail_msg("%u log lines of a failed ad-hoc joins statement; expected 1",
		         vct_vcd_log_count(vcd, "ad-hoc joins written together failed"));
	if (metric("vcd_meeting_adhocs_batched_total") - batched < KIND_N)
		fail_msg("%.0f ad-hoc joins written together; expected %d",
		         metric("vcd_meeting_adhocs_batched_total") - batched, KIND_N);
	for (unsigned i = 0; i + 1 < KIND_N; i++)
		vcm_participant(json_object_get(jobs[i].json, "result"), users[i], "admitted",
		                true);
	expect_db(count("SELECT count(*) FROM meetings m JOIN meeting_participants p"
	                " ON p.meeting_id = m.id AND p.is_host WHERE m.room_id LIKE '%s'",
	                "gc-adhoc-%"),
	          "5", "ad-hoc meetings with their host");
	jobs_clear(jobs, users, KIND_N);
	for (unsigned i = 0; i < KIND_N; i++)
		free(paths[i]);
	vct_pass();
}

/* Ad-hoc joins of different rooms that wait together are one statement
 * (S_ADHOC_JOINS): each answered from its own row; a room that exists
 * without the actor knowing it, and a new room two callers join at once,
 * get no row for the join that did not create it, which reads and joins
 * the meeting as it is. */
static void test_adhoc_joins_of_rooms_are_one_statement(void **state)
{
	enum { NEW = 8, N = NEW + 3 };
	vcm_job_t jobs[N];
	char *users[N], *paths[N];
	double batches = metric("vcd_meeting_adhoc_batches_total");
	double batched = metric("vcd_meeting_adhocs_batched_total");
	PGconn *pg = lock_open();
	unsigned hosts = 0;

	/* made by another node: this vcd's actor does not know it */
	sql_ok(pg, "INSERT INTO meetings (room_id, creator_id)"
	           " VALUES ('gc-adhocs-exists', 'gc-adhocs-other@example.com')");
	PQfinish(pg);
	for (unsigned i = 0; i < N; i++) {
		char room[32];
		if (i < NEW)
			snprintf(room, sizeof(room), "gc-adhocs-%u", i);
		else
			snprintf(room, sizeof(room), i == NEW ? "gc-adhocs-exists" : "gc-adhocs-twice");
		users[i] = vct_strf("gc-adhocs-user-%u@example.com", i);
		paths[i] = vcm_url(room, "join");
		jobs[i] = (vcm_job_t){
			.user = users[i], .method = "POST", .path = paths[i], .body = "{}"
		};
	}
	behind_lock_until(jobs, N, "vcd_meeting_adhocs_gathering");
	for (unsigned i = 0; i < N; i++)
		if (jobs[i].status != 200 ||
		    !json_is_true(json_object_get(jobs[i].json, "success")))
			fail_msg("ad-hoc join %u (%s): status %d", i, users[i], jobs[i].status);
	for (unsigned i = 0; i < NEW; i++)
		vcm_participant(json_object_get(jobs[i].json, "result"), users[i], "admitted",
		                true);
	for (unsigned i = NEW + 1; i < N; i++)
		hosts += json_is_true(
		        json_object_get(json_object_get(jobs[i].json, "result"), "is_host"));
	if (hosts != 1)
		fail_msg("two joins creating one room: %u hosts, expected 1", hosts);
	expect_db(count("SELECT count(*) FROM meetings m JOIN meeting_participants p"
	                " ON p.meeting_id = m.id AND p.is_host WHERE m.room_id LIKE '%s'",
	                "gc-adhocs-%"),
	          "9", "ad-hoc meetings with their host");
	/* the meeting that existed is idle: its guest waits for it, no row */
	vcm_participant(json_object_get(jobs[NEW].json, "result"), users[NEW],
	                "waiting_for_meeting", false);
	expect_db(count("SELECT count(*) FROM meeting_participants WHERE user_id LIKE '%s'",
	                "gc-adhocs-user-%"),
	          "10", "rows of the callers");
	/* all gathered in the statement that waited behind the lock */
	if (metric("vcd_meeting_adhocs_batched_total") - batched < N ||
	    metric("vcd_meeting_adhoc_batches_total") - batches > 2)
		fail_msg("%.0f ad-hoc joins written in %.0f statements; expected %d in at most 2",
		         metric("vcd_meeting_adhocs_batched_total") - batched,
		         metric("vcd_meeting_adhoc_batches_total") - batches, N);
	jobs_clear(jobs, users, N);
	for (unsigned i = 0; i < N; i++)
		free(paths[i]);
	vct_pass();
}

static void test_refused_guest_join_fails_alone(void **state)
{
	vcm_job_t jobs[KIND_N];
	char *users[KIND_N], *paths[KIND_N];
	double failures, committed;
	PGconn *pg;

	/* One meeting per guest: a statement each, of different meetings. */
	for (unsigned i = 0; i < KIND_N; i++) {
		char room[32];
		snprintf(room, sizeof(room), "gc-guest-%u", i);
		json_decref(vcm_join(HOST, room, "Host"));
		users[i] = vct_strf("gc-guest-%u@example.com", i);
		paths[i] = vcm_url(room, "join");
		jobs[i] = (vcm_job_t){
			.user = users[i], .method = "POST", .path = paths[i], .body = "{}"
		};
	}
	failures = metric("vcd_db_group_commit_failures_total");
	committed = metric("vcd_db_group_committed_queries_total");
	pg = refuse("meeting_participants", "user_id <> 'gc-guest-5@example.com'");
	behind_lock(jobs, KIND_N);
	refuse_end(pg, "meeting_participants");
	expect_only_last_refused(jobs, KIND_N, "guest join", failures, committed, 0);
	expect_waiting(jobs, KIND_N - 1);
	expect_db(count("SELECT count(*) FROM meeting_participants WHERE user_id LIKE '%s'",
	                "gc-guest-%"),
	          "5", "guest rows");
	jobs_clear(jobs, users, KIND_N);
	for (unsigned i = 0; i < KIND_N; i++)
		free(paths[i]);
	vct_pass();
}

static void test_refused_admit_fails_alone(void **state)
{
	const char *room = "gc-admits";
	vcm_job_t jobs[KIND_N];
	char *users[KIND_N], *bodies[KIND_N];
	char *path = vcm_url(room, "admit");
	double failures, committed;
	PGconn *pg;

	/* Admits of one meeting run side by side, a statement each. */
	json_decref(vcm_join(HOST, room, "Host"));
	for (unsigned i = 0; i < KIND_N; i++) {
		users[i] = vct_strf("gc-admit-%u@example.com", i);
		json_decref(vcm_join(users[i], room, NULL));
		bodies[i] = vct_strf("{\"user_id\":\"%s\"}", users[i]);
		jobs[i] = (vcm_job_t){
			.user = HOST, .method = "POST", .path = path, .body = bodies[i]
		};
	}
	failures = metric("vcd_db_group_commit_failures_total");
	committed = metric("vcd_db_group_committed_queries_total");
	pg = refuse("meeting_participants",
	            "NOT (user_id = 'gc-admit-5@example.com' AND status = 'admitted')");
	behind_lock(jobs, KIND_N);
	refuse_end(pg, "meeting_participants");
	expect_only_last_refused(jobs, KIND_N, "admit", failures, committed, 0);
	expect_db(count("SELECT count(*) FROM meeting_participants WHERE user_id LIKE '%s'"
	                " AND status = 'admitted'",
	                "gc-admit-%"),
	          "5", "admitted guests");
	expect_db(count("SELECT status FROM meeting_participants WHERE user_id = '%s'",
	                "gc-admit-5@example.com"),
	          "waiting", "the refused guest");
	jobs_clear(jobs, bodies, KIND_N);
	for (unsigned i = 0; i < KIND_N; i++)
		free(users[i]);
	free(path);
	vct_pass();
}

static void test_refused_leave_fails_alone(void **state)
{
	vcm_job_t jobs[KIND_N];
	char *users[KIND_N], *paths[KIND_N];
	double failures, committed;
	PGconn *pg;

	/* Leaves of one meeting run one at a time: one meeting per guest. */
	for (unsigned i = 0; i < KIND_N; i++) {
		char room[32];
		snprintf(room, sizeof(room), "gc-leave-%u", i);
		json_decref(vcm_join(HOST, room, "Host"));
		users[i] = vct_strf("gc-leave-%u@example.com", i);
		json_decref(vcm_join(users[i], room, NULL));
		paths[i] = vcm_url(room, "leave");
		jobs[i] = (vcm_job_t){
			.user = users[i], .method = "POST", .path = paths[i], .body = "{}"
		};
	}
	failures = metric("vcd_db_group_commit_failures_total");
	committed = metric("vcd_db_group_committed_queries_total");
	pg = refuse("meeting_participants",
	            "NOT (user_id = 'gc-leave-5@example.com' AND status = 'left')");
	behind_lock(jobs, KIND_N);
	refuse_end(pg, "meeting_participants");
	expect_only_last_refused(jobs, KIND_N, "leave", failures, committed, KIND_N);
	expect_db(count("SELECT count(*) FROM meeting_participants WHERE user_id LIKE '%s'"
	                " AND status = 'left'",
	                "gc-leave-%"),
	          "5", "guests who left");
	jobs_clear(jobs, users, KIND_N);
	for (unsigned i = 0; i < KIND_N; i++)
		free(paths[i]);
	vct_pass();
}

/* --- kill -9 during a burst of joins ------------------------------------------ */

#define BURST 16         /* joins per round, all sent at once */
#define BURST_ROUNDS 200 /* at most; the kill ends it long before */
#define KILL_AFTER 40    /* answered joins before the kill */
#define KILL_WAIT_MS 30000

typedef struct burst {
	pthread_t th;
	atomic_uint answered; /* 200s so far */
	atomic_bool stop;
	atomic_uint rounds; /* done */
	unsigned unanswered;
	char **rooms; /* the rooms of the joins answered 200 */
	unsigned nrooms;
} burst_t;

/* Rounds of BURST ad-hoc joins (a new room each) and guest joins of the
 * meetings made in the round before, until told to stop or vcd answers
 * nothing more. */
static void *burst_main(void *arg)
{
	burst_t *b = arg;

	for (unsigned r = 0; r < BURST_ROUNDS && !atomic_load(&b->stop); r++) {
		vcm_job_t jobs[BURST];
		char *users[BURST], *paths[BURST], *rooms[BURST];
		unsigned got = 0;

		for (unsigned i = 0; i < BURST; i++) {
			/* odd ones: a guest of the meeting the even one before made in
			 * the previous round (404 when that join was not answered) */
			unsigned at = i % 2 == 0 || r == 0 ? r : r - 1;
			rooms[i] = vct_strf("gc-kill-%u-%u", at, i & ~1u);
			users[i] = vct_strf("gc-kill-%u-%u@example.com", r, i);
			paths[i] = vcm_url(rooms[i], "join");
			jobs[i] = (vcm_job_t){
				.user = users[i], .method = "POST", .path = paths[i], .body = "{}"
			};
		}
		vcm_run_jobs(jobs, BURST);
		b->rounds++;
		for (unsigned i = 0; i < BURST; i++) {
			if (jobs[i].status == 200) {
				got++;
				b->rooms = realloc(b->rooms, (b->nrooms + 2) * sizeof(*b->rooms));
				b->rooms[b->nrooms++] = users[i];
				b->rooms[b->nrooms++] = rooms[i];
			} else {
				b->unanswered += jobs[i].status == 0;
				free(users[i]);
				free(rooms[i]);
			}
			free(paths[i]);
		}
		atomic_fetch_add(&b->answered, got);
		vcm_jobs_free(jobs, BURST);
		if (got == 0 && r > 0)
			break; /* vcd is gone */
	}
	return NULL;
}

static void test_kill_during_burst_loses_no_answered_join(void **state)
{
	char *conf = vct_strf(VCM_CONF "db_group_commit = true\nauth_rate_limit = off\n");
	vct_vcd_t *a = vct_vcd_start("gc_kill_1", db_url, conf), *b;
	burst_t burst = { 0 };
	unsigned waited = 0, lost = 0;

	vcm_target(a);
	assert_int_equal(pthread_create(&burst.th, NULL, burst_main, &burst), 0);
	while (atomic_load(&burst.answered) < KILL_AFTER && waited < KILL_WAIT_MS) {
		vct_sleep_ms(5);
		waited += 5;
	}
	if (atomic_load(&burst.answered) < KILL_AFTER) {
		atomic_store(&burst.stop, true);
		pthread_join(burst.th, NULL);
		fail_msg("%u joins answered within %d ms; expected %d before the kill",
		         atomic_load(&burst.answered), KILL_WAIT_MS, KILL_AFTER);
	}
	/* mid-round: once the round under way has a row committed */
	for (unsigned r = atomic_load(&burst.rounds); waited < KILL_WAIT_MS; waited += 2) {
		char *n = vct_db_valuef(db_url,
		                        "SELECT count(*) FROM meeting_participants"
		                        " WHERE user_id LIKE 'gc-kill-%u-%%'",
		                        r);
		bool seen = strcmp(n, "0") != 0;

		free(n);
		if (seen)
			break;
		vct_sleep_ms(2);
	}
	vct_vcd_kill(a);
	atomic_store(&burst.stop, true);
	assert_int_equal(pthread_join(burst.th, NULL), 0);
	print_message("kill -9 after %u rounds: %u joins answered 200, %u unanswered\n",
	              burst.rounds, burst.nrooms / 2, burst.unanswered);

	/* Every join answered 200 is in the database, as the new vcd sees it. */
	b = vct_vcd_start("gc_kill_2", db_url, conf);
	vcm_target(b);
	for (unsigned i = 0; i < burst.nrooms; i += 2) {
		char *n =
		        vct_db_valuef(db_url,
		                      "SELECT count(*) FROM meeting_participants p JOIN meetings m"
		                      " ON m.id = p.meeting_id WHERE m.room_id = '%s'"
		                      " AND p.user_id = '%s'",
		                      burst.rooms[i + 1], burst.rooms[i]);
		if (strcmp(n, "1") != 0) {
			print_error("answered join of %s to %s: %s rows after the restart\n",
			            burst.rooms[i], burst.rooms[i + 1], n);
			lost++;
		}
		free(n);
	}
	if (lost > 0)
		fail_msg("%u of %u joins answered 200 were lost by kill -9", lost,
		         burst.nrooms / 2);
	/* and the restarted vcd answers from them: the last answered join again */
	if (burst.nrooms >= 2)
		json_decref(vcm_ok(burst.rooms[burst.nrooms - 2], "GET",
		                   burst.rooms[burst.nrooms - 1], "status", NULL, 200));
	vct_vcd_stop_ok(b);
	vcm_target(vcd);
	for (unsigned i = 0; i < burst.nrooms; i++)
		free(burst.rooms[i]);
	free(burst.rooms);
	free(conf);
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
		T(test_joins_of_one_meeting_are_one_statement),
		T(test_failed_group_commit_runs_each_alone),
		T(test_failed_joins_statement_writes_each_alone),
		T(test_adhoc_joins_of_rooms_are_one_statement),
		T(test_refused_adhoc_join_fails_alone),
		T(test_refused_guest_join_fails_alone),
		T(test_refused_admit_fails_alone),
		T(test_refused_leave_fails_alone),
		T(test_kill_during_burst_loses_no_answered_join),
	};

	return cmocka_run_group_tests_name("group_commit", tests, group_setup, group_teardown);
}
