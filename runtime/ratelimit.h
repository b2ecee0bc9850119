/*
 * ratelimit.h — fixed-window counters keyed by a string (a client address),
 * safe from any thread: the table is sharded, each shard behind a mutex held
 * only for a lookup. Memory is bounded: at most `max_keys` keys; expired
 * windows are reclaimed as they are met, and when a shard is full its
 * oldest windows go first.
 */
#ifndef VC_RATELIMIT_H
#define VC_RATELIMIT_H

#include <stddef.h>

#include "runtime/vc.h"

typedef struct vc_ratelimit vc_ratelimit_t;

/* Parse "N/DURATION" ("100/15m", "30/1m", "5/10s"; N >= 1, duration as in
 * vcd.conf(5)). "off" gives limit 0 (no limit). 0, or -1 with err saying what
 * was expected. */
int vc_ratelimit_parse(const char *spec, unsigned *limit, double *window, char *err,
                       size_t errlen) VC_MUSTCHECK;

vc_ratelimit_t *vc_ratelimit_new(unsigned limit, double window, size_t max_keys);
void vc_ratelimit_free(vc_ratelimit_t *rl);
/* New limit/window (a reload); current windows are kept. */
void vc_ratelimit_set(vc_ratelimit_t *rl, unsigned limit, double window);
/* Count one event for key at time now (seconds, monotonic). Returns 0 when
 * allowed, else the whole seconds (>= 1) until the key's window ends, for
 * Retry-After. A limit of 0 allows everything. */
unsigned vc_ratelimit_hit(vc_ratelimit_t *rl, const char *key, double now);
/* Forget every window. */
void vc_ratelimit_reset(vc_ratelimit_t *rl);

#endif
