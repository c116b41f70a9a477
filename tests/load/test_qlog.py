#!/usr/bin/env python3
"""qlog ([debug] qlog_dir, qlog_sample, qlog_ring): ngtcp2's qlog of sampled
connections, put on per-worker rings by the workers and written by the
control plane's log writer (the access log's thread), one file per
connection.

1. Every connection (qlog_sample = 1, 2 workers, the access log on too):
   quicsteer-load with NAT rebinding, then with active migration. Once the
   connections are gone, there is one <first server CID>.sqlog per
   handshake, named by the CIDs the access log gives for the same
   connections, nothing truncated; each is a JSON-SEQ stream (RS before
   each record, each a JSON object): the qlog header first (server
   vantage point, group_id = the ODCID, and the server's transport
   parameters naming the file's CID), then events with the handshake
   (Initial and Handshake packets both ways, HANDSHAKE_DONE sent, 1-RTT
   packets), and the path change each move makes: a PATH_CHALLENGE the
   server sends and the PATH_RESPONSE it receives (ngtcp2 0.12.1 writes
   no connectivity events: its path validation shows in the frames).
   The CLI's `set qlog on <cid>` says qlog is chosen at a connection's
   start (ngtcp2 0.12 cannot switch it on later).
2. qlog_sample = 2: per worker, exactly ceil(k / 2) files for its k
   connections.
3. qlog_ring = 16 (and 256) under a burst: the workers never wait (every
   request is answered), chunks that do not fit are counted in
   qlog_dropped, and no file is corrupt in silence: every connection not
   counted in qlog_truncated has a complete .sqlog, the cut ones a
   .sqlog.truncated (or none, when their first record was lost), and every
   file holds whole JSON records.
4. A qlog_dir that is not a writable directory stops the start with the
   section, key, path and reason."""
import json
import math
import os
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))

from loadlib import (check, check_all_completed, check_eq, check_server_exit,  # noqa: E402
                     main, make_cert, run_load, summary)
from rig import SERVER_V4, Rig, delta, temp_dir, total  # noqa: E402

WORKERS = 2
RS = b"\x1e"
CID_RE = re.compile(r"cid=([0-9a-f]+)")


def config(qdir, sample=1, ring=4096, access_log=None):
    text = f"[debug]\nqlog_dir = {qdir}\nqlog_sample = {sample}\nqlog_ring = {ring}\n"
    if access_log is not None:
        text += f"[log]\naccess_log = {access_log}\n"
    return text


def uri(rig, path="/bytes/1000"):
    return f"https://{SERVER_V4}:{rig.port}{path}"


def records(path):
    """The JSON-SEQ records of a qlog file (RFC 7464: RS, JSON text, LF);
    fails the test on anything else."""
    data = path.read_bytes()
    check(data.startswith(RS), f"{path.name}: does not start with RS: {data[:80]!r}")
    out = []
    for i, part in enumerate(data.split(RS)[1:]):
        check(part.endswith(b"\n"), f"{path.name}: record {i} does not end in LF: "
                                    f"{part[-80:]!r}")
        try:
            rec = json.loads(part)
        except ValueError as e:
            raise AssertionError(f"{path.name}: record {i} is not JSON ({e}): "
                                 f"{part[:200]!r}") from e
        check(isinstance(rec, dict), f"{path.name}: record {i} is not an object: {rec!r}")
        out.append(rec)
    check(len(out) >= 1, f"{path.name}: no record")
    return out


def check_header(name, recs):
    """ngtcp2's header first, with the ODCID as group_id; and the server's
    own transport parameters name the file's CID as its first SCID."""
    rec = recs[0]
    trace = rec.get("trace", {})
    group = trace.get("common_fields", {}).get("group_id", "")
    check(rec.get("qlog_format") == "JSON-SEQ" and
          trace.get("vantage_point", {}).get("type") == "server" and
          re.fullmatch(r"[0-9a-f]{16,40}", group) is not None,
          f"{name}: the first record is not ngtcp2's qlog header with the ODCID: {rec}")
    local = [r["data"] for r in recs if r.get("name") == "transport:parameters_set" and
             r.get("data", {}).get("owner") == "local"]
    if local:
        stem = name.split(".")[0]
        check(local[0].get("initial_source_connection_id") == stem and
              local[0].get("original_destination_connection_id") == group,
              f"{name}: local transport parameters {local[0]} vs the file name and "
              f"group_id {group}")


def packets(recs, event):
    return [r["data"] for r in recs if r.get("name") == event]


def frame_types(pkts):
    return {f.get("frame_type") for p in pkts for f in p.get("frames", [])}


def pkt_types(pkts):
    return {p.get("header", {}).get("packet_type") for p in pkts}


def check_handshake(name, recs):
    sent, recv = packets(recs, "transport:packet_sent"), packets(recs, "transport:packet_received")
    check({"initial", "handshake", "1RTT"} <= pkt_types(sent),
          f"{name}: packets sent: {sorted(map(str, pkt_types(sent)))}")
    check({"initial", "handshake", "1RTT"} <= pkt_types(recv),
          f"{name}: packets received: {sorted(map(str, pkt_types(recv)))}")
    check("handshake_done" in frame_types(sent), f"{name}: no HANDSHAKE_DONE sent")
    check("crypto" in frame_types(recv), f"{name}: no CRYPTO frame received")


def path_validations(recs):
    """PATH_CHALLENGEs the server sent, PATH_RESPONSEs it received."""
    sent = packets(recs, "transport:packet_sent")
    recv = packets(recs, "transport:packet_received")
    count = lambda pkts, t: sum(f.get("frame_type") == t for p in pkts for f in p.get("frames", []))
    return count(sent, "path_challenge"), count(recv, "path_response")


def wait_gone(rig, before, timeout=20.0):
    """Counter deltas once every connection opened since before is freed
    (each one's qlog FIN is then on its ring)."""
    snap = rig.wait_counters(lambda s: total(delta(before, s), "quic_conn_active") == 0 and
                             total(delta(before, s), "quic_conn_closed") ==
                             total(delta(before, s), "quic_conn_accepted"), timeout)
    d = delta(before, snap)
    check_eq(total(d, "quic_conn_active"), 0, "connections still open")
    return d


def sqlogs(qdir, suffix=".sqlog"):
    return {p.name[:-len(suffix)]: p for p in qdir.iterdir() if p.name.endswith(suffix)}


def wait_files(qdir, n, timeout=5.0):
    """The .sqlog files once there are n (the writer drains 50 times a second)."""
    deadline = time.monotonic() + timeout
    while len(files := sqlogs(qdir)) < n and time.monotonic() < deadline:
        time.sleep(0.05)
    return files


def access_cids(log):
    return {m.group(1) for m in map(CID_RE.search, log.read_text().splitlines()) if m}


def every_connection(rig, cert, key, tmp):
    qdir, log = tmp / "qlog-all", tmp / "access.log"
    qdir.mkdir()
    rig.start(workers=WORKERS, config=config(qdir, access_log=log),
              app_args=["--cert", cert, "--key", key, "-i"], interactive=True)
    seen = set()
    for mode, extra, c in (("rebind", (), 4), ("migrate", ("--migrate",), 3)):
        before = rig.counters()
        n = c * 12
        r = run_load(rig.client_ns, ["--ca", cert, "-c", c, "-n", n, "-m", 2,
                                     "--rebind-every", 4, *extra, uri(rig)],
                     timeout=120, json_report=True)
        what = f"qlog, --rebind-every 4 {' '.join(extra)}"
        print(f"{what}: {summary(r.report)}")
        check_all_completed(r, n, what)
        check(r.report["migrations"]["done"] >= c, f"{what}: moves {r.report['migrations']}")
        d = wait_gone(rig, before)
        handshakes = total(d, "quic_handshakes_completed")
        check_eq(handshakes, c, f"{what}: handshakes")
        check_eq(total(d, "quic_conn_accepted"), c, f"{what}: connections accepted")
        check_eq(total(d, "qlog_dropped"), 0, f"{what}: qlog_dropped")
        files = wait_files(qdir, len(seen) + c)
        cids = access_cids(log) - seen
        new = {k: p for k, p in files.items() if k not in seen}
        check_eq(sorted(new), sorted(cids),
                 f"{what}: qlog files (by name) vs the access log's first server CIDs")
        check_eq(sorted(p.name for p in qdir.iterdir() if "truncated" in p.name), [],
                 f"{what}: truncated files")
        for name, path in sorted(new.items()):
            recs = records(path)
            check_header(path.name, recs)
            check_handshake(path.name, recs)
            challenges, responses = path_validations(recs)
            check(challenges >= 1 and responses >= 1,
                  f"{what}: {path.name}: no path validation (PATH_CHALLENGE sent "
                  f"{challenges}, PATH_RESPONSE received {responses}) though the "
                  f"connection moved; events: "
                  f"{sorted({r.get('name') for r in recs[1:]})}")
            print(f"{what}: {path.name}: {len(recs)} records, {path.stat().st_size} bytes, "
                  f"PATH_CHALLENGE sent {challenges}, PATH_RESPONSE received {responses}")
        seen |= set(new)
    # the CLI cannot switch qlog on for a live connection, and says so
    rig.send_stdin(f"set qlog on {sorted(seen)[0]}\n", close=False)
    out = rig.wait_output("qlog is chosen when a connection starts", timeout=5)
    check("qlog_sample" in out and "cannot switch qlog on" in out,
          f"`set qlog on`: {out[-600:]}")
    check_server_exit(rig)
    # nothing more after the exit: every file was closed at its FIN
    check_eq(len(sqlogs(qdir)), len(seen), "qlog files after the exit")
    check("qlog " in rig.output() and "truncated" in rig.output(),
          f"no qlog summary at exit: {rig.output()[-1500:]}")


def sampled(rig, cert, key, tmp):
    qdir = tmp / "qlog-half"
    qdir.mkdir()
    rig.start(workers=WORKERS, config=config(qdir, sample=2),
              app_args=["--cert", cert, "--key", key])
    before = rig.counters()
    conns, per = 11, 2
    r = run_load(rig.client_ns, ["--ca", cert, "-c", 1, "-n", conns * per,
                                 "--conn-requests", per, uri(rig, "/bytes/100")],
                 timeout=120, json_report=True)
    check_all_completed(r, conns * per, "qlog_sample = 2")
    d = wait_gone(rig, before)
    accepted = {w: d[w]["quic_conn_accepted"] for w in sorted(d)}
    check_eq(sum(accepted.values()), conns, "connections accepted")
    want = sum(math.ceil(k / 2) for k in accepted.values())
    files = wait_files(qdir, want)
    check_server_exit(rig)
    files = sqlogs(qdir)
    print(f"qlog_sample = 2: connections per worker {accepted}, {len(files)} files "
          f"(ceil(k/2) per worker: {want})")
    check_eq(len(files), want, "qlog files with qlog_sample = 2")
    for path in files.values():
        check_header(path.name, records(path))


def small_ring(rig, cert, key, tmp, ring):
    """ring = 16: (nearly) every connection is cut; 256: some are, here,
    and the others are complete; the same accounting holds either way."""
    qdir = tmp / f"qlog-ring-{ring}"
    qdir.mkdir()
    rig.start(workers=WORKERS, config=config(qdir, ring=ring),
              app_args=["--cert", cert, "--key", key])
    before = rig.counters()
    n, c = 2000, 8
    r = run_load(rig.client_ns, ["--ca", cert, "-c", c, "-m", 16, "-n", n,
                                 uri(rig, "/bytes/10")], timeout=120, json_report=True)
    what = f"qlog_ring = {ring}"
    check_all_completed(r, n, what)
    d = wait_gone(rig, before)
    check_server_exit(rig)
    accepted = total(d, "quic_conn_accepted")
    dropped, cut = total(d, "qlog_dropped"), total(d, "qlog_truncated")
    complete, truncated = sqlogs(qdir), sqlogs(qdir, ".sqlog.truncated")
    print(f"{what}: {accepted} connections, qlog_dropped {dropped}, "
          f"qlog_truncated {cut}; {len(complete)} complete files, "
          f"{len(truncated)} truncated")
    if ring == 16:
        check(dropped > 0 and cut > 0, "a 16-record ring never overflowed: the "
                                       "test does not test the drop path")
    check(cut <= accepted, f"{what}: qlog_truncated {cut} > connections {accepted}")
    check_eq(len(complete), accepted - cut,
             f"{what}: complete .sqlog files = connections not in qlog_truncated")
    check(len(truncated) <= cut,
          f"{what}: {len(truncated)} truncated files > qlog_truncated {cut}")
    check_eq(set(complete) & set(truncated), set(), f"{what}: a connection with both files")
    for path in complete.values():
        recs = records(path)
        check_header(path.name, recs)
        check_handshake(path.name, recs)
    for path in truncated.values():
        records(path)      # whole records up to the loss


def bad_dir(rig, cert, key, tmp):
    not_dir = tmp / "a-file"
    not_dir.write_text("x\n")
    for qdir, why in (("/nonexistent-qlog-dir", "No such file or directory"),
                      (str(not_dir), "Not a directory")):
        rig.start(workers=WORKERS, config=config(qdir),
                  app_args=["--cert", cert, "--key", key], wait_ready=False)
        rc, out = rig.wait_exit(20)
        check(rc != 0, f"quicsteer started with qlog_dir {qdir}:\n{out[-1500:]}")
        check(f"[debug] qlog_dir '{qdir}': {why}" in out,
              f"the error does not name the section, key, path and reason:\n{out[-1500:]}")


def test():
    with temp_dir("qsqlog") as tmp:
        os.chmod(tmp, 0o755)
        cert, key = make_cert(tmp, "quicsteer")
        with Rig("qlog", workers=WORKERS, start=False) as rig:
            every_connection(rig, cert, key, tmp)
            sampled(rig, cert, key, tmp)
            for ring in (16, 256):
                small_ring(rig, cert, key, tmp, ring)
            bad_dir(rig, cert, key, tmp)


if __name__ == "__main__":
    main(test)
