/*
 * http_int.h — what wire/http.c (requests and responses) and
 * wire/http_conn.c (sockets, timeouts, the listener) share. Not for use
 * outside wire/http*.c.
 */
#ifndef VC_HTTP_INT_H
#define VC_HTTP_INT_H

#include <http_parser.h>
#include <time.h>

#include "wire/http.h"

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
	void (*data_free)(void *data);
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

extern const http_parser_settings vc_http__parser_settings;

/* http.c */
void http_req_free(vc_http_req_t *r);
void http_conn_parse(conn_t *c);
void http_conn_wait_read(conn_t *c);
void http_respond_error(conn_t *c, int status);
int http_on_reply(vc_actor_t *self, vc_msg_t *m);
void http_count_status(server_t *s, int status);
/* t/fuzz/fuzz_http.c: the parser and its limits without a socket. */
int vc_http__fuzz_parse(const char *data, size_t len);

/* http_conn.c */
void http_conn_set_state(conn_t *c, enum conn_state st);
void http_conn_close(conn_t *c);
void http_list_remove(conn_t *c);
void http_response_done(conn_t *c);
rbuf_t *http_rbuf_get(server_t *s);
void http_rbuf_put(server_t *s, rbuf_t *b);

#endif
