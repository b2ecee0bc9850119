/*
 * test_admin_proto.c — the admin protocol: request and response lines,
 * garbage handling, verb lookup and its error messages, and that the verb
 * table (wire/admin_proto.c) and vcd's handler table (actors/admin_cmds.c)
 * name the same verbs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/admin_cmds.h"
#include "runtime/server.h"
#include "wire/admin_proto.h"

/*
 * actors/admin_cmds.c calls the daemon-wide operations of programs/vcd.c,
 * which is not in libvc.a. Weak stubs let this test link; they are never
 * called here, and a real definition wins if one is linked.
 */
__attribute__((weak)) json_t *vc_server_status(void)
{
	return json_object();
}
__attribute__((weak)) json_t *vc_server_stats(void)
{
	return json_object();
}
__attribute__((weak)) int vc_server_reload(json_t **report, char *err, size_t errlen)
{
	*report = json_object();
	return 0;
}
__attribute__((weak)) void vc_server_drain(void)
{
}
__attribute__((weak)) bool vc_server_draining(void)
{
	return false;
}
__attribute__((weak)) double vc_server_uptime(void)
{
	return 0;
}

/* ---- helpers ----------------------------------------------------------- */

static int parse_str(const char *line, char ***words, size_t *n, char *err, size_t errlen)
{
	return vc_admin_request_parse(line, strlen(line), words, n, err, errlen);
}

/* Expect `line` to be rejected with an error containing `want`. */
static void expect_bad_request(const char *line, size_t len, const char *want)
{
	char **words = NULL, err[512] = "";
	size_t n = 0;

	assert_int_equal(vc_admin_request_parse(line, len, &words, &n, err, sizeof(err)), -1);
	assert_null(words);
	if (strstr(err, want) == NULL)
		fail_msg("error '%s' does not contain '%s'", err, want);
}

static int find(char *const *words, size_t n, vc_admin_match_t *m, char *err)
{
	return vc_admin_verb_find(words, n, m, err, 512);
}

/* ---- requests ---------------------------------------------------------- */

static void test_request_round_trip(void **state)
{
	char *in[] = { "log-level", "debug" };
	char **out, err[256];
	size_t len, n;
	char *line = vc_admin_request_encode(in, 2, &len, err, sizeof(err));

	assert_non_null(line);
	assert_string_equal(line, "[\"log-level\",\"debug\"]\n");
	assert_int_equal(len, strlen(line));
	assert_int_equal(vc_admin_request_parse(line, len, &out, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_string_equal(out[0], "log-level");
	assert_string_equal(out[1], "debug");
	assert_null(out[2]);
	vc_admin_words_free(out);
	free(line);
}

static void test_request_awkward_words(void **state)
{
	char *in[] = { "meetings", "show", "a b\n\"c\"\\", "", "caf\xc3\xa9 \xe2\x9c\x93" };
	char **out, err[256];
	size_t len, n;
	char *line = vc_admin_request_encode(in, 5, &len, err, sizeof(err));

	assert_non_null(line);
	/* One line: the only newline is the terminator. */
	assert_ptr_equal(strchr(line, '\n'), line + len - 1);
	assert_int_equal(vc_admin_request_parse(line, len, &out, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 5);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(out[i], in[i]);
	vc_admin_words_free(out);
	free(line);

	/* Without the newline, and with CRLF, the line parses the same. */
	assert_int_equal(parse_str("[\"status\"]", &out, &n, err, sizeof(err)), 0);
	assert_string_equal(out[0], "status");
	vc_admin_words_free(out);
	assert_int_equal(parse_str("  [ \"status\" ] \r\n", &out, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 1);
	vc_admin_words_free(out);
}

static void test_request_encode_rejects(void **state)
{
	char *bad[] = { "log-level", "\xff\xfe" };
	char err[256] = "";
	size_t len;
	char *big = malloc(VC_ADMIN_LINE_MAX);
	char *words[] = { big };
	char want[64];

	assert_null(vc_admin_request_encode(bad, 2, &len, err, sizeof(err)));
	assert_non_null(strstr(err, "word 2"));
	assert_non_null(strstr(err, "UTF-8"));

	memset(big, 'x', VC_ADMIN_LINE_MAX - 1);
	big[VC_ADMIN_LINE_MAX - 1] = '\0';
	assert_null(vc_admin_request_encode(words, 1, &len, err, sizeof(err)));
	snprintf(want, sizeof(want), "limit is %d", VC_ADMIN_LINE_MAX);
	assert_non_null(strstr(err, want));
	free(big);
}

static void test_request_garbage(void **state)
{
	static const char nul[] = "[\"st\0atus\"]";
	char *big = malloc(VC_ADMIN_LINE_MAX + 16);
	char *many, want[64];

	expect_bad_request("", 0, "not valid JSON");
	expect_bad_request("status\n", 7, "not valid JSON");
	expect_bad_request("[\"status\"", 9, "not valid JSON");
	expect_bad_request("\"status\"", 8, "not valid JSON");
	expect_bad_request("{\"verb\":\"status\"}", 17, "request is an object");
	expect_bad_request("[]", 2, "empty array");
	expect_bad_request("[1]", 3, "word 1 is a number");
	expect_bad_request("[\"status\",null]", 15, "word 2 is null");
	expect_bad_request("[\"a\",[\"b\"]]", 11, "word 2 is an array");
	expect_bad_request("[\"a\\u0000b\"]", 12, "not valid JSON");
	expect_bad_request(nul, sizeof(nul) - 1, "not valid JSON");
	expect_bad_request("[\"a\"]\n[\"b\"]\n", 12, "one line");
	expect_bad_request("[\"a\"] x", 7, "not valid JSON");

	/* VC_ADMIN_LINE_MAX bytes with the newline is the limit; one more is too many. */
	big[0] = '[';
	big[1] = '"';
	memset(big + 2, 'x', VC_ADMIN_LINE_MAX);
	memcpy(big + VC_ADMIN_LINE_MAX - 3, "\"]\n", 3);
	{
		char **w = NULL, err[256];
		size_t n;
		assert_int_equal(vc_admin_request_parse(big, VC_ADMIN_LINE_MAX, &w, &n, err,
							sizeof(err)), 0);
		assert_int_equal(strlen(w[0]), VC_ADMIN_LINE_MAX - 5);
		vc_admin_words_free(w);
	}
	memcpy(big + VC_ADMIN_LINE_MAX - 2, "\"]\n", 3);
	snprintf(want, sizeof(want), "%d bytes long; the limit is %d", VC_ADMIN_LINE_MAX + 1,
		 VC_ADMIN_LINE_MAX);
	expect_bad_request(big, VC_ADMIN_LINE_MAX + 1, want);
	expect_bad_request(big, VC_ADMIN_LINE_MAX, want);
	free(big);

	/* Too many words. */
	many = malloc(4 * (VC_ADMIN_WORDS_MAX + 1) + 2);
	strcpy(many, "[");
	for (int i = 0; i <= VC_ADMIN_WORDS_MAX; i++)
		strcat(many, i ? ",\"a\"" : "\"a\"");
	strcat(many, "]");
	expect_bad_request(many, strlen(many), "257 words; the limit is 256");
	free(many);
}

/* ---- responses --------------------------------------------------------- */

static void test_response_ok(void **state)
{
	size_t len;
	json_t *res = NULL;
	char *error = NULL, err[256];
	char *line = vc_admin_response_ok(json_pack("{s:s,s:i}", "log_level", "debug", "n", 3),
					  &len);

	assert_string_equal(line, "{\"ok\":true,\"result\":{\"log_level\":\"debug\",\"n\":3}}\n");
	assert_int_equal(vc_admin_response_parse(line, len, &res, &error, err, sizeof(err)), 1);
	assert_null(error);
	assert_string_equal(json_string_value(json_object_get(res, "log_level")), "debug");
	json_decref(res);
	free(line);

	line = vc_admin_response_ok(NULL, &len);
	assert_string_equal(line, "{\"ok\":true,\"result\":null}\n");
	assert_int_equal(vc_admin_response_parse(line, len, &res, &error, err, sizeof(err)), 1);
	assert_true(json_is_null(res));
	json_decref(res);
	free(line);
}

static void test_response_error(void **state)
{
	size_t len;
	json_t *res = NULL;
	char *error = NULL, err[256];
	char *line = vc_admin_response_error("bad\nthing\there \xff", &len);

	assert_ptr_equal(strchr(line, '\n'), line + len - 1);
	assert_int_equal(vc_admin_response_parse(line, len, &res, &error, err, sizeof(err)), 0);
	assert_null(res);
	assert_string_equal(error, "bad thing here ?");
	free(error);
	free(line);
}

static void expect_bad_response(const char *line, const char *want)
{
	json_t *res = NULL;
	char *error = NULL, err[256] = "";

	assert_int_equal(vc_admin_response_parse(line, strlen(line), &res, &error, err,
						 sizeof(err)), -1);
	assert_null(res);
	assert_null(error);
	if (strstr(err, want) == NULL)
		fail_msg("error '%s' does not contain '%s'", err, want);
}

static void test_response_garbage(void **state)
{
	expect_bad_response("", "not valid JSON");
	expect_bad_response("HTTP/1.1 400 Bad Request\r\n", "not valid JSON");
	expect_bad_response("[true]\n", "answer is an array");
	expect_bad_response("{}\n", "no boolean \"ok\"");
	expect_bad_response("{\"ok\":\"yes\",\"result\":1}\n", "no boolean \"ok\"");
	expect_bad_response("{\"ok\":true}\n", "no \"result\"");
	expect_bad_response("{\"ok\":false}\n", "no string \"error\"");
	expect_bad_response("{\"ok\":false,\"error\":7}\n", "no string \"error\"");
}

/* ---- verb lookup ------------------------------------------------------- */

static void test_lookup_builtin(void **state)
{
	char *status[] = { "status" }, *show[] = { "config", "show" };
	char *lvl[] = { "log-level", "debug" }, *help[] = { "help", "config", "show" };
	vc_admin_match_t m;
	char err[512];

	assert_int_equal(find(status, 1, &m, err), 0);
	assert_string_equal(m.verb->words, "status");
	assert_int_equal(m.argc, 0);

	assert_int_equal(find(show, 2, &m, err), 0);
	assert_string_equal(m.verb->words, "config show");
	assert_int_equal(m.argc, 0);

	assert_int_equal(find(lvl, 2, &m, err), 0);
	assert_string_equal(m.verb->words, "log-level");
	assert_int_equal(m.argc, 1);
	assert_string_equal(m.argv[0], "debug");

	assert_int_equal(find(help, 3, &m, err), 0);
	assert_true(m.verb->flags & VC_ADMIN_LOCAL);
	assert_int_equal(m.argc, 2);
}

static void test_lookup_errors(void **state)
{
	char *frob[] = { "frob" }, *config[] = { "config" }, *cfrob[] = { "config", "frob" };
	char *lvl0[] = { "log-level" }, *lvl2[] = { "log-level", "a", "b" };
	char *st1[] = { "status", "now" }, *ctl[] = { "fr\nob" };
	vc_admin_match_t m;
	char err[512];

	assert_int_equal(find(frob, 1, &m, err), -1);
	assert_string_equal(err, "unknown command 'frob' (see 'vcctl help')");
	assert_null(m.verb);

	assert_int_equal(find(ctl, 1, &m, err), -1);
	assert_string_equal(err, "unknown command 'fr?ob' (see 'vcctl help')");

	assert_int_equal(find(config, 1, &m, err), -1);
	assert_string_equal(err, "incomplete command 'config' (expected 'config show', "
				 "'config reload'; see 'vcctl help')");
	assert_int_equal(find(cfrob, 2, &m, err), -1);
	assert_string_equal(err, "unknown command 'config frob' (expected 'config show', "
				 "'config reload'; see 'vcctl help')");

	assert_int_equal(find(lvl0, 1, &m, err), -1);
	assert_string_equal(err, "usage: vcctl log-level LEVEL");
	assert_string_equal(m.verb->words, "log-level");
	assert_int_equal(find(lvl2, 3, &m, err), -1);
	assert_string_equal(err, "usage: vcctl log-level LEVEL");
	assert_int_equal(find(st1, 2, &m, err), -1);
	assert_string_equal(err, "usage: vcctl status");

	assert_int_equal(find(NULL, 0, &m, err), -1);
	assert_non_null(strstr(err, "no command"));
}

/* The table shape later verbs will have: a verb that is a prefix of others. */
static void test_lookup_longest_prefix(void **state)
{
	static const vc_admin_verb_t tab[] = {
		{ "users", "", 0, 0, 0, "count users" },
		{ "users list", "[PATTERN]", 0, 1, 0, "list users" },
		{ "users show", "ID", 1, 1, 0, "show a user" },
		{ "sessions revoke", "TOKEN...", 1, VC_ADMIN_ARGS_ANY, 0, "revoke sessions" },
	};
	char *u[] = { "users" }, *ul[] = { "users", "list", "a*" };
	char *us[] = { "users", "show", "42" }, *us0[] = { "users", "show" };
	char *sr[] = { "sessions", "revoke", "a", "b", "c" }, *sr0[] = { "sessions", "revoke" };
	char *ux[] = { "users", "frob" };
	vc_admin_match_t m;
	char err[512];
	size_t nt = VC_ARRAY_LEN(tab);

	assert_int_equal(vc_admin_verb_match(tab, nt, u, 1, &m, err, sizeof(err)), 0);
	assert_ptr_equal(m.verb, &tab[0]);
	assert_int_equal(vc_admin_verb_match(tab, nt, ul, 3, &m, err, sizeof(err)), 0);
	assert_ptr_equal(m.verb, &tab[1]);
	assert_int_equal(m.argc, 1);
	assert_string_equal(m.argv[0], "a*");
	assert_int_equal(vc_admin_verb_match(tab, nt, us, 3, &m, err, sizeof(err)), 0);
	assert_ptr_equal(m.verb, &tab[2]);
	assert_string_equal(m.argv[0], "42");
	assert_int_equal(vc_admin_verb_match(tab, nt, us0, 2, &m, err, sizeof(err)), -1);
	assert_string_equal(err, "usage: vcctl users show ID");
	assert_int_equal(vc_admin_verb_match(tab, nt, sr, 5, &m, err, sizeof(err)), 0);
	assert_int_equal(m.argc, 3);
	assert_int_equal(vc_admin_verb_match(tab, nt, sr0, 2, &m, err, sizeof(err)), -1);
	assert_string_equal(err, "usage: vcctl sessions revoke TOKEN...");
	/* "users" matches as a verb, so "users frob" is an argument error. */
	assert_int_equal(vc_admin_verb_match(tab, nt, ux, 2, &m, err, sizeof(err)), -1);
	assert_string_equal(err, "usage: vcctl users");
}

/* ---- the tables -------------------------------------------------------- */

static void test_table_well_formed(void **state)
{
	size_t n;
	const vc_admin_verb_t *v = vc_admin_verbs(&n);

	assert_true(n > 0);
	for (size_t i = 0; i < n; i++) {
		const char *w = v[i].words;
		size_t hl = strlen(v[i].help);
		assert_true(w[0] != '\0' && w[0] != ' ' && w[strlen(w) - 1] != ' ');
		assert_null(strstr(w, "  "));
		assert_true(strspn(w, "abcdefghijklmnopqrstuvwxyz- ") == strlen(w));
		assert_true(hl > 0 && v[i].help[hl - 1] != '.');
		assert_true(v[i].min_args >= 0);
		assert_true(v[i].max_args == VC_ADMIN_ARGS_ANY || v[i].max_args >= v[i].min_args);
		assert_true((v[i].min_args == 0 && v[i].max_args == 0) == (v[i].args[0] == '\0'));
		for (size_t j = 0; j < i; j++)
			if (strcmp(v[j].words, w) == 0)
				fail_msg("verb '%s' is in the table twice", w);
	}
}

static bool has_handler(const char *words)
{
	size_t n;
	const vc_admin_cmd_t *c = vc_admin_cmds(&n);

	for (size_t i = 0; i < n; i++)
		if (strcmp(c[i].verb, words) == 0)
			return c[i].fn != NULL;
	return false;
}

static void test_every_verb_has_a_handler(void **state)
{
	size_t nv, nc;
	const vc_admin_verb_t *v = vc_admin_verbs(&nv);
	const vc_admin_cmd_t *c = vc_admin_cmds(&nc);

	for (size_t i = 0; i < nv; i++) {
		bool local = v[i].flags & VC_ADMIN_LOCAL;
		if (!local && !has_handler(v[i].words))
			fail_msg("verb '%s' has no handler in actors/admin_cmds.c", v[i].words);
		if (local && has_handler(v[i].words))
			fail_msg("verb '%s' is answered by vcctl but has a vcd handler",
				 v[i].words);
	}
	for (size_t i = 0; i < nc; i++) {
		size_t j = 0;
		while (j < nv && strcmp(v[j].words, c[i].verb) != 0)
			j++;
		if (j == nv)
			fail_msg("handler '%s' has no verb in wire/admin_proto.c", c[i].verb);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_round_trip),
		cmocka_unit_test(test_request_awkward_words),
		cmocka_unit_test(test_request_encode_rejects),
		cmocka_unit_test(test_request_garbage),
		cmocka_unit_test(test_response_ok),
		cmocka_unit_test(test_response_error),
		cmocka_unit_test(test_response_garbage),
		cmocka_unit_test(test_lookup_builtin),
		cmocka_unit_test(test_lookup_errors),
		cmocka_unit_test(test_lookup_longest_prefix),
		cmocka_unit_test(test_table_well_formed),
		cmocka_unit_test(test_every_verb_has_a_handler),
	};
	return cmocka_run_group_tests_name("admin_proto", tests, NULL, NULL);
}
