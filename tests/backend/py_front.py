"""A Python front-end for the tests, run under `capgate run`: one mode per
run (argv[1]); prints one line per observation."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "client", "python"))
import capgate  # noqa: E402

# The preload step ran at import: the key pipe is closed, the variable gone.
assert "CAPGATE_KEY_FD" not in os.environ
try:
    os.fstat(4)
    print("key fd still open")
except OSError:
    pass

gw = capgate.connect()
mode = sys.argv[1]


def show(fn, *a, **kw):
    try:
        print(capgate._dumps(fn(*a, **kw)).decode())
    except capgate.Error as e:
        print("error:", e.code)
    sys.stdout.flush()


def pipelined(channel, body, n):
    """n invokes sent before any answer is read; their answers (the body,
    or the error's status name) in the order they were sent."""
    ids = [gw._send(capgate.INVOKE, channel, body) for _ in range(n)]
    answers = {}
    while len(answers) < n:
        f, fds = gw._recv(5)
        answers[f.request_id] = (capgate.STATUS_NAMES.get(f.status, "ok")
                                 if f.type == capgate.ERROR else f.body.decode())
    return " ".join(answers[i] for i in ids)


if mode == "basic":
    show(gw.invoke, "b:echo", {"a": [1, "é"]})
    show(gw.invoke, "b:whoami", None)
    show(gw.invoke, "b:echo", "not an object")
    show(gw.invoke, "b:nope", {})
    gw.send("b:note", {"x": 1})
    got = []
    off = gw.on("b:tick", lambda ch, p: got.append(p))
    show(gw.invoke, "b:emit", {"channel": "b:tick", "payload": {"n": 7}})
    gw.poll(0.2)
    off()
    show(gw.invoke, "b:emit", {"channel": "b:tick", "payload": {"n": 8}})
    gw.poll(0.2)
    print("events", capgate._dumps(got).decode())
    # bulk data both ways, as fds
    r, fds = gw.invoke("b:blob", 1000, want_fds=True)
    print("blob", r["size"], len(fds), os.fstat(fds[0]).st_size,
          os.pread(fds[0], 4, 0).decode())
    for fd in fds:
        os.close(fd)
    m = os.memfd_create("up", os.MFD_ALLOW_SEALING)
    os.write(m, b"UPLOAD from python")
    import fcntl
    fcntl.fcntl(m, fcntl.F_ADD_SEALS, fcntl.F_SEAL_WRITE | fcntl.F_SEAL_SHRINK |
                fcntl.F_SEAL_GROW)
    show(gw.invoke, "b:upload", {"size": 18}, fds=[m])
    os.close(m)
elif mode == "inflight":
    # Three invokes in flight at once on a channel that allows two.
    print(pipelined("b:slow", b"0.1", 3))
elif mode == "inflight-global":
    # Ten invokes at once; the policy's limits.inflight is 8.
    print(pipelined("b:slow2", b"0.05", 10))
elif mode == "once":
    # Three invokes sent back to back on a channel with "once": the first
    # is still pending at the backend when the other two are decided.
    print(pipelined("b:once", b"0.2", 3))
    show(gw.invoke, "b:once", 0)
elif mode == "flood-no-read":
    gw.on("b:tick", lambda ch, p: None)
    gw.send("b:flood", int(sys.argv[2]))
    time.sleep(float(sys.argv[3]))
    print("still alive")
elif mode == "die-pending":
    # Leave invokes pending on a slow backend and exit: their answers
    # arrive for a client that is gone.
    for _ in range(3):
        gw._send(capgate.INVOKE, "b:slow", b"0.05")
    os._exit(0)
elif mode == "fs":
    show(gw.invoke, "fs:read", {"path": "hello.txt"})
    r, fds = gw.invoke("fs:open", {"path": "hello.txt"}, want_fds=True)
    print("open", capgate._dumps(r).decode(), len(fds),
          os.read(fds[0], 100).decode().strip())
    try:
        os.write(fds[0], b"x")
        print("wrote through a read-only fd")
    except OSError as e:
        print("write refused", e.errno)
    for fd in fds:
        os.close(fd)
    show(gw.invoke, "fs:read", {"path": "../secret.txt"})
print("done")
