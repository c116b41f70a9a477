#!/usr/bin/env python3
"""Seed corpus for fuzz_steer: one Ethernet frame per file.

    python3 tests/fuzz/make_corpus.py [OUT_DIR]   (default: tests/fuzz/corpus)

Frames of every kind the classifier and the steering stage know (ARP, ICMP
echo, ICMPv6 echo and neighbour solicitation, UDP over IPv4 and IPv6 with
QUIC Initial, 0-RTT, Handshake, Retry, Version Negotiation, unknown-version
and short headers) and a few malformed ones, so the fuzzer starts past the
checksums and length checks. Deterministic: the same files every run.

The frame builders are the Python twin of tests/unit/qs_frames.c (same
addresses, same ports); tests/bench/make_pcap.py imports them too.
"""
import os
import struct
import sys

OUR_MAC = bytes.fromhex("020000000001")
PEER_MAC = bytes.fromhex("020000000002")
BROADCAST = b"\xff" * 6
OUR_V4 = bytes([198, 18, 0, 1])
PEER_V4 = bytes([198, 18, 0, 2])
OTHER_V4 = bytes([198, 18, 0, 99])
OUR_V6 = bytes.fromhex("20010db8000000000000000000000001")
PEER_V6 = bytes.fromhex("20010db8000000000000000000000002")
OTHER_V6 = bytes.fromhex("20010db8000000000000000000000099")
OUR_PORT = 443
PEER_PORT = 50000
ETHER_MIN = 60

ETH_IPV4, ETH_ARP, ETH_IPV6 = 0x0800, 0x0806, 0x86DD
PROTO_ICMP, PROTO_UDP, PROTO_FRAGMENT, PROTO_ICMPV6 = 1, 17, 44, 58
QUIC_V1 = 0x00000001
N_WORKERS = 4
CID_LEN = 8


def checksum(data):
    """Internet checksum (RFC 1071) of data, as an int."""
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def eth(dst, ether_type, payload):
    return dst + PEER_MAC + struct.pack("!H", ether_type) + payload


def ipv4(src, dst, proto, l4, flags_frag=0x4000, ttl=64, options=b"", tos=0):
    ihl = (20 + len(options)) // 4
    hdr = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, tos, 20 + len(options) + len(l4),
                      1, flags_frag, ttl, proto, 0, src, dst) + options
    hdr = hdr[:10] + struct.pack("!H", checksum(hdr)) + hdr[12:]
    return eth(OUR_MAC, ETH_IPV4, hdr + l4)


def ipv6_hdr(src, dst, next_header, payload_len, hop_limit=64):
    return struct.pack("!IHBB16s16s", 6 << 28, payload_len, next_header,
                       hop_limit, src, dst)


def ipv6(src, dst, next_header, l4, hop_limit=64):
    if dst[0] == 0xFF:
        mac = b"\x33\x33" + dst[12:]
    else:
        mac = OUR_MAC
    return eth(mac, ETH_IPV6, ipv6_hdr(src, dst, next_header, len(l4), hop_limit) + l4)


def pseudo6(src, dst, next_header, length):
    return src + dst + struct.pack("!IxxxB", length, next_header)


def udp4(payload, src=PEER_V4, dst=OUR_V4, sport=PEER_PORT, dport=OUR_PORT, **ip):
    length = 8 + len(payload)
    u = struct.pack("!HHHH", sport, dport, length, 0) + payload
    pseudo = src + dst + struct.pack("!xBH", PROTO_UDP, length)
    c = checksum(pseudo + u) or 0xFFFF
    return ipv4(src, dst, PROTO_UDP, u[:6] + struct.pack("!H", c) + u[8:], **ip)


def udp6(payload, src=PEER_V6, dst=OUR_V6, sport=PEER_PORT, dport=OUR_PORT):
    length = 8 + len(payload)
    u = struct.pack("!HHHH", sport, dport, length, 0) + payload
    c = checksum(pseudo6(src, dst, PROTO_UDP, length) + u) or 0xFFFF
    return ipv6(src, dst, PROTO_UDP, u[:6] + struct.pack("!H", c) + u[8:])


def arp(opcode, sender_ip, target_ip):
    body = struct.pack("!HHBBH6s4s6s4s", 1, ETH_IPV4, 6, 4, opcode, PEER_MAC,
                       sender_ip, b"\0" * 6, target_ip)
    return eth(BROADCAST, ETH_ARP, body)


def echo_body(type_, data_len):
    return struct.pack("!BBHHH", type_, 0, 0, 0x1234, 7) + bytes(range(data_len))


def icmp4_echo(dst=OUR_V4, data_len=56, **ip):
    msg = echo_body(8, data_len)
    msg = msg[:2] + struct.pack("!H", checksum(msg)) + msg[4:]
    return ipv4(PEER_V4, dst, PROTO_ICMP, msg, **ip)


def icmp6(src, dst, msg, hop_limit=64):
    c = checksum(pseudo6(src, dst, PROTO_ICMPV6, len(msg)) + msg)
    return ipv6(src, dst, PROTO_ICMPV6, msg[:2] + struct.pack("!H", c) + msg[4:],
                hop_limit)


def solicited_node(addr):
    return bytes.fromhex("ff0200000000000000000001ff") + addr[13:]


def nd_solicit(target=OUR_V6, src=PEER_V6, dst=None, hop_limit=255, lladdr=True):
    msg = struct.pack("!BBHI16s", 135, 0, 0, 0, target)
    if lladdr:
        msg += b"\x01\x01" + PEER_MAC
    return icmp6(src, dst or solicited_node(target), msg, hop_limit)


def filler(n):
    return bytes((0xA5 ^ i) & 0xFF for i in range(n))


def quic_long(type_bits, version, dcid, scid, total=0):
    hdr = (bytes([0xC0 | (type_bits & 3) << 4]) + struct.pack("!I", version) +
           bytes([len(dcid)]) + dcid + bytes([len(scid)]) + scid)
    return hdr + filler(max(0, total - len(hdr)))


def quic_short(dcid, total=0):
    hdr = b"\x40" + dcid
    return hdr + filler(max(0, total - len(hdr)))


def nibble_cid(owner, rest=bytes.fromhex("0b1c2d3e4f506172")):
    """8-byte CID naming owner in the high nibble of byte 0 (the nibble format)."""
    return bytes([(owner << 4) | (rest[0] & 0x0F)]) + rest[1:]


def pad(frame, length=ETHER_MIN):
    return frame + b"\0" * max(0, length - len(frame))


def corpus():
    """name -> frame"""
    client_cid = bytes.fromhex("c1c2c3c4c5c6c7c8")
    c = {}
    c["arp_request_ours"] = pad(arp(1, PEER_V4, OUR_V4))
    c["arp_request_other"] = pad(arp(1, PEER_V4, OTHER_V4))
    c["arp_reply"] = pad(arp(2, PEER_V4, OUR_V4))
    c["arp_truncated"] = arp(1, PEER_V4, OUR_V4)[:30]
    c["icmp4_echo"] = icmp4_echo()
    c["icmp4_echo_padded"] = pad(icmp4_echo(data_len=2))
    c["icmp4_echo_other"] = icmp4_echo(dst=OTHER_V4)
    c["icmp6_echo"] = icmp6(PEER_V6, OUR_V6, echo_body(128, 32))
    c["nd_solicit_multicast"] = nd_solicit()
    c["nd_solicit_unicast"] = nd_solicit(dst=OUR_V6, lladdr=False)
    c["nd_solicit_hop64"] = nd_solicit(hop_limit=64)
    c["nd_solicit_dad"] = nd_solicit(src=b"\0" * 16, lladdr=False)
    c["nd_solicit_other_target"] = nd_solicit(target=OTHER_V6)

    c["udp4_initial"] = udp4(quic_long(0, QUIC_V1, client_cid, client_cid[:5], 1200))
    c["udp4_0rtt"] = udp4(quic_long(1, QUIC_V1, nibble_cid(2), client_cid, 200))
    for w in range(N_WORKERS):
        c[f"udp4_handshake_w{w}"] = udp4(quic_long(2, QUIC_V1, nibble_cid(w), client_cid, 120))
        c[f"udp4_short_w{w}"] = udp4(quic_short(nibble_cid(w), 60))
    c["udp4_short_no_worker"] = udp4(quic_short(nibble_cid(9), 60))
    c["udp4_short_truncated"] = udp4(quic_short(nibble_cid(1))[:5])
    c["udp4_short_padded"] = pad(udp4(quic_short(nibble_cid(3))[:2]))
    c["udp4_retry"] = udp4(quic_long(3, QUIC_V1, client_cid, nibble_cid(1), 80))
    c["udp4_version_negotiation"] = udp4(quic_long(0, 0, client_cid, nibble_cid(1)) +
                                         struct.pack("!II", 1, 0x0A0A0A0A))
    c["udp4_unknown_version_cid255"] = udp4(quic_long(0, 0xFF00001D, b"\x21" * 255, b"\x22" * 255))
    c["udp4_v1_cid21"] = udp4(quic_long(2, QUIC_V1, b"\x20" * 21, client_cid, 60))
    c["udp4_long_truncated"] = udp4(quic_long(2, QUIC_V1, nibble_cid(2), client_cid)[:12])
    c["udp4_empty"] = udp4(b"")
    c["udp4_other_port"] = udp4(quic_short(nibble_cid(1), 40), dport=4433)
    c["udp4_other_addr"] = udp4(quic_short(nibble_cid(1), 40), dst=OTHER_V4)
    c["udp4_ip_options"] = udp4(quic_short(nibble_cid(2), 40), options=b"\x01" * 4)
    # options and DSCP/ECN bits an answer must not echo (issue 9, defect 8)
    record_route = b"\x01\x07\x27\x04" + bytes(36)
    c["udp4_ip_options_tos"] = udp4(quic_short(nibble_cid(2), 60),
                                    options=record_route, tos=0xBB)
    c["icmp4_echo_options_tos"] = icmp4_echo(options=record_route, tos=0xBB)
    c["udp4_bad_udp_cksum"] = udp4(quic_short(nibble_cid(1), 60))[:-1] + b"\xff"
    # frames for another host on the segment (issue 9, defect 9)
    other_mac = bytes.fromhex("020000000099")
    c["udp4_other_mac"] = other_mac + udp4(quic_short(nibble_cid(1), 60))[6:]
    c["udp4_broadcast_mac"] = BROADCAST + udp4(quic_short(nibble_cid(1), 60))[6:]
    c["nd_solicit_all_nodes_mac"] = (bytes.fromhex("333300000001") +
                                     nd_solicit()[6:])

    c["udp6_initial"] = udp6(quic_long(0, QUIC_V1, client_cid, b"", 1200))
    c["udp6_handshake_w2"] = udp6(quic_long(2, QUIC_V1, nibble_cid(2), client_cid, 100))
    c["udp6_short_w1"] = udp6(quic_short(nibble_cid(1), 60))
    c["udp6_short_w3"] = udp6(quic_short(nibble_cid(3), 1200))

    c["ipv4_fragment"] = udp4(quic_short(nibble_cid(1), 40), flags_frag=0x2000)
    bad = bytearray(udp4(quic_short(nibble_cid(1), 40)))
    bad[24] ^= 1  # header checksum
    c["ipv4_bad_cksum"] = bytes(bad)
    bad = bytearray(udp4(quic_short(nibble_cid(1), 40)))
    bad[16:18] = struct.pack("!H", 2000)  # total length past the frame
    c["ipv4_bad_total_length"] = bytes(bad)
    frag = ipv6(PEER_V6, OUR_V6, PROTO_FRAGMENT,
                struct.pack("!BBHI", PROTO_UDP, 0, 1, 1) + b"\0" * 16)
    c["ipv6_fragment"] = frag
    c["ipv6_truncated"] = udp6(quic_short(nibble_cid(1), 40))[:40]
    c["unknown_ethertype"] = pad(eth(OUR_MAC, 0x88CC, b"\x02\x07\x04" + OUR_MAC))
    c["vlan_tagged"] = eth(OUR_MAC, 0x8100, struct.pack("!HH", 5, ETH_IPV4) +
                           udp4(quic_short(nibble_cid(1), 40))[14:])
    c["runt"] = OUR_MAC + PEER_MAC[:3]
    c["zeros"] = b"\0" * 64  # what the net_null PMD delivers
    return c


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "corpus")
    os.makedirs(out, exist_ok=True)
    frames = corpus()
    for name, frame in sorted(frames.items()):
        with open(os.path.join(out, name + ".bin"), "wb") as f:
            f.write(frame)
    print(f"{len(frames)} frames written to {out}")


if __name__ == "__main__":
    main()
