//! The runtime folder against other local users: planted symbolic and hard
//! links are never written through, a per-user folder someone else made is
//! refused, and a shared folder works for several users only when sticky.
//!
//! The tests that need two users run the binary under other uids, which
//! only root can do; elsewhere they say so and pass.
#![cfg(unix)]

use std::os::unix::fs::{PermissionsExt, symlink};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::common::{SpawnRetrying, StartRetrying, bare_cmd};

const VICTIM_TEXT: &str = "precious\n";
/// The user whose files are at stake, and another local user.
const VICTIM_UID: u32 = 1002;
const OTHER_UID: u32 = 1003;

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn chown(path: &Path, uid: u32) {
    std::os::unix::fs::lchown(path, Some(uid), Some(uid)).unwrap();
}

/// A file the victim owns and can write, outside any runtime folder.
fn victim_file(dir: &Path, uid: u32) -> PathBuf {
    let home = dir.join("victim-home");
    std::fs::create_dir(&home).unwrap();
    let file = home.join("precious.txt");
    std::fs::write(&file, VICTIM_TEXT).unwrap();
    chown(&home, uid);
    chown(&file, uid);
    file
}

fn slots_cmd(dir: &Path, runtime: Option<&Path>, args: &[&str]) -> Command {
    let mut cmd = bare_cmd(dir);
    cmd.env_remove("SQLITE_GRAPHRAG_RUNTIME_DIR")
        .env_remove("XDG_RUNTIME_DIR")
        .env("TMPDIR", dir.join("tmp"));
    if let Some(runtime) = runtime {
        cmd.arg("--runtime-dir").arg(runtime);
    }
    cmd.arg("slots").args(args);
    cmd
}

fn as_user(mut cmd: Command, uid: u32) -> Output {
    cmd.uid(uid).gid(uid).output_retrying()
}

/// The error envelope's object: on stdout, or for a failure of `slots exec`
/// itself (whose stdout belongs to its command), on the last line of stderr.
fn error_of(out: &Output) -> Value {
    let envelope = if out.stdout.is_empty() {
        out.stderr
            .rsplit(|&b| b == b'\n')
            .find(|line| !line.is_empty())
            .unwrap_or_default()
    } else {
        &out.stdout[..]
    };
    let json: Value = serde_json::from_slice(envelope).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    json["error"].clone()
}

/// A private temporary folder that other uids may enter, with a sticky
/// world-writable `tmp` inside (like /tmp).
fn shared_tempdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    chmod(dir.path(), 0o755);
    std::fs::create_dir(dir.path().join("tmp")).unwrap();
    chmod(&dir.path().join("tmp"), 0o1777);
    dir
}

fn running_as_root() -> bool {
    if rustix::process::geteuid().is_root() {
        return true;
    }
    eprintln!("not root: cannot run the binary as other users; skipped");
    false
}

#[test]
fn planted_symbolic_and_hard_links_are_never_written_through() {
    let dir = shared_tempdir();
    let victim = victim_file(dir.path(), rustix::process::geteuid().as_raw());
    let runtime = dir.path().join("runtime");
    for (name, hard) in [
        ("slot-0.lock", false),
        ("pool.json", false),
        ("slot-0.lock", true),
    ] {
        let _ = std::fs::remove_dir_all(&runtime);
        std::fs::create_dir_all(runtime.join("llm")).unwrap();
        let planted = runtime.join("llm").join(name);
        if hard {
            std::fs::hard_link(&victim, &planted).unwrap();
        } else {
            symlink(&victim, &planted).unwrap();
        }
        let out = slots_cmd(
            dir.path(),
            Some(&runtime),
            &["exec", "--max", "1", "--", "true"],
        )
        .output_retrying();
        assert_eq!(out.status.code(), Some(125), "{name} (hard link: {hard})");
        let error = error_of(&out);
        assert!(error["message"].as_str().unwrap().contains(name), "{error}");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), VICTIM_TEXT);
    }
}

#[test]
fn a_per_user_runtime_dir_made_by_another_user_is_refused() {
    if !running_as_root() {
        return;
    }
    let dir = shared_tempdir();
    let victim = victim_file(dir.path(), VICTIM_UID);
    let planted = dir.path().join(format!("tmp/sqlite-graphrag-{VICTIM_UID}"));
    std::fs::create_dir_all(planted.join("llm")).unwrap();
    symlink(&victim, planted.join("llm/slot-0.lock")).unwrap();
    for path in [&planted, &planted.join("llm")] {
        chmod(path, 0o777);
        chown(path, OTHER_UID);
    }
    chown(&planted.join("llm/slot-0.lock"), OTHER_UID);

    let out = as_user(
        slots_cmd(
            dir.path(),
            None,
            &["exec", "--max", "1", "--", "echo", "hi"],
        ),
        VICTIM_UID,
    );
    assert_eq!(out.status.code(), Some(125));
    let error = error_of(&out);
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains(&planted.display().to_string())
            && message.contains(&format!("uid {OTHER_UID}"))
            && message.contains("0777"),
        "{error}"
    );
    assert!(error["hint"].as_str().unwrap().contains("--runtime-dir"));
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), VICTIM_TEXT);

    std::fs::remove_dir_all(&planted).unwrap();
    let ok = as_user(
        slots_cmd(dir.path(), None, &["exec", "--max", "1", "--", "true"]),
        VICTIM_UID,
    );
    assert_eq!(ok.status.code(), Some(0), "{}", error_of(&ok));
    let made = std::fs::symlink_metadata(&planted).unwrap();
    use std::os::unix::fs::MetadataExt;
    assert_eq!((made.uid(), made.mode() & 0o7777), (VICTIM_UID, 0o700));
}

#[test]
fn a_shared_runtime_dir_serves_several_users_only_when_sticky() {
    if !running_as_root() {
        return;
    }
    let dir = shared_tempdir();
    let runtime = dir.path().join("shared");
    std::fs::create_dir(&runtime).unwrap();
    chmod(&runtime, 0o777);
    let exec = |uid| {
        as_user(
            slots_cmd(
                dir.path(),
                Some(&runtime),
                &["exec", "--max", "2", "--", "true"],
            ),
            uid,
        )
    };
    let refused = exec(VICTIM_UID);
    assert_eq!(refused.status.code(), Some(125));
    assert!(
        error_of(&refused)["message"]
            .as_str()
            .unwrap()
            .contains("sticky"),
        "{}",
        error_of(&refused)
    );

    chmod(&runtime, 0o1777);
    for uid in [VICTIM_UID, OTHER_UID, VICTIM_UID] {
        let out = exec(uid);
        assert_eq!(out.status.code(), Some(0), "uid {uid}: {}", error_of(&out));
    }
    let resized = as_user(
        slots_cmd(dir.path(), Some(&runtime), &["resize", "--max", "3"]),
        OTHER_UID,
    );
    assert_eq!(resized.status.code(), Some(0), "{}", error_of(&resized));
    let out = exec(VICTIM_UID);
    assert_eq!(
        error_of(&out)["message"]
            .as_str()
            .map(|m| m.contains("3 slots")),
        Some(true),
        "the other user's resize is what everyone follows"
    );
}

#[test]
fn a_planted_queue_counter_in_a_shared_dir_is_not_written_through() {
    if !running_as_root() {
        return;
    }
    let dir = shared_tempdir();
    let victim = victim_file(dir.path(), VICTIM_UID);
    let runtime = dir.path().join("shared");
    let queue = runtime.join("llm/queue");
    std::fs::create_dir_all(&queue).unwrap();
    chmod(&runtime, 0o1777);
    for path in [&runtime.join("llm"), &queue] {
        chmod(path, 0o1777);
        chown(path, OTHER_UID);
    }
    symlink(&victim, queue.join("counter")).unwrap();
    chown(&queue.join("counter"), OTHER_UID);
    let started = dir.path().join("tmp/started");
    let holder = slots_cmd(
        dir.path(),
        Some(&runtime),
        &[
            "exec",
            "--max",
            "1",
            "--",
            "sh",
            "-c",
            &format!("touch '{}'; sleep 3", started.display()),
        ],
    )
    .uid(OTHER_UID)
    .gid(OTHER_UID)
    .spawn()
    .unwrap();
    crate::common::wait_until(20, "the holder never started", || started.exists());
    let out = as_user(
        slots_cmd(
            dir.path(),
            Some(&runtime),
            &["exec", "--wait", "0", "--", "true"],
        ),
        VICTIM_UID,
    );
    assert_eq!(out.status.code(), Some(125), "{}", error_of(&out));
    assert!(
        error_of(&out)["message"]
            .as_str()
            .unwrap()
            .contains("counter")
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), VICTIM_TEXT);
    let mut holder = holder;
    holder.wait().unwrap();
}

#[test]
fn a_runtime_dir_is_never_reached_through_another_users_symbolic_link() {
    if !running_as_root() {
        return;
    }
    let dir = shared_tempdir();
    let victim = victim_file(dir.path(), VICTIM_UID);
    let home = victim.parent().unwrap().to_owned();
    let tmp = dir.path().join("tmp");
    let planted = tmp.join("shared-graphrag");
    symlink(&home, &planted).unwrap();
    chown(&planted, OTHER_UID);
    for runtime in [planted.clone(), planted.join("sub")] {
        let out = as_user(
            slots_cmd(dir.path(), Some(&runtime), &["exec", "--", "true"]),
            VICTIM_UID,
        );
        assert_eq!(out.status.code(), Some(125), "{}", runtime.display());
        let error = error_of(&out);
        let message = error["message"].as_str().unwrap();
        assert!(
            message.contains(&planted.display().to_string())
                && message.contains("symbolic link")
                && message.contains(&format!("uid {OTHER_UID}")),
            "{error}"
        );
        assert_eq!(error["kind"], "invalid_input");
    }
    let entries: Vec<_> = std::fs::read_dir(&home)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        entries,
        ["precious.txt"],
        "something was made in the victim's folder"
    );

    let own = tmp.join("own-link");
    symlink(&home, &own).unwrap();
    chown(&own, VICTIM_UID);
    let runtime = own.join("a/b");
    let out = as_user(
        slots_cmd(dir.path(), Some(&runtime), &["exec", "--", "true"]),
        VICTIM_UID,
    );
    assert_eq!(out.status.code(), Some(0), "{}", error_of(&out));
    use std::os::unix::fs::MetadataExt;
    for made in [home.join("a"), home.join("a/b")] {
        let meta = std::fs::symlink_metadata(&made).unwrap();
        assert_eq!(
            (meta.uid(), meta.mode() & 0o7777),
            (VICTIM_UID, 0o700),
            "{}",
            made.display()
        );
    }
}

#[test]
fn a_per_user_runtime_dir_blocked_by_a_private_folder_or_a_dangling_link_is_refused() {
    if !running_as_root() {
        return;
    }
    let dir = shared_tempdir();
    let planted = dir.path().join(format!("tmp/sqlite-graphrag-{VICTIM_UID}"));
    for dangling in [false, true] {
        if dangling {
            std::fs::remove_dir(&planted).unwrap();
            symlink(dir.path().join("tmp/nowhere"), &planted).unwrap();
        } else {
            std::fs::create_dir(&planted).unwrap();
            chmod(&planted, 0o700);
        }
        chown(&planted, OTHER_UID);
        let status = as_user(slots_cmd(dir.path(), None, &["status"]), VICTIM_UID);
        assert_eq!(status.status.code(), Some(5), "dangling link: {dangling}");
        let exec = as_user(
            slots_cmd(dir.path(), None, &["exec", "--", "true"]),
            VICTIM_UID,
        );
        assert_eq!(exec.status.code(), Some(125), "dangling link: {dangling}");
        for error in [error_of(&status), error_of(&exec)] {
            let message = error["message"].as_str().unwrap();
            assert_eq!(error["kind"], "invalid_input", "{error}");
            assert!(
                message.contains(&planted.display().to_string())
                    && message.contains(&format!("uid {OTHER_UID}"))
                    && message.contains("mode"),
                "{error}"
            );
            assert!(error["hint"].as_str().unwrap().contains("--runtime-dir"));
        }
    }
}

#[test]
fn users_of_a_group_creating_a_pool_at_once_are_never_refused() {
    if !running_as_root() {
        eprintln!("skipped: running as other users needs root");
        return;
    }
    // Members of one group, with the umask that narrows what they create:
    // a file or folder another member creates must never be seen with
    // that narrower mode (it would be opened read-only and fail).
    const GROUP: u32 = 2100;
    let members = [2001, 2002, 2003];
    for round in 0..8 {
        let dir = shared_tempdir();
        let runtime = dir.path().join("run");
        std::fs::create_dir(&runtime).unwrap();
        std::os::unix::fs::chown(&runtime, Some(0), Some(GROUP)).unwrap();
        chmod(&runtime, 0o3770);
        let children: Vec<_> = members
            .iter()
            .cycle()
            .take(9)
            .map(|&uid| {
                let mut cmd = slots_cmd(
                    dir.path(),
                    Some(&runtime),
                    &["exec", "--max", "2", "--wait", "60"],
                );
                cmd.args(["--", "sleep", "0.05"]).uid(uid).gid(GROUP);
                unsafe {
                    cmd.pre_exec(|| {
                        rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o022));
                        Ok(())
                    });
                }
                cmd.stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::piped())
                    .spawn_retrying()
            })
            .collect();
        for child in children {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "round {round}: {:?}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}
