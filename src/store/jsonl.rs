//! The JSONL exchange format: `import` in short transactions, and `export`.
//!
//! A line is a memory, or a graph line (`graph_lines`). On import, each
//! line is validated (and embedded) on its own; bad lines are reported by
//! number and skipped. Good lines are written in batches,
//! each in `BEGIN IMMEDIATE` transactions of at most about
//! [`MAX_TRANSACTION_TIME`], so that concurrent writers never wait long, and a
//! crash leaves each transaction either whole or absent.

use std::collections::{BTreeMap, HashSet};
use std::io::{self, BufRead};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::busy::YIELD_PAUSE;
use super::derived::{Derived, derive_many};
use super::graph_lines::{EntityLine, GraphRecord, IgnoredLine, LinkLine, parse_graph_line};
use super::memories::{Action, MEMORY_COLUMNS, Outcome, find, memory_from_row};
use super::memory_tx::{NewVersion, Upsert};
use super::{Store, Tx};
use crate::embed::Embedder;
use crate::error::{Error, ErrorKind, Result};
use crate::graph::explicit::{self, EntityInput, GraphInput, RelationshipInput};
use crate::graph::{Extractor, MemoryGraph};
use crate::memory::{
    Content, MAX_BODY_BYTES, Metadata, check_unique_keys, validate_name, validate_namespace,
    validate_session,
};
use crate::time::Timestamp;

/// Longest accepted line: room for a body at its limit, escaped, and its fields.
const MAX_LINE_BYTES: usize = 4 * MAX_BODY_BYTES;
/// Most per-line errors listed in a report; `failed` still counts them all.
const MAX_REPORTED_ERRORS: usize = 100;
/// Longest a transaction of an import holds the write lock, about: other
/// writers wait for it, and give up after the busy timeout.
const MAX_TRANSACTION_TIME: Duration = Duration::from_millis(500);
/// The connection settings an import writes with, restored after it.
///
/// `cache_size`, 256 MiB (SQLite's default is 2 MiB): an import inserts
/// into the indexes of the graph and of the memories at random places;
/// with the default, most of those inserts read their page from the file
/// again; with this, the indexes of a database of a few hundred thousand
/// memories stay in memory (taken only as pages are read).
/// `temp_store`, in memory: the undo journal of each statement (FTS5
/// writes one whenever it writes what it holds) is not written to a
/// temporary file.
const IMPORT_SETTINGS: [(&str, i64); 2] = [("cache_size", -256 * 1024), ("temp_store", 2)];
/// Most new memories whose rows one statement inserts.
const NEW_MEMORIES_PER_INSERT: usize = 500;
/// The byte order mark some editors put at the start of a UTF-8 file.
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// One line of the JSONL format that `import` reads and `export` writes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportLine {
    /// The memory's name (required).
    pub name: String,
    /// The namespace; when present it wins over `--namespace`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The type.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The body (required).
    pub body: String,
    /// A JSON object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    /// RFC 3339 creation time, used when the memory is new; defaults to
    /// `updated_at`, else to the time of the import.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// RFC 3339 time of the latest change, used when the memory is new;
    /// defaults to `created_at`, and may not be earlier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    /// The agent session that wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// Entities the memory mentions, as `--entities-file` takes them. With
    /// `relationships`, the graph a user gave the memory: either field
    /// replaces that whole graph; neither leaves it as it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entities: Option<Vec<EntityInput>>,
    /// Relationships the memory asserts, as `--relationships-file` takes them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relationships: Option<Vec<RelationshipInput>>,
    /// What LLM backends extracted from the memory, by backend (`claude`,
    /// `codex`, `openai-compatible`): each replaces that backend's
    /// assertions for the memory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extracted: Option<BTreeMap<String, GraphInput>>,
}

/// One line of what `export` writes: a memory, or a graph line.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum ExportLine {
    /// A live memory.
    Memory(ImportLine),
    /// A name `forget-entity` removed.
    Ignored(IgnoredLine),
    /// A relationship made with `link`.
    Link(LinkLine),
    /// An entity's name, type, description, aliases and times.
    Entity(EntityLine),
}

/// What an export wrote.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExportCounts {
    /// Memory lines.
    pub memories: u64,
    /// Graph lines.
    pub graph_lines: u64,
}

/// A line that could not be imported.
#[derive(Debug, Clone, Serialize)]
pub struct ImportError {
    /// Its 1-based line number.
    pub line: u64,
    /// Why it was rejected.
    pub message: String,
}

/// What an import did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportReport {
    /// Memories created.
    pub imported: u64,
    /// Existing memories given a new version.
    pub updated: u64,
    /// Lines whose content was already stored.
    pub unchanged: u64,
    /// Graph lines written: entities, links and ignored names.
    pub graph_lines: u64,
    /// Lines rejected.
    pub failed: u64,
    /// The first rejected lines, with reasons.
    pub errors: Vec<ImportError>,
}

impl ImportReport {
    fn reject(&mut self, line: u64, error: &Error) {
        self.failed += 1;
        if self.errors.len() < MAX_REPORTED_ERRORS {
            self.errors.push(ImportError {
                line,
                message: error.message().to_owned(),
            });
        }
    }

    /// Adds what `other` counted, keeping the first rejected lines of both.
    fn add(&mut self, other: ImportReport) {
        self.imported += other.imported;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
        self.graph_lines += other.graph_lines;
        self.failed += other.failed;
        self.errors.extend(other.errors);
        self.errors.sort_by_key(|e| e.line);
        self.errors.truncate(MAX_REPORTED_ERRORS);
    }
}

/// A validated line, ready to write, with its line number.
struct Numbered {
    line: u64,
    record: Record,
}

/// A validated line.
enum Record {
    Memory(Box<MemoryRecord>),
    Graph(GraphRecord),
}

/// A validated line whose memory is not embedded yet.
enum Parsed {
    Memory(Box<ParsedMemory>),
    Graph(GraphRecord),
}

/// A validated memory line, before its text is embedded.
struct ParsedMemory {
    namespace: String,
    name: String,
    content: Content,
    session: Option<String>,
    created_at: Timestamp,
    updated_at: Timestamp,
    graph: Option<MemoryGraph>,
    extracted: Vec<(Extractor, MemoryGraph)>,
}

impl ParsedMemory {
    /// The memory, with what its text gave.
    fn derived(self, derived: Derived) -> MemoryRecord {
        MemoryRecord {
            namespace: self.namespace,
            name: self.name,
            content: self.content,
            derived,
            session: self.session,
            created_at: self.created_at,
            updated_at: self.updated_at,
            graph: self.graph,
            extracted: self.extracted,
        }
    }
}

/// Embeds the memories of `parsed` lines with one call of the embedder
/// (an HTTP one sends them in batches), and returns the lines ready to
/// write.
///
/// # Failure
/// The embedder's errors: the whole batch fails with them.
fn embed_parsed(embedder: &dyn Embedder, parsed: Vec<(u64, Parsed)>) -> Result<Vec<Numbered>> {
    let texts: Vec<(&str, &str)> = parsed
        .iter()
        .filter_map(|(_, p)| match p {
            Parsed::Memory(m) => Some((m.content.description.as_str(), m.content.body.as_str())),
            Parsed::Graph(_) => None,
        })
        .collect();
    let mut derived = derive_many(embedder, &texts)?.into_iter();
    let mut ready = Vec::with_capacity(parsed.len());
    for (line, parsed) in parsed {
        let record = match parsed {
            Parsed::Memory(memory) => match derived.next() {
                Some(d) => Record::Memory(Box::new(memory.derived(d))),
                None => {
                    return Err(Error::new(
                        ErrorKind::Database,
                        "the embedder returned fewer texts than it was given",
                    ));
                }
            },
            Parsed::Graph(graph) => Record::Graph(graph),
        };
        ready.push(Numbered { line, record });
    }
    Ok(ready)
}

/// A validated memory line, or any other memory ready to write.
pub(crate) struct MemoryRecord {
    pub(crate) namespace: String,
    pub(crate) name: String,
    pub(crate) content: Content,
    pub(crate) derived: Derived,
    pub(crate) session: Option<String>,
    pub(crate) created_at: Timestamp,
    pub(crate) updated_at: Timestamp,
    /// The graph the line gives the memory, if it gives one.
    pub(crate) graph: Option<MemoryGraph>,
    /// The graphs LLM extractors asserted, carried by the line.
    pub(crate) extracted: Vec<(Extractor, MemoryGraph)>,
}

fn parse_record(bytes: &[u8], default_namespace: &str, now: Timestamp) -> Result<Parsed> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| Error::invalid(format!("line is not valid UTF-8: {e}")))?;
    // Serde reads a struct from an array too, by the order of its fields.
    if !text.trim_start().starts_with('{') {
        serde_json::from_str::<IgnoredAny>(text)?;
        return Err(Error::invalid("a line must be a JSON object"));
    }
    if let Some(graph) = parse_graph_line(text, default_namespace, now)? {
        check_unique_keys(text)?;
        return Ok(Parsed::Graph(graph));
    }
    let line: ImportLine = serde_json::from_str(text)?;
    check_unique_keys(text)?;
    let namespace = line
        .namespace
        .unwrap_or_else(|| default_namespace.to_owned());
    validate_namespace(&namespace)?;
    validate_name(&line.name)?;
    if let Some(session) = &line.session {
        validate_session(session)?;
    }
    let graph = match (line.entities, line.relationships) {
        (None, None) => None,
        (entities, relationships) => Some(explicit::check(GraphInput {
            entities: entities.unwrap_or_default(),
            relationships: relationships.unwrap_or_default(),
        })?),
    };
    let extracted = line
        .extracted
        .unwrap_or_default()
        .into_iter()
        .map(|(backend, input)| {
            let extractor = Extractor::llm_named(&backend).ok_or_else(|| {
                Error::invalid(format!(
                    "extracted: {backend:?} is not an LLM backend (claude, codex or openai-compatible)"
                ))
            })?;
            let graph = explicit::check(input).map_err(|e| {
                Error::new(e.kind(), format!("extracted.{backend}: {}", e.message()))
            })?;
            Ok((extractor, graph))
        })
        .collect::<Result<Vec<_>>>()?;
    let metadata = line.metadata.map(Metadata::from_value).transpose()?;
    let content = Content::new(line.kind, line.description, line.body, metadata)?;
    let (created_at, updated_at) =
        line_times(line.created_at.as_deref(), line.updated_at.as_deref(), now)?
            .unwrap_or((now, now));
    Ok(Parsed::Memory(Box::new(ParsedMemory {
        namespace,
        name: line.name,
        content,
        session: line.session,
        created_at,
        updated_at,
        graph,
        extracted,
    })))
}

/// Reads the `created_at` and `updated_at` of a line, each defaulting to
/// the other; `None` if neither is given.
///
/// # Failure
/// Invalid input for a time that is not RFC 3339, a change before the
/// creation, or a change after `now` (the start of the import).
pub(crate) fn line_times(
    created_at: Option<&str>,
    updated_at: Option<&str>,
    now: Timestamp,
) -> Result<Option<(Timestamp, Timestamp)>> {
    let created_at = created_at.map(Timestamp::parse).transpose()?;
    let updated_at = updated_at.map(Timestamp::parse).transpose()?;
    let Some(created_at) = created_at.or(updated_at) else {
        return Ok(None);
    };
    let updated_at = updated_at.unwrap_or(created_at);
    if updated_at < created_at {
        return Err(Error::invalid(format!(
            "updated_at {updated_at} is before created_at {created_at}"
        )));
    }
    if updated_at > now {
        return Err(Error::invalid(format!(
            "updated_at {updated_at} is in the future (the import started at {now})"
        )));
    }
    Ok(Some((created_at, updated_at)))
}

/// What writing one line did.
#[derive(Debug)]
enum Written {
    /// A memory line, and what it did to the memory.
    Memory(Outcome),
    /// A graph line, written.
    Graph,
    /// A graph line that cannot apply to the graph as it is, and why.
    Rejected(Error),
}

/// Writes items from the start of `items` with `write_one` until all are
/// written or `deadline` has passed (at least one), and returns what each
/// write returned.
fn write_until<T, W>(
    tx: &Tx<'_>,
    items: &[T],
    deadline: Instant,
    write_one: &impl Fn(&Tx<'_>, &T) -> Result<W>,
) -> Result<Vec<W>> {
    let mut written = Vec::new();
    for item in items {
        if !written.is_empty() && Instant::now() >= deadline {
            break;
        }
        written.push(write_one(tx, item)?);
    }
    Ok(written)
}

/// Writes one import line.
fn write_record(tx: &Tx<'_>, numbered: &Numbered) -> Result<Written> {
    Ok(match &numbered.record {
        Record::Memory(r) => Written::Memory(write_memory(tx, r)?),
        Record::Graph(g) => {
            match within_savepoint(tx, || tx.write_graph_line(g, Timestamp::now()))? {
                Ok(()) => Written::Graph,
                Err(err) => Written::Rejected(err),
            }
        }
    })
}

/// Runs `work` within a savepoint of `tx`: if it fails for a reason of
/// the line's own (invalid input, not found, already exists, too large),
/// what it wrote is undone and the error is returned inside `Ok`; any
/// other error is the transaction's.
fn within_savepoint(tx: &Tx<'_>, work: impl FnOnce() -> Result<()>) -> Result<Result<()>> {
    tx.execute_batch("SAVEPOINT graph_line")?;
    match work() {
        Ok(()) => {
            tx.execute_batch("RELEASE graph_line")?;
            Ok(Ok(()))
        }
        Err(err)
            if matches!(
                err.kind(),
                ErrorKind::InvalidInput
                    | ErrorKind::NotFound
                    | ErrorKind::AlreadyExists
                    | ErrorKind::TooLarge
            ) =>
        {
            tx.execute_batch("ROLLBACK TO graph_line; RELEASE graph_line")?;
            Ok(Err(err))
        }
        Err(err) => Err(err),
    }
}

/// Writes a memory line: the memory, and the graph it gives it.
pub(crate) fn write_memory(tx: &Tx<'_>, r: &MemoryRecord) -> Result<Outcome> {
    let outcome = tx.upsert(&new_version(r), Upsert::CreateOrUpdate)?;
    write_line_graphs(tx, &outcome, r)?;
    Ok(outcome)
}

/// The memory of a memory line, as written.
fn new_version(r: &MemoryRecord) -> NewVersion<'_> {
    NewVersion {
        namespace: &r.namespace,
        name: &r.name,
        content: &r.content,
        derived: &r.derived,
        created_at: r.created_at,
        updated_at: r.updated_at,
        session: r.session.as_deref(),
    }
}

/// Writes the graphs a memory line carries for the memory written.
fn write_line_graphs(tx: &Tx<'_>, outcome: &Outcome, r: &MemoryRecord) -> Result<()> {
    tx.write_explicit(outcome, r.graph.as_ref())?;
    for (extractor, graph) in &r.extracted {
        tx.write_carried_extraction(outcome, *extractor, graph)?;
    }
    Ok(())
}

/// Writes lines from the start of `records` until all are written or
/// `deadline` has passed (at least one), and returns what each did. New
/// memories in a row are inserted together (see
/// [`Tx::insert_new_memories`]).
fn write_records_until(
    tx: &Tx<'_>,
    records: &[Numbered],
    deadline: Instant,
) -> Result<Vec<Written>> {
    let mut written = Vec::new();
    while written.len() < records.len() {
        if !written.is_empty() && Instant::now() >= deadline {
            break;
        }
        let rest = &records[written.len()..];
        let new = new_memories_ahead(tx, rest)?;
        if new.is_empty() {
            written.push(write_record(tx, &rest[0])?);
            continue;
        }
        let versions: Vec<NewVersion<'_>> = new.iter().map(|r| new_version(r)).collect();
        let outcomes = tx.insert_new_memories(&versions)?;
        for (r, outcome) in new.iter().zip(outcomes) {
            write_line_graphs(tx, &outcome, r)?;
            written.push(Written::Memory(outcome));
        }
    }
    Ok(written)
}

/// The memory lines at the start of `records` (at most
/// [`NEW_MEMORIES_PER_INSERT`]) whose names no memory has yet, and no line
/// before them in `records`.
fn new_memories_ahead<'a>(tx: &Tx<'_>, records: &'a [Numbered]) -> Result<Vec<&'a MemoryRecord>> {
    let mut new = Vec::new();
    let mut names = HashSet::new();
    for numbered in records.iter().take(NEW_MEMORIES_PER_INSERT) {
        let Record::Memory(r) = &numbered.record else {
            break;
        };
        if !names.insert((r.namespace.as_str(), r.name.as_str()))
            || find(tx, &r.namespace, &r.name)?.is_some()
        {
            break;
        }
        new.push(&**r);
    }
    Ok(new)
}

/// What reading one line produced.
enum LineRead {
    Line,
    TooLong,
    End,
}

/// Reads one line into `buf` (without its newline), never holding more than
/// `MAX_LINE_BYTES`: the rest of a longer line is skipped.
fn read_line_capped(reader: &mut impl BufRead, buf: &mut Vec<u8>) -> io::Result<LineRead> {
    buf.clear();
    let mut too_long = false;
    let mut read_any = false;
    loop {
        let available = reader.fill_buf()?;
        if available.is_empty() {
            break;
        }
        read_any = true;
        let (chunk, found_newline) = match available.iter().position(|&b| b == b'\n') {
            Some(at) => (&available[..at], true),
            None => (available, false),
        };
        if !too_long && buf.len() + chunk.len() <= MAX_LINE_BYTES {
            buf.extend_from_slice(chunk);
        } else {
            too_long = true;
            buf.clear();
        }
        let used = chunk.len() + usize::from(found_newline);
        reader.consume(used);
        if found_newline {
            break;
        }
    }
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    Ok(match (read_any, too_long) {
        (false, _) => LineRead::End,
        (true, true) => LineRead::TooLong,
        (true, false) => LineRead::Line,
    })
}

/// Where an import writes: a store, opened at the latest when the first
/// good batch is written.
trait Destination {
    /// Returns the store, opening it if it is not open yet.
    fn store(&mut self) -> Result<&mut Store>;
}

impl Destination for Store {
    fn store(&mut self) -> Result<&mut Store> {
        Ok(self)
    }
}

/// A store that `open` opens only once an import has something to write.
struct Deferred<F> {
    open: Option<F>,
    store: Option<Store>,
}

impl<F: FnOnce() -> Result<Store>> Destination for Deferred<F> {
    fn store(&mut self) -> Result<&mut Store> {
        if let Some(open) = self.open.take() {
            self.store = Some(open()?);
        }
        self.store
            .as_mut()
            .ok_or_else(|| Error::new(ErrorKind::Database, "the database could not be opened"))
    }
}

impl Store {
    /// Imports JSONL from `reader`, embedding with `embedder`: each valid line creates or updates a
    /// memory (an existing name gets a new version only if its content
    /// differs), `batch_size` lines to a transaction. Bad lines are counted
    /// and reported by number; they never stop the import. `progress` is
    /// called with how many more lines are done (written, skipped or
    /// rejected) each time a transaction commits, and once at the end.
    ///
    /// # Failure
    /// I/O errors reading the input and database errors abort the import;
    /// batches committed before stay.
    pub fn import(
        &mut self,
        embedder: &dyn Embedder,
        reader: impl BufRead,
        default_namespace: &str,
        batch_size: usize,
        progress: &mut (dyn FnMut(u64) + Send),
    ) -> Result<ImportReport> {
        import_into(
            self,
            embedder,
            reader,
            default_namespace,
            batch_size,
            progress,
        )
    }

    /// Like [`Store::import`] into the store `open` returns, which is called
    /// only when the first good batch is about to be written: an import in
    /// which no line is good opens (and creates) nothing.
    ///
    /// # Failure
    /// As [`Store::import`], and whatever `open` fails with.
    pub fn import_lazily(
        open: impl FnOnce() -> Result<Store> + Send,
        embedder: &dyn Embedder,
        reader: impl BufRead,
        default_namespace: &str,
        batch_size: usize,
        progress: &mut (dyn FnMut(u64) + Send),
    ) -> Result<ImportReport> {
        let mut destination = Deferred {
            open: Some(open),
            store: None,
        };
        import_into(
            &mut destination,
            embedder,
            reader,
            default_namespace,
            batch_size,
            progress,
        )
    }
}

/// Reads, checks and writes the lines of [`Store::import`] into `destination`.
///
/// Two threads share the work: this one reads, checks, embeds and extracts
/// each batch while a writer thread writes the one before, so the two cores
/// of a small machine both work.
fn import_into(
    destination: &mut (impl Destination + Send),
    embedder: &dyn Embedder,
    mut reader: impl BufRead,
    default_namespace: &str,
    batch_size: usize,
    progress: &mut (dyn FnMut(u64) + Send),
) -> Result<ImportReport> {
    let (batches, received) = mpsc::sync_channel::<Vec<Numbered>>(1);
    let (report, lines_left) = thread::scope(|scope| {
        let writer_progress = &mut *progress;
        let writer = scope.spawn(move || -> Result<(ImportReport, u64)> {
            let mut written = ImportReport::default();
            let mut lines_done = 0;
            let mut settings_before = None;
            let write_all = || -> Result<()> {
                for batch in received {
                    let store = destination.store()?;
                    if settings_before.is_none() {
                        settings_before = Some(store.set_pragmas(IMPORT_SETTINGS)?);
                    }
                    store.write_batch(&batch, &mut written, &mut |last_line| {
                        writer_progress(last_line - lines_done);
                        lines_done = last_line;
                    })?;
                }
                Ok(())
            };
            let wrote = write_all();
            if let Some(before) = settings_before {
                destination.store()?.set_pragmas(before)?;
            }
            wrote.map(|()| (written, lines_done))
        });
        let mut report = ImportReport::default();
        let read = read_batches(
            &mut reader,
            embedder,
            default_namespace,
            batch_size,
            &mut report,
            &batches,
        );
        drop(batches);
        let (written, lines_done) = writer
            .join()
            .map_err(|_| Error::new(ErrorKind::Database, "the import's writer panicked"))??;
        let lines_read = read?;
        report.add(written);
        Ok::<_, Error>((report, lines_read.saturating_sub(lines_done)))
    })?;
    progress(lines_left);
    Ok(report)
}

/// Reads the lines, checks, embeds and extracts them, and sends them to
/// the writer `batch_size` at a time; rejected lines go into `report`.
/// Returns how many lines it read. Stops early when the writer stopped
/// (its error is the import's).
fn read_batches(
    reader: &mut impl BufRead,
    embedder: &dyn Embedder,
    default_namespace: &str,
    batch_size: usize,
    report: &mut ImportReport,
    batches: &mpsc::SyncSender<Vec<Numbered>>,
) -> Result<u64> {
    let mut batch: Vec<(u64, Parsed)> = Vec::with_capacity(batch_size);
    let mut buf = Vec::new();
    let mut line_no = 0u64;
    let now = Timestamp::now();
    loop {
        let read = read_line_capped(reader, &mut buf)
            .map_err(|e| Error::io(format!("reading import line {}", line_no + 1), e))?;
        match read {
            LineRead::End => break,
            LineRead::TooLong => {
                line_no += 1;
                let err = Error::too_large(format!("line is longer than {MAX_LINE_BYTES} bytes"));
                report.reject(line_no, &err);
            }
            LineRead::Line => {
                line_no += 1;
                let line = match buf.strip_prefix(UTF8_BOM) {
                    Some(rest) if line_no == 1 => rest,
                    _ => &buf[..],
                };
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                match parse_record(line, default_namespace, now) {
                    Ok(parsed) => batch.push((line_no, parsed)),
                    Err(err) => report.reject(line_no, &err),
                }
            }
        }
        if batch.len() >= batch_size {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(batch_size));
            if batches.send(embed_parsed(embedder, full)?).is_err() {
                return Ok(line_no);
            }
        }
    }
    if !batch.is_empty() {
        let _ = batches.send(embed_parsed(embedder, batch)?);
    }
    Ok(line_no)
}

impl Store {
    /// Sets the connection's `settings` (pragmas of integer values), and
    /// returns the values they had.
    fn set_pragmas<const N: usize>(
        &self,
        settings: [(&'static str, i64); N],
    ) -> Result<[(&'static str, i64); N]> {
        let mut before = settings;
        for ((name, value), (_, old)) in settings.iter().zip(&mut before) {
            *old = self
                .conn()
                .pragma_query_value(None, name, |row| row.get(0))?;
            self.conn().pragma_update(None, name, value)?;
        }
        Ok(before)
    }

    /// Writes `batch` in as few transactions as keep each under
    /// [`MAX_TRANSACTION_TIME`], leaving the lock free for a moment between
    /// them, and counts what they did; after each commit, calls `committed`
    /// with the number of the last line written.
    fn write_batch(
        &mut self,
        batch: &[Numbered],
        report: &mut ImportReport,
        committed: &mut dyn FnMut(u64),
    ) -> Result<()> {
        self.write_in_parts_with(batch, write_records_until, |part, written| {
            if let Some(last) = part.last() {
                committed(last.line);
            }
            for (numbered, what) in part.iter().zip(written) {
                match what {
                    Written::Memory(o) if o.action == Action::Created => report.imported += 1,
                    Written::Memory(o) if o.action == Action::Unchanged => report.unchanged += 1,
                    Written::Memory(_) => report.updated += 1,
                    Written::Graph => report.graph_lines += 1,
                    Written::Rejected(err) => report.reject(numbered.line, &err),
                }
            }
            tracing::info!(
                "import: {} lines stored so far",
                report.imported + report.updated + report.unchanged + report.graph_lines
            );
        })
    }

    /// Writes every item of `items` with `write_one`, in as few
    /// transactions as keep each under [`MAX_TRANSACTION_TIME`] (at least
    /// one item each), leaving the lock free for a moment between them.
    /// After each transaction commits, calls `committed` with the items it
    /// wrote and what writing each returned.
    pub(crate) fn write_in_parts<T, W>(
        &mut self,
        items: &[T],
        write_one: impl Fn(&Tx<'_>, &T) -> Result<W>,
        committed: impl FnMut(&[T], Vec<W>),
    ) -> Result<()> {
        self.write_in_parts_with(
            items,
            |tx, rest, deadline| write_until(tx, rest, deadline, &write_one),
            committed,
        )
    }

    /// Like [`Store::write_in_parts`], with `write_some` writing items from
    /// the start of those it is given until all are written or the deadline
    /// it is given has passed (at least one).
    fn write_in_parts_with<T, W>(
        &mut self,
        items: &[T],
        write_some: impl Fn(&Tx<'_>, &[T], Instant) -> Result<Vec<W>>,
        mut committed: impl FnMut(&[T], Vec<W>),
    ) -> Result<()> {
        let mut rest = items;
        while !rest.is_empty() {
            if rest.len() < items.len() {
                thread::sleep(YIELD_PAUSE);
            }
            let deadline = Instant::now() + MAX_TRANSACTION_TIME;
            let written = self.write(|tx| write_some(tx, rest, deadline))?;
            let (part, later) = rest.split_at(written.len());
            committed(part, written);
            rest = later;
        }
        Ok(())
    }

    /// Calls `emit` with every line of an export of `namespace` (every
    /// namespace if `None`), in the order an import needs them: the names
    /// `forget-entity` removed, every live memory (by namespace and in the
    /// order they were created, with the graph users gave it), the links
    /// made with `link`, and the entities `entities` shows.
    pub fn export(
        &self,
        namespace: Option<&str>,
        mut emit: impl FnMut(&ExportLine) -> Result<()>,
    ) -> Result<ExportCounts> {
        let now = Timestamp::now();
        let mut counts = ExportCounts::default();
        counts.graph_lines +=
            self.ignored_lines(namespace, |line| emit(&ExportLine::Ignored(line)))?;
        counts.memories = self.export_memories(namespace, now, &mut emit)?;
        counts.graph_lines += self.link_lines(namespace, |line| emit(&ExportLine::Link(line)))?;
        counts.graph_lines +=
            self.entity_lines(namespace, now, |line| emit(&ExportLine::Entity(line)))?;
        Ok(counts)
    }

    /// Calls `emit` with every live memory of `namespace` (all if `None`)
    /// as a memory line, by namespace and in the order they were created
    /// (so that an import numbers them in the same order, and what breaks
    /// ties by that order shows them the same); returns how many.
    fn export_memories(
        &self,
        namespace: Option<&str>,
        now: Timestamp,
        emit: &mut impl FnMut(&ExportLine) -> Result<()>,
    ) -> Result<u64> {
        let sql = format!(
            "SELECT {MEMORY_COLUMNS} FROM memories
             WHERE deleted_at IS NULL AND (?1 IS NULL OR namespace = ?1)
             ORDER BY namespace, id"
        );
        let mut stmt = self.conn().prepare(&sql)?;
        let mut rows = stmt.query([namespace])?;
        let mut count = 0;
        while let Some(row) = rows.next()? {
            let memory = memory_from_row(row, true)?;
            let (created_at, updated_at) =
                importable_times(memory.created_at, memory.updated_at, now);
            let graph = self.asserted_graph(memory.memory_id, Extractor::Explicit)?;
            let (entities, relationships) = match graph {
                Some(g) => (Some(g.entities), Some(g.relationships)),
                None => (None, None),
            };
            let mut extracted = BTreeMap::new();
            for extractor in Extractor::LLM {
                if !self.extraction_is_current(memory.memory_id, extractor)? {
                    continue;
                }
                if let Some(graph) = self.asserted_graph(memory.memory_id, extractor)? {
                    extracted.insert(extractor.as_str().to_owned(), graph);
                }
            }
            emit(&ExportLine::Memory(ImportLine {
                name: memory.name,
                namespace: Some(memory.namespace),
                kind: Some(memory.kind),
                description: Some(memory.description),
                body: memory.body.unwrap_or_default(),
                metadata: Some(memory.metadata.to_value()),
                created_at: Some(created_at.to_string()),
                updated_at: Some(updated_at.to_string()),
                session: memory.session,
                entities,
                relationships,
                extracted: (!extracted.is_empty()).then_some(extracted),
            }))?;
            count += 1;
        }
        Ok(count)
    }
}

/// Returns a memory's creation and change times as an import at or after
/// `now` accepts them: within the years RFC 3339 can write, not later than
/// `now`, and created no later than changed. Earlier versions stored times
/// that break these rules; only such times are changed.
pub(crate) fn importable_times(
    created_at: Timestamp,
    updated_at: Timestamp,
    now: Timestamp,
) -> (Timestamp, Timestamp) {
    let updated_at = updated_at.clamp(Timestamp::EARLIEST, now);
    (
        created_at.clamp(Timestamp::EARLIEST, updated_at),
        updated_at,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_are_skipped_not_buffered() {
        let mut input = vec![b'x'; MAX_LINE_BYTES + 10];
        input.extend_from_slice(b"\nnext\r\n");
        let mut reader = io::BufReader::with_capacity(1024, &input[..]);
        let mut buf = Vec::new();
        assert!(matches!(
            read_line_capped(&mut reader, &mut buf).unwrap(),
            LineRead::TooLong
        ));
        assert!(matches!(
            read_line_capped(&mut reader, &mut buf).unwrap(),
            LineRead::Line
        ));
        assert_eq!(buf, b"next");
        assert!(matches!(
            read_line_capped(&mut reader, &mut buf).unwrap(),
            LineRead::End
        ));
    }

    #[test]
    fn a_transaction_past_its_deadline_stops_after_one_record() {
        let mut store = Store::open_in_memory().unwrap();
        let model = crate::embed::StaticModel::new();
        let now = Timestamp::now();
        let parsed: Vec<(u64, Parsed)> = ["a", "b", "c"]
            .iter()
            .zip(1..)
            .map(|(name, line)| {
                let text = format!("{{\"name\":\"{name}\",\"body\":\"x\"}}");
                (line, parse_record(text.as_bytes(), "global", now).unwrap())
            })
            .collect();
        let records = embed_parsed(&model, parsed).unwrap();
        let first = store
            .write(|tx| write_until(tx, &records, Instant::now(), &write_record))
            .unwrap();
        assert!(matches!(&first[..], [Written::Memory(o)] if o.action == Action::Created));
        let later = Instant::now() + Duration::from_secs(3600);
        let rest = store
            .write(|tx| write_until(tx, &records[1..], later, &write_record))
            .unwrap();
        assert_eq!(rest.len(), 2);
    }

    #[test]
    fn new_memories_inserted_together_keep_their_names_versions_and_index() {
        let mut store = Store::open_in_memory().unwrap();
        let model = crate::embed::StaticModel::new();
        let first = b"{\"name\":\"old\",\"body\":\"Atlas keeps data in SQLite.\"}\n";
        store
            .import(&model, &first[..], "global", 10, &mut |_| {})
            .unwrap();
        let input = b"{\"name\":\"a\",\"body\":\"Atlas retries on Tuesdays.\"}
{\"name\":\"b\",\"body\":\"Billing uses Redis.\",\"namespace\":\"other\"}
{\"name\":\"a\",\"body\":\"Atlas retries on Fridays.\"}
{\"name\":\"c\",\"body\":\"Caching is done by Redis.\"}
{\"name\":\"old\",\"body\":\"Atlas keeps data in SQLite.\"}
{\"name\":\"b\",\"body\":\"Billing uses Redis.\"}
";
        let report = store
            .import(&model, &input[..], "global", 10, &mut |_| {})
            .unwrap();
        assert_eq!(
            (report.imported, report.updated, report.unchanged),
            (4, 1, 1)
        );
        let rows: Vec<(String, String, i64, String)> = store
            .conn()
            .prepare("SELECT namespace, name, version, body FROM memories ORDER BY id")
            .unwrap()
            .query_map([], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
            })
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let shown: Vec<(&str, &str, i64, &str)> = rows
            .iter()
            .map(|(ns, name, v, body)| (ns.as_str(), name.as_str(), *v, body.as_str()))
            .collect();
        assert_eq!(
            shown,
            [
                ("global", "old", 1, "Atlas keeps data in SQLite."),
                ("global", "a", 2, "Atlas retries on Fridays."),
                ("other", "b", 1, "Billing uses Redis."),
                ("global", "c", 1, "Caching is done by Redis."),
                ("global", "b", 1, "Billing uses Redis."),
            ]
        );
        let versions: i64 = store
            .conn()
            .query_row("SELECT count(*) FROM memory_versions", [], |row| row.get(0))
            .unwrap();
        assert_eq!(versions, 6);
        store
            .conn()
            .execute_batch("INSERT INTO memories_fts (memories_fts) VALUES ('integrity-check')")
            .unwrap();
        let found: i64 = store
            .conn()
            .query_row(
                "SELECT count(*) FROM memories_fts WHERE memories_fts MATCH 'redis'",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(found, 3);
    }

    #[test]
    fn bad_lines_are_reported_and_good_ones_kept() {
        let mut store = Store::open_in_memory().unwrap();
        let input = b"{\"name\":\"a\",\"body\":\"x\"}\nnot json\n\n{\"name\":\"b c\",\"body\":\"x\"}\n{\"name\":\"a\",\"body\":\"y\"}\n\xff\n{\"name\":\"d\",\"body\":\"x\",\"metadata\":{\"k\":1,\"k\":2}}\n{\"name\":\"e\",\"body\":\"x\",\"created_at\":\"2999-01-01\"}\n";
        let model = crate::embed::StaticModel::new();
        let mut lines_done = 0;
        let report = store
            .import(&model, &input[..], "global", 2, &mut |lines| {
                lines_done += lines;
            })
            .unwrap();
        assert_eq!((report.imported, report.updated, report.failed), (1, 1, 5));
        assert_eq!(lines_done, 8, "every line counts as done, the bad ones too");
        let lines: Vec<u64> = report.errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [2, 4, 6, 7, 8]);
        assert!(report.errors[3].message.contains("duplicate key"));
        assert!(report.errors[4].message.contains("in the future"));
    }
}
