"""Turn any tool output — JSON, text, CLI logs, stack traces, errors, binary junk — into a JSON
observation that fits a token budget.

Truncation goes by importance: errors first, then identifiers and return values (ids, names,
status, paths, urls), then other scalars; long lists and long bodies are cut first. The result
says what was dropped (`_truncated`), and the same input always gives the same output.

    normalize({"items": [...10_000 items...]}, budget=256, tokenizer=tok)
"""
from __future__ import annotations

import hashlib
import json
import re
from typing import Any, Callable, Dict, Optional

KEY_FIELDS = re.compile(r"(^|_)(id|ids|key|name|title|subject|text|status|state|ok|error|code|message|path|url|"
                        r"ref|sha|number|count|total|username|email|type)$", re.I)
TRACEBACK = re.compile(r"Traceback \(most recent call last\):")
LOG_ALERT = re.compile(r"\b(ERROR|FATAL|CRITICAL|Exception|FAILED|panic|Traceback|error:)\b")
# shrink levels, most to least detail: (string chars, list items, depth, identifiers only). The
# identifier-only levels keep a few list items' ids, names and titles before items are collapsed
# to `{…N keys}`: a list of records the model cannot read is worth nothing to it
LEVELS = ((400, 20, 8, False), (160, 8, 5, False), (80, 5, 4, True), (60, 3, 3, False), (40, 3, 4, True),
          (24, 2, 3, True), (24, 1, 2, False), (24, 1, 2, True))


def approx_tokens(text: str) -> int:
    """Fallback token count when no tokenizer is given: ~4 characters per token."""
    return (len(text) + 3) // 4


def token_counter(tokenizer: Any = None) -> Callable[[str], int]:
    if tokenizer is None:
        return approx_tokens
    if hasattr(tokenizer, "encode"):
        return lambda s: len(tokenizer.encode(s, add_special_tokens=False)) if _accepts_special(tokenizer) \
            else len(tokenizer.encode(s))
    return lambda s: len(tokenizer(s))


def _accepts_special(tok: Any) -> bool:
    return type(tok).__module__.startswith(("transformers", "tokenizers"))


def _dump(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, sort_keys=False, separators=(",", ":"), default=str)


# -- parsing raw outputs ----------------------------------------------------------------
def _is_binary(data: bytes) -> bool:
    if not data:
        return False
    if b"\x00" in data[:4096]:
        return True
    sample = data[:4096]
    text_chars = bytes(range(32, 127)) + b"\n\r\t\f\b"
    nontext = sum(1 for b in sample if b not in text_chars and b < 128)
    return nontext / len(sample) > 0.3


def _parse_text(text: str) -> Dict[str, Any]:
    stripped = text.strip()
    if stripped[:1] in "[{":
        try:
            return {"kind": "json", "data": json.loads(stripped)}
        except (ValueError, RecursionError):
            pass
    if TRACEBACK.search(text):
        lines = text.rstrip().splitlines()
        exc_line = next((ln for ln in reversed(lines) if ln and not ln.startswith(" ")), lines[-1])
        frames = [ln.strip() for ln in lines if ln.strip().startswith("File ")]
        return {"kind": "error", "data": {"error": exc_line.strip(), "frames": frames[-3:],
                                          "traceback_lines": len(lines)}}
    lines = text.splitlines()
    if len(lines) > 5 and any(LOG_ALERT.search(ln) for ln in lines):
        alerts = [ln for ln in lines if LOG_ALERT.search(ln)]
        return {"kind": "log", "data": {"alerts": alerts, "head": lines[:3], "tail": lines[-3:],
                                        "lines": len(lines)}}
    return {"kind": "text", "data": text}


def _clean(obj: Any, depth: int = 0) -> Any:
    """Lone surrogates and other unencodable text become U+FFFD: observations are valid UTF-8."""
    if isinstance(obj, str):
        try:
            obj.encode("utf-8")
            return obj
        except UnicodeEncodeError:
            return obj.encode("utf-8", "replace").decode("utf-8")
    if depth > 50:  # deeper parts are collapsed by the shrinker anyway
        return obj
    if isinstance(obj, dict):
        return {_clean(k, depth + 1) if isinstance(k, str) else k: _clean(v, depth + 1) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v, depth + 1) for v in obj]
    return obj


def parse(raw: Any) -> Dict[str, Any]:
    """Classify a raw output: {"kind": json|text|log|error|binary, "data": ...}."""
    if isinstance(raw, (bytes, bytearray)):
        data = bytes(raw)
        if _is_binary(data):
            return {"kind": "binary", "data": {"binary": True, "bytes": len(data),
                                               "sha256": hashlib.sha256(data).hexdigest()[:16],
                                               "preview": data[:32].hex()}}
        raw = data.decode("utf-8", errors="replace")
    if isinstance(raw, str):
        return _parse_text(_clean(raw))
    if isinstance(raw, BaseException):
        return {"kind": "error", "data": {"error": f"{type(raw).__name__}: {raw}"}}
    if isinstance(raw, dict) and ("error" in raw and len(raw) <= 3):
        return {"kind": "error", "data": _clean(raw)}
    return {"kind": "json", "data": _clean(raw)}


# -- shrinking --------------------------------------------------------------------------
class _Shrinker:
    def __init__(self, str_limit: int, list_limit: int, depth_limit: int, keep_only_keys: bool):
        self.str_limit = str_limit
        self.list_limit = list_limit
        self.depth_limit = depth_limit
        self.keep_only_keys = keep_only_keys
        self.dropped: Dict[str, Any] = {"lists": {}, "strings_cut": 0, "collapsed": [], "keys_dropped": []}

    def run(self, obj: Any, path: str = "$", depth: int = 0) -> Any:
        if isinstance(obj, str):
            if len(obj) > self.str_limit:
                self.dropped["strings_cut"] += 1
                return obj[: self.str_limit] + f"…[+{len(obj) - self.str_limit} chars]"
            return obj
        if isinstance(obj, dict):
            if depth >= self.depth_limit:
                self.dropped["collapsed"].append(path)
                return f"{{…{len(obj)} keys}}"
            items = list(obj.items())
            # important keys first, so a later hard cut loses the least useful ones
            items.sort(key=lambda kv: (0 if kv[0] == "error" else 1 if KEY_FIELDS.search(str(kv[0])) else 2))
            out = {}
            for k, v in items:
                if self.keep_only_keys and depth > 0 and not KEY_FIELDS.search(str(k)) \
                        and isinstance(v, (str, list, dict)):
                    self.dropped["keys_dropped"].append(f"{path}.{k}")
                    continue
                out[k] = self.run(v, f"{path}.{k}", depth + 1)
            return out
        if isinstance(obj, (list, tuple)):
            if depth >= self.depth_limit:
                self.dropped["collapsed"].append(path)
                return f"[…{len(obj)} items]"
            kept = [self.run(v, f"{path}[{i}]", depth + 1) for i, v in enumerate(obj[: self.list_limit])]
            if len(obj) > self.list_limit:
                self.dropped["lists"][path] = {"kept": self.list_limit, "total": len(obj)}
            return kept
        if isinstance(obj, float) and obj != obj:  # NaN is not JSON
            return None
        return obj

    def summary(self) -> Dict[str, Any]:
        d = {k: v for k, v in self.dropped.items() if v}
        if "keys_dropped" in d:  # a count: the paths would eat the budget the kept fields need
            d["keys_dropped"] = len(d["keys_dropped"])
        if "collapsed" in d:  # one entry per field, not per list item
            d["collapsed"] = list(dict.fromkeys(re.sub(r"\[\d+\]", "[*]", p) for p in d["collapsed"]))
        if "collapsed" in d and len(d["collapsed"]) > 10:
            d["collapsed"] = d["collapsed"][:10] + [f"…{len(d['collapsed']) - 10} more"]
        if "lists" in d and len(d["lists"]) > 10:
            items = sorted(d["lists"].items())
            d["lists"] = dict(items[:10])
            d["lists_more"] = len(items) - 10
        return d


def normalize(raw: Any, budget: int = 512, tokenizer: Any = None, ok: Optional[bool] = None) -> Dict[str, Any]:
    """A JSON observation of `raw` whose serialized form is at most `budget` tokens."""
    count = token_counter(tokenizer)
    parsed = parse(raw)
    base = {"ok": (parsed["kind"] != "error") if ok is None else ok, "kind": parsed["kind"]}
    full = {**base, "data": parsed["data"]}
    try:
        if count(_dump(full)) <= budget:
            return full
    except (RecursionError, ValueError):  # absurdly deep or circular data: shrink it first
        pass
    for s, li, d, keys_only in LEVELS:
        shr = _Shrinker(s, li, d, keys_only)
        data = shr.run(parsed["data"])
        obs = {**base, "data": data, "_truncated": shr.summary()}
        if count(_dump(obs)) <= budget:
            return obs
    # last resort: a hard cut of the serialized data, kept valid JSON as a string
    text = _dump(data)
    lo, hi = 0, len(text)
    while lo < hi:  # largest prefix that fits
        mid = (lo + hi + 1) // 2
        cand = {**base, "data": text[:mid] + "…", "_truncated": {"hard_cut": True, "chars": len(text)}}
        if count(_dump(cand)) <= budget:
            lo = mid
        else:
            hi = mid - 1
    return {**base, "data": text[:lo] + "…", "_truncated": {"hard_cut": True, "chars": len(text)}}


def render(obs: Dict[str, Any]) -> str:
    """The observation as the text an agent reads."""
    return _dump(obs)
