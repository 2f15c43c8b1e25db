//! What to run and how: a [`Job`] is built once and handed to [`run`](super::run).

use super::signals::SignalMark;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::Environment;

/// How the command's standard streams are connected.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) enum Io {
    /// The command uses this process's stdin, stdout and stderr.
    #[default]
    PassThrough,
    /// stdin, stdout and stderr are pipes; see [`Capture`].
    Piped(Capture),
}

/// Captured standard streams: input written to stdin, output read back.
///
/// stdin gets `input` (written on its own thread, so a command that never
/// reads it cannot block the run) and is then closed; with no input it is
/// empty (`/dev/null`). stdout and stderr are each read on their own thread.
///
/// - stdout keeps at most `stdout_limit` bytes. One byte more stops the run
///   like a timeout does ([`End::StdoutOverflow`](super::End::StdoutOverflow)):
///   output that large is not what the caller asked for.
/// - stderr keeps its first `stderr_limit` bytes; the rest is read and
///   dropped, so the command never blocks on it, and the output is marked
///   truncated.
///
/// The run ends when the command exits: what is left of its process group
/// is then killed, so that no straggler keeps the pipes open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capture {
    /// Bytes written to the command's stdin, which is then closed.
    pub input: Option<Vec<u8>>,
    /// The most stdout bytes accepted.
    pub stdout_limit: usize,
    /// The most stderr bytes kept.
    pub stderr_limit: usize,
}

/// A command to run, with its arguments, folder, environment, streams and
/// time limit. Build it with [`Job::new`] and the methods that follow.
#[derive(Debug, Clone)]
pub struct Job {
    pub(super) program: OsString,
    pub(super) args: Vec<OsString>,
    pub(super) dir: Option<PathBuf>,
    pub(super) environment: Environment,
    pub(super) vars: Vec<(OsString, OsString)>,
    pub(super) io: Io,
    pub(super) timeout: Option<Duration>,
    pub(super) share_terminal: bool,
    pub(super) stdout_check: Option<StdoutCheck>,
    pub(super) signals_since: Option<SignalMark>,
    #[cfg(unix)]
    pub(super) inherited_fd: Option<std::os::fd::RawFd>,
}

/// A check of captured stdout while the command runs: it is given the
/// bytes kept so far each time more arrive, and returns `true` to stop the
/// run ([`End::Rejected`](super::End::Rejected)). It runs on the reading
/// thread, so it must be quick: look at a prefix, not at everything.
#[derive(Clone)]
pub struct StdoutCheck(pub(super) Arc<Rejects>);

/// The test a [`StdoutCheck`] applies: `true` rejects.
type Rejects = dyn Fn(&[u8]) -> bool + Send + Sync;

impl StdoutCheck {
    /// Wraps `reject`, which returns `true` for output that must stop the run.
    pub fn new(reject: impl Fn(&[u8]) -> bool + Send + Sync + 'static) -> Self {
        StdoutCheck(Arc::new(reject))
    }
}

impl fmt::Debug for StdoutCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StdoutCheck")
    }
}

impl Job {
    /// A job running `program` (looked up in `PATH` when it has no
    /// separator), with no arguments, this process's folder, environment
    /// and standard streams, and no time limit.
    pub fn new(program: impl AsRef<OsStr>) -> Self {
        Job {
            program: program.as_ref().to_owned(),
            args: Vec::new(),
            dir: None,
            environment: Environment::Inherit,
            vars: Vec::new(),
            io: Io::PassThrough,
            timeout: None,
            share_terminal: false,
            stdout_check: None,
            signals_since: None,
            #[cfg(unix)]
            inherited_fd: None,
        }
    }

    /// Appends arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Runs the command in `dir`.
    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.dir = Some(dir.as_ref().to_owned());
        self
    }

    /// Chooses which of this process's variables the command inherits.
    pub fn environment(mut self, environment: Environment) -> Self {
        self.environment = environment;
        self
    }

    /// Sets one variable for the command, whatever [`Job::environment`] says.
    pub fn env(mut self, name: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.vars
            .push((name.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    /// Captures the standard streams instead of passing them through.
    pub fn capture(mut self, capture: Capture) -> Self {
        self.io = Io::Piped(capture);
        self
    }

    /// Checks captured stdout as it arrives, and stops the command's
    /// process group as soon as `check` rejects it (only with [`Job::capture`]).
    pub fn check_stdout(mut self, check: StdoutCheck) -> Self {
        self.stdout_check = Some(check);
        self
    }

    /// Counts for this run the signals since `mark` (a caller's watch,
    /// alive until the run starts): one that arrived before the command
    /// started stops it at once.
    pub fn signals_since(mut self, mark: SignalMark) -> Self {
        self.signals_since = Some(mark);
        self
    }

    /// Stops the command's process group after `timeout` of wall-clock
    /// time (time spent stopped with Ctrl-Z counts).
    pub fn timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = timeout;
        self
    }

    /// Lets a passed-through command read the terminal (Unix): when this
    /// process's group is the terminal's foreground group, the command's
    /// group becomes the foreground group for the run, and the terminal is
    /// given back when it ends. Ctrl-C and Ctrl-Z then reach the command
    /// only; when Ctrl-Z stops it, this process stops too, and `fg`
    /// resumes both.
    pub fn share_terminal(mut self) -> Self {
        self.share_terminal = true;
        self
    }

    /// Lets the command inherit the open descriptor `fd` (close-on-exec is
    /// cleared in the child only), and tells it so through the variable
    /// `var` = `value`. The caller keeps `fd` open until the run returns.
    #[cfg(unix)]
    pub fn inherit_descriptor(
        mut self,
        fd: std::os::fd::BorrowedFd<'_>,
        var: impl AsRef<OsStr>,
        value: impl AsRef<OsStr>,
    ) -> Self {
        use std::os::fd::AsRawFd;
        self.inherited_fd = Some(fd.as_raw_fd());
        self.env(var, value)
    }
}
