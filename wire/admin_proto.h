/*
 * admin_proto.h — the admin socket protocol, shared by vcd and vcctl.
 *
 * One request per connection. The client sends one line, a JSON array of
 * strings (the words the operator typed: ["log-level","debug"]); the server
 * answers one line, {"ok":true,"result":<any JSON>} or
 * {"ok":false,"error":"<one line>"}, and closes. A request line is at most
 * VC_ADMIN_LINE_MAX bytes including its '\n'.
 *
 * The verb table (wire/admin_proto.c) is the single source of truth for the
 * verbs, their arguments and their help: vcd dispatches from it, vcctl
 * validates and prints help from it, and the documentation check compares it
 * with vcctl(8). A verb is one or more words ("status", "config show",
 * "meetings show ID"); lookup picks the longest verb that prefixes the words.
 *
 * No libev here: vcctl links this without the runtime.
 */
#ifndef VC_ADMIN_PROTO_H
#define VC_ADMIN_PROTO_H

#include <jansson.h>
#include <stddef.h>

#include "runtime/vc.h"

/*
 * The request line limit is large because `users import` carries a whole
 * file of accounts in one request (all of it is inserted or none); vcd only
 * grows a connection's buffer as bytes arrive, and only vcd's own uid or
 * root may connect. Documented in vcctl(8).
 */
#define VC_ADMIN_LINE_MAX (16 * 1024 * 1024)     /* request line, '\n' included */
#define VC_ADMIN_WORDS_MAX 256                   /* words in one request */
#define VC_ADMIN_RESPONSE_MAX (64 * 1024 * 1024) /* what vcctl accepts */
#define VC_ADMIN_ARGS_ANY (-1)                   /* max_args: no upper bound */
#define VC_ADMIN_LIST_MAX 1000                   /* rows in `users list`, `sessions list` */

/* Verb flags. */
#define VC_ADMIN_LOCAL 0x1u /* answered by vcctl itself, never sent (help) */

typedef struct vc_admin_verb {
	const char *words; /* "config show": words separated by one space */
	const char *args;  /* synopsis of the arguments, "" when none: "LEVEL" */
	int min_args;
	int max_args;     /* or VC_ADMIN_ARGS_ANY */
	unsigned flags;   /* VC_ADMIN_* */
	const char *help; /* one line, no trailing period */
} vc_admin_verb_t;

/* The verb table, in the order help lists it. */
const vc_admin_verb_t *vc_admin_verbs(size_t *n);

/*
 * A looked-up request: the verb and the words after the verb's own words
 * (argv points into the caller's word array; nothing is copied).
 */
typedef struct vc_admin_match {
	const vc_admin_verb_t *verb;
	int argc;
	char *const *argv;
} vc_admin_match_t;

/*
 * Find the verb for `words` in the built-in table: the longest verb whose
 * words prefix `words`, then check the argument count. Returns 0 and fills
 * m, or -1 with one line in err such as
 *   "unknown command 'frob' (see 'vcctl help')"
 *   "usage: vcctl log-level LEVEL"
 * After a failure m->verb is set (with argc/argv) only when the verb was
 * found and the argument count was wrong; otherwise it is NULL.
 */
int vc_admin_verb_find(char *const *words, size_t n, vc_admin_match_t *m, char *err,
                       size_t errlen) VC_MUSTCHECK;
/* The same over any table (tests, future per-module tables). */
int vc_admin_verb_match(const vc_admin_verb_t *tab, size_t ntab, char *const *words, size_t n,
                        vc_admin_match_t *m, char *err, size_t errlen) VC_MUSTCHECK;
/* "usage: vcctl log-level LEVEL" into buf. */
void vc_admin_verb_usage(const vc_admin_verb_t *v, char *buf, size_t len);

/*
 * Requests. encode returns a malloc'd line ending in '\n' (*len is its
 * strlen, the '\n' included), or NULL with err filled when a word is
 * not valid UTF-8 or the line would exceed VC_ADMIN_LINE_MAX.
 *
 * parse accepts the line with or without its trailing "\n" (or "\r\n").
 * On success returns 0 and a malloc'd NULL-terminated word array in *words
 * (free with vc_admin_words_free) and its length in *n; on garbage returns
 * -1 with err saying what was wrong and what was expected.
 */
char *vc_admin_request_encode(char *const *words, size_t n, size_t *len, char *err, size_t errlen);
int vc_admin_request_parse(const char *line, size_t len, char ***words, size_t *n, char *err,
                           size_t errlen) VC_MUSTCHECK;
void vc_admin_words_free(char **words);

/*
 * Responses. Both encoders return a malloc'd line ending in '\n' and set
 * *len. response_ok steals `result` (NULL means JSON null). response_error
 * turns control characters in msg into spaces so the answer stays one line.
 *
 * response_parse: 1 when the server said ok (*result set, caller owns it),
 * 0 when it answered an error (*error set, malloc'd), -1 when the line is
 * not a valid response (err filled).
 */
char *vc_admin_response_ok(json_t *result, size_t *len);
char *vc_admin_response_error(const char *msg, size_t *len);
int vc_admin_response_parse(const char *line, size_t len, json_t **result, char **error, char *err,
                            size_t errlen) VC_MUSTCHECK;

#endif
