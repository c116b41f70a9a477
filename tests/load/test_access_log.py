#!/usr/bin/env python3
"""The access log ([log] access_log): one line per response, written by the
control plane from per-worker rings.

1. Text format: quicsteer-load's requests (half of them to a path that
   does not exist) give exactly one line each, with the right status, body
   bytes, client address and port, a worker in range, the connection's
   first server CID and complete=1.
2. JSON lines: every line parses and carries the documented keys.
3. logrotate: after the file is renamed, SIGHUP (and the CLI's `reopen`)
   make quicsteer write to a new file at the path; the renamed file keeps
   what it had and gets nothing more.
4. A full ring never blocks a worker: with access_ring = 16 and a burst of
   small responses, records that do not fit are counted in
   access_log_dropped, and lines + dropped = responses: nothing else lost.
5. A path that cannot be opened stops the start with a clear error."""
import json
import os
import re
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))

from loadlib import check, check_eq, check_server_exit, main, make_cert, run_load  # noqa: E402
from rig import CLIENT_V4, SERVER_V4, Rig, delta, temp_dir, total  # noqa: E402

WORKERS = 2
TEXT_RE = re.compile(
    r'^(?P<addr>\S+) - - \[(?P<time>\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d\.\d{3} \+0000)\] '
    r'"(?P<method>\S+) (?P<path>\S+) HTTP/3" (?P<status>\d{3}) (?P<bytes>\d+) '
    r'port=(?P<port>\d+) worker=(?P<worker>\d+) cid=(?P<cid>[0-9a-f]+) '
    r'duration_us=(?P<dur>\d+) early_data=(?P<early>[01]) complete=(?P<complete>[01])$')
JSON_KEYS = {"time", "client", "port", "worker", "cid", "method", "path", "status",
             "body_bytes", "duration_us", "early_data", "complete"}


def config(log, fmt="text", ring=4096):
    return f"[log]\naccess_log = {log}\naccess_format = {fmt}\naccess_ring = {ring}\n"


def uris(rig, *paths):
    return [f"https://{SERVER_V4}:{rig.port}{p}" for p in paths]


def wait_lines(path, n, timeout=30.0):
    """The file's lines once it has n (bounded). A line is written when its
    stream closes, or when its connection is freed: after the client's
    CONNECTION_CLOSE, three PTOs later, seconds on a loaded machine."""
    deadline = time.monotonic() + timeout
    while True:
        lines = path.read_text().splitlines() if path.exists() else []
        if len(lines) >= n or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


def text_format(rig, cert, key, tmp):
    log = tmp / "access.log"
    rig.start(workers=WORKERS, config=config(log), app_args=["--cert", cert, "--key", key])
    n = 200
    r = run_load(rig.client_ns, ["--ca", cert, "-c", 4, "-m", 4, "-n", n,
                                 *uris(rig, "/bytes/1000", "/no/such/file")],
                 json_report=True)
    lines = wait_lines(log, n)
    check_eq(len(lines), n, f"access log lines for {n} requests")
    parsed = [TEXT_RE.match(l) for l in lines]
    bad = [l for l, m in zip(lines, parsed) if m is None]
    check(not bad, f"{len(bad)} lines not in the documented format, e.g. {bad[:2]}")
    by_status = {}
    for m in parsed:
        by_status[m["status"]] = by_status.get(m["status"], 0) + 1
    check_eq(by_status, {"200": n // 2, "404": n // 2}, "lines by status")
    check_eq(r.report["status"]["2xx"], n // 2, "2xx quicsteer-load saw")
    for m in parsed:
        check(m["addr"] == CLIENT_V4 and 1024 <= int(m["port"]) <= 65535,
              f"client address and port: {m.group(0)}")
        check(int(m["worker"]) < WORKERS and m["method"] == "GET" and
              m["complete"] == "1" and m["early"] == "0", f"line: {m.group(0)}")
        if m["status"] == "200":
            check(m["path"] == "/bytes/1000" and m["bytes"] == "1000",
                  f"a 200 line: {m.group(0)}")
        else:
            check(m["path"] == "/no/such/file" and int(m["bytes"]) > 0,
                  f"a 404 line: {m.group(0)}")
    cids = {m["cid"] for m in parsed}
    check(len(cids) == 4 and all(len(c) == 16 for c in cids),
          f"4 connections, 8-byte server CIDs (nibble): {cids}")
    print(f"text: {len(lines)} lines, by status {by_status}, cids {sorted(cids)}; "
          f"e.g. {lines[0]}")
    return log


def rotation(rig, cert, log):
    rotated = log.with_suffix(".log.1")
    log.rename(rotated)
    rig.proc.send_signal(signal.SIGHUP)
    check(wait_lines(log, 0, 0) == [] and rig.wait_output("reopened", timeout=5),
          "no 'reopened' line after SIGHUP")
    check(rig.alive(), "SIGHUP ended quicsteer")
    before = len(rotated.read_text().splitlines())
    run_load(rig.client_ns, ["--ca", cert, "-n", 20, *uris(rig, "/bytes/10")])
    lines = wait_lines(log, 20)
    check_eq(len(lines), 20, "lines in the new file after SIGHUP")
    check_eq(len(rotated.read_text().splitlines()), before, "lines in the rotated file")
    print(f"SIGHUP: the rotated file kept {before} lines, the new one got {len(lines)}")
    check_server_exit(rig)


def json_lines(rig, cert, key, tmp):
    log = tmp / "access.json"
    rig.start(workers=WORKERS, config=config(log, "json"),
              app_args=["--cert", cert, "--key", key, "-i"], interactive=True)
    n = 60
    run_load(rig.client_ns, ["--ca", cert, "-c", 3, "-n", n,
                             *uris(rig, "/bytes/5", '/a"b\\c%01')])
    lines = wait_lines(log, n)
    check_eq(len(lines), n, f"JSON lines ({lines[-3:]})")
    recs = [json.loads(l) for l in lines]
    for rec in recs:
        check(set(rec) == JSON_KEYS, f"JSON keys {sorted(rec)}")
        check(isinstance(rec["status"], int) and isinstance(rec["early_data"], bool) and
              isinstance(rec["body_bytes"], int) and rec["client"] == CLIENT_V4,
              f"JSON types: {rec}")
    paths = {rec["path"] for rec in recs}
    check_eq(paths, {"/bytes/5", '/a"b\\c%01'}, "paths, quote and backslash included")
    # the CLI's reopen, too
    log.rename(log.with_suffix(".json.1"))
    rig.send_stdin("reopen\n", close=False)
    rig.wait_output("reopened", timeout=5)
    run_load(rig.client_ns, ["--ca", cert, "-n", 5, *uris(rig, "/bytes/5")])
    check_eq(len(wait_lines(log, 5)), 5, "JSON lines after the CLI's reopen")
    print(f"json: {len(recs)} lines parsed, e.g. {lines[-1]}")
    check_server_exit(rig)


def full_ring(rig, cert, key, tmp):
    log = tmp / "small-ring.log"
    rig.start(workers=WORKERS, config=config(log, ring=16),
              app_args=["--cert", cert, "--key", key])
    before = rig.counters()
    n = 6000
    run_load(rig.client_ns, ["--ca", cert, "-c", 8, "-m", 16, "-n", n,
                             *uris(rig, "/bytes/10")], timeout=120)
    d = delta(before, rig.wait_quiet(timeout=10))
    dropped = total(d, "access_log_dropped")
    responses = total(d, "h3_responses_2xx")
    lines = wait_lines(log, responses - dropped)
    print(f"access_ring 16: {responses} responses, {len(lines)} lines, "
          f"{dropped} dropped and counted")
    check_eq(responses, n, "responses")
    check(dropped > 0, "a 16-record ring never overflowed under a burst: "
                       "the test does not test the drop path")
    check_eq(len(lines) + dropped, responses, "lines + access_log_dropped")
    check_server_exit(rig)


def bad_path(rig, cert, key):
    rig.start(workers=WORKERS, config=config("/nonexistent-dir/access.log"),
              app_args=["--cert", cert, "--key", key], wait_ready=False)
    rc, out = rig.wait_exit(20)
    check(rc != 0, f"quicsteer started with an access log it cannot open:\n{out[-1500:]}")
    check("[log] access_log '/nonexistent-dir/access.log': No such file or directory" in out,
          f"the error does not name the key, path and reason:\n{out[-1500:]}")


def test():
    with temp_dir("qsalog") as tmp:
        os.chmod(tmp, 0o755)
        cert, key = make_cert(tmp, "quicsteer")
        with Rig("alog", workers=WORKERS, start=False) as rig:
            log = text_format(rig, cert, key, tmp)
            rotation(rig, cert, log)
            json_lines(rig, cert, key, tmp)
            full_ring(rig, cert, key, tmp)
            bad_path(rig, cert, key)


if __name__ == "__main__":
    main(test)
