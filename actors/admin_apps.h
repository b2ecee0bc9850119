/*
 * admin_apps.h — the admin verbs for applications of the external API
 * (apps create, list, show, disable, enable, rotate-secret, delete, scopes
 * set, domains add and remove). The verbs and their help are in wire/admin_proto.c, the
 * handler rows in actors/admin_cmds.c; what each answers is in vcctl(8).
 */
#ifndef VC_ADMIN_APPS_H
#define VC_ADMIN_APPS_H

#include <stdbool.h>

#include "wire/admin.h"

#define VC_APP_CLIENT_ID_LEN 40
#define VC_APP_SECRET_LEN 128

/* Main thread, before the workers start: register the statements. */
void vc_admin_apps_init(void);

/* Is s a client id (40 ASCII letters and digits)? */
bool vc_app_client_id_ok(const char *s);

/* Handlers (vc_admin_fn), on the worker that serves the admin socket. */
void vc_admin_apps_create(vc_admin_req_t *req, int argc, char **argv);
void vc_admin_apps_list(vc_admin_req_t *req, int argc, char **argv);
void vc_admin_apps_show(vc_admin_req_t *req, int argc, char **argv);
void vc_admin_apps_disable(vc_admin_req_t *req, int argc, char **argv);
void vc_admin_apps_enable(vc_admin_req_t *req, int argc, char **argv);
void vc_admin_apps_rotate_secret(vc_admin_req_t *req, int argc, char **argv);
void vc_admin_apps_delete(vc_admin_req_t *req, int argc, char **argv);
void vc_admin_apps_scopes_set(vc_admin_req_t *req, int argc, char **argv);
void vc_admin_apps_domains_add(vc_admin_req_t *req, int argc, char **argv);
void vc_admin_apps_domains_remove(vc_admin_req_t *req, int argc, char **argv);

#endif
