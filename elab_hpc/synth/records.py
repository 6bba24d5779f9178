"""Trajectory records for training: chat renderings, DPO pairs, JSONL and Parquet files.

A record (one JSON object per line) is the DESIGN contract:
  id, task {intent, category, checks, ...}, tools [openai_tool() schemas: the tools used plus
  distractors from the same apps], messages [OpenAI chat: system, user, assistant tool_calls,
  role=tool observations, final answer], messages_react [the same run as ReAct text], actions
  [{tool, args, ok, result|error}], final_state_hash, meta {source, shard, seed, ...}.

`messages` + `tools` are what TRL's SFTTrainer takes (it json-loads a string `tools` column, so
Parquet stores `tools` as a JSON string and `messages` as a nested list of structs). DPO pairs
are `prompt` (system + user) / `chosen` (the valid continuation) / `rejected` (a corrupted
continuation that was EXECUTED, so its observations are the arena's real errors and states).
"""
from __future__ import annotations

import json
import os
import random
import tempfile
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence

from elab_hpc.env.observation import normalize, render
from elab_hpc.errors import UserError
from elab_hpc.hpc.core.atomic import atomic_write_with, fsync_dir
from elab_hpc.synth.types import Step, Trajectory

SYSTEM_PROMPT = ("You are an enterprise assistant with access to the company's tools (code hosting, "
                 "project tracking, help desk, HR, CRM, finance, chat, mail, files). Complete the "
                 "user's request by calling tools, one call at a time, using the ids the tools return. "
                 "When the request is done, reply with a short final answer.")
REACT_FORMAT = ("Answer in this format. To call a tool:\n"
                "Thought: <your reasoning>\nAction: <tool name>\nAction Input: <JSON arguments>\n"
                "You will then receive \"Observation: <tool output>\". When the request is done:\n"
                "Thought: <your reasoning>\nANSWER: <final answer>")
JSON_COLUMNS = ("task", "tools", "actions", "meta", "diff", "validation")
CORRUPTIONS = ("wrong_tool", "wrong_arg", "skip_step")


# --------------------------------------------------------------------------- renderings

def call_id(traj_id: str, i: int) -> str:
    return f"call_{traj_id[-8:]}_{i}"


def observation_text(step: Step, budget: int = 512) -> str:
    """The tool output as the agent reads it: the normalized observation within `budget` tokens."""
    raw = step.result if step.ok else {"error": step.error}
    return render(normalize(raw, budget=budget, ok=step.ok))


def _first_thought(step: Step, registry: Any) -> str:
    action = registry[step.tool]
    desc = (action.description or "").strip().split("\n")[0].rstrip(".")
    return f"To start, I call {action.fn_name}" + (f" ({desc[:1].lower() + desc[1:]})." if desc else ".")


def step_thoughts(traj: Trajectory, registry: Any) -> List[str]:
    """One thought before each call: the composer's opening thought (else a generic one naming the
    tool) for the first, its pair thoughts for the others."""
    out = []
    for i, s in enumerate(traj.steps):
        th = traj.task.thoughts[i - 1] if 0 < i <= len(traj.task.thoughts) else traj.task.opening if i == 0 else ""
        out.append(th or (_first_thought(s, registry) if i == 0 else f"Next I call {registry[s.tool].fn_name}."))
    return out


def native_messages(traj: Trajectory, registry: Any, steps: Optional[Sequence[Step]] = None,
                    answer: Optional[str] = None, budget: int = 512, system: str = SYSTEM_PROMPT) -> List[Dict[str, Any]]:
    """OpenAI function-calling chat of `steps` (default: the trajectory's own)."""
    steps = traj.steps if steps is None else steps
    thoughts = step_thoughts(traj, registry)  # a corrupted run keeps the thoughts of its positions
    msgs: List[Dict[str, Any]] = [{"role": "system", "content": system},
                                  {"role": "user", "content": traj.task.intent}]
    for i, s in enumerate(steps):
        cid = call_id(traj.id, i)
        msgs.append({"role": "assistant", "content": thoughts[i] if i < len(thoughts) else "",
                     "tool_calls": [{"id": cid, "type": "function",
                                     "function": {"name": registry[s.tool].fn_name,
                                                  "arguments": json.dumps(s.args, ensure_ascii=False)}}]})
        msgs.append({"role": "tool", "tool_call_id": cid, "content": observation_text(s, budget)})
    msgs.append({"role": "assistant", "content": traj.task.answer if answer is None else answer})
    return msgs


def react_system(tools: Sequence[Dict[str, Any]]) -> str:
    lines = [SYSTEM_PROMPT, "", "Tools:"]
    for t in tools:
        f = t["function"]
        lines.append(f"- {f['name']}: {f['description'].strip().splitlines()[0] if f['description'] else ''} "
                     f"Parameters: {json.dumps(f['parameters'], ensure_ascii=False)}")
    return "\n".join(lines + ["", REACT_FORMAT])


def react_messages(traj: Trajectory, registry: Any, tools: Sequence[Dict[str, Any]],
                   budget: int = 512) -> List[Dict[str, Any]]:
    """The same run as ReAct text: assistant Thought/Action/Action Input, user Observation."""
    thoughts = step_thoughts(traj, registry)
    msgs: List[Dict[str, Any]] = [{"role": "system", "content": react_system(tools)},
                                  {"role": "user", "content": traj.task.intent}]
    for s, th in zip(traj.steps, thoughts):
        msgs.append({"role": "assistant", "content": f"Thought: {th}\nAction: {registry[s.tool].fn_name}\n"
                                                     f"Action Input: {json.dumps(s.args, ensure_ascii=False)}"})
        msgs.append({"role": "user", "content": f"Observation: {observation_text(s, budget)}"})
    msgs.append({"role": "assistant", "content": f"Thought: I have everything the request needs.\n"
                                                 f"ANSWER: {traj.task.answer}"})
    return msgs


def tool_schemas(traj: Trajectory, registry: Any, rng: random.Random, distractors: int = 4) -> List[Dict[str, Any]]:
    """openai_tool() of the used tools plus up to `distractors` other tools of the same apps, shuffled."""
    used = list(dict.fromkeys(traj.tools))
    apps = {registry[t].app for t in used}
    pool = sorted(a.name for a in registry if a.app in apps and a.name not in used)
    names = used + rng.sample(pool, min(distractors, len(pool)))
    rng.shuffle(names)
    return [registry[n].openai_tool() for n in names]


def build_record(traj: Trajectory, registry: Any, distractors: int = 4, budget: int = 512,
                 validation: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    rng = random.Random(traj.id)  # distractors depend on the trajectory only, not on the shard
    tools = tool_schemas(traj, registry, rng, distractors)
    rec = traj.to_record()
    rec["tools"] = tools
    rec["messages"] = native_messages(traj, registry, budget=budget)
    rec["messages_react"] = react_messages(traj, registry, tools, budget=budget)
    if validation is not None:
        rec["validation"] = validation
    return rec


# --------------------------------------------------------------------------- DPO pairs

def _sibling(registry: Any, step: Step, rng: random.Random) -> Optional[str]:
    a = registry[step.tool]
    same_app = sorted(x.name for x in registry if x.app == a.app and x.name != a.name)
    same_op = [n for n in same_app if registry[n].op == a.op]
    pool = same_op or same_app
    return rng.choice(pool) if pool else None


def _wrong_value(value: Any, schema: Dict[str, Any], rng: random.Random) -> Any:
    enum = schema.get("enum")
    if enum:
        others = [e for e in enum if e != value]
        if others:
            return rng.choice(others)
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 100000 + rng.randrange(1000)  # an id or amount nothing has
    if isinstance(value, float):
        return round(value * 7.3 + 1000.0, 2)
    if isinstance(value, str):
        if value.isdigit():
            return str(int(value) + 100000 + rng.randrange(1000))
        return value + " (old)" if rng.random() < 0.5 else "tmp-" + value[::-1][:24]
    return None


def corrupt(traj: Trajectory, registry: Any, kind: str, rng: random.Random) -> Optional[List[Dict[str, Any]]]:
    """The corrupted action list ([{tool, args}]) of `kind`, or None when it does not apply."""
    steps = traj.steps
    actions = [{"tool": s.tool, "args": dict(s.args)} for s in steps]
    k = rng.randrange(len(steps))
    if kind == "wrong_tool":
        other = _sibling(registry, steps[k], rng)
        if other is None:
            return None
        params = registry[other].params
        args = {p: v for p, v in steps[k].args.items() if p in params}
        actions[k] = {"tool": other, "args": args}
    elif kind == "wrong_arg":
        params = registry[steps[k].tool].params
        names = [p for p in steps[k].args if p in params]
        required = [p for p in names if params[p].required]
        if not names:
            return None
        p = rng.choice(required or names)
        bad = _wrong_value(steps[k].args[p], params[p].schema, rng)
        if bad is None or bad == steps[k].args[p]:
            return None
        actions[k] = {"tool": steps[k].tool, "args": {**steps[k].args, p: bad}}
    elif kind == "skip_step":
        del actions[k]
    else:
        raise ValueError(f"unknown corruption {kind!r}; known: {', '.join(CORRUPTIONS)}")
    return actions


def execute_actions(fresh: Any, registry: Any, actions: Sequence[Dict[str, Any]], checks: List[Dict[str, Any]],
                    answer: str) -> Dict[str, Any]:
    """Run actions in a fresh episode state (`fresh`: filters.FreshEpisodes): the executed Steps, the check results and the state hash."""
    from elab_hpc.env.checks import run_checks

    steps: List[Step] = []
    with fresh() as ep:
        for a in actions:
            native = registry[a["tool"]].to_native(a["args"])
            obs = ep.call(a["tool"], native)
            steps.append(Step(tool=a["tool"], args=a["args"], native_args=native, ok=obs.ok,
                              result=obs.result if obs.ok else None, error=None if obs.ok else obs.error))
        results = run_checks(checks, ep, answer)
        state = ep.state_hash()
    return {"steps": steps, "checks_passed": sum(r["passed"] for r in results), "state_hash": state}


def dpo_pair(traj: Trajectory, registry: Any, fresh: Any, rng: random.Random, budget: int = 512,
             tools: Optional[List[Dict[str, Any]]] = None, tries: int = 6) -> Optional[Dict[str, Any]]:
    """A preference pair whose rejected side was executed and is really worse: some check fails
    or the final state differs from the valid run's. None when no corruption tried qualifies."""
    for _ in range(tries):
        kind = rng.choice(CORRUPTIONS)
        actions = corrupt(traj, registry, kind, rng)
        if actions is None:
            continue
        run = execute_actions(fresh, registry, actions, traj.task.checks, traj.task.answer)
        worse = run["checks_passed"] < len(traj.task.checks) or run["state_hash"] != traj.final_state_hash
        if not worse:
            continue
        errors = [s.error for s in run["steps"] if not s.ok]
        # the corrupted agent still claims success: that claim is what makes it the rejected answer
        rejected = native_messages(traj, registry, steps=run["steps"], budget=budget)
        chosen = native_messages(traj, registry, budget=budget)
        return {"id": f"{traj.id}-{kind}", "prompt": chosen[:2], "chosen": chosen[2:], "rejected": rejected[2:],
                "tools": tools if tools is not None else [registry[t].openai_tool() for t in dict.fromkeys(traj.tools)],
                "meta": {"trajectory": traj.id, "corruption": kind, "rejected_errors": errors,
                         "rejected_checks_passed": run["checks_passed"], "checks_total": len(traj.task.checks),
                         "rejected_state_differs": run["state_hash"] != traj.final_state_hash}}
    return None


# --------------------------------------------------------------------------- files

def _dumps(rec: Dict[str, Any]) -> str:
    return json.dumps(rec, ensure_ascii=False, sort_keys=True, default=str)


def write_jsonl(path: str | Path, records: Iterable[Dict[str, Any]]) -> int:
    """Atomically (temp file + rename) write one JSON object per line; returns the count."""
    count = 0

    def writer(f):
        nonlocal count
        for rec in records:
            f.write((_dumps(rec) + "\n").encode())
            count += 1

    atomic_write_with(path, writer)
    return count


def read_jsonl(path: str | Path) -> Iterator[Dict[str, Any]]:
    p = Path(path)
    if not p.is_file():
        raise UserError(f"no such file: {p}")
    with p.open() as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                try:
                    yield json.loads(line)
                except ValueError as exc:
                    raise UserError(f"{p}:{n}: not valid JSON ({exc})") from None


def _message_type():
    import pyarrow as pa

    call = pa.struct([("id", pa.string()), ("type", pa.string()),
                      ("function", pa.struct([("name", pa.string()), ("arguments", pa.string())]))])
    return pa.struct([("role", pa.string()), ("content", pa.string()), ("tool_calls", pa.list_(call)),
                      ("tool_call_id", pa.string())])


def _arrow_messages(msgs: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    return [{"role": m["role"], "content": m.get("content"), "tool_calls": m.get("tool_calls"),
             "tool_call_id": m.get("tool_call_id")} for m in msgs]


def write_parquet(path: str | Path, records: Sequence[Dict[str, Any]]) -> int:
    """Parquet with `messages`/`messages_react` as nested chat columns (what `datasets` and TRL
    read as conversations) and the other nested fields as JSON strings (`tools` included: TRL
    json-loads it). Written to a temp file and renamed."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    msg = pa.list_(_message_type())
    cols: Dict[str, Any] = {
        "id": pa.array([r["id"] for r in records], pa.string()),
        "messages": pa.array([_arrow_messages(r["messages"]) for r in records], msg),
        "messages_react": pa.array([_arrow_messages(r.get("messages_react") or []) for r in records], msg),
        "final_state_hash": pa.array([r.get("final_state_hash") for r in records], pa.string()),
    }
    for c in JSON_COLUMNS:
        cols[c] = pa.array([json.dumps(r.get(c), ensure_ascii=False, sort_keys=True, default=str) for r in records],
                           pa.string())
    table = pa.table(cols)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=str(path.parent))
    os.close(fd)
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
    return len(records)
