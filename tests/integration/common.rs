//! A test environment: a private folder, a database path, and a way to run the binary.

/// Declares an ignored test that says why it cannot run on this platform;
/// put `#[cfg(...)]` on the invocation for the platforms that lack what the
/// real test of the same name needs.
// Each platform skips a different set of tests, and Linux skips none.
#[allow(unused_macros)]
macro_rules! skipped_here {
    ($name:ident, $reason:literal) => {
        #[test]
        #[ignore = $reason]
        fn $name() {}
    };
}

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tempfile::TempDir;

/// A memory as `read` prints it (and `list` without `body`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Memory {
    pub memory_id: i64,
    pub namespace: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub description: String,
    pub body: Option<String>,
    pub metadata: Value,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
    pub deleted_at: Option<String>,
    pub session: Option<String>,
}

/// An entity as `read` shows it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntitySummary {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
}

/// What `read` prints: a memory and the entities it mentions. The memory's
/// own fields are checked strictly by [`Memory`].
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ReadMemory {
    #[serde(flatten)]
    pub memory: Memory,
    pub entities: Vec<EntitySummary>,
}

/// What `list` prints.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemoryList {
    pub items: Vec<Memory>,
    pub total: u64,
    pub more: bool,
}

/// What `read` prints for two names or more.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadMany {
    pub memories: Vec<ReadMemory>,
    pub missing: Vec<String>,
}

/// What a write (`remember`, `edit`, `rename`, `forget`, `restore`) prints.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outcome {
    pub memory_id: i64,
    pub name: String,
    pub namespace: String,
    pub version: i64,
    pub action: String,
}

/// One version in what `history` prints.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Version {
    pub version: i64,
    pub action: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub description: String,
    pub body: String,
    pub metadata: Value,
    pub deleted: bool,
    pub recorded_at: String,
}

/// What `history` prints.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct History {
    pub memory_id: i64,
    pub name: String,
    pub namespace: String,
    pub versions: Vec<Version>,
}

/// Where a search result ranked in each list it came from.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchInfo {
    pub fts_rank: Option<u64>,
    pub fts_score: Option<f64>,
    pub vector_rank: Option<u64>,
    pub vector_score: Option<f64>,
    pub graph_rank: Option<u64>,
    pub graph_score: Option<f64>,
    pub via: Option<GraphVia>,
}

/// How the graph reached a search result.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GraphVia {
    pub memory: Option<String>,
    #[serde(default)]
    pub session: Option<String>,
    #[serde(default)]
    pub entities: Vec<GraphStep>,
}

/// One entity of a graph path.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GraphStep {
    pub entity: String,
    pub relation: Option<String>,
    pub direction: Option<String>,
}

/// One result of `search`, `recall` or `hybrid-search`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchResult {
    pub memory_id: i64,
    pub name: String,
    pub namespace: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub description: String,
    pub created_at: String,
    pub score: f64,
    pub snippet: String,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub excerpt: Option<String>,
    #[serde(rename = "match")]
    pub matched: MatchInfo,
}

/// What `search`, `recall` and `hybrid-search` print.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchResults {
    pub results: Vec<SearchResult>,
}

/// One sub-question in what `deep-research` prints.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubQuestion {
    pub index: usize,
    pub text: String,
    pub source: String,
}

/// A backend failure `deep-research` fell back from.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitterError {
    pub kind: String,
    pub message: String,
}

/// How `deep-research` split its question.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Splitter {
    pub kind: String,
    #[serde(default)]
    pub error: Option<SplitterError>,
}

/// Where one sub-question's search placed a `deep-research` result.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    pub sub_question: usize,
    pub rank: u64,
    #[serde(default)]
    pub via: Option<GraphVia>,
}

/// One result of `deep-research`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Finding {
    pub memory_id: i64,
    pub name: String,
    pub namespace: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub description: String,
    pub created_at: String,
    pub score: f64,
    pub snippet: String,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub excerpt: Option<String>,
    pub evidence: Vec<Evidence>,
}

/// What `deep-research` prints.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Research {
    pub question: String,
    pub sub_questions: Vec<SubQuestion>,
    pub splitter: Splitter,
    pub results: Vec<Finding>,
}

/// A line `import` rejected.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportError {
    pub line: u64,
    pub message: String,
}

/// What `import` prints.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportReport {
    pub imported: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub graph_lines: u64,
    pub failed: u64,
    pub errors: Vec<ImportError>,
}

/// What `init` prints.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InitReport {
    pub db: String,
    pub created: bool,
    pub schema_version: u32,
    pub latest_schema_version: u32,
}

/// One namespace's counts, in `namespaces` and `stats`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamespaceStats {
    pub namespace: String,
    pub memories: u64,
    pub forgotten: u64,
    pub versions: u64,
    pub origin: Option<NamespaceOrigin>,
}

/// Where an auto-derived namespace's name came from.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamespaceOrigin {
    pub source: String,
    pub detail: String,
}

/// What `namespaces` prints.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamespaceList {
    pub namespaces: Vec<NamespaceStats>,
}

/// What `stats` prints.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stats {
    pub db: String,
    pub db_size_bytes: u64,
    pub schema_version: u32,
    pub memories: u64,
    pub forgotten: u64,
    pub versions: u64,
    pub namespaces: Vec<NamespaceStats>,
    pub embedding_cache: CacheSize,
    pub reindex_under_way: Option<MoveUnderWay>,
}

/// The size of the embedding cache, in `stats`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheSize {
    pub vectors: u64,
    pub bytes: u64,
}

/// A move to another embedding space under way, in `stats`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MoveUnderWay {
    pub model: String,
    pub waiting: u64,
}

/// The error inside the envelope a failed command prints.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorBody {
    pub kind: String,
    pub message: String,
    pub hint: Option<String>,
}

/// What a failed command prints on stdout.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
}

/// What `health` prints.
// Deserialised only to check the shape of the output.
#[allow(dead_code)]
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Health {
    pub ok: bool,
    pub integrity: Vec<String>,
    pub fts_consistent: bool,
    pub fts_rows: i64,
    pub live_memories: i64,
    pub schema_current: bool,
    pub graph_problems: Vec<Value>,
    pub vector_problems: Vec<Value>,
}

/// What `backup` prints.
// Deserialised only to check the shape of the output.
#[allow(dead_code)]
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupReport {
    pub db: String,
    pub output: String,
    pub bytes: u64,
}

/// What `restore-backup` prints.
// Deserialised only to check the shape of the output.
#[allow(dead_code)]
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestoreReport {
    pub db: String,
    pub from: String,
    pub backup_schema_version: u32,
    pub schema_version: u32,
}

/// What `vacuum` prints.
// Deserialised only to check the shape of the output.
#[allow(dead_code)]
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VacuumReport {
    pub db: String,
    pub bytes_before: u64,
    pub bytes_after: u64,
}

/// What `optimize` prints.
// Deserialised only to check the shape of the output.
#[allow(dead_code)]
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptimizeReport {
    pub db: String,
    pub fts_merged: Vec<String>,
    pub analyzed: u64,
    pub checkpointed: bool,
}

/// What `man --output-dir` prints.
#[cfg(unix)]
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManPages {
    pub written: Vec<String>,
}

/// What `purge` prints.
// Deserialised only to check the shape of the output.
#[allow(dead_code)]
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PurgeReport {
    pub namespace: String,
    pub purged: u64,
    pub cache_pruned: u64,
    pub compacted: u64,
}

/// An embedding space: a model and its dimension.
// Deserialised only to check the shape of the output.
#[allow(dead_code)]
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Space {
    pub model: String,
    pub dim: u32,
}

/// What `reindex` prints.
// Deserialised only to check the shape of the output.
#[allow(dead_code)]
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReindexReport {
    pub previous_space: Option<Space>,
    pub space: Space,
    pub moved: bool,
    pub resumed: bool,
    pub memories: u64,
    pub chunks: u64,
    pub compacted: u64,
}

/// One slot in `slots status`.
// Deserialised only to check the shape of the output.
#[allow(dead_code)]
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlotState {
    pub slot: u32,
    pub held: bool,
    pub pid: Option<u32>,
    pub command: Option<Vec<String>>,
    pub held_for_ms: Option<i64>,
    pub alive: Option<bool>,
    pub pid_namespace: Option<String>,
}

/// What `slots status` prints.
// Deserialised only to check the shape of the output.
#[allow(dead_code)]
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolStatus {
    pub pool: String,
    pub dir: String,
    pub max: u32,
    pub held: u32,
    pub free: u32,
    pub slots: Vec<SlotState>,
}

/// What `slots resize` prints.
// Deserialised only to check the shape of the output.
#[allow(dead_code)]
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resized {
    pub pool: String,
    pub dir: String,
    pub max: u32,
}

/// The binary under test: `SQLITE_GRAPHRAG_TEST_BIN` if set (to test a
/// release or cross-compiled build), else the one cargo just built. When the
/// path cargo compiled in cannot be seen (a cross-compiled test run under
/// wine sees the file system through drive letters), it is found beside
/// this test binary instead: target/<profile>/deps/.. holds it.
pub fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("SQLITE_GRAPHRAG_TEST_BIN") {
        return PathBuf::from(path);
    }
    let built = PathBuf::from(env!("CARGO_BIN_EXE_sqlite-graphrag"));
    if built.exists() {
        return built;
    }
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(Path::parent).unwrap();
    profile_dir.join(built.file_name().unwrap())
}

/// A command that succeeds at once on every platform (Windows has no
/// `true`): this binary printing its version.
pub fn quick_command() -> [String; 2] {
    [binary().display().to_string(), "--version".to_owned()]
}

/// A private folder with a database path inside it.
pub struct TestEnv {
    pub dir: TempDir,
    pub db: PathBuf,
}

impl TestEnv {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("memory.sqlite");
        TestEnv { dir, db }
    }

    /// A command for the binary, with the environment stripped of this
    /// program's variables and pointed at this test's folder.
    pub fn cmd(&self) -> Command {
        Command::from_std(self.std_cmd())
    }

    /// The same as [`TestEnv::cmd`], as a std command that can be spawned.
    pub fn std_cmd(&self) -> std::process::Command {
        let mut cmd = bare_cmd(self.dir.path());
        cmd.arg("--db").arg(&self.db);
        cmd
    }

    /// Runs the binary with `args` and returns its JSON output, asserting success.
    pub fn ok(&self, args: &[&str]) -> Value {
        let output = self.cmd().args(args).output_retrying();
        parse_success(args, &output)
    }

    /// Runs the binary with `args`, asserting success, and returns its output
    /// as `T`: every field present, no field unknown.
    pub fn ok_as<T: DeserializeOwned>(&self, args: &[&str]) -> T {
        typed(args, self.ok(args))
    }

    /// Runs with `stdin` fed in and returns the JSON output, asserting success.
    pub fn ok_stdin(&self, args: &[&str], stdin: impl Into<Vec<u8>>) -> Value {
        let output = self.cmd().args(args).write_stdin(stdin).output_retrying();
        parse_success(args, &output)
    }

    /// Runs the binary expecting failure with `code`; returns the error object.
    pub fn fails(&self, args: &[&str], code: i32) -> Value {
        let output = self.cmd().args(args).output_retrying();
        parse_failure(args, &output, code)
    }

    /// Runs the binary expecting failure with `code`; returns the error.
    pub fn error(&self, args: &[&str], code: i32) -> ErrorBody {
        typed(args, self.fails(args, code))
    }

    /// Like [`TestEnv::fails`], with `stdin` fed in.
    pub fn fails_stdin(&self, args: &[&str], stdin: impl Into<Vec<u8>>, code: i32) -> Value {
        let output = self.cmd().args(args).write_stdin(stdin).output_retrying();
        parse_failure(args, &output, code)
    }

    /// The rows `sql` reads from the database file directly, each as a
    /// tuple of its columns.
    pub fn rows<T>(&self, sql: &str) -> Vec<T>
    where
        T: for<'r> TryFrom<&'r rusqlite::Row<'r>, Error = rusqlite::Error>,
    {
        let conn = rusqlite::Connection::open(&self.db).unwrap();
        let mut stmt = conn.prepare(sql).unwrap();
        stmt.query_map([], |row| T::try_from(row))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    /// Changes the database behind the program's back (to simulate damage,
    /// an old or a newer schema).
    pub fn tamper(&self, sql: &str) {
        let conn = rusqlite::Connection::open(&self.db).unwrap();
        conn.execute_batch(sql).unwrap();
    }

    /// Runs `import -` with `args` and `input` and returns its report,
    /// asserting exit 0 when no line fails and exit 12 (`partial`) when
    /// some do.
    pub fn import_report(&self, args: &[&str], input: impl Into<Vec<u8>>) -> ImportReport {
        let out = self
            .cmd()
            .args(["import", "-"])
            .args(args)
            .write_stdin(input)
            .output()
            .unwrap();
        let report: ImportReport = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("not an import report ({e}): {out:?}"));
        let expected = if report.failed == 0 { 0 } else { 12 };
        assert_eq!(out.status.code(), Some(expected), "{report:?}");
        report
    }

    /// The export of every namespace, asserting success.
    pub fn export_all(&self) -> String {
        let out = self
            .cmd()
            .args(["export", "--all-namespaces"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    }

    /// Stores a memory with the given body.
    pub fn remember(&self, name: &str, body: &str) -> Value {
        self.ok(&["remember", "--name", name, "--body", body])
    }

    /// Returns the names `search` finds for `query`, sorted.
    pub fn search_names(&self, query: &str) -> Vec<String> {
        let out = self.ok(&["search", query, "-k", "1000"]);
        let mut names: Vec<String> = out["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        names
    }
}

/// Polls `ready` every few milliseconds; fails with `what` after `secs` seconds.
pub fn wait_until(secs: u64, what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while !ready() {
        assert!(std::time::Instant::now() < deadline, "{what}");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// How often starting a process is tried. Under wine, process creation
/// sometimes fails for a moment when many start at once (error 1359); that
/// is the emulator, not the program under test.
const SPAWN_ATTEMPTS: u64 = 5;

/// Tries `start` up to [`SPAWN_ATTEMPTS`] times, pausing between attempts.
fn retrying<T>(mut start: impl FnMut() -> std::io::Result<T>) -> T {
    for attempt in 1..SPAWN_ATTEMPTS {
        match start() {
            Ok(value) => return value,
            Err(e) => eprintln!("starting a process failed ({e}); retrying"),
        }
        std::thread::sleep(std::time::Duration::from_millis(100 * attempt));
    }
    start().expect("cannot start a process")
}

/// Starting processes, retrying only when the process cannot be started.
pub trait StartRetrying {
    /// Runs to completion and returns the output.
    fn output_retrying(&mut self) -> Output;
}

/// Starting a process in the background, retrying only when it cannot be started.
pub trait SpawnRetrying {
    /// Starts the process.
    fn spawn_retrying(&mut self) -> std::process::Child;
}

impl SpawnRetrying for std::process::Command {
    fn spawn_retrying(&mut self) -> std::process::Child {
        retrying(|| self.spawn())
    }
}

impl StartRetrying for Command {
    fn output_retrying(&mut self) -> Output {
        retrying(|| self.output())
    }
}

impl StartRetrying for std::process::Command {
    fn output_retrying(&mut self) -> Output {
        retrying(|| self.output())
    }
}

/// Variables kept from the environment of `cargo test`: what finding
/// programs and running them needs. Everything else is cleared, so a
/// configuration, a database or a runtime dir of the person running the
/// tests (`XDG_CONFIG_HOME`, `SQLITE_GRAPHRAG_*`, …) never leaks in.
const KEPT_VARS: [&str; 3] = [
    "PATH",
    // Windows (and wine) cannot start processes without these.
    "SYSTEMROOT",
    "WINDIR",
];

/// A command for the binary without `--db`, with an empty environment but
/// for [`KEPT_VARS`], and every per-user folder (home, data, config,
/// temporary) pointed at `dir`.
pub fn bare_cmd(dir: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(binary());
    cmd.env_clear();
    for var in KEPT_VARS {
        if let Some(value) = std::env::var_os(var) {
            cmd.env(var, value);
        }
    }
    for var in ["HOME", "APPDATA", "LOCALAPPDATA", "TMPDIR", "TEMP", "TMP"] {
        cmd.env(var, dir);
    }
    cmd
}

fn stdout_json(args: &[&str], output: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "{args:?}: stdout is not one JSON document ({e}):\n{stdout}\nstderr:\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

fn parse_success(args: &[&str], output: &Output) -> Value {
    assert!(
        output.status.success(),
        "{args:?} failed with {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let json = stdout_json(args, output);
    check_shape(args, &json);
    json
}

/// Checks the output of a verb whose shape is known against its strict
/// struct, so that every test that runs it checks its shape too.
fn check_shape(args: &[&str], json: &Value) {
    // The verb is the first word that is neither an option nor the value of
    // a global option that takes one.
    let mut words = args.iter().copied();
    let mut verb = None;
    while let Some(word) = words.next() {
        if ["--db", "--namespace", "--runtime-dir", "--config"].contains(&word) {
            words.next();
        } else if !word.starts_with('-') {
            verb = Some(word);
            break;
        }
    }
    let Some(verb) = verb else {
        return;
    };
    match verb {
        "read" if json.get("memories").is_some() => drop(typed::<ReadMany>(args, json.clone())),
        "read" => drop(typed::<ReadMemory>(args, json.clone())),
        "list" => drop(typed::<MemoryList>(args, json.clone())),
        "remember" | "edit" | "rename" | "forget" | "restore" => {
            drop(typed::<Outcome>(args, json.clone()))
        }
        "history" => drop(typed::<History>(args, json.clone())),
        "search" | "recall" | "hybrid-search" => drop(typed::<SearchResults>(args, json.clone())),
        "deep-research" => drop(typed::<Research>(args, json.clone())),
        "import" => drop(typed::<ImportReport>(args, json.clone())),
        "init" => drop(typed::<InitReport>(args, json.clone())),
        "namespaces" => drop(typed::<NamespaceList>(args, json.clone())),
        "stats" => drop(typed::<Stats>(args, json.clone())),
        "health" => drop(typed::<Health>(args, json.clone())),
        "purge" => drop(typed::<PurgeReport>(args, json.clone())),
        "reindex" => drop(typed::<ReindexReport>(args, json.clone())),
        "backup" => drop(typed::<BackupReport>(args, json.clone())),
        "restore-backup" => drop(typed::<RestoreReport>(args, json.clone())),
        "vacuum" => drop(typed::<VacuumReport>(args, json.clone())),
        "optimize" => drop(typed::<OptimizeReport>(args, json.clone())),
        "slots" => match args.iter().filter(|a| !a.starts_with('-')).nth(1) {
            Some(&"status") => drop(typed::<PoolStatus>(args, json.clone())),
            Some(&"resize") => drop(typed::<Resized>(args, json.clone())),
            _ => {}
        },
        _ => {}
    }
}

/// Reads `json`, the output of `args`, as `T`, failing the test on any
/// missing or unknown field.
pub fn typed<T: DeserializeOwned>(args: &[&str], json: Value) -> T {
    serde_json::from_value(json.clone())
        .unwrap_or_else(|e| panic!("{args:?}: unexpected output shape ({e}):\n{json}"))
}

fn parse_failure(args: &[&str], output: &Output, code: i32) -> Value {
    let json = stdout_json(args, output);
    assert_eq!(
        output.status.code(),
        Some(code),
        "{args:?}: wrong exit code; stdout {json}; stderr {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let envelope: ErrorEnvelope = typed(args, json.clone());
    assert!(!envelope.error.message.is_empty(), "{json}");
    json["error"].clone()
}

/// Runs `cmd` with stderr (and stdout too, with `stdout_too`; else piped)
/// on a pseudo-terminal; returns the output (empty where it went to the
/// terminal) and what the terminal showed.
#[cfg(unix)]
pub fn run_on_terminal(mut cmd: std::process::Command, stdout_too: bool) -> (Output, String) {
    use std::io::Read;
    use std::os::fd::AsFd;

    use rustix::fs::{Mode, OFlags};

    let flags = rustix::pty::OpenptFlags::RDWR | rustix::pty::OpenptFlags::NOCTTY;
    let master = rustix::pty::openpt(flags).unwrap();
    rustix::pty::grantpt(&master).unwrap();
    rustix::pty::unlockpt(&master).unwrap();
    let name = rustix::pty::ptsname(&master, Vec::new()).unwrap();
    let flags = OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC;
    let terminal = rustix::fs::open(name.as_c_str(), flags, Mode::empty()).unwrap();
    cmd.stdout(std::process::Stdio::piped())
        .stderr(terminal.as_fd().try_clone_to_owned().unwrap());
    if stdout_too {
        cmd.stdout(terminal.as_fd().try_clone_to_owned().unwrap());
    }
    let child = cmd.spawn().unwrap();
    drop(cmd);
    drop(terminal);
    let mut master = std::fs::File::from(master);
    let reader = std::thread::spawn(move || {
        let mut seen = Vec::new();
        let mut chunk = [0u8; 4096];
        while let Ok(n) = master.read(&mut chunk) {
            if n == 0 {
                break;
            }
            seen.extend_from_slice(&chunk[..n]);
        }
        String::from_utf8_lossy(&seen).into_owned()
    });
    let out = child.wait_with_output().unwrap();
    (out, reader.join().unwrap())
}

/// A process of the binary holding the one slot of a pool until released.
#[cfg(unix)]
pub struct SlotHolder {
    gate: PathBuf,
    child: std::process::Child,
}

#[cfg(unix)]
impl SlotHolder {
    /// Holds the only slot of `pool` with a command from `binary` (the
    /// binary set up for the test), and returns once `slots status` shows
    /// it held. The gate file it waits for goes in `dir`.
    pub fn hold(mut binary: impl FnMut() -> std::process::Command, pool: &str, dir: &Path) -> Self {
        let gate = dir.join("release");
        let child = binary()
            .args(["slots", "exec", "--pool", pool, "--max", "1", "--"])
            .args([
                "sh",
                "-c",
                "while [ ! -e \"$1\" ]; do sleep 0.05; done",
                "sh",
            ])
            .arg(&gate)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        wait_until(60, "the slot to be held", || {
            let out = binary()
                .args(["slots", "status", "--pool", pool])
                .output()
                .unwrap();
            serde_json::from_slice::<Value>(&out.stdout).is_ok_and(|status| status["held"] == 1)
        });
        SlotHolder { gate, child }
    }

    /// Lets the holder end, and waits for it.
    pub fn release(mut self) {
        std::fs::write(&self.gate, "").unwrap();
        self.child.wait().unwrap();
    }
}
