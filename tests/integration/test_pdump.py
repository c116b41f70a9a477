#!/usr/bin/env python3
"""dpdk-dumpcap for real: quicsteer on hugepages (reserved for the test,
skipped with the kernel's reason when there are none) with SSLKEYLOGFILE
set; Debian's dpdk-dumpcap, a DPDK secondary process, captures on its port
while gtlsclient downloads /1k.bin and asks for a path made of '~' (which
QPACK carries verbatim: Huffman would make it longer). Then Debian's tshark
reads the capture with the key log and finds the connection decrypted:
- dumpcap exits cleanly and captured packets; tshark sees the same count;
- without the key log no STREAM frame can be read, with it there are;
- the client's decrypted stream data holds the requested path;
- the server's decrypted stream data holds every byte of /1k.bin.
README's "Packet capture" section says the same steps."""
import os
import signal
import subprocess
import time

from h3 import Site, check_ok, fetch
from rig import (CLIENT_V4, SERVER_V4, Rig, TestFailure, _stop_process, check, check_eq,
                 main, temp_dir)

DUMPCAP_READY = 15.0
ODD_PATH = "/" + "~" * 24


def start_dumpcap(rig, out):
    """dpdk-dumpcap attached to the rig's quicsteer, capturing port 0 into
    out; returns once it says it is capturing."""
    err = rig._tmp / "dumpcap.out"
    with open(err, "wb") as f:
        # stdbuf: its "Capturing on" line is otherwise held in a buffer
        proc = subprocess.Popen(["stdbuf", "-oL", "dpdk-dumpcap", "--file-prefix", rig.prefix,
                                 "-i", rig.port_name, "-w", str(out)],
                                stdout=f, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + DUMPCAP_READY
    while time.monotonic() < deadline:
        text = err.read_text(errors="replace")
        if "Capturing on" in text:
            return proc, err
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    _stop_process(proc)
    raise TestFailure(f"dpdk-dumpcap did not start capturing: {err.read_text()}")


def tshark_fields(cap, keylog, display_filter, *fields):
    argv = ["tshark", "-r", str(cap), "-Y", display_filter, "-T", "fields"]
    if keylog is not None:
        argv += ["-o", f"tls.keylog_file:{keylog}"]
    for f in fields:
        argv += ["-e", f]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    check(proc.returncode == 0, f"tshark failed: {proc.stderr.strip()}")
    return [line.split("\t") for line in proc.stdout.splitlines() if line.strip()]


def stream_bytes(rows, src):
    """The STREAM frame payloads of packets from src, in capture order."""
    data = b""
    for row in rows:
        if row[0] != src or len(row) < 2:
            continue
        for chunk in row[1].split(","):
            data += bytes.fromhex(chunk.replace(":", ""))
    return data


def test():
    with temp_dir("pdump") as tmp:
        site = Site(tmp)
        keylog = tmp / "keys.log"
        cap = tmp / "quicsteer.pcapng"
        # GnuTLS writes the TLS secrets of every connection there
        os.environ["SSLKEYLOGFILE"] = str(keylog)
        with Rig("pdump", workers=2, app_args=site.server_args(), hugepages=True) as rig:
            dumpcap, err = start_dumpcap(rig, cap)
            try:
                r = fetch(rig, ["/1k.bin", ODD_PATH], tmp / "dl")
                check_ok(r, "the download during the capture")
                time.sleep(0.5)             # the last ACKs
            finally:
                dumpcap.send_signal(signal.SIGINT)
                try:
                    dumpcap.wait(20)
                except subprocess.TimeoutExpired:
                    _stop_process(dumpcap)
            text = err.read_text(errors="replace")
            print(f"dpdk-dumpcap: {' '.join(text.split()[-12:])}")
            check_eq(dumpcap.returncode, 0, "dpdk-dumpcap exit status")
            check(cap.is_file() and cap.stat().st_size > 0, "no capture file written")

        check(keylog.is_file() and "CLIENT_TRAFFIC_SECRET_0" in keylog.read_text(),
              f"SSLKEYLOGFILE {keylog} has no traffic secrets")
        frames = tshark_fields(cap, None, "frame", "frame.number")
        quic = tshark_fields(cap, None, "quic", "frame.number")
        locked = tshark_fields(cap, None, "quic.stream_data", "frame.number")
        rows = tshark_fields(cap, keylog, "quic.stream_data", "ip.src", "quic.stream_data")
        print(f"tshark: {len(frames)} frames, {len(quic)} QUIC, STREAM frames readable "
              f"in {len(locked)} without the key log, in {len(rows)} with it")
        check(len(quic) >= 8, f"only {len(quic)} QUIC packets captured")
        check_eq(len(locked), 0, "packets whose STREAM frames tshark read without keys")
        check(len(rows) >= 2, "tshark decrypted no STREAM frame with the key log")

        request = stream_bytes(rows, CLIENT_V4)
        response = stream_bytes(rows, SERVER_V4)
        check(ODD_PATH.encode() in request,
              f"the requested path {ODD_PATH} is not in the client's decrypted "
              f"stream data ({len(request)} bytes)")
        body = (site.docroot / "1k.bin").read_bytes()
        check(body in response,
              f"the 1k.bin body is not in the server's decrypted stream data "
              f"({len(response)} bytes)")
        print(f"decrypted: the request path in {len(request)} bytes of client stream data, "
              f"all {len(body)} body bytes in {len(response)} bytes of server stream data")


if __name__ == "__main__":
    main(test)
