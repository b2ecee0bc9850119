/*
 * test_client_addr.c — wire/client_addr.c: the trusted-proxy list (addresses,
 * CIDR blocks at their edges, IPv4-mapped IPv6, errors naming the bad entry)
 * and the client address: X-Forwarded-For ignored unless the peer is trusted,
 * read from the right past trusted hops, ports stripped, garbage stopping the
 * walk, output normalised.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <cmocka.h>

#include "wire/client_addr.h"

static vc_netlist_t *parse_ok(const char *text)
{
	char err[256] = "";
	vc_netlist_t *l = vc_netlist_parse(text, err, sizeof(err));

	if (l == NULL)
		fail_msg("'%s' did not parse: %s", text, err);
	assert_string_equal(err, "");
	return l;
}

/* --- the list ------------------------------------------------------------- */

static void test_netlist_addresses(void **state)
{
	vc_netlist_t *l = parse_ok(" 127.0.0.1, 10.0.0.0/8,::1 ,\tfd00::/8 ");

	assert_true(vc_netlist_contains(l, "127.0.0.1"));
	assert_false(vc_netlist_contains(l, "127.0.0.2"));
	assert_true(vc_netlist_contains(l, "10.1.2.3"));
	assert_false(vc_netlist_contains(l, "11.0.0.1"));
	assert_true(vc_netlist_contains(l, "::1"));
	assert_true(vc_netlist_contains(l, "0:0:0:0:0:0:0:1"));
	assert_false(vc_netlist_contains(l, "::2"));
	assert_true(vc_netlist_contains(l, "fd12:3456::1"));
	assert_false(vc_netlist_contains(l, "fc00::1"));
	/* not addresses */
	assert_false(vc_netlist_contains(l, "localhost"));
	assert_false(vc_netlist_contains(l, ""));
	assert_false(vc_netlist_contains(l, NULL));
	assert_false(vc_netlist_contains(l, "10.1.2.3:80"));
	vc_netlist_free(l);
}

static void test_netlist_empty(void **state)
{
	vc_netlist_t *l = parse_ok("");

	assert_false(vc_netlist_contains(l, "127.0.0.1"));
	assert_false(vc_netlist_contains(l, "::1"));
	vc_netlist_free(l);
	l = parse_ok("  ");
	assert_false(vc_netlist_contains(l, "0.0.0.0"));
	vc_netlist_free(l);
	assert_false(vc_netlist_contains(NULL, "127.0.0.1"));
	vc_netlist_free(NULL);
}

static void test_cidr_edges(void **state)
{
	/* clang-format off */
	static const struct {
		const char *list, *ip;
		bool in;
	} cases[] = {
		{ "0.0.0.0/0",       "0.0.0.0",                 true },
		{ "0.0.0.0/0",       "255.255.255.255",         true },
		{ "0.0.0.0/0",       "::1",                     false },
		{ "0.0.0.0/0",       "::ffff:8.8.8.8",          true },
		{ "::/0",            "2001:db8::1",             true },
		{ "::/0",            "1.2.3.4",                 true },  /* as ::ffff:1.2.3.4 */
		{ "192.0.2.7/32",    "192.0.2.7",               true },
		{ "192.0.2.7/32",    "192.0.2.6",               false },
		{ "192.0.2.7/32",    "192.0.2.8",               false },
		{ "192.0.2.7",       "192.0.2.7",               true },
		{ "2001:db8::7/128", "2001:db8::7",             true },
		{ "2001:db8::7/128", "2001:db8::6",             false },
		{ "2001:db8::7/128", "2001:db8::7:0",           false },
		{ "fc00::/7",        "fc00::",                  true },
		{ "fc00::/7",        "fdff:ffff:ffff:ffff::1",  true },
		{ "fc00::/7",        "fe00::1",                 false },
		{ "fc00::/7",        "fbff::1",                 false },
		{ "10.0.0.0/7",      "10.0.0.0",                true },
		{ "10.0.0.0/7",      "11.255.255.255",          true },
		{ "10.0.0.0/7",      "12.0.0.0",                false },
		{ "10.0.0.0/7",      "9.255.255.255",           false },
		{ "10.1.2.3/8",      "10.200.0.1",              true },  /* host bits ignored */
		{ "192.168.1.0/24",  "192.168.1.255",           true },
		{ "192.168.1.0/24",  "192.168.2.0",             false },
		{ "172.16.0.0/12",   "172.31.255.255",          true },
		{ "172.16.0.0/12",   "172.32.0.0",              false },
		{ "10.0.0.0/8",      "::ffff:10.9.8.7",         true },  /* mapped */
		{ "10.0.0.0/8",      "::10.9.8.7",              false }, /* compatible, not mapped */
		{ "::ffff:10.0.0.0/104", "10.9.8.7",            true },
		{ "::ffff:10.0.0.1", "10.0.0.1",                true },
		{ "0.0.0.0/0",       "fe80::1",                 false },
	};
	/* clang-format on */

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		vc_netlist_t *l = parse_ok(cases[i].list);

		if (vc_netlist_contains(l, cases[i].ip) != cases[i].in)
			fail_msg("'%s' in '%s': expected %s", cases[i].ip, cases[i].list,
			         cases[i].in ? "yes" : "no");
		vc_netlist_free(l);
	}
}

static void test_netlist_errors(void **state)
{
	/* clang-format off */
	static const struct {
		const char *list, *named;
	} cases[] = {
		{ "10.0.0.0/33",               "bad entry '10.0.0.0/33'" },
		{ "::1/129",                   "bad entry '::1/129'" },
		{ "10.0.0.1, proxy.example",   "bad entry 'proxy.example'" },
		{ "10.0.0.1,  1.2.3.4/ , ::1", "bad entry '1.2.3.4/'" },
		{ "1.2.3.4/x",                 "bad entry '1.2.3.4/x'" },
		{ "1.2.3.4/-1",                "bad entry '1.2.3.4/-1'" },
		{ "1.2.3.4/8/8",               "bad entry '1.2.3.4/8/8'" },
		{ "/8",                        "bad entry '/8'" },
		{ "1.2.3",                     "bad entry '1.2.3'" },
		{ "256.0.0.1",                 "bad entry '256.0.0.1'" },
		{ "fe80::1%eth0",              "bad entry 'fe80::1%eth0'" },
		{ "[::1]",                     "bad entry '[::1]'" },
		{ "10.0.0.1:80",               "bad entry '10.0.0.1:80'" },
		{ "10.0.0.1 10.0.0.2",         "bad entry '10.0.0.1 10.0.0.2'" },
		{ "10.0.0.1,,10.0.0.2",        "empty entry" },
		{ "10.0.0.1,",                 "empty entry" },
		{ ",10.0.0.1",                 "empty entry" },
	};
	/* clang-format on */

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[256] = "";

		if (vc_netlist_parse(cases[i].list, err, sizeof(err)) != NULL)
			fail_msg("'%s' parsed", cases[i].list);
		if (strncmp(err, cases[i].named, strlen(cases[i].named)) != 0)
			fail_msg("'%s': got '%s', expected it to start with '%s'", cases[i].list,
			         err, cases[i].named);
		assert_non_null(strstr(err, "expected an IPv4 or IPv6 address or CIDR block"));
	}
	{
		char err[256];

		assert_null(vc_netlist_parse("10.0.0.0/33", err, sizeof(err)));
		assert_string_equal(err, "bad entry '10.0.0.0/33': expected an IPv4 or IPv6 "
		                         "address or CIDR block such as 10.0.0.1, 10.0.0.0/8 "
		                         "or fd00::/8");
		assert_null(vc_netlist_parse("x", NULL, 0));
	}
}

/* --- the client ----------------------------------------------------------- */

static const char *client(const char *trusted, const char *peer, const char *xff)
{
	static char buf[INET6_ADDRSTRLEN];
	vc_netlist_t *l = trusted != NULL ? parse_ok(trusted) : NULL;
	const char *r = vc_client_addr(l, peer, xff, buf, sizeof(buf));

	assert_ptr_equal(r, buf);
	vc_netlist_free(l);
	return r;
}

static void test_no_trusted_ignores_xff(void **state)
{
	assert_string_equal(client(NULL, "192.0.2.1:5555", "198.51.100.7"), "192.0.2.1");
	assert_string_equal(client("", "192.0.2.1:5555", "198.51.100.7"), "192.0.2.1");
	assert_string_equal(client(NULL, "[2001:db8::1]:443", "198.51.100.7"), "2001:db8::1");
	/* the peer is not a trusted proxy: its header means nothing */
	assert_string_equal(client("10.0.0.0/8", "192.0.2.1:5555", "10.0.0.1"), "192.0.2.1");
	assert_string_equal(client("10.0.0.0/8", "192.0.2.1:5555", NULL), "192.0.2.1");
}

static void test_trusted_chain(void **state)
{
	const char *t = "10.0.0.0/8, 2001:db8:ffff::/48";

	/* one proxy */
	assert_string_equal(client(t, "10.0.0.1:80", "198.51.100.7"), "198.51.100.7");
	/* spoofed entries left of the first untrusted one are ignored */
	assert_string_equal(client(t, "10.0.0.1:80", "6.6.6.6, 198.51.100.7, 10.0.0.2"),
	                    "198.51.100.7");
	assert_string_equal(client(t, "10.0.0.1:80", "10.0.0.9,198.51.100.7,10.0.0.3,10.0.0.2"),
	                    "198.51.100.7");
	/* all trusted: the leftmost */
	assert_string_equal(client(t, "10.0.0.1:80", "10.0.0.5, 10.0.0.6"), "10.0.0.5");
	/* no header, or an empty one: the proxy itself */
	assert_string_equal(client(t, "10.0.0.1:80", NULL), "10.0.0.1");
	assert_string_equal(client(t, "10.0.0.1:80", ""), "10.0.0.1");
	assert_string_equal(client(t, "10.0.0.1:80", "  \t "), "10.0.0.1");
}

static void test_ports_stripped(void **state)
{
	const char *t = "10.0.0.0/8, ::1";

	assert_string_equal(client(t, "10.0.0.1:80", "198.51.100.7:1234"), "198.51.100.7");
	assert_string_equal(client(t, "10.0.0.1:80", "198.51.100.7:1234, 10.0.0.2:8080"),
	                    "198.51.100.7");
	assert_string_equal(client(t, "10.0.0.1:80", "[2001:db8::7]:443"), "2001:db8::7");
	assert_string_equal(client(t, "10.0.0.1:80", "[2001:db8::7]"), "2001:db8::7");
	assert_string_equal(client(t, "10.0.0.1:80", "6.6.6.6, [::1]:5, 10.0.0.2"), "6.6.6.6");
	/* peers without a port */
	assert_string_equal(client(t, "10.0.0.1", "198.51.100.7"), "198.51.100.7");
	assert_string_equal(client(t, "::1", "198.51.100.7"), "198.51.100.7");
}

static void test_ipv6(void **state)
{
	const char *t = "::1, 2001:db8:ffff::/48";

	assert_string_equal(client(t, "[::1]:8080", "2001:db8::7"), "2001:db8::7");
	assert_string_equal(client(t, "[::1]:8080", "2001:db8::7, 2001:db8:ffff::2"),
	                    "2001:db8::7");
	/* normalised as inet_ntop writes it */
	assert_string_equal(client(t, "[::1]:8080", "2001:0DB8:0000:0000::0007"), "2001:db8::7");
	assert_string_equal(client(NULL, "[0:0:0:0:0:0:0:1]:1", NULL), "::1");
	/* a v6 proxy passing a v4 client */
	assert_string_equal(client(t, "[2001:db8:ffff::9]:80", "198.51.100.7"), "198.51.100.7");
}

static void test_garbage_stops_walk(void **state)
{
	const char *t = "10.0.0.0/8";

	/* the last trusted hop's view: the entry right of the garbage */
	assert_string_equal(client(t, "10.0.0.1:80", "6.6.6.6, unknown, 10.0.0.2"), "10.0.0.2");
	/* garbage first: the peer */
	assert_string_equal(client(t, "10.0.0.1:80", "unknown"), "10.0.0.1");
	assert_string_equal(client(t, "10.0.0.1:80", "6.6.6.6, <script>"), "10.0.0.1");
	assert_string_equal(client(t, "10.0.0.1:80", "6.6.6.6,"), "10.0.0.1");
	assert_string_equal(client(t, "10.0.0.1:80", "6.6.6.6, , 10.0.0.2"), "10.0.0.2");
	assert_string_equal(client(t, "10.0.0.1:80", "6.6.6.6:abc"), "10.0.0.1");
	assert_string_equal(client(t, "10.0.0.1:80", "6.6.6.6:"), "10.0.0.1");
	assert_string_equal(client(t, "10.0.0.1:80", "6.6.6.6:1234567"), "10.0.0.1");
	assert_string_equal(client(t, "10.0.0.1:80", "[2001:db8::7"), "10.0.0.1");
	assert_string_equal(client(t, "10.0.0.1:80", "[2001:db8::7]x"), "10.0.0.1");
	assert_string_equal(client(t, "10.0.0.1:80", "fe80::1%eth0"), "10.0.0.1");
	assert_string_equal(client(t, "10.0.0.1:80", "6.6.6.6 7.7.7.7"), "10.0.0.1");
	assert_string_equal(client(t, "10.0.0.1:80", "_hidden, 10.0.0.2"), "10.0.0.2");
}

static void test_mapped_ipv4(void **state)
{
	/* a dual-stack socket's view of an IPv4 proxy */
	assert_string_equal(client("10.0.0.0/8", "[::ffff:10.0.0.1]:80", "198.51.100.7"),
	                    "198.51.100.7");
	assert_string_equal(client("10.0.0.0/8", "[::ffff:10.0.0.1]:80", "::ffff:198.51.100.7"),
	                    "198.51.100.7");
	assert_string_equal(client("10.0.0.0/8", "10.0.0.1:80", "198.51.100.7, ::ffff:10.0.0.2"),
	                    "198.51.100.7");
	/* untrusted mapped peer: written as IPv4, so one client is one key */
	assert_string_equal(client(NULL, "[::ffff:192.0.2.1]:80", "6.6.6.6"), "192.0.2.1");
}

/* "6.6.6.6" and then `trusted` hops, 10.0.0.<trusted> down to 10.0.0.1. */
static const char *spoofed_behind(unsigned trusted, char *xff, size_t len)
{
	size_t n = (size_t)snprintf(xff, len, "6.6.6.6");

	for (unsigned i = trusted; i >= 1; i--)
		n += (size_t)snprintf(xff + n, len - n, ", 10.0.%u.%u", i / 256, i % 256);
	assert_true(n < len);
	return xff;
}

static void test_hop_limit(void **state)
{
	char xff[4096];

	/* within 64 entries the untrusted one is found */
	assert_string_equal(client("10.0.0.0/8", "10.0.0.1:80", spoofed_behind(63, xff, 4096)),
	                    "6.6.6.6");
	/* 100 trusted hops: the walk stops after 64, at a trusted one */
	assert_string_equal(client("10.0.0.0/8", "10.0.0.1:80", spoofed_behind(64, xff, 4096)),
	                    "10.0.0.64");
	assert_string_equal(client("10.0.0.0/8", "10.0.0.1:80", spoofed_behind(100, xff, 4096)),
	                    "10.0.0.64");
}

static void test_odd_peers_and_buffers(void **state)
{
	char small[8];
	vc_netlist_t *l = parse_ok("10.0.0.0/8");

	/* not an address: given back as it is, the header unread */
	assert_string_equal(client("10.0.0.0/8", "unix", "198.51.100.7"), "unix");
	assert_string_equal(client(NULL, NULL, NULL), "");
	/* too small for the address: empty, never overrun */
	assert_string_equal(vc_client_addr(l, "[2001:db8::1234]:1", NULL, small, sizeof(small)),
	                    "");
	assert_string_equal(vc_client_addr(l, "1.2.3.4:1", NULL, small, sizeof(small)), "1.2.3.4");
	vc_netlist_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_netlist_addresses),
		cmocka_unit_test(test_netlist_empty),
		cmocka_unit_test(test_cidr_edges),
		cmocka_unit_test(test_netlist_errors),
		cmocka_unit_test(test_no_trusted_ignores_xff),
		cmocka_unit_test(test_trusted_chain),
		cmocka_unit_test(test_ports_stripped),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_garbage_stops_walk),
		cmocka_unit_test(test_mapped_ipv4),
		cmocka_unit_test(test_hop_limit),
		cmocka_unit_test(test_odd_peers_and_buffers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
