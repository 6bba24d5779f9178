"""Synthesized trajectories rendered exactly as the evaluator's ReAct scaffold shows episodes.

SFT only helps at evaluation time if the model trains on the prompts it will see there: the
runner's system prompt (`elab_hpc.agent.react.system_prompt` over every tool of the task's apps,
in registry order), the intent as the user turn, `Thought/Action/Action Input` assistant turns
with the registry's chat function names, and `Observation: ...` user turns normalised with the
same token budget and tokenizer. The rows carry no `tools` column: the ReAct scaffold lists the
tools in its system prompt, so the chat template must not render them a second time.
"""
from __future__ import annotations

import json
from typing import Any, Dict, Iterable, List, Optional, Sequence


def react_turn(thought: str, fn_name: str, args: Dict[str, Any]) -> str:
    return f"Thought: {thought}\nAction: {fn_name}\nAction Input: {json.dumps(args, ensure_ascii=False)}"


def eval_scaffold_row(rec: Dict[str, Any], registry: Any, agent_cfg: Any, tokenizer: Any) -> Optional[Dict[str, Any]]:
    """One trajectory record → {messages, tools: []} in the evaluator's ReAct form; None when a
    tool of the record is unknown to the registry (e.g. a changed environment)."""
    from elab_hpc.agent import react
    from elab_hpc.env.observation import normalize, render

    actions = rec["actions"]
    apps = set(rec["task"].get("apps") or [a["tool"].split(".", 1)[0] for a in actions])
    if agent_cfg.apps:
        apps = set(agent_cfg.apps)
    tools = [a.openai_tool() for a in registry if not apps or a.app in apps]
    thoughts = list(rec["task"].get("thoughts") or [])
    msgs: List[Dict[str, Any]] = [
        {"role": "system", "content": react.system_prompt(tools, agent_cfg.system_prompt)},
        {"role": "user", "content": rec["task"]["intent"]}]
    for i, a in enumerate(actions):
        if a["tool"] not in registry.actions:
            return None
        thought = thoughts[i] if i < len(thoughts) and thoughts[i] else f"I call {a['tool']} next."
        msgs.append({"role": "assistant", "content": react_turn(thought, registry[a["tool"]].fn_name, a["args"])})
        payload = a.get("result") if a.get("ok") else {"error": a.get("error")}
        obs = render(normalize(payload, budget=agent_cfg.obs_budget_tokens, tokenizer=tokenizer, ok=bool(a.get("ok"))))
        msgs.append({"role": "user", "content": react.observation_text(obs)})
    msgs.append({"role": "assistant",
                 "content": f"Thought: I have everything the request needs.\nANSWER: {rec['task']['answer']}"})
    return {"id": rec["id"], "messages": msgs, "tools": []}


def render_records(records: Iterable[Dict[str, Any]], registry: Any, agent_cfg: Any, tokenizer: Any,
                   max_tokens: int = 0) -> Dict[str, Any]:
    """All records → rows; rows longer than `max_tokens` (prompt + turns, 0 = no limit) are left
    out rather than truncated (a cut row would teach the model to stop mid-episode)."""
    rows, too_long, unknown = [], 0, 0
    for rec in records:
        row = eval_scaffold_row(rec, registry, agent_cfg, tokenizer)
        if row is None:
            unknown += 1
            continue
        if max_tokens:
            n = sum(len(tokenizer(m["content"])["input_ids"]) + 4 for m in row["messages"])
            if n > max_tokens:
                too_long += 1
                continue
        rows.append(row)
    return {"rows": rows, "dropped_too_long": too_long, "dropped_unknown_tool": unknown}


def select_tasks(tasks: Sequence[Dict[str, Any]], apps: Sequence[str], limit: int = 0) -> List[Dict[str, Any]]:
    """Tasks whose apps all lie in `apps` (empty = all), sorted by id, the first `limit`."""
    keep = [t for t in tasks if not apps or set(t.get("apps") or []) <= set(apps)]
    keep.sort(key=lambda t: str(t["id"]))
    return keep[:limit] if limit else keep
