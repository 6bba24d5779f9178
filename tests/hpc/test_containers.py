"""Apptainer definitions: rendering, validation, build plans and exec command lines.

Apptainer cannot be installed on this machine, so tests that need it say so in their name: they
check the exact commands that would run, the clear failure where `apptainer` is missing, and —
with a stand-in `apptainer` script that records its arguments — the real build array job on the
dev cluster.
"""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from elab_hpc.errors import ConfigError, UserError
from elab_hpc.hpc.containers.apptainer import exec_argv
from elab_hpc.hpc.containers.plan import build_steps, prepare, source_items
from elab_hpc.hpc.containers.render import project_wheel_name, render_all
from elab_hpc.hpc.containers.spec import load_containers
from elab_hpc.hpc.containers.validate import check_definition, check_with_spython

REPO = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "elab_hpc.cli", "containers"]
IMAGES = ["arena", "train", "serve"]


def out_dirs(tmp_path: Path) -> list:
    return [f"render_dir={tmp_path / 'defs'}", f"images_dir={tmp_path / 'sif'}"]


def cli(*args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, env=env, timeout=timeout, cwd=REPO)


def env_without_apptainer() -> dict:
    env = dict(os.environ)
    assert not any(Path(d, "apptainer").exists() for d in env.get("PATH", "").split(":") if d), \
        "this machine has apptainer; the *_without_apptainer tests assume it is absent"
    return env


@pytest.fixture(scope="module")
def cfg():
    return load_containers()


@pytest.fixture(scope="module")
def rendered(cfg):
    return {r.image: r.text for r in render_all(cfg, IMAGES)}


# --------------------------------------------------------------------------- rendering

def test_render_writes_one_valid_pinned_definition_per_image(tmp_path):
    proc = cli("render", *out_dirs(tmp_path))
    assert proc.returncode == 0, proc.stderr
    paths = [Path(p) for p in proc.stdout.split()]
    assert paths == [tmp_path / "defs" / im / f"{im}.def" for im in IMAGES]
    arena, train, serve = (p.read_text() for p in paths)
    assert arena.startswith("Bootstrap: docker\nFrom: python:3.12-slim-bookworm\n")
    assert train.startswith("Bootstrap: docker\nFrom: pytorch/pytorch:2.11.0-cuda13.0-cudnn9-devel\n")
    assert serve.startswith("Bootstrap: docker\nFrom: vllm/vllm-openai:v0.30.0\n")
    for text in (arena, train, serve):
        assert "{{" not in text and "{%" not in text
        wheel = project_wheel_name()
        assert f"    wheels/{wheel} /opt/elab-hpc/wheels/{wheel}\n" in text
    for pin in ('"trl==1.16.0"', '"peft==0.21.2"', '"deepspeed==0.19.8"', '"transformers==5.24.0"'):
        assert pin in train
    apps = re.findall(r"^%apprun (\S+)\n    exec elab-hpc arena serve --app \1 \"\$@\"$", arena, re.M)
    assert apps == load_containers().images["arena"].vars["apps"] and len(apps) == 15


def test_render_applies_overrides(cfg):
    cfg2 = load_containers(overrides=["versions.trl=1.17.0", "images.arena.base=python:3.11-slim"])
    texts = {r.image: r.text for r in render_all(cfg2, ["arena", "train"])}
    assert '"trl==1.17.0"' in texts["train"] and "trl==1.16.0" not in texts["train"]
    assert "\nFrom: python:3.11-slim\n" in texts["arena"]


def test_render_with_undefined_variable_names_it_and_writes_nothing(tmp_path):
    templates = tmp_path / "templates"
    templates.mkdir()
    for im in IMAGES:
        (templates / f"{im}.def").write_text((REPO / "containers" / f"{im}.def").read_text())
    (templates / "arena.def").write_text((REPO / "containers" / "arena.def").read_text()
                                         .replace("{{ project_wheel }}", "{{ projct_wheel }}"))
    proc = cli("render", "--images", "arena", f"templates_dir={templates}", *out_dirs(tmp_path))
    assert proc.returncode == 2
    assert "'projct_wheel' is undefined" in proc.stderr and "images.arena.vars" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "defs").exists()


def test_invalid_config_is_rejected_naming_the_key(tmp_path):
    proc = cli("render", "images.arena.bsae=python:3.12", *out_dirs(tmp_path))
    assert proc.returncode == 2 and "images.arena.bsae" in proc.stderr, proc.stderr
    proc = cli("render", "--images", "arena,nope", *out_dirs(tmp_path))
    assert proc.returncode == 2 and "unknown image(s) nope" in proc.stderr, proc.stderr
    with pytest.raises(ConfigError, match=r"images.train.required_sections: unknown section 'postt'"):
        load_containers(overrides=["images.train.required_sections=[postt]"])
    with pytest.raises(ConfigError, match=r"images.serve.template: 'nope.def' not found"):
        load_containers(overrides=["images.serve.template=nope.def"])
    assert not (tmp_path / "defs").exists()


def test_configured_apps_are_the_arena_apps(cfg):
    from arena.core.registry import APP_NAMES

    assert cfg.images["arena"].vars["apps"] == APP_NAMES


# --------------------------------------------------------------------------- validation

@pytest.mark.parametrize("image", IMAGES)
def test_rendered_definition_is_valid(cfg, rendered, image):
    assert check_definition(rendered[image], cfg.images[image].required_sections) == []


def test_validate_command_reports_every_image_valid():
    proc = cli("validate")
    assert proc.returncode == 0, proc.stderr
    assert [line.split(" (")[0] for line in proc.stdout.splitlines() if line.startswith("✓")] == \
        ["✓ arena", "✓ train", "✓ serve"]


BROKEN = [  # (what to replace in the rendered arena.def, by what, expected line, message)
    ("Bootstrap: docker", "Bootstrap: library", 1, "Bootstrap 'library' is not supported"),
    ("From: python:3.12-slim-bookworm\n", "", None, "no 'From:' header"),
    ("From: python:3.12-slim-bookworm", "From: python", 2, "base image 'python' has no tag"),
    ("From: python:3.12-slim-bookworm", "From: python:latest", 2, "uses ':latest'"),
    ("%environment\n", "%enviroment\n", 14, "unknown section '%enviroment'"),
    ("%test\n", "%setup\n    cp x $APPTAINER_ROOTFS\n%test\n", None, "'%setup' runs on the build host"),
    ("    wheels/", "    /home/alice/elab/wheels/", 12, "%files source '/home/alice/elab/wheels/"),
    ("    wheels/", "    ../wheels/", 12, "leaves the build context"),
    ("    set -eu\n", "    set -eu\n    pip install /work/main/dist/x.whl\n", 21, "host path '/work/main/dist/x.whl'"),
    ("%apprun rocketchat\n", "%apprun\n", None, "'%apprun' needs an app name"),
    ("%test\n", "%test\n    pip install trl=={{ trl }}\n", None, "template placeholder left unrendered"),
    ("From: python:3.12-slim-bookworm\n", "From: python:3.12-slim-bookworm\nOSVersion: 7\n", 3,
     "unknown header keyword 'OSVersion'"),
]


@pytest.mark.parametrize("old,new,line,message", BROKEN, ids=[b[3][:30] for b in BROKEN])
def test_broken_definition_fails_with_clear_message(cfg, rendered, old, new, line, message):
    text = rendered["arena"]
    assert old in text
    problems = check_definition(text.replace(old, new, 1), cfg.images["arena"].required_sections)
    hits = [p for p in problems if message in p.message]
    assert hits, [p.message for p in problems]
    if line is not None:
        assert hits[0].line == line


def test_missing_required_section_fails(cfg, rendered):
    text = re.sub(r"%test\n(    .*\n)+", "", rendered["arena"])
    problems = check_definition(text, cfg.images["arena"].required_sections)
    assert [p.message for p in problems] == ["required section '%test' is missing"]
    empty = rendered["train"].replace('    exec elab-hpc train "$@"\n', "")
    problems = check_definition(empty, cfg.images["train"].required_sections)
    assert [p.message for p in problems] == ["required section '%runscript' is empty"]


def test_spython_parser_rejects_what_it_cannot_read():
    yum = "Bootstrap: yum\nOSVersion: 7\n\n%post\n    yum install -y python3\n"
    problems = check_with_spython(yum, None)
    assert problems and "spython cannot parse it" in problems[0].message
    assert "Only docker is supported" in problems[0].message
    no_post = "Bootstrap: docker\nFrom: python:3.12-slim\n\n%runscript\n    exec python\n"
    assert [p.message for p in check_with_spython(no_post, "python:3.12-slim")] == \
        ["spython finds no build commands (%post)"]


def test_validate_file_cli_lists_problems_with_line_numbers(tmp_path, rendered):
    bad = tmp_path / "arena.def"
    bad.write_text(rendered["arena"].replace("From: python:3.12-slim-bookworm", "From: python:latest"))
    good = tmp_path / "train.def"
    good.write_text(rendered["train"])
    proc = cli("validate", "--file", str(good), "--file", str(bad))
    assert proc.returncode == 2
    assert f"{bad}:2: base image 'python:latest' uses ':latest'; pin a version" in proc.stderr
    assert str(good) not in proc.stderr and "Traceback" not in proc.stderr
    assert proc.returncode == 2 and cli("validate", "--file", str(good)).returncode == 0


# --------------------------------------------------------------------------- commands in images

def test_commands_inside_images_parse_with_the_real_cli(cfg, rendered):
    """%runscript/%apprun lines and exec commands call `elab-hpc ...` subcommands that exist."""
    from elab_hpc.cli import build_parser

    parser = build_parser()
    lines = re.findall(r"^    exec (elab-hpc .*) \"\$@\"$", rendered["arena"] + rendered["train"], re.M)
    assert len(lines) == 1 + 15 + 1
    commands = [shlex.split(line) for line in lines]
    commands += [cfg.images["arena"].exec_command,
                 [a.replace("{app}", "gitlab") for a in cfg.images["arena"].exec_app_command]]
    for argv in commands:
        assert argv[0] == "elab-hpc"
        if argv[1] == "train" and "train" not in parser._subparsers._group_actions[0].choices:
            continue  # `elab-hpc train` arrives with the training area
        args = parser.parse_args(argv[1:])
        assert getattr(args, "func", None), argv


# --------------------------------------------------------------------------- without Apptainer

def test_build_plan_without_apptainer_prints_exact_commands_and_writes_nothing(tmp_path):
    proc = cli("build", "--dry-run", *out_dirs(tmp_path), env=env_without_apptainer())
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    first = tmp_path / "defs" / "arena"
    wheel = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
             "--wheel-dir", str(first / "wheels"), "."]
    assert lines[1:6] == [*(f"#    write {tmp_path / 'defs' / im / im}.def" for im in IMAGES),
                          f"#    copy {', '.join(source_items())} to {first / 'src'}",
                          f"cd {first / 'src'} && {shlex.join(wheel)}"]
    assert {"setup.cfg", "pyproject.toml", "elab_hpc", "arena"} <= set(source_items())
    name = project_wheel_name()
    for im in IMAGES[1:]:  # built once, copied
        ctx = tmp_path / "defs" / im
        assert f"mkdir -p {ctx / 'wheels'} && cp {first / 'wheels' / name} {ctx / 'wheels' / name}" in lines
    for im in IMAGES:
        ctx = tmp_path / "defs" / im
        build = f"cd {ctx} && apptainer build --fakeroot --force {tmp_path / 'sif' / im}.sif {im}.def"
        assert f"#    task {IMAGES.index(im)}: {build}" in lines
    assert "# 2. submit a 3-task array job on cluster profile 'devcluster' (backend slurm, partition cpu" \
        in proc.stdout
    assert not (tmp_path / "defs").exists() and not (tmp_path / "sif").exists()

    local = cli("build", "--dry-run", "--local", "--images", "train", *out_dirs(tmp_path))
    assert local.returncode == 0, local.stderr
    assert local.stdout.splitlines()[-1] == (f"cd {tmp_path / 'defs' / 'train'} && apptainer build "
                                             f"--fakeroot --force {tmp_path / 'sif' / 'train.sif'} train.def")
    flags = cli("build", "--dry-run", "--local", "--images", "arena", "build_flags=[]", "apptainer=/opt/x/apptainer",
                *out_dirs(tmp_path))
    assert flags.stdout.splitlines()[-1].endswith(f"&& /opt/x/apptainer build --force {tmp_path / 'sif' / 'arena.sif'} arena.def")


def test_build_without_apptainer_fails_clearly_and_changes_nothing(tmp_path):
    env = env_without_apptainer()
    for mode in ([], ["--local"]):
        proc = cli("build", *mode, *out_dirs(tmp_path), env=env)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert "'apptainer' not found on PATH" in proc.stderr and "--dry-run" in proc.stderr
        assert "Traceback" not in proc.stderr
    assert not (tmp_path / "defs").exists() and not (tmp_path / "sif").exists()
    proc = cli("exec", "arena", "--app", "gitlab", *out_dirs(tmp_path), env=env)
    assert proc.returncode == 2 and "'apptainer' not found on PATH" in proc.stderr


def test_exec_commands_without_apptainer(cfg, tmp_path):
    sif = tmp_path / "sif" / "arena.sif"
    proc = cli("exec", "arena", "--app", "gitlab", "--dry-run", *out_dirs(tmp_path), env=env_without_apptainer())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == (f"apptainer exec --containall --net --network none {sif} "
                                   "elab-hpc arena serve --app gitlab")
    assert exec_argv(cfg, "arena")[-4:] == ["elab-hpc", "arena", "serve", "--all"]
    argv = exec_argv(cfg, "arena", command=["python", "-c", "print(1)"], binds=["/tmp/run:/run/elab:ro"])
    assert argv[:7] == ["apptainer", "exec", "--containall", "--net", "--network", "none", "--bind=/tmp/run:/run/elab:ro"]
    assert argv[-3:] == ["python", "-c", "print(1)"]
    assert exec_argv(cfg, "train", command=["nvidia-smi"])[2:4] == ["--containall", "--nv"]
    with pytest.raises(UserError, match="has no app 'gitlb'; apps: rocketchat"):
        exec_argv(cfg, "arena", app="gitlb")
    with pytest.raises(UserError, match="serves no apps"):
        exec_argv(cfg, "serve", app="gitlab")
    bad = cli("exec", "arena", "--app", "gitlb", "--dry-run")
    assert bad.returncode == 2 and "has no app 'gitlb'" in bad.stderr


# --------------------------------------------------------------------------- real build contexts

def test_prepare_writes_definitions_and_the_wheel_their_files_section_copies(tmp_path):
    cfg = load_containers(overrides=out_dirs(tmp_path))
    steps = build_steps(cfg, ["arena", "serve"])
    prepare(cfg, steps)
    for step in steps:
        ctx = tmp_path / "defs" / step.image
        text = (ctx / f"{step.image}.def").read_text()
        src = re.search(r"^%files\n    (\S+) ", text, re.M).group(1)
        wheel = ctx / src  # the %files source, relative to the build's working directory
        assert wheel.is_file() and step.context == ctx and not (ctx / "src").exists()
        names = zipfile.ZipFile(wheel).namelist()
        assert "elab_hpc/cli.py" in names and "arena/__init__.py" in names
        assert any(n.startswith("elab_hpc/hpc/containers/") for n in names)
    assert sorted(p.name for p in (tmp_path / "defs").iterdir()) == ["arena", "serve"]


FAKE_APPTAINER = """\
#!/bin/bash
# Stand-in for Apptainer, which cannot be installed here: checks what a real build would need
# (the definition and the wheel its %files copies, relative to the working directory) and
# writes the SIF path it was given, recording its working directory and arguments.
set -eu
[[ "$1" == build ]] || { echo "fake apptainer: only build" >&2; exit 64; }
sif=${@: -2:1}; def=${@: -1}
[[ -f "$def" ]] || { echo "fake apptainer: no $def in $PWD" >&2; exit 65; }
src=$(sed -n '/^%files/{n;p}' "$def" | awk '{print $1}')
[[ -f "$src" ]] || { echo "fake apptainer: %files source $src missing in $PWD" >&2; exit 66; }
if [[ "$def" == "${FAKE_APPTAINER_FAIL:-}.def" ]]; then echo "fake apptainer: FATAL: failed" >&2; exit 255; fi
printf '%s\\n' "$PWD" "$SLURM_JOB_ID" "$*" > "$sif"
"""


def fake_apptainer_env(tmp_path: Path) -> dict:
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    fake = bin_dir / "apptainer"
    fake.write_text(FAKE_APPTAINER)
    fake.chmod(0o755)
    env = dict(os.environ)
    env["PATH"] = f"{bin_dir}:{Path(sys.executable).parent}:{env.get('PATH', '')}"
    return env


@pytest.mark.slurm
@pytest.mark.timeout(240)
def test_build_array_job_on_devcluster_with_fake_apptainer(devcluster, tmp_path):
    env = fake_apptainer_env(tmp_path)
    bad = cli("build", *out_dirs(tmp_path), "+build_resources.partition=h100",
              f"+build_resources.log_dir={tmp_path / 'jobs'}", env=env)
    assert bad.returncode == 2 and "h100" in bad.stderr and "Traceback" not in bad.stderr, bad.stderr
    assert not (tmp_path / "defs").exists()  # rejected before anything was written or submitted

    proc = cli("build", *out_dirs(tmp_path), "build_resources.time_min=5", "build_resources.mem_gb=0.5",
               f"+build_resources.log_dir={tmp_path / 'jobs'}", env=env, timeout=200)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "submitted 3-task array job on cluster profile 'devcluster'" in proc.stderr
    job_ids = set()
    for im in IMAGES:
        cwd, job_id, args = (tmp_path / "sif" / f"{im}.sif").read_text().splitlines()
        assert cwd == str(tmp_path / "defs" / im)
        assert args == f"build --fakeroot --force {tmp_path / 'sif' / im}.sif {im}.def"
        job_ids.add(job_id)
    assert len(job_ids) == 3  # one array task (own SLURM_JOB_ID) per image

    env["FAKE_APPTAINER_FAIL"] = "serve"
    proc = cli("build", "--images", "serve", *out_dirs(tmp_path), "build_resources.time_min=5",
               "build_resources.mem_gb=0.5", f"+build_resources.log_dir={tmp_path / 'jobs'}", env=env, timeout=200)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "✗ serve: job" in proc.stderr and "exit code 255" in proc.stderr, proc.stderr
    assert "image build failed: serve" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.slurm
@pytest.mark.timeout(240)
def test_build_images_sbatch_builds_each_image_in_its_task_with_fake_apptainer(devcluster, tmp_path):
    env = fake_apptainer_env(tmp_path)
    env["IMAGES"] = "arena serve"
    proc = subprocess.run(["sbatch", "--parsable", "--array=0-1", f"--output={tmp_path}/%A_%a.out",
                           str(REPO / "sbatch" / "build_images.sbatch"), *out_dirs(tmp_path)],
                          capture_output=True, text=True, env=env, cwd=REPO, timeout=60)
    assert proc.returncode == 0, proc.stderr
    job = proc.stdout.strip().split(";")[0]
    from tests.hpc.test_sbatch import logs, wait_final

    states = wait_final(job, 2, timeout=200)
    assert states == {f"{job}_0": "COMPLETED", f"{job}_1": "COMPLETED"}, (states, logs(tmp_path))
    for im in ("arena", "serve"):
        cwd, _, args = (tmp_path / "sif" / f"{im}.sif").read_text().splitlines()
        assert cwd == str(tmp_path / "defs" / im) and args.endswith(f"{im}.sif {im}.def")
    assert not (tmp_path / "sif" / "train.sif").exists()


FAKE_APPTAINER_EXEC = """\
#!/bin/bash
# Stand-in for `apptainer exec` (Apptainer cannot be installed here): records its arguments, then
# runs the command that follows the image path directly, with stdio untouched.
set -eu
printf '%s\\n' "$@" > "$FAKE_APPTAINER_LOG"
while [[ $# -gt 0 && "$1" != *.sif ]]; do shift; done
shift
exec "$@"
"""


def test_exec_serves_an_arena_app_over_stdio_with_fake_apptainer(tmp_path):
    import anyio
    from mcp import Client, StdioServerParameters

    from arena.core.registry import load_apps

    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    (bin_dir / "apptainer").write_text(FAKE_APPTAINER_EXEC)
    (bin_dir / "apptainer").chmod(0o755)
    (tmp_path / "sif").mkdir()
    (tmp_path / "sif" / "arena.sif").write_bytes(b"")  # `exec` refuses an image that is not built
    log = tmp_path / "apptainer.args"
    env = {**os.environ, "PATH": f"{bin_dir}:{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
           "FAKE_APPTAINER_LOG": str(log), "ELAB_CACHE": str(tmp_path / "cache")}
    params = StdioServerParameters(command=sys.executable, cwd=str(REPO), env=env, args=[
        "-m", "elab_hpc.cli", "containers", "exec", "arena", "--app", "rocketchat", *out_dirs(tmp_path)])
    app = next(a for a in load_apps(["rocketchat"]) if a.name == "rocketchat")
    expected = set(app.tools)  # one app served: bare tool names

    async def main():
        async with Client(params) as client:  # the MCP session runs over exec's inherited stdio
            return {t.name for t in (await client.list_tools()).tools}

    assert anyio.run(main) == expected
    assert log.read_text().splitlines() == [
        "exec", "--containall", "--net", "--network", "none", str(tmp_path / "sif" / "arena.sif"),
        "elab-hpc", "arena", "serve", "--app", "rocketchat"]


def test_python_snippets_in_definitions_compile(rendered):
    snippets = [(im, code) for im, text in rendered.items()
                for code in re.findall(r'python3? -c "([^"]+)"', text)]
    assert len(snippets) >= 6
    for image, code in snippets:
        compile(code, f"{image}.def", "exec")


def test_arena_image_test_section_passes_against_this_install(rendered, tmp_path):
    """The %test scriptlet the arena image runs after its build, run here where the same package
    is installed (and bubblewrap, as in the image)."""
    section = re.search(r"^%test\n((?:    .*\n)+)", rendered["arena"], re.M).group(1)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
           "ELAB_CACHE": str(tmp_path)}
    proc = subprocess.run(["/bin/sh", "-e", "-c", section], capture_output=True, text=True, env=env,
                          timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
