#!/usr/bin/env bash
# The meson test 'fuzz-server': records fuzz_server's seeds with
# make_server_seeds, checks that each, replayed alone by fuzz_server, moves
# exactly the counters it moved when recorded (so it still completes its
# handshakes and requests), then fuzzes from them, and from the committed
# regression inputs, for FUZZ_SECONDS (run_fuzz.sh). Fails on a seed that
# does not replay, a crash, a sanitizer report or a broken invariant.
#   run_fuzz_server.sh MAKE_SEEDS TARGET ARTIFACT_DIR [REGRESSION_DIR]
# FUZZ_MAX_LEN: the largest input (default 32768; the seeds take 2 to 17
# KiB, most of it 1200-byte Initials).
set -euo pipefail

make_seeds=$1 target=$2 artifacts=$3 regressions=${4:-}
here=$(cd "$(dirname "$0")" && pwd)

# what DPDK's EAL keeps for the process lifetime is not a leak
: "${LSAN_OPTIONS:=suppressions=$here/../lsan.supp:print_suppressions=0}"
export LSAN_OPTIONS

work=$(mktemp -d "${TMPDIR:-/tmp}/fuzz-server.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/seeds"

"$make_seeds" "$work/seeds" "$work/manifest"
n=0
while IFS=$'\t' read -r name depth; do
	if ! QS_FUZZ_EXPECT="$depth" "$target" "$work/seeds/$name" \
		>"$work/replay.log" 2>&1; then
		echo "seed $name does not replay as recorded ($depth):" >&2
		tail -n 30 "$work/replay.log" >&2
		exit 1
	fi
	n=$((n + 1))
done <"$work/manifest"
echo "$n seeds replay alone as recorded"

shopt -s nullglob
if [ -n "$regressions" ]; then
	for f in "$regressions"/*; do
		case $f in *.md) continue ;; esac
		cp "$f" "$work/seeds/regression-${f##*/}"
	done
fi
FUZZ_MAX_LEN=${FUZZ_MAX_LEN:-32768} \
	"$here/run_fuzz.sh" "$target" "$work/seeds" "$artifacts"
