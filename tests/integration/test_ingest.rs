//! `ingest`: real trees of files become memories; re-ingesting changes
//! only what changed on disk.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;
use sqlite_graphrag::ingest::name::name_to_path;

use crate::common::{StartRetrying, TestEnv};

/// What one ingest printed: the per-file events and the summary.
struct Run {
    events: Vec<Value>,
    summary: Value,
}

impl Run {
    /// The paths of the events of kind `event`, sorted.
    fn paths(&self, event: &str) -> Vec<String> {
        let mut paths: Vec<String> = self
            .events
            .iter()
            .filter(|e| e["event"] == event)
            .map(|e| e["path"].as_str().unwrap().to_owned())
            .collect();
        paths.sort();
        paths
    }

    /// The event about `path`; fails unless there is exactly one.
    fn about(&self, path: &str) -> &Value {
        let found: Vec<&Value> = self.events.iter().filter(|e| e["path"] == path).collect();
        assert_eq!(found.len(), 1, "events about {path}: {:?}", self.events);
        found[0]
    }

    /// Why `path` was skipped.
    fn reason(&self, path: &str) -> &str {
        let event = self.about(path);
        assert_eq!(event["event"], "skipped", "{event}");
        event["reason"].as_str().unwrap()
    }
}

/// Runs `ingest` with `args`, expecting exit `code`.
fn ingest_with_code(env: &TestEnv, args: &[&str], code: i32) -> Run {
    let out = env.cmd().arg("ingest").args(args).output_retrying();
    parse_run(out, code)
}

/// Reads what an ingest printed, asserting it exited with `code`.
fn parse_run(out: std::process::Output, code: i32) -> Run {
    let stdout = String::from_utf8(out.stdout.clone()).unwrap();
    let mut events: Vec<Value> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    assert_eq!(out.status.code(), Some(code), "{out:?}");
    let summary = events.pop().expect("a summary line");
    assert_eq!(summary["event"], "summary", "{stdout}");
    Run { events, summary }
}

fn ingest(env: &TestEnv, args: &[&str]) -> Run {
    ingest_with_code(env, args, 0)
}

fn write(root: &Path, path: &str, bytes: impl AsRef<[u8]>) {
    let full = root.join(path);
    fs::create_dir_all(full.parent().unwrap()).unwrap();
    fs::write(full, bytes).unwrap();
}

/// A tree with an ignore file, hidden, binary, oversized, nested and
/// Unicode-named files.
fn tree(env: &TestEnv) -> PathBuf {
    let root = env.dir.path().join("tree");
    write(&root, ".gitignore", "ignored/\n*.log\n");
    write(
        &root,
        "alpha.md",
        "# Alpha\nThe alpha service stores zeppelin flight plans.\n",
    );
    write(&root, "sub/main.rs", "fn main() { println!(\"hi\"); }\n");
    write(&root, "sub/deep/été notes.txt", "Notes about the summer.\n");
    write(&root, "docs/guide.md", "A guide to the hangar.\n");
    write(&root, ".hidden/secret.md", "hidden text\n");
    write(&root, "ignored/skip.md", "ignored text\n");
    write(&root, "debug.log", "log text\n");
    write(&root, ".git/config", "[core]\n");
    write(&root, "image.bin", b"PNG\0\x01\x02");
    write(&root, "latin1.txt", b"caf\xe9\n");
    write(&root, "huge.txt", vec![b'a'; 1024 * 1024 + 1]);
    root
}

const TREE_FILES: [&str; 4] = [
    "alpha.md",
    "docs/guide.md",
    "sub/deep/été notes.txt",
    "sub/main.rs",
];

fn text(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// How memories record a folder: its resolved absolute path, without the
/// `\\?\` Windows puts before a resolved path.
fn root_label(folder: &Path) -> String {
    let resolved = fs::canonicalize(folder).unwrap();
    let resolved = text(&resolved);
    resolved
        .strip_prefix(r"\\?\")
        .unwrap_or(resolved)
        .to_owned()
}

fn versions(env: &TestEnv, name: &str) -> usize {
    env.ok(&["history", name])["versions"]
        .as_array()
        .unwrap()
        .len()
}

#[test]
fn ingest_creates_a_memory_per_text_file_and_skips_the_rest_with_reasons() {
    let env = TestEnv::new();
    let root = tree(&env);
    let run = ingest(&env, &[text(&root)]);
    assert_eq!(run.paths("created"), TREE_FILES);
    assert_eq!(run.reason("image.bin"), "binary");
    assert_eq!(run.reason("latin1.txt"), "not_utf8");
    assert_eq!(run.reason("huge.txt"), "too_large");
    assert_eq!(run.events.len(), 7, "{:?}", run.events);
    assert_eq!(run.summary["created"], 4);
    assert_eq!(run.summary["skipped"], 3);
    assert_eq!(run.summary["unreadable"], 0);
    let label = root_label(&root);
    for path in TREE_FILES {
        let event = run.about(path);
        assert_eq!(event["version"], 1);
        let name = event["name"].as_str().unwrap();
        assert_eq!(name_to_path(name).as_deref(), Some(path), "{name}");
        let memory = env.ok(&["read", name]);
        assert_eq!(memory["metadata"]["path"], path);
        assert_eq!(memory["metadata"]["root"], label);
        assert_eq!(memory["type"], "document");
        let body = fs::read_to_string(root.join(path)).unwrap();
        assert_eq!(memory["body"], body.as_str());
    }
    assert_eq!(
        run.about("sub/deep/été notes.txt")["name"],
        "sub/deep/@C3@A9t@C3@A9@20notes.txt"
    );
}

#[test]
fn reingesting_an_unchanged_tree_writes_nothing_and_a_change_writes_one_version() {
    let env = TestEnv::new();
    let root = tree(&env);
    ingest(&env, &[text(&root)]);
    let again = ingest(&env, &[text(&root)]);
    assert_eq!(again.paths("unchanged"), TREE_FILES);
    assert_eq!(again.summary["created"], 0);
    assert_eq!(again.summary["updated"], 0);
    for path in TREE_FILES {
        let name = again.about(path)["name"].as_str().unwrap().to_owned();
        assert_eq!(versions(&env, &name), 1, "{path}");
    }
    write(&root, "docs/guide.md", "A guide to the new hangar.\n");
    let changed = ingest(&env, &[text(&root)]);
    assert_eq!(changed.paths("updated"), ["docs/guide.md"]);
    assert_eq!(changed.about("docs/guide.md")["version"], 2);
    assert_eq!(changed.summary["unchanged"], 3);
    assert_eq!(versions(&env, "docs/guide.md"), 2);
    assert_eq!(
        env.ok(&["read", "docs/guide.md"])["body"],
        "A guide to the new hangar.\n"
    );
}

#[test]
fn a_deleted_file_is_reported_and_pruned_only_with_prune() {
    let env = TestEnv::new();
    let root = tree(&env);
    ingest(&env, &[text(&root)]);
    fs::remove_file(root.join("sub/main.rs")).unwrap();
    let reported = ingest(&env, &[text(&root)]);
    assert_eq!(reported.paths("deleted"), ["sub/main.rs"]);
    assert_eq!(reported.about("sub/main.rs")["name"], "sub/main.rs");
    env.ok(&["read", "sub/main.rs"]);

    let dry = ingest(&env, &[text(&root), "--prune", "--dry-run"]);
    assert_eq!(dry.paths("pruned"), ["sub/main.rs"]);
    env.ok(&["read", "sub/main.rs"]);

    let pruned = ingest(&env, &[text(&root), "--prune"]);
    assert_eq!(pruned.paths("pruned"), ["sub/main.rs"]);
    assert_eq!(pruned.about("sub/main.rs")["version"], 2);
    assert_eq!(pruned.summary["pruned"], 1);
    env.fails(&["read", "sub/main.rs"], 3);

    let after = ingest(&env, &[text(&root), "--prune"]);
    assert!(after.paths("pruned").is_empty());
    assert!(after.paths("deleted").is_empty());

    write(&root, "sub/main.rs", "fn main() {}\n");
    let back = ingest(&env, &[text(&root)]);
    assert_eq!(back.paths("updated"), ["sub/main.rs"]);
    assert_eq!(env.ok(&["read", "sub/main.rs"])["body"], "fn main() {}\n");
}

#[test]
fn a_file_left_out_by_a_glob_keeps_its_memory() {
    let env = TestEnv::new();
    let root = tree(&env);
    ingest(&env, &[text(&root)]);
    let only_md = ingest(&env, &[text(&root), "--glob", "*.md", "--prune"]);
    assert_eq!(only_md.paths("unchanged"), ["alpha.md", "docs/guide.md"]);
    assert_eq!(only_md.events.len(), 2, "{:?}", only_md.events);
    env.ok(&["read", "sub/main.rs"]);
}

#[test]
fn globs_and_excludes_select_files() {
    let env = TestEnv::new();
    let root = tree(&env);
    let run = ingest(
        &env,
        &[
            text(&root),
            "--glob",
            "*.md",
            "--glob",
            "*.rs",
            "--exclude",
            "docs/",
        ],
    );
    assert_eq!(run.paths("created"), ["alpha.md", "sub/main.rs"]);
    assert_eq!(run.events.len(), 2, "{:?}", run.events);
    let excluded = TestEnv::new();
    let root = tree(&excluded);
    let run = ingest(
        &excluded,
        &[text(&root), "--exclude", "sub", "--exclude", "*.bin"],
    );
    assert_eq!(run.paths("created"), ["alpha.md", "docs/guide.md"]);
    excluded.error(&["ingest", text(&root), "--glob", "a[b"], 5);
}

#[test]
fn hidden_and_ignored_files_are_taken_only_when_asked() {
    let env = TestEnv::new();
    let root = tree(&env);
    let run = ingest(&env, &[text(&root), "--hidden", "--glob", "*.md"]);
    assert_eq!(
        run.paths("created"),
        [".hidden/secret.md", "alpha.md", "docs/guide.md"]
    );
    assert_eq!(
        run.about(".hidden/secret.md")["name"],
        "p:.hidden/secret.md"
    );
    let run = ingest(
        &env,
        &[
            text(&root),
            "--no-ignore",
            "--glob",
            "*.md",
            "--glob",
            "*.log",
        ],
    );
    assert_eq!(run.paths("created"), ["debug.log", "ignored/skip.md"]);
    let everything = ingest(&env, &[text(&root), "--hidden", "--no-ignore", "--dry-run"]);
    assert!(
        everything
            .events
            .iter()
            .all(|e| !e["path"].as_str().unwrap().starts_with(".git/")),
        "{:?}",
        everything.events
    );
    assert_eq!(
        everything.paths("created"),
        [".gitignore", "sub/deep/été notes.txt", "sub/main.rs"]
    );
}

#[test]
fn a_dry_run_reports_and_writes_nothing() {
    let env = TestEnv::new();
    let root = tree(&env);
    let dry = ingest(&env, &[text(&root), "--dry-run"]);
    assert_eq!(dry.paths("created"), TREE_FILES);
    assert_eq!(dry.summary["dry_run"], true);
    assert!(!env.db.exists(), "a dry run created the database");
    ingest(&env, &[text(&root)]);
    write(&root, "alpha.md", "changed\n");
    let dry = ingest(&env, &[text(&root), "--dry-run"]);
    assert_eq!(dry.paths("updated"), ["alpha.md"]);
    assert_eq!(dry.about("alpha.md")["version"], 2);
    assert_eq!(versions(&env, "alpha.md"), 1);
}

#[test]
fn a_missing_path_fails_before_anything_is_written() {
    let env = TestEnv::new();
    let root = tree(&env);
    let missing = env.dir.path().join("nowhere");
    let err = env.error(&["ingest", text(&root), text(&missing)], 3);
    assert_eq!(err.kind, "not_found");
    assert!(!env.db.exists());
    env.error(&["ingest", text(&root), "--type", "bad type"], 5);
    env.fails(&["ingest", text(&root), "--max-file-size", "0"], 2);
    assert!(!env.db.exists());
}

#[test]
fn a_file_argument_is_named_relative_to_its_folder() {
    let env = TestEnv::new();
    let root = tree(&env);
    let file = root.join("sub/main.rs");
    let run = ingest(&env, &[text(&file), "--type", "code"]);
    assert_eq!(run.paths("created"), ["main.rs"]);
    let memory = env.ok(&["read", "main.rs"]);
    assert_eq!(memory["type"], "code");
    assert_eq!(memory["metadata"]["root"], root_label(&root.join("sub")));
    assert_eq!(memory["metadata"]["path"], "main.rs");
}

#[test]
fn a_file_argument_reports_no_deleted_siblings() {
    let env = TestEnv::new();
    let root = tree(&env);
    let folder = root.join("sub");
    ingest(&env, &[text(&folder)]);
    fs::remove_file(folder.join("deep/été notes.txt")).unwrap();
    let run = ingest(&env, &[text(&folder.join("main.rs")), "--prune"]);
    assert_eq!(run.paths("unchanged"), ["main.rs"]);
    assert_eq!(run.events.len(), 1, "{:?}", run.events);
    let run = ingest(&env, &[text(&folder), "--prune"]);
    assert_eq!(run.paths("pruned"), ["deep/été notes.txt"]);
}

#[test]
fn ingested_text_is_found_by_search_and_recall() {
    let env = TestEnv::new();
    let root = tree(&env);
    ingest(&env, &[text(&root)]);
    assert_eq!(env.search_names("zeppelin"), ["alpha.md"]);
    let recalled = env.ok(&["recall", "zeppelin flight plans", "-k", "1"]);
    assert_eq!(recalled["results"][0]["name"], "alpha.md");
}

#[test]
fn a_name_held_by_another_memory_is_not_overwritten() {
    let env = TestEnv::new();
    let root = tree(&env);
    env.remember("alpha.md", "my own note");
    let run = ingest(&env, &[text(&root)]);
    assert_eq!(run.reason("alpha.md"), "name_taken");
    assert_eq!(env.ok(&["read", "alpha.md"])["body"], "my own note");
    let other = env.dir.path().join("other");
    write(&other, "docs/guide.md", "another guide\n");
    let run = ingest(&env, &[text(&other)]);
    assert_eq!(run.reason("docs/guide.md"), "name_taken");
    assert_eq!(
        env.ok(&["read", "docs/guide.md"])["body"],
        "A guide to the hangar.\n"
    );
    let namespaced = ingest(&env, &["--namespace", "other", text(&other)]);
    assert_eq!(namespaced.paths("created"), ["docs/guide.md"]);
}

#[test]
fn a_path_too_long_for_a_name_is_skipped() {
    let env = TestEnv::new();
    let root = env.dir.path().join("long");
    let long = format!("{}/{}.md", "d".repeat(60), "f".repeat(70));
    write(&root, &long, "deep\n");
    write(&root, "ok.md", "fine\n");
    let run = ingest(&env, &[text(&root)]);
    assert_eq!(run.reason(&long), "name_too_long");
    assert_eq!(run.paths("created"), ["ok.md"]);
}

/// A command running the binary in `env` that cannot read files without
/// read permission: as it is, or for root (who reads any file) without
/// the capabilities that allow it, where util-linux's setpriv can drop
/// them; `None` if neither is possible here.
#[cfg(unix)]
fn without_read_override(env: &TestEnv, probe: &Path) -> Option<std::process::Command> {
    let plain = env.std_cmd();
    if fs::read(probe).is_err() {
        return Some(plain);
    }
    let setpriv = ["/usr/bin/setpriv", "/bin/setpriv"]
        .into_iter()
        .find(|p| Path::new(p).exists())?;
    let mut cmd = std::process::Command::new(setpriv);
    cmd.arg("--bounding-set=-dac_override,-dac_read_search")
        .arg(plain.get_program())
        .args(plain.get_args())
        .env_clear();
    for (key, value) in plain.get_envs() {
        if let Some(value) = value {
            cmd.env(key, value);
        }
    }
    Some(cmd)
}

#[cfg(unix)]
#[test]
fn unreadable_files_and_folders_make_the_run_partial_and_keep_their_memories() {
    use std::os::unix::fs::PermissionsExt;
    let env = TestEnv::new();
    let root = env.dir.path().join("locked");
    write(&root, "open.md", "open\n");
    write(&root, "closed.md", "closed\n");
    write(&root, "sealed/inside.md", "inside\n");
    ingest(&env, &[text(&root)]);
    write(&root, "closed.md", "closed, changed\n");
    let closed = root.join("closed.md");
    fs::set_permissions(&closed, fs::Permissions::from_mode(0o000)).unwrap();
    let sealed = root.join("sealed");
    fs::set_permissions(&sealed, fs::Permissions::from_mode(0o000)).unwrap();
    let Some(mut cmd) = without_read_override(&env, &closed) else {
        return;
    };
    let out = cmd
        .arg("ingest")
        .arg(text(&root))
        .arg("--prune")
        .output()
        .unwrap();
    fs::set_permissions(&sealed, fs::Permissions::from_mode(0o755)).unwrap();
    let run = parse_run(out, 12);
    assert_eq!(run.reason("closed.md"), "unreadable");
    assert_eq!(run.reason("sealed"), "unreadable");
    assert_eq!(run.paths("unchanged"), ["open.md"]);
    assert_eq!(run.summary["unreadable"], 2);
    assert_eq!(run.summary["pruned"], 0);
    assert_eq!(env.ok(&["read", "closed.md"])["body"], "closed\n");
    env.ok(&["read", "sealed/inside.md"]);
}

#[cfg(unix)]
#[test]
fn symbolic_links_are_reported_not_followed() {
    let env = TestEnv::new();
    let root = tree(&env);
    std::os::unix::fs::symlink(root.join("alpha.md"), root.join("link.md")).unwrap();
    std::os::unix::fs::symlink(root.join("docs"), root.join("docs-link")).unwrap();
    let run = ingest(
        &env,
        &[text(&root), "--glob", "*.md", "--glob", "docs-link"],
    );
    assert_eq!(run.reason("link.md"), "symlink");
    assert_eq!(run.reason("docs-link"), "symlink");
    assert_eq!(run.summary["created"], 2);
    assert_eq!(run.summary["skipped"], 2);
}

#[test]
fn a_tree_larger_than_a_batch_is_written_whole() {
    let env = TestEnv::new();
    let root = env.dir.path().join("many");
    for n in 0..600 {
        write(
            &root,
            &format!("d{}/f{n:03}.md", n % 7),
            format!("file {n}\n"),
        );
    }
    let run = ingest(&env, &[text(&root)]);
    assert_eq!(run.summary["created"], 600);
    assert_eq!(run.events.len(), 600);
    write(&root, "d3/f500.md", "changed\n");
    let again = ingest(&env, &[text(&root)]);
    assert_eq!(again.summary["unchanged"], 599);
    assert_eq!(again.paths("updated"), ["d3/f500.md"]);
    assert_eq!(env.ok(&["stats"])["memories"], 600);
}

#[test]
fn written_files_are_queued_for_the_llm_extractor_as_imports_are() {
    let env = TestEnv::new();
    let root = env.dir.path().join("queued");
    write(&root, "a.md", "Alice leads the Atlas project.\n");
    write(&root, "b.md", "Bob maintains the billing database.\n");
    let with_backend = |args: &[&str]| {
        let out = env
            .cmd()
            .env("SQLITE_GRAPHRAG_EXTRACT", "claude")
            .arg("ingest")
            .args(args)
            .output_retrying();
        parse_run(out, 0)
    };
    let queued = || env.ok(&["enrich", "status"])["queued"].as_u64().unwrap();
    with_backend(&[text(&root)]);
    assert_eq!(queued(), 2);
    let again = with_backend(&[text(&root)]);
    assert_eq!(again.summary["unchanged"], 2);
    assert_eq!(queued(), 2);
    write(
        &root,
        "b.md",
        "Bob maintains the billing database and its backups.\n",
    );
    with_backend(&[text(&root)]);
    let versions: Vec<(String, i64)> = {
        let conn = rusqlite::Connection::open(&env.db).unwrap();
        let mut stmt = conn
            .prepare(
                "SELECT m.name, j.version FROM enrich_jobs j
                 JOIN memories m ON m.id = j.memory_id ORDER BY m.name",
            )
            .unwrap();
        stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    };
    assert_eq!(versions, [("a.md".to_owned(), 1), ("b.md".to_owned(), 2)]);
}
