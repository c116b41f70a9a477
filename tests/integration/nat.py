"""A real NAT rebinding and an active migration in the middle of a
download, for the migration tests (test_migration_*.py), and which worker a
client source port lands on.

    ports = PortMap(rig)                  # before any NAT rule exists
    w = ports.worker(20001)               # the af_packet queue (worker) of port 20001
    limit_download(rig)                   # a 100 Mbit/s client link
    result, info = rebinding_run(rig, ["/8m.bin"], tmp / "dl", "8m.bin",
                                 1 << 20, 20001, 20002)

Nat is nftables source NAT in the Rig's client namespace: every UDP
datagram to the server's QUIC port leaves with the source port the test
chose, whatever port the client's socket has. rebind() replaces the rule and
deletes the connection-tracking entry, so the next datagram of the same
socket leaves with the new port (what still arrives for the old port is
delivered, see Nat): the server sees the client's port change
mid-connection as behind a real NAT that rebinds, while the client
(gtlsclient) knows nothing of it. Nothing outside the client namespace is
touched.

PortMap learns the "RSS" of the rig: af_packet's fanout hash of the 4-tuple
is stable within a run, so a datagram from source port P always reaches the
same queue, hence the same RTC worker. It sends from port P one 21-byte
short-header datagram whose DCID names no worker (handled where it arrives,
counted in quic_local there, and too short to earn a stateless reset) and
sees whose quic_local moved. Do it before installing a NAT rule (which
would rewrite the probe's port).

rebinding_run() and active_migration_run() are one gtlsclient run each,
with the address change in the middle of the big file; they return the
client's result and where in the file the change happened.
"""
import os
import re
import select
import subprocess
import sys
import time

from h3 import Client
from rig import SERVER_V4, SERVER_V6, TestFailure, check, delta

NFT_TABLE = "qsmig"
PROBE_LEN = 21          # <= 21 bytes: no stateless reset (RFC 9000 10.3)
NO_WORKER_NIBBLE = 0xF  # DCID byte 0 high nibble: worker 15, none with < 16 workers
PROBE_TIMEOUT = 3.0     # one probe: the counters must move within this


def _family_words(family):
    return ("ip", SERVER_V4) if family == 4 else ("ip6", SERVER_V6)


class Nat:
    """nftables source NAT of the client's datagrams to the server's QUIC
    port, in the Rig's client namespace; removed on exit.

    rebind() makes the next datagram leave from the new port (a new
    conntrack mapping), and keeps delivering what the server still sends to
    the old port (a stateless rule before conntrack), as a NAT whose old
    mapping has not timed out yet does. Without that, a downloading client
    stalls whenever the server's packets in flight arrive in the gap between
    the deletion of the old mapping and the client's next ACK: they are
    dropped, the client (which only sends ACKs, nothing ack-eliciting) has
    no reason to send again, and the server cannot reach it: no server can
    help that, and gtlsclient has no keep-alive."""

    def __init__(self, rig, family=4):
        self.rig = rig
        self.family = family
        self.fam, self.server = _family_words(family)
        self.ct_family = "ipv4" if family == 4 else "ipv6"
        self.port = None
        self.installed = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
        return False

    def _snat_rule(self, port):
        return (f"add rule {self.fam} {NFT_TABLE} post {self.fam} daddr {self.server} "
                f"udp dport {self.rig.port} snat to :{port}\n")

    def install(self, port):
        """From now on every new flow to the server leaves from :port."""
        check(not self.installed, "Nat.install(): already installed")
        self.rig.run_in_client(
            ["nft", "-f", "-"], timeout=10,
            input=f"add table {self.fam} {NFT_TABLE}\n"
                  f"add chain {self.fam} {NFT_TABLE} post "
                  f"{{ type nat hook postrouting priority srcnat; policy accept; }}\n"
                  f"add chain {self.fam} {NFT_TABLE} pre "
                  f"{{ type filter hook prerouting priority raw; policy accept; }}\n"
                  + self._snat_rule(port))
        self.installed = True
        self.port = port
        self.flush_conntrack()

    def client_port(self):
        """The client socket's own port behind the NAT (from conntrack), or
        None while no datagram has left."""
        out = self.rig.run_in_client(
            ["conntrack", "-L", "-f", self.ct_family, "-p", "udp", "--orig-dst",
             self.server, "--dport", str(self.rig.port)], timeout=10, check_rc=False).stdout
        # src=198.18.0.2 dst=198.18.0.1 sport=50064 dport=4433 src=... dport=20001
        for line in out.splitlines():
            m = re.search(r"sport=(\d+) dport=%d .*dport=%d\b" % (self.rig.port, self.port),
                          line)
            if m:
                return int(m.group(1))
        return None

    def rebind(self, port, client_port):
        """The NAT's mapping changes: the next datagram of the client's
        socket (its own port client_port) leaves from :port; what arrives
        for the old port still reaches it. The rules are replaced atomically,
        then the old mapping deleted, in one process to be quick. Returns
        the number of mappings deleted (1 while a client runs)."""
        check(self.installed, "Nat.rebind(): not installed")
        script = (f"flush chain {self.fam} {NFT_TABLE} post\n" + self._snat_rule(port) +
                  f"add rule {self.fam} {NFT_TABLE} pre {self.fam} saddr {self.server} "
                  f"udp sport {self.rig.port} udp dport {self.port} notrack "
                  f"udp dport set {client_port}\n")
        proc = self.rig.run_in_client(
            ["sh", "-c", 'printf "%s" "$1" | nft -f - || exit 99; shift; exec "$@"', "sh",
             script, "conntrack", "-D", "-f", self.ct_family, "-p", "udp",
             "--orig-dst", self.server, "--dport", str(self.rig.port)],
            timeout=10, check_rc=False)
        check(proc.returncode != 99, f"nft: cannot replace the NAT rules: {proc.stderr}")
        self.port = port
        # "conntrack v1.4.7 (conntrack-tools): 1 flow entries have been deleted."
        m = re.search(r"(\d+) flow entries", proc.stdout + proc.stderr)
        return int(m.group(1)) if m else 0

    def flush_conntrack(self):
        """Forgets every mapping (between runs: ports are never reused)."""
        self.rig.run_in_client(["conntrack", "-F"], timeout=10, check_rc=False)

    def remove(self):
        if self.installed:
            self.rig.run_in_client(["nft", "delete", "table", self.fam, NFT_TABLE],
                                   timeout=10, check_rc=False)
            self.flush_conntrack()
            self.installed = False


def limit_download(rig, rate="100mbit", burst="64k", latency="20ms"):
    """A slow access link for the client: what the client receives passes
    a token bucket (an ifb device in the client namespace takes the veth's
    ingress), so a multi-megabyte download lasts long enough for a NAT
    rebinding in its middle. On the bare veth a download runs at ~100 MB/s
    and is over before nft and conntrack have run. Removed with the
    namespace."""
    ifb = f"qsifb{os.getpid() % 100000}"
    cmds = [["ip", "link", "add", ifb, "type", "ifb"],
            ["ip", "link", "set", ifb, "up"],
            ["tc", "qdisc", "add", "dev", rig.client_if, "handle", "ffff:", "ingress"],
            ["tc", "filter", "add", "dev", rig.client_if, "parent", "ffff:", "protocol",
             "all", "u32", "match", "u32", "0", "0", "action", "mirred", "egress",
             "redirect", "dev", ifb],
            ["tc", "qdisc", "add", "dev", ifb, "root", "tbf", "rate", rate, "burst", burst,
             "latency", latency]]
    for argv in cmds:
        rig.run_in_client(argv, timeout=10)


# ---- which worker a source port lands on ---------------------------------

# runs in the client namespace: one line per port in, "ok"/"error" out
_SENDER = r"""
import os, socket, sys
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
dst = (sys.argv[1], int(sys.argv[2]))
for line in sys.stdin:
    port = int(line)
    try:
        with socket.socket(fam, socket.SOCK_DGRAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("", port))
            rnd = os.urandom(int(sys.argv[3]))
            first = 0x40 | (rnd[0] & 0x3F)
            dcid0 = (int(sys.argv[4]) << 4) | (rnd[1] & 0x0F)
            s.sendto(bytes([first, dcid0]) + rnd[2:], dst)
        print("ok", flush=True)
    except OSError as e:
        print("error", e, flush=True)
"""


class PortMap:
    """{client source port: RTC worker its datagrams reach}, learned by
    probing (see the module text); the rig's server must be running with
    CID steering or not (probes name no worker either way)."""

    def __init__(self, rig, family=4):
        self.rig = rig
        self.family = family
        self.known = {}
        self._proc = None

    def _sender(self):
        if self._proc is None:
            dst = self.rig.server_addr(self.family)[0]
            self._proc = subprocess.Popen(
                ["ip", "netns", "exec", self.rig.client_ns, sys.executable, "-c",
                 _SENDER, dst, str(self.rig.port), str(PROBE_LEN),
                 str(NO_WORKER_NIBBLE)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        return self._proc

    def close(self):
        if self._proc is not None:
            self._proc.stdin.close()
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(5)
            self._proc = None

    def worker(self, port):
        if port in self.known:
            return self.known[port]
        proc = self._sender()
        before = self.rig.counters()
        proc.stdin.write(f"{port}\n")
        proc.stdin.flush()
        ready, _, _ = select.select([proc.stdout], [], [], PROBE_TIMEOUT)
        line = proc.stdout.readline().strip() if ready else "no answer from the sender"
        check(line == "ok", f"probe from source port {port}: {line or 'sender died'}")
        after = self.rig.wait_counters(
            lambda s: sum(delta(before, s)[w]["quic_local"] for w in s) >= 1,
            timeout=PROBE_TIMEOUT)
        d = delta(before, after)
        moved = [w for w in d if d[w]["quic_local"] > 0]
        check(len(moved) == 1,
              f"probe from source port {port}: quic_local moved on {moved or 'no worker'} "
              f"(expected exactly one; lost on the veth, or other traffic?)")
        self.known[port] = moved[0]
        return moved[0]

    def learn(self, ports):
        """Probes every port; {port: worker}."""
        return {p: self.worker(p) for p in ports}

    def by_worker(self, ports):
        """{worker: [ports]} of the given ports (probing those not known)."""
        out = {}
        for p in ports:
            out.setdefault(self.worker(p), []).append(p)
        return out


# ---- one client run with an address change in the middle ----------------

SERVER_CONFIG = """[quic]
; one request at a time: the requests after the big file's go out after the
; address change (the client opens the next stream when one closes)
max_streams_bidi = 1
"""
POLL = 0.002            # seconds between looks at the download's progress


def add_file(site, name, size):
    """A file of random bytes in the Site's docroot (before the server starts)."""
    (site.docroot / name).write_bytes(os.urandom(size))


class RunInfo:
    """What one migration run saw: the big file's size when the address
    changed (at) and when the change was done (after); mappings deleted."""

    def __init__(self, at, after, deleted=None):
        self.at, self.after, self.deleted = at, after, deleted

    def __repr__(self):
        return f"at {self.at} / done {self.after} bytes"


def _size(path):
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _check_server(rig):
    """A client run went wrong: first of all, is quicsteer still there?
    (The rig prints the end of its output on the way out.) rig: a Rig, or
    a fleet.Fleet (exited() names the node)."""
    gone = rig.exited()
    check(gone is None, f"{gone} during the client's run")


def rebinding_run(rig, paths, download, big, at_bytes, p1, p2, family=4,
                  timeout=60.0):
    """gtlsclient downloads paths through a NAT that maps it to :p1; when
    the big file has at_bytes, the NAT rebinds to :p2. Returns (the client's
    result, RunInfo). The client's socket never changes."""
    nat = Nat(rig, family)
    nat.install(p1)
    client = None
    try:
        client = Client(rig, paths, download, family=family)
        big_file = client.download / big
        deadline = time.monotonic() + timeout
        cport = None
        while True:
            size = _size(big_file)
            if cport is None and size > 0:
                cport = nat.client_port()
            if size >= at_bytes and cport is not None:
                break
            if not client.running():
                _check_server(rig)
                raise TestFailure(f"the client ended before {big} had {at_bytes} bytes "
                                  f"(it had {size}): {client.wait().describe()}")
            check(time.monotonic() < deadline,
                  f"{big} did not reach {at_bytes} bytes within {timeout} s (has {size})")
            time.sleep(POLL)
        deleted = nat.rebind(p2, cport)
        info = RunInfo(size, _size(big_file), deleted)
        result = client.wait(max(1.0, deadline - time.monotonic()))
        _check_server(rig)
        return result, info
    finally:
        if client is not None and client.running():
            client.signal()
            client.wait(5)
        nat.remove()


def active_migration_run(rig, paths, download, big, after, family=4,
                         timeout=60.0):
    """gtlsclient --change-local-addr=after downloads paths: it moves to a
    new socket (new source port) and validates the new path itself. Watches
    /quicsteer/stats for the server's count of path changes and notes the
    big file's size when it moved. Returns (result, RunInfo or None when no
    change was seen while the client ran). rig: a Rig, or a fleet.Fleet
    (whose stats() sum its nodes')."""
    def migrations():
        try:
            return rig.stats()["quic_path_migrations"]
        except OSError as e:
            _check_server(rig)
            raise TestFailure(f"telemetry: {e}") from e

    base = migrations()
    client = Client(rig, paths, download, family=family,
                    args=[f"--change-local-addr={after}"])
    info = None
    try:
        big_file = client.download / big
        deadline = time.monotonic() + timeout
        while client.running() and time.monotonic() < deadline:
            if info is None:
                size = _size(big_file)
                if migrations() > base:
                    info = RunInfo(size, _size(big_file))
            time.sleep(0.01)
        result = client.wait(max(1.0, deadline - time.monotonic()))
        _check_server(rig)
        return result, info
    finally:
        if client.running():
            client.signal()
            client.wait(5)
