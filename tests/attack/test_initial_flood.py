#!/usr/bin/env python3
"""An Initial flood from spoofed addresses (issue 9, defect 3), with the
default retry = auto.

tests/tools/initial_flood.c sends real QUIC v1 Initials (each the first
datagram of a fresh ngtcp2 client, ClientHello and all) from 198.19.0.1,
198.19.0.2, ... (one Initial per address, a range the rig never uses) over
a raw socket, FLOOD_RATE a second for FLOOD_SECONDS, while 20 real clients
(quicsteer-load, one request each) connect. The test's configuration:
handshake_timeout_ms = 2000 (so spoofed handshakes time out within the
test) and max_conns = 512, so that with retry = off the two workers could
hold 2 x 512 handshakes per 2 s, 512 new ones a second: the flood is about
6 times that (and with retry = off the real clients are refused).

Asserted:
- at least 95 % of the real clients complete their handshake and request;
- every Initial quicsteer received that did not start a handshake got a
  Retry (quic_retries_sent = quic_initials - quic_conn_accepted, none
  refused), and that is most of the flood (past retry_auto_unvalidated,
  every new one gets a stateless Retry); the
  quic_conn_unvalidated gauge, sampled during the flood, never exceeds
  retry_auto_unvalidated per worker (+ a handful a burst may add before
  the count is seen);
- memory: quicsteer's peak RSS (VmHWM) grows, from after a run of the same
  20 clients before the flood to after the flood, by less than
  MEM_BOUND_MIB = 80 MiB: the unvalidated handshakes the workers may hold
  (retry_auto_unvalidated = 128 each, 2 workers) at 256 KiB each (a
  handshake measures about 165 KiB: ngtcp2, GnuTLS, heap), 64 MiB, plus
  16 MiB for the rest (allocator slack). The RSS plateaus once the first
  256 handshakes are held (printed). Without the defence the 1024
  handshakes max_conns lets in (4096 a worker by default) take ~165 MiB.
  Not asserted under AddressSanitizer, whose quarantine keeps freed
  memory (256 MiB by default): the figures are printed;
- no CONNECTION_CLOSE after a handshake timeout: a capture on the server's
  veth of everything sent to 198.19.0.0/16 shows, per spoofed address
  (each sent one Initial), either exactly one Retry, or the server's first
  flight and its PTO retransmissions, all within LAST_PACKET_BEFORE (1.5 s)
  of the first packet; the handshake timeout fires at 2.0 s, so a packet
  then (a CONNECTION_CLOSE, whatever its encrypted content) fails the
  test; no short-header packet ever goes there;
- quic_handshake_timeouts moved by the number of spoofed handshakes the
  server took on (accepted minus completed), and no connection is left
  (quic_conn_active 0).
"""
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))

from h3 import make_cert  # noqa: E402
from rig import (SERVER_V4, Rig, TestFailure, binary, check, check_eq, delta,  # noqa: E402
                 main, parse_ipv4_udp, temp_dir, total)

WORKERS = 2
HANDSHAKE_TIMEOUT_MS = 2000
UNVALIDATED_MAX = 128            # retry_auto_unvalidated, the default
CONFIG = f"""[quic]
handshake_timeout_ms = {HANDSHAKE_TIMEOUT_MS}
max_conns = 512
"""
SPOOF_NET = "198.19.0.0"         # /16: inside 198.18.0.0/15, unused by the rig
FLOOD_RATE = 3000                # spoofed Initials a second
FLOOD_SECONDS = 8
# with retry = off, 2 workers x max_conns 512 per 2 s handshake timeout
# hold 512 new handshakes a second: the flood must reach 3 times that (it
# does 3000 when nothing else loads the machine)
MIN_RATE = 3 * 512
MIN_RECEIVED = 0.5               # share of the flood quicsteer must have received
CLIENTS = 20
CLIENTS_AT = 2.0                 # seconds into the flood: Retry is on by then
MIN_COMPLETE = 0.95
LAST_PACKET_BEFORE = 0.75 * HANDSHAKE_TIMEOUT_MS / 1000
MEM_PER_HANDSHAKE_KIB = 256     # measured: about 165 KiB (ngtcp2 + GnuTLS + heap)
MEM_SLACK_MIB = 16
MEM_BOUND_MIB = WORKERS * UNVALIDATED_MAX * MEM_PER_HANDSHAKE_KIB / 1024 + MEM_SLACK_MIB
SAMPLE_EVERY = 0.5               # quic_conn_unvalidated samples during the flood
ACTIVE_WAIT = 10.0          # s: the last closing periods end
UNVALIDATED_SLACK = 8            # a burst may add a few before the count is seen
LONG_TYPES = {0: "Initial", 1: "0-RTT", 2: "Handshake", 3: "Retry"}


def real_clients(rig, cert, what):
    """CLIENTS quicsteer-load connections, one request each; the report."""
    proc = rig.run_in_client(
        [binary("QUICSTEER_LOAD", "app/quicsteer-load/quicsteer-load"), "--ca", cert,
         "--timeout", "5", "-c", str(CLIENTS), "-n", str(CLIENTS), "--json",
         f"https://{SERVER_V4}:{rig.port}/bytes/1000"], timeout=30, check_rc=False)
    try:
        rep = json.loads(proc.stdout)
    except ValueError as e:
        raise TestFailure(f"{what}: quicsteer-load gave no JSON: {proc.stdout[-500:]!r} "
                          f"{proc.stderr[-1500:]}") from e
    conn, req = rep["connections"], rep["requests"]
    print(f"{what}: {conn['succeeded']}/{CLIENTS} connections, {req['completed']} "
          f"requests completed, handshake p50 {rep['latency_us']['handshake']['p50']} us "
          f"max {rep['latency_us']['handshake']['max']} us; errors {rep['errors']} "
          f"{rep['error_examples']}")
    return rep


def asan(rig):
    """quicsteer runs with AddressSanitizer (build-san)."""
    return "libasan" in Path(f"/proc/{rig.proc.pid}/maps").read_text()


def analyse(frames):
    """Per spoofed address: [(time, kind)] of what quicsteer sent there."""
    by_addr = {}
    for ts, f in frames:
        p = parse_ipv4_udp(f)
        if p is None:
            continue
        payload = p[5]
        if not payload:
            kind = "empty"
        elif payload[0] & 0x80:
            kind = LONG_TYPES[(payload[0] >> 4) & 3]
        else:
            kind = "short"
        by_addr.setdefault(p[2], []).append((ts, kind))
    return by_addr


def test():
    with temp_dir("iflood") as tmp:
        cert, key = make_cert(tmp)
        with Rig("iflood", workers=WORKERS, config=CONFIG,
                 app_args=["--cert", str(cert), "--key", str(key)]) as rig:
            # the same clients before the flood: what memory a normal run takes
            rep = real_clients(rig, cert, "before the flood")
            check_eq(rep["connections"]["succeeded"], CLIENTS, "clients before the flood")
            rig.wait_quiet(timeout=5)
            mem0 = rig.memory()

            # on the client's end of the veth pair: af_packet transmits with
            # PACKET_QDISC_BYPASS, which taps on the server's end never see
            cap = rig.capture(f"ether src {rig.server_mac} and dst net {SPOOF_NET}/16",
                              side="client", snaplen=64)
            before = rig.counters()
            flood = rig.popen_in("client", [
                binary("INITIAL_FLOOD", "tests/attack/initial_flood"),
                "--dst", SERVER_V4, "--port", rig.port, "--src-net", SPOOF_NET,
                "--rate", FLOOD_RATE, "--seconds", FLOOD_SECONDS],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            start = time.monotonic()
            unvalidated, rss = [], []

            def sample():
                unvalidated.append(total(rig.counters(), "quic_conn_unvalidated"))
                rss.append(rig.memory()["VmRSS"] // 1024)

            while time.monotonic() < start + CLIENTS_AT:
                sample()
                time.sleep(SAMPLE_EVERY)
            rep = real_clients(rig, cert, "during the flood")
            while flood.poll() is None and time.monotonic() < start + FLOOD_SECONDS + 10:
                sample()
                time.sleep(SAMPLE_EVERY)
            try:
                out, err = flood.communicate(timeout=10)
                fl = json.loads(out)
            except (subprocess.TimeoutExpired, ValueError) as e:
                raise TestFailure(f"initial_flood did not end with its report: {e}") from e
            flood_end = time.monotonic()
            print(f"flood: {fl['sent']} spoofed Initials of {fl['datagram_len']} bytes in "
                  f"{fl['seconds']:.2f} s ({fl['rate']:.0f}/s) from {fl['first_src']} to "
                  f"{fl['last_src']}, {fl['send_errors']} send errors")
            check(fl["rate"] >= MIN_RATE,
                  f"the flood reached only {fl['rate']:.0f} Initials/s (< {MIN_RATE:.0f}): "
                  f"{fl} {err}")

            # every spoofed handshake times out, and a CONNECTION_CLOSE after
            # it would be on the wire by then
            time.sleep(max(0.0, flood_end + HANDSHAKE_TIMEOUT_MS / 1000 + 1.5
                           - time.monotonic()))
            after = rig.wait_quiet(timeout=10)
            frames = cap.stop()
            mem1 = rig.memory()
            d = delta(before, after)

            # the real clients
            conn, req = rep["connections"], rep["requests"]
            check(conn["succeeded"] >= MIN_COMPLETE * CLIENTS and
                  req["completed"] >= MIN_COMPLETE * CLIENTS,
                  f"during the flood only {conn['succeeded']} of {CLIENTS} clients connected "
                  f"and {req['completed']} requests completed (< {MIN_COMPLETE:.0%}): "
                  f"{rep['errors']} {rep['error_examples']}")

            # Retry, and the unvalidated handshakes held
            sent = fl["sent"]
            retries = total(d, "quic_retries_sent")
            accepted = total(d, "quic_conn_accepted")
            completed = total(d, "quic_handshakes_completed")
            timeouts = total(d, "quic_handshake_timeouts")
            print(f"counters: quic_initials +{total(d, 'quic_initials')}, quic_retries_sent "
                  f"+{retries}, quic_conn_accepted +{accepted}, quic_handshakes_completed "
                  f"+{completed}, quic_handshake_timeouts +{timeouts}, quic_conn_refused "
                  f"+{total(d, 'quic_conn_refused')}, quic_drop_bad_token "
                  f"+{total(d, 'quic_drop_bad_token')}; quic_conn_unvalidated samples "
                  f"{unvalidated}")
            initials = total(d, "quic_initials")
            check(initials >= MIN_RECEIVED * sent,
                  f"quicsteer received {initials} Initials of the {sent} spoofed ones")
            check_eq(total(d, "quic_conn_refused"), 0, "quic_conn_refused")
            check_eq(retries, initials - accepted,
                     "quic_retries_sent vs Initials received that started no handshake")
            limit = WORKERS * (UNVALIDATED_MAX + UNVALIDATED_SLACK)
            check(max(unvalidated) <= limit,
                  f"quic_conn_unvalidated reached {max(unvalidated)} (> {limit}): {unvalidated}")
            check(max(unvalidated) >= WORKERS * UNVALIDATED_MAX // 2,
                  f"quic_conn_unvalidated never got near the threshold ({unvalidated}): "
                  f"did the flood reach quicsteer?")
            check_eq(timeouts, accepted - completed,
                     "quic_handshake_timeouts vs handshakes accepted and not completed")
            # nothing is held: the real clients closed, every spoofed
            # handshake timed out (closing periods may still be ending;
            # slower under ASan)
            active = total(after, "quic_conn_active")
            give_up = time.monotonic() + ACTIVE_WAIT
            while active != 0 and time.monotonic() < give_up:
                time.sleep(0.2)
                active = total(rig.counters(), "quic_conn_active")
            check_eq(active, 0, "quic_conn_active after the flood")

            # memory
            grow_mib = (mem1["VmHWM"] - mem0["VmHWM"]) / 1024
            print(f"memory: VmRSS {mem0['VmRSS'] // 1024} MiB -> {mem1['VmRSS'] // 1024} MiB, "
                  f"peak (VmHWM) {mem0['VmHWM'] // 1024} MiB -> {mem1['VmHWM'] // 1024} MiB: "
                  f"+{grow_mib:.1f} MiB (bound {MEM_BOUND_MIB} MiB); VmRSS during the "
                  f"flood, MiB: {rss}")
            if asan(rig):
                print("memory bound not asserted: quicsteer runs under AddressSanitizer, "
                      "whose quarantine holds freed memory")
            else:
                check(grow_mib < MEM_BOUND_MIB,
                      f"quicsteer's peak RSS grew by {grow_mib:.1f} MiB during the flood "
                      f"(bound {MEM_BOUND_MIB:.0f} MiB)")

            # the wire: Retries, first flights, and nothing at the timeout
            by_addr = analyse(frames)
            n_retry = n_flight = 0
            late, spread, shapes = [], 0.0, {}
            for addr, pkts in by_addr.items():
                kinds = [k for _, k in pkts]
                check("short" not in kinds and "empty" not in kinds,
                      f"quicsteer sent {kinds} to the spoofed {addr}")
                if "Retry" in kinds:
                    check_eq(kinds, ["Retry"], f"packets to the spoofed {addr}")
                    n_retry += 1
                    continue
                n_flight += 1
                first = pkts[0][0]
                last = pkts[-1][0]
                spread = max(spread, last - first)
                shapes[len(kinds)] = shapes.get(len(kinds), 0) + 1
                if last - first > LAST_PACKET_BEFORE:
                    late.append((addr, round(last - first, 3), kinds))
            spoofed_accepted = accepted - CLIENTS
            print(f"capture on the wire: {len(frames)} frames to {len(by_addr)} "
                  f"spoofed addresses: {n_retry} got a Retry, {n_flight} a first flight "
                  f"(datagrams each: {shapes}; last one at most {spread:.3f} s after the "
                  f"first); {len(late)} got a packet later than {LAST_PACKET_BEFORE} s "
                  f"after their first; tcpdump {cap.stats}")
            check(cap.complete(), f"the capture lost frames: tcpdump {cap.stats}")
            check(n_retry >= retries - CLIENTS - 2,
                  f"the capture holds {n_retry} Retries to spoofed addresses, quicsteer "
                  f"sent {retries} in all ({CLIENTS} to real clients): it missed some")
            check(not late, f"packets to spoofed addresses long after their first flight "
                            f"(a CONNECTION_CLOSE at the handshake timeout?): {late[:10]}")
            check(n_flight <= spoofed_accepted,
                  f"{n_flight} spoofed addresses got a first flight, but only "
                  f"{spoofed_accepted} spoofed handshakes were accepted")

            rc, _ = rig.stop()
            check_eq(rc, 0, "quicsteer exit code after SIGTERM")


if __name__ == "__main__":
    main(test)
