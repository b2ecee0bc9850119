/*
 * nats_int.h — what runtime/nats.c and runtime/nats_url.c share: the
 * syntax of nats_url and of subjects. Not for other modules.
 */
#ifndef VC_NATS_INT_H
#define VC_NATS_INT_H

#include <stdbool.h>
#include <stddef.h>

/* url is a comma-separated list of servers, each [nats://|tls://]
 * [userinfo@]host:port, all nats:// (or no scheme) or all tls://. 0 with
 * *tls set, or -1 with err (which shows the url as `shown`). */
int vc_nats_url_check(const char *url, const char *shown, bool *tls, char *err, size_t errlen);
/* url with each server's user information (user:password@ or token@)
 * shown as user:***@ or ***@, for logs and errors (malloc'd). */
char *vc_nats_url_redact(const char *url);
/* Tokens separated by single dots, no white space or control characters. */
bool vc_nats_subject_ok(const char *subject);

#endif
