/*
 * signal_cluster.c — the signaling's subjects on NATS: vcd.sig.user.{id}
 * and vcd.sig.server.{id}, one JSON object per message with "op" (see
 * actors/signal_hub.c for the ops). A record subscribes to its subject
 * while it exists; what arrives becomes a message to the hub of the
 * record's worker (DESIGN §3: a callback only turns a NATS message into an
 * actor message).
 */
#include "actors/signal_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/log.h"

#define SUBJECT_MAX 300

typedef struct sub_arg {
	uint64_t ready_gen;
	char kind[8];
	char id[];
} sub_arg_t;

static bool subject_of(const char *kind, const char *id, char *out, size_t len)
{
	/* ids are UUIDs; anything that would not make one subject token is not sent */
	if (id[0] == '\0' || strpbrk(id, ".*> \t\r\n") != NULL)
		return false;
	return (size_t)snprintf(out, len, "vcd.sig.%s.%s", kind, id) < len;
}

void sig_cluster_publish(const char *kind, const char *id, json_t *j)
{
	char subject[SUBJECT_MAX];
	char *text;

	if (!vc_nats_enabled() || !subject_of(kind, id, subject, sizeof(subject))) {
		json_decref(j);
		return;
	}
	json_object_set_new(j, "node", json_string(vc_nats_node_id()));
	text = json_dumps(j, JSON_COMPACT);
	if (text != NULL)
		(void)vc_nats_publish(subject, text, strlen(text));
	free(text);
	json_decref(j);
}

/* nats.c's thread */
static void on_msg(const char *subject, const void *data, size_t len, void *arg)
{
	sub_arg_t *a = arg;
	json_t *j = json_loadb(data, len, 0, NULL);
	const char *node = json_string_value(json_object_get(j, "node"));
	sig_hub_msg_t *m;

	if (!json_is_object(j) || node == NULL || strcmp(node, vc_nats_node_id()) == 0) {
		json_decref(j);
		return;
	}
	json_object_set_new(j, "kind", json_string(a->kind));
	m = sig_hub_msg(H_REMOTE, a->id);
	m->json = j;
	sig_hub_send(m);
}

static void on_closed(void *arg)
{
	free(arg);
}

/* nats-pub (or the caller, with NATS down): the subscription is active. */
static void on_ready(void *arg)
{
	sub_arg_t *a = arg;
	sig_hub_msg_t *m =
	        sig_hub_msg(strcmp(a->kind, "server") == 0 ? H_SERVER_READY : H_SUB_READY, a->id);

	m->generation = (int64_t)a->ready_gen;
	sig_hub_send(m);
}

vc_nats_sub_t *sig_cluster_sub(const char *kind, const char *id, uint64_t ready_gen)
{
	char subject[SUBJECT_MAX];
	sub_arg_t *a;

	if (!vc_nats_enabled() || !subject_of(kind, id, subject, sizeof(subject)))
		return NULL;
	a = vc_calloc(1, sizeof(*a) + strlen(id) + 1);
	snprintf(a->kind, sizeof(a->kind), "%s", kind);
	strcpy(a->id, id);
	a->ready_gen = ready_gen;
	return vc_nats_sub_ready(subject, on_msg, a, on_closed, ready_gen != 0 ? on_ready : NULL);
}
