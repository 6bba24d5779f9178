"""`elab-hpc train sft|dpo|grpo CONFIG [key=value ...]`: train here or submit to SLURM."""
from __future__ import annotations

import argparse
import json

DESCRIPTION = """\
Train a policy with TRL (+ DeepSpeed when `deepspeed=` names a config):

  sft   SFTTrainer on trajectory records (messages + tools), loss on assistant tokens only,
        LoRA (lora.enabled=true) or full fine-tuning, optional packing (data.packing=true)
  dpo   DPOTrainer on prompt/chosen/rejected pairs (data.train) and/or pairs mined from
        evaluation rollouts (data.mine_from: a successful and a failed episode of one task)
  grpo  GRPOTrainer; grpo.mode=agentic: every generation is a whole multi-turn episode in a
        fresh arena episode (observations masked out of the loss), reward = weighted r1..r4;
        grpo.mode=token: single-turn baseline without the environment

CONFIG is a YAML path or a name from configs/train/ (e.g. sft_tiny). Overrides are dotlist
key=value items; unknown keys are rejected before anything runs.

Where it runs:
  cluster=local (default)   here; under torchrun every worker is one rank
  cluster=devcluster|a100|h200
                            submitted with sbatch/train_multinode.sbatch: nodes=N nodes, one
                            torchrun per node with nproc_per_node workers; the job gets
                            --signal=B:USR2@grace and --requeue from the cluster profile

Checkpoints (checkpoint.every_steps) are published atomically in OUTPUT_DIR/checkpoint-N; a
rerun or a requeued job resumes from the newest intact one (model, optimizer, scheduler, RNG,
data position). On USR2 every rank checkpoints at the next step end and the run stops.

Examples:
  elab-hpc train sft sft_tiny data.train=runs/synth/train.jsonl
  elab-hpc train sft sft_tiny lora.enabled=true optim.max_steps=20
  elab-hpc train sft sft_tiny cluster=devcluster nodes=2 deepspeed=configs/deepspeed/zero2.json
  elab-hpc train sft sft_qwen3_8b_lora_h200 cluster=h200 nodes=2 nproc_per_node=8
  elab-hpc train dpo dpo_tiny data.mine_from=runs/eval/episodes.jsonl
  elab-hpc train grpo grpo_tiny grpo.num_generations=4"""


def register(subparsers, name: str, help_text: str) -> None:
    parser = subparsers.add_parser(name, help=help_text, description=DESCRIPTION,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    kinds = parser.add_subparsers(dest="train_kind", metavar="KIND")
    for kind, help_ in (("sft", "supervised fine-tuning (TRL SFTTrainer)"),
                        ("dpo", "preference optimisation (TRL DPOTrainer)"),
                        ("grpo", "agentic or token-level GRPO (TRL GRPOTrainer)")):
        p = kinds.add_parser(kind, help=help_, description=f"{help_}. See `elab-hpc train --help`.")
        p.add_argument("config", metavar="CONFIG", help="YAML path or name under configs/train/")
        p.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="config overrides")
        p.add_argument("--dry-run", action="store_true",
                       help="check the config (and, for a cluster, the request) and show what would run")
        p.set_defaults(func=_run, kind=kind)
    parser.set_defaults(func=lambda args: parser.print_help())


def _run(args) -> int:
    from elab_hpc.train.config import load_train
    from elab_hpc.train.launch import run_local, submit

    cfg = load_train(args.config, args.overrides, kind=args.kind)
    if cfg.cluster != "local":
        info = submit(cfg, dry_run=args.dry_run)
        if info["job_id"]:
            print(f"submitted {cfg.kind} run '{cfg.name}' to {cfg.cluster}: job {info['job_id']} "
                  f"({cfg.nodes} node(s) x {cfg.nproc_per_node} worker(s)); output in {cfg.output_dir}")
        else:
            print(json.dumps(info, indent=1))
        return 0
    if args.dry_run:
        from elab_hpc.train.config import as_dict

        print(json.dumps(as_dict(cfg), indent=1))
        return 0
    result = run_local(cfg)
    print(json.dumps(result))
    return 0


def main(argv=None) -> int:
    """`python -m elab_hpc.commands.train KIND CONFIG ...`: the same as `elab-hpc train` (what
    job workers run, independent of how the top-level CLI is wired)."""
    import sys

    from elab_hpc.errors import UserError

    parser = argparse.ArgumentParser(prog="elab-hpc")
    register(parser.add_subparsers(dest="command"), "train", "train a policy")
    args = parser.parse_args(["train", *(sys.argv[1:] if argv is None else argv)])
    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"elab-hpc: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
