/*
 * meeting_fsm.h — the two state machines of a meeting, as pure functions
 * (no I/O): videocall-rs-contract.md §7.1 (meetings.state) and §7.2
 * (meeting_participants.status), with vcd's documented differences:
 * MEETING_ENDED is published whenever a meeting ends; calling /join again
 * while admitted keeps you admitted; attendees skip the waiting room; a
 * meeting password is required on join for everyone but the owner; the host
 * can kick. Every change of a meeting's state or a participant's status in
 * vcd is decided here; the meeting actor only persists and publishes what
 * these functions return.
 */
#ifndef VC_MEETING_FSM_H
#define VC_MEETING_FSM_H

#include <stdbool.h>

enum vc_mstate { VC_MS_NONE, VC_MS_IDLE, VC_MS_ACTIVE, VC_MS_ENDED, VC_MS_COUNT };

enum vc_mevent {
	VC_ME_CREATE,     /* POST /meetings, or /join of a room id with no live meeting */
	VC_ME_HOST_JOIN,  /* the owner joins */
	VC_ME_END,        /* the owner ends it */
	VC_ME_HOST_LEAVE, /* the owner leaves, or the last admitted participant does */
	VC_ME_COUNT
};

/* Effects of a meeting step (bits). */
enum {
	VC_MEFF_ACTIVATED = 1 << 0, /* publish MEETING_ACTIVATED */
	VC_MEFF_ENDED = 1 << 1,     /* set ended_at; publish MEETING_ENDED */
};

typedef struct vc_mstep {
	enum vc_mstate to;
	unsigned effects;
} vc_mstep_t;

/* False when the event does not apply in that state. */
bool vc_meeting_next(enum vc_mstate from, enum vc_mevent ev, vc_mstep_t *out);

enum vc_pstatus {
	VC_PS_NONE,
	VC_PS_WAITING,
	VC_PS_ADMITTED,
	VC_PS_REJECTED,
	VC_PS_LEFT,
	VC_PS_COUNT
};

enum vc_pevent {
	VC_PE_JOIN_HOST,  /* the owner joins */
	VC_PE_JOIN_ENTER, /* joins with the waiting room off, or as a listed attendee */
	VC_PE_JOIN_WAIT,  /* joins with the waiting room on */
	VC_PE_ADMIT,
	VC_PE_REJECT,
	VC_PE_LEAVE,
	VC_PE_KICK,
	VC_PE_COUNT
};

/* False when the event does not apply to that status (the caller answers
 * PARTICIPANT_NOT_FOUND or NOT_IN_MEETING). *admitted_now says admitted_at
 * is set to now (a re-join while admitted keeps the first one). */
bool vc_participant_next(enum vc_pstatus from, enum vc_pevent ev, enum vc_pstatus *to,
                         bool *admitted_now);

/* meetings.access_level (NULL: VC_AL_NONE, the videocall.rs behaviour). */
enum vc_access_level { VC_AL_NONE, VC_AL_PUBLIC, VC_AL_TRUSTED, VC_AL_RESTRICTED, VC_AL_COUNT };
/* The caller's meeting_roles row (the owner is not a row). */
enum vc_room_role { VC_RR_NONE, VC_RR_MEMBER, VC_RR_ADMINISTRATOR, VC_RR_COUNT };

/* What /join knows before deciding (all from the caller's credential and
 * rows read under the meeting's lock). */
typedef struct vc_join_facts {
	enum vc_mstate state;              /* VC_MS_NONE: no live meeting, one is created */
	bool is_owner;                     /* caller is the creator (always, for a new meeting) */
	enum vc_pstatus status;            /* caller's row */
	bool waiting_room;                 /* waiting_room_enabled */
	bool is_attendee;                  /* caller listed in attendees */
	bool has_password;                 /* the meeting has one */
	bool password_ok;                  /* the join body's password matches */
	enum vc_access_level access_level; /* the meeting's */
	enum vc_room_role role;            /* the caller's role (never kept between joins) */
} vc_join_facts_t;

enum vc_join_error { VC_JOIN_OK, VC_JOIN_INVALID_PASSWORD };

typedef struct vc_join_plan {
	enum vc_join_error error;
	vc_mstep_t meeting;        /* .to == facts.state when unchanged */
	bool write_participant;    /* upsert the caller's row with .status */
	enum vc_pstatus status;    /* the row's new status */
	bool admitted_now;         /* set admitted_at = now */
	bool is_host;              /* the row's is_host */
	bool waiting_for_meeting;  /* answer the pseudo-status; nothing written */
	bool room_token;           /* issue a room access token */
	bool observer_token;       /* issue an observer token */
	bool waiting_room_updated; /* publish WAITING_ROOM_UPDATED */
	bool by_role;              /* the caller skips the waiting room for its role: the write
	                            * must find the role still there */
} vc_join_plan_t;

vc_join_plan_t vc_join_decide(const vc_join_facts_t *f);

const char *vc_mstate_name(enum vc_mstate s);    /* "idle", "active", "ended" */
const char *vc_pstatus_name(enum vc_pstatus s);  /* "waiting", "admitted", … */
enum vc_mstate vc_mstate_parse(const char *s);   /* VC_MS_NONE when unknown */
enum vc_pstatus vc_pstatus_parse(const char *s); /* VC_PS_NONE when unknown */
/* "public", "trusted", "restricted"; NULL for VC_AL_NONE. */
const char *vc_access_level_name(enum vc_access_level l);
/* NULL → VC_AL_NONE; unknown text → VC_AL_COUNT. */
enum vc_access_level vc_access_level_parse(const char *s);
/* "member", "administrator"; NULL for VC_RR_NONE. */
const char *vc_room_role_name(enum vc_room_role r);
/* NULL → VC_RR_NONE; unknown text → VC_RR_COUNT. */
enum vc_room_role vc_room_role_parse(const char *s);

#endif
