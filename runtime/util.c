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

size_t vc_utf8_prefix(const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);

	if (n <= max)
		return n;
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--; /* s[n] continues a character: cut before its lead byte */
	return n;
}

/* Bytes of the well-formed UTF-8 sequence at s (n > 0 bytes left), or 0
 * (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF). */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	static const struct {
		unsigned char lo, hi;        /* lead byte range */
		unsigned char len, lo2, hi2; /* length, range of the second byte */
	} forms[] = {
		{ 0x00, 0x7F, 1, 0, 0 },       { 0xC2, 0xDF, 2, 0x80, 0xBF },
		{ 0xE0, 0xE0, 3, 0xA0, 0xBF }, { 0xE1, 0xEC, 3, 0x80, 0xBF },
		{ 0xED, 0xED, 3, 0x80, 0x9F }, { 0xEE, 0xEF, 3, 0x80, 0xBF },
		{ 0xF0, 0xF0, 4, 0x90, 0xBF }, { 0xF1, 0xF3, 4, 0x80, 0xBF },
		{ 0xF4, 0xF4, 4, 0x80, 0x8F },
	};

	for (size_t f = 0; f < VC_ARRAY_LEN(forms); f++) {
		if (s[0] < forms[f].lo || s[0] > forms[f].hi)
			continue;
		size_t len = forms[f].len;
		if (len == 1)
			return 1;
		if (n < len || s[1] < forms[f].lo2 || s[1] > forms[f].hi2)
			return 0;
		for (size_t i = 2; i < len; i++)
			if ((s[i] & 0xC0) != 0x80)
				return 0;
		return len;
	}
	return 0;
}

void vc_utf8_scrub(char *s, size_t n)
{
	unsigned char *u = (unsigned char *)s;

	for (size_t i = 0; i < n;) {
		size_t len = utf8_seq(u + i, n - i);
		if (len == 0 || (len == 1 && (u[i] < 0x20 || u[i] == 0x7F))) {
			u[i++] = '?';
			continue;
		}
		i += len;
	}
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
