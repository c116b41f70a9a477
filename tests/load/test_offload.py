#!/usr/bin/env python3
"""UDP offloads on and off give the same run: quicsteer-load against
gtlsserver, -c 2 -m 8 -n 200 with a 6000-byte request header (so a write
pass holds several full-size datagrams, a GSO train), with GSO and GRO on
(when the kernel takes them), --no-gso, --no-gro and both off. Every run
completes every request with the same status codes and body bytes; the
report says which offloads were on; with GSO on the client sent GSO
trains, with --no-gso none, with --no-gro no buffer held several
datagrams; and -v names what is on and off."""
from loadlib import (FILES, Net, Site, check, check_all_completed, check_eq, main,
                     summary, url)

C, M, N = 2, 8, 200
PAD = "x-pad:" + "p" * 6000
RUNS = [[], ["--no-gso"], ["--no-gro"], ["--no-gso", "--no-gro"]]


def test():
    with Net("offload") as net:
        site = Site(net.tmp)
        net.start_gtlsserver(site)
        ca = ["--ca", site.cert]
        uris = [url("/1k.bin"), url("/hello.txt")]
        body = (N // 2) * FILES["1k.bin"] + (N // 2) * len(site.bytes("hello.txt"))
        kernel_gso = None

        for flags in RUNS:
            what = " ".join(flags) or "offloads on"
            r = net.load([*ca, "-c", C, "-m", M, "-n", N, "-H", PAD, *flags, *uris],
                         json_report=True)
            rep = r.report
            off = rep["udp_offload"]
            print(f"{what}: {summary(rep)}; datagrams {rep['datagrams']}; {off}")
            check_all_completed(r, N, what)
            check_eq(rep["status"]["2xx"], N, f"{what}: 2xx responses")
            check_eq(rep["bytes"]["body"], body, f"{what}: body bytes")
            check(rep["datagrams"]["send_calls"] <= rep["datagrams"]["sent"] and
                  rep["datagrams"]["receive_calls"] > 0,
                  f"{what}: datagrams {rep['datagrams']}")
            if not flags:
                kernel_gso = off["gso"]
                if kernel_gso:
                    check(off["gso_sends"] > 0,
                          f"{what}: GSO on, yet no GSO train went out: {off}")
            if "--no-gso" in flags:
                check(not off["gso"] and off["gso_sends"] == 0,
                      f"{what}: GSO used: {off}")
            if "--no-gro" in flags:
                check(not off["gro"] and off["gro_receives"] == 0,
                      f"{what}: GRO used: {off}")
        print(f"the kernel took UDP GSO: {kernel_gso}")

        r = net.load([*ca, "-v", "--no-gro", url("/hello.txt")])
        check(r.rc == 0, f"-v --no-gro: {r.describe()}")
        check("GRO off (--no-gro)" in r.stderr,
              f"-v does not say GRO is off: {r.stderr[:500]}")


if __name__ == "__main__":
    main(test)
