#!/usr/bin/env python3
"""TLS session resumption and 0-RTT: a first connection leaves the client
a session ticket and the transport parameters; a second connection resumes
the session and sends its request as 0-RTT data, the server accepts it
(quic_sessions_resumed, quic_0rtt_accepted) and the body is right."""
from h3 import Site, check_body, check_clean_exit, check_ok, fetch
from rig import Rig, check, check_eq, delta, main, temp_dir, total


def counts(rig, before, conns):
    d = delta(before, rig.wait_counters(
        lambda s: total(delta(before, s), "quic_handshakes_completed") >= conns, 5))
    return {k: total(d, k) for k in ("quic_handshakes_completed", "quic_sessions_resumed",
                                     "quic_0rtt_accepted", "h3_responses_2xx")}


def test():
    with temp_dir("h3res") as tmp:
        site = Site(tmp)
        session, tp = tmp / "session.pem", tmp / "tp.pem"
        args = [f"--session-file={session}", f"--tp-file={tp}"]
        with Rig("h3res", workers=4, app_args=site.server_args()) as rig:
            # first run: full handshake, the client stores ticket and params
            before = rig.counters()
            r = fetch(rig, ["/1k.bin"], tmp / "first", quiet=False, args=args)
            check_ok(r, "first connection")
            check_body(r, "1k.bin", site.sha("1k.bin"), "first connection /1k.bin")
            c = counts(rig, before, 1)
            check_eq(c["quic_handshakes_completed"], 1, "first: quic_handshakes_completed")
            check_eq(c["quic_sessions_resumed"], 0, "first: quic_sessions_resumed")
            check_eq(c["quic_0rtt_accepted"], 0, "first: quic_0rtt_accepted")
            check(session.is_file() and session.stat().st_size > 0,
                  f"no session ticket saved by the client after the first connection "
                  f"(the server sent no NewSessionTicket?):\n{r.tail()}")
            check(tp.is_file() and tp.stat().st_size > 0,
                  "no transport parameters saved by the client")

            # second and third runs: resumed, request in 0-RTT, accepted
            for run_no, name in ((2, "1m.bin"), (3, "20m.bin")):
                before = rig.counters()
                r = fetch(rig, [f"/{name}"], tmp / f"run{run_no}", quiet=False, args=args)
                check_ok(r, f"resumed connection {run_no}")
                check_body(r, name, site.sha(name), f"resumed connection {run_no} /{name}")
                check("type=0RTT" in r.out,
                      f"run {run_no}: the client sent no 0-RTT packet:\n{r.tail()}")
                check("Early data was rejected" not in r.out,
                      f"run {run_no}: the server rejected the 0-RTT data:\n{r.tail()}")
                c = counts(rig, before, 1)
                check_eq(c["quic_handshakes_completed"], 1,
                         f"run {run_no}: quic_handshakes_completed")
                check_eq(c["quic_sessions_resumed"], 1, f"run {run_no}: quic_sessions_resumed")
                check_eq(c["quic_0rtt_accepted"], 1, f"run {run_no}: quic_0rtt_accepted")
                check_eq(c["h3_responses_2xx"], 1, f"run {run_no}: h3_responses_2xx")
                print(f"run {run_no}: resumed, 0-RTT accepted, /{name} in {r.seconds:.2f} s")

            # a client without the ticket gets a full handshake again
            before = rig.counters()
            r = fetch(rig, ["/1k.bin"], tmp / "fresh")
            check_ok(r, "fresh connection")
            c = counts(rig, before, 1)
            check_eq(c["quic_sessions_resumed"], 0, "fresh: quic_sessions_resumed")
            check_eq(c["quic_0rtt_accepted"], 0, "fresh: quic_0rtt_accepted")

            rc, out = rig.stop()
            check_clean_exit(rig, rc, out)


if __name__ == "__main__":
    main(test)
