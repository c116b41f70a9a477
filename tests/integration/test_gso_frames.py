#!/usr/bin/env python3
"""A client that sends with UDP GSO across a veth whose segmentation
offload is on: the kernel hands the veth one super-frame for several QUIC
datagrams, af_packet passes it on whole and the PMD cuts it to its buffer
size, so not one of that client's packets can get through. quicsteer
drops such frames as what they are (drop_oversize, not drop_malformed or
drop_not_ours) and says once what the operator must change (the ethtool
command). With the offload switched off on the peer, as the rig does for
every other test, the same client is served: each datagram gets its
Version Negotiation."""
from rig import Rig, check, check_eq, client_offloads_off, delta, main, total

COUNT = 2
SIZE = 1200


def send(rig):
    dst, port = rig.server_addr()
    return rig.client_tool("gso_sender.py", ["--dst", dst, "--port", str(port),
                                             "--count", str(COUNT), "--size", str(SIZE)])


def test():
    with Rig("gso", workers=2) as rig:
        rig.run_in_client(["ethtool", "-K", rig.client_if, "tx", "on", "gso", "on",
                           "tx-udp-segmentation", "on"])
        before = rig.counters()
        r = send(rig)
        d = delta(before, rig.wait_quiet(timeout=5))
        print(f"offload on: {r}; drop_oversize {total(d, 'drop_oversize')}, "
              f"drop_malformed {total(d, 'drop_malformed')}, drop_not_ours "
              f"{total(d, 'drop_not_ours')} (the link's own IPv6 chatter), "
              f"quic_rx {total(d, 'quic_rx')}")
        check_eq(r["version_negotiations"], 0, "answers to the super-frame's datagrams")
        check(total(d, "drop_oversize") >= 1, "the super-frame is not counted as drop_oversize")
        check_eq(total(d, "drop_malformed"), 0, "super-frames counted as malformed")
        check_eq(total(d, "quic_rx"), 0, "QUIC datagrams received from the super-frame")
        out = rig.wait_output("drop_oversize")
        check("ethtool -K <peer> gso off tx-udp-segmentation off" in out,
              "the warning does not name the ethtool command")
        check_eq(out.count("(drop_oversize)"), 1, "drop_oversize warnings (once per worker)")

        client_offloads_off(rig.client_ns, rig.client_if)
        before = rig.counters()
        r = send(rig)
        d = delta(before, rig.wait_quiet(timeout=5))
        print(f"offload off: {r}; drop_oversize {total(d, 'drop_oversize')}, "
              f"quic_version_negotiations_sent {total(d, 'quic_version_negotiations_sent')}")
        check_eq(r["version_negotiations"], COUNT, "Version Negotiation answers")
        check_eq(total(d, "drop_oversize"), 0, "drop_oversize with the offload off")
        check_eq(total(d, "quic_version_negotiations_sent"), COUNT,
                 "quic_version_negotiations_sent")


if __name__ == "__main__":
    main(test)
