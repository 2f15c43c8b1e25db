//! The runner, tried on real processes.

use std::time::{Duration, Instant};

use super::*;
use crate::error::ErrorKind;

/// Generous bounds: nothing here should come near them.
const MIB: usize = 1024 * 1024;

fn captured(input: Option<Vec<u8>>, stdout_limit: usize, stderr_limit: usize) -> Capture {
    Capture {
        input,
        stdout_limit,
        stderr_limit,
    }
}

fn sh(script: &str) -> Job {
    Job::new("sh").args(["-c", script])
}

#[test]
fn megabytes_on_stdout_and_stderr_at_once_do_not_deadlock() {
    let job = sh("head -c 4000000 /dev/zero >&2 & head -c 4000000 /dev/zero; wait")
        .capture(captured(None, 8 * MIB, 8 * MIB));
    let done = run(&job).unwrap();
    assert_eq!(done.end, End::Exited(0));
    assert_eq!(done.stdout.bytes.len(), 4_000_000);
    assert_eq!(done.stderr.bytes.len(), 4_000_000);
    assert!(!done.stdout.truncated && !done.stderr.truncated);
}

#[test]
fn stdin_bytes_come_back_through_cat() {
    let input: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let job = Job::new("cat").capture(captured(Some(input.clone()), 4 * MIB, MIB));
    let done = run(&job).unwrap();
    assert_eq!(done.end, End::Exited(0));
    assert!(done.stdout.bytes == input, "cat gave back other bytes");
}

#[test]
fn a_command_that_never_reads_its_input_still_finishes() {
    let job = sh("exit 4").capture(captured(Some(vec![b'x'; 8 * MIB]), MIB, MIB));
    assert_eq!(run(&job).unwrap().end, End::Exited(4));
}

#[test]
fn stdout_past_its_bound_stops_the_run() {
    let job = Job::new("yes").capture(captured(None, 100_000, MIB));
    let done = run(&job).unwrap();
    assert_eq!(done.end, End::StdoutOverflow);
    assert_eq!(done.stdout.bytes.len(), 100_000);
    assert!(done.stdout.truncated);
    assert!(done.stdout.bytes.starts_with(b"y\ny\n"));
}

#[test]
fn a_rejected_first_line_stops_the_run_long_before_it_ends() {
    let check = StdoutCheck::new(|bytes| bytes.starts_with(b"bad\n"));
    let job = sh("echo bad; exec sleep 60")
        .capture(captured(None, MIB, MIB))
        .check_stdout(check);
    let started = Instant::now();
    let done = run(&job).unwrap();
    assert_eq!(done.end, End::Rejected);
    assert_eq!(done.stdout.bytes, b"bad\n");
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[test]
fn accepted_output_runs_to_its_end() {
    let check = StdoutCheck::new(|bytes| bytes.starts_with(b"bad"));
    let job = sh("echo good; echo bad")
        .capture(captured(None, MIB, MIB))
        .check_stdout(check);
    assert_eq!(run(&job).unwrap().end, End::Exited(0));
}

#[test]
fn stderr_past_its_bound_is_truncated_and_drained() {
    let job = sh("head -c 3000000 /dev/zero >&2; echo done").capture(captured(None, MIB, 1000));
    let done = run(&job).unwrap();
    assert_eq!(done.end, End::Exited(0));
    assert_eq!(done.stdout.bytes, b"done\n");
    assert_eq!(done.stderr.bytes.len(), 1000);
    assert!(done.stderr.truncated);
}

#[cfg(target_os = "linux")]
#[test]
fn a_timeout_kills_the_whole_process_group() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("grandchild.pid");
    let script = format!("sleep 30 & echo $! > '{}'; sleep 30", pid_file.display());
    let started = Instant::now();
    let job = sh(&script).timeout(Some(Duration::from_millis(300)));
    let done = run(&job).unwrap();
    assert_eq!(done.end, End::TimedOut);
    assert!(started.elapsed() < Duration::from_secs(20));
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    let gone = || match std::fs::read_to_string(format!("/proc/{}/stat", pid.trim())) {
        Err(_) => true,
        // A reaped-later zombie is dead too (pid 1 of a container may not reap).
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .unwrap()
            .trim_start()
            .starts_with('Z'),
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while !gone() {
        assert!(
            Instant::now() < deadline,
            "the grandchild survived the timeout"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn captured_runs_end_when_the_command_exits_even_if_a_straggler_holds_the_pipes() {
    let started = Instant::now();
    let job = sh("sleep 30 & echo parent").capture(captured(None, MIB, MIB));
    let done = run(&job).unwrap();
    assert_eq!(done.end, End::Exited(0));
    assert_eq!(done.stdout.bytes, b"parent\n");
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[test]
fn only_essential_and_named_variables_pass_with_essentials() {
    let environment = Environment::Essentials {
        extra: vec!["GRAPHRAG_NAMED".into()],
    };
    assert!(environment.keeps("PATH".as_ref()));
    assert!(environment.keeps("LC_ALL".as_ref()));
    assert!(environment.keeps("GRAPHRAG_NAMED".as_ref()));
    assert!(!environment.keeps("ANTHROPIC_API_KEY".as_ref()));
    assert!(!environment.keeps("CARGO_MANIFEST_DIR".as_ref()));
    assert!(Environment::Inherit.keeps("ANTHROPIC_API_KEY".as_ref()));

    let job = Job::new("env")
        .environment(environment.clone())
        .env("GRAPHRAG_SET", "yes")
        .capture(captured(None, MIB, MIB));
    let done = run(&job).unwrap();
    let text = String::from_utf8(done.stdout.bytes).unwrap();
    for line in text.lines() {
        let name = line.split('=').next().unwrap();
        assert!(
            environment.keeps(name.as_ref()) || name == "GRAPHRAG_SET",
            "{name} leaked into the command's environment"
        );
    }
    assert!(text.lines().any(|l| l == "GRAPHRAG_SET=yes"), "{text}");
    assert!(text.lines().any(|l| l.starts_with("PATH=")), "{text}");
}

#[test]
fn the_command_runs_in_the_folder_given() {
    let dir = tempfile::tempdir().unwrap();
    let job = Job::new("pwd")
        .current_dir(dir.path())
        .capture(captured(None, MIB, MIB));
    let done = run(&job).unwrap();
    let shown = String::from_utf8(done.stdout.bytes).unwrap();
    assert_eq!(
        std::fs::canonicalize(shown.trim()).unwrap(),
        std::fs::canonicalize(dir.path()).unwrap()
    );
}

#[test]
fn a_missing_command_is_not_found() {
    let err = run(&Job::new("no-such-command-anywhere")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CommandNotFound);
}

/// Set in the process that plays [`interrupt_scenario`].
const SCENARIO_VAR: &str = "GRAPHRAG_RUNNER_INTERRUPT_SCENARIO";

#[test]
fn a_run_after_an_interrupted_run_is_not_interrupted() {
    // The scenario sends SIGINT to its own process, so it gets one of its own.
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "process::tests::interrupt_scenario",
            "--nocapture",
        ])
        .env(SCENARIO_VAR, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Played only in the process started by
/// [`a_run_after_an_interrupted_run_is_not_interrupted`].
#[test]
fn interrupt_scenario() {
    if std::env::var_os(SCENARIO_VAR).is_none() {
        return;
    }
    let first = run(&sh("kill -INT $PPID; exec sleep 30")).unwrap();
    assert_eq!(first.end, End::Interrupted(signal_hook::consts::SIGINT));
    let second = run(&sh("sleep 0.3; exit 3")).unwrap();
    assert_eq!(
        second.end,
        End::Exited(3),
        "the old interrupt doomed a new run"
    );
}
