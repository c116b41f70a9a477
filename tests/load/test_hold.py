#!/usr/bin/env python3
"""quicsteer-load's options for the benchmarks (tests/bench/run_all.py),
against gtlsserver:
- --hold: every connection, done with its request, stays open and idle;
  once all are held a line "holding N connections" goes to stderr, and
  they close (cleanly: exit 0) after the hold time, or at SIGINT;
- --max-pending: connections ramp up a few handshakes at a time, and all
  of them still complete;
- --rebind-fraction: only that share of the connections moves;
- --local: the connections come from the addresses given, spread evenly;
- the usage errors of these options (exit 2)."""
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))

from loadlib import (CLIENT_V4, CLIENT_V6, Net, Site, check,  # noqa: E402
                     check_all_completed, check_eq, die_with_parent, load_binary,
                     main, run, summary, url)

HOLD_LINE = re.compile(r"holding (\d+) connections open and idle")


def test_hold(net, site):
    n = 12
    r = net.load(["--ca", site.cert, "-c", n, "-n", n, "--max-pending", 3, "--hold", 1,
                  url("/1k.bin")], json_report=True)
    print(f"--hold 1 --max-pending 3: {summary(r.report)}")
    check_all_completed(r, n, "--hold")
    check_eq(r.report["held"], n, "--hold: connections held")
    check_eq(r.report["connections"]["succeeded"], n, "--hold: connections succeeded")
    check_eq(r.report["options"]["max_pending"], 3, "JSON options.max_pending")
    check(r.report["elapsed_s"] >= 1.0, f"--hold 1: run ended after "
          f"{r.report['elapsed_s']} s, before the hold time")
    m = HOLD_LINE.search(r.stderr)
    check(m is not None and int(m.group(1)) == n,
          f"--hold: no 'holding {n} connections' line on stderr: {r.stderr[-500:]}")


def start_holding(net, site, n, extra=()):
    """quicsteer-load holding n connections for 30 s; returns the process
    once its 'holding' line is out."""
    argv = ["ip", "netns", "exec", net.client_ns, load_binary(), "--ca", site.cert,
            "-c", n, "-n", n, "--hold", 30, "--timeout", 40, *extra, "--json",
            url("/1k.bin")]
    err = net.tmp / "hold.err"
    with open(err, "w") as f:
        p = net.track(subprocess.Popen([str(a) for a in argv], stdout=subprocess.PIPE,
                                       stderr=f, preexec_fn=die_with_parent))
    deadline = time.monotonic() + 20
    while HOLD_LINE.search(err.read_text()) is None:
        check(p.poll() is None, f"--hold 30 exited {p.returncode} before holding: "
                                f"{err.read_text()[-500:]}")
        check(time.monotonic() < deadline, "--hold 30: no 'holding' line within 20 s")
        time.sleep(0.05)
    return p


def stop_holding(p, what):
    """SIGINT; the held connections close cleanly: exit 0. The JSON."""
    t0 = time.monotonic()
    p.send_signal(signal.SIGINT)
    try:
        out, _ = p.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate(timeout=5)
        check(False, f"{what}: no exit within 10 s of SIGINT")
    print(f"{what}: SIGINT while holding, exit {p.returncode} after "
          f"{time.monotonic() - t0:.2f} s")
    check_eq(p.returncode, 0, f"{what}: exit code (all requests completed)")
    return out


def test_hold_interrupted(net, site):
    """A long hold ends at SIGINT; the held connections close cleanly."""
    out = stop_holding(start_holding(net, site, 6), "--hold 30")
    check(b'"held":6' in out, f"--hold interrupted: JSON held != 6: {out[-800:]!r}")


LOCAL_EXTRA = "198.18.0.3"      # a second client address for --local


def test_local(net, site):
    """--local A,B: the held connections' sockets are bound to A and B,
    half each, and every request completes."""
    run(["ip", "-n", net.client_ns, "addr", "add", f"{LOCAL_EXTRA}/24", "dev",
         net.client_if])
    n = 8
    p = start_holding(net, site, n, ["--local", f"{CLIENT_V4},{LOCAL_EXTRA}"])
    socks = run(["ip", "netns", "exec", net.client_ns, "ss", "-Hun"]).stdout
    by_addr = {a: len(re.findall(rf"\s{re.escape(a)}:\d+\s", socks))
               for a in (CLIENT_V4, LOCAL_EXTRA)}
    print(f"--local {CLIENT_V4},{LOCAL_EXTRA}: held sockets by address {by_addr}")
    check_eq(by_addr, {CLIENT_V4: n // 2, LOCAL_EXTRA: n // 2},
             "--local: the held connections' local addresses")
    out = stop_holding(p, "--local")
    check(f'"held":{n}'.encode() in out, f"--local: JSON held != {n}: {out[-800:]!r}")


def test_rebind_fraction(net, site):
    c, n = 8, 80
    r = net.load(["--ca", site.cert, "-c", c, "-n", n, "-m", 2, "--rebind-every", 5,
                  "--rebind-fraction", 0.25, url("/1k.bin")], json_report=True)
    mig = r.report["migrations"]
    print(f"--rebind-fraction 0.25: {summary(r.report)}")
    check_all_completed(r, n, "--rebind-fraction")
    check_eq(mig["connections_moved"], 2, "--rebind-fraction 0.25 of 8: connections moved")
    check_eq(mig["connections_survived"], 2, "--rebind-fraction: connections survived")
    check(mig["done"] >= 2, f"--rebind-fraction: moves {mig}")


def test_usage(net, site):
    bad = [
        (["-D", 1, "--hold", 1], "--hold with -D (no -n)"),
        (["--rebind-fraction", 0.5], "--rebind-fraction without --rebind-every"),
        (["--rebind-every", 2, "--rebind-fraction", 1.5], "--rebind-fraction 1.5"),
        (["--rebind-every", 2, "--rebind-fraction", 0], "--rebind-fraction 0"),
        (["--hold", 20, "--timeout", 10], "--hold longer than --timeout"),
        (["--max-pending", "x"], "--max-pending x"),
        (["--local", "198.18.0.77"], "--local, not an address of the client"),
        (["--local", CLIENT_V6], "--local, IPv6 to an IPv4 server"),
        (["--local", f"{CLIENT_V4}:4000"], "--local with a port"),
        (["--local", ","], "--local without an address"),
    ]
    for args, what in bad:
        n = [] if "-D" in args else ["-n", 2]
        r = net.load(["--ca", site.cert, "-c", 2, *n, *args, url("/1k.bin")])
        check_eq(r.rc, 2, f"{what}: exit code")


def test():
    with Net("hold") as net:
        site = Site(net.tmp)
        net.start_gtlsserver(site, args=["--timeout=60s"])
        test_hold(net, site)
        test_hold_interrupted(net, site)
        test_rebind_fraction(net, site)
        test_local(net, site)
        test_usage(net, site)


if __name__ == "__main__":
    main(test)
