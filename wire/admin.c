/*
 * admin.c — the admin socket server: listen (main thread), accept on worker
 * loops, check the peer's uid, read one request line, dispatch it to the
 * registered handler, write one response line, close.
 *
 * A connection is a vc_admin_req_t and lives on the worker that accepted it.
 * Its states:
 *   READING   reading the request line (10 s timer)
 *   HANDLING  the handler has it; the fd is watched only to notice a client
 *             that hangs up (then the fd is closed, the object stays until
 *             the answer arrives and is then freed)
 *   WRITING   writing the response line (10 s timer), then freed
 * Handlers answer exactly once, from any thread; an answer from another
 * thread travels to the connection's worker with vc_worker_call().
 *
 * Shutdown order: vc_admin_close() runs on the main thread after the
 * workers have stopped (vc_runtime_stop), since it frees per-worker state.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* accept4, struct ucred (the build also passes -D_GNU_SOURCE) */
#endif
#include "wire/admin.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "runtime/log.h"
#include "wire/admin_proto.h"

#define ADMIN_TIMEOUT 10.0 /* seconds to send a request / take the answer */
#define ADMIN_BACKLOG 64
#define ADMIN_MAX_CONNS 64 /* open admin connections per worker */
#define ADMIN_MAX_TABLES 16
#define ADMIN_BUF_START 512
#define ADMIN_ACCEPT_BATCH 16

typedef struct admin_worker admin_worker_t;

enum conn_state { C_READING, C_HANDLING, C_WRITING };

struct vc_admin_req {
	ev_io io;
	ev_timer timer;
	admin_worker_t *aw;
	vc_worker_t *w; /* home worker; immutable */
	int fd;         /* -1 once the client is gone */
	enum conn_state state;
	bool eof;         /* the client half-closed after its request */
	bool dispatching; /* inside the handler call on the home thread */
	bool ready;       /* the answer line is in buf */
	_Atomic bool answered;
	const vc_admin_verb_t *verb; /* NULL until looked up */
	char *buf;                   /* request bytes, later the response line */
	size_t len, cap, off;
	char **words; /* parsed request; argv points into it */
	uid_t uid;
	pid_t pid;
	char ctx[40]; /* log context, "admin#7 uid 1000" */
	vc_admin_req_t *prev, *next;
};

struct admin_worker {
	ev_io accept_io;
	ev_timer pause; /* accept paused after EMFILE and friends */
	vc_worker_t *w;
	vc_admin_req_t *conns;
	unsigned nconns;
	admin_worker_t *next;
};

static struct {
	int fd;
	char *path;
	pthread_mutex_t mu; /* guards workers */
	admin_worker_t *workers;
	const vc_admin_cmd_t *tabs[ADMIN_MAX_TABLES];
	size_t ntabs[ADMIN_MAX_TABLES];
	unsigned ntab;
	_Atomic unsigned next_id;
} admin = { .fd = -1, .mu = PTHREAD_MUTEX_INITIALIZER };

/* ---- handler registry -------------------------------------------------- */

static const vc_admin_verb_t *proto_verb(const char *words)
{
	size_t n;
	const vc_admin_verb_t *v = vc_admin_verbs(&n);

	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].words, words) == 0)
			return &v[i];
	return NULL;
}

static vc_admin_fn find_handler(const char *words)
{
	for (unsigned t = 0; t < admin.ntab; t++)
		for (size_t i = 0; i < admin.ntabs[t]; i++)
			if (strcmp(admin.tabs[t][i].verb, words) == 0)
				return admin.tabs[t][i].fn;
	return NULL;
}

void vc_admin_register(const vc_admin_cmd_t *cmds, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const vc_admin_verb_t *v = proto_verb(cmds[i].verb);
		if (v == NULL || (v->flags & VC_ADMIN_LOCAL))
			vc_fatal("admin handler for '%s', which is not a vcd verb in "
			         "wire/admin_proto.c",
			         cmds[i].verb);
		if (find_handler(cmds[i].verb) != NULL)
			vc_fatal("two admin handlers for '%s'", cmds[i].verb);
	}
	if (admin.ntab == ADMIN_MAX_TABLES)
		vc_fatal("more than %d admin handler tables", ADMIN_MAX_TABLES);
	admin.tabs[admin.ntab] = cmds;
	admin.ntabs[admin.ntab++] = n;
}

/* ---- connection lifetime ----------------------------------------------- */

static void conn_free(vc_admin_req_t *c)
{
	struct ev_loop *loop = vc_worker_loop(c->w);

	ev_io_stop(loop, &c->io);
	ev_timer_stop(loop, &c->timer);
	if (c->fd >= 0)
		close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		c->aw->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->aw->nconns--;
	free(c->buf);
	vc_admin_words_free(c->words);
	free(c);
}

/* Watch the fd for `events` (0: not at all) and (re)arm or stop the timer. */
static void conn_watch(vc_admin_req_t *c, int events, bool timed)
{
	struct ev_loop *loop = vc_worker_loop(c->w);

	ev_io_stop(loop, &c->io);
	if (events != 0 && c->fd >= 0) {
		ev_io_set(&c->io, c->fd, events);
		ev_io_start(loop, &c->io);
	}
	ev_timer_stop(loop, &c->timer);
	if (timed) {
		ev_timer_set(&c->timer, ADMIN_TIMEOUT, 0.);
		ev_timer_start(loop, &c->timer);
	}
}

/* WRITING: push the response line out; free the connection when done. */
static void conn_write(vc_admin_req_t *c)
{
	while (c->off < c->len) {
		ssize_t n = send(c->fd, c->buf + c->off, c->len - c->off, MSG_NOSIGNAL);
		if (n > 0) {
			c->off += (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (!ev_is_active(&c->io))
				conn_watch(c, EV_WRITE, true);
			return;
		} else {
			log_debug("admin: client went away before the answer was sent: %s",
			          strerror(errno));
			break;
		}
	}
	conn_free(c);
}

static void conn_start_write(vc_admin_req_t *c)
{
	if (c->fd < 0) {
		conn_free(c); /* the client hung up while the handler worked */
		return;
	}
	c->state = C_WRITING;
	conn_watch(c, 0, true);
	conn_write(c);
}

/* On the home thread: the answer line is ready (takes ownership of line). */
static void conn_deliver(vc_admin_req_t *c, char *line, size_t len)
{
	free(c->buf);
	c->buf = line;
	c->len = len;
	c->off = 0;
	c->ready = true;
	if (!c->dispatching) /* else dispatch() writes once the handler returned */
		conn_start_write(c);
}

typedef struct admin_answer {
	vc_admin_req_t *req;
	char *line;
	size_t len;
} admin_answer_t;

static void answer_on_home(vc_worker_t *w, void *arg)
{
	admin_answer_t *a = arg;

	conn_deliver(a->req, a->line, a->len);
	free(a);
}

/* From any thread: route an encoded answer to the connection's worker. */
static void conn_answer(vc_admin_req_t *c, char *line, size_t len)
{
	admin_answer_t *a;

	if (atomic_exchange(&c->answered, true)) {
		log_error("admin: '%s' answered twice; the second answer is dropped",
		          c->verb ? c->verb->words : "?");
		free(line);
		return;
	}
	if (vc_worker_self() == c->w) {
		conn_deliver(c, line, len);
		return;
	}
	a = vc_malloc(sizeof(*a));
	a->req = c;
	a->line = line;
	a->len = len;
	vc_worker_call(c->w, answer_on_home, a);
}

static void conn_error(vc_admin_req_t *c, const char *msg)
{
	size_t len;
	char *line = vc_admin_response_error(msg, &len);

	conn_answer(c, line, len);
}

void vc_admin_reply(vc_admin_req_t *req, json_t *result)
{
	size_t len;
	char *line = vc_admin_response_ok(result, &len);

	conn_answer(req, line, len);
}

void vc_admin_fail(vc_admin_req_t *req, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_info("admin: '%s' failed: %s", req->verb ? req->verb->words : "?", msg);
	conn_error(req, msg);
}

/* ---- request handling -------------------------------------------------- */

/* Parse and look up the request: its handler, or NULL once an error answer
 * is on its way. */
static vc_admin_fn lookup(vc_admin_req_t *c, size_t linelen, vc_admin_match_t *m)
{
	char err[512];
	size_t n;
	vc_admin_fn fn;

	if (vc_admin_request_parse(c->buf, linelen, &c->words, &n, err, sizeof(err)) < 0) {
		/* The parser's message may quote the input: keep it out of the log. */
		log_info("admin: uid %u: rejected a malformed request of %zu bytes",
		         (unsigned)c->uid, linelen);
		conn_error(c, err);
		return NULL;
	}
	if (vc_admin_verb_find(c->words, n, m, err, sizeof(err)) < 0) {
		/* Quotes command words only, never a known verb's arguments. */
		log_info("admin: uid %u: rejected: %s", (unsigned)c->uid, err);
		conn_error(c, err);
		return NULL;
	}
	c->verb = m->verb;
	fn = find_handler(m->verb->words);
	if (fn == NULL) {
		snprintf(err, sizeof(err),
		         (m->verb->flags & VC_ADMIN_LOCAL)
		                 ? "'%s' is answered by vcctl itself, not by vcd"
		                 : "'%s' is not implemented by this vcd",
		         m->verb->words);
		conn_error(c, err);
	}
	return fn;
}

/* Call the request's handler. `c` may be gone on return. */
static void dispatch(vc_admin_req_t *c, size_t linelen)
{
	vc_admin_match_t m;
	vc_admin_fn fn = lookup(c, linelen, &m);

	if (fn == NULL)
		return;
	log_info("admin: uid %u pid %d: %s", (unsigned)c->uid, (int)c->pid, m.verb->words);
	vc_log_set_context(c->ctx);
	c->dispatching = true;
	fn(c, m.argc, (char **)m.argv);
	c->dispatching = false;
	vc_log_set_context(NULL);
	if (c->ready)
		conn_start_write(c); /* the handler answered before returning */
}

/* A whole request line (or EOF) arrived: stop reading it, handle it. */
static void conn_request(vc_admin_req_t *c, size_t linelen)
{
	c->state = C_HANDLING;
	/* Keep watching for a hang-up unless the client already half-closed. */
	conn_watch(c, c->eof ? 0 : EV_READ, false);
	dispatch(c, linelen);
}

/* Grow the request buffer; false when it is already at the line limit. */
static bool conn_grow(vc_admin_req_t *c)
{
	if (c->cap >= VC_ADMIN_LINE_MAX)
		return false;
	c->cap = c->cap ? c->cap * 2 : ADMIN_BUF_START;
	if (c->cap > VC_ADMIN_LINE_MAX)
		c->cap = VC_ADMIN_LINE_MAX;
	c->buf = vc_realloc(c->buf, c->cap);
	return true;
}

static void conn_read(vc_admin_req_t *c)
{
	char err[128];

	for (;;) {
		if (c->len == c->cap && !conn_grow(c)) {
			snprintf(err, sizeof(err), "request line is longer than %d bytes",
			         VC_ADMIN_LINE_MAX);
			conn_error(c, err);
			return;
		}
		ssize_t n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
		if (n > 0) {
			char *nl = memchr(c->buf + c->len, '\n', (size_t)n);
			c->len += (size_t)n;
			if (nl != NULL) {
				conn_request(c, (size_t)(nl - c->buf) + 1);
				return;
			}
		} else if (n == 0 && c->len > 0) {
			c->eof = true; /* "printf '[...]' | socat": EOF ends the line */
			conn_request(c, c->len);
			return;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			return;
		} else {
			conn_free(c);
			return;
		}
	}
}

/*
 * HANDLING: discard stray input. EOF may be a half-close (the client still
 * waits for its answer: stop watching) or a hang-up (POLLHUP, or an error:
 * the client is gone, release the fd now).
 */
static void conn_check_hangup(vc_admin_req_t *c)
{
	char scratch[256];
	ssize_t n = recv(c->fd, scratch, sizeof(scratch), 0);
	struct pollfd p = { .fd = c->fd };

	if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)))
		return;
	if (n == 0 && !(poll(&p, 1, 0) == 1 && (p.revents & POLLHUP))) {
		c->eof = true;
		conn_watch(c, 0, false);
		return;
	}
	log_debug("admin: client hung up while '%s' was running", c->verb ? c->verb->words : "?");
	conn_watch(c, 0, false);
	close(c->fd);
	c->fd = -1;
}

static void conn_io_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	vc_admin_req_t *c = vc_container_of(io, vc_admin_req_t, io);

	switch (c->state) {
	case C_READING: conn_read(c); break;
	case C_HANDLING: conn_check_hangup(c); break;
	case C_WRITING: conn_write(c); break;
	}
}

static void conn_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	vc_admin_req_t *c = vc_container_of(t, vc_admin_req_t, timer);
	char err[128];

	if (c->state == C_WRITING) {
		log_debug("admin: client did not take its answer within %.0f s", ADMIN_TIMEOUT);
		conn_free(c);
		return;
	}
	log_info("admin: uid %u sent no complete request within %.0f s", (unsigned)c->uid,
	         ADMIN_TIMEOUT);
	snprintf(err, sizeof(err), "no complete request line within %.0f s", ADMIN_TIMEOUT);
	conn_error(c, err);
}

/* ---- accepting --------------------------------------------------------- */

/* Best effort: a one-line error to a socket we are about to close. */
static void refuse(int fd, const char *msg)
{
	size_t len;
	char *line = vc_admin_response_error(msg, &len);

	if (send(fd, line, len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		log_debug("admin: could not send the refusal: %s", strerror(errno));
	free(line);
	close(fd);
}

/* The peer's credentials; false (and fd closed) when it may not talk to us. */
static bool peer_allowed(admin_worker_t *aw, int fd, struct ucred *cr)
{
	socklen_t sl = sizeof(*cr);
	char msg[160];
	uid_t me = geteuid();

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cr, &sl) < 0) {
		log_warn("admin: cannot read the peer's credentials: %s", strerror(errno));
		close(fd);
		return false;
	}
	if (cr->uid != me && cr->uid != 0) {
		if (me == 0)
			snprintf(msg, sizeof(msg),
			         "permission denied: uid %u may not use the "
			         "admin socket (only root)",
			         (unsigned)cr->uid);
		else
			snprintf(msg, sizeof(msg),
			         "permission denied: uid %u may not use the "
			         "admin socket (only uid %u or root)",
			         (unsigned)cr->uid, (unsigned)me);
		log_warn("admin: refused uid %u pid %d: only uid %u or root may use the admin "
		         "socket",
		         (unsigned)cr->uid, (int)cr->pid, (unsigned)me);
		refuse(fd, msg);
		return false;
	}
	if (aw->nconns >= ADMIN_MAX_CONNS) {
		log_warn("admin: refused pid %d: %d admin connections are already open",
		         (int)cr->pid, ADMIN_MAX_CONNS);
		refuse(fd, "too many admin connections at once; try again");
		return false;
	}
	return true;
}

static void conn_new(admin_worker_t *aw, int fd)
{
	struct ucred cr;
	vc_admin_req_t *c;

	if (!peer_allowed(aw, fd, &cr))
		return;
	c = vc_calloc(1, sizeof(*c));
	c->aw = aw;
	c->w = aw->w;
	c->fd = fd;
	c->state = C_READING;
	c->uid = cr.uid;
	c->pid = cr.pid;
	snprintf(c->ctx, sizeof(c->ctx), "admin#%u uid %u", atomic_fetch_add(&admin.next_id, 1),
	         (unsigned)cr.uid);
	ev_init(&c->io, conn_io_cb);
	ev_init(&c->timer, conn_timer_cb);
	c->next = aw->conns;
	if (aw->conns)
		aw->conns->prev = c;
	aw->conns = c;
	aw->nconns++;
	conn_watch(c, EV_READ, true);
}

static void accept_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	admin_worker_t *aw = vc_container_of(io, admin_worker_t, accept_io);

	for (int i = 0; i < ADMIN_ACCEPT_BATCH; i++) {
		int fd = accept4(io->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			conn_new(aw, fd);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		log_warn("admin: accept on %s failed: %s; pausing admin accepts for 1 s",
		         admin.path, strerror(errno));
		ev_io_stop(loop, &aw->accept_io);
		ev_timer_set(&aw->pause, 1.0, 0.);
		ev_timer_start(loop, &aw->pause);
		return;
	}
}

static void resume_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	admin_worker_t *aw = vc_container_of(t, admin_worker_t, pause);

	ev_io_start(loop, &aw->accept_io);
}

void vc_admin_attach(vc_worker_t *w)
{
	admin_worker_t *aw;

	if (admin.fd < 0) {
		log_debug("admin: no admin socket to accept on");
		return;
	}
	aw = vc_calloc(1, sizeof(*aw));
	aw->w = w;
	ev_io_init(&aw->accept_io, accept_cb, admin.fd, EV_READ);
	ev_timer_init(&aw->pause, resume_cb, 1.0, 0.);
	ev_io_start(vc_worker_loop(w), &aw->accept_io);
	pthread_mutex_lock(&admin.mu);
	aw->next = admin.workers;
	admin.workers = aw;
	pthread_mutex_unlock(&admin.mu);
}

/* ---- the listening socket ---------------------------------------------- */

/* The socket's directory must exist: vcd does not create it. */
static int check_dir(const char *path, char *err, size_t errlen)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? vc_strndup(path, slash == path ? 1 : (size_t)(slash - path))
	                  : vc_strdup(".");
	struct stat st;
	int rc = 0;

	if (stat(dir, &st) < 0) {
		snprintf(err, errlen,
		         "cannot use admin socket %s: directory %s: %s (create it, "
		         "owned by vcd's user, or set admin_socket)",
		         path, dir, strerror(errno));
		rc = -1;
	} else if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "cannot use admin socket %s: %s is not a directory", path,
		         dir);
		rc = -1;
	}
	free(dir);
	return rc;
}

/* Is something accepting on the socket at `path`? 1 yes, 0 no, -1 error. */
static int probe(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int rc, e;

	if (fd < 0)
		return -1;
	rc = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	e = errno;
	close(fd);
	if (rc == 0 || e == EAGAIN || e == EINPROGRESS)
		return 1;
	errno = e;
	return e == ECONNREFUSED ? 0 : -1;
}

/* Remove a stale socket file left by a vcd that died; refuse a live one. */
static int clear_stale(const struct sockaddr_un *sa, char *err, size_t errlen)
{
	const char *path = sa->sun_path;
	struct stat st;
	int live;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "cannot use admin socket %s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen,
		         "admin socket path %s exists and is not a socket; refusing "
		         "to replace it (remove it or set admin_socket)",
		         path);
		return -1;
	}
	live = probe(sa);
	if (live == 1) {
		snprintf(err, errlen, "admin socket %s is in use by a running vcd", path);
		return -1;
	}
	if (live < 0) {
		snprintf(err, errlen, "cannot tell whether admin socket %s is in use: %s", path,
		         strerror(errno));
		return -1;
	}
	log_info("admin: removing stale admin socket %s", path);
	if (unlink(path) < 0 && errno != ENOENT) {
		snprintf(err, errlen, "cannot remove stale admin socket %s: %s", path,
		         strerror(errno));
		return -1;
	}
	return 0;
}

/* socket + bind (no window with looser permissions) + chmod + listen. */
static int bind_listen(const struct sockaddr_un *sa, char *err, size_t errlen)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	mode_t old;
	int rc;

	if (fd < 0) {
		snprintf(err, errlen, "cannot create the admin socket: %s", strerror(errno));
		return -1;
	}
	old = umask(0177);
	rc = bind(fd, (const struct sockaddr *)sa, sizeof(*sa));
	umask(old);
	if (rc < 0) {
		snprintf(err, errlen, "cannot bind admin socket %s: %s", sa->sun_path,
		         strerror(errno));
		goto fail;
	}
	if (chmod(sa->sun_path, 0600) < 0 || listen(fd, ADMIN_BACKLOG) < 0) {
		snprintf(err, errlen, "cannot set up admin socket %s: %s", sa->sun_path,
		         strerror(errno));
		unlink(sa->sun_path);
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

int vc_admin_listen(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len = strlen(path);
	int fd;

	if (len == 0) {
		snprintf(err, errlen,
		         "admin_socket is empty; expected a path such as "
		         "/run/vcd/vcd.sock");
		return -1;
	}
	if (len >= sizeof(sa.sun_path)) {
		snprintf(err, errlen,
		         "admin socket path %s is %zu bytes long; Unix sockets allow "
		         "at most %zu",
		         path, len, sizeof(sa.sun_path) - 1);
		return -1;
	}
	memcpy(sa.sun_path, path, len + 1);
	if (check_dir(path, err, errlen) < 0 || clear_stale(&sa, err, errlen) < 0)
		return -1;
	fd = bind_listen(&sa, err, errlen);
	if (fd < 0)
		return -1;
	admin.fd = fd;
	admin.path = vc_strdup(path);
	log_info("admin: listening on %s (mode 0600)", path);
	return 0;
}

/* Free what a stopped worker left; a connection whose handler has not
 * answered stays allocated (its answer may still be in flight). */
static bool worker_cleanup(admin_worker_t *aw)
{
	vc_admin_req_t *c = aw->conns, *next;

	for (; c != NULL; c = next) {
		next = c->next;
		if (c->fd >= 0)
			close(c->fd);
		c->fd = -1;
		if (c->state == C_HANDLING && !atomic_load(&c->answered))
			continue;
		if (c->prev)
			c->prev->next = c->next;
		else
			aw->conns = c->next;
		if (c->next)
			c->next->prev = c->prev;
		aw->nconns--;
		free(c->buf);
		vc_admin_words_free(c->words);
		free(c);
	}
	return aw->conns == NULL;
}

void vc_admin_close(void)
{
	admin_worker_t **p;

	if (admin.fd >= 0)
		close(admin.fd);
	admin.fd = -1;
	if (admin.path != NULL) {
		if (unlink(admin.path) < 0 && errno != ENOENT)
			log_warn("admin: cannot remove %s: %s", admin.path, strerror(errno));
		free(admin.path);
		admin.path = NULL;
	}
	pthread_mutex_lock(&admin.mu);
	for (p = &admin.workers; *p != NULL;) {
		admin_worker_t *aw = *p;
		if (worker_cleanup(aw)) {
			*p = aw->next;
			free(aw);
		} else {
			p = &aw->next;
		}
	}
	pthread_mutex_unlock(&admin.mu);
}
