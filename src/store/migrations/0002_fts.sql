-- Full-text index over the live (not forgotten) memories.
--
-- The index reads its content from a view of the live rows, so that FTS5's
-- own 'integrity-check' compares the index against exactly what it should
-- hold. Triggers keep it in sync on insert, update (including forget and
-- restore, which flip deleted_at) and delete.
CREATE VIEW memories_live AS
SELECT id, name, description, body FROM memories WHERE deleted_at IS NULL;

CREATE VIRTUAL TABLE memories_fts USING fts5 (
    name, description, body,
    content = 'memories_live',
    content_rowid = 'id',
    tokenize = 'porter unicode61 remove_diacritics 2'
);

CREATE TRIGGER memories_fts_insert AFTER INSERT ON memories
WHEN new.deleted_at IS NULL
BEGIN
    INSERT INTO memories_fts (rowid, name, description, body)
    VALUES (new.id, new.name, new.description, new.body);
END;

CREATE TRIGGER memories_fts_delete AFTER DELETE ON memories
WHEN old.deleted_at IS NULL
BEGIN
    INSERT INTO memories_fts (memories_fts, rowid, name, description, body)
    VALUES ('delete', old.id, old.name, old.description, old.body);
END;

-- One trigger for both halves of an update so that the old entry is always
-- removed before the new one is added.
CREATE TRIGGER memories_fts_update AFTER UPDATE OF name, description, body, deleted_at ON memories
BEGIN
    INSERT INTO memories_fts (memories_fts, rowid, name, description, body)
    SELECT 'delete', old.id, old.name, old.description, old.body
    WHERE old.deleted_at IS NULL;
    INSERT INTO memories_fts (rowid, name, description, body)
    SELECT new.id, new.name, new.description, new.body
    WHERE new.deleted_at IS NULL;
END;

INSERT INTO memories_fts (rowid, name, description, body)
SELECT id, name, description, body FROM memories_live;
