/*
 * password_job.c — running actors/password.c on the offload pool.
 */
#include "actors/password_job.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/log.h"

static void pw_work(vc_offload_job_t *job)
{
	vc_pw_job_t *j = (vc_pw_job_t *)job;

	switch (j->kind) {
	case VC_PW_JOB_HASH:
		if (vc_password_hash(j->password, j->hash) != 0)
			j->hash[0] = '\0';
		break;
	case VC_PW_JOB_VERIFY: j->result = vc_password_verify(j->stored, j->password); break;
	case VC_PW_JOB_BURN:
		vc_password_burn(j->password);
		j->result = VC_PW_BAD;
		break;
	}
}

static void pw_destroy(vc_msg_t *m)
{
	vc_pw_job_t *j = (vc_pw_job_t *)m;

	if (j->password != NULL) {
		sodium_memzero(j->password, strlen(j->password));
		free(j->password);
	}
	free(j->stored);
	sodium_memzero(j->hash, sizeof(j->hash));
	free(j);
}

int vc_pw_job_run(vc_http_req_t *req, enum vc_pw_job_kind kind, const char *password,
                  const char *stored, vc_http_cont_fn cont)
{
	vc_pw_job_t *j = vc_msg_new(sizeof(*j), VC_HTTP_MSG_REPLY);

	j->job.msg.destroy = pw_destroy;
	j->job.fn = pw_work;
	j->kind = kind;
	j->password = vc_strdup(password);
	j->stored = stored != NULL ? vc_strdup(stored) : NULL;
	vc_http_await(req, cont);
	if (vc_offload_submit(&j->job, vc_http_actor(req)) != 0) {
		log_warn("password work refused: the offload queue is full");
		pw_destroy(&j->job.msg);
		vc_http_cancel_await(req);
		return -1;
	}
	return 0;
}
