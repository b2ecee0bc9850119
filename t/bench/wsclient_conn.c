/*
 * wsclient_conn.c — a non-blocking WebSocket client connection on an epoll
 * loop: connect (from a chosen source address), the upgrade, whole frames
 * handed to the owner, pings answered, output queued and written when the
 * socket takes it. See wsclient.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "runtime/vc.h"
#include "t/bench/benchutil.h"
#include "t/bench/wsclient.h"

#define READ_CHUNK (256 * 1024)
#define UPGRADE_MAX 16384 /* bytes of the server's answer to the upgrade */

void vcb_loop_init(vcb_loop_t *l, const vcb_conn_ops_t *ops)
{
	memset(l, 0, sizeof(*l));
	l->ops = ops;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0)
		vc_fatal("epoll_create1: %s", strerror(errno));
	randombytes_buf(&l->rng, sizeof(l->rng));
	l->rng |= 1;
}

void vcb_loop_free(vcb_loop_t *l)
{
	if (l->epfd >= 0)
		close(l->epfd);
	l->epfd = -1;
	free(l->rbuf);
	l->rbuf = NULL;
	l->rcap = 0;
}

uint32_t vcb_loop_rand(vcb_loop_t *l)
{
	l->rng ^= l->rng << 13;
	l->rng ^= l->rng >> 7;
	l->rng ^= l->rng << 17;
	return (uint32_t)(l->rng >> 11);
}

/* --- output -------------------------------------------------------------------- */

static void want_out(vcb_loop_t *l, vcb_conn_t *c, bool on)
{
	struct epoll_event ev = { .events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = c };

	if (c->pollout != on) {
		c->pollout = on;
		epoll_ctl(l->epfd, EPOLL_CTL_MOD, c->fd, &ev);
	}
}

uint8_t *vcb_conn_reserve(vcb_conn_t *c, size_t n)
{
	if (c->out_len + n > c->out_cap) {
		c->out_cap = c->out_len + n > 2 * c->out_cap ? c->out_len + n : 2 * c->out_cap;
		c->out = vc_realloc(c->out, c->out_cap);
	}
	return c->out + c->out_len;
}

void vcb_conn_flush(vcb_loop_t *l, vcb_conn_t *c)
{
	if (c->state == VCB_CONN_CONNECTING || c->state == VCB_CONN_CLOSED)
		return;
	while (c->out_off < c->out_len) {
		ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
		if (w > 0) {
			c->out_off += (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			want_out(l, c, true);
			return;
		}
		vcb_conn_close(l, c, w < 0 ? strerror(errno) : "send wrote nothing");
		return;
	}
	c->out_off = c->out_len = 0;
	want_out(l, c, false);
}

void vcb_conn_send(vcb_loop_t *l, vcb_conn_t *c, int opcode, const void *p, size_t n)
{
	uint32_t mask = vcb_loop_rand(l);
	uint8_t *o;
	size_t h;

	if (c->state == VCB_CONN_CLOSED)
		return;
	o = vcb_conn_reserve(c, VCB_FRAME_MAX_HDR + n);
	h = vcb_frame_header(o, opcode, n, mask);
	memcpy(o + h, p, n);
	vcb_mask(o + h, n, mask);
	c->out_len += h + n;
	vcb_conn_flush(l, c);
}

void vcb_conn_close(vcb_loop_t *l, vcb_conn_t *c, const char *why)
{
	if (c->state == VCB_CONN_CLOSED)
		return;
	c->state = VCB_CONN_CLOSED;
	l->ops->on_close(l, c, why);
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->in_len = c->out_len = c->out_off = 0;
}

void vcb_conn_drop(vcb_conn_t *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->state = VCB_CONN_CLOSED;
	free(c->in);
	free(c->out);
	c->in = c->out = NULL;
	c->in_len = c->out_len = c->out_off = c->out_cap = 0;
}

/* --- connecting -------------------------------------------------------------------- */

bool vcb_conn_start(vcb_loop_t *l, vcb_conn_t *c, const struct sockaddr_in *to,
                    const struct in_addr *from, const char *path)
{
	struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = c };
	char host[INET_ADDRSTRLEN], why[160];
	int one = 1;
	size_t n;

	c->state = VCB_CONN_CONNECTING;
	c->fd = -1;
	c->pollout = true;
	c->in_len = c->out_len = c->out_off = 0;
	inet_ntop(AF_INET, &to->sin_addr, host, sizeof(host));
	vcb_ws_key(c->key);
	n = vcb_ws_request((char *)vcb_conn_reserve(c, 2048), 2048, host, ntohs(to->sin_port), path,
	                   c->key);
	if (n == 0)
		vc_fatal("the upgrade request for %.100s does not fit", path);
	c->out_len = n;
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		snprintf(why, sizeof(why), "socket: %s", strerror(errno));
		goto fail;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (from != NULL) {
		struct sockaddr_in src = { .sin_family = AF_INET, .sin_addr = *from };
		setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
		if (bind(c->fd, (struct sockaddr *)&src, sizeof(src)) != 0) {
			snprintf(why, sizeof(why), "bind to the source address: %s",
			         strerror(errno));
			goto fail;
		}
	}
	if (connect(c->fd, (const struct sockaddr *)to, sizeof(*to)) != 0 && errno != EINPROGRESS) {
		snprintf(why, sizeof(why), "connect: %s", strerror(errno));
		goto fail;
	}
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
		snprintf(why, sizeof(why), "epoll_ctl: %s", strerror(errno));
		goto fail;
	}
	return true;
fail:
	vcb_conn_close(l, c, why);
	return false;
}

/* Connected (or not): write the upgrade request queued by vcb_conn_start. */
static void on_connected(vcb_loop_t *l, vcb_conn_t *c)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
		char why[128];
		snprintf(why, sizeof(why), "connect: %s", strerror(err ? err : errno));
		vcb_conn_close(l, c, why);
		return;
	}
	c->state = VCB_CONN_UPGRADING;
	ev.data.ptr = c;
	epoll_ctl(l->epfd, EPOLL_CTL_MOD, c->fd, &ev);
	c->pollout = false;
	vcb_conn_flush(l, c);
}

/* --- input -------------------------------------------------------------------------- */

/* The frames in p[0..n); returns the bytes used (the rest is a frame not
 * all there yet), or -1 when c was closed. */
static long on_frames(vcb_loop_t *l, vcb_conn_t *c, const uint8_t *p, size_t n, uint64_t now)
{
	size_t off = 0;
	vcb_frame_t f;
	int r;

	while ((r = vcb_frame_parse(p + off, n - off, &f)) == 1) {
		off += f.size;
		if (!f.fin || f.opcode == VCB_OP_CONT) {
			l->bad_frames++; /* no server here fragments its messages */
			continue;
		}
		switch (f.opcode) {
		case VCB_OP_TEXT:
		case VCB_OP_BIN:
			l->ops->on_message(l, c, f.opcode, f.payload, (size_t)f.len, now);
			break;
		case VCB_OP_PING: vcb_conn_send(l, c, VCB_OP_PONG, f.payload, (size_t)f.len); break;
		case VCB_OP_CLOSE: {
			char why[160];
			unsigned code = f.len >= 2 ? (unsigned)f.payload[0] << 8 | f.payload[1] : 0;
			snprintf(why, sizeof(why), "the server closed with %u '%.*s'", code,
			         f.len > 2 ? (int)f.len - 2 : 0, (const char *)f.payload + 2);
			vcb_conn_close(l, c, why);
			return -1;
		}
		default: break; /* pongs */
		}
		if (c->state == VCB_CONN_CLOSED)
			return -1;
	}
	if (r < 0) {
		vcb_conn_close(l, c, "a malformed frame from the server");
		return -1;
	}
	return (long)off;
}

/* The 101 in rbuf[0..total): the header block's length, 0 when not all
 * there yet, -1 when c was closed. */
static long on_upgrade(vcb_loop_t *l, vcb_conn_t *c, size_t total, uint64_t now)
{
	char why[200];
	long h = vcb_ws_response((const char *)l->rbuf, total, c->key, why, sizeof(why));

	if (h < 0 || (h == 0 && total > UPGRADE_MAX)) {
		vcb_conn_close(l, c, h < 0 ? why : "the upgrade's answer is over 16 KiB");
		return -1;
	}
	if (h > 0) {
		c->state = VCB_CONN_OPEN;
		l->ops->on_open(l, c, now);
		if (c->state == VCB_CONN_CLOSED)
			return -1;
	}
	return h;
}

/* Readable: read (after what is left of the last read), handle the
 * upgrade's answer and whole frames, keep the rest. */
static void on_readable(vcb_loop_t *l, vcb_conn_t *c)
{
	for (;;) {
		size_t have = c->in_len, total, off = 0;
		uint64_t now;
		ssize_t r;
		long used;

		if (l->rcap < have + READ_CHUNK) {
			l->rcap = have + READ_CHUNK;
			l->rbuf = vc_realloc(l->rbuf, l->rcap);
		}
		if (have > 0)
			memcpy(l->rbuf, c->in, have);
		r = recv(c->fd, l->rbuf + have, l->rcap - have, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (r <= 0) {
			vcb_conn_close(l, c,
			               r == 0 ? "the server closed the connection"
			                      : strerror(errno));
			return;
		}
		now = vcb_now_ns();
		total = have + (size_t)r;
		if (c->state == VCB_CONN_UPGRADING) {
			long h = on_upgrade(l, c, total, now);
			if (h < 0)
				return;
			off = (size_t)h;
		}
		if (c->state == VCB_CONN_OPEN) {
			used = on_frames(l, c, l->rbuf + off, total - off, now);
			if (used < 0)
				return;
			off += (size_t)used;
		}
		c->in_len = total - off;
		if (c->in_len > 0) {
			c->in = vc_realloc(c->in, c->in_len);
			memcpy(c->in, l->rbuf + off, c->in_len);
		} else if (c->in != NULL) {
			free(c->in);
			c->in = NULL;
		}
		if ((size_t)r < l->rcap - have)
			return;
	}
}

void vcb_conn_event(vcb_loop_t *l, vcb_conn_t *c, uint32_t events)
{
	if (c->state == VCB_CONN_CLOSED)
		return;
	if (c->state == VCB_CONN_CONNECTING) {
		on_connected(l, c);
		return;
	}
	if ((events & EPOLLOUT) && c->out_len > 0)
		vcb_conn_flush(l, c);
	if (c->state != VCB_CONN_CLOSED && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		on_readable(l, c);
}
