#!/usr/bin/env python3
"""A UDP relay between one QUIC client and a server that reorders the
client's first two datagrams: the first is held back until the second has
been sent on, then everything is relayed as it comes, both ways. With a
ClientHello spanning two Initial packets, the server sees the second one
(CRYPTO at an offset > 0) first.

    reorder_proxy.py --listen 198.18.0.2:5443 --server 198.18.0.1:4433 --seconds 30

Prints "listening" once bound, then, at SIGTERM, SIGINT or after
--seconds, one JSON line:

    {"reordered": bool, "held": {"len", "first_byte", "dcid"},
     "second": {"len", "first_byte", "dcid"} or null,
     "client_datagrams": N, "server_datagrams": N}

"dcid" is the long header's destination connection ID (hex), "" for a
short header. When no second datagram comes within --hold seconds, the
first is sent on alone ("reordered": false).
"""
import json
import select
import sys
import time

from udp_relay import Stop, open_relay, relay_arguments


def describe(d):
    dcid = ""
    if d and d[0] & 0x80 and len(d) >= 6:
        n = d[5]
        dcid = d[6:6 + n].hex()
    return {"len": len(d), "first_byte": d[0] if d else None, "dcid": dcid}


def main():
    ap = relay_arguments(__doc__)
    ap.add_argument("--hold", type=float, default=2.0,
                    help="longest wait for the second datagram")
    args = ap.parse_args()

    c, s = open_relay(args.listen, args.server)

    report = {"reordered": False, "held": None, "second": None,
              "client_datagrams": 0, "server_datagrams": 0}
    client = None
    held = None
    held_until = None
    deadline = time.monotonic() + args.seconds
    try:
        while (left := deadline - time.monotonic()) > 0:
            if held is not None:
                left = min(left, max(0.0, held_until - time.monotonic()))
            ready, _, _ = select.select([c, s], [], [], left)
            if held is not None and time.monotonic() >= held_until and not ready:
                s.send(held)            # no second datagram: send it alone
                held = None
                continue
            for sock in ready:
                if sock is c:
                    data, frm = c.recvfrom(65535)
                    report["client_datagrams"] += 1
                    if client is None:
                        client = frm
                        held = data
                        held_until = time.monotonic() + args.hold
                        report["held"] = describe(data)
                        continue
                    if frm != client:
                        continue
                    s.send(data)
                    if held is not None:
                        report["second"] = describe(data)
                        report["reordered"] = True
                        s.send(held)
                        held = None
                else:
                    data = s.recv(65535)
                    report["server_datagrams"] += 1
                    if client is not None:
                        c.sendto(data, client)
    except Stop:
        pass
    json.dump(report, sys.stdout)
    print(flush=True)


if __name__ == "__main__":
    main()
