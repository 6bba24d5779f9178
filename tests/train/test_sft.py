"""SFT with TRL's SFTTrainer on the real tiny model (SmolLM2-135M-Instruct, first 2 layers, CPU):
assistant-only labels, loss going down (full and LoRA + packing), published checkpoints, USR2 →
checkpoint → resume continuing the step count, and bad input rejected before anything runs."""
from __future__ import annotations

import json
import os
import signal
import threading
import time

import pytest

from elab_hpc.errors import ConfigError
from elab_hpc.hpc.checkpoint import CheckpointWarning
from elab_hpc.train.checkpointing import latest_good_checkpoint, read_metrics
from elab_hpc.train.config import load_train
from elab_hpc.train.launch import run_local

from .conftest import tiny_overrides


def losses(out) -> dict:
    return {r["step"]: r["loss"] for r in read_metrics(out) if "loss" in r}


def test_only_assistant_tokens_carry_labels(tmp_path, sft_records):
    from elab_hpc.train.sft import build

    cfg = load_train("sft_tiny", tiny_overrides(tmp_path / "o", **{"data.train": sft_records}), kind="sft")
    trainer = build(cfg, [])
    tok = trainer.processing_class
    row = trainer.train_dataset[0]
    # TRL turned the template's assistant mask into labels: -100 outside assistant turns
    ids, mask = row["input_ids"], [label != -100 for label in row["labels"]]
    assert [label for label, m in zip(row["labels"], mask) if m] == [t for t, m in zip(ids, mask) if m]
    trained = tok.decode([t for t, m in zip(ids, mask) if m])
    ignored = tok.decode([t for t, m in zip(ids, mask) if not m])
    # both assistant turns (the tool call and the final answer) with their end-of-turn tokens
    assert '<tool_call>\n{"name": "gitlab.create_issue"' in trained
    assert "Created issue #100 'Fix login bug 0' in web.<|im_end|>" in trained
    assert trained.count("<|im_end|>") == 2
    # system prompt with the tools, the user turn and the tool's output are not trained on
    for text in ("# Tools", "Open an issue 'Fix login bug 0' in the web project.", '"state": "opened"',
                 "<tool_response>"):
        assert text in ignored and text not in trained
    # and the collator hands exactly these labels to the model
    batch = trainer.data_collator([row])
    assert batch["labels"][0].tolist() == row["labels"]


def test_full_sft_reduces_the_loss_and_publishes_checkpoints(tmp_path, sft_records):
    out = tmp_path / "full"
    cfg = load_train("sft_tiny", tiny_overrides(out, **{"data.train": sft_records, "optim.max_steps": 4,
                                                      "optim.lr": 1e-3, "checkpoint.every_steps": 2}),
                     kind="sft")
    result = run_local(cfg, show_progress=False)
    assert result["status"] == "completed" and result["step"] == 4
    curve = losses(out)
    assert sorted(curve) == list(range(1, 5))
    assert curve[4] < 0.6 * curve[1], curve
    assert (out / "final" / "model.safetensors").is_file()
    assert latest_good_checkpoint(out).name == "checkpoint-4"

    # a corrupted newest checkpoint is skipped with a warning; the previous good one is used
    (out / "checkpoint-4" / "optimizer.pt").write_bytes(b"garbage")
    with pytest.warns(CheckpointWarning, match="checkpoint-4.*optimizer.pt"):
        assert latest_good_checkpoint(out).name == "checkpoint-2"


def test_lora_sft_with_packing_trains_only_the_adapter(tmp_path, sft_records):
    out = tmp_path / "lora"
    cfg = load_train("sft_tiny_lora", tiny_overrides(out, **{
        "data.train": sft_records, "optim.max_steps": 4, "optim.lr": 5e-3, "data.packing": "true",
        "checkpoint.every_steps": 4}), kind="sft")
    result = run_local(cfg, show_progress=False)
    assert result["status"] == "completed"
    curve = losses(out)
    assert curve[4] < curve[1], curve
    adapter = json.loads((out / "final" / "adapter_config.json").read_text())
    assert adapter["peft_type"] == "LORA" and adapter["r"] == 16
    assert not (out / "final" / "model.safetensors").exists()  # the base model is not duplicated


def test_bf16_mixed_precision_on_cpu_trains_with_float32_weights(tmp_path, sft_records):
    """model.mixed_precision=bf16: bf16 autocast (CPU too), weights and adapters stay float32."""
    import torch

    from elab_hpc.train.sft import build

    out = tmp_path / "bf16"
    cfg = load_train("sft_tiny_lora", tiny_overrides(out, **{
        "data.train": sft_records, "optim.max_steps": 4, "optim.lr": 5e-3, "model.mixed_precision": "bf16",
        "checkpoint.every_steps": 4}), kind="sft")
    trainer = build(cfg, [])
    assert trainer.args.bf16 and all(p.dtype == torch.float32 for p in trainer.model.parameters())
    result = run_local(cfg, show_progress=False)
    assert result["status"] == "completed"
    curve = losses(out)
    assert curve[4] < curve[1], curve
    with pytest.raises(ConfigError, match="model.mixed_precision: 'fp8'"):
        load_train("sft_tiny_lora", tiny_overrides(tmp_path / "p", **{"data.train": sft_records,
                                                                       "model.mixed_precision": "fp8"}), kind="sft")


def test_lora_on_the_last_layers_only_adapts_those_layers(tmp_path, sft_records):
    from elab_hpc.train.sft import build

    cfg = load_train("sft_tiny_lora", tiny_overrides(tmp_path / "o", **{
        "data.train": sft_records, "lora.last_layers": 1}), kind="sft")
    trainer = build(cfg, [])
    adapted = {n.split(".layers.")[1].split(".")[0] for n, p in trainer.model.named_parameters()
               if p.requires_grad}
    depth = trainer.model.config.num_hidden_layers
    assert adapted == {str(depth - 1)}, adapted
    with pytest.raises(ConfigError, match="last_layers"):
        load_train("sft_tiny_lora", tiny_overrides(tmp_path / "p", **{"data.train": sft_records,
                                                                       "lora.last_layers": -1}), kind="sft")


def test_usr2_checkpoints_and_the_rerun_resumes_the_step_count(tmp_path, sft_records):
    out = tmp_path / "pre"
    over = tiny_overrides(out, **{"data.train": sft_records, "optim.max_steps": 4, "checkpoint.every_steps": 10})
    cfg = load_train("sft_tiny", over, kind="sft")

    def signal_after_first_step():
        while not (out / "progress.json").exists():
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGUSR2)  # what SLURM's warning signal does to a worker

    threading.Thread(target=signal_after_first_step, daemon=True).start()
    first = run_local(cfg, show_progress=False)
    assert first["status"] == "preempted"
    k = first["step"]
    assert 1 <= k < 4 and latest_good_checkpoint(out).name == f"checkpoint-{k}"
    assert json.loads((out / "preempted.json").read_text())["step"] == k

    second = run_local(cfg, show_progress=False)
    assert second["status"] == "completed" and second["step"] == 4
    assert second["resumed_from"].endswith(f"checkpoint-{k}")
    steps = [r["step"] for r in read_metrics(out) if "loss" in r]
    assert steps == list(range(1, 5)), "the resumed run continues at k+1, it does not restart"


def test_bad_config_is_rejected_naming_the_key(tmp_path, sft_records):
    with pytest.raises(ConfigError, match="optim.lrr"):
        load_train("sft_tiny", [f"data.train={sft_records}", "optim.lrr=1"], kind="sft")
    with pytest.raises(ConfigError, match="data.train: file not found"):
        load_train("sft_tiny", ["data.train=/nonexistent.jsonl"], kind="sft")
    with pytest.raises(ConfigError, match="cluster: unknown profile 'h100'"):
        load_train("sft_tiny", [f"data.train={sft_records}", "cluster=h100"], kind="sft")
    with pytest.raises(ConfigError, match="is a 'sft' config"):
        load_train("sft_tiny", [f"data.train={sft_records}"], kind="dpo")
    with pytest.raises(ConfigError, match="model.dtype"):
        load_train("sft_tiny", [f"data.train={sft_records}", "model.dtype=fp8"], kind="sft")


@pytest.mark.slurm
def test_submit_with_an_unknown_partition_queues_nothing(devcluster, tmp_path, sft_records):
    from elab_hpc.train.launch import submit

    out = tmp_path / "never"
    cfg = load_train("sft_tiny", [f"output_dir={out}", f"data.train={sft_records}", "cluster=devcluster",
                                  "cluster_overrides=[partition=gpu_typo]"], kind="sft")
    with pytest.raises(ConfigError, match="gpu_typo"):
        submit(cfg)
    assert not out.exists()
