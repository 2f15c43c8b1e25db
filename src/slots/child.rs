//! Running a command under a held slot, so that the slot covers its whole
//! process tree.
//!
//! On Unix the child:
//! - runs in its own process group, which is signalled as a whole on
//!   timeout or when this process is interrupted;
//! - inherits the locked slot descriptor (close-on-exec cleared), so the
//!   slot stays held until every process of the tree has exited, even if
//!   this process is SIGKILLed;
//! - on Linux, gets SIGKILL when this process dies (parent-death signal).
//!
//! On Windows the child gets its own process group too, but the lock
//! belongs to this process: if it is killed, the slot is freed even while
//! the child still runs.

use std::ffi::OsString;
use std::process::{Child, Command, ExitStatus};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use super::SlotGuard;
use crate::error::{Error, ErrorKind, Result};

/// How long a signalled process group gets to exit before SIGKILL.
pub const KILL_GRACE: Duration = Duration::from_secs(2);
/// Longest pause between checks of the child, the clock and signals.
const MAX_POLL: Duration = Duration::from_millis(20);

/// The last termination signal this process received (0: none).
static RECEIVED_SIGNAL: AtomicUsize = AtomicUsize::new(0);

/// How a guarded command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildEnd {
    /// It exited with this code.
    Exited(i32),
    /// It was killed by this signal (not sent by us).
    Signaled(i32),
    /// It ran past the timeout; its process group was killed.
    TimedOut,
    /// This process received this signal; it was passed on to the group.
    Interrupted(i32),
}

impl ChildEnd {
    /// Returns the exit code a shell would report for this end:
    /// the child's own code, or 128 + the signal number.
    pub fn exit_code(self) -> i32 {
        match self {
            ChildEnd::Exited(code) => code,
            ChildEnd::Signaled(signal) | ChildEnd::Interrupted(signal) => 128 + signal,
            ChildEnd::TimedOut => i32::from(ErrorKind::Timeout.exit_code()),
        }
    }
}

/// Runs `program` with `args` while `guard` is held, passing stdin, stdout
/// and stderr through, and waits for it. With `timeout`, the process group
/// is sent SIGTERM when it expires, then SIGKILL after [`KILL_GRACE`].
///
/// # Failure
/// Command-not-found (127) or command-not-executable (126) if it cannot be
/// started; I/O errors waiting for it.
pub fn run_guarded(
    guard: &SlotGuard,
    program: &OsString,
    args: &[OsString],
    timeout: Option<Duration>,
) -> Result<ChildEnd> {
    install_signal_flags();
    let mut command = Command::new(program);
    command.args(args);
    prepare(&mut command, guard);
    let mut child = command.spawn().map_err(|e| {
        let name = program.to_string_lossy();
        match e.kind() {
            std::io::ErrorKind::NotFound => Error::new(
                ErrorKind::CommandNotFound,
                format!("command not found: {name}"),
            ),
            _ => Error::new(
                ErrorKind::CommandNotExecutable,
                format!("cannot run {name}: {e}"),
            ),
        }
    })?;
    let started = Instant::now();
    let mut pause = Duration::from_millis(1);
    loop {
        if let Some(status) = child
            .try_wait()
            .map_err(|e| Error::io("waiting for the command", e))?
        {
            return Ok(end_of(status));
        }
        let signal = RECEIVED_SIGNAL.load(Ordering::SeqCst);
        if signal != 0 {
            stop_group(&mut child, signal as i32)?;
            return Ok(ChildEnd::Interrupted(signal as i32));
        }
        if timeout.is_some_and(|t| started.elapsed() >= t) {
            stop_group(&mut child, TERMINATE)?;
            return Ok(ChildEnd::TimedOut);
        }
        thread::sleep(pause);
        pause = (pause * 2).min(MAX_POLL);
    }
}

/// Records SIGINT, SIGTERM (and SIGHUP on Unix) instead of dying at once,
/// so the guarded group can be stopped first.
fn install_signal_flags() {
    #[cfg(unix)]
    let signals = [
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ];
    #[cfg(not(unix))]
    let signals = [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM];
    for signal in signals {
        if let Err(e) = signal_hook::flag::register_usize(signal, &RECEIVED_SIGNAL, signal as usize)
        {
            tracing::warn!("cannot handle signal {signal}: {e}");
        }
    }
}

#[cfg(unix)]
const TERMINATE: i32 = signal_hook::consts::SIGTERM;
#[cfg(not(unix))]
const TERMINATE: i32 = 15;

#[cfg(unix)]
fn prepare(command: &mut Command, guard: &SlotGuard) {
    use std::os::fd::{AsRawFd, BorrowedFd};
    use std::os::unix::process::CommandExt;

    command.process_group(0);
    let Some(file) = guard.file() else {
        return;
    };
    let fd = file.as_raw_fd();
    command.env(
        super::ENV_INHERITED_SLOT,
        format!("{fd}:{}", guard.path().display()),
    );
    let parent = rustix::process::getpid();
    // SAFETY: the closure runs in the forked child before exec and only makes
    // async-signal-safe system calls (fcntl, prctl, getppid).
    unsafe {
        command.pre_exec(move || {
            let slot_fd = BorrowedFd::borrow_raw(fd);
            rustix::io::fcntl_setfd(slot_fd, rustix::io::FdFlags::empty())?;
            #[cfg(target_os = "linux")]
            {
                rustix::process::set_parent_process_death_signal(Some(
                    rustix::process::Signal::KILL,
                ))?;
                // The parent may have died before the death signal was armed.
                if rustix::process::getppid() != Some(parent) {
                    return Err(std::io::Error::other("the guarding process exited"));
                }
            }
            #[cfg(not(target_os = "linux"))]
            let _ = parent;
            Ok(())
        });
    }
}

#[cfg(not(unix))]
fn prepare(command: &mut Command, _guard: &SlotGuard) {
    use std::os::windows::process::CommandExt;
    const CREATE_NEW_PROCESS_GROUP: u32 = 0x0000_0200;
    command.creation_flags(CREATE_NEW_PROCESS_GROUP);
}

#[cfg(unix)]
fn end_of(status: ExitStatus) -> ChildEnd {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => ChildEnd::Exited(code),
        (None, Some(signal)) => ChildEnd::Signaled(signal),
        (None, None) => ChildEnd::Exited(1),
    }
}

#[cfg(not(unix))]
fn end_of(status: ExitStatus) -> ChildEnd {
    ChildEnd::Exited(status.code().unwrap_or(1))
}

/// Sends `signal` to the child's process group, waits up to [`KILL_GRACE`]
/// for the child, then kills the whole group and reaps the child.
#[cfg(unix)]
fn stop_group(child: &mut Child, signal: i32) -> Result<()> {
    use rustix::process::{Pid, Signal, kill_process_group};
    let group = Pid::from_child(child);
    let signal = Signal::from_named_raw(signal).unwrap_or(Signal::TERM);
    let _ = kill_process_group(group, signal);
    let deadline = Instant::now() + KILL_GRACE;
    while Instant::now() < deadline {
        if child
            .try_wait()
            .map_err(|e| Error::io("waiting for the command", e))?
            .is_some()
        {
            break;
        }
        thread::sleep(Duration::from_millis(5));
    }
    // Whatever is left of the group (the child, or processes it started) goes now.
    let _ = kill_process_group(group, Signal::KILL);
    child
        .wait()
        .map_err(|e| Error::io("waiting for the command", e))?;
    Ok(())
}

#[cfg(not(unix))]
fn stop_group(child: &mut Child, _signal: i32) -> Result<()> {
    let _ = child.kill();
    child
        .wait()
        .map_err(|e| Error::io("waiting for the command", e))?;
    Ok(())
}
