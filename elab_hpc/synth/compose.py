"""Hierarchical task synthesis: executed steps → low-level thoughts → one high-level intent.

- A phrase per step from its (op, entity) and the concrete values the agent needs ("create an
  issue 'Review of the login page' in project 'Billing Service'"); values that came from an
  earlier step are referred to, not spelled out ("the new issue", "the ticket 'VPN down'").
- A thought per consecutive pair, keyed by how the pair is linked (a key passed on from a
  created / read record, a mention, nothing): templates in configs/synth/values.yaml.
- The intent: a whole-task pattern for known tool sequences, else an opening by category and
  the step phrases joined ("..., then ..., and finally ..."). It names every value a check
  asserts, so the task is solvable from the intent alone.
- Checks: `derive_checks(diff)` restricted to the values the intent names (or the agent reads
  from tool outputs), plus answer facts when the task ends in a read ("tell me ...").

`LLMComposer(generate)` asks any `generate(messages) -> str` for the intent and falls back to the
template intent when the output is unusable (empty, too long, or missing a required value).
"""
from __future__ import annotations

import json
import random
import re
from typing import Any, Callable, Dict, List, Optional, Set, Tuple

from elab_hpc.env.checks import derive_checks, scalar_values
from elab_hpc.env.classify import entity_of_param, split_name
from elab_hpc.synth.categories import READ_OPS, categorize
from elab_hpc.synth.memory import TITLE_FIELDS, entity_of, is_reference, items_of, scalar_fields
from elab_hpc.synth.types import Step, Task

QUIET_PARAMS = {"limit", "page", "offset", "response_format", "per_page", "include_articles", "article_limit",
                "article_offset", "recursive", "dryRun", "head", "tail"}
STATUS_FIELDS = ("status", "state", "stage_name", "priority")


def _title_of(item: Dict[str, Any]) -> Optional[str]:
    for f in TITLE_FIELDS + ("path", "identifier", "number", "ref", "username", "login", "subject",
                             "Name", "Subject", "Title", "LastName", "CaseNumber"):  # + Salesforce field names
        v = item.get(f)
        if isinstance(v, str) and v.strip():
            return v.strip()
    return None


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _fact_of(item: Dict[str, Any]) -> Optional[str]:
    """What to report about a record: its title, else its first plain text field (a leave type,
    a folder name), never an id, a date or a long body."""
    title = _title_of(item)
    if title:
        return title
    for k, v in item.items():
        if (isinstance(v, str) and 3 <= len(v) <= 80 and not _DATE.match(v) and k != "id"
                and not k.endswith(("_id", "id", "_at", "url", "hash", "etag", "sha"))):
            return v.strip()
    return None


def _short(value: Any, limit: int = 120) -> str:
    s = value if isinstance(value, str) else json.dumps(value, default=str)
    return s if len(s) <= limit else s[: limit - 3] + "..."


def _a(word: str) -> str:
    return ("an " if word[:1].lower() in "aeio" else "a ") + word


class TemplateComposer:
    def __init__(self, ctx: Any, max_checks: int = 12, answer_facts: bool = True):
        self.ctx = ctx
        self.values = ctx.values
        self.max_checks = max_checks
        self.answer_facts = answer_facts
        self.entity_names: Dict[str, str] = dict(self.values["entity_names"] or {})
        self.app_names: Dict[str, str] = dict(self.values["app_names"] or {})
        self.own_verbs = set(self.values["own_verbs"] or [])
        self._labels = self._label_index()

    # -- names ------------------------------------------------------------------------
    def _label_index(self) -> Dict[Tuple[str, str], Tuple[str, str]]:
        """(slot, value) → (entity, label) for every harvested record, to name references."""
        out: Dict[Tuple[str, str], Tuple[str, str]] = {}
        sm = self.ctx.slotmap
        for key, items in self.ctx.memory.records.items():
            app, entity = key.split(":", 1)
            for item in items:
                label = _title_of(item)
                if not label:
                    continue
                for fld, val in scalar_fields(item):
                    if fld in ("id", "identifier", "number", "ref", "login", "username") or fld.endswith(("_id", "iid")):
                        for slot in sm.field_slots(app, entity, fld, val):
                            out.setdefault((slot, str(val)), (entity, label))
        return out

    def entity_name(self, entity: str) -> str:
        return self.entity_names.get(entity, entity.replace("_", " "))

    def action(self, step: Step) -> Any:
        return self.ctx.registry[step.tool]

    def _plural(self, word: str) -> str:
        if word.endswith("y") and not word.endswith(("ay", "ey", "oy")):
            return word[:-1] + "ies"
        return word if word.endswith("s") else word + "s"

    def _step_label(self, step: Step) -> Optional[str]:
        if step.result is None:
            return None
        items, _ = items_of(step.result)
        return _title_of(items[0]) if items else None

    def _used_label(self, steps: List[Step], src: int, fld: str, value: Any) -> Optional[str]:
        """The title of the record in an earlier step's result whose `fld` is `value`."""
        items, _ = items_of(steps[src].result)
        for item in items:
            if item.get(fld) == value:
                return _title_of(item)
        return None

    # -- one step -------------------------------------------------------------------------
    def describe_ref(self, steps: List[Step], i: int, param: str, value: Any, mentioned: Set[str]) -> str:
        step = steps[i]
        action = self.action(step)
        use = next((u for u in step.uses if u[2] == param), None)
        if use is not None:
            src = steps[use[0]]
            src_action = self.action(src)
            ent = self.entity_name(entity_of(src_action).rsplit("_", 1)[-1] if src_action.op != "CREATE"
                                   else entity_of(src_action))
            src_entity = entity_of(src_action)
            own = use[1] in ("id", "iid", "name", f"{src_entity}_id", f"{src_entity.rsplit('_', 1)[-1]}_id")
            of = "" if own else f"the {use[1].replace('_', ' ')} of "
            if src_action.op == "CREATE":
                return f"{of}the new {ent}"
            label = self._used_label(steps, use[0], use[1], value)
            if label and label != str(value):
                return f"{of}the {ent} '{label}'"
            mentioned.add(str(value))
            return f"the {ent} {value}" if own else f"{of}the {ent} ({value})"
        slot = self.ctx.slotmap.param_slot(action, param)
        mentioned.add(str(value))
        hit = self._labels.get((slot, str(value)))
        if hit:
            ent, label = hit
            # name it after the tool's own parameter (frappe's employee_id is an employee, plane's
            # project_id a project), a bare `id` after the record it came from
            native = action.params[param].native if param in action.params else param
            noun = re.sub(r"_(id|iid|ids)$", "", native)
            if native in ("id", "fk_user", "socid") or noun == native and not entity_of_param(native):
                noun = ent.rsplit("_", 1)[-1]
            ent = self.entity_name(noun)
            if label == str(value):
                return f"{ent} '{label}'"
            return f"{ent} '{label}' (id {value})"
        human = param[:-3] if param.endswith("_id") else param
        return f"{human.replace('_', ' ')} {_short(value, 80)}"

    def _content(self, param: str, value: Any, mentioned: Set[str]) -> Optional[str]:
        if param in QUIET_PARAMS or value in (None, "", [], {}):
            return None
        if isinstance(value, str) and value.strip()[:1] == "{":
            try:
                parsed = json.loads(value)
            except ValueError:
                parsed = None
            if isinstance(parsed, dict):
                parts = [p for p in (self._content(k, v, mentioned) for k, v in parsed.items()) if p]
                return ", ".join(parts) if parts else None
        human = param.replace("_", " ")
        if isinstance(value, dict):
            inner = [p for p in (self._content(k, v, mentioned) for k, v in value.items()) if p]
            return f"{human} ({', '.join(inner)})" if inner else None
        if isinstance(value, list):
            if all(isinstance(v, dict) for v in value):
                inner = [self._content("item", v, mentioned) for v in value]
                return f"{human}: " + "; ".join(i[len("item "):] for i in inner if i)
            mentioned.update(scalar_values(value))
            return f"{human} " + ", ".join(str(v) for v in value)
        mentioned.update(scalar_values(value))
        if isinstance(value, bool):
            return f"{human} {'on' if value else 'off'}"
        if isinstance(value, str) and len(value) > 40:
            return f'{human} "{value}"'
        return f"{human} '{value}'" if isinstance(value, str) else f"{human} {value}"

    def phrase(self, steps: List[Step], i: int, mentioned: Set[str], rng: Optional[random.Random] = None) -> str:
        """The step as an instruction; `rng` picks among the phrasings (the first one without)."""
        step = steps[i]
        action = self.action(step)
        verb, _ = split_name(action.app, action.tool)
        entity = entity_of(action)
        ent = self.entity_name(entity)
        where = self.app_names.get(action.app, action.app)
        refs: List[str] = []
        content: List[str] = []
        name_part = ""
        for param, value in step.args.items():
            if param in QUIET_PARAMS:
                continue
            fresh = self.ctx.filler.is_fresh(action, param)
            if isinstance(value, (list, dict)):
                c = self._content(param, value, mentioned)  # lists (recipients, lines) are spelled out
                if c:
                    content.append(c)
            elif is_reference(param) and not fresh:
                refs.append(self.describe_ref(steps, i, param, value, mentioned))
            elif param in ("name", "title") and not name_part and isinstance(value, str):
                name_part = f" '{value}'"
                mentioned.add(value)
            else:
                use = next((u for u in step.uses if u[2] == param), None)
                if use is not None and is_reference(param):
                    refs.append(self.describe_ref(steps, i, param, value, mentioned))
                    continue
                c = self._content(param, value, mentioned)
                if c:
                    content.append(c)
        pick = (lambda options: options[0]) if rng is None else rng.choice
        listed = refs[0] if len(refs) == 1 else ", ".join(refs[:-1]) + " and " + refs[-1] if refs else ""
        scope = pick(self.values["scope_styles"]).format(refs="; ".join(refs), refs_and=listed) if refs else ""
        details = pick(self.values["details_styles"]).format(items=", ".join(content)) if content else ""
        op = action.op
        kind = op if op in ("CREATE", "LIST", "SEARCH", "GET", "DELETE") else "UPDATE"
        v = verb or "update"
        if op == "CREATE":
            v = verb if verb in self.own_verbs and verb not in ("add", "record") else "create"
            if v != "create":
                kind = "CREATE_VERB"
                if entity.startswith(v) or v.startswith(entity):  # checkin → "record a checkin"
                    v = "record"
        text = pick(self.values["phrases"][kind]).format(
            verb=v, a_ent=_a(ent), ent=ent, ents=self._plural(ent), name=name_part, app=where, scope=scope,
            details=details)
        return text

    # -- pairs and whole task -----------------------------------------------------------
    def thought(self, steps: List[Step], i: int, b_phrase: str) -> str:
        t = self.values["thoughts"]
        b = steps[i + 1]
        a = steps[i]
        a_action = self.action(a)
        key_use = next((u for u in b.uses if u[0] == i and is_reference(u[2])), None)
        mention = next((u for u in b.uses if not is_reference(u[2])), None)
        a_ent = self.entity_name(entity_of(a_action))
        if key_use is not None:
            fld = key_use[1]
            if a_action.op == "CREATE":
                return t["key_create"].format(a_entity=a_ent, field=fld, b_phrase=b_phrase)
            if a_action.op in READ_OPS:
                label = self._used_label(steps, i, fld, b.args.get(key_use[2])) or self._step_label(a) or "the result"
                return t["key_read"].format(a_entity=a_ent, a_label=label, field=fld, b_phrase=b_phrase)
            return t["key_other"].format(field=fld, b_phrase=b_phrase)
        if mention is not None:
            quoted = re.findall(r"'([^']+)'", str(b.args.get(mention[2], "")))
            ref = quoted[0] if quoted else self._mention_ref(steps, mention)
            return t["mention"].format(ref=ref, b_phrase=b_phrase)
        return t["plain"].format(b_phrase=b_phrase)

    def _mention_ref(self, steps: List[Step], use: Tuple[int, str, str]) -> str:
        items, _ = items_of(steps[use[0]].result)
        for item in items:
            v = item.get(use[1])
            if isinstance(v, str):
                return v
        return "the previous result"

    def _pattern(self, steps: List[Step], mentioned: Set[str]) -> Tuple[Optional[str], int]:
        tools = [s.tool for s in steps]
        for pat in self.values["intent_patterns"] or []:
            want = pat["tools"]
            if tools[: len(want)] != want:
                continue

            def sub(m: "re.Match[str]") -> str:
                idx, key = int(m.group(1)), m.group(2)
                if key == "label":
                    args = steps[idx].args
                    refs = [self.describe_ref(steps, idx, p, v, mentioned) for p, v in args.items()
                            if is_reference(p) and not isinstance(v, (list, dict))]
                    return refs[0] if refs else "it"
                value = steps[idx].args.get(key)
                if value is None:
                    raise KeyError(key)
                mentioned.update(scalar_values(value))
                return str(value)

            try:
                text = re.sub(r"\{s(\d+)\.(\w+)\}", sub, pat["text"])
            except KeyError:
                continue
            return text, len(want)
        return None, 0

    def _join(self, parts: List[str], rng: random.Random) -> str:
        if len(parts) == 1:
            return parts[0]
        out = parts[0]
        for p in parts[1:-1]:
            out += rng.choice(self.values["joiners"]) + p
        return out + rng.choice(self.values["final_joiners"] if len(parts) > 2 else self.values["joiners"]) + parts[-1]

    def _answer(self, steps: List[Step], rng: Optional[random.Random] = None) -> Tuple[str, List[Dict[str, Any]], str]:
        """(request appended to the intent, answer checks, reference answer) for a final read."""
        pick = (lambda options: options[0]) if rng is None else rng.choice
        last = steps[-1]
        action = self.action(last)
        if not self.answer_facts or action.op not in READ_OPS or last.result is None:
            return "", [], ""
        items, key = items_of(last.result)
        ent = self.entity_name(entity_of(action).rsplit("_", 1)[-1])
        if key is not None:  # a list: name the records found
            titles = [t for t in (_fact_of(it) for it in items) if t and len(t) >= 3]  # "IT" hides in "it"
            if not titles:
                return "", [], ""
            ask = pick(self.values["answer_requests"]["list"]).format(ents=self._plural(ent))
            if len(titles) <= 3:
                checks = [{"type": "answer_contains", "value": t} for t in titles]
                return (ask, checks, "Found: " + "; ".join(titles) + ".")
            return (ask,
                    [{"type": "answer_matches_any", "values": titles[:10]}],
                    "Found: " + "; ".join(titles[:10]) + ".")
        item = items[0] if items else {}
        for fld in STATUS_FIELDS:
            v = item.get(fld)
            if isinstance(v, (str, int, float)) and not isinstance(v, bool) and len(str(v).strip()) >= 3:
                return (pick(self.values["answer_requests"]["status"]).format(field=fld.replace("_", " ")),
                        [{"type": "answer_contains", "value": str(v)}], f"The {fld.replace('_', ' ')} is {v}.")
        title = _fact_of(item)
        if title and len(title) >= 3:
            return (pick(self.values["answer_requests"]["name"]), [{"type": "answer_contains", "value": title}],
                    f"It is {title}.")
        for fld, v in item.items():
            # a number is a fact only when it cannot turn up in an answer by accident
            if isinstance(v, (int, float)) and not isinstance(v, bool) and (abs(v) >= 10 or v != int(v)) \
                    and fld != "id" and not fld.endswith("_id"):
                return (f"tell me its {fld.replace('_', ' ')}", [{"type": "answer_contains", "value": str(v)}],
                        f"The {fld.replace('_', ' ')} is {v}.")
        return "", [], ""

    def compose(self, steps: List[Step], diff: Dict[str, Any], rng: random.Random) -> Optional[Task]:
        actions = [self.action(s) for s in steps]
        entities = [entity_of(a) for a in actions]
        category = categorize(actions, entities)
        mentioned: Set[str] = set()
        head, covered = self._pattern(steps, mentioned)
        # values count as named only if the intent's own text names them (a pattern covers its steps)
        scratch: Set[str] = set()
        phrases = [self.phrase(steps, i, scratch if i < covered else mentioned, rng) for i in range(len(steps))]
        thoughts = [self.thought(steps, i, phrases[i + 1]) for i in range(len(steps) - 1)]
        # the first thought restates the first step's request, as the later ones restate theirs:
        # a model that writes the request down before choosing the tool picks it from the request
        opening = self.values["thoughts"]["opening"].format(b_phrase=phrases[0]) if phrases else ""
        request, answer_checks, answer = self._answer(steps, rng)
        parts = ([head[:1].lower() + head[1:]] if head else []) + phrases[covered:]
        if request:
            parts[-1] = f"{parts[-1]}, and {request}"
        apps = []
        for a in actions:
            if a.app not in apps:
                apps.append(a.app)
        openings = self.values["intent_openings"][category]
        body = self._join(parts, rng)
        intent = rng.choice(openings).format(steps=body, apps=" and ".join(self.app_names.get(a, a) for a in apps))
        intent = intent[:1].upper() + intent[1:]
        # the agent can assert only what the intent names or a tool output shows it
        known = set(mentioned)
        for s in steps:
            for u in s.uses:
                known.update(scalar_values(s.args.get(u[2])))
        state = derive_checks(diff, args_values=known)
        checks = state[: max(0, self.max_checks - len(answer_checks))] + answer_checks  # the asked-for facts always stay
        if not checks:
            return None
        if not answer:
            answer = "Done: " + "; ".join(phrases) + "."
        return Task(id="", intent=intent, category=category, thoughts=thoughts,
                    gold_actions=[{"tool": s.tool, "args": s.args} for s in steps], checks=checks,
                    apps=apps, answer=answer, opening=opening)


class LLMComposer:
    """Intents from a model: `generate(messages) -> str` (any backend). Thoughts, checks and the
    category stay rule-based (they must be exact); the model only rewrites the intent, and its
    text is used only if it keeps every value the checks need."""

    SYSTEM = ("You write the request an employee would send to an AI assistant. Given the steps the "
              "assistant must perform, write ONE natural request (at most 80 words) that keeps every "
              "quoted value exactly. Reply with the request only.")

    def __init__(self, base: TemplateComposer, generate: Callable[[List[Dict[str, str]]], str],
                 max_words: int = 120):
        self.base = base
        self.generate = generate
        self.max_words = max_words
        self.fallbacks = 0

    def compose(self, steps: List[Step], diff: Dict[str, Any], rng: random.Random) -> Optional[Task]:
        task = self.base.compose(steps, diff, rng)
        if task is None:
            return None
        prompt = "Steps:\n" + "\n".join(f"- {t}" for t in [task.intent] + task.thoughts)
        try:
            text = self.generate([{"role": "system", "content": self.SYSTEM}, {"role": "user", "content": prompt}])
        except Exception:  # a backend failure must not lose the sample: the template intent stands
            text = ""
        if self.acceptable(text, task):
            task.intent = text.strip()
        else:
            self.fallbacks += 1
        return task

    def acceptable(self, text: Any, task: Task) -> bool:
        if not isinstance(text, str) or not text.strip() or len(text.split()) > self.max_words:
            return False
        needed = re.findall(r"'([^']{2,})'", task.intent)
        return all(v in text for v in needed)
