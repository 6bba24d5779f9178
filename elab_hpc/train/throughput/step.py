"""A fast SFT training step around an unchanged HF causal LM (Qwen3/Llama-style decoder).

It runs the model's own modules (embedding, rotary embedding, decoder layers, final norm, tied LM
head) with: document-masked attention over packed fixed-length rows (attention.py), the fused
linear cross-entropy (loss.py), optional per-layer torch.compile ("regional": the layers share one
compiled graph), fused AdamW, activation checkpointing on the first N layers only, and no
host-device synchronisation inside the step (loss and grad norm stay on the device).

The optimisation matches what TRL's SFTTrainer does by default (AdamW, linear decay to 0 without
warm-up, weight decay 0, gradient clipping at max_grad_norm), so the loss curve is comparable.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import torch
from torch.utils.checkpoint import checkpoint

from elab_hpc.errors import ConfigError
from elab_hpc.train.throughput.attention import BACKENDS, DocumentMasks, implementation_name
from elab_hpc.train.throughput.loss import full_cross_entropy, fused_linear_cross_entropy
from elab_hpc.train.throughput.packing import PackedRow

LOSSES = ("fused_linear", "full")


@dataclass
class FastSFTOptions:
    attention: str = "flex"          # one of attention.BACKENDS
    loss: str = "fused_linear"       # fused_linear | full
    compile: bool = True             # torch.compile each decoder layer
    fused_adamw: bool = True
    checkpoint_layers: int = 0       # activation checkpointing on the first N decoder layers
    ce_chunk: int = 2048
    row_length: int = 8192
    max_docs: int = 64
    lr: float = 1e-5
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    total_steps: int = 30            # length of the linear decay

    @classmethod
    def from_dict(cls, data: dict) -> "FastSFTOptions":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"fast SFT options: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        opts = cls(**data)
        opts.validate()
        return opts

    def validate(self) -> None:
        if self.attention not in BACKENDS:
            raise ConfigError(f"attention={self.attention!r}: choose one of {', '.join(BACKENDS)}")
        if self.loss not in LOSSES:
            raise ConfigError(f"loss={self.loss!r}: choose one of {', '.join(LOSSES)}")
        if self.compile and self.attention == "sdpa_docs":
            raise ConfigError("compile=True needs attention=flex or varlen (sdpa_docs loops over documents on the host)")
        for key in ("row_length", "max_docs", "ce_chunk", "total_steps"):
            if int(getattr(self, key)) < 1:
                raise ConfigError(f"{key}={getattr(self, key)!r}: must be >= 1")
        if self.checkpoint_layers < 0:
            raise ConfigError(f"checkpoint_layers={self.checkpoint_layers!r}: must be >= 0")


class FastSFTStep:
    """Owns the optimizer; `step(row)` does forward, backward, clip and AdamW update for one packed row."""

    def __init__(self, model, options: FastSFTOptions):
        options.validate()
        self.model, self.opt = model, options
        model.config._attn_implementation = implementation_name(options.attention)
        model.train()
        self.device = next(model.parameters()).device
        self.decoder = model.model
        n_layers = len(self.decoder.layers)
        if options.checkpoint_layers > n_layers:
            raise ConfigError(f"checkpoint_layers={options.checkpoint_layers}: the model has {n_layers} layers")
        self.layers = [torch.compile(layer, dynamic=False) if options.compile else layer
                       for layer in self.decoder.layers]
        self.masks = DocumentMasks(options.attention, options.row_length, options.max_docs, self.device)
        self.params = [p for p in model.parameters() if p.requires_grad]
        kw = {"fused": True} if options.fused_adamw else {"foreach": True}
        self.optimizer = torch.optim.AdamW(self.params, lr=options.lr, betas=options.betas, eps=options.eps,
                                           weight_decay=options.weight_decay, **kw)
        self.step_count = 0

    def loss(self, row: PackedRow) -> torch.Tensor:
        """Mean next-token loss over the row's targets (documents never see each other)."""
        if row.length != self.opt.row_length:
            raise ConfigError(f"row of {row.length} tokens; this step was built for row_length={self.opt.row_length}")
        mask = self.masks.build(row)
        hidden = self.decoder.embed_tokens(row.input_ids)
        rope = self.decoder.rotary_emb(hidden, row.position_ids)
        for i, layer in enumerate(self.layers):
            kw = dict(attention_mask=mask, position_ids=row.position_ids, position_embeddings=rope)
            if i < self.opt.checkpoint_layers:
                hidden = checkpoint(layer, hidden, use_reentrant=False, **kw)
            else:
                hidden = layer(hidden, **kw)
            if isinstance(hidden, tuple):  # older transformers return (hidden,)
                hidden = hidden[0]
        hidden = self.decoder.norm(hidden)[0]
        weight = self.model.lm_head.weight
        if self.opt.loss == "full":
            return full_cross_entropy(hidden, weight, row.targets)
        return fused_linear_cross_entropy(hidden, weight, row.targets, self.opt.ce_chunk)

    def step(self, row: PackedRow) -> tuple[torch.Tensor, torch.Tensor]:
        """One optimizer step; returns (loss, grad norm before clipping) as device tensors."""
        lr = self.opt.lr * max(0.0, 1.0 - self.step_count / self.opt.total_steps)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        loss = self.loss(row)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(self.params, self.opt.max_grad_norm, foreach=True)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.step_count += 1
        return loss.detach(), grad_norm.detach()
