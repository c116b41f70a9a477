#!/usr/bin/env bash
# Sets up and runs every test on a fresh Debian 12 machine (as root):
# installs the packages, builds three ways and runs each suite:
#   build/      gcc, warnings fatal           unit + integration
#   build-san/  gcc, ASan + UBSan             unit + integration
#   build-fuzz/ clang, libFuzzer              fuzz (time-bounded)
# Ends with the line "N passed, N failed" and exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."

bash deploy/install-deps.sh || { echo "0 passed, 1 failed"; exit 1; }

export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1:strict_string_checks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0"

failed_setup=0
setup() { # dir, then meson options
	local dir=$1; shift
	rm -f "$dir/meson-logs/testlog.json"   # no stale results if the build fails
	if [ -d "$dir" ]; then
		meson setup --reconfigure "$dir" "$@" >/dev/null
	else
		meson setup "$dir" "$@" >/dev/null
	fi && ninja -C "$dir" || { echo "build of $dir failed"; failed_setup=$((failed_setup + 1)); return 1; }
}

run_suites() { # dir, suites...
	local dir=$1; shift
	local args=()
	for s in "$@"; do args+=(--suite "$s"); done
	meson test -C "$dir" --print-errorlogs "${args[@]}"
}

if setup build -Dwerror=true; then
	run_suites build unit integration
fi
if setup build-san -Db_sanitize=address,undefined -Db_lundef=false; then
	run_suites build-san unit integration
fi
if CC=clang setup build-fuzz -Dfuzz=true -Dbuildtype=debugoptimized; then
	run_suites build-fuzz fuzz
fi

python3 - "$failed_setup" build build-san build-fuzz <<'PY'
import json, os, sys
failed_setup = int(sys.argv[1])
passed = failed = skipped = 0
for d in sys.argv[2:]:
    log = os.path.join(d, "meson-logs", "testlog.json")
    if not os.path.exists(log):
        continue
    for line in open(log):
        r = json.loads(line)["result"]
        if r in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif r == "SKIP":
            skipped += 1
        else:
            failed += 1
failed += failed_setup
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed or passed == 0 else 0)
PY
