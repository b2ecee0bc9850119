/*
 * test_nats.c — vcd's NATS bridge (runtime/nats.c) against real
 * nats-servers. What the bridge sends and receives is checked by an
 * independent connection (the test's own nats.c client, not the bridge):
 * delivery both ways with per-publisher order, echo suppression, disabled
 * mode, nats_url checks (credentials never shown), and a server that is down
 * at start, comes up, dies and comes back (started and killed by the test on
 * a free port), with the counters and the once-per-outage log lines.
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
	natsSubscription *peer_sub;
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
	natsConnection_Destroy(t.peer);
	t.peer_sub = NULL;
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
	vc_nats_stats(&st);
	assert_false(st.enabled);
	assert_false(st.connected);
	assert_int_equal(st.published + st.publish_failures + st.received, 0);
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
	vc_nats_stats_t st;
	uint64_t t0;

	capture_start();
	t0 = vct_now_ms();
	assert_int_equal(vc_nats_start(url, 0, err, sizeof(err)), 0);
	assert_in_range(vct_now_ms() - t0, 0, 99);
	assert_int_equal(vc_nats_subscribe("vct.c", on_bridge_msg, &bridge_c), 0);
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
	peer_close();
	vc_nats_stop();
	vc_nats_stop();
	wait_log("nats: stopped (10 published, 1002 failed", 1);
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
		T(test_disabled),        T(test_bad_urls),    T(test_good_urls),
		T(test_delivery),        T(test_server_down), V(test_vcd_connected),
		V(test_vcd_unreachable), V(test_vcd_bad_url),
	};

	return cmocka_run_group_tests(tests, NULL, group_teardown);
}
