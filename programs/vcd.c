/*
 * vcd.c — the daemon: read the configuration, apply migrations, open the
 * sockets, start the workers, then wait for signals on the main thread.
 *
 * Who does what:
 *   runtime/   actors on worker threads, timers, config, logging,
 *              PostgreSQL connections, the NATS bridge
 *   wire/      what crosses a wire: HTTP/1.1, WebSocket, JWT, protobuf
 *              packets, the admin protocol and its socket
 *   actors/    the request handlers and the domain: accounts, meetings,
 *              media rooms and their participants
 * This file only wires them together and owns the process-wide state (start
 * time, draining, reload); t/check-layers.sh keeps the includes pointing
 * one way (programs → actors → wire → runtime).
 */
#include "buildinfo.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "actors/admin_cmds.h"
#include "actors/auth.h"
#include "actors/lobby.h"
#include "actors/signal.h"
#include "actors/meetings.h"
#include "actors/password.h"
#include "actors/routes.h"
#include "wire/admin.h"
#include "runtime/config.h"
#include "runtime/log.h"
#include "runtime/nats.h"
#include "runtime/offload.h"
#include "runtime/pg.h"
#include "runtime/server.h"
#include "runtime/worker.h"
#include "wire/client_addr.h"
#include "wire/http.h"
#include "wire/signal_msg.h"
#include "wire/ws.h"

extern char **environ;

static struct {
	const char *config_path; /* NULL: no file */
	char **overrides;        /* --key=value */
	size_t noverrides;
	char *conninfo; /* database_url with hosts resolved */
	int *listen_fds;
	uint64_t started_ms;
	_Atomic bool draining;
	pthread_mutex_t reload_mu;
	struct ev_loop *loop; /* the main thread's */
	ev_signal sig_term, sig_int, sig_hup;
	ev_timer drain_check;
	ev_async drain_req;
	double drain_started;
} vcd = { .reload_mu = PTHREAD_MUTEX_INITIALIZER };

/* Keys whose syntax belongs to another module: checked here, at start and
 * on every reload, with the same message shape as config errors. */
static int check_more(const vc_config_t *cfg, char *err, size_t errlen)
{
	char why[256];
	vc_netlist_t *l = vc_netlist_parse(cfg->trusted_proxies, why, sizeof(why));

	if (l == NULL) {
		snprintf(err, errlen, "trusted_proxies: %s", why);
		return -1;
	}
	vc_netlist_free(l);
	return vc_nats_check_url(cfg->nats_url, err, errlen);
}

/* --- the process-wide operations (server.h) ------------------------------- */

double vc_server_uptime(void)
{
	return (double)(vc_now_ms() - vcd.started_ms) / 1000.0;
}

bool vc_server_draining(void)
{
	return atomic_load(&vcd.draining);
}

void vc_server_drain(void)
{
	ev_async_send(vcd.loop, &vcd.drain_req); /* the main thread starts it */
}

json_t *vc_server_status(void)
{
	vc_pg_stats_t p = { 0 };

	vc_pg_stats_sum(&p);
	return json_pack("{s:i,s:s,s:f,s:i,s:I,s:b,s:{s:I,s:i}}", "pid", (int)getpid(), "version",
	                 PACKAGE_VERSION, "uptime_s", vc_server_uptime(), "workers",
	                 (int)vc_runtime_nworkers(), "connections",
	                 (json_int_t)vc_http_connections(), "draining", vc_server_draining(),
	                 "database", "connected", (json_int_t)atomic_load(&p.connected),
	                 "pool_size", (int)(vc_runtime_nworkers() * vc_config_get()->db_pool_size));
}

json_t *vc_server_stats(void)
{
	vc_http_stats_t h;
	vc_pg_stats_t p = { 0 };
	json_t *workers = json_array();

	vc_http_stats_sum(&h);
	vc_pg_stats_sum(&p);
	for (unsigned i = 0; i < vc_runtime_nworkers(); i++) {
		vc_worker_stats_t *s = vc_worker_stats(vc_runtime_worker(i));
		json_array_append_new(workers,
		                      json_pack("{s:i,s:I,s:I,s:I,s:I}", "worker", (int)i, "actors",
		                                (json_int_t)atomic_load(&s->actors),
		                                "mailbox_depth",
		                                (json_int_t)atomic_load(&s->queued), "messages",
		                                (json_int_t)atomic_load(&s->handled), "loops",
		                                (json_int_t)atomic_load(&s->loops)));
	}
	return json_pack("{s:{s:I,s:I,s:I,s:I,s:I,s:I,s:I},s:{s:I,s:I,s:I,s:I,s:I},s:o,s:I}",
	                 "http", "connections", (json_int_t)h.connections, "accepted",
	                 (json_int_t)h.accepted, "refused", (json_int_t)h.refused, "timeouts",
	                 (json_int_t)h.timeouts, "requests", (json_int_t)h.requests,
	                 "responses_4xx", (json_int_t)h.by_status[4], "responses_5xx",
	                 (json_int_t)h.by_status[5], "database", "connected",
	                 (json_int_t)atomic_load(&p.connected), "queries",
	                 (json_int_t)atomic_load(&p.queries), "errors",
	                 (json_int_t)atomic_load(&p.errors), "unavailable",
	                 (json_int_t)atomic_load(&p.unavailable), "reconnects",
	                 (json_int_t)atomic_load(&p.reconnects), "workers", workers,
	                 "log_lines_dropped", (json_int_t)vc_log_dropped());
}

typedef struct retire {
	vc_config_t *old;
	_Atomic unsigned left;
} retire_t;

/* Each worker passes here between callbacks: none holds the old snapshot. */
static void retire_pass(vc_worker_t *w, void *arg)
{
	retire_t *r = arg;

	if (atomic_fetch_sub(&r->left, 1) == 1) {
		vc_config_free(r->old);
		free(r);
	}
}

int vc_server_reload(json_t **report, char *err, size_t errlen)
{
	vc_config_t *next;
	json_t *applied = json_array(), *restart = json_array();

	pthread_mutex_lock(&vcd.reload_mu);
	next = vc_config_load(vcd.config_path, vcd.overrides, vcd.noverrides, environ, err, errlen);
	if (next != NULL && check_more(next, err, errlen) < 0) {
		vc_config_free(next);
		next = NULL;
	}
	if (next == NULL) {
		pthread_mutex_unlock(&vcd.reload_mu);
		json_decref(applied);
		json_decref(restart);
		log_error("reload failed, configuration unchanged: %s", err);
		return -1;
	}
	vc_config_diff(vc_config_get(), next, applied, restart);
	vc_log_set_level(next->log_level);
	retire_t *r = vc_malloc(sizeof(*r));
	r->old = vc_config_publish(next);
	atomic_init(&r->left, vc_runtime_nworkers());
	vc_runtime_call_all(retire_pass, r);
	pthread_mutex_unlock(&vcd.reload_mu);
	log_info("configuration reloaded: %zu keys applied, %zu need a restart",
	         json_array_size(applied), json_array_size(restart));
	*report = json_pack("{s:o,s:o}", "applied", applied, "restart_needed", restart);
	return 0;
}

/* --- workers -------------------------------------------------------------- */

static void worker_start(vc_worker_t *w, void *arg)
{
	const vc_config_t *cfg = vc_config_get();

	vc_pg_worker_start(w, vcd.conninfo, cfg->db_pool_size);
	vc_auth_worker_start(w);
	vc_ws_worker_start(w);
	vc_lobby_worker_start(w);
	vc_signal_worker_start(w);
	vc_http_worker_start(w, vcd.listen_fds[vc_worker_index(w)], vc_routes_handle);
	if (vc_worker_index(w) == 0)
		vc_admin_attach(w);
}

static void worker_stop(vc_worker_t *w, void *arg)
{
	vc_http_worker_stop(w);
	vc_ws_worker_stop(w); /* participants leave their rooms */
	vc_lobby_worker_stop(w);
	vc_signal_worker_stop(w);
	vc_pg_worker_stop(w);
	vc_auth_worker_stop(w);
	vc_meetings_worker_stop(w);
}

static void worker_drain(vc_worker_t *w, void *arg)
{
	vc_http_worker_drain(w);
	vc_ws_worker_drain(w); /* close 1001 after what is queued */
}

/* --- signals and shutdown ------------------------------------------------- */

static void notify_systemd(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (path == NULL || (path[0] != '/' && path[0] != '@') ||
	    strlen(path) >= sizeof(sa.sun_path))
		return;
	memcpy(sa.sun_path, path, strlen(path));
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa,
	           (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path))) < 0)
		log_warn("systemd notification failed: %s", strerror(errno));
	close(fd);
}

static void on_drain_check(struct ev_loop *loop, ev_timer *t, int revents)
{
	int64_t open = vc_http_connections();
	double waited = ev_now(loop) - vcd.drain_started;

	if (open == 0) {
		log_info("drained: no connections left");
		ev_break(loop, EVBREAK_ALL);
	} else if (waited >= vc_config_get()->shutdown_timeout) {
		log_warn(
		        "shutdown_timeout (%.1fs) reached with %lld connections open; closing them",
		        vc_config_get()->shutdown_timeout, (long long)open);
		ev_break(loop, EVBREAK_ALL);
	}
}

static void start_drain(struct ev_loop *loop)
{
	if (atomic_exchange(&vcd.draining, true))
		return;
	notify_systemd("STOPPING=1");
	log_info("draining: no new connections; waiting up to %.1fs for %lld open ones",
	         vc_config_get()->shutdown_timeout, (long long)vc_http_connections());
	vcd.drain_started = ev_now(loop);
	vc_runtime_call_all(worker_drain, NULL);
	ev_timer_init(&vcd.drain_check, on_drain_check, 0.02, 0.05);
	ev_timer_start(loop, &vcd.drain_check);
}

static void on_drain_req(struct ev_loop *loop, ev_async *a, int revents)
{
	start_drain(loop);
}

static void on_stop_signal(struct ev_loop *loop, ev_signal *s, int revents)
{
	if (vc_server_draining()) {
		log_warn("second stop signal: exiting now");
		ev_break(loop, EVBREAK_ALL);
		return;
	}
	log_info("signal %d: shutting down", s->signum);
	start_drain(loop);
}

static void on_hup(struct ev_loop *loop, ev_signal *s, int revents)
{
	char err[512];
	json_t *report = NULL;

	if (vc_server_reload(&report, err, sizeof(err)) == 0)
		json_decref(report);
}

/* --- command line --------------------------------------------------------- */

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: vcd [-c FILE] [--KEY=VALUE ...] [--check-config | --migrate-only]\n"
	        "       vcd --list-keys | --list-routes | --list-messages | --version | --help\n"
	        "\n"
	        "  -c, --config FILE  configuration file (default %s if it exists)\n"
	        "  --KEY=VALUE        set any configuration key (see vcd.conf(5))\n"
	        "  --check-config     validate the configuration and exit\n"
	        "  --migrate-only     apply database migrations and exit\n"
	        "  --list-keys        print the configuration keys\n"
	        "  --list-routes      print the HTTP routes\n"
	        "  --list-messages    print the /ws message types and their direction\n",
	        vc_config_default_path());
}

enum mode { RUN, CHECK_CONFIG, MIGRATE_ONLY };

static int parse_args(int argc, char **argv, enum mode *mode)
{
	vcd.overrides = vc_calloc((size_t)argc, sizeof(char *));
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) {
			if (++i == argc)
				return -1;
			vcd.config_path = argv[i];
		} else if (strncmp(a, "--config=", 9) == 0) {
			vcd.config_path = a + 9;
		} else if (strcmp(a, "--check-config") == 0) {
			*mode = CHECK_CONFIG;
		} else if (strcmp(a, "--migrate-only") == 0) {
			*mode = MIGRATE_ONLY;
		} else if (strcmp(a, "--list-keys") == 0) {
			vc_config_print_keys(stdout);
			exit(0);
		} else if (strcmp(a, "--list-messages") == 0) {
			vc_sig_print_table(stdout);
			exit(0);
		} else if (strcmp(a, "--list-routes") == 0) {
			vc_routes_print(stdout);
			exit(0);
		} else if (strcmp(a, "--version") == 0) {
			printf("vcd %s (%s)\n", PACKAGE_VERSION, VC_GIT_SHA);
			exit(0);
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			exit(0);
		} else if (strncmp(a, "--", 2) == 0 && strchr(a, '=') != NULL) {
			vcd.overrides[vcd.noverrides++] = argv[i] + 2;
		} else {
			fprintf(stderr, "vcd: unknown argument '%s'\n", a);
			return -1;
		}
	}
	if (vcd.config_path == NULL && access(vc_config_default_path(), R_OK) == 0)
		vcd.config_path = vc_config_default_path();
	return 0;
}

static int fail(const char *what, const char *err)
{
	fprintf(stderr, "vcd: %s%s%s\n", what, *what ? ": " : "", err);
	return 1;
}

/* Everything before the workers: config, database, sockets. */
static int prepare(enum mode mode, const vc_config_t **out)
{
	char err[1024];
	vc_config_t *cfg;
	int applied;

	cfg = vc_config_load(vcd.config_path, vcd.overrides, vcd.noverrides, environ, err,
	                     sizeof(err));
	if (cfg == NULL || check_more(cfg, err, sizeof(err)) < 0) {
		vc_config_free(cfg);
		return fail("configuration error", err);
	}
	vc_config_publish(cfg);
	vc_log_set_level(cfg->log_level);
	if (mode == CHECK_CONFIG) {
		printf("vcd: configuration OK (%s)\n",
		       vcd.config_path ? vcd.config_path : "no file; defaults and environment");
		return -1;
	}
	vcd.conninfo = vc_pg_resolve(cfg->database_url, err, sizeof(err));
	if (vcd.conninfo == NULL)
		return fail("", err);
	applied = vc_pg_migrate(vcd.conninfo, cfg->migrations_dir, err, sizeof(err));
	if (applied < 0)
		return fail("database migration failed", err);
	log_info("database schema up to date (%d migrations applied now)", applied);
	if (mode == MIGRATE_ONLY)
		return -1;
	/* Connects in the background: startup neither waits for nor fails on NATS. */
	if (vc_nats_start(cfg->nats_url, cfg->nats_publish_queue, err, sizeof(err)) < 0)
		return fail("configuration error", err);
	if (vc_auth_subscribe() != 0)
		return fail("", "cannot subscribe to session revocations on NATS");
	if (vc_lobby_init() != 0)
		return fail("", "cannot subscribe to room coordination (vcd.rooms.*) on NATS");
	vcd.listen_fds = vc_calloc(cfg->workers, sizeof(int));
	if (vc_http_listen(cfg->listen, cfg->workers, vcd.listen_fds, err, sizeof(err)) < 0)
		return fail("", err);
	vc_admin_cmds_register();
	if (vc_admin_listen(cfg->admin_socket, err, sizeof(err)) < 0)
		return fail("", err);
	*out = cfg;
	return 0;
}

/* Every WebSocket is a file descriptor: take all the open files the hard
 * limit allows, and say how many that is. */
static void raise_nofile(void)
{
	struct rlimit rl;
	rlim_t was;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	was = rl.rlim_cur;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			rl.rlim_cur = was;
	}
	log_info("open files: soft limit %llu (was %llu), hard limit %llu; each connection "
	         "takes one, max_connections is %u",
	         (unsigned long long)rl.rlim_cur, (unsigned long long)was,
	         (unsigned long long)rl.rlim_max, vc_config_get()->max_connections);
	if (rl.rlim_cur < (rlim_t)vc_config_get()->max_connections + 64)
		log_warn("max_connections (%u) is above what the open-file limit (%llu) allows; "
		         "raise the hard limit (LimitNOFILE= in systemd, ulimit -Hn)",
		         vc_config_get()->max_connections, (unsigned long long)rl.rlim_cur);
}

static void watch_signals(void)
{
	vcd.loop = ev_default_loop(EVFLAG_AUTO);
	ev_signal_init(&vcd.sig_term, on_stop_signal, SIGTERM);
	ev_signal_init(&vcd.sig_int, on_stop_signal, SIGINT);
	ev_signal_init(&vcd.sig_hup, on_hup, SIGHUP);
	ev_signal_start(vcd.loop, &vcd.sig_term);
	ev_signal_start(vcd.loop, &vcd.sig_int);
	ev_signal_start(vcd.loop, &vcd.sig_hup);
	ev_async_init(&vcd.drain_req, on_drain_req);
	ev_async_start(vcd.loop, &vcd.drain_req);
}

int main(int argc, char **argv)
{
	enum mode mode = RUN;
	const vc_config_t *cfg = NULL;
	vc_worker_hooks_t hooks = { .start = worker_start, .stop = worker_stop };
	int rc;

	signal(SIGPIPE, SIG_IGN);
	vcd.started_ms = vc_now_ms();
	if (vc_password_init() != 0)
		return fail("", "cannot initialise libsodium");
	if (parse_args(argc, argv, &mode) < 0) {
		usage(stderr);
		return 2;
	}
	vc_routes_init();
	rc = prepare(mode, &cfg);
	if (rc != 0)
		return rc < 0 ? 0 : rc;
	/* Signals must be watched before the workers exist (they block them). */
	watch_signals();
	vc_log_start();
	raise_nofile();
	if (vc_offload_start(cfg->offload_threads) != 0)
		return fail("cannot start offload threads", strerror(errno));
	if (vc_runtime_start(cfg->workers, &hooks) != 0)
		return fail("cannot start workers", strerror(errno));
	log_info("vcd %s listening on %s with %u workers; admin socket %s", PACKAGE_VERSION,
	         cfg->listen, cfg->workers, cfg->admin_socket);
	notify_systemd("READY=1");
	ev_run(vcd.loop, 0);
	vc_runtime_stop();
	vc_nats_stop();
	vc_offload_stop();
	vc_admin_close();
	log_info("vcd stopped");
	vc_log_stop();
	vc_config_free(vc_config_publish(NULL));
	free(vcd.conninfo);
	free(vcd.listen_fds);
	free(vcd.overrides);
	return 0;
}
