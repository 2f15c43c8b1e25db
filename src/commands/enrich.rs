//! `enrich`: works the queue of memory versions waiting for an LLM
//! extractor, up to `--parallel` jobs at once, and counts it (`enrich
//! status`).
//!
//! Each worker thread has its own connection. A job is claimed under a
//! lease in one short transaction, extracted with no transaction open (as
//! `remember --extract` does), and settled in another: the graph stored if
//! the memory is still at the version read, else the job re-queued for the
//! current version. Each job settled is one JSON line on stdout, written by
//! the main thread; a summary line ends the output.
//!
//! SIGINT, SIGTERM or SIGHUP stops the run: the tools running are stopped,
//! their jobs go back to the queue without counting the attempt, no job is
//! claimed after it, and the command exits with `interrupted` (130). A
//! failure every job would share (a failed login, a refused API key, an
//! API key a tool would bill, a missing tool, bad settings) stops the run
//! the same way, with that failure's exit code.

use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, Ordering};
use std::sync::mpsc::{Sender, channel};
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use serde::Serialize;

use super::extract::leave_out_forgotten;
use super::open_existing;
use super::slots::parse_seconds;
use crate::config::Config;
use crate::error::{Error, ErrorKind, Result};
use crate::llm::extraction::{self, ExtractBackend, Extraction};
use crate::llm::{Backend, POOL};
use crate::memory::{MemoryId, VersionNumber};
use crate::output;
use crate::process::{SignalMark, SignalWatch};
use crate::slots::{HolderInfo, Pool};
use crate::store::{ClaimedJob, Lease, Settled, Store};
use crate::time::Timestamp;

/// Claims made by this process so far: each lease's token.
static CLAIMS: AtomicI64 = AtomicI64::new(1);
/// How much longer than its extraction can take a job is leased.
const LEASE_MARGIN: Duration = Duration::from_secs(5 * 60);
/// The delay before the first retry of a job that failed for now (rate
/// limited, out of usage, no slot); it doubles with every attempt.
const FIRST_RETRY_DELAY: Duration = Duration::from_secs(30);
/// The longest delay between retries.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(60 * 60);
/// How often `--until-empty` looks for a due job while none is.
const POLL: Duration = Duration::from_secs(1);
/// The attempts after which a job that keeps failing for now is failed.
const MAX_ATTEMPTS: u32 = 8;
/// The most jobs one `enrich` runs at once.
const MAX_PARALLEL: u32 = 64;

/// Arguments of `enrich`.
#[derive(Debug, Clone, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct EnrichArgs {
    /// Another verb instead of working the queue.
    #[command(subcommand)]
    pub command: Option<EnrichCommand>,
    /// Settle at most this many jobs [default: every job due]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub limit: Option<u32>,
    /// When no job is due, wait (checking every second) until none is
    /// queued or running, instead of stopping
    #[arg(long)]
    pub until_empty: bool,
    /// Claim no job after this many seconds (the ones running are finished)
    #[arg(long, value_name = "SECS", value_parser = parse_seconds)]
    pub max_runtime: Option<Duration>,
    /// Run up to this many jobs at once, never more than the slots of the
    /// `llm` pool (1 to 64)
    #[arg(long, value_name = "P", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_PARALLEL)))]
    pub parallel: u32,
}

/// The `enrich` verbs besides working the queue.
#[derive(Debug, Clone, Subcommand)]
pub enum EnrichCommand {
    /// Count the jobs of the queue by state; the oldest waiting, the next retry.
    #[command(after_help = crate::examples::ENRICH_STATUS)]
    Status,
    /// Queue the failed jobs again.
    #[command(after_help = crate::examples::ENRICH_RETRY)]
    Retry(RetryArgs),
}

/// Arguments of `enrich retry`.
#[derive(Debug, Clone, Args)]
pub struct RetryArgs {
    /// Queue every failed job again, due now, with no attempts (required)
    #[arg(long, required = true)]
    pub failed: bool,
}

/// What `enrich retry` prints.
#[derive(Debug, Clone, Serialize)]
struct Retried {
    /// How many failed jobs were queued again.
    requeued: usize,
}

/// What happened to one job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum Event {
    /// The graph was stored.
    Stored,
    /// The memory changed meanwhile; the job waits for its new version.
    Requeued,
    /// The memory was forgotten; nothing was stored.
    Forgotten,
    /// The extraction failed for now; the job is tried again later.
    Deferred,
    /// The extraction failed for good.
    Failed,
    /// The job is no longer this worker's (a newer write queued it again,
    /// or another worker took it over once this one's lease ran out);
    /// nothing was stored.
    Superseded,
    /// A signal stopped the tool, or it failed in a way every job would
    /// (its login, an API key, the tool missing, bad settings); the job is queued again,
    /// its attempt not counted, and the run stops.
    Released,
}

/// One line of output: a job and what happened to it.
#[derive(Debug, Clone, Serialize)]
struct JobLine {
    event: Event,
    memory_id: MemoryId,
    name: Option<String>,
    namespace: Option<String>,
    /// The version extracted (or queued for, when nothing was read).
    version: VersionNumber,
    backend: &'static str,
    /// The job's attempts so far.
    attempts: u32,
    /// With `requeued`: the version the job now waits for.
    #[serde(skip_serializing_if = "Option::is_none")]
    requeued_version: Option<VersionNumber>,
    /// With `stored`: what the backend found.
    #[serde(skip_serializing_if = "Option::is_none")]
    extraction: Option<Extraction>,
    /// With `deferred` and `failed`: why.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ErrorLine>,
    /// With `deferred`: when the job is due again, Unix milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_attempt_at: Option<i64>,
    /// With `released`: the error that stops the run.
    #[serde(skip)]
    stopped_by: Option<ErrorKind>,
}

/// An error as a job line shows it.
#[derive(Debug, Clone, Serialize)]
struct ErrorLine {
    kind: &'static str,
    message: String,
}

/// The last line of output: how many jobs ended each way.
#[derive(Debug, Clone, Default, Serialize)]
struct Summary {
    event: &'static str,
    stored: u32,
    requeued: u32,
    forgotten: u32,
    deferred: u32,
    failed: u32,
    released: u32,
    superseded: u32,
}

impl Summary {
    fn count(&mut self, event: &Event) {
        let counter = match event {
            Event::Stored => &mut self.stored,
            Event::Requeued => &mut self.requeued,
            Event::Forgotten => &mut self.forgotten,
            Event::Deferred => &mut self.deferred,
            Event::Failed => &mut self.failed,
            Event::Released => &mut self.released,
            Event::Superseded => &mut self.superseded,
        };
        *counter += 1;
    }
}

/// Runs `enrich` or `enrich status`, writing to `out`; the exit status is
/// the code of `partial` if any job failed for good.
pub fn run(config: &Config, args: &EnrichArgs, out: &mut dyn Write) -> Result<ExitCode> {
    match &args.command {
        Some(EnrichCommand::Status) => {
            output::write_json(out, &open_existing(config)?.enrich_counts()?)?;
            return Ok(ExitCode::SUCCESS);
        }
        Some(EnrichCommand::Retry(_)) => {
            let requeued = open_existing(config)?.retry_failed_enrich_jobs()?;
            output::write_json(out, &Retried { requeued })?;
            return Ok(ExitCode::SUCCESS);
        }
        None => {}
    }
    config.model(Backend::Claude)?;
    config.model(Backend::Codex)?;
    config.llm_wait()?;
    let slots = Pool::open(&config.runtime_dir, POOL, config.llm_slots()?)?.max();
    let store = open_existing(config)?;
    let limit = args.limit.map_or(u64::MAX, u64::from);
    let mut progress = config.progress("enrich", Some(store.enrich_counts()?.due.min(limit)));
    let queue = Queue {
        args,
        deadline: args
            .max_runtime
            .and_then(|runtime| Instant::now().checked_add(runtime)),
        lease: extraction::longest(config, config.llm_wait()?).saturating_add(LEASE_MARGIN),
        claimed: AtomicU32::new(0),
        stop: AtomicBool::new(false),
        signals: SignalWatch::start(),
    };
    let mut summary = Summary {
        event: "summary",
        ..Summary::default()
    };
    let mut first_error = None;
    let mut stopped_by = None;
    let (lines, received) = channel();
    std::thread::scope(|scope| {
        for _ in 0..args.parallel.min(slots).max(1) {
            let lines = lines.clone();
            let queue = &queue;
            scope.spawn(move || worker(config, queue, &lines));
        }
        drop(lines);
        for line in received {
            let written = line.and_then(|line| {
                summary.count(&line.event);
                stopped_by = stopped_by.or(line.stopped_by);
                progress.clear();
                output::write_json(out, &line)?;
                if progress.visible() {
                    let counts = store.enrich_counts()?;
                    let done = u64::from(queue.claimed.load(Ordering::SeqCst));
                    progress.set_total((done + counts.due).min(limit));
                }
                progress.advance(1);
                Ok(())
            });
            if let Err(error) = written {
                queue.stop.store(true, Ordering::SeqCst);
                first_error.get_or_insert(error);
            }
        }
    });
    progress.finish();
    if let Some(error) = first_error {
        return Err(error);
    }
    output::write_json(out, &summary)?;
    if queue.signals.received().is_some() {
        return Ok(ExitCode::from(ErrorKind::Interrupted.exit_code()));
    }
    if let Some(kind) = stopped_by {
        return Ok(ExitCode::from(kind.exit_code()));
    }
    if summary.failed > 0 {
        return Ok(ExitCode::from(ErrorKind::Partial.exit_code()));
    }
    Ok(ExitCode::SUCCESS)
}

/// What the workers of one `enrich` share: when to stop claiming.
struct Queue<'a> {
    args: &'a EnrichArgs,
    /// No claim after this (from `--max-runtime`; none when it is beyond
    /// what the clock can count).
    deadline: Option<Instant>,
    /// How long a claimed job is leased: longer than its extraction can
    /// take.
    lease: Duration,
    /// Jobs claimed so far (bounded by `--limit`).
    claimed: AtomicU32,
    /// Set when a worker failed or was interrupted: claim nothing more.
    stop: AtomicBool,
    /// The signals that arrived since the command started.
    signals: SignalWatch,
}

impl Queue<'_> {
    /// The time left before the deadline, if there is one.
    fn time_left(&self) -> Option<Duration> {
        self.deadline
            .map(|at| at.saturating_duration_since(Instant::now()))
    }

    /// Whether no job may be claimed any more.
    fn closed(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
            || self.signals.received().is_some()
            || self.time_left() == Some(Duration::ZERO)
    }

    /// Takes one of the `--limit` claims; false when none is left.
    fn reserve(&self) -> bool {
        let limit = self.args.limit.unwrap_or(u32::MAX);
        self.claimed
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < limit).then_some(n + 1)
            })
            .is_ok()
    }

    /// Gives back a claim that found no job.
    fn unreserve(&self) {
        self.claimed.fetch_sub(1, Ordering::SeqCst);
    }

    /// Claims the next due job under a new lease; with `--until-empty`,
    /// waits while jobs are queued or running but none is due. `None` when
    /// the worker should stop.
    fn next(&self, store: &mut Store, holder: &HolderInfo) -> Result<Option<(ClaimedJob, Lease)>> {
        loop {
            if self.closed() || !self.reserve() {
                return Ok(None);
            }
            let now = Timestamp::now();
            let lease = Lease {
                pid: holder.pid,
                start_time: holder.start_time,
                pid_namespace: holder.pid_namespace.clone(),
                token: CLAIMS.fetch_add(1, Ordering::SeqCst),
                expires_at: Timestamp(now.0.saturating_add(millis(self.lease))),
            };
            if let Some(job) = store.claim_enrich_job(&lease, now, &worker_is_gone)? {
                return Ok(Some((job, lease)));
            }
            self.unreserve();
            let counts = store.enrich_counts()?;
            if !self.args.until_empty || counts.queued + counts.running == 0 {
                return Ok(None);
            }
            let pause = self.time_left().map_or(POLL, |left| left.min(POLL));
            std::thread::sleep(pause);
        }
    }
}

/// One worker: claims and works jobs on its own connection, sending a
/// line per job (or the error that stopped it) to the main thread.
fn worker(config: &Config, queue: &Queue, lines: &Sender<Result<JobLine>>) {
    let holder = HolderInfo::current(Vec::new());
    let worked = open_existing(config).and_then(|mut store| {
        while let Some((job, lease)) = queue.next(&mut store, &holder)? {
            let line = work(config, &mut store, &job, &lease, queue.signals.mark())?;
            if line.event == Event::Released {
                queue.stop.store(true, Ordering::SeqCst);
            }
            let _ = lines.send(Ok(line));
        }
        Ok(())
    });
    if let Err(error) = worked {
        queue.stop.store(true, Ordering::SeqCst);
        let _ = lines.send(Err(error));
    }
}

/// Whether the worker that holds `lease` is known to be gone: no longer
/// running, or its pid now another process's. A worker in another pid
/// namespace is not known to be gone (its lease runs out instead).
fn worker_is_gone(lease: &Lease) -> bool {
    let holder = HolderInfo {
        pid: lease.pid,
        start_time: lease.start_time,
        pid_namespace: lease.pid_namespace.clone(),
        command: Vec::new(),
        acquired_at_ms: 0,
    };
    holder.is_alive() == Some(false)
}

/// Extracts the memory of a claimed job and settles the job; `signals` is
/// the mark of the command's signal watch, so that a signal that arrived
/// since the command started stops the tool.
fn work(
    config: &Config,
    store: &mut Store,
    job: &ClaimedJob,
    lease: &Lease,
    signals: SignalMark,
) -> Result<JobLine> {
    let backend = ExtractBackend::of_extractor(job.extractor).ok_or_else(|| {
        Error::new(
            ErrorKind::Database,
            format!("enrich job {} names no LLM backend", job.id),
        )
    })?;
    let mut line = JobLine {
        event: Event::Forgotten,
        memory_id: job.memory_id,
        name: None,
        namespace: None,
        version: job.version,
        backend: backend.name(),
        attempts: job.attempts,
        requeued_version: None,
        extraction: None,
        error: None,
        next_attempt_at: None,
        stopped_by: None,
    };
    let memory = store.memory(job.memory_id)?;
    if let Some(memory) = &memory {
        line.name = Some(memory.name.clone());
        line.namespace = Some(memory.namespace.clone());
        line.version = memory.version;
    }
    let Some(memory) = memory.filter(|m| m.deleted_at.is_none()) else {
        if !store.drop_enrich_job(job, lease)? {
            line.event = Event::Superseded;
        }
        return Ok(line);
    };
    let error = match extraction::extract(config, backend, &memory, Some(signals)) {
        Ok(extraction) => {
            match store.settle_enrich_job(job, lease, &memory, &extraction.graph)? {
                Settled::Stored => {
                    let mut extraction = extraction;
                    leave_out_forgotten(store, &memory.namespace, &mut extraction)?;
                    line.event = Event::Stored;
                    line.extraction = Some(extraction);
                }
                Settled::Requeued(version) => {
                    line.event = Event::Requeued;
                    line.requeued_version = Some(version);
                }
                Settled::Forgotten => line.event = Event::Forgotten,
                Settled::Superseded => line.event = Event::Superseded,
            }
            return Ok(line);
        }
        Err(error) => error,
    };
    line.error = Some(ErrorLine {
        kind: error.kind().as_str(),
        message: error.message().to_owned(),
    });
    let held = if stops_the_run(error.kind()) {
        let kept = (error.kind() != ErrorKind::Interrupted).then(|| error.message());
        line.event = Event::Released;
        line.stopped_by = Some(error.kind());
        line.attempts = job.attempts.saturating_sub(1);
        store.release_enrich_job(job, lease, Timestamp::now(), kept)?
    } else if error.kind() == ErrorKind::NoSlot {
        let due = Timestamp(Timestamp::now().0.saturating_add(millis(FIRST_RETRY_DELAY)));
        line.event = Event::Deferred;
        line.attempts = job.attempts.saturating_sub(1);
        line.next_attempt_at = Some(due.0);
        store.release_enrich_job(job, lease, due, Some(error.message()))?
    } else {
        let retry_at = retry_at(error.kind(), job.attempts);
        line.event = match retry_at {
            Some(_) => Event::Deferred,
            None => Event::Failed,
        };
        line.next_attempt_at = retry_at.map(|at| at.0);
        store.fail_enrich_job(job, lease, error.message(), retry_at)?
    };
    if !held {
        line.event = Event::Superseded;
        line.next_attempt_at = None;
    }
    Ok(line)
}

/// Whether an extraction that failed with `kind` stops the whole run, its
/// job put back uncounted: a signal, or what needs the user (a failed
/// login or a refused API key, a tool that would bill an API key, a tool
/// that is missing or cannot run, settings that are wrong), which every
/// other job would fail with too.
fn stops_the_run(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::Interrupted
            | ErrorKind::LlmAuth
            | ErrorKind::ProviderAuth
            | ErrorKind::InvalidInput
            | ErrorKind::ApiKeyRefused
            | ErrorKind::CommandNotFound
            | ErrorKind::CommandNotExecutable
    )
}

/// When a job that failed with `kind` at attempt `attempts` is tried
/// again: later, with a delay doubling from [`FIRST_RETRY_DELAY`] up to
/// [`MAX_RETRY_DELAY`], if the failure is one that may pass (rate or usage
/// limit, a tool or a request that ran past its timeout, a provider's
/// error or bad answer) and attempts remain; else never. (A job that found
/// no slot free is put back without counting the attempt.)
fn retry_at(kind: ErrorKind, attempts: u32) -> Option<Timestamp> {
    let passes = matches!(
        kind,
        ErrorKind::LlmUnavailable
            | ErrorKind::Timeout
            | ErrorKind::ProviderRateLimited
            | ErrorKind::ProviderError
            | ErrorKind::ProviderBadResponse
    );
    if !passes || attempts >= MAX_ATTEMPTS {
        return None;
    }
    let delay = FIRST_RETRY_DELAY
        .saturating_mul(1 << attempts.saturating_sub(1).min(16))
        .min(MAX_RETRY_DELAY);
    Some(Timestamp(Timestamp::now().0.saturating_add(millis(delay))))
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_passing_failures_are_retried_with_a_capped_doubling_delay() {
        let delay = |attempts| {
            retry_at(ErrorKind::LlmUnavailable, attempts).map(|at| at.0 - Timestamp::now().0)
        };
        let first = delay(1).unwrap();
        assert!((29_000..=30_000).contains(&first), "{first}");
        let third = delay(3).unwrap();
        assert!((119_000..=120_000).contains(&third), "{third}");
        let seventh = delay(7).unwrap();
        assert!(seventh <= millis(MAX_RETRY_DELAY), "{seventh}");
        assert_eq!(delay(MAX_ATTEMPTS), None);
        assert_eq!(retry_at(ErrorKind::NoSlot, 1), None);
        assert!(retry_at(ErrorKind::Timeout, 1).is_some());
        assert_eq!(retry_at(ErrorKind::LlmFailed, 1), None);
        assert_eq!(retry_at(ErrorKind::ApiKeyRefused, 1), None);
        for kind in [
            ErrorKind::ProviderRateLimited,
            ErrorKind::ProviderError,
            ErrorKind::ProviderBadResponse,
        ] {
            assert!(retry_at(kind, 1).is_some(), "{kind:?}");
        }
        assert_eq!(retry_at(ErrorKind::ProviderAuth, 1), None);
        assert!(stops_the_run(ErrorKind::ProviderAuth));
        assert!(!stops_the_run(ErrorKind::ProviderError));
    }
}
