# One row per copy: a mail sent to two colleagues is three rows (the sender's Sent copy and one
# INBOX copy per recipient), sharing `message_key`, as an IMAP server keeps a copy per mailbox.
FOLDERS = ("INBOX", "Sent", "Archive", "Trash")

SCHEMA = f"""
CREATE TABLE mail_accounts (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL UNIQUE REFERENCES users(id),
    address TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE mail_messages (
    id INTEGER PRIMARY KEY,
    owner_id INTEGER NOT NULL REFERENCES users(id),      -- whose mailbox holds this copy
    folder TEXT NOT NULL CHECK (folder IN ({", ".join(repr(f) for f in FOLDERS)})),
    message_key TEXT NOT NULL,                           -- RFC 5322 Message-ID, shared by all copies
    thread_key TEXT NOT NULL,                            -- Message-ID of the thread's first mail
    in_reply_to TEXT,                                    -- Message-ID of the parent mail
    sender_id INTEGER REFERENCES users(id),              -- NULL for external / system senders
    sender_address TEXT NOT NULL,
    recipients TEXT NOT NULL,                            -- comma-separated addresses
    cc TEXT NOT NULL DEFAULT '',
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    is_read INTEGER NOT NULL DEFAULT 0 CHECK (is_read IN (0, 1)),
    sent_at TEXT NOT NULL
);
CREATE INDEX mail_messages_box ON mail_messages(owner_id, folder, id);
CREATE INDEX mail_messages_thread ON mail_messages(thread_key);
CREATE INDEX mail_messages_key ON mail_messages(message_key);
"""
