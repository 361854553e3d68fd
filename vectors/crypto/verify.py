#!/usr/bin/env python3
"""Independent check of every hand-typed vector in this folder.

Routes: hashlib and hmac (CPython's OpenSSL / reference BLAKE2), the
`cryptography` package (OpenSSL) for ChaCha20-Poly1305, AES-256-GCM and
X25519, and a from-the-RFC pure-Python X25519 ladder (RFC 7748 sec 5) for the
low-order points OpenSSL refuses. Run: python3 vectors/crypto/verify.py
(needs `pip install cryptography`). Exits non-zero on the first mismatch.
"""
import hashlib
import hmac
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
checked = 0


def load(name):
    with open(os.path.join(HERE, name)) as f:
        return json.load(f)


def check(ok, what):
    global checked
    if not ok:
        print("MISMATCH:", what)
        sys.exit(1)
    checked += 1


H = {"Sha256": hashlib.sha256, "Sha512": hashlib.sha512,
     "Blake2b": hashlib.blake2b, "Blake2s": hashlib.blake2s}

for v in load("hash.json")["vectors"]:
    msg = bytes.fromhex(v["message"]) * v.get("repeat", 1)
    check(H[v["alg"]](msg).hexdigest() == v["digest"], v["source"])

for v in load("hmac.json")["vectors"]:
    mac = hmac.new(bytes.fromhex(v["key"]), bytes.fromhex(v["data"]), H[v["alg"]]).digest()
    if "truncate" in v:
        mac = mac[: v["truncate"]]
    check(mac.hex() == v["mac"], v["source"])

hk = load("hkdf.json")
for v in hk["rfc5869"]:
    prk = hmac.new(bytes.fromhex(v["salt"]), bytes.fromhex(v["ikm"]), H[v["alg"]]).digest()
    check(prk.hex() == v["prk"], v["source"] + " PRK")
    okm, t, i = b"", b"", 1
    while len(okm) < len(v["okm"]) // 2:
        t = hmac.new(prk, t + bytes([i]), H[v["alg"]]).digest()
        okm, i = okm + t, i + 1
    check(okm[: len(v["okm"]) // 2].hex() == v["okm"], v["source"] + " OKM")
for v in hk["noise"]:
    ck, ikm = bytes.fromhex(v["chaining_key"]), bytes.fromhex(v["ikm"])
    temp = hmac.new(ck, ikm, H[v["alg"]]).digest()
    prev, outs = b"", []
    for i in (1, 2, 3):
        prev = hmac.new(temp, prev + bytes([i]), H[v["alg"]]).digest()
        outs.append(prev.hex())
    check(outs == [v["output1"], v["output2"], v["output3"]], v["source"])

from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.x25519 import (  # noqa: E402
    X25519PrivateKey, X25519PublicKey)

for v in load("aead.json")["vectors"]:
    cls = {"ChaCha20Poly1305": ChaCha20Poly1305, "Aes256Gcm": AESGCM}[v["alg"]]
    key, nonce, aad, pt = (bytes.fromhex(v[k]) for k in ("key", "nonce", "aad", "plaintext"))
    out = cls(key).encrypt(nonce, pt, aad)
    check(out.hex() == v["ciphertext"] + v["tag"], v["source"])


# RFC 7748 sec 5: the Montgomery ladder, written from the RFC's pseudocode.
P = 2**255 - 19
A24 = 121665


def x25519(k, u):
    k = bytearray(k)
    k[0] &= 248
    k[31] &= 127
    k[31] |= 64
    k = int.from_bytes(k, "little")
    u = int.from_bytes(u, "little") & ((1 << 255) - 1)
    x1, x2, z2, x3, z3, swap = u, 1, 0, u, 1, 0
    for t in reversed(range(255)):
        kt = (k >> t) & 1
        swap ^= kt
        if swap:
            x2, x3, z2, z3 = x3, x2, z3, z2
        swap = kt
        a, b = (x2 + z2) % P, (x2 - z2) % P
        aa, bb = a * a % P, b * b % P
        e = (aa - bb) % P
        c, d = (x3 + z3) % P, (x3 - z3) % P
        da, cb = d * a % P, c * b % P
        x3 = (da + cb) ** 2 % P
        z3 = x1 * (da - cb) ** 2 % P
        x2 = aa * bb % P
        z2 = e * (aa + A24 * e) % P
    if swap:
        x2, z2 = x3, z3
    return (x2 * pow(z2, P - 2, P) % P).to_bytes(32, "little")


def ossl(k, u):
    return X25519PrivateKey.from_private_bytes(k).exchange(X25519PublicKey.from_public_bytes(u))


x = load("x25519.json")
for v in x["scalar_mult"]:
    k, u = bytes.fromhex(v["scalar"]), bytes.fromhex(v["u"])
    check(ossl(k, u).hex() == v["output"], v["source"] + " (OpenSSL)")
    check(x25519(k, u).hex() == v["output"], v["source"] + " (Python ladder)")
for v in x["iterated"]:
    k = u = bytes([9]) + bytes(31)
    for _ in range(v["iterations"]):
        k, u = ossl(k, u), k
    check(k.hex() == v["output"], v["source"])
for v in x["dh"]:
    a, b = (X25519PrivateKey.from_private_bytes(bytes.fromhex(v[n])) for n in ("alice_private", "bob_private"))
    check(a.public_key().public_bytes_raw().hex() == v["alice_public"], v["source"] + " alice public")
    check(b.public_key().public_bytes_raw().hex() == v["bob_public"], v["source"] + " bob public")
    s1 = a.exchange(X25519PublicKey.from_public_bytes(bytes.fromhex(v["bob_public"])))
    s2 = b.exchange(X25519PublicKey.from_public_bytes(bytes.fromhex(v["alice_public"])))
    check(s1.hex() == v["shared"] and s2.hex() == v["shared"], v["source"] + " shared")
for v in x["low_order"]:
    for k in (bytes.fromhex(x["dh"][0]["alice_private"]), bytes(range(32))):
        check(x25519(k, bytes.fromhex(v["u"])) == bytes(32), v["source"])
        try:
            ossl(k, bytes.fromhex(v["u"]))
            check(False, v["source"] + ": OpenSSL accepted a low-order point")
        except ValueError:
            checked += 1

print(f"all {checked} checks passed")
