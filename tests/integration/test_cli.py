#!/usr/bin/env python3
"""The CLI: every command from --cmdline-file prints what it should and
`quit` ends quicsteer with exit 0; `-i` reads commands from stdin; SIGTERM
and SIGINT stop it cleanly (exit 0, port stopped and closed)."""
import re
import signal

from rig import (QUIC_PORT, SERVER_V4, SERVER_V6, Rig, check, check_eq, main,
                 short_headers)

WORKERS = 4
PROBES = 8
STOPPED = "port 0: stopped and closed"
ALL_COMMANDS = """\
show port info all
show port stats all
show lcores
show stats
show steering
show config
clear stats
set log quicsteer.* debug
help
quit
"""
HELP_LINES = ["show port info all", "show port stats all", "show lcores",
              "show stats", "show steering", "show config", "clear stats",
              "set log <type> <level>", "quit"]
PROMPT = r"(?:quicsteer> )?"
# a few of the stable names of docs/architecture.md "Counters"
DESIGN_COUNTERS = ["rx_packets", "drop_malformed", "quic_rx", "quic_forwarded_out",
                   "quic_forward_dropped", "quic_stateless_resets_sent"]


def table_rows(out, header_re, row_re, what):
    """The rows right after the header line of a table."""
    m = re.search(rf"^{PROMPT}{header_re}.*\n((?:{row_re}.*\n)*)", out, re.M)
    check(m is not None, f"{what}: no table header matching {header_re!r} in:\n{out}")
    return [line.split() for line in m.group(1).splitlines()]


def check_counter_lines(out, names, what):
    for name in names:
        check(re.search(rf"^\s+{name}\s+\d+$", out, re.M), f"{what}: no line for counter {name}")


def check_help(out, what):
    for line in HELP_LINES:
        # "<command> <what it does>", not an echo of the command typed
        check(re.search(rf"^{PROMPT}{re.escape(line)}[ \t]+\S", out, re.M),
              f"{what}: help does not list {line!r}")


def check_contains(out, needle, what):
    check(needle in out, f"{what}: {needle!r} not in the output:\n{out}")


def check_cmdline_file(rig):
    cmds = rig.write_file("commands", ALL_COMMANDS)
    rig.start(workers=WORKERS, app_args=["--cmdline-file", cmds], wait_ready=False)
    rc, out = rig.wait_exit()
    check_eq(rc, 0, f"exit code after `quit` in --cmdline-file:\n{out[-3000:]}")
    what = "--cmdline-file"

    # show port info all / show port stats all
    check(re.search(rf"port 0: driver net_af_packet, MAC {rig.server_mac}", out, re.I),
          f"{what}: show port info all: no 'port 0: driver net_af_packet, MAC "
          f"{rig.server_mac}':\n{out}")
    check_contains(out, f"queue pairs {WORKERS}", f"{what}: show port info all")
    check_contains(out, "rx-packets", f"{what}: show port stats all")
    # show lcores: one row per worker, worker w on lcore w + 1
    rows = table_rows(out, r"worker\s+lcore\s+rx_packets", r"\d+\s+\d+\s", "show lcores")
    check_eq([(int(r[0]), int(r[1])) for r in rows],
             [(w, w + 1) for w in range(WORKERS)], f"{what}: show lcores (worker, lcore) rows")
    # show stats: counters summed (all of them: see check_interactive)
    check_contains(out, f"counters summed over {WORKERS} workers", f"{what}: show stats")
    check_counter_lines(out, DESIGN_COUNTERS, f"{what}: show stats")
    # show steering: a WORKERS x WORKERS matrix
    rows = table_rows(out, r"\s*from\\to" + r"\s+\d+" * WORKERS, r"\s+\d+" * (WORKERS + 1),
                      "show steering")
    check_eq([int(r[0]) for r in rows], list(range(WORKERS)), f"{what}: show steering rows")
    # show config: the effective configuration, in the file's format
    for line in ["steer = cid", "cid_format = nibble", f"addr = {SERVER_V4}",
                 f"addr = {SERVER_V6}", f"port = {QUIC_PORT}"]:
        check(re.search(rf"^{re.escape(line)}$", out, re.M),
              f"{what}: show config: no line {line!r}")
    check_contains(out, "statistics cleared", f"{what}: clear stats")
    check_contains(out, "log level of quicsteer.* set to debug", f"{what}: set log")
    check_help(out, what)
    check_contains(out, STOPPED, f"{what}: after quit")


def check_interactive(rig):
    rig.start(workers=WORKERS, app_args=["-i"], interactive=True)
    # every counter telemetry has, show stats has too
    names = [k for k in rig.telemetry("/quicsteer/stats") if k not in ("workers", "io_lcores")]
    sent = len(rig.probe(short_headers(0, PROBES)))

    # counters show the traffic; clear stats zeroes the CLI's view only
    rig.send_stdin("show lcores\nclear stats\nshow stats\n", close=False)
    out = rig.wait_output("quic_stateless_resets_sent")
    rows = table_rows(out, r"worker\s+lcore\s+rx_packets", r"\d+\s+\d+\s", "-i: show lcores")
    check_eq(len(rows), WORKERS, "-i: show lcores rows")
    check_eq(sum(int(r[4]) for r in rows), sent, "-i: show lcores: quic_rx summed")
    check_counter_lines(out, names, "-i: show stats")
    check(re.search(r"^\s+quic_stateless_resets_sent\s+0$", out, re.M),
          f"-i: show stats after clear stats: quic_stateless_resets_sent is not 0:\n{out}")
    check_eq(rig.telemetry("/quicsteer/stats")["quic_stateless_resets_sent"], sent,
             "telemetry quic_stateless_resets_sent after clear stats (counts since start)")

    rig.send_stdin("show config\nhelp\nquit\n")
    rc, out = rig.wait_exit()
    check_eq(rc, 0, f"exit code after `quit` on stdin (-i):\n{out[-3000:]}")
    check(re.search(r"^steer = cid$", out, re.M), "-i: show config: no 'steer = cid'")
    check_help(out, "-i")
    check_contains(out, STOPPED, "-i: after quit")


def check_signal(rig, sig, app_args=()):
    what = f"{signal.Signals(sig).name}{' with -i' if app_args else ''}"
    rig.start(workers=WORKERS, app_args=list(app_args), interactive=bool(app_args))
    rc, out = rig.stop(sig)
    check_eq(rc, 0, f"exit code after {what}:\n{out[-3000:]}")
    check_contains(out, STOPPED, f"log after {what}")


def test():
    with Rig("cli", workers=WORKERS, start=False) as rig:
        check_cmdline_file(rig)
        check_interactive(rig)
        check_signal(rig, signal.SIGTERM)
        check_signal(rig, signal.SIGINT)
        # at the prompt, stdin open and idle: a signal still ends it
        check_signal(rig, signal.SIGTERM, ["-i"])


if __name__ == "__main__":
    main(test)
