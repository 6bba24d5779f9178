"""Model backends behind one batched interface (`base.Backend.generate`).

    backend = make_backend(BackendConfig(kind="hf", model="tiny"))
    outs = backend.generate([[{"role": "user", "content": "hi"}]])

`hf` (transformers in-process), `openai` (any compatible endpoint), `vllm` (offline engine,
optional extra). Each is imported only when chosen.
"""
from __future__ import annotations

from elab_hpc.agent.backends.base import (AssistantMessage, Backend, Conversation, GenParams, ToolCall,
                                          Usage)
from elab_hpc.agent.config import BackendConfig, check_backend


def make_backend(cfg: BackendConfig) -> Backend:
    check_backend(cfg)
    if cfg.kind == "hf":
        from elab_hpc.agent.backends.hf import HFBackend

        return HFBackend(cfg)
    if cfg.kind == "openai":
        from elab_hpc.agent.backends.openai import OpenAIBackend

        return OpenAIBackend(cfg)
    from elab_hpc.agent.backends.vllm import VLLMBackend

    return VLLMBackend(cfg)


__all__ = ["AssistantMessage", "Backend", "BackendConfig", "Conversation", "GenParams", "ToolCall", "Usage",
           "make_backend"]
