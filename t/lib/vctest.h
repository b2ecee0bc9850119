/*
 * vctest.h — the integration tests' client library: start the real vcd
 * against the real PostgreSQL that t/integration/run.sh started, talk to it
 * over real sockets, run its tools, and say what went wrong.
 *
 * Parts (each usable alone):
 *   environment  VCT_* variables from run.sh, temp paths, files, time
 *   database     a fresh database per test program, one-shot queries,
 *                stopping and starting the shared PostgreSQL cluster
 *   vcd          config file, start (waits for GET /healthz), stop (SIGTERM,
 *                bounded wait), exit status, its log
 *   commands     run a program (vcctl, vcd --flag) capturing output and status
 *   sockets      raw TCP connections with a receive buffer (for HTTP now and
 *                WebSocket later): connect, send, wait for bytes or EOF
 *   HTTP         read one response off a connection; vct_http() for one
 *                request on a fresh connection
 *   JSON         a response body parsed, compared, its members read
 * The first four are in vctest.c, sockets, HTTP and JSON in vctest_http.c.
 *
 * Every wait is bounded. Failures call cmocka's fail_msg(); a test run with
 * vct_setup/vct_teardown gets the log tail of every vcd it started printed
 * when it fails, fails when a vcd's log holds a sanitizer report, and any vcd
 * still running is killed afterwards. Every vcd is
 * also started with PR_SET_PDEATHSIG, so none outlives the test program.
 */
#ifndef VCTEST_H
#define VCTEST_H

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define VCT_PRINTF(f, a) __attribute__((format(printf, f, a)))

/* --- environment ---------------------------------------------------------- */

/* $name, or the test fails (run me through t/integration/run.sh). */
const char *vct_env(const char *name);
/* Monotonic milliseconds. */
uint64_t vct_now_ms(void);
void vct_sleep_ms(unsigned ms);
/* A malloc'd string, like asprintf (aborts on OOM). */
char *vct_strf(const char *fmt, ...) VCT_PRINTF(1, 2);
/* $VCT_TMPDIR/<name> (malloc'd). */
char *vct_tmp_path(const char *fmt, ...) VCT_PRINTF(1, 2);
/* Write (truncate) a file; fails the test on error. */
void vct_write_file(const char *path, const char *text);
/* The whole file, NUL-terminated (malloc'd), or NULL when it cannot be read. */
char *vct_read_file(const char *path, size_t *len);
/* A TCP port in 20000-32767 that can be bound on 127.0.0.1 now and that this
 * program has not handed out before. */
int vct_free_port(void);
/* True when running as root (for tests that need to change uid). */
bool vct_is_root(void);

/* --- test cases ----------------------------------------------------------- */

/* cmocka setup/teardown for a test case: the teardown prints the log tail of
 * every vcd started during the case unless vct_pass() was reached, fails
 * the case when one logged a sanitizer report, then kills and frees those
 * vcds (vcds marked with vct_vcd_keep stay) and closes the connections the
 * case left open. */
int vct_setup(void **state);
int vct_teardown(void **state);
/* Call at the end of a test case that got there. */
void vct_pass(void);

/* --- database ------------------------------------------------------------- */

/* CREATE DATABASE vct_<name>_<pid>[_<n>] and return its URL,
 * "postgresql:///DB?host=…&user=…" (malloc'd). */
char *vct_db_create(const char *name);
/* The first column of the first row of `sql` run on database `url`
 * (malloc'd), or NULL when there is no row; fails the test on an error. */
char *vct_db_value(const char *url, const char *sql);
/* The same with the statement made by printf(fmt, …). */
char *vct_db_valuef(const char *url, const char *fmt, ...) VCT_PRINTF(2, 3);
/* Stop (fast) / start the shared cluster ($VCT_PGDATA) as run.sh does;
 * both wait for pg_ctl (bounded). vct_pg_ensure_started() starts it again
 * if a test stopped it and failed before starting it (for teardowns). */
void vct_pg_stop(void);
void vct_pg_start(void);
void vct_pg_ensure_started(void);

/* --- vcd ------------------------------------------------------------------ */

typedef struct vct_vcd {
	char *name;
	char *db_url;
	char *conf_path;  /* $VCT_TMPDIR/<name>.conf */
	char *log_path;   /* $VCT_TMPDIR/<name>.log: its stdout and stderr */
	char *admin_path; /* $VCT_TMPDIR/<name>.sock */
	int port;         /* listen = 127.0.0.1:port */
	pid_t pid;        /* 0 when not running */
	int status;       /* exit code, 128 + signal, or -1 while running */
	bool keep;        /* survives vct_teardown (group-level instances) */
	struct vct_vcd *next;
} vct_vcd_t;

/*
 * Describe a vcd and write its config file: listen on a free port, workers =
 * 2, the database, migrations_dir = $VCT_SQLDIR, admin_socket in
 * $VCT_TMPDIR, log_level = info, then `extra` (lines "key = value\n"; later
 * lines override earlier ones). `name` must be unique in the test program.
 */
vct_vcd_t *vct_vcd_new(const char *name, const char *db_url, const char *extra);
/* Rewrite the config file with other `extra` lines (same port, database…). */
void vct_vcd_write_conf(vct_vcd_t *v, const char *extra);
/* Start `$VCD -c conf args…` (NULL-terminated, may be NULL) without waiting. */
void vct_vcd_spawn(vct_vcd_t *v, const char *const *args);
/* new + spawn + wait (10 s) until GET /readyz answers 200, i.e. every worker
 * has its database connection; fails the test with the log tail otherwise. */
vct_vcd_t *vct_vcd_start(const char *name, const char *db_url, const char *extra);
/* Wait up to `ms` for vcd to exit: its status, or -1 while it still runs. */
int vct_vcd_wait_exit(vct_vcd_t *v, unsigned ms);
/* Send a signal (fails the test when vcd is not running). */
void vct_vcd_signal(vct_vcd_t *v, int sig);
/* SIGTERM, wait up to 10 s, else SIGKILL and fail. Returns the exit status. */
int vct_vcd_stop(vct_vcd_t *v);
/* vct_vcd_stop and fail (with the log tail) unless it exited 0 with a
 * clean log (vct_vcd_log_clean). */
void vct_vcd_stop_ok(vct_vcd_t *v);
/* False (and the report printed) when its log holds a sanitizer report
 * (UBSan's are not fatal by default, so the exit status does not tell). */
bool vct_vcd_log_clean(vct_vcd_t *v);
/* For group teardowns: stop, check exit 0 and a clean log, free. 0 or -1
 * (with the log tail printed). */
int vct_vcd_finish(vct_vcd_t *v);
/* SIGKILL and reap, if running. */
void vct_vcd_kill(vct_vcd_t *v);
/* Keep across test cases (group setup); free with vct_vcd_free. */
void vct_vcd_keep(vct_vcd_t *v);
void vct_vcd_free(vct_vcd_t *v);
/* Its log so far (malloc'd, never NULL). */
char *vct_vcd_log(vct_vcd_t *v);
/* Does its log contain `needle`? Wait up to `ms` for it to appear. */
bool vct_vcd_log_has(vct_vcd_t *v, const char *needle);
bool vct_vcd_wait_log(vct_vcd_t *v, const char *needle, unsigned ms);
/* Occurrences of `needle` in its log. */
unsigned vct_vcd_log_count(vct_vcd_t *v, const char *needle);
/* Print the last `lines` lines of its log to stderr. */
void vct_vcd_dump_log(vct_vcd_t *v, unsigned lines);

/* --- a nats-server of the test's own ---------------------------------------- */

/* Start nats-server on 127.0.0.1:port (and its monitor on monitor_port
 * unless 0), its output appended to a file of $VCT_TMPDIR; it dies with
 * the test. With wait, return once it accepts connections (fail after
 * 10 s). Returns its pid. */
pid_t vct_nats_server_start(int port, int monitor_port, bool wait);
/* SIGKILL the server *pid (nothing when 0), reap it, set *pid to 0. */
void vct_nats_server_kill(pid_t *pid);

/* --- commands ------------------------------------------------------------- */

typedef struct vct_run_opts {
	const char *const *env; /* "NAME=value" sets, "NAME" unsets; NULL-terminated */
	uid_t uid;              /* with as_user: setgid(gid), setuid(uid) first */
	gid_t gid;
	bool as_user;
	unsigned timeout_ms; /* 0: 10 s; then SIGKILL and status -1 */
} vct_run_opts_t;

typedef struct vct_cmd {
	int status; /* exit code, 128 + signal, -1 when killed after the timeout */
	char *out;  /* stdout, NUL-terminated */
	char *err;  /* stderr, NUL-terminated */
} vct_cmd_t;

/* Run argv (no shell) with stdin from /dev/null; returns r->status. */
int vct_run(vct_cmd_t *r, const vct_run_opts_t *o, const char *const *argv);
/* The same with the arguments listed: vct_runl(&r, NULL, "vcctl", "status", NULL). */
int vct_runl(vct_cmd_t *r, const vct_run_opts_t *o, const char *arg0, ...)
        __attribute__((sentinel));
void vct_cmd_free(vct_cmd_t *r);
/* $VCCTL [--json] -s <v's admin socket> words… (NULL-terminated, at most 12). */
int vct_vcctl(vct_cmd_t *r, const vct_vcd_t *v, bool json, const char *const *words);
/* Fail the test unless the command exited `want` (its output printed). */
void vct_expect_exit(const vct_cmd_t *r, int want);
/* vcctl --json words…: exit 0 and its output parsed (any JSON). */
json_t *vct_vcctl_json(const vct_vcd_t *v, const char *const *words);
/* Lines of `text` that are not empty. */
unsigned vct_count_lines(const char *text);

/* --- sockets -------------------------------------------------------------- */

typedef struct vct_conn {
	int fd;
	char *buf; /* bytes received and not yet consumed */
	size_t len, cap;
	bool eof;              /* the peer closed (or reset) its side */
	bool reset;            /* ... with ECONNRESET */
	struct vct_conn *next; /* open connections; vct_teardown closes leftovers */
} vct_conn_t;

/* Connect to 127.0.0.1:port (fails the test after 5 s). The connection
 * stays open until vct_conn_close (or vct_teardown's vct_conn_close_all). */
vct_conn_t *vct_conn_open(int port);
/* Connect once: fd, or -1 with errno (ECONNREFUSED…). */
int vct_tcp_connect(int port);
/* Send all bytes; false when the peer is gone. */
bool vct_conn_send(vct_conn_t *c, const void *buf, size_t len);
bool vct_conn_sendf(vct_conn_t *c, const char *fmt, ...) VCT_PRINTF(2, 3);
/* Receive what is there within `ms` (at least one read when data is ready):
 * 1 bytes arrived, 0 timeout, -1 EOF (c->eof set). */
int vct_conn_recv(vct_conn_t *c, unsigned ms);
/* Wait up to `ms` for EOF, keeping bytes that arrive: true on EOF. */
bool vct_conn_wait_eof(vct_conn_t *c, unsigned ms);
/* Wait up to `ms` until the peer has read (read(2), not merely received)
 * every byte sent on c: our side has nothing unacknowledged and the peer's
 * socket nothing in its receive queue, as Linux's /proc/net/tcp shows them
 * (IPv4 only). For "vcd has seen this much of the request". True when so,
 * false after ms (also when the peer closed without reading). */
bool vct_conn_wait_peer_read(vct_conn_t *c, unsigned ms);
/* Wait up to `ms` until connecting to 127.0.0.1:port is refused (nobody
 * listens any more): true, or false when connections are still accepted. */
bool vct_tcp_wait_refused(int port, unsigned ms);
/* Drop the first n buffered bytes. */
void vct_conn_consume(vct_conn_t *c, size_t n);
void vct_conn_close(vct_conn_t *c);
void vct_conn_close_all(void);

/* --- HTTP ----------------------------------------------------------------- */

#define VCT_HTTP_MAX_HEADERS 64

typedef struct vct_resp {
	int status; /* 0 when no complete response arrived */
	char *head; /* status line and headers (NUL-separated once parsed) */
	char *body; /* NUL-terminated */
	size_t body_len;
	unsigned nheaders;
	const char *names[VCT_HTTP_MAX_HEADERS];
	const char *values[VCT_HTTP_MAX_HEADERS];
} vct_resp_t;

/*
 * Read one response from c: status line, headers, then Content-Length bytes
 * of body (none when `head_request`, for 1xx, 204 and 304). Returns true
 * with r filled, or false (r->status 0) when the connection closed or `ms`
 * passed first. Bytes after the response stay buffered (pipelining).
 */
bool vct_http_read(vct_conn_t *c, vct_resp_t *r, bool head_request, unsigned ms);
/* Value of the first header called `name` (case-insensitive), or NULL. */
const char *vct_resp_header(const vct_resp_t *r, const char *name);
/* Does header `name` contain `token` (case-insensitive substring)? */
bool vct_resp_header_has(const vct_resp_t *r, const char *name, const char *token);
void vct_resp_free(vct_resp_t *r);

/*
 * One request on a fresh connection (Host and Connection: close added;
 * Content-Length when body != NULL). `headers` is "Name: value\r\n"… or
 * NULL. Returns the status; fails the test when no response arrives in 5 s.
 */
int vct_http(int port, const char *method, const char *path, const char *headers, const char *body,
             vct_resp_t *r);
/* The same without failing: the status, or 0 when nothing answered in `ms`. */
int vct_http_try(int port, const char *method, const char *path, const char *headers,
                 const char *body, vct_resp_t *r, unsigned ms);
/* GET path: status only. */
int vct_http_get_status(int port, const char *path);

/* Value of a Prometheus sample (exact name with labels, e.g.
 * vcd_http_requests_total{code="200"}) in a /metrics body; -1 if absent. */
double vct_metric(const char *text, const char *sample);
/* GET /metrics and return one sample's value (-1 if absent). */
double vct_metric_get(int port, const char *sample);

/* POST /api/users/register on port: account `name` with e-mail `email` and
 * a fixed password; fails the test unless 201. Its id into id (VCT_ID_LEN
 * bytes) when id is not NULL. */
#define VCT_ID_LEN 40
void vct_register(int port, const char *name, const char *email, char *id);

/* --- JSON ----------------------------------------------------------------- */

/* r's body parsed as JSON (any type; the caller decrefs); fails the test,
 * showing the body, when it is not JSON. */
json_t *vct_resp_json(const vct_resp_t *r);
/* Fail unless r has `status`, a Content-Type of application/json and a body
 * equal as JSON (same members and values, any order) to the JSON text `want`. */
void vct_expect_json(const vct_resp_t *r, int status, const char *want);
/* Member `key` of object o; fails the test (naming the key and showing o)
 * when it is absent or of another type. */
const char *vct_json_str(const json_t *o, const char *key);
json_int_t vct_json_int(const json_t *o, const char *key);
bool vct_json_bool(const json_t *o, const char *key);

#endif
