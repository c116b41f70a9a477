#!/usr/bin/env python3
"""[quic] max_conns = 1 on one worker: while one client holds its
connection open, new clients (IPv4 and IPv6) are refused at once with
CONNECTION_REFUSED and quic_conn_refused counts them; the held connection
is unharmed; once it has gone (idle timeout) a new client is served."""
import time

from h3 import Client, Site, check_body, check_clean_exit, check_ok, fetch, wait_until
from rig import Rig, check, check_eq, delta, main, temp_dir, total

IDLE_MS = 4000
REFUSE_MS = 1000        # before the client's first Initial retransmission
CONFIG = f"""[quic]
max_conns = 1
idle_timeout_ms = {IDLE_MS}
"""


def active(rig):
    return total(rig.counters(), "quic_conn_active")


def test():
    with temp_dir("h3max") as tmp:
        site = Site(tmp)
        with Rig("h3max", workers=1, config=CONFIG, app_args=site.server_args()) as rig:
            before = rig.counters()
            # the holder: downloads, then keeps its connection until idle
            holder = Client(rig, ["/1m.bin"], tmp / "holder", exit_on_close=False)
            check(wait_until(lambda: (holder.download / "1m.bin").exists() and
                             (holder.download / "1m.bin").stat().st_size == (1 << 20), 20),
                  "the holding client did not get its file within 20 s")
            check_eq(active(rig), 1, "quic_conn_active with the holder connected")
            held_at = time.monotonic()

            refused = 0
            for family in (4, 6):
                r = fetch(rig, ["/1k.bin"], tmp / f"refused{family}", family=family,
                          quiet=False, timeout=15)
                what = f"IPv{family} client beyond max_conns"
                close = r.close_received()
                check(close is not None and close[1].startswith("CONNECTION_REFUSED"),
                      f"{what}: no CONNECTION_REFUSED from the server (close: {close}); "
                      f"{r.describe()}")
                check(close[0] <= REFUSE_MS and not r.timed_out and r.seconds < 10,
                      f"{what}: refused {close[0]} ms after its first Initial, the client "
                      f"ended after {r.seconds:.1f} s; {r.describe()}")
                check(not r.file("1k.bin").exists() or r.file("1k.bin").stat().st_size == 0,
                      f"{what}: got a body")
                refused += 1
                print(f"{what}: refused {close[0]} ms after its first Initial, "
                      f"the client ended after {r.seconds:.2f} s")
            check(time.monotonic() - held_at < IDLE_MS / 1000,
                  "the refusals took longer than the holder's idle timeout: "
                  "the test proves nothing")
            d = delta(before, rig.counters())
            check_eq(total(d, "quic_conn_refused"), refused, "quic_conn_refused moved by")
            check_eq(total(d, "quic_conn_accepted"), 1, "quic_conn_accepted moved by")

            # the holder ends by the idle timeout, its file intact
            r = holder.wait(IDLE_MS / 1000 + 30)
            check(not r.timed_out, f"holding client: {r.describe()}")
            check_body(r, "1m.bin", site.sha("1m.bin"), "holding client /1m.bin")
            check(wait_until(lambda: active(rig) == 0, IDLE_MS / 1000 + 10, 0.1),
                  f"quic_conn_active still {active(rig)} after the holder left")

            # the slot is free again
            r = fetch(rig, ["/1k.bin"], tmp / "after")
            check_ok(r, "client after the holder left")
            check_body(r, "1k.bin", site.sha("1k.bin"), "client after the holder left")
            d = delta(before, rig.counters())
            check_eq(total(d, "quic_conn_refused"), refused, "quic_conn_refused at the end")
            check_eq(total(d, "quic_conn_accepted"), 2, "quic_conn_accepted at the end")

            rc, out = rig.stop()
            check_clean_exit(rig, rc, out)


if __name__ == "__main__":
    main(test)
