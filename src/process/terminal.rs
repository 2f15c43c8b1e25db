//! Handing the terminal to the command's process group and taking it back.
//!
//! A command in a process group of its own is a background job of its
//! terminal: reading the terminal stops it with SIGTTIN. When this process
//! is in the foreground, the command's group is made the foreground group
//! before the command starts, and this process's group gets the terminal
//! back afterwards, but only if the command's group still has it: once the
//! shell has taken the terminal (the job was stopped and put in the
//! background with `bg`), it is the shell's. Changing the foreground group
//! from a background group raises SIGTTOU unless it is blocked, so it is
//! blocked around each change.

use std::cell::Cell;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::Command;

use rustix::fs::{Mode, OFlags};
use rustix::process::{Pid, Signal};

/// The controlling terminal, while this process's group is its foreground group.
pub(super) struct Terminal {
    tty: OwnedFd,
    home_group: Pid,
    /// The command's process group, once it has started.
    command_group: Cell<Option<Pid>>,
}

impl Terminal {
    /// Opens the controlling terminal if this process's group is its
    /// foreground group; `None` otherwise (no terminal, or in the background).
    pub(super) fn if_foreground() -> Option<Self> {
        let flags = OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC;
        let tty = rustix::fs::open("/dev/tty", flags, Mode::empty()).ok()?;
        let home_group = rustix::process::getpgrp();
        (rustix::termios::tcgetpgrp(&tty).ok()? == home_group).then_some(Terminal {
            tty,
            home_group,
            command_group: Cell::new(None),
        })
    }

    /// Makes `command`, once started in its own group, take the terminal
    /// before it runs. If that fails, it runs anyway, as a background job.
    pub(super) fn hand_over_at_start(&self, command: &mut Command) {
        let tty = self.tty.as_raw_fd();
        // SAFETY: runs in the forked child before exec; it makes only
        // async-signal-safe system calls (sigprocmask, getpid, ioctl).
        unsafe {
            command.pre_exec(move || {
                let tty = BorrowedFd::borrow_raw(tty);
                let _ = give(tty, rustix::process::getpid(), libc::sigprocmask);
                Ok(())
            });
        }
    }

    /// Records the group of the command that was started with
    /// [`Terminal::hand_over_at_start`].
    pub(super) fn started(&self, group: Pid) {
        self.command_group.set(Some(group));
    }

    /// Gives the terminal to `group`.
    pub(super) fn give_to(&self, group: Pid) {
        if let Err(e) = give(self.tty.as_fd(), group, libc::pthread_sigmask) {
            tracing::warn!("cannot hand the terminal over: {e}");
        }
    }

    /// Takes the terminal back for this process's group, if the command's
    /// group still has it (never from the shell that took it meanwhile).
    pub(super) fn take_back(&self) {
        let foreground = rustix::termios::tcgetpgrp(&self.tty).ok();
        if foreground.is_some() && foreground == self.command_group.get() {
            self.give_to(self.home_group);
        }
    }

    /// Follows the command's stop (by `signal`): takes the terminal back and
    /// stops this process the same way, so that the shell sees the job
    /// stopped. When this process is continued, gives the terminal to the
    /// command's `group` again (if this process is in the foreground) and
    /// continues it.
    pub(super) fn suspend_with(&self, signal: i32, group: Pid) {
        self.take_back();
        let own = if signal == libc::SIGSTOP {
            Signal::STOP
        } else {
            Signal::TSTP
        };
        let _ = rustix::process::kill_process(rustix::process::getpid(), own);
        if rustix::termios::tcgetpgrp(&self.tty).is_ok_and(|g| g == self.home_group) {
            self.give_to(group);
        }
        let _ = rustix::process::kill_process_group(group, Signal::CONT);
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        self.take_back();
    }
}

/// A function that sets the signal mask (`sigprocmask` in a forked child,
/// `pthread_sigmask` in a threaded process).
type SetMask =
    unsafe extern "C" fn(libc::c_int, *const libc::sigset_t, *mut libc::sigset_t) -> libc::c_int;

/// Makes `group` the foreground group of `tty`, with SIGTTOU blocked.
fn give(tty: BorrowedFd<'_>, group: Pid, set_mask: SetMask) -> io::Result<()> {
    // SAFETY: the sets are plain values initialised by sigemptyset and
    // filled by the calls; the mask is restored before returning.
    unsafe {
        let mut block: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut block);
        libc::sigaddset(&mut block, libc::SIGTTOU);
        set_mask(libc::SIG_BLOCK, &block, &mut old);
        let given = rustix::termios::tcsetpgrp(tty, group);
        set_mask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
        Ok(given?)
    }
}
