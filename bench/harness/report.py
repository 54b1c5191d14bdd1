"""The printed table, the Markdown tables, the JSON document and the target
ratios of one run."""

import datetime
import json
import os
import platform
import sys

from harness.config import PLACEMENTS, SIZES, SPAWN_GAP_MS, TARGETS
from harness.procs import cpu_model, source_info


class ReportMixin:
    """Runner methods that turn self.results and self.other into output."""

    def add_ratios(self):
        """Each latency's p50 over the floor's (and the relay's) p50 for the
        same size and placement."""
        for placement, _ in PLACEMENTS:
            for bench, by_size in self.results[placement].items():
                for size, obj in by_size.items():
                    for ref, key in (("floor_rtt", "vs_floor"), ("floor_relay", "vs_relay"),
                                     ("floor_relay_epoll", "vs_relay_epoll")):
                        base = self.get(placement, ref, int(size))
                        if "p50_us" in obj and base:
                            obj[key] = round(obj["p50_us"] / base, 3)

    # ---- summary -----------------------------------------------------------

    def summary(self):
        s = {}
        for placement, _ in PLACEMENTS:
            sfx = "" if placement == "free" else "_pinned"
            g = lambda b, f="p50_us": self.get(placement, b, 64, f)
            s["floor_rtt_p50_us" + sfx] = g("floor_rtt")
            s["floor_rtt_p99_us" + sfx] = g("floor_rtt", "p99_us")
            s["relay_floor_p50_us" + sfx] = g("floor_relay")
            s["relay_epoll_floor_p50_us" + sfx] = g("floor_relay_epoll")
            # not a target: the backend path over a relay that multiplexes
            a, b = g("backend_invoke"), g("floor_relay_epoll")
            s["backend_vs_relay_epoll" + sfx] = (round(a / b, 3) if a and b
                                                 else None)
            s["builtin_invoke_p50_us" + sfx] = g("builtin_invoke")
            s["builtin_invoke_p99_us" + sfx] = g("builtin_invoke", "p99_us")
            s["backend_invoke_p50_us" + sfx] = g("backend_invoke")
            s["dbus_daemon_p50_us" + sfx] = g("dbus_daemon")
            s["dbus_broker_p50_us" + sfx] = g("dbus_broker")
            s["floor_send_per_s" + sfx] = g("floor_send", "per_s")
            s["send_per_s" + sfx] = g("send", "per_s")
            s["pipeline_per_s" + sfx] = g("pipeline", "per_s")
            sp = self.other["spawn"].get(placement, {})
            ms = lambda n: (round(sp[n]["p50_us"] / 1000.0, 3) if n in sp else None)
            s["spawn_ms" + sfx] = ms("capgate")
            s["spawn_new_log_ms" + sfx] = ms("capgate_new_log")
            s["fork_exec_spawn_ms" + sfx] = ms("fork_exec")
            s["bwrap_spawn_ms" + sfx] = ms("bwrap")
            s["spawn_apart_ms" + sfx] = ms("capgate_apart")
            s["bwrap_spawn_apart_ms" + sfx] = ms("bwrap_apart")
            mem = self.other["memory"].get(placement, {})
            s["gateway_rss_kib_idle" + sfx] = mem.get("rss_kib_idle")
            s["gateway_rss_kib_per_client" + sfx] = mem.get("rss_kib_per_client")
        targets = {}
        for key, num, den, op, limit in TARGETS:
            a = s.get(num)
            b = s.get(den) if den else 1.0
            ratio = (round(a / b, 3) if a is not None and b else None)
            s[key] = ratio
            if ratio is None:
                status = "unmeasured"
            elif (ratio <= limit) if op == "<=" else (ratio >= limit):
                status = "pass"
            else:
                status = "miss"
            s[key + "_pass"] = None if ratio is None else status == "pass"
            targets[key] = {"value": ratio, "op": op, "limit": limit,
                            "pass": None if ratio is None else status == "pass",
                            "status": status}
        return s, targets

    SPAWN_ROWS = [("fork_exec_spawn_ms", "fork+exec /bin/true"),
                  ("bwrap_spawn_ms", "bwrap --unshare-all /bin/true"),
                  ("spawn_ms", "capgate run /bin/true"),
                  ("spawn_new_log_ms", "  same, creating its audit log"),
                  ("bwrap_spawn_apart_ms",
                   "bwrap, runs %.1f s apart" % (SPAWN_GAP_MS / 1000)),
                  ("spawn_apart_ms",
                   "capgate run, runs %.1f s apart" % (SPAWN_GAP_MS / 1000))]

    LATENCY_ROWS = [("floor_rtt", "raw SEQPACKET round trip"),
                    ("floor_relay", "two-hop relay (floor)"),
                    ("floor_relay_epoll", "  same, relay waits in epoll"),
                    ("builtin_invoke", "capgate invoke builtin:echo"),
                    ("builtin_invoke_many_channels", "  same, 10,001 channels"),
                    ("backend_invoke", "capgate invoke via backend"),
                    ("dbus_daemon", "dbus-daemon method call"),
                    ("dbus_broker", "dbus-broker method call")]
    RATE_ROWS = [("floor_send", "raw one-way send"),
                 ("send", "capgate send (all checks)"),
                 ("floor_pipeline", "raw pipelined round trips"),
                 ("pipeline", "capgate pipelined invoke")]

    def print_placement(self, placement, out):
        floor = self.get(placement, "floor_rtt")
        print("\n[%s] latency, microseconds: p50 / p99" % placement, file=out)
        print("  %-30s %19s %19s %19s  %s" % ("", "64 B", "1 KiB", "16 KiB",
                                              "x floor (64 B)"), file=out)
        for bench, label in self.LATENCY_ROWS:
            cells = []
            for size in SIZES:
                p50 = self.get(placement, bench, size)
                p99 = self.get(placement, bench, size, "p99_us")
                cells.append("%8.2f / %8.2f" % (p50, p99) if p50 is not None
                             else "%19s" % "n/a")
            p50 = self.get(placement, bench)
            ratio = "%.2f" % (p50 / floor) if p50 is not None and floor else "-"
            print("  %-30s %s %s %s  %s" % (label, cells[0], cells[1], cells[2], ratio),
                  file=out)
        same = self.get(placement, "floor_rtt", 64, "same_cpu")
        if same is not None:
            print("  (floor: both ends ran on one CPU in %.0f%% of round trips)"
                  % (100 * same), file=out)
        print("  throughput, 64 B messages/s:", file=out)
        for bench, label in self.RATE_ROWS:
            v = self.get(placement, bench, 64, "per_s")
            print("  %-30s %12s" % (label, "%.0f" % v if v is not None else "n/a"),
                  file=out)

    def print_spawn_memory(self, summary, out):
        fmt = lambda v, f="%.3f": f % v if v is not None else "n/a"
        print("\nspawn, median ms (free / pinned):", file=out)
        for key, label in self.SPAWN_ROWS:
            print("  %-34s %8s / %8s" % (label, fmt(summary.get(key)),
                                         fmt(summary.get(key + "_pinned"))), file=out)
        sp = self.other["spawn"]
        if "capgate_attestation" in sp:
            att = sp["capgate_attestation"]
            text = (json.dumps(att.get("sandbox", att)) if att
                    else sp.get("capgate_attestation_note", ""))
            print("  capgate sandbox attestation: %s" % text[:300], file=out)
        mem = self.other["memory"].get("free")
        if mem:
            print("\ngateway memory, KiB: RSS %s (PSS %s) with one idle client; "
                  "RSS %s after %d invokes; per client %s" % (
                      mem["rss_kib_idle"], mem["pss_kib_idle"],
                      mem["rss_kib_after_invokes"], mem["invokes_before_reading"],
                      fmt(mem["rss_kib_per_client"], "%s")), file=out)
        sep = self.other["memory"].get("separate_gateways")
        if sep:
            print("one gateway per client, idle, PSS per gateway KiB: %s" % ", ".join(
                "%s at %s" % (v["pss_kib_per_gateway"], k) for k, v in sep.items()
                if isinstance(v, dict)), file=out)
        sc = self.other["scale"]
        for key, what in (("clients", "1 gateway x %d clients"),
                          ("separate_gateways", "%d gateways x 1 client")):
            many = sc.get(key) if sc else None
            if many:
                n = many.get("clients", many.get("gateways"))
                print("%s invoking for %d s: %d invokes/s in all, per client "
                      "%d..%d invokes (Jain %.3f), per-client p99 median %.0f us" % (
                          what % n, many["seconds"], many["total_per_s"],
                          many["per_client_invokes_min"], many["per_client_invokes_max"],
                          many["jain_fairness"], many["per_client_p99_us_median"]),
                      file=out)
        if sc and "policy_check_many_ms" in sc:
            print("%d-channel policy: policy check %s ms (2 channels: %s ms); "
                  "lookup cost %s us free, %s us pinned" % (
                      sc["channels"], sc["policy_check_many_ms"],
                      sc["policy_check_small_ms"], sc.get("lookup_cost_us_free", "n/a"),
                      sc.get("lookup_cost_us_pinned", "n/a")), file=out)

    def print_table(self, summary, targets):
        out = sys.stdout
        print("\ncapgate benchmark (%s run, %d CPUs, %s, load average %.2f at "
              "start, %.2f at end)" % (
                  "quick" if self.args.quick else "full", os.cpu_count(),
                  platform.release(), self.loadavg_start[0], os.getloadavg()[0]),
              file=out)
        for placement, _ in PLACEMENTS:
            self.print_placement(placement, out)
        self.print_spawn_memory(summary, out)
        for name, m in self.other.get("micro", {}).items():
            print("\n%s:" % name, file=out)
            for line in m["output"][:20]:
                print("  " + line, file=out)
        print("\ntargets (ratios measured in this run):", file=out)
        for key, t in targets.items():
            word = {"pass": "HOLDS", "miss": "MISSED",
                    "unmeasured": "not measured"}[t["status"]]
            val = "%.3f" % t["value"] if t["value"] is not None else "-"
            print("  %-32s %12s  (target %s %g)  %s" % (key, val, t["op"], t["limit"], word),
                  file=out)
        if self.unavailable:
            print("\nnot measured here:", file=out)
            for k, v in sorted(self.unavailable.items()):
                print("  %-20s %s" % (k, v), file=out)
        if self.failures:
            print("\nFAILED to run:", file=out)
            for f in self.failures:
                print("  " + f, file=out)
        out.flush()

    def markdown(self, summary, targets):
        """The tables of docs/PERFORMANCE.md, from this run."""
        lines = []
        f2 = lambda v: "%.2f" % v if v is not None else "n/a"
        for placement, _ in PLACEMENTS:
            floor = self.get(placement, "floor_rtt")
            lines += ["", "| %s | 64 B | 1 KiB | 16 KiB | × floor (64 B) |" % (
                "free placement" if placement == "free" else "pinned to CPU 0"),
                "|---|---|---|---|---|"]
            for bench, label in self.LATENCY_ROWS:
                cells = []
                for size in SIZES:
                    p50 = self.get(placement, bench, size)
                    cells.append("n/a" if p50 is None else "%s / %s" % (
                        f2(p50), f2(self.get(placement, bench, size, "p99_us"))))
                p50 = self.get(placement, bench)
                ratio = f2(p50 / floor) if p50 is not None and floor else ""
                lines.append("| %s | %s | %s |" % (label.strip(), " | ".join(cells), ratio))
        lines += ["", "| messages/s, 64 B | free | pinned |", "|---|---|---|"]
        for bench, label in self.RATE_ROWS:
            vals = [self.get(pl, bench, 64, "per_s") for pl, _ in PLACEMENTS]
            lines.append("| %s | %s |" % (label, " | ".join(
                "{:,.0f}".format(v) if v is not None else "n/a" for v in vals)))
        lines += ["", "| spawn, median ms | free | pinned |", "|---|---|---|"]
        for key, label in self.SPAWN_ROWS:
            lines.append("| %s | %s | %s |" % (label.strip(), f2(summary.get(key)),
                                               f2(summary.get(key + "_pinned"))))
        lines += ["", "| target | value | limit | |", "|---|---|---|---|"]
        for key, t in targets.items():
            val = ("{:,.0f}".format(t["value"]) if t["value"] is not None and t["value"] > 100
                   else f2(t["value"]) if t["value"] is not None else "–")
            lines.append("| %s | %s | %s %s | %s |" % (
                key, val, t["op"].replace("<=", "≤").replace(">=", "≥"),
                "{:,}".format(t["limit"]) if t["limit"] > 100 else t["limit"],
                {"pass": "holds", "miss": "missed", "unmeasured": "not measured"}[t["status"]]))
        return "\n".join(lines) + "\n"

    def document(self, summary, targets):
        doc = {
            "schema": "capgate-bench/1",
            "source": source_info(self.build),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "machine": {"cpus": os.cpu_count(), "kernel": platform.release(),
                        "cpu": cpu_model(),
                        # Other work on the machine shows up in p99 first.
                        "loadavg_start": self.loadavg_start,
                        "loadavg_end": os.getloadavg()},
            "quick": bool(self.args.quick),
            "config": self.cfg,
            "sizes": SIZES,
        }
        doc.update(summary)
        doc["targets"] = targets
        doc["results"] = self.results
        doc["spawn"] = self.other["spawn"]
        doc["memory"] = self.other["memory"]
        doc["scale"] = self.other["scale"]
        doc["micro"] = self.other.get("micro", {})
        doc["unavailable"] = self.unavailable
        doc["failures"] = self.failures
        return doc
