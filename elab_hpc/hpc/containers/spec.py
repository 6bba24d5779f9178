"""What images exist and how they are made: the schema of `configs/containers.yaml`.

Loading goes through the project's strict config loader, so an unknown key, a typo in an
override or a wrong type fails with a `ConfigError` naming the key, before anything is written.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

from elab_hpc.config import CONFIG_ROOT, REPO_ROOT, load_config, to_object
from elab_hpc.errors import ConfigError

DEFAULT_CONFIG = CONFIG_ROOT / "containers.yaml"

# Sections Apptainer knows (definition-file reference); anything else is a typo.
KNOWN_SECTIONS = (
    "setup", "files", "environment", "post", "runscript", "startscript", "test", "labels",
    "help", "arguments", "appinstall", "appfiles", "appenv", "apprun", "applabels", "apphelp",
    "apptest", "appstart",
)
IMAGE_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")


@dataclass
class ImageSpec:
    """One image: a template under `templates_dir`, rendered with `versions` + `vars`."""

    template: str = ""  # file name under templates_dir, e.g. arena.def
    base: str = ""  # docker image of the `From:` line, with a tag or digest
    required_sections: List[str] = field(default_factory=lambda: ["post", "runscript", "test"])
    exec_flags: List[str] = field(default_factory=lambda: ["--containall"])  # `apptainer exec`
    exec_command: List[str] = field(default_factory=list)  # what `containers exec` runs by default
    exec_app_command: List[str] = field(default_factory=list)  # with --app NAME; "{app}" → NAME
    vars: Dict[str, Any] = field(default_factory=dict)  # extra template variables of this image


@dataclass
class ContainersConfig:
    templates_dir: str = "containers"  # relative to the project root
    render_dir: str = "build/containers"  # relative to the working directory
    images_dir: str = "build/images"  # relative to the working directory
    apptainer: str = "apptainer"
    build_flags: List[str] = field(default_factory=lambda: ["--fakeroot"])
    build_cluster: str = "devcluster"  # cluster profile (configs/cluster/) of the build array job
    build_resources: Dict[str, Any] = field(default_factory=dict)  # its overrides, e.g. time_min
    versions: Dict[str, Any] = field(default_factory=dict)  # template variables of every image
    images: Dict[str, ImageSpec] = field(default_factory=dict)


def _check(cfg: ContainersConfig, source: str) -> None:
    templates = templates_dir(cfg)
    if not templates.is_dir():
        raise ConfigError(f"{source}: templates_dir '{cfg.templates_dir}' is not a directory ({templates})")
    if not cfg.images:
        raise ConfigError(f"{source}: images: at least one image is needed")
    for name, spec in cfg.images.items():
        where = f"{source}: images.{name}"
        if not IMAGE_NAME.match(name):
            raise ConfigError(f"{where}: image names are lowercase letters, digits, '-' or '_'")
        if not spec.template:
            raise ConfigError(f"{where}.template: missing (a file under {cfg.templates_dir}/)")
        if not (templates / spec.template).is_file():
            raise ConfigError(f"{where}.template: '{spec.template}' not found in {templates}")
        if not spec.base:
            raise ConfigError(f"{where}.base: missing (a docker image such as python:3.12-slim)")
        for section in spec.required_sections:
            if section not in KNOWN_SECTIONS:
                raise ConfigError(f"{where}.required_sections: unknown section '{section}' "
                                  f"(known: {', '.join(KNOWN_SECTIONS)})")
        clash = sorted(set(spec.vars) & set(cfg.versions))
        if clash:
            raise ConfigError(f"{where}.vars: {', '.join(clash)} also set in versions; keep one")


def load_containers(path: Path | str | None = None, overrides: Optional[List[str]] = None) -> ContainersConfig:
    """configs/containers.yaml (or `path`) plus `key=value` overrides, checked."""
    path = Path(path) if path else DEFAULT_CONFIG
    cfg: ContainersConfig = to_object(load_config(ContainersConfig, path, overrides))
    _check(cfg, str(path))
    return cfg


def select(cfg: ContainersConfig, names: Optional[List[str]]) -> List[str]:
    """The images asked for (all, in config order, when none are named)."""
    if not names:
        return list(cfg.images)
    unknown = [n for n in names if n not in cfg.images]
    if unknown:
        raise ConfigError(f"unknown image(s) {', '.join(unknown)}; configured: {', '.join(cfg.images)}")
    return list(dict.fromkeys(names))


def templates_dir(cfg: ContainersConfig) -> Path:
    return (REPO_ROOT / cfg.templates_dir).resolve()


def render_dir(cfg: ContainersConfig, image: str) -> Path:
    """Where the rendered `<image>.def` and its build context (the project wheel) live."""
    return Path(cfg.render_dir).resolve() / image


def sif_path(cfg: ContainersConfig, image: str) -> Path:
    return Path(cfg.images_dir).resolve() / f"{image}.sif"
