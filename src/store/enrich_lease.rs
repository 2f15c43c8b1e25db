//! Working the enrich queue: claiming a job under a lease, and settling it
//! (the graph stored, the job re-queued for a newer version, or failed),
//! each in one short write transaction. The extraction runs between them
//! with no transaction open.

use rusqlite::{OptionalExtension, params};

use super::Store;
use super::graph_tx::Asserting;
use super::tx::Tx;
use crate::error::{Error, ErrorKind, Result};
use crate::graph::{Extractor, MemoryGraph};
use crate::memory::{Memory, MemoryId, VersionNumber};
use crate::time::Timestamp;

/// Who holds a claimed job, recorded the way slot holders record
/// themselves, and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The worker's process id.
    pub pid: u32,
    /// The worker's start time in clock ticks after boot (Linux).
    pub start_time: Option<u64>,
    /// The worker's pid namespace (Linux).
    pub pid_namespace: Option<String>,
    /// Unique among the claims of one worker process.
    pub token: i64,
    /// When the lease runs out.
    pub expires_at: Timestamp,
}

/// A job claimed from the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedJob {
    /// The job's row id.
    pub id: i64,
    /// The memory to extract.
    pub memory_id: MemoryId,
    /// The version it was queued for.
    pub version: VersionNumber,
    /// The LLM extractor to ask.
    pub extractor: Extractor,
    /// Its attempts, this one included.
    pub attempts: u32,
}

/// How a job with an extracted graph was settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    /// The graph was stored; the job is done.
    Stored,
    /// The memory changed while the backend ran: the graph was dropped and
    /// the job waits for this version.
    Requeued(VersionNumber),
    /// The memory was forgotten: the graph was dropped; the job is done.
    Forgotten,
    /// The job is no longer held under this lease (a newer write queued it
    /// again, or another worker took it over once the lease ran out): the
    /// graph was dropped and the job left as it is.
    Superseded,
}

impl Store {
    /// Claims the queued job that has waited longest among those due at
    /// `now`, under `lease`; `None` if no job is due. First, running jobs
    /// whose lease ran out or whose worker `is_gone` are queued again.
    pub fn claim_enrich_job(
        &mut self,
        lease: &Lease,
        now: Timestamp,
        is_gone: &dyn Fn(&Lease) -> bool,
    ) -> Result<Option<ClaimedJob>> {
        self.write(|tx| {
            tx.reclaim_abandoned(now, is_gone)?;
            let found = tx
                .prepare_cached(
                    "SELECT id, memory_id, version, backend, attempts FROM enrich_jobs
                     WHERE state = 'queued' AND next_attempt_at <= ?1
                     ORDER BY next_attempt_at, id LIMIT 1",
                )?
                .query_row([now.0], |row| {
                    Ok((
                        row.get::<_, i64>(0)?,
                        row.get::<_, MemoryId>(1)?,
                        row.get::<_, VersionNumber>(2)?,
                        row.get::<_, String>(3)?,
                        row.get::<_, u32>(4)?,
                    ))
                })
                .optional()?;
            let Some((id, memory_id, version, backend, attempts)) = found else {
                return Ok(None);
            };
            tx.prepare_cached(
                "UPDATE enrich_jobs SET state = 'running', attempts = attempts + 1,
                     lease_pid = ?2, lease_start_time = ?3, lease_pid_namespace = ?4,
                     lease_expires_at = ?5, updated_at = ?6, lease_token = ?7
                 WHERE id = ?1",
            )?
            .execute(params![
                id,
                lease.pid,
                lease.start_time.and_then(|t| i64::try_from(t).ok()),
                lease.pid_namespace,
                lease.expires_at.0,
                now.0,
                lease.token
            ])?;
            Ok(Some(ClaimedJob {
                id,
                memory_id,
                version,
                extractor: extractor_named(&backend)?,
                attempts: attempts + 1,
            }))
        })
    }

    /// Stores `graph`, extracted from `memory` for `job`, if the memory is
    /// still live with the text read (a later version may have changed its
    /// name, type or metadata), and marks the job done; else drops
    /// the graph and re-queues the job for the memory's current version (or
    /// marks it done if the memory was forgotten). A job no longer held
    /// under `lease` is left as it is ([`Settled::Superseded`]).
    pub fn settle_enrich_job(
        &mut self,
        job: &ClaimedJob,
        lease: &Lease,
        memory: &Memory,
        graph: &MemoryGraph,
    ) -> Result<Settled> {
        self.write(|tx| {
            if !tx.holds(job, lease)? {
                return Ok(Settled::Superseded);
            }
            let now = Timestamp::now().0;
            if let Some(version) = tx.version_with_text_of(memory)? {
                let who = Asserting {
                    memory_id: memory.memory_id,
                    namespace: &memory.namespace,
                    version,
                    extractor: job.extractor,
                };
                tx.replace_assertions(&who, graph)?;
                tx.finish(job.id, "done", None, now)?;
                return Ok(Settled::Stored);
            }
            let current: Option<VersionNumber> = tx
                .prepare_cached(
                    "SELECT version FROM memories WHERE id = ?1 AND deleted_at IS NULL",
                )?
                .query_row([memory.memory_id], |row| row.get(0))
                .optional()?;
            match current {
                Some(version) => {
                    tx.finish(job.id, "queued", None, now)?;
                    tx.prepare_cached(
                        "UPDATE enrich_jobs SET version = ?2, attempts = 0, next_attempt_at = ?3
                         WHERE id = ?1",
                    )?
                    .execute(params![job.id, version, now])?;
                    Ok(Settled::Requeued(version))
                }
                None => {
                    tx.finish(job.id, "done", Some("the memory was forgotten"), now)?;
                    Ok(Settled::Forgotten)
                }
            }
        })
    }

    /// Marks `job` done with nothing stored: its memory was forgotten. A
    /// job no longer held under `lease` is left as it is; returns whether it was held.
    pub fn drop_enrich_job(&mut self, job: &ClaimedJob, lease: &Lease) -> Result<bool> {
        self.write(|tx| {
            let held = tx.holds(job, lease)?;
            if held {
                let reason = Some("the memory was forgotten");
                tx.finish(job.id, "done", reason, Timestamp::now().0)?;
            }
            Ok(held)
        })
    }

    /// Puts `job` back in the queue, due at `due`, without counting the
    /// attempt its claim counted (the worker was interrupted, or found no
    /// slot free), keeping `error` as its last error. A job no longer held
    /// under `lease` is left as it is; returns whether it was held.
    pub fn release_enrich_job(
        &mut self,
        job: &ClaimedJob,
        lease: &Lease,
        due: Timestamp,
        error: Option<&str>,
    ) -> Result<bool> {
        self.write(|tx| {
            let held = tx.holds(job, lease)?;
            if held {
                tx.finish(job.id, "queued", error, Timestamp::now().0)?;
                tx.prepare_cached(
                    "UPDATE enrich_jobs SET attempts = max(attempts - 1, 0), next_attempt_at = ?2
                     WHERE id = ?1",
                )?
                .execute(params![job.id, due.0])?;
            }
            Ok(held)
        })
    }

    /// Records that `job` failed with `error`: queued again from `retry_at`
    /// if given, else failed for good. A job no longer held under `lease`
    /// is left as it is; returns whether it was held.
    pub fn fail_enrich_job(
        &mut self,
        job: &ClaimedJob,
        lease: &Lease,
        error: &str,
        retry_at: Option<Timestamp>,
    ) -> Result<bool> {
        self.write(|tx| {
            if !tx.holds(job, lease)? {
                return Ok(false);
            }
            let now = Timestamp::now().0;
            match retry_at {
                Some(at) => {
                    tx.finish(job.id, "queued", Some(error), now)?;
                    tx.prepare_cached("UPDATE enrich_jobs SET next_attempt_at = ?2 WHERE id = ?1")?
                        .execute(params![job.id, at.0])?;
                }
                None => tx.finish(job.id, "failed", Some(error), now)?,
            }
            Ok(true)
        })
    }
}

impl Tx<'_> {
    /// Queues again the running jobs whose lease ran out by `now` or
    /// whose worker `is_gone`, keeping their attempts.
    fn reclaim_abandoned(&self, now: Timestamp, is_gone: &dyn Fn(&Lease) -> bool) -> Result<()> {
        let running = self
            .prepare_cached(
                "SELECT id, lease_pid, lease_start_time, lease_pid_namespace, lease_expires_at
                 FROM enrich_jobs WHERE state = 'running'",
            )?
            .query_map([], |row| {
                let lease = Lease {
                    pid: row.get::<_, Option<u32>>(1)?.unwrap_or(0),
                    start_time: row
                        .get::<_, Option<i64>>(2)?
                        .and_then(|t| u64::try_from(t).ok()),
                    pid_namespace: row.get(3)?,
                    token: 0,
                    expires_at: Timestamp(row.get::<_, Option<i64>>(4)?.unwrap_or(0)),
                };
                Ok((row.get::<_, i64>(0)?, lease))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        for (id, lease) in running {
            if lease.expires_at.0 <= now.0 || is_gone(&lease) {
                tracing::info!(
                    "enrich job {id}: its worker {} stopped; queued again",
                    lease.pid
                );
                self.finish(
                    id,
                    "queued",
                    Some("its worker stopped before it finished"),
                    now.0,
                )?;
                self.prepare_cached("UPDATE enrich_jobs SET next_attempt_at = ?2 WHERE id = ?1")?
                    .execute(params![id, now.0])?;
            }
        }
        Ok(())
    }

    /// Whether `job` is still running at its version under `lease`.
    fn holds(&self, job: &ClaimedJob, lease: &Lease) -> Result<bool> {
        Ok(self
            .prepare_cached(
                "SELECT 1 FROM enrich_jobs WHERE id = ?1 AND state = 'running' AND version = ?2
                     AND lease_pid = ?3 AND lease_start_time IS ?4 AND lease_token = ?5",
            )?
            .exists(params![
                job.id,
                job.version,
                lease.pid,
                lease.start_time.and_then(|t| i64::try_from(t).ok()),
                lease.token
            ])?)
    }

    /// Sets a job's state and last error and releases its lease.
    fn finish(&self, id: i64, state: &str, error: Option<&str>, now: i64) -> Result<()> {
        self.prepare_cached(
            "UPDATE enrich_jobs SET state = ?2, last_error = ?3, lease_pid = NULL, lease_token = NULL,
                 lease_start_time = NULL, lease_pid_namespace = NULL,
                 lease_expires_at = NULL, updated_at = ?4
             WHERE id = ?1",
        )?
        .execute(params![id, state, error, now])?;
        Ok(())
    }
}

/// The LLM extractor a job's `backend` column names.
fn extractor_named(backend: &str) -> Result<Extractor> {
    Extractor::llm_named(backend).ok_or_else(|| {
        Error::new(
            ErrorKind::Database,
            format!("an enrich job names an unknown backend {backend:?}"),
        )
    })
}
