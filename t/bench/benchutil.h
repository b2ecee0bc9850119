/*
 * benchutil.h — what every load generator of t/bench measures and parses
 * (benchutil.c): a monotonic clock, a latency histogram, the RSS and CPU
 * time of a process, the open-file limit, and the HOST:PORT and source
 * address options. No state and no threads: everything works on the
 * caller's structures.
 */
#ifndef VCB_BENCHUTIL_H
#define VCB_BENCHUTIL_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t vcb_now_ns(void);
/* Sleep ns nanoseconds (resumed after signals). */
void vcb_sleep_ns(uint64_t ns);

/* --- latency histogram ------------------------------------------------------------- */

/* Log-linear buckets of nanoseconds: exact below 64, then 64 buckets per
 * power of two (under 1.6 % error). */
#define VCB_HIST_SUB 64
#define VCB_HIST_BUCKETS (VCB_HIST_SUB * 59)

typedef struct vcb_hist {
	uint64_t n[VCB_HIST_BUCKETS];
	uint64_t count, max;
} vcb_hist_t;

void vcb_hist_add(vcb_hist_t *h, uint64_t ns);
void vcb_hist_merge(vcb_hist_t *to, const vcb_hist_t *from);
/* Nearest-rank percentile p (0..1], in nanoseconds (a bucket's middle). */
uint64_t vcb_hist_pct(const vcb_hist_t *h, double p);

/* --- processes ---------------------------------------------------------------------- */

/* VmRSS of pid in bytes, -1 if unreadable. */
long long vcb_rss_of(long pid);
/* CPU time (user + system) process pid has used, in seconds; -1 if
 * unreadable. */
double vcb_proc_cpu_seconds(long pid);
/* CPU time this process has used, in seconds. */
double vcb_cpu_seconds(void);
/* Raise the open-file limit to its hard limit; warn (prog: the program's
 * name) when it stays below `need`. */
void vcb_raise_nofile(const char *prog, unsigned long need);

/* --- options ------------------------------------------------------------------------- */

/* [ws://]HOST:PORT with an IPv4 HOST ("localhost" is 127.0.0.1) into *to;
 * host (hostlen bytes) gets HOST as text. False when malformed. */
bool vcb_parse_addr(const char *s, struct sockaddr_in *to, char *host, size_t hostlen);
/* IPv4 addresses, A-B ranges and commas into out (at most max); returns
 * how many, 0 when malformed or too many. */
int vcb_parse_sources(const char *s, struct in_addr *out, int max);

#endif
