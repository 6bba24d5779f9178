import hashlib
import posixpath
from typing import Annotated, Literal

from pydantic import Field

from arena.apps.filesystem import store as disk
from arena.apps.filesystem.paths import confine
from arena.apps.owncloud import app, store, words
from arena.core.errors import ToolError

PUBLIC_BASE = "https://cloud.acme-corp.example/s/"
MAX_LIST = 500
MAX_READ = 200_000  # characters of a file returned by read_file_content

RemotePath = Annotated[str, Field(description="Path in ownCloud, e.g. /Finance/Budgets/2026 budget.csv")]
LocalPath = Annotated[str, Field(description="Path on the local disk, under /home/agent (relative paths are "
                                             "relative to it)")]


def _item(row: dict) -> dict:
    return {"path": row["path"], "name": row["name"], "type": "folder" if row["is_folder"] else "file",
            "size": row["size"], "mimetype": row["mimetype"], "modified": row["modified_at"], "etag": row["etag"]}


def _visible(ctx, rows: list[dict]) -> list[dict]:
    if ctx.actor["role"] == "admin":
        return rows
    return [r for r in rows if store.access(ctx, r["path"]) is not None]


@app.tool(read_only=True)
def list_files(ctx, path: Annotated[str | None, Field(description="Folder to list; default: the root /")] = None) -> dict:
    """List the files and folders in a folder (the ones you may see)."""
    full = store.norm(path)
    row = store.need(ctx, full)
    if not row["is_folder"]:
        raise ToolError("rule_violation", f"{full} is a file; use get_file_info or read_file_content", path=full)
    rows = ctx.all("SELECT * FROM oc_files WHERE parent = ? ORDER BY is_folder DESC, name LIMIT ?", full, MAX_LIST + 1)
    items = _visible(ctx, rows[:MAX_LIST])
    if not items and store.access(ctx, full) is None:
        raise ToolError("permission_denied", f"{ctx.actor['username']} may not read {full}", path=full)
    return {"path": full, "items": [_item(r) for r in items], "truncated": len(rows) > MAX_LIST}


@app.tool(read_only=True)
def get_file_info(ctx, path: RemotePath) -> dict:
    """Details of a file or folder: size, type, owner, modification time, shares and version count."""
    full = store.norm(path)
    row = store.need(ctx, full)
    store.require(ctx, full, "read")
    owner = ctx.scalar("SELECT username FROM users WHERE id = ?", row["owner_id"])
    info = _item(row) | {"owner": owner, "file_id": row["id"],
                         "shares": ctx.scalar("SELECT COUNT(*) FROM oc_shares WHERE file_id = ?", row["id"]),
                         "versions": ctx.scalar("SELECT COUNT(*) FROM oc_versions WHERE file_id = ?", row["id"]),
                         "permissions": store.access(ctx, full)}
    if row["is_folder"]:
        info["size"] = ctx.scalar("SELECT COALESCE(SUM(size), 0) FROM oc_files WHERE substr(path, 1, ?) = ?",
                                  len(full) + 1, full.rstrip("/") + "/")
    return info


@app.tool(destructive=True, returns={"path": "string", "file_id": "integer", "size": "integer", "version": "integer"})
def upload_file(ctx, local_path: LocalPath, remote_path: RemotePath) -> dict:
    """Upload a file from the local disk to ownCloud (an existing remote file gets a new version). If
    remote_path is a folder, the file keeps its local name inside it."""
    src = disk.need(ctx, confine(local_path), is_dir=False)
    dst = store.norm(remote_path)
    existing = store.get(ctx, dst)
    if existing is not None and existing["is_folder"]:
        dst = posixpath.join(dst, posixpath.basename(src["path"]))
    return store.put(ctx, dst, src["content"], src["encoding"], src["size"])


@app.tool(destructive=True, idempotent=True, returns={"local_path": "string", "size": "integer"})
def download_file(ctx, remote_path: RemotePath, local_path: LocalPath) -> dict:
    """Download a file from ownCloud to the local disk (overwrites a local file and creates missing local
    folders; if local_path is a directory, the file keeps its name inside it)."""
    src = store.need(ctx, store.norm(remote_path))
    store.require(ctx, src["path"], "read")
    if src["is_folder"]:
        raise ToolError("rule_violation", f"{src['path']} is a folder; download its files one by one", path=src["path"])
    dst = confine(local_path)
    local = disk.get(ctx, dst)
    if local is not None and local["is_dir"]:
        dst = posixpath.join(dst, src["name"])
    data = disk.raw_bytes({"content": src["content"], "encoding": src["encoding"]})
    out = disk.write(ctx, dst, data, make_parents=True)
    return {"remote_path": src["path"], "local_path": dst, "size": out["size"]}


@app.tool(returns={"path": "string", "file_id": "integer"})
def create_folder(ctx, path: RemotePath) -> dict:
    """Create a folder (its parent folder must exist)."""
    full = store.norm(path)
    parent = store.parent_of(full)
    if parent is None:
        raise ToolError("conflict", "the root folder already exists", path="/")
    if store.get(ctx, full) is not None:
        raise ToolError("conflict", f"{full} already exists", path=full)
    store.need(ctx, parent)
    store.require(ctx, parent, "edit")
    return {"path": full, "file_id": store.make_folder(ctx, full)}


@app.tool(destructive=True, returns={"path": "string", "deleted": "integer"})
def delete_file(ctx, path: RemotePath) -> dict:
    """Delete a file, or a folder with everything in it (with their versions and shares)."""
    row = store.need(ctx, store.norm(path))
    store.require(ctx, row["path"], "edit")
    why = store.is_protected(ctx, row)
    if why:
        raise ToolError("rule_violation", why, path=row["path"])
    return {"path": row["path"], "deleted": store.remove(ctx, row)}


@app.tool(read_only=True)
def search_files(ctx, query: Annotated[str, Field(description="Text in the file name (case-insensitive)", min_length=1)],
                 path: Annotated[str | None, Field(description="Only search below this folder")] = None) -> dict:
    """Find files and folders whose name contains the query text."""
    base = store.norm(path)
    store.need(ctx, base)
    sql = "SELECT * FROM oc_files WHERE name LIKE ? ESCAPE '\\'"
    like = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    args: list = [like]
    if base != "/":
        sql += " AND substr(path, 1, ?) = ?"
        args += [len(base) + 1, base + "/"]
    rows = _visible(ctx, ctx.all(sql + " ORDER BY path LIMIT 200", *args))[:50]
    return {"query": query, "results": [_item(r) for r in rows], "count": len(rows)}


@app.tool(read_only=True)
def get_storage_info(ctx) -> dict:
    """Your storage quota and usage, and the totals of the instance."""
    me = ctx.actor
    acc = ctx.get("oc_accounts", me["id"], "ownCloud account", key="user_id")
    used = store.used_bytes(ctx, me["id"])
    totals = ctx.one("SELECT COUNT(*) AS items, COALESCE(SUM(size), 0) AS bytes, SUM(is_folder) AS folders "
                     "FROM oc_files")
    return {"user": acc["username"], "home": acc["home_path"], "quota_bytes": acc["quota_bytes"], "used_bytes": used,
            "free_bytes": max(acc["quota_bytes"] - used, 0),
            "relative_used_percent": round(100 * used / acc["quota_bytes"], 4) if acc["quota_bytes"] else 100.0,
            "instance": {"files": totals["items"] - (totals["folders"] or 0), "folders": totals["folders"] or 0,
                         "total_bytes": totals["bytes"]}}


@app.tool(read_only=True)
def read_file_content(ctx, remote_path: RemotePath) -> dict:
    """Read a text file's content directly from ownCloud."""
    row = store.need(ctx, store.norm(remote_path))
    store.require(ctx, row["path"], "read")
    if row["is_folder"]:
        raise ToolError("rule_violation", f"{row['path']} is a folder; use list_files", path=row["path"])
    if row["encoding"] != "utf-8":
        raise ToolError("rule_violation", f"{row['path']} is a binary file ({row['mimetype']}); download it instead",
                        path=row["path"])
    return {"path": row["path"], "content": row["content"][:MAX_READ], "truncated": len(row["content"]) > MAX_READ,
            "size": row["size"], "mimetype": row["mimetype"]}


@app.tool(destructive=True, returns={"source": "string", "destination": "string"})
def move_file(ctx, source_path: Annotated[str, Field(description="File or folder to move or rename")],
              destination_path: Annotated[str, Field(description="New path (must not exist; its folder must)")]) -> dict:
    """Move or rename a file or folder (with everything inside it)."""
    row = store.need(ctx, store.norm(source_path))
    dst = store.norm(destination_path)
    store.require(ctx, row["path"], "edit")
    why = store.is_protected(ctx, row)
    if why:
        raise ToolError("rule_violation", why, path=row["path"])
    _check_target(ctx, row, dst)
    src = row["path"]
    ctx.update("oc_files", row["id"], path=dst, parent=store.parent_of(dst), name=posixpath.basename(dst),
               modified_at=ctx.now, modified_by=ctx.actor["id"])
    if row["is_folder"]:
        n = len(src)
        ctx.db.execute("UPDATE oc_files SET path = ? || substr(path, ?), parent = ? || substr(parent, ?) "
                       "WHERE substr(path, 1, ?) = ?", (dst, n + 1, dst, n + 1, n + 1, src + "/"))
    return {"source": src, "destination": dst}


def _check_target(ctx, row: dict, dst: str) -> None:
    if store.get(ctx, dst) is not None:
        raise ToolError("conflict", f"{dst} already exists", path=dst)
    if dst == row["path"] or dst.startswith(row["path"] + "/"):
        raise ToolError("rule_violation", f"cannot put {row['path']} inside itself ({dst})")
    parent = store.parent_of(dst)
    prow = store.get(ctx, parent)
    if prow is None or not prow["is_folder"]:
        raise ToolError("not_found", f"destination folder {parent} does not exist", entity="folder", key=parent)
    store.require(ctx, parent, "edit")


@app.tool(returns={"source": "string", "destination": "string", "copied": "integer"})
def copy_file(ctx, source_path: Annotated[str, Field(description="File or folder to copy")],
              destination_path: Annotated[str, Field(description="Path of the copy (must not exist; its folder "
                                                                 "must)")]) -> dict:
    """Copy a file or folder (with everything inside it); the copies belong to the destination's owner."""
    row = store.need(ctx, store.norm(source_path))
    dst = store.norm(destination_path)
    store.require(ctx, row["path"], "read")
    _check_target(ctx, row, dst)
    owner = store.owner_for(ctx, store.parent_of(dst))
    rows = [row] + (store.subtree(ctx, row["path"]) if row["is_folder"] else [])
    store.check_quota(ctx, owner, sum(r["size"] for r in rows))
    n = len(row["path"])
    for r in rows:
        path = dst + r["path"][n:]
        ctx.insert("oc_files", path=path, parent=store.parent_of(path), name=posixpath.basename(path),
                   is_folder=r["is_folder"], content=r["content"], encoding=r["encoding"], size=r["size"],
                   mimetype=r["mimetype"], etag=store.etag(path, r["content"], ctx.now), owner_id=owner,
                   department_id=None, modified_at=ctx.now, modified_by=ctx.actor["id"])
    return {"source": row["path"], "destination": dst, "copied": len(rows)}


@app.tool(read_only=True)
def get_file_versions(ctx, path: RemotePath) -> dict:
    """The earlier versions of a file, newest first (the current content is not a version)."""
    row = store.need(ctx, store.norm(path))
    store.require(ctx, row["path"], "read")
    rows = ctx.all("SELECT v.version, v.size, v.modified_at, u.username AS modified_by FROM oc_versions v "
                   "LEFT JOIN users u ON u.id = v.modified_by WHERE v.file_id = ? ORDER BY v.version DESC", row["id"])
    return {"path": row["path"], "current": {"size": row["size"], "modified": row["modified_at"]}, "versions": rows}


@app.tool(destructive=True, returns={"path": "string", "restored_version": "integer"})
def restore_version(ctx, path: RemotePath,
                    version: Annotated[int, Field(description="Version number from get_file_versions", ge=1)]) -> dict:
    """Make an earlier version the current content (the current content is kept as a new version)."""
    row = store.need(ctx, store.norm(path))
    old = ctx.one("SELECT * FROM oc_versions WHERE file_id = ? AND version = ?", row["id"], version)
    if old is None:
        raise ToolError("not_found", f"{row['path']} has no version {version}", entity="version", key=version)
    store.put(ctx, row["path"], old["content"], old["encoding"], old["size"])
    return {"path": row["path"], "restored_version": version}


@app.tool(returns={"share_id": "integer", "url": "string"})
def share_file(ctx, path: RemotePath,
               share_type: Annotated[Literal["user", "link"], Field(description="'user' shares with a colleague, "
                                                                                "'link' creates a public link")] = "user",
               share_with: Annotated[str | None, Field(description="Username or e-mail of the colleague "
                                                                   "(for share_type 'user')")] = None,
               permissions: Annotated[Literal["read", "edit"], Field(description="What the recipient may do")] = "read",
               expire_date: Annotated[str | None, Field(description="Last day the share works, YYYY-MM-DD",
                                                        pattern=r"^\d{4}-\d{2}-\d{2}$")] = None) -> dict:
    """Share a file or folder with a colleague or by public link. Public links to HR and Finance files
    must have an expiry date (security policy)."""
    row = store.need(ctx, store.norm(path))
    store.require(ctx, row["path"], "edit")
    if expire_date is not None and expire_date <= ctx.today:
        raise ToolError("rule_violation", f"expire_date {expire_date} must be after today ({ctx.today})")
    target = None
    if share_type == "user":
        if not share_with:
            raise ToolError("invalid_arguments", "share_with is required for a user share")
        target = ctx.user_by(share_with)
        if target["id"] == ctx.actor["id"]:
            raise ToolError("rule_violation", "you cannot share a file with yourself")
        if target["status"] != "active":
            raise ToolError("rule_violation", f"{target['username']} has left the company")
        if ctx.one("SELECT 1 FROM oc_shares WHERE file_id = ? AND share_with_id = ?", row["id"], target["id"]):
            raise ToolError("conflict", f"{row['path']} is already shared with {target['username']}")
    else:
        if share_with:
            raise ToolError("invalid_arguments", "share_with is only for user shares; a link is for anyone")
        if not expire_date and any(row["path"] == f or row["path"].startswith(f + "/") for f in words.CONFIDENTIAL_FOLDERS):
            raise ToolError("rule_violation", f"public links to files in {', '.join(words.CONFIDENTIAL_FOLDERS)} must "
                            "have an expire_date (security policy)")
    next_id = (ctx.scalar("SELECT MAX(id) FROM oc_shares") or 0) + 1
    token = hashlib.sha1(f"{row['id']}:{next_id}:{ctx.now}".encode()).hexdigest()[:15] if share_type == "link" else None
    sid = ctx.insert("oc_shares", file_id=row["id"], share_type=share_type,
                     share_with_id=target["id"] if target else None, permissions=permissions, token=token,
                     expiration=expire_date, created_by=ctx.actor["id"], created_at=ctx.now)
    url = PUBLIC_BASE + token if token else f"https://cloud.acme-corp.example/f/{row['id']}"
    if target:
        text = f"{ctx.actor['full_name']} shared {row['path']} with you ({permissions})"
        ctx.notify(target["id"], "owncloud", text, ref=row["path"])
        ctx.emit("mail.send", sender_id=ctx.actor["id"], to=[target["email"]], subject=f"Shared with you: {row['name']}",
                 body=f"{text}.\nOpen it: {url}")
    return {"share_id": sid, "url": url, "path": row["path"], "share_type": share_type, "permissions": permissions,
            "share_with": target["username"] if target else None, "expiration": expire_date}


@app.tool(read_only=True)
def list_shares(ctx, path: Annotated[str | None, Field(description="Only shares of this file or folder")] = None,
                shared_with_me: Annotated[bool, Field(description="List what others shared with you instead")] = False) -> dict:
    """List shares you created (or, with shared_with_me, the ones others created for you)."""
    sql = ("SELECT s.id AS share_id, f.path, s.share_type, w.username AS share_with, s.permissions, s.token, "
           "s.expiration, c.username AS created_by FROM oc_shares s JOIN oc_files f ON f.id = s.file_id "
           "LEFT JOIN users w ON w.id = s.share_with_id JOIN users c ON c.id = s.created_by WHERE ")
    args: list = []
    if shared_with_me:
        sql += "s.share_with_id = ?"
        args.append(ctx.actor["id"])
    elif path is not None:
        row = store.need(ctx, store.norm(path))
        store.require(ctx, row["path"], "read")
        sql += "s.file_id = ?"
        args.append(row["id"])
    else:
        sql += "s.created_by = ?"
        args.append(ctx.actor["id"])
    rows = ctx.all(sql + " ORDER BY s.id LIMIT 200", *args)
    for r in rows:
        r["url"] = PUBLIC_BASE + r.pop("token") if r["token"] else None
    return {"shares": rows}


@app.tool(destructive=True, idempotent=True, returns={"share_id": "integer", "deleted": "boolean"})
def delete_share(ctx, share_id: Annotated[int, Field(description="Share id from list_shares")]) -> dict:
    """Remove a share (its creator, the file's editors, or an admin)."""
    share = ctx.get("oc_shares", share_id, "share")
    path = ctx.scalar("SELECT path FROM oc_files WHERE id = ?", share["file_id"])
    if share["created_by"] != ctx.actor["id"]:
        store.require(ctx, path, "edit")
    ctx.delete("oc_shares", share_id)
    return {"share_id": share_id, "deleted": True}


@app.tool(destructive=True, idempotent=True)
def set_user_quota(ctx, username: Annotated[str, Field(description="Username or e-mail of the account")],
                   quota_bytes: Annotated[int, Field(description="New quota in bytes", ge=0)]) -> dict:
    """Set a user's storage quota (admins only). A quota below what the user already stores is refused."""
    ctx.require_role("admin", action="change storage quotas")
    user = ctx.user_by(username)
    acc = ctx.get("oc_accounts", user["id"], "ownCloud account", key="user_id")
    used = store.used_bytes(ctx, user["id"])
    if quota_bytes < used:
        raise ToolError("rule_violation", f"{acc['username']} already stores {used} bytes; the quota cannot be lower",
                        used=used)
    ctx.update("oc_accounts", acc["id"], quota_bytes=quota_bytes)
    return {"username": acc["username"], "quota_bytes": quota_bytes, "used_bytes": used}
