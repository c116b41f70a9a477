#!/usr/bin/env python3
"""Figures, not a test: quicsteer-load against gtlsserver (kernel UDP) and
against quicsteer (af_packet, the integration rig) on the same veth setup,
for a few shapes of load. Needs root; prints one line per run.

    sudo python3 tests/load/bench_load.py [--duration 5] [--workers 2]
        [--gtlsserver-only] [--load-args "--no-gso --no-gro"]

"client CPU" is quicsteer-load's own (user+sys over the run, in % of one
CPU): a client near 100 % per thread measures itself, not the server.

The comparison table of the project (every benchmark, medians over rounds,
memory, migration at scale, instruction counts) is tests/bench/run_all.py.
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))

from loadlib import Net, Site, make_cert, run_load, url  # noqa: E402
from rig import SERVER_V4, Rig, delta, temp_dir, total  # noqa: E402

# name, quicsteer-load options (without -D and the URI), gtlsserver path,
# quicsteer path
SHAPES = [
    ("small, 8 conns x 8 streams", ["-c", 8, "-m", 8, "-t", 2], "/1k.bin", "/bytes/1024"),
    ("small, 16 conns x 8, 1 thread", ["-c", 16, "-m", 8], "/1k.bin", "/bytes/1024"),
    ("1 MiB, 4 conns x 2 streams", ["-c", 4, "-m", 2, "-t", 2], "/1m.bin", "/bytes/1048576"),
    ("handshakes, 1 request each", ["-c", 8, "-m", 1, "-t", 2, "--conn-requests", 1],
     "/1k.bin", "/bytes/1024"),
    ("rebinding every 10 requests", ["-c", 8, "-m", 4, "-t", 2, "--rebind-every", 10],
     "/1k.bin", "/bytes/1024"),
]


def line(target, name, rep):
    lat = rep["latency_us"]["request"]
    return (f"{target:10} {name:30} {rep['requests_per_s']:9.0f} req/s "
            f"{rep['bytes_per_s'] / 1e6:8.1f} MB/s {rep['handshakes_per_s']:7.0f} hs/s  "
            f"p50 {lat['p50'] / 1000:6.2f} ms p99 {lat['p99'] / 1000:7.2f} ms  "
            f"failed {rep['requests']['failed']} moves {rep['migrations']['done']}  "
            f"client CPU {rep['client_cpu']['percent']:3.0f} %")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=float, default=5)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--gtlsserver-only", action="store_true")
    ap.add_argument("--load-args", default="",
                    help="more quicsteer-load options, e.g. '--no-gso --no-gro'")
    args = ap.parse_args()
    run_args = ["-D", args.duration, *args.load_args.split()]

    with Net("bench") as net:
        site = Site(net.tmp)
        net.start_gtlsserver(site)
        for name, opts, path, _ in SHAPES:
            r = run_load(net.client_ns, ["--ca", site.cert, *opts, *run_args, url(path)],
                         timeout=args.duration + 60, json_report=True)
            print(line("gtlsserver", name, r.report), flush=True)
    if args.gtlsserver_only:
        return

    with temp_dir("qslbench") as tmp:
        cert, key = make_cert(tmp, "quicsteer")
        with Rig("ldbench", workers=args.workers,
                 app_args=["--cert", cert, "--key", key]) as rig:
            for name, opts, _, path in SHAPES:
                before = rig.counters()
                r = run_load(rig.client_ns,
                             ["--ca", cert, *opts, *run_args,
                              f"https://{SERVER_V4}:{rig.port}{path}"],
                             timeout=args.duration + 60, json_report=True)
                d = delta(before, rig.wait_quiet(timeout=10))
                print(line(f"quicsteer/{args.workers}", name, r.report) +
                      f"  fwd_in {total(d, 'quic_forwarded_in')} "
                      f"resets {total(d, 'quic_stateless_resets_sent')}", flush=True)


if __name__ == "__main__":
    main()
