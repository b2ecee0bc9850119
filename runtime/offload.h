/*
 * offload.h — a small pool of threads for CPU-heavy work (password hashing)
 * that must never run on a worker's event loop.
 *
 * A job is a message: the caller embeds vc_offload_job_t first in its own
 * struct (inputs and outputs), sets job->msg.type to the type its actor
 * expects, and submits it. An offload thread runs job->fn(job), then sends
 * the job to reply_to, whose handler reads the outputs. The queue is
 * bounded: a full queue refuses at once (answer 503), it never waits.
 */
#ifndef VC_OFFLOAD_H
#define VC_OFFLOAD_H

#include <stdint.h>

#include "runtime/actor.h"

#define VC_OFFLOAD_QUEUE_MAX 4096

typedef struct vc_offload_job {
	vc_msg_t msg;
	void (*fn)(struct vc_offload_job *job); /* runs on an offload thread */
	vc_actor_t *_reply_to;
	struct vc_offload_job *_next;
} vc_offload_job_t;

/* Main thread: start n threads (n >= 1). 0, or -1 with errno. */
int vc_offload_start(unsigned n) VC_MUSTCHECK;
/* Main thread, after the workers stopped: let running jobs end, destroy the
 * queued ones unrun, join the threads. */
void vc_offload_stop(void);

/* Any thread. Returns 0 (the job now belongs to the pool, then to
 * reply_to), or -1 when the pool is full or stopped (the caller keeps it). */
int vc_offload_submit(vc_offload_job_t *job, vc_actor_t *reply_to) VC_MUSTCHECK;

typedef struct vc_offload_stats {
	uint64_t queued; /* waiting now */
	uint64_t done;
	uint64_t refused;
} vc_offload_stats_t;
void vc_offload_stats(vc_offload_stats_t *out);

#endif
