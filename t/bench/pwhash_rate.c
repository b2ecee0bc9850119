/*
 * pwhash_rate.c — the baseline for the login benchmark: how many Argon2id
 * password hashes per second THREADS threads compute with vcd's own
 * parameters (vc_password_hash), for SECONDS seconds.
 *
 * usage: pwhash_rate THREADS SECONDS   → prints "<hashes per second>"
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "actors/password.h"

static _Atomic unsigned long done;
static _Atomic int stop;

static void *hash_loop(void *arg)
{
	char out[VC_PASSWORD_HASH_MAX];

	while (!atomic_load(&stop)) {
		if (vc_password_hash("bench-password", out) != 0)
			abort();
		atomic_fetch_add(&done, 1);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int threads = argc > 1 ? atoi(argv[1]) : 2;
	double seconds = argc > 2 ? atof(argv[2]) : 5;
	pthread_t th[256];
	uint64_t t0;

	if (threads < 1 || threads > 256 || seconds <= 0 || vc_password_init() != 0) {
		fprintf(stderr, "usage: pwhash_rate THREADS SECONDS\n");
		return 2;
	}
	t0 = vc_now_us();
	for (int i = 0; i < threads; i++)
		pthread_create(&th[i], NULL, hash_loop, NULL);
	while (vc_now_us() - t0 < (uint64_t)(seconds * 1e6)) {
		struct timespec ts = { 0, 50000000 };
		nanosleep(&ts, NULL);
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	printf("%.1f\n", (double)atomic_load(&done) / ((double)(vc_now_us() - t0) / 1e6));
	return 0;
}
