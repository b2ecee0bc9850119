/*
 * pg_migrate.c — apply sql/NNN_name.sql migrations at start-up (main
 * thread; blocking libpq is fine here, never on a worker).
 *
 * Under a session advisory lock (MIGRATE_LOCK_KEY, the ASCII bytes
 * "vcd-migr" as a bigint), so that two vcd processes starting against the
 * same database apply each file once: the second waits for the lock, then
 * finds the first one's versions in schema_migrations.
 *
 * A migration's version is its file name without ".sql" (e.g. "001_init").
 * Files are applied in name order, each in its own transaction together
 * with its schema_migrations row; a failure rolls that file back and stops.
 * Files may hold several statements but no transaction control (BEGIN,
 * COMMIT) and nothing that cannot run inside a transaction (CREATE INDEX
 * CONCURRENTLY). Names must match ^[0-9]{3}_[a-z0-9_]+\.sql$; other files in
 * the directory are ignored with a warning, and two files with the same
 * number are an error.
 */
#include "runtime/pg.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/log.h"

#define MIGRATE_LOCK_KEY INT64_C(0x7663642d6d696772) /* "vcd-migr" */
#define MIGRATION_MAX_BYTES (16u << 20)

typedef struct migrate {
	PGconn *pg;
	char *err;
	size_t errlen;
	char **files; /* sorted names */
	size_t nfiles;
} migrate_t;

static void notice_log(void *arg, const char *message)
{
	char line[256];

	log_debug("postgres: %s", vc_first_line(message, line, sizeof(line)));
}

/* ^[0-9]{3}_[a-z0-9_]+\.sql$ */
static bool migration_name_ok(const char *name)
{
	size_t len = strlen(name), i;

	if (len < 9 || strcmp(name + len - 4, ".sql") != 0 || name[3] != '_')
		return false;
	for (i = 0; i < 3; i++)
		if (!isdigit((unsigned char)name[i]))
			return false;
	for (i = 4; i < len - 4; i++)
		if (!islower((unsigned char)name[i]) && !isdigit((unsigned char)name[i]) &&
		    name[i] != '_')
			return false;
	return true;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int list_files(migrate_t *m, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (d == NULL) {
		snprintf(m->err, m->errlen, "migrations directory '%s': %s", dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (!migration_name_ok(e->d_name)) {
			log_warn("migrations: ignoring %s/%s: name is not NNN_name.sql "
			         "(lower case, digits, '_')",
			         dir, e->d_name);
			continue;
		}
		m->files = vc_realloc(m->files, (m->nfiles + 1) * sizeof(*m->files));
		m->files[m->nfiles++] = vc_strdup(e->d_name);
	}
	closedir(d);
	qsort(m->files, m->nfiles, sizeof(*m->files), name_cmp);
	for (size_t i = 1; i < m->nfiles; i++) {
		if (strncmp(m->files[i - 1], m->files[i], 3) == 0) {
			snprintf(m->err, m->errlen,
			         "migrations %s and %s in %s share the number %.3s",
			         m->files[i - 1], m->files[i], dir, m->files[i]);
			return -1;
		}
	}
	return 0;
}

/* Run one command; NULL with err set (prefix: what) unless it succeeded. */
static PGresult *exec_ok(migrate_t *m, const char *what, PGresult *res)
{
	char line[512];
	ExecStatusType st = PQresultStatus(res);

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY)
		return res;
	snprintf(m->err, m->errlen, "%s: %s", what,
	         vc_first_line(res ? PQresultErrorMessage(res) : PQerrorMessage(m->pg), line,
	                       sizeof(line)));
	PQclear(res);
	return NULL;
}

static int exec_cmd(migrate_t *m, const char *what, const char *sql)
{
	PGresult *res = exec_ok(m, what, PQexec(m->pg, sql));

	PQclear(res);
	return res ? 0 : -1;
}

static char *read_file(migrate_t *m, const char *dir, const char *name)
{
	char path[4096];
	FILE *f;
	char *buf = NULL;
	size_t len = 0, n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "rb");
	if (f == NULL) {
		snprintf(m->err, m->errlen, "migration %s: cannot open %s: %s", name, path,
		         strerror(errno));
		return NULL;
	}
	do {
		buf = vc_realloc(buf, len + 65536 + 1);
		n = fread(buf + len, 1, 65536, f);
		len += n;
	} while (n > 0 && len <= MIGRATION_MAX_BYTES);
	if (ferror(f) || len > MIGRATION_MAX_BYTES) {
		snprintf(m->err, m->errlen, "migration %s: cannot read %s: %s", name, path,
		         ferror(f) ? strerror(errno) : "larger than 16 MiB");
		free(buf);
		buf = NULL;
	} else {
		buf[len] = '\0';
	}
	fclose(f);
	return buf;
}

static bool is_applied(const PGresult *applied, const char *version)
{
	for (int i = 0; i < PQntuples(applied); i++)
		if (strcmp(PQgetvalue(applied, i, 0), version) == 0)
			return true;
	return false;
}

/* BEGIN; <file>; INSERT INTO schema_migrations; COMMIT — or ROLLBACK. */
static int apply_one(migrate_t *m, const char *dir, const char *name)
{
	char what[300];
	char *version = vc_strndup(name, strlen(name) - 4);
	const char *params[1] = { version };
	char *sql = read_file(m, dir, name);
	uint64_t t0 = vc_now_ms();
	int rc = -1;
	PGresult *res;

	snprintf(what, sizeof(what), "migration %s failed", name);
	if (sql != NULL && exec_cmd(m, what, "BEGIN") == 0) {
		if (exec_cmd(m, what, sql) == 0) {
			res = exec_ok(m, what,
			              PQexecParams(m->pg,
			                           "INSERT INTO schema_migrations (version) "
			                           "VALUES ($1)",
			                           1, NULL, params, NULL, NULL, 0));
			PQclear(res);
			if (res != NULL)
				rc = exec_cmd(m, what, "COMMIT");
		}
		if (rc != 0)
			PQclear(PQexec(m->pg, "ROLLBACK"));
	}
	if (rc == 0)
		log_info("migrations: applied %s (%" PRIu64 " ms)", name, vc_now_ms() - t0);
	free(sql);
	free(version);
	return rc;
}

static int apply_pending(migrate_t *m, const char *dir)
{
	PGresult *applied;
	int count = 0;

	if (exec_cmd(m, "cannot create schema_migrations",
	             "CREATE TABLE IF NOT EXISTS schema_migrations ("
	             " version text PRIMARY KEY,"
	             " applied_at timestamptz NOT NULL DEFAULT now())") != 0)
		return -1;
	applied = exec_ok(m, "cannot read schema_migrations",
	                  PQexec(m->pg, "SELECT version FROM schema_migrations"));
	if (applied == NULL)
		return -1;
	for (size_t i = 0; i < m->nfiles && count >= 0; i++) {
		char *version = vc_strndup(m->files[i], strlen(m->files[i]) - 4);

		if (!is_applied(applied, version))
			count = apply_one(m, dir, m->files[i]) == 0 ? count + 1 : -1;
		free(version);
	}
	PQclear(applied);
	return count;
}

static int migrate_locked(migrate_t *m, const char *dir)
{
	char sql[96];
	int count;

	snprintf(sql, sizeof(sql), "SELECT pg_advisory_lock(%" PRId64 ")", MIGRATE_LOCK_KEY);
	if (exec_cmd(m, "cannot take the migration lock", sql) != 0)
		return -1;
	count = apply_pending(m, dir);
	snprintf(sql, sizeof(sql), "SELECT pg_advisory_unlock(%" PRId64 ")", MIGRATE_LOCK_KEY);
	PQclear(PQexec(m->pg, sql)); /* closing the session releases it anyway */
	return count;
}

int vc_pg_migrate(const char *conninfo, const char *dir, char *err, size_t errlen)
{
	migrate_t m = { .err = err, .errlen = errlen };
	char line[512];
	int count = -1;

	if (list_files(&m, dir) == 0) {
		m.pg = PQconnectdb(conninfo);
		if (m.pg == NULL || PQstatus(m.pg) != CONNECTION_OK) {
			snprintf(err, errlen, "migrations: cannot connect to PostgreSQL: %s",
			         vc_first_line(m.pg ? PQerrorMessage(m.pg) : "out of memory", line,
			                       sizeof(line)));
		} else {
			PQsetNoticeProcessor(m.pg, notice_log, NULL);
			count = migrate_locked(&m, dir);
		}
		PQfinish(m.pg);
	}
	for (size_t i = 0; i < m.nfiles; i++)
		free(m.files[i]);
	free(m.files);
	if (count > 0)
		log_info("migrations: %d applied from %s", count, dir);
	return count;
}
