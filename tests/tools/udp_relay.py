"""What the test relays between one QUIC client and a server share
(reorder_proxy.py, ack_withholding_proxy.py): address arguments, the two
sockets, and a clean stop on SIGTERM or SIGINT."""
import signal
import socket


class Stop(Exception):
    """SIGTERM or SIGINT: the relay prints its report and exits."""


def addr(text):
    """host:port or [v6]:port, as argparse type."""
    host, _, port = text.rpartition(":")
    return host.strip("[]"), int(port)


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
