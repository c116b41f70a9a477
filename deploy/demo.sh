#!/usr/bin/env bash
# Sets up and runs the quicsteer appliance on a virtual NIC, as root:
# installs packages, builds, makes a veth pair into two network namespaces
# (qs-demo-srv for quicsteer on the af_packet PMD with 4 worker lcores,
# qs-demo-cli for clients), a self-signed certificate and the demo document
# root, then starts quicsteer with its interactive prompt. `quit` (or
# Ctrl-D, SIGINT, SIGTERM) stops it and removes the namespaces.
set -euo pipefail
cd "$(dirname "$0")/.."

SRV_NS=qs-demo-srv CLI_NS=qs-demo-cli
SRV_IF=qsdemo0 CLI_IF=qsdemo1
ADDR4=198.18.0.1 ADDR6=2001:db8::1 PORT=443
WORKDIR=/tmp/quicsteer-demo

bash deploy/install-deps.sh
[ -d build ] || meson setup build
ninja -C build

# hugepages when the kernel gives them (as a deployment runs), else --no-huge
MEMORY=(--no-huge) HUGE_DIR=/nonexistent HUGE_BEFORE=
if out=$(bash deploy/hugepages.sh reserve 1024); then
	HUGE_DIR=${out%% before=*} HUGE_DIR=${HUGE_DIR#dir=}
	HUGE_BEFORE=${out##*before=}
	MEMORY=(--huge-dir "$HUGE_DIR")
	echo "demo: on hugepages ($HUGE_DIR); dpdk-dumpcap --file-prefix qs-demo works"
else
	echo "demo: running --no-huge (no hugepages: see above)"
fi

cleanup() {
	ip netns del "$SRV_NS" 2>/dev/null || true
	ip netns del "$CLI_NS" 2>/dev/null || true
}
release() {
	cleanup
	rm -f "$HUGE_DIR"/qs-demomap_* 2>/dev/null || true
	[ -z "$HUGE_BEFORE" ] || bash deploy/hugepages.sh release "$HUGE_BEFORE"
}
trap release EXIT
cleanup
ip netns add "$SRV_NS"
ip netns add "$CLI_NS"
ip link add "$SRV_IF" type veth peer name "$CLI_IF"
ip link set "$SRV_IF" netns "$SRV_NS"
ip link set "$CLI_IF" netns "$CLI_NS"
# the server end has no kernel addresses: quicsteer answers for them
ip netns exec "$SRV_NS" sysctl -qw "net.ipv6.conf.$SRV_IF.disable_ipv6=1"
ip netns exec "$SRV_NS" ip link set "$SRV_IF" up
ip netns exec "$SRV_NS" ip link set lo up
ip netns exec "$CLI_NS" ip link set "$CLI_IF" up
# the client computes its checksums and segments itself: quicsteer verifies
# UDP checksums, and af_packet would get the ones a veth offloads unfilled
ip netns exec "$CLI_NS" ethtool -K "$CLI_IF" tx off gso off tx-udp-segmentation off
ip netns exec "$CLI_NS" ip link set lo up
ip netns exec "$CLI_NS" ip addr add 198.18.0.2/24 dev "$CLI_IF"
ip netns exec "$CLI_NS" ip addr add 2001:db8::2/64 dev "$CLI_IF" nodad

mkdir -p "$WORKDIR"
if [ ! -f "$WORKDIR/key.pem" ]; then
	certtool --generate-privkey --key-type=ecdsa --curve=secp256r1 \
		--outfile "$WORKDIR/key.pem" 2>/dev/null
	printf 'cn = quicsteer-demo\nip_address = %s\nip_address = %s\nexpiration_days = 365\ntls_www_server\nsigning_key\n' \
		"$ADDR4" "$ADDR6" > "$WORKDIR/cert.tmpl"
	certtool --generate-self-signed --load-privkey "$WORKDIR/key.pem" \
		--template "$WORKDIR/cert.tmpl" --outfile "$WORKDIR/cert.pem" 2>/dev/null
fi

cat <<MSG

quicsteer demo: $ADDR4 and [$ADDR6] port $PORT, 4 worker lcores on af_packet.
From another terminal, as root:
  ip netns exec $CLI_NS ping -c 3 $ADDR4
  ip netns exec $CLI_NS build/app/quicsteer-load/quicsteer-load -k --get https://$ADDR4/index.html
  ip netns exec $CLI_NS gtlsclient --exit-on-all-streams-close $ADDR4 $PORT https://$ADDR4/index.html
  dpdk-telemetry.py -f qs-demo     then  /quicsteer/lcores
At the prompt: help, show lcores, show steering, show stats, quit.

MSG

ip netns exec "$SRV_NS" ./build/app/quicsteer/quicsteer \
	"${MEMORY[@]}" --no-pci -m 1024 --file-prefix qs-demo \
	--lcores '0@0,1@1,2@0,3@1,4@0' \
	--vdev "net_af_packet0,iface=$SRV_IF,qpairs=4" -- \
	--config config/quicsteer.ini --addr "$ADDR4" --addr "$ADDR6" --port "$PORT" \
	--cert "$WORKDIR/cert.pem" --key "$WORKDIR/key.pem" \
	--docroot deploy/demo-docroot -i
