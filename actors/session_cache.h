/*
 * session_cache.h — a node-wide cache of session lookups, keyed by the
 * token's SHA-256, safe from any thread (64 shards, a mutex each held only
 * for a lookup). Entries live session_cache_ttl; a shard that fills up is
 * emptied (it refills from PostgreSQL). Negative entries (unknown or
 * revoked tokens) are cached too, so garbage tokens cost one query a TTL.
 */
#ifndef VC_SESSION_CACHE_H
#define VC_SESSION_CACHE_H

#include "actors/auth.h"

enum vc_cache_result { VC_CACHE_MISS, VC_CACHE_HIT, VC_CACHE_NEGATIVE };

/* On a hit *out receives a copy (free with vc_identity_free); *touch is
 * true when the caller should record the session's last use (at most once
 * a minute per session). */
enum vc_cache_result vc_session_cache_get(const uint8_t hash[32], double now, double ttl,
                                          vc_identity_t **out, bool *touch);
/* Store a copy of id (NULL: a negative entry for hash). */
void vc_session_cache_put(const uint8_t hash[32], const vc_identity_t *id, double now);
void vc_session_cache_forget_token(const uint8_t hash[32]);
void vc_session_cache_forget_session(int64_t session_id);
void vc_session_cache_forget_user(const char *user_id);
void vc_session_cache_clear(void);

vc_identity_t *vc_identity_copy(const vc_identity_t *id);
void vc_identity_free(void *id);

#endif
