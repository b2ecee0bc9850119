/*
 * nats.h — the bridge to NATS (optional).
 *
 * With no nats_url vcd runs single-node: publishing is a no-op that
 * succeeds, and subscriptions never fire. With one, vcd connects in the
 * background (startup neither waits for nor fails on NATS), reconnects
 * forever, and publishes without waiting on the network: while NATS is down
 * a publish fails at once, the failure is counted and logged once per
 * outage, and the caller carries on (state lives in PostgreSQL).
 *
 * The connection is made with "no echo": a node never receives what it
 * published itself. Subscription callbacks run on nats.c's threads; they
 * must only hand the data to actors (vc_actor_send) or thread-safe code.
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
 * malformed URL is an error (0, or -1 with err). */
int vc_nats_start(const char *url, char *err, size_t errlen) VC_MUSTCHECK;
/* Is url a usable nats_url ("" is)? 0, or -1 with the same message
 * vc_nats_start would give. For --check-config and reloads. */
int vc_nats_check_url(const char *url, char *err, size_t errlen) VC_MUSTCHECK;
/* Main thread, at exit: flush briefly, close, free. */
void vc_nats_stop(void);
bool vc_nats_enabled(void);
bool vc_nats_connected(void);
/* A random id of this process (hex), for logs and subjects that need one. */
const char *vc_nats_node_id(void);

/* Any thread. 0 on success (or when NATS is disabled), -1 when not sent. */
int vc_nats_publish(const char *subject, const void *data, size_t len);
/* Main thread, after vc_nats_start (re-subscribed after reconnects by
 * nats.c). With NATS disabled this registers nothing and returns 0. */
int vc_nats_subscribe(const char *subject, vc_nats_cb cb, void *arg) VC_MUSTCHECK;

/* Any thread, never waits: subscribe to subject until vc_nats_unsub. cb
 * runs on a nats.c thread and may only hand data to actors. After
 * vc_nats_unsub, closed(arg) runs once, on a thread that is not a worker,
 * when no cb can run any more. */
typedef struct vc_nats_sub vc_nats_sub_t;
vc_nats_sub_t *vc_nats_sub(const char *subject, vc_nats_cb cb, void *arg,
                           void (*closed)(void *arg));
void vc_nats_unsub(vc_nats_sub_t *s);
/* The server's max_payload, 0 while unknown. */
size_t vc_nats_max_payload(void);

typedef struct vc_nats_stats {
	uint64_t published, publish_failures, received, disconnects, reconnects;
	bool enabled, connected;
} vc_nats_stats_t;
void vc_nats_stats(vc_nats_stats_t *out);

#endif
