/*
 * config.h — vcd's configuration: one key table (runtime/config.c) drives
 * parsing, defaults, environment overrides, command-line flags, reload
 * safety, `vcctl config show` and the documentation check.
 *
 * Precedence, lowest first: built-in default, the config file, the
 * environment (VCD_<KEY> for every key, plus the compatibility names such as
 * DATABASE_URL and LISTEN_ADDR), then the command line (--key=value).
 *
 * A loaded vc_config_t is immutable. The running one is published with
 * vc_config_publish() and read with vc_config_get(); readers must not keep
 * the pointer beyond the callback they are in (a reload retires the old
 * snapshot once every worker has passed a safe point).
 */
#ifndef VC_CONFIG_H
#define VC_CONFIG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "runtime/vc.h"

typedef struct vc_config {
	char *listen;              /* "host:port" for HTTP */
	unsigned workers;          /* resolved: "auto" becomes the number of CPUs */
	char *database_url;        /* libpq URL or conninfo; required */
	unsigned db_pool_size;     /* PostgreSQL connections per worker */
	bool db_group_commit;      /* batch waiting statements into one transaction */
	char *migrations_dir;      /* where sql/NNN_*.sql live */
	char *admin_socket;        /* path of the admin Unix socket */
	int log_level;             /* enum vc_log_level */
	unsigned max_connections;  /* HTTP/WebSocket connections, all workers */
	size_t max_body;           /* bytes */
	size_t max_header_size;    /* bytes of the request line plus headers */
	size_t max_uri;            /* bytes of the request target */
	double request_timeout;    /* seconds to receive a whole request */
	double idle_timeout;       /* seconds a keep-alive connection may idle */
	double shutdown_timeout;   /* seconds SIGTERM waits for in-flight work */
	char *cors_allowed_origin; /* comma-separated origins; "" mirrors Origin */
	char *cors_allowlist;      /* more origins (Toju's CORS_ALLOWLIST) */
	unsigned offload_threads;  /* resolved: "auto" becomes the number of CPUs */
	char *nats_url;            /* "" disables NATS */
	size_t nats_publish_queue; /* bytes of publishes waiting for NATS */
	char *jwt_secret;          /* HMAC key of videocall.rs tokens */
	bool session_jwt_compat;   /* accept videocall.rs session JWTs */
	double session_ttl;        /* seconds */
	double session_cache_ttl;  /* seconds */
	char *cookie_name;
	bool cookie_secure;
	char *cookie_domain;             /* "" for none */
	char *auth_rate_limit;           /* "100/15m" or "off" (runtime/ratelimit.h) */
	char *server_join_rate_limit;    /* "30/1m" or "off": server joins per user */
	char *trusted_proxies;           /* addresses and CIDR blocks (wire/client_addr.h) */
	double token_ttl;                /* seconds a room access token lives */
	double meeting_idle_timeout;     /* seconds an idle meeting actor lives on */
	bool feature_meeting_management; /* deprecated /lobby/{user}/{room} answers 410 */
	size_t ws_max_message;           /* bytes of one WebSocket message, fragments together */
	double ws_ping_interval;         /* seconds between server pings */
	double ws_idle_timeout;          /* seconds without a client frame before close 4002 */
	size_t ws_send_buffer;           /* queued bytes past which media is dropped */
	size_t ws_send_buffer_max;       /* queued bytes past which the socket is closed */
	double lobby_reconnect_grace;    /* seconds a departed media session may come back */
	char *embed_server_url;          /* serverUrl of embed credentials; "": the request's */
	size_t signal_max_message;       /* bytes of one /ws message */
	unsigned signal_rate;            /* /ws messages per second per connection */
	unsigned signal_burst;           /* ... and at once above it */
	unsigned signal_max_user_connections;    /* /ws connections of one user per node */
	unsigned account_sync_keep;              /* messages kept per user */
	double account_sync_retention;           /* seconds they are kept */
	bool external_api;                       /* /external-api/ served; off: every path 404s */
	bool external_api_applications;          /* the application token endpoint is served */
	char *external_api_base_url;             /* "" or the rooms' url prefix (no trailing /) */
	char *external_api_default_access_level; /* "public", "trusted" or "restricted" */
	bool external_api_allow_public;          /* the external API may create public rooms */
} vc_config_t;

/*
 * Build a configuration. `path` may be NULL (no file). `overrides` are
 * "key=value" strings from the command line. `env` is the environment to
 * read (environ in vcd, a fixed array in tests). On error returns NULL and
 * writes one line to err naming the source, the key, the value and what was
 * expected, e.g.
 *   "/etc/vcd/vcd.conf:12: max_body = '12q': expected a size such as 1048576, 64k or 1m"
 */
vc_config_t *vc_config_load(const char *path, char *const *overrides, size_t noverrides,
                            char *const *env, char *err, size_t errlen) VC_MUSTCHECK;
void vc_config_free(vc_config_t *c);

/* The running configuration (never NULL once vcd has started). */
const vc_config_t *vc_config_get(void);
/* Install c as the running configuration; returns the previous one (the
 * caller retires it once no reader can hold it). */
vc_config_t *vc_config_publish(vc_config_t *c);

/* {"key": {"value": …, "default": …, "source": "default|file|env|flag",
 *          "reload": true|false}, …}; secrets (passwords in database_url)
 * are shown as "***". */
json_t *vc_config_to_json(const vc_config_t *c);
/* Keys whose values differ: into `applied` when reloadable, else into
 * `restart_needed` (both JSON arrays of key names). */
void vc_config_diff(const vc_config_t *old, const vc_config_t *new, json_t *applied,
                    json_t *restart_needed);
/* One key name per line, in table order (for the documentation check). */
void vc_config_print_keys(FILE *out);
/* Path of the config file used when -c is not given. */
const char *vc_config_default_path(void);

#endif
