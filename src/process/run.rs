//! Starting a [`Job`] and supervising it to its end.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use super::capture::{Reader, feed};
use super::job::Io;
use super::proc::{Event, Process, TERMINATE};
use super::signals::SignalWatch;
use super::{Captured, End, Finished, Job};
use crate::error::{Error, ErrorKind, Result};

/// How long a signalled process group gets to exit before SIGKILL; also
/// how long captured streams may stay open after the command ended.
pub const KILL_GRACE: Duration = Duration::from_secs(2);
/// Longest pause between checks of the command, the clock and signals.
const MAX_POLL: Duration = Duration::from_millis(20);

#[cfg(unix)]
type Terminal = super::terminal::Terminal;
/// Windows has no terminal hand-off.
#[cfg(not(unix))]
struct Terminal;

/// Runs `job` and waits for it to end.
///
/// # Failure
/// Command-not-found (127) or command-not-executable (126) if it cannot be
/// started; I/O errors waiting for it.
pub fn run(job: &Job) -> Result<Finished> {
    let watch = SignalWatch::start_at(job.signals_since);
    let terminal = terminal_for(job);
    let mut command = command_for(job, terminal.as_ref());
    let mut child = command.spawn().map_err(|e| spawn_error(job, e))?;
    note_started(terminal.as_ref(), &child);
    let overflow = Arc::new(AtomicBool::new(false));
    let rejected = Arc::new(AtomicBool::new(false));
    let mut readers = None;
    if let Io::Piped(capture) = &job.io {
        if let (Some(stdin), Some(input)) = (child.stdin.take(), capture.input.clone()) {
            feed(stdin, input);
        }
        readers = child
            .stdout
            .take()
            .zip(child.stderr.take())
            .map(|(out, err)| {
                (
                    Reader::start(
                        out,
                        capture.stdout_limit,
                        Some(Arc::clone(&overflow)),
                        job.stdout_check
                            .clone()
                            .map(|check| (check, Arc::clone(&rejected))),
                    ),
                    Reader::start(err, capture.stderr_limit, None, None),
                )
            });
    }
    let mut process = Process::new(child);
    let flags = StopFlags {
        overflow: &overflow,
        rejected: &rejected,
    };
    let end = supervise(&mut process, job, &watch, &flags, terminal.as_ref())
        .map_err(|e| Error::io("waiting for the command", e))?;
    let (stdout, stderr) = match readers {
        Some((out, err)) => {
            process.kill_group();
            let deadline = Instant::now() + KILL_GRACE;
            (out.finish(deadline), err.finish(deadline))
        }
        None => (Captured::default(), Captured::default()),
    };
    Ok(Finished {
        end,
        stdout,
        stderr,
    })
}

/// What the stdout reader raises to stop the run.
struct StopFlags<'a> {
    /// stdout outgrew its bound.
    overflow: &'a AtomicBool,
    /// The job's stdout check rejected what was read.
    rejected: &'a AtomicBool,
}

/// Polls the command until it ends, stopping its group on a signal, at the
/// timeout, when stdout overflows, or when its check rejects it.
fn supervise(
    process: &mut Process,
    job: &Job,
    watch: &SignalWatch,
    flags: &StopFlags<'_>,
    terminal: Option<&Terminal>,
) -> std::io::Result<End> {
    let overflow = flags.overflow;
    let started = Instant::now();
    let mut pause = Duration::from_millis(1);
    loop {
        match process.poll(terminal.is_some())? {
            // A command that wrote past the bound may die of the closed pipe first.
            Some(Event::Ended(_)) if overflow.load(Ordering::SeqCst) => {
                return Ok(End::StdoutOverflow);
            }
            Some(Event::Ended(_)) if flags.rejected.load(Ordering::SeqCst) => {
                return Ok(End::Rejected);
            }
            Some(Event::Ended(end)) => return Ok(end),
            Some(Event::Stopped(signal)) => {
                follow_stop(terminal, signal, process);
                continue;
            }
            None => {}
        }
        let stop_for = if let Some(signal) = watch.received() {
            Some((signal, End::Interrupted(signal)))
        } else if job.timeout.is_some_and(|t| started.elapsed() >= t) {
            Some((TERMINATE, End::TimedOut))
        } else if overflow.load(Ordering::SeqCst) {
            Some((TERMINATE, End::StdoutOverflow))
        } else if flags.rejected.load(Ordering::SeqCst) {
            Some((TERMINATE, End::Rejected))
        } else {
            None
        };
        if let Some((signal, end)) = stop_for {
            process.stop(signal, KILL_GRACE)?;
            return Ok(end);
        }
        thread::sleep(pause);
        pause = (pause * 2).min(MAX_POLL);
    }
}

#[cfg(unix)]
fn terminal_for(job: &Job) -> Option<Terminal> {
    (job.share_terminal && job.io == Io::PassThrough)
        .then(Terminal::if_foreground)
        .flatten()
}

#[cfg(not(unix))]
fn terminal_for(_job: &Job) -> Option<Terminal> {
    None
}

#[cfg(unix)]
fn follow_stop(terminal: Option<&Terminal>, signal: i32, process: &Process) {
    if let Some(terminal) = terminal {
        terminal.suspend_with(signal, process.group());
    }
}

/// Tells the terminal which group the started command is in.
#[cfg(unix)]
fn note_started(terminal: Option<&Terminal>, child: &std::process::Child) {
    if let Some(terminal) = terminal {
        terminal.started(rustix::process::Pid::from_child(child));
    }
}

#[cfg(not(unix))]
fn note_started(_terminal: Option<&Terminal>, _child: &std::process::Child) {}

#[cfg(not(unix))]
fn follow_stop(_terminal: Option<&Terminal>, _signal: i32, _process: &Process) {}

/// Builds the std command: program, arguments, folder, environment,
/// streams, and the platform's process-group set-up.
fn command_for(job: &Job, terminal: Option<&Terminal>) -> Command {
    let mut command = Command::new(&job.program);
    command.args(&job.args);
    if let Some(dir) = &job.dir {
        command.current_dir(dir);
    }
    if job.environment != super::Environment::Inherit {
        command.env_clear();
        for (name, value) in std::env::vars_os() {
            if job.environment.keeps(&name) {
                command.env(name, value);
            }
        }
    }
    command.envs(job.vars.iter().map(|(k, v)| (k, v)));
    if let Io::Piped(capture) = &job.io {
        command
            .stdin(if capture.input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
    }
    own_group(&mut command, job, terminal);
    command
}

/// On Unix: a process group of its own, the inherited descriptor, the
/// parent-death signal (Linux), and the terminal hand-off.
#[cfg(unix)]
fn own_group(command: &mut Command, job: &Job, terminal: Option<&Terminal>) {
    use std::os::fd::BorrowedFd;
    use std::os::unix::process::CommandExt;

    command.process_group(0);
    let inherited = job.inherited_fd;
    let parent = rustix::process::getpid();
    // SAFETY: the closure runs in the forked child before exec and only makes
    // async-signal-safe system calls (fcntl, prctl, getppid).
    unsafe {
        command.pre_exec(move || {
            if let Some(fd) = inherited {
                let fd = BorrowedFd::borrow_raw(fd);
                rustix::io::fcntl_setfd(fd, rustix::io::FdFlags::empty())?;
            }
            #[cfg(target_os = "linux")]
            {
                rustix::process::set_parent_process_death_signal(Some(
                    rustix::process::Signal::KILL,
                ))?;
                // The parent may have died before the death signal was armed.
                if rustix::process::getppid() != Some(parent) {
                    return Err(std::io::Error::other("the runner exited"));
                }
            }
            #[cfg(not(target_os = "linux"))]
            let _ = parent;
            Ok(())
        });
    }
    if let Some(terminal) = terminal {
        terminal.hand_over_at_start(command);
    }
}

/// On Windows: a process group of its own (no descriptor inheritance).
#[cfg(not(unix))]
fn own_group(command: &mut Command, _job: &Job, _terminal: Option<&Terminal>) {
    use std::os::windows::process::CommandExt;
    const CREATE_NEW_PROCESS_GROUP: u32 = 0x0000_0200;
    command.creation_flags(CREATE_NEW_PROCESS_GROUP);
}

fn spawn_error(job: &Job, e: std::io::Error) -> Error {
    let name = job.program.to_string_lossy();
    if let Some(dir) = job.dir.as_deref().filter(|d| !d.is_dir()) {
        return Error::io(format!("cannot run {name} in {}", dir.display()), e);
    }
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
}
