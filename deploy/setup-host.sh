#!/usr/bin/env bash
# Prepares a bare-metal host for quicsteer, as root: reserves hugepages and
# mounts hugetlbfs (the default page size through deploy/hugepages.sh, the
# other size through sysfs), loads vfio-pci and binds the NICs given by PCI
# address to it with Debian's dpdk-devbind.py. Every check runs before the
# first change; --dry-run prints the commands and changes nothing.
# Idempotent: quicsteer.service runs it before every start (QUICSTEER_SETUP).
#
# Exit status: 0 done, 1 failed (the reason on stderr), 2 usage.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
HUGEPAGES_SH=$HERE/hugepages.sh
DRIVER=vfio-pci
NET_CLASS=0x02          # PCI base class: network controller

usage() {
	cat <<EOF
usage: $(basename "$0") [options]
  --hugepages N         have at least N free hugepages (reserved now) and a
                        hugetlbfs mount of their size
  --hugepage-size SIZE  2M (default) or 1G; at run time the kernel rarely
                        finds 1G pages: reserve them at boot
                        (default_hugepagesz=1G hugepagesz=1G hugepages=N)
  --pci ADDR            bind the NIC at PCI address ADDR (0000:01:00.0 or
                        01:00.0) to $DRIVER; repeatable
  --noiommu             allow $DRIVER without an IOMMU (a VM without a
                        virtual IOMMU): sets vfio's enable_unsafe_noiommu_mode,
                        which gives no DMA protection
  --force               bind even a device whose interface is up or has
                        routes, or that is not a network controller
  --dry-run             print every command it would run, change nothing
  --sysfs DIR           read devices and hugepage counts from DIR instead of
                        /sys (tests; only with --dry-run)
  -h, --help            this text
At least one of --hugepages and --pci. Exit status: 0 done, 1 failed, 2 usage.
EOF
}

usage_error() {
	echo "setup-host: $*" >&2
	echo "try: $(basename "$0") --help" >&2
	exit 2
}

fail() {
	echo "setup-host: $*" >&2
	exit 1
}

note() {
	echo "setup-host: $*"
}

# run CMD...: print it shell-quoted; run it unless --dry-run
run() {
	local q
	printf -v q '%q ' "$@"
	if [ "$DRY_RUN" = 1 ]; then
		echo "would run: ${q% }"
	else
		echo "+ ${q% }"
		"$@"
	fi
}

# write_file VALUE FILE: `echo VALUE > FILE`, printed like run
write_file() {
	if [ "$DRY_RUN" = 1 ]; then
		echo "would run: echo $1 > $2"
	else
		echo "+ echo $1 > $2"
		echo "$1" > "$2" || fail "cannot write $1 to $2"
	fi
}

meminfo() {
	awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo
}

# --- arguments --------------------------------------------------------------

HUGEPAGES='' HUGEPAGE_SIZE=2M NOIOMMU=0 FORCE=0 DRY_RUN=0 SYSFS=/sys SYSFS_SET=0
PCI=()
while [ $# -gt 0 ]; do
	case $1 in
	--hugepages | --hugepage-size | --pci | --sysfs)
		[ $# -ge 2 ] || usage_error "$1 needs a value"
		case $1 in
		--hugepages) HUGEPAGES=$2 ;;
		--hugepage-size) HUGEPAGE_SIZE=$2 ;;
		--pci) PCI+=("$2") ;;
		--sysfs) SYSFS=$2 SYSFS_SET=1 ;;
		esac
		shift 2
		;;
	--noiommu) NOIOMMU=1; shift ;;
	--force) FORCE=1; shift ;;
	--dry-run) DRY_RUN=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage_error "unknown argument '$1'" ;;
	esac
done

[ -n "$HUGEPAGES" ] || [ ${#PCI[@]} -gt 0 ] ||
	usage_error "nothing to do: give --hugepages N and/or --pci ADDR"
if [ -n "$HUGEPAGES" ]; then
	if ! [[ $HUGEPAGES =~ ^[0-9]+$ ]] || [ "$HUGEPAGES" -eq 0 ]; then
		usage_error "--hugepages: a positive number of pages, not '$HUGEPAGES'"
	fi
fi
case $HUGEPAGE_SIZE in
2M | 2m) HUGEPAGE_SIZE=2M SIZE_KB=2048 ;;
1G | 1g) HUGEPAGE_SIZE=1G SIZE_KB=1048576 ;;
*) usage_error "--hugepage-size: 2M or 1G, not '$HUGEPAGE_SIZE'" ;;
esac
[ "$SYSFS_SET" = 0 ] || [ "$DRY_RUN" = 1 ] ||
	usage_error "--sysfs is for tests and needs --dry-run (dpdk-devbind.py works on the real /sys)"
[ -d "$SYSFS" ] || usage_error "--sysfs: '$SYSFS' is not a directory"

# PCI addresses: domain:bus:device.function, the domain 0000 when left out
ADDRS=()
for a in "${PCI[@]}"; do
	a=${a,,}
	[[ $a =~ ^[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$ ]] && a=0000:$a
	[[ $a =~ ^[0-9a-f]{4}:[0-9a-f]{2}:[0-1][0-9a-f]\.[0-7]$ ]] ||
		usage_error "--pci: '$a' is not a PCI address (domain:bus:device.function, e.g. 0000:01:00.0)"
	ADDRS+=("$a")
done

if [ "$(id -u)" -ne 0 ]; then
	[ "$DRY_RUN" = 1 ] || fail "must run as root (hugepages, modprobe, driver binding)"
	note "not root: a real run needs root"
fi

# --- checks: nothing is changed before all of them passed --------------------

DEVICES=$SYSFS/bus/pci/devices
NOIOMMU_PARAM=$SYSFS/module/vfio/parameters/enable_unsafe_noiommu_mode

# interfaces the kernel routes through (as dpdk-devbind.py reads them),
# without IPv4 link-local and IPv6 link-local routes
routed_ifaces() {
	command -v ip > /dev/null || return 0
	{ ip -o route show 2>/dev/null | grep -v '^169\.254\.' || true
	  ip -o -6 route show 2>/dev/null | grep -v '^fe80:' || true
	} | awk '{ for (i = 1; i < NF; i++) if ($i == "dev") print $(i + 1) }' | sort -u
}

# the driver a device is bound to, empty when none
dev_driver() {
	local link
	link=$(readlink "$1/driver" 2>/dev/null) || return 0
	basename "$link"
}

TO_BIND=()
if [ ${#ADDRS[@]} -gt 0 ]; then
	ROUTED=$(routed_ifaces)
	problems=0
	for a in "${ADDRS[@]}"; do
		dev=$DEVICES/$a
		if [ ! -d "$dev" ]; then
			echo "setup-host: $a: no such PCI device ($dev does not exist; lspci -D lists the devices)" >&2
			problems=1
			continue
		fi
		drv=$(dev_driver "$dev")
		if [ "$drv" = "$DRIVER" ]; then
			note "$a: already bound to $DRIVER"
			continue
		fi
		class=$(cat "$dev/class" 2>/dev/null || true)
		if [ -n "$class" ] && [ "${class:0:4}" != "$NET_CLASS" ] && [ "$FORCE" = 0 ]; then
			echo "setup-host: $a: class $class is not a network controller; binding it takes it from its driver (${drv:-none}). Check the address (lspci -D -s $a) or pass --force" >&2
			problems=1
			continue
		fi
		for n in "$dev"/net/* "$dev"/*/net/*; do
			[ -e "$n" ] || continue
			ifc=$(basename "$n")
			flags=$(cat "$n/flags" 2>/dev/null || echo 0)
			why=()
			if (( flags & 1 )); then why+=("is up"); fi
			if grep -qx -- "$ifc" <<< "$ROUTED"; then why+=("has routes"); fi
			[ ${#why[@]} -gt 0 ] || continue
			state=${why[*]}
			state=${state/up has/up and has}
			if [ "$FORCE" = 1 ]; then
				note "$a: interface $ifc $state; binding anyway (--force)"
			else
				echo "setup-host: $a: its interface $ifc $state: the kernel is" \
				     "using it (maybe for this very session). Take it down first" \
				     "(ip link set $ifc down) or pass --force" >&2
				problems=1
			fi
		done
		if [ ! -e "$dev/iommu_group" ]; then
			if [ "$NOIOMMU" = 1 ]; then
				note "$a: no IOMMU group: $DRIVER in no-IOMMU mode (--noiommu), without DMA" \
				     "protection; DPDK then needs CAP_SYS_RAWIO and CAP_SYS_ADMIN (see quicsteer.service)"
			elif [ "$(cat "$NOIOMMU_PARAM" 2>/dev/null || true)" = Y ]; then
				note "$a: no IOMMU group: vfio is already in no-IOMMU mode"
			else
				echo "setup-host: $a: no IOMMU group, so $DRIVER cannot take it. Turn" \
				     "the IOMMU on: VT-d or AMD-Vi in the firmware, and boot with" \
				     "intel_iommu=on iommu=pt (Intel) or iommu=pt (AMD). Where there is" \
				     "none (a VM without a virtual IOMMU), pass --noiommu: it sets" \
				     "/sys/module/vfio/parameters/enable_unsafe_noiommu_mode, with no" \
				     "DMA protection" >&2
				problems=1
			fi
		fi
		TO_BIND+=("$a")
	done
	[ "$problems" = 0 ] || fail "stopped before changing anything"
	if [ ${#TO_BIND[@]} -gt 0 ] && ! command -v dpdk-devbind.py > /dev/null; then
		[ "$DRY_RUN" = 1 ] || fail "dpdk-devbind.py not found: install Debian's dpdk package (deploy/install-deps.sh)"
		note "dpdk-devbind.py not found: a real run needs Debian's dpdk package"
	fi
fi

# hugepages: the kernel's default size through hugepages.sh, the other
# size (1G beside a 2M default, say) by its sysfs count and a mount of its own
HUGE_DEFAULT=
if [ -n "$HUGEPAGES" ]; then
	default_kb=$(meminfo Hugepagesize)
	[ -n "$default_kb" ] || fail "the kernel has no hugepage support (no Hugepagesize in /proc/meminfo)"
	if [ "$default_kb" = "$SIZE_KB" ]; then
		HUGE_DEFAULT=1
		[ -f "$HUGEPAGES_SH" ] || fail "$HUGEPAGES_SH is missing: install it beside $(basename "$0")"
	else
		HUGE_DIR=$SYSFS/kernel/mm/hugepages/hugepages-${SIZE_KB}kB
		[ -d "$HUGE_DIR" ] ||
			fail "the kernel has no $HUGEPAGE_SIZE hugepages ($HUGE_DIR is missing;" \
			     "1G pages need the CPU's pdpe1gb flag)"
	fi
fi

# --- changes ------------------------------------------------------------------

if [ -n "$HUGEPAGES" ]; then
	if [ -n "$HUGE_DEFAULT" ]; then
		mib=$(( HUGEPAGES * SIZE_KB / 1024 ))
		note "hugepages: $HUGEPAGES free pages of $HUGEPAGE_SIZE ($mib MiB), hugetlbfs mounted (hugepages.sh)"
		run bash "$HUGEPAGES_SH" reserve "$mib" || fail "no hugepages (hugepages.sh said why above)"
	else
		free=$(cat "$HUGE_DIR/free_hugepages")
		total=$(cat "$HUGE_DIR/nr_hugepages")
		note "hugepages: $HUGEPAGES free pages of $HUGEPAGE_SIZE wanted, $free of $total free now"
		if [ "$free" -lt "$HUGEPAGES" ]; then
			want=$(( total + HUGEPAGES - free ))
			write_file "$want" "$HUGE_DIR/nr_hugepages"
			if [ "$DRY_RUN" = 0 ]; then
				got=$(cat "$HUGE_DIR/free_hugepages")
				if [ "$got" -lt "$HUGEPAGES" ]; then
					echo "$total" > "$HUGE_DIR/nr_hugepages" 2>/dev/null || true
					fail "the kernel gave $got of the $HUGEPAGES free $HUGEPAGE_SIZE pages asked" \
					     "for (memory too fragmented); reserve them at boot" \
					     "(hugepagesz=$HUGEPAGE_SIZE hugepages=$HUGEPAGES on the kernel command line)"
				fi
			fi
		fi
		if ! awk -v ps="pagesize=$HUGEPAGE_SIZE" '$3 == "hugetlbfs" && ("," $4 ",") ~ ("," ps ",") { f = 1 } END { exit !f }' /proc/mounts; then
			dir=/dev/hugepages-$HUGEPAGE_SIZE
			if ! run mkdir -p "$dir" ||
			   ! run mount -t hugetlbfs -o "pagesize=$HUGEPAGE_SIZE" nodev "$dir"; then
				fail "cannot mount hugetlbfs for $HUGEPAGE_SIZE pages on $dir"
			fi
		fi
	fi
fi

if [ ${#TO_BIND[@]} -gt 0 ]; then
	run modprobe "$DRIVER" || fail "cannot load $DRIVER (is the kernel built with VFIO?)"
	if [ "$NOIOMMU" = 1 ]; then
		write_file 1 "$NOIOMMU_PARAM"
	fi
	force=()
	[ "$FORCE" = 1 ] && force=(--force)
	for a in "${TO_BIND[@]}"; do
		run dpdk-devbind.py -b "$DRIVER" "${force[@]}" "$a" ||
			fail "$a: dpdk-devbind.py failed (see above)"
		[ "$DRY_RUN" = 1 ] && continue
		# dpdk-devbind.py exits 0 also when it refused
		drv=$(dev_driver "$DEVICES/$a")
		[ "$drv" = "$DRIVER" ] ||
			fail "$a: still bound to ${drv:-no driver}, not $DRIVER (see dpdk-devbind.py's message above)"
		group=$(basename "$(readlink "$DEVICES/$a/iommu_group" 2>/dev/null || echo none)")
		note "$a: bound to $DRIVER (IOMMU group $group); give quicsteer -a $a"
	done
fi

if [ "$DRY_RUN" = 1 ]; then
	note "dry run: nothing changed"
else
	note "done"
fi
