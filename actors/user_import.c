/*
 * user_import.c — splitting and checking the rows of an import file (see
 * user_import.h). Used by vcctl and by vcd; no I/O, no database.
 */
#include "actors/user_import.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "actors/password.h"
#include "runtime/vc.h"

#define USERNAME_MIN 3
#define USERNAME_MAX 32
#define QUOTE_MAX 40 /* a bad username longer than this is not quoted */
#define SPACE " \t"

/* ---- splitting a line ---------------------------------------------------- */

/* A copy of s[0..n) without surrounding spaces and tabs. */
static char *field(const char *s, size_t n)
{
	while (n > 0 && strchr(SPACE, s[0]) != NULL) {
		s++;
		n--;
	}
	while (n > 0 && strchr(SPACE, s[n - 1]) != NULL)
		n--;
	return vc_strndup(s, n);
}

/*
 * Where the hash starting at h ends: the next ',' — but an Argon2id string
 * ($argon2id$v=19$m=65536,t=2,p=1$salt$hash) has commas in its parameter
 * segment. Segments holding '=' (version, parameters) are skipped whole;
 * the salt and the hash are base64 without '=' or ','.
 */
static const char *hash_end(const char *h)
{
	const char *p;

	h += strspn(h, SPACE);
	if (strncmp(h, "$argon2", 7) != 0)
		return h + strcspn(h, ",");
	p = strchr(h + 1, '$');
	while (p != NULL) {
		const char *next = strchr(p + 1, '$');
		size_t seg = next != NULL ? (size_t)(next - p - 1) : strlen(p + 1);
		if (memchr(p + 1, '=', seg) == NULL)
			break;
		p = next;
	}
	return p != NULL ? p + strcspn(p, ",") : h + strlen(h);
}

int vc_user_import_split(const char *line, vc_import_row_t *row, char *err, size_t errlen)
{
	size_t len = strcspn(line, "\r\n");
	const char *start = line + strspn(line, SPACE), *comma, *end;
	char *copy;

	*row = (vc_import_row_t){ 0 };
	if ((size_t)(start - line) >= len || *start == '#')
		return 0;
	copy = vc_strndup(line, len);
	comma = strchr(copy, ',');
	if (comma == NULL) {
		snprintf(err, errlen,
		         "no ',' after the username (expected username,hash[,displayName])");
		free(copy);
		return -1;
	}
	row->username = field(copy, (size_t)(comma - copy));
	end = hash_end(comma + 1);
	row->hash = field(comma + 1, (size_t)(end - comma - 1));
	if (*end == ',') {
		row->display = field(end + 1, strlen(end + 1));
		if (row->display[0] == '\0') { /* "alice,hash," */
			free(row->display);
			row->display = NULL;
		}
	}
	free(copy);
	return 1;
}

void vc_user_import_row_free(vc_import_row_t *row)
{
	free(row->username);
	free(row->hash);
	free(row->display);
	*row = (vc_import_row_t){ 0 };
}

/* ---- checking a row ------------------------------------------------------ */

bool vc_user_name_ok(const char *u)
{
	size_t n = strlen(u);

	if (n < USERNAME_MIN || n > USERNAME_MAX || !isalnum((unsigned char)u[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)u[i]) && strchr("_.-", u[i]) == NULL)
			return false;
	return true;
}

/* May a bad username be quoted? Not when it may be a misplaced hash. */
static bool quotable(const char *u)
{
	if (strlen(u) > QUOTE_MAX || strchr(u, '$') != NULL)
		return false;
	for (; *u; u++)
		if (!isprint((unsigned char)*u))
			return false;
	return true;
}

static bool display_ok(const char *d)
{
	json_t *utf8;

	if (strlen(d) > VC_USER_IMPORT_DISPLAY_MAX)
		return false;
	for (const char *p = d; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return false;
	utf8 = json_string(d); /* NULL when d is not valid UTF-8 */
	json_decref(utf8);
	return utf8 != NULL;
}

int vc_user_import_check(const char *username, const char *hash, const char *display, char *err,
                         size_t errlen)
{
	if (!vc_user_name_ok(username)) {
		if (quotable(username))
			snprintf(err, errlen, "bad username '%s'", username);
		else
			snprintf(err, errlen, "bad username (%zu bytes, not shown)",
			         strlen(username));
		snprintf(err + strlen(err), errlen - strlen(err),
		         " (expected 3 to 32 letters, digits, '_', '.' or '-', starting with a "
		         "letter or digit)");
		return -1;
	}
	if (!vc_password_hash_kind_ok(hash)) {
		snprintf(err, errlen,
		         "bad hash (expected $argon2id$..., $2a$/$2b$/$2y$ bcrypt or 64 hex "
		         "SHA-256)");
		return -1;
	}
	if (display != NULL && !display_ok(display)) {
		snprintf(err, errlen,
		         "bad display name (expected at most %d bytes of UTF-8 without control "
		         "characters)",
		         VC_USER_IMPORT_DISPLAY_MAX);
		return -1;
	}
	return 0;
}

/* ---- repeated usernames -------------------------------------------------- */

typedef struct name_ref {
	const char *name;
	size_t idx;
} name_ref_t;

static int name_cmp(const void *a, const void *b)
{
	const name_ref_t *x = a, *y = b;
	int c = strcasecmp(x->name, y->name);

	if (c != 0)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

void vc_user_import_repeats(const char *const *names, size_t n, size_t *first)
{
	name_ref_t *refs = vc_calloc(n ? n : 1, sizeof(*refs));

	for (size_t i = 0; i < n; i++) {
		refs[i] = (name_ref_t){ names[i], i };
		first[i] = i;
	}
	qsort(refs, n, sizeof(*refs), name_cmp);
	for (size_t i = 1, head = 0; i < n; i++) {
		if (strcasecmp(refs[i].name, refs[head].name) == 0)
			first[refs[i].idx] = refs[head].idx;
		else
			head = i;
	}
	free(refs);
}
