#!/usr/bin/env python3
"""Migration in the pipeline layout, for NICs with fewer queues than
workers: af_packet with one queue pair, 4 lcores besides the main one
(1 I/O lcore + 3 workers) on 2 CPUs. The I/O lcore polls the queue and
steers: Initials (client-chosen DCID) to the worker a hash of the 4-tuple
picks, everything else by the CID's owner; workers send through it.

12 runs with a NAT rebinding (nat.py) and 12 with an active migration
(gtlsclient --change-local-addr) in the middle of an 8 MiB download, then
1k.bin, index.html and 1m.bin. Checked: every run completes with the right
bytes and no stateless reset; the owner counts the path change and took
every one of the connection's datagrams from its inbox, all from the I/O
lcore; over the runs, connections were accepted by more than one worker (the
4-tuple hash spreads them); telemetry names the I/O lcore "io0" in
/quicsteer/lcores and /quicsteer/steering."""
import time

from h3 import Site, check_body, check_clean_exit, check_ok
from nat import (SERVER_CONFIG, active_migration_run, add_file,
                 limit_download, rebinding_run)
from rig import Rig, check, check_eq, delta, main, temp_dir, total

WORKERS, IO = 3, "io0"
CONFIG = SERVER_CONFIG + """
[dataplane]
layout = pipeline
io_lcores = 1
"""
RUNS = 12               # of each kind
BIG, BIG_SIZE = "8m.bin", 8 << 20
REBIND_AT = 1 << 20
CHANGE_AFTER = "150ms"
# the client link: at 50 Mbit/s the 7 MiB after REBIND_AT take 1.2 s, room
# for the NAT's rule swap on a loaded machine (at 100 Mbit/s a sanitized
# run once finished the file before the swap did)
LINK_RATE = "50mbit"
PATHS = ["/hello.txt", f"/{BIG}", "/1k.bin", "/index.html", "/1m.bin"]
PORT_BASE = 24000


def rows_delta(before, after):
    return {k: [a - b for a, b in zip(after[k], before[k])] for k in after}


def check_run(what, d, rows):
    check_eq(sorted(d, key=str), [0, 1, 2, IO], f"{what}: lcores in /quicsteer/lcores")
    check_eq(sorted(rows, key=str), [0, 1, 2, IO], f"{what}: rows of /quicsteer/steering")
    accepted = [w for w in range(WORKERS) if d[w]["quic_conn_accepted"]]
    check_eq(len(accepted), 1, f"{what}: workers that accepted the connection")
    owner = accepted[0]
    check(d[owner]["quic_path_migrations"] >= 1,
          f"{what}: the owner counted no path change: {d[owner]}")
    io = d[IO]
    check(io["quic_rx"] > 0, f"{what}: the I/O lcore received no QUIC datagram")
    check_eq(io["quic_forwarded_out"], io["quic_rx"],
             f"{what}: the I/O lcore hands every QUIC datagram to a worker")
    check_eq(rows[IO][owner], io["quic_forwarded_out"],
             f"{what}: steering row io0 column {owner} (rows {rows})")
    check_eq(d[owner]["quic_forwarded_in"], io["quic_forwarded_out"],
             f"{what}: the owner's quic_forwarded_in")
    for w in range(WORKERS):
        check_eq(d[w]["quic_rx"], 0, f"{what}: worker {w} polls no queue (quic_rx)")
        check_eq(sum(rows[w]), 0, f"{what}: worker {w} forwards nothing")
    check(io["tx_packets"] > 0, f"{what}: the I/O lcore sent nothing for the owner")
    check_eq(total(d, "quic_stateless_resets_sent"), 0, f"{what}: stateless resets")
    check_eq(total(d, "quic_forward_dropped"), 0, f"{what}: quic_forward_dropped")
    check_eq(total(d, "h3_responses_2xx"), len(PATHS), f"{what}: h3_responses_2xx")
    return owner


def test():
    with temp_dir("migpipe") as tmp:
        site = Site(tmp)
        add_file(site, BIG, BIG_SIZE)
        with Rig("migpipe", workers=WORKERS, io_lcores=1, config=CONFIG,
                 app_args=site.server_args()) as rig:
            stats = rig.telemetry("/quicsteer/stats")
            check_eq((stats["workers"], stats["io_lcores"]), (WORKERS, 1),
                     "/quicsteer/stats workers, io_lcores")
            limit_download(rig, rate=LINK_RATE)
            start = time.monotonic()
            before = rig.wait_quiet(timeout=5)
            owners = {}
            for i in range(2 * RUNS):
                rebinding = i % 2 == 0
                family = 6 if i % 6 >= 4 else 4        # a third of each kind over IPv6
                b, rb = rig.counters(), rig.steering_rows()
                if rebinding:
                    p1, p2 = PORT_BASE + 2 * i, PORT_BASE + 2 * i + 1
                    what = f"run {i} (IPv{family}, NAT :{p1} -> :{p2})"
                    r, info = rebinding_run(rig, PATHS, tmp / f"run{i}", BIG, REBIND_AT,
                                            p1, p2, family)
                    check_eq(info.deleted, 1, f"{what}: NAT mappings deleted")
                    check(info.after < BIG_SIZE,
                          f"{what}: {BIG} was complete when the rebinding was done ({info})")
                else:
                    what = f"run {i} (IPv{family}, --change-local-addr={CHANGE_AFTER})"
                    r, info = active_migration_run(rig, PATHS, tmp / f"run{i}", BIG,
                                                   CHANGE_AFTER, family)
                    check(info is not None and info.at < BIG_SIZE,
                          f"{what}: no path change seen while {BIG} arrived ({info})")
                check_ok(r, what)
                for p in PATHS:
                    check_body(r, p[1:], site.sha(p[1:]), f"{what}: {p}")
                d = delta(b, rig.wait_quiet(timeout=5, interval=0.1))
                rows = rows_delta(rb, rig.steering_rows())
                owner = check_run(what, d, rows)
                owners[owner] = owners.get(owner, 0) + 1
                print(f"{what}: ok in {r.seconds:.2f} s, owner worker {owner}, change {info}, "
                      f"io0 forwarded {rows[IO][owner]} datagrams to it")

            elapsed = time.monotonic() - start
            d = delta(before, rig.wait_quiet(timeout=5))
            rows = rig.steering_rows()
            print(f"{2 * RUNS} runs in {elapsed:.1f} s; connections per owner {owners}; "
                  f"io0: quic_rx {d[IO]['quic_rx']}, forwarded_out "
                  f"{d[IO]['quic_forwarded_out']}, tx_packets {d[IO]['tx_packets']}; "
                  f"quic_path_migrations {total(d, 'quic_path_migrations')}; steering {rows}")
            check(len(owners) > 1, f"every connection was accepted by one worker: {owners} "
                                   f"(Initials are not spread by the 4-tuple hash)")
            check(total(d, "quic_path_migrations") >= 2 * RUNS,
                  f"quic_path_migrations {total(d, 'quic_path_migrations')}: fewer than the "
                  f"{2 * RUNS} address changes")
            check_eq(total(d, "quic_stateless_resets_sent"), 0, "quic_stateless_resets_sent")

            rc, out = rig.stop()
            check_clean_exit(rig, rc, out)


if __name__ == "__main__":
    main(test)
