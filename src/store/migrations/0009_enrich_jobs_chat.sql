-- The enrich queue takes jobs for the `openai-compatible` extraction
-- backend (a chat-completions API) besides `claude` and `codex`.
--
-- SQLite cannot change a CHECK constraint in place: the table is built
-- anew with the wider one, its rows copied over with their ids, the old
-- table dropped, the new one renamed, and its index made again. Nothing
-- refers to enrich_jobs, so dropping it orphans no row.
CREATE TABLE enrich_jobs_new (
    id                  INTEGER PRIMARY KEY,
    memory_id           INTEGER NOT NULL REFERENCES memories (id) ON DELETE CASCADE,
    version             INTEGER NOT NULL,
    backend             TEXT NOT NULL
                        CHECK (backend IN ('claude', 'codex', 'openai-compatible')),
    state               TEXT NOT NULL DEFAULT 'queued'
                        CHECK (state IN ('queued', 'running', 'done', 'failed')),
    attempts            INTEGER NOT NULL DEFAULT 0,
    -- Unix milliseconds; a queued job is not claimed before then.
    next_attempt_at     INTEGER NOT NULL,
    lease_pid           INTEGER,
    lease_start_time    INTEGER,
    lease_pid_namespace TEXT,
    -- Tells apart the claims of one worker process (its threads, and a
    -- claim after its own lease ran out).
    lease_token         INTEGER,
    -- Unix milliseconds.
    lease_expires_at    INTEGER,
    last_error          TEXT,
    queued_at           INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    UNIQUE (memory_id, backend)
);

INSERT INTO enrich_jobs_new (id, memory_id, version, backend, state, attempts, next_attempt_at,
                             lease_pid, lease_start_time, lease_pid_namespace, lease_token,
                             lease_expires_at, last_error, queued_at, updated_at)
SELECT id, memory_id, version, backend, state, attempts, next_attempt_at,
       lease_pid, lease_start_time, lease_pid_namespace, lease_token,
       lease_expires_at, last_error, queued_at, updated_at
FROM enrich_jobs;

DROP TABLE enrich_jobs;
ALTER TABLE enrich_jobs_new RENAME TO enrich_jobs;

CREATE INDEX enrich_jobs_waiting ON enrich_jobs (state, next_attempt_at);
