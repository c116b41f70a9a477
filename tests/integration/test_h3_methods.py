#!/usr/bin/env python3
"""HTTP semantics over HTTP/3, as a client sees them: HEAD (200, the file's
content-length, no body), 404 for an unknown path, 405 with `allow: GET,
HEAD` for other methods, "/" and "/dir/" serve their index.html with a
content-type by extension, /bytes/N bodies exact (0, small, 5 MB, N =
bytes_max), /bytes/N above bytes_max is 400; the counters follow."""
from h3 import (HELLO_TXT, INDEX_HTML, DIR_INDEX_HTML, Site, bytes_body, bytes_sha,
                check_body, check_clean_exit, check_ok, check_status, fetch,
                sha256_bytes)
from rig import Rig, check, check_eq, delta, main, temp_dir, total

BYTES_MAX = 6_000_000
CONFIG = f"""[http]
bytes_max = {BYTES_MAX}
"""
SMALL_N = [0, 1, 25, 26, 27, 1000, 100_000]
LARGE_N = [5_000_000, BYTES_MAX]


def test():
    with temp_dir("h3meth") as tmp:
        site = Site(tmp)
        with Rig("h3meth", workers=4, config=CONFIG,
                 app_args=site.server_args()) as rig:
            before = rig.counters()
            n2xx = n4xx = 0

            # HEAD: status and length of the file, no body
            r = fetch(rig, ["/1m.bin", "/index.html", "/nothere.bin"], tmp / "head",
                      quiet=False, args=["-m", "HEAD"])
            check_ok(r, "HEAD requests")
            for i, name in enumerate(["1m.bin", "index.html"]):
                h = check_status(r, i, 200, f"HEAD /{name}")
                check_eq(h.get("content-length"), str(site.size(name)),
                         f"HEAD /{name}: content-length")
                check(not r.file(name).exists() or r.file(name).stat().st_size == 0,
                      f"HEAD /{name}: a body of {r.file(name).stat().st_size} bytes came")
            check_status(r, 2, 404, "HEAD /nothere.bin")
            check(not r.file("nothere.bin").exists() or
                  r.file("nothere.bin").stat().st_size == 0,
                  "HEAD /nothere.bin: the 404 came with a body")
            n2xx += 2
            n4xx += 1

            # GET: index pages, content types, 404, small /bytes/N, 400s
            paths = (["/", "/hello.txt", "/1k.bin", "/nothere", "/dir/nothere.html",
                      f"/bytes/{BYTES_MAX + 1}", "/bytes/12x"] +
                     [f"/bytes/{n}" for n in SMALL_N])
            r = fetch(rig, paths, tmp / "get", quiet=False)
            check_ok(r, "GET requests")
            h = check_status(r, 0, 200, "GET /")
            check_eq(h.get("content-type"), "text/html; charset=utf-8", "GET /: content-type")
            check_eq(h.get("content-length"), str(len(INDEX_HTML)), "GET /: content-length")
            check_body(r, "index.html", sha256_bytes(INDEX_HTML), "GET / (index.html)")
            h = check_status(r, 1, 200, "GET /hello.txt")
            check_eq(h.get("content-type"), "text/plain; charset=utf-8",
                     "GET /hello.txt: content-type")
            check_body(r, "hello.txt", sha256_bytes(HELLO_TXT), "GET /hello.txt")
            h = check_status(r, 2, 200, "GET /1k.bin")
            check_eq(h.get("content-type"), "application/octet-stream",
                     "GET /1k.bin: content-type")
            check_body(r, "1k.bin", site.sha("1k.bin"), "GET /1k.bin")
            check_status(r, 3, 404, "GET /nothere")
            check_status(r, 4, 404, "GET /dir/nothere.html")
            check_status(r, 5, 400, f"GET /bytes/{BYTES_MAX + 1} (above bytes_max)")
            check_status(r, 6, 400, "GET /bytes/12x")
            for i, n in enumerate(SMALL_N, start=7):
                h = check_status(r, i, 200, f"GET /bytes/{n}")
                check_eq(h.get("content-length"), str(n), f"GET /bytes/{n}: content-length")
                check_body(r, str(n), sha256_bytes(bytes_body(n)), f"GET /bytes/{n}")
            n2xx += 3 + len(SMALL_N)
            n4xx += 4

            # a directory's index (its own run: it downloads as index.html too)
            r = fetch(rig, ["/dir/"], tmp / "dir", quiet=False)
            check_ok(r, "GET /dir/")
            h = check_status(r, 0, 200, "GET /dir/")
            check_eq(h.get("content-type"), "text/html; charset=utf-8",
                     "GET /dir/: content-type")
            check_body(r, "index.html", sha256_bytes(DIR_INDEX_HTML), "GET /dir/ (index.html)")
            n2xx += 1

            # large /bytes/N, N = bytes_max included (quiet: no per-packet log)
            r = fetch(rig, [f"/bytes/{n}" for n in LARGE_N], tmp / "large")
            check_ok(r, "GET large /bytes/N")
            for n in LARGE_N:
                check_body(r, str(n), bytes_sha(n), f"GET /bytes/{n}")
            n2xx += len(LARGE_N)
            print(f"/bytes/{'+'.join(map(str, LARGE_N))} in {r.seconds:.2f} s")

            # other methods: 405 with allow, on files, unknown paths and /bytes
            for method in ("POST", "PUT", "DELETE"):
                r = fetch(rig, ["/1k.bin", "/nothere", "/bytes/10"], tmp / method.lower(),
                          quiet=False, args=["-m", method])
                check_ok(r, f"{method} requests")
                for i, p in enumerate(["/1k.bin", "/nothere", "/bytes/10"]):
                    h = check_status(r, i, 405, f"{method} {p}")
                    check_eq(h.get("allow"), "GET, HEAD", f"{method} {p}: allow header")
                n4xx += 3

            def done(snap):
                d = delta(before, snap)
                return (total(d, "h3_responses_2xx") >= n2xx and
                        total(d, "h3_responses_4xx") >= n4xx)

            d = delta(before, rig.wait_counters(done, timeout=5))
            check_eq(total(d, "h3_responses_2xx"), n2xx, "h3_responses_2xx moved by")
            check_eq(total(d, "h3_responses_4xx"), n4xx, "h3_responses_4xx moved by")
            check_eq(total(d, "h3_responses_5xx"), 0, "h3_responses_5xx moved by")
            check_eq(total(d, "h3_requests"), n2xx + n4xx, "h3_requests moved by")
            print(f"h3_responses_2xx +{n2xx}, h3_responses_4xx +{n4xx}")

            rc, out = rig.stop()
            check_clean_exit(rig, rc, out)


if __name__ == "__main__":
    main(test)
