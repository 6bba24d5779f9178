#!/usr/bin/env python
"""SFT of the 1.5B Qwen3-shaped reference model (benchmarks/anchors/sft_trl_baseline.py) with
DeepSpeed ZeRO-2/3 on the GPUs of one host, launched the way a cluster user does:

    torchrun --nproc_per_node=N benchmarks/multigpu_sft.py --engine trl --zero 2
    torchrun --nproc_per_node=N benchmarks/multigpu_sft.py --engine fast --zero 2

Engines (both train through a DeepSpeed engine configured from configs/deepspeed/zero{2,3}.json):
  trl   TRL's SFTTrainer (packing, as the reference) with `deepspeed=` set: what `elab-hpc train sft`
        runs. Per step: forward (compute_loss) and backward+DeepSpeed step (accelerate runs the
        engine's step inside its backward) are timed separately.
  fast  the project's fast SFT step (elab_hpc/train/throughput: document-masked flex attention, fused
        linear cross-entropy, compiled decoder layers) driven by `deepspeed.initialize` with a fused
        AdamW client optimizer: forward, backward (ZeRO gradient reduction) and step (update +
        parameter all-gather) are timed separately. ZeRO-2 only (ZeRO-3 gathers parameters in
        module hooks, which the compiled layers bypass).

Both use the reference's model, data (1,200 random-token documents, log-normal lengths), 8,192-token
packed rows, AdamW lr 1e-5 with linear decay, clipping 1.0. Weak scaling: every GPU gets the same
micro-batch and accumulation, so per-GPU work is equal on 1 and N GPUs. Every step is timed with a
device synchronisation at its edges; the first --warmup steps (compilation, NCCL set-up, allocator
growth) and the last one are excluded, and the median start-to-next-start period (the step plus the
loop's data fetch and logging between steps) gives tokens/s. Rank 0 prints one `RESULT {json}` line:
real (non-padding) tokens/s in total and per GPU, MFU per GPU against 989 TFLOP/s (the anchor's
FLOP count), peak memory (max over ranks), the step-phase breakdown and the loss at the first and
last steps. `benchmarks/multigpu_bench.sh` runs the 1-GPU and N-GPU cases in one call.

`--tiny --device cpu` runs a 2-layer model on CPU (gloo) to check the script, not to measure.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402

PEAK_FLOPS = 989e12  # H100 SXM dense bf16, the anchor's MFU denominator


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--engine", choices=["trl", "fast"], default="trl")
    ap.add_argument("--zero", type=int, choices=[2, 3], default=2)
    ap.add_argument("--ds-config", default=None, help="DeepSpeed JSON (default configs/deepspeed/zero{Z}.json)")
    ap.add_argument("--steps", type=int, default=16, help="optimizer steps in all, warm-up included")
    ap.add_argument("--warmup", type=int, default=4, help="first steps left out of the timing")
    ap.add_argument("--mb", type=int, default=4, help="2,048-token sequences packed per row (the reference: 4)")
    ap.add_argument("--ga", type=int, default=1, help="gradient accumulation (rows per optimizer step per GPU)")
    ap.add_argument("--gc", type=int, default=1, help="gradient checkpointing (trl engine; the reference: 1)")
    ap.add_argument("--tag", default="", help="a label copied into the result")
    ap.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    ap.add_argument("--tiny", action="store_true", help="2-layer model, short rows (a CPU check of the script)")
    return ap.parse_args()


args = parse_args()
CUDA = args.device == "cuda"
world = int(os.environ.get("WORLD_SIZE", "1"))
rank = int(os.environ.get("RANK", "0"))
local_rank = int(os.environ.get("LOCAL_RANK", "0"))
if CUDA:
    torch.cuda.set_device(local_rank)
ROW = (256 if args.tiny else 2048) * args.mb
if args.warmup + 1 >= args.steps:
    sys.exit(f"--steps {args.steps} must exceed --warmup {args.warmup} + 1 (the last step is not timed)")


def sync():
    if CUDA:
        torch.cuda.synchronize()


def build_model_and_docs():
    """The reference's model (seeded here, so every rank starts from the same weights) and documents."""
    from transformers import AutoTokenizer, Qwen3Config, Qwen3ForCausalLM

    tok = AutoTokenizer.from_pretrained(HERE / "anchors" / "tok")
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    shape = (dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                  num_key_value_heads=2, head_dim=16) if args.tiny else
             dict(hidden_size=2048, intermediate_size=6144, num_hidden_layers=28, num_attention_heads=16,
                  num_key_value_heads=8, head_dim=128))
    cfg = Qwen3Config(vocab_size=len(tok), max_position_embeddings=8192, tie_word_embeddings=True, **shape)
    torch.manual_seed(0)
    # built on the GPU directly: a 1.5B random init on the host takes tens of seconds per rank
    with torch.device(f"cuda:{local_rank}" if CUDA else "cpu"):
        model = Qwen3ForCausalLM(cfg)
    model = model.to(torch.bfloat16 if CUDA else torch.float32)  # CPU bf16 matmuls crawl
    model.config._attn_implementation = "sdpa"
    rng = random.Random(0)
    n_docs, hi, lo, med = (1200, 4096, 256, 1400) if not args.tiny else (200, 512, 32, 175)
    lengths = [min(hi, max(lo, int(rng.lognormvariate(math.log(med), 0.6)))) for _ in range(n_docs)]
    docs = [[rng.randrange(100, len(tok)) for _ in range(n)] for n in lengths]
    return tok, cfg, model, docs


def ds_config() -> dict:
    path = Path(args.ds_config) if args.ds_config else HERE.parent / "configs" / "deepspeed" / f"zero{args.zero}.json"
    cfg = json.loads(path.read_text())
    if cfg["zero_optimization"]["stage"] != args.zero:
        sys.exit(f"{path}: zero_optimization.stage is {cfg['zero_optimization']['stage']}, not --zero {args.zero}")
    return cfg


class StepClock:
    """Device-synchronised wall times of each step and of its phases."""

    def __init__(self):
        self.begins: list[float] = []  # every step's start; differences are the loop's true period
        self.steps: list[dict] = []
        self.current: dict = {}
        self.mark = 0.0
        self.losses: list[float] = []
        self.tokens: list[int] = []

    def begin(self):
        sync()
        self.current = {"tokens": 0}
        self.mark = self.start = time.perf_counter()
        self.begins.append(self.start)

    def phase(self, name: str):
        sync()
        now = time.perf_counter()
        self.current[name] = self.current.get(name, 0.0) + now - self.mark
        self.mark = now

    def end(self):
        sync()
        self.current["step"] = time.perf_counter() - self.start
        self.steps.append(self.current)

    def periods(self) -> list[float]:
        """Start-to-next-start times: the step itself plus what the loop does between steps (data
        fetch, logging). The last step has no successor and is left out."""
        return [b - a for a, b in zip(self.begins, self.begins[1:])]


clock = StepClock()


# ------------------------------------------------------------------ engine: TRL SFTTrainer + DeepSpeed

def run_trl(tok, model, docs) -> None:
    from datasets import Dataset
    from transformers import TrainerCallback
    from trl import SFTConfig, SFTTrainer

    sft = SFTConfig(output_dir=f"/tmp/multigpu_sft_trl_z{args.zero}_{world}", max_steps=args.steps,
                    per_device_train_batch_size=1, gradient_accumulation_steps=args.ga, packing=True,
                    max_length=ROW, logging_steps=1, report_to=[], save_strategy="no", bf16=CUDA,
                    use_cpu=not CUDA, learning_rate=1e-5, gradient_checkpointing=bool(args.gc),
                    dataloader_num_workers=2 if CUDA else 0, disable_tqdm=True, seed=0,
                    ddp_backend=None if CUDA else "gloo", deepspeed=ds_config())
    trainer = SFTTrainer(model=model, args=sft, train_dataset=Dataset.from_dict({"input_ids": docs}),
                         processing_class=tok)

    class Clock(TrainerCallback):
        def on_step_begin(self, a, state, control, **kw):
            clock.begin()

        def on_step_end(self, a, state, control, **kw):
            clock.end()

        def on_log(self, a, state, control, logs=None, **kw):
            if logs and "loss" in logs:
                clock.losses.append(float(logs["loss"]))

    trainer.add_callback(Clock())
    inner_loss = trainer.compute_loss

    def timed_loss(m, inputs, *a, **k):
        # the time since the last mark (backward + DeepSpeed step of the previous micro-batch, or the
        # batch fetch at a step's start) is booked before the forward is timed
        clock.phase("backward_step" if "forward" in clock.current else "data")
        mask = inputs.get("attention_mask")
        clock.current["tokens"] += int(mask.sum()) if mask is not None else int(inputs["input_ids"].numel())
        out = inner_loss(m, inputs, *a, **k)
        clock.phase("forward")
        return out

    trainer.compute_loss = timed_loss
    orig_end = clock.end

    def end_with_backward():
        clock.phase("backward_step")
        orig_end()

    clock.end = end_with_backward
    trainer.train()


# ------------------------------------------------------------------ engine: fast step + DeepSpeed

def packed_rows(docs, length: int, pad_id: int):
    """Best-fit decreasing packing into fixed-length rows (as TRL's BFD packing: rows ~full)."""
    from elab_hpc.train.throughput import pack_row

    free: list[int] = []
    content: list[list[list[int]]] = []
    for d in sorted((d[:length] for d in docs), key=len, reverse=True):
        fits = [i for i, f in enumerate(free) if f >= len(d)]
        if fits:
            i = min(fits, key=lambda j: free[j])
        else:
            free.append(length)
            content.append([])
            i = len(free) - 1
        content[i].append(d)
        free[i] -= len(d)
    rows = [pack_row(c, length, pad_id) for c in content]
    random.Random(0).shuffle(rows)
    return rows


def run_fast(tok, model, docs) -> None:
    import deepspeed

    from elab_hpc.train.throughput import FastSFTOptions, FastSFTStep

    if args.zero != 2:
        sys.exit("--engine fast runs ZeRO-2 only (ZeRO-3 gathers parameters in module hooks that the compiled layers bypass)")
    opts = FastSFTOptions(attention="flex" if CUDA else "sdpa_docs", loss="fused_linear", compile=CUDA,
                          row_length=ROW, total_steps=args.steps)
    fast = FastSFTStep(model, opts)  # its own optimizer is never stepped (AdamW state is lazy)
    cfg = ds_config()
    # no HF integration here to fill DeepSpeed's "auto" values
    cfg.update(train_micro_batch_size_per_gpu=1, gradient_accumulation_steps=args.ga,
               train_batch_size=world * args.ga, gradient_clipping=opts.max_grad_norm,
               bf16={"enabled": CUDA})
    cfg.pop("fp16", None)
    optimizer = torch.optim.AdamW(fast.params, lr=opts.lr, betas=opts.betas, eps=opts.eps,
                                  weight_decay=opts.weight_decay, **({"fused": True} if CUDA else {}))
    sched = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: max(0.0, 1.0 - s / args.steps))
    engine, _, _, _ = deepspeed.initialize(model=model, optimizer=optimizer, lr_scheduler=sched, config=cfg)
    rows = packed_rows(docs, ROW, tok.pad_token_id)
    mine = rows[rank::world]
    device = torch.device(f"cuda:{local_rank}" if CUDA else "cpu")
    i = 0
    for _ in range(args.steps):
        clock.begin()
        loss_sum = torch.zeros((), device=device)
        for _ in range(args.ga):
            row = mine[i % len(mine)].to(device)
            i += 1
            clock.current["tokens"] += row.n_real
            clock.phase("data")
            loss = fast.loss(row)
            clock.phase("forward")
            engine.backward(loss)  # ZeRO-2: gradients reduced to their owner rank in buckets
            clock.phase("backward")
            engine.step()  # at the accumulation boundary: clip, AdamW on the partition, all-gather
            clock.phase("optimizer")
            loss_sum += loss.detach()
        clock.losses.append(float(loss_sum) / args.ga)
        clock.end()


# ------------------------------------------------------------------ main

def main():
    if CUDA:
        os.environ.setdefault("NCCL_NVLS_ENABLE", "0")  # multicast stays off (device README)
    else:
        from elab_hpc.train.launch import skip_deepspeed_shm_build

        skip_deepspeed_shm_build()  # minutes of g++ for an op CPU training never uses
    tok, cfg, model, docs = build_model_and_docs()
    n_params = sum(p.numel() for p in model.parameters())
    (run_trl if args.engine == "trl" else run_fast)(tok, model, docs)

    periods = clock.periods()[args.warmup:]
    timed = clock.steps[args.warmup:args.warmup + len(periods)]
    if not timed:
        sys.exit(f"no timed steps: --steps must exceed --warmup + 1 ({args.steps} <= {args.warmup} + 1)")
    step_s = statistics.median(periods)
    tokens_per_step = statistics.median(s["tokens"] for s in timed)
    phases = sorted({k for s in timed for k in s} - {"step", "tokens"})
    local = [tokens_per_step / step_s, torch.cuda.max_memory_allocated() / 2**30 if CUDA else 0.0,
             step_s, sum(s["tokens"] for s in timed), sum(periods)]
    stats = torch.tensor(local, dtype=torch.float64, device=f"cuda:{local_rank}" if CUDA else "cpu")
    if dist.is_initialized():
        everyone = [torch.zeros_like(stats) for _ in range(world)]
        dist.all_gather(everyone, stats)
    else:
        everyone = [stats]
    per_rank = [e.tolist() for e in everyone]
    if rank != 0:
        return
    # a data-parallel step ends when the slowest rank ends: tokens/s = all tokens / the slowest median step
    slowest = max(r[2] for r in per_rank)
    total_tps = sum(tokens_per_step for _ in per_rank) / slowest if world > 1 else tokens_per_step / step_s
    flops_per_token = 6 * n_params + 12 * cfg.num_hidden_layers * cfg.hidden_size * 1400
    result = {
        "engine": args.engine, "zero": args.zero, "gpus": world, "tag": args.tag, "params": n_params,
        "row_tokens": ROW, "grad_accum": args.ga, "gradient_checkpointing": bool(args.gc) if args.engine == "trl" else False,
        "steps": args.steps, "steps_timed": len(timed),
        "median_period_s": round(step_s, 4),
        "period_s_all": [round(p, 4) for p in clock.periods()],
        "phase_median_s": {p: round(statistics.median(s.get(p, 0.0) for s in timed), 4) for p in phases + ["step"]},
        "real_tokens_per_step_per_gpu": int(tokens_per_step),
        "real_tokens_per_s": round(total_tps), "tokens_per_s_per_gpu": round(total_tps / world),
        "tokens_per_s_per_gpu_mean_window": round(sum(r[3] for r in per_rank) / max(r[4] for r in per_rank) / world),
        "mfu_per_gpu_vs_989TF": round(total_tps / world * flops_per_token / PEAK_FLOPS, 3),
        "peak_mem_GB_max_rank": round(max(r[1] for r in per_rank), 1),
        "loss_first_last": [round(clock.losses[0], 4), round(clock.losses[-1], 4)] if clock.losses else None,
        "ds_config": args.ds_config or f"configs/deepspeed/zero{args.zero}.json",
        "device": torch.cuda.get_device_name(0) if CUDA else "cpu",
    }
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
