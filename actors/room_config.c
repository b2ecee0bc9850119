/*
 * room_config.c — the checks of vcd's room fields (see room_config.h).
 *
 * Meet validates configuration with pydantic (extra="forbid"): the member
 * names and messages below are pydantic's, prefixed by the member's path.
 */
#include "actors/room_config.h"

#include <stdio.h>
#include <string.h>

#include "actors/meeting_fsm.h"
#include "runtime/vc.h"

static const char *const sources[] = { "camera", "microphone", "screen_share",
	                               "screen_share_audio" };
#define NSOURCES (sizeof(sources) / sizeof(sources[0]))

static bool known_source(const json_t *v)
{
	const char *s = json_string_value(v);

	for (size_t i = 0; s != NULL && i < NSOURCES; i++)
		if (strcmp(s, sources[i]) == 0)
			return true;
	return false;
}

static const char *sources_problem(const json_t *v, char *buf, size_t len)
{
	size_t i;
	json_t *e;

	if (json_is_null(v))
		return NULL;
	if (!json_is_array(v)) {
		snprintf(buf, len, "can_publish_sources: Input should be a valid list");
		return buf;
	}
	json_array_foreach(v, i, e)
	{
		if (!known_source(e)) {
			snprintf(buf, len,
			         "can_publish_sources.%zu: Input should be 'camera', 'microphone', "
			         "'screen_share' or 'screen_share_audio'",
			         i);
			return buf;
		}
	}
	return NULL;
}

const char *vc_room_config_problem(const json_t *cfg, char *buf, size_t len)
{
	const char *key;
	json_t *v;

	if (!json_is_object(cfg)) {
		snprintf(buf, len, "Input should be a valid dictionary");
		return buf;
	}
	json_object_foreach((json_t *)cfg, key, v)
	{
		if (strcmp(key, "can_publish_sources") == 0) {
			if (sources_problem(v, buf, len) != NULL)
				return buf;
		} else if (strcmp(key, "everyone_can_mute") == 0) {
			if (!json_is_null(v) && !json_is_boolean(v)) {
				snprintf(buf, len,
				         "everyone_can_mute: Input should be a valid boolean");
				return buf;
			}
		} else {
			snprintf(buf, len, "%.*s: Extra inputs are not permitted",
			         (int)vc_utf8_prefix(key, 64), key);
			return buf;
		}
	}
	return NULL;
}

bool vc_access_level_ok(const char *s)
{
	enum vc_access_level l = vc_access_level_parse(s);

	return s != NULL && l != VC_AL_NONE && l != VC_AL_COUNT;
}

bool vc_embed_provider_ok(const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	if (n < 1 || n > 32)
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}
