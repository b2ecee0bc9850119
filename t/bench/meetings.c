/*
 * meetings.c — the load generator of the meetings benchmark (make bench):
 * CLIENTS threads, each a blocking HTTP/1.1 client with keep-alive
 * connections, drive the meeting API of a running vcd for SECONDS seconds,
 * then report HTTP operations and iterations per second with p50/p99
 * latencies per operation kind. It is a client: blocking sockets are fine.
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
 *
 * Each client keeps two connections, one for its host and one for its
 * guest. Callers are videocall.rs session JWTs (sub, name, exp, iat, iss)
 * signed with $MEETINGS_JWT_SECRET, so vcd must run with
 * session_jwt_compat = true and the same jwt_secret. Any other answer than
 * the one expected, or none within 10 s, stops the run: exit status 1.
 *
 * usage: meetings distinct|shared|joins PORT CLIENTS SECONDS
 * Prints one line per operation kind, one for whole iterations, and last
 * "result ops_per_s=… joins_per_s=… iterations_per_s=… p50_ms=… p99_ms=…"
 * (joins: every POST /join, the hosts' included; p50/p99: every call).
 */
#include <errno.h>
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
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "runtime/vc.h"
#include "wire/jwt.h"

#define MAX_CLIENTS 1024
#define CONN_BUF 65536
#define IO_TIMEOUT_S 10
#define JWT_LIFETIME_S 3600 /* beyond the run */
#define ID_MAX 96

enum mode { DISTINCT, SHARED, JOINS, MODE_COUNT };

static const char *const mode_names[MODE_COUNT] = { "distinct", "shared", "joins" };
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

/* One keep-alive connection and the bytes read from it. */
typedef struct conn {
	int fd; /* -1: connect before the next call */
	size_t len;
	char buf[CONN_BUF];
} conn_t;

typedef struct client {
	int id;
	pthread_t th;
	conn_t host, guest;
	char host_id[ID_MAX], guest_id[ID_MAX];
	char *host_jwt, *guest_jwt;
	uint64_t iterations, end_us;
	samples_t op[OP_COUNT], iter;
} client_t;

static struct {
	enum mode mode;
	int port, nclients;
	double seconds;
	char secret[256];
	char tag[24];      /* in every id: runs never collide */
	char room[ID_MAX]; /* shared mode's meeting */
	client_t *clients;
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

static bool conn_open(conn_t *k)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)B.port) };
	struct timeval tv = { .tv_sec = IO_TIMEOUT_S };
	int one = 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	k->len = 0;
	k->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (k->fd < 0)
		return fail("socket: %s", strerror(errno));
	setsockopt(k->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(k->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(k->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(k->fd, (struct sockaddr *)&a, sizeof(a)) != 0)
		return fail("cannot connect to vcd on 127.0.0.1:%d: %s", B.port, strerror(errno));
	return true;
}

static void conn_close(conn_t *k)
{
	if (k->fd >= 0)
		close(k->fd);
	k->fd = -1;
	k->len = 0;
}

static bool send_all(conn_t *k, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(k->fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return fail("sending to vcd: %s", w < 0 ? strerror(errno) : "nothing sent");
		p += w;
		n -= (size_t)w;
	}
	return true;
}

/* Read more bytes into k's buffer (keeping one byte for a NUL). */
static bool recv_more(conn_t *k, const char *what)
{
	ssize_t r;

	if (k->len + 1 >= sizeof(k->buf))
		return fail("%s: the answer is larger than %d bytes", what, CONN_BUF - 1);
	do
		r = recv(k->fd, k->buf + k->len, sizeof(k->buf) - 1 - k->len, 0);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return fail("%s: vcd closed the connection before answering", what);
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return fail("%s: no answer within %d s", what, IO_TIMEOUT_S);
	if (r < 0)
		return fail("%s: reading the answer: %s", what, strerror(errno));
	k->len += (size_t)r;
	return true;
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

/* Read one whole answer (vcd always sends Content-Length, never chunks). */
static bool read_resp(conn_t *k, resp_t *r, const char *what)
{
	char *end;
	const char *v;
	size_t clen, hlen;

	k->buf[k->len] = '\0';
	while ((end = strstr(k->buf, "\r\n\r\n")) == NULL) {
		if (!recv_more(k, what))
			return false;
		k->buf[k->len] = '\0';
	}
	if (sscanf(k->buf, "HTTP/1.%*d %d", &r->status) != 1)
		return fail("%s: not an HTTP answer: '%.60s'", what, k->buf);
	v = header(k->buf, end, "Content-Length");
	if (v == NULL)
		return fail("%s: HTTP %d without Content-Length", what, r->status);
	clen = strtoul(v, NULL, 10);
	v = header(k->buf, end, "Connection");
	r->close = v != NULL && strncasecmp(v + strspn(v, " "), "close", 5) == 0;
	hlen = (size_t)(end + 4 - k->buf);
	if (hlen + clen + 1 > sizeof(k->buf))
		return fail("%s: a %zu-byte body does not fit %d bytes", what, clen, CONN_BUF);
	while (k->len < hlen + clen)
		if (!recv_more(k, what))
			return false;
	r->used = hlen + clen;
	r->body = k->buf + hlen;
	return true;
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

/* One timed call of kind op on k as the caller with session JWT jwt. */
static bool call(client_t *c, conn_t *k, enum op op, const char *method, const char *path,
                 const char *jwt, const char *body)
{
	char req[2048], what[256];
	int n;
	resp_t r;
	uint64_t t0;

	snprintf(what, sizeof(what), "%s %s (%s)", method, path, op_names[op]);
	n = snprintf(req, sizeof(req),
	             "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAuthorization: Bearer %s\r\n"
	             "%sContent-Length: %zu\r\n\r\n%s",
	             method, path, B.port, jwt, body ? "Content-Type: application/json\r\n" : "",
	             body ? strlen(body) : 0, body ? body : "");
	if (n < 0 || (size_t)n >= sizeof(req))
		return fail("%s: the request does not fit %zu bytes", what, sizeof(req));
	if (k->fd < 0 && !conn_open(k))
		return false;
	t0 = vc_now_us();
	if (!send_all(k, req, (size_t)n) || !read_resp(k, &r, what))
		return false;
	samples_add(&c->op[op], vc_now_us() - t0);
	if (!check(k, &r, op, what))
		return false;
	consume(k, &r);
	return true;
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

static bool distinct_iteration(client_t *c)
{
	char room[ID_MAX];

	snprintf(room, sizeof(room), "bench-%s-m%d-%llu", B.tag, c->id,
	         (unsigned long long)c->iterations);
	return join(c, &c->host, OP_HOST_JOIN, room, c->host_id, c->host_jwt) &&
	       join(c, &c->guest, OP_GUEST_JOIN, room, c->guest_id, c->guest_jwt) &&
	       admit(c, room, c->host_jwt, c->guest_id) && status(c, room, c->guest_jwt);
}

static bool shared_iteration(client_t *c)
{
	char guest[ID_MAX], *jwt;
	bool ok;

	snprintf(guest, sizeof(guest), "bench-%s-g%d-%llu", B.tag, c->id,
	         (unsigned long long)c->iterations);
	jwt = session_jwt(guest);
	ok = join(c, &c->guest, OP_GUEST_JOIN, B.room, guest, jwt) &&
	     admit(c, B.room, c->host_jwt, guest) && status(c, B.room, jwt);
	free(jwt);
	return ok;
}

static bool joins_iteration(client_t *c)
{
	char guest[ID_MAX], *jwt;
	bool ok;

	snprintf(guest, sizeof(guest), "bench-%s-j%d-%llu", B.tag, c->id,
	         (unsigned long long)c->iterations);
	jwt = session_jwt(guest);
	ok = join(c, &c->guest, OP_GUEST_JOIN, B.room, guest, jwt);
	free(jwt);
	return ok;
}

static bool (*const iterations[MODE_COUNT])(client_t *) = {
	[DISTINCT] = distinct_iteration,
	[SHARED] = shared_iteration,
	[JOINS] = joins_iteration,
};

static void *client_main(void *arg)
{
	client_t *c = arg;
	bool (*iteration)(client_t *) = iterations[B.mode];

	pthread_barrier_wait(&B.go);
	while (!atomic_load(&B.stop) && vc_now_us() < B.deadline_us) {
		uint64_t t0 = vc_now_us();
		if (!iteration(c))
			break;
		samples_add(&c->iter, vc_now_us() - t0);
		c->iterations++;
	}
	c->end_us = vc_now_us();
	return NULL;
}

/* --- setup and report ----------------------------------------------------- */

static void clients_init(void)
{
	char *shared_host_jwt = NULL;

	B.clients = vc_calloc((size_t)B.nclients, sizeof(*B.clients));
	if (B.mode != DISTINCT) {
		char host[ID_MAX];
		snprintf(host, sizeof(host), "bench-%s-host", B.tag);
		snprintf(B.room, sizeof(B.room), "bench-%s-shared", B.tag);
		shared_host_jwt = session_jwt(host);
	}
	for (int i = 0; i < B.nclients; i++) {
		client_t *c = &B.clients[i];
		c->id = i;
		c->host.fd = c->guest.fd = -1;
		snprintf(c->host_id, sizeof(c->host_id), "bench-%s-h%d", B.tag, i);
		snprintf(c->guest_id, sizeof(c->guest_id), "bench-%s-g%d", B.tag, i);
		c->host_jwt =
		        shared_host_jwt ? vc_strdup(shared_host_jwt) : session_jwt(c->host_id);
		c->guest_jwt = session_jwt(c->guest_id);
	}
	free(shared_host_jwt);
}

/* Shared and joins modes: the host starts the meeting before the clock
 * does (its call is not counted). */
static bool shared_start(void)
{
	client_t *c = &B.clients[0];
	char host[ID_MAX];
	bool ok;

	snprintf(host, sizeof(host), "bench-%s-host", B.tag);
	ok = join(c, &c->host, OP_HOST_JOIN, B.room, host, c->host_jwt);
	c->op[OP_HOST_JOIN].n = 0;
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
			samples_merge(&kind[o], &c->op[o]);
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
	        "meetings: %s\nusage: MEETINGS_JWT_SECRET=… meetings distinct|shared|joins PORT "
	        "CLIENTS SECONDS\n",
	        why);
	return 2;
}

static int parse_args(int argc, char **argv)
{
	const char *secret = getenv("MEETINGS_JWT_SECRET");

	if (argc != 5)
		return usage("expected 4 arguments");
	for (B.mode = DISTINCT; B.mode < MODE_COUNT; B.mode++)
		if (strcmp(argv[1], mode_names[B.mode]) == 0)
			break;
	if (B.mode == MODE_COUNT)
		return usage("the mode must be 'distinct', 'shared' or 'joins'");
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
	if (B.mode != DISTINCT && !shared_start()) {
		fprintf(stderr, "meetings: %s: the host could not start the meeting: %s\n", argv[1],
		        B.failure);
		return 1;
	}
	pthread_barrier_init(&B.go, NULL, (unsigned)B.nclients + 1);
	for (int i = 0; i < B.nclients; i++)
		if (pthread_create(&B.clients[i].th, NULL, client_main, &B.clients[i]) != 0)
			vc_fatal("pthread_create failed for client %d", i);
	B.start_us = vc_now_us();
	B.deadline_us = B.start_us + (uint64_t)(B.seconds * 1e6);
	pthread_barrier_wait(&B.go);
	for (int i = 0; i < B.nclients; i++)
		pthread_join(B.clients[i].th, NULL);
	if (B.failure != NULL) {
		fprintf(stderr, "meetings: %s: %s\n", argv[1], B.failure);
		return 1;
	}
	report();
	return 0;
}
