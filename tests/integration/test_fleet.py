#!/usr/bin/env python3
"""A fleet of three quicsteer nodes behind an existing load balancer
(nftables in a namespace of its own, the table quicsteer-cid prints; see
fleet.py), 3 workers each, QUIC-LB CIDs naming node and worker. Clients
only ever talk to the service address 198.18.0.1 (issue 11 items 4 and 5).

1. Load: 200 connections (quicsteer-load, at most 16 handshakes at once),
   5 requests each for a 48 KiB file; a quarter of them move to a new
   port unannounced after every 2 requests (NAT rebindings: a new 4-tuple
   the LB routes by the server ID in the DCID); beside them 20 connections
   that migrate actively (new path validated, new CID) after every 2
   requests. Every request completes with 2xx and the full body; no
   stateless reset reaches a client or leaves a node; every node got a
   share of the connections and the handshakes add up to the connections
   made; nothing reached a node other than its connection's (no
   quic_drop_other_node, no quic_drop_no_conn, nothing the LB could not
   route); the nodes counted the path changes, and steered datagrams
   between their workers.
2. gtlsclient downloads 8 MiB through a real NAT in the client namespace
   (nat.py) that rebinds to another port mid-download, and another 8 MiB
   with an active migration (--change-local-addr) mid-download: the right
   bytes (SHA-256), served by one node, which counted the path change.
3. The reset oracle between nodes: short headers sent from the LB
   namespace straight to node 2, naming node 1 or node 3, draw no reply
   and are counted (quic_drop_other_node exactly the number sent); naming
   node 2 itself (no such connection) they draw stateless resets.
4. A short header to the service whose DCID the table cannot route
   (config id 7) is dropped and counted at the LB, reaching no node.
The nodes then stop cleanly (exit 0, no sanitizer report)."""
import os
import time

from fleet import (CID_LEN, Fleet, Load, check_load, load_summary, off_diagonal,
                   short_header_to)
from h3 import Site, check_body, check_ok
from nat import active_migration_run, add_file, limit_download, rebinding_run
from rig import (SERVER_V4, check, check_eq, check_no_replies, check_stateless_resets,
                 delta, main, temp_dir, total)

FILE, FILE_SIZE = "48k.bin", 48 * 1024
CONNS, REQS = 200, 5            # 5 requests: each move is followed by one
MAX_PENDING = 16
REBIND_EVERY, REBIND_FRACTION = 2, 0.25
MIG_CONNS = 20
BIG, BIG_SIZE = "8m.bin", 8 << 20
DOWNLOAD_PATHS = ["/hello.txt", f"/{BIG}", "/1k.bin"]
REBIND_AT = 1 << 20
NAT_P1, NAT_P2 = 10001, 10002   # below fleet.CLIENT_PORTS: never used before
CHANGE_AFTER = "150ms"
LINK_RATE = "50mbit"            # 8 MiB in 1.3 s: the change lands mid-transfer
PROBES = 12                     # per oracle case, over the workers

# printed per node after the load
FIGURES = ["quic_conn_accepted", "quic_handshakes_completed", "h3_requests",
           "h3_responses_2xx", "quic_path_migrations", "quic_forwarded_in",
           "quic_forward_dropped", "quic_stateless_resets_sent", "quic_drop_other_node",
           "quic_drop_no_conn", "quic_drop_unauthenticated", "quic_drop_pn_guard"]


def url(path):
    return f"https://{SERVER_V4}:4433{path}"


def load_phase(fleet, site):
    before = fleet.snapshot()
    lb_before = fleet.lb_counters()
    t0 = time.monotonic()
    main_load = Load(fleet, ["--ca", site.cert, "-c", CONNS, "-n", CONNS * REQS,
                             "--max-pending", MAX_PENDING, "--rebind-every", REBIND_EVERY,
                             "--rebind-fraction", REBIND_FRACTION, url(f"/{FILE}")], "rebind")
    mig_load = Load(fleet, ["--ca", site.cert, "-c", MIG_CONNS, "-n", MIG_CONNS * REQS,
                            "--migrate", "--rebind-every", REBIND_EVERY, url(f"/{FILE}")],
                    "migrate")
    rep, mig = main_load.wait(), mig_load.wait()
    print(f"load with rebindings: {load_summary(rep)}")
    print(f"load with active migrations: {load_summary(mig)}")
    d = fleet.deltas(before, fleet.wait_quiet())
    lb = fleet.lb_counters()
    print(f"load phase: {time.monotonic() - t0:.1f} s")

    what = f"{CONNS} connections with rebindings"
    check_load(rep, what, CONNS * REQS, FILE_SIZE)
    check_eq(rep["connections"]["succeeded"], CONNS, f"{what}: connections succeeded")
    moved = rep["migrations"]["connections_moved"]
    check_eq(moved, int(CONNS * REBIND_FRACTION), f"{what}: connections rebound")
    check_eq(rep["migrations"]["connections_survived"], moved,
             f"{what}: rebound connections that survived")
    what = f"{MIG_CONNS} connections with active migrations"
    check_load(mig, what, MIG_CONNS * REQS, FILE_SIZE)
    check_eq(mig["connections"]["succeeded"], MIG_CONNS, f"{what}: connections succeeded")
    check_eq(mig["migrations"]["connections_survived"], MIG_CONNS,
             f"{what}: migrated connections that survived")

    conns = rep["connections"]["handshakes"] + mig["connections"]["handshakes"]
    requests = rep["requests"]["completed"] + mig["requests"]["completed"]
    moves = rep["migrations"]["done"] + mig["migrations"]["done"]
    per_node = {}
    for n, (dn, m) in d.items():
        per_node[n] = {k: total(dn, k) for k in FIGURES}
        per_node[n]["steered"] = off_diagonal(m)
        print(f"node {n}: " + ", ".join(f"{k} {v}" for k, v in per_node[n].items())
              + f"; steering matrix {m}")
    to_node = {n: lb["to_node"][n] - lb_before["to_node"][n] for n in fleet.nodes}
    from_node = {n: lb["from_node"][n] - lb_before["from_node"][n] for n in fleet.nodes}
    print(f"LB: packets to nodes {to_node}, from nodes "
          f"{from_node}, unroutable (dropped) {lb['dropped'] - lb_before['dropped']}")
    shares = {n: f["quic_handshakes_completed"] for n, f in per_node.items()}
    print(f"connections per node {shares} of {conns}; requests {requests}; moves {moves}; "
          f"datagrams steered between workers {sum(f['steered'] for f in per_node.values())}")

    check_eq(lb["dropped"] - lb_before["dropped"], 0,
             "LB: datagrams to the service no rule of the table routed (its drop counter)")
    for n, f in per_node.items():
        check(f["quic_handshakes_completed"] > 0,
              f"node {n}: no connection (quic_handshakes_completed 0): the LB's hash "
              f"gave it no share; per node {shares}")
        check(to_node[n] > 0, f"node {n}: the LB forwarded it nothing")
        for counter in ("quic_stateless_resets_sent", "quic_drop_other_node",
                        "quic_drop_no_conn", "quic_forward_dropped"):
            check_eq(f[counter], 0, f"node {n}: {counter} during the load")
        check(f["steered"] > 0,
              f"node {n}: no datagram steered between its workers (steering matrix "
              f"off-diagonal 0) although {f['quic_path_migrations']} paths changed there")
        check_eq(f["quic_forwarded_in"], f["steered"],
                 f"node {n}: quic_forwarded_in vs its steering matrix")
    for counter, expected in (("quic_handshakes_completed", conns),
                              ("quic_conn_accepted", conns),
                              ("h3_responses_2xx", requests)):
        got = sum(f[counter] for f in per_node.values())
        by_node = {n: f[counter] for n, f in per_node.items()}
        check_eq(got, expected, f"{counter} summed over the nodes ({by_node}) vs the "
                                f"clients' count")
    mig_seen = sum(f["quic_path_migrations"] for f in per_node.values())
    check(mig_seen >= moves,
          f"quic_path_migrations summed over the nodes {mig_seen}: fewer than the "
          f"{moves} moves the clients made ({rep['migrations']['done']} rebindings, "
          f"{mig['migrations']['done']} migrations)")


def one_node(fleet, d, what, paths):
    """The node that served a gtlsclient run (accepted its connection)
    and the checks every run shares."""
    accepted = {n: total(dn, "quic_conn_accepted") for n, (dn, _) in d.items()}
    owners = [n for n, a in accepted.items() if a]
    check(len(owners) == 1 and accepted[owners[0]] == 1,
          f"{what}: connections accepted per node {accepted}, expected 1 on one node")
    owner = owners[0]
    for n, (dn, _) in d.items():
        for counter in ("quic_stateless_resets_sent", "quic_drop_other_node",
                        "quic_drop_no_conn"):
            check_eq(total(dn, counter), 0, f"{what}: node {n}: {counter}")
    dn, m = d[owner]
    check_eq(total(dn, "h3_responses_2xx"), len(paths), f"{what}: node {owner}: h3_responses_2xx")
    check(total(dn, "quic_path_migrations") >= 1,
          f"{what}: node {owner} (the owner) counted no path change: {dn}")
    return owner, off_diagonal(m)


def download_phase(fleet, site, tmp):
    limit_download(fleet, rate=LINK_RATE)
    what = f"gtlsclient behind a NAT rebinding :{NAT_P1} -> :{NAT_P2}"
    before = fleet.snapshot()
    r, info = rebinding_run(fleet, DOWNLOAD_PATHS, tmp / "rebind", BIG, REBIND_AT,
                            NAT_P1, NAT_P2)
    check_ok(r, what)
    for p in DOWNLOAD_PATHS:
        check_body(r, p[1:], site.sha(p[1:]), f"{what}: {p}")
    check_eq(info.deleted, 1, f"{what}: NAT mappings deleted at the rebinding")
    check(info.after < BIG_SIZE, f"{what}: {BIG} was complete when the rebinding was done "
                                 f"({info}): not mid-transfer")
    d = fleet.deltas(before, fleet.wait_quiet())
    owner, steered = one_node(fleet, d, what, DOWNLOAD_PATHS)
    print(f"{what}: ok in {r.seconds:.2f} s on node {owner}, rebinding {info}, "
          f"{steered} datagrams steered between its workers")

    what = f"gtlsclient with an active migration after {CHANGE_AFTER}"
    before = fleet.snapshot()
    r, info = active_migration_run(fleet, DOWNLOAD_PATHS, tmp / "migrate", BIG, CHANGE_AFTER)
    check_ok(r, what)
    for p in DOWNLOAD_PATHS:
        check_body(r, p[1:], site.sha(p[1:]), f"{what}: {p}")
    check(info is not None, f"{what}: no node saw a path change while the client ran")
    check(info.at < BIG_SIZE, f"{what}: the path changed after {BIG} was complete ({info})")
    d = fleet.deltas(before, fleet.wait_quiet())
    owner, steered = one_node(fleet, d, what, DOWNLOAD_PATHS)
    print(f"{what}: ok in {r.seconds:.2f} s on node {owner}, path change seen at {info}, "
          f"{steered} datagrams steered between its workers")


def oracle_phase(fleet):
    target = 2
    rig = fleet.nodes[target]
    others = [n for n in fleet.nodes if n != target]
    for other in others:
        what = (f"short headers from the LB to node {target} naming node {other} "
                f"(no connection)")
        before = {n: fleet.counters(n) for n in fleet.nodes}
        res = rig.probe([short_header_to(other, i % fleet.workers) for i in range(PROBES)])
        check_no_replies(res, what)
        after = rig.wait_counters(
            lambda s: total(delta(before[target], s), "quic_drop_other_node") >= PROBES)
        d = delta(before[target], after)
        check_eq(total(d, "quic_drop_other_node"), PROBES,
                 f"{what}: node {target}'s quic_drop_other_node")
        check_eq(total(d, "quic_stateless_resets_sent"), 0,
                 f"{what}: node {target}'s quic_stateless_resets_sent")
        for n in others:
            check_eq(total(delta(before[n], fleet.counters(n)), "quic_rx"), 0,
                     f"{what}: node {n}'s quic_rx (the probes go to node {target} only)")
        print(f"{what}: no reply, node {target}'s quic_drop_other_node +{PROBES}")

    what = f"short headers from the LB to node {target} naming node {target} (no connection)"
    before = rig.counters()
    res = rig.probe([short_header_to(target, i % fleet.workers) for i in range(PROBES)])
    check_stateless_resets(res, rig.server_addr(), what)
    d = delta(before, rig.wait_counters(
        lambda s: total(delta(before, s), "quic_stateless_resets_sent") >= PROBES))
    check_eq(total(d, "quic_stateless_resets_sent"), PROBES,
             f"{what}: node {target}'s quic_stateless_resets_sent")
    check_eq(total(d, "quic_drop_other_node"), 0, f"{what}: node {target}'s quic_drop_other_node")
    print(f"{what}: {PROBES} stateless resets")


def unroutable_phase(fleet):
    """A short header whose DCID has the unroutable config id (0b111) sent
    to the service: the table routes it nowhere, counts and drops it."""
    what = "short headers to the service with an unroutable DCID (config id 7)"
    before = fleet.snapshot()
    lb_before = fleet.lb_counters()["dropped"]
    payloads = [bytes([0x40]) + bytes([7 << 5 | (CID_LEN - 1)]) + os.urandom(62)
                for _ in range(PROBES)]
    check_no_replies(fleet.probe(payloads), what)
    check_eq(fleet.lb_counters()["dropped"] - lb_before, PROBES,
             f"{what}: the LB's unroutable counter")
    for n, (dn, _) in fleet.deltas(before).items():
        check_eq(total(dn, "quic_rx"), 0, f"{what}: node {n}'s quic_rx")
    print(f"{what}: no reply, dropped and counted by the LB ({PROBES})")


def test():
    start = time.monotonic()
    with temp_dir("fleet") as tmp:
        site = Site(tmp)
        add_file(site, FILE, FILE_SIZE)
        add_file(site, BIG, BIG_SIZE)
        with Fleet("fleet", app_args=site.server_args()) as fleet:
            print(f"fleet of {len(fleet.nodes)} nodes x {fleet.workers} workers up in "
                  f"{time.monotonic() - start:.1f} s")
            load_phase(fleet, site)
            download_phase(fleet, site, tmp)
            oracle_phase(fleet)
            unroutable_phase(fleet)
            fleet.stop_all()
    print(f"test_fleet: {time.monotonic() - start:.1f} s")


if __name__ == "__main__":
    main(test)
