/*
 * admin_proto.c — the admin verb table and the request/response line codecs
 * (see admin_proto.h for the wire format).
 *
 * To add a verb: add a row to `verbs` below (words, argument synopsis,
 * argument counts, help), a handler row in actors/admin_cmds.c (or another
 * module's table passed to vc_admin_register), and a .TP entry in
 * man/vcctl.8. make check fails when the man page or a handler is missing.
 */
#include "wire/admin_proto.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* clang-format off */
static const vc_admin_verb_t verbs[] = {
	{ "status", "", 0, 0, 0,
	  "show pid, version, uptime, workers, connections, draining and database state" },
	{ "version", "", 0, 0, 0, "show vcd's version and the git commit it was built from" },
	{ "stats", "", 0, 0, 0, "show counters per worker and in total (as served on /metrics)" },
	{ "config show", "", 0, 0, 0,
	  "show every configuration key: value, default, source and whether it reloads" },
	{ "config reload", "", 0, 0, 0,
	  "re-read the config file and environment; apply what can change without a restart" },
	{ "log-level", "LEVEL", 1, 1, 0, "set the log level: error, warn, info or debug" },
	{ "drain", "", 0, 0, 0,
	  "stop accepting, close WebSockets (1001), finish in-flight work and exit, as SIGTERM" },
	{ "users list", "", 0, 0, 0,
	  "list accounts by name (at most 1000) with their live session counts" },
	{ "users show", "USER", 1, 1, 0,
	  "show one account (USER: username or id) with its sessions and device tokens counted" },
	{ "users disable", "USER", 1, 1, 0,
	  "refuse the account's logins and make its sessions stop working at once" },
	{ "users enable", "USER", 1, 1, 0,
	  "let a disabled account log in again; its unexpired sessions work again" },
	{ "users import", "FILE", 1, 1, 0,
	  "create accounts from FILE (username,hash[,displayName] lines): all of them or none" },
	{ "sessions list", "[USER]", 0, 1, 0,
	  "list live sessions, newest first (at most 1000), of everyone or of one account" },
	{ "sessions revoke", "ID", 1, 1, 0,
	  "revoke one session by its id; its token stops working" },
	{ "sessions revoke-all", "USER", 1, 1, 0, "revoke every live session of one account" },
	{ "meetings list", "[--state S] [--owner U]", 0, 4, 0,
	  "list meetings, newest first (at most 1000), of a state (idle, active, ended) or owner" },
	{ "meetings show", "ID", 1, 1, 0,
	  "show one meeting and every participant row with its status" },
	{ "meetings end", "ID", 1, 1, 0,
	  "end a meeting as its owner would; everyone in it is told (MEETING_ENDED)" },
	{ "meetings delete", "ID", 1, 1, 0,
	  "delete a meeting as its owner would; its ID can be used again" },
	{ "meetings roles", "ID", 1, 1, 0,
	  "show a meeting's owner and the users with a role (administrator, member)" },
	{ "meetings roles set", "ID USER ROLE", 3, 3, 0,
	  "give USER the role administrator or member in the meeting (replaces its role)" },
	{ "meetings roles remove", "ID USER", 2, 2, 0, "take USER's role in the meeting away" },
	{ "participants kick", "ID USER", 2, 2, 0,
	  "remove a waiting or admitted participant (not the host) from a meeting" },
	{ "servers list", "", 0, 0, 0,
	  "list servers (communities) by name (at most 1000) with owner, members and privacy" },
	{ "servers show", "ID", 1, 1, 0,
	  "show one server with its members, pending join requests and bans counted" },
	{ "servers delete", "ID", 1, 1, 0,
	  "delete a server as its owner would, with its members, bans and join requests" },
	{ "apps create", "NAME [--scope S]... [--domain D]...", 1, VC_ADMIN_ARGS_ANY, 0,
	  "create an external API application; shows its client id and secret (only now)" },
	{ "apps list", "", 0, 0, 0,
	  "list external API applications by name (at most 1000) with scopes and state" },
	{ "apps show", "APP", 1, 1, 0,
	  "show one application (APP: its client id) with its scopes and allowed domains" },
	{ "apps disable", "APP", 1, 1, 0, "refuse the application's token requests" },
	{ "apps enable", "APP", 1, 1, 0, "accept a disabled application's token requests again" },
	{ "apps rotate-secret", "APP", 1, 1, 0,
	  "give the application a new secret (shown only now); the old one stops working" },
	{ "apps delete", "APP", 1, 1, 0, "delete an application with its allowed domains" },
	{ "apps scopes set", "APP [SCOPE]...", 1, VC_ADMIN_ARGS_ANY, 0,
	  "replace the application's scopes (none: it may do nothing); its tokens follow at once" },
	{ "apps domains add", "APP DOMAIN", 2, 2, 0,
	  "allow the application to act for e-mail addresses of DOMAIN" },
	{ "apps domains remove", "APP DOMAIN", 2, 2, 0,
	  "no longer allow DOMAIN (an application without domains may act for any)" },
	{ "rooms list", "", 0, 0, 0,
	  "list the media rooms with sessions on this node (/lobby), with their counts" },
	{ "rooms show", "ROOM", 1, 1, 0,
	  "show a media room's sessions (user, node, state, bytes, drops) and its other nodes' members" },
	{ "sessions kick", "SESSION", 1, 1, 0,
	  "close one media session (/lobby) by its session id, with close code 4502" },
	{ "help", "[COMMAND...]", 0, VC_ADMIN_ARGS_ANY, VC_ADMIN_LOCAL,
	  "list the commands, or show the usage of one" },
};
/* clang-format on */

const vc_admin_verb_t *vc_admin_verbs(size_t *n)
{
	*n = VC_ARRAY_LEN(verbs);
	return verbs;
}

/* ---- verb lookup ------------------------------------------------------- */

/*
 * How many of v's words match the start of words[0..n): returns that count
 * and sets *all when every word of the verb matched.
 */
static size_t prefix_words(const char *vw, char *const *words, size_t n, bool *all)
{
	size_t k = 0;

	*all = false;
	while (k < n) {
		size_t wl = strcspn(vw, " ");
		if (strlen(words[k]) != wl || memcmp(vw, words[k], wl) != 0)
			return k;
		k++;
		if (vw[wl] == '\0') {
			*all = true;
			return k;
		}
		vw += wl + 1;
	}
	return k;
}

/* Words joined by spaces, control characters as '?', cut at ~80 bytes. */
static void quote_words(char *const *words, size_t n, char *buf, size_t len)
{
	size_t o = 0, lim = len < 84 ? len - 1 : 80;

	for (size_t i = 0; i < n && o < lim; i++) {
		if (i > 0)
			buf[o++] = ' ';
		for (const char *p = words[i]; *p && o < lim; p++)
			buf[o++] = ((unsigned char)*p < 0x20 || *p == 0x7f) ? '?' : *p;
	}
	if (o == lim && len >= 84)
		o += (size_t)snprintf(buf + o, len - o, "...");
	buf[o] = '\0';
}

void vc_admin_verb_usage(const vc_admin_verb_t *v, char *buf, size_t len)
{
	snprintf(buf, len, "usage: vcctl %s%s%s", v->words, v->args[0] ? " " : "", v->args);
}

/* No verb matched all its words: say what was typed and what would fit. */
static void unknown_verb(const vc_admin_verb_t *tab, size_t ntab, char *const *words, size_t n,
                         char *err, size_t errlen)
{
	size_t depth = 0, o;
	bool all;
	char typed[96];

	for (size_t i = 0; i < ntab; i++) {
		size_t k = prefix_words(tab[i].words, words, n, &all);
		depth = k > depth ? k : depth;
	}
	quote_words(words, depth < n ? depth + 1 : n, typed, sizeof(typed));
	if (depth == 0) {
		snprintf(err, errlen, "unknown command '%s' (see 'vcctl help')", typed);
		return;
	}
	o = (size_t)snprintf(err, errlen, "%s command '%s' (expected",
	                     depth < n ? "unknown" : "incomplete", typed);
	for (size_t i = 0, m = 0; i < ntab && o < errlen; i++) {
		if (prefix_words(tab[i].words, words, n, &all) != depth)
			continue;
		o += (size_t)snprintf(err + o, errlen - o, "%s '%s'", m++ ? "," : "", tab[i].words);
	}
	if (o < errlen)
		snprintf(err + o, errlen - o, "; see 'vcctl help')");
}

int vc_admin_verb_match(const vc_admin_verb_t *tab, size_t ntab, char *const *words, size_t n,
                        vc_admin_match_t *m, char *err, size_t errlen)
{
	const vc_admin_verb_t *best = NULL;
	size_t bestk = 0;
	bool all;

	*m = (vc_admin_match_t){ 0 };
	if (n == 0) {
		snprintf(err, errlen, "no command given (see 'vcctl help')");
		return -1;
	}
	for (size_t i = 0; i < ntab; i++) {
		size_t k = prefix_words(tab[i].words, words, n, &all);
		if (all && k > bestk) {
			best = &tab[i];
			bestk = k;
		}
	}
	if (best == NULL) {
		unknown_verb(tab, ntab, words, n, err, errlen);
		return -1;
	}
	m->verb = best;
	m->argc = (int)(n - bestk);
	m->argv = words + bestk;
	if (m->argc < best->min_args ||
	    (best->max_args != VC_ADMIN_ARGS_ANY && m->argc > best->max_args)) {
		vc_admin_verb_usage(best, err, errlen);
		return -1;
	}
	return 0;
}

int vc_admin_verb_find(char *const *words, size_t n, vc_admin_match_t *m, char *err, size_t errlen)
{
	return vc_admin_verb_match(verbs, VC_ARRAY_LEN(verbs), words, n, m, err, errlen);
}

/* ---- line codecs ------------------------------------------------------- */

static const char *json_kind(const json_t *j)
{
	/* clang-format off */
	static const char *const names[] = {
		[JSON_OBJECT] = "an object", [JSON_ARRAY] = "an array",
		[JSON_STRING] = "a string",  [JSON_INTEGER] = "a number",
		[JSON_REAL] = "a number",    [JSON_TRUE] = "true",
		[JSON_FALSE] = "false",      [JSON_NULL] = "null",
	};
	return names[json_typeof(j)];
}

/* Serialize compactly into a vc_malloc'd buffer with a trailing '\n'. */
static char *dump_line(const json_t *j, size_t *len)
{
	size_t need = json_dumpb(j, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
	char *buf;

	if (need == 0)
		return NULL;
	buf = vc_malloc(need + 2);
	json_dumpb(j, buf, need, JSON_COMPACT | JSON_ENCODE_ANY);
	buf[need] = '\n';
	buf[need + 1] = '\0';
	*len = need + 1;
	return buf;
}

/* Length without the trailing "\n" or "\r\n". */
static size_t chomp(const char *line, size_t len)
{
	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	return len;
}

char *vc_admin_request_encode(char *const *words, size_t n, size_t *len, char *err,
			      size_t errlen)
{
	json_t *arr = json_array();
	char *line = NULL;

	for (size_t i = 0; i < n; i++) {
		json_t *s = json_string(words[i]);
		if (s == NULL) {
			snprintf(err, errlen, "word %zu of the command is not valid UTF-8", i + 1);
			goto out;
		}
		json_array_append_new(arr, s);
	}
	line = dump_line(arr, len);
	if (line != NULL && *len > VC_ADMIN_LINE_MAX) {
		snprintf(err, errlen, "command is %zu bytes long; the limit is %d", *len,
			 VC_ADMIN_LINE_MAX);
		free(line);
		line = NULL;
	}
out:
	json_decref(arr);
	return line;
}

void vc_admin_words_free(char **words)
{
	if (words == NULL)
		return;
	for (char **w = words; *w; w++)
		free(*w);
	free(words);
}

/* Check the shape of a parsed request: a non-empty array of strings. */
static int check_request(const json_t *j, char *err, size_t errlen)
{
	size_t i;
	json_t *w;

	if (!json_is_array(j)) {
		snprintf(err, errlen, "request is %s; expected a JSON array of strings such as "
			 "[\"status\"]", json_kind(j));
		return -1;
	}
	if (json_array_size(j) == 0) {
		snprintf(err, errlen, "request is an empty array; expected a command such as "
			 "[\"status\"]");
		return -1;
	}
	if (json_array_size(j) > VC_ADMIN_WORDS_MAX) {
		snprintf(err, errlen, "request has %zu words; the limit is %d",
			 json_array_size(j), VC_ADMIN_WORDS_MAX);
		return -1;
	}
	json_array_foreach(j, i, w) {
		if (!json_is_string(w)) {
			snprintf(err, errlen, "request word %zu is %s; expected a string", i + 1,
				 json_kind(w));
			return -1;
		}
	}
	return 0;
}

int vc_admin_request_parse(const char *line, size_t len, char ***words, size_t *n, char *err,
			   size_t errlen)
{
	json_error_t jerr;
	json_t *j;
	size_t i;
	json_t *w;

	len = chomp(line, len);
	if (len + 1 > VC_ADMIN_LINE_MAX) {
		snprintf(err, errlen, "request is %zu bytes long; the limit is %d", len + 1,
			 VC_ADMIN_LINE_MAX);
		return -1;
	}
	if (memchr(line, '\n', len) != NULL) {
		snprintf(err, errlen, "request spans several lines; expected one line");
		return -1;
	}
	j = json_loadb(line, len, 0, &jerr);
	if (j == NULL) {
		snprintf(err, errlen, "request is not valid JSON (%s at byte %d); expected a JSON "
			 "array of strings such as [\"status\"]", jerr.text, jerr.position);
		return -1;
	}
	if (check_request(j, err, errlen) < 0) {
		json_decref(j);
		return -1;
	}
	*n = json_array_size(j);
	*words = vc_calloc(*n + 1, sizeof(char *));
	json_array_foreach(j, i, w)
		(*words)[i] = vc_strndup(json_string_value(w), json_string_length(w));
	json_decref(j);
	return 0;
}

char *vc_admin_response_ok(json_t *result, size_t *len)
{
	json_t *o = json_object();
	char *line;

	json_object_set_new(o, "ok", json_true());
	json_object_set_new(o, "result", result ? result : json_null());
	line = dump_line(o, len);
	json_decref(o);
	if (line == NULL)
		return vc_admin_response_error("vcd could not encode the result as JSON", len);
	return line;
}

char *vc_admin_response_error(const char *msg, size_t *len)
{
	char *clean = vc_strdup(msg);
	json_t *o = json_object(), *s;
	char *line;

	for (char *p = clean; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	s = json_string(clean);
	if (s == NULL) { /* not UTF-8: keep the ASCII */
		for (char *p = clean; *p; p++)
			if ((unsigned char)*p >= 0x80)
				*p = '?';
		s = json_string(clean);
	}
	json_object_set_new(o, "ok", json_false());
	json_object_set_new(o, "error", s);
	line = dump_line(o, len);
	json_decref(o);
	free(clean);
	if (line == NULL)
		vc_fatal("cannot encode an admin error response");
	return line;
}

/* Fill *result or *error from a parsed response object. */
static int split_response(json_t *j, json_t **result, char **error, char *err, size_t errlen)
{
	json_t *ok = json_object_get(j, "ok");
	json_t *v;

	if (!json_is_boolean(ok)) {
		snprintf(err, errlen, "answer has no boolean \"ok\" member");
		return -1;
	}
	if (json_is_true(ok)) {
		v = json_object_get(j, "result");
		if (v == NULL) {
			snprintf(err, errlen, "answer says ok but has no \"result\"");
			return -1;
		}
		*result = json_incref(v);
		return 1;
	}
	v = json_object_get(j, "error");
	if (!json_is_string(v)) {
		snprintf(err, errlen, "answer says not ok but has no string \"error\"");
		return -1;
	}
	*error = vc_strdup(json_string_value(v));
	return 0;
}

int vc_admin_response_parse(const char *line, size_t len, json_t **result, char **error,
			    char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *j;
	int rc;

	len = chomp(line, len);
	if (len + 1 > VC_ADMIN_RESPONSE_MAX) {
		snprintf(err, errlen, "answer is %zu bytes long; the limit is %d", len + 1,
			 VC_ADMIN_RESPONSE_MAX);
		return -1;
	}
	j = json_loadb(line, len, 0, &jerr);
	if (j == NULL) {
		snprintf(err, errlen, "answer is not valid JSON (%s at byte %d)", jerr.text,
			 jerr.position);
		return -1;
	}
	if (!json_is_object(j)) {
		snprintf(err, errlen, "answer is %s; expected a JSON object", json_kind(j));
		json_decref(j);
		return -1;
	}
	rc = split_response(j, result, error, err, errlen);
	json_decref(j);
	return rc;
}

/* clang-format on */