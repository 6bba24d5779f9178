"""Evaluation: task sources (tasks.py), rewards r1..r4 (rewards.py), metrics (metrics.py), error
analysis (errors.py), the oracle agent (oracle.py), sharded runs (run.py), reports (report.py),
config (config.py). CLI: `elab-hpc eval run|shard|aggregate|report|tasks`."""
