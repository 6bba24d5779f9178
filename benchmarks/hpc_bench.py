"""SLURM bookkeeping benchmarks of the hpc area, on the dev cluster (started here if needed).

  1. submit a 1,000-task array through the executor (target <= 5 s: one sbatch call)
  2. stage bookkeeping overhead of the pipeline on a 60 s stage (target <= 1 %)
  3. preemption of the training-like stage (USR2 -> checkpoint -> requeue): how long SLURM held
     the requeued job, time from its restart to resumed work (target <= 30 s), and the work lost
     (target <= 1 checkpoint interval)

    python benchmarks/hpc_bench.py --json            # full (a 60 s stage)
    python benchmarks/hpc_bench.py --quick --json    # a 10 s stage instead, said so in the JSON
    python benchmarks/hpc_bench.py --quick --out benchmarks/results/hpc_bench_quick.json
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

from rich.console import Console

from elab_hpc.config import build_config, PipelineConfig, cluster_profile_path, read_yaml, load_cluster
from elab_hpc.hpc.auto import make_executor, slurm_available
from elab_hpc.hpc.pipeline.runner import Pipeline

console = Console(stderr=True)


def noop(i: int) -> int:
    return i


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"hostname": socket.gethostname(), "cpu_model": cpu, "nproc": os.cpu_count(),
            "device": "CPU", "python": platform.python_version(),
            "slurm": subprocess.run(["sinfo", "--version"], capture_output=True, text=True).stdout.strip()}


def bench_array_submit(tmp: Path, n: int = 1000) -> dict:
    ex = make_executor(load_cluster("devcluster", ["array_parallelism=4"]), tmp / "array")
    ex.validate()
    t0 = time.perf_counter()
    jobs = ex.map_array(noop, range(n))
    dt = time.perf_counter() - t0
    array_id = jobs[0].job_id.split("_")[0]
    subprocess.run(["scancel", array_id], check=False)
    return {"tasks": n, "submit_s": round(dt, 3), "array_jobs": len({j.job_id.split('_')[0] for j in jobs}),
            "target_s": 5.0, "ok": dt <= 5.0}


def pipeline(tmp: Path, name: str, stages: dict) -> Pipeline:
    data = {"name": name, "run_dir": str(tmp / name), "cluster": read_yaml(cluster_profile_path("devcluster")),
            "stages": stages}
    return Pipeline(build_config(PipelineConfig, data), show=False)


def bench_overhead(tmp: Path, seconds: float) -> dict:
    pipe = pipeline(tmp, "overhead", {"idle": {"fn": "elab_hpc.hpc.demo_stage:idle",
                                               "params": {"seconds": seconds}}})
    t0 = time.perf_counter()
    pipe.run()
    wall = time.perf_counter() - t0
    m = pipe.manifest("idle")
    tm = m.timings
    # ours: everything the pipeline adds around the stage function, inside and after the job
    in_job = tm["job_s"] - tm["fn_s"] - tm["import_s"]
    bookkeeping = in_job + tm["finalize_s"]
    # a second run only checks the manifest and skips
    t1 = time.perf_counter()
    assert pipe.run() == {"idle": "skipped"}
    skip_s = time.perf_counter() - t1
    return {"stage_s": seconds, "fn_s": round(tm["fn_s"], 3), "in_job_bookkeeping_s": round(in_job, 4),
            "finalize_s": round(tm["finalize_s"], 4),
            "stage_import_s": round(tm["import_s"], 3), "bookkeeping_s": round(bookkeeping, 4),
            "overhead_pct": round(100 * bookkeeping / tm["fn_s"], 3),
            # for reference: validation + pickling + sbatch, needed by any submitted job
            "submit_s": round(tm["submit_s"], 3),
            "overhead_incl_submit_pct": round(100 * (bookkeeping + tm["submit_s"]) / tm["fn_s"], 3),
            "end_to_end_wall_s": round(wall, 2),
            "scheduler_and_process_start_s": round(wall - tm["fn_s"] - tm["import_s"] - bookkeeping, 2),
            "skip_check_s": round(skip_s, 4), "target_pct": 1.0,
            "ok": 100 * bookkeeping / tm["fn_s"] <= 1.0}


def _slurm_time(s: str) -> float:
    return datetime.strptime(s, "%Y-%m-%dT%H:%M:%S").timestamp()


def bench_preemption(tmp: Path) -> dict:
    params = {"steps": 300, "ckpt_every": 20, "step_delay_s": 0.05, "seed": 1}
    pipe = pipeline(tmp, "preempt", {"train": {"fn": "elab_hpc.hpc.demo_stage:train", "params": params,
                                               "outputs": ["model.pt", "metrics.json"]}})
    work = pipe.stage_dir("train") / "work"
    box: dict = {}
    t = threading.Thread(target=lambda: box.update(out=pipe.run()), daemon=True)
    t.start()
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            if json.loads((work / "progress.json").read_text())["step"] >= 60:
                break
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.1)
    job_id = pipe.manifest("train").job_ids[0]
    t_signal = time.time()
    subprocess.run(["scancel", "--signal=USR2", job_id], check=True)
    t.join(300)
    m = pipe.manifest("train")
    pre = json.loads((work / "preempted-1.json").read_text())
    first2 = json.loads((work / "first_step-2.json").read_text())
    attempts = json.loads(next((work / "attempts").glob("*.json")).read_text())
    info = subprocess.run(["scontrol", "show", "job", "-o", job_id], capture_output=True, text=True).stdout
    fields = dict(f.split("=", 1) for f in info.split() if "=" in f)
    restart = _slurm_time(fields["StartTime"])  # second resolution
    python_start = attempts["starts"][1]["time"]
    resume_s = first2["time"] - restart
    lost_steps = pre["at_step"] - m.result["resumed_from"]
    return {"job_id": job_id, "attempts": m.attempts, "restarts": fields.get("Restarts"),
            "checkpoint_interval_steps": params["ckpt_every"], "step_s": params["step_delay_s"],
            "signal_to_checkpoint_s": round(pre["time"] - t_signal, 3),
            "slurm_hold_s": round(restart - pre["time"], 1),
            "restart_to_stage_start_s": round(python_start - restart, 2),
            "restart_to_resumed_work_s": round(resume_s, 2),
            "lost_steps": lost_steps, "target_resume_s": 30.0,
            "ok": resume_s <= 30 and lost_steps <= params["ckpt_every"] and m.attempts == 2}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="10 s stage for the overhead instead of 60 s")
    ap.add_argument("--json", action="store_true", help="print the results as JSON on stdout")
    ap.add_argument("--out", help="also write the JSON to this file")
    args = ap.parse_args()

    cluster = None
    if not slurm_available():
        from elab_hpc.hpc.devcluster import DevCluster
        console.print("starting the dev SLURM cluster …")
        cluster = DevCluster.with_free_ports(tempfile.mkdtemp(prefix="elab-dc-", dir="/tmp"))
        cluster.up()
        os.environ.update(cluster.env())
    results = {"benchmark": "hpc_bench", "quick": args.quick, "machine": machine(),
               "time": datetime.utcnow().isoformat(timespec="seconds") + "Z"}
    try:
        with tempfile.TemporaryDirectory(prefix="hpc-bench-") as d:
            tmp = Path(d)
            console.print("1/3 submitting a 1,000-task array …")
            results["array_submit"] = bench_array_submit(tmp)
            secs = 10.0 if args.quick else 60.0
            console.print(f"2/3 bookkeeping overhead on a {secs:g} s stage …")
            results["stage_overhead"] = bench_overhead(tmp, secs)
            if args.quick:
                results["stage_overhead"]["note"] = "--quick: 10 s stage instead of 60 s"
            console.print("3/3 preemption: USR2 → checkpoint → requeue → resume …")
            results["preemption"] = bench_preemption(tmp)
    finally:
        if cluster is not None:
            cluster.down()
    text = json.dumps(results, indent=2)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text + "\n")
    if args.json:
        print(text)
    else:
        console.print_json(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
