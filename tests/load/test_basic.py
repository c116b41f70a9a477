#!/usr/bin/env python3
"""Load against gtlsserver: -c 4 -n 200 -m 4 over two URIs completes every
request with none failed and a JSON report that has every field; the
numbers add up (status codes, body bytes, handshakes, latency counts).
Then -D with two threads runs for its duration and stops cleanly, and
the plain-text report names every figure."""
from loadlib import (FILES, Net, Site, check, check_all_completed, check_eq, main,
                     summary, url)

N, C, M = 200, 4, 4
DURATION = 2.0


def test():
    with Net("basic") as net:
        site = Site(net.tmp)
        net.start_gtlsserver(site)
        ca = ["--ca", site.cert]
        uris = [url("/1k.bin"), url("/hello.txt")]

        r = net.load([*ca, "-c", C, "-n", N, "-m", M, *uris], json_report=True)
        rep = r.report
        check_all_completed(r, N, f"-c {C} -n {N} -m {M}")
        print(f"-c {C} -n {N} -m {M}: {summary(rep)}")
        check_eq(rep["requests"]["started"], N, "requests started")
        check_eq(rep["status"]["2xx"], N, "2xx responses")
        check_eq(rep["connections"]["started"], C, "connections started")
        check_eq(rep["connections"]["succeeded"], C, "connections succeeded")
        check_eq(rep["connections"]["handshakes"], C, "handshakes")
        # round-robin over the two URIs on each connection
        body = (N // 2) * FILES["1k.bin"] + (N // 2) * len(site.bytes("hello.txt"))
        check_eq(rep["bytes"]["body"], body, "body bytes")
        for name in ("ttfb", "request"):
            h = rep["latency_us"][name]
            check_eq(h["count"], N, f"latency {name} samples")
            check(h["min"] <= h["p50"] <= h["p90"] <= h["p99"] <= h["max"],
                  f"latency {name} quantiles out of order: {h}")
        check_eq(rep["latency_us"]["handshake"]["count"], C, "handshake latency samples")
        check(rep["requests_per_s"] > 0 and rep["bytes_per_s"] > 0,
              f"rates: {rep['requests_per_s']} req/s, {rep['bytes_per_s']} B/s")

        # -D: two threads, as many requests as fit in the duration
        r = net.load([*ca, "-c", C, "-t", 2, "-m", M, "-D", DURATION, *uris],
                     json_report=True)
        rep = r.report
        print(f"-D {DURATION} -t 2: {summary(rep)}")
        check(r.rc == 0, f"-D run: {r.describe()}")
        check(rep["requests"]["completed"] > N,
              f"-D {DURATION}: only {rep['requests']['completed']} requests completed")
        check_eq(rep["requests"]["failed"], 0, "-D: requests failed")
        check(DURATION <= rep["elapsed_s"] < DURATION + 2.5,
              f"-D {DURATION}: ran {rep['elapsed_s']} s")
        check(r.seconds < DURATION + 5, f"-D {DURATION}: exited after {r.seconds:.1f} s")

        # the plain-text report
        r = net.load([*ca, "-c", 2, "-n", 20, *uris])
        text = r.stdout.decode()
        check(r.rc == 0, f"text report run: {r.describe()}")
        for needle in ("req/s", "handshakes/s", "20 completed, 0 failed",
                       "2 succeeded, 0 failed", "first byte", "request",
                       "handshake_failed 0", "stateless_reset 0", "timeout 0",
                       "http_status 0", "other 0"):
            check(needle in text, f"text report lacks {needle!r}:\n{text}")


if __name__ == "__main__":
    main(test)
