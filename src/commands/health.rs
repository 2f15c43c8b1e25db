//! `health`: integrity and FTS consistency checks.

use clap::Args;

use super::open_existing;
use crate::config::Config;
use crate::error::{Error, ErrorKind, Result};
use crate::store::Health;

/// Arguments of `health`.
#[derive(Debug, Clone, Args)]
pub struct HealthArgs {}

/// Returns the health report when every check passes; otherwise fails with
/// kind `unhealthy` naming what is wrong.
pub fn cmd_health(config: &Config, _args: &HealthArgs) -> Result<Health> {
    let health = open_existing(config)?.health()?;
    if health.ok {
        return Ok(health);
    }
    let mut problems = Vec::new();
    if health.integrity != ["ok"] {
        problems.push(format!("integrity check: {}", health.integrity.join("; ")));
    }
    if !health.fts_consistent {
        problems.push(format!(
            "FTS index out of sync: {} indexed rows for {} live memories",
            health.fts_rows, health.live_memories
        ));
    }
    for problem in health.graph_problems.iter().chain(&health.vector_problems) {
        problems.push(format!("{}: {} rows", problem.problem, problem.rows));
    }
    if !health.schema_current {
        problems.push("schema is not at this program's version".to_owned());
    }
    Err(Error::new(ErrorKind::Unhealthy, problems.join("; ")))
}
