/*
 * pg.c — each worker's PostgreSQL connections, driven by the worker's loop.
 *
 * A worker's pool holds db_pool_size non-blocking libpq connections. Each is
 * a state machine and conn_set_state() is the only place its state changes
 * (bad transitions are fatal, every transition is logged at debug):
 *
 *   NEW -> CONNECTING -> PREPARING -> READY <-> BUSY
 *             |             |          |        |
 *             +-------------+----------+--------+--> BROKEN -> WAIT_RETRY
 *   WAIT_RETRY -> CONNECTING when its backoff timer fires; any -> CLOSED.
 *
 * CONNECTING is PQconnectStart + PQconnectPoll on an ev_io re-armed after
 * every poll (libpq may switch sockets between addresses). PREPARING sends
 * one PQsendPrepare per registered statement. READY has nothing in flight,
 * BUSY has queries in flight. BROKEN is passed through at once: queries in
 * flight are answered VC_PG_UNAVAILABLE, the PGconn is closed, and a retry
 * is timed after 100 ms, doubling up to 5 s (minus up to 25% jitter).
 * Up/down changes are logged once (info/warn); failed retries at debug.
 *
 * Pipelining (our choice): every connection runs in libpq pipeline mode.
 * With db_group_commit off, up to PIPELINE_DEPTH queries are in flight,
 * each followed by its own sync. So every query is its own implicit
 * transaction, an error aborts nothing else, and a result is delivered when
 * its sync (ReadyForQuery) arrives, i.e. after the statement committed. A
 * new query goes to an idle connection, else to the least loaded one with
 * room, else it waits in the worker's FIFO (at most QUEUE_MAX). When no connection is healthy (all
 * broken or reconnecting) or the FIFO is full it is answered
 * VC_PG_UNAVAILABLE at once.
 *
 * Group commit (db_group_commit, on by default): queries are dispatched at
 * the end of the worker's loop iteration (a flush callback), only to an idle
 * connection, and when more than one is waiting they go together: the
 * statements, then one sync. What comes before a sync is one implicit
 * transaction, committed at the sync, so PostgreSQL flushes the WAL once for
 * all of them; every answer waits for that sync. Queries of any actor go
 * together: ad-hoc joins of different rooms, guest joins, admits, leaves.
 * When a statement in it fails (a conflict, a CHECK, a deadlock) the server
 * skips the rest and rolls all of it back; the queries are queued again at
 * the head, in order: the one that failed to run alone (its own answer,
 * error or not, from its own transaction), those before and after it to go
 * together again. A query runs alone at most once and every failed round
 * sends one alone, so k failing statements cost at most 3k + 1
 * transactions (k failed, k alone, k + 1 batches of the rest), and one
 * failure costs its neighbours one more transaction, not one each. A
 * failure no statement owns (the COMMIT) sends them all to run alone.
 *
 * Safety net: a 1 s tick fails connection attempts older than
 * connect_timeout (from the conninfo, else CONNECT_TIMEOUT_US), drops a
 * connection whose oldest query is older than QUERY_TIMEOUT_US (a hung
 * server or a silent network: the only non-blocking way to give up on a
 * query is to close its connection), and answers queued queries that waited
 * QUERY_TIMEOUT_US. Nothing here blocks and nothing waits forever.
 *
 * The main-thread side is elsewhere: pg_resolve.c (database_url to a
 * conninfo without host names) and pg_migrate.c (schema migrations).
 */
#include "runtime/pg.h"

#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/config.h"
#include "runtime/log.h"

#define PIPELINE_DEPTH 16
#define BATCH_MAX 32 /* queries in one group commit */
#define QUEUE_MAX 4096
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define CONNECT_TIMEOUT_US (10 * 1000000ull)
#define QUERY_TIMEOUT_US (30 * 1000000ull)
#define TICK_SECONDS 1.0

/* ---- statements ---------------------------------------------------------- */

typedef struct pg_stmt {
	char *name;
	char *sql;
	int nparams;
} pg_stmt_t;

static pg_stmt_t *stmts; /* written before the workers start, read-only after */
static int nstmts;

int vc_pg_statement(const char *name, const char *sql, int nparams)
{
	for (int i = 0; i < nstmts; i++) {
		if (strcmp(stmts[i].name, name) != 0)
			continue;
		if (strcmp(stmts[i].sql, sql) != 0 || stmts[i].nparams != nparams)
			vc_fatal("statement '%s' registered twice with different SQL", name);
		return i;
	}
	stmts = vc_realloc(stmts, (size_t)(nstmts + 1) * sizeof(*stmts));
	stmts[nstmts] = (pg_stmt_t){ vc_strdup(name), vc_strdup(sql), nparams };
	return nstmts++;
}

void vc_pg_statements(const vc_pg_stmt_def_t *defs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		*defs[i].id = vc_pg_statement(defs[i].name, defs[i].sql, defs[i].nparams);
}

/* ---- queries and FIFOs --------------------------------------------------- */

typedef struct pg_query {
	struct pg_query *next;
	vc_actor_t *reply_to; /* holds a reference */
	uint32_t reply_type;
	bool prepare; /* a PQsendPrepare of stmt, not a query */
	int stmt;
	int nparams;
	void *cookie;
	uint64_t t0_us;       /* when vc_pg_query() was called */
	uint64_t sent_us;     /* when it went to a connection */
	PGresult *res;        /* first result, held until the sync arrives */
	bool alone;           /* a failed group commit: run by itself */
	struct batch *batch;  /* a group commit in flight, not a query */
	vc_pg_fill_fn fill;   /* vc_pg_query_late: params still to be asked for */
	char *late;           /* ... and the strings it gave, copied */
	const char *params[]; /* then the parameter strings */
} pg_query_t;

typedef struct qlist {
	pg_query_t *head;
	pg_query_t **tail;
	unsigned len;
} qlist_t;

/* A group commit in flight, as read back: libpq ends each member's results
 * with a NULL. */
typedef struct batch {
	qlist_t members;
	pg_query_t *at;      /* the member whose result comes next, else NULL */
	unsigned done;       /* members whose results ended */
	bool seen;           /* a result of `at` was read */
	bool failed;         /* an error, or a statement skipped after one */
	pg_query_t *culprit; /* the member whose statement failed, if one did */
} batch_t;

static void qlist_init(qlist_t *l)
{
	l->head = NULL;
	l->tail = &l->head;
	l->len = 0;
}

static void qlist_push(qlist_t *l, pg_query_t *q)
{
	q->next = NULL;
	*l->tail = q;
	l->tail = &q->next;
	l->len++;
}

static pg_query_t *qlist_pop(qlist_t *l)
{
	pg_query_t *q = l->head;

	if (q == NULL)
		return NULL;
	l->head = q->next;
	if (l->head == NULL)
		l->tail = &l->head;
	l->len--;
	return q;
}

static pg_query_t *query_new(int stmt, int nparams, const char *const *params)
{
	size_t len = 0;
	pg_query_t *q;
	char *s;

	for (int i = 0; i < nparams; i++)
		if (params[i] != NULL)
			len += strlen(params[i]) + 1;
	q = vc_malloc(sizeof(*q) + (size_t)nparams * sizeof(char *) + len);
	memset(q, 0, sizeof(*q));
	q->stmt = stmt;
	q->nparams = nparams;
	s = (char *)&q->params[nparams];
	for (int i = 0; i < nparams; i++) {
		if (params[i] == NULL) {
			q->params[i] = NULL;
			continue;
		}
		size_t n = strlen(params[i]) + 1;
		memcpy(s, params[i], n);
		q->params[i] = s;
		s += n;
	}
	return q;
}

/* A late query's parameters, asked for as it leaves (vc_pg_query_late). */
static void query_fill(pg_query_t *q)
{
	const char **got;
	size_t len = 0;
	char *s;

	if (q->fill == NULL)
		return;
	got = vc_calloc((size_t)q->nparams, sizeof(*got));
	q->fill(q->cookie, got);
	q->fill = NULL;
	for (int i = 0; i < q->nparams; i++)
		if (got[i] != NULL)
			len += strlen(got[i]) + 1;
	s = q->late = vc_malloc(len + 1);
	for (int i = 0; i < q->nparams; i++) {
		q->params[i] = NULL;
		if (got[i] == NULL)
			continue;
		size_t n = strlen(got[i]) + 1;
		memcpy(s, got[i], n);
		q->params[i] = s;
		s += n;
	}
	free(got);
}

/* ---- pool and connection structures -------------------------------------- */

enum pg_state {
	PG_NEW,
	PG_CONNECTING,
	PG_PREPARING,
	PG_READY,
	PG_BUSY,
	PG_BROKEN,
	PG_WAIT_RETRY,
	PG_CLOSED,
	PG_NSTATES
};

#define S(x) (1u << (x))
static const struct {
	const char *name;
	unsigned next; /* allowed successors */
} pg_states[PG_NSTATES] = {
	[PG_NEW] = { "NEW", S(PG_CONNECTING) | S(PG_CLOSED) },
	[PG_CONNECTING] = { "CONNECTING", S(PG_PREPARING) | S(PG_BROKEN) | S(PG_CLOSED) },
	[PG_PREPARING] = { "PREPARING", S(PG_READY) | S(PG_BROKEN) | S(PG_CLOSED) },
	[PG_READY] = { "READY", S(PG_BUSY) | S(PG_BROKEN) | S(PG_CLOSED) },
	[PG_BUSY] = { "BUSY", S(PG_READY) | S(PG_BROKEN) | S(PG_CLOSED) },
	[PG_BROKEN] = { "BROKEN", S(PG_WAIT_RETRY) | S(PG_CLOSED) },
	[PG_WAIT_RETRY] = { "WAIT_RETRY", S(PG_CONNECTING) | S(PG_CLOSED) },
	[PG_CLOSED] = { "CLOSED", 0 },
};
/* States in which the socket is watched. */
#define PG_SOCKET_STATES (S(PG_CONNECTING) | S(PG_PREPARING) | S(PG_READY) | S(PG_BUSY))

typedef struct pg_pool pg_pool_t;

typedef struct pg_conn {
	pg_pool_t *pool;
	unsigned idx;
	enum pg_state state;
	PGconn *pg;
	ev_io io;
	int io_events;   /* what io is armed for; 0 when stopped */
	bool want_write; /* PQflush returned 1 */
	ev_timer retry;
	qlist_t inflight;  /* prepares or queries sent, oldest first */
	uint64_t since_us; /* entered the current state */
	unsigned failures; /* failed attempts since last READY */
	unsigned backoff_ms;
	bool been_up; /* reached READY at least once since NEW */
} pg_conn_t;

struct pg_pool {
	vc_worker_t *w;
	struct ev_loop *loop;
	char *conninfo;
	pg_conn_t *conns;
	unsigned nconns;
	qlist_t queue;       /* queries waiting for a connection */
	vc_flush_t dispatch; /* end of the loop iteration: pool_dispatch */
	ev_timer tick;
	uint64_t connect_timeout_us;
	uint64_t rng;
	vc_pg_stats_t stats;
};

/* All pools, indexed by worker, for vc_pg_stats_sum(). */
static pthread_mutex_t pools_mu = PTHREAD_MUTEX_INITIALIZER;
static pg_pool_t **pools;
static unsigned npools;

static void conn_fail(pg_conn_t *c, const char *why);
static void pool_dispatch(pg_pool_t *p);

static bool state_is_up(enum pg_state s)
{
	return s == PG_READY || s == PG_BUSY;
}

/* The one place a connection's state changes. */
static void conn_set_state(pg_conn_t *c, enum pg_state to)
{
	enum pg_state from = c->state;

	if (!(pg_states[from].next & S(to)))
		vc_fatal("postgres conn %u: bad transition %s -> %s", c->idx, pg_states[from].name,
		         pg_states[to].name);
	log_debug("postgres conn %u: %s -> %s", c->idx, pg_states[from].name, pg_states[to].name);
	if (state_is_up(from) != state_is_up(to))
		atomic_fetch_add_explicit(&c->pool->stats.connected, state_is_up(to) ? 1 : -1,
		                          memory_order_relaxed);
	c->state = to;
	c->since_us = vc_now_us();
}

/* Healthy: connected, or on its very first attempt. A connection that is
 * retrying after a failure is not healthy until it is READY again. */
static bool conn_healthy(const pg_conn_t *c)
{
	if (c->state == PG_PREPARING || state_is_up(c->state))
		return true;
	return c->state == PG_CONNECTING && c->failures == 0;
}

static bool pool_healthy(const pg_pool_t *p)
{
	for (unsigned i = 0; i < p->nconns; i++)
		if (conn_healthy(&p->conns[i]))
			return true;
	return false;
}

/* ---- delivering results -------------------------------------------------- */

static void result_destroy(vc_msg_t *m)
{
	vc_pg_result_t *r = vc_container_of(m, vc_pg_result_t, msg);

	PQclear(r->res);
	free(r);
}

static enum vc_pg_status result_status(const PGresult *res)
{
	switch (PQresultStatus(res)) {
	case PGRES_COMMAND_OK:
	case PGRES_TUPLES_OK:
	case PGRES_SINGLE_TUPLE: return VC_PG_OK;
	default: return VC_PG_ERROR;
	}
}

/* Answer q (and free it). res is NULL exactly when st is UNAVAILABLE. */
static void query_answer(vc_pg_stats_t *stats, pg_query_t *q, enum vc_pg_status st, PGresult *res)
{
	vc_pg_result_t *r = vc_msg_new(sizeof(*r), q->reply_type);
	/* clang-format off */
	_Atomic uint64_t *counter[] = {
		[VC_PG_OK] = &stats->queries,
		[VC_PG_ERROR] = &stats->errors,
		[VC_PG_UNAVAILABLE] = &stats->unavailable,
	};

	r->msg.destroy = result_destroy;
	r->status = st;
	r->res = res;
	r->cookie = q->cookie;
	r->rtt_us = vc_now_us() - q->t0_us;
	atomic_fetch_add_explicit(counter[st], 1, memory_order_relaxed);
	if (st == VC_PG_OK)
		atomic_fetch_add_explicit(&stats->rtt_us_sum, r->rtt_us, memory_order_relaxed);
	vc_actor_send(q->reply_to, &r->msg);
	vc_actor_unref(q->reply_to);
	free(q->late);
	free(q);
}

static void qlist_fail_all(vc_pg_stats_t *stats, qlist_t *l);

/* Drop a query, prepare or group commit that will get no result. */
static void query_fail(vc_pg_stats_t *stats, pg_query_t *q)
{
	if (q->batch != NULL) {
		qlist_fail_all(stats, &q->batch->members);
		free(q->batch);
		free(q);
		return;
	}
	PQclear(q->res);
	if (q->prepare) {
		free(q);
		return;
	}
	query_answer(stats, q, VC_PG_UNAVAILABLE, NULL);
}

static void qlist_fail_all(vc_pg_stats_t *stats, qlist_t *l)
{
	pg_query_t *q;

	while ((q = qlist_pop(l)) != NULL)
		query_fail(stats, q);
}

/* ---- socket watching ----------------------------------------------------- */

/* Arm the watcher on the current socket. While connecting, always re-set
 * it: libpq may have closed one socket and opened another (same number). */
static bool conn_watch(pg_conn_t *c, int events)
{
	int fd = PQsocket(c->pg);

	if (fd < 0) {
		conn_fail(c, "libpq has no socket");
		return false;
	}
	if (c->state != PG_CONNECTING && c->io_events == events && c->io.fd == fd)
		return true;
	ev_io_stop(c->pool->loop, &c->io);
	ev_io_set(&c->io, fd, events);
	ev_io_start(c->pool->loop, &c->io);
	c->io_events = events;
	return true;
}

static void conn_unwatch(pg_conn_t *c)
{
	ev_io_stop(c->pool->loop, &c->io);
	c->io_events = 0;
}

/* Push buffered output; keep watching for writability while some is left.
 * Returns false if the connection broke. */
static bool conn_flush(pg_conn_t *c)
{
	int r = PQflush(c->pg);

	if (r < 0) {
		conn_fail(c, PQerrorMessage(c->pg));
		return false;
	}
	c->want_write = r == 1;
	return conn_watch(c, EV_READ | (c->want_write ? EV_WRITE : 0));
}

/* ---- connection life cycle ----------------------------------------------- */

static void notice_log(void *arg, const char *message)
{
	pg_conn_t *c = arg;
	char line[256];

	log_debug("postgres conn %u: %s", c->idx, vc_first_line(message, line, sizeof(line)));
}

static unsigned backoff_next(pg_conn_t *c)
{
	pg_pool_t *p = c->pool;
	unsigned b = c->backoff_ms, delay;

	p->rng ^= p->rng << 13; /* xorshift64: jitter only */
	p->rng ^= p->rng >> 7;
	p->rng ^= p->rng << 17;
	delay = b - (unsigned)(p->rng % (b / 4 + 1));
	c->backoff_ms = b * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : b * 2;
	return delay;
}

static void conn_log_down(pg_conn_t *c, bool was_connected, const char *why)
{
	char line[256];

	vc_first_line(why, line, sizeof(line));
	if (c->failures > 0)
		log_debug("postgres conn %u: retry %u failed: %s", c->idx, c->failures, line);
	else if (was_connected)
		log_warn("postgres conn %u: connection lost: %s; reconnecting", c->idx, line);
	else
		log_warn("postgres conn %u: cannot connect: %s; retrying with backoff (up to %u s)",
			 c->idx, line, BACKOFF_MAX_MS / 1000);
}

/* Close the PGconn and answer everything in flight. */
static void conn_close_pg(pg_conn_t *c)
{
	conn_unwatch(c);
	c->want_write = false;
	qlist_fail_all(&c->pool->stats, &c->inflight);
	if (c->pg != NULL)
		PQfinish(c->pg);
	c->pg = NULL;
}

/* Any connection-level failure: BROKEN, then WAIT_RETRY with backoff. */
static void conn_fail(pg_conn_t *c, const char *why)
{
	pg_pool_t *p = c->pool;
	bool was_connected = c->state != PG_CONNECTING;
	double delay;

	conn_set_state(c, PG_BROKEN);
	conn_log_down(c, was_connected, why);
	conn_close_pg(c);
	c->failures++;
	delay = backoff_next(c) / 1000.0;
	ev_timer_set(&c->retry, delay, 0.);
	ev_timer_start(p->loop, &c->retry);
	conn_set_state(c, PG_WAIT_RETRY);
	if (!pool_healthy(p))
		qlist_fail_all(&p->stats, &p->queue);
}

static void conn_start(pg_conn_t *c)
{
	pg_pool_t *p = c->pool;

	if (c->failures > 0)
		atomic_fetch_add_explicit(&p->stats.reconnects, 1, memory_order_relaxed);
	conn_set_state(c, PG_CONNECTING);
	c->pg = PQconnectStart(p->conninfo);
	if (c->pg == NULL) {
		conn_fail(c, "out of memory starting a connection");
		return;
	}
	PQsetNoticeProcessor(c->pg, notice_log, c);
	if (PQstatus(c->pg) == CONNECTION_BAD || PQsetnonblocking(c->pg, 1) != 0) {
		conn_fail(c, PQerrorMessage(c->pg));
		return;
	}
	/* libpq: behave as if PQconnectPoll had asked for writability. */
	conn_watch(c, EV_WRITE);
}

static void conn_up(pg_conn_t *c)
{
	const char *host = PQhost(c->pg);

	int v = PQserverVersion(c->pg);

	conn_set_state(c, PG_READY);
	if (c->failures > 0)
		log_info("postgres conn %u: %s to %s (PostgreSQL %d.%d) after %u failed attempts",
			 c->idx, c->been_up ? "reconnected" : "connected", host ? host : "?",
			 v / 10000, v % 100, c->failures);
	else
		log_info("postgres conn %u: connected to %s (PostgreSQL %d.%d)", c->idx,
			 host ? host : "?", v / 10000, v % 100);
	c->failures = 0;
	c->backoff_ms = BACKOFF_MIN_MS;
	c->been_up = true;
}

static void conn_send_prepares(pg_conn_t *c)
{
	conn_set_state(c, PG_PREPARING);
	for (int i = 0; i < nstmts; i++) {
		pg_query_t *q = query_new(i, 0, NULL);

		q->prepare = true;
		q->sent_us = vc_now_us();
		qlist_push(&c->inflight, q);
		if (!PQsendPrepare(c->pg, stmts[i].name, stmts[i].sql, stmts[i].nparams, NULL) ||
		    !PQpipelineSync(c->pg)) {
			conn_fail(c, PQerrorMessage(c->pg));
			return;
		}
	}
	if (!conn_flush(c))
		return;
	if (nstmts == 0)
		conn_up(c);
}

/* CONNECTING: one PQconnectPoll step per socket event. */
static void conn_poll(pg_conn_t *c, int revents)
{
	switch (PQconnectPoll(c->pg)) {
	case PGRES_POLLING_READING:
		conn_watch(c, EV_READ);
		return;
	case PGRES_POLLING_WRITING:
		conn_watch(c, EV_WRITE);
		return;
	case PGRES_POLLING_OK:
		if (PQenterPipelineMode(c->pg) != 1) {
			conn_fail(c, PQerrorMessage(c->pg));
			return;
		}
		conn_send_prepares(c);
		return;
	default:
		conn_fail(c, PQerrorMessage(c->pg));
		return;
	}
}

/* ---- results ------------------------------------------------------------- */

static void prepare_done(pg_conn_t *c, pg_query_t *q)
{
	char line[256];

	if (q->res == NULL || result_status(q->res) != VC_PG_OK)
		log_error("postgres conn %u: cannot prepare statement %s: %s", c->idx,
			  stmts[q->stmt].name,
			  vc_first_line(q->res ? PQresultErrorMessage(q->res) : NULL, line,
				     sizeof(line)));
	PQclear(q->res);
	free(q);
}

/* A group commit's sync: answer every member once COMMIT succeeded, else
 * queue them again at the head, in order: the failed one to run alone, the
 * others together (all alone when no statement failed on its own). */
static void batch_done(pg_pool_t *p, pg_query_t *item)
{
	batch_t *b = item->batch;
	pg_query_t *q;

	atomic_fetch_add_explicit(&p->stats.group_commits, 1, memory_order_relaxed);
	if (!b->failed && b->done == b->members.len) {
		atomic_fetch_add_explicit(&p->stats.group_committed, b->members.len,
		                          memory_order_relaxed);
		while ((q = qlist_pop(&b->members)) != NULL) {
			PGresult *res = q->res;
			q->res = NULL;
			query_answer(&p->stats, q, result_status(res), res);
		}
	} else {
		atomic_fetch_add_explicit(&p->stats.group_commit_failures, 1, memory_order_relaxed);
		log_debug("postgres: a group commit of %u queries failed; %s", b->members.len,
		          b->culprit ? "the failed one runs alone, the others together again"
		                     : "running them one by one");
		for (q = b->members.head; q != NULL; q = q->next) {
			PQclear(q->res);
			q->res = NULL;
			q->alone = b->culprit == NULL || q == b->culprit;
		}
		if (b->members.head != NULL) { /* members, then what waited */
			*b->members.tail = p->queue.head;
			if (p->queue.head == NULL)
				p->queue.tail = b->members.tail;
			p->queue.head = b->members.head;
			p->queue.len += b->members.len;
		}
	}
	free(b);
	free(item);
}

/* One result of a group commit in flight. */
static void batch_result(batch_t *b, PGresult *res)
{
	b->seen = true;
	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
		/* the first error is the statement's own; those skipped after it
		 * come as PGRES_PIPELINE_ABORTED */
		if (!b->failed && PQresultStatus(res) != PGRES_PIPELINE_ABORTED)
			b->culprit = b->at;
		b->failed = true;
	}
	if (b->at != NULL && b->at->res == NULL)
		b->at->res = res;
	else
		PQclear(res);
}

/* The end of one member's results. */
static void batch_next(batch_t *b)
{
	if (!b->seen)
		return;
	b->seen = false;
	if (b->at != NULL) {
		b->at = b->at->next;
		b->done++;
	}
}

/* The sync of the oldest item in flight arrived: it is complete. */
static void conn_complete(pg_conn_t *c)
{
	pg_query_t *q = qlist_pop(&c->inflight);
	PGresult *res;

	if (q == NULL) {
		conn_fail(c, "unexpected pipeline sync from the server");
		return;
	}
	if (q->batch != NULL) {
		batch_done(c->pool, q);
	} else if (q->prepare) {
		prepare_done(c, q);
	} else {
		res = q->res ? q->res : PQmakeEmptyPGresult(c->pg, PGRES_FATAL_ERROR);
		q->res = NULL;
		query_answer(&c->pool->stats, q, result_status(res), res);
	}
	if (c->inflight.head != NULL)
		return;
	if (c->state == PG_PREPARING)
		conn_up(c);
	else if (c->state == PG_BUSY)
		conn_set_state(c, PG_READY);
}

/*
 * Read every complete result without blocking. Per item the server sends:
 * result(s), end-of-query (PQgetResult NULL), then the pipeline sync. Two
 * NULLs in a row mean nothing more is ready.
 */
static void conn_drain(pg_conn_t *c)
{
	int nulls = 0;

	while (c->inflight.head != NULL && !PQisBusy(c->pg)) {
		PGresult *res = PQgetResult(c->pg);

		if (res == NULL) {
			if (c->inflight.head->batch != NULL)
				batch_next(c->inflight.head->batch);
			if (++nulls > 1)
				return;
			continue;
		}
		nulls = 0;
		if (PQresultStatus(res) == PGRES_PIPELINE_SYNC) {
			PQclear(res);
			conn_complete(c);
		} else if (c->inflight.head->batch != NULL) {
			batch_result(c->inflight.head->batch, res);
		} else if (c->inflight.head->res == NULL) {
			c->inflight.head->res = res;
		} else {
			PQclear(res); /* a prepared statement yields one result */
		}
	}
}

/* PREPARING, READY, BUSY: socket events. */
static void conn_io(pg_conn_t *c, int revents)
{
	if ((revents & EV_READ) && !PQconsumeInput(c->pg)) {
		conn_fail(c, PQerrorMessage(c->pg));
		return;
	}
	if (c->want_write && !conn_flush(c))
		return;
	if (PQstatus(c->pg) == CONNECTION_BAD) {
		conn_fail(c, PQerrorMessage(c->pg));
		return;
	}
	conn_drain(c);
}

static void conn_io_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	static void (*const on_io[PG_NSTATES])(pg_conn_t *, int) = {
		[PG_CONNECTING] = conn_poll,
		[PG_PREPARING] = conn_io,
		[PG_READY] = conn_io,
		[PG_BUSY] = conn_io,
	};
	pg_conn_t *c = io->data;

	assert(PG_SOCKET_STATES & S(c->state));
	assert(c->io_events != 0 && c->pg != NULL);
	on_io[c->state](c, revents);
	pool_dispatch(c->pool);
}

static void conn_retry_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	pg_conn_t *c = t->data;

	assert(c->state == PG_WAIT_RETRY && c->pg == NULL && c->io_events == 0);
	conn_start(c);
	pool_dispatch(c->pool);
}

/* ---- dispatching queries ------------------------------------------------- */

/* An idle connection, else the least loaded one with pipeline room. With
 * group commit only an idle one: what arrives meanwhile waits in the queue
 * and leaves with the next transaction. */
static pg_conn_t *pool_pick(pg_pool_t *p)
{
	pg_conn_t *best = NULL;
	bool pipeline = !vc_config_get()->db_group_commit;

	for (unsigned i = 0; i < p->nconns; i++) {
		pg_conn_t *c = &p->conns[i];

		if (c->state == PG_READY)
			return c;
		if (pipeline && c->state == PG_BUSY && c->inflight.len < PIPELINE_DEPTH &&
		    (best == NULL || c->inflight.len < best->inflight.len))
			best = c;
	}
	return best;
}

static void conn_send(pg_conn_t *c, pg_query_t *q)
{
	const pg_stmt_t *s = &stmts[q->stmt];

	query_fill(q);
	q->sent_us = vc_now_us();
	qlist_push(&c->inflight, q);
	if (c->state == PG_READY)
		conn_set_state(c, PG_BUSY);
	if (!PQsendQueryPrepared(c->pg, s->name, q->nparams, q->params, NULL, NULL, 0) ||
	    !PQpipelineSync(c->pg)) {
		conn_fail(c, PQerrorMessage(c->pg));
		return;
	}
	conn_flush(c);
}

/* The members, then one sync: one implicit transaction. */
static void conn_send_batch(pg_conn_t *c, pg_query_t *item)
{
	batch_t *b = item->batch;
	bool ok = true;

	item->sent_us = vc_now_us();
	qlist_push(&c->inflight, item);
	if (c->state == PG_READY)
		conn_set_state(c, PG_BUSY);
	b->at = b->members.head;
	for (pg_query_t *q = b->members.head; q != NULL && ok; q = q->next) {
		const pg_stmt_t *s = &stmts[q->stmt];
		query_fill(q);
		q->sent_us = item->sent_us;
		ok = PQsendQueryPrepared(c->pg, s->name, q->nparams, q->params, NULL, NULL, 0);
	}
	if (!ok || !PQpipelineSync(c->pg)) {
		conn_fail(c, PQerrorMessage(c->pg));
		return;
	}
	conn_flush(c);
}

/* The queue's head and the queries after it (none to run alone), as one
 * group commit; NULL when fewer than two can go together. */
static pg_query_t *batch_take(pg_pool_t *p)
{
	pg_query_t *item;
	batch_t *b;

	if (!vc_config_get()->db_group_commit || p->queue.len < 2 || p->queue.head->alone ||
	    p->queue.head->next->alone)
		return NULL;
	item = vc_calloc(1, sizeof(*item));
	b = item->batch = vc_calloc(1, sizeof(*b));
	item->t0_us = p->queue.head->t0_us;
	qlist_init(&b->members);
	while (b->members.len < BATCH_MAX && p->queue.head != NULL && !p->queue.head->alone)
		qlist_push(&b->members, qlist_pop(&p->queue));
	return item;
}

/* The queue's length for /metrics (read by other threads). */
static void pool_count_queued(pg_pool_t *p)
{
	atomic_store_explicit(&p->stats.queued, p->queue.len, memory_order_relaxed);
}

static void pool_dispatch(pg_pool_t *p)
{
	pg_conn_t *c;

	while (p->queue.head != NULL && (c = pool_pick(p)) != NULL) {
		pg_query_t *item = batch_take(p);
		if (item != NULL)
			conn_send_batch(c, item);
		else
			conn_send(c, qlist_pop(&p->queue));
	}
	pool_count_queued(p);
}

static void pool_dispatch_cb(vc_flush_t *f)
{
	pool_dispatch(vc_container_of(f, pg_pool_t, dispatch));
}

/* Queue q on this worker's pool (or answer it VC_PG_UNAVAILABLE at once). */
static void query_enqueue(pg_query_t *q, vc_actor_t *reply_to, uint32_t reply_type, void *cookie)
{
	vc_worker_t *w = vc_worker_self();
	pg_pool_t *p = w ? vc_worker_slot(w, VC_SLOT_PG) : NULL;

	vc_actor_ref(reply_to);
	q->reply_to = reply_to;
	q->reply_type = reply_type;
	q->cookie = cookie;
	q->t0_us = vc_now_us();
	if (p == NULL) {
		static vc_pg_stats_t nowhere; /* not a pool's thread: count nowhere */
		query_fail(&nowhere, q);
		return;
	}
	if (!pool_healthy(p) || p->queue.len >= QUEUE_MAX) {
		query_fail(&p->stats, q);
		return;
	}
	qlist_push(&p->queue, q);
	pool_count_queued(p);
	if (vc_config_get()->db_group_commit)
		vc_worker_want_flush(w, &p->dispatch); /* with what this turn adds */
	else
		pool_dispatch(p);
}

static void check_call(int stmt, int nparams, vc_actor_t *reply_to)
{
	if (stmt < 0 || stmt >= nstmts || nparams != stmts[stmt].nparams || reply_to == NULL)
		vc_fatal("vc_pg_query: statement %d with %d params: no such statement, "
			 "wrong parameter count or no reply_to", stmt, nparams);
}

void vc_pg_query(int stmt, int nparams, const char *const *params, vc_actor_t *reply_to,
		 uint32_t reply_type, void *cookie)
{
	check_call(stmt, nparams, reply_to);
	query_enqueue(query_new(stmt, nparams, params), reply_to, reply_type, cookie);
}

void vc_pg_query_late(int stmt, int nparams, vc_pg_fill_fn fill, vc_actor_t *reply_to,
		      uint32_t reply_type, void *cookie)
{
	pg_query_t *q;

	check_call(stmt, nparams, reply_to);
	q = vc_calloc(1, sizeof(*q) + (size_t)nparams * sizeof(char *));
	q->stmt = stmt;
	q->nparams = nparams;
	q->fill = fill;
	query_enqueue(q, reply_to, reply_type, cookie);
}

/* ---- the safety net ------------------------------------------------------ */

static void conn_check_timeouts(pg_conn_t *c, uint64_t now)
{
	char why[96];

	if ((c->state == PG_CONNECTING || c->state == PG_PREPARING) &&
	    now - c->since_us > c->pool->connect_timeout_us) {
		snprintf(why, sizeof(why), "no connection after %llu s (%s)",
			 (unsigned long long)(c->pool->connect_timeout_us / 1000000),
			 pg_states[c->state].name);
		conn_fail(c, why);
	} else if (c->state == PG_BUSY && now - c->inflight.head->sent_us > QUERY_TIMEOUT_US) {
		snprintf(why, sizeof(why), "no result for %llu s; dropping the connection",
			 QUERY_TIMEOUT_US / 1000000);
		conn_fail(c, why);
	}
}

static void pool_tick_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	pg_pool_t *p = t->data;
	uint64_t now = vc_now_us();

	for (unsigned i = 0; i < p->nconns; i++)
		conn_check_timeouts(&p->conns[i], now);
	while (p->queue.head != NULL && now - p->queue.head->t0_us > QUERY_TIMEOUT_US)
		query_fail(&p->stats, qlist_pop(&p->queue));
	pool_dispatch(p);
}

/* ---- worker hooks and stats ---------------------------------------------- */

static void pools_register(unsigned idx, pg_pool_t *p)
{
	unsigned n = vc_runtime_nworkers();

	pthread_mutex_lock(&pools_mu);
	if (n < idx + 1)
		n = idx + 1;
	if (npools < n) {
		pools = vc_realloc(pools, n * sizeof(*pools));
		memset(pools + npools, 0, (n - npools) * sizeof(*pools));
		npools = n;
	}
	pools[idx] = p;
	pthread_mutex_unlock(&pools_mu);
}

/* libpq honours connect_timeout only in blocking connects: do it here
 * (whole attempt, at least 2 s as in libpq), else CONNECT_TIMEOUT_US. */
static uint64_t connect_timeout_us(const char *conninfo)
{
	PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
	uint64_t us = CONNECT_TIMEOUT_US;

	for (PQconninfoOption *o = opts; o != NULL && o->keyword != NULL; o++)
		if (strcmp(o->keyword, "connect_timeout") == 0 && o->val != NULL &&
		    atoi(o->val) > 0)
			us = (uint64_t)(atoi(o->val) < 2 ? 2 : atoi(o->val)) * 1000000u;
	PQconninfoFree(opts);
	return us;
}

static void conn_init(pg_pool_t *p, pg_conn_t *c, unsigned idx)
{
	c->pool = p;
	c->idx = idx;
	c->state = PG_NEW;
	c->backoff_ms = BACKOFF_MIN_MS;
	qlist_init(&c->inflight);
	ev_io_init(&c->io, conn_io_cb, -1, 0);
	c->io.data = c;
	ev_timer_init(&c->retry, conn_retry_cb, 0., 0.);
	c->retry.data = c;
}

void vc_pg_worker_start(vc_worker_t *w, const char *conninfo, unsigned pool_size)
{
	pg_pool_t *p = vc_calloc(1, sizeof(*p));

	p->w = w;
	p->loop = vc_worker_loop(w);
	p->conninfo = vc_strdup(conninfo);
	p->connect_timeout_us = connect_timeout_us(conninfo);
	p->nconns = pool_size ? pool_size : 1;
	p->conns = vc_calloc(p->nconns, sizeof(*p->conns));
	p->rng = vc_now_us() ^ ((uint64_t)vc_worker_index(w) + 1) * 0x9e3779b97f4a7c15ull;
	p->rng |= 1;
	qlist_init(&p->queue);
	p->dispatch.fn = pool_dispatch_cb;
	ev_timer_init(&p->tick, pool_tick_cb, TICK_SECONDS, TICK_SECONDS);
	p->tick.data = p;
	ev_timer_start(p->loop, &p->tick);
	vc_worker_set_slot(w, VC_SLOT_PG, p);
	pools_register(vc_worker_index(w), p);
	for (unsigned i = 0; i < p->nconns; i++)
		conn_init(p, &p->conns[i], i);
	for (unsigned i = 0; i < p->nconns; i++)
		conn_start(&p->conns[i]);
}

void vc_pg_worker_stop(vc_worker_t *w)
{
	pg_pool_t *p = vc_worker_slot(w, VC_SLOT_PG);
	unsigned idx = vc_worker_index(w);

	if (p == NULL)
		return;
	vc_worker_set_slot(w, VC_SLOT_PG, NULL);
	vc_worker_cancel_flush(w, &p->dispatch);
	pthread_mutex_lock(&pools_mu);
	if (idx < npools && pools[idx] == p)
		pools[idx] = NULL;
	pthread_mutex_unlock(&pools_mu);
	for (unsigned i = 0; i < p->nconns; i++) {
		pg_conn_t *c = &p->conns[i];

		ev_timer_stop(p->loop, &c->retry);
		conn_close_pg(c);
		conn_set_state(c, PG_CLOSED);
	}
	qlist_fail_all(&p->stats, &p->queue);
	ev_timer_stop(p->loop, &p->tick);
	log_debug("postgres: pool of %u connections closed", p->nconns);
	free(p->conns);
	free(p->conninfo);
	free(p);
}

static void stats_add(vc_pg_stats_t *out, vc_pg_stats_t *in)
{
#define ADD(f) \
	atomic_fetch_add_explicit(&out->f, atomic_load_explicit(&in->f, memory_order_relaxed), \
				  memory_order_relaxed)
	ADD(connected);
	ADD(queries);
	ADD(errors);
	ADD(unavailable);
	ADD(reconnects);
	ADD(rtt_us_sum);
	ADD(group_commits);
	ADD(group_committed);
	ADD(group_commit_failures);
	ADD(queued);
#undef ADD
}

void vc_pg_stats_sum(vc_pg_stats_t *out)
{
	pthread_mutex_lock(&pools_mu);
	for (unsigned i = 0; i < npools; i++)
		if (pools[i] != NULL)
			stats_add(out, &pools[i]->stats);
	pthread_mutex_unlock(&pools_mu);
}

/* clang-format on */

bool vc_pg_all_pools_up(void)
{
	bool up = npools > 0;

	pthread_mutex_lock(&pools_mu);
	for (unsigned i = 0; i < npools; i++)
		if (pools[i] == NULL ||
		    atomic_load_explicit(&pools[i]->stats.connected, memory_order_relaxed) <= 0)
			up = false;
	pthread_mutex_unlock(&pools_mu);
	return up;
}
