-- Moving a database from one embedding space to another, and back,
-- without paying twice.
--
-- The cache keeps the vectors an HTTP embedder made, by what decides them
-- besides the text (the cache space: model, dimensions, prefix) and the
-- SHA-256 of the text: a text already embedded in a space is never sent
-- again. Vectors are int8 with one scale, as in `chunks`. `purge` deletes
-- the entries whose text no live memory has any more.
CREATE TABLE embedding_cache_spaces (
    id  INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE
);

CREATE TABLE embedding_cache (
    space_id  INTEGER NOT NULL REFERENCES embedding_cache_spaces (id),
    text_hash BLOB NOT NULL,
    scale     REAL NOT NULL,
    vector    BLOB NOT NULL,
    PRIMARY KEY (space_id, text_hash)
) WITHOUT ROWID;

-- A move under way (`reindex` with another embedder): the new space's
-- vectors are written to `staged_chunks` while `chunks` keeps serving
-- searches; one transaction swaps them once no live memory waits in
-- `staged_backlog`. `dim` is known once the first vectors are written.
CREATE TABLE reindex_stage (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    model TEXT NOT NULL,
    dim   INTEGER
);

CREATE TABLE staged_chunks (
    namespace TEXT NOT NULL,
    memory_id INTEGER NOT NULL REFERENCES memories (id) ON DELETE CASCADE,
    seq       INTEGER NOT NULL,
    start     INTEGER NOT NULL,
    end       INTEGER NOT NULL,
    scale     REAL NOT NULL,
    vector    BLOB NOT NULL,
    PRIMARY KEY (namespace, memory_id, seq)
) WITHOUT ROWID;

CREATE INDEX staged_chunks_by_memory ON staged_chunks (memory_id);

CREATE TABLE staged_backlog (
    memory_id INTEGER PRIMARY KEY REFERENCES memories (id) ON DELETE CASCADE
);

-- While a move is under way, every new memory, and every memory whose
-- text changes, is forgotten or is restored, waits for new vectors again.
CREATE TRIGGER staged_new AFTER INSERT ON memories
WHEN new.deleted_at IS NULL AND EXISTS (SELECT 1 FROM reindex_stage)
BEGIN
    INSERT OR IGNORE INTO staged_backlog (memory_id) VALUES (new.id);
END;

CREATE TRIGGER staged_changed AFTER UPDATE OF description, body, deleted_at ON memories
WHEN EXISTS (SELECT 1 FROM reindex_stage)
    AND (new.description IS NOT old.description
         OR new.body IS NOT old.body
         OR new.deleted_at IS NOT old.deleted_at)
BEGIN
    DELETE FROM staged_chunks WHERE memory_id = new.id;
    DELETE FROM staged_backlog WHERE memory_id = new.id;
    INSERT INTO staged_backlog (memory_id) SELECT new.id WHERE new.deleted_at IS NULL;
END;
