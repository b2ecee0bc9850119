/*
 * sig_dict.c — print the libFuzzer dictionary of t/fuzz/fuzz_signal.c from
 * the /ws message table (wire/signal_msg.c), so that it cannot drift from
 * it: every type name and member name as a JSON string, each type as a
 * "type" member, then JSON punctuation and the values that sit on the
 * parser's edges. The fuzz build writes fuzz_signal.dict with it before a
 * run (Makefile.am, `make fuzz`); make check runs it too (t/fuzz/regress.sh).
 * Names are plain ASCII identifiers; anything else stops the program, since
 * it would need escaping in a dictionary.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/signal_msg.h"

static const char *seen[VC_SIG_COUNT * (VC_SIG_MAX_FIELDS + 1) + 1];
static size_t nseen;

static void name_token(const char *kind, const char *name)
{
	for (const char *p = name; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_')) {
			fprintf(stderr, "sig_dict: %s name '%s' is not an identifier\n", kind,
			        name);
			exit(1);
		}
	for (size_t i = 0; i < nseen; i++)
		if (strcmp(seen[i], name) == 0)
			return;
	seen[nseen++] = name;
	printf("%s_%s=\"\\\"%s\\\"\"\n", kind, name, name);
}

int main(void)
{
	/* clang-format off */
	static const char *const edges[] = {
		"{", "}", "[", "]", ":", ",", "\\\"", "\\\"\\\"", "{}", "[]",
		"null", "true", "false", "0", "-0", "-1", "1.5e308", "1e999",
		"9223372036854775807", "9223372036854775808",
		"\\\\u0000", "\\\\ud800", "\\xc3\\xa9", "\\xff",
	};
	/* clang-format on */

	printf("# t/fuzz/fuzz_signal.dict: made by t/fuzz/sig_dict from wire/signal_msg.c; "
	       "do not edit\n");
	name_token("member", "type");
	for (unsigned t = 0; t < VC_SIG_COUNT; t++) {
		const vc_sig_row_t *row = vc_sig_row((enum vc_sig_type)t);

		name_token("type", row->name);
		printf("msg_%s=\"\\\"type\\\":\\\"%s\\\"\"\n", row->name, row->name);
		for (const vc_sig_field_t *f = row->fields; f->name != NULL; f++)
			name_token("member", f->name);
	}
	for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++)
		printf("edge_%zu=\"%s\"\n", i, edges[i]);
	return ferror(stdout) || fflush(stdout) != 0;
}
