/*
 * grants.c — can_publish_sources as a bitmask, and the source each media
 * type needs (grants.h; doc/external.md "Grants in the room token").
 */
#include "actors/grants.h"

#include <string.h>

#include "wire/proto.h"

/* The claim's names (Meet's LIVEKIT_DEFAULT_SOURCES). */
static const struct {
	const char *name;
	unsigned bit;
} sources[] = {
	{ "camera", VC_GRANT_CAMERA },
	{ "microphone", VC_GRANT_MICROPHONE },
	{ "screen_share", VC_GRANT_SCREEN_SHARE },
	{ "screen_share_audio", VC_GRANT_SCREEN_SHARE_AUDIO },
};

/* By MediaPacket.media_type; a type past the end or left at 0 is unknown. */
static const unsigned needed_by_type[] = {
	[0] = VC_GRANT_MEDIA, /* no media_type: unknown */
	[VC_MEDIA_VIDEO] = VC_GRANT_CAMERA,
	[VC_MEDIA_AUDIO] = VC_GRANT_MICROPHONE,
	[VC_MEDIA_SCREEN] = VC_GRANT_SCREEN_SHARE,
	[VC_MEDIA_HEARTBEAT] = 0,
	[VC_MEDIA_RTT] = 0,
	[VC_MEDIA_KEYFRAME_REQUEST] = 0,
};

unsigned vc_grant_of_name(const char *name)
{
	for (size_t i = 0; i < VC_ARRAY_LEN(sources); i++)
		if (strcmp(sources[i].name, name) == 0)
			return sources[i].bit;
	return 0;
}

bool vc_grants_parse(const json_t *claim, unsigned *mask)
{
	unsigned m = 0;
	size_t i;
	json_t *name;

	if (claim == NULL) {
		*mask = VC_GRANT_ALL;
		return true;
	}
	if (!json_is_array(claim))
		return false;
	json_array_foreach(claim, i, name)
	{
		if (!json_is_string(name))
			return false;
		m |= vc_grant_of_name(json_string_value(name));
	}
	*mask = m;
	return true;
}

unsigned vc_grants_needed(bool readable, uint64_t media_type)
{
	if (!readable || media_type >= VC_ARRAY_LEN(needed_by_type))
		return VC_GRANT_MEDIA;
	return needed_by_type[media_type];
}
