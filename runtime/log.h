/*
 * log.h — leveled logging that never blocks a worker.
 *
 * A log call formats into a line on the caller's stack and hands it to a
 * bounded queue drained by one writer thread; when the queue is full the line
 * is dropped and counted (vc_log_dropped()). The level is a global that can be
 * changed at run time (vcctl log-level). The macros skip argument evaluation
 * when the level is off.
 *
 * Every line carries a context prefix: the thread's own ("main", "w0") and,
 * while a connection or actor is being served, its name ("w0 c17 127.0.0.1:5100").
 */
#ifndef VC_LOG_H
#define VC_LOG_H

#include <stdatomic.h>
#include <stdint.h>

#include "runtime/vc.h"

enum vc_log_level {
	VC_LOG_ERROR = 0,
	VC_LOG_WARN = 1,
	VC_LOG_INFO = 2,
	VC_LOG_DEBUG = 3,
};

extern _Atomic int vc_log_level_now;

/* Start/stop the writer thread. Before start, lines are written directly. */
void vc_log_start(void);
void vc_log_stop(void);

/* Level names: "error", "warn", "info", "debug". -1 when unknown. */
int vc_log_level_parse(const char *name);
const char *vc_log_level_name(int level);
void vc_log_set_level(int level);

/* The thread's base prefix (e.g. "w0") and the current object's prefix. */
void vc_log_set_thread(const char *name);
void vc_log_set_context(const char *ctx); /* NULL clears; string must outlive its use */

uint64_t vc_log_dropped(void);

void vc_log_write(int level, const char *fmt, ...) VC_PRINTF(2, 3);

#define vc_log_at(level, ...)                                                                      \
	do {                                                                                       \
		if (vc_unlikely((level) <=                                                         \
		                atomic_load_explicit(&vc_log_level_now, memory_order_relaxed)))    \
			vc_log_write((level), __VA_ARGS__);                                        \
	} while (0)

#define log_error(...) vc_log_at(VC_LOG_ERROR, __VA_ARGS__)
#define log_warn(...) vc_log_at(VC_LOG_WARN, __VA_ARGS__)
#define log_info(...) vc_log_at(VC_LOG_INFO, __VA_ARGS__)
#define log_debug(...) vc_log_at(VC_LOG_DEBUG, __VA_ARGS__)

#endif
