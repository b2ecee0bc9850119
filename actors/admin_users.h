/*
 * admin_users.h — the admin verbs for accounts and sessions (users list,
 * show, disable, enable, import; sessions list, revoke, revoke-all). The
 * verbs and their help are in wire/admin_proto.c, the handler rows in
 * actors/admin_cmds.c; what each answers is in vcctl(8).
 */
#ifndef VC_ADMIN_USERS_H
#define VC_ADMIN_USERS_H

#include "wire/admin.h"

/* Main thread, before the workers start: register the statements. */
void vc_admin_users_init(void);

/* Handlers (vc_admin_fn). They run on the worker that serves the admin
 * socket and answer once the database has. */
void vc_admin_users_list(vc_admin_req_t *req, int argc, char **argv);
void vc_admin_users_show(vc_admin_req_t *req, int argc, char **argv);
void vc_admin_users_disable(vc_admin_req_t *req, int argc, char **argv);
void vc_admin_users_enable(vc_admin_req_t *req, int argc, char **argv);
void vc_admin_users_import(vc_admin_req_t *req, int argc, char **argv);
void vc_admin_sessions_list(vc_admin_req_t *req, int argc, char **argv);
void vc_admin_sessions_revoke(vc_admin_req_t *req, int argc, char **argv);
void vc_admin_sessions_revoke_all(vc_admin_req_t *req, int argc, char **argv);

#endif
