/*
 * vctest_meetings.h — what the meeting conformance tests
 * (t/integration/test_meetings_*.c) share on top of vctest.h: callers
 * authenticated as the videocall.rs test suite does (a forged session JWT
 * in "Cookie: session=…"), the {success, result} envelope and the exact
 * error bodies of videocall-rs-contract.md §2.4, JSON shapes (§3.2: every
 * member typed, optional members omitted rather than null, nothing else),
 * seconds versus milliseconds (§2.5), room and observer tokens decoded and
 * checked (§5.2, §5.3), a NATS subscriber on room.{id}.system holding the
 * bytes vcd published (§8.1), and HTTP requests from many threads at once.
 *
 * Every vcd these tests start gets VCM_CONF, the videocall.rs test
 * settings: jwt_secret, token_ttl = 600 s, cookie_secure = false, session
 * JWTs accepted.
 */
#ifndef VCTEST_MEETINGS_H
#define VCTEST_MEETINGS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "t/lib/vctest.h"

#define VCM_SECRET "test-secret-for-integration-tests"
#define VCM_TOKEN_TTL 600     /* token_ttl in VCM_CONF */
#define VCM_OBSERVER_TTL 1800 /* fixed by videocall.rs */
#define VCM_CONF                                                                                   \
	"session_jwt_compat = true\njwt_secret = " VCM_SECRET "\ntoken_ttl = 600s\n"               \
	"cookie_secure = false\n"

/* Shapes of §3.2 for vcm_shape: "name:type", type s(tring) i(nteger)
 * b(oolean) a(rray) o(bject); '?' marks an optional member, which must be
 * omitted rather than null. vcd adds nothing to them (its admission
 * setting is not shown, vcd-api(7)) but, only where a meeting has them set,
 * its extensions (VCM_EXT). */
#define VCM_EXT " ?access_level:s ?configuration:o ?embed_provider:s"
#define VCM_CREATE_SHAPE                                                                           \
	"meeting_id:s host:s created_at:i state:s attendees:a has_password:b "                     \
	"waiting_room_enabled:b" VCM_EXT
#define VCM_INFO_SHAPE                                                                             \
	"meeting_id:s state:s host:s ?host_display_name:s ?host_user_id:s has_password:b "         \
	"waiting_room_enabled:b participant_count:i waiting_count:i started_at:i ?ended_at:i "     \
	"?your_status:o" VCM_EXT
#define VCM_SUMMARY_SHAPE                                                                          \
	"meeting_id:s ?host:s state:s has_password:b created_at:i participant_count:i "            \
	"started_at:i ?ended_at:i waiting_count:i waiting_room_enabled:b" VCM_EXT
#define VCM_LIST_SHAPE "meetings:a total:i limit:i offset:i"
#define VCM_PART_SHAPE                                                                             \
	"user_id:s ?display_name:s status:s is_host:b joined_at:i ?admitted_at:i ?room_token:s "   \
	"?observer_token:s ?waiting_room_enabled:b ?host_display_name:s ?host_user_id:s"
/* Members a participant has only in the answers of /join and /status. */
#define VCM_JOIN_ONLY                                                                              \
	"room_token observer_token waiting_room_enabled host_display_name host_user_id"

/* --- setup ---------------------------------------------------------------- */

/* libsodium and the random generator; call once in the group setup. */
void vcm_init(void);
/* The vcd the request helpers talk to. */
void vcm_target(const vct_vcd_t *v);
/* Wait (10 s) until v's /metrics says it is connected to NATS. */
void vcm_wait_nats(const vct_vcd_t *v);
/* The usual group setup: vcm_init, a database named db (its URL in
 * *db_url), one vcd `name` with VCM_CONF and then `more` (NULL: nothing),
 * kept across the cases and targeted. */
vct_vcd_t *vcm_start(const char *db, const char *name, const char *more, char **db_url);
/* Its group teardown: vct_vcd_finish(v), free *db_url; the finish's status. */
int vcm_finish(vct_vcd_t *v, char **db_url);
/* Wall clock, seconds and milliseconds since the epoch. */
long long vcm_now(void);
long long vcm_now_ms(void);

/* --- requests ------------------------------------------------------------- */

/* A videocall.rs session JWT (HS256, VCM_SECRET): sub = name = user,
 * iat = now, exp = now + exp_in, iss videocall-meeting-backend (malloc'd). */
char *vcm_session_jwt(const char *user, long long exp_in);
/* "/api/v1/meetings[/room[/op]]" (malloc'd). */
char *vcm_url(const char *room, const char *op);
/*
 * One request to the target as `user` (Cookie: session=<JWT>; no
 * credential when user is NULL) with the raw header lines `headers`
 * ("Name: value\r\n"…, may be NULL) and `body` (may be NULL). Returns the
 * status; fails the test when nothing answers within 5 s.
 */
int vcm_raw(const char *user, const char *method, const char *path, const char *headers,
            const char *body, vct_resp_t *r);
/* vcm_raw with Content-Type: application/json when body is not NULL. */
int vcm_call(const char *user, const char *method, const char *path, const char *body,
             vct_resp_t *r);
/* r must be a success envelope with `status`: its result (new reference). */
json_t *vcm_result(const vct_resp_t *r, int status, const char *what);
/* r must be exactly {"success":false,"result":{"code":…,"message":…}}
 * with `status`; message NULL accepts any non-empty message. */
void vcm_error(const vct_resp_t *r, int status, const char *code, const char *message,
               const char *what);
/* vcm_call on vcm_url(room, op), then vcm_result / vcm_error. */
json_t *vcm_ok(const char *user, const char *method, const char *room, const char *op,
               const char *body, int status);
void vcm_fail(const char *user, const char *method, const char *room, const char *op,
              const char *body, int status, const char *code, const char *message);
/* The same on a full path (query strings). */
json_t *vcm_ok_at(const char *user, const char *method, const char *path, const char *body,
                  int status);
void vcm_fail_at(const char *user, const char *method, const char *path, const char *body,
                 int status, const char *code, const char *message);
/* Status only (framework-level answers, §2.2): fails unless `status`, and
 * unless the body is not a success envelope. */
void vcm_status(const char *user, const char *method, const char *path, const char *headers,
                const char *body, int status);

/* The exact error messages of §2.4 (malloc'd where they name something). */
#define VCM_NOT_HOST "Only the meeting host can perform this action"
#define VCM_NOT_OWNER "Only the meeting owner can perform this action"
#define VCM_NOT_IN "You have not joined this meeting"
#define VCM_NOAUTH "Authentication required."
char *vcm_msg_not_found(const char *room);      /* Meeting '{id}' not found */
char *vcm_msg_exists(const char *room);         /* Meeting with ID '{id}' already exists */
char *vcm_msg_not_active(const char *room);     /* Meeting '{id}' is not active. Host … */
char *vcm_msg_no_participant(const char *user); /* Participant '{id}' not found in … */

/* Common steps, each checked: create (201), join (200), admit (200). */
json_t *vcm_create(const char *owner, const char *body);
json_t *vcm_join(const char *user, const char *room, const char *display_name);
json_t *vcm_admit(const char *host, const char *room, const char *user);
/* Create `room` owned by `owner`, the body {"meeting_id": room} plus the
 * members `more` (",\"password\":\"x\"" or NULL); the answer is checked
 * and dropped. */
void vcm_new_room(const char *owner, const char *room, const char *more);

/* --- shapes and values ---------------------------------------------------- */

/* Fail unless o is an object with exactly the members `spec` allows, each
 * of its type, every required one present, none null. */
void vcm_shape(const json_t *o, const char *spec, const char *what);
/* Fail if o has any of the space-separated members. */
void vcm_absent(const json_t *o, const char *names, const char *what);
/* Fail unless o equals the JSON text want after members `skip` (space
 * separated) are removed from both. */
void vcm_same(const json_t *o, const char *want, const char *skip, const char *what);
/* Member `key`, a time in seconds (resp. milliseconds) since the epoch
 * within two minutes of now; returned. */
long long vcm_secs(const json_t *o, const char *key);
long long vcm_millis(const json_t *o, const char *key);
/* A participant answer as /join or /status gives it: shape, user_id,
 * status, is_host. */
void vcm_participant(const json_t *p, const char *user, const char *status, bool is_host);
/* The element of array a whose user_id is user, or NULL. */
json_t *vcm_find_user(const json_t *a, const char *user);

/* --- tokens --------------------------------------------------------------- */

/*
 * Verify `token` with VCM_SECRET and check its claims: exactly sub, room,
 * room_join, is_host, display_name, observer, exp, iss (no iat, nbf, aud),
 * header {"typ":"JWT","alg":"HS256"}. A room token has room_join true,
 * observer false and exp = now + VCM_TOKEN_TTL; an observer token
 * room_join false, observer true, is_host false and exp = now +
 * VCM_OBSERVER_TTL, "now" being between t0 and t1 (seconds).
 */
void vcm_room_token(const char *token, const char *user, const char *room, bool is_host,
                    const char *display_name, long long t0, long long t1);
void vcm_observer_token(const char *token, const char *user, const char *room,
                        const char *display_name, long long t0, long long t1);

/* --- NATS ----------------------------------------------------------------- */

typedef struct vcm_sub vcm_sub_t;

/* Subscribe to `subject` (e.g. room.x.system, or room.*.system) on
 * $VCT_NATS_URL with the test's own connection; flushed, so it is in place
 * at the server on return. */
vcm_sub_t *vcm_sub_open(const char *subject);
void vcm_sub_close(vcm_sub_t *s);
unsigned vcm_sub_count(vcm_sub_t *s);
/* Wait up to ms for at least n messages; the count reached. */
unsigned vcm_sub_wait(vcm_sub_t *s, unsigned n, unsigned ms);
/* Message i (a copy, malloc'd) and its subject. */
uint8_t *vcm_sub_msg(vcm_sub_t *s, unsigned i, size_t *len, char **subject);
/* Fail unless message i is byte for byte vc_system_event_encode() of the
 * event with room_id = room and target_user_id = target (NULL: none),
 * published on room.{room}.system. */
void vcm_expect_event(vcm_sub_t *s, unsigned i, int event, const char *room, const char *target);
/* Wait up to 5 s for n messages, then `quiet_ms` more: fail unless exactly n. */
void vcm_expect_count(vcm_sub_t *s, unsigned n, unsigned quiet_ms);

/* A system event decoded (for events whose optional fields vcd chooses). */
typedef struct vcm_event {
	int packet_type;
	char user_id[64];
	int event_type;
	char room_id[256];
	char target[256];
} vcm_event_t;
bool vcm_decode_event(const uint8_t *b, size_t n, vcm_event_t *e);

/* --- many callers at once ------------------------------------------------- */

typedef struct vcm_job {
	const char *user, *method, *path, *body; /* body: JSON */
	int port;                                /* 0: the vcd the tests talk to */
	int status;                              /* 0: no answer */
	json_t *json;                            /* the parsed body, or NULL */
} vcm_job_t;

/* Run the n jobs on n threads, one connection each, all connected before
 * any sends its request; bounded (60 s). Never fails the test itself. */
void vcm_run_jobs(vcm_job_t *jobs, unsigned n);
void vcm_jobs_free(vcm_job_t *jobs, unsigned n);

#endif
