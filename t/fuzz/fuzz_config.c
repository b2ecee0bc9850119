/*
 * fuzz_config.c — libFuzzer target for runtime/config.c.
 *
 * The input is written to a temporary file and loaded as vcd.conf. Its first
 * line is also tried as a command-line override ("key=value") and as the
 * value of DATABASE_URL, which reaches the secret redaction. Whatever loads
 * is rendered as JSON and diffed against the defaults, then freed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/config.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[] = "/tmp/fuzz_config.XXXXXX";
static int fd = -1;
static vc_config_t *defaults;
static char *const env_db[] = { "DATABASE_URL=postgresql://fuzz:pw@localhost/fuzz", NULL };

static void cleanup(void)
{
	vc_config_free(defaults);
	if (fd >= 0)
		unlink(path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[512];

	fd = mkstemp(path);
	if (fd < 0) {
		perror("fuzz_config: mkstemp");
		abort();
	}
	defaults = vc_config_load(NULL, NULL, 0, env_db, err, sizeof(err));
	if (defaults == NULL) {
		fprintf(stderr, "fuzz_config: %s\n", err);
		abort();
	}
	atexit(cleanup);
	return 0;
}

/* Render and diff a loaded configuration, then free it. */
static void exercise(vc_config_t *c)
{
	json_t *j, *applied, *restart;
	char *s;

	if (c == NULL)
		return;
	j = vc_config_to_json(c);
	s = json_dumps(j, 0);
	if (s == NULL)
		abort(); /* every value must render as valid JSON */
	free(s);
	json_decref(j);
	applied = json_array();
	restart = json_array();
	vc_config_diff(defaults, c, applied, restart);
	json_decref(applied);
	json_decref(restart);
	vc_config_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	const uint8_t *nl = memchr(data, '\n', size);
	size_t n = nl != NULL ? (size_t)(nl - data) : size;
	char *line, *env_line, *ov[1], *env[2];

	if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	exercise(vc_config_load(path, NULL, 0, env_db, err, sizeof(err)));

	line = strndup((const char *)data, n);
	env_line = malloc(n + sizeof("DATABASE_URL="));
	if (line == NULL || env_line == NULL)
		abort();
	snprintf(env_line, n + sizeof("DATABASE_URL="), "DATABASE_URL=%s", line);
	ov[0] = line;
	env[0] = env_line;
	env[1] = NULL;
	exercise(vc_config_load(NULL, ov, 1, env, err, sizeof(err)));
	exercise(vc_config_load(NULL, NULL, 0, env, err, sizeof(err)));
	free(line);
	free(env_line);
	return 0;
}
