#!/usr/bin/env python3
"""A flood naming one worker fills its inbox ring: the workers that receive
the flood drop what does not fit and count quic_forward_dropped (never
block, never retry, docs/architecture.md "The packet path" stage 4), quicsteer keeps running,
and datagrams naming the other workers are still answered."""
from rig import (Rig, check, check_eq, check_stateless_resets, delta,
                 main, matrix_delta, short_headers, total)

WORKERS = 4
OWNER = 1
FLOOD_DATAGRAMS = 200000
FLOOD_SOCKETS = 256     # source ports: the fanout spreads them over all queues
PROBES_AFTER = 32

# A small inbox drained one datagram per loop iteration, and no reset rate
# limit so the owner spends time on every datagram: the other workers fill
# its inbox much faster than it empties it.
CONFIG = """
[dataplane]
inbox_size = 64
inbox_drain = 1
idle_sleep_us = 10

[quic]
reset_rate = 10000000
reset_burst = 10000000
"""


def test():
    with Rig("flood", workers=WORKERS, config=CONFIG) as rig:
        senders = [w for w in range(WORKERS) if w != OWNER]
        before, m_before = rig.counters(), rig.steering()
        result = rig.flood(OWNER, FLOOD_DATAGRAMS, sockets=FLOOD_SOCKETS)
        # the workers still empty their RX rings and inboxes after the sender ends
        after = rig.wait_quiet()
        d, m = delta(before, after), matrix_delta(m_before, rig.steering())

        check(rig.alive(), f"quicsteer died during the flood:\n{rig.output()[-3000:]}")
        dropped = total(d, "quic_forward_dropped", senders)
        print(f"flood: {result['sent']} datagrams sent in {result['seconds']} s "
              f"({result['send_errors']} refused by the client kernel); "
              f"quicsteer received {total(d, 'quic_rx')}, owner handled "
              f"{d[OWNER]['quic_local']} local + {d[OWNER]['quic_forwarded_in']} forwarded, "
              f"{dropped} dropped at its full inbox "
              f"({', '.join(str(d[w]['quic_forward_dropped']) for w in senders)} "
              f"by workers {senders}); matrix {m}")

        per_worker = {w: {c: d[w][c] for c in ("quic_rx", "quic_local", "quic_forwarded_out",
                                               "quic_forwarded_in", "quic_forward_dropped")}
                      for w in d}
        check(dropped > 0, f"no quic_forward_dropped on workers {senders}: the "
                           f"owner's inbox of 64 never filled: {per_worker}")
        check_eq(d[OWNER]["quic_forward_dropped"], 0,
                 "quic_forward_dropped on the owner (it never forwards to itself)")
        # every datagram a sender received was forwarded or counted as dropped
        for w in senders:
            check_eq(d[w]["quic_forwarded_out"] + d[w]["quic_forward_dropped"],
                     d[w]["quic_rx"], f"worker {w}: forwarded + dropped vs quic_rx")
            check_eq(m[w][OWNER], d[w]["quic_forwarded_out"],
                     f"worker {w}: steering matrix into the owner vs quic_forwarded_out")
        check_eq(d[OWNER]["quic_forwarded_in"], total(d, "quic_forwarded_out"),
                 "owner's quic_forwarded_in vs everything forwarded to it")
        # no rate limit: the owner answered every datagram it handled
        check_eq(d[OWNER]["quic_stateless_resets_sent"],
                 d[OWNER]["quic_local"] + d[OWNER]["quic_forwarded_in"],
                 "owner: resets sent vs datagrams handled")
        check_eq(total(d, "quic_stateless_resets_sent", senders), 0,
                 "resets sent by workers that do not own the flood's CIDs")

        for w in senders:
            results = rig.probe(short_headers(w, PROBES_AFTER))
            check_stateless_resets(results, rig.server_addr(4),
                                   f"after the flood: datagrams naming worker {w}")
        rc, _ = rig.stop()
        check_eq(rc, 0, "exit code after SIGTERM")


if __name__ == "__main__":
    main(test)
