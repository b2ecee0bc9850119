/*
 * accounts.h — local accounts (Toju/MetoYou contract): register, login,
 * logout, the caller's profile, sessions and push device tokens under
 * /api/users, and the videocall.rs session routes /session, /profile and
 * /logout. See vcd-api(7).
 */
#ifndef VC_ACCOUNTS_H
#define VC_ACCOUNTS_H

#include "wire/http.h"

/* Main thread, before the workers: statements, the rate limiter. */
void vc_accounts_init(void);

/*
 * One attempt to prove a secret from this request's client address
 * (auth_rate_limit: register, login, a meeting join with a password).
 * 0 when allowed; else the seconds until the window ends, already set as
 * Retry-After: the caller answers 429 in its route's style.
 */
unsigned vc_accounts_attempt(vc_http_req_t *req);
void vc_accounts_register(vc_http_req_t *req);
void vc_accounts_login(vc_http_req_t *req);
void vc_accounts_logout(vc_http_req_t *req);
void vc_accounts_me(vc_http_req_t *req);
void vc_accounts_sessions(vc_http_req_t *req);
void vc_accounts_session_delete(vc_http_req_t *req);
void vc_accounts_device_put(vc_http_req_t *req);
void vc_accounts_device_delete(vc_http_req_t *req);
void vc_accounts_devices(vc_http_req_t *req);

void vc_accounts_vc_session(vc_http_req_t *req);
void vc_accounts_vc_profile(vc_http_req_t *req);
void vc_accounts_vc_logout(vc_http_req_t *req);

#endif
