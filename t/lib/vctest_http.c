/*
 * vctest_http.c — the integration tests' sockets and HTTP client (see
 * vctest.h): raw TCP connections with a receive buffer, every read bounded
 * by poll(); one HTTP/1.1 response read off a connection (pipelining keeps
 * the rest buffered); one-shot requests; Prometheus samples.
 */
#include "t/lib/vctest.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#define HTTP_MS 5000

static vct_conn_t *conns; /* open connections, for vct_conn_close_all */

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (p == NULL) {
		fprintf(stderr, "vctest: out of memory\n");
		abort();
	}
	return p;
}

/* Milliseconds left until `deadline` (0 when it passed). */
static int left_ms(uint64_t deadline)
{
	uint64_t now = vct_now_ms();

	return now >= deadline ? 0 : (int)(deadline - now);
}

/* --- sockets -------------------------------------------------------------- */

int vct_tcp_connect(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), e;

	if (fd < 0)
		return -1;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

static vct_conn_t *conn_try(int port)
{
	int fd = vct_tcp_connect(port);
	vct_conn_t *c;

	if (fd < 0)
		return NULL;
	c = xrealloc(NULL, sizeof(*c));
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->next = conns;
	conns = c;
	return c;
}

vct_conn_t *vct_conn_open(int port)
{
	uint64_t deadline = vct_now_ms() + HTTP_MS;
	vct_conn_t *c;

	while ((c = conn_try(port)) == NULL) {
		if (left_ms(deadline) == 0)
			fail_msg("cannot connect to 127.0.0.1:%d within %d ms: %s", port, HTTP_MS,
				 strerror(errno));
		vct_sleep_ms(20);
	}
	return c;
}

bool vct_conn_send(vct_conn_t *c, const void *buf, size_t len)
{
	const char *p = buf;
	uint64_t deadline = vct_now_ms() + HTTP_MS;

	while (len > 0) {
		ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN && left_ms(deadline) > 0) {
			struct pollfd pfd = { .fd = c->fd, .events = POLLOUT };
			poll(&pfd, 1, left_ms(deadline));
			continue;
		}
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

bool vct_conn_sendf(vct_conn_t *c, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;
	bool ok;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	s = xrealloc(NULL, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	ok = vct_conn_send(c, s, (size_t)n);
	free(s);
	return ok;
}

int vct_conn_recv(vct_conn_t *c, unsigned ms)
{
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
	ssize_t n;

	if (c->eof)
		return -1;
	if (poll(&pfd, 1, (int)ms) <= 0)
		return 0;
	if (c->cap - c->len < 8192)
		c->buf = xrealloc(c->buf, c->cap = c->cap * 2 + 8192);
	n = recv(c->fd, c->buf + c->len, c->cap - c->len - 1, 0);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0) {
		c->reset = n < 0 && errno == ECONNRESET;
		c->eof = true;
		return -1;
	}
	c->len += (size_t)n;
	c->buf[c->len] = '\0';
	return 1;
}

bool vct_conn_wait_eof(vct_conn_t *c, unsigned ms)
{
	uint64_t deadline = vct_now_ms() + ms;

	while (!c->eof && left_ms(deadline) > 0)
		vct_conn_recv(c, (unsigned)left_ms(deadline));
	return c->eof;
}

/* The send and receive queues of the IPv4 TCP socket from `local` to
 * `remote`, as /proc/net/tcp shows them; false when there is none. */
static bool tcp_queues(const struct sockaddr_in *local, const struct sockaddr_in *remote,
		       unsigned long *tx, unsigned long *rx)
{
	FILE *f = fopen("/proc/net/tcp", "r");
	char line[512];
	bool found = false;

	if (f == NULL)
		fail_msg("cannot read /proc/net/tcp: %s", strerror(errno));
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		unsigned la, lp, ra, rp, st;
		unsigned long t, r;

		/* "  sl: local:port remote:port st tx_queue:rx_queue …", hex; an
		 * address is the network-order word as the host reads it */
		if (sscanf(line, " %*u: %8X:%4X %8X:%4X %2X %8lX:%8lX", &la, &lp, &ra, &rp, &st,
			   &t, &r) != 7)
			continue; /* the header */
		if (la == local->sin_addr.s_addr && lp == ntohs(local->sin_port) &&
		    ra == remote->sin_addr.s_addr && rp == ntohs(remote->sin_port)) {
			*tx = t;
			*rx = r;
			found = true;
		}
	}
	fclose(f);
	return found;
}

bool vct_conn_wait_peer_read(vct_conn_t *c, unsigned ms)
{
	struct sockaddr_in me, peer;
	socklen_t ml = sizeof(me), pl = sizeof(peer);
	uint64_t deadline = vct_now_ms() + ms;
	unsigned long tx, rx, peer_tx, peer_rx;

	if (getsockname(c->fd, (struct sockaddr *)&me, &ml) != 0 ||
	    getpeername(c->fd, (struct sockaddr *)&peer, &pl) != 0 || me.sin_family != AF_INET)
		fail_msg("vct_conn_wait_peer_read: not a connected IPv4 socket: %s",
			 strerror(errno));
	for (;;) {
		/* nothing of ours unacknowledged, nothing unread on the peer's side */
		if (tcp_queues(&me, &peer, &tx, &rx) && tx == 0 &&
		    tcp_queues(&peer, &me, &peer_tx, &peer_rx) && peer_rx == 0)
			return true;
		if (left_ms(deadline) == 0)
			return false;
		vct_sleep_ms(5);
	}
}

bool vct_tcp_wait_refused(int port, unsigned ms)
{
	uint64_t deadline = vct_now_ms() + ms;

	for (;;) {
		int fd = vct_tcp_connect(port);

		if (fd < 0 && errno == ECONNREFUSED)
			return true;
		if (fd >= 0)
			close(fd);
		if (left_ms(deadline) == 0)
			return false;
		vct_sleep_ms(10);
	}
}

void vct_conn_consume(vct_conn_t *c, size_t n)
{
	if (n > c->len)
		n = c->len;
	memmove(c->buf, c->buf + n, c->len - n);
	c->len -= n;
	if (c->buf != NULL)
		c->buf[c->len] = '\0';
}

void vct_conn_close_all(void)
{
	while (conns != NULL)
		vct_conn_close(conns);
}

void vct_conn_close(vct_conn_t *c)
{
	vct_conn_t **p;

	if (c == NULL)
		return;
	for (p = &conns; *p != NULL; p = &(*p)->next) {
		if (*p == c) {
			*p = c->next;
			break;
		}
	}
	close(c->fd);
	free(c->buf);
	free(c);
}

/* --- HTTP ----------------------------------------------------------------- */

/* Split the head (status line + header lines) in place into r's arrays. */
static bool parse_head(vct_resp_t *r)
{
	char *line = r->head, *next;

	if (strncmp(line, "HTTP/1.", 7) != 0 || strlen(line) < 12)
		return false;
	r->status = atoi(line + 9);
	for (; line != NULL; line = next) {
		next = strstr(line, "\r\n");
		if (next != NULL) {
			*next = '\0';
			next += 2;
		}
		if (line == r->head)
			continue;
		char *colon = strchr(line, ':');
		if (colon == NULL || r->nheaders == VCT_HTTP_MAX_HEADERS)
			return false;
		*colon = '\0';
		r->names[r->nheaders] = line;
		r->values[r->nheaders++] = colon + 1 + strspn(colon + 1, " \t");
	}
	return r->status >= 100 && r->status <= 599;
}

static bool has_body(const vct_resp_t *r, bool head_request)
{
	return !head_request && r->status >= 200 && r->status != 204 && r->status != 304;
}

bool vct_http_read(vct_conn_t *c, vct_resp_t *r, bool head_request, unsigned ms)
{
	uint64_t deadline = vct_now_ms() + ms;
	char *end;
	size_t hlen, blen = 0;

	memset(r, 0, sizeof(*r));
	while ((end = c->buf ? strstr(c->buf, "\r\n\r\n") : NULL) == NULL)
		if (vct_conn_recv(c, (unsigned)left_ms(deadline)) <= 0 && (c->eof ||
									    !left_ms(deadline)))
			return false;
	hlen = (size_t)(end - c->buf);
	r->head = strndup(c->buf, hlen);
	if (r->head == NULL || !parse_head(r)) {
		fprintf(stderr, "vctest: not an HTTP response: %.*s\n", (int)hlen, c->buf);
		vct_resp_free(r);
		return false;
	}
	if (has_body(r, head_request) && vct_resp_header(r, "Content-Length") != NULL)
		blen = strtoul(vct_resp_header(r, "Content-Length"), NULL, 10);
	while (c->len < hlen + 4 + blen)
		if (vct_conn_recv(c, (unsigned)left_ms(deadline)) <= 0 && (c->eof ||
									    !left_ms(deadline)))
			break;
	if (c->len < hlen + 4 + blen) {
		fprintf(stderr, "vctest: response body cut short: %zu of %zu bytes\n",
			c->len - hlen - 4, blen);
		vct_resp_free(r);
		return false;
	}
	r->body = xrealloc(NULL, blen + 1);
	memcpy(r->body, c->buf + hlen + 4, blen);
	r->body[blen] = '\0';
	r->body_len = blen;
	vct_conn_consume(c, hlen + 4 + blen);
	return true;
}

const char *vct_resp_header(const vct_resp_t *r, const char *name)
{
	for (unsigned i = 0; i < r->nheaders; i++)
		if (strcasecmp(r->names[i], name) == 0)
			return r->values[i];
	return NULL;
}

bool vct_resp_header_has(const vct_resp_t *r, const char *name, const char *token)
{
	const char *v = vct_resp_header(r, name);

	return v != NULL && strcasestr(v, token) != NULL;
}

void vct_resp_free(vct_resp_t *r)
{
	free(r->head);
	free(r->body);
	memset(r, 0, sizeof(*r));
}

int vct_http_try(int port, const char *method, const char *path, const char *headers,
		    const char *body, vct_resp_t *r, unsigned ms)
{
	vct_conn_t *c = conn_try(port);
	char clen[48] = "";
	bool ok;

	memset(r, 0, sizeof(*r));
	if (c == NULL)
		return 0;
	if (body != NULL)
		snprintf(clen, sizeof(clen), "Content-Length: %zu\r\n", strlen(body));
	ok = vct_conn_sendf(c, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n"
			    "%s%s\r\n%s", method, path, port, headers ? headers : "", clen,
			    body ? body : "") &&
	     vct_http_read(c, r, strcmp(method, "HEAD") == 0, ms);
	vct_conn_close(c);
	return ok ? r->status : 0;
}

int vct_http(int port, const char *method, const char *path, const char *headers,
	     const char *body, vct_resp_t *r)
{
	int st = vct_http_try(port, method, path, headers, body, r, HTTP_MS);

	if (st == 0)
		fail_msg("%s %s on 127.0.0.1:%d: no response within %d ms", method, path, port,
			 HTTP_MS);
	return st;
}

int vct_http_get_status(int port, const char *path)
{
	vct_resp_t r;
	int st = vct_http(port, "GET", path, NULL, NULL, &r);

	vct_resp_free(&r);
	return st;
}

double vct_metric(const char *text, const char *sample)
{
	size_t n = strlen(sample);

	for (const char *l = text; *l != '\0';) {
		if (strncmp(l, sample, n) == 0 && l[n] == ' ')
			return strtod(l + n + 1, NULL);
		l += strcspn(l, "\n");
		l += *l == '\n';
	}
	return -1;
}

double vct_metric_get(int port, const char *sample)
{
	vct_resp_t r;
	double v;

	if (vct_http(port, "GET", "/metrics", NULL, NULL, &r) != 200)
		fail_msg("GET /metrics answered %d", r.status);
	v = vct_metric(r.body, sample);
	vct_resp_free(&r);
	return v;
}

/* --- JSON ----------------------------------------------------------------- */

json_t *vct_resp_json(const vct_resp_t *r)
{
	json_error_t err;
	json_t *j = json_loadb(r->body ? r->body : "", r->body_len, JSON_DECODE_ANY, &err);

	if (j == NULL)
		fail_msg("HTTP %d: the body is not JSON (%s at %d): '%s'", r->status, err.text,
			 err.position, r->body ? r->body : "");
	return j;
}

void vct_expect_json(const vct_resp_t *r, int status, const char *want)
{
	json_error_t err;
	json_t *w = json_loads(want, JSON_DECODE_ANY, &err), *got;
	const char *type = vct_resp_header(r, "Content-Type");

	if (w == NULL)
		fail_msg("vct_expect_json: the expected text is not JSON (%s): %s", err.text, want);
	if (r->status != status)
		fail_msg("HTTP status %d, expected %d; body: '%s'", r->status, status,
			 r->body ? r->body : "");
	if (!vct_resp_header_has(r, "Content-Type", "application/json"))
		fail_msg("HTTP %d: Content-Type is '%s', expected application/json; body: '%s'",
			 r->status, type ? type : "(none)", r->body);
	got = vct_resp_json(r);
	if (!json_equal(got, w))
		fail_msg("HTTP %d: body '%s', expected %s", r->status, r->body, want);
	json_decref(got);
	json_decref(w);
}

/* Member `key` of o, of the type `is` accepts, or fail. */
static json_t *member(const json_t *o, const char *key, int (*is)(const json_t *),
		      const char *what)
{
	json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;
	char *text;

	if (v != NULL && is(v))
		return v;
	text = json_dumps(o, JSON_COMPACT | JSON_ENCODE_ANY);
	fail_msg("member '%s' is %s, expected %s, in %s", key,
		 v == NULL ? "missing" : "of another type", what, text ? text : "(null)");
	return NULL;
}

static int is_string(const json_t *v)
{
	return json_is_string(v);
}

static int is_integer(const json_t *v)
{
	return json_is_integer(v);
}

static int is_boolean(const json_t *v)
{
	return json_is_boolean(v);
}

const char *vct_json_str(const json_t *o, const char *key)
{
	return json_string_value(member(o, key, is_string, "a string"));
}

json_int_t vct_json_int(const json_t *o, const char *key)
{
	return json_integer_value(member(o, key, is_integer, "an integer"));
}

bool vct_json_bool(const json_t *o, const char *key)
{
	return json_is_true(member(o, key, is_boolean, "a boolean"));
}

void vct_register(int port, const char *name, const char *email, char *id)
{
	char *body = vct_strf("{\"username\":\"%s\",\"password\":\"Pw-vctest-register-7q!\","
	                      "\"email\":\"%s\"}",
	                      name, email);
	vct_resp_t r;
	json_t *j;

	vct_http(port, "POST", "/api/users/register", "Content-Type: application/json\r\n", body,
	         &r);
	if (r.status != 201)
		fail_msg("register %s: %d %s", name, r.status, r.body ? r.body : "");
	j = vct_resp_json(&r);
	if (id != NULL)
		snprintf(id, VCT_ID_LEN, "%s", vct_json_str(j, "id"));
	json_decref(j);
	vct_resp_free(&r);
	free(body);
}
