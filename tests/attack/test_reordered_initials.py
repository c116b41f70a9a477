#!/usr/bin/env python3
"""Reordered Initials (issue 9, defect 4): a client whose ClientHello
spans two Initial packets, the second delivered first.

gtlsclient (Debian's ngtcp2 example client) offers FFDHE8192 first
(--groups), so its ClientHello carries a 1 KiB key share and takes two
Initial datagrams (CRYPTO offsets 0 and ~1100). A relay in the client
namespace (tests/tools/reorder_proxy.py) holds the first back until the
second has gone on. ngtcp2 cannot buffer CRYPTO data that does not start
at offset 0 in a first Initial; quicsteer answers it with a Retry (as
ngtcp2's example server does) and the client starts again with the token.

Asserted: the relay did reorder two Initials of one connection (same DCID,
long-header type Initial); the client received a Retry, completed the
handshake and got /bytes/N whole and right; quic_retries_sent moved by
exactly 1, one handshake completed, one response 2xx.
"""
import json
import select
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))

from h3 import bytes_sha, make_cert, sha256_file  # noqa: E402
from rig import (CLIENT_V4, SERVER_V4, TOOLS, Rig, TestFailure, check,  # noqa: E402
                 check_eq, delta, main, temp_dir, total)

WORKERS = 2
PROXY_PORT = 5443
SIZE = 100000
# FFDHE8192 first: a 1024-byte key share (the server picks X25519, also
# offered); the server's own groups are X25519 and the NIST curves
GROUPS = "-GROUP-ALL:+GROUP-FFDHE8192:+GROUP-X25519"
CLIENT_TIMEOUT = 30
PROXY_READY = 10.0


def is_initial(first_byte):
    return first_byte is not None and first_byte & 0xF0 == 0xC0  # long, type 0


def test():
    with temp_dir("reorder") as tmp:
        cert, key = make_cert(tmp)
        with Rig("reorder", workers=WORKERS,
                 app_args=["--cert", str(cert), "--key", str(key)]) as rig:
            proxy = rig.popen_in("client", [
                sys.executable, TOOLS / "reorder_proxy.py",
                "--listen", f"{CLIENT_V4}:{PROXY_PORT}",
                "--server", f"{SERVER_V4}:{rig.port}", "--seconds", "45"],
                stdout=subprocess.PIPE, text=True)
            ready, _, _ = select.select([proxy.stdout], [], [], PROXY_READY)
            check(ready and proxy.stdout.readline().strip() == "listening",
                  f"reorder_proxy.py not listening within {PROXY_READY} s")

            before = rig.counters()
            download = tmp / "download"
            download.mkdir()
            start = time.monotonic()
            r = rig.run_in_client(
                ["gtlsclient", "--no-quic-dump", "--no-http-dump",
                 "--exit-on-all-streams-close", "--timeout=10s", f"--groups={GROUPS}",
                 f"--download={download}", CLIENT_V4, str(PROXY_PORT),
                 f"https://{SERVER_V4}:{rig.port}/bytes/{SIZE}"],
                timeout=CLIENT_TIMEOUT, check_rc=False)
            seconds = time.monotonic() - start
            proxy.terminate()
            try:
                out, _ = proxy.communicate(timeout=10)
                report = json.loads(out.strip().splitlines()[-1])
            except (ValueError, IndexError) as e:
                raise TestFailure(f"reorder_proxy.py gave no report: {out!r}") from e
            print(f"relay: {report}")
            check(report["reordered"],
                  f"the client's first flight was one datagram, nothing to reorder "
                  f"(ClientHello too small?): {report}")
            held, second = report["held"], report["second"]
            check(is_initial(held["first_byte"]) and is_initial(second["first_byte"]),
                  f"the two reordered datagrams are not both Initials: {report}")
            check_eq(second["dcid"], held["dcid"], "DCID of the two reordered Initials")

            log = r.stdout + r.stderr
            tail = "\n".join(log.splitlines()[-30:])
            check(r.returncode == 0,
                  f"gtlsclient exit {r.returncode} after {seconds:.2f} s:\n{tail}")
            check("type=Retry" in log, f"the client received no Retry:\n{tail}")
            body = download / str(SIZE)
            check(body.is_file(), f"/bytes/{SIZE} not downloaded:\n{tail}")
            check_eq(sha256_file(body), bytes_sha(SIZE), f"sha256 of /bytes/{SIZE}")
            print(f"gtlsclient: Retry received, handshake done, {SIZE} bytes right in "
                  f"{seconds:.2f} s")

            d = delta(before, rig.wait_counters(
                lambda s: total(delta(before, s), "h3_responses_2xx") >= 1))
            print(f"counters: quic_initials +{total(d, 'quic_initials')}, "
                  f"quic_retries_sent +{total(d, 'quic_retries_sent')}, quic_conn_accepted "
                  f"+{total(d, 'quic_conn_accepted')}, quic_handshakes_completed "
                  f"+{total(d, 'quic_handshakes_completed')}, h3_responses_2xx "
                  f"+{total(d, 'h3_responses_2xx')}")
            check_eq(total(d, "quic_retries_sent"), 1, "quic_retries_sent")
            check_eq(total(d, "quic_handshakes_completed"), 1, "quic_handshakes_completed")
            check_eq(total(d, "h3_responses_2xx"), 1, "h3_responses_2xx")

            rc, _ = rig.stop()
            check_eq(rc, 0, "quicsteer exit code after SIGTERM")


if __name__ == "__main__":
    main(test)
