"""Reading and writing the agent's disk (`fs_files`). Shared by the filesystem tools, the bash
sandbox (which syncs a real directory with it) and ownCloud's upload/download."""
from __future__ import annotations

import base64
import posixpath
from typing import Any

from arena.apps.filesystem.paths import HOME, parent_of
from arena.core.errors import ToolError

MAX_FILE_BYTES = 8 << 20  # the sandbox's file-size limit too: one limit for both ways in


def encode(data: bytes) -> tuple[str, str]:
    """(content, encoding): text stays readable in the database and in diff(); binary goes base64."""
    if b"\x00" not in data:
        try:
            return data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            pass
    return base64.b64encode(data).decode("ascii"), "base64"


def raw_bytes(row: dict[str, Any]) -> bytes:
    if row["encoding"] == "base64":
        return base64.b64decode(row["content"])
    return row["content"].encode("utf-8")


def text_of(row: dict[str, Any]) -> str:
    if row["is_dir"]:
        raise ToolError("rule_violation", f"{row['path']} is a directory, not a file", path=row["path"])
    if row["encoding"] != "utf-8":
        raise ToolError("rule_violation", f"{row['path']} is a binary file ({row['size']} bytes); it has no text",
                        path=row["path"])
    return row["content"]


def get(ctx, path: str) -> dict[str, Any] | None:
    return ctx.one("SELECT * FROM fs_files WHERE path = ?", path)


def need(ctx, path: str, *, is_dir: bool | None = None) -> dict[str, Any]:
    row = get(ctx, path)
    if row is None:
        raise ToolError("not_found", f"no such file or directory: {path}", entity="file", key=path)
    if is_dir is True and not row["is_dir"]:
        raise ToolError("rule_violation", f"{path} is a file, not a directory", path=path)
    if is_dir is False and row["is_dir"]:
        raise ToolError("rule_violation", f"{path} is a directory, not a file", path=path)
    return row


def mkdir(ctx, path: str, *, parents: bool = True, mode: int = 0o755) -> bool:
    """Create a directory (and its missing parents); False if it already existed."""
    row = get(ctx, path)
    if row is not None:
        if not row["is_dir"]:
            raise ToolError("conflict", f"{path} exists and is a file", path=path)
        return False
    parent = parent_of(path)
    if parent is not None:
        prow = get(ctx, parent)
        if prow is None:
            if not parents:
                raise ToolError("not_found", f"parent directory {parent} does not exist", entity="directory",
                                key=parent)
            mkdir(ctx, parent, parents=True)
        elif not prow["is_dir"]:
            raise ToolError("conflict", f"{parent} is a file, not a directory", path=parent)
    ctx.insert("fs_files", path=path, parent=parent, content="", encoding="utf-8", is_dir=1, size=0, mode=mode,
               modified_at=ctx.now)
    return True


def write(ctx, path: str, data: bytes | str, *, make_parents: bool = False, mode: int | None = None) -> dict[str, Any]:
    """Create or overwrite a file; returns {path, size, created}."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if len(raw) > MAX_FILE_BYTES:
        raise ToolError("payload_too_large", f"{path}: {len(raw)} bytes exceeds the {MAX_FILE_BYTES}-byte file limit",
                        limit=MAX_FILE_BYTES)
    if path == HOME:
        raise ToolError("rule_violation", f"{HOME} is a directory")
    parent = parent_of(path)
    prow = get(ctx, parent)
    if prow is None:
        if not make_parents:
            raise ToolError("not_found", f"parent directory {parent} does not exist (create it first)",
                            entity="directory", key=parent)
        mkdir(ctx, parent)
    elif not prow["is_dir"]:
        raise ToolError("conflict", f"{parent} is a file, not a directory", path=parent)
    content, encoding = encode(raw)
    row = get(ctx, path)
    if row is None:
        ctx.insert("fs_files", path=path, parent=parent, content=content, encoding=encoding, is_dir=0, size=len(raw),
                   mode=0o644 if mode is None else mode, modified_at=ctx.now)
        return {"path": path, "size": len(raw), "created": True}
    if row["is_dir"]:
        raise ToolError("rule_violation", f"{path} is a directory; cannot write file content to it", path=path)
    ctx.update("fs_files", row["id"], content=content, encoding=encoding, size=len(raw),
               mode=row["mode"] if mode is None else mode, modified_at=ctx.now)
    return {"path": path, "size": len(raw), "created": False}


def children(ctx, path: str) -> list[dict[str, Any]]:
    return ctx.all("SELECT path, is_dir, size, mode, modified_at FROM fs_files WHERE parent = ? ORDER BY path", path)


def descendants(ctx, path: str) -> list[dict[str, Any]]:
    return ctx.all("SELECT * FROM fs_files WHERE substr(path, 1, ?) = ? ORDER BY path", len(path) + 1, path + "/")


def move(ctx, src: str, dst: str) -> None:
    """Rename a file or a whole directory tree (the destination must not exist)."""
    row = need(ctx, src)
    if src == HOME:
        raise ToolError("permission_denied", f"cannot move {HOME} itself")
    if get(ctx, dst) is not None:
        raise ToolError("conflict", f"destination {dst} already exists", path=dst)
    if dst.startswith(src + "/"):
        raise ToolError("rule_violation", f"cannot move {src} into itself ({dst})")
    dparent = parent_of(dst)
    prow = get(ctx, dparent)
    if prow is None or not prow["is_dir"]:
        raise ToolError("not_found", f"destination directory {dparent} does not exist", entity="directory", key=dparent)
    ctx.update("fs_files", row["id"], path=dst, parent=dparent, modified_at=ctx.now)
    if row["is_dir"]:
        n = len(src)
        ctx.db.execute("UPDATE fs_files SET path = ? || substr(path, ?), parent = ? || substr(parent, ?) "
                       "WHERE substr(path, 1, ?) = ?", (dst, n + 1, dst, n + 1, n + 1, src + "/"))


def remove(ctx, path: str, *, recursive: bool = False) -> int:
    """Delete a file or directory; a non-empty directory only when `recursive`. Returns rows removed."""
    row = need(ctx, path)
    if path == HOME:
        raise ToolError("permission_denied", f"cannot delete {HOME} itself")
    n = 1
    if row["is_dir"]:
        inner = ctx.scalar("SELECT COUNT(*) FROM fs_files WHERE substr(path, 1, ?) = ?", len(path) + 1, path + "/")
        if inner and not recursive:
            raise ToolError("rule_violation", f"directory {path} is not empty ({inner} entries)", path=path)
        ctx.db.execute("DELETE FROM fs_files WHERE substr(path, 1, ?) = ?", (len(path) + 1, path + "/"))
        n += inner
    ctx.delete("fs_files", row["id"])
    return n


def basename(path: str) -> str:
    return posixpath.basename(path) or path
