//! The one error type: a stable kind, a message for people, an optional hint.
//!
//! Every failure of every command ends up here. The kind decides the exit code
//! and the `kind` string of the JSON error envelope; both are part of the
//! public contract (see the README's exit-code table), so they never change.

use std::fmt;
use std::io;

/// The stable category of a failure; it fixes the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The command line could not be parsed or a required flag is missing.
    Usage,
    /// The named memory, version, namespace or database does not exist.
    NotFound,
    /// A memory with that name already exists.
    AlreadyExists,
    /// The input is malformed: bad name, invalid UTF-8, malformed JSON, …
    InvalidInput,
    /// The input exceeds a documented size limit.
    TooLarge,
    /// The database stayed locked by other writers for longer than the busy timeout.
    Busy,
    /// Reading or writing a file failed.
    Io,
    /// SQLite reported an error other than busy.
    Database,
    /// The database was written by a newer version of this program.
    SchemaTooNew,
    /// `health` found a problem in the database.
    Unhealthy,
    /// `import` rejected some lines; its report (not an error envelope) says which.
    Partial,
    /// No slot of the pool became free within the wait.
    NoSlot,
    /// The guarded command ran past its `--timeout` and was killed.
    Timeout,
    /// The guarded command could not be executed (permissions, format).
    CommandNotExecutable,
    /// The guarded command was not found.
    CommandNotFound,
    /// An LLM command-line tool was not started because it would have
    /// billed an API key instead of the user's subscription.
    ApiKeyRefused,
    /// An LLM backend is rate limited, out of its usage limit or
    /// overloaded: retry later.
    LlmUnavailable,
    /// An LLM backend's login failed: it needs the user's attention.
    LlmAuth,
    /// An LLM backend failed or replied with something unusable.
    LlmFailed,
    /// SIGINT, SIGTERM or SIGHUP arrived while an LLM tool ran; its
    /// process group was stopped.
    Interrupted,
    /// An HTTP provider refused the API key (401, 403).
    ProviderAuth,
    /// An HTTP provider kept answering "too many requests", or the
    /// account's quota or credits are spent.
    ProviderRateLimited,
    /// An HTTP provider failed the request, or could not be reached.
    ProviderError,
    /// An HTTP provider answered with something unusable.
    ProviderBadResponse,
}

impl ErrorKind {
    /// Returns the `kind` string used in the JSON error envelope.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Usage => "usage",
            ErrorKind::NotFound => "not_found",
            ErrorKind::AlreadyExists => "already_exists",
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::TooLarge => "too_large",
            ErrorKind::Busy => "busy",
            ErrorKind::Io => "io",
            ErrorKind::Database => "database",
            ErrorKind::SchemaTooNew => "schema_too_new",
            ErrorKind::Unhealthy => "unhealthy",
            ErrorKind::Partial => "partial",
            ErrorKind::NoSlot => "no_slot",
            ErrorKind::Timeout => "timeout",
            ErrorKind::CommandNotExecutable => "command_not_executable",
            ErrorKind::CommandNotFound => "command_not_found",
            ErrorKind::ApiKeyRefused => "api_key_refused",
            ErrorKind::LlmUnavailable => "llm_unavailable",
            ErrorKind::LlmAuth => "llm_auth",
            ErrorKind::LlmFailed => "llm_failed",
            ErrorKind::Interrupted => "interrupted",
            ErrorKind::ProviderAuth => "provider_auth",
            ErrorKind::ProviderRateLimited => "provider_rate_limited",
            ErrorKind::ProviderError => "provider_error",
            ErrorKind::ProviderBadResponse => "provider_bad_response",
        }
    }

    /// Returns the process exit code for this kind.
    pub fn exit_code(self) -> u8 {
        match self {
            ErrorKind::Usage => 2,
            ErrorKind::NotFound => 3,
            ErrorKind::AlreadyExists => 4,
            ErrorKind::InvalidInput => 5,
            ErrorKind::TooLarge => 6,
            ErrorKind::Busy => 7,
            ErrorKind::Io => 8,
            ErrorKind::Database => 9,
            ErrorKind::SchemaTooNew => 10,
            ErrorKind::Unhealthy => 11,
            ErrorKind::Partial => 12,
            ErrorKind::ApiKeyRefused => 13,
            ErrorKind::LlmUnavailable => 14,
            ErrorKind::LlmAuth => 15,
            ErrorKind::LlmFailed => 16,
            ErrorKind::NoSlot => 75,
            ErrorKind::Timeout => 124,
            ErrorKind::CommandNotExecutable => 126,
            ErrorKind::CommandNotFound => 127,
            ErrorKind::Interrupted => 130,
            ErrorKind::ProviderAuth => 17,
            ErrorKind::ProviderRateLimited => 18,
            ErrorKind::ProviderError => 19,
            ErrorKind::ProviderBadResponse => 20,
        }
    }
}

/// The exit code of `slots exec` for a failure of its own (bad flags or
/// pool, unreadable configuration, …), as timeout(1) does: one code, kept
/// apart from the codes a wrapped command commonly returns.
pub const WRAPPER_FAILURE_CODE: u8 = 125;

impl ErrorKind {
    /// Returns the exit code of this kind when `slots exec` fails: no slot
    /// (75), timeout (124), not executable (126) and not found (127) keep
    /// their codes; every other failure is the wrapper's own,
    /// [`WRAPPER_FAILURE_CODE`].
    pub fn wrapper_exit_code(self) -> u8 {
        match self {
            ErrorKind::NoSlot
            | ErrorKind::Timeout
            | ErrorKind::CommandNotExecutable
            | ErrorKind::CommandNotFound => self.exit_code(),
            _ => WRAPPER_FAILURE_CODE,
        }
    }
}

/// A failure with its kind, a message, and an optional hint on what to do next.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    hint: Option<String>,
    output_closed: bool,
}

/// The result type used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Creates an error of the given kind.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            hint: None,
            output_closed: false,
        }
    }

    /// Creates a [`ErrorKind::Usage`] error.
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Usage, message)
    }

    /// Creates a [`ErrorKind::NotFound`] error.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    /// Creates an [`ErrorKind::AlreadyExists`] error.
    pub fn already_exists(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::AlreadyExists, message)
    }

    /// Creates an [`ErrorKind::InvalidInput`] error.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, message)
    }

    /// Creates a [`ErrorKind::TooLarge`] error.
    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::TooLarge, message)
    }

    /// Wraps an I/O error with what was being done when it happened.
    pub fn io(context: impl fmt::Display, source: io::Error) -> Self {
        Self::new(ErrorKind::Io, format!("{context}: {source}"))
    }

    /// Wraps an error writing the output: a broken pipe means the reader
    /// went away (`export | head -1`), which [`Error::is_output_closed`] tells.
    pub fn output(source: io::Error) -> Self {
        let closed = source.kind() == io::ErrorKind::BrokenPipe;
        let mut err = Self::io("writing output", source);
        err.output_closed = closed;
        err
    }

    /// Returns whether the reader of the output closed it before everything
    /// was written. That is how `head` and friends say "enough": not a
    /// failure, so the process ends quietly with success, as ripgrep does.
    pub fn is_output_closed(&self) -> bool {
        self.output_closed
    }

    /// Attaches a hint telling the user what to do next.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Returns the error's kind.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Returns the message for people.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Returns the hint, if any.
    pub fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<rusqlite::Error> for Error {
    fn from(err: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode::{DatabaseBusy, DatabaseLocked};
        match err.sqlite_error_code() {
            Some(DatabaseBusy | DatabaseLocked) => {
                Error::new(ErrorKind::Busy, format!("database is busy: {err}")).with_hint(
                    "other processes held the write lock for the whole busy timeout; retry",
                )
            }
            _ => Error::new(ErrorKind::Database, format!("database error: {err}")),
        }
    }
}

impl From<serde_json::Error> for Error {
    fn from(err: serde_json::Error) -> Self {
        if let Some(kind) = err.io_error_kind() {
            Error::output(io::Error::new(kind, err))
        } else {
            Error::invalid(format!("invalid JSON: {err}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [ErrorKind; 24] = [
        ErrorKind::Usage,
        ErrorKind::NotFound,
        ErrorKind::AlreadyExists,
        ErrorKind::InvalidInput,
        ErrorKind::TooLarge,
        ErrorKind::Busy,
        ErrorKind::Io,
        ErrorKind::Database,
        ErrorKind::SchemaTooNew,
        ErrorKind::Unhealthy,
        ErrorKind::Partial,
        ErrorKind::NoSlot,
        ErrorKind::Timeout,
        ErrorKind::CommandNotExecutable,
        ErrorKind::CommandNotFound,
        ErrorKind::ApiKeyRefused,
        ErrorKind::LlmUnavailable,
        ErrorKind::LlmAuth,
        ErrorKind::LlmFailed,
        ErrorKind::Interrupted,
        ErrorKind::ProviderAuth,
        ErrorKind::ProviderRateLimited,
        ErrorKind::ProviderError,
        ErrorKind::ProviderBadResponse,
    ];

    #[test]
    fn exit_codes_and_kinds_are_distinct() {
        let mut codes: Vec<u8> = ALL.iter().map(|k| k.exit_code()).collect();
        let mut names: Vec<&str> = ALL.iter().map(|k| k.as_str()).collect();
        codes.sort_unstable();
        codes.dedup();
        names.sort_unstable();
        names.dedup();
        assert_eq!(codes.len(), ALL.len());
        assert_eq!(names.len(), ALL.len());
        assert!(!codes.contains(&0) && !codes.contains(&1));
        assert_eq!(ErrorKind::NoSlot.exit_code(), 75, "EX_TEMPFAIL");
    }

    #[test]
    fn the_wrapper_keeps_four_codes_and_uses_125_for_its_own_failures() {
        let mut kept: Vec<u8> = ALL
            .iter()
            .map(|k| k.wrapper_exit_code())
            .filter(|&c| c != WRAPPER_FAILURE_CODE)
            .collect();
        kept.sort_unstable();
        assert_eq!(kept, [75, 124, 126, 127]);
        assert!(!ALL.iter().any(|k| k.exit_code() == WRAPPER_FAILURE_CODE));
    }

    #[test]
    fn sqlite_busy_maps_to_busy() {
        let err = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
            None,
        );
        assert_eq!(Error::from(err).kind(), ErrorKind::Busy);
    }
}
