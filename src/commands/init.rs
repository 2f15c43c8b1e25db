//! `init`: create the database or migrate it.

use clap::Args;
use serde::Serialize;

use crate::config::Config;
use crate::error::Result;
use crate::store::migrations::{LATEST_VERSION, schema_version};
use crate::store::{OpenMode, Store};

/// Arguments of `init`.
#[derive(Debug, Clone, Args)]
pub struct InitArgs {
    /// Also add sqlite-graphrag's tables to another application's database
    #[arg(long)]
    pub force: bool,
}

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
pub fn cmd_init(config: &Config, args: &InitArgs) -> Result<InitReport> {
    let mode = if args.force {
        OpenMode::Adopt
    } else {
        OpenMode::Create
    };
    let store = Store::open(config.db_path()?, mode)?;
    Ok(InitReport {
        db: config.db_path()?.display().to_string(),
        created: store.created(),
        schema_version: schema_version(store.conn())?,
        latest_schema_version: LATEST_VERSION,
    })
}
