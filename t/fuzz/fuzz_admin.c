/*
 * fuzz_admin.c — libFuzzer target for the admin protocol: the request line
 * parser, verb lookup on what it returns, re-encoding (which must round-trip)
 * and the response parser vcctl runs on what comes back.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/admin_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A parsed request re-encodes to a line that parses to the same words. */
static void check_round_trip(char **words, size_t n)
{
	char err[512], *line, **again;
	size_t len, n2;

	line = vc_admin_request_encode(words, n, &len, err, sizeof(err));
	if (line == NULL)
		return; /* a longer escaping may exceed the limit; that is an error, fine */
	if (vc_admin_request_parse(line, len, &again, &n2, err, sizeof(err)) != 0 || n2 != n)
		abort();
	for (size_t i = 0; i < n; i++)
		if (strcmp(words[i], again[i]) != 0)
			abort();
	vc_admin_words_free(again);
	free(line);
}

static void fuzz_request(const char *line, size_t size)
{
	char err[512], **words = NULL;
	size_t n = 0;
	vc_admin_match_t m;

	if (vc_admin_request_parse(line, size, &words, &n, err, sizeof(err)) != 0) {
		if (err[0] == '\0' || words != NULL)
			abort(); /* a rejection always says why and returns nothing */
		return;
	}
	if (vc_admin_verb_find(words, n, &m, err, sizeof(err)) == 0) {
		if (m.argc < m.verb->min_args || m.argv != words + (n - (size_t)m.argc))
			abort();
	} else if (err[0] == '\0') {
		abort();
	}
	check_round_trip(words, n);
	vc_admin_words_free(words);
}

static void fuzz_response(const char *line, size_t size)
{
	char err[512], *error = NULL;
	json_t *result = NULL;
	int rc = vc_admin_response_parse(line, size, &result, &error, err, sizeof(err));

	if ((rc == 1) != (result != NULL) || (rc == 0) != (error != NULL))
		abort();
	if (error != NULL) {
		size_t len;
		char *again = vc_admin_response_error(error, &len);
		if (memchr(again, '\n', len - 1) != NULL)
			abort(); /* an error answer is always one line */
		free(again);
	}
	json_decref(result);
	free(error);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Copy into an exact-size buffer so ASan sees any over-read. */
	char *line = malloc(size ? size : 1);

	memcpy(line, data, size);
	fuzz_request(line, size);
	fuzz_response(line, size);
	free(line);
	return 0;
}
