//! `import`: load memories from JSON lines.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::extract::queued_extractor;
use super::{embedder, open_for_writes};
use crate::config::Config;
use crate::error::{Error, ErrorKind, Result};
use crate::store::{ImportReport, OpenMode, Store, check_path};

/// Arguments of `import`.
#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// JSONL file to read, or - for standard input
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Lines read, embedded and handed to the writing thread at a time
    #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u32).range(1..))]
    pub batch_size: u32,
}

/// Imports the file and returns the report. A database that does not
/// exist yet is created only when the first good line is written.
pub fn cmd_import(config: &Config, args: &ImportArgs) -> Result<ImportReport> {
    if args.file.as_os_str() == "-" {
        import_from(config, args, io::stdin().lock())
    } else {
        let file = File::open(&args.file)
            .map_err(|e| Error::io(format!("opening {}", args.file.display()), e))?;
        import_from(config, args, BufReader::with_capacity(1 << 16, file))
    }
}

/// Imports the lines `reader` yields into the configured database.
fn import_from(config: &Config, args: &ImportArgs, reader: impl BufRead) -> Result<ImportReport> {
    let namespace = config.namespace()?;
    let batch_size = args.batch_size as usize;
    let queue_for = queued_extractor(config, false)?;
    let embedder = embedder(config)?;
    let path = config.db_path()?;
    check_path(path)?;
    let open = || {
        let store = open_for_writes(config, OpenMode::Create, &*embedder, queue_for)?;
        Ok(store)
    };
    if path.exists() {
        open()?.import(&*embedder, reader, namespace, batch_size)
    } else {
        Store::import_lazily(open, &*embedder, reader, namespace, batch_size)
    }
}

/// The exit status of an import: 0 only if every line was imported; if any
/// was rejected, the code of [`ErrorKind::Partial`] (the report, printed on
/// stdout, lists the first ones).
pub fn exit_status(report: &ImportReport) -> ExitCode {
    if report.failed == 0 {
        return ExitCode::SUCCESS;
    }
    tracing::warn!(
        "import: {} lines rejected; the report lists the first ones",
        report.failed
    );
    ExitCode::from(ErrorKind::Partial.exit_code())
}
