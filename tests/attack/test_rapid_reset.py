#!/usr/bin/env python3
"""Rapid reset (issue 9, defect 11; CVE-2023-44487's pattern over HTTP/3):
an attacker (quicsteer-load --rapid-reset) opens request streams and resets
each as soon as its request is out, 5000 a second on its connection,
reconnecting whenever the server closes it (each connection lives about
40 ms, then quicsteer-load waits 100 ms: some 1400 streams a second on
average), while normal clients (quicsteer-load -D) load the server.

In one quicsteer run, the normal clients' request rate is measured in
runs that alternate: alone, with the attacker, alone, with the attacker,
alone (each PHASE_S; alternating evens out whatever else the 2-CPU
machine runs meanwhile). Asserted:

- the attacker's connections are all closed by the server with
  H3_EXCESSIVE_LOAD (0x107), as quicsteer-load reports the peer's close
  error, after it reset more than stream_resets_max streams;
- quic_conn_closed_abuse moved by the number of attacker connections the
  attacker saw closed by the server, plus at most those it still had open
  when its -D ended (a close that crossed its end); h3_streams_reset_by_peer
  by more than stream_resets_max;
- the normal clients' rate with the attacker (mean of its runs) is at
  most 20 % below their rate without it (mean of the runs alone; a higher
  rate while attacked is the machine's noise, not a failure), and none of their
  requests failed.
"""
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))

from h3 import make_cert  # noqa: E402
from rig import (SERVER_V4, Rig, TestFailure, binary, check, check_eq, delta,  # noqa: E402
                 main, temp_dir, total)

# One worker lcore that polls without sleeping on CPU 1 (the main lcore on
# CPU 0), every client pinned to CPU 0: the deployment of README's "one core
# per worker, idle_sleep_us = 0", and the one where the normal clients'
# rate is steady enough to compare (4 % between runs; with 2 workers
# sleeping when idle on the 2 CPUs the clients share, 30 to 50 %)
WORKERS = 1
CONFIG = """[dataplane]
idle_sleep_us = 0
"""
CLIENT_CPU = "0"
RESETS_MAX = 200             # [quic] stream_resets_max, the default
PHASE_S = 3                  # each normal clients' run
ATTACKED_RUNS = 2            # alone, attacked, alone, attacked, alone
# four users, one request at a time each (with -m 4 the rate varies by
# 40 % between runs even so)
NORMAL = ["-c", "4", "-m", "1"]
NORMAL_PATH = "/bytes/1000"
ATTACK_RATE = 5000           # streams opened and reset a second, per connection
ATTACK_LEAD = 1.0            # the attacker starts this long before the measured run
TOLERANCE = 0.20
H3_EXCESSIVE_LOAD = 0x107


def load_argv(rig, cert, *args):
    return ["taskset", "-c", CLIENT_CPU,
            binary("QUICSTEER_LOAD", "app/quicsteer-load/quicsteer-load"), "--ca", cert,
            "--timeout", "5", "--json", *map(str, args),
            f"https://{SERVER_V4}:{rig.port}{NORMAL_PATH}"]


def parse(what, out, err):
    try:
        return json.loads(out)
    except ValueError as e:
        raise TestFailure(f"{what}: quicsteer-load gave no JSON: {out[-500:]!r} "
                          f"{err[-1500:]}") from e


def normal_run(rig, cert, what):
    r = rig.run_in_client(load_argv(rig, cert, *NORMAL, "-D", PHASE_S),
                          timeout=PHASE_S + 20, check_rc=False)
    rep = parse(what, r.stdout, r.stderr)
    req = rep["requests"]
    print(f"{what}: {rep['requests_per_s']:.0f} req/s ({req['completed']} completed, "
          f"{req['failed']} failed in {rep['elapsed_s']:.2f} s; request p50 "
          f"{rep['latency_us']['request']['p50']} us, p99 "
          f"{rep['latency_us']['request']['p99']} us)")
    check(r.returncode == 0 and req["failed"] == 0 and rep["connections"]["failed"] == 0,
          f"{what}: the normal clients failed: exit {r.returncode}, {rep['errors']} "
          f"{rep['error_examples']}")
    return rep["requests_per_s"]


def test():
    with temp_dir("rreset") as tmp:
        cert, key = make_cert(tmp)
        with Rig("rreset", workers=WORKERS, config=CONFIG,
                 app_args=["--cert", str(cert), "--key", str(key)]) as rig:
            normal_run(rig, cert, "warm-up")
            alone = [normal_run(rig, cert, "normal clients alone")]
            attacked, reports = [], []
            before = rig.counters()
            for i in range(ATTACKED_RUNS):
                attacker = rig.popen_in("client", load_argv(
                    rig, cert, "-c", 1, "-D", PHASE_S + ATTACK_LEAD + 0.5,
                    "--rapid-reset", ATTACK_RATE),
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                time.sleep(ATTACK_LEAD)
                check(attacker.poll() is None,
                      f"the attacker exited at once ({attacker.returncode}): "
                      f"{attacker.communicate()}")
                attacked.append(normal_run(rig, cert, "normal clients with the attacker"))
                try:
                    out, err = attacker.communicate(timeout=20)
                except subprocess.TimeoutExpired as e:
                    raise TestFailure("the attacker did not end within 20 s of its -D") from e
                reports.append(parse("attacker", out, err))
                reports[-1]["exit"] = attacker.returncode
                if i == ATTACKED_RUNS - 1:
                    after = rig.wait_quiet(timeout=5)
                alone.append(normal_run(rig, cert, "normal clients alone"))

            streams = sum(a["rapid_reset"]["streams"] for a in reports)
            elapsed = sum(a["elapsed_s"] for a in reports)
            closed = sum(a["peer_closes"]["count"] for a in reports)
            failed = sum(a["connections"]["failed"] for a in reports)
            started = sum(a["connections"]["started"] for a in reports)
            codes = [c for a in reports for c in a["peer_closes"]["codes"]]
            print(f"attacker: {streams} streams opened and reset in {elapsed:.2f} s "
                  f"({streams / elapsed:.0f}/s), {started} connections, {failed} failed; "
                  f"closed by the server: {codes}; first error: "
                  f"{reports[0]['error_examples']}")
            d = delta(before, after)
            abuse = total(d, "quic_conn_closed_abuse")
            resets = total(d, "h3_streams_reset_by_peer")
            print(f"server: quic_conn_closed_abuse +{abuse}, h3_streams_reset_by_peer "
                  f"+{resets}, h3_requests +{total(d, 'h3_requests')}")

            for a in reports:
                check(a["peer_closes"]["count"] >= 1,
                      f"the server closed no connection of an attacker: {a}")
                check_eq(a["peer_closes"]["other"], 0, "attacker closes with other codes")
                check_eq(a["exit"], 1, "attacker exit code (1: the server closed it)")
            for c in codes:
                check(c["type"] == "application" and c["code"] == H3_EXCESSIVE_LOAD,
                      f"an attacker connection was closed with {c['type']} error "
                      f"{c['code']:#x} {c['name']}, not H3_EXCESSIVE_LOAD (0x107): {codes}")
            check_eq(failed, closed, "attacker connections that failed vs closed by the server")
            check(streams > RESETS_MAX, f"the attacker reset only {streams} streams")
            # the server may close a connection for abuse as the attacker's
            # -D ends: counted here, while the client, gone, never saw it
            # (at most the connections still open at its end)
            open_at_end = started - failed
            check(closed <= abuse <= closed + open_at_end,
                  f"quic_conn_closed_abuse +{abuse}: the attacker saw {closed} "
                  f"connections closed by the server and had {open_at_end} open "
                  f"at its end")
            check(resets > RESETS_MAX, f"h3_streams_reset_by_peer moved by only {resets}")

            mean_alone = sum(alone) / len(alone)
            mean_attacked = sum(attacked) / len(attacked)
            ratio = mean_attacked / mean_alone
            print(f"normal clients' rate: alone {[round(x) for x in alone]} req/s "
                  f"(mean {mean_alone:.0f}), with the attacker "
                  f"{[round(x) for x in attacked]} req/s (mean {mean_attacked:.0f}): "
                  f"{ratio:.1%} of the rate alone")
            # the attacker must not slow them: faster while attacked is the
            # machine's noise (other load comes and goes between runs)
            check(ratio >= 1 - TOLERANCE,
                  f"the normal clients' rate with the attacker ({mean_attacked:.0f} req/s) "
                  f"is more than {TOLERANCE:.0%} below their rate alone ({mean_alone:.0f} "
                  f"req/s)")

            rc, _ = rig.stop()
            check_eq(rc, 0, "quicsteer exit code after SIGTERM")


if __name__ == "__main__":
    main(test)
