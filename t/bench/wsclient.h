/*
 * wsclient.h — the WebSocket client of the bench load generators (vcbench,
 * sigbench): RFC 6455's handshake and frames (wsclient_wire.c: a random
 * key, masked frames out, server frames in with 7-, 16- and 64-bit lengths)
 * and a non-blocking client connection driven by an epoll loop
 * (wsclient_conn.c). A loop and its connections belong to one thread; no
 * locks here.
 */
#ifndef VCB_WSCLIENT_H
#define VCB_WSCLIENT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* --- handshake ------------------------------------------------------------------ */

#define VCB_KEY_LEN 24 /* base64 of 16 random bytes */

/* A random Sec-WebSocket-Key (NUL-terminated, VCB_KEY_LEN chars). */
void vcb_ws_key(char key[VCB_KEY_LEN + 1]);
/* The Sec-WebSocket-Accept a server must answer for key (29 bytes + NUL). */
void vcb_ws_accept(const char *key, char accept[29]);
/* The upgrade request for path on host:port; returns its length, 0 if it
 * does not fit out. */
size_t vcb_ws_request(char *out, size_t len, const char *host, int port, const char *path,
                      const char *key);
/* An answer to the upgrade in p[0..n): 0 not complete yet, -1 not a 101
 * with the right Sec-WebSocket-Accept (why says what), else the length of
 * the header block (bytes after it are frames). */
long vcb_ws_response(const char *p, size_t n, const char *key, char *why, size_t whylen);

/* --- frames ---------------------------------------------------------------------- */

#define VCB_FRAME_MAX_HDR 14 /* 2 + 8 (64-bit length) + 4 (mask) */

enum {
	VCB_OP_CONT = 0,
	VCB_OP_TEXT = 1,
	VCB_OP_BIN = 2,
	VCB_OP_CLOSE = 8,
	VCB_OP_PING = 9,
	VCB_OP_PONG = 10
};

/* A masked client frame header for a payload of n bytes with mask key
 * `mask`; returns its length. The caller then writes the payload masked
 * with vcb_mask(). */
size_t vcb_frame_header(uint8_t *out, int opcode, uint64_t n, uint32_t mask);
/* XOR p[0..n) with the 4-byte key, starting at key byte 0. */
void vcb_mask(uint8_t *p, size_t n, uint32_t mask);

typedef struct vcb_frame {
	int opcode;
	bool fin, masked;
	const uint8_t *payload;
	uint64_t len;
	size_t size; /* header + payload */
} vcb_frame_t;

/* The server frame at the start of p[0..n): 1 with f filled, 0 when not all
 * of it is there yet (f->size then holds what is needed so far, or 0 when
 * the header itself is cut), -1 when it is malformed (RSV bits, a masked
 * server frame, a 64-bit length with the top bit). */
int vcb_frame_parse(const uint8_t *p, size_t n, vcb_frame_t *f);

/* --- connections ----------------------------------------------------------------- */

typedef struct vcb_loop vcb_loop_t;
typedef struct vcb_conn vcb_conn_t;

enum vcb_conn_state {
	VCB_CONN_NEW,
	VCB_CONN_CONNECTING, /* TCP handshake; the upgrade request waits in out */
	VCB_CONN_UPGRADING,  /* request written, waiting for the 101 */
	VCB_CONN_OPEN,
	VCB_CONN_CLOSED
};

/* What a loop tells the owner of its connections, on the loop's thread.
 * The owner finds its own structure from c with vc_container_of. */
typedef struct vcb_conn_ops {
	/* The 101 came: c is open and may send. */
	void (*on_open)(vcb_loop_t *l, vcb_conn_t *c, uint64_t now);
	/* A whole unfragmented text or binary message. now is the time of the
	 * read() it came in (CLOCK_MONOTONIC ns). p is valid during the call. */
	void (*on_message)(vcb_loop_t *l, vcb_conn_t *c, int opcode, const uint8_t *p, size_t n,
	                   uint64_t now);
	/* c ended (the server closed it, an error, or vcb_conn_close): why says
	 * what. Called once; c's socket is closed right after. */
	void (*on_close)(vcb_loop_t *l, vcb_conn_t *c, const char *why);
} vcb_conn_ops_t;

struct vcb_loop {
	int epfd;
	const vcb_conn_ops_t *ops;
	uint8_t *rbuf; /* shared by the loop's reads */
	size_t rcap;
	uint64_t rng;
	uint64_t bad_frames; /* fragmented or continuation frames: no server here sends them */
};

/* A connection: embed it in the owner's structure. Buffers are the
 * connection's (freed by vcb_conn_drop). */
struct vcb_conn {
	int fd;
	enum vcb_conn_state state;
	bool pollout;
	char key[VCB_KEY_LEN + 1];
	uint8_t *in; /* the start of a frame not all read yet */
	size_t in_len;
	uint8_t *out; /* bytes to write: out[out_off..out_len) */
	size_t out_len, out_off, out_cap;
};

/* An epoll instance and a read buffer; aborts when epoll cannot be had. */
void vcb_loop_init(vcb_loop_t *l, const vcb_conn_ops_t *ops);
void vcb_loop_free(vcb_loop_t *l);
/* A cheap random 32-bit number (xorshift; masks, spreading). */
uint32_t vcb_loop_rand(vcb_loop_t *l);

/* Connect c (VCB_CONN_NEW or VCB_CONN_CLOSED) to `to`, from source address
 * `from` (NULL: the kernel's choice), with TCP_NODELAY, and queue the
 * upgrade for GET path. False when the socket could not even be started: c
 * is then closed (on_close told why). */
bool vcb_conn_start(vcb_loop_t *l, vcb_conn_t *c, const struct sockaddr_in *to,
                    const struct in_addr *from, const char *path);
/* What epoll reported for c (its data.ptr is c). */
void vcb_conn_event(vcb_loop_t *l, vcb_conn_t *c, uint32_t events);

/* Room for n more bytes at c->out + c->out_len; the caller writes there,
 * adds what it wrote to c->out_len and calls vcb_conn_flush. */
uint8_t *vcb_conn_reserve(vcb_conn_t *c, size_t n);
/* Write what is queued; waits for EPOLLOUT when the socket is full. */
void vcb_conn_flush(vcb_loop_t *l, vcb_conn_t *c);
/* Queue one masked frame carrying p[0..n) and flush. */
void vcb_conn_send(vcb_loop_t *l, vcb_conn_t *c, int opcode, const void *p, size_t n);
/* End c: on_close(why), then close its socket. Nothing if already closed. */
void vcb_conn_close(vcb_loop_t *l, vcb_conn_t *c, const char *why);
/* Close c's socket without telling anyone (the end of a run) and free its
 * buffers. */
void vcb_conn_drop(vcb_conn_t *c);

#endif
