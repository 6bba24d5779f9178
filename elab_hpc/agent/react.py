"""The ReAct text protocol: the prompt that teaches it and a parser that reads it.

The model writes

    Thought: I need the open issues first.
    Action: gitlab__list_issues
    Action Input: {"workspace_id": "3", "state": "opened"}

and gets `Observation: {...}` back as the next user turn, until it writes `ANSWER: ...`.
`parse()` never raises: it returns a ReactStep whose kind is `action`, `answer` or `error`
(the error text goes back to the model as an Observation and counts against format compliance).
Tolerated: code fences, text after the JSON, single quotes, trailing commas, `Action Input:` on the
next line, a missing Thought, and a hallucinated `Observation:` the model wrote itself.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from elab_hpc.agent.jsonish import loads_object

# a model that keeps going past its action invents the observation: cut there
STOP = ["\nObservation:", "Observation:"]
# labels may come in markdown bold: **Action:** or **Action**:
ANSWER = re.compile(r"(?:^|\n)\s*\**\s*(?:final\s+)?answer\s*\**\s*:\s*\**\s*(.*)", re.I | re.S)
ACTION = re.compile(r"(?:^|\n)\s*\**\s*Action\s*\**\s*:\s*\**\s*[`\"']?([A-Za-z0-9_.\-]+)", re.I)
ACTION_INPUT = re.compile(r"\**\s*Action[ _]Input\s*\**\s*:\s*\**\s*", re.I)
THOUGHT = re.compile(r"(?:^|\n)\s*Thought\s*:\s*(.*?)(?=\n\s*\**\s*(?:Action|ANSWER)|$)", re.I | re.S)

FORMAT_HELP = ("Reply with either\nThought: <reasoning>\nAction: <tool name>\nAction Input: <JSON object>\n"
               "or, when done,\nANSWER: <final answer>")


@dataclass
class ReactStep:
    kind: str  # action | answer | error
    thought: str = ""
    tool: Optional[str] = None
    args: Optional[Dict[str, Any]] = None
    answer: Optional[str] = None
    error: Optional[str] = None


def strip_hallucinated(text: str) -> str:
    """The model's turn without anything from a self-written `Observation:` on."""
    m = re.search(r"(?:^|\n)\s*Observation\s*:", text)
    return text[: m.start()] if m else text


def parse(text: Any, tool_names: Optional[List[str]] = None) -> ReactStep:
    """Read one model turn. `tool_names` (optional) makes an unknown tool a format error here
    instead of an environment error later."""
    if not isinstance(text, str):
        return ReactStep("error", error=f"expected text, got {type(text).__name__}")
    try:
        return _parse(strip_hallucinated(text), tool_names)
    except Exception as exc:  # the parser must never take an episode down
        return ReactStep("error", error=f"unreadable output ({type(exc).__name__}); {FORMAT_HELP}")


def _parse(text: str, tool_names: Optional[List[str]]) -> ReactStep:
    tm = THOUGHT.search(text)
    thought = tm.group(1).strip() if tm else ""
    am = ACTION.search(text)
    ans = ANSWER.search(text)
    # whichever comes first wins: an answer after an action belongs to a later turn
    if ans and (not am or ans.start() < am.start()):
        answer = ans.group(1).strip()
        if not answer:
            return ReactStep("error", thought=thought, error="ANSWER: is empty; " + FORMAT_HELP)
        return ReactStep("answer", thought=thought, answer=answer)
    if not am:
        if not text.strip():
            return ReactStep("error", error="empty reply; " + FORMAT_HELP)
        return ReactStep("error", thought=thought, error="no `Action:` and no `ANSWER:` found; " + FORMAT_HELP)
    tool = am.group(1).strip().rstrip(".")
    if tool_names is not None and tool not in tool_names:
        close = _closest(tool, tool_names)
        return ReactStep("error", thought=thought, tool=tool,
                         error=f"unknown tool '{tool}'" + (f"; did you mean '{close}'?" if close else "")
                         + " Use one of the tool names listed in the instructions.")
    rest = text[am.end():]
    im = ACTION_INPUT.search(rest)
    payload = rest[im.end():] if im else rest
    if "{" not in payload:
        if im and payload.strip() in ("", "{}", "none", "None", "null"):
            return ReactStep("action", thought=thought, tool=tool, args={})
        if not im:
            return ReactStep("error", thought=thought, tool=tool,
                             error="`Action:` without `Action Input:` (a JSON object); " + FORMAT_HELP)
    try:
        args = loads_object(payload)
    except ValueError as exc:
        return ReactStep("error", thought=thought, tool=tool,
                         error=f"Action Input is not a JSON object ({exc}); " + FORMAT_HELP)
    return ReactStep("action", thought=thought, tool=tool, args=args)


def _closest(name: str, names: List[str]) -> Optional[str]:
    import difflib

    m = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    return m[0] if m else None


def describe_tool(tool: Dict[str, Any], desc_chars: int = 200, listing: str = "json") -> str:
    """One tool as prompt text: name, description, then its arguments (`?` marks optional ones).
    listing=json: the arguments as a JSON object of types, so the listing looks like an Action
    Input, not a call; listing=signature: `name(arg, opt?): description` on one line."""
    fn = tool.get("function", tool)
    params = fn.get("parameters") or {}
    required = set(params.get("required") or [])
    args = {}
    for name, schema in (params.get("properties") or {}).items():
        typ = schema.get("type", "any") if isinstance(schema, dict) else "any"
        if isinstance(typ, list):
            typ = "|".join(str(t) for t in typ)
        args[name if name in required else name + "?"] = typ
    desc = " ".join((fn.get("description") or "").split())
    if len(desc) > desc_chars:  # cut at a word boundary
        cut = desc[:desc_chars].rsplit(" ", 1)[0].rstrip(",;:(")
        desc = cut + "…" if cut else ""
    if listing == "signature":
        return f"- {fn['name']}({', '.join(args)})" + (f": {desc}" if desc else "")
    return f"- {fn['name']}: {desc}\n  arguments: {json.dumps(args)}"


def example_action(tools: List[Dict[str, Any]]) -> List[str]:
    """An Action/Action Input pair built from the offered tools (small models copy the shape):
    the first tool without required arguments, else the first tool with placeholders."""
    if not tools:
        return ["Action: <tool name>", "Action Input: {}"]
    fns = [t.get("function", t) for t in tools]
    bare = [f for f in fns if not (f.get("parameters") or {}).get("required")]
    fn = (bare or fns)[0]
    args = {k: "..." for k in (fn.get("parameters") or {}).get("required") or []}
    return [f"Action: {fn['name']}", f"Action Input: {json.dumps(args)}"]


def system_prompt(tools: List[Dict[str, Any]], extra: Optional[str] = None, desc_chars: int = 200,
                  listing: str = "json") -> str:
    """The ReAct instructions: tools first, then the format and an example last (small models
    follow what they read last)."""
    lines = [extra.strip() + "\n"] if extra else []
    lines += ["You solve the user's request with these tools:"]
    lines += [describe_tool(t, desc_chars, listing) for t in tools]
    lines += ["",
              "Use this format:",
              "Thought: what to do next",
              "Action: one tool name from the list",
              "Action Input: the arguments as a JSON object",
              "You then get `Observation: <result>`. Repeat as needed. When you are done, write",
              "ANSWER: the final answer",
              "",
              "Example:",
              "Thought: I need to look this up first.",
              *example_action(tools)]
    return "\n".join(lines)


def observation_text(obs: Any) -> str:
    return "Observation: " + (obs if isinstance(obs, str) else json.dumps(obs, ensure_ascii=False, default=str))


def format_error_text(error: str) -> str:
    return observation_text(f"Format error: {error}")
