"""The scripted oracle agent: replays a task's gold actions with direct tool calls (no model, no
MCP round trip) and gives the task's reference answer. It scores 1.0 on a task exactly when the
task is solvable as written and its checks are right; `actions=` replays any other sequence (a
deliberately wrong one must fail the checks).

Its log has the EpisodeLog shape (messages, actions, answer, turns, tokens, timings,
format_errors, stop_reason), so rewards, metrics and reports treat it like any model.
"""
from __future__ import annotations

import json
import time
from typing import Any, Dict, List, Optional, Sequence

ORACLE_MODEL = "oracle"


def oracle_log(task: Dict[str, Any], session: Any, actions: Optional[Sequence[Dict[str, Any]]] = None,
               answer: Optional[str] = None) -> Dict[str, Any]:
    """Run `actions` (default: the gold actions) on `session` and return the episode log dict."""
    from elab_hpc.env.registry import fn_name

    t0 = time.perf_counter()
    steps = list(task.get("gold_actions") or []) if actions is None else list(actions)
    answer = task.get("answer", "") if answer is None else answer
    messages: List[Dict[str, Any]] = [{"role": "user", "content": task["intent"]}]
    done: List[Dict[str, Any]] = []
    for i, a in enumerate(steps):
        obs = session.call(fn_name(a["tool"]), dict(a.get("args") or {}))
        ok = bool(obs.get("ok"))
        rec = {"tool": obs.get("tool", a["tool"]), "args": a.get("args") or {}, "ok": ok}
        rec["result" if ok else "error"] = obs.get("result") if ok else obs.get("error")
        done.append(rec)
        call_id = f"call_{i}"
        messages.append({"role": "assistant", "content": "", "tool_calls": [
            {"id": call_id, "type": "function",
             "function": {"name": fn_name(a["tool"]), "arguments": json.dumps(a.get("args") or {})}}]})
        messages.append({"role": "tool", "tool_call_id": call_id,
                         "content": json.dumps(rec.get("result", {"error": rec.get("error")}), default=str)[:2000]})
    messages.append({"role": "assistant", "content": answer})
    elapsed = time.perf_counter() - t0
    return {"task_id": task["id"], "model": ORACLE_MODEL, "scaffold": "oracle", "intent": task["intent"],
            "messages": messages, "actions": done, "answer": answer, "turns": len(steps) + 1,
            "stop_reason": "answer", "format_errors": 0,
            "tokens": {"prompt": 0, "completion": 0, "context": 0},
            "timings": {"generate_s": 0.0, "tool_s": elapsed, "total_s": elapsed},
            "final_state_hash": session.state_hash()}
