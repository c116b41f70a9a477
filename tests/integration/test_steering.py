#!/usr/bin/env python3
"""CID steering: a short-header datagram is handled by the worker its DCID
names, whichever af_packet queue (kernel fanout hash, like RSS) it arrived
on, and only that worker answers it with a stateless reset. With
--steer off the worker that happened to receive it answers instead: the
failure quicsteer exists to fix (a migrated client's connection is reset
by a worker that does not own it)."""
from rig import (Rig, check, check_eq, check_stateless_resets, delta, main,
                 matrix_delta, short_headers, total)

WORKERS = 4
PORTS_PER_WORKER = 64   # source ports: the fanout spreads them over queues


def send_to_owner(rig, owner, family):
    """Datagrams naming owner from PORTS_PER_WORKER source ports; returns
    the counter and steering-matrix deltas they caused."""
    n = PORTS_PER_WORKER
    before, m_before = rig.counters(), rig.steering()
    results = rig.probe(short_headers(owner, n), family=family)
    what = f"IPv{family} datagrams naming worker {owner}"
    check_stateless_resets(results, rig.server_addr(family), what)
    # every reply was sent after its counters moved; wait only for stragglers
    after = rig.wait_counters(
        lambda s: total(delta(before, s), "quic_stateless_resets_sent") >= n)
    return delta(before, after), matrix_delta(m_before, rig.steering()), what


def check_steered(rig, owner, family):
    n = PORTS_PER_WORKER
    d, m, what = send_to_owner(rig, owner, family)
    others = [w for w in range(WORKERS) if w != owner]

    check_eq(total(d, "quic_rx"), n, f"{what}: quic_rx over all workers (lost on the veth?)")
    check_eq(d[owner]["quic_local"] + d[owner]["quic_forwarded_in"], n,
             f"{what}: handled by the owner (quic_local + quic_forwarded_in)")
    for w in others:
        check_eq(d[w]["quic_local"] + d[w]["quic_forwarded_in"], 0,
                 f"{what}: handled by worker {w}")
        check_eq(d[w]["quic_stateless_resets_sent"], 0, f"{what}: resets sent by worker {w}")
        check_eq(d[w]["quic_forwarded_out"], d[w]["quic_rx"],
                 f"{what}: worker {w} forwards all it receives")
    check_eq(d[owner]["quic_stateless_resets_sent"], n, f"{what}: resets sent by the owner")
    check_eq(total(d, "quic_forward_dropped"), 0, f"{what}: quic_forward_dropped")

    into_owner = sum(m[w][owner] for w in others)
    check(into_owner >= 1,
          f"{what}: steering matrix shows no forward into worker {owner} "
          f"(all {n} source ports hashed to its queue?): {m}")
    check_eq(into_owner, d[owner]["quic_forwarded_in"],
             f"{what}: forwards into worker {owner} (matrix) vs its quic_forwarded_in")
    check_eq(sum(map(sum, m)), into_owner, f"{what}: forwards anywhere else ({m})")
    return into_owner


def check_not_steered(rig, owner, family):
    n = PORTS_PER_WORKER
    d, m, what = send_to_owner(rig, owner, family)
    what += " (--steer off)"
    check_eq(total(d, "quic_stateless_resets_sent"), n, f"{what}: resets sent")
    check_eq(total(d, "quic_forwarded_out"), 0, f"{what}: quic_forwarded_out")
    check_eq(sum(map(sum, m)), 0, f"{what}: steering matrix")
    for w in range(WORKERS):
        check_eq(d[w]["quic_stateless_resets_sent"], d[w]["quic_rx"],
                 f"{what}: worker {w} answers what it receives")
    strangers = n - d[owner]["quic_stateless_resets_sent"]
    check(strangers >= 1, f"{what}: every reset came from the owner; "
                          f"expected some from other workers: {d}")
    return strangers


def test():
    with Rig("steer", workers=WORKERS) as rig:
        for owner in range(WORKERS):
            for family in (4, 6):
                fwd = check_steered(rig, owner, family)
                print(f"steer cid: worker {owner} IPv{family}: {fwd}/{PORTS_PER_WORKER} "
                      f"forwarded to it, all answered by it")
        rc, _ = rig.stop()
        check_eq(rc, 0, "exit code after SIGTERM")

        rig.start(workers=WORKERS, app_args=["--steer", "off"])
        for owner in range(WORKERS):
            for family in (4, 6):
                wrong = check_not_steered(rig, owner, family)
                print(f"steer off: worker {owner} IPv{family}: {wrong}/{PORTS_PER_WORKER} "
                      f"reset by a worker that does not own the CID")
        rc, _ = rig.stop()
        check_eq(rc, 0, "exit code after SIGTERM")


if __name__ == "__main__":
    main(test)
