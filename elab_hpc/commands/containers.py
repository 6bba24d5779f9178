"""`elab-hpc containers render|validate|plan|build|exec`: Apptainer images of the project."""
from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path
from typing import List

from elab_hpc.errors import ConfigError, UserError

EPILOG = """\
Images (configs/containers.yaml): arena (every arena app as an MCP server), train (CUDA PyTorch,
TRL, DeepSpeed, PEFT), serve (vLLM). Each is a Jinja2 template under containers/ rendered with
pinned versions; a rendered definition is checked (spython's parser plus our rules: Bootstrap:
docker with a pinned From:, required sections, no %setup, no host paths) before anything is
written or built. Overrides are key=value, e.g. versions.trl=1.16.0 build_cluster=a100.

Examples:
  elab-hpc containers render                       # build/containers/<image>/<image>.def
  elab-hpc containers validate --file my.def
  elab-hpc containers plan
  elab-hpc containers build --dry-run              # the exact commands, nothing runs
  elab-hpc containers build --images arena,train   # one SLURM array task per image
  elab-hpc containers exec arena --app gitlab      # MCP server on stdio, no network
  elab-hpc containers exec train --command "python -c 'import torch; print(torch.cuda.is_available())'"
"""


class _IntermixedParser(argparse.ArgumentParser):
    """Lets key=value overrides come before or after options (`exec arena --app x key=v`);
    plain argparse stops filling positionals once an option has been seen."""

    _inside = False

    def parse_known_args(self, args=None, namespace=None):
        if self._inside:
            return super().parse_known_args(args, namespace)
        self._inside = True
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self._inside = False


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="config overrides")
    p.add_argument("--config", help="containers YAML (default: configs/containers.yaml)")


def _images_opt(p: argparse.ArgumentParser) -> None:
    p.add_argument("--images", help="comma-separated image names (default: all configured)")


def register(subparsers: argparse._SubParsersAction, name: str, help_text: str) -> None:
    p = subparsers.add_parser(name, help=help_text, description=help_text, epilog=EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="containers_command", metavar="ACTION", parser_class=_IntermixedParser)

    render = sub.add_parser("render", help="write the rendered definition files",
                            description="Render containers/<template>.def for each image into "
                            "RENDER_DIR/<image>/<image>.def. All images are rendered and validated "
                            "first; if one is invalid nothing is written.")
    _common(render)
    _images_opt(render)
    render.set_defaults(func=_render)

    validate = sub.add_parser("validate", help="check definition files (rendered, or given with --file)",
                              description="Validate the rendered definition of each image, or the "
                              "files given with --file (required sections from the image of the same "
                              "name). Exit 2 and a list of problems (file:line: what) if any is invalid.")
    _common(validate)
    _images_opt(validate)
    validate.add_argument("--file", action="append", default=[], metavar="DEF",
                          help="validate this definition file instead (repeatable)")
    validate.set_defaults(func=_validate)

    plan = sub.add_parser("plan", help="show what a build would do: images, bases, paths, commands",
                          description="Table of the images with their base image, rendered definition "
                          "and SIF path, followed by the commands `build` would run. Writes nothing.")
    _common(plan)
    _images_opt(plan)
    plan.set_defaults(func=_plan)

    build = sub.add_parser("build", help="build SIF images: one array task per image (or --local)",
                           description="Render and validate the definitions, build the project wheel "
                           "into each build context, then run `apptainer build` for each image: as one "
                           "array job (one task per image, cluster profile `build_cluster`), or here "
                           "with --local. Needs Apptainer; --dry-run prints the exact commands instead.")
    _common(build)
    _images_opt(build)
    build.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    build.add_argument("--local", action="store_true", help="build here, one image after another "
                       "(what each array task of sbatch/build_images.sbatch runs)")
    build.add_argument("--no-wait", action="store_true", help="submit and return without waiting")
    build.set_defaults(func=_build)

    ex = sub.add_parser("exec", help="run a command (default: the arena MCP server) inside an image",
                        description="apptainer exec with the image's exec_flags; for the arena image "
                        "--containall --net --network none: nothing of the host but the bound paths, "
                        "and a network namespace with loopback only. Without --command it runs the "
                        "image's exec_command (arena: serve all apps, or one with --app) with stdio "
                        "passed through, so an MCP client can talk to it.")
    ex.add_argument("image", help="image name, e.g. arena")
    _common(ex)
    ex.add_argument("--app", help="arena app to serve (default: all)")
    ex.add_argument("--command", help="command line to run instead of the image's exec_command")
    ex.add_argument("--bind", action="append", default=[], metavar="SRC[:DST[:ro]]",
                    help="host path to bind into the container (repeatable), e.g. a run folder")
    ex.add_argument("--dry-run", action="store_true", help="print the command, run nothing")
    ex.set_defaults(func=_exec)
    p.set_defaults(func=lambda args: p.print_help())


def _load(args: argparse.Namespace):
    from elab_hpc.hpc.containers.spec import load_containers, select

    cfg = load_containers(args.config, args.overrides)
    names = [n.strip() for n in getattr(args, "images", None).split(",")] if getattr(args, "images", None) else None
    return cfg, select(cfg, names)


def _render(args: argparse.Namespace) -> int:
    from elab_hpc.hpc.containers.plan import render_checked
    from elab_hpc.hpc.containers.render import write

    cfg, images = _load(args)
    rendered = render_checked(cfg, images)
    write(rendered)
    for r in rendered:
        print(r.path)
    return 0


def _validate(args: argparse.Namespace) -> int:
    from rich.console import Console

    from elab_hpc.hpc.containers.render import render_all
    from elab_hpc.hpc.containers.spec import ImageSpec
    from elab_hpc.hpc.containers.validate import check_definition

    cfg, images = _load(args)
    targets = []  # (label, text, required sections)
    if args.file:
        for f in args.file:
            path = Path(f)
            if not path.is_file():
                raise UserError(f"--file {f}: no such file")
            spec = cfg.images.get(path.stem) or ImageSpec()
            targets.append((str(path), path.read_text(), spec.required_sections))
    else:
        for r in render_all(cfg, images):
            targets.append((f"{r.image} ({cfg.templates_dir}/{cfg.images[r.image].template})", r.text,
                            cfg.images[r.image].required_sections))
    console = Console(soft_wrap=True)
    problems = []
    for label, text, required in targets:
        found = check_definition(text, required)
        if found:
            problems += [p.render(label) for p in found]
            console.print(f"[red]✗[/red] {label}: {len(found)} problem(s)")
        else:
            console.print(f"[green]✓[/green] {label}: valid (required: {', '.join('%' + s for s in required)})")
    if problems:
        raise ConfigError("invalid definition file(s):\n  " + "\n  ".join(problems))
    return 0


def _plan(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from elab_hpc.hpc.containers.plan import build_steps, render_checked

    cfg, images = _load(args)
    render_checked(cfg, images)
    steps = build_steps(cfg, images)
    table = Table(title="Apptainer images")
    for col in ("image", "base (From:)", "definition", "SIF"):
        table.add_column(col)
    for s in steps:
        table.add_row(s.image, cfg.images[s.image].base, str(s.definition), str(s.sif))
    console = Console(soft_wrap=True)
    console.print(table)
    print(_dry_run_text(cfg, steps, local=False))
    return 0


def _dry_run_text(cfg, steps, local: bool) -> str:
    from elab_hpc.hpc.containers.plan import prepare_lines

    lines = ["# 1. render + validate the definitions, build the project wheel into each context"]
    lines += prepare_lines(steps)
    if local:
        lines.append("# 2. build here, one image after another")
    else:
        from elab_hpc.hpc.containers.submit import build_cluster, describe

        lines.append(f"# 2. submit a {describe(build_cluster(cfg), len(steps))}; task i runs:")
    for i, s in enumerate(steps):
        prefix = "" if local else f"#    task {i}: "
        lines.append(f"{prefix}{s.shell_lines()[1]}")
    return "\n".join(lines)


def _build(args: argparse.Namespace) -> int:
    from elab_hpc.hpc.containers import apptainer as app
    from elab_hpc.hpc.containers.plan import build_steps, render_checked

    cfg, images = _load(args)
    steps = build_steps(cfg, images)
    if args.dry_run:
        render_checked(cfg, images)  # the same checks as a real build, nothing written
        print(_dry_run_text(cfg, steps, local=args.local))
        return 0
    if args.local:
        app.find_apptainer(cfg.apptainer)  # before anything is written
        return _build_local(cfg, steps)
    from elab_hpc.hpc.containers.submit import build_cluster, build_executor

    cluster = build_cluster(cfg)
    app.find_apptainer(cfg.apptainer)
    executor = build_executor(cluster)  # a bad profile or request fails before anything is written
    return _build_array(cfg, steps, cluster, executor, wait=not args.no_wait)


def _build_local(cfg, steps) -> int:
    from rich.console import Console

    from elab_hpc.hpc.containers.apptainer import run_build
    from elab_hpc.hpc.containers.plan import prepare

    console = Console(stderr=True, soft_wrap=True)  # paths stay whole
    with console.status("rendering definitions and building the project wheel"):
        prepare(cfg, steps)
    for i, step in enumerate(steps, start=1):
        console.rule(f"[{i}/{len(steps)}] {step.image}: {shlex.join(step.build_argv)}")
        console.print(f"built {run_build(step)}")
    return 0


def _build_array(cfg, steps, cluster, executor, wait: bool) -> int:
    from rich.console import Console

    from elab_hpc.hpc.containers.plan import prepare
    from elab_hpc.hpc.containers.submit import describe, submit_builds
    from elab_hpc.hpc.core.executor import wait as wait_jobs

    console = Console(stderr=True, soft_wrap=True)  # paths stay whole
    with console.status("rendering definitions and building the project wheel"):
        prepare(cfg, steps)
    jobs = submit_builds(executor, steps)
    console.print(f"submitted {describe(cluster, len(steps))}: "
                  + ", ".join(f"{s.image}={j.job_id}" for s, j in zip(steps, jobs)))
    if not wait:
        return 0
    try:
        wait_jobs(jobs, poll_s=cluster.poll_interval_s, description="building images")
    except Exception:  # wait() re-raises the first failure; each image is reported below
        pass
    failed = []
    for step, job in zip(steps, jobs):
        try:  # a task's result, or the exception it raised (sacct may lag, so not job.state)
            console.print(f"[green]✓[/green] {step.image}: {job.result()}")
        except Exception as exc:
            failed.append(step.image)
            console.print(f"[red]✗[/red] {step.image}: job {job.job_id}: {_task_error(exc)}; "
                          f"log {job.paths.stderr}")
    if failed:
        raise UserError(f"image build failed: {', '.join(failed)}")
    return 0


def _task_error(exc: Exception) -> str:
    """The error a task raised, out of submitit's failure report (which quotes its traceback)."""
    import re

    raised = re.findall(r"^\s*(?:[\w.]+\.)?(\w+(?:Error|Exception)): (.+)$", str(exc), re.M)
    return f"{raised[-1][0]}: {raised[-1][1]}" if raised else f"{type(exc).__name__}: {exc}"


def _exec(args: argparse.Namespace) -> int:
    from elab_hpc.hpc.containers import apptainer as app
    from elab_hpc.hpc.containers.spec import load_containers, select

    cfg = load_containers(args.config, args.overrides)
    select(cfg, [args.image])
    command: List[str] = shlex.split(args.command) if args.command else []
    argv = app.exec_argv(cfg, args.image, app=args.app, command=command, binds=args.bind)
    if args.dry_run:
        print(shlex.join(argv))
        return 0
    argv[0] = app.find_apptainer(cfg.apptainer)
    app.check_image_built(cfg, args.image)
    sys.stdout.flush()
    os.execv(argv[0], argv)  # stdio stays the caller's: an MCP client talks to the server directly
    return 0  # not reached
