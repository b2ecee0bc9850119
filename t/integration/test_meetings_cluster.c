/*
 * test_meetings_cluster.c — two vcd nodes on one database never produce a
 * state the single-node rules forbid. The meeting actor serializes the
 * commands of a room within one node; across nodes only the conditional
 * writes of actors/meetings.c (and their bounded retries) keep the rules,
 * so every case here sends the same commands to both nodes at the same
 * moment: ad-hoc creation of one room id, joins then admits of 100 guests,
 * racing admits of one guest, and turning the waiting room off while
 * guests join. The rows in PostgreSQL, the counts of GET on both nodes and
 * every answer must agree; a 500 (a stale read retried too often) fails.
 *
 * Both vcds get VCM_CONF (compat session JWTs, the shared secret, token_ttl
 * 600 s); NATS is not needed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "t/lib/vctest.h"
#include "t/lib/vctest_meetings.h"

#define HOST "host@example.com"
#define RACERS 60
#define GUESTS 100
#define ADMITS 10 /* racing admits of one guest per node */
#define TOGGLERS 50
#define ROUNDS 3 /* waiting room toggles, each on a room of its own */

static char *db_url;
static vct_vcd_t *node_a, *node_b;

/* --- many callers at once, on two nodes -------------------------------------- */

/* vcm_run_jobs with a node per job: job i goes to node B when to_b(i), else
 * to node A; all connect before any sends. Never fails the test. */
static void run_split(vcm_job_t *jobs, unsigned n, bool (*to_b)(unsigned))
{
	for (unsigned i = 0; i < n; i++)
		jobs[i].port = to_b(i) ? node_b->port : node_a->port;
	vcm_run_jobs(jobs, n);
}

static bool odd_to_b(unsigned i)
{
	return i % 2 == 1;
}

static const char *node_of(unsigned i, bool (*to_b)(unsigned))
{
	return to_b(i) ? "node B" : "node A";
}

/* --- answers and rows -------------------------------------------------------- */

/* A 200 success envelope, or the test fails naming the request and node. */
static json_t *ok_result(const vcm_job_t *j, const char *node)
{
	char body[512] = "(no JSON body)";

	if (j->status == 200 && json_is_true(json_object_get(j->json, "success")))
		return json_object_get(j->json, "result");
	if (j->json != NULL)
		body[json_dumpb(j->json, body, sizeof(body) - 1, JSON_COMPACT)] = '\0';
	fail_msg("%s %s as %s on %s: HTTP %d %s, expected 200", j->method, j->path, j->user, node,
	         j->status, body);
	return json_object_get(j->json, "result");
}

static bool error_code_is(const vcm_job_t *j, const char *code)
{
	const char *c =
	        json_string_value(json_object_get(json_object_get(j->json, "result"), "code"));

	return c != NULL && strcmp(c, code) == 0;
}

/* "admitted/waiting/total/hosts" of room's rows in PostgreSQL. */
static char *row_counts(const char *room)
{
	return vct_db_valuef(db_url,
	                     "SELECT count(*) FILTER (WHERE p.status = 'admitted') || '/' || "
	                     "count(*) FILTER (WHERE p.status = 'waiting') || '/' || count(*) "
	                     "|| '/' || count(*) FILTER (WHERE p.is_host) "
	                     "FROM meeting_participants p JOIN meetings m ON m.id = p.meeting_id "
	                     "WHERE m.room_id = '%s' AND m.deleted_at IS NULL",
	                     room);
}

/* A value of vct_db_value as a string that outlives fail_msg's longjmp. */
static const char *kept(char *v)
{
	static char buf[128];

	snprintf(buf, sizeof(buf), "%s", v);
	free(v);
	return buf;
}

static void expect_rows(const char *room, const char *want, const char *what)
{
	const char *v = kept(row_counts(room));

	if (strcmp(v, want) != 0)
		fail_msg("%s: PostgreSQL rows of %s (admitted/waiting/total/hosts) are %s, "
		         "expected %s",
		         what, room, v, want);
}

static void expect_one_meeting(const char *room)
{
	const char *v = kept(vct_db_valuef(db_url,
	                                   "SELECT count(*) FROM meetings WHERE room_id = '%s' "
	                                   "AND deleted_at IS NULL",
	                                   room));

	if (strcmp(v, "1") != 0)
		fail_msg("PostgreSQL: %s live meetings with room id %s, expected 1", v, room);
}

static char *row_status(const char *room, const char *user)
{
	return vct_db_valuef(db_url,
	                     "SELECT coalesce(min(p.status), '') FROM meeting_participants p "
	                     "JOIN meetings m ON m.id = p.meeting_id WHERE m.room_id = '%s' "
	                     "AND m.deleted_at IS NULL AND p.user_id = '%s'",
	                     room, user);
}

/* GET room on node v as the host: participant_count and waiting_count. */
static void expect_counts_on(vct_vcd_t *v, const char *room, long long admitted,
                             long long waiting_n)
{
	json_t *m;

	vcm_target(v);
	m = vcm_ok(HOST, "GET", room, NULL, NULL, 200);
	if (vct_json_int(m, "participant_count") != admitted ||
	    vct_json_int(m, "waiting_count") != waiting_n)
		fail_msg("GET %s on %s: participant_count %lld, waiting_count %lld; expected "
		         "%lld, %lld",
		         room, v->name, (long long)vct_json_int(m, "participant_count"),
		         (long long)vct_json_int(m, "waiting_count"), admitted, waiting_n);
	json_decref(m);
}

/* Create room (waiting room on, owner HOST) on A and let the host join there. */
static void host_room(const char *room)
{
	json_t *p;

	vcm_target(node_a);
	vcm_new_room(HOST, room, ",\"waiting_room_enabled\":true");
	p = vcm_join(HOST, room, "Host");
	vcm_participant(p, HOST, "admitted", true);
	json_decref(p);
}

/* --- cases ------------------------------------------------------------------- */

/*
 * 60 users join one new room id at once, half on each node: one meeting,
 * one host; everyone else waits for it — or, when their node read the
 * meeting before its creator's join activated it, is told it has not
 * started (waiting_for_meeting, nothing written). Never a 500.
 */
static void test_ad_hoc_creation_across_nodes(void **state)
{
	const char *room = "c-race";
	static char users[RACERS][48];
	static vcm_job_t jobs[RACERS];
	char *path = vcm_url(room, "join"), want[32];
	unsigned hosts = 0, waiting = 0, not_started = 0;

	for (unsigned i = 0; i < RACERS; i++) {
		snprintf(users[i], sizeof(users[i]), "race-%02u@example.com", i);
		jobs[i] = (vcm_job_t){ .user = users[i], .method = "POST", .path = path };
	}
	run_split(jobs, RACERS, odd_to_b);
	for (unsigned i = 0; i < RACERS; i++) {
		json_t *p = ok_result(&jobs[i], node_of(i, odd_to_b));
		const char *st = vct_json_str(p, "status");

		if (strcmp(st, "admitted") == 0 && json_is_true(json_object_get(p, "is_host")))
			hosts++;
		else if (strcmp(st, "waiting") == 0)
			waiting++;
		else if (strcmp(st, "waiting_for_meeting") == 0)
			not_started++;
		else
			fail_msg("join of %s on %s answered status '%s'", users[i],
			         node_of(i, odd_to_b), st);
	}
	if (hosts != 1)
		fail_msg("%d ad-hoc joins on two nodes: %u answered as host, expected 1", RACERS,
		         hosts);
	print_message("ad-hoc race: 1 host, %u waiting, %u waiting_for_meeting\n", waiting,
	              not_started);
	expect_one_meeting(room);
	/* rows: the host, and one waiting row for each 'waiting' answer */
	snprintf(want, sizeof(want), "1/%u/%u/1", waiting, waiting + 1);
	expect_rows(room, want, "ad-hoc race");
	vcm_jobs_free(jobs, RACERS);
	free(path);
	vct_pass();
}

/*
 * The host joins on A; 100 guests join at once split across A and B (all
 * wait); the host admits all 100 at once, admits split across A and B:
 * 100 answers 200, no guest lost, both nodes count the same.
 */
static void test_joins_and_admits_across_nodes(void **state)
{
	const char *room = "c-crowd";
	static char users[GUESTS][48];
	static char *bodies[GUESTS];
	static vcm_job_t jobs[GUESTS];
	char *join_path = vcm_url(room, "join"), *admit_path = vcm_url(room, "admit");

	host_room(room);
	for (unsigned i = 0; i < GUESTS; i++) {
		snprintf(users[i], sizeof(users[i]), "guest-%03u@example.com", i);
		jobs[i] = (vcm_job_t){ .user = users[i], .method = "POST", .path = join_path };
	}
	run_split(jobs, GUESTS, odd_to_b);
	for (unsigned i = 0; i < GUESTS; i++) {
		json_t *p = ok_result(&jobs[i], node_of(i, odd_to_b));
		vcm_participant(p, users[i], "waiting", false);
	}
	vcm_jobs_free(jobs, GUESTS);
	expect_rows(room, "1/100/101/1", "after 100 joins");
	expect_counts_on(node_a, room, 1, GUESTS);
	expect_counts_on(node_b, room, 1, GUESTS);
	for (unsigned i = 0; i < GUESTS; i++) {
		bodies[i] = vct_strf("{\"user_id\":\"%s\"}", users[i]);
		jobs[i] = (vcm_job_t){
			.user = HOST, .method = "POST", .path = admit_path, .body = bodies[i]
		};
	}
	/* guest i joined on one node; its admit goes to the other half of the time */
	run_split(jobs, GUESTS, odd_to_b);
	for (unsigned i = 0; i < GUESTS; i++) {
		json_t *p = ok_result(&jobs[i], node_of(i, odd_to_b));
		if (strcmp(vct_json_str(p, "status"), "admitted") != 0 ||
		    strcmp(vct_json_str(p, "user_id"), users[i]) != 0)
			fail_msg("admit of %s on %s answered %s as '%s'", users[i],
			         node_of(i, odd_to_b), vct_json_str(p, "user_id"),
			         vct_json_str(p, "status"));
		free(bodies[i]);
	}
	vcm_jobs_free(jobs, GUESTS);
	expect_rows(room, "101/0/101/1", "after 100 admits");
	expect_counts_on(node_a, room, GUESTS + 1, 0);
	expect_counts_on(node_b, room, GUESTS + 1, 0);
	free(join_path);
	free(admit_path);
	vct_pass();
}

static bool first_half_to_b(unsigned i)
{
	return i >= ADMITS;
}

/* Ten admits of one waiting guest on each node at once: exactly one wins. */
static void test_racing_admits_of_one_guest(void **state)
{
	const char *room = "c-admit";
	const char *guest = "lonely@example.com";
	static vcm_job_t jobs[2 * ADMITS];
	char *path = vcm_url(room, "admit");
	char *body = vct_strf("{\"user_id\":\"%s\"}", guest);
	unsigned won = 0, lost = 0;

	host_room(room);
	vcm_target(node_b);
	json_decref(vcm_join(guest, room, NULL));
	for (unsigned i = 0; i < 2 * ADMITS; i++)
		jobs[i] = (vcm_job_t){ .user = HOST, .method = "POST", .path = path, .body = body };
	run_split(jobs, 2 * ADMITS, first_half_to_b);
	for (unsigned i = 0; i < 2 * ADMITS; i++) {
		if (jobs[i].status == 200)
			won++;
		else if (jobs[i].status == 404 && error_code_is(&jobs[i], "PARTICIPANT_NOT_FOUND"))
			lost++;
		else
			fail_msg("admit #%u of %s on %s: HTTP %d, expected 200 or 404 "
			         "PARTICIPANT_NOT_FOUND",
			         i, guest, node_of(i, first_half_to_b), jobs[i].status);
	}
	if (won != 1 || lost != 2 * ADMITS - 1)
		fail_msg("%d racing admits of one guest on two nodes: %u answered 200 and %u 404; "
		         "expected 1 and %d",
		         2 * ADMITS, won, lost, 2 * ADMITS - 1);
	vcm_jobs_free(jobs, 2 * ADMITS);
	expect_rows(room, "2/0/2/1", "after the racing admits");
	free(body);
	free(path);
	vct_pass();
}

/* The last job of a toggle batch is the host's PATCH, on node B. */
static bool patch_to_b(unsigned i)
{
	return i == TOGGLERS;
}

/*
 * 50 guests join on A while the host turns the waiting room off on B. The
 * toggle admits whoever waits at that moment; whoever joins after it is
 * admitted at once. So no guest row is left waiting, and a guest answered
 * 'admitted' has an admitted row, one answered 'waiting' too (the toggle
 * admitted it later). Several rounds, since the window is narrow.
 */
static void toggle_round(unsigned round)
{
	char room[32];
	static char users[TOGGLERS][48];
	static vcm_job_t jobs[TOGGLERS + 1];
	char *join_path, *v, want[32];
	unsigned answered_waiting = 0, bad = 0;

	snprintf(room, sizeof(room), "c-toggle-%u", round);
	join_path = vcm_url(room, "join");
	host_room(room);
	for (unsigned i = 0; i < TOGGLERS; i++) {
		snprintf(users[i], sizeof(users[i]), "t%u-%02u@example.com", round, i);
		jobs[i] = (vcm_job_t){ .user = users[i], .method = "POST", .path = join_path };
	}
	jobs[TOGGLERS] = (vcm_job_t){ .user = HOST,
		                      .method = "PATCH",
		                      .path = vcm_url(room, NULL),
		                      .body = "{\"waiting_room_enabled\":false}" };
	run_split(jobs, TOGGLERS + 1, patch_to_b);
	ok_result(&jobs[TOGGLERS], "node B");
	for (unsigned i = 0; i < TOGGLERS; i++) {
		const char *st = vct_json_str(ok_result(&jobs[i], "node A"), "status");

		if (strcmp(st, "waiting") == 0)
			answered_waiting++;
		else if (strcmp(st, "admitted") != 0)
			fail_msg("join of %s on node A answered '%s'", users[i], st);
		v = row_status(room, users[i]);
		if (strcmp(v, "admitted") != 0) {
			print_error("round %u: %s answered '%s', its row is '%s' after the "
			            "waiting room was turned off\n",
			            round, users[i], st, v);
			bad++;
		}
		free(v);
	}
	print_message("toggle round %u: %u of %d joins answered 'waiting' before the PATCH\n",
	              round, answered_waiting, TOGGLERS);
	if (bad > 0)
		fail_msg("round %u: %u guest rows not admitted after PATCH waiting_room_enabled="
		         "false (rows a/w/total/hosts %s)",
		         round, bad, kept(row_counts(room)));
	snprintf(want, sizeof(want), "%d/0/%d/1", TOGGLERS + 1, TOGGLERS + 1);
	expect_rows(room, want, "after the toggle");
	expect_counts_on(node_a, room, TOGGLERS + 1, 0);
	expect_counts_on(node_b, room, TOGGLERS + 1, 0);
	free((char *)jobs[TOGGLERS].path);
	vcm_jobs_free(jobs, TOGGLERS + 1);
	free(join_path);
}

static void test_waiting_room_off_while_joining(void **state)
{
	for (unsigned r = 0; r < ROUNDS; r++)
		toggle_round(r);
	vct_pass();
}

/* --- main -------------------------------------------------------------------- */

static int group_setup(void **state)
{
	vcm_init();
	db_url = vct_db_create("meetings_cluster");
	node_a = vct_vcd_start("mcluster_a", db_url, VCM_CONF);
	node_b = vct_vcd_start("mcluster_b", db_url, VCM_CONF);
	vct_vcd_keep(node_a);
	vct_vcd_keep(node_b);
	vcm_target(node_a);
	return 0;
}

static int group_teardown(void **state)
{
	int rc = vct_vcd_finish(node_a);

	if (vct_vcd_finish(node_b) != 0)
		rc = -1;
	free(db_url);
	return rc;
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, vct_setup, vct_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_ad_hoc_creation_across_nodes),
		T(test_joins_and_admits_across_nodes),
		T(test_racing_admits_of_one_guest),
		T(test_waiting_room_off_while_joining),
	};

	return cmocka_run_group_tests_name("meetings_cluster", tests, group_setup, group_teardown);
}
