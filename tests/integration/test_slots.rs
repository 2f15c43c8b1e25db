//! The slot semaphore, proven with many real processes.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{StartRetrying, bare_cmd};
use crate::slot_storm::{
    Event, HOLD_MS, LONG_HOLD_MS, Storm, helper_command, read_log, start_holder,
};
use crate::test_exec::wrapper_error;

fn slots(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    bare_cmd(dir)
        .arg("--runtime-dir")
        .arg(dir.join("runtime"))
        .arg("slots")
        .args(args)
        .output_retrying()
}

fn status(dir: &std::path::Path) -> Value {
    let out = slots(dir, &["status"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_storm_never_exceeds_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    let report = Storm {
        processes: 64,
        max: 4,
        hold_ms: HOLD_MS,
        kill_parents: 0,
        kill_children: 0,
        fault: false,
    }
    .run(dir.path());
    assert!(
        report.max_overlap <= 4,
        "overlap {} > 4",
        report.max_overlap
    );
    assert!(
        report.max_overlap >= 2,
        "the storm never overlapped: {report:?}"
    );
    assert!(
        report.exit_codes.iter().all(|c| *c == Some(0)),
        "{:?}",
        report.exit_codes
    );
    assert_eq!(read_log(&dir.path().join("storm.log")).len(), 128);
    assert_eq!(status(dir.path())["held"], 0);
}

/// Whether the binary under test honours the fault hook: it warns when it does.
fn honours_fault_hook(dir: &Path) -> bool {
    let out = bare_cmd(dir)
        .env("SQLITE_GRAPHRAG_FAULT", "skip-slot-lock")
        .arg("--runtime-dir")
        .arg(dir.join("probe"))
        .args(["slots", "exec", "--max", "1", "--"])
        .args(crate::common::quick_command())
        .output_retrying();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stderr).contains("slots are NOT locked")
}

/// In a test build, the storm catches a semaphore that does not lock; in a
/// release build (what ships) the same hook is ignored and the cap holds.
#[test]
fn the_storm_catches_a_semaphore_that_does_not_lock() {
    let dir = tempfile::tempdir().unwrap();
    let honoured = honours_fault_hook(dir.path());
    if std::env::var_os("SQLITE_GRAPHRAG_TEST_BIN").is_none() {
        assert_eq!(
            honoured,
            cfg!(debug_assertions),
            "the hook must exist exactly in builds with debug assertions"
        );
    }
    let report = Storm {
        processes: 64,
        max: 4,
        // Long holds, so that even slow process start-up (wine) overlaps them.
        hold_ms: LONG_HOLD_MS,
        kill_parents: 0,
        kill_children: 0,
        fault: true,
    }
    .run(dir.path());
    if honoured {
        assert!(
            report.max_overlap > 4,
            "the broken variant went unnoticed: overlap {}",
            report.max_overlap
        );
    } else {
        assert!(
            report.max_overlap <= 4,
            "a build without the hook let {} in at once",
            report.max_overlap
        );
    }
}

#[cfg(not(target_os = "linux"))]
skipped_here!(
    killing_holders_keeps_the_cap_and_frees_their_slots,
    "kills holders by pid and watches them die through /proc, which only Linux has"
);

#[cfg(target_os = "linux")]
#[test]
fn killing_holders_keeps_the_cap_and_frees_their_slots() {
    let dir = tempfile::tempdir().unwrap();
    let report = Storm {
        processes: 64,
        max: 4,
        hold_ms: HOLD_MS,
        kill_parents: 4,
        kill_children: 4,
        fault: false,
    }
    .run(dir.path());
    assert_eq!(report.kills, 8);
    assert!(
        report.max_overlap <= 4,
        "overlap {} > 4",
        report.max_overlap
    );
    let killed_parents = report.exit_codes.iter().filter(|c| c.is_none()).count();
    let killed_children = report
        .exit_codes
        .iter()
        .filter(|c| **c == Some(137))
        .count();
    let completed = report.exit_codes.iter().filter(|c| **c == Some(0)).count();
    assert_eq!(
        (killed_parents, killed_children, completed),
        (4, 4, 56),
        "{:?}",
        report.exit_codes
    );
    assert_eq!(
        report.reuse_delays_ms.len(),
        8,
        "every freed slot was taken again"
    );
    assert_eq!(status(dir.path())["held"], 0, "no slot leaked");
}

#[cfg(not(target_os = "linux"))]
skipped_here!(
    a_killed_holders_surviving_child_tree_keeps_the_slot,
    "needs the parent-death signal and an inherited lock descriptor (Linux); on Windows the lock belongs to the guarding process"
);

#[cfg(target_os = "linux")]
#[test]
fn a_killed_holders_surviving_child_tree_keeps_the_slot() {
    use crate::common::SpawnRetrying;
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("grandchild-done");
    let started = dir.path().join("grandchild-started");
    let script = format!(
        "sleep 2.5 && touch '{}' & touch '{}'; wait",
        marker.display(),
        started.display()
    );
    let mut holder = bare_cmd(dir.path())
        .arg("--runtime-dir")
        .arg(dir.path().join("runtime"))
        .args(["slots", "exec", "--max", "1", "--", "sh", "-c", &script])
        .spawn_retrying();
    crate::common::wait_until(10, "the guarded tree never started", || started.exists());
    holder.kill().unwrap();
    holder.wait().unwrap();

    let probe = slots(dir.path(), &["exec", "--wait", "0", "--", "true"]);
    assert_eq!(
        probe.status.code(),
        Some(75),
        "admitted while the holder's child tree still ran"
    );
    let report = status(dir.path());
    assert_eq!(report["slots"][0]["held"], true);
    assert_eq!(
        report["slots"][0]["alive"], false,
        "a held slot whose holder died is flagged: {report}"
    );

    let admitted = slots(dir.path(), &["exec", "--wait", "10", "--", "true"]);
    assert_eq!(admitted.status.code(), Some(0));
    assert!(
        marker.exists(),
        "admitted before the holder's child tree was gone"
    );
}

#[test]
fn waiting_runs_out_with_exit_75_and_a_json_error_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = dir.path().join("runtime");
    let log = dir.path().join("hold.log");
    let mut holder = start_holder(&runtime, &log, &["--max", "1"], 3000);
    let started = Instant::now();
    let out = slots(dir.path(), &["exec", "--wait", "1", "--", "true"]);
    let waited = started.elapsed();
    assert_eq!(wrapper_error(&out, 75)["kind"], "no_slot");
    assert!(
        waited >= Duration::from_millis(950) && waited < Duration::from_secs(10),
        "{waited:?}"
    );
    holder.wait().unwrap();
}

#[test]
fn exit_code_and_standard_streams_pass_through() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let helper = helper_command();
    let out = bare_cmd(dir.path())
        .arg("--runtime-dir")
        .arg(dir.path().join("runtime"))
        .args(["slots", "exec", "--max", "2", "--"])
        .args(&helper)
        .arg("--no-such-flag-for-libtest")
        .env("GRAPHRAG_TEST_HELPER", "hold")
        .env("GRAPHRAG_TEST_LOG", &log)
        .env("GRAPHRAG_TEST_HOLD_MS", "0,0")
        .stdin(Stdio::null())
        .output_retrying();
    assert_eq!(
        out.status.code(),
        Some(101),
        "the test binary rejects the flag with 101"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-flag-for-libtest"));
    let ok = bare_cmd(dir.path())
        .arg("--runtime-dir")
        .arg(dir.path().join("runtime"))
        .args(["slots", "exec", "--"])
        .args(&helper)
        .env("GRAPHRAG_TEST_HELPER", "hold")
        .env("GRAPHRAG_TEST_LOG", &log)
        .env("GRAPHRAG_TEST_HOLD_MS", "0,0")
        .output_retrying();
    assert_eq!(ok.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&ok.stdout).contains("running 1 test"),
        "the child's stdout reaches ours"
    );
    assert!(matches!(read_log(&log)[0], Event::Enter { .. }));
}

#[test]
fn a_missing_command_is_127() {
    let dir = tempfile::tempdir().unwrap();
    let out = slots(dir.path(), &["exec", "--", "no-such-command-anywhere"]);
    assert_eq!(wrapper_error(&out, 127)["kind"], "command_not_found");
    assert_eq!(status(dir.path())["held"], 0);
}

#[cfg(not(unix))]
skipped_here!(
    a_timeout_kills_the_whole_process_group,
    "needs sh and Unix process groups; on Windows a timeout kills the direct child only"
);

#[cfg(unix)]
#[test]
fn a_timeout_kills_the_whole_process_group() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("survived");
    let script = format!("(sleep 3 && touch '{}') & sleep 30", marker.display());
    let started = Instant::now();
    let out = slots(
        dir.path(),
        &["exec", "--timeout", "0.5", "--", "sh", "-c", &script],
    );
    assert_eq!(wrapper_error(&out, 124)["kind"], "timeout");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(
        status(dir.path())["held"],
        0,
        "a survivor of the group would still hold the slot"
    );
    std::thread::sleep(Duration::from_millis(3500));
    assert!(
        !marker.exists(),
        "a process of the group survived the timeout"
    );
}

#[cfg(not(unix))]
skipped_here!(
    sigterm_to_the_holder_stops_the_group_and_frees_the_slot,
    "sends SIGTERM, which Windows does not have"
);

#[cfg(unix)]
#[test]
fn sigterm_to_the_holder_stops_the_group_and_frees_the_slot() {
    use crate::common::SpawnRetrying;
    let dir = tempfile::tempdir().unwrap();
    let started = dir.path().join("started");
    let script = format!("touch '{}'; sleep 30 & sleep 30", started.display());
    let mut holder = bare_cmd(dir.path())
        .arg("--runtime-dir")
        .arg(dir.path().join("runtime"))
        .args(["slots", "exec", "--max", "1", "--", "sh", "-c", &script])
        .spawn_retrying();
    crate::common::wait_until(10, "the guarded command never started", || started.exists());
    let pid = rustix::process::Pid::from_raw(holder.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    let code = holder.wait().unwrap().code();
    assert_eq!(code, Some(143));
    assert_eq!(status(dir.path())["held"], 0);
}

#[test]
fn a_nested_exec_runs_inside_its_parents_slot() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = dir.path().join("runtime");
    let inner = [
        crate::common::binary().to_string_lossy().into_owned(),
        "--runtime-dir".into(),
        runtime.to_string_lossy().into_owned(),
        "slots".into(),
        "exec".into(),
        "--wait".into(),
        "0".into(),
        "--".into(),
    ];
    let mut args = vec!["exec", "--max", "1", "--wait", "0", "--"];
    args.extend(inner.iter().map(String::as_str));
    let helper = helper_command();
    args.extend(helper.iter().map(String::as_str));
    let out = bare_cmd(dir.path())
        .arg("--runtime-dir")
        .arg(&runtime)
        .arg("slots")
        .args(&args)
        .env("GRAPHRAG_TEST_HELPER", "hold")
        .env("GRAPHRAG_TEST_LOG", dir.path().join("log"))
        .env("GRAPHRAG_TEST_HOLD_MS", "0,0")
        .output_retrying();
    if cfg!(unix) {
        assert_eq!(
            out.status.code(),
            Some(0),
            "a nested exec deadlocked or failed: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    } else {
        assert_eq!(
            out.status.code(),
            Some(75),
            "without descriptor inheritance the inner exec finds the pool full"
        );
    }
}

#[test]
fn status_reports_holders_and_pools_keep_their_size() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = dir.path().join("runtime");
    let log = dir.path().join("hold.log");
    let mut holder = start_holder(&runtime, &log, &["--max", "3"], 1500);
    let report = status(dir.path());
    assert_eq!(
        (
            report["max"].clone(),
            report["held"].clone(),
            report["free"].clone()
        ),
        (3.into(), 1.into(), 2.into())
    );
    let held: Vec<&Value> = report["slots"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["held"] == true)
        .collect();
    assert_eq!(held.len(), 1);
    assert_eq!(held[0]["pid"], holder.id());
    assert!(held[0]["held_for_ms"].as_i64().unwrap() >= 0);
    assert!(
        held[0]["command"][0]
            .as_str()
            .unwrap()
            .contains("integration")
    );
    if cfg!(target_os = "linux") {
        assert_eq!(held[0]["alive"], true);
        assert_eq!(held[0]["pid_namespace"], "same");
    }
    holder.wait().unwrap();

    let conflict = slots(dir.path(), &["status", "--max", "5"]);
    assert_eq!(
        conflict.status.code(),
        Some(5),
        "an explicit different size is refused"
    );
    let via_env = bare_cmd(dir.path())
        .arg("--runtime-dir")
        .arg(&runtime)
        .args(["slots", "status"])
        .env("SQLITE_GRAPHRAG_MAX_SLOTS", "5")
        .output_retrying();
    assert_eq!(via_env.status.code(), Some(5));
    let resized = slots(dir.path(), &["resize", "--max", "5"]);
    assert!(resized.status.success());
    assert_eq!(status(dir.path())["max"], 5);
}

/// Whether `unshare` can start a process in a new pid namespace here (as
/// root, or through a user namespace).
#[cfg(target_os = "linux")]
fn unshare_pid_args() -> Option<Vec<&'static str>> {
    let candidates: [&[&str]; 2] = [
        &["--pid", "--fork", "--mount-proc"],
        &[
            "--user",
            "--map-root-user",
            "--pid",
            "--fork",
            "--mount-proc",
        ],
    ];
    candidates.into_iter().map(<[&str]>::to_vec).find(|args| {
        std::process::Command::new("unshare")
            .args(args)
            .arg("true")
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

#[cfg(not(target_os = "linux"))]
skipped_here!(
    status_says_when_a_holder_runs_in_another_pid_namespace,
    "pid namespaces are Linux's"
);

#[cfg(target_os = "linux")]
#[test]
fn status_says_when_a_holder_runs_in_another_pid_namespace() {
    let Some(unshare) = unshare_pid_args() else {
        eprintln!("skipped: unshare cannot make a pid namespace here");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let runtime = dir.path().join("runtime");
    let ready = dir.path().join("ready");
    let mut holder = std::process::Command::new("unshare")
        .args(&unshare)
        .arg(crate::common::binary())
        .arg("--runtime-dir")
        .arg(&runtime)
        .args(["slots", "exec", "--max", "2", "--"])
        .args(["sh", "-c", "touch \"$0\"; sleep 2"])
        .arg(&ready)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ready.exists() {
        assert!(Instant::now() < deadline, "the holder never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    let report = status(dir.path());
    let slot = report["slots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["held"] == true)
        .cloned()
        .expect("one slot is held");
    assert_eq!(slot["pid_namespace"], "other", "{report}");
    assert_eq!(slot["alive"], Value::Null, "its pid means nothing here");
    assert!(holder.wait().unwrap().success());
}

#[test]
fn an_out_of_range_pool_record_is_damage() {
    let dir = tempfile::tempdir().unwrap();
    let pool = dir.path().join("runtime/llm");
    let [quick, version] = crate::common::quick_command();
    assert!(
        slots(dir.path(), &["exec", "--max", "1", "--", &quick, &version])
            .status
            .success()
    );
    for bad in ["0", "99999999", "4294967295"] {
        std::fs::write(pool.join("pool.json"), format!(r#"{{"max":{bad}}}"#)).unwrap();
        let status = slots(dir.path(), &["status"]);
        assert_eq!(status.status.code(), Some(5), "max {bad}");
        let status_error =
            serde_json::from_slice::<Value>(&status.stdout).unwrap()["error"].clone();
        let exec = slots(dir.path(), &["exec", "--wait", "0", "--", "true"]);
        let exec_error = crate::test_exec::wrapper_error(&exec, 125);
        for error in [status_error, exec_error] {
            assert!(
                error["message"].as_str().unwrap().contains("damaged")
                    && error["hint"].as_str().unwrap().contains("slots resize"),
                "max {bad}: {error}"
            );
        }
    }
    let slot_files = std::fs::read_dir(&pool).unwrap().count();
    assert!(
        slot_files < 10,
        "{slot_files} entries: slot files were created for a damaged count"
    );
    assert!(
        slots(dir.path(), &["resize", "--max", "2"])
            .status
            .success()
    );
    assert_eq!(status(dir.path())["max"], 2);
}

#[cfg(not(unix))]
skipped_here!(
    an_open_but_unlocked_descriptor_is_no_inherited_slot,
    "descriptors are inherited on Unix only"
);

#[cfg(unix)]
#[test]
fn an_open_but_unlocked_descriptor_is_no_inherited_slot() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = dir.path().join("runtime");
    let log = dir.path().join("hold.log");
    let mut holder = start_holder(&runtime, &log, &["--max", "1"], 3000);
    let slot = runtime.join("llm/slot-0.lock");
    let forged = std::process::Command::new("sh")
        .env("HOME", dir.path())
        .env("SQLITE_GRAPHRAG_SLOT", format!("9:{}", slot.display()))
        .args(["-c", "exec 9<\"$1\"; shift; exec \"$@\"", "sh"])
        .arg(&slot)
        .arg(crate::common::binary())
        .arg("--runtime-dir")
        .arg(&runtime)
        .args(["slots", "exec", "--wait", "0", "--", "true"])
        .output_retrying();
    assert_eq!(
        forged.status.code(),
        Some(75),
        "a descriptor without the lock was taken for the held slot"
    );
    holder.wait().unwrap();
}

#[cfg(not(target_os = "linux"))]
skipped_here!(
    waiters_sleep_in_the_kernel,
    "reads the waiters' CPU time from /proc, which only Linux has"
);

/// CPU time (user + system) of a process so far, in clock ticks.
#[cfg(target_os = "linux")]
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let Some(close) = stat.rfind(')') else {
        return 0;
    };
    let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // After the command name: state is field 3 of the line, utime 14, stime 15.
    field(11) + field(12)
}

#[cfg(target_os = "linux")]
#[test]
fn waiters_sleep_in_the_kernel() {
    use crate::common::SpawnRetrying;
    use crate::slot_storm::spawn_guarded;
    const WAITERS: usize = 30;
    let dir = tempfile::tempdir().unwrap();
    let runtime = dir.path().join("runtime");
    let log = dir.path().join("hold.log");
    let (started, release) = (dir.path().join("started"), dir.path().join("release"));
    let script = format!(
        "touch '{}'; while [ ! -e '{}' ]; do sleep 0.05; done",
        started.display(),
        release.display()
    );
    let mut holder = bare_cmd(dir.path())
        .arg("--runtime-dir")
        .arg(&runtime)
        .args(["slots", "exec", "--max", "1", "--", "sh", "-c", &script])
        .spawn_retrying();
    crate::common::wait_until(20, "the holder never started", || started.exists());
    let mut waiters: Vec<_> = (0..WAITERS)
        .map(|_| {
            spawn_guarded(
                &runtime,
                &log,
                &["--max", "1", "--wait", "120"],
                "hold",
                (0, 0),
                false,
            )
        })
        .collect();
    let queue = runtime.join("llm/queue");
    crate::common::wait_until(60, "the waiters never all queued", || {
        std::fs::read_dir(&queue).is_ok_and(|entries| {
            entries
                .filter(|e| {
                    e.as_ref()
                        .is_ok_and(|e| e.file_name().to_string_lossy().starts_with("t-"))
                })
                .count()
                == WAITERS
        })
    });
    let total = || waiters.iter().map(|w| cpu_ticks(w.id())).sum::<u64>();
    // On a loaded machine a waiter may still be finishing its start after
    // it queued; a waiter that polls spends CPU in every second, so one
    // quiet second out of five is enough.
    let mut spent = u64::MAX;
    for _ in 0..5 {
        let before = total();
        std::thread::sleep(Duration::from_secs(1));
        spent = spent.min(total() - before);
        if spent <= 10 {
            break;
        }
    }
    std::fs::write(&release, "").unwrap();
    // A waiter that polls costs every waiter CPU all the time; a waiter that
    // sleeps in the kernel costs none. Only the one head polls the slot.
    assert!(
        spent <= 10,
        "{WAITERS} waiters used at least {spent} clock ticks of CPU in each of five seconds"
    );
    assert_eq!(holder.wait().unwrap().code(), Some(0));
    for waiter in &mut waiters {
        assert_eq!(waiter.wait().unwrap().code(), Some(0));
    }
}

#[cfg(not(unix))]
skipped_here!(
    status_shows_a_holder_with_a_huge_command_line,
    "runs its command through sh"
);

#[cfg(unix)]
#[test]
fn status_shows_a_holder_with_a_huge_command_line() {
    use crate::common::SpawnRetrying;
    let dir = tempfile::tempdir().unwrap();
    let started = dir.path().join("started");
    let script = format!("touch '{}'; sleep 3", started.display());
    let huge = "x".repeat(100 * 1024);
    let mut holder = bare_cmd(dir.path())
        .arg("--runtime-dir")
        .arg(dir.path().join("runtime"))
        .args([
            "slots", "exec", "--max", "1", "--", "sh", "-c", &script, "sh",
        ])
        .arg(&huge)
        .spawn_retrying();
    crate::common::wait_until(20, "the holder never started", || started.exists());
    let report = status(dir.path());
    let slot = &report["slots"][0];
    assert_eq!(slot["pid"], holder.id(), "{slot}");
    let command: Vec<&str> = slot["command"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(&command[..3], &["sh", "-c", script.as_str()]);
    assert!(command[4].ends_with('…') && command[4].len() < huge.len());
    holder.wait().unwrap();
}

#[test]
fn commands_resolve_only_the_settings_they_use() {
    let env = crate::common::TestEnv::new();
    let out = bare_cmd(env.dir.path())
        .env_remove("HOME")
        .env_remove("APPDATA")
        .env_remove("XDG_CONFIG_HOME")
        .arg("--runtime-dir")
        .arg(env.dir.path().join("runtime"))
        .args(["slots", "exec", "--max", "1", "--"])
        .args(crate::common::quick_command())
        .output_retrying();
    assert_eq!(
        out.status.code(),
        Some(0),
        "slots exec needs no database: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    env.ok(&["init"]);
    let stats = env
        .cmd()
        .env("SQLITE_GRAPHRAG_MAX_SLOTS", "many")
        .arg("stats")
        .output_retrying();
    assert!(stats.status.success(), "a slot count breaks stats");
    let status = bare_cmd(env.dir.path())
        .env("SQLITE_GRAPHRAG_MAX_SLOTS", "many")
        .arg("--runtime-dir")
        .arg(env.dir.path().join("runtime"))
        .args(["slots", "status"])
        .output_retrying();
    assert_eq!(status.status.code(), Some(5), "slots verbs use the count");
}

#[cfg(unix)]
#[test]
fn the_largest_pool_fits_a_low_open_file_limit_and_the_command_keeps_it() {
    let dir = tempfile::tempdir().unwrap();
    let script = format!(
        "ulimit -Sn 256 && exec '{}' --runtime-dir '{}' slots exec --pool big --max 1024 -- sh -c 'ulimit -Sn'",
        crate::common::binary().display(),
        dir.path().join("runtime").display()
    );
    let out = std::process::Command::new("sh")
        .args(["-c", &script])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir.path())
        .output_retrying();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "256");
}
