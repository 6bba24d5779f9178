#!/usr/bin/env python
"""Agentic GRPO across the GPUs of one host: throughput and where the GPU time goes.

    torchrun --nproc_per_node=N benchmarks/grpo_multigpu.py --out results.json [--steps 4]

The project's GRPO (elab_hpc/train/grpo.py: TRL GRPOTrainer, the multi-turn arena `rollout_func`,
reward r1..r4) built from configs/train/grpo_tiny.yaml with the overrides below, on DeepSpeed
ZeRO-2 (configs/deepspeed/zero2.json). Data parallel in both phases: every rank generates its share
of the group's episodes with its own copy of the policy, runs them in fresh arena episodes on the
host's CPUs, then trains on them; gradients are reduced across ranks.

The policy is the 1.5B Qwen3-shaped model of benchmarks/anchors/sft_trl_baseline.py, RANDOMLY
initialised, with the anchors' tokenizer (SmolLM2 vocabulary) and the project's tool chat template:
no trained weights of that size fit in what travels to the GPU machine. A random policy never
closes its turn, so each episode is one turn of `max_new_tokens` sampled tokens (a format error);
the arena episode is opened, checked and rewarded, but no tool is called. This measures throughput
(generation, scoring, training), not learning.

Per rank, with device synchronisation at each edge: time in `model.generate` (policy sampling), in
the whole rollout (generation + arena + reward), in TRL's generate-and-score phase (rollout +
advantage bookkeeping), and in training (the rest of each training step: forward, backward,
ZeRO-2 gradient reduction, optimizer step). Rank 0 samples GPU utilisation through NVML every
0.1 s and splits it by the phase each GPU's rank was in. The first --warmup steps are left out.

`--tiny --device cpu` (2-layer model, gloo) checks the script on a machine without a GPU.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import threading
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--out", required=True, help="result JSON (rank 0 writes it)")
ap.add_argument("--steps", type=int, default=4)
ap.add_argument("--warmup", type=int, default=1)
ap.add_argument("--batch", type=int, default=8, help="episodes per GPU per step (per_device_train_batch_size)")
ap.add_argument("--generations", type=int, default=4, help="episodes per task (the GRPO group)")
ap.add_argument("--max-new-tokens", type=int, default=64, help="policy tokens per turn")
ap.add_argument("--max-turns", type=int, default=2)
ap.add_argument("--offer-tools", choices=["apps", "gold"], default="apps",
                help="tools shown in the prompt: all of the task's apps (~2,400-token prompts) or the gold ones")
ap.add_argument("--gc", type=int, default=1, help="gradient checkpointing (8 x 2.5K-token episodes per forward)")
ap.add_argument("--deepspeed", default="configs/deepspeed/zero2.json")
ap.add_argument("--model-dir", default="/tmp/grpo_multigpu_model")
ap.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
ap.add_argument("--tiny", action="store_true", help="2-layer model (a CPU check of the script)")
args = ap.parse_args()
CUDA = args.device == "cuda"
rank, world = int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))
local_rank = int(os.environ.get("LOCAL_RANK", "0"))
if CUDA:
    torch.cuda.set_device(local_rank)
    os.environ.setdefault("NCCL_NVLS_ENABLE", "0")  # multicast stays off (device README)


def sync():
    if CUDA:
        torch.cuda.synchronize()


def make_policy_folder(path: Path) -> None:
    """A randomly initialised Qwen3-shaped model saved with the anchors' tokenizer (rank 0 only)."""
    from transformers import AutoTokenizer, Qwen3Config, Qwen3ForCausalLM

    tok = AutoTokenizer.from_pretrained(HERE / "anchors" / "tok")
    shape = (dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                  num_key_value_heads=2, head_dim=16) if args.tiny else
             dict(hidden_size=2048, intermediate_size=6144, num_hidden_layers=28, num_attention_heads=16,
                  num_key_value_heads=8, head_dim=128))
    cfg = Qwen3Config(vocab_size=len(tok), max_position_embeddings=8192, tie_word_embeddings=True,
                      eos_token_id=tok.convert_tokens_to_ids("<|im_end|>"), **shape)
    torch.manual_seed(0)
    with torch.device("cuda" if CUDA else "cpu"):
        model = Qwen3ForCausalLM(cfg)
    tmp = path.with_name(path.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.to(torch.bfloat16 if CUDA else torch.float32).save_pretrained(tmp)
    tok.save_pretrained(tmp)
    shutil.rmtree(path, ignore_errors=True)
    os.replace(tmp, path)
    del model


class Phases:
    """Wall-clock spans (epoch seconds, so they line up with the NVML samples) per phase."""

    def __init__(self):
        self.spans: list[tuple[str, float, float]] = []
        self.step_begins: list[float] = []
        self.generated_tokens: list[tuple[float, int]] = []
        self.episodes: list[tuple[float, dict]] = []

    @contextmanager
    def span(self, name: str):
        sync()
        t0 = time.time()
        try:
            yield
        finally:
            sync()
            self.spans.append((name, t0, time.time()))


phases = Phases()


class UtilSampler(threading.Thread):
    """NVML utilisation of every GPU, every 0.1 s (rank 0)."""

    def __init__(self):
        super().__init__(daemon=True)
        import pynvml

        pynvml.nvmlInit()
        self.nvml = pynvml
        self.handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())]
        self.samples: list[tuple[float, list[int], list[float]]] = []
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            util = [self.nvml.nvmlDeviceGetUtilizationRates(h).gpu for h in self.handles]
            mem = [self.nvml.nvmlDeviceGetMemoryInfo(h).used / 2**30 for h in self.handles]
            self.samples.append((time.time(), util, mem))
            time.sleep(0.1)


def build_trainer(model_dir: Path):
    from transformers import TrainerCallback

    from elab_hpc.train import grpo
    from elab_hpc.train.config import load_train

    overrides = {
        "name": "grpo_multigpu", "output_dir": f"/tmp/grpo_multigpu_out_{world}",
        "model.name_or_path": str(model_dir), "model.dtype": "bfloat16" if CUDA else "float32",
        "model.attn_implementation": "sdpa", "device": args.device, "deepspeed": args.deepspeed,
        "optim.max_steps": args.steps, "optim.batch_size": args.batch, "optim.lr": 1e-6,
        "grpo.num_generations": args.generations, "grpo.max_turns": args.max_turns,
        "grpo.max_new_tokens": args.max_new_tokens, "grpo.offer_tools": args.offer_tools,
        "model.gradient_checkpointing": bool(args.gc),
        "checkpoint.every_steps": 1000000, "logging_steps": 1,
    }
    cfg = load_train("grpo_tiny", [f"{k}={v}" for k, v in overrides.items()], kind="grpo")

    class StepClock(TrainerCallback):
        def on_step_begin(self, a, state, control, **kw):
            sync()
            phases.step_begins.append(time.time())

    trainer = grpo.build(cfg, [StepClock()])
    rollout = trainer.elab_rollout

    # policy sampling (one model.generate per turn of an episode)
    inner_generate = rollout._generate

    def timed_generate(model, ctx):
        with phases.span("generate"):
            ids, logps = inner_generate(model, ctx)
        phases.generated_tokens.append((time.time(), len(ids)))
        return ids, logps

    rollout._generate = timed_generate

    # the whole rollout: generation + arena episodes + reward
    inner_rollout = trainer.rollout_func

    def timed_rollout(prompts, tr):
        with phases.span("rollout"):
            out = inner_rollout(prompts, tr)
        for ep, ids in zip(rollout.last, out["completion_ids"]):
            phases.episodes.append((time.time(), {"turns": ep["turns"], "completion_tokens": len(ids),
                                                  "policy_tokens": sum(ep["env_mask"]), "reward": ep["reward"]["r"]}))
        return out

    trainer.rollout_func = timed_rollout

    # TRL's generate-and-score phase (the rollout plus its bookkeeping)
    inner_gs = trainer._generate_and_score_completions

    def timed_gs(batch):
        with phases.span("generation_phase"):
            return inner_gs(batch)

    trainer._generate_and_score_completions = timed_gs

    # a training step = generation phase (when due) + forward/backward/ZeRO reduction/optimizer step
    inner_ts = trainer.training_step

    def timed_ts(model, inputs, num_items_in_batch=None):
        with phases.span("training_step"):
            return inner_ts(model, inputs, num_items_in_batch)

    trainer.training_step = timed_ts
    return trainer, cfg


def summarize(per_rank: list[dict], samples, wall: dict) -> dict:
    out: dict = {"ranks": []}
    total_eps = total_gen_tokens = total_policy = total_completion = 0
    for r in per_rank:
        t0, t1 = r["window"]
        dur = t1 - t0
        spans = [(n, a, b) for n, a, b in r["spans"] if a >= t0 and b <= t1 + 1e-3]
        tot = defaultdict(float)
        for n, a, b in spans:
            tot[n] += b - a
        gen_spans = [(a, b) for n, a, b in spans if n == "generation_phase"]
        # training part of each training step: from the end of its generation phase (if any) to its end
        train_spans = []
        for n, a, b in spans:
            if n == "training_step":
                inner = [g for g in gen_spans if a <= g[0] and g[1] <= b]
                train_spans.append((max([a] + [g[1] for g in inner]), b))
        tot["training"] = sum(b - a for a, b in train_spans)
        eps = [e for t, e in r["episodes"] if t0 <= t <= t1 + 1e-3]
        gen_tokens = sum(n for t, n in r["generated_tokens"] if t0 <= t <= t1 + 1e-3)
        rr = {"rank": r["rank"], "window_s": round(dur, 2), "episodes": len(eps),
              "seconds": {k: round(v, 2) for k, v in sorted(tot.items())},
              "fraction_of_window": {k: round(v / dur, 3) for k, v in sorted(tot.items())},
              "generated_tokens": gen_tokens,
              "mean_turns": round(statistics.mean(e["turns"] for e in eps), 2) if eps else None,
              "mean_reward": round(statistics.mean(e["reward"] for e in eps), 4) if eps else None}
        if samples:
            gpu = r["gpu_index"]

            def mean_util(intervals):
                vals = [u[gpu] for t, u, _ in samples if any(a <= t <= b for a, b in intervals)]
                return (round(statistics.mean(vals), 1), len(vals)) if vals else (None, 0)

            g, ng = mean_util(gen_spans)
            tr, nt = mean_util(train_spans)
            w, nw = mean_util([(t0, t1)])
            rr["gpu_util_percent"] = {"generation_phase": g, "training": tr, "whole_window": w,
                                      "samples": {"generation_phase": ng, "training": nt, "whole_window": nw}}
            rr["gpu_mem_used_GB_max"] = round(max(m[gpu] for t, _, m in samples if t0 <= t <= t1), 1)
        out["ranks"].append(rr)
        total_eps += len(eps)
        total_gen_tokens += gen_tokens
        total_policy += sum(e["policy_tokens"] for e in eps)
        total_completion += sum(e["completion_tokens"] for e in eps)
    window = max(r["window"][1] for r in per_rank) - min(r["window"][0] for r in per_rank)
    out.update({
        "timed_window_s": round(window, 2),
        "episodes_per_s": round(total_eps / window, 3),
        "generated_policy_tokens_per_s": round(total_gen_tokens / window, 1),
        "completion_tokens_per_s": round(total_completion / window, 1),
        "episodes": total_eps, "policy_tokens": total_policy, "completion_tokens": total_completion,
        "step_period_s": wall,
    })
    return out


def main():
    if not CUDA:
        from elab_hpc.train.launch import skip_deepspeed_shm_build

        skip_deepspeed_shm_build()  # minutes of g++ for an op CPU training never uses
    model_dir = Path(args.model_dir)
    if rank == 0:
        make_policy_folder(model_dir)
    if world > 1:
        # the trainer's process group does not exist yet; a file barrier keeps the other ranks waiting
        while not (model_dir / "config.json").is_file():
            time.sleep(0.5)
        time.sleep(1.0)
    sampler = None
    if CUDA and rank == 0:
        sampler = UtilSampler()
        sampler.start()
    trainer, cfg = build_trainer(model_dir)
    t_start = time.time()
    trainer.train()
    sync()
    t_end = time.time()
    begins = phases.step_begins
    window = (begins[args.warmup] if len(begins) > args.warmup else t_start, t_end)
    mine = {"rank": rank, "gpu_index": local_rank, "window": window, "spans": phases.spans,
            "episodes": phases.episodes, "generated_tokens": phases.generated_tokens,
            "step_begins": begins}
    if dist.is_initialized():
        everyone: list = [None] * world
        dist.all_gather_object(everyone, mine)
    else:
        everyone = [mine]
    if sampler:
        sampler.stop.set()
        sampler.join()
    if rank != 0:
        return
    periods = [b - a for a, b in zip(begins, begins[1:] + [t_end])]
    res = {
        "benchmark": "grpo_multigpu", "gpus": world,
        "device": torch.cuda.get_device_name(0) if CUDA else "cpu",
        "model": "Qwen3 shape of benchmarks/anchors/sft_trl_baseline.py, random init" if not args.tiny else "tiny 2-layer Qwen3, random init",
        "params": None, "deepspeed": args.deepspeed,
        "config": {"base": "configs/train/grpo_tiny.yaml", "per_device_episodes_per_step": args.batch,
                   "num_generations": args.generations, "max_new_tokens": args.max_new_tokens,
                   "max_turns": args.max_turns, "offer_tools": args.offer_tools, "gradient_checkpointing": bool(args.gc), "steps": args.steps, "warmup_steps": args.warmup},
        "step_periods_s": [round(p, 2) for p in periods],
        "summary": summarize(everyone, sampler.samples if sampler else None,
                             {"median": round(statistics.median(periods[args.warmup:] or periods), 2)}),
    }
    res["params"] = sum(p.numel() for p in trainer.model.parameters()) or None
    Path(args.out).write_text(json.dumps(res, indent=1))
    print("RESULT " + json.dumps({k: res[k] for k in ("gpus", "device", "step_periods_s")} | {
        k: res["summary"][k] for k in ("episodes_per_s", "generated_policy_tokens_per_s", "completion_tokens_per_s")}),
        flush=True)
    for r in res["summary"]["ranks"]:
        print("RANK", json.dumps(r), flush=True)


if __name__ == "__main__":
    main()
