"""Running Apptainer: finding the executable, building one image, and the `exec` command line
that serves arena apps inside an image with no network (`--net --network none`: a fresh network
namespace with only loopback, the one network type unprivileged users may request)."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import List, Optional, Sequence

from elab_hpc.errors import UserError
from elab_hpc.hpc.containers.plan import BuildStep
from elab_hpc.hpc.containers.spec import ContainersConfig, sif_path


def find_apptainer(executable: str) -> str:
    """Absolute path of Apptainer, or a UserError saying what to do."""
    found = shutil.which(executable)
    if not found:
        raise UserError(
            f"'{executable}' not found on PATH: Apptainer is needed to build or run images. "
            "On a cluster, load it (e.g. `module load apptainer`) or set apptainer=/path/to/apptainer; "
            "add --dry-run to print the commands that would run instead")
    return found


def run_build(step: BuildStep) -> str:
    """Build one image (in an array task or locally); returns the SIF path. Output goes to the
    job log (or the terminal)."""
    find_apptainer(step.build_argv[0])
    if not step.definition.is_file():
        raise UserError(f"{step.definition} is missing; it is written by `elab-hpc containers build`")
    proc = subprocess.run(step.build_argv, cwd=step.context)
    if proc.returncode != 0:
        raise UserError(f"apptainer build of '{step.image}' failed with exit code {proc.returncode}")
    if not step.sif.is_file():
        raise UserError(f"apptainer build of '{step.image}' exited 0 but wrote no {step.sif}")
    return str(step.sif)


def exec_argv(cfg: ContainersConfig, image: str, app: Optional[str] = None,
              command: Sequence[str] = (), binds: Sequence[str] = ()) -> List[str]:
    """`apptainer exec` with the image's flags, running `command`, or the image's exec_command,
    or with `app` its exec_app_command (for the arena image: serve all apps, or that one)."""
    spec = cfg.images[image]
    if app is not None:
        apps = spec.vars.get("apps") or []
        if command:
            raise UserError("give either --app or --command, not both")
        if not spec.exec_app_command:
            raise UserError(f"image '{image}' serves no apps (images.{image}.exec_app_command is empty)")
        if app not in apps:
            raise UserError(f"image '{image}' has no app '{app}'; apps: {', '.join(apps)}")
        argv = [a.replace("{app}", app) for a in spec.exec_app_command]
    else:
        argv = list(command) if command else list(spec.exec_command)
    if not argv:
        raise UserError(f"no --command given and images.{image}.exec_command is empty")
    for bind in binds:
        if not bind or bind.startswith(":"):
            raise UserError(f"--bind '{bind}': expected SRC[:DST[:ro|rw]]")
    bind_flags = [f"--bind={b}" for b in binds]
    return [cfg.apptainer, "exec", *spec.exec_flags, *bind_flags, str(sif_path(cfg, image)), *argv]


def check_image_built(cfg: ContainersConfig, image: str) -> Path:
    sif = sif_path(cfg, image)
    if not sif.is_file():
        raise UserError(f"image '{image}' is not built ({sif} missing); run `elab-hpc containers build "
                        f"--images {image}`")
    return sif
