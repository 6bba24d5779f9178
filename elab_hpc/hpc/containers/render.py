"""Definition-file templates (containers/*.def) → concrete definition files.

Templates use Jinja2 with `{{ name }}` placeholders (the same syntax as Apptainer's own build
arguments) and loops for the per-app `%apprun` sections. Every variable must be defined: an
unknown one fails with a `ConfigError` naming it and where to set it, and nothing is written.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List

import jinja2

from elab_hpc import __version__
from elab_hpc.errors import ConfigError
from elab_hpc.hpc.containers.spec import ContainersConfig, render_dir, templates_dir


def project_wheel_name() -> str:
    """File name of the wheel `pip wheel` builds from this project (pure Python)."""
    return f"elab_hpc-{__version__}-py3-none-any.whl"


def template_vars(cfg: ContainersConfig, image: str) -> Dict[str, Any]:
    spec = cfg.images[image]
    return {
        **cfg.versions,
        **spec.vars,
        "image": image,
        "base": spec.base,
        "project_version": __version__,
        "project_wheel": project_wheel_name(),
    }


def render_text(cfg: ContainersConfig, image: str) -> str:
    spec = cfg.images[image]
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir(cfg))),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # shell text, not HTML
    )
    where = f"{cfg.templates_dir}/{spec.template}"
    try:
        return env.get_template(spec.template).render(**template_vars(cfg, image))
    except jinja2.UndefinedError as exc:
        raise ConfigError(f"{where}: {exc}; set it under versions or images.{image}.vars") from None
    except jinja2.TemplateSyntaxError as exc:
        raise ConfigError(f"{where} line {exc.lineno}: template syntax error: {exc.message}") from None


@dataclass
class RenderedDef:
    image: str
    path: Path  # <render_dir>/<image>/<image>.def
    text: str


def render_all(cfg: ContainersConfig, images: List[str]) -> List[RenderedDef]:
    """Render every image in memory first, so one bad template leaves no files behind."""
    rendered = [RenderedDef(im, render_dir(cfg, im) / f"{im}.def", render_text(cfg, im)) for im in images]
    return rendered


def write(rendered: List[RenderedDef]) -> None:
    for r in rendered:
        r.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = r.path.with_suffix(".def.tmp")
        tmp.write_text(r.text)
        tmp.replace(r.path)  # readers (a running build) never see half a file
