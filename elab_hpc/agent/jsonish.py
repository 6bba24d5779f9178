"""Lenient JSON-object reading for model output: code fences, trailing text after the object,
single quotes, trailing commas, Python literals (True/None). Raises ValueError when nothing
object-like can be read — never anything else."""
from __future__ import annotations

import ast
import json
import re
from typing import Any, Dict

FENCE = re.compile(r"```[a-zA-Z0-9_-]*\s*\n?(.*?)(?:```|$)", re.S)
TRAILING_COMMA = re.compile(r",\s*([}\]])")


def _balanced(text: str, start: int) -> str:
    """The `{...}` starting at `start`, matched across strings; the rest when unbalanced."""
    depth, quote, esc = 0, "", False
    for i in range(start, len(text)):
        ch = text[i]
        if quote:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == quote:
                quote = ""
            continue
        if ch in "\"'":
            quote = ch
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[start:i + 1]
    return text[start:]


def _attempts(candidate: str):
    yield candidate
    no_commas = TRAILING_COMMA.sub(r"\1", candidate)
    yield no_commas


def loads_object(text: str) -> Dict[str, Any]:
    if not isinstance(text, str):
        raise ValueError(f"expected text, got {type(text).__name__}")
    fenced = FENCE.search(text)
    body = fenced.group(1) if fenced else text
    start = body.find("{")
    if start < 0:
        raise ValueError("no JSON object found")
    candidate = _balanced(body, start)
    last = "no JSON object found"
    for cand in _attempts(candidate):
        try:
            obj: Any = json.loads(cand)
        except (ValueError, RecursionError) as exc:
            last = str(exc)
            try:  # single quotes, True/False/None, trailing commas: a Python literal
                obj = ast.literal_eval(cand)
            except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                obj = None
                # JSON literals inside a Python-style dict
                try:
                    obj = ast.literal_eval(re.sub(r"\btrue\b", "True", re.sub(r"\bfalse\b", "False",
                                                  re.sub(r"\bnull\b", "None", cand))))
                except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                    obj = None
            if obj is None:
                continue
        if isinstance(obj, dict):
            try:  # keys must be strings and values JSON-serializable (sets, bytes are not)
                return json.loads(json.dumps(obj))
            except (TypeError, ValueError, RecursionError) as exc:
                last = f"not JSON-serializable: {exc}"
                continue
        last = f"expected a JSON object, got {type(obj).__name__}"
    raise ValueError(last)
