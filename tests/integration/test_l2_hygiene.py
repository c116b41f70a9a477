#!/usr/bin/env python3
"""What reaches quicsteer's QUIC server, and what its in-place answers look
like on the wire (issue 9, defects 7, 8 and 9), with hand-made frames sent
on the client veth (tools/raw_frames.py, frames from the fuzz corpus's
builders, tests/fuzz/make_corpus.py):

- QUIC datagrams with a bad UDP checksum (IPv4, IPv4 with options, IPv6)
  or a zero one over IPv6 are dropped and counted (drop_bad_checksum), with
  no reply; the same datagrams with a right checksum get their stateless
  reset, and the real clients' datagrams never fail the check (the rig
  switches the client veth's checksum offload off);
- a datagram, a ping and an ARP request to another host's unicast MAC are
  not ours (drop_not_ours): no reply;
- the stateless reset to a trigger with IPv4 options and DSCP/ECN bits (or
  an IPv6 traffic class and flow label), and the echo reply to a ping with
  them, come back with a clean IP header: IHL 5, TOS 0, traffic class and
  flow label 0, lengths and checksums right; `ping -R -Q` works;
- with the client veth's TX checksum offload switched back on, the kernel's
  datagrams reach af_packet with their checksum never computed: all are
  dropped, and quicsteer says once, for the worker that checked them, what
  to run (ethtool -K <peer> tx off).
"""
import ipaddress
import struct
import sys

from rig import (CLIENT_V4, CLIENT_V6, QUIC_PORT, REPO, SERVER_V4, SERVER_V6, Rig,
                 check, check_eq, check_stateless_resets,
                 client_offloads_off, delta, main, short_headers, total)
from quic_probe import short_header

sys.path.insert(0, str(REPO / "tests" / "fuzz"))
import make_corpus as fr  # noqa: E402  (the frame builders, with checksums)

WORKERS = 2
OWNER = 1                      # the worker the short headers name
TRIGGER_LEN = 60               # long enough for a stateless reset
OTHER_MAC = "02:00:00:00:00:99"
TOS_EF_CE = 0xBB               # DSCP 46 (EF) and ECN CE
TCLASS, FLOW_LABEL = 0xBB, 0x12345
# NOP, then a record route option with room for 9 addresses (`ping -R`)
RECORD_ROUTE = b"\x01\x07\x27\x04" + bytes(36)
ECHO_DATA = 16
OFFLOAD_PROBES = 80            # more than the 64 the warning judges at once
WARNING = "had a bad checksum and were dropped"

# the corpus builders send from the rig's client to the rig's server
assert fr.OUR_V4 == ipaddress.ip_address(SERVER_V4).packed
assert fr.PEER_V4 == ipaddress.ip_address(CLIENT_V4).packed
assert fr.OUR_V6 == ipaddress.ip_address(SERVER_V6).packed
assert fr.PEER_V6 == ipaddress.ip_address(CLIENT_V6).packed


# ---- frames ----------------------------------------------------------------

def mac(text):
    return bytes.fromhex(text.replace(":", ""))


def addressed(rig, frame, dst_mac=None):
    """frame from the client veth's MAC to dst_mac (default: the server's)."""
    return mac(dst_mac or rig.server_mac) + mac(rig.client_mac) + frame[12:]


def quic4(rig, sport, dst_mac=None, **ip):
    return addressed(rig, fr.udp4(short_header(OWNER, TRIGGER_LEN), sport=sport,
                                  dport=QUIC_PORT, **ip), dst_mac)


def quic6(rig, sport, dst_mac=None):
    return addressed(rig, fr.udp6(short_header(OWNER, TRIGGER_LEN), sport=sport,
                                  dport=QUIC_PORT), dst_mac)


def with_class_flow(frame):
    """An IPv6 frame with traffic class and flow label set (neither is in
    any checksum)."""
    vtc = 6 << 28 | TCLASS << 20 | FLOW_LABEL
    return frame[:14] + struct.pack("!I", vtc) + frame[18:]


def bad_udp_cksum(frame):
    """The last payload byte changed: the UDP checksum no longer holds."""
    return frame[:-1] + bytes([frame[-1] ^ 0x5A])


def zero_udp_cksum6(frame):
    return frame[:60] + b"\0\0" + frame[62:]


def echo4(rig, dst_mac=None, **ip):
    return addressed(rig, fr.icmp4_echo(data_len=ECHO_DATA, **ip), dst_mac)


def echo6(rig):
    return addressed(rig, fr.icmp6(fr.PEER_V6, fr.OUR_V6, fr.echo_body(128, ECHO_DATA)))


def arp_request(rig, dst_mac):
    return addressed(rig, fr.arp(1, fr.PEER_V4, fr.OUR_V4), dst_mac)


# ---- replies ---------------------------------------------------------------

def parse_ipv4(what, frame):
    """The IPv4 header of a reply, checked clean (issue 9, defect 8); its
    payload."""
    check_eq(int.from_bytes(frame[12:14], "big"), fr.ETH_IPV4, f"{what}: ethertype")
    ip = frame[14:]
    check_eq(ip[0], 0x45, f"{what}: IPv4 version and IHL (no options)")
    check_eq(ip[1], 0, f"{what}: TOS (DSCP 0, not-ECT)")
    total_length = int.from_bytes(ip[2:4], "big")
    check(20 <= total_length <= len(ip), f"{what}: total length {total_length} "
                                         f"for {len(ip)} bytes after Ethernet")
    check_eq(fr.checksum(ip[:20]), 0, f"{what}: IPv4 header checksum")
    check_eq(ip[12:16], fr.OUR_V4, f"{what}: source address")
    check_eq(ip[16:20], fr.PEER_V4, f"{what}: destination address")
    return ip[9], ip[12:20], ip[20:total_length]


def parse_ipv6(what, frame):
    check_eq(int.from_bytes(frame[12:14], "big"), fr.ETH_IPV6, f"{what}: ethertype")
    ip = frame[14:]
    check_eq(int.from_bytes(ip[0:4], "big"), 6 << 28,
             f"{what}: version, traffic class 0 and flow label 0")
    payload_len = int.from_bytes(ip[4:6], "big")
    check(payload_len <= len(ip) - 40, f"{what}: payload length {payload_len}")
    check_eq(ip[8:24], fr.OUR_V6, f"{what}: source address")
    return ip[6], ip[8:40], ip[40:40 + payload_len]


def check_reset(what, reply, trigger_len, sport, ipv6=False):
    """A stateless reset (RFC 9000 10.3) from our QUIC port to sport, in a
    clean IP header, UDP checksum right."""
    frame = bytes.fromhex(reply["hex"])
    if ipv6:
        proto, addrs, udp = parse_ipv6(what, frame)
        pseudo = addrs + struct.pack("!IxxxB", len(udp), fr.PROTO_UDP)
    else:
        proto, addrs, udp = parse_ipv4(what, frame)
        pseudo = addrs + struct.pack("!xBH", fr.PROTO_UDP, len(udp))
    check_eq(proto, fr.PROTO_UDP, f"{what}: protocol")
    check_eq(struct.unpack("!HHH", udp[:6]), (QUIC_PORT, sport, len(udp)),
             f"{what}: UDP source port, destination port, length")
    check_eq(fr.checksum(pseudo + udp), 0, f"{what}: UDP checksum")
    check(udp[8] & 0xC0 == 0x40 and 21 <= len(udp) - 8 < trigger_len,
          f"{what}: not a stateless reset: {udp[:16].hex()}... "
          f"({len(udp) - 8} bytes for a {trigger_len}-byte trigger)")


def replies_to(replies, sport):
    """The UDP replies to source port sport."""
    out = []
    for r in replies:
        f = bytes.fromhex(r["hex"])
        l4 = 14 + (40 if r["ethertype"] == fr.ETH_IPV6 else (f[14] & 0x0F) * 4)
        if len(f) >= l4 + 4 and int.from_bytes(f[l4 + 2:l4 + 4], "big") == sport:
            out.append(r)
    return out


# ---- the checks ------------------------------------------------------------

def check_bad_checksums(rig):
    """Bad and (over IPv6) zero UDP checksums: dropped on the owner, counted,
    never answered; the same datagrams with a right checksum are answered."""
    bad = [("IPv4", bad_udp_cksum(quic4(rig, 41001))),
           ("IPv4 with options", bad_udp_cksum(quic4(rig, 41002, options=RECORD_ROUTE))),
           ("IPv6", bad_udp_cksum(quic6(rig, 41003))),
           ("IPv6 with a zero checksum", zero_udp_cksum6(quic6(rig, 41004)))]
    before = rig.counters()
    replies = rig.send_frames([f for _, f in bad], listen=0.5)
    check(not replies, f"replies to datagrams with a bad UDP checksum: {replies}")
    d = delta(before, rig.wait_counters(
        lambda s: total(delta(before, s), "drop_bad_checksum") >= len(bad)))
    check_eq(total(d, "drop_bad_checksum"), len(bad),
             f"drop_bad_checksum after {', '.join(w for w, _ in bad)}")
    check_eq(d[OWNER]["drop_bad_checksum"], len(bad),
             f"drop_bad_checksum on worker {OWNER}, the owner the DCIDs name")
    check_eq(total(d, "quic_stateless_resets_sent"), 0, "resets sent to bad checksums")

    # the same with right checksums, IPv4 options and DSCP/ECN bits, an IPv6
    # traffic class and flow label: each answered, in a clean header
    good = [("IPv4", 42001, quic4(rig, 42001), False),
            ("IPv4 with options and TOS 0xbb", 42002,
             quic4(rig, 42002, options=RECORD_ROUTE, tos=TOS_EF_CE), False),
            ("IPv6 with traffic class and flow label", 42003,
             with_class_flow(quic6(rig, 42003)), True)]
    before = rig.counters()
    replies = rig.send_frames([f for _, _, f, _ in good], listen=1.0, full=True)
    for what, sport, frame, ipv6 in good:
        mine = replies_to(replies, sport)
        check_eq(len(mine), 1, f"replies to a datagram over {what} (all: {replies})")
        check_reset(f"stateless reset to a datagram over {what}", mine[0],
                    TRIGGER_LEN, sport, ipv6)
    d = delta(before, rig.wait_quiet(timeout=5))
    check_eq(total(d, "drop_bad_checksum"), 0, "drop_bad_checksum for right checksums")


def check_other_mac(rig):
    """Frames for another host on the segment (RFC 1122 3.3.6): not ours."""
    frames = [("a QUIC datagram over IPv4", quic4(rig, 43001, OTHER_MAC)),
              ("a QUIC datagram over IPv6", quic6(rig, 43002, OTHER_MAC)),
              ("a ping", echo4(rig, OTHER_MAC)),
              ("an ARP request", arp_request(rig, OTHER_MAC))]
    before = rig.counters()
    replies = rig.send_frames([f for _, f in frames], listen=0.5)
    check(not replies, f"replies to frames for {OTHER_MAC}: {replies}")
    d = delta(before, rig.wait_counters(
        lambda s: total(delta(before, s), "drop_not_ours") >= len(frames)))
    # the client kernel's own multicast (MLD, router solicitations) may add
    check(total(d, "drop_not_ours") >= len(frames),
          f"drop_not_ours moved by {total(d, 'drop_not_ours')} for {len(frames)} "
          f"frames to {OTHER_MAC} ({', '.join(w for w, _ in frames)})")
    for counter in ("quic_rx", "icmp_echo_replies", "quic_stateless_resets_sent"):
        check_eq(total(d, counter), 0, f"{counter} after frames to {OTHER_MAC}")


def check_clean_echo_replies(rig):
    """A ping with IP options and TOS bits gets a clean reply: the options
    and marks are not echoed (RFC 1122 3.2.2.6 asks record route to be
    filled in and returned; we return none, as most hardened stacks do)."""
    request = echo4(rig, options=RECORD_ROUTE, tos=TOS_EF_CE)
    replies = rig.send_frames([request, with_class_flow(echo6(rig))], listen=1.0,
                              full=True)
    by_type = {r["ethertype"]: r for r in replies}
    check_eq(sorted(by_type), [fr.ETH_IPV4, fr.ETH_IPV6],
             f"echo replies to a ping over IPv4 and IPv6 (all: {replies})")

    what = "echo reply to a ping with options and TOS 0xbb"
    proto, _, icmp = parse_ipv4(what, bytes.fromhex(by_type[fr.ETH_IPV4]["hex"]))
    sent_icmp = request[14 + 20 + len(RECORD_ROUTE):]
    check_eq(proto, fr.PROTO_ICMP, f"{what}: protocol")
    check_eq(len(icmp), len(sent_icmp), f"{what}: ICMP length")
    check_eq(icmp[:2], b"\x00\x00", f"{what}: type and code (echo reply)")
    check_eq(fr.checksum(icmp), 0, f"{what}: ICMP checksum")
    check_eq(icmp[4:], sent_icmp[4:], f"{what}: identifier, sequence and data")

    what = "ICMPv6 echo reply to a ping with traffic class and flow label"
    proto, _, icmp = parse_ipv6(what, bytes.fromhex(by_type[fr.ETH_IPV6]["hex"]))
    check_eq(proto, fr.PROTO_ICMPV6, f"{what}: next header")
    check_eq(icmp[0], 129, f"{what}: type")

    # what a user runs: record route and a DSCP, replies counted
    proc = rig.run_in_client(["ping", "-c", "2", "-i", "0.2", "-W", "2", "-R",
                              "-Q", "0xb8", SERVER_V4], timeout=20, check_rc=False)
    check(proc.returncode == 0 and "2 received" in proc.stdout,
          f"ping -R -Q 0xb8 {SERVER_V4}:\n{proc.stdout}{proc.stderr}")


def check_offload_warning(rig):
    """The veth case the rig avoids: with TX checksum offload on, the client
    kernel's datagrams reach af_packet with the checksum never computed.
    They are dropped, and the owner says once what to run."""
    rig.run_in_client(["ethtool", "-K", rig.client_if, "tx", "on"])
    try:
        before = rig.counters()
        results = []
        for _ in range(2):
            results += rig.probe(short_headers(OWNER, OFFLOAD_PROBES), timeout=0.3,
                                 linger=0.2)
        sent = len(results)
        d = delta(before, rig.wait_counters(
            lambda s: total(delta(before, s), "drop_bad_checksum") >= sent))
    finally:
        client_offloads_off(rig.client_ns, rig.client_if)
    bad = d[OWNER]["drop_bad_checksum"]
    answered = sum(len(r["replies"]) for r in results)
    # a partial checksum holds by chance for about 1 datagram in 65536
    check(bad >= sent - 2 and answered == sent - bad,
          f"with TX checksum offload on: {bad} of {sent} datagrams dropped for "
          f"their checksum on worker {OWNER}, {answered} answered")
    lines = [l for l in rig.output().splitlines() if WARNING in l]
    check_eq(len(lines), 1, f"warnings about bad checksums (once per worker): {lines}")
    check(f"worker {OWNER}:" in lines[0] and "ethtool -K <peer> tx off" in lines[0]
          and "veth" in lines[0],
          f"the warning names the worker, the cause and the command: {lines[0]}")

    # offload off again: the kernel's datagrams pass
    check_stateless_resets(rig.probe(short_headers(OWNER, 4)), rig.server_addr(4),
                           "after switching the offload off again")


def test():
    with Rig("l2hyg", workers=WORKERS) as rig:
        # the rig's client computes its checksums: real traffic passes
        before = rig.counters()
        for family in (4, 6):
            check_stateless_resets(rig.probe(short_headers(OWNER, 8), family=family),
                                   rig.server_addr(family),
                                   f"IPv{family} datagrams from the client kernel")
        check_eq(total(delta(before, rig.counters()), "drop_bad_checksum"), 0,
                 "drop_bad_checksum for the client kernel's datagrams")

        check_bad_checksums(rig)
        check_other_mac(rig)
        check_clean_echo_replies(rig)
        check_offload_warning(rig)
        rc, _ = rig.stop()
        check_eq(rc, 0, "exit code after SIGTERM")


if __name__ == "__main__":
    main(test)
