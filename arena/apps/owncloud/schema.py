SCHEMA = """
CREATE TABLE oc_accounts (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL UNIQUE REFERENCES users(id),
    username TEXT NOT NULL UNIQUE,
    quota_bytes INTEGER NOT NULL CHECK (quota_bytes >= 0),
    home_path TEXT NOT NULL UNIQUE
);
CREATE TABLE oc_files (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE CHECK (substr(path, 1, 1) = '/'),
    parent TEXT,                               -- NULL only for the root "/"
    name TEXT NOT NULL,
    is_folder INTEGER NOT NULL CHECK (is_folder IN (0, 1)),
    content TEXT NOT NULL DEFAULT '',
    encoding TEXT NOT NULL DEFAULT 'utf-8' CHECK (encoding IN ('utf-8', 'base64')),
    size INTEGER NOT NULL DEFAULT 0 CHECK (size >= 0),
    mimetype TEXT NOT NULL,
    etag TEXT NOT NULL,
    owner_id INTEGER REFERENCES users(id),
    department_id INTEGER REFERENCES departments(id),  -- set on a department's group folder
    modified_at TEXT NOT NULL,
    modified_by INTEGER REFERENCES users(id)
);
CREATE INDEX oc_files_parent ON oc_files(parent);
CREATE INDEX oc_files_owner ON oc_files(owner_id);
CREATE TABLE oc_shares (
    id INTEGER PRIMARY KEY,
    file_id INTEGER NOT NULL REFERENCES oc_files(id),
    share_type TEXT NOT NULL CHECK (share_type IN ('user', 'link')),
    share_with_id INTEGER REFERENCES users(id),
    permissions TEXT NOT NULL CHECK (permissions IN ('read', 'edit')),
    token TEXT UNIQUE,
    expiration TEXT,
    created_by INTEGER NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    CHECK ((share_type = 'user') = (share_with_id IS NOT NULL)),
    UNIQUE (file_id, share_with_id)
);
CREATE INDEX oc_shares_file ON oc_shares(file_id);
CREATE INDEX oc_shares_with ON oc_shares(share_with_id);
CREATE TABLE oc_versions (
    id INTEGER PRIMARY KEY,
    file_id INTEGER NOT NULL REFERENCES oc_files(id),
    version INTEGER NOT NULL CHECK (version >= 1),
    content TEXT NOT NULL,
    encoding TEXT NOT NULL DEFAULT 'utf-8',
    size INTEGER NOT NULL,
    modified_at TEXT NOT NULL,
    modified_by INTEGER REFERENCES users(id),
    UNIQUE (file_id, version)
);
"""
