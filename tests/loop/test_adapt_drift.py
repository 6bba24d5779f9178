"""Versioned tool surfaces on the real arena: the applied change is served and callable like the
original tools, and the registry's drift detection finds exactly what was changed."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from arena.core.surface import SurfaceChange
from elab_hpc.adapt.drift import apply_and_detect, load_change
from elab_hpc.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def drift():
    return apply_and_detect(load_change(ROOT / "configs/adapt/default.yaml"), seed=0, scale="small")


def test_about_thirty_percent_of_tools_change_and_all_kinds_occur(drift):
    share = drift["tools_changed"] / drift["tools_total"]
    assert 0.25 <= share <= 0.35
    assert {a["kind"] for a in drift["applied"]} == {"rename", "param_rename", "param_add", "output_shape"}


def test_detect_drift_finds_every_applied_change_and_nothing_else(drift):
    for kind, s in drift["scores"].items():
        assert s["expected"] > 0, kind
        assert s["recall"] == 1.0 and s["precision"] == 1.0, (kind, s)
    assert drift["unexpected"] == {"added": [], "removed": []}


def test_changed_tools_are_called_like_the_originals(drift):
    view = drift["view"]
    ep = view.episode()
    try:
        renamed = next(a for a in drift["applied"] if a["kind"] == "rename")
        assert ep.call(renamed["tool"], {}).error["code"] == "unknown_tool"  # the old name is gone
        new = ep.call(renamed["new_tool"], {})
        assert new.ok or new.error["code"] != "unknown_tool"  # served under the new name
        reparam = next(a for a in drift["applied"] if a["kind"] == "param_rename")
        old_args = ep.call(reparam["new_tool"], {reparam["param"]: 1})
        assert not old_args.ok and old_args.error["code"] == "invalid_arguments"
        assert reparam["new_param"] in old_args.error["message"]  # the new name is what is required now
        shaped = next(a for a in drift["applied"] if a["kind"] == "output_shape")
        spec = view.index.by_qualified[shaped["new_tool"]]
        assert set(spec.output_schema["properties"]) == {"data", "api_version"}
    finally:
        ep.close()


def test_bad_change_config_is_rejected_with_the_key(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("fraction: 0.3\nweigths: {rename: 1}\n")
    with pytest.raises(ConfigError, match="weigths"):
        load_change(bad)
    bad.write_text("fraction: 1.5\n")
    with pytest.raises(ConfigError, match="fraction"):
        load_change(bad)
    with pytest.raises(ValueError, match="teleport"):
        SurfaceChange(weights={"teleport": 1.0}).validate()


def test_adapt_command_writes_the_drift_report(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    proc = subprocess.run([sys.executable, "-c", "import sys; from elab_hpc.commands.adapt import register; "
                           "import argparse; p = argparse.ArgumentParser(); s = p.add_subparsers(); "
                           "register(s, 'adapt', 'adapt'); a = p.parse_args(sys.argv[1:]); sys.exit(a.func(a))",
                           "adapt", str(run), "--changes", str(ROOT / "configs/adapt/default.yaml"), "--json",
                           "--drift-only"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    scores = json.loads(proc.stdout)["scores"]
    assert all(s["recall"] == 1.0 for s in scores.values())
    saved = json.loads((run / "adapt" / "drift.json").read_text())
    assert saved["tools_changed"] == len(saved["applied"]) > 0
    # beyond drift detection the command needs a finished run, and says which stage is missing
    from elab_hpc.commands.adapt import check_source_run
    from elab_hpc.errors import UserError

    with pytest.raises(UserError, match="testset"):
        check_source_run(run)
