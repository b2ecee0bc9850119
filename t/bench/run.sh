#!/usr/bin/env bash
#
# t/bench/run.sh — `make bench`: GET /healthz on vcd against nginx returning
# a fixed 200, same machine, same worker count, same wrk settings, in one
# run, so the ratio means something even on a busy or small machine. Not a
# test: it prints numbers and fails only when something could not run.
#
# Then the meeting API: N clients doing join, admit, status against
# distinct meetings and against one shared meeting, then joins alone
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
# Environment: VCD, PWHASH_RATE, MEETINGS, VCBENCH, WS_BASELINE, top_srcdir
# (from make bench); BENCH_WORKERS (default nproc), BENCH_THREADS (2),
# BENCH_CONNECTIONS (64), BENCH_DURATION (10s), BENCH_MEETING_CLIENTS ("8 32":
# a run per count), BENCH_LOBBY_DURATION (10: seconds per relay run, after a
# 2 s warm-up), BENCH_LOBBY_THREADS (2: vcbench's), BENCH_LOBBY_IDLE ("10000
# 19000": idle connection counts), BENCH_ONLY (healthz, accounts, meetings or
# lobby: run that part alone; default all four).

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
	local rc=$?
	trap - EXIT INT TERM
	[[ -n $vcd_pid ]] && stack_stop_pid "$vcd_pid" vcd 30
	[[ -n $nginx_pid ]] && stack_stop_pid "$nginx_pid" nginx 10
	[[ -n $relay_pid ]] && stack_stop_pid "$relay_pid" "$relay_name" 10
	if [[ -n $tmp && -d $tmp ]]; then
		stack_pg_stop "$tmp/pg" immediate
		rm -rf -- "$tmp"
	fi
	exit "$rc"
}

start_vcd() {
	local port=$1 conf=$tmp/vcd.conf
	cat >"$conf" <<EOF
listen = 127.0.0.1:$port
workers = $workers
database_url = postgresql:///vcd?host=$STACK_PGHOST&user=postgres
migrations_dir = $top_srcdir/sql
admin_socket = $tmp/vcd.sock
log_level = warn
offload_threads = $workers
auth_rate_limit = off
session_jwt_compat = true
jwt_secret = $jwt_secret
max_connections = 19900
EOF
	chmod 600 -- "$conf"
	"$VCD" -c "$conf" </dev/null >"$tmp/vcd.log" 2>&1 &
	vcd_pid=$!
	if ! stack_wait_http "http://127.0.0.1:$port/readyz" "$vcd_pid"; then
		tail -n 20 -- "$tmp/vcd.log" >&2
		die "vcd did not answer /healthz (end of its log above)"
	fi
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

# What the database did during a meetings run: queries and their mean round
# trip from vcd's /metrics ($1, $2: "count sum" before and after), per HTTP
# operation and per iteration (result line $3), WAL flushes ($4).
db_line() {
	local ops secs its
	ops=$(result_field "$3" ops)
	secs=$(result_field "$3" seconds)
	its=$(result_field "$3" iterations_per_s)
	awk -v d0="$1" -v d1="$2" -v ops="$ops" -v t="$secs" -v it="$its" -v w="$4" 'BEGIN {
		split(d0, a, " "); split(d1, b, " "); q = b[1] - a[1]; s = b[2] - a[2]
		it *= t
		printf "%.0f queries/s, %.2f per operation, %.2f per iteration, " \
			"mean round trip %.2f ms; %.0f WAL flushes/s\n", q / t,
			(ops > 0 ? q / ops : 0), (it > 0 ? q / it : 0), (q > 0 ? 1000 * s / q : 0),
			w / t }'
}

# One meetings run against port $1: mode $2, $3 clients, $4 seconds. Prints
# its lines; the result line goes to the file $5 for the ratios at the end.
meetings_run() {
	local port=$1 mode=$2 n=$3 secs=$4 out res d0 d1 w0
	w0=$(wal_syncs)
	d0=$(db_round_trips "$port")
	out=$(MEETINGS_JWT_SECRET=$jwt_secret MEETINGS_THREADS=$(client_threads "$n") \
		"$MEETINGS" "$mode" "$port" "$n" "$secs") ||
		die "meetings $mode failed (its error above)"
	d1=$(db_round_trips "$port")
	grep -v '^result ' <<<"$out" || true
	res=$(grep '^result ' <<<"$out") || die "meetings $mode printed no result line"
	printf '%s %s\n' "$mode" "$res" >>"$5"
	printf 'bench meetings %s db: %s\n' "$mode" \
		"$(db_line "$d0" "$d1" "$res" "$(($(wal_syncs) - w0))")"
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
	for mode in distinct shared; do
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
	for mode in distinct shared joins; do
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

# Install t/bench's node_modules (ws) with npm ci; false with a message when
# node or npm is missing or the install fails.
need_node_relay() {
	if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
		say "lobby: node or npm is missing: the Node ws relay is skipped" \
			"(apt-get install -y nodejs npm)"
		return 1
	fi
	if ! npm ci --prefix "$top_srcdir/t/bench" --no-audit --no-fund --silent >&2; then
		say "lobby: npm ci in t/bench failed: the Node ws relay is skipped"
		return 1
	fi
}

# Start relay $1 (baseline or node) on port $2; relay_pid, relay_name.
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
	need_node_relay && have_node=1
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

main() {
	local vcd_port nginx_port only
	only=${BENCH_ONLY:-}
	case $only in
	'' | healthz | accounts | meetings | lobby) ;;
	*) die "BENCH_ONLY must be healthz, accounts, meetings or lobby, not '$only'" ;;
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
