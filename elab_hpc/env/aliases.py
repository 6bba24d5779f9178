"""The alias table: native parameter names → canonical names (configs/registry/aliases.yaml)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

import yaml

from elab_hpc.errors import ConfigError

DEFAULT_ALIASES = Path(__file__).resolve().parents[2] / "configs" / "registry" / "aliases.yaml"


@dataclass
class AliasTable:
    global_map: Dict[str, str]  # native -> canonical
    app_map: Dict[tuple, str]  # (app, native) -> canonical

    @classmethod
    def load(cls, path: Optional[str | Path] = None) -> "AliasTable":
        p = Path(path) if path else DEFAULT_ALIASES
        if not p.is_file():
            raise ConfigError(f"alias table not found: {p}")
        data = yaml.safe_load(p.read_text()) or {}
        return cls.from_dict(data, source=str(p))

    @classmethod
    def from_dict(cls, data: Dict[str, List[str]], source: str = "aliases") -> "AliasTable":
        g: Dict[str, str] = {}
        a: Dict[tuple, str] = {}
        for canonical, natives in data.items():
            if not isinstance(natives, list):
                raise ConfigError(f"{source}: aliases of {canonical!r} must be a list")
            for native in natives:
                if ":" in native:
                    app, name = native.split(":", 1)
                    a[(app, name)] = canonical
                else:
                    if native in g and g[native] != canonical:
                        raise ConfigError(f"{source}: {native!r} is an alias of both {g[native]!r} and {canonical!r}")
                    g[native] = canonical
        return cls(g, a)

    def canonical(self, app: str, native: str) -> str:
        return self.app_map.get((app, native)) or self.global_map.get(native) or native

    def plan(self, app: str, natives: List[str]) -> Dict[str, str]:
        """native -> canonical for one tool's parameters; a canonical name claimed by two natives
        (or equal to another native) stays native for all of them, so translation is reversible."""
        wanted = {n: self.canonical(app, n) for n in natives}
        counts: Dict[str, int] = {}
        for n, c in wanted.items():
            counts[c] = counts.get(c, 0) + 1
        out = {}
        for n, c in wanted.items():
            clash = counts[c] > 1 or (c != n and c in wanted)
            out[n] = n if clash else c
        return out
