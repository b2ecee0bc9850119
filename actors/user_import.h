/*
 * user_import.h — the rows of `vcctl users import`: one
 * "username,hash[,displayName]" per line of a file. vcctl reads and checks
 * the whole file before it sends anything; vcd checks every row again
 * before it inserts them all in one statement. The rules live here once.
 *
 * Rules: a username as for registration (3 to 32 letters, digits, '_', '.'
 * or '-', starting with a letter or digit; unique without regard to case);
 * a hash vcd can verify (vc_password_hash_kind_ok: Argon2id, bcrypt $2a$/
 * $2b$/$2y$, or 64 hex digits of SHA-256); a display name of at most 64
 * bytes of UTF-8 without control characters, the username when absent.
 * Error messages never quote a hash.
 */
#ifndef VC_USER_IMPORT_H
#define VC_USER_IMPORT_H

#include <stdbool.h>
#include <stddef.h>

#define VC_USER_IMPORT_DISPLAY_MAX 64 /* bytes, as for registration */

typedef struct vc_import_row {
	char *username; /* malloc'd */
	char *hash;     /* malloc'd */
	char *display;  /* malloc'd, or NULL when the line has none */
} vc_import_row_t;

/*
 * Split one line of an import file (its "\n" or "\r\n" may be present).
 * Returns 1 and fills row (free with vc_user_import_row_free), 0 for a blank
 * line or a '#' comment, or -1 with err when there is no ',' after the
 * username. Spaces and tabs around fields are dropped. The hash ends at the
 * first ',' after it, except inside an Argon2id parameter list
 * ("m=65536,t=2,p=1"); the display name is the rest of the line and may
 * hold commas.
 */
int vc_user_import_split(const char *line, vc_import_row_t *row, char *err, size_t errlen);

/* Check one row. 0, or -1 with err: "bad username 'x' (expected …)",
 * "bad hash (expected …)" or "bad display name (expected …)". */
int vc_user_import_check(const char *username, const char *hash, const char *display, char *err,
                         size_t errlen);

/* A username as registration accepts it. */
bool vc_user_name_ok(const char *username);

/* Repeated usernames, without regard to case: first[i] = i when names[i]
 * has not occurred before, else the index of its first occurrence. */
void vc_user_import_repeats(const char *const *names, size_t n, size_t *first);

void vc_user_import_row_free(vc_import_row_t *row);

#endif
