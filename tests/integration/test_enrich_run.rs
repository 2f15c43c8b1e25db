//! `enrich` against the fake tools: queued memories are extracted, each
//! settled job is one JSON line, a summary ends the output; parallel
//! workers in many processes never run more tools than the pool has slots.

use serde_json::{Value, json};

use crate::common::{SlotHolder, wait_until};
use crate::test_llm::Llm;

const QUEUE_FOR_CLAUDE: &[(&str, &str)] = &[("SQLITE_GRAPHRAG_EXTRACT", "claude")];

fn reply() -> Value {
    json!({
        "entities": [
            {"name": "SQLite", "type": "database", "description": null},
            {"name": "", "type": "concept", "description": null}
        ],
        "relationships": [
            {"from": "Rust", "to": "SQLite", "relation": "uses", "weight": 0.8, "description": null}
        ]
    })
}

/// Runs the binary with `vars`; returns its exit code and its JSON lines.
fn run(llm: &Llm, args: &[&str], vars: &[(&str, &str)]) -> (Option<i32>, Vec<Value>) {
    let out = llm.cmd(vars).args(args).output().unwrap();
    let lines = parse_lines(&out.stdout, &out.stderr);
    (out.status.code(), lines)
}

fn parse_lines(stdout: &[u8], stderr: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|e| {
                panic!("{e}: {line}\nstderr {}", String::from_utf8_lossy(stderr))
            })
        })
        .collect()
}

fn now_ms() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    i64::try_from(since.as_millis()).unwrap()
}

fn remember(llm: &Llm, name: &str, body: &str) {
    let (code, out) = run(
        llm,
        &["remember", "--name", name, "--body", body, "--update"],
        QUEUE_FOR_CLAUDE,
    );
    assert_eq!(code, Some(0), "{out:?}");
}

/// The counts by state of `enrich status`.
fn status(llm: &Llm) -> Value {
    let mut status = full_status(llm);
    let map = status.as_object_mut().unwrap();
    map.remove("oldest_queued_at").unwrap();
    map.remove("next_retry_at").unwrap();
    map.remove("due").unwrap();
    status
}

fn full_status(llm: &Llm) -> Value {
    run(llm, &["enrich", "status"], &[]).1.remove(0)
}

fn summary(stored: u32, requeued: u32, deferred: u32, failed: u32) -> Value {
    json!({"event": "summary", "stored": stored, "requeued": requeued,
           "forgotten": 0, "deferred": deferred, "failed": failed, "released": 0, "superseded": 0})
}

#[test]
fn the_job_of_a_forgotten_memory_is_done_without_running_the_tool() {
    let llm = Llm::new();
    remember(&llm, "a", "Rust keeps data in SQLite.");
    let (code, _) = run(&llm, &["forget", "a"], &[]);
    assert_eq!(code, Some(0));
    let (code, lines) = run(&llm, &["enrich"], &[]);
    assert_eq!(code, Some(0), "{lines:?}");
    assert_eq!(
        (&lines[0]["event"], &lines[0]["name"]),
        (&json!("forgotten"), &json!("a"))
    );
    assert_eq!(lines[1]["forgotten"], 1);
    assert!(llm.record("claude").is_empty(), "the tool never ran");
    assert_eq!(
        status(&llm),
        json!({"queued": 0, "running": 0, "done": 1, "failed": 0})
    );
}

/// The names of the entities claude's assertions mention, per memory.
fn claude_mentions(llm: &Llm) -> Vec<(String, String, i64)> {
    llm.env.rows(
        "SELECT mem.name, e.name, m.version FROM mentions m
             JOIN entities e ON e.id = m.entity_id JOIN memories mem ON mem.id = m.memory_id
             WHERE m.extractor = 'claude' ORDER BY mem.name, e.key",
    )
}

#[test]
fn queued_memories_are_extracted_one_line_each() {
    let llm = Llm::new();
    llm.knobs("claude", json!({"reply": reply()}));
    remember(&llm, "a", "Rust keeps data in SQLite.");
    remember(&llm, "b", "More about SQLite.");
    assert!(
        llm.record("claude").is_empty(),
        "writes do not run the tool"
    );

    let (code, lines) = run(&llm, &["enrich", "--limit", "1"], &[]);
    assert_eq!(code, Some(0), "{lines:?}");
    assert_eq!(lines.len(), 2, "{lines:?}");
    let line = &lines[0];
    assert_eq!(
        (
            &line["event"],
            &line["name"],
            &line["version"],
            &line["backend"]
        ),
        (&json!("stored"), &json!("a"), &json!(1), &json!("claude")),
        "{line}"
    );
    assert_eq!(line["extraction"]["entities"].as_array().unwrap().len(), 2);
    assert_eq!(line["extraction"]["dropped"].as_array().unwrap().len(), 1);
    assert_eq!(lines[1], summary(1, 0, 0, 0));
    assert_eq!(
        status(&llm),
        json!({"queued": 1, "running": 0, "done": 1, "failed": 0})
    );

    let (code, lines) = run(&llm, &["enrich"], &[]);
    assert_eq!(code, Some(0));
    assert_eq!(lines[0]["name"], "b");
    assert_eq!(lines[1], summary(1, 0, 0, 0));
    assert_eq!(run(&llm, &["enrich"], &[]).1, [summary(0, 0, 0, 0)]);
    assert_eq!(
        claude_mentions(&llm),
        [
            ("a".into(), "Rust".into(), 1),
            ("a".into(), "SQLite".into(), 1),
            ("b".into(), "Rust".into(), 1),
            ("b".into(), "SQLite".into(), 1)
        ]
    );
}

#[test]
fn a_usage_limit_defers_the_job_and_a_bad_reply_fails_it() {
    let llm = Llm::new();
    llm.knobs("claude", json!({"mode": "usage_limit"}));
    remember(&llm, "a", "Rust keeps data in SQLite.");
    let before = now_ms();
    let (code, lines) = run(&llm, &["enrich"], &[]);
    assert_eq!(code, Some(0), "{lines:?}");
    let line = &lines[0];
    assert_eq!(line["event"], "deferred", "{line}");
    assert_eq!(line["error"]["kind"], "llm_unavailable", "{line}");
    assert!(
        line["next_attempt_at"].as_i64().unwrap() >= before + 29_000,
        "{line}"
    );
    assert_eq!(lines[1], summary(0, 0, 1, 0));
    assert_eq!(
        run(&llm, &["enrich"], &[]).1,
        [summary(0, 0, 0, 0)],
        "the job is not due yet"
    );
    let waiting = full_status(&llm);
    assert_eq!(
        waiting["next_retry_at"], line["next_attempt_at"],
        "{waiting}"
    );
    assert_eq!(
        (&waiting["queued"], &waiting["due"]),
        (&json!(1), &json!(0))
    );
    assert!(
        waiting["oldest_queued_at"].as_i64().unwrap() <= before,
        "{waiting}"
    );

    llm.knobs("claude", json!({"mode": "malformed"}));
    remember(&llm, "b", "Another text.");
    let (code, lines) = run(&llm, &["enrich"], &[]);
    assert_eq!(code, Some(12), "{lines:?}");
    assert_eq!(
        (
            &lines[0]["event"],
            &lines[0]["name"],
            &lines[0]["error"]["kind"]
        ),
        (&json!("failed"), &json!("b"), &json!("llm_failed"))
    );
    assert_eq!(lines[1], summary(0, 0, 0, 1));
    assert_eq!(
        status(&llm),
        json!({"queued": 1, "running": 0, "done": 0, "failed": 1})
    );
    assert!(claude_mentions(&llm).is_empty());

    let (code, lines) = run(&llm, &["enrich", "retry", "--failed"], &[]);
    assert_eq!((code, &lines[0]), (Some(0), &json!({"requeued": 1})));
    llm.knobs("claude", json!({"reply": reply()}));
    let (code, lines) = run(&llm, &["enrich"], &[]);
    assert_eq!(code, Some(0), "{lines:?}");
    assert_eq!(
        (&lines[0]["event"], &lines[0]["name"], &lines[0]["attempts"]),
        (&json!("stored"), &json!("b"), &json!(1))
    );
    assert_eq!(
        status(&llm),
        json!({"queued": 1, "running": 0, "done": 1, "failed": 0}),
        "the deferred job is still not due"
    );
}

#[test]
fn a_memory_changed_while_the_tool_ran_is_requeued_for_its_new_version() {
    let llm = Llm::new();
    let gate = llm.env.dir.path().join("go");
    llm.knobs(
        "claude",
        json!({"reply": reply(), "wait_for": gate.display().to_string()}),
    );
    remember(&llm, "a", "Rust keeps data in SQLite.");
    let enriching = llm
        .cmd(&[])
        .args(["enrich", "--limit", "1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_until(60, "claude to start", || !llm.record("claude").is_empty());
    assert_eq!(
        status(&llm),
        json!({"queued": 0, "running": 1, "done": 0, "failed": 0})
    );
    let (code, _) = run(
        &llm,
        &[
            "edit",
            "a",
            "--body",
            "Rust keeps its data in SQLite files.",
        ],
        &[],
    );
    assert_eq!(
        code,
        Some(0),
        "a write that queues nothing changes the text"
    );
    std::fs::write(&gate, "").unwrap();
    let finished = enriching.wait_with_output().unwrap();
    let lines = parse_lines(&finished.stdout, &finished.stderr);
    assert_eq!(finished.status.code(), Some(0), "{lines:?}");
    assert_eq!(
        (
            &lines[0]["event"],
            &lines[0]["version"],
            &lines[0]["requeued_version"]
        ),
        (&json!("requeued"), &json!(1), &json!(2)),
        "{lines:?}"
    );
    assert!(
        claude_mentions(&llm).is_empty(),
        "the stale graph is dropped"
    );

    let (code, lines) = run(&llm, &["enrich"], &[]);
    assert_eq!(code, Some(0));
    assert_eq!(
        (&lines[0]["event"], &lines[0]["version"]),
        (&json!("stored"), &json!(2))
    );
    assert_eq!(claude_mentions(&llm).len(), 2);
}

#[test]
fn the_job_of_a_killed_worker_is_reclaimed_and_done_once() {
    let llm = Llm::new();
    let gate = llm.env.dir.path().join("go");
    llm.knobs(
        "claude",
        json!({"reply": reply(), "wait_for": gate.display().to_string()}),
    );
    remember(&llm, "a", "Rust keeps data in SQLite.");
    let mut worker = llm
        .cmd(&[])
        .arg("enrich")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_until(60, "claude to start", || !llm.record("claude").is_empty());
    worker.kill().unwrap();
    worker.wait().unwrap();
    std::fs::write(&gate, "").unwrap();
    assert_eq!(
        status(&llm),
        json!({"queued": 0, "running": 1, "done": 0, "failed": 0})
    );

    llm.knobs("claude", json!({"reply": reply()}));
    let (code, lines) = run(&llm, &["enrich"], &[]);
    assert_eq!(code, Some(0), "{lines:?}");
    assert_eq!(
        (&lines[0]["event"], &lines[0]["attempts"]),
        (&json!("stored"), &json!(2)),
        "{lines:?}"
    );
    assert_eq!(lines[1], summary(1, 0, 0, 0));
    assert_eq!(run(&llm, &["enrich"], &[]).1, [summary(0, 0, 0, 0)]);
    assert_eq!(
        status(&llm),
        json!({"queued": 0, "running": 0, "done": 1, "failed": 0})
    );
    assert_eq!(claude_mentions(&llm).len(), 2);
}

#[test]
fn max_runtime_ends_a_wait_for_a_deferred_job() {
    let llm = Llm::new();
    llm.knobs("claude", json!({"mode": "usage_limit"}));
    remember(&llm, "a", "Rust keeps data in SQLite.");
    let started = std::time::Instant::now();
    let (code, lines) = run(
        &llm,
        &["enrich", "--until-empty", "--max-runtime", "2"],
        &[],
    );
    assert_eq!(code, Some(0), "{lines:?}");
    assert_eq!(lines.len(), 2, "one job line, then the summary: {lines:?}");
    assert_eq!(lines[1], summary(0, 0, 1, 0));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(25),
        "it did not wait for the retry, 30 s away"
    );
}

#[test]
fn until_empty_waits_for_running_jobs_and_takes_what_they_queue() {
    let llm = Llm::new();
    let gate = llm.env.dir.path().join("go");
    llm.knobs(
        "claude",
        json!({"reply": reply(), "wait_for": gate.display().to_string()}),
    );
    remember(&llm, "a", "Rust keeps data in SQLite.");
    let spawn = |args: &[&str]| {
        llm.cmd(&[])
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let first = spawn(&["enrich"]);
    wait_until(60, "claude to start", || !llm.record("claude").is_empty());
    let waiting = spawn(&["enrich", "--until-empty"]);
    remember(&llm, "a", "Rust keeps its data in SQLite files.");
    let started = |llm: &Llm| {
        llm.record("claude")
            .iter()
            .filter(|entry| entry["started"] == true)
            .count()
    };
    wait_until(60, "the waiting worker to take the new version", || {
        started(&llm) == 2
    });
    std::fs::write(&gate, "").unwrap();

    let first = first.wait_with_output().unwrap();
    let lines = parse_lines(&first.stdout, &first.stderr);
    assert_eq!(
        lines[0]["event"], "superseded",
        "the write queued the job again while the tool ran: {lines:?}"
    );
    let waiting = waiting.wait_with_output().unwrap();
    let lines = parse_lines(&waiting.stdout, &waiting.stderr);
    assert_eq!(waiting.status.code(), Some(0), "{lines:?}");
    assert_eq!(
        (&lines[0]["event"], &lines[0]["version"]),
        (&json!("stored"), &json!(2)),
        "{lines:?}"
    );
    assert_eq!(lines[1], summary(1, 0, 0, 0));
    assert_eq!(
        status(&llm),
        json!({"queued": 0, "running": 0, "done": 1, "failed": 0})
    );
}

/// The most runs the overlap log shows going at once.
fn max_overlap(log: &std::path::Path) -> usize {
    let text = std::fs::read_to_string(log).unwrap();
    let (mut going, mut most) = (0usize, 0usize);
    for line in text.lines() {
        match line.split(' ').next() {
            Some("enter") => going += 1,
            Some("exit") => going -= 1,
            other => panic!("{other:?} in the overlap log"),
        }
        most = most.max(going);
    }
    assert_eq!(going, 0, "every run that entered exited");
    most
}

#[test]
fn three_parallel_workers_never_run_more_tools_than_the_pool_has_slots() {
    let llm = Llm::new();
    let log = llm.env.dir.path().join("overlap.log");
    let gate = llm.env.dir.path().join("go");
    llm.knobs(
        "claude",
        json!({"reply": reply(), "delay": 0.1, "overlap_log": log.display().to_string(),
               "wait_for": gate.display().to_string()}),
    );
    const JOBS: usize = 12;
    for i in 0..JOBS {
        remember(
            &llm,
            &format!("m{i}"),
            &format!("Service {i} keeps data in SQLite."),
        );
    }
    let slots = [("SQLITE_GRAPHRAG_LLM_SLOTS", "2")];
    let workers: Vec<_> = (0..3)
        .map(|_| {
            llm.cmd(&slots)
                .args(["enrich", "--parallel", "4"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let started = || {
        llm.record("claude")
            .iter()
            .filter(|entry| entry["started"] == true)
            .count()
    };
    wait_until(60, "two tools to run at once", || started() == 2);
    std::thread::sleep(std::time::Duration::from_secs(1));
    assert_eq!(started(), 2, "six workers, two slots: a third tool started");
    std::fs::write(&gate, "").unwrap();
    let mut stored = Vec::new();
    for worker in workers {
        let out = worker.wait_with_output().unwrap();
        let lines = parse_lines(&out.stdout, &out.stderr);
        assert_eq!(out.status.code(), Some(0), "{lines:?}");
        let (summary, jobs) = lines.split_last().unwrap();
        assert_eq!(summary["event"], "summary");
        for job in jobs {
            assert_eq!(job["event"], "stored", "{job}");
            stored.push(job["name"].as_str().unwrap().to_owned());
        }
    }
    stored.sort();
    let mut expected: Vec<String> = (0..JOBS).map(|i| format!("m{i}")).collect();
    expected.sort();
    assert_eq!(stored, expected, "every job done exactly once");
    assert_eq!(llm.runs("claude").len(), JOBS, "one run per job");
    let most = max_overlap(&log);
    assert_eq!(
        most, 2,
        "the pool has 2 slots, and two ran at once behind the gate"
    );
    assert_eq!(
        status(&llm),
        json!({"queued": 0, "running": 0, "done": JOBS, "failed": 0})
    );
}

#[cfg(unix)]
#[test]
fn a_signal_stops_the_tools_and_puts_their_jobs_back_uncounted() {
    let llm = Llm::new();
    let gate = llm.env.dir.path().join("go");
    llm.knobs(
        "claude",
        json!({"reply": reply(), "wait_for": gate.display().to_string()}),
    );
    for name in ["a", "b", "c"] {
        remember(&llm, name, &format!("{name} keeps data in SQLite."));
    }
    let worker = llm
        .cmd(&[("SQLITE_GRAPHRAG_LLM_SLOTS", "2")])
        .args(["enrich", "--parallel", "2"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = || {
        llm.record("claude")
            .iter()
            .filter(|entry| entry["started"] == true)
            .count()
    };
    wait_until(60, "two tools to start", || started() == 2);
    let pid = rustix::process::Pid::from_raw(i32::try_from(worker.id()).unwrap()).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::INT).unwrap();
    let out = worker.wait_with_output().unwrap();
    let lines = parse_lines(&out.stdout, &out.stderr);
    assert_eq!(out.status.code(), Some(130), "{lines:?}");
    let (summary, jobs) = lines.split_last().unwrap();
    assert_eq!(summary["released"], 2, "{lines:?}");
    for job in jobs {
        assert_eq!(
            (&job["event"], &job["attempts"]),
            (&json!("released"), &json!(0))
        );
        assert_eq!(job["error"]["kind"], "interrupted");
    }
    assert_eq!(started(), 2, "no job was claimed after the signal");
    assert_eq!(
        status(&llm),
        json!({"queued": 3, "running": 0, "done": 0, "failed": 0})
    );
    for entry in llm.record("claude") {
        if let Some(pid) = entry["pid"].as_i64() {
            let pid = rustix::process::Pid::from_raw(i32::try_from(pid).unwrap()).unwrap();
            assert!(
                rustix::process::test_kill_process(pid).is_err(),
                "the tool {pid:?} was stopped"
            );
        }
    }
    llm.knobs("claude", json!({"reply": reply()}));
    let (code, lines) = run(&llm, &["enrich"], &[]);
    assert_eq!(code, Some(0), "{lines:?}");
    assert_eq!(lines.last().unwrap()["stored"], 3);
    assert!(
        lines[..3].iter().all(|job| job["attempts"] == 1),
        "{lines:?}"
    );
}

/// Runs `args` with stderr (and stdout too, with `stdout_too`) on a
/// pseudo-terminal; returns the output (empty where it went to the
/// terminal) and what the terminal showed.
#[cfg(unix)]
fn on_terminal(llm: &Llm, args: &[&str], stdout_too: bool) -> (std::process::Output, String) {
    let mut cmd = llm.cmd(&[]);
    cmd.args(args);
    crate::common::run_on_terminal(cmd, stdout_too)
}

#[cfg(unix)]
#[test]
fn a_terminal_sees_one_progress_line_and_a_pipe_sees_none() {
    let llm = Llm::new();
    llm.knobs("claude", json!({"reply": reply()}));
    for name in ["a", "b", "c"] {
        remember(&llm, name, &format!("{name} keeps data in SQLite."));
    }
    let (out, shown) = on_terminal(&llm, &["enrich"], false);
    assert_eq!(out.status.code(), Some(0), "{shown}");
    assert!(shown.contains("enrich 0/3 0%"), "{shown:?}");
    assert!(shown.contains("enrich 3/3 100%"), "{shown:?}");
    assert!(
        shown.ends_with("\r\u{1b}[2K"),
        "the line is erased at the end: {shown:?}"
    );
    let lines = parse_lines(&out.stdout, &[]);
    assert_eq!(
        lines.last().unwrap()["stored"],
        3,
        "stdout keeps the JSON lines"
    );

    llm.knobs("claude", json!({"reply": reply()}));
    remember(&llm, "d", "d keeps data in SQLite.");
    let (out, shown) = on_terminal(&llm, &["-q", "enrich"], false);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(shown, "", "-q hides it");
    remember(&llm, "e", "e keeps data in SQLite.");
    let out = llm.cmd(&[]).arg("enrich").output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "",
        "a pipe gets no progress"
    );
    remember(&llm, "f", "f keeps data in SQLite.");
    let out = llm
        .cmd(&[])
        .args(["--progress", "always", "enrich"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.lines().any(|l| l.starts_with("enrich 1/1 100%")),
        "--progress always writes lines into a pipe: {stderr}"
    );

    for name in ["g", "h", "i"] {
        remember(&llm, name, &format!("{name} keeps data in SQLite."));
    }
    let (out, shown) = on_terminal(&llm, &["enrich"], true);
    assert_eq!(out.status.code(), Some(0), "{shown:?}");
    let json_lines: Vec<&str> = shown
        .split('\n')
        .filter(|line| line.contains('{'))
        .map(|line| {
            line.rsplit("\u{1b}[2K")
                .next()
                .unwrap()
                .trim_end_matches('\r')
        })
        .collect();
    assert_eq!(json_lines.len(), 4, "{shown:?}");
    for line in json_lines {
        let parsed: Result<Value, _> = serde_json::from_str(line);
        assert!(
            parsed.is_ok(),
            "a JSON line shares its line with the progress: {shown:?}"
        );
    }
}

#[test]
fn a_job_that_finds_no_slot_is_deferred_without_counting_the_attempt() {
    let llm = Llm::new();
    llm.knobs("claude", json!({"reply": reply()}));
    remember(&llm, "a", "Rust keeps data in SQLite.");
    let holder = SlotHolder::hold(|| llm.cmd(&[]), "llm", llm.env.dir.path());
    let (code, lines) = run(&llm, &["enrich"], &[("SQLITE_GRAPHRAG_LLM_WAIT", "0.3")]);
    holder.release();
    assert_eq!(code, Some(0), "{lines:?}");
    assert_eq!(
        (
            &lines[0]["event"],
            &lines[0]["attempts"],
            &lines[0]["error"]["kind"]
        ),
        (&json!("deferred"), &json!(0), &json!("no_slot")),
        "{lines:?}"
    );
    assert!(lines[0]["next_attempt_at"].as_i64().unwrap() > now_ms() + 20_000);
    assert!(llm.record("claude").is_empty(), "the tool never started");
    let status = full_status(&llm);
    assert_eq!(
        (&status["queued"], &status["due"]),
        (&json!(1), &json!(0)),
        "{status}"
    );
}

/// Makes every queued job due now, as if its retry delay had passed.
fn make_due(llm: &Llm) {
    llm.env
        .tamper("UPDATE enrich_jobs SET next_attempt_at = 0 WHERE state = 'queued'");
}

#[test]
fn an_overloaded_tool_is_retried_later_with_a_doubling_delay_then_succeeds() {
    let llm = Llm::new();
    llm.knobs(
        "claude",
        json!({"reply": reply(), "modes": ["api_error", "api_error", "success"]}),
    );
    remember(&llm, "a", "Rust keeps data in SQLite.");
    for (attempt, delay) in [(1, 30_000), (2, 60_000)] {
        let before = now_ms();
        let (code, lines) = run(&llm, &["enrich"], &[]);
        let after = now_ms();
        assert_eq!(code, Some(0), "{lines:?}");
        let line = &lines[0];
        assert_eq!(
            (&line["event"], &line["attempts"], &line["error"]["kind"]),
            (
                &json!("deferred"),
                &json!(attempt),
                &json!("llm_unavailable")
            ),
            "{line}"
        );
        let due = line["next_attempt_at"].as_i64().unwrap();
        assert!(
            (before + delay..=after + delay).contains(&due),
            "attempt {attempt}: due {due}, run from {before} to {after}"
        );
        make_due(&llm);
    }
    let (code, lines) = run(&llm, &["enrich"], &[]);
    assert_eq!(code, Some(0), "{lines:?}");
    assert_eq!(
        (&lines[0]["event"], &lines[0]["attempts"]),
        (&json!("stored"), &json!(3))
    );
    assert_eq!(claude_mentions(&llm).len(), 2);
}

#[test]
fn a_failed_login_or_an_api_key_stops_the_run_and_fails_no_job() {
    let llm = Llm::new();
    llm.knobs("claude", json!({"mode": "auth"}));
    for name in ["a", "b"] {
        remember(&llm, name, &format!("{name} keeps data in SQLite."));
    }
    let (code, lines) = run(&llm, &["enrich"], &[]);
    assert_eq!(code, Some(15), "{lines:?}");
    assert_eq!(lines.len(), 2, "one job, then the summary: {lines:?}");
    assert_eq!(
        (
            &lines[0]["event"],
            &lines[0]["attempts"],
            &lines[0]["error"]["kind"]
        ),
        (&json!("released"), &json!(0), &json!("llm_auth"))
    );
    assert_eq!(lines[1]["released"], 1);
    assert_eq!(llm.runs("claude").len(), 1, "the second job was not tried");

    let key = [("ANTHROPIC_API_KEY", "sk-test")];
    let (code, lines) = run(&llm, &["enrich"], &key);
    assert_eq!(code, Some(13), "{lines:?}");
    assert_eq!(lines[0]["error"]["kind"], "api_key_refused");
    assert_eq!(llm.runs("claude").len(), 1, "the tool was not started");
    assert_eq!(
        status(&llm),
        json!({"queued": 2, "running": 0, "done": 0, "failed": 0})
    );
}

#[test]
fn a_new_type_while_the_tool_ran_keeps_the_graph_of_the_same_text() {
    let llm = Llm::new();
    let gate = llm.env.dir.path().join("go");
    llm.knobs(
        "claude",
        json!({"reply": reply(), "wait_for": gate.display().to_string()}),
    );
    remember(&llm, "a", "Rust keeps data in SQLite.");
    let enriching = llm
        .cmd(&[])
        .arg("enrich")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_until(60, "claude to start", || !llm.record("claude").is_empty());
    let (code, _) = run(&llm, &["edit", "a", "--type", "decision"], QUEUE_FOR_CLAUDE);
    assert_eq!(code, Some(0));
    std::fs::write(&gate, "").unwrap();
    let finished = enriching.wait_with_output().unwrap();
    let lines = parse_lines(&finished.stdout, &finished.stderr);
    assert_eq!(lines[0]["event"], "stored", "{lines:?}");
    assert_eq!(claude_mentions(&llm).len(), 2);
    assert_eq!(
        (run(&llm, &["enrich"], &[]).1, llm.runs("claude").len()),
        (vec![summary(0, 0, 0, 0)], 1),
        "one run for one text"
    );
}
