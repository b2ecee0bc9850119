/*
 * http.c — HTTP/1.1 requests and responses: parsing with http-parser under
 * vcd's limits, the request accessors, building responses, dispatching.
 * Sockets, timeouts and the listener are in http_conn.c.
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

#include "wire/http_int.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "runtime/config.h"
#include "runtime/log.h"

/* --- small helpers -------------------------------------------------------- */

const char *vc_http_reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 101: return "Switching Protocols";
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
	case 426: return "Upgrade Required";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}

/* --- requests ------------------------------------------------------------- */

static vc_http_req_t *req_new(conn_t *c)
{
	vc_http_req_t *r = vc_calloc(1, sizeof(*r));
	r->conn = c;
	return r;
}

void http_req_free(vc_http_req_t *r)
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
	if (r->data_free != NULL && r->data != NULL)
		r->data_free(r->data);
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
	http_conn_set_state(c, C_READING);
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
	char *frag;

	req_end_piece(r);
	if (p->http_major != 1) { /* HTTP/0.9 (no version): a bad request line */
		r->error = p->http_major == 0 ? 400 : 505;
		return -1;
	}
	url = r->buf;
	frag = memchr(r->buf, '#', r->url_len);
	if (frag != NULL) { /* a fragment is the client's own: never a server's to see */
		*frag = '\0';
		r->url_len = (uint32_t)(frag - r->buf);
	}
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

const http_parser_settings vc_http__parser_settings = {
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

void vc_http_set_data(vc_http_req_t *req, void *data, void (*free_fn)(void *data))
{
	if (req->data_free != NULL && req->data != NULL && req->data != data)
		req->data_free(req->data);
	req->data = data;
	req->data_free = free_fn;
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

/* Is `origin` in the comma-separated list? */
static bool in_list(const char *list, const char *origin)
{
	size_t olen = strlen(origin);

	while (*list != '\0') {
		while (*list == ' ' || *list == ',')
			list++;
		size_t n = strcspn(list, ",");
		size_t m = n;
		while (m > 0 && list[m - 1] == ' ')
			m--;
		if (m == olen && m > 0 && strncasecmp(list, origin, m) == 0)
			return true;
		list += n;
	}
	return false;
}

/* Origins in cors_allowed_origin or cors_allowlist are allowed; with both
 * lists empty every Origin is mirrored (videocall.rs's default). */
static bool cors_allowed(const char *origin)
{
	const vc_config_t *cfg = vc_config_get();

	if (cfg->cors_allowed_origin[0] == '\0' && cfg->cors_allowlist[0] == '\0')
		return true;
	return in_list(cfg->cors_allowed_origin, origin) || in_list(cfg->cors_allowlist, origin);
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

void http_count_status(server_t *s, int status)
{
	if (status >= 100 && status < 600)
		atomic_fetch_add_explicit(&s->status[status], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->requests, 1, memory_order_relaxed);
}

void vc_http_respond(vc_http_req_t *req, int status, const char *content_type, const void *body,
                     size_t len)
{
	conn_t *c = req->conn;
	server_t *s = c->srv;
	char head[512];
	int n;

	if (c->state == C_CLOSED) { /* the client left while we worked */
		if (c->req == req)
			c->req = NULL;
		http_req_free(req);
		return;
	}
	if (!req->keep_alive || s->draining)
		c->close_after = true;
	add_cors(req);
	n = snprintf(head, sizeof(head),
	             "HTTP/1.1 %d %s\r\nDate: %s\r\nContent-Length: %zu\r\n%s%s%s%s", status,
	             vc_http_reason(status), http_date(s), len,
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
	http_count_status(s, status);
	http_conn_set_state(c, C_WRITING);
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

void vc_http_cancel_await(vc_http_req_t *req)
{
	if (req->cont == NULL)
		return;
	req->cont = NULL;
	vc_actor_unref(&req->conn->actor);
}

int http_on_reply(vc_actor_t *self, vc_msg_t *m)
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

void http_respond_error(conn_t *c, int status)
{
	const char *reason = vc_http_reason(status);
	char body[64];
	int n = snprintf(body, sizeof(body), "%s\n", reason);

	if (c->req == NULL)
		c->req = req_new(c);
	c->req->keep_alive = false;
	c->close_after = true;
	if (c->in != NULL) { /* nothing after a broken request is trusted */
		http_rbuf_put(c->srv, c->in);
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

	/* The read watcher stays on: a client that waits for the answer costs
	 * no epoll_ctl; one that sends meanwhile pauses it (on_io). */
	http_conn_set_state(c, C_HANDLING);
	r->keep_alive = http_should_keep_alive(&c->parser);
	if (is_preflight(r)) {
		const char *origin = vc_http_header(r, "Origin");
		if (cors_allowed(origin)) {
			vc_http_add_header(r, "Access-Control-Allow-Methods",
			                   "GET,POST,PUT,DELETE,PATCH,OPTIONS");
			vc_http_add_header(r, "Access-Control-Allow-Headers",
			                   "content-type,authorization,cookie,accept,x-embed-key");
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

void http_conn_parse(conn_t *c)
{
	rbuf_t *in = c->in;
	size_t n;
	enum http_errno e;

	if (in == NULL || in->off == in->len) {
		http_conn_wait_read(c);
		return;
	}
	n = http_parser_execute(&c->parser, &vc_http__parser_settings, in->data + in->off,
	                        in->len - in->off);
	in->off += n;
	e = HTTP_PARSER_ERRNO(&c->parser);
	if (e == HPE_PAUSED) {
		http_parser_pause(&c->parser, 0);
		dispatch(c);
	} else if (e != HPE_OK) {
		log_debug("%s: bad request: %s", c->peer, http_errno_description(e));
		http_respond_error(c, parse_error_status(c, e));
	} else {
		http_conn_wait_read(c);
	}
}

/* Give the buffer back once parsed; watch the socket for more. */
void http_conn_wait_read(conn_t *c)
{
	if (c->in != NULL && c->in->off == c->in->len) {
		http_rbuf_put(c->srv, c->in);
		c->in = NULL;
	}
	if (!ev_is_active(&c->io) || (c->io.events & EV_READ) == 0) {
		ev_io_stop(c->srv->loop, &c->io);
		ev_io_set(&c->io, c->fd, EV_READ);
		ev_io_start(c->srv->loop, &c->io);
	}
}

/* --- fuzzing -------------------------------------------------------------- */

/* Feed bytes through the request parser and its limits exactly as a
 * connection would, without a socket. For t/fuzz/fuzz_http.c only. */
int vc_http__fuzz_parse(const char *data, size_t len)
{
	static server_t srv;
	conn_t c = { .srv = &srv, .fd = -1 };
	int requests = 0;

	if (srv.loop == NULL)
		srv.loop = ev_loop_new(EVFLAG_AUTO);
	http_parser_init(&c.parser, HTTP_REQUEST);
	c.parser.data = &c;
	while (len > 0) {
		size_t n = http_parser_execute(&c.parser, &vc_http__parser_settings, data, len);
		enum http_errno e = HTTP_PARSER_ERRNO(&c.parser);
		data += n;
		len -= n;
		if (e != HPE_PAUSED)
			break;
		http_parser_pause(&c.parser, 0);
		(void)vc_http_header(c.req, "Host");
		requests++;
		http_req_free(c.req);
		c.req = NULL;
	}
	http_list_remove(&c);
	http_req_free(c.req);
	return requests;
}
