//! The slot semaphore against crashes at the wrong moment, a pool that
//! shrinks under its waiters, locks that someone keeps, odd waits and odd
//! runtime paths.

use std::path::Path;
#[cfg(unix)]
use std::process::{Child, Output, Stdio};
#[cfg(unix)]
use std::time::{Duration, Instant};

use serde_json::Value;

#[cfg(unix)]
use crate::common::{SpawnRetrying, wait_until};
use crate::common::{StartRetrying, bare_cmd};
#[cfg(unix)]
use crate::test_exec::wrapper_error;

fn slots_in(dir: &Path, runtime: &Path, args: &[&str]) -> std::process::Command {
    let mut cmd = bare_cmd(dir);
    cmd.arg("--runtime-dir")
        .arg(runtime)
        .arg("slots")
        .args(args);
    cmd
}

fn status_of(dir: &Path, runtime: &Path) -> Value {
    let out = slots_in(dir, runtime, &["status"]).output_retrying();
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

#[cfg(unix)]
/// Waits for `child` at most `secs`, killing it (and failing) if it hangs.
fn finishes_within(mut child: Child, secs: u64, what: &str) -> Output {
    let end = Instant::now() + Duration::from_secs(secs);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() >= end {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("{what} still ran after {secs} s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn an_empty_pool_record_left_by_a_crash_is_written_again() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = dir.path().join("runtime");
    std::fs::create_dir_all(runtime.join("llm")).unwrap();
    std::fs::write(runtime.join("llm/pool.json"), "").unwrap();
    status_of(dir.path(), &runtime);
    let [quick, version] = crate::common::quick_command();
    let out = slots_in(
        dir.path(),
        &runtime,
        &["exec", "--max", "2", "--", &quick, &version],
    )
    .output_retrying();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let record: Value =
        serde_json::from_slice(&std::fs::read(runtime.join("llm/pool.json")).unwrap()).unwrap();
    assert_eq!(record["max"], 2);
}

/// A `slots exec` whose command writes the slot it got into `got` and then
/// waits until `release` exists (or its folder is gone, after a failed test).
#[cfg(unix)]
fn holder(dir: &Path, runtime: &Path, exec_args: &[&str], got: &Path, release: &Path) -> Child {
    let script = r#"echo "$SQLITE_GRAPHRAG_SLOT" > "$1.tmp"; mv "$1.tmp" "$1"; while [ ! -e "$2" ] && [ -d "${2%/*}" ]; do sleep 0.02; done"#;
    let mut args = vec!["exec"];
    args.extend(exec_args);
    args.extend(["--", "sh", "-c", script, "sh"]);
    slots_in(dir, runtime, &args)
        .arg(got)
        .arg(release)
        .stdout(Stdio::null())
        .spawn_retrying()
}

#[cfg(unix)]
fn slot_got(got: &Path) -> String {
    let text = std::fs::read_to_string(got).unwrap();
    text.trim().rsplit('/').next().unwrap().to_owned()
}

#[cfg(unix)]
#[test]
fn a_pool_shrunk_while_waiting_admits_nobody_above_its_new_size() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = dir.path().join("runtime");
    let path = |name: &str| dir.path().join(name);
    let mut holders = Vec::new();
    for name in ["a", "b"] {
        let got = path(&format!("{name}.got"));
        holders.push(holder(
            dir.path(),
            &runtime,
            &["--max", "2"],
            &got,
            &path(&format!("{name}.release")),
        ));
        wait_until(20, "a holder never started", || got.exists());
    }
    let waiter = holder(
        dir.path(),
        &runtime,
        &["--wait", "120"],
        &path("w.got"),
        &path("w.release"),
    );
    wait_until(20, "the waiter never took a ticket", || {
        std::fs::read_dir(runtime.join("llm/queue"))
            .unwrap()
            .any(|e| e.unwrap().file_name().to_string_lossy().starts_with("t-"))
    });
    let out = slots_in(dir.path(), &runtime, &["resize", "--max", "1"]).output_retrying();
    assert!(out.status.success(), "{out:?}");

    let status = status_of(dir.path(), &runtime);
    assert_eq!(
        (&status["max"], &status["held"], &status["free"]),
        (&1.into(), &2.into(), &0.into()),
        "{status}"
    );
    let slots = status["slots"].as_array().unwrap();
    assert!(
        slots.iter().any(|s| s["slot"] == 1 && s["held"] == true),
        "{status}"
    );

    let (high, low) = if slot_got(&path("a.got")) == "slot-1.lock" {
        ("a", "b")
    } else {
        ("b", "a")
    };
    std::fs::write(path(&format!("{high}.release")), "").unwrap();
    wait_until(20, "the holder of slot 1 never left", || {
        status_of(dir.path(), &runtime)["held"] == 1
    });
    // The waiter polls every millisecond or so: given half a second with
    // slot 1 free, the old code took it.
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        !path("w.got").exists(),
        "the waiter was admitted at {}",
        slot_got(&path("w.got"))
    );
    std::fs::write(path(&format!("{low}.release")), "").unwrap();
    wait_until(20, "the waiter never got slot 0", || path("w.got").exists());
    assert_eq!(slot_got(&path("w.got")), "slot-0.lock");
    std::fs::write(path("w.release"), "").unwrap();
    for child in holders.into_iter().chain([waiter]) {
        let out = finishes_within(child, 30, "a holder");
        assert_eq!(out.status.code(), Some(0));
    }
}

#[cfg(unix)]
#[test]
fn locks_kept_by_someone_else_do_not_outlast_the_wait() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = dir.path().join("runtime");
    let out = slots_in(dir.path(), &runtime, &["resize", "--max", "1"]).output_retrying();
    assert!(out.status.success(), "{out:?}");

    let pool_lock = std::fs::File::open(runtime.join("llm/pool.lock")).unwrap();
    fs4::FileExt::lock(&pool_lock).unwrap();
    let status = slots_in(dir.path(), &runtime, &["status"])
        .stdout(Stdio::piped())
        .spawn_retrying();
    let out = finishes_within(status, 30, "slots status on a kept pool.lock");
    assert_eq!(out.status.code(), Some(7), "{out:?}");
    let error: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("pool.lock"),
        "{error}"
    );
    let exec = slots_in(dir.path(), &runtime, &["exec", "--wait", "0", "--", "true"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn_retrying();
    let error = wrapper_error(
        &finishes_within(exec, 30, "slots exec on a kept pool.lock"),
        125,
    );
    assert_eq!(error["kind"], "busy");
    drop(pool_lock);

    let got = dir.path().join("got");
    let release = dir.path().join("release");
    let mut busy = holder(dir.path(), &runtime, &[], &got, &release);
    wait_until(20, "the holder never started", || got.exists());
    std::fs::create_dir_all(runtime.join("llm/queue")).unwrap();
    let counter = std::fs::File::create(runtime.join("llm/queue/counter")).unwrap();
    fs4::FileExt::lock(&counter).unwrap();
    let exec = slots_in(
        dir.path(),
        &runtime,
        &["exec", "--wait", "0.5", "--", "true"],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn_retrying();
    let error = wrapper_error(
        &finishes_within(exec, 30, "slots exec on a kept counter"),
        75,
    );
    assert!(
        error["message"].as_str().unwrap().contains("counter"),
        "{error}"
    );
    std::fs::write(&release, "").unwrap();
    busy.wait().unwrap();
}

#[test]
fn a_huge_wait_is_a_long_wait() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = dir.path().join("runtime");
    let [quick, version] = crate::common::quick_command();
    for wait in ["1e300", "inf"] {
        let out = slots_in(
            dir.path(),
            &runtime,
            &["exec", "--wait", wait, "--", &quick, &version],
        )
        .output_retrying();
        assert_eq!(out.status.code(), Some(0), "--wait {wait}: {out:?}");
    }
    for (wait, reason) in [("-1", "zero or more"), ("NaN", "not a number")] {
        let flag = format!("--wait={wait}");
        let out = slots_in(dir.path(), &runtime, &["exec", &flag, "--", "true"]).output_retrying();
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(reason), "--wait {wait}: {stderr}");
    }
}

#[cfg(unix)]
#[test]
fn a_nested_exec_finds_its_slot_in_a_runtime_path_that_is_not_utf8() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let runtime = dir.path().join(std::ffi::OsStr::from_bytes(b"rt\xff"));
    let binary = crate::common::binary();
    let out = bare_cmd(dir.path())
        .env("SQLITE_GRAPHRAG_RUNTIME_DIR", &runtime)
        .args(["slots", "exec", "--max", "1", "--wait", "0", "--"])
        .arg(&binary)
        .args(["slots", "exec", "--wait", "0", "--", "true"])
        .output_retrying();
    assert_eq!(
        out.status.code(),
        Some(0),
        "the inner exec waited for a second slot: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[cfg(unix)]
fn runtime_dir_used(dir: &Path, xdg: &std::ffi::OsStr, cwd: &Path) -> (String, String) {
    let out = bare_cmd(dir)
        .env("XDG_RUNTIME_DIR", xdg)
        .current_dir(cwd)
        .args(["slots", "status"])
        .output_retrying();
    assert!(out.status.success(), "{out:?}");
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    (
        status["dir"].as_str().unwrap().to_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[cfg(unix)]
#[test]
fn an_untrusted_or_relative_xdg_runtime_dir_is_ignored_with_a_warning() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let uid = rustix::process::getuid().as_raw();
    let fallback = dir.path().join(format!("sqlite-graphrag-{uid}/llm"));
    let xdg = dir.path().join("xdg");
    std::fs::create_dir(&xdg).unwrap();
    std::fs::set_permissions(&xdg, std::fs::Permissions::from_mode(0o700)).unwrap();
    let (used, _) = runtime_dir_used(dir.path(), xdg.as_os_str(), dir.path());
    assert_eq!(Path::new(&used), xdg.join("sqlite-graphrag/llm"));

    std::fs::set_permissions(&xdg, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (used, warning) = runtime_dir_used(dir.path(), xdg.as_os_str(), dir.path());
    assert_eq!(Path::new(&used), fallback, "{warning}");
    assert!(warning.contains("XDG_RUNTIME_DIR"), "{warning}");

    let (used, warning) = runtime_dir_used(dir.path(), "rel".as_ref(), &xdg);
    assert_eq!(Path::new(&used), fallback, "{warning}");
    assert!(warning.contains("absolute"), "{warning}");

    if rustix::process::geteuid().is_root() {
        std::fs::set_permissions(&xdg, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::os::unix::fs::chown(&xdg, Some(1003), Some(1003)).unwrap();
        let (used, warning) = runtime_dir_used(dir.path(), xdg.as_os_str(), dir.path());
        assert_eq!(Path::new(&used), fallback, "{warning}");
        assert!(warning.contains("uid 1003"), "{warning}");
    }
}

#[cfg(unix)]
#[test]
fn a_nested_exec_keeps_its_parents_slot_after_the_pool_shrank() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = dir.path().join("runtime");
    let started = dir.path().join("started");
    // The holder takes slot 0 of a one-slot pool; grown to two, the pool
    // leaves slot 1 to the command under test.
    let holder = bare_cmd(dir.path())
        .env("SQLITE_GRAPHRAG_RUNTIME_DIR", &runtime)
        .args(["slots", "exec", "--max", "1", "--", "sh", "-c"])
        .arg(format!("touch '{}'; sleep 10", started.display()))
        .spawn_retrying();
    wait_until(20, "the holder of slot 0 never started", || {
        started.exists()
    });
    let grown = slots_in(dir.path(), &runtime, &["resize", "--max", "2"]).output_retrying();
    assert!(grown.status.success(), "{grown:?}");
    let binary = crate::common::binary();
    let inner = format!(
        "'{b}' slots resize --max 1 >/dev/null && '{b}' slots exec --wait 0 -- true",
        b = binary.display()
    );
    let out = bare_cmd(dir.path())
        .env("SQLITE_GRAPHRAG_RUNTIME_DIR", &runtime)
        .args(["slots", "exec", "--wait", "5", "--", "sh", "-c", &inner])
        .output_retrying();
    let mut holder = holder;
    let _ = holder.kill();
    let _ = holder.wait();
    assert_eq!(
        out.status.code(),
        Some(0),
        "the nested exec did not find its parent's slot above the new size: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
