#!/usr/bin/env python3
"""Certificate checks: --ca with the server's certificate succeeds over
IPv4 and IPv6 (the address is matched against the certificate's IP
addresses); a different CA fails every connection with "handshake
failed", in the JSON report and on stderr, and exits non-zero; so does a
certificate for other addresses; --insecure accepts anything."""
from loadlib import Net, Site, check, check_all_completed, check_eq, main, make_cert, url

N, C = 8, 2
ELSEWHERE_PORT = 4434

OTHER_ADDR_TEMPLATE = """cn = somewhere-else
ip_address = 198.19.0.1
tls_www_server
signing_key
expiration_days = 30
"""


def check_handshake_failed(r, what):
    rep = r.report
    check(r.rc != 0, f"{what}: exit 0: {r.describe()}")
    check_eq(rep["requests"]["completed"], 0, f"{what}: requests completed")
    check_eq(rep["requests"]["failed"], N, f"{what}: requests failed")
    check_eq(rep["connections"]["failed"], C, f"{what}: connections failed")
    check_eq(rep["errors"]["handshake_failed"], C, f"{what}: errors.handshake_failed")
    example = rep["error_examples"].get("handshake_failed", "")
    check("handshake failed" in example, f"{what}: error example {example!r}")
    print(f"{what}: {C} handshakes failed: {example}")


def test():
    with Net("ca") as net:
        site = Site(net.tmp)
        net.start_gtlsserver(site)
        other_ca, _ = make_cert(net.tmp, "other")

        for family in (4, 6):
            r = net.load(["--ca", site.cert, "-c", C, "-n", N, url("/1k.bin", family)],
                         json_report=True)
            check_all_completed(r, N, f"--ca server cert (IPv{family})")
        print("--ca with the server's certificate: all requests completed (IPv4, IPv6)")

        r = net.load(["--ca", other_ca, "-c", C, "-n", N, url("/1k.bin")],
                     json_report=True)
        check_handshake_failed(r, "--ca of another CA")

        r = net.load(["--ca", other_ca, url("/1k.bin")])
        check(r.rc != 0 and "handshake failed" in r.stderr,
              f"single request, wrong CA: {r.describe()}")
        check_eq(r.stdout, b"", "single request, wrong CA: stdout")

        # a server whose (trusted) certificate names other addresses
        elsewhere = Site(net.tmp, "elsewhere", OTHER_ADDR_TEMPLATE)
        net.start_gtlsserver(elsewhere, port=ELSEWHERE_PORT)
        r = net.load(["--ca", elsewhere.cert, "-c", C, "-n", N,
                      url("/1k.bin", port=ELSEWHERE_PORT)], json_report=True)
        check_handshake_failed(r, "a trusted certificate for another address")
        example = r.report["error_examples"]["handshake_failed"]
        check("name" in example or "match" in example,
              f"certificate for another address: the error does not say the name "
              f"is wrong: {example!r}")

        r = net.load(["--insecure", "-c", C, "-n", N, url("/1k.bin")], json_report=True)
        check_all_completed(r, N, "--insecure")


if __name__ == "__main__":
    main(test)
