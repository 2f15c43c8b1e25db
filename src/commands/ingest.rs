//! `ingest`: files and folders become memories, one per file, named after
//! the file's path relative to the folder given (see `crate::ingest::name`).
//!
//! A file whose memory already holds its text is left alone (nothing is
//! embedded); a changed one gets a new version; the memories of files
//! deleted since are reported, and forgotten with `--prune`. One JSON line
//! per file goes to stdout, then a summary line.

use std::collections::{HashSet, VecDeque};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use clap::builder::RangedU64ValueParser;
use serde::Serialize;
use serde_json::json;

use super::extract::queued_extractor;
use super::{embedder, open_for_writes};
use crate::config::Config;
use crate::embed::Embedder;
use crate::error::{ErrorKind, Result};
use crate::graph::Extractor;
use crate::ingest::name::{NameError, path_to_name};
use crate::ingest::prepare::{Destination, prepare_batch};
use crate::ingest::text::{FileText, read_text};
use crate::ingest::walk::{Entry, Root, WalkOptions, WalkSkip, resolve_root, walk};
use crate::ingest::writer::{Job, Writer};
use crate::memory::{
    Content, MAX_BODY_BYTES, MAX_NAME_BYTES, Memory, Metadata, VersionNumber, validate_type,
};
use crate::output;
use crate::progress::Progress;
use crate::store::{self, Action, OpenMode, Store};
use crate::time::Timestamp;

/// The type of an ingested memory unless `--type` says otherwise.
pub const DEFAULT_INGEST_TYPE: &str = "document";
/// Files read before they are embedded and written, at most.
const BATCH_FILES: usize = 256;
/// Bytes of text read before they are embedded and written, at most (a
/// batch goes once it reaches either limit).
const BATCH_BYTES: usize = 16 * 1024 * 1024;
/// The metadata keys that record where a memory's text came from.
const ROOT_KEY: &str = "root";
const PATH_KEY: &str = "path";

/// Arguments of `ingest`.
#[derive(Debug, Clone, Args)]
pub struct IngestArgs {
    /// Files and folders to ingest
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Only files matching this gitignore-style glob (repeatable; a file
    /// matching any is taken)
    #[arg(long = "glob", value_name = "GLOB")]
    pub globs: Vec<String>,
    /// Leave out files and folders matching this gitignore-style glob (repeatable)
    #[arg(long = "exclude", value_name = "GLOB")]
    pub excludes: Vec<String>,
    /// Type of the memories [default: document]
    #[arg(long = "type", value_name = "TYPE")]
    pub kind: Option<String>,
    /// Skip files larger than this many bytes (at most the body limit)
    #[arg(long, value_name = "BYTES", default_value_t = MAX_BODY_BYTES,
          value_parser = RangedU64ValueParser::<usize>::new().range(1..=MAX_BODY_BYTES as u64))]
    pub max_file_size: usize,
    /// Forget the memories of files deleted since the folder was last ingested
    #[arg(long)]
    pub prune: bool,
    /// Also ingest hidden files and folders (names starting with a dot)
    #[arg(long)]
    pub hidden: bool,
    /// Do not read .gitignore, .ignore and .git/info/exclude files
    #[arg(long)]
    pub no_ignore: bool,
    /// Report what would be done, and write nothing
    #[arg(long)]
    pub dry_run: bool,
}

/// What happened to one file, or to the memory of a deleted file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum EventKind {
    Created,
    Updated,
    Unchanged,
    Skipped,
    Deleted,
    Pruned,
}

/// One line of output about one file.
#[derive(Debug, Clone, Serialize)]
struct FileEvent {
    event: EventKind,
    /// The file's path relative to its root.
    path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<VersionNumber>,
    /// A stable word saying why a file was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
    /// Details for people.
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
}

impl FileEvent {
    fn new(event: EventKind, path: &str, name: Option<&str>) -> Self {
        FileEvent {
            event,
            path: path.to_owned(),
            name: name.map(str::to_owned),
            version: None,
            reason: None,
            message: None,
        }
    }

    fn skipped(path: &str, name: Option<&str>, reason: &'static str, message: String) -> Self {
        FileEvent {
            reason: Some(reason),
            message: Some(message),
            ..FileEvent::new(EventKind::Skipped, path, name)
        }
    }

    fn at(mut self, version: VersionNumber) -> Self {
        self.version = Some(version);
        self
    }
}

/// The last line of output: how many files each event concerned.
#[derive(Debug, Clone, Default, Serialize)]
struct Summary {
    event: &'static str,
    created: u64,
    updated: u64,
    unchanged: u64,
    skipped: u64,
    deleted: u64,
    pruned: u64,
    /// Skipped files that could not be read (the exit code is 12 if any).
    unreadable: u64,
    dry_run: bool,
}

/// Where the events go, counted as they pass (and shown on the progress
/// line).
struct Report<'o> {
    out: &'o mut dyn Write,
    summary: Summary,
    progress: Progress,
}

impl Report<'_> {
    /// Prints one event and counts it: the one place a file is counted.
    fn emit(&mut self, event: &FileEvent) -> Result<()> {
        let s = &mut self.summary;
        match event.event {
            EventKind::Created => s.created += 1,
            EventKind::Updated => s.updated += 1,
            EventKind::Unchanged => s.unchanged += 1,
            EventKind::Skipped => s.skipped += 1,
            EventKind::Deleted => s.deleted += 1,
            EventKind::Pruned => s.pruned += 1,
        }
        if event.reason == Some(UNREADABLE) {
            s.unreadable += 1;
        }
        self.progress.clear();
        output::write_json(self.out, event)?;
        self.progress.advance(1);
        Ok(())
    }
}

/// The reason of a file that could not be read.
const UNREADABLE: &str = "unreadable";

/// What a job handed to the writer was about: the path and name of each
/// memory, in order, and what writing them means.
struct Handed {
    files: Vec<(String, String)>,
    pruning: bool,
}

/// The run's settings and state shared by every file.
struct Ingest<'a> {
    config: &'a Config,
    args: &'a IngestArgs,
    namespace: &'a str,
    kind: String,
    session: Option<&'a str>,
    /// The LLM extractor changed memories are queued for.
    queue_for: Option<Extractor>,
    embedder: Box<dyn Embedder>,
    /// Reads memories, while the database exists.
    reader: Option<Store>,
    /// Writes memories; started (creating the database) by the first write.
    writer: Option<Writer>,
    /// What each job handed to the writer and not yet reported was about.
    handed: VecDeque<Handed>,
    /// Names given to a file in this run.
    claimed: HashSet<String>,
    /// Files read, waiting to be embedded and handed to the writer: their
    /// paths, names and contents.
    batch: Vec<(String, String, Content)>,
    batch_bytes: usize,
    now: Timestamp,
}

/// Ingests the paths, printing one JSON line per file and a summary, and
/// returns the exit status: 0, or 12 (`partial`) if a file could not be read.
///
/// # Failure
/// Before anything is written: not-found for a missing PATH, invalid input
/// for a bad type or glob. Database errors stop the run; what was written
/// before stays.
/// Runs `ingest`, writing one line per file and the summary to `out`; the
/// exit status is the code of `partial` if some file could not be read.
pub fn cmd_ingest(config: &Config, args: &IngestArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let namespace = config.namespace()?;
    let kind = args
        .kind
        .clone()
        .unwrap_or_else(|| DEFAULT_INGEST_TYPE.to_owned());
    validate_type(&kind)?;
    let options = WalkOptions {
        hidden: args.hidden,
        no_ignore: args.no_ignore,
        globs: args.globs.clone(),
        excludes: args.excludes.clone(),
    };
    let mut roots: Vec<Root> = Vec::new();
    for path in &args.paths {
        let root = resolve_root(path, &options)?;
        if !roots
            .iter()
            .any(|r| r.dir == root.dir && r.file == root.file)
        {
            roots.push(root);
        }
    }
    let session = config.session()?;
    // Checked before anything is written.
    let queue_for = queued_extractor(config, false)?;
    let db_path = config.db_path()?;
    store::check_path(db_path)?;
    let embedder = embedder(config)?;
    let mut run = Ingest {
        config,
        args,
        namespace,
        kind,
        session,
        queue_for,
        embedder,
        reader: None,
        writer: None,
        handed: VecDeque::new(),
        claimed: HashSet::new(),
        batch: Vec::new(),
        batch_bytes: 0,
        now: Timestamp::now(),
    };
    if store::exists(db_path)? {
        if !args.dry_run {
            run.start_writer()?;
        }
        run.reader = Some(Store::open(db_path, OpenMode::Existing)?);
    }
    let mut report = Report {
        out,
        summary: Summary {
            event: "summary",
            dry_run: args.dry_run,
            ..Summary::default()
        },
        progress: config.progress("ingest", None),
    };
    for root in &roots {
        run.ingest_root(root, &options, &mut report)?;
    }
    report.progress.finish();
    output::write_json(report.out, &report.summary)?;
    if report.summary.unreadable > 0 {
        tracing::warn!(
            "ingest: {} files could not be read; their lines say why",
            report.summary.unreadable
        );
        return Ok(ExitCode::from(ErrorKind::Partial.exit_code()));
    }
    Ok(ExitCode::SUCCESS)
}

impl Ingest<'_> {
    /// Ingests the files of one root, then reports the memories of its
    /// files that were deleted.
    fn ingest_root(
        &mut self,
        root: &Root,
        options: &WalkOptions,
        report: &mut Report,
    ) -> Result<()> {
        let mut seen = HashSet::new();
        let mut failed = Ok(());
        walk(root, options, |entry| {
            let done = match entry {
                Entry::File { full, relative } => {
                    let done = self.ingest_file(root, &full, &relative, report);
                    seen.insert(relative);
                    done
                }
                Entry::Skipped { relative, reason } => {
                    report.emit(&skipped_by_walk(&relative, reason))
                }
            };
            failed = done;
            failed.is_ok()
        });
        failed?;
        self.flush(report)?;
        self.report_written(report, true)?;
        if root.file.is_none() {
            self.report_deleted(root, &seen, report)?;
            self.report_written(report, true)?;
        }
        Ok(())
    }

    /// Decides what one file needs, and reports it or queues its write.
    fn ingest_file(
        &mut self,
        root: &Root,
        full: &Path,
        path: &str,
        report: &mut Report,
    ) -> Result<()> {
        let name = match path_to_name(path) {
            Ok(name) => name,
            Err(NameError::TooLong(len)) => {
                let message =
                    format!("its memory name would be {len} bytes; the limit is {MAX_NAME_BYTES}");
                return report.emit(&FileEvent::skipped(path, None, "name_too_long", message));
            }
            Err(NameError::Empty) => return Ok(()),
        };
        if self.claimed.contains(&name) {
            let message = "another file of this run has the same memory name".to_owned();
            return report.emit(&FileEvent::skipped(
                path,
                Some(&name),
                "name_taken",
                message,
            ));
        }
        let skip = |reason, message| FileEvent::skipped(path, Some(&name), reason, message);
        let text = match text_or_skip(full, self.args.max_file_size) {
            Ok(text) => text,
            Err((reason, message)) => return report.emit(&skip(reason, message)),
        };
        let metadata = Metadata::from_value(json!({ ROOT_KEY: root.label, PATH_KEY: path }))?;
        let content = Content::new(Some(self.kind.clone()), None, text, Some(metadata))?;
        let existing = match &self.reader {
            Some(store) => store.find_memory(self.namespace, &name)?,
            None => None,
        };
        let next_version = match &existing {
            None => VersionNumber::FIRST,
            Some(memory) if !ingested_from(memory, root, path) => {
                let message = format!(
                    "a memory named {name:?} exists in namespace {:?} that was not ingested from this file",
                    self.namespace
                );
                return report.emit(&skip("name_taken", message));
            }
            Some(memory) if memory.deleted_at.is_none() && holds(memory, &content) => {
                self.claimed.insert(name.clone());
                let event = FileEvent::new(EventKind::Unchanged, path, Some(&name));
                return report.emit(&event.at(memory.version));
            }
            Some(memory) => memory.version.next(),
        };
        self.claimed.insert(name.clone());
        if self.args.dry_run {
            let event = match existing {
                None => EventKind::Created,
                Some(_) => EventKind::Updated,
            };
            return report.emit(&FileEvent::new(event, path, Some(&name)).at(next_version));
        }
        self.batch_bytes += content.body.len();
        self.batch.push((path.to_owned(), name, content));
        if self.batch.len() >= BATCH_FILES || self.batch_bytes >= BATCH_BYTES {
            self.flush(report)?;
        }
        self.report_written(report, false)
    }

    /// Embeds the files waiting in the batch and hands their memories to
    /// the writer.
    fn flush(&mut self, report: &mut Report) -> Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        self.batch_bytes = 0;
        let (files, contents): (Vec<_>, Vec<_>) = std::mem::take(&mut self.batch)
            .into_iter()
            .map(|(path, name, content)| ((path, name.clone()), (name, content)))
            .unzip();
        let to = Destination {
            namespace: self.namespace,
            session: self.session,
            now: self.now,
        };
        let memories = prepare_batch(&*self.embedder, to, contents)?;
        self.hand(Job::Write(memories), files, false, report)
    }

    /// Hands a job to the writer, starting it if needed, and remembers
    /// what the job is about.
    fn hand(
        &mut self,
        job: Job,
        files: Vec<(String, String)>,
        pruning: bool,
        report: &mut Report,
    ) -> Result<()> {
        if self.writer.is_none() {
            self.start_writer()?;
        }
        self.handed.push_back(Handed { files, pruning });
        let sent = self.writer.as_ref().map_or(Ok(()), |w| w.send(job));
        if sent.is_err() {
            // The writer stopped on an error: that error is the run's.
            self.report_written(report, true)?;
        }
        sent
    }

    /// Opens the database for writing (creating it if it does not exist)
    /// and starts the thread that writes into it.
    fn start_writer(&mut self) -> Result<()> {
        let store = open_for_writes(
            self.config,
            OpenMode::Create,
            &*self.embedder,
            self.queue_for,
        )?;
        self.writer = Some(Writer::start(store));
        Ok(())
    }

    /// Reports the jobs the writer has finished; with `all`, waits for
    /// every job handed to it.
    fn report_written(&mut self, report: &mut Report, all: bool) -> Result<()> {
        let Some(writer) = &self.writer else {
            return Ok(());
        };
        while !self.handed.is_empty() {
            let outcomes = match all {
                true => writer.wait()?,
                false => match writer.try_finished() {
                    Some(outcomes) => outcomes?,
                    None => return Ok(()),
                },
            };
            let Some(handed) = self.handed.pop_front() else {
                break;
            };
            for ((path, name), outcome) in handed.files.iter().zip(outcomes) {
                let event = match (handed.pruning, outcome.action) {
                    (true, Action::Forgotten) => EventKind::Pruned,
                    (true, _) => EventKind::Deleted,
                    (false, Action::Created) => EventKind::Created,
                    (false, Action::Unchanged) => EventKind::Unchanged,
                    (false, _) => EventKind::Updated,
                };
                report.emit(&FileEvent::new(event, path, Some(name)).at(outcome.version))?;
            }
        }
        Ok(())
    }

    /// Reports the live memories ingested from `root` whose file is gone
    /// (not seen by this walk, and not on disk), forgetting them with
    /// `--prune`. A file still on disk that this walk did not take
    /// (excluded, ignored, skipped) keeps its memory.
    fn report_deleted(
        &mut self,
        root: &Root,
        seen: &HashSet<String>,
        report: &mut Report,
    ) -> Result<()> {
        let Some(store) = &self.reader else {
            return Ok(());
        };
        let mut gone: Vec<(String, Memory)> = Vec::new();
        for memory in store.live_memories_with_metadata(self.namespace, ROOT_KEY, &root.label)? {
            let Some(path) = recorded_path(&memory) else {
                continue;
            };
            if seen.contains(&path) || !is_gone(&root.dir.join(&path)) {
                continue;
            }
            gone.push((path, memory));
        }
        if gone.is_empty() {
            return Ok(());
        }
        if !self.args.prune {
            for (path, memory) in &gone {
                let event = FileEvent::new(EventKind::Deleted, path, Some(&memory.name));
                report.emit(&event.at(memory.version))?;
            }
            return Ok(());
        }
        if self.args.dry_run {
            for (path, memory) in &gone {
                let event = FileEvent::new(EventKind::Pruned, path, Some(&memory.name));
                report.emit(&event.at(memory.version.next()))?;
            }
            return Ok(());
        }
        let (files, memories) = gone
            .into_iter()
            .map(|(path, memory)| ((path, memory.name.clone()), memory))
            .unzip();
        self.hand(Job::Forget(memories), files, true, report)
    }
}

/// Returns the text of the file at `full`, or why it is skipped: a reason
/// word and a message.
fn text_or_skip(
    full: &Path,
    max_bytes: usize,
) -> std::result::Result<String, (&'static str, String)> {
    match read_text(full, max_bytes) {
        Ok(FileText::Text(text)) => Ok(text),
        Ok(FileText::Binary) => Err(("binary", "a NUL byte in its first 8 KiB".to_owned())),
        Ok(FileText::NotUtf8(at)) => Err(("not_utf8", format!("not valid UTF-8 (byte {at})"))),
        Ok(FileText::TooLarge(size)) => Err((
            "too_large",
            format!("{size} bytes; --max-file-size is {max_bytes}"),
        )),
        Err(e) => Err((UNREADABLE, e.to_string())),
    }
}

/// The event of an entry the walk did not hand over as a file.
fn skipped_by_walk(path: &str, reason: WalkSkip) -> FileEvent {
    let (reason, message) = match reason {
        WalkSkip::Symlink => ("symlink", "symbolic links are not followed".to_owned()),
        WalkSkip::PathNotUtf8 => ("path_not_utf8", "the path is not valid UTF-8".to_owned()),
        WalkSkip::Unreadable(message) => (UNREADABLE, message),
    };
    FileEvent::skipped(path, None, reason, message)
}

/// Returns true if nothing is at `path` any more. A path that cannot be
/// looked at (in a folder that cannot be read) is not gone.
fn is_gone(path: &Path) -> bool {
    matches!(path.symlink_metadata(), Err(e) if e.kind() == std::io::ErrorKind::NotFound)
}

/// The path a memory's metadata says its text was read from.
fn recorded_path(memory: &Memory) -> Option<String> {
    match memory.metadata.to_value().get(PATH_KEY) {
        Some(serde_json::Value::String(path)) => Some(path.clone()),
        _ => None,
    }
}

/// Returns true if the memory's metadata says it holds the file `path` of `root`.
fn ingested_from(memory: &Memory, root: &Root, path: &str) -> bool {
    let metadata = memory.metadata.to_value();
    metadata.get(ROOT_KEY).and_then(|v| v.as_str()) == Some(root.label.as_str())
        && metadata.get(PATH_KEY).and_then(|v| v.as_str()) == Some(path)
}

/// Returns true if the memory holds `content` already.
fn holds(memory: &Memory, content: &Content) -> bool {
    memory.kind == content.kind
        && memory.description == content.description
        && memory.body.as_deref() == Some(content.body.as_str())
        && memory.metadata == content.metadata
}
