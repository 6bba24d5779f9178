"""GitLab app: repositories with file trees and history, the merge request and pipeline state machines,
merging (files applied to the target), access levels, and the reference MCP tool surface."""
from __future__ import annotations


import pytest

from arena.core.registry import load_apps
from arena.core.world import World

PROJECT = "acme/billing-service"  # the seeded (private) project at small scale
from tests.arena.calls import ok, refused
from tests.arena.reference import reference_tools


@pytest.fixture(scope="module")
def world() -> World:
    w = World(load_apps(["gitlab"]), seed=0, scale="small")
    w.image
    return w


@pytest.fixture
def ep(world):
    with world.episode() as episode:
        yield episode


def member(ep, level: int) -> dict:
    return ep.query("SELECT u.id, u.username FROM gl_members m JOIN users u ON u.id = m.user_id "
                    "JOIN gl_projects p ON p.id = m.project_id WHERE p.path_with_namespace = ? "
                    "AND m.access_level = ? AND u.role != 'admin' ORDER BY u.id LIMIT 1", PROJECT, level)[0]


def outsider(ep, n: int = 0) -> dict:
    """A GitLab user who is not a member of the seeded project."""
    return ep.query("SELECT u.id, u.username FROM gl_users g JOIN users u ON u.id = g.user_id WHERE u.role != 'admin' "
                    "AND u.id NOT IN (SELECT user_id FROM gl_members WHERE project_id = 1) ORDER BY u.id "
                    "LIMIT 1 OFFSET ?", n)[0]


def file_on(ep, path: str, branch: str = "main", project: int = 1) -> str | None:
    rows = ep.query("SELECT content FROM gl_files WHERE project_id = ? AND branch = ? AND path = ?",
                    project, branch, path)
    return rows[0]["content"] if rows else None


def test_repository_branch_push_merge_request_merge(ep):
    repo = ok(ep, "gitlab.create_repository", {"name": "invoice-exporter", "description": "Exports invoices",
                                               "visibility": "internal", "initialize_with_readme": True,
                                               "namespace": "acme"})
    pid = str(repo["id"])
    assert repo["path_with_namespace"] == "acme/invoice-exporter"
    ok(ep, "gitlab.create_branch", {"project_id": "acme/invoice-exporter", "branch": "feature/csv", "ref": "main"})
    push = ok(ep, "gitlab.push_files", {"project_id": pid, "branch": "feature/csv", "commit_message": "Add CSV export",
                                        "files": [{"file_path": "src/export.py", "content": "def export():\n    pass\n"},
                                                  {"file_path": "README.md", "content": "# invoice-exporter\nCSV!\n"}]})
    mr = ok(ep, "gitlab.create_merge_request", {"project_id": pid, "title": "CSV export", "source_branch": "feature/csv",
                                                "target_branch": "main"})
    diffs = ok(ep, "gitlab.get_merge_request_diffs", {"project_id": pid, "merge_request_iid": mr["iid"]})
    assert {(c["new_path"], c["new_file"]) for c in diffs["changes"]} == {("src/export.py", True), ("README.md", False)}
    # main is untouched until the merge
    assert ep.call("gitlab.get_file_contents", {"project_id": pid, "file_path": "src/export.py"}).error["code"] == "not_found"
    merged = ok(ep, "gitlab.merge_merge_request", {"project_id": pid, "merge_request_iid": mr["iid"],
                                                   "should_remove_source_branch": True})
    assert merged["files_changed"] == 2
    assert ok(ep, "gitlab.get_file_contents", {"project_id": pid, "file_path": "README.md", "ref": "main"})["content"] \
        == "# invoice-exporter\nCSV!\n"
    commits = ok(ep, "gitlab.list_commits", {"project_id": pid})["commits"]
    assert [c["title"] for c in commits] == ["Merge branch 'feature/csv' into 'main'", "Initial commit"]
    assert commits[0]["id"] == merged["merge_commit_sha"]
    assert ok(ep, "gitlab.get_commit", {"project_id": pid, "sha": push["commit_id"][:8]})["changes"] == [
        {"path": "README.md", "action": "update"}, {"path": "src/export.py", "action": "create"}]
    # state: MR merged by the actor, source branch gone with its files, main holds both files
    assert ep.query("SELECT state, merged_by_id FROM gl_merge_requests WHERE id = ?", mr["id"]) == [
        {"state": "merged", "merged_by_id": 1}]
    assert ep.query("SELECT name FROM gl_branches WHERE project_id = ?", repo["id"]) == [{"name": "main"}]
    assert ep.query("SELECT COUNT(*) AS n FROM gl_files WHERE project_id = ? AND branch = 'feature/csv'",
                    repo["id"])[0]["n"] == 0
    diff = ep.diff()
    assert [r["path_with_namespace"] for r in diff["gl_projects"]["inserted"]] == ["acme/invoice-exporter"]
    assert sorted(r["path"] for r in diff["gl_files"]["inserted"] if r["branch"] == "main") == ["README.md", "src/export.py"]
    assert diff["gl_merge_requests"]["inserted"][0]["state"] == "merged"


def test_merge_applies_updates_and_deletions_to_target(ep):
    dev = member(ep, 30)
    ep.as_user(dev["username"])
    ok(ep, "gitlab.create_branch", {"project_id": PROJECT, "branch": "cleanup"})
    ok(ep, "gitlab.delete_file", {"project_id": PROJECT, "branch": "cleanup", "file_path": "CONTRIBUTING.md",
                                  "commit_message": "Drop CONTRIBUTING"})
    ok(ep, "gitlab.create_or_update_file", {"project_id": PROJECT, "branch": "cleanup", "file_path": "docs/guide.md",
                                            "content": "# Guide\n", "commit_message": "Move guide",
                                            "previous_path": "README.md"})
    mr = ok(ep, "gitlab.create_merge_request", {"project_id": PROJECT, "title": "Cleanup", "source_branch": "cleanup",
                                                "target_branch": "main"})
    # developers cannot merge into the protected default branch; a maintainer can
    refused(ep, "gitlab.merge_merge_request", {"project_id": PROJECT, "merge_request_iid": mr["iid"]}, "permission_denied")
    ep.as_user(member(ep, 50)["username"])  # the project owner (maintainer rights and more)
    ok(ep, "gitlab.merge_merge_request", {"project_id": PROJECT, "merge_request_iid": mr["iid"]})
    assert file_on(ep, "CONTRIBUTING.md") is None and file_on(ep, "README.md") is None
    assert file_on(ep, "docs/guide.md") == "# Guide\n"
    assert file_on(ep, "src/billing_service/main.py") is not None  # untouched files stay
    tree = ok(ep, "gitlab.get_repository_tree", {"project_id": PROJECT})["items"]
    assert {"name": "docs", "path": "docs", "type": "tree"} in tree
    assert not any(i["name"] == "README.md" for i in tree)


def test_merge_keeps_target_side_changes_and_refuses_conflicts(ep):
    def put(branch, path, content):
        ok(ep, "gitlab.create_or_update_file", {"project_id": PROJECT, "branch": branch, "file_path": path,
                                                "content": content, "commit_message": f"Edit {path}"})
    ok(ep, "gitlab.create_branch", {"project_id": PROJECT, "branch": "feature/config"})
    ok(ep, "gitlab.create_branch", {"project_id": PROJECT, "branch": "feature/readme"})
    put("main", "requirements.txt", "fastapi==0.116.0\n")          # only the target changes this file
    put("feature/config", "src/billing_service/config.py", "TIMEOUT_S = 60\n")
    mr = ok(ep, "gitlab.create_merge_request", {"project_id": PROJECT, "title": "Config", "target_branch": "main",
                                                "source_branch": "feature/config"})
    diffs = ok(ep, "gitlab.get_merge_request_diffs", {"project_id": PROJECT, "merge_request_iid": mr["iid"]})
    assert [c["new_path"] for c in diffs["changes"]] == ["src/billing_service/config.py"]
    ok(ep, "gitlab.merge_merge_request", {"project_id": PROJECT, "merge_request_iid": mr["iid"]})
    assert file_on(ep, "requirements.txt") == "fastapi==0.116.0\n"  # not reverted by the stale source copy
    assert file_on(ep, "src/billing_service/config.py") == "TIMEOUT_S = 60\n"
    # the same file changed on both sides since the split: a conflict, refused until resolved
    put("feature/readme", "README.md", "# ours\n")
    put("main", "README.md", "# theirs\n")
    mr2 = ok(ep, "gitlab.create_merge_request", {"project_id": PROJECT, "title": "Readme", "target_branch": "main",
                                                 "source_branch": "feature/readme"})
    args = {"project_id": PROJECT, "merge_request_iid": mr2["iid"]}
    assert ok(ep, "gitlab.get_merge_request_diffs", args)["conflicts"] == ["README.md"]
    refused(ep, "gitlab.merge_merge_request", args, "rule_violation")
    assert file_on(ep, "README.md") == "# theirs\n"


def test_merge_request_state_machine(ep):
    ok(ep, "gitlab.create_branch", {"project_id": PROJECT, "branch": "fix/timeout"})
    ok(ep, "gitlab.create_or_update_file", {"project_id": PROJECT, "branch": "fix/timeout", "file_path": "TIMEOUT",
                                            "content": "60\n", "commit_message": "Raise timeout"})
    mr = ok(ep, "gitlab.create_merge_request", {"project_id": PROJECT, "title": "Raise timeout", "draft": True,
                                                "source_branch": "fix/timeout", "target_branch": "main"})
    args = {"project_id": PROJECT, "merge_request_iid": mr["iid"]}
    refused(ep, "gitlab.merge_merge_request", args, "rule_violation")  # a draft cannot be merged
    ok(ep, "gitlab.update_merge_request", {**args, "state_event": "close"})
    refused(ep, "gitlab.merge_merge_request", args, "invalid_transition")  # nor a closed one
    refused(ep, "gitlab.update_merge_request", {**args, "state_event": "close"}, "invalid_transition")
    assert ok(ep, "gitlab.update_merge_request", {**args, "state_event": "reopen", "draft": False})["state"] == "opened"
    ok(ep, "gitlab.merge_merge_request", args)
    refused(ep, "gitlab.merge_merge_request", args, "invalid_transition")
    refused(ep, "gitlab.update_merge_request", {**args, "state_event": "reopen"}, "invalid_transition")
    assert ok(ep, "gitlab.get_merge_request", args)["state"] == "merged"
    assert file_on(ep, "TIMEOUT") == "60\n"


def test_pipeline_state_machine_and_merge_gate(ep):
    branch = ep.query("SELECT source_branch FROM gl_merge_requests WHERE project_id = 1 AND iid = 1")[0]["source_branch"]
    ok(ep, "gitlab.update_merge_request", {"project_id": PROJECT, "merge_request_iid": 1, "draft": False})
    pl = ok(ep, "gitlab.create_pipeline", {"project_id": PROJECT, "ref": branch})
    assert pl["status"] == "created"
    refused(ep, "gitlab.set_commit_status", {"project_id": PROJECT, "sha": pl["sha"], "state": "success"},
            "invalid_transition")  # created -> success skips running
    assert ok(ep, "gitlab.set_commit_status", {"project_id": PROJECT, "sha": pl["sha"], "state": "running"})["status"] == "running"
    refused(ep, "gitlab.merge_merge_request", {"project_id": PROJECT, "merge_request_iid": 1}, "rule_violation")
    ok(ep, "gitlab.set_commit_status", {"project_id": PROJECT, "sha": pl["sha"], "state": "failed",
                                        "pipeline_id": pl["id"]})
    refused(ep, "gitlab.merge_merge_request", {"project_id": PROJECT, "merge_request_iid": 1}, "rule_violation")
    refused(ep, "gitlab.cancel_pipeline", {"project_id": PROJECT, "pipeline_id": pl["id"]}, "invalid_transition")
    ok(ep, "gitlab.retry_pipeline", {"project_id": PROJECT, "pipeline_id": pl["id"]})
    ok(ep, "gitlab.set_commit_status", {"project_id": PROJECT, "sha": pl["sha"], "state": "success"})
    refused(ep, "gitlab.retry_pipeline", {"project_id": PROJECT, "pipeline_id": pl["id"]}, "invalid_transition")
    ok(ep, "gitlab.merge_merge_request", {"project_id": PROJECT, "merge_request_iid": 1})
    assert ep.query("SELECT status, finished_at FROM gl_pipelines WHERE id = ?", pl["id"]) == [
        {"status": "success", "finished_at": ep.ctx.now}]


def test_issue_assignment_notifies_assignee_and_issue_lifecycle(ep):
    dev = member(ep, 30)
    issue = ok(ep, "gitlab.create_issue", {"project_id": PROJECT, "title": "Webhook retries double-charge",
                                           "labels": ["bug", "backend"], "assignee_ids": [dev["id"]]})
    note = ep.query("SELECT user_id, app, text, ref FROM notifications WHERE ref = ?", f"gitlab:issue:{issue['id']}")
    assert note == [{"user_id": dev["id"], "app": "gitlab", "ref": f"gitlab:issue:{issue['id']}",
                     "text": f"Jordan Lee assigned you to issue {PROJECT}#{issue['iid']}: Webhook retries double-charge"}]
    ok(ep, "gitlab.create_note", {"project_id": PROJECT, "noteable_type": "issue", "noteable_iid": issue["iid"],
                                  "body": "Reproduced on staging."})
    listed = ok(ep, "gitlab.list_issues", {"project_id": PROJECT, "labels": ["bug"], "assignee_username": dev["username"]})
    assert issue["iid"] in [i["iid"] for i in listed["items"]]
    ok(ep, "gitlab.close_issue", {"project_id": PROJECT, "issue_iid": issue["iid"]})
    refused(ep, "gitlab.close_issue", {"project_id": PROJECT, "issue_iid": issue["iid"]}, "invalid_transition")
    got = ok(ep, "gitlab.update_issue", {"project_id": PROJECT, "issue_iid": issue["iid"], "state_event": "reopen",
                                         "assignee_ids": []})
    assert got["state"] == "opened" and got["assignees"] == [] and got["labels"] == ["bug", "backend"]
    assert [n["body"] for n in ok(ep, "gitlab.get_issue", {"project_id": PROJECT, "issue_iid": issue["iid"]})["notes"]] \
        == ["Reproduced on staging."]


def test_fork_copies_repository_and_stays_independent(ep):
    dev = member(ep, 30)
    ep.as_user(dev["username"])
    fork = ok(ep, "gitlab.fork_repository", {"project_id": PROJECT})
    assert fork["path_with_namespace"] == f"{dev['username']}/billing-service"
    fid = str(fork["id"])
    src_files = ep.query("SELECT branch, path, content FROM gl_files WHERE project_id = 1 ORDER BY branch, path")
    assert ep.query("SELECT branch, path, content FROM gl_files WHERE project_id = ? ORDER BY branch, path",
                    fork["id"]) == src_files
    assert len(ok(ep, "gitlab.list_commits", {"project_id": fid})["commits"]) == 2
    ok(ep, "gitlab.create_or_update_file", {"project_id": fid, "branch": "main", "file_path": "README.md",
                                            "content": "forked\n", "commit_message": "Fork edit"})
    assert file_on(ep, "README.md", project=fork["id"]) == "forked\n"
    assert file_on(ep, "README.md") != "forked\n"
    refused(ep, "gitlab.fork_repository", {"project_id": PROJECT}, "conflict")


def test_rules_refuse_and_change_nothing(ep):
    dev, reporter, stranger = member(ep, 30), outsider(ep, 1), outsider(ep)
    ok(ep, "gitlab.add_project_member", {"project_id": PROJECT, "user_id": reporter["username"], "access_level": 20})
    no_account = ep.query("SELECT username FROM users WHERE id NOT IN (SELECT user_id FROM gl_users) LIMIT 1")[0]
    refused(ep, "gitlab.create_repository", {"name": "billing-service", "namespace": "acme"}, "conflict")
    refused(ep, "gitlab.create_branch", {"project_id": PROJECT, "branch": "main"}, "conflict")
    refused(ep, "gitlab.add_project_member", {"project_id": PROJECT, "user_id": dev["username"], "access_level": 30},
            "conflict")
    refused(ep, "gitlab.get_file_contents", {"project_id": PROJECT, "file_path": "nope.txt"}, "not_found")
    refused(ep, "gitlab.get_project", {"project_id": "acme/does-not-exist"}, "not_found")
    refused(ep, "gitlab.create_or_update_file", {"project_id": PROJECT, "branch": "main", "file_path": "../etc/passwd",
                                                 "content": "x", "commit_message": "x"}, "invalid_arguments")
    refused(ep, "gitlab.list_issues", {"project_id": PROJECT, "per_page": 1000}, "invalid_arguments")
    refused(ep, "gitlab.push_files", {"project_id": PROJECT, "branch": "main", "commit_message": "x",
                                      "files": [{"path": "a.txt", "content": "x"}]}, "invalid_arguments")
    refused(ep, "gitlab.create_issue", {"project_id": PROJECT, "title": "x", "assignee_ids": [stranger["id"]]},
            "rule_violation")
    refused(ep, "gitlab.delete_branch", {"project_id": PROJECT, "branch": "main"}, "rule_violation")
    refused(ep, "gitlab.create_merge_request", {"project_id": PROJECT, "title": "x", "source_branch": "main",
                                                "target_branch": "main"}, "rule_violation")
    ok(ep, "gitlab.create_branch", {"project_id": PROJECT, "branch": "no-ci"})
    ok(ep, "gitlab.delete_file", {"project_id": PROJECT, "branch": "no-ci", "file_path": ".gitlab-ci.yml",
                                  "commit_message": "No CI"})
    refused(ep, "gitlab.create_pipeline", {"project_id": PROJECT, "ref": "no-ci"}, "rule_violation")
    ep.as_user(dev["username"])
    refused(ep, "gitlab.create_or_update_file", {"project_id": PROJECT, "branch": "main", "file_path": "x.txt",
                                                 "content": "x", "commit_message": "x"}, "permission_denied")
    refused(ep, "gitlab.add_project_member", {"project_id": PROJECT, "user_id": stranger["username"],
                                              "access_level": 30}, "permission_denied")
    ep.as_user(reporter["username"])
    refused(ep, "gitlab.create_branch", {"project_id": PROJECT, "branch": "mine"}, "permission_denied")
    ep.as_user(stranger["username"])
    refused(ep, "gitlab.get_file_contents", {"project_id": PROJECT, "file_path": "README.md"}, "permission_denied")
    assert PROJECT not in [p["path_with_namespace"] for p in ok(ep, "gitlab.search_repositories", {"search": "billing"})["items"]]
    ep.as_user(no_account["username"])
    refused(ep, "gitlab.list_projects", {}, "permission_denied")
    ep.as_user("jordan.lee")
    ep.db.execute("UPDATE users SET status = 'left' WHERE id = ?", (reporter["id"],))  # as HR's offboarding does
    refused(ep, "gitlab.update_issue", {"project_id": PROJECT, "issue_iid": 1, "assignee_ids": [reporter["id"]]},
            "rule_violation")
    ep.as_user(reporter["username"])
    refused(ep, "gitlab.list_projects", {}, "permission_denied")  # people who left lose access


def test_member_added_sees_private_project_and_is_notified(ep):
    stranger = outsider(ep)
    ok(ep, "gitlab.add_project_member", {"project_id": PROJECT, "user_id": str(stranger["id"]), "access_level": 30})
    assert ep.query("SELECT COUNT(*) AS n FROM notifications WHERE user_id = ? AND app = 'gitlab'",
                    stranger["id"])[0]["n"] == 1
    ep.as_user(stranger["username"])
    assert ok(ep, "gitlab.get_project", {"project_id": PROJECT})["your_access_level"] == 30
    ok(ep, "gitlab.create_branch", {"project_id": "1", "branch": "feature/new-member"})


def test_surface_is_a_superset_of_the_reference_server(world):
    ref = reference_tools("gitlab")
    tools = {t.name: t for t in world.tools("gitlab")}
    assert len(tools) >= 22
    json_type = {"str": "string", "int": "integer", "bool": "boolean", "list": "array", "dict": "object"}
    for spec in ref:
        tool = tools[spec["name"]]
        props, required = tool.input_schema["properties"], set(tool.input_schema.get("required", []))
        for p in spec["params"]:
            assert p["name"] in props, (spec["name"], p["name"])
            assert (p["name"] in required) == p["required"], (spec["name"], p["name"])
            assert props[p["name"]].get("type") == json_type[p["type"].replace(" | None", "")], (spec["name"], p)
        extra_required = required - {p["name"] for p in spec["params"]}
        assert not extra_required, (spec["name"], extra_required)
