#!/usr/bin/env bash
#
# t/bench/run.sh — `make bench`: GET /healthz on vcd against nginx returning
# a fixed 200, same machine, same worker count, same wrk settings, in one
# run, so the ratio means something even on a busy or small machine. Not a
# test: it prints numbers and fails only when something could not run.
#
# Then the meeting API: N clients doing join, admit, status against
# distinct meetings and against one shared meeting, then guest joins alone
# to one shared meeting and ad-hoc joins alone, each to a new room id
# (t/bench/meetings.c), beside pgbench doing one durable single-row INSERT
# per transaction with as many clients on the same database: the rate of
# durable commits this machine allows, which every meeting write waits for.
# pgbench runs before and after the meetings runs; the ratios use the mean.
# Both clients spread their N clients over the same number of threads
# (pgbench -j, MEETINGS_THREADS), for N = 8 and N = 32 by default.
#
# Then the media relay, GET /lobby (BENCH_ONLY=lobby): the same vcbench
# loads against a bare single-thread libev + wslay relay, Node's ws and vcd,
# and idle memory per connection for the three (see bench_lobby below).
#
# Then signaling, GET /ws (BENCH_ONLY=signal): account_sync fan-out to the 5
# devices of a user, from the send to the last device's receipt, on Node's
# ws, on one vcd and on two vcd with a nats-server, and idle memory per
# identified connection (see bench_signal below).
#
# Environment: VCD, PWHASH_RATE, MEETINGS, VCBENCH, WS_BASELINE, SIGBENCH,
# top_srcdir (from make bench); BENCH_WORKERS (default nproc), BENCH_THREADS (2),
# BENCH_CONNECTIONS (64), BENCH_DURATION (10s), BENCH_MEETING_CLIENTS ("8 32":
# a run per count), BENCH_MEETING_MODES ("distinct shared joins adhoc"),
# BENCH_LOBBY_DURATION (10: seconds per relay run, after a 2 s warm-up), BENCH_LOBBY_THREADS (2: vcbench's), BENCH_LOBBY_IDLE ("10000
# 19000": idle connection counts), BENCH_SIGNAL_DURATION (10: seconds per
# signaling run, after a 2 s warm-up), BENCH_SIGNAL_THREADS (2: sigbench's),
# BENCH_SIGNAL_IDLE ("10000 19000"), BENCH_SIGNAL_CONF (vcd.conf lines for
# the signaling runs; default: lift signal_rate when vcd has it, see
# signal_unlimited_conf), BENCH_ONLY (healthz, accounts, meetings, lobby or
# signal: run that part alone; default all five), BENCH_VCD_CONF (vcd.conf
# lines for every vcd of the run, e.g. "db_pool_size = 1").

# make runs this with $(SHELL), which may be sh: switch to bash first.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail

stack_prog=bench
top_srcdir=${top_srcdir:-}
tmp=
vcd_pid=
nginx_pid=
relay_pid=
relay_name=
jwt_secret=
node_pids=()
nats_pid=

say() {
	printf '%s: %s\n' "$stack_prog" "$*" >&2
}

die() {
	say "error: $*"
	exit 1
}

need_env() {
	[[ -n ${VCD:-} ]] || die "VCD is not set (run me with make bench)"
	[[ -n $top_srcdir ]] || die "top_srcdir is not set (run me with make bench)"
	[[ -x ${PWHASH_RATE:-} ]] || die "PWHASH_RATE is not set (run me with make bench)"
	[[ -x ${MEETINGS:-} ]] || die "MEETINGS is not set (run me with make bench)"
	[[ -x $VCD ]] || die "VCD=$VCD is not an executable (build vcd first)"
	[[ -x ${VCBENCH:-} ]] || die "VCBENCH is not set (run me with make bench)"
	[[ -x ${WS_BASELINE:-} ]] || die "WS_BASELINE is not set (run me with make bench)"
	[[ -x ${SIGBENCH:-} ]] || die "SIGBENCH is not set (run me with make bench)"
}

# Make sure wrk and nginx exist; install them as root, else say how.
need_tools() {
	local missing=()
	command -v wrk >/dev/null || missing+=(wrk)
	find_nginx || missing+=(nginx-light)
	((${#missing[@]} > 0)) || return 0
	if ((EUID != 0)); then
		die "make bench needs ${missing[*]}: apt-get install -y ${missing[*]} (as root)"
	fi
	say "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update
	apt-get install -y "${missing[@]}"
	find_nginx || die "nginx is still missing after apt-get install"
}

find_nginx() {
	nginx_bin=$(command -v nginx || true)
	[[ -z $nginx_bin && -x /usr/sbin/nginx ]] && nginx_bin=/usr/sbin/nginx
	[[ -n $nginx_bin ]]
}

cleanup() {
	local rc=$? pid
	trap - EXIT INT TERM
	[[ -n $vcd_pid ]] && stack_stop_pid "$vcd_pid" vcd 30
	for pid in "${node_pids[@]}"; do stack_stop_pid "$pid" vcd 30; done
	[[ -n $nats_pid ]] && stack_nats_stop "$nats_pid"
	[[ -n $nginx_pid ]] && stack_stop_pid "$nginx_pid" nginx 10
	[[ -n $relay_pid ]] && stack_stop_pid "$relay_pid" "$relay_name" 10
	if [[ -n $tmp && -d $tmp ]]; then
		stack_pg_stop "$tmp/pg" immediate
		rm -rf -- "$tmp"
	fi
	exit "$rc"
}

# Start vcd on port $1. Without $2 it is the vcd of the run (vcd_pid); with
# a name it is one more node, its pid added to node_pids, and $3 holds more
# configuration lines. started_pid is its pid either way.
start_vcd() {
	local port=$1 name=${2:-vcd} extra=${3:-} conf
	conf=$tmp/$name.conf
	cat >"$conf" <<EOF
listen = 127.0.0.1:$port
workers = $workers
database_url = postgresql:///vcd?host=$STACK_PGHOST&user=postgres
migrations_dir = $top_srcdir/sql
admin_socket = $tmp/$name.sock
log_level = warn
offload_threads = $workers
auth_rate_limit = off
session_jwt_compat = true
jwt_secret = $jwt_secret
max_connections = 19900
EOF
	[[ -n $extra ]] && printf '%s\n' "$extra" >>"$conf"
	[[ -n ${BENCH_VCD_CONF:-} ]] && printf '%s\n' "$BENCH_VCD_CONF" >>"$conf"
	chmod 600 -- "$conf"
	"$VCD" -c "$conf" </dev/null >"$tmp/$name.log" 2>&1 &
	started_pid=$!
	if [[ $name == vcd ]]; then vcd_pid=$started_pid; else node_pids+=("$started_pid"); fi
	if ! stack_wait_http "http://127.0.0.1:$port/readyz" "$started_pid"; then
		tail -n 20 -- "$tmp/$name.log" >&2
		die "vcd ($name) did not answer /readyz (end of its log above)"
	fi
}

# Stop the vcd node with pid $1 (one started with a name) and forget it.
stop_vcd_node() {
	local pid keep=()
	stack_stop_pid "$1" vcd 30
	for pid in "${node_pids[@]}"; do [[ $pid == "$1" ]] || keep+=("$pid"); done
	node_pids=("${keep[@]}")
}

start_nginx() {
	local port=$1 prefix=$tmp/nginx
	mkdir -p -- "$prefix/tmp"
	sed -e "s|@WORKERS@|$workers|g" -e "s|@PORT@|$port|g" -e "s|@PREFIX@|$prefix|g" \
		-- "$top_srcdir/t/bench/nginx.conf.in" >"$prefix/nginx.conf"
	"$nginx_bin" -p "$prefix/" -c "$prefix/nginx.conf" -e "$prefix/error.log" \
		</dev/null >"$prefix/stdout.log" 2>&1 &
	nginx_pid=$!
	if ! stack_wait_http "http://127.0.0.1:$port/healthz" "$nginx_pid"; then
		cat -- "$prefix/stdout.log" "$prefix/error.log" >&2 2>/dev/null || true
		die "nginx did not answer /healthz (its output above)"
	fi
}

# Run wrk against $1 for $2 (more wrk arguments may follow) and print the
# request rate (req/s, one decimal); warn when any answer was not 2xx/3xx or
# sockets failed.
wrk_rate() {
	local url=$1 duration=$2 out rate
	shift 2
	out=$(wrk -t "$threads" -c "$conns" -d "$duration" "$@" "$url") ||
		die "wrk failed against $url"
	if grep -Eq 'Non-2xx|Socket errors' <<<"$out"; then
		say "warning: $url: $(grep -E 'Non-2xx|Socket errors' <<<"$out" | tr -s ' ' | paste -sd ';')"
	fi
	rate=$(awk '/^Requests\/sec:/ { printf "%d", $2 }' <<<"$out")
	[[ $rate == 0 ]] && rate=$(awk '/^Requests\/sec:/ { printf "%.1f", $2 }' <<<"$out")
	[[ -n $rate ]] || die "no Requests/sec in wrk's output for $url"
	printf '%s\n' "$rate"
}

# One HTTP/1.1 request over bash's /dev/tcp; prints the whole response.
http_request() {
	local port=$1 method=$2 path=$3 body=$4
	exec 3<>"/dev/tcp/127.0.0.1/$port" || die "cannot connect to 127.0.0.1:$port"
	printf '%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' \
		"$method" "$path" >&3
	printf 'Content-Length: %d\r\nConnection: close\r\n\r\n%s' "${#body}" "$body" >&3
	timeout 10 cat <&3
	exec 3<&-
}

# Logins per second against bare Argon2id hashing with as many threads, and
# GET /api/users/me (Bearer) against /healthz: what authentication costs.
bench_accounts() {
	local port=$1 resp token login base me health ratio
	resp=$(http_request "$port" POST /api/users/register \
		'{"username":"bench","password":"bench-password"}')
	token=$(sed -n 's/.*"token":"\([0-9a-f]\{64\}\)".*/\1/p' <<<"$resp")
	[[ -n $token ]] || die "could not register the bench user: $resp"

	base=$("$PWHASH_RATE" "$workers" 5)
	login=$(conns=$((4 * workers)) wrk_rate "http://127.0.0.1:$port/api/users/login" \
		"$duration" -s "$top_srcdir/t/bench/login.lua" --timeout 10s)
	ratio=$(awk -v a="$login" -v b="$base" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
	printf 'bench login: vcd %s logins/s, crypto_pwhash_str alone %s hashes/s on %d threads, ratio %s\n' \
		"$login" "$base" "$workers" "$ratio"

	wrk_rate "http://127.0.0.1:$port/api/users/me" 2s -H "Authorization: Bearer $token" >/dev/null
	me=$(wrk_rate "http://127.0.0.1:$port/api/users/me" "$duration" \
		-H "Authorization: Bearer $token")
	health=$(wrk_rate "http://127.0.0.1:$port/healthz" "$duration")
	ratio=$(awk -v a="$me" -v b="$health" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
	printf 'bench auth: GET /api/users/me %s req/s, GET /healthz %s req/s, ratio %s (%d conns)\n' \
		"$me" "$health" "$ratio" "$conns"
}

# --- meetings against pgbench ------------------------------------------------

# A wrk duration (10, 10s, 2m, 1h) in whole seconds.
duration_seconds() {
	awk -v d="$1" 'BEGIN {
		n = d + 0; u = substr(d, length(d))
		if (u == "m") n *= 60; else if (u == "h") n *= 3600
		if (n < 1) n = 1
		printf "%d", n }'
}

# Run SQL $1 as the cluster's superuser on database vcd; prints the rows.
bench_sql() {
	"$STACK_PGBIN/psql" -X -A -t -q -v ON_ERROR_STOP=1 -h "$STACK_PGHOST" -U postgres \
		-d vcd -c "$1" || die "psql failed on the bench cluster: $1"
}

# WAL flushes (fsync/fdatasync) so far. Read after a pause: PostgreSQL
# reports its statistics up to a second late.
wal_syncs() {
	sleep 1.1
	bench_sql "SELECT wal_sync FROM pg_stat_wal"
}

# Transactions committed and rolled back in database vcd so far (read after
# wal_syncs' pause; the few of psql itself are counted too).
xacts() {
	bench_sql "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = 'vcd'"
}

# vcd's query count and round-trip seconds so far, from /metrics: "count sum".
db_round_trips() {
	http_request "$1" GET /metrics '' | tr -d '\r' | awk '
		$1 == "vcd_db_round_trip_seconds_count" { c = $2 }
		$1 == "vcd_db_round_trip_seconds_sum" { s = $2 }
		END { printf "%d %.6f\n", c, s }'
}

# Threads of the load generators for $1 clients: 2, as pgbench -j 2, or
# fewer when there are fewer clients.
client_threads() {
	(($1 < 2)) && printf '%s\n' "$1" || printf '2\n'
}

# pgbench with $1 clients for $2 seconds, one durable single-row INSERT per
# transaction, on the same database: prints its tps (and says more on stderr).
pgbench_insert() {
	local n=$1 secs=$2 jobs out tps w0 w1
	jobs=$(client_threads "$n")
	bench_sql "CREATE TABLE IF NOT EXISTS bench_insert (id bigserial primary key, v int)"
	printf 'INSERT INTO bench_insert (v) VALUES (1);\n' >"$tmp/insert.sql"
	chmod 644 -- "$tmp/insert.sql"
	w0=$(wal_syncs)
	if ! out=$(stack_pg_run "$STACK_PGBIN/pgbench" -h "$STACK_PGHOST" -U postgres -n \
		-c "$n" -j "$jobs" -T "$secs" -f "$tmp/insert.sql" vcd 2>&1); then
		printf '%s\n' "$out" >&2
		die "pgbench failed (its output above)"
	fi
	tps=$(awk '/^tps = / { printf "%d", $3; exit }' <<<"$out")
	[[ -n $tps ]] || die "no 'tps = ' line in pgbench's output: $out"
	w1=$(wal_syncs)
	say "pgbench insert: $tps tps, $(((w1 - w0) / secs)) WAL flushes/s" \
		"(-c $n -j $jobs -T $secs)"
	printf '%s\n' "$tps"
}

# Field $2 (key=value) of the meetings result line $1.
result_field() {
	sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<" $1"
}

# What the database did during a meetings run: queries (statements) and
# their mean round trip from vcd's /metrics ($1, $2: "count sum" before and
# after), per HTTP operation, per join and per iteration (result line $3),
# WAL flushes ($4), transactions ($5).
db_line() {
	local ops secs its joins
	ops=$(result_field "$3" ops)
	secs=$(result_field "$3" seconds)
	its=$(result_field "$3" iterations_per_s)
	joins=$(result_field "$3" joins_per_s)
	awk -v d0="$1" -v d1="$2" -v ops="$ops" -v t="$secs" -v it="$its" -v w="$4" -v x="$5" \
		-v j="$joins" 'BEGIN {
		split(d0, a, " "); split(d1, b, " "); q = b[1] - a[1]; s = b[2] - a[2]
		it *= t; j *= t
		printf "%.0f queries/s, %.2f per operation, %.2f per iteration, " \
			"mean round trip %.2f ms; %.0f WAL flushes/s, %.0f transactions/s; " \
			"per join: %.2f statements, %.2f transactions\n", q / t,
			(ops > 0 ? q / ops : 0), (it > 0 ? q / it : 0), (q > 0 ? 1000 * s / q : 0),
			w / t, x / t, (j > 0 ? q / j : 0), (j > 0 ? x / j : 0) }'
}

# One meetings run against port $1: mode $2, $3 clients, $4 seconds. Prints
# its lines; the result line goes to the file $5 for the ratios at the end.
meetings_run() {
	local port=$1 mode=$2 n=$3 secs=$4 out res d0 d1 w0 w1 x0
	w0=$(wal_syncs)
	x0=$(xacts)
	d0=$(db_round_trips "$port")
	out=$(MEETINGS_JWT_SECRET=$jwt_secret MEETINGS_THREADS=$(client_threads "$n") \
		"$MEETINGS" "$mode" "$port" "$n" "$secs") ||
		die "meetings $mode failed (its error above)"
	d1=$(db_round_trips "$port")
	grep -v '^result ' <<<"$out" || true
	res=$(grep '^result ' <<<"$out") || die "meetings $mode printed no result line"
	printf '%s %s\n' "$mode" "$res" >>"$5"
	w1=$(wal_syncs)
	printf 'bench meetings %s db: %s\n' "$mode" \
		"$(db_line "$d0" "$d1" "$res" "$((w1 - w0))" "$(($(xacts) - x0))")"
}

# The summary of each mode's result line (file $1) against pgbench's rate,
# the mean of its runs before ($2) and after ($3) the meetings runs.
meetings_ratios() {
	local mode res tps
	tps=$(((${2} + ${3}) / 2))
	while read -r mode res; do
		printf 'bench meetings %s: %.0f ops/s (%.0f joins/s, %.0f iterations/s), ' "$mode" \
			"$(result_field "$res" ops_per_s)" "$(result_field "$res" joins_per_s)" \
			"$(result_field "$res" iterations_per_s)"
		printf 'p50 %s ms, p99 %s ms; pgbench insert %d tps (%d before, %d after); %s\n' \
			"$(result_field "$res" p50_ms)" "$(result_field "$res" p99_ms)" "$tps" "$2" "$3" \
			"$(awk -v a="$(result_field "$res" ops_per_s)" \
				-v j="$(result_field "$res" joins_per_s)" -v b="$tps" \
				'BEGIN { printf "ops/pgbench %.2f, joins/pgbench %.2f", \
					(b > 0 ? a / b : 0), (b > 0 ? j / b : 0) }')"
	done <"$1"
}

# Both loads for a few seconds, then ANALYZE: the tables then hold thousands
# of rows and PostgreSQL has statistics on them, as on a server that has been
# up for a minute (autovacuum's first look). Without it every statement runs
# a plan made for empty tables: sequential scans that grow with the run.
meetings_warm_up() {
	local port=$1 n=$2 mode
	for mode in distinct shared adhoc; do
		MEETINGS_JWT_SECRET=$jwt_secret MEETINGS_THREADS=$(client_threads "$n") \
			"$MEETINGS" "$mode" "$port" "$n" 2 >/dev/null ||
			die "meetings $mode (warm-up) failed (its error above)"
	done
	bench_sql "ANALYZE"
	say "meetings: warmed up (2 s of each load), tables analyzed"
}

# The three loads at $2 clients, between two pgbench runs.
bench_meetings_at() {
	local port=$1 n=$2 secs tps mode
	secs=$(duration_seconds "$duration")
	say "meetings: $n clients on $(client_threads "$n") threads, ${secs}s per run," \
		"against pgbench with as many"
	tps=$(pgbench_insert "$n" "$secs")
	: >"$tmp/meetings.results"
	for mode in ${BENCH_MEETING_MODES:-distinct shared joins adhoc}; do
		meetings_run "$port" "$mode" "$n" "$secs" "$tmp/meetings.results"
	done
	meetings_ratios "$tmp/meetings.results" "$tps" "$(pgbench_insert "$n" "$secs")"
}

bench_meetings() {
	local port=$1 counts=${BENCH_MEETING_CLIENTS:-8 32} n
	for n in $counts; do
		[[ $n =~ ^[1-9][0-9]*$ ]] ||
			die "BENCH_MEETING_CLIENTS must be positive integers, not '$n'"
	done
	[[ -x $STACK_PGBIN/pgbench ]] ||
		die "no pgbench in $STACK_PGBIN (it comes with the postgresql server package)"
	meetings_warm_up "$port" "${counts%% *}"
	for n in $counts; do
		bench_meetings_at "$port" "$n"
	done
}

# --- the media relay: vcd's /lobby against a bare relay and Node's ws ----------
#
# One vcbench load at a time against three relays on this machine, one after
# the other: ws_baseline (t/bench/ws_baseline.c: one thread, libev + wslay,
# a frame built once per fan-out and shared, one writev per connection per
# loop iteration: what this design does on one core), Node's ws relay
# (t/bench/ws_relay.mjs: the usual client.send per recipient) and vcd's
# /lobby (started above, with jwt_secret and without NATS: one node, as the
# other two). The loads, 100-byte messages:
#
#  fanout  100 clients in 1 room, 1 publisher flooding (at most 256 messages
#          ahead of the slowest reader): the relay rate itself. One read fans
#          out to 99 writes, so what is measured is the cost per delivery:
#          framing once and batching writes. vcd serves a room on one worker,
#          as the baseline serves everything on its one thread.
#  rooms   1000 clients in 100 rooms of 10, 2 publishers per room flooding
#          (64 ahead each): many small fan-outs over many connections, where
#          the costs per message and per connection (reads, wake-ups, one
#          writev per recipient) weigh more than per delivery; vcd spreads the
#          rooms over its workers.
#  paced   the same 100 rooms, each publisher paced at 50 messages/s (an audio
#          stream's packet rate): 90,000 deliveries/s that every relay should
#          carry; what differs is latency, on a load like real calls.
#
# vcbench runs 2 threads on the same 2 cores: client and relay compete, so
# the figures are relative. Then idle memory: BENCH_LOBBY_IDLE connections
# (10,000 and 19,000: the open-file limit is 20,000 per process here) to a
# fresh process of each relay; the server's RSS grows by so many bytes per
# connection (the kernel's ~5 KB per socket come on top, outside RSS).

# Install t/bench's node_modules (ws) with npm ci; false with a message
# (for part $1) when node or npm is missing or the install fails.
need_node_relay() {
	if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
		say "$1: node or npm is missing: the Node ws relay is skipped" \
			"(apt-get install -y nodejs npm)"
		return 1
	fi
	if ! npm ci --prefix "$top_srcdir/t/bench" --no-audit --no-fund --silent >&2; then
		say "$1: npm ci in t/bench failed: the Node ws relay is skipped"
		return 1
	fi
}

# Start relay $1 (baseline, node, or sig_node: t/bench/sig_relay.mjs) on
# port $2; relay_pid, relay_name.
start_relay() {
	local which=$1 port=$2 i
	case $which in
	baseline)
		relay_name=ws_baseline
		"$WS_BASELINE" --listen "127.0.0.1:$port" </dev/null >"$tmp/$which.log" 2>&1 &
		;;
	node)
		relay_name=node
		node "$top_srcdir/t/bench/ws_relay.mjs" --listen "127.0.0.1:$port" \
			</dev/null >"$tmp/$which.log" 2>&1 &
		;;
	sig_node)
		relay_name=node
		node "$top_srcdir/t/bench/sig_relay.mjs" --listen "127.0.0.1:$port" \
			</dev/null >"$tmp/$which.log" 2>&1 &
		;;
	esac
	relay_pid=$!
	for ((i = 0; i < 100; i++)); do
		stack_port_used "$port" listen && return 0
		stack_pid_alive "$relay_pid" || break
		sleep 0.1
	done
	cat -- "$tmp/$which.log" >&2
	die "the $which relay did not listen on port $port (its output above)"
}

# Stop the relay: 3 s for its SIGTERM (an overloaded Node relay takes
# longer to get to it than that: it is killed then).
stop_relay() {
	[[ -n $relay_pid ]] && stack_stop_pid "$relay_pid" "$relay_name" 3
	relay_pid=
	tail -n 1 -- "$tmp/$1.log" | sed "s/^/$stack_prog: /" >&2
}

# CPU seconds (user + system) pid $1 has used so far.
cpu_seconds() {
	awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f\n", ($12 + $13) / hz }' \
		"/proc/$1/stat"
}

# Wait (at most 10 s) until pid $1 uses less than 4 % of a core: vcd serves
# every load in turn, and the sessions of the last one leave after a grace.
settle() {
	local i c0 c1
	for ((i = 0; i < 20; i++)); do
		c0=$(cpu_seconds "$1")
		sleep 0.5
		c1=$(cpu_seconds "$1")
		awk -v a="$c0" -v b="$c1" 'BEGIN { exit !(b - a < 0.02) }' && return 0
	done
	say "warning: pid $1 is still busy after 10 s"
}

# One vcbench run: relay $1 (vcd, baseline, node) with pid $2 on port $3,
# load $4 (vcbench arguments); appends "relay result-line" to file $5.
lobby_run() {
	local which=$1 pid=$2 port=$3 load=$4 out res mode=plain
	local -a args
	read -r -a args <<<"$load"
	[[ $which == vcd ]] && mode=vcd
	settle "$pid"
	[[ -n $vcd_pid && $vcd_pid != "$pid" ]] && settle "$vcd_pid"
	out=$("$VCBENCH" --url "127.0.0.1:$port" --mode "$mode" --jwt-secret "$jwt_secret" \
		--threads "$lobby_threads" --duration "$lobby_secs" --warmup 2 \
		--server-pid "$pid" "${args[@]}") ||
		die "vcbench against $which failed (its error above)"
	grep -v '^result ' <<<"$out" | sed "s/^/$stack_prog: /" >&2
	res=$(grep '^result ' <<<"$out") || die "vcbench printed no result line"
	[[ $(result_field "$res" errors) == 0 ]] ||
		say "warning: lobby $which: $(result_field "$res" errors) errors, of which" \
			"$(result_field "$res" lost) deliveries not in when the run ended (see above)"
	printf '%s %s\n' "$which" "$res" >>"$5"
}

# The summary of load $1 from its results file $2.
lobby_summary() {
	awk -v load="$1" '
		function f(line, k,   re) {
			re = " " k "=[^ ]*"
			if (match(" " line, re)) return substr(" " line, RSTART + length(k) + 2, RLENGTH - length(k) - 2)
			return ""
		}
		{ d[$1] = f($0, "deliveries_per_s"); p50[$1] = f($0, "p50_us")
		  p99[$1] = f($0, "p99_us"); cpu[$1] = f($0, "server_cores"); cl[$1] = f($0, "client_cores")
		  seen[$1] = 1 }
		# deliveries per CPU-second of the server: on a machine shared with
		# vcbench (and with other work) the rate follows the CPU share each
		# process got; what a delivery costs does not
		function per(w) { return cpu[w] > 0 ? d[w] / cpu[w] : 0 }
		function one(w) {
			if (!seen[w]) return sprintf("%s skipped", w)
			return sprintf("%s %.0f deliveries/s (p50 %.0f us, p99 %.0f us; cores: server %s, vcbench %s; %.0f per server CPU-second)",
				w, d[w], p50[w], p99[w], cpu[w], cl[w], per(w))
		}
		function ratio(a, b) { return seen[a] && seen[b] && d[b] > 0 ? sprintf("%.2f", d[a] / d[b]) : "n/a" }
		function pratio(a, b) { return seen[a] && seen[b] && per(a) > 0 && per(b) > 0 ? sprintf("%.2f", per(a) / per(b)) : "n/a" }
		END {
			printf "bench lobby %s: %s; %s; %s; vcd/baseline %s, vcd/node %s; per server CPU-second vcd/baseline %s, vcd/node %s\n", load,
				one("vcd"), one("baseline"), one("node"), ratio("vcd", "baseline"), ratio("vcd", "node"),
				pratio("vcd", "baseline"), pratio("vcd", "node")
		}' "$2"
}

# Idle memory: $1 connections to a fresh process of each relay.
lobby_idle() {
	local n=$1 port which pid out res line=
	local -a relays=(baseline)
	((have_node)) && relays+=(node)
	((have_vcd)) && relays+=(vcd)
	for which in "${relays[@]}"; do
		stack_free_port
		port=$STACK_PORT
		if [[ $which == vcd ]]; then
			start_vcd "$port"
			pid=$vcd_pid
		else
			start_relay "$which" "$port"
			pid=$relay_pid
		fi
		out=$("$VCBENCH" --idle --url "127.0.0.1:$port" --mode "$([[ $which == vcd ]] && echo vcd || echo plain)" \
			--jwt-secret "$jwt_secret" --clients "$n" --rooms "$((n / 10))" \
			--threads "$lobby_threads" --sources 127.0.0.1-127.0.0.50 \
			--server-pid "$pid" --hold 2) || die "vcbench --idle against $which failed"
		grep -v '^result ' <<<"$out" | sed "s/^/$stack_prog: /" >&2
		res=$(grep '^result ' <<<"$out") || die "vcbench --idle printed no result line"
		line+="${line:+; }$which $(result_field "$res" rss_bytes_per_conn) B/conn"
		line+=" (connects $(result_field "$res" connect_per_s)/s)"
		if [[ $which == vcd ]]; then
			stack_stop_pid "$vcd_pid" vcd 30
			vcd_pid=
		else
			stop_relay "$which"
		fi
	done
	printf 'bench lobby idle %d connections, server RSS per connection: %s\n' "$n" "$line"
}

# True when vcd serves /lobby (a GET without a token is refused with 400);
# a 404 means a vcd without the media relay: say so, the others still run.
lobby_available() {
	local code
	code=$(stack_http_status "http://127.0.0.1:$1/lobby")
	[[ $code == 404 ]] || return 0
	say "vcd: /lobby not available (404): only the baseline and the Node relay run"
	printf 'vcd: /lobby not available\n'
	return 1
}

bench_lobby() {
	local vcd_port=$1 port which load name res=$tmp/lobby.results n
	local -a loads=(
		"fanout:--clients 100 --rooms 1 --publishers 1 --size 100 --rate 0 --window 256"
		"rooms:--clients 1000 --rooms 100 --publishers 2 --size 100 --rate 0 --window 64"
		"paced:--clients 1000 --rooms 100 --publishers 2 --size 100 --rate 50"
	)
	lobby_secs=${BENCH_LOBBY_DURATION:-10}
	lobby_threads=${BENCH_LOBBY_THREADS:-2}
	[[ $lobby_secs =~ ^[1-9][0-9]*$ ]] || die "BENCH_LOBBY_DURATION must be whole seconds"
	"$VCBENCH" --selftest >&2 || die "vcbench --selftest failed"
	have_node=0
	need_node_relay lobby && have_node=1
	have_vcd=1
	lobby_available "$vcd_port" || have_vcd=0
	for load in "${loads[@]}"; do
		name=${load%%:*}
		: >"$res"
		say "lobby $name: ${load#*:}, ${lobby_secs}s (+2 s warm-up) per relay"
		for which in baseline node; do
			[[ $which == node ]] && ((!have_node)) && continue
			stack_free_port
			port=$STACK_PORT
			start_relay "$which" "$port"
			lobby_run "$which" "$relay_pid" "$port" "${load#*:}" "$res"
			stop_relay "$which"
		done
		((have_vcd)) && lobby_run vcd "$vcd_pid" "$vcd_port" "${load#*:}" "$res"
		lobby_summary "$name" "$res"
	done
	stack_stop_pid "$vcd_pid" vcd 30
	vcd_pid=
	for n in ${BENCH_LOBBY_IDLE:-10000 19000}; do
		[[ $n =~ ^[1-9][0-9]*$ ]] || die "BENCH_LOBBY_IDLE must be positive integers"
		lobby_idle "$n"
	done
}

# --- signaling: account_sync on /ws against Node's ws ------------------------
#
# account_sync fan-out (doc/signaling.md): U users with 5 devices each (5
# /ws connections that identified with the user's session token); device
# dev0 of each user sends account_sync, the 4 others must each get it once
# and in order; t/bench/sigbench.c measures from the send to the LAST
# device's receipt. In one run, one server after the other:
#
#  node    t/bench/sig_relay.mjs: Node's ws doing the same fan-out with a
#          per-user seq in memory, no persistence;
#  vcd1    one vcd without NATS: each account_sync committed to PostgreSQL
#          (account_sync_log) before anyone is told;
#  vcd2    two vcd on the same database and one nats-server, each user's
#          devices spread over both (dev0, dev2 and dev4 on the first, dev1
#          and dev3 on the second): the last device is always across NATS.
#
# The loads:
#  paced   100 users, each sending 10 account_sync/s (1,000/s, 4,000
#          deliveries/s), within vcd's default signal_rate (20 messages/s
#          per connection): the latency of a load every server carries.
#  closed  1 user in a closed loop (the next message as soon as the last
#          reached all 4 devices): one message at a time, back to back,
#          and the rate that allows. Over vcd's default signal_rate: vcd
#          needs it lifted (signal_unlimited_conf); when it cannot be, vcd
#          is skipped for this load.
#
# The goals (issue 8): vcd's p99 under 0.5 ms on one node and under 2 ms
# across two, persisted. Then idle memory per identified connection at
# BENCH_SIGNAL_IDLE connections (10,000 and 19,000: the open-file limit is
# 20,000 per process here), 5 per user, to a fresh vcd and a fresh Node
# relay; vcd's sessions for these users are written into PostgreSQL
# directly (signal_seed_sessions: no Argon2id for 3,800 accounts). vcd's
# part is skipped, with a message, while GET /ws answers 404.

# True when vcd on port $1 serves /ws; a 404 says it does not yet.
signal_available() {
	local code
	code=$(stack_http_status "http://127.0.0.1:$1/ws")
	[[ $code == 404 ]] || return 0
	say "vcd: /ws not available (404): only the Node relay runs"
	printf 'vcd: /ws not available\n'
	return 1
}

# The configuration lines that let one /ws connection send as fast as the
# closed loop does: BENCH_SIGNAL_CONF when set (even empty), else
# signal_rate and signal_burst at their maximum (vcd.conf(5)).
signal_unlimited_conf() {
	if [[ -n ${BENCH_SIGNAL_CONF+set} ]]; then
		printf '%s\n' "$BENCH_SIGNAL_CONF"
		return 0
	fi
	printf 'signal_rate = 100000\nsignal_burst = 1000000\n'
}

# Sessions for $1 users sigidle-0 .. written into PostgreSQL directly (no
# password hashing: their password hash is unusable), one "TOKEN USER_ID"
# line each into file $2, as sigbench --tokens reads. A token is 64 hex
# digits and sessions.token_hash the SHA-256 of its 32 bytes, as vcd makes.
signal_seed_sessions() {
	bench_sql "WITH u AS MATERIALIZED (
			INSERT INTO users (username, display_name, password_hash)
			SELECT 'sigidle-' || i, 'sigidle-' || i, '!'
			FROM generate_series(0, $1 - 1) AS i RETURNING id),
		t AS MATERIALIZED (
			SELECT id, replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '')
				AS token FROM u),
		s AS (INSERT INTO sessions (token_hash, user_id, expires_at)
			SELECT sha256(decode(token, 'hex')), id, now() + interval '1 day' FROM t)
		SELECT token || ' ' || id FROM t" >"$2"
	[[ $(wc -l <"$2") -ge $1 ]] || die "could not write $1 sessions for the idle runs"
}

# sigbench's account arguments for a vcd load of $1 users: the sessions the
# first vcd run registered through the REST API (saved in $tmp), or a run
# that registers them (and logs in the users registered before).
signal_accounts() {
	if [[ -s $tmp/sig.tokens && $(wc -l <"$tmp/sig.tokens") -ge $1 ]]; then
		printf '%s\n' --tokens "$tmp/sig.tokens"
	else
		printf '%s\n' --save-tokens "$tmp/sig.tokens"
	fi
}

# One sigbench run: server $1 (node, vcd1, vcd2) with pids $2 (commas) at
# $3 (HOST:PORT, commas between nodes), load $4 (sigbench arguments);
# appends "server result-line" to file $5.
signal_run() {
	local which=$1 pids=$2 urls=$3 load=$4 out res mode=vcd pid users
	local -a args accounts=()
	read -r -a args <<<"$load"
	users=$(sed -n 's/.*--users \([0-9]*\).*/\1/p' <<<"$load")
	if [[ $which == node ]]; then
		mode=node
	else
		mapfile -t accounts < <(signal_accounts "${users:-100}")
	fi
	for pid in ${pids//,/ }; do settle "$pid"; done
	out=$("$SIGBENCH" --nodes "$urls" --mode "$mode" --threads "$sig_threads" \
		--duration "$sig_secs" --warmup 2 --server-pid "$pids" "${accounts[@]}" \
		"${args[@]}") || die "sigbench against $which failed (its error above)"
	grep -v '^result ' <<<"$out" | sed "s/^/$stack_prog: /" >&2
	res=$(grep '^result ' <<<"$out") || die "sigbench printed no result line"
	[[ $(result_field "$res" errors) == 0 ]] ||
		say "warning: signal $which: $(result_field "$res" errors) errors (see above)"
	printf '%s %s\n' "$which" "$res" >>"$5"
}

# The summary of load $1 from its results file $2: each server's latency
# from the send to the last device, the ratios to Node's, the goals.
signal_summary() {
	awk -v load="$1" '
		function f(line, k,   re) {
			re = " " k "=[^ ]*"
			if (match(" " line, re)) return substr(" " line, RSTART + length(k) + 2, RLENGTH - length(k) - 2)
			return ""
		}
		{ p50[$1] = f($0, "p50_us"); p99[$1] = f($0, "p99_us"); p999[$1] = f($0, "p999_us")
		  rate[$1] = f($0, "msgs_per_s"); cpu[$1] = f($0, "server_cores"); seen[$1] = 1 }
		function one(w, name) {
			if (!seen[w]) return sprintf("%s skipped", name)
			return sprintf("%s p50 %.0f us, p99 %.0f us, p99.9 %.0f us (%.0f msgs/s, server %s cores)",
				name, p50[w], p99[w], p999[w], rate[w], cpu[w])
		}
		function ratio(a, b, x) { return seen[a] && seen[b] && x[b] > 0 ? sprintf("%.2f", x[a] / x[b]) : "n/a" }
		function goal(w, us) { return !seen[w] ? "not measured" : p99[w] + 0 < us ? "met" : "missed" }
		END {
			printf "bench signal %s: %s; %s; %s; p50 vcd1/node %s, vcd2/node %s; p99 vcd1/node %s, vcd2/node %s; goals: p99 < 500 us on one node %s, < 2000 us on two %s\n", load,
				one("node", "node"), one("vcd1", "vcd 1 node"), one("vcd2", "vcd 2 nodes"),
				ratio("vcd1", "node", p50), ratio("vcd2", "node", p50),
				ratio("vcd1", "node", p99), ratio("vcd2", "node", p99),
				goal("vcd1", 500), goal("vcd2", 2000)
		}' "$2"
}

# Idle memory: $1 identified connections (5 per user) to a fresh process
# of each server; vcd's users' sessions are in file $2.
signal_idle() {
	local n=$1 tokens=$2 port which pid out res line=
	local -a servers=() args
	((have_node)) && servers+=(node)
	((have_vcd)) && servers+=(vcd)
	for which in "${servers[@]}"; do
		stack_free_port
		port=$STACK_PORT
		args=(--mode node)
		if [[ $which == vcd ]]; then
			start_vcd "$port" sigidle "$sig_conf"
			pid=$started_pid
			args=(--mode vcd --tokens "$tokens")
		else
			start_relay sig_node "$port"
			pid=$relay_pid
		fi
		out=$("$SIGBENCH" --idle "$n" --devices 5 --url "127.0.0.1:$port" "${args[@]}" \
			--threads "$sig_threads" --sources 127.0.0.1-127.0.0.50 --server-pid "$pid" \
			--hold 2) || die "sigbench --idle against $which failed (its error above)"
		grep -v '^result ' <<<"$out" | sed "s/^/$stack_prog: /" >&2
		res=$(grep '^result ' <<<"$out") || die "sigbench --idle printed no result line"
		line+="${line:+; }$which $(result_field "$res" rss_bytes_per_conn) B/conn"
		line+=" (identified $(result_field "$res" connect_per_s)/s)"
		if [[ $which == vcd ]]; then
			stop_vcd_node "$pid"
		else
			stop_relay sig_node
		fi
	done
	printf 'bench signal idle %d identified connections, server RSS per connection: %s\n' \
		"$n" "${line:-nothing ran}"
}

# The loads against the Node relay, one vcd and two vcd with a nats-server.
signal_loads() {
	local port porta portb load name res=$tmp/signal.results one two pid
	local -a loads=(
		"paced:--users 100 --devices 5 --rate 10"
		"closed:--users 1 --devices 5 --rate 0"
	)
	if ((have_vcd)); then
		stack_free_port
		port=$STACK_PORT
		start_vcd "$port" sig1 "$sig_conf"
		one=$started_pid
		if command -v nats-server >/dev/null; then
			stack_nats_start "$tmp/nats" "$tmp/nats.log"
			nats_pid=$STACK_NATS_PID
			stack_free_port
			porta=$STACK_PORT
			start_vcd "$porta" sigA "nats_url = $STACK_NATS_URL${sig_conf:+$'\n'$sig_conf}"
			two=$started_pid
			stack_free_port
			portb=$STACK_PORT
			start_vcd "$portb" sigB "nats_url = $STACK_NATS_URL${sig_conf:+$'\n'$sig_conf}"
			two+=",$started_pid"
		else
			say "signal: nats-server is missing: vcd on two nodes is skipped" \
				"(apt-get install -y nats-server)"
		fi
	fi
	for load in "${loads[@]}"; do
		name=${load%%:*}
		: >"$res"
		say "signal $name: ${load#*:}, ${sig_secs}s (+2 s warm-up) per server"
		if ((have_node)); then
			stack_free_port
			start_relay sig_node "$STACK_PORT"
			signal_run node "$relay_pid" "127.0.0.1:$STACK_PORT" "${load#*:}" "$res"
			stop_relay sig_node
		fi
		if ((have_vcd)) && [[ $name == closed && -z $sig_conf ]]; then
			say "signal closed: vcd skipped: its signal_rate cannot be lifted" \
				"(set BENCH_SIGNAL_CONF to the lines that do)"
		elif ((have_vcd)); then
			signal_run vcd1 "$one" "127.0.0.1:$port" "${load#*:}" "$res"
			[[ -n $two ]] && signal_run vcd2 "$two" "127.0.0.1:$porta,127.0.0.1:$portb" \
				"${load#*:}" "$res"
		fi
		signal_summary "$name" "$res"
	done
	if ((have_vcd)); then
		stop_vcd_node "$one"
		for pid in ${two//,/ }; do stop_vcd_node "$pid"; done
		[[ -n $nats_pid ]] && stack_nats_stop "$nats_pid"
		nats_pid=
	fi
}

bench_signal() {
	local vcd_port=$1 n max=0
	sig_secs=${BENCH_SIGNAL_DURATION:-10}
	sig_threads=${BENCH_SIGNAL_THREADS:-2}
	[[ $sig_secs =~ ^[1-9][0-9]*$ ]] || die "BENCH_SIGNAL_DURATION must be whole seconds"
	for n in ${BENCH_SIGNAL_IDLE:-10000 19000}; do
		[[ $n =~ ^[1-9][0-9]*$ ]] || die "BENCH_SIGNAL_IDLE must be positive integers"
		((n > max)) && max=$n
	done
	have_node=0
	need_node_relay signal && have_node=1
	have_vcd=1
	signal_available "$vcd_port" || have_vcd=0
	stack_stop_pid "$vcd_pid" vcd 30
	vcd_pid=
	sig_conf=$(signal_unlimited_conf)
	((have_vcd)) && say "signal: vcd's signaling configuration: ${sig_conf:-(defaults)}"
	signal_loads
	((have_vcd)) && signal_seed_sessions "$(((max + 4) / 5))" "$tmp/sigidle.tokens"
	for n in ${BENCH_SIGNAL_IDLE:-10000 19000}; do
		signal_idle "$n" "$tmp/sigidle.tokens"
	done
}

main() {
	local vcd_port nginx_port only
	only=${BENCH_ONLY:-}
	case $only in
	'' | healthz | accounts | meetings | lobby | signal) ;;
	*) die "BENCH_ONLY must be healthz, accounts, meetings, lobby or signal, not '$only'" ;;
	esac
	need_env
	# shellcheck source=t/lib/stack.sh
	. "$top_srcdir/t/lib/stack.sh"
	if part healthz || part accounts; then need_tools; fi
	workers=${BENCH_WORKERS:-$(nproc)}
	threads=${BENCH_THREADS:-2}
	conns=${BENCH_CONNECTIONS:-64}
	duration=${BENCH_DURATION:-10s}
	[[ $duration =~ ^[0-9]+$ ]] && duration=${duration}s

	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	tmp=$(mktemp -d /tmp/vcd-bench.XXXXXX)
	chmod 755 "$tmp"
	jwt_secret=$(od -An -N 32 -tx1 /dev/urandom | tr -d ' \n')
	stack_pg_init "$tmp/pg"
	stack_pg_start "$tmp/pg" "$tmp/pgsock" "$tmp/pg.log" durable
	stack_pg_createdb "$tmp/pgsock" vcd

	stack_free_port
	vcd_port=$STACK_PORT
	start_vcd "$vcd_port"

	if part healthz; then
		stack_free_port
		nginx_port=$STACK_PORT
		start_nginx "$nginx_port"
		bench_healthz "$vcd_port" "$nginx_port"
		stack_stop_pid "$nginx_pid" nginx 10
		nginx_pid=
	fi
	if part accounts; then bench_accounts "$vcd_port"; fi
	if part meetings; then bench_meetings "$vcd_port"; fi
	if part lobby; then bench_lobby "$vcd_port"; fi
	if part signal; then bench_signal "$vcd_port"; fi
	return 0
}

# True when the part $1 runs (BENCH_ONLY unset or $1).
part() {
	[[ -z $only || $only == "$1" ]]
}

# GET /healthz on vcd (port $1) and nginx (port $2), alternating rounds.
bench_healthz() {
	local vcd_url=http://127.0.0.1:$1/healthz nginx_url=http://127.0.0.1:$2/healthz
	local round rate best_vcd=0 best_nginx=0 ratio
	say "W=$workers workers, wrk -t$threads -c$conns -d$duration; warming up"
	wrk_rate "$vcd_url" 2s >/dev/null
	wrk_rate "$nginx_url" 2s >/dev/null
	for round in 1 2; do
		rate=$(wrk_rate "$vcd_url" "$duration")
		if ((rate > best_vcd)); then best_vcd=$rate; fi
		say "round $round: vcd $rate req/s"
		rate=$(wrk_rate "$nginx_url" "$duration")
		if ((rate > best_nginx)); then best_nginx=$rate; fi
		say "round $round: nginx $rate req/s"
	done
	ratio=$(awk -v a="$best_vcd" -v b="$best_nginx" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
	printf 'bench healthz: vcd %d req/s, nginx %d req/s, ratio %s (W=%d workers, %d conns, %s)\n' \
		"$best_vcd" "$best_nginx" "$ratio" "$workers" "$conns" "$duration"
}

main "$@"
