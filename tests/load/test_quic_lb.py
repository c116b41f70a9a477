#!/usr/bin/env python3
"""QUIC-LB connection IDs ([dataplane] cid_format = quic-lb) on the rig,
with quicsteer-load rebinding its connections through the NAT-like moves
of --rebind-every, so that packets reach workers other than the owner:
- plaintext CIDs, 4 workers: every request completes, every connection
  survives its moves, the owners took forwarded packets, no stateless
  reset; the server CIDs telemetry lists carry the config id and length in
  the first octet, then this node's id, then the owning worker;
- four-pass AES CIDs: the same load, the same result;
- a short header naming another node of the fleet gets no reset and is
  counted (quic_drop_other_node); one naming this node but no connection
  gets its stateless reset;
- 32 workers on the 2 CPUs (pipeline layout, 2 I/O lcores): connections
  spread over the workers, every request completes after the moves.
quicsteer then stops cleanly (exit 0, no sanitizer report)."""
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))

from loadlib import (check, check_all_completed, check_eq, check_server_exit,  # noqa: E402
                     load_binary, main, make_cert, run_load, summary)
from rig import SERVER_V4, Rig, check_stateless_resets, delta, temp_dir, total  # noqa: E402

NODE, OTHER_NODE, CONFIG_ID = 7, 8, 2
SID_LEN, NONCE_LEN = 2, 8                 # node byte, worker byte; 11-byte CIDs
PATH = "/bytes/2000"


def config(key=None, extra="", sections=""):
    return (f"[dataplane]\ncid_format = quic-lb\n{extra}"
            f"[quic_lb]\nconfig_id = {CONFIG_ID}\nserver_id_len = {SID_LEN}\n"
            f"nonce_len = {NONCE_LEN}\nnode_id = {NODE}\n"
            f"key = {key or ''}\nself_describing_length = on\n{sections}")


def load(rig, cert, c, n, m, every):
    return run_load(rig.client_ns,
                    ["--ca", cert, "-c", c, "-n", n, "-m", m, "--rebind-every", every,
                     f"https://{SERVER_V4}:{rig.port}{PATH}"],
                    timeout=240, json_report=True)


def settle(rig, before, requests):
    rig.wait_counters(lambda s: total(delta(before, s), "h3_responses_2xx") >= requests, 10)
    return delta(before, rig.wait_quiet(timeout=15))


def run_and_check(rig, cert, what, c, n, m=2, every=5):
    before = rig.counters()
    r = load(rig, cert, c, n, m, every)
    rep = r.report
    print(f"{what}: {summary(rep)}")
    check_all_completed(r, n, what)
    check_eq(rep["bytes"]["body"], n * 2000, f"{what}: body bytes")
    check_eq(rep["migrations"]["connections_survived"], c, f"{what}: connections survived")
    d = settle(rig, before, n)
    fwd, resets = total(d, "quic_forwarded_in"), total(d, "quic_stateless_resets_sent")
    accepted = [d[w]["quic_conn_accepted"] for w in sorted(w for w in d if isinstance(w, int))]
    print(f"{what}: quic_forwarded_in {fwd}, quic_stateless_resets_sent {resets}, "
          f"accepted per worker {accepted}")
    check(fwd > 0, f"{what}: nothing was forwarded to an owner")
    check_eq(resets, 0, f"{what}: quic_stateless_resets_sent")
    check_eq(total(d, "h3_responses_2xx"), n, f"{what}: h3_responses_2xx")
    return accepted


def check_cids(rig, what):
    conns = rig.conns(top=16)["busiest"]
    check(len(conns) > 0, f"{what}: no connection listed")
    for cid, info in conns.items():
        b = bytes.fromhex(cid)
        check_eq(len(b), 1 + SID_LEN + NONCE_LEN, f"{what}: CID {cid} length")
        check_eq(b[0], CONFIG_ID << 5 | (len(b) - 1), f"{what}: CID {cid} first octet")
        check_eq(b[1], NODE, f"{what}: CID {cid} node")
        check_eq(b[2], info["worker"], f"{what}: CID {cid} worker")
    print(f"{what}: {len(conns)} listed CIDs name node {NODE} and their worker")


def short_header_to(node, worker):
    """A 1-RTT packet whose plaintext QUIC-LB DCID names node and worker."""
    dcid = bytes([CONFIG_ID << 5 | (SID_LEN + NONCE_LEN), node, worker]) + os.urandom(NONCE_LEN)
    return bytes([0x40 | (os.urandom(1)[0] & 0x3f)]) + dcid + os.urandom(40)


def test():
    with temp_dir("qslb") as tmp:
        cert, key = make_cert(tmp, "quicsteer")
        app = ["--cert", cert, "--key", key]
        with Rig("qlb", workers=4, config=config(), app_args=app) as rig:
            run_and_check(rig, cert, "quic-lb plaintext, 4 workers", c=8, n=160, m=4)

            before = rig.counters()
            res = rig.probe([short_header_to(OTHER_NODE, 1) for _ in range(4)])
            d = delta(before, rig.wait_quiet(timeout=5))
            check(all(len(r["replies"]) == 0 for r in res),
                  f"a CID of node {OTHER_NODE} drew a reply: {res}")
            check_eq(total(d, "quic_drop_other_node"), 4, "quic_drop_other_node")
            res = rig.probe([short_header_to(NODE, 1) for _ in range(2)])
            check_stateless_resets(res, rig.server_addr(), f"an unknown CID of node {NODE}")
            print(f"node {OTHER_NODE}'s CIDs: dropped and counted; node {NODE}'s: reset")

            # a live connection's CIDs, as telemetry lists them
            check_cids_after_load(rig, cert)
            check_server_exit(rig)

        with Rig("qlbk", workers=4, config=config(key="0123456789abcdef0123456789abcdef"),
                 app_args=app) as rig:
            run_and_check(rig, cert, "quic-lb four-pass AES, 4 workers", c=8, n=160, m=4)
            check_server_exit(rig)

        with Rig("qlb32", workers=32, io_lcores=2,
                 # 32 connection tables in the rig's 512 MiB
                 config=config(extra="layout = pipeline\nio_lcores = 2\n",
                               sections="[quic]\nmax_conns = 256\n"),
                 app_args=app) as rig:
            accepted = run_and_check(rig, cert, "quic-lb plaintext, 32 workers", c=64,
                                     n=256, m=2, every=2)
            busy = sum(1 for a in accepted if a > 0)
            check(busy >= 16, f"32 workers: only {busy} accepted connections: {accepted}")
            check_server_exit(rig)


def check_cids_after_load(rig, cert):
    """Connections held open a moment (--hold) while telemetry lists them."""
    proc = subprocess.Popen(["ip", "netns", "exec", rig.client_ns, load_binary(), "--ca", cert,
                             "-c", "4", "-n", "4", "--hold", "5", "-q",
                             f"https://{SERVER_V4}:{rig.port}{PATH}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if rig.conns(top=16)["busiest"]:
                break
            time.sleep(0.2)
        check_cids(rig, "quic-lb plaintext")
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main(test)
