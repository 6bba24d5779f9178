"""Resource limits of one sandboxed command (the numbers an operator may want to read in one place)."""
DEFAULT_TIMEOUT_S = 10
MAX_TIMEOUT_S = 60
OUTPUT_LIMIT_BYTES = 64 << 10        # stdout + stderr kept per command; more stops the command
MEMORY_LIMIT_BYTES = 1 << 30         # address space (RLIMIT_AS)
MAX_PROCESSES = 64                   # RLIMIT_NPROC for the sandbox user: a fork bomb hits this
MAX_OPEN_FILES = 256
TMP_SIZE_BYTES = 64 << 20            # the sandbox's private /tmp (tmpfs)
MAX_DISK_ENTRIES = 20000             # files + directories synced back into the arena
MAX_DISK_BYTES = 64 << 20            # total bytes synced back into the arena
SANDBOX_UID_BASE = 200000            # when the arena runs as root, commands run as an unprivileged uid
SANDBOX_UID_SPAN = 50000
