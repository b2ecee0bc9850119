/*
 * fuzz_ws.c — the WebSocket frame reader (wire/ws_read.c, on wslay) on any
 * client bytes, delivered in odd-sized pieces so frames straddle reads.
 * The reader must never crash, leak or read out of bounds, and must end in
 * one of the close codes RFC 6455 gives for what it refuses (or none).
 * The first byte picks the message limit, so 1009 is reached too. Then the
 * same bytes are decoded as a PacketWrapper and its MediaPacket, as the
 * media relay does with every message.
 */
#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "wire/proto.h"
#include "wire/ws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t max = size > 0 ? (size_t)1024 << (data[0] & 7) : 1024;
	int code = vc_ws__fuzz_read(data, size, max);
	vc_packet_view_t v;
	vc_meeting_view_t m;
	uint64_t media_type;

	assert(code == 0 || code == VC_WS_PROTOCOL || code == VC_WS_BAD_DATA ||
	       code == VC_WS_TOO_BIG);
	if (vc_packet_wrapper_decode(data, size, &v)) {
		assert(v.user_id.len <= size && v.data.len <= size);
		/* Only that they return (a cast to void does not quiet gcc). */
		bool ok = vc_media_packet_type(v.data.p, v.data.len, &media_type);
		ok = vc_meeting_packet_decode(v.data.p, v.data.len, &m) || ok;
		(void)ok;
	}
	return 0;
}
