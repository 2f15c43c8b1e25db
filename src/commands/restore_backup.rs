//! `restore-backup`: the database becomes a backup's copy, in place, while
//! other processes may keep it open.

use std::path::PathBuf;

use clap::Args;
use serde::Serialize;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::store::migrations::schema_version;
use crate::store::{self, OpenMode, Store};

/// Arguments of `restore-backup`.
#[derive(Debug, Clone, Args)]
pub struct RestoreBackupArgs {
    /// A file written by `backup`
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Confirm replacing the whole database (required)
    #[arg(long)]
    pub yes: bool,
}

/// What `restore-backup` prints.
#[derive(Debug, Clone, Serialize)]
pub struct RestoreReport {
    /// The database restored.
    pub db: String,
    /// The backup file it was restored from.
    pub from: String,
    /// The backup's schema version.
    pub backup_schema_version: u32,
    /// The database's schema version now (migrated when the backup's was older).
    pub schema_version: u32,
}

/// Checks the backup, then copies it over the configured database (made
/// if missing) and migrates it.
pub fn cmd_restore_backup(config: &Config, args: &RestoreBackupArgs) -> Result<RestoreReport> {
    if !args.yes {
        return Err(Error::usage(
            "restore-backup replaces every memory of the database; pass --yes to confirm",
        ));
    }
    let source = Store::check_backup(&args.file)?;
    let db = config.db_path()?;
    let store = match store::exists(db)? {
        true => {
            let mut store = Store::open(db, OpenMode::Existing)?;
            store.restore_from(&source)?;
            store
        }
        false => Store::restore_into_new(db, &source)?,
    };
    Ok(RestoreReport {
        db: db.display().to_string(),
        from: args.file.display().to_string(),
        backup_schema_version: source.version,
        schema_version: schema_version(store.conn())?,
    })
}
