-- Live memories still waiting for their vectors.
--
-- Embedding can take minutes for a large database, so it never happens in
-- a migration's transaction: a migration (or `reindex`) only lists the
-- memories here, and they are embedded afterwards in short transactions,
-- a batch at a time (src/store/backlog.rs). A memory leaves the list when
-- its vectors are written, when it is forgotten, or when it is deleted.
-- Databases from before vectors existed list all their live memories.
CREATE TABLE vector_backlog (
    memory_id INTEGER PRIMARY KEY REFERENCES memories (id) ON DELETE CASCADE
);

CREATE TRIGGER vector_backlog_forget AFTER UPDATE OF deleted_at ON memories
WHEN new.deleted_at IS NOT NULL
BEGIN
    DELETE FROM vector_backlog WHERE memory_id = new.id;
END;

INSERT INTO vector_backlog (memory_id)
SELECT id FROM memories m
WHERE deleted_at IS NULL AND NOT EXISTS (SELECT 1 FROM chunks c WHERE c.memory_id = m.id);
