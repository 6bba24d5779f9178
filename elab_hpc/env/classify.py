"""What a tool does (CREATE / LIST / SEARCH / GET / UPDATE / DELETE / OTHER) and which entity
types it produces and consumes, inferred from its name, parameters, annotations and output
schema; `configs/registry/corrections.yaml` overrides what inference gets wrong."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import yaml

OPS = ("CREATE", "LIST", "SEARCH", "GET", "UPDATE", "DELETE", "OTHER")
DEFAULT_CORRECTIONS = Path(__file__).resolve().parents[2] / "configs" / "registry" / "corrections.yaml"

VERBS = {
    "CREATE": {"create", "add", "new", "insert", "upload", "send", "post", "apply", "fork", "push", "schedule",
               "book", "hire", "record", "register", "invite", "checkin", "submit", "reply", "forward", "copy",
               "open", "log", "write", "make", "mark"},
    "DELETE": {"delete", "remove", "destroy", "drop", "purge", "unshare"},
    "UPDATE": {"update", "edit", "set", "modify", "move", "rename", "assign", "approve", "reject", "close",
               "merge", "reopen", "transfer", "join", "leave", "validate", "respond", "share", "cancel",
               "complete", "convert", "change", "patch", "archive", "restore", "accept", "decline", "resolve"},
    "SEARCH": {"search", "find", "query", "lookup", "soql", "filter", "match"},
    "LIST": {"list", "all", "count", "aggregate"},
    "GET": {"get", "read", "fetch", "show", "describe", "browse", "download", "view", "navigate", "info", "check"},
}
STOP_AFTER = {"using", "by", "for", "from", "to", "in", "of", "with", "on", "at"}
ID_SUFFIX = re.compile(r"^(?P<entity>.+?)_(ids?|identifier|uuid|key)$")
REFERENCE_PARAMS = {"channel": "channel", "username": "user", "path": "file", "file_path": "file",
                    "remote_path": "file", "local_path": "file", "branch": "branch", "ref": "branch",
                    "source_branch": "branch", "target_branch": "branch", "collection": "collection",
                    "url": "page", "customer": "user", "owner": "user", "assignee": "user", "to": "user",
                    "email": "user", "group": "group", "folder": "folder", "object": "object_type",
                    "leave_type": "leave_type", "project_identifier": "workspace", "issue_identifier": "issue"}


# words that end in "s" without being plurals of an entity ("get_file_contents" gets ONE file)
NOT_PLURAL = {"contents", "details", "status", "news", "analytics", "settings", "stats", "metrics", "access",
              "address", "progress", "series", "diffs"}


def singular(word: str) -> str:
    if word in NOT_PLURAL:
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "ches", "shes", "xes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is", "status")):
        return word[:-1]
    return word


def _is_plural(word: str) -> bool:
    return singular(word) != word


def split_name(app: str, name: str) -> Tuple[Optional[str], List[str]]:
    """(verb, entity words) of a tool name like `zammad_create_ticket` or `get_issue_using_x`."""
    tokens = [t for t in re.split(r"[_\W]+|(?<=[a-z])(?=[A-Z])", name) if t]
    tokens = [t.lower() for t in tokens]
    if tokens and tokens[0] == app.lower():
        tokens = tokens[1:]
    verb = None
    for i, tok in enumerate(tokens):
        if any(tok in vs for vs in VERBS.values()):
            verb = tok
            tokens = tokens[i + 1:]
            break
    words: List[str] = []
    for tok in tokens:
        if tok in STOP_AFTER:
            break
        words.append(tok)
    return verb, words


def infer_op(app: str, name: str, annotations: Dict[str, Any]) -> str:
    verb, words = split_name(app, name)
    read_only = bool(annotations.get("readOnlyHint"))
    destructive = bool(annotations.get("destructiveHint"))
    op = "OTHER"
    if verb is not None:
        op = next(k for k, vs in VERBS.items() if verb in vs)
    if op == "GET" and words and _is_plural(words[-1]):
        op = "LIST"  # get_channels, get_channel_messages
    if op in ("CREATE", "UPDATE", "DELETE") and read_only:
        op = "GET"  # e.g. check_* or count_*: the annotation knows better than the verb
    if op == "OTHER" and read_only:
        op = "LIST" if words and _is_plural(words[-1]) else "GET"
    if op in ("UPDATE", "OTHER") and destructive and verb in VERBS["DELETE"]:
        op = "DELETE"
    return op


def entity_of_param(canonical: str) -> Optional[str]:
    m = ID_SUFFIX.match(canonical)
    if m:
        return singular(m.group("entity"))
    return REFERENCE_PARAMS.get(canonical)


def infer_entities(app: str, name: str, op: str, params: Dict[str, Dict[str, Any]],
                   output_schema: Optional[Dict[str, Any]], canonical_of) -> Tuple[List[str], List[str]]:
    """(produces, consumes). `params` maps canonical name -> {native, required, ...};
    `canonical_of(native)` maps an output field to its canonical name."""
    _, words = split_name(app, name)
    main = singular("_".join(words)) if words else None
    produces: List[str] = []
    consumes: List[str] = []
    for pname, spec in params.items():
        ent = entity_of_param(pname)
        if ent and ent not in consumes and (spec.get("required") or op in ("GET", "UPDATE", "DELETE")):
            consumes.append(ent)
    if main and op in ("CREATE", "LIST", "SEARCH", "GET"):
        produces.append(main)
    props = (output_schema or {}).get("properties") or {}
    for field_name in props:
        ent = entity_of_param(canonical_of(field_name))
        if ent and ent not in produces and (op != "GET" or ent == main):
            produces.append(ent)
    if op == "CREATE" and main in consumes:
        consumes.remove(main)  # create_issue(project_id, ...) consumes a project, not an issue
    return produces, consumes


def load_corrections(path: Optional[str | Path] = None) -> Dict[str, Dict[str, Any]]:
    p = Path(path) if path else DEFAULT_CORRECTIONS
    if not p.is_file():
        return {}
    data = yaml.safe_load(p.read_text()) or {}
    for key, entry in data.items():
        if "op" in entry and entry["op"] not in OPS:
            from elab_hpc.errors import ConfigError

            raise ConfigError(f"{p}: {key}: op must be one of {', '.join(OPS)}, got {entry['op']!r}")
    return data
