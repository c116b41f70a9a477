"""Helpers of the load tests (tests/load/test_*.py): a server and a client
network namespace joined by a veth pair with kernel addresses, Debian's
ngtcp2 example server `gtlsserver` on the server side, and quicsteer-load
run from the client side.

    with Net("single") as net:
        site = Site(net.tmp)
        net.start_gtlsserver(site)
        r = net.load(["--ca", site.cert, url("/hello.txt")])
        check(r.rc == 0 and r.stdout == site.bytes("hello.txt"), ...)

Addresses come from the benchmarking and documentation ranges only (server
198.18.0.1 and 2001:db8::1, client 198.18.0.2 and 2001:db8::2); nothing
outside the namespaces a test makes is ever a destination. Names carry the
test name and pid, so tests can run side by side; everything is removed on
exit, after a failure, an exception or SIGTERM; every wait is bounded.
"""
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# the one rig module: the addresses, checks, runner and test entry point
sys.path.insert(0, str(REPO / "tests" / "integration"))
from rig import (CLIENT_V4, CLIENT_V6, SERVER_V4, SERVER_V6, SKIP,  # noqa: E402,F401
                 Interrupted, TestFailure, _die_with_parent as die_with_parent,
                 _pid_alive, check, check_eq, main, run)

PORT = 4433
READY_TIMEOUT = 10.0
LOAD_TIMEOUT = 60.0          # one quicsteer-load run, end to end
LOAD_IDLE = "5"              # quicsteer-load --timeout (seconds)
GTLSSERVER = "gtlsserver"

# namespaces qsl-<test>-<pid>-srv|cli: reaped when <pid> is gone
NETNS_RE = re.compile(r"^qsl-([a-z0-9]+)-(\d+)-(srv|cli)$")

CERT_TEMPLATE = f"""cn = quicsteer-load-test
ip_address = {SERVER_V4}
ip_address = {SERVER_V6}
tls_www_server
signing_key
expiration_days = 30
"""

# docroot: name -> size (random bytes); plus hello.txt
FILES = {"1k.bin": 1024, "100k.bin": 100_000, "1m.bin": 1 << 20}
HELLO = b"hello from gtlsserver over HTTP/3\n"

# the JSON report quicsteer-load --json prints: key -> sub-keys
JSON_FIELDS = {
    "elapsed_s": None, "requests_per_s": None, "handshakes_per_s": None,
    "bytes_per_s": None,
    "options": ["clients", "requests", "duration_s", "streams", "threads",
                "rebind_every", "move", "resume", "conn_requests"],
    "requests": ["started", "completed", "failed", "aborted"],
    "status": ["2xx", "3xx", "4xx", "5xx"],
    "connections": ["started", "succeeded", "failed", "aborted", "handshakes"],
    "resumed": None, "early_data_attempted": None, "early_data_accepted": None,
    "bytes": ["body", "udp_sent", "udp_received"],
    "datagrams": ["sent", "received", "send_blocked", "send_calls", "receive_calls"],
    "udp_offload": ["gso", "gro", "gso_sends", "gro_receives"],
    "client_cpu": ["user_s", "sys_s", "percent", "threads_percent"],
    "migrations": ["done", "not_started", "path_validation_failed",
                   "connections_moved", "connections_survived"],
    "errors": ["handshake_failed", "stateless_reset", "timeout", "http_status", "other"],
    "error_examples": None,
    "latency_us": ["ttfb", "request", "handshake"],
}
HIST_FIELDS = ["count", "min", "p50", "p90", "p99", "max", "mean"]

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "SUMMARY: AddressSanitizer", "SUMMARY: UndefinedBehaviorSanitizer")


def load_binary():
    path = Path(os.environ.get("QUICSTEER_LOAD") or
                REPO / "build" / "app" / "quicsteer-load" / "quicsteer-load")
    check(path.is_file() and os.access(path, os.X_OK),
          f"{path} is not an executable: build first (ninja -C build) or set QUICSTEER_LOAD")
    return str(path)


def reap_stale():
    """Removes namespaces an earlier run killed with SIGKILL left behind."""
    out = run(["ip", "netns", "list"], check_rc=False).stdout
    for line in out.splitlines():
        m = NETNS_RE.match(line.split(" ")[0])
        if m and not _pid_alive(int(m.group(2))):
            run(["ip", "netns", "del", m.group(0)], check_rc=False)


# ---- content --------------------------------------------------------------

def url(path, family=4, port=PORT):
    host = SERVER_V4 if family == 4 else f"[{SERVER_V6}]"
    return f"https://{host}:{port}{path}"


def make_cert(directory, name, template=CERT_TEMPLATE):
    """A self-signed ECDSA P-256 certificate (by default for the server
    addresses); (cert path, key path)."""
    directory = Path(directory)
    key = directory / f"{name}.key.pem"
    cert = directory / f"{name}.cert.pem"
    tmpl = directory / f"{name}.tmpl"
    tmpl.write_text(template)
    run(["certtool", "--generate-privkey", "--key-type=ecdsa", "--curve=secp256r1",
         "--outfile", str(key)])
    run(["certtool", "--generate-self-signed", "--load-privkey", str(key),
         "--template", str(tmpl), "--outfile", str(cert)])
    return str(cert), str(key)


class Site:
    """A certificate, its key and a document root of a few files."""

    def __init__(self, directory, name="server", template=CERT_TEMPLATE):
        self.dir = Path(directory)
        self.cert, self.key = make_cert(self.dir, name, template)
        self.docroot = self.dir / f"docroot-{name}"
        self.docroot.mkdir()
        for name, size in FILES.items():
            (self.docroot / name).write_bytes(os.urandom(size))
        (self.docroot / "hello.txt").write_bytes(HELLO)

    def bytes(self, name):
        return (self.docroot / name).read_bytes()


# ---- quicsteer-load runs ---------------------------------------------------

class LoadResult:
    """One quicsteer-load run: exit code, stdout (bytes), stderr (text),
    wall time and, with --json, the parsed report."""

    def __init__(self, argv, rc, stdout, stderr, seconds):
        self.argv, self.rc, self.stdout, self.stderr = argv, rc, stdout, stderr
        self.seconds = seconds
        self.report = None

    def describe(self):
        out = self.stdout[-1500:].decode(errors="replace")
        return (f"`{' '.join(self.argv)}` exit {self.rc} after {self.seconds:.2f} s\n"
                f"stdout: {out}\nstderr: {self.stderr[-3000:]}")

    def sanitizer_reports(self):
        return [l for l in self.stderr.splitlines()
                if any(m in l for m in SANITIZER_MARKS)]


def run_load(netns, args, timeout=LOAD_TIMEOUT, json_report=False):
    """Runs quicsteer-load in netns with args (its own idle timeout is
    bounded too); fails the test on a sanitizer report or a run that does
    not end within timeout."""
    argv = [load_binary(), "--timeout", LOAD_IDLE, *map(str, args)]
    if json_report:
        argv.append("--json")
    start = time.monotonic()
    try:
        proc = subprocess.run(["ip", "netns", "exec", netns, *argv],
                              capture_output=True, timeout=timeout,
                              preexec_fn=die_with_parent)
    except subprocess.TimeoutExpired as e:
        raise TestFailure(f"`{' '.join(argv)}`: no exit within {timeout} s "
                          f"(stderr: {(e.stderr or b'').decode(errors='replace')[-2000:]})") from e
    r = LoadResult(argv, proc.returncode, proc.stdout,
                   proc.stderr.decode(errors="replace"), time.monotonic() - start)
    reports = r.sanitizer_reports()
    check(not reports, "sanitizer reports from quicsteer-load:\n" +
          "\n".join(reports[:20]) + "\n" + r.stderr[-4000:])
    if json_report:
        try:
            r.report = json.loads(r.stdout)
        except ValueError as e:
            raise TestFailure(f"--json output is not JSON: {r.describe()}") from e
        check_report_fields(r.report)
    return r


def check_report_fields(report):
    """Every field of the JSON report is there, numbers where numbers go."""
    for key, sub in JSON_FIELDS.items():
        check(key in report, f"JSON report lacks '{key}': {report}")
        if sub is None:
            continue
        for k in sub:
            check(k in report[key], f"JSON report lacks '{key}.{k}': {report[key]}")
    for name in JSON_FIELDS["latency_us"]:
        for k in HIST_FIELDS:
            check(isinstance(report["latency_us"][name].get(k), (int, float)),
                  f"JSON report latency_us.{name}.{k} missing or not a number")
    cpu = report["client_cpu"]
    shares = [cpu["user_s"], cpu["sys_s"], cpu["percent"], *cpu["threads_percent"]]
    check(all(isinstance(v, (int, float)) and v >= 0 for v in shares),
          f"JSON report client_cpu: not all numbers >= 0: {cpu}")


def check_server_exit(rig, what="quicsteer"):
    """Stops quicsteer (a Rig from tests/integration/rig.py): exit code 0
    and no sanitizer report in its output."""
    rc, out = rig.stop()
    reports = [l for l in out.splitlines() if any(m in l for m in SANITIZER_MARKS)]
    check(not reports, f"{what}: sanitizer reports:\n" + "\n".join(reports[:20]) +
          "\n" + out[-4000:])
    check(rc == 0, f"{what}: exit code {rc}:\n{out[-3000:]}")


def summary(report):
    """One line of figures for the test log."""
    req, conn = report["requests"], report["connections"]
    lat = report["latency_us"]["request"]
    return (f"{req['completed']} completed, {req['failed']} failed in "
            f"{report['elapsed_s']:.2f} s ({report['requests_per_s']:.0f} req/s); "
            f"{conn['succeeded']}/{conn['started']} connections ok; request p50 "
            f"{lat['p50']} us, p99 {lat['p99']} us; migrations "
            f"{report['migrations']['done']}; errors {report['errors']}; client CPU "
            f"{report['client_cpu']['percent']:.0f} %")


def check_all_completed(r, requests, what):
    """A --json run where every request completed and nothing failed."""
    rep = r.report
    check(r.rc == 0, f"{what}: {r.describe()}")
    check_eq(rep["requests"]["completed"], requests, f"{what}: requests completed")
    check_eq(rep["requests"]["failed"], 0, f"{what}: requests failed")
    check_eq(rep["connections"]["failed"], 0, f"{what}: connections failed")
    check_eq(sum(rep["errors"].values()), 0, f"{what}: errors {rep['errors']}")


# ---- the namespaces and the server ------------------------------------------

class Net:
    """Server and client namespaces joined by a veth pair with kernel
    addresses on both ends; a temporary directory; servers started in the
    server namespace are stopped on exit."""

    def __init__(self, name):
        check(re.fullmatch(r"[a-z0-9]{1,8}", name) is not None,
              f"test name {name!r}: 1-8 lowercase letters or digits")
        pid = os.getpid()
        self.name = name
        self.server_ns = f"qsl-{name}-{pid}-srv"
        self.client_ns = f"qsl-{name}-{pid}-cli"
        # interface names have at most 15 characters
        self.server_if = f"ql{name[:4]}{pid}s"
        self.client_if = f"ql{name[:4]}{pid}c"
        self.tmp = None
        self._procs = []

    def __enter__(self):
        self.tmp = Path(tempfile.mkdtemp(prefix=f"qsl-{self.name}-"))
        try:
            reap_stale()
            self._make()
        except BaseException:
            self._cleanup()
            raise
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            for log in self.tmp.glob("*.log"):
                tail = log.read_text(errors="replace").splitlines()[-30:]
                if tail:
                    print(f"---- {log.name} (last lines) ----", file=sys.stderr)
                    print("\n".join(tail), file=sys.stderr)
        self._cleanup()
        return False

    def _make(self):
        s, c = self.server_ns, self.client_ns
        for ns in (s, c):
            run(["ip", "netns", "add", ns])
            run(["ip", "-n", ns, "link", "set", "lo", "up"])
        run(["ip", "link", "add", self.server_if, "netns", s, "type", "veth",
             "peer", "name", self.client_if, "netns", c])
        for ns, ifname, v4, v6 in ((s, self.server_if, SERVER_V4, SERVER_V6),
                                   (c, self.client_if, CLIENT_V4, CLIENT_V6)):
            run(["ip", "-n", ns, "addr", "add", f"{v4}/24", "dev", ifname])
            run(["ip", "-n", ns, "addr", "add", f"{v6}/64", "dev", ifname, "nodad"])
            run(["ip", "-n", ns, "link", "set", ifname, "up"])

    def _cleanup(self):
        for proc in self._procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)
        for ns in (self.server_ns, self.client_ns):
            run(["ip", "netns", "del", ns], check_rc=False, timeout=10)
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def start_gtlsserver(self, site, port=PORT, args=()):
        """gtlsserver on every address of the server namespace; returns
        once its UDP port is bound."""
        check(shutil.which(GTLSSERVER) is not None,
              f"{GTLSSERVER} not found: install ngtcp2-server (deploy/install-deps.sh)")
        log = open(self.tmp / f"gtlsserver-{port}.log", "wb")
        argv = ["ip", "netns", "exec", self.server_ns, GTLSSERVER, *args,
                "*", str(port), site.key, site.cert, "-d", str(site.docroot), "-q"]
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, preexec_fn=die_with_parent)
        log.close()
        self._procs.append(proc)
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            check(proc.poll() is None, f"gtlsserver exited {proc.returncode} at start: "
                  f"{(self.tmp / f'gtlsserver-{port}.log').read_text(errors='replace')}")
            out = run(["ip", "netns", "exec", self.server_ns, "ss", "-Hlun",
                       f"sport = :{port}"], check_rc=False).stdout
            if f":{port}" in out:
                return proc
            check(time.monotonic() < deadline,
                  f"gtlsserver did not bind UDP port {port} within {READY_TIMEOUT} s")
            time.sleep(0.05)

    def track(self, proc):
        """A process the cleanup stops (SIGTERM, then SIGKILL)."""
        self._procs.append(proc)
        return proc

    def load(self, args, timeout=LOAD_TIMEOUT, json_report=False):
        return run_load(self.client_ns, args, timeout, json_report)
