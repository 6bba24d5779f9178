"""The scripted oracle scores 1.0 on EVERY task of the suite (every task solvable, every check
right), and deliberately wrong action sequences fail the checks."""
import pytest

from arena.tasks.suite import load_suite, world_drift
from elab_hpc.eval.oracle import oracle_log
from elab_hpc.eval.tasks import ArenaSource


@pytest.fixture(scope="module")
def env():
    return ArenaSource().env(seed=0, scale="small")


def play(env, task, actions=None, answer=None):
    session = env.open(task, task["apps"])
    try:
        log = oracle_log(task, session, actions=actions, answer=answer)
        return log, ArenaSource().check(task, session, log["answer"])
    finally:
        session.close()


def test_suite_fits_this_world(env):
    assert world_drift(env.arena) is None


def test_oracle_solves_every_task(env):
    from elab_hpc.eval.rewards import compute_reward

    tasks = load_suite()
    assert len(tasks) >= 500
    failures = []
    for task in tasks:
        log, checks = play(env, task)
        r = compute_reward(task, log, checks)
        if r.r != 1.0 or not all(c["passed"] for c in checks) or not all(a["ok"] for a in log["actions"]):
            failures.append((task["id"], [c["detail"] for c in checks if not c["passed"]][:2]))
    assert not failures, f"{len(failures)} task(s) not solved by their gold actions: {failures[:5]}"


def test_doing_nothing_fails_every_task(env):
    for task in load_suite():
        _, checks = play(env, task, actions=[], answer="")
        assert not all(c["passed"] for c in checks), task["id"]


def test_deliberately_wrong_sequences_fail(env):
    hand = {t["id"]: t for t in load_suite(sources=["handwritten"])}
    # the recruitment shortlist mailed, but the answer names the wrong people
    rec = hand["h-recruitment-0"]
    _, checks = play(env, rec, answer="Shortlist: Alice Nobody, Bob Nobody, Carol Nobody.")
    assert [c["check"]["type"] for c in checks if not c["passed"]] == ["answer_contains"] * 3
    # the merge request reviewed but never merged
    mr = hand["h-mr_review_merge-0"]
    _, checks = play(env, mr, actions=mr["gold_actions"][:-1])
    assert not all(c["passed"] for c in checks)
    # the leave approved but the calendar block skipped; then the steps in the wrong order
    leave = hand["h-leave_with_calendar-0"]
    _, checks = play(env, leave, actions=leave["gold_actions"][:2])
    failed = [c["check"] for c in checks if not c["passed"]]
    assert [c["table"] for c in failed] == ["cal_events"]
    log, checks = play(env, leave, actions=[leave["gold_actions"][1], leave["gold_actions"][0],
                                            leave["gold_actions"][2]])
    assert not log["actions"][0]["ok"] and not all(c["passed"] for c in checks)
    # synthesized tasks: the gold calls without the last state-changing one, and no answer
    from elab_hpc.synth.categories import READ_OPS

    for task in load_suite(sources=["synth"], split="dev"):
        gold = task["gold_actions"]
        writes = [i for i, a in enumerate(gold) if env.registry[a["tool"]].op not in READ_OPS]
        wrong = [a for i, a in enumerate(gold) if not writes or i != writes[-1]]
        log, checks = play(env, task, actions=wrong, answer="")
        assert not all(c["passed"] for c in checks), task["id"]
