"""Bring your own tools: the example helpdesk MCP server (examples/byo_mcp/, official `mcp` SDK,
its own SQLite file) started for real over stdio and over HTTP with a bearer token, then
discovery, synthesized + replay-validated trajectories, and evaluation episodes against it."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from elab_hpc.env.external import ExternalEnv, ExternalWorld, load_external_env
from elab_hpc.errors import ConfigError, UserError

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "byo_mcp"
SERVER = EXAMPLE / "helpdesk_server.py"
AGENT_TOOLS = {"helpdesk." + t for t in ("list_members", "list_assets", "get_asset", "search_assets", "register_asset",
                                         "assign_asset", "return_asset", "list_tickets", "open_ticket", "close_ticket")}


@pytest.fixture(scope="module")
def world():
    w = ExternalWorld(load_external_env(EXAMPLE / "env.yaml"))
    yield w
    w.close()


def test_discovery_hides_the_seed_hook_and_sees_the_state(world):
    assert set(world.registry.actions) == AGENT_TOOLS  # reset_demo_data is the hook, never an agent tool
    assert not world.read_only
    assert world.registry["helpdesk.assign_asset"].input_schema["properties"].keys() == {"asset_id", "user_id"}
    assert set(world.columns) == {"helpdesk_member", "helpdesk_asset", "helpdesk_ticket"}
    with world.episode() as ep:
        assert ep.query("SELECT COUNT(*) AS n FROM helpdesk_asset")[0]["n"] == 10
        bad = ep.call("helpdesk.assign_asset", {"asset_id": 1, "username": "li.wei"})  # already assigned
        assert not bad.ok and bad.error["code"] == "conflict"
        wrong = ep.call("helpdesk.get_asset", {"asset_id": "not a number"})
        assert not wrong.ok and wrong.error["code"] == "invalid_arguments"
        assert ep.call("helpdesk.reset_demo_data", {}).error["code"] == "unknown_tool"


def test_episodes_are_isolated_on_one_server(world):
    a, b = world.episode(), world.episode()
    try:
        assert a.call("helpdesk.assign_asset", {"asset_id": 3, "username": "li.wei"}).ok
        resets = world.reset_calls
        # b acts: the server is reseeded, b sees the seed state, not a's change
        assert b.call("helpdesk.get_asset", {"asset_id": 3}).result["holder"] is None
        assert b.call("helpdesk.register_asset", {"name": "Dell P2425H", "kind": "monitor", "serial": "P24X"}).ok
        assert world.reset_calls == resets + 1
        # a acts again: reseed + replay of a's write; b's asset is gone, a's assignment is back
        assert a.call("helpdesk.get_asset", {"asset_id": 3}).result["holder"] == "li.wei"
        assert not a.call("helpdesk.get_asset", {"asset_id": 11}).ok
        assert a.diff()["helpdesk_asset"]["updated"][0]["changes"]["holder"] == {"before": None, "after": "li.wei"}
        assert b.diff()["helpdesk_asset"]["inserted"][0]["serial"] == "P24X"
        assert a.state_hash() != b.state_hash() != world.template_hash
        a.reset()
        assert a.state_hash() == world.template_hash and a.diff() == {}
    finally:
        a.close()
        b.close()


def stage_ctx(tmp_path: Path, name: str, params: dict, inputs: dict, items=()) -> "StageContext":
    from elab_hpc.hpc.pipeline.context import StageContext

    out, work = tmp_path / name / "out", tmp_path / name / "work"
    out.mkdir(parents=True)
    work.mkdir(parents=True)
    return StageContext(stage=name, params=params, out_dir=out, work_dir=work, inputs=inputs, items=list(items))


def test_loop_stages_synthesize_held_out_tasks_and_evaluate_them_over_stdio(world, tmp_path):
    """elab_hpc.loop.byo's testset stage (synthesis + filters on the server) and its evaluate stage
    (the oracle agent replaying gold actions through the server; checks on the state view)."""
    from elab_hpc.loop import byo
    from elab_hpc.synth.records import read_jsonl

    env = str(EXAMPLE / "env.yaml")
    ts = stage_ctx(tmp_path, "testset", {"env": env, "overrides": ["name=byo", "n=6", "output.chunk_size=10",
                                                                   "output.dpo=false", "seed=3", "exclude_tasks=null"]}, {})
    summary = byo.testset(ts)
    recs = list(read_jsonl(ts.work_dir / "synth" / "train.jsonl"))
    assert summary["tasks"] == len(recs) >= 4
    used = {a["tool"] for r in recs for a in r["actions"]}
    assert used <= AGENT_TOOLS and used & {"helpdesk.register_asset", "helpdesk.assign_asset", "helpdesk.open_ticket",
                                           "helpdesk.close_ticket", "helpdesk.return_asset"}
    for r in recs:  # executed, replayed after a reseed, verified by state/answer checks
        assert r["validation"]["grounded"] and r["validation"]["checks_passed"] == len(r["task"]["checks"])
        assert r["tools"] and all(t["function"]["name"].startswith("helpdesk__") for t in r["tools"])
    tasks = [json.loads(x) for x in (ts.out_dir / "tasks.jsonl").read_text().splitlines()]
    stateful = [t for t in tasks if any(c["type"] in ("row_exists", "field_equals", "row_absent") for c in t["checks"])]
    assert stateful, "writes must produce state checks"

    ev = stage_ctx(tmp_path, "eval", {"env": env, "model": "oracle", "num_shards": 1,
                                      "eval": {"config": str(ROOT / "configs" / "eval" / "default.yaml"),
                                               "overrides": ["trials=1", "ks=[1]", "bootstrap=0"]}},
                   {"testset": ts.out_dir}, items=[0])
    assert byo.evaluate(ev) == {"shards_done": 1}
    results = [json.loads(x) for x in next((ev.work_dir / "eval" / "shards").glob("*.jsonl")).read_text().splitlines()]
    assert len(results) == len(tasks) and all(r["success"] for r in results)
    # the checks are not vacuous: on the untouched server the state checks fail
    from elab_hpc.env.external import ExternalTasks

    src = ExternalTasks(ts.out_dir / "tasks.jsonl", env)
    session = ExternalEnv(world).open()
    try:
        for t in stateful:
            assert not all(c["passed"] for c in src.check(t, session, ""))
    finally:
        session.close()


def test_tiny_model_episode_on_the_server(world, tmp_path):
    """A real agent episode: the bundled SmolLM2-135M in the ReAct scaffold, acting on the server."""
    from elab_hpc.agent.config import AgentConfig
    from elab_hpc.agent.backends import make_backend
    from elab_hpc.agent.runner import Runner

    cfg = AgentConfig()
    cfg.max_turns, cfg.backend.max_new_tokens, cfg.backend.temperature = 1, 32, 0.0
    cfg.backend.kind, cfg.backend.model, cfg.backend.cpu_threads = "hf", "tiny", 1
    env = ExternalEnv(world)
    task = {"id": "byo-1", "intent": "Which assets are in stock? List their tags.", "category": "search_orchestration",
            "apps": ["helpdesk"], "checks": [{"type": "answer_contains", "value": "AST-0003"}]}
    seen = {}
    runner = Runner(make_backend(cfg.backend), cfg, env,
                    on_finish=lambda log, s: seen.update(tools=len(s.tools), hash=s.state_hash()))
    log = runner.run([task])[0]
    assert log.turns >= 1 and seen["tools"] == len(AGENT_TOOLS)
    assert "helpdesk__list_assets" in log.messages[0]["content"]  # the server's tools in the system prompt
    for a in log.actions:  # whatever the tiny model called went to the real server
        assert a["tool"] in AGENT_TOOLS or a["error"]["code"] == "unknown_tool"


def test_read_only_exploration_without_seed_hook(tmp_path):
    from elab_hpc.synth.external import load_external_context
    from elab_hpc.synth.sampler import Sampler
    from elab_hpc.synth.config import SamplerConfig

    ctx = load_external_context(str(EXAMPLE / "env_readonly.yaml"))
    w = ctx.world
    assert w.read_only and set(w.registry.actions) == {n for n in AGENT_TOOLS if n.split(".")[1].startswith(
        ("list", "get", "search"))}
    trajs = list(Sampler(ctx, SamplerConfig(exclude_tools=[])).run(4, seed=0))
    assert trajs and w.reset_calls == 0
    for t in trajs:
        assert all(c["type"].startswith("answer") for c in t.task.checks) and t.diff == {}
    assert w.episode().state_hash() == w.template_hash


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_http_with_bearer_token_and_command_seed_hook(tmp_path, monkeypatch):
    db, port, token = tmp_path / "helpdesk.sqlite", free_port(), "s3cret-token-for-test"
    proc = subprocess.Popen([sys.executable, str(SERVER), "serve", "--db", str(db), "--transport", "http",
                             "--port", str(port)], env={**os.environ, "HELPDESK_TOKEN": token},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read() if proc.poll() else "timeout"
                time.sleep(0.2)
        cfg = tmp_path / "env.yaml"
        # the shipped HTTP config, with this test's port and the seed hook as a command on the same file
        text = (EXAMPLE / "env_http.yaml").read_text().replace("8790", str(port))
        text = text.replace("  tool: helpdesk.reset_demo_data",
                            f'  command: ["{{python}}", "{SERVER}", seed, --db, "{db}"]')
        cfg.write_text(text + "exclude_tools: [helpdesk.reset_demo_data]   # an admin tool: never for agents\n")
        monkeypatch.setenv("HELPDESK_TOKEN", "wrong")
        with pytest.raises(UserError, match="cannot reach"):  # 401 without the right token
            ExternalWorld(load_external_env(cfg))
        monkeypatch.setenv("HELPDESK_TOKEN", token)
        w = ExternalWorld(load_external_env(cfg))
        try:
            assert set(w.registry.actions) == AGENT_TOOLS
            env = ExternalEnv(w)
            s = env.open({"apps": ["helpdesk"]})
            out = s.call("helpdesk__open_ticket", {"title": "Badge reader broken", "requester": "sofia.rossi"})
            assert out["ok"] and out["result"]["status"] == "open"
            from elab_hpc.env.checks import run_checks

            check = {"type": "row_exists", "table": "helpdesk_ticket",
                     "where": {"subject": "Badge reader broken", "requester": "sofia.rossi"}}
            assert run_checks([check], s.episode)[0]["passed"]
            s.close()
            fresh = env.open({})
            assert not run_checks([check], fresh.episode)[0]["passed"]
            assert fresh.call("helpdesk__list_tickets", {})["result"]["tickets"][-1]["subject"] != "Badge reader broken"
            assert w.reset_calls >= 2  # the seed command ran (at start and to undo the ticket)
            fresh.close()
        finally:
            w.close()
    finally:
        proc.terminate()
        proc.wait(10)


def test_bad_configs_fail_clearly(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nsources: []\n")
    with pytest.raises(ConfigError, match="at least one MCP server"):
        load_external_env(bad)
    bad.write_text("name: x\nsources: [{name: h, kind: stdio, command: [x]}]\n"
                   "reset: {tool: t, command: [y]}\n")
    with pytest.raises(ConfigError, match="not both"):
        load_external_env(bad)
    bad.write_text("name: x\nsources: [{name: h, kind: stdio, command: [x]}]\nresett: {}\n")
    with pytest.raises(ConfigError):
        load_external_env(bad)
    with pytest.raises(ConfigError, match="expected mcp:"):
        from elab_hpc.eval.tasks import resolve

        resolve("mcp:tasks.jsonl")


def test_unknown_seed_tool_is_a_config_error_and_leaves_nothing_behind(tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the world's private {state_dir} lands here
    with pytest.raises(ConfigError, match="reset.tool: 'helpdesk.nope' matches no tool"):
        ExternalWorld(load_external_env(EXAMPLE / "env.yaml", ["reset.tool=helpdesk.nope"]))
    assert list(tmp_path.iterdir()) == []  # server stopped, private folder removed


def test_state_view_tables_keys_and_diff():
    from elab_hpc.env import state_view as sv

    assert sv.listed_items({"total": 0, "tickets": []}) == [] and sv.listed_items({"ok": True}) is None
    # no `id`: the first present-and-unique key-like field becomes it (`name` repeats, `email` does not)
    rows = sv.rows_of([{"name": "A", "email": "a@x.org", "tags": ["x"], "bad-col": 1},
                       {"name": "A", "email": "b@x.org", "tags": [], "bad-col": 2}])
    assert [r["id"] for r in rows] == ["a@x.org", "b@x.org"] and rows[0]["tags"] == '["x"]'
    assert "bad-col" not in rows[0]  # not an SQL identifier: left out of the view
    before = {"t": [{"id": 1, "v": "a", "updated_at": "09:00"}, {"id": 2, "v": "b"}]}
    after = {"t": [{"id": 1, "v": "z", "updated_at": "09:05"}, {"id": 3, "v": "c"}]}
    d = sv.diff(before, after)["t"]
    assert [r["id"] for r in d["inserted"]] == [3] and [r["id"] for r in d["deleted"]] == [2]
    assert d["updated"][0]["changes"]["v"] == {"before": "a", "after": "z"}
    # timestamps do not change the hash; data does
    assert sv.state_hash({"t": [{"id": 1, "v": "a", "updated_at": "1"}]}) == \
        sv.state_hash({"t": [{"id": 1, "v": "a", "updated_at": "2"}]}) != sv.state_hash(after)
    db = sv.StateDB(after, {"t": ["id", "v", "updated_at"], "empty": []})
    assert db.query("SELECT v FROM t WHERE id IS ?", 3) == [{"v": "c"}]
    assert db.query("SELECT COUNT(*) AS n FROM empty") == [{"n": 0}]
    with pytest.raises(ValueError):
        db.query("DELETE FROM t")
