/*
 * test_meeting_fsm.c — the meeting and participant state machines, row by
 * row against videocall-rs-contract.md §7.1/§7.2 and §4.7, and vcd's
 * differences (password, attendees, idempotent re-join, MEETING_ENDED).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "actors/meeting_fsm.h"

static void meeting_step(enum vc_mstate from, enum vc_mevent ev, enum vc_mstate to,
                         unsigned effects)
{
	vc_mstep_t s;

	assert_true(vc_meeting_next(from, ev, &s));
	assert_int_equal(s.to, to);
	assert_int_equal(s.effects, effects);
}

static void test_meeting_table(void **state)
{
	vc_mstep_t s;

	meeting_step(VC_MS_NONE, VC_ME_CREATE, VC_MS_IDLE, 0);
	meeting_step(VC_MS_IDLE, VC_ME_HOST_JOIN, VC_MS_ACTIVE, VC_MEFF_ACTIVATED);
	meeting_step(VC_MS_ENDED, VC_ME_HOST_JOIN, VC_MS_ACTIVE, VC_MEFF_ACTIVATED);
	meeting_step(VC_MS_ACTIVE, VC_ME_HOST_JOIN, VC_MS_ACTIVE, 0);    /* no second event */
	meeting_step(VC_MS_IDLE, VC_ME_END, VC_MS_ENDED, VC_MEFF_ENDED); /* ends from idle too */
	meeting_step(VC_MS_ACTIVE, VC_ME_END, VC_MS_ENDED, VC_MEFF_ENDED);
	meeting_step(VC_MS_ENDED, VC_ME_END, VC_MS_ENDED, 0); /* idempotent */
	meeting_step(VC_MS_ACTIVE, VC_ME_HOST_LEAVE, VC_MS_ENDED, VC_MEFF_ENDED);
	meeting_step(VC_MS_ENDED, VC_ME_HOST_LEAVE, VC_MS_ENDED, 0);
	assert_false(vc_meeting_next(VC_MS_IDLE, VC_ME_CREATE, &s)); /* a live id is taken */
	assert_false(vc_meeting_next(VC_MS_NONE, VC_ME_END, &s));
	assert_false(vc_meeting_next(VC_MS_NONE, VC_ME_HOST_JOIN, &s));
}

static void part_step(enum vc_pstatus from, enum vc_pevent ev, enum vc_pstatus to, bool adm)
{
	enum vc_pstatus got;
	bool admitted_now;

	assert_true(vc_participant_next(from, ev, &got, &admitted_now));
	assert_int_equal(got, to);
	assert_int_equal(admitted_now, adm);
}

static void part_refused(enum vc_pstatus from, enum vc_pevent ev)
{
	enum vc_pstatus got;
	bool admitted_now;

	assert_false(vc_participant_next(from, ev, &got, &admitted_now));
}

static void test_participant_table(void **state)
{
	/* the host enters from anywhere */
	for (enum vc_pstatus s = VC_PS_NONE; s < VC_PS_COUNT; s++)
		part_step(s, VC_PE_JOIN_HOST, VC_PS_ADMITTED, s != VC_PS_ADMITTED);
	/* waiting room on: knock (rejected and left may knock again) */
	part_step(VC_PS_NONE, VC_PE_JOIN_WAIT, VC_PS_WAITING, false);
	part_step(VC_PS_REJECTED, VC_PE_JOIN_WAIT, VC_PS_WAITING, false);
	part_step(VC_PS_LEFT, VC_PE_JOIN_WAIT, VC_PS_WAITING, false);
	part_step(VC_PS_WAITING, VC_PE_JOIN_WAIT, VC_PS_WAITING, false);
	/* vcd: a re-join while admitted keeps you admitted (and admitted_at) */
	part_step(VC_PS_ADMITTED, VC_PE_JOIN_WAIT, VC_PS_ADMITTED, false);
	/* waiting room off or attendee */
	part_step(VC_PS_NONE, VC_PE_JOIN_ENTER, VC_PS_ADMITTED, true);
	part_step(VC_PS_ADMITTED, VC_PE_JOIN_ENTER, VC_PS_ADMITTED, false);
	/* host actions only act on waiting rows */
	part_step(VC_PS_WAITING, VC_PE_ADMIT, VC_PS_ADMITTED, true);
	part_step(VC_PS_WAITING, VC_PE_REJECT, VC_PS_REJECTED, false);
	for (enum vc_pstatus s = VC_PS_NONE; s < VC_PS_COUNT; s++) {
		if (s == VC_PS_WAITING)
			continue;
		part_refused(s, VC_PE_ADMIT);  /* PARTICIPANT_NOT_FOUND, also when admitted */
		part_refused(s, VC_PE_REJECT); /* no rejecting an admitted participant */
	}
	/* leave and kick: from waiting or admitted only */
	part_step(VC_PS_WAITING, VC_PE_LEAVE, VC_PS_LEFT, false);
	part_step(VC_PS_ADMITTED, VC_PE_LEAVE, VC_PS_LEFT, false);
	part_step(VC_PS_ADMITTED, VC_PE_KICK, VC_PS_LEFT, false);
	part_refused(VC_PS_NONE, VC_PE_LEAVE); /* NOT_IN_MEETING */
	part_refused(VC_PS_LEFT, VC_PE_LEAVE);
	part_refused(VC_PS_REJECTED, VC_PE_LEAVE);
	part_refused(VC_PS_LEFT, VC_PE_KICK);
}

static vc_join_facts_t active_meeting(void)
{
	return (vc_join_facts_t){ .state = VC_MS_ACTIVE, .waiting_room = true };
}

static void test_join_host(void **state)
{
	vc_join_facts_t f = { .state = VC_MS_IDLE, .is_owner = true };
	vc_join_plan_t p = vc_join_decide(&f);

	assert_int_equal(p.error, VC_JOIN_OK);
	assert_int_equal(p.meeting.to, VC_MS_ACTIVE);
	assert_int_equal(p.meeting.effects, VC_MEFF_ACTIVATED);
	assert_true(p.write_participant && p.is_host && p.room_token && !p.observer_token);
	assert_int_equal(p.status, VC_PS_ADMITTED);
	/* the owner needs no password */
	f.has_password = true;
	assert_int_equal(vc_join_decide(&f).error, VC_JOIN_OK);
}

static void test_join_ad_hoc(void **state)
{
	vc_join_facts_t f = { .state = VC_MS_NONE };
	vc_join_plan_t p = vc_join_decide(&f);

	assert_int_equal(p.meeting.to, VC_MS_ACTIVE); /* created idle, activated by its host */
	assert_int_equal(p.meeting.effects, VC_MEFF_ACTIVATED);
	assert_true(p.is_host && p.room_token);
}

static void test_join_before_the_host(void **state)
{
	vc_join_facts_t f = { .state = VC_MS_IDLE, .waiting_room = true };
	vc_join_plan_t p = vc_join_decide(&f);

	assert_true(p.waiting_for_meeting && p.observer_token);
	assert_false(p.write_participant || p.room_token || p.waiting_room_updated);
	f.state = VC_MS_ENDED;
	assert_true(vc_join_decide(&f).waiting_for_meeting);
}

static void test_join_waiting_room(void **state)
{
	vc_join_facts_t f = active_meeting();
	vc_join_plan_t p = vc_join_decide(&f);

	assert_int_equal(p.status, VC_PS_WAITING);
	assert_true(p.observer_token && p.waiting_room_updated && !p.room_token && !p.is_host);
	f.waiting_room = false; /* straight in, no event */
	p = vc_join_decide(&f);
	assert_int_equal(p.status, VC_PS_ADMITTED);
	assert_true(p.room_token && p.admitted_now && !p.observer_token && !p.waiting_room_updated);
}

static void test_join_vcd_differences(void **state)
{
	vc_join_facts_t f = active_meeting();
	vc_join_plan_t p;

	f.is_attendee = true; /* listed attendees skip the waiting room */
	p = vc_join_decide(&f);
	assert_int_equal(p.status, VC_PS_ADMITTED);
	assert_true(p.room_token);

	f = active_meeting();
	f.status = VC_PS_ADMITTED; /* re-join while admitted */
	p = vc_join_decide(&f);
	assert_int_equal(p.status, VC_PS_ADMITTED);
	assert_false(p.admitted_now || p.waiting_room_updated);

	f = active_meeting();
	f.has_password = true; /* a wrong or missing password */
	assert_int_equal(vc_join_decide(&f).error, VC_JOIN_INVALID_PASSWORD);
	f.state = VC_MS_IDLE; /* also before the host arrives: no observer token */
	assert_int_equal(vc_join_decide(&f).error, VC_JOIN_INVALID_PASSWORD);
	f.password_ok = true;
	assert_int_equal(vc_join_decide(&f).error, VC_JOIN_OK);
}

/* doc/external.md's access level table: who skips the waiting room of an
 * active meeting, for every level, role and waiting room flag. The owner
 * always enters as host; by_role is set exactly when the role decided. */
static void test_join_access_levels(void **state)
{
	/* rows: level; columns: no role, member, administrator (waiting room on) */
	static const struct {
		enum vc_access_level level;
		bool enters[VC_RR_COUNT];
		bool by_role[VC_RR_COUNT];
	} rows[] = {
		{ VC_AL_NONE, { false, false, false }, { false, false, false } },
		{ VC_AL_PUBLIC, { true, true, true }, { false, false, false } },
		{ VC_AL_TRUSTED, { true, true, true }, { false, false, false } },
		{ VC_AL_RESTRICTED, { false, true, true }, { false, true, true } },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		for (enum vc_room_role r = VC_RR_NONE; r < VC_RR_COUNT; r++) {
			vc_join_facts_t f = active_meeting();
			vc_join_plan_t p;

			f.access_level = rows[i].level;
			f.role = r;
			p = vc_join_decide(&f);
			assert_int_equal(p.status,
			                 rows[i].enters[r] ? VC_PS_ADMITTED : VC_PS_WAITING);
			assert_int_equal(p.room_token, rows[i].enters[r]);
			assert_int_equal(p.by_role, rows[i].by_role[r]);
			assert_false(p.is_host);
			f.waiting_room = false; /* off: everyone enters, the level is not asked */
			p = vc_join_decide(&f);
			assert_int_equal(p.status, VC_PS_ADMITTED);
			assert_false(p.by_role);
			f.waiting_room = true; /* the owner: always the host */
			f.is_owner = true;
			p = vc_join_decide(&f);
			assert_true(p.is_host && p.status == VC_PS_ADMITTED && !p.by_role);
		}
	/* a password is still required of everyone but the owner */
	vc_join_facts_t f = active_meeting();
	f.access_level = VC_AL_PUBLIC;
	f.has_password = true;
	assert_int_equal(vc_join_decide(&f).error, VC_JOIN_INVALID_PASSWORD);
	/* a meeting not started yet: everyone waits for it, whatever the level */
	f = active_meeting();
	f.state = VC_MS_IDLE;
	f.access_level = VC_AL_PUBLIC;
	assert_true(vc_join_decide(&f).waiting_for_meeting);
}

static void test_level_and_role_names(void **state)
{
	for (enum vc_access_level l = VC_AL_NONE; l < VC_AL_COUNT; l++)
		assert_int_equal(vc_access_level_parse(vc_access_level_name(l)), l);
	for (enum vc_room_role r = VC_RR_NONE; r < VC_RR_COUNT; r++)
		assert_int_equal(vc_room_role_parse(vc_room_role_name(r)), r);
	assert_int_equal(vc_access_level_parse("open"), VC_AL_COUNT);
	assert_int_equal(vc_room_role_parse("owner"), VC_RR_COUNT); /* never a row */
	assert_string_equal(vc_access_level_name(VC_AL_RESTRICTED), "restricted");
}

static void test_names(void **state)
{
	for (enum vc_mstate s = VC_MS_IDLE; s < VC_MS_COUNT; s++)
		assert_int_equal(vc_mstate_parse(vc_mstate_name(s)), s);
	for (enum vc_pstatus s = VC_PS_WAITING; s < VC_PS_COUNT; s++)
		assert_int_equal(vc_pstatus_parse(vc_pstatus_name(s)), s);
	assert_string_equal(vc_pstatus_name(VC_PS_ADMITTED), "admitted");
	assert_int_equal(vc_pstatus_parse("waiting_for_meeting"), VC_PS_NONE); /* never stored */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_meeting_table),
		cmocka_unit_test(test_participant_table),
		cmocka_unit_test(test_join_host),
		cmocka_unit_test(test_join_ad_hoc),
		cmocka_unit_test(test_join_before_the_host),
		cmocka_unit_test(test_join_waiting_room),
		cmocka_unit_test(test_join_vcd_differences),
		cmocka_unit_test(test_join_access_levels),
		cmocka_unit_test(test_level_and_role_names),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests_name("meeting_fsm", tests, NULL, NULL);
}
