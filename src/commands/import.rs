//! `import`: load memories from JSON lines.

use std::fs::File;
use std::io::{self, BufReader};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::{embedder, open_with_vectors};
use crate::config::Config;
use crate::error::{Error, ErrorKind, Result};
use crate::store::{ImportReport, OpenMode};

/// Arguments of `import`.
#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// JSONL file to read, or - for standard input
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Lines written per transaction
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..))]
    pub batch_size: u32,
}

/// Imports the file and returns the report.
pub fn cmd_import(config: &Config, args: &ImportArgs) -> Result<ImportReport> {
    let namespace = config.namespace()?;
    let batch_size = args.batch_size as usize;
    let embedder = embedder(config);
    if args.file.as_os_str() == "-" {
        let mut store = open_with_vectors(config, OpenMode::Create, &*embedder)?;
        store.import(&*embedder, io::stdin().lock(), namespace, batch_size)
    } else {
        let file = File::open(&args.file)
            .map_err(|e| Error::io(format!("opening {}", args.file.display()), e))?;
        let mut store = open_with_vectors(config, OpenMode::Create, &*embedder)?;
        store.import(
            &*embedder,
            BufReader::with_capacity(1 << 16, file),
            namespace,
            batch_size,
        )
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
