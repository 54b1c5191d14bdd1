"""Processes the harness starts and what it reads back from them: JSON
lines on stdout, services that say "ready", many clients at once, /proc
memory figures and audit logs."""

import json
import os
import platform
import select
import statistics
import subprocess
import sys
import tempfile
import time

from harness.config import REPO


class ManyClients:
    """n `capgate run -- bench-client ARGS` at once, each with its own
    gateway; waits until every client has said "ready".

    Every client's stdin is the read end of one shared pipe: go() writes n
    bytes in one write(), so all of them wake together (one write per
    client would start the first ones seconds before the last when a
    thousand busy processes share two CPUs with this script), and closing
    the write end is end-of-file for all of them."""

    def __init__(self, runner, n, args, timeout=120):
        _, client = runner.capgate_progs
        self.runner = runner
        self.procs = []
        self.n = n
        rfd, self.go_fd = os.pipe()
        deadline = time.monotonic() + timeout
        try:
            for i in range(n):
                argv = runner.capgate_argv([], "echo.json", [client] + args,
                                           runner.audit_path("many"))
                with open(os.path.join(runner.tmp, "many-%d.err" % i), "w") as err:
                    self.procs.append(subprocess.Popen(
                        argv, stdin=rfd, stdout=subprocess.PIPE, stderr=err))
            os.close(rfd)
            rfd = -1
            for p in self.procs:
                if not self._ready(p, deadline):
                    raise BenchError("%d clients: one did not become ready" % n)
        except (OSError, BenchError) as e:
            if rfd >= 0:
                os.close(rfd)
            self.stop()
            raise BenchError("%d clients at once: %s" % (n, e))

    @staticmethod
    def _ready(p, deadline):
        buf = b""
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            # poll, not select: a thousand clients outgrow FD_SETSIZE.
            poller = select.poll()
            poller.register(p.stdout.fileno(), select.POLLIN)
            if poller.poll(left * 1000):
                chunk = os.read(p.stdout.fileno(), 64)
                if not chunk:
                    return False
                buf += chunk
        return buf.startswith(b"ready")

    def go(self):
        data = b"g" * self.n
        while data:
            data = data[os.write(self.go_fd, data):]

    def collect(self, timeout):
        """Every JSON line the clients print before they exit."""
        out = []
        deadline = time.monotonic() + timeout
        for p in self.procs:
            try:
                data, _ = p.communicate(timeout=max(1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                raise BenchError("a client did not finish in time")
            out += parse_json_lines(data.decode(errors="replace"))
        return out

    def errors(self):
        """Exit statuses and the last stderr line of clients that failed."""
        bad = {}
        for i, p in enumerate(self.procs):
            if p.returncode not in (None, 0):
                try:
                    with open(os.path.join(self.runner.tmp, "many-%d.err" % i)) as f:
                        tail = (f.read().strip().splitlines() or [""])[-1]
                except OSError:
                    tail = ""
                key = "exit %d: %s" % (p.returncode, tail[:200])
                bad[key] = bad.get(key, 0) + 1
        return bad

    def stop(self):
        if self.go_fd >= 0:
            os.close(self.go_fd)
            self.go_fd = -1
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            if p.stdout:
                p.stdout.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        self.runner.drop_audit_logs("audit-many-")
        self.runner.drop_audit_logs("many-")


class OneGateway:
    """One `capgate run` whose policy launches n clients together (the
    command-line one and n - 1 with an "exec"), all bench-client.

    The clients share the gateway's stdin and stdout: stdin is the read end
    of one pipe (go() releases all of them with one write, closing it is
    end-of-file for all), and each prints whole JSON lines, which a pipe
    keeps apart (a line is far below PIPE_BUF). Waits until n clients have
    said "ready"."""

    def __init__(self, argv, n, timeout):
        self.n = n
        self.lines = []
        rfd, self.go_fd = os.pipe()
        self.err = tempfile.TemporaryFile()
        try:
            self.p = subprocess.Popen(argv, stdin=rfd, stdout=subprocess.PIPE,
                                      stderr=self.err)
        finally:
            os.close(rfd)
        self.buf = b""
        deadline = time.monotonic() + timeout
        while sum(1 for l in self.lines if l.startswith("ready")) < n:
            if not self._read(deadline):
                got = sum(1 for l in self.lines if l.startswith("ready"))
                self.stop()
                raise BenchError("one gateway, %d clients: %d became ready: %s"
                                 % (n, got, self.errors()))

    def _read(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        poller = select.poll()
        poller.register(self.p.stdout.fileno(), select.POLLIN)
        if not poller.poll(left * 1000):
            return False
        chunk = os.read(self.p.stdout.fileno(), 65536)
        if not chunk:
            return False
        self.buf += chunk
        *done, self.buf = self.buf.split(b"\n")
        self.lines += [l.decode(errors="replace") for l in done]
        return True

    def go(self):
        data = b"g" * self.n
        while data:
            data = data[os.write(self.go_fd, data):]

    def collect(self, timeout):
        """Every JSON line printed until the gateway exits."""
        deadline = time.monotonic() + timeout
        while self._read(deadline):
            pass
        # End of file can come a moment before the exit is visible.
        try:
            self.p.wait(max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            raise BenchError("one gateway, %d clients: did not finish in time" % self.n)
        return parse_json_lines("\n".join(self.lines))

    def errors(self):
        self.err.seek(0)
        return " | ".join(self.err.read().decode(errors="replace").strip().splitlines()[-3:])

    def stop(self):
        if self.go_fd >= 0:
            os.close(self.go_fd)
            self.go_fd = -1
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(30)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.p.stdout.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        self.err.close()


def spin_summary(results, n):
    """Fairness and latency over the clients' capgate_spin lines."""
    lat = [r for r in results if r.get("bench") == "capgate_spin"]
    rate = [r for r in results if r.get("bench") == "capgate_spin_rate"]
    counts = [r["n"] for r in rate]
    if len(counts) != n:
        raise BenchError("scale: %d of %d clients reported" % (len(counts), n))
    jain = (sum(counts) ** 2) / (n * sum(c * c for c in counts)) if any(counts) else None
    p99s = sorted(r["p99_us"] for r in lat)
    return {"total_invokes": sum(counts),
            "total_per_s": round(sum(r["per_s"] for r in rate)),
            "per_client_invokes_min": min(counts), "per_client_invokes_max": max(counts),
            "jain_fairness": round(jain, 4) if jain is not None else None,
            "per_client_p50_us_median": statistics.median(r["p50_us"] for r in lat),
            "per_client_p99_us_median": statistics.median(p99s),
            "per_client_p99_us_max": p99s[-1]}


class RateCase:
    """One throughput measurement: argv(audit_path) gives the command;
    check(obj, audit_path) may raise BenchError; a soft case that fails is
    recorded as unavailable (a missing feature), not as a failure."""

    def __init__(self, bench, argv, check=None, soft=False):
        self.bench, self.argv, self.check, self.soft = bench, argv, check, soft


class BenchError(Exception):
    """A measurement that should have run and did not."""


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def parse_json_lines(text):
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    return out


def run_json(argv, timeout, what, env=None):
    """Runs argv, returns the JSON objects it printed; raises on failure."""
    try:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        raise BenchError("%s: timed out after %d s" % (what, timeout))
    except OSError as e:
        raise BenchError("%s: %s" % (what, e))
    objs = parse_json_lines(p.stdout)
    if p.returncode != 0 or not objs:
        tail = (p.stderr or p.stdout).strip().splitlines()[-3:]
        raise BenchError("%s: exit %d: %s" % (what, p.returncode, " | ".join(tail)))
    return objs


class Service:
    """A background process that prints a line starting with `ready` when
    it can be used; stopped (stdin closed, SIGTERM, SIGKILL) on exit."""

    def __init__(self, argv, what, timeout=15, env=None, ready="ready"):
        self.what = what
        self.ready = ready
        self.stderr = tempfile.TemporaryFile()
        try:
            self.p = subprocess.Popen(argv, stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, stderr=self.stderr,
                                      env=env)
        except OSError as e:
            raise BenchError("%s: %s" % (what, e))
        self.ready_line = self._wait_ready(timeout)

    def _wait_ready(self, timeout):
        end = time.monotonic() + timeout
        buf = b""
        while time.monotonic() < end:
            poller = select.poll()
            poller.register(self.p.stdout.fileno(), select.POLLIN)
            if poller.poll(100):
                chunk = os.read(self.p.stdout.fileno(), 4096)
                if not chunk:
                    break
                buf += chunk
                for line in buf.decode(errors="replace").splitlines():
                    if line.startswith(self.ready):
                        return line
            if self.p.poll() is not None:
                break
        err = self.errors()
        self.stop()
        raise BenchError("%s did not become ready: %s" % (self.what, err))

    def errors(self):
        self.stderr.seek(0)
        return " | ".join(self.stderr.read().decode(errors="replace")
                          .strip().splitlines()[-3:])

    def stop(self):
        if self.p.poll() is None:
            try:
                self.p.stdin.close()
            except OSError:
                pass
            self.p.terminate()
            try:
                self.p.wait(5)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.stderr.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def combine_rounds(bench, size, rounds):
    med = lambda k: statistics.median(r[k] for r in rounds)
    obj = {"bench": bench, "size": size, "rounds": len(rounds),
           "n": sum(r["n"] for r in rounds),
           "min_us": min(r["min_us"] for r in rounds),
           "p50_us": med("p50_us"), "p90_us": med("p90_us"),
           "p99_us": med("p99_us"),
           "max_us": max(r["max_us"] for r in rounds),
           "round_p50_us": [r["p50_us"] for r in rounds]}
    if all("same_cpu" in r for r in rounds):
        obj["same_cpu"] = round(statistics.mean(r["same_cpu"] for r in rounds), 3)
    return obj


def count_allowed(path, channel):
    """Allowed decisions for channel in a JSON Lines audit log, or None if
    the log's records do not carry channel and decision members."""
    n, seen = 0, False
    try:
        with open(path) as f:
            for line in f:
                try:
                    r = json.loads(line)
                except ValueError:
                    continue
                if not isinstance(r, dict) or "decision" not in r:
                    continue
                seen = True
                if r.get("channel") == channel and r.get("decision") == "allow":
                    n += 1
    except OSError:
        return None
    return n if seen else None


def audit_events(path, limit=50):
    """The lifecycle records (not decisions) at the head of an audit log."""
    out = []
    try:
        with open(path) as f:
            for i, line in enumerate(f):
                if i >= limit:
                    break
                try:
                    r = json.loads(line)
                except ValueError:
                    continue
                if isinstance(r, dict) and "decision" not in r:
                    out.append(r)
    except OSError:
        pass
    return out


def proc_memory(pid):
    """VmRSS from /proc/PID/status and Pss from /proc/PID/smaps_rollup, KiB."""
    out = {"rss_kib": None, "pss_kib": None}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    out["rss_kib"] = int(line.split()[1])
    except OSError:
        return out
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    out["pss_kib"] = int(line.split()[1])
    except OSError:
        pass
    return out


def source_info(build):
    """The commit measured and how it was built, so runs can be compared."""
    info = {"commit": None, "dirty": None, "buildtype": None}
    try:
        info["commit"] = subprocess.run(
            ["git", "-C", REPO, "rev-parse", "HEAD"], capture_output=True,
            text=True, timeout=10).stdout.strip() or None
        info["dirty"] = bool(subprocess.run(
            ["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=10).stdout.strip())
    except (OSError, subprocess.TimeoutExpired):
        pass
    try:
        with open(os.path.join(build, "meson-info", "intro-buildoptions.json")) as f:
            for opt in json.load(f):
                if opt.get("name") in ("buildtype", "b_sanitize"):
                    info[opt["name"]] = opt.get("value")
    except (OSError, ValueError):
        pass
    return info


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()
