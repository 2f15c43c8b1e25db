//! How a run ended, and what it printed when its output was captured.

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// It exited with this code.
    Exited(i32),
    /// It was killed by this signal (not sent by the runner).
    Signaled(i32),
    /// It ran past its timeout; its process group was stopped.
    TimedOut,
    /// This process received this signal during the run; it was passed on
    /// to the command's process group.
    Interrupted(i32),
    /// Its captured stdout outgrew the bound; its process group was stopped.
    StdoutOverflow,
    /// Its captured stdout was rejected by the job's
    /// [`StdoutCheck`](super::StdoutCheck); its process group was stopped.
    Rejected,
}

impl End {
    /// Returns the exit code a shell would report when the command ended on
    /// its own or by a signal (128 + the signal number), `None` when the
    /// runner stopped it for its timeout or its output.
    pub fn shell_code(self) -> Option<i32> {
        match self {
            End::Exited(code) => Some(code),
            End::Signaled(signal) | End::Interrupted(signal) => Some(128 + signal),
            End::TimedOut | End::StdoutOverflow | End::Rejected => None,
        }
    }
}

/// The bytes read from one captured stream (empty when passed through).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Captured {
    /// What was kept, from the start of the stream.
    pub bytes: Vec<u8>,
    /// Whether the stream had more than was kept.
    pub truncated: bool,
}

/// A finished run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    /// How the command ended.
    pub end: End,
    /// Its captured stdout.
    pub stdout: Captured,
    /// Its captured stderr.
    pub stderr: Captured,
}
