"""What bench/run measures, how much of it, and the targets it reports."""

import os

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BENCH = os.path.join(REPO, "bench")
SIZES = [64, 1024, 16384]
PLACEMENTS = [("free", []), ("pinned", ["taskset", "-c", "0"])]
SECTIONS = ["floor", "capgate", "dbus", "spawn", "memory", "scale", "micro"]

# Counts per run; --quick keeps the shape and cuts the counts. spawn_apart_runs
# are timed SPAWN_GAP_MS apart (bench-spawn --gap). mem_clients,
# scale_clients and scale_seconds size the multi-client runs (hooks until
# capgate run can start several clients).
FULL = dict(rounds=5, rate_rounds=3, iters=10000, warmup=2000, big_iters=5000, send_count=200000,
            pipe_count=100000, spawn_runs=200, spawn_apart_runs=30, mem_clients=100,
            scale_clients=1000, scale_seconds=5, channels=10000)
QUICK = dict(rounds=1, rate_rounds=1, iters=2000, warmup=200, big_iters=1000, send_count=20000,
             pipe_count=10000, spawn_runs=20, spawn_apart_runs=8, mem_clients=20,
             scale_clients=100, scale_seconds=2, channels=10000)

SPAWN_GAP_MS = 200

# Targets from the performance budget (DESIGN.md), as ratios in one run.
# (key, numerator, denominator, op, limit)
TARGETS = [
    ("builtin_vs_floor", "builtin_invoke_p50_us", "floor_rtt_p50_us", "<=", 1.5),
    ("builtin_vs_floor_pinned", "builtin_invoke_p50_us_pinned",
     "floor_rtt_p50_us_pinned", "<=", 2.5),
    ("backend_vs_relay", "backend_invoke_p50_us", "relay_floor_p50_us", "<=", 1.5),
    ("backend_vs_relay_pinned", "backend_invoke_p50_us_pinned",
     "relay_floor_p50_us_pinned", "<=", 1.5),
    ("dbus_daemon_vs_builtin", "dbus_daemon_p50_us", "builtin_invoke_p50_us", ">=", 3.0),
    ("dbus_daemon_vs_builtin_pinned", "dbus_daemon_p50_us_pinned",
     "builtin_invoke_p50_us_pinned", ">=", 3.0),
    ("dbus_broker_vs_builtin", "dbus_broker_p50_us", "builtin_invoke_p50_us", ">=", 2.0),
    ("dbus_broker_vs_builtin_pinned", "dbus_broker_p50_us_pinned",
     "builtin_invoke_p50_us_pinned", ">=", 2.0),
    ("send_rate", "send_per_s", None, ">=", 300000),
    ("send_rate_pinned", "send_per_s_pinned", None, ">=", 300000),
]
