/*
 * urlenc.h — percent-decoding of request paths and query strings.
 */
#ifndef VC_URLENC_H
#define VC_URLENC_H

#include <stdbool.h>
#include <stddef.h>

/* Percent-decode n bytes of s into a new NUL-terminated string (malformed
 * escapes stay as they are; '+' is a space only when plus_is_space, as in
 * query strings). *len, when not NULL, gets the decoded length, which
 * excludes the NUL added (a decoded %00 may make it differ from strlen). */
char *vc_pct_decode(const char *s, size_t n, bool plus_is_space, size_t *len);

/* The decoded value of the first `name=` parameter of a query string
 * (name compared after decoding), or NULL when there is none. "name"
 * without '=' has the value "". */
char *vc_query_value(const char *query, const char *name, size_t *len);

#endif
