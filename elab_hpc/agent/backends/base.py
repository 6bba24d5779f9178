"""The one model interface every backend implements.

    outs = backend.generate(batch, tools, params)   # batch: list of OpenAI-style conversations
    outs[i].content, outs[i].tool_calls, outs[i].usage, outs[i].finish_reason

A conversation is a list of chat messages (`{"role", "content"}`, assistant `tool_calls`,
`role=tool` results) — the same records the trajectory files and TRL take. `tools` are OpenAI
function schemas (`ActionSchema.openai_tool()`); None for the ReAct scaffold, whose tools live in
the prompt text.
"""
from __future__ import annotations

import abc
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional

Message = Dict[str, Any]
Conversation = List[Message]
ToolSchema = Dict[str, Any]


@dataclass
class GenParams:
    max_new_tokens: int = 256
    temperature: float = 0.0  # 0 = greedy
    top_p: float = 1.0
    stop: List[str] = field(default_factory=list)  # cut the completion at the first of these
    seed: Optional[int] = None


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass
class ToolCall:
    """A tool call as the model asked for it. `arguments` is the parsed object, or None with
    `error` set when the model wrote something that is not a JSON object."""

    name: str
    arguments: Optional[Dict[str, Any]]
    id: str = ""
    raw_arguments: str = ""
    error: Optional[str] = None


@dataclass
class AssistantMessage:
    content: str
    tool_calls: List[ToolCall] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    finish_reason: str = "stop"  # stop | length | tool_calls
    # set when the model wrote tool-call markup that could not be read (fc scaffold's format error)
    format_error: Optional[str] = None

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)


class Backend(abc.ABC):
    """Batched chat generation. Implementations keep the output order of the input batch."""

    model_id: str = ""
    # whether a conversation may end in a partial assistant message that the model continues
    # (the reply then holds only the continuation)
    supports_prefill: bool = False
    tokenizer: Any = None  # for token counts of observations; None = ~4 chars per token

    @abc.abstractmethod
    def generate(self, batch: List[Conversation], tools: Optional[List[ToolSchema]] = None,
                 params: Optional[GenParams] = None) -> List[AssistantMessage]:
        ...

    def default_params(self) -> GenParams:
        cfg = getattr(self, "cfg", None)
        if cfg is None:
            return GenParams()
        return GenParams(max_new_tokens=cfg.max_new_tokens, temperature=cfg.temperature, top_p=cfg.top_p,
                         seed=cfg.seed)

    def close(self) -> None:
        """Release servers/engines/pools the backend holds (no-op by default)."""


def cut_at_stop(text: str, stop: List[str]) -> tuple[str, bool]:
    """`text` up to the first stop string (excluded); True when one was found."""
    cut = min((i for i in (text.find(s) for s in stop if s) if i >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)
