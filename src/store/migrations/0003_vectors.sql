-- Embedding vectors of the live memories, one row per chunk of text.
--
-- A database holds vectors of one embedding space (model and dimension),
-- recorded in embedding_space. Rows are clustered by namespace so that a
-- search reads one contiguous range. A vector is int8, one byte per
-- dimension; multiplied by `scale` it is the unit-length float vector.
-- `start` and `end` are the byte range of the chunk in the body.
CREATE TABLE embedding_space (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    model TEXT NOT NULL,
    dim   INTEGER NOT NULL
);

CREATE TABLE chunks (
    namespace TEXT NOT NULL,
    memory_id INTEGER NOT NULL REFERENCES memories (id) ON DELETE CASCADE,
    seq       INTEGER NOT NULL,
    start     INTEGER NOT NULL,
    end       INTEGER NOT NULL,
    scale     REAL NOT NULL,
    vector    BLOB NOT NULL,
    PRIMARY KEY (namespace, memory_id, seq)
) WITHOUT ROWID;

CREATE INDEX chunks_by_memory ON chunks (memory_id);

-- Forgotten memories have no vectors; restoring one embeds it again.
CREATE TRIGGER chunks_forget AFTER UPDATE OF deleted_at ON memories
WHEN new.deleted_at IS NOT NULL
BEGIN
    DELETE FROM chunks WHERE memory_id = new.id;
END;
