/*
 * room_tokens.c — room id rules and room/observer token issuance.
 */
#include "actors/room_tokens.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include "wire/jwt.h"
#include "wire/proto.h"

const char *vc_room_id_problem(const char *id)
{
	size_t n = strlen(id);

	if (n == 0)
		return "cannot be empty";
	if (n > VC_ROOM_ID_MAX)
		return "cannot exceed 255 characters";
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)id[i]) && id[i] != '_' && id[i] != '-')
			return "must match pattern: ^[a-zA-Z0-9_-]+$";
	return NULL;
}

/* Meet's TrackSource names (LIVEKIT_DEFAULT_SOURCES), in its order. */
static const char *const all_sources[] = { "camera", "microphone", "screen_share",
	                                   "screen_share_audio" };
#define NSOURCES (sizeof(all_sources) / sizeof(all_sources[0]))

static bool is_admin_role(const char *role)
{
	return role != NULL && (strcmp(role, "owner") == 0 || strcmp(role, "administrator") == 0);
}

static int source_index(const json_t *v)
{
	const char *s = json_string_value(v);

	for (size_t i = 0; s != NULL && i < NSOURCES; i++)
		if (strcmp(s, all_sources[i]) == 0)
			return (int)i;
	return -1;
}

json_t *vc_room_grant_sources(const vc_room_grants_t *g)
{
	json_t *out = json_array();
	bool seen[NSOURCES] = { false };
	size_t i;
	json_t *v;

	if (is_admin_role(g->role) || !json_is_array(g->sources)) {
		for (i = 0; i < NSOURCES; i++)
			json_array_append_new(out, json_string(all_sources[i]));
		return out;
	}
	json_array_foreach(g->sources, i, v)
	{
		int k = source_index(v);

		if (k >= 0 && !seen[k]) {
			seen[k] = true;
			json_array_append_new(out, json_string(all_sources[k]));
		}
	}
	return out;
}

static void add_grants(json_t *claims, const vc_room_grants_t *g)
{
	json_t *sources = vc_room_grant_sources(g);

	if (g->role != NULL)
		json_object_set_new(claims, "room_role", json_string(g->role));
	json_object_set_new(claims, "room_admin", json_boolean(is_admin_role(g->role)));
	json_object_set_new(claims, "can_publish", json_boolean(json_array_size(sources) > 0));
	json_object_set_new(claims, "can_publish_sources", sources);
	if (g->embed_provider != NULL && g->embed_provider[0] != '\0')
		json_object_set_new(claims, "embed_provider", json_string(g->embed_provider));
}

static char *issue(const char *secret, const char *user_id, const char *room, bool join,
                   bool is_host, bool observer, const char *display_name, int64_t exp,
                   const vc_room_grants_t *g)
{
	json_t *claims;
	char *token;

	if (secret == NULL || secret[0] == '\0' || strcmp(user_id, VC_SYSTEM_USER_ID) == 0)
		return NULL;
	claims = json_pack("{s:s,s:s,s:b,s:b,s:s,s:b,s:I,s:s}", "sub", user_id, "room", room,
	                   "room_join", join, "is_host", is_host, "display_name",
	                   display_name && display_name[0] ? display_name : user_id, "observer",
	                   observer, "exp", (json_int_t)exp, "iss", VC_JWT_ISSUER);
	if (g != NULL)
		add_grants(claims, g);
	token = vc_jwt_sign(claims, (const uint8_t *)secret, strlen(secret));
	json_decref(claims);
	return token;
}

char *vc_room_token(const char *secret, const char *user_id, const char *room, bool is_host,
                    const char *display_name, int64_t now, int64_t ttl)
{
	return issue(secret, user_id, room, true, is_host, false, display_name, now + ttl, NULL);
}

char *vc_room_token_granted(const char *secret, const char *user_id, const char *room, bool is_host,
                            const char *display_name, int64_t now, int64_t ttl,
                            const vc_room_grants_t *g)
{
	return issue(secret, user_id, room, true, is_host, false, display_name, now + ttl, g);
}

char *vc_observer_token(const char *secret, const char *user_id, const char *room,
                        const char *display_name, int64_t now)
{
	return issue(secret, user_id, room, false, false, true, display_name,
	             now + VC_OBSERVER_TOKEN_TTL, NULL);
}
