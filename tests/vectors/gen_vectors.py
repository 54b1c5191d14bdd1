"""Writes frames.json, the protocol test vectors every implementation
(C, Python, Node) must pass: sealing each accepted vector must give exactly
its datagram, opening it must give back its fields, and opening each
rejected datagram must fail with its named error. Deterministic: the keys
are fixed. Run from this directory: python3 gen_vectors.py > frames.json
(the C test checks the bytes independently, with libsodium)."""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "client", "python"))
import capgate as cg  # noqa: E402

K1 = bytes(range(32))
K2 = bytes((0xa5 ^ i) & 0xff for i in range(32))

ACCEPT = [
    ("hello", K1, 1, 1, cg.HELLO, 1, "", '{"version":3}', 0, 0),
    ("welcome", K1, 2, 1, cg.WELCOME, 1, "",
     '{"version":3,"client":"main","frame_max":65536}', 0, 0),
    ("invoke", K1, 1, 2, cg.INVOKE, 2, "notes:list", "{}", 0, 0),
    ("invoke-empty-body", K1, 1, 3, cg.INVOKE, 3, "time", "", 0, 0),
    ("reply", K1, 2, 2, cg.REPLY, 2, "", '["a","b"]', 0, 0),
    ("error", K1, 2, 3, cg.ERROR, 3, "", "", 4, 0),
    ("send-unicode", K2, 1, 7, cg.SEND, 0xfffffffe, "app:log",
     '"h\u00e9llo \u2603 \U0001f600"', 0, 0),
    ("event", K2, 2, 9, cg.EVENT, 0, "notes:changed", '{"id":"n1"}', 0, 0),
    ("subscribe", K2, 1, 10, cg.SUBSCRIBE, 11, "notes:changed", "", 0, 0),
    ("unsubscribe", K2, 1, 11, cg.UNSUBSCRIBE, 12, "notes:changed", "", 0, 0),
    ("reply-with-fd", K2, 2, 12, cg.REPLY, 13, "", '{"size":6,"fd":0}', 0, 1),
    ("multi-block", K1, 1, 2 ** 40 + 5, cg.INVOKE, 77,
     "a/B.c_d:e-f" + "x" * 117, '"' + "0123456789abcdef" * 40 + '"', 0, 0),
]


def hexs(b):
    return b.hex()


def accepted():
    out = []
    for name, key, d, seq, t, rid, ch, body, status, nfds in ACCEPT:
        dg = cg.seal(key, d, seq, t, rid, ch.encode(), body.encode("utf-8"),
                     status, nfds)
        out.append({"name": name, "key": hexs(key), "direction": d,
                    "seq": seq, "type": t, "request_id": rid, "status": status,
                    "nfds": nfds, "channel": ch, "body": body,
                    "datagram": hexs(dg)})
    return out


def flip(dg, i, x=1):
    b = bytearray(dg)
    b[i] ^= x
    return bytes(b)


def rejected():
    good = cg.seal(K1, 1, 5, cg.INVOKE, 9, b"echo", b'"hi"')
    err = lambda dg: bytes(dg)  # noqa: E731
    cases = [
        ("short", good[:63], 5, 0, "frame-short"),
        ("bad-magic", flip(good, 0), 5, 0, "frame-bad-magic"),
        ("bad-version", flip(good, 4, 3), 5, 0, "frame-bad-version"),
        ("bad-type", cg.seal(K1, 1, 5, 10, 9, b"", b""), 5, 0,
         "frame-bad-type"),
        ("unknown-flag", flip(good, 6, 2), 5, 0, "frame-bad-flags"),
        ("reserved-byte", flip(good, 22), 5, 0, "frame-bad-flags"),
        ("status-on-invoke", cg.seal(K1, 1, 5, cg.INVOKE, 9, b"echo", b"",
                                     status=1), 5, 0, "frame-bad-flags"),
        ("error-without-status", cg.seal(K1, 2, 5, cg.ERROR, 9), 5, 0,
         "frame-bad-flags"),
        ("truncated", good[:-1], 5, 0, "frame-bad-length"),
        ("trailing-byte", good + b"x", 5, 0, "frame-bad-length"),
        ("bad-channel-byte", cg.seal(K1, 1, 5, cg.INVOKE, 9, b"ec ho", b""),
         5, 0, "frame-bad-channel"),
        ("missing-channel", cg.seal(K1, 1, 5, cg.INVOKE, 9, b"", b""), 5, 0,
         "frame-bad-channel"),
        ("channel-on-reply", cg.seal(K1, 2, 5, cg.REPLY, 9, b"x", b""), 5, 0,
         "frame-bad-channel"),
        ("altered-body", flip(good, len(good) - 2), 5, 0, "frame-bad-mac"),
        ("altered-header", flip(good, 8), 5, 0, "frame-bad-mac"),
        ("altered-mac", flip(good, 40), 5, 0, "frame-bad-mac"),
        ("wrong-key", cg.seal(K2, 1, 5, cg.INVOKE, 9, b"echo", b'"hi"'), 5,
         0, "frame-bad-mac"),
        ("reflected", cg.seal(K1, 2, 5, cg.INVOKE, 9, b"echo", b'"hi"'), 5,
         0, "frame-bad-mac"),
        ("replayed", good, 6, 0, "frame-bad-seq"),
        ("skipped", good, 4, 0, "frame-bad-seq"),
        ("fds-missing", cg.seal(K1, 1, 5, cg.INVOKE, 9, b"echo", b"",
                                nfds=1), 5, 0, "frame-bad-fds"),
        ("fds-undeclared", good, 5, 1, "frame-bad-fds"),
    ]
    # Each reject is opened as a receiver of frames travelling in the
    # vector's direction would open it.
    out = []
    for name, dg, expect_seq, nfds, error in cases:
        d = 2 if name in ("error-without-status", "channel-on-reply") else 1
        out.append({"name": name, "key": hexs(K1), "direction": d,
                    "expected_seq": expect_seq, "nfds_received": nfds,
                    "datagram": hexs(err(dg)), "error": error})
    return out


json.dump({"protocol": 1, "accept": accepted(), "reject": rejected()},
          sys.stdout, indent=1, ensure_ascii=False)
sys.stdout.write("\n")
