"""Bash: run real shell commands over the agent's disk, inside a bubblewrap sandbox (no network,
only /usr and a few /etc files visible, resource limits). The disk is the filesystem app's
`fs_files`: it is materialized into the episode's work directory before a command runs and
synced back after, so bash and the filesystem tools see one disk and an episode stays resettable.

Without `bwrap` the tool refuses to run (sandbox_error). Setting ELAB_ARENA_UNSAFE_BASH=1 runs
commands WITHOUT isolation (only resource limits, in the work directory) — for machines where
bubblewrap cannot work and the operator accepts the risk. ELAB_ARENA_BWRAP names the bwrap
binary when it is not on PATH."""
from arena.core.app import App

app = App("bash", title="Bash", domain="Utilities", depends_on=("core", "filesystem"),
          description="Run shell commands in a sandbox over the agent's local disk (/home/agent).")

from arena.apps.bash import tools  # noqa: E402,F401  (registers tools on `app`)
