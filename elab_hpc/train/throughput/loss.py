"""Cross-entropy of the LM head without materialising the full [tokens, vocab] logits for backward.

`fused_linear_cross_entropy` computes, chunk by chunk of tokens, the logits (bf16 matmul as the
HF head does), the fp32 log-softmax loss (as HF's ForCausalLMLoss does after `.float()`), and the
gradients of both the hidden states and the head weight right away (the Liger-kernel idea, in
plain torch). Backward only scales the saved gradients. Peak extra memory is one chunk of logits.

`full_cross_entropy` is the plain reference: logits for every token, then F.cross_entropy.
Both return sum over targets / number of targets (TRL's `num_items_in_batch` normalisation).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from elab_hpc.train.throughput.packing import IGNORE_INDEX


def full_cross_entropy(hidden: torch.Tensor, weight: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    logits = (hidden @ weight.t()).float()
    n = (targets != IGNORE_INDEX).sum().clamp(min=1)
    return F.cross_entropy(logits, targets, ignore_index=IGNORE_INDEX, reduction="sum") / n


def _chunk_loss_and_grad(logits: torch.Tensor, targets: torch.Tensor, inv_n: torch.Tensor):
    """Loss sum of one chunk, and d(loss/n)/d(logits) in the logits' dtype; one fused pass when compiled."""
    x = logits.float()
    lse = torch.logsumexp(x, dim=-1)
    valid = targets != IGNORE_INDEX
    safe = torch.where(valid, targets, 0)
    picked = x.gather(1, safe[:, None]).squeeze(1)
    loss_sum = torch.where(valid, lse - picked, 0.0).sum()
    scale = valid.to(x.dtype) * inv_n
    grad = torch.exp(x - lse[:, None])
    vocab = torch.arange(x.shape[1], device=x.device)
    grad = torch.where(vocab[None, :] == safe[:, None], grad - 1.0, grad)  # softmax - one_hot, fused
    return loss_sum, (grad * scale[:, None]).to(logits.dtype)


_chunk_compiled = None


def _chunk_fn(device_type: str):
    global _chunk_compiled
    if device_type != "cuda":
        return _chunk_loss_and_grad
    if _chunk_compiled is None:
        _chunk_compiled = torch.compile(_chunk_loss_and_grad, dynamic=False)
    return _chunk_compiled


class _FusedLinearCrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(ctx, hidden, weight, targets, chunk_size):
        n = (targets != IGNORE_INDEX).sum().clamp(min=1)
        inv_n = 1.0 / n.to(torch.float32)
        fn = _chunk_fn(hidden.device.type)
        grad_hidden = torch.empty_like(hidden)
        grad_weight = torch.zeros(weight.shape, dtype=torch.float32, device=weight.device)
        total = torch.zeros((), dtype=torch.float32, device=hidden.device)
        for start in range(0, hidden.shape[0], chunk_size):
            h = hidden[start:start + chunk_size]
            loss_sum, g = fn(h @ weight.t(), targets[start:start + chunk_size], inv_n)
            total += loss_sum
            grad_hidden[start:start + chunk_size] = g @ weight
            grad_weight += (g.t() @ h).float()
        ctx.save_for_backward(grad_hidden, grad_weight)
        ctx.weight_dtype = weight.dtype
        return total * inv_n

    @staticmethod
    def backward(ctx, grad_out):
        grad_hidden, grad_weight = ctx.saved_tensors
        return (grad_hidden * grad_out.to(grad_hidden.dtype), (grad_weight * grad_out).to(ctx.weight_dtype),
                None, None)


def fused_linear_cross_entropy(hidden: torch.Tensor, weight: torch.Tensor, targets: torch.Tensor,
                               chunk_size: int = 2048) -> torch.Tensor:
    """hidden [N, H], weight [V, H] (the LM head), targets [N] with IGNORE_INDEX -> mean loss (scalar)."""
    return _FusedLinearCrossEntropy.apply(hidden, weight, targets, chunk_size)
