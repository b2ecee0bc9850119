#!/usr/bin/env bash
#
# t/bench/run.sh — `make bench`: GET /healthz on vcd against nginx returning
# a fixed 200, same machine, same worker count, same wrk settings, in one
# run, so the ratio means something even on a busy or small machine. Not a
# test: it prints numbers and fails only when something could not run.
#
# Environment: VCD, top_srcdir (from make bench); BENCH_WORKERS (default
# nproc), BENCH_THREADS (2), BENCH_CONNECTIONS (64), BENCH_DURATION (10s).

# make runs this with $(SHELL), which may be sh: switch to bash first.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail

stack_prog=bench
top_srcdir=${top_srcdir:-}
tmp=
vcd_pid=
nginx_pid=

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
	[[ -x $VCD ]] || die "VCD=$VCD is not an executable (build vcd first)"
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
EOF
	"$VCD" -c "$conf" </dev/null >"$tmp/vcd.log" 2>&1 &
	vcd_pid=$!
	if ! stack_wait_http "http://127.0.0.1:$port/healthz" "$vcd_pid"; then
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

main() {
	local vcd_port nginx_port vcd_url nginx_url round rate best_vcd=0 best_nginx=0 ratio
	need_env
	# shellcheck source=t/lib/stack.sh
	. "$top_srcdir/t/lib/stack.sh"
	need_tools
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
	stack_pg_init "$tmp/pg"
	stack_pg_start "$tmp/pg" "$tmp/pgsock" "$tmp/pg.log" durable
	stack_pg_createdb "$tmp/pgsock" vcd

	stack_free_port
	vcd_port=$STACK_PORT
	start_vcd "$vcd_port"
	stack_free_port
	nginx_port=$STACK_PORT
	start_nginx "$nginx_port"
	vcd_url=http://127.0.0.1:$vcd_port/healthz
	nginx_url=http://127.0.0.1:$nginx_port/healthz

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
	stack_stop_pid "$nginx_pid" nginx 10
	nginx_pid=
	bench_accounts "$vcd_port"
}

main "$@"
