/*
 * test_utf8.c — the UTF-8 helpers of runtime/util.c: characters counted as
 * PostgreSQL's varchar counts them, prefixes that never cut a character,
 * and the scrub that makes client text safe for the database and the log
 * (invalid or cut sequences and control characters become '?').
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/vc.h"

static void test_chars(void **state)
{
	assert_int_equal(vc_utf8_chars(""), 0);
	assert_int_equal(vc_utf8_chars("abc"), 3);
	assert_int_equal(vc_utf8_chars("\xc3\xa9t\xc3\xa9"), 3);     /* été */
	assert_int_equal(vc_utf8_chars("\xf0\x9f\x98\x80!"), 2);     /* 😀! */
	assert_int_equal(vc_utf8_chars("\xe2\x82\xac\xe2\x82\xac"), 2); /* €€ */
}

static void test_prefix(void **state)
{
	const char *s = "a\xc3\xa9\xf0\x9f\x98\x80z"; /* a é 😀 z: 1 + 2 + 4 + 1 bytes */

	assert_int_equal(vc_utf8_prefix(s, 100), 8);
	assert_int_equal(vc_utf8_prefix(s, 8), 8);
	assert_int_equal(vc_utf8_prefix(s, 7), 7);
	assert_int_equal(vc_utf8_prefix(s, 6), 3); /* not into the 😀 */
	assert_int_equal(vc_utf8_prefix(s, 4), 3);
	assert_int_equal(vc_utf8_prefix(s, 2), 1); /* not into the é */
	assert_int_equal(vc_utf8_prefix(s, 0), 0);
}

/* scrub(in) must give want (same length). */
static void scrubbed(const char *in, const char *want)
{
	char *s = strdup(in);

	vc_utf8_scrub(s, strlen(s));
	assert_string_equal(s, want);
	free(s);
}

static void test_scrub(void **state)
{
	scrubbed("Mozilla/5.0 (X11) \xc3\xa9\xf0\x9f\x98\x80", "Mozilla/5.0 (X11) \xc3\xa9\xf0\x9f\x98\x80");
	scrubbed("a\xff\xfe\x80z", "a???z");                       /* not UTF-8 at all */
	scrubbed("\xc3", "?");                                     /* cut: lead byte alone */
	scrubbed("\xf0\x9f\x98", "???");                           /* cut 4-byte sequence */
	scrubbed("\xc0\xaf", "??");                                /* overlong '/' */
	scrubbed("\xe0\x80\xaf", "???");                           /* overlong, 3 bytes */
	scrubbed("\xed\xa0\x80", "???");                           /* a surrogate, U+D800 */
	scrubbed("\xf4\x90\x80\x80", "????");                      /* above U+10FFFF */
	scrubbed("\xef\xbf\xbf\xf4\x8f\xbf\xbf", "\xef\xbf\xbf\xf4\x8f\xbf\xbf"); /* limits */
	/* a forged log line: new line, carriage return, escape, delete */
	scrubbed("x\n2026 error w0: FORGED\x1b[31m\r\x7f", "x?2026 error w0: FORGED?[31m??");
	scrubbed("tab\there", "tab?here");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chars),
		cmocka_unit_test(test_prefix),
		cmocka_unit_test(test_scrub),
	};

	return cmocka_run_group_tests_name("utf8", tests, NULL, NULL);
}
