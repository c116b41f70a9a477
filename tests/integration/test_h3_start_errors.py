#!/usr/bin/env python3
"""quicsteer refuses to start with TLS or content it cannot serve: a
missing certificate or key file, a key that does not match the certificate,
a certificate file that is not PEM, a cert without a key, a docroot that is
missing, a file instead of a directory, or bigger than docroot_max_mb. Each
exits non-zero within seconds and stderr names the file and the problem.
With a good cert, key and docroot it starts (and quits on `quit`). No
network needed: the null PMD stands in for a NIC."""
import re
import time

from h3 import make_cert, make_docroot, make_key
from rig import check, dpdk_prefix, main, run_quicsteer, temp_dir

EAL = ["--vdev", "net_null0", "--no-huge", "--no-pci", "-m", "256", "-l", "0-1"]
ADDR = ["--addr", "198.18.0.1", "--port", "4433"]
START_LIMIT_S = 20


class Runner:
    def __init__(self, tmp):
        self.tmp = tmp
        self.runs = 0
        self.failures = []
        quit_file = tmp / "quit.cli"
        quit_file.write_text("quit\n")
        # should a bad setup be accepted, quicsteer quits at once
        self.quit = ["--cmdline-file", str(quit_file)]

    def run(self, app):
        self.runs += 1
        t0 = time.monotonic()
        proc = run_quicsteer(EAL, [*ADDR, *app, *self.quit],
                             dpdk_prefix("h3start", self.runs), timeout=START_LIMIT_S + 10)
        return proc, time.monotonic() - t0

    def expect_error(self, what, app, needles):
        """Every case runs; what went wrong is collected in self.failures."""
        proc, secs = self.run(app)
        problems = []
        if proc.returncode <= 0:
            problems.append(f"expected a non-zero exit, got {proc.returncode}")
        if secs >= START_LIMIT_S:
            problems.append(f"took {secs:.1f} s to fail")
        for needle in needles:
            found = (needle.search(proc.stderr) if isinstance(needle, re.Pattern)
                     else needle in proc.stderr)
            if not found:
                problems.append(f"stderr does not name {getattr(needle, 'pattern', needle)!r}")
        said = [l for l in proc.stderr.splitlines() if l.startswith("quicsteer")]
        print(f"{what}: exit {proc.returncode} in {secs:.1f} s: {' / '.join(said)}")
        if problems:
            self.failures.append(f"{what}: {'; '.join(problems)}; stderr:\n"
                                 + "\n".join(proc.stderr.splitlines()[-5:]))


def test():
    with temp_dir("h3start") as tmp:
        r = Runner(tmp)
        cert, key = make_cert(tmp, "good")
        other_key = make_key(tmp, "other")
        docroot = make_docroot(tmp)
        missing = tmp / "missing"
        garbage = tmp / "garbage.pem"
        garbage.write_text("this is not a certificate\n")
        a_file = tmp / "a-file"
        a_file.write_text("not a directory\n")

        # the control: all of it good
        proc, secs = r.run(["--cert", str(cert), "--key", str(key),
                            "--docroot", str(docroot)])
        check(proc.returncode == 0,
              f"good cert, key and docroot: exit {proc.returncode}:\n{proc.stderr[-2000:]}")
        print(f"good cert, key and docroot: started and quit in {secs:.1f} s")

        r.expect_error("missing certificate file",
                       ["--cert", str(missing / "cert.pem"), "--key", str(key)],
                       [str(missing / "cert.pem"), "No such file or directory"])
        r.expect_error("missing key file",
                       ["--cert", str(cert), "--key", str(missing / "key.pem")],
                       [str(missing / "key.pem"), "No such file or directory"])
        r.expect_error("key that does not match the certificate",
                       ["--cert", str(cert), "--key", str(other_key)],
                       [str(other_key), str(cert), "does not match"])
        r.expect_error("certificate file that is not PEM",
                       ["--cert", str(garbage), "--key", str(key)],
                       [str(garbage)])
        r.expect_error("key file that is not PEM",
                       ["--cert", str(cert), "--key", str(garbage)],
                       [str(garbage)])
        r.expect_error("certificate without a key", ["--cert", str(cert)],
                       [re.compile(r"cert.*key|key.*cert")])
        r.expect_error("missing docroot",
                       ["--cert", str(cert), "--key", str(key), "--docroot", str(missing)],
                       ["docroot", str(missing), "No such file or directory"])
        r.expect_error("docroot that is a file",
                       ["--cert", str(cert), "--key", str(key), "--docroot", str(a_file)],
                       ["docroot", str(a_file), re.compile(r"[Nn]ot a directory")])
        big = tmp / "big.ini"
        big.write_text("[http]\ndocroot_max_mb = 1\n")
        r.expect_error("docroot above docroot_max_mb",
                       ["--config", str(big), "--cert", str(cert), "--key", str(key),
                        "--docroot", str(docroot)],
                       ["docroot", str(docroot), "docroot_max_mb"])
        # the same through the config file: the file is named as well
        cfg = tmp / "tls.ini"
        cfg.write_text(f"[tls]\ncert = {cert}\nkey = {other_key}\n")
        r.expect_error("[tls] key not matching, from the config file",
                       ["--config", str(cfg)], [str(other_key), "does not match"])
        check(not r.failures, f"{len(r.failures)} of {r.runs - 1} bad setups not "
                              f"reported as expected:\n" + "\n".join(r.failures))


if __name__ == "__main__":
    main(test)
