/*
 * sigbench.c — the load generator of the signaling benchmark (make bench,
 * BENCH_ONLY=signal): account_sync fan-out on /ws (doc/signaling.md). U
 * users, each with D devices (WebSocket connections that identified with
 * the user's session token as clientInstanceId dev0 .. dev<D-1>, scope
 * "bench"); device dev0 of each user sends
 *
 *   {"type":"account_sync","clientInstanceId":"dev0","payload":{"t":T,"n":N}}
 *
 * (T its CLOCK_MONOTONIC send time in ns, N its sequence number from 0) and
 * the other D-1 devices must each receive it once, in order. What is
 * measured is the time from the send to the receipt by the LAST of the D-1
 * devices, and messages per second. Times are taken at the send() and at
 * each device's read(), so the last device's includes the few microseconds
 * sigbench spent on the others it read before in the same loop turn.
 *
 *   --mode vcd    users are registered (or logged in, when a run before
 *                 made them) through POST /api/users/register with the
 *                 names PREFIX-i (--save-tokens FILE keeps the sessions
 *                 for the next run), or read from --tokens FILE ("TOKEN
 *                 [USER_ID]" lines); --nodes A,B spreads each user's
 *                 devices over the nodes round robin (dev0 on the first).
 *   --mode node   t/bench/sig_relay.mjs: any token is accepted and is the
 *                 user id (PREFIX-i); no REST.
 *
 * Every device of a user lives on the same thread as its sender, so a
 * message's state (a ring of the last RING messages per user, a bit per
 * device that got it) needs no lock. Checks: each device gets each message
 * exactly once and in order (duplicates, gaps, out-of-order and late
 * arrivals are errors), never the sender (echoes), from the right user and
 * device (misrouted), with the server's seq one more than the last one
 * the device saw (seq errors); the sender gets one account_sync_ack per
 * message with a growing seq. Server errors are counted, rate_limited on
 * its own (vcd allows signal_rate messages per second per connection).
 *
 * Time line: connect and identify every device (a bounded number in flight
 * per thread), then the senders send for --warmup seconds (not counted),
 * then --duration seconds measured, then a drain of at most 5 s until
 * every measured message reached every device (or nothing moves for
 * 0.5 s). --rate R paces each sender at R messages/s (senders offset over
 * the period; a sender that falls behind skips, it never bursts); --rate 0
 * is closed loop: a sender sends its next message when the last one
 * reached all its devices (or after 1 s without).
 *
 * --idle N: N identified connections (D per user), the server's VmRSS
 * before and after with --server-pid (bytes per connection), held --hold
 * seconds answering pings, then closed.
 *
 * Output: a human summary, then one "result key=value ..." line for run.sh.
 * Exit status 1 when the run could not happen (accounts, a device that
 * could not connect or identify, or was closed), 0 otherwise (errors are
 * counted and printed).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "runtime/vc.h"
#include "t/bench/benchutil.h"
#include "t/bench/sigbench.h"
#include "t/bench/wsclient.h"

#define MAX_THREADS 16
#define MAX_NODES 8
#define MAX_DEVICES 32 /* a bit per device in a message's slot */
#define MAX_SOURCES 256
#define RING 64                /* messages of a user in flight that are tracked */
#define STALL_NS 1000000000ull /* closed loop: send the next one after this */
#define DRAIN_MAX_NS 5000000000ull
#define DRAIN_QUIET_NS 500000000ull
#define MSG_MAX 512

enum mode { MODE_VCD, MODE_NODE };
enum phase { PH_CONNECT, PH_RUN, PH_DONE };

typedef struct user user_t;

typedef struct device {
	vcb_conn_t conn;
	user_t *u;
	uint32_t d, node, idx; /* dev<d> of u, on nodes[node]; idx: over all devices */
	bool identified;
	uint64_t next_n;  /* the n it expects next */
	int64_t last_seq; /* the server's seq of the last account_sync, -1 before */
} device_t;

/* One message of a user's sender, while it is in flight. */
typedef struct slot {
	uint64_t n, sent_ns;
	uint32_t got; /* a bit per device that received it */
	bool used, measured, done;
} slot_t;

struct user {
	uint32_t idx, ndev;
	const sb_account_t *acc;
	char id[SB_ID_MAX]; /* fromUserId: identified's oderId, else the account's id */
	bool id_told;       /* id is the server's oderId */
	device_t *dev;
	uint64_t sent, due_ns, offset_ns;
	int64_t last_ack;
	slot_t ring[RING];
};

typedef struct thread {
	vcb_loop_t loop;
	pthread_t th;
	user_t **users;
	device_t **devs;
	size_t nusers, ndevs, next_connect;
	int connecting;
	uint64_t ready_ns;
	vcb_hist_t hist;
	_Atomic uint64_t sent_measured, done_measured;
	uint64_t sent, deliveries, in_window, dups, gaps, gap_msgs, ooo, echoes, misrouted, late;
	uint64_t seq_errors, acks, ack_errors, refused, server_errors, bad, other, skipped;
} thread_t;

static struct {
	/* options */
	enum mode mode;
	struct sockaddr_in nodes[MAX_NODES];
	char hosts[MAX_NODES][64];
	int nnodes;
	uint32_t nusers, ndevices, idle;
	double rate, duration, warmup, hold;
	int nthreads, connect_window, register_threads;
	long pids[MAX_NODES];
	int npids;
	struct in_addr sources[MAX_SOURCES];
	int nsources;
	const char *tokens, *save_tokens, *prefix;
	/* state */
	sb_account_t *accounts;
	user_t *users;
	device_t *devices;
	uint32_t ndevs_total;
	thread_t threads[MAX_THREADS];
	_Atomic int phase;
	uint64_t t_go, t_measure, t_stop, t_connect;
	_Atomic uint32_t ready, closed;
	pthread_mutex_t mu;
	char failure[512], first_error[256];
	_Atomic int failed;
	double client_cores, server_cores; /* in the measured window; server -1: unknown */
} B = { .mu = PTHREAD_MUTEX_INITIALIZER };

static void fail(const char *fmt, ...) VC_PRINTF(1, 2);
static void fail(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&B.mu);
	if (!atomic_load(&B.failed)) {
		va_start(ap, fmt);
		vsnprintf(B.failure, sizeof(B.failure), fmt, ap);
		va_end(ap);
		atomic_store(&B.failed, 1);
	}
	pthread_mutex_unlock(&B.mu);
}

/* The first error message a server sent, for the summary. */
static void note_error(const uint8_t *p, size_t n)
{
	pthread_mutex_lock(&B.mu);
	if (B.first_error[0] == '\0')
		snprintf(B.first_error, sizeof(B.first_error), "%.*s", n > 200 ? 200 : (int)n,
		         (const char *)p);
	pthread_mutex_unlock(&B.mu);
}

static const char *mode_name(void)
{
	return B.mode == MODE_VCD ? "vcd" : "node";
}

/* --- sending ----------------------------------------------------------------------- */

static void send_sync(thread_t *t, user_t *u)
{
	device_t *dv = &u->dev[0];
	uint64_t n = u->sent++, now = vcb_now_ns();
	slot_t *s = &u->ring[n % RING];
	char msg[MSG_MAX];
	int len;

	*s = (slot_t){ .n = n, .sent_ns = now, .used = true };
	s->measured = now >= B.t_measure && now < B.t_stop;
	if (s->measured)
		atomic_fetch_add_explicit(&t->sent_measured, 1, memory_order_relaxed);
	t->sent++;
	len = snprintf(msg, sizeof(msg),
	               "{\"type\":\"account_sync\",\"clientInstanceId\":\"dev0\","
	               "\"payload\":{\"t\":%llu,\"n\":%llu}}",
	               (unsigned long long)now, (unsigned long long)n);
	vcb_conn_send(&t->loop, &dv->conn, VCB_OP_TEXT, msg, (size_t)len);
}

/* Whether u's sender may send now. */
static bool may_send(thread_t *t, user_t *u, uint64_t now)
{
	const slot_t *last;

	if (now < B.t_go || now >= B.t_stop || u->ndev < 2 || !u->dev[0].identified ||
	    u->dev[0].conn.state != VCB_CONN_OPEN)
		return false;
	if (B.rate > 0) {
		uint64_t period = (uint64_t)(1e9 / B.rate);
		if (now < u->due_ns)
			return false;
		u->due_ns += period;
		if (u->due_ns <= now) { /* behind: skip, never burst into signal_rate */
			t->skipped += (now - u->due_ns) / period + 1;
			u->due_ns = now + period;
		}
		return true;
	}
	if (u->sent == 0)
		return true;
	last = &u->ring[(u->sent - 1) % RING];
	return last->done || now - last->sent_ns > STALL_NS;
}

static void send_due(thread_t *t)
{
	uint64_t now = vcb_now_ns();

	for (size_t i = 0; i < t->nusers; i++)
		if (may_send(t, t->users[i], now))
			send_sync(t, t->users[i]);
}

/* --- receiving ------------------------------------------------------------------------ */

static int64_t int_of(json_t *o, const char *key, bool *ok)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v))
		*ok = false;
	return json_integer_value(v);
}

/* An account_sync for device dv. */
static void on_sync(thread_t *t, device_t *dv, json_t *m, uint64_t now)
{
	user_t *u = dv->u;
	json_t *payload = json_object_get(m, "payload");
	const char *from = json_string_value(json_object_get(m, "fromUserId"));
	const char *cid = json_string_value(json_object_get(m, "clientInstanceId"));
	bool ok = true, behind;
	int64_t n = int_of(payload, "n", &ok), seq = int_of(m, "seq", &ok);
	slot_t *s;

	if (dv->d == 0) {
		t->echoes++;
		return;
	}
	if (!ok || n < 0 || from == NULL || cid == NULL) {
		t->bad++;
		return;
	}
	if ((u->id[0] != '\0' && strcmp(from, u->id) != 0) || strcmp(cid, "dev0") != 0) {
		t->misrouted++;
		return;
	}
	if (dv->last_seq >= 0 && seq != dv->last_seq + 1)
		t->seq_errors++;
	dv->last_seq = seq;
	s = &u->ring[(uint64_t)n % RING];
	if (!s->used || s->n != (uint64_t)n) {
		t->late++; /* too old to tell a duplicate from a late one */
		return;
	}
	if (s->got & (1u << dv->d)) {
		t->dups++;
		return;
	}
	behind = (uint64_t)n < dv->next_n;
	if (behind) {
		t->ooo++;
	} else {
		if ((uint64_t)n > dv->next_n) {
			t->gaps++;
			t->gap_msgs += (uint64_t)n - dv->next_n;
		}
		dv->next_n = (uint64_t)n + 1;
	}
	s->got |= 1u << dv->d;
	t->deliveries++;
	if (now >= B.t_measure && now <= B.t_stop)
		t->in_window++;
	if ((uint32_t)__builtin_popcount(s->got) < u->ndev - 1)
		return;
	s->done = true;
	if (s->measured) {
		vcb_hist_add(&t->hist, now > s->sent_ns ? now - s->sent_ns : 0);
		atomic_fetch_add_explicit(&t->done_measured, 1, memory_order_relaxed);
	}
	if (B.rate == 0 && may_send(t, u, now))
		send_sync(t, u);
}

static void on_ack(thread_t *t, device_t *dv, json_t *m)
{
	bool ok = true;
	int64_t seq = int_of(m, "seq", &ok);

	if (dv->d != 0 || !ok) {
		t->ack_errors++;
		return;
	}
	t->acks++;
	if (dv->u->last_ack >= 0 && seq <= dv->u->last_ack)
		t->ack_errors++;
	dv->u->last_ack = seq;
}

static void on_identified(thread_t *t, device_t *dv, json_t *m, uint64_t now)
{
	const char *id = json_string_value(json_object_get(m, "oderId"));

	if (dv->identified) {
		t->other++;
		return;
	}
	if (id != NULL && !dv->u->id_told) {
		snprintf(dv->u->id, sizeof(dv->u->id), "%s", id);
		dv->u->id_told = true;
	} else if (id != NULL && strcmp(id, dv->u->id) != 0) {
		t->misrouted++; /* one token, two users */
	}
	dv->identified = true;
	t->connecting--;
	t->ready_ns = now;
	atomic_fetch_add(&B.ready, 1);
}

static void on_message(vcb_loop_t *l, vcb_conn_t *c, int opcode, const uint8_t *p, size_t n,
                       uint64_t now)
{
	thread_t *t = vc_container_of(l, thread_t, loop);
	device_t *dv = vc_container_of(c, device_t, conn);
	json_t *m = opcode == VCB_OP_TEXT ? json_loadb((const char *)p, n, 0, NULL) : NULL;
	const char *type = json_string_value(json_object_get(m, "type"));

	if (type == NULL) {
		t->bad++;
	} else if (strcmp(type, "account_sync") == 0) {
		on_sync(t, dv, m, now);
	} else if (strcmp(type, "account_sync_ack") == 0) {
		on_ack(t, dv, m);
	} else if (strcmp(type, "identified") == 0) {
		on_identified(t, dv, m, now);
	} else if (strcmp(type, "error") == 0) {
		const char *code = json_string_value(json_object_get(m, "code"));
		if (code != NULL && strcmp(code, "rate_limited") == 0)
			t->refused++;
		else
			t->server_errors++;
		note_error(p, n);
	} else if (strcmp(type, "auth_error") == 0 || strcmp(type, "auth_required") == 0) {
		char why[300];
		snprintf(why, sizeof(why), "identify answered %.*s", n > 200 ? 200 : (int)n,
		         (const char *)p);
		if (!dv->identified) {
			json_decref(m);
			vcb_conn_close(l, c, why);
			return;
		}
		t->server_errors++;
		note_error(p, n);
	} else {
		t->other++; /* account_sync_peer_online, pong */
	}
	json_decref(m);
}

/* Open: identify at once. */
static void on_open(vcb_loop_t *l, vcb_conn_t *c, uint64_t now)
{
	device_t *dv = vc_container_of(c, device_t, conn);
	char msg[MSG_MAX];
	int len;

	(void)now;
	len = snprintf(msg, sizeof(msg),
	               "{\"type\":\"identify\",\"token\":\"%s\",\"clientInstanceId\":\"dev%u\","
	               "\"connectionScope\":\"bench\"}",
	               dv->u->acc->token, dv->d);
	vcb_conn_send(l, c, VCB_OP_TEXT, msg, (size_t)len);
}

static void on_close(vcb_loop_t *l, vcb_conn_t *c, const char *why)
{
	thread_t *t = vc_container_of(l, thread_t, loop);
	device_t *dv = vc_container_of(c, device_t, conn);

	if (!dv->identified)
		t->connecting--;
	if (atomic_load(&B.phase) != PH_DONE) {
		atomic_fetch_add(&B.closed, 1);
		fail("user %u dev%u (node %u): %s", dv->u->idx, dv->d, dv->node + 1, why);
	}
}

static const vcb_conn_ops_t conn_ops = {
	.on_open = on_open,
	.on_message = on_message,
	.on_close = on_close,
};

/* --- threads ------------------------------------------------------------------------- */

static void connect_more(thread_t *t)
{
	while (t->connecting < B.connect_window && t->next_connect < t->ndevs &&
	       !atomic_load(&B.failed)) {
		device_t *dv = t->devs[t->next_connect++];
		t->connecting++;
		vcb_conn_start(&t->loop, &dv->conn, &B.nodes[dv->node],
		               B.nsources > 0 ? &B.sources[dv->idx % (uint32_t)B.nsources] : NULL,
		               "/ws");
	}
}

static void *thread_main(void *arg)
{
	thread_t *t = arg;
	struct epoll_event ev[256];

	while (atomic_load(&B.phase) != PH_DONE) {
		int phase = atomic_load_explicit(&B.phase, memory_order_acquire);
		int timeout = phase == PH_RUN && t->nusers > 0 ? 1 : 20;
		int n;

		if (phase == PH_CONNECT)
			connect_more(t);
		n = epoll_wait(t->loop.epfd, ev, (int)VC_ARRAY_LEN(ev), timeout);
		for (int i = 0; i < n; i++)
			vcb_conn_event(&t->loop, ev[i].data.ptr, ev[i].events);
		if (phase == PH_RUN)
			send_due(t);
	}
	for (size_t i = 0; i < t->ndevs; i++)
		vcb_conn_drop(&t->devs[i]->conn);
	return NULL;
}

static void start_threads(void)
{
	B.t_connect = vcb_now_ns();
	for (int i = 0; i < B.nthreads; i++)
		if (pthread_create(&B.threads[i].th, NULL, thread_main, &B.threads[i]) != 0)
			vc_fatal("pthread_create failed");
}

static void stop_threads(void)
{
	atomic_store(&B.phase, PH_DONE);
	for (int i = 0; i < B.nthreads; i++)
		pthread_join(B.threads[i].th, NULL);
}

/* Wait until every device identified; false (the failure in B.failure) if
 * one could not within 30 s plus 2 ms per device. */
static bool wait_identified(double *secs)
{
	uint64_t limit = vcb_now_ns() + 30000000000ull + (uint64_t)B.ndevs_total * 2000000u;
	uint64_t last = 0;

	while (atomic_load(&B.ready) < B.ndevs_total) {
		if (atomic_load(&B.failed))
			return false;
		if (vcb_now_ns() > limit) {
			fail("%u of %u devices identified within the time allowed",
			     atomic_load(&B.ready), B.ndevs_total);
			return false;
		}
		vcb_sleep_ns(1000000);
	}
	for (int i = 0; i < B.nthreads; i++)
		if (B.threads[i].ready_ns > last)
			last = B.threads[i].ready_ns;
	*secs = last > B.t_connect ? (double)(last - B.t_connect) / 1e9 : 1e-9;
	return true;
}

/* --- setup ----------------------------------------------------------------------------- */

/* Sessions for every user: node mode makes them up, vcd mode reads or
 * registers them. */
static bool get_accounts(void)
{
	char why[300];
	uint64_t t0 = vcb_now_ns();

	B.accounts = vc_calloc(B.nusers, sizeof(*B.accounts));
	if (B.mode == MODE_NODE) {
		for (uint32_t i = 0; i < B.nusers; i++) {
			snprintf(B.accounts[i].token, SB_TOKEN_MAX, "%s-%u", B.prefix, i);
			snprintf(B.accounts[i].id, SB_ID_MAX, "%s-%u", B.prefix, i);
		}
		return true;
	}
	if (B.tokens != NULL) {
		if (sb_accounts_read(B.tokens, B.accounts, B.nusers, why, sizeof(why)))
			return true;
	} else if (sb_accounts_register(&B.nodes[0], B.prefix, B.accounts, B.nusers,
	                                B.register_threads, why, sizeof(why))) {
		fprintf(stderr, "sigbench: %u sessions by the REST API in %.1f s\n", B.nusers,
		        (double)(vcb_now_ns() - t0) / 1e9);
		if (B.save_tokens == NULL ||
		    sb_accounts_write(B.save_tokens, B.accounts, B.nusers, why, sizeof(why)))
			return true;
	}
	fprintf(stderr, "sigbench: accounts: %s\n", why);
	return false;
}

static void setup(void)
{
	uint32_t total = B.idle > 0 ? B.idle : B.nusers * B.ndevices, k = 0;

	B.users = vc_calloc(B.nusers, sizeof(*B.users));
	B.devices = vc_calloc(total, sizeof(*B.devices));
	B.ndevs_total = total;
	for (int i = 0; i < B.nthreads; i++) {
		thread_t *t = &B.threads[i];
		vcb_loop_init(&t->loop, &conn_ops);
		t->users = vc_calloc(B.nusers / (uint32_t)B.nthreads + 1, sizeof(user_t *));
		t->devs = vc_calloc(total / (uint32_t)B.nthreads + B.ndevices, sizeof(device_t *));
	}
	for (uint32_t i = 0; i < B.nusers; i++) {
		user_t *u = &B.users[i];
		thread_t *t = &B.threads[i % (uint32_t)B.nthreads];
		u->idx = i;
		u->acc = &B.accounts[i];
		snprintf(u->id, sizeof(u->id), "%s", u->acc->id);
		u->dev = &B.devices[k];
		u->ndev = total - k < B.ndevices ? total - k : B.ndevices;
		u->last_ack = -1;
		/* paced senders start spread over one period */
		if (B.rate > 0)
			u->offset_ns =
			        (uint64_t)((double)(i * 7919u % 1000u) / 1000.0 * 1e9 / B.rate);
		for (uint32_t d = 0; d < u->ndev; d++, k++) {
			device_t *dv = &B.devices[k];
			dv->u = u;
			dv->d = d;
			dv->idx = k;
			dv->node = d % (uint32_t)B.nnodes;
			dv->last_seq = -1;
			dv->conn.fd = -1;
			t->devs[t->ndevs++] = dv;
		}
		if (B.idle == 0)
			t->users[t->nusers++] = u;
	}
}

/* --- the runs ---------------------------------------------------------------------------- */

static long long rss_sum(void)
{
	long long sum = 0;

	for (int i = 0; i < B.npids; i++) {
		long long r = vcb_rss_of(B.pids[i]);
		if (r < 0)
			return -1;
		sum += r;
	}
	return B.npids > 0 ? sum : -1;
}

static double cpu_sum(void)
{
	double sum = 0;

	for (int i = 0; i < B.npids; i++) {
		double c = vcb_proc_cpu_seconds(B.pids[i]);
		if (c < 0)
			return -1;
		sum += c;
	}
	return B.npids > 0 ? sum : -1;
}

static void print_target(void)
{
	printf("sigbench %s", mode_name());
	for (int i = 0; i < B.nnodes; i++)
		printf("%s%s:%d", i ? "," : " ", B.hosts[i], ntohs(B.nodes[i].sin_port));
}

static int run_idle(void)
{
	long long before = rss_sum(), after = -1;
	double secs = 0, per = 0;

	start_threads();
	if (!wait_identified(&secs)) {
		stop_threads();
		fprintf(stderr, "sigbench: %s\n", B.failure);
		return 1;
	}
	print_target();
	printf(" idle: %u identified connections (%u users) in %.2f s (%.0f/s)\n", B.idle, B.nusers,
	       secs, B.idle / (secs > 0 ? secs : 1e-9));
	fflush(stdout);
	vcb_sleep_ns(1000000000u); /* let the server settle */
	if (before >= 0 && (after = rss_sum()) >= 0) {
		per = (double)(after - before) / B.idle;
		printf("  server RSS %.1f MB before, %.1f MB with %u connections: %.0f bytes per "
		       "connection\n",
		       before / 1e6, after / 1e6, B.idle, per);
		fflush(stdout);
	}
	vcb_sleep_ns((uint64_t)(B.hold * 1e9));
	stop_threads();
	if (atomic_load(&B.closed) > 0) {
		fprintf(stderr, "sigbench: %u connections closed while held: %s\n",
		        atomic_load(&B.closed), B.failure);
		return 1;
	}
	printf("result mode=%s idle=1 connections=%u users=%u connect_s=%.3f connect_per_s=%.0f "
	       "rss_before=%lld rss_after=%lld rss_bytes_per_conn=%.0f\n",
	       mode_name(), B.idle, B.nusers, secs, B.idle / (secs > 0 ? secs : 1e-9), before,
	       after, per);
	return 0;
}

static void measured(uint64_t *sent, uint64_t *done)
{
	*sent = *done = 0;
	for (int i = 0; i < B.nthreads; i++) {
		*sent += atomic_load_explicit(&B.threads[i].sent_measured, memory_order_relaxed);
		*done += atomic_load_explicit(&B.threads[i].done_measured, memory_order_relaxed);
	}
}

/* After the measured window: until every measured message reached every
 * device, nothing moves for DRAIN_QUIET_NS, or DRAIN_MAX_NS passed. */
static void drain(void)
{
	uint64_t start = vcb_now_ns(), moved = start, last = 0, sent, done;

	for (;;) {
		uint64_t now = vcb_now_ns();
		measured(&sent, &done);
		if (done >= sent || now - start > DRAIN_MAX_NS || now - moved > DRAIN_QUIET_NS)
			return;
		if (done != last) {
			last = done;
			moved = now;
		}
		vcb_sleep_ns(10000000);
	}
}

/* The sum of every thread's counters into *s (hist merged into h). */
static void totals(thread_t *s, vcb_hist_t *h)
{
	memset(s, 0, sizeof(*s));
	for (int i = 0; i < B.nthreads; i++) {
		thread_t *t = &B.threads[i];
		vcb_hist_merge(h, &t->hist);
		s->sent += t->sent;
		s->deliveries += t->deliveries;
		s->in_window += t->in_window;
		s->dups += t->dups;
		s->gaps += t->gaps;
		s->gap_msgs += t->gap_msgs;
		s->ooo += t->ooo;
		s->echoes += t->echoes;
		s->misrouted += t->misrouted;
		s->late += t->late;
		s->seq_errors += t->seq_errors;
		s->acks += t->acks;
		s->ack_errors += t->ack_errors;
		s->refused += t->refused;
		s->server_errors += t->server_errors;
		s->bad += t->bad + t->loop.bad_frames;
		s->other += t->other;
		s->skipped += t->skipped;
	}
}

static void report(double connect_s)
{
	vcb_hist_t *h = vc_calloc(1, sizeof(*h));
	thread_t *s = vc_calloc(1, sizeof(*s));
	uint64_t sent, done, lost, no_ack, errors;
	double secs = B.duration;

	measured(&sent, &done);
	totals(s, h);
	lost = sent - done;
	no_ack = s->sent > s->acks ? s->sent - s->acks : 0;
	errors = lost + s->dups + s->gaps + s->ooo + s->echoes + s->misrouted + s->late +
	         s->seq_errors + no_ack + s->ack_errors + s->refused + s->server_errors + s->bad;
	print_target();
	printf(": %u user%s x %u devices, ", B.nusers, B.nusers == 1 ? "" : "s", B.ndevices);
	if (B.rate > 0)
		printf("%.1f account_sync/s per user, ", B.rate);
	else
		printf("closed loop, ");
	printf("%.1f s (+%.1f s warm-up), %d threads\n", B.duration, B.warmup, B.nthreads);
	printf("  CPU in the window: sigbench %.2f cores", B.client_cores);
	if (B.server_cores >= 0)
		printf(", the server%s %.2f cores", B.npids > 1 ? "s" : "", B.server_cores);
	printf("\n  connected and identified %u devices in %.2f s (%.0f/s)\n", B.ndevs_total,
	       connect_s, B.ndevs_total / connect_s);
	printf("  sent %llu measured account_sync (%.0f/s), %llu reached every device (%.0f/s); "
	       "%llu deliveries in the window (%.0f/s)\n",
	       (unsigned long long)sent, sent / secs, (unsigned long long)done, done / secs,
	       (unsigned long long)s->in_window, s->in_window / secs);
	printf("  send -> last device: p50 %.1f us, p99 %.1f us, p99.9 %.1f us, max %.1f us\n",
	       vcb_hist_pct(h, 0.50) / 1e3, vcb_hist_pct(h, 0.99) / 1e3,
	       vcb_hist_pct(h, 0.999) / 1e3, h->max / 1e3);
	printf("  lost %llu (not at every device when the run ended); duplicates %llu, gaps %llu "
	       "(%llu messages), out of order %llu, late %llu, echoed to the sender %llu, "
	       "misrouted %llu, seq errors %llu, acks missing %llu, ack errors %llu, "
	       "rate_limited %llu, other server errors %llu, malformed %llu; sends skipped "
	       "(sender behind) %llu\n",
	       (unsigned long long)lost, (unsigned long long)s->dups, (unsigned long long)s->gaps,
	       (unsigned long long)s->gap_msgs, (unsigned long long)s->ooo,
	       (unsigned long long)s->late, (unsigned long long)s->echoes,
	       (unsigned long long)s->misrouted, (unsigned long long)s->seq_errors,
	       (unsigned long long)no_ack, (unsigned long long)s->ack_errors,
	       (unsigned long long)s->refused, (unsigned long long)s->server_errors,
	       (unsigned long long)s->bad, (unsigned long long)s->skipped);
	if (B.first_error[0] != '\0')
		printf("  the first error from the server: %s\n", B.first_error);
	if (s->refused > 0)
		printf("  rate_limited: the server allows fewer messages per second per connection "
		       "(vcd: signal_rate) than --rate\n");
	printf("  errors %llu\n", (unsigned long long)errors);
	printf("result mode=%s nodes=%d users=%u devices=%u rate=%.1f seconds=%.3f sent=%llu "
	       "msgs_per_s=%.0f deliveries_per_s=%.0f p50_us=%.1f p99_us=%.1f p999_us=%.1f "
	       "max_us=%.1f completed=%llu lost=%llu duplicates=%llu gaps=%llu out_of_order=%llu "
	       "echoes=%llu misrouted=%llu seq_errors=%llu refused=%llu errors=%llu "
	       "connect_per_s=%.0f client_cores=%.2f server_cores=%.2f\n",
	       mode_name(), B.nnodes, B.nusers, B.ndevices, B.rate, secs, (unsigned long long)sent,
	       done / secs, s->in_window / secs, vcb_hist_pct(h, 0.50) / 1e3,
	       vcb_hist_pct(h, 0.99) / 1e3, vcb_hist_pct(h, 0.999) / 1e3, h->max / 1e3,
	       (unsigned long long)done, (unsigned long long)lost, (unsigned long long)s->dups,
	       (unsigned long long)s->gaps, (unsigned long long)s->ooo,
	       (unsigned long long)s->echoes, (unsigned long long)s->misrouted,
	       (unsigned long long)s->seq_errors, (unsigned long long)s->refused,
	       (unsigned long long)errors, B.ndevs_total / connect_s, B.client_cores,
	       B.server_cores);
	free(s);
	free(h);
}

static int run_load(void)
{
	double connect_s = 0, cpu0, srv0, srv1;

	start_threads();
	if (!wait_identified(&connect_s)) {
		stop_threads();
		fprintf(stderr, "sigbench: %s\n", B.failure);
		return 1;
	}
	B.t_go = vcb_now_ns() + 10000000u;
	B.t_measure = B.t_go + (uint64_t)(B.warmup * 1e9);
	B.t_stop = B.t_measure + (uint64_t)(B.duration * 1e9);
	for (uint32_t i = 0; i < B.nusers; i++)
		B.users[i].due_ns = B.t_go + B.users[i].offset_ns;
	atomic_store_explicit(&B.phase, PH_RUN, memory_order_release);
	vcb_sleep_ns(B.t_measure - vcb_now_ns());
	cpu0 = vcb_cpu_seconds();
	srv0 = cpu_sum();
	vcb_sleep_ns(B.t_stop - vcb_now_ns());
	B.client_cores = (vcb_cpu_seconds() - cpu0) / B.duration;
	B.server_cores = srv0 >= 0 && (srv1 = cpu_sum()) >= 0 ? (srv1 - srv0) / B.duration : -1;
	drain();
	stop_threads();
	if (atomic_load(&B.closed) > 0) {
		fprintf(stderr, "sigbench: %u devices were closed during the run; the first: %s\n",
		        atomic_load(&B.closed), B.failure);
		return 1;
	}
	report(connect_s);
	return 0;
}

/* --- options ------------------------------------------------------------------------------ */

static int usage(const char *why)
{
	if (why != NULL)
		fprintf(stderr, "sigbench: %s\n", why);
	fprintf(stderr,
	        "usage: sigbench (--url HOST:PORT | --nodes HOST:PORT,HOST:PORT...) [--mode "
	        "vcd|node]\n"
	        "         [--users U] [--devices D] [--rate MSGS/S per user (0: closed loop)]\n"
	        "         [--duration S] [--warmup S] [--threads T] [--connect-window N]\n"
	        "         [--tokens FILE | --user-prefix NAME [--register-threads N]\n"
	        "          [--save-tokens FILE]]\n"
	        "         [--sources A-B|A,B,...] [--server-pid PID[,PID...]]\n"
	        "       sigbench --idle N [--hold S] ... (N identified connections, D per user)\n");
	return 2;
}

static bool parse_nodes(const char *s)
{
	char buf[1024], *tok, *save;

	snprintf(buf, sizeof(buf), "%s", s);
	B.nnodes = 0;
	for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		if (B.nnodes == MAX_NODES ||
		    !vcb_parse_addr(tok, &B.nodes[B.nnodes], B.hosts[B.nnodes], sizeof(B.hosts[0])))
			return false;
		B.nnodes++;
	}
	return B.nnodes > 0;
}

static bool parse_pids(const char *s)
{
	char *end;

	B.npids = 0;
	while (*s != '\0' && B.npids < MAX_NODES) {
		long p = strtol(s, &end, 10);
		if (p <= 0 || end == s || (*end != ',' && *end != '\0'))
			return false;
		B.pids[B.npids++] = p;
		s = *end == ',' ? end + 1 : end;
	}
	return *s == '\0' && B.npids > 0;
}

static int parse_args(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "url", required_argument, NULL, 'u' },
		{ "nodes", required_argument, NULL, 'N' },
		{ "mode", required_argument, NULL, 'm' },
		{ "users", required_argument, NULL, 'U' },
		{ "devices", required_argument, NULL, 'D' },
		{ "rate", required_argument, NULL, 'R' },
		{ "duration", required_argument, NULL, 'd' },
		{ "warmup", required_argument, NULL, 'W' },
		{ "threads", required_argument, NULL, 't' },
		{ "connect-window", required_argument, NULL, 'c' },
		{ "tokens", required_argument, NULL, 'k' },
		{ "save-tokens", required_argument, NULL, 'K' },
		{ "user-prefix", required_argument, NULL, 'p' },
		{ "register-threads", required_argument, NULL, 'r' },
		{ "sources", required_argument, NULL, 'S' },
		{ "server-pid", required_argument, NULL, 'P' },
		{ "idle", required_argument, NULL, 'i' },
		{ "hold", required_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int o;

	B.mode = MODE_VCD;
	B.nusers = 100;
	B.ndevices = 5;
	B.rate = 10;
	B.duration = 10;
	B.warmup = 2;
	B.nthreads = 2;
	B.connect_window = 64;
	B.register_threads = 4;
	B.prefix = "sigbench";
	B.server_cores = -1;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'u':
		case 'N':
			if (!parse_nodes(optarg))
				return usage("--url/--nodes: IPv4 HOST:PORT, commas between nodes");
			break;
		case 'm':
			if (strcmp(optarg, "vcd") != 0 && strcmp(optarg, "node") != 0)
				return usage("--mode is vcd or node");
			B.mode = strcmp(optarg, "vcd") == 0 ? MODE_VCD : MODE_NODE;
			break;
		case 'U': B.nusers = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'D': B.ndevices = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'R': B.rate = atof(optarg); break;
		case 'd': B.duration = atof(optarg); break;
		case 'W': B.warmup = atof(optarg); break;
		case 't': B.nthreads = atoi(optarg); break;
		case 'c': B.connect_window = atoi(optarg); break;
		case 'k': B.tokens = optarg; break;
		case 'K': B.save_tokens = optarg; break;
		case 'p': B.prefix = optarg; break;
		case 'r': B.register_threads = atoi(optarg); break;
		case 'S':
			if ((B.nsources = vcb_parse_sources(optarg, B.sources, MAX_SOURCES)) == 0)
				return usage("--sources: IPv4 addresses, A-B ranges, commas");
			break;
		case 'P':
			if (!parse_pids(optarg))
				return usage("--server-pid: process ids, commas between them");
			break;
		case 'i': B.idle = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'h': B.hold = atof(optarg); break;
		default: return usage(NULL);
		}
	}
	if (optind < argc)
		return usage("unexpected arguments");
	if (B.nnodes == 0)
		return usage("--url or --nodes is required");
	if (B.ndevices < 2 || B.ndevices > MAX_DEVICES)
		return usage("--devices must be 2-32 (one sends, the others receive)");
	if (B.idle > 0)
		B.nusers = (B.idle + B.ndevices - 1) / B.ndevices;
	if (B.nusers < 1)
		return usage("--users must be >= 1");
	if (B.rate < 0 || B.duration <= 0 || B.warmup < 0 || B.hold < 0)
		return usage("--rate, --duration, --warmup and --hold must not be negative");
	if (B.nthreads < 1 || B.nthreads > MAX_THREADS || B.connect_window < 1 ||
	    B.register_threads < 1)
		return usage(
		        "--threads must be 1-16, --connect-window and --register-threads >= 1");
	if (strlen(B.prefix) > 20 ||
	    strspn(B.prefix, "abcdefghijklmnopqrstuvwxyz"
	                     "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != strlen(B.prefix))
		return usage("--user-prefix: at most 20 letters, digits, '_', '.' or '-'");
	if ((uint32_t)B.nthreads > B.nusers)
		B.nthreads = (int)B.nusers;
	return 0;
}

int main(int argc, char **argv)
{
	int rc = parse_args(argc, argv);

	if (rc != 0)
		return rc;
	if (sodium_init() < 0)
		vc_fatal("sodium_init failed");
	signal(SIGPIPE, SIG_IGN);
	vcb_raise_nofile("sigbench",
	                 (B.idle > 0 ? B.idle : B.nusers * B.ndevices) + (unsigned long)64);
	if (!get_accounts())
		return 1;
	setup();
	return B.idle > 0 ? run_idle() : run_load();
}
