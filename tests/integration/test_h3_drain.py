#!/usr/bin/env python3
"""Drain (before a node leaves a fleet): GOAWAY on every connection, what is
in flight finishes, new connections are refused, each connection is closed
once it is done, and the node runs on until it is stopped.

1. SIGUSR1 with downloads in flight and an idle connection open: the
   downloads finish byte for byte; the idle connection is closed by the
   server (CONNECTION_CLOSE with H3_NO_ERROR) without waiting for its idle
   timeout; connections attempted meanwhile are refused at once;
   /quicsteer/drain goes from draining with connections left to drained
   with none, and the log says so; quicsteer still answers afterwards and
   exits 0 on SIGTERM.
2. The other two ways in: `/quicsteer/drain,start` (telemetry; any other
   parameter is refused and starts nothing) and the CLI's `drain` and
   `show drain`."""
import signal
import time

from h3 import Client, Site, bytes_sha, check_body, check_clean_exit, check_ok, wait_until
from rig import Rig, check, check_eq, main, temp_dir

GRACE_MS = 30000
NEW_CLIENTS = 8
REFUSE_MS = 1000        # before the client's first Initial retransmission
INFLIGHT = [(["/20m.bin", "/bytes/150000000"], 4), (["/bytes/100000000"], 6)]


def size_of(path):
    return path.stat().st_size if path.exists() else 0


def drain_status(rig):
    st = rig.telemetry("/quicsteer/drain")
    check(isinstance(st, dict) and "draining" in st, f"/quicsteer/drain answered {st}")
    return st


def signal_drain(rig, site, tmp):
    rig.start(workers=4, config=f"[quic]\nshutdown_timeout_ms = {GRACE_MS}\n",
              app_args=site.server_args())
    st = drain_status(rig)
    check(st["draining"] == 0 and st["drained"] == 0,
          f"draining before anything asked for it: {st}")

    clients = [Client(rig, paths, tmp / f"a{i}", family=fam)
               for i, (paths, fam) in enumerate(INFLIGHT)]
    # done with its request, the connection stays open (no exit on close):
    # the server must close it itself once the drain finds it idle
    idle = Client(rig, ["/1k.bin"], tmp / "idle", quiet=False, exit_on_close=False,
                  idle="60s")
    check(wait_until(lambda: size_of(idle.download / "1k.bin") == 1024, 20),
          "the idle client did not get its 1 KiB within 20 s")
    big = [c.download / paths[-1].rsplit("/", 1)[1] for c, (paths, _) in zip(clients, INFLIGHT)]
    check(wait_until(lambda: all(size_of(f) > 0 for f in big), 30),
          "the downloads did not start within 30 s")

    t0 = time.monotonic()
    rig.proc.send_signal(signal.SIGUSR1)
    check(wait_until(lambda: drain_status(rig)["draining"] == 1, 5),
          "SIGUSR1 did not start the drain within 5 s")
    during = drain_status(rig)
    # a download may end before the status is read (a fast server, the
    # 100 MB one): each client still running after it had its connection
    # open then, as had the idle one
    in_flight = sum(c.running() for c in clients)
    newcomers = [Client(rig, ["/1k.bin"], tmp / f"new{i}", quiet=False)
                 for i in range(NEW_CLIENTS)]

    results = [c.wait(120) for c in clients]
    idle_r = idle.wait(30)
    check(wait_until(lambda: drain_status(rig)["drained"] == 1, 20),
          f"not drained 20 s after the last download ended: {drain_status(rig)}")
    drained_s = time.monotonic() - t0
    after = drain_status(rig)
    print(f"SIGUSR1 with {len(clients)} downloads and 1 idle connection open: "
          f"status then {during}; drained after {drained_s:.2f} s: {after}")

    check(in_flight >= 1, "every download ended before the drain's status was read: "
          "nothing was in flight")
    check(during["connections"] >= 1 + in_flight and during["drained"] == 0,
          f"at the drain's start /quicsteer/drain should count the {1 + in_flight} "
          f"open connections (idle, {in_flight} downloading): {during}")
    for i, ((paths, _), r) in enumerate(zip(INFLIGHT, results)):
        check_ok(r, f"in-flight client {i}")
        for p in paths:
            name = p.rsplit("/", 1)[1]
            sha = bytes_sha(int(name)) if p.startswith("/bytes/") else site.sha(name)
            check_body(r, name, sha, f"in-flight client {i} {p}")
    close = idle_r.close_received()
    # gtlsclient names transport errors only: H3_NO_ERROR shows as 0x100
    check(not idle_r.timed_out and close is not None and close[1].endswith("(0x100)"),
          f"the idle connection was not closed by the server with H3_NO_ERROR: "
          f"close {close}; {idle_r.describe()}")
    check_eq(after["connections"], 0, "connections left once drained")

    refused = 0
    for i, c in enumerate(newcomers):
        r = c.wait(30)
        close = r.close_received()
        check(close is not None and close[1].startswith("CONNECTION_REFUSED") and
              close[0] <= REFUSE_MS,
              f"connection {i} attempted during the drain was not refused at once: "
              f"close {close}; {r.describe()}")
        check(size_of(r.file("1k.bin")) == 0, f"connection {i} made during the drain got a body")
        refused += 1
    print(f"{refused} of {NEW_CLIENTS} connections attempted during the drain refused")

    check("drain complete: no connection left" in rig.output(),
          f"no 'drain complete' line in the log:\n{rig.output()[-2000:]}")
    check(rig.alive(), "quicsteer exited after the drain: it should run on until stopped")
    check(rig.counters() is not None, "telemetry does not answer after the drain")
    rig.proc.send_signal(signal.SIGTERM)
    rc, out = rig.wait_exit(10)
    check_clean_exit(rig, rc, out)


def telemetry_and_cli_drain(rig, site):
    rig.start(workers=2, config=f"[quic]\nshutdown_timeout_ms = {GRACE_MS}\n",
              app_args=site.server_args())
    bogus = rig.telemetry("/quicsteer/drain,stat")
    check(not (isinstance(bogus, dict) and bogus.get("draining")),
          f"/quicsteer/drain,stat (a typo) answered {bogus}")
    check_eq(drain_status(rig)["draining"], 0, "draining after a refused parameter")
    started = rig.telemetry("/quicsteer/drain,start")
    check(isinstance(started, dict) and started.get("draining") == 1,
          f"/quicsteer/drain,start answered {started}")
    check(wait_until(lambda: drain_status(rig)["drained"] == 1, 10),
          f"an idle node did not drain within 10 s: {drain_status(rig)}")
    again = rig.telemetry("/quicsteer/drain,start")
    check(again.get("drained") == 1, f"a second start undid the drain: {again}")
    rig.stop()

    rig.start(workers=2, interactive=True, app_args=(*site.server_args(), "-i"))
    rig.send_stdin("show drain\ndrain\n", close=False)
    rig.wait_output("drain complete: no connection left", timeout=10)
    rig.send_stdin("show drain\n", close=False)
    rig.wait_output("drained: no connection left", timeout=10)
    out = rig.output()
    check("not draining: 0 connections" in out, f"`show drain` before `drain`:\n{out[-1500:]}")
    check("drain started" in out, f"`drain` did not say it started:\n{out[-1500:]}")
    rig.send_stdin("quit\n")
    rc, out = rig.wait_exit(10)
    check_clean_exit(rig, rc, out)


def test():
    with temp_dir("h3drain") as tmp:
        site = Site(tmp)
        with Rig("h3drain", start=False) as rig:
            signal_drain(rig, site, tmp)
            telemetry_and_cli_drain(rig, site)


if __name__ == "__main__":
    main(test)
