//! `slots`: the cross-process semaphore that caps concurrent subprocesses.

pub mod exec;
pub mod resize;
pub mod status;

use std::time::Duration;

use clap::{Args, Subcommand};

use crate::config::Config;
use crate::error::Result;
use crate::slots::{DEFAULT_POOL, MAX_SLOTS_LIMIT, Pool, SlotCount};

/// Arguments of `slots`.
#[derive(Debug, Clone, Args)]
pub struct SlotsArgs {
    /// What to do with the pool.
    #[command(subcommand)]
    pub command: SlotsCommand,
}

/// The `slots` verbs.
#[derive(Debug, Clone, Subcommand)]
pub enum SlotsCommand {
    /// Run a command while holding a slot (stdio and exit code pass through).
    #[command(after_help = crate::examples::SLOTS_EXEC)]
    Exec(exec::ExecArgs),
    /// Show which slots are held, by whom, and for how long.
    #[command(after_help = crate::examples::SLOTS_STATUS)]
    Status(status::StatusArgs),
    /// Change a pool's slot count for every process that uses it.
    #[command(after_help = crate::examples::SLOTS_RESIZE)]
    Resize(resize::ResizeArgs),
}

/// Options naming a pool and, for a new pool, its size.
#[derive(Debug, Clone, Args)]
pub struct PoolArgs {
    /// Pool name (a folder under the runtime dir)
    #[arg(long, default_value = DEFAULT_POOL)]
    pub pool: String,
    /// Slots of a new pool [env: SQLITE_GRAPHRAG_MAX_SLOTS] [default: CPU count];
    /// an existing pool keeps its own count
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_SLOTS_LIMIT)))]
    pub max: Option<u32>,
}

impl PoolArgs {
    /// Opens (creating if needed) the pool with the configured slot count.
    fn open(&self, config: &Config) -> Result<Pool> {
        Pool::open(&config.runtime_dir, &self.pool, self.count(config)?)
    }

    /// Finds the pool without creating it.
    fn find(&self, config: &Config) -> Result<Pool> {
        Pool::find(&config.runtime_dir, &self.pool, self.count(config)?)
    }

    /// The slot count of a new pool: `--max`, else the configured one.
    fn count(&self, config: &Config) -> Result<SlotCount> {
        match self.max {
            Some(max) => SlotCount::chosen(max, "--max"),
            None => config.max_slots(),
        }
    }
}

/// Parses a number of seconds (fractions allowed) for `--wait` and
/// `--timeout`; a number too large for a duration means the longest one.
pub(crate) fn parse_seconds(text: &str) -> std::result::Result<Duration, String> {
    let secs: f64 = text
        .parse()
        .ok()
        .filter(|secs: &f64| !secs.is_nan())
        .ok_or_else(|| format!("{text:?} is not a number of seconds"))?;
    if secs < 0.0 {
        return Err(format!("{text:?} must be zero or more seconds"));
    }
    Ok(Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX))
}
