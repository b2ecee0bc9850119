/*
 * shared.c — reference-counted payloads (runtime/shared.h).
 */
#include "runtime/shared.h"

#include <stdlib.h>
#include <string.h>

vc_shared_t *vc_shared_new(size_t len)
{
	vc_shared_t *s = vc_malloc(sizeof(*s) + len);

	atomic_init(&s->refs, 1);
	s->head = 0;
	s->flags = 0;
	s->len = len;
	s->data = s->bytes;
	return s;
}

vc_shared_t *vc_shared_copy(const void *p, size_t len)
{
	vc_shared_t *s = vc_shared_new(len);

	if (len > 0)
		memcpy(s->data, p, len);
	return s;
}

void vc_shared_trim(vc_shared_t *s, size_t len)
{
	if (len < s->len)
		s->len = len;
}

void vc_shared_unref(vc_shared_t *s)
{
	if (s == NULL)
		return;
	/* acq_rel: the freeing thread sees every other holder's last use. */
	if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1)
		free(s);
}
