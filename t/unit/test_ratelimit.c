/*
 * test_ratelimit.c — runtime/ratelimit.c: counts under, at and over the
 * limit, Retry-After values, window restarts, independent keys, limit 0,
 * reloads, bounded memory with eviction of expired and oldest windows, many
 * threads on the same keys, and the "N/DURATION" parser with its message.
 *
 * The unit under test is included so the tests can see how many keys each
 * shard holds and pick keys that land in one shard (the hash key is random).
 */
#include "runtime/ratelimit.c"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static size_t keys_held(vc_ratelimit_t *rl)
{
	size_t n = 0;

	for (size_t i = 0; i < NSHARDS; i++)
		n += rl->shards[i].used;
	return n;
}

/* Names "k<N>" that land in the same shard as `first`, into out[0..n). */
static void same_shard_keys(vc_ratelimit_t *rl, const char *first, char out[][16], size_t n)
{
	char k[KEY_MAX];
	uint64_t want = key_hash(rl, first, k) % NSHARDS;
	size_t found = 0;

	for (unsigned i = 0; found < n; i++) {
		snprintf(out[found], 16, "k%u", i);
		if (key_hash(rl, out[found], k) % NSHARDS == want)
			found++;
	}
}

static void test_under_at_over(void **state)
{
	vc_ratelimit_t *rl = vc_ratelimit_new(3, 60, 1024);

	assert_int_equal(vc_ratelimit_hit(rl, "192.0.2.1", 100.0), 0);
	assert_int_equal(vc_ratelimit_hit(rl, "192.0.2.1", 100.5), 0);
	assert_int_equal(vc_ratelimit_hit(rl, "192.0.2.1", 101.0), 0); /* at the limit */
	/* over: the window started at 100 and ends at 160 */
	assert_int_equal(vc_ratelimit_hit(rl, "192.0.2.1", 101.0), 59);
	assert_int_equal(vc_ratelimit_hit(rl, "192.0.2.1", 130.2), 30); /* ceil(29.8) */
	assert_int_equal(vc_ratelimit_hit(rl, "192.0.2.1", 159.0), 1);
	assert_int_equal(vc_ratelimit_hit(rl, "192.0.2.1", 159.5), 1); /* ceil(0.5) */
	assert_int_equal(vc_ratelimit_hit(rl, "192.0.2.1", 159.999), 1);
	vc_ratelimit_free(rl);
}

static void test_window_restarts(void **state)
{
	vc_ratelimit_t *rl = vc_ratelimit_new(2, 10, 1024);

	assert_int_equal(vc_ratelimit_hit(rl, "a", 0.0), 0);
	assert_int_equal(vc_ratelimit_hit(rl, "a", 1.0), 0);
	assert_int_equal(vc_ratelimit_hit(rl, "a", 2.0), 8);
	/* at 10 the window from 0 has ended: a new one starts at 10 */
	assert_int_equal(vc_ratelimit_hit(rl, "a", 10.0), 0);
	assert_int_equal(vc_ratelimit_hit(rl, "a", 11.0), 0);
	assert_int_equal(vc_ratelimit_hit(rl, "a", 12.0), 8); /* ends at 20, not 10 + 10 * n */
	/* a key idle for many windows starts fresh */
	assert_int_equal(vc_ratelimit_hit(rl, "a", 1000.0), 0);
	assert_int_equal(vc_ratelimit_hit(rl, "a", 1000.0), 0);
	assert_int_equal(vc_ratelimit_hit(rl, "a", 1000.0), 10);
	vc_ratelimit_free(rl);
}

static void test_keys_are_independent(void **state)
{
	vc_ratelimit_t *rl = vc_ratelimit_new(1, 60, 1024);

	assert_int_equal(vc_ratelimit_hit(rl, "192.0.2.1", 0.0), 0);
	assert_int_equal(vc_ratelimit_hit(rl, "192.0.2.1", 0.0), 60);
	assert_int_equal(vc_ratelimit_hit(rl, "192.0.2.2", 30.0), 0);
	assert_int_equal(vc_ratelimit_hit(rl, "192.0.2.2", 30.0), 60);
	assert_int_equal(vc_ratelimit_hit(rl, "2001:db8::1", 30.0), 0);
	assert_int_equal(vc_ratelimit_hit(rl, "192.0.2.1", 30.0), 30);
	assert_int_equal(keys_held(rl), 3);
	vc_ratelimit_free(rl);
}

static void test_long_keys_truncated(void **state)
{
	vc_ratelimit_t *rl = vc_ratelimit_new(1, 60, 1024);
	char a[200], b[200];

	memset(a, 'x', sizeof(a) - 1);
	a[sizeof(a) - 1] = '\0';
	memcpy(b, a, sizeof(b));
	b[150] = 'y'; /* differs only past what is kept */
	assert_int_equal(vc_ratelimit_hit(rl, a, 0.0), 0);
	assert_int_equal(vc_ratelimit_hit(rl, b, 0.0), 60);
	b[10] = 'y'; /* differs inside */
	assert_int_equal(vc_ratelimit_hit(rl, b, 0.0), 0);
	vc_ratelimit_free(rl);
}

static void test_limit_zero_allows_all(void **state)
{
	vc_ratelimit_t *rl = vc_ratelimit_new(0, 0, 1024);

	for (unsigned i = 0; i < 1000; i++)
		assert_int_equal(vc_ratelimit_hit(rl, "192.0.2.1", 1.0), 0);
	assert_int_equal(keys_held(rl), 0); /* no table traffic */
	vc_ratelimit_free(rl);
}

static void test_set_keeps_windows(void **state)
{
	vc_ratelimit_t *rl = vc_ratelimit_new(2, 60, 1024);

	assert_int_equal(vc_ratelimit_hit(rl, "a", 0.0), 0);
	assert_int_equal(vc_ratelimit_hit(rl, "a", 0.0), 0);
	assert_int_equal(vc_ratelimit_hit(rl, "a", 1.0), 59);
	/* a higher limit: the same window, two more allowed */
	vc_ratelimit_set(rl, 4, 60);
	assert_int_equal(vc_ratelimit_hit(rl, "a", 2.0), 0);
	assert_int_equal(vc_ratelimit_hit(rl, "a", 3.0), 0);
	assert_int_equal(vc_ratelimit_hit(rl, "a", 4.0), 56);
	/* a shorter window: the window from 0 now ends at 30 */
	vc_ratelimit_set(rl, 4, 30);
	assert_int_equal(vc_ratelimit_hit(rl, "a", 5.0), 25);
	assert_int_equal(vc_ratelimit_hit(rl, "a", 30.0), 0);
	/* off: everything passes, windows are kept */
	vc_ratelimit_set(rl, 0, 0);
	for (unsigned i = 0; i < 10; i++)
		assert_int_equal(vc_ratelimit_hit(rl, "a", 31.0), 0);
	assert_int_equal(keys_held(rl), 1);
	/* on again: the window from 30 holds one hit */
	vc_ratelimit_set(rl, 2, 30);
	assert_int_equal(vc_ratelimit_hit(rl, "a", 32.0), 0);
	assert_int_equal(vc_ratelimit_hit(rl, "a", 33.0), 27);
	vc_ratelimit_free(rl);
}

static void test_reset_forgets(void **state)
{
	vc_ratelimit_t *rl = vc_ratelimit_new(1, 60, 1024);

	assert_int_equal(vc_ratelimit_hit(rl, "a", 0.0), 0);
	assert_int_equal(vc_ratelimit_hit(rl, "b", 0.0), 0);
	assert_int_equal(vc_ratelimit_hit(rl, "a", 0.0), 60);
	vc_ratelimit_reset(rl);
	assert_int_equal(keys_held(rl), 0);
	assert_int_equal(vc_ratelimit_hit(rl, "a", 1.0), 0);
	assert_int_equal(vc_ratelimit_hit(rl, "a", 1.0), 60);
	vc_ratelimit_free(rl);
}

/* Two entries per shard: a third key in a full shard replaces the oldest
 * window; expired windows are all reclaimed before anything is evicted. */
static void test_evicts_oldest_in_full_shard(void **state)
{
	vc_ratelimit_t *rl = vc_ratelimit_new(1, 100, 2 * NSHARDS);
	char k[5][16];
	shard_t *s;

	same_shard_keys(rl, "k0", k, 5);
	s = &rl->shards[key_hash(rl, k[0], (char[KEY_MAX]){ 0 }) % NSHARDS];
	assert_int_equal(s->cap, 2);
	assert_int_equal(vc_ratelimit_hit(rl, k[0], 0.0), 0);
	assert_int_equal(vc_ratelimit_hit(rl, k[1], 1.0), 0);
	assert_int_equal(vc_ratelimit_hit(rl, k[0], 2.0), 98);
	assert_int_equal(vc_ratelimit_hit(rl, k[1], 2.0), 99);
	/* k2 needs room: k0's window (started at 0) is the oldest and goes */
	assert_int_equal(vc_ratelimit_hit(rl, k[2], 3.0), 0);
	assert_int_equal(s->used, 2);
	assert_int_equal(vc_ratelimit_hit(rl, k[1], 4.0), 97); /* kept */
	assert_int_equal(vc_ratelimit_hit(rl, k[2], 4.0), 99); /* counted */
	/* k0 comes back as a new key and pushes out k1 (started at 1) */
	assert_int_equal(vc_ratelimit_hit(rl, k[0], 5.0), 0);
	assert_int_equal(vc_ratelimit_hit(rl, k[2], 6.0), 97);
	assert_int_equal(vc_ratelimit_hit(rl, k[0], 6.0), 99);
	/* at 200 both windows (from 3 and 5) have expired: both reclaimed */
	assert_int_equal(vc_ratelimit_hit(rl, k[3], 200.0), 0);
	assert_int_equal(s->used, 1);
	assert_int_equal(vc_ratelimit_hit(rl, k[4], 201.0), 0);
	assert_int_equal(vc_ratelimit_hit(rl, k[3], 202.0), 98);
	assert_int_equal(vc_ratelimit_hit(rl, k[4], 202.0), 99);
	vc_ratelimit_free(rl);
}

/* A restarted window is young again: the key that restarted is not the one
 * evicted, although it was inserted first. */
static void test_restarted_window_is_young(void **state)
{
	vc_ratelimit_t *rl = vc_ratelimit_new(1, 10, 2 * NSHARDS);
	char k[3][16];

	same_shard_keys(rl, "k0", k, 3);
	assert_int_equal(vc_ratelimit_hit(rl, k[0], 0.0), 0);
	assert_int_equal(vc_ratelimit_hit(rl, k[1], 5.0), 0);
	assert_int_equal(vc_ratelimit_hit(rl, k[0], 10.0), 0); /* restarts at 10 */
	assert_int_equal(vc_ratelimit_hit(rl, k[2], 11.0), 0); /* evicts k1 (from 5) */
	assert_int_equal(vc_ratelimit_hit(rl, k[0], 12.0), 8);
	assert_int_equal(vc_ratelimit_hit(rl, k[1], 12.0), 0); /* new again */
	vc_ratelimit_free(rl);
}

static void test_memory_bounded_under_flood(void **state)
{
	vc_ratelimit_t *rl = vc_ratelimit_new(1, 3600, 4 * NSHARDS);
	char key[32];

	assert_int_equal(vc_ratelimit_hit(rl, "victim", 0.0), 0);
	assert_int_equal(vc_ratelimit_hit(rl, "victim", 0.0), 3600);
	for (unsigned i = 0; i < 20000; i++) {
		snprintf(key, sizeof(key), "198.51.%u.%u", i / 256, i % 256);
		assert_int_equal(vc_ratelimit_hit(rl, key, 1.0 + i * 0.001), 0);
		assert_true(keys_held(rl) <= 4 * NSHARDS);
	}
	assert_int_equal(keys_held(rl), 4 * NSHARDS);
	/* a new key is still counted */
	assert_int_equal(vc_ratelimit_hit(rl, "203.0.113.9", 100.0), 0);
	assert_int_equal(vc_ratelimit_hit(rl, "203.0.113.9", 100.0), 3600);
	/* the oldest window went long ago (20000 keys over 64 shards of 4) */
	assert_int_equal(vc_ratelimit_hit(rl, "victim", 100.0), 0);
	vc_ratelimit_free(rl);
}

static void test_tiny_max_keys(void **state)
{
	vc_ratelimit_t *rl = vc_ratelimit_new(1, 60, 0); /* one key per shard */

	assert_int_equal(rl->shards[0].cap, 1);
	assert_int_equal(vc_ratelimit_hit(rl, "a", 0.0), 0);
	assert_int_equal(vc_ratelimit_hit(rl, "a", 0.0), 60);
	vc_ratelimit_free(rl);
	vc_ratelimit_free(NULL);
}

/* --- threads -------------------------------------------------------------- */

#define THREADS 4
#define HITS 10000
#define KEYS 50
#define LIMIT 100

static vc_ratelimit_t *shared;
static _Atomic unsigned allowed[KEYS];

static void *hammer(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg;
	char key[32];

	for (unsigned i = 0; i < HITS; i++) {
		unsigned k = (i + id * 7) % KEYS;

		snprintf(key, sizeof(key), "10.0.%u.%u", k / 10, k % 10);
		if (vc_ratelimit_hit(shared, key, 1000.0 + i * 1e-6) == 0)
			atomic_fetch_add(&allowed[k], 1);
	}
	return NULL;
}

static void test_threads_count_exactly(void **state)
{
	pthread_t th[THREADS];

	shared = vc_ratelimit_new(LIMIT, 3600, 4096);
	for (unsigned i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, hammer, (void *)(uintptr_t)i), 0);
	for (unsigned i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	for (unsigned k = 0; k < KEYS; k++)
		assert_int_equal(atomic_load(&allowed[k]), LIMIT);
	assert_int_equal(keys_held(shared), KEYS);
	vc_ratelimit_free(shared);
}

/* --- parsing -------------------------------------------------------------- */

static void test_parse_good(void **state)
{
	/* clang-format off */
	static const struct {
		const char *spec;
		unsigned limit;
		double window;
	} cases[] = {
		{ "100/15m",      100,     900 },
		{ "30/1m",        30,      60 },
		{ "5/10s",        5,       10 },
		{ "5/10",         5,       10 },
		{ "1/500ms",      1,       0.5 },
		{ "2/1.5h",       2,       5400 },
		{ "1000000/24h",  1000000, 86400 },
		{ "7/1d",         7,       86400 },
		{ "3/15M",        3,       900 },
		{ "off",          0,       0 },
		{ "OFF",          0,       0 },
		{ "0001/1",       1,       1 },
	};
	/* clang-format on */
	char err[128];

	for (size_t i = 0; i < VC_ARRAY_LEN(cases); i++) {
		unsigned limit = 12345;
		double window = -1;

		err[0] = '\0';
		assert_int_equal(vc_ratelimit_parse(cases[i].spec, &limit, &window, err,
		                                    sizeof(err)),
		                 0);
		assert_int_equal(limit, cases[i].limit);
		assert_true(window - cases[i].window < 1e-9 && cases[i].window - window < 1e-9);
		assert_string_equal(err, "");
	}
}

static void test_parse_bad(void **state)
{
	static const char *const bad[] = {
		"",        "100",       "100/",           "/15m",      "0/15m",    "1000001/1m",
		"-1/1m",   "+1/1m",     "1.5/1m",         "100/0",     "100/0s",   "100/0ms",
		"100/25h", "100/1.5d",  "100/15x",        "100/-1m",   "100/1..5", "100/.",
		"100/m",   " 100/15m",  "100/15m ",       "100/15m/1", "1e3/1m",   "abc",
		"on",      "100 / 15m", "99999999999/1m",
	};
	char err[128];

	for (size_t i = 0; i < VC_ARRAY_LEN(bad); i++) {
		unsigned limit = 12345;
		double window = -1;

		err[0] = '\0';
		assert_int_equal(vc_ratelimit_parse(bad[i], &limit, &window, err, sizeof(err)), -1);
		assert_string_equal(err, "expected COUNT/DURATION such as 100/15m, or off "
		                         "(COUNT 1 to 1000000, DURATION above 0 and up to 24h)");
		assert_int_equal(limit, 12345); /* untouched */
	}
	/* no room for the message: still an error, nothing overrun */
	{
		unsigned limit;
		double window;
		char small[8];

		assert_int_equal(vc_ratelimit_parse("x", &limit, &window, small, sizeof(small)),
		                 -1);
		assert_string_equal(small, "expecte");
		assert_int_equal(vc_ratelimit_parse("x", &limit, &window, NULL, 0), -1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_under_at_over),
		cmocka_unit_test(test_window_restarts),
		cmocka_unit_test(test_keys_are_independent),
		cmocka_unit_test(test_long_keys_truncated),
		cmocka_unit_test(test_limit_zero_allows_all),
		cmocka_unit_test(test_set_keeps_windows),
		cmocka_unit_test(test_reset_forgets),
		cmocka_unit_test(test_evicts_oldest_in_full_shard),
		cmocka_unit_test(test_restarted_window_is_young),
		cmocka_unit_test(test_memory_bounded_under_flood),
		cmocka_unit_test(test_tiny_max_keys),
		cmocka_unit_test(test_threads_count_exactly),
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
