#!/usr/bin/env python3
"""A real browser (issue 13 item 6): Chromium from Debian's packages,
headless in the client namespace, loads a page from quicsteer (4 workers)
over IPv4 and over IPv6; a script in the page fetches a 5 MiB file, hashes
it in the browser (crypto.subtle.digest; https is a secure context) and
reports on the console. The test reads that report from Chromium's log:
the SHA-256 the page computed equals the file's, the browser's own
resource timing says h3 for the page, the script and the file, and
quicsteer's counters say it served them over HTTP/3: a handshake completed,
h3_requests and h3_responses_2xx moved by exactly 3, nothing else.

Chromium gets no network but the rig's: the client namespace has routes to
198.18.0.0/24 and 2001:db8::/64 only, background services are switched off,
and every name lookup fails locally. Each run has its own profile, HOME and
temporary directory, is bounded in time, and ends with the browser's whole
process group killed.

Flags Chromium 156 needs here (found on this rig, see the comments at
chromium_argv): --no-sandbox (root), --ignore-certificate-errors-spki-list
with a throwaway --user-data-dir (the list is ignored without one), and
--origin-to-force-quic-on: 198.18.0.1:4433 for IPv4; for IPv6 only `*`
works (the bracketed [2001:db8::1]:4433 is accepted but forces nothing: the
netlog shows a TCP main job, which quicsteer never answers).
"""
import base64
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

from h3 import Site, check_clean_exit
from rig import (SERVER_V4, SERVER_V6, Rig, Skipped, TestFailure, check, check_eq,
                 delta, main, run, temp_dir, total)

WORKERS = 4
FILE_NAME = "5m.bin"
FILE_SIZE = 5 << 20
PAGE = "browser.html"
SCRIPT = "browser.js"
# the page, the script and the file: what h3_responses_2xx must count
PATHS = ("/" + PAGE, "/" + SCRIPT, "/" + FILE_NAME)

BROWSER_TIMEOUT = 90.0      # one browser run: start, load, fetch, hash, report
                            # (4-7 s here; 48 s with a load average of 12 on 2 CPUs)
STOP_TIMEOUT = 5.0          # SIGTERM to the process group, then SIGKILL
RESULT_RE = re.compile(r'QS-RESULT (\{.*\})", source:')

# The page and its script, written into the docroot at run time. The icon
# link keeps Chromium from asking for /favicon.ico (a 404 in the counters).
PAGE_HTML = f"""<!doctype html>
<html><head><meta charset="utf-8"><link rel="icon" href="data:,">
<title>quicsteer browser test</title></head>
<body><p>quicsteer browser test</p><script src="{SCRIPT}"></script></body></html>
"""

# Reports one line on the console: "QS-RESULT {json}". The resource timing
# entry of the file may be queued just after its body resolves: wait for it
# (bounded) so nextHopProtocol covers all three.
SCRIPT_JS = """"use strict";
(async () => {
  const report = {secure: window.isSecureContext};
  try {
    const t0 = performance.now();
    const response = await fetch("/%(file)s", {cache: "no-store"});
    report.status = response.status;
    const body = await response.arrayBuffer();
    const digest = await crypto.subtle.digest("SHA-256", body);
    report.ms = Math.round(performance.now() - t0);
    report.bytes = body.byteLength;
    report.sha256 = Array.from(new Uint8Array(digest),
                               b => b.toString(16).padStart(2, "0")).join("");
    for (let i = 0; i < 40 && performance.getEntriesByName(
             new URL("/%(file)s", location.href).href).length === 0; i++) {
      await new Promise(resolve => setTimeout(resolve, 50));
    }
    report.protocols = {};
    for (const e of [...performance.getEntriesByType("navigation"),
                     ...performance.getEntriesByType("resource")]) {
      report.protocols[new URL(e.name).pathname] = e.nextHopProtocol;
    }
  } catch (e) {
    report.error = String(e);
  }
  console.log("QS-RESULT " + JSON.stringify(report));
})();
""" % {"file": FILE_NAME}


def chromium_binary():
    """Debian's Chromium: the binary behind the /usr/bin/chromium wrapper
    (which adds /etc/chromium.d's flags, e.g. loading extensions), else the
    wrapper; Skipped when the package is not installed."""
    wrapper = shutil.which("chromium")
    if wrapper is None:
        raise Skipped("chromium not found: install Debian's chromium package "
                      "(deploy/install-deps.sh does)")
    real = Path("/usr/lib/chromium/chromium")
    return str(real) if os.access(real, os.X_OK) else wrapper


def spki_pin(cert):
    """base64(sha256(DER SubjectPublicKeyInfo)) of cert, what
    --ignore-certificate-errors-spki-list takes; certtool prints the same
    value as pin-sha256, which is checked against."""
    out = run(["certtool", "--pubkey-info", "--load-certificate", str(cert)]).stdout
    m = re.search(r"-----BEGIN PUBLIC KEY-----\n(.+?)-----END PUBLIC KEY-----", out, re.S)
    check(m is not None, f"certtool --pubkey-info printed no public key:\n{out}")
    der = base64.b64decode("".join(m.group(1).split()))
    pin = base64.b64encode(hashlib.sha256(der).digest()).decode()
    certtool_pin = re.search(r"pin-sha256:(\S+)", out)
    check(certtool_pin is None or certtool_pin.group(1) == pin,
          f"SPKI pin {pin} differs from certtool's {certtool_pin and certtool_pin.group(1)}")
    return pin


def page_url(family, port):
    host = SERVER_V4 if family == 4 else f"[{SERVER_V6}]"
    return f"https://{host}:{port}/{PAGE}"


def chromium_argv(binary, family, port, profile, pin):
    # IPv4: the origin itself. IPv6: "*", every origin (see the module text);
    # harmless here, the namespace reaches nothing else.
    force_quic = f"{SERVER_V4}:{port}" if family == 4 else "*"
    return [binary,
            "--headless",                       # the new headless mode (the only one in 156)
            "--no-sandbox",                     # Chromium refuses to run as root otherwise
            f"--user-data-dir={profile}",       # throwaway; needed for the SPKI list
            f"--origin-to-force-quic-on={force_quic}",
            f"--ignore-certificate-errors-spki-list={pin}",
            "--enable-logging=stderr", "--log-level=0",  # console messages: the result
            # no name is ever looked up (Chromium's own services ask for
            # google.com names even so): nothing but the rig is a destination
            f"--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE {SERVER_V4}, "
            f"EXCLUDE {SERVER_V6}",
            "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-extensions",
            "--disable-dev-shm-usage",          # /dev/shm may be small in a container
            "--disable-gpu",
            page_url(family, port)]


def browser_env(home):
    """Chromium's environment: HOME and XDG dirs in the throwaway dir (its
    crash database, NSS and dconf files land there, not in root's home)."""
    env = dict(os.environ)
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / "config"),
               XDG_CACHE_HOME=str(home / "cache"))
    return env


def log_tail(text, lines=40):
    keep = [l for l in text.splitlines() if "dbus" not in l and l.strip()]
    return "\n".join(keep[-lines:])


def stop_browser(proc, marker):
    """Ends the browser: SIGTERM to its process group (it is the group's
    leader), SIGKILL after STOP_TIMEOUT, then any process left whose
    command line names this run's profile (marker)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if proc.poll() is None or _group_alive(proc.pid):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                pass
            try:
                proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
            deadline = time.monotonic() + STOP_TIMEOUT
            while _group_alive(proc.pid) and time.monotonic() < deadline:
                time.sleep(0.05)
    left = _processes_naming(marker)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return left


def _group_alive(pgid):
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


def _processes_naming(marker):
    pids = []
    needle = marker.encode()
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if needle in (p / "cmdline").read_bytes():
                    pids.append(int(p.name))
            except OSError:
                continue
    return pids


def browse(rig, binary, family, pin, workdir):
    """One browser run: load the page, wait (bounded) for the page's report
    on the console, stop the browser; (report dict, seconds to the report,
    Chromium's log, its command line)."""
    run_dir = workdir / f"chromium-v{family}"
    profile = run_dir / "profile"
    profile.mkdir(parents=True)
    log_path = run_dir / "chromium.log"
    argv = chromium_argv(binary, family, rig.port, profile, pin)
    start = time.monotonic()
    with open(log_path, "wb") as log:
        proc = rig.popen_in("client", argv, stdout=log, stderr=subprocess.STDOUT,
                            env=browser_env(run_dir), start_new_session=True)
    report = None
    try:
        while report is None:
            text = log_path.read_text(errors="replace")
            m = RESULT_RE.search(text)
            if m:
                try:
                    report = json.loads(m.group(1))
                except ValueError as e:
                    raise TestFailure(f"IPv{family}: the page's report is not JSON: "
                                      f"{m.group(1)[:500]}") from e
                break
            check(proc.poll() is None,
                  f"IPv{family}: Chromium exited {proc.returncode} before the page "
                  f"reported:\n{log_tail(text)}")
            check(time.monotonic() - start < BROWSER_TIMEOUT,
                  f"IPv{family}: no report from the page within {BROWSER_TIMEOUT} s:\n"
                  f"{log_tail(text)}")
            time.sleep(0.1)
        seconds = time.monotonic() - start
    finally:
        left = stop_browser(proc, str(profile))
    if left:
        print(f"IPv{family}: Chromium processes {left} outlived their process group; "
              f"killed")
    return report, seconds, log_path.read_text(errors="replace"), " ".join(argv)


def check_report(report, family, sha, log):
    what = f"IPv{family} page"
    check("error" not in report, f"{what}: the script failed: {report.get('error')}; "
                                 f"report {report}\n{log_tail(log)}")
    check_eq(report.get("secure"), True, f"{what}: window.isSecureContext")
    check_eq(report.get("status"), 200, f"{what}: fetch status of /{FILE_NAME}")
    check_eq(report.get("bytes"), FILE_SIZE, f"{what}: bytes the page received")
    check_eq(report.get("sha256"), sha, f"{what}: SHA-256 computed in the browser")
    protocols = report.get("protocols", {})
    for path in PATHS:
        check_eq(protocols.get(path), "h3", f"{what}: nextHopProtocol of {path}")


def check_counters(d, family):
    what = f"IPv{family} browser run"
    check(total(d, "quic_handshakes_completed") >= 1,
          f"{what}: quic_handshakes_completed did not move")
    check_eq(total(d, "h3_requests"), len(PATHS), f"{what}: h3_requests moved by")
    check_eq(total(d, "h3_responses_2xx"), len(PATHS),
             f"{what}: h3_responses_2xx moved by (page, script, file)")
    for counter in ("h3_responses_4xx", "h3_responses_5xx", "drop_bad_checksum",
                    "drop_oversize", "quic_drop_malformed", "h3_streams_reset_by_peer"):
        check_eq(total(d, counter), 0, f"{what}: {counter} moved by")
    check(total(d, "tx_bytes") >= FILE_SIZE,
          f"{what}: quicsteer sent {total(d, 'tx_bytes')} bytes, less than the "
          f"{FILE_SIZE}-byte file")


def summary(d):
    """The counters that tell what a browser run did, for the log."""
    names = {"quic_initials": "initials", "quic_handshakes_completed": "handshakes",
             "quic_0rtt_accepted": "0-RTT", "h3_requests": "h3_requests",
             "h3_responses_2xx": "2xx", "h3_responses_4xx": "4xx", "tx_bytes": "tx_bytes",
             "quic_forwarded_out": "forwarded", "quic_path_migrations": "path migrations"}
    per_worker = {w: d[w]["h3_requests"] for w in sorted(d)}
    return (", ".join(f"{label} {total(d, c)}" for c, label in names.items())
            + f"; requests per worker {per_worker}")


def test():
    binary = chromium_binary()
    print(run([binary, "--version"]).stdout.strip())
    with temp_dir("browser") as tmp:
        site = Site(tmp)
        (site.docroot / FILE_NAME).write_bytes(os.urandom(FILE_SIZE))
        (site.docroot / PAGE).write_text(PAGE_HTML)
        (site.docroot / SCRIPT).write_text(SCRIPT_JS)
        sha = site.sha(FILE_NAME)
        pin = spki_pin(site.cert)
        with Rig("browser", workers=WORKERS, app_args=site.server_args()) as rig:
            for family in (4, 6):
                before = rig.counters()
                try:
                    report, seconds, log, cmdline = browse(rig, binary, family, pin, tmp)
                except TestFailure as e:
                    raise TestFailure(f"{e}\nquicsteer meanwhile: "
                                      f"{summary(delta(before, rig.counters()))}") from e
                check_report(report, family, sha, log)
                snap = rig.wait_counters(
                    lambda s: total(delta(before, s), "h3_responses_2xx") >= len(PATHS))
                d = delta(before, snap)
                check_counters(d, family)
                print(f"IPv{family}: page, script and {FILE_SIZE}-byte file over h3, "
                      f"SHA-256 right in the browser (fetch + digest {report['ms']} ms); "
                      f"browser run {seconds:.1f} s")
                print(f"IPv{family} counters: {summary(d)}")
                print(f"IPv{family} command: ip netns exec {rig.client_ns} {cmdline}")
            rc, out = rig.stop()
            check_clean_exit(rig, rc, out)


if __name__ == "__main__":
    main(test)
