//! `import`: load memories from JSON lines.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use super::extract::queued_extractor;
use super::{embedder, open_for_writes};
use crate::config::Config;
use crate::error::{Error, ErrorKind, Result};
use crate::progress::Progress;
use crate::store::{ImportReport, OpenMode, Store, check_path};

/// Bytes read at a time when counting a file's lines.
const COUNT_BUFFER_BYTES: usize = 1 << 16;

/// Arguments of `import`.
#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// JSONL file to read, or - for standard input
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Lines read, embedded and handed to the writing thread at a time
    #[arg(long, default_value_t = 5_000, value_parser = clap::value_parser!(u32).range(1..))]
    pub batch_size: u32,
}

/// Imports the file and returns the report, with a progress line on
/// stderr (lines done out of the file's lines; of unknown many from a
/// pipe). A database that does not exist yet is created only when the
/// first good line is written.
pub fn cmd_import(config: &Config, args: &ImportArgs) -> Result<ImportReport> {
    let mut progress = config.progress("import", None);
    let report = if args.file.as_os_str() == "-" {
        import_from(config, args, io::stdin().lock(), None, &mut progress)
    } else {
        let file = File::open(&args.file)
            .map_err(|e| Error::io(format!("opening {}", args.file.display()), e))?;
        let counted = file.metadata().is_ok_and(|m| m.is_file());
        import_from(
            config,
            args,
            BufReader::with_capacity(1 << 16, file),
            counted.then_some(args.file.as_path()),
            &mut progress,
        )
    };
    progress.finish();
    report
}

/// Counts the lines of the file at `path` (a last line without a newline
/// too), as the import numbers them.
fn count_lines(path: &Path) -> Result<u64> {
    let mut file =
        File::open(path).map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    let mut buf = vec![0u8; COUNT_BUFFER_BYTES];
    let mut lines = 0u64;
    let mut last = b'\n';
    loop {
        let read = match file.read(&mut buf) {
            Ok(read) => read,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io(format!("reading {}", path.display()), e)),
        };
        let Some(&end) = buf[..read].last() else {
            break;
        };
        lines += buf[..read].iter().filter(|&&b| b == b'\n').count() as u64;
        last = end;
    }
    Ok(lines + u64::from(last != b'\n'))
}

/// Imports the lines `reader` yields into the configured database,
/// counting them done on `progress`, out of the lines of the file at
/// `counted` (when given and the line is drawn), counted once the
/// configuration is known to be good.
fn import_from(
    config: &Config,
    args: &ImportArgs,
    reader: impl BufRead,
    counted: Option<&Path>,
    progress: &mut Progress,
) -> Result<ImportReport> {
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
    if let Some(input) = counted
        && progress.visible()
    {
        progress.set_total(count_lines(input)?);
    }
    let mut advance = |lines| progress.advance(lines);
    if path.exists() {
        open()?.import(&*embedder, reader, namespace, batch_size, &mut advance)
    } else {
        Store::import_lazily(
            open,
            &*embedder,
            reader,
            namespace,
            batch_size,
            &mut advance,
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
