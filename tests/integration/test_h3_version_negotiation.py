#!/usr/bin/env python3
"""A client offering a QUIC version the server does not speak gets a
Version Negotiation packet listing QUIC v1 (RFC 9000 6): the client reports
it and stops at once, no connection is created, quic_version_negotiations_sent
moves by one per attempt, over IPv4 and IPv6; a v1 client right after is
served as usual."""
from h3 import Site, check_body, check_clean_exit, check_ok, fetch
from rig import Rig, check, check_eq, delta, main, temp_dir, total

UNSUPPORTED = ["0xff00abcd", "0x1a2a3a4a"]


def test():
    with temp_dir("h3vn") as tmp:
        site = Site(tmp)
        with Rig("h3vn", workers=4, app_args=site.server_args()) as rig:
            attempts = 0
            before = rig.counters()
            for family in (4, 6):
                for version in UNSUPPORTED:
                    r = fetch(rig, ["/1k.bin"], tmp / f"vn{family}{version}", family=family,
                              quiet=False, args=["-v", version], timeout=20)
                    what = f"IPv{family} client offering version {version}"
                    check(not r.timed_out and r.seconds < 5,
                          f"{what}: no prompt end; {r.describe()}")
                    check("ERR_RECV_VERSION_NEGOTIATION" in r.out and "type=VN" in r.out,
                          f"{what}: the client reports no Version Negotiation:\n{r.tail()}")
                    check("VN v=0x00000001" in r.out,
                          f"{what}: the Version Negotiation does not offer QUIC v1:\n{r.tail()}")
                    check(not r.file("1k.bin").exists() or r.file("1k.bin").stat().st_size == 0,
                          f"{what}: got a body")
                    attempts += 1
            d = delta(before, rig.wait_counters(
                lambda s: total(delta(before, s), "quic_version_negotiations_sent") >= attempts, 3))
            check_eq(total(d, "quic_version_negotiations_sent"), attempts,
                     "quic_version_negotiations_sent moved by")
            check_eq(total(d, "quic_conn_accepted"), 0, "quic_conn_accepted after VN only")
            print(f"{attempts} Version Negotiation packets for {attempts} attempts")

            # QUIC v1 works right after
            before = rig.counters()
            r = fetch(rig, ["/1k.bin"], tmp / "v1", args=["-v", "v1"])
            check_ok(r, "QUIC v1 client after the VN attempts")
            check_body(r, "1k.bin", site.sha("1k.bin"), "QUIC v1 /1k.bin")
            d = delta(before, rig.counters())
            check_eq(total(d, "quic_version_negotiations_sent"), 0,
                     "quic_version_negotiations_sent for a v1 client")

            rc, out = rig.stop()
            check_clean_exit(rig, rc, out)


if __name__ == "__main__":
    main(test)
