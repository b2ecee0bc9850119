/*
 * meetings.c — the load generator of the meetings benchmark (make bench):
 * CLIENTS clients, each an HTTP/1.1 client with keep-alive connections and
 * one call at a time, drive the meeting API of a running vcd for SECONDS
 * seconds, then report HTTP operations and iterations per second with
 * p50/p99 latencies per operation kind. Like pgbench -j, the clients share
 * a few threads ($MEETINGS_THREADS, default 2), each an epoll loop over its
 * clients' sockets: the load generator competes with vcd for the CPU as
 * pgbench competes with PostgreSQL, not with a thread per client.
 *
 *   distinct  client i, iteration k: host h_i POST /join on a new meeting
 *             (which creates it, h_i owning and hosting it), guest g_i POST
 *             /join (waiting), h_i POST /admit {user_id: g_i}, g_i GET
 *             /status (admitted, with a room_token).
 *   shared    one meeting whose host joined before the clock started; every
 *             iteration a new guest joins it (waiting), the host admits it,
 *             the guest asks /status (admitted, with a room_token).
 *   joins     the same meeting, and every iteration a new guest joins it
 *             (waiting): joins alone, one durable write each.
 *   adhoc     client i, iteration k: host h_i POST /join on a new room id,
 *             which creates the meeting (h_i its host): ad-hoc joins alone,
 *             the top of the hour.
 *
 * Each client keeps two connections, one for its host and one for its
 * guest. Callers are videocall.rs session JWTs (sub, name, exp, iat, iss)
 * signed with $MEETINGS_JWT_SECRET, so vcd must run with
 * session_jwt_compat = true and the same jwt_secret. Any other answer than
 * the one expected, or none within 10 s, stops the run: exit status 1.
 *
 * usage: [MEETINGS_THREADS=N] meetings distinct|shared|joins|adhoc PORT CLIENTS SECONDS
 * Prints one line per operation kind, one for whole iterations, and last
 * "result ops_per_s=… joins_per_s=… iterations_per_s=… p50_ms=… p99_ms=…"
 * (joins: every POST /join, the hosts' included; p50/p99: every call).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "runtime/vc.h"
#include "wire/jwt.h"

#define MAX_CLIENTS 1024
#define MAX_THREADS 64
#define CONN_BUF 65536
#define IO_TIMEOUT_S 10
#define JWT_LIFETIME_S 3600 /* beyond the run */
#define ID_MAX 96

enum mode { DISTINCT, SHARED, JOINS, ADHOC, MODE_COUNT };

static const char *const mode_names[MODE_COUNT] = { "distinct", "shared", "joins", "adhoc" };
enum op { OP_HOST_JOIN, OP_GUEST_JOIN, OP_ADMIT, OP_STATUS, OP_COUNT };

static const char *const op_names[OP_COUNT] = {
	[OP_HOST_JOIN] = "host join",
	[OP_GUEST_JOIN] = "guest join",
	[OP_ADMIT] = "admit",
	[OP_STATUS] = "status",
};

/* What each kind of call must answer: 200 and these strings in the body
 * (vcd writes compact JSON with members in a fixed order). */
static const char *const op_want[OP_COUNT][3] = {
	[OP_HOST_JOIN] = { "\"status\":\"admitted\"", "\"is_host\":true", "\"room_token\":" },
	[OP_GUEST_JOIN] = { "\"status\":\"waiting\"", "\"observer_token\":", NULL },
	[OP_ADMIT] = { "\"status\":\"admitted\"", NULL, NULL },
	[OP_STATUS] = { "\"status\":\"admitted\"", "\"room_token\":", NULL },
};

/* Latencies in microseconds. */
typedef struct samples {
	uint32_t *v;
	size_t n, cap;
} samples_t;

typedef struct client client_t;

/* One keep-alive connection, the request being sent on it and the bytes
 * read from it. */
typedef struct conn {
	int fd; /* -1: connect before the next call */
	client_t *owner;
	char req[2048];
	size_t req_len, req_sent;
	size_t len;
	char buf[CONN_BUF];
} conn_t;

/* A client: one call at a time, the steps of its iterations in order. */
struct client {
	int id, epfd;
	conn_t host, guest;
	char host_id[ID_MAX], guest_id[ID_MAX];
	char *host_jwt, *guest_jwt;
	/* the iteration at work: its step, room and guest */
	int step;
	char room[ID_MAX], new_guest[ID_MAX];
	char *jwt;  /* new_guest's */
	conn_t *at; /* the connection of the call in flight */
	enum op op;
	char what[256];
	uint64_t call_us, iter_us;
	bool done;
	uint64_t iterations, end_us;
	samples_t op_samples[OP_COUNT], iter;
};

static struct {
	enum mode mode;
	int port, nclients;
	double seconds;
	char secret[256];
	char tag[24];      /* in every id: runs never collide */
	char room[ID_MAX]; /* shared mode's meeting */
	client_t *clients;
	int nthreads;
	pthread_t threads[MAX_THREADS];
	pthread_barrier_t go;
	uint64_t start_us, deadline_us;
	atomic_int stop;
	pthread_mutex_t fail_mu;
	char *failure; /* the first failure, reported by main */
} B = { .fail_mu = PTHREAD_MUTEX_INITIALIZER };

/* --- failures and samples ------------------------------------------------- */

static bool fail(const char *fmt, ...) VC_PRINTF(1, 2);
static bool fail(const char *fmt, ...)
{
	va_list ap;
	char msg[1024];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&B.fail_mu);
	if (B.failure == NULL)
		B.failure = vc_strdup(msg);
	pthread_mutex_unlock(&B.fail_mu);
	atomic_store(&B.stop, 1);
	return false;
}

static void samples_add(samples_t *s, uint64_t us)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 4096;
		s->v = vc_realloc(s->v, s->cap * sizeof(*s->v));
	}
	s->v[s->n++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

static void samples_merge(samples_t *to, const samples_t *from)
{
	for (size_t i = 0; i < from->n; i++)
		samples_add(to, from->v[i]);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile p (0..1] of sorted samples, in milliseconds. */
static double pct_ms(const samples_t *s, double p)
{
	size_t i;

	if (s->n == 0)
		return 0;
	i = (size_t)(p * (double)s->n + 0.999999);
	i = i == 0 ? 0 : i - 1;
	return s->v[i < s->n ? i : s->n - 1] / 1000.0;
}

/* --- HTTP ----------------------------------------------------------------- */

/* Connect k (loopback: at once) and watch it on its client's epoll. */
static bool conn_open(conn_t *k)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)B.port) };
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = k };
	int one = 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	k->len = 0;
	k->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (k->fd < 0)
		return fail("socket: %s", strerror(errno));
	setsockopt(k->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(k->fd, (struct sockaddr *)&a, sizeof(a)) != 0)
		return fail("cannot connect to vcd on 127.0.0.1:%d: %s", B.port, strerror(errno));
	fcntl(k->fd, F_SETFL, fcntl(k->fd, F_GETFL) | O_NONBLOCK);
	if (epoll_ctl(k->owner->epfd, EPOLL_CTL_ADD, k->fd, &ev) != 0)
		return fail("epoll_ctl: %s", strerror(errno));
	return true;
}

static void conn_close(conn_t *k)
{
	if (k->fd >= 0)
		close(k->fd); /* leaves the epoll set with it */
	k->fd = -1;
	k->len = 0;
}

/* Send what is left of k's request; watch for writability if the socket
 * is full (it rarely is: requests are small). */
static bool conn_send(conn_t *k)
{
	struct epoll_event ev = { .data.ptr = k };

	while (k->req_sent < k->req_len) {
		ssize_t w =
		        send(k->fd, k->req + k->req_sent, k->req_len - k->req_sent, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (w <= 0)
			return fail("%s: sending to vcd: %s", k->owner->what,
			            w < 0 ? strerror(errno) : "nothing sent");
		k->req_sent += (size_t)w;
	}
	ev.events = EPOLLIN | (k->req_sent < k->req_len ? EPOLLOUT : 0);
	epoll_ctl(k->owner->epfd, EPOLL_CTL_MOD, k->fd, &ev);
	return true;
}

/* Read what has arrived into k's buffer (keeping one byte for a NUL). */
static bool conn_recv(conn_t *k)
{
	for (;;) {
		ssize_t r;
		if (k->len + 1 >= sizeof(k->buf))
			return fail("%s: the answer is larger than %d bytes", k->owner->what,
			            CONN_BUF - 1);
		r = recv(k->fd, k->buf + k->len, sizeof(k->buf) - 1 - k->len, 0);
		if (r > 0) {
			k->len += (size_t)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		if (r == 0)
			return fail("%s: vcd closed the connection before answering",
			            k->owner->what);
		return fail("%s: reading the answer: %s", k->owner->what, strerror(errno));
	}
}

typedef struct resp {
	int status;
	bool close;
	const char *body; /* NUL-terminated, in the connection's buffer */
	size_t used;      /* bytes of the buffer this answer took */
} resp_t;

/* The value of header `name` in the header block hdr (ends at "\r\n\r\n"). */
static const char *header(const char *hdr, const char *end, const char *name)
{
	size_t n = strlen(name);

	for (const char *l = strstr(hdr, "\r\n"); l != NULL && l + 2 < end;
	     l = strstr(l + 2, "\r\n")) {
		if (strncasecmp(l + 2, name, n) == 0 && l[2 + n] == ':')
			return l + 3 + n;
	}
	return NULL;
}

/* One whole answer in k's buffer (vcd always sends Content-Length, never
 * chunks): 1, with r filled; 0: not all of it yet; -1: failed (fail() is
 * false, so "fail(…) - 1" is -1). */
static int parse_resp(conn_t *k, resp_t *r)
{
	const char *what = k->owner->what, *v;
	char *end;
	size_t clen, hlen;

	k->buf[k->len] = '\0';
	if ((end = strstr(k->buf, "\r\n\r\n")) == NULL)
		return 0;
	if (sscanf(k->buf, "HTTP/1.%*d %d", &r->status) != 1)
		return fail("%s: not an HTTP answer: '%.60s'", what, k->buf) - 1;
	v = header(k->buf, end, "Content-Length");
	if (v == NULL)
		return fail("%s: HTTP %d without Content-Length", what, r->status) - 1;
	clen = strtoul(v, NULL, 10);
	v = header(k->buf, end, "Connection");
	r->close = v != NULL && strncasecmp(v + strspn(v, " "), "close", 5) == 0;
	hlen = (size_t)(end + 4 - k->buf);
	if (hlen + clen + 1 > sizeof(k->buf))
		return fail("%s: a %zu-byte body does not fit %d bytes", what, clen, CONN_BUF) - 1;
	if (k->len < hlen + clen)
		return 0;
	r->used = hlen + clen;
	r->body = k->buf + hlen;
	return 1;
}

/* After an answer: drop its bytes (keeping any that follow it). */
static void consume(conn_t *k, const resp_t *r)
{
	memmove(k->buf, k->buf + r->used, k->len - r->used);
	k->len -= r->used;
	if (r->close)
		conn_close(k);
}

static bool check(conn_t *k, resp_t *r, enum op op, const char *what)
{
	char saved = k->buf[r->used];
	bool ok = r->status == 200;

	k->buf[r->used] = '\0';
	for (int i = 0; ok && i < 3 && op_want[op][i] != NULL; i++)
		ok = strstr(r->body, op_want[op][i]) != NULL;
	if (!ok)
		fail("%s: HTTP %d '%.400s', expected 200 with %s%s%s", what, r->status, r->body,
		     op_want[op][0], op_want[op][1] ? " and " : "",
		     op_want[op][1] ? op_want[op][1] : "");
	k->buf[r->used] = saved;
	return ok;
}

/* Start a call of kind op on k as the caller with session JWT jwt: the
 * clock starts as the request leaves. */
static bool call(client_t *c, conn_t *k, enum op op, const char *method, const char *path,
                 const char *jwt, const char *body)
{
	int n;

	snprintf(c->what, sizeof(c->what), "%s %s (%s)", method, path, op_names[op]);
	n = snprintf(k->req, sizeof(k->req),
	             "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAuthorization: Bearer %s\r\n"
	             "%sContent-Length: %zu\r\n\r\n%s",
	             method, path, B.port, jwt, body ? "Content-Type: application/json\r\n" : "",
	             body ? strlen(body) : 0, body ? body : "");
	if (n < 0 || (size_t)n >= sizeof(k->req))
		return fail("%s: the request does not fit %zu bytes", c->what, sizeof(k->req));
	if (k->fd < 0 && !conn_open(k))
		return false;
	k->req_len = (size_t)n;
	k->req_sent = 0;
	c->at = k;
	c->op = op;
	c->call_us = vc_now_us();
	return conn_send(k);
}

/* --- the meeting steps ---------------------------------------------------- */

/* A videocall.rs session JWT for user (malloc'd). */
static char *session_jwt(const char *user)
{
	json_int_t now = (json_int_t)time(NULL);
	json_int_t exp = now + JWT_LIFETIME_S + (json_int_t)B.seconds;
	json_t *claims = json_pack("{s:s,s:s,s:I,s:I,s:s}", "sub", user, "name", user, "exp", exp,
	                           "iat", now, "iss", VC_JWT_ISSUER);
	char *t = vc_jwt_sign(claims, (const uint8_t *)B.secret, strlen(B.secret));

	json_decref(claims);
	if (t == NULL)
		vc_fatal("vc_jwt_sign failed for '%s'", user);
	return t;
}

static bool join(client_t *c, conn_t *k, enum op op, const char *room, const char *user,
                 const char *jwt)
{
	char path[256], body[ID_MAX + 32];

	snprintf(path, sizeof(path), "/api/v1/meetings/%s/join", room);
	snprintf(body, sizeof(body), "{\"display_name\":\"%s\"}", user);
	return call(c, k, op, "POST", path, jwt, body);
}

static bool admit(client_t *c, const char *room, const char *host_jwt, const char *guest)
{
	char path[256], body[ID_MAX + 32];

	snprintf(path, sizeof(path), "/api/v1/meetings/%s/admit", room);
	snprintf(body, sizeof(body), "{\"user_id\":\"%s\"}", guest);
	return call(c, &c->host, OP_ADMIT, "POST", path, host_jwt, body);
}

static bool status(client_t *c, const char *room, const char *jwt)
{
	char path[256];

	snprintf(path, sizeof(path), "/api/v1/meetings/%s/status", room);
	return call(c, &c->guest, OP_STATUS, "GET", path, jwt, NULL);
}

/*
 * The iterations, one call per step; a step past the last one returns
 * false with nothing started, and the iteration is over.
 *   distinct  host join (a new meeting), guest join, admit, status
 *   shared    a new guest: join, admit, status
 *   joins     a new guest: join
 *   adhoc     a new room: the host's join
 */
static bool distinct_step(client_t *c, bool *started)
{
	const char *room = c->room;

	switch (c->step) {
	case 0:
		snprintf(c->room, sizeof(c->room), "bench-%s-m%d-%llu", B.tag, c->id,
		         (unsigned long long)c->iterations);
		return join(c, &c->host, OP_HOST_JOIN, room, c->host_id, c->host_jwt);
	case 1: return join(c, &c->guest, OP_GUEST_JOIN, room, c->guest_id, c->guest_jwt);
	case 2: return admit(c, room, c->host_jwt, c->guest_id);
	case 3: return status(c, room, c->guest_jwt);
	}
	*started = false;
	return true;
}

static void guest_of_iteration(client_t *c, char tagc)
{
	snprintf(c->new_guest, sizeof(c->new_guest), "bench-%s-%c%d-%llu", B.tag, tagc, c->id,
	         (unsigned long long)c->iterations);
	free(c->jwt);
	c->jwt = session_jwt(c->new_guest);
}

static bool shared_step(client_t *c, bool *started)
{
	switch (c->step) {
	case 0:
		guest_of_iteration(c, 'g');
		return join(c, &c->guest, OP_GUEST_JOIN, B.room, c->new_guest, c->jwt);
	case 1: return admit(c, B.room, c->host_jwt, c->new_guest);
	case 2: return status(c, B.room, c->jwt);
	}
	*started = false;
	return true;
}

static bool joins_step(client_t *c, bool *started)
{
	if (c->step == 0) {
		guest_of_iteration(c, 'j');
		return join(c, &c->guest, OP_GUEST_JOIN, B.room, c->new_guest, c->jwt);
	}
	*started = false;
	return true;
}

static bool adhoc_step(client_t *c, bool *started)
{
	if (c->step == 0) {
		snprintf(c->room, sizeof(c->room), "bench-%s-a%d-%llu", B.tag, c->id,
		         (unsigned long long)c->iterations);
		return join(c, &c->host, OP_HOST_JOIN, c->room, c->host_id, c->host_jwt);
	}
	*started = false;
	return true;
}

static bool (*const steps[MODE_COUNT])(client_t *, bool *) = {
	[DISTINCT] = distinct_step,
	[SHARED] = shared_step,
	[JOINS] = joins_step,
	[ADHOC] = adhoc_step,
};

/* The client's next call: the next step, or the next iteration while the
 * run lasts. False when the client is done (or failed). */
static bool advance(client_t *c)
{
	bool started = true;

	if (!steps[B.mode](c, &started))
		return false;
	if (started)
		return true;
	samples_add(&c->iter, vc_now_us() - c->iter_us);
	c->iterations++;
	if (atomic_load(&B.stop) || vc_now_us() >= B.deadline_us)
		return false;
	c->step = 0;
	c->iter_us = vc_now_us();
	return advance(c);
}

/* An answer for the call in flight: record, check, go on. */
static bool answered(client_t *c)
{
	conn_t *k = c->at;
	resp_t r;
	int got = parse_resp(k, &r);

	if (got <= 0)
		return got == 0;
	samples_add(&c->op_samples[c->op], vc_now_us() - c->call_us);
	if (!check(k, &r, c->op, c->what))
		return false;
	consume(k, &r);
	c->at = NULL;
	c->step++;
	return advance(c);
}

static void client_done(client_t *c)
{
	if (!c->done) {
		c->done = true;
		c->end_us = vc_now_us();
	}
}

/* Something on a connection with no call in flight: vcd closed it (it is
 * opened again for the next call) or, a bug, sent bytes nobody asked for. */
static void idle_event(conn_t *k)
{
	char b[256];
	ssize_t r = recv(k->fd, b, sizeof(b), 0);

	if (r > 0)
		fail("%s: vcd sent %zd bytes after the answer", k->owner->what, r);
	else if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
		conn_close(k);
}

/* One thread: an epoll loop over clients t, t + nthreads, ... */
static void *thread_main(void *arg)
{
	int t = (int)(intptr_t)arg, left = 0, epfd = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev[64];

	if (epfd < 0)
		vc_fatal("epoll_create1: %s", strerror(errno));
	pthread_barrier_wait(&B.go);
	for (int i = t; i < B.nclients; i += B.nthreads) {
		client_t *c = &B.clients[i];
		c->epfd = epfd;
		c->iter_us = vc_now_us();
		if (advance(c))
			left++;
		else
			client_done(c);
	}
	while (left > 0 && !atomic_load(&B.stop)) {
		int n = epoll_wait(epfd, ev, 64, 100);
		uint64_t now;
		for (int i = 0; i < n; i++) {
			conn_t *k = ev[i].data.ptr;
			client_t *c = k->owner;
			if (c->done)
				continue;
			if (c->at != k) { /* nothing asked on it: vcd closed it (idle) */
				idle_event(k);
				continue;
			}
			bool ok = (ev[i].events & EPOLLOUT) ? conn_send(k) : true;
			if (ok && (ev[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
				ok = conn_recv(k) && answered(c);
			else if (ok)
				continue;
			if (!ok || c->at == NULL) {
				client_done(c);
				left--;
			}
		}
		now = vc_now_us(); /* after the calls started above */
		for (int i = t; i < B.nclients; i += B.nthreads) {
			client_t *c = &B.clients[i];
			if (!c->done && now - c->call_us > (uint64_t)IO_TIMEOUT_S * 1000000)
				fail("%s: no answer within %d s", c->what, IO_TIMEOUT_S);
		}
	}
	for (int i = t; i < B.nclients; i += B.nthreads)
		client_done(&B.clients[i]);
	close(epfd);
	return NULL;
}

/* --- setup and report ----------------------------------------------------- */

static void clients_init(void)
{
	char *shared_host_jwt = NULL;

	B.clients = vc_calloc((size_t)B.nclients, sizeof(*B.clients));
	if (B.mode == SHARED || B.mode == JOINS) {
		char host[ID_MAX];
		snprintf(host, sizeof(host), "bench-%s-host", B.tag);
		snprintf(B.room, sizeof(B.room), "bench-%s-shared", B.tag);
		shared_host_jwt = session_jwt(host);
	}
	for (int i = 0; i < B.nclients; i++) {
		client_t *c = &B.clients[i];
		c->id = i;
		c->host.fd = c->guest.fd = -1;
		c->host.owner = c->guest.owner = c;
		snprintf(c->host_id, sizeof(c->host_id), "bench-%s-h%d", B.tag, i);
		snprintf(c->guest_id, sizeof(c->guest_id), "bench-%s-g%d", B.tag, i);
		c->host_jwt =
		        shared_host_jwt ? vc_strdup(shared_host_jwt) : session_jwt(c->host_id);
		c->guest_jwt = session_jwt(c->guest_id);
	}
	free(shared_host_jwt);
}

/* Shared and joins modes: the host starts the meeting before the clock
 * does (its call is not counted; its connection is closed again, to be
 * opened on the epoll of the thread that runs the client). */
static bool shared_start(void)
{
	client_t *c = &B.clients[0];
	conn_t *k = &c->host;
	char host[ID_MAX];
	resp_t r;
	int got = 0;
	bool ok;

	snprintf(host, sizeof(host), "bench-%s-host", B.tag);
	c->epfd = epoll_create1(EPOLL_CLOEXEC);
	ok = c->epfd >= 0 && join(c, k, OP_HOST_JOIN, B.room, host, c->host_jwt);
	while (ok && got == 0) {
		struct epoll_event ev;
		if (epoll_wait(c->epfd, &ev, 1, IO_TIMEOUT_S * 1000) != 1)
			ok = fail("%s: no answer within %d s", c->what, IO_TIMEOUT_S);
		else if ((ev.events & EPOLLOUT) != 0)
			ok = conn_send(k);
		else if ((ok = conn_recv(k)) && (got = parse_resp(k, &r)) == 1)
			ok = check(k, &r, OP_HOST_JOIN, c->what);
		ok = ok && got >= 0;
	}
	conn_close(k);
	close(c->epfd);
	c->at = NULL;
	return ok;
}

static void print_kind(const char *name, const char *unit, samples_t *s, double secs)
{
	qsort(s->v, s->n, sizeof(*s->v), cmp_u32);
	printf("bench meetings %s %s: %zu %s, %.0f/s, p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
	       mode_names[B.mode], name, s->n, unit, (double)s->n / secs, pct_ms(s, 0.50),
	       pct_ms(s, 0.99), s->n ? s->v[s->n - 1] / 1000.0 : 0.0);
}

static void report(void)
{
	samples_t all = { 0 }, iter = { 0 }, kind[OP_COUNT] = { { 0 } };
	uint64_t end = B.start_us + 1;
	double secs;

	for (int i = 0; i < B.nclients; i++) {
		client_t *c = &B.clients[i];
		for (int o = 0; o < OP_COUNT; o++)
			samples_merge(&kind[o], &c->op_samples[o]);
		samples_merge(&iter, &c->iter);
		end = c->end_us > end ? c->end_us : end;
	}
	secs = (double)(end - B.start_us) / 1e6;
	for (int o = 0; o < OP_COUNT; o++) {
		samples_merge(&all, &kind[o]);
		if (kind[o].n > 0)
			print_kind(op_names[o], "calls", &kind[o], secs);
	}
	print_kind("whole", "iterations", &iter, secs);
	qsort(all.v, all.n, sizeof(*all.v), cmp_u32);
	printf("result ops=%zu seconds=%.3f ops_per_s=%.1f joins_per_s=%.1f iterations_per_s=%.1f"
	       " p50_ms=%.2f p99_ms=%.2f iter_p50_ms=%.2f iter_p99_ms=%.2f\n",
	       all.n, secs, (double)all.n / secs,
	       (double)(kind[OP_HOST_JOIN].n + kind[OP_GUEST_JOIN].n) / secs, (double)iter.n / secs,
	       pct_ms(&all, 0.50), pct_ms(&all, 0.99), pct_ms(&iter, 0.50), pct_ms(&iter, 0.99));
}

static int usage(const char *why)
{
	fprintf(stderr,
	        "meetings: %s\nusage: MEETINGS_JWT_SECRET=… meetings distinct|shared|joins|adhoc "
	        "PORT "
	        "CLIENTS SECONDS\n",
	        why);
	return 2;
}

static int parse_args(int argc, char **argv)
{
	const char *secret = getenv("MEETINGS_JWT_SECRET");

	const char *threads = getenv("MEETINGS_THREADS");

	if (argc != 5)
		return usage("expected 4 arguments");
	B.nthreads = threads != NULL ? atoi(threads) : 2;
	if (B.nthreads < 1 || B.nthreads > MAX_THREADS)
		return usage("MEETINGS_THREADS must be 1-64");
	for (B.mode = DISTINCT; B.mode < MODE_COUNT; B.mode++)
		if (strcmp(argv[1], mode_names[B.mode]) == 0)
			break;
	if (B.mode == MODE_COUNT)
		return usage("the mode must be 'distinct', 'shared', 'joins' or 'adhoc'");
	B.port = atoi(argv[2]);
	B.nclients = atoi(argv[3]);
	B.seconds = atof(argv[4]);
	if (B.port < 1 || B.port > 65535 || B.nclients < 1 || B.nclients > MAX_CLIENTS ||
	    B.seconds <= 0)
		return usage("PORT must be 1-65535, CLIENTS 1-1024 and SECONDS above 0");
	if (secret == NULL || secret[0] == '\0' || strlen(secret) >= sizeof(B.secret))
		return usage("MEETINGS_JWT_SECRET (vcd's jwt_secret) is not set or too long");
	snprintf(B.secret, sizeof(B.secret), "%s", secret);
	return 0;
}

int main(int argc, char **argv)
{
	int rc = parse_args(argc, argv);

	if (rc != 0)
		return rc;
	if (sodium_init() < 0)
		vc_fatal("sodium_init failed");
	snprintf(B.tag, sizeof(B.tag), "%08x", randombytes_random());
	clients_init();
	if ((B.mode == SHARED || B.mode == JOINS) && !shared_start()) {
		fprintf(stderr, "meetings: %s: the host could not start the meeting: %s\n", argv[1],
		        B.failure);
		return 1;
	}
	if (B.nthreads > B.nclients)
		B.nthreads = B.nclients;
	pthread_barrier_init(&B.go, NULL, (unsigned)B.nthreads + 1);
	for (int t = 0; t < B.nthreads; t++)
		if (pthread_create(&B.threads[t], NULL, thread_main, (void *)(intptr_t)t) != 0)
			vc_fatal("pthread_create failed for thread %d", t);
	B.start_us = vc_now_us();
	B.deadline_us = B.start_us + (uint64_t)(B.seconds * 1e6);
	pthread_barrier_wait(&B.go);
	for (int t = 0; t < B.nthreads; t++)
		pthread_join(B.threads[t], NULL);
	if (B.failure != NULL) {
		fprintf(stderr, "meetings: %s: %s\n", argv[1], B.failure);
		return 1;
	}
	report();
	return 0;
}
