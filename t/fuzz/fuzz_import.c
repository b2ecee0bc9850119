/*
 * fuzz_import.c — libFuzzer target: arbitrary bytes as a `vcctl users
 * import` file, line by line through the splitter and the row checks, then
 * the repeat detection over every row that split.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "actors/user_import.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *line, *save = NULL;
	const char *names[256];
	size_t first[256], n = 0;
	vc_import_row_t rows[256];
	char err[256];

	memcpy(text, data, size);
	text[size] = '\0';
	for (line = strtok_r(text, "\n", &save); line != NULL && n < 256;
	     line = strtok_r(NULL, "\n", &save)) {
		if (vc_user_import_split(line, &rows[n], err, sizeof(err)) != 1)
			continue;
		(void)vc_user_import_check(rows[n].username, rows[n].hash, rows[n].display, err,
		                           sizeof(err));
		names[n] = rows[n].username;
		n++;
	}
	vc_user_import_repeats(names, n, first);
	for (size_t i = 0; i < n; i++) {
		if (first[i] > i)
			abort(); /* a first occurrence never comes after the repeat */
		vc_user_import_row_free(&rows[i]);
	}
	free(text);
	return 0;
}
