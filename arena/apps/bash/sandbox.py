"""Run one command under bubblewrap with resource limits; nothing here knows about the arena's
database (see sync.py for that)."""
from __future__ import annotations

import os
import resource
import selectors
import shutil
import signal
import subprocess
import tempfile
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

from arena.apps.bash import limits
from arena.apps.filesystem.paths import HOME
from arena.apps.filesystem.store import MAX_FILE_BYTES

UNSAFE_ENV = "ELAB_ARENA_UNSAFE_BASH"
BWRAP_ENV = "ELAB_ARENA_BWRAP"
PATH_IN_SANDBOX = "/usr/local/bin:/usr/bin:/bin"
# the few /etc files programs need to start (dynamic loader, alternatives for awk & co, time zone)
ETC_FILES = ["alternatives", "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "nsswitch.conf",
             "bash.bashrc", "inputrc", "mime.types"]
_etc_dir: str | None = None


class SandboxUnavailable(Exception):
    pass


@dataclass
class Outcome:
    exit_code: int | None
    stdout: str
    stderr: str
    stopped: str | None  # None, "timeout" or "output_limit"
    sandboxed: bool


def bwrap_path() -> str | None:
    configured = os.environ.get(BWRAP_ENV)
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    return shutil.which("bwrap")


def unsafe_allowed() -> bool:
    return os.environ.get(UNSAFE_ENV, "") == "1"


def sandbox_uid(workdir: Path) -> int | None:
    """An unprivileged uid per work directory when we are root (root ignores RLIMIT_NPROC)."""
    if os.geteuid() != 0:
        return None
    return limits.SANDBOX_UID_BASE + zlib.crc32(str(workdir).encode()) % limits.SANDBOX_UID_SPAN


def _identity_files() -> str:
    """passwd/group/hostname files naming the sandbox user `agent` (made once per process)."""
    global _etc_dir
    if _etc_dir is None or not os.path.isdir(_etc_dir):
        d = tempfile.mkdtemp(prefix="arena-sandbox-etc-")
        Path(d, "passwd").write_text("root:x:0:0:root:/root:/bin/bash\nagent:x:1000:1000:Agent:/home/agent:/bin/bash\n"
                                     "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n")
        Path(d, "group").write_text("root:x:0:\nagent:x:1000:\nnogroup:x:65534:\n")
        Path(d, "hostname").write_text("acme-ws\n")
        for name in ("passwd", "group", "hostname"):
            os.chmod(Path(d, name), 0o644)
        os.chmod(d, 0o755)
        _etc_dir = d
    return _etc_dir


def bwrap_argv(bwrap: str, workdir: Path, command: str) -> list[str]:
    etc = _identity_files()
    argv = [bwrap, "--unshare-all", "--die-with-parent", "--new-session", "--as-pid-1", "--hostname", "acme-ws",
            "--uid", "1000", "--gid", "1000",
            "--ro-bind", "/usr", "/usr"]
    for top in ("bin", "lib", "lib64", "sbin", "lib32", "libx32"):
        p = Path("/", top)
        if p.is_symlink():
            argv += ["--symlink", os.readlink(p), f"/{top}"]
        elif p.is_dir():
            argv += ["--ro-bind", str(p), f"/{top}"]
    for name in ETC_FILES:
        argv += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    for name in ("passwd", "group", "hostname"):
        argv += ["--ro-bind", f"{etc}/{name}", f"/etc/{name}"]
    argv += ["--proc", "/proc", "--dev", "/dev", "--size", str(limits.TMP_SIZE_BYTES), "--tmpfs", "/tmp",
             "--bind", str(workdir), HOME, "--chdir", HOME, "--clearenv",
             "--setenv", "HOME", HOME, "--setenv", "USER", "agent", "--setenv", "LOGNAME", "agent",
             "--setenv", "PATH", PATH_IN_SANDBOX, "--setenv", "LANG", "C.UTF-8", "--setenv", "TERM", "dumb",
             "--setenv", "SHELL", "/bin/bash", "--setenv", "TMPDIR", "/tmp",
             "--", "/bin/bash", "-c", command]
    return argv


def _running_processes(uid: int) -> int:
    n = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                n += entry.stat().st_uid == uid
            except OSError:
                pass
    return n


def _limiter(nproc: int):
    def apply() -> None:  # runs in the child after it switched user, before exec
        resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
        resource.setrlimit(resource.RLIMIT_AS, (limits.MEMORY_LIMIT_BYTES, limits.MEMORY_LIMIT_BYTES))
        resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_FILE_BYTES, MAX_FILE_BYTES))
        resource.setrlimit(resource.RLIMIT_NOFILE, (limits.MAX_OPEN_FILES, limits.MAX_OPEN_FILES))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    return apply


def run(command: str, workdir: Path, timeout_s: float) -> Outcome:
    """Run `command` with bash in `workdir` (seen as /home/agent); raises SandboxUnavailable when
    bubblewrap is missing and unsafe mode is off."""
    bwrap = bwrap_path()
    uid = sandbox_uid(workdir)
    if bwrap is not None:
        argv, cwd, env = bwrap_argv(bwrap, workdir, command), str(workdir), {"PATH": PATH_IN_SANDBOX}
    elif unsafe_allowed():
        argv, cwd = ["/bin/bash", "-c", command], str(workdir)
        env = {"PATH": PATH_IN_SANDBOX, "HOME": str(workdir), "LANG": "C.UTF-8", "TERM": "dumb"}
    else:
        raise SandboxUnavailable(
            "bubblewrap (bwrap) is not installed, so commands cannot run sandboxed; install the `bubblewrap` "
            f"package, point {BWRAP_ENV} at it, or set {UNSAFE_ENV}=1 to run WITHOUT isolation")
    nproc = limits.MAX_PROCESSES + _running_processes(uid if uid is not None else os.getuid())
    prlimit = shutil.which("prlimit")
    extra: dict = {"user": uid, "group": uid, "extra_groups": []} if uid is not None else {}
    if prlimit:  # util-linux's prlimit sets the limits: no Python runs between fork and exec (thread-safe)
        argv = [prlimit, f"--nproc={nproc}", f"--as={limits.MEMORY_LIMIT_BYTES}", f"--fsize={MAX_FILE_BYTES}",
                f"--nofile={limits.MAX_OPEN_FILES}", "--core=0", "--", *argv]
    else:
        extra["preexec_fn"] = _limiter(nproc)
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True, **extra)
    out = {proc.stdout: bytearray(), proc.stderr: bytearray()}
    sel = selectors.DefaultSelector()
    for f in out:
        sel.register(f, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout_s
    stopped = None
    total = 0
    try:
        while sel.get_map():
            left = deadline - time.monotonic()
            if left <= 0:
                stopped = "timeout"
                break
            for key, _ in sel.select(timeout=min(left, 0.5)):
                chunk = os.read(key.fd, 65536)
                if not chunk:
                    sel.unregister(key.fileobj)
                    continue
                room = limits.OUTPUT_LIMIT_BYTES - total
                out[key.fileobj] += chunk[:max(room, 0)]
                total += len(chunk)
                if total > limits.OUTPUT_LIMIT_BYTES:
                    stopped = "output_limit"
                    break
            if stopped:
                break
        if stopped:
            _kill(proc)
        else:
            try:
                proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                stopped = "timeout"
                _kill(proc)
    finally:
        sel.close()
        for f in out:
            f.close()
        if proc.poll() is None:
            _kill(proc)
    return Outcome(exit_code=None if stopped else proc.returncode,
                   stdout=out[proc.stdout].decode("utf-8", "replace"), stderr=out[proc.stderr].decode("utf-8", "replace"),
                   stopped=stopped, sandboxed=bwrap is not None)


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except (OSError, ValueError):
        return []


def _kill(proc: subprocess.Popen) -> None:
    """Stop the sandbox from the inside out: SIGKILL bwrap's child (the PID namespace's init, which
    takes every process of the sandbox with it) so bwrap reaps it and exits; only then the rest of
    the group. Killing bwrap first would leave its child to the machine's init as a zombie."""
    for child in _children(proc.pid):
        try:
            os.kill(child, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        proc.wait(timeout=2)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()
