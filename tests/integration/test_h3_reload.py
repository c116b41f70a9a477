#!/usr/bin/env python3
"""Reload without restart (SIGHUP, the CLI's `reload`): the configuration
file, the certificate chain and key and the document root are read again;
new connections get the new credentials, new requests the new content,
and what is in flight keeps what it started with.

1. Under load, SIGHUP after the certificate, its key and a file of the
   document root were replaced at the same paths (certbot's way):
   - quicsteer-load across the reload (a new connection every 10 requests,
     both certificates trusted): every request completes;
   - a download that started before the reload ends with the old bytes;
     a new request for the same path gets the new ones;
   - a new connection shows the new certificate: gtlsclient's dump of the
     decrypted handshake carries its DER and not the old one's, and
     quicsteer-load trusting only the new certificate succeeds where one
     trusting only the old fails its handshake;
   - a reloadable setting ([http] bytes_max) takes effect;
   - /quicsteer/reload: generation 2; the old generation stays retired
     while the old download holds its store and is freed after it.
2. Broken reloads change nothing and say what is wrong, as a start would:
   a key that does not match, a certificate that is not PEM, a missing
   document root, a syntax error, and settings only a restart changes
   (named). After each the server goes on serving the old certificate and
   content; `show reload` and /quicsteer/reload count the refusals."""
import base64
import os
import re
import shutil
import signal
import subprocess
import time

from fleet import Load, check_load, load_summary
from h3 import (Client, check_body, check_clean_exit, check_ok, make_cert, sha256_bytes,
                wait_until)
from nat import limit_download
from rig import (SERVER_V4, Rig, binary, check, check_eq, lcores_option, main,
                 quicsteer_binary, remove_runtime_dir, temp_dir)

WORKERS = 2
BIG = 16 << 20                 # the in-flight download: ~2.7 s at 50 Mbit/s
LOAD_SECONDS = 6
HEX_LINE_RE = re.compile(r"^[0-9a-f]{8}  ((?:[0-9a-f]{2} {1,2}){1,16})", re.M)


def config(d, bytes_max=1 << 30, extra=""):
    return (f"[tls]\ncert = {d / 'live.cert.pem'}\nkey = {d / 'live.key.pem'}\n"
            f"[http]\ndocroot = {d / 'www'}\nbytes_max = {bytes_max}\n{extra}")


def install(d, name):
    """Makes certificate `name` the live one: new files renamed over the
    old paths, as certbot and most deploy scripts do."""
    for part in ("cert", "key"):
        tmp = d / f"live.{part}.pem.new"
        shutil.copyfile(d / f"{name}.{part}.pem", tmp)
        tmp.rename(d / f"live.{part}.pem")


def put(path, data):
    tmp = path.with_name(path.name + ".new")
    tmp.write_bytes(data)
    tmp.rename(path)


def der(cert_path):
    text = cert_path.read_text()
    body = text.split("-----BEGIN CERTIFICATE-----")[1].split("-----END CERTIFICATE-----")[0]
    return base64.b64decode("".join(body.split()))


def dumped_bytes(output):
    """The bytes of gtlsclient's hex dumps (CRYPTO and STREAM data), in order."""
    return b"".join(bytes.fromhex(m.group(1).replace(" ", ""))
                    for m in HEX_LINE_RE.finditer(output))


def load_get(rig, ca, path, timeout=30):
    """quicsteer-load --get of path, trusting only ca: (exit code, stdout, stderr)."""
    argv = [binary("QUICSTEER_LOAD", "app/quicsteer-load/quicsteer-load"), "--ca", ca,
            "--timeout", "5", "--get", f"https://{SERVER_V4}:{rig.port}{path}"]
    p = subprocess.run(["ip", "netns", "exec", rig.client_ns, *map(str, argv)],
                       capture_output=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr.decode(errors="replace")


def reload_status(rig):
    st = rig.telemetry("/quicsteer/reload")
    check(isinstance(st, dict) and "generation" in st, f"/quicsteer/reload answered {st}")
    return st


def rotate_under_load(rig, d):
    old_big = (d / "www" / "big.bin").read_bytes()
    rig.start(workers=WORKERS, app_args=["--config", d / "quicsteer.ini"])
    limit_download(rig, rate="50mbit")
    check_eq(reload_status(rig)["generation"], 1, "generation at start")
    rc, body, err = load_get(rig, d / "a.cert.pem", "/version.txt")
    check(rc == 0 and body == b"generation A\n", f"before: exit {rc}, {body!r}: {err}")

    inflight = Client(rig, ["/big.bin"], d / "inflight")
    check(wait_until(lambda: (d / "inflight" / "big.bin").exists() and
                     (d / "inflight" / "big.bin").stat().st_size > 0, 20),
          "the download did not start within 20 s")
    load = Load(rig, ["--ca", d / "both.pem", "-c", 4, "-m", 2, "--conn-requests", 10,
                      "-D", LOAD_SECONDS, f"https://{SERVER_V4}:{rig.port}/version.txt"],
                "across-reload")
    time.sleep(1.5)

    install(d, "b")
    put(d / "www" / "version.txt", b"generation B\n")
    new_big = os.urandom(BIG)
    put(d / "www" / "big.bin", new_big)
    (d / "quicsteer.ini").write_text(config(d, bytes_max=1000))
    rig.proc.send_signal(signal.SIGHUP)
    check(wait_until(lambda: reload_status(rig)["generation"] == 2, 10),
          f"SIGHUP: no generation 2 within 10 s: {reload_status(rig)}\n{rig.output()[-2000:]}")
    during = reload_status(rig)
    inflight_running = inflight.running()

    rep = load.wait()
    print(f"quicsteer-load across the reload: {load_summary(rep)}")
    check_load(rep, "quicsteer-load across the reload")
    check(rep["connections"]["handshakes"] >= 8,
          f"too few new connections to span the reload: {rep['connections']}")

    r = inflight.wait(60)
    check_ok(r, "the download in flight at the reload")
    check_body(r, "big.bin", sha256_bytes(old_big), "the download in flight at the reload")
    check(wait_until(lambda: reload_status(rig)["retired_in_use"] == 0, 10),
          f"generation 1 not freed 10 s after its last response: {reload_status(rig)}")
    after = reload_status(rig)
    print(f"/quicsteer/reload right after SIGHUP {during} (download in flight: "
          f"{inflight_running}); after the download {after}")
    if inflight_running:
        check_eq(during["retired_in_use"], 1,
                 "retired generations while a response of generation 1 ran")
    check(after["last_ok"] == 1 and after["reloads"] == 1 and after["refused"] == 0,
          f"/quicsteer/reload after one reload: {after}")
    out = rig.wait_output("reload: generation 1 freed", timeout=5)
    check("reload: generation 2 from " in out, f"no reload line in the log:\n{out[-2000:]}")

    # new requests: the new content; a new connection: the new certificate
    fresh = Client(rig, ["/big.bin"], d / "fresh")
    check_body(fresh.wait(60), "big.bin", sha256_bytes(new_big), "a download after the reload")
    rc, body, err = load_get(rig, d / "b.cert.pem", "/version.txt")
    check(rc == 0 and body == b"generation B\n",
          f"trusting only the new certificate: exit {rc}, {body!r}: {err}")
    rc, body, err = load_get(rig, d / "a.cert.pem", "/version.txt")
    check(rc != 0 and "handshake failed" in err,
          f"trusting only the old certificate should fail: exit {rc}, {body!r}: {err}")
    shown = Client(rig, ["/version.txt"], d / "shown", quiet=False, quic_dump=True).wait()
    check_ok(shown, "gtlsclient after the reload")
    dumped = dumped_bytes(shown.out)
    check(der(d / "b.cert.pem") in dumped and der(d / "a.cert.pem") not in dumped,
          f"gtlsclient's handshake dump ({len(dumped)} bytes) does not carry the new "
          f"certificate alone:\n{shown.tail()}")
    print(f"after: the new certificate in gtlsclient's handshake ({len(dumped)} bytes "
          f"dumped); the old one refused by quicsteer-load: {err.strip()[-120:]}")

    # a reloadable setting: bytes_max went from 1 GiB to 1000
    rc, body, err = load_get(rig, d / "b.cert.pem", "/bytes/2000")
    check(rc != 0 and (b"bytes_max" in body or "400" in err),
          f"/bytes/2000 with bytes_max = 1000: exit {rc}, {body[:200]!r}, {err[-300:]}")
    rc, _, err = load_get(rig, d / "b.cert.pem", "/bytes/1000")
    check_eq(rc, 0, f"/bytes/1000 with bytes_max = 1000 ({err})")
    rc, out = rig.stop()
    check_clean_exit(rig, rc, out)


def start_error(rig, ini):
    """What quicsteer says when it starts with the config file ini (it must
    not start), with ini's own name where it names the file. No port: it
    stops before it would open one."""
    path = rig.write_file("start-check.ini", ini.read_text())
    prefix = f"{rig.prefix}-check"
    try:
        p = subprocess.run([quicsteer_binary(), "--no-huge", "--no-pci", "-m", "64",
                            "--file-prefix", prefix, "--lcores", lcores_option(1),
                            "--", "--addr", SERVER_V4, "--config", path],
                           capture_output=True, text=True, timeout=60)
    finally:
        remove_runtime_dir(prefix)
    check(p.returncode != 0, f"quicsteer started with a broken config:\n{p.stdout}")
    lines = [l for l in (p.stderr + p.stdout).splitlines() if "config error" in l]
    check(lines, f"no 'config error' line at start:\n{p.stderr}{p.stdout}")
    return lines[0].split("config error: ", 1)[1].replace(path, str(ini))


def broken_reloads(rig, d):
    install(d, "a")
    put(d / "www" / "version.txt", b"generation A\n")
    ini = d / "quicsteer.ini"
    ini.write_text(config(d))
    rig.start(workers=WORKERS, interactive=True, app_args=["--config", ini, "-i"])
    good = ini.read_text()
    other_key = d / "other.key.pem"

    def try_reload(label, expect, as_at_start=True):
        n = rig.output().count("reload refused")
        rig.send_stdin("reload\n", close=False)
        out = rig.wait_output("reload refused", timeout=10)
        check(wait_until(lambda: rig.output().count("reload refused") >= n + 2, 5),
              f"{label}: the refusal is not both logged and answered:\n{out[-1500:]}")
        line = [l for l in rig.output().splitlines() if "reload refused" in l][-1]
        check(expect in line, f"{label}: refusal {line!r} does not say {expect!r}")
        if as_at_start:
            said = start_error(rig, ini)
            check(said in line, f"{label}: the reload said {line!r}, a start says {said!r}")
        rc, body, err = load_get(rig, d / "a.cert.pem", "/version.txt")
        check(rc == 0 and body == b"generation A\n",
              f"{label}: not serving as before: exit {rc}, {body!r}: {err}")
        print(f"{label}: {line.strip()}")

    shutil.copyfile(d / "live.key.pem", d / "saved.key.pem")
    shutil.copyfile(other_key, d / "live.key.pem")
    try_reload("key of another certificate", "does not match")
    shutil.copyfile(d / "saved.key.pem", d / "live.key.pem")

    shutil.copyfile(d / "live.cert.pem", d / "saved.cert.pem")
    (d / "live.cert.pem").write_text("not a certificate\n")
    try_reload("a certificate that is not PEM", "[tls] cert")
    shutil.copyfile(d / "saved.cert.pem", d / "live.cert.pem")

    ini.write_text(good.replace(str(d / "www"), str(d / "no-such-dir")))
    try_reload("a missing document root", "no-such-dir")

    ini.write_text(good + "[quic]\nidle_timeout_ms 5000\n")
    try_reload("a line without '='", "idle_timeout_ms")

    ini.write_text(good + "[quic]\nmax_conns = 77\n[dataplane]\nburst = 16\n")
    try_reload("settings only a restart changes", "[dataplane] burst, [quic] max_conns",
               as_at_start=False)

    st = reload_status(rig)
    check(st["generation"] == 1 and st["refused"] == 5 and st["reloads"] == 0 and
          st["last_ok"] == 0, f"/quicsteer/reload after 5 refusals: {st}")
    ini.write_text(good)
    rig.send_stdin("reload\nshow reload\n", close=False)
    rig.wait_output("generation 2: 1 reloads applied, 5 refused", timeout=10)
    rig.send_stdin("quit\n")
    rc, out = rig.wait_exit(15)
    check_clean_exit(rig, rc, out)


def test():
    with temp_dir("h3reload") as tmp:
        make_cert(tmp, "a")
        make_cert(tmp, "b")
        make_cert(tmp, "other")
        (tmp / "both.pem").write_text((tmp / "a.cert.pem").read_text() +
                                      (tmp / "b.cert.pem").read_text())
        www = tmp / "www"
        www.mkdir()
        (www / "version.txt").write_bytes(b"generation A\n")
        (www / "big.bin").write_bytes(os.urandom(BIG))
        install(tmp, "a")
        (tmp / "quicsteer.ini").write_text(config(tmp))
        with Rig("h3reload", start=False) as rig:
            rotate_under_load(rig, tmp)
            broken_reloads(rig, tmp)


if __name__ == "__main__":
    main(test)
