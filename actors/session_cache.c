/*
 * session_cache.c — the session cache: sharded chained hash tables.
 */
#include "actors/session_cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define SHARDS 64
#define BUCKETS 256
#define SHARD_MAX 2048
#define TOUCH_EVERY 60.0

typedef struct entry {
	struct entry *next;
	uint8_t hash[32];
	vc_identity_t *id; /* NULL: negative */
	double stored, touched;
} entry_t;

typedef struct shard {
	pthread_mutex_t mu;
	entry_t *buckets[BUCKETS];
	unsigned count;
} shard_t;

static shard_t shards[SHARDS];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void init_shards(void)
{
	for (int i = 0; i < SHARDS; i++)
		pthread_mutex_init(&shards[i].mu, NULL);
}

/* The hash is a SHA-256 of 32 random bytes: its bytes are already uniform. */
static shard_t *shard_of(const uint8_t hash[32], entry_t ***bucket)
{
	shard_t *s;

	pthread_once(&once, init_shards);
	s = &shards[hash[0] % SHARDS];
	*bucket = &s->buckets[(hash[1] | (unsigned)hash[2] << 8) % BUCKETS];
	return s;
}

static char *dup_or_null(const char *s)
{
	return s != NULL ? vc_strdup(s) : NULL;
}

vc_identity_t *vc_identity_copy(const vc_identity_t *id)
{
	vc_identity_t *c = vc_malloc(sizeof(*c));

	*c = *id;
	c->user_id = dup_or_null(id->user_id);
	c->username = dup_or_null(id->username);
	c->display_name = dup_or_null(id->display_name);
	c->email = dup_or_null(id->email);
	return c;
}

void vc_identity_free(void *p)
{
	vc_identity_t *id = p;

	if (id == NULL)
		return;
	free(id->user_id);
	free(id->username);
	free(id->display_name);
	free(id->email);
	free(id);
}

static void entry_free(entry_t *e)
{
	vc_identity_free(e->id);
	free(e);
}

static void shard_clear(shard_t *s)
{
	for (int b = 0; b < BUCKETS; b++) {
		while (s->buckets[b] != NULL) {
			entry_t *e = s->buckets[b];
			s->buckets[b] = e->next;
			entry_free(e);
		}
	}
	s->count = 0;
}

enum vc_cache_result vc_session_cache_get(const uint8_t hash[32], double now, double ttl,
                                          vc_identity_t **out, bool *touch)
{
	entry_t **bucket, **pp;
	shard_t *s = shard_of(hash, &bucket);
	enum vc_cache_result r = VC_CACHE_MISS;

	*out = NULL;
	*touch = false;
	pthread_mutex_lock(&s->mu);
	for (pp = bucket; *pp != NULL; pp = &(*pp)->next) {
		entry_t *e = *pp;
		if (memcmp(e->hash, hash, 32) != 0)
			continue;
		if (now - e->stored > ttl) { /* stale: ask PostgreSQL again */
			*pp = e->next;
			entry_free(e);
			s->count--;
			break;
		}
		if (e->id == NULL) {
			r = VC_CACHE_NEGATIVE;
			break;
		}
		*out = vc_identity_copy(e->id);
		if (now - e->touched >= TOUCH_EVERY) {
			e->touched = now;
			*touch = true;
		}
		r = VC_CACHE_HIT;
		break;
	}
	pthread_mutex_unlock(&s->mu);
	return r;
}

void vc_session_cache_put(const uint8_t hash[32], const vc_identity_t *id, double now)
{
	entry_t **bucket;
	shard_t *s = shard_of(hash, &bucket);
	entry_t *e = vc_calloc(1, sizeof(*e));

	memcpy(e->hash, hash, 32);
	e->id = id != NULL ? vc_identity_copy(id) : NULL;
	e->stored = e->touched = now;
	pthread_mutex_lock(&s->mu);
	for (entry_t **pp = bucket; *pp != NULL; pp = &(*pp)->next) {
		if (memcmp((*pp)->hash, hash, 32) == 0) {
			entry_t *old = *pp;
			*pp = old->next;
			entry_free(old);
			s->count--;
			break;
		}
	}
	if (s->count >= SHARD_MAX)
		shard_clear(s);
	e->next = *bucket;
	*bucket = e;
	s->count++;
	pthread_mutex_unlock(&s->mu);
}

void vc_session_cache_forget_token(const uint8_t hash[32])
{
	entry_t **bucket;
	shard_t *s = shard_of(hash, &bucket);

	pthread_mutex_lock(&s->mu);
	for (entry_t **pp = bucket; *pp != NULL; pp = &(*pp)->next) {
		if (memcmp((*pp)->hash, hash, 32) == 0) {
			entry_t *e = *pp;
			*pp = e->next;
			entry_free(e);
			s->count--;
			break;
		}
	}
	pthread_mutex_unlock(&s->mu);
}

/* Drop every entry for which match() is true: a full scan, for rare events
 * (a revoke by id, a user disabled), bounded by SHARDS * SHARD_MAX. */
static void forget_where(bool (*match)(const vc_identity_t *id, const void *arg), const void *arg)
{
	pthread_once(&once, init_shards);
	for (int i = 0; i < SHARDS; i++) {
		shard_t *s = &shards[i];
		pthread_mutex_lock(&s->mu);
		for (int b = 0; b < BUCKETS; b++) {
			entry_t **pp = &s->buckets[b];
			while (*pp != NULL) {
				entry_t *e = *pp;
				if (e->id != NULL && match(e->id, arg)) {
					*pp = e->next;
					entry_free(e);
					s->count--;
				} else {
					pp = &e->next;
				}
			}
		}
		pthread_mutex_unlock(&s->mu);
	}
}

static bool match_session(const vc_identity_t *id, const void *arg)
{
	return id->session_id == *(const int64_t *)arg;
}

static bool match_user(const vc_identity_t *id, const void *arg)
{
	return strcmp(id->user_id, arg) == 0;
}

void vc_session_cache_forget_session(int64_t session_id)
{
	forget_where(match_session, &session_id);
}

void vc_session_cache_forget_user(const char *user_id)
{
	forget_where(match_user, user_id);
}

void vc_session_cache_clear(void)
{
	pthread_once(&once, init_shards);
	for (int i = 0; i < SHARDS; i++) {
		pthread_mutex_lock(&shards[i].mu);
		shard_clear(&shards[i]);
		pthread_mutex_unlock(&shards[i].mu);
	}
}
