#!/usr/bin/env python3
"""A bad configuration stops quicsteer before it starts: non-zero exit, and
stderr names the file, the section and the key where there is one, and the
problem. The example config/quicsteer.ini loads and is what `show config`
reports. No network needed: the null PMD stands in for a NIC."""
import re

from rig import REPO, check, dpdk_prefix, main, run_quicsteer, temp_dir

EAL = ["--no-huge", "--no-pci", "-m", "256", "--vdev", "net_null0", "-l", "0-1"]
ADDR = ["--addr", "198.18.0.1"]
EXAMPLE_CONFIG = REPO / "config" / "quicsteer.ini"


class Runner:
    """Runs quicsteer with a unique --file-prefix each time."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.runs = 0
        # should a bad config be accepted, quicsteer quits at once instead
        # of serving until the timeout
        self.quit = ["--cmdline-file", self.file("quit", "quit\n")]

    def file(self, name, text):
        path = self.tmp / name
        path.write_text(text)
        return str(path)

    def run(self, app):
        self.runs += 1
        return run_quicsteer(EAL, app, dpdk_prefix("cfg", self.runs))

    def expect_error(self, what, app, needles):
        """quicsteer refuses to start and stderr has every needle (a string,
        or a compiled regex for "one of these wordings")."""
        proc = self.run(app + self.quit)
        check(proc.returncode > 0,
              f"{what}: expected a non-zero exit, got {proc.returncode}:\n"
              f"{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
        for needle in needles:
            found = (needle.search(proc.stderr) if isinstance(needle, re.Pattern)
                     else needle in proc.stderr)
            check(found, f"{what}: stderr does not name "
                         f"{getattr(needle, 'pattern', needle)!r}:\n{proc.stderr}")


def check_bad_files(r):
    def bad_file(what, text, needles):
        path = r.file(f"{len(what)}-{r.runs}.ini", text)
        r.expect_error(what, ["--config", path], [path, *needles])

    missing = str(r.tmp / "missing.ini")
    r.expect_error("missing config file", ["--config", missing],
                   [missing, "No such file or directory"])
    # lines that are not `key = value`: the line (number or text) is named
    bad_file("a line without '='", "[listen]\naddr = 198.18.0.1\nport 70000\n",
             [re.compile(r"line 3\b|port 70000")])
    bad_file("an empty value", "[listen]\naddr = 198.18.0.1\nport =\n",
             [re.compile(r"line 3\b|\[listen\] port")])
    bad_file("unknown section", "[listen]\naddr = 198.18.0.1\n[bogus]\nx = 1\n",
             ["[bogus]", "unknown section"])
    bad_file("unknown section without keys", "[bogus]\n[listen]\naddr = 198.18.0.1\n",
             ["[bogus]", "unknown section"])
    bad_file("unknown key", "[listen]\naddr = 198.18.0.1\nbogus = 1\n",
             ["[listen]", "bogus", "unknown key"])
    # (section, key, value, what stderr says besides section and key: the
    # value and the rule it breaks, in whatever wording)
    for section, key, value, problem in [
            ("listen", "port", "70000", ["70000", re.compile(r"range|65535")]),
            ("listen", "addr", "not-an-ip", ["not-an-ip", re.compile(r"IPv4|IPv6|address")]),
            ("dataplane", "steer", "maybe", ["maybe", re.compile(r"cid\b.*\boff")]),
            ("dataplane", "inbox_size", "100", ["100", re.compile(r"power of (2|two)")]),
            ("dataplane", "inbox_size", "32", ["32", re.compile(r"range|64")]),
            ("dataplane", "burst", "-1", ["-1", re.compile(r"number|integer|range")]),
            # a secret is never echoed, not even a wrong one
            ("quic", "reset_secret", "00ff", [re.compile(r"64 hex")])]:
        text = f"[listen]\naddr = 198.18.0.1\n[{section}]\n{key} = {value}\n"
        bad_file(f"[{section}] {key} = {value!r}", text, [f"[{section}]", key, *problem])

    cert, key = str(r.tmp / "no-cert.pem"), r.file("key.pem", "not checked first\n")
    bad_file("[tls] cert missing",
             f"[listen]\naddr = 198.18.0.1\n[tls]\ncert = {cert}\nkey = {key}\n",
             ["[tls] cert", cert, "No such file or directory"])


def check_bad_options(r):
    r.expect_error("--addr bad", ["--addr", "300.1.2.3"],
                   ["--addr", "300.1.2.3", re.compile(r"IPv4|IPv6|address")])
    r.expect_error("--port bad", [*ADDR, "--port", "0"], ["--port", re.compile(r"range|65535")])
    r.expect_error("--steer bad", [*ADDR, "--steer", "maybe"], ["--steer", "maybe"])
    r.expect_error("no address at all", [], ["no listen address"])
    cert, key = str(r.tmp / "no-cert.pem"), r.file("key.pem", "not checked first\n")
    r.expect_error("--cert missing", [*ADDR, "--cert", cert, "--key", key],
                   ["cert", cert, "No such file or directory"])
    docroot = str(r.tmp / "no-docroot")
    r.expect_error("--docroot missing", [*ADDR, "--docroot", docroot],
                   ["docroot", docroot, "No such file or directory"])


def config_lines(path):
    """Uncommented `key = value` lines of an INI file, normalised."""
    lines = []
    for raw in path.read_text().splitlines():
        line = raw.split(";")[0].strip()
        if "=" in line and not line.startswith("["):
            key, value = (part.strip() for part in line.split("=", 1))
            lines.append(f"{key} = {value}")
    return lines


def check_example_config(r):
    if not EXAMPLE_CONFIG.exists():
        print(f"note: {EXAMPLE_CONFIG} does not exist yet; not checked")
        return
    cmds = r.file("commands", "show config\nquit\n")
    proc = r.run(["--config", str(EXAMPLE_CONFIG), "--cmdline-file", cmds])
    check(proc.returncode == 0,
          f"{EXAMPLE_CONFIG} does not load (exit {proc.returncode}):\n{proc.stderr}")
    shown = {line.strip() for line in proc.stdout.splitlines()}
    for line in config_lines(EXAMPLE_CONFIG):
        check(line in shown, f"{EXAMPLE_CONFIG}: {line!r} is not in `show config`:\n"
                             f"{proc.stdout}")


def test():
    with temp_dir("cfg") as tmp:
        r = Runner(tmp)
        check_bad_options(r)
        check_bad_files(r)
        check_example_config(r)


if __name__ == "__main__":
    main(test)
