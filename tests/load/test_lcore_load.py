#!/usr/bin/env python3
"""How busy each lcore is: an idle quicsteer reports busy % near 0 on every
worker; under load from one connection (owned by one worker) the owner's
busy % and packets per second rise well above an idle worker's, in
telemetry (/quicsteer/lcores: busy_pct, busy_pct_since_start, busy_cycles,
cycles, rx_pps, tx_pps) and in the CLI (`show lcores` busy%/all%/pps
columns, `show port stats all` Rx-pps/Tx-pps since the last show)."""
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))

from loadlib import (check, check_server_exit, load_binary, main,  # noqa: E402
                     make_cert)
from rig import SERVER_V4, Rig, temp_dir  # noqa: E402

WORKERS = 2
IDLE_S = 2.5
LOAD_S = 4
IDLE_MAX_PCT = 3        # an idle loop finds no work: only timers and control


def load_view(rig):
    lcores = rig.paged("/quicsteer/lcores")
    view = {}
    for name, v in lcores.items():
        for key in ("busy_pct", "busy_pct_since_start", "busy_cycles", "cycles",
                    "rx_pps", "tx_pps"):
            check(key in v, f"/quicsteer/lcores {name}: no {key}: {sorted(v)[:8]}...")
        view[int(name) if name.isdigit() else name] = v
    return view


def owner_of_load(rig, before):
    """The worker whose h3_requests moved most."""
    after = rig.counters()
    moved = {w: after[w]["h3_requests"] - before[w]["h3_requests"] for w in after}
    return max(moved, key=moved.get), moved


def test():
    with temp_dir("qsbusy") as tmp:
        cert, key = make_cert(tmp, "quicsteer")
        with Rig("busy", workers=WORKERS, interactive=True,
                 app_args=["--cert", cert, "--key", key, "-i"]) as rig:
            time.sleep(IDLE_S)
            idle = load_view(rig)
            print("idle: " + ", ".join(f"worker {w} busy {v['busy_pct']} % "
                                       f"(since start {v['busy_pct_since_start']} %)"
                                       for w, v in sorted(idle.items())))
            for w, v in idle.items():
                check(v["busy_pct"] <= IDLE_MAX_PCT,
                      f"worker {w} idle but busy {v['busy_pct']} % over the last second")
                check(v["cycles"] > 0 and v["busy_cycles"] <= v["cycles"],
                      f"worker {w}: busy_cycles {v['busy_cycles']} of {v['cycles']}")

            # the first show of port stats sets the start of the rate window
            rig.send_stdin("show port stats all\n", close=False)
            rig.wait_output("throughput since the last show")
            before = rig.counters()
            # one connection: its owner does the QUIC and HTTP/3 work
            proc = subprocess.Popen(
                ["ip", "netns", "exec", rig.client_ns, load_binary(), "--ca", cert,
                 "-c", "1", "-m", "16", "-D", str(LOAD_S), "-q",
                 f"https://{SERVER_V4}:{rig.port}/bytes/1000"],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            time.sleep(LOAD_S - 1.2)   # a whole last second under load
            busy = load_view(rig)
            rig.send_stdin("show lcores\nshow port stats all\n", close=False)
            try:
                out, err = proc.communicate(timeout=LOAD_S + 30)
            except subprocess.TimeoutExpired:
                proc.kill()
                raise
            check(proc.returncode == 0, f"quicsteer-load exited {proc.returncode}: {err[-800:]}")
            owner, moved = owner_of_load(rig, before)
            other = next(w for w in busy if w != owner)
            print(f"under load (requests per worker {moved}): owner {owner} busy "
                  f"{busy[owner]['busy_pct']} %, rx {busy[owner]['rx_pps']} pps, "
                  f"tx {busy[owner]['tx_pps']} pps; worker {other} busy "
                  f"{busy[other]['busy_pct']} %")
            o, n = busy[owner], busy[other]
            check(o["busy_pct"] >= 5,
                  f"the loaded worker {owner} reports only {o['busy_pct']} % busy")
            check(o["busy_pct"] > n["busy_pct"],
                  f"the loaded worker {owner} ({o['busy_pct']} %) is not busier than "
                  f"worker {other} ({n['busy_pct']} %)")
            check(o["busy_cycles"] > idle[owner]["busy_cycles"],
                  f"busy_cycles of worker {owner} did not grow under load")
            check(o["tx_pps"] > 100 and o["rx_pps"] + n["rx_pps"] > 100,
                  f"packets per second under load: owner {o}, other {n}")

            out = rig.wait_output("Tx-pps", timeout=10)
            # the second port stats show: rates over the load
            shows = out.split("throughput since the last show")
            check(len(shows) >= 3, f"two `show port stats all`, got:\n{out[-2000:]}")
            rx_pps = int(re.search(r"Rx-pps\s+(\d+)", shows[2]).group(1))
            check(rx_pps > 100, f"`show port stats all` Rx-pps {rx_pps} after a load")
            header = re.search(r"^.*worker\s+lcore.*busy%\s+all%\s+rx-pps\s+tx-pps$",
                               out, re.M)
            check(header is not None, f"`show lcores` has no busy%/pps columns:\n{out[-2000:]}")
            check_server_exit(rig)


if __name__ == "__main__":
    main(test)
