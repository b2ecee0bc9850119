/*
 * grants.h — what a room token lets a /lobby session publish: the
 * `can_publish_sources` claim (doc/external.md "Grants in the room token")
 * as a bitmask, and the sources each media packet needs.
 *
 * Pure functions, callable from any thread. The token is read once at the
 * upgrade (vc_grants_parse); each packet then costs one bit test
 * (vc_grants_needed, after the media type was decoded).
 */
#ifndef VC_GRANTS_H
#define VC_GRANTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "runtime/vc.h"

/* The sources of Meet's and LiveKit's can_publish_sources, one bit each. */
enum vc_grant {
	VC_GRANT_CAMERA = 1u << 0,             /* MEDIA/VIDEO */
	VC_GRANT_MICROPHONE = 1u << 1,         /* MEDIA/AUDIO */
	VC_GRANT_SCREEN_SHARE = 1u << 2,       /* MEDIA/SCREEN */
	VC_GRANT_SCREEN_SHARE_AUDIO = 1u << 3, /* no videocall.rs packet: nothing to enforce */
	/* What a packet of unknown media needs: every source that has packets. */
	VC_GRANT_MEDIA = VC_GRANT_CAMERA | VC_GRANT_MICROPHONE | VC_GRANT_SCREEN_SHARE,
	VC_GRANT_ALL = VC_GRANT_MEDIA | VC_GRANT_SCREEN_SHARE_AUDIO,
};

/* The source's bit for its claim name ("camera", …), 0 for a name vcd does
 * not know. */
unsigned vc_grant_of_name(const char *name);

/*
 * The claim as a mask. claim is the member `can_publish_sources` of the
 * token's claims (borrowed): NULL (absent) gives VC_GRANT_ALL (a token of a
 * videocall.rs backend, or of vcd before grants); an array of strings
 * gives the bits of the names it holds (unknown names are ignored, so []
 * gives 0). Anything else (null, a string, an array with a non-string) is
 * a malformed token: false, *mask untouched.
 */
bool vc_grants_parse(const json_t *claim, unsigned *mask) VC_MUSTCHECK;

/*
 * The grants a MEDIA packet needs: media type known (readable true) →
 * VIDEO camera, AUDIO microphone, SCREEN screen_share; HEARTBEAT, RTT and
 * KEYFRAME_REQUEST nothing (they publish nothing). A media type that could
 * not be read, or a value vcd does not know, needs VC_GRANT_MEDIA: it is
 * relayed only for a session that may publish every kind (fail closed).
 * The packet passes when (needed & ~mask) == 0.
 */
unsigned vc_grants_needed(bool readable, uint64_t media_type);

#endif
