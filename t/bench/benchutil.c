/*
 * benchutil.c — clock, latency histogram, process figures and option
 * parsing for the load generators of t/bench. See benchutil.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "t/bench/benchutil.h"

uint64_t vcb_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void vcb_sleep_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000u),
		               .tv_nsec = (long)(ns % 1000000000u) };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* --- histogram ------------------------------------------------------------------------ */

static size_t bucket_of(uint64_t ns)
{
	int e;

	if (ns < VCB_HIST_SUB)
		return (size_t)ns;
	e = 63 - __builtin_clzll(ns); /* >= 6 */
	return (size_t)(e - 5) * VCB_HIST_SUB + ((ns >> (e - 6)) & (VCB_HIST_SUB - 1));
}

static uint64_t bucket_mid(size_t b)
{
	size_t e;
	uint64_t lo, width;

	if (b < VCB_HIST_SUB)
		return b;
	e = b / VCB_HIST_SUB + 5;
	width = 1ull << (e - 6);
	lo = (1ull << e) + (b % VCB_HIST_SUB) * width;
	return lo + width / 2;
}

void vcb_hist_add(vcb_hist_t *h, uint64_t ns)
{
	size_t b = bucket_of(ns);

	h->n[b < VCB_HIST_BUCKETS ? b : VCB_HIST_BUCKETS - 1]++;
	h->count++;
	if (ns > h->max)
		h->max = ns;
}

void vcb_hist_merge(vcb_hist_t *to, const vcb_hist_t *from)
{
	for (size_t i = 0; i < VCB_HIST_BUCKETS; i++)
		to->n[i] += from->n[i];
	to->count += from->count;
	if (from->max > to->max)
		to->max = from->max;
}

uint64_t vcb_hist_pct(const vcb_hist_t *h, double p)
{
	uint64_t rank = (uint64_t)(p * (double)h->count + 0.999999), seen = 0;

	if (h->count == 0)
		return 0;
	if (rank == 0)
		rank = 1;
	for (size_t i = 0; i < VCB_HIST_BUCKETS; i++) {
		seen += h->n[i];
		if (seen >= rank) {
			uint64_t mid = bucket_mid(i);
			return mid > h->max ? h->max : mid;
		}
	}
	return h->max;
}

/* --- processes ------------------------------------------------------------------------ */

long long vcb_rss_of(long pid)
{
	char path[64], line[256];
	long long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %lld kB", &kb) == 1)
			break;
	fclose(f);
	return kb < 0 ? -1 : kb * 1024;
}

double vcb_proc_cpu_seconds(long pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* after "pid (comm) ": state is field 3, utime 14, stime 15 */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

double vcb_cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

void vcb_raise_nofile(const char *prog, unsigned long need)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)need)
		fprintf(stderr, "%s: warning: the open-file limit (%llu) is below %lu\n", prog,
		        (unsigned long long)rl.rlim_cur, need);
}

/* --- options ---------------------------------------------------------------------------- */

bool vcb_parse_addr(const char *s, struct sockaddr_in *to, char *host, size_t hostlen)
{
	const char *colon;
	char *end;
	long port;

	if (strncmp(s, "ws://", 5) == 0)
		s += 5;
	colon = strrchr(s, ':');
	if (colon == NULL || (size_t)(colon - s) >= hostlen)
		return false;
	snprintf(host, hostlen, "%.*s", (int)(colon - s), s);
	if (strcmp(host, "localhost") == 0)
		snprintf(host, hostlen, "127.0.0.1");
	port = strtol(colon + 1, &end, 10);
	if (port <= 0 || port >= 65536 || (*end != '\0' && *end != '/'))
		return false;
	memset(to, 0, sizeof(*to));
	to->sin_family = AF_INET;
	to->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, host, &to->sin_addr) == 1;
}

int vcb_parse_sources(const char *s, struct in_addr *out, int max)
{
	char buf[512], *dash, *tok, *save;
	int n = 0;

	snprintf(buf, sizeof(buf), "%s", s);
	for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		struct in_addr a, b;
		if ((dash = strchr(tok, '-')) != NULL)
			*dash = '\0';
		if (inet_pton(AF_INET, tok, &a) != 1 ||
		    (dash != NULL && inet_pton(AF_INET, dash + 1, &b) != 1))
			return 0;
		if (dash == NULL)
			b = a;
		for (uint32_t i = ntohl(a.s_addr); i <= ntohl(b.s_addr); i++) {
			if (n == max)
				return 0;
			out[n++].s_addr = htonl(i);
		}
	}
	return n;
}
