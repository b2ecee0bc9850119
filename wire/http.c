/*
 * http.c — HTTP/1.1 connections on a worker: accept, parse (http-parser),
 * limits, timeouts, in-order responses, batched writes.
 *
 * A connection is in one state at a time (conn_set_state is the only place
 * that changes it):
 *
 *   IDLE ──first byte──▶ READING ──complete──▶ HANDLING ──respond──▶ WRITING
 *    ▲                      │ limit/garbage/timeout (respond 4xx, close after)│
 *    └──────────── written, keep-alive (parse what was pipelined) ◀──────────┘
 *
 * IDLE connections sit on the worker's idle list (deadline idle_timeout),
 * READING and WRITING ones on its busy list (deadline request_timeout); both
 * lists are in deadline order, so the sweep timer looks only at their heads.
 * Read buffers are borrowed from a per-worker pool while bytes are in hand
 * and given back when the parser has consumed them: an idle connection owns
 * no buffer.
 */
#include "wire/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <http_parser.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "runtime/config.h"
#include "runtime/log.h"

#define RBUF_SIZE 16384
#define RBUF_POOL_MAX 256
#define ACCEPT_BATCH 64
#define READS_PER_EVENT 4
#define IOV_BATCH 16
#define SWEEP_INTERVAL 0.25

typedef struct rbuf {
	struct rbuf *next;
	size_t off, len;
	char data[RBUF_SIZE];
} rbuf_t;

typedef struct out {
	struct out *next;
	size_t off, len;
	char data[];
} out_t;

enum conn_state { C_IDLE, C_READING, C_HANDLING, C_WRITING, C_CLOSED };
enum conn_list { L_NONE, L_IDLE, L_BUSY };

typedef struct conn conn_t;
typedef struct server server_t;

typedef struct hdr {
	uint32_t name, name_len, value, value_len; /* offsets into req->buf */
} hdr_t;

struct vc_http_req {
	conn_t *conn;
	char *buf; /* URL, then header names and values, NUL-terminated */
	size_t blen, bcap;
	uint32_t url_len;
	hdr_t *hdrs;
	unsigned nhdrs, hcap;
	uint8_t last; /* last parser callback: LAST_URL, LAST_FIELD or LAST_VALUE */
	char *path, *query;
	char *body;
	size_t body_len, body_cap;
	size_t header_bytes;
	int error; /* a limit was hit: answer this status instead */
	bool keep_alive, head;
	char *params[VC_HTTP_MAX_PARAMS];
	unsigned nparams;
	char *extra; /* "Name: value\r\n"… */
	size_t extra_len;
	vc_http_cont_fn cont;
	void *data;
};

struct conn {
	vc_actor_t actor;
	ev_io io;
	vc_flush_t flush;
	http_parser parser;
	server_t *srv;
	conn_t *lprev, *lnext;
	double deadline;
	int fd;
	uint8_t state, list;
	bool close_after;
	rbuf_t *in;
	out_t *out_head, *out_tail;
	vc_http_req_t *req;
	char peer[56];
};

struct server {
	vc_worker_t *w;
	struct ev_loop *loop;
	ev_io accept_io;
	ev_timer sweep, accept_pause;
	int listen_fd;
	vc_http_handler_fn handler;
	conn_t *idle_head, *idle_tail, *busy_head, *busy_tail;
	rbuf_t *free_bufs;
	unsigned nfree;
	bool draining;
	time_t date_sec;
	char date[40];
	_Atomic int64_t connections;
	_Atomic uint64_t accepted, refused, timeouts, requests;
	_Atomic uint64_t status[600];
};

static _Atomic int64_t total_connections;
static server_t **servers; /* by worker index, for the stats */
static unsigned nservers;

static void conn_close(conn_t *c);
static void conn_parse(conn_t *c);
static void conn_wait_read(conn_t *c);
static void respond_error(conn_t *c, int status);

/* --- small helpers -------------------------------------------------------- */

const char *vc_http_reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 303: return "See Other";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Unknown";
	}
}

static const char *cfg_cors(void)
{
	return vc_config_get()->cors_allowed_origin;
}

static rbuf_t *rbuf_get(server_t *s)
{
	rbuf_t *b = s->free_bufs;
	if (b != NULL) {
		s->free_bufs = b->next;
		s->nfree--;
	} else {
		b = vc_malloc(sizeof(*b));
	}
	b->next = NULL;
	b->off = b->len = 0;
	return b;
}

static void rbuf_put(server_t *s, rbuf_t *b)
{
	if (s->nfree >= RBUF_POOL_MAX) {
		free(b);
		return;
	}
	b->next = s->free_bufs;
	s->free_bufs = b;
	s->nfree++;
}

/* --- deadline lists ------------------------------------------------------- */

static void list_remove(conn_t *c)
{
	server_t *s = c->srv;
	conn_t **head = c->list == L_IDLE ? &s->idle_head : &s->busy_head;
	conn_t **tail = c->list == L_IDLE ? &s->idle_tail : &s->busy_tail;

	if (c->list == L_NONE)
		return;
	if (c->lprev != NULL)
		c->lprev->lnext = c->lnext;
	else
		*head = c->lnext;
	if (c->lnext != NULL)
		c->lnext->lprev = c->lprev;
	else
		*tail = c->lprev;
	c->lprev = c->lnext = NULL;
	c->list = L_NONE;
}

static void list_append(conn_t *c, enum conn_list which, double timeout)
{
	server_t *s = c->srv;
	conn_t **head = which == L_IDLE ? &s->idle_head : &s->busy_head;
	conn_t **tail = which == L_IDLE ? &s->idle_tail : &s->busy_tail;

	list_remove(c);
	c->deadline = ev_now(s->loop) + timeout;
	c->list = (uint8_t)which;
	c->lprev = *tail;
	c->lnext = NULL;
	if (*tail != NULL)
		(*tail)->lnext = c;
	else
		*head = c;
	*tail = c;
}

/* The one place a connection changes state. */
static void conn_set_state(conn_t *c, enum conn_state st)
{
	const vc_config_t *cfg = vc_config_get();

	c->state = (uint8_t)st;
	switch (st) {
	case C_IDLE:
		list_append(c, L_IDLE, cfg->idle_timeout);
		break;
	case C_READING:
	case C_WRITING:
		list_append(c, L_BUSY, cfg->request_timeout);
		break;
	case C_HANDLING:
	case C_CLOSED:
		list_remove(c);
		break;
	}
}

/* --- requests ------------------------------------------------------------- */

static vc_http_req_t *req_new(conn_t *c)
{
	vc_http_req_t *r = vc_calloc(1, sizeof(*r));
	r->conn = c;
	return r;
}

static void req_free(vc_http_req_t *r)
{
	if (r == NULL)
		return;
	free(r->buf);
	free(r->hdrs);
	free(r->path);
	free(r->body);
	free(r->extra);
	for (unsigned i = 0; i < r->nparams; i++)
		free(r->params[i]);
	free(r);
}

/* Append to the header buffer; false when the header section is too large. */
static bool req_append(vc_http_req_t *r, const char *at, size_t len, bool terminate)
{
	size_t need = r->blen + len + 1;

	r->header_bytes += len;
	if (r->header_bytes > vc_config_get()->max_header_size) {
		r->error = 431;
		return false;
	}
	if (need > r->bcap) {
		r->bcap = need < 512 ? 512 : need * 2;
		r->buf = vc_realloc(r->buf, r->bcap);
	}
	memcpy(r->buf + r->blen, at, len);
	r->blen += len;
	if (terminate)
		r->buf[r->blen++] = '\0';
	return true;
}

static void req_terminate(vc_http_req_t *r)
{
	req_append(r, "", 0, true);
}

static int on_message_begin(http_parser *p)
{
	conn_t *c = p->data;

	if (c->req == NULL)
		c->req = req_new(c);
	conn_set_state(c, C_READING);
	return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
	vc_http_req_t *r = ((conn_t *)p->data)->req;

	if (r->url_len + len > vc_config_get()->max_uri) {
		r->error = 414;
		return -1;
	}
	r->url_len += (uint32_t)len;
	return req_append(r, at, len, false) ? 0 : -1;
}

enum { LAST_URL, LAST_FIELD, LAST_VALUE };

/* End what the parser delivered last (URL, name or value) with a NUL; a
 * header that got no value callback gets the empty value. */
static void req_end_piece(vc_http_req_t *r)
{
	req_terminate(r);
	if (r->last == LAST_FIELD)
		r->hdrs[r->nhdrs - 1].value = (uint32_t)(r->blen - 1);
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
	vc_http_req_t *r = ((conn_t *)p->data)->req;

	if (r->last != LAST_FIELD) {
		req_end_piece(r);
		if (r->nhdrs == r->hcap) {
			r->hcap = r->hcap ? r->hcap * 2 : 16;
			r->hdrs = vc_realloc(r->hdrs, r->hcap * sizeof(hdr_t));
		}
		r->hdrs[r->nhdrs++] = (hdr_t){ .name = (uint32_t)r->blen };
		r->last = LAST_FIELD;
	}
	r->hdrs[r->nhdrs - 1].name_len += (uint32_t)len;
	return req_append(r, at, len, false) ? 0 : -1;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
	vc_http_req_t *r = ((conn_t *)p->data)->req;
	hdr_t *h = &r->hdrs[r->nhdrs - 1];

	if (r->last != LAST_VALUE) {
		req_terminate(r);
		h->value = (uint32_t)r->blen;
		r->last = LAST_VALUE;
	}
	h->value_len += (uint32_t)len;
	return req_append(r, at, len, false) ? 0 : -1;
}

static void send_continue(conn_t *c)
{
	static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
	/* Small and first on a fresh exchange: a short write is not worth a queue. */
	if (send(c->fd, cont, sizeof(cont) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		log_debug("100 Continue not sent: %s", strerror(errno));
}

static int on_headers_complete(http_parser *p)
{
	conn_t *c = p->data;
	vc_http_req_t *r = c->req;
	const char *url;
	const char *q;

	req_end_piece(r);
	url = r->buf;
	q = memchr(url, '?', r->url_len);
	r->path = vc_strndup(url, q ? (size_t)(q - url) : r->url_len);
	r->query = q ? (char *)q + 1 : (char *)(url + r->url_len);
	r->head = p->method == HTTP_HEAD;
	if (p->content_length != ULLONG_MAX && p->content_length > vc_config_get()->max_body) {
		r->error = 413;
		return -1;
	}
	const char *expect = vc_http_header(r, "Expect");
	if (expect != NULL && strcasecmp(expect, "100-continue") == 0)
		send_continue(c);
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
	vc_http_req_t *r = ((conn_t *)p->data)->req;
	size_t need = r->body_len + len;

	if (need > vc_config_get()->max_body) {
		r->error = 413;
		return -1;
	}
	if (need + 1 > r->body_cap) {
		r->body_cap = need + 1 < 1024 ? 1024 : (need + 1) * 2;
		r->body = vc_realloc(r->body, r->body_cap);
	}
	memcpy(r->body + r->body_len, at, len);
	r->body_len = need;
	r->body[need] = '\0';
	return 0;
}

static int on_message_complete(http_parser *p)
{
	/* Stop here: pipelined requests wait until this one is answered. */
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings parser_settings = {
	.on_message_begin = on_message_begin,
	.on_url = on_url,
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

/* --- request accessors ---------------------------------------------------- */

const char *vc_http_method(const vc_http_req_t *req)
{
	return http_method_str((enum http_method)req->conn->parser.method);
}

const char *vc_http_path(const vc_http_req_t *req)
{
	return req->path;
}

const char *vc_http_query(const vc_http_req_t *req)
{
	return req->query;
}

const char *vc_http_header(const vc_http_req_t *req, const char *name)
{
	for (unsigned i = 0; i < req->nhdrs; i++) {
		const hdr_t *h = &req->hdrs[i];
		if (strcasecmp(req->buf + h->name, name) == 0)
			return req->buf + h->value;
	}
	return NULL;
}

const char *vc_http_body(const vc_http_req_t *req, size_t *len)
{
	*len = req->body_len;
	return req->body ? req->body : "";
}

const char *vc_http_peer(const vc_http_req_t *req)
{
	return req->conn->peer;
}

vc_worker_t *vc_http_worker(const vc_http_req_t *req)
{
	return req->conn->srv->w;
}

vc_actor_t *vc_http_actor(vc_http_req_t *req)
{
	return &req->conn->actor;
}

void vc_http_add_param(vc_http_req_t *req, const char *value, size_t len)
{
	if (req->nparams < VC_HTTP_MAX_PARAMS)
		req->params[req->nparams++] = vc_strndup(value, len);
}

const char *vc_http_param(const vc_http_req_t *req, unsigned i)
{
	return i < req->nparams ? req->params[i] : NULL;
}

void vc_http_set_data(vc_http_req_t *req, void *data)
{
	req->data = data;
}

void *vc_http_data(const vc_http_req_t *req)
{
	return req->data;
}

/* --- responses ------------------------------------------------------------ */

void vc_http_add_header(vc_http_req_t *req, const char *name, const char *value)
{
	size_t nl = strlen(name), vl = strlen(value);

	req->extra = vc_realloc(req->extra, req->extra_len + nl + vl + 5);
	memcpy(req->extra + req->extra_len, name, nl);
	memcpy(req->extra + req->extra_len + nl, ": ", 2);
	memcpy(req->extra + req->extra_len + nl + 2, value, vl);
	memcpy(req->extra + req->extra_len + nl + 2 + vl, "\r\n", 2);
	req->extra_len += nl + vl + 4;
}

/* Is `origin` in the comma-separated allow list? An empty list mirrors. */
static bool cors_allowed(const char *origin)
{
	const char *list = cfg_cors();
	size_t olen = strlen(origin);

	if (list == NULL || *list == '\0')
		return true;
	while (*list != '\0') {
		while (*list == ' ' || *list == ',')
			list++;
		size_t n = strcspn(list, ",");
		size_t m = n;
		while (m > 0 && list[m - 1] == ' ')
			m--;
		if (m == olen && m > 0 && strncmp(list, origin, m) == 0)
			return true;
		list += n;
	}
	return false;
}

static void add_cors(vc_http_req_t *req)
{
	const char *origin = vc_http_header(req, "Origin");

	if (origin == NULL || !cors_allowed(origin))
		return;
	vc_http_add_header(req, "Access-Control-Allow-Origin", origin);
	vc_http_add_header(req, "Access-Control-Allow-Credentials", "true");
	vc_http_add_header(req, "Vary", "Origin");
}

static const char *http_date(server_t *s)
{
	time_t now = (time_t)ev_now(s->loop);
	struct tm tm;

	if (now != s->date_sec) {
		s->date_sec = now;
		gmtime_r(&now, &tm);
		strftime(s->date, sizeof(s->date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	}
	return s->date;
}

static void out_append(conn_t *c, out_t *o)
{
	o->next = NULL;
	if (c->out_tail != NULL)
		c->out_tail->next = o;
	else
		c->out_head = o;
	c->out_tail = o;
}

static void count_status(server_t *s, int status)
{
	if (status >= 100 && status < 600)
		atomic_fetch_add_explicit(&s->status[status], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->requests, 1, memory_order_relaxed);
}

void vc_http_respond(vc_http_req_t *req, int status, const char *content_type,
		     const void *body, size_t len)
{
	conn_t *c = req->conn;
	server_t *s = c->srv;
	char head[512];
	int n;

	if (c->state == C_CLOSED) { /* the client left while we worked */
		if (c->req == req)
			c->req = NULL;
		req_free(req);
		return;
	}
	if (!req->keep_alive || s->draining)
		c->close_after = true;
	add_cors(req);
	n = snprintf(head, sizeof(head),
		     "HTTP/1.1 %d %s\r\nDate: %s\r\nContent-Length: %zu\r\n%s%s%s%s",
		     status, vc_http_reason(status), http_date(s), len,
		     content_type ? "Content-Type: " : "", content_type ? content_type : "",
		     content_type ? "\r\n" : "", c->close_after ? "Connection: close\r\n" : "");
	if (req->head)
		len = 0;
	out_t *o = vc_malloc(sizeof(*o) + (size_t)n + req->extra_len + 2 + len);
	memcpy(o->data, head, (size_t)n);
	if (req->extra_len)
		memcpy(o->data + n, req->extra, req->extra_len);
	memcpy(o->data + n + req->extra_len, "\r\n", 2);
	if (len)
		memcpy(o->data + n + req->extra_len + 2, body, len);
	o->off = 0;
	o->len = (size_t)n + req->extra_len + 2 + len;
	out_append(c, o);
	count_status(s, status);
	conn_set_state(c, C_WRITING);
	vc_worker_want_flush(s->w, &c->flush);
}

void vc_http_respond_json(vc_http_req_t *req, int status, json_t *body)
{
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;

	vc_http_respond(req, status, "application/json", text ? text : "", text ? strlen(text) : 0);
	free(text);
	json_decref(body);
}

void vc_http_await(vc_http_req_t *req, vc_http_cont_fn cont)
{
	req->cont = cont;
	vc_actor_ref(&req->conn->actor); /* released when the reply has run */
}

static int on_reply(vc_actor_t *self, vc_msg_t *m)
{
	conn_t *c = vc_container_of(self, conn_t, actor);
	vc_http_req_t *req = c->req;

	if (req == NULL || req->cont == NULL) {
		log_error("%s: a reply arrived for no waiting request", c->peer);
		return VC_MSG_DONE;
	}
	vc_http_cont_fn cont = req->cont;
	req->cont = NULL;
	cont(req, m);
	vc_actor_unref(self); /* the await's reference; the free is deferred */
	return VC_MSG_DONE;
}

static void respond_error(conn_t *c, int status)
{
	const char *reason = vc_http_reason(status);
	char body[64];
	int n = snprintf(body, sizeof(body), "%s\n", reason);

	if (c->req == NULL)
		c->req = req_new(c);
	c->req->keep_alive = false;
	c->close_after = true;
	if (c->in != NULL) { /* nothing after a broken request is trusted */
		rbuf_put(c->srv, c->in);
		c->in = NULL;
	}
	ev_io_stop(c->srv->loop, &c->io);
	vc_http_respond(c->req, status, "text/plain; charset=utf-8", body, (size_t)n);
}

/* --- reading and dispatching ---------------------------------------------- */

static bool is_preflight(vc_http_req_t *r)
{
	return r->conn->parser.method == HTTP_OPTIONS && vc_http_header(r, "Origin") &&
	       vc_http_header(r, "Access-Control-Request-Method");
}

static void dispatch(conn_t *c)
{
	vc_http_req_t *r = c->req;

	conn_set_state(c, C_HANDLING);
	ev_io_stop(c->srv->loop, &c->io);
	r->keep_alive = http_should_keep_alive(&c->parser);
	if (is_preflight(r)) {
		const char *origin = vc_http_header(r, "Origin");
		if (cors_allowed(origin)) {
			vc_http_add_header(r, "Access-Control-Allow-Methods",
					   "GET,POST,PUT,DELETE,PATCH,OPTIONS");
			vc_http_add_header(r, "Access-Control-Allow-Headers",
					   "content-type,authorization,cookie,accept");
		}
		vc_http_respond(r, 200, NULL, NULL, 0);
		return;
	}
	c->srv->handler(r);
}

static int parse_error_status(conn_t *c, enum http_errno e)
{
	if (c->req != NULL && c->req->error != 0)
		return c->req->error;
	if (e == HPE_HEADER_OVERFLOW)
		return 431;
	return 400;
}

static void conn_parse(conn_t *c)
{
	rbuf_t *in = c->in;
	size_t n;
	enum http_errno e;

	if (in == NULL || in->off == in->len) {
		conn_wait_read(c);
		return;
	}
	n = http_parser_execute(&c->parser, &parser_settings, in->data + in->off,
				in->len - in->off);
	in->off += n;
	e = HTTP_PARSER_ERRNO(&c->parser);
	if (e == HPE_PAUSED) {
		http_parser_pause(&c->parser, 0);
		dispatch(c);
	} else if (e != HPE_OK) {
		log_debug("%s: bad request: %s", c->peer, http_errno_description(e));
		respond_error(c, parse_error_status(c, e));
	} else {
		conn_wait_read(c);
	}
}

/* Give the buffer back once parsed; watch the socket for more. */
static void conn_wait_read(conn_t *c)
{
	if (c->in != NULL && c->in->off == c->in->len) {
		rbuf_put(c->srv, c->in);
		c->in = NULL;
	}
	if (!ev_is_active(&c->io) || (c->io.events & EV_READ) == 0) {
		ev_io_stop(c->srv->loop, &c->io);
		ev_io_set(&c->io, c->fd, EV_READ);
		ev_io_start(c->srv->loop, &c->io);
	}
}

static void conn_read(conn_t *c)
{
	for (int i = 0; i < READS_PER_EVENT && c->state <= C_READING; i++) {
		if (c->in == NULL)
			c->in = rbuf_get(c->srv);
		ssize_t n = read(c->fd, c->in->data + c->in->len, RBUF_SIZE - c->in->len);
		if (n == 0) {
			conn_close(c); /* the client closed; a half request is dropped */
			return;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				conn_close(c);
			else
				conn_wait_read(c);
			return;
		}
		c->in->len += (size_t)n;
		conn_parse(c);
		if (c->in != NULL && c->in->len < RBUF_SIZE)
			continue;
	}
}

/* --- writing -------------------------------------------------------------- */

static void response_done(conn_t *c)
{
	req_free(c->req);
	c->req = NULL;
	if (c->close_after) {
		conn_close(c);
		return;
	}
	conn_set_state(c, C_IDLE);
	conn_parse(c); /* a pipelined request may be waiting */
}

static void conn_write(conn_t *c)
{
	struct iovec iov[IOV_BATCH];

	while (c->out_head != NULL) {
		int n = 0;
		for (out_t *o = c->out_head; o != NULL && n < IOV_BATCH; o = o->next, n++) {
			iov[n].iov_base = o->data + o->off;
			iov[n].iov_len = o->len - o->off;
		}
		struct msghdr mh = { .msg_iov = iov, .msg_iovlen = (size_t)n };
		ssize_t w = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				conn_set_state(c, C_WRITING); /* progress resets the deadline */
				ev_io_stop(c->srv->loop, &c->io);
				ev_io_set(&c->io, c->fd, EV_WRITE);
				ev_io_start(c->srv->loop, &c->io);
				return;
			}
			conn_close(c);
			return;
		}
		while (w > 0) {
			out_t *o = c->out_head;
			size_t left = o->len - o->off;
			if ((size_t)w < left) {
				o->off += (size_t)w;
				break;
			}
			w -= (ssize_t)left;
			c->out_head = o->next;
			if (c->out_head == NULL)
				c->out_tail = NULL;
			free(o);
		}
	}
	ev_io_stop(c->srv->loop, &c->io);
	response_done(c);
}

static void on_flush(vc_flush_t *f)
{
	conn_t *c = vc_container_of(f, conn_t, flush);

	if (c->state == C_WRITING && !ev_is_active(&c->io))
		conn_write(c);
}

static void on_io(struct ev_loop *loop, ev_io *io, int revents)
{
	conn_t *c = vc_container_of(io, conn_t, io);

	vc_log_set_context(c->peer);
	if (revents & EV_WRITE)
		conn_write(c);
	else if (revents & EV_READ)
		conn_read(c);
	vc_log_set_context(NULL);
}

/* --- connection lifetime -------------------------------------------------- */

static const vc_handler_fn conn_handlers[] = { [VC_HTTP_MSG_REPLY] = on_reply };

static void conn_free(vc_actor_t *a)
{
	free(vc_container_of(a, conn_t, actor));
}

static const vc_behaviour_t conn_behaviour = {
	.name = "http-conn",
	.handlers = conn_handlers,
	.nhandlers = VC_ARRAY_LEN(conn_handlers),
	.free = conn_free,
};

static void conn_close(conn_t *c)
{
	server_t *s = c->srv;

	if (c->state == C_CLOSED)
		return;
	conn_set_state(c, C_CLOSED);
	ev_io_stop(s->loop, &c->io);
	vc_worker_cancel_flush(s->w, &c->flush);
	close(c->fd);
	c->fd = -1;
	while (c->out_head != NULL) {
		out_t *o = c->out_head;
		c->out_head = o->next;
		free(o);
	}
	c->out_tail = NULL;
	if (c->in != NULL) {
		rbuf_put(s, c->in);
		c->in = NULL;
	}
	/* A request still being handled is freed when its handler responds. */
	if (c->req != NULL && c->req->cont == NULL) {
		req_free(c->req);
		c->req = NULL;
	}
	atomic_fetch_sub_explicit(&s->connections, 1, memory_order_relaxed);
	atomic_fetch_sub_explicit(&total_connections, 1, memory_order_relaxed);
	vc_actor_unref(&c->actor); /* the socket's reference */
}

static void peer_name(const struct sockaddr_storage *ss, char *out, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
		snprintf(out, len, "%s:%u", host, port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
		snprintf(out, len, "[%s]:%u", host, port);
	} else {
		snprintf(out, len, "unix");
	}
}

static void conn_open(server_t *s, int fd, const struct sockaddr_storage *ss)
{
	conn_t *c = vc_calloc(1, sizeof(*c));
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	vc_actor_init(&c->actor, &conn_behaviour, s->w, c);
	c->srv = s;
	c->fd = fd;
	c->flush.fn = on_flush;
	peer_name(ss, c->peer, sizeof(c->peer));
	http_parser_init(&c->parser, HTTP_REQUEST);
	c->parser.data = c;
	ev_io_init(&c->io, on_io, fd, EV_READ);
	ev_io_start(s->loop, &c->io);
	atomic_fetch_add_explicit(&s->connections, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->accepted, 1, memory_order_relaxed);
	conn_set_state(c, C_IDLE);
}

static void refuse(server_t *s, int fd)
{
	static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\n"
				   "Content-Length: 0\r\nConnection: close\r\n\r\n";
	if (send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		log_debug("refusal not sent: %s", strerror(errno));
	close(fd);
	atomic_fetch_add_explicit(&s->refused, 1, memory_order_relaxed);
	count_status(s, 503);
}

static void on_accept_pause_end(struct ev_loop *loop, ev_timer *t, int revents)
{
	server_t *s = t->data;
	if (!s->draining)
		ev_io_start(loop, &s->accept_io);
}

static void on_accept(struct ev_loop *loop, ev_io *io, int revents)
{
	server_t *s = io->data;

	for (int i = 0; i < ACCEPT_BATCH; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int fd = accept4(s->listen_fd, (struct sockaddr *)&ss, &len,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOMEM ||
			    errno == ENOBUFS) {
				log_warn("cannot accept: %s; pausing accepts for 100 ms",
					 strerror(errno));
				ev_io_stop(loop, io);
				ev_timer_set(&s->accept_pause, 0.1, 0.);
				ev_timer_start(loop, &s->accept_pause);
			}
			return;
		}
		int64_t open = atomic_fetch_add_explicit(&total_connections, 1,
							 memory_order_relaxed);
		if (open >= (int64_t)vc_config_get()->max_connections) {
			atomic_fetch_sub_explicit(&total_connections, 1, memory_order_relaxed);
			refuse(s, fd);
			continue;
		}
		conn_open(s, fd, &ss);
	}
}

/* --- timeouts ------------------------------------------------------------- */

static void expire(conn_t *c)
{
	atomic_fetch_add_explicit(&c->srv->timeouts, 1, memory_order_relaxed);
	if (c->state == C_READING) {
		log_debug("%s: request not received within request_timeout", c->peer);
		respond_error(c, 408);
	} else {
		conn_close(c);
	}
}

static void on_sweep(struct ev_loop *loop, ev_timer *t, int revents)
{
	server_t *s = t->data;
	double now = ev_now(loop);

	/* Both lists are in deadline order: stop at the first live one. */
	while (s->idle_head != NULL && s->idle_head->deadline <= now)
		expire(s->idle_head);
	while (s->busy_head != NULL && s->busy_head->deadline <= now)
		expire(s->busy_head);
}

/* --- server lifecycle ----------------------------------------------------- */

static int split_hostport(const char *hostport, char *host, size_t hlen, const char **port)
{
	const char *colon = strrchr(hostport, ':');
	const char *h = hostport;
	size_t n;

	if (colon == NULL)
		return -1;
	n = (size_t)(colon - hostport);
	if (n >= 2 && h[0] == '[' && h[n - 1] == ']') {
		h++;
		n -= 2;
	}
	if (n >= hlen)
		return -1;
	memcpy(host, h, n);
	host[n] = '\0';
	*port = colon + 1;
	return 0;
}

static int open_listener(const struct addrinfo *ai, bool reuseport)
{
	int one = 1;
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (reuseport)
		setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, SOMAXCONN) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int vc_http_listen(const char *hostport, unsigned n, int *fds, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE };
	struct addrinfo *ai;
	char host[256];
	const char *port;
	int rc, probe;

	if (split_hostport(hostport, host, sizeof(host), &port) < 0) {
		snprintf(err, errlen, "listen = '%s': expected host:port", hostport);
		return -1;
	}
	rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &ai);
	if (rc != 0) {
		snprintf(err, errlen, "listen = '%s': %s", hostport, gai_strerror(rc));
		return -1;
	}
	/* A plain bind first: fails if anyone (even another vcd) holds the port. */
	probe = open_listener(ai, false);
	if (probe < 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", hostport, strerror(errno));
		freeaddrinfo(ai);
		return -1;
	}
	close(probe);
	for (unsigned i = 0; i < n; i++) {
		fds[i] = open_listener(ai, true);
		if (fds[i] < 0) {
			snprintf(err, errlen, "cannot listen on %s: %s", hostport, strerror(errno));
			while (i-- > 0)
				close(fds[i]);
			freeaddrinfo(ai);
			return -1;
		}
	}
	freeaddrinfo(ai);
	return 0;
}

void vc_http_worker_start(vc_worker_t *w, int listen_fd, vc_http_handler_fn handler)
{
	server_t *s = vc_calloc(1, sizeof(*s));
	unsigned idx = vc_worker_index(w);

	s->w = w;
	s->loop = vc_worker_loop(w);
	s->listen_fd = listen_fd;
	s->handler = handler;
	ev_io_init(&s->accept_io, on_accept, listen_fd, EV_READ);
	s->accept_io.data = s;
	ev_io_start(s->loop, &s->accept_io);
	ev_timer_init(&s->accept_pause, on_accept_pause_end, 0.1, 0.);
	s->accept_pause.data = s;
	ev_timer_init(&s->sweep, on_sweep, SWEEP_INTERVAL, SWEEP_INTERVAL);
	s->sweep.data = s;
	ev_timer_start(s->loop, &s->sweep);
	if (servers == NULL) { /* first worker: sized once for all of them */
		nservers = vc_runtime_nworkers();
		servers = vc_calloc(nservers, sizeof(*servers));
	}
	atomic_store_explicit((_Atomic(server_t *) *)&servers[idx], s, memory_order_release);
	vc_worker_set_slot(w, VC_SLOT_HTTP, s);
}

static void close_list(conn_t *head)
{
	while (head != NULL) {
		conn_t *next = head->lnext;
		conn_close(head);
		head = next;
	}
}

void vc_http_worker_drain(vc_worker_t *w)
{
	server_t *s = vc_worker_slot(w, VC_SLOT_HTTP);

	if (s == NULL || s->draining)
		return;
	s->draining = true;
	ev_io_stop(s->loop, &s->accept_io);
	ev_timer_stop(s->loop, &s->accept_pause);
	close(s->listen_fd);
	s->listen_fd = -1;
	close_list(s->idle_head);
}

void vc_http_worker_stop(vc_worker_t *w)
{
	server_t *s = vc_worker_slot(w, VC_SLOT_HTTP);

	if (s == NULL)
		return;
	vc_http_worker_drain(w);
	close_list(s->busy_head);
	ev_timer_stop(s->loop, &s->sweep);
	/* Connections in HANDLING are on no list; they close when answered, and
	 * the process is exiting anyway. */
	while (s->free_bufs != NULL) {
		rbuf_t *b = s->free_bufs;
		s->free_bufs = b->next;
		free(b);
	}
	s->nfree = 0;
}

/* --- statistics ----------------------------------------------------------- */

static server_t *server_at(unsigned i)
{
	return atomic_load_explicit((_Atomic(server_t *) *)&servers[i], memory_order_acquire);
}

void vc_http_stats_sum(vc_http_stats_t *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < nservers; i++) {
		server_t *s = server_at(i);
		if (s == NULL)
			continue;
		out->connections += atomic_load_explicit(&s->connections, memory_order_relaxed);
		out->accepted += atomic_load_explicit(&s->accepted, memory_order_relaxed);
		out->refused += atomic_load_explicit(&s->refused, memory_order_relaxed);
		out->timeouts += atomic_load_explicit(&s->timeouts, memory_order_relaxed);
		out->requests += atomic_load_explicit(&s->requests, memory_order_relaxed);
		for (int st = 100; st < 600; st++)
			out->by_status[st / 100] +=
				atomic_load_explicit(&s->status[st], memory_order_relaxed);
	}
}

uint64_t vc_http_status_count(int status)
{
	uint64_t n = 0;

	if (status < 100 || status >= 600)
		return 0;
	for (unsigned i = 0; i < nservers; i++) {
		server_t *s = server_at(i);
		if (s != NULL)
			n += atomic_load_explicit(&s->status[status], memory_order_relaxed);
	}
	return n;
}

int64_t vc_http_connections(void)
{
	return atomic_load_explicit(&total_connections, memory_order_relaxed);
}
