/*
 * embed.h — call-scoped embed credentials (doc/external.md "Embed
 * credentials", vcd-api(7) "EMBED CREDENTIALS").
 *
 * A /lobby session opened with ?embed_key=KEY by a room token that carries
 * an `embed_provider` claim keeps SHA-256(KEY) and an authToken minted for
 * it, in its participant's memory only (zeroed when freed), wiped when the
 * session goes (socket close, kick, reject, end, delete, drain) or when its
 * user leaves the meeting through the meeting API. Nothing else holds
 * them: a request on another node asks the holding node over NATS
 * (vcd.embed.*), with a bounded wait, and is never cached.
 *
 * Threads: the routes and vc_embed_verify run on the request's worker; the
 * lookups on the room's worker (the lobby registry); the cross-node
 * requests on one actor of worker 0 (the asker).
 */
#ifndef VC_EMBED_H
#define VC_EMBED_H

#include <stdbool.h>
#include <stddef.h>

#include "runtime/worker.h"
#include "wire/http.h"

/* The authToken's prefix: "vce1.<node>.<room>.<43 characters of base64url>". */
#define VC_EMBED_TOKEN_PREFIX "vce1."

/* GET /api/v1/meetings/{meeting_id}/embed-credentials: the credentials of
 * the caller's live session, or the same `200 null` in every other case. */
void vc_embed_route(vc_http_req_t *req);

/* Does the credential look like an authToken (the prefix)? */
bool vc_embed_is_token(const char *credential);
/* The room an authToken names, copied into room (NUL-terminated); false
 * when the token is malformed. */
bool vc_embed_token_room(const char *token, char *room, size_t n);
/* Ask the node that holds token whether it is live, then run cont with the
 * answer (vc_http_await). False, with nothing asked, when the token is
 * malformed. */
bool vc_embed_verify(vc_http_req_t *req, const char *token, vc_http_cont_fn cont);
/* The answer handed to cont: true and the session's user id and display
 * name (pointing into reply) when the token is live. */
bool vc_embed_answer(const vc_msg_t *reply, const char **user_id, const char **display_name);

/* Counters for /metrics: sessions holding credentials on this node now,
 * fetches answered with credentials or null, authToken uses accepted or
 * refused (counted by vc_embed_count_use). */
typedef struct vc_embed_stats {
	int64_t sessions;
	uint64_t fetch_given, fetch_null, uses_accepted, uses_refused;
} vc_embed_stats_t;
void vc_embed_stats(vc_embed_stats_t *out);
void vc_embed_count_use(bool accepted);

/* Main thread, after vc_nats_start: the node's vcd.embed.* subscriptions. */
int vc_embed_init(void) VC_MUSTCHECK;
/* On each worker as it starts and stops (worker 0 holds the asker). */
void vc_embed_worker_start(vc_worker_t *w);
void vc_embed_worker_stop(vc_worker_t *w);

#endif
