# Access levels are GitLab's: 10 guest, 20 reporter, 30 developer, 40 maintainer, 50 owner.
SCHEMA = """
CREATE TABLE gl_users (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL UNIQUE REFERENCES users(id),
    username TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'blocked'))
);
CREATE TABLE gl_projects (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    path TEXT NOT NULL,
    namespace TEXT NOT NULL,
    path_with_namespace TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    visibility TEXT NOT NULL DEFAULT 'private' CHECK (visibility IN ('private', 'internal', 'public')),
    default_branch TEXT NOT NULL DEFAULT 'main',
    creator_id INTEGER REFERENCES users(id),
    forked_from_id INTEGER REFERENCES gl_projects(id),
    created_at TEXT NOT NULL,
    last_activity_at TEXT NOT NULL
);
CREATE INDEX gl_projects_path ON gl_projects(path);
CREATE TABLE gl_members (
    id INTEGER PRIMARY KEY,
    project_id INTEGER NOT NULL REFERENCES gl_projects(id),
    user_id INTEGER NOT NULL REFERENCES users(id),
    access_level INTEGER NOT NULL CHECK (access_level IN (10, 20, 30, 40, 50)),
    UNIQUE (project_id, user_id)
);
CREATE INDEX gl_members_user ON gl_members(user_id);
CREATE TABLE gl_branches (
    id INTEGER PRIMARY KEY,
    project_id INTEGER NOT NULL REFERENCES gl_projects(id),
    name TEXT NOT NULL,
    commit_sha TEXT NOT NULL,
    protected INTEGER NOT NULL DEFAULT 0,
    UNIQUE (project_id, name)
);
CREATE TABLE gl_commits (
    id INTEGER PRIMARY KEY,
    project_id INTEGER NOT NULL REFERENCES gl_projects(id),
    branch TEXT NOT NULL,
    sha TEXT NOT NULL,
    parent_sha TEXT,
    merge_parent_sha TEXT,                    -- the merged branch's head, for merge commits
    message TEXT NOT NULL,
    author_id INTEGER NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    UNIQUE (project_id, sha)
);
CREATE INDEX gl_commits_branch ON gl_commits(project_id, branch);
CREATE TABLE gl_commit_changes (
    id INTEGER PRIMARY KEY,
    commit_id INTEGER NOT NULL REFERENCES gl_commits(id),
    path TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('create', 'update', 'delete', 'move'))
);
CREATE INDEX gl_commit_changes_commit ON gl_commit_changes(commit_id);
CREATE TABLE gl_files (
    id INTEGER PRIMARY KEY,
    project_id INTEGER NOT NULL REFERENCES gl_projects(id),
    branch TEXT NOT NULL,
    path TEXT NOT NULL,
    content TEXT NOT NULL,
    last_commit_sha TEXT NOT NULL,
    UNIQUE (project_id, branch, path)
);
CREATE TABLE gl_milestones (
    id INTEGER PRIMARY KEY,
    project_id INTEGER NOT NULL REFERENCES gl_projects(id),
    title TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'closed')),
    due_date TEXT,
    UNIQUE (project_id, title)
);
CREATE TABLE gl_issues (
    id INTEGER PRIMARY KEY,
    project_id INTEGER NOT NULL REFERENCES gl_projects(id),
    iid INTEGER NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL DEFAULT 'opened' CHECK (state IN ('opened', 'closed')),
    labels TEXT NOT NULL DEFAULT '',          -- comma separated, as GitLab's API takes them
    milestone_id INTEGER REFERENCES gl_milestones(id),
    author_id INTEGER NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    closed_at TEXT,
    UNIQUE (project_id, iid)
);
CREATE TABLE gl_issue_assignees (
    id INTEGER PRIMARY KEY,
    issue_id INTEGER NOT NULL REFERENCES gl_issues(id),
    user_id INTEGER NOT NULL REFERENCES users(id),
    UNIQUE (issue_id, user_id)
);
CREATE INDEX gl_issue_assignees_user ON gl_issue_assignees(user_id);
CREATE TABLE gl_merge_requests (
    id INTEGER PRIMARY KEY,
    project_id INTEGER NOT NULL REFERENCES gl_projects(id),
    iid INTEGER NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    source_branch TEXT NOT NULL,
    target_branch TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'opened' CHECK (state IN ('opened', 'closed', 'merged')),
    draft INTEGER NOT NULL DEFAULT 0,
    allow_collaboration INTEGER NOT NULL DEFAULT 0,
    author_id INTEGER NOT NULL REFERENCES users(id),
    assignee_id INTEGER REFERENCES users(id),
    merge_commit_sha TEXT,
    merged_by_id INTEGER REFERENCES users(id),
    merged_at TEXT,
    closed_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (project_id, iid),
    CHECK (source_branch <> target_branch)
);
CREATE TABLE gl_notes (
    id INTEGER PRIMARY KEY,
    project_id INTEGER NOT NULL REFERENCES gl_projects(id),
    noteable_type TEXT NOT NULL CHECK (noteable_type IN ('Issue', 'MergeRequest')),
    noteable_id INTEGER NOT NULL,
    body TEXT NOT NULL,
    author_id INTEGER NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL
);
CREATE INDEX gl_notes_noteable ON gl_notes(noteable_type, noteable_id);
CREATE TABLE gl_pipelines (
    id INTEGER PRIMARY KEY,
    project_id INTEGER NOT NULL REFERENCES gl_projects(id),
    ref TEXT NOT NULL,
    sha TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'created'
        CHECK (status IN ('created', 'running', 'success', 'failed', 'canceled')),
    source TEXT NOT NULL DEFAULT 'push',
    user_id INTEGER REFERENCES users(id),
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT
);
CREATE INDEX gl_pipelines_project ON gl_pipelines(project_id, ref);
"""
