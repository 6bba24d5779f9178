"""Supervised fine-tuning on trajectory records with TRL's SFTTrainer: messages + tools rendered
by a chat template with `{% generation %}` markers, loss on assistant tokens only, LoRA (PEFT) or
full fine-tuning, optional packing."""
from __future__ import annotations

from typing import List

from elab_hpc.train.arguments import common_args
from elab_hpc.train.config import TrainConfig, resolve_path
from elab_hpc.train.data import sft_dataset
from elab_hpc.train.models import load_model, load_tokenizer, model_path, peft_config


def sft_args(c: TrainConfig):
    from trl import SFTConfig

    return SFTConfig(
        **common_args(c),
        max_length=c.data.max_length,
        packing=c.data.packing,
        # bfd packing keeps sequences apart through position_ids (no cross-attention between them
        # with flash/flex attention kernels that read them)
        packing_strategy="bfd",
        assistant_only_loss=c.data.assistant_only_loss,
        dataset_num_proc=None,
    )


def build(c: TrainConfig, callbacks: List):
    from trl import SFTTrainer

    path = model_path(c)
    tok = load_tokenizer(c, path)
    train = sft_dataset(resolve_path(c.data.train), c.data.limit)
    model = load_model(c, path)
    return SFTTrainer(model=model, args=sft_args(c), train_dataset=train,
                      processing_class=tok, peft_config=peft_config(c, model), callbacks=callbacks)
