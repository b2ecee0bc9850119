#!/usr/bin/env bash
#
# t/integration/run.sh — the one `make check` test that runs every
# integration test binary (t/integration/test_*) against real servers: it
# starts one private PostgreSQL cluster (test settings) and one nats-server,
# tells the binaries where they are through VCT_* variables, runs each binary
# under a time limit and stops everything on exit. Each binary starts its own
# vcd ($VCD) as it needs.
#
# Environment (from Makefile.am): VCD, VCCTL, top_srcdir, top_builddir.
# VCT_ONLY=test_http runs one binary; VCT_KEEP=1 keeps the temp directory.
set -euo pipefail

stack_prog=integration
top_srcdir=${top_srcdir:-}
top_builddir=${top_builddir:-}
tmp=
nats_pid=
test_pid=

say() {
	printf '%s: %s\n' "$stack_prog" "$*" >&2
}

need_env() {
	local name
	for name in VCD VCCTL top_srcdir top_builddir; do
		if [[ -z ${!name:-} ]]; then
			say "error: $name is not set (run me through make check)"
			exit 99
		fi
	done
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [[ -n $test_pid ]]; then
		kill -TERM "$test_pid" 2>/dev/null || true
		wait "$test_pid" 2>/dev/null || true
	fi
	if [[ -n $nats_pid ]]; then
		stack_nats_stop "$nats_pid"
	fi
	if [[ -n $tmp && -d $tmp ]]; then
		stack_pg_stop "$tmp/pg" immediate
		if [[ -n ${VCT_KEEP:-} ]]; then
			say "kept $tmp (VCT_KEEP is set)"
		else
			rm -rf -- "$tmp"
		fi
	fi
	exit "$rc"
}

start_servers() {
	tmp=$(mktemp -d /tmp/vcd-it.XXXXXX)
	chmod 755 "$tmp"
	stack_pg_init "$tmp/pg"
	stack_pg_start "$tmp/pg" "$tmp/pgsock" "$tmp/pg.log" test
	stack_nats_start "$tmp/nats" "$tmp/nats.log"
	nats_pid=$STACK_NATS_PID

	export VCT_PGHOST=$STACK_PGHOST VCT_PGUSER=postgres VCT_PGDATA=$tmp/pg
	export VCT_PGBIN=$STACK_PGBIN VCT_PGRUNAS="${STACK_PG_RUNAS[*]}"
	export VCT_NATS_URL=$STACK_NATS_URL VCT_TMPDIR=$tmp
	export VCT_SQLDIR=$top_srcdir/sql VCD VCCTL
	say "PostgreSQL on $VCT_PGHOST, nats-server at $VCT_NATS_URL, temp dir $tmp"
}

# The test binaries to run, sorted, one per line.
list_tests() {
	local dir=$top_builddir/t/integration f
	for f in "$dir"/test_*; do
		[[ -f $f && -x $f ]] || continue
		if [[ -n ${VCT_ONLY:-} && $(basename -- "$f") != "$VCT_ONLY" ]]; then
			continue
		fi
		printf '%s\n' "$f"
	done | LC_ALL=C sort
}

main() {
	local tests=() t rc passed=0 failed=0 skipped=0 failures=()
	need_env
	# shellcheck source=t/lib/stack.sh
	. "$top_srcdir/t/lib/stack.sh"
	mapfile -t tests < <(list_tests)
	if ((${#tests[@]} == 0)); then
		say "error: no test binary $top_builddir/t/integration/test_*${VCT_ONLY:+ named $VCT_ONLY}"
		exit 1
	fi
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	start_servers
	for t in "${tests[@]}"; do
		say "--- $(basename -- "$t")"
		rc=0
		timeout 300 "$t" </dev/null &
		test_pid=$!
		wait "$test_pid" || rc=$?
		test_pid=
		case $rc in
		0) passed=$((passed + 1)) ;;
		77) skipped=$((skipped + 1)); say "$(basename -- "$t"): skipped" ;;
		124) failed=$((failed + 1)); failures+=("$(basename -- "$t") (timed out after 300 s)") ;;
		*) failed=$((failed + 1)); failures+=("$(basename -- "$t") (exit status $rc)") ;;
		esac
	done
	for t in "${failures[@]}"; do
		say "FAILED: $t"
	done
	printf 'integration: %d passed, %d failed%s\n' "$passed" "$failed" \
		"$( ((skipped == 0)) || printf ', %d skipped' "$skipped")"
	((failed == 0 && passed > 0))
}

main "$@"
