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


def step_thoughts(rec: Dict[str, Any]) -> List[str]:
    """The synthesizer's thought per step, as written in its own ReAct rendering."""
    out = []
    for m in rec.get("messages_react") or []:
        first = (m.get("content") or "").split("\n", 1)[0]
        if m.get("role") == "assistant" and "\nAction:" in (m.get("content") or "") and first.startswith("Thought: "):
            out.append(first[len("Thought: "):])
    return out


def eval_scaffold_row(rec: Dict[str, Any], env: Any, agent_cfg: Any, tokenizer: Any) -> Optional[Dict[str, Any]]:
    """One trajectory record → {messages, tools: []} in the evaluator's ReAct form. The actions
    are replayed in a fresh episode of `env` (an agent Env, e.g. ArenaEnv), so every observation
    is byte for byte what the agent sees there (stored records have their JSON keys sorted).
    None when a tool is unknown to the environment or a replayed call disagrees with the record."""
    from elab_hpc.agent import react
    from elab_hpc.env.observation import normalize, render

    actions = rec["actions"]
    registry = env.registry
    # as the runner does: the task's apps, else the agent config's (empty = every tool)
    apps = list(rec["task"].get("apps") or agent_cfg.apps or [])
    if any(a["tool"] not in registry.actions for a in actions):
        return None
    thoughts = step_thoughts(rec)
    session = env.open(rec["task"], apps)
    try:
        msgs: List[Dict[str, Any]] = [
            {"role": "system", "content": react.system_prompt(session.tools, agent_cfg.system_prompt,
                                                                agent_cfg.tool_description_chars,
                                                                agent_cfg.tool_listing)},
            {"role": "user", "content": rec["task"]["intent"]}]
        for i, a in enumerate(actions):
            thought = thoughts[i] if i < len(thoughts) and thoughts[i] else f"I call {a['tool']} next."
            fn = registry[a["tool"]].fn_name
            msgs.append({"role": "assistant", "content": react_turn(thought, fn, a["args"])})
            live = session.call(fn, a["args"])
            if bool(live.get("ok")) != bool(a.get("ok")):
                return None
            payload = live.get("result") if live.get("ok") else {"error": live.get("error")}
            obs = render(normalize(payload, budget=agent_cfg.obs_budget_tokens, tokenizer=tokenizer,
                                   ok=bool(live.get("ok"))))
            msgs.append({"role": "user", "content": react.observation_text(obs)})
    finally:
        session.close()
    msgs.append({"role": "assistant",
                 "content": f"Thought: I have everything the request needs.\nANSWER: {rec['task']['answer']}"})
    return {"id": rec["id"], "messages": msgs, "tools": []}


def render_records(records: Iterable[Dict[str, Any]], env: Any, agent_cfg: Any, tokenizer: Any,
                   max_tokens: int = 0) -> Dict[str, Any]:
    """All records → rows; rows longer than `max_tokens` (prompt + turns, 0 = no limit) are left
    out rather than truncated (a cut row would teach the model to stop mid-episode)."""
    rows, too_long, unusable = [], 0, 0
    for rec in records:
        row = eval_scaffold_row(rec, env, agent_cfg, tokenizer)
        if row is None:
            unusable += 1
            continue
        if max_tokens:
            n = sum(len(tokenizer(m["content"])["input_ids"]) + 4 for m in row["messages"])
            if n > max_tokens:
                too_long += 1
                continue
        rows.append(row)
    return {"rows": rows, "dropped_too_long": too_long, "dropped_unreplayable": unusable}


def select_tasks(tasks: Sequence[Dict[str, Any]], apps: Sequence[str], limit: int = 0) -> List[Dict[str, Any]]:
    """Tasks whose apps all lie in `apps` (empty = all), sorted by id, the first `limit`."""
    keep = [t for t in tasks if not apps or set(t.get("apps") or []) <= set(apps)]
    keep.sort(key=lambda t: str(t["id"]))
    return keep[:limit] if limit else keep
