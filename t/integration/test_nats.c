/*
 * test_nats.c — vcd's NATS bridge (runtime/nats.c) against real
 * nats-servers. What the bridge sends and receives is checked by an
 * independent connection (the test's own nats.c client, not the bridge):
 * delivery both ways with per-publisher order, echo suppression, disabled
 * mode, nats_url checks (credentials never shown), and a server that is down
 * at start, comes up, dies and comes back (started and killed by the test on
 * a free port), with the counters and the once-per-outage log lines.
 * Media-rate parts: publishing to a stalled (SIGSTOPped) server never holds
 * up the caller, the queue's bound drops and counts; a payload over the
 * server's max_payload is refused and counted; subscriptions made and ended
 * at run time from any thread, in order with publishes, closed() once;
 * ready() once a subscription is active, before closed().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <ctype.h>
#include <fcntl.h>
#include <nats/nats.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runtime/nats.h"
#include "t/lib/vctest.h"

#define THREADS 4
#define PER_THREAD 1000
#define B_MESSAGES 100

/* Messages one subscriber got: payloads "<stream> <seq>", each stream in
 * order from 0. Touched by one delivery thread, read after waits. */
typedef struct box {
	const char *subject; /* expected subject; NULL: any */
	_Atomic unsigned count, bad;
	unsigned next[THREADS];
} box_t;

static struct {
	natsConnection *peer; /* the test's own connection */
	natsSubscription *peer_sub, *peer_sub2;
	pid_t server;
	int saved_stderr; /* -1 when stderr is not captured */
	char *capture;    /* file stderr goes to while captured */
} t = { .saved_stderr = -1 };

/* --- counting messages ----------------------------------------------------- */

static void box_add(box_t *b, const char *subject, const void *data, size_t len)
{
	char buf[32];
	unsigned stream, seq;

	if ((b->subject != NULL && strcmp(subject, b->subject) != 0) || len >= sizeof(buf))
		goto bad;
	memcpy(buf, data, len);
	buf[len] = '\0';
	if (strcmp(buf, "sync") == 0) /* peer_sync's, in no sequence */
		goto out;
	if (sscanf(buf, "%u %u", &stream, &seq) != 2 || stream >= THREADS || seq != b->next[stream])
		goto bad;
	b->next[stream]++;
out:
	atomic_fetch_add(&b->count, 1);
	return;
bad:
	atomic_fetch_add(&b->bad, 1);
	atomic_fetch_add(&b->count, 1);
}

/* The bridge's callback (vc_nats_cb). */
static void on_bridge_msg(const char *subject, const void *data, size_t len, void *arg)
{
	box_add(arg, subject, data, len);
}

/* The test connection's callback. */
static void on_peer_msg(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *arg)
{
	box_add(arg, natsMsg_GetSubject(msg), natsMsg_GetData(msg),
	        (size_t)natsMsg_GetDataLength(msg));
	natsMsg_Destroy(msg);
}

static bool wait_count(box_t *b, unsigned want, unsigned ms)
{
	uint64_t end = vct_now_ms() + ms;

	while (atomic_load(&b->count) < want && vct_now_ms() < end)
		vct_sleep_ms(5);
	return atomic_load(&b->count) >= want;
}

static bool wait_connected(bool want, unsigned ms)
{
	uint64_t end = vct_now_ms() + ms;

	while (vc_nats_connected() != want && vct_now_ms() < end)
		vct_sleep_ms(10);
	return vc_nats_connected() == want;
}

/* A vc_nats_sub handle's life as the bridge shows it. */
typedef struct life {
	box_t box;
	_Atomic unsigned closed;
	_Atomic unsigned after_closed; /* cb calls after closed() */
	_Atomic unsigned after_unsub;  /* cb calls begun after vc_nats_unsub returned */
	_Atomic bool unsubbed;         /* set by the test once vc_nats_unsub returned */
	pthread_t closed_on;
	vc_nats_sub_t *handle;
	pthread_t caller; /* the thread that called vc_nats_sub / vc_nats_unsub */
} life_t;

static void on_life_msg(const char *subject, const void *data, size_t len, void *arg)
{
	life_t *l = arg;

	if (atomic_load(&l->unsubbed))
		atomic_fetch_add(&l->after_unsub, 1);
	if (atomic_load(&l->closed) > 0)
		atomic_fetch_add(&l->after_closed, 1);
	box_add(&l->box, subject, data, len);
}

static void on_life_closed(void *arg)
{
	life_t *l = arg;

	l->closed_on = pthread_self();
	atomic_fetch_add(&l->closed, 1);
}

static void wait_closed(life_t *l, unsigned want, unsigned ms)
{
	uint64_t end = vct_now_ms() + ms;

	while (atomic_load(&l->closed) < want && vct_now_ms() < end)
		vct_sleep_ms(5);
	if (atomic_load(&l->closed) != want)
		fail_msg("closed() ran %u times for '%s' within %u ms, expected %u",
		         atomic_load(&l->closed), l->box.subject ? l->box.subject : "?", ms, want);
}

/* vc_nats_sub / vc_nats_unsub on a thread of their own. */
static void *sub_main(void *arg)
{
	life_t *l = arg;

	l->handle = vc_nats_sub(l->box.subject, on_life_msg, l, on_life_closed);
	return NULL;
}

static void *unsub_main(void *arg)
{
	life_t *l = arg;

	vc_nats_unsub(l->handle);
	return NULL;
}

static void on_thread(void *(*fn)(void *), life_t *l)
{
	assert_int_equal(pthread_create(&l->caller, NULL, fn, l), 0);
	assert_int_equal(pthread_join(l->caller, NULL), 0);
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* --- the test's own connection --------------------------------------------- */

static void peer_open(const char *url, const char *subject, box_t *box)
{
	natsStatus s = natsConnection_ConnectTo(&t.peer, url);

	if (s != NATS_OK)
		fail_msg("test connection to %s: %s", url, natsStatus_GetText(s));
	if (subject == NULL)
		return;
	assert_int_equal(natsConnection_Subscribe(&t.peer_sub, t.peer, subject, on_peer_msg, box),
	                 NATS_OK);
	/* The server has the subscription once a PING came back. */
	assert_int_equal(natsConnection_FlushTimeout(t.peer, 5000), NATS_OK);
}

static void peer_publish(const char *subject, unsigned stream, unsigned seq)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%u %u", stream, seq);
	assert_int_equal(natsConnection_PublishString(t.peer, subject, buf), NATS_OK);
}

/* Publish on `subject` from the test connection until the bridge's box
 * counts one more: then every subscription the bridge made before that one
 * is in place at the server (they travel in order on one connection). */
static void peer_sync(const char *subject, box_t *box)
{
	unsigned before = atomic_load(&box->count);
	uint64_t end = vct_now_ms() + 10000;

	for (unsigned i = 0; atomic_load(&box->count) == before; i++) {
		if (vct_now_ms() > end)
			fail_msg("the bridge received nothing on '%s' within 10 s", subject);
		assert_int_equal(natsConnection_PublishString(t.peer, subject, "sync"), NATS_OK);
		assert_int_equal(natsConnection_FlushTimeout(t.peer, 5000), NATS_OK);
		vct_sleep_ms(20);
	}
}

static void peer_close(void)
{
	natsSubscription_Destroy(t.peer_sub);
	natsSubscription_Destroy(t.peer_sub2);
	natsConnection_Destroy(t.peer);
	t.peer_sub = t.peer_sub2 = NULL;
	t.peer = NULL;
}

/* --- a nats-server of our own ---------------------------------------------- */

/* --- the bridge's log (stderr: the log writer thread is not started) ------- */

static void capture_start(void)
{
	int fd;

	t.capture = vct_tmp_path("test_nats-stderr-%d.log", (int)getpid());
	fd = open(t.capture, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	fflush(stderr);
	t.saved_stderr = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);
}

/* Put stderr back and replay what was captured (it belongs in the log). */
static void capture_end(void)
{
	char *text;

	if (t.saved_stderr < 0)
		return;
	fflush(stderr);
	dup2(t.saved_stderr, STDERR_FILENO);
	close(t.saved_stderr);
	t.saved_stderr = -1;
	text = vct_read_file(t.capture, NULL);
	if (text != NULL)
		fputs(text, stderr);
	free(text);
	free(t.capture);
	t.capture = NULL;
}

static unsigned log_count(const char *needle)
{
	char *text = vct_read_file(t.capture, NULL);
	unsigned n = 0;

	for (const char *p = text; p != NULL && (p = strstr(p, needle)) != NULL; p++)
		n++;
	free(text);
	return n;
}

static void wait_log_min(const char *needle, unsigned want)
{
	uint64_t end = vct_now_ms() + 10000;

	while (log_count(needle) < want && vct_now_ms() < end)
		vct_sleep_ms(10);
	if (log_count(needle) < want)
		fail_msg("log: '%s' %u times within 10 s, expected at least %u", needle,
		         log_count(needle), want);
}

static void wait_log(const char *needle, unsigned want)
{
	uint64_t end = vct_now_ms() + 5000;

	while (log_count(needle) < want && vct_now_ms() < end)
		vct_sleep_ms(10);
	if (log_count(needle) != want)
		fail_msg("log: '%s' %u times, expected %u", needle, log_count(needle), want);
}

/* --- cases ------------------------------------------------------------------- */

static int case_teardown(void **state)
{
	peer_close();
	vc_nats_stop();
	vct_nats_server_kill(&t.server);
	capture_end();
	return 0;
}

static void test_disabled(void **state)
{
	char err[256] = "";
	box_t box = { 0 };
	life_t l = { .box = { .subject = "vct.a" } };
	vc_nats_stats_t st;
	const char *id = vc_nats_node_id();

	assert_int_equal(strlen(id), 16);
	for (const char *p = id; *p; p++)
		assert_true(isxdigit((unsigned char)*p) && !isupper((unsigned char)*p));
	assert_int_equal(vc_nats_start("", 0, err, sizeof(err)), 0);
	assert_false(vc_nats_enabled());
	assert_false(vc_nats_connected());
	assert_int_equal(vc_nats_publish("vct.a", "x", 1), 0);
	assert_int_equal(vc_nats_subscribe("vct.a", on_bridge_msg, &box), 0);
	/* A handle that never fires; closed() at once, in vc_nats_unsub. */
	l.handle = vc_nats_sub("vct.a", on_life_msg, &l, on_life_closed);
	assert_non_null(l.handle);
	assert_true(vc_nats_wait_closed(0));
	vc_nats_unsub(l.handle);
	assert_int_equal(atomic_load(&l.closed), 1);
	assert_true(vc_nats_wait_closed(0));
	assert_int_equal(vc_nats_max_payload(), 0);
	vc_nats_stats(&st);
	assert_false(st.enabled);
	assert_false(st.connected);
	assert_int_equal(st.published + st.publish_failures + st.received, 0);
	assert_int_equal(st.publish_dropped + st.publish_too_big + st.subscriptions, 0);
	assert_int_equal(st.max_payload, 0);
	assert_string_equal(vc_nats_node_id(), id);
	vc_nats_stop();
	vc_nats_stop();
	assert_int_equal(vc_nats_start(NULL, 0, err, sizeof(err)), 0);
	assert_false(vc_nats_enabled());
	vc_nats_stop();
}

static void test_bad_urls(void **state)
{
	static const char *const bad[] = {
		"localhost",
		"nats://",
		"nats://localhost",
		"nats://:4222",
		"nats://host:0",
		"nats://host:65536",
		"nats://host:42x",
		"http://host:4222",
		"nats://a:4222,,nats://b:4222",
		"nats://a:4222,",
		"nats://a:4222/",
		"nats://[::1]",
		"nats://ho st:4222",
		"tls://a:4222,nats://b:4222",
	};
	char err[512], *want;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (vc_nats_start(bad[i], 0, err, sizeof(err)) != -1)
			fail_msg("nats_url '%s' was accepted", bad[i]);
		want = vct_strf("nats_url = '%s': expected nats://host:port", bad[i]);
		if (strncmp(err, want, strlen(want)) != 0)
			fail_msg("nats_url '%s': error '%s'", bad[i], err);
		free(want);
		assert_false(vc_nats_enabled());
	}
	/* Credentials never appear in the message. */
	assert_int_equal(vc_nats_start("nats://alice:s3cret@host", 0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "'nats://alice:***@host'"));
	assert_null(strstr(err, "s3cret"));
	assert_int_equal(vc_nats_start("nats://b:1,tls://t0ken@host:x", 0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "'nats://b:1,tls://***@host:x'"));
	assert_null(strstr(err, "t0ken"));
}

static void test_good_urls(void **state)
{
	int port = vct_free_port();
	char *urls[] = {
		vct_strf("nats://127.0.0.1:%d", port),
		vct_strf("127.0.0.1:%d", port),
		vct_strf(" nats://u:p@127.0.0.1:%d , NATS://[::1]:%d,localhost:%d", port, port,
		         port),
	};
	char err[512];

	for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		err[0] = '\0';
		if (vc_nats_start(urls[i], 0, err, sizeof(err)) != 0)
			fail_msg("nats_url '%s' refused: %s", urls[i], err);
		assert_true(vc_nats_enabled());
		vc_nats_stop();
		assert_false(vc_nats_enabled());
		free(urls[i]);
	}
}

typedef struct publisher {
	pthread_t thread;
	unsigned stream;
	_Atomic unsigned *failed;
} publisher_t;

static void *publish_main(void *arg)
{
	publisher_t *p = arg;
	char buf[32];

	for (unsigned i = 0; i < PER_THREAD; i++) {
		int n = snprintf(buf, sizeof(buf), "%u %u", p->stream, i);
		if (vc_nats_publish("vct.a", buf, (size_t)n) != 0)
			atomic_fetch_add(p->failed, 1);
	}
	return NULL;
}

/* The bridge publishes from 4 threads; the test connection gets all of it,
 * in order per thread, and the bridge none of it (no echo). The test
 * connection publishes; the bridge's subscriber gets all of it. */
static void test_delivery(void **state)
{
	const char *url = vct_env("VCT_NATS_URL");
	box_t peer_a = { .subject = "vct.a" }, bridge_a = { .subject = "vct.a" };
	box_t bridge_b = { .subject = "vct.b" }, sync = { 0 };
	publisher_t pubs[THREADS];
	_Atomic unsigned failed = 0;
	vc_nats_stats_t st;
	char err[512];

	if (vc_nats_start(url, 0, err, sizeof(err)) != 0)
		fail_msg("vc_nats_start(%s): %s", url, err);
	assert_int_equal(vc_nats_subscribe("vct.a", on_bridge_msg, &bridge_a), 0);
	assert_int_equal(vc_nats_subscribe("vct.b", on_bridge_msg, &bridge_b), 0);
	assert_int_equal(vc_nats_subscribe("vct.sync", on_bridge_msg, &sync), 0);
	assert_int_equal(vc_nats_subscribe("bad..subject", on_bridge_msg, &sync), -1);
	assert_true(wait_connected(true, 10000));
	peer_open(url, "vct.a", &peer_a);
	peer_sync("vct.sync", &sync);

	for (unsigned i = 0; i < THREADS; i++) {
		pubs[i] = (publisher_t){ .stream = i, .failed = &failed };
		assert_int_equal(pthread_create(&pubs[i].thread, NULL, publish_main, &pubs[i]), 0);
	}
	for (unsigned i = 0; i < THREADS; i++)
		pthread_join(pubs[i].thread, NULL);
	assert_int_equal(atomic_load(&failed), 0);
	if (!wait_count(&peer_a, THREADS * PER_THREAD, 10000))
		fail_msg("the test connection got %u of %u", atomic_load(&peer_a.count),
		         THREADS * PER_THREAD);
	assert_int_equal(atomic_load(&peer_a.bad), 0);
	vct_sleep_ms(50);
	assert_int_equal(atomic_load(&peer_a.count), THREADS * PER_THREAD);
	/* An echo would have come before this round trip's message. */
	peer_sync("vct.sync", &sync);
	assert_int_equal(atomic_load(&bridge_a.count), 0);

	for (unsigned i = 0; i < B_MESSAGES; i++)
		peer_publish("vct.b", 0, i);
	assert_int_equal(natsConnection_FlushTimeout(t.peer, 5000), NATS_OK);
	if (!wait_count(&bridge_b, B_MESSAGES, 10000))
		fail_msg("the bridge got %u of %u", atomic_load(&bridge_b.count), B_MESSAGES);
	assert_int_equal(atomic_load(&bridge_b.bad), 0);
	vct_sleep_ms(100); /* a late sync message lands in both counts */

	vc_nats_stats(&st);
	assert_true(st.enabled);
	assert_true(st.connected);
	assert_int_equal(st.published, THREADS * PER_THREAD);
	assert_int_equal(st.publish_failures, 0);
	assert_int_equal(st.received, B_MESSAGES + atomic_load(&sync.count));
	assert_int_equal(st.disconnects, 0);
	peer_close();
	vc_nats_stop();
	assert_false(vc_nats_enabled());
	assert_int_equal(vc_nats_publish("vct.a", "x", 1), 0); /* stopped = disabled */
}

/* The name the bridge gave its connection, as the server's /connz shows. */
static void check_client_name(int monitor_port)
{
	vct_resp_t r;
	char *name = vct_strf("\"name\": \"vcd %s\"", vc_nats_node_id());

	assert_int_equal(vct_http(monitor_port, "GET", "/connz", NULL, NULL, &r), 200);
	if (strstr(r.body, name) == NULL)
		fail_msg("/connz has no %s: %s", name, r.body);
	vct_resp_free(&r);
	free(name);
}

/* Down at start: start does not wait, publishes fail fast, counted, one
 * warning. The server comes up: connected, both directions work, including
 * a subscription made while down. It dies: disconnected, counted, warnings
 * again once. It comes back: reconnected, counted, still delivering. */
static void test_server_down(void **state)
{
	int port = vct_free_port(), mport = vct_free_port();
	char *url = vct_strf("nats://127.0.0.1:%d", port), err[512];
	box_t bridge_c = { .subject = "vct.c" }, peer_d = { .subject = "vct.d" };
	life_t g = { .box = { .subject = "vct.g" } };
	vc_nats_stats_t st;
	unsigned got;
	uint64_t t0;

	capture_start();
	t0 = vct_now_ms();
	assert_int_equal(vc_nats_start(url, 0, err, sizeof(err)), 0);
	assert_in_range(vct_now_ms() - t0, 0, 99);
	assert_int_equal(vc_nats_subscribe("vct.c", on_bridge_msg, &bridge_c), 0);
	on_thread(sub_main, &g); /* made while NATS is unreachable */
	vct_sleep_ms(100);
	assert_false(vc_nats_connected());
	t0 = vct_now_ms();
	for (unsigned i = 0; i < 1000; i++)
		assert_int_equal(vc_nats_publish("vct.d", "x", 1), -1);
	assert_in_range(vct_now_ms() - t0, 0, 99);
	vc_nats_stats(&st);
	assert_true(st.enabled);
	assert_false(st.connected);
	assert_int_equal(st.publish_failures, 1000);
	assert_int_equal(st.published, 0);
	wait_log("nats: publish failed, NATS unreachable; further failures are counted "
	         "in /metrics",
	         1);

	t.server = vct_nats_server_start(port, mport, false);
	if (!wait_connected(true, 15000))
		fail_msg("the bridge did not connect to %s within 15 s", url);
	wait_log("publishing again (1000 publishes failed so far", 1);
	check_client_name(mport);
	peer_open(url, "vct.d", &peer_d);
	peer_sync("vct.c", &bridge_c);
	peer_sync("vct.g", &g.box); /* both made before the server was there */
	for (unsigned i = 0; i < 10; i++) {
		char buf[16];
		int n = snprintf(buf, sizeof(buf), "0 %u", i);
		assert_int_equal(vc_nats_publish("vct.d", buf, (size_t)n), 0);
	}
	assert_true(wait_count(&peer_d, 10, 5000));
	assert_int_equal(atomic_load(&peer_d.bad), 0);
	peer_close();

	vct_nats_server_kill(&t.server);
	if (!wait_connected(false, 5000))
		fail_msg("the bridge still says connected 5 s after the server died");
	assert_int_equal(vc_nats_publish("vct.d", "x", 1), -1);
	assert_int_equal(vc_nats_publish("vct.d", "x", 1), -1);
	wait_log("nats: lost the connection to", 1);
	wait_log("nats: publish failed, NATS unreachable", 2);
	/* Ended while disconnected: closed() all the same, once. */
	got = atomic_load(&g.box.count);
	on_thread(unsub_main, &g);
	atomic_store(&g.unsubbed, true);
	wait_closed(&g, 1, 5000);
	vc_nats_stats(&st);
	assert_int_equal(st.disconnects, 1);
	assert_int_equal(st.reconnects, 0);
	assert_int_equal(st.publish_failures, 1002);
	assert_int_equal(st.published, 10);

	t.server = vct_nats_server_start(port, mport, false);
	if (!wait_connected(true, 15000))
		fail_msg("the bridge did not reconnect to %s within 15 s", url);
	wait_log("nats: reconnected to", 1);
	vc_nats_stats(&st);
	assert_int_equal(st.reconnects, 1);
	assert_int_equal(st.disconnects, 1);
	peer_open(url, NULL, NULL);
	peer_sync("vct.c", &bridge_c); /* re-subscribed after the reconnect */
	assert_int_equal(atomic_load(&bridge_c.bad), 0);
	/* vct.g was not: what the test connection sends there reaches nobody. */
	peer_publish("vct.g", 0, 0);
	peer_sync("vct.c", &bridge_c);
	assert_int_equal(atomic_load(&g.box.count), got);
	assert_int_equal(atomic_load(&g.after_unsub) + atomic_load(&g.after_closed), 0);
	assert_int_equal(atomic_load(&g.closed), 1);
	peer_close();
	vc_nats_stop();
	vc_nats_stop();
	wait_log("nats: stopped (10 published, 1002 failed", 1);
	free(url);
}

/* --- subscriptions at run time ----------------------------------------------- */

/* Made and ended on threads of their own while running: messages arrive in
 * order, none after vc_nats_unsub returned, closed() once, on a thread
 * other than the caller's, after the last message; the gauge follows. A
 * handle still open at vc_nats_stop ends at its vc_nats_unsub. */
static void test_sub_unsub(void **state)
{
	const char *url = vct_env("VCT_NATS_URL");
	life_t e = { .box = { .subject = "vct.e" } }, h = { .box = { .subject = "vct.h" } };
	box_t sync = { 0 };
	vc_nats_stats_t st;
	unsigned before;
	char err[512];

	if (vc_nats_start(url, 0, err, sizeof(err)) != 0)
		fail_msg("vc_nats_start(%s): %s", url, err);
	assert_int_equal(vc_nats_subscribe("vct.sync", on_bridge_msg, &sync), 0);
	assert_true(wait_connected(true, 10000));
	peer_open(url, NULL, NULL);
	peer_sync("vct.sync", &sync);

	on_thread(sub_main, &e);
	assert_non_null(e.handle);
	peer_sync("vct.e", &e.box); /* the subscription is in place */
	for (unsigned i = 0; i < B_MESSAGES; i++)
		peer_publish("vct.e", 0, i);
	/* One delivery thread, one server connection: once this arrives,
	 * everything published on vct.e before it has been handled. */
	peer_sync("vct.sync", &sync);
	assert_int_equal(e.box.next[0], B_MESSAGES);
	assert_int_equal(atomic_load(&e.box.bad), 0);
	vc_nats_stats(&st);
	assert_int_equal(st.subscriptions, 2);

	before = atomic_load(&e.box.count);
	on_thread(unsub_main, &e);
	atomic_store(&e.unsubbed, true);
	for (unsigned i = 0; i < B_MESSAGES; i++)
		peer_publish("vct.e", 1, i);
	peer_sync("vct.sync", &sync);
	wait_closed(&e, 1, 5000);
	peer_sync("vct.sync", &sync);
	assert_int_equal(atomic_load(&e.box.count), before);
	assert_int_equal(atomic_load(&e.after_unsub), 0);
	assert_int_equal(atomic_load(&e.after_closed), 0);
	assert_int_equal(atomic_load(&e.closed), 1);
	assert_false(pthread_equal(e.closed_on, e.caller));
	assert_false(pthread_equal(e.closed_on, pthread_self()));
	assert_true(vc_nats_wait_closed(1000));
	vc_nats_stats(&st);
	assert_int_equal(st.subscriptions, 1);

	/* Open at stop: no closed() then; vc_nats_unsub afterwards ends it. */
	on_thread(sub_main, &h);
	peer_sync("vct.h", &h.box);
	peer_close();
	vc_nats_stop();
	assert_int_equal(atomic_load(&h.closed), 0);
	vc_nats_unsub(h.handle);
	assert_int_equal(atomic_load(&h.closed), 1);
	assert_true(vc_nats_wait_closed(0));
}

/* The test connection answers each message on vct.req.N with one on
 * vct.rep.N. */
static void on_peer_request(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *arg)
{
	char subject[64];

	snprintf(subject, sizeof(subject), "vct.rep.%s",
	         natsMsg_GetSubject(msg) + strlen("vct.req."));
	(void)natsConnection_PublishString(nc, subject, "0 0");
	natsMsg_Destroy(msg);
}

typedef struct replies {
	_Atomic unsigned got, closed;
} replies_t;

static void on_reply(const char *subject, const void *data, size_t len, void *arg)
{
	atomic_fetch_add(&((replies_t *)arg)->got, 1);
}

static void on_reply_closed(void *arg)
{
	atomic_fetch_add(&((replies_t *)arg)->closed, 1);
}

/* A subscription asked for before a publish reaches the server before it:
 * subscribe to vct.rep.N, then ask on vct.req.N for an answer there, which
 * the test connection sends at once. Every answer arrives. */
static void test_sub_before_publish(void **state)
{
	enum { ROUNDS = 50 };
	const char *url = vct_env("VCT_NATS_URL");
	vc_nats_sub_t *subs[ROUNDS];
	replies_t r = { 0 };
	uint64_t end;
	char err[512];

	if (vc_nats_start(url, 0, err, sizeof(err)) != 0)
		fail_msg("vc_nats_start(%s): %s", url, err);
	assert_true(wait_connected(true, 10000));
	peer_open(url, NULL, NULL);
	assert_int_equal(natsConnection_Subscribe(&t.peer_sub2, t.peer, "vct.req.*",
	                                          on_peer_request, NULL),
	                 NATS_OK);
	assert_int_equal(natsConnection_FlushTimeout(t.peer, 5000), NATS_OK);
	for (unsigned i = 0; i < ROUNDS; i++) {
		char subject[32];
		snprintf(subject, sizeof(subject), "vct.rep.%u", i);
		subs[i] = vc_nats_sub(subject, on_reply, &r, on_reply_closed);
		snprintf(subject, sizeof(subject), "vct.req.%u", i);
		assert_int_equal(vc_nats_publish(subject, "?", 1), 0);
	}
	end = vct_now_ms() + 10000;
	while (atomic_load(&r.got) < ROUNDS && vct_now_ms() < end)
		vct_sleep_ms(5);
	if (atomic_load(&r.got) != ROUNDS)
		fail_msg("%u of %u answers arrived within 10 s: a publish overtook its "
		         "subscription",
		         atomic_load(&r.got), ROUNDS);
	for (unsigned i = 0; i < ROUNDS; i++)
		vc_nats_unsub(subs[i]);
	if (!vc_nats_wait_closed(5000))
		fail_msg("closed() ran for %u of %u subscriptions within 5 s",
		         atomic_load(&r.closed), ROUNDS);
	assert_int_equal(atomic_load(&r.closed), ROUNDS);
}

/* vc_nats_sub_ready: ready() once per subscription, before closed(), and
 * from then on a message another connection publishes at once reaches cb.
 * Each round subscribes, waits for ready, and the test connection then
 * publishes right away: without the round trip behind ready() the SUB may
 * not have reached the server yet and the message is lost. With NATS off,
 * ready() runs inside the call. */
typedef struct ready_box {
	_Atomic unsigned ready, got, closed, ready_after_closed;
} ready_box_t;

static void on_ready_msg(const char *subject, const void *data, size_t len, void *arg)
{
	atomic_fetch_add(&((ready_box_t *)arg)->got, 1);
}

static void on_ready_closed(void *arg)
{
	atomic_fetch_add(&((ready_box_t *)arg)->closed, 1);
}

static void on_ready(void *arg)
{
	ready_box_t *b = arg;

	if (atomic_load(&b->closed) > 0)
		atomic_fetch_add(&b->ready_after_closed, 1);
	atomic_fetch_add(&b->ready, 1);
}

static void test_sub_ready(void **state)
{
	enum { ROUNDS = 50 };
	const char *url = vct_env("VCT_NATS_URL");
	ready_box_t b[ROUNDS], off = { 0 };
	vc_nats_sub_t *subs[ROUNDS], *h;
	char err[512];

	memset(b, 0, sizeof(b));
	h = vc_nats_sub_ready("vct.rdy.off", on_ready_msg, &off, on_ready_closed, on_ready);
	assert_int_equal(atomic_load(&off.ready), 1); /* disabled: at once */
	vc_nats_unsub(h);
	assert_int_equal(atomic_load(&off.closed), 1);

	if (vc_nats_start(url, 0, err, sizeof(err)) != 0)
		fail_msg("vc_nats_start(%s): %s", url, err);
	assert_true(wait_connected(true, 10000));
	peer_open(url, NULL, NULL);
	for (unsigned i = 0; i < ROUNDS; i++) {
		char subject[32];
		uint64_t end = vct_now_ms() + 10000;

		snprintf(subject, sizeof(subject), "vct.rdy.%u", i);
		subs[i] =
		        vc_nats_sub_ready(subject, on_ready_msg, &b[i], on_ready_closed, on_ready);
		while (atomic_load(&b[i].ready) == 0 && vct_now_ms() < end)
			vct_sleep_ms(1);
		if (atomic_load(&b[i].ready) != 1)
			fail_msg("round %u: ready() ran %u times within 10 s, expected once", i,
			         atomic_load(&b[i].ready));
		assert_int_equal(natsConnection_PublishString(t.peer, subject, "0 0"), NATS_OK);
		assert_int_equal(natsConnection_FlushTimeout(t.peer, 5000), NATS_OK);
	}
	for (unsigned i = 0; i < ROUNDS; i++) {
		uint64_t end = vct_now_ms() + 10000;

		while (atomic_load(&b[i].got) == 0 && vct_now_ms() < end)
			vct_sleep_ms(5);
		if (atomic_load(&b[i].got) != 1)
			fail_msg("round %u: %u messages published right after ready() arrived "
			         "within 10 s, expected 1 (ready before the server had the SUB?)",
			         i, atomic_load(&b[i].got));
		vc_nats_unsub(subs[i]);
	}
	if (!vc_nats_wait_closed(5000))
		fail_msg("closed() did not run for every subscription within 5 s");
	for (unsigned i = 0; i < ROUNDS; i++) {
		assert_int_equal(atomic_load(&b[i].ready), 1);
		assert_int_equal(atomic_load(&b[i].closed), 1);
		assert_int_equal(atomic_load(&b[i].ready_after_closed), 0);
	}
}

/* --- max_payload ------------------------------------------------------------ */

typedef struct sizes {
	_Atomic unsigned count;
	_Atomic size_t last;
} sizes_t;

static void on_peer_size(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *arg)
{
	sizes_t *z = arg;

	atomic_store(&z->last, (size_t)natsMsg_GetDataLength(msg));
	atomic_fetch_add(&z->count, 1);
	natsMsg_Destroy(msg);
}

static void wait_sizes(sizes_t *z, unsigned want)
{
	uint64_t end = vct_now_ms() + 10000;

	while (atomic_load(&z->count) < want && vct_now_ms() < end)
		vct_sleep_ms(5);
	if (atomic_load(&z->count) != want)
		fail_msg("the test connection got %u messages on vct.big within 10 s, expected %u",
		         atomic_load(&z->count), want);
}

/* The shared nats-server (t/lib/stack.sh) takes 8 MB: a 4,000,000-byte
 * message (ws_max_message) crosses; one over max_payload is refused at once,
 * counted, warned about once a minute, and never sent. */
static void test_max_payload(void **state)
{
	const char *url = vct_env("VCT_NATS_URL");
	size_t max, media = 4000000;
	sizes_t got = { 0 };
	vc_nats_stats_t st;
	char err[512], *buf;

	capture_start();
	assert_int_equal(vc_nats_max_payload(), 0);
	if (vc_nats_start(url, 0, err, sizeof(err)) != 0)
		fail_msg("vc_nats_start(%s): %s", url, err);
	assert_true(wait_connected(true, 10000));
	max = vc_nats_max_payload();
	assert_int_equal(max, 8388608);
	wait_log("(max_payload 8388608 bytes)", 1);
	peer_open(url, NULL, NULL);
	assert_int_equal(natsConnection_Subscribe(&t.peer_sub, t.peer, "vct.big", on_peer_size,
	                                          &got),
	                 NATS_OK);
	assert_int_equal(natsConnection_FlushTimeout(t.peer, 5000), NATS_OK);

	buf = vct_strf("%*s", (int)(max + 1000), "");
	assert_int_equal(vc_nats_publish("vct.big", buf, media), 0);
	assert_int_equal(vc_nats_publish("vct.big", buf, max + 1), -1);
	assert_int_equal(vc_nats_publish("vct.big", buf, max + 1000), -1);
	assert_int_equal(vc_nats_publish("vct.big", buf, max), 0);
	wait_sizes(&got, 2);
	assert_int_equal(atomic_load(&got.last), max);
	assert_int_equal(vc_nats_publish("vct.big", "x", 1), 0);
	wait_sizes(&got, 3); /* nothing else was sent in between */
	vc_nats_stats(&st);
	assert_int_equal(st.published, 3);
	assert_int_equal(st.publish_too_big, 2);
	assert_int_equal(st.publish_failures + st.publish_dropped, 0);
	assert_int_equal(st.max_payload, max);
	wait_log("is over the server's max_payload (8388608 bytes)", 1);
	free(buf);
}

/* --- a stalled server -------------------------------------------------------- */

#define STALL_QUEUE (256 * 1024)
#define STALL_MSG (16 * 1024)
/* A publish that waits for libnats sits out its 500 ms write deadline. */
#define STALL_CALL_MAX_US 400000

typedef struct flood {
	unsigned calls, refused;
	uint64_t slowest_us;
} flood_t;

/* Publish STALL_MSG-byte messages as fast as this thread can until the
 * bridge is no longer connected or ms passed. With the server stopped, the
 * connection ends when nats-pub, stuck writing to it, reaches the write
 * deadline. */
static void flood(flood_t *f, unsigned ms)
{
	static char buf[STALL_MSG];
	uint64_t end = vct_now_ms() + ms;

	while (vc_nats_connected() && vct_now_ms() < end) {
		uint64_t t0 = now_us(), dt;
		if (vc_nats_publish("vct.flood", buf, sizeof(buf)) != 0)
			f->refused++;
		dt = now_us() - t0;
		if (dt > f->slowest_us)
			f->slowest_us = dt;
		f->calls++;
	}
}

/* The server is SIGSTOPped: the socket and libnats's buffer fill, nats-pub
 * waits in a publish until the write deadline ends the connection. All
 * that time the test thread publishes and no call waits: the queue fills
 * to its bound, then publishes are dropped and counted, with one warning
 * for the episode. When the server runs again the bridge reconnects,
 * publishing works, and 5 s without a drop end the episode (logged). */
static void test_stalled_server(void **state)
{
	int port = vct_free_port();
	char *url = vct_strf("nats://127.0.0.1:%d", port), err[512];
	box_t after = { .subject = "vct.after" };
	flood_t f = { 0 };
	unsigned attempts = 0, full;
	vc_nats_stats_t st = { 0 };
	uint64_t end;

	capture_start();
	t.server = vct_nats_server_start(port, 0, true);
	assert_int_equal(vc_nats_start(url, STALL_QUEUE, err, sizeof(err)), 0);
	if (!wait_connected(true, 10000))
		fail_msg("the bridge did not connect to %s within 10 s", url);
	/* Should the test thread be descheduled for the whole write deadline,
	 * nothing is dropped: resume the server and try again. */
	while (st.publish_dropped == 0 && attempts++ < 3) {
		assert_int_equal(kill(t.server, SIGSTOP), 0);
		flood(&f, 20000);
		if (vc_nats_connected())
			fail_msg("still connected 20 s after the server stopped (%u publishes)",
			         f.calls);
		vc_nats_stats(&st);
		assert_int_equal(kill(t.server, SIGCONT), 0);
		if (!wait_connected(true, 15000))
			fail_msg("the bridge did not reconnect within 15 s of the server resuming");
	}
	if (st.publish_dropped == 0)
		fail_msg("no publish dropped in %u stalls (%u publishes)", attempts, f.calls);
	if (f.slowest_us >= STALL_CALL_MAX_US)
		fail_msg("a publish took %llu us while the server was stopped",
		         (unsigned long long)f.slowest_us);
	assert_true(st.publish_dropped <= f.refused);
	/* One warning for the whole episode, however often the queue filled. */
	full = log_count("nats: the publish queue is full (nats_publish_queue = 262144 bytes)");
	if (full != 1 || st.publish_dropped < 2)
		fail_msg("%u 'queue is full' warnings for %llu drops, expected one", full,
		         (unsigned long long)st.publish_dropped);

	peer_open(url, "vct.after", &after);
	assert_int_equal(vc_nats_publish("vct.after", "0 0", 3), 0);
	if (!wait_count(&after, 1, 10000))
		fail_msg("nothing arrived on vct.after within 10 s of the server resuming");
	/* The episode ends with a publish 5 s after the last drop. */
	end = vct_now_ms() + 15000;
	while (log_count("nats: no publish dropped for 5 s") == 0 && vct_now_ms() < end) {
		assert_int_equal(vc_nats_publish("vct.idle", "x", 1), 0);
		vct_sleep_ms(50);
	}
	wait_log("nats: no publish dropped for 5 s", 1);
	free(url);
}

/* --- the daemon ------------------------------------------------------------ */

static char *db_url; /* created on first use */

static double wait_metric(vct_vcd_t *v, const char *sample, double want, unsigned ms)
{
	uint64_t end = vct_now_ms() + ms;
	double got;

	while ((got = vct_metric_get(v->port, sample)) != want && vct_now_ms() < end)
		vct_sleep_ms(20);
	return got;
}

/* vcd with nats_url: connected, the metrics are there, it stops cleanly. */
static void test_vcd_connected(void **state)
{
	char *extra = vct_strf("nats_url = %s\n", vct_env("VCT_NATS_URL"));
	vct_vcd_t *v;

	if (db_url == NULL)
		db_url = vct_db_create("nats");
	v = vct_vcd_start("nats_up", db_url, extra);
	assert_true(wait_metric(v, "vcd_nats_connected", 1, 10000) == 1);
	assert_true(vct_metric_get(v->port, "vcd_nats_published_total") >= 0);
	assert_true(vct_metric_get(v->port, "vcd_nats_publish_failures_total") == 0);
	assert_true(vct_metric_get(v->port, "vcd_nats_received_total") >= 0);
	assert_true(vct_metric_get(v->port, "vcd_nats_reconnects_total") == 0);
	assert_true(vct_metric_get(v->port, "vcd_nats_publish_dropped_total") == 0);
	assert_true(vct_metric_get(v->port, "vcd_nats_publish_too_big_total") == 0);
	/* t/lib/stack.sh's server; auth's and the lobby's subscriptions, and the
	 * three of embed credentials (vcd.embed.fetch, .ask.<node>, .answer.<node>) */
	assert_true(wait_metric(v, "vcd_nats_max_payload_bytes", 8388608, 10000) == 8388608);
	assert_true(wait_metric(v, "vcd_nats_subscriptions", 5, 10000) == 5);
	assert_true(vct_vcd_wait_log(v, "nats: connected to", 5000));
	vct_vcd_stop_ok(v);
	assert_true(vct_vcd_log_has(v, "nats: stopped"));
	free(extra);
	vct_pass();
}

/* NATS down: vcd serves anyway, says so once, and reports it. */
static void test_vcd_unreachable(void **state)
{
	char *extra = vct_strf("nats_url = nats://127.0.0.1:%d\n", vct_free_port());
	vct_vcd_t *v;

	if (db_url == NULL)
		db_url = vct_db_create("nats");
	v = vct_vcd_start("nats_down", db_url, extra);
	assert_int_equal(vct_http_get_status(v->port, "/healthz"), 200);
	assert_true(vct_metric_get(v->port, "vcd_nats_connected") == 0);
	assert_true(vct_vcd_wait_log(v, "is not reachable yet", 5000));
	vct_vcd_stop_ok(v);
	free(extra);
	vct_pass();
}

/* A malformed nats_url stops vcd at start, saying what was expected and
 * without the password. */
static void test_vcd_bad_url(void **state)
{
	vct_vcd_t *v;

	if (db_url == NULL)
		db_url = vct_db_create("nats");
	v = vct_vcd_new("nats_bad", db_url, "nats_url = nats://ops:hunter2@nats.example\n");
	vct_vcd_spawn(v, NULL);
	assert_int_not_equal(vct_vcd_wait_exit(v, 10000), 0);
	assert_true(vct_vcd_log_has(v, "nats_url = 'nats://ops:***@nats.example': expected "
	                               "nats://host:port"));
	assert_false(vct_vcd_log_has(v, "hunter2"));
	vct_pass();
}

static int group_teardown(void **state)
{
	free(db_url);
	return 0;
}

#define T(fn) cmocka_unit_test_teardown(fn, case_teardown)
#define V(fn) cmocka_unit_test_setup_teardown(fn, vct_setup, vct_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_disabled),           T(test_bad_urls),      T(test_good_urls),
		T(test_delivery),           T(test_server_down),   T(test_sub_unsub),
		T(test_sub_before_publish), T(test_sub_ready),     T(test_max_payload),
		T(test_stalled_server),     V(test_vcd_connected), V(test_vcd_unreachable),
		V(test_vcd_bad_url),
	};

	return cmocka_run_group_tests(tests, NULL, group_teardown);
}
