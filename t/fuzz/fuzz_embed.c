/*
 * fuzz_embed.c — libFuzzer target for what embed credentials parse from
 * outside (actors/embed.c): an authToken presented as a credential, an
 * embed_key, and another node's question on vcd.embed.* (both kinds). Each
 * input is used as all four.
 *   - a token that parses names a room of [A-Za-z0-9_-] that it contains,
 *     after "vce1." and 16 hexadecimal digits;
 *   - embed_key_valid agrees with a plain reading of the rule;
 *   - a question that parses is a JSON object; freeing it leaks nothing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "actors/embed.h"
#include "actors/lobby_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define URLSAFE "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"

static void check_token(const char *s)
{
	char room[256];

	if (!vc_embed_token_room(s, room, sizeof(room)))
		return;
	if (strncmp(s, VC_EMBED_TOKEN_PREFIX, 5) != 0 || strspn(s + 5, "0123456789abcdef") < 16 ||
	    strspn(room, URLSAFE) != strlen(room) || strstr(s + 21, room) == NULL)
		abort();
}

static void check_key(const char *s)
{
	size_t n = strlen(s);
	bool plain = n >= 32 && n <= 128 && strspn(s, URLSAFE) == n;

	if (embed_key_valid(s) != plain)
		abort();
}

static void check_question(const uint8_t *data, size_t size, bool verify)
{
	embed_q_t *q = embed_question_parse(data, size, verify);
	json_t *j;

	if (q == NULL)
		return;
	j = json_loadb((const char *)data, size, 0, NULL);
	if (!json_is_object(j))
		abort();
	json_decref(j);
	embed_q_free(q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	check_token(s);
	check_key(s);
	check_question(data, size, false);
	check_question(data, size, true);
	free(s);
	return 0;
}
