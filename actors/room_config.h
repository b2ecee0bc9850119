/*
 * room_config.h — the checks of vcd's room fields (doc/external.md): a
 * meeting's configuration (La Suite Meet's RoomConfiguration), its access
 * level and its embed provider. Pure; any thread.
 */
#ifndef VC_ROOM_CONFIG_H
#define VC_ROOM_CONFIG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* NULL when cfg is a RoomConfiguration — an object whose only members are
 * can_publish_sources (null, or an array of "camera", "microphone",
 * "screen_share", "screen_share_audio") and everyone_can_mute (null or a
 * boolean) — else why not, in pydantic's words, written into buf. */
const char *vc_room_config_problem(const json_t *cfg, char *buf, size_t len);

/* "public", "trusted" or "restricted". */
bool vc_access_level_ok(const char *s);

/* ^[a-z0-9_-]{1,32}$ */
bool vc_embed_provider_ok(const char *s);

#endif
