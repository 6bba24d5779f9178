"""Filesystem app: the agent's disk in the database — CRUD, edits, search, confinement to /home/agent."""
from __future__ import annotations

import pytest

from arena.core.registry import load_apps
from arena.core.world import World
from tests.arena.calls import ok, refused


@pytest.fixture(scope="module")
def world() -> World:
    w = World(load_apps(["filesystem"]), seed=0, scale="small")
    w.image
    return w


@pytest.fixture
def ep(world):
    with world.episode() as e:
        yield e


def test_write_edit_move_read_episode(ep):
    assert ok(ep, "filesystem.create_directory", {"path": "reports/2026"})["created"] is True
    ok(ep, "filesystem.write_file", {"path": "/home/agent/reports/2026/q1.md", "content": "# Q1\nRevenue: 10\n"})
    res = ok(ep, "filesystem.edit_file", {"path": "reports/2026/q1.md",
                                          "edits": [{"oldText": "Revenue: 10", "newText": "Revenue: 12"}]})
    assert "-Revenue: 10" in res["diff"] and "+Revenue: 12" in res["diff"]
    ok(ep, "filesystem.move_file", {"source": "reports", "destination": "archive"})
    assert ok(ep, "filesystem.read_file", {"path": "~/archive/2026/q1.md"})["content"] == "# Q1\nRevenue: 12\n"
    assert "[DIR] 2026" in ok(ep, "filesystem.list_directory", {"path": "archive"})["entries"]
    rows = ep.query("SELECT path, parent, size FROM fs_files WHERE path LIKE '/home/agent/archive%' ORDER BY path")
    assert [r["path"] for r in rows] == ["/home/agent/archive", "/home/agent/archive/2026",
                                         "/home/agent/archive/2026/q1.md"]
    assert rows[2]["parent"] == "/home/agent/archive/2026" and rows[2]["size"] == len("# Q1\nRevenue: 12\n")
    inserted = ep.diff()["fs_files"]["inserted"]
    assert {r["path"] for r in inserted} == {r["path"] for r in rows}
    assert ep.query("SELECT COUNT(*) AS n FROM fs_files WHERE path LIKE '/home/agent/reports%'")[0]["n"] == 0


def test_read_head_search_info_and_tree(ep):
    assert ok(ep, "filesystem.read_file", {"path": "notes/todo.md", "head": 1})["content"] == "# To do\n"
    found = ok(ep, "filesystem.search_files", {"path": "/home/agent", "pattern": "*.sh"})["matches"]
    assert found == ["/home/agent/scripts/backup.sh", "/home/agent/scripts/cleanup_logs.sh"]
    skipped = ok(ep, "filesystem.search_files", {"path": "~", "pattern": "csv", "excludePatterns": ["exports/*"]})
    assert skipped["matches"] == ["/home/agent/data/sales_q1.csv"]
    assert ok(ep, "filesystem.search_files", {"path": "data", "pattern": "SALES_"})["matches"] == \
        ["/home/agent/data/sales_q1.csv"]  # case-insensitive; '_' is a character, not a wildcard
    assert ok(ep, "filesystem.search_files", {"path": "data", "pattern": "orders_000?.csv"})["count"] == 9
    info = ok(ep, "filesystem.get_file_info", {"path": "scripts/backup.sh"})
    assert info["type"] == "file" and info["permissions"] == "755"
    tree = ok(ep, "filesystem.directory_tree", {"path": "projects"})["tree"]
    assert tree["children"][0]["name"] == "q1-report" and tree["children"][0]["children"][0]["name"] == "analyze.py"
    many = ok(ep, "filesystem.read_multiple_files", {"paths": ["README.md", "missing.txt"]})["files"]
    assert many[0]["content"].startswith("# Agent workspace") and many[1]["error"]["code"] == "not_found"
    assert ep.diff() == {}


@pytest.mark.parametrize("path", ["/etc/passwd", "../../etc/shadow", "/home/agent/../root/.ssh/id_rsa",
                                  "/home/agentx/file", "~/../../tmp/x"])
def test_paths_outside_home_are_denied(ep, path):
    refused(ep, "filesystem.read_file", {"path": path}, "permission_denied")
    refused(ep, "filesystem.write_file", {"path": path, "content": "x"}, "permission_denied")


def test_rules_refuse_cleanly(ep):
    refused(ep, "filesystem.write_file", {"path": "no/such/dir/f.txt", "content": "x"}, "not_found")
    refused(ep, "filesystem.move_file", {"source": "notes", "destination": "scripts"}, "conflict")
    refused(ep, "filesystem.move_file", {"source": "notes", "destination": "notes/inner"}, "rule_violation")
    refused(ep, "filesystem.delete_file", {"path": "notes"}, "rule_violation")  # not empty
    refused(ep, "filesystem.delete_file", {"path": "/home/agent"}, "permission_denied")
    refused(ep, "filesystem.edit_file", {"path": "notes/todo.md", "edits": [{"oldText": "nope", "newText": "x"}]},
            "not_found")
    refused(ep, "filesystem.edit_file", {"path": "data/sales_q1.csv",
                                         "edits": [{"oldText": ",", "newText": ";"}]}, "rule_violation")
    refused(ep, "filesystem.read_file", {"path": "notes"}, "rule_violation")
    refused(ep, "filesystem.create_directory", {"path": "README.md"}, "conflict")
    refused(ep, "filesystem.write_file", {"path": "x.txt"}, "invalid_arguments")
    res = ok(ep, "filesystem.delete_file", {"path": "notes", "recursive": True})
    assert res["removed"] > 1 and not ep.query("SELECT 1 FROM fs_files WHERE path LIKE '/home/agent/notes%'")
