/*
 * meeting_fsm.c — the transition tables. Read them next to
 * videocall-rs-contract.md §7.1 and §7.2; the rows marked "vcd" are the
 * documented differences (vcd-api(7), "Differences from videocall.rs").
 */
#include "actors/meeting_fsm.h"

#include <string.h>

#define NO                                                                                         \
	{                                                                                          \
		VC_MS_NONE, 0                                                                      \
	} /* the event does not apply */

/* clang-format off */
static const vc_mstep_t meeting_table[VC_MS_COUNT][VC_ME_COUNT] = {
	/* columns: CREATE, HOST_JOIN, END, HOST_LEAVE */
	[VC_MS_NONE]   = { { VC_MS_IDLE, 0 }, NO,                                NO,                              NO },
	[VC_MS_IDLE]   = { NO, { VC_MS_ACTIVE, VC_MEFF_ACTIVATED }, { VC_MS_ENDED, VC_MEFF_ENDED }, { VC_MS_ENDED, VC_MEFF_ENDED } },
	[VC_MS_ACTIVE] = { NO, { VC_MS_ACTIVE, 0 },                 { VC_MS_ENDED, VC_MEFF_ENDED }, { VC_MS_ENDED, VC_MEFF_ENDED } },
	/* ended: ending again changes nothing (vcd: no second MEETING_ENDED) */
	[VC_MS_ENDED]  = { NO, { VC_MS_ACTIVE, VC_MEFF_ACTIVATED }, { VC_MS_ENDED, 0 },             { VC_MS_ENDED, 0 } },
};

#define P(to, adm) { true, to, adm }
#define PNO { false, VC_PS_NONE, false }

static const struct pstep {
	bool ok;
	enum vc_pstatus to;
	bool admitted_now;
} participant_table[VC_PS_COUNT][VC_PE_COUNT] = {
	/* columns: JOIN_HOST, JOIN_ENTER, JOIN_WAIT, ADMIT, REJECT, LEAVE, KICK */
	[VC_PS_NONE]     = { P(VC_PS_ADMITTED, true),  P(VC_PS_ADMITTED, true),  P(VC_PS_WAITING, false), PNO,                      PNO,                    PNO,                  PNO },
	[VC_PS_WAITING]  = { P(VC_PS_ADMITTED, true),  P(VC_PS_ADMITTED, true),  P(VC_PS_WAITING, false), P(VC_PS_ADMITTED, true),  P(VC_PS_REJECTED, false), P(VC_PS_LEFT, false), P(VC_PS_LEFT, false) },
	/* admitted: vcd keeps a re-joining participant admitted (videocall.rs demotes to waiting) */
	[VC_PS_ADMITTED] = { P(VC_PS_ADMITTED, false), P(VC_PS_ADMITTED, false), P(VC_PS_ADMITTED, false), PNO,                     PNO,                    P(VC_PS_LEFT, false), P(VC_PS_LEFT, false) },
	[VC_PS_REJECTED] = { P(VC_PS_ADMITTED, true),  P(VC_PS_ADMITTED, true),  P(VC_PS_WAITING, false), PNO,                      PNO,                    PNO,                  PNO },
	[VC_PS_LEFT]     = { P(VC_PS_ADMITTED, true),  P(VC_PS_ADMITTED, true),  P(VC_PS_WAITING, false), PNO,                      PNO,                    PNO,                  PNO },
};

/* Who skips the waiting room besides the owner and listed attendees
 * (doc/external.md, "Access levels"; Meet's LobbyService.can_bypass_lobby).
 * Every /join caller is authenticated, so trusted is public here. */
static const bool level_skips[VC_AL_COUNT][VC_RR_COUNT] = {
	/* columns: no role, member, administrator */
	[VC_AL_NONE]       = { false, false, false }, /* videocall.rs: the flag alone */
	[VC_AL_PUBLIC]     = { true,  true,  true },
	[VC_AL_TRUSTED]    = { true,  true,  true },
	[VC_AL_RESTRICTED] = { false, true,  true },
};
/* clang-format on */

bool vc_meeting_next(enum vc_mstate from, enum vc_mevent ev, vc_mstep_t *out)
{
	const vc_mstep_t *s;

	if (from >= VC_MS_COUNT || ev >= VC_ME_COUNT)
		return false;
	s = &meeting_table[from][ev];
	if (s->to == VC_MS_NONE)
		return false;
	*out = *s;
	return true;
}

bool vc_participant_next(enum vc_pstatus from, enum vc_pevent ev, enum vc_pstatus *to,
                         bool *admitted_now)
{
	const struct pstep *s;

	if (from >= VC_PS_COUNT || ev >= VC_PE_COUNT)
		return false;
	s = &participant_table[from][ev];
	if (!s->ok)
		return false;
	*to = s->to;
	*admitted_now = s->admitted_now;
	return true;
}

/* §4.7, with vcd's password check, attendee bypass and access levels. */
vc_join_plan_t vc_join_decide(const vc_join_facts_t *f)
{
	vc_join_plan_t p = { .meeting = { f->state, 0 } };
	enum vc_mstate state = f->state;
	enum vc_pevent ev;

	if (state == VC_MS_NONE) { /* ad-hoc: created idle, owned by the caller */
		vc_meeting_next(VC_MS_NONE, VC_ME_CREATE, &p.meeting);
		state = p.meeting.to;
	}
	if (!f->is_owner && f->has_password && !f->password_ok) {
		p.error = VC_JOIN_INVALID_PASSWORD;
		return p;
	}
	if (f->is_owner || f->state == VC_MS_NONE) {
		vc_mstep_t step = { state, 0 };

		(void)vc_meeting_next(state, VC_ME_HOST_JOIN,
		                      &step); /* defined for every live state */
		p.meeting.to = step.to;
		p.meeting.effects |= step.effects;
		ev = VC_PE_JOIN_HOST;
		p.is_host = true;
	} else if (state != VC_MS_ACTIVE) {
		p.waiting_for_meeting = true;
		p.observer_token = true;
		return p;
	} else if (!f->waiting_room || f->is_attendee) {
		ev = VC_PE_JOIN_ENTER;
	} else if (f->access_level < VC_AL_COUNT && f->role < VC_RR_COUNT &&
	           level_skips[f->access_level][f->role]) {
		ev = VC_PE_JOIN_ENTER;
		p.by_role = !level_skips[f->access_level][VC_RR_NONE];
	} else {
		ev = VC_PE_JOIN_WAIT;
	}
	p.write_participant = true;
	vc_participant_next(f->status, ev, &p.status, &p.admitted_now);
	p.room_token = p.status == VC_PS_ADMITTED;
	p.observer_token = p.status == VC_PS_WAITING;
	p.waiting_room_updated = p.status == VC_PS_WAITING;
	return p;
}

static const char *const mstate_names[VC_MS_COUNT] = { "", "idle", "active", "ended" };
static const char *const pstatus_names[VC_PS_COUNT] = { "", "waiting", "admitted", "rejected",
	                                                "left" };

const char *vc_mstate_name(enum vc_mstate s)
{
	return s < VC_MS_COUNT ? mstate_names[s] : "";
}

const char *vc_pstatus_name(enum vc_pstatus s)
{
	return s < VC_PS_COUNT ? pstatus_names[s] : "";
}

enum vc_mstate vc_mstate_parse(const char *s)
{
	for (int i = 1; i < VC_MS_COUNT; i++)
		if (strcmp(s, mstate_names[i]) == 0)
			return (enum vc_mstate)i;
	return VC_MS_NONE;
}

enum vc_pstatus vc_pstatus_parse(const char *s)
{
	for (int i = 1; i < VC_PS_COUNT; i++)
		if (strcmp(s, pstatus_names[i]) == 0)
			return (enum vc_pstatus)i;
	return VC_PS_NONE;
}

static const char *const level_names[VC_AL_COUNT] = { NULL, "public", "trusted", "restricted" };
static const char *const role_names[VC_RR_COUNT] = { NULL, "member", "administrator" };

const char *vc_access_level_name(enum vc_access_level l)
{
	return l < VC_AL_COUNT ? level_names[l] : NULL;
}

enum vc_access_level vc_access_level_parse(const char *s)
{
	if (s == NULL)
		return VC_AL_NONE;
	for (int i = 1; i < VC_AL_COUNT; i++)
		if (strcmp(s, level_names[i]) == 0)
			return (enum vc_access_level)i;
	return VC_AL_COUNT;
}

const char *vc_room_role_name(enum vc_room_role r)
{
	return r < VC_RR_COUNT ? role_names[r] : NULL;
}

enum vc_room_role vc_room_role_parse(const char *s)
{
	if (s == NULL)
		return VC_RR_NONE;
	for (int i = 1; i < VC_RR_COUNT; i++)
		if (strcmp(s, role_names[i]) == 0)
			return (enum vc_room_role)i;
	return VC_RR_COUNT;
}
