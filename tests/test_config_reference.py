"""The configuration reference (docs/configuration.md) is generated from the config dataclasses
and must stay in step with them."""
from __future__ import annotations

import dataclasses
import re
import subprocess
import sys

import pytest

from elab_hpc.config import REPO_ROOT, ClusterConfig, PipelineConfig
from elab_hpc.config_reference import DOC_PATH, KINDS, REGENERATE, render, resolve, walk, yaml_comments
from elab_hpc.agent.config import AgentConfig
from elab_hpc.eval.config import EvalConfig
from elab_hpc.synth.config import SynthConfig
from elab_hpc.train.config import TrainConfig


@pytest.fixture(scope="module")
def doc() -> str:
    return render()


def _keys(doc: str) -> set:
    return set(re.findall(r"^\| `([^`]+)` \|", doc, re.M))


def test_committed_reference_is_current(doc):
    committed = (REPO_ROOT / DOC_PATH).read_text()
    assert committed == doc, (f"{DOC_PATH} is stale: a config dataclass (or a field's comment) changed. "
                              f"Regenerate it with `{REGENERATE}` and commit it.")


def test_render_is_deterministic(doc):
    assert render() == doc


def _dotted(cls, prefix=""):
    """Every key of a dataclass tree, as the reference should list it."""
    import typing

    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        key = prefix + f.name
        yield key
        tp = hints[f.name]
        if dataclasses.is_dataclass(tp):
            yield from _dotted(tp, key + ".")
        elif typing.get_origin(tp) is dict and dataclasses.is_dataclass(typing.get_args(tp)[1]):
            yield from _dotted(typing.get_args(tp)[1], key + ".<name>.")


@pytest.mark.parametrize("cls", [TrainConfig, EvalConfig, SynthConfig, AgentConfig, PipelineConfig,
                                 ClusterConfig])
def test_every_field_appears(doc, cls):
    keys = _keys(doc)
    missing = [k for k in _dotted(cls) if k not in keys]
    assert not missing, f"{cls.__name__}: keys missing from the reference: {missing}"


def test_nested_sections_are_dotted_keys(doc):
    keys = _keys(doc)
    assert {"agent.backend.temperature", "optim.lr", "stages.<name>.fn", "sources.<i>.kind"} <= keys


def test_each_kind_has_its_own_table(doc):
    for kind in KINDS:
        assert f'<a id="{kind.anchor}"></a>\n## {kind.title}' in doc
        rows = list(walk(resolve(kind.schema)))
        assert rows and len({r.key for r in rows}) == len(rows)


def _row(doc: str, key: str) -> list:
    line = next(ln for ln in doc.splitlines() if ln.startswith(f"| `{key}` |"))
    return [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]


def test_field_comments_are_the_meaning(doc):
    # the comment lines just above a field
    assert "top N decoder layers" in _row(doc, "lora.last_layers")[3]
    # the comment at the end of its line
    assert _row(doc, "optim.batch_size")[3] == "per device"
    # a comment continued on the next line belongs to the field above, not to the one below
    ext = {r.key: r.meaning for r in walk(resolve("elab_hpc.env.external:ExternalEnvConfig"))}
    assert ext["state_tools"].endswith("read tool without required parameters)")
    assert ext["exclude_tools"] == "registry names never sampled nor shown to agents"
    # a subclass's own comment wins (RunConfig redeclares exclude_tasks)
    synth = {r.key: r.meaning for r in walk(resolve("elab_hpc.synth.run:RunConfig"))}
    assert synth["exclude_tasks"].startswith("eval test split")
    # keys documented in a YAML file instead of the source
    defaults = yaml_comments(str(REPO_ROOT / "elab_hpc/hpc/devcluster/defaults.yaml"))
    dev = {r.key: r.meaning for r in walk(resolve("elab_hpc.hpc.devcluster.settings:DevClusterSettings"),
                                          fallback=defaults)}
    assert "cred_expire" in dev["cred_expire"]


def test_types_and_defaults_are_yaml_literals(doc):
    assert _row(doc, "lora.target_modules")[1:3] == ["list[str]", "`[q_proj, k_proj, v_proj, o_proj]`"]
    assert _row(doc, "model.num_layers")[1:3] == ["int or null", "`null`"]
    assert _row(doc, "model.mixed_precision")[2] == "`'no'`"  # a bare no would read as false
    assert _row(doc, "lora.enabled")[1:3] == ["bool", "`false`"]
    assert _row(doc, "output_dir")[2] == "`runs/train/${name}`"
    assert _row(doc, "agent.backend.kind")[3].startswith("hf (transformers in-process) \\| openai")
    assert _row(doc, "agent")[1] == "section"


def test_cli_writes_the_reference(tmp_path, doc):
    out = tmp_path / "configuration.md"
    subprocess.run([sys.executable, "-m", "elab_hpc.cli", "config", "reference", "--out", str(out)],
                   check=True, capture_output=True, text=True, timeout=120)
    assert out.read_text() == doc
    stdout = subprocess.run([sys.executable, "-m", "elab_hpc.cli", "config", "reference"],
                            check=True, capture_output=True, text=True, timeout=120).stdout
    assert stdout == doc
