/*
 * sigbench.h — the accounts sigbench (t/bench/sigbench.c) identifies its
 * /ws devices with (t/bench/sigbench_accounts.c): vcd session tokens got by
 * registering or logging in through the REST API, or read from a file.
 */
#ifndef SIGBENCH_H
#define SIGBENCH_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SB_TOKEN_MAX 80
#define SB_ID_MAX 64

typedef struct sb_account {
	char token[SB_TOKEN_MAX]; /* what identify sends */
	char id[SB_ID_MAX];       /* the user's id (fromUserId), "" when not known */
} sb_account_t;

/* The first n lines of file path, each "TOKEN [USER_ID]", into acc[0..n).
 * False with why when the file cannot be read or has fewer lines. */
bool sb_accounts_read(const char *path, sb_account_t *acc, uint32_t n, char *why, size_t whylen);

/* acc[0..n) into file path, in the form sb_accounts_read reads. */
bool sb_accounts_write(const char *path, const sb_account_t *acc, uint32_t n, char *why,
                       size_t whylen);

/* A session for each of the users PREFIX-0 .. PREFIX-(n-1) on the vcd at
 * `to`: POST /api/users/register, or /api/users/login when the name is
 * taken (a bench run earlier on the same database), `threads` requests at
 * a time (each hashes a password). Retries 503 (the password queue is
 * full). False with why on any other answer (429: auth_rate_limit). */
bool sb_accounts_register(const struct sockaddr_in *to, const char *prefix, sb_account_t *acc,
                          uint32_t n, int threads, char *why, size_t whylen);

#endif
