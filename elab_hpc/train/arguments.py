"""The TrainingArguments every trainer shares (SFTConfig, DPOConfig and GRPOConfig extend them),
built from a TrainConfig."""
from __future__ import annotations

import os
from typing import Any, Dict

from elab_hpc.train.config import TrainConfig, resolve_path


def common_args(c: TrainConfig) -> Dict[str, Any]:
    o = c.optim
    cuda = c.device == "cuda"
    return dict(
        output_dir=c.output_dir,
        per_device_train_batch_size=o.batch_size,
        gradient_accumulation_steps=o.grad_accum,
        learning_rate=o.lr,
        num_train_epochs=o.epochs,
        max_steps=o.max_steps,
        warmup_steps=o.warmup_ratio,  # < 1: a fraction of the total steps
        weight_decay=o.weight_decay,
        lr_scheduler_type=o.scheduler,
        max_grad_norm=o.max_grad_norm,
        seed=o.seed,
        logging_steps=c.logging_steps,
        save_strategy="steps",
        save_steps=c.checkpoint.every_steps,
        save_total_limit=None,  # pruning is done by CheckpointPublisher (it keeps only good ones)
        use_cpu=not cuda,
        bf16=(cuda and c.model.dtype == "bfloat16") or c.model.mixed_precision == "bf16",
        fp16=cuda and c.model.dtype == "float16",
        # CPU workers talk over gloo; a single process gets no process group at all
        ddp_backend="gloo" if not cuda and int(os.environ.get("WORLD_SIZE", "1")) > 1 else None,
        deepspeed=str(resolve_path(c.deepspeed)) if c.deepspeed else None,
        gradient_checkpointing=c.model.gradient_checkpointing,
        report_to=[],
        dataloader_num_workers=0,
        disable_tqdm=True,  # progress is shown by a rich bar in interactive runs (launch.py)
    )
