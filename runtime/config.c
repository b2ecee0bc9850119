/*
 * config.c — vcd's configuration, driven by one key table.
 *
 * keys[] below is the only place a key is declared: its name, type, default
 * (as text), compatibility environment name, reload safety, secrecy, where it
 * lives in vc_config_t and a one-line description. Parsing the file, the
 * environment and the command line, the `vcctl config show` JSON, the reload
 * diff and `vcd --list-keys` (the documentation check) all walk that table.
 *
 * Every value is applied in order of precedence (default, file, environment,
 * command line); each application parses and validates the text, so an error
 * names the source it came from. Next to the typed field, the text of the
 * effective value and its source are kept for vc_config_to_json().
 *
 * Secrets never appear in error messages; in JSON only the password part of
 * database_url is hidden.
 */
#include "runtime/config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "runtime/log.h"
#include "runtime/ratelimit.h"

#ifndef VC_SYSCONFDIR
#define VC_SYSCONFDIR "/etc"
#endif
#ifndef VC_RUNSTATEDIR
#define VC_RUNSTATEDIR "/run"
#endif
#ifndef VC_PKGDATADIR
#define VC_PKGDATADIR "/usr/share/vcd"
#endif

#define SHOW_MAX 80      /* bytes of a value or key echoed in an error */
#define SUN_PATH_MAX 107 /* sizeof(sockaddr_un.sun_path) - 1 on Linux */
#define WORKERS_MAX 256

enum key_type { T_STRING, T_UINT, T_SIZE, T_DURATION, T_BOOL, T_LOGLEVEL, T_WORKERS };

enum key_flag {
	K_RELOAD = 1 << 0,   /* applied by a reload (SIGHUP, vcctl config reload) */
	K_SECRET = 1 << 1,   /* never echoed; redacted in JSON */
	K_REQUIRED = 1 << 2, /* must not be empty once every source is applied */
};

enum source { SRC_DEFAULT, SRC_FILE, SRC_ENV, SRC_FLAG };
static const char *const source_names[] = { "default", "file", "env", "flag" };

struct key;
/* A string check returns the value to store (allocated), or NULL if invalid. */
typedef char *(*check_fn)(const struct key *k, const char *text);
/* Returns an allocated copy of a secret value with the secret parts hidden. */
typedef char *(*redact_fn)(const char *text);

struct key {
	const char *name;
	enum key_type type;
	const char *def;  /* default, as text */
	const char *env;  /* compatibility environment name, or NULL */
	const char *env2; /* a second one, whose value takes env2_unit, or NULL */
	const char *env2_unit;
	unsigned flags;     /* enum key_flag */
	size_t offset;      /* into vc_config_t */
	uint64_t min, max;  /* uint/size/workers: value; duration: ms; string: length */
	check_fn check;     /* T_STRING only; NULL accepts anything */
	redact_fn redact;   /* K_SECRET only; NULL hides the whole value */
	const char *expect; /* what a valid value looks like; NULL: derived from type */
	const char *help;   /* one line for humans */
};

static char *check_listen(const struct key *k, const char *text);
static char *check_path(const struct key *k, const char *text);
static char *check_dburl(const struct key *k, const char *text);
static char *check_origins(const struct key *k, const char *text);
static char *check_cookie_name(const struct key *k, const char *text);
static char *check_cookie_domain(const struct key *k, const char *text);
static char *check_embed_url(const struct key *k, const char *text);
static char *check_rate(const struct key *k, const char *text);
static char *check_base_url(const struct key *k, const char *text);
static char *check_access_level(const struct key *k, const char *text);
static char *redact_dburl(const char *text);

#define OFF(field) offsetof(vc_config_t, field)
#define KB 1024ull
#define MB (1024ull * 1024ull)
#define GB (1024ull * 1024ull * 1024ull)
#define DAY_MS (24ull * 3600ull * 1000ull)

/* clang-format off */
static const struct key keys[] = {
	{ .name = "listen", .type = T_STRING, .def = "127.0.0.1:8081", .env = "LISTEN_ADDR",
	  .offset = OFF(listen), .check = check_listen,
	  .expect = "host:port such as 127.0.0.1:8081, 0.0.0.0:8081 or [::1]:8081, "
		    "with a port from 1 to 65535",
	  .help = "address and port of the HTTP and WebSocket listener" },
	{ .name = "workers", .type = T_WORKERS, .def = "auto", .offset = OFF(workers),
	  .min = 1, .max = WORKERS_MAX,
	  .help = "worker threads, each with its own event loop; auto: one per CPU" },
	{ .name = "database_url", .type = T_STRING, .def = "", .env = "DATABASE_URL",
	  .flags = K_SECRET | K_REQUIRED, .offset = OFF(database_url), .check = check_dburl,
	  .redact = redact_dburl,
	  .expect = "a URL such as postgresql://user:password@host/dbname "
		    "or a conninfo string such as host=/run/postgresql dbname=vcd",
	  .help = "PostgreSQL connection (libpq URL or conninfo); required" },
	{ .name = "db_pool_size", .type = T_UINT, .def = "1", .offset = OFF(db_pool_size),
	  .min = 1, .max = 64, .help = "PostgreSQL connections per worker" },
	{ .name = "db_group_commit", .type = T_BOOL, .def = "true", .flags = K_RELOAD,
	  .offset = OFF(db_group_commit),
	  .help = "commit the statements waiting together in one transaction" },
	{ .name = "migrations_dir", .type = T_STRING, .def = VC_PKGDATADIR "/sql",
	  .offset = OFF(migrations_dir), .max = PATH_MAX - 1, .check = check_path,
	  .help = "directory of the numbered SQL migrations applied at start" },
	{ .name = "admin_socket", .type = T_STRING, .def = VC_RUNSTATEDIR "/vcd.sock",
	  .offset = OFF(admin_socket), .max = SUN_PATH_MAX, .check = check_path,
	  .help = "path of the Unix socket vcctl talks to" },
	{ .name = "log_level", .type = T_LOGLEVEL, .def = "info", .flags = K_RELOAD,
	  .offset = OFF(log_level), .help = "least severe level logged: error, warn, info, debug" },
	{ .name = "max_connections", .type = T_UINT, .def = "10000", .flags = K_RELOAD,
	  .offset = OFF(max_connections), .min = 1, .max = 1000000,
	  .help = "HTTP and WebSocket connections accepted, all workers together" },
	{ .name = "max_body", .type = T_SIZE, .def = "1m", .flags = K_RELOAD,
	  .offset = OFF(max_body), .min = KB, .max = GB,
	  .help = "largest request body accepted" },
	{ .name = "max_header_size", .type = T_SIZE, .def = "8k", .flags = K_RELOAD,
	  .offset = OFF(max_header_size), .min = KB, .max = 64 * KB,
	  .help = "largest request line plus headers accepted" },
	{ .name = "max_uri", .type = T_SIZE, .def = "8k", .flags = K_RELOAD,
	  .offset = OFF(max_uri), .min = 256, .max = MB,
	  .help = "longest request target accepted" },
	{ .name = "request_timeout", .type = T_DURATION, .def = "30s", .flags = K_RELOAD,
	  .offset = OFF(request_timeout), .min = 1, .max = DAY_MS,
	  .help = "time a client has to send a whole request" },
	{ .name = "idle_timeout", .type = T_DURATION, .def = "60s", .flags = K_RELOAD,
	  .offset = OFF(idle_timeout), .min = 1, .max = DAY_MS,
	  .help = "time an idle keep-alive connection is kept open" },
	{ .name = "shutdown_timeout", .type = T_DURATION, .def = "10s", .flags = K_RELOAD,
	  .offset = OFF(shutdown_timeout), .min = 1, .max = DAY_MS,
	  .help = "time SIGTERM waits for in-flight work before exiting" },
	{ .name = "cors_allowed_origin", .type = T_STRING, .def = "", .env = "CORS_ALLOWED_ORIGIN",
	  .flags = K_RELOAD, .offset = OFF(cors_allowed_origin), .check = check_origins,
	  .expect = "a comma-separated list of origins (scheme://host[:port], no path) "
		    "such as https://meet.example.com,http://localhost:8080, "
		    "or nothing to mirror the request Origin",
	  .help = "origins allowed by CORS; empty mirrors the request Origin" },
	{ .name = "cors_allowlist", .type = T_STRING, .def = "", .env = "CORS_ALLOWLIST",
	  .flags = K_RELOAD, .offset = OFF(cors_allowlist), .check = check_origins,
	  .expect = "a comma-separated list of origins (scheme://host[:port], no path)",
	  .help = "more origins allowed by CORS, with credentials (Toju's CORS_ALLOWLIST)" },
	{ .name = "offload_threads", .type = T_WORKERS, .def = "auto",
	  .offset = OFF(offload_threads), .min = 1, .max = WORKERS_MAX,
	  .help = "threads for CPU-heavy work such as password hashing; auto: one per CPU" },
	{ .name = "nats_url", .type = T_STRING, .def = "", .env = "NATS_URL",
	  .flags = K_SECRET, .offset = OFF(nats_url),
	  .help = "NATS server(s), nats://host:port[,...]; empty: a single node, no events" },
	{ .name = "nats_publish_queue", .type = T_SIZE, .def = "16m",
	  .offset = OFF(nats_publish_queue), .min = 64 * KB, .max = GB,
	  .help = "bytes of publishes waiting for NATS past which more are dropped (counted)" },
	{ .name = "jwt_secret", .type = T_STRING, .def = "", .env = "JWT_SECRET",
	  .flags = K_SECRET, .offset = OFF(jwt_secret),
	  .help = "HMAC key of videocall.rs tokens; must equal the media server's JWT_SECRET" },
	{ .name = "session_jwt_compat", .type = T_BOOL, .def = "false", .flags = K_RELOAD,
	  .offset = OFF(session_jwt_compat),
	  .help = "also accept videocall.rs stateless session JWTs (they cannot be revoked)" },
	{ .name = "session_ttl", .type = T_DURATION, .def = "30d", .env = "SESSION_TTL_SECS",
	  .env2 = "SESSION_TOKEN_TTL_MS", .env2_unit = "ms", .flags = K_RELOAD,
	  .offset = OFF(session_ttl), .min = 60000, .max = 3650 * DAY_MS,
	  .help = "lifetime of a new login session (and of its cookie)" },
	{ .name = "session_cache_ttl", .type = T_DURATION, .def = "10s", .flags = K_RELOAD,
	  .offset = OFF(session_cache_ttl), .min = 1, .max = 3600000,
	  .help = "how long a node trusts a cached session before asking PostgreSQL again" },
	{ .name = "cookie_name", .type = T_STRING, .def = "session", .env = "COOKIE_NAME",
	  .flags = K_RELOAD, .offset = OFF(cookie_name), .min = 1, .max = 64,
	  .check = check_cookie_name,
	  .expect = "a cookie name: letters, digits and !#$%&'*+-.^_`|~",
	  .help = "name of the session cookie" },
	{ .name = "cookie_secure", .type = T_BOOL, .def = "true", .env = "COOKIE_SECURE",
	  .flags = K_RELOAD, .offset = OFF(cookie_secure),
	  .help = "mark the session cookie Secure (HTTPS only); false for plain-HTTP setups" },
	{ .name = "cookie_domain", .type = T_STRING, .def = "", .env = "COOKIE_DOMAIN",
	  .flags = K_RELOAD, .offset = OFF(cookie_domain), .max = 253,
	  .check = check_cookie_domain, .expect = "a domain name such as example.com, or nothing",
	  .help = "Domain attribute of the session cookie; empty: the host only" },
	{ .name = "auth_rate_limit", .type = T_STRING, .def = "100/15m", .flags = K_RELOAD,
	  .offset = OFF(auth_rate_limit), .check = check_rate,
	  .expect = "COUNT/DURATION such as 100/15m, or off",
	  .help = "login and register attempts allowed per client address and window" },
	{ .name = "server_join_rate_limit", .type = T_STRING, .def = "30/1m", .flags = K_RELOAD,
	  .offset = OFF(server_join_rate_limit), .check = check_rate,
	  .expect = "COUNT/DURATION such as 30/1m, or off",
	  .help = "server joins (POST /api/servers/{id}/join) allowed per user and window" },
	{ .name = "token_ttl", .type = T_DURATION, .def = "60s", .env = "TOKEN_TTL_SECS",
	  .flags = K_RELOAD, .offset = OFF(token_ttl), .min = 1000, .max = 3650 * DAY_MS,
	  .help = "lifetime of a room access token (clients refresh it with GET /status)" },
	{ .name = "meeting_idle_timeout", .type = T_DURATION, .def = "60s", .flags = K_RELOAD,
	  .offset = OFF(meeting_idle_timeout), .min = 100, .max = DAY_MS,
	  .help = "how long a meeting's actor stays in memory with nothing to do" },
	{ .name = "trusted_proxies", .type = T_STRING, .def = "", .flags = K_RELOAD,
	  .offset = OFF(trusted_proxies), .max = 4096,
	  .help = "reverse proxies (addresses, CIDR blocks) whose X-Forwarded-For is believed" },
	{ .name = "feature_meeting_management", .type = T_BOOL, .def = "false",
	  .env = "FEATURE_MEETING_MANAGEMENT", .flags = K_RELOAD,
	  .offset = OFF(feature_meeting_management),
	  .help = "refuse the deprecated token-less GET /lobby/{user_id}/{room} with 410" },
	{ .name = "ws_max_message", .type = T_SIZE, .def = "4000000", .flags = K_RELOAD,
	  .offset = OFF(ws_max_message), .min = KB, .max = 64 * MB,
	  .help = "largest WebSocket message accepted, fragments together (larger: close 1009)" },
	{ .name = "ws_ping_interval", .type = T_DURATION, .def = "5s", .flags = K_RELOAD,
	  .offset = OFF(ws_ping_interval), .min = 100, .max = DAY_MS,
	  .help = "time between the pings vcd sends on every WebSocket" },
	{ .name = "ws_idle_timeout", .type = T_DURATION, .def = "30s", .flags = K_RELOAD,
	  .offset = OFF(ws_idle_timeout), .min = 100, .max = DAY_MS,
	  .help = "a WebSocket that sends no frame for this long is closed (4002)" },
	{ .name = "ws_send_buffer", .type = T_SIZE, .def = "1m", .flags = K_RELOAD,
	  .offset = OFF(ws_send_buffer), .min = 4 * KB, .max = GB,
	  .help = "queued output past which a WebSocket loses media (a slow reader)" },
	{ .name = "ws_send_buffer_max", .type = T_SIZE, .def = "8m", .flags = K_RELOAD,
	  .offset = OFF(ws_send_buffer_max), .min = 64 * KB, .max = GB,
	  .help = "queued output past which a WebSocket is closed (4001, reconnect)" },
	{ .name = "lobby_reconnect_grace", .type = T_DURATION, .def = "2s", .flags = K_RELOAD,
	  .offset = OFF(lobby_reconnect_grace), .min = 0, .max = 3600000,
	  .help = "a media session that comes back within this time is a reconnect (no LEFT/JOINED)" },
	{ .name = "embed_server_url", .type = T_STRING, .def = "", .flags = K_RELOAD,
	  .offset = OFF(embed_server_url), .max = 2048, .check = check_embed_url,
	  .expect = "an http:// or https:// URL without a trailing slash, or nothing",
	  .help = "serverUrl of embed credentials; empty: scheme://Host of the request" },
	{ .name = "signal_max_message", .type = T_SIZE, .def = "64k", .flags = K_RELOAD,
	  .offset = OFF(signal_max_message), .min = 1024, .max = 16 * MB,
	  .help = "largest /ws message; larger ones are refused (error too_big)" },
	{ .name = "signal_rate", .type = T_UINT, .def = "20", .flags = K_RELOAD,
	  .offset = OFF(signal_rate), .min = 1, .max = 100000,
	  .help = "/ws messages per second per connection (error rate_limited beyond)" },
	{ .name = "signal_burst", .type = T_UINT, .def = "60", .flags = K_RELOAD,
	  .offset = OFF(signal_burst), .min = 1, .max = 1000000,
	  .help = "/ws messages a connection may send at once above signal_rate" },
	{ .name = "signal_max_user_connections", .type = T_UINT, .def = "20", .flags = K_RELOAD,
	  .offset = OFF(signal_max_user_connections), .min = 1, .max = 100000,
	  .help = "/ws connections of one user on one node (auth_error beyond)" },
	{ .name = "account_sync_keep", .type = T_UINT, .def = "1000", .flags = K_RELOAD,
	  .offset = OFF(account_sync_keep), .min = 1, .max = 10000000,
	  .help = "account_sync messages kept per user for devices to catch up" },
	{ .name = "account_sync_retention", .type = T_DURATION, .def = "7d", .flags = K_RELOAD,
	  .offset = OFF(account_sync_retention), .min = 60000, .max = 3650 * DAY_MS,
	  .help = "how long account_sync messages are kept for devices to catch up" },
	{ .name = "external_api", .type = T_BOOL, .def = "false", .env = "EXTERNAL_API_ENABLED",
	  .flags = K_RELOAD, .offset = OFF(external_api),
	  .help = "serve the external API (/external-api/, La Suite Meet's); off: plain 404" },
	{ .name = "external_api_applications", .type = T_BOOL, .def = "false",
	  .env = "APPLICATION_ENABLED", .flags = K_RELOAD, .offset = OFF(external_api_applications),
	  .help = "serve the application token endpoint of the external API; off: 404" },
	{ .name = "external_api_base_url", .type = T_STRING, .def = "", .env = "APPLICATION_BASE_URL",
	  .flags = K_RELOAD, .offset = OFF(external_api_base_url), .max = 2048,
	  .check = check_base_url, .expect = "an http:// or https:// URL without a trailing /, or nothing",
	  .help = "rooms of the external API carry url = this + \"/\" + slug; empty: no url" },
	{ .name = "external_api_default_access_level", .type = T_STRING, .def = "trusted",
	  .env = "EXTERNAL_API_DEFAULT_ACCESS_LEVEL", .flags = K_RELOAD,
	  .offset = OFF(external_api_default_access_level), .check = check_access_level,
	  .expect = "public, trusted or restricted",
	  .help = "access level of a room the external API creates without one" },
	{ .name = "external_api_allow_public", .type = T_BOOL, .def = "false",
	  .env = "EXTERNAL_API_ALLOW_PUBLIC_ACCESS", .flags = K_RELOAD,
	  .offset = OFF(external_api_allow_public),
	  .help = "the external API may create public rooms (always when the default is public)" },
};
/* clang-format on */

#define NKEYS VC_ARRAY_LEN(keys)

/* What vc_config_load() hands out: the public struct plus, per key, the
 * text of the effective value and where it came from. */
struct conf {
	vc_config_t pub;
	char *text[NKEYS];
	unsigned char source[NKEYS];
};

static _Atomic(vc_config_t *) running;

static struct conf *conf_of(const vc_config_t *c)
{
	return vc_container_of((vc_config_t *)c, struct conf, pub);
}

static void *field_of(vc_config_t *c, const struct key *k)
{
	return (char *)c + k->offset;
}

/* --- small helpers -------------------------------------------------------- */

static int fail(char *err, size_t errlen, const char *fmt, ...) VC_PRINTF(3, 4);

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* Copy s for an error line: printable ASCII only, at most SHOW_MAX bytes. */
static void show_text(char *buf, size_t len, const char *s)
{
	size_t n = 0;

	for (; *s != '\0' && n + 4 < len; s++) {
		if (n == SHOW_MAX) {
			memcpy(buf + n, "...", 3);
			n += 3;
			break;
		}
		buf[n++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
	}
	buf[n] = '\0';
}

static void show_value(char *buf, size_t len, const struct key *k, const char *s)
{
	if (k->flags & K_SECRET)
		snprintf(buf, len, "***");
	else
		show_text(buf, len, s);
}

static bool all_digits(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* Decimal digits [s, s+n) into *out; false on anything else or overflow. */
static bool parse_u64(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (!all_digits(s, n))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

static bool span_of(const char *s, const char *end, const char *extra)
{
	if (s == end)
		return false;
	for (; s < end; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr(extra, *s) != NULL))
			return false;
	return true;
}

static bool valid_port(const char *s, size_t n)
{
	uint64_t port;

	return n <= 5 && parse_u64(s, n, &port) && port >= 1 && port <= 65535;
}

/* "host:port" or "[v6]:port"; *rest is set to what follows the host. */
static bool split_host(const char *s, const char **rest)
{
	const char *end;

	if (s[0] == '[') {
		end = strchr(s, ']');
		if (end == NULL || memchr(s, ':', (size_t)(end - s)) == NULL ||
		    !span_of(s + 1, end, ":.%_-"))
			return false;
		*rest = end + 1;
		return true;
	}
	end = s + strcspn(s, ":/");
	*rest = end;
	return span_of(s, end, ".-_");
}

/* --- string checks -------------------------------------------------------- */

static char *check_listen(const struct key *k, const char *text)
{
	const char *rest;

	if (!split_host(text, &rest) || rest[0] != ':' || !valid_port(rest + 1, strlen(rest + 1)))
		return NULL;
	return vc_strdup(text);
}

static char *check_path(const struct key *k, const char *text)
{
	size_t n = strlen(text);

	if (n == 0 || n > k->max)
		return NULL;
	return vc_strdup(text);
}

static bool has_prefix(const char *s, const char *prefix)
{
	return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

static bool is_pg_url(const char *s)
{
	return has_prefix(s, "postgresql://") || has_prefix(s, "postgres://");
}

static char *check_dburl(const struct key *k, const char *text)
{
	if (text[0] != '\0' && !is_pg_url(text) && strchr(text, '=') == NULL)
		return NULL;
	return vc_strdup(text);
}

/* One origin, [s, end) without surrounding blanks, appended lowercased. */
static bool add_origin(char *out, size_t *n, const char *s, const char *end)
{
	const char *rest, *host;
	char *h;

	if (has_prefix(s, "https://"))
		host = s + 8;
	else if (has_prefix(s, "http://"))
		host = s + 7;
	else
		return false;
	h = vc_strndup(host, (size_t)(end - host));
	bool ok = split_host(h, &rest) &&
	          (rest[0] == '\0' || (rest[0] == ':' && valid_port(rest + 1, strlen(rest + 1))));
	free(h);
	if (!ok)
		return false;
	if (*n > 0)
		out[(*n)++] = ',';
	for (; s < end; s++)
		out[(*n)++] = (*s >= 'A' && *s <= 'Z') ? (char)(*s - 'A' + 'a') : *s;
	return true;
}

/* "a, b,c" becomes "a,b,c"; an empty text stays empty. */
static char *check_origins(const struct key *k, const char *text)
{
	char *out = vc_malloc(strlen(text) + 1);
	const char *s = text, *end;
	size_t n = 0;

	s += strspn(s, " \t");
	while (*s != '\0') {
		end = s + strcspn(s, ",");
		const char *last = end;
		while (last > s && (last[-1] == ' ' || last[-1] == '\t'))
			last--;
		if (!add_origin(out, &n, s, last)) {
			free(out);
			return NULL;
		}
		if (*end == '\0')
			break;
		s = end + 1 + strspn(end + 1, " \t");
		if (*s == '\0') { /* a trailing comma */
			free(out);
			return NULL;
		}
	}
	out[n] = '\0';
	return out;
}

static char *check_cookie_name(const struct key *k, const char *text)
{
	static const char ok[] = "!#$%&'*+-.^_`|~";

	for (const char *p = text; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && strchr(ok, *p) == NULL)
			return NULL;
	return vc_strdup(text);
}

static char *check_embed_url(const struct key *k, const char *text)
{
	size_t n = strlen(text);

	if (n == 0)
		return vc_strdup(text);
	if ((strncmp(text, "http://", 7) != 0 && strncmp(text, "https://", 8) != 0) ||
	    text[n - 1] == '/' || strpbrk(text, " \t\r\n\"\\") != NULL)
		return NULL;
	return vc_strdup(text);
}

static char *check_cookie_domain(const struct key *k, const char *text)
{
	for (const char *p = text; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.')
			return NULL;
	return vc_strdup(text);
}

static char *check_rate(const struct key *k, const char *text)
{
	unsigned limit;
	double window;
	char err[128];

	if (vc_ratelimit_parse(text, &limit, &window, err, sizeof(err)) < 0)
		return NULL;
	return vc_strdup(text);
}

static char *check_base_url(const struct key *k, const char *text)
{
	size_t n = strlen(text);

	if (n == 0)
		return vc_strdup(text);
	if ((strncmp(text, "http://", 7) != 0 && strncmp(text, "https://", 8) != 0) ||
	    text[n - 1] == '/')
		return NULL;
	for (const char *p = text; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f || *p == '"')
			return NULL;
	return vc_strdup(text);
}

static char *check_access_level(const struct key *k, const char *text)
{
	static const char *const levels[] = { "public", "trusted", "restricted" };

	for (size_t i = 0; i < VC_ARRAY_LEN(levels); i++)
		if (strcmp(text, levels[i]) == 0)
			return vc_strdup(text);
	return NULL;
}

/* --- redaction of database_url -------------------------------------------- */

/* libpq parameters that hold a secret (in a conninfo or a URL query). */
static const char *const secret_params[] = { "password", "sslpassword" };

static bool is_secret_param(const char *s, size_t n)
{
	for (size_t i = 0; i < VC_ARRAY_LEN(secret_params); i++)
		if (strlen(secret_params[i]) == n && strncmp(s, secret_params[i], n) == 0)
			return true;
	return false;
}

/* Replace [from, to) of s with "***"; returns a new string, frees s. */
static char *splice_stars(char *s, size_t from, size_t to)
{
	size_t len = strlen(s);
	char *out = vc_malloc(len - (to - from) + 4);

	memcpy(out, s, from);
	memcpy(out + from, "***", 3);
	memcpy(out + from + 3, s + to, len - to + 1);
	free(s);
	return out;
}

/* postgresql://user:PASSWORD@host/db?...&password=PASSWORD&... */
static char *redact_url(char *s)
{
	size_t start = (size_t)(strstr(s, "://") - s) + 3;
	size_t stop = start + strcspn(s + start, "?");
	char *at = NULL, *colon, *p;

	for (p = s + start; p < s + stop; p++)
		if (*p == '@')
			at = p;
	if (at != NULL) {
		colon = memchr(s + start, ':', (size_t)(at - (s + start)));
		if (colon != NULL)
			s = splice_stars(s, (size_t)(colon + 1 - s), (size_t)(at - s));
	}
	for (p = strchr(s, '?'); p != NULL; p = strchr(p + 1, '&')) {
		size_t name = strcspn(p + 1, "=&#");
		if (p[1 + name] == '=' && is_secret_param(p + 1, name)) {
			size_t from = (size_t)(p + 2 + name - s);
			s = splice_stars(s, from, from + strcspn(s + from, "&#"));
			p = s + from;
		}
	}
	return s;
}

/* End of a conninfo value starting at v: 'quoted \' value' or up to a blank. */
static size_t conninfo_value_len(const char *v)
{
	size_t i = 0;

	if (v[0] != '\'')
		return strcspn(v, " \t\r\n");
	for (i = 1; v[i] != '\0' && v[i] != '\''; i++)
		if (v[i] == '\\' && v[i + 1] != '\0')
			i++;
	return v[i] == '\'' ? i + 1 : i;
}

/* host=... password=PASSWORD dbname=... */
static char *redact_conninfo(char *s)
{
	size_t i = 0;

	while (s[i] != '\0') {
		i += strspn(s + i, " \t\r\n");
		size_t kw = strcspn(s + i, " \t\r\n=");
		bool is_pw = is_secret_param(s + i, kw);
		i += kw;
		i += strspn(s + i, " \t\r\n");
		if (s[i] != '=')
			continue;
		i++;
		i += strspn(s + i, " \t\r\n");
		size_t vlen = conninfo_value_len(s + i);
		if (is_pw) {
			s = splice_stars(s, i, i + vlen);
			vlen = 3;
		}
		i += vlen;
	}
	return s;
}

static char *redact_dburl(const char *text)
{
	char *s = vc_strdup(text);

	return is_pg_url(s) ? redact_url(s) : redact_conninfo(s);
}

/* --- value types ---------------------------------------------------------- */

static void format_size(char *buf, size_t len, uint64_t v)
{
	static const struct {
		uint64_t mult;
		const char *suffix;
	} units[] = {
		{ GB, "g" },
		{ MB, "m" },
		{ KB, "k" },
	};

	for (size_t i = 0; i < VC_ARRAY_LEN(units); i++) {
		if (v != 0 && v % units[i].mult == 0) {
			snprintf(buf, len, "%llu%s", (unsigned long long)(v / units[i].mult),
			         units[i].suffix);
			return;
		}
	}
	snprintf(buf, len, "%llu", (unsigned long long)v);
}

static void format_ms(char *buf, size_t len, uint64_t ms)
{
	static const struct {
		uint64_t mult;
		const char *suffix;
	} units[] = {
		{ 3600000, "h" },
		{ 60000, "m" },
		{ 1000, "s" },
		{ 1, "ms" },
	};

	for (size_t i = 0; i < VC_ARRAY_LEN(units); i++) {
		if (ms % units[i].mult == 0 || units[i].mult == 1) {
			snprintf(buf, len, "%llu%s", (unsigned long long)(ms / units[i].mult),
			         units[i].suffix);
			return;
		}
	}
}

static int parse_string(const struct key *k, const char *text, void *field)
{
	char *v = k->check != NULL ? k->check(k, text) : vc_strdup(text);

	if (v == NULL)
		return -1;
	free(*(char **)field);
	*(char **)field = v;
	return 0;
}

static int parse_uint(const struct key *k, const char *text, void *field)
{
	uint64_t v;

	if (!parse_u64(text, strlen(text), &v) || v < k->min || v > k->max)
		return -1;
	*(unsigned *)field = (unsigned)v;
	return 0;
}

static int parse_size(const struct key *k, const char *text, void *field)
{
	static const char suffixes[] = "kmg";
	size_t n = strlen(text);
	uint64_t v, mult = 1;
	const char *sfx;

	if (n > 0 && (sfx = strchr(suffixes, text[n - 1] | 0x20)) != NULL) {
		mult = KB << (10 * (sfx - suffixes));
		n--;
	}
	if (!parse_u64(text, n, &v) || v > UINT64_MAX / mult)
		return -1;
	v *= mult;
	if (v < k->min || v > k->max || v > SIZE_MAX)
		return -1;
	*(size_t *)field = (size_t)v;
	return 0;
}

/* A duration (vc_parse_seconds) within the key's bounds, in seconds. */
static int parse_duration(const struct key *k, const char *text, void *field)
{
	double secs = vc_parse_seconds(text);

	if (!(secs >= 0 && secs * 1000.0 >= (double)k->min && secs * 1000.0 <= (double)k->max))
		return -1;
	*(double *)field = secs;
	return 0;
}

static int parse_bool(const struct key *k, const char *text, void *field)
{
	static const struct {
		const char *word;
		bool v;
	} words[] = {
		{ "true", true },   { "yes", true }, { "on", true },   { "1", true },
		{ "false", false }, { "no", false }, { "off", false }, { "0", false },
	};

	for (size_t i = 0; i < VC_ARRAY_LEN(words); i++) {
		if (strcasecmp(text, words[i].word) == 0) {
			*(bool *)field = words[i].v;
			return 0;
		}
	}
	return -1;
}

static int parse_loglevel(const struct key *k, const char *text, void *field)
{
	int level = vc_log_level_parse(text);

	if (level < 0)
		return -1;
	*(int *)field = level;
	return 0;
}

static int parse_workers(const struct key *k, const char *text, void *field)
{
	long n;

	if (strcasecmp(text, "auto") != 0)
		return parse_uint(k, text, field);
	n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < (long)k->min)
		n = (long)k->min;
	if (n > (long)k->max)
		n = (long)k->max;
	*(unsigned *)field = (unsigned)n;
	return 0;
}

static void expect_string(const struct key *k, char *buf, size_t len)
{
	if (k->expect != NULL)
		snprintf(buf, len, "%s", k->expect);
	else if (k->check == check_path)
		snprintf(buf, len, "a non-empty path of at most %llu bytes%s",
		         (unsigned long long)k->max,
		         k->max == SUN_PATH_MAX ? " (the limit for a Unix socket)" : "");
	else
		snprintf(buf, len, "a string");
}

static void expect_uint(const struct key *k, char *buf, size_t len)
{
	snprintf(buf, len, "an integer from %llu to %llu", (unsigned long long)k->min,
	         (unsigned long long)k->max);
}

static void expect_size(const struct key *k, char *buf, size_t len)
{
	char lo[32], hi[32];

	format_size(lo, sizeof(lo), k->min);
	format_size(hi, sizeof(hi), k->max);
	snprintf(buf, len, "a size such as 1048576, 64k or 1m, from %s to %s", lo, hi);
}

static void expect_duration(const struct key *k, char *buf, size_t len)
{
	char lo[32], hi[32];

	format_ms(lo, sizeof(lo), k->min);
	format_ms(hi, sizeof(hi), k->max);
	snprintf(buf, len, "a duration such as 30, 1.5, 500ms, 30s, 5m, 1h or 7d, from %s to %s",
	         lo, hi);
}

static void expect_bool(const struct key *k, char *buf, size_t len)
{
	snprintf(buf, len, "true or false (or yes/no, on/off, 1/0)");
}

static void expect_loglevel(const struct key *k, char *buf, size_t len)
{
	snprintf(buf, len, "one of error, warn, info, debug");
}

static void expect_workers(const struct key *k, char *buf, size_t len)
{
	snprintf(buf, len, "auto or an integer from %llu to %llu", (unsigned long long)k->min,
	         (unsigned long long)k->max);
}

/* The text kept for JSON: the canonical form where there is one. */
static char *text_uint(const struct key *k, const char *text, const void *field)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%u", *(const unsigned *)field);
	return vc_strdup(buf);
}

static char *text_workers(const struct key *k, const char *text, const void *field)
{
	if (strcasecmp(text, "auto") == 0)
		return vc_strdup("auto");
	return text_uint(k, text, field);
}

static char *text_string(const struct key *k, const char *text, const void *field)
{
	return vc_strdup(*(char *const *)field);
}

static char *text_bool(const struct key *k, const char *text, const void *field)
{
	return vc_strdup(*(const bool *)field ? "true" : "false");
}

static char *text_loglevel(const struct key *k, const char *text, const void *field)
{
	return vc_strdup(vc_log_level_name(*(const int *)field));
}

static char *text_lower(const struct key *k, const char *text, const void *field)
{
	char *s = vc_strdup(text);

	for (char *p = s; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return s;
}

/* A JSON string even when s is not UTF-8 (bytes >= 0x80 become '?'). */
static json_t *json_str(const char *s)
{
	json_t *j = json_string(s);
	char *copy;

	if (j != NULL)
		return j;
	copy = vc_strdup(s);
	for (char *p = copy; *p != '\0'; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_string(copy);
	free(copy);
	return j;
}

static json_t *json_text(const struct key *k, const char *text)
{
	char *shown;
	json_t *j;

	if (!(k->flags & K_SECRET) || text[0] == '\0')
		return json_str(text);
	shown = k->redact != NULL ? k->redact(text) : vc_strdup("***");
	j = json_str(shown);
	free(shown);
	return j;
}

static json_t *json_uint(const struct key *k, const char *text)
{
	return json_integer((json_int_t)strtoll(text, NULL, 10));
}

static json_t *json_bool(const struct key *k, const char *text)
{
	return json_boolean(strcmp(text, "true") == 0);
}

static const struct type_ops {
	int (*parse)(const struct key *k, const char *text, void *field);
	void (*expect)(const struct key *k, char *buf, size_t len);
	char *(*text)(const struct key *k, const char *text, const void *field);
	json_t *(*json)(const struct key *k, const char *text);
	size_t width; /* bytes compared by vc_config_diff; 0: a string */
} types[] = {
	[T_STRING] = { parse_string, expect_string, text_string, json_text, 0 },
	[T_UINT] = { parse_uint, expect_uint, text_uint, json_uint, sizeof(unsigned) },
	[T_SIZE] = { parse_size, expect_size, text_lower, json_text, sizeof(size_t) },
	[T_DURATION] = { parse_duration, expect_duration, text_lower, json_text, sizeof(double) },
	[T_BOOL] = { parse_bool, expect_bool, text_bool, json_bool, sizeof(bool) },
	[T_LOGLEVEL] = { parse_loglevel, expect_loglevel, text_loglevel, json_text, sizeof(int) },
	[T_WORKERS] = { parse_workers, expect_workers, text_workers, json_text, sizeof(unsigned) },
};

/* --- applying values ------------------------------------------------------ */

static const struct key *key_find(const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

/* A key as written by a user: dashes count as underscores. */
static const struct key *key_lookup(const char *name, size_t len)
{
	char buf[64];

	if (len >= sizeof(buf))
		return NULL;
	for (size_t i = 0; i < len; i++)
		buf[i] = name[i] == '-' ? '_' : name[i];
	buf[len] = '\0';
	return key_find(buf);
}

/* Echo a key name written by a user, or nothing if it is not one (a line
 * such as "postgresql://user:pw@host/db" must not end up in a log). */
static const char *show_key(char *buf, size_t len, const char *s, size_t n)
{
	char *name;

	if (n == 0 || n > SHOW_MAX || !span_of(s, s + n, "_-"))
		return NULL;
	name = vc_strndup(s, n);
	show_text(buf, len, name);
	free(name);
	return buf;
}

/* Parse text into k's field; `where` names the source for an error. */
static int set_value(struct conf *cf, const struct key *k, const char *text, enum source src,
                     const char *where, char *err, size_t errlen)
{
	const struct type_ops *t = &types[k->type];
	void *field = field_of(&cf->pub, k);
	char shown[SHOW_MAX + 8], expect[512];
	size_t i = (size_t)(k - keys);

	if (t->parse(k, text, field) < 0) {
		show_value(shown, sizeof(shown), k, text);
		t->expect(k, expect, sizeof(expect));
		return fail(err, errlen, "%s: %s = '%s': expected %s", where, k->name, shown,
		            expect);
	}
	free(cf->text[i]);
	cf->text[i] = t->text(k, text, field);
	cf->source[i] = (unsigned char)src;
	return 0;
}

static void apply_defaults(struct conf *cf)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (set_value(cf, &keys[i], keys[i].def, SRC_DEFAULT, "default", NULL, 0) < 0)
			vc_fatal("config: the default of %s is invalid", keys[i].name);
}

static void env_name(const struct key *k, char *buf, size_t len)
{
	size_t n = (size_t)snprintf(buf, len, "VCD_%s", k->name);

	for (size_t i = 4; i < n && i < len; i++)
		if (buf[i] >= 'a' && buf[i] <= 'z')
			buf[i] = (char)(buf[i] - 'a' + 'A');
}

static const char *env_get(char *const *env, const char *name)
{
	size_t n = strlen(name);

	for (; env != NULL && *env != NULL; env++)
		if (strncmp(*env, name, n) == 0 && (*env)[n] == '=')
			return *env + n + 1;
	return NULL;
}

static int load_env(struct conf *cf, char *const *env, char *err, size_t errlen)
{
	char name[80], where[96], unit_value[96];
	const char *v;

	for (size_t i = 0; i < NKEYS; i++) {
		const struct key *k = &keys[i];
		env_name(k, name, sizeof(name));
		v = env_get(env, name);
		if (v == NULL && k->env != NULL) {
			v = env_get(env, k->env);
			snprintf(name, sizeof(name), "%s", k->env);
		}
		if (v == NULL && k->env2 != NULL && (v = env_get(env, k->env2)) != NULL) {
			snprintf(name, sizeof(name), "%s", k->env2);
			snprintf(unit_value, sizeof(unit_value), "%s%s", v, k->env2_unit);
			v = unit_value;
		}
		if (v == NULL)
			continue;
		snprintf(where, sizeof(where), "environment %s", name);
		if (set_value(cf, k, v, SRC_ENV, where, err, errlen) < 0)
			return -1;
	}
	return 0;
}

static int load_overrides(struct conf *cf, char *const *ov, size_t n, char *err, size_t errlen)
{
	char shown[SHOW_MAX + 8];

	for (size_t i = 0; i < n; i++) {
		const char *s = ov[i];
		if (strncmp(s, "--", 2) == 0)
			s += 2;
		const char *eq = strchr(s, '=');
		size_t klen = eq != NULL ? (size_t)(eq - s) : strcspn(s, ":= \t");
		const char *name = show_key(shown, sizeof(shown), s, klen);
		if (eq == NULL || name == NULL)
			return fail(err, errlen,
			            "command line: %s%s%sexpected key=value, "
			            "such as --max-body=2m",
			            name ? "'" : "", name ? name : "", name ? "': " : "");
		const struct key *k = key_lookup(s, klen);
		if (k == NULL)
			return fail(err, errlen,
			            "command line: unknown key '%s' "
			            "(vcd --list-keys lists them)",
			            name);
		if (set_value(cf, k, eq + 1, SRC_FLAG, "command line", err, errlen) < 0)
			return -1;
	}
	return 0;
}

/* --- the file ------------------------------------------------------------- */

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

static char *trim(char *s)
{
	size_t n;

	while (is_blank(*s))
		s++;
	n = strlen(s);
	while (n > 0 && is_blank(s[n - 1]))
		s[--n] = '\0';
	return s;
}

/* Cut the value part of a line (after '=') in place: quotes, comments. */
static int file_value(const struct key *k, char *v, char **out, const char *where, char *err,
                      size_t errlen)
{
	char shown[SHOW_MAX + 8], *end;

	v = trim(v);
	if (v[0] != '"') {
		for (end = v; *end != '\0'; end++)
			if (*end == '#' && (end == v || is_blank(end[-1])))
				break;
		*end = '\0';
		*out = trim(v);
		return 0;
	}
	show_value(shown, sizeof(shown), k, v);
	end = strchr(v + 1, '"');
	if (end == NULL)
		return fail(err, errlen, "%s: %s = '%s': expected a closing double quote", where,
		            k->name, shown);
	char *after = trim(end + 1);
	if (after[0] != '\0' && after[0] != '#')
		return fail(err, errlen,
		            "%s: %s = '%s': expected nothing but a # comment "
		            "after the closing quote",
		            where, k->name, shown);
	*end = '\0';
	*out = v + 1;
	return 0;
}

static int file_line(struct conf *cf, char *line, const char *where, char *err, size_t errlen)
{
	char shown[SHOW_MAX + 8], *s = trim(line), *eq, *key, *value = NULL;
	const struct key *k;

	if (s[0] == '\0' || s[0] == '#')
		return 0;
	eq = strchr(s, '=');
	if (eq == NULL)
		return fail(err, errlen, "%s: expected key = value (this line has no '=')", where);
	*eq = '\0';
	key = trim(s);
	if (key[0] == '\0')
		return fail(err, errlen, "%s: expected key = value (no key before '=')", where);
	if (show_key(shown, sizeof(shown), key, strlen(key)) == NULL)
		return fail(err, errlen,
		            "%s: expected key = value, where key is a name "
		            "such as max_body",
		            where);
	k = key_lookup(key, strlen(key));
	if (k == NULL)
		return fail(err, errlen, "%s: unknown key '%s' (vcd --list-keys lists them)", where,
		            shown);
	if (file_value(k, eq + 1, &value, where, err, errlen) < 0)
		return -1;
	return set_value(cf, k, value, SRC_FILE, where, err, errlen);
}

static int load_file(struct conf *cf, const char *path, char *err, size_t errlen)
{
	char *line = NULL, *where;
	size_t cap = 0, wlen = strlen(path) + 32;
	unsigned lineno = 0;
	int rc = 0;
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return fail(err, errlen, "cannot open config file %s: %s", path, strerror(errno));
	where = vc_malloc(wlen);
	while (rc == 0 && getline(&line, &cap, f) >= 0) {
		snprintf(where, wlen, "%s:%u", path, ++lineno);
		rc = file_line(cf, line, where, err, errlen);
	}
	if (rc == 0 && ferror(f))
		rc = fail(err, errlen, "cannot read config file %s: %s", path, strerror(errno));
	free(line);
	free(where);
	fclose(f);
	return rc;
}

static int check_required(struct conf *cf, const char *path, char *err, size_t errlen)
{
	char name[80];

	for (size_t i = 0; i < NKEYS; i++) {
		const struct key *k = &keys[i];
		if (!(k->flags & K_REQUIRED) || cf->text[i][0] != '\0')
			continue;
		if (k->env != NULL)
			snprintf(name, sizeof(name), "%s", k->env);
		else
			env_name(k, name, sizeof(name));
		return fail(err, errlen, "%s is not set: set it in %s or %s", k->name,
		            path != NULL ? path : vc_config_default_path(), name);
	}
	return 0;
}

/* --- public --------------------------------------------------------------- */

vc_config_t *vc_config_load(const char *path, char *const *overrides, size_t noverrides,
                            char *const *env, char *err, size_t errlen)
{
	struct conf *cf = vc_calloc(1, sizeof(*cf));

	apply_defaults(cf);
	if ((path != NULL && load_file(cf, path, err, errlen) < 0) ||
	    load_env(cf, env, err, errlen) < 0 ||
	    load_overrides(cf, overrides, noverrides, err, errlen) < 0 ||
	    check_required(cf, path, err, errlen) < 0) {
		vc_config_free(&cf->pub);
		return NULL;
	}
	return &cf->pub;
}

void vc_config_free(vc_config_t *c)
{
	struct conf *cf;

	if (c == NULL)
		return;
	cf = conf_of(c);
	for (size_t i = 0; i < NKEYS; i++) {
		if (types[keys[i].type].width == 0)
			free(*(char **)field_of(c, &keys[i]));
		free(cf->text[i]);
	}
	free(cf);
}

const vc_config_t *vc_config_get(void)
{
	return atomic_load_explicit(&running, memory_order_acquire);
}

vc_config_t *vc_config_publish(vc_config_t *c)
{
	return atomic_exchange_explicit(&running, c, memory_order_acq_rel);
}

json_t *vc_config_to_json(const vc_config_t *c)
{
	struct conf *cf = conf_of(c);
	json_t *out = json_object();

	for (size_t i = 0; i < NKEYS; i++) {
		const struct key *k = &keys[i];
		const struct type_ops *t = &types[k->type];
		json_object_set_new(out, k->name,
		                    json_pack("{s:o, s:o, s:s, s:b}", "value",
		                              t->json(k, cf->text[i]), "default",
		                              t->json(k, k->def), "source",
		                              source_names[cf->source[i]], "reload",
		                              (k->flags & K_RELOAD) != 0));
	}
	return out;
}

static bool same_value(const struct key *k, const vc_config_t *a, const vc_config_t *b)
{
	size_t width = types[k->type].width;
	const void *fa = field_of((vc_config_t *)a, k), *fb = field_of((vc_config_t *)b, k);

	if (width == 0)
		return strcmp(*(char *const *)fa, *(char *const *)fb) == 0;
	return memcmp(fa, fb, width) == 0;
}

void vc_config_diff(const vc_config_t *old, const vc_config_t *new, json_t *applied,
                    json_t *restart_needed)
{
	for (size_t i = 0; i < NKEYS; i++) {
		const struct key *k = &keys[i];
		json_t *into = (k->flags & K_RELOAD) ? applied : restart_needed;
		if (!same_value(k, old, new) && into != NULL)
			json_array_append_new(into, json_string(k->name));
	}
}

void vc_config_print_keys(FILE *out)
{
	for (size_t i = 0; i < NKEYS; i++)
		fprintf(out, "%s\n", keys[i].name);
}

const char *vc_config_default_path(void)
{
	return VC_SYSCONFDIR "/vcd/vcd.conf";
}
