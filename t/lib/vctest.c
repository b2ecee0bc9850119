/*
 * vctest.c — the integration tests' library (see vctest.h): environment,
 * test cases, commands, the database and vcd processes. Sockets and HTTP
 * are in vctest_http.c.
 *
 * Plain blocking code: this runs in test programs, never in vcd. Children
 * (vcd, vcctl, pg_ctl) are started with fork/exec, never a shell; every
 * wait is bounded.
 */
#include "t/lib/vctest.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define PORT_MIN 20000
#define PORT_SPAN 12768
#define PORTS_MAX 256
#define START_MS 10000
#define STOP_MS 10000
#define PG_CTL_MS 70000
#define RUN_MS 10000
#define LOG_TAIL 40

extern char **environ;

static struct {
	vct_vcd_t *vcds;      /* every vcd described and not freed */
	bool passed;          /* vct_pass() reached in this test case */
	bool pg_stopped;      /* vct_pg_stop() without vct_pg_start() */
	unsigned ndb;         /* databases created */
	int ports[PORTS_MAX]; /* handed out by vct_free_port */
	unsigned nports;
} vct;

/* --- environment ---------------------------------------------------------- */

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (p == NULL) {
		fprintf(stderr, "vctest: out of memory\n");
		abort();
	}
	return p;
}

static char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(xrealloc(NULL, n), s, n);
}

static char *vstrf(const char *fmt, va_list ap)
{
	va_list ap2;
	int n;
	char *s;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	s = xrealloc(NULL, (size_t)n + 1);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	return s;
}

char *vct_strf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = vstrf(fmt, ap);
	va_end(ap);
	return s;
}

const char *vct_env(const char *name)
{
	const char *v = getenv(name);

	if (v == NULL || v[0] == '\0')
		fail_msg("environment variable %s is not set: run the integration tests "
		         "through t/integration/run.sh (make check)",
		         name);
	return v;
}

uint64_t vct_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void vct_sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Milliseconds left until `deadline` (0 when it passed). */
static int left_ms(uint64_t deadline)
{
	uint64_t now = vct_now_ms();

	return now >= deadline ? 0 : (int)(deadline - now);
}

char *vct_tmp_path(const char *fmt, ...)
{
	va_list ap;
	char *name, *path;

	va_start(ap, fmt);
	name = vstrf(fmt, ap);
	va_end(ap);
	path = vct_strf("%s/%s", vct_env("VCT_TMPDIR"), name);
	free(name);
	return path;
}

void vct_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		fail_msg("cannot write %s: %s", path, strerror(errno));
	fputs(text, f);
	if (fclose(f) != 0)
		fail_msg("cannot write %s: %s", path, strerror(errno));
}

char *vct_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t n = 0, cap = 0, got;

	if (f == NULL)
		return NULL;
	do {
		if (cap - n < 4096)
			buf = xrealloc(buf, cap = cap * 2 + 4096);
		got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
	} while (got > 0);
	fclose(f);
	buf[n] = '\0';
	if (len != NULL)
		*len = n;
	return buf;
}

static bool port_given(int port)
{
	for (unsigned i = 0; i < vct.nports; i++)
		if (vct.ports[i] == port)
			return true;
	return false;
}

/* Can 127.0.0.1:port be bound right now (no SO_REUSEADDR: strict)? */
static bool port_bindable(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok;

	if (fd < 0)
		fail_msg("socket: %s", strerror(errno));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

int vct_free_port(void)
{
	static bool seeded;

	if (!seeded) {
		srand((unsigned)getpid() ^ (unsigned)vct_now_ms());
		seeded = true;
	}
	for (int i = 0; i < 500; i++) {
		int port = PORT_MIN + rand() % PORT_SPAN;
		if (port_given(port) || !port_bindable(port))
			continue;
		if (vct.nports < PORTS_MAX)
			vct.ports[vct.nports++] = port;
		return port;
	}
	fail_msg("no free TCP port on 127.0.0.1 in %d-%d after 500 tries", PORT_MIN,
	         PORT_MIN + PORT_SPAN - 1);
	return -1;
}

bool vct_is_root(void)
{
	return geteuid() == 0;
}

/* --- test cases ----------------------------------------------------------- */

int vct_setup(void **state)
{
	(void)state;
	vct.passed = false;
	return 0;
}

void vct_pass(void)
{
	vct.passed = true;
}

int vct_teardown(void **state)
{
	vct_vcd_t *v, *next;
	int rc = 0;

	(void)state;
	for (v = vct.vcds; v != NULL; v = next) {
		next = v->next;
		if (!vct.passed)
			vct_vcd_dump_log(v, LOG_TAIL);
		if (v->keep)
			continue;
		vct_vcd_kill(v);
		if (!vct_vcd_log_clean(v))
			rc = -1;
		vct_vcd_free(v);
	}
	vct_conn_close_all();
	vct_pg_ensure_started();
	vct.passed = false;
	return rc;
}

/* --- a nats-server of the test's own ---------------------------------------- */

pid_t vct_nats_server_start(int port, int monitor_port, bool wait)
{
	char p[16], m[16], *log = vct_tmp_path("nats-server-%d.log", port);
	uint64_t end;
	pid_t pid;
	int fd;

	snprintf(p, sizeof(p), "%d", port);
	snprintf(m, sizeof(m), "%d", monitor_port);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		if (monitor_port > 0)
			execlp("nats-server", "nats-server", "-a", "127.0.0.1", "-p", p, "-m", m,
			       (char *)NULL);
		else
			execlp("nats-server", "nats-server", "-a", "127.0.0.1", "-p", p,
			       (char *)NULL);
		_exit(127);
	}
	free(log);
	end = vct_now_ms() + 10000;
	while (wait && (fd = vct_tcp_connect(port)) < 0) {
		if (vct_now_ms() > end || waitpid(pid, NULL, WNOHANG) == pid)
			fail_msg("nats-server on port %d did not listen within 10 s", port);
		vct_sleep_ms(10);
	}
	if (wait)
		close(fd);
	return pid;
}

void vct_nats_server_kill(pid_t *pid)
{
	if (*pid <= 0)
		return;
	kill(*pid, SIGKILL);
	waitpid(*pid, NULL, 0);
	*pid = 0;
}

/* --- commands ------------------------------------------------------------- */

static int decode_status(int ws)
{
	if (WIFEXITED(ws))
		return WEXITSTATUS(ws);
	if (WIFSIGNALED(ws))
		return 128 + WTERMSIG(ws);
	return -1;
}

/* Apply "NAME=value" / "NAME" entries to this (child) process's environment. */
static void apply_env(const char *const *env)
{
	for (; env != NULL && *env != NULL; env++) {
		const char *eq = strchr(*env, '=');
		if (eq == NULL) {
			unsetenv(*env);
		} else {
			char *name = strndup(*env, (size_t)(eq - *env));
			if (name != NULL)
				setenv(name, eq + 1, 1);
			free(name);
		}
	}
}

/* In the child: become uid/gid, wire up stdio, exec. Never returns. */
static void child_exec(const vct_run_opts_t *o, const char *const *argv, int out, int err)
{
	int null = open("/dev/null", O_RDONLY);

	if (null < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
		_exit(126);
	if (o != NULL) {
		apply_env(o->env);
		if (o->as_user &&
		    (setgroups(0, NULL) < 0 || setgid(o->gid) < 0 || setuid(o->uid) < 0)) {
			dprintf(2, "vctest: cannot become uid %u: %s\n", (unsigned)o->uid,
			        strerror(errno));
			_exit(126);
		}
	}
	signal(SIGPIPE, SIG_DFL);
	execvp(argv[0], (char *const *)argv);
	dprintf(2, "vctest: cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

typedef struct sink {
	int fd;
	char *buf;
	size_t len, cap;
} sink_t;

/* Read what is there; false at EOF. */
static bool sink_read(sink_t *s)
{
	ssize_t n;

	if (s->cap - s->len < 4096)
		s->buf = xrealloc(s->buf, s->cap = s->cap * 2 + 4096);
	n = read(s->fd, s->buf + s->len, s->cap - s->len - 1);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n <= 0)
		return false;
	s->len += (size_t)n;
	return true;
}

/* Collect both pipes until both close, or the child exited and the pipes
 * are drained (a grandchild may keep them open), or the deadline. */
static int collect(pid_t pid, sink_t *s, uint64_t deadline)
{
	int ws = 0;
	bool exited = false;

	while (s[0].fd >= 0 || s[1].fd >= 0) {
		struct pollfd p[2] = { { .fd = s[0].fd, .events = POLLIN },
			               { .fd = s[1].fd, .events = POLLIN } };
		int rc = poll(p, 2, exited ? 0 : 50);
		for (int i = 0; i < 2; i++) {
			if (s[i].fd >= 0 && (p[i].revents & (POLLIN | POLLHUP | POLLERR)) &&
			    !sink_read(&s[i])) {
				close(s[i].fd);
				s[i].fd = -1;
			}
		}
		if (exited && rc == 0)
			break;
		if (!exited && waitpid(pid, &ws, WNOHANG) == pid)
			exited = true;
		if (!exited && left_ms(deadline) == 0)
			break;
	}
	for (int i = 0; i < 2; i++)
		if (s[i].fd >= 0)
			close(s[i].fd);
	/* The pipes may close a moment before the child can be reaped. */
	while (!exited && left_ms(deadline) > 0) {
		if (waitpid(pid, &ws, WNOHANG) == pid)
			exited = true;
		else
			vct_sleep_ms(5);
	}
	if (!exited && waitpid(pid, &ws, WNOHANG) != pid) {
		kill(pid, SIGKILL);
		waitpid(pid, &ws, 0);
		return -1;
	}
	return decode_status(ws);
}

int vct_run(vct_cmd_t *r, const vct_run_opts_t *o, const char *const *argv)
{
	int out[2], err[2];
	unsigned ms = o != NULL && o->timeout_ms ? o->timeout_ms : RUN_MS;
	sink_t s[2] = { { 0 } };
	pid_t pid;

	memset(r, 0, sizeof(*r));
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)
		fail_msg("pipe: %s", strerror(errno));
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		fail_msg("fork: %s", strerror(errno));
	if (pid == 0)
		child_exec(o, argv, out[1], err[1]);
	close(out[1]);
	close(err[1]);
	s[0].fd = out[0];
	s[1].fd = err[0];
	r->status = collect(pid, s, vct_now_ms() + ms);
	r->out = s[0].buf ? s[0].buf : xstrdup("");
	r->err = s[1].buf ? s[1].buf : xstrdup("");
	if (s[0].buf)
		r->out[s[0].len] = '\0';
	if (s[1].buf)
		r->err[s[1].len] = '\0';
	if (r->status == -1)
		fprintf(stderr, "vctest: %s did not finish within %u ms; killed\n", argv[0], ms);
	return r->status;
}

int vct_runl(vct_cmd_t *r, const vct_run_opts_t *o, const char *arg0, ...)
{
	const char *argv[64];
	size_t n = 0;
	va_list ap;

	argv[n++] = arg0;
	va_start(ap, arg0);
	while (n < 63 && (argv[n] = va_arg(ap, const char *)) != NULL)
		n++;
	va_end(ap);
	argv[n] = NULL;
	return vct_run(r, o, argv);
}

void vct_cmd_free(vct_cmd_t *r)
{
	free(r->out);
	free(r->err);
	memset(r, 0, sizeof(*r));
}

int vct_vcctl(vct_cmd_t *r, const vct_vcd_t *v, bool json, const char *const *words)
{
	const char *argv[64];
	size_t n = 0;

	argv[n++] = vct_env("VCCTL");
	if (json)
		argv[n++] = "--json";
	argv[n++] = "-s";
	argv[n++] = v->admin_path;
	while (*words != NULL) {
		if (n == (sizeof(argv) / sizeof(argv[0])) - 1)
			fail_msg("vct_vcctl: more than %zu words", (sizeof(argv) / sizeof(argv[0])) - 5);
		argv[n++] = *words++;
	}
	argv[n] = NULL;
	return vct_run(r, &(vct_run_opts_t){ .timeout_ms = 30000 }, argv);
}

void vct_expect_exit(const vct_cmd_t *r, int want)
{
	if (r->status != want)
		fail_msg("vcctl exited %d, expected %d\nstdout: %s\nstderr: %s", r->status, want,
		         r->out, r->err);
}

json_t *vct_vcctl_json(const vct_vcd_t *v, const char *const *words)
{
	vct_cmd_t r;
	json_error_t e;
	json_t *j;

	vct_vcctl(&r, v, true, words);
	vct_expect_exit(&r, 0);
	j = json_loads(r.out, JSON_DECODE_ANY, &e);
	if (j == NULL)
		fail_msg("vcctl --json printed no JSON (%s):\n%s", e.text, r.out);
	vct_cmd_free(&r);
	return j;
}

unsigned vct_count_lines(const char *text)
{
	unsigned n = 0;

	while (*text != '\0') {
		size_t len = strcspn(text, "\n");
		for (size_t i = 0; i < len; i++) {
			if (!isspace((unsigned char)text[i])) {
				n++;
				break;
			}
		}
		text += len + (text[len] == '\n');
	}
	return n;
}

/* --- database ------------------------------------------------------------- */

static PGconn *pg_connect(const char *conninfo)
{
	PGconn *pg = PQconnectdb(conninfo);

	if (PQstatus(pg) != CONNECTION_OK) {
		char *msg = xstrdup(PQerrorMessage(pg));
		PQfinish(pg);
		fail_msg("cannot connect to PostgreSQL (%s): %s", conninfo, msg);
	}
	return pg;
}

char *vct_db_create(const char *name)
{
	const char *host = vct_env("VCT_PGHOST"), *user = vct_env("VCT_PGUSER");
	char *admin = vct_strf("host='%s' user='%s' dbname=postgres", host, user);
	char *db = vct_strf("vct_%s_%d_%u", name, (int)getpid(), ++vct.ndb);
	char *sql, *url;
	PGconn *pg;
	PGresult *res;

	for (char *p = db; *p; p++)
		*p = isalnum((unsigned char)*p) ? (char)tolower((unsigned char)*p) : '_';
	pg = pg_connect(admin);
	sql = vct_strf("CREATE DATABASE %s", db);
	res = PQexec(pg, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		char *msg = xstrdup(PQresultErrorMessage(res));
		PQclear(res);
		PQfinish(pg);
		fail_msg("%s failed: %s", sql, msg);
	}
	PQclear(res);
	PQfinish(pg);
	url = vct_strf("postgresql:///%s?host=%s&user=%s", db, host, user);
	free(sql);
	free(db);
	free(admin);
	return url;
}

char *vct_db_value(const char *url, const char *sql)
{
	PGconn *pg = pg_connect(url);
	PGresult *res = PQexec(pg, sql);
	ExecStatusType st = PQresultStatus(res);
	char *value = NULL;

	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
		char *msg = xstrdup(PQresultErrorMessage(res));
		PQclear(res);
		PQfinish(pg);
		fail_msg("query failed: %s: %s", sql, msg);
	}
	if (st == PGRES_TUPLES_OK && PQntuples(res) > 0 && !PQgetisnull(res, 0, 0))
		value = xstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	PQfinish(pg);
	return value;
}

char *vct_db_valuef(const char *url, const char *fmt, ...)
{
	va_list ap;
	char *sql, *value;

	va_start(ap, fmt);
	sql = vstrf(fmt, ap);
	va_end(ap);
	value = vct_db_value(url, sql);
	free(sql);
	return value;
}

/* pg_ctl -D $VCT_PGDATA <args>, as the cluster's owner ($VCT_PGRUNAS). */
static void pg_ctl(const char *const *args)
{
	const char *argv[32];
	char *runas = xstrdup(getenv("VCT_PGRUNAS") ? getenv("VCT_PGRUNAS") : "");
	char *pgctl = vct_strf("%s/pg_ctl", vct_env("VCT_PGBIN"));
	vct_run_opts_t o = { .timeout_ms = PG_CTL_MS };
	vct_cmd_t r;
	size_t n = 0;

	for (char *w = strtok(runas, " "); w != NULL && n < 8; w = strtok(NULL, " "))
		argv[n++] = w;
	argv[n++] = pgctl;
	argv[n++] = "-D";
	argv[n++] = vct_env("VCT_PGDATA");
	while (*args != NULL && n < 31)
		argv[n++] = *args++;
	argv[n] = NULL;
	vct_run(&r, &o, argv);
	if (r.status != 0) {
		fprintf(stderr, "vctest: pg_ctl %s failed (status %d):\n%s%s", argv[n - 1],
		        r.status, r.out, r.err);
		vct_cmd_free(&r);
		free(pgctl);
		free(runas);
		fail_msg("pg_ctl failed");
	}
	vct_cmd_free(&r);
	free(pgctl);
	free(runas);
}

void vct_pg_stop(void)
{
	static const char *const args[] = { "-m", "fast", "-w", "-t", "60", "stop", NULL };

	vct.pg_stopped = true;
	pg_ctl(args);
}

void vct_pg_start(void)
{
	/* As t/lib/stack.sh's stack_pg_start: its settings are in the data
	 * directory (stack.conf), the server log is run.sh's $VCT_TMPDIR/pg.log. */
	char *log = vct_tmp_path("pg.log");
	const char *const args[] = { "-l", log, "-w", "-t", "60", "start", NULL };

	pg_ctl(args);
	vct.pg_stopped = false;
	free(log);
}

void vct_pg_ensure_started(void)
{
	if (vct.pg_stopped)
		vct_pg_start();
}

/* --- vcd ------------------------------------------------------------------ */

vct_vcd_t *vct_vcd_new(const char *name, const char *db_url, const char *extra)
{
	vct_vcd_t *v = xrealloc(NULL, sizeof(*v));

	memset(v, 0, sizeof(*v));
	v->name = xstrdup(name);
	v->db_url = xstrdup(db_url);
	v->conf_path = vct_tmp_path("%s.conf", name);
	v->log_path = vct_tmp_path("%s.log", name);
	v->admin_path = vct_tmp_path("%s.sock", name);
	v->port = vct_free_port();
	v->status = -1;
	v->next = vct.vcds;
	vct.vcds = v;
	vct_vcd_write_conf(v, extra);
	return v;
}

void vct_vcd_write_conf(vct_vcd_t *v, const char *extra)
{
	char *text = vct_strf("# Written by t/lib/vctest.c for the test vcd '%s'.\n"
	                      "listen = 127.0.0.1:%d\n"
	                      "workers = 2\n"
	                      "database_url = %s\n"
	                      "migrations_dir = %s\n"
	                      "admin_socket = %s\n"
	                      "log_level = info\n"
	                      "%s",
	                      v->name, v->port, v->db_url, vct_env("VCT_SQLDIR"), v->admin_path,
	                      extra ? extra : "");

	vct_write_file(v->conf_path, text);
	free(text);
}

/* Environment names vcd reads besides VCD_*: the test's config file rules. */
static const char *const compat_env[] = {
	"DATABASE_URL",
	"LISTEN_ADDR",
	"CORS_ALLOWED_ORIGIN",
	"JWT_SECRET",
	"NATS_URL",
	"TOKEN_TTL_SECS",
	"SESSION_TTL_SECS",
	"FEATURE_MEETING_MANAGEMENT",
	"EXTERNAL_API_ENABLED",
	"APPLICATION_ENABLED",
};

static void clean_env(void)
{
	for (size_t i = 0; i < sizeof(compat_env) / sizeof(compat_env[0]); i++)
		unsetenv(compat_env[i]);
	for (char **e = environ; e != NULL && *e != NULL;) {
		if (strncmp(*e, "VCD_", 4) == 0) {
			char *name = strndup(*e, strcspn(*e, "="));
			unsetenv(name);
			free(name);
			e = environ; /* unsetenv moved the array */
		} else {
			e++;
		}
	}
}

static void vcd_child(vct_vcd_t *v, const char *const *argv, pid_t parent)
{
	int log = open(v->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int null = open("/dev/null", O_RDONLY);

	/* Die with the test program, whatever kills it. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(125);
	if (log < 0 || null < 0 || dup2(null, 0) < 0 || dup2(log, 1) < 0 || dup2(log, 2) < 0)
		_exit(126);
	clean_env();
	signal(SIGPIPE, SIG_DFL);
	execv(argv[0], (char *const *)argv);
	dprintf(2, "vctest: cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

void vct_vcd_spawn(vct_vcd_t *v, const char *const *args)
{
	const char *argv[32];
	size_t n = 0;
	pid_t parent = getpid(), pid;

	if (v->pid != 0)
		fail_msg("vcd %s is already running (pid %d)", v->name, (int)v->pid);
	argv[n++] = vct_env("VCD");
	argv[n++] = "-c";
	argv[n++] = v->conf_path;
	while (args != NULL && *args != NULL && n < 31)
		argv[n++] = *args++;
	argv[n] = NULL;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		fail_msg("fork: %s", strerror(errno));
	if (pid == 0)
		vcd_child(v, argv, parent);
	v->pid = pid;
	v->status = -1;
}

int vct_vcd_wait_exit(vct_vcd_t *v, unsigned ms)
{
	uint64_t deadline = vct_now_ms() + ms;
	int ws;

	if (v->pid == 0)
		return v->status;
	for (;;) {
		pid_t got = waitpid(v->pid, &ws, WNOHANG);
		if (got == v->pid) {
			v->status = decode_status(ws);
			v->pid = 0;
			return v->status;
		}
		if (got < 0 && errno != EINTR)
			fail_msg("waitpid(%d): %s", (int)v->pid, strerror(errno));
		if (left_ms(deadline) == 0)
			return -1;
		vct_sleep_ms(10);
	}
}

/* Poll GET path until it answers 200 or ms pass; false if vcd exits first. */
static bool wait_200(vct_vcd_t *v, const char *path, unsigned ms)
{
	uint64_t deadline = vct_now_ms() + ms;
	vct_resp_t r;

	while (left_ms(deadline) > 0) {
		if (vct_vcd_wait_exit(v, 0) != -1)
			return false;
		int st = vct_http_try(v->port, "GET", path, NULL, NULL, &r, 1000);
		vct_resp_free(&r);
		if (st == 200)
			return true;
		vct_sleep_ms(50);
	}
	return false;
}

/*
 * Started means ready: /readyz answers 200 only once every worker has a
 * database connection. A request that lands on a worker still connecting
 * is answered 503, so a test must not begin before that.
 */
vct_vcd_t *vct_vcd_start(const char *name, const char *db_url, const char *extra)
{
	vct_vcd_t *v = vct_vcd_new(name, db_url, extra);

	vct_vcd_spawn(v, NULL);
	if (!wait_200(v, "/readyz", START_MS)) {
		int st = vct_vcd_wait_exit(v, 0);
		vct_vcd_dump_log(v, LOG_TAIL);
		if (st == -1)
			fail_msg("vcd %s did not answer GET /readyz with 200 on port %d within %d ms",
			         name, v->port, START_MS);
		fail_msg("vcd %s exited with status %d before answering GET /readyz", name, st);
	}
	return v;
}

void vct_vcd_signal(vct_vcd_t *v, int sig)
{
	if (v->pid == 0 || vct_vcd_wait_exit(v, 0) != -1)
		fail_msg("vcd %s is not running (exit status %d); cannot send signal %d", v->name,
		         v->status, sig);
	if (kill(v->pid, sig) < 0)
		fail_msg("kill(%d, %d): %s", (int)v->pid, sig, strerror(errno));
}

int vct_vcd_stop(vct_vcd_t *v)
{
	if (v->pid == 0)
		return v->status;
	kill(v->pid, SIGTERM);
	if (vct_vcd_wait_exit(v, STOP_MS) != -1)
		return v->status;
	vct_vcd_dump_log(v, LOG_TAIL);
	vct_vcd_kill(v);
	fail_msg("vcd %s did not exit within %d ms of SIGTERM; killed it", v->name, STOP_MS);
	return -1;
}

void vct_vcd_stop_ok(vct_vcd_t *v)
{
	int st = vct_vcd_stop(v);

	if (st != 0) {
		vct_vcd_dump_log(v, LOG_TAIL);
		fail_msg("vcd %s exited with status %d after SIGTERM; expected 0", v->name, st);
	}
	if (!vct_vcd_log_clean(v))
		fail_msg("vcd %s logged a sanitizer report (above)", v->name);
}

/* What sanitizers print; UBSan's "runtime error" does not change the exit. */
static const char *const sanitizer_marks[] = {
	"runtime error:",         "ERROR: AddressSanitizer",  "ERROR: LeakSanitizer",
	"ERROR: ThreadSanitizer", "WARNING: ThreadSanitizer",
};

bool vct_vcd_log_clean(vct_vcd_t *v)
{
	char *text = vct_vcd_log(v);
	const char *hit = NULL;

	for (size_t i = 0; hit == NULL && i < sizeof(sanitizer_marks) / sizeof(char *); i++)
		hit = strstr(text, sanitizer_marks[i]);
	if (hit != NULL) {
		while (hit > text && hit[-1] != '\n')
			hit--;
		fprintf(stderr, "--- vcd %s: sanitizer report in %s:\n%.6000s\n--- end\n", v->name,
		        v->log_path, hit);
	}
	free(text);
	return hit == NULL;
}

int vct_vcd_finish(vct_vcd_t *v)
{
	int st = vct_vcd_stop(v);
	bool clean = vct_vcd_log_clean(v);

	if (st != 0) {
		vct_vcd_dump_log(v, LOG_TAIL);
		fprintf(stderr, "vcd %s exited with status %d after SIGTERM; expected 0\n", v->name,
		        st);
	}
	vct_vcd_free(v);
	return st == 0 && clean ? 0 : -1;
}

void vct_vcd_kill(vct_vcd_t *v)
{
	int ws;

	if (v->pid == 0)
		return;
	kill(v->pid, SIGKILL);
	if (waitpid(v->pid, &ws, 0) == v->pid)
		v->status = decode_status(ws);
	v->pid = 0;
}

void vct_vcd_keep(vct_vcd_t *v)
{
	v->keep = true;
}

void vct_vcd_free(vct_vcd_t *v)
{
	vct_vcd_t **p;

	if (v == NULL)
		return;
	vct_vcd_kill(v);
	for (p = &vct.vcds; *p != NULL; p = &(*p)->next) {
		if (*p == v) {
			*p = v->next;
			break;
		}
	}
	free(v->name);
	free(v->db_url);
	free(v->conf_path);
	free(v->log_path);
	free(v->admin_path);
	free(v);
}

char *vct_vcd_log(vct_vcd_t *v)
{
	char *text = vct_read_file(v->log_path, NULL);

	return text ? text : xstrdup("");
}

bool vct_vcd_log_has(vct_vcd_t *v, const char *needle)
{
	char *text = vct_vcd_log(v);
	bool found = strstr(text, needle) != NULL;

	free(text);
	return found;
}

bool vct_vcd_wait_log(vct_vcd_t *v, const char *needle, unsigned ms)
{
	uint64_t deadline = vct_now_ms() + ms;

	for (;;) {
		if (vct_vcd_log_has(v, needle))
			return true;
		if (left_ms(deadline) == 0)
			return false;
		vct_sleep_ms(20);
	}
}

unsigned vct_vcd_log_count(vct_vcd_t *v, const char *needle)
{
	char *text = vct_vcd_log(v);
	unsigned n = 0;

	for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	free(text);
	return n;
}

void vct_vcd_dump_log(vct_vcd_t *v, unsigned lines)
{
	char *text = vct_vcd_log(v);
	size_t len = strlen(text);
	const char *start = text + len;
	unsigned n = 0;

	if (len > 0 && text[len - 1] == '\n')
		start--;
	while (start > text && n < lines) {
		start--;
		if (*start == '\n' && ++n == lines) {
			start++;
			break;
		}
	}
	fprintf(stderr, "--- vcd %s (port %d, %s), last %u lines of %s:\n", v->name, v->port,
	        v->pid ? "running" : "stopped", lines, v->log_path);
	for (const char *l = start; *l != '\0';) {
		size_t n2 = strcspn(l, "\n");
		fprintf(stderr, "| %.*s\n", (int)n2, l);
		l += n2 + (l[n2] == '\n');
	}
	fprintf(stderr, "--- end of %s log\n", v->name);
	free(text);
}
