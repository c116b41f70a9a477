#!/usr/bin/env python3
"""A UDP server that misbehaves, for tests/load/test_misbehave.py:

  silent   binds the port and never answers
  garbage  answers every datagram with random bytes of the same length
  echo     sends every datagram back as it came
  flip     answers with the datagram, one byte of its payload flipped
  short    answers with the first 20 bytes of the datagram
  flood    at the first datagram prints "got", waits for a line on stdin,
           sends FLOOD datagrams of 1200 bytes back, prints "flooded" and
           stays silent (a client's full receive buffer, on cue)

bad_server.py MODE ADDR PORT SECONDS -- serves for at most SECONDS.
"""
import os
import select
import socket
import sys
import time

FLOOD = 10000


def main():
    mode, addr, port, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.bind((addr, port))
    deadline = time.monotonic() + seconds
    flooded = False
    while (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([sock], [], [], min(left, 0.5))
        if not ready:
            continue
        data, peer = sock.recvfrom(65536)
        if mode == "silent" or (mode == "flood" and flooded):
            continue
        if mode == "flood":
            print("got", flush=True)
            sys.stdin.readline()
            for _ in range(FLOOD):
                sock.sendto(bytes(1200), peer)
            flooded = True
            print("flooded", flush=True)
            continue
        if mode == "garbage":
            reply = os.urandom(len(data))
        elif mode == "echo":
            reply = data
        elif mode == "flip":
            reply = bytearray(data)
            reply[len(reply) // 2] ^= 0x55
            reply = bytes(reply)
        elif mode == "short":
            reply = data[:20]
        else:
            sys.exit(f"unknown mode {mode}")
        sock.sendto(reply, peer)


if __name__ == "__main__":
    main()
