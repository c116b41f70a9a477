#!/usr/bin/env python3
"""SIGTERM stops quicsteer gracefully (GOAWAY, in-flight responses get up to
shutdown_timeout_ms, then CONNECTION_CLOSE, exit 0).

1. Downloads in flight that can finish within shutdown_timeout_ms finish,
   byte for byte; quicsteer exits 0 soon after the last one, without
   waiting out the timeout. New connections during the stop are refused at
   once (CONNECTION_REFUSED), not left unanswered.
2. A download that cannot finish keeps flowing until shutdown_timeout_ms,
   then the client is told (CONNECTION_CLOSE) and ends right away, with a
   correct prefix of the body; quicsteer exits 0 within shutdown_timeout_ms
   and a few seconds."""
import signal
import time

from h3 import (Client, Site, bytes_sha, check_body, check_clean_exit, check_ok,
                is_bytes_prefix, wait_until)
from rig import Rig, check, main, temp_dir

GRACE_LONG_MS = 30000
GRACE_SHORT_MS = 2000
SLACK_S = 4.0           # exit after the deadline: close, flush, EAL cleanup
NEW_CLIENTS = 16        # enough that some land on every worker
REFUSE_MS = 1000        # before the client's first Initial retransmission
INFLIGHT = [  # (paths, family)
    (["/20m.bin", "/bytes/300000000"], 4),
    (["/bytes/200000000"], 6),
    (["/20m.bin", "/1m.bin"], 4),
]
HUGE = 100_000_000_000  # cannot finish in GRACE_SHORT_MS


def size_of(path):
    return path.stat().st_size if path.exists() else 0


def check_expected(r, paths, site, what):
    for p in paths:
        name = p.rsplit("/", 1)[1]
        if p.startswith("/bytes/"):
            n = int(name)
            got = size_of(r.file(name))
            check(got == n, f"{what} {p}: {got} of {n} bytes; {r.describe()}")
            check_body(r, name, bytes_sha(n), f"{what} {p}")
        else:
            check_body(r, name, site.sha(name), f"{what} {p}")


def in_flight_finish(rig, site, tmp):
    clients = [Client(rig, paths, tmp / f"a{i}", family=fam)
               for i, (paths, fam) in enumerate(INFLIGHT)]
    big = [(c, c.download / paths[-1].rsplit("/", 1)[1])
           for c, (paths, _) in zip(clients, INFLIGHT) if paths[-1].startswith("/bytes/")]
    check(wait_until(lambda: all(size_of(f) > 0 for _, f in big), 30),
          "the /bytes downloads did not start within 30 s")
    at_term = {str(f): size_of(f) for _, f in big}
    t0 = time.monotonic()
    rig.proc.send_signal(signal.SIGTERM)

    # new connections while stopping: refused at once
    newcomers = [Client(rig, ["/1k.bin"], tmp / f"new{i}", quiet=False)
                 for i in range(NEW_CLIENTS)]

    results = [c.wait(120) for c in clients]
    last_client = time.monotonic()
    rc, out = rig.wait_exit(GRACE_LONG_MS / 1000 + SLACK_S)
    exited = time.monotonic()
    print(f"SIGTERM with {len(clients)} downloads in flight (bytes so far {at_term}); "
          f"last finished {last_client - t0:.2f} s later, quicsteer exited "
          f"{exited - t0:.2f} s after SIGTERM")

    for i, ((paths, _), r) in enumerate(zip(INFLIGHT, results)):
        check_ok(r, f"in-flight client {i}")
        check_expected(r, paths, site, f"in-flight client {i}")
    check(any(n < 100_000_000 for n in at_term.values()),
          f"nothing was in flight at SIGTERM: {at_term}")
    check_clean_exit(rig, rc, out)
    check(exited - last_client < SLACK_S,
          f"quicsteer exited {exited - last_client:.2f} s after the last response "
          f"finished: it should not wait out shutdown_timeout_ms ({GRACE_LONG_MS} ms) "
          f"once nothing is in flight")

    refused, unanswered, answer_ms = 0, [], []
    for i, c in enumerate(newcomers):
        r = c.wait(30)
        close = r.close_received()
        if (close is not None and close[1].startswith("CONNECTION_REFUSED") and
                close[0] <= REFUSE_MS and not r.timed_out):
            refused += 1
            answer_ms.append(close[0])
        else:
            unanswered.append(f"client {i}: close received {close}; {r.describe()}")
        check(size_of(r.file("1k.bin")) == 0,
              f"client {i} that connected after SIGTERM got a body")
    print(f"{refused} of {NEW_CLIENTS} connections attempted during the stop refused, "
          f"after {answer_ms} ms")
    check(not unanswered,
          f"{len(unanswered)} of {NEW_CLIENTS} connections attempted during the stop "
          f"were not refused promptly (CONNECTION_REFUSED within {REFUSE_MS} ms of "
          f"the client's first Initial):\n" + "\n".join(unanswered[:2]))


def deadline_close(rig, site, tmp):
    rig.start(workers=4, config=f"""[quic]
shutdown_timeout_ms = {GRACE_SHORT_MS}
[http]
bytes_max = {HUGE}
""", app_args=site.server_args())
    c = Client(rig, [f"/bytes/{HUGE}"], tmp / "b")
    f = c.download / str(HUGE)
    check(wait_until(lambda: size_of(f) > 0, 30), "the download did not start within 30 s")
    at_term = size_of(f)
    t0 = time.monotonic()
    rig.proc.send_signal(signal.SIGTERM)
    r = c.wait(GRACE_SHORT_MS / 1000 + 20)
    client_end = time.monotonic() - t0
    rc, out = rig.wait_exit(GRACE_SHORT_MS / 1000 + SLACK_S)
    exited = time.monotonic() - t0
    got = size_of(f)
    print(f"SIGTERM at {at_term} bytes; the client ended {client_end:.2f} s later with "
          f"{got} bytes; quicsteer exited {exited:.2f} s after SIGTERM")

    check(not r.timed_out, f"client still running {client_end:.0f} s after SIGTERM: "
                           f"{r.describe()}")
    check("ERR_DRAINING" in r.out,
          f"the client did not see the server close the connection: {r.describe()}")
    check(client_end < GRACE_SHORT_MS / 1000 + SLACK_S,
          f"the client ended {client_end:.2f} s after SIGTERM, not at "
          f"shutdown_timeout_ms ({GRACE_SHORT_MS} ms): {r.describe()}")
    check(got > at_term, f"the response stopped at SIGTERM ({at_term} bytes then, {got} "
                         f"at the end): in-flight responses should go on until "
                         f"shutdown_timeout_ms")
    check(got < HUGE, "the huge download completed?")
    check(is_bytes_prefix(f), "the truncated body is not a prefix of the /bytes pattern")
    check_clean_exit(rig, rc, out)
    check(exited < GRACE_SHORT_MS / 1000 + SLACK_S,
          f"quicsteer exited {exited:.2f} s after SIGTERM (shutdown_timeout_ms "
          f"{GRACE_SHORT_MS})")


def test():
    with temp_dir("h3stop") as tmp:
        site = Site(tmp)
        with Rig("h3stop", workers=4, start=False) as rig:
            # the deadline case first: the other one also checks refusals
            deadline_close(rig, site, tmp)
            rig.start(workers=4, config=f"""[quic]
shutdown_timeout_ms = {GRACE_LONG_MS}
""", app_args=site.server_args())
            in_flight_finish(rig, site, tmp)


if __name__ == "__main__":
    main(test)
