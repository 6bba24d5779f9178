"""Sharded evaluation end to end: sharded == unsharded, stored episodes reused on rerun, the
array job on the real dev SLURM cluster, reports, and bad input refused before anything runs."""
import json
from pathlib import Path

import pytest

from elab_hpc.errors import ConfigError, UserError
from elab_hpc.eval.config import load_eval_config
from elab_hpc.eval.run import aggregate, run_eval, run_shard

VOLATILE = ("time_s",)


def comparable(episodes):
    return sorted((json.dumps({k: v for k, v in e.items() if k not in VOLATILE}, sort_keys=True)
                   for e in episodes))


def cfg(tmp_path, name, *extra):
    return load_eval_config(None, ["model=oracle", "tasks=arena:test", "limit=12", "trials=2", "bootstrap=50",
                                   f"out_dir={tmp_path / name}", *extra])


def test_sharded_equals_unsharded_and_rerun_reuses_episodes(tmp_path):
    one = run_eval(cfg(tmp_path, "one"), show=False)
    three = run_eval(cfg(tmp_path, "three", "shards=3"), show=False)
    assert len(one["episodes"]) == 24
    assert comparable(one["episodes"]) == comparable(three["episodes"])
    assert one["summary"]["overall"] == three["summary"]["overall"]
    assert one["summary"]["overall"]["success_rate"] == 1.0
    assert one["summary"]["overall"]["pass^2"] == 1.0
    shard_files = sorted(p.name for p in (tmp_path / "three" / "shards").iterdir())
    assert shard_files == [f"shard-{i:04d}-of-0003.jsonl" for i in range(3)]
    assert sum(len(p.read_text().splitlines()) for p in (tmp_path / "three" / "shards").iterdir()) == 24
    # rerun: every episode is found in the store, nothing runs again
    again = run_shard(cfg(tmp_path, "three", "shards=3"), 1, 3, show=False)
    assert again["ran"] == 0 and again["reused"] == again["episodes"] > 0
    # a requeued shard after a crash: the episodes it had finished are kept, the rest run
    store = tmp_path / "three" / "episodes"
    victims = sorted(store.iterdir())[:3]
    for p in victims:
        p.unlink()
    redo = sum(run_shard(cfg(tmp_path, "three", "shards=3"), s, 3, show=False)["ran"] for s in range(3))
    assert redo == 3
    assert comparable(aggregate(cfg(tmp_path, "three", "shards=3"))["episodes"]) == comparable(one["episodes"])


def test_reports_are_self_contained(tmp_path):
    out = run_eval(cfg(tmp_path, "rep", "trials=1"), show=False)
    html = Path(out["paths"]["html"]).read_text()
    assert html.count('src="data:image/png;base64,') == 3 and "<table>" in html
    assert "src=\"http" not in html and "<script" not in html
    md = Path(out["paths"]["markdown"]).read_text()
    assert "## Per category" in md and "## Error analysis" in md
    data = json.loads(Path(out["paths"]["results"]).read_text())
    assert set(data["summary"]["per_category"]) <= {"crud", "search_orchestration", "multi_entity",
                                                    "version_control", "cross_functional"}
    assert len(data["episodes"]) == 12


def test_bad_input_is_refused_before_anything_runs(tmp_path):
    with pytest.raises(ConfigError, match="trails"):
        load_eval_config(None, ["trails=2", f"out_dir={tmp_path / 'x'}"])
    with pytest.raises(ConfigError, match="model"):
        load_eval_config(None, ["model=gpt", f"out_dir={tmp_path / 'x'}"])
    with pytest.raises(ConfigError, match="cluster"):
        load_eval_config(None, ["cluster=nosuchcluster", f"out_dir={tmp_path / 'x'}"])
    with pytest.raises(ConfigError, match="rewards.weights"):
        load_eval_config(None, ["rewards.weights.r2=-1", f"out_dir={tmp_path / 'x'}"])
    assert not (tmp_path / "x").exists()
    run_eval(cfg(tmp_path, "used", "trials=1", "limit=2"), show=False)
    # the same folder with another model/task selection is refused, and left as it was
    before = sorted(p.name for p in (tmp_path / "used" / "episodes").iterdir())
    with pytest.raises(UserError, match="another model/task/agent config"):
        run_eval(cfg(tmp_path, "used", "trials=1", "limit=3"), show=False)
    assert sorted(p.name for p in (tmp_path / "used" / "episodes").iterdir()) == before
    with pytest.raises(UserError, match="outside 0..1"):
        run_shard(cfg(tmp_path, "used", "trials=1", "limit=2"), 5, 2, show=False)


def test_cli_parser_help_and_tasks(capsys):
    import argparse

    from elab_hpc.commands import eval as eval_cmd

    parser = argparse.ArgumentParser(prog="elab-hpc")
    eval_cmd.register(parser.add_subparsers(), "eval", "evaluate")
    with pytest.raises(SystemExit):
        parser.parse_args(["eval", "run", "--help"])
    assert "array job" in capsys.readouterr().out
    args = parser.parse_args(["eval", "tasks", "tasks=arena:test", "categories=[version_control]", "--json"])
    assert args.func(args) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert lines and all(t["category"] == "version_control" and t["split"] == "test" for t in lines)


@pytest.mark.slurm
def test_array_job_on_the_dev_cluster(devcluster, tmp_path):
    """shards=3 as ONE array job through the HPC layer on the real dev SLURM cluster."""
    c = cfg(tmp_path, "slurm", "shards=3", "cluster=devcluster", "trials=1", "limit=6", "wait_timeout_s=300")
    out = run_eval(c, show=False)
    assert [s["shard"] for s in out["shards"]] == [0, 1, 2]
    assert all(s["ran"] == 2 for s in out["shards"])
    assert out["summary"]["overall"]["success_rate"] == 1.0
    assert list((tmp_path / "slurm" / "jobs").iterdir())  # submitit's job files: it went through sbatch
    local = run_eval(cfg(tmp_path, "inline", "trials=1", "limit=6"), show=False)
    assert comparable(out["episodes"]) == comparable(local["episodes"])
