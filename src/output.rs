//! Writing results: JSON documents to a writer (stdout for the binary),
//! errors as a JSON envelope plus a line on stderr.

use std::io::{self, Write};
use std::process::ExitCode;

use serde::Serialize;
use serde_json::json;

use crate::error::{Error, Result};

/// Writes `value` to `out` as one compact JSON line and flushes it.
///
/// # Failure
/// An I/O error if `out` cannot be written.
pub fn write_json<T: Serialize + ?Sized>(out: &mut dyn Write, value: &T) -> Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    out.write_all(b"\n")
        .and_then(|()| out.flush())
        .map_err(Error::output)
}

/// Prints the error envelope on stdout and, unless `silent` (`-qq`), a
/// readable message on stderr, and returns the error kind's exit code.
pub fn report_error(err: &Error, silent: bool) -> ExitCode {
    let envelope = envelope(err);
    let mut out = io::stdout().lock();
    // Nothing more can be done if stdout itself is gone.
    let _ = writeln!(out, "{envelope}").and_then(|()| out.flush());
    if !silent {
        write_error_to_stderr(err);
    }
    ExitCode::from(err.kind().exit_code())
}

/// Writes the error (and its hint) for people on stderr only.
pub fn write_error_to_stderr(err: &Error) {
    let mut err_out = io::stderr().lock();
    // Nothing more can be done if stderr itself is gone.
    let _ = writeln!(err_out, "error: {}", err.message());
    if let Some(hint) = err.hint() {
        let _ = writeln!(err_out, "hint: {}", hint);
    }
}

/// Reports a failure of `slots exec`, whose stdout belongs to the command it
/// wraps: stderr gets the readable message (unless `silent`, for `-qq`),
/// then the error envelope as its last line. Returns the wrapper's exit
/// code for the kind.
pub fn report_wrapper_error(err: &Error, silent: bool) -> ExitCode {
    if !silent {
        write_error_to_stderr(err);
    }
    let mut err_out = io::stderr().lock();
    // Nothing more can be done if stderr itself is gone.
    let _ = writeln!(err_out, "{}", envelope(err)).and_then(|()| err_out.flush());
    ExitCode::from(err.kind().wrapper_exit_code())
}

/// Reports a failure of `agents context`, which runs as a session-start
/// hook and must never fail one: a one-line note on stderr (unless
/// `silent`), nothing on stdout, and exit status 0.
pub fn report_hook_error(err: &Error, silent: bool) -> ExitCode {
    if !silent {
        let message: String = err
            .message()
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let mut err_out = io::stderr().lock();
        // Nothing more can be done if stderr itself is gone.
        let _ = writeln!(err_out, "sqlite-graphrag agents context: {message}")
            .and_then(|()| err_out.flush());
    }
    ExitCode::SUCCESS
}

/// The JSON error envelope `{"error":{"kind","message","hint"?}}`.
fn envelope(err: &Error) -> serde_json::Value {
    let mut body = json!({ "kind": err.kind().as_str(), "message": err.message() });
    if let Some(hint) = err.hint() {
        body["hint"] = json!(hint);
    }
    json!({ "error": body })
}
