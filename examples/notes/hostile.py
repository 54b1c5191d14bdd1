"""A hostile notes front-end: it runs under the same policy as ui.py and
tries everything else. Each attempt prints "denied" or "GOT THROUGH"; the
exit status is the number of attempts that got through (0 is the expected
answer). With --fatal a last attempt, a replayed frame, ends the process:
the gateway kills it.

    capgate run --policy examples/notes/policy.json -- python3 -I $PWD/examples/notes/hostile.py
"""
import os
import socket
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "client", "python"))
import capgate  # noqa: E402

gw = capgate.connect()
through = 0


def expect_error(what, channel, data):
    global through
    try:
        r = gw.invoke(channel, data, timeout=5)
        print("GOT THROUGH:", what, r)
        through += 1
    except capgate.Error as e:
        print("denied (%s): %s" % (e.code, what))


expect_error("a channel the policy does not declare", "fs:read",
             {"path": "/etc/passwd"})
expect_error("a path instead of an id", "notes:read",
             {"id": "../../../etc/passwd"})
expect_error("an absolute path", "notes:read", {"id": "/etc/passwd"})
expect_error("an extra member", "notes:save",
             {"id": "x", "text": "y", "path": "/tmp/x"})
expect_error("a note over 10,000 characters", "notes:save",
             {"id": "big", "text": "x" * 10001})
expect_error("the wrong kind (an invoke on the event channel)",
             "notes:changed", {})
gw.send("notes:save", {"id": "sneaky", "text": "y"})   # wrong kind: dropped
expect_error("a save sent as a one-way message, read back", "notes:read",
             {"id": "sneaky"})
expect_error("JSON nested 100 deep", "notes:list",
             __import__("json").loads("[" * 100 + "]" * 100))
# Subscribing to something not granted: no answer, nothing delivered.
gw.on("audit:everything", lambda ch, p: print("GOT THROUGH: event", p))
gw.poll(0.2)

# Outside the gateway: the sandbox.
for path in ("/etc/passwd", os.path.expanduser("~/.ssh/id_rsa"),
             os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")):
    try:
        os.listdir(path) if path.endswith("data") else open(path).read()
        print("GOT THROUGH: read", path)
        through += 1
    except OSError as e:
        print("denied (%s): %s" % (e.strerror, path))
try:
    open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "x"), "w")
    print("GOT THROUGH: wrote next to the policy")
    through += 1
except OSError as e:
    print("denied (%s): writing a file" % e.strerror)
try:
    # The sandbox refuses the socket itself (EPERM), and records it.
    socket.create_connection(("127.0.0.1", 22), timeout=2)
    print("GOT THROUGH: a TCP connection")
    through += 1
except OSError as e:
    print("denied (%s): a TCP connection" % e.strerror)
for var in ("PATH", "USER", "SSH_AUTH_SOCK", "CAPGATE_KEY_FD"):
    if var in os.environ:
        print("GOT THROUGH: environment", var)
        through += 1
print("denied: environment (only %s)" % sorted(os.environ))
sys.stdout.flush()

if "--fatal" in sys.argv:
    # Replay the last frame we sent: the gateway kills us for it.
    gw._send_seq -= 1
    gw._send(capgate.INVOKE, "notes:list", b"{}")
    gw.poll(1)
    print("GOT THROUGH: a replayed frame")
    through += 1
sys.exit(through)
