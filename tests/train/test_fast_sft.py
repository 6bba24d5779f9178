"""CPU correctness of the fast SFT step (elab_hpc.train.throughput) on a tiny Qwen3 model.

The packed row's loss and gradients must equal those of the documents run one by one through
the unchanged HF model (no cross-contamination, same loss normalisation as TRL), and an
optimizer step must equal plain AdamW + clipping on that reference loss. No GPU is needed:
flex_attention runs its eager reference path on CPU; the `varlen` kernel is CUDA-only and is
checked against the same reference by benchmarks/train_bench.py on the GPU.
"""
from __future__ import annotations

import pytest
import torch

from elab_hpc.errors import ConfigError
from elab_hpc.train.throughput import IGNORE_INDEX, FastSFTOptions, FastSFTStep, pack_row, row_from_trl_batch
from elab_hpc.train.throughput.loss import full_cross_entropy, fused_linear_cross_entropy

transformers = pytest.importorskip("transformers")

VOCAB = 97
ROW = 96


def tiny_model(seed=0):
    torch.manual_seed(seed)
    cfg = transformers.Qwen3Config(vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                   num_attention_heads=4, num_key_value_heads=2, head_dim=16,
                                   max_position_embeddings=256, tie_word_embeddings=True)
    model = transformers.Qwen3ForCausalLM(cfg).to(torch.float64)
    model.config._attn_implementation = "eager"
    return model


def documents(seed=1, lengths=(17, 30, 5, 21)):
    g = torch.Generator().manual_seed(seed)
    return [torch.randint(3, VOCAB, (n,), generator=g).tolist() for n in lengths]


def reference_loss(model, docs):
    """Each document alone through the HF model; TRL's normalisation: sum over targets / number of targets."""
    total, count = 0.0, 0
    for d in docs:
        ids = torch.tensor([d])
        out = model(input_ids=ids, labels=ids)
        n = len(d) - 1
        total = total + out.loss * n
        count += n
    return total / count


def fast_loss(model, docs, **opts):
    step = FastSFTStep(model, FastSFTOptions(compile=False, row_length=ROW, **opts))
    return step.loss(pack_row(docs, ROW, pad_id=0))


def grads(model):
    return torch.cat([p.grad.flatten() for p in model.parameters()])


@pytest.mark.parametrize("attention", ["sdpa_docs", "flex"])
@pytest.mark.parametrize("loss", ["fused_linear", "full"])
def test_packed_loss_equals_per_document_loss(attention, loss):
    model, docs = tiny_model(), documents()
    with torch.no_grad():  # flex_attention has no CPU backward; its gradients are checked on the GPU bench
        ref = reference_loss(model, docs)
        got = fast_loss(model, docs, attention=attention, loss=loss, ce_chunk=40)
    # HF upcasts logits to float32 for the loss, so both sides agree to float32 rounding
    assert torch.allclose(got, ref, rtol=1e-6), (got.item(), ref.item())


@pytest.mark.parametrize("loss", ["fused_linear", "full"])
def test_packed_grads_equal_per_document_grads(loss):
    model, docs = tiny_model(), documents(seed=2, lengths=(40, 3, 33))
    ref = reference_loss(model, docs)
    ref.backward()
    ref_grads = grads(model)
    model.zero_grad(set_to_none=True)
    got = fast_loss(model, docs, attention="sdpa_docs", loss=loss, ce_chunk=40)
    got.backward()
    assert torch.allclose(got, ref, rtol=1e-6), (got.item(), ref.item())
    rel = (grads(model) - ref_grads).norm() / ref_grads.norm()
    assert rel < 1e-5, rel


def test_packed_loss_in_bf16_within_bf16_noise():
    model, docs = tiny_model(), documents(seed=5)
    ref = reference_loss(model, docs)
    model = model.to(torch.bfloat16)
    with torch.no_grad():
        got = fast_loss(model, docs, attention="flex")
    assert abs(got.item() - ref.item()) / ref.item() < 2e-2


def test_contamination_would_be_detected():
    # The same packed row without document masking (one causal sequence) gives another loss, so the
    # equality above is a real check of the document mask.
    model, docs = tiny_model(), documents()
    ref = reference_loss(model, docs).item()
    row = pack_row(docs, ROW, pad_id=0)
    ids = row.input_ids
    logits = model(input_ids=ids).logits[0]
    mixed = torch.nn.functional.cross_entropy(logits, row.targets, ignore_index=IGNORE_INDEX).item()
    assert abs(mixed - ref) > 1e-3


def test_fused_linear_ce_matches_full_ce_on_random_data():
    g = torch.Generator().manual_seed(3)
    hidden = torch.randn(70, 32, dtype=torch.float64, generator=g, requires_grad=True)
    weight = torch.randn(50, 32, dtype=torch.float64, generator=g, requires_grad=True)
    targets = torch.randint(0, 50, (70,), generator=g)
    targets[::7] = IGNORE_INDEX
    full = full_cross_entropy(hidden, weight, targets)
    gh, gw = torch.autograd.grad(full * 3.0, (hidden, weight))
    fused = fused_linear_cross_entropy(hidden, weight, targets, chunk_size=16)
    fh, fw = torch.autograd.grad(fused * 3.0, (hidden, weight))
    # both compute the softmax in float32, like HF's loss
    assert torch.allclose(fused, full, rtol=1e-6)
    assert torch.allclose(fh, gh, rtol=1e-5, atol=1e-7)
    assert torch.allclose(fw, gw, rtol=1e-5, atol=1e-7)


def test_optimizer_steps_match_adamw_on_reference_loss():
    docs_by_step = [documents(seed=s) for s in (11, 12, 13)]
    opts = dict(lr=1e-2, total_steps=3, max_grad_norm=0.5)

    ref_model = tiny_model()
    params = list(ref_model.parameters())
    adam = torch.optim.AdamW(params, lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    ref_losses = []
    for i, docs in enumerate(docs_by_step):
        for group in adam.param_groups:
            group["lr"] = 1e-2 * (1 - i / 3)
        loss = reference_loss(ref_model, docs)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 0.5)
        adam.step()
        adam.zero_grad()
        ref_losses.append(loss.item())

    start = [p.detach().clone() for p in tiny_model().parameters()]
    model = tiny_model()
    step = FastSFTStep(model, FastSFTOptions(compile=False, row_length=ROW, attention="sdpa_docs", fused_adamw=False, **opts))
    losses = [step.step(pack_row(docs, ROW, pad_id=0))[0].item() for docs in docs_by_step]
    assert losses == pytest.approx(ref_losses, rel=1e-6)
    # Adam divides by sqrt(v): where a gradient is ~0, float32-level loss rounding moves the update a
    # little, so compare the whole update, not each element
    moved = torch.cat([(a - s0).flatten() for a, s0 in zip(model.parameters(), start)])
    ref_moved = torch.cat([(b - s0).flatten() for b, s0 in zip(ref_model.parameters(), start)])
    assert ref_moved.norm() > 0
    assert (moved - ref_moved).norm() / ref_moved.norm() < 1e-3


def test_pack_row_layout_and_trl_batch_roundtrip():
    docs = [[5, 6, 7], [8, 9]]
    row = pack_row(docs, 8, pad_id=0, max_docs=4)
    assert row.input_ids.tolist() == [[5, 6, 7, 8, 9, 0, 0, 0]]
    assert row.position_ids.tolist() == [[0, 1, 2, 0, 1, 0, 1, 2]]
    # position t predicts token t+1 of the same document; never the next document's first token
    assert row.targets.tolist() == [6, 7, -100, 9, -100, -100, -100, -100]
    assert row.cu_seqlens.tolist() == [0, 3, 5, 8, 8]
    assert row.doc_lengths == (3, 2, 3) and row.n_real == 5 and row.n_targets == 3
    trl_batch = {"input_ids": torch.tensor([[5, 6, 7, 8, 9]]), "labels": torch.tensor([[-100, 6, 7, -100, 9]]),
                 "position_ids": torch.tensor([[0, 1, 2, 0, 1]])}
    again = row_from_trl_batch(trl_batch, 8, pad_id=0, max_docs=4)
    assert again.targets.tolist() == row.targets.tolist() and again.doc_lengths == row.doc_lengths


@pytest.mark.parametrize("bad, key", [
    ({"attention": "flash9"}, "attention"), ({"loss": "mse"}, "loss"), ({"rows": 3}, "rows"),
    ({"compile": True, "attention": "sdpa_docs"}, "compile"), ({"row_length": 0}, "row_length"),
])
def test_bad_options_name_the_key(bad, key):
    with pytest.raises(ConfigError, match=key):
        FastSFTOptions.from_dict(bad)


def test_overfull_row_is_refused():
    with pytest.raises(ConfigError, match="row length"):
        pack_row([[1] * 10, [2] * 10], 16, pad_id=0)
    with pytest.raises(ConfigError, match="max_docs"):
        pack_row([[1]] * 5, 16, pad_id=0, max_docs=4)
