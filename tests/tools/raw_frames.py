#!/usr/bin/env python3
"""Sends raw Ethernet frames on an interface with an AF_PACKET socket and
reports what the peer sent back, as JSON. For frames the kernel's own
stack would never build (bad IP headers, lying length fields).

stdin:  {"frames": ["<hex>", ...]}
stdout: {"sent": N, "replies": [{"ethertype", "len", "hex"}]}

Replies are frames from --peer-mac seen within --listen seconds after the
last send, except ARP and IPv6 neighbour discovery, which a kernel on the
same link may trigger at any time; "hex" holds their first 64 bytes, or
all of them with --full.
"""
import argparse
import json
import select
import socket
import sys
import time

ETH_P_ALL = 0x0003
ETH_P_ARP = 0x0806
ETH_P_IPV6 = 0x86DD
IPPROTO_ICMPV6 = 58
ND_TYPES = range(133, 138)  # router/neighbour solicitation/advert, redirect


def is_neighbour_discovery(frame):
    ethertype = int.from_bytes(frame[12:14], "big")
    if ethertype == ETH_P_ARP:
        return True
    return (ethertype == ETH_P_IPV6 and len(frame) > 54 and
            frame[20] == IPPROTO_ICMPV6 and frame[54] in ND_TYPES)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--iface", required=True)
    ap.add_argument("--peer-mac", required=True)
    ap.add_argument("--listen", type=float, default=0.5)
    ap.add_argument("--full", action="store_true",
                    help="whole reply frames in hex, not their first 64 bytes")
    args = ap.parse_args()
    frames = [bytes.fromhex(h) for h in json.load(sys.stdin)["frames"]]
    peer = bytes.fromhex(args.peer_mac.replace(":", ""))

    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW,
                       socket.htons(ETH_P_ALL)) as s:
        s.bind((args.iface, 0))
        sent = sum(1 for f in frames if s.send(f) == len(f))
        replies = []
        deadline = time.monotonic() + args.listen
        while (left := deadline - time.monotonic()) > 0:
            if not select.select([s], [], [], left)[0]:
                continue
            frame, addr = s.recvfrom(65535)
            if addr[2] == socket.PACKET_OUTGOING or frame[6:12] != peer:
                continue
            if not is_neighbour_discovery(frame):
                replies.append({"ethertype": int.from_bytes(frame[12:14], "big"),
                                "len": len(frame),
                                "hex": (frame if args.full else frame[:64]).hex()})
    json.dump({"sent": sent, "replies": replies}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
