/*
 * ops.c — the operational endpoints: /healthz (the process answers),
 * /readyz (PostgreSQL answers a query from this worker, every worker has
 * a connection, and we are not draining), /version (build information, as videocall.rs's BuildInfo)
 * and /metrics (Prometheus text format).
 */
#include "buildinfo.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "actors/embed.h"
#include "actors/lobby.h"
#include "actors/meetings.h"
#include "actors/signal.h"
#include "actors/routes.h"
#include "runtime/log.h"
#include "runtime/nats.h"
#include "runtime/pg.h"
#include "runtime/server.h"
#include "wire/ws.h"

static int stmt_ping;

void vc_ops_init(void)
{
	stmt_ping = vc_pg_statement("ops_ping", "SELECT 1", 0);
}

void vc_ops_healthz(vc_http_req_t *req)
{
	static const char ok[] = "{\"status\":\"ok\"}";

	vc_http_respond(req, 200, "application/json", ok, sizeof(ok) - 1);
}

/* Ready: this worker's query answered, every worker has a connection (a
 * request goes to its meeting's worker, not to this one), not draining. */
static void readyz_done(vc_http_req_t *req, vc_msg_t *reply)
{
	vc_pg_result_t *r = (vc_pg_result_t *)reply;
	bool db_ok = r->status == VC_PG_OK && vc_pg_all_pools_up();

	if (db_ok && !vc_server_draining()) {
		vc_http_respond_json(req, 200,
		                     json_pack("{s:s,s:s}", "status", "ready", "database", "ok"));
		return;
	}
	vc_http_respond_json(req, 503,
	                     json_pack("{s:s,s:s}", "status",
	                               vc_server_draining() ? "draining" : "unavailable",
	                               "database", db_ok ? "ok" : "unreachable"));
}

void vc_ops_readyz(vc_http_req_t *req)
{
	vc_http_await(req, readyz_done);
	vc_pg_query(stmt_ping, 0, NULL, vc_http_actor(req), VC_HTTP_MSG_REPLY, NULL);
}

void vc_ops_version(vc_http_req_t *req)
{
	vc_http_respond_json(req, 200,
	                     json_pack("{s:s,s:s,s:s,s:s,s:s}", "service", "vcd", "version",
	                               PACKAGE_VERSION, "git_sha", VC_GIT_SHA, "git_branch",
	                               VC_GIT_BRANCH, "build_timestamp", VC_BUILD_TIMESTAMP));
}

/* --- /metrics ------------------------------------------------------------- */

typedef struct text {
	char *buf;
	size_t len, cap;
} text_t;

static void put(text_t *t, const char *fmt, ...) VC_PRINTF(2, 3);
static void put(text_t *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
		if ((size_t)n < t->cap - t->len)
			break;
		t->cap = (t->cap + (size_t)n) * 2;
		t->buf = vc_realloc(t->buf, t->cap);
	}
	t->len += (size_t)n;
}

static void metric(text_t *t, const char *name, const char *type, const char *help)
{
	put(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void http_metrics(text_t *t)
{
	vc_http_stats_t h;

	vc_http_stats_sum(&h);
	metric(t, "vcd_http_connections", "gauge", "Open HTTP connections.");
	put(t, "vcd_http_connections %lld\n", (long long)h.connections);
	metric(t, "vcd_http_connections_accepted_total", "counter", "Connections accepted.");
	put(t, "vcd_http_connections_accepted_total %llu\n", (unsigned long long)h.accepted);
	metric(t, "vcd_http_connections_refused_total", "counter",
	       "Connections refused over max_connections.");
	put(t, "vcd_http_connections_refused_total %llu\n", (unsigned long long)h.refused);
	metric(t, "vcd_http_timeouts_total", "counter", "Connections closed by timeouts.");
	put(t, "vcd_http_timeouts_total %llu\n", (unsigned long long)h.timeouts);
	metric(t, "vcd_http_requests_total", "counter", "HTTP responses by status code.");
	for (int st = 100; st < 600; st++) {
		uint64_t n = vc_http_status_count(st);
		if (n > 0)
			put(t, "vcd_http_requests_total{code=\"%d\"} %llu\n", st,
			    (unsigned long long)n);
	}
}

static void actor_metrics(text_t *t)
{
	unsigned n = vc_runtime_nworkers();

	metric(t, "vcd_actors", "gauge", "Live actors per worker.");
	for (unsigned i = 0; i < n; i++)
		put(t, "vcd_actors{worker=\"%u\"} %lld\n", i,
		    (long long)atomic_load(&vc_worker_stats(vc_runtime_worker(i))->actors));
	metric(t, "vcd_mailbox_depth", "gauge", "Messages waiting in mailboxes per worker.");
	for (unsigned i = 0; i < n; i++)
		put(t, "vcd_mailbox_depth{worker=\"%u\"} %lld\n", i,
		    (long long)atomic_load(&vc_worker_stats(vc_runtime_worker(i))->queued));
	metric(t, "vcd_messages_handled_total", "counter", "Actor messages handled per worker.");
	for (unsigned i = 0; i < n; i++)
		put(t, "vcd_messages_handled_total{worker=\"%u\"} %llu\n", i,
		    (unsigned long long)atomic_load(
		            &vc_worker_stats(vc_runtime_worker(i))->handled));
}

static void db_metrics(text_t *t)
{
	vc_pg_stats_t p = { 0 };
	uint64_t q;

	vc_pg_stats_sum(&p);
	q = atomic_load(&p.queries);
	metric(t, "vcd_db_connections", "gauge", "PostgreSQL connections ready.");
	put(t, "vcd_db_connections %lld\n", (long long)atomic_load(&p.connected));
	metric(t, "vcd_db_errors_total", "counter", "Statements that failed.");
	put(t, "vcd_db_errors_total %llu\n", (unsigned long long)atomic_load(&p.errors));
	metric(t, "vcd_db_unavailable_total", "counter",
	       "Queries refused because no connection was usable.");
	put(t, "vcd_db_unavailable_total %llu\n", (unsigned long long)atomic_load(&p.unavailable));
	metric(t, "vcd_db_reconnects_total", "counter", "Reconnection attempts.");
	put(t, "vcd_db_reconnects_total %llu\n", (unsigned long long)atomic_load(&p.reconnects));
	metric(t, "vcd_db_group_commits_total", "counter",
	       "Transactions of several queries (db_group_commit).");
	put(t, "vcd_db_group_commits_total %llu\n",
	    (unsigned long long)atomic_load(&p.group_commits));
	metric(t, "vcd_db_group_committed_queries_total", "counter",
	       "Queries answered from group commits.");
	put(t, "vcd_db_group_committed_queries_total %llu\n",
	    (unsigned long long)atomic_load(&p.group_committed));
	metric(t, "vcd_db_group_commit_failures_total", "counter",
	       "Group commits rolled back; the failed query ran again alone, the others "
	       "together.");
	put(t, "vcd_db_group_commit_failures_total %llu\n",
	    (unsigned long long)atomic_load(&p.group_commit_failures));
	metric(t, "vcd_db_queued", "gauge", "Queries waiting for a connection.");
	put(t, "vcd_db_queued %lld\n", (long long)atomic_load(&p.queued));
	metric(t, "vcd_db_round_trip_seconds", "summary", "Query round trips.");
	put(t, "vcd_db_round_trip_seconds_sum %.6f\n", (double)atomic_load(&p.rtt_us_sum) / 1e6);
	put(t, "vcd_db_round_trip_seconds_count %llu\n", (unsigned long long)q);
}

static void nats_metrics(text_t *t)
{
	vc_nats_stats_t n;

	vc_nats_stats(&n);
	metric(t, "vcd_nats_connected", "gauge", "1 while connected to NATS (0 when disabled).");
	put(t, "vcd_nats_connected %d\n", n.connected ? 1 : 0);
	metric(t, "vcd_nats_published_total", "counter", "Messages published to NATS.");
	put(t, "vcd_nats_published_total %llu\n", (unsigned long long)n.published);
	metric(t, "vcd_nats_publish_failures_total", "counter",
	       "Publishes that failed, mostly while NATS was unreachable.");
	put(t, "vcd_nats_publish_failures_total %llu\n", (unsigned long long)n.publish_failures);
	metric(t, "vcd_nats_publish_dropped_total", "counter",
	       "Publishes dropped because the queue to NATS was full (nats_publish_queue).");
	put(t, "vcd_nats_publish_dropped_total %llu\n", (unsigned long long)n.publish_dropped);
	metric(t, "vcd_nats_publish_too_big_total", "counter",
	       "Publishes refused for being over the server's max_payload.");
	put(t, "vcd_nats_publish_too_big_total %llu\n", (unsigned long long)n.publish_too_big);
	metric(t, "vcd_nats_received_total", "counter", "Messages received from NATS.");
	put(t, "vcd_nats_received_total %llu\n", (unsigned long long)n.received);
	metric(t, "vcd_nats_reconnects_total", "counter", "Reconnections after a lost connection.");
	put(t, "vcd_nats_reconnects_total %llu\n", (unsigned long long)n.reconnects);
	metric(t, "vcd_nats_subscriptions", "gauge", "NATS subscriptions held now.");
	put(t, "vcd_nats_subscriptions %llu\n", (unsigned long long)n.subscriptions);
	metric(t, "vcd_nats_max_payload_bytes", "gauge",
	       "The NATS server's max_payload (0 until first connected).");
	put(t, "vcd_nats_max_payload_bytes %zu\n", n.max_payload);
}

static void ws_metrics(text_t *t)
{
	vc_ws_stats_t w;

	vc_ws_stats_sum(&w);
	metric(t, "vcd_ws_connections", "gauge", "Open WebSocket connections.");
	put(t, "vcd_ws_connections %lld\n", (long long)w.connections);
	metric(t, "vcd_ws_upgrades_total", "counter", "HTTP connections upgraded to WebSocket.");
	put(t, "vcd_ws_upgrades_total %llu\n", (unsigned long long)w.upgrades);
	metric(t, "vcd_ws_messages_total", "counter", "WebSocket messages by direction.");
	put(t, "vcd_ws_messages_total{direction=\"in\"} %llu\n", (unsigned long long)w.messages_in);
	put(t, "vcd_ws_messages_total{direction=\"out\"} %llu\n",
	    (unsigned long long)w.messages_out);
	metric(t, "vcd_ws_bytes_total", "counter",
	       "WebSocket bytes by direction (frames included).");
	put(t, "vcd_ws_bytes_total{direction=\"in\"} %llu\n", (unsigned long long)w.bytes_in);
	put(t, "vcd_ws_bytes_total{direction=\"out\"} %llu\n", (unsigned long long)w.bytes_out);
	metric(t, "vcd_ws_dropped_total", "counter",
	       "Lossy messages dropped for readers over ws_send_buffer.");
	put(t, "vcd_ws_dropped_total %llu\n", (unsigned long long)w.dropped);
	metric(t, "vcd_ws_pings_total", "counter", "Pings sent.");
	put(t, "vcd_ws_pings_total %llu\n", (unsigned long long)w.pings);
	metric(t, "vcd_ws_closes_total", "counter",
	       "WebSocket connections ended, by close code (1006: no close frame).");
	for (unsigned k = 0; k < VC_ARRAY_LEN(w.closes); k++) {
		if (w.closes[k] == 0)
			continue;
		if (vc_ws_close_codes[k] != 0)
			put(t, "vcd_ws_closes_total{code=\"%d\"} %llu\n", vc_ws_close_codes[k],
			    (unsigned long long)w.closes[k]);
		else
			put(t, "vcd_ws_closes_total{code=\"other\"} %llu\n",
			    (unsigned long long)w.closes[k]);
	}
}

static void room_metric(void *arg, const char *room, int64_t sessions, uint64_t dropped)
{
	text_t *t = arg;

	put(t, "vcd_lobby_room_sessions{room=\"%s\"} %lld\n", room, (long long)sessions);
	put(t, "vcd_lobby_room_dropped_total{room=\"%s\"} %llu\n", room,
	    (unsigned long long)dropped);
}

static void lobby_metrics(text_t *t)
{
	vc_lobby_stats_t l;

	vc_lobby_stats(&l);
	metric(t, "vcd_lobby_rooms", "gauge", "Media rooms with sessions on this node.");
	put(t, "vcd_lobby_rooms %lld\n", (long long)l.rooms);
	metric(t, "vcd_lobby_sessions", "gauge", "Media sessions (/lobby) on this node.");
	put(t, "vcd_lobby_sessions{kind=\"participant\"} %lld\n",
	    (long long)(l.sessions - l.observers));
	put(t, "vcd_lobby_sessions{kind=\"observer\"} %lld\n", (long long)l.observers);
	metric(t, "vcd_lobby_sessions_total", "counter", "Media sessions opened.");
	put(t, "vcd_lobby_sessions_total %llu\n", (unsigned long long)l.sessions_total);
	metric(t, "vcd_lobby_relayed_total", "counter",
	       "Packets from local sessions offered to other local sessions (deliveries).");
	put(t, "vcd_lobby_relayed_total %llu\n", (unsigned long long)l.relayed);
	metric(t, "vcd_lobby_from_nats_total", "counter", "Room packets received from NATS.");
	put(t, "vcd_lobby_from_nats_total %llu\n", (unsigned long long)l.from_nats);
	metric(t, "vcd_lobby_published_total", "counter", "Room packets published to NATS.");
	put(t, "vcd_lobby_published_total %llu\n", (unsigned long long)l.published);
	metric(t, "vcd_lobby_dropped_total", "counter", "Media packets not delivered, by reason.");
	for (unsigned k = 0; k < VC_ARRAY_LEN(l.dropped); k++)
		put(t, "vcd_lobby_dropped_total{reason=\"%s\"} %llu\n", vc_lobby_drop_names[k],
		    (unsigned long long)l.dropped[k]);
	metric(t, "vcd_lobby_room_sessions", "gauge",
	       "Media sessions per room (the first 1000 rooms).");
	metric(t, "vcd_lobby_room_dropped_total", "counter",
	       "Media packets dropped for slow readers, per room (the first 1000 rooms).");
	vc_lobby_room_metrics(room_metric, t);
}

static void embed_metrics(text_t *t)
{
	vc_embed_stats_t e;

	vc_embed_stats(&e);
	metric(t, "vcd_embed_sessions", "gauge",
	       "Media sessions holding embed credentials on this node.");
	put(t, "vcd_embed_sessions %lld\n", (long long)e.sessions);
	metric(t, "vcd_embed_fetches_total", "counter",
	       "Embed credential fetches answered on this node, by answer.");
	put(t, "vcd_embed_fetches_total{answer=\"credentials\"} %llu\n",
	    (unsigned long long)e.fetch_given);
	put(t, "vcd_embed_fetches_total{answer=\"null\"} %llu\n", (unsigned long long)e.fetch_null);
	metric(t, "vcd_embed_uses_total", "counter",
	       "Requests authenticated with an embed authToken on this node, by result.");
	put(t, "vcd_embed_uses_total{result=\"accepted\"} %llu\n",
	    (unsigned long long)e.uses_accepted);
	put(t, "vcd_embed_uses_total{result=\"refused\"} %llu\n",
	    (unsigned long long)e.uses_refused);
}

static void signal_metrics(text_t *t)
{
	vc_signal_stats_t s;

	vc_signal_stats(&s);
	metric(t, "vcd_signal_connections", "gauge", "Signaling WebSockets (/ws) open.");
	put(t, "vcd_signal_connections %lld\n", (long long)s.connections);
	metric(t, "vcd_signal_identified", "gauge", "Signaling WebSockets identified.");
	put(t, "vcd_signal_identified %lld\n", (long long)s.identified);
	metric(t, "vcd_signal_users", "gauge", "Users with signaling connections on this node.");
	put(t, "vcd_signal_users %lld\n", (long long)s.users);
	metric(t, "vcd_signal_servers", "gauge", "Servers with joined connections on this node.");
	put(t, "vcd_signal_servers %lld\n", (long long)s.servers);
	metric(t, "vcd_signal_messages_total", "counter", "Signaling messages received.");
	put(t, "vcd_signal_messages_total %llu\n", (unsigned long long)s.messages);
	metric(t, "vcd_signal_relayed_total", "counter", "Signaling messages relayed.");
	put(t, "vcd_signal_relayed_total %llu\n", (unsigned long long)s.relayed);
	metric(t, "vcd_signal_account_syncs_total", "counter", "account_sync messages stored.");
	put(t, "vcd_signal_account_syncs_total %llu\n", (unsigned long long)s.account_syncs);
	metric(t, "vcd_signal_takeovers_total", "counter", "Voice ownership takeovers stored.");
	put(t, "vcd_signal_takeovers_total %llu\n", (unsigned long long)s.takeovers);
	metric(t, "vcd_signal_refused_total", "counter", "Signaling messages refused, by reason.");
	for (unsigned k = 0; k < VC_SIG_REFUSED_COUNT; k++)
		put(t, "vcd_signal_refused_total{reason=\"%s\"} %llu\n", vc_signal_refusal_names[k],
		    (unsigned long long)s.refused[k]);
}

void vc_ops_metrics(vc_http_req_t *req)
{
	text_t t = { vc_malloc(4096), 0, 4096 };

	http_metrics(&t);
	actor_metrics(&t);
	db_metrics(&t);
	nats_metrics(&t);
	ws_metrics(&t);
	lobby_metrics(&t);
	signal_metrics(&t);
	embed_metrics(&t);
	metric(&t, "vcd_meeting_actors", "gauge", "Meeting actors in memory.");
	put(&t, "vcd_meeting_actors %lld\n", (long long)vc_meetings_live_actors());
	metric(&t, "vcd_meeting_join_batches_total", "counter",
	       "Statements that wrote the guest joins of one meeting together.");
	put(&t, "vcd_meeting_join_batches_total %lld\n", (long long)vc_meetings_join_batches());
	metric(&t, "vcd_meeting_joins_batched_total", "counter", "Guest joins written in them.");
	put(&t, "vcd_meeting_joins_batched_total %lld\n", (long long)vc_meetings_joins_batched());
	metric(&t, "vcd_meeting_adhoc_batches_total", "counter",
	       "Statements that wrote the ad-hoc joins of a worker's rooms together.");
	put(&t, "vcd_meeting_adhoc_batches_total %lld\n", (long long)vc_meetings_adhoc_batches());
	metric(&t, "vcd_meeting_adhocs_batched_total", "counter", "Ad-hoc joins written in them.");
	put(&t, "vcd_meeting_adhocs_batched_total %lld\n", (long long)vc_meetings_adhocs_batched());
	metric(&t, "vcd_meeting_adhocs_gathering", "gauge",
	       "Ad-hoc joins in statements that wait for a connection.");
	put(&t, "vcd_meeting_adhocs_gathering %lld\n", (long long)vc_meetings_adhocs_gathering());
	metric(&t, "vcd_log_lines_dropped_total", "counter", "Log lines dropped (queue full).");
	put(&t, "vcd_log_lines_dropped_total %llu\n", (unsigned long long)vc_log_dropped());
	metric(&t, "vcd_draining", "gauge", "1 while draining for shutdown.");
	put(&t, "vcd_draining %d\n", vc_server_draining() ? 1 : 0);
	metric(&t, "vcd_uptime_seconds", "gauge", "Seconds since start.");
	put(&t, "vcd_uptime_seconds %.3f\n", vc_server_uptime());
	vc_http_respond(req, 200, "text/plain; version=0.0.4; charset=utf-8", t.buf, t.len);
	free(t.buf);
}
