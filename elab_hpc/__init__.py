"""elab-hpc: build enterprise AI agents on a SLURM cluster in one closed loop.

Areas (one folder each): ``env`` (tool registry), ``synth`` (trajectory synthesis),
``agent`` (scaffolds and model backends), ``eval`` (tasks, rewards, reports),
``train`` (SFT / DPO / GRPO), ``hpc`` (executors, stage pipeline, checkpoints, dev cluster).
The tool environment itself lives in the top-level ``arena`` package.
"""

__version__ = "0.1.0"
