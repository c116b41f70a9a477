#!/usr/bin/env python3
"""tests/bench/plot.py and run_all.py's --results-json / --replot / --plot,
on made-up figures (no benchmark runs, no root):

- the results: run_all.report() and tests_bench_figures() fed with load
  reports and bench_steer / bench_null.sh lines of the shapes the real
  programs give; the figures come out with the keys, labels, units,
  medians and rounds expected, as JSON;
- plot_all draws requests.png, latency.png, memory.png and steer_cycles.png:
  each a PNG (signature, IHDR chunk) of plot.SIZE_PX = 1280 x 720 pixels;
  results without item 7 (or without items 1, 2, 5) leave that chart out
  and say so on stdout;
- `run_all.py --replot FILE --plot DIR` on those results saved as JSON:
  exit 0 and the charts written; on a file that is not JSON, not a results
  file or has a bad figure, and with DIR below a regular file: a non-zero
  exit and one line on stderr, no traceback.

Debian's python3-matplotlib serves Debian's /usr/bin/python3: run by
another interpreter that cannot import it, the test runs itself again
with /usr/bin/python3; skipped (77) when neither can.
"""
import argparse
import contextlib
import io
import json
import os
import struct
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCH = HERE.parent / "bench"
RUN_ALL = BENCH / "run_all.py"
DEBIAN_PYTHON = "/usr/bin/python3"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
WIDTH, HEIGHT = 1280, 720
sys.path.insert(0, str(HERE.parent / "integration"))
from rig import SKIP, TestFailure, check  # noqa: E402

CHARTS = ("requests.png", "latency.png", "memory.png", "steer_cycles.png")
QS_NAME = "quicsteer"

# bench_steer's and bench_null.sh's summary lines as run_all.py keeps them
BENCH_STEER = """\
nibble (8-byte CIDs)
baseline (touch first cache line)           12.3 cycles/packet  170.73 Mpps   (fastest pass 11.9)
steer (classify+decide+stage+flush)         19.8 cycles/packet  106.06 Mpps   (fastest pass 19.3)
other workers' inbox drain                   1.2 cycles/packet 1750.00 Mpps   (fastest pass 1.1)
steer and drain                             21.1 cycles/packet   99.53 Mpps   (fastest pass 20.5)
ratio steer/baseline (medians): 1.61 (with the drain: 1.72)
forwarded 6144000, local 2048000, forward drops 0 (expect about 3/4 forwarded, no drops)
quic-lb plaintext (9-byte CIDs)
baseline (touch first cache line)           12.5 cycles/packet  168.00 Mpps   (fastest pass 12.0)
steer (classify+decide+stage+flush)         24.0 cycles/packet   87.50 Mpps   (fastest pass 23.1)
other workers' inbox drain                   1.3 cycles/packet 1615.38 Mpps   (fastest pass 1.2)
steer and drain                             25.3 cycles/packet   83.00 Mpps   (fastest pass 24.4)
quic-lb four-pass (9-byte CIDs)
baseline (touch first cache line)           12.4 cycles/packet  169.35 Mpps   (fastest pass 12.0)
steer (classify+decide+stage+flush)         61.0 cycles/packet   34.43 Mpps   (fastest pass 58.2)
other workers' inbox drain                   1.3 cycles/packet 1615.38 Mpps   (fastest pass 1.2)
steer and drain                             62.3 cycles/packet   33.71 Mpps   (fastest pass 59.5)
""".splitlines()
BENCH_NULL = ["null  testpmd io:  44.78 Mpps   quicsteer:  31.06 Mpps   ratio "
              "quicsteer/testpmd: 0.69",
              "pcap  skipped: this DPDK has no net_pcap PMD"]

def matplotlib_or_reexec():
    """True when this interpreter imports matplotlib; else runs the test
    again with Debian's python3 if that one does; else False (skip)."""
    try:
        import matplotlib  # noqa: F401
        return True
    except ImportError as e:
        reason = e
    if (os.path.exists(DEBIAN_PYTHON) and
            os.path.realpath(DEBIAN_PYTHON) != os.path.realpath(sys.executable) and
            subprocess.run([DEBIAN_PYTHON, "-c", "import matplotlib"],
                           capture_output=True).returncode == 0):
        print(f"{sys.executable} cannot import matplotlib: running with {DEBIAN_PYTHON}",
              flush=True)
        os.execv(DEBIAN_PYTHON, [DEBIAN_PYTHON, __file__, *sys.argv[1:]])
    print(f"skipped: matplotlib cannot be imported ({reason}): apt-get install "
          "python3-matplotlib (deploy/install-deps.sh)", flush=True)
    return False


# ---- made-up results, through run_all.py's own report ----------------------


def load_report(rps, p50_ms, hs_per_s=None):
    """A quicsteer-load --json report as run_all.py keeps it."""
    lat = lambda p50: {"count": 1000, "min": p50 // 4, "p50": p50, "p90": 2 * p50,  # noqa
                       "p99": 5 * p50, "max": 20 * p50, "mean": p50}
    return {"requests_per_s": rps, "handshakes_per_s": hs_per_s or rps / 100,
            "requests": {"completed": 1000, "failed": 0},
            "connections": {"failed": 0, "succeeded": 32},
            "early_data_accepted": 90, "early_data_attempted": 100,
            "latency_us": {"request": lat(int(p50_ms * 1000)),
                           "handshake": lat(int(p50_ms * 20000)), "ttfb": lat(1)},
            "server_cpu": 0.8, "server_drops": 0, "vswitch_cpu": None}


def idle_report(per_conn_kib, qs):
    r = dict(before=75 << 10, after=1175 << 10, held=10000, per_conn=per_conn_kib * 1024,
             ramp_s=9.0, server_conns=10000 if qs else None, failed=0, errors={},
             after_later=1180 << 10, per_conn_later=(per_conn_kib + 0.5) * 1024,
             server_conns_later=10000 if qs else None)
    if qs:
        libs = {"ngtcp2": 40000.0, "nghttp3": 30000.0, "GnuTLS and other libc": 25000.0}
        r.update(heap_per_conn=1290.0, libs_per_conn=libs, libs_per_conn_later=libs)
    return r


class FakeBench:
    """What run_all.report() reads of a Bench: want() and commands."""

    def __init__(self, items):
        self.items, self.commands = set(items), []

    def want(self, item):
        return item in self.items


def make_results(run_all, items):
    """The results document of a made-up run of the items."""
    a = argparse.Namespace(idle_conns=10000, idle_after=60, mig_conns=1000, cg_requests=4000,
                           cg_conns=100, only=set(items))
    gt = {"small": [load_report(r, 0.8) for r in (144149, 124625, 179627)],
          "conns": [load_report(0, 1.0, h) for h in (1002, 990, 1010)],
          "resume": [load_report(0, 0.5, h) for h in (2076, 2000, 2100)],
          "idle": idle_report(128.0, False)}
    qs = {"small": [load_report(r, 0.6) for r in (152702, 198163, 185148)],
          "conns": [load_report(0, 1.2, h) for h in (1178, 1100, 1200)],
          "resume": [load_report(0, 0.6, h) for h in (1749, 1700, 1800)],
          "idle": idle_report(113.0, True),
          "scale": {1: [load_report(r, 0.6) for r in (152702, 198163, 185148)],
                    2: [load_report(r, 0.6) for r in (146465, 176799, 176638)],
                    4: [load_report(r, 0.6) for r in (151160, 148368, 172227)]}}
    bench7 = {"bench_steer": BENCH_STEER, "bench_null": BENCH_NULL} if 7 in items else {}
    t = run_all.Table()
    with contextlib.redirect_stdout(io.StringIO()):
        run_all.report(a, FakeBench(items), t, gt, qs, bench7)
    info = {"machine": {"model": "Test CPU", "nproc": 2, "kernel": "6.18"},
            "run": {"argv": ["run_all.py"], "commit": "0000000 test", "date": "2026-12-02",
                    "load_start": "1.00 1.00 1.00", "load_end": "1.00 1.00 1.00",
                    "items": sorted(items), "options": {"rounds": 3, "idle_conns": 10000}}}
    return json.loads(json.dumps(run_all.results_doc(info, (t,))))


def test_results(run_all):
    res = make_results(run_all, (1, 2, 4, 5, 7))
    check(res["format"] == "quicsteer-bench-results" and res["version"] == 1,
          f"format/version: {res.get('format')} {res.get('version')}")
    figs = res["figures"]
    for f in figs:
        check(set(f) >= {"item", "key", "labels", "measure", "unit", "quicsteer", "peer",
                         "peer_name", "note"}, f"figure fields: {sorted(f)}")

    def one(key, **labels):
        m = [f for f in figs if f["key"] == key and
             all(f["labels"].get(k) == v for k, v in labels.items())]
        check(len(m) == 1, f"{key} {labels}: {len(m)} figures, wanted 1")
        return m[0] if m else {}

    small = one("small_rps")
    check(small.get("quicsteer") == 185148 and small.get("peer") == 144149,
          f"small_rps medians: {small}")
    check(small.get("quicsteer_rounds") == [152702, 198163, 185148] and
          small.get("peer_rounds") == [144149, 124625, 179627], f"small_rps rounds: {small}")
    check(small.get("unit") == "req/s" and small.get("item") == 1 and
          small.get("peer_name") == "gtlsserver", f"small_rps unit/item/peer: {small}")
    p99 = one("latency_ms", of="small", percentile="p99")
    check(p99.get("quicsteer") == 3.0 and p99.get("peer") == 4.0 and p99.get("unit") == "ms",
          f"request latency p99 (5 x p50): {p99}")
    hs = one("latency_ms", of="resume", percentile="p50")
    check(hs.get("quicsteer") == 12.0, f"handshake latency p50 with --resume: {hs}")
    check(one("resume_conns_per_s").get("quicsteer") == 1749, "resume_conns_per_s median")
    check(one("conns_per_s").get("peer") == 1002, "conns_per_s median")
    four = one("scale_rps", workers=4)
    check(four.get("quicsteer") == 151160 and four.get("quicsteer_rounds") ==
          [151160, 148368, 172227], f"scale_rps 4 workers: {four}")
    idle = one("idle_kib_per_conn")
    check(idle.get("quicsteer") == 113.0 and idle.get("peer") == 128.0 and
          idle.get("unit") == "KiB", f"idle_kib_per_conn: {idle}")
    later = one("idle_kib_per_conn_later")
    check(later.get("quicsteer") == 113.5 and later.get("peer") == 128.5,
          f"idle_kib_per_conn_later (after --idle-after): {later}")
    parts = [f["labels"]["part"] for f in figs if f["key"] == "idle_alloc_kib_per_conn"]
    check(parts == ["rte_malloc", "ngtcp2", "nghttp3", "GnuTLS and other libc"],
          f"quicsteer's allocations per idle connection: {parts}")
    steer = [f for f in figs if f["key"] == "steer_cycles"]
    check(len(steer) == 12, f"steer_cycles: {len(steer)} figures, wanted 3 formats x 4 loops")
    fp = one("steer_cycles", cid_format="quic-lb four-pass", loop="steer")
    check(fp.get("quicsteer") == 61.0 and fp.get("fastest") == 58.2 and
          fp["labels"].get("cid_len") == 9 and fp.get("unit") == "cycles/packet",
          f"steer_cycles four-pass steer: {fp}")
    null = one("null_mpps", pmd="null")
    check(null.get("quicsteer") == 31.06 and null.get("peer") == 44.78 and
          null.get("peer_name") == "testpmd io", f"null_mpps: {null}")
    check(not [f for f in figs if f["item"] in (3, 6, 8)], "items not run gave figures")
    return res


# ---- charts -----------------------------------------------------------------


def png_size(path):
    """(width, height) from a PNG's IHDR chunk; None if not a PNG."""
    data = Path(path).read_bytes()[:24]
    if len(data) < 24 or data[:8] != PNG_SIGNATURE or data[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", data[16:24])


def check_charts(outdir, names, what):
    for name in CHARTS:
        path = Path(outdir) / name
        if name not in names:
            check(not path.exists(), f"{what}: {name} written, its items are not run")
            continue
        check(path.exists(), f"{what}: {name} not written")
        size = png_size(path)
        check(size == (WIDTH, HEIGHT), f"{what}: {name}: PNG size {size}, "
                                       f"wanted {WIDTH}x{HEIGHT}")
        check(path.stat().st_size > 10000, f"{what}: {name}: only "
                                           f"{path.stat().st_size} bytes")


# what each chart shows of make_results(all items): per panel, its groups
# along x and its series (every value present)
PANELS = {
    "requests.png": [(["requests/s", "per server CPU-second"], [QS_NAME, "gtlsserver"]),
                     (["full handshake", "--resume (0-RTT)"], [QS_NAME, "gtlsserver"]),
                     (["1 worker", "2 workers", "4 workers"], [QS_NAME])],
    "latency.png": [(["p50", "p90", "p99"], [QS_NAME, "gtlsserver"])] * 3,
    "memory.png": [(["10,000 connections open"], [QS_NAME, "gtlsserver"]),
                   (["rte_malloc", "ngtcp2", "nghttp3", "GnuTLS and other libc"], [QS_NAME])],
    "steer_cycles.png": [([f"{fm}\n({n}-byte CIDs)\nsteer/baseline {r}" for fm, n, r in
                           (("nibble", 8, "1.61"), ("quic-lb plaintext", 9, "1.92"),
                            ("quic-lb four-pass", 9, "4.92"))],
                          ["baseline loop (touch first cache line)",
                           "steer stage (classify+decide+stage+flush)",
                           "steer and other workers' inbox drain"])],
}


def test_panels(plot, res):
    """The figures reach the charts: every panel, group and value."""
    for name, _items, chart in plot.CHARTS:
        _title, panels = chart(res)
        got = [(p.groups, [s for s, _ in p.series]) for p in panels if p is not None]
        check(got == PANELS[name], f"{name}: panels {got}, wanted {PANELS[name]}")
        for p in panels:
            for s, values in (p.series if p is not None else []):
                check(None not in values, f"{name}: {p.title}: {s}: a value missing: {values}")
    _title, panels = plot.requests_chart(res)
    check(panels[2].hline is not None and panels[2].hline[0] == 144149,
          f"requests.png: scaling panel's gtlsserver line: {panels[2].hline}")


def test_plot_all(plot, res, run_all, tmp):
    check(tuple(plot.SIZE_PX) == (WIDTH, HEIGHT), f"plot.SIZE_PX {plot.SIZE_PX}")
    test_panels(plot, res)
    out = Path(tmp) / "all"
    with contextlib.redirect_stdout(io.StringIO()) as so, \
            warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        paths = plot.plot_all(res, str(out))
    # e.g. "Tight layout not applied": titles or labels that do not fit
    check(not warned, f"plot_all warned: {[str(w.message) for w in warned]}")
    check(sorted(Path(p).name for p in paths) == sorted(CHARTS),
          f"plot_all returned {paths}")
    check("skipped" not in so.getvalue(), f"a chart skipped: {so.getvalue()}")
    check_charts(out, CHARTS, "all items")

    # no item 7: no steer_cycles.png, and a line that says so
    out = Path(tmp) / "no7"
    with contextlib.redirect_stdout(io.StringIO()) as so:
        paths = plot.plot_all(make_results(run_all, (1, 2, 4, 5)), str(out))
    check(sorted(Path(p).name for p in paths) == sorted(CHARTS[:3]),
          f"without item 7: plot_all returned {paths}")
    check("steer_cycles.png skipped" in so.getvalue() and "item 7" in so.getvalue(),
          f"without item 7: stdout does not say steer_cycles.png was skipped: "
          f"{so.getvalue()!r}")
    check_charts(out, CHARTS[:3], "without item 7")

    # item 7 alone: only steer_cycles.png
    out = Path(tmp) / "only7"
    with contextlib.redirect_stdout(io.StringIO()) as so:
        paths = plot.plot_all(make_results(run_all, (7,)), str(out))
    check([Path(p).name for p in paths] == ["steer_cycles.png"],
          f"item 7 alone: plot_all returned {paths}")
    check(so.getvalue().count("skipped") == 3, f"item 7 alone: {so.getvalue()!r}")
    check_charts(out, ("steer_cycles.png",), "item 7 alone")


# ---- run_all.py --replot ----------------------------------------------------


def run_all_cmd(*args):
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    return subprocess.run([sys.executable, str(RUN_ALL), *map(str, args)],
                          capture_output=True, text=True, timeout=120, env=env)


def test_replot(res, tmp):
    saved = Path(tmp) / "results.json"
    saved.write_text(json.dumps(res, indent=1))
    out = Path(tmp) / "replot"
    p = run_all_cmd("--replot", saved, "--plot", out)
    check(p.returncode == 0, f"--replot: exit {p.returncode}: {p.stderr.strip()}")
    check(all(f"wrote {out / name}" in p.stdout for name in CHARTS),
          f"--replot: stdout does not name the charts: {p.stdout!r}")
    check_charts(out, CHARTS, "--replot")

    bad_figure = dict(res, figures=[{"item": "one", "key": "small_rps"}])
    cases = {"not JSON": ("{not json", "not JSON"),
             "another JSON": (json.dumps({"figures": []}), "not a results file"),
             "a bad figure": (json.dumps(bad_figure), "figure 0"),
             "a missing file": (None, "No such file")}
    for what, (text, needle) in cases.items():
        f = Path(tmp) / f"bad-{len(text or '')}.json"
        if text is not None:
            f.write_text(text)
        p = run_all_cmd("--replot", f, "--plot", Path(tmp) / "bad")
        lines = p.stderr.strip().splitlines()
        check(p.returncode != 0, f"--replot on {what}: exit 0")
        check(len(lines) == 1 and lines[0].startswith("run_all: ") and needle in lines[0],
              f"--replot on {what}: stderr is not one line naming {needle!r}: {p.stderr!r}")
    check(not (Path(tmp) / "bad").exists(), "--replot on bad files made the plot directory")

    blocker = Path(tmp) / "a-file"
    blocker.write_text("")
    p = run_all_cmd("--replot", saved, "--plot", blocker / "charts")
    lines = p.stderr.strip().splitlines()
    check(p.returncode != 0 and len(lines) == 1 and "cannot write" in lines[0],
          f"--plot below a regular file: exit {p.returncode}, stderr {p.stderr!r}")
    p = run_all_cmd("--replot", saved)
    check(p.returncode != 0 and "--plot" in p.stderr,
          f"--replot without --plot: exit {p.returncode}, stderr {p.stderr!r}")


def main():
    if not matplotlib_or_reexec():
        return SKIP
    sys.path.insert(0, str(BENCH))
    import plot
    import run_all
    failed = 0
    with tempfile.TemporaryDirectory(prefix="qs-plottest-") as tmp:
        res = None
        for name, fn in (("results", lambda: test_results(run_all)),
                         ("plot_all", lambda: test_plot_all(plot, res, run_all, tmp)),
                         ("--replot", lambda: test_replot(res, tmp))):
            try:
                got = fn()
                print(f"{name}: ok", flush=True)
            except Exception as e:       # TestFailure, or a crash with its reason
                failed += 1
                what = "" if isinstance(e, TestFailure) else f"{type(e).__name__}: "
                print(f"{name}: FAIL: {what}{e}", flush=True)
                got = None
            if name == "results":
                res = got
                if res is None:
                    break
    print(f"{3 - failed} passed, {failed} failed" if res is not None else
          "0 passed, 1 failed (no results: the rest not run)", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
