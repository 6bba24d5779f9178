"""vLLM's offline engine (`pip install elab-hpc[vllm]`, GPU nodes). Imported only when used, so
everything else works without it; without it, a clear UserError says what to install."""
from __future__ import annotations

from typing import List, Optional

from elab_hpc.agent.backends.base import AssistantMessage, Backend, Conversation, GenParams, ToolSchema, Usage
from elab_hpc.agent.backends.hf import render_prompt, resolve_model, to_message
from elab_hpc.agent.config import BackendConfig
from elab_hpc.errors import UserError

MISSING = ("backend.kind=vllm needs the vllm package, which is not installed here: install the "
           "extra (`pip install 'elab-hpc[vllm]'`, on a GPU node), or serve the model with "
           "`vllm serve` elsewhere and use backend.kind=openai with its base_url")


def import_vllm():
    try:
        import vllm  # noqa: F401
    except ImportError as exc:
        raise UserError(f"{MISSING} (import failed: {exc})") from None
    return vllm


class VLLMBackend(Backend):
    supports_prefill = True
    def __init__(self, cfg: BackendConfig):
        vllm = import_vllm()
        from elab_hpc.agent import templates

        self.cfg = cfg
        self.model_id = cfg.model
        self.llm = vllm.LLM(model=resolve_model(cfg.model), dtype=cfg.dtype, seed=cfg.seed)
        self.tokenizer = self.llm.get_tokenizer()
        self.template = templates.apply(self.tokenizer, cfg.chat_template)
        self._vllm = vllm

    def generate(self, batch: List[Conversation], tools: Optional[List[ToolSchema]] = None,
                 params: Optional[GenParams] = None) -> List[AssistantMessage]:
        params = params or self.default_params()
        sp = self._vllm.SamplingParams(max_tokens=params.max_new_tokens, temperature=params.temperature,
                                       top_p=params.top_p, stop=list(params.stop) or None, seed=params.seed)
        prompts = [render_prompt(self.tokenizer, c, tools) for c in batch]
        outs = self.llm.generate(prompts, sp, use_tqdm=False)
        results = []
        for o in outs:
            comp = o.outputs[0]
            usage = Usage(prompt_tokens=len(o.prompt_token_ids or []), completion_tokens=len(comp.token_ids))
            results.append(to_message(comp.text, usage, "length" if comp.finish_reason == "length" else "stop",
                                      bool(tools)))
        return results
