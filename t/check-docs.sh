#!/usr/bin/env bash
#
# t/check-docs.sh — fail when something an operator can use is undocumented:
# every config key (`vcd --list-keys`) must be in conf/vcd.conf (as a
# `key = value` line, commented out or not) and in man/vcd.conf.5; every
# vcctl verb (`vcctl --list-verbs`) in man/vcctl.8; every route path
# (`vcd --list-routes`) in man/vcd-api.7; every /ws message type
# (`vcd --list-messages`) as an entry of man/vcd-protocol.7. Run by `make check` with VCD,
# VCCTL and top_srcdir in the environment.
set -euo pipefail

prog=check-docs
errors=0
top_srcdir=${top_srcdir:-}

say() {
	printf '%s: %s\n' "$prog" "$*" >&2
}

missing() {
	say "$*"
	errors=$((errors + 1))
}

need_env() {
	local name
	for name in VCD VCCTL top_srcdir; do
		[[ -n ${!name:-} ]] || { say "error: $name is not set (run me through make check)"; exit 99; }
	done
	[[ -x $VCD ]] || { say "error: VCD=$VCD is not an executable"; exit 99; }
	[[ -x $VCCTL ]] || { say "error: VCCTL=$VCCTL is not an executable"; exit 99; }
}

# Print the output of a listing command, failing when it fails or prints
# nothing ($1 names the listing for messages).
listing() {
	local what=$1 out
	shift
	if ! out=$("$@"); then
		say "error: '$*' failed (listing $what)"
		exit 99
	fi
	if [[ -z $out ]]; then
		say "error: '$*' printed no $what"
		exit 99
	fi
	printf '%s\n' "$out"
}

# A man page as plain text: roff font escapes removed, "\-" as "-",
# "\ " as " ", "\&" and "\e" resolved, so words match as a reader sees them.
man_text() {
	local page=$top_srcdir/$1
	[[ -r $page ]] || { say "error: $page is missing"; exit 99; }
	sed -e 's/\\f[BIRP]//g' -e 's/\\f(..//g' -e 's/\\f\[[A-Z]*\]//g' \
		-e 's/\\-/-/g' -e 's/\\ / /g' -e 's/\\&//g' -e 's/\\e/\\/g' -- "$page"
}

# True when whole word(s) $1 occur in text $2.
has_words() {
	grep -Fqw -- "$1" <<<"$2"
}

# True when conf text $2 assigns key $1 ("key = …", maybe after "#").
conf_has_key() {
	grep -Eq "^[[:space:]]*[#;]?[[:space:]]*$1[[:space:]]*=" <<<"$2"
}

check_keys() {
	local conf_path=$top_srcdir/conf/vcd.conf conf man key list
	list=$(listing "config keys" "$VCD" --list-keys)
	[[ -r $conf_path ]] || { say "error: $conf_path is missing"; exit 99; }
	conf=$(<"$conf_path")
	man=$(man_text man/vcd.conf.5)
	while IFS= read -r key; do
		[[ -n $key ]] || continue
		nkeys=$((nkeys + 1))
		[[ $key =~ ^[A-Za-z0-9_.-]+$ ]] || { missing "odd key name from vcd --list-keys: '$key'"; continue; }
		conf_has_key "$key" "$conf" ||
			missing "config key '$key' has no '$key = ...' line in conf/vcd.conf"
		has_words "$key" "$man" || missing "config key '$key' is not in man/vcd.conf.5"
	done <<<"$list"
}

check_verbs() {
	local man verb list
	list=$(listing "verbs" "$VCCTL" --list-verbs)
	man=$(man_text man/vcctl.8)
	while IFS= read -r verb; do
		[[ -n $verb ]] || continue
		nverbs=$((nverbs + 1))
		has_words "$verb" "$man" || missing "vcctl verb '$verb' is not in man/vcctl.8"
	done <<<"$list"
}

check_routes() {
	local man method path list
	list=$(listing "routes" "$VCD" --list-routes)
	man=$(man_text man/vcd-api.7)
	while read -r method path; do
		[[ -n $method ]] || continue
		nroutes=$((nroutes + 1))
		if [[ -z $path ]]; then
			missing "odd line from vcd --list-routes: '$method' (expected 'METHOD /path')"
			continue
		fi
		has_words "$path" "$man" || missing "route '$method $path' is not in man/vcd-api.7"
	done <<<"$list"
}

# Every /ws message type (`vcd --list-messages`, from wire/signal_msg.c's
# table) must be described in man/vcd-protocol.7 under its own name, in
# bold (a .B or .TP line), not merely mentioned.
check_messages() {
	local man name dir list
	list=$(listing "messages" "$VCD" --list-messages)
	man=$(man_text man/vcd-protocol.7)
	while read -r name dir; do
		[[ -n $name ]] || continue
		nmessages=$((nmessages + 1))
		grep -Eq "^\.(B|BR|TP|IP)[[:space:]]+\"?$name\b" <<<"$man" ||
			missing "/ws message '$name' ($dir) has no entry (.B $name) in man/vcd-protocol.7"
	done <<<"$list"
}

main() {
	nkeys=0 nverbs=0 nroutes=0 nmessages=0
	need_env
	check_keys
	check_verbs
	check_routes
	check_messages
	if ((errors > 0)); then
		say "FAIL: $errors undocumented item(s) (of $nkeys keys, $nverbs verbs, $nroutes routes," \
			"$nmessages messages)"
		exit 1
	fi
	printf '%s: %d keys, %d verbs, %d routes, %d messages documented\n' "$prog" "$nkeys" \
		"$nverbs" "$nroutes" "$nmessages"
}

main "$@"
