//! `slots exec` as a wrapper: the terminal, its own messages, its exit codes.

use std::path::Path;
use std::process::Output;

use serde_json::Value;

use crate::common::{StartRetrying, bare_cmd};

/// Checks a failure of `slots exec` itself: exit `code`, nothing on stdout
/// (it belongs to the wrapped command), and the error envelope as the last
/// line of stderr, after the readable message. Returns the error object.
pub fn wrapper_error(out: &Output, code: i32) -> Value {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "stderr: {stderr}");
    assert!(
        out.stdout.is_empty(),
        "the wrapper wrote on its command's stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let last = stderr.lines().last().unwrap_or_default();
    let envelope: Value = serde_json::from_str(last)
        .unwrap_or_else(|e| panic!("the last stderr line is not JSON ({e}): {stderr}"));
    let error = envelope["error"].clone();
    assert!(
        error["kind"].is_string() && error["message"].is_string(),
        "{envelope}"
    );
    let message = error["message"].as_str().unwrap();
    assert!(
        stderr.starts_with(&format!("error: {message}\n")),
        "no readable message first: {stderr}"
    );
    error
}

fn exec(dir: &Path, args: &[&str]) -> Output {
    bare_cmd(dir)
        .arg("--runtime-dir")
        .arg(dir.join("runtime"))
        .args(["slots", "exec"])
        .args(args)
        .output_retrying()
}

#[test]
fn the_wrappers_own_failures_are_125_on_stderr_only() {
    let dir = tempfile::tempdir().unwrap();
    let created = bare_cmd(dir.path())
        .arg("--runtime-dir")
        .arg(dir.path().join("runtime"))
        .args(["slots", "resize", "--max", "2"])
        .output_retrying();
    assert_eq!(created.status.code(), Some(0));
    let mismatch = wrapper_error(&exec(dir.path(), &["--max", "3", "--", "true"]), 125);
    assert_eq!(mismatch["kind"], "invalid_input");
    let zero = wrapper_error(&exec(dir.path(), &["--max", "0", "--", "true"]), 125);
    assert_eq!(zero["kind"], "usage");
    let bad_pool = wrapper_error(&exec(dir.path(), &["--pool", "a/b", "--", "true"]), 125);
    assert_eq!(bad_pool["kind"], "invalid_input");
}

#[test]
fn a_configuration_error_is_the_wrappers_own_failure() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.json");
    std::fs::write(&config, "{not json").unwrap();
    let out = bare_cmd(dir.path())
        .env("SQLITE_GRAPHRAG_CONFIG", &config)
        .args(["slots", "exec", "--", "true"])
        .output_retrying();
    assert_eq!(wrapper_error(&out, 125)["kind"], "invalid_input");
}

#[cfg(not(unix))]
skipped_here!(the_command_keeps_its_stdout_and_its_exit_code, "runs sh");

#[cfg(unix)]
#[test]
fn the_command_keeps_its_stdout_and_its_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let out = exec(dir.path(), &["--", "sh", "-c", "echo hello; exit 5"]);
    assert_eq!(out.status.code(), Some(5));
    assert_eq!(out.stdout, b"hello\n");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_missing_command_is_127_on_stderr_only() {
    let dir = tempfile::tempdir().unwrap();
    let out = exec(dir.path(), &["--", "no-such-command-anywhere"]);
    assert_eq!(wrapper_error(&out, 127)["kind"], "command_not_found");
}

#[cfg(not(unix))]
skipped_here!(
    a_command_that_cannot_run_is_126_on_stderr_only,
    "makes a file that is not executable through Unix permissions"
);

#[cfg(unix)]
#[test]
fn a_command_that_cannot_run_is_126_on_stderr_only() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("not-executable");
    std::fs::write(&script, "#!/bin/sh\n").unwrap();
    let out = exec(dir.path(), &["--", script.to_str().unwrap()]);
    assert_eq!(wrapper_error(&out, 126)["kind"], "command_not_executable");
}

#[cfg(not(unix))]
skipped_here!(
    a_command_reads_the_terminal_and_the_terminal_comes_back,
    "needs a pseudo-terminal and process groups (Unix)"
);

#[cfg(not(unix))]
skipped_here!(
    a_job_put_in_the_background_leaves_the_terminal_to_the_shell,
    "needs a pseudo-terminal and job control (Unix)"
);

#[cfg(not(target_os = "linux"))]
skipped_here!(
    a_stopped_command_stops_the_wrapper_and_both_resume,
    "watches process states through /proc, which only Linux has"
);

#[cfg(unix)]
mod terminal {
    use std::io::{Read, Write};
    use std::os::fd::{AsFd, OwnedFd};
    use std::os::unix::process::CommandExt;
    use std::process::{Child, Command, Stdio};
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    use rustix::fs::{Mode, OFlags};
    use rustix::process::{Pid, Signal};

    use crate::common::{SpawnRetrying, binary};

    /// A command started as the session leader of a new pseudo-terminal,
    /// with everything it writes to the terminal collected.
    struct OnPty {
        child: Child,
        master: std::fs::File,
        seen: Arc<Mutex<Vec<u8>>>,
    }

    impl OnPty {
        fn start(mut command: Command) -> Self {
            let master = rustix::pty::openpt(
                rustix::pty::OpenptFlags::RDWR | rustix::pty::OpenptFlags::NOCTTY,
            )
            .unwrap();
            rustix::pty::grantpt(&master).unwrap();
            rustix::pty::unlockpt(&master).unwrap();
            let name = rustix::pty::ptsname(&master, Vec::new()).unwrap();
            let slave: OwnedFd = rustix::fs::open(
                name.as_c_str(),
                OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .unwrap();
            let file = || Stdio::from(slave.as_fd().try_clone_to_owned().unwrap());
            command.stdin(file()).stdout(file()).stderr(file());
            // SAFETY: runs in the forked child before exec; setsid and the
            // ioctl are async-signal-safe system calls.
            unsafe {
                command.pre_exec(|| {
                    rustix::process::setsid()?;
                    rustix::process::ioctl_tiocsctty(std::io::stdin())?;
                    Ok(())
                });
            }
            let child = command.spawn_retrying();
            drop(command);
            drop(slave);
            let master = std::fs::File::from(master);
            let seen = Arc::new(Mutex::new(Vec::new()));
            let mut reader = master.try_clone().unwrap();
            let sink = Arc::clone(&seen);
            std::thread::spawn(move || {
                let mut chunk = [0u8; 4096];
                while let Ok(n) = reader.read(&mut chunk) {
                    if n == 0 {
                        break;
                    }
                    sink.lock().unwrap().extend_from_slice(&chunk[..n]);
                }
            });
            OnPty {
                child,
                master,
                seen,
            }
        }

        fn type_in(&mut self, text: &str) {
            self.master.write_all(text.as_bytes()).unwrap();
        }

        fn seen(&self) -> String {
            String::from_utf8_lossy(&self.seen.lock().unwrap()).into_owned()
        }

        /// Waits up to 30 s for `ready`; on failure kills the session.
        fn wait_for(&mut self, what: &str, mut ready: impl FnMut(&mut Self) -> bool) {
            let deadline = Instant::now() + Duration::from_secs(30);
            while !ready(self) {
                if Instant::now() > deadline {
                    self.kill();
                    panic!("{what}; the terminal showed:\n{}", self.seen());
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }

        fn kill(&mut self) {
            let group = Pid::from_raw(self.child.id() as i32).unwrap();
            let _ = rustix::process::kill_process_group(group, Signal::KILL);
            let _ = self.child.wait();
        }

        fn exit_code(&mut self) -> Option<i32> {
            self.wait_for("the session never ended", |pty| {
                pty.child.try_wait().unwrap().is_some()
            });
            self.child.wait().unwrap().code()
        }
    }

    /// A command with only `PATH` from this environment, and `HOME` in `dir`.
    fn hermetic(program: impl AsRef<std::ffi::OsStr>, dir: &std::path::Path) -> Command {
        let mut command = Command::new(program);
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", dir);
        command
    }

    fn exec_line(runtime: &std::path::Path, command: &str) -> String {
        format!(
            "'{}' --runtime-dir '{}' slots exec -- sh -c '{command}'",
            binary().display(),
            runtime.display()
        )
    }

    #[test]
    fn a_command_reads_the_terminal_and_the_terminal_comes_back() {
        let dir = tempfile::tempdir().unwrap();
        let runtime = dir.path().join("runtime");
        let script = format!(
            "{}; echo exec:$?; read y; echo after:$y",
            exec_line(&runtime, "read x; echo got:$x")
        );
        let mut command = hermetic("sh", dir.path());
        command.args(["-c", &script]);
        let mut pty = OnPty::start(command);
        pty.type_in("one\ntwo\n");
        pty.wait_for("the command never read the terminal", |pty| {
            pty.seen().contains("after:")
        });
        let seen = pty.seen();
        assert!(seen.contains("got:one"), "{seen}");
        assert!(seen.contains("exec:0"), "{seen}");
        assert!(
            seen.contains("after:two"),
            "the terminal was not given back: {seen}"
        );
        assert_eq!(pty.exit_code(), Some(0));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_stopped_command_stops_the_wrapper_and_both_resume() {
        let dir = tempfile::tempdir().unwrap();
        let mut command = hermetic(binary(), dir.path());
        command
            .arg("--runtime-dir")
            .arg(dir.path().join("runtime"))
            .args([
                "slots",
                "exec",
                "--",
                "sh",
                "-c",
                "kill -STOP $$; read x; echo got:$x",
            ]);
        let mut pty = OnPty::start(command);
        let stat = format!("/proc/{}/stat", pty.child.id());
        let stopped = |_: &mut OnPty| {
            std::fs::read_to_string(&stat)
                .is_ok_and(|s| s.rsplit(')').next().unwrap().trim_start().starts_with('T'))
        };
        pty.wait_for("the wrapper did not stop with its command", stopped);
        pty.type_in("one\n");
        let pid = Pid::from_raw(pty.child.id() as i32).unwrap();
        rustix::process::kill_process(pid, Signal::CONT).unwrap();
        pty.wait_for("the command did not resume", |pty| {
            pty.seen().contains("got:one")
        });
        assert_eq!(pty.exit_code(), Some(0));
    }

    #[test]
    fn a_job_put_in_the_background_leaves_the_terminal_to_the_shell() {
        let dir = tempfile::tempdir().unwrap();
        let runtime = dir.path().join("runtime");
        let mut command = hermetic("bash", dir.path());
        command
            .args(["--norc", "--noprofile", "-i"])
            .env("PS1", "ready$ ");
        let mut pty = OnPty::start(command);
        pty.wait_for("the shell never started", |pty| {
            pty.seen().contains("ready$")
        });
        let line = exec_line(&runtime, "echo start''ed; sleep 2; echo fini''shed");
        pty.type_in(&format!("{line}\n"));
        pty.wait_for("the command never started", |pty| {
            pty.seen().contains("started")
        });
        // Ctrl-Z while sh is still starting `sleep` (between vfork and
        // exec) stops the new child while sh cannot stop: nobody would see
        // the job stop. By now sh is waiting for `sleep`.
        std::thread::sleep(Duration::from_millis(300));
        pty.type_in("\x1a");
        pty.wait_for("Ctrl-Z did not stop the job", |pty| {
            pty.seen().contains("Stopped")
        });
        pty.type_in("bg\n");
        pty.wait_for("the job did not finish in the background", |pty| {
            pty.seen().contains("finished")
        });
        std::thread::sleep(Duration::from_millis(200));
        pty.type_in("echo ali''ve; exit\n");
        pty.wait_for("the shell lost its terminal", |pty| {
            pty.seen().contains("alive")
        });
        assert_eq!(pty.exit_code(), Some(0));
    }
}
