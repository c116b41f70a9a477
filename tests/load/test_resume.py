#!/usr/bin/env python3
"""--resume against gtlsserver: a first connection keeps the session
ticket and the server's transport parameters; the connections after it
resume the TLS session and send their first requests as 0-RTT, which the
server accepts. The report says so (resumed, early_data_accepted) and
every request completes; without --resume nothing is resumed."""
from loadlib import Net, Site, check, check_all_completed, check_eq, main, summary, url

N, C = 10, 2


def test():
    with Net("resume") as net:
        site = Site(net.tmp)
        net.start_gtlsserver(site)
        ca = ["--ca", site.cert]

        r = net.load([*ca, "-c", C, "-n", N, "--resume", url("/1k.bin")],
                     json_report=True)
        rep = r.report
        print(f"--resume -c {C} -n {N}: {summary(rep)}; resumed {rep['resumed']}, "
              f"0-RTT attempted {rep['early_data_attempted']}, "
              f"accepted {rep['early_data_accepted']}")
        check_all_completed(r, N, "--resume")
        # the first connection (full handshake) and C resumed ones
        check_eq(rep["connections"]["started"], C + 1, "--resume: connections")
        check_eq(rep["resumed"], C, "--resume: connections resumed")
        check_eq(rep["early_data_attempted"], C, "--resume: 0-RTT attempted")
        check_eq(rep["early_data_accepted"], C, "--resume: 0-RTT accepted")

        # with reconnections: every new connection resumes
        r = net.load([*ca, "-c", C, "-n", 20, "-m", 2, "--conn-requests", 2, "--resume",
                      url("/hello.txt")], json_report=True)
        rep = r.report
        print(f"--resume --conn-requests 2: {summary(rep)}; resumed {rep['resumed']}")
        check_all_completed(r, 20, "--resume --conn-requests 2")
        conns = rep["connections"]["started"]
        check(conns >= 10, f"--conn-requests 2: only {conns} connections for 20 requests")
        check_eq(rep["resumed"], conns - 1, "--conn-requests: connections resumed")
        check_eq(rep["early_data_accepted"], conns - 1, "--conn-requests: 0-RTT accepted")

        r = net.load([*ca, "-c", C, "-n", N, url("/1k.bin")], json_report=True)
        check_all_completed(r, N, "without --resume")
        check_eq(r.report["resumed"], 0, "without --resume: connections resumed")
        check_eq(r.report["early_data_attempted"], 0, "without --resume: 0-RTT attempted")


if __name__ == "__main__":
    main(test)
