/*
 * fuzz_utf8.c — vc_utf8_scrub, vc_utf8_prefix and vc_utf8_chars on any
 * bytes. After a scrub the text keeps its length, is well-formed UTF-8
 * with no control character (checked here by a decoder of its own), and a
 * second scrub changes nothing; a prefix never cuts a character.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/vc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Well-formed UTF-8 without C0 controls or DEL, decoded the long way. */
static int clean(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t len;

		if (s[i] < 0x80) {
			if (s[i] < 0x20 || s[i] == 0x7F)
				return 0;
			i++;
			continue;
		}
		if (s[i] >= 0xC2 && s[i] <= 0xDF) {
			len = 2;
			cp = s[i] & 0x1F;
		} else if (s[i] >= 0xE0 && s[i] <= 0xEF) {
			len = 3;
			cp = s[i] & 0x0F;
		} else if (s[i] >= 0xF0 && s[i] <= 0xF4) {
			len = 4;
			cp = s[i] & 0x07;
		} else {
			return 0;
		}
		if (i + len > n)
			return 0;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3F);
		}
		if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
		    (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
			return 0;
		i += len;
	}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), *again;
	size_t max = size > 0 ? data[0] : 0, p;

	memcpy(s, data, size);
	s[size] = '\0';
	vc_utf8_scrub(s, size);
	if (!clean((const unsigned char *)s, size))
		abort();
	again = malloc(size + 1);
	memcpy(again, s, size + 1);
	vc_utf8_scrub(again, size);
	if (memcmp(again, s, size) != 0)
		abort();
	p = vc_utf8_prefix(s, max);
	if (p > max || p > size || (p < size && ((unsigned char)s[p] & 0xC0) == 0x80))
		abort();
	if (vc_utf8_chars(s) > size)
		abort();
	free(again);
	free(s);
	return 0;
}
