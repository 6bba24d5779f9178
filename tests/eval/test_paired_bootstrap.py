"""Paired comparison of two models on the same tasks: after − before with a bootstrap CI over
tasks (both models' results of a task drawn together), and its place in the pipeline report."""
import json

import pytest

from elab_hpc.eval.metrics import bootstrap_ci, paired_bootstrap, paired_comparison


def _res(task, ok, r=None, trial=0, cat="crud"):
    r = float(ok) if r is None else r
    return {"task_id": task, "trial": trial, "success": ok, "category": cat, "apps": ["mail"], "intent": task,
            "turns": 2, "calls": 1, "tokens": {"prompt": 100, "completion": 10}, "gold_tools": ["mail.send"],
            "actions": [{"tool": "mail.send", "args": {}, "ok": ok}],
            "reward": {"r": r, "r1": 1.0, "r2": 1.0, "r3": float(ok), "r4": 1.0}}


def test_identical_models_give_zero_delta_not_significant():
    rows = [_res(f"t{i}", i % 3 == 0, r=i / 10) for i in range(9)]
    c = paired_comparison(rows, rows)
    for m in ("success_rate", "mean_r"):
        assert c[m]["delta"] == 0.0 and c[m]["ci"] == [0.0, 0.0]
        assert not c[m]["significant"] and c[m]["same"] == 9


def test_every_task_fixed_is_significant():
    before = [_res(f"t{i}", False) for i in range(6)]
    after = [_res(f"t{i}", True) for i in range(6)]
    c = paired_comparison(before, after)
    s = c["success_rate"]
    assert (s["before"], s["after"], s["delta"], s["ci"]) == (0.0, 1.0, 1.0, [1.0, 1.0])
    assert s["significant"] and s["better"] == 6 and s["worse"] == 0
    assert c["tasks"] == 6 and c["unpaired"] == 0


def test_pairing_removes_shared_task_difficulty():
    """A constant +0.05 on tasks of very different difficulty: the per-model CIs overlap widely,
    the paired CI is the exact +0.05 and significant."""
    levels = [0.0, 0.1, 0.3, 0.5, 0.7, 0.9] * 3
    before = [_res(f"t{i}", False, r=x) for i, x in enumerate(levels)]
    after = [_res(f"t{i}", False, r=x + 0.05) for i, x in enumerate(levels)]
    lo_b, hi_b = bootstrap_ci([[x] for x in levels])
    lo_a, hi_a = bootstrap_ci([[x + 0.05] for x in levels])
    assert lo_a < hi_b  # unpaired intervals overlap: the models look indistinguishable
    m = paired_comparison(before, after)["mean_r"]
    assert m["delta"] == pytest.approx(0.05)
    assert m["ci"][0] == pytest.approx(0.05) and m["ci"][1] == pytest.approx(0.05)
    assert m["significant"]


def test_mixed_changes_include_zero():
    before = [_res(f"t{i}", i < 3) for i in range(6)]
    after = [_res(f"t{i}", i >= 3) for i in range(6)]  # 3 tasks lost, 3 gained
    s = paired_comparison(before, after)["success_rate"]
    assert s["delta"] == 0.0 and s["better"] == 3 and s["worse"] == 3
    assert s["ci"][0] < 0 < s["ci"][1] and not s["significant"]


def test_two_pairs_bootstrap_distribution():
    """diffs [0, 1]: resampled means are 0, .5, 1 with probabilities 1/4, 1/2, 1/4, so the 95%
    interval is the whole [0, 1] and the change is not significant."""
    out = paired_bootstrap([0.0, 0.0], [0.0, 1.0], samples=4000, seed=3)
    assert out["ci"] == [0.0, 1.0] and out["delta"] == 0.5 and not out["significant"]


def test_trials_averaged_per_task_and_unpaired_tasks_left_out():
    before = [_res("a", False, trial=0), _res("a", False, trial=1), _res("b", True), _res("only_before", True)]
    after = [_res("a", True, trial=0), _res("a", False, trial=1), _res("b", True), _res("only_after", False)]
    c = paired_comparison(before, after)
    assert c["tasks"] == 2 and c["unpaired"] == 2
    s = c["success_rate"]
    assert s["before"] == 0.5 and s["after"] == 0.75 and s["delta"] == 0.25  # task a: 0 → 0.5, b: 1 → 1


def test_deterministic_under_seed_and_clear_errors():
    before = [_res(f"t{i}", i % 2 == 0, r=i / 7) for i in range(7)]
    after = [_res(f"t{i}", i % 3 == 0, r=(7 - i) / 7) for i in range(7)]
    assert paired_comparison(before, after, seed=5) == paired_comparison(before, after, seed=5)
    with pytest.raises(ValueError, match="share no task"):
        paired_comparison([_res("a", True)], [_res("b", True)])
    with pytest.raises(ValueError, match="unknown metric"):
        paired_comparison(before, after, metrics=["accuracy"])
    with pytest.raises(ValueError, match="values before"):
        paired_bootstrap([1.0], [1.0, 0.0])


def _eval_stage(path, rows):
    out = path / "out"
    out.mkdir(parents=True)
    (out / "items.jsonl").write_text(json.dumps({"item": 0, "record": {"results": rows}}) + "\n")
    return out


def test_report_shows_paired_comparisons(tmp_path):
    from elab_hpc.errors import ConfigError
    from elab_hpc.report.build import build_report

    n = 8
    inputs = {"eval_base": _eval_stage(tmp_path / "stages" / "eval_base", [_res(f"t{i}", False) for i in range(n)]),
              "eval_trained": _eval_stage(tmp_path / "stages" / "eval_trained",
                                          [_res(f"t{i}", i < 6) for i in range(n)]),
              "eval_grpo": _eval_stage(tmp_path / "stages" / "eval_grpo", [_res(f"t{i}", i < 5) for i in range(n)])}
    params = {"evals": {"base": "eval_base", "trained": "eval_trained", "grpo": "eval_grpo"}, "bootstrap": 500}
    out = tmp_path / "report"
    build_report(tmp_path, inputs, out, params)
    data = json.loads((out / "report.json").read_text())
    (sft, grpo) = data["comparisons"]
    assert (sft["before"], sft["after"], grpo["before"], grpo["after"]) == ("base", "trained", "trained", "grpo")
    assert sft["success_rate"]["delta"] == 0.75 and sft["success_rate"]["significant"]
    assert grpo["success_rate"]["delta"] == -0.125 and not grpo["success_rate"]["significant"]
    md = (out / "report.md").read_text()
    assert "## Paired comparison" in md and "| trained − base | success rate | 8 |" in md
    assert "no (CI includes 0)" in md
    assert "Paired comparison" in (out / "report.html").read_text()
    with pytest.raises(ConfigError, match="comparisons"):
        build_report(tmp_path, inputs, tmp_path / "r2", {**params, "comparisons": [["base", "dpo"]]})
