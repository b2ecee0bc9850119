/*
 * pg.h — PostgreSQL from the workers, without blocking them.
 *
 * Each worker owns db_pool_size non-blocking libpq connections whose sockets
 * its loop watches. A query is a message in and a result message out: an
 * actor calls vc_pg_query() on its own worker and later receives a
 * vc_pg_result_t message of the type it asked for. Statements are prepared
 * on every connection when it connects. When PostgreSQL is unreachable the
 * pool reconnects with backoff and queries fail at once with
 * VC_PG_UNAVAILABLE (the HTTP layer answers 503); nothing waits forever.
 *
 * Host names in database_url are resolved once on the main thread
 * (vc_pg_resolve) so that connecting never does DNS on a worker.
 */
#ifndef VC_PG_H
#define VC_PG_H

#include <libpq-fe.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/actor.h"
#include "runtime/worker.h"

enum vc_pg_status {
	VC_PG_OK = 0,          /* res holds the rows (PGRES_TUPLES_OK / COMMAND_OK) */
	VC_PG_ERROR = 1,       /* the statement failed; res holds the error */
	VC_PG_UNAVAILABLE = 2, /* no usable connection; res is NULL */
};

typedef struct vc_pg_result {
	vc_msg_t msg;
	enum vc_pg_status status;
	PGresult *res;   /* owned by the message; PQclear'ed by its destroy */
	void *cookie;    /* as given to vc_pg_query */
	uint64_t rtt_us; /* send to result */
} vc_pg_result_t;

/* Register a statement before the workers start. Returns its id. */
int vc_pg_statement(const char *name, const char *sql, int nparams);

/* A module's statements as a table: each registered into *id. */
typedef struct vc_pg_stmt_def {
	int *id;
	const char *name;
	const char *sql;
	int nparams;
} vc_pg_stmt_def_t;
void vc_pg_statements(const vc_pg_stmt_def_t *defs, size_t n);

/*
 * On a worker thread: run statement `stmt` with text params (copied; NULL
 * entries are SQL NULL) on this worker's pool. The result is sent to
 * `reply_to` as a vc_pg_result_t of type `reply_type` — always exactly once,
 * possibly before this function returns (VC_PG_UNAVAILABLE).
 */
void vc_pg_query(int stmt, int nparams, const char *const *params, vc_actor_t *reply_to,
                 uint32_t reply_type, void *cookie);

/*
 * vc_pg_query with its parameters asked for late: fill(cookie, params) runs
 * on this worker when the statement leaves for a connection, and sets the
 * nparams strings (copied when it returns; NULL is SQL NULL). Until then
 * the caller may go on adding to what fill will write: work that arrives
 * while the pool is busy joins the statement already waiting. fill is not
 * called for a query that fails before it is sent (VC_PG_UNAVAILABLE).
 */
typedef void (*vc_pg_fill_fn)(void *cookie, const char **params);
void vc_pg_query_late(int stmt, int nparams, vc_pg_fill_fn fill, vc_actor_t *reply_to,
                      uint32_t reply_type, void *cookie);

/* Worker start/stop hooks: open / close this worker's pool. */
void vc_pg_worker_start(vc_worker_t *w, const char *conninfo, unsigned pool_size);
void vc_pg_worker_stop(vc_worker_t *w);

typedef struct vc_pg_stats {
	_Atomic int64_t connected;              /* connections ready */
	_Atomic uint64_t queries;               /* results delivered with VC_PG_OK */
	_Atomic uint64_t errors;                /* VC_PG_ERROR */
	_Atomic uint64_t unavailable;           /* VC_PG_UNAVAILABLE */
	_Atomic uint64_t reconnects;            /* connection attempts after a failure */
	_Atomic uint64_t rtt_us_sum;            /* over `queries` */
	_Atomic uint64_t group_commits;         /* transactions of several queries */
	_Atomic uint64_t group_committed;       /* queries answered from them */
	_Atomic uint64_t group_commit_failures; /* rolled back, queries run again */
	_Atomic int64_t queued;                 /* waiting for a connection now */
} vc_pg_stats_t;
/* Totals over all workers, summed into *out. */
void vc_pg_stats_sum(vc_pg_stats_t *out);
/* Any thread: every worker's pool has a connection ready. */
bool vc_pg_all_pools_up(void);

/* Main thread only (may block): turn a URL into a conninfo string with
 * host names resolved to hostaddr. Returns a malloc'ed string or NULL with err. */
char *vc_pg_resolve(const char *url, char *err, size_t errlen);

/* Main thread only (blocks): apply dir/NNN_*.sql not yet in
 * schema_migrations, each in its own transaction, under an advisory lock.
 * Returns the number applied, or -1 with err. */
int vc_pg_migrate(const char *conninfo, const char *dir, char *err, size_t errlen);

#endif
