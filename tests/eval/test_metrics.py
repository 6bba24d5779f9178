"""pass@k / pass^k against small cases computed by hand, bootstrap CIs, breakdowns, cost."""
import itertools

import pytest

from elab_hpc.eval.metrics import Prices, bootstrap_ci, breakdown, pass_at_k, pass_hat_k, summarize


def brute(n, c, k, every):
    """Average over all k-subsets of n trials (c successes) of any/all success."""
    trials = [1] * c + [0] * (n - c)
    subsets = list(itertools.combinations(trials, k))
    return sum((all if every else any)(s) for s in subsets) / len(subsets)


@pytest.mark.parametrize("n,c,k", [(4, 0, 1), (4, 1, 1), (4, 1, 2), (4, 2, 2), (4, 3, 4), (5, 2, 3), (4, 4, 4)])
def test_unbiased_estimators_match_enumeration(n, c, k):
    assert pass_at_k(n, c, k) == pytest.approx(brute(n, c, k, every=False))
    assert pass_hat_k(n, c, k) == pytest.approx(brute(n, c, k, every=True))


def test_known_values():
    assert pass_at_k(4, 1, 1) == 0.25
    assert pass_at_k(4, 1, 2) == 0.5  # 1 - C(3,2)/C(4,2) = 1 - 3/6
    assert pass_hat_k(4, 2, 2) == pytest.approx(1 / 6)
    with pytest.raises(ValueError):
        pass_at_k(2, 1, 3)


def _res(task, ok, cat="crud", apps=("gitlab",), r=None, prompt=1000, completion=100):
    return {"task_id": task, "success": ok, "category": cat, "apps": list(apps), "turns": 3, "calls": 2,
            "reward": {"r": r if r is not None else float(ok), "r1": 1.0, "r2": 0.5, "r3": float(ok), "r4": 1.0},
            "tokens": {"prompt": prompt, "completion": completion}}


def test_summary_breakdowns_and_cost():
    results = [_res("a", True), _res("a", False), _res("b", False, "version_control", ("gitlab", "mail")),
               _res("b", False, "version_control", ("gitlab", "mail"))]
    s = summarize(results, Prices(prompt_per_m=2.0, completion_per_m=10.0), ks=(1, 2), bootstrap=200)
    assert s["tasks"] == 2 and s["episodes"] == 4
    assert s["success_rate"] == 0.25
    assert s["pass@1"] == pytest.approx(0.25) and s["pass@2"] == pytest.approx(0.5)  # task a: 1 of 2 → pass@2 = 1
    assert s["pass^2"] == 0.0
    assert s["cost_per_task_usd"] == pytest.approx(1000 * 2 / 1e6 + 100 * 10 / 1e6)
    lo, hi = s["success_rate_ci95"]
    assert 0.0 <= lo <= 0.25 <= hi <= 0.5
    per_app = breakdown(results, "apps")
    assert per_app["gitlab"]["episodes"] == 4 and per_app["mail"]["episodes"] == 2
    assert breakdown(results, "category")["version_control"]["success_rate"] == 0.0


def test_bootstrap_degenerate_and_spread():
    assert bootstrap_ci([[1.0], [1.0], [1.0]]) == (1.0, 1.0)
    lo, hi = bootstrap_ci([[1.0]] * 10 + [[0.0]] * 10, stat_samples=500)
    assert lo < 0.5 < hi
