"""Direct preference optimisation with TRL's DPOTrainer on pairs from synthesis (`dpo.jsonl`:
prompt/chosen/rejected) and/or pairs mined from evaluation rollouts (`data.mine_from`)."""
from __future__ import annotations

from typing import List

from elab_hpc.train.arguments import common_args
from elab_hpc.train.config import TrainConfig, resolve_path
from elab_hpc.train.data import dpo_dataset, dpo_rows, read_jsonl
from elab_hpc.train.mining import mine_pairs
from elab_hpc.train.models import load_model, load_tokenizer, model_path, peft_config


def pairs(c: TrainConfig) -> List[dict]:
    rows: List[dict] = []
    if c.data.train:
        rows += dpo_rows(read_jsonl(resolve_path(c.data.train), c.data.limit), c.data.train)
    if c.data.mine_from:
        mined = mine_pairs(read_jsonl(resolve_path(c.data.mine_from)), c.dpo.max_pairs_per_task)
        rows += dpo_rows([{k: v for k, v in p.items() if k != "task_id"} for p in mined], "mined")
    return rows


def dpo_args(c: TrainConfig):
    from trl import DPOConfig

    return DPOConfig(**common_args(c), beta=c.dpo.beta, loss_type=[c.dpo.loss_type],
                     max_length=c.data.max_length)


def build(c: TrainConfig, callbacks: List):
    from trl import DPOTrainer

    path = model_path(c)
    tok = load_tokenizer(c, path)
    model = load_model(c, path)
    return DPOTrainer(model=model, args=dpo_args(c), train_dataset=dpo_dataset(pairs(c)),
                      processing_class=tok, peft_config=peft_config(c, model), callbacks=callbacks)
