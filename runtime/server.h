/*
 * server.h — daemon-wide operations that the admin socket and the HTTP
 * handlers ask of the process. Declared here, implemented by the daemon
 * (programs/vcd.c), so that runtime/ names no protocol and no domain. All
 * are safe to call from any thread.
 */
#ifndef VC_SERVER_H
#define VC_SERVER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* {"pid","version","uptime_s","workers","connections","draining","database"} */
json_t *vc_server_status(void);
/* Counters: per worker and totals (the same numbers as /metrics). */
json_t *vc_server_stats(void);
/* Re-read the config file and environment; apply what can be applied.
 * Returns 0 and a report {"applied":[keys],"restart_needed":[keys]}, or -1
 * with err filled (the running configuration is then unchanged). */
int vc_server_reload(json_t **report, char *err, size_t errlen);
/* Begin a graceful drain (as SIGTERM does). */
void vc_server_drain(void);
bool vc_server_draining(void);
/* Seconds since start. */
double vc_server_uptime(void);

#endif
