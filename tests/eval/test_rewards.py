"""Reward components on hand-made trajectories with known values."""
import pytest

from elab_hpc.errors import ConfigError
from elab_hpc.eval.rewards import (RewardConfig, check_reward_config, compute_reward, lcs_length, r2_execution,
                                   r3_correctness, r4_format, tool_selection_lcs, tool_selection_set)

TASK = {"gold_actions": [{"tool": "frappe.apply_leave"}, {"tool": "frappe.approve_leave"},
                         {"tool": "calendar.create_event"}]}


def test_lcs_and_set_f1_known_values():
    gold = ["a", "b", "c"]
    assert lcs_length(["a", "x", "b", "c"], gold) == 3
    assert tool_selection_lcs(gold, gold) == 1.0
    # right tools in the wrong order: set F1 is perfect, the order-aware score is not
    assert tool_selection_set(["c", "b", "a"], gold) == 1.0
    assert tool_selection_lcs(["c", "b", "a"], gold) == pytest.approx(1 / 3)  # LCS 1: P = R = 1/3
    # one extra call: P = 3/4, R = 1 → F1 = 6/7
    assert tool_selection_lcs(["a", "x", "b", "c"], gold) == pytest.approx(6 / 7)
    assert tool_selection_lcs([], gold) == 0.0
    assert tool_selection_set(["a", "a", "z"], gold) == pytest.approx(0.4)  # sets {a,z} vs {a,b,c}: P=1/2 R=1/3


def test_execution_correctness_format_components():
    assert r2_execution([{"ok": True}, {"ok": False}, {"ok": True}, {"ok": True}]) == 0.75
    assert r2_execution([], n_gold=2) == 0.0
    checks = [{"passed": True}, {"passed": False}, {"passed": True}, {"passed": True}]
    assert r3_correctness(checks, "fraction") == 0.75
    assert r3_correctness(checks, "all") == 0.0
    assert r3_correctness([{"passed": True}], "all") == 1.0
    assert r3_correctness([], "fraction") == 0.0
    assert r4_format(1, 4) == 0.75
    assert r4_format(5, 4) == 0.0
    assert r4_format(0, 0) == 1.0


def test_weighted_reward_of_a_hand_made_episode():
    log = {"actions": [{"tool": "frappe.apply_leave", "ok": True}, {"tool": "frappe.apply_leave", "ok": False},
                       {"tool": "frappe.approve_leave", "ok": True}],
           "turns": 4, "format_errors": 1}
    checks = [{"passed": True}, {"passed": False}]
    cfg = RewardConfig(weights={"r1": 1, "r2": 1, "r3": 1, "r4": 1})
    r = compute_reward(TASK, log, checks, cfg)
    # LCS(pred, gold) = 2 of 3 predicted, 3 gold → P = R = 2/3
    assert r.r1 == pytest.approx(2 / 3)
    assert r.r2 == pytest.approx(2 / 3)
    assert r.r3 == 0.5 and r.r3_all == 0.0
    assert r.r4 == 0.75
    assert r.r == pytest.approx((2 / 3 + 2 / 3 + 0.5 + 0.75) / 4)
    only_r3 = compute_reward(TASK, log, checks, RewardConfig(weights={"r3": 2.0}, r3_mode="all"))
    assert only_r3.r == 0.0
    perfect = compute_reward(TASK, {"actions": [{"tool": a["tool"], "ok": True} for a in TASK["gold_actions"]],
                                    "turns": 4, "format_errors": 0}, [{"passed": True}])
    assert perfect.r == 1.0


@pytest.mark.parametrize("cfg, key", [
    (RewardConfig(weights={"r5": 1.0}), "r5"),
    (RewardConfig(weights={"r1": -1.0}), "weights.r1"),
    (RewardConfig(weights={"r1": 0.0}), "at least one"),
    (RewardConfig(r1_variant="bleu"), "r1_variant"),
    (RewardConfig(r3_mode="most"), "r3_mode"),
])
def test_bad_reward_config_is_named(cfg, key):
    with pytest.raises(ConfigError, match=key):
        check_reward_config(cfg)
