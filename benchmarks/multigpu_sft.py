#!/usr/bin/env python
"""SFT of the 1.5B Qwen3-shaped reference model (benchmarks/anchors/sft_trl_baseline.py) with TRL +
DeepSpeed ZeRO-2/3 on every GPU of a host, launched the way a cluster user does:

    torchrun --nproc_per_node=N benchmarks/multigpu_sft.py --zero 2 [--steps 12] [--mb 4]

Same model, data and packing as the reference; each rank counts its real (non-padding) tokens from
step `--warmup` on; rank 0 prints one JSON line: tokens/s in total and per GPU, MFU per GPU against
989 TFLOP/s (H100 dense bf16), peak memory (max over ranks). `benchmarks/multigpu_bench.sh` runs it on
1 and on all GPUs in one call and computes the scaling efficiency.
"""
import argparse
import json
import math
import os
import random
import time
from pathlib import Path

import torch
import torch.distributed as dist
from datasets import Dataset
from transformers import AutoTokenizer, Qwen3Config, Qwen3ForCausalLM, TrainerCallback
from trl import SFTConfig, SFTTrainer

HERE = Path(__file__).resolve().parent
ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--zero", type=int, choices=[2, 3], default=2)
ap.add_argument("--steps", type=int, default=12)
ap.add_argument("--warmup", type=int, default=4)
ap.add_argument("--mb", type=int, default=4, help="sequences of 2048 tokens packed per row (as the reference)")
ap.add_argument("--gc", type=int, default=1, help="gradient checkpointing")
args = ap.parse_args()

world = int(os.environ.get("WORLD_SIZE", "1"))
rank = int(os.environ.get("RANK", "0"))
tok = AutoTokenizer.from_pretrained(HERE / "anchors" / "tok")
if tok.pad_token is None:
    tok.pad_token = tok.eos_token
cfg = Qwen3Config(vocab_size=len(tok), hidden_size=2048, intermediate_size=6144, num_hidden_layers=28,
                  num_attention_heads=16, num_key_value_heads=8, head_dim=128,
                  max_position_embeddings=8192, tie_word_embeddings=True)
model = Qwen3ForCausalLM(cfg).to(torch.bfloat16)
model.config._attn_implementation = "sdpa"
n_params = sum(p.numel() for p in model.parameters())
rng = random.Random(0)
lengths = [min(4096, max(256, int(rng.lognormvariate(math.log(1400), 0.6)))) for _ in range(1200)]
ds = Dataset.from_dict({"input_ids": [[rng.randrange(100, len(tok)) for _ in range(n)] for n in lengths]})

sft = SFTConfig(output_dir=f"/tmp/multigpu_sft_z{args.zero}_{world}", max_steps=args.steps,
                per_device_train_batch_size=1, packing=True, max_length=args.mb * 2048,
                logging_steps=1000, report_to=[], save_strategy="no", bf16=True, learning_rate=1e-5,
                gradient_checkpointing=bool(args.gc), dataloader_num_workers=2,
                deepspeed=str(HERE.parent / "configs" / "deepspeed" / f"zero{args.zero}.json"))
trainer = SFTTrainer(model=model, args=sft, train_dataset=ds, processing_class=tok)
clock = {"t0": None, "tokens": 0}


class StartClock(TrainerCallback):
    def on_step_begin(self, a, state, control, **kw):
        if state.global_step == args.warmup:
            torch.cuda.synchronize()
            clock["t0"] = time.time()


trainer.add_callback(StartClock())
inner = trainer.compute_loss


def counting_loss(m, inputs, *a, **k):
    if trainer.state.global_step >= args.warmup:
        mask = inputs.get("attention_mask")
        clock["tokens"] += int(mask.sum()) if mask is not None else int(inputs["input_ids"].numel())
    return inner(m, inputs, *a, **k)


trainer.compute_loss = counting_loss
trainer.train()
torch.cuda.synchronize()
elapsed = time.time() - clock["t0"]
stats = torch.tensor([clock["tokens"], torch.cuda.max_memory_allocated() / 2**30], device="cuda", dtype=torch.float64)
if dist.is_initialized():
    tokens = stats[:1].clone()
    dist.all_reduce(tokens, op=dist.ReduceOp.SUM)
    peak = stats[1:].clone()
    dist.all_reduce(peak, op=dist.ReduceOp.MAX)
    stats = torch.cat([tokens, peak])
if rank == 0:
    total = stats[0].item() / elapsed
    flops_per_token = 6 * n_params + 12 * cfg.num_hidden_layers * cfg.hidden_size * 1400
    print("RESULT " + json.dumps({
        "zero": args.zero, "gpus": world, "params": n_params, "steps_timed": args.steps - args.warmup,
        "real_tokens_per_s": round(total), "tokens_per_s_per_gpu": round(total / world),
        "mfu_per_gpu_vs_989TF": round(total / world * flops_per_token / 989e12, 3),
        "peak_mem_GB_max_rank": round(stats[1].item(), 1), "device": torch.cuda.get_device_name(0)}), flush=True)
