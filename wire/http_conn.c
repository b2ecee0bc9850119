/*
 * http_conn.c — HTTP connections on a worker: accept, read, write,
 * timeouts, drain, the listening sockets and the counters.
 *
 * A connection is in one state at a time (http_conn_set_state is the only
 * place that changes it):
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
#include "wire/http_int.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "runtime/config.h"
#include "runtime/log.h"

static _Atomic int64_t total_connections;
static server_t **servers; /* by worker index, for the stats */
static unsigned nservers;

rbuf_t *http_rbuf_get(server_t *s)
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

void http_rbuf_put(server_t *s, rbuf_t *b)
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

void http_list_remove(conn_t *c)
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

	http_list_remove(c);
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
void http_conn_set_state(conn_t *c, enum conn_state st)
{
	const vc_config_t *cfg = vc_config_get();

	c->state = (uint8_t)st;
	switch (st) {
	case C_IDLE: list_append(c, L_IDLE, cfg->idle_timeout); break;
	case C_READING:
	case C_WRITING: list_append(c, L_BUSY, cfg->request_timeout); break;
	case C_HANDLING:
	case C_CLOSED: http_list_remove(c); break;
	}
}

/* --- reading ------------------------------------------------------------- */

static void conn_read(conn_t *c)
{
	for (int i = 0; i < READS_PER_EVENT && c->state <= C_READING; i++) {
		if (c->in == NULL)
			c->in = http_rbuf_get(c->srv);
		ssize_t n = read(c->fd, c->in->data + c->in->len, RBUF_SIZE - c->in->len);
		if (n == 0) {
			http_conn_close(c); /* the client closed; a half request is dropped */
			return;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				http_conn_close(c);
			else
				http_conn_wait_read(c);
			return;
		}
		c->in->len += (size_t)n;
		http_conn_parse(c);
		if (c->in != NULL && c->in->len < RBUF_SIZE)
			continue;
	}
}

/* --- writing -------------------------------------------------------------- */

void http_response_done(conn_t *c)
{
	http_req_free(c->req);
	c->req = NULL;
	if (c->close_after) {
		http_conn_close(c);
		return;
	}
	http_conn_set_state(c, C_IDLE);
	http_conn_parse(c); /* a pipelined request may be waiting */
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
				http_conn_set_state(c,
				                    C_WRITING); /* progress resets the deadline */
				ev_io_stop(c->srv->loop, &c->io);
				ev_io_set(&c->io, c->fd, EV_WRITE);
				ev_io_start(c->srv->loop, &c->io);
				return;
			}
			http_conn_close(c);
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
	if (c->io.events & EV_WRITE)
		ev_io_stop(c->srv->loop, &c->io);
	http_response_done(c);
}

static void on_flush(vc_flush_t *f)
{
	conn_t *c = vc_container_of(f, conn_t, flush);

	if (c->state == C_WRITING && !(ev_is_active(&c->io) && (c->io.events & EV_WRITE)))
		conn_write(c);
}

static void on_io(struct ev_loop *loop, ev_io *io, int revents)
{
	conn_t *c = vc_container_of(io, conn_t, io);

	vc_log_set_context(c->peer);
	if (revents & EV_WRITE)
		conn_write(c);
	else if ((revents & EV_READ) && c->state > C_READING)
		ev_io_stop(loop, io); /* more before our answer: read after it */
	else if (revents & EV_READ)
		conn_read(c);
	vc_log_set_context(NULL);
}

/* --- connection lifetime -------------------------------------------------- */

static const vc_handler_fn conn_handlers[] = { [VC_HTTP_MSG_REPLY] = http_on_reply };

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

void http_conn_close(conn_t *c)
{
	server_t *s = c->srv;

	if (c->state == C_CLOSED)
		return;
	http_conn_set_state(c, C_CLOSED);
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
		http_rbuf_put(s, c->in);
		c->in = NULL;
	}
	/* A request still being handled is freed when its handler responds. */
	if (c->req != NULL && c->req->cont == NULL) {
		http_req_free(c->req);
		c->req = NULL;
	}
	atomic_fetch_sub_explicit(&s->connections, 1, memory_order_relaxed);
	atomic_fetch_sub_explicit(&total_connections, 1, memory_order_relaxed);
	vc_actor_unref(&c->actor); /* the socket's reference */
}

int vc_http_detach(vc_http_req_t *req, int status, vc_http_socket_t *out)
{
	conn_t *c = req->conn;
	server_t *s = c->srv;
	rbuf_t *in = c->in;

	memset(out, 0, sizeof(*out));
	out->fd = -1;
	if (c->req == req)
		c->req = NULL;
	http_req_free(req);
	if (c->state == C_CLOSED) /* the client left while we worked */
		return -1;
	http_count_status(s, status);
	out->fd = c->fd;
	memcpy(out->peer, c->peer, sizeof(out->peer));
	if (in != NULL && in->off < in->len) {
		out->rest_len = in->len - in->off;
		out->rest = vc_malloc(out->rest_len);
		memcpy(out->rest, in->data + in->off, out->rest_len);
	}
	/* Like http_conn_close, but the socket lives on with its new owner. */
	http_conn_set_state(c, C_CLOSED);
	ev_io_stop(s->loop, &c->io);
	vc_worker_cancel_flush(s->w, &c->flush);
	c->fd = -1;
	if (in != NULL) {
		http_rbuf_put(s, in);
		c->in = NULL;
	}
	atomic_fetch_sub_explicit(&s->connections, 1, memory_order_relaxed);
	vc_actor_unref(&c->actor); /* the socket's reference */
	return 0;
}

void vc_http_socket_closed(void)
{
	atomic_fetch_sub_explicit(&total_connections, 1, memory_order_relaxed);
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
	http_conn_set_state(c, C_IDLE);
}

static void refuse(server_t *s, int fd)
{
	static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\n"
	                           "Content-Length: 0\r\nConnection: close\r\n\r\n";
	if (send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		log_debug("refusal not sent: %s", strerror(errno));
	close(fd);
	atomic_fetch_add_explicit(&s->refused, 1, memory_order_relaxed);
	http_count_status(s, 503);
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
		int64_t open =
		        atomic_fetch_add_explicit(&total_connections, 1, memory_order_relaxed);
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
		http_respond_error(c, 408);
	} else {
		http_conn_close(c);
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

/* Main thread only: a host name is resolved here (first address wins). */
int vc_http_listen(const char *hostport, unsigned n, int *fds, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
		                  .ai_flags = AI_NUMERICSERV | AI_PASSIVE };
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
	/* The stats table, one slot per worker, sized here on the main thread
	 * before any worker starts: workers only fill their own slot. */
	if (servers == NULL) {
		nservers = n;
		servers = vc_calloc(nservers, sizeof(*servers));
	}
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
	assert(servers != NULL && idx < nservers); /* sized by vc_http_listen */
	atomic_store_explicit((_Atomic(server_t *) *)&servers[idx], s, memory_order_release);
	vc_worker_set_slot(w, VC_SLOT_HTTP, s);
}

static void close_list(conn_t *head)
{
	while (head != NULL) {
		conn_t *next = head->lnext;
		http_conn_close(head);
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
