#!/usr/bin/env python3
"""A UDP relay between one QUIC client and a server that withholds the
server's ACKs: every client datagram reaches the server --delay-ms late
(the path's RTT, so an ngtcp2 server's ACK delay, min(max_ack_delay,
smoothed RTT / 8), has it send a response before the ACK of the request),
and every short-header (1-RTT) server datagram shorter than --drop-below
bytes, an ACK-only packet, is dropped. Long-header datagrams (the
handshake) always pass. A client that waits for the ACK of a request
before it counts the request, or reuses its stream slot, stalls here; one
that counts a request when its response has ended does not.

    ack_withholding_proxy.py --listen 198.18.0.2:5443 --server 198.18.0.1:4433 \\
        --seconds 30 [--delay-ms 20] [--drop-below 64]

Prints "listening" once bound, then, at SIGTERM, SIGINT or after
--seconds, one JSON line:

    {"client_datagrams": N, "server_datagrams": N, "dropped": N,
     "dropped_bytes": N, "dropped_sizes": {"LEN": N, ...},
     "relayed_short_min": LEN or null}

"relayed_short_min" is the smallest short-header server datagram that
passed. Datagrams from any address but the first client's are ignored.
"""
import collections
import json
import select
import sys
import time

from udp_relay import Stop, open_relay, relay_arguments

QUIC_LONG_HEADER = 0x80


def send(sock, data, to=None):
    """Relays data; a datagram the kernel refuses (ICMP unreachable) is
    lost, as on the wire."""
    try:
        if to is None:
            sock.send(data)
        else:
            sock.sendto(data, to)
    except OSError:
        pass


def main():
    ap = relay_arguments(__doc__)
    ap.add_argument("--delay-ms", type=float, default=20.0,
                    help="how late client datagrams reach the server")
    ap.add_argument("--drop-below", type=int, default=64,
                    help="short-header server datagrams shorter than this "
                         "many bytes are dropped")
    args = ap.parse_args()

    c, s = open_relay(args.listen, args.server)

    delay = args.delay_ms / 1000
    report = {"client_datagrams": 0, "server_datagrams": 0, "dropped": 0,
              "dropped_bytes": 0, "dropped_sizes": {}, "relayed_short_min": None}
    dropped_sizes = collections.Counter()
    client = None
    queue = collections.deque()     # (due, datagram) to the server, in order
    deadline = time.monotonic() + args.seconds
    try:
        while (left := deadline - time.monotonic()) > 0:
            if queue:
                left = min(left, max(0.0, queue[0][0] - time.monotonic()))
            ready, _, _ = select.select([c, s], [], [], left)
            now = time.monotonic()
            while queue and queue[0][0] <= now:
                send(s, queue.popleft()[1])
            for sock in ready:
                if sock is c:
                    data, frm = c.recvfrom(65535)
                    if client is None:
                        client = frm
                    if frm != client:
                        continue
                    report["client_datagrams"] += 1
                    queue.append((now + delay, data))
                else:
                    try:
                        data = s.recv(65535)
                    except OSError:     # an ICMP error for an earlier send
                        continue
                    report["server_datagrams"] += 1
                    if client is None:
                        continue
                    if data and not data[0] & QUIC_LONG_HEADER:
                        if len(data) < args.drop_below:
                            report["dropped"] += 1
                            report["dropped_bytes"] += len(data)
                            dropped_sizes[len(data)] += 1
                            continue
                        if (report["relayed_short_min"] is None or
                                len(data) < report["relayed_short_min"]):
                            report["relayed_short_min"] = len(data)
                    send(c, data, client)
    except Stop:
        pass
    report["dropped_sizes"] = {str(k): v for k, v in sorted(dropped_sizes.items())}
    json.dump(report, sys.stdout)
    print(flush=True)


if __name__ == "__main__":
    main()
