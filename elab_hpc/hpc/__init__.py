"""Everything that talks to SLURM: the single-host dev cluster (`devcluster`), submitit executors,
the stage DAG with manifests, checkpoint/requeue and Apptainer helpers. Knows nothing about agents."""
