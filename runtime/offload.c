/*
 * offload.c — the offload pool: a bounded FIFO behind one mutex and
 * condition variable, drained by a few threads. Contention is irrelevant
 * here: each job (an Argon2id hash) costs tens of milliseconds.
 */
#include "runtime/offload.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/log.h"

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	vc_offload_job_t *head, *tail;
	unsigned len;
	bool running;
	pthread_t *threads;
	unsigned nthreads;
	_Atomic uint64_t done, refused;
} pool = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

static vc_offload_job_t *take(void)
{
	vc_offload_job_t *job;

	pthread_mutex_lock(&pool.mu);
	while (pool.head == NULL && pool.running)
		pthread_cond_wait(&pool.cv, &pool.mu);
	job = pool.head;
	if (job != NULL && pool.running) {
		pool.head = job->_next;
		if (pool.head == NULL)
			pool.tail = NULL;
		pool.len--;
	} else {
		job = NULL;
	}
	pthread_mutex_unlock(&pool.mu);
	return job;
}

static void *offload_main(void *arg)
{
	sigset_t all;
	vc_offload_job_t *job;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	vc_log_set_thread("offload");
	while ((job = take()) != NULL) {
		vc_actor_t *to = job->_reply_to;
		job->fn(job);
		atomic_fetch_add_explicit(&pool.done, 1, memory_order_relaxed);
		vc_actor_send(to, &job->msg);
		vc_actor_unref(to);
	}
	return NULL;
}

int vc_offload_start(unsigned n)
{
	if (n == 0) {
		errno = EINVAL;
		return -1;
	}
	pool.running = true;
	pool.threads = vc_calloc(n, sizeof(pthread_t));
	for (unsigned i = 0; i < n; i++) {
		int err = pthread_create(&pool.threads[i], NULL, offload_main, NULL);
		if (err != 0)
			vc_fatal("cannot start offload thread %u: %s", i, strerror(err));
		pool.nthreads++;
	}
	return 0;
}

void vc_offload_stop(void)
{
	vc_offload_job_t *job;

	pthread_mutex_lock(&pool.mu);
	pool.running = false;
	job = pool.head;
	pool.head = pool.tail = NULL;
	pool.len = 0;
	pthread_cond_broadcast(&pool.cv);
	pthread_mutex_unlock(&pool.mu);
	while (job != NULL) { /* never run: their actors are gone or going */
		vc_offload_job_t *next = job->_next;
		vc_actor_unref(job->_reply_to);
		vc_msg_destroy(&job->msg);
		job = next;
	}
	for (unsigned i = 0; i < pool.nthreads; i++)
		pthread_join(pool.threads[i], NULL);
	free(pool.threads);
	pool.threads = NULL;
	pool.nthreads = 0;
}

int vc_offload_submit(vc_offload_job_t *job, vc_actor_t *reply_to)
{
	pthread_mutex_lock(&pool.mu);
	if (!pool.running || pool.len >= VC_OFFLOAD_QUEUE_MAX) {
		pthread_mutex_unlock(&pool.mu);
		atomic_fetch_add_explicit(&pool.refused, 1, memory_order_relaxed);
		return -1;
	}
	vc_actor_ref(reply_to);
	job->_reply_to = reply_to;
	job->_next = NULL;
	if (pool.tail != NULL)
		pool.tail->_next = job;
	else
		pool.head = job;
	pool.tail = job;
	pool.len++;
	pthread_cond_signal(&pool.cv);
	pthread_mutex_unlock(&pool.mu);
	return 0;
}

void vc_offload_stats(vc_offload_stats_t *out)
{
	pthread_mutex_lock(&pool.mu);
	out->queued = pool.len;
	pthread_mutex_unlock(&pool.mu);
	out->done = atomic_load_explicit(&pool.done, memory_order_relaxed);
	out->refused = atomic_load_explicit(&pool.refused, memory_order_relaxed);
}
