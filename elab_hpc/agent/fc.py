"""Reading native tool calls: `<tool_call>{json}</tool_call>` blocks in a model's text (what the
bundled chat template teaches) and OpenAI `tool_calls` in an API response. Both give ToolCall
objects; unreadable markup becomes a format error, never an exception.

    content, calls, error = parse_text('ok <tool_call>{"name": "a__b", "arguments": {}}</tool_call>')
"""
from __future__ import annotations

import json
import re
import uuid
from typing import Any, Dict, List, Optional, Tuple

from elab_hpc.agent.backends.base import ToolCall
from elab_hpc.agent.jsonish import loads_object

TOOL_CALL = re.compile(r"<tool_call>(.*?)(?:</tool_call>|$)", re.S)


def new_call_id() -> str:
    return "call_" + uuid.uuid4().hex[:12]


def _from_obj(obj: Dict[str, Any], raw: str) -> ToolCall:
    fn = obj.get("function") if isinstance(obj.get("function"), dict) else obj
    name = fn.get("name")
    args = fn.get("arguments", fn.get("parameters", {}))
    if not isinstance(name, str) or not name:
        return ToolCall(name="", arguments=None, id=new_call_id(), raw_arguments=raw,
                        error="tool call without a string `name`")
    if isinstance(args, str):
        try:
            args = loads_object(args) if args.strip() else {}
        except ValueError as exc:
            return ToolCall(name=name, arguments=None, id=new_call_id(), raw_arguments=fn.get("arguments", ""),
                            error=f"arguments are not a JSON object: {exc}")
    if not isinstance(args, dict):
        return ToolCall(name=name, arguments=None, id=new_call_id(), raw_arguments=json.dumps(args, default=str),
                        error=f"arguments must be a JSON object, got {type(args).__name__}")
    return ToolCall(name=name, arguments=args, id=new_call_id(), raw_arguments=json.dumps(args, ensure_ascii=False))


def parse_text(text: str) -> Tuple[str, List[ToolCall], Optional[str]]:
    """(text outside the tool-call blocks, calls, format error or None)."""
    if "<tool_call>" not in text:
        return text.strip(), [], None
    calls: List[ToolCall] = []
    errors: List[str] = []
    for m in TOOL_CALL.finditer(text):
        raw = m.group(1).strip()
        try:
            obj = loads_object(raw)
        except ValueError as exc:
            errors.append(f"<tool_call> #{len(calls) + len(errors) + 1} is not a JSON object: {exc}")
            continue
        call = _from_obj(obj, raw)
        if call.error:
            errors.append(f"<tool_call> #{len(calls) + len(errors) + 1}: {call.error}")
        else:
            calls.append(call)
    content = TOOL_CALL.sub("", text).strip()
    return content, calls, ("; ".join(errors) if errors else None)


def parse_openai(tool_calls: Optional[List[Dict[str, Any]]]) -> Tuple[List[ToolCall], Optional[str]]:
    """OpenAI `message.tool_calls` (arguments as a JSON string) → ToolCalls and a format error."""
    calls: List[ToolCall] = []
    errors: List[str] = []
    for i, tc in enumerate(tool_calls or []):
        if not isinstance(tc, dict):
            errors.append(f"tool_calls[{i}] is not an object")
            continue
        call = _from_obj(tc, json.dumps(tc, default=str))
        call.id = tc.get("id") or call.id
        if call.error:
            errors.append(f"tool_calls[{i}]: {call.error}")
        else:
            calls.append(call)
    return calls, ("; ".join(errors) if errors else None)


def to_message_calls(calls: List[ToolCall]) -> List[Dict[str, Any]]:
    """ToolCalls as the OpenAI chat records stored in `messages` (arguments as a JSON string)."""
    return [{"id": c.id, "type": "function",
             "function": {"name": c.name, "arguments": json.dumps(c.arguments, ensure_ascii=False)}}
            for c in calls]
