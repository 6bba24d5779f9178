"""SLURM backend: sbatch parameters, partition checks via sinfo, the multi-node torchrun launcher."""
