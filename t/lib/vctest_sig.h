/*
 * vctest_sig.h — what the signaling tests (t/integration/test_signal*.c)
 * share on top of vctest.h and vctest_ws.h: Toju/MetoYou accounts and
 * servers made through the REST API, /ws connections that speak JSON text
 * messages, and the configuration and /metrics helpers those tests need.
 *
 * Parts (each usable alone):
 *   accounts     register and log in through /api/users (Bearer tokens),
 *                log out, a session's id in PostgreSQL
 *   servers      create and join servers through /api/servers
 *   connections  vcs_*: a GET /ws connection (vctest_ws's client, answering
 *                pings as a browser does) whose text messages are parsed as
 *                JSON objects on demand; identify with any fields; waits
 *                that take the first message not taken yet that matches a
 *                type and members (so the order of the waits does not
 *                matter), counts, absences in a range of the inbox, the
 *                relayed-payload check (the sent object plus fromUserId)
 *   config       the first of several spellings of a configuration line
 *                that this vcd accepts (vcd --check-config): the tests do
 *                not depend on one guess of a value's syntax
 *   metrics      every vcd_signal* sample of /metrics, and "one of those
 *                whose name holds one of these words rose by k"
 *
 * Every wait is bounded and its failure says what was awaited, on which
 * connection, and lists what arrived meanwhile. Failures call cmocka's
 * fail_msg(). Connections still open at the end of a case are freed by
 * vcs_teardown (then vct_ws_close_all and vct_teardown).
 */
#ifndef VCTEST_SIG_H
#define VCTEST_SIG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "t/lib/vctest.h"
#include "t/lib/vctest_ws.h"

#define VCS_MS 10000 /* how long a wait lasts: generous, never a stand-in for a condition */
#define VCS_PASSWORD "Pw-signal-3f9a!"

/* --- accounts and servers (REST) -------------------------------------------- */

typedef struct vcs_user {
	char id[37];
	char username[40];
	char display[64];
	char token[65]; /* from the registration: its own session */
} vcs_user_t;

/* POST /api/users/register {username: <stem>-<n>, password, displayName:
 * "<Stem> Zoë <n>"} on v (201 expected) into u. */
void vcs_register(const vct_vcd_t *v, vcs_user_t *u, const char *stem);
/* POST /api/users/login as u: a new session's token into token. */
void vcs_login(const vct_vcd_t *v, const vcs_user_t *u, char token[65]);
/* POST /api/users/logout with Bearer token (200 expected). */
void vcs_logout(const vct_vcd_t *v, const char *token);
/* sessions.id of a token (its SHA-256 is what PostgreSQL keeps). */
long long vcs_session_id(const char *db_url, const char *token);
/* POST /api/servers {name} as owner (201): the new server's id. */
void vcs_server_create(const vct_vcd_t *v, const vcs_user_t *owner, char id[37]);
/* POST /api/servers/{id}/join as u (200, status member). */
void vcs_server_join(const vct_vcd_t *v, const char *server_id, const vcs_user_t *u);

/* --- configuration ------------------------------------------------------------ */

/*
 * "key = value\n" (malloc'd) for the first of `values` (NULL-terminated)
 * that `$VCD --check-config --key=value` accepts. Fails the test, naming
 * the key, when vcd does not know the key (this build has no /ws limits)
 * or refuses every value (showing what vcd expects).
 */
char *vcs_conf(const char *key, const char *const *values);
#define VCS_CONF(key, ...) vcs_conf((key), (const char *const[]){ __VA_ARGS__, NULL })

/* --- connections ---------------------------------------------------------------- */

typedef struct vcs {
	vct_ws_t *ws;
	char *name;          /* for messages: "alice/laptop" */
	char user_id[37];    /* who identified ("" before) */
	char *scope, *cid;   /* identify's connectionScope, clientInstanceId (NULL: none) */
	char *connection_id; /* identified.connectionId, as text */
	long long sync_seq;  /* identified.syncSeq */
	json_t **parsed;     /* inbox messages parsed (NULL: not yet, or not JSON) */
	bool *taken;         /* taken by a wait */
	unsigned cap;
	struct vcs *next; /* open connections */
} vcs_t;

/* What an identify carries. Zero fields give: the user's registration
 * token, oderId the user's id, displayName the user's, connectionScope
 * "ws://127.0.0.1:<port>", no clientInstanceId, no lastSyncSeq. */
typedef struct vcs_ident {
	const char *token;
	const char *oder_id; /* "-": leave it out */
	const char *display; /* "-": leave it out */
	const char *scope;   /* "-": leave it out */
	const char *cid;     /* NULL: leave it out */
	bool has_last;
	long long last_sync_seq;
} vcs_ident_t;

/* GET /ws on v: the upgrade must answer 101 (else the test fails: "GET /ws
 * (alice/laptop) answered 404, expected 101"). Not identified. */
vcs_t *vcs_connect(const vct_vcd_t *v, const char *name);
/* The identify message for u as o says (o may be NULL), as JSON text
 * (malloc'd); port fills the default connectionScope. */
char *vcs_identify_text(const vcs_user_t *u, const vcs_ident_t *o, int port);
/* Send identify and take the answer, which must be `identified` (an
 * auth_error, auth_required or close fails the test, naming it) with
 * oderId the user's id, displayName the one sent (the account's when none
 * was), a connectionId, an integer syncSeq >= 0; s remembers them. */
void vcs_identify(vcs_t *s, const vct_vcd_t *v, const vcs_user_t *u, const vcs_ident_t *o);
/* vcs_connect + vcs_identify with clientInstanceId cid (NULL: none). */
vcs_t *vcs_open(const vct_vcd_t *v, const vcs_user_t *u, const char *cid, const char *name);
vcs_t *vcs_open_x(const vct_vcd_t *v, const vcs_user_t *u, const vcs_ident_t *o, const char *name);

/* Send one text frame (printf-style); fails when the connection is gone. */
void vcs_send(vcs_t *s, const char *fmt, ...) VCT_PRINTF(2, 3);
/* Send j (stolen) as compact JSON text. */
void vcs_sendj(vcs_t *s, json_t *j);
/* Send these JSON texts as frames in ONE write (one TCP segment when small). */
void vcs_send_batch(vcs_t *s, const char *const *texts, unsigned n);

/* Messages received so far (pumping nothing). */
unsigned vcs_n(const vcs_t *s);
/* Read what has arrived within ms (0: what is there now). */
void vcs_pump(vcs_t *s, unsigned ms);
/* Message i as a JSON object with a string "type" (fails, showing it,
 * otherwise); borrowed, valid until s is freed. */
const json_t *vcs_msg(vcs_t *s, unsigned i);
/* Its type, or "(not JSON)" / "(no type)" (never fails). */
const char *vcs_type(vcs_t *s, unsigned i);
/* Members of message i; fail (naming s, i and the message) when absent or
 * of another JSON type. */
const char *vcs_str(vcs_t *s, unsigned i, const char *key);
long long vcs_int(vcs_t *s, unsigned i, const char *key);

/* Does message i have `type` (NULL: any) and every member of the JSON
 * object `match` (NULL: none) with an equal value? */
bool vcs_matches(vcs_t *s, unsigned i, const char *type, const json_t *match);

/*
 * Wait up to VCS_MS (vcs_take_ms: ms) for the first message at or after
 * `from` (vcs_take: 0) not taken yet that matches `type` and the members of
 * the object made by printf(match_fmt, …) (NULL: any members): mark it
 * taken and return its index. On failure the message names `what` and the
 * messages received since `from` are listed.
 */
unsigned vcs_take(vcs_t *s, const char *what, const char *type, const char *match_fmt, ...)
        VCT_PRINTF(4, 5);
unsigned vcs_take_from(vcs_t *s, unsigned from, unsigned ms, const char *what, const char *type,
                       const char *match_fmt, ...) VCT_PRINTF(6, 7);
/* Messages in [from, to) matching (taken or not). */
unsigned vcs_count(vcs_t *s, unsigned from, unsigned to, const char *type, const char *match_fmt,
                   ...) VCT_PRINTF(5, 6);
/* Fail when a message in [from, to) matches, naming it and `what`. */
void vcs_expect_none(vcs_t *s, unsigned from, unsigned to, const char *what, const char *type,
                     const char *match_fmt, ...) VCT_PRINTF(6, 7);
/* Fail unless message i is exactly the object `sent` (JSON text) plus
 * fromUserId = from: every member unchanged, nothing else added. */
void vcs_expect_relayed(vcs_t *s, unsigned i, const char *sent, const char *from, const char *what);
/* Send {"type":"ping"} and take the pong that follows: every message s sent
 * before has been handled (per-connection order). Returns the pong's index. */
unsigned vcs_sync(vcs_t *s);
/* Wait for vcd's close frame with `code` (data arriving first stay in the
 * inbox), answer it, wait for the end of the TCP connection. */
void vcs_expect_close(vcs_t *s, int code, unsigned ms, const char *what);
/* Print the inbox to stderr. */
void vcs_dump(vcs_t *s);
/* Send a close 1000 and wait for vcd's answer and the end of the
 * connection, then free. */
void vcs_close(vcs_t *s);
/* Close the socket without a close frame (a vanished client) and free. */
void vcs_free(vcs_t *s);
void vcs_close_all(void);
/* cmocka teardown: vcs_close_all, vct_ws_close_all, vct_teardown. */
int vcs_teardown(void **state);

/* --- metrics ---------------------------------------------------------------------- */

/* Every sample of /metrics whose name starts with vcd_signal (labels
 * included in the name). */
typedef struct vcs_metrics {
	char **names;
	double *values;
	unsigned n;
} vcs_metrics_t;
void vcs_metrics_read(const vct_vcd_t *v, vcs_metrics_t *m);
void vcs_metrics_free(vcs_metrics_t *m);
/*
 * Wait up to VCS_MS until some vcd_signal* sample whose text (name and
 * labels) contains one of `words` ('|'-separated, case-insensitive) is at
 * least k above its value in `before` (0 when it was absent). Fails
 * listing every vcd_signal* sample before and after.
 */
void vcs_expect_metric_rise(const vct_vcd_t *v, const vcs_metrics_t *before, const char *words,
                            double k, const char *what);

/* --- shared by the signaling tests ------------------------------------------------- */

/* The first value of a query (printf-style) on db_url equals want (NULL: no row). */
void vcs_db_expect(const char *db_url, const char *want, const char *fmt, ...) VCT_PRINTF(3, 4);
/* A message {"type": type, members…} as JSON text (malloc'd); `members` is
 * printf-style text of the members after "type" (may be ""). */
char *vcs_mk(const char *type, const char *members, ...) VCT_PRINTF(2, 3);
/* Send a message made by vcs_mk; return its text (the caller frees), for
 * vcs_expect_relayed. */
char *vcs_send_mk(vcs_t *s, char *text);
/* Read everything that reaches s until its inbox holds n messages. */
void vcs_drain_to(vcs_t *s, unsigned n, unsigned ms, const char *what);
/* Take the message of `type` tagged `tag` at s: its index. */
unsigned vcs_got_tag(vcs_t *s, const char *type, const char *tag, const char *what);
/* Take the message of `type` tagged `tag` and check it is `sent` plus
 * fromUserId = from. */
unsigned vcs_got_relayed(vcs_t *s, const char *type, const char *tag, const char *sent,
                         const char *from);
/* join_server and take its server_users answer: its index. */
unsigned vcs_join(vcs_t *s, const char *server);
/* leave_server, and wait until it has been handled (a ping behind it). */
void vcs_leave(vcs_t *s, const char *server);
/* account_sync from s with a payload (JSON text): the acknowledged seq. */
long long vcs_sync_send(vcs_t *s, const char *payload);

#endif
