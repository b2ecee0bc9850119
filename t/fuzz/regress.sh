#!/usr/bin/env bash
#
# t/fuzz/regress.sh — every seed corpus as a regression test: each folder
# t/fuzz/corpus/NAME is run through t/fuzz/NAME_seeds (the libFuzzer target
# NAME.c with t/fuzz/standalone.c's main), which aborts on a broken
# invariant. A corpus without its runner fails, so a new target cannot be
# left out. Then fuzz_signal's dictionary (t/fuzz/sig_dict, made from the /ws
# message table) must be well-formed and name every type that
# `vcd --list-messages` prints. Run by `make check` with top_srcdir,
# top_builddir and VCD in the environment.
set -euo pipefail

prog=fuzz-regress
errors=0

say() {
	printf '%s: %s\n' "$prog" "$*" >&2
}

for name in top_srcdir top_builddir VCD; do
	[[ -n ${!name:-} ]] || { say "error: $name is not set (run me through make check)"; exit 99; }
done

n=0
for dir in "$top_srcdir"/t/fuzz/corpus/*/; do
	dir=${dir%/}
	target=$(basename -- "$dir")
	runner=$top_builddir/t/fuzz/${target}_seeds
	if [[ ! -x $runner ]]; then
		say "FAIL: $target: no runner $runner (list it in FUZZ_SEEDS in Makefile.am)"
		errors=$((errors + 1))
		continue
	fi
	if out=$("$runner" "$dir" 2>&1); then
		printf 'ok %s\n' "$out"
		n=$((n + 1))
	else
		printf '%s\n' "$out" >&2
		say "FAIL: $target on $dir (exit status $?)"
		errors=$((errors + 1))
	fi
done

before=$errors
dict=$("$top_builddir/t/fuzz/sig_dict") || { say "FAIL: t/fuzz/sig_dict failed"; exit 1; }
bad=$(printf '%s\n' "$dict" | grep -vE '^(#.*|[A-Za-z0-9_]+="([^"\\]|\\.)*")$' || true)
if [[ -n $bad ]]; then
	say "FAIL: fuzz_signal.dict lines libFuzzer would refuse: $bad"
	errors=$((errors + 1))
fi
types=$("$VCD" --list-messages | awk '{ print $1 }')
[[ -n $types ]] || { say "error: vcd --list-messages printed nothing"; exit 99; }
for t in $types; do
	if ! grep -qxF "type_$t=\"\\\"$t\\\"\"" <<<"$dict"; then
		say "FAIL: fuzz_signal.dict has no token for the type $t"
		errors=$((errors + 1))
	fi
done
if ((errors == before)); then
	printf 'ok fuzz_signal.dict: %d lines, every type of vcd --list-messages\n' \
		"$(wc -l <<<"$dict")"
	n=$((n + 1))
fi

printf 'fuzz-regress: %d passed, %d failed\n' "$n" "$errors"
((errors == 0))
