//! `import`'s progress line: drawn on a terminal, lines done out of the
//! file's lines; nothing into a pipe unless `--progress always`.

use std::path::PathBuf;
use std::process::{Output, Stdio};

use crate::common::{TestEnv, run_on_terminal};

/// Four memories and a blank line: five lines.
const INPUT: &str = "{\"name\":\"a\",\"body\":\"Atlas keeps data in SQLite.\"}\n\
                     {\"name\":\"b\",\"body\":\"Billing retries on Tuesdays.\"}\n\
                     \n\
                     {\"name\":\"c\",\"body\":\"Caching is done by Redis.\"}\n\
                     {\"name\":\"d\",\"body\":\"Deploys go through Atlas.\"}\n";

/// Writes [`INPUT`] to a file of the test's folder and returns its path.
fn input_file(env: &TestEnv) -> PathBuf {
    let path = env.dir.path().join("memories.jsonl");
    std::fs::write(&path, INPUT).unwrap();
    path
}

/// Runs the binary with `args` and stderr on a pseudo-terminal; returns
/// the output and what the terminal showed.
fn on_terminal(env: &TestEnv, args: &[&str]) -> (Output, String) {
    let mut cmd = env.std_cmd();
    cmd.env("TERM", "xterm").args(args).stdin(Stdio::null());
    run_on_terminal(cmd, false)
}

/// The number of memories the report on `out`'s stdout counts as imported.
fn imported(out: &Output) -> u64 {
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not one JSON document ({e}): {out:?}"));
    report["imported"].as_u64().unwrap()
}

#[test]
fn a_terminal_sees_the_lines_of_the_file_done_and_the_line_erased() {
    let env = TestEnv::new();
    let file = input_file(&env);
    let (out, shown) = on_terminal(&env, &["import", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{shown:?}");
    assert_eq!(imported(&out), 4);
    assert!(shown.contains("import 5/5 100%"), "{shown:?}");
    assert!(
        shown.ends_with("\r\u{1b}[2K"),
        "the line is erased at the end: {shown:?}"
    );

    let (out, shown) = on_terminal(&env, &["-q", "import", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(shown, "", "-q hides it");
    let (out, shown) = on_terminal(
        &env,
        &["--progress", "never", "import", file.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(shown, "", "--progress never hides it");
}

#[test]
fn a_pipe_sees_no_line_unless_asked_for_one() {
    let env = TestEnv::new();
    let file = input_file(&env);
    let out = env
        .cmd()
        .args(["import", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(imported(&out), 4);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "",
        "a pipe gets no progress"
    );

    let out = env
        .cmd()
        .args(["--progress", "always", "import", file.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr
            .lines()
            .last()
            .is_some_and(|l| l.starts_with("import 5/5 100%")),
        "--progress always writes lines into a pipe: {stderr}"
    );

    let out = env
        .cmd()
        .args(["--progress", "always", "import", "-"])
        .write_stdin(INPUT)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("import 5 ") && !last.contains('%'),
        "standard input has no known total: {stderr}"
    );
}
