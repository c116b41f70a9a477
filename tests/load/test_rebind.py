#!/usr/bin/env python3
"""Connection moves against gtlsserver (ngtcp2 follows a peer's new
address with path validation): --rebind-every 5 -c 2 -n 40 moves each
connection to a new local UDP port, unannounced, after every 5 completed
requests (a NAT rebinding); every request completes and the report counts
the moves and the connections that survived them. --migrate does the same
as active migrations (new connection ID, path validated first)."""
from loadlib import Net, Site, check, check_all_completed, check_eq, main, summary, url

N, C, EVERY = 40, 2, 5
# each connection completes N / C requests: a move after each EVERY, the
# last one possibly skipped as the connection closes right after
MIN_MOVES = C * (N // C // EVERY - 1)


def test():
    with Net("rebind") as net:
        site = Site(net.tmp)
        net.start_gtlsserver(site)
        ca = ["--ca", site.cert]
        for mode, extra in (("rebind", []), ("migrate", ["--migrate"])):
            for family in (4, 6):
                what = f"--rebind-every {EVERY} {' '.join(extra)} (IPv{family})"
                r = net.load([*ca, "-c", C, "-n", N, "--rebind-every", EVERY, *extra,
                              url("/1k.bin", family)], json_report=True)
                rep = r.report
                print(f"{what}: {summary(rep)}")
                check_all_completed(r, N, what)
                mig = rep["migrations"]
                check_eq(rep["options"]["move"], mode, f"{what}: move mode")
                check(mig["done"] >= MIN_MOVES,
                      f"{what}: {mig['done']} moves, expected at least {MIN_MOVES}: {mig}")
                check_eq(mig["not_started"], 0, f"{what}: moves not started")
                check_eq(mig["connections_moved"], C, f"{what}: connections moved")
                check_eq(mig["connections_survived"], C, f"{what}: connections survived")
                check_eq(mig["path_validation_failed"], 0,
                         f"{what}: path validations failed")


if __name__ == "__main__":
    main(test)
