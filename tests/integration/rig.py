"""The one test rig every quicsteer integration test uses (docs/architecture.md "Test rig").

    with Rig("steer", workers=4) as rig:
        before = rig.counters()
        results = rig.probe(short_headers(worker=2, count=64))
        after = rig.counters()

A Rig creates a server and a client network namespace joined by a veth pair,
runs quicsteer on the af_packet PMD in the server namespace and tears all of
it down on exit, also after a failure, an exception or SIGTERM. Nothing
outside those namespaces is ever a destination: the server answers for
198.18.0.1 and 2001:db8::1, the client has 198.18.0.2 and 2001:db8::2.
Every wait is bounded.

With pmd="virtio_user" (or QS_RIG_PMD=virtio_user) quicsteer sees what a VM
sees, a virtio-net device: net_virtio_user talking vhost-user to a vSwitch,
Debian's dpdk-testpmd, which forwards between its net_vhost port and a
net_af_packet port on the server's veth (see VSwitch).

With pmd="af_xdp" (or QS_RIG_PMD=af_xdp) quicsteer's port is net_af_xdp on
the server's veth: an AF_XDP socket fed by the XDP program the PMD (libxdp)
attaches to the veth and removes at exit. Debian's DPDK 22.11 opens one
queue there (see AF_XDP_QUEUES), so a test that asks for several workers
runs them in the pipeline layout behind one I/O lcore the rig adds.

With network=Network(...) the Rig runs quicsteer on a network someone
else made (fleet.Fleet: one Rig per node behind a load balancer): it makes
and deletes no namespace, quicsteer answers for the network's addresses,
and the "client" side (probe(), run_in_client(), send_frames()) is the
namespace at the other end of the server's veth.
"""
import contextlib
import ctypes
import glob
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TOOLS = REPO / "tests" / "tools"
sys.path.insert(0, str(TOOLS))

from quic_probe import short_header  # noqa: E402  (shared packet builder)

SERVER_V4, CLIENT_V4 = "198.18.0.1", "198.18.0.2"
SERVER_V6, CLIENT_V6 = "2001:db8::1", "2001:db8::2"
QUIC_PORT = 4433
DPDK_RUN_DIR = Path("/var/run/dpdk")
READY_TIMEOUT = 20.0
STOP_TIMEOUT = 15.0
SKIP = 77  # meson's exit code for a skipped test

# names the rig gives: qs-<test>-<test pid>-srv|cli, qs-<test>-<test pid>-<n>
# (quicsteer) and qs-<test>-<test pid>-vs<n> (the vSwitch of pmd virtio_user);
# a fleet (fleet.py) adds qs-<test>-<test pid>-lb|n<node>
NETNS_RE = re.compile(r"^qs-([a-z0-9]+)-(\d+)-(srv|cli|lb|n\d+)$")
PREFIX_RE = re.compile(r"^qs-[a-z0-9]+-(\d+)-(?:vs)?\d+$")


class TestFailure(Exception):
    """An assertion about quicsteer's behaviour did not hold."""


class Skipped(Exception):
    """The machine cannot run this test (e.g. no hugepages): exit 77."""


class Interrupted(BaseException):
    """SIGTERM/SIGHUP (e.g. meson's timeout): unwind so cleanup runs."""


def check(condition, message):
    if not condition:
        raise TestFailure(message)


def check_eq(actual, expected, what):
    check(actual == expected, f"{what}: expected {expected}, got {actual}")


def binary(env_var, default):
    """Path of a built program: meson sets env_var, else the usual build dir."""
    path = Path(os.environ.get(env_var) or REPO / "build" / default)
    check(path.is_file() and os.access(path, os.X_OK),
          f"{path} is not an executable: build first (ninja -C build) or set {env_var}")
    return str(path)


def quicsteer_binary():
    return binary("QUICSTEER", "app/quicsteer/quicsteer")


def run(argv, timeout=30, check_rc=True, **kw):
    """Runs a command to completion within timeout; output as text."""
    try:
        proc = subprocess.run(argv, capture_output=True, text=True,
                              timeout=timeout, **kw)
    except subprocess.TimeoutExpired as e:
        raise TestFailure(f"{' '.join(map(str, argv))}: no exit within {timeout} s") from e
    if check_rc and proc.returncode != 0:
        raise TestFailure(f"{' '.join(map(str, argv))} exited {proc.returncode}: "
                          f"{proc.stderr.strip() or proc.stdout.strip()}")
    return proc


def main(test):
    """Entry point of a test script: root or skip, PASS/FAIL and exit code."""
    if os.geteuid() != 0:
        print("SKIP: needs root (network namespaces, af_packet)")
        sys.exit(SKIP)

    def interrupted(signum, _frame):
        raise Interrupted(f"signal {signum}")

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, interrupted)
    try:
        test()
    except Skipped as e:
        print(f"SKIP: {e}")
        sys.exit(SKIP)
    except TestFailure as e:
        print(f"FAIL: {e}", file=sys.stderr)
        sys.exit(1)
    except Interrupted as e:
        print(f"INTERRUPTED by {e}; cleaned up", file=sys.stderr)
        sys.exit(1)
    print("PASS")
    sys.exit(0)


# ---- counters -------------------------------------------------------------

def delta(before, after):
    """Per-worker counter differences of two Rig.counters() snapshots."""
    return {w: {k: v - before[w][k] for k, v in after[w].items()
                if isinstance(v, int) and k != "lcore_id"}
            for w in after}


# per-lcore figures that move while nothing happens (the loop's cycle count,
# load and rates over the last window): not counters of what was handled
MOVING_FIGURES = frozenset({"cycles", "busy_cycles", "busy_pct", "busy_pct_since_start",
                            "rx_pps", "tx_pps"})


def handled(snapshot):
    """A counters() snapshot without MOVING_FIGURES: two of these are
    equal when the dataplane handled nothing in between."""
    return {w: {k: v for k, v in c.items() if k not in MOVING_FIGURES}
            for w, c in snapshot.items()}


def wait_stable(read, view, timeout, interval):
    """Calls read() every interval until view() of two readings in a row
    is equal, or timeout; the last reading."""
    deadline = time.monotonic() + timeout
    snap = read()
    while time.monotonic() < deadline:
        time.sleep(interval)
        last, snap = snap, read()
        if view(snap) == view(last):
            break
    return snap


def matrix_delta(before, after):
    return [[a - b for a, b in zip(row_a, row_b)]
            for row_a, row_b in zip(after, before)]


def total(d, counter, workers=None):
    return sum(d[w][counter] for w in (d if workers is None else workers))


# ---- replies --------------------------------------------------------------

def short_headers(worker, count, length=64):
    """count short-header datagrams whose DCID names worker (one per socket)."""
    return [short_header(worker, length) for _ in range(count)]


def check_stateless_resets(results, server, what):
    """Each datagram got exactly one reply, a stateless reset from the
    server's address and port: shorter than the trigger, header 0b01xxxxxx."""
    for r in results:
        replies = r["replies"]
        check(len(replies) == 1,
              f"{what}: source port {r['src_port']} got {len(replies)} replies, expected 1")
        rep = replies[0]
        check(tuple(rep["from"]) == server,
              f"{what}: reply from {rep['from']}, expected {list(server)}")
        check(rep["first_byte"] & 0xC0 == 0x40,
              f"{what}: reply first byte {rep['first_byte']:#04x} is not a short header (0b01xxxxxx)")
        # RFC 9000 10.3: at least 21 bytes, and shorter than the trigger so
        # that two endpoints cannot reset each other forever (10.3.3)
        check(21 <= rep["len"] < r["sent_len"],
              f"{what}: reset of {rep['len']} bytes for a {r['sent_len']}-byte trigger "
              f"(must be >= 21 and shorter than the trigger)")


def check_no_replies(results, what):
    for r in results:
        check(not r["replies"],
              f"{what}: datagram {r['sent_hex'][:40]} from port {r['src_port']} "
              f"got {len(r['replies'])} replies, expected none")


# ---- quicsteer without a network ------------------------------------------

def dpdk_prefix(name, n):
    """--file-prefix of the n-th quicsteer a test starts (see PREFIX_RE)."""
    return f"qs-{name}-{os.getpid()}-{n}"


def remove_runtime_dir(prefix):
    shutil.rmtree(DPDK_RUN_DIR / prefix, ignore_errors=True)


def telemetry(prefix, cmd, timeout=5):
    """One command to the DPDK telemetry socket of the process started with
    --file-prefix prefix; the parsed reply."""
    path = DPDK_RUN_DIR / prefix / "dpdk_telemetry.v2"
    with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as s:
        s.settimeout(timeout)
        s.connect(str(path))
        json.loads(s.recv(65536))  # greeting: version, pid, max length
        s.send(cmd.encode())
        reply = json.loads(s.recv(65536))
    return reply[cmd.split(",")[0]]


# ---- hugepages (deploy/hugepages.sh does the work, for the demo too) -------

HUGEPAGES_SH = REPO / "deploy" / "hugepages.sh"
SERVER_MEMORY_MIB = 512                 # quicsteer's -m in the rig


def hugepages_wanted():
    """The rig's memory mode from the environment: QS_RIG_HUGEPAGES=1 runs
    quicsteer on hugepages (the meson tests *_hugepages set it)."""
    return os.environ.get("QS_RIG_HUGEPAGES", "") == "1"


def hugepages_reserve(mib):
    """Reserves hugepages for mib MiB and mounts hugetlbfs; returns (dir,
    pages before) or raises Skipped with the kernel's reason."""
    proc = run([str(HUGEPAGES_SH), "reserve", str(mib)], check_rc=False)
    m = re.fullmatch(r"dir=(\S+) before=(\d+)", proc.stdout.strip())
    if proc.returncode != 0 or m is None:
        raise Skipped(f"no hugepages on this machine: "
                      f"{proc.stderr.strip() or proc.stdout.strip()}")
    return m.group(1), int(m.group(2))


def hugepages_release(pages_before):
    run([str(HUGEPAGES_SH), "release", str(pages_before)], check_rc=False)


def remove_hugepage_files(huge_dir, prefix):
    """What EAL leaves in hugetlbfs for a --file-prefix (<prefix>map_N)."""
    for f in Path(huge_dir).glob(f"{prefix}map_*"):
        with contextlib.suppress(OSError):
            f.unlink()


# ---- the PMD quicsteer runs on ---------------------------------------------

PMDS = ("af_packet", "virtio_user", "af_xdp")
# the virtio_user port's MAC, what quicsteer answers ARP and ND with: QEMU's
# prefix, as a VM's virtio-net device has (the veth keeps its own: it is the
# vSwitch's wire)
VIRTIO_MAC = "52:54:00:71:73:01"
VSWITCH_READY_TIMEOUT = 20.0
VSWITCH_STOP_TIMEOUT = 10.0
VSWITCH_MEMORY_MIB = 128    # testpmd's -m, without hugepages
VSWITCH_MBUFS = 8192        # testpmd's pool: frames in flight only


def pmd_wanted():
    """The rig's PMD from the environment: QS_RIG_PMD=virtio_user or af_xdp
    (the meson tests *_virtio_user and *_af_xdp set it), else af_packet."""
    pmd = os.environ.get("QS_RIG_PMD", "") or "af_packet"
    check(pmd in PMDS, f"QS_RIG_PMD={pmd!r}: not one of {', '.join(PMDS)}")
    return pmd


class VSwitch:
    """The host side of a VM's virtio-net device, on one machine: Debian's
    dpdk-testpmd in the server namespace forwards (io mode, as is) between
    a net_af_packet port on the server's veth and a net_vhost port whose
    vhost-user socket quicsteer's net_virtio_user connects to. Queue i of
    one port goes to queue i of the other, so the kernel's fanout hash over
    the af_packet queues still spreads clients over quicsteer's workers.

    testpmd busy-polls with one forwarding lcore that may run on either CPU
    (its main lcore only waits on stdin), runs without hugepages (it copies
    between its own mbufs and quicsteer's buffers) and has its own
    --file-prefix. Its af_packet port is promiscuous (testpmd's default), so
    frames for quicsteer's MAC pass on a NIC too, not only on a veth.
    Closing its stdin (or SIGTERM) stops it; it then prints its port
    counters into its log."""

    def __init__(self, rig, queues, n):
        self.queues = queues
        self.prefix = f"qs-{rig.name}-{os.getpid()}-vs{n}"
        self.socket = rig._tmp / f"vhost-{n}.sock"
        self.log = rig._tmp / f"vswitch-{n}.log"
        self.proc = None
        testpmd = shutil.which("dpdk-testpmd")
        if testpmd is None:
            raise Skipped("dpdk-testpmd not found: the virtio_user rig needs it as "
                          "its vSwitch (Debian package dpdk-dev, deploy/install-deps.sh)")
        # stdbuf: line-buffered stdout, so "Press enter to exit" (forwarding
        # has started) reaches the log at once
        self.argv = ["ip", "netns", "exec", rig.server_ns, "stdbuf", "-oL", testpmd,
                     "--no-huge", "-m", str(VSWITCH_MEMORY_MIB), "--no-pci",
                     "--file-prefix", self.prefix,
                     "--lcores", "0@(0,1),1@(0,1)",
                     "--log-level=lib.vhost.config:notice",
                     f"--vdev=net_af_packet0,iface={rig.server_if},qpairs={queues}",
                     f"--vdev=net_vhost0,iface={self.socket},queues={queues}",
                     "--", "--forward-mode=io", "--nb-cores=1",
                     f"--rxq={queues}", f"--txq={queues}",
                     f"--total-num-mbufs={VSWITCH_MBUFS}",
                     # the vhost port is down until quicsteer connects
                     "--disable-link-check"]

    def start(self):
        with open(self.log, "wb") as log:
            # stdin stays open: EOF is testpmd's "enter" that stops it
            self.proc = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.PIPE, preexec_fn=_die_with_parent)
        deadline = time.monotonic() + VSWITCH_READY_TIMEOUT
        while not (self.socket.exists() and "Press enter to exit" in self.output()):
            check(self.proc.poll() is None,
                  f"the vSwitch (dpdk-testpmd) exited {self.proc.returncode} at start:\n"
                  f"{self.output()[-3000:]}")
            check(time.monotonic() < deadline,
                  f"the vSwitch (dpdk-testpmd) not forwarding within "
                  f"{VSWITCH_READY_TIMEOUT} s:\n{self.output()[-3000:]}")
            time.sleep(0.05)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def output(self):
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stats(self):
        """testpmd's port counters: {"af_packet": /ethdev/stats, "vhost": ...}."""
        return {"af_packet": telemetry(self.prefix, "/ethdev/stats,0"),
                "vhost": telemetry(self.prefix, "/ethdev/stats,1")}

    def stop(self):
        """Stops testpmd (it prints its forward statistics) and removes its
        runtime dir and socket."""
        if self.alive():
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
            try:
                self.proc.wait(VSWITCH_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        remove_runtime_dir(self.prefix)
        with contextlib.suppress(OSError):
            self.socket.unlink()


# ---- AF_XDP (pmd af_xdp) ---------------------------------------------------

# The queues net_af_xdp opens on a veth: one. Debian's DPDK 22.11 sizes the
# port by the interface's combined channels (ETHTOOL_GCHANNELS); a veth has
# separate RX and TX channels and no combined ones, so queue_count > 1 fails
# the probe ("Specified queue count 4 is larger than combined queue count
# 1"; DPDK 25.07 counts RX/TX channels too). The veth gets one queue pair
# as well: a veth receives a frame on the queue its peer sent it from (for
# gtlsclient's unconnected socket a hash of the 4-tuple), and a frame on a
# queue without an AF_XDP socket goes to the kernel, which drops it.
AF_XDP_QUEUES = 1
AF_XDP_PMD_GLOB = "/usr/lib/*/dpdk/pmds-*/librte_net_af_xdp.so*"
AF_XDP_FAMILY = 44          # AF_XDP: Python's socket module has no name for it
# `ip -d -j link` "xdp" "mode": how the kernel runs the program (if_link.h)
XDP_ATTACH_MODES = {1: "native (driver)", 2: "generic (skb)", 3: "offloaded (hw)",
                    4: "several modes"}


def af_xdp_available():
    """Raises Skipped with the reason where quicsteer cannot run on
    net_af_xdp here: no PMD library, no AF_XDP sockets in the kernel."""
    if not glob.glob(AF_XDP_PMD_GLOB):
        raise Skipped(f"net_af_xdp not installed ({AF_XDP_PMD_GLOB}): Debian package "
                      f"librte-net-af-xdp23, which libdpdk-dev pulls in "
                      f"(deploy/install-deps.sh)")
    try:
        socket.socket(AF_XDP_FAMILY, socket.SOCK_RAW).close()
    except OSError as e:
        raise Skipped(f"the kernel has no AF_XDP sockets (CONFIG_XDP_SOCKETS): {e}") from e


def with_pipeline(config, io_lcores):
    """The INI text config (or None) with [dataplane] layout = pipeline and
    io_lcores: first in its [dataplane] section, or in a new one."""
    keys = f"layout = pipeline\nio_lcores = {io_lcores}\n"
    text = config or ""
    m = re.search(r"^\[dataplane\][ \t]*\n", text, re.M)
    if m is None:
        sep = "\n" if text and not text.endswith("\n") else ""
        return f"{text}{sep}[dataplane]\n{keys}"
    return text[:m.end()] + keys + text[m.end():]


def xdp_attached(ns, ifname):
    """The XDP program on an interface: {"mode": "native (driver)", "prog":
    its name, "id": its id}, or None."""
    link = json.loads(run(["ip", "-n", ns, "-d", "-j", "link", "show", ifname]).stdout)[0]
    xdp = link.get("xdp")
    if not xdp:
        return None
    prog = xdp.get("prog", {})
    return {"mode": XDP_ATTACH_MODES.get(xdp.get("mode"), f"mode {xdp.get('mode')}"),
            "prog": prog.get("name"), "id": prog.get("id")}


def offload_state(ns, ifname, feature):
    """One line of ethtool -k: "off [fixed]", "on", ..."""
    out = run(["ip", "netns", "exec", ns, "ethtool", "-k", ifname]).stdout
    m = re.search(rf"^{re.escape(feature)}: (.*)$", out, re.M)
    return m.group(1).strip() if m else "absent"


def run_quicsteer(eal, app, prefix, timeout=30):
    """Runs quicsteer to its exit (no namespace): for option and config
    checks. Returns the CompletedProcess; always removes its runtime dir."""
    argv = [quicsteer_binary(), *eal, "--file-prefix", prefix, "--", *app]
    try:
        return run(argv, timeout=timeout, check_rc=False, stdin=subprocess.DEVNULL,
                   preexec_fn=_die_with_parent)
    finally:
        remove_runtime_dir(prefix)


# ---- the rig --------------------------------------------------------------

class Network:
    """Where a Rig runs when it does not make its own namespaces: quicsteer
    in server_ns on server_if, answering for server_v4 (and server_v6 when
    given); client_ns holds the other end of that veth (client_if), where
    probes and raw frames come from. label names the server in messages
    ("node 2"). Whoever made it removes it; its namespace names must match
    NETNS_RE so that reap_stale() finds them after a SIGKILL."""

    def __init__(self, server_ns, server_if, client_ns, client_if, server_v4,
                 server_v6=None, label="quicsteer"):
        self.server_ns, self.server_if = server_ns, server_if
        self.client_ns, self.client_if = client_ns, client_if
        self.server_v4, self.server_v6 = server_v4, server_v6
        self.label = label


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stale(pid_text):
    return not _pid_alive(int(pid_text))


def _orphaned_servers():
    """quicsteer processes a rig started whose test process is gone."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"--file-prefix" in argv[:-1]:
            prefix = argv[argv.index(b"--file-prefix") + 1].decode(errors="replace")
            m = PREFIX_RE.match(prefix)
            if m and _stale(m.group(1)):
                pids.append(int(proc.name))
    return pids


def reap_stale():
    """Removes what an earlier run killed with SIGKILL left behind: the
    quicsteer processes, namespaces and runtime dirs a rig names after its
    test's pid, where that pid is gone."""
    for pid in _orphaned_servers():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    out = run(["ip", "netns", "list"], check_rc=False).stdout
    for line in out.splitlines():
        m = NETNS_RE.match(line.split(" ")[0])
        if m and _stale(m.group(2)):
            run(["ip", "netns", "del", m.group(0)], check_rc=False)
    if DPDK_RUN_DIR.is_dir():
        for d in DPDK_RUN_DIR.iterdir():
            m = PREFIX_RE.match(d.name)
            if m and _stale(m.group(1)):
                shutil.rmtree(d, ignore_errors=True)
    for d in _hugetlbfs_dirs():
        for f in d.glob("qs-*map_*"):
            m = PREFIX_RE.match(f.name.rsplit("map_", 1)[0])
            if m and _stale(m.group(1)):
                with contextlib.suppress(OSError):
                    f.unlink()


def _hugetlbfs_dirs():
    with open("/proc/mounts") as f:
        return [Path(line.split()[1]) for line in f if line.split()[2:3] == ["hugetlbfs"]]


# EAL --base-virtaddr on hugepages: 32 TiB, above ASan's shadow, far
# below the libraries' mappings near 128 TiB (README "Packet capture")
BASE_VIRTADDR = 0x200000000000


def _die_with_parent():
    """preexec_fn: quicsteer gets SIGTERM if the test process dies, even by
    SIGKILL (survives the exec of `ip netns exec` and of quicsteer)."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


# what the client veth must not offload: af_packet on the server end would
# get UDP checksums never computed (the kernel's CHECKSUM_PARTIAL, which
# DPDK 22.11's af_packet PMD does not pass on) and GSO super-frames
CLIENT_OFFLOADS_OFF = ["tx", "off", "gso", "off", "tx-udp-segmentation", "off"]


def client_offloads_off(ns, ifname):
    """Makes the client veth compute every checksum and segment in software
    (ethtool -K), so quicsteer, which verifies UDP checksums, gets what a
    real NIC would deliver."""
    check(shutil.which("ethtool") is not None,
          "ethtool not found: the rig needs it to switch the client veth's "
          "checksum offload off (install it: deploy/install-deps.sh)")
    run(["ip", "netns", "exec", ns, "ethtool", "-K", ifname, *CLIENT_OFFLOADS_OFF])
    features = run(["ip", "netns", "exec", ns, "ethtool", "-k", ifname]).stdout
    check(re.search(r"^tx-checksumming: off", features, re.M) is not None,
          f"{ifname}: TX checksum offload still on after ethtool -K:\n{features}")


def _link_mac(ns, ifname):
    link = json.loads(run(["ip", "-n", ns, "-j", "link", "show", ifname]).stdout)
    return link[0]["address"]


def _lcore_key(name):
    """Telemetry keys lcores by worker index ("0") or name ("io0")."""
    return int(name) if name.isdigit() else name


def lcores_option(workers, cpus=2):
    """Main lcore 0 on CPU 0 (control plane), workers 1..n spread over cpus:
    more lcores than CPUs, as on a 2-core CI machine."""
    return ",".join(["0@0"] + [f"{i}@{i % cpus}" for i in range(1, workers + 1)])


class Rig:
    """Namespaces, veth pair and a quicsteer process; see the module text.

    name      short lowercase name of the test (namespace and prefix names)
    workers   worker lcores = af_packet queue pairs
    io_lcores I/O lcores besides the workers, for the pipeline layout (the
              config must say `layout = pipeline` and `io_lcores` too); the
              af_packet port then has io_lcores queue pairs; counters() and
              steering_rows() key them "io0", "io1", ...
    config    INI text written to a file and passed with --config
    app_args  extra application options (after --)
    wait_ready  False when quicsteer is expected to exit by itself
    interactive True: stdin is a pipe (for -i); see send_stdin()
    start     False: only the network; the test calls start() itself
    hugepages True: quicsteer on hugepages (reserved for the test, skipped
              with the reason when the kernel has none to give); False:
              --no-huge; None: as QS_RIG_HUGEPAGES says
    pmd       "af_packet": quicsteer's port is net_af_packet on the server's
              veth, with a queue pair per worker; "virtio_user": it is
              net_virtio_user (MAC VIRTIO_MAC, as many queue pairs) over
              vhost-user to a VSwitch that the rig starts before quicsteer
              (again when the queue count changes) and stops at the end
              (skipped where dpdk-testpmd is missing); "af_xdp": it is
              net_af_xdp on the server's veth, AF_XDP_QUEUES queue pair(s);
              asked for more workers than that without io_lcores, the rig
              runs them in the pipeline layout behind one I/O lcore of its
              own (not in counters(): io_counters()); skipped where the PMD
              or the kernel's AF_XDP is missing; None: as QS_RIG_PMD says.
              port_name and port_driver name the port, server_mac is its MAC
              either way
    network   a Network made by the caller (namespaces, veth, addresses):
              the rig then makes and deletes no namespace and quicsteer
              answers for the network's addresses instead of SERVER_V4 and
              SERVER_V6 (see the module text)
    """

    def __init__(self, name, workers=4, config=None, app_args=(),
                 port=QUIC_PORT, wait_ready=True, interactive=False, start=True,
                 io_lcores=0, hugepages=None, pmd=None, network=None):
        check(re.fullmatch(r"[a-z0-9]{1,8}", name) is not None,
              f"rig name {name!r}: 1-8 lowercase letters or digits")
        pid = os.getpid()
        self.name = name
        self.network = network
        if network is None:
            self.server_ns = f"qs-{name}-{pid}-srv"
            self.client_ns = f"qs-{name}-{pid}-cli"
            # interface names have at most 15 characters
            self.server_if = f"qs{name[:4]}{pid}s"
            self.client_if = f"qs{name[:4]}{pid}c"
            self.addresses = {4: SERVER_V4, 6: SERVER_V6}
            self.label = "quicsteer"
        else:
            self.server_ns, self.server_if = network.server_ns, network.server_if
            self.client_ns, self.client_if = network.client_ns, network.client_if
            self.addresses = {4: network.server_v4}
            if network.server_v6 is not None:
                self.addresses[6] = network.server_v6
            self.label = network.label
        self.port = port
        self.server_mac = self.client_mac = None
        self.proc = None
        self.prefix = None
        self.argv = None        # quicsteer's command line at the last start()
        self._starts = 0
        self._prefixes = []
        self._log = None
        self._tmp = None
        self._procs = []        # helpers started with popen_in(): stopped at exit
        self.workers = workers
        self.hugepages = hugepages_wanted() if hugepages is None else hugepages
        self.pmd = pmd_wanted() if pmd is None else pmd
        check(self.pmd in PMDS, f"Rig(pmd={self.pmd!r}): not one of {', '.join(PMDS)}")
        self.port_driver = f"net_{self.pmd}"
        self.port_name = f"{self.port_driver}0"
        self.vswitch = None     # the VSwitch while pmd is virtio_user
        self._vswitches = 0
        self._rig_io = 0        # I/O lcores the rig added (pmd af_xdp)
        self.xdp = None         # pmd af_xdp: xdp_attached() once quicsteer is up
        self.huge_dir = None
        self._huge_before = None
        self._start_on_enter = start
        self._server_opts = dict(workers=workers, config=config,
                                 app_args=tuple(app_args),
                                 wait_ready=wait_ready, interactive=interactive,
                                 io_lcores=io_lcores)

    # -- lifetime --

    def __enter__(self):
        self._tmp = Path(tempfile.mkdtemp(prefix=f"qs-{self.name}-"))
        try:
            reap_stale()
            if self.pmd == "af_xdp":
                af_xdp_available()
            if self.hugepages:
                self.huge_dir, self._huge_before = hugepages_reserve(SERVER_MEMORY_MIB)
            if self.network is None:
                self._make_namespaces()
            else:
                self._learn_macs()
            if self._start_on_enter:
                self.start(**self._server_opts)
        except BaseException:
            self._cleanup(failed=True)
            raise
        return self

    def __exit__(self, exc_type, exc, tb):
        self._cleanup(failed=exc_type is not None)
        return False

    def _cleanup(self, failed):
        for proc in self._procs:
            _stop_process(proc)
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if failed and self._log is not None:
            tail = self.output().splitlines()[-40:]
            print(f"---- {self.label} output (last lines) ----", file=sys.stderr)
            print("\n".join(tail), file=sys.stderr)
        if self.vswitch is not None:
            self.vswitch.stop()
            if failed:
                # its port counters, printed as it stopped, and what came before
                tail = self.vswitch.output().splitlines()[-60:]
                print(f"---- vSwitch (dpdk-testpmd) output (last lines; "
                      f"{' '.join(self.vswitch.argv[6:])}) ----", file=sys.stderr)
                print("\n".join(tail), file=sys.stderr)
        if self.network is None:
            for ns in (self.server_ns, self.client_ns):
                run(["ip", "netns", "del", ns], check_rc=False, timeout=10)
        for prefix in self._prefixes:
            remove_runtime_dir(prefix)
            if self.huge_dir is not None:
                remove_hugepage_files(self.huge_dir, prefix)
        if self._huge_before is not None:
            hugepages_release(self._huge_before)
        shutil.rmtree(self._tmp, ignore_errors=True)

    def _make_namespaces(self):
        s, c = self.server_ns, self.client_ns
        for ns in (s, c):
            run(["ip", "netns", "add", ns])
            run(["ip", "-n", ns, "link", "set", "lo", "up"])
        queues = (["numtxqueues", str(AF_XDP_QUEUES), "numrxqueues", str(AF_XDP_QUEUES)]
                  if self.pmd == "af_xdp" else [])
        run(["ip", "link", "add", self.server_if, *queues, "netns", s, "type", "veth",
             "peer", "name", self.client_if, *queues, "netns", c])
        # the server's kernel must not answer anything: no address, no IPv6
        run(["ip", "netns", "exec", s, "sysctl", "-qw",
             f"net.ipv6.conf.{self.server_if}.disable_ipv6=1"])
        run(["ip", "-n", s, "link", "set", self.server_if, "up"])
        run(["ip", "-n", c, "addr", "add", f"{CLIENT_V4}/24", "dev", self.client_if])
        run(["ip", "-n", c, "addr", "add", f"{CLIENT_V6}/64", "dev",
             self.client_if, "nodad"])
        run(["ip", "-n", c, "link", "set", self.client_if, "up"])
        client_offloads_off(c, self.client_if)
        self._learn_macs()

    def _learn_macs(self):
        self.server_mac = (VIRTIO_MAC if self.pmd == "virtio_user"
                           else _link_mac(self.server_ns, self.server_if))
        self.client_mac = _link_mac(self.client_ns, self.client_if)

    # -- the server process --

    def start(self, workers=4, config=None, app_args=(), wait_ready=True,
              interactive=False, io_lcores=0, wrapper=(), memory_mib=None,
              ready_timeout=None):
        """Starts quicsteer (again, after stop()) with a fresh --file-prefix.
        wrapper: a command quicsteer runs under (valgrind ...); memory_mib:
        EAL -m instead of SERVER_MEMORY_MIB; ready_timeout: the bound of
        wait_ready() instead of READY_TIMEOUT. self.argv: the command."""
        check(self.proc is None or self.proc.poll() is not None,
              "start(): quicsteer is still running")
        self._starts += 1
        self.workers = workers
        self.prefix = dpdk_prefix(self.name, self._starts)
        self._prefixes.append(self.prefix)
        self._rig_io = 0
        if self.pmd == "af_xdp" and (io_lcores or workers) > AF_XDP_QUEUES:
            config, io_lcores = self._af_xdp_pipeline(config, workers, io_lcores)
        app = [arg for family in sorted(self.addresses)
               for arg in ("--addr", self.addresses[family])]
        app += ["--port", str(self.port)]
        if config is not None:
            app += ["--config", self.write_file(f"quicsteer-{self._starts}.ini", config)]
        app += list(app_args)
        # on hugepages a secondary process (dpdk-dumpcap) maps the memory at
        # the primary's addresses: at a fixed base far below where either
        # process's libraries (and ASan's shadow) go, not where ASLR put it
        # in the primary ("Cannot get a virtual area at requested address"
        # in the secondary, seen once in a sanitized run)
        memory = (["--huge-dir", self.huge_dir, f"--base-virtaddr={BASE_VIRTADDR:#x}"]
                  if self.hugepages else ["--no-huge"])
        queues = io_lcores or workers
        eal_log = []
        if self.pmd == "af_packet":
            vdev = f"--vdev=net_af_packet0,iface={self.server_if},qpairs={queues}"
        elif self.pmd == "af_xdp":
            vdev = (f"--vdev=net_af_xdp0,iface={self.server_if},start_queue=0,"
                    f"queue_count={queues}")
            # its queue setup, umem and busy polling lines (notice by default)
            eal_log = ["--log-level=pmd.net.af_xdp:info"]
        else:
            vdev = self._vswitch_vdev(queues)
            if self.hugepages:
                # vhost-user maps at most 8 memory regions: one file per page
                # would be hundreds ("Too many memory regions"); --no-huge is
                # one memfd, shared too
                memory.append("--single-file-segments")
        argv = ["ip", "netns", "exec", self.server_ns, *wrapper, quicsteer_binary(),
                *memory, "--no-pci", "-m", str(memory_mib or SERVER_MEMORY_MIB),
                "--file-prefix", self.prefix,
                "--lcores", lcores_option(workers + io_lcores),
                *eal_log, vdev, "--", *app]
        self.argv = argv
        self._log = self._tmp / f"quicsteer-{self._starts}.log"
        with open(self._log, "wb") as log:
            # `ip netns exec` execs quicsteer: signals to proc reach it
            self.proc = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.PIPE if interactive else subprocess.DEVNULL,
                preexec_fn=_die_with_parent)
        if wait_ready:
            self.wait_ready(ready_timeout)

    def wait_ready(self, timeout=None):
        """Waits (bounded: timeout, else READY_TIMEOUT s) until quicsteer
        answers on telemetry with all its workers up: what start() does
        unless wait_ready=False (e.g. to start several servers at once,
        then wait for each)."""
        self._wait_ready(timeout or READY_TIMEOUT)
        if self.pmd == "af_xdp":
            self._report_xdp()

    def _af_xdp_pipeline(self, config, workers, io_lcores):
        """Run-to-completion needs a queue per worker, and net_af_xdp has
        AF_XDP_QUEUES on a veth: the workers go behind one I/O lcore of the
        rig's (pipeline layout). Returns (config, io_lcores)."""
        if io_lcores:
            raise Skipped(f"af_xdp: {io_lcores} I/O lcores need {io_lcores} queues; "
                          f"net_af_xdp (DPDK 22.11) opens {AF_XDP_QUEUES} on a veth, "
                          f"which has no combined channels")
        self._rig_io = 1
        print(f"rig: af_xdp has {AF_XDP_QUEUES} queue on a veth (DPDK 22.11): "
              f"{workers} workers in the pipeline layout behind the rig's I/O lcore io0",
              flush=True)
        return with_pipeline(config, self._rig_io), self._rig_io

    def _report_xdp(self):
        """Says how the kernel runs the PMD's XDP program (native or generic
        mode) and what it did to the client veth's segmentation offload."""
        self.xdp = xdp_attached(self.server_ns, self.server_if)
        check(self.xdp is not None,
              f"quicsteer's af_xdp port is up but {self.server_if} has no XDP program:\n"
              f"{self.output()[-3000:]}")
        gso = offload_state(self.client_ns, self.client_if, "tx-udp-segmentation")
        print(f"rig: af_xdp: XDP program {self.xdp['prog']} (id {self.xdp['id']}) on "
              f"{self.server_if} in {self.xdp['mode']} mode; client veth "
              f"tx-udp-segmentation {gso}", flush=True)

    def _check_xdp_removed(self):
        """After a clean exit the PMD has taken its XDP program off the veth."""
        left = xdp_attached(self.server_ns, self.server_if)
        check(left is None, f"quicsteer exited 0 but left XDP program {left} on "
                            f"{self.server_if}")
        print(f"rig: af_xdp: no XDP program on {self.server_if} after quicsteer's exit",
              flush=True)

    def _vswitch_vdev(self, queues):
        """The vSwitch for a quicsteer with queues queue pairs, started now
        if none runs with that many; quicsteer's --vdev for it."""
        if self.vswitch is not None and (self.vswitch.queues != queues or
                                         not self.vswitch.alive()):
            self.vswitch.stop()
            self.vswitch = None
        if self.vswitch is None:
            self._vswitches += 1
            self.vswitch = VSwitch(self, queues, self._vswitches)
            self.vswitch.start()
        return (f"--vdev=net_virtio_user0,path={self.vswitch.socket},"
                f"queues={queues},mac={VIRTIO_MAC}")

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        last = "no telemetry socket"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise TestFailure(f"quicsteer exited {self.proc.returncode} at start:\n"
                                  f"{self.output()}")
            try:
                stats = self.telemetry("/quicsteer/stats", timeout=1)
                # answered: the dataplane is initialised and its port started
                if stats and stats.get("workers") == self.workers:
                    if self.vswitch is None or self._vswitch_linked():
                        return
                    last = "the vSwitch's vhost port is down: quicsteer not connected"
                else:
                    last = f"/quicsteer/stats answered {stats}"
            except (OSError, ValueError) as e:
                last = str(e)
            time.sleep(0.1)
        raise TestFailure(f"quicsteer not ready within {timeout} s ({last}):\n"
                          f"{self.output()}")

    def _vswitch_linked(self):
        """The vhost-user connection is up: the vSwitch's vhost port has
        link. (virtio_user says "Failed to start device" and quicsteer runs
        on when vhost-user refuses its memory, e.g. too many regions.)"""
        check("Failed to start device" not in self.output(),
              f"quicsteer's virtio_user port did not start:\n{self.output()[-3000:]}")
        check(self.vswitch.alive(), f"the vSwitch exited ({self.vswitch.proc.returncode}):\n"
                                    f"{self.vswitch.output()[-3000:]}")
        link = telemetry(self.vswitch.prefix, "/ethdev/link_status,1", timeout=1)
        return link.get("status") == "UP"

    def write_file(self, name, text):
        """A file in the rig's private temporary directory; its path."""
        path = self._tmp / name
        path.write_text(text)
        return str(path)

    def output(self):
        """Everything quicsteer wrote so far (stdout and stderr)."""
        if self._log is None or not self._log.exists():
            return ""
        return self._log.read_text(errors="replace")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def exited(self):
        """None while quicsteer runs, else what happened ("quicsteer exited
        (-9)"), for messages."""
        if self.alive():
            return None
        if self.proc is None:
            return f"{self.label} was not started"
        return f"{self.label} exited ({self.proc.returncode})"

    def send_stdin(self, text, close=True):
        """Writes text to quicsteer's stdin (interactive=True)."""
        self.proc.stdin.write(text.encode())
        self.proc.stdin.flush()
        if close:
            self.proc.stdin.close()

    def wait_output(self, needle, timeout=10.0):
        """Waits until quicsteer has written needle; the output so far."""
        deadline = time.monotonic() + timeout
        while needle not in (out := self.output()):
            check(self.alive(), f"quicsteer exited ({self.proc.returncode}) "
                                f"before writing {needle!r}:\n{out[-3000:]}")
            check(time.monotonic() < deadline,
                  f"quicsteer did not write {needle!r} within {timeout} s:\n{out[-3000:]}")
            time.sleep(0.05)
        return out

    def wait_exit(self, timeout=STOP_TIMEOUT):
        """Waits for quicsteer to exit by itself; returns (rc, output)."""
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired as e:
            raise TestFailure(f"quicsteer did not exit within {timeout} s:\n"
                              f"{self.output()[-3000:]}") from e
        if self.pmd == "af_xdp" and rc == 0:
            self._check_xdp_removed()
        return rc, self.output()

    def stop(self, sig=signal.SIGTERM, timeout=STOP_TIMEOUT):
        """Sends sig and waits for the exit; returns (rc, output)."""
        check(self.alive(), f"stop(): quicsteer already exited "
                            f"({self.proc.returncode}):\n{self.output()[-3000:]}")
        self.proc.send_signal(sig)
        return self.wait_exit(timeout)

    # -- telemetry --

    def telemetry(self, cmd, timeout=5):
        """Sends one command to quicsteer's DPDK telemetry socket; the parsed
        reply."""
        return telemetry(self.prefix, cmd, timeout)

    def port_stats(self):
        """quicsteer's port counters (/ethdev/stats of port 0: ipackets,
        opackets, imissed, ierrors, rx_nombuf, ...), whatever the PMD."""
        return self.telemetry("/ethdev/stats,0")

    def paged(self, cmd):
        """Every page of a per-lcore telemetry command (/quicsteer/lcores,
        /quicsteer/steering): DPDK's socket answers at most 16 KiB, so
        quicsteer answers from the lcore index given and says where the next
        page starts ("next_lcore")."""
        out, first = {}, 0
        for _ in range(256):
            page = self.telemetry(f"{cmd},{first}")
            nxt = page.pop("next_lcore", None)
            out.update(page)
            if nxt is None:
                return out
            check(nxt > first, f"{cmd}: next_lcore {nxt} after {first}")
            first = nxt
        raise TestFailure(f"{cmd}: more than 256 pages")

    def counters(self):
        """Per-lcore counters: {worker index: {counter: value}}; I/O lcores
        of the pipeline layout under their names ("io0", ...), except the
        one the rig added on af_xdp (io_counters())."""
        snap = {_lcore_key(w): c for w, c in self.paged("/quicsteer/lcores").items()}
        if self._rig_io:
            return {k: c for k, c in snap.items() if isinstance(k, int)}
        return snap

    def io_counters(self):
        """The I/O lcores' counters: {"io0": {counter: value}, ...}."""
        return {k: c for k, c in ((_lcore_key(w), c) for w, c in
                                  self.paged("/quicsteer/lcores").items())
                if isinstance(k, str)}

    def steering(self):
        """Forwarding matrix between workers: steering()[from][to] packets
        (rows of I/O lcores: steering_rows())."""
        rows = self.paged("/quicsteer/steering")
        return [rows[str(w)] for w in range(len(rows)) if str(w) in rows]

    def steering_rows(self):
        """Every row of the forwarding matrix, keyed like counters():
        {from worker index or "io0": [packets to worker 0, 1, ...]}."""
        return {_lcore_key(w): r for w, r in self.paged("/quicsteer/steering").items()}

    def wait_counters(self, done, timeout=5.0):
        """Polls counters() until done(snapshot) holds or timeout; returns the
        last snapshot either way (the caller's checks then say what is off)."""
        deadline = time.monotonic() + timeout
        while True:
            snap = self.counters()
            if done(snap) or time.monotonic() >= deadline:
                return snap
            time.sleep(0.05)

    def wait_quiet(self, timeout=20.0, interval=0.25):
        """Polls counters() until two snapshots interval apart are equal (the
        dataplane has finished with what was sent) or timeout; the last one.
        The lcore load figures (MOVING_FIGURES) move on an idle lcore too:
        they are not compared."""
        return wait_stable(self.counters, handled, timeout, interval)

    # -- the client side --

    def run_in_client(self, argv, timeout=30, check_rc=True, input=None):
        return run(["ip", "netns", "exec", self.client_ns, *argv],
                   timeout=timeout, check_rc=check_rc, input=input)

    def client_tool(self, script, args, request=None, timeout=60):
        """Runs tests/tools/<script> in the client namespace; its JSON output."""
        proc = self.run_in_client([sys.executable, str(TOOLS / script), *args],
                                  timeout=timeout,
                                  input=json.dumps(request) if request is not None else None)
        try:
            return json.loads(proc.stdout)
        except ValueError as e:
            raise TestFailure(f"{script}: not JSON: {proc.stdout[:500]!r}") from e

    def server_addr(self, family=4):
        check(family in self.addresses,
              f"{self.label} has no IPv{family} address on this network")
        return (self.addresses[family], self.port)

    def probe(self, payloads, family=4, timeout=3.0, linger=0.3):
        """Sends each payload (bytes) from its own UDP socket, so each has its
        own source port, and collects replies per socket (tools/quic_probe.py).
        timeout bounds the wait for one reply per socket; linger catches
        extra replies after that."""
        dst, dport = self.server_addr(family)
        res = self.client_tool("quic_probe.py",
                               ["--dst", dst, "--port", str(dport),
                                "--timeout", str(timeout), "--linger", str(linger)],
                               request={"payloads": [p.hex() for p in payloads]})
        return res["results"]

    def flood(self, worker, count, sockets=64, length=64, family=4):
        """Sends count short-header datagrams naming worker as fast as the
        client kernel takes them, from sockets source ports
        (tools/udp_flood.c); returns {"sent", "send_errors", "seconds"}."""
        out = self.run_in_client([binary("UDP_FLOOD", "tests/integration/udp_flood"),
                                  "--dst", self.server_addr(family)[0],
                                  "--port", str(self.port), "--worker", str(worker),
                                  "--count", str(count), "--sockets", str(sockets),
                                  "--length", str(length)], timeout=120).stdout
        return json.loads(out)

    def send_frames(self, frames, listen=0.5, full=False):
        """Sends raw Ethernet frames (bytes) on the client veth and returns
        the frames the server sent back within listen seconds, ARP and
        neighbour discovery excluded (tools/raw_frames.py); full: whole
        frames in "hex", not their first 64 bytes."""
        res = self.client_tool("raw_frames.py",
                               ["--iface", self.client_if, "--peer-mac", self.server_mac,
                                "--listen", str(listen), *(["--full"] if full else [])],
                               request={"frames": [f.hex() for f in frames]})
        check_eq(res["sent"], len(frames), "raw frames sent")
        return res["replies"]

    # -- helpers for longer scenarios (the attack suite) --

    def popen_in(self, side, argv, **kw):
        """Starts argv in the client or server namespace (side "client" or
        "server") without waiting; the rig stops it (SIGTERM, then SIGKILL)
        on exit if it is still running. stdin is /dev/null unless given."""
        ns = self.client_ns if side == "client" else self.server_ns
        kw.setdefault("stdin", subprocess.DEVNULL)
        proc = subprocess.Popen(["ip", "netns", "exec", ns, *map(str, argv)],
                                preexec_fn=_die_with_parent, **kw)
        self._procs.append(proc)
        return proc

    def popen_in_client(self, argv, **kw):
        """popen_in("client", ...): what fleet.Load starts its client with."""
        return self.popen_in("client", argv, **kw)

    def capture(self, bpf, side="server", snaplen=128):
        """A tcpdump on the server's or the client's veth (promiscuous)
        with the filter bpf, started and listening when this returns; stop()
        it to get its frames. Stopped by the rig on exit."""
        return Capture(self, bpf, side, snaplen)

    def memory(self):
        """quicsteer's memory from /proc/<pid>/status, in KiB: VmRSS (now)
        and VmHWM (the peak since it started)."""
        check(self.alive(), "memory(): quicsteer is not running")
        out = {}
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0])
        return out

    def stats(self):
        """/quicsteer/stats: every counter summed over the workers."""
        return self.telemetry("/quicsteer/stats")

    def conns(self, top=16):
        """/quicsteer/conns: {"per_worker": [...], "busiest": {cid hex:
        {"worker", "peer", "state", "age_ms", "rx_bytes", "tx_bytes", ...}}}"""
        return self.telemetry(f"/quicsteer/conns,{top}")



def _stop_process(proc, timeout=5):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)


# ---- captures -------------------------------------------------------------

CAPTURE_START_TIMEOUT = 10.0


class Capture:
    """tcpdump -w on one of the rig's veth ends (see Rig.capture)."""

    def __init__(self, rig, bpf, side, snaplen):
        check(shutil.which("tcpdump") is not None,
              "tcpdump not found: install it (deploy/install-deps.sh)")
        self.path = rig._tmp / f"capture-{len(rig._procs)}.pcap"
        self._err = rig._tmp / f"capture-{len(rig._procs)}.err"
        ifname = rig.server_if if side == "server" else rig.client_if
        with open(self._err, "wb") as err:
            # -U: every packet is written at once; -B: 16 MiB of kernel buffer
            self.proc = rig.popen_in(side, ["tcpdump", "-i", ifname, "-n", "-U",
                                            "-B", "16384", "-s", str(snaplen),
                                            "-w", str(self.path), bpf],
                                     stdout=subprocess.DEVNULL, stderr=err)
        deadline = time.monotonic() + CAPTURE_START_TIMEOUT
        while "listening on" not in self._stderr():
            check(self.proc.poll() is None,
                  f"tcpdump exited {self.proc.returncode}: {self._stderr()}")
            check(time.monotonic() < deadline,
                  f"tcpdump not listening within {CAPTURE_START_TIMEOUT} s: {self._stderr()}")
            time.sleep(0.05)
        self.stats = None

    def _stderr(self):
        return self._err.read_text(errors="replace") if self._err.exists() else ""

    def stop(self, settle=1.0):
        """Stops tcpdump, settle seconds from now (it may still be reading
        what its buffer holds); [(timestamp, frame bytes)]. self.stats: the
        counts tcpdump printed (captured, received by filter, dropped by
        kernel); complete() says whether it kept every frame."""
        if self.proc.poll() is None:
            time.sleep(settle)
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        err = self._stderr()
        self.stats = {k: int(n) for n, k in re.findall(
            r"(\d+) packets? (captured|received by filter|dropped by kernel)", err)}
        return read_pcap(self.path)

    def complete(self):
        """After stop(): tcpdump wrote every frame its filter took and the
        kernel dropped none."""
        st = self.stats or {}
        return (st.get("dropped by kernel", 1) == 0 and
                st.get("captured", -1) == st.get("received by filter", -2))


def read_pcap(path):
    """The frames of a classic pcap file: [(timestamp in seconds, bytes)]."""
    data = Path(path).read_bytes()
    if len(data) < 24:
        return []
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:
        raise TestFailure(f"{path}: not a pcap file (magic {magic.hex()})")
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    frames, off = [], 24
    while off + 16 <= len(data):
        sec, frac, incl, _orig = struct.unpack(endian + "IIII", data[off:off + 16])
        off += 16
        frames.append((sec + frac / (1e9 if nano else 1e6), data[off:off + incl]))
        off += incl
    return frames


def mac_bytes(text):
    return bytes.fromhex(text.replace(":", ""))


def _csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4_udp_frame(dst_mac, src_mac, src, dst, sport, dport, payload):
    """An Ethernet frame with an IPv4 UDP datagram, checksums right
    (quicsteer verifies the UDP one). MACs as text, addresses as text."""
    src_ip, dst_ip = socket.inet_aton(src), socket.inet_aton(dst)
    udp_len = 8 + len(payload)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, 0, 0x4000, 64, 17, 0,
                     src_ip, dst_ip)
    ip = ip[:10] + struct.pack("!H", _csum(ip)) + ip[12:]
    pseudo = src_ip + dst_ip + struct.pack("!BBH", 0, 17, udp_len)
    udp = struct.pack("!HHHH", sport, dport, udp_len, 0) + payload
    c = _csum(pseudo + udp) or 0xFFFF
    udp = udp[:6] + struct.pack("!H", c) + udp[8:]
    return mac_bytes(dst_mac) + mac_bytes(src_mac) + b"\x08\x00" + ip + udp


def parse_ipv4_udp(frame):
    """(dst MAC text, src IP, dst IP, sport, dport, UDP payload) of an
    Ethernet frame with IPv4 UDP, or None. The payload may be cut short by
    the capture's snap length."""
    if len(frame) < 34 or frame[12:14] != b"\x08\x00" or frame[23] != 17:
        return None
    ihl = (frame[14] & 0x0F) * 4
    l4 = 14 + ihl
    if len(frame) < l4 + 8:
        return None
    sport, dport = struct.unpack("!HH", frame[l4:l4 + 4])
    return (":".join(f"{b:02x}" for b in frame[0:6]), socket.inet_ntoa(frame[26:30]),
            socket.inet_ntoa(frame[30:34]), sport, dport, frame[l4 + 8:])


@contextlib.contextmanager
def temp_dir(name):
    path = Path(tempfile.mkdtemp(prefix=f"qs-{name}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
