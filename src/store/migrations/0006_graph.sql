-- The entity graph: sessions, entities, the memories that mention them,
-- and relationships between entities, each with who asserted it.
--
-- Every assertion records its extractor (`explicit` for what a user gave,
-- `builtin` for the offline extractor, later the LLM and HTTP extractors)
-- and the memory version it was made from. Re-extracting a memory with one
-- extractor replaces that extractor's assertions for it and nothing else.
-- What only forgotten memories assert is kept but not shown (restore
-- brings it back); purging a memory deletes its assertions.

-- The agent session a memory was written in, if any.
ALTER TABLE memories ADD COLUMN session TEXT;
ALTER TABLE memory_versions ADD COLUMN session TEXT;
CREATE INDEX memories_by_session ON memories (namespace, session, created_at)
WHERE session IS NOT NULL;

-- `key` is the name case-folded with white space collapsed.
CREATE TABLE entities (
    id          INTEGER PRIMARY KEY,
    namespace   TEXT NOT NULL REFERENCES namespaces (name),
    key         TEXT NOT NULL,
    name        TEXT NOT NULL,
    type        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (namespace, key)
);

-- Other names of an entity (kept by merges and renames): an extractor that
-- finds one of them finds the entity. No key is both an entity's and an
-- alias's within a namespace.
CREATE TABLE entity_aliases (
    entity_id INTEGER NOT NULL REFERENCES entities (id) ON DELETE CASCADE,
    namespace TEXT NOT NULL,
    key       TEXT NOT NULL,
    name      TEXT NOT NULL,
    UNIQUE (namespace, key)
);

CREATE INDEX entity_aliases_by_entity ON entity_aliases (entity_id);

-- Names that `forget-entity` removed: extractors do not bring them back;
-- a user who names one explicitly does.
CREATE TABLE ignored_entities (
    namespace TEXT NOT NULL REFERENCES namespaces (name),
    key       TEXT NOT NULL,
    PRIMARY KEY (namespace, key)
) WITHOUT ROWID;

-- A memory mentions an entity, as an extractor found in one of its versions.
CREATE TABLE mentions (
    memory_id INTEGER NOT NULL REFERENCES memories (id) ON DELETE CASCADE,
    entity_id INTEGER NOT NULL REFERENCES entities (id) ON DELETE CASCADE,
    extractor TEXT NOT NULL,
    version   INTEGER NOT NULL,
    count     INTEGER NOT NULL CHECK (count > 0),
    PRIMARY KEY (memory_id, entity_id, extractor)
) WITHOUT ROWID;

CREATE INDEX mentions_by_entity ON mentions (entity_id, memory_id);

-- A directed, typed relationship between two entities of one namespace.
CREATE TABLE relationships (
    id        INTEGER PRIMARY KEY,
    source_id INTEGER NOT NULL REFERENCES entities (id) ON DELETE CASCADE,
    target_id INTEGER NOT NULL REFERENCES entities (id) ON DELETE CASCADE,
    relation  TEXT NOT NULL,
    UNIQUE (source_id, target_id, relation)
);

CREATE INDEX relationships_by_target ON relationships (target_id, source_id);

-- Who asserts a relationship: a memory's version through an extractor, or
-- a user through `link` (no memory, extractor `explicit`).
CREATE TABLE assertions (
    relationship_id INTEGER NOT NULL REFERENCES relationships (id) ON DELETE CASCADE,
    memory_id       INTEGER REFERENCES memories (id) ON DELETE CASCADE,
    extractor       TEXT NOT NULL,
    version         INTEGER,
    weight          REAL NOT NULL CHECK (weight > 0 AND weight <= 1),
    description     TEXT NOT NULL DEFAULT '',
    CHECK ((memory_id IS NULL) = (version IS NULL))
);

CREATE UNIQUE INDEX assertions_by_memory
ON assertions (relationship_id, memory_id, extractor) WHERE memory_id IS NOT NULL;
CREATE UNIQUE INDEX assertions_explicit
ON assertions (relationship_id) WHERE memory_id IS NULL;
CREATE INDEX assertions_of_memory ON assertions (memory_id) WHERE memory_id IS NOT NULL;

-- Live memories whose text the built-in extractor has not read yet: all of
-- them in a database from before the graph. Extraction happens after the
-- migration, a batch per transaction (src/store/graph_backlog.rs).
CREATE TABLE graph_backlog (
    memory_id INTEGER PRIMARY KEY REFERENCES memories (id) ON DELETE CASCADE
);

INSERT INTO graph_backlog (memory_id)
SELECT id FROM memories WHERE deleted_at IS NULL;
