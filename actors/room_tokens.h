/*
 * room_tokens.h — room ids and the tokens a media server admits
 * (videocall-rs-contract.md §5.2–§5.4).
 *
 * A room access token lets its holder into one room's media; an observer
 * token lets a waiting participant listen for the room's system events.
 * Both are HS256 JWTs signed with jwt_secret, issuer
 * videocall-meeting-backend, no aud; neither is ever issued for the
 * reserved system user id.
 */
#ifndef VC_ROOM_TOKENS_H
#define VC_ROOM_TOKENS_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#define VC_ROOM_ID_MAX 255
#define VC_OBSERVER_TOKEN_TTL 1800 /* seconds, as videocall.rs (not configurable) */

/* NULL when id is a valid room id, else the detail of INVALID_MEETING_ID:
 * "cannot be empty", "cannot exceed 255 characters" or
 * "must match pattern: ^[a-zA-Z0-9_-]+$" (what the media server accepts). */
const char *vc_room_id_problem(const char *id);

/* A room access token (malloc'd), or NULL for the system user id or an
 * empty secret. Claims: sub, room, room_join=true, is_host, display_name
 * (user_id when NULL), observer=false, exp = now + ttl, iss. */
char *vc_room_token(const char *secret, const char *user_id, const char *room, bool is_host,
                    const char *display_name, int64_t now, int64_t ttl);

/* The grants of a room access token (doc/external.md, "Grants in the room
 * token"), computed at join from the caller's role on the meeting and the
 * meeting's configuration and embed provider. */
typedef struct vc_room_grants {
	const char *role;           /* "owner", "administrator", "member", or NULL: none */
	const json_t *sources;      /* configuration.can_publish_sources, or NULL: not set */
	const char *embed_provider; /* the meeting's provider, or NULL: none enabled */
} vc_room_grants_t;

/* The sources a token grants (a new array): all four for the owner and
 * administrators and when the configuration sets none; otherwise the
 * configured ones that are known sources, in the configured order, once. */
json_t *vc_room_grant_sources(const vc_room_grants_t *g);

/* vc_room_token plus the grant claims: room_role (omitted without a role),
 * room_admin, can_publish_sources, can_publish, embed_provider (only when
 * set). g NULL: exactly vc_room_token. */
char *vc_room_token_granted(const char *secret, const char *user_id, const char *room, bool is_host,
                            const char *display_name, int64_t now, int64_t ttl,
                            const vc_room_grants_t *g);

/* An observer token: room_join=false, observer=true, is_host=false,
 * exp = now + VC_OBSERVER_TOKEN_TTL. NULL as above. */
char *vc_observer_token(const char *secret, const char *user_id, const char *room,
                        const char *display_name, int64_t now);

#endif
