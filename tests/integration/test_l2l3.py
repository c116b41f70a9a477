#!/usr/bin/env python3
"""quicsteer answers ARP, ICMP echo, ICMPv6 echo and neighbour solicitation
for its addresses: the client's kernel resolves the server to the server
veth's MAC and `ping` / `ping -6` succeed."""
from rig import SERVER_V4, SERVER_V6, Rig, check, check_eq, delta, main, total

PINGS = 3


def neighbour_mac(rig, addr):
    out = rig.run_in_client(["ip", "neigh", "show", addr]).stdout.split()
    return out[out.index("lladdr") + 1] if "lladdr" in out else None


def ping(rig, family, addr):
    proc = rig.run_in_client(["ping", f"-{family}", "-c", str(PINGS), "-i", "0.2",
                              "-W", "2", addr], timeout=20, check_rc=False)
    check(proc.returncode == 0, f"ping -{family} {addr} failed:\n{proc.stdout}{proc.stderr}")
    check(f"{PINGS} received" in proc.stdout and "DUP!" not in proc.stdout,
          f"ping -{family} {addr}: expected {PINGS} replies, no duplicates:\n{proc.stdout}")


def test():
    with Rig("l2l3") as rig:
        check(neighbour_mac(rig, SERVER_V4) is None, "client knows the server MAC before any ARP")
        before = rig.counters()

        ping(rig, 4, SERVER_V4)
        check_eq(neighbour_mac(rig, SERVER_V4), rig.server_mac,
                 f"client's neighbour entry for {SERVER_V4} (ARP)")
        ping(rig, 6, SERVER_V6)
        check_eq(neighbour_mac(rig, SERVER_V6), rig.server_mac,
                 f"client's neighbour entry for {SERVER_V6} (ND)")

        d = delta(before, rig.counters())
        check(total(d, "arp_replies") >= 1, f"arp_replies did not move: {d}")
        check(total(d, "nd_adverts") >= 1, f"nd_adverts did not move: {d}")
        check_eq(total(d, "icmp_echo_replies"), 2 * PINGS, "icmp_echo_replies")
        check_eq(total(d, "drop_malformed"), 0, "drop_malformed")

        # an address that is not ours: ARP requests for it get no answer
        rig.run_in_client(["ip", "neigh", "flush", "all"])
        arp_before = total(rig.counters(), "arp_replies")
        proc = rig.run_in_client(["ping", "-c", "1", "-W", "1", "198.18.0.3"],
                                 check_rc=False, timeout=10)
        check(proc.returncode != 0, f"198.18.0.3 (nobody) answered a ping: {proc.stdout}")
        check_eq(total(rig.counters(), "arp_replies"), arp_before,
                 "arp_replies after ARP requests for 198.18.0.3 (not ours)")

        rc, out = rig.stop()
        check_eq(rc, 0, "exit code after SIGTERM")


if __name__ == "__main__":
    main(test)
