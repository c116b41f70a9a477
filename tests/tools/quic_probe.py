#!/usr/bin/env python3
"""UDP client for quicsteer tests: sends each datagram from its own socket
(so from its own source port), waits for the replies per socket and prints
them as JSON.

Datagrams come either from stdin, {"payloads": ["<hex>", ...]}, or are
made here: --worker K --count N [--length L] sends N short-header packets
whose DCID names worker K (quicsteer's nibble format: owner in the high
nibble of DCID byte 0).

Output: {"results": [{"src_port", "sent_len", "sent_hex",
                      "replies": [{"len", "first_byte", "from"}]}]}
"""
import argparse
import json
import os
import selectors
import socket
import sys
import time

SHORT_HEADER_FIXED_BIT = 0x40   # first byte 0b01xxxxxx: short header, fixed bit
DCID_LEN = 8                    # quicsteer's CIDs are 8 bytes


def short_header(worker, length):
    """A 1-RTT (short header) packet of length bytes whose DCID names worker."""
    if length < 1 + DCID_LEN:
        raise ValueError("a short header needs 1 + 8 bytes")
    rnd = os.urandom(length)
    first = SHORT_HEADER_FIXED_BIT | (rnd[0] & 0x3F)
    dcid0 = (worker << 4) | (rnd[1] & 0x0F)
    return bytes([first, dcid0]) + rnd[2:]


def probe(dst, port, payloads, timeout, linger):
    family = socket.AF_INET6 if ":" in dst else socket.AF_INET
    sel = selectors.DefaultSelector()
    results = []
    socks = []
    try:
        for p in payloads:
            s = socket.socket(family, socket.SOCK_DGRAM)
            s.setblocking(False)
            s.bind(("", 0))
            socks.append(s)
            r = {"src_port": s.getsockname()[1], "sent_len": len(p),
                 "sent_hex": p.hex(), "replies": []}
            results.append(r)
            sel.register(s, selectors.EVENT_READ, r)
        for s, p in zip(socks, payloads):
            s.sendto(p, (dst, port))

        # until every socket has a reply (or timeout), then linger for extras
        deadline = time.monotonic() + timeout
        lingering = False
        while True:
            now = time.monotonic()
            if not lingering and all(r["replies"] for r in results):
                lingering, deadline = True, now + linger
            if now >= deadline:
                break
            for key, _ in sel.select(deadline - now):
                while True:
                    try:
                        data, addr = key.fileobj.recvfrom(65535)
                    except BlockingIOError:
                        break
                    key.data["replies"].append(
                        {"len": len(data), "first_byte": data[0] if data else None,
                         "from": [addr[0], addr[1]]})
    finally:
        for s in socks:
            s.close()
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dst", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--worker", type=int, help="make short headers naming this worker")
    ap.add_argument("--count", type=int, default=64)
    ap.add_argument("--length", type=int, default=64)
    ap.add_argument("--timeout", type=float, default=3.0,
                    help="seconds to wait for a reply on every socket")
    ap.add_argument("--linger", type=float, default=0.3,
                    help="seconds to keep listening for extra replies")
    args = ap.parse_args()

    if args.worker is not None:
        payloads = [short_header(args.worker, args.length) for _ in range(args.count)]
    else:
        payloads = [bytes.fromhex(h) for h in json.load(sys.stdin)["payloads"]]
    results = probe(args.dst, args.port, payloads, args.timeout, args.linger)
    json.dump({"results": results}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
