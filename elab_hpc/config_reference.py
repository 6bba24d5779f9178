"""The configuration reference (docs/configuration.md), generated from the config dataclasses.

Every config of the project is a dataclass tree; this module walks those trees (nested sections
become dotted keys such as `optim.lr` or `agent.backend.temperature`) and renders one markdown
document: per config kind where its YAML files live, how to override a key, and a table
key | type | default | meaning. The meaning of a field is the comment written next to it in the
source — the comment lines just above the field and the comment at the end of its line — so the
reference says what the code says and cannot drift from it:

    elab-hpc config reference --out docs/configuration.md

The output is deterministic (declaration order, no timestamps); tests/test_config_reference.py
checks that the committed document equals a fresh render.
"""
from __future__ import annotations

import ast
import dataclasses
import functools
import importlib
import inspect
import io
import re
import tokenize
import types
import typing
from dataclasses import MISSING, dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import yaml

REGENERATE = "elab-hpc config reference --out docs/configuration.md"
DOC_PATH = "docs/configuration.md"


@dataclass(frozen=True)
class Kind:
    """One kind of config: the dataclass at its root and how a user reaches it."""

    anchor: str  # the heading's id (lowercase words and dashes)
    title: str
    schema: str  # "module:Class"
    files: str  # where its YAML files live (markdown)
    override: str  # how to override a key (markdown)
    intro: str = ""  # extra markdown under the heading
    comments_yaml: str = ""  # a YAML file whose comments describe the keys (when the source has none)


KINDS: Tuple[Kind, ...] = (
    Kind(
        anchor="pipelines",
        title="Pipelines",
        schema="elab_hpc.config:PipelineConfig",
        files="`configs/pipeline/*.yaml` (e.g. `quickstart.yaml`, `hpc_demo.yaml`, `adapt.yaml`)",
        override="`elab-hpc pipeline run configs/pipeline/quickstart.yaml stages.synth.shards=4 "
                 "cluster=devcluster cluster.time_min=30`. `cluster:` in the YAML may be a profile name "
                 "(see [Cluster profiles](#cluster-profiles)); the override `cluster=NAME` picks another "
                 "profile and `cluster.KEY=VALUE` changes one field of it. `+stages.NAME.params.KEY=VALUE` "
                 "adds a key to a stage's free-form `params`. `elab-hpc adapt ... -o KEY=VALUE` overrides "
                 "the adaptation pipeline the same way.",
        intro="A pipeline is a DAG of stages; `stages` maps a stage name (`<name>` below) to one stage.",
    ),
    Kind(
        anchor="cluster-profiles",
        title="Cluster profiles",
        schema="elab_hpc.config:ClusterConfig",
        files="`configs/cluster/*.yaml` (`local`, `devcluster`, `a100`, `h200`); the defaults below are "
              "the embedded `local` profile",
        override="as part of a pipeline: `cluster.KEY=VALUE`; a stage's `resources:` overrides keys for "
                 "that stage only; training: `cluster_overrides=[time_min=30]`; containers: "
                 "`build_resources`.",
    ),
    Kind(
        anchor="synthesis",
        title="Synthesis",
        schema="elab_hpc.synth.run:RunConfig",
        files="`configs/synth/*.yaml` (default `configs/synth/default.yaml`)",
        override="`elab-hpc synth run configs/synth/default.yaml n=400 shards=4 sampler.max_depth=3 "
                 "arena.apps=[mail,calendar]`; a pipeline's synth stage passes "
                 "`params.overrides=[...]`.",
        intro="`SynthConfig` itself is in `elab_hpc/synth/config.py`; `elab-hpc synth` loads this subclass.",
    ),
    Kind(
        anchor="training",
        title="Training",
        schema="elab_hpc.train.config:TrainConfig",
        files="`configs/train/*.yaml`; a config is named by path or by file name (`sft_tiny`)",
        override="`elab-hpc train sft sft_tiny optim.max_steps=20 lora.enabled=true "
                 "model.mixed_precision=bf16`; `kind` is set by the subcommand (`sft`, `dpo`, `grpo`) "
                 "and must match the file's. A pipeline's training stage passes `params.overrides=[...]`.",
    ),
    Kind(
        anchor="evaluation",
        title="Evaluation",
        schema="elab_hpc.eval.config:EvalConfig",
        files="`configs/eval/*.yaml` (default `configs/eval/default.yaml`, another with `--config`)",
        override="`elab-hpc eval run model=tiny tasks=arena:test trials=4 agent.max_turns=6 "
                 "agent.backend.temperature=0.7 rewards.r3_mode=all`. `model` (oracle, tiny, "
                 "`hf:<path>`, `openai:<url>[#name]`, `vllm:<path>`) sets `agent.backend.kind` and "
                 "`agent.backend.model`.",
        intro="`agent` is the [agent config](#agents), `rewards` the reward of `elab_hpc/eval/rewards.py` "
              "and `prices` the token prices of `elab_hpc/eval/metrics.py`.",
    ),
    Kind(
        anchor="agents",
        title="Agents",
        schema="elab_hpc.agent.config:AgentConfig",
        files="`configs/agent/*.yaml` (e.g. `react_tiny.yaml`, `fc_openai.yaml`)",
        override="inside an evaluation the same keys sit under `agent.` (`agent.backend.temperature=0.7`); "
                 "from Python, `load_agent_config(\"react_tiny\", [\"backend.temperature=0.7\"])`. "
                 "`backend.api_key` is refused: name the environment variable in `backend.api_key_env`.",
    ),
    Kind(
        anchor="containers",
        title="Containers",
        schema="elab_hpc.hpc.containers.spec:ContainersConfig",
        files="`configs/containers.yaml` (another with `--config`)",
        override="`elab-hpc containers build build_cluster=local images.arena.base=python:3.12-slim`.",
        intro="`images` maps an image name (`<name>` below) to its spec.",
    ),
    Kind(
        anchor="external-environments",
        title="External environments (your own MCP servers)",
        schema="elab_hpc.env.external:ExternalEnvConfig",
        files="anywhere, e.g. `examples/byo_mcp/env.yaml`; named by synthesis (`env=PATH`) and by "
              "evaluation tasks (`tasks=mcp:TASKS.jsonl#PATH`)",
        override="edit the YAML (from Python: `load_external_env(path, [\"KEY=VALUE\"])`); list items "
                  "are addressed by index, e.g. `sources.0.timeout_s=60`.",
        intro="`sources` is a list of MCP servers (`<i>` below is the item's index).",
    ),
    Kind(
        anchor="tool-surface-changes",
        title="Tool-surface changes (adaptation)",
        schema="arena.core.surface:SurfaceChange",
        files="`configs/adapt/*.yaml` (e.g. `configs/adapt/default.yaml`)",
        override="no `key=value` overrides: edit the YAML; unknown keys are refused. Used by "
                 "`elab-hpc adapt RUN_DIR --changes FILE`, `arena.surface=FILE` (synthesis) and "
                 "`surface=FILE` (evaluation).",
    ),
    Kind(
        anchor="dev-cluster-settings",
        title="Dev cluster settings",
        schema="elab_hpc.hpc.devcluster.settings:DevClusterSettings",
        files="defaults in `elab_hpc/hpc/devcluster/defaults.yaml`; the values in force are saved to "
              "`<run_dir>/devcluster.json`",
        override="`elab-hpc cluster up base_port=18817 cred_expire=5`; later commands reuse them.",
        comments_yaml="elab_hpc/hpc/devcluster/defaults.yaml",
    ),
)

# The configs the project loads whose keys are not a dataclass (free-form maps, documented in the file).
OTHER_FILES = (
    ("`configs/registry/aliases.yaml`", "canonical parameter names and the native names that mean the same"),
    ("`configs/registry/corrections.yaml`", "hand corrections of discovered tool metadata"),
    ("`configs/deepspeed/*.json`", "DeepSpeed configs, named by the training key `deepspeed`"),
)


# --------------------------------------------------------------------------- source comments

@functools.lru_cache(maxsize=None)
def _source_map(path: str) -> Tuple[Dict[int, str], frozenset, ast.Module]:
    """Comments by line, the lines that hold code, and the AST of one source file."""
    text = Path(path).read_text()
    comments: Dict[int, str] = {}
    code_lines = set()
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
            tokenize.ENDMARKER, tokenize.ENCODING}
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type == tokenize.COMMENT:
            comments[tok.start[0]] = tok.string
        elif tok.type not in skip:
            code_lines.update(range(tok.start[0], tok.end[0] + 1))
    return comments, frozenset(code_lines), ast.parse(text)


def _comment_text(raw: str) -> str:
    return raw.lstrip("#").strip()


def _is_continuation(raw: str) -> bool:
    """`#   more text` aligned under the comment at the end of the line above."""
    return bool(re.match(r"#\s{2,}\S", raw))


def _class_node(cls: type) -> Optional[ast.ClassDef]:
    try:
        path = inspect.getsourcefile(cls)
    except TypeError:
        return None
    if not path:
        return None
    _, _, tree = _source_map(path)
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == cls.__name__:
            return node
    return None


@functools.lru_cache(maxsize=None)
def _own_comments(cls: type) -> Dict[str, str]:
    """{field: comment} for the fields this class itself declares."""
    node = _class_node(cls)
    if node is None:
        return {}
    comments, code_lines, _ = _source_map(inspect.getsourcefile(cls))
    out: Dict[str, str] = {}
    used: set = set()  # continuation lines already given to a field
    for stmt in node.body:
        if not (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)):
            continue
        start, end = stmt.lineno, stmt.end_lineno or stmt.lineno
        above: List[str] = []
        line = start - 1
        while line in comments and line not in code_lines and line not in used:
            above.insert(0, _comment_text(comments[line]))
            line -= 1
        trailing = [_comment_text(comments[n]) for n in range(start, end + 1) if n in comments]
        if trailing:
            line = end + 1
            while (line in comments and line not in code_lines and _is_continuation(comments[line])):
                trailing.append(_comment_text(comments[line]))
                used.add(line)
                line += 1
        above_text = " ".join(t for t in above if t)
        trailing_text = " ".join(t for t in trailing if t)
        text = " — ".join(t for t in (above_text, trailing_text) if t)
        if text:
            out[stmt.target.id] = text
    return out


def _class_doc(cls: type) -> str:
    node = _class_node(cls)
    doc = ast.get_docstring(node) if node is not None else None
    return " ".join(doc.split()) if doc else ""


def field_comment(cls: type, name: str) -> str:
    """The comment of field `name`, from the most derived class that declares it."""
    for klass in cls.__mro__:
        if dataclasses.is_dataclass(klass) and name in klass.__dict__.get("__annotations__", {}):
            text = _own_comments(klass).get(name)
            if text is not None:
                return text
            return ""
    return ""


@functools.lru_cache(maxsize=None)
def yaml_comments(path: str) -> Dict[str, str]:
    """{top-level key: the comment lines above it and at the end of its line} of a YAML file."""
    out: Dict[str, str] = {}
    block: List[str] = []
    for raw in Path(path).read_text().splitlines():
        stripped = raw.strip()
        if not stripped:
            block = []
        elif stripped.startswith("#"):
            block.append(_comment_text(stripped))
        else:
            m = re.match(r"^([A-Za-z_][\w-]*)\s*:(.*)$", raw)
            if m:
                tail = m.group(2).split(" #", 1)
                parts = block + ([_comment_text(tail[1])] if len(tail) > 1 else [])
                if parts:
                    out[m.group(1)] = " ".join(parts)
            block = []
    return out


# --------------------------------------------------------------------------- types and defaults

def _unwrap_optional(tp: Any) -> Tuple[Any, bool]:
    args = typing.get_args(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return (rest[0] if len(rest) == 1 else typing.Union[tuple(rest)]), True
    return tp, False


def type_name(tp: Any) -> str:
    tp, optional = _unwrap_optional(tp)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        name = " or ".join(type_name(a) for a in args)
    elif origin in (list, List):
        name = f"list[{type_name(args[0])}]" if args else "list"
    elif origin in (dict, Dict):
        name = f"dict[{type_name(args[0])}, {type_name(args[1])}]" if args else "dict"
    elif tp is Any:
        name = "any"
    elif isinstance(tp, type):
        name = tp.__name__
    else:
        name = str(tp).replace("typing.", "")
    return f"{name} or null" if optional else name


def yaml_literal(value: Any) -> str:
    """A value as it would be written in a YAML file (flow style, one line)."""
    text = yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=10**9, allow_unicode=True)
    lines = [ln for ln in text.strip().splitlines() if ln != "..."]
    return " ".join(lines)


def _default(f: dataclasses.Field) -> Any:
    if f.default is not MISSING:
        return f.default
    if f.default_factory is not MISSING:  # type: ignore[misc]
        return f.default_factory()  # type: ignore[misc]
    return MISSING


# --------------------------------------------------------------------------- walking

@dataclass(frozen=True)
class Row:
    key: str
    type: str
    default: str
    meaning: str


def _dataclass_arg(tp: Any) -> Optional[type]:
    tp, _ = _unwrap_optional(tp)
    return tp if isinstance(tp, type) and dataclasses.is_dataclass(tp) else None


def walk(cls: type, prefix: str = "", fallback: Optional[Dict[str, str]] = None) -> Iterator[Row]:
    """One row per key of the dataclass tree under `cls`; sections first, then their keys."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        tp = hints.get(f.name, f.type)
        key = prefix + f.name
        meaning = field_comment(cls, f.name) or (fallback or {}).get(f.name, "")
        default = _default(f)
        section = _dataclass_arg(tp)
        inner, _ = _unwrap_optional(tp)
        origin, args = typing.get_origin(inner), typing.get_args(inner)
        if section is not None:
            yield Row(key, "section", "", meaning or _class_doc(section))
            yield from walk(section, key + ".")
            continue
        shown = "" if default is MISSING else yaml_literal(default)
        if origin in (dict, Dict) and len(args) == 2 and _dataclass_arg(args[1]):
            item = _dataclass_arg(args[1])
            yield Row(key, f"dict[str, {item.__name__}]", shown, meaning or _class_doc(item))
            yield from walk(item, key + ".<name>.")
        elif origin in (list, List) and args and _dataclass_arg(args[0]):
            item = _dataclass_arg(args[0])
            yield Row(key, f"list[{item.__name__}]", shown, meaning or _class_doc(item))
            yield from walk(item, key + ".<i>.")
        else:
            yield Row(key, type_name(tp), shown, meaning)


def resolve(schema: str) -> type:
    module, _, name = schema.partition(":")
    return getattr(importlib.import_module(module), name)


def _root() -> Path:
    from elab_hpc.config import REPO_ROOT

    return REPO_ROOT


def _escape_markdown(text: str) -> str:
    return (text.replace("\\", "\\\\").replace("&", "&amp;").replace("<", "&lt;")
            .replace(">", "&gt;").replace("*", "\\*").replace("`", "\\`"))


def _cell(text: str) -> str:
    """Text for a table cell: pipes escaped everywhere (GFM tables), and outside `code spans`
    the characters markdown would eat (`<tag>` as HTML, `*` as emphasis)."""
    parts = text.replace("\n", " ").split("`")
    if len(parts) % 2 == 0:  # an unpaired backtick: no code spans
        out = _escape_markdown(text.replace("\n", " "))
    else:
        out = "`".join(p if i % 2 else _escape_markdown(p) for i, p in enumerate(parts))
    return out.replace("|", "\\|")


def _code(text: str) -> str:
    if not text:
        return ""
    fence = "``" if "`" in text else "`"
    pad = " " if fence == "``" else ""
    escaped = text.replace("|", "\\|")
    return f"{fence}{pad}{escaped}{pad}{fence}"


def render_kind(kind: Kind) -> str:
    cls = resolve(kind.schema)
    module_path = cls.__module__.replace(".", "/") + ".py"
    fallback = yaml_comments(str(_root() / kind.comments_yaml)) if kind.comments_yaml else None
    out = [f'<a id="{kind.anchor}"></a>', f"## {kind.title}", "",
           f"- schema: `{cls.__name__}` in `{module_path}`",
           f"- files: {kind.files}",
           f"- override: {kind.override}"]
    doc = _class_doc(cls)
    if doc:
        out += ["", doc]
    if kind.intro:
        out += ["", kind.intro]
    out += ["", "| key | type | default | meaning |", "|---|---|---|---|"]
    for row in walk(cls, fallback=fallback):
        out.append(f"| `{row.key}` | {_cell(row.type)} | {_code(row.default)} | {_cell(row.meaning)} |")
    return "\n".join(out) + "\n"


HEADER = f"""\
# Configuration reference

<!-- Generated from the config dataclasses by `{REGENERATE}`.
     Do not edit by hand: change the dataclass (and the comment next to the field), then regenerate. -->

Every config in elab-hpc is a dataclass tree. A YAML file is merged onto the dataclass defaults
and `key=value` overrides on the command line are applied on top, by one strict loader
(`elab_hpc/config.py`):

- keys are dotted paths into the tree: `optim.lr=1e-4`, `agent.backend.temperature=0.7`;
- a value is read as YAML: `apps=[mail,calendar]`, `model.num_layers=null`, `lora.enabled=true`;
- an unknown key, a typo (the closest key is suggested) or a wrong type is an error naming the key,
  raised before anything runs or is submitted; value checks (ranges, choices, files) follow;
- `+key=value` adds a key inside a free-form dict (a stage's `params`);
- `${{name}}` in a default is an interpolation of another key (`out_dir: runs/eval/${{name}}`).

In the tables, `section` rows group the keys below them, `<name>` stands for a key of a dict of
sections and `<i>` for the index of a list item; "or null" marks keys that may be `null`.
The meaning column is the comment written next to the field in the source.
"""


def render() -> str:
    """The whole reference (deterministic)."""
    parts = [HEADER, "Contents: " + " · ".join(f"[{k.title}](#{k.anchor})" for k in KINDS), ""]
    parts += [render_kind(k) for k in KINDS]
    parts.append("## Other config files\n\nNot dataclasses (free-form maps, explained in the file itself):\n")
    parts += [f"- {path}: {what}" for path, what in OTHER_FILES]
    return "\n".join(parts) + "\n"


def write(path: str | Path) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(render())
    return p
