/*
 * nats.c — the bridge to NATS (runtime/nats.h) on nats.c (libnats 3.4).
 *
 * Connecting: vc_nats_start checks the URL on the main thread and starts a
 * short-lived "nats-connect" thread that calls natsConnection_Connect with
 * RetryOnFailedConnect and a connected callback. So the first attempt (DNS,
 * TCP, up to the 2 s connect timeout per server) never holds up startup, and
 * when it fails nats.c keeps trying on its own reconnect thread, forever
 * (MaxReconnect -1, every RECONNECT_WAIT_MS). The thread then stores the
 * connection and makes the subscriptions registered so far; later ones are
 * made at once. nats.c re-sends all of them after every reconnect.
 *
 * Publishing never waits for NATS: while the connection is not up, a publish
 * fails at once (counted, one warning per outage). When it is up, nats.c
 * copies the message into its 256 KiB write buffer, which its flusher thread
 * writes; only a full buffer makes the caller write, bounded by a 500 ms
 * write deadline (past it nats.c drops the connection and reconnects).
 *
 * Threads: subscription callbacks run on nats.c's shared delivery thread
 * (global message delivery: one thread however many rooms are subscribed);
 * connection events run on nats.c's callback thread. All of nats.c's threads
 * are created with every signal blocked: signals are the main thread's.
 *
 * Stopping (after the workers, so nobody publishes any more): flush for at
 * most STOP_FLUSH_MS, close, wait at most STOP_CLOSE_WAIT_MS for libnats to
 * handle the subscriptions' close (wait_subs_closed), then as long for its
 * threads to end (nats_CloseAndWait, so a later start works). A
 * connection attempt under way when vcd stops is waited for (its timeout).
 *
 * nats_url: servers separated by commas, each [nats://|tls://][user:pass@]
 * host:port; "host:port" alone is nats:// (videocall.rs's NATS_URL=nats:4222).
 * Credentials never reach a log line or an error: see redact().
 */
#include "runtime/nats.h"

#include <ctype.h>
#include <limits.h>
#include <nats/nats.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "runtime/log.h"

#define RECONNECT_WAIT_MS 1000
#define RECONNECT_BUF_SIZE (1024 * 1024)
#define IO_BUF_SIZE (256 * 1024)
#define WRITE_DEADLINE_MS 500
#define PING_INTERVAL_MS 20000
#define MAX_PINGS_OUT 3
#define STOP_FLUSH_MS 500
#define STOP_CLOSE_WAIT_MS 500

typedef struct sub {
	char *subject;
	vc_nats_cb cb;
	void *arg;
	natsSubscription *ns; /* NULL until the connection exists */
	struct sub *next;
} sub_t;

static struct {
	_Atomic bool enabled;
	_Atomic bool stopping;     /* vc_nats_stop began: events are no news */
	_Atomic bool outage_noted; /* the publish warning of this outage is out */
	_Atomic(natsConnection *) nc;
	natsOptions *opts;
	char url_shown[512]; /* nats_url without credentials, for logs */
	pthread_t connector;
	pthread_mutex_t mu; /* subs, and storing nc against them */
	sub_t *subs;
	/* Subscriptions whose close libnats has finished (see wait_subs_closed),
	 * of those with a completion callback. */
	pthread_cond_t closed_cv;
	unsigned subs_watched, subs_closed;
	_Atomic uint64_t published, publish_failures, received, disconnects, reconnects;
} nats = { .mu = PTHREAD_MUTEX_INITIALIZER, .closed_cv = PTHREAD_COND_INITIALIZER };

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

/* --- nats_url: shape and redaction ---------------------------------------- */

enum scheme { SCHEME_NONE, SCHEME_NATS, SCHEME_TLS };

static const struct {
	const char *prefix;
	enum scheme kind;
} schemes[] = {
	{ "nats://", SCHEME_NATS },
	{ "tls://", SCHEME_TLS },
};

static bool port_ok(const char *p, const char *end)
{
	unsigned long v = 0;

	if (p == end || end - p > 5)
		return false;
	for (; p < end; p++) {
		if (!isdigit((unsigned char)*p))
			return false;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	return v >= 1 && v <= 65535;
}

/* A name, an IPv4 address or a bracketed IPv6 address. */
static bool host_ok(const char *p, const char *end)
{
	bool v6 = p < end && *p == '[';

	if (v6) {
		if (end - p < 3 || end[-1] != ']')
			return false;
		p++;
		end--;
	}
	if (p == end)
		return false;
	for (; p < end; p++) {
		unsigned char c = (unsigned char)*p;
		if (!isalnum(c) && c != '.' && c != '-' && c != '_' && !(v6 && c == ':'))
			return false;
	}
	return true;
}

/* One server, [nats://|tls://][userinfo@]host:port: its scheme, or -1. */
static int check_server(const char *p, const char *end)
{
	int kind = SCHEME_NONE;
	const char *at, *colon;

	for (size_t i = 0; i < VC_ARRAY_LEN(schemes); i++) {
		size_t n = strlen(schemes[i].prefix);
		if ((size_t)(end - p) >= n && strncasecmp(p, schemes[i].prefix, n) == 0) {
			kind = (int)schemes[i].kind;
			p += n;
			break;
		}
	}
	if (kind == SCHEME_NONE && memmem(p, (size_t)(end - p), "://", 3) != NULL)
		return -1;
	at = memrchr(p, '@', (size_t)(end - p));
	if (at != NULL)
		p = at + 1;
	colon = memrchr(p, ':', (size_t)(end - p));
	if (colon == NULL || !host_ok(p, colon) || !port_ok(colon + 1, end))
		return -1;
	return kind;
}

/* A comma-separated list of servers, all nats:// (or no scheme) or all
 * tls://. 0 with *tls set, or -1 with err. */
static int check_url(const char *url, const char *shown, bool *tls, char *err, size_t errlen)
{
	bool seen[3] = { false, false, false };
	const char *p = url, *end, *q;
	int kind;

	for (;;) {
		end = strchrnul(p, ',');
		for (q = end; q > p && isspace((unsigned char)q[-1]); q--)
			;
		while (p < q && isspace((unsigned char)*p))
			p++;
		kind = check_server(p, q);
		if (kind < 0) {
			snprintf(err, errlen,
			         "nats_url = '%s': expected nats://host:port or tls://host:port "
			         "(a comma-separated list for a cluster)",
			         shown);
			return -1;
		}
		seen[kind] = true;
		if (*end == '\0')
			break;
		p = end + 1;
	}
	if (seen[SCHEME_TLS] && (seen[SCHEME_NATS] || seen[SCHEME_NONE])) {
		snprintf(err, errlen,
		         "nats_url = '%s': expected nats://host:port for every server or "
		         "tls://host:port for every server, not a mix",
		         shown);
		return -1;
	}
	*tls = seen[SCHEME_TLS];
	return 0;
}

/* url with each server's user information (user:password@ or token@)
 * shown as user:***@ or ***@, for logs and errors (malloc'd). */
static char *redact(const char *url)
{
	char *out = vc_malloc(3 * strlen(url) + 8), *o = out;
	const char *p = url;

	while (*p != '\0') {
		const char *end = strchrnul(p, ',');
		const char *sep = memmem(p, (size_t)(end - p), "://", 3);
		const char *user = sep ? sep + 3 : p;
		const char *at = memrchr(user, '@', (size_t)(end - user));

		if (at != NULL) {
			const char *colon = memchr(user, ':', (size_t)(at - user));
			memcpy(o, p, (size_t)(user - p));
			o += user - p;
			if (colon != NULL) {
				memcpy(o, user, (size_t)(colon - user));
				o = stpcpy(o + (colon - user), ":***@");
			} else {
				o = stpcpy(o, "***@");
			}
			p = at + 1;
		}
		memcpy(o, p, (size_t)(end - p));
		o += end - p;
		p = end;
		if (*p == ',')
			*o++ = *p++;
	}
	*o = '\0';
	return out;
}

/* --- connection events (nats.c's callback thread) -------------------------- */

static void log_up(natsConnection *nc, const char *verb)
{
	char url[sizeof(nats.url_shown)];
	char *shown;

	if (natsConnection_GetConnectedUrl(nc, url, sizeof(url)) != NATS_OK || url[0] == '\0')
		snprintf(url, sizeof(url), "%s", nats.url_shown);
	shown = redact(url);
	if (atomic_exchange(&nats.outage_noted, false))
		log_info("nats: %s %s; publishing again (%llu publishes failed so far, "
		         "see /metrics)",
		         verb, shown, (unsigned long long)atomic_load(&nats.publish_failures));
	else
		log_info("nats: %s %s as 'vcd %s'", verb, shown, vc_nats_node_id());
	free(shown);
}

static void on_connected(natsConnection *nc, void *closure)
{
	if (atomic_load(&nats.stopping))
		return;
	vc_log_set_thread("libnats");
	log_up(nc, "connected to");
}

static void on_reconnected(natsConnection *nc, void *closure)
{
	if (atomic_load(&nats.stopping))
		return;
	vc_log_set_thread("libnats");
	atomic_fetch_add(&nats.reconnects, 1);
	log_up(nc, "reconnected to");
}

static void on_disconnected(natsConnection *nc, void *closure)
{
	if (atomic_load(&nats.stopping))
		return;
	vc_log_set_thread("libnats");
	atomic_fetch_add(&nats.disconnects, 1);
	log_warn("nats: lost the connection to %s; reconnecting every %d ms in the background, "
	         "publishes fail meanwhile",
	         nats.url_shown, RECONNECT_WAIT_MS);
}

static void on_closed(natsConnection *nc, void *closure)
{
	vc_log_set_thread("libnats");
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

/* --- subscriptions --------------------------------------------------------- */

/* nats.c's delivery thread: hand the message over, then free it. */
static void on_msg(natsConnection *nc, natsSubscription *ns, natsMsg *msg, void *closure)
{
	sub_t *s = closure;

	if (!atomic_load_explicit(&nats.stopping, memory_order_relaxed)) {
		atomic_fetch_add_explicit(&nats.received, 1, memory_order_relaxed);
		s->cb(natsMsg_GetSubject(msg), natsMsg_GetData(msg),
		      (size_t)natsMsg_GetDataLength(msg), s->arg);
	}
	natsMsg_Destroy(msg);
}

/* libnats's delivery thread, once it has handled the subscription's close. */
static void on_sub_closed(void *closure)
{
	pthread_mutex_lock(&nats.mu);
	nats.subs_closed++;
	pthread_cond_signal(&nats.closed_cv);
	pthread_mutex_unlock(&nats.mu);
}

/* With nats.mu held. */
static int subscribe_one(natsConnection *nc, sub_t *s)
{
	natsStatus st = natsConnection_Subscribe(&s->ns, nc, s->subject, on_msg, s);

	if (st != NATS_OK) {
		s->ns = NULL;
		log_error("nats: cannot subscribe to '%s': %s", s->subject, natsStatus_GetText(st));
		return -1;
	}
	if (natsSubscription_SetOnCompleteCB(s->ns, on_sub_closed, NULL) == NATS_OK)
		nats.subs_watched++;
	return 0;
}

/* Tokens separated by single dots, no white space. */
static bool subject_ok(const char *subject)
{
	size_t n = strlen(subject);

	if (n == 0 || subject[0] == '.' || subject[n - 1] == '.' || strstr(subject, "..") != NULL)
		return false;
	for (const char *p = subject; *p != '\0'; p++)
		if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p))
			return false;
	return true;
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

int vc_nats_subscribe(const char *subject, vc_nats_cb cb, void *arg)
{
	natsConnection *nc;
	sub_t *s;
	sigset_t old;
	int rc = 0;

	if (!atomic_load(&nats.enabled))
		return 0;
	if (subject == NULL || !subject_ok(subject) || cb == NULL) {
		log_error("nats: cannot subscribe to '%s': not a NATS subject",
		          subject ? subject : "(null)");
		return -1;
	}
	s = vc_calloc(1, sizeof(*s));
	s->subject = vc_strdup(subject);
	s->cb = cb;
	s->arg = arg;
	signals_block(&old);
	pthread_mutex_lock(&nats.mu);
	nc = atomic_load(&nats.nc);
	if (nc != NULL)
		rc = subscribe_one(nc, s);
	s->next = nats.subs;
	nats.subs = s;
	pthread_mutex_unlock(&nats.mu);
	signals_restore(&old);
	return rc;
}

/* --- connecting ------------------------------------------------------------ */

static void *connect_main(void *arg)
{
	natsConnection *nc = NULL;
	natsStatus s;

	vc_log_set_thread("nats-connect");
	s = natsConnection_Connect(&nc, nats.opts);
	if (s == NATS_OK) {
		log_up(nc, "connected to");
	} else if (s == NATS_NOT_YET_CONNECTED) {
		log_warn("nats: %s is not reachable yet; vcd runs without it and retries every "
		         "%d ms in the background",
		         nats.url_shown, RECONNECT_WAIT_MS);
	} else {
		log_error("nats: cannot connect to %s: %s; NATS stays off until vcd restarts",
		          nats.url_shown, natsStatus_GetText(s));
		return NULL;
	}
	pthread_mutex_lock(&nats.mu);
	atomic_store(&nats.nc, nc);
	for (sub_t *sub = nats.subs; sub != NULL; sub = sub->next)
		(void)subscribe_one(nc, sub);
	pthread_mutex_unlock(&nats.mu);
	return NULL;
}

/* Options in the order of the file comment; false when nats.c refused one. */
static bool set_options(natsOptions *o, const char *url, bool tls)
{
	char name[64];

	snprintf(name, sizeof(name), "vcd %s", vc_nats_node_id());
	return natsOptions_SetURL(o, url) == NATS_OK && natsOptions_SetName(o, name) == NATS_OK &&
	       natsOptions_SetNoEcho(o, true) == NATS_OK &&
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

static void reset_state(void)
{
	atomic_store(&nats.published, 0);
	atomic_store(&nats.publish_failures, 0);
	atomic_store(&nats.received, 0);
	atomic_store(&nats.disconnects, 0);
	atomic_store(&nats.reconnects, 0);
	atomic_store(&nats.outage_noted, false);
	atomic_store(&nats.stopping, false);
	atomic_store(&nats.nc, NULL);
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
	if (pthread_create(&nats.connector, NULL, connect_main, NULL) != 0) {
		snprintf(err, errlen, "nats: cannot start the connecting thread");
		goto fail;
	}
	return 0;
fail:
	natsOptions_Destroy(nats.opts);
	nats.opts = NULL;
	(void)nats_CloseAndWait(STOP_CLOSE_WAIT_MS);
	return -1;
}

int vc_nats_check_url(const char *url, char *err, size_t errlen)
{
	char *shown;
	bool tls;
	int rc;

	if (url == NULL || url[0] == '\0')
		return 0;
	shown = redact(url);
	rc = check_url(url, shown, &tls, err, errlen);
	free(shown);
	return rc;
}

int vc_nats_start(const char *url, char *err, size_t errlen)
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
	shown = redact(url);
	snprintf(nats.url_shown, sizeof(nats.url_shown), "%s", shown);
	free(shown);
	if (check_url(url, nats.url_shown, &tls, err, errlen) < 0)
		return -1;
	reset_state();
	signals_block(&old);
	rc = start_library(url, tls, err, errlen);
	signals_restore(&old);
	if (rc < 0)
		return -1;
	atomic_store(&nats.enabled, true);
	return 0;
}

/* --- stopping -------------------------------------------------------------- */

/* Subscriptions are closed with the connection; their records are freed
 * only once libnats has stopped its threads (a callback may be under way). */
static sub_t *take_subs(void)
{
	sub_t *subs;

	pthread_mutex_lock(&nats.mu);
	subs = nats.subs;
	nats.subs = NULL;
	pthread_mutex_unlock(&nats.mu);
	for (sub_t *s = subs; s != NULL; s = s->next)
		natsSubscription_Destroy(s->ns);
	return subs;
}

static void free_subs(sub_t *s)
{
	for (sub_t *next; s != NULL; s = next) {
		next = s->next;
		free(s->subject);
		free(s);
	}
}

/*
 * Closing a connection posts a control message per subscription to
 * libnats's delivery thread, which frees it through libnats's garbage
 * collector. nats_CloseAndWait stops the collector before the delivery
 * threads, so a close still queued then is never freed (LeakSanitizer
 * saw it). Main thread, at exit: wait, bounded, for every close to be
 * handled first.
 */
static void wait_subs_closed(int ms)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&nats.mu);
	while (nats.subs_closed < nats.subs_watched &&
	       pthread_cond_timedwait(&nats.closed_cv, &nats.mu, &until) == 0)
		;
	if (nats.subs_closed < nats.subs_watched)
		log_warn("nats: %u of %u subscriptions not closed within %d ms",
		         nats.subs_watched - nats.subs_closed, nats.subs_watched, ms);
	pthread_mutex_unlock(&nats.mu);
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
	sub_t *subs;

	if (!atomic_load(&nats.enabled))
		return;
	atomic_store(&nats.stopping, true);
	pthread_join(nats.connector, NULL);
	nc = atomic_exchange(&nats.nc, NULL);
	atomic_store(&nats.enabled, false);
	close_connection(nc);
	wait_subs_closed(STOP_CLOSE_WAIT_MS);
	subs = take_subs();
	natsConnection_Destroy(nc);
	natsOptions_Destroy(nats.opts);
	nats.opts = NULL;
	if (nats_CloseAndWait(STOP_CLOSE_WAIT_MS) == NATS_OK)
		free_subs(subs);
	else
		log_warn("nats: libnats did not finish closing within %d ms; exiting anyway",
		         STOP_CLOSE_WAIT_MS);
	log_info("nats: stopped (%llu published, %llu failed, %llu received)",
	         (unsigned long long)atomic_load(&nats.published),
	         (unsigned long long)atomic_load(&nats.publish_failures),
	         (unsigned long long)atomic_load(&nats.received));
}

/* --- publishing and state -------------------------------------------------- */

bool vc_nats_enabled(void)
{
	return atomic_load(&nats.enabled);
}

bool vc_nats_connected(void)
{
	natsConnection *nc = atomic_load(&nats.nc);

	return nc != NULL && natsConnection_Status(nc) == NATS_CONN_STATUS_CONNECTED;
}

static int publish_unreachable(void)
{
	atomic_fetch_add(&nats.publish_failures, 1);
	if (!atomic_exchange(&nats.outage_noted, true))
		log_warn("nats: publish failed, NATS unreachable; further failures are counted "
		         "in /metrics");
	return -1;
}

int vc_nats_publish(const char *subject, const void *data, size_t len)
{
	natsConnection *nc;
	natsStatus s;

	if (!atomic_load_explicit(&nats.enabled, memory_order_relaxed))
		return 0;
	nc = atomic_load(&nats.nc);
	if (nc == NULL || natsConnection_Status(nc) != NATS_CONN_STATUS_CONNECTED)
		return publish_unreachable();
	s = len > INT_MAX ? NATS_INVALID_ARG : natsConnection_Publish(nc, subject, data, (int)len);
	if (s == NATS_OK) {
		atomic_fetch_add_explicit(&nats.published, 1, memory_order_relaxed);
		return 0;
	}
	if (natsConnection_Status(nc) != NATS_CONN_STATUS_CONNECTED)
		return publish_unreachable();
	atomic_fetch_add(&nats.publish_failures, 1);
	log_warn("nats: publish to '%s' (%zu bytes) failed: %s", subject ? subject : "(null)", len,
	         natsStatus_GetText(s));
	return -1;
}

void vc_nats_stats(vc_nats_stats_t *out)
{
	out->published = atomic_load(&nats.published);
	out->publish_failures = atomic_load(&nats.publish_failures);
	out->received = atomic_load(&nats.received);
	out->disconnects = atomic_load(&nats.disconnects);
	out->reconnects = atomic_load(&nats.reconnects);
	out->enabled = vc_nats_enabled();
	out->connected = vc_nats_connected();
}

/* --- TEMPORARY: dynamic subscriptions until the bridge's own land --------- */

struct vc_nats_sub {
	natsSubscription *ns;
	vc_nats_cb cb;
	void *arg;
	void (*closed)(void *arg);
};

static void tmp_on_msg(natsConnection *nc, natsSubscription *ns, natsMsg *msg, void *closure)
{
	vc_nats_sub_t *s = closure;

	s->cb(natsMsg_GetSubject(msg), natsMsg_GetData(msg), (size_t)natsMsg_GetDataLength(msg),
	      s->arg);
	natsMsg_Destroy(msg);
}

static void tmp_on_complete(void *closure)
{
	vc_nats_sub_t *s = closure;

	s->closed(s->arg);
	free(s);
}

vc_nats_sub_t *vc_nats_sub(const char *subject, vc_nats_cb cb, void *arg, void (*closed)(void *arg))
{
	vc_nats_sub_t *s = vc_calloc(1, sizeof(*s));
	natsConnection *nc = atomic_load(&nats.nc);

	s->cb = cb;
	s->arg = arg;
	s->closed = closed;
	if (nc != NULL && natsConnection_Subscribe(&s->ns, nc, subject, tmp_on_msg, s) == NATS_OK)
		natsSubscription_SetOnCompleteCB(s->ns, tmp_on_complete, s);
	else
		s->ns = NULL;
	return s;
}

void vc_nats_unsub(vc_nats_sub_t *s)
{
	natsSubscription *ns = s->ns;

	if (ns == NULL) {
		s->closed(s->arg);
		free(s);
		return;
	}
	/* Once unsubscribed, tmp_on_complete may run (and free s) on the
	 * subscription's thread at any moment: s is not read after this. */
	natsSubscription_Unsubscribe(ns);
	natsSubscription_Destroy(ns);
}

size_t vc_nats_max_payload(void)
{
	natsConnection *nc = atomic_load(&nats.nc);

	return nc != NULL ? (size_t)natsConnection_GetMaxPayload(nc) : 0;
}
