/*
 * admin_cmds.h — the handlers of vcd's own admin verbs (status, version,
 * stats, config show/reload, log-level, drain) and the table naming every
 * handler, also those of other files (accounts and sessions:
 * actors/admin_users.c). The verbs, their arguments and help are in
 * wire/admin_proto.c; this is only what each one does.
 */
#ifndef VC_ADMIN_CMDS_H
#define VC_ADMIN_CMDS_H

#include <stddef.h>

#include "wire/admin.h"

/* Main thread, before workers start: set up the handlers' modules
 * (vc_admin_users_init) and vc_admin_register() the table below. */
void vc_admin_cmds_register(void);
/* The handler table (for the consistency check in t/unit). */
const vc_admin_cmd_t *vc_admin_cmds(size_t *n);

#endif
