//! `init`: create the database or migrate it.

use clap::Args;
use serde::Serialize;

use super::open_or_create;
use crate::config::Config;
use crate::error::Result;
use crate::store::migrations::{LATEST_VERSION, schema_version};

/// Arguments of `init`.
#[derive(Debug, Clone, Args)]
pub struct InitArgs {}

/// What `init` did.
#[derive(Debug, Clone, Serialize)]
pub struct InitReport {
    /// The database file.
    pub db: String,
    /// Whether the file was created by this run.
    pub created: bool,
    /// The database's schema version now.
    pub schema_version: u32,
    /// This program's schema version.
    pub latest_schema_version: u32,
}

/// Creates or migrates the database and reports its path and schema version.
pub fn cmd_init(config: &Config, _args: &InitArgs) -> Result<InitReport> {
    let existed = config.db_path.exists();
    let store = open_or_create(config)?;
    Ok(InitReport {
        db: config.db_path.display().to_string(),
        created: !existed,
        schema_version: schema_version(store.conn())?,
        latest_schema_version: LATEST_VERSION,
    })
}
