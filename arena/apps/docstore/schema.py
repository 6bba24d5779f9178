# top-level fields with an index: equality / $in lookups on them do not scan the collection
INDEXED_FIELDS = ("asset_tag", "serial", "status", "type", "rating", "channel", "customer", "slug", "category")

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
""" + "".join(
    # expression indexes on the fields people look documents up by (see tools._scan's anchor)
    f"CREATE INDEX ds_documents_{f} ON ds_documents(collection_id, json_extract(body, '$.{f}'));\n"
    for f in INDEXED_FIELDS)
