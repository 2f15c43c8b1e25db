//! A started command: waiting for it, and stopping its process group.

use std::io;
use std::process::Child;
use std::thread;
use std::time::{Duration, Instant};

use super::End;

/// What waiting for the command saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Event {
    /// It ended (exited or was killed), and was reaped.
    Ended(End),
    /// It was stopped by this signal (reported only when asked for).
    #[cfg_attr(not(unix), allow(dead_code))]
    Stopped(i32),
}

/// The polite signal that starts stopping a group.
#[cfg(unix)]
pub(super) const TERMINATE: i32 = signal_hook::consts::SIGTERM;
/// The polite signal that starts stopping a group.
#[cfg(not(unix))]
pub(super) const TERMINATE: i32 = 15;

/// The started command, leader of its own process group on Unix.
pub(super) struct Process {
    #[cfg(unix)]
    pid: rustix::process::Pid,
    #[cfg(not(unix))]
    child: Child,
}

#[cfg(unix)]
impl Process {
    /// Takes over `child`; from now on only this type waits for it.
    pub(super) fn new(child: Child) -> Self {
        Process {
            pid: rustix::process::Pid::from_child(&child),
        }
    }

    /// The command's process group.
    pub(super) fn group(&self) -> rustix::process::Pid {
        self.pid
    }

    /// Checks on the command without blocking; with `stops`, a stop is
    /// reported too.
    pub(super) fn poll(&mut self, stops: bool) -> io::Result<Option<Event>> {
        use rustix::process::WaitOptions;
        let mut options = WaitOptions::NOHANG;
        if stops {
            options |= WaitOptions::UNTRACED;
        }
        Ok(rustix::process::waitpid(Some(self.pid), options)?.map(|(_, status)| event_of(status)))
    }

    /// Sends `signal` to the whole group (and SIGCONT, so that a stopped
    /// group can act on it).
    pub(super) fn signal_group(&mut self, signal: i32) {
        use rustix::process::{Signal, kill_process_group};
        let signal = Signal::from_named_raw(signal).unwrap_or(Signal::TERM);
        let _ = kill_process_group(self.pid, signal);
        let _ = kill_process_group(self.pid, Signal::CONT);
    }

    /// Kills whatever is left of the group.
    pub(super) fn kill_group(&mut self) {
        use rustix::process::{Signal, kill_process_group};
        let _ = kill_process_group(self.pid, Signal::KILL);
    }

    /// Waits for the command, however long it takes.
    fn reap(&mut self) -> io::Result<()> {
        loop {
            match rustix::process::waitpid(Some(self.pid), rustix::process::WaitOptions::empty()) {
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
                Ok(_) => return Ok(()),
            }
        }
    }
}

#[cfg(unix)]
fn event_of(status: rustix::process::WaitStatus) -> Event {
    if let Some(signal) = status.stopping_signal() {
        Event::Stopped(signal)
    } else if let Some(code) = status.exit_status() {
        Event::Ended(End::Exited(code))
    } else if let Some(signal) = status.terminating_signal() {
        Event::Ended(End::Signaled(signal))
    } else {
        Event::Ended(End::Exited(1))
    }
}

#[cfg(not(unix))]
impl Process {
    /// Takes over `child`; from now on only this type waits for it.
    pub(super) fn new(child: Child) -> Self {
        Process { child }
    }

    /// Checks on the command without blocking.
    pub(super) fn poll(&mut self, _stops: bool) -> io::Result<Option<Event>> {
        Ok(self
            .child
            .try_wait()?
            .map(|status| Event::Ended(End::Exited(status.code().unwrap_or(1)))))
    }

    /// Windows has no process groups to signal: the command itself is killed.
    pub(super) fn signal_group(&mut self, _signal: i32) {
        let _ = self.child.kill();
    }

    /// Kills the command.
    pub(super) fn kill_group(&mut self) {
        let _ = self.child.kill();
    }

    fn reap(&mut self) -> io::Result<()> {
        self.child.wait().map(drop)
    }
}

impl Process {
    /// Sends `signal` to the group, gives the command `grace` to exit, then
    /// kills what is left of the group and reaps the command.
    pub(super) fn stop(&mut self, signal: i32, grace: Duration) -> io::Result<()> {
        self.signal_group(signal);
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Some(Event::Ended(_)) = self.poll(false)? {
                self.kill_group();
                return Ok(());
            }
            thread::sleep(Duration::from_millis(5));
        }
        self.kill_group();
        self.reap()
    }
}
