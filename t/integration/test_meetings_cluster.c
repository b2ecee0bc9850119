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
 * The test_kept_facts_* cases are sequential: a node's meeting actor keeps
 * what it learnt of a meeting and decides the next join or admit on it
 * without reading, so node A learns a meeting, node B changes it (waiting
 * room, admission, kick, end, delete, a password), and A's next answer must
 * be the one the changed meeting requires — B's answer to the same request.
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

/* --- kept facts: a change made on the other node is never ignored ------------ */

/*
 * A node's meeting actor keeps the meeting's facts from one command to the
 * next and decides the next join, admit or reject on them without reading
 * (doc/meetings.md). In each case below node A learns the meeting first (a
 * command on A), node B then changes it, and A's next answer must be the one
 * the changed meeting requires: the answer B, which reads afresh, gives.
 */

#define PW_WRONG "Meeting password is missing or wrong" /* vcd-api(7) */
#define PW_BODY "{\"password\":\"pw-kept-1\"}"
/* Members of a join answer that are the caller's own, not the meeting's. */
#define OWN_MEMBERS "user_id joined_at admitted_at room_token observer_token"

static double db_trips(const vct_vcd_t *v)
{
	double n = vct_metric_get(v->port, "vcd_db_round_trip_seconds_count");

	if (n < 0)
		fail_msg("GET /metrics on %s: no vcd_db_round_trip_seconds_count", v->name);
	return n;
}

/* Join as `user` (no display name) on node v: the answer, its status checked. */
static json_t *join_on(vct_vcd_t *v, const char *user, const char *room, const char *status)
{
	json_t *p;

	vcm_target(v);
	p = vcm_join(user, room, NULL);
	vcm_participant(p, user, status, false);
	return p;
}

/* The host's request on node B, answered 200. */
static void host_on_b(const char *method, const char *room, const char *op, const char *body)
{
	vcm_target(node_b);
	json_decref(vcm_ok(HOST, method, room, op, body, 200));
}

/* `by` admits `user` on node v: refused with status, code and message. */
static void admit_refused(vct_vcd_t *v, const char *by, const char *room, const char *user,
                          int status, const char *code, const char *message)
{
	char *body = vct_strf("{\"user_id\":\"%s\"}", user);

	vcm_target(v);
	vcm_fail(by, "POST", room, "admit", body, status, code, message);
	free(body);
}

/* Node A's answer to a join equals node B's to the same join by another
 * user: the same members with the same values, but for the caller's own,
 * which must be present on both or on neither. */
static void expect_same_join(const json_t *on_a, const json_t *on_b, const char *what)
{
	static const char *const own[] = { "admitted_at", "room_token", "observer_token" };
	char *want = json_dumps(on_b, JSON_COMPACT);

	for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++) {
		bool a = json_object_get(on_a, own[i]) != NULL;

		if (a != (json_object_get(on_b, own[i]) != NULL))
			fail_msg("%s: '%s' is %s in node A's answer but %s in node B's (a fresh "
			         "read)",
			         what, own[i], a ? "present" : "absent", a ? "absent" : "present");
	}
	vcm_same(on_a, want, OWN_MEMBERS, what);
	free(want);
}

static void expect_status(const char *room, const char *user, const char *want)
{
	const char *v = kept(row_status(room, user));

	if (strcmp(v, want) != 0)
		fail_msg("PostgreSQL: %s in %s has status '%s', expected '%s'", user, room, v,
		         want);
}

/*
 * Not vacuous: on a meeting node A knows, a guest's join and the host's
 * admit are one statement each (the conditional write alone). After B
 * turned the waiting room off, the join's write matches nothing and A
 * reads and decides again: three.
 */
static void test_kept_facts_are_used(void **state)
{
	const char *room = "k-used", *g1 = "ku-1@example.com", *g2 = "ku-2@example.com";
	double before, join, admit, changed;

	host_room(room);
	before = db_trips(node_a);
	json_decref(join_on(node_a, g1, room, "waiting"));
	join = db_trips(node_a) - before;
	before = db_trips(node_a);
	json_decref(vcm_admit(HOST, room, g1));
	admit = db_trips(node_a) - before;
	host_on_b("PATCH", room, NULL, "{\"waiting_room_enabled\":false}");
	before = db_trips(node_a);
	json_decref(join_on(node_a, g2, room, "admitted"));
	changed = db_trips(node_a) - before;
	print_message("kept facts: statements on node A: guest join %.0f, admit %.0f, guest join "
	              "after node B changed the meeting %.0f\n",
	              join, admit, changed);
	if (join != 1 || admit != 1)
		fail_msg("on a meeting node A knows, a guest join took %.0f statements and an "
		         "admit %.0f; expected 1 each (the conditional write alone)",
		         join, admit);
	if (changed != 3)
		fail_msg("a guest join on node A after node B turned the waiting room off took "
		         "%.0f statement(s), expected 3 (the write misses, a read, the write)",
		         changed);
	expect_rows(room, "3/0/3/1", "after the joins");
	vct_pass();
}

/* A knows the meeting idle (it told a guest to wait for it); the host starts
 * it on B: a guest on A is put in the waiting room, not told to wait. */
static void test_kept_facts_activation(void **state)
{
	const char *room = "k-start";
	json_t *a, *b;

	vcm_target(node_a);
	vcm_new_room(HOST, room, NULL);
	json_decref(join_on(node_a, "ks-0@example.com", room, "waiting_for_meeting"));
	vcm_target(node_b);
	json_decref(vcm_join(HOST, room, "Host"));
	a = join_on(node_a, "ks-1@example.com", room, "waiting");
	b = join_on(node_b, "ks-2@example.com", room, "waiting");
	expect_same_join(a, b, "guest join on A after the host started the meeting on B");
	json_decref(a);
	json_decref(b);
	expect_rows(room, "1/2/3/1", "after the joins");
	vct_pass();
}

/* B turns the waiting room off: a new guest on A is admitted at once; B
 * turns it on again: the next guest on A waits. */
static void test_kept_facts_waiting_room(void **state)
{
	const char *room = "k-wr", *g1 = "kw-1@example.com", *g2 = "kw-2@example.com";
	const char *g3 = "kw-3@example.com", *g4 = "kw-4@example.com", *g5 = "kw-5@example.com";
	long long t0, t1;
	json_t *a, *b;

	host_room(room);
	json_decref(join_on(node_a, g1, room, "waiting"));
	host_on_b("PATCH", room, NULL, "{\"waiting_room_enabled\":false}");
	t0 = vcm_now();
	a = join_on(node_a, g2, room, "admitted");
	t1 = vcm_now();
	vcm_room_token(vct_json_str(a, "room_token"), g2, room, false, g2, t0, t1);
	vcm_absent(a, "observer_token", "join on A after B turned the waiting room off");
	b = join_on(node_b, g3, room, "admitted");
	expect_same_join(a, b, "join on A after B turned the waiting room off");
	json_decref(a);
	json_decref(b);
	expect_status(room, g1, "admitted"); /* the PATCH admitted whoever waited */
	host_on_b("PATCH", room, NULL, "{\"waiting_room_enabled\":true}");
	a = join_on(node_a, g4, room, "waiting");
	vcm_absent(a, "room_token admitted_at", "join on A after B turned the waiting room on");
	b = join_on(node_b, g5, room, "waiting");
	expect_same_join(a, b, "join on A after B turned the waiting room on");
	json_decref(a);
	json_decref(b);
	expect_rows(room, "4/2/6/1", "after the waiting room was turned off and on");
	vct_pass();
}

/* B lets admitted participants admit, then takes it back: A follows both. */
static void test_kept_facts_admission(void **state)
{
	const char *room = "k-adm", *p = "ka-p@example.com", *g1 = "ka-1@example.com";
	const char *g2 = "ka-2@example.com";

	host_room(room);
	json_decref(join_on(node_a, p, room, "waiting"));
	vcm_target(node_a);
	json_decref(vcm_admit(HOST, room, p));
	json_decref(join_on(node_a, g1, room, "waiting"));
	admit_refused(node_a, p, room, g1, 403, "NOT_HOST", VCM_NOT_HOST); /* admission host */
	json_decref(vcm_ok(HOST, "GET", room, "waiting", NULL, 200));      /* A knows it again */
	host_on_b("PATCH", room, NULL, "{\"admission\":\"participants\"}");
	vcm_target(node_a);
	json_decref(vcm_admit(p, room, g1));
	json_decref(join_on(node_a, g2, room, "waiting")); /* A knows: participants */
	host_on_b("PATCH", room, NULL, "{\"admission\":\"host\"}");
	admit_refused(node_a, p, room, g2, 403, "NOT_HOST", VCM_NOT_HOST);
	admit_refused(node_b, p, room, g2, 403, "NOT_HOST", VCM_NOT_HOST);
	expect_status(room, g2, "waiting");
	vcm_target(node_a);
	json_decref(vcm_admit(HOST, room, g2));
	expect_rows(room, "4/0/4/1", "after the admits");
	vct_pass();
}

/* With admission = participants, B's host kicks P: P no longer admits on
 * A, sees itself 'left' there, and knocking again waits. */
static void test_kept_facts_kick(void **state)
{
	const char *room = "k-kick", *p = "kk-p@example.com", *g = "kk-g@example.com";
	char *body = vct_strf("{\"user_id\":\"%s\"}", p);
	json_t *s;

	vcm_target(node_a);
	vcm_new_room(HOST, room, ",\"admission\":\"participants\"");
	json_decref(vcm_join(HOST, room, "Host"));
	json_decref(join_on(node_a, p, room, "waiting"));
	vcm_target(node_a);
	json_decref(vcm_admit(HOST, room, p));
	json_decref(join_on(node_a, g, room, "waiting")); /* A knows the meeting */
	host_on_b("POST", room, "kick", body);
	admit_refused(node_a, p, room, g, 403, "NOT_HOST", VCM_NOT_HOST);
	expect_status(room, g, "waiting");
	vcm_target(node_a);
	s = vcm_ok(p, "GET", room, "status", NULL, 200);
	vcm_participant(s, p, "left", false);
	vcm_absent(s, "room_token observer_token", "status on A of a participant kicked on B");
	json_decref(s);
	json_decref(join_on(node_a, p, room, "waiting")); /* knocking again */
	vcm_target(node_a);
	s = vcm_ok(p, "GET", room, "status", NULL, 200);
	vcm_participant(s, p, "waiting", false);
	json_decref(s);
	expect_rows(room, "1/2/3/1", "after the kick and the knock");
	free(body);
	vct_pass();
}

/* B ends the meeting (POST /end): a guest's join on A is told to wait for
 * the meeting, nothing written, as on B; the host cannot admit that guest,
 * on A as on B; a guest who waited before the end can still be admitted. */
static void test_kept_facts_meeting_ended(void **state)
{
	const char *room = "k-end", *g0 = "ke-0@example.com", *g1 = "ke-1@example.com";
	const char *g2 = "ke-2@example.com";
	char *m1 = vcm_msg_no_participant(g1), *m2 = vcm_msg_no_participant(g2);
	json_t *a, *b;

	host_room(room);
	json_decref(join_on(node_a, g0, room, "waiting"));
	host_on_b("POST", room, "end", NULL);
	a = join_on(node_a, g1, room, "waiting_for_meeting");
	b = join_on(node_b, g2, room, "waiting_for_meeting");
	expect_same_join(a, b, "join on A after B ended the meeting");
	json_decref(a);
	json_decref(b);
	expect_status(room, g1, "");
	admit_refused(node_a, HOST, room, g1, 404, "PARTICIPANT_NOT_FOUND", m1);
	admit_refused(node_b, HOST, room, g2, 404, "PARTICIPANT_NOT_FOUND", m2);
	vcm_target(node_a);
	json_decref(vcm_admit(HOST, room, g0));
	expect_rows(room, "2/0/2/1", "after the end");
	free(m1);
	free(m2);
	vct_pass();
}

/* B's host leaves, which ends the meeting: on A the host no longer admits
 * (as on B), and a guest's join waits for the meeting, as on B. */
static void test_kept_facts_host_left(void **state)
{
	const char *room = "k-left", *g0 = "kl-0@example.com", *g1 = "kl-1@example.com";
	const char *g2 = "kl-2@example.com";
	json_t *a, *b;

	host_room(room);
	json_decref(join_on(node_a, g0, room, "waiting")); /* A knows the meeting */
	host_on_b("POST", room, "leave", NULL);
	admit_refused(node_a, HOST, room, g0, 403, "NOT_HOST", VCM_NOT_HOST);
	admit_refused(node_b, HOST, room, g0, 403, "NOT_HOST", VCM_NOT_HOST);
	expect_status(room, g0, "waiting");
	a = join_on(node_a, g1, room, "waiting_for_meeting");
	b = join_on(node_b, g2, room, "waiting_for_meeting");
	expect_same_join(a, b, "join on A after the host left on B");
	json_decref(a);
	json_decref(b);
	expect_rows(room, "0/1/2/1", "after the host left");
	vct_pass();
}

/* B deletes the meeting: on A the host's admit finds no meeting (as on B),
 * and a guest's join is an ad-hoc join of a free room id: a new meeting,
 * the guest its host (test_meetings_crud: test_delete_meeting_success). */
static void test_kept_facts_deleted(void **state)
{
	const char *room = "k-del", *room2 = "k-del-2", *g0 = "kd-0@example.com";
	const char *g1 = "kd-1@example.com";
	char *m = vcm_msg_not_found(room);
	json_t *p;

	host_room(room);
	json_decref(join_on(node_a, g0, room, "waiting"));
	host_on_b("DELETE", room, NULL, NULL);
	admit_refused(node_a, HOST, room, g0, 404, "MEETING_NOT_FOUND", m);
	admit_refused(node_b, HOST, room, g0, 404, "MEETING_NOT_FOUND", m);
	host_room(room2);
	json_decref(join_on(node_a, g0, room2, "waiting"));
	host_on_b("DELETE", room2, NULL, NULL);
	vcm_target(node_a);
	p = vcm_join(g1, room2, NULL);
	vcm_participant(p, g1, "admitted", true);
	json_decref(p);
	expect_rows(room2, "1/0/1/1", "after an ad-hoc join of a deleted meeting's id");
	expect_one_meeting(room2);
	vcm_target(node_b);
	p = vcm_ok(HOST, "GET", room2, NULL, NULL, 200);
	assert_string_equal(vct_json_str(p, "host"), g1);
	json_decref(p);
	free(m);
	vct_pass();
}

/*
 * Passwords are checked against a fresh read. A meeting with a password,
 * created on B and known to A (the owner joined there); then a room id A
 * knows without a password, deleted and created again with one on B.
 */
static void test_kept_facts_password(void **state)
{
	const char *room = "k-pw", *room2 = "k-pw-2", *g1 = "kp-1@example.com";
	const char *g2 = "kp-2@example.com";
	json_t *a, *b;

	vcm_target(node_b);
	vcm_new_room(HOST, room, ",\"password\":\"pw-kept-1\"");
	vcm_target(node_a);
	json_decref(vcm_join(HOST, room, "Host"));
	vcm_fail(g1, "POST", room, "join", NULL, 403, "INVALID_PASSWORD", PW_WRONG);
	vcm_fail(g1, "POST", room, "join", "{\"password\":\"pw-kept-2\"}", 403, "INVALID_PASSWORD",
	         PW_WRONG);
	expect_status(room, g1, "");
	a = vcm_ok(g1, "POST", room, "join", PW_BODY, 200);
	vcm_participant(a, g1, "waiting", false);
	json_decref(a);
	host_room(room2);
	json_decref(join_on(node_a, g1, room2, "waiting")); /* A knows: no password */
	host_on_b("DELETE", room2, NULL, NULL);
	vcm_target(node_b);
	vcm_new_room(HOST, room2, ",\"password\":\"pw-kept-1\"");
	vcm_target(node_a);
	vcm_fail(g2, "POST", room2, "join", NULL, 403, "INVALID_PASSWORD", PW_WRONG);
	a = vcm_ok(g2, "POST", room2, "join", PW_BODY, 200);
	vcm_participant(a, g2, "waiting_for_meeting", false);
	vcm_target(node_b);
	b = vcm_ok(g1, "POST", room2, "join", PW_BODY, 200);
	vcm_participant(b, g1, "waiting_for_meeting", false);
	expect_same_join(a, b, "join with the password on A of a meeting created again on B");
	json_decref(a);
	json_decref(b);
	expect_rows(room2, "0/0/0/0", "a meeting created again, not started");
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
		T(test_kept_facts_are_used),
		T(test_kept_facts_activation),
		T(test_kept_facts_waiting_room),
		T(test_kept_facts_admission),
		T(test_kept_facts_kick),
		T(test_kept_facts_meeting_ended),
		T(test_kept_facts_host_left),
		T(test_kept_facts_deleted),
		T(test_kept_facts_password),
	};

	return cmocka_run_group_tests_name("meetings_cluster", tests, group_setup, group_teardown);
}
