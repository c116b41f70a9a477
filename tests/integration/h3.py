"""Helpers shared by the HTTP/3 tests (test_h3_*.py): a certificate, a
document root, and Debian's ngtcp2 example client `gtlsclient` run in the
Rig's client namespace.

    with temp_dir("h3dl") as tmp:
        site = Site(tmp)                  # cert + key + docroot, once per test
        with Rig("h3dl", app_args=site.server_args()) as rig:
            r = fetch(rig, ["/1m.bin"], tmp / "c1")
            check_body(r, "1m.bin", site.sha("1m.bin"))

Every client run is bounded by a timeout; the client's own idle timeout is
bounded too (--timeout), so a silent server shows up as a failure, not a
hang.
"""
import hashlib
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

from rig import SERVER_V4, SERVER_V6, check, check_eq, run

GTLSCLIENT = "gtlsclient"
CLIENT_TIMEOUT = 60.0        # one client run, end to end
CLIENT_IDLE = "10s"          # gtlsclient --timeout: its QUIC idle timeout

# docroot: name -> size (random bytes, made once per test)
FILES = {"empty.bin": 0, "1k.bin": 1024, "1m.bin": 1 << 20, "20m.bin": 20 << 20}
INDEX_HTML = b"<!doctype html>\n<title>quicsteer test</title>\n<p>index of /</p>\n"
DIR_INDEX_HTML = b"<!doctype html>\n<title>quicsteer test</title>\n<p>index of /dir/</p>\n"
HELLO_TXT = b"hello over HTTP/3\n"

CERT_TEMPLATE = """cn = quicsteer-test
ip_address = 198.18.0.1
ip_address = 2001:db8::1
tls_www_server
signing_key
expiration_days = 30
"""

# `http: stream 0x4 [content-length: 1024]` (gtlsclient without -q)
HEADER_RE = re.compile(r"^http: stream (0x[0-9a-f]+) \[(.+?): (.*)\]$", re.M)
# ngtcp2's log (without -q): `I00000012 0x<scid> frm rx 0 Initial
# CONNECTION_CLOSE(0x1c) error_code=CONNECTION_REFUSED(0x2) ...`, the number
# is milliseconds since the client's connection began
CLOSE_RX_RE = re.compile(r"^I(\d+) \S+ frm rx \d+ \S+ CONNECTION_CLOSE\(0x1[cd]\) "
                         r"error_code=(\S+)", re.M)


# ---- content --------------------------------------------------------------

def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256_bytes(data):
    return hashlib.sha256(data).hexdigest()


def bytes_body(n):
    """The body of /bytes/N: byte k is chr(ord('a') + k % 26)."""
    alphabet = b"abcdefghijklmnopqrstuvwxyz"
    return (alphabet * (n // 26 + 1))[:n]


def bytes_sha(n):
    """sha256 of bytes_body(n), without holding it in memory."""
    h = hashlib.sha256()
    chunk = b"abcdefghijklmnopqrstuvwxyz" * 40330   # whole alphabets, ~1 MiB
    left = n
    while left > 0:
        h.update(chunk[:min(left, len(chunk))])
        left -= min(left, len(chunk))
    return h.hexdigest()


def is_bytes_prefix(path):
    """True when the file is a prefix of a /bytes/N body (a truncated
    download is still the right bytes, never garbage)."""
    chunk = b"abcdefghijklmnopqrstuvwxyz" * 40330
    with open(path, "rb") as f:
        while True:
            data = f.read(len(chunk))
            if not data:
                return True
            if data != chunk[:len(data)]:
                return False


def make_key(directory, name):
    key = Path(directory) / f"{name}.key.pem"
    run(["certtool", "--generate-privkey", "--key-type=ecdsa",
         "--curve=secp256r1", "--outfile", str(key)])
    return key


def make_cert(directory, name="server", key=None):
    """A self-signed ECDSA P-256 certificate for the rig's server addresses;
    (cert path, key path). key: sign with this key instead of a new one."""
    directory = Path(directory)
    key = Path(key) if key is not None else make_key(directory, name)
    tmpl = directory / f"{name}.tmpl"
    tmpl.write_text(CERT_TEMPLATE)
    cert = directory / f"{name}.cert.pem"
    run(["certtool", "--generate-self-signed", "--load-privkey", str(key),
         "--template", str(tmpl), "--outfile", str(cert)])
    return cert, key


def make_docroot(directory):
    """FILES (random bytes), index.html, dir/index.html and hello.txt."""
    root = Path(directory) / "docroot"
    (root / "dir").mkdir(parents=True)
    for name, size in FILES.items():
        (root / name).write_bytes(os.urandom(size))
    (root / "index.html").write_bytes(INDEX_HTML)
    (root / "dir" / "index.html").write_bytes(DIR_INDEX_HTML)
    (root / "hello.txt").write_bytes(HELLO_TXT)
    return root


class Site:
    """A certificate, its key and a document root under directory."""

    def __init__(self, directory):
        self.dir = Path(directory)
        self.cert, self.key = make_cert(self.dir)
        self.docroot = make_docroot(self.dir)
        self._sha = {}

    def server_args(self):
        return ["--cert", str(self.cert), "--key", str(self.key),
                "--docroot", str(self.docroot)]

    def sha(self, name):
        if name not in self._sha:
            self._sha[name] = sha256_file(self.docroot / name)
        return self._sha[name]

    def size(self, name):
        return (self.docroot / name).stat().st_size


# ---- the client -----------------------------------------------------------

def url(path, family=4):
    host = SERVER_V4 if family == 4 else f"[{SERVER_V6}]"
    return f"https://{host}{path}"


class ClientResult:
    """One gtlsclient run: exit code, output (stdout then stderr), the
    download directory, wall time, and whether our timeout killed it."""

    def __init__(self, argv, rc, out, download, seconds, timed_out):
        self.argv, self.rc, self.out = argv, rc, out
        self.download, self.seconds, self.timed_out = download, seconds, timed_out

    def file(self, name):
        return self.download / name

    def headers(self):
        """{stream id: {header name: value}} of the responses (not -q)."""
        streams = {}
        for sid, name, value in HEADER_RE.findall(self.out):
            streams.setdefault(int(sid, 16), {})[name] = value
        return streams

    def response(self, index):
        """Headers of the index-th request (client streams 0, 4, 8, ...)."""
        return self.headers().get(4 * index, {})

    def close_received(self):
        """(ms since the client started its connection, error code) of the
        first CONNECTION_CLOSE the client received, or None (not -q)."""
        m = CLOSE_RX_RE.search(self.out)
        return (int(m.group(1)), m.group(2)) if m else None

    def tail(self, lines=25):
        keep = [l for l in self.out.splitlines()
                if not l.startswith(("I0", "Sent packet", "Received packet",
                                     "Set timer", "Timer has"))]
        return "\n".join(keep[-lines:])

    def describe(self):
        return (f"gtlsclient exit {self.rc} after {self.seconds:.2f} s"
                f"{' (killed by the test timeout)' if self.timed_out else ''}:\n"
                f"{self.tail()}")


class Client:
    """A gtlsclient process in the client namespace (started, not waited);
    wait() gives its ClientResult, seconds measured to its actual exit.
    quic_dump (not quiet): gtlsclient's hex dump of the CRYPTO and STREAM
    data it receives is in the output."""

    def __init__(self, rig, paths, download, family=4, quiet=True, args=(),
                 exit_on_close=True, idle=CLIENT_IDLE, quic_dump=False):
        check(shutil.which(GTLSCLIENT) is not None,
              f"{GTLSCLIENT} not found: install ngtcp2-client (deploy/install-deps.sh)")
        self.download = Path(download)
        self.download.mkdir(parents=True, exist_ok=True)
        host = SERVER_V4 if family == 4 else SERVER_V6
        opts = (["-q"] if quiet else ["--no-http-dump"] if quic_dump
                else ["--no-quic-dump", "--no-http-dump"])
        if exit_on_close:
            opts.append("--exit-on-all-streams-close")
        opts += [f"--timeout={idle}", f"--download={self.download}", *args]
        self.argv = [GTLSCLIENT, *opts, host, str(rig.port),
                     *[url(p, family) for p in paths]]
        self._log = open(self.download.parent / f"{self.download.name}.out", "w+b")
        self.start_time = time.monotonic()
        self.end_time = None
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", rig.client_ns, *self.argv],
            stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.result = None
        # notes the exit time even when the test reaps the client later
        self._exited = threading.Event()
        threading.Thread(target=self._reap, daemon=True).start()

    def _reap(self):
        self.proc.wait()
        self.end_time = time.monotonic()
        self._exited.set()

    def running(self):
        return self.proc.poll() is None

    def signal(self, sig=signal.SIGKILL):
        if self.running():
            self.proc.send_signal(sig)

    def wait(self, timeout=CLIENT_TIMEOUT):
        """Waits (bounded) for the exit; a client still running is killed."""
        if self.result is not None:
            return self.result
        timed_out = not self._exited.wait(
            max(0.0, self.start_time + timeout - time.monotonic()))
        if timed_out:
            self.proc.kill()
            self._exited.wait(5)
        seconds = (self.end_time or time.monotonic()) - self.start_time
        self._log.seek(0)
        out = self._log.read().decode(errors="replace")
        self._log.close()
        self.result = ClientResult(self.argv, self.proc.returncode, out,
                                   self.download, seconds, timed_out)
        return self.result


def fetch(rig, paths, download, family=4, quiet=True, args=(),
          timeout=CLIENT_TIMEOUT, exit_on_close=True):
    """Runs gtlsclient for paths (one connection) to its end."""
    return Client(rig, paths, download, family, quiet, args,
                  exit_on_close).wait(timeout)


def check_ok(result, what):
    """The client ran to a normal end: exit 0, not killed by our timeout."""
    check(not result.timed_out and result.rc == 0,
          f"{what}: {result.describe()}")


def check_body(result, name, sha, what=None):
    """The downloaded file name has the given sha256."""
    path = result.file(name)
    what = what or name
    check(path.is_file(), f"{what}: not downloaded; {result.describe()}")
    got = sha256_file(path)
    check(got == sha, f"{what}: {path.stat().st_size} bytes with sha256 {got}, "
                      f"expected sha256 {sha}")


def check_status(result, index, status, what):
    hdrs = result.response(index)
    check_eq(hdrs.get(":status"), str(status), f"{what}: :status")
    return hdrs


def wait_until(cond, timeout, interval=0.02):
    """Polls cond() until true or timeout; its last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(interval)


def sanitizer_reports(output):
    """Lines of ASan/UBSan/LSan reports in quicsteer's output."""
    marks = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
             "SUMMARY: AddressSanitizer", "SUMMARY: UndefinedBehaviorSanitizer")
    return [l for l in output.splitlines() if any(m in l for m in marks)]


def check_clean_exit(rig, rc, output, what="quicsteer"):
    """Exit code 0 and no sanitizer report in its output."""
    reports = sanitizer_reports(output)
    check(not reports, f"{what}: sanitizer reports:\n" + "\n".join(reports[:20])
          + "\n" + output[-4000:])
    check(rc == 0, f"{what}: exit code {rc}, expected 0:\n{output[-3000:]}")

