#!/usr/bin/env python3
"""quicsteer-load against quicsteer (af_packet, 4 workers, the integration
rig): -c 8 -n 400 -m 4 --rebind-every 10 on /bytes/1000. Every NAT
rebinding gives a connection a new 4-tuple, which the kernel's fanout hash
sends to some worker's queue; CID steering hands the packets to the owner.
Every request completes, the moves are counted, the owners took forwarded
packets (quic_forwarded_in > 0) and no stateless reset was sent. Active
migration (--migrate) the same.

Then --resume with one request per connection: each new connection
resumes with its request in 0-RTT, and its response comes with the
server's first flight. The server sees every handshake complete (the
client sends its Finished before it closes), resumed and with 0-RTT
accepted, no Retry, and no connection is left. quicsteer then stops
cleanly (exit 0, no sanitizer report)."""
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

            before = rig.counters()
            what, n = "quicsteer, --resume --conn-requests 1", 200
            r = run_load(rig.client_ns, ["--ca", cert, "-c", C, "-n", n, "--conn-requests", 1,
                                         "--resume", f"https://{SERVER_V4}:{rig.port}{PATH}"],
                         timeout=120, json_report=True)
            rep = r.report
            print(f"{what}: {summary(rep)}; resumed {rep['resumed']}, 0-RTT accepted "
                  f"{rep['early_data_accepted']}")
            check_all_completed(r, n, what)
            conns = rep["connections"]["started"]
            d = delta(before, rig.wait_counters(
                lambda s: total(delta(before, s), "quic_conn_active") == 0, 15))
            server = {k: total(d, k) for k in (
                "quic_conn_accepted", "quic_handshakes_completed", "quic_sessions_resumed",
                "quic_0rtt_accepted", "quic_retries_sent", "quic_conn_active")}
            print(f"{what}: server: {server}")
            check_eq(server["quic_conn_accepted"], conns, f"{what}: connections accepted")
            check_eq(server["quic_handshakes_completed"], conns,
                     f"{what}: handshakes the server saw complete")
            check_eq(server["quic_sessions_resumed"], rep["resumed"], f"{what}: resumed")
            check_eq(server["quic_0rtt_accepted"], rep["early_data_accepted"],
                     f"{what}: 0-RTT accepted")
            check(rep["early_data_accepted"] >= conns - C,
                  f"{what}: 0-RTT accepted on {rep['early_data_accepted']} of {conns}")
            check_eq(server["quic_retries_sent"], 0, f"{what}: Retries sent")
            check_eq(server["quic_conn_active"], 0, f"{what}: connections left")
            check_server_exit(rig)


if __name__ == "__main__":
    main(test)
