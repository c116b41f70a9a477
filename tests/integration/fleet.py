"""A fleet of quicsteer nodes behind an existing load balancer (Linux
nftables), for the fleet tests (test_fleet.py, test_rolling_restart.py).

    with Fleet("fleet", app_args=site.server_args()) as fleet:
        before = fleet.snapshot()
        load = Load(fleet, ["--ca", site.cert, "-c", 200, ...], "main")
        report = load.wait()
        d = fleet.deltas(before)          # {node: per-worker deltas}

The topology, all of it in namespaces the fleet makes and removes (also
after a failure or SIGTERM; reap_stale() removes them after a SIGKILL):

    client ns           LB ns                             node ns N (N = 1, 2, 3)
    198.18.0.2 --veth-- 198.18.0.1 (the service)
                        198.18.1N.254 ------------veth--- quicsteer --addr 198.18.1N.1

- the client namespace holds the clients (gtlsclient, quicsteer-load); its
  veth computes checksums and segments in software (rig.client_offloads_off);
  one client address churns through thousands of UDP ports, and the kernel
  gives a new socket a port an earlier one used;
- the LB namespace forwards (ip_forward) and loads the nftables table that
  quicsteer-cid prints (lb_load): stateless, each datagram to the service
  gets the address of the node its DCID's server ID names (short header,
  Handshake), or of a node in service by a hash of the 4-tuple (Initial,
  0-RTT), and the nodes' replies get the service address; nothing is
  tracked, so a reused client port cannot follow an old flow to an old
  node (conntrack-based DNAT would: a flow outlives its socket by up to
  120 s). The veths to the nodes have their offloads off too: forwarded
  frames reach af_packet with real checksums;
- node namespace N runs quicsteer (one rig.Rig on a rig.Network) on
  net_af_packet on its veth, answering for 198.18.1N.1 with no kernel
  address there, with QUIC-LB CIDs (node byte N, then worker byte, 8 nonce
  bytes, plaintext) and secrets shared by the nodes and kept across a
  restart. quicsteer answers to the MAC a datagram came from, so replies go
  back through the LB, which gives them the service address: the client
  only ever sees 198.18.0.1.

The Rig of node N (fleet.nodes[N]) has the LB namespace as its "client"
side: rig.probe() sends from the LB straight to the node, past the table.
A Fleet also stands in for a Rig where h3.Client, nat.Nat,
nat.limit_download, nat.rebinding_run and nat.active_migration_run want
one (port, client_ns, client_if, run_in_client, exited, stats).
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

from h3 import sanitizer_reports
from rig import (CLIENT_V4, QUIC_PORT, SERVER_V4, TOOLS, Network, Rig, TestFailure,
                 _die_with_parent, _stop_process, binary, check, client_offloads_off,
                 delta, handled, matrix_delta, reap_stale, run, wait_stable)

SERVICE_V4 = SERVER_V4          # 198.18.0.1: what the clients connect to
LB_TABLE = "quicsteer_lb"
# QUIC-LB CIDs of the fleet: config 0, server ID = node byte + worker byte,
# 8 nonce bytes, the length in the first octet, plaintext (no key)
CONFIG_ID, SERVER_ID_LEN, NONCE_LEN = 0, 2, 8
CID_LEN = 1 + SERVER_ID_LEN + NONCE_LEN
NODES = 3
WORKERS = 3                     # per node: 12 lcores on the 2 CPUs
# the client namespace's ephemeral ports: the ports below are free for a
# NAT in the client namespace (nat.Nat) to map to
CLIENT_PORTS = (12000, 65535)
DRAIN_TIMEOUT = 30.0
DRAIN_POLL = 0.1
LOAD_TIMEOUT = 120.0            # one quicsteer-load run, end to end


def node_v4(node):
    return f"198.18.{10 + node}.1"


def lb_v4(node):
    return f"198.18.{10 + node}.254"


def cid(node, worker, nonce=None):
    """A DCID of the fleet's format naming node and worker."""
    nonce = os.urandom(NONCE_LEN) if nonce is None else nonce
    return bytes([CONFIG_ID << 5 | (CID_LEN - 1), node, worker]) + nonce


def short_header_to(node, worker, length=64):
    """A 1-RTT datagram of length bytes (> 21: one that deserves a
    stateless reset) whose DCID names node and worker."""
    rnd = os.urandom(length - 1 - CID_LEN)
    return bytes([0x40 | (os.urandom(1)[0] & 0x3F)]) + cid(node, worker) + rnd


def quicsteer_cid_binary():
    return binary("QUICSTEER_CID", "app/quicsteer-cid/quicsteer-cid")


def _ini(sections):
    return "".join(f"[{name}]\n" + "".join(f"{k} = {v}\n" for k, v in keys.items())
                   for name, keys in sections.items())


class Fleet:
    """The topology of the module text, a quicsteer per node; see there.

    name      short lowercase name of the test (1-6 letters or digits):
              namespaces qs-<name>-<pid>-cli|lb|n<N>, node rigs <name>n<N>
    nodes     how many (node ids 1..nodes)
    workers   worker lcores (af_packet queue pairs) per node
    config    {section: {key: value}} added to every node's configuration
              (the fleet sets [dataplane] cid_format, [quic_lb], the
              secrets [quic] reset_secret, token_secret, [tls] ticket_key)
    app_args  quicsteer options after -- (e.g. h3.Site.server_args())
    """

    def __init__(self, name, nodes=NODES, workers=WORKERS, config=None, app_args=()):
        check(re.fullmatch(r"[a-z0-9]{1,6}", name) is not None,
              f"fleet name {name!r}: 1-6 lowercase letters or digits")
        pid = os.getpid()
        self.name = name
        self.port = QUIC_PORT
        self.client_ns = f"qs-{name}-{pid}-cli"
        self.lb_ns = f"qs-{name}-{pid}-lb"
        self.node_ns = {n: f"qs-{name}-{pid}-n{n}" for n in range(1, nodes + 1)}
        # interface names have at most 15 characters
        self.client_if = f"qs{name[:3]}{pid}c"
        self.lb_client_if = f"qs{name[:3]}{pid}l"
        self.node_if = {n: f"qs{name[:3]}{pid}n{n}" for n in self.node_ns}
        self.lb_if = {n: f"qs{name[:3]}{pid}l{n}" for n in self.node_ns}
        # the same secrets on every node and across restarts
        self.secrets = {"reset_secret": os.urandom(32).hex(),
                        "token_secret": os.urandom(32).hex(),
                        "ticket_key": os.urandom(64).hex()}
        self.workers = workers
        self.config = {n: self._node_config(n, config or {}) for n in self.node_ns}
        self.app_args = tuple(app_args)
        self.nodes = {}
        self.in_service = []
        self.restarts = {n: 0 for n in self.node_ns}
        self._procs = []
        self._stack = None
        self._tmp = None

    def _node_config(self, node, extra):
        sections = {
            "dataplane": {"cid_format": "quic-lb"},
            "quic_lb": {"config_id": CONFIG_ID, "server_id_len": SERVER_ID_LEN,
                        "nonce_len": NONCE_LEN, "node_id": node,
                        "self_describing_length": "on"},
            "quic": {"reset_secret": self.secrets["reset_secret"],
                     "token_secret": self.secrets["token_secret"]},
            "tls": {"ticket_key": self.secrets["ticket_key"]},
        }
        for section, keys in extra.items():
            sections.setdefault(section, {}).update(keys)
        return _ini(sections)

    # -- lifetime --

    def __enter__(self):
        self._tmp = Path(tempfile.mkdtemp(prefix=f"qs-{self.name}-"))
        self._stack = contextlib.ExitStack()
        try:
            reap_stale()
            self._make_network()
            for n in self.node_ns:
                rig = Rig(f"{self.name}n{n}", workers=self.workers, start=False,
                          pmd="af_packet", hugepages=False,
                          network=Network(self.node_ns[n], self.node_if[n], self.lb_ns,
                                          self.lb_if[n], node_v4(n), label=f"node {n}"))
                self.nodes[n] = self._stack.enter_context(rig)
            # all at once, then wait for each: a start is mostly waiting
            for n in self.nodes:
                self._start(n, wait_ready=False)
            for rig in self.nodes.values():
                rig.wait_ready()
            self.lb_load(list(self.nodes))
        except BaseException:
            self._cleanup(*sys.exc_info())
            raise
        return self

    def __exit__(self, exc_type, exc, tb):
        self._cleanup(exc_type, exc, tb)
        return False

    def _cleanup(self, exc_type, exc, tb):
        for proc in self._procs:
            _stop_process(proc)
        if exc_type is not None:
            with contextlib.suppress(Exception):
                print(f"---- LB table and counters ----\n{self.lb_summary()}", file=sys.stderr)
        try:
            # each node rig stops its quicsteer (and says how it ended)
            self._stack.__exit__(exc_type, exc, tb)
        finally:
            for ns in (self.client_ns, self.lb_ns, *self.node_ns.values()):
                run(["ip", "netns", "del", ns], check_rc=False, timeout=10)
            shutil.rmtree(self._tmp, ignore_errors=True)

    def _make_network(self):
        lb, cli = self.lb_ns, self.client_ns
        for ns in (cli, lb, *self.node_ns.values()):
            run(["ip", "netns", "add", ns])
            # IPv4 only: no router solicitations or MLD reports to the nodes
            run(["ip", "netns", "exec", ns, "sysctl", "-qw",
                 "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"])
            run(["ip", "-n", ns, "link", "set", "lo", "up"])
        run(["ip", "link", "add", self.client_if, "netns", cli, "type", "veth",
             "peer", "name", self.lb_client_if, "netns", lb])
        run(["ip", "netns", "exec", cli, "sysctl", "-qw",
             f"net.ipv4.ip_local_port_range={CLIENT_PORTS[0]} {CLIENT_PORTS[1]}"])
        run(["ip", "-n", cli, "addr", "add", f"{CLIENT_V4}/24", "dev", self.client_if])
        run(["ip", "-n", cli, "link", "set", self.client_if, "up"])
        client_offloads_off(cli, self.client_if)
        run(["ip", "-n", lb, "addr", "add", f"{SERVICE_V4}/24", "dev", self.lb_client_if])
        run(["ip", "-n", lb, "link", "set", self.lb_client_if, "up"])
        run(["ip", "netns", "exec", lb, "sysctl", "-qw", "net.ipv4.ip_forward=1"])
        for n, ns in self.node_ns.items():
            run(["ip", "link", "add", self.lb_if[n], "netns", lb, "type", "veth",
                 "peer", "name", self.node_if[n], "netns", ns])
            run(["ip", "-n", lb, "addr", "add", f"{lb_v4(n)}/24", "dev", self.lb_if[n]])
            run(["ip", "-n", lb, "link", "set", self.lb_if[n], "up"])
            # forwarded frames: real checksums, no GSO super-frames
            client_offloads_off(lb, self.lb_if[n])
            # the node's kernel has no address: quicsteer alone answers
            run(["ip", "-n", ns, "link", "set", self.node_if[n], "up"])

    # -- the nodes --

    def _start(self, node, wait_ready=True):
        self.nodes[node].start(workers=self.workers, config=self.config[node],
                               app_args=self.app_args, wait_ready=wait_ready)

    def alive(self):
        return all(rig.alive() for rig in self.nodes.values())

    def exited(self):
        """None while every node runs, else which did not ("node 2 exited
        (-6)"), for messages."""
        gone = [g for g in (rig.exited() for rig in self.nodes.values()) if g]
        return "; ".join(gone) or None

    def counters(self, node):
        """Per-worker counters of node (Rig.counters())."""
        return self.nodes[node].counters()

    def snapshot(self):
        """{node: (per-worker counters, steering matrix)} of every node."""
        return {n: (rig.counters(), rig.steering()) for n, rig in self.nodes.items()}

    def deltas(self, before, after=None):
        """{node: (counter deltas per worker, steering matrix delta)} since
        snapshot() before (of the same processes: not across a restart)."""
        after = after or self.snapshot()
        return {n: (delta(before[n][0], after[n][0]), matrix_delta(before[n][1], after[n][1]))
                for n in self.nodes}

    def wait_quiet(self, timeout=10.0, interval=0.3):
        """Waits until no node's counters move over interval (bounded);
        the last snapshot()."""
        def view(snap):
            return {n: (handled(c), m) for n, (c, m) in snap.items()}

        return wait_stable(self.snapshot, view, timeout, interval)

    def stats(self):
        """Every node's /quicsteer/stats summed (as Rig.stats() for one)."""
        out = {}
        for rig in self.nodes.values():
            for k, v in rig.stats().items():
                if isinstance(v, int):
                    out[k] = out.get(k, 0) + v
        return out

    def has_drain(self, node=1):
        """quicsteer has the drain command (/quicsteer/drain)."""
        return "/quicsteer/drain" in (self.nodes[node].telemetry("/") or [])

    def drain(self, node, timeout=DRAIN_TIMEOUT):
        """Starts node's drain (/quicsteer/drain,start: GOAWAY everywhere,
        in-flight requests served, new Initials refused) and waits, bounded,
        until it has no connection left; its last drain status."""
        rig = self.nodes[node]
        st = rig.telemetry("/quicsteer/drain,start")
        check(isinstance(st, dict) and "drained" in st,
              f"node {node}: /quicsteer/drain,start answered {st!r}, expected "
              f'{{"draining", "drained", "connections", "elapsed_ms"}}')
        check(st["draining"], f"node {node}: not draining after /quicsteer/drain,start: {st}")
        deadline = time.monotonic() + timeout
        while not st["drained"]:
            check(rig.alive(), f"node {node}: {rig.exited()} while draining")
            check(time.monotonic() < deadline,
                  f"node {node}: not drained within {timeout} s: {st['connections']} "
                  f"connections left ({st})")
            time.sleep(DRAIN_POLL)
            st = rig.telemetry("/quicsteer/drain")
        return st

    def restart(self, node):
        """Stops node (SIGTERM: exit 0, no sanitizer report) and starts it
        again with the same configuration (node id, secrets); returns the
        stopped process's last per-worker counters."""
        rig = self.nodes[node]
        last = rig.counters()
        rc, out = rig.stop()
        reports = sanitizer_reports(out)
        check(not reports, f"node {node}: sanitizer reports at its stop:\n" +
              "\n".join(reports[:20]) + "\n" + out[-4000:])
        check(rc == 0, f"node {node}: exit code {rc} after SIGTERM, expected 0:\n{out[-3000:]}")
        self._start(node)
        self.restarts[node] += 1
        return last

    def stop_all(self):
        """Stops every node (SIGTERM): exit 0 and no sanitizer report each."""
        for n, rig in self.nodes.items():
            rc, out = rig.stop()
            reports = sanitizer_reports(out)
            check(not reports, f"node {n}: sanitizer reports:\n" + "\n".join(reports[:20])
                  + "\n" + out[-4000:])
            check(rc == 0, f"node {n}: exit code {rc} after SIGTERM, expected 0:\n"
                           f"{out[-3000:]}")

    # -- the load balancer --

    def lb_table(self, in_service):
        """The nftables table quicsteer-cid prints for the fleet with the
        nodes in_service taking new connections (all route by server ID)."""
        argv = [quicsteer_cid_binary(), "nft-map", "--table", LB_TABLE,
                "--service", f"{SERVICE_V4}:{self.port}",
                *[a for n in self.nodes for a in ("--node", f"{n}={node_v4(n)}")],
                "--in-service", ",".join(map(str, in_service)),
                "--config-id", str(CONFIG_ID), "--server-id-len", str(SERVER_ID_LEN),
                "--nonce-len", str(NONCE_LEN), "--self-describing-length", "on"]
        return run(argv, timeout=10).stdout

    def lb_load(self, in_service):
        """Loads (atomically replaces) the LB's table with in_service
        taking new connections; connections already open keep reaching
        their node by CID."""
        check(in_service and set(in_service) <= set(self.nodes),
              f"lb_load({in_service}): not a non-empty subset of {list(self.nodes)}")
        table = self.lb_table(in_service)
        proc = run(["ip", "netns", "exec", self.lb_ns, "nft", "-f", "-"], timeout=10,
                   check_rc=False, input=table)
        check(proc.returncode == 0, f"nft -f in the LB refused the table for in-service "
                                    f"{in_service}: {proc.stderr.strip()}\n{table}")
        self.in_service = list(in_service)

    def lb_counters(self):
        """What the LB saw: {"dropped": datagrams to the service no rule
        routed (the table's counters: quicsteer-cid names its
        quicsteer_unroutable), "to_node": {node: packets the LB sent it},
        "from_node": {node: packets it sent the LB}}. A table load starts
        its counters at 0."""
        doc = json.loads(run(["ip", "netns", "exec", self.lb_ns, "nft", "-j", "list",
                              "table", "ip", LB_TABLE], timeout=10).stdout)
        dropped = 0
        for item in doc["nftables"]:
            if isinstance(item.get("counter"), dict):       # a named counter
                dropped += item["counter"]["packets"]
            for expr in item.get("rule", {}).get("expr", []):
                if isinstance(expr, dict) and isinstance(expr.get("counter"), dict):
                    dropped += expr["counter"]["packets"]
        to_node, from_node = {}, {}
        for n in self.nodes:
            link = json.loads(run(["ip", "-n", self.lb_ns, "-s", "-j", "link", "show",
                                   self.lb_if[n]], timeout=10).stdout)[0]
            to_node[n] = link["stats64"]["tx"]["packets"]
            from_node[n] = link["stats64"]["rx"]["packets"]
        return {"dropped": dropped, "to_node": to_node, "from_node": from_node}

    def lb_summary(self):
        table = run(["ip", "netns", "exec", self.lb_ns, "nft", "list", "table", "ip",
                     LB_TABLE], timeout=10, check_rc=False).stdout
        return f"{table}in service {self.in_service}; {self.lb_counters()}"

    # -- the client side --

    def run_in_client(self, argv, timeout=30, check_rc=True, input=None):
        return run(["ip", "netns", "exec", self.client_ns, *map(str, argv)],
                   timeout=timeout, check_rc=check_rc, input=input)

    def probe(self, payloads, timeout=2.0, linger=0.3):
        """Sends each payload (bytes) from its own UDP socket in the client
        namespace to the service (tools/quic_probe.py); the replies per
        socket, as Rig.probe()."""
        proc = self.run_in_client(
            [sys.executable, TOOLS / "quic_probe.py", "--dst", SERVICE_V4, "--port", self.port,
             "--timeout", timeout, "--linger", linger], timeout=60,
            input=json.dumps({"payloads": [p.hex() for p in payloads]}))
        try:
            return json.loads(proc.stdout)["results"]
        except ValueError as e:
            raise TestFailure(f"quic_probe.py: not JSON: {proc.stdout[:500]!r}") from e

    def popen_in_client(self, argv, **kw):
        """Starts argv in the client namespace without waiting; stopped
        (SIGTERM, then SIGKILL) at the fleet's exit if still running."""
        kw.setdefault("stdin", subprocess.DEVNULL)
        proc = subprocess.Popen(["ip", "netns", "exec", self.client_ns, *map(str, argv)],
                                preexec_fn=_die_with_parent, **kw)
        self._procs.append(proc)
        return proc

    def write_file(self, name, text):
        path = self._tmp / name
        path.write_text(text)
        return path


class Load:
    """One quicsteer-load --json run in the fleet's client namespace,
    started and not waited for; wait() returns its report (a dict)."""

    def __init__(self, fleet, args, name):
        self.name = name
        self.argv = [binary("QUICSTEER_LOAD", "app/quicsteer-load/quicsteer-load"),
                     "--json", *map(str, args)]
        self._out = fleet._tmp / f"load-{name}.json"
        self._err = fleet._tmp / f"load-{name}.err"
        with open(self._out, "wb") as out, open(self._err, "wb") as err:
            self.proc = fleet.popen_in_client(self.argv, stdout=out, stderr=err)
        self.start = time.monotonic()
        self.seconds = None
        self.rc = None

    def running(self):
        return self.proc.poll() is None

    def interrupt(self):
        """SIGINT: no new requests; what is in flight finishes (as at the
        end of -D), then the report."""
        if self.running():
            self.proc.send_signal(signal.SIGINT)

    def stderr(self):
        return self._err.read_text(errors="replace") if self._err.exists() else ""

    def wait(self, timeout=LOAD_TIMEOUT):
        try:
            self.rc = self.proc.wait(max(0.0, self.start + timeout - time.monotonic()))
        except subprocess.TimeoutExpired as e:
            self.proc.kill()
            self.proc.wait(5)
            raise TestFailure(f"quicsteer-load {self.name}: no exit within {timeout} s "
                              f"(stderr: {self.stderr()[-2000:]})") from e
        self.seconds = time.monotonic() - self.start
        reports = sanitizer_reports(self.stderr())
        check(not reports, f"quicsteer-load {self.name}: sanitizer reports:\n" +
              "\n".join(reports[:20]) + "\n" + self.stderr()[-4000:])
        text = self._out.read_text(errors="replace")
        try:
            return json.loads(text)
        except ValueError as e:
            raise TestFailure(f"quicsteer-load {self.name} (exit {self.rc}): its --json "
                              f"report is not JSON: {text[:500]!r}; stderr: "
                              f"{self.stderr()[-2000:]}") from e


def load_summary(rep):
    """One line of a quicsteer-load report's figures."""
    req, conn, mig = rep["requests"], rep["connections"], rep["migrations"]
    return (f"requests {req['completed']}/{req['started']} completed, {req['failed']} failed, "
            f"{req['aborted']} aborted; status {rep['status']}; connections "
            f"{conn['succeeded']}/{conn['started']} ({conn['handshakes']} handshakes, "
            f"{conn['failed']} failed); moves {mig['done']} ({mig['connections_moved']} "
            f"connections moved, {mig['connections_survived']} survived); body "
            f"{rep['bytes']['body']} bytes; errors {rep['errors']}; "
            f"{rep['elapsed_s']:.1f} s")


def check_load(rep, what, requests=None, body_size=None):
    """Every request of a quicsteer-load report completed with 2xx (all
    requests of -n when given), no failure, no stateless reset; the body
    bytes are requests x body_size when given."""
    req = rep["requests"]
    examples = rep.get("error_examples")
    check(req["failed"] == 0 and req["aborted"] == 0,
          f"{what}: {req['failed']} requests failed, {req['aborted']} aborted "
          f"(errors {rep['errors']}; e.g. {examples})")
    check(rep["errors"]["stateless_reset"] == 0,
          f"{what}: the client received {rep['errors']['stateless_reset']} stateless "
          f"resets (errors {rep['errors']}; e.g. {examples})")
    check(sum(rep["errors"].values()) == 0, f"{what}: errors {rep['errors']}; e.g. {examples}")
    if requests is not None:
        check(req["completed"] == requests,
              f"{what}: {req['completed']} requests completed, expected {requests}")
    check(req["completed"] > 0, f"{what}: no request completed")
    check(rep["status"]["2xx"] == req["completed"],
          f"{what}: {rep['status']['2xx']} 2xx responses for {req['completed']} "
          f"completed requests (status {rep['status']})")
    if body_size is not None:
        check(rep["bytes"]["body"] == req["completed"] * body_size,
              f"{what}: {rep['bytes']['body']} body bytes, expected {req['completed']} "
              f"requests x {body_size} = {req['completed'] * body_size}")


def off_diagonal(m):
    """Datagrams forwarded between different workers in a steering matrix."""
    return sum(v for i, row in enumerate(m) for j, v in enumerate(row) if i != j)
