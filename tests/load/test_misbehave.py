#!/usr/bin/env python3
"""Peers that misbehave: quicsteer-load never crashes, never hangs past
its timeout, and counts every connection that died. A server that stays
silent, answers garbage, echoes our packets, corrupts or truncates them
fails every connection as a timeout (or a failed handshake), every request
as failed, within the --timeout bound. A server that goes away in the
middle of a -D run leaves the client to finish on time, with the lost
connections counted. Datagrams lost in the client's own full receive
buffer are counted (datagrams.receive_dropped), not taken for the
server's."""
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from loadlib import (SERVER_V4, Net, Site, check, check_eq, die_with_parent, load_binary,
                     main, summary, url)

BAD_PORT = 4440
C, N = 3, 6
TIMEOUT = 1          # quicsteer-load --timeout for these runs, seconds


def bad_server(net, mode, seconds=20, pipes=False):
    pipe = subprocess.PIPE if pipes else subprocess.DEVNULL
    proc = subprocess.Popen(["ip", "netns", "exec", net.server_ns, sys.executable,
                             str(Path(__file__).with_name("bad_server.py")), mode,
                             SERVER_V4, str(BAD_PORT), str(seconds)],
                            stdin=pipe, stdout=pipe if pipes else None, text=True,
                            preexec_fn=die_with_parent)
    net.track(proc)
    deadline = time.monotonic() + 5
    while True:
        out = subprocess.run(["ip", "netns", "exec", net.server_ns, "ss", "-Hlun",
                              f"sport = :{BAD_PORT}"], capture_output=True, text=True,
                             timeout=5).stdout
        if f":{BAD_PORT}" in out:
            return proc
        check(proc.poll() is None and time.monotonic() < deadline,
              f"bad_server.py {mode} did not start")
        time.sleep(0.05)


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def test():
    with Net("misbhv") as net:
        site = Site(net.tmp)
        for mode in ("silent", "garbage", "echo", "flip", "short"):
            proc = bad_server(net, mode)
            r = net.load(["--insecure", "--timeout", TIMEOUT, "-c", C, "-n", N,
                          url("/1k.bin", port=BAD_PORT)], timeout=30, json_report=True)
            stop(proc)
            rep = r.report
            errors = rep["errors"]
            print(f"{mode}: exit {r.rc} after {r.seconds:.2f} s; {summary(rep)}")
            check(r.rc == 1, f"{mode}: exit code {r.rc}: {r.describe()}")
            check(r.seconds < TIMEOUT + 4, f"{mode}: took {r.seconds:.1f} s")
            check_eq(rep["requests"]["completed"], 0, f"{mode}: requests completed")
            check_eq(rep["requests"]["failed"], N, f"{mode}: requests failed")
            check_eq(rep["connections"]["failed"], C, f"{mode}: connections failed")
            check_eq(errors["timeout"] + errors["handshake_failed"] + errors["other"], C,
                     f"{mode}: connection errors {errors}")
            if mode == "silent":
                check_eq(errors["timeout"], C, f"{mode}: timeouts")

        # the real server goes away in the middle of a -D run
        server = net.start_gtlsserver(site)
        duration = 3
        load = subprocess.Popen(
            ["ip", "netns", "exec", net.client_ns, *load_argv(site, duration)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=die_with_parent)
        time.sleep(1)
        stop(server)
        try:
            out, err = load.communicate(timeout=duration + TIMEOUT + 10)
        except subprocess.TimeoutExpired:
            load.kill()
            load.communicate()
            raise
        rep = json.loads(out)
        print(f"server stopped during -D {duration}: exit {load.returncode}; {summary(rep)}")
        check(load.returncode == 1, f"server gone: exit {load.returncode}: {err.decode()}")
        check(rep["requests"]["completed"] > 0, "server gone: nothing completed before")
        check(rep["connections"]["failed"] >= 1, "server gone: no connection failed")
        check(rep["elapsed_s"] < duration + 3, f"server gone: ran {rep['elapsed_s']} s")
        check("ERROR: " not in err.decode(), f"server gone: sanitizer: {err.decode()[-3000:]}")

        test_client_drops(net)


def test_client_drops(net):
    """The client stopped (SIGSTOP) while a server floods it: what its
    socket could not hold is counted, and with what it read adds up to
    what was sent."""
    flood = 10000
    server = bad_server(net, "flood", pipes=True)
    client = subprocess.Popen(
        ["ip", "netns", "exec", net.client_ns, load_binary(), "--insecure", "--timeout", "3",
         "--json", "-c", "1", "-n", "1", url("/1k.bin", port=BAD_PORT)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=die_with_parent)
    net.track(client)
    check_eq(server.stdout.readline().strip(), "got", "flood: the client's first datagram")
    client.send_signal(signal.SIGSTOP)
    server.stdin.write("go\n")
    server.stdin.flush()
    check_eq(server.stdout.readline().strip(), "flooded", "flood: sent")
    client.send_signal(signal.SIGCONT)
    out, err = client.communicate(timeout=15)
    stop(server)
    rep = json.loads(out)
    d = rep["datagrams"]
    print(f"flood of {flood} while stopped: received {d['received']}, dropped "
          f"{d['receive_dropped']}; exit {client.returncode}")
    check(d["receive_dropped"] > 0, f"flood: no drop counted: {d}")
    check_eq(d["received"] + d["receive_dropped"], flood,
             "flood: datagrams received + dropped in the client's buffer")
    check("ERROR: " not in err.decode(), f"flood: sanitizer: {err.decode()[-3000:]}")


def load_argv(site, duration):
    return [load_binary(), "--timeout", str(TIMEOUT), "--json", "--ca", site.cert,
            "-c", str(C), "-m", "2", "-D", str(duration), url("/1k.bin")]


if __name__ == "__main__":
    main(test)
