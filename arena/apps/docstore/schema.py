SCHEMA = """
CREATE TABLE ds_collections (
    id INTEGER PRIMARY KEY,
    database TEXT NOT NULL DEFAULT 'acme',
    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
    validator TEXT NOT NULL DEFAULT '{}',    -- a $jsonSchema subset: required, properties{type, enum, minimum}
    unique_keys TEXT NOT NULL DEFAULT '[]',  -- fields with a unique index, as a JSON array
    write_roles TEXT NOT NULL DEFAULT '',    -- comma separated roles allowed to write; '' = everyone
    created_by INTEGER REFERENCES users(id),
    created_at TEXT NOT NULL,
    UNIQUE (database, name)
);
CREATE TABLE ds_documents (
    id INTEGER PRIMARY KEY,
    collection_id INTEGER NOT NULL REFERENCES ds_collections(id),
    doc_id TEXT NOT NULL,                     -- the document's _id (ObjectId hex or a given string)
    body TEXT NOT NULL CHECK (json_valid(body)),
    UNIQUE (collection_id, doc_id)
);
"""
