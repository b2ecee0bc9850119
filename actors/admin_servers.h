/*
 * admin_servers.h — the admin verbs for servers, the Toju/MetoYou
 * communities (servers list, show, delete). The verbs and their help are in
 * wire/admin_proto.c, the handler rows in actors/admin_cmds.c; what each
 * answers is in vcctl(8).
 */
#ifndef VC_ADMIN_SERVERS_H
#define VC_ADMIN_SERVERS_H

#include "wire/admin.h"

/* Main thread, before the workers start: register the statements. */
void vc_admin_servers_init(void);

/* Handlers (vc_admin_fn). They run on the worker that serves the admin
 * socket and answer once the database has. */
void vc_admin_servers_list(vc_admin_req_t *req, int argc, char **argv);
void vc_admin_servers_show(vc_admin_req_t *req, int argc, char **argv);
void vc_admin_servers_delete(vc_admin_req_t *req, int argc, char **argv);

#endif
