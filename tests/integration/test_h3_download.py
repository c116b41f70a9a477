#!/usr/bin/env python3
"""Downloads over HTTP/3 with a real client (gtlsclient): files of 0 B,
1 KiB, 1 MiB and 20 MiB arrive byte for byte (sha256), several requests
share one connection, 16 clients download at once, IPv6 works as IPv4, and
the counters count every request and every handshake."""
from h3 import FILES, Client, Site, check_body, check_clean_exit, check_ok, fetch
from rig import Rig, check, check_eq, delta, main, temp_dir, total

PARALLEL = 16
# each parallel client: a few files; every fourth also the 20 MiB one
PARALLEL_PATHS = ["/1m.bin", "/1k.bin", "/empty.bin"]


def test():
    with temp_dir("h3dl") as tmp:
        site = Site(tmp)
        with Rig("h3dl", workers=4, app_args=site.server_args()) as rig:
            before = rig.counters()
            requests = conns = 0

            # every file on one connection (IPv4)
            names = list(FILES)
            r = fetch(rig, [f"/{n}" for n in names], tmp / "v4")
            check_ok(r, "IPv4 client, 4 requests on one connection")
            for n in names:
                check_body(r, n, site.sha(n), f"IPv4 {n}")
            requests += len(names)
            conns += 1
            print(f"IPv4: {len(names)} files ({sum(FILES.values())} bytes) "
                  f"on one connection in {r.seconds:.2f} s")

            # the same over IPv6
            r = fetch(rig, [f"/{n}" for n in names], tmp / "v6", family=6)
            check_ok(r, "IPv6 client, 4 requests on one connection")
            for n in names:
                check_body(r, n, site.sha(n), f"IPv6 {n}")
            requests += len(names)
            conns += 1
            print(f"IPv6: {len(names)} files on one connection in {r.seconds:.2f} s")

            # 16 clients at once, a quarter of them over IPv6
            clients = []
            for i in range(PARALLEL):
                paths = PARALLEL_PATHS + (["/20m.bin"] if i % 4 == 0 else [])
                clients.append((paths, Client(rig, paths, tmp / f"par{i}",
                                              family=6 if i % 4 == 1 else 4)))
            slowest = 0.0
            for i, (paths, c) in enumerate(clients):
                res = c.wait(120)
                check_ok(res, f"parallel client {i}")
                for p in paths:
                    check_body(res, p[1:], site.sha(p[1:]), f"parallel client {i} {p}")
                requests += len(paths)
                conns += 1
                slowest = max(slowest, res.seconds)
            print(f"{PARALLEL} parallel clients: all bytes right, slowest {slowest:.2f} s")

            def done(snap):
                d = delta(before, snap)
                return (total(d, "h3_responses_2xx") >= requests and
                        total(d, "quic_handshakes_completed") >= conns)

            d = delta(before, rig.wait_counters(done, timeout=5))
            check_eq(total(d, "h3_requests"), requests, "h3_requests moved by")
            check_eq(total(d, "h3_responses_2xx"), requests, "h3_responses_2xx moved by")
            check_eq(total(d, "h3_responses_4xx"), 0, "h3_responses_4xx moved by")
            check_eq(total(d, "h3_responses_5xx"), 0, "h3_responses_5xx moved by")
            check_eq(total(d, "quic_handshakes_completed"), conns,
                     "quic_handshakes_completed moved by")
            check_eq(total(d, "quic_conn_accepted"), conns, "quic_conn_accepted moved by")
            per_worker = [d[w]["quic_conn_accepted"] for w in sorted(d)]
            print(f"{requests} requests on {conns} connections; accepted per worker "
                  f"{per_worker}")
            check(sum(1 for n in per_worker if n > 0) >= 2,
                  f"{conns} connections all accepted by one worker: {per_worker}")

            rc, out = rig.stop()
            check_clean_exit(rig, rc, out)


if __name__ == "__main__":
    main(test)
