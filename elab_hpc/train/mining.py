"""Preference pairs mined from evaluation rollouts: for each task with at least one successful
and one failed episode, (shared prompt, successful continuation, failed continuation).

An episode record (EpisodeLog-like, one JSON object per line) needs `messages` and a task id
(`task_id`, or `task.id`, or `id`) and an outcome: `success` (bool), else `reward` (float,
success when >= `threshold`). `tools` is carried over when present. The prompt is the messages
before the first assistant turn (system + user), which all episodes of one task share."""
from __future__ import annotations

import itertools
from collections import defaultdict
from typing import Any, Dict, Iterable, List

from elab_hpc.errors import UserError


def _task_id(ep: Dict[str, Any], where: str) -> str:
    task = ep.get("task")
    tid = ep.get("task_id") or (task.get("id") if isinstance(task, dict) else None) or ep.get("id")
    if tid is None:
        raise UserError(f"{where}: no task id (task_id, task.id or id)")
    return str(tid)


def _success(ep: Dict[str, Any], threshold: float, where: str) -> bool:
    if "success" in ep:
        return bool(ep["success"])
    if "reward" in ep:
        return float(ep["reward"]) >= threshold
    raise UserError(f"{where}: no outcome (success or reward)")


def split_prompt(messages: List[Dict[str, Any]]) -> tuple[list, list]:
    first = next((i for i, m in enumerate(messages) if m.get("role") == "assistant"), None)
    if first is None or first == 0:
        return [], []
    return messages[:first], messages[first:]


def mine_pairs(episodes: Iterable[Dict[str, Any]], max_pairs_per_task: int = 4,
               threshold: float = 1.0) -> List[Dict[str, Any]]:
    groups: Dict[str, Dict[bool, list]] = defaultdict(lambda: {True: [], False: []})
    for i, ep in enumerate(episodes):
        where = f"episodes[{i}]"
        if "messages" not in ep:
            raise UserError(f"{where}: missing 'messages'")
        prompt, rest = split_prompt(ep["messages"])
        if not rest:
            continue  # nothing the policy said: no preference to learn
        groups[_task_id(ep, where)][_success(ep, threshold, where)].append((prompt, rest, ep))
    pairs = []
    for tid in sorted(groups):
        good, bad = groups[tid][True], groups[tid][False]
        for (p_good, chosen, ep), (p_bad, rejected, _) in itertools.islice(
                itertools.product(good, bad), max_pairs_per_task):
            if p_good != p_bad:
                continue  # different prompts (e.g. another system prompt): not a clean pair
            pair = {"task_id": tid, "prompt": p_good, "chosen": chosen, "rejected": rejected}
            if ep.get("tools"):
                pair["tools"] = ep["tools"]
            pairs.append(pair)
    return pairs
