"""Fast single-GPU SFT step (packing without cross-contamination, fused CE, compile) and its parts.

See benchmarks/train_bench.py for the throughput measurement against plain TRL, and
benchmarks/notes/train_throughput.md for what each lever bought.
"""
from elab_hpc.train.throughput.packing import IGNORE_INDEX, PackedRow, pack_row, row_from_trl_batch
from elab_hpc.train.throughput.step import FastSFTOptions, FastSFTStep

__all__ = ["IGNORE_INDEX", "PackedRow", "pack_row", "row_from_trl_batch", "FastSFTOptions", "FastSFTStep"]
