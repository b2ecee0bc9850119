/*
 * vc.h — the few things every vcd file needs: allocation with the OOM policy,
 * compiler attributes, monotonic time.
 *
 * OOM policy (decided once): small internal allocations abort the process with
 * a message (vc_malloc & co.); allocations whose size a client controls are
 * bounded by configuration before they are made and fail with an error reply.
 */
#ifndef VC_VC_H
#define VC_VC_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdatomic.h>

#define VC_MUSTCHECK __attribute__((warn_unused_result))
#define VC_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define VC_UNUSED __attribute__((unused))
#define vc_likely(x) __builtin_expect(!!(x), 1)
#define vc_unlikely(x) __builtin_expect(!!(x), 0)
#define VC_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define vc_container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

/* Add to a counter that only one thread writes and others read (stats):
 * a plain load and store, no locked read-modify-write on the hot path. */
#define VC_STAT_ADD(x, n)                                                                          \
	atomic_store_explicit(&(x), atomic_load_explicit(&(x), memory_order_relaxed) + (n),        \
	                      memory_order_relaxed)

void *vc_malloc(size_t n);
void *vc_calloc(size_t nmemb, size_t n);
void *vc_realloc(void *p, size_t n);
char *vc_strdup(const char *s);
char *vc_strndup(const char *s, size_t n);
/* Characters of a valid UTF-8 string, as PostgreSQL's varchar(n) counts. */
size_t vc_utf8_chars(const char *s);
/* The longest prefix of valid UTF-8 s of at most max bytes that does not
 * cut a character: its length in bytes. */
size_t vc_utf8_prefix(const char *s, size_t max);
/* Make s[0..n) valid UTF-8 without control characters, in place: every
 * byte of an invalid or cut sequence, and every byte below 0x20 or 0x7f,
 * becomes '?'. For text from clients that goes to the database or a log. */
void vc_utf8_scrub(char *s, size_t n);
/* Print "vcd: fatal: ..." to stderr and abort. For impossible states only. */
void vc_fatal(const char *fmt, ...) VC_PRINTF(1, 2) __attribute__((noreturn));

/* Copy the first line of msg (NULL or empty: "unknown error") into buf,
 * truncated to len - 1 bytes; returns buf. For one-line error messages. */
const char *vc_first_line(const char *msg, char *buf, size_t len);

/* A duration as vcd.conf(5) writes them — seconds ("30", "1.5") or a
 * number with an ms, s, m, h or d suffix ("500ms", "15m", "7d"), no sign —
 * in seconds, or -1 when it is not one. */
double vc_parse_seconds(const char *text);

/* Monotonic clock in milliseconds / microseconds, wall clock in milliseconds. */
uint64_t vc_now_ms(void);
uint64_t vc_now_us(void);
uint64_t vc_wall_ms(void);

#endif
