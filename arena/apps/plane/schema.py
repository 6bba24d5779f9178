# Plane's role levels (workspace and project): 20 admin, 15 member, 5 guest (read-only).
ADMIN, MEMBER, GUEST = 20, 15, 5
STATE_GROUPS = ("backlog", "unstarted", "started", "completed", "cancelled")
PRIORITIES = ("urgent", "high", "medium", "low", "none")
MODULE_STATUSES = ("backlog", "planned", "in-progress", "paused", "completed", "cancelled")


def _in(values: tuple) -> str:
    return ", ".join(repr(v) for v in values)


SCHEMA = f"""
CREATE TABLE pl_workspace_members (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL UNIQUE REFERENCES users(id),
    display_name TEXT NOT NULL,
    role INTEGER NOT NULL CHECK (role IN ({ADMIN}, {MEMBER}, {GUEST})),
    joined_at TEXT NOT NULL
);
CREATE TABLE pl_projects (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    identifier TEXT NOT NULL UNIQUE CHECK (length(identifier) BETWEEN 1 AND 12),
    description TEXT NOT NULL DEFAULT '',
    network INTEGER NOT NULL DEFAULT 2 CHECK (network IN (0, 2)),   -- 0 secret, 2 public
    project_lead_id INTEGER REFERENCES users(id),
    created_by INTEGER REFERENCES users(id),
    created_at TEXT NOT NULL,
    archived_at TEXT,
    issue_sequence INTEGER NOT NULL DEFAULT 0    -- last sequence number handed out; never reused
);
CREATE TABLE pl_project_members (
    id INTEGER PRIMARY KEY,
    project_id INTEGER NOT NULL REFERENCES pl_projects(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(id),
    role INTEGER NOT NULL CHECK (role IN ({ADMIN}, {MEMBER}, {GUEST})),
    UNIQUE (project_id, user_id)
);
CREATE INDEX pl_project_members_user ON pl_project_members(user_id);
CREATE TABLE pl_states (
    id INTEGER PRIMARY KEY,
    project_id INTEGER NOT NULL REFERENCES pl_projects(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    color TEXT NOT NULL,
    state_group TEXT NOT NULL CHECK (state_group IN ({_in(STATE_GROUPS)})),
    description TEXT NOT NULL DEFAULT '',
    sequence REAL NOT NULL DEFAULT 65535,
    is_default INTEGER NOT NULL DEFAULT 0,
    UNIQUE (project_id, name)
);
CREATE TABLE pl_labels (
    id INTEGER PRIMARY KEY,
    project_id INTEGER NOT NULL REFERENCES pl_projects(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    color TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    UNIQUE (project_id, name)
);
CREATE TABLE pl_issue_types (
    id INTEGER PRIMARY KEY,
    project_id INTEGER NOT NULL REFERENCES pl_projects(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    is_default INTEGER NOT NULL DEFAULT 0,
    is_active INTEGER NOT NULL DEFAULT 1,
    UNIQUE (project_id, name)
);
CREATE TABLE pl_issues (
    id INTEGER PRIMARY KEY,
    project_id INTEGER NOT NULL REFERENCES pl_projects(id) ON DELETE CASCADE,
    sequence_id INTEGER NOT NULL,                      -- the 12 of "WEB-12"
    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
    description_html TEXT NOT NULL DEFAULT '',
    state_id INTEGER NOT NULL REFERENCES pl_states(id),
    priority TEXT NOT NULL DEFAULT 'none' CHECK (priority IN ({_in(PRIORITIES)})),
    type_id INTEGER REFERENCES pl_issue_types(id),
    parent_id INTEGER REFERENCES pl_issues(id) ON DELETE SET NULL,
    start_date TEXT,
    target_date TEXT,
    estimate_point INTEGER CHECK (estimate_point IS NULL OR estimate_point >= 0),
    created_by INTEGER REFERENCES users(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    completed_at TEXT,
    UNIQUE (project_id, sequence_id),
    CHECK (target_date IS NULL OR start_date IS NULL OR target_date >= start_date)
);
CREATE INDEX pl_issues_state ON pl_issues(state_id);
CREATE TABLE pl_issue_assignees (
    id INTEGER PRIMARY KEY,
    issue_id INTEGER NOT NULL REFERENCES pl_issues(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(id),
    UNIQUE (issue_id, user_id)
);
CREATE INDEX pl_issue_assignees_user ON pl_issue_assignees(user_id);
CREATE TABLE pl_issue_labels (
    id INTEGER PRIMARY KEY,
    issue_id INTEGER NOT NULL REFERENCES pl_issues(id) ON DELETE CASCADE,
    label_id INTEGER NOT NULL REFERENCES pl_labels(id) ON DELETE CASCADE,
    UNIQUE (issue_id, label_id)
);
CREATE INDEX pl_issue_labels_label ON pl_issue_labels(label_id);
CREATE TABLE pl_comments (
    id INTEGER PRIMARY KEY,
    issue_id INTEGER NOT NULL REFERENCES pl_issues(id) ON DELETE CASCADE,
    comment_html TEXT NOT NULL,
    actor_id INTEGER NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL
);
CREATE INDEX pl_comments_issue ON pl_comments(issue_id);
CREATE TABLE pl_modules (
    id INTEGER PRIMARY KEY,
    project_id INTEGER NOT NULL REFERENCES pl_projects(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'planned' CHECK (status IN ({_in(MODULE_STATUSES)})),
    lead_id INTEGER REFERENCES users(id),
    start_date TEXT,
    target_date TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (project_id, name),
    CHECK (target_date IS NULL OR start_date IS NULL OR target_date >= start_date)
);
CREATE TABLE pl_module_issues (
    id INTEGER PRIMARY KEY,
    module_id INTEGER NOT NULL REFERENCES pl_modules(id) ON DELETE CASCADE,
    issue_id INTEGER NOT NULL REFERENCES pl_issues(id) ON DELETE CASCADE,
    UNIQUE (module_id, issue_id)
);
CREATE INDEX pl_module_issues_issue ON pl_module_issues(issue_id);
CREATE TABLE pl_cycles (
    id INTEGER PRIMARY KEY,
    project_id INTEGER NOT NULL REFERENCES pl_projects(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    start_date TEXT NOT NULL,
    end_date TEXT NOT NULL,
    owned_by_id INTEGER REFERENCES users(id),
    created_at TEXT NOT NULL,
    UNIQUE (project_id, name),
    CHECK (end_date >= start_date)
);
-- Plane: an issue is in at most one cycle at a time
CREATE TABLE pl_cycle_issues (
    id INTEGER PRIMARY KEY,
    cycle_id INTEGER NOT NULL REFERENCES pl_cycles(id) ON DELETE CASCADE,
    issue_id INTEGER NOT NULL UNIQUE REFERENCES pl_issues(id) ON DELETE CASCADE
);
CREATE INDEX pl_cycle_issues_cycle ON pl_cycle_issues(cycle_id);
CREATE TABLE pl_worklogs (
    id INTEGER PRIMARY KEY,
    issue_id INTEGER NOT NULL REFERENCES pl_issues(id) ON DELETE CASCADE,
    description TEXT NOT NULL DEFAULT '',
    duration INTEGER NOT NULL CHECK (duration > 0),   -- minutes
    logged_by_id INTEGER NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL
);
CREATE INDEX pl_worklogs_issue ON pl_worklogs(issue_id);
"""
