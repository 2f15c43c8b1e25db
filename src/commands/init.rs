//! `init`: create the database or migrate it.

use clap::Args;
use serde_json::json;

use super::open_or_create;
use crate::config::Config;
use crate::error::Result;
use crate::output;
use crate::store::migrations::{LATEST_VERSION, schema_version};

/// Arguments of `init`.
#[derive(Debug, Clone, Args)]
pub struct InitArgs {}

/// Creates or migrates the database and reports its path and schema version.
pub fn cmd_init(config: &Config, _args: &InitArgs) -> Result<()> {
    let db_path = config.db_path()?;
    let existed = db_path.exists();
    let store = open_or_create(config)?;
    output::emit(&json!({
        "db": db_path.display().to_string(),
        "created": !existed,
        "schema_version": schema_version(store.conn())?,
        "latest_schema_version": LATEST_VERSION,
    }))
}
