/*
 * meeting_batch.c — joins of the meeting actor written together: a room's
 * guest joins in one S_JOIN_GUESTS, and ad-hoc joins of a worker's rooms
 * in one S_ADHOC_JOINS, each gathered while it waits for a connection
 * (vc_pg_query_late) and answered row by row to its commands. Why and how:
 * doc/meetings.md, "Group commit", "Guest joins in one statement" and
 * "Issue 10: group commit across meetings".
 */
#include "actors/meetings_int.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/config.h"
#include "runtime/log.h"

/* --- guest joins written together ------------------------------------------- */

/* Guest joins on the same facts, in one statement that has not left yet. */
typedef struct joins {
	char *id, *state, *waiting; /* S_JOIN_GUEST's $1, $2, $4: the same for all */
	char *level;                /* and its $11 (NULL: no access level) */
	json_t *rows;               /* [{u, s, d, a}] for S_JOIN_GUESTS */
	char *sent;                 /* rows as sent */
	meeting_t *m[MAX_RUNNING];
	next_fn again[MAX_RUNNING];
	unsigned n;
} joins_t;

static _Atomic int64_t join_batches, joins_batched;

static void joins_free(joins_t *j)
{
	free(j->id);
	free(j->state);
	free(j->waiting);
	free(j->level);
	json_decref(j->rows);
	free(j->sent);
	free(j);
}

/* The statement leaves for a connection: it takes what gathered. */
static void joins_fill(void *cookie, const char **params)
{
	joins_t *j = cookie;
	joins_t **gathering = mt_room_joins(j->m[0]->room);

	if (*gathering == j)
		*gathering = NULL;
	j->sent = json_dumps(j->rows, JSON_COMPACT);
	params[0] = j->id;
	params[1] = j->state;
	params[2] = j->waiting;
	params[3] = j->sent;
	params[4] = j->level;
	atomic_fetch_add_explicit(&join_batches, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&joins_batched, j->n, memory_order_relaxed);
}

static bool same_text(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

void mt_join_guest(meeting_t *m, const char *const *params, cont_fn cont, next_fn again)
{
	room_t *rm = m->room;
	joins_t **gathering = mt_room_joins(rm);
	joins_t *j = *gathering;
	json_t *row;

	/* Only a caller with no row: the statement inserts and never updates. */
	if (m->solo || params[9] != NULL || !vc_config_get()->db_group_commit ||
	    (row = json_pack("{s:s, s:s, s:s?, s:b, s:b}", "u", params[4], "s", params[5], "d",
	                     params[7], "a", strcmp(params[8], "true") == 0, "r",
	                     strcmp(params[11], "true") == 0)) == NULL) {
		mt_query(m, S_JOIN_GUEST, 12, params, cont);
		return;
	}
	if (j != NULL && (j->n == MAX_RUNNING || strcmp(j->id, params[0]) != 0 ||
	                  strcmp(j->state, params[1]) != 0 || strcmp(j->waiting, params[3]) != 0 ||
	                  !same_text(j->level, params[10])))
		j = *gathering = NULL; /* it leaves as it is; a new one gathers */
	if (j == NULL) {
		j = *gathering = vc_calloc(1, sizeof(*j));
		j->id = vc_strdup(params[0]);
		j->state = vc_strdup(params[1]);
		j->waiting = vc_strdup(params[3]);
		j->level = params[10] ? vc_strdup(params[10]) : NULL;
		j->rows = json_array();
		j->m[0] = m; /* joins_fill finds the room through it */
		vc_pg_query_late(S_JOIN_GUESTS, 5, joins_fill, mt_room_actor(rm), M_JOINS, j);
	}
	json_array_append_new(j->rows, row);
	m->cont = cont;
	j->m[j->n] = m;
	j->again[j->n++] = again;
}

/* S_JOIN_GUESTS answered: each command finds its row by its caller (a
 * caller twice in one statement got one row: the other finds none). */
int mt_on_joins(vc_actor_t *self, vc_msg_t *msg)
{
	vc_pg_result_t *r = (vc_pg_result_t *)msg;
	joins_t *j = r->cookie;
	joins_t **gathering = mt_room_joins(self->state);
	int nrows = r->status == VC_PG_OK ? PQntuples(r->res) : 0;
	bool *taken = vc_calloc((size_t)nrows + 1, sizeof(bool));

	if (*gathering == j) /* failed before it left */
		*gathering = NULL;
	if (r->status == VC_PG_ERROR)
		log_warn("meeting %s: %u guest joins written together failed (%s); "
		         "each is written alone",
		         j->m[0]->cur->room_id, j->n,
		         PQresultErrorField(r->res, PG_DIAG_MESSAGE_PRIMARY));
	for (unsigned i = 0; i < j->n; i++) {
		meeting_t *m = j->m[i];
		cont_fn cont = m->cont;

		m->cont = NULL;
		if (r->status == VC_PG_UNAVAILABLE) {
			mt_finish(m, VC_MERR_UNAVAILABLE);
			continue;
		}
		if (r->status == VC_PG_ERROR) {
			m->solo = true;
			j->again[i](m);
			continue;
		}
		m->row = -1;
		for (int k = 0; k < nrows; k++)
			if (!taken[k] && strcmp(PQgetvalue(r->res, k, 0), m->cur->caller_id) == 0) {
				taken[k] = true;
				m->row = k;
				break;
			}
		cont(m, r);
	}
	free(taken);
	joins_free(j);
	return VC_MSG_DONE;
}

int64_t vc_meetings_join_batches(void)
{
	return atomic_load_explicit(&join_batches, memory_order_relaxed);
}

int64_t vc_meetings_joins_batched(void)
{
	return atomic_load_explicit(&joins_batched, memory_order_relaxed);
}

/* --- ad-hoc joins of different rooms written together ------------------------ */

#define ADHOC_MAX 32 /* joins in one S_ADHOC_JOINS */

/* One join in it: the command, its room (a reference), where to go when
 * the statement fails, and the row it got. */
typedef struct adhoc_slot {
	struct adhocs *a;
	meeting_t *m;
	room_t *rm;
	next_fn again;
	const char *room_id, *caller; /* the command's (it outlives the slot) */
	int row;
} adhoc_slot_t;

/* Ad-hoc joins of this worker's rooms, in one statement that has not left
 * yet; after its answer, shared by the rooms until each has read its row. */
typedef struct adhocs {
	char *state, *status, *admitted; /* S_ADHOC_JOIN's $3, $5, $6: the same for all */
	json_t *rows;                    /* [{r, c, d}] for S_ADHOC_JOINS */
	char *sent;                      /* rows as sent */
	enum vc_pg_status status_pg;     /* the statement's outcome, once answered */
	PGresult *res;
	unsigned n, pending; /* joins; those not yet given their row */
	bool left;           /* adhocs_fill ran */
	adhoc_slot_t slot[ADHOC_MAX];
} adhocs_t;

/* The statement gathering on this worker: a room's statements go to its
 * home worker's connections, so only rooms of one worker can share one. */
static _Thread_local adhocs_t *open_adhocs;
static _Atomic int64_t adhoc_batches, adhocs_batched, adhocs_gathering;

static void adhocs_free(adhocs_t *a)
{
	free(a->state);
	free(a->status);
	free(a->admitted);
	json_decref(a->rows);
	free(a->sent);
	PQclear(a->res);
	free(a);
}

/* The statement leaves for a connection: it takes what gathered. */
static void adhocs_fill(void *cookie, const char **params)
{
	adhocs_t *a = cookie;

	if (open_adhocs == a)
		open_adhocs = NULL;
	a->sent = json_dumps(a->rows, JSON_COMPACT);
	params[0] = a->state;
	params[1] = a->status;
	params[2] = a->admitted;
	params[3] = a->sent;
	atomic_fetch_add_explicit(&adhoc_batches, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&adhocs_batched, a->n, memory_order_relaxed);
	atomic_fetch_sub_explicit(&adhocs_gathering, a->n, memory_order_relaxed);
	a->left = true;
}

void mt_adhoc_join(meeting_t *m, const char *const *params, cont_fn cont, next_fn again)
{
	adhocs_t *a = open_adhocs;
	adhoc_slot_t *s;
	json_t *row;

	if (m->solo || !vc_config_get()->db_group_commit ||
	    (row = json_pack("{s:s, s:s, s:s?}", "r", params[0], "c", params[1], "d", params[3])) ==
	            NULL) {
		mt_query(m, S_ADHOC_JOIN, 6, params, cont);
		return;
	}
	if (a != NULL && (a->n == ADHOC_MAX || strcmp(a->state, params[2]) != 0 ||
	                  strcmp(a->status, params[4]) != 0 || strcmp(a->admitted, params[5]) != 0))
		a = open_adhocs = NULL; /* it leaves as it is; a new one gathers */
	if (a == NULL) {
		a = open_adhocs = vc_calloc(1, sizeof(*a));
		a->state = vc_strdup(params[2]);
		a->status = vc_strdup(params[4]);
		a->admitted = vc_strdup(params[5]);
		a->rows = json_array();
		/* the first room hears the answer and hands the others their rows */
		vc_pg_query_late(S_ADHOC_JOINS, 4, adhocs_fill, mt_room_actor(m->room), M_ADHOCS,
		                 a);
	}
	json_array_append_new(a->rows, row);
	m->cont = cont;
	s = &a->slot[a->n++];
	*s = (adhoc_slot_t){ a, m, m->room, again, m->cur->room_id, m->cur->caller_id, -1 };
	vc_actor_ref(mt_room_actor(s->rm));
	atomic_fetch_add_explicit(&adhocs_gathering, 1, memory_order_relaxed);
}

/* On the join's own room: its row, or write alone, or unavailable. */
static void adhoc_row(vc_actor_t *self, void *arg)
{
	adhoc_slot_t *s = arg;
	adhocs_t *a = s->a;
	meeting_t *m = s->m;
	cont_fn cont = m->cont;
	vc_pg_result_t r = { .status = a->status_pg, .res = a->res };

	m->cont = NULL;
	if (a->status_pg == VC_PG_UNAVAILABLE) {
		mt_finish(m, VC_MERR_UNAVAILABLE);
	} else if (a->status_pg == VC_PG_ERROR) {
		m->solo = true;
		s->again(m);
	} else {
		m->row = s->row;
		cont(m, &r);
	}
	vc_actor_unref(mt_room_actor(s->rm));
	if (--a->pending == 0)
		adhocs_free(a);
}

/* S_ADHOC_JOINS answered (on the first join's room): each join's row is
 * the one of its room and caller (none: the room existed, or was named
 * twice), and goes to its room. */
int mt_on_adhocs(vc_actor_t *self, vc_msg_t *msg)
{
	vc_pg_result_t *r = (vc_pg_result_t *)msg;
	adhocs_t *a = r->cookie;
	int nrows = r->status == VC_PG_OK ? PQntuples(r->res) : 0;
	bool *taken = vc_calloc((size_t)nrows + 1, sizeof(bool));

	if (open_adhocs == a) /* failed before it left */
		open_adhocs = NULL;
	if (!a->left)
		atomic_fetch_sub_explicit(&adhocs_gathering, a->n, memory_order_relaxed);
	if (r->status == VC_PG_ERROR)
		log_warn("%u ad-hoc joins written together failed (%s); each is written alone",
		         a->n, PQresultErrorField(r->res, PG_DIAG_MESSAGE_PRIMARY));
	a->status_pg = r->status;
	a->res = r->res; /* the rooms share it; the last one clears it */
	r->res = NULL;
	a->pending = a->n;
	for (unsigned i = 0; i < a->n; i++) {
		adhoc_slot_t *s = &a->slot[i];
		for (int k = 0; k < nrows && s->row < 0; k++)
			if (!taken[k] && strcmp(PQgetvalue(a->res, k, 1), s->room_id) == 0 &&
			    strcmp(PQgetvalue(a->res, k, 14), s->caller) == 0) {
				taken[k] = true;
				s->row = k;
			}
	}
	free(taken);
	for (unsigned i = 0, n = a->n; i < n; i++) /* a may be freed by the last */
		vc_actor_call(mt_room_actor(a->slot[i].rm), adhoc_row, &a->slot[i]);
	return VC_MSG_DONE;
}

int64_t vc_meetings_adhoc_batches(void)
{
	return atomic_load_explicit(&adhoc_batches, memory_order_relaxed);
}

int64_t vc_meetings_adhocs_batched(void)
{
	return atomic_load_explicit(&adhocs_batched, memory_order_relaxed);
}

int64_t vc_meetings_adhocs_gathering(void)
{
	return atomic_load_explicit(&adhocs_gathering, memory_order_relaxed);
}
