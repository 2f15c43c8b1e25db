-- Vectors move from one row per chunk into blocks of many vectors a row.
--
-- `vector_blocks` holds, per block of one namespace, the slots (memory id,
-- chunk number, chunk count, scale: 16 bytes each) and the int8 vectors
-- back to back; `vector_codes` the same slots' codes for the prefilter
-- (one sign bit per dimension and one byte, src/store/vectors/center.rs),
-- clustered by namespace. `chunks` keeps one
-- row per chunk, its byte range in the body and where its vector is.
-- Deleting a chunk (a new text, a forget, a purge) lists its slot in
-- `dead_slots`: the scan skips it until compaction rewrites the block.
--
-- The vectors themselves are moved by the program right after this SQL,
-- in the same transaction (src/store/vectors/migrate.rs), which then drops
-- `chunks_before_blocks`.
CREATE TABLE vector_blocks (
    id        INTEGER PRIMARY KEY,
    namespace TEXT NOT NULL,
    used      INTEGER NOT NULL,
    slots     BLOB NOT NULL,
    vectors   BLOB NOT NULL
);

CREATE INDEX vector_blocks_by_namespace ON vector_blocks (namespace, id);

CREATE TABLE vector_codes (
    namespace TEXT NOT NULL,
    block     INTEGER NOT NULL,
    codes     BLOB NOT NULL,
    PRIMARY KEY (namespace, block)
) WITHOUT ROWID;

-- The unit direction of the mean of the database's vectors once it held
-- enough of them: the codes are taken around it
-- (src/store/vectors/center.rs). f32 values, little-endian.
CREATE TABLE vector_center (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    center BLOB NOT NULL
);

CREATE TABLE dead_slots (
    namespace TEXT NOT NULL,
    block     INTEGER NOT NULL,
    slot      INTEGER NOT NULL,
    PRIMARY KEY (namespace, block, slot)
) WITHOUT ROWID;

DROP TRIGGER chunks_forget;
DROP INDEX chunks_by_memory;
ALTER TABLE chunks RENAME TO chunks_before_blocks;

CREATE TABLE chunks (
    namespace TEXT NOT NULL,
    memory_id INTEGER NOT NULL REFERENCES memories (id) ON DELETE CASCADE,
    seq       INTEGER NOT NULL,
    start     INTEGER NOT NULL,
    end       INTEGER NOT NULL,
    block     INTEGER NOT NULL,
    slot      INTEGER NOT NULL,
    PRIMARY KEY (namespace, memory_id, seq)
) WITHOUT ROWID;

CREATE INDEX chunks_by_memory ON chunks (memory_id);

-- Forgotten memories have no vectors; restoring one embeds it again.
CREATE TRIGGER chunks_forget AFTER UPDATE OF deleted_at ON memories
WHEN new.deleted_at IS NOT NULL
BEGIN
    DELETE FROM chunks WHERE memory_id = new.id;
END;

CREATE TRIGGER chunks_release AFTER DELETE ON chunks
BEGIN
    INSERT OR IGNORE INTO dead_slots (namespace, block, slot)
    VALUES (old.namespace, old.block, old.slot);
END;
