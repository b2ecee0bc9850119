/*
 * signal.h — the signaling WebSocket /ws of Toju/MetoYou clients: identify,
 * servers, presence, relays, voice ownership, durable account_sync
 * (doc/signaling.md; for clients: vcd-protocol(7)).
 */
#ifndef VC_SIGNAL_H
#define VC_SIGNAL_H

#include <stdint.h>

#include "runtime/worker.h"
#include "wire/http.h"

/* Main thread, before the workers: statements, the revocation hook. */
void vc_signal_init(void);
void vc_signal_worker_start(vc_worker_t *w);
void vc_signal_worker_stop(vc_worker_t *w);

/* GET /ws */
void vc_signal_route(vc_http_req_t *req);

enum vc_signal_refusal {
	VC_SIG_REFUSED_AUTH,   /* auth_required, auth_error */
	VC_SIG_REFUSED_BAD,    /* bad_message, unknown_type */
	VC_SIG_REFUSED_RATE,   /* rate_limited */
	VC_SIG_REFUSED_SIZE,   /* too_big */
	VC_SIG_REFUSED_MEMBER, /* not_member, not_joined */
	VC_SIG_REFUSED_LIMIT,  /* too many connections of one user */
	VC_SIG_REFUSED_COUNT
};
extern const char *const vc_signal_refusal_names[VC_SIG_REFUSED_COUNT];

typedef struct vc_signal_stats {
	int64_t connections, identified, users, servers;
	uint64_t messages, relayed, account_syncs, takeovers;
	uint64_t refused[VC_SIG_REFUSED_COUNT];
} vc_signal_stats_t;
void vc_signal_stats(vc_signal_stats_t *out);

#endif
