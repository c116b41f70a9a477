#!/usr/bin/env python3
"""Malformed HTTP/3 requests (RFC 9114 4.1.2) end their own stream with
H3_MESSAGE_ERROR (0x10e); the connection, the worker and the process go
on: a header name in upper case, a pseudo-header the server does not know,
a content-length that the (empty) body contradicts. Each is sent three
times on one connection by quicsteer-load (-H sends a field as given), then
well-formed requests on the same kind of connection are served."""
import json
import os
from pathlib import Path

from h3 import Site, check_clean_exit
from rig import REPO, SERVER_V4, Rig, check, check_eq, delta, main, temp_dir, total

MALFORMED = ["Bad-Name:x", ":foo:bar", "content-length:5"]
REQUESTS = 3
H3_MESSAGE_ERROR = "0x10e"


def load(rig, header_args):
    binary = os.environ.get("QUICSTEER_LOAD") or str(
        REPO / "build" / "app" / "quicsteer-load" / "quicsteer-load")
    proc = rig.run_in_client(
        [binary, "-k", "--json", "--timeout", "5", "-c", "1", "-n", str(REQUESTS),
         *header_args, f"https://{SERVER_V4}:{rig.port}/1k.bin"],
        timeout=30, check_rc=False)
    try:
        return json.loads(proc.stdout)
    except ValueError:
        raise AssertionError(f"quicsteer-load: not JSON: {proc.stdout[:300]!r} "
                             f"{proc.stderr[-500:]}")


def test():
    with temp_dir("h3bad") as tmp:
        site = Site(Path(tmp))
        with Rig("h3bad", workers=2, app_args=site.server_args()) as rig:
            before = rig.counters()
            for field in MALFORMED:
                r = load(rig, ["-H", field])
                what = f"request with '{field}'"
                check_eq(r["requests"]["failed"], REQUESTS, f"{what}: failed requests")
                check_eq(r["connections"]["succeeded"], 1,
                         f"{what}: the connection survives its bad streams")
                check_eq(r["connections"]["failed"], 0, f"{what}: failed connections")
                examples = json.dumps(r.get("error_examples"))
                check(H3_MESSAGE_ERROR in examples,
                      f"{what}: streams should end with H3_MESSAGE_ERROR: {examples}")
                check(rig.alive(), f"quicsteer died on a {what}")

            good = load(rig, ["-H", "x-fine:yes"])
            check_eq(good["requests"]["completed"], REQUESTS, "well-formed requests afterwards")
            d = delta(before, rig.counters())
            check_eq(total(d, "h3_responses_2xx"), REQUESTS, "2xx responses")
            check_eq(total(d, "quic_conn_accepted"), len(MALFORMED) + 1, "connections")
            rc, out = rig.stop()
            check_clean_exit(rig, rc, out)


if __name__ == "__main__":
    main(test)
