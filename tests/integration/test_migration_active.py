#!/usr/bin/env python3
"""Active connection migration in the middle of a download, with 4 worker
lcores on 2 CPUs (run-to-completion, af_packet qpairs=4). gtlsclient
--change-local-addr moves to a new socket (a new source port) while an 8 MiB
response is arriving and validates the new path (PATH_CHALLENGE /
PATH_RESPONSE, RFC 9000 section 9); its packets then hash to whichever
queue, and those that reach a worker that does not own the connection must
be steered to the owner: no stateless reset, the right bytes.

40 runs (every fifth over IPv6), each with the client's own ephemeral
ports. Each run downloads hello.txt, then 8m.bin (the change comes 150 ms
after the handshake, while it arrives), then 1k.bin, index.html and 1m.bin,
one request at a time. The server's count of path changes is watched during
the run, so the test knows the change happened mid-transfer."""
import time

from h3 import Site, check_body, check_clean_exit, check_ok
from nat import SERVER_CONFIG, active_migration_run, add_file, limit_download
from rig import Rig, check, check_eq, delta, main, matrix_delta, temp_dir, total

WORKERS = 4
RUNS = 40
IPV6_EVERY = 5
BIG, BIG_SIZE = "8m.bin", 8 << 20
CHANGE_AFTER = "150ms"   # after the handshake; 8m.bin takes ~0.7 s at 100 Mbit/s
PATHS = ["/hello.txt", f"/{BIG}", "/1k.bin", "/index.html", "/1m.bin"]


def test():
    with temp_dir("migact") as tmp:
        site = Site(tmp)
        add_file(site, BIG, BIG_SIZE)
        with Rig("migact", workers=WORKERS, config=SERVER_CONFIG,
                 app_args=site.server_args()) as rig:
            limit_download(rig)
            start = time.monotonic()
            before, m_before = rig.counters(), rig.steering()
            crossed = 0
            for i in range(RUNS):
                family = 6 if i % IPV6_EVERY == IPV6_EVERY - 1 else 4
                what = f"run {i} (IPv{family})"
                b, mb = rig.counters(), rig.steering()
                r, info = active_migration_run(rig, PATHS, tmp / f"run{i}", BIG,
                                               CHANGE_AFTER, family)
                check_ok(r, what)
                for p in PATHS:
                    check_body(r, p[1:], site.sha(p[1:]), f"{what}: {p}")
                check(info is not None, f"{what}: the server saw no path change while "
                                        f"the client ran")
                check(info.at < BIG_SIZE,
                      f"{what}: the path changed after {BIG} was complete ({info})")
                d = delta(b, rig.wait_counters(
                    lambda s: total(delta(b, s), "h3_responses_2xx") >= len(PATHS)))
                m = matrix_delta(mb, rig.steering())
                accepted = [w for w in d if d[w]["quic_conn_accepted"]]
                check_eq(len(accepted), 1, f"{what}: workers that accepted the connection")
                owner = accepted[0]
                check(d[owner]["quic_path_migrations"] >= 1,
                      f"{what}: the owner counted no path change: {d[owner]}")
                check_eq(total(d, "quic_stateless_resets_sent"), 0, f"{what}: stateless resets")
                check_eq(total(d, "h3_responses_2xx"), len(PATHS), f"{what}: h3_responses_2xx")
                into_owner = sum(m[w][owner] for w in range(WORKERS))
                check_eq(d[owner]["quic_forwarded_in"], into_owner,
                         f"{what}: the owner's quic_forwarded_in vs the steering matrix {m}")
                crossed += into_owner > 0
                print(f"{what}: ok in {r.seconds:.2f} s, owner {owner}, path change seen "
                      f"{info}, {into_owner} datagrams forwarded to the owner")

            elapsed = time.monotonic() - start
            d = delta(before, rig.wait_quiet(timeout=5))
            m = matrix_delta(m_before, rig.steering())
            fwd, mig = total(d, "quic_forwarded_in"), total(d, "quic_path_migrations")
            resets = total(d, "quic_stateless_resets_sent")
            print(f"{RUNS} runs in {elapsed:.1f} s, {crossed} with datagrams forwarded to "
                  f"the owner: quic_forwarded_in {fwd}, quic_path_migrations {mig}, "
                  f"quic_stateless_resets_sent {resets}, steering {m}")
            check(fwd > 0, "quic_forwarded_in did not move: no run crossed workers")
            check(mig >= RUNS, f"quic_path_migrations {mig}: fewer than the {RUNS} migrations")
            check_eq(resets, 0, "quic_stateless_resets_sent")
            check_eq(total(d, "quic_forward_dropped"), 0, "quic_forward_dropped")
            check_eq(total(d, "quic_conn_accepted"), RUNS, "quic_conn_accepted")

            rc, out = rig.stop()
            check_clean_exit(rig, rc, out)


if __name__ == "__main__":
    main(test)
