/*
 * admin_meetings.h — the admin verbs for meetings (meetings list, show, end,
 * delete; participants kick). What changes a meeting goes through the
 * meeting actors (actors/meetings.h) with the operator's rights, exactly as
 * the REST API does, so the same checks, statements and NATS events apply.
 * The verbs and their help are in wire/admin_proto.c, the handler rows in
 * actors/admin_cmds.c; what each answers is in vcctl(8).
 */
#ifndef VC_ADMIN_MEETINGS_H
#define VC_ADMIN_MEETINGS_H

#include "wire/admin.h"

/* Main thread, before the workers start: register the statements. */
void vc_admin_meetings_init(void);

/* Handlers (vc_admin_fn). They run on the worker that serves the admin
 * socket and answer once the meeting actor or the database has. */
void vc_admin_meetings_list(vc_admin_req_t *req, int argc, char **argv);
void vc_admin_meetings_show(vc_admin_req_t *req, int argc, char **argv);
void vc_admin_meetings_end(vc_admin_req_t *req, int argc, char **argv);
void vc_admin_meetings_delete(vc_admin_req_t *req, int argc, char **argv);
void vc_admin_participants_kick(vc_admin_req_t *req, int argc, char **argv);

#endif
