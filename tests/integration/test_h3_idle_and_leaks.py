#!/usr/bin/env python3
"""Connections end and nothing is left behind. Clients that close
(CONNECTION_CLOSE), clients that stay until the idle timeout, and clients
killed mid-download (they vanish): once idle_timeout_ms has passed,
quic_conn_active is 0 on every worker, /quicsteer/conns lists none and
quic_conn_closed equals quic_conn_accepted, and /quicsteer/memory says
ngtcp2 and nghttp3 hold nothing, in the workers' allocators or in libc's
heap (while the clients ran, their objects were in the workers'
allocators). Then SIGTERM: quicsteer exits 0
(under ASan LeakSanitizer runs at that exit; its report, or any sanitizer
report, fails the test)."""
import signal
import time

from h3 import Client, Site, check_body, check_clean_exit, check_ok, wait_until
from rig import Rig, check, check_eq, main, temp_dir

IDLE_MS = 2000
CONFIG = f"""[quic]
idle_timeout_ms = {IDLE_MS}
"""
GROUP = 4               # clients of each kind
BIG = 1_000_000_000     # /bytes/N a killed client was downloading
# after the last client: idle timeout, a few PTOs of retransmissions to a
# vanished peer, the closing period; generous for a loaded 2-CPU machine
SETTLE_S = IDLE_MS / 1000 + 10


def gauge(rig):
    lc = rig.counters()
    return ({w: c["quic_conn_active"] for w, c in lc.items()},
            sum(c["quic_conn_accepted"] for c in lc.values()),
            sum(c["quic_conn_closed"] for c in lc.values()))


def test():
    with temp_dir("h3idle") as tmp:
        site = Site(tmp)
        with Rig("h3idle", workers=4, config=CONFIG,
                 app_args=site.server_args()) as rig:
            closing, staying, vanishing = [], [], []
            for i in range(GROUP):
                fam = 6 if i % 2 else 4
                closing.append(Client(rig, ["/1m.bin", "/1k.bin"], tmp / f"close{i}",
                                      family=fam))
                staying.append(Client(rig, ["/1m.bin"], tmp / f"stay{i}", family=fam,
                                      exit_on_close=False))
                vanishing.append(Client(rig, [f"/bytes/{BIG}"], tmp / f"gone{i}",
                                        family=fam))

            # kill the downloaders once their bodies are arriving
            def arriving():
                return all((c.download / str(BIG)).exists() and
                           (c.download / str(BIG)).stat().st_size > 0 for c in vanishing)
            check(wait_until(arriving, 30), "the /bytes downloads did not start within 30 s")
            for c in vanishing:
                c.signal(signal.SIGKILL)
            killed = time.monotonic()
            for i, c in enumerate(vanishing):
                r = c.wait(10)
                check(r.rc == -signal.SIGKILL, f"vanishing client {i}: {r.describe()}")
            # the server cannot know yet: their connections are still there
            mem = rig.telemetry("/quicsteer/memory")
            # the workers' allocators hold the libraries' objects and,
            # beyond them, quicsteer's connection structs (about 2 KiB each)
            held = mem["lcore_alloc_in_use"] - mem["ngtcp2"] - mem["nghttp3"]
            check(mem["lcore_alloc_in_use"] > 0 and mem["lcore_alloc_spans"] > 0 and
                  mem["conns"] > 0 and 0 < held <= mem["conns"] * 4096,
                  f"/quicsteer/memory with connections open: {mem}")
            active, _, _ = gauge(rig)
            check(sum(active.values()) >= GROUP,
                  f"right after killing {GROUP} clients mid-download only "
                  f"{sum(active.values())} connections are active: {active}")

            for i, c in enumerate(closing):
                r = c.wait(60)
                check_ok(r, f"closing client {i}")
                check_body(r, "1m.bin", site.sha("1m.bin"), f"closing client {i} /1m.bin")
            for i, c in enumerate(staying):
                # without --exit-on-all-streams-close it ends at the idle timeout
                r = c.wait(60)
                check(not r.timed_out, f"staying client {i}: {r.describe()}")
                check_body(r, "1m.bin", site.sha("1m.bin"), f"staying client {i} /1m.bin")
            last = time.monotonic()

            active, accepted, closed = gauge(rig)
            print(f"after the clients: active per worker {active}, "
                  f"accepted {accepted}, closed {closed}")
            check_eq(accepted, 3 * GROUP, "quic_conn_accepted")

            def settled():
                a, acc, clo = gauge(rig)
                return all(v == 0 for v in a.values()) and acc == clo
            wait_until(settled, SETTLE_S, interval=0.2)
            active, accepted, closed = gauge(rig)
            print(f"{time.monotonic() - killed:.1f} s after the kill, "
                  f"{time.monotonic() - last:.1f} s after the last client: active per worker {active}, "
                  f"accepted {accepted}, closed {closed}")
            for w, n in active.items():
                check_eq(n, 0, f"worker {w}: quic_conn_active {SETTLE_S:.0f} s after the "
                                f"last client (idle_timeout_ms {IDLE_MS})")
            check_eq(closed, accepted, "quic_conn_closed vs quic_conn_accepted")
            conns = rig.telemetry("/quicsteer/conns")
            check(isinstance(conns, dict), f"/quicsteer/conns answered {conns!r}")
            check_eq(conns["per_worker"], [0] * rig.workers, "/quicsteer/conns per_worker")
            check_eq(conns["busiest"], {}, "/quicsteer/conns busiest")
            mem = rig.telemetry("/quicsteer/memory")
            print(f"/quicsteer/memory with no connection: {mem}")
            for key in ("ngtcp2", "nghttp3", "lcore_alloc_in_use", "lcore_alloc_fallbacks"):
                check_eq(mem[key], 0, f"/quicsteer/memory {key} with no connection left")

            rc, out = rig.stop()
            check_clean_exit(rig, rc, out)
            check("workers did not stop in time" not in out,
                  f"workers had to be forced to stop:\n{out[-2000:]}")


if __name__ == "__main__":
    main(test)
