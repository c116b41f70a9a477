"""Charts of run_all.py's results (--plot DIR, --replot FILE --plot DIR):
PNG files drawn with Debian's python3-matplotlib (Agg backend, no
display), one per kind of figure:

  requests.png      items 1, 2 and 5: requests/s and new connections/s of
                    quicsteer against the peer, and quicsteer's scaling
  latency.png       items 1 and 2: request and handshake latency p50, p90
                    and p99 against the peer
  memory.png        item 4: RSS per idle connection against the peer, and
                    what quicsteer's heaps hold per connection
  steer_cycles.png  item 7: bench_steer's cycles per packet per CID format

A chart whose items are not in the results is not drawn, and that is said
on stdout. Every chart is SIZE_PX pixels, the machine in its footnote.
The results are the dict run_all.py writes with --results-json (format
"quicsteer-bench-results", RESULTS.md section "Charts").
"""
import os
import textwrap

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

DPI = 100
SIZE_PX = (1280, 720)
PERCENTILES = ("p50", "p90", "p99")
COLORS = ("#1f5f99", "#e08a2c", "#5a9e48", "#9a4d9a")
QS = "quicsteer"


class Panel:
    """One set of axes: bars in groups along x, one bar per series in each
    group. series: [(name, [value per group])]; a value of None draws no
    bar and is written "n/a". hline: (value, label) of a reference line."""

    def __init__(self, title, ylabel, groups, series, hline=None):
        self.title, self.ylabel, self.groups = title, ylabel, groups
        self.series, self.hline = series, hline


def label(v):
    if v is None:
        return "n/a"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    return f"{v:.3g}"


def find(res, key, **labels):
    """The first figure of the results with this key and these labels."""
    for f in res.get("figures", []):
        have = f.get("labels") or {}
        if f.get("key") == key and all(str(have.get(k)) == str(v)
                                       for k, v in labels.items()):
            return f
    return None


def has_value(f):
    return f is not None and (f.get("quicsteer") is not None or f.get("peer") is not None)


def versus(res, title, unit, groups):
    """A panel of quicsteer against the peer; groups: [(x label, figure)].
    None when no group has a figure."""
    groups = [(g, f) for g, f in groups if has_value(f)]
    if not groups:
        return None
    peer = next((f["peer_name"] for _, f in groups if f.get("peer_name")),
                res.get("peer", "peer"))
    series = [(QS, [f.get("quicsteer") for _, f in groups])]
    if any(f.get("peer") is not None for _, f in groups):
        series.append((peer, [f.get("peer") for _, f in groups]))
    return Panel(title, unit, [g for g, _ in groups], series)


def footnote(res):
    m, r = res.get("machine") or {}, res.get("run") or {}
    text = (f"machine: {m.get('model', '?')}, nproc {m.get('nproc', '?')}, kernel "
            f"{m.get('kernel', '?')}; load average {r.get('load_start', '?')} at the start, "
            f"{r.get('load_end', '?')} at the end; commit {r.get('commit', '?')}; "
            f"{r.get('date', '?')}; tests/bench/run_all.py")
    return textwrap.fill(text, 190)


def rounds_note(res):
    n = ((res.get("run") or {}).get("options") or {}).get("rounds")
    return f" (medians of {n} rounds)" if n else ""


# ---- the charts: each a function results -> (title, [Panel]) ---------------


def requests_chart(res):
    panels = [
        versus(res, "1: small responses (64 B), 1 worker",
               "req/s (or req per server CPU-second)",
               [("requests/s", find(res, "small_rps")),
                ("per server CPU-second", find(res, "small_rps_per_cpu"))]),
        versus(res, "2: new connections, 1 request each", "connections/s",
               [("full handshake", find(res, "conns_per_s")),
                ("--resume (0-RTT)", find(res, "resume_conns_per_s"))]),
    ]
    scale = [(w, find(res, "scale_rps", workers=w)) for w in (1, 2, 4)]
    scale = [(w, f) for w, f in scale if f is not None and f.get("quicsteer") is not None]
    if scale:
        p = Panel("5: quicsteer scaling, load of item 1", "req/s",
                  [f"{w} worker{'s' if w > 1 else ''}" for w, _ in scale],
                  [(QS, [f["quicsteer"] for _, f in scale])])
        peer = scale[0][1].get("peer")
        if peer is not None:
            p.hline = (peer, f"{scale[0][1].get('peer_name') or res.get('peer')}, "
                             "1 worker (item 1)")
        panels.append(p)
    return (f"Requests: quicsteer against {res.get('peer', 'the peer')}"
            f"{rounds_note(res)}", panels)


def latency_chart(res):
    def pct(key, of):
        return [(p, find(res, key, of=of, percentile=p)) for p in PERCENTILES]

    panels = [versus(res, "1: request latency, small responses", "ms",
                     pct("latency_ms", "small")),
              versus(res, "2: handshake latency, new connections", "ms",
                     pct("latency_ms", "conns")),
              versus(res, "2: handshake latency, --resume (0-RTT)", "ms",
                     pct("latency_ms", "resume"))]
    return (f"Latency percentiles seen by quicsteer-load{rounds_note(res)}", panels)


def memory_chart(res):
    n = ((res.get("run") or {}).get("options") or {}).get("idle_conns")
    panels = [versus(res, "4: RSS per idle connection", "KiB",
                     [(f"{n:,} connections open" if n else "idle connections",
                       find(res, "idle_kib_per_conn"))])]
    parts = [f for f in res.get("figures", [])
             if f.get("key") == "idle_alloc_kib_per_conn" and f.get("quicsteer") is not None]
    if parts:
        panels.append(Panel("4: quicsteer's heap allocations per idle connection", "KiB",
                            [f["labels"]["part"] for f in parts],
                            [(QS, [f["quicsteer"] for f in parts])]))
    return ("Memory per idle connection", panels)


STEER_LOOPS = (("baseline", "baseline loop (touch first cache line)"),
               ("steer", "steer stage (classify+decide+stage+flush)"),
               ("steer_and_drain", "steer and other workers' inbox drain"))


def steer_chart(res):
    loops = [f for f in res.get("figures", []) if f.get("key") == "steer_cycles"]
    formats = []
    for f in loops:
        fm = (f["labels"].get("cid_format"), f["labels"].get("cid_len"))
        if fm not in formats:
            formats.append(fm)

    def cycles(fm, loop):
        f = find(res, "steer_cycles", cid_format=fm[0], loop=loop)
        return None if f is None else f.get("quicsteer")

    series = [(name, [cycles(fm, loop) for fm in formats]) for loop, name in STEER_LOOPS]
    series = [s for s in series if any(v is not None for v in s[1])]
    groups = []
    for fm in formats:
        base, steer = cycles(fm, "baseline"), cycles(fm, "steer")
        ratio = f"\nsteer/baseline {steer / base:.2f}" if base and steer is not None else ""
        groups.append(f"{fm[0]}\n({fm[1]}-byte CIDs){ratio}")
    panels = [Panel("7: bench_steer, one lcore, 4 workers' inboxes, median pass",
                    "cycles/packet", groups, series)] if series else []
    return ("Steer stage: cycles per packet per CID format", panels)


CHARTS = (("requests.png", (1, 2, 5), requests_chart),
          ("latency.png", (1, 2), latency_chart),
          ("memory.png", (4,), memory_chart),
          ("steer_cycles.png", (7,), steer_chart))


# ---- drawing ----------------------------------------------------------------


def draw_panel(ax, p, title_chars):
    """Draws panel p on ax, its title in lines of title_chars at most."""
    n = len(p.series)
    width = 0.8 / n
    for i, (name, values) in enumerate(p.series):
        xs = [g + (i - (n - 1) / 2) * width for g in range(len(p.groups))]
        bars = ax.bar(xs, [0 if v is None else v for v in values], width,
                      label=name, color=COLORS[i % len(COLORS)])
        ax.bar_label(bars, labels=[label(v) for v in values], padding=2, fontsize=8)
    if p.hline is not None:
        ax.axhline(p.hline[0], color="#555555", linestyle="--", linewidth=1,
                   label=f"{p.hline[1]}: {label(p.hline[0])}")
    ax.set_xticks(range(len(p.groups)), p.groups, fontsize=8.5)
    ax.set_ylabel(p.ylabel)
    ax.set_title(textwrap.fill(p.title, title_chars), fontsize=10)
    ax.margins(y=0.18)
    ax.set_ylim(bottom=0)
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: label(v)))
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    ax.legend(fontsize=8, loc="upper left")


def draw(path, title, panels, note):
    fig = plt.figure(figsize=(SIZE_PX[0] / DPI, SIZE_PX[1] / DPI), dpi=DPI)
    try:
        axes = fig.subplots(1, len(panels), squeeze=False)[0]
        for ax, p in zip(axes, panels):
            draw_panel(ax, p, 150 // len(panels))
        fig.suptitle(title, fontsize=13)
        fig.text(0.01, 0.01, note, fontsize=7.5, ha="left", va="bottom", color="#444444")
        fig.tight_layout(rect=(0, 0.06, 1, 0.97))
        fig.savefig(path, dpi=DPI, format="png")
    finally:
        plt.close(fig)


def plot_all(results, outdir):
    """Draws every chart the results have figures for into outdir (made if
    missing); the paths written. A chart without figures is skipped, and
    said so on stdout. OSError when outdir cannot be written."""
    os.makedirs(outdir, exist_ok=True)
    note = footnote(results)
    ran = (results.get("run") or {}).get("items")
    written = []
    for name, items, chart in CHARTS:
        title, panels = chart(results)
        panels = [p for p in panels if p is not None]
        if not panels:
            which = ", ".join(map(str, items))
            print(f"plot: {name} skipped: no figures of item{'s' if len(items) > 1 else ''} "
                  f"{which} in the results"
                  + (f" (items run: {', '.join(map(str, ran))})" if ran else ""), flush=True)
            continue
        path = os.path.join(outdir, name)
        draw(path, title, panels, note)
        written.append(path)
    return written
