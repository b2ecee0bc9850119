# shellcheck shell=bash
# shellcheck disable=SC2034 # STACK_* variables are this library's results.
#
# t/lib/stack.sh — the processes vcd runs against, for scripts that need them:
# a private PostgreSQL cluster listening only on a Unix socket directory, a
# private nats-server on a free loopback port, free TCP ports and a wait for
# an HTTP URL to answer. Sourced by contrib/vcd-dev, t/integration/run.sh and
# t/bench/run.sh; it starts nothing by itself.
#
# Results come back in STACK_* variables, never on stdout. Messages go to
# stderr, prefixed with $stack_prog (the calling script's name by default).
# As root, PostgreSQL runs as the `postgres` OS user (initdb and postgres
# refuse to run as root); as anyone else it runs as the caller.

stack_prog=${stack_prog:-$(basename -- "$0")}

# Longest Unix socket path the kernel accepts (sun_path minus the NUL).
STACK_SUN_PATH_MAX=107

stack_say() {
	printf '%s: %s\n' "$stack_prog" "$*" >&2
}

stack_die() {
	stack_say "error: $*"
	exit 1
}

# --- processes ---------------------------------------------------------------

# True while pid $1 exists and is not a zombie.
stack_pid_alive() {
	local pid=$1 stat state
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
	state=${stat##*) }
	state=${state%% *}
	[[ $state != Z && $state != X ]]
}

# True when pid $1 is alive and its command name is $2.
stack_pid_is() {
	local comm
	stack_pid_alive "$1" || return 1
	comm=$(cat "/proc/$1/comm" 2>/dev/null) || return 1
	[[ $comm == "$2" ]]
}

# Stop pid $1, which must be a running $2: SIGTERM, wait up to $3 seconds
# (default 10), then SIGKILL. A pid that is gone or is something else now is
# left alone.
stack_stop_pid() {
	local pid=$1 name=$2 secs=${3:-10} i
	if ! stack_pid_is "$pid" "$name"; then
		wait "$pid" 2>/dev/null || true
		return 0
	fi
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < secs * 10; i++)); do
		stack_pid_alive "$pid" || break
		sleep 0.1
	done
	if stack_pid_alive "$pid"; then
		stack_say "$name (pid $pid) still runs ${secs}s after SIGTERM; sending SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
}

# --- TCP ports and HTTP ------------------------------------------------------

# True when some socket uses local TCP port $1 (any state, any address).
# With $2 = listen, only listening sockets count.
stack_port_used() {
	local hex files=() f
	printf -v hex '%04X' "$1"
	for f in /proc/net/tcp /proc/net/tcp6; do
		[[ -r $f ]] && files+=("$f")
	done
	if ((${#files[@]} == 0)); then
		# No /proc: a port that accepts a connection is taken.
		(exec 2>/dev/null 3<>"/dev/tcp/127.0.0.1/$1")
		return
	fi
	awk -v port=":$hex" -v only="${2:-}" '
		FNR > 1 && substr($2, length($2) - 4) == port &&
		(only != "listen" || $4 == "0A") { found = 1 }
		END { exit !found }' "${files[@]}"
}

# Set STACK_PORT to a TCP port in 20000-32767 that nothing uses on this host
# (below the ephemeral range, so no TIME-WAIT socket can hold it).
stack_free_port() {
	local i port
	for ((i = 0; i < 200; i++)); do
		port=$((20000 + RANDOM % 12768))
		if ! stack_port_used "$port"; then
			STACK_PORT=$port
			return 0
		fi
	done
	stack_die "no free TCP port in 20000-32767 after 200 tries"
}

# Print the status code of `GET url` (http://host:port/path) or nothing when
# nothing answers within 2 seconds. Uses bash's /dev/tcp: no curl needed.
stack_http_status() {
	local rest=${1#http://} hostport path line
	hostport=${rest%%/*}
	path=/
	[[ $rest == */* ]] && path=/${rest#*/}
	line=$(
		exec 2>/dev/null
		exec 3<>"/dev/tcp/${hostport%:*}/${hostport##*:}" || exit 1
		printf 'GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' \
			"$path" "$hostport" >&3
		IFS= read -r -t 2 l <&3 && printf '%s' "$l"
	) || true
	if [[ $line =~ ^HTTP/1\.[01]\ ([0-9]{3}) ]]; then
		printf '%s\n' "${BASH_REMATCH[1]}"
	fi
}

# Wait until GET $1 answers 2xx: up to $3 tries (default 300) 0.1 s apart.
# When $2 (a pid) is given and that process dies, stop waiting. Returns 1
# with a message when the URL never answered.
stack_wait_http() {
	local url=$1 pid=${2:-} tries=${3:-300} i code=
	for ((i = 0; i < tries; i++)); do
		code=$(stack_http_status "$url")
		[[ $code == 2?? ]] && return 0
		if [[ -n $pid ]] && ! stack_pid_alive "$pid"; then
			stack_say "the process serving $url (pid $pid) exited before it answered"
			return 1
		fi
		sleep 0.1
	done
	stack_say "$url did not answer 2xx after $tries tries (last status: ${code:-none})"
	return 1
}

# --- PostgreSQL --------------------------------------------------------------

# Set STACK_PGBIN (newest /usr/lib/postgresql/*/bin, or $STACK_PGBIN, or the
# PATH) and STACK_PG_RUNAS (the command prefix that runs PostgreSQL tools).
stack_pg_setup() {
	local d
	if [[ -z ${STACK_PGBIN:-} ]]; then
		d=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
		if [[ -x $d/initdb ]]; then
			STACK_PGBIN=$d
		elif command -v initdb >/dev/null; then
			STACK_PGBIN=$(dirname -- "$(command -v initdb)")
		else
			stack_die "no PostgreSQL server binaries (initdb) in" \
				"/usr/lib/postgresql/*/bin or PATH: apt-get install -y postgresql"
		fi
	fi
	[[ -x $STACK_PGBIN/pg_ctl ]] || stack_die "$STACK_PGBIN/pg_ctl is missing or not executable"
	STACK_PG_RUNAS=()
	if ((EUID == 0)); then
		id -u postgres >/dev/null 2>&1 ||
			stack_die "as root, PostgreSQL runs as the 'postgres' OS user, which does not" \
				"exist: apt-get install -y postgresql"
		STACK_PG_RUNAS=(runuser -u postgres --)
	fi
}

# Run a PostgreSQL tool as the cluster's owner.
stack_pg_run() {
	"${STACK_PG_RUNAS[@]}" "$@"
}

# Give path $1 to the cluster's owner (as root; a no-op otherwise).
stack_pg_own() {
	if ((EUID == 0)); then
		chown postgres: "$@"
	fi
}

# As root, fail unless the postgres user can reach directory $1, naming the
# first directory on the way that it cannot enter.
stack_pg_check_reach() {
	local d blocked=
	((EUID == 0)) || return 0
	d=$(cd -- "$1" && pwd -P) || stack_die "no such directory: $1"
	while [[ $d != / ]]; do
		runuser -u postgres -- test -x "$d" || blocked=$d
		d=$(dirname -- "$d")
	done
	[[ -z $blocked ]] && return 0
	stack_die "the postgres user cannot enter $blocked (mode $(stat -c %A "$blocked")), so" \
		"PostgreSQL cannot use $1; work from a directory it can traverse" \
		"(e.g. chmod o+x $blocked, or put the tree under /srv or /tmp)"
}

# Fail when Unix socket path $1 is too long for the kernel.
stack_check_sock_path() {
	((${#1} <= STACK_SUN_PATH_MAX)) && return 0
	stack_die "socket path $1 is ${#1} bytes; Unix sockets allow $STACK_SUN_PATH_MAX:" \
		"use a shorter directory"
}

# True when a postmaster runs on data directory $1.
stack_pg_running() {
	stack_pg_setup
	[[ -f $1/postmaster.pid ]] || return 1
	stack_pg_run "$STACK_PGBIN/pg_ctl" -D "$1" status >/dev/null 2>&1
}

# Create a cluster in data directory $1 unless one is there: superuser
# `postgres`, trust authentication, UTF-8. Settings written at start time
# live in $1/stack.conf, included from postgresql.conf.
stack_pg_init() {
	local data=$1 out
	stack_pg_setup
	[[ -f $data/PG_VERSION ]] && return 0
	mkdir -p -- "$data"
	chmod 700 -- "$data"
	stack_pg_own "$data"
	stack_pg_check_reach "$data"
	if ! out=$(stack_pg_run "$STACK_PGBIN/initdb" -D "$data" -U postgres -A trust \
		-E UTF8 --locale=C.UTF-8 --no-sync 2>&1); then
		printf '%s\n' "$out" >&2
		stack_die "initdb failed for $data (output above)"
	fi
	printf "\n# Added by t/lib/stack.sh: socket and durability settings.\n%s\n" \
		"include_if_exists = 'stack.conf'" >>"$data/postgresql.conf"
}

# Write $1/stack.conf: listen only on socket directory $2; $3 is `test`
# (fsync, synchronous_commit and full_page_writes off) or `durable`.
stack_pg_write_conf() {
	local data=$1 sock=$2 mode=$3
	[[ $sock != *\'* ]] || stack_die "socket directory must not contain a quote: $sock"
	{
		printf "# Written by t/lib/stack.sh at every start.\n"
		printf "listen_addresses = ''\n"
		printf "unix_socket_directories = '%s'\n" "$sock"
		printf "port = 5432\n"
		case $mode in
		test) printf "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n" ;;
		durable) ;;
		*) stack_die "stack_pg_start: mode must be 'test' or 'durable', not '$mode'" ;;
		esac
	} >"$data/stack.conf"
	stack_pg_own "$data/stack.conf"
}

# Start the cluster in $1, socket in directory $2, server log in file $3,
# settings $4 (test|durable). Does nothing when it already runs.
stack_pg_start() {
	local data=$1 sock=$2 log=$3 mode=${4:-test}
	stack_pg_setup
	[[ -f $data/PG_VERSION ]] || stack_die "no PostgreSQL cluster in $data (stack_pg_init first)"
	mkdir -p -- "$sock"
	sock=$(cd -- "$sock" && pwd -P)
	STACK_PGHOST=$sock
	if stack_pg_running "$data"; then
		return 0
	fi
	stack_check_sock_path "$sock/.s.PGSQL.5432"
	stack_pg_own "$sock"
	stack_pg_check_reach "$sock"
	touch -- "$log"
	stack_pg_own "$log"
	stack_pg_write_conf "$data" "$sock" "$mode"
	if ! stack_pg_run "$STACK_PGBIN/pg_ctl" -D "$data" -l "$log" -w -t 60 start >/dev/null; then
		tail -n 20 -- "$log" >&2
		stack_die "PostgreSQL did not start in $data (end of $log above)"
	fi
}

# Stop the cluster in $1 (mode $2: fast by default, or immediate).
stack_pg_stop() {
	local data=$1 mode=${2:-fast}
	stack_pg_setup
	stack_pg_running "$data" || return 0
	stack_pg_run "$STACK_PGBIN/pg_ctl" -D "$data" -m "$mode" -w -t 60 stop >/dev/null ||
		stack_say "pg_ctl stop failed for $data"
}

# Create database $2 on the cluster listening in socket directory $1, unless
# it exists.
stack_pg_createdb() {
	local sock=$1 name=$2 found
	stack_pg_setup
	[[ $name =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || stack_die "unusable database name: $name"
	found=$("$STACK_PGBIN/psql" -X -A -t -q -h "$sock" -U postgres -d postgres \
		-c "SELECT 1 FROM pg_database WHERE datname = '$name'") ||
		stack_die "cannot query the PostgreSQL cluster on $sock"
	[[ $found == 1 ]] && return 0
	"$STACK_PGBIN/createdb" -h "$sock" -U postgres "$name" ||
		stack_die "createdb $name failed on $sock"
}

# --- NATS --------------------------------------------------------------------

# Start a nats-server on 127.0.0.1 with a port it picks itself, keeping its
# config, pid and ports files in directory $1 and its log in $2 (default
# $1/nats.log). Sets STACK_NATS_PID, STACK_NATS_PORT and STACK_NATS_URL.
# max_payload is 8 MB (the server's default is 1 MB): a /lobby message may
# be 4,000,000 bytes (ws_max_message) and crosses to other nodes whole.
stack_nats_start() {
	local dir=$1 log=${2:-$1/nats.log} bin i ports=() url=
	bin=$(command -v nats-server) ||
		stack_die "nats-server is not installed: apt-get install -y nats-server"
	mkdir -p -- "$dir"
	dir=$(cd -- "$dir" && pwd -P)
	rm -f -- "$dir"/*.ports
	{
		printf '# Written by t/lib/stack.sh.\n'
		printf 'host: 127.0.0.1\nport: -1\n'
		printf 'max_payload: 8388608\n'
		printf 'ports_file_dir: "%s"\n' "$dir"
		printf 'pid_file: "%s/nats.pid"\n' "$dir"
	} >"$dir/nats.conf"
	setsid "$bin" -c "$dir/nats.conf" </dev/null >>"$log" 2>&1 &
	STACK_NATS_PID=$!
	for ((i = 0; i < 200; i++)); do
		ports=("$dir"/*.ports)
		if [[ -s ${ports[0]} ]]; then
			url=$(grep -o 'nats://127\.0\.0\.1:[0-9]*' "${ports[0]}" | head -n 1)
			[[ -n $url ]] && break
		fi
		if ! stack_pid_alive "$STACK_NATS_PID"; then
			tail -n 20 -- "$log" >&2
			stack_die "nats-server exited at start (end of $log above)"
		fi
		sleep 0.05
	done
	[[ -n $url ]] || stack_die "nats-server wrote no port to $dir within 10 s (log: $log)"
	STACK_NATS_URL=$url
	STACK_NATS_PORT=${url##*:}
}

# Stop the nats-server with pid $1.
stack_nats_stop() {
	stack_stop_pid "$1" nats-server 10
}
