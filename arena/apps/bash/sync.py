"""Keep a real directory and the filesystem app's `fs_files` the same disk.

`materialize` makes the directory equal to the database (writing only what differs from what the
last sync left there); `collect` reads back what a command changed. A per-episode record of the
stat of every entry we wrote lets both steps skip unchanged files, so a command in a large world
does not rewrite thousands of files."""
from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from arena.apps.bash import limits
from arena.apps.filesystem import store
from arena.apps.filesystem.paths import HOME
from arena.core.errors import ToolError


@dataclass
class Entry:
    is_dir: bool
    mode: int
    content: str
    encoding: str
    sig: tuple  # (ino, mtime_ns, size, mode) right after we wrote or read it


# {arena path -> Entry} in the episode's session state; dies with the episode (or its reset)
SYNCED_KEY = "bash.synced"


def _sig(st: os.stat_result) -> tuple:
    return (st.st_ino, st.st_mtime_ns, st.st_size, st.st_mode)


def _walk(root: Path, unreadable: list[str] | None = None) -> dict[str, os.stat_result]:
    """Every entry under root (not root itself), keyed by arena path; symlinks are reported as such.
    Directories that cannot be listed go to `unreadable` (their contents are unknown, not gone)."""
    out: dict[str, os.stat_result] = {}

    def failed(err: OSError) -> None:
        if unreadable is not None and err.filename:
            rel = os.path.relpath(err.filename, root)
            unreadable.append(HOME if rel == "." else f"{HOME}/{rel}")

    for dirpath, dirnames, filenames in os.walk(root, onerror=failed):
        rel_dir = os.path.relpath(dirpath, root)
        base = HOME if rel_dir == "." else f"{HOME}/{rel_dir}"
        for name in dirnames + filenames:
            out[f"{base}/{name}"] = os.lstat(os.path.join(dirpath, name))
    return out


def _local(root: Path, path: str) -> str:
    return str(root) if path == HOME else os.path.join(root, path[len(HOME) + 1:])


def _remove(local: str, st: os.stat_result) -> None:
    if stat.S_ISDIR(st.st_mode):
        for dirpath, dirnames, filenames in os.walk(local, topdown=False):
            for n in filenames:
                os.unlink(os.path.join(dirpath, n))
            for n in dirnames:
                p = os.path.join(dirpath, n)
                os.unlink(p) if os.path.islink(p) else os.rmdir(p)
        os.rmdir(local)
    else:
        os.unlink(local)


def materialize(ctx, root: Path, owner: int | None) -> None:
    """Make `root` hold exactly the files of fs_files (owned by `owner` when given)."""
    synced = ctx.episode.session.setdefault(SYNCED_KEY, {})
    rows = {r["path"]: r for r in ctx.all("SELECT path, content, encoding, is_dir, mode FROM fs_files")}
    on_disk = _walk(root)
    # drop what the database does not have (deepest first), and anything whose type changed
    for path in sorted(on_disk, key=len, reverse=True):
        st = on_disk[path]
        row = rows.get(path)
        if row is None or bool(row["is_dir"]) != stat.S_ISDIR(st.st_mode) or stat.S_ISLNK(st.st_mode):
            if os.path.lexists(_local(root, path)):
                _remove(_local(root, path), st)
            on_disk.pop(path, None)
            synced.pop(path, None)
    if owner is not None:
        os.chown(root, owner, owner)
    for path in sorted(rows):  # parents before children
        if path == HOME:
            continue
        row, local = rows[path], _local(root, path)
        known, st = synced.get(path), on_disk.get(path)
        if (known is not None and st is not None and known.sig == _sig(st) and known.mode == row["mode"]
                and known.content == row["content"] and known.encoding == row["encoding"]):
            continue
        if row["is_dir"]:
            os.makedirs(local, exist_ok=True)
        else:
            with open(local, "wb") as fh:
                fh.write(store.raw_bytes(row))
        os.chmod(local, row["mode"] & 0o7777)
        if owner is not None:
            os.chown(local, owner, owner)
        synced[path] = Entry(bool(row["is_dir"]), row["mode"], row["content"], row["encoding"], _sig(os.lstat(local)))


def collect(ctx, root: Path) -> dict[str, list[str]]:
    """Write what changed on disk back into fs_files; returns the changed arena paths."""
    synced = ctx.episode.session.setdefault(SYNCED_KEY, {})
    unreadable: list[str] = []
    on_disk = _walk(root, unreadable)
    if len(on_disk) > limits.MAX_DISK_ENTRIES:
        raise ToolError("sandbox_error", f"the command left {len(on_disk)} files and directories; the disk holds at "
                        f"most {limits.MAX_DISK_ENTRIES}", reason="disk_entries", limit=limits.MAX_DISK_ENTRIES)
    changes: dict[str, list[str]] = {"created": [], "modified": [], "deleted": [], "skipped": []}
    total = 0
    fresh: dict[str, Entry] = {}
    for path in sorted(on_disk):  # parents before children
        st = on_disk[path]
        known = synced.get(path)
        if known is not None and known.sig == _sig(st):
            fresh[path] = known
            total += st.st_size
            continue
        if stat.S_ISLNK(st.st_mode) or not (stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode)):
            changes["skipped"].append(path)  # links, fifos, sockets are not part of the arena's disk
            continue
        try:
            path.encode("utf-8")
        except UnicodeEncodeError:
            changes["skipped"].append(path.encode("utf-8", "replace").decode())
            continue
        is_dir = stat.S_ISDIR(st.st_mode)
        mode = stat.S_IMODE(st.st_mode)
        if is_dir:
            content, encoding, size = "", "utf-8", 0
        else:
            try:
                with open(_local(root, path), "rb") as fh:
                    data = fh.read(store.MAX_FILE_BYTES + 1)
            except OSError:  # e.g. the command made it unreadable (chmod 000) and we are not root
                changes["skipped"].append(path)
                continue
            if len(data) > store.MAX_FILE_BYTES:
                raise ToolError("sandbox_error", f"{path} is larger than {store.MAX_FILE_BYTES} bytes",
                                reason="file_size", path=path)
            content, encoding = store.encode(data)
            size = len(data)
        total += size
        if total > limits.MAX_DISK_BYTES:
            raise ToolError("sandbox_error", f"the disk would hold more than {limits.MAX_DISK_BYTES} bytes",
                            reason="disk_bytes", limit=limits.MAX_DISK_BYTES)
        parent = path.rsplit("/", 1)[0]
        row = ctx.one("SELECT id, content, encoding, is_dir, mode FROM fs_files WHERE path = ?", path)
        if row is None:
            ctx.insert("fs_files", path=path, parent=parent, content=content, encoding=encoding, is_dir=int(is_dir),
                       size=size, mode=mode, modified_at=ctx.now)
            changes["created"].append(path)
        elif (row["content"], row["encoding"], bool(row["is_dir"]), row["mode"]) != (content, encoding, is_dir, mode):
            ctx.update("fs_files", row["id"], content=content, encoding=encoding, is_dir=int(is_dir), size=size,
                       mode=mode, modified_at=ctx.now)
            changes["modified"].append(path)
        fresh[path] = Entry(is_dir, mode, content, encoding, _sig(st))
    gone = [r["path"] for r in ctx.all("SELECT path FROM fs_files WHERE path != ?", HOME) if r["path"] not in on_disk
            and not any(r["path"].startswith(u + "/") for u in unreadable)]
    for path in sorted(gone, key=len, reverse=True):
        ctx.db.execute("DELETE FROM fs_files WHERE path = ?", (path,))
        changes["deleted"].append(path)
    synced.clear()
    synced.update(fresh)
    return {k: v for k, v in changes.items() if v}
