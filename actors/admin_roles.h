/*
 * admin_roles.h — the admin verbs for the roles of a meeting (meetings
 * roles, roles set, roles remove). The verbs and their help are in
 * wire/admin_proto.c, the handler rows in actors/admin_cmds.c; what each
 * answers is in vcctl(8).
 */
#ifndef VC_ADMIN_ROLES_H
#define VC_ADMIN_ROLES_H

#include "wire/admin.h"

/* Main thread, before the workers start: register the statements. */
void vc_admin_roles_init(void);

/* Handlers (vc_admin_fn), on the worker that serves the admin socket. */
void vc_admin_meetings_roles(vc_admin_req_t *req, int argc, char **argv);
void vc_admin_meetings_roles_set(vc_admin_req_t *req, int argc, char **argv);
void vc_admin_meetings_roles_remove(vc_admin_req_t *req, int argc, char **argv);

#endif
