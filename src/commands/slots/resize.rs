//! `slots resize`: change a pool's slot count on purpose.

use clap::Args;
use serde::Serialize;

use crate::config::Config;
use crate::error::Result;
use crate::slots::{DEFAULT_POOL, MAX_SLOTS_LIMIT, Pool};

/// Arguments of `slots resize`.
#[derive(Debug, Clone, Args)]
pub struct ResizeArgs {
    /// Pool name
    #[arg(long, default_value = DEFAULT_POOL)]
    pub pool: String,
    /// The new slot count
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_SLOTS_LIMIT)))]
    pub max: u32,
}

/// A pool after `slots resize`.
#[derive(Debug, Clone, Serialize)]
pub struct Resized {
    /// The pool name.
    pub pool: String,
    /// The pool folder.
    pub dir: String,
    /// Its new slot count.
    pub max: u32,
}

/// Records the new count and returns the pool as it now is.
pub fn cmd_slots_resize(config: &Config, args: &ResizeArgs) -> Result<Resized> {
    let pool = Pool::resize(&config.runtime_dir, &args.pool, args.max)?;
    Ok(Resized {
        pool: pool.name().to_owned(),
        dir: pool.dir().display().to_string(),
        max: pool.max(),
    })
}
