#!/usr/bin/env python3
"""The baseline: with --steer off every worker handles what the fanout hash
(RSS) gives it, as a server that spreads by 4-tuple would. A NAT rebinding
in the middle of a download then moves the client's packets to a worker
that has never heard of the connection, which answers with a stateless
reset: the connection dies. This is the failure quicsteer exists to fix;
the test asserts it, so the comparison with test_migration_rebinding stays
honest.

The ports are chosen by probing: P2 hashes to another worker than P1 in
every run, so each run is meant to break. Asserted: every run that breaks
does so with a stateless reset from P2's worker (not the owner), and at
least one run breaks (the brief's minimum; here all of them do)."""
from h3 import Site, sha256_file
from nat import (SERVER_CONFIG, PortMap, add_file, limit_download,
                 rebinding_run)
from rig import Rig, check, check_eq, delta, main, temp_dir, total

WORKERS = 4
RUNS = 4
BIG, BIG_SIZE = "8m.bin", 8 << 20
REBIND_AT = 1 << 20
PATHS = ["/hello.txt", f"/{BIG}", "/1k.bin", "/index.html", "/1m.bin"]
PORT_BASE = 21000
PORTS = 64


def pick_pairs(by_worker, runs):
    """(p1, w1, p2, w2) with w2 != w1, the owner cycling over the workers."""
    pairs, used = [], set()
    for i in range(runs):
        w1 = i % WORKERS
        w2 = (w1 + 1 + i // WORKERS) % WORKERS
        if w2 == w1:
            w2 = (w1 + 1) % WORKERS
        p1 = next(p for p in by_worker.get(w1, []) if p not in used)
        used.add(p1)
        p2 = next(p for p in by_worker.get(w2, []) if p not in used)
        used.add(p2)
        pairs.append((p1, w1, p2, w2))
    return pairs


def complete(result, site):
    """The client's exit and whether every file arrived with the right bytes."""
    if result.timed_out or result.rc != 0:
        return False
    for p in PATHS:
        f = result.file(p[1:])
        if not f.is_file() or sha256_file(f) != site.sha(p[1:]):
            return False
    return True


def test():
    with temp_dir("migoff") as tmp:
        site = Site(tmp)
        add_file(site, BIG, BIG_SIZE)
        with Rig("migoff", workers=WORKERS, config=SERVER_CONFIG,
                 app_args=site.server_args() + ["--steer", "off"]) as rig:
            pm = PortMap(rig)
            by_worker = pm.by_worker(range(PORT_BASE, PORT_BASE + PORTS))
            pm.close()
            check(all(len(by_worker.get(w, [])) >= 2 * RUNS for w in range(WORKERS)),
                  f"{PORTS} ports spread too unevenly over the workers: {by_worker}")
            limit_download(rig)

            before = rig.wait_quiet(timeout=5)
            broken = 0
            for i, (p1, w1, p2, w2) in enumerate(pick_pairs(by_worker, RUNS)):
                what = f"run {i} (:{p1} on worker {w1} -> :{p2} on worker {w2}, --steer off)"
                b = rig.counters()
                r, info = rebinding_run(rig, PATHS, tmp / f"run{i}", BIG, REBIND_AT,
                                        p1, p2, timeout=30)
                d = delta(b, rig.wait_quiet(timeout=5))
                ok = complete(r, site)
                got = r.file(BIG).stat().st_size if r.file(BIG).is_file() else 0
                accepted = [w for w in d if d[w]["quic_conn_accepted"]]
                check_eq(accepted, [w1], f"{what}: workers that accepted the connection")
                resets = {w: d[w]["quic_stateless_resets_sent"] for w in d
                          if d[w]["quic_stateless_resets_sent"]}
                check_eq(total(d, "quic_forwarded_out"), 0, f"{what}: quic_forwarded_out")
                print(f"{what}: {'completed' if ok else 'BROKEN'} (exit {r.rc}, "
                      f"{r.seconds:.2f} s, {BIG} {got} of {BIG_SIZE} bytes, rebinding {info}), "
                      f"stateless resets by worker {resets}")
                if not ok:
                    broken += 1
                    check(d[w2]["quic_stateless_resets_sent"] > 0,
                          f"{what}: broken, but worker {w2} sent no stateless reset: "
                          f"{resets}; {r.describe()}")
                    check(d[w1]["quic_stateless_resets_sent"] == 0,
                          f"{what}: the owner itself sent a stateless reset")
            d = delta(before, rig.wait_quiet(timeout=5))
            print(f"--steer off: {broken} of {RUNS} runs broken; quic_stateless_resets_sent "
                  f"{total(d, 'quic_stateless_resets_sent')}, quic_forwarded_in "
                  f"{total(d, 'quic_forwarded_in')}")
            check(broken >= 1, "no run was broken by the rebinding with --steer off: "
                               "the baseline does not show the failure")
            check(total(d, "quic_stateless_resets_sent") > 0,
                  "--steer off: no stateless reset was sent")
            check_eq(total(d, "quic_forwarded_in"), 0, "--steer off: quic_forwarded_in")


if __name__ == "__main__":
    main(test)
