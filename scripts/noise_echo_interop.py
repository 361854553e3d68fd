#!/usr/bin/env python3
"""Interop check of examples/noise_echo.rs (hyperport's tokio adapter)
against the Python `noiseprotocol` package, an independent Noise
implementation (pip install noiseprotocol).

Usage: noise_echo_interop.py PATH/TO/noise_echo

Frames are struct.pack('>I', len(msg)) + msg, one Noise message each.
Python is the initiator against `noise_echo --listen` for:

* Noise_XX_25519_ChaChaPoly_BLAKE2s: the handshake hash and the server's
  static key match what the server printed; 300 messages of random sizes up
  to 65,519 bytes (0, 1, 65,518 and 65,519 included), every echo checked; 50
  frames pipelined in one write; one frame dribbled in small writes; a clean
  close on a frame boundary;
* a frame over the cap (refused at the prefix: only the 4 prefix bytes are
  sent), a tampered transport message, and a silent client (dropped at the
  1-second handshake deadline): each connection is closed by the server,
  and a new connection still works;
* other patterns, ciphers and hashes: IK (the key from the server's first
  line), KK (both keys known in advance), NK with AESGCM/SHA256, NN with
  BLAKE2b, XXpsk3 and NNpsk0 with a PSK, a prologue;

then `noise_echo --connect` is the initiator against a Python responder
(XX and IK), checking its exit status and printed handshake hash.
Exits non-zero on the first failure, printing the server's log.
"""

import os
import queue
import random
import socket
import struct
import subprocess
import sys
import threading
import time

try:
    from noise.connection import Keypair, NoiseConnection
except ImportError:
    print("FAIL: the Python package 'noiseprotocol' is missing (pip install noiseprotocol)",
          file=sys.stderr)
    sys.exit(1)

MAX_MESSAGE = 65535
MAX_PAYLOAD = 65519
TIMEOUT = 20.0
XX = "Noise_XX_25519_ChaChaPoly_BLAKE2s"

BIN = None
SERVERS = []


def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    for s in SERVERS:
        s.dump()
    for s in SERVERS:
        s.stop()
    sys.exit(1)


def ok(msg):
    print(f"ok: {msg}", flush=True)


class Server:
    """`noise_echo --listen 127.0.0.1:0 ARGS`, stdout read line by line."""

    def __init__(self, *args):
        self.args = list(args)
        self.proc = subprocess.Popen(
            [BIN, "--listen", "127.0.0.1:0", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines = queue.Queue()
        self.seen = []
        self.err = []
        threading.Thread(target=self._pump, args=(self.proc.stdout, self.lines), daemon=True).start()
        threading.Thread(target=self._drain, daemon=True).start()
        SERVERS.append(self)
        first = self.line()
        if not first.startswith("static ") or len(first.split()[1]) != 64:
            fail(f"first line of the server is not 'static <64 hex>': {first!r}")
        self.static = bytes.fromhex(first.split()[1])
        listening = self.line()
        if not listening.startswith("listening "):
            fail(f"second line is not 'listening ADDR': {listening!r}")
        host, port = listening.split()[1].rsplit(":", 1)
        self.addr = (host, int(port))

    @staticmethod
    def _pump(stream, q):
        for line in stream:
            q.put(line.rstrip("\n"))
        q.put(None)

    def _drain(self):
        for line in self.proc.stderr:
            self.err.append(line.rstrip("\n"))

    def line(self):
        try:
            line = self.lines.get(timeout=TIMEOUT)
        except queue.Empty:
            fail(f"server {self.args}: no output line within {TIMEOUT}s")
        if line is None:
            fail(f"server {self.args} exited (status {self.proc.wait()})")
        self.seen.append(line)
        return line

    def handshake_hash(self):
        line = self.line()
        if not line.startswith("handshake hash "):
            fail(f"expected 'handshake hash <hex>', got {line!r}")
        return bytes.fromhex(line.split()[2])

    def dump(self):
        print(f"--- server {self.args} stdout: {self.seen}", file=sys.stderr)
        print("--- stderr:\n" + "\n".join(self.err), file=sys.stderr)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def frame(msg):
    if len(msg) > MAX_MESSAGE:
        fail(f"test bug: message of {len(msg)} bytes")
    return struct.pack(">I", len(msg)) + bytes(msg)


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
    if n > MAX_MESSAGE:
        fail(f"peer sent a frame of {n} bytes, over 65535")
    return recv_exact(sock, n)


def tcp(addr):
    sock = socket.create_connection(addr, timeout=TIMEOUT)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def expect_closed(sock, label, within=TIMEOUT):
    """The server closes the connection (EOF or reset) within `within` s."""
    sock.settimeout(within)
    start = time.monotonic()
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                break
    except (ConnectionResetError, BrokenPipeError):
        pass
    except socket.timeout:
        fail(f"{label}: the server did not close the connection within {within}s")
    ok(f"{label}: the server closed the connection after {time.monotonic() - start:.2f}s")


def noise(name, initiator, s=None, rs=None, psk=None, prologue=b""):
    proto = NoiseConnection.from_name(name.encode())
    proto.set_as_initiator() if initiator else proto.set_as_responder()
    if s is not None:
        proto.set_keypair_from_private_bytes(Keypair.STATIC, s)
    if rs is not None:
        proto.set_keypair_from_public_bytes(Keypair.REMOTE_STATIC, rs)
    if psk is not None:
        proto.set_psks(psk=psk)
    proto.set_prologue(prologue)
    proto.start_handshake()
    # Keep the handshake state: it holds the peer's static key afterwards.
    return proto, proto.noise_protocol.handshake_state


def handshake(sock, proto, initiator):
    my_turn = initiator
    while not proto.handshake_finished:
        if my_turn:
            sock.sendall(frame(proto.write_message()))
        else:
            proto.read_message(recv_frame(sock))
        my_turn = not my_turn


def connect(server, name=XX, s=None, rs=None, psk=None, prologue=b""):
    sock = tcp(server.addr)
    proto, hs = noise(name, True, s=s, rs=rs, psk=psk, prologue=prologue)
    handshake(sock, proto, True)
    theirs = server.handshake_hash()
    if proto.get_handshake_hash() != theirs:
        fail(f"{name}: handshake hashes differ: ours {proto.get_handshake_hash().hex()}, "
             f"server's {theirs.hex()}")
    return sock, proto, hs


def echo(sock, proto, data, label):
    sock.sendall(frame(proto.encrypt(bytes(data))))
    back = proto.decrypt(recv_frame(sock))
    if back != data:
        fail(f"{label}: echo differs ({len(back)} bytes back, {len(data)} sent)")


def close_cleanly(sock, label):
    sock.shutdown(socket.SHUT_WR)
    sock.settimeout(TIMEOUT)
    rest = sock.recv(16)
    if rest:
        fail(f"{label}: {len(rest)} unexpected bytes after our close")
    sock.close()


def check_xx(rng):
    srv = Server("--handshake-timeout", "1")
    sock, proto, hs = connect(srv, s=os.urandom(32))
    if hs.rs.public_bytes != srv.static:
        fail("XX: the server's static key differs from its 'static' line")
    ok("XX handshake: hash and server key match the server's output")

    sizes = [0, 1, 16, MAX_PAYLOAD - 1, MAX_PAYLOAD] + [rng.randint(0, MAX_PAYLOAD) for _ in range(295)]
    total = 0
    for i, n in enumerate(sizes):
        echo(sock, proto, os.urandom(n), f"message {i}")
        total += n
    ok(f"{len(sizes)} messages of random sizes up to {MAX_PAYLOAD} bytes echoed ({total} bytes)")

    batch = [os.urandom(rng.randint(0, 3000)) for _ in range(50)]
    sock.sendall(b"".join(frame(proto.encrypt(m)) for m in batch))
    for i, m in enumerate(batch):
        if proto.decrypt(recv_frame(sock)) != m:
            fail(f"pipelined message {i}: echo differs")
    ok("50 frames in one write: every echo in order")

    m = os.urandom(40000)
    wire = frame(proto.encrypt(m))
    for k in range(0, len(wire), 997):
        sock.sendall(wire[k:k + 997])
        time.sleep(0.0005)
    if proto.decrypt(recv_frame(sock)) != m:
        fail("dribbled frame: echo differs")
    ok("one frame in 41 small writes: echoed")
    close_cleanly(sock, "XX")
    ok("clean close on a frame boundary")

    # Failures: each closes that connection only.
    sock, proto, _ = connect(srv, s=os.urandom(32))
    sock.sendall(struct.pack(">I", MAX_MESSAGE + 1))  # the prefix only, no body
    expect_closed(sock, "frame of 65536 bytes (prefix only)", within=5)

    sock, proto, _ = connect(srv, s=os.urandom(32))
    wire = bytearray(frame(proto.encrypt(b"tampered with")))
    wire[7] ^= 0x01
    sock.sendall(bytes(wire))
    expect_closed(sock, "tampered transport message", within=5)

    sock = tcp(srv.addr)
    expect_closed(sock, "silent client (1 s handshake deadline)", within=5)

    sock, proto, _ = connect(srv, s=os.urandom(32))
    echo(sock, proto, b"still serving", "after the failures")
    close_cleanly(sock, "after the failures")
    ok("a new connection still works after the failures")
    srv.stop()


def check_patterns(rng):
    psk = os.urandom(32)
    # IK: the initiator knows the server's key from its first line.
    srv = Server("--pattern", "IK")
    sock, proto, hs = connect(srv, "Noise_IK_25519_ChaChaPoly_BLAKE2s", s=os.urandom(32), rs=srv.static)
    echo(sock, proto, os.urandom(MAX_PAYLOAD), "IK")
    close_cleanly(sock, "IK")
    ok("Noise_IK_25519_ChaChaPoly_BLAKE2s")
    srv.stop()

    # KK: each side knows the other's key in advance.
    mine = os.urandom(32)
    probe, _ = noise("Noise_XX_25519_ChaChaPoly_BLAKE2s", True, s=mine)
    my_public = probe.noise_protocol.keypairs["s"].public_bytes
    srv = Server("--pattern", "Noise_KK_25519_ChaChaPoly_SHA512", "--remote-static", my_public.hex())
    sock, proto, _ = connect(srv, "Noise_KK_25519_ChaChaPoly_SHA512", s=mine, rs=srv.static)
    echo(sock, proto, os.urandom(1234), "KK")
    close_cleanly(sock, "KK")
    ok("Noise_KK_25519_ChaChaPoly_SHA512")
    srv.stop()

    for name, extra, kw in [
        ("Noise_NK_25519_AESGCM_SHA256", [], {"rs": "server"}),
        ("Noise_NN_25519_ChaChaPoly_BLAKE2b", ["--prologue", "hello prologue"], {"prologue": b"hello prologue"}),
        ("Noise_XXpsk3_25519_ChaChaPoly_BLAKE2s", ["--psk", psk.hex()], {"psk": psk, "s": os.urandom(32)}),
        ("Noise_NNpsk0_25519_AESGCM_BLAKE2s", ["--psk", psk.hex()], {"psk": psk}),
    ]:
        srv = Server("--pattern", name, *extra)
        if kw.get("rs") == "server":
            kw = dict(kw, rs=srv.static)
        sock, proto, _ = connect(srv, name, **kw)
        for n in (0, rng.randint(1, MAX_PAYLOAD), MAX_PAYLOAD):
            echo(sock, proto, os.urandom(n), name)
        close_cleanly(sock, name)
        ok(name)
        srv.stop()


def check_reverse():
    """noise_echo --connect against a Python responder."""
    for name in (XX, "Noise_IK_25519_ChaChaPoly_BLAKE2s"):
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.settimeout(TIMEOUT)
        s = os.urandom(32)
        probe, _ = noise(XX, True, s=s)
        public = probe.noise_protocol.keypairs["s"].public_bytes
        args = [BIN, "--connect", "%s:%d" % listener.getsockname(), "--pattern", name,
                "--count", "40", "--seed", "7"]
        if "IK" in name:
            args += ["--remote-static", public.hex()]
        client = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        conn, _ = listener.accept()
        conn.settimeout(TIMEOUT)
        proto, hs = noise(name, False, s=s)
        handshake(conn, proto, False)
        n = 0
        while True:
            head = b""
            while len(head) < 4:
                chunk = conn.recv(4 - len(head))
                if not chunk:
                    break
                head += chunk
            if not head:
                break
            if len(head) < 4:
                fail(f"{name} reverse: stream ended inside a prefix")
            (k,) = struct.unpack(">I", head)
            m = proto.decrypt(recv_exact(conn, k))
            conn.sendall(frame(proto.encrypt(m)))
            n += 1
        conn.close()
        listener.close()
        out, err = client.communicate(timeout=TIMEOUT)
        if client.returncode != 0:
            fail(f"{name} reverse: noise_echo --connect exited {client.returncode}:\n{out}\n{err}")
        lines = out.splitlines()
        hashes = [l.split()[2] for l in lines if l.startswith("handshake hash ")]
        if hashes != [proto.get_handshake_hash().hex()]:
            fail(f"{name} reverse: printed handshake hash {hashes} differs from "
                 f"{proto.get_handshake_hash().hex()}")
        if not any(l.startswith("ok 40 messages echoed") for l in lines):
            fail(f"{name} reverse: no 'ok' line:\n{out}")
        if n != 40:
            fail(f"{name} reverse: {n} messages instead of 40")
        ok(f"{name}: noise_echo --connect against a Python responder, 40 echoes, hash matches")


def main():
    global BIN
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    BIN = sys.argv[1]
    seed = int(os.environ.get("SEED", random.randrange(1 << 32)))
    print(f"seed {seed} (SEED={seed} to repeat the sizes)", flush=True)
    rng = random.Random(seed)
    check_xx(rng)
    check_patterns(rng)
    check_reverse()
    for s in SERVERS:
        s.stop()
    print("noise_echo interop: all checks passed")


if __name__ == "__main__":
    main()
