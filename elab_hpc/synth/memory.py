"""Memories of values an argument can take, indexed by *slot*.

A slot names what a value means to a tool parameter: `app:canonical_param` (e.g.
`gitlab:workspace_id`, `zammad:ticket_id`), or a cross-app slot `*:email` / `*:username` /
`*:title` for values any app understands (company e-mail addresses, usernames) or can mention in
free text. The same slot function maps a tool's output fields (producer side) and its input
parameters (consumer side), so the tool graph and the argument filler agree on what feeds what.

- Global memory: entities that exist in the world's template state, harvested once per world by
  running every read tool (LIST/SEARCH/GET) in a fresh episode (`harvest`). Values created by
  write tools are never put there: a fresh episode would not have them.
- Local memory: this trajectory's outputs, with where each value came from (step, field), so a
  later step can record the dependency edge it used.
"""
from __future__ import annotations

import functools
import random
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Sequence, Set, Tuple

from elab_hpc.env.aliases import AliasTable
from elab_hpc.env.classify import entity_of_param, singular, split_name

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
USERNAME = re.compile(r"^[a-z]+(\.[a-z]+)+$")
TITLE_FIELDS = ("title", "name", "subject", "label", "job_title", "employee_name", "applicant_name")
ID_FIELDS = ("id", "iid")
USER_FIELDS = ("username", "login", "user_id", "owner", "user", "project_lead", "organizer", "author")
EMAIL_PARAMS = ("to", "cc", "email", "customer", "share_with")
USER_PARAMS = ("attendees", "users", "member", "assignee", "owner", "user_id", "share_with")
TEXT_PARAMS = ("body", "description", "note", "reason", "remarks", "comment", "message", "commit_message",
               "merge_commit_message", "content", "summary")
# references to seeded vocabularies that classify.py does not know as entities
REFERENCE_EXTRA = ("department", "designation", "leave_type", "expense_type", "shift_type", "job_opening",
                   "project_identifier", "issue_identifier", "destination_path", "source_path", "report_name",
                   "object", "objects", "collection", "database", "users", "attendees", "cc", "customer")
# parameters that take the same values as another slot of their app
ROLE_EXTRA = {"source_path": "file_path", "source": "file_path", "remote_path": "file_path"}
MAX_PER_SLOT = 64  # enough variety per slot; more only costs memory
MAX_ITEMS_PER_LIST = 25


def entity_of(action: Any) -> str:
    """The tool's main entity (`list_issues` → issue), from its name or its first produced entity."""
    return _entity(action.app, action.tool, tuple(action.produces))


@functools.lru_cache(maxsize=4096)
def _entity(app: str, tool: str, produces: Tuple[str, ...]) -> str:
    _, words = split_name(app, tool)
    if words:
        return singular("_".join(words))
    return produces[0] if produces else tool


class SlotMap:
    """Field/parameter names → slots, through the registry's alias table."""

    def __init__(self, aliases: Optional[AliasTable] = None):
        self.aliases = aliases or AliasTable.load()
        self._base: Dict[Tuple[str, str, str, bool], List[str]] = {}

    def entity_key(self, app: str, entity: str) -> str:
        """Canonical id parameter of an entity in an app (plane project → workspace_id)."""
        for guess in (f"{entity}_id", entity):
            canon = self.aliases.canonical(app, guess)
            if canon != guess or guess.endswith("_id"):
                return canon
        return f"{entity}_id"

    def param_slot(self, action: Any, param: str) -> str:
        """The slot a parameter of `action` reads. A bare `id` means the tool's own entity's id."""
        if param == "id":
            return f"{action.app}:{self.entity_key(action.app, entity_of(action))}"
        return f"{action.app}:{param}"

    def _base_slots(self, app: str, entity: str, fld: str, stringy: bool) -> List[str]:
        slots = [f"{app}:{self.aliases.canonical(app, fld)}"]
        last = entity.rsplit("_", 1)[-1]
        if fld == "id" or fld == f"{entity}_id":
            slots.append(f"{app}:{self.entity_key(app, entity)}")
            if last != entity:  # list_project_issues items are issues
                slots.append(f"{app}:{self.entity_key(app, last)}")
        if fld == "iid":
            slots.append(f"{app}:{entity}_iid")
        if fld in ("name", "identifier") and stringy:
            slots.append(f"{app}:{entity}")  # e.g. a channel or a group passed by name
        return slots

    def param_slots(self, action: Any, param: str, schema: Dict[str, Any]) -> List[Tuple[str, str]]:
        """Slots a parameter can read, with the kind of data flow: `key` (the value itself is
        passed on: an id, a name, an address) or `mention` (free text refers to an earlier title)."""
        out = [(self.param_slot(action, param), "key")] if is_reference(param) else []
        role = ROLE_EXTRA.get(param) or entity_of_param(param)
        if role and param != "id" and (f"{action.app}:{role}", "key") not in out:
            out.append((f"{action.app}:{role}", "key"))  # source_branch is a branch (by name)
        desc = str(schema.get("description", "")).lower()
        kind = schema.get("type")
        if param in EMAIL_PARAMS or "e-mail" in desc or "email" in desc:
            out.append(("*:email", "key"))
        elif param in USER_PARAMS or (param.startswith("user") and kind in ("string", "array")) or "username" in desc:
            out.append(("*:username", "key"))
        if param in TEXT_PARAMS:
            out.append(("*:title", "mention"))
        return out

    def field_slots(self, app: str, entity: str, fld: str, value: Any = None) -> List[str]:
        """Slots an output field of an item of `entity` can feed. Without a value (building the
        graph from schemas) the cross-app slots are judged by the field's name alone."""
        if isinstance(value, bool) or isinstance(value, (dict, list)):
            return []
        key = (app, entity, fld, value is None or isinstance(value, str))
        base = self._base.get(key)
        if base is None:
            base = self._base[key] = self._base_slots(app, entity, fld, key[3])
        slots = list(base)
        if value is None:
            if "email" in fld or fld in ("to", "address", "delivered_to"):
                slots.append("*:email")
            if fld in USER_FIELDS:
                slots.append("*:username")
            if fld in TITLE_FIELDS:
                slots.append("*:title")
        elif isinstance(value, str):
            if EMAIL.match(value):
                slots.append("*:email")
            elif USERNAME.match(value) and fld in USER_FIELDS:
                slots.append("*:username")
            if fld in TITLE_FIELDS and 3 <= len(value) <= 80:
                slots.append("*:title")
        out: List[str] = []
        for s in slots:
            if s not in out:
                out.append(s)
        return out


def is_reference(param: str) -> bool:
    """A parameter that points at something existing (an id, a branch, a department), as
    opposed to content (a name, a description): only those form data-flow edges."""
    return (param in ("id", "sha") or param.endswith(("_id", "_iid", "_ids")) or param in REFERENCE_EXTRA
            or entity_of_param(param) is not None)


def items_of(result: Any) -> Tuple[List[Dict[str, Any]], Optional[str]]:
    """The records a result holds: the longest list of dicts in it (LIST/SEARCH), else the
    result itself (CREATE/GET). Returns (items, key of the list or None)."""
    if not isinstance(result, dict):
        return [], None
    best: Tuple[List[Dict[str, Any]], Optional[str]] = ([], None)
    for k, v in result.items():
        if isinstance(v, list) and v and isinstance(v[0], dict) and len(v) > len(best[0]):
            best = (v, k)
    if best[0]:
        return best[0][:MAX_ITEMS_PER_LIST], best[1]
    return [result], None


def scalar_fields(item: Dict[str, Any]) -> Iterable[Tuple[str, Any]]:
    for k, v in item.items():
        if isinstance(v, (str, int, float)) and not isinstance(v, bool):
            yield k, v
        elif isinstance(v, list) and v and all(isinstance(x, str) for x in v[:3]) and k in ("to", "delivered_to"):
            for x in v[:3]:
                yield k, x


@dataclass
class Found:
    value: Any
    step: int  # -1 for global memory
    field: str


@dataclass
class Memory:
    """Values per slot, newest last."""

    slots: Dict[str, List[Found]] = field(default_factory=lambda: defaultdict(list))
    records: Dict[str, List[Dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))  # app:entity -> items

    def add(self, slot: str, found: Found) -> None:
        lst = self.slots[slot]
        if len(lst) < MAX_PER_SLOT and not any(f.value == found.value for f in lst):
            lst.append(found)

    def index_result(self, slotmap: SlotMap, app: str, entity: str, result: Any, step: int) -> None:
        items, _ = items_of(result)
        for item in items:
            if step < 0 and len(self.records[f"{app}:{entity}"]) < MAX_PER_SLOT:
                self.records[f"{app}:{entity}"].append(item)
            for fld, value in scalar_fields(item):
                for slot in slotmap.field_slots(app, entity, fld, value):
                    self.add(slot, Found(value, step, fld))

    def get(self, slot: str) -> List[Found]:
        return self.slots.get(slot, [])

    def has(self, slot: str) -> bool:
        return bool(self.slots.get(slot))

    def pick(self, slot: str, rng: random.Random) -> Optional[Found]:
        lst = self.slots.get(slot)
        return rng.choice(lst) if lst else None

    def __len__(self) -> int:
        return sum(len(v) for v in self.slots.values())


class LocalMemory(Memory):
    """A trajectory's own outputs; `latest(slot)` is the most recent step's value for a slot."""

    def latest(self, slot: str) -> Optional[Found]:
        lst = self.slots.get(slot)
        return lst[-1] if lst else None

    def add(self, slot: str, found: Found) -> None:
        self.slots[slot].append(found)


def is_read(action: Any) -> bool:
    return action.op in ("LIST", "SEARCH", "GET") and not action.annotations.get("destructiveHint")


@dataclass
class Harvest:
    memory: Memory
    observed: Dict[str, Set[str]]  # tool -> output field names seen in successful results
    calls: int
    ok: int


def harvest(registry: Any, world: Any, slotmap: SlotMap, fill: Any = None, rounds: int = 2,
            seed: int = 0, skip: Sequence[str] = (), memory: Optional[Memory] = None) -> Harvest:
    """Global memory of one world: every read tool without required parameters runs in a fresh
    episode and its results are indexed; in later rounds read tools whose required parameters
    the memory can now fill (via `fill(action, rng) -> args | None`, reading `memory`) run too.
    Every tool's successful result fields are recorded in `observed` (for the tool graph)."""
    memory = Memory() if memory is None else memory
    observed: Dict[str, Set[str]] = defaultdict(set)
    rng = random.Random(seed)
    calls = ok = 0
    done: Set[str] = set()
    # one episode, rolled back after every call: the template state each time, without paying
    # for a new connection per call (reads can still have effects, e.g. marking mail read)
    ep = world.episode()
    for rnd in range(rounds):
        for action in registry:
            if action.name in done or action.name in skip or not is_read(action):
                continue
            needs = [p for p, spec in action.params.items() if spec.required]
            if needs and (rnd == 0 or fill is None):
                continue
            args = {} if not needs else fill(action, rng)
            if args is None:
                continue
            obs = _undone_call(ep, action, args)
            calls += 1
            if not obs.ok:
                continue
            ok += 1
            done.add(action.name)
            memory.index_result(slotmap, action.app, entity_of(action), obs.result, step=-1)
            observed[action.name].update(_fields(obs.result))
    ep.close()
    return Harvest(memory, dict(observed), calls, ok)


def _undone_call(ep: Any, action: Any, args: Dict[str, Any]) -> Any:
    """Call, then undo whatever the call did: a savepoint on an arena episode's SQLite connection;
    an episode without one (an external MCP server's, env/external.py) is reset instead."""
    db = getattr(ep, "db", None)
    if db is None:
        try:
            return ep.call(action.name, action.to_native(args))
        finally:
            ep.reset()
    db.execute("SAVEPOINT harvest")
    try:
        return ep.call(action.name, action.to_native(args))
    finally:
        db.execute("ROLLBACK TO harvest")
        db.execute("RELEASE harvest")


def _fields(result: Any) -> Set[str]:
    items, _ = items_of(result)
    out: Set[str] = set()
    for item in items[:3]:
        out.update(k for k, _ in scalar_fields(item))
    return out
