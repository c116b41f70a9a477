#!/usr/bin/env bash
# Hugepages for DPDK, when the kernel lets us have them: reserves enough
# pages of the default size for MIB MiB more than are free now, and mounts
# hugetlbfs if nothing has it mounted. Used by deploy/demo.sh and the
# integration rig (tests/integration/rig.py); run it by hand the same way.
#
#   hugepages.sh reserve MIB   prints "dir=<hugetlbfs mount> before=<pages>"
#                              (before: nr_hugepages as it was); exit 1 with
#                              the reason on stderr when it cannot
#   hugepages.sh release N     sets nr_hugepages back to N (pages in use stay)
#
# Needs root. Boot-time reservation (hugepages=N on the kernel command line)
# is what a production appliance should use: at run time the kernel can
# only give pages it finds contiguous free memory for.
set -euo pipefail

NR=/proc/sys/vm/nr_hugepages

meminfo() {
	awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo
}

fail() {
	echo "hugepages: $*" >&2
	exit 1
}

reserve() {
	local mib=$1 size_kb need free total want got dir
	[[ $mib =~ ^[0-9]+$ ]] && [ "$mib" -gt 0 ] || fail "reserve: MIB must be a positive number, not '$mib'"
	[ "$(id -u)" -eq 0 ] || fail "must run as root to reserve hugepages"
	[ -w "$NR" ] || fail "$NR is not writable here (a container without the privilege?)"
	size_kb=$(meminfo Hugepagesize)
	[ -n "$size_kb" ] || fail "the kernel has no hugepage support (no Hugepagesize in /proc/meminfo)"
	need=$(( (mib * 1024 + size_kb - 1) / size_kb ))
	free=$(meminfo HugePages_Free)
	total=$(meminfo HugePages_Total)
	if [ "$free" -lt "$need" ]; then
		want=$(( total + need - free ))
		echo "$want" > "$NR" 2>/dev/null || fail "cannot write $want to $NR"
		got=$(meminfo HugePages_Free)
		if [ "$got" -lt "$need" ]; then
			echo "$total" > "$NR" 2>/dev/null || true
			fail "the kernel gave $got of the $need free ${size_kb} kB pages asked for" \
			     "(memory too fragmented or limited); reserve them at boot" \
			     "(hugepages=$need on the kernel command line)"
		fi
	fi
	dir=$(awk '$3 == "hugetlbfs" { print $2; exit }' /proc/mounts)
	if [ -z "$dir" ]; then
		dir=/dev/hugepages
		mkdir -p "$dir"
		mount -t hugetlbfs nodev "$dir" 2>/dev/null ||
			fail "cannot mount hugetlbfs on $dir"
	fi
	echo "dir=$dir before=$total"
}

release() {
	local n=$1
	[[ $n =~ ^[0-9]+$ ]] || fail "release: N must be a number, not '$n'"
	echo "$n" > "$NR" 2>/dev/null || fail "cannot write $n to $NR"
}

case "${1:-}" in
reserve) reserve "${2:-}" ;;
release) release "${2:-}" ;;
*) echo "usage: $0 reserve MIB | release N" >&2; exit 2 ;;
esac
