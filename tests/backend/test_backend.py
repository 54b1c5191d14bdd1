"""A backend for the end-to-end tests: one handler per behaviour to test."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "client", "python"))
import capgate  # noqa: E402  (reads the session key at import)

be = capgate.Backend()


def emit(data, caller):
    be.emit(data["channel"], data["payload"])
    return True


def crash(data, caller):
    os._exit(3)


def fail(data, caller):
    raise capgate.BackendError("denied")


def slow(data, caller):
    time.sleep(data)
    return data


def counter(data, caller):
    return os.getpid()


be.handle("b:echo", lambda data, caller: data)
be.handle("b:logged", lambda data, caller: {"ok": True})
be.handle("b:whoami", lambda data, caller: caller)
be.handle("b:bad", lambda data, caller: {"secret": "leak"})
be.handle("b:emit", emit)
be.handle("b:crash", crash)
be.handle("b:fail", fail)
be.handle("b:slow", slow)
be.handle("b:slow2", slow)
be.handle("b:once", slow)
be.handle("b:pid", counter)
be.handle("b:note", lambda data, caller: None)


def flood(data, caller):
    for i in range(data):
        be.emit("b:tick", {"n": i, "pad": "x" * 2000})


be.handle("b:flood", flood)


def peek(path, caller):
    try:
        with open(path, "rb") as f:
            f.read(1)
        return True
    except OSError:
        return False


be.handle("b:peek", peek)


def blob(size, caller):
    fd = os.memfd_create("blob")
    os.ftruncate(fd, size)
    os.pwrite(fd, b"BLOB", 0)
    return capgate.Reply({"size": size, "fd": 0}, fds=[fd])


be.handle("b:blob", blob)


def bad_json(data, caller):
    # An answer that is not JSON, then (from serve_one) a second, late one.
    be._send(capgate.REPLY, body=b'{"not json', request_id=be.request_id)
    return True


def skip_seq(data, caller):
    # A frame out of sequence: the gateway ends this backend.
    be._send_seq += 1
    return True


be.handle("b:badjson", bad_json)


def upload(data, caller):
    fd = be.fds[0]
    return {"size": os.fstat(fd).st_size, "head": os.pread(fd, 6, 0).decode(),
            "said": data["size"]}


be.handle("b:upload", upload)
be.handle("b:upload-undeclared", upload)
be.handle("b:skipseq", skip_seq)
be.handle("b:blob-undeclared", blob)
be.serve_forever()
