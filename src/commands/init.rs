//! `init`: create the database or migrate it.

use clap::Args;
use serde_json::json;

use crate::config::Config;
use crate::error::Result;
use crate::output;
use crate::store::migrations::{LATEST_VERSION, schema_version};
use crate::store::{OpenMode, Store};

/// Arguments of `init`.
#[derive(Debug, Clone, Args)]
pub struct InitArgs {
    /// Also add sqlite-graphrag's tables to another application's database
    #[arg(long)]
    pub force: bool,
}

/// Creates or migrates the database and reports its path and schema version.
pub fn cmd_init(config: &Config, args: &InitArgs) -> Result<()> {
    let mode = if args.force {
        OpenMode::Adopt
    } else {
        OpenMode::Create
    };
    let store = Store::open(&config.db_path, mode)?;
    output::emit(&json!({
        "db": config.db_path.display().to_string(),
        "created": store.created(),
        "schema_version": schema_version(store.conn())?,
        "latest_schema_version": LATEST_VERSION,
    }))
}
