"""Sharded synthesis: shards generate and validate candidates in chunks, merge filters them.

Work is cut into chunks of `output.chunk_size` candidates. Chunk c is sampled with its own seed
(`seed`, c), so its content does not depend on which shard runs it or on what ran before: shard i
of N runs chunks i, i+N, i+2N, ... and the merged result is the same for any number of shards.
A chunk is published atomically (`shards/chunk-<c>.jsonl`, temp + rename) and then recorded in
the shard's progress marker; a requeued or re-run shard skips the chunks it finished, so it
resumes with no duplicates and no gaps.

    out/config.yaml            the resolved config every shard and the merge read
    out/shards/chunk-*.jsonl   candidate records (rendered, with their validation)
    out/shards/dpo-*.jsonl     DPO pairs of those candidates
    out/shards/progress-<i>.json
    out/train.jsonl, train.parquet, dpo.jsonl, stats.json, report.md, plots/*.png
"""
from __future__ import annotations

import json
import math
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

from omegaconf import OmegaConf

from elab_hpc.errors import UserError
from elab_hpc.hpc.core.atomic import atomic_write_json, atomic_write_text
from elab_hpc.config import load_config, to_object
from elab_hpc.errors import ConfigError
from elab_hpc.synth.config import DEFAULT_SYNTH_CONFIG, SynthConfig, check_synth

CONFIG_NAME = "config.yaml"


@dataclass
class OutputConfig:
    """How shards cut and render their work."""

    chunk_size: int = 50  # candidates per published chunk file (the unit a requeued shard resumes from)
    oversample: float = 1.6  # candidates generated = ceil(n * oversample); filtering drops some
    distractors: int = 4  # unused tools of the same apps added to each record's `tools`
    observation_budget: int = 512  # tokens per tool observation in the chat renderings
    dpo: bool = True  # build an executed, corrupted counterpart per valid trajectory


@dataclass
class RunConfig(SynthConfig):
    """SynthConfig plus what a sharded run needs (`output.*`, `exclude_tasks`)."""

    output: OutputConfig = field(default_factory=OutputConfig)
    # eval test split to keep out of training: JSONL of {intent} and/or {gold_actions}, or plain intents
    exclude_tasks: Optional[str] = None


def load_synth_config(path: Optional[str | Path] = None, overrides: Optional[List[str]] = None) -> RunConfig:
    """configs/synth/default.yaml (or `path`) + `key=value` overrides → a checked RunConfig."""
    cfg: RunConfig = to_object(load_config(RunConfig, path or DEFAULT_SYNTH_CONFIG, overrides))
    check_synth(cfg)
    o = cfg.output
    for key, value in (("output.chunk_size", o.chunk_size), ("output.observation_budget", o.observation_budget)):
        if value < 1:
            raise ConfigError(f"{key}: must be >= 1, got {value}")
    if o.oversample < 1.0:
        raise ConfigError(f"output.oversample: must be >= 1.0, got {o.oversample}")
    if o.distractors < 0:
        raise ConfigError(f"output.distractors: must be >= 0, got {o.distractors}")
    if cfg.exclude_tasks and not Path(cfg.exclude_tasks).is_file():
        # a relative path in a shipped config means the project's own file, wherever the job runs
        in_repo = Path(__file__).resolve().parents[2] / cfg.exclude_tasks
        if Path(cfg.exclude_tasks).is_absolute() or not in_repo.is_file():
            raise ConfigError(f"exclude_tasks: file not found: {cfg.exclude_tasks}")
        cfg.exclude_tasks = str(in_repo)
    return cfg


# --------------------------------------------------------------------------- plan and config

def num_candidates(cfg: RunConfig) -> int:
    return max(1, math.ceil(cfg.n * cfg.output.oversample))


def num_chunks(cfg: RunConfig) -> int:
    return math.ceil(num_candidates(cfg) / cfg.output.chunk_size)


def chunk_sizes(cfg: RunConfig) -> List[int]:
    total, size = num_candidates(cfg), cfg.output.chunk_size
    return [min(size, total - c * size) for c in range(num_chunks(cfg))]


def shard_chunks(shard: int, num_shards: int, chunks: int) -> List[int]:
    return list(range(shard, chunks, num_shards))


def config_yaml(cfg: RunConfig) -> str:
    return OmegaConf.to_yaml(OmegaConf.create(asdict(cfg)))


def write_config(cfg: RunConfig, out: Path) -> Path:
    """Store the resolved config in `out` (refusing a run folder made with a different one)."""
    path = out / CONFIG_NAME
    text = config_yaml(cfg)
    if path.is_file():
        old = load_synth_config(path)
        # the shard count and the cluster may change between runs of the same work
        if config_yaml(_same_work(old, cfg)) != text:
            raise UserError(f"{out} was made with a different synth config ({path}); use another --out "
                            "or the same config")
    atomic_write_text(path, text)
    return path


def _same_work(old: RunConfig, new: RunConfig) -> RunConfig:
    old.shards, old.cluster, old.out_dir = new.shards, new.cluster, new.out_dir
    return old


def load_run_config(out: Path) -> RunConfig:
    path = Path(out) / CONFIG_NAME
    if not path.is_file():
        raise UserError(f"{out}: no {CONFIG_NAME}; is this a synth run folder (elab-hpc synth run/shard)?")
    return load_synth_config(path)


# --------------------------------------------------------------------------- one shard

def _progress_path(out: Path, shard: int) -> Path:
    return out / "shards" / f"progress-{shard:04d}.json"


def chunk_path(out: Path, c: int, kind: str = "chunk") -> Path:
    return out / "shards" / f"{kind}-{c:06d}.jsonl"


def read_progress(out: Path, shard: int) -> Dict[str, Any]:
    p = _progress_path(out, shard)
    return json.loads(p.read_text()) if p.is_file() else {"shard": shard, "chunks": {}}


class ShardWorker:
    """Everything a shard needs, built once per process: sampling context, schema checker,
    grounding episodes."""

    def __init__(self, cfg: RunConfig):
        from elab_hpc.synth.compose import TemplateComposer
        from elab_hpc.synth.filters import FreshEpisodes, SchemaChecker
        from elab_hpc.synth.sampler import load_context

        self.cfg = cfg
        if cfg.env:  # your own MCP servers (elab_hpc/env/external.py) instead of the arena
            from elab_hpc.synth.external import load_external_context

            self.ctx = load_external_context(cfg.env, seed=cfg.seed, exclude_tools=list(cfg.sampler.exclude_tools))
        else:
            self.ctx = load_context(seed=cfg.arena.seed, scale=cfg.arena.scale, apps=list(cfg.arena.apps) or None,
                                    exclude_tools=list(cfg.sampler.exclude_tools),
                                    exclude_apps=list(cfg.sampler.exclude_apps), surface=cfg.arena.surface)
        self.registry = self.ctx.registry
        self.composer = TemplateComposer(self.ctx, max_checks=cfg.composer.max_checks,
                                         answer_facts=cfg.composer.answer_facts)
        self.schema = SchemaChecker(self.registry)
        self.fresh = FreshEpisodes(self.ctx.world)

    def validate(self, traj: Any) -> Dict[str, Any]:
        from elab_hpc.synth.filters import ground

        actions = [s.to_action() for s in traj.steps]
        errors = self.schema.trajectory_errors(actions) if self.cfg.filter.schema_check else []
        out: Dict[str, Any] = {"schema_ok": not errors, "schema_errors": errors[:5]}
        if self.cfg.filter.replay:
            g = ground(self.fresh, self.registry, actions, traj.task.checks, traj.task.answer, traj.final_state_hash)
            out.update(grounded=g.ok, reasons=g.reasons, checks_passed=g.checks_passed, checks_total=g.checks_total)
        else:
            out.update(grounded=True, reasons=[], checks_passed=None, checks_total=len(traj.task.checks))
        out["valid"] = out["schema_ok"] and out["grounded"]
        return out

    def chunk(self, c: int, size: int, shard: int, advance: Any = None) -> Dict[str, Any]:
        """Sample, validate and render chunk c; returns its records and DPO pairs."""
        from elab_hpc.synth.records import build_record, dpo_pair
        from elab_hpc.synth.sampler import Sampler

        sampler = Sampler(self.ctx, self.cfg.sampler, composer=self.composer, source=self.cfg.source)
        records, pairs = [], []
        t0 = time.perf_counter()
        try:
            for traj in sampler.run(size, seed=self.cfg.seed, shard=c):
                traj.meta.update(shard=shard, chunk=c, seed=self.cfg.seed)
                traj.task.split = None if self.cfg.split == "none" else self.cfg.split
                validation = self.validate(traj)
                rec = build_record(traj, self.registry, distractors=self.cfg.output.distractors,
                                   budget=self.cfg.output.observation_budget, validation=validation)
                records.append(rec)
                if self.cfg.output.dpo and validation["valid"]:
                    pair = dpo_pair(traj, self.registry, self.fresh, random.Random(f"dpo:{traj.id}"),
                                    budget=self.cfg.output.observation_budget, tools=rec["tools"])
                    if pair is not None:
                        pairs.append(pair)
                if advance is not None:
                    advance(1)
        finally:
            sampler.close()
        return {"records": records, "pairs": pairs, "seconds": time.perf_counter() - t0,
                "sampler": dict(sampler.stats)}


def run_shard(cfg: RunConfig, out: str | Path, shard: int, num_shards: int, show: bool = True) -> Dict[str, Any]:
    """Run (or resume) one shard: every chunk of it not yet published."""
    from elab_hpc.synth.records import write_jsonl

    out = Path(out)
    if not 0 <= shard < num_shards:
        raise UserError(f"--shard {shard} is outside 0..{num_shards - 1} (--num-shards {num_shards})")
    write_config(cfg, out)
    sizes = chunk_sizes(cfg)
    mine = shard_chunks(shard, num_shards, len(sizes))
    progress = read_progress(out, shard)
    todo = [c for c in mine if str(c) not in progress["chunks"] or not chunk_path(out, c).is_file()]
    summary = {"shard": shard, "num_shards": num_shards, "chunks": len(mine), "resumed_from": len(mine) - len(todo)}
    if not todo:
        return summary
    worker = ShardWorker(cfg)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  disable=not show, transient=True) as bar:
        task = bar.add_task(f"shard {shard}/{num_shards}: trajectories", total=sum(sizes[c] for c in todo))
        for c in todo:
            got = worker.chunk(c, sizes[c], shard, advance=lambda k: bar.advance(task, k))
            write_jsonl(chunk_path(out, c, "dpo"), got["pairs"])
            write_jsonl(chunk_path(out, c), got["records"])  # published last: its presence means done
            progress["chunks"][str(c)] = {"records": len(got["records"]), "dpo": len(got["pairs"]),
                                          "seconds": round(got["seconds"], 3), "sampler": got["sampler"]}
            atomic_write_json(_progress_path(out, shard), progress)
    worker.fresh.close()
    return summary


def shard_job(config_path: str, out: str, shard: int, num_shards: int) -> Dict[str, Any]:
    """What an array task runs (picklable, module level)."""
    return run_shard(load_synth_config(config_path), out, shard, num_shards, show=False)


# --------------------------------------------------------------------------- whole run

def run(cfg: RunConfig, out: Optional[str | Path] = None, show: bool = True) -> Dict[str, Any]:
    """All shards as one array job on `cfg.cluster` (configs/cluster/<name>.yaml), then merge."""
    from elab_hpc.hpc.auto import make_executor
    from elab_hpc.hpc.core.executor import wait

    out = Path(out or cfg.out_dir)
    config_path = write_config(cfg, out)
    t0 = time.perf_counter()
    ex = make_executor(cfg.cluster, folder=out / "jobs")
    shards = list(range(cfg.shards))
    jobs = ex.map_array(shard_job, [str(config_path)] * cfg.shards, [str(out)] * cfg.shards, shards,
                        [cfg.shards] * cfg.shards)
    wait(jobs, poll_s=0.5, description=f"{cfg.shards} synth shard(s) on {cfg.cluster}", show=show)
    shard_s = time.perf_counter() - t0
    stats = merge(out, show=show)
    stats["timings"]["shards_s"] = round(shard_s, 2)
    stats["timings"]["total_s"] = round(time.perf_counter() - t0, 2)
    atomic_write_json(out / "stats.json", stats)
    return stats


# --------------------------------------------------------------------------- merge

def _quality(rec: Dict[str, Any]) -> float:
    from elab_hpc.synth.filters import quality_score

    actions = rec["actions"]
    chained = any(a.get("uses") for a in actions[1:])
    apps = {a["tool"].split(".", 1)[0] for a in actions}
    state_checks = sum(1 for c in rec["task"]["checks"] if not c["type"].startswith("answer"))
    return quality_score(len(actions), chained, len(apps), state_checks)


def merge(out: str | Path, show: bool = True, exclude_tasks: Optional[str] = None) -> Dict[str, Any]:
    """Global filtering of all chunks: validation, test-split exclusion (`exclude_tasks`, default
    the config's), exact and fuzzy de-duplication, MMR selection of n; writes train.jsonl/.parquet,
    dpo.jsonl, stats, report."""
    from rich.console import Console

    from elab_hpc.synth import filters
    from elab_hpc.synth.records import read_jsonl, write_jsonl, write_parquet
    from elab_hpc.synth.report import write_report

    out = Path(out)
    cfg = load_run_config(out)
    console = Console(stderr=True, quiet=not show)
    n_chunks = num_chunks(cfg)
    missing = [c for c in range(n_chunks) if not chunk_path(out, c).is_file()]
    if missing:
        shards = sorted({c % cfg.shards for c in missing})
        raise UserError(f"{out}: {len(missing)} of {n_chunks} chunks missing (shards {shards} of {cfg.shards} "
                        f"incomplete); rerun them: elab-hpc synth shard --shard I --num-shards {cfg.shards} "
                        f"--config {out / CONFIG_NAME} --out {out}")
    t0 = time.perf_counter()
    cands = [rec for c in range(n_chunks) for rec in read_jsonl(chunk_path(out, c))]
    counts: Dict[str, int] = {"candidates": len(cands)}
    valid = [r for r in cands if r["validation"]["valid"]]
    counts["valid"] = len(valid)
    exclusions = filters.Exclusions.load(exclude_tasks or cfg.exclude_tasks)
    kept = [r for r in valid if not exclusions.matches(r["task"]["intent"], r["task"]["gold_actions"])]
    counts["excluded_test_split"] = len(valid) - len(kept)
    if cfg.filter.dedup_exact:
        keys = [filters.exact_key(r["task"]["intent"], [a["tool"] for a in r["actions"]]) for r in kept]
        kept = [kept[i] for i in filters.exact_dedup(keys)]
    counts["after_exact_dedup"] = len(kept)
    t1 = time.perf_counter()
    quality = [_quality(r) for r in kept]
    order = sorted(range(len(kept)), key=lambda i: -quality[i])  # stable: ties keep chunk order
    survivors = sorted(filters.fuzzy_dedup([r["task"]["intent"] for r in kept], cfg.filter.fuzzy_threshold, order))
    kept, quality = [kept[i] for i in survivors], [quality[i] for i in survivors]
    counts["after_fuzzy_dedup"] = len(kept)
    t2 = time.perf_counter()
    want = cfg.filter.mmr_keep or cfg.n
    if len(kept) > want:
        docs = [filters.mmr_features(r["task"]["intent"], [a["tool"] for a in r["actions"]]) for r in kept]
        picks = sorted(filters.mmr_select(docs, quality, want, cfg.filter.mmr_lambda))
        kept = [kept[i] for i in picks]
    counts["selected"] = len(kept)
    t3 = time.perf_counter()
    chosen = {r["id"] for r in kept}
    pairs = [p for c in range(n_chunks) if chunk_path(out, c, "dpo").is_file()
             for p in read_jsonl(chunk_path(out, c, "dpo")) if p["meta"]["trajectory"] in chosen]
    counts["dpo_pairs"] = len(pairs)
    write_jsonl(out / "train.jsonl", kept)
    write_parquet(out / "train.parquet", kept)
    write_jsonl(out / "dpo.jsonl", pairs)
    t4 = time.perf_counter()
    if len(kept) < cfg.n:
        console.print(f"[yellow]only {len(kept)} of n={cfg.n} trajectories survived filtering; raise "
                      f"output.oversample (now {cfg.output.oversample})[/yellow]")
    shard_s = 0.0
    for prog_path in sorted((out / "shards").glob("progress-*.json")):  # however many shards ran
        shard_s += sum(ch["seconds"] for ch in json.loads(prog_path.read_text())["chunks"].values())
    stats: Dict[str, Any] = {
        "n": cfg.n, "shards": cfg.shards, "chunks": n_chunks, "counts": counts,
        "validation_pass_rate": round(len(valid) / len(cands), 4) if cands else 0.0,
        "timings": {"read_s": round(t1 - t0, 2), "fuzzy_dedup_s": round(t2 - t1, 2), "mmr_s": round(t3 - t2, 2),
                    "write_s": round(t4 - t3, 2), "chunk_compute_s": round(shard_s, 2)},
    }
    stats["quality"] = write_report(out, kept, stats)
    atomic_write_json(out / "stats.json", stats)
    console.print(f"merged {len(cands)} candidates → {len(kept)} trajectories, {len(pairs)} DPO pairs in {out}")
    return stats
