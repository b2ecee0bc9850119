/*
 * meetings_int.h — what actors/meetings.c (the actor, its plumbing and
 * statements), actors/meeting_cmds.c (one function chain per command) and
 * actors/meeting_batch.c (joins written together) share. Not for use
 * elsewhere: the interface is actors/meetings.h.
 */
#ifndef VC_MEETINGS_INT_H
#define VC_MEETINGS_INT_H

#include "actors/meeting_fsm.h"
#include "actors/meetings.h"
#include "actors/password.h"
#include "runtime/pg.h"
#include "runtime/worker.h"
#include "wire/proto.h"

#define MAX_ATTEMPTS 3
#define MAX_RUNNING 64 /* commands of one room at work at once */
#define REGISTRY_SHARDS 64
#define GENERATED_ID_LEN 12

enum { M_CMD, M_DB, M_JOINS, M_ADHOCS, M_PW, M_IDLE, M_COUNT };

typedef struct meeting meeting_t;
typedef void (*cont_fn)(meeting_t *m, vc_pg_result_t *r);
typedef void (*next_fn)(meeting_t *m);

/* What the first read of a command found (S_READ), or what the actor
 * kept of the meeting from earlier commands (meeting_t.known). */
typedef struct facts {
	bool found;
	char *id;         /* meetings.id */
	char version[24]; /* meetings.version, as text for the statements */
	vc_meeting_row_t row;
	bool has_row; /* the caller's participant row (never kept) */
	vc_participant_row_t caller;
	char *password_hash;
	json_t *attendees;
	char *role; /* the caller's meeting_roles.role, or NULL (never kept) */
} facts_t;

typedef struct room room_t; /* the actor of one room id (meetings.c) */

/*
 * One command at work on a meeting: what it knows of the meeting (f), its
 * next step, its answer and the events it will publish. A room runs
 * several at once when they may overlap (meetings.c, pump); every function
 * of a command takes its meeting_t.
 */
struct meeting {
	room_t *room;
	vc_meeting_cmd_msg_t *cur;
	vc_meeting_reply_t *reply;
	facts_t f;
	bool from_cache; /* f came from what the room kept, not from a read */
	bool refreshed;  /* kept facts failed once: read from now on */
	cont_fn cont;
	next_fn after_read; /* what runs once S_READ has answered */
	int row;            /* the command's row of the result cont reads (mt_join_guest) */
	bool solo;          /* a shared write failed: write alone (mt_join_guest, mt_adhoc_join) */
	int attempts;
	bool password_ok;
	vc_join_plan_t plan;
	struct pending_event {
		enum vc_meeting_event ev;
		char *target;
	} * events; /* published after the answer */
	size_t nevents;
};

extern int S_READ, S_READ_COUNTS, S_JOIN_GUEST, S_CREATE, S_ADHOC_JOIN, S_JOIN, S_LEAVE, S_END,
        S_DELETE, S_UPDATE, S_LIST_STATUS, S_SET_STATUS, S_ADMIT_ALL, S_LIST, S_JOIN_GUESTS,
        S_ADHOC_JOINS;

typedef struct pw_job pw_job_t;

/* meetings.c: rows, replies, the command's end, database and password steps */
void mt_row_free(vc_meeting_row_t *r);
void mt_prow_free(vc_participant_row_t *p);
char *mt_dup_value(const PGresult *res, int row, int col);
int64_t mt_int_value(const PGresult *res, int row, int col);
bool mt_bool_value(const PGresult *res, int row, int col);
void mt_read_prow(const PGresult *res, int row, int col, vc_participant_row_t *p);
void mt_copy_prow(vc_participant_row_t *to, const vc_participant_row_t *from);
void mt_copy_row(vc_meeting_row_t *to, const vc_meeting_row_t *from);
void mt_facts_free(facts_t *f);
void mt_event_later(meeting_t *m, enum vc_meeting_event ev, const char *target);
const char *mt_room_of(meeting_t *m);
void mt_finish(meeting_t *m, enum vc_meeting_error err);
void mt_finish_internal(meeting_t *m, const char *why);
void mt_retry(meeting_t *m);
/* Kept facts did not hold (or cannot answer): the room forgets them; read
 * and decide again. */
void mt_refresh(meeting_t *m);
/* The meeting's columns of row m->row (S_ADHOC_JOIN's layout) into m->f. */
void mt_read_meeting(meeting_t *m, const PGresult *res, int col);
void mt_query(meeting_t *m, int stmt, int n, const char *const *params, cont_fn cont);
/* The room's actor: statements answer to it, commands hold references. */
vc_actor_t *mt_room_actor(room_t *rm);
/* Where the room keeps its guest joins statement that has not left yet
 * (NULL: none); only meeting_batch.c reads or sets it, on the room's worker. */
struct joins **mt_room_joins(room_t *rm);
void mt_password_work(meeting_t *m, const char *password, const char *stored,
                      void (*cont)(meeting_t *m, pw_job_t *j));
enum vc_pw_result mt_pw_result(const pw_job_t *j);
const char *mt_pw_hash(const pw_job_t *j);
void mt_read_then(meeting_t *m, next_fn next);
bool mt_is_owner(const meeting_t *m);
/* The admitted host, or the operator (as_admin). */
bool mt_is_host(const meeting_t *m);
bool mt_can_moderate(const meeting_t *m);
void mt_allowed_from(enum vc_pevent ev, char *out, size_t len);
void mt_run(meeting_t *m);

/* meeting_batch.c: joins written together (group commit) */
/*
 * A guest's join (S_JOIN_GUEST's twelve parameters). With db_group_commit on,
 * a join whose caller has no row joins the room's joins statement that
 * waits for a connection, when it is on the same facts (S_JOIN_GUESTS, one
 * row per join, vc_pg_query_late); cont then finds its row at m->row (-1:
 * none). When that statement fails, each runs `again` with m->solo set,
 * and writes alone.
 */
void mt_join_guest(meeting_t *m, const char *const *params, cont_fn cont, next_fn again);
/*
 * An ad-hoc join (S_ADHOC_JOIN's six parameters). With db_group_commit on,
 * it joins the statement that gathers the ad-hoc joins of this worker's
 * rooms while it waits for a connection (S_ADHOC_JOINS, one row per join,
 * vc_pg_query_late); cont then finds its row at m->row (-1: none, the room
 * existed). When that statement fails, each runs `again` with m->solo set,
 * and writes alone.
 */
void mt_adhoc_join(meeting_t *m, const char *const *params, cont_fn cont, next_fn again);
/* The handlers of M_JOINS and M_ADHOCS (meetings.c's handler table). */
int mt_on_joins(vc_actor_t *self, vc_msg_t *msg);
int mt_on_adhocs(vc_actor_t *self, vc_msg_t *msg);

/* meeting_cmds.c: the first step of each command */
void cmd_create(meeting_t *m);
void info_read(meeting_t *m);
void join_read(meeting_t *m);
void join_known(meeting_t *m);
void join_unknown(meeting_t *m);
void status_read(meeting_t *m);
void leave_read(meeting_t *m);
void end_read(meeting_t *m);
void delete_read(meeting_t *m);
void update_read(meeting_t *m);
void participants_read(meeting_t *m);
void waiting_read(meeting_t *m);
void action_read(meeting_t *m);
void action_known(meeting_t *m);
void admit_all_read(meeting_t *m);
void cmd_list(meeting_t *m);

#endif
