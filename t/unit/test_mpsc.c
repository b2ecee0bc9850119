/*
 * test_mpsc.c — the intrusive MPSC queue under the mailboxes: FIFO order for
 * one producer, and per-producer order with nothing lost for many.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdlib.h>

#include "runtime/mpsc.h"

typedef struct item {
	vc_qnode_t node;
	unsigned producer;
	unsigned seq;
} item_t;

#define PRODUCERS 4
#define PER_PRODUCER 200000

static vc_mpsc_t q;

static void test_fifo_single(void **state)
{
	item_t items[10];
	vc_mpsc_init(&q);
	assert_null(vc_mpsc_pop(&q));
	for (unsigned i = 0; i < 10; i++) {
		items[i].seq = i;
		vc_mpsc_push(&q, &items[i].node);
	}
	for (unsigned i = 0; i < 10; i++) {
		item_t *it = (item_t *)vc_mpsc_pop(&q);
		assert_non_null(it);
		assert_int_equal(it->seq, i);
	}
	assert_null(vc_mpsc_pop(&q));
	/* reuse after empty */
	vc_mpsc_push(&q, &items[3].node);
	assert_ptr_equal(vc_mpsc_pop(&q), &items[3].node);
	assert_null(vc_mpsc_pop(&q));
}

static void *producer(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg;
	for (unsigned i = 0; i < PER_PRODUCER; i++) {
		item_t *it = malloc(sizeof(*it));
		it->producer = id;
		it->seq = i;
		vc_mpsc_push(&q, &it->node);
	}
	return NULL;
}

static void test_many_producers_keep_order(void **state)
{
	pthread_t th[PRODUCERS];
	unsigned next[PRODUCERS] = { 0 };
	unsigned long got = 0;

	vc_mpsc_init(&q);
	for (unsigned i = 0; i < PRODUCERS; i++)
		pthread_create(&th[i], NULL, producer, (void *)(uintptr_t)i);
	while (got < (unsigned long)PRODUCERS * PER_PRODUCER) {
		item_t *it = (item_t *)vc_mpsc_pop(&q);
		if (it == NULL)
			continue; /* producers still running: the test thread may spin */
		assert_int_equal(it->seq, next[it->producer]);
		next[it->producer]++;
		got++;
		free(it);
	}
	for (unsigned i = 0; i < PRODUCERS; i++)
		pthread_join(th[i], NULL);
	assert_null(vc_mpsc_pop(&q));
	for (unsigned i = 0; i < PRODUCERS; i++)
		assert_int_equal(next[i], PER_PRODUCER);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fifo_single),
		cmocka_unit_test(test_many_producers_keep_order),
	};
	return cmocka_run_group_tests_name("mpsc", tests, NULL, NULL);
}
