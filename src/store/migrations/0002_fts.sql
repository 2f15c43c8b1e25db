-- Full-text index over the live (not forgotten) memories.
--
-- The index reads its content from a view of the live rows, so that FTS5's
-- own 'integrity-check' compares the index against exactly what it should
-- hold. Triggers keep it in sync on insert, update (including forget and
-- restore, which flip deleted_at) and delete.
--
-- Column `ns` holds one token per memory, 'ns' followed by the hex of its
-- namespace, so that a search within a namespace is an index intersection
-- (`ns : "ns…" AND (…)`) instead of a lookup of every match's row. It has
-- weight 0 in the ranking.
CREATE VIEW memories_live AS
SELECT id, 'ns' || lower(hex(namespace)) AS ns, name, description, body
FROM memories WHERE deleted_at IS NULL;

CREATE VIRTUAL TABLE memories_fts USING fts5 (
    ns, name, description, body,
    content = 'memories_live',
    content_rowid = 'id',
    tokenize = 'porter unicode61 remove_diacritics 2'
);

INSERT INTO memories_fts (memories_fts, rank) VALUES ('rank', 'bm25(0.0, 1.0, 1.0, 1.0)');

CREATE TRIGGER memories_fts_insert AFTER INSERT ON memories
WHEN new.deleted_at IS NULL
BEGIN
    INSERT INTO memories_fts (rowid, ns, name, description, body)
    VALUES (new.id, 'ns' || lower(hex(new.namespace)), new.name, new.description, new.body);
END;

CREATE TRIGGER memories_fts_delete AFTER DELETE ON memories
WHEN old.deleted_at IS NULL
BEGIN
    INSERT INTO memories_fts (memories_fts, rowid, ns, name, description, body)
    VALUES ('delete', old.id, 'ns' || lower(hex(old.namespace)), old.name, old.description, old.body);
END;

-- One trigger for both halves of an update so that the old entry is always
-- removed before the new one is added.
CREATE TRIGGER memories_fts_update AFTER UPDATE OF namespace, name, description, body, deleted_at ON memories
BEGIN
    INSERT INTO memories_fts (memories_fts, rowid, ns, name, description, body)
    SELECT 'delete', old.id, 'ns' || lower(hex(old.namespace)), old.name, old.description, old.body
    WHERE old.deleted_at IS NULL;
    INSERT INTO memories_fts (rowid, ns, name, description, body)
    SELECT new.id, 'ns' || lower(hex(new.namespace)), new.name, new.description, new.body
    WHERE new.deleted_at IS NULL;
END;

INSERT INTO memories_fts (rowid, ns, name, description, body)
SELECT id, ns, name, description, body FROM memories_live;
