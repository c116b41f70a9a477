#!/usr/bin/env python3
"""Malformed input is counted and dropped without a reply, and quicsteer
keeps serving: raw Ethernet frames with lying IPv4/IPv6/UDP/ARP headers
(drop_malformed), frames whose intact IP header says more than the frame
holds, as a buffer too small cuts them (drop_oversize), UDP datagrams to the QUIC port whose QUIC header does
not parse (quic_drop_malformed), and short headers too short to be
answered with a stateless reset (quic_drop_short)."""
import functools
import ipaddress
import struct

from rig import (CLIENT_V4, CLIENT_V6, QUIC_PORT, SERVER_V4, SERVER_V6, Rig,
                 check, check_eq, check_no_replies, check_stateless_resets,
                 delta, main, short_headers, total)
from quic_probe import short_header

WORKERS = 4
ETH_IPV4, ETH_IPV6, ETH_ARP = 0x0800, 0x86DD, 0x0806
PROTO_UDP, PROTO_IPV6_FRAG = 17, 44
IPV4_MF = 0x2000
QUIC_V1 = 1


# ---- frame builders (only what the cases below need) ----

def inet_cksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ether(dst_mac, src_mac, ethertype, payload):
    def mac(text):
        return bytes.fromhex(text.replace(":", ""))
    return mac(dst_mac) + mac(src_mac) + struct.pack("!H", ethertype) + payload


def udp(payload, length=None, sport=40000, dport=QUIC_PORT):
    length = 8 + len(payload) if length is None else length
    return struct.pack("!HHHH", sport, dport, length, 0) + payload  # no checksum


def ipv4(payload, ihl=5, total_length=None, frag=0, proto=PROTO_UDP,
         bad_cksum=False, ident=1):
    """A 20-byte IPv4 header (ihl only changes the field) and payload."""
    total_length = 20 + len(payload) if total_length is None else total_length
    hdr = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, total_length, ident, frag, 64,
                      proto, 0, ipaddress.IPv4Address(CLIENT_V4).packed,
                      ipaddress.IPv4Address(SERVER_V4).packed)
    cksum = inet_cksum(hdr) ^ (0x5555 if bad_cksum else 0)
    return hdr[:10] + struct.pack("!H", cksum) + hdr[12:] + payload


def ipv6(payload, next_header=PROTO_UDP, payload_len=None):
    payload_len = len(payload) if payload_len is None else payload_len
    return (struct.pack("!IHBB", 6 << 28, payload_len, next_header, 64) +
            ipaddress.IPv6Address(CLIENT_V6).packed +
            ipaddress.IPv6Address(SERVER_V6).packed + payload)


def malformed_frames(rig):
    """(what, frame) pairs the classifier must count as drop_malformed."""
    quic = short_header(0, 40)
    v4 = functools.partial(ether, rig.server_mac, rig.client_mac, ETH_IPV4)
    v6 = functools.partial(ether, rig.server_mac, rig.client_mac, ETH_IPV6)
    frag_hdr = struct.pack("!BBHI", PROTO_UDP, 0, 1, 0x1234)  # offset 0, MF set
    return [
        ("IPv4 IHL 4 (< 5)", v4(ipv4(udp(quic), ihl=4))),
        ("IPv4 total_length < IHL", v4(ipv4(udp(quic), total_length=12))),
        ("IPv4 header checksum wrong", v4(ipv4(udp(quic), bad_cksum=True))),
        ("UDP length beyond the IPv4 payload", v4(ipv4(udp(quic, length=200)))),
        ("UDP length < 8", v4(ipv4(udp(quic, length=4)))),
        ("UDP header truncated (IPv4 payload of 4 bytes)", v4(ipv4(b"\x9c\x40\x11\x51"))),
        ("IPv6 header truncated", v6(ipv6(udp(quic))[:30])),
        ("IPv6 fragment header", v6(ipv6(frag_hdr + udp(quic), next_header=PROTO_IPV6_FRAG))),
        ("UDP length beyond the IPv6 payload", v6(ipv6(udp(quic, length=300)))),
        ("ARP shorter than its header", ether(rig.server_mac, rig.client_mac, ETH_ARP,
                                              bytes.fromhex("0001080006040001"))),
    ]


def cut_frames(rig):
    """(what, frame) pairs whose intact IP header to our address says more
    than the frame holds: a frame cut short by the receive buffer (a UDP
    GSO super-frame, a jumbo frame), counted as drop_oversize."""
    quic = short_header(0, 40)
    v4 = functools.partial(ether, rig.server_mac, rig.client_mac, ETH_IPV4)
    v6 = functools.partial(ether, rig.server_mac, rig.client_mac, ETH_IPV6)
    return [
        ("IPv4 total_length beyond the frame", v4(ipv4(udp(quic), total_length=1000))),
        ("IPv6 payload_len beyond the frame", v6(ipv6(udp(quic), payload_len=1000))),
    ]


def ipv4_fragments(rig):
    """IPv4 fragments: af_packet's fanout (PACKET_FANOUT_FLAG_DEFRAG) hands
    them to the kernel's reassembly, so on this PMD they never reach the
    dataplane; on a NIC the classifier drops them as malformed."""
    v4 = functools.partial(ether, rig.server_mac, rig.client_mac, ETH_IPV4)
    payload = udp(short_header(0, 40))
    # distinct IP IDs: two halves of nothing, never reassembled into a datagram
    return [
        ("IPv4 first fragment (MF set)", v4(ipv4(payload, frag=IPV4_MF, ident=2))),
        ("IPv4 later fragment (offset 8)", v4(ipv4(payload, frag=1, ident=3))),
    ]


def long_header(dcid_len=8, scid_len=8):
    """A v1 Initial long header and a little payload."""
    return (bytes([0xC0]) + struct.pack("!I", QUIC_V1) +
            bytes([dcid_len]) + bytes(dcid_len) +
            bytes([scid_len]) + bytes(scid_len) + bytes(16))


def malformed_quic():
    """UDP payloads to the QUIC port whose QUIC header does not parse."""
    full = long_header()
    scid_end = 1 + 4 + 1 + 8 + 1 + 8
    cases = [("empty datagram", b"")]
    cases += [(f"long header truncated to {n} bytes", full[:n]) for n in range(1, scid_end)]
    cases += [("v1 long header, DCID length 21", long_header(dcid_len=21)),
              ("v1 long header, SCID length 21", long_header(scid_len=21))]
    cases += [(f"short header of {n} bytes (no room for the DCID)",
               short_header(0, 9)[:n]) for n in range(1, 9)]
    return cases


def test():
    with Rig("malf", workers=WORKERS) as rig:
        frames = malformed_frames(rig)
        quic = malformed_quic()
        too_short = [short_header(w % WORKERS, n) for w, n in enumerate(range(9, 22))]

        before = rig.counters()
        replies = rig.send_frames([f for _, f in frames], listen=0.5)
        check(not replies, f"replies to malformed frames: {replies}")
        after_frames = rig.wait_counters(
            lambda s: total(delta(before, s), "drop_malformed") >= len(frames))
        d = delta(before, after_frames)
        check_eq(total(d, "drop_malformed"), len(frames),
                 f"drop_malformed after {len(frames)} malformed frames "
                 f"({', '.join(w for w, _ in frames)})")

        cut = cut_frames(rig)
        before = rig.counters()
        replies = rig.send_frames([f for _, f in cut], listen=0.5)
        check(not replies, f"replies to frames cut short: {replies}")
        d = delta(before, rig.wait_counters(
            lambda s: total(delta(before, s), "drop_oversize") >= len(cut)))
        check_eq(total(d, "drop_oversize"), len(cut),
                 f"drop_oversize after {len(cut)} frames cut short "
                 f"({', '.join(w for w, _ in cut)})")
        check_eq(total(d, "drop_malformed"), 0, "drop_malformed after frames cut short")

        replies = rig.send_frames([f for _, f in ipv4_fragments(rig)])
        check(not replies, f"replies to IPv4 fragments: {replies}")

        results = rig.probe([p for _, p in quic], timeout=0.5, linger=0.5)
        for (what, _), r in zip(quic, results):
            check_no_replies([r], what)
        results = rig.probe(too_short, timeout=0.5, linger=0.5)
        check_no_replies(results, "short header of 21 bytes or fewer")

        after = rig.wait_counters(
            lambda s: (total(delta(after_frames, s), "quic_drop_malformed") >= len(quic) and
                       total(delta(after_frames, s), "quic_drop_short") >= len(too_short)))
        d = delta(after_frames, after)
        check_eq(total(d, "quic_drop_malformed"), len(quic),
                 f"quic_drop_malformed after {len(quic)} unparseable datagrams")
        check_eq(total(d, "quic_drop_short"), len(too_short),
                 f"quic_drop_short after {len(too_short)} short headers of 9..21 bytes")
        check_eq(total(d, "drop_malformed"), 0,
                 "drop_malformed after well-formed UDP (and IPv4 fragments, "
                 "which af_packet holds for reassembly before the dataplane)")
        d = delta(before, after)
        check_eq(total(d, "quic_stateless_resets_sent"), 0, "resets sent to malformed input")
        # nothing sent but answers to the client kernel's own ARP/ND/pings
        control = sum(total(d, c) for c in ("arp_replies", "nd_adverts", "icmp_echo_replies"))
        check_eq(total(d, "tx_packets"), control, "packets sent besides ARP/ND answers")

        check(rig.alive(), f"quicsteer died:\n{rig.output()[-3000:]}")
        for family in (4, 6):
            check_stateless_resets(rig.probe(short_headers(2, 8), family=family),
                                   rig.server_addr(family),
                                   f"IPv{family} valid datagrams after the malformed ones")
        rc, _ = rig.stop()
        check_eq(rc, 0, "exit code after SIGTERM")


if __name__ == "__main__":
    main(test)
