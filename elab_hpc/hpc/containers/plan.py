"""The build of each image as exact commands: prepare its build context, then `apptainer build`.

A build context is `<render_dir>/<image>/`: the rendered `<image>.def` and `wheels/` holding
this project's wheel, which the definition's `%files` copies in by relative path. The build
runs with that folder as working directory, so the definition needs no host path.
"""
from __future__ import annotations

import configparser
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import List

from elab_hpc.config import REPO_ROOT
from elab_hpc.errors import ConfigError, UserError
from elab_hpc.hpc.containers import render as rnd
from elab_hpc.hpc.containers.spec import ContainersConfig, render_dir, sif_path
from elab_hpc.hpc.containers.validate import check_definition


@dataclass
class BuildStep:
    image: str
    context: Path  # working directory of the build (the rendered def and wheels/ are in it)
    definition: Path
    sif: Path
    wheel_argv: List[str]  # builds this project's wheel into <context>/wheels, from a source copy
    build_argv: List[str]  # apptainer build ...

    def shell_lines(self) -> List[str]:
        """The commands as one would type them, for --dry-run."""
        return [f"cd {shlex.quote(str(self.context / 'src'))} && {shlex.join(self.wheel_argv)}",
                f"cd {shlex.quote(str(self.context))} && {shlex.join(self.build_argv)}"]


def source_items() -> List[str]:
    """What a wheel build needs: the build config files and the top-level packages setup.cfg
    includes (elab_hpc, arena)."""
    parser = configparser.ConfigParser()
    parser.read(REPO_ROOT / "setup.cfg")
    include = parser.get("options.packages.find", "include", fallback="elab_hpc").split()
    packages = [p for p in include if "." not in p and "*" not in p]
    files = [f for f in ("setup.cfg", "pyproject.toml", "README.md", "MANIFEST.in") if (REPO_ROOT / f).is_file()]
    return files + packages


def copy_sources(dest: Path) -> None:
    """A copy of the project sources to build the wheel from: a wheel built in the working tree
    writes setuptools' build/ folder there, which concurrent builds trip over."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for item in source_items():
        src = REPO_ROOT / item
        if src.is_dir():
            shutil.copytree(src, dest / item, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
        else:
            shutil.copy2(src, dest / item)


def wheel_argv(dest: Path) -> List[str]:
    # no build isolation: uses the installed setuptools, so it works without registry access
    return [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
            "--wheel-dir", str(dest), "."]


def build_steps(cfg: ContainersConfig, images: List[str]) -> List[BuildStep]:
    steps = []
    for image in images:
        context = render_dir(cfg, image)
        definition = context / f"{image}.def"
        sif = sif_path(cfg, image)
        steps.append(BuildStep(
            image=image, context=context, definition=definition, sif=sif,
            wheel_argv=wheel_argv(context / "wheels"),
            build_argv=[cfg.apptainer, "build", *cfg.build_flags, "--force", str(sif), definition.name],
        ))
    return steps


def render_checked(cfg: ContainersConfig, images: List[str]) -> List[rnd.RenderedDef]:
    """Render in memory and validate; any problem is a ConfigError listing all of them."""
    rendered = rnd.render_all(cfg, images)
    problems = []
    for r in rendered:
        for p in check_definition(r.text, cfg.images[r.image].required_sections):
            problems.append(p.render(f"{r.path} (from {cfg.templates_dir}/{cfg.images[r.image].template})"))
    if problems:
        raise ConfigError("invalid definition file(s):\n  " + "\n  ".join(problems))
    return rendered


def wheel_path(step: BuildStep) -> Path:
    return step.context / "wheels" / rnd.project_wheel_name()


def prepare_lines(steps: List[BuildStep]) -> List[str]:
    """What `prepare` does, as commands (for --dry-run): the wheel is built once, from a copy of
    the sources in the first context, and copied into the others."""
    first = steps[0]
    lines = [f"#    write {s.definition}" for s in steps]
    lines.append(f"#    copy {', '.join(source_items())} to {first.context / 'src'}")
    lines.append(first.shell_lines()[0])
    for s in steps[1:]:
        lines.append(f"mkdir -p {shlex.quote(str(wheel_path(s).parent))} && "
                     f"{shlex.join(['cp', str(wheel_path(first)), str(wheel_path(s))])}")
    return lines


def prepare(cfg: ContainersConfig, steps: List[BuildStep]) -> None:
    """Write each step's definition and the project wheel into its context. Everything is
    rendered and validated before the first file is written."""
    rendered = {r.image: r for r in render_checked(cfg, [s.image for s in steps])}
    rnd.write([rendered[s.image] for s in steps])
    first = steps[0]
    src = first.context / "src"
    copy_sources(src)
    proc = subprocess.run(first.wheel_argv, capture_output=True, text=True, cwd=src)
    shutil.rmtree(src, ignore_errors=True)
    if proc.returncode != 0 or not wheel_path(first).is_file():
        raise UserError(f"building the project wheel failed ({shlex.join(first.wheel_argv)} in {src}):\n"
                        f"{proc.stderr.strip() or proc.stdout.strip()}")
    for step in steps:
        if step is not first:
            wheel_path(step).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(wheel_path(first), wheel_path(step))
        step.sif.parent.mkdir(parents=True, exist_ok=True)
