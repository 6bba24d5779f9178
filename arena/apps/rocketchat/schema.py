SCHEMA = """
CREATE TABLE chat_accounts (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL UNIQUE REFERENCES users(id),
    username TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL DEFAULT 'offline'
);
CREATE TABLE chat_channels (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    private INTEGER NOT NULL DEFAULT 0,
    created_by INTEGER REFERENCES users(id),
    created_at TEXT NOT NULL
);
CREATE TABLE chat_members (
    id INTEGER PRIMARY KEY,
    channel_id INTEGER NOT NULL REFERENCES chat_channels(id),
    user_id INTEGER NOT NULL REFERENCES users(id),
    UNIQUE (channel_id, user_id)
);
CREATE TABLE chat_messages (
    id INTEGER PRIMARY KEY,
    channel_id INTEGER REFERENCES chat_channels(id),   -- NULL for direct messages
    dm_key TEXT,                                       -- "<min user id>:<max user id>" for DMs
    sender_id INTEGER NOT NULL REFERENCES users(id),
    text TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX chat_messages_channel ON chat_messages(channel_id);
CREATE INDEX chat_messages_dm ON chat_messages(dm_key);
"""
