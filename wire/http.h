/*
 * http.h — the HTTP/1.1 server: connections, requests, responses.
 *
 * Each worker runs one server on its own SO_REUSEPORT listening socket; a
 * connection lives on the worker that accepted it and is an actor there.
 * Requests on a connection are handled one at a time, in order (pipelined
 * requests wait in the read buffer), so responses go out in request order.
 *
 * A handler is called on the connection's worker with a complete request. It
 * answers at once (vc_http_respond*) or later: it calls vc_http_await() with
 * a continuation, and sends the connection's actor (vc_http_actor) a message
 * of type VC_HTTP_MSG_REPLY (e.g. as the reply_type of vc_pg_query); the
 * continuation then runs on the connection's worker and must respond. If the
 * client went away meanwhile the response is discarded. The request stays
 * valid until it has been answered.
 *
 * Limits (vc_config_t): malformed → 400, request line + headers over
 * max_header_size → 431, target over max_uri → 414, body over max_body → 413,
 * request not received within request_timeout → 408, idle keep-alive
 * connections closed after idle_timeout, more than max_connections → 503 and
 * close, without disturbing the others. Idle connections hold no buffers.
 */
#ifndef VC_HTTP_H
#define VC_HTTP_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdint.h>

#include "runtime/actor.h"
#include "runtime/worker.h"

typedef struct vc_http_req vc_http_req_t;
typedef void (*vc_http_handler_fn)(vc_http_req_t *req);
typedef void (*vc_http_cont_fn)(vc_http_req_t *req, vc_msg_t *reply);

/* The message type a connection actor accepts as a reply for vc_http_await. */
#define VC_HTTP_MSG_REPLY 0u

/* --- server lifecycle ----------------------------------------------------- */

/* Main thread: open `n` SO_REUSEPORT listening sockets on "host:port"
 * (a host name is resolved here, first address). Returns 0 and the fds, or
 * -1 with err. */
int vc_http_listen(const char *hostport, unsigned n, int *fds, char *err,
                   size_t errlen) VC_MUSTCHECK;
/* On the worker thread: serve connections accepted on fd with `handler`. */
void vc_http_worker_start(vc_worker_t *w, int listen_fd, vc_http_handler_fn handler);
/* On the worker thread: stop accepting and close idle connections; requests
 * in flight finish and their connections close after the response. */
void vc_http_worker_drain(vc_worker_t *w);
/* On the worker thread: close everything now. */
void vc_http_worker_stop(vc_worker_t *w);

/* Counters over all workers. */
typedef struct vc_http_stats {
	int64_t connections; /* open now */
	uint64_t accepted;
	uint64_t refused;  /* over max_connections */
	uint64_t timeouts; /* closed by request/idle timeouts */
	uint64_t requests;
	uint64_t by_status[6]; /* index status/100: 1xx..5xx */
} vc_http_stats_t;
void vc_http_stats_sum(vc_http_stats_t *out);
/* Requests answered with `status`, over all workers (100..599). */
uint64_t vc_http_status_count(int status);
/* Open connections over all workers (cheap, for drain). */
int64_t vc_http_connections(void);

/* --- the request ---------------------------------------------------------- */

const char *vc_http_method(const vc_http_req_t *req); /* "GET", "POST", … */
const char *vc_http_path(const vc_http_req_t *req);   /* target up to '?' */
const char *vc_http_query(const vc_http_req_t *req);  /* after '?', or "" */
/* First value of a header (case-insensitive name), or NULL. */
const char *vc_http_header(const vc_http_req_t *req, const char *name);
const char *vc_http_body(const vc_http_req_t *req, size_t *len);
const char *vc_http_peer(const vc_http_req_t *req); /* "ip:port" */
vc_worker_t *vc_http_worker(const vc_http_req_t *req);
vc_actor_t *vc_http_actor(vc_http_req_t *req);

/* Path parameters, added by the router (copied; at most VC_HTTP_MAX_PARAMS). */
#define VC_HTTP_MAX_PARAMS 4
void vc_http_add_param(vc_http_req_t *req, const char *value, size_t len);
const char *vc_http_param(const vc_http_req_t *req, unsigned i);

/* Per-request data of the handler; free_fn (may be NULL) runs when the
 * request is done with, answered or abandoned. */
void vc_http_set_data(vc_http_req_t *req, void *data, void (*free_fn)(void *data));
void *vc_http_data(const vc_http_req_t *req);

/* --- the response --------------------------------------------------------- */

/* Add a response header (before responding); name and value are copied. */
void vc_http_add_header(vc_http_req_t *req, const char *name, const char *value);
/* Answer. Exactly once per request; copies the body. */
void vc_http_respond(vc_http_req_t *req, int status, const char *content_type, const void *body,
                     size_t len);
/* Answer with a JSON body (steals `body`; NULL → empty body). */
void vc_http_respond_json(vc_http_req_t *req, int status, json_t *body);
/* Answer later: `cont` receives the next VC_HTTP_MSG_REPLY message. */
void vc_http_await(vc_http_req_t *req, vc_http_cont_fn cont);
/* Undo vc_http_await when the reply can no longer come (the work was not
 * started); the caller then answers itself. */
void vc_http_cancel_await(vc_http_req_t *req);

const char *vc_http_reason(int status);

/* --- handing the socket to another protocol (WebSocket) ------------------- */

typedef struct vc_http_socket {
	int fd;
	char *rest; /* bytes the client sent after the request (malloc'd), or NULL */
	size_t rest_len;
	char peer[56];
} vc_http_socket_t;

/* Instead of answering: take req's connection out of the HTTP server, on
 * the request's worker. The request counts as answered with `status` (the
 * new owner writes the status line itself) and is freed; the connection
 * leaves HTTP's lists and its `connections` gauge, but its socket stays
 * counted in vc_http_connections() and against max_connections until the
 * new owner calls vc_http_socket_closed(). Returns 0 and fills *out (the
 * caller owns fd and rest), or -1 when the client has already gone (req is
 * freed either way). */
int vc_http_detach(vc_http_req_t *req, int status, vc_http_socket_t *out) VC_MUSTCHECK;
/* Any thread: a socket taken with vc_http_detach was closed. */
void vc_http_socket_closed(void);

#endif
