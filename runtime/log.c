/*
 * log.c — a bounded line queue and one writer thread.
 *
 * Producers hold the mutex only to copy one line into a slot; the writer
 * thread does the write(2). A full queue drops the line rather than wait.
 */
#include "runtime/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 1024
#define LOG_SLOTS 1024

_Atomic int vc_log_level_now = VC_LOG_INFO;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	bool running;
	bool stopping;
	unsigned head, count;
	_Atomic uint64_t dropped;
	char slots[LOG_SLOTS][LOG_LINE_MAX];
	unsigned lens[LOG_SLOTS];
} q = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

static _Thread_local char thread_name[32] = "main";
static _Thread_local const char *thread_ctx;

int vc_log_level_parse(const char *name)
{
	for (size_t i = 0; i < VC_ARRAY_LEN(level_names); i++)
		if (strcasecmp(name, level_names[i]) == 0)
			return (int)i;
	if (strcasecmp(name, "warning") == 0)
		return VC_LOG_WARN;
	return -1;
}

const char *vc_log_level_name(int level)
{
	if (level < 0 || level >= (int)VC_ARRAY_LEN(level_names))
		return "unknown";
	return level_names[level];
}

void vc_log_set_level(int level)
{
	atomic_store(&vc_log_level_now, level);
}

void vc_log_set_thread(const char *name)
{
	snprintf(thread_name, sizeof(thread_name), "%s", name);
}

void vc_log_set_context(const char *ctx)
{
	thread_ctx = ctx;
}

uint64_t vc_log_dropped(void)
{
	return atomic_load(&q.dropped);
}

static void write_all(const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(STDERR_FILENO, buf, len);
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

static void *writer_main(void *arg)
{
	static char local[LOG_LINE_MAX];
	(void)arg;
	pthread_mutex_lock(&q.mu);
	for (;;) {
		while (q.count == 0 && !q.stopping)
			pthread_cond_wait(&q.cv, &q.mu);
		if (q.count == 0 && q.stopping)
			break;
		unsigned len = q.lens[q.head];
		memcpy(local, q.slots[q.head], len);
		q.head = (q.head + 1) % LOG_SLOTS;
		q.count--;
		pthread_mutex_unlock(&q.mu);
		write_all(local, len);
		pthread_mutex_lock(&q.mu);
	}
	pthread_mutex_unlock(&q.mu);
	return NULL;
}

void vc_log_start(void)
{
	pthread_mutex_lock(&q.mu);
	if (q.running) {
		pthread_mutex_unlock(&q.mu);
		return;
	}
	q.stopping = false;
	if (pthread_create(&q.thread, NULL, writer_main, NULL) != 0)
		vc_fatal("cannot start the log writer thread");
	q.running = true;
	pthread_mutex_unlock(&q.mu);
}

void vc_log_stop(void)
{
	pthread_mutex_lock(&q.mu);
	if (!q.running) {
		pthread_mutex_unlock(&q.mu);
		return;
	}
	q.stopping = true;
	pthread_cond_signal(&q.cv);
	pthread_mutex_unlock(&q.mu);
	pthread_join(q.thread, NULL);
	pthread_mutex_lock(&q.mu);
	q.running = false;
	pthread_mutex_unlock(&q.mu);
}

void vc_log_write(int level, const char *fmt, ...)
{
	char line[LOG_LINE_MAX];
	struct timespec ts;
	struct tm tm;
	size_t n;
	va_list ap;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	n += (size_t)snprintf(line + n, sizeof(line) - n,
	                      ".%03ldZ %s %s%s%s: ", ts.tv_nsec / 1000000, vc_log_level_name(level),
	                      thread_name, thread_ctx ? " " : "", thread_ctx ? thread_ctx : "");
	if (n < sizeof(line)) {
		size_t at = n;
		va_start(ap, fmt);
		int m = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
		va_end(ap);
		if (m > 0)
			n += (size_t)m;
		if (n > sizeof(line) - 2)
			n = sizeof(line) - 2;
		while (n > at && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			n--; /* libpq's messages end with one */
		/* One line of valid UTF-8, whatever a client sent: a name with a
		 * new line cannot forge a second log line. */
		vc_utf8_scrub(line + at, n - at);
	}
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';

	pthread_mutex_lock(&q.mu);
	if (!q.running) {
		pthread_mutex_unlock(&q.mu);
		write_all(line, n);
		return;
	}
	if (q.count == LOG_SLOTS) {
		pthread_mutex_unlock(&q.mu);
		atomic_fetch_add(&q.dropped, 1);
		return;
	}
	unsigned slot = (q.head + q.count) % LOG_SLOTS;
	memcpy(q.slots[slot], line, n);
	q.lens[slot] = (unsigned)n;
	q.count++;
	pthread_cond_signal(&q.cv);
	pthread_mutex_unlock(&q.mu);
}
