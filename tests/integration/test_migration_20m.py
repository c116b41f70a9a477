#!/usr/bin/env python3
"""A migration during a 20 MiB download (run-to-completion, 4 workers,
af_packet qpairs=4): the transfer completes and the bytes match.

Three kinds of runs, each downloading hello.txt, 20m.bin and 1k.bin one
request at a time:
- at full speed on the bare veth (~100 MB/s), gtlsclient
  --change-local-addr=50ms (active migration with path validation);
- through a 100 Mbit/s client link, a NAT rebinding at 5 MiB, with P1 and
  P2 chosen by probing on different workers (the owner gets every packet
  after the change from another worker), IPv4 and IPv6;
- through the same link, --change-local-addr=500ms.
No stateless reset, the owner counts the path change."""
from h3 import Site, check_body, check_clean_exit, check_ok
from nat import (SERVER_CONFIG, PortMap, active_migration_run,
                 limit_download, rebinding_run)
from rig import Rig, check, check_eq, delta, main, matrix_delta, temp_dir, total

WORKERS = 4
BIG = "20m.bin"         # h3.FILES
PATHS = ["/hello.txt", f"/{BIG}", "/1k.bin"]
RUNS = 3                # of each kind
REBIND_AT = 5 << 20
PORT_BASE = 25000


def check_common(what, r, info, site, d):
    big_size = site.size(BIG)
    check_ok(r, what)
    for p in PATHS:
        check_body(r, p[1:], site.sha(p[1:]), f"{what}: {p}")
    check(info is not None and info.at < big_size,
          f"{what}: the address did not change while {BIG} arrived ({info})")
    accepted = [w for w in d if d[w]["quic_conn_accepted"]]
    check_eq(len(accepted), 1, f"{what}: workers that accepted the connection")
    owner = accepted[0]
    check(d[owner]["quic_path_migrations"] >= 1,
          f"{what}: the owner counted no path change: {d[owner]}")
    check_eq(total(d, "quic_stateless_resets_sent"), 0, f"{what}: stateless resets")
    check_eq(total(d, "quic_forward_dropped"), 0, f"{what}: quic_forward_dropped")
    check_eq(total(d, "h3_responses_2xx"), len(PATHS), f"{what}: h3_responses_2xx")
    return owner


def test():
    with temp_dir("mig20m") as tmp:
        site = Site(tmp)
        with Rig("mig20m", workers=WORKERS, config=SERVER_CONFIG,
                 app_args=site.server_args()) as rig:
            pm = PortMap(rig, 4), PortMap(rig, 6)
            pairs = []
            for i in range(RUNS):
                family = 6 if i == RUNS - 1 else 4
                by_worker = pm[family == 6].by_worker(
                    range(PORT_BASE + 100 * i, PORT_BASE + 100 * i + 16))
                a = i % WORKERS
                others = [w for w in sorted(by_worker) if w != a]
                check(a in by_worker and others,
                      f"16 ports land on too few workers: {by_worker}")
                b = others[0]
                pairs.append((family, by_worker[a][0], a, by_worker[b][0], b))
            for p in pm:
                p.close()
            before = rig.wait_quiet(timeout=5)
            n = 0

            def one(what, run):
                nonlocal n
                b, mb = rig.counters(), rig.steering()
                r, info = run()
                d = delta(b, rig.wait_quiet(timeout=5, interval=0.1))
                m = matrix_delta(mb, rig.steering())
                owner = check_common(what, r, info, site, d)
                n += 1
                print(f"{what}: ok in {r.seconds:.2f} s, owner {owner}, change {info}, "
                      f"{d[owner]['quic_forwarded_in']} datagrams forwarded to the owner")
                return d, m, owner

            for i in range(RUNS):
                one(f"full speed, run {i}, --change-local-addr=50ms",
                    lambda i=i: active_migration_run(rig, PATHS, tmp / f"fast{i}", BIG,
                                                     "50ms"))
            limit_download(rig)
            for i, (family, p1, a, p2, b) in enumerate(pairs):
                what = f"100 Mbit/s, IPv{family}, NAT :{p1} (worker {a}) -> :{p2} (worker {b})"
                d, m, owner = one(what, lambda i=i, family=family, p1=p1, p2=p2: rebinding_run(
                    rig, PATHS, tmp / f"nat{i}", BIG, REBIND_AT, p1, p2, family))
                check_eq(owner, a, f"{what}: owner")
                check(m[b][a] > 0 and m[b][a] == d[a]["quic_forwarded_in"],
                      f"{what}: steering row {b} column {a}: {m}, owner's quic_forwarded_in "
                      f"{d[a]['quic_forwarded_in']}")
            for i in range(RUNS):
                one(f"100 Mbit/s, run {i}, --change-local-addr=500ms",
                    lambda i=i: active_migration_run(rig, PATHS, tmp / f"slow{i}", BIG,
                                                     "500ms", 6 if i == RUNS - 1 else 4))

            d = delta(before, rig.wait_quiet(timeout=5))
            print(f"{n} runs: quic_forwarded_in {total(d, 'quic_forwarded_in')}, "
                  f"quic_path_migrations {total(d, 'quic_path_migrations')}, "
                  f"quic_stateless_resets_sent {total(d, 'quic_stateless_resets_sent')}")
            check(total(d, "quic_forwarded_in") > 0, "quic_forwarded_in did not move")
            check_eq(total(d, "quic_stateless_resets_sent"), 0, "quic_stateless_resets_sent")

            rc, out = rig.stop()
            check_clean_exit(rig, rc, out)


if __name__ == "__main__":
    main(test)
