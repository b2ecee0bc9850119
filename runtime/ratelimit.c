/*
 * ratelimit.c — fixed-window counters per key (a client address), for the
 * login and register rate limits.
 *
 * A key's window starts at its first hit and lasts `window` seconds; the
 * next hit after that starts a new window at 0. The table is split into 64
 * shards, chosen by a keyed SipHash of the key (random key per process, so a
 * client cannot aim all its addresses at one shard); each shard is a chained
 * hash table over a fixed pool of entries, behind a mutex held only for one
 * lookup and update.
 *
 * Memory is allocated once, in vc_ratelimit_new: max_keys / 64 entries per
 * shard (at least one). Each shard keeps its entries on a list ordered by
 * window start (a restarted window moves to the young end), so expired
 * windows and, failing those, the oldest window are found at the old end in
 * O(1) when a new key needs room.
 */
#include "runtime/ratelimit.h"

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#define NSHARDS 64
#define KEY_MAX 64 /* bytes kept of a key, with its NUL; longer keys are truncated */
#define NIL UINT32_MAX
#define LIMIT_MAX 1000000u
#define WINDOW_MAX (24.0 * 3600.0)

typedef struct entry {
	uint32_t next;         /* bucket chain, or the free list */
	uint32_t older, newer; /* age list, by window start */
	uint64_t hash;
	double start; /* window start (seconds, the caller's clock) */
	unsigned count;
	char key[KEY_MAX];
} entry_t;

typedef struct shard {
	pthread_mutex_t lock;
	unsigned limit;
	double window;
	entry_t *pool;
	uint32_t *buckets; /* heads of chains, NIL when empty */
	uint32_t nbuckets; /* a power of two */
	uint32_t cap, used;
	uint32_t free;          /* head of the free list */
	uint32_t oldest, young; /* ends of the age list */
} shard_t;

struct vc_ratelimit {
	_Atomic unsigned limit; /* read without a lock: 0 skips the table */
	unsigned char hkey[crypto_shorthash_KEYBYTES];
	shard_t shards[NSHARDS];
};

/* --- parsing -------------------------------------------------------------- */

static const char rate_expected[] = "expected COUNT/DURATION such as 100/15m, or off "
                                    "(COUNT 1 to 1000000, DURATION above 0 and up to 24h)";

/* "100": 1 to LIMIT_MAX, digits only; 0 when bad. */
static unsigned parse_count(const char *text, size_t n)
{
	unsigned v = 0;

	if (n == 0 || strspn(text, "0123456789") < n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		v = v * 10 + (unsigned)(text[i] - '0');
		if (v > LIMIT_MAX)
			return 0;
	}
	return v;
}

int vc_ratelimit_parse(const char *spec, unsigned *limit, double *window, char *err, size_t errlen)
{
	const char *slash = spec != NULL ? strchr(spec, '/') : NULL;
	unsigned n;
	double w;

	if (spec != NULL && strcasecmp(spec, "off") == 0) {
		*limit = 0;
		*window = 0;
		return 0;
	}
	if (slash == NULL)
		goto bad;
	n = parse_count(spec, (size_t)(slash - spec));
	w = vc_parse_seconds(slash + 1);
	if (n == 0 || !(w > 0 && w <= WINDOW_MAX))
		goto bad;
	*limit = n;
	*window = w;
	return 0;
bad:
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", rate_expected);
	return -1;
}

/* --- one shard ------------------------------------------------------------ */

static void shard_init(shard_t *s, uint32_t cap, unsigned limit, double window)
{
	uint32_t nb = 1;

	while (nb < cap)
		nb <<= 1;
	if (pthread_mutex_init(&s->lock, NULL) != 0)
		vc_fatal("ratelimit: pthread_mutex_init failed");
	s->limit = limit;
	s->window = window;
	s->pool = vc_calloc(cap, sizeof(entry_t));
	s->buckets = vc_malloc(nb * sizeof(uint32_t));
	s->nbuckets = nb;
	s->cap = cap;
}

/* Empty the shard: every entry on the free list. Lock held (or not shared). */
static void shard_clear(shard_t *s)
{
	for (uint32_t i = 0; i < s->nbuckets; i++)
		s->buckets[i] = NIL;
	for (uint32_t i = 0; i < s->cap; i++)
		s->pool[i].next = i + 1 < s->cap ? i + 1 : NIL;
	s->free = 0;
	s->used = 0;
	s->oldest = s->young = NIL;
}

static uint32_t *bucket_of(shard_t *s, uint64_t hash)
{
	/* The low 6 bits chose the shard; the bucket uses the next ones. */
	return &s->buckets[(hash >> 6) & (s->nbuckets - 1)];
}

static void age_unlink(shard_t *s, uint32_t i)
{
	entry_t *e = &s->pool[i];

	if (e->older != NIL)
		s->pool[e->older].newer = e->newer;
	else
		s->oldest = e->newer;
	if (e->newer != NIL)
		s->pool[e->newer].older = e->older;
	else
		s->young = e->older;
}

static void age_push_young(shard_t *s, uint32_t i)
{
	entry_t *e = &s->pool[i];

	e->older = s->young;
	e->newer = NIL;
	if (s->young != NIL)
		s->pool[s->young].newer = i;
	else
		s->oldest = i;
	s->young = i;
}

static uint32_t find(shard_t *s, uint64_t hash, const char *key)
{
	for (uint32_t i = *bucket_of(s, hash); i != NIL; i = s->pool[i].next)
		if (s->pool[i].hash == hash && strcmp(s->pool[i].key, key) == 0)
			return i;
	return NIL;
}

static void drop(shard_t *s, uint32_t i)
{
	uint32_t *link = bucket_of(s, s->pool[i].hash);

	while (*link != i)
		link = &s->pool[*link].next;
	*link = s->pool[i].next;
	age_unlink(s, i);
	s->pool[i].next = s->free;
	s->free = i;
	s->used--;
}

/* Room for one more key: expired windows go first (they sit at the old end
 * of the age list), then, if none expired, the oldest window. */
static void make_room(shard_t *s, double now)
{
	while (s->oldest != NIL && now >= s->pool[s->oldest].start + s->window)
		drop(s, s->oldest);
	if (s->used == s->cap)
		drop(s, s->oldest);
}

static uint32_t insert(shard_t *s, uint64_t hash, const char *key, double now)
{
	uint32_t i, *head;
	entry_t *e;

	if (s->used == s->cap)
		make_room(s, now);
	i = s->free;
	e = &s->pool[i];
	s->free = e->next;
	s->used++;
	head = bucket_of(s, hash);
	e->next = *head;
	*head = i;
	e->hash = hash;
	e->start = now;
	e->count = 0;
	memcpy(e->key, key, KEY_MAX);
	age_push_young(s, i);
	return i;
}

/* Count one hit in a shard; lock held. */
static unsigned shard_hit(shard_t *s, uint64_t hash, const char *key, double now)
{
	uint32_t i = find(s, hash, key);
	entry_t *e;
	double left;
	unsigned secs;

	if (i == NIL) {
		i = insert(s, hash, key, now);
	} else if (now >= s->pool[i].start + s->window) {
		s->pool[i].start = now; /* a new window */
		s->pool[i].count = 0;
		age_unlink(s, i);
		age_push_young(s, i);
	}
	e = &s->pool[i];
	if (e->count < s->limit) {
		e->count++;
		return 0;
	}
	left = e->start + s->window - now;
	if (left > s->window) /* another thread's clock read a moment later */
		left = s->window;
	if (left <= 1)
		return 1;
	if (left >= (double)UINT_MAX)
		return UINT_MAX;
	secs = (unsigned)left; /* rounded up: never tell a client to come back too early */
	return secs < left ? secs + 1 : secs;
}

/* --- the table ------------------------------------------------------------ */

vc_ratelimit_t *vc_ratelimit_new(unsigned limit, double window, size_t max_keys)
{
	vc_ratelimit_t *rl = vc_calloc(1, sizeof(*rl));
	size_t per = max_keys / NSHARDS;

	if (sodium_init() < 0)
		vc_fatal("ratelimit: libsodium failed to initialise");
	randombytes_buf(rl->hkey, sizeof(rl->hkey));
	if (per == 0)
		per = 1;
	if (per > UINT32_MAX / 2)
		per = UINT32_MAX / 2;
	atomic_init(&rl->limit, limit);
	for (size_t i = 0; i < NSHARDS; i++) {
		shard_init(&rl->shards[i], (uint32_t)per, limit, window);
		shard_clear(&rl->shards[i]);
	}
	return rl;
}

void vc_ratelimit_free(vc_ratelimit_t *rl)
{
	if (rl == NULL)
		return;
	for (size_t i = 0; i < NSHARDS; i++) {
		pthread_mutex_destroy(&rl->shards[i].lock);
		free(rl->shards[i].pool);
		free(rl->shards[i].buckets);
	}
	free(rl);
}

void vc_ratelimit_set(vc_ratelimit_t *rl, unsigned limit, double window)
{
	for (size_t i = 0; i < NSHARDS; i++) {
		shard_t *s = &rl->shards[i];

		pthread_mutex_lock(&s->lock);
		s->limit = limit;
		s->window = window;
		pthread_mutex_unlock(&s->lock);
	}
	atomic_store_explicit(&rl->limit, limit, memory_order_relaxed);
}

/* Copy key, truncated, into k (zero-padded) and hash the copy. */
static uint64_t key_hash(const vc_ratelimit_t *rl, const char *key, char k[KEY_MAX])
{
	unsigned char h[crypto_shorthash_BYTES];
	uint64_t hash;

	memset(k, 0, KEY_MAX);
	if (key != NULL)
		memcpy(k, key, strnlen(key, KEY_MAX - 1));
	crypto_shorthash(h, (const unsigned char *)k, strlen(k), rl->hkey);
	memcpy(&hash, h, sizeof(hash));
	return hash;
}

unsigned vc_ratelimit_hit(vc_ratelimit_t *rl, const char *key, double now)
{
	char k[KEY_MAX];
	uint64_t hash;
	shard_t *s;
	unsigned rc;

	if (atomic_load_explicit(&rl->limit, memory_order_relaxed) == 0)
		return 0;
	hash = key_hash(rl, key, k);
	s = &rl->shards[hash % NSHARDS];
	pthread_mutex_lock(&s->lock);
	rc = s->limit == 0 ? 0 : shard_hit(s, hash, k, now);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

void vc_ratelimit_reset(vc_ratelimit_t *rl)
{
	for (size_t i = 0; i < NSHARDS; i++) {
		pthread_mutex_lock(&rl->shards[i].lock);
		shard_clear(&rl->shards[i]);
		pthread_mutex_unlock(&rl->shards[i].lock);
	}
}
