#!/usr/bin/env bash
#
# t/bench/alternate.sh — the meetings loads of t/bench/meetings.c against
# several vcd builds in one run, alternated, on one durable cluster (issue 10,
# doc/meetings.md "Second pass"): on a machine shared with other work only
# ratios within a line and the direction over lines mean anything. Each build
# runs on its own database, migrated by itself (its own sql/ directory); they
# run side by side and are loaded one at a time, between two pgbench runs
# (-M prepared, one-row insert, same client count). Per build and run it
# prints joins/s and CPU per join (PostgreSQL: the postmaster and all its
# children; vcd; the load generator), p50/p99, transactions, statements per
# join, joins per ad-hoc and per guest-joins statement.
#
# usage: MEETINGS=build/t/bench/meetings top_srcdir=. t/bench/alternate.sh \
#          SECS ROUNDS "CLIENTS..." "MODES..." name=VCD:SQLDIR ...
# Environment: ABTMP (the cluster's directory, default /tmp/vcd-alternate;
# wiped unless KEEP=1), EXTRA_CONF (vcd.conf lines for every build),
# EXTRA_<name> (for one).
set -euo pipefail
SECS=$1 ROUNDS=$2 CLIENTS=$3 MODES=$4; shift 4
top=${top_srcdir:?top_srcdir is not set}
# shellcheck disable=SC2034 # read by t/lib/stack.sh
stack_prog=alternate
. "$top/t/lib/stack.sh"
MEET=${MEETINGS:?MEETINGS is not set}
T=${ABTMP:-/tmp/vcd-alternate}
[[ -n ${KEEP:-} ]] || { [[ -f $T/pg/postmaster.pid ]] && stack_pg_stop $T/pg immediate; rm -rf $T; }
mkdir -p $T; chmod 755 $T
if ! [[ -f $T/pg/PG_VERSION ]]; then stack_pg_init $T/pg; fi
stack_pg_start $T/pg $T/sock $T/pg.log durable
PSQL() { "$STACK_PGBIN/psql" -X -A -t -q -h "$STACK_PGHOST" -U postgres "$@"; }
secret=$(od -An -N 32 -tx1 /dev/urandom | tr -d ' \n')
names=(); pids=(); ports=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [[ -n ${KEEP:-} ]] || stack_pg_stop "$T/pg" immediate
}
trap cleanup EXIT
for spec in "$@"; do
  name=${spec%%=*}; rest=${spec#*=}; bin=${rest%%:*}; sql=${rest#*:}
  stack_pg_createdb $T/sock "db_$name"
  stack_free_port; port=$STACK_PORT
  cat > $T/$name.conf <<C
listen = 127.0.0.1:$port
workers = 2
database_url = postgresql:///db_$name?host=$STACK_PGHOST&user=postgres
migrations_dir = $sql
admin_socket = $T/$name.sock
log_level = warn
offload_threads = 2
auth_rate_limit = off
session_jwt_compat = true
jwt_secret = $secret
max_connections = 19900
${EXTRA_CONF:-}
$(eval echo "\${EXTRA_$name:-}")
C
  "$bin" -c $T/$name.conf </dev/null >$T/$name.log 2>&1 &
  pids+=("$!"); names+=("$name"); ports+=("$port")
  stack_wait_http "http://127.0.0.1:$port/readyz" $! || { tail $T/$name.log; exit 1; }
done
PSQL -d postgres -c "CREATE TABLE IF NOT EXISTS bench_insert (id bigserial primary key, v int)" 
echo 'INSERT INTO bench_insert (v) VALUES (1);' > $T/insert.sql; chmod 644 $T/insert.sql
pgb() { local c0 c1 o; c0=$(pgcpu); o=$(/usr/bin/time -f "%U %S" "${STACK_PG_RUNAS[@]}" "$STACK_PGBIN/pgbench" -h "$STACK_PGHOST" -U postgres -n -M prepared -c $1 -j 2 -T $SECS -f $T/insert.sql postgres 2>&1); c1=$(pgcpu); awk -v o="$o" -v c0=$c0 -v c1=$c1 -v s=$SECS 'BEGIN{n=split(o,l,"\n"); for(i=1;i<=n;i++){if(l[i]~/^tps = /){split(l[i],f," ");t=f[3]} if(l[i]~/^[0-9.]+ [0-9.]+$/){split(l[i],g," ");b=g[1]+g[2]}} printf "%d(pg %.0fus,cl %.0fus/tx)", t, 1e6*(c1-c0)/(t*s), 1e6*b/(t*s)}'; }
met() { curl -s http://127.0.0.1:$1/metrics | awk '$1=="vcd_meeting_adhocs_batched_total"{a=$2} $1=="vcd_meeting_adhoc_batches_total"{b=$2} $1=="vcd_meeting_joins_batched_total"{c=$2} $1=="vcd_meeting_join_batches_total"{d=$2} $1=="vcd_db_round_trip_seconds_count"{q=$2} END{printf "%d %d %d %d %d", a+0, b+0, c+0, d+0, q+0}'; }
HZ=$(getconf CLK_TCK)
pgcpu() { local pm; pm=$(head -1 $T/pg/postmaster.pid); { awk '{sub(/^.*\) /,""); print $12+$13+$14+$15}' /proc/$pm/stat; for c in $(pgrep -P $pm); do awk '{sub(/^.*\) /,""); print $12+$13}' /proc/$c/stat 2>/dev/null; done; } | awk -v hz=$HZ '{s+=$1} END{printf "%.3f", s/hz}'; }
pcpu() { awk -v hz=$HZ '{sub(/^.*\) /,""); printf "%.3f", ($12+$13)/hz}' /proc/$1/stat; }
xacts() { PSQL -d postgres -c "SELECT sum(xact_commit + xact_rollback) FROM pg_stat_database WHERE datname = 'db_$1'"; }
# warm up and analyze each
for i in "${!names[@]}"; do
  for mode in shared adhoc; do MEETINGS_JWT_SECRET=$secret MEETINGS_THREADS=2 $MEET $mode ${ports[$i]} 8 2 >/dev/null; done
  PSQL -d db_${names[$i]} -c ANALYZE
done
echo "# $(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg) secs=$SECS"
for r in $(seq $ROUNDS); do
 for n in $CLIENTS; do
  for mode in $MODES; do
    line="r$r $mode c$n pgb=$(pgb $n)"
    for i in "${!names[@]}"; do
      x0=$(xacts ${names[$i]}); m0=$(met ${ports[$i]}); g0=$(pgcpu); v0=$(pcpu ${pids[$i]})
      out=$(MEETINGS_JWT_SECRET=$secret MEETINGS_THREADS=2 /usr/bin/time -f "cl %U %S" $MEET $mode ${ports[$i]} $n $SECS 2>&1 | grep '^result\|^cl ')
      cl=$(awk '/^cl /{print $2+$3}' <<<"$out")
      g1=$(pgcpu); v1=$(pcpu ${pids[$i]}); x1=$(xacts ${names[$i]}); m1=$(met ${ports[$i]})
      j=$(sed -n 's/.*joins_per_s=\([0-9.]*\).*/\1/p' <<<"$out"); p50=$(sed -n 's/.*p50_ms=\([0-9.]*\).*/\1/p' <<<"$out"); p99=$(sed -n 's/.*p99_ms=\([0-9.]*\).*/\1/p' <<<"$out")
      cpu=$(awk -v g0=$g0 -v g1=$g1 -v v0=$v0 -v v1=$v1 -v cl=$cl -v j=$j -v s=$SECS 'BEGIN{printf "pg %.0fus,vcd %.0fus,cl %.0fus/j", 1e6*(g1-g0)/(j*s), 1e6*(v1-v0)/(j*s), 1e6*cl/(j*s)}')
      line+=" ${names[$i]}=${j%.*}($cpu,p50 $p50,p99 $p99,x/j $(awk -v a=$x0 -v b=$x1 -v j=$j -v s=$SECS 'BEGIN{printf "%.2f",(b-a)/(j*s)}'),q/j $(awk -v m0="$m0" -v m1="$m1" -v j=$j -v s=$SECS 'BEGIN{split(m0,a," ");split(m1,b," "); printf "%.2f,adhoc/st %.1f,guest/st %.1f", (b[5]-a[5])/(j*s), (b[2]>a[2]?(b[1]-a[1])/(b[2]-a[2]):0), (b[4]>a[4]?(b[3]-a[3])/(b[4]-a[4]):0)}'))"
    done
    line+=" pgb2=$(pgb $n) load=$(cut -d' ' -f1 /proc/loadavg)"
    echo "$line"
  done
 done
done
