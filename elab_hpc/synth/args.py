"""Constraint-aware argument filling.

For each parameter of a tool, in this order:
1. local memory along data-flow slots (an earlier step's output: this makes dependency chains,
   and the step records the edge it used),
2. global memory (entities that exist in the world),
3. a generated value from the schema and `configs/synth/values.yaml` (recipes for JSON-string
   and nested parameters; enum → choice; integer bounds; dates after the world's today; e-mail
   addresses and usernames of real users; realistic titles and text from templates, which may
   mention an earlier step's title).

Parameters that name the thing a CREATE makes (`name`, `title`, a new user's e-mail, a new file's
path) always get a fresh value: reusing an existing one would only collide. Deterministic given
the `random.Random` passed in.
"""
from __future__ import annotations

import datetime as dt
import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import yaml

from elab_hpc.config import CONFIG_ROOT
from elab_hpc.errors import ConfigError
from elab_hpc.synth.memory import Found, LocalMemory, Memory, SlotMap, is_reference, scalar_fields

DEFAULT_VALUES = CONFIG_ROOT / "synth" / "values.yaml"
TEXT_PARAMS = {"body", "description", "note", "reason", "remarks", "comment", "message", "commit_message",
               "merge_commit_message", "content", "summary"}
EMAIL_PARAMS = {"to", "cc", "email", "customer", "email_id_address", "share_with"}
USER_LIST_PARAMS = {"attendees", "users"}
REQUIRED_VALUES = {
    "topics": list, "sentences": list, "mention_sentences": list, "title_patterns": list, "nouns": list,
    "fresh_params": list, "recipes": dict, "phrases": dict, "joiners": list, "final_joiners": list,
    "scope_styles": list, "details_styles": list, "answer_requests": dict, "intent_openings": dict,
    "thoughts": dict, "entity_names": dict, "app_names": dict,
}
_PLACEHOLDER = re.compile(r"\{([A-Za-z_]+)(?::([^}]*))?([+][^}]*)?\}")


@dataclass
class Values:
    """The vocabulary and recipes of values.yaml."""

    data: Dict[str, Any]

    @classmethod
    def load(cls, path: Optional[str | Path] = None) -> "Values":
        p = Path(path) if path else DEFAULT_VALUES
        if not p.is_file():
            raise ConfigError(f"synth values file not found: {p}")
        try:
            data = yaml.safe_load(p.read_text()) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{p}: not valid YAML: {exc}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{p}: top level must be a mapping")
        for key, kind in REQUIRED_VALUES.items():
            if key not in data:
                raise ConfigError(f"{p}: missing key {key!r}")
            if not isinstance(data[key], kind) or not data[key]:
                raise ConfigError(f"{p}: {key!r} must be a non-empty {kind.__name__}")
        missing = [op for op in ("CREATE", "CREATE_VERB", "LIST", "SEARCH", "GET", "DELETE", "UPDATE")
                   if not data["phrases"].get(op)]
        if missing:
            raise ConfigError(f"{p}: phrases: no variants for {', '.join(missing)}")
        for tool, recipe in data["recipes"].items():
            if not isinstance(recipe, dict):
                raise ConfigError(f"{p}: recipes.{tool} must be a mapping of parameter -> template")
        return cls(data)

    def __getitem__(self, key: str) -> Any:
        return self.data.get(key, [])


@dataclass
class Filled:
    args: Dict[str, Any]
    uses: List[Tuple[int, str, str]] = field(default_factory=list)  # (step, field, param)


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "item"


class ArgFiller:
    def __init__(self, slotmap: SlotMap, global_memory: Memory, values: Optional[Values] = None,
                 today: str = "2026-03-02", optional_prob: float = 0.35):
        self.slots = slotmap
        self.glob = global_memory
        self.values = values or Values.load()
        self.today = dt.date.fromisoformat(today[:10])
        self.optional_prob = optional_prob
        self.fresh_params = set(self.values["fresh_params"])
        self.fresh_identity_tools = set(self.values["fresh_identity_tools"])
        self.fresh_tool_params: Dict[str, List[str]] = dict(self.values["fresh_tool_params"] or {})
        self.identity_params = set(self.values["identity_params"] or [])
        self._folders: Dict[str, List[str]] = {}
        self._together_cache: Dict[str, List[Dict[str, Any]]] = {}

    # -- text -------------------------------------------------------------------------
    def _vocab(self, rng: random.Random) -> Dict[str, str]:
        topic = rng.choice(self.values["topics"])
        words = {"topic": topic, "Topic": _cap(topic), "noun": rng.choice(self.values["nouns"]),
                 "problem": rng.choice(self.values["problems"] or ["needs attention"]),
                 "adjective": rng.choice(self.values["adjectives"] or ["new"])}
        words["Adjective"] = _cap(words["adjective"])
        return words

    def title(self, rng: random.Random) -> str:
        return rng.choice(self.values["title_patterns"]).format(**self._vocab(rng))

    def sentence(self, rng: random.Random, ref: Optional[str] = None) -> str:
        if ref:
            core = rng.choice(self.values["mention_sentences"]).format(ref=ref)
        else:
            core = rng.choice(self.values["sentences"]).format(**self._vocab(rng))
        opener = rng.choice(self.values["openers"] or [""])
        if opener and core[1:2].islower():  # "Customer reported" → "customer reported", "QA found" stays
            core = core[:1].lower() + core[1:]
        return f"{opener}{core}{rng.choice(self.values['closers'] or [''])}"

    def person(self, rng: random.Random) -> Tuple[str, str]:
        return rng.choice(self.values["first_names"]), rng.choice(self.values["last_names"])

    # -- memory lookups -----------------------------------------------------------------
    def _folder(self, app: str, rng: random.Random) -> str:
        listed = self.values["dirs"].get(app) if isinstance(self.values["dirs"], dict) else None
        if listed:
            return rng.choice(listed)
        if app not in self._folders:
            recs = self.glob.records.get(f"{app}:file", [])
            self._folders[app] = [r["path"] for r in recs if r.get("type") == "folder" and r.get("path")] or ["/"]
        return rng.choice(self._folders[app])

    def _user_value(self, rng: random.Random, local: Optional[LocalMemory], want_email: bool
                    ) -> Tuple[Optional[Any], Optional[Found]]:
        slot = "*:email" if want_email else "*:username"
        if local is not None:
            f = local.latest(slot)
            if f is not None:
                return f.value, f
        f = self.glob.pick(slot, rng)
        if f is not None and want_email:
            # prefer company addresses: external ones are customers, not colleagues
            company = [x for x in self.glob.get(slot) if "acme-corp" in str(x.value)]
            if company:
                f = rng.choice(company)
        return (f.value, None) if f is not None else (None, None)

    # -- recipes ------------------------------------------------------------------------
    def render(self, template: Any, rng: random.Random, recipe: Dict[str, Any], app: str) -> Any:
        if isinstance(template, dict):
            return {k: self.render(v, rng, recipe, app) for k, v in template.items()}
        if isinstance(template, list):
            return [self.render(v, rng, recipe, app) for v in template]
        if not isinstance(template, str):
            return template
        whole = _PLACEHOLDER.fullmatch(template)
        if whole:  # a lone placeholder keeps its type (int, JSON)
            return self._expand(whole, rng, recipe, app)
        return _PLACEHOLDER.sub(lambda m: str(self._expand(m, rng, recipe, app)), template)

    def _expand(self, m: "re.Match[str]", rng: random.Random, recipe: Dict[str, Any], app: str) -> Any:
        name, arg, offset = m.group(1), m.group(2), m.group(3)
        if name == "title":
            return self.title(rng)
        if name == "Title":
            return _cap(self.title(rng))
        if name == "sentence":
            return self.sentence(rng)
        if name in ("slug", "Slug"):
            s = _slug(self.title(rng)) + f"-{rng.randint(10, 99)}"
            return s if name == "slug" else _cap(s)
        if name in ("topic", "Topic"):
            t = rng.choice(self.values["topics"])
            return t if name == "topic" else _cap(t)
        if name == "word":
            return rng.choice(self.values["topics"]).split()[0]
        if name == "company":
            return rng.choice(self.values["companies"])
        if name == "money":
            return round(rng.uniform(20, 900), 2)
        if name == "int":
            lo, hi = (int(x) for x in arg.split("-"))
            return rng.randint(lo, hi)
        if name == "choice":
            pick = rng.choice(arg.split("|"))
            return int(pick) if re.fullmatch(r"-?\d+", pick) else pick
        if name in ("date", "datetime"):
            return self._date(rng, offset or "+1", with_time=name == "datetime")
        if name == "email":
            return self._user_value(rng, None, True)[0]
        if name == "username":
            return self._user_value(rng, None, False)[0]
        if name == "dir":
            return self._folder(arg, rng)
        if name == "json":
            return json.dumps(self.render(recipe[arg], rng, recipe, app))
        raise ConfigError(f"values.yaml: unknown placeholder {{{name}}}")

    def _date(self, rng: random.Random, offset: str, with_time: bool) -> str:
        # "+N", "+N..M", "+N+1h"
        hours = 0
        if offset.endswith("h"):
            offset, h = offset[:-1].rsplit("+", 1)
            hours = int(h)
        span = offset.lstrip("+")
        if ".." in span:
            lo, hi = (int(x) for x in span.split(".."))
            days = rng.randint(lo, hi)
        else:
            days = int(span)
        day = self.today + dt.timedelta(days=days)
        if not with_time:
            return day.isoformat()
        return f"{day.isoformat()}T{10 + hours:02d}:00"

    # -- schema-driven generation ---------------------------------------------------------
    def generate(self, action: Any, param: str, schema: Dict[str, Any], rng: random.Random,
                 local: Optional[LocalMemory], ctx: Dict[str, Any], uses: List[Tuple[int, str, str]],
                 required: bool = True) -> Any:
        """A value for `param` from its schema alone (plus the vocabulary); None if there is none."""
        value = self._generate(action, param, schema, rng, local, ctx, uses, required)
        pattern = schema.get("pattern")
        if isinstance(value, str) and pattern and not re.search(pattern, value):
            for variant in (_slug(value), _slug(value).replace("-", "_"), "item-" + str(rng.randint(100, 999))):
                if re.search(pattern, variant):
                    return variant
            return None
        return value

    def _generate(self, action: Any, param: str, schema: Dict[str, Any], rng: random.Random,
                  local: Optional[LocalMemory], ctx: Dict[str, Any], uses: List[Tuple[int, str, str]],
                  required: bool) -> Any:
        kind = schema.get("type")
        desc = str(schema.get("description", "")).lower()
        if "enum" in schema:
            return rng.choice(schema["enum"])
        if kind == "boolean":
            return rng.random() < 0.5
        if kind == "integer":
            lo = schema.get("minimum", 1)
            hi = schema.get("maximum", lo + 9)
            if param in ("limit", "page_size", "per_page"):
                return min(hi, max(lo, rng.choice([5, 10, 20])))
            if param in ("page", "offset"):
                return max(lo, 1 if param == "page" else 0)
            return rng.randint(lo, min(hi, lo + 9))
        if kind == "number":
            if "rate" in param or "tva" in param or "tax" in param:
                return rng.choice([0.0, 10.0, 20.0])
            if param in ("quantity", "qty", "duration", "hours"):
                return float(rng.randint(1, 8))
            return round(rng.uniform(20, 2000), 2)
        if kind == "array":
            items = schema.get("items") or {}
            if param in EMAIL_PARAMS or "e-mail" in desc or "email" in desc:
                v, f = self._user_value(rng, local, True)
                if f is not None:
                    uses.append((f.step, f.field, param))
                return [v] if v else []
            if param in USER_LIST_PARAMS or "username" in desc:
                v, f = self._user_value(rng, local, False)
                if f is not None:
                    uses.append((f.step, f.field, param))
                return [v] if v else []
            if param == "labels":
                return rng.sample(self.values["labels"], 1)
            if items.get("type") == "string":
                return [rng.choice(self.values["topics"]).split()[0]]
            return None  # arrays of objects need a recipe
        if kind == "object":
            return None  # free-form objects need a recipe
        # strings
        if "date" in param or "yyyy-mm-dd" in desc or param in ("time_min", "time_max", "time"):
            with_time = "hh:mm" in desc or param in ("time_min", "time_max", "time")
            is_end = any(w in param for w in ("end", "to", "max", "due", "close", "fin"))
            start = ctx.get("_start_days")
            if is_end and start is not None:
                days = start + rng.randint(1, 4)
            else:
                days = rng.randint(3, 30)
                ctx["_start_days"] = days
            day = self.today + dt.timedelta(days=days)
            return f"{day.isoformat()}T{rng.choice([9, 10, 11, 14, 15]):02d}:00" if with_time else day.isoformat()
        if param == "color" or "hex" in desc:
            return rng.choice(self.values["colors"])
        if param in ("email",) or "e-mail" in desc or "email" in desc:
            if self.is_fresh(action, param):
                first, last = ctx.setdefault("_person", self.person(rng))
                return f"{first}.{last}.{rng.randint(1, 99)}@example.org".lower()
            v, f = self._user_value(rng, local, True)
            if f is not None:
                uses.append((f.step, f.field, param))
            if v:
                return v
        if param in ("first_name", "firstname"):
            return ctx.setdefault("_person", self.person(rng))[0]
        if param in ("last_name", "lastname"):
            return ctx.setdefault("_person", self.person(rng))[1]
        if param in ("user_id", "login") and self.is_fresh(action, param):
            first, last = ctx.setdefault("_person", self.person(rng))
            return f"{first}.{last}{rng.randint(1, 99)}".lower()
        if param == "password":
            return f"S3cure-{rng.randint(1000, 9999)}!"
        if param in ("query", "search_term", "pattern"):
            # a word from a real title finds something; a random one rarely does
            f = self.glob.pick("*:title", rng)
            word = str(f.value).split()[0] if f else rng.choice(self.values["topics"]).split()[0]
            return word if param != "pattern" else f"*{word.lower()}*"
        if param in TEXT_PARAMS or kind is None:
            ref = local.latest("*:title") if local is not None else None
            if ref is not None and rng.random() < 0.9:
                uses.append((ref.step, ref.field, param))
                return self.sentence(rng, ref=str(ref.value))
            return self.sentence(rng)
        if param in ("name", "title", "label", "subject") or "name" in param or "title" in param:
            return self.title(rng)
        if param in ("ref", "identifier"):
            return f"{_slug(rng.choice(self.values['topics']))[:3].upper()}{rng.randint(100, 999)}"
        if param == "branch" or param.endswith("_branch"):
            return f"feature/{_slug(self.title(rng))[:24]}-{rng.randint(10, 99)}"
        if param == "file_path" and self.is_fresh(action, param):
            return f"{self._folder(action.app, rng).rstrip('/')}/{_slug(self.title(rng))}.md"
        if not required:
            return None  # an optional string we know nothing about is better left out
        value = _slug(self.title(rng)).replace("-", "_")
        return value

    def _together(self, action: Any) -> List[Dict[str, Any]]:
        """Harvested records that give values for two or more of the tool's reference parameters
        at once (an issue together with ITS project): mixing values from different records would
        ask for issue 6 of a project that has no issue 6."""
        if action.name in self._together_cache:
            return self._together_cache[action.name]
        params = {p: {s for s, k in self.slots.param_slots(action, p, spec.schema) if k == "key"}
                  for p, spec in action.params.items() if is_reference(p) and not self.is_fresh(action, p)}
        params = {p: s for p, s in params.items() if s}
        out: List[Dict[str, Any]] = []
        if len(params) >= 2:
            for key, items in self.glob.records.items():
                app, entity = key.split(":", 1)
                if app != action.app:
                    continue
                for item in items:
                    slots: Dict[str, Any] = {}
                    for fld, val in scalar_fields(item):
                        for slot in self.slots.field_slots(app, entity, fld, val):
                            slots.setdefault(slot, val)
                    got = {p: slots[min(ss & slots.keys())] for p, ss in params.items() if ss & slots.keys()}
                    if len(got) >= 2:
                        out.append(got)
        self._together_cache[action.name] = out[:64]
        return self._together_cache[action.name]

    def is_fresh(self, action: Any, param: str) -> bool:
        """Does `param` name the record a CREATE makes (so it gets a new value, never a found one)?"""
        if action.op != "CREATE":
            return False
        if param in self.fresh_params or param in self.fresh_tool_params.get(action.name, ()):
            return True
        return action.name in self.fresh_identity_tools and param in self.identity_params

    # -- the filler -----------------------------------------------------------------------
    def fill(self, action: Any, rng: random.Random, local: Optional[LocalMemory] = None,
             use_local: bool = True) -> Optional[Filled]:
        """Canonical arguments for `action`, or None if a required parameter cannot be filled."""
        args: Dict[str, Any] = {}
        uses: List[Tuple[int, str, str]] = []
        ctx: Dict[str, Any] = {}
        recipe = self.values["recipes"].get(action.name, {}) if isinstance(self.values["recipes"], dict) else {}
        together = self._together(action)
        if together:
            ctx["_record"] = rng.choice(together)
        for param, spec in sorted(action.params.items(), key=lambda kv: _end_like(kv[0])):
            if not spec.required and rng.random() >= self.optional_prob:
                if not (use_local and local is not None and local.has(self.slots.param_slot(action, param))
                        and is_reference(param)):
                    continue  # optional and not a data-flow key this trajectory can feed
            value = self._value(action, param, spec.schema, rng, local if use_local else None, recipe, ctx, uses,
                                spec.required)
            if value is None:
                if spec.required:
                    return None
                continue
            args[param] = value
        return Filled(args, uses)

    def _value(self, action: Any, param: str, schema: Dict[str, Any], rng: random.Random,
               local: Optional[LocalMemory], recipe: Dict[str, Any], ctx: Dict[str, Any],
               uses: List[Tuple[int, str, str]], required: bool = True) -> Any:
        if param in recipe:
            return self.render(recipe[param], rng, recipe, action.app)
        fresh = self.is_fresh(action, param)
        slots = [] if fresh else [s for s, kind in self.slots.param_slots(action, param, schema) if kind == "key"]
        if local is not None:
            # newest first: the step just made is what the next one most likely acts on
            found = [f for s in slots for f in local.get(s)]
            for f in sorted(found, key=lambda f: -f.step):
                value = coerce(f.value, schema)
                if value is not None:
                    uses.append((f.step, f.field, param))
                    return value
        record = ctx.get("_record") or {}
        if param in record and not (local is not None and any(local.has(s) for s in slots)):
            value = coerce(record[param], schema)
            if value is not None:
                return value
        if slots and schema.get("type") not in ("array", "object"):
            own = self.glob.get(slots[0])  # the app's own values first, cross-app (*:email) next
            candidates = own or [f for s in slots[1:] for f in self.glob.get(s)]
            if candidates:
                value = coerce(rng.choice(candidates).value, schema)
                if value is not None:
                    return value
        return self.generate(action, param, schema, rng, local, ctx, uses, required)


def _end_like(param: str) -> bool:
    # end dates are filled after start dates so they can follow them
    return any(w in param for w in ("end", "to_", "max", "due", "close", "fin"))


def _strip_refs(schema: Any) -> Any:
    # the registry's per-parameter schemas carry `$ref`s without their `$defs`: accept anything there
    if isinstance(schema, dict):
        if "$ref" in schema:
            return {}
        return {k: _strip_refs(v) for k, v in schema.items()}
    if isinstance(schema, list):
        return [_strip_refs(v) for v in schema]
    return schema


# tool name -> (the input schema it was compiled from, validator). The schema is kept and compared:
# a changed tool surface (elab_hpc.adapt) serves the same tool name with another schema in this process
_VALIDATORS: Dict[str, Any] = {}


def schema_problem(action: Any, args: Dict[str, Any]) -> Optional[str]:
    """Why `args` do not validate against the action's canonical input schema (None if they do)."""
    import jsonschema  # a dependency of mcp

    seen, v = _VALIDATORS.get(action.name, (None, None))
    if v is None or (seen is not action.input_schema and seen != action.input_schema):
        schema = dict(_strip_refs(action.input_schema), additionalProperties=False)
        v = jsonschema.Draft202012Validator(schema)
        _VALIDATORS[action.name] = (action.input_schema, v)
    err = next(iter(v.iter_errors(args)), None)
    return None if err is None else f"{'/'.join(str(p) for p in err.absolute_path) or '(args)'}: {err.message}"


def coerce(value: Any, schema: Dict[str, Any]) -> Any:
    """A memory value in the parameter's JSON type, or None if it cannot be."""
    kind = schema.get("type")
    if "enum" in schema and value not in schema["enum"]:
        return None
    if kind == "integer":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.isdigit():
            return int(value)
        return None
    if kind == "number":
        return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    if kind == "string":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, str):
            pattern = schema.get("pattern")
            if pattern and not re.search(pattern, value):
                return None
            return value
        return None
    if kind == "array":
        return [value] if isinstance(value, (str, int)) else None
    return value if kind is None else None


__all__ = ["ArgFiller", "Values", "Filled", "coerce", "schema_problem"]
