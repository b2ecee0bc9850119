/*
 * util.c — allocation wrappers (abort on OOM) and clocks.
 */
#include "runtime/vc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static void oom(size_t n)
{
	vc_fatal("out of memory allocating %zu bytes", n);
}

void *vc_malloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (vc_unlikely(p == NULL))
		oom(n);
	return p;
}

void *vc_calloc(size_t nmemb, size_t n)
{
	void *p = calloc(nmemb ? nmemb : 1, n ? n : 1);
	if (vc_unlikely(p == NULL))
		oom(nmemb * n);
	return p;
}

void *vc_realloc(void *old, size_t n)
{
	void *p = realloc(old, n ? n : 1);
	if (vc_unlikely(p == NULL))
		oom(n);
	return p;
}

char *vc_strdup(const char *s)
{
	return vc_strndup(s, strlen(s));
}

char *vc_strndup(const char *s, size_t n)
{
	char *p = vc_malloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

size_t vc_utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80; /* not a continuation byte */
	return n;
}

void vc_fatal(const char *fmt, ...)
{
	va_list ap;
	fputs("vcd: fatal: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

const char *vc_first_line(const char *msg, char *buf, size_t len)
{
	size_t n = strcspn(msg ? msg : "", "\n");

	if (n == 0) {
		msg = "unknown error";
		n = strlen(msg);
	}
	if (n >= len)
		n = len - 1;
	memcpy(buf, msg, n);
	buf[n] = '\0';
	return buf;
}

double vc_parse_seconds(const char *text)
{
	static const struct {
		const char *suffix;
		double mult;
	} units[] = {
		{ "ms", 0.001 }, { "s", 1 }, { "m", 60 }, { "h", 3600 }, { "d", 86400 }, { "", 1 },
	};
	size_t ndig = strspn(text, "0123456789.");
	const char *dot = memchr(text, '.', ndig), *end = text + ndig;
	char num[64];

	if (ndig == 0 || ndig >= sizeof(num))
		return -1;
	if (dot != NULL && (ndig == 1 || memchr(dot + 1, '.', (size_t)(end - dot - 1)) != NULL))
		return -1; /* "." alone, or two dots */
	memcpy(num, text, ndig);
	num[ndig] = '\0';
	for (size_t i = 0; i < VC_ARRAY_LEN(units); i++)
		if (strcasecmp(end, units[i].suffix) == 0)
			return strtod(num, NULL) * units[i].mult;
	return -1;
}

static uint64_t clock_us(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t vc_now_us(void)
{
	return clock_us(CLOCK_MONOTONIC);
}

uint64_t vc_now_ms(void)
{
	return clock_us(CLOCK_MONOTONIC) / 1000u;
}

uint64_t vc_wall_ms(void)
{
	return clock_us(CLOCK_REALTIME) / 1000u;
}
