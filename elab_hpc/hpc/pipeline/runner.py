"""Run a pipeline: walk the DAG, skip stages whose manifest matches, submit the others.

For each stage, in dependency order:
  config hash (the stage's YAML minus `resources`) + input hashes (fingerprints of the upstream
  runs) == what the manifest recorded, status completed, outputs present  →  skipped.
Otherwise its jobs are submitted (through the executor of the pipeline's cluster + the stage's
`resources`), waited for with a progress bar, and the outputs are published atomically and
hashed into the manifest. A re-run with an unchanged config keeps the stage's work folder
(checkpoints, array item markers), so `resume` continues where a failure or requeue stopped.
"""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import submitit
from omegaconf import DictConfig, OmegaConf
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from elab_hpc.config import PipelineConfig, build_config, check_pipeline, stage_cluster, to_object
from elab_hpc.errors import ConfigError, UserError
from elab_hpc.hpc.auto import make_executor
from elab_hpc.hpc.core.atomic import atomic_write_text, fsync_dir
from elab_hpc.hpc.pipeline.context import item_marker, read_progress
from elab_hpc.hpc.pipeline.dag import build_graph, downstream, execution_order
from elab_hpc.hpc.pipeline.hashing import canonical_hash, fingerprint, hash_tree, stage_config_hash
from elab_hpc.hpc.pipeline.job import StageJob, import_fn
from elab_hpc.hpc.pipeline.manifest import Manifest

SNAPSHOT = "pipeline.yaml"


class StageFailed(UserError):
    """A stage's job failed; the manifest holds the error, `resume` continues from there."""


def shard_items(n_items: int, n_shards: int) -> List[List[int]]:
    n_shards = max(1, min(n_shards, n_items))
    bounds = [round(k * n_items / n_shards) for k in range(n_shards + 1)]
    return [list(range(bounds[k], bounds[k + 1])) for k in range(n_shards)]


class Pipeline:
    def __init__(self, cfg: DictConfig, run_dir: Path | str | None = None, show: bool = True):
        check_pipeline(cfg)
        self.cfg = cfg
        self.obj: PipelineConfig = to_object(cfg)
        self.run_dir = Path(run_dir or self.obj.run_dir).resolve()
        self.specs: Dict[str, Dict[str, Any]] = {
            name: OmegaConf.to_container(cfg.stages[name], resolve=True) for name in cfg.stages}
        self.graph = build_graph(self.specs)
        self.order = execution_order(self.graph)
        self.console = Console(stderr=True, quiet=not show)
        self.show = show

    @classmethod
    def from_run_dir(cls, run_dir: Path | str, show: bool = True) -> "Pipeline":
        snap = Path(run_dir) / SNAPSHOT
        if not snap.is_file():
            raise UserError(f"{run_dir}: not a pipeline run folder (no {SNAPSHOT})")
        import yaml
        cfg = build_config(PipelineConfig, yaml.safe_load(snap.read_text()), source=str(snap))
        return cls(cfg, run_dir, show)

    # ---- paths and state
    def stage_dir(self, name: str) -> Path:
        return self.run_dir / "stages" / name

    def manifest(self, name: str) -> Manifest:
        return Manifest.load(self.stage_dir(name), name)

    def _input_hashes(self, name: str) -> Dict[str, str]:
        return {dep: self.manifest(dep).fingerprint for dep in self.specs[name].get("inputs", [])}

    def _outputs_present(self, name: str, m: Manifest) -> bool:
        out = self.stage_dir(name) / "out"
        return all((out / rel).is_file() and (out / rel).stat().st_size == meta["size"]
                   for rel, meta in m.outputs.items())

    def is_current(self, name: str) -> bool:
        m = self.manifest(name)
        return (m.status == "completed" and m.config_hash == stage_config_hash(self.specs[name])
                and m.input_hashes == self._input_hashes(name) and self._outputs_present(name, m))

    def write_snapshot(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.run_dir / SNAPSHOT, OmegaConf.to_yaml(self.cfg))

    # ---- running
    def validate(self) -> None:
        """Check every stage's function and resources before anything is written or submitted."""
        for name in self.order:
            fn = self.specs[name].get("fn")
            if fn:
                try:
                    import_fn(fn)
                except ConfigError as exc:
                    raise ConfigError(f"stages.{name}.{exc}") from None
            make_executor(self._stage_cluster(name), self.stage_dir(name) / "jobs").validate()

    def _stage_cluster(self, name: str):
        spec = self.specs[name]
        cluster = stage_cluster(self.obj.cluster, spec.get("resources", {}), f"stages.{name}")
        if spec.get("kind") == "multinode":  # one task per node; it starts that node's torchrun
            cluster = dataclasses.replace(cluster, tasks_per_node=1)
        return cluster

    def run(self) -> Dict[str, str]:
        """Run what is not up to date. Returns {stage: 'skipped' | 'ran'}; raises StageFailed."""
        self.validate()
        self.write_snapshot()
        outcome: Dict[str, str] = {}
        for name in self.order:
            if self.is_current(name):
                outcome[name] = "skipped"
                self.console.print(f"[dim]= {name}: up to date, skipped[/dim]")
                continue
            try:
                self._run_stage(name)
            except StageFailed:
                for below in downstream(self.graph, name):
                    m = self.manifest(below)
                    if m.status != "completed":
                        m.status = "blocked"
                        m.save(self.stage_dir(below))
                raise
            outcome[name] = "ran"
        return outcome

    def _prepare(self, name: str, m: Manifest, ch: str, ih: Dict[str, str]) -> int:
        """Start a new run of the stage; keep its work folder only if it computes the same thing."""
        sdir = self.stage_dir(name)
        same = m.config_hash == ch and m.input_hashes == ih and m.status != "completed"
        if not same and (sdir / "work").exists():
            shutil.rmtree(sdir / "work")
        partial = sdir / "work" / "out.partial"
        if not same and partial.exists():
            shutil.rmtree(partial)
        m.runs += 1
        m.status, m.config_hash, m.input_hashes = "running", ch, ih
        m.kind = self.specs[name].get("kind", "single")
        m.error, m.job_ids, m.fingerprint = None, [], ""
        m.timings = {"submitted": time.time()}
        return m.runs

    def _run_stage(self, name: str) -> None:
        spec, sdir = self.specs[name], self.stage_dir(name)
        sdir.mkdir(parents=True, exist_ok=True)
        m = self.manifest(name)
        ch, ih = stage_config_hash(spec), self._input_hashes(name)
        cluster = self._stage_cluster(name)
        if self._finished_unrecorded(name, m, ch, ih):
            # the driver died after the job ended: its completion record is there, adopt it
            self.console.print(f"[cyan]~ {name}: job {', '.join(m.job_ids)} finished earlier, recording it[/cyan]")
            self._finalize(name, m, m.runs)
            return
        attached = self._live_jobs(name, m, ch, ih)
        if attached is not None:
            jobs, run = attached, m.runs
            self.console.print(f"[cyan]~ {name}: re-attached to running jobs {', '.join(m.job_ids)}[/cyan]")
        else:
            t_submit = time.time()
            executor = make_executor(cluster, sdir / "jobs")
            run = self._prepare(name, m, ch, ih)
            inputs = {dep: str(self.stage_dir(dep) / "out") for dep in spec.get("inputs", [])}
            common = dict(run_dir=str(self.run_dir), stage=name, spec=spec, inputs=inputs, run=run,
                          max_requeues=cluster.max_requeues, grace_s=cluster.signal_grace_s)
            if spec.get("kind") == "array":
                work = sdir / "work"
                todo = [(k, items) for k, items in enumerate(shard_items(spec["items"], spec["shards"]))
                        if any(not item_marker(work, i).exists() for i in items)]
                fns = [StageJob(task=str(k), items=items, **common) for k, items in todo]
                jobs = executor.submit_array(fns) if fns else []
            else:
                jobs = [executor.submit(StageJob(**common))]
            m.backend = executor.backend
            m.job_ids = [str(j.job_id) for j in jobs]
            m.timings["submit_s"] = time.time() - t_submit
            m.save(sdir)
            self.console.print(f"[bold]> {name}[/bold]: {len(jobs)} job(s) on {executor.backend} "
                               f"{' '.join(m.job_ids[:4])}{' …' if len(jobs) > 4 else ''}")
        self._wait(name, jobs, cluster.poll_interval_s)
        errors = []
        for j in jobs:
            try:
                j.results()
            except Exception as exc:  # submitit raises with the job's stderr tail
                errors.append(f"job {j.job_id}: {str(exc)[-1500:]}")
        if errors:
            self._fail(name, m, "\n".join(errors))
        self._finalize(name, m, run)

    def _finished_unrecorded(self, name: str, m: Manifest, ch: str, ih: Dict[str, str]) -> bool:
        if m.status != "running" or m.config_hash != ch or m.input_hashes != ih:
            return False
        if self.specs[name].get("kind") == "array":
            work = self.stage_dir(name) / "work"
            return all(item_marker(work, i).exists() for i in range(self.specs[name]["items"]))
        return (self.stage_dir(name) / "work" / f"done-run{m.runs}-task0.json").exists()

    def _live_jobs(self, name: str, m: Manifest, ch: str, ih: Dict[str, str]) -> Optional[List[submitit.Job]]:
        """Jobs of an interrupted driver that SLURM still runs (resume waits for them)."""
        if m.status != "running" or m.backend != "slurm" or not m.job_ids:
            return None
        if m.config_hash != ch or m.input_hashes != ih:
            return None
        out = subprocess.run(["squeue", "-h", "-o", "%i", "-j", ",".join(m.job_ids)],
                             capture_output=True, text=True)
        if out.returncode != 0 or not out.stdout.strip():
            return None
        return [submitit.SlurmJob(folder=self.stage_dir(name) / "jobs" / "%j", job_id=j) for j in m.job_ids]

    def _wait(self, name: str, jobs: Sequence[submitit.Job], poll_s: float) -> None:
        spec, work = self.specs[name], self.stage_dir(name) / "work"
        total = spec.get("items") if spec.get("kind") == "array" else len(jobs)
        with Progress(TextColumn(f"  {name}"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("{task.fields[note]}"), TimeElapsedColumn(),
                      console=self.console, transient=True, disable=not self.show) as progress:
            task = progress.add_task(name, total=total, note="")
            while True:
                finished = _count_finished(jobs)
                note = f"jobs {finished}/{len(jobs)}"
                if spec.get("kind") == "array":
                    done = len(list((work / "items").glob("*.json"))) if (work / "items").exists() else 0
                elif (p := read_progress(work)) and p.get("total"):  # the stage reports its own steps
                    done, total = int(p["done"]), int(p["total"])
                    note = p.get("note") or note
                else:
                    done = finished
                progress.update(task, completed=done, total=total, note=note)
                if finished == len(jobs):
                    break
                time.sleep(poll_s)

    def _fail(self, name: str, m: Manifest, error: str) -> None:
        m.status, m.error = "failed", error
        m.timings["finished"] = time.time()
        self._collect_attempts(name, m)
        m.save(self.stage_dir(name))
        self.console.print(f"[red]x {name}: failed[/red] (see {Manifest.path(self.stage_dir(name))})")
        raise StageFailed(f"stage '{name}' failed: {error.strip().splitlines()[-1] if error.strip() else ''}")

    def _collect_attempts(self, name: str, m: Manifest) -> None:
        adir = self.stage_dir(name) / "work" / "attempts"
        m.shard_attempts = {}
        for p in sorted(adir.glob(f"run{m.runs}-task*.json")) if adir.exists() else []:
            m.shard_attempts[p.stem.split("-task", 1)[1]] = json.loads(p.read_text())["attempts"]
        m.attempts = max(m.shard_attempts.values(), default=0)

    def _finalize(self, name: str, m: Manifest, run: int) -> None:
        t0 = time.time()
        spec, sdir = self.specs[name], self.stage_dir(name)
        work, out = sdir / "work", sdir / "out"
        partial = work / "out.partial"
        done = [json.loads(p.read_text()) for p in sorted(work.glob(f"done-run{run}-task*.json"))]
        if spec.get("kind") == "array":
            n = spec["items"]
            missing = [i for i in range(n) if not item_marker(work, i).exists()]
            if missing:
                self._fail(name, m, f"array items missing after all shards finished: {missing[:20]}")
            partial.mkdir(parents=True, exist_ok=True)
            merged = (spec.get("outputs") or ["items.jsonl"])[0]
            lines = [json.dumps({"item": i, "record": json.loads(item_marker(work, i).read_text())["record"]},
                                sort_keys=True) for i in range(n)]
            atomic_write_text(partial / merged, "\n".join(lines) + "\n")
            m.items = {"total": n, "done": n}
        else:
            if not done:
                self._fail(name, m, "the job ended without its completion record")
            m.result = done[0].get("result")
        missing_out = [o for o in spec.get("outputs", []) if not (partial / o).is_file()]
        if missing_out:
            self._fail(name, m, f"declared outputs not written: {', '.join(missing_out)}")
        # publish: the complete new outputs replace the old ones by rename
        old = sdir / "out.old"
        if old.exists():
            shutil.rmtree(old)
        if out.exists():
            os.replace(out, old)
        os.replace(partial if partial.exists() else _empty(partial), out)
        fsync_dir(sdir)
        shutil.rmtree(old, ignore_errors=True)
        m.outputs = hash_tree(out)
        m.outputs_hash = canonical_hash(m.outputs)
        m.fingerprint = fingerprint(m.config_hash, m.input_hashes, m.outputs_hash)
        self._collect_attempts(name, m)
        now = time.time()
        starts = [d["started"] for d in done]
        m.timings.update({
            "started": min(starts) if starts else m.timings.get("submitted", now),
            "finished": now,
            "wall_s": now - m.timings.get("submitted", now),
            "fn_s": max((d["fn_s"] for d in done), default=0.0),
            "job_s": max((d["job_s"] for d in done), default=0.0),
            "import_s": max((d.get("import_s", 0.0) for d in done), default=0.0),
            "finalize_s": now - t0,
        })
        m.status = "completed"
        m.save(sdir)
        self.console.print(f"[green]✓ {name}[/green]: completed in {m.timings['wall_s']:.1f}s "
                           f"(attempts {m.attempts})")


# a requeued job may have written its result before the kill; it is not over until SLURM says so
_ACTIVE = {"PENDING", "RUNNING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "COMPLETING",
           "CONFIGURING", "RESIZING", "SUSPENDED", "STAGE_OUT", "SIGNALING"}


def _count_finished(jobs: Sequence[submitit.Job]) -> int:
    done = [j for j in jobs if j.done()]
    slurm = [j for j in done if isinstance(j, submitit.SlurmJob)]
    if slurm:
        # submitit refreshes sacct ever more rarely as jobs age; one forced call per poll keeps
        # the driver's reaction time to a finished job at the poll interval
        slurm[0].watcher.update()
        done = [j for j in done if not isinstance(j, submitit.SlurmJob)
                or j.watcher.get_state(j.job_id, mode="cache").split(" ")[0] not in _ACTIVE]
    return len(done)


def _empty(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path
