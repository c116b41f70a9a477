"""What the test relays between one QUIC client and a server share
(reorder_proxy.py, ack_withholding_proxy.py): address arguments, the two
sockets, and a clean stop on SIGTERM or SIGINT."""
import argparse
import signal
import socket


class Stop(Exception):
    """SIGTERM or SIGINT: the relay prints its report and exits."""


def addr(text):
    """host:port or [v6]:port, as argparse type."""
    host, _, port = text.rpartition(":")
    return host.strip("[]"), int(port)


def relay_arguments(doc):
    """A parser with the options every relay takes: --listen, --server and
    --seconds (how long it runs at most); a relay adds its own."""
    ap = argparse.ArgumentParser(description=doc,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--listen", required=True, type=addr)
    ap.add_argument("--server", required=True, type=addr)
    ap.add_argument("--seconds", type=float, default=30.0)
    return ap


def open_relay(listen, server):
    """The client-facing socket bound to listen, the server-facing one
    connected to server; stops on SIGTERM/SIGINT by raising Stop. Prints
    "listening" once both exist, which the tests wait for."""
    def stop(_sig, _frame):
        raise Stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    fam = socket.AF_INET6 if ":" in listen[0] else socket.AF_INET
    c = socket.socket(fam, socket.SOCK_DGRAM)
    c.bind(listen)
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.connect(server)
    print("listening", flush=True)
    return c, s
