#!/usr/bin/env python3
"""[quic] retry = on: every new client gets a Retry first (address
validation, RFC 9000 8.1.2), comes back with the token, completes the
handshake and downloads the right bytes, over IPv4 and IPv6; one Retry per
connection (quic_retries_sent); the server then hands out a NEW_TOKEN."""
from h3 import Site, check_body, check_clean_exit, check_ok, fetch
from rig import Rig, check, check_eq, delta, main, temp_dir, total

CONFIG = """[quic]
retry = on
"""


def test():
    with temp_dir("h3retry") as tmp:
        site = Site(tmp)
        with Rig("h3retry", workers=4, config=CONFIG,
                 app_args=site.server_args()) as rig:
            for family in (4, 6):
                before = rig.counters()
                r = fetch(rig, ["/1m.bin", "/1k.bin"], tmp / f"v{family}", family=family,
                          quiet=False)
                check_ok(r, f"IPv{family} client behind Retry")
                check("type=Retry" in r.out,
                      f"IPv{family}: the client received no Retry:\n{r.tail()}")
                check_body(r, "1m.bin", site.sha("1m.bin"), f"IPv{family} /1m.bin")
                check_body(r, "1k.bin", site.sha("1k.bin"), f"IPv{family} /1k.bin")
                d = delta(before, rig.wait_counters(
                    lambda s: total(delta(before, s), "h3_responses_2xx") >= 2, 5))
                check_eq(total(d, "quic_retries_sent"), 1, f"IPv{family}: quic_retries_sent")
                check_eq(total(d, "quic_handshakes_completed"), 1,
                         f"IPv{family}: quic_handshakes_completed")
                check_eq(total(d, "quic_conn_accepted"), 1, f"IPv{family}: quic_conn_accepted")
                check_eq(total(d, "quic_drop_bad_token"), 0, f"IPv{family}: quic_drop_bad_token")
                check_eq(total(d, "h3_responses_2xx"), 2, f"IPv{family}: h3_responses_2xx")
                print(f"IPv{family}: Retry, then 2 files in {r.seconds:.2f} s")

                # the server hands out a NEW_TOKEN for the next connection
                # (gtlsclient 0.12 cannot read back its --token-file, so
                # reuse is not tested here)
                check("NEW_TOKEN" in r.out,
                      f"IPv{family}: no NEW_TOKEN frame from the server:\n{r.tail()}")

            rc, out = rig.stop()
            check_clean_exit(rig, rc, out)


if __name__ == "__main__":
    main(test)
