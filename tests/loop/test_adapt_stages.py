"""Environment-change adaptation on the real arena and the real tiny model: the changed surface is
what the agent sees (evaluation) and what incremental synthesis writes, the test split's checks
stay valid there, and training continues from an earlier LoRA adapter."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from elab_hpc.adapt.surface import translate_actions
from elab_hpc.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
CHANGES = ROOT / "configs/adapt/default.yaml"
APPS = ["browser", "filesystem", "calendar", "invoice", "mail"]  # the quickstart's apps


@pytest.fixture(scope="module")
def applied():
    from arena import Arena
    from arena.core.surface import apply_surface

    from elab_hpc.adapt.drift import load_change

    _, got = apply_surface(Arena(seed=0, scale="small").world, load_change(CHANGES))
    return [a.to_dict() for a in got]


@pytest.fixture(scope="module")
def changed_env():
    from elab_hpc.agent.env_adapter import ArenaEnv

    return ArenaEnv(seed=0, scale="small", surface=str(CHANGES))


def _test_task(applied, kind):
    """A test-split task of the quickstart apps whose gold actions use a tool changed by `kind`."""
    from arena.tasks.suite import load_suite

    from elab_hpc.loop.scaffold import select_tasks

    changed = {a["tool"] for a in applied if a["kind"] == kind}
    return next(t for t in select_tasks(load_suite(split="test"), APPS)
                if any(g["tool"] in changed for g in t["gold_actions"]))


def test_a_world_of_fewer_apps_gets_the_same_changes(applied):
    from arena import Arena
    from arena.core.surface import apply_surface

    from elab_hpc.adapt.drift import load_change

    world = Arena(seed=0, scale="small", apps=APPS).world  # the apps and those they depend on
    _, sub = apply_surface(world, load_change(CHANGES))
    mine = sorted(json.dumps(a, sort_keys=True) for a in applied if a["tool"].split(".")[0] in world.apps)
    assert len(mine) < len(applied)
    assert sorted(json.dumps(a.to_dict(), sort_keys=True) for a in sub) == mine


def test_changed_env_serves_only_the_new_surface(applied, changed_env):
    from elab_hpc.agent.env_adapter import ArenaEnv

    base = ArenaEnv(seed=0, scale="small")
    renamed = next(a for a in applied if a["kind"] == "rename")
    assert renamed["tool"] in base.registry.actions and renamed["tool"] not in changed_env.registry.actions
    assert renamed["new_tool"] in changed_env.registry.actions
    reparam = next(a for a in applied if a["kind"] == "param_rename")
    assert reparam["new_param"] in changed_env.registry[reparam["new_tool"]].params
    assert changed_env.fingerprint != base.fingerprint  # episode caches never mix the two surfaces


def test_checks_stay_valid_gold_actions_must_follow_the_change(applied, changed_env):
    """The old gold actions fail on the changed surface; the same work written in the new one
    passes the task's unchanged state checks (so success still means the same thing)."""
    from elab_hpc.eval.oracle import oracle_log
    from elab_hpc.eval.tasks import ArenaSource

    for kind in ("rename", "param_rename"):
        task = _test_task(applied, kind)
        for actions, ok in ((task["gold_actions"], False), (translate_actions(task["gold_actions"], applied), True)):
            session = changed_env.open(task, task["apps"])
            try:
                log = oracle_log(task, session, actions=actions)
                checks = ArenaSource().check(task, session, log["answer"])
            finally:
                session.close()
            assert all(c["passed"] for c in checks) is ok, (kind, task["id"], ok, checks)


def test_tiny_model_is_evaluated_on_the_changed_surface(tmp_path, applied):
    """One test task, the real tiny model, one short turn: the prompt lists the new tool names."""
    from elab_hpc.eval.config import fingerprint, load_eval_config
    from elab_hpc.eval.run import run_shard

    task = _test_task(applied, "rename")
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text(json.dumps(task) + "\n")
    common = ["model=tiny", f"tasks=jsonl:{tasks}", "agent.scaffold=react", "agent.max_turns=1",
              "agent.backend.max_new_tokens=8", "agent.backend.cpu_threads=1", "trials=1", "ks=[1]", "bootstrap=0"]
    cfg = load_eval_config(None, common + [f"surface={CHANGES}", f"out_dir={tmp_path / 'ev'}"])
    assert fingerprint(cfg) != fingerprint(load_eval_config(None, common + [f"out_dir={tmp_path / 'ev'}"]))
    info = run_shard(cfg, 0, 1, show=False)
    assert info["episodes"] == 1
    logs = [json.loads(p.read_text()) for p in (tmp_path / "ev" / "cache").rglob("*.json")]
    system = next(m["content"] for lg in logs for m in lg.get("messages", []) if m["role"] == "system")
    renamed = [a for a in applied if a["kind"] == "rename" and a["tool"].split(".")[0] in task["apps"]]
    fn = lambda name: name.replace(".", "__")  # noqa: E731 - the registry's chat function names
    assert all(fn(a["new_tool"]) in system for a in renamed)
    assert not any(fn(a["tool"]) + "\n" in system or fn(a["tool"]) + ":" in system for a in renamed)
    with pytest.raises(ConfigError, match="surface"):
        load_eval_config(None, common + ["surface=no/such/changes.yaml"])


def test_incremental_synthesis_uses_the_changed_tools(applied):
    from elab_hpc.synth.run import ShardWorker, load_synth_config

    focus = sorted({a["new_tool"] for a in applied if a["tool"].split(".")[0] in APPS})
    cfg = load_synth_config(None, ["n=16", f"arena.apps=[{','.join(APPS)}]", f"arena.surface={CHANGES}",
                                   f"sampler.focus_tools=[{','.join(focus)}]"])
    got = ShardWorker(cfg).chunk(0, 16, 0)
    valid = [r for r in got["records"] if r["validation"]["valid"]]
    assert len(valid) >= 12, got["sampler"]
    used = [{a["tool"] for a in r["actions"]} for r in valid]
    assert all(u & set(focus) for u in used)  # every trajectory calls a changed tool
    old_names = {a["tool"] for a in applied if a["kind"] == "rename"}
    assert not set().union(*used) & old_names  # nothing of the old surface
    assert set().union(*used) & {a["new_tool"] for a in applied if a["kind"] == "rename"}


def test_translate_actions_writes_the_old_surface_in_the_new_one():
    applied = [{"tool": "a.x", "kind": "rename", "new_tool": "a.x_v2"},
               {"tool": "a.y", "kind": "param_rename", "new_tool": "a.y", "param": "id", "new_param": "id_ref"}]
    got = translate_actions([{"tool": "a.x", "args": {"id": 1}}, {"tool": "a.y", "args": {"id": 2, "k": 3}}], applied)
    assert got == [{"tool": "a.x_v2", "args": {"id": 1}}, {"tool": "a.y", "args": {"id_ref": 2, "k": 3}}]


def test_report_splits_the_drop_by_tasks_that_use_changed_tools(tmp_path, applied):
    """Real oracle episodes (gold actions of the old surface) on the old and the changed surface:
    the unaffected tasks keep their success, the affected ones lose some, and the report says so."""
    from arena.tasks.suite import load_suite

    from elab_hpc.adapt.report import compare, markdown
    from elab_hpc.eval.config import load_eval_config
    from elab_hpc.eval.run import run_shard
    from elab_hpc.loop.scaffold import select_tasks

    tasks = select_tasks(load_suite(split="test"), APPS)[:8]
    path = tmp_path / "tasks.jsonl"
    path.write_text("".join(json.dumps(t) + "\n" for t in tasks))
    results = {}
    for name, extra in (("baseline", []), ("before", [f"surface={CHANGES}"])):
        cfg = load_eval_config(None, ["model=oracle", f"tasks=jsonl:{path}", f"out_dir={tmp_path / name}",
                                      "bootstrap=0"] + extra)
        info = run_shard(cfg, 0, 1, show=False)
        results[name] = [json.loads(x) for x in Path(info["file"]).read_text().splitlines()]
    results["after"] = results["before"]  # no adaptation in this test: nothing recovered
    table = compare(results, {t["id"]: t for t in tasks}, {a["tool"] for a in applied})
    assert table["all"]["baseline"]["success"] == len(tasks)
    assert table["unaffected tasks"]["drop"] == 0.0
    assert table["uses changed tools"]["drop"] > 0 and table["all"]["recovered"] == 0.0
    n = table["uses changed tools"]["before"]["n"] + table["unaffected tasks"]["before"]["n"]
    assert n == len(tasks) == sum(row["before"]["n"] for k, row in table.items() if k.startswith("category:"))
    text = markdown({"source_run": "r", "changes": "c", "table": table,
                     "drift": {"tools_changed": 1, "tools_total": 2, "scores": {}},
                     "data": {"counts": {}, "trajectories_using_changed_tools": 0, "changed_tools_covered": [],
                              "incremental_rows": 0, "replay_rows": 0, "replay_available": 0, "sft_rows": 0},
                     "training": {}})
    assert "| uses changed tools |" in text and "| unaffected tasks |" in text
