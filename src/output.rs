//! Writing results: JSON on stdout, errors as a JSON envelope plus a line on stderr.

use std::io::{self, Write};
use std::process::ExitCode;

use serde::Serialize;
use serde_json::json;

use crate::error::{Error, Result};

/// Writes `value` as one compact JSON line on stdout.
///
/// # Failure
/// An I/O error if stdout cannot be written.
pub fn emit<T: Serialize + ?Sized>(value: &T) -> Result<()> {
    let mut out = io::stdout().lock();
    serde_json::to_writer(&mut out, value)?;
    out.write_all(b"\n")
        .and_then(|()| out.flush())
        .map_err(|e| Error::io("writing to stdout", e))
}

/// Prints the error envelope on stdout and a readable message on stderr,
/// and returns the error kind's exit code.
pub fn report_error(err: &Error) -> ExitCode {
    let envelope = envelope(err);
    let mut out = io::stdout().lock();
    // Nothing more can be done if stdout itself is gone.
    let _ = writeln!(out, "{envelope}").and_then(|()| out.flush());
    let mut err_out = io::stderr().lock();
    let _ = writeln!(err_out, "error: {}", err.message());
    if let Some(hint) = err.hint() {
        let _ = writeln!(err_out, "hint: {}", hint);
    }
    ExitCode::from(err.kind().exit_code())
}

/// Reports a failure of `slots exec`, whose stdout belongs to the command it
/// wraps: stderr gets the readable message, then the error envelope as its
/// last line. Returns the wrapper's exit code for the kind.
pub fn report_wrapper_error(err: &Error) -> ExitCode {
    let mut err_out = io::stderr().lock();
    let _ = writeln!(err_out, "error: {}", err.message());
    if let Some(hint) = err.hint() {
        let _ = writeln!(err_out, "hint: {}", hint);
    }
    let _ = writeln!(err_out, "{}", envelope(err)).and_then(|()| err_out.flush());
    ExitCode::from(err.kind().wrapper_exit_code())
}

/// The JSON error envelope `{"error":{"kind","message","hint"?}}`.
fn envelope(err: &Error) -> serde_json::Value {
    let mut body = json!({ "kind": err.kind().as_str(), "message": err.message() });
    if let Some(hint) = err.hint() {
        body["hint"] = json!(hint);
    }
    json!({ "error": body })
}
