/*
 * room_tokens.c — room id rules and room/observer token issuance.
 */
#include "actors/room_tokens.h"

#include <ctype.h>
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

static char *issue(const char *secret, const char *user_id, const char *room, bool join,
                   bool is_host, bool observer, const char *display_name, int64_t exp)
{
	json_t *claims;
	char *token;

	if (secret == NULL || secret[0] == '\0' || strcmp(user_id, VC_SYSTEM_USER_ID) == 0)
		return NULL;
	claims = json_pack("{s:s,s:s,s:b,s:b,s:s,s:b,s:I,s:s}", "sub", user_id, "room", room,
	                   "room_join", join, "is_host", is_host, "display_name",
	                   display_name && display_name[0] ? display_name : user_id, "observer",
	                   observer, "exp", (json_int_t)exp, "iss", VC_JWT_ISSUER);
	token = vc_jwt_sign(claims, (const uint8_t *)secret, strlen(secret));
	json_decref(claims);
	return token;
}

char *vc_room_token(const char *secret, const char *user_id, const char *room, bool is_host,
                    const char *display_name, int64_t now, int64_t ttl)
{
	return issue(secret, user_id, room, true, is_host, false, display_name, now + ttl);
}

char *vc_observer_token(const char *secret, const char *user_id, const char *room,
                        const char *display_name, int64_t now)
{
	return issue(secret, user_id, room, false, false, true, display_name,
	             now + VC_OBSERVER_TOKEN_TTL);
}
