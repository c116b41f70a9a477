#!/usr/bin/env python3
"""The cross-lcore path on every run, not by chance: the test learns which
worker each client source port hashes to (af_packet's fanout hash is the
rig's RSS and is stable for a 4-tuple) and, for each run, picks a NAT port
P1 that lands on worker a (which accepts the connection and owns it) and a
port P2 that lands on worker b != a; in the middle of an 8 MiB download the
NAT rebinds from P1 to P2 (nat.py). From then on every packet of the client
arrives on b and must be forwarded to a.

Every ordered pair (a, b) of the 4 workers is used, once over IPv4 and once
over IPv6 (24 runs), so every worker is both an owner and a forwarder.
Checked on each run: the download completes with the right bytes; worker a
accepted the connection and counted the path change; worker b handled
nothing itself and forwarded every QUIC datagram it received to a (steering
row b, column a), and a's quic_forwarded_in is exactly that; no other
worker saw the connection; no stateless reset, no forward dropped."""
import itertools
import time

from h3 import Site, check_body, check_clean_exit, check_ok
from nat import (SERVER_CONFIG, PortMap, add_file, limit_download,
                 rebinding_run)
from rig import Rig, check, check_eq, delta, main, matrix_delta, temp_dir, total

WORKERS = 4
BIG, BIG_SIZE = "8m.bin", 8 << 20
REBIND_AT = 1 << 20
PATHS = ["/hello.txt", f"/{BIG}", "/1k.bin", "/index.html", "/1m.bin"]
PORT_BASE = {4: 22000, 6: 23000}
PORTS = 96              # per family: enough for 12 ports on each worker


def plan(maps):
    """[(family, p1, a, p2, b)] for every ordered pair (a, b), a != b."""
    runs = []
    for family in (4, 6):
        by_worker = maps[family].by_worker(
            range(PORT_BASE[family], PORT_BASE[family] + PORTS))
        need = 2 * (WORKERS - 1)    # each worker: 3 times owner, 3 times forwarder
        check(all(len(by_worker.get(w, [])) >= need for w in range(WORKERS)),
              f"IPv{family}: {PORTS} ports spread too unevenly over the workers "
              f"(need {need} on each): { {w: len(p) for w, p in by_worker.items()} }")
        free = {w: list(by_worker[w]) for w in range(WORKERS)}
        for a, b in itertools.permutations(range(WORKERS), 2):
            runs.append((family, free[a].pop(0), a, free[b].pop(0), b))
    return runs


def check_run(what, d, m, a, b):
    check_eq([w for w in d if d[w]["quic_conn_accepted"]], [a],
             f"{what}: workers that accepted the connection")
    check(d[a]["quic_path_migrations"] >= 1,
          f"{what}: the owner counted no path change: {d[a]}")
    check(d[b]["quic_rx"] > 0, f"{what}: worker {b} received nothing after the rebinding")
    check_eq(d[b]["quic_local"], 0, f"{what}: datagrams worker {b} handled itself")
    check_eq(d[b]["quic_forwarded_out"], d[b]["quic_rx"],
             f"{what}: worker {b} forwards every QUIC datagram it receives")
    check_eq(m[b][a], d[b]["quic_forwarded_out"],
             f"{what}: steering row {b} column {a} (matrix {m})")
    check_eq(sum(map(sum, m)), m[b][a], f"{what}: forwards elsewhere (matrix {m})")
    check_eq(d[a]["quic_forwarded_in"], m[b][a], f"{what}: the owner's quic_forwarded_in")
    for w in range(WORKERS):
        if w not in (a, b):
            check_eq(d[w]["quic_rx"], 0, f"{what}: QUIC datagrams on worker {w}")
    check_eq(total(d, "quic_stateless_resets_sent"), 0, f"{what}: stateless resets")
    check_eq(total(d, "quic_forward_dropped"), 0, f"{what}: quic_forward_dropped")
    check_eq(total(d, "h3_responses_2xx"), len(PATHS), f"{what}: h3_responses_2xx")


def test():
    with temp_dir("migdet") as tmp:
        site = Site(tmp)
        add_file(site, BIG, BIG_SIZE)
        with Rig("migdet", workers=WORKERS, config=SERVER_CONFIG,
                 app_args=site.server_args()) as rig:
            maps = {4: PortMap(rig, 4), 6: PortMap(rig, 6)}
            runs = plan(maps)
            for pm in maps.values():
                pm.close()
            limit_download(rig)

            start = time.monotonic()
            before = rig.wait_quiet(timeout=5)
            m_before = rig.steering()
            for i, (family, p1, a, p2, b) in enumerate(runs):
                what = f"run {i} (IPv{family}, owner {a} via :{p1}, then :{p2} on worker {b})"
                bc, mb = rig.counters(), rig.steering()
                r, info = rebinding_run(rig, PATHS, tmp / f"run{i}", BIG, REBIND_AT,
                                        p1, p2, family)
                check_ok(r, what)
                for p in PATHS:
                    check_body(r, p[1:], site.sha(p[1:]), f"{what}: {p}")
                check_eq(info.deleted, 1, f"{what}: NAT mappings deleted at the rebinding")
                check(info.after < BIG_SIZE,
                      f"{what}: {BIG} was complete when the rebinding was done ({info})")
                # the client has exited: every datagram it sent has arrived
                d = delta(bc, rig.wait_quiet(timeout=5, interval=0.1))
                m = matrix_delta(mb, rig.steering())
                check_run(what, d, m, a, b)
                print(f"{what}: ok in {r.seconds:.2f} s, rebinding {info}; worker {b} "
                      f"forwarded {m[b][a]} datagrams to {a}")

            elapsed = time.monotonic() - start
            d = delta(before, rig.wait_quiet(timeout=5))
            m = matrix_delta(m_before, rig.steering())
            print(f"{len(runs)} runs in {elapsed:.1f} s: quic_forwarded_in "
                  f"{[d[w]['quic_forwarded_in'] for w in range(WORKERS)]}, "
                  f"quic_path_migrations {total(d, 'quic_path_migrations')}, steering {m}")
            for a, b in itertools.permutations(range(WORKERS), 2):
                check(m[b][a] > 0, f"steering row {b} column {a} stayed 0: {m}")
            check_eq(total(d, "quic_stateless_resets_sent"), 0, "quic_stateless_resets_sent")

            rc, out = rig.stop()
            check_clean_exit(rig, rc, out)


if __name__ == "__main__":
    main(test)
