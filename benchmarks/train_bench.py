"""SFT throughput on one GPU: plain TRL (the anchor script) against the fast step, in one call.

Model and data are those of benchmarks/anchors/sft_trl_baseline.py (a copy of
../shared/anchors/sft_trl_baseline.py): the Qwen3-1.7B shape (1.5B parameters, SmolLM2 vocabulary),
random init, bf16, 1,200 random-token sequences with log-normal lengths. In order:

  1. the anchor itself, as subprocesses on this card: `default` and `packing` (plain TRL);
  2. the same model (built like the anchor) and the same
     packed rows (TRL's own BFD packing and Trainer data order, 8,192 tokens a row): one step of
     the HF/TRL loss against each fast attention backend (loss and gradients);
  3. the fast step in the anchor's packed configuration for as many steps as the packed baseline,
     with its loss curve beside TRL's (same data, AdamW, linear decay, clipping; the anchor's init is
     unseeded) and beside TRL's forward/loss path run here from the very same init;
  4. a table of variants, each lever on or off (attention backend, fused CE, compile, fused AdamW,
     activation checkpointing, longer rows);
  5. rollout generation for GRPO with plain HF `generate` (512-token prompt, 256 new tokens).

Throughput counts real (non-padding) tokens, like the anchor; MFU uses the anchor's FLOP count
and 989 TFLOP/s. Results: one JSON (card and device count named).

    python benchmarks/train_bench.py --out benchmarks/results/train_bench.json     # on a GPU
    python benchmarks/train_bench.py --tiny --out /tmp/tb.json                      # CPU smoke run
"""
from __future__ import annotations

import argparse
import ast
import gc
import json
import math
import os
import random
import subprocess
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
ANCHOR = HERE / "anchors" / "sft_trl_baseline.py"
sys.path.insert(0, str(HERE.parent))

import torch  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.progress import Progress  # noqa: E402
from rich.table import Table  # noqa: E402

console = Console(stderr=True, width=150)
PEAK_FLOPS = 989e12

# Each variant changes one lever against its neighbour; the comment is the prediction written
# before the first measurement (notes: benchmarks/notes/train_throughput.md).
VARIANTS = {
    "hf_sdpa_mask": dict(hf=True),  # TRL's own forward/loss, no Trainer, no GC: ~1.3x TRL packed
    "eager_sdpa_docs_full": dict(attention="sdpa_docs", loss="full", compile=False),  # +attention: ~2x hf
    "eager_flex_full": dict(attention="flex", loss="full", compile=False),
    "eager_varlen_full": dict(attention="varlen", loss="full", compile=False),
    "eager_varlen_fused": dict(attention="varlen", loss="fused_linear", compile=False),  # +3-5 %
    "eager_varlen_fused_foreach": dict(attention="varlen", loss="fused_linear", compile=False, fused_adamw=False),
    "compiled_varlen_fused": dict(attention="varlen", loss="fused_linear", compile=True),  # +10-15 %
    "compiled_flex_fused": dict(attention="flex", loss="fused_linear", compile=True),
    "compiled_varlen_full": dict(attention="varlen", loss="full", compile=True),
    "compiled_varlen_fused_ckpt14": dict(attention="varlen", loss="fused_linear", compile=True, checkpoint_layers=14),
    "compiled_varlen_fused_row16k": dict(attention="varlen", loss="fused_linear", compile=True, row_length=16384),
    "compiled_flex_full": dict(attention="flex", loss="full", compile=True),  # -3-5 % vs flex fused
    "compiled_flex_fused_row16k": dict(attention="flex", loss="fused_linear", compile=True, row_length=16384),  # +3 %
}


def sh(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def machine() -> dict:
    info = {"torch": torch.__version__, "cuda_available": torch.cuda.is_available(),
            "device_count": torch.cuda.device_count()}
    if torch.cuda.is_available():
        info["card"] = torch.cuda.get_device_name(0)
        info["nvidia_smi"] = sh(["nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"])
    import transformers
    info["transformers"] = transformers.__version__
    try:
        import trl
        info["trl"] = trl.__version__
    except ImportError:
        info["trl"] = None
    return info


# ---------------------------------------------------------------- 1. the anchor (plain TRL)

def run_anchor(mode: str, steps: int, timeout: int) -> dict:
    env = dict(os.environ, STEPS=str(steps), PYTHONUNBUFFERED="1")
    t0 = time.time()
    proc = subprocess.run([sys.executable, str(ANCHOR), mode], capture_output=True, text=True, env=env,
                          timeout=timeout)
    out = proc.stdout + "\n" + proc.stderr
    result: dict = {"mode": mode, "steps": steps, "returncode": proc.returncode, "wall_s": round(time.time() - t0, 1)}
    logs = []
    for line in out.splitlines():
        line = line.strip()
        if line.startswith('{"mode"'):
            result.update(json.loads(line))
        elif line.startswith("{'loss'"):
            try:
                logs.append({k: float(v) for k, v in ast.literal_eval(line).items()
                             if k in ("loss", "grad_norm", "learning_rate")})
            except (ValueError, SyntaxError):
                pass
    result["logs"] = logs
    if proc.returncode != 0 or "real_tokens_per_s" not in result:
        result["error_tail"] = out[-3000:]
    return result


# ---------------------------------------------------------------- 2. model and data like the anchor

def build_model_and_data(tiny: bool):
    """The anchor's construction order. Its init is unseeded (torch seeds every process at random), so
    the same-init comparison is made in this process (section 3)."""
    from transformers import AutoTokenizer, Qwen3Config, Qwen3ForCausalLM
    tok = AutoTokenizer.from_pretrained(str(HERE / "anchors" / "tok"))
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    vocab = len(tok)
    if tiny:
        cfg = Qwen3Config(vocab_size=vocab, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                          num_attention_heads=4, num_key_value_heads=2, head_dim=16,
                          max_position_embeddings=8192, tie_word_embeddings=True)
    else:
        cfg = Qwen3Config(vocab_size=vocab, hidden_size=2048, intermediate_size=6144, num_hidden_layers=28,
                          num_attention_heads=16, num_key_value_heads=8, head_dim=128,
                          max_position_embeddings=8192, tie_word_embeddings=True)
    model = Qwen3ForCausalLM(cfg).to(torch.bfloat16 if not tiny else torch.float32)  # CPU bf16 matmuls crawl
    model.config._attn_implementation = "sdpa"
    rng = random.Random(0)
    lengths = [min(4096, max(256, int(rng.lognormvariate(math.log(1400), 0.6)))) for _ in range(1200)]
    seqs = [[rng.randrange(100, vocab) for _ in range(n)] for n in lengths]
    return tok, cfg, model, seqs


def trl_packed_batches(model, tok, seqs, n_batches: int, row: int) -> list[dict]:
    """The batches TRL's SFTTrainer feeds in the anchor's `packing` mode, in the Trainer's order."""
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer
    ds = Dataset.from_dict({"input_ids": seqs})
    args = SFTConfig(output_dir="/tmp/train_bench_trl", max_steps=n_batches, per_device_train_batch_size=1,
                     packing=True, max_length=row, report_to=[], save_strategy="no",
                     bf16=torch.cuda.is_available(), use_cpu=not torch.cuda.is_available(),
                     learning_rate=1e-5, dataloader_num_workers=0)
    trainer = SFTTrainer(model=model, args=args, train_dataset=ds, processing_class=tok)
    out = []
    for batch in trainer.get_train_dataloader():
        out.append({k: v.cpu() for k, v in batch.items() if k in ("input_ids", "labels", "position_ids")})
        if len(out) == n_batches:
            break
    del trainer
    return out


def documents_of(batch: dict) -> tuple[list[list[int]], list[list[int]]]:
    ids, lab = batch["input_ids"][0].tolist(), batch["labels"][0].tolist()
    starts = [i for i, p in enumerate(batch["position_ids"][0].tolist()) if p == 0] + [len(ids)]
    return ([ids[a:b] for a, b in zip(starts, starts[1:])], [lab[a:b] for a, b in zip(starts, starts[1:])])


def rows_of(batches, length: int, pad_id: int, pin: bool):
    """Fixed-length rows; for rows longer than TRL's, consecutive TRL rows are joined (more docs per row)."""
    from elab_hpc.train.throughput import pack_row
    rows, docs, labs = [], [], []
    for b in batches:
        d, l = documents_of(b)
        if sum(map(len, docs)) + sum(map(len, d)) > length and docs:
            rows.append(pack_row(docs, length, pad_id, labels=labs))
            docs, labs = [], []
        docs, labs = docs + d, labs + l
    if docs:
        rows.append(pack_row(docs, length, pad_id, labels=labs))
    return [r.pin_memory() for r in rows] if pin else rows


# ---------------------------------------------------------------- helpers

def sync():
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def flops_per_token(cfg, n_params: int) -> float:
    return 6 * n_params + 12 * cfg.num_hidden_layers * cfg.hidden_size * 1400


def free_memory():
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def peak_gb() -> float | None:
    return round(torch.cuda.max_memory_allocated() / 2**30, 1) if torch.cuda.is_available() else None


def hf_loss(model, batch, device):
    """What TRL computes: the HF forward on the padding-free batch (sdpa + packed-sequence mask), mean loss."""
    model.config._attn_implementation = "sdpa"
    b = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
    return model(input_ids=b["input_ids"], position_ids=b["position_ids"], labels=b["labels"], use_cache=False).loss


def flat_grads(model) -> torch.Tensor:
    return torch.cat([p.grad.flatten().float() for p in model.parameters() if p.grad is not None])


# ---------------------------------------------------------------- 2b. correctness on the GPU

def gpu_check(model, batch, row, backends, device) -> dict:
    from elab_hpc.train.throughput import FastSFTOptions, FastSFTStep
    res = {}
    model.zero_grad(set_to_none=True)
    ref = hf_loss(model, batch, device)
    ref.backward()
    ref_g = flat_grads(model)
    model.zero_grad(set_to_none=True)
    res["hf_loss"] = ref.item()
    kept = {}
    for backend in backends:
        try:
            step = FastSFTStep(model, FastSFTOptions(attention=backend, compile=False, row_length=row.length))
            got = step.loss(row.to(device))
            got.backward()
            g = flat_grads(model)
            res[backend] = {"loss": got.item(), "loss_rel_err": abs(got.item() - ref.item()) / ref.item(),
                            "grad_rel_err": ((g - ref_g).norm() / ref_g.norm()).item()}
            # the same quantity between two fast backends: how far bf16 alone moves the gradient
            for other, og in kept.items():
                res[backend][f"grad_rel_err_vs_{other}"] = ((g - og).norm() / og.norm()).item()
            kept[backend] = g.to(torch.bfloat16)
            del step, g
        except Exception as exc:  # a backend missing on this torch is a result, not a crash
            res[backend] = {"error": f"{type(exc).__name__}: {exc}"[:500]}
        model.zero_grad(set_to_none=True)
    del ref_g, kept
    free_memory()
    return res


# ---------------------------------------------------------------- 3/4. timed runs

def timed_fast(model, rows, spec: dict, steps: int, warmup: int, total_steps: int, device, progress, label: str):
    from elab_hpc.train.throughput import FastSFTOptions, FastSFTStep
    opts = FastSFTOptions.from_dict({**spec, "row_length": rows[0].length, "total_steps": total_steps})
    step = FastSFTStep(model, opts)
    losses, norms, tokens = [], [], 0
    task = progress.add_task(label, total=warmup + steps)
    t_compile = time.perf_counter()
    t0 = None
    for i in range(warmup + steps):
        if i == warmup:
            sync()
            t0 = time.perf_counter()
            if i:
                t_compile = t0 - t_compile
        row = rows[i % len(rows)]
        loss, norm = step.step(row.to(device))
        losses.append(loss)
        norms.append(norm)
        if i >= warmup:
            tokens += row.n_real
        progress.advance(task)
    sync()
    dt = time.perf_counter() - t0
    out = {"tokens": tokens, "seconds": dt, "tokens_per_s": tokens / dt, "warmup_s": round(t_compile, 1),
           "losses": [x.item() for x in losses], "grad_norms": [x.item() for x in norms],
           "peak_mem_GB": peak_gb(), "options": {k: v for k, v in vars(opts).items() if k != "betas"}}
    del step
    return out


def timed_hf(model, batches, steps: int, warmup: int, device, progress, label: str, total_steps: int | None = None):
    """The HF/TRL forward and loss without the Trainer around it (no GC), fused AdamW: the reference path.

    With total_steps, the learning rate decays linearly to 0 over them, as in TRL and the fast step.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-5, weight_decay=0.0, fused=torch.cuda.is_available())
    model.train()
    tokens, t0, losses, norms = 0, None, [], []
    task = progress.add_task(label, total=warmup + steps)
    for i in range(warmup + steps):
        if i == warmup:
            sync()
            t0 = time.perf_counter()
        if total_steps:
            for group in opt.param_groups:
                group["lr"] = 1e-5 * max(0.0, 1.0 - i / total_steps)
        b = batches[i % len(batches)]
        loss = hf_loss(model, b, device)
        loss.backward()
        norms.append(torch.nn.utils.clip_grad_norm_(params, 1.0, foreach=True).detach())
        opt.step()
        opt.zero_grad(set_to_none=True)
        losses.append(loss.detach())
        if i >= warmup:
            tokens += b["input_ids"].numel()
        progress.advance(task)
    sync()
    dt = time.perf_counter() - t0
    del opt
    return {"tokens": tokens, "seconds": dt, "tokens_per_s": tokens / dt, "peak_mem_GB": peak_gb(),
            "losses": [x.item() for x in losses], "grad_norms": [x.item() for x in norms]}


# ---------------------------------------------------------------- 5. rollout generation

def bench_generate(model, vocab: int, batch_sizes, prompt_len: int, new_tokens: int, device) -> list[dict]:
    model.config._attn_implementation = "sdpa"
    model.eval()
    out = []
    g = torch.Generator().manual_seed(0)
    for bs in batch_sizes:
        try:
            ids = torch.randint(100, vocab, (bs, prompt_len), generator=g).to(device)
            mask = torch.ones_like(ids)
            kw = dict(attention_mask=mask, do_sample=True, pad_token_id=0, eos_token_id=None)
            with torch.no_grad():
                model.generate(ids, max_new_tokens=32, min_new_tokens=32, **kw)  # warm-up (allocator, kernels)
                sync()
                t0 = time.perf_counter()
                res = model.generate(ids, max_new_tokens=new_tokens, min_new_tokens=new_tokens, **kw)
                sync()
            dt = time.perf_counter() - t0
            gen = (res.shape[1] - prompt_len) * bs
            out.append({"batch": bs, "prompt_tokens": prompt_len, "new_tokens": new_tokens, "seconds": dt,
                        "episodes_per_s": bs / dt, "generated_tokens_per_s": gen / dt, "peak_mem_GB": peak_gb()})
        except Exception as exc:
            out.append({"batch": bs, "error": f"{type(exc).__name__}: {exc}"[:500]})
        free_memory()
    model.train()
    return out


# ---------------------------------------------------------------- main

def window_means(values: list[float], size: int) -> list[float]:
    return [sum(values[i:i + size]) / len(values[i:i + size]) for i in range(0, len(values), size)]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="where to write the results JSON")
    ap.add_argument("--tiny", action="store_true", help="CPU smoke run: tiny model, no anchor, eager variants only")
    ap.add_argument("--skip-anchor", action="store_true", help="do not run the TRL anchor (no ratios then)")
    ap.add_argument("--anchor-modes", default="default,packing", help="which anchor modes to run (comma-separated)")
    ap.add_argument("--anchor-default-steps", type=int, default=15, help="STEPS for the anchor's default mode")
    ap.add_argument("--anchor-packing-steps", type=int, default=30,
                    help="STEPS for the anchor's packing mode; the fast run uses as many, for the loss curves")
    ap.add_argument("--headline", default="compiled_flex_fused,compiled_varlen_fused,eager_flex_full",
                    help="variants to try, in order, for the loss-curve run (first whose backend passed the check)")
    ap.add_argument("--variants", default="all", help="comma-separated names from: " + ", ".join(VARIANTS))
    ap.add_argument("--steps", type=int, default=8, help="timed steps per variant")
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps per variant (compilation happens here)")
    ap.add_argument("--generate", default="32,64", help="batch sizes for the rollout generation figure ('' to skip)")
    ap.add_argument("--budget-s", type=float, default=1e9, help="skip remaining variants past this many seconds")
    args = ap.parse_args(argv)
    t_start = time.time()
    torch._dynamo.config.cache_size_limit = 64
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    result: dict = {"benchmark": "sft_throughput", "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
                    "machine": machine(), "peak_flops": PEAK_FLOPS}
    out_path = Path(args.out)
    out_path.parent.mkdir(parents=True, exist_ok=True)

    def save():
        result["wall_s"] = round(time.time() - t_start, 1)
        out_path.write_text(json.dumps(result, indent=1))

    # 1. plain TRL, before this process takes the GPU
    anchors = {}
    if not (args.tiny or args.skip_anchor):
        modes = [m for m in args.anchor_modes.split(",") if m]
        if set(modes) - {"default", "packing"}:
            raise SystemExit(f"--anchor-modes: unknown mode(s) {sorted(set(modes) - {'default', 'packing'})}")
        for mode, steps in (("default", args.anchor_default_steps), ("packing", args.anchor_packing_steps)):
            if mode not in modes:
                continue
            console.print(f"[bold]anchor[/] sft_trl_baseline.py {mode} STEPS={steps}")
            anchors[mode] = run_anchor(mode, steps, timeout=400)
            console.print({k: v for k, v in anchors[mode].items() if k not in ("logs", "error_tail")})
            if "error_tail" in anchors[mode]:
                console.print(anchors[mode]["error_tail"][-1500:])
        result["anchor"] = anchors
        save()

    # 2. the anchor's model and data
    tok, cfg, model, seqs = build_model_and_data(args.tiny)
    n_params = sum(p.numel() for p in model.parameters())
    fpt = flops_per_token(cfg, n_params)
    result["model"] = {"params": n_params, "layers": cfg.num_hidden_layers, "hidden": cfg.hidden_size,
                       "vocab": cfg.vocab_size, "flops_per_token": fpt,
                       "init_checksum": float(model.model.layers[0].mlp.down_proj.weight.detach().float().sum())}
    row_len = 8192 if not args.tiny else 1024        # the anchor's packing row (MB=4 * 2048)
    n_batches = max(args.anchor_packing_steps, args.steps + args.warmup) + 2
    batches = trl_packed_batches(model, tok, seqs if not args.tiny else seqs[:100], n_batches, row_len)
    model.to(device)
    pad = tok.pad_token_id
    rows = rows_of(batches, row_len, pad, pin=device.type == "cuda")
    fill = sum(r.n_real for r in rows) / (len(rows) * row_len)
    result["data"] = {"trl_batches": len(batches), "row_length": row_len, "fill": round(fill, 4),
                      "docs_per_row": round(sum(len(r.doc_lengths) for r in rows) / len(rows), 2)}
    backends = ["sdpa_docs"] if args.tiny else ["flex", "varlen", "sdpa_docs"]
    console.print("[bold]check[/] HF/TRL loss vs fast backends on TRL's first packed row")
    result["gpu_check"] = gpu_check(model, batches[0], rows[0], backends, device)
    console.print(result["gpu_check"])
    save()

    def mk(name, run):
        r = {"name": name, **run}
        r["tokens_per_s"] = round(r["tokens_per_s"])
        r["mfu"] = round(r["tokens_per_s"] * fpt / PEAK_FLOPS, 3)
        if "packing" in anchors and anchors["packing"].get("real_tokens_per_s"):
            r["x_trl_packing"] = round(r["tokens_per_s"] / anchors["packing"]["real_tokens_per_s"], 2)
        if "default" in anchors and anchors["default"].get("real_tokens_per_s"):
            r["x_trl_default"] = round(r["tokens_per_s"] / anchors["default"]["real_tokens_per_s"], 2)
        return r

    ok_backends = {b for b, v in result["gpu_check"].items() if isinstance(v, dict) and "loss" in v}
    with Progress(console=console, transient=False) as progress:
        # 3. the anchor's packed configuration, as many steps as the anchor's packing run
        headline = None
        for name in args.headline.split(","):
            spec = dict(VARIANTS[name])
            if args.tiny:
                spec.update(attention="sdpa_docs", compile=False)
            if spec.get("attention") in ok_backends:
                headline = name
                break
        if headline:
            try:
                steps = args.anchor_packing_steps
                # The anchor's init is unseeded (torch seeds each process at random), so its curve
                # differs from ours by the init too. For a same-init comparison, run TRL's own
                # forward/loss path first from these weights, then put them back for the fast step.
                init = [p.detach().clone() for p in model.parameters()]
                ref_run = timed_hf(model, batches, steps - 5, 5, device, progress, "loss run hf/trl path",
                                   total_steps=steps)
                with torch.no_grad():
                    for p, p0 in zip(model.parameters(), init):
                        p.copy_(p0)
                del init
                free_memory()
                run = timed_fast(model, rows, spec, steps - 5, 5, steps, device, progress, f"loss run {headline}")
                r = mk(headline if not args.tiny else f"{headline} as eager sdpa_docs (tiny)", run)
                r["loss_window_means"] = window_means(r["losses"], 5)
                r["grad_norm_at_window_end"] = r["grad_norms"][4::5]
                result["same_config"] = r
                trl_logs = anchors.get("packing", {}).get("logs", [])
                result["loss_curves"] = {"steps_per_point": 5, "trl_packing": [x.get("loss") for x in trl_logs],
                                         "fast": [round(x, 4) for x in r["loss_window_means"]],
                                         "trl_grad_norm": [x.get("grad_norm") for x in trl_logs],
                                         "fast_grad_norm": [round(x, 4) for x in r["grad_norm_at_window_end"]],
                                         "trl_note": "the anchor's own run: same data, optimizer and schedule; "
                                                     "its random init is unseeded, so not the same init",
                                         "same_init": {
                                             "hf_trl_path_losses": ref_run["losses"], "fast_losses": r["losses"],
                                             "hf_trl_path_grad_norms": ref_run["grad_norms"],
                                             "fast_grad_norms": r["grad_norms"],
                                             "max_abs_loss_diff": max(abs(a - b) for a, b in
                                                                      zip(ref_run["losses"], r["losses"])),
                                             "hf_trl_path_tokens_per_s": round(ref_run["tokens_per_s"])}}
                console.print(result["loss_curves"])
            except Exception as exc:
                result["same_config"] = {"name": headline, "error": traceback.format_exc()[-2000:]}
                console.print(f"[red]loss run failed[/]: {exc}")
            free_memory()
            save()

        # 4. variants
        names = list(VARIANTS) if args.variants == "all" else [n for n in args.variants.split(",") if n]
        result["variants"] = []
        gen_done = False
        for name in names:
            if name not in VARIANTS:
                raise SystemExit(f"--variants: unknown variant {name!r}; known: {', '.join(VARIANTS)}")
            spec = dict(VARIANTS[name])
            if spec.get("compile") and not gen_done and args.generate:
                # the rollout figure is cheap and must not be lost to a slow compile below
                result["generate"] = bench_generate(model, cfg.vocab_size, [int(x) for x in args.generate.split(",")],
                                                    512, 256 if not args.tiny else 16, device)
                console.print(result["generate"])
                gen_done = True
                save()
            if time.time() - t_start > args.budget_s:
                result["variants"].append({"name": name, "skipped": "time budget"})
                continue
            if args.tiny and (spec.get("compile") or spec.get("attention") in ("varlen", "flex")):
                result["variants"].append({"name": name, "skipped": "needs CUDA"})
                continue
            try:
                if spec.get("hf"):
                    run = timed_hf(model, batches, max(2, args.steps // 2), 2, device, progress, name)
                else:
                    length = spec.get("row_length", row_len)
                    vrows = rows if length == row_len else rows_of(batches, length, pad, pin=device.type == "cuda")
                    run = timed_fast(model, vrows, spec, args.steps, args.warmup, 1000, device, progress, name)
                    run.pop("grad_norms")
                result["variants"].append(mk(name, run))
            except Exception as exc:
                result["variants"].append({"name": name, "error": traceback.format_exc()[-2000:]})
                console.print(f"[red]{name} failed[/]: {type(exc).__name__}: {exc}")
            free_memory()
            save()
        if not gen_done and args.generate:
            result["generate"] = bench_generate(model, cfg.vocab_size, [int(x) for x in args.generate.split(",")],
                                                512, 256 if not args.tiny else 16, device)
    save()

    table = Table(title=f"SFT throughput, {result['machine'].get('card', 'CPU')}")
    for col in ("variant", "tok/s", "MFU", "x TRL packed", "peak GB", "warm-up s"):
        table.add_column(col)
    for mode, a in anchors.items():
        table.add_row(f"TRL anchor {mode}", str(a.get("real_tokens_per_s")), str(a.get("mfu_vs_989TF")), "",
                      str(a.get("peak_mem_GB")), "")
    rows_out = ([result["same_config"]] if "same_config" in result else []) + result["variants"]
    for v in rows_out:
        table.add_row(v["name"] + (" (loss run)" if v is result.get("same_config") else ""),
                      str(v.get("tokens_per_s", v.get("error", v.get("skipped", ""))))[-60:], str(v.get("mfu", "")),
                      str(v.get("x_trl_packing", "")), str(v.get("peak_mem_GB", "")), str(v.get("warmup_s", "")))
    console.print(table)
    for g in result.get("generate", []):
        console.print(g)
    console.print(f"wrote {out_path} ({result['wall_s']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
