"""Development requests in GitLab: change on a branch → merge request → review → merge."""
from __future__ import annotations

from arena.tasks.handwritten import FamilySpec, field, row, says

PROJECT = "acme/billing-service"
# (branch, file, content, commit message, MR title, review note)
CHANGES = [
    ("docs/runbook", "docs/RUNBOOK.md", "# Billing service runbook\n\nRestart: `make restart`.\n",
     "docs: add the on-call runbook", "Add on-call runbook", "Reviewed: runbook reads well."),
    ("chore/pin-requests", "requirements-lock.txt", "requests==2.32.3\n",
     "chore: pin requests", "Pin requests for reproducible builds", "Reviewed: pin looks right."),
    ("feature/health-timeout", "src/billing_service/health.py", "TIMEOUT_S = 5\n",
     "feat: health check timeout", "Health check timeout setting", "Reviewed: default of 5 s is fine."),
    ("docs/changelog", "CHANGELOG.md", "# Changelog\n\n## 0.2.0\n- invoices export\n",
     "docs: start the changelog", "Start a changelog", "Reviewed: changelog format OK."),
    ("ci/lint-stage", "ci/lint.yml", "lint:\n  script: ruff check .\n",
     "ci: add a lint job definition", "Add lint job definition", "Reviewed: lint job OK."),
]


def mr_review_merge(call, q, i):
    branch, path, content, message, title, note = CHANGES[i]
    call("gitlab.create_branch", {"project_id": PROJECT, "branch": branch, "ref": "main"})
    call("gitlab.create_or_update_file", {"project_id": PROJECT, "file_path": path, "content": content,
                                          "commit_message": message, "branch": branch})
    mr = call("gitlab.create_merge_request", {"project_id": PROJECT, "title": title, "source_branch": branch,
                                              "target_branch": "main"})
    call("gitlab.get_merge_request_diffs", {"project_id": PROJECT, "merge_request_iid": mr["iid"]})
    call("gitlab.create_note", {"project_id": PROJECT, "noteable_type": "merge_request",
                                "noteable_iid": mr["iid"], "body": note})
    call("gitlab.merge_merge_request", {"project_id": PROJECT, "merge_request_iid": mr["iid"]})
    intent = (f"In GitLab project {PROJECT}: create branch '{branch}' from main, commit the file '{path}' with "
              f"exactly this content: {content!r} (commit message '{message}'), open a merge request "
              f"'{title}' into main, review its diff, leave the review comment '{note}' on it and merge it. "
              f"Tell me the merge request number.")
    return {"intent": intent, "category": "version_control", "answer": f"Merged !{mr['iid']}.",
            "checks": [row("gl_merge_requests", project_id=1, title=title, source_branch=branch, state="merged"),
                       row("gl_files", project_id=1, branch="main", path=path, content=content),
                       row("gl_notes", project_id=1, noteable_type="MergeRequest", body=note)] + says(mr["iid"])}


FIXES = [("README.md", "docs/readme-typo", "fix the README title"),
         ("CONTRIBUTING.md", "docs/contributing-note", "mention the changelog in CONTRIBUTING"),
         ("requirements.txt", "chore/requirements-comment", "document requirements.txt")]


def edit_existing_file(call, q, i):
    """Read a file, append a line on a branch, open a draft MR (not merged)."""
    path, branch, why = FIXES[i]
    got = call("gitlab.get_file_contents", {"project_id": PROJECT, "file_path": path, "ref": "main"})
    line = "# Maintained by the billing team.\n" if path.endswith(".txt") else "\nMaintained by the billing team.\n"
    new = got["content"] + line
    call("gitlab.create_branch", {"project_id": PROJECT, "branch": branch, "ref": "main"})
    call("gitlab.create_or_update_file", {"project_id": PROJECT, "file_path": path, "content": new,
                                          "commit_message": why, "branch": branch})
    title = f"Draft: {why}"
    mr = call("gitlab.create_merge_request", {"project_id": PROJECT, "title": title, "source_branch": branch,
                                              "target_branch": "main", "draft": True})
    how = "one more line" if path.endswith(".txt") else "an empty line and then the line"
    intent = (f"In {PROJECT}, append {how} {line.strip()!r} (newline-terminated) at the end of {path}, keeping "
              f"everything else as it is, on a new branch "
              f"'{branch}' from main with commit message '{why}', and open a draft merge request titled "
              f"'{title}' into main. Do not merge it.")
    return {"intent": intent, "category": "version_control", "answer": f"Draft MR !{mr['iid']} is open.",
            "checks": [row("gl_files", project_id=1, branch=branch, path=path, content=new),
                       row("gl_merge_requests", project_id=1, source_branch=branch, state="opened", draft=1),
                       row("gl_files", project_id=1, branch="main", path=path, content=got["content"])]}


FAMILIES = [FamilySpec("mr_review_merge", mr_review_merge, len(CHANGES)),
            FamilySpec("edit_existing_file", edit_existing_file, len(FIXES))]
