#!/usr/bin/env python3
"""deploy/quicsteer-exporter scraped by a real Prometheus (Debian's
`prometheus`), both in the rig's server namespace on its loopback; skipped
(saying why) where prometheus or python3-prometheus-client is missing.

1. The exporter's own checks: a bad --listen exits 2 with the reason;
   --once prints the metrics of the running quicsteer; /metrics has a
   series per worker (labels worker and lcore, the lcore ids quicsteer
   reports) for counters and gauges with their types, the steering matrix,
   connections, memory and drain gauges, and the lcore load metrics exactly
   when quicsteer reports busy_cycles/cycles/busy_pct/rx_pps/tx_pps.
2. Prometheus scrapes every second; quicsteer-load makes 400 requests over
   4 connections; sum(quicsteer_h3_requests_total) from Prometheus's query
   API reaches exactly the requests the client completed, which is also
   quicsteer's own /quicsteer/stats h3_requests; the per-worker series and
   the steering matrix in Prometheus equal quicsteer's telemetry;
   quicsteer_up is 1. Every expression of deploy/grafana-quicsteer.json is
   valid PromQL and every metric it names exists.
3. quicsteer stops: the scrape still succeeds (Prometheus's up is 1, the
   exporter answers 200) with quicsteer_up 0 and no other series, and the
   exporter says why on stderr once. The exporter and Prometheus exit 0 on
   SIGTERM (the rig stops them on a failure too)."""
import json
import re
import shutil
import subprocess
import sys
import time
import urllib.parse

from h3 import Site, check_clean_exit
from rig import (REPO, SERVER_V4, Rig, Skipped, TestFailure, binary, check, check_eq,
                 main, run, temp_dir)

EXPORTER = REPO / "deploy" / "quicsteer-exporter"
DASHBOARD = REPO / "deploy" / "grafana-quicsteer.json"
WORKERS = 2
CLIENTS, REQUESTS = 4, 400
EXPORTER_ADDR = "127.0.0.1:9772"      # loopback of the server namespace
PROMETHEUS_ADDR = "127.0.0.1:9090"
EXPORTER_READY = 15.0
PROMETHEUS_READY = 60.0
SCRAPED = 30.0          # Prometheus has the value quicsteer has, within
STOP_TIMEOUT = 15.0
LOAD_KEYS = {"busy_cycles": "quicsteer_lcore_busy_cycles_total",
             "cycles": "quicsteer_lcore_cycles_total",
             "busy_pct": "quicsteer_lcore_busy_ratio",
             "rx_pps": "quicsteer_lcore_rx_pps",
             "tx_pps": "quicsteer_lcore_tx_pps"}
BUSY_RATIO = ("rate(quicsteer_lcore_busy_cycles_total[10s]) / "
              "rate(quicsteer_lcore_cycles_total[10s])")

PROMETHEUS_YML = """global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: quicsteer
    static_configs:
      - targets: ['{target}']
"""

# GETs the URLs of argv[1] (a JSON list) from inside a namespace; prints a
# JSON list of {"status", "body"} or {"error"}
FETCH = """
import json, sys, urllib.error, urllib.request
out = []
for url in json.loads(sys.argv[1]):
    try:
        with urllib.request.urlopen(url, timeout=float(sys.argv[2])) as r:
            out.append({"status": r.status, "body": r.read().decode()})
    except urllib.error.HTTPError as e:
        out.append({"status": e.code, "body": e.read().decode(errors="replace")})
    except Exception as e:
        out.append({"error": f"{type(e).__name__}: {e}"})
print(json.dumps(out))
"""

SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def prerequisites():
    """Skipped unless Prometheus and the exporter's Python library are here."""
    if shutil.which("prometheus") is None:
        raise Skipped("no `prometheus` binary: apt-get install prometheus "
                      "(deploy/install-deps.sh)")
    interpreter = EXPORTER.read_text().splitlines()[0][2:].split()
    proc = run([*interpreter, "-c", "import prometheus_client"], check_rc=False)
    if proc.returncode != 0:
        raise Skipped(f"{' '.join(interpreter)} cannot import prometheus_client: "
                      f"apt-get install python3-prometheus-client ({proc.stderr.strip()[-200:]})")


def http_get(rig, urls, timeout=5.0):
    """GETs each URL from the server namespace; a list of {"status", "body"}
    or {"error"}."""
    proc = run(["ip", "netns", "exec", rig.server_ns, sys.executable, "-c", FETCH,
                json.dumps(urls), str(timeout)], timeout=timeout * len(urls) + 20)
    return json.loads(proc.stdout)


def scrape(rig):
    """The exporter's /metrics: (HTTP status, parsed samples, text)."""
    r = http_get(rig, [f"http://{EXPORTER_ADDR}/metrics"])[0]
    check("error" not in r, f"the exporter's /metrics: {r.get('error')}")
    return r["status"], parse_metrics(r["body"]), r["body"]


def parse_metrics(text):
    """Prometheus text format -> [(name, {label: value}, float)]."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE_RE.match(line)
        check(m is not None, f"exporter: not a sample line: {line!r}")
        labels = dict(LABEL_RE.findall(m.group(2) or ""))
        out.append((m.group(1), labels, float(m.group(3))))
    return out


def series(samples, name):
    return [(labels, v) for n, labels, v in samples if n == name]


def promql(rig, queries):
    """Instant queries to Prometheus's HTTP API: one answer ("data" of a
    successful query, else {"error": ...}) per query."""
    urls = [f"http://{PROMETHEUS_ADDR}/api/v1/query?" + urllib.parse.urlencode({"query": q})
            for q in queries]
    out = []
    for q, r in zip(queries, http_get(rig, urls)):
        if "error" in r:
            out.append({"error": r["error"]})
            continue
        try:
            body = json.loads(r["body"])
        except ValueError:
            out.append({"error": f"HTTP {r['status']}: {r['body'][:300]}"})
            continue
        out.append(body["data"] if body.get("status") == "success"
                   else {"error": f"{q}: {body.get('errorType')}: {body.get('error')}"})
    return out


def query(rig, q):
    """One instant query: its result list ([] when Prometheus has none yet)."""
    a = promql(rig, [q])[0]
    check("error" not in a, f"PromQL {q}: {a.get('error')}")
    return a["result"]


def scalar(rig, q):
    """The value of a query with one result, or None."""
    result = query(rig, q)
    return float(result[0]["value"][1]) if len(result) == 1 else None


def wait_for(what, cond, timeout, interval=0.5, ok=bool):
    """Polls cond() until ok(its value); bounded by timeout. The failure
    says the last value."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = cond()
        if ok(last):
            return last
        time.sleep(interval)
    raise TestFailure(f"{what}: not within {timeout} s (last: {last!r})")


def log_text(path):
    return path.read_text(errors="replace") if path.exists() else ""


def start_exporter(rig, log):
    with open(log, "wb") as f:
        proc = rig.popen_in("server", [EXPORTER, "--file-prefix", rig.prefix,
                                       "--listen", EXPORTER_ADDR],
                            stdout=f, stderr=subprocess.STDOUT)

    def answering():
        check(proc.poll() is None,
              f"the exporter exited {proc.returncode}:\n{log_text(log)[-2000:]}")
        r = http_get(rig, [f"http://{EXPORTER_ADDR}/metrics"], timeout=2)[0]
        return r.get("status") == 200 and "quicsteer_up 1.0" in r["body"]

    wait_for("the exporter answers /metrics with quicsteer_up 1", answering, EXPORTER_READY)
    return proc


def start_prometheus(rig, tmp):
    config = tmp / "prometheus.yml"
    config.write_text(PROMETHEUS_YML.format(target=EXPORTER_ADDR))
    (tmp / "tsdb").mkdir()
    log = tmp / "prometheus.log"
    with open(log, "wb") as f:
        proc = rig.popen_in("server", ["prometheus", f"--config.file={config}",
                                       f"--storage.tsdb.path={tmp / 'tsdb'}",
                                       f"--web.listen-address={PROMETHEUS_ADDR}",
                                       "--log.level=warn"],
                            stdout=f, stderr=subprocess.STDOUT, cwd=tmp)

    def ready():
        check(proc.poll() is None,
              f"prometheus exited {proc.returncode}:\n{log_text(log)[-2000:]}")
        return http_get(rig, [f"http://{PROMETHEUS_ADDR}/-/ready"], timeout=2)[0].get(
            "status") == 200

    wait_for("prometheus ready", ready, PROMETHEUS_READY)
    return proc, log


def stop(proc, what, log):
    """SIGTERM; the exit code must be 0."""
    proc.terminate()
    try:
        rc = proc.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired as e:
        raise TestFailure(f"{what} did not exit within {STOP_TIMEOUT} s of SIGTERM") from e
    check(rc == 0, f"{what} exited {rc} on SIGTERM:\n{log_text(log)[-2000:]}")


def check_options():
    proc = run([str(EXPORTER), "--listen", "127.0.0.1:99999", "--once"], check_rc=False)
    check_eq(proc.returncode, 2, "exporter exit code for --listen 127.0.0.1:99999")
    check("port 99999" in proc.stderr, f"exporter: unclear error: {proc.stderr.strip()}")
    proc = run([str(EXPORTER), "--file-prefix", "../x", "--once"], check_rc=False)
    check_eq(proc.returncode, 2, "exporter exit code for --file-prefix ../x")


def check_exporter(rig, samples, text, counters):
    """The families of one /metrics answer against quicsteer's counters."""
    lcore_of = {str(w): str(c["lcore_id"]) for w, c in counters.items()}
    check_eq(sorted(lcore_of), [str(w) for w in range(WORKERS)], "quicsteer's workers")
    for name in ("quicsteer_h3_requests_total", "quicsteer_rx_packets_total",
                 "quicsteer_quic_conn_active", "quicsteer_quic_mem_ngtcp2"):
        got = {lab.get("worker"): lab.get("lcore") for lab, _ in series(samples, name)}
        check_eq(got, lcore_of, f"{name}: worker -> lcore labels")
    for name, kind in (("quicsteer_h3_requests_total", "counter"),
                       ("quicsteer_quic_handshakes_completed_total", "counter"),
                       ("quicsteer_forwarded_packets_total", "counter"),
                       ("quicsteer_quic_conn_active", "gauge"),
                       ("quicsteer_quic_conn_unvalidated", "gauge"),
                       ("quicsteer_quic_mem_nghttp3", "gauge"),
                       ("quicsteer_up", "gauge")):
        check(f"# TYPE {name} {kind}\n" in text, f"exporter: {name} is not a {kind}")
    counter_names = [k for k, v in counters[0].items()
                     if isinstance(v, int) and k != "lcore_id" and k not in LOAD_KEYS
                     and not re.search(r"(^|_)(pct|pps)(_|$)", k)]
    check("h3_requests" in counter_names and len(counter_names) >= 40,
          f"quicsteer's counters: {counter_names}")
    for key in counter_names:
        name = (f"quicsteer_{key}" if key in ("quic_conn_active", "quic_conn_unvalidated",
                                              "quic_mem_ngtcp2", "quic_mem_nghttp3")
                else f"quicsteer_{key}_total")
        check_eq(len(series(samples, name)), WORKERS, f"series of {name}")
    pairs = {(lab["from"], lab["to"]) for lab, _ in
             series(samples, "quicsteer_forwarded_packets_total")}
    check_eq(pairs, {(str(a), str(b)) for a in range(WORKERS) for b in range(WORKERS)},
             "steering series (from, to)")
    check_eq(sorted(lab["worker"] for lab, _ in series(samples, "quicsteer_connections")),
             [str(w) for w in range(WORKERS)], "quicsteer_connections workers")
    for name in ("quicsteer_memory_libc_heap_in_use_bytes",
                 "quicsteer_memory_rte_malloc_in_use_bytes", "quicsteer_memory_ngtcp2_bytes",
                 "quicsteer_drain_draining", "quicsteer_drain_drained",
                 "quicsteer_drain_connections"):
        check_eq(len(series(samples, name)), 1, f"series of {name}")
    check_eq(series(samples, "quicsteer_drain_draining")[0][1], 0.0, "quicsteer_drain_draining")
    check_eq(series(samples, "quicsteer_up"), [({}, 1.0)], "quicsteer_up")
    # lcore load: exported exactly when quicsteer reports it
    for key, name in LOAD_KEYS.items():
        want = WORKERS if key in counters[0] else 0
        check_eq(len(series(samples, name)), want,
                 f"series of {name} (quicsteer reports {key}: {key in counters[0]})")
    # a percentage is no counter: busy_pct_since_start is not exported
    stray = sorted({n for n, _, _ in samples if "_pct" in n or n.endswith("_pps_total")})
    check(not stray, f"exporter: percentages or rates exported as counters: {stray}")
    for lab, v in series(samples, "quicsteer_lcore_busy_ratio"):
        check(0.0 <= v <= 1.0, f"quicsteer_lcore_busy_ratio{lab} = {v}: not in 0..1")
    print(f"exporter: {len(samples)} samples, lcore load metrics "
          f"{'present' if 'busy_cycles' in counters[0] else 'absent (older quicsteer)'}",
          flush=True)


def run_load(rig):
    proc = rig.run_in_client(
        [binary("QUICSTEER_LOAD", "app/quicsteer-load/quicsteer-load"), "-k", "--json",
         "--timeout", "10", "-c", str(CLIENTS), "-n", str(REQUESTS),
         f"https://{SERVER_V4}:{rig.port}/1k.bin"], timeout=120, check_rc=False)
    try:
        report = json.loads(proc.stdout)
    except ValueError as e:
        raise TestFailure(f"quicsteer-load exited {proc.returncode}, not JSON: "
                          f"{proc.stdout[:300]!r} {proc.stderr[-500:]}") from e
    completed = report["requests"]["completed"]
    check_eq(completed, REQUESTS, f"requests quicsteer-load completed ({report['requests']})")
    return completed


def check_dashboard(rig, counters):
    """Every expression is valid PromQL; every metric it names exists."""
    dash = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
    check(len(exprs) >= 6, f"{DASHBOARD.name}: only {len(exprs)} expressions")
    queries = [e.replace("$__rate_interval", "10s").replace("$instance", ".*") for e in exprs]
    for q, a in zip(queries, promql(rig, queries)):
        check("error" not in a, f"{DASHBOARD.name}: {a.get('error')} in {q}")
    names = sorted({n for e in exprs for n in re.findall(r"\bquicsteer_[a-z0-9_]+", e)})
    optional = set() if "busy_cycles" in counters[0] else set(LOAD_KEYS.values())
    answers = promql(rig, [f"count({{__name__=\"{n}\"}})" for n in names])
    missing = [n for n, a in zip(names, answers)
               if n not in optional and not a.get("result")]
    check(not missing, f"{DASHBOARD.name} names metrics Prometheus does not have: {missing}")
    print(f"dashboard: {len(exprs)} expressions valid, {len(names)} metric names present",
          flush=True)


def test():
    t0 = time.monotonic()
    prerequisites()
    check_options()
    with temp_dir("prom") as tmp:
        site = Site(tmp)
        with Rig("prom", workers=WORKERS, app_args=site.server_args()) as rig:
            exporter_log = tmp / "exporter.log"
            exporter = start_exporter(rig, exporter_log)

            once = run(["ip", "netns", "exec", rig.server_ns, str(EXPORTER), "--once",
                        "--file-prefix", rig.prefix])
            check("\nquicsteer_up 1.0\n" in once.stdout,
                  f"--once: no quicsteer_up 1.0 in:\n{once.stdout[:2000]}")
            status, samples, text = scrape(rig)
            check_eq(status, 200, "/metrics status")
            check_exporter(rig, samples, text, rig.counters())

            prometheus, prom_log = start_prometheus(rig, tmp)
            wait_for("Prometheus scrapes the exporter (up == 1)",
                     lambda: scalar(rig, 'up{job="quicsteer"}') == 1.0, SCRAPED)

            completed = run_load(rig)
            counters = rig.wait_quiet()
            check_eq(rig.stats()["h3_requests"], completed, "quicsteer's h3_requests")
            wait_for(f"sum(quicsteer_h3_requests_total) == {completed} in Prometheus",
                     lambda: scalar(rig, "sum(quicsteer_h3_requests_total)"),
                     SCRAPED, ok=lambda v: v == completed)

            per_worker = {r["metric"]["worker"]: (r["metric"]["lcore"], float(r["value"][1]))
                          for r in query(rig, 'quicsteer_h3_requests_total{job="quicsteer"}')}
            check_eq(per_worker, {str(w): (str(c["lcore_id"]), float(c["h3_requests"]))
                                  for w, c in counters.items()},
                     "per-worker h3_requests in Prometheus (worker: (lcore, value))")
            if "busy_cycles" in counters[0]:
                ratios = wait_for("busy ratio per lcore from rate(busy)/rate(cycles)",
                                  lambda: query(rig, BUSY_RATIO), SCRAPED,
                                  ok=lambda r: len(r) == WORKERS)
                for r in ratios:
                    check(0.0 <= float(r["value"][1]) <= 1.0,
                          f"{BUSY_RATIO} = {r['value'][1]} for {r['metric']}: not in 0..1")
            matrix = rig.steering()
            want = {(str(a), str(b)): float(matrix[a][b])
                    for a in range(WORKERS) for b in range(WORKERS)}

            wait_for(f"the steering matrix in Prometheus == quicsteer's {want}",
                     lambda: {(r["metric"]["from"], r["metric"]["to"]): float(r["value"][1])
                              for r in query(rig, "quicsteer_forwarded_packets_total")},
                     SCRAPED, ok=lambda got: got == want)
            check_eq(scalar(rig, "quicsteer_up"), 1.0, "quicsteer_up in Prometheus")
            check_dashboard(rig, counters)
            print(f"prometheus: {completed} requests, per-worker "
                  f"{ {w: v for w, (_, v) in per_worker.items()} }, steering {matrix}",
                  flush=True)

            rc, out = rig.stop()
            check_clean_exit(rig, rc, out)
            status, samples, text = scrape(rig)
            check_eq(status, 200, "/metrics status with quicsteer stopped")
            check_eq(samples, [("quicsteer_up", {}, 0.0)],
                     "/metrics with quicsteer stopped (only quicsteer_up 0)")
            wait_for("Prometheus sees quicsteer_up 0 from a successful scrape",
                     lambda: (scalar(rig, "quicsteer_up") == 0.0 and
                              scalar(rig, 'up{job="quicsteer"}') == 1.0), SCRAPED)
            # a few more scrapes: the reason is still said only once
            wait_for("three scrapes in a row with quicsteer_up 0", lambda: query(
                rig, "max_over_time(quicsteer_up[4s]) == 0 and "
                     "count_over_time(quicsteer_up[4s]) >= 3"), SCRAPED)
            downs = [l for l in log_text(exporter_log).splitlines() if "quicsteer down" in l]
            check_eq(len(downs), 1, f"'quicsteer down' lines in the exporter's log "
                                    f"({log_text(exporter_log)[-1000:]})")
            print(f"exporter: {downs[0]}", flush=True)

            stop(prometheus, "prometheus", prom_log)
            stop(exporter, "the exporter", exporter_log)
    print(f"test_prometheus: {time.monotonic() - t0:.1f} s", flush=True)


if __name__ == "__main__":
    main(test)
