"""Automatic error analysis: each FAILED episode gets one failure class (the first rule that
matches, in this order), with counts and a few examples per class.

  format_error          the model's output could not be parsed into a call or an answer most turns
                        (format errors in at least half the turns, or no call at all and some format error)
  domain_misselection   it called tools of apps the task does not involve, or tools that do not exist
                        (unknown_tool / ambiguous_tool), and reached fewer than all of the task's apps
  tool_parameter        a call was refused for its arguments (invalid_arguments, not_found,
                        payload_too_large) and the needed tool was never called successfully
  context_loss          it repeated an identical call, or ran out of context (token budget), i.e. it
                        lost track of what it had already done or read
  task_decomposition    right apps and valid calls, but gold steps are missing (stopped early) or the
                        plan diverged (extra writes, wrong order): the sub-task plan failed
  other                 none of the above (e.g. every step done but a value in the state/answer is wrong)

Input: the episode result dicts of `elab_hpc.eval.run` (they carry the task's gold tools/apps and
the episode's actions with ok/error codes).
"""
from __future__ import annotations

import json
from collections import Counter
from typing import Any, Dict, List, Mapping, Sequence

CLASSES = ("tool_parameter", "domain_misselection", "task_decomposition", "context_loss", "format_error", "other")
PARAM_CODES = {"invalid_arguments", "not_found", "payload_too_large"}
NAME_CODES = {"unknown_tool", "ambiguous_tool"}
READ_PREFIXES = ("get", "list", "search", "read", "find", "count", "browse", "describe", "soql", "query")


def _code(action: Mapping[str, Any]) -> str:
    err = action.get("error")
    return str(err.get("code")) if isinstance(err, dict) else ""


def _app(tool: str) -> str:
    return tool.split(".", 1)[0] if "." in tool else tool.split("__", 1)[0]


def _is_read(tool: str) -> bool:
    name = tool.split(".", 1)[-1].replace("zammad_", "")
    return name.startswith(READ_PREFIXES)


def classify(result: Mapping[str, Any]) -> Dict[str, str]:
    """{class, detail} for one failed episode result."""
    actions: List[Mapping[str, Any]] = list(result.get("actions") or [])
    gold: List[str] = list(result.get("gold_tools") or [])
    task_apps = set(result.get("apps") or {_app(t) for t in gold})
    turns = int(result.get("turns") or 0)
    fmt = int(result.get("format_errors") or 0)
    if fmt and (not actions or fmt * 2 >= max(turns, 1)):
        return {"class": "format_error", "detail": f"{fmt} format error(s) in {turns} turn(s), {len(actions)} call(s)"}
    called_apps = {_app(str(a.get("tool"))) for a in actions}
    foreign = sorted(called_apps - task_apps)
    unknown = [a for a in actions if _code(a) in NAME_CODES]
    if (foreign or unknown) and not task_apps <= {_app(str(a.get("tool"))) for a in actions if a.get("ok")}:
        what = f"apps {foreign}" if foreign else f"unknown tool {unknown[0].get('tool')!r}"
        return {"class": "domain_misselection", "detail": f"called {what}; the task needs {sorted(task_apps)}"}
    ok_tools = {str(a.get("tool")) for a in actions if a.get("ok")}
    bad_args = [a for a in actions if _code(a) in PARAM_CODES and str(a.get("tool")) not in ok_tools]
    if bad_args:
        a = bad_args[0]
        msg = (a.get("error") or {}).get("message", "")
        return {"class": "tool_parameter", "detail": f"{a.get('tool')}: {_code(a)}: {str(msg)[:120]}"}
    sigs = Counter(json.dumps([a.get("tool"), a.get("args")], sort_keys=True, default=str) for a in actions)
    repeated = [s for s, n in sigs.items() if n >= 2]
    if repeated or result.get("stop_reason") in ("token_budget", "repeated_failure"):
        why = f"repeated call {json.loads(repeated[0])[0]}" if repeated else f"stopped: {result.get('stop_reason')}"
        return {"class": "context_loss", "detail": why}
    missing = [t for t in dict.fromkeys(gold) if t not in ok_tools]
    extra_writes = [t for t in ok_tools if t not in gold and not _is_read(t)]
    if missing or extra_writes or (actions and result.get("stop_reason") == "max_turns"):
        parts = []
        if missing:
            parts.append(f"missing {missing[:3]}")
        if extra_writes:
            parts.append(f"extra writes {sorted(extra_writes)[:3]}")
        if not parts:
            parts.append("ran out of turns")
        return {"class": "task_decomposition", "detail": "; ".join(parts)}
    return {"class": "other", "detail": "; ".join(r.get("detail", "") for r in result.get("failed_checks") or [])[:200]
            or "all gold tools called, checks still fail"}


def analyze(results: Sequence[Mapping[str, Any]], examples: int = 3) -> Dict[str, Any]:
    """Counts, shares and examples per class over the failed episodes."""
    failed = [r for r in results if not r.get("success")]
    counts = {c: 0 for c in CLASSES}
    ex: Dict[str, List[Dict[str, str]]] = {c: [] for c in CLASSES}
    for r in failed:
        got = r.get("error_class") or classify(r)
        c = got["class"]
        counts[c] += 1
        if len(ex[c]) < examples:
            ex[c].append({"task_id": str(r.get("task_id")), "trial": str(r.get("trial", 0)),
                          "intent": str(r.get("intent", ""))[:160], "detail": got["detail"]})
    n = max(len(failed), 1)
    return {"failed": len(failed), "counts": counts, "shares": {c: counts[c] / n for c in CLASSES},
            "examples": ex}
