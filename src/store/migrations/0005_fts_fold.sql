-- The word index holds folded text: CJK characters one token each,
-- ligatures and full-width ASCII as plain letters (src/store/fts_text.rs).
--
-- `fts_fold` is a function the program registers on each connection; the
-- view (the index's content, which FTS5's integrity-check compares against)
-- and the triggers apply it to the same columns, so the index always holds
-- exactly the folded text of the live memories.
DROP TRIGGER memories_fts_insert;
DROP TRIGGER memories_fts_delete;
DROP TRIGGER memories_fts_update;
DROP VIEW memories_live;

CREATE VIEW memories_live AS
SELECT id, 'ns' || lower(hex(namespace)) AS ns,
       fts_fold(name) AS name, fts_fold(description) AS description, fts_fold(body) AS body
FROM memories WHERE deleted_at IS NULL;

CREATE TRIGGER memories_fts_insert AFTER INSERT ON memories
WHEN new.deleted_at IS NULL
BEGIN
    INSERT INTO memories_fts (rowid, ns, name, description, body)
    VALUES (new.id, 'ns' || lower(hex(new.namespace)),
            fts_fold(new.name), fts_fold(new.description), fts_fold(new.body));
END;

CREATE TRIGGER memories_fts_delete AFTER DELETE ON memories
WHEN old.deleted_at IS NULL
BEGIN
    INSERT INTO memories_fts (memories_fts, rowid, ns, name, description, body)
    VALUES ('delete', old.id, 'ns' || lower(hex(old.namespace)),
            fts_fold(old.name), fts_fold(old.description), fts_fold(old.body));
END;

CREATE TRIGGER memories_fts_update AFTER UPDATE OF namespace, name, description, body, deleted_at ON memories
BEGIN
    INSERT INTO memories_fts (memories_fts, rowid, ns, name, description, body)
    SELECT 'delete', old.id, 'ns' || lower(hex(old.namespace)),
           fts_fold(old.name), fts_fold(old.description), fts_fold(old.body)
    WHERE old.deleted_at IS NULL;
    INSERT INTO memories_fts (rowid, ns, name, description, body)
    SELECT new.id, 'ns' || lower(hex(new.namespace)),
           fts_fold(new.name), fts_fold(new.description), fts_fold(new.body)
    WHERE new.deleted_at IS NULL;
END;

INSERT INTO memories_fts (memories_fts) VALUES ('rebuild');
