"""The capgate measurements: invoke, send and pipelined throughput under
`capgate run`, the backend probe, spawn, gateway memory and scale."""

import json
import os
import shutil
import statistics
import subprocess
import time

from harness.config import BENCH, PLACEMENTS, SIZES
from harness.procs import (BenchError, ManyClients, OneGateway, RateCase,
                           Service, audit_events, count_allowed, log,
                           proc_memory, run_json, spin_summary)


SPAWN_WARMUP = 5    # bench-spawn's default warm-up runs
SPAWN_APART_WARMUP = 1   # warm-up runs of the cases timed apart


def run_json_or_status(argv):
    """Runs argv to completion; raises BenchError unless it exits 0."""
    try:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise BenchError("%s: %s" % (argv[0], e))
    if p.returncode != 0:
        raise BenchError("%s exited %d: %s" % (" ".join(argv[:3]), p.returncode,
                                               p.stderr.strip()[-200:]))


class CapgateMixin:
    """Runner methods that drive capgate and bench-client."""

    def capgate_programs(self):
        """(capgate, bench-client), or None after recording why."""
        gw, client = self.program("capgate"), self.program("bench-client")
        if gw is None or client is None:
            why = ("capgate is not built in this tree" if gw is None else
                   "bench-client is not built (no client library in this tree)")
            for b in ("builtin_invoke", "backend_invoke", "send", "pipeline"):
                self.unavailable.setdefault(b, why)
            return None
        return gw, client

    def drop_audit_logs(self, prefix="audit-run-"):
        """Removes the runs' audit logs (megabytes each) as it goes."""
        for name in os.listdir(self.tmp):
            if name.startswith(prefix):
                try:
                    os.unlink(os.path.join(self.tmp, name))
                except OSError:
                    pass

    def audit_path(self, tag):
        self.audit_seq = getattr(self, "audit_seq", 0) + 1
        return os.path.join(self.tmp, "audit-%s-%d.log" % (tag, self.audit_seq))

    def capgate_argv(self, pin, policy, argv, audit=None):
        """`capgate run` of argv under policy (a file in bench/policies/ or a
        generated one), with its audit log in the temporary directory."""
        gw, _ = self.capgate_progs
        if not os.path.isabs(policy):
            policy = os.path.join(BENCH, "policies", policy)
        return pin + [gw, "run", "--policy", policy,
                      "--audit", audit or self.audit_path("run"), "--"] + argv

    def capgate_latency_cases(self, pin, bench, policy, channel):
        _, client = self.capgate_progs
        cases = []
        for size in SIZES:
            argv = (lambda n, size=size: self.capgate_argv(pin, policy, [
                client, "invoke", "--channel", channel, "--size", str(size),
                "--iters", str(n), "--warmup", str(self.cfg["warmup"])]))
            cases.append((bench, size, argv))
        return cases

    def capgate_rate_cases(self, pin):
        if self.capgate_progs is None:
            return []
        _, client = self.capgate_progs
        c = self.cfg
        want = c["send_count"] + c["warmup"]

        def send_argv(audit):
            return self.capgate_argv(pin, "echo.json", [
                client, "send", "--channel", "bench:sink", "--sync", "bench:echo",
                "--size", "64", "--iters", str(c["send_count"]),
                "--warmup", str(c["warmup"])], audit)

        def send_check(obj, audit):
            # A send has no reply: the audit log is the proof that each one
            # went through every check and was allowed, not dropped.
            obj["audit_allowed"] = count_allowed(audit, "bench:sink")
            if obj["audit_allowed"] is not None and obj["audit_allowed"] < want:
                raise BenchError("send: only %d of %d sends were allowed in the "
                                 "audit log" % (obj["audit_allowed"], want))

        # cg_invoke() blocks, so pipelining goes through bench-pipeline (the
        # frame codec directly) until the library has an asynchronous
        # invoke; bench-client's own pipeline mode says so and is "soft".
        pipe = self.program("bench-pipeline")

        def pipe_argv(audit):
            prog = [pipe] if pipe else [client, "pipeline"]
            return self.capgate_argv(pin, "echo.json", prog + [
                "--channel", "bench:echo", "--size", "64",
                "--iters", str(c["pipe_count"]), "--window", "16"], audit)

        return [RateCase("send", send_argv, send_check),
                RateCase("pipeline", pipe_argv, soft=pipe is None)]

    def run_rate_rounds(self, placement, cases):
        """Throughput cases in interleaved rounds; the median per_s is kept,
        with every round's figure beside it."""
        got = {case.bench: [] for case in cases}
        dead = set()
        for _ in range(self.cfg["rate_rounds"]):
            for case in cases:
                if case.bench in dead:
                    continue
                audit = self.audit_path(case.bench)
                what = "%s (%s)" % (case.bench, placement)
                try:
                    obj = run_json(case.argv(audit), 600, what)[0]
                    if case.check:
                        case.check(obj, audit)
                    got[case.bench].append(obj)
                except BenchError as e:
                    dead.add(case.bench)
                    if case.soft:
                        self.unavailable[case.bench] = str(e)
                    else:
                        log("bench: FAILED %s: %s" % (what, e))
                        self.failures.append("%s: %s" % (what, e))
                try:
                    os.unlink(audit)
                except OSError:
                    pass
        for case in cases:
            rounds = got[case.bench]
            if rounds and case.bench not in dead:
                obj = dict(rounds[0])
                obj["per_s"] = statistics.median(r["per_s"] for r in rounds)
                obj["round_per_s"] = [r["per_s"] for r in rounds]
                obj["rounds"] = len(rounds)
                self.put(placement, case.bench, 64, obj)

    def capgate_cases(self, pin):
        if self.capgate_progs is None:
            return []
        cases = self.capgate_latency_cases(pin, "builtin_invoke", "echo.json",
                                           "bench:echo")
        return cases + self.capgate_backend_cases(pin)

    def backend_policy(self):
        """A policy whose bench:echo is served by a backend process."""
        path = os.path.join(self.tmp, "backend.json")
        schema = {"type": "string", "maxLength": 65536}
        with open(path, "w") as f:
            json.dump({"capgate": 1,
                       "audit": {"path": "bench-audit.log", "sync": "batch"},
                       "limits": {"frame_max": 65536},
                       "backends": {"echo": {"exec": self.backend_exec()}},
                       "channels": {"bench:echo": {
                           "kind": "invoke", "to": "echo", "max_bytes": 65536,
                           "request": schema, "response": schema}}}, f, indent=1)
        return path

    def backend_exec(self):
        """bench-backend-echo (bench/backend_echo.c): answers with the
        client's payload and does nothing else, like the relay floor's echo."""
        prog = self.program("bench-backend-echo")
        return [prog] if prog else ["/bin/false"]

    def capgate_backend_cases(self, pin):
        """The invoke through a backend process, if this capgate has them:
        the gateway's own policy check says whether it does."""
        gw, _ = self.capgate_progs
        policy = self.backend_policy()
        p = subprocess.run([gw, "policy", "check", policy], capture_output=True,
                           text=True, timeout=60)
        if p.returncode != 0:
            why = (p.stderr or p.stdout).strip().splitlines()[-1:] or ["?"]
            self.unavailable["backend_invoke"] = (
                "this capgate has no backend processes (policy check: %s)"
                % why[0].replace(policy, "backend.json"))
            return []
        if self.program("bench-backend-echo") is None:
            self.unavailable["backend_invoke"] = (
                "capgate accepts backends but bench has no echo backend yet")
            return []
        return self.capgate_latency_cases(pin, "backend_invoke", policy, "bench:echo")

    # ---- spawn -------------------------------------------------------------

    def capgate_spawn_cases(self):
        """`capgate run` of /bin/true: policy load, audit open, full sandbox,
        exec, exit, audit close. Two cases, because the audit log decides
        part of the cost:
          capgate          appends to an existing log, as a user's runs do.
                           Each run gets its own copy of a one-run log
                           ("{n}" is the run number, filled in by
                           bench-spawn); one shared log would grow with every
                           run and add the reading of its tail to later runs.
          capgate_new_log  creates its log, which costs an fdatasync of the
                           file and an fsync of its directory.
          capgate_apart    as capgate, each run SPAWN_GAP_MS after the one
                           before (a user's single run; bench/run's
                           spawn()).
        """
        if self.capgate_progs is None:
            self.unavailable.setdefault("capgate_spawn", "capgate is not built in this tree")
            return []
        true = shutil.which("true") or "/bin/true"
        seed = os.path.join(self.tmp, "spawn-seed.log")
        if not os.path.exists(seed):
            run_json_or_status(self.capgate_argv([], "echo.json", [true], seed))
        existing = os.path.join(self.tmp, "spawn-audit-{n}.log")
        for n in range(self.cfg["spawn_runs"] + SPAWN_WARMUP):
            shutil.copyfile(seed, existing.replace("{n}", str(n)))
        apart = os.path.join(self.tmp, "spawn-apart-{n}.log")
        for n in range(self.cfg["spawn_apart_runs"] + SPAWN_APART_WARMUP):
            shutil.copyfile(seed, apart.replace("{n}", str(n)))
        fresh = os.path.join(self.tmp, "spawn-new-{n}.log")
        self.spawn_audit = existing.replace("{n}", "0")
        return [("capgate", self.capgate_argv([], "echo.json", [true], existing)),
                ("capgate_new_log", self.capgate_argv([], "echo.json", [true], fresh)),
                ("capgate_apart", self.capgate_argv([], "echo.json", [true], apart))]

    def record_attestation(self):
        """Keeps what the gateway said about its sandbox, so a fast spawn of
        a sandbox that did not engage cannot pass for a fast sandbox."""
        path = getattr(self, "spawn_audit", None)
        if path is None:
            return
        events = audit_events(path)
        self.drop_audit_logs("spawn-audit-")
        self.drop_audit_logs("spawn-new-")
        self.drop_audit_logs("spawn-apart-")
        if "capgate_attestation" in self.other["spawn"]:
            return
        att = [e for e in events if any(k in json.dumps(e).lower()
                                        for k in ("attest", "sandbox", "landlock", "seccomp"))]
        self.other["spawn"]["capgate_attestation"] = att[0] if att else None
        if not att:
            self.other["spawn"]["capgate_attestation_note"] = (
                "no sandbox attestation in the audit log: the sandbox layers "
                "may not have engaged (events seen: %s)" %
                ", ".join(sorted({str(e.get("ev", e.get("event", "?"))) for e in events})))

    # ---- memory and scale --------------------------------------------------

    def gateway_memory(self, pin, warmup):
        """RSS and PSS of a gateway whose one client is connected and idle
        (after warmup invokes), in KiB."""
        _, client = self.capgate_progs
        argv = self.capgate_argv(pin, "echo.json",
                                 [client, "idle", "--warmup", str(warmup)])
        with Service(argv, "capgate run (idle client)", timeout=60) as svc:
            time.sleep(0.2)
            # taskset execs capgate, so the Popen pid is the gateway's.
            return proc_memory(svc.p.pid)

    def memory(self):
        if self.capgate_progs is None:
            self.unavailable.setdefault("memory", "capgate is not built in this tree")
            return
        for placement, pin in PLACEMENTS:
            idle = self.gateway_memory(pin, 0)
            busy = self.gateway_memory(pin, self.cfg["iters"])
            self.other["memory"][placement] = {
                "rss_kib_idle": idle["rss_kib"], "pss_kib_idle": idle["pss_kib"],
                "rss_kib_after_invokes": busy["rss_kib"],
                "pss_kib_after_invokes": busy["pss_kib"],
                "invokes_before_reading": self.cfg["iters"],
                "rss_kib_per_client": self.per_client_memory(pin),
            }
        self.other["memory"]["separate_gateways"] = self.separate_gateways_memory()

    def clients_policy(self, n, args):
        """A policy declaring n clients c0000.. granted bench:echo; every one
        but the first (the command-line client) is launched with an "exec"
        of bench-client ARGS."""
        _, client = self.capgate_progs
        path = os.path.join(self.tmp, "clients-%d.json" % n)
        schema = {"type": "string", "maxLength": 65536}
        clients = {"c%04d" % i: {"grants": ["bench:echo"]} for i in range(n)}
        for i in range(1, n):
            clients["c%04d" % i]["exec"] = [client] + args
        with open(path, "w") as f:
            # A thousand sandboxes take seconds to start on a busy machine:
            # the handshake deadline is not what is measured here.
            json.dump({"capgate": 1, "audit": {"path": "bench-audit.log", "sync": "batch"},
                       "limits": {"frame_max": 65536, "handshake_ms": 120000},
                       "channels": {"bench:echo": {
                           "kind": "invoke", "to": "builtin:echo", "max_bytes": 65536,
                           "request": schema, "response": schema}},
                       "clients": clients}, f, indent=1)
        return path

    def one_gateway(self, pin, n, args, timeout):
        """OneGateway with n bench-client ARGS clients."""
        _, client = self.capgate_progs
        policy = self.clients_policy(n, args)
        # The command-line client lingers after its own report: its exit
        # stops the other clients, which may still be finishing theirs.
        argv = self.capgate_argv(pin, policy, [client] + args + ["--linger", "5000"],
                                 self.audit_path("one"))
        argv[argv.index("run") + 1:argv.index("run") + 1] = ["--client", "c0000"]
        return OneGateway(argv, n, timeout)

    def per_client_memory(self, pin):
        """One gateway with 1, 10 and mem_clients idle clients: its RSS and
        PSS at each, and the growth per client between the ends."""
        out = {}
        for n in sorted({1, 10, self.cfg["mem_clients"]}):
            with self.one_gateway(pin, n, ["idle", "--warmup", "0"], 60 + n * 0.2) as g:
                time.sleep(0.2)
                out[str(n)] = proc_memory(g.p.pid)
        self.drop_audit_logs("audit-one-")
        lo, hi = out["1"], out[str(self.cfg["mem_clients"])]
        per = (hi["rss_kib"] - lo["rss_kib"]) / (self.cfg["mem_clients"] - 1)
        self.other["memory"].setdefault("one_gateway", {})[pin and "pinned" or "free"] = out
        return round(per, 1)

    def separate_gateways_memory(self):
        """For comparison with one gateway for all: N one-client gateways
        (1, 10 and mem_clients) idle at once, and their memory."""
        out = {"mode": "one gateway per client"}
        for n in sorted({1, 10, self.cfg["mem_clients"]}):
            out[str(n)] = self.gateways_memory(n)
        return out

    def gateways_memory(self, n):
        """Total and per-gateway RSS and PSS of n idle one-client gateways."""
        with ManyClients(self, n, ["idle", "--warmup", "0"], timeout=60 + n * 0.1) as many:
            mem = [proc_memory(p.pid) for p in many.procs]
        rss = sum(m["rss_kib"] or 0 for m in mem)
        pss = sum(m["pss_kib"] or 0 for m in mem)
        return {"gateways": n, "rss_kib_total": rss, "pss_kib_total": pss,
                "rss_kib_per_gateway": round(rss / n), "pss_kib_per_gateway": round(pss / n)}

    def many_channels_policy(self, n):
        """A policy with n echo channels plus bench:echo (the one invoked)."""
        path = os.path.join(self.tmp, "channels-%d.json" % n)
        if os.path.exists(path):
            return path
        schema = {"type": "string", "maxLength": 65536}
        chans = {"bench:c%05d" % i: {"kind": "invoke", "to": "builtin:echo",
                                     "max_bytes": 65536,
                                     "request": schema, "response": schema}
                 for i in range(n)}
        chans["bench:echo"] = {"kind": "invoke", "to": "builtin:echo", "max_bytes": 65536,
                               "request": schema, "response": schema}
        with open(path, "w") as f:
            json.dump({"capgate": 1, "audit": {"path": "bench-audit.log", "sync": "batch"},
                       "limits": {"frame_max": 65536},
                       "channels": chans}, f, indent=1)
        return path

    def scale_cases(self, pin):
        """Latency case for the per-message lookup among many channels."""
        if self.capgate_progs is None or "scale" not in self.args.only:
            return []
        _, client = self.capgate_progs
        policy = self.many_channels_policy(self.cfg["channels"])
        argv = (lambda n: self.capgate_argv(pin, policy, [
            client, "invoke", "--channel", "bench:echo", "--size", "64",
            "--iters", str(n), "--warmup", str(self.cfg["warmup"])]))
        return [("builtin_invoke_many_channels", 64, argv)]

    def scale(self):
        if self.capgate_progs is None:
            self.unavailable.setdefault("scale", "capgate is not built in this tree")
            return
        gw, _ = self.capgate_progs
        spawn = self.program("bench-spawn")
        n = self.cfg["channels"]
        big = self.many_channels_policy(n)
        small = os.path.join(BENCH, "policies", "echo.json")
        res = {"channels": n, "policy_bytes": os.path.getsize(big)}
        for name, policy in (("policy_check_small", small), ("policy_check_many", big)):
            obj = run_json([spawn, "--name", name, "--runs", "20", "--warmup", "2",
                            "--", gw, "policy", "check", policy], 300, name)[0]
            res[name + "_ms"] = round(obj["p50_us"] / 1000.0, 3)
        # The load time of the channels themselves: the same command on the
        # 2-channel policy pays process start, libraries and the file read.
        res["policy_load_ms_many_channels"] = round(
            res["policy_check_many_ms"] - res["policy_check_small_ms"], 3)
        for placement, _ in PLACEMENTS:
            many = self.get(placement, "builtin_invoke_many_channels")
            one = self.get(placement, "builtin_invoke")
            if many is not None and one is not None:
                res["lookup_cost_us_" + placement] = round(many - one, 3)
                res["invoke_p50_us_many_channels_" + placement] = many
        res.update(self.many_clients())
        self.other["scale"] = res

    def many_clients(self):
        """N clients invoking at once for scale_seconds, released together.

        First through one gateway whose policy launches all N clients (the
        target). Then, for comparison, N gateways with one client each,
        which is what a machine pays when every client gets its own gateway.
        With thousands of busy processes on two CPUs the scheduler and the
        disk take part; the per-client counts say how evenly it all shares.
        """
        n, secs = self.cfg["scale_clients"], self.cfg["scale_seconds"]
        args = ["spin", "--go", "--seconds", str(secs), "--size", "64"]
        out = {}
        try:
            t0 = time.monotonic()
            with self.one_gateway([], n, args, 120 + n * 0.2) as g:
                started = time.monotonic() - t0
                rss_ready = proc_memory(g.p.pid)
                g.go()
                results = g.collect(secs + 120 + n * 0.05)
            out["clients"] = dict(spin_summary(results, n), clients=n, seconds=secs,
                                  start_s=round(started, 2),
                                  gateway_rss_kib_ready=rss_ready["rss_kib"],
                                  gateway_pss_kib_ready=rss_ready["pss_kib"])
        except BenchError as e:
            log("bench: FAILED %s" % e)
            self.failures.append(str(e))
            out["clients"] = None
        self.drop_audit_logs("audit-one-")
        t0 = time.monotonic()
        with ManyClients(self, n, args, timeout=120 + n * 0.1) as many:
            started = time.monotonic() - t0
            many.go()
            results = many.collect(timeout=secs + 60 + n * 0.05)
            errors = many.errors()
        try:
            summary = spin_summary(results, n)
        except BenchError as e:
            raise BenchError("%s: %s" % (e, json.dumps(errors)))
        out["separate_gateways"] = dict(summary, gateways=n, seconds=secs,
                                        start_s=round(started, 2),
                                        memory_idle=self.gateways_memory(n))
        return out

    # ---- micro-benchmarks of single modules ------------------------------
