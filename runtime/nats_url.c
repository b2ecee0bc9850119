/*
 * nats_url.c — the text the NATS bridge accepts (runtime/nats_int.h): the
 * shape of nats_url, its redaction for logs, and subject syntax. No libnats
 * here: --check-config and reloads use it without starting anything.
 */
#include "runtime/nats_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "runtime/nats.h"

/* --- nats_url: shape and redaction ---------------------------------------- */

enum scheme { SCHEME_NONE, SCHEME_NATS, SCHEME_TLS };

static const struct {
	const char *prefix;
	enum scheme kind;
} schemes[] = {
	{ "nats://", SCHEME_NATS },
	{ "tls://", SCHEME_TLS },
};

static bool port_ok(const char *p, const char *end)
{
	unsigned long v = 0;

	if (p == end || end - p > 5)
		return false;
	for (; p < end; p++) {
		if (!isdigit((unsigned char)*p))
			return false;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	return v >= 1 && v <= 65535;
}

/* A name, an IPv4 address or a bracketed IPv6 address. */
static bool host_ok(const char *p, const char *end)
{
	bool v6 = p < end && *p == '[';

	if (v6) {
		if (end - p < 3 || end[-1] != ']')
			return false;
		p++;
		end--;
	}
	if (p == end)
		return false;
	for (; p < end; p++) {
		unsigned char c = (unsigned char)*p;
		if (!isalnum(c) && c != '.' && c != '-' && c != '_' && !(v6 && c == ':'))
			return false;
	}
	return true;
}

/* One server, [nats://|tls://][userinfo@]host:port: its scheme, or -1. */
static int check_server(const char *p, const char *end)
{
	int kind = SCHEME_NONE;
	const char *at, *colon;

	for (size_t i = 0; i < VC_ARRAY_LEN(schemes); i++) {
		size_t n = strlen(schemes[i].prefix);
		if ((size_t)(end - p) >= n && strncasecmp(p, schemes[i].prefix, n) == 0) {
			kind = (int)schemes[i].kind;
			p += n;
			break;
		}
	}
	if (kind == SCHEME_NONE && memmem(p, (size_t)(end - p), "://", 3) != NULL)
		return -1;
	at = memrchr(p, '@', (size_t)(end - p));
	if (at != NULL)
		p = at + 1;
	colon = memrchr(p, ':', (size_t)(end - p));
	if (colon == NULL || !host_ok(p, colon) || !port_ok(colon + 1, end))
		return -1;
	return kind;
}

int vc_nats_url_check(const char *url, const char *shown, bool *tls, char *err, size_t errlen)
{
	bool seen[3] = { false, false, false };
	const char *p = url, *end, *q;
	int kind;

	for (;;) {
		end = strchrnul(p, ',');
		for (q = end; q > p && isspace((unsigned char)q[-1]); q--)
			;
		while (p < q && isspace((unsigned char)*p))
			p++;
		kind = check_server(p, q);
		if (kind < 0) {
			snprintf(err, errlen,
			         "nats_url = '%s': expected nats://host:port or tls://host:port "
			         "(a comma-separated list for a cluster)",
			         shown);
			return -1;
		}
		seen[kind] = true;
		if (*end == '\0')
			break;
		p = end + 1;
	}
	if (seen[SCHEME_TLS] && (seen[SCHEME_NATS] || seen[SCHEME_NONE])) {
		snprintf(err, errlen,
		         "nats_url = '%s': expected nats://host:port for every server or "
		         "tls://host:port for every server, not a mix",
		         shown);
		return -1;
	}
	*tls = seen[SCHEME_TLS];
	return 0;
}

char *vc_nats_url_redact(const char *url)
{
	char *out = vc_malloc(3 * strlen(url) + 8), *o = out;
	const char *p = url;

	while (*p != '\0') {
		const char *end = strchrnul(p, ',');
		const char *sep = memmem(p, (size_t)(end - p), "://", 3);
		const char *user = sep ? sep + 3 : p;
		const char *at = memrchr(user, '@', (size_t)(end - user));

		if (at != NULL) {
			const char *colon = memchr(user, ':', (size_t)(at - user));
			memcpy(o, p, (size_t)(user - p));
			o += user - p;
			if (colon != NULL) {
				memcpy(o, user, (size_t)(colon - user));
				o = stpcpy(o + (colon - user), ":***@");
			} else {
				o = stpcpy(o, "***@");
			}
			p = at + 1;
		}
		memcpy(o, p, (size_t)(end - p));
		o += end - p;
		p = end;
		if (*p == ',')
			*o++ = *p++;
	}
	*o = '\0';
	return out;
}

int vc_nats_check_url(const char *url, char *err, size_t errlen)
{
	char *shown;
	bool tls;
	int rc;

	if (url == NULL || url[0] == '\0')
		return 0;
	shown = vc_nats_url_redact(url);
	rc = vc_nats_url_check(url, shown, &tls, err, errlen);
	free(shown);
	return rc;
}

/* --- subjects -------------------------------------------------------------- */

bool vc_nats_subject_ok(const char *subject)
{
	size_t n = strlen(subject);

	if (n == 0 || subject[0] == '.' || subject[n - 1] == '.' || strstr(subject, "..") != NULL)
		return false;
	for (const char *p = subject; *p != '\0'; p++)
		if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p))
			return false;
	return true;
}
