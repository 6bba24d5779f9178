"""Local backend: jobs are processes on this machine (submitit LocalExecutor)."""
