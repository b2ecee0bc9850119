/*
 * password_job.h — password work as offload jobs: the hashing runs on an
 * offload thread, the answer arrives at the connection's actor as a
 * VC_HTTP_MSG_REPLY (see runtime/offload.h, actors/password.h).
 */
#ifndef VC_PASSWORD_JOB_H
#define VC_PASSWORD_JOB_H

#include "actors/password.h"
#include "runtime/offload.h"
#include "wire/http.h"

enum vc_pw_job_kind { VC_PW_JOB_HASH, VC_PW_JOB_VERIFY, VC_PW_JOB_BURN };

typedef struct vc_pw_job {
	vc_offload_job_t job;
	enum vc_pw_job_kind kind;
	char *password;                  /* wiped and freed with the job */
	char *stored;                    /* VERIFY: the stored hash */
	char hash[VC_PASSWORD_HASH_MAX]; /* HASH: the new hash ("" on failure) */
	enum vc_pw_result result;        /* VERIFY */
} vc_pw_job_t;

/* Submit password work for this request; `cont` receives the job. Returns
 * 0, or -1 when the offload pool is full (the caller answers 503). */
int vc_pw_job_run(vc_http_req_t *req, enum vc_pw_job_kind kind, const char *password,
                  const char *stored, vc_http_cont_fn cont);

#endif
