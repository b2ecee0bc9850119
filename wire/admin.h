/*
 * admin.h — the admin socket: a Unix stream socket (mode 0600) whose peer
 * must run as vcd's own uid or as root (SO_PEERCRED). vcctl sends one request
 * line, a JSON array of words (["config","show"]), and reads one response
 * line, {"ok":true,"result":…} or {"ok":false,"error":"…"}. The verbs and
 * their help live in wire/admin_proto.c; handlers register here.
 */
#ifndef VC_ADMIN_H
#define VC_ADMIN_H

#include <jansson.h>

#include "runtime/worker.h"

typedef struct vc_admin_req vc_admin_req_t;
/* argv holds the words after the verb's own words. */
typedef void (*vc_admin_fn)(vc_admin_req_t *req, int argc, char **argv);

typedef struct vc_admin_cmd {
	const char *verb; /* as in wire/admin_proto.c, e.g. "config show" */
	vc_admin_fn fn;
} vc_admin_cmd_t;

/* Main thread, before workers start: register handlers (the table must
 * outlive the server). */
void vc_admin_register(const vc_admin_cmd_t *cmds, size_t n);
/* Main thread: create, bind and chmod the socket. 0, or -1 with err. */
int vc_admin_listen(const char *path, char *err, size_t errlen) VC_MUSTCHECK;
/* On worker w's thread: accept admin connections on w's loop. */
void vc_admin_attach(vc_worker_t *w);
/* Main thread at exit: close and unlink the socket. */
void vc_admin_close(void);

/* Answer a request, from any thread, exactly once. reply steals `result`. */
void vc_admin_reply(vc_admin_req_t *req, json_t *result);
void vc_admin_fail(vc_admin_req_t *req, const char *fmt, ...) VC_PRINTF(2, 3);

#endif
