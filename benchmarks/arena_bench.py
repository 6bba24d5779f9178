#!/usr/bin/env python
"""EnterpriseArena benchmark: episode reset latency per scale and tool-call throughput (direct,
in-process MCP client, stdio, HTTP), each next to a reference measured in the same run:

- reset reference: reloading a 2K-record JSON database per episode (what a well-known
  customer-service benchmark does; ~24 ms here);
- direct-call reference: plain Python dict tools (no validation, no SQL);
- MCP reference: a trivial tool on the SDK's low-level server through the in-process client.

Targets (DESIGN.md): reset p50 <= 1 ms at medium scale; >= 5,000 calls/s direct and >= 1,000 calls/s
through the in-process MCP client, on one core.

Call rates are steady-state figures: each replays the task suite's gold actions once untimed first
(reported on its own as `first_pass`), because that pass pays one-time costs: the MCP client compiles
a JSON-schema validator per tool on its first result, and SQLite prepares each statement once per
connection. Every in-process rate is given per wall second and per CPU second of this process
(`time.process_time`): on a shared, loaded machine the CPU figure is the one that says what the code
costs, the wall figure what this run got.

    python benchmarks/arena_bench.py --quick --json
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import anyio  # noqa: E402
import mcp_types as types  # noqa: E402
from mcp import Client, StdioServerParameters  # noqa: E402
from mcp.client.streamable_http import streamable_http_client  # noqa: E402
from mcp.server.lowlevel import Server  # noqa: E402
from mcp.shared._httpx_utils import create_mcp_http_client  # noqa: E402

from arena import Arena  # noqa: E402
from arena.core.server import build_server  # noqa: E402

TARGETS = {"reset_p50_ms_medium": 1.0, "direct_calls_per_s": 5000, "mcp_inprocess_calls_per_s": 1000}


def pin_one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


# -- workload ------------------------------------------------------------------------------
def task_workload(limit: int = 400) -> list[list[tuple[str, dict]]]:
    """What agents really call: the gold action sequences of the arena's task suite (synthesized
    and hand-written tasks, all splits), one sequence per task, each meant for a fresh episode."""
    from arena.tasks.suite import load_suite

    from elab_hpc.env.discovery import discover
    from elab_hpc.env.registry import ToolRegistry
    from elab_hpc.env.sources import SourceConfig

    registry = ToolRegistry.build(discover([SourceConfig(kind="arena")]))
    tasks = load_suite()
    rng = random.Random(0)
    rng.shuffle(tasks)
    # gold actions use the registry's canonical parameter names, as agents do; translate once, untimed
    seqs = [[(a["tool"], registry[a["tool"]].to_native(a["args"])) for a in t["gold_actions"]]
            for t in tasks if t.get("gold_actions")]
    return seqs[:limit]


def without_sandbox(seqs):
    """bash.run_command starts a sandboxed process per call (~tens of ms by nature); the call-rate
    figures cover in-process tools, and bash is timed on its own."""
    return [s for s in seqs if not any(t.startswith("bash.") for t, _ in s)]


def bench_bash(world, seqs, limit: int = 30) -> dict:
    calls = [(t, a) for s in seqs for t, a in s if t.startswith("bash.")][:limit]
    times = []
    with world.episode() as ep:
        for tool, args in calls:
            t = time.perf_counter()
            ep.call(tool, args)
            times.append(time.perf_counter() - t)
    return {"calls": len(times), "p50_ms": round(statistics.median(times) * 1e3, 1) if times else None,
            "note": "bubblewrap sandbox, a new process per call"}


class Meter:
    """Calls counted and the wall and CPU seconds of the timed sections only."""

    def __init__(self) -> None:
        self.calls, self.wall, self.cpu = 0, 0.0, 0.0

    def start(self) -> tuple[float, float]:
        return time.perf_counter(), time.process_time()

    def stop(self, started: tuple[float, float], calls: int) -> None:
        self.wall += time.perf_counter() - started[0]
        self.cpu += time.process_time() - started[1]
        self.calls += calls

    def rates(self) -> dict:
        return {"calls_per_s": round(self.calls / self.wall), "calls_per_cpu_s": round(self.calls / self.cpu),
                "calls": self.calls}


def run_sequences(world, seqs, call, meter: Meter) -> None:
    """Replay every sequence in its own fresh episode; only the calls are timed."""
    for seq in seqs:
        with world.episode() as ep:
            started = meter.start()
            for tool, args in seq:
                call(ep, tool, args)
            meter.stop(started, len(seq))


# -- measurements --------------------------------------------------------------------------
def bench_reset(arena: Arena, n: int) -> dict:
    world = arena.world
    t0 = time.perf_counter()
    _ = world.image
    build_s = time.perf_counter() - t0
    # one reset = give back a DIRTY episode (its writes rolled back) + a fresh one answering its first
    # query: what an agent rollout loop pays between episodes (schema parsing included, if any)
    times = []
    ep = world.episode()
    for i in range(n):
        ep.call("rocketchat.send_channel_message", {"channel": "general", "message": f"reset {i}"})
        ep.call("rocketchat.create_channel", {"name": f"reset-{i}"})
        t = time.perf_counter()
        ep.close()
        ep = world.episode()
        ep.db.execute("SELECT id FROM users WHERE id = 1").fetchone()
        times.append(time.perf_counter() - t)
    assert ep.diff() == {}, "a reset left state behind"
    ep.close()
    return {"records": world.record_count(), "template_bytes": len(world.image), "build_or_load_s": round(build_s, 3),
            "reset_p50_ms": round(statistics.median(times) * 1e3, 4), "reset_p99_ms": round(pct(times, 0.99) * 1e3, 4)}


def bench_reset_reference(n: int) -> dict:
    """Reload a 2K-record JSON database per episode (the customer-service benchmark's way)."""
    rng = random.Random(0)
    db = {"users": {f"user_{i}": {"name": f"User {i}", "email": f"u{i}@x.example", "address": {"city": "Berlin",
                                  "zip": "10115"}, "payment_methods": [{"id": f"card_{i}", "brand": "visa"}],
                                  "orders": [f"#W{rng.randint(10**6, 10**7)}" for _ in range(3)]}
                    for i in range(1000)},
          "orders": {f"#W{i}": {"user_id": f"user_{i % 1000}", "items": [{"item_id": str(rng.randint(1, 10**9)),
                     "price": rng.random() * 100, "options": {"color": "red", "size": "M"}} for _ in range(3)],
                     "status": "pending", "fulfillments": []} for i in range(1000)}}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(db, fh)
        path = fh.name
    times = []
    for _ in range(n):
        t = time.perf_counter()
        with open(path) as fh:
            json.load(fh)
        times.append(time.perf_counter() - t)
    os.unlink(path)
    return {"records": 2000, "reset_p50_ms": round(statistics.median(times) * 1e3, 3)}


def bench_direct(world, seqs, seconds: float) -> dict:
    ok = 0

    def call(ep, tool, args):
        nonlocal ok
        ok += ep.call(tool, args).ok

    first = Meter()
    run_sequences(world, seqs, call, first)
    ok, steady = 0, Meter()
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        run_sequences(world, seqs, call, steady)
    return {**steady.rates(), "ok_share": round(ok / steady.calls, 4), "first_pass": first.rates()}


def bench_direct_reference(seconds: float) -> dict:
    """Plain dict tools: no validation, no SQL."""
    db = {"users": {f"u{i}": {"name": f"n{i}", "orders": []} for i in range(2000)}}

    def get_user(user_id):
        return dict(db["users"][user_id])

    def add_order(user_id, order):
        db["users"][user_id]["orders"].append(order)
        return {"ok": True}

    tools = {"get_user": get_user, "add_order": add_order}
    calls = [("get_user", {"user_id": "u1"}), ("add_order", {"user_id": "u2", "order": "o"})]
    meter, t0 = Meter(), time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        started = meter.start()
        for _ in range(1000):
            for name, args in calls:
                tools[name](**args)
        meter.stop(started, 2000)
    return meter.rates()


async def _drive(client: Client, mix, seconds: float) -> dict:
    for tool, args in mix[:50]:  # warm-up, untimed: the client's first result per tool compiles a validator
        await client.call_tool(tool, args)
    meter, t0 = Meter(), time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        started = meter.start()
        for tool, args in mix:
            await client.call_tool(tool, args)
        meter.stop(started, len(mix))
    return meter.rates()


def bench_mcp_inprocess(world, seqs, seconds: float) -> dict:
    """The same task workload through the official MCP client, in-process: one long-lived server
    and client; the server follows a fresh episode per task (as a rollout server does)."""
    holder: dict = {}

    async def replay(client: Client, meter: Meter) -> int:
        ok = 0
        for seq in seqs:
            holder["ep"] = world.episode()
            started = meter.start()
            for tool, args in seq:
                res = await client.call_tool(tool, args)
                ok += not res.is_error
            meter.stop(started, len(seq))
            holder["ep"].close()
        return ok

    async def main():
        async with Client(build_server(lambda: holder["ep"], world=world)) as client:
            await client.list_tools()
            first = Meter()
            await replay(client, first)
            ok, steady = 0, Meter()
            t0 = time.perf_counter()
            while time.perf_counter() - t0 < seconds:
                ok += await replay(client, steady)
        return {**steady.rates(), "ok_share": round(ok / steady.calls, 4), "first_pass": first.rates()}

    return anyio.run(main)


def bench_mcp_reference(seconds: float) -> dict:
    async def list_tools(ctx, params):
        return types.ListToolsResult(tools=[types.Tool(name="echo", input_schema={"type": "object"})])

    async def call_tool(ctx, params):
        return types.CallToolResult(content=[types.TextContent(type="text", text="ok")])

    server = Server("ref", on_list_tools=list_tools, on_call_tool=call_tool)

    async def main():
        async with Client(server) as client:
            return await _drive(client, [("echo", {})], seconds)

    return anyio.run(main)


def bench_stdio(mix, seconds: float, scale: str) -> dict:
    params = StdioServerParameters(command=sys.executable,
                                   args=["-m", "elab_hpc.cli", "arena", "serve", "--all", "--scale", scale],
                                   env=dict(os.environ))

    async def main():
        async with Client(params) as client:
            return await _drive(client, mix, seconds)

    return anyio.run(main)


def bench_http(mix, seconds: float, scale: str) -> dict:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token = os.urandom(8).hex()
    proc = subprocess.Popen([sys.executable, "-m", "elab_hpc.cli", "arena", "serve", "--all", "--transport", "http",
                             "--port", str(port), "--token", token, "--scale", scale],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        import httpx

        for _ in range(300):
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)

        async def main():
            http = create_mcp_http_client(headers={"Authorization": f"Bearer {token}"})
            async with Client(streamable_http_client(url, http_client=http)) as client:
                return await _drive(client, mix, seconds)

        return anyio.run(main)
    finally:
        proc.terminate()
        proc.wait(10)


def machine() -> dict:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"hostname": socket.gethostname(), "cpu": cpu, "nproc": os.cpu_count(), "device": "CPU (one core pinned)",
            "python": platform.python_version(), "loadavg_at_start": list(os.getloadavg())}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="short run: fewer resets, 2 s per throughput figure")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    ap.add_argument("--scales", default="small,medium,large", help="comma-separated scales for the reset benchmark")
    ap.add_argument("--out", help="also write the JSON here")
    args = ap.parse_args()
    pin_one_core()
    n_resets = 200 if args.quick else 2000
    seconds = 2.0 if args.quick else 10.0

    results: dict = {"benchmark": "arena_bench", "machine": machine(), "quick": args.quick,
                     "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "targets": TARGETS}
    results["reset"] = {s: bench_reset(Arena(scale=s), n_resets) for s in args.scales.split(",")}
    results["reset_reference_json_reload"] = bench_reset_reference(max(20, n_resets // 10))
    small = Arena(scale="small")  # the task suite's gold actions refer to the small world's entities
    all_seqs = task_workload()
    seqs = without_sandbox(all_seqs)
    mix = [c for seq in seqs for c in seq]
    results["workload"] = {"source": "gold actions of the arena task suite (tasks without bash), "
                                     "a fresh episode per task",
                           "tasks": len(seqs), "calls": len(mix), "distinct_tools": len({t for t, _ in mix}),
                           "apps": len({t.split(".")[0] for t, _ in mix}), "scale": "small"}
    results["direct"] = bench_direct(small.world, seqs, seconds)
    results["bash_sandbox"] = bench_bash(small.world, all_seqs)
    results["direct_reference_dict_tools"] = bench_direct_reference(seconds)
    results["mcp_inprocess"] = bench_mcp_inprocess(small.world, seqs, seconds)
    results["mcp_inprocess_reference_trivial_tool"] = bench_mcp_reference(seconds)
    # stdio/HTTP serve ONE long-lived state (as a deployed server does): read-only gold calls only,
    # so repeated replays stay valid
    reads = [(t, a) for t, a in mix if small.world.index.by_qualified[t].annotations.read_only]
    # (wall rates only: the server runs in another process, whose CPU this one cannot see)
    for key, bench in (("mcp_stdio", bench_stdio), ("mcp_http", bench_http)):
        r = bench(reads, seconds, "small")
        results[key] = {"calls_per_s": r["calls_per_s"], "calls": r["calls"], "workload": "read-only gold calls"}
    results["machine"]["loadavg_at_end"] = list(os.getloadavg())

    med = results["reset"].get("medium")
    ref = results["reset_reference_json_reload"]["reset_p50_ms"]
    direct, mcp = results["direct"], results["mcp_inprocess"]
    dict_ref, mcp_ref = results["direct_reference_dict_tools"], results["mcp_inprocess_reference_trivial_tool"]
    results["ratios"] = {
        "reset_speedup_vs_json_reload": round(ref / med["reset_p50_ms"], 1) if med else None,
        "direct_vs_dict_tools": round(direct["calls_per_s"] / dict_ref["calls_per_s"], 4),
        "direct_vs_dict_tools_per_cpu_s": round(direct["calls_per_cpu_s"] / dict_ref["calls_per_cpu_s"], 4),
        "mcp_inprocess_vs_trivial_tool": round(mcp["calls_per_s"] / mcp_ref["calls_per_s"], 3),
        "mcp_inprocess_vs_trivial_tool_per_cpu_s": round(mcp["calls_per_cpu_s"] / mcp_ref["calls_per_cpu_s"], 3),
    }
    reset_ok = bool(med and med["reset_p50_ms"] <= TARGETS["reset_p50_ms_medium"])
    results["meets_targets"] = {
        "reset_p50_ms_medium": reset_ok,
        "direct_calls_per_s": direct["calls_per_s"] >= TARGETS["direct_calls_per_s"],
        "mcp_inprocess_calls_per_s": mcp["calls_per_s"] >= TARGETS["mcp_inprocess_calls_per_s"],
    }
    # the same targets read per CPU second: what the code costs, whatever else the machine runs
    results["meets_targets_per_cpu_s"] = {
        "direct_calls_per_s": direct["calls_per_cpu_s"] >= TARGETS["direct_calls_per_s"],
        "mcp_inprocess_calls_per_s": mcp["calls_per_cpu_s"] >= TARGETS["mcp_inprocess_calls_per_s"],
    }
    text = json.dumps(results, indent=1)
    if args.out:
        Path(args.out).write_text(text + "\n")
    if args.json:
        print(text)
    else:
        from rich.console import Console
        from rich.table import Table

        t = Table(title="arena_bench")
        t.add_column("figure")
        t.add_column("value")
        t.add_column("reference (same run)")
        for s, r in results["reset"].items():
            t.add_row(f"reset p50/p99 ms ({s}, {r['records']} records)", f"{r['reset_p50_ms']} / {r['reset_p99_ms']}",
                      f"JSON reload 2K records: {ref} ms")
        t.add_row("calls/s direct (per CPU-s)", f"{direct['calls_per_s']} ({direct['calls_per_cpu_s']})",
                  f"dict tools: {dict_ref['calls_per_s']} ({dict_ref['calls_per_cpu_s']})")
        t.add_row("calls/s MCP in-process (per CPU-s)", f"{mcp['calls_per_s']} ({mcp['calls_per_cpu_s']})",
                  f"trivial tool: {mcp_ref['calls_per_s']} ({mcp_ref['calls_per_cpu_s']})")
        t.add_row("first pass, cold caches: direct / MCP in-process",
                  f"{direct['first_pass']['calls_per_s']} / {mcp['first_pass']['calls_per_s']}", "")
        t.add_row("calls/s MCP stdio", str(results["mcp_stdio"]["calls_per_s"]), "")
        t.add_row("calls/s MCP HTTP", str(results["mcp_http"]["calls_per_s"]), "")
        Console().print(t)
        print("meets targets:", results["meets_targets"], "per CPU second:", results["meets_targets_per_cpu_s"])
    return 0 if all(results["meets_targets"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
