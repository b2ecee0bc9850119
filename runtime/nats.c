/*
 * nats.c — the bridge to NATS (runtime/nats.h) on nats.c (libnats 3.4).
 *
 * One thread of ours, "nats-pub", makes every libnats call that can wait on
 * the network, so that no worker ever does. It is fed by one command queue
 * (runtime/mpsc.h: any thread pushes, nats-pub pops) holding publishes,
 * subscribes and unsubscribes in the order they were asked for.
 *
 * Connecting: vc_nats_start checks the URL on the main thread and starts
 * nats-pub, whose first act is natsConnection_Connect with
 * RetryOnFailedConnect. So the first attempt (DNS, TCP, up to the 2 s
 * connect timeout per server) never holds up startup, and when it fails
 * nats.c keeps trying on its own reconnect thread, forever (MaxReconnect -1,
 * every RECONNECT_WAIT_MS). Commands pushed meanwhile wait in the queue.
 *
 * Publishing: vc_nats_publish copies subject and payload into one
 * allocation and pushes it; nats-pub hands it to natsConnection_Publish.
 * That call can wait: with SendAsap (ours) nats.c writes each publish to the
 * socket at once instead of leaving it to its flusher thread, which batches
 * by waiting and cost a message between nodes about a millisecond (a /ws
 * account_sync across two nodes: p50 1.99 -> 0.85 ms, p99 4.0 -> 1.5 ms);
 * a write syscall per publish is the price, on nats-pub, never a worker.
 * A write is bounded by a 500 ms write deadline (past it nats.c drops the connection and
 * reconnects). Only nats-pub waits; the queue meanwhile takes what workers
 * publish, up to nats_publish_queue bytes (subject, payload and a small
 * header each), past which publishes are dropped: counted, and one warning
 * per episode (it ends DROP_QUIET_MS after the last drop, so a queue that
 * fills and drains over and over warns once). A publish fails at once,
 * without being queued, while the connection is not up (counted, one
 * warning per outage) or when it is larger than the server's max_payload
 * (counted, at most one warning a minute). Whether the connection is up and the server's
 * max_payload are atomics that nats.c's connection events refresh:
 * natsConnection_Status and _GetMaxPayload take the connection's lock, which
 * nats.c holds across a blocked write, so no worker may call them.
 *
 * Subscriptions: vc_nats_sub queues a subscribe; nats-pub makes it
 * (natsConnection_Subscribe, with a completion callback), also before the
 * first connect or while disconnected: nats.c sends every subscription when
 * the connection comes up and again after each reconnect. vc_nats_unsub
 * stops the callback at once (no new cb starts) and queues the unsubscribe.
 * A subscription ends when both halves are done, in either order: nats-pub
 * handled the unsubscribe (it will not touch the natsSubscription again),
 * and libnats finished the subscription on its delivery thread (no cb can
 * run again). Whoever is second runs closed() and frees the handle. A
 * handle that never got a natsSubscription (NATS disabled or stopped, a bad
 * subject, a failed subscribe) has its second half done from the start.
 *
 * Threads: subscription callbacks run on nats.c's shared delivery thread
 * (global message delivery: one thread however many rooms are subscribed);
 * connection events run on nats.c's callback thread. nats-pub and all of
 * nats.c's threads are created with every signal blocked: signals are the
 * main thread's.
 *
 * Stopping (after the workers, so nobody publishes any more): nats-pub
 * closes the queue, handles what is in it and ends; then flush for at most
 * STOP_FLUSH_MS, close, wait at most STOP_CLOSE_WAIT_MS for libnats to
 * finish the subscriptions' close (wait_subs_closed), then as long for its
 * threads to end (nats_CloseAndWait, so a later start works). A connection
 * attempt under way when vcd stops is waited for (its timeout).
 *
 * nats_url: servers separated by commas, each [nats://|tls://][user:pass@]
 * host:port; "host:port" alone is nats:// (videocall.rs's NATS_URL=nats:4222).
 * Credentials never reach a log line or an error (runtime/nats_url.c).
 */
#include "runtime/nats.h"

#include <limits.h>
#include <nats/nats.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/log.h"
#include "runtime/mpsc.h"
#include "runtime/nats_int.h"

#define RECONNECT_WAIT_MS 1000
#define RECONNECT_BUF_SIZE (1024 * 1024)
#define IO_BUF_SIZE (256 * 1024)
#define WRITE_DEADLINE_MS 500
#define PING_INTERVAL_MS 20000
#define MAX_PINGS_OUT 3
#define STOP_FLUSH_MS 500
#define READY_FLUSH_MS 1000 /* the round trip that makes new subscriptions ready */
#define READY_BATCH 256     /* commands handled before pending readies are flushed */
#define STOP_CLOSE_WAIT_MS 500
#define PUBLISH_QUEUE_DEFAULT (16u * 1024 * 1024)
#define WARN_EVERY_MS 60000
#define DROP_QUIET_MS 5000 /* without a drop: the episode of drops is over */

enum cmd_kind { CMD_PUB, CMD_SUB, CMD_UNSUB };

typedef struct cmd {
	vc_qnode_t node;
	enum cmd_kind kind;
} cmd_t;

/* A publish: one allocation, the subject then the payload. */
typedef struct pub {
	cmd_t cmd;
	size_t cost; /* what it counts against the queue's bound */
	size_t len;
	const char *data;
	char subject[];
} pub_t;

enum { SUB_UNSUBBED = 1, SUB_COMPLETE = 2, SUB_DONE = 3 };

struct vc_nats_sub {
	cmd_t sub_cmd, unsub_cmd;
	vc_nats_cb cb;
	void *arg;
	void (*closed)(void *arg);
	void (*ready)(void *arg);       /* NULL: nobody waits for it */
	struct vc_nats_sub *ready_next; /* nats-pub's list of readies to tell */
	_Atomic bool cancelled;         /* vc_nats_unsub was called: no new cb */
	bool is_static;                 /* vc_nats_subscribe's: ends at vc_nats_stop */
	/* Under nats.mu: */
	bool counted; /* in nats.unsubs_open */
	bool listed;  /* in nats.subs */
	unsigned state;
	natsSubscription *ns;
	struct vc_nats_sub *prev, *next;
	char subject[];
};

static struct {
	_Atomic bool enabled;
	_Atomic bool stopping;      /* vc_nats_stop began: events are no news */
	_Atomic bool connected;     /* refresh_state() */
	_Atomic size_t max_payload; /* refresh_state(); 0 while unknown */
	_Atomic bool outage_noted;  /* the publish warning of this outage is out */
	_Atomic bool drop_noted;    /* the queue-full warning of this episode is out */
	_Atomic uint64_t last_drop_ms;
	_Atomic uint64_t too_big_warned_ms, failure_warned_ms;
	natsConnection *nc; /* nats-pub's; vc_nats_stop's once it ended */
	natsOptions *opts;
	char url_shown[512];      /* nats_url without credentials, for logs */
	pthread_mutex_t state_mu; /* reading nc's state and storing it, together */

	/* The command queue. `pending` counts commands pushed and not yet
	 * handled; it is raised before the push, so nats-pub sleeps only when
	 * nothing is coming, and the pusher that raises it from 0 wakes it. */
	vc_mpsc_t queue;
	_Atomic uint64_t pending;
	_Atomic size_t queued_bytes;
	size_t queue_limit;
	_Atomic bool queue_closed; /* no nats-pub takes commands */
	_Atomic bool stop_asked;
	pthread_mutex_t wake_mu;
	pthread_cond_t wake_cv;
	pthread_t pub_thread;

	/* Subscriptions. mu is never held across a call that waits on the
	 * network. */
	pthread_mutex_t mu;
	pthread_cond_t closed_cv;
	vc_nats_sub_t *subs;    /* handles that went through the queue */
	unsigned subs_watched;  /* natsSubscriptions made... */
	unsigned subs_closed;   /* ...and finished by libnats */
	unsigned unsubs_open;   /* handles unsubscribed, closed() not run */
	vc_nats_sub_t *readies; /* nats-pub only: subscribed, ready() not run */
	_Atomic uint64_t published, publish_failures, publish_dropped, publish_too_big;
	_Atomic uint64_t received, disconnects, reconnects;
} nats = {
	.state_mu = PTHREAD_MUTEX_INITIALIZER,
	.wake_mu = PTHREAD_MUTEX_INITIALIZER,
	.wake_cv = PTHREAD_COND_INITIALIZER,
	.mu = PTHREAD_MUTEX_INITIALIZER,
	.closed_cv = PTHREAD_COND_INITIALIZER,
	.queue_closed = true, /* until vc_nats_start */
};

/* --- node id --------------------------------------------------------------- */

static pthread_once_t node_once = PTHREAD_ONCE_INIT;
static char node_id[17];

static void make_node_id(void)
{
	unsigned char b[8];

	if (sodium_init() < 0)
		vc_fatal("libsodium failed to initialise (no random source?)");
	randombytes_buf(b, sizeof(b));
	sodium_bin2hex(node_id, sizeof(node_id), b, sizeof(b));
}

const char *vc_nats_node_id(void)
{
	pthread_once(&node_once, make_node_id);
	return node_id;
}

/* --- small helpers ----------------------------------------------------------- */

/* At most one warning per WARN_EVERY_MS for *last, whoever asks. */
static bool warn_due(_Atomic uint64_t *last)
{
	uint64_t now = vc_now_ms(), was = atomic_load(last);

	return (was == 0 || now - was >= WARN_EVERY_MS) &&
	       atomic_compare_exchange_strong(last, &was, now);
}

static void deadline_in(unsigned ms, struct timespec *until)
{
	clock_gettime(CLOCK_REALTIME, until);
	until->tv_sec += ms / 1000;
	until->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (until->tv_nsec >= 1000000000L) {
		until->tv_sec++;
		until->tv_nsec -= 1000000000L;
	}
}

/* Threads nats.c creates inherit the creator's mask: block every signal. */
static void signals_block(sigset_t *old)
{
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, old);
}

static void signals_restore(const sigset_t *old)
{
	pthread_sigmask(SIG_SETMASK, old, NULL);
}

/* --- connection events (nats.c's callback thread) -------------------------- */

/* Store whether nc is up and the server's max_payload. The lock makes the
 * read and the store one step, so the last event's view is what stays. */
static void refresh_state(natsConnection *nc)
{
	bool up;

	pthread_mutex_lock(&nats.state_mu);
	up = !atomic_load(&nats.stopping) &&
	     natsConnection_Status(nc) == NATS_CONN_STATUS_CONNECTED;
	if (up) {
		int64_t mp = natsConnection_GetMaxPayload(nc);
		atomic_store(&nats.max_payload,
		             mp > 0 && (uint64_t)mp <= SIZE_MAX ? (size_t)mp : 0);
	}
	atomic_store(&nats.connected, up);
	pthread_mutex_unlock(&nats.state_mu);
}

static void log_up(natsConnection *nc, const char *verb)
{
	char url[sizeof(nats.url_shown)];
	char *shown;

	if (natsConnection_GetConnectedUrl(nc, url, sizeof(url)) != NATS_OK || url[0] == '\0')
		snprintf(url, sizeof(url), "%s", nats.url_shown);
	shown = vc_nats_url_redact(url);
	if (atomic_exchange(&nats.outage_noted, false))
		log_info("nats: %s %s; publishing again (%llu publishes failed so far, "
		         "see /metrics)",
		         verb, shown, (unsigned long long)atomic_load(&nats.publish_failures));
	else
		log_info("nats: %s %s as 'vcd %s' (max_payload %zu bytes)", verb, shown,
		         vc_nats_node_id(), atomic_load(&nats.max_payload));
	free(shown);
}

static void on_connected(natsConnection *nc, void *closure)
{
	if (atomic_load(&nats.stopping))
		return;
	vc_log_set_thread("libnats");
	refresh_state(nc);
	log_up(nc, "connected to");
}

static void on_reconnected(natsConnection *nc, void *closure)
{
	if (atomic_load(&nats.stopping))
		return;
	vc_log_set_thread("libnats");
	atomic_fetch_add(&nats.reconnects, 1);
	refresh_state(nc);
	log_up(nc, "reconnected to");
}

static void on_disconnected(natsConnection *nc, void *closure)
{
	if (atomic_load(&nats.stopping))
		return;
	vc_log_set_thread("libnats");
	atomic_fetch_add(&nats.disconnects, 1);
	refresh_state(nc);
	log_warn("nats: lost the connection to %s; reconnecting every %d ms in the background, "
	         "publishes fail meanwhile",
	         nats.url_shown, RECONNECT_WAIT_MS);
}

static void on_closed(natsConnection *nc, void *closure)
{
	vc_log_set_thread("libnats");
	if (!atomic_load(&nats.stopping)) {
		refresh_state(nc);
		log_error("nats: libnats closed the connection to %s; NATS stays off until vcd "
		          "restarts",
		          nats.url_shown);
	}
	log_debug("nats: connection closed");
}

static void on_error(natsConnection *nc, natsSubscription *ns, natsStatus s, void *closure)
{
	vc_log_set_thread("libnats");
	log_warn("nats: %s%s%s: %s", ns ? "subscription '" : "connection",
	         ns ? natsSubscription_GetSubject(ns) : "", ns ? "'" : "",
	         s == NATS_SLOW_CONSUMER ? "slow consumer, messages dropped"
	                                 : natsStatus_GetText(s));
}

/* --- the command queue --------------------------------------------------------- */

/* Any thread, never waits. false when nats-pub takes no more commands (it
 * is stopping or stopped): the caller then does the command's end itself.
 * The queue closes only while nats-pub is draining it, awake, so a pusher
 * that backs out never owes it a wake-up. */
static bool queue_push(cmd_t *c)
{
	uint64_t before = atomic_fetch_add(&nats.pending, 1);

	if (atomic_load(&nats.queue_closed)) {
		atomic_fetch_sub(&nats.pending, 1);
		return false;
	}
	vc_mpsc_push(&nats.queue, &c->node);
	if (before == 0) {
		pthread_mutex_lock(&nats.wake_mu);
		pthread_cond_signal(&nats.wake_cv);
		pthread_mutex_unlock(&nats.wake_mu);
	}
	return true;
}

/* --- subscriptions --------------------------------------------------------- */

static vc_nats_sub_t *sub_new(const char *subject, vc_nats_cb cb, void *arg,
                              void (*closed)(void *arg))
{
	size_t n = strlen(subject) + 1;
	vc_nats_sub_t *s = vc_calloc(1, sizeof(*s) + n);

	memcpy(s->subject, subject, n);
	s->sub_cmd.kind = CMD_SUB;
	s->unsub_cmd.kind = CMD_UNSUB;
	s->cb = cb;
	s->arg = arg;
	s->closed = closed;
	return s;
}

/* With nats.mu. */
static void sub_link_locked(vc_nats_sub_t *s)
{
	s->prev = NULL;
	s->next = nats.subs;
	if (nats.subs != NULL)
		nats.subs->prev = s;
	nats.subs = s;
	s->listed = true;
}

static void sub_unlink_locked(vc_nats_sub_t *s)
{
	if (!s->listed)
		return;
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		nats.subs = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	s->listed = false;
}

/* With nats.mu: both halves are done? Then s leaves the list and the caller
 * finishes it (sub_finish), without the lock. */
static bool sub_done_locked(vc_nats_sub_t *s)
{
	if (s->state != SUB_DONE)
		return false;
	sub_unlink_locked(s);
	return true;
}

/* Nobody else holds s now: the natsSubscription (closed) goes, then
 * closed(), then s. */
static void sub_finish(vc_nats_sub_t *s)
{
	bool counted = s->counted;

	natsSubscription_Destroy(s->ns);
	if (s->closed != NULL)
		s->closed(s->arg);
	free(s);
	if (counted) {
		pthread_mutex_lock(&nats.mu);
		nats.unsubs_open--;
		pthread_cond_broadcast(&nats.closed_cv);
		pthread_mutex_unlock(&nats.mu);
	}
}

static void sub_mark(vc_nats_sub_t *s, unsigned half)
{
	bool done;

	pthread_mutex_lock(&nats.mu);
	s->state |= half;
	done = sub_done_locked(s);
	pthread_mutex_unlock(&nats.mu);
	if (done)
		sub_finish(s);
}

/* nats.c's delivery thread: hand the message over, then free it. */
static void on_msg(natsConnection *nc, natsSubscription *ns, natsMsg *msg, void *closure)
{
	vc_nats_sub_t *s = closure;

	if (!atomic_load_explicit(&nats.stopping, memory_order_relaxed) &&
	    !atomic_load_explicit(&s->cancelled, memory_order_acquire)) {
		atomic_fetch_add_explicit(&nats.received, 1, memory_order_relaxed);
		s->cb(natsMsg_GetSubject(msg), natsMsg_GetData(msg),
		      (size_t)natsMsg_GetDataLength(msg), s->arg);
	}
	natsMsg_Destroy(msg);
}

/* libnats's delivery thread, once it has finished the subscription (after
 * an unsubscribe, or with its connection): no on_msg can follow. */
static void on_sub_complete(void *closure)
{
	vc_nats_sub_t *s = closure;
	bool done;

	pthread_mutex_lock(&nats.mu);
	s->state |= SUB_COMPLETE;
	nats.subs_closed++;
	pthread_cond_broadcast(&nats.closed_cv);
	done = sub_done_locked(s);
	pthread_mutex_unlock(&nats.mu);
	if (done)
		sub_finish(s);
}

/* nats-pub. */
static void do_subscribe(vc_nats_sub_t *s)
{
	natsSubscription *ns = NULL;
	natsStatus st;

	if (s->ready != NULL) { /* told after the flush that follows (ready_tell) */
		s->ready_next = nats.readies;
		nats.readies = s;
	}
	if (nats.nc == NULL || atomic_load(&nats.stopping)) {
		sub_mark(s, SUB_COMPLETE);
		return;
	}
	st = natsConnection_Subscribe(&ns, nats.nc, s->subject, on_msg, s);
	if (st == NATS_OK && natsSubscription_SetOnCompleteCB(ns, on_sub_complete, s) != NATS_OK) {
		st = NATS_CONNECTION_CLOSED; /* closed under us: no callback will come */
		natsSubscription_Destroy(ns);
	}
	if (st != NATS_OK) {
		log_error("nats: cannot subscribe to '%s': %s", s->subject, natsStatus_GetText(st));
		sub_mark(s, SUB_COMPLETE);
		return;
	}
	pthread_mutex_lock(&nats.mu);
	s->ns = ns;
	nats.subs_watched++;
	pthread_mutex_unlock(&nats.mu);
}

/* nats-pub: tell every subscription made since the last time that it is
 * ready. One flush (PING, PONG) proves the server has every SUB sent before
 * it; while NATS is down nothing can be proven and nothing should wait, so
 * they are told at once (they start when the connection is back). Runs
 * before any unsubscribe is handled, so ready() always precedes closed(). */
static void ready_tell(void)
{
	vc_nats_sub_t *s = nats.readies, *next;

	if (s == NULL)
		return;
	nats.readies = NULL;
	if (nats.nc != NULL && atomic_load(&nats.connected) && !atomic_load(&nats.stopping))
		(void)natsConnection_FlushTimeout(nats.nc, READY_FLUSH_MS);
	for (; s != NULL; s = next) {
		next = s->ready_next;
		s->ready(s->arg);
	}
}

/* nats-pub. An error means the subscription is closed already (with its
 * connection): its completion comes anyway. */
static void do_unsubscribe(vc_nats_sub_t *s)
{
	natsSubscription *ns;

	pthread_mutex_lock(&nats.mu);
	ns = s->ns;
	pthread_mutex_unlock(&nats.mu);
	if (ns != NULL)
		(void)natsSubscription_Unsubscribe(ns);
	sub_mark(s, SUB_UNSUBBED);
}

/* Queue s's subscribe; false (s not listed) when nats-pub takes no more. */
static bool sub_start(vc_nats_sub_t *s)
{
	pthread_mutex_lock(&nats.mu);
	sub_link_locked(s);
	pthread_mutex_unlock(&nats.mu);
	if (queue_push(&s->sub_cmd))
		return true;
	pthread_mutex_lock(&nats.mu);
	sub_unlink_locked(s);
	pthread_mutex_unlock(&nats.mu);
	return false;
}

vc_nats_sub_t *vc_nats_sub_ready(const char *subject, vc_nats_cb cb, void *arg,
                                 void (*closed)(void *arg), void (*ready)(void *arg))
{
	bool ok = subject != NULL && vc_nats_subject_ok(subject) && cb != NULL;
	vc_nats_sub_t *s = sub_new(ok ? subject : "", cb, arg, closed);

	if (!ok)
		log_error("nats: cannot subscribe to '%s': not a NATS subject",
		          subject ? subject : "(null)");
	s->ready = ready;
	if (!ok || !atomic_load(&nats.enabled) || !sub_start(s)) {
		s->state = SUB_COMPLETE; /* never fires */
		if (ready != NULL)
			ready(arg);
	}
	return s;
}

vc_nats_sub_t *vc_nats_sub(const char *subject, vc_nats_cb cb, void *arg, void (*closed)(void *arg))
{
	return vc_nats_sub_ready(subject, cb, arg, closed, NULL);
}

void vc_nats_unsub(vc_nats_sub_t *s)
{
	if (s == NULL)
		return;
	atomic_store_explicit(&s->cancelled, true, memory_order_release);
	pthread_mutex_lock(&nats.mu);
	s->counted = true;
	nats.unsubs_open++;
	pthread_mutex_unlock(&nats.mu);
	if (!queue_push(&s->unsub_cmd))
		sub_mark(s, SUB_UNSUBBED); /* disabled or stopped: here and now */
}

bool vc_nats_wait_closed(unsigned ms)
{
	struct timespec until;
	bool ok;

	deadline_in(ms, &until);
	pthread_mutex_lock(&nats.mu);
	while (nats.unsubs_open > 0 &&
	       pthread_cond_timedwait(&nats.closed_cv, &nats.mu, &until) == 0)
		;
	ok = nats.unsubs_open == 0;
	pthread_mutex_unlock(&nats.mu);
	return ok;
}

int vc_nats_subscribe(const char *subject, vc_nats_cb cb, void *arg)
{
	vc_nats_sub_t *s;

	if (!atomic_load(&nats.enabled))
		return 0;
	if (subject == NULL || !vc_nats_subject_ok(subject) || cb == NULL) {
		log_error("nats: cannot subscribe to '%s': not a NATS subject",
		          subject ? subject : "(null)");
		return -1;
	}
	s = sub_new(subject, cb, arg, NULL);
	s->is_static = true;
	if (!sub_start(s)) {
		free(s);
		return -1;
	}
	return 0;
}

/* --- publishing ------------------------------------------------------------ */

static void note_outage(void)
{
	if (!atomic_exchange(&nats.outage_noted, true))
		log_warn("nats: publish failed, NATS unreachable; further failures are counted "
		         "in /metrics");
}

static int publish_unreachable(void)
{
	atomic_fetch_add(&nats.publish_failures, 1);
	note_outage();
	return -1;
}

static int publish_too_big(const char *subject, size_t len, size_t max)
{
	atomic_fetch_add(&nats.publish_too_big, 1);
	if (warn_due(&nats.too_big_warned_ms))
		log_warn("nats: a %zu-byte message to '%s' is over the server's max_payload (%zu "
		         "bytes), not published; such refusals are counted in /metrics, with at "
		         "most one warning a minute",
		         len, subject, max);
	return -1;
}

/* An episode of drops begins with a warning and ends with the first
 * publish queued DROP_QUIET_MS after the last drop: a queue that fills and
 * drains over and over warns once. */
static int publish_dropped(void)
{
	atomic_fetch_add(&nats.publish_dropped, 1);
	atomic_store_explicit(&nats.last_drop_ms, vc_now_ms(), memory_order_relaxed);
	if (!atomic_load_explicit(&nats.drop_noted, memory_order_relaxed) &&
	    !atomic_exchange(&nats.drop_noted, true))
		log_warn("nats: the publish queue is full (nats_publish_queue = %zu bytes): NATS "
		         "takes messages slower than vcd publishes them; publishes are dropped "
		         "and counted in /metrics",
		         nats.queue_limit);
	return -1;
}

static void drops_over(void)
{
	uint64_t last = atomic_load_explicit(&nats.last_drop_ms, memory_order_relaxed);

	if (vc_now_ms() - last >= DROP_QUIET_MS && atomic_exchange(&nats.drop_noted, false))
		log_info("nats: no publish dropped for %d s; %llu dropped so far (see /metrics)",
		         DROP_QUIET_MS / 1000,
		         (unsigned long long)atomic_load(&nats.publish_dropped));
}

int vc_nats_publish(const char *subject, const void *data, size_t len)
{
	size_t slen, cost, max;
	pub_t *p;

	if (!atomic_load_explicit(&nats.enabled, memory_order_acquire))
		return 0;
	if (!atomic_load_explicit(&nats.connected, memory_order_relaxed))
		return publish_unreachable();
	if (subject == NULL || subject[0] == '\0') {
		atomic_fetch_add(&nats.publish_failures, 1);
		return -1;
	}
	max = atomic_load_explicit(&nats.max_payload, memory_order_relaxed);
	if ((max != 0 && len > max) || len > INT_MAX)
		return publish_too_big(subject, len, max);
	slen = strlen(subject) + 1;
	cost = sizeof(*p) + slen + len;
	if (atomic_fetch_add(&nats.queued_bytes, cost) + cost > nats.queue_limit) {
		atomic_fetch_sub(&nats.queued_bytes, cost);
		return publish_dropped();
	}
	p = vc_malloc(cost);
	p->cmd.kind = CMD_PUB;
	p->cost = cost;
	p->len = len;
	memcpy(p->subject, subject, slen);
	if (len > 0)
		memcpy(p->subject + slen, data, len);
	p->data = p->subject + slen;
	if (!queue_push(&p->cmd)) { /* stopped meanwhile: as when disabled */
		atomic_fetch_sub(&nats.queued_bytes, cost);
		free(p);
	}
	if (atomic_load_explicit(&nats.drop_noted, memory_order_relaxed))
		drops_over();
	return 0;
}

/* nats-pub. */
static void publish_failed(const pub_t *p, natsStatus s)
{
	atomic_fetch_add(&nats.publish_failures, 1);
	if (nats.nc == NULL || natsConnection_Status(nats.nc) != NATS_CONN_STATUS_CONNECTED)
		note_outage();
	else if (warn_due(&nats.failure_warned_ms))
		log_warn("nats: publish to '%s' (%zu bytes) failed: %s; further failures are "
		         "counted in /metrics, with at most one warning a minute",
		         p->subject, p->len, natsStatus_GetText(s));
}

/* nats-pub: while the connection is down, nats.c keeps what it is given in
 * its reconnect buffer (up to RECONNECT_BUF_SIZE), for after the reconnect. */
static void do_publish(pub_t *p)
{
	natsStatus s = NATS_CONNECTION_CLOSED;

	if (nats.nc != NULL)
		s = natsConnection_Publish(nats.nc, p->subject, p->data, (int)p->len);
	if (s == NATS_OK)
		atomic_fetch_add_explicit(&nats.published, 1, memory_order_relaxed);
	else
		publish_failed(p, s);
	atomic_fetch_sub(&nats.queued_bytes, p->cost);
	free(p);
}

/* --- nats-pub -------------------------------------------------------------- */

static void handle(vc_qnode_t *n)
{
	cmd_t *c = vc_container_of(n, cmd_t, node);

	switch (c->kind) {
	case CMD_PUB: do_publish(vc_container_of(c, pub_t, cmd)); break;
	case CMD_SUB: do_subscribe(vc_container_of(c, vc_nats_sub_t, sub_cmd)); break;
	case CMD_UNSUB:
		ready_tell();
		do_unsubscribe(vc_container_of(c, vc_nats_sub_t, unsub_cmd));
		break;
	}
	atomic_fetch_sub(&nats.pending, 1);
}

static void connect_first(void)
{
	natsConnection *nc = NULL;
	natsStatus s = natsConnection_Connect(&nc, nats.opts);

	if (s == NATS_OK) {
		refresh_state(nc);
		log_up(nc, "connected to");
	} else if (s == NATS_NOT_YET_CONNECTED) {
		log_warn("nats: %s is not reachable yet; vcd runs without it and retries every "
		         "%d ms in the background",
		         nats.url_shown, RECONNECT_WAIT_MS);
	} else {
		log_error("nats: cannot connect to %s: %s; NATS stays off until vcd restarts",
		          nats.url_shown, natsStatus_GetText(s));
		nc = NULL;
	}
	nats.nc = nc;
}

/* Connect, then handle commands in order until vc_nats_stop; then close
 * the queue and handle what it still holds. A pop can come back empty while
 * `pending` says a command is coming: its pusher is between its two steps
 * (runtime/mpsc.h), so yield and look again. */
static void *pub_main(void *arg)
{
	vc_qnode_t *n;
	unsigned handled = 0;

	vc_log_set_thread("nats-pub");
	connect_first();
	for (;;) {
		if ((n = vc_mpsc_pop(&nats.queue)) != NULL) {
			handle(n);
			if (++handled >= READY_BATCH) {
				handled = 0;
				ready_tell();
			}
			continue;
		}
		handled = 0;
		ready_tell(); /* the queue is empty: nothing to batch them with */
		if (atomic_load(&nats.stop_asked))
			break;
		if (atomic_load(&nats.pending) > 0) {
			sched_yield();
			continue;
		}
		pthread_mutex_lock(&nats.wake_mu);
		while (atomic_load(&nats.pending) == 0 && !atomic_load(&nats.stop_asked))
			pthread_cond_wait(&nats.wake_cv, &nats.wake_mu);
		pthread_mutex_unlock(&nats.wake_mu);
	}
	atomic_store(&nats.queue_closed, true);
	while (atomic_load(&nats.pending) > 0) {
		if ((n = vc_mpsc_pop(&nats.queue)) != NULL)
			handle(n);
		else
			sched_yield();
	}
	ready_tell();
	return NULL;
}

/* --- starting -------------------------------------------------------------- */

/* Options in the order of the file comment; false when nats.c refused one. */
static bool set_options(natsOptions *o, const char *url, bool tls)
{
	char name[64];

	snprintf(name, sizeof(name), "vcd %s", vc_nats_node_id());
	return natsOptions_SetURL(o, url) == NATS_OK && natsOptions_SetName(o, name) == NATS_OK &&
	       natsOptions_SetNoEcho(o, true) == NATS_OK &&
	       natsOptions_SetSendAsap(o, true) == NATS_OK &&
	       natsOptions_SetAllowReconnect(o, true) == NATS_OK &&
	       natsOptions_SetMaxReconnect(o, -1) == NATS_OK &&
	       natsOptions_SetReconnectWait(o, RECONNECT_WAIT_MS) == NATS_OK &&
	       natsOptions_SetReconnectBufSize(o, RECONNECT_BUF_SIZE) == NATS_OK &&
	       natsOptions_SetIOBufSize(o, IO_BUF_SIZE) == NATS_OK &&
	       natsOptions_SetWriteDeadline(o, WRITE_DEADLINE_MS) == NATS_OK &&
	       natsOptions_SetPingInterval(o, PING_INTERVAL_MS) == NATS_OK &&
	       natsOptions_SetMaxPingsOut(o, MAX_PINGS_OUT) == NATS_OK &&
	       natsOptions_UseGlobalMessageDelivery(o, true) == NATS_OK &&
	       natsOptions_SetRetryOnFailedConnect(o, true, on_connected, NULL) == NATS_OK &&
	       natsOptions_SetDisconnectedCB(o, on_disconnected, NULL) == NATS_OK &&
	       natsOptions_SetReconnectedCB(o, on_reconnected, NULL) == NATS_OK &&
	       natsOptions_SetClosedCB(o, on_closed, NULL) == NATS_OK &&
	       natsOptions_SetErrorHandler(o, on_error, NULL) == NATS_OK &&
	       (!tls || natsOptions_SetSecure(o, true) == NATS_OK);
}

static void reset_state(size_t queue_limit)
{
	atomic_store(&nats.published, 0);
	atomic_store(&nats.publish_failures, 0);
	atomic_store(&nats.publish_dropped, 0);
	atomic_store(&nats.publish_too_big, 0);
	atomic_store(&nats.received, 0);
	atomic_store(&nats.disconnects, 0);
	atomic_store(&nats.reconnects, 0);
	atomic_store(&nats.outage_noted, false);
	atomic_store(&nats.drop_noted, false);
	atomic_store(&nats.last_drop_ms, 0);
	atomic_store(&nats.too_big_warned_ms, 0);
	atomic_store(&nats.failure_warned_ms, 0);
	atomic_store(&nats.stopping, false);
	atomic_store(&nats.connected, false);
	atomic_store(&nats.max_payload, 0);
	nats.nc = NULL;
	vc_mpsc_init(&nats.queue);
	atomic_store(&nats.pending, 0);
	atomic_store(&nats.queued_bytes, 0);
	nats.queue_limit = queue_limit != 0 ? queue_limit : PUBLISH_QUEUE_DEFAULT;
	atomic_store(&nats.queue_closed, false);
	atomic_store(&nats.stop_asked, false);
	pthread_mutex_lock(&nats.mu);
	nats.subs_watched = nats.subs_closed = 0;
	pthread_mutex_unlock(&nats.mu);
}

/* natsOptions_Create opens the library (its threads start here). */
static int start_library(const char *url, bool tls, char *err, size_t errlen)
{
	natsStatus s = natsOptions_Create(&nats.opts);
	const char *why;

	if (s != NATS_OK) {
		snprintf(err, errlen, "nats: cannot initialise libnats: %s", natsStatus_GetText(s));
		return -1;
	}
	if (!set_options(nats.opts, url, tls)) {
		why = nats_GetLastError(&s);
		snprintf(err, errlen, "nats_url = '%s': libnats refused the settings (%s)%s",
		         nats.url_shown, why ? why : natsStatus_GetText(s),
		         tls ? "; is libnats built with TLS?" : "");
		goto fail;
	}
	if (pthread_create(&nats.pub_thread, NULL, pub_main, NULL) != 0) {
		snprintf(err, errlen, "nats: cannot start the nats-pub thread");
		goto fail;
	}
	return 0;
fail:
	natsOptions_Destroy(nats.opts);
	nats.opts = NULL;
	(void)nats_CloseAndWait(STOP_CLOSE_WAIT_MS);
	return -1;
}

int vc_nats_start(const char *url, size_t publish_queue, char *err, size_t errlen)
{
	sigset_t old;
	char *shown;
	bool tls;
	int rc;

	(void)vc_nats_node_id();
	if (atomic_load(&nats.enabled)) {
		snprintf(err, errlen, "nats: already started");
		return -1;
	}
	if (url == NULL || url[0] == '\0') {
		log_info("nats: no nats_url, running as a single node (node id %s)",
		         vc_nats_node_id());
		return 0;
	}
	shown = vc_nats_url_redact(url);
	snprintf(nats.url_shown, sizeof(nats.url_shown), "%s", shown);
	free(shown);
	if (vc_nats_url_check(url, nats.url_shown, &tls, err, errlen) < 0)
		return -1;
	reset_state(publish_queue);
	signals_block(&old);
	rc = start_library(url, tls, err, errlen);
	signals_restore(&old);
	if (rc < 0) {
		atomic_store(&nats.queue_closed, true);
		return -1;
	}
	atomic_store(&nats.enabled, true);
	return 0;
}

/* --- stopping -------------------------------------------------------------- */

/*
 * Closing a connection posts a control message per subscription to
 * libnats's delivery thread, which frees it through libnats's garbage
 * collector. nats_CloseAndWait stops the collector before the delivery
 * threads, so a close still queued then is never freed (LeakSanitizer
 * saw it). Main thread, at exit: wait, bounded, for every close to be
 * handled first.
 */
static void wait_subs_closed(unsigned ms)
{
	struct timespec until;

	deadline_in(ms, &until);
	pthread_mutex_lock(&nats.mu);
	while (nats.subs_closed < nats.subs_watched &&
	       pthread_cond_timedwait(&nats.closed_cv, &nats.mu, &until) == 0)
		;
	if (nats.subs_closed < nats.subs_watched)
		log_warn("nats: %u of %u subscriptions not closed within %u ms",
		         nats.subs_watched - nats.subs_closed, nats.subs_watched, ms);
	pthread_mutex_unlock(&nats.mu);
}

/*
 * After the connection closed and its subscriptions finished: those of
 * vc_nats_subscribe end here. A vc_nats_sub handle nobody has given to
 * vc_nats_unsub yet lets go of its natsSubscription (which must not outlive
 * the library) and ends when it is. One libnats has not finished (the wait
 * timed out) is left alone: a leak rather than a use after free.
 */
static void sweep_subs(void)
{
	vc_nats_sub_t *s, *next, *done = NULL;

	pthread_mutex_lock(&nats.mu);
	for (s = nats.subs; s != NULL; s = next) {
		next = s->next;
		if (!(s->state & SUB_COMPLETE))
			continue;
		if (s->is_static) {
			s->state |= SUB_UNSUBBED;
			(void)sub_done_locked(s);
			s->next = done;
			done = s;
		} else if (s->ns != NULL) {
			natsSubscription_Destroy(s->ns); /* closed: only a release */
			s->ns = NULL;
		}
	}
	pthread_mutex_unlock(&nats.mu);
	for (s = done; s != NULL; s = next) {
		next = s->next;
		sub_finish(s);
	}
}

static void close_connection(natsConnection *nc)
{
	if (nc == NULL)
		return;
	if (natsConnection_Status(nc) == NATS_CONN_STATUS_CONNECTED &&
	    natsConnection_FlushTimeout(nc, STOP_FLUSH_MS) != NATS_OK)
		log_warn("nats: messages published last may not have reached %s within %d ms",
		         nats.url_shown, STOP_FLUSH_MS);
	natsConnection_Close(nc);
}

void vc_nats_stop(void)
{
	natsConnection *nc;

	if (!atomic_load(&nats.enabled))
		return;
	atomic_store(&nats.stopping, true);
	atomic_store(&nats.enabled, false);
	pthread_mutex_lock(&nats.wake_mu);
	atomic_store(&nats.stop_asked, true);
	pthread_cond_signal(&nats.wake_cv);
	pthread_mutex_unlock(&nats.wake_mu);
	pthread_join(nats.pub_thread, NULL);
	nc = nats.nc;
	nats.nc = NULL;
	pthread_mutex_lock(&nats.state_mu);
	atomic_store(&nats.connected, false);
	atomic_store(&nats.max_payload, 0);
	pthread_mutex_unlock(&nats.state_mu);
	close_connection(nc);
	wait_subs_closed(STOP_CLOSE_WAIT_MS);
	sweep_subs();
	natsConnection_Destroy(nc);
	natsOptions_Destroy(nats.opts);
	nats.opts = NULL;
	if (nats_CloseAndWait(STOP_CLOSE_WAIT_MS) != NATS_OK)
		log_warn("nats: libnats did not finish closing within %d ms; exiting anyway",
		         STOP_CLOSE_WAIT_MS);
	log_info("nats: stopped (%llu published, %llu failed, %llu dropped, %llu too big, "
	         "%llu received)",
	         (unsigned long long)atomic_load(&nats.published),
	         (unsigned long long)atomic_load(&nats.publish_failures),
	         (unsigned long long)atomic_load(&nats.publish_dropped),
	         (unsigned long long)atomic_load(&nats.publish_too_big),
	         (unsigned long long)atomic_load(&nats.received));
}

/* --- state ----------------------------------------------------------------- */

bool vc_nats_enabled(void)
{
	return atomic_load(&nats.enabled);
}

bool vc_nats_connected(void)
{
	return atomic_load(&nats.connected);
}

size_t vc_nats_max_payload(void)
{
	return atomic_load_explicit(&nats.max_payload, memory_order_relaxed);
}

void vc_nats_stats(vc_nats_stats_t *out)
{
	out->published = atomic_load(&nats.published);
	out->publish_failures = atomic_load(&nats.publish_failures);
	out->publish_dropped = atomic_load(&nats.publish_dropped);
	out->publish_too_big = atomic_load(&nats.publish_too_big);
	out->received = atomic_load(&nats.received);
	out->disconnects = atomic_load(&nats.disconnects);
	out->reconnects = atomic_load(&nats.reconnects);
	pthread_mutex_lock(&nats.mu);
	out->subscriptions = nats.subs_watched - nats.subs_closed;
	pthread_mutex_unlock(&nats.mu);
	out->max_payload = vc_nats_max_payload();
	out->enabled = vc_nats_enabled();
	out->connected = vc_nats_connected();
}
