/*
 * fuzz_http.c — libFuzzer target: arbitrary bytes through the HTTP request
 * parser, its header/URI/body limits and pipelining.
 */
#include <stdint.h>
#include <stdlib.h>

#include "runtime/config.h"

int vc_http__fuzz_parse(const char *data, size_t len);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	if (!ready) {
		static char *const env[] = { "DATABASE_URL=postgresql:///fuzz", "VCD_MAX_BODY=4k",
					     "VCD_MAX_HEADER_SIZE=2k", "VCD_MAX_URI=512", NULL };
		char err[256];
		vc_config_t *cfg = vc_config_load(NULL, NULL, 0, env, err, sizeof(err));
		if (cfg == NULL)
			abort();
		vc_config_publish(cfg);
		ready = 1;
	}
	vc_http__fuzz_parse((const char *)data, size);
	return 0;
}
