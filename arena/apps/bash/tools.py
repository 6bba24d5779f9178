import subprocess
from functools import lru_cache
from typing import Annotated

from pydantic import Field

from arena.apps.bash import app, limits, sandbox, sync
from arena.apps.filesystem.paths import HOME
from arena.core.errors import ToolError

STOP_REASONS = {
    "timeout": "the command ran longer than {t} s and was killed",
    "output_limit": f"the command printed more than {limits.OUTPUT_LIMIT_BYTES} bytes and was stopped "
                    "(redirect large output to a file, or use head/tail)",
}


@app.tool(destructive=True, open_world=False)
def run_command(ctx, command: Annotated[str, Field(description="A bash command line, run in /home/agent",
                                                   min_length=1, max_length=100_000)],
                timeout_seconds: Annotated[int, Field(description="Wall-clock limit in seconds",
                                                      ge=1, le=limits.MAX_TIMEOUT_S)] = limits.DEFAULT_TIMEOUT_S) -> dict:
    """Run a shell command (bash -c) in a sandbox over your local disk /home/agent: no network, no access
    outside /home/agent, limits on time, memory, processes and output. Files it writes are seen by the
    filesystem tools and vice versa. A command that is stopped (time or output limit) changes nothing."""
    workdir = ctx.episode.workdir
    uid = sandbox.sandbox_uid(workdir)
    sync.materialize(ctx, workdir, uid)
    try:
        outcome = sandbox.run(command, workdir, timeout_seconds)
    except sandbox.SandboxUnavailable as exc:
        raise ToolError("sandbox_error", str(exc), reason="no_sandbox") from None
    if outcome.stopped:
        raise ToolError("sandbox_error", STOP_REASONS[outcome.stopped].format(t=timeout_seconds),
                        reason=outcome.stopped, stdout=outcome.stdout[-4096:], stderr=outcome.stderr[-4096:],
                        output_truncated=outcome.stopped == "output_limit")
    if outcome.sandboxed and outcome.exit_code == 1 and outcome.stderr.startswith("bwrap: "):
        raise ToolError("sandbox_error", f"the sandbox could not start: {outcome.stderr.strip()}", reason="bwrap")
    changes = sync.collect(ctx, workdir)
    result = {"exit_code": outcome.exit_code, "stdout": outcome.stdout, "stderr": outcome.stderr}
    if changes:
        result["files_changed"] = changes
    if not outcome.sandboxed:
        result["warning"] = f"ran WITHOUT sandbox ({sandbox.UNSAFE_ENV}=1)"
    return result


@lru_cache(maxsize=1)
def _bash_version() -> str:
    try:
        return subprocess.run(["/bin/bash", "--version"], capture_output=True, text=True, timeout=5).stdout.splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        return "unknown"


@app.tool(read_only=True)
def get_shell_info(ctx) -> dict:
    """The shell's environment: working directory, user, sandbox and limits."""
    bwrap = sandbox.bwrap_path()
    return {
        "shell": "/bin/bash", "version": _bash_version(), "cwd": HOME, "home": HOME, "user": "agent",
        "sandbox": "bubblewrap" if bwrap else ("none (unsafe mode)" if sandbox.unsafe_allowed() else "unavailable"),
        "network": False,
        "limits": {"default_timeout_seconds": limits.DEFAULT_TIMEOUT_S, "max_timeout_seconds": limits.MAX_TIMEOUT_S,
                   "output_bytes": limits.OUTPUT_LIMIT_BYTES, "memory_bytes": limits.MEMORY_LIMIT_BYTES,
                   "processes": limits.MAX_PROCESSES, "tmp_bytes": limits.TMP_SIZE_BYTES},
    }
