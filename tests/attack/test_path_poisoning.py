#!/usr/bin/env python3
"""Path poisoning (issue 9, defect 1), on the wire: while quicsteer-load
downloads /bytes/N over a shaped link (so the transfer lasts seconds),
forged 1-RTT datagrams that carry the connection's real DCID (read from
/quicsteer/conns) arrive on the server's veth:

  a. from another MAC and another address,
  b. from another MAC with the client's own address and port,
  c. from the client's MAC with another address.

Their payload is random, so no AEAD check can pass. Asserted:

- the download completes with the right bytes (byte k of /bytes/N is
  'a' + k % 26, compared whole);
- no frame quicsteer sent goes to the forged MAC or to the forged address
  (what ngtcp2 would do with a learnt path: path validation, or the
  download's packets): a capture for the whole run of every frame from the
  server's MAC, taken on the client's end of the veth pair (the wire's
  other end: af_packet transmits with PACKET_QDISC_BYPASS, which packet
  taps on the server's end never see);
- quic_drop_unauthenticated moved by the number forged (within a few),
  drop_tx_no_path, quic_path_migrations and quic_stateless_resets_sent did
  not move (nothing tried to reach the forged path; a known CID never draws
  a reset).
"""
import os
import random
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))

from h3 import is_bytes_prefix, make_cert  # noqa: E402
from nat import limit_download  # noqa: E402
from rig import (CLIENT_V4, QUIC_PORT, SERVER_V4, Rig, TestFailure, binary,  # noqa: E402
                 check, check_eq, delta, ipv4_udp_frame, main, parse_ipv4_udp,
                 temp_dir, total)

WORKERS = 2
SIZE = 64 << 20             # about 5.5 s at 100 Mbit/s
RATE = "100mbit"            # the client's shaped downlink (nat.limit_download)
FORGED_MAC = "02:00:00:00:00:66"
FORGED_V4 = "198.18.0.66"   # on the client's /24, owned by nobody
ROUNDS = 4                  # bursts of forged datagrams, spread over the download
PER_ROUND = 45              # 15 of each kind per burst
ROUND_GAP = 0.1             # seconds between bursts
CONN_WAIT = 10.0            # for the download's connection to show in telemetry
DOWNLOAD_TIMEOUT = 60.0
MIN_TO_CLIENT = 1000        # frames to the client the capture must hold
UNAUTH_SLACK = 4            # quic_drop_unauthenticated beyond the forged count


def download_conn(rig, load):
    """(CID hex, client port) of the download's connection, once it has
    sent a first MiB; bounded."""
    deadline = time.monotonic() + CONN_WAIT
    while True:
        check(load.poll() is None,
              f"quicsteer-load exited {load.returncode} before the download got going")
        for cid, info in rig.conns().get("busiest", {}).items():
            host, _, port = info["peer"].rpartition(":")
            if host == CLIENT_V4 and info["tx_bytes"] > (1 << 20) and cid != "?":
                return cid, int(port)
        check(time.monotonic() < deadline,
              f"no connection from {CLIENT_V4} with 1 MiB sent within {CONN_WAIT} s: "
              f"{rig.conns()}")
        time.sleep(0.05)


def forged(rig, dcid, client_port, kind, rng):
    """One forged 1-RTT datagram of kind a, b or c (see the module text)."""
    length = rng.randrange(48, 1200)
    body = bytes([0x40 | rng.randrange(0x40)]) + dcid + rng.randbytes(length - 1 - len(dcid))
    if kind == "a":
        src_mac, src, sport = FORGED_MAC, FORGED_V4, rng.randrange(1024, 65536)
    elif kind == "b":
        src_mac, src, sport = FORGED_MAC, CLIENT_V4, client_port
    else:
        src_mac, src, sport = rig.client_mac, FORGED_V4, rng.randrange(1024, 65536)
    return ipv4_udp_frame(rig.server_mac, src_mac, src, SERVER_V4, sport, QUIC_PORT, body)


def test():
    rng = random.Random(os.getpid())
    with temp_dir("poison") as tmp:
        cert, key = make_cert(tmp)
        with Rig("poison", workers=WORKERS,
                 app_args=["--cert", str(cert), "--key", str(key)]) as rig:
            limit_download(rig, rate=RATE)
            cap = rig.capture(f"ether src {rig.server_mac}", side="client", snaplen=64)
            before = rig.counters()
            out_path = tmp / "body"
            with open(out_path, "wb") as out, open(tmp / "load.err", "wb") as err:
                load = rig.popen_in("client", [
                    binary("QUICSTEER_LOAD", "app/quicsteer-load/quicsteer-load"),
                    "--ca", cert, "--timeout", "10", "--get",
                    f"https://{SERVER_V4}:{rig.port}/bytes/{SIZE}"], stdout=out, stderr=err)
            start = time.monotonic()
            cid, client_port = download_conn(rig, load)
            dcid = bytes.fromhex(cid)
            print(f"download connection: server CID {cid}, client port {client_port}")

            sent = 0
            kinds = "abc"
            at = []
            for i in range(ROUNDS):
                at.append(out_path.stat().st_size >> 20)
                frames = [forged(rig, dcid, client_port, kinds[j % 3], rng)
                          for j in range(PER_ROUND)]
                rig.send_frames(frames, listen=0)
                sent += len(frames)
                time.sleep(ROUND_GAP)
            got = out_path.stat().st_size
            check(load.poll() is None and got < SIZE,
                  f"the download was over ({got} of {SIZE} bytes) before the last "
                  f"forged burst: the forgeries did not land during the transfer")
            print(f"{sent} forged datagrams sent in {ROUNDS} bursts, when {at} MiB of "
                  f"{SIZE >> 20} MiB had arrived; {got >> 20} MiB after the last")

            try:
                rc = load.wait(max(1.0, start + DOWNLOAD_TIMEOUT - time.monotonic()))
            except subprocess.TimeoutExpired as e:
                raise TestFailure(f"the download did not end within {DOWNLOAD_TIMEOUT} s "
                                  f"({out_path.stat().st_size} bytes)") from e
            seconds = time.monotonic() - start
            err_text = (tmp / "load.err").read_text(errors="replace")
            got = out_path.stat().st_size
            check(rc == 0, f"quicsteer-load exited {rc} after {got} bytes: {err_text}")
            check_eq(got, SIZE, "bytes downloaded")
            check(is_bytes_prefix(out_path), "the body is not /bytes/N's ('a' + k % 26)")
            print(f"download: {SIZE} bytes right in {seconds:.2f} s")

            after = rig.wait_quiet(timeout=5)
            frames = cap.stop()
            d = delta(before, after)

            to_client = to_forged_mac = to_forged_addr = 0
            for _, f in frames:
                p = parse_ipv4_udp(f)
                dst_mac = ":".join(f"{b:02x}" for b in f[0:6])
                if dst_mac == FORGED_MAC:
                    to_forged_mac += 1
                if p is not None and p[2] == FORGED_V4:
                    to_forged_addr += 1
                if p is not None and p[2] == CLIENT_V4 and dst_mac == rig.client_mac:
                    to_client += 1
            print(f"capture on the wire: {len(frames)} frames from quicsteer, "
                  f"{to_client} to the client, {to_forged_mac} to {FORGED_MAC}, "
                  f"{to_forged_addr} to {FORGED_V4}; tcpdump {cap.stats}")
            check(to_client >= MIN_TO_CLIENT,
                  f"the capture holds only {to_client} frames to the client: it did not "
                  f"see quicsteer's transmissions, so it proves nothing")
            check(cap.complete(), f"the capture lost frames: tcpdump {cap.stats}")
            check_eq(to_forged_mac, 0, f"frames quicsteer sent to the forged MAC {FORGED_MAC}")
            check_eq(to_forged_addr, 0, f"frames quicsteer sent to the forged address {FORGED_V4}")

            unauth = total(d, "quic_drop_unauthenticated")
            print(f"counters: quic_drop_unauthenticated +{unauth} for {sent} forged, "
                  f"drop_tx_no_path +{total(d, 'drop_tx_no_path')}, quic_path_migrations "
                  f"+{total(d, 'quic_path_migrations')}, quic_stateless_resets_sent "
                  f"+{total(d, 'quic_stateless_resets_sent')}, drop_bad_checksum "
                  f"+{total(d, 'drop_bad_checksum')}")
            check(sent <= unauth <= sent + UNAUTH_SLACK,
                  f"quic_drop_unauthenticated moved by {unauth} for {sent} forged datagrams")
            check_eq(total(d, "drop_bad_checksum"), 0, "drop_bad_checksum (forged frames "
                     "must reach QUIC)")
            check_eq(total(d, "drop_tx_no_path"), 0, "drop_tx_no_path")
            check_eq(total(d, "quic_path_migrations"), 0, "quic_path_migrations")
            check_eq(total(d, "quic_stateless_resets_sent"), 0, "quic_stateless_resets_sent")
            check_eq(total(d, "quic_handshakes_completed"), 1, "quic_handshakes_completed")

            rc, out = rig.stop()
            check_eq(rc, 0, "quicsteer exit code after SIGTERM")


if __name__ == "__main__":
    main(test)
