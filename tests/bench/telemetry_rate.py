#!/usr/bin/env python3
"""Receive rate of a running quicsteer, read over DPDK telemetry.

    telemetry_rate.py FILE_PREFIX SECONDS [WAIT_SECONDS]

Waits (at most WAIT_SECONDS, default 20) for the process's telemetry socket
and for packets to flow, reads /quicsteer/stats, sleeps SECONDS, reads it
again, and prints one line "rx_pps=N" followed by the counters that moved,
as "name=delta" lines. The socket is <runtime dir>/<prefix>/dpdk_telemetry.v2
(/var/run/dpdk as root, else $XDG_RUNTIME_DIR/dpdk or /tmp/dpdk).
"""
import json
import os
import socket
import sys
import time


def socket_path(prefix):
    if os.geteuid() == 0:
        base = "/var/run/dpdk"
    else:
        base = os.path.join(os.environ.get("XDG_RUNTIME_DIR", "/tmp"), "dpdk")
    return os.path.join(base, prefix, "dpdk_telemetry.v2")


def connect(path, deadline):
    while True:
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            s.connect(path)
            json.loads(s.recv(1024))  # the greeting
            return s
        except OSError:
            s.close()
            if time.monotonic() > deadline:
                sys.exit(f"telemetry_rate: no telemetry socket at {path}")
            time.sleep(0.2)


def stats(s):
    s.send(b"/quicsteer/stats")
    return json.loads(s.recv(1 << 16))["/quicsteer/stats"]


def main():
    prefix, seconds = sys.argv[1], float(sys.argv[2])
    wait = float(sys.argv[3]) if len(sys.argv) > 3 else 20.0
    deadline = time.monotonic() + wait
    s = connect(socket_path(prefix), deadline)
    while stats(s)["rx_packets"] == 0:
        if time.monotonic() > deadline:
            sys.exit("telemetry_rate: no packets received")
        time.sleep(0.2)
    time.sleep(1.0)  # warm-up
    a, t0 = stats(s), time.monotonic()
    time.sleep(seconds)
    b, t1 = stats(s), time.monotonic()
    print(f"rx_pps={(b['rx_packets'] - a['rx_packets']) / (t1 - t0):.0f}")
    for name in b:
        if isinstance(b[name], int) and b[name] != a.get(name) and name != "workers":
            print(f"{name}={b[name] - a[name]}")


if __name__ == "__main__":
    main()
