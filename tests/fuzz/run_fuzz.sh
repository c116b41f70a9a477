#!/usr/bin/env bash
# Runs a libFuzzer target for a bounded time on a copy of its seed corpus
# (the committed corpus is never written to). Fails on any crash, sanitizer
# report or invariant failure; the input that triggered it is kept in
# ARTIFACT_DIR and printed.
#   run_fuzz.sh TARGET SEED_DIR ARTIFACT_DIR
# FUZZ_SECONDS: how long to fuzz (default 60); FUZZ_MAX_LEN: the largest
# input libFuzzer makes or keeps from the seeds (default 2048).
set -euo pipefail

target=$1 seeds=$2 artifacts=$3
seconds=${FUZZ_SECONDS:-60}
max_len=${FUZZ_MAX_LEN:-2048}

work=$(mktemp -d "${TMPDIR:-/tmp}/fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus" "$artifacts"
cp "$seeds"/* "$work/corpus/"

rc=0
timeout --kill-after=10 $((seconds + 120)) \
	"$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
	-error_exitcode=1 -timeout_exitcode=1 \
	-max_len="$max_len" -print_final_stats=1 -artifact_prefix="$artifacts/" \
	"$work/corpus" || rc=$?
# libFuzzer's default crash status, 77, would read as "skipped" to meson
[ "$rc" -eq 77 ] && rc=1
if [ "$rc" -ne 0 ]; then
	echo "fuzzer failed (exit status $rc); inputs kept:" >&2
	ls -l "$artifacts" >&2
fi
exit "$rc"
