SCHEMA = """
CREATE TABLE fs_files (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE CHECK (path = '/home/agent' OR path LIKE '/home/agent/%'),
    parent TEXT,                                   -- containing directory; NULL for /home/agent
    content TEXT NOT NULL DEFAULT '',              -- text, or base64 when encoding = 'base64'
    encoding TEXT NOT NULL DEFAULT 'utf-8' CHECK (encoding IN ('utf-8', 'base64')),
    is_dir INTEGER NOT NULL DEFAULT 0 CHECK (is_dir IN (0, 1)),
    size INTEGER NOT NULL DEFAULT 0 CHECK (size >= 0),
    mode INTEGER NOT NULL DEFAULT 420,             -- permission bits (420 = 0o644)
    modified_at TEXT NOT NULL
);
CREATE INDEX fs_files_parent ON fs_files(parent);
"""
