//! `backup`: a consistent copy of the database in a new file, made while
//! other processes keep using it.

use std::path::PathBuf;

use clap::Args;
use serde::Serialize;

use super::open_existing;
use crate::config::Config;
use crate::error::{Error, Result};

/// Arguments of `backup`.
#[derive(Debug, Clone, Args)]
pub struct BackupArgs {
    /// The backup file to write (mode 0600 on Unix)
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: PathBuf,
    /// Replace FILE if it exists
    #[arg(long)]
    pub force: bool,
}

/// What `backup` prints.
#[derive(Debug, Clone, Serialize)]
pub struct BackupReport {
    /// The database backed up.
    pub db: String,
    /// The backup file written.
    pub output: String,
    /// The backup file's size, in bytes.
    pub bytes: u64,
}

/// Writes the backup, with a progress line of pages copied.
pub fn cmd_backup(config: &Config, args: &BackupArgs) -> Result<BackupReport> {
    let store = open_existing(config)?;
    let mut progress = config.progress("backup pages", None);
    let mut shown = 0;
    let result = store.backup_to(&args.output, args.force, &mut |done, total| {
        progress.set_total(total);
        progress.advance(done.saturating_sub(shown));
        shown = shown.max(done);
    });
    progress.finish();
    result?;
    let bytes = std::fs::metadata(&args.output)
        .map_err(|e| Error::io(format!("reading {}", args.output.display()), e))?
        .len();
    Ok(BackupReport {
        db: config.db_path()?.display().to_string(),
        output: args.output.display().to_string(),
        bytes,
    })
}
