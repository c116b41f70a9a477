#!/usr/bin/env python3
"""The failure quicsteer exists to fix, seen by the load generator: with
steering off (--steer off, a 4-tuple server), a NAT rebinding sends a
connection's packets to a worker that does not know it, which answers
with a stateless reset. quicsteer-load counts those connections under
"stateless_reset" (from ngtcp2's recv_stateless_reset), not as timeouts,
and the server's quic_stateless_resets_sent agrees."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))

from loadlib import (check, check_eq, check_server_exit, main, make_cert,  # noqa: E402
                     run_load, summary)
from rig import SERVER_V4, Rig, delta, temp_dir, total  # noqa: E402

WORKERS = 4
N, C, M, EVERY = 400, 8, 4, 10


def test():
    with temp_dir("qslns") as tmp:
        cert, key = make_cert(tmp, "quicsteer")
        with Rig("ldns", workers=WORKERS,
                 app_args=["--cert", cert, "--key", key, "--steer", "off"]) as rig:
            before = rig.counters()
            r = run_load(rig.client_ns,
                         ["--ca", cert, "-c", C, "-n", N, "-m", M, "--rebind-every", EVERY,
                          f"https://{SERVER_V4}:{rig.port}/bytes/1000"],
                         timeout=120, json_report=True)
            rep = r.report
            print(f"steer off: {summary(rep)}")
            errors, conns = rep["errors"], rep["connections"]
            check(r.rc != 0, f"steer off: exit 0 although connections died: {r.describe()}")
            check(errors["stateless_reset"] >= 1,
                  f"steer off: no connection was killed by a stateless reset: {errors}")
            check_eq(errors["timeout"], 0, "steer off: connections that timed out")
            check_eq(errors["handshake_failed"], 0, "steer off: handshakes failed")
            check_eq(conns["failed"], errors["stateless_reset"],
                     "steer off: failed connections (all by stateless reset)")
            check_eq(rep["requests"]["completed"] + rep["requests"]["failed"], N,
                     "steer off: completed + failed requests")
            check(rep["migrations"]["connections_survived"] < C,
                  f"steer off: every moved connection survived: {rep['migrations']}")

            d = delta(before, rig.wait_quiet(timeout=10))
            resets = total(d, "quic_stateless_resets_sent")
            print(f"steer off: server sent {resets} stateless resets, forwarded "
                  f"{total(d, 'quic_forwarded_in')}; client saw "
                  f"{errors['stateless_reset']} connections reset")
            check(resets >= errors["stateless_reset"],
                  f"steer off: server sent {resets} resets, the client counted "
                  f"{errors['stateless_reset']} reset connections")
            check_eq(total(d, "quic_forwarded_in"), 0, "steer off: quic_forwarded_in")
            check_server_exit(rig)


if __name__ == "__main__":
    main(test)
