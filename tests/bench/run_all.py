#!/usr/bin/env python3
"""Every benchmark of quicsteer in one run, one table at the end: HTTP/3
figures of quicsteer (DPDK af_packet) against Debian's ngtcp2 example
server gtlsserver (kernel UDP sockets), both loaded by the same client
(quicsteer-load) over the same veth pair between two network namespaces,
then the receive-stage and net_null figures of tests/bench.

    sudo tests/bench/run_all.py [--build DIR] [--duration 5] [--only 1,3]
                                [--pmds af_packet,af_xdp,virtio_user]
                                [--results-json FILE] [--plot DIR]
    tests/bench/run_all.py --replot FILE --plot DIR

Items (numbers as in the table):
 1 small responses: requests/s, 64-byte bodies, 1 quicsteer worker
 2 new connections/s (one request each), also with --resume (0-RTT)
 3 one connection downloading 100 MiB: MB/s
 4 memory per idle connection with N (10,000) connections open: VmRSS
   after - before, divided by N
 5 scaling: requests/s of quicsteer with 1, 2 and 4 workers
 6 migration at scale: 1,000 connections, a quarter rebinding
   mid-transfer, quicsteer 4 workers, --steer cid and --steer off
 7 tests/bench: bench_steer and bench_null.sh summary lines
 8 instructions per request, per new connection and per MiB of one
   download (callgrind, user space; perf has no hardware counters in
   this guest when `perf stat -e instructions true` says so)

With --pmds, items 1, 3 and 6 (--steer cid) run for quicsteer once more on
each PMD named besides af_packet (net_af_xdp; net_virtio_user behind the
rig's vhost-user vSwitch, on hugepages), each in a rig of its own opened
for the measurement and closed after it, and a second table ("per PMD")
sets each PMD's figure beside af_packet's.

With --peer NAME=PATH (NAME h2o or nginx; repeatable), items 1 to 4 and 8 run
also against that server, started from PATH (a local build with HTTP/3:
neither is a Debian package with it; this script never builds one) with
a configuration written here: 1 worker thread or process, the same
certificate, document root, address and port as gtlsserver, no access
log. Its rounds alternate with the others', and a third table ("peers")
sets each figure beside quicsteer's.

With --results-json FILE, every figure of the run goes to FILE as JSON
(numbers, units, rounds, the machine; RESULTS.md section "Charts"); with
--plot DIR, tests/bench/plot.py draws them as PNG charts into DIR (and
writes DIR/results.json); --replot FILE --plot DIR draws a saved FILE
again without running anything (no root). Charts need Debian's
python3-matplotlib.

A benchmark, not a test: it prints figures, never fails on a number, and
is not registered with meson. Needs root (namespaces). Addresses only
from 198.18.0.0/15; every wait bounded; namespaces, processes and DPDK
runtime directories removed on exit (also on SIGTERM or an error).
Results and their reading: tests/bench/RESULTS.md.
"""
import argparse
import importlib.util
import json
import os
import platform
import re
import resource
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))
sys.path.insert(0, str(REPO / "tests" / "load"))

import rig as riglib  # noqa: E402
from rig import (CLIENT_V4, SERVER_V4, Rig, TestFailure, delta, total)  # noqa: E402
from loadlib import die_with_parent, make_cert  # noqa: E402

PORT = 4433
BIG = 100 << 20                      # item 3: bytes of the download
CG_BULK = 16 << 20                   # item 8: the download under callgrind
# item 4: connections per quicsteer-load, each from its own address
# (--local): under the ephemeral port range of one address (32768-60999)
# and a socket each under the limit on open files
IDLE_CONNS_PER_CLIENT = 20000
MIGRATION_PATH_BYTES = 32768          # item 6: each response
PMD_ITEMS = (1, 3, 6)                 # the items --pmds repeats per PMD
# rig names per PMD (the first 4 characters name the veth ends)
PMD_RIG_NAMES = {"af_packet": "bench", "af_xdp": "bxdp", "virtio_user": "bvirtio"}
PEER = "gtlsserver"                   # the main table's other server
RESULTS_FORMAT, RESULTS_VERSION = "quicsteer-bench-results", 1
PERCENTILES = ("p50", "p90", "p99")   # of quicsteer-load's latency histograms

# ---- helpers ---------------------------------------------------------------


def sh(argv, timeout=30, check=True, **kw):
    """Runs a command to completion (bounded); CompletedProcess, text."""
    p = subprocess.run([str(a) for a in argv], capture_output=True, text=True,
                       timeout=timeout, **kw)
    if check and p.returncode != 0:
        raise TestFailure(f"{' '.join(map(str, argv))} exited {p.returncode}: "
                          f"{(p.stderr or p.stdout).strip()[-1500:]}")
    return p


def cpu_seconds(pid):
    """utime + stime of a process (all its threads), seconds; None if gone."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_group(argv, timeout, env=None):
    """Runs a program in a process group of its own; on a timeout or an
    exception here (SIGTERM), the whole group gets SIGTERM (its traps
    clean up), then SIGKILL. (rc, stdout, stderr)."""
    p = subprocess.Popen([str(a) for a in argv], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env,
                         start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
        return p.returncode, out, err
    except BaseException:
        for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
            try:
                os.killpg(p.pid, sig)
            except ProcessLookupError:
                break
            try:
                p.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
        raise


def vm_rss_kib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise TestFailure(f"no VmRSS for pid {pid}")


def stop_process(proc, timeout):
    """SIGINT (gtlsserver, h2o and nginx stop on it), then SIGTERM, then
    SIGKILL; each bounded."""
    if proc is None or proc.poll() is not None:
        return
    for stop, wait in ((lambda: proc.send_signal(signal.SIGINT), timeout),
                       (proc.terminate, 5), (proc.kill, 5)):
        stop()
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


class Peer:
    """A --peer server: NAME=PATH of a local build with HTTP/3, run with a
    configuration of ours that serves the site as gtlsserver does."""

    NAMES = ("h2o", "nginx")

    def __init__(self, spec):
        name, sep, path = spec.partition("=")
        if not sep or name not in self.NAMES:
            raise ValueError(f"--peer {spec!r}: NAME=PATH with NAME one of "
                             f"{', '.join(self.NAMES)}")
        if not os.access(path, os.X_OK):
            raise ValueError(f"--peer {spec!r}: {path} is not an executable")
        self.name, self.path = name, str(Path(path).resolve())

    def argv(self, tmp, site):
        conf = Path(tmp) / f"{self.name}.conf"
        if self.name == "h2o":
            # max-connections: h2o takes no more than RLIMIT_NOFILE's hard limit
            # (under valgrind 12 fewer than its 20000 here)
            conf.write_text(
                f"user: root\nnum-threads: 1\nmax-connections: 16384\n"
                f"listen:\n  host: {SERVER_V4}\n  port: {PORT}\n  type: quic\n"
                f"  ssl:\n    certificate-file: {site['cert']}\n"
                f"    key-file: {site['key']}\n"
                # private-key operations in this process, not a forked
                # helper that neither CPU time nor callgrind would count
                f"    neverbleed: off\n"
                f"hosts:\n  default:\n    paths:\n      /:\n"
                f"        file.dir: {site['docroot']}\n")
            return [self.path, "-c", conf]
        conf.write_text(
            f"daemon off;\nmaster_process off;\nworker_processes 1;\n"
            f"pid {tmp}/nginx.pid;\nerror_log {tmp}/nginx-error.log warn;\n"
            f"events {{ worker_connections 65536; }}\n"
            f"http {{\n  access_log off;\n"
            f"  keepalive_requests 1000000000;\n  keepalive_timeout 120s;\n"
            f"  client_body_temp_path {tmp}/nginx-body;\n"
            f"  server {{\n    listen {SERVER_V4}:{PORT} quic;\n"
            f"    http3 on;\n    ssl_certificate {site['cert']};\n"
            f"    ssl_certificate_key {site['key']};\n"
            f"    ssl_early_data on;\n    root {site['docroot']};\n  }}\n}}\n")
        return [self.path, "-p", tmp, "-c", conf]

    def command(self):
        return f"{self.path} (configuration: {self.name}.conf in TMP)"


def machine():
    model = "?"
    for line in sh(["lscpu"]).stdout.splitlines():
        if line.startswith("Model name:"):
            model = line.split(":", 1)[1].strip()
    return model, os.cpu_count(), platform.release()


def loadavg():
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def fmt(v, unit=""):
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    if abs(v) >= 100:
        s = f"{v:,.0f}"
    elif abs(v) >= 10:
        s = f"{v:.1f}"
    else:
        s = f"{v:.2f}"
    return s + unit


class Table:
    """Rows of (item, measure, quicsteer, gtlsserver, ratio, note), or of
    the columns head names (add_row); and the figures behind them as
    numbers, for --results-json and --plot (figure)."""

    HEAD = ("#", "measure", "quicsteer", PEER, "q/g", "note")

    def __init__(self, head=HEAD):
        self.head = head
        self.rows = []
        self.notes = []
        self.figures = []

    def figure(self, item, measure, qs, peer, key, unit, labels=None, peer_name=PEER,
               note="", **extra):
        """One figure of the results file (RESULTS.md, "Charts"): key and
        labels name it, qs and peer are numbers or None; extra holds
        quicsteer_rounds, peer_rounds (a value per round) or fastest."""
        self.figures.append(dict(item=int(item), key=key, labels=labels or {},
                                 measure=measure.strip(), unit=unit, quicsteer=qs,
                                 peer=peer, peer_name=peer_name, note=note.strip(),
                                 **extra))

    def add_row(self, *cells):
        self.rows.append(tuple(map(str, cells)))
        print("  => " + " | ".join(self.rows[-1]), flush=True)

    def add(self, item, measure, qs=None, gt=None, note="", unit="", ratio=None,
            fig=None):
        """A row; fig: the figure's key, unit and more (figure), if any."""
        if fig is not None:
            self.figure(item, measure, qs, gt, note=note, **fig)
        if ratio is None and isinstance(qs, (int, float)) and isinstance(gt, (int, float)) \
                and gt:
            ratio = qs / gt
        row = (item, measure, fmt(qs, unit), fmt(gt, unit),
               "-" if ratio is None else f"{ratio:.2f}", note)
        self.rows.append(row)
        print("  => " + " | ".join(row), flush=True)

    def print(self, title=None):
        """The table and its notes on stdout, after a blank line and the
        title if any."""
        if title:
            print()
            print(title)
        print()
        print(self.render())
        for n in self.notes:
            print(n)

    def render(self):
        head = self.head
        widths = [max(len(str(r[i])) for r in [head, *self.rows])
                  for i in range(len(head))]
        out = ["| " + " | ".join(h.ljust(w) for h, w in zip(head, widths)) + " |",
               "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
        for r in self.rows:
            out.append("| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |")
        return "\n".join(out)


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ---- the rig: one veth pair, the server side in kernel or DPDK mode --------


class BenchRig(Rig):
    """tests/integration/rig.py's namespaces and quicsteer (Rig.start, on
    the rig's pmd, --no-huge unless hugepages), plus: the server veth can
    carry kernel addresses for gtlsserver (kernel mode) or none for
    quicsteer (DPDK mode); quicsteer starts with the EAL memory and a
    wrapper (valgrind) of our choice, from the build directory build."""

    def __init__(self, name, build, pmd="af_packet", hugepages=False):
        super().__init__(name, workers=1, start=False, port=PORT, pmd=pmd,
                         hugepages=hugepages)
        self.build = Path(build)
        # Rig.start runs $QUICSTEER (rig.quicsteer_binary)
        os.environ["QUICSTEER"] = str(self.build / "app" / "quicsteer" / "quicsteer")
        self.gtls = None
        self.peer_proc = None

    def _cleanup(self, failed):
        self.stop_gtlsserver(timeout=5)
        self.stop_peer(timeout=5)
        super()._cleanup(failed)

    # -- server side modes --

    def kernel_mode(self):
        sh(["ip", "-n", self.server_ns, "addr", "replace", f"{SERVER_V4}/24",
            "dev", self.server_if])

    def dpdk_mode(self):
        sh(["ip", "-n", self.server_ns, "addr", "flush", "dev", self.server_if])

    # -- gtlsserver --

    def start_kernel_server(self, name, argv, bind_timeout):
        """A server on kernel sockets (gtlsserver, a --peer) in the server
        namespace, its output in the rig's directory; returns the process
        once its UDP port is bound."""
        self.kernel_mode()
        log_path = self._tmp / f"{name}-{time.monotonic_ns()}.log"
        with open(log_path, "wb") as f:
            proc = subprocess.Popen(["ip", "netns", "exec", self.server_ns, *argv],
                                    stdout=f, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, preexec_fn=die_with_parent)
        deadline = time.monotonic() + bind_timeout
        while True:
            if proc.poll() is not None:
                raise TestFailure(f"{name} exited {proc.returncode}: "
                                  f"{log_path.read_text(errors='replace')[-2000:]}")
            out = sh(["ip", "netns", "exec", self.server_ns, "ss", "-Hlun",
                      f"sport = :{PORT}"], check=False).stdout
            if f":{PORT}" in out:
                return proc
            if time.monotonic() > deadline:
                stop_process(proc, 5)
                raise TestFailure(f"{name} did not bind its port in time: "
                                  f"{log_path.read_text(errors='replace')[-2000:]}")
            time.sleep(0.05)

    def start_gtlsserver(self, site, args=(), wrapper=()):
        self.gtls = self.start_kernel_server(
            "gtlsserver", [*wrapper, "gtlsserver", *args, SERVER_V4, str(PORT),
                           site["key"], site["cert"], "-d", site["docroot"], "-q"],
            60 if wrapper else 10)
        return self.gtls

    def stop_gtlsserver(self, timeout=10):
        stop_process(self.gtls, timeout)
        self.gtls = None

    # -- --peer servers (h2o, nginx) --

    def start_peer(self, peer, site, wrapper=()):
        """peer (a Peer) with its configuration written for site."""
        argv = [*wrapper, *peer.argv(self._tmp, site)]
        self.peer_proc = self.start_kernel_server(peer.name, argv, 60 if wrapper else 20)
        return self.peer_proc

    def stop_peer(self, timeout=10):
        stop_process(self.peer_proc, timeout)
        self.peer_proc = None

    # -- quicsteer --

    def start_qs(self, workers=1, config="", app_args=(), mem=512, wrapper=(),
                 ready_timeout=20.0):
        """quicsteer on the rig's PMD (Rig.start: a queue pair per worker;
        af_xdp: the pipeline layout behind the rig's I/O lcore for more
        than one worker; virtio_user: the vSwitch) with a fresh prefix."""
        self.dpdk_mode()
        self.start(workers=workers, config=config, app_args=app_args, wrapper=wrapper,
                   memory_mib=mem, ready_timeout=ready_timeout)
        self.qs_argv = self.argv[4:]          # without `ip netns exec NS`

    def stop_qs(self, timeout=20.0):
        if self.proc is None or self.proc.poll() is not None:
            self.proc = None
            return None
        try:
            rc, _ = self.stop(signal.SIGTERM, timeout)
        except TestFailure:
            self.proc.kill()
            self.proc.wait(5)
            rc = None
        self.proc = None
        riglib.remove_runtime_dir(self.prefix)
        return rc

    def qs_stats(self):
        return self.telemetry("/quicsteer/stats")

    # -- the client --

    def client_argv(self, args):
        return ["ip", "netns", "exec", self.client_ns,
                str(self.build / "app" / "quicsteer-load" / "quicsteer-load"),
                *map(str, args)]

    def load(self, args, timeout=60):
        """quicsteer-load --json in the client namespace; the report."""
        argv = self.client_argv([*args, "--json"])
        try:
            p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                               preexec_fn=die_with_parent)
        except subprocess.TimeoutExpired as e:
            raise TestFailure(f"quicsteer-load did not end within {timeout} s") from e
        try:
            rep = json.loads(p.stdout)
        except ValueError as e:
            raise TestFailure(f"quicsteer-load exit {p.returncode}, no JSON: "
                              f"{p.stdout[-500:]} {p.stderr[-1500:]}") from e
        rep["_rc"] = p.returncode
        rep["_cmd"] = "quicsteer-load " + " ".join(shlex.quote(str(a)) for a in args)
        return rep


# ---- the items -------------------------------------------------------------


class Bench:
    def __init__(self, args, rig, site, qs_cert, table):
        self.a, self.rig, self.site, self.qs_cert, self.t = args, rig, site, qs_cert, table
        self.commands = []
        self.dur = str(args.duration)

    # kinds: "qs" (quicsteer), "gt" (gtlsserver) or a --peer's name
    # URLs: the others serve files, quicsteer has /bytes/N
    def url(self, kind, n=64):
        if kind != "qs":
            return f"https://{SERVER_V4}:{PORT}/{n}.bin"
        return f"https://{SERVER_V4}:{PORT}/bytes/{n}"

    def ca(self, kind):
        return ["--ca", self.site["cert"] if kind != "qs" else self.qs_cert]

    def anon(self, text):
        """text with the run's temporary directories written TMP (the
        site's lives in the first rig's, a per-PMD rig has its own)."""
        for tmp in {str(self.site["tmp"]), str(self.rig._tmp)}:
            text = text.replace(tmp, "TMP")
        return text

    def note_cmd(self, what, rep):
        self.commands.append((what, self.anon(rep["_cmd"])))

    def gt_start(self, args=()):
        self.rig.stop_qs()
        self.rig.stop_peer()
        self.rig.stop_gtlsserver()
        self.rig.start_gtlsserver(self.site, args=list(args))
        self.commands.append(("gtlsserver", "gtlsserver " + " ".join(
            [*args, SERVER_V4, str(PORT), "KEY", "CERT", "-d", "DOCROOT", "-q"])))

    def qs_start(self, workers=1, config="", app_args=(), mem=512, wrapper=(),
                 ready_timeout=20.0):
        self.rig.stop_gtlsserver()
        self.rig.stop_peer()
        self.rig.stop_qs()
        self.rig.start_qs(workers, config, ["--cert", self.qs_cert, "--key", self.qs_key,
                                            *app_args], mem, wrapper, ready_timeout)
        pmd = "" if self.rig.pmd == "af_packet" else f" {self.rig.pmd}"
        self.commands.append((f"quicsteer {workers}w{pmd}",
                              self.anon(" ".join(self.rig.qs_argv))))
        argv = self.rig.qs_argv
        ini = argv[argv.index("--config") + 1] if "--config" in argv else None
        keys = [ln.strip() for ln in Path(ini).read_text().splitlines()
                if ln.strip()] if ini else []
        if keys:
            self.commands.append((f"quicsteer {workers}w{pmd} --config", "; ".join(keys)))
        if self.rig.vswitch is not None:
            self.commands.append((f"vSwitch {self.rig.vswitch.queues}q",
                                  self.anon(" ".join(self.rig.vswitch.argv[6:]))))

    # -- 1, 2, 3, 5: throughput-like runs against one server ----------------

    def small_args(self):
        return ["-c", 16, "-m", 8, "-t", self.a.client_threads, "-D", self.dur]

    def peer_start(self, peer, wrapper=()):
        self.rig.stop_qs()
        self.rig.stop_gtlsserver()
        self.rig.stop_peer()
        self.rig.start_peer(peer, self.site, wrapper)
        self.commands.append((peer.name, " ".join(wrapper[:2]) + (" " if wrapper else "")
                              + peer.command()))

    def server_pid(self, kind):
        p = {"qs": self.rig.proc, "gt": self.rig.gtls}.get(kind, self.rig.peer_proc)
        return p.pid if p is not None and p.poll() is None else None

    def server_drops(self, kind):
        """Datagrams the server side dropped for want of room: gtlsserver's
        UDP receive buffer (UdpRcvbufErrors of the server namespace);
        quicsteer's RX ring (imissed), TX and inbox drops. The same
        namespace counter for a --peer."""
        try:
            if kind != "qs":
                snmp = sh(["ip", "netns", "exec", self.rig.server_ns, "cat",
                           "/proc/net/snmp"]).stdout.splitlines()
                udp = [l.split() for l in snmp if l.startswith("Udp:")]
                return int(udp[1][udp[0].index("RcvbufErrors")])
            st = self.rig.qs_stats()
            eth = self.rig.telemetry("/ethdev/stats,0")
            return (eth["imissed"] + st["drop_tx_full"] + st["drop_tx_nombuf"] +
                    st["quic_forward_dropped"])
        except (TestFailure, OSError, ValueError, KeyError, IndexError):
            return None

    def vswitch_drops(self, vs_pid):
        """pmd virtio_user: frames the vSwitch lost, None without one:
        missed on receive by its two ports (imissed + ierrors +
        rx_nombuf) plus received but not sent on by io forwarding (one
        port's ipackets - the other's opackets; up to a burst per queue
        may be in flight when read)."""
        if vs_pid is None:
            return None
        try:
            st = self.rig.vswitch.stats()
        except (TestFailure, OSError, ValueError):
            return None
        ap, vh = st["af_packet"], st["vhost"]
        return (sum(x["imissed"] + x["ierrors"] + x["rx_nombuf"] for x in (ap, vh)) +
                ap["ipackets"] - vh["opackets"] + vh["ipackets"] - ap["opackets"])

    def timed_load(self, kind, args, timeout):
        """A load run; the report gets the server's CPU use (utime+stime
        over wall time, 1.0 = one CPU busy) as server_cpu, and the
        datagrams it dropped as server_drops."""
        pid = self.server_pid(kind)
        vs = self.rig.vswitch
        vs_pid = vs.proc.pid if kind == "qs" and vs is not None and vs.alive() else None
        d0, vd0 = self.server_drops(kind), self.vswitch_drops(vs_pid)
        c0, v0, t0 = cpu_seconds(pid), cpu_seconds(vs_pid), time.monotonic()
        rep = self.rig.load(args, timeout=timeout)
        c1, v1, t1 = cpu_seconds(pid), cpu_seconds(vs_pid), time.monotonic()
        d1, vd1 = self.server_drops(kind), self.vswitch_drops(vs_pid)
        rep["vswitch_drops"] = vd1 - vd0 if vd0 is not None and vd1 is not None else None
        rep["server_cpu"] = (c1 - c0) / (t1 - t0) if c0 is not None and c1 is not None \
            else None
        # pmd virtio_user: the vSwitch's (dpdk-testpmd's) CPU use, apart
        rep["vswitch_cpu"] = (v1 - v0) / (t1 - t0) if v0 is not None and v1 is not None \
            else None
        rep["server_drops"] = d1 - d0 if d0 is not None and d1 is not None else None
        return rep

    def run_small(self, kind):
        rep = self.timed_load(kind, [*self.ca(kind), *self.small_args(), self.url(kind, 64)],
                              timeout=self.a.duration + 30)
        self.note_cmd(f"1 small {kind}", rep)
        return rep

    def run_conns(self, kind, resume):
        extra = ["--resume"] if resume else []
        rep = self.timed_load(kind, [*self.ca(kind), "-c", 32, "-m", 1,
                                     "-t", self.a.client_threads, "--conn-requests", 1,
                                     *extra, "-D", self.dur, self.url(kind, 64)],
                              timeout=self.a.duration + 30)
        self.note_cmd(f"2 conns {kind}{' resume' if resume else ''}", rep)
        return rep

    def run_big(self, kind):
        rates = []
        for _ in range(self.a.big_runs):
            rep = self.rig.load([*self.ca(kind), "-c", 1, "-n", 1, "--timeout", 30,
                                 self.url(kind, BIG)], timeout=90)
            if rep["requests"]["completed"] != 1:
                raise TestFailure(f"100 MiB download failed: {rep['errors']} "
                                  f"{rep.get('error_examples')}")
            secs = rep["latency_us"]["request"]["max"] / 1e6
            rates.append(BIG / secs / 1e6)
        self.note_cmd(f"3 big {kind}", rep)
        return rates

    def warm_up(self, kind):
        """A second of load after a start, so that no figure includes
        first-time costs (page faults, lazily built state)."""
        self.rig.load([*self.ca(kind), *self.small_args()[:-2], "-D", 1,
                       self.url(kind, 64)], timeout=30)

    def per_server_block(self, kind, res, items=(1, 2, 3)):
        """Items 1, 2 and 3 (those of items wanted) against one server
        that is already running; appends this round's figures to the lists
        in res."""
        def want(item):
            return item in items and self.want(item)

        self.guard("warm-up", lambda: self.warm_up(kind))
        if want(1):
            res.setdefault("small", []).append(self.guard("1", lambda: self.run_small(kind)))
        if want(2):
            res.setdefault("conns", []).append(
                self.guard("2", lambda: self.run_conns(kind, False)))
            res.setdefault("resume", []).append(
                self.guard("2r", lambda: self.run_conns(kind, True)))
        if want(3):
            r = self.guard("3", lambda: self.run_big(kind))
            if isinstance(r, list):
                res.setdefault("big", []).extend(r)
            else:
                res.setdefault("big_errors", []).append(r)

    # -- 4: memory per idle connection --------------------------------------

    def idle_hold_s(self):
        """How long item 4's connections stay open: the ramp's bound, the
        idle time before the second sample and time to measure; servers
        keep idle connections longer."""
        return int(self.a.idle_timeout + self.a.idle_after) + 30

    def idle_clients(self, n):
        """How item 4's n connections are spread: one quicsteer-load per
        client address (198.18.0.2, then .10, .11, ... added to the client
        veth), each with at most IDLE_CONNS_PER_CLIENT of them. A list of
        (address, connections)."""
        per = IDLE_CONNS_PER_CLIENT
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        if hard != resource.RLIM_INFINITY:
            per = min(per, hard - 100)       # a socket each, and a few more
        k = -(-n // per)
        addrs = [CLIENT_V4] + [f"198.18.0.{10 + i}" for i in range(k - 1)]
        for addr in addrs[1:]:
            sh(["ip", "-n", self.rig.client_ns, "addr", "replace", f"{addr}/24",
                "dev", self.rig.client_if])
        return [(addr, n // k + (i < n % k)) for i, addr in enumerate(addrs)]

    def run_idle(self, kind, pid):
        n = self.a.idle_conns
        hold = self.idle_hold_s()
        clients = self.idle_clients(n)
        # warm up: first handshakes, first allocations of every kind
        self.rig.load([*self.ca(kind), "-c", 4, "-n", 40, self.url(kind, 64)], timeout=30)
        time.sleep(1.0)
        before = vm_rss_kib(pid)
        heap_before = self.heap_alloc() if kind == "qs" else 0
        mem_before = self.rig.telemetry("/quicsteer/memory") if kind == "qs" else None
        procs = []
        t0 = time.monotonic()
        for i, (addr, conns) in enumerate(clients):
            args = [*self.ca(kind), "-c", conns, "-n", conns, "-m", 1,
                    "-t", self.a.client_threads,
                    "--max-pending", max(1, 64 // len(clients)),
                    "--timeout", hold + 10, "--hold", hold,
                    *(["--local", addr] if len(clients) > 1 else []),
                    self.url(kind, 64)]
            if i == 0:
                self.commands.append((f"4 idle {kind}", (
                    "quicsteer-load " + " ".join(map(str, args)) + " --json   (SIGINT "
                    "once held" + (f"; {len(clients)} of them, one per address"
                                   if len(clients) > 1 else "") + ")"
                ).replace(str(self.rig._tmp), "TMP")))
            errf = self.rig._tmp / f"idle-{kind}-{i}.err"
            with open(errf, "w") as err:
                procs.append((subprocess.Popen(
                    self.rig.client_argv([*args, "--json"]), stdout=subprocess.PIPE,
                    stderr=err, text=True, preexec_fn=die_with_parent), errf))
        held = None
        try:
            deadline = t0 + self.a.idle_timeout
            counts = [None] * len(procs)
            while time.monotonic() < deadline:
                for i, (p, errf) in enumerate(procs):
                    m = re.search(r"holding (\d+) connections", errf.read_text())
                    if m:
                        counts[i] = int(m.group(1))
                if None not in counts or any(p.poll() is not None for p, _ in procs):
                    break
                time.sleep(0.2)
            if None not in counts:
                held = sum(counts)
            ramp = time.monotonic() - t0
            if held is None:
                raise TestFailure(f"{n} connections not held within "
                                  f"{self.a.idle_timeout} s: " + " | ".join(
                                      e.read_text()[-600:] for _, e in procs))
            time.sleep(2.0)          # idle: ACKs and timers settle
            after, server_conns, libs = self.idle_sample(kind, pid, mem_before)
            heap = self.heap_alloc() - heap_before if kind == "qs" else None
            # the steady state: what an idle connection still holds later
            time.sleep(self.a.idle_after)
            after_later, conns_later, libs_later = self.idle_sample(kind, pid, mem_before)
        finally:
            reps = []
            for p, _ in procs:
                if p.poll() is None:
                    p.send_signal(signal.SIGINT)
            for p, _ in procs:
                try:
                    out, _ = p.communicate(timeout=60)
                except subprocess.TimeoutExpired:
                    p.kill()
                    out, _ = p.communicate(timeout=10)
                try:
                    reps.append(json.loads(out))
                except ValueError:
                    reps.append({})
        failed = sum(r.get("connections", {}).get("failed", 0) for r in reps)
        errors = {}
        for r in reps:
            for k, v in (r.get("errors") or {}).items():
                errors[k] = errors.get(k, 0) + v
        per_conn = (after - before) * 1024 / held if held else None
        per_conn_later = (after_later - before) * 1024 / held if held else None
        return dict(before=before, after=after, held=held, per_conn=per_conn,
                    heap_per_conn=heap / held if heap is not None and held else None,
                    libs_per_conn={k: v / held for k, v in libs.items()}
                    if libs is not None and held else {},
                    ramp_s=ramp, server_conns=server_conns,
                    after_later=after_later, per_conn_later=per_conn_later,
                    server_conns_later=conns_later,
                    libs_per_conn_later={k: v / held for k, v in libs_later.items()}
                    if libs_later is not None and held else {},
                    failed=failed, errors=errors, clients=len(procs))

    def idle_sample(self, kind, pid, mem_before):
        """The server's VmRSS (KiB); for quicsteer also its open
        connections and the heap bytes by owner since mem_before."""
        rss = vm_rss_kib(pid)
        if kind != "qs":
            return rss, None, None
        conns = self.rig.qs_stats().get("quic_conn_active")
        mem = self.rig.telemetry("/quicsteer/memory")
        keys = ("ngtcp2", "nghttp3", "libc_heap_in_use", "lcore_alloc_in_use",
                "lcore_alloc_spans")
        libs = {k: mem.get(k, 0) - mem_before.get(k, 0) for k in keys}
        # the workers' allocators hold the two libraries' objects (all up
        # to 64 KiB: all of them) and quicsteer's connection structs;
        # libc's heap GnuTLS's and the rest
        libs["quicsteer's own"] = (libs.pop("lcore_alloc_in_use") -
                                   libs["ngtcp2"] - libs["nghttp3"])
        libs["GnuTLS and other libc"] = libs.pop("libc_heap_in_use")
        libs["lcore allocator spans (ngtcp2, nghttp3, quicsteer)"] = \
            libs.pop("lcore_alloc_spans")
        return rss, conns, libs

    def heap_alloc(self):
        """Bytes allocated from DPDK's heap (rte_malloc) on socket 0."""
        info = self.rig.telemetry("/eal/heap_info,0")
        return int(info["Alloc_size"])

    # -- 6: migration at scale ----------------------------------------------

    def run_migration(self, steer):
        r = self.rig
        before = r.counters()
        n_conns = self.a.mig_conns
        args = [*self.ca("qs"), "-c", n_conns, "-n", 4 * n_conns, "-m", 2,
                "-t", self.a.client_threads, "--rebind-every", 2,
                "--rebind-fraction", 0.25, "--max-pending", 64, "--timeout", 10,
                self.url("qs", MIGRATION_PATH_BYTES)]
        rep = self.timed_load("qs", args, timeout=120)
        self.note_cmd(f"6 migration steer {steer}", rep)
        d = delta(before, r.wait_quiet(timeout=10))
        return rep, {k: total(d, k) for k in
                     ("quic_forwarded_in", "quic_forwarded_out", "quic_forward_dropped",
                      "quic_stateless_resets_sent", "quic_path_migrations",
                      "quic_handshakes_completed", "h3_responses_2xx")}

    def run_migration_gt(self):
        n_conns = self.a.mig_conns
        args = [*self.ca("gt"), "-c", n_conns, "-n", 4 * n_conns, "-m", 2,
                "-t", self.a.client_threads, "--rebind-every", 2,
                "--rebind-fraction", 0.25, "--max-pending", 64, "--timeout", 10,
                self.url("gt", MIGRATION_PATH_BYTES)]
        rep = self.timed_load("gt", args, timeout=120)
        self.note_cmd("6 migration gtlsserver", rep)
        return rep, {}

    # -- 8: instructions per request (callgrind) -----------------------------

    def callgrind_measure(self, pid, out_prefix, kind):
        """Item 8 against a server running under callgrind (warmed up):
        instructions over windows between `callgrind_control -z` and
        `-d`: (a) keep-alive requests, (b) as long idle, (c) new
        connections of one request each, (d) one connection downloading
        CG_BULK bytes. A dict of figures."""
        base = Path(out_prefix)

        def window(what, load_args=None, idle_s=0.0):
            sh(["callgrind_control", "-z", pid], timeout=60)
            t0 = time.monotonic()
            rep = None
            if load_args is not None:
                rep = self.rig.load(load_args, timeout=300)
                self.note_cmd(f"8 callgrind {kind} {what}", rep)
            else:
                time.sleep(idle_s)
            secs = time.monotonic() - t0
            sh(["callgrind_control", "-d", pid], timeout=60)
            # callgrind_control -d writes OUT.1, OUT.2, ... (OUT at exit)
            dumps = [p for p in base.parent.glob(base.name + ".*")
                     if p.suffix[1:].isdigit()]
            if not dumps:
                raise TestFailure("no callgrind dump written")
            last = max(dumps, key=lambda p: int(p.suffix[1:]))
            if self.a.keep_callgrind:
                shutil.copy(last, Path(self.a.keep_callgrind) / f"{kind}-{what}-{last.name}")
            return callgrind_total(last), rep, secs

        ca = self.ca(kind)
        url = self.url(kind, 64)
        ir_k, rep_k, secs_k = window("keepalive", [*ca, "-c", 4, "-m", 8, "-t", 1, "-n",
                                                   self.a.cg_requests, "--timeout", 30, url])
        ir_i, _, secs_i = window("idle", idle_s=secs_k)
        ir_n, rep_n, _ = window("newconn", [*ca, "-c", 4, "-m", 1, "-t", 1,
                                            "--conn-requests", 1, "-n", self.a.cg_conns,
                                            "--timeout", 30, url])
        ir_b, rep_b, secs_b = window("bulk", [*ca, "-c", 1, "-n", 1, "--timeout", 120,
                                              self.url(kind, CG_BULK)])
        reqs = rep_k["requests"]["completed"]
        conns = rep_n["connections"]["succeeded"]
        bulk_ok = rep_b["requests"]["completed"] == 1
        mib = CG_BULK / (1 << 20)
        idle_rate = ir_i / secs_i
        return dict(gross=ir_k / reqs if reqs else None,
                    net=max(ir_k - idle_rate * secs_k, 0) / reqs if reqs else None,
                    idle_per_s=idle_rate, reqs=reqs, secs=secs_k,
                    per_conn=ir_n / conns if conns else None, conns=conns,
                    per_mib=ir_b / mib if bulk_ok else None,
                    per_mib_net=max(ir_b - idle_rate * secs_b, 0) / mib if bulk_ok
                    else None,
                    failed=(rep_k["requests"]["failed"] + rep_n["requests"]["failed"] +
                            rep_b["requests"]["failed"]))

    # -- driver helpers ------------------------------------------------------

    def want(self, item):
        return not self.a.only or item in self.a.only

    def guard(self, what, fn):
        try:
            return fn()
        except (TestFailure, OSError, subprocess.SubprocessError) as e:
            log(f"item {what} failed: {e}")
            return {"error": str(e).splitlines()[0][:200]}


def callgrind_total(path):
    for line in Path(path).read_text(errors="replace").splitlines():
        if line.startswith("summary:") or line.startswith("totals:"):
            return int(line.split()[1])
    raise TestFailure(f"{path}: no totals line")


def rps(rep):
    if not isinstance(rep, dict) or "error" in rep:
        return None
    return rep["requests_per_s"]


def err_note(*reps):
    msgs = []
    for r in reps:
        if isinstance(r, dict) and "error" in r:
            msgs.append(r["error"])
        elif isinstance(r, dict) and "requests" in r:
            f = r["requests"]["failed"] + r["connections"]["failed"]
            if f:
                msgs.append(f"{r['requests']['failed']} requests / "
                            f"{r['connections']['failed']} connections failed "
                            f"{r.get('error_examples')}")
    return "; ".join(msgs)


def qs_config(max_conns=4096, idle_ms=30000, steer=None):
    text = f"[quic]\nmax_conns = {max_conns}\nidle_timeout_ms = {idle_ms}\n"
    if steer:
        text += f"[dataplane]\nsteer = {steer}\n"
    return text


def make_site(tmp):
    """One certificate for both servers; gtlsserver's document root holds
    the files quicsteer makes up under /bytes/N."""
    cert, key = make_cert(tmp, "bench")
    docroot = Path(tmp) / "docroot"
    docroot.mkdir()
    for n in (64, MIGRATION_PATH_BYTES, CG_BULK):
        (docroot / f"{n}.bin").write_bytes(os.urandom(n))
    with open(docroot / f"{BIG}.bin", "wb") as f:
        for _ in range(BIG >> 20):
            f.write(os.urandom(1 << 20))
    return {"cert": cert, "key": key, "docroot": str(docroot), "tmp": str(tmp)}


def valgrind(out):
    return ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"]


class PmdRuns:
    """quicsteer on the PMDs of --pmds besides af_packet (items 1, 3 and
    6): each measurement in a BenchRig of the PMD's own, opened for it and
    closed after it, so that no vSwitch (pmd virtio_user: dpdk-testpmd
    busy-polls a CPU) runs while anything else is measured. A PMD the
    machine cannot run (riglib.Skipped: no PMD library, no testpmd, no
    hugepages) is tried once and then reported as skipped with the reason."""

    def __init__(self, a, main_bench):
        self.a, self.main = a, main_bench
        self.pmds = [p for p in a.pmds if p != "af_packet"]
        self.res = {p: {} for p in self.pmds}
        self.commands = {p: [] for p in self.pmds}
        self.skipped = {}

    def each(self, what, fn):
        """fn(bench, results of the PMD) for every PMD not skipped."""
        for pmd in self.pmds:
            if pmd in self.skipped:
                continue
            log(f"quicsteer on {pmd}: {what}")
            m = self.main
            try:
                # virtio_user on hugepages, as in a VM (vhost-user shares
                # quicsteer's memory with the vSwitch); the others --no-huge
                with BenchRig(PMD_RIG_NAMES[pmd], m.rig.build, pmd=pmd,
                              hugepages=(pmd == "virtio_user")) as r:
                    b = Bench(self.a, r, m.site, m.qs_cert, m.t)
                    b.qs_key, b.a_build = m.qs_key, m.a_build
                    b.commands = self.commands[pmd]
                    fn(b, self.res[pmd])
            except riglib.Skipped as e:
                self.skipped[pmd] = str(e)
                log(f"quicsteer on {pmd}: SKIPPED: {e}")
            except (TestFailure, OSError, subprocess.SubprocessError) as e:
                self.res[pmd].setdefault("errors", []).append(
                    f"{what}: {str(e).splitlines()[0][:200]}")
                log(f"quicsteer on {pmd}: {what} failed: {e}")


def run_items(a, rig, table, pmd_table, peer_table):
    site = make_site(rig._tmp)
    b = Bench(a, rig, site, site["cert"], table)
    b.qs_key = site["key"]
    b.a_build = rig.build
    gt, qs = {}, {}
    peers = {p.name: {} for p in a.peers}
    pr = PmdRuns(a, b)
    pmd_items = [i for i in PMD_ITEMS if b.want(i)] if pr.pmds else []

    # ---- items 1, 2, 3 and 5: rounds alternating the servers, so that a
    # busy moment of the (shared) machine hits both alike; medians
    if b.want(1) or b.want(2) or b.want(3) or b.want(5):
        qs["scale"] = {1: [], 2: [], 4: []}
        for rnd in range(1, a.rounds + 1):
            if b.want(1) or b.want(2) or b.want(3):
                log(f"round {rnd}/{a.rounds}: gtlsserver, items 1-3")
                if b.guard("start", b.gt_start) is None:
                    b.per_server_block("gt", gt)
                for peer in a.peers:
                    log(f"round {rnd}/{a.rounds}: {peer.name}, items 1-3")
                    if b.guard("start", lambda: b.peer_start(peer)) is None:
                        b.per_server_block(peer.name, peers[peer.name])
                rig.stop_peer()
            log(f"round {rnd}/{a.rounds}: quicsteer 1 worker, items 1-3"
                + (" and 5" if b.want(5) else ""))
            if b.guard("start", lambda: b.qs_start(1)) is None:
                b.per_server_block("qs", qs)
                if b.want(5) and not b.want(1):
                    qs["scale"][1].append(b.guard("5", lambda: b.run_small("qs")))
            if 1 in pmd_items or 3 in pmd_items:
                rig.stop_qs()           # nothing else runs while a PMD is measured
                def pmd13(pb, res):
                    failed = pb.guard("start", lambda: pb.qs_start(1))
                    if failed is None:
                        pb.per_server_block("qs", res, items=(1, 3))
                        pb.rig.stop_qs()
                    else:
                        res.setdefault("errors", []).append(f"start: {failed['error']}")
                pr.each(f"round {rnd}/{a.rounds}, 1 worker, items "
                        f"{','.join(str(i) for i in pmd_items if i != 6)}", pmd13)
            if b.want(5) and b.want(1):
                qs["scale"][1] = qs.get("small", [])
            if b.want(5):
                for w in (2, 4):
                    log(f"round {rnd}/{a.rounds}: quicsteer {w} workers, item 5")
                    def one(w=w):
                        b.qs_start(w)
                        b.warm_up("qs")
                        return b.run_small("qs")
                    qs["scale"][w].append(b.guard("5", one))
        rig.stop_qs()

    # ---- gtlsserver (kernel sockets), the server namespace has 198.18.0.1
    if b.want(6):
        log("gtlsserver: item 6 (rebinding, a single socket: nothing to steer)")
        b.gt_start()
        gt["mig"] = b.guard("6", lambda: b.run_migration_gt())
    if b.want(4) and not a.idle_only_quicsteer:
        log(f"gtlsserver: item 4 ({a.idle_conns} idle connections)")
        b.gt_start([f"--timeout={b.idle_hold_s() + 40}s"])
        gt["idle"] = b.guard("4", lambda: b.run_idle("gt", rig.gtls.pid))
        rig.stop_gtlsserver()
        for peer in a.peers:
            log(f"{peer.name}: item 4 ({a.idle_conns} idle connections)")
            def idle_peer(peer=peer):
                b.peer_start(peer)
                return b.run_idle(peer.name, rig.peer_proc.pid)
            peers[peer.name]["idle"] = b.guard("4", idle_peer)
            rig.stop_peer()
    if b.want(8):
        log("gtlsserver under callgrind: item 8")
        def cg_gt():
            out = rig._tmp / "cg-gtlsserver.out"
            rig.stop_gtlsserver()
            rig.start_gtlsserver(site, wrapper=valgrind(out))
            b.commands.append(("8 gtlsserver", " ".join(valgrind("OUT")) +
                               " gtlsserver ..."))
            rig.load([*b.ca("gt"), "-c", 4, "-n", 40, b.url("gt", 64)], timeout=120)
            return b.callgrind_measure(rig.gtls.pid, out, "gt")
        gt["cg"] = b.guard("8", cg_gt)
        rig.stop_gtlsserver()
        for peer in a.peers:
            log(f"{peer.name} under callgrind: item 8")
            def cg_peer(peer=peer):
                out = rig._tmp / f"cg-{peer.name}.out"
                b.peer_start(peer, wrapper=valgrind(out))
                rig.load([*b.ca(peer.name), "-c", 4, "-n", 40, b.url(peer.name, 64)],
                         timeout=120)
                return b.callgrind_measure(rig.peer_proc.pid, out, peer.name)
            peers[peer.name]["cg"] = b.guard("8", cg_peer)
            rig.stop_peer()
    rig.stop_gtlsserver()

    # ---- quicsteer (af_packet), the server namespace has no address
    if b.want(4):
        log(f"quicsteer 1 worker: item 4 ({a.idle_conns} idle connections)")
        def idle():
            b.qs_start(1, qs_config(max_conns=a.idle_conns + 2000,
                                    idle_ms=(b.idle_hold_s() + 40) * 1000),
                       mem=2048, ready_timeout=60)
            return b.run_idle("qs", rig.proc.pid)
        qs["idle"] = b.guard("4", idle)
    if b.want(6):
        for steer in ("cid", "off"):
            log(f"quicsteer 4 workers, steer {steer}: item 6")
            def mig(steer=steer):
                b.qs_start(4, qs_config(steer=steer))
                return b.run_migration(steer)
            qs[f"mig_{steer}"] = b.guard("6", mig)
    if 6 in pmd_items:
        rig.stop_qs()
        rig.stop_gtlsserver()
        def pmd6(pb, res):
            def mig():
                pb.qs_start(4, qs_config(steer="cid"))
                return pb.run_migration("cid")
            res["mig_cid"] = pb.guard("6", mig)
            pb.rig.stop_qs()
        pr.each("4 workers, steer cid: item 6", pmd6)
    if b.want(8):
        log("quicsteer 1 worker under callgrind: item 8")
        def cg_qs():
            out = rig._tmp / "cg-quicsteer.out"
            b.qs_start(1, wrapper=valgrind(out), ready_timeout=180)
            rig.load([*b.ca("qs"), "-c", 4, "-n", 40, b.url("qs", 64)], timeout=120)
            return b.callgrind_measure(rig.proc.pid, out, "qs")
        qs["cg"] = b.guard("8", cg_qs)
    rig.stop_qs()

    # ---- tests/bench (no namespace: virtual PMDs)
    bench7 = {}
    if b.want(7):
        log("tests/bench: bench_steer, bench_null.sh: item 7")
        bench7 = b.guard("7", lambda: run_tests_bench(a, b))

    report(a, b, table, gt, qs, bench7)
    if a.peers:
        report_peers(a, b, peer_table, qs, peers)
    if pr.pmds:
        report_pmds(a, b, pmd_table, qs, pr)


def run_tests_bench(a, b):
    """Item 7: tests/bench's own programs; their summary lines."""
    out = {}
    steer = b.a_build / "tests" / "bench" / "bench_steer"
    if os.access(steer, os.X_OK):
        rc, so, se = run_group([steer], timeout=180)
        out["bench_steer"] = [l for l in so.splitlines()
                              if "cycles/packet" in l or l.startswith("ratio") or
                              l.startswith("forwarded") or STEER_FORMAT_RE.match(l)] or \
            [f"exit {rc}: {se[-300:]}"]
        b.commands.append(("7 bench_steer", str(steer)))
    else:
        out["bench_steer"] = [f"{steer} not built"]
    null = HERE / "bench_null.sh"
    qs_bin = b.a_build / "app" / "quicsteer" / "quicsteer"
    env = dict(os.environ, DURATION=str(a.null_duration))
    rc, so, se = run_group([null, qs_bin], timeout=8 * a.null_duration + 120, env=env)
    out["bench_null"] = [l.strip() for l in so.splitlines()
                         if "testpmd io:" in l or "skipped" in l] or \
        [f"exit {rc}: {(se or so)[-300:]}"]
    b.commands.append(("7 bench_null", f"DURATION={a.null_duration} {null} {qs_bin}"))
    return out


# bench_steer's summary lines: a CID format's heading, then a line per loop
STEER_FORMAT_RE = re.compile(r"^(\S.*) \((\d+)-byte CIDs\)$")
STEER_LOOP_RE = re.compile(r"^(.*?)\s+([\d.]+) cycles/packet\s+([\d.]+) Mpps\s+"
                           r"\(fastest pass ([\d.]+)\)")
STEER_LOOPS = {"baseline": "baseline", "steer (": "steer", "other workers": "drain",
               "steer and drain": "steer_and_drain"}
# bench_null.sh: "null  testpmd io:  44.78 Mpps   quicsteer:  31.06 Mpps ..."
NULL_RE = re.compile(r"^(\S+)\s+testpmd io:\s+([\d.]+) Mpps\s+quicsteer:\s+([\d.]+) Mpps")


def tests_bench_figures(t, bench7):
    """Item 7's figures from the summary lines run_tests_bench kept:
    bench_steer's cycles per packet per CID format and loop (median pass,
    the fastest apart), bench_null's Mpps against testpmd io."""
    cid_format = cid_len = None
    for line in bench7.get("bench_steer", []):
        m = STEER_FORMAT_RE.match(line)
        if m:
            cid_format, cid_len = m.group(1), int(m.group(2))
            continue
        m = STEER_LOOP_RE.match(line)
        loop = m and next((v for k, v in STEER_LOOPS.items() if m.group(1).startswith(k)),
                          None)
        if loop and cid_format:
            t.figure("7", f"bench_steer {cid_format}: {m.group(1)}", float(m.group(2)),
                     None, "steer_cycles", "cycles/packet", peer_name=None,
                     labels=dict(cid_format=cid_format, cid_len=cid_len, loop=loop),
                     fastest=float(m.group(4)))
    for line in bench7.get("bench_null", []):
        m = NULL_RE.match(line)
        if m:
            t.figure("7", f"bench_null {m.group(1)}: Mpps", float(m.group(3)),
                     float(m.group(2)), "null_mpps", "Mpps", peer_name="testpmd io",
                     labels=dict(pmd=m.group(1)))


def num(rep, *keys):
    if not isinstance(rep, dict) or "error" in rep:
        return None
    for k in keys:
        rep = rep[k]
    return rep


def latency_ms(rep, hist="request", p="p50"):
    """A percentile of one of quicsteer-load's latency histograms, ms."""
    v = num(rep, "latency_us", hist, p)
    return None if v is None else v / 1000


def per_round(reps, fn):
    return [fn(r) for r in reps or []]


def report(a, b, t, gt, qs, bench7):
    def med(reps, fn):
        """Median over the rounds of fn(report) and the per-round values."""
        vals = per_round(reps, fn)
        ok = [v for v in vals if v is not None]
        return (statistics.median(ok) if ok else None,
                "/".join(fmt(v) for v in vals) or "-")

    def fig(key, unit, fn=None, q=None, g=None, **labels):
        """Table.figure's arguments; with fn, the values per round of q and
        g (lists of load reports)."""
        d = dict(key=key, unit=unit, labels=labels)
        if fn is not None:
            d.update(quicsteer_rounds=per_round(q, fn), peer_rounds=per_round(g, fn))
        return d

    def latencies(item, q, g, hist, of, what):
        for p in PERCENTILES:
            ms = lambda r, p=p: latency_ms(r, hist, p)  # noqa: E731
            t.figure(item, f"{what} {p}", med(q, ms)[0], med(g, ms)[0],
                     **fig("latency_ms", "ms", ms, q, g, of=of, percentile=p))

    def cpu(reps):
        v = med(reps, lambda r: num(r, "server_cpu"))[0]
        return "-" if v is None else f"{100 * v:.0f}%"

    def drops(reps):
        vals = [num(r, "server_drops") for r in reps or []]
        return "/".join("-" if v is None else str(v) for v in vals) or "-"

    def errs(*lists):
        return err_note(*[r for lst in lists for r in (lst or [])])

    if b.want(1):
        g, q = gt.get("small"), qs.get("small")
        qv, qr = med(q, rps)
        gv, gr = med(g, rps)
        t.add("1", "small responses (64 B), req/s; -c 16 -m 8, 1 worker", qv, gv,
              note=f"rounds {qr} / {gr}; request p50 {fmt(med(q, latency_ms)[0])} / "
                   f"{fmt(med(g, latency_ms)[0])} ms; server CPU {cpu(q)} / {cpu(g)}; "
                   f"server drops {drops(q)} / {drops(g)} " + errs(q, g),
              fig=fig("small_rps", "req/s", rps, q, g))
        per_cpu = lambda r: r["requests_per_s"] / r["server_cpu"] \
            if num(r, "server_cpu") else None  # noqa: E731
        t.add("1", "  the same per server CPU-second", med(q, per_cpu)[0],
              med(g, per_cpu)[0], note="req/s divided by the server's CPU use "
              "(quicsteer's includes its polling)",
              fig=fig("small_rps_per_cpu", "req/CPU-s", per_cpu, q, g))
        latencies("1", q, g, "request", "small", "request latency, small responses,")
    if b.want(2):
        for key, what, rkey in (("conns", "new connections/s, 1 request each, -c 32",
                                 "conns_per_s"),
                                ("resume", "  same with --resume (0-RTT)",
                                 "resume_conns_per_s")):
            g, q = gt.get(key), qs.get(key)
            hs = lambda r: num(r, "handshakes_per_s")  # noqa: E731
            qv, qr = med(q, hs)
            gv, gr = med(g, hs)
            note = f"rounds {qr} / {gr}; "
            if key == "resume":
                acc = lambda reps: (sum(num(r, "early_data_accepted") or 0 for r in reps or []),  # noqa
                                    sum(num(r, "early_data_attempted") or 0 for r in reps or []))
                note += "0-RTT accepted/attempted {}/{} vs {}/{}; ".format(*acc(q), *acc(g))
            hp = lambda r: num(r, "latency_us", "handshake", "p50")  # noqa: E731
            note += (f"handshake p50 {fmt(med(q, hp)[0])} / {fmt(med(g, hp)[0])} us; "
                     f"server CPU {cpu(q)} / {cpu(g)}; server drops {drops(q)} / "
                     f"{drops(g)} ")
            t.add("2", what, qv, gv, note=note + errs(q, g),
                  fig=fig(rkey, "connections/s", hs, q, g))
            latencies("2", q, g, "handshake", key, "handshake latency, new connections" +
                      (" with --resume," if key == "resume" else ","))
    if b.want(3):
        g, q = gt.get("big") or [], qs.get("big") or []
        fail = "; ".join(e.get("error", "") for e in
                         qs.get("big_errors", []) + gt.get("big_errors", []))
        t.add("3", f"one connection, 100 MiB, MB/s (median of {len(q)}/{len(g)})",
              statistics.median(q) if q else None, statistics.median(g) if g else None,
              note=f"runs {'/'.join(f'{x:.0f}' for x in q)} / "
                   f"{'/'.join(f'{x:.0f}' for x in g)} {fail}",
              fig=dict(fig("big_mbps", "MB/s"), quicsteer_rounds=q, peer_rounds=g))
    if b.want(4):
        g, q = gt.get("idle") or {}, qs.get("idle") or {}
        kib = lambda r: r.get("per_conn") / 1024 if r.get("per_conn") else None  # noqa
        t.add("4", f"RSS per idle connection, KiB ({a.idle_conns} open)", kib(q), kib(g),
              note=(f"held {q.get('held')}/{g.get('held')}"
                    + (f" by {q.get('clients')} clients" if (q.get("clients") or 1) > 1
                       else "") + "; VmRSS before->after "
                    f"{q.get('before', 0) // 1024}->{q.get('after', 0) // 1024} MiB / "
                    f"{g.get('before', 0) // 1024}->{g.get('after', 0) // 1024} MiB; "
                    f"quicsteer quic_conn_active {q.get('server_conns')}, of its "
                    f"{fmt(kib(q))} KiB/conn "
                    f"{fmt((q.get('heap_per_conn') or 0) / 1024)} KiB from rte_malloc, "
                    + ", ".join(f"{fmt(v / 1024)} KiB {k}" for k, v in
                                (q.get("libs_per_conn") or {}).items())
                    + " (heap bytes allocated; RSS counts only pages touched); "
                    f"{q.get('error', '')}{g.get('error', '')}"),
              fig=fig("idle_kib_per_conn", "KiB"))
        parts = {"rte_malloc": q.get("heap_per_conn"), **(q.get("libs_per_conn") or {})}
        for part, v in parts.items():
            if v is not None:
                t.figure("4", f"quicsteer heap bytes per idle connection: {part}",
                         v / 1024, None, peer_name=None,
                         **fig("idle_alloc_kib_per_conn", "KiB", part=part))
        later = lambda r: r.get("per_conn_later") / 1024 if r.get("per_conn_later") else None  # noqa
        t.add("4", f"  the same after {a.idle_after:.0f} s more idle", later(q), later(g),
              note=(f"quicsteer quic_conn_active {q.get('server_conns_later')}; heap bytes "
                    "per connection then: " + ", ".join(
                        f"{fmt(v / 1024)} KiB {k}" for k, v in
                        (q.get("libs_per_conn_later") or {}).items())),
              fig=fig("idle_kib_per_conn_later", "KiB"))
        ramp = lambda r: r["held"] / r["ramp_s"] if r.get("held") else None  # noqa
        t.add("4", "  ramp-up of those, connections/s (--max-pending 64)", ramp(q), ramp(g),
              note="handshake + 1 request each, all held open",
              fig=fig("idle_ramp_conns_per_s", "connections/s"))
    if b.want(5):
        sc = qs.get("scale", {})
        one = med(sc.get(1), rps)[0]
        gmed = med(gt.get("small"), rps)[0]
        for w in (1, 2, 4):
            r, rr = med(sc.get(w), rps)
            note = f"rounds {rr}; " + (f"x{r / one:.2f} of 1 worker; " if r and one else "")
            if w == 4:
                note += f"4 workers + main lcore + 2 client threads on {os.cpu_count()} CPUs"
            elif w == 2:
                note += f"2 workers + 2 client threads on {os.cpu_count()} CPUs"
            t.add("5", f"scaling: req/s, {w} worker{'s' if w > 1 else ''} (load of 1)",
                  r, gmed, note=note + " " + errs(sc.get(w)),
                  fig=dict(fig("scale_rps", "req/s", workers=w),
                           quicsteer_rounds=per_round(sc.get(w), rps)))
    if b.want(6):
        def surv(entry):
            if not isinstance(entry, tuple):
                return None, (entry or {}).get("error", "not run")
            rep, c = entry
            m = rep["migrations"]
            pct = 100.0 * m["connections_survived"] / m["connections_moved"] \
                if m["connections_moved"] else None
            errors = {k: v for k, v in rep["errors"].items() if v}
            note = (f"{m['connections_survived']}/{m['connections_moved']} moved conns "
                    f"survived, {m['done']} rebindings; requests "
                    f"{rep['requests']['completed']}/{rep['options']['requests']}; "
                    f"client errors {errors or 'none'} {rep.get('error_examples') or ''}; "
                    f"server dropped {rep.get('server_drops')} datagrams")
            if c:
                note += (f"; server quic_forwarded_in {c['quic_forwarded_in']}, "
                         f"quic_stateless_resets_sent {c['quic_stateless_resets_sent']}, "
                         f"quic_path_migrations {c['quic_path_migrations']}, "
                         f"forward drops {c['quic_forward_dropped']}")
            return pct, note
        gp, gnote = surv(gt.get("mig"))
        for steer in ("cid", "off"):
            qp, qnote = surv(qs.get(f"mig_{steer}"))
            t.add("6", f"rebinding survival %, {a.mig_conns} conns, 1/4 rebind; "
                  f"4 workers, --steer {steer}", qp, gp, note=f"quicsteer: {qnote}",
                  fig=fig("migration_survival_pct", "%", steer=steer))
        t.notes.append(f"6 gtlsserver: {gnote}")
    if b.want(8):
        q, g = qs.get("cg") or {}, gt.get("cg") or {}
        errs = f"{q.get('error', '')} {g.get('error', '')}".strip()
        t.add("8", f"instructions/request, keep-alive (4 conns x 8 streams, "
              f"{a.cg_requests} x 64 B)", q.get("gross"), g.get("gross"),
              note=(f"user space, all threads, callgrind; the 4 handshakes included; "
                    f"idle {fmt(q.get('idle_per_s'))} / {fmt(g.get('idle_per_s'))} "
                    f"instr/s under valgrind; failed {q.get('failed')}/{g.get('failed')} "
                    + errs), fig=fig("instr_per_request", "instructions"))
        t.add("8", "  the same minus idle polling for as long", q.get("net"), g.get("net"),
              note="quicsteer's empty polls under valgrind subtracted",
              fig=fig("instr_per_request_net", "instructions"))
        t.add("8", f"instructions/new connection (handshake + 1 request, "
              f"{a.cg_conns} conns)", q.get("per_conn"), g.get("per_conn"),
              note="kernel work (syscalls, af_packet copies) is not counted by callgrind",
              fig=fig("instr_per_conn", "instructions"))
        t.add("8", f"instructions/MiB, one connection downloading "
              f"{CG_BULK >> 20} MiB", q.get("per_mib"), g.get("per_mib"),
              note="user space: what remains on a NIC that takes the kernel's share",
              fig=fig("instr_per_mib", "instructions"))
        t.add("8", "  the same minus idle polling for as long", q.get("per_mib_net"),
              g.get("per_mib_net"), note="quicsteer's empty polls under valgrind subtracted",
              fig=fig("instr_per_mib_net", "instructions"))
    if b.want(7):
        for name in ("bench_steer", "bench_null"):
            for line in (bench7 or {}).get(name, []):
                t.notes.append(f"7 {name}: {line}")
        if isinstance(bench7, dict) and "error" in bench7:
            t.notes.append(f"7: {bench7['error']}")
        else:
            tests_bench_figures(t, bench7)
    t.notes.append("")
    t.notes.append("commands (the client runs in the client namespace, servers in the "
                   "server namespace; CERT/KEY/DOCROOT/TMP are the run's temporary files):")
    seen = set()
    for what, cmd in b.commands:
        if (what, cmd) not in seen:
            seen.add((what, cmd))
            t.notes.append(f"  [{what}] {cmd}")


def report_peers(a, b, t, qs, peers):
    """The "peers" table: each --peer's figures of items 1 to 4 and 8 beside
    quicsteer's (the main table's quicsteer column: the same runs)."""
    def med(reps, fn):
        vals = [fn(r) for r in reps or []]
        ok = [v for v in vals if v is not None]
        return (statistics.median(ok) if ok else None,
                "rounds " + ("/".join(fmt(v) for v in vals) or "-"))

    def per_cpu(r):
        return r["requests_per_s"] / r["server_cpu"] if num(r, "server_cpu") else None

    def handshakes(r):
        return num(r, "handshakes_per_s")

    def big(res):
        runs = res.get("big") or []
        return (statistics.median(runs) if runs else None,
                "runs " + ("/".join(f"{x:.0f}" for x in runs) or "-"))

    def idle(res):
        r = res.get("idle") or {}
        return (r["per_conn"] / 1024 if r.get("per_conn") else None,
                f"held {r.get('held')} {r.get('error', '')}".strip())

    rows = []       # (item, measure, fn of a server's results, key, unit, more is better)
    if b.want(1):
        rows += [("1", "small responses (64 B), req/s; -c 16 -m 8",
                  lambda res: med(res.get("small"), rps), "peer_small_rps", "req/s", True),
                 ("1", "  the same per server CPU-second",
                  lambda res: med(res.get("small"), per_cpu), "peer_small_rps_per_cpu",
                  "req/CPU-s", True)]
    if b.want(2):
        rows += [("2", "new connections/s, 1 request each, -c 32",
                  lambda res: med(res.get("conns"), handshakes), "peer_conns_per_s",
                  "connections/s", True),
                 ("2", "  same with --resume (0-RTT)",
                  lambda res: med(res.get("resume"), handshakes),
                  "peer_resume_conns_per_s", "connections/s", True)]
    if b.want(3):
        rows.append(("3", "one connection, 100 MiB, MB/s", big, "peer_big_mbps", "MB/s",
                     True))
    if b.want(4):
        rows.append(("4", f"RSS per idle connection, KiB ({a.idle_conns} open)", idle,
                     "peer_idle_kib_per_conn", "KiB", False))
    if b.want(8):
        def cg(key):
            def fn(res):
                r = res.get("cg") or {}
                return r.get(key), (f"failed {r.get('failed')} "
                                    f"{r.get('error', '')}").strip()
            return fn
        rows += [("8", "instructions/request, keep-alive (callgrind, user space)",
                  cg("gross"), "peer_instr_per_request", "instructions", False),
                 ("8", "  the same minus idle polling for as long", cg("net"),
                  "peer_instr_per_request_net", "instructions", False),
                 ("8", "instructions/new connection (handshake + 1 request)",
                  cg("per_conn"), "peer_instr_per_conn", "instructions", False),
                 ("8", f"instructions/MiB, one {CG_BULK >> 20} MiB download",
                  cg("per_mib"), "peer_instr_per_mib", "instructions", False),
                 ("8", "  the same minus idle polling for as long", cg("per_mib_net"),
                  "peer_instr_per_mib_net", "instructions", False)]
    for item, measure, fn, key, unit, more_better in rows:
        qv, qnote = fn(qs)
        for name, res in peers.items():
            pv, pnote = fn(res)
            ratio = f"{qv / pv:.2f}" if qv is not None and pv else "-"
            t.add_row(item, measure, name, fmt(qv), fmt(pv), ratio,
                      f"{qnote} / {pnote}" + ("" if more_better else
                                                      " (less is better)"))
            t.figure(item, measure, qv, pv, key, unit, labels={"peer": name},
                     peer_name=name)
    for name, res in peers.items():
        errors = err_note(*[r for k in ("small", "conns", "resume")
                            for r in res.get(k) or []])
        if errors.strip():
            t.notes.append(f"{name}: {errors}")
    t.notes += ["", "peers: a configuration of this script's (1 worker thread or "
                "process, no access log, the gtlsserver site), the binaries:"]
    t.notes += [f"  {p.name}: {p.path}" for p in a.peers]


def report_pmds(a, b, t, qs, pr):
    """The "per PMD" table: each PMD's figures of items 1, 3 and 6 beside
    af_packet's (the main table's quicsteer column: the same runs)."""
    def med(vals):
        ok = [v for v in vals if v is not None]
        return statistics.median(ok) if ok else None

    def pct(v):
        return "-" if v is None else f"{100 * v:.0f}%"

    def small(res):
        reps = [r for r in res.get("small") or [] if num(r, "requests_per_s") is not None]
        per_cpu = [r["requests_per_s"] / (r["server_cpu"] + (r.get("vswitch_cpu") or 0))
                   for r in reps if num(r, "server_cpu")]
        vs = med([r.get("vswitch_cpu") for r in reps])
        note = (f"rounds {'/'.join(fmt(rps(r)) for r in res.get('small') or []) or '-'}; "
                f"request p50 {fmt(med([latency_ms(r) for r in reps]))} ms; quicsteer CPU "
                f"{pct(med([num(r, 'server_cpu') for r in reps]))}"
                + (f", vSwitch CPU {pct(vs)}" if vs is not None else "") +
                f"; server drops "
                f"{'/'.join(str(num(r, 'server_drops')) for r in reps) or '-'}"
                + (f", vSwitch drops "
                   f"{'/'.join(str(r.get('vswitch_drops')) for r in reps)}"
                   if vs is not None else "") + " "
                + err_note(*(res.get("small") or [])))
        return med([rps(r) for r in reps]), med(per_cpu), note

    def big(res):
        runs = res.get("big") or []
        fails = "; ".join(e.get("error", "") for e in res.get("big_errors", []))
        return (statistics.median(runs) if runs else None,
                f"runs {'/'.join(f'{x:.0f}' for x in runs) or '-'} {fails}")

    def mig(res):
        entry = res.get("mig_cid")
        if not isinstance(entry, tuple):
            return None, (entry or {}).get("error", "not run")
        rep, c = entry
        m = rep["migrations"]
        v = m["connections_survived"] / m["connections_moved"] \
            if m["connections_moved"] else None
        vs = rep.get("vswitch_cpu")
        return (None if v is None else 100 * v,
                f"{m['connections_survived']}/{m['connections_moved']} survived, "
                f"requests {rep['requests']['completed']}/{rep['options']['requests']}, "
                f"resets sent {c['quic_stateless_resets_sent']}, forwarded in "
                f"{c['quic_forwarded_in']}, forward drops {c['quic_forward_dropped']}, "
                f"server drops {rep.get('server_drops')}"
                + (f", vSwitch drops {rep.get('vswitch_drops')}" if vs is not None else "")
                + f"; quicsteer CPU {pct(rep.get('server_cpu'))}"
                + (f", vSwitch CPU {pct(vs)}" if vs is not None else ""))

    base = {"small": small(qs), "big": big(qs), "mig": mig(qs)}
    rows = []      # (item, measure, figure, index in the figure, results key, unit)
    if b.want(1):
        rows += [("1", "small responses (64 B), req/s; -c 16 -m 8, 1 worker", "small", 0,
                  "pmd_small_rps", "req/s"),
                 ("1", "  the same per CPU-second of quicsteer (+ vSwitch)", "small", 1,
                  "pmd_small_rps_per_cpu", "req/CPU-s")]
    if b.want(3):
        rows.append(("3", "one connection, 100 MiB, MB/s", "big", 0, "pmd_big_mbps", "MB/s"))
    if b.want(6):
        rows.append(("6", f"rebinding survival %, {a.mig_conns} conns, 1/4 rebind; "
                     f"4 workers, --steer cid", "mig", 0, "pmd_migration_survival_pct", "%"))
    fns = {"small": small, "big": big, "mig": mig}
    for item, measure, key, idx, rkey, unit in rows:
        af = base[key][idx]
        t.add_row(item, measure, "af_packet", fmt(af), fmt(af), "1.00" if af else "-",
                  base[key][-1] if idx == 0 else "(the main table's quicsteer column)")
        for pmd in pr.pmds:
            if pmd in pr.skipped:
                note, v = pr.skipped[pmd][:160], None
                t.add_row(item, measure, pmd, "skipped", fmt(af), "-", note)
            else:
                fig = fns[key](pr.res[pmd])
                v = fig[idx]
                ratio = f"{v / af:.2f}" if v is not None and af else "-"
                note = fig[-1] if idx == 0 else ""
                t.add_row(item, measure, pmd, fmt(v), fmt(af), ratio, note)
            t.figure(item, measure, v, af, rkey, unit, labels={"pmd": pmd},
                     peer_name="af_packet", note=note)
    for pmd, why in pr.skipped.items():
        t.notes.append(f"{pmd} SKIPPED: {why}")
    for pmd in pr.pmds:
        for e in pr.res[pmd].get("errors", []):
            t.notes.append(f"{pmd} failed: {e}")
    t.notes += [
        "af_packet: the same runs as the main table's quicsteer column (kernel fanout "
        "over a queue pair per worker). Each PMD runs in a rig of its own (own "
        "namespaces and veth), opened for its measurement and closed after it; within "
        "a round the PMDs run one after another, not at once.",
        "af_xdp: net_af_xdp on the veth (XDP program in native mode, copy mode sockets, "
        "--no-huge); DPDK 22.11 opens 1 queue on a veth, so items 1 and 3 (1 worker) run "
        "to completion on it, and item 6's 4 workers run in the pipeline layout behind "
        "the rig's I/O lcore io0 (every datagram crosses an inbox ring; af_packet's "
        "item 6 has 4 queue pairs and no I/O lcore).",
        "virtio_user: net_virtio_user over vhost-user to the rig's vSwitch "
        "(dpdk-testpmd io forwarding to an af_packet port on the veth), on hugepages "
        "(--single-file-segments): a stand-in for a VM's virtio-net device with a hop "
        "a real VM does not have (testpmd's af_packet copy), and testpmd busy-polls "
        "most of a CPU of this machine; its CPU is given apart from quicsteer's.",
        "", "commands per PMD (TMP: the run's temporary files; client in the client "
        "namespace, quicsteer and the vSwitch in the server namespace):"]
    for pmd in pr.pmds:
        seen = set()
        for what, cmd in pr.commands[pmd]:
            if (what, cmd) not in seen:
                seen.add((what, cmd))
                t.notes.append(f"  [{pmd}: {what}] {cmd}")


# ---- results file and charts ----------------------------------------------


def results_doc(info, tables):
    """The --results-json document (RESULTS.md, "Charts"): every figure of
    the tables, with the machine and the run."""
    return {"format": RESULTS_FORMAT, "version": RESULTS_VERSION,
            "machine": info["machine"], "run": info["run"], "peer": PEER,
            "figures": [f for t in tables for f in t.figures],
            "notes": [n for t in tables for n in t.notes]}


def load_results(path):
    """A results file written by --results-json; ValueError saying what is
    wrong with it (one line), OSError when it cannot be read."""
    try:
        res = json.loads(Path(path).read_text())
    except ValueError as e:
        raise ValueError(f"not JSON: {e}") from None
    if not isinstance(res, dict) or res.get("format") != RESULTS_FORMAT:
        raise ValueError(f"not a results file of run_all.py (no \"format\": "
                         f"\"{RESULTS_FORMAT}\")")
    if res.get("version") != RESULTS_VERSION:
        raise ValueError(f"version {res.get('version')!r}, this run_all.py reads "
                         f"{RESULTS_VERSION}")
    figures = res.get("figures")
    if not isinstance(figures, list):
        raise ValueError("\"figures\" is not a list")
    for i, f in enumerate(figures):
        ok = (isinstance(f, dict) and isinstance(f.get("item"), int) and
              isinstance(f.get("key"), str) and isinstance(f.get("labels", {}), dict) and
              all(isinstance(f.get(k), (int, float, type(None))) for k in ("quicsteer", "peer")))
        if not ok:
            raise ValueError(f"figure {i} is not an object with item (number), key (text), "
                             f"labels (object), quicsteer and peer (numbers or null)")
    return res


def import_plot():
    """tests/bench/plot.py, which imports matplotlib; SystemExit with the
    reason when that fails."""
    spec = importlib.util.spec_from_file_location("qs_bench_plot", HERE / "plot.py")
    mod = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(mod)
    except ImportError as e:
        raise SystemExit(f"run_all: --plot needs matplotlib, which {sys.executable} cannot "
                         f"import ({e}): apt-get install python3-matplotlib "
                         "(deploy/install-deps.sh); Debian's package serves /usr/bin/python3")
    return mod


def writable_dir(d, what):
    """Makes directory d if missing and proves a file can be made in it;
    SystemExit saying why not."""
    try:
        os.makedirs(d, exist_ok=True)
        with tempfile.TemporaryFile(dir=d):
            pass
    except OSError as e:
        raise SystemExit(f"run_all: {what}: cannot write in {d}: {e.strerror or e}")


def plot_results(plotter, res, outdir):
    try:
        paths = plotter.plot_all(res, outdir)
    except OSError as e:
        raise SystemExit(f"run_all: --plot {outdir}: {e.strerror or e}")
    for path in paths:
        print(f"plot: wrote {path}")


def write_results(res, path):
    try:
        Path(path).write_text(json.dumps(res, indent=1) + "\n")
    except OSError as e:
        raise SystemExit(f"run_all: --results-json {path}: {e.strerror or e}")
    print(f"results: wrote {path}")


def replot(a):
    """--replot FILE --plot DIR: the charts of a saved results file."""
    try:
        res = load_results(a.replot)
    except OSError as e:
        raise SystemExit(f"run_all: --replot {a.replot}: {e.strerror or e}")
    except ValueError as e:
        raise SystemExit(f"run_all: --replot {a.replot}: {e}")
    plotter = import_plot()
    writable_dir(a.plot, "--plot")
    plot_results(plotter, res, a.plot)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=str(REPO / "build"),
                    help="meson build directory (default: build/)")
    ap.add_argument("--duration", type=float, default=5, help="seconds per rate run")
    ap.add_argument("--client-threads", type=int, default=2)
    ap.add_argument("--idle-conns", type=int, default=10000)
    ap.add_argument("--idle-timeout", type=float, default=90,
                    help="bound on the ramp-up of item 4 (s)")
    ap.add_argument("--idle-after", type=float, default=60,
                    help="item 4 samples memory again after this long idle (s)")
    ap.add_argument("--idle-only-quicsteer", action="store_true",
                    help="item 4 without gtlsserver and peers: for --idle-conns "
                         "100000, whose client and two servers would not fit in "
                         "memory together (about 100 KiB a connection each)")
    ap.add_argument("--mig-conns", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3,
                    help="rounds of items 1, 2, 3 and 5 (medians are reported)")
    ap.add_argument("--big-runs", type=int, default=2,
                    help="100 MiB downloads per server and round")
    ap.add_argument("--cg-requests", type=int, default=4000,
                    help="requests measured under callgrind (item 8)")
    ap.add_argument("--cg-conns", type=int, default=100,
                    help="new connections measured under callgrind (item 8)")
    ap.add_argument("--keep-callgrind", metavar="DIR",
                    help="copy item 8's callgrind dumps there (callgrind_annotate)")
    ap.add_argument("--null-duration", type=int, default=5,
                    help="DURATION of bench_null.sh (s)")
    ap.add_argument("--only", type=lambda s: {int(x) for x in s.split(",")}, default=set(),
                    help="comma-separated item numbers")
    ap.add_argument("--pmds", default="af_packet",
                    help="comma-separated PMDs of quicsteer for items 1, 3 and 6: "
                         f"{', '.join(riglib.PMDS)} (default af_packet only; the "
                         "others are measured besides it, table \"per PMD\")")
    ap.add_argument("--peer", action="append", default=[], metavar="NAME=PATH",
                    help="also measure this server (h2o or nginx, a local build with "
                         "HTTP/3) in items 1-4 and 8: table \"peers\"")
    ap.add_argument("--results-json", metavar="FILE",
                    help="write every figure of the run there as JSON (RESULTS.md, "
                         "\"Charts\")")
    ap.add_argument("--plot", metavar="DIR",
                    help="draw the figures as PNG charts into DIR (matplotlib), with "
                         "DIR/results.json")
    ap.add_argument("--replot", metavar="FILE",
                    help="with --plot: draw the charts of a saved results file; runs "
                         "nothing, needs no root")
    a = ap.parse_args()
    if a.replot:
        if not a.plot:
            ap.error("--replot FILE needs --plot DIR")
        return replot(a)
    try:
        a.peers = [Peer(spec) for spec in a.peer]
    except ValueError as e:
        ap.error(str(e))
    if len({p.name for p in a.peers}) != len(a.peers):
        ap.error("--peer: each of h2o and nginx at most once")
    a.pmds = [p for p in a.pmds.split(",") if p]
    for p in a.pmds:
        if p not in riglib.PMDS:
            ap.error(f"--pmds: {p!r} is not one of {', '.join(riglib.PMDS)}")

    if os.geteuid() != 0:
        print("run_all: needs root (network namespaces, af_packet)", file=sys.stderr)
        return 77
    build = Path(a.build).resolve()
    for p in ("app/quicsteer/quicsteer", "app/quicsteer-load/quicsteer-load"):
        if not os.access(build / p, os.X_OK):
            print(f"run_all: {build / p} missing: meson setup build && ninja -C build",
                  file=sys.stderr)
            return 1
    if shutil.which("gtlsserver") is None:
        print("run_all: gtlsserver missing (ngtcp2-server; deploy/install-deps.sh)",
              file=sys.stderr)
        return 1
    # before a run of minutes, not after it
    plotter = import_plot() if a.plot else None
    if a.plot:
        writable_dir(a.plot, "--plot")
    if a.results_json:
        writable_dir(Path(a.results_json).resolve().parent, "--results-json")

    def interrupted(signum, _frame):
        raise riglib.Interrupted(f"signal {signum}")

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, interrupted)

    model, ncpu, kernel = machine()
    commit = sh(["git", "-C", REPO, "log", "-1", "--format=%h %s"], check=False).stdout.strip()
    dirty = sh(["git", "-C", REPO, "status", "--porcelain", "--", "lib", "app"],
               check=False).stdout.strip()
    if dirty:
        commit += f" (lib/ or app/ modified: {len(dirty.splitlines())} files)"
    built = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(
        (build / "app" / "quicsteer" / "quicsteer").stat().st_mtime))
    print("run_all: " + " ".join(shlex.quote(x) for x in sys.argv))
    print(f"machine: {model}, nproc {ncpu}, kernel {kernel}, load average {loadavg()}")
    print(f"commit:  {commit}")
    print(f"build:   {build} (quicsteer linked {built} UTC)")
    date = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    print(f"date:    {date}")
    info = {"machine": {"model": model, "nproc": ncpu, "kernel": kernel},
            "run": {"argv": sys.argv, "commit": commit, "build": str(build),
                    "built_utc": built, "date": date,
                    "load_start": loadavg(),
                    "items": sorted(a.only) if a.only else list(range(1, 9)),
                    "options": {k: getattr(a, k) for k in (
                        "duration", "rounds", "client_threads", "idle_conns", "mig_conns",
                        "big_runs", "cg_requests", "cg_conns", "null_duration", "pmds")},
                    "peers": {p.name: p.path for p in a.peers}}}
    t_start = time.monotonic()
    table = Table()
    pmd_table = Table(("#", "measure", "PMD", "quicsteer on PMD", "on af_packet",
                       "PMD/af_packet", "note"))
    peer_table = Table(("#", "measure", "peer", "quicsteer", "peer's", "q/peer", "note"))

    try:
        with BenchRig(PMD_RIG_NAMES["af_packet"], build) as rig:
            run_items(a, rig, table, pmd_table, peer_table)
    except riglib.Interrupted as e:
        print(f"run_all: interrupted by {e}; cleaned up", file=sys.stderr)
        return 1

    print()
    print(f"run_all: done in {time.monotonic() - t_start:.0f} s, load average {loadavg()}")
    table.print()
    if peer_table.rows:
        peer_table.print("peers (items 1 to 4 and 8)")
    if pmd_table.rows:
        pmd_table.print("per PMD (quicsteer only; items 1, 3 and 6)")
    if a.results_json or a.plot:
        info["run"].update(load_end=loadavg(), seconds=round(time.monotonic() - t_start))
        res = results_doc(info, (table, pmd_table, peer_table))
        print()
        if a.results_json:
            write_results(res, a.results_json)
        if a.plot:
            write_results(res, Path(a.plot) / "results.json")
            plot_results(plotter, res, a.plot)
    return 0

if __name__ == "__main__":
    sys.exit(main())
