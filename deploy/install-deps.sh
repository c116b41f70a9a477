#!/usr/bin/env bash
# Installs every Debian 12 package quicsteer, its tests and benchmarks need.
# Idempotent: packages already present are left alone. Fails loudly.
set -euo pipefail

PACKAGES=(
  build-essential meson ninja-build pkg-config clang libclang-rt-14-dev llvm
  libdpdk-dev dpdk dpdk-dev
  libngtcp2-dev libngtcp2-crypto-gnutls-dev libnghttp3-dev
  libgnutls28-dev libssl-dev gnutls-bin
  ngtcp2-client ngtcp2-server
  iproute2 iputils-ping ethtool python3 jq procps libpcap-dev
  nftables conntrack tcpdump tshark
  chromium
  python3-prometheus-client prometheus
  python3-matplotlib
)

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: must run as root (apt-get install)" >&2
  exit 1
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends "${missing[@]}"
echo "install-deps: done"
