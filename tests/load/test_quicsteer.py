#!/usr/bin/env python3
"""quicsteer-load against quicsteer (af_packet, 4 workers, the integration
rig): -c 8 -n 400 -m 4 --rebind-every 10 on /bytes/1000. Every NAT
rebinding gives a connection a new 4-tuple, which the kernel's fanout hash
sends to some worker's queue; CID steering hands the packets to the owner.
Every request completes, the moves are counted, the owners took forwarded
packets (quic_forwarded_in > 0) and no stateless reset was sent. Active
migration (--migrate) the same. quicsteer then stops cleanly (exit 0, no
sanitizer report)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))

from loadlib import (check, check_all_completed, check_eq, check_server_exit,  # noqa: E402
                     main, make_cert, run_load, summary)
from rig import SERVER_V4, Rig, delta, temp_dir, total  # noqa: E402

WORKERS = 4
N, C, M, EVERY = 400, 8, 4, 10
PATH = "/bytes/1000"


def load(rig, cert, extra=()):
    return run_load(rig.client_ns,
                    ["--ca", cert, "-c", C, "-n", N, "-m", M, "--rebind-every", EVERY,
                     *extra, f"https://{SERVER_V4}:{rig.port}{PATH}"],
                    timeout=120, json_report=True)


def settle(rig, before, requests):
    """Counter deltas once the server has answered everything and gone
    quiet (bounded)."""
    rig.wait_counters(lambda s: total(delta(before, s), "h3_responses_2xx") >= requests, 5)
    return delta(before, rig.wait_quiet(timeout=10))


def test():
    with temp_dir("qslqs") as tmp:
        cert, key = make_cert(tmp, "quicsteer")
        with Rig("ldqs", workers=WORKERS, app_args=["--cert", cert, "--key", key]) as rig:
            for mode, extra in (("rebind", ()), ("migrate", ("--migrate",))):
                before = rig.counters()
                r = load(rig, cert, extra)
                rep = r.report
                what = f"quicsteer, {WORKERS} workers, --rebind-every {EVERY} {' '.join(extra)}"
                print(f"{what}: {summary(rep)}")
                check_all_completed(r, N, what)
                check_eq(rep["bytes"]["body"], N * 1000, f"{what}: body bytes")
                mig = rep["migrations"]
                check(mig["done"] >= C * (N // C // EVERY - 1),
                      f"{what}: only {mig['done']} moves: {mig}")
                check_eq(mig["connections_survived"], C, f"{what}: connections survived")

                d = settle(rig, before, N)
                fwd_in = total(d, "quic_forwarded_in")
                resets = total(d, "quic_stateless_resets_sent")
                per_worker = {w: d[w]["quic_forwarded_in"] for w in sorted(d)}
                print(f"{what}: server: quic_forwarded_in {fwd_in} {per_worker}, "
                      f"quic_stateless_resets_sent {resets}, "
                      f"quic_path_migrations {total(d, 'quic_path_migrations')}, "
                      f"h3_responses_2xx {total(d, 'h3_responses_2xx')}")
                check(fwd_in > 0, f"{what}: no packet was forwarded to its owner "
                                  f"(quic_forwarded_in 0): moves did not change workers?")
                check_eq(resets, 0, f"{what}: quic_stateless_resets_sent")
                check_eq(total(d, "h3_responses_2xx"), N, f"{what}: h3_responses_2xx")
                check_eq(total(d, "quic_handshakes_completed"), C,
                         f"{what}: quic_handshakes_completed")
            check_server_exit(rig)


if __name__ == "__main__":
    main(test)
