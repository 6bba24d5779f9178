"""Records on disk → the `datasets.Dataset`s TRL's trainers take.

SFT rows keep the trajectory contract's `messages` + `tools` columns. Two normalisations make
them survive Arrow's column typing: `tools` is stored as a JSON string (TRL's SFTTrainer decodes
it) and tool-call `arguments` as JSON strings (OpenAI's own format; the chat template prints
them verbatim), so records with different tools or argument shapes share one schema.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional

from elab_hpc.errors import UserError

ROLES = ("system", "user", "assistant", "tool")


def read_jsonl(path: Path | str, limit: Optional[int] = None) -> List[Dict[str, Any]]:
    p = Path(path)
    if not p.is_file():
        raise UserError(f"records file not found: {p}")
    rows: List[Dict[str, Any]] = []
    with p.open() as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise UserError(f"{p}:{n}: not valid JSON: {exc}") from None
            if not isinstance(row, dict):
                raise UserError(f"{p}:{n}: a record must be a JSON object")
            rows.append(row)
            if limit and len(rows) >= limit:
                break
    if not rows:
        raise UserError(f"{p}: no records")
    return rows


def _norm_message(m: Dict[str, Any], where: str) -> Dict[str, Any]:
    role = m.get("role")
    if role not in ROLES:
        raise UserError(f"{where}: role '{role}' is not one of {', '.join(ROLES)}")
    out: Dict[str, Any] = {"role": role, "content": m.get("content") or ""}
    calls = m.get("tool_calls") or []
    if calls:
        norm = []
        for call in calls:
            fn = call.get("function", call)
            if "name" not in fn:
                raise UserError(f"{where}: tool call without a name: {call}")
            args = fn.get("arguments", {})
            norm.append({"type": "function", "function": {
                "name": fn["name"], "arguments": args if isinstance(args, str) else json.dumps(args)}})
        out["tool_calls"] = norm
    if role == "tool":
        out["content"] = m["content"] if isinstance(m.get("content"), str) else json.dumps(m.get("content"))
        if m.get("name"):
            out["name"] = m["name"]
    return out


def normalize_messages(messages: Any, where: str) -> List[Dict[str, Any]]:
    if not isinstance(messages, list) or not messages:
        raise UserError(f"{where}: 'messages' must be a non-empty list")
    return [_norm_message(m, f"{where}.messages[{i}]") for i, m in enumerate(messages)]


def sft_rows(records: Iterable[Dict[str, Any]], source: str = "records") -> List[Dict[str, Any]]:
    rows = []
    for i, rec in enumerate(records):
        where = f"{source}[{i}]"
        if "messages" not in rec:
            raise UserError(f"{where}: missing 'messages' (trajectory records need messages + tools)")
        msgs = normalize_messages(rec["messages"], where)
        if not any(m["role"] == "assistant" for m in msgs):
            raise UserError(f"{where}: no assistant message to train on")
        tools = rec.get("tools") or []
        rows.append({"messages": msgs, "tools": tools if isinstance(tools, str) else json.dumps(tools)})
    return rows


def sft_dataset(path: Path | str, limit: Optional[int] = None):
    from datasets import Dataset

    return Dataset.from_list(sft_rows(read_jsonl(path, limit), str(path)))


def dpo_rows(records: Iterable[Dict[str, Any]], source: str = "pairs") -> List[Dict[str, Any]]:
    """prompt/chosen/rejected rows; conversational (message lists) or plain strings."""
    rows = []
    for i, rec in enumerate(records):
        where = f"{source}[{i}]"
        missing = [k for k in ("prompt", "chosen", "rejected") if k not in rec]
        if missing:
            raise UserError(f"{where}: missing {missing} (DPO pairs need prompt, chosen, rejected)")
        if all(isinstance(rec[k], str) for k in ("prompt", "chosen", "rejected")):
            rows.append({k: rec[k] for k in ("prompt", "chosen", "rejected")})
            continue
        row = {k: normalize_messages(rec[k], f"{where}.{k}") for k in ("prompt", "chosen", "rejected")}
        if rec.get("tools"):
            row["tools"] = rec["tools"] if isinstance(rec["tools"], str) else json.dumps(rec["tools"])
        rows.append(row)
    return rows


def dpo_dataset(rows: List[Dict[str, Any]]):
    from datasets import Dataset

    if not rows:
        raise UserError("no DPO pairs: the pairs file is empty and mining found no task with both "
                        "a successful and a failed rollout")
    return Dataset.from_list(rows)
