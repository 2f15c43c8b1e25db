-- Memories, their namespaces, and one full row per version of each memory.
-- Timestamps are Unix milliseconds (UTC).
CREATE TABLE namespaces (
    name       TEXT PRIMARY KEY NOT NULL,
    created_at INTEGER NOT NULL
);

INSERT INTO namespaces (name, created_at)
VALUES ('global', CAST(unixepoch('subsec') * 1000 AS INTEGER));

CREATE TABLE memories (
    id          INTEGER PRIMARY KEY,
    namespace   TEXT NOT NULL REFERENCES namespaces (name),
    name        TEXT NOT NULL,
    type        TEXT NOT NULL,
    description TEXT NOT NULL,
    body        TEXT NOT NULL,
    metadata    TEXT NOT NULL,
    version     INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    deleted_at  INTEGER,
    UNIQUE (namespace, name)
);

CREATE INDEX memories_by_namespace_updated ON memories (namespace, updated_at);

-- A version row copies the whole memory as it was after the change; `action`
-- says what the change was (created, updated, renamed, forgotten, restored).
CREATE TABLE memory_versions (
    id          INTEGER PRIMARY KEY,
    memory_id   INTEGER NOT NULL REFERENCES memories (id) ON DELETE CASCADE,
    version     INTEGER NOT NULL,
    action      TEXT NOT NULL,
    name        TEXT NOT NULL,
    type        TEXT NOT NULL,
    description TEXT NOT NULL,
    body        TEXT NOT NULL,
    metadata    TEXT NOT NULL,
    deleted     INTEGER NOT NULL,
    recorded_at INTEGER NOT NULL,
    UNIQUE (memory_id, version)
);
