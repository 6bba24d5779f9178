#!/usr/bin/env python
"""The interconnect the DeepSpeed runs depend on, measured with their own collectives:

    torchrun --nproc_per_node=N benchmarks/multigpu_nccl.py

bf16 all-reduce, reduce-scatter and all-gather of 1.5e9 elements (the 1.5B model's gradients /
parameters, 3 GB), median of 5 after 2 warm-ups, timed with device events. Rank 0 prints
`RESULT {json}` with seconds and bus bandwidth (NCCL-tests convention: all-reduce moves
2(n-1)/n of the buffer per rank, reduce-scatter and all-gather (n-1)/n).
"""
import json
import os
import statistics

import torch
import torch.distributed as dist

os.environ.setdefault("NCCL_NVLS_ENABLE", "0")
local = int(os.environ.get("LOCAL_RANK", "0"))
torch.cuda.set_device(local)
dist.init_process_group("nccl", device_id=torch.device(f"cuda:{local}"))
n, rank = dist.get_world_size(), dist.get_rank()
numel = 1_500_000_000 // n * n
full = torch.randn(numel, dtype=torch.bfloat16, device="cuda")
shard = torch.empty(numel // n, dtype=torch.bfloat16, device="cuda")


def timed(fn) -> float:
    times = []
    for i in range(7):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        if i >= 2:
            times.append(start.elapsed_time(end) / 1e3)
    return statistics.median(times)


nbytes = numel * 2
res = {"gpus": n, "elements": numel, "bytes": nbytes}
t = timed(lambda: dist.all_reduce(full))
res["all_reduce_s"], res["all_reduce_busbw_GBps"] = round(t, 4), round(nbytes * 2 * (n - 1) / n / t / 1e9, 1)
t = timed(lambda: dist.reduce_scatter_tensor(shard, full))
res["reduce_scatter_s"], res["reduce_scatter_busbw_GBps"] = round(t, 4), round(nbytes * (n - 1) / n / t / 1e9, 1)
t = timed(lambda: dist.all_gather_into_tensor(full, shard))
res["all_gather_s"], res["all_gather_busbw_GBps"] = round(t, 4), round(nbytes * (n - 1) / n / t / 1e9, 1)
if rank == 0:
    print("RESULT " + json.dumps(res), flush=True)
dist.destroy_process_group()
