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
2. Live ([debug] qlog_live = on, qlog_sample = 0): two connections
   download with NAT rebinding; no file appears until `set qlog on <cid>`
   names one of them. Then that connection alone gets a file, complete and
   parsing, whose header has ngtcp2's form with its ODCID, and whose events
   are from after the command: 1-RTT packets and the path validation of
   the rebindings that follow, no Initial. `show conn` says "qlog on", a
   second `set qlog on` says it is already on, an unknown CID is named.
   A reload that turns qlog_live off (and samples the first connection
   per worker) reaches new connections: one started then without qlog
   cannot get it, and the command says why; a reload to qlog_sample = 0
   without qlog_live is refused.
3. qlog_sample = 2: per worker, exactly ceil(k / 2) files for its k
   connections.
4. qlog_ring = 16 (and 256) under a burst: the workers never wait (every
   request is answered), chunks that do not fit are counted in
   qlog_dropped, and no file is corrupt in silence: every connection not
   counted in qlog_truncated has a complete .sqlog, the cut ones a
   .sqlog.truncated (or none, when their first record was lost), and every
   file holds whole JSON records.
5. A qlog_dir that is not a writable directory stops the start with the
   section, key, path and reason."""
import json
import math
import os
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))

from fleet import Load  # noqa: E402
from loadlib import (check, check_all_completed, check_eq, check_server_exit,  # noqa: E402
                     main, make_cert, run_load, summary)
from rig import SERVER_V4, Rig, delta, temp_dir, total  # noqa: E402

WORKERS = 2
RS = b"\x1e"
CID_RE = re.compile(r"cid=([0-9a-f]+)")
CONN_LINE_RE = re.compile(r"^\d+\s+([0-9a-f]{16,40})\s+\S+\s+open\s", re.M)


def config(qdir, sample=1, ring=4096, access_log=None, live="off"):
    text = (f"[debug]\nqlog_dir = {qdir}\nqlog_sample = {sample}\nqlog_ring = {ring}\n"
            f"qlog_live = {live}\n")
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
    # a connection that is gone
    rig.send_stdin(f"set qlog on {sorted(seen)[0]}\n", close=False)
    rig.wait_output(f"no connection with CID {sorted(seen)[0]}", timeout=5)
    check_server_exit(rig)
    # nothing more after the exit: every file was closed at its FIN
    check_eq(len(sqlogs(qdir)), len(seen), "qlog files after the exit")
    check("qlog " in rig.output() and "truncated" in rig.output(),
          f"no qlog summary at exit: {rig.output()[-1500:]}")


def cli(rig, command, answer, timeout=5):
    """Types command at the CLI and waits for answer; the output after the
    command was typed."""
    mark = len(rig.output())
    rig.send_stdin(command + "\n", close=False)
    deadline = time.monotonic() + timeout
    while answer not in (out := rig.output()[mark:]):
        check(rig.alive() and time.monotonic() < deadline,
              f"`{command}`: no {answer!r} within {timeout} s:\n{out[-2000:]}")
        time.sleep(0.05)
    return out


def open_cids(rig, n, timeout=10):
    """The CIDs of the n open connections `show conns` lists."""
    deadline = time.monotonic() + timeout
    while True:
        out = cli(rig, "show conns", "(total", timeout)
        cids = CONN_LINE_RE.findall(out)
        if len(cids) == n or time.monotonic() > deadline:
            check_eq(len(cids), n, f"open connections in `show conns`:\n{out}")
            return cids
        time.sleep(0.2)


def qlog_of(rig, cid):
    """What `show conn` says of the connection's qlog."""
    out = cli(rig, f"show conn {cid}", "heap bytes")
    m = re.search(r"qlog (on|off|armed|ended|truncated)", out)
    check(m is not None, f"`show conn {cid}` does not give its qlog state:\n{out}")
    return m.group(1)


def live(rig, cert, key, tmp):
    qdir = tmp / "qlog-live"
    qdir.mkdir()
    ini = Path(rig.write_file("qlog-live.ini", config(qdir, sample=0, live="on")))
    rig.start(workers=WORKERS, interactive=True,
              app_args=["--config", ini, "--cert", cert, "--key", key, "-i"])
    before = rig.counters()
    load = Load(rig, ["--ca", cert, "-c", 2, "-m", 1, "-D", 3, "--rebind-every", 100,
                      uri(rig, "/bytes/3000")], "qlog-live")
    first, other = open_cids(rig, 2)
    time.sleep(0.5)
    check_eq(sorted(qdir.iterdir()), [], "qlog files before `set qlog on`")
    check_eq(qlog_of(rig, first), "armed", f"qlog of {first} before the command")
    cli(rig, f"set qlog on {first}", f"qlog on for {first}: {qdir}/{first}.sqlog")
    check_eq(qlog_of(rig, first), "on", f"qlog of {first} after the command")
    check_eq(qlog_of(rig, other), "armed", f"qlog of {other}, not named")
    cli(rig, f"set qlog on {first}", f"qlog for {first} is already on")
    cli(rig, "set qlog on 00112233445566778899", "no connection with CID 00112233445566778899")
    cli(rig, "set qlog on 0x12", "'0x12' is not a connection ID in hex")
    rep = load.wait()
    what = "qlog_live, `set qlog on` during a rebinding download"
    print(f"{what}: {summary(rep)}")
    check(rep["requests"]["completed"] > 100 and rep["requests"]["failed"] == 0,
          f"{what}: requests {rep['requests']}")
    check(rep["migrations"]["done"] >= 4, f"{what}: moves {rep['migrations']}")
    d = wait_gone(rig, before)
    check_eq(total(d, "qlog_dropped"), 0, f"{what}: qlog_dropped")
    check_eq(total(d, "qlog_truncated"), 0, f"{what}: qlog_truncated")
    files = wait_files(qdir, 1)
    check_eq(sorted(p.name for p in qdir.iterdir()), [f"{first}.sqlog"],
             f"{what}: files in the qlog directory")
    recs = records(files[first])
    check_header(files[first].name, recs)
    check_eq(sorted(recs[0]), ["qlog_format", "qlog_version", "trace"],
             f"{what}: the header's fields")
    events = recs[1:]
    sent, recv = packets(events, "transport:packet_sent"), packets(events, "transport:packet_received")
    check("initial" not in pkt_types(sent) | pkt_types(recv) and
          "1RTT" in pkt_types(sent) and "1RTT" in pkt_types(recv),
          f"{what}: packet types {sorted(map(str, pkt_types(sent) | pkt_types(recv)))}: "
          f"not those of a connection logged from after its handshake")
    check(all(r.get("time", -1) > 0 for r in events),
          f"{what}: an event without a time after the connection's start")
    challenges, responses = path_validations(events)
    check(challenges >= 1 and responses >= 1,
          f"{what}: no path validation after the command (PATH_CHALLENGE sent "
          f"{challenges}, PATH_RESPONSE received {responses})")
    print(f"{what}: {first}.sqlog: {len(recs)} records from {events[0]['time']} ms "
          f"after the start, PATH_CHALLENGE sent {challenges}, PATH_RESPONSE "
          f"received {responses}; {other}: no file")

    # a reload turns qlog_live off for new connections
    ini.write_text(config(qdir, sample=0, live="off"))
    out = cli(rig, "reload", "[debug] qlog_sample = 0 with qlog_live = off")
    check("reload refused: config error:" in out, f"a reload to qlog_sample = 0 alone: {out}")
    ini.write_text(config(qdir, sample=4294967295, live="off"))
    cli(rig, "reload", "reload: generation 2")
    load = Load(rig, ["--ca", cert, "-c", 4, "-m", 1, "-D", 3, uri(rig, "/bytes/3000")],
                "qlog-live-off")
    states = {c: qlog_of(rig, c) for c in open_cids(rig, 4)}
    off = [c for c, st in states.items() if st == "off"]
    check(len(off) >= 2 and set(states.values()) <= {"on", "off"},
          f"qlog states after the reload to qlog_live = off, qlog_sample = 2^32 - 1: {states}")
    out = cli(rig, f"set qlog on {off[0]}", "started without qlog")
    check("qlog_live = on" in out and "(now off" in out, f"`set qlog on` of {off[0]}: {out}")
    load.wait()
    check_server_exit(rig)
    check(not (qdir / f"{off[0]}.sqlog").exists(), f"{off[0]}: a file without qlog")


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
            live(rig, cert, key, tmp)
            sampled(rig, cert, key, tmp)
            for ring in (16, 256):
                small_ring(rig, cert, key, tmp, ring)
            bad_dir(rig, cert, key, tmp)


if __name__ == "__main__":
    main(test)
