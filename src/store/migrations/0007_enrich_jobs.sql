-- The enrich queue: memory versions waiting for an LLM extractor.
--
-- A write that changes a memory's text while an LLM backend is configured
-- queues the version written, one job per memory and backend: a newer
-- version replaces the job of an older one. `enrich` claims a job by
-- setting a lease (the claiming process's pid, start time and pid
-- namespace, as slot holders record themselves, and an expiry), runs the
-- extraction with no transaction open, and stores the result only if the
-- memory is still at the job's version.
CREATE TABLE enrich_jobs (
    id                  INTEGER PRIMARY KEY,
    memory_id           INTEGER NOT NULL REFERENCES memories (id) ON DELETE CASCADE,
    version             INTEGER NOT NULL,
    backend             TEXT NOT NULL CHECK (backend IN ('claude', 'codex')),
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

CREATE INDEX enrich_jobs_waiting ON enrich_jobs (state, next_attempt_at);
