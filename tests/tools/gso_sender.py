#!/usr/bin/env python3
"""Sends QUIC long-header packets of an unknown version as one UDP GSO
write (UDP_SEGMENT, the way QUIC clients such as browsers batch their
datagrams) and counts the Version Negotiation packets that come back.

    gso_sender.py --dst 198.18.0.1 --port 4433 --count 2 --size 1200

Whether the kernel splits the write into datagrams before the link (the
link's tx-udp-segmentation off) or hands it on whole (a veth with the
offload on: one super-frame) is the link's business; a server that gets
every datagram answers each with Version Negotiation. Prints one JSON
line: {"sent": N, "replies": N, "version_negotiations": N}.
"""
import argparse
import json
import os
import select
import socket
import struct
import time

SOL_UDP = 17
UDP_SEGMENT = 103              # linux/udp.h
UNKNOWN_VERSION = 0x1a2a3a4a   # reserved for negotiation tests (RFC 9000 15)


def packet(size, dcid):
    hdr = bytes([0xc0]) + struct.pack("!I", UNKNOWN_VERSION)
    hdr += bytes([len(dcid)]) + dcid + bytes([8]) + os.urandom(8)
    return hdr + os.urandom(size - len(hdr))


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dst", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--count", type=int, default=2)
    ap.add_argument("--size", type=int, default=1200)
    ap.add_argument("--wait", type=float, default=1.5)
    a = ap.parse_args()
    s = socket.socket(socket.AF_INET6 if ":" in a.dst else socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(SOL_UDP, UDP_SEGMENT, a.size)
    s.connect((a.dst, a.port))
    s.send(b"".join(packet(a.size, os.urandom(8)) for _ in range(a.count)))
    replies = vn = 0
    deadline = time.monotonic() + a.wait
    while (left := deadline - time.monotonic()) > 0:
        if not select.select([s], [], [], left)[0]:
            break
        data = s.recv(65535)
        replies += 1
        if len(data) >= 5 and data[0] & 0x80 and data[1:5] == b"\0\0\0\0":
            vn += 1
    print(json.dumps({"sent": a.count, "replies": replies, "version_negotiations": vn}))


if __name__ == "__main__":
    main()
