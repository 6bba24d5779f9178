"""Packed training rows of a fixed length, with the document boundaries each attention backend needs.

A row holds several documents back to back (TRL's BFD packing, or any list of token lists) and is
padded to a fixed length so that compiled kernels see one shape. Padding is its own document with
no loss targets, so it never attends to, or is attended by, a real document.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from elab_hpc.errors import ConfigError

IGNORE_INDEX = -100


@dataclass
class PackedRow:
    input_ids: torch.Tensor     # [1, T] int64
    position_ids: torch.Tensor  # [1, T] int64, restarting at 0 in every document
    targets: torch.Tensor       # [T] int64: the token position t must predict, IGNORE_INDEX where none
    doc_ids: torch.Tensor       # [T] int32: which document each position belongs to
    cu_seqlens: torch.Tensor    # [max_docs + 1] int32, the document starts then T repeated
    doc_lengths: tuple[int, ...]  # host copy of the document lengths, padding included
    n_real: int                 # tokens that are not padding (what throughput counts)
    n_targets: int              # positions with a loss target

    @property
    def length(self) -> int:
        return int(self.input_ids.shape[1])

    def to(self, device, non_blocking: bool = True) -> "PackedRow":
        move = dict(device=device, non_blocking=non_blocking)
        return PackedRow(self.input_ids.to(**move), self.position_ids.to(**move), self.targets.to(**move),
                         self.doc_ids.to(**move), self.cu_seqlens.to(**move), self.doc_lengths,
                         self.n_real, self.n_targets)

    def pin_memory(self) -> "PackedRow":
        return PackedRow(self.input_ids.pin_memory(), self.position_ids.pin_memory(),
                         self.targets.pin_memory(), self.doc_ids.pin_memory(), self.cu_seqlens.pin_memory(),
                         self.doc_lengths, self.n_real, self.n_targets)


def pack_row(documents: list[list[int]], length: int, pad_id: int, max_docs: int = 64,
             labels: list[list[int]] | None = None) -> PackedRow:
    """Pack whole documents into one row of exactly `length` tokens.

    The loss convention is TRL's padding-free one: every token but the first of its document is a
    target, predicted from the position before it; `labels` (same shape as `documents`, -100 to
    mask) narrows that further, e.g. to assistant tokens.
    """
    if not documents:
        raise ConfigError("pack_row: no documents given")
    lengths = [len(d) for d in documents]
    if min(lengths) < 1:
        raise ConfigError("pack_row: a document is empty")
    n_real = sum(lengths)
    if n_real > length:
        raise ConfigError(f"pack_row: documents hold {n_real} tokens, more than the row length {length}")
    pad = length - n_real
    doc_lengths = tuple(lengths) + ((pad,) if pad else ())
    if len(doc_lengths) > max_docs:
        raise ConfigError(f"pack_row: {len(doc_lengths)} documents (padding included) exceed max_docs={max_docs}")

    ids = torch.full((length,), pad_id, dtype=torch.int64)
    ids[:n_real] = torch.tensor([t for d in documents for t in d], dtype=torch.int64)
    lab = ids.clone()
    if labels is not None:
        if [len(x) for x in labels] != lengths:
            raise ConfigError("pack_row: labels must have the same lengths as documents")
        lab[:n_real] = torch.tensor([t for d in labels for t in d], dtype=torch.int64)
    lab[n_real:] = IGNORE_INDEX
    starts = torch.tensor([0, *lengths[:-1]], dtype=torch.int64).cumsum(0)
    lab[starts] = IGNORE_INDEX          # a document's first token has nothing before it in the document
    targets = torch.full((length,), IGNORE_INDEX, dtype=torch.int64)
    targets[:-1] = lab[1:]

    bounds = torch.tensor([0, *doc_lengths], dtype=torch.int64).cumsum(0)
    doc_ids = torch.repeat_interleave(torch.arange(len(doc_lengths), dtype=torch.int32),
                                      torch.tensor(doc_lengths))
    position_ids = torch.arange(length, dtype=torch.int64) - bounds[:-1].repeat_interleave(torch.tensor(doc_lengths))
    cu = torch.full((max_docs + 1,), length, dtype=torch.int32)
    cu[:len(bounds)] = bounds.to(torch.int32)
    return PackedRow(ids[None], position_ids[None], targets, doc_ids, cu, doc_lengths, n_real,
                     int((targets != IGNORE_INDEX).sum()))


def row_from_trl_batch(batch: dict, length: int, pad_id: int, max_docs: int = 64) -> PackedRow:
    """The padding-free batch of TRL's collator (input_ids, labels, position_ids; one row) as a fixed-length row."""
    if batch["input_ids"].shape[0] != 1:
        raise ConfigError("row_from_trl_batch: expected one packed row (per_device_train_batch_size=1)")
    ids = batch["input_ids"][0].tolist()
    lab = batch["labels"][0].tolist()
    starts = [i for i, p in enumerate(batch["position_ids"][0].tolist()) if p == 0] + [len(ids)]
    docs = [ids[a:b] for a, b in zip(starts, starts[1:])]
    labs = [lab[a:b] for a, b in zip(starts, starts[1:])]
    return pack_row(docs, length, pad_id, max_docs, labels=labs)
