/*
 * urlenc.c — percent-decoding (wire/urlenc.h).
 */
#include "wire/urlenc.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/vc.h"

static int hexval(int c)
{
	return isdigit(c) ? c - '0' : isxdigit(c) ? (tolower(c) - 'a' + 10) : -1;
}

char *vc_pct_decode(const char *s, size_t n, bool plus_is_space, size_t *len)
{
	char *out = vc_malloc(n + 1);
	size_t j = 0;

	for (size_t i = 0; i < n; i++) {
		int hi = -1, lo = -1;

		if (s[i] == '%' && i + 2 < n) {
			hi = hexval((unsigned char)s[i + 1]);
			lo = hi >= 0 ? hexval((unsigned char)s[i + 2]) : -1;
		}
		if (hi >= 0 && lo >= 0) {
			out[j++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			out[j++] = plus_is_space && s[i] == '+' ? ' ' : s[i];
		}
	}
	out[j] = '\0';
	if (len != NULL)
		*len = j;
	return out;
}

char *vc_query_value(const char *query, const char *name, size_t *len)
{
	const char *q = query != NULL ? query : "";

	while (*q != '\0') {
		size_t n = strcspn(q, "&");
		const char *eq = memchr(q, '=', n);
		size_t kl = eq != NULL ? (size_t)(eq - q) : n, klen;
		char *key = vc_pct_decode(q, kl, true, &klen);
		bool match = klen == strlen(name) && memcmp(key, name, klen) == 0;

		free(key);
		if (match)
			return eq != NULL ? vc_pct_decode(eq + 1, n - kl - 1, true, len)
			                  : vc_pct_decode("", 0, true, len);
		q += n;
		if (*q == '&')
			q++;
	}
	return NULL;
}
