/*
 * vcbench.c — the load generator of the media relay benchmark (make bench,
 * BENCH_ONLY=lobby): N WebSocket clients spread over R rooms, P publishers
 * per room sending S-byte binary messages, every other client of the room
 * receiving them. It measures deliveries per second and the latency of
 * each delivery, and checks that every message reached every other client
 * of its room exactly once.
 *
 *   --mode vcd    GET /lobby?token=JWT (a room token minted per client with
 *                 --jwt-secret); messages are PacketWrappers (MEDIA, with the
 *                 session id from SESSION_ASSIGNED, so vcd relays them byte
 *                 for byte) carrying the bench data.
 *   --mode plain  GET /room/benchR; messages are the bench data alone (the
 *                 libev + wslay baseline and the Node relay of t/bench).
 *
 * The bench data (vcbench.h): a magic, the sender's index, its sequence
 * number, the seq of its first measured message and a CLOCK_MONOTONIC send
 * time, padded so that the WebSocket payload is --size bytes. Receivers
 * take the time once per read() and ignore messages without the magic
 * (vcd's MEETING packets).
 *
 * Time line: connect every client (a bounded number of handshakes in
 * flight per thread; vcd: until SESSION_ASSIGNED), then publishers send for
 * --warmup seconds (not counted: vcd activates a session on its first
 * packet), then --duration seconds measured, then a drain of at most 5 s
 * until every measured message is in (or nothing moves for 0.5 s).
 * --rate N paces each publisher at N messages/s (publishers offset over the
 * period, no synchronized bursts); --rate 0 floods, each publisher keeping
 * at most --window messages ahead of the slowest receiver of its room.
 *
 * Counting: deliveries/s is the deliveries that arrived within the measured
 * window (whenever they were sent) divided by its length; latency is that of
 * the messages sent within it (drain included); expected = each measured
 * message times the other members of its room; lost = expected - received (vcd counts its
 * deliberate drops for slow readers in /metrics vcd_lobby_dropped_total,
 * read before and after); duplicates, gaps (forward jumps in a sender's
 * sequence), out-of-order arrivals and misrouted messages are errors.
 *
 * --server-pid P: the CPU P used in the measured window is reported.
 *
 * --idle: connect N, print the connect rate, with --server-pid read the
 * server's VmRSS before connecting and after all are connected (bytes per
 * connection), hold --hold seconds answering pings, close.
 *
 * --selftest: a minted token checked by vcd's own verifier, vcd's own
 * decoder on the PacketWrapper vcbench sends, RFC 6455's handshake example.
 *
 * Output: a human summary, then one "result key=value ..." line for run.sh.
 * Exit status 1 when the run could not happen (a client could not connect
 * or was closed), 0 otherwise (errors are counted and printed).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "runtime/vc.h"
#include "t/bench/vcbench.h"
#include "wire/jwt.h"
#include "wire/proto.h"

#define MAX_THREADS 16
#define MAX_SOURCES 256
#define BURST_MAX 256         /* messages one publisher writes per turn */
#define STALL_NS 200000000ull /* flood: a window that has not moved for this long is pushed on */
#define DRAIN_MAX_NS 5000000000ull
#define DRAIN_QUIET_NS 500000000ull
#define SEEN_BITS 1024 /* recent sequence numbers remembered per sender */
#define JWT_LIFETIME_S 3600

enum mode { MODE_VCD, MODE_PLAIN };
enum phase { PH_CONNECT, PH_RUN, PH_DONE };

/* What a receiver knows of one publisher of its room. next is read by the
 * publisher's thread (flood window), written only by the receiver's. */
typedef struct track {
	_Atomic uint64_t next; /* highest seq seen + 1 */
	uint64_t got;          /* measured messages received once */
	uint64_t seen[SEEN_BITS / 64];
} track_t;

typedef struct client {
	vcb_conn_t conn;
	uint32_t idx, room, slot;
	bool ready; /* vcd: SESSION_ASSIGNED came; plain: open */
	uint64_t session_id;
	/* as a publisher */
	bool publisher;
	uint64_t sent, base, stall_since, stall_low, offset_ns;
	_Atomic uint64_t measured; /* measured messages sent */
	size_t dlen;               /* bench data bytes in each message */
	vcb_wrapper_t wrap;
	/* as a receiver: one per publisher of the room */
	track_t *track;
} client_t;

typedef struct room {
	client_t **members;
	uint32_t n;
} room_t;

typedef struct thread {
	int id;
	vcb_loop_t loop;
	pthread_t th;
	client_t **clients, **pubs;
	size_t nclients, npubs, next_connect;
	int connecting;
	vcb_hist_t hist;
	_Atomic uint64_t got; /* measured deliveries, unique */
	uint64_t in_window, dups, ooo, gaps, gap_msgs, misrouted, warm, other, bad, stalls;
	uint64_t ready_ns;
} thread_t;

static struct {
	/* options */
	enum mode mode;
	char host[64];
	struct sockaddr_in to;
	const char *secret;
	uint32_t nclients, nrooms, npub, size, window;
	double rate, duration, warmup, hold;
	int nthreads, connect_window;
	struct in_addr sources[MAX_SOURCES];
	int nsources;
	bool idle;
	long server_pid;
	/* state */
	client_t *clients;
	room_t *rooms;
	thread_t threads[MAX_THREADS];
	_Atomic int phase;
	uint64_t t_go, t_measure, t_stop, t_connect;
	_Atomic uint32_t ready;
	_Atomic uint32_t closed; /* clients closed during the run */
	pthread_mutex_t fail_mu;
	char failure[512];
	_Atomic int failed;
	double client_cores; /* vcbench's CPU use in the measured window */
	double server_cores; /* --server-pid's, -1 when not known */
} B = { .fail_mu = PTHREAD_MUTEX_INITIALIZER };

static void fail(const char *fmt, ...) VC_PRINTF(1, 2);
static void fail(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&B.fail_mu);
	if (!atomic_load(&B.failed)) {
		va_start(ap, fmt);
		vsnprintf(B.failure, sizeof(B.failure), fmt, ap);
		va_end(ap);
		atomic_store(&B.failed, 1);
	}
	pthread_mutex_unlock(&B.fail_mu);
}

/* --- receiving ---------------------------------------------------------------------- */

/* c ended (the layer closes its socket): a client closed before the end
 * of the run fails it. */
static void on_close(vcb_loop_t *l, vcb_conn_t *conn, const char *why)
{
	thread_t *t = vc_container_of(l, thread_t, loop);
	client_t *c = vc_container_of(conn, client_t, conn);

	if (!c->ready)
		t->connecting--;
	if (atomic_load(&B.phase) != PH_DONE) {
		atomic_fetch_add(&B.closed, 1);
		fail("client %u: %s", c->idx, why);
	}
}

static void set_ready(thread_t *t, client_t *c, uint64_t now)
{
	c->ready = true;
	t->connecting--;
	t->ready_ns = now;
	atomic_fetch_add(&B.ready, 1);
}

static bool seen_get(const track_t *k, uint64_t seq)
{
	return (k->seen[(seq % SEEN_BITS) / 64] >> (seq % 64)) & 1;
}

static void seen_set(track_t *k, uint64_t seq)
{
	k->seen[(seq % SEEN_BITS) / 64] |= 1ull << (seq % 64);
}

static void seen_clear(track_t *k, uint64_t seq)
{
	k->seen[(seq % SEEN_BITS) / 64] &= ~(1ull << (seq % 64));
}

/* A bench message for client c: account for it. Returns 1 when it is a
 * measured message c gets for the first time, 0 for a warm-up message c gets
 * for the first time, -1 for a duplicate. */
static int track(thread_t *t, client_t *c, track_t *k, const vcb_data_t *d)
{
	uint64_t next = atomic_load_explicit(&k->next, memory_order_relaxed);
	bool measured = d->base != VCB_WARM && d->seq >= d->base;

	if (d->seq >= next) {
		uint64_t from = next > d->base || !measured ? next : d->base;
		if (measured && d->seq > from) {
			t->gaps++;
			t->gap_msgs += d->seq - from;
		}
		for (uint64_t s = d->seq - next > SEEN_BITS ? d->seq - SEEN_BITS : next; s < d->seq;
		     s++)
			seen_clear(k, s);
		seen_set(k, d->seq);
		atomic_store_explicit(&k->next, d->seq + 1, memory_order_relaxed);
	} else if (next - d->seq > SEEN_BITS) {
		t->ooo++; /* too old to tell a duplicate from a late one */
	} else if (seen_get(k, d->seq)) {
		t->dups++;
		return -1;
	} else {
		t->ooo++;
		seen_set(k, d->seq);
	}
	if (!measured) {
		t->warm++;
		return 0;
	}
	k->got++;
	return 1;
}

static void deliver(thread_t *t, client_t *c, const uint8_t *p, size_t n, uint64_t now)
{
	vcb_data_t d;
	uint32_t slot;
	int first;

	if (n < VCB_DATA_MIN || c->track == NULL) { /* --idle: nothing to count */
		t->other++;
		return;
	}
	memcpy(&d, p, sizeof(d));
	if (d.magic != VCB_MAGIC) {
		t->other++;
		return;
	}
	slot = d.sender / B.nrooms;
	if (d.sender >= B.nclients || d.sender % B.nrooms != c->room || slot >= B.npub ||
	    d.sender == c->idx) {
		t->misrouted++;
		return;
	}
	if ((first = track(t, c, &c->track[slot], &d)) < 0)
		return;
	/* the rate: whatever arrives within the window, sent before it or not
	 * (a relay with seconds of backlog is not credited with less than it
	 * delivered, nor one with none with more) */
	if (now >= B.t_measure && now <= B.t_stop)
		t->in_window++;
	if (first == 0)
		return;
	atomic_store_explicit(&t->got, atomic_load_explicit(&t->got, memory_order_relaxed) + 1,
	                      memory_order_relaxed);
	vcb_hist_add(&t->hist, now > d.sent_ns ? now - d.sent_ns : 0);
}

static void on_binary(thread_t *t, client_t *c, const uint8_t *p, size_t n, uint64_t now)
{
	uint64_t type, sid;
	const uint8_t *data;
	size_t dlen;

	if (B.mode == MODE_PLAIN) {
		deliver(t, c, p, n, now);
		return;
	}
	if (!vcb_wrapper_parse(p, n, &type, &data, &dlen, &sid)) {
		t->bad++;
		return;
	}
	if (!c->ready) {
		if (type == VCB_PT_SESSION_ASSIGNED && sid != 0) {
			c->session_id = sid;
			set_ready(t, c, now);
		} else {
			t->other++;
		}
	} else if (type == VCB_PT_MEDIA && data != NULL) {
		deliver(t, c, data, dlen, now);
	} else {
		t->other++;
	}
}

static void on_open(vcb_loop_t *l, vcb_conn_t *conn, uint64_t now)
{
	if (B.mode == MODE_PLAIN)
		set_ready(vc_container_of(l, thread_t, loop), vc_container_of(conn, client_t, conn),
		          now);
}

static void on_message(vcb_loop_t *l, vcb_conn_t *conn, int opcode, const uint8_t *p, size_t n,
                       uint64_t now)
{
	thread_t *t = vc_container_of(l, thread_t, loop);

	if (opcode == VCB_OP_BIN)
		on_binary(t, vc_container_of(conn, client_t, conn), p, n, now);
	else
		t->other++;
}

static const vcb_conn_ops_t conn_ops = {
	.on_open = on_open,
	.on_message = on_message,
	.on_close = on_close,
};

/* --- connecting ---------------------------------------------------------------------- */

/* Connect c and queue its upgrade: vcd, /lobby with a room token minted
 * for it; plain, /room/benchR. */
static void start_connect(thread_t *t, client_t *c)
{
	char path[1024];

	if (B.mode == MODE_VCD) {
		char jwt[900];
		if (!vcb_mint_jwt(B.secret, c->idx, c->room, (long long)time(NULL) + JWT_LIFETIME_S,
		                  jwt, sizeof(jwt)))
			vc_fatal("minting a token failed");
		snprintf(path, sizeof(path), "/lobby?token=%s", jwt);
	} else {
		snprintf(path, sizeof(path), "/room/bench%u", c->room);
	}
	t->connecting++;
	vcb_conn_start(&t->loop, &c->conn, &B.to,
	               B.nsources > 0 ? &B.sources[c->idx % (uint32_t)B.nsources] : NULL, path);
}

static void connect_more(thread_t *t)
{
	while (t->connecting < B.connect_window && t->next_connect < t->nclients &&
	       !atomic_load(&B.failed))
		start_connect(t, t->clients[t->next_connect++]);
}

/* --- publishing --------------------------------------------------------------------- */

/* Messages publisher c may send now. */
static uint64_t due(thread_t *t, client_t *c, uint64_t now)
{
	if (B.rate > 0) {
		uint64_t start = B.t_go + c->offset_ns, target;
		if (now < start)
			return 0;
		target = (uint64_t)((double)(now - start) * B.rate / 1e9) + 1;
		return target > c->sent ? target - c->sent : 0;
	}
	room_t *r = &B.rooms[c->room];
	uint64_t low = c->sent;
	for (uint32_t i = 0; i < r->n; i++) {
		client_t *m = r->members[i];
		uint64_t next;
		if (m == c)
			continue;
		next = atomic_load_explicit(&m->track[c->slot].next, memory_order_relaxed);
		if (next < low)
			low = next;
	}
	if (c->sent - low < B.window) {
		c->stall_since = 0;
		return B.window - (c->sent - low);
	}
	/* A slow relay moves the window slowly; one that dropped the messages
	 * at the window's end never moves it. After STALL_NS without a move,
	 * send one message: if it arrives, it moves the receiver past the lost
	 * ones. One, not more: an overloaded relay (Node's ws, seconds behind)
	 * stalls often, and pushing the window on made its backlog grow
	 * without bound; one probe per STALL_NS adds at most 5 messages/s. */
	if (c->stall_since == 0 || low != c->stall_low) {
		c->stall_since = now;
		c->stall_low = low;
	} else if (now - c->stall_since > STALL_NS) {
		t->stalls++;
		c->stall_since = 0;
		return 1;
	}
	return 0;
}

static void publish_one(thread_t *t, client_t *c, uint64_t now)
{
	uint64_t n;
	size_t frame = VCB_FRAME_MAX_HDR + B.size;

	if (!c->ready || c->conn.state != VCB_CONN_OPEN || c->conn.out_len > 0)
		return;
	if (now >= B.t_measure && c->base == VCB_WARM)
		c->base = c->sent;
	if ((n = due(t, c, now)) == 0)
		return;
	if (n > BURST_MAX)
		n = BURST_MAX;
	vcb_conn_reserve(&c->conn, n * frame);
	for (uint64_t i = 0; i < n; i++) {
		uint8_t *o = c->conn.out + c->conn.out_len, *payload;
		uint32_t mask = vcb_loop_rand(&t->loop);
		vcb_data_t d = { .magic = VCB_MAGIC,
			         .sender = c->idx,
			         .seq = c->sent++,
			         .base = c->base,
			         .sent_ns = now };
		size_t h = vcb_frame_header(o, VCB_OP_BIN, B.size, mask), p = 0;
		payload = o + h;
		if (B.mode == MODE_VCD) {
			memcpy(payload, c->wrap.prefix, c->wrap.prefix_len);
			p = c->wrap.prefix_len;
		}
		memcpy(payload + p, &d, sizeof(d));
		memset(payload + p + sizeof(d), 0, c->dlen - sizeof(d));
		if (B.mode == MODE_VCD)
			memcpy(payload + p + c->dlen, c->wrap.suffix, c->wrap.suffix_len);
		vcb_mask(payload, B.size, mask);
		c->conn.out_len += h + B.size;
	}
	if (c->base != VCB_WARM)
		atomic_store(&c->measured, c->sent - c->base);
	vcb_conn_flush(&t->loop, &c->conn);
}

static void publish(thread_t *t)
{
	uint64_t now = vcb_now_ns();

	if (now >= B.t_stop)
		return;
	for (size_t i = 0; i < t->npubs; i++)
		publish_one(t, t->pubs[i], now);
}

/* Before the first message: vcd mode's PacketWrapper around the data, now
 * that the session id is known, sized so that the whole is --size bytes. */
static void publisher_ready(client_t *c)
{
	char uid[24];

	c->dlen = B.size;
	if (B.mode != MODE_VCD)
		return;
	snprintf(uid, sizeof(uid), "u%u", c->idx);
	for (int i = 0; i < 4; i++) {
		size_t dlen;
		if (!vcb_wrapper_init(&c->wrap, uid, c->dlen, c->session_id))
			vc_fatal("PacketWrapper template");
		dlen = B.size - c->wrap.prefix_len - c->wrap.suffix_len;
		if (dlen == c->dlen)
			break;
		c->dlen = dlen;
	}
	if (c->wrap.prefix_len + c->dlen + c->wrap.suffix_len != B.size || c->dlen < VCB_DATA_MIN)
		vc_fatal("--size %u cannot hold a PacketWrapper with the bench data", B.size);
}

/* --- threads ------------------------------------------------------------------------ */

static void *thread_main(void *arg)
{
	thread_t *t = arg;
	struct epoll_event ev[256];
	bool pubs_ready = false;

	while (atomic_load(&B.phase) != PH_DONE) {
		int phase = atomic_load_explicit(&B.phase, memory_order_acquire);
		int timeout = phase == PH_RUN && t->npubs > 0 ? 1 : 20;
		int n;

		if (phase == PH_CONNECT)
			connect_more(t);
		n = epoll_wait(t->loop.epfd, ev, (int)VC_ARRAY_LEN(ev), timeout);
		for (int i = 0; i < n; i++)
			vcb_conn_event(&t->loop, ev[i].data.ptr, ev[i].events);
		if (phase == PH_RUN) {
			if (!pubs_ready) {
				for (size_t i = 0; i < t->npubs; i++)
					publisher_ready(t->pubs[i]);
				pubs_ready = true;
			}
			publish(t);
		}
	}
	for (size_t i = 0; i < t->nclients; i++)
		vcb_conn_drop(&t->clients[i]->conn);
	return NULL;
}

/* --- setup -------------------------------------------------------------------------- */

static size_t room_size(uint32_t r)
{
	return B.nclients / B.nrooms + (r < B.nclients % B.nrooms);
}

static void setup(void)
{
	uint32_t n = B.nclients;

	B.clients = vc_calloc(n, sizeof(*B.clients));
	B.rooms = vc_calloc(B.nrooms, sizeof(*B.rooms));
	for (uint32_t r = 0; r < B.nrooms; r++)
		B.rooms[r].members = vc_calloc(room_size(r), sizeof(client_t *));
	for (int i = 0; i < B.nthreads; i++) {
		thread_t *t = &B.threads[i];
		t->id = i;
		vcb_loop_init(&t->loop, &conn_ops);
		t->clients = vc_calloc(n / (uint32_t)B.nthreads + 1, sizeof(client_t *));
		t->pubs = vc_calloc(n / (uint32_t)B.nthreads + 1, sizeof(client_t *));
	}
	for (uint32_t i = 0; i < n; i++) {
		client_t *c = &B.clients[i];
		thread_t *t = &B.threads[i % (uint32_t)B.nthreads];
		room_t *r;
		c->idx = i;
		c->conn.fd = -1;
		c->room = i % B.nrooms;
		c->slot = i / B.nrooms;
		c->base = VCB_WARM;
		r = &B.rooms[c->room];
		r->members[r->n++] = c;
		if (!B.idle) {
			c->track = vc_calloc(B.npub, sizeof(track_t));
			c->publisher = c->slot < B.npub;
		}
		/* paced publishers start spread over one period */
		if (B.rate > 0)
			c->offset_ns =
			        (uint64_t)((double)(i * 7919u % 1000u) / 1000.0 * 1e9 / B.rate);
		t->clients[t->nclients++] = c;
		if (c->publisher)
			t->pubs[t->npubs++] = c;
	}
}

/* vcd's media drops so far (the sum of vcd_lobby_dropped_total), -1 when
 * /metrics could not be read. */
static long long vcd_dropped(void)
{
	struct sockaddr_in a = B.to;
	struct timeval tv = { .tv_sec = 5 };
	char req[256], *buf = vc_malloc(1 << 20), *l;
	size_t len = 0;
	long long sum = -1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ssize_t r;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	snprintf(req, sizeof(req),
	         "GET /metrics HTTP/1.1\r\nHost: %s:%d\r\nConnection: close\r\n\r\n", B.host,
	         ntohs(B.to.sin_port));
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    send(fd, req, strlen(req), MSG_NOSIGNAL) < 0)
		goto out;
	while (len + 1 < (1 << 20) && (r = recv(fd, buf + len, (1 << 20) - 1 - len, 0)) > 0)
		len += (size_t)r;
	buf[len] = '\0';
	for (l = buf; (l = strstr(l, "\nvcd_lobby_dropped_total")) != NULL; l++) {
		char *v = strchr(l + 1, ' ');
		sum = (sum < 0 ? 0 : sum) + (v != NULL ? strtoll(v + 1, NULL, 10) : 0);
	}
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return sum;
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

/* Wait until every client is ready; false (the failure in B.failure) if
 * one could not connect within 30 s plus 1 ms per client. */
static bool wait_connected(double *secs)
{
	uint64_t limit = vcb_now_ns() + 30000000000ull + (uint64_t)B.nclients * 1000000u;
	uint64_t last = 0;

	while (atomic_load(&B.ready) < B.nclients) {
		if (atomic_load(&B.failed))
			return false;
		if (vcb_now_ns() > limit) {
			fail("%u of %u clients connected within the time allowed",
			     atomic_load(&B.ready), B.nclients);
			return false;
		}
		vcb_sleep_ns(1000000);
	}
	for (int i = 0; i < B.nthreads; i++)
		if (B.threads[i].ready_ns > last)
			last = B.threads[i].ready_ns;
	*secs = (double)(last - B.t_connect) / 1e9;
	return true;
}

/* --- the runs -------------------------------------------------------------------------- */

static const char *mode_name(void)
{
	return B.mode == MODE_VCD ? "vcd" : "plain";
}

static int run_idle(void)
{
	long long before = B.server_pid > 0 ? vcb_rss_of(B.server_pid) : -1, after = -1;
	double secs = 0, per = 0;

	start_threads();
	if (!wait_connected(&secs)) {
		stop_threads();
		fprintf(stderr, "vcbench: %s\n", B.failure);
		return 1;
	}
	printf("vcbench idle: %u connections to %s %s:%d in %.2f s (%.0f/s)\n", B.nclients,
	       mode_name(), B.host, ntohs(B.to.sin_port), secs,
	       B.nclients / (secs > 0 ? secs : 1e-9));
	fflush(stdout);
	vcb_sleep_ns(1000000000u); /* let the server settle */
	if (B.server_pid > 0) {
		after = vcb_rss_of(B.server_pid);
		per = before >= 0 && after >= 0 ? (double)(after - before) / B.nclients : 0;
		printf("vcbench idle: server RSS %.1f MB before, %.1f MB with %u connections: "
		       "%.0f bytes per connection\n",
		       before / 1e6, after / 1e6, B.nclients, per);
		fflush(stdout);
	}
	vcb_sleep_ns((uint64_t)(B.hold * 1e9));
	stop_threads();
	if (atomic_load(&B.closed) > 0) {
		fprintf(stderr, "vcbench: %u connections closed while held: %s\n",
		        atomic_load(&B.closed), B.failure);
		return 1;
	}
	printf("result mode=%s idle=1 clients=%u connect_s=%.3f connect_per_s=%.0f "
	       "rss_before=%lld rss_after=%lld rss_bytes_per_conn=%.0f\n",
	       mode_name(), B.nclients, secs, B.nclients / (secs > 0 ? secs : 1e-9), before, after,
	       per);
	return 0;
}

/* Measured messages sent, and the deliveries they should make. */
static void expected(uint64_t *sent, uint64_t *want)
{
	*sent = *want = 0;
	for (uint32_t i = 0; i < B.nclients; i++) {
		client_t *c = &B.clients[i];
		if (c->publisher) {
			uint64_t m = atomic_load(&c->measured);
			*sent += m;
			*want += m * (room_size(c->room) - 1);
		}
	}
}

static uint64_t received(void)
{
	uint64_t n = 0;

	for (int i = 0; i < B.nthreads; i++)
		n += atomic_load_explicit(&B.threads[i].got, memory_order_relaxed);
	return n;
}

/* After the measured window: until every delivery is in, nothing moves for
 * DRAIN_QUIET_NS, or DRAIN_MAX_NS passed. */
static void drain(void)
{
	uint64_t start = vcb_now_ns(), moved = start, last = received(), sent, want;

	for (;;) {
		uint64_t now = vcb_now_ns(), got = received();
		expected(&sent, &want);
		if (got >= want || now - start > DRAIN_MAX_NS || now - moved > DRAIN_QUIET_NS)
			return;
		if (got != last) {
			last = got;
			moved = now;
		}
		vcb_sleep_ns(10000000);
	}
}

/* Publishers whose measured messages did not all reach every other
 * member of their room. */
static uint32_t senders_short(void)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < B.nclients; i++) {
		client_t *c = &B.clients[i];
		room_t *r = &B.rooms[c->room];
		uint64_t got = 0;
		if (!c->publisher)
			continue;
		for (uint32_t j = 0; j < r->n; j++)
			if (r->members[j] != c)
				got += r->members[j]->track[c->slot].got;
		n += got < atomic_load(&c->measured) * (r->n - 1);
	}
	return n;
}

static void report(double connect_s, long long dropped)
{
	vcb_hist_t *h = vc_calloc(1, sizeof(*h));
	uint64_t in_window = 0, dups = 0, ooo = 0, gaps = 0, gap_msgs = 0, misrouted = 0;
	uint64_t bad = 0, stalls = 0, sent, want, got = received(), lost, errors;
	double secs = B.duration;

	expected(&sent, &want);
	for (int i = 0; i < B.nthreads; i++) {
		thread_t *t = &B.threads[i];
		vcb_hist_merge(h, &t->hist);
		in_window += t->in_window;
		dups += t->dups;
		ooo += t->ooo;
		gaps += t->gaps;
		gap_msgs += t->gap_msgs;
		misrouted += t->misrouted;
		bad += t->bad + t->loop.bad_frames;
		stalls += t->stalls;
	}
	lost = want > got ? want - got : 0;
	errors = dups + ooo + misrouted + bad + atomic_load(&B.closed) +
	         (dropped >= 0 ? (lost > (uint64_t)dropped ? lost - (uint64_t)dropped : 0) : lost);
	printf("vcbench %s %s:%d: %u clients in %u rooms, %u publishers per room, %u B, ",
	       mode_name(), B.host, ntohs(B.to.sin_port), B.nclients, B.nrooms, B.npub, B.size);
	if (B.rate > 0)
		printf("%.0f msgs/s each, ", B.rate);
	else
		printf("flood (window %u), ", B.window);
	printf("%.1f s (+%.1f s warm-up), %d threads\n", B.duration, B.warmup, B.nthreads);
	printf("  CPU in the window: vcbench %.2f cores", B.client_cores);
	if (B.server_cores >= 0)
		printf(", the server (pid %ld) %.2f cores", B.server_pid, B.server_cores);
	printf("\n");
	printf("  connected in %.2f s (%.0f/s)\n", connect_s, B.nclients / connect_s);
	printf("  sent %llu messages (%.0f/s), %llu deliveries in the window (%.0f/s)\n",
	       (unsigned long long)sent, sent / secs, (unsigned long long)in_window,
	       in_window / secs);
	printf("  latency p50 %.0f us, p99 %.0f us, p99.9 %.0f us, max %.0f us\n",
	       vcb_hist_pct(h, 0.50) / 1e3, vcb_hist_pct(h, 0.99) / 1e3,
	       vcb_hist_pct(h, 0.999) / 1e3, h->max / 1e3);
	printf("  expected %llu deliveries, received %llu, lost %llu (not in when the run ended; "
	       "the server dropped %lld); "
	       "duplicates %llu, gaps %llu (%llu messages), out of order %llu, misrouted %llu, "
	       "malformed %llu, closed %u; window stalls %llu\n",
	       (unsigned long long)want, (unsigned long long)got, (unsigned long long)lost, dropped,
	       (unsigned long long)dups, (unsigned long long)gaps, (unsigned long long)gap_msgs,
	       (unsigned long long)ooo, (unsigned long long)misrouted, (unsigned long long)bad,
	       atomic_load(&B.closed), (unsigned long long)stalls);
	printf("  senders short of deliveries: %u of %u\n", senders_short(), B.npub * B.nrooms);
	printf("  errors %llu%s\n", (unsigned long long)errors,
	       errors ? " (duplicates, out of order, misrouted, malformed, closed, and losses "
	                "the server did not report)"
	              : "");
	printf("result mode=%s clients=%u rooms=%u publishers=%u size=%u rate=%.0f seconds=%.3f "
	       "sent=%llu sent_per_s=%.0f deliveries=%llu deliveries_per_s=%.0f p50_us=%.0f "
	       "p99_us=%.0f p999_us=%.0f max_us=%.0f expected=%llu received=%llu lost=%llu "
	       "server_dropped=%lld duplicates=%llu gaps=%llu out_of_order=%llu misrouted=%llu "
	       "errors=%llu connect_per_s=%.0f client_cores=%.2f server_cores=%.2f\n",
	       mode_name(), B.nclients, B.nrooms, B.npub, B.size, B.rate, secs,
	       (unsigned long long)sent, sent / secs, (unsigned long long)in_window,
	       in_window / secs, vcb_hist_pct(h, 0.50) / 1e3, vcb_hist_pct(h, 0.99) / 1e3,
	       vcb_hist_pct(h, 0.999) / 1e3, h->max / 1e3, (unsigned long long)want,
	       (unsigned long long)got, (unsigned long long)lost, dropped, (unsigned long long)dups,
	       (unsigned long long)gaps, (unsigned long long)ooo, (unsigned long long)misrouted,
	       (unsigned long long)errors, B.nclients / connect_s, B.client_cores, B.server_cores);
	free(h);
}

static int run_load(void)
{
	long long d0 = B.mode == MODE_VCD ? vcd_dropped() : -1, d1;
	double connect_s = 0, cpu0, srv0, srv1;

	start_threads();
	if (!wait_connected(&connect_s)) {
		stop_threads();
		fprintf(stderr, "vcbench: %s\n", B.failure);
		return 1;
	}
	B.t_go = vcb_now_ns() + 10000000u;
	B.t_measure = B.t_go + (uint64_t)(B.warmup * 1e9);
	B.t_stop = B.t_measure + (uint64_t)(B.duration * 1e9);
	atomic_store_explicit(&B.phase, PH_RUN, memory_order_release);
	vcb_sleep_ns(B.t_measure - vcb_now_ns());
	cpu0 = vcb_cpu_seconds();
	srv0 = B.server_pid > 0 ? vcb_proc_cpu_seconds(B.server_pid) : -1;
	vcb_sleep_ns(B.t_stop - vcb_now_ns());
	B.client_cores = (vcb_cpu_seconds() - cpu0) / B.duration;
	if (srv0 >= 0 && (srv1 = vcb_proc_cpu_seconds(B.server_pid)) >= 0)
		B.server_cores = (srv1 - srv0) / B.duration;
	drain();
	stop_threads();
	if (atomic_load(&B.closed) > 0) {
		fprintf(stderr, "vcbench: %u clients were closed during the run; the first: %s\n",
		        atomic_load(&B.closed), B.failure);
		return 1;
	}
	d1 = d0 >= 0 ? vcd_dropped() : -1;
	report(connect_s, d0 >= 0 && d1 >= 0 ? d1 - d0 : -1);
	return 0;
}

/* --- selftest ------------------------------------------------------------------------- */

static int selftest_fail(const char *what)
{
	fprintf(stderr, "vcbench selftest: FAIL: %s\n", what);
	return 1;
}

/* A minted token passes vcd's verifier with the claims vcd reads; vcd's
 * decoder reads the PacketWrapper vcbench sends; the handshake matches
 * RFC 6455 §1.3's example; frames round-trip. */
static int selftest(void)
{
	static const char secret[] = "selftest-secret";
	char jwt[900], acc[29];
	json_t *claims = NULL;
	vc_packet_view_t v;
	vcb_wrapper_t w;
	uint8_t msg[256], data[VCB_DATA_MIN + 8] = { 1, 2, 3 }, fr[64];
	vcb_frame_t f;
	size_t n, h;
	int fails = 0;

	if (!vcb_mint_jwt(secret, 7, 3, (long long)time(NULL) + 60, jwt, sizeof(jwt)))
		return selftest_fail("minting");
	if (vc_jwt_verify(jwt, (const uint8_t *)secret, strlen(secret), VC_JWT_ISSUER,
	                  (int64_t)time(NULL), &claims) != VC_JWT_OK)
		fails += selftest_fail("vc_jwt_verify refused the minted token");
	else if (strcmp(json_string_value(json_object_get(claims, "sub")), "u7") != 0 ||
	         strcmp(json_string_value(json_object_get(claims, "room")), "bench3") != 0 ||
	         !json_is_true(json_object_get(claims, "room_join")) ||
	         !json_is_false(json_object_get(claims, "is_host")) ||
	         !json_is_false(json_object_get(claims, "observer")) ||
	         strcmp(json_string_value(json_object_get(claims, "display_name")), "u7") != 0)
		fails += selftest_fail("the token's claims");
	json_decref(claims);
	claims = NULL;
	if (vc_jwt_verify(jwt, (const uint8_t *)"other", 5, VC_JWT_ISSUER, (int64_t)time(NULL),
	                  &claims) == VC_JWT_OK)
		fails += selftest_fail("vc_jwt_verify took a token signed with another key");
	json_decref(claims);

	if (!vcb_wrapper_init(&w, "u7", sizeof(data), 0x123456789abcdefull))
		return selftest_fail("wrapper");
	memcpy(msg, w.prefix, w.prefix_len);
	memcpy(msg + w.prefix_len, data, sizeof(data));
	memcpy(msg + w.prefix_len + sizeof(data), w.suffix, w.suffix_len);
	n = w.prefix_len + sizeof(data) + w.suffix_len;
	if (!vc_packet_wrapper_decode(msg, n, &v) || v.packet_type != VC_PACKET_MEDIA ||
	    v.session_id != 0x123456789abcdefull || v.user_id.len != 2 ||
	    memcmp(v.user_id.p, "u7", 2) != 0 || v.data.len != sizeof(data) ||
	    memcmp(v.data.p, data, sizeof(data)) != 0)
		fails += selftest_fail("vc_packet_wrapper_decode on vcbench's PacketWrapper");

	vcb_ws_accept("dGhlIHNhbXBsZSBub25jZQ==", acc);
	if (strcmp(acc, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") != 0)
		fails += selftest_fail("Sec-WebSocket-Accept of RFC 6455's example");

	h = vcb_frame_header(fr, VCB_OP_BIN, 300, 0);
	if (h != 8 || fr[1] != (0x80 | 126) || fr[2] != 1 || fr[3] != 44)
		fails += selftest_fail("a 16-bit length frame header");
	fr[0] = 0x82;
	fr[1] = 127;
	memset(fr + 2, 0, 8);
	fr[7] = 1; /* 65536 */
	if (vcb_frame_parse(fr, 10, &f) != 0 || f.size != 10 + 65536 || f.len != 65536)
		fails += selftest_fail("a 64-bit length server frame");
	fr[1] = 0x85; /* masked: servers must not */
	if (vcb_frame_parse(fr, 10, &f) != -1)
		fails += selftest_fail("a masked server frame accepted");
	if (fails == 0)
		printf("vcbench selftest: ok (token verified by vc_jwt_verify, PacketWrapper "
		       "decoded "
		       "by vc_packet_wrapper_decode, handshake, frames)\n");
	return fails ? 1 : 0;
}

/* --- options ------------------------------------------------------------------------ */

static int usage(const char *why)
{
	if (why != NULL)
		fprintf(stderr, "vcbench: %s\n", why);
	fprintf(stderr,
	        "usage: vcbench --url HOST:PORT [--mode vcd|plain] [--jwt-secret S]\n"
	        "         [--clients N] [--rooms R] [--publishers P] [--size BYTES]\n"
	        "         [--rate MSGS/S (0: flood)] [--window MSGS] [--duration S] [--warmup S]\n"
	        "         [--threads T] [--sources A-B|A,B,...] [--connect-window N]\n"
	        "         [--server-pid PID (its VmRSS, --idle; its CPU, loads)]\n"
	        "         [--idle [--hold S]]\n"
	        "       vcbench --selftest\n");
	return 2;
}

static int parse_args(int argc, char **argv, bool *self)
{
	static const struct option opts[] = {
		{ "url", required_argument, NULL, 'u' },
		{ "mode", required_argument, NULL, 'm' },
		{ "jwt-secret", required_argument, NULL, 'j' },
		{ "clients", required_argument, NULL, 'n' },
		{ "rooms", required_argument, NULL, 'r' },
		{ "publishers", required_argument, NULL, 'p' },
		{ "size", required_argument, NULL, 's' },
		{ "rate", required_argument, NULL, 'R' },
		{ "window", required_argument, NULL, 'w' },
		{ "duration", required_argument, NULL, 'd' },
		{ "warmup", required_argument, NULL, 'W' },
		{ "threads", required_argument, NULL, 't' },
		{ "sources", required_argument, NULL, 'S' },
		{ "connect-window", required_argument, NULL, 'c' },
		{ "idle", no_argument, NULL, 'i' },
		{ "server-pid", required_argument, NULL, 'P' },
		{ "hold", required_argument, NULL, 'h' },
		{ "selftest", no_argument, NULL, 'T' },
		{ NULL, 0, NULL, 0 },
	};
	bool have_url = false;
	int o;

	B.mode = MODE_PLAIN;
	B.nclients = 100;
	B.nrooms = 1;
	B.npub = 1;
	B.size = 100;
	B.duration = 5;
	B.warmup = 1;
	B.nthreads = 2;
	B.connect_window = 128;
	B.server_cores = -1;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'u': have_url = vcb_parse_addr(optarg, &B.to, B.host, sizeof(B.host)); break;
		case 'm':
			if (strcmp(optarg, "vcd") != 0 && strcmp(optarg, "plain") != 0)
				return usage("--mode is vcd or plain");
			B.mode = strcmp(optarg, "vcd") == 0 ? MODE_VCD : MODE_PLAIN;
			break;
		case 'j': B.secret = optarg; break;
		case 'n': B.nclients = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'r': B.nrooms = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'p': B.npub = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 's': B.size = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'R': B.rate = atof(optarg); break;
		case 'w': B.window = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'd': B.duration = atof(optarg); break;
		case 'W': B.warmup = atof(optarg); break;
		case 't': B.nthreads = atoi(optarg); break;
		case 'S':
			if ((B.nsources = vcb_parse_sources(optarg, B.sources, MAX_SOURCES)) == 0)
				return usage("--sources: IPv4 addresses, A-B ranges, commas");
			break;
		case 'c': B.connect_window = atoi(optarg); break;
		case 'i': B.idle = true; break;
		case 'P': B.server_pid = atol(optarg); break;
		case 'h': B.hold = atof(optarg); break;
		case 'T': *self = true; return 0;
		default: return usage(NULL);
		}
	}
	if (optind < argc)
		return usage("unexpected arguments");
	if (!have_url)
		return usage("--url HOST:PORT (IPv4) is required");
	if (B.mode == MODE_VCD && (B.secret == NULL || B.secret[0] == '\0'))
		return usage("--mode vcd needs --jwt-secret (vcd's jwt_secret)");
	if (B.nclients < 1 || B.nrooms < 1 || B.nrooms > B.nclients)
		return usage("--clients must be >= 1 and --rooms 1..clients");
	if (!B.idle && (B.npub < 1 || B.npub > B.nclients / B.nrooms))
		return usage("--publishers must be 1..clients/rooms");
	if (B.size < (B.mode == MODE_VCD ? 80u : (unsigned)VCB_DATA_MIN) || B.size > 4000000)
		return usage("--size must be 40..4000000 (80 in vcd mode)");
	if (B.rate < 0 || B.duration <= 0 || B.warmup < 0 || B.hold < 0)
		return usage("--rate, --duration, --warmup and --hold must not be negative");
	if (B.mode == MODE_VCD && !B.idle && B.warmup < 0.5)
		return usage("vcd mode needs --warmup of 0.5 s at least (sessions activate)");
	if (B.nthreads < 1 || B.nthreads > MAX_THREADS || B.connect_window < 1)
		return usage("--threads must be 1-16, --connect-window >= 1");
	if ((uint32_t)B.nthreads > B.nclients)
		B.nthreads = (int)B.nclients;
	if (B.window == 0) { /* 256 KiB in flight: a quarter of vcd's ws_send_buffer */
		B.window = 262144 / B.size;
		B.window = B.window < 8 ? 8 : B.window > 1024 ? 1024 : B.window;
	}
	return 0;
}

int main(int argc, char **argv)
{
	bool self = false;
	int rc = parse_args(argc, argv, &self);

	if (rc != 0)
		return rc;
	if (sodium_init() < 0)
		vc_fatal("sodium_init failed");
	if (self)
		return selftest();
	signal(SIGPIPE, SIG_IGN);
	vcb_raise_nofile("vcbench", B.nclients + 32);
	setup();
	return B.idle ? run_idle() : run_load();
}
