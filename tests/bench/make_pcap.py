#!/usr/bin/env python3
"""A pcap file of QUIC short-header datagrams to us, for the pcap PMD.

    make_pcap.py OUT.pcap [--count N] [--payload BYTES] [--workers W]

Each frame is IPv4 UDP from the peer (varied source ports) to
198.18.0.1:443 with a 1-RTT short header whose 8-byte DCID names a worker
in the nibble format (owner in the high nibble of byte 0, random bits
elsewhere), owners spread over 0..W-1. The frame builders are those of
tests/fuzz/make_corpus.py.
"""
import argparse
import os
import random
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fuzz"))
import make_corpus as frames  # noqa: E402

PCAP_MAGIC = 0xA1B2C3D4
LINKTYPE_ETHERNET = 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--count", type=int, default=1024)
    ap.add_argument("--payload", type=int, default=100, help="UDP payload bytes")
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args()

    rng = random.Random(1)  # the same file every run
    with open(args.out, "wb") as f:
        f.write(struct.pack("<IHHiIII", PCAP_MAGIC, 2, 4, 0, 0, 65535,
                            LINKTYPE_ETHERNET))
        for i in range(args.count):
            owner = i % args.workers
            cid = frames.nibble_cid(owner, bytes(rng.getrandbits(8) for _ in range(8)))
            frame = frames.udp4(frames.quic_short(cid, args.payload),
                                sport=frames.PEER_PORT + i % 1000)
            f.write(struct.pack("<IIII", 0, i, len(frame), len(frame)) + frame)
    print(f"{args.count} frames of {len(frame)} bytes written to {args.out}")


if __name__ == "__main__":
    main()
