#!/usr/bin/env python3
"""A server whose ACKs do not come: quicsteer-load counts a request when
its response has ended, not when the peer has acknowledged the request.

gtlsserver (--ack-thresh 100: it never acknowledges at once, only after
its ACK delay) sits behind tests/tools/ack_withholding_proxy.py in the
client namespace, which delays the client's datagrams by 20 ms (so the
server's ACK delay, min(25 ms, RTT / 8), has every response leave before
the ACK of its request) and drops the server's short-header datagrams
under 64 bytes: its ACK-only packets. A client that frees a stream slot
only when the stream closes (which needs that ACK) stalls after the first
request until its idle timeout.

Asserted, for -c 1 -m 1 -n 20 and for -c 1 -m 4 -n 40: every request
completed, none failed, the body bytes add up, the run took well under
the idle timeout, and the proxy really dropped ACK-only datagrams.
"""
import json
import select
import subprocess
import sys

from loadlib import (CLIENT_V4, FILES, LOAD_IDLE, PORT, SERVER_V4, Net, Site,
                     TestFailure, check, check_all_completed, check_eq,
                     die_with_parent, main, summary, url)
from rig import TOOLS

PROXY_PORT = 5443
PROXY_READY = 10.0
PROXY_SECONDS = 60
DELAY_MS = 20
ACK_ONLY_BELOW = 64
# (connections, streams per connection, requests); one connection: the
# proxy relays for one client address
RUNS = [(1, 1, 20), (1, 4, 40)]


def start_proxy(net):
    proxy = net.track(subprocess.Popen(
        ["ip", "netns", "exec", net.client_ns, sys.executable,
         str(TOOLS / "ack_withholding_proxy.py"),
         "--listen", f"{CLIENT_V4}:{PROXY_PORT}", "--server", f"{SERVER_V4}:{PORT}",
         "--seconds", str(PROXY_SECONDS), "--delay-ms", str(DELAY_MS),
         "--drop-below", str(ACK_ONLY_BELOW)],
        stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
        preexec_fn=die_with_parent))
    ready, _, _ = select.select([proxy.stdout], [], [], PROXY_READY)
    check(ready and proxy.stdout.readline().strip() == "listening",
          f"ack_withholding_proxy.py not listening within {PROXY_READY} s")
    return proxy


def proxy_report(proxy):
    proxy.terminate()
    try:
        out, _ = proxy.communicate(timeout=10)
        return json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError, subprocess.TimeoutExpired) as e:
        raise TestFailure(f"ack_withholding_proxy.py gave no report: {e}") from e


def test():
    with Net("ackwh") as net:
        site = Site(net.tmp)
        net.start_gtlsserver(site, args=["--ack-thresh", "100"])
        for conns, streams, requests in RUNS:
            what = f"-c {conns} -m {streams} -n {requests}"
            proxy = start_proxy(net)
            r = net.load(["--ca", site.cert, "--connect-to", f"{CLIENT_V4}:{PROXY_PORT}",
                          "-c", conns, "-m", streams, "-n", requests, url("/1k.bin")],
                         json_report=True)
            relay = proxy_report(proxy)
            print(f"{what}: {summary(r.report)}")
            print(f"relay: {relay}")
            check_all_completed(r, requests, what)
            check_eq(r.report["bytes"]["body"], requests * FILES["1k.bin"],
                     f"{what}: body bytes")
            check_eq(r.report["latency_us"]["request"]["count"], requests,
                     f"{what}: request latency samples")
            # a stalled request would hold the run until the idle timeout
            check(r.seconds < float(LOAD_IDLE),
                  f"{what}: took {r.seconds:.2f} s, the idle timeout is {LOAD_IDLE} s")
            check(relay["dropped"] > 0,
                  f"{what}: the proxy dropped no ACK-only datagram, nothing was "
                  f"tested: {relay}")


if __name__ == "__main__":
    main(test)
