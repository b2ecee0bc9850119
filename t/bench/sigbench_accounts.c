/*
 * sigbench_accounts.c — sessions for sigbench's users: registered or
 * logged in through vcd's REST API (blocking HTTP/1.1, one request per
 * connection: this is setup, not the measured part), or read from a file
 * of tokens. See sigbench.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "runtime/vc.h"
#include "t/bench/benchutil.h"
#include "t/bench/sigbench.h"

#define PASSWORD "sigbench-password"
#define RESPONSE_MAX 16384
#define IO_TIMEOUT_S 30 /* a register waits for an Argon2id hash in a queue */
#define RETRY_NS 100000000ull
#define RETRIES 600

typedef struct job {
	const struct sockaddr_in *to;
	const char *prefix;
	sb_account_t *acc;
	uint32_t n;
	_Atomic uint32_t next;
	_Atomic int failed;
	pthread_mutex_t mu;
	char why[256];
} job_t;

static void job_fail(job_t *j, const char *fmt, ...) VC_PRINTF(2, 3);
static void job_fail(job_t *j, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&j->mu);
	if (!atomic_load(&j->failed)) {
		va_start(ap, fmt);
		vsnprintf(j->why, sizeof(j->why), fmt, ap);
		va_end(ap);
		atomic_store(&j->failed, 1);
	}
	pthread_mutex_unlock(&j->mu);
}

/* POST path with body to `to`; the status (0 when the exchange failed,
 * why says how) and the body into out (NUL-terminated). */
static int post(const struct sockaddr_in *to, const char *path, const char *body, char *out,
                size_t outlen, char *why, size_t whylen)
{
	struct timeval tv = { .tv_sec = IO_TIMEOUT_S };
	char req[1024], host[INET_ADDRSTRLEN];
	size_t len = 0;
	int fd, n, status = 0;
	ssize_t r;
	char *b;

	inet_ntop(AF_INET, &to->sin_addr, host, sizeof(host));
	n = snprintf(req, sizeof(req),
	             "POST %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
	             "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
	             path, host, ntohs(to->sin_port), strlen(body), body);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(why, whylen, "socket: %s", strerror(errno));
		return 0;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (const struct sockaddr *)to, sizeof(*to)) != 0 ||
	    send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
		snprintf(why, whylen, "POST %s: %s", path, strerror(errno));
		goto out;
	}
	while (len + 1 < outlen && (r = recv(fd, out + len, outlen - 1 - len, 0)) > 0)
		len += (size_t)r;
	out[len] = '\0';
	if (sscanf(out, "HTTP/1.1 %d", &status) != 1 || (b = strstr(out, "\r\n\r\n")) == NULL) {
		snprintf(why, whylen, "POST %s: no HTTP answer within %d s", path, IO_TIMEOUT_S);
		status = 0;
		goto out;
	}
	memmove(out, b + 4, strlen(b + 4) + 1);
out:
	close(fd);
	return status;
}

/* token and id of a session body into a; false if they are not there. */
static bool take_session(const char *body, sb_account_t *a)
{
	json_t *j = json_loads(body, 0, NULL);
	const char *tok = json_string_value(json_object_get(j, "token"));
	const char *id = json_string_value(json_object_get(j, "id"));
	bool ok = tok != NULL && strlen(tok) < sizeof(a->token);

	if (ok) {
		snprintf(a->token, sizeof(a->token), "%s", tok);
		snprintf(a->id, sizeof(a->id), "%s", id != NULL ? id : "");
	}
	json_decref(j);
	return ok;
}

/* One user's session: register, or log in when the name is taken. */
static bool one_account(job_t *j, uint32_t i)
{
	char body[256], *resp = vc_malloc(RESPONSE_MAX), why[200] = "";
	const char *path = "/api/users/register";
	bool ok = false;
	int status = 0;

	snprintf(body, sizeof(body), "{\"username\":\"%s-%u\",\"password\":\"%s\"}", j->prefix, i,
	         PASSWORD);
	for (int tries = 0; tries < RETRIES && !atomic_load(&j->failed); tries++) {
		status = post(j->to, path, body, resp, RESPONSE_MAX, why, sizeof(why));
		if (status == 409 && strcmp(path, "/api/users/register") == 0) {
			path = "/api/users/login";
			tries--;
			continue;
		}
		if (status != 503)
			break;
		vcb_sleep_ns(RETRY_NS);
	}
	if (status == 200 || status == 201)
		ok = take_session(resp, &j->acc[i]);
	if (!ok && status == 429)
		job_fail(j, "%s for %s-%u answered 429: run vcd with auth_rate_limit = off", path,
		         j->prefix, i);
	else if (!ok && status != 0)
		job_fail(j, "%s for %s-%u answered %d '%.100s'", path, j->prefix, i, status, resp);
	else if (!ok)
		job_fail(j, "%s", why);
	free(resp);
	return ok;
}

static void *register_main(void *arg)
{
	job_t *j = arg;
	uint32_t i;

	while (!atomic_load(&j->failed) && (i = atomic_fetch_add(&j->next, 1)) < j->n)
		if (!one_account(j, i))
			break;
	return NULL;
}

bool sb_accounts_register(const struct sockaddr_in *to, const char *prefix, sb_account_t *acc,
                          uint32_t n, int threads, char *why, size_t whylen)
{
	job_t j = { .to = to, .prefix = prefix, .acc = acc, .n = n };
	pthread_t th[64];
	int started = 0;

	pthread_mutex_init(&j.mu, NULL);
	if (threads > (int)VC_ARRAY_LEN(th))
		threads = (int)VC_ARRAY_LEN(th);
	for (int i = 0; i < threads && (uint32_t)i < n; i++)
		if (pthread_create(&th[started], NULL, register_main, &j) == 0)
			started++;
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	pthread_mutex_destroy(&j.mu);
	if (started == 0 && n > 0)
		snprintf(j.why, sizeof(j.why), "pthread_create failed");
	if (j.failed || (started == 0 && n > 0)) {
		snprintf(why, whylen, "%s", j.why);
		return false;
	}
	return true;
}

bool sb_accounts_read(const char *path, sb_account_t *acc, uint32_t n, char *why, size_t whylen)
{
	FILE *f = fopen(path, "r");
	char line[256];
	uint32_t i = 0;

	if (f == NULL) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		return false;
	}
	while (i < n && fgets(line, sizeof(line), f) != NULL) {
		char tok[SB_TOKEN_MAX] = "", id[SB_ID_MAX] = "";
		if (sscanf(line, "%79s %63s", tok, id) < 1)
			continue;
		snprintf(acc[i].token, sizeof(acc[i].token), "%s", tok);
		snprintf(acc[i].id, sizeof(acc[i].id), "%s", id);
		i++;
	}
	fclose(f);
	if (i < n) {
		snprintf(why, whylen, "%s has %u tokens, %u needed", path, i, n);
		return false;
	}
	return true;
}

bool sb_accounts_write(const char *path, const sb_account_t *acc, uint32_t n, char *why,
                       size_t whylen)
{
	FILE *f = fopen(path, "w");
	bool ok;

	if (f == NULL) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		return false;
	}
	for (uint32_t i = 0; i < n; i++)
		fprintf(f, "%s %s\n", acc[i].token, acc[i].id);
	ok = fflush(f) == 0 && !ferror(f);
	if (fclose(f) != 0 || !ok) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		return false;
	}
	return true;
}
