"""Document-masked causal attention for packed rows, plugged into transformers' attention interface.

Every backend computes the same function: causal attention inside each document, nothing across
documents (no cross-contamination). They differ in how the boundaries reach the kernel:

- ``sdpa_docs``: one SDPA call per document (boundaries on the host); runs anywhere, not compilable.
- ``flex``: torch's flex_attention with a block-sparse document mask; whole blocks outside a
  document are skipped. Compiles with the model.
- ``varlen``: torch's flash-attention varlen kernel (``torch.nn.attention.varlen``) over cu_seqlens;
  CUDA only.

The model's layers receive what the backend needs through their ``attention_mask`` argument
(see :class:`DocumentMasks`), so the HF modules run unchanged.
"""
from __future__ import annotations

import inspect

import torch
import torch.nn.functional as F
from transformers import AttentionInterface

from elab_hpc.errors import ConfigError

BACKENDS = ("sdpa_docs", "flex", "varlen")


class DocLengths(tuple):
    """Host-side document lengths, handed to `sdpa_docs` as the layer's attention_mask."""


def sdpa_docs_attention(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
    if not isinstance(attention_mask, DocLengths):
        raise TypeError("sdpa_docs attention needs DocLengths as attention_mask")
    if query.shape[1] != key.shape[1]:
        # repeat the shared KV heads: SDPA's flash kernel does not take enable_gqa (it would fall back to math)
        rep = query.shape[1] // key.shape[1]
        key, value = key.repeat_interleave(rep, dim=1), value.repeat_interleave(rep, dim=1)
    outs = [F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=scaling)
            for q, k, v in zip(query.split(attention_mask, dim=2), key.split(attention_mask, dim=2),
                               value.split(attention_mask, dim=2))]
    return torch.cat(outs, dim=2).transpose(1, 2).contiguous(), None


_flex_compiled = None


def _flex():
    # flex_attention only runs fast compiled; inside an already compiled layer dynamo inlines it.
    global _flex_compiled
    from torch.nn.attention.flex_attention import flex_attention
    if _flex_compiled is None:
        _flex_compiled = torch.compile(flex_attention, dynamic=False)
    return _flex_compiled


def flex_attention_forward(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
    from torch.nn.attention.flex_attention import flex_attention
    # CPU: eager reference path (tests); inside a compiled layer dynamo traces flex_attention itself
    fn = _flex() if query.is_cuda and not torch.compiler.is_compiling() else flex_attention
    out = fn(query, key, value, block_mask=attention_mask, scale=scaling,
             enable_gqa=query.shape[1] != key.shape[1])
    return out.transpose(1, 2).contiguous(), None


def _varlen_kwargs() -> dict:
    from torch.nn.attention.varlen import varlen_attn
    params = inspect.signature(varlen_attn).parameters
    # torch 2.10/2.11 take is_causal; later versions express causality as window_size=(-1, 0)
    kw = {"is_causal": True} if "is_causal" in params else {"window_size": (-1, 0)}
    kw["_gqa"] = "enable_gqa" in params
    return kw


_VARLEN_KW: dict | None = None


def varlen_attention_forward(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
    global _VARLEN_KW
    from torch.nn.attention.varlen import varlen_attn
    if _VARLEN_KW is None:
        _VARLEN_KW = _varlen_kwargs()
    kw = dict(_VARLEN_KW)
    gqa = kw.pop("_gqa")
    t = query.shape[2]
    q = query[0].transpose(0, 1)                           # [T, H, D]
    k = key[0].transpose(0, 1)
    v = value[0].transpose(0, 1)
    if k.shape[1] != q.shape[1]:
        if gqa:
            kw["enable_gqa"] = True
        else:
            rep = q.shape[1] // k.shape[1]
            k, v = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)
    # max length = the row length: a static bound, so the compiled graph never depends on the data
    out = varlen_attn(q.contiguous(), k.contiguous(), v.contiguous(), attention_mask, attention_mask, t, t,
                      scale=scaling, **kw)
    return out.unsqueeze(0), None                          # [1, T, H, D]


_FUNCTIONS = {"sdpa_docs": sdpa_docs_attention, "flex": flex_attention_forward, "varlen": varlen_attention_forward}


def implementation_name(backend: str) -> str:
    """Register the backend with transformers and return the name to put in config._attn_implementation."""
    if backend not in _FUNCTIONS:
        raise ConfigError(f"attention: unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    name = f"elab_{backend}"
    AttentionInterface.register(name, _FUNCTIONS[backend])
    return name


class DocumentMasks:
    """Builds, per row, the attention_mask object a backend expects, into fixed buffers.

    Fixed buffers (updated in place) keep tensor identities stable, so compiled layers and the
    flex mask function never see a new object and never recompile.
    """

    def __init__(self, backend: str, length: int, max_docs: int, device, block_size: int = 128):
        if backend not in _FUNCTIONS:
            raise ConfigError(f"attention: unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
        self.backend, self.length, self.device, self.block_size = backend, length, torch.device(device), block_size
        self.doc_ids = torch.zeros(length, dtype=torch.int32, device=self.device)
        self.cu_seqlens = torch.zeros(max_docs + 1, dtype=torch.int32, device=self.device)
        doc = self.doc_ids

        def document_causal(b, h, q_idx, kv_idx):
            return (doc[q_idx] == doc[kv_idx]) & (q_idx >= kv_idx)

        self._mask_mod = document_causal

    def build(self, row):
        if self.backend == "sdpa_docs":
            return DocLengths(row.doc_lengths)
        if self.backend == "varlen":
            self.cu_seqlens.copy_(row.cu_seqlens, non_blocking=True)
            return self.cu_seqlens
        from torch.nn.attention.flex_attention import create_block_mask
        self.doc_ids.copy_(row.doc_ids, non_blocking=True)
        return create_block_mask(self._mask_mod, None, None, self.length, self.length, device=self.device,
                                 BLOCK_SIZE=self.block_size, _compile=self.device.type == "cuda")
