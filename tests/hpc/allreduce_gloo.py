"""A 2-process torch.distributed all-reduce over gloo, started by torchrun (one per node).

Each rank contributes rank + 1 and writes what it saw to <out_dir>/rank<R>.json, so the test
can check the sum and on which SLURM node each rank ran. Used by tests/hpc/test_sbatch.py
through sbatch/train_multinode.sbatch.
"""
import json
import os
import socket
import sys

import torch
import torch.distributed as dist


def main(out_dir: str) -> None:
    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    value = torch.tensor([float(rank + 1)])
    dist.all_reduce(value, op=dist.ReduceOp.SUM)
    record = {
        "rank": rank,
        "world_size": world,
        "sum": value.item(),
        "node": os.environ.get("SLURMD_NODENAME"),
        "node_id": os.environ.get("SLURM_NODEID"),
        "master": f"{os.environ['MASTER_ADDR']}:{os.environ['MASTER_PORT']}",
        "nvls": os.environ.get("NCCL_NVLS_ENABLE"),
        "host": socket.gethostname(),
    }
    with open(os.path.join(out_dir, f"rank{rank}.json"), "w") as f:
        json.dump(record, f)
    dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[sys.argv.index("--out") + 1])
