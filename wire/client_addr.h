/*
 * client_addr.h — who the client is when vcd sits behind reverse proxies.
 *
 * The client address is the TCP peer's, unless the peer is a trusted proxy:
 * then X-Forwarded-For is read from the right, skipping trusted proxies, and
 * the first untrusted address is the client. An unparseable entry stops the
 * walk (the last trusted hop's view is used). Without trusted proxies the
 * header is ignored entirely — a client cannot choose its own address.
 */
#ifndef VC_CLIENT_ADDR_H
#define VC_CLIENT_ADDR_H

#include <stddef.h>

#include "runtime/vc.h"

typedef struct vc_netlist vc_netlist_t;

/* Parse a comma-separated list of IPv4/IPv6 addresses and CIDR blocks
 * ("127.0.0.1, 10.0.0.0/8, ::1, fd00::/8"); "" gives an empty list. NULL
 * with err on a bad entry (naming it). */
vc_netlist_t *vc_netlist_parse(const char *list, char *err, size_t errlen);
void vc_netlist_free(vc_netlist_t *l);
/* Is the textual address ip in the list? */
bool vc_netlist_contains(const vc_netlist_t *l, const char *ip);

/* The client's address as text into buf (INET6_ADDRSTRLEN is enough).
 * peer is "ip:port" or "[ip6]:port" as vc_http_peer() gives it; xff is the
 * X-Forwarded-For header or NULL; trusted may be NULL (none). */
const char *vc_client_addr(const vc_netlist_t *trusted, const char *peer, const char *xff,
                           char *buf, size_t len);

#endif
