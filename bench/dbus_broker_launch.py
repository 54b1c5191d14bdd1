#!/usr/bin/env python3
"""Run dbus-broker on a private socket without systemd (bench/run helper).

dbus-broker is normally started by systemd: dbus-broker-launch receives its
listening socket by socket activation, logs to the journal, and talks to
systemd over the parent bus for service activation. None of that exists on
a machine without systemd, so this helper supplies each piece, and nothing
else, inside a private mount namespace (bench/run starts it under
`unshare -m`):

  * a tmpfs on /run with a datagram socket at /run/systemd/journal/socket
    that drains the launcher's and the broker's log records;
  * a private dbus-daemon as the launcher's "parent bus" (the launcher
    subscribes to systemd signals there; no benchmark message touches it);
  * the listening socket, passed as fd 3 with LISTEN_FDS/LISTEN_PID.

The broker itself is the unmodified Debian binary that dbus-broker-launch
starts; the benchmark's messages go client -> dbus-broker -> service.

Usage: dbus_broker_launch.py --config FILE --listen PATH
Prints "ready unix:path=PATH" on stdout once the launcher reports Ready,
then runs until SIGTERM/SIGINT or stdin closes.
"""

import argparse
import os
import select
import signal
import socket
import subprocess
import sys
import time

JOURNAL_DIR = "/run/systemd/journal"


def fail(msg):
    print("dbus_broker_launch: " + msg, file=sys.stderr, flush=True)
    sys.exit(1)


def journal_socket():
    """Mounts a private /run and binds the journal socket the launcher needs."""
    if subprocess.run(["mount", "-t", "tmpfs", "tmpfs", "/run"]).returncode:
        fail("cannot mount a private /run (not in a mount namespace?)")
    os.makedirs(JOURNAL_DIR, exist_ok=True)
    j = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    j.bind(JOURNAL_DIR + "/socket")
    j.setblocking(False)
    return j


def parent_bus(config):
    """Starts the dbus-daemon the launcher uses as its systemd-side bus."""
    path = "/run/bench-parent-bus"
    d = subprocess.Popen(["dbus-daemon", "--config-file=" + config,
                          "--address=unix:path=" + path, "--nofork",
                          "--print-address"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    addr = d.stdout.readline().decode().strip()
    if not addr:
        fail("parent dbus-daemon did not start")
    return d, addr


def start_launcher(config, listen_path, parent_addr):
    try:
        os.unlink(listen_path)
    except FileNotFoundError:
        pass
    ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ls.bind(listen_path)
    ls.listen(512)
    pid = os.fork()
    if pid == 0:
        try:
            os.dup2(ls.fileno(), 3, inheritable=True)
            env = dict(os.environ, LISTEN_FDS="1", LISTEN_PID=str(os.getpid()),
                       DBUS_SESSION_BUS_ADDRESS=parent_addr)
            os.execvpe("dbus-broker-launch",
                       ["dbus-broker-launch", "--scope", "user",
                        "--config-file", config], env)
        finally:
            os._exit(127)
    ls.close()
    return pid


def drain(j, timeout):
    """Reads journal records for up to timeout seconds; returns their text."""
    out = []
    end = time.monotonic() + timeout
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return out
        r, _, _ = select.select([j, sys.stdin], [], [], left)
        if j in r:
            try:
                while True:
                    out.append(j.recv(65536).decode(errors="replace"))
            except BlockingIOError:
                pass
            return out
        if sys.stdin in r and not os.read(sys.stdin.fileno(), 4096):
            raise EOFError


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    ap.add_argument("--listen", required=True)
    a = ap.parse_args()
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    j = journal_socket()
    daemon, addr = parent_bus(a.config)
    pid = start_launcher(a.config, a.listen, addr)
    ready = False
    deadline = time.monotonic() + 10
    try:
        while not stop:
            for rec in drain(j, 0.2):
                if "MESSAGE=Ready" in rec and not ready:
                    ready = True
                    print("ready unix:path=" + a.listen, flush=True)
                elif "PRIORITY=3" in rec or "PRIORITY=2" in rec:
                    print("dbus_broker_launch: " + rec.replace("\n", " ")[:400],
                          file=sys.stderr, flush=True)
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                fail("dbus-broker-launch exited with status %d" % status)
            if not ready and time.monotonic() > deadline:
                fail("dbus-broker-launch did not report Ready within 10 s")
    except EOFError:
        pass
    finally:
        for p in (pid,):
            try:
                os.kill(p, signal.SIGTERM)
                os.waitpid(p, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
        daemon.terminate()
        daemon.wait()


if __name__ == "__main__":
    main()
