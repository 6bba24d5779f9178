"""Training on TRL (+ DeepSpeed): SFT, DPO and agentic GRPO, preemption-safe.

  config.py         TrainConfig (configs/train/*.yaml), strict loading and value checks
  data.py           trajectory records / DPO pairs → datasets (messages + tools contract)
  mining.py         DPO pairs from evaluation rollouts (success vs failure of one task)
  models.py         model/tokenizer (tiny model, layer truncation, chat template), LoRA config
  arguments.py      the TrainingArguments all trainers share
  sft.py, dpo.py, grpo.py   the three trainers (grpo: multi-turn arena rollout_func + token baseline)
  checkpointing.py  published checkpoints, resume from the latest good one, USR2 → save → stop
  launch.py         run here (or as a torchrun worker) / submit with sbatch/train_multinode.sbatch
"""
