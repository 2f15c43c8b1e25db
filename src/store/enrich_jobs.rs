//! The enrich queue: memory versions waiting for an LLM extractor, one
//! job per memory and backend (see `migrations/0007_enrich_jobs.sql`).

use rusqlite::params;
use serde::Serialize;

use super::Store;
use super::tx::Tx;
use crate::error::Result;
use crate::graph::Extractor;
use crate::memory::{MemoryId, VersionNumber};
use crate::time::Timestamp;

/// How many jobs of the enrich queue are in each state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EnrichCounts {
    /// Waiting to be claimed (now or after a retry delay).
    pub queued: u64,
    /// Of the queued, those that may be claimed now.
    pub due: u64,
    /// Claimed by a worker.
    pub running: u64,
    /// Extracted and stored, or dropped as stale.
    pub done: u64,
    /// Given up on; the last error is kept.
    pub failed: u64,
    /// When the queued job waiting longest was queued, Unix milliseconds.
    pub oldest_queued_at: Option<i64>,
    /// When the next queued job that is not due yet becomes due, Unix
    /// milliseconds.
    pub next_retry_at: Option<i64>,
}

impl Tx<'_> {
    /// Queues `version` of a memory for the extractor this transaction
    /// queues for, if any. A job of an older version of the memory for the
    /// same backend, in whatever state, becomes the job of this one.
    pub(crate) fn queue_extraction(
        &self,
        memory_id: MemoryId,
        version: VersionNumber,
    ) -> Result<()> {
        let Some(extractor) = self.queued_extractor() else {
            return Ok(());
        };
        let now = Timestamp::now().0;
        self.prepare_cached(
            "INSERT INTO enrich_jobs (memory_id, version, backend, next_attempt_at, queued_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?4, ?4)
             ON CONFLICT (memory_id, backend) DO UPDATE SET
                 version = excluded.version, state = 'queued', attempts = 0,
                 next_attempt_at = excluded.next_attempt_at, lease_pid = NULL, lease_token = NULL,
                 lease_start_time = NULL, lease_pid_namespace = NULL,
                 lease_expires_at = NULL, last_error = NULL,
                 queued_at = excluded.queued_at, updated_at = excluded.updated_at",
        )?
        .execute(params![memory_id, version, extractor.as_str(), now])?;
        Ok(())
    }
}

impl Store {
    /// Makes every later write that changes a memory's text queue the
    /// version written for `extractor` (an LLM backend); `None` queues nothing.
    pub fn queue_extractions_for(&mut self, extractor: Option<Extractor>) {
        self.queue_for = extractor;
    }

    /// Counts the jobs of the enrich queue by state (and the queued ones
    /// due now), and says when the oldest queued job was queued and when
    /// the next deferred one is due.
    pub fn enrich_counts(&self) -> Result<EnrichCounts> {
        let mut counts = EnrichCounts::default();
        let mut statement = self
            .conn()
            .prepare("SELECT state, count(*) FROM enrich_jobs GROUP BY state")?;
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            let state: String = row.get(0)?;
            let count = u64::try_from(row.get::<_, i64>(1)?).unwrap_or(0);
            match state.as_str() {
                "queued" => counts.queued = count,
                "running" => counts.running = count,
                "done" => counts.done = count,
                _ => counts.failed = count,
            }
        }
        let due: i64;
        (counts.oldest_queued_at, counts.next_retry_at, due) = self.conn().query_row(
            "SELECT min(queued_at), min(CASE WHEN next_attempt_at > ?1 THEN next_attempt_at END),
                    count(CASE WHEN next_attempt_at <= ?1 THEN 1 END)
             FROM enrich_jobs WHERE state = 'queued'",
            [Timestamp::now().0],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )?;
        counts.due = u64::try_from(due).unwrap_or(0);
        Ok(counts)
    }

    /// Queues again every failed job, as due now with no attempts; returns
    /// how many.
    pub fn retry_failed_enrich_jobs(&mut self) -> Result<usize> {
        let now = Timestamp::now().0;
        self.write(|tx| {
            Ok(tx
                .prepare_cached(
                    "UPDATE enrich_jobs SET state = 'queued', attempts = 0, next_attempt_at = ?1,
                         updated_at = ?1
                     WHERE state = 'failed'",
                )?
                .execute([now])?)
        })
    }
}
