"""transformers in-process: left-padded batched `generate` on CPU or GPU, the chat template
applied with `tools=` (the bundled tool-aware ChatML when the model's own has no tool support),
tool calls read back from `<tool_call>` blocks."""
from __future__ import annotations

from typing import Any, List, Optional

from elab_hpc.agent import fc, templates
from elab_hpc.agent.backends.base import (AssistantMessage, Backend, Conversation, GenParams, ToolSchema,
                                          Usage, cut_at_stop)
from elab_hpc.agent.config import TINY, BackendConfig
from elab_hpc.errors import UserError


def resolve_model(name: str) -> str:
    """`tiny` → the bundled model's HF folder (materialized once); anything else as given."""
    if name == TINY:
        from elab_hpc.agent import tiny_model

        return str(tiny_model.materialize())
    return name


class HFBackend(Backend):
    supports_prefill = True
    def __init__(self, cfg: BackendConfig):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.cfg = cfg
        self.model_id = cfg.model
        if cfg.cpu_threads:
            torch.set_num_threads(cfg.cpu_threads)
        path = resolve_model(cfg.model)
        device = cfg.device
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise UserError(f"backend.device={cfg.device}: no CUDA device is visible here")
        dtype = {"auto": "auto", "float32": torch.float32, "bfloat16": torch.bfloat16,
                 "float16": torch.float16}[cfg.dtype]
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(path)
            self.model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype).to(device)
        except OSError as exc:
            raise UserError(f"backend.model={cfg.model}: cannot load it with transformers: {exc}") from None
        self.model.eval()
        self.device = device
        self.template = templates.apply(self.tokenizer, cfg.chat_template)
        self.tokenizer.padding_side = "left"  # decoder-only batches pad on the left
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token

    def render(self, conv: Conversation, tools: Optional[List[ToolSchema]]) -> str:
        return render_prompt(self.tokenizer, conv, tools)

    def generate(self, batch: List[Conversation], tools: Optional[List[ToolSchema]] = None,
                 params: Optional[GenParams] = None) -> List[AssistantMessage]:
        params = params or self.default_params()
        # batches of similar prompt length: left padding is compute the model spends for nothing
        sizes = [len(self.render(conv, tools)) for conv in batch]
        order = sorted(range(len(batch)), key=sizes.__getitem__)
        out: List[Optional[AssistantMessage]] = [None] * len(batch)
        for i in range(0, len(order), self.cfg.batch_size):
            idx = order[i:i + self.cfg.batch_size]
            for j, msg in zip(idx, self._generate([batch[j] for j in idx], tools, params)):
                out[j] = msg
        return out  # type: ignore[return-value]

    def _generate(self, batch: List[Conversation], tools: Optional[List[ToolSchema]],
                  params: GenParams) -> List[AssistantMessage]:
        import torch

        texts = [self.render(conv, tools) for conv in batch]
        enc = self.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(self.device)
        kw: dict[str, Any] = {"max_new_tokens": params.max_new_tokens, "pad_token_id": self.tokenizer.pad_token_id}
        if params.temperature > 0:
            kw.update(do_sample=True, temperature=params.temperature, top_p=params.top_p)
        else:
            kw.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        if params.stop:
            kw.update(stop_strings=list(params.stop), tokenizer=self.tokenizer)
        if params.seed is not None:
            torch.manual_seed(params.seed)
        with torch.no_grad():
            seqs = self.model.generate(**enc, **kw)
        prompt_len = enc["input_ids"].shape[1]
        eos = self.tokenizer.eos_token_id
        results = []
        for row, mask in zip(seqs, enc["attention_mask"]):
            gen = row[prompt_len:].tolist()
            ended = False
            if eos in gen:  # everything after the first end-of-turn is padding
                gen = gen[: gen.index(eos)]
                ended = True
            text = self.tokenizer.decode(gen, skip_special_tokens=True)
            text, stopped = cut_at_stop(text, params.stop)
            usage = Usage(prompt_tokens=int(mask.sum()), completion_tokens=len(gen) + (1 if ended else 0))
            results.append(to_message(text, usage, "stop" if ended or stopped else "length", bool(tools)))
        return results


def render_prompt(tokenizer: Any, conv: Conversation, tools: Optional[List[ToolSchema]]) -> str:
    """The prompt text; a conversation ending in an assistant message is continued (prefill)."""
    prefill = bool(conv) and conv[-1].get("role") == "assistant"
    return tokenizer.apply_chat_template(conv, tools=tools or None, tokenize=False,
                                         add_generation_prompt=not prefill, continue_final_message=prefill)


def to_message(text: str, usage: Usage, finish: str, with_tools: bool) -> AssistantMessage:
    """A completion's text as an AssistantMessage; `<tool_call>` blocks become tool_calls."""
    if not with_tools:
        return AssistantMessage(content=text, usage=usage, finish_reason=finish)
    content, calls, error = fc.parse_text(text)
    return AssistantMessage(content=content, tool_calls=calls, usage=usage,
                            finish_reason="tool_calls" if calls else finish, format_error=error)
