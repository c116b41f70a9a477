#!/usr/bin/env python3
"""Single-request mode (curl-like): quicsteer-load with one URI and -n 1
-c 1 prints the body to stdout, byte for byte, over IPv4 and IPv6, and
exits 0; a 404 exits non-zero with the status on stderr and no body; a
port nobody listens on fails fast; a bad URI is a usage error (2)."""
from loadlib import Net, Site, check, check_eq, main, url

SERVER_NOT_THERE = 4499


def test():
    with Net("single") as net:
        site = Site(net.tmp)
        net.start_gtlsserver(site)
        ca = ["--ca", site.cert]

        for name, family in (("hello.txt", 4), ("1m.bin", 4), ("100k.bin", 6)):
            r = net.load([*ca, url(f"/{name}", family)])
            check(r.rc == 0, f"GET /{name} (IPv{family}): {r.describe()}")
            want = site.bytes(name)
            check(r.stdout == want,
                  f"GET /{name} (IPv{family}): stdout has {len(r.stdout)} bytes, "
                  f"expected the file's {len(want)}")
            print(f"GET /{name} over IPv{family}: {len(want)} bytes, "
                  f"identical, in {r.seconds:.2f} s")

        # --get asks for the mode explicitly, whatever -n says
        r = net.load([*ca, "--get", "-n", "5", url("/hello.txt")])
        check(r.rc == 0 and r.stdout == site.bytes("hello.txt"),
              f"--get: {r.describe()}")

        r = net.load([*ca, url("/no-such-file")])
        check(r.rc != 0, f"GET of a missing file exited 0: {r.describe()}")
        check("404" in r.stderr, f"404: the status is not on stderr: {r.describe()}")
        check_eq(r.stdout, b"", "404: stdout")
        print(f"404: exit {r.rc}, stderr: {r.stderr.strip()}")

        r = net.load([*ca, url("/hello.txt", port=SERVER_NOT_THERE)], timeout=30)
        check(r.rc != 0, f"nobody listening, yet exit 0: {r.describe()}")
        check(r.seconds < 4, f"nobody listening: took {r.seconds:.1f} s to fail")
        print(f"closed port: exit {r.rc} after {r.seconds:.2f} s: {r.stderr.strip()}")

        r = net.load([*ca, "http://198.18.0.1/"])
        check_eq(r.rc, 2, f"a non-https URI: exit code ({r.describe()})")


if __name__ == "__main__":
    main(test)
