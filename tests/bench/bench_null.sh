#!/usr/bin/env bash
# quicsteer's receive path (RX -> classify -> steer -> drop or answer)
# against dpdk-testpmd io forwarding, on virtual PMDs, with the same EAL
# settings: no hugepages, no PCI, -m 1024, lcores 0-1 (the main lcore and
# one forwarding core / one worker). Each runs for DURATION seconds.
#
#   tests/bench/bench_null.sh [QUICSTEER]   (default build/app/quicsteer/quicsteer)
#   DURATION=10 (seconds per run)  TESTPMD=dpdk-testpmd
#
# Variants:
#   null: the net_null PMD; its frames are zero-filled, so quicsteer drops
#         each one as not ours after reading the Ethernet header.
#   pcap: the net_pcap PMD replaying (infinite_rx) a pcap of 1024 IPv4 QUIC
#         short-header datagrams to 198.18.0.1:443 naming worker 0, written
#         by make_pcap.py; quicsteer classifies, parses and steers each one
#         (all local with one worker), then looks for a connection and
#         answers with a stateless reset within [quic] reset_rate. Only when
#         Debian's DPDK ships net_pcap.
# Packets per second: testpmd's own --stats-period 1 Rx-pps (the first two
# seconds dropped), quicsteer's rx_packets over telemetry (telemetry_rate.py).
# A benchmark: it prints figures and fails only when a run cannot be made.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
quicsteer=${1:-$root/build/app/quicsteer/quicsteer}
duration=${DURATION:-10}
testpmd=${TESTPMD:-dpdk-testpmd}
eal=(--no-huge --no-pci -m 1024 -l 0-1)

for tool in "$quicsteer" "$(command -v "$testpmd")" "$(command -v python3)"; do
	[ -x "$tool" ] || { echo "bench_null: cannot run '$tool'" >&2; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/bench-null.XXXXXX")
qs_pid=
# DPDK's runtime directories of the two processes (they outlive them)
if [ "$(id -u)" -eq 0 ]; then rundir=/var/run/dpdk; else rundir=${XDG_RUNTIME_DIR:-/tmp}/dpdk; fi
cleanup() {
	[ -n "$qs_pid" ] && kill -KILL "$qs_pid" 2>/dev/null
	rm -rf "$work" "$rundir/qsbench-qs-$$" "$rundir/qsbench-tp-$$"
}
trap cleanup EXIT

# Average Rx-pps of a testpmd run, in packets per second.
run_testpmd() { # variant vdev
	local log=$work/testpmd-$1.log
	# start-up takes a few seconds: run long enough for DURATION samples
	# after the first two
	timeout -s INT -k 10 $((duration + 8)) "$testpmd" "${eal[@]}" \
		--file-prefix "qsbench-tp-$$" --vdev "$2" -- \
		--forward-mode=io --port-topology=loop --nb-cores=1 --rxq=1 \
		--txq=1 --stats-period 1 >"$log" 2>&1
	grep -a 'Rx-pps' "$log" | awk '{print $2}' | tail -n +3 | head -n "$duration" |
		awk '{s += $1; n++} END {if (n) printf "%.0f\n", s / n}'
	[ "$(grep -a -c 'Rx-pps' "$log")" -gt 2 ] ||
		{ echo "testpmd ($1) failed:" >&2; tail "$log" >&2; }
}

# rx_pps=N then the counters that moved, from a quicsteer run.
run_quicsteer() { # variant vdev
	local prefix=qsbench-qs-$$ log=$work/quicsteer-$1.log
	"$quicsteer" "${eal[@]}" --file-prefix "$prefix" --vdev "$2" -- \
		--addr 198.18.0.1 --port 443 >"$log" 2>&1 &
	qs_pid=$!
	python3 "$here/telemetry_rate.py" "$prefix" "$duration" ||
		{ echo "quicsteer ($1) failed:" >&2; tail "$log" >&2; }
	kill -INT "$qs_pid" 2>/dev/null
	for _ in $(seq 50); do
		kill -0 "$qs_pid" 2>/dev/null || break
		sleep 0.2
	done
	kill -KILL "$qs_pid" 2>/dev/null
	wait "$qs_pid" 2>/dev/null
	qs_pid=
}

report() { # variant testpmd_pps quicsteer_output
	local qs_pps
	qs_pps=$(sed -n 's/^rx_pps=//p' <<<"$3")
	printf '%-5s testpmd io: %6.2f Mpps   quicsteer: %6.2f Mpps   ratio quicsteer/testpmd: %.2f\n' \
		"$1" "$(bc -l <<<"${2:-0} / 1000000")" "$(bc -l <<<"${qs_pps:-0} / 1000000")" \
		"$(bc -l <<<"if (${2:-0} > 0) ${qs_pps:-0} / ${2:-0} else 0")"
	echo "      quicsteer counters over the measured interval:"
	grep -v '^rx_pps=' <<<"$3" | sed 's/^/        /'
}

echo "bench_null: ${duration} s per run, EAL ${eal[*]}"
echo "quicsteer: $quicsteer"
echo "testpmd:   $(command -v "$testpmd")"
echo "machine:   $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"

tp=$(run_testpmd null net_null0)
qs=$(run_quicsteer null net_null0)
report null "$tp" "$qs"

if ls /usr/lib/*/dpdk/pmds-*/librte_net_pcap.so* >/dev/null 2>&1; then
	python3 "$here/make_pcap.py" "$work/quic.pcap" --count 1024 --payload 100 >/dev/null
	vdev="net_pcap0,rx_pcap=$work/quic.pcap,infinite_rx=1"
	tp=$(run_testpmd pcap "$vdev")
	qs=$(run_quicsteer pcap "$vdev")
	report pcap "$tp" "$qs"
else
	echo "pcap  skipped: this DPDK has no net_pcap PMD"
fi
