"""ownCloud app: files between the local disk and the cloud, sharing (with notification and mail),
versions, group/home folders, job descriptions from HR, and the rules that refuse bad changes."""
from __future__ import annotations

import pytest

from arena.core.company import hire
from arena.core.registry import load_apps
from arena.core.world import World
from tests.arena.calls import app_calls

ok, refused = app_calls("owncloud")


@pytest.fixture(scope="module")
def world() -> World:
    w = World(load_apps(["owncloud", "mail"]), seed=0, scale="small")
    w.image
    return w


@pytest.fixture
def ep(world):
    with world.episode() as e:
        yield e


def user(ep, where: str) -> dict:
    return ep.query(f"SELECT * FROM users WHERE {where} ORDER BY id LIMIT 1")[0]


def test_upload_share_version_restore_download_episode(ep):
    ok(ep, "filesystem.write_file", {"path": "q1-summary.md", "content": "# Q1\nRevenue up 12%.\n"})
    ok(ep, "create_folder", {"path": "/Shared/Reports"})
    up = ok(ep, "upload_file", {"local_path": "/home/agent/q1-summary.md", "remote_path": "/Shared/Reports"})
    assert up["path"] == "/Shared/Reports/q1-summary.md" and up["created"] is True
    assert ok(ep, "read_file_content", {"remote_path": up["path"]})["content"] == "# Q1\nRevenue up 12%.\n"
    colleague = user(ep, "role = 'finance'")
    share = ok(ep, "share_file", {"path": up["path"], "share_with": colleague["username"], "permissions": "edit"})
    ok(ep, "filesystem.edit_file", {"path": "q1-summary.md", "edits": [{"oldText": "12%", "newText": "14%"}]})
    assert ok(ep, "upload_file", {"local_path": "q1-summary.md", "remote_path": up["path"]})["version"] == 2
    versions = ok(ep, "get_file_versions", {"path": up["path"]})["versions"]
    assert [v["version"] for v in versions] == [1]
    ok(ep, "restore_version", {"path": up["path"], "version": 1})
    assert ok(ep, "download_file", {"remote_path": up["path"], "local_path": "restored/q1.md"})["size"] == 21
    assert ok(ep, "filesystem.read_file", {"path": "restored/q1.md"})["content"] == "# Q1\nRevenue up 12%.\n"
    # the state: one folder + one file, two versions, one share, a notification and a mail to the colleague
    diff = ep.diff()
    assert {r["path"] for r in diff["oc_files"]["inserted"]} == {"/Shared/Reports", up["path"]}
    assert sorted(r["version"] for r in diff["oc_versions"]["inserted"]) == [1, 2]
    assert diff["oc_shares"]["inserted"][0]["share_with_id"] == colleague["id"]
    assert [s["share_id"] for s in ok(ep, "list_shares", {"path": up["path"]})["shares"]] == [share["share_id"]]
    note = ep.query("SELECT text FROM notifications WHERE user_id = ? AND app = 'owncloud'", colleague["id"])
    assert note and up["path"] in note[-1]["text"]
    mail = ep.query("SELECT subject FROM mail_messages WHERE owner_id = ? AND folder = 'INBOX' ORDER BY id DESC LIMIT 1",
                    colleague["id"])
    assert mail[0]["subject"] == "Shared with you: q1-summary.md"
    ep.as_user(colleague["username"])  # the recipient sees it in "shared with me" and may edit it
    assert ok(ep, "list_shares", {"shared_with_me": True})["shares"][0]["path"] == up["path"]
    assert ok(ep, "read_file_content", {"remote_path": up["path"]})["content"].startswith("# Q1")


def test_move_copy_search_and_storage(ep):
    ok(ep, "copy_file", {"source_path": "/Shared/Company Policies", "destination_path": "/Users/jordan.lee/Policies"})
    ok(ep, "move_file", {"source_path": "/Users/jordan.lee/Policies", "destination_path": "/Users/jordan.lee/Archive"})
    found = [r["path"] for r in ok(ep, "search_files", {"query": "leave policy", "path": "/Users/jordan.lee"})["results"]]
    assert found == ["/Users/jordan.lee/Archive/Leave Policy Summary.md"]
    listed = [i["name"] for i in ok(ep, "list_files", {"path": "/Users/jordan.lee/Archive"})["items"]]
    assert len(listed) == 4 and "Brand Guidelines.md" in listed
    info = ok(ep, "get_storage_info")
    assert info["used_bytes"] == ep.query("SELECT SUM(size) AS s FROM oc_files WHERE owner_id = 1 AND is_folder = 0")[0]["s"]
    assert ok(ep, "delete_file", {"path": "/Users/jordan.lee/Archive"})["deleted"] == 5
    assert not ep.query("SELECT 1 FROM oc_files WHERE path LIKE '/Users/jordan.lee/A%'")


def test_job_descriptions_follow_hr_openings(ep):
    openings = ep.query("SELECT job_opening_id, job_title, required_skills FROM hr_job_openings ORDER BY id")
    assert openings
    for o in openings:
        text = ok(ep, "read_file_content",
                  {"remote_path": f"/HR/Job Descriptions/{o['job_opening_id']} {o['job_title']}.md"})["content"]
        assert all(f"- {s}" in text for s in o["required_skills"].split(","))


def test_new_hire_gets_home_folder_and_account(ep):
    ito = ep.query("SELECT id FROM departments WHERE code = 'ITO'")[0]["id"]
    uid = hire(ep.ctx, first_name="Nina", last_name="Test", department_id=ito, designation="Network Engineer")
    ep.as_user(uid)
    info = ok(ep, "get_storage_info")
    assert info["home"] == "/Users/nina.test" and info["used_bytes"] == 0
    ok(ep, "filesystem.write_file", {"path": "cv.md", "content": "Nina"})
    assert ok(ep, "upload_file", {"local_path": "cv.md", "remote_path": "/Users/nina.test/cv.md"})["created"]
    assert ok(ep, "upload_file", {"local_path": "cv.md", "remote_path": "/IT/cv.md"})["created"]  # own department


def test_rules_refuse_without_changes(ep):
    refused(ep, "create_folder", {"path": "/Shared"}, "conflict")
    refused(ep, "create_folder", {"path": "/Nope/Deeper"}, "not_found")
    refused(ep, "delete_file", {"path": "/"}, "rule_violation")
    refused(ep, "delete_file", {"path": "/Users/jordan.lee"}, "rule_violation")
    refused(ep, "move_file", {"source_path": "/Shared", "destination_path": "/Shared/Inner"}, "rule_violation")
    refused(ep, "move_file", {"source_path": "/Shared/Company Policies", "destination_path": "/Finance"}, "conflict")
    refused(ep, "share_file", {"path": "/Shared", "share_with": "jordan.lee"}, "rule_violation")  # yourself
    refused(ep, "share_file", {"path": "/HR/Job Descriptions", "share_type": "link"}, "rule_violation")
    refused(ep, "share_file", {"path": "/Shared", "share_type": "link", "expire_date": "2020-01-01"}, "rule_violation")
    refused(ep, "share_file", {"path": "/Shared", "share_type": "user"}, "invalid_arguments")
    refused(ep, "upload_file", {"local_path": "/etc/passwd", "remote_path": "/Shared/passwd"}, "permission_denied")
    refused(ep, "upload_file", {"local_path": "nothing.txt", "remote_path": "/Shared/x"}, "not_found")
    refused(ep, "read_file_content", {"remote_path": "/Shared"}, "rule_violation")
    refused(ep, "restore_version", {"path": "/Finance/Budgets/Budget 2026.csv", "version": 9}, "not_found")
    shared = ep.query("SELECT f.path, s.share_with_id, s.permissions FROM oc_shares s JOIN oc_files f ON f.id = s.file_id "
                      "WHERE s.share_type = 'user' ORDER BY s.id LIMIT 1")[0]
    owner_path = shared["path"]
    refused(ep, "share_file", {"path": owner_path, "share_with": str(shared["share_with_id"])}, "conflict")
    outsider = user(ep, "role = 'employee' AND department_id != (SELECT id FROM departments WHERE code = 'FIN')")
    ep.as_user(outsider["username"])
    refused(ep, "read_file_content", {"remote_path": "/Finance/Budgets/Budget 2026.csv"}, "permission_denied")
    refused(ep, "delete_file", {"path": "/Finance"}, "permission_denied")
    refused(ep, "set_user_quota", {"username": outsider["username"], "quota_bytes": 10}, "permission_denied")
    refused(ep, "list_files", {"path": "/Users/jordan.lee"}, "permission_denied")
    ep.as_user("jordan.lee")
    ok(ep, "set_user_quota", {"username": outsider["username"], "quota_bytes": 10})
    ep.as_user(outsider["username"])
    ok(ep, "filesystem.write_file", {"path": "big.txt", "content": "x" * 100})
    refused(ep, "upload_file", {"local_path": "big.txt", "remote_path": f"/Users/{outsider['username']}/big.txt"},
            "rule_violation")


def test_read_only_share_cannot_be_changed(ep):
    row = ep.query("SELECT f.path, u.username FROM oc_shares s JOIN oc_files f ON f.id = s.file_id "
                   "JOIN users u ON u.id = s.share_with_id WHERE s.permissions = 'read' AND u.role != 'admin' "
                   "ORDER BY s.id LIMIT 1")[0]
    ep.as_user(row["username"])
    assert ok(ep, "read_file_content", {"remote_path": row["path"]})["content"].startswith("# Notes")
    ok(ep, "filesystem.write_file", {"path": "mine.md", "content": "overwrite"})
    refused(ep, "upload_file", {"local_path": "mine.md", "remote_path": row["path"]}, "permission_denied")
    refused(ep, "delete_file", {"path": row["path"]}, "permission_denied")
