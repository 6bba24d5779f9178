"""ownCloud's files: path rules, who may read or change what, writes that keep versions."""
from __future__ import annotations

import hashlib
import posixpath
from typing import Any

from arena.apps.owncloud import words
from arena.core.errors import ToolError

MAX_NAME = 255


def norm(path: str | None) -> str:
    """An absolute, normalized cloud path ("/" is the root); '..' cannot climb above the root."""
    if path is None or not path.strip():
        return "/"
    raw = path.strip()
    if "\x00" in raw or "\\" in raw:
        raise ToolError("invalid_arguments", f"invalid character in path {path!r}")
    full = posixpath.normpath("/" + raw.lstrip("/"))
    full = "/" + full.lstrip("/")
    if any(len(part) > MAX_NAME for part in full.split("/")):
        raise ToolError("invalid_arguments", f"a name in {path!r} is longer than {MAX_NAME} characters")
    return full


def parent_of(path: str) -> str | None:
    return None if path == "/" else posixpath.dirname(path)


def ancestors(path: str) -> list[str]:
    out = [path]
    while path != "/":
        path = posixpath.dirname(path)
        out.append(path)
    return out


def mimetype(name: str, is_folder: bool) -> str:
    if is_folder:
        return "httpd/unix-directory"
    return words.MIMETYPES.get(posixpath.splitext(name)[1].lower(), "application/octet-stream")


def etag(path: str, content: str, modified_at: str) -> str:
    return hashlib.md5(f"{path}|{modified_at}|{content}".encode()).hexdigest()[:16]


def get(ctx, path: str) -> dict[str, Any] | None:
    return ctx.one("SELECT * FROM oc_files WHERE path = ?", path)


def need(ctx, path: str) -> dict[str, Any]:
    row = get(ctx, path)
    if row is None:
        raise ToolError("not_found", f"{path} not found", entity="file", key=path)
    return row


def access(ctx, path: str) -> str | None:
    """'edit', 'read' or None for the acting user: admins, owners (of the item or a folder above it),
    members of a group folder's department, and share recipients get in."""
    me = ctx.actor
    if me["role"] == "admin":
        return "edit"
    chain = ancestors(path)
    marks = ",".join("?" * len(chain))
    rows = ctx.all(f"SELECT id, owner_id, department_id FROM oc_files WHERE path IN ({marks})", *chain)
    if any(r["owner_id"] == me["id"] or (r["department_id"] is not None and r["department_id"] == me["department_id"])
           for r in rows):
        return "edit"
    if not rows:
        return None
    ids = [r["id"] for r in rows]
    perms = {r["permissions"] for r in ctx.all(
        f"SELECT permissions FROM oc_shares WHERE share_type = 'user' AND share_with_id = ? "
        f"AND file_id IN ({','.join('?' * len(ids))})", me["id"], *ids)}
    return "edit" if "edit" in perms else ("read" if perms else None)


def require(ctx, path: str, level: str) -> None:
    have = access(ctx, path)
    if have is None or (level == "edit" and have != "edit"):
        raise ToolError("permission_denied", f"{ctx.actor['username']} may not {'change' if level == 'edit' else 'read'} "
                        f"{path}" + (" (shared read-only)" if have == "read" else ""), path=path, needs=level)


def owner_for(ctx, parent: str) -> int:
    """New items belong to the owner of the folder they are created in (ownCloud's storage owner)."""
    row = get(ctx, parent)
    return row["owner_id"] if row and row["owner_id"] else ctx.actor["id"]


def used_bytes(ctx, user_id: int) -> int:
    return ctx.scalar("SELECT COALESCE(SUM(size), 0) FROM oc_files WHERE owner_id = ? AND is_folder = 0", user_id)


def check_quota(ctx, owner_id: int, extra: int) -> None:
    acc = ctx.one("SELECT username, quota_bytes FROM oc_accounts WHERE user_id = ?", owner_id)
    if acc is None or extra <= 0:
        return
    used = used_bytes(ctx, owner_id)
    if used + extra > acc["quota_bytes"]:
        raise ToolError("rule_violation", f"quota exceeded: {acc['username']} uses {used} of {acc['quota_bytes']} bytes; "
                        f"{extra} more do not fit", used=used, quota=acc["quota_bytes"], needed=extra)


def make_folder(ctx, path: str, *, owner_id: int | None = None, department_id: int | None = None) -> int:
    parent = parent_of(path)
    prow = get(ctx, parent) if parent else None
    if parent is not None and prow is None:
        raise ToolError("not_found", f"parent folder {parent} does not exist (create it first)", entity="folder",
                        key=parent)
    if prow is not None and not prow["is_folder"]:
        raise ToolError("conflict", f"{parent} is a file, not a folder", path=parent)
    if get(ctx, path) is not None:
        raise ToolError("conflict", f"{path} already exists", path=path)
    return ctx.insert("oc_files", path=path, parent=parent, name=posixpath.basename(path) or "/", is_folder=1,
                      content="", encoding="utf-8", size=0, mimetype=mimetype(path, True), etag=etag(path, "", ctx.now),
                      owner_id=owner_id if owner_id is not None else owner_for(ctx, parent or "/"),
                      department_id=department_id, modified_at=ctx.now, modified_by=ctx.actor["id"])


def put(ctx, path: str, content: str, encoding: str, size: int) -> dict[str, Any]:
    """Create a file, or save a new version of an existing one (the old content becomes a version)."""
    if path == "/":
        raise ToolError("rule_violation", "cannot write file content to the root folder")
    parent = parent_of(path)
    prow = get(ctx, parent)
    if prow is None:
        raise ToolError("not_found", f"folder {parent} does not exist (create it first)", entity="folder", key=parent)
    if not prow["is_folder"]:
        raise ToolError("conflict", f"{parent} is a file, not a folder", path=parent)
    row = get(ctx, path)
    if row is not None and row["is_folder"]:
        raise ToolError("conflict", f"{path} is a folder", path=path)
    require(ctx, path if row else parent, "edit")
    owner = row["owner_id"] if row else owner_for(ctx, parent)
    check_quota(ctx, owner, size - (row["size"] if row else 0))
    tag = etag(path, content, ctx.now)
    if row is None:
        fid = ctx.insert("oc_files", path=path, parent=parent, name=posixpath.basename(path), is_folder=0,
                         content=content, encoding=encoding, size=size, mimetype=mimetype(path, False), etag=tag,
                         owner_id=owner, department_id=None, modified_at=ctx.now, modified_by=ctx.actor["id"])
        return {"path": path, "file_id": fid, "size": size, "version": 1, "created": True}
    version = (ctx.scalar("SELECT MAX(version) FROM oc_versions WHERE file_id = ?", row["id"]) or 0) + 1
    ctx.insert("oc_versions", file_id=row["id"], version=version, content=row["content"], encoding=row["encoding"],
               size=row["size"], modified_at=row["modified_at"], modified_by=row["modified_by"])
    ctx.update("oc_files", row["id"], content=content, encoding=encoding, size=size, etag=tag, modified_at=ctx.now,
               modified_by=ctx.actor["id"])
    return {"path": path, "file_id": row["id"], "size": size, "version": version + 1, "created": False}


def subtree(ctx, path: str) -> list[dict[str, Any]]:
    if path == "/":
        return ctx.all("SELECT * FROM oc_files WHERE path != '/' ORDER BY path")
    return ctx.all("SELECT * FROM oc_files WHERE substr(path, 1, ?) = ? ORDER BY path", len(path) + 1, path + "/")


def remove(ctx, row: dict[str, Any]) -> int:
    """Delete an item with everything below it, its versions and its shares."""
    rows = [row] + (subtree(ctx, row["path"]) if row["is_folder"] else [])
    ids = [r["id"] for r in rows]
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        marks = ",".join("?" * len(chunk))
        ctx.db.execute(f"DELETE FROM oc_shares WHERE file_id IN ({marks})", chunk)
        ctx.db.execute(f"DELETE FROM oc_versions WHERE file_id IN ({marks})", chunk)
        ctx.db.execute(f"DELETE FROM oc_files WHERE id IN ({marks})", chunk)
    return len(rows)


def is_protected(ctx, row: dict[str, Any]) -> str | None:
    """Why an item may not be deleted or moved by this user, if it may not."""
    if row["path"] == "/":
        return "the root folder cannot be deleted or moved"
    if row["path"] == "/Users" or ctx.one("SELECT 1 FROM oc_accounts WHERE home_path = ?", row["path"]):
        return f"{row['path']} is a user's home folder; it is removed only when the account is"
    if row["department_id"] is not None and ctx.actor["role"] != "admin":
        return f"{row['path']} is a department group folder; only an admin can remove it"
    return None
