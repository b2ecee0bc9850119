/*
 * pg_resolve.c — turn database_url into a conninfo the workers can connect
 * with without doing DNS (main thread only; getaddrinfo blocks).
 *
 * Every host name in the host list gets a hostaddr: one host/hostaddr pair
 * per address it resolves to (at most RESOLVE_MAX_ADDRS), in the resolver's
 * order, so libpq still falls back from one address to the next. The host
 * name stays for TLS verification and authentication. Unix socket paths
 * ('/...', '@...') and numeric addresses are left to libpq (empty hostaddr
 * entry); nothing is resolved when a hostaddr is given. host, hostaddr and
 * port default from PGHOST, PGHOSTADDR and PGPORT as libpq would.
 *
 * The result is keyword='value' pairs, values quoted with ' and \ escaped.
 * No error message ever contains the password: libpq's parse errors may
 * quote the URL, so they are scrubbed of anything that looks like one.
 */
#include "runtime/pg.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define RESOLVE_MAX_ADDRS 8 /* per host name */

typedef struct strlist {
	char **v;
	unsigned n;
} strlist_t;

static void strlist_addn(strlist_t *l, const char *s, size_t n)
{
	l->v = vc_realloc(l->v, (l->n + 1) * sizeof(*l->v));
	l->v[l->n++] = vc_strndup(s, n);
}

static void strlist_add(strlist_t *l, const char *s)
{
	strlist_addn(l, s, strlen(s));
}

static bool strlist_has(const strlist_t *l, const char *s)
{
	for (unsigned i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return true;
	return false;
}

static void strlist_free(strlist_t *l)
{
	for (unsigned i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* libpq's comma-separated host/hostaddr/port lists (no escapes supported). */
static void strlist_split(strlist_t *l, const char *s)
{
	for (;;) {
		size_t n = strcspn(s, ",");

		strlist_addn(l, s, n);
		if (s[n] == '\0')
			return;
		s += n + 1;
	}
}

static void strlist_print(FILE *f, const strlist_t *l)
{
	for (unsigned i = 0; i < l->n; i++)
		fprintf(f, "%s%s", i ? "," : "", l->v[i]);
}

/* Where a password can appear in a database_url: user:password@ in a URL
 * and password=... in keyword form or a URL query. */
static void secrets_find(const char *url, strlist_t *out)
{
	const char *sep = strstr(url, "://"), *p, *q;

	if (sep != NULL) {
		const char *a = sep + 3, *end = a + strcspn(a, "/?"), *at = NULL, *colon;

		for (p = a; p < end; p++)
			if (*p == '@')
				at = p;
		colon = at ? memchr(a, ':', (size_t)(at - a)) : NULL;
		if (colon != NULL && at > colon + 1)
			strlist_addn(out, colon + 1, (size_t)(at - colon - 1));
	}
	for (p = url; (p = strstr(p, "password")) != NULL;) {
		p += strlen("password");
		q = p + strspn(p, " \t");
		if (*q++ != '=')
			continue;
		q += strspn(q, " \t");
		if (*q == '\'') {
			const char *e = ++q;
			while (*e != '\0' && *e != '\'')
				e += (e[0] == '\\' && e[1] != '\0') ? 2 : 1;
			strlist_addn(out, q, (size_t)(e - q));
		} else {
			strlist_addn(out, q, strcspn(q, " \t&"));
		}
	}
}

/* "database_url: <libpq's message>", with any password in it as "***". */
static void parse_error(const char *url, const char *msg, char *err, size_t errlen)
{
	strlist_t secrets = { 0 };
	char line[512];
	size_t o;
	const char *m = vc_first_line(msg ? msg : "out of memory", line, sizeof(line));

	secrets_find(url, &secrets);
	o = (size_t)snprintf(err, errlen, "database_url: ");
	while (*m != '\0' && o + 1 < errlen) {
		size_t skip = 0;

		for (unsigned i = 0; i < secrets.n && skip == 0; i++)
			if (secrets.v[i][0] != '\0' &&
			    strncmp(m, secrets.v[i], strlen(secrets.v[i])) == 0)
				skip = strlen(secrets.v[i]);
		if (skip == 0) {
			err[o++] = *m++;
			continue;
		}
		o += (size_t)snprintf(err + o, errlen - o, "***");
		o = o < errlen ? o : errlen - 1;
		m += skip;
	}
	err[o] = '\0';
	strlist_free(&secrets);
}

static bool host_is_literal(const char *h)
{
	unsigned char a[sizeof(struct in6_addr)];

	return h[0] == '\0' || h[0] == '/' || h[0] == '@' || inet_pton(AF_INET, h, a) == 1 ||
	       inet_pton(AF_INET6, h, a) == 1;
}

static int resolve_host(const char *h, strlist_t *addrs, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res, *ai;
	char buf[NI_MAXHOST];
	int rc = getaddrinfo(h, NULL, &hints, &res);

	if (rc != 0) {
		snprintf(err, errlen, "database_url: cannot resolve host '%s': %s", h,
		         gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL && addrs->n < RESOLVE_MAX_ADDRS; ai = ai->ai_next)
		if (getnameinfo(ai->ai_addr, ai->ai_addrlen, buf, sizeof(buf), NULL, 0,
		                NI_NUMERICHOST) == 0 &&
		    !strlist_has(addrs, buf))
			strlist_add(addrs, buf);
	freeaddrinfo(res);
	if (addrs->n > 0)
		return 0;
	snprintf(err, errlen, "database_url: cannot resolve host '%s': no usable address", h);
	return -1;
}

/* host, hostaddr and port lists as the workers will connect: one entry per
 * address of each host name (libpq tries them in order), an empty hostaddr
 * for Unix sockets and numeric hosts. Each port entry follows its host. */
typedef struct targets {
	strlist_t host, hostaddr, port;
} targets_t;

static int targets_build(targets_t *t, const char *host, const char *port, char *err, size_t errlen)
{
	strlist_t hosts = { 0 }, ports = { 0 };
	int rc = 0;

	strlist_split(&hosts, host);
	if (port != NULL && *port != '\0')
		strlist_split(&ports, port);
	if (ports.n > 1 && ports.n != hosts.n) {
		snprintf(err, errlen, "database_url: %u hosts but %u ports", hosts.n, ports.n);
		rc = -1;
	}
	for (unsigned i = 0; i < hosts.n && rc == 0; i++) {
		strlist_t addrs = { 0 };

		if (host_is_literal(hosts.v[i]))
			strlist_add(&addrs, "");
		else
			rc = resolve_host(hosts.v[i], &addrs, err, errlen);
		for (unsigned j = 0; j < addrs.n; j++) {
			strlist_add(&t->host, hosts.v[i]);
			strlist_add(&t->hostaddr, addrs.v[j]);
			if (ports.n > 1)
				strlist_add(&t->port, ports.v[i]);
		}
		strlist_free(&addrs);
	}
	strlist_free(&hosts);
	strlist_free(&ports);
	return rc;
}

static bool needs_resolving(const char *host)
{
	strlist_t hosts = { 0 };
	bool any = false;

	strlist_split(&hosts, host);
	for (unsigned i = 0; i < hosts.n; i++)
		any = any || !host_is_literal(hosts.v[i]);
	strlist_free(&hosts);
	return any;
}

static void print_quoted(FILE *f, const char *key, const char *val)
{
	fprintf(f, "%s='", key);
	for (; *val != '\0'; val++) {
		if (*val == '\'' || *val == '\\')
			fputc('\\', f);
		fputc(*val, f);
	}
	fputs("' ", f);
}

static void print_list(FILE *f, const char *key, const strlist_t *l)
{
	char *s = NULL;
	size_t n = 0;
	FILE *m = open_memstream(&s, &n);

	if (m == NULL)
		vc_fatal("out of memory formatting a conninfo string");
	strlist_print(m, l);
	fclose(m);
	print_quoted(f, key, s);
	free(s);
}

static char *conninfo_print(const PQconninfoOption *opts, const targets_t *t)
{
	char *s = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&s, &n);

	if (f == NULL)
		vc_fatal("out of memory formatting a conninfo string");
	for (const PQconninfoOption *o = opts; o->keyword != NULL; o++) {
		bool replaced = t != NULL && (strcmp(o->keyword, "host") == 0 ||
		                              strcmp(o->keyword, "hostaddr") == 0 ||
		                              (strcmp(o->keyword, "port") == 0 && t->port.n > 0));
		if (o->val != NULL && !replaced)
			print_quoted(f, o->keyword, o->val);
	}
	if (t != NULL) {
		print_list(f, "host", &t->host);
		print_list(f, "hostaddr", &t->hostaddr);
		if (t->port.n > 0)
			print_list(f, "port", &t->port);
	}
	fclose(f);
	if (n > 0 && s[n - 1] == ' ')
		s[n - 1] = '\0';
	return s;
}

static const char *opt_value(const PQconninfoOption *opts, const char *key, const char *env)
{
	for (const PQconninfoOption *o = opts; o->keyword != NULL; o++)
		if (strcmp(o->keyword, key) == 0 && o->val != NULL)
			return o->val;
	return getenv(env);
}

char *vc_pg_resolve(const char *url, char *err, size_t errlen)
{
	char *perr = NULL, *out = NULL;
	PQconninfoOption *opts = PQconninfoParse(url, &perr);
	const char *host, *hostaddr, *port;
	targets_t t;
	bool rewrite;

	memset(&t, 0, sizeof(t));
	if (opts == NULL) {
		parse_error(url, perr, err, errlen);
		PQfreemem(perr);
		return NULL;
	}
	host = opt_value(opts, "host", "PGHOST");
	hostaddr = opt_value(opts, "hostaddr", "PGHOSTADDR");
	port = opt_value(opts, "port", "PGPORT");
	rewrite = host != NULL && (hostaddr == NULL || *hostaddr == '\0') && needs_resolving(host);
	if (!rewrite || targets_build(&t, host, port, err, errlen) == 0)
		out = conninfo_print(opts, rewrite ? &t : NULL);
	strlist_free(&t.host);
	strlist_free(&t.hostaddr);
	strlist_free(&t.port);
	PQconninfoFree(opts);
	return out;
}
