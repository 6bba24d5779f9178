"""A full evaluation of the REAL bundled tiny model (SmolLM2-135M-Instruct, hf backend, ReAct) on
20 test-split tasks, end to end: episodes, logs, checks, rewards, error analysis, reports, and
cache hits on rerun. Its score is low; the test asserts the pipeline, not a score."""
import json
from pathlib import Path

from arena.tasks.suite import load_suite
from elab_hpc.eval.config import load_eval_config
from elab_hpc.eval.run import run_eval, run_shard

# apps with short tool lists keep the ReAct prompt (and CPU time) small
SMALL_APPS = {"browser", "bash", "calendar", "invoice", "mail", "filesystem", "rocketchat", "docstore"}


def test_tiny_model_on_20_test_tasks(tmp_path):
    picked = [t for t in load_suite(split="test") if set(t["apps"]) <= SMALL_APPS][:20]
    assert len(picked) == 20
    tasks_file = tmp_path / "tasks.jsonl"
    tasks_file.write_text("".join(json.dumps(t) + "\n" for t in picked))
    overrides = ["model=tiny", f"tasks=jsonl:{tasks_file}", f"out_dir={tmp_path / 'run'}", "bootstrap=100",
                 "agent.max_turns=2", "agent.backend.max_new_tokens=32", "agent.backend.batch_size=10",
                 "agent.backend.cpu_threads=2", "prices.prompt_per_m=0.1", "prices.completion_per_m=0.2"]
    out = run_eval(load_eval_config(None, overrides), show=False)
    eps = out["episodes"]
    assert len(eps) == 20 and {e["task_id"] for e in eps} == {t["id"] for t in picked}
    for e in eps:
        assert 1 <= e["turns"] <= 2 and e["tokens"]["prompt"] > 0 and e["tokens"]["completion"] > 0
        assert e["checks_total"] > 0 and 0.0 <= e["reward"]["r"] <= 1.0
        assert e["stop_reason"] in ("answer", "max_turns", "repeated_failure", "token_budget")
        assert e["success"] or e["error_class"]["class"]
    s = out["summary"]
    assert s["overall"]["episodes"] == 20 and s["overall"]["cost_per_task_usd"] > 0
    assert sum(v["tasks"] for v in s["per_category"].values()) == 20
    assert s["errors"]["failed"] == sum(s["errors"]["counts"].values())
    # the full logs (messages with the ReAct turns) sit in the runner's cache
    cache = tmp_path / "run" / "cache"
    logs = [json.loads(p.read_text()) for p in cache.rglob("*.json")]
    assert len(logs) == 20
    assert all(log["messages"][0]["role"] == "system" and log["messages"][1]["role"] == "user"
               and any(m["role"] == "assistant" for m in log["messages"]) for log in logs)
    for name in ("report.md", "report.html", "results.json"):
        assert (tmp_path / "run" / name).stat().st_size > 0
    assert Path(out["paths"]["html"]).read_text().count("data:image/png;base64,") == 3
    # rerun: the stored episodes are reused (nothing generated)
    assert run_shard(load_eval_config(None, overrides), 0, 1, show=False)["ran"] == 0
    # and with the result store gone, the runner's episode cache answers: same results, cache untouched
    stamps = {p: p.stat().st_mtime_ns for p in cache.rglob("*.json")}
    for p in (tmp_path / "run" / "episodes").iterdir():
        p.unlink()
    again = run_eval(load_eval_config(None, overrides), show=False)
    strip = lambda es: sorted(json.dumps({k: v for k, v in e.items() if k != "time_s"}, sort_keys=True) for e in es)
    assert strip(again["episodes"]) == strip(eps)
    assert {p: p.stat().st_mtime_ns for p in cache.rglob("*.json")} == stamps
