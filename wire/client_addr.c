/*
 * client_addr.c — the client's address behind trusted reverse proxies, and
 * the list of trusted proxies (addresses and CIDR blocks).
 *
 * Every address is held as 16 bytes of IPv6; an IPv4 address is held in its
 * IPv4-mapped form (::ffff:a.b.c.d) and an IPv4 block's prefix is counted
 * from there (+96), so "10.0.0.0/8" and "::ffff:10.0.0.1" meet without
 * special cases. Addresses are written back as inet_ntop writes them, a
 * mapped address as plain IPv4.
 *
 * vc_client_addr allocates nothing and reads X-Forwarded-For from the right
 * once, at most MAX_HOPS entries.
 */
#include "wire/client_addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_HOPS 64
#define ENTRY_MAX 64 /* longest address text we look at, with port and brackets */

typedef struct addr {
	unsigned char b[16];
} addr_t;

typedef struct block {
	addr_t net; /* host bits cleared */
	unsigned prefix;
} block_t;

struct vc_netlist {
	size_t n;
	block_t blocks[];
};

static const unsigned char mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

static bool is_mapped(const addr_t *a)
{
	return memcmp(a->b, mapped_prefix, sizeof(mapped_prefix)) == 0;
}

/* A bare IPv4 or IPv6 address (no port, no brackets, no prefix). */
static bool addr_parse(const char *text, addr_t *a, bool *v4)
{
	struct in_addr in;

	if (inet_pton(AF_INET, text, &in) == 1) {
		memcpy(a->b, mapped_prefix, sizeof(mapped_prefix));
		memcpy(a->b + 12, &in, 4);
		*v4 = true;
		return true;
	}
	*v4 = false;
	return inet_pton(AF_INET6, text, a->b) == 1;
}

/* Same, from [s, s + n): copied to a terminated buffer first. */
static bool addr_parse_n(const char *s, size_t n, addr_t *a)
{
	char buf[ENTRY_MAX];
	bool v4;

	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return addr_parse(buf, a, &v4);
}

static bool block_has(const block_t *bl, const addr_t *a)
{
	unsigned whole = bl->prefix / 8, bits = bl->prefix % 8;

	if (memcmp(bl->net.b, a->b, whole) != 0)
		return false;
	if (bits == 0)
		return true;
	return ((bl->net.b[whole] ^ a->b[whole]) & (0xff00u >> bits) & 0xff) == 0;
}

static bool list_has(const vc_netlist_t *l, const addr_t *a)
{
	for (size_t i = 0; l != NULL && i < l->n; i++)
		if (block_has(&l->blocks[i], a))
			return true;
	return false;
}

static void addr_format(const addr_t *a, char *buf, size_t len)
{
	if (len == 0)
		return;
	if (is_mapped(a) ? inet_ntop(AF_INET, a->b + 12, buf, (socklen_t)len) == NULL
	                 : inet_ntop(AF_INET6, a->b, buf, (socklen_t)len) == NULL)
		buf[0] = '\0'; /* buf too small */
}

/* --- the list ------------------------------------------------------------- */

/* "10.0.0.0/8", "::1", "fd00::/8": an address with an optional prefix. */
static bool block_parse(const char *s, size_t n, block_t *bl)
{
	char text[ENTRY_MAX];
	char *slash;
	unsigned max, prefix;
	bool v4;

	if (n == 0 || n >= sizeof(text))
		return false;
	memcpy(text, s, n);
	text[n] = '\0';
	slash = strchr(text, '/');
	if (slash != NULL)
		*slash = '\0';
	if (!addr_parse(text, &bl->net, &v4))
		return false;
	max = v4 ? 32 : 128;
	prefix = max;
	if (slash != NULL) {
		const char *p = slash + 1;
		size_t nd = strspn(p, "0123456789");

		if (nd == 0 || nd > 3 || p[nd] != '\0' || (prefix = (unsigned)atoi(p)) > max)
			return false;
	}
	bl->prefix = prefix + (v4 ? 96 : 0);
	for (unsigned i = 0; i < 16; i++) { /* clear the host bits */
		unsigned keep = bl->prefix > i * 8 ? bl->prefix - i * 8 : 0;
		bl->net.b[i] &= keep >= 8 ? 0xff : (0xff00u >> keep) & 0xff;
	}
	return true;
}

static void trim(const char **s, const char **e)
{
	while (*s < *e && (**s == ' ' || **s == '\t'))
		(*s)++;
	while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
		(*e)--;
}

static void bad_entry(const char *a, size_t n, char *err, size_t errlen)
{
	static const char expected[] = "expected an IPv4 or IPv6 address or CIDR block "
	                               "such as 10.0.0.1, 10.0.0.0/8 or fd00::/8";

	if (err == NULL || errlen == 0)
		return;
	if (n == 0)
		snprintf(err, errlen, "empty entry (two commas in a row, or one at an end): %s",
		         expected);
	else
		snprintf(err, errlen, "bad entry '%.*s': %s", (int)(n > ENTRY_MAX ? ENTRY_MAX : n),
		         a, expected);
}

vc_netlist_t *vc_netlist_parse(const char *list, char *err, size_t errlen)
{
	const char *s = list != NULL ? list : "", *e = s + strlen(s), *a = s, *b = s;
	size_t n = 1;
	vc_netlist_t *l;

	trim(&s, &e);
	for (const char *q = s; q < e; q++)
		n += *q == ',';
	l = vc_calloc(1, sizeof(*l) + n * sizeof(block_t));
	while (s < e) {
		const char *comma = memchr(s, ',', (size_t)(e - s));

		a = s;
		b = comma != NULL ? comma : e;
		trim(&a, &b);
		if (!block_parse(a, (size_t)(b - a), &l->blocks[l->n]))
			goto bad;
		l->n++;
		if (comma == NULL)
			break;
		s = comma + 1;
		if (s == e) { /* "10.0.0.1," */
			a = b = s;
			goto bad;
		}
	}
	return l;
bad:
	bad_entry(a, (size_t)(b - a), err, errlen);
	free(l);
	return NULL;
}

void vc_netlist_free(vc_netlist_t *l)
{
	free(l);
}

bool vc_netlist_contains(const vc_netlist_t *l, const char *ip)
{
	addr_t a;
	bool v4;

	return ip != NULL && addr_parse(ip, &a, &v4) && list_has(l, &a);
}

/* --- the client ----------------------------------------------------------- */

/* After a colon or a closing bracket: nothing, or ":PORT" (1 to 5 digits). */
static bool port_ok(const char *p, size_t n)
{
	return n == 0 || (n >= 2 && n <= 6 && p[0] == ':' && strspn(p + 1, "0123456789") >= n - 1);
}

/* A hop as proxies and sockets write it: "1.2.3.4", "1.2.3.4:80", "::1",
 * "[::1]" or "[::1]:80". */
static bool hop_parse(const char *s, size_t n, addr_t *a)
{
	const char *colon, *close;

	if (n > 0 && s[0] == '[') {
		close = memchr(s, ']', n);
		if (close == NULL || !port_ok(close + 1, (size_t)(s + n - close - 1)))
			return false;
		return addr_parse_n(s + 1, (size_t)(close - s - 1), a);
	}
	colon = memchr(s, ':', n);
	if (colon != NULL && memchr(colon + 1, ':', (size_t)(s + n - colon - 1)) == NULL) {
		if (!port_ok(colon, (size_t)(s + n - colon)))
			return false; /* one colon: IPv4 with a port */
		n = (size_t)(colon - s);
	}
	return addr_parse_n(s, n, a);
}

/* Walk X-Forwarded-For from the right. *cur is the nearest trusted hop (the
 * peer at first); on return, the client: the first untrusted entry, else the
 * last trusted one before an unparseable entry, else the leftmost. */
static void xff_walk(const vc_netlist_t *trusted, const char *xff, addr_t *cur)
{
	const char *start = xff, *end = xff + strlen(xff);
	addr_t hop;

	trim(&start, &end);
	for (unsigned hops = 0; end > start && hops < MAX_HOPS; hops++) {
		const char *a = end, *b = end;

		while (a > start && a[-1] != ',')
			a--;
		end = a > start ? a - 1 : start; /* the comma before this entry */
		trim(&a, &b);
		if (!hop_parse(a, (size_t)(b - a), &hop))
			return;
		*cur = hop;
		if (!list_has(trusted, &hop))
			return;
	}
}

const char *vc_client_addr(const vc_netlist_t *trusted, const char *peer, const char *xff,
                           char *buf, size_t len)
{
	addr_t client;

	if (peer == NULL || !hop_parse(peer, strlen(peer), &client)) {
		if (len > 0) /* "unix": nothing to trust or to normalise */
			snprintf(buf, len, "%s", peer != NULL ? peer : "");
		return buf;
	}
	if (xff != NULL && list_has(trusted, &client))
		xff_walk(trusted, xff, &client);
	addr_format(&client, buf, len);
	return buf;
}
