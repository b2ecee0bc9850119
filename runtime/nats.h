/*
 * nats.h — the bridge to NATS (optional).
 *
 * With no nats_url vcd runs single-node: publishing is a no-op that
 * succeeds, and subscriptions never fire. With one, vcd connects in the
 * background (startup neither waits for nor fails on NATS) and reconnects
 * forever. No call here waits on the network: publishes, subscribes and
 * unsubscribes are handed, in order, to one thread of the bridge
 * ("nats-pub") that makes the libnats calls. While NATS is down a publish
 * fails at once, the failure is counted and logged once per outage, and the
 * caller carries on (state lives in PostgreSQL).
 *
 * The connection is made with "no echo": a node never receives what it
 * published itself. Subscription callbacks run on nats.c's delivery thread;
 * they must only hand the data to actors (vc_actor_send) or thread-safe
 * code (DESIGN.md §3).
 */
#ifndef VC_NATS_H
#define VC_NATS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/vc.h"

typedef void (*vc_nats_cb)(const char *subject, const void *data, size_t len, void *arg);

/* Main thread, before the workers: url NULL or "" disables NATS. Only a
 * malformed URL is an error (0, or -1 with err). publish_queue bounds the
 * bytes of publishes waiting for nats-pub (config nats_publish_queue; 0:
 * the default, 16 MiB). */
int vc_nats_start(const char *url, size_t publish_queue, char *err, size_t errlen) VC_MUSTCHECK;
/* Is url a usable nats_url ("" is)? 0, or -1 with the same message
 * vc_nats_start would give. For --check-config and reloads. */
int vc_nats_check_url(const char *url, char *err, size_t errlen) VC_MUSTCHECK;
/* Main thread, at exit, after every caller of vc_nats_publish and
 * vc_nats_sub has stopped: hand what is queued to NATS, flush briefly,
 * close, free. Afterwards the bridge behaves as disabled. */
void vc_nats_stop(void);
bool vc_nats_enabled(void);
bool vc_nats_connected(void);
/* A random id of this process (hex), for logs and subjects that need one. */
const char *vc_nats_node_id(void);

/*
 * Any thread, never waits: copy subject and payload and queue them for
 * nats-pub. 0 when queued (or when NATS is disabled or stopped); -1, at
 * once and counted, when not: not connected (publish_failures), len over
 * the server's max_payload (publish_too_big), or the queue holds
 * nats_publish_queue bytes already (publish_dropped). A queued message can
 * still fail later (counted in publish_failures).
 */
int vc_nats_publish(const char *subject, const void *data, size_t len);
/* Main thread, after vc_nats_start: subscribe for the life of the process
 * (vc_nats_sub without an end; re-subscribed after reconnects by nats.c).
 * -1 for a malformed subject; with NATS disabled this registers nothing
 * and returns 0. */
int vc_nats_subscribe(const char *subject, vc_nats_cb cb, void *arg) VC_MUSTCHECK;

/*
 * Any thread, never waits: subscribe to subject until vc_nats_unsub. The
 * subscription is made by nats-pub in order with publishes (one asked for
 * before a publish reaches the server before it); made before the first
 * connect or during an outage, it starts when the connection is up. cb runs
 * on nats.c's delivery thread and may only hand data to actors.
 *
 * vc_nats_unsub (any thread, never waits, once per handle): no cb starts
 * after it returns (one already running may finish); then closed(arg) runs
 * exactly once, on a thread that is not a worker, when no cb can run any
 * more, and the handle is freed. With NATS disabled or stopped, the handle
 * never fires and closed(arg) runs inside vc_nats_unsub. A malformed
 * subject is logged and gives a handle that never fires. closed may be
 * NULL.
 */
typedef struct vc_nats_sub vc_nats_sub_t;
vc_nats_sub_t *vc_nats_sub(const char *subject, vc_nats_cb cb, void *arg,
                           void (*closed)(void *arg));
/*
 * vc_nats_sub, and ready(arg) runs exactly once, before closed(arg), when
 * messages published to subject from now on reach cb: after a round trip
 * to the server that followed the subscribe (a flush, shared by the
 * subscriptions made together). It also runs when that cannot be had soon
 * (NATS disabled, stopped or down, the subject malformed, the flush timed
 * out after 1 s): what waits for it must not wait for NATS. ready runs on
 * nats-pub or inside this call, never on a worker's loop unless called
 * from one, and may only hand data to actors.
 */
vc_nats_sub_t *vc_nats_sub_ready(const char *subject, vc_nats_cb cb, void *arg,
                                 void (*closed)(void *arg), void (*ready)(void *arg));
void vc_nats_unsub(vc_nats_sub_t *s);
/* Wait, at most ms, until closed() has run for every vc_nats_unsub so far;
 * false on timeout. For a worker's stop hook: what closed() sends to the
 * worker then arrives while the worker still runs what it is sent. */
bool vc_nats_wait_closed(unsigned ms);
/* The server's max_payload, 0 while unknown (never connected yet). Any
 * thread, never waits. */
size_t vc_nats_max_payload(void);

typedef struct vc_nats_stats {
	uint64_t published;        /* handed to nats.c */
	uint64_t publish_failures; /* not connected, or refused by nats.c */
	uint64_t publish_dropped;  /* the queue was full */
	uint64_t publish_too_big;  /* over the server's max_payload */
	uint64_t received, disconnects, reconnects;
	uint64_t subscriptions; /* live at nats.c now (a gauge) */
	size_t max_payload;     /* 0 while unknown */
	bool enabled, connected;
} vc_nats_stats_t;
void vc_nats_stats(vc_nats_stats_t *out);

#endif
