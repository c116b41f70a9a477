#!/usr/bin/env python3
"""NAT rebinding in the middle of a download, with 4 worker lcores on 2
CPUs (run-to-completion, af_packet qpairs=4: the kernel's fanout hash plays
RSS). A real NAT in the client namespace (nft snat + conntrack, nat.py)
maps the client to source port P1, then, while an 8 MiB response is
arriving, to P2: the server sees the client's port change, and when P2
hashes to another queue than P1 the client's packets arrive on a worker
that does not own the connection. They must reach the owner (CID steering)
and the download must go on: no stateless reset, the right bytes.

40 runs, each with its own P1 and P2 (no choice of ports: the fanout hash
decides whether a run crosses workers), every fifth over IPv6. Each run
downloads hello.txt, then 8m.bin (rebinding when 1 MiB has arrived), then
1k.bin, index.html and 1m.bin, one request at a time, so requests are in
flight before the change and sent after it.

Why not gtlsclient --nat-rebinding: after its simulated rebinding it keeps
its old socket open and ignores the server's packets arriving there
("ignore packet from unknown path"), so a download in progress stalls until
its idle timeout, against any server (Debian's gtlsserver too). A real NAT
keeps the client's socket and changes only what the server sees."""
import time

from h3 import Site, check_body, check_clean_exit, check_ok
from nat import (SERVER_CONFIG, PortMap, add_file, limit_download,
                 rebinding_run)
from rig import Rig, check, check_eq, delta, main, matrix_delta, temp_dir, total

WORKERS = 4
RUNS = 40
IPV6_EVERY = 5
BIG, BIG_SIZE = "8m.bin", 8 << 20
REBIND_AT = 1 << 20
PATHS = ["/hello.txt", f"/{BIG}", "/1k.bin", "/index.html", "/1m.bin"]
PORT_BASE = 20000       # P1 = base + 2i, P2 = base + 2i + 1: all distinct
# 8 MiB take 1.3 s: the NAT's rebinding (nft and conntrack, two processes)
# lands mid-transfer even on a loaded machine (a virtio_user run has a
# vSwitch busy-polling one of the 2 CPUs)
LINK_RATE = "50mbit"


def test():
    with temp_dir("migrb") as tmp:
        site = Site(tmp)
        add_file(site, BIG, BIG_SIZE)
        with Rig("migrb", workers=WORKERS, config=SERVER_CONFIG,
                 app_args=site.server_args()) as rig:
            runs = [(6 if i % IPV6_EVERY == IPV6_EVERY - 1 else 4,
                     PORT_BASE + 2 * i, PORT_BASE + 2 * i + 1) for i in range(RUNS)]
            maps = {4: PortMap(rig, 4), 6: PortMap(rig, 6)}
            for family, p1, p2 in runs:
                maps[family].learn([p1, p2])
            for pm in maps.values():
                pm.close()
            limit_download(rig, rate=LINK_RATE)

            start = time.monotonic()
            before = rig.wait_quiet(timeout=5)
            m_before = rig.steering()
            crossing = 0
            for i, (family, p1, p2) in enumerate(runs):
                w1, w2 = maps[family].worker(p1), maps[family].worker(p2)
                what = f"run {i} (IPv{family}, :{p1} on worker {w1} -> :{p2} on worker {w2})"
                b, mb = rig.counters(), rig.steering()
                r, info = rebinding_run(rig, PATHS, tmp / f"run{i}", BIG, REBIND_AT,
                                        p1, p2, family)
                check_ok(r, what)
                for p in PATHS:
                    check_body(r, p[1:], site.sha(p[1:]), f"{what}: {p}")
                check_eq(info.deleted, 1, f"{what}: NAT mappings deleted at the rebinding")
                check(info.after < BIG_SIZE,
                      f"{what}: {BIG} was complete when the rebinding was done ({info}): "
                      f"not mid-transfer")
                d = delta(b, rig.wait_counters(
                    lambda s: total(delta(b, s), "h3_responses_2xx") >= len(PATHS)))
                m = matrix_delta(mb, rig.steering())
                accepted = [w for w in d if d[w]["quic_conn_accepted"]]
                check_eq(accepted, [w1], f"{what}: workers that accepted the connection")
                check(d[w1]["quic_path_migrations"] >= 1,
                      f"{what}: the owner counted no path change: {d[w1]}")
                check_eq(total(d, "quic_stateless_resets_sent"), 0, f"{what}: stateless resets")
                check_eq(total(d, "h3_responses_2xx"), len(PATHS), f"{what}: h3_responses_2xx")
                if w2 != w1:
                    crossing += 1
                    check(m[w2][w1] > 0 and d[w1]["quic_forwarded_in"] > 0,
                          f"{what}: nothing forwarded from worker {w2} to the owner: "
                          f"matrix {m}")
                print(f"{what}: ok in {r.seconds:.2f} s, rebinding {info}, "
                      f"{m[w2][w1] if w2 != w1 else 0} datagrams forwarded to the owner")

            elapsed = time.monotonic() - start
            d = delta(before, rig.wait_quiet(timeout=5))
            m = matrix_delta(m_before, rig.steering())
            fwd, mig = total(d, "quic_forwarded_in"), total(d, "quic_path_migrations")
            resets = total(d, "quic_stateless_resets_sent")
            print(f"{RUNS} runs in {elapsed:.1f} s, {crossing} crossed workers: "
                  f"quic_forwarded_in {fwd}, quic_path_migrations {mig}, "
                  f"quic_stateless_resets_sent {resets}, "
                  f"quic_drop_pn_guard {total(d, 'quic_drop_pn_guard')}, steering {m}")
            check(crossing >= 1, f"no run's P2 hashed to another worker than its P1: "
                                 f"ports {maps[4].known} {maps[6].known}")
            check(fwd > 0, "quic_forwarded_in did not move")
            check_eq(fwd, sum(map(sum, m)), "quic_forwarded_in vs the steering matrix")
            check(mig >= RUNS, f"quic_path_migrations {mig}: fewer than the {RUNS} rebindings")
            check_eq(resets, 0, "quic_stateless_resets_sent")
            check_eq(total(d, "quic_forward_dropped"), 0, "quic_forward_dropped")
            check_eq(total(d, "quic_conn_accepted"), RUNS, "quic_conn_accepted")

            rc, out = rig.stop()
            check_clean_exit(rig, rc, out)


if __name__ == "__main__":
    main(test)
