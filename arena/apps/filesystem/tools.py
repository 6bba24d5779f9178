import difflib
import fnmatch
import posixpath
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from arena.apps.filesystem import app, store
from arena.apps.filesystem.paths import HOME, confine
from arena.core.errors import ToolError

Path = Annotated[str, Field(description="File path, absolute under /home/agent or relative to it")]
MAX_LIST = 500      # entries per listing / search: enough for a home dir, bounded for big worlds
MAX_TREE = 1000


class EditOperation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    oldText: Annotated[str, Field(description="Text to find; must match exactly once", min_length=1)]
    newText: Annotated[str, Field(description="Text to put in its place")]


def _info(row: dict) -> dict:
    return {"path": row["path"], "name": store.basename(row["path"]),
            "type": "directory" if row["is_dir"] else "file", "size": row["size"],
            "permissions": oct(row["mode"])[2:], "modified": row["modified_at"]}


@app.tool(read_only=True)
def read_file(ctx, path: Path,
              head: Annotated[int | None, Field(description="Return only the first N lines", ge=1)] = None,
              tail: Annotated[int | None, Field(description="Return only the last N lines", ge=1)] = None) -> dict:
    """Read the complete contents of a text file (or only its first/last N lines)."""
    if head and tail:
        raise ToolError("invalid_arguments", "give head or tail, not both")
    full = confine(path)
    text = store.text_of(store.need(ctx, full))
    if head or tail:
        lines = text.splitlines(keepends=True)
        text = "".join(lines[:head] if head else lines[-tail:])  # type: ignore[index]
    return {"path": full, "content": text}


@app.tool(read_only=True)
def read_multiple_files(ctx, paths: Annotated[list[str], Field(description="Paths of the files to read", min_length=1,
                                                               max_length=50)]) -> dict:
    """Read several files at once; a file that cannot be read gets an error entry, the others still return."""
    out = []
    for p in paths:
        try:
            full = confine(p)
            out.append({"path": full, "content": store.text_of(store.need(ctx, full))})
        except ToolError as exc:
            out.append({"path": p, "error": exc.to_dict()})
    return {"files": out}


@app.tool(idempotent=True, destructive=True, returns={"path": "string", "size": "integer", "created": "boolean"})
def write_file(ctx, path: Path, content: Annotated[str, Field(description="The complete new file content")]) -> dict:
    """Create a new file or overwrite an existing one with the given content (its directory must exist)."""
    return store.write(ctx, confine(path), content)


@app.tool(destructive=True)
def edit_file(ctx, path: Path,
              edits: Annotated[list[EditOperation], Field(description="Replacements applied in order", min_length=1)],
              dryRun: Annotated[bool, Field(description="Only show the diff, change nothing")] = False) -> dict:
    """Replace exact text passages in a file; returns a unified diff of the change."""
    full = confine(path)
    row = store.need(ctx, full, is_dir=False)
    before = store.text_of(row)
    after = before
    for i, e in enumerate(edits):
        count = after.count(e.oldText)
        if count == 0:
            raise ToolError("not_found", f"edit {i}: oldText not found in {full}", entity="text", key=e.oldText[:80])
        if count > 1:
            raise ToolError("rule_violation", f"edit {i}: oldText occurs {count} times in {full}; make it unique",
                            occurrences=count)
        after = after.replace(e.oldText, e.newText, 1)
    diff = "".join(difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                        fromfile=full, tofile=full))
    if not dryRun and after != before:
        store.write(ctx, full, after)
    return {"path": full, "diff": diff, "applied": not dryRun}


@app.tool(idempotent=True, returns={"path": "string", "created": "boolean"})
def create_directory(ctx, path: Path) -> dict:
    """Create a directory, with any missing parents; succeeds silently if it already exists."""
    full = confine(path)
    return {"path": full, "created": store.mkdir(ctx, full)}


@app.tool(read_only=True)
def list_directory(ctx, path: Path = HOME) -> dict:
    """List the entries of a directory, marked [DIR] or [FILE]."""
    full = confine(path)
    store.need(ctx, full, is_dir=True)
    rows = store.children(ctx, full)
    listing = [f"{'[DIR]' if r['is_dir'] else '[FILE]'} {store.basename(r['path'])}" for r in rows[:MAX_LIST]]
    return {"path": full, "entries": listing, "truncated": len(rows) > MAX_LIST}


@app.tool(read_only=True)
def directory_tree(ctx, path: Path = HOME) -> dict:
    """A recursive tree of a directory: nested {name, type, children} entries."""
    full = confine(path)
    store.need(ctx, full, is_dir=True)
    rows = store.descendants(ctx, full)[:MAX_TREE]
    root: dict = {"name": store.basename(full), "type": "directory", "children": []}
    nodes = {full: root}
    for r in rows:  # sorted by path, so parents come first
        node = {"name": store.basename(r["path"]), "type": "directory" if r["is_dir"] else "file"}
        if r["is_dir"]:
            node["children"] = []
        parent = nodes.get(posixpath.dirname(r["path"]))
        if parent is not None:
            parent["children"].append(node)
            nodes[r["path"]] = node
    return {"path": full, "tree": root, "truncated": len(rows) >= MAX_TREE}


@app.tool(destructive=True, returns={"source": "string", "destination": "string"})
def move_file(ctx, source: Annotated[str, Field(description="Existing file or directory")],
              destination: Annotated[str, Field(description="New path; must not exist yet")]) -> dict:
    """Move or rename a file or directory."""
    src, dst = confine(source), confine(destination)
    store.move(ctx, src, dst)
    return {"source": src, "destination": dst}


def _excluded(rel: str, patterns: list[str]) -> bool:
    """An entry is skipped if it or a directory above it matches a pattern (by name or by path)."""
    parts = rel.split("/")
    for i in range(1, len(parts) + 1):
        sub, name = "/".join(parts[:i]), parts[i - 1]
        if any(fnmatch.fnmatchcase(name, p) or fnmatch.fnmatchcase(sub, p) or fnmatch.fnmatchcase(sub, "*/" + p)
               for p in patterns):
            return True
    return False


@app.tool(read_only=True)
def search_files(ctx, path: Path,
                 pattern: Annotated[str, Field(description="Case-insensitive name pattern: a substring, or a glob "
                                                           "like *.csv", min_length=1)],
                 excludePatterns: Annotated[list[str] | None, Field(description="Glob patterns of names or paths "
                                                                                "to skip")] = None) -> dict:
    """Recursively find files and directories under `path` whose name matches `pattern`."""
    full = confine(path)
    store.need(ctx, full, is_dir=True)
    pat = pattern.lower()
    if any(c in pat for c in "*?["):
        test, arg = "GLOB ?", pat                      # SQLite's GLOB has fnmatch's *, ? and [...]
    else:
        test, arg = "LIKE ? ESCAPE '\\'", "%" + pat.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    skip = [p.lower() for p in excludePatterns or []]
    matches = []
    for r in ctx.all(f"SELECT path FROM fs_files WHERE substr(path, 1, ?) = ? "
                     f"AND lower(substr(path, length(parent) + 2)) {test} ORDER BY path", len(full) + 1, full + "/", arg):
        if skip and _excluded(r["path"][len(full) + 1:].lower(), skip):
            continue
        matches.append(r["path"])
        if len(matches) >= MAX_LIST:
            break
    return {"matches": matches, "count": len(matches), "truncated": len(matches) >= MAX_LIST}


@app.tool(read_only=True)
def get_file_info(ctx, path: Path) -> dict:
    """Metadata of a file or directory: type, size, permissions, modification time."""
    return _info(store.need(ctx, confine(path)))


@app.tool(destructive=True, returns={"path": "string", "removed": "integer"})
def delete_file(ctx, path: Path,
                recursive: Annotated[bool, Field(description="Also delete a non-empty directory with its "
                                                             "contents")] = False) -> dict:
    """Delete a file, or a directory (non-empty ones only with recursive=true)."""
    full = confine(path)
    return {"path": full, "removed": store.remove(ctx, full, recursive=recursive)}


@app.tool(read_only=True)
def list_allowed_directories(ctx) -> dict:
    """The directories this server may access."""
    return {"directories": [HOME]}
