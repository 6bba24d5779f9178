"""Task composition over real executed trajectories: intents name the values, categories follow
the rules, checks fail where the work was not done, the LLM composer falls back safely."""
from __future__ import annotations

import random

import pytest

from elab_hpc.env.checks import run_checks, scalar_values
from elab_hpc.synth.categories import READ_OPS, domain_of
from elab_hpc.synth.compose import LLMComposer, TemplateComposer
from elab_hpc.synth.config import SamplerConfig
from elab_hpc.synth.sampler import Sampler, load_context
from elab_hpc.synth.types import CATEGORIES, Step


@pytest.fixture(scope="module")
def ctx():
    return load_context(seed=0, scale="small")


@pytest.fixture(scope="module")
def trajectories(ctx):
    s = Sampler(ctx, SamplerConfig())
    out = list(s.run(80, seed=21))
    s.close()
    return out


def _execute(ctx, calls):
    """Run (tool, canonical args, uses) in a fresh episode; Steps as the sampler records them."""
    ep = ctx.world.episode()
    steps = []
    for tool, args, uses in calls:
        action = ctx.registry[tool]
        obs = ep.call(tool, action.to_native(args))
        assert obs.ok, obs.error
        steps.append(Step(tool, args, action.to_native(args), True, obs.result, None, uses))
    return ep, steps


def test_intents_name_the_values_the_checks_need(trajectories):
    for t in trajectories:
        intent = t.task.intent
        for step in t.steps:
            for key in ("name", "title"):
                value = step.args.get(key)
                if isinstance(value, str) and step.tool.split(".")[1].startswith(("create", "plane_create")):
                    assert value in intent, (key, value, intent)
        for c in t.task.checks:
            if c["type"] == "row_exists":
                for col, value in c["where"].items():
                    from_outputs = {v for s in t.steps for u in s.uses for v in scalar_values(s.args.get(u[2]))}
                    if isinstance(value, str) and len(value) > 3 and value not in from_outputs:
                        # the value itself, or text the intent dictates inside it (a reply quoting its original)
                        assert value in intent or any(len(q) >= 8 and q in value for q in intent.split('"')[1::2]), \
                            (col, value, intent)


def test_thoughts_one_per_pair_and_categories_follow_the_rules(ctx, trajectories):
    seen = set()
    from elab_hpc.synth.records import step_thoughts

    for t in trajectories:
        assert len(t.task.thoughts) == len(t.steps) - 1
        # the opening thought restates the first step's request (it is what the first call does)
        assert t.task.opening.startswith("First, ") and step_thoughts(t, ctx.registry)[0] == t.task.opening
        cat = t.task.category
        seen.add(cat)
        assert cat in CATEGORIES
        actions = [ctx.registry[s.tool] for s in t.steps]
        domains = {domain_of(a.app) for a in actions}
        if cat == "cross_functional":
            assert len(domains) >= 2
        if cat == "search_orchestration":
            assert all(a.op in READ_OPS for a in actions) and len({a.app for a in actions}) == 1
        if cat == "crud":
            assert len({a.app for a in actions}) == 1
        if cat == "version_control":
            assert any(a.app == "gitlab" for a in actions)
        if len(domains) >= 2 and not any(a.app == "gitlab" for a in actions):
            assert cat == "cross_functional"
    assert len(seen) >= 4


def test_state_checks_fail_where_the_work_was_not_done(ctx, trajectories):
    writes = [t for t in trajectories if any(c["type"] in ("row_exists", "field_equals", "row_absent")
                                             for c in t.task.checks)]
    assert writes
    for t in writes:
        state = [c for c in t.task.checks if c["type"] in ("row_exists", "field_equals", "row_absent")]
        with ctx.world.episode() as fresh:
            assert not all(r["passed"] for r in run_checks(state, fresh, "")), (t.tools, state)


def test_read_tasks_ask_for_answer_facts_that_a_wrong_answer_misses(trajectories):
    reads = [t for t in trajectories if any(c["type"].startswith("answer") for c in t.task.checks)]
    assert reads
    for t in reads:
        answers = [c for c in t.task.checks if c["type"].startswith("answer")]
        assert all(r["passed"] for r in run_checks(answers, None, t.task.answer))
        assert not all(r["passed"] for r in run_checks(answers, None, "I could not find it."))
        assert any(w in t.task.intent for w in ("tell me", "let me know", "report", "reply with"))


def test_pattern_intent_for_a_repository_with_a_file(ctx):
    ep, steps = _execute(ctx, [
        ("gitlab.create_repository", {"name": "pricing-engine"}, []),
        ("gitlab.create_or_update_file", {"workspace_id": "placeholder", "file_path": "README.md",
                                          "body": "# Pricing engine", "commit_message": "Add README",
                                          "branch": "main"}, [(0, "id", "workspace_id")]),
    ][:1])
    # the second call takes the new project's id from the first call's output
    new_id = str(steps[0].result["id"])
    args = {"workspace_id": new_id, "file_path": "README.md", "body": "# Pricing engine",
            "commit_message": "Add README", "branch": "main"}
    action = ctx.registry["gitlab.create_or_update_file"]
    obs = ep.call(action.name, action.to_native(args))
    assert obs.ok, obs.error
    steps.append(Step(action.name, args, action.to_native(args), True, obs.result, None, [(0, "id", "workspace_id")]))
    task = TemplateComposer(ctx).compose(steps, ep.diff(), random.Random(0))
    assert task.intent.startswith(("Set up a new project 'pricing-engine'", "On GitLab, set up",
                                   "Repository work: set up", "Please set up"))
    assert "README.md" in task.intent
    assert task.category == "version_control"
    assert len(task.thoughts) == 1
    assert task.thoughts[0].startswith("Use the new repository's id to ") and "README.md" in task.thoughts[0]
    assert all(r["passed"] for r in run_checks(task.checks, ep, task.answer))
    ep.close()


def test_llm_composer_with_a_deterministic_generate_function(ctx, trajectories):
    base = TemplateComposer(ctx)
    t = next(t for t in trajectories if "'" in t.task.intent)
    with ctx.world.episode() as ep:
        for s in t.steps:
            assert ep.call(s.tool, s.native_args).ok
        diff = ep.diff()

    def rewrite(messages):
        # a plain function standing in for a model: it keeps every quoted value
        assert messages[0]["role"] == "system" and "Steps:" in messages[1]["content"]
        quoted = [p for p in messages[1]["content"].split("'")[1::2]]
        return "Hi! Please take care of this: " + ", ".join(f"'{q}'" for q in quoted) + "."

    llm = LLMComposer(base, rewrite)
    task = llm.compose(t.steps, diff, random.Random(0))
    assert task.intent.startswith("Hi! Please take care of this") and llm.fallbacks == 0
    template = base.compose(t.steps, diff, random.Random(0))
    assert task.checks == template.checks and task.category == template.category

    for bad in (lambda m: "", lambda m: "Do the thing.", lambda m: "word " * 500):
        llm = LLMComposer(base, bad)
        assert llm.compose(t.steps, diff, random.Random(0)).intent == template.intent
        assert llm.fallbacks == 1

    def broken(messages):
        raise ConnectionError("backend down")

    assert LLMComposer(base, broken).compose(t.steps, diff, random.Random(0)).intent == template.intent


def test_a_broken_values_file_is_a_config_error_naming_the_key(tmp_path):
    import yaml

    from elab_hpc.errors import ConfigError
    from elab_hpc.synth.args import DEFAULT_VALUES, Values

    good = yaml.safe_load(DEFAULT_VALUES.read_text())
    for key, bad, needle in (("joiners", None, "'joiners'"), ("recipes", {"gitlab.push_files": "x"}, "recipes.gitlab"),
                             ("phrases", {"CREATE": ["x"]}, "no variants for CREATE_VERB")):
        data = dict(good)
        if bad is None:
            del data[key]
        else:
            data[key] = bad
        path = tmp_path / f"{key}.yaml"
        path.write_text(yaml.safe_dump(data))
        with pytest.raises(ConfigError, match=needle.replace(".", r"\.")):
            Values.load(path)
    assert Values.load()["recipes"]
