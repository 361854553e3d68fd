#!/usr/bin/env python3
"""Interop check for examples/frame_echo.rs, using only the standard library.

Usage: frame_echo_interop.py HOST:PORT

Frames are struct.pack('>I', n) + body. The script sends frames of 0 bytes,
small, 1 MiB, exactly the 4 MiB cap, several frames in one write and one frame
dribbled in split writes, and checks each echo; then it sends a prefix over the
cap and checks the server closes that connection; then it checks a new
connection still works. Exits non-zero on the first failure.
"""

import os
import socket
import struct
import sys
import time

CAP = 4 * 1024 * 1024
TIMEOUT = 20.0


def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def frame(body):
    return struct.pack(">I", len(body)) + body


def recv_exact(sock, n):
    chunks = []
    while n:
        chunk = sock.recv(min(n, 1 << 20))
        if not chunk:
            fail(f"connection closed with {n} bytes still expected")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def recv_frame(sock):
    (n,) = struct.unpack(">I", recv_exact(sock, 4))
    return recv_exact(sock, n)


def connect(addr):
    host, port = addr.rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=TIMEOUT)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def check_echo(sock, body, label):
    got = recv_frame(sock)
    if got != body:
        fail(f"{label}: echo differs ({len(got)} bytes back, {len(body)} sent)")
    print(f"ok: {label} ({len(body)} bytes)")


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    addr = sys.argv[1]

    with connect(addr) as s:
        for label, body in [
            ("empty frame", b""),
            ("small frame", b"hello, frame"),
            ("1 MiB frame", os.urandom(1 << 20)),
            ("frame at the 4 MiB cap", os.urandom(CAP)),
        ]:
            s.sendall(frame(body))
            check_echo(s, body, label)

        bodies = [b"one", b"", b"three" * 100]
        s.sendall(b"".join(frame(b) for b in bodies))
        for i, b in enumerate(bodies):
            check_echo(s, b, f"frame {i} of a single write")

        body = bytes(range(256)) * 40
        wire = frame(body)
        # Prefix split 1 + 3 bytes, then the body in uneven pieces.
        for piece in [wire[:1], wire[1:4], wire[4:5], wire[5:1000], wire[1000:]]:
            s.sendall(piece)
            time.sleep(0.02)
        check_echo(s, body, "frame sent in split writes")

    with connect(addr) as s:
        s.sendall(struct.pack(">I", CAP + 1))
        try:
            data = s.recv(1)
        except ConnectionResetError:
            data = b""
        except socket.timeout:
            fail("server kept the connection open after an over-cap prefix")
        if data != b"":
            fail(f"server answered an over-cap prefix with {data!r}")
        print("ok: over-cap prefix closes the connection")

    with connect(addr) as s:
        s.sendall(frame(b"still serving"))
        check_echo(s, b"still serving", "new connection after the rejected one")

    print("PASS")


if __name__ == "__main__":
    main()
