//! One LLM run: guard, slot, subprocess, reply.

use std::ffi::OsString;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use super::backend::{Invocation, Output, Parsed};
use super::program::program;
use super::workdir::WorkDir;
use super::{Backend, Failure, FailureClass, POOL, guard};
use crate::config::Config;
use crate::error::{Error, ErrorKind, Result};
use crate::process::{
    Capture, End, Environment, Finished, Job, KILL_GRACE, SignalMark, SignalWatch, StdoutCheck,
};
use crate::slots::{Cancel, Pool, guarded};

/// The most stderr bytes kept (the rest is read and dropped).
const STDERR_LIMIT: usize = 64 * 1024;

/// A check of a structured reply: `Err` says what is wrong with it.
pub type ReplyCheck = fn(&Value) -> std::result::Result<(), String>;

/// One prompt for one backend, and the limits of its run.
#[derive(Debug, Clone)]
pub struct Request {
    /// The prompt, written to the tool's stdin.
    pub prompt: Vec<u8>,
    /// The model; `None` takes the configured one, else the tool's default.
    pub model: Option<String>,
    /// The JSON schema the reply must follow, if any.
    pub schema: Option<Value>,
    /// Wall-clock limit of one attempt.
    pub timeout: Duration,
    /// How long to wait for a slot of the pool [`POOL`].
    pub slot_wait: Duration,
    /// The most stdout bytes accepted from one attempt.
    pub max_output: usize,
    /// Further attempts after a malformed reply.
    pub malformed_retries: u32,
    /// Whether a tool may bill an API key (no refusal, keys passed on).
    pub allow_api_key: bool,
    /// A check of the structured reply (when a schema is given): a reply
    /// it rejects is malformed, and asked for again.
    pub check_reply: Option<ReplyCheck>,
    /// Counts the signals since this mark (of a caller's watch, alive
    /// until the run starts); else since the run started.
    pub signals_since: Option<SignalMark>,
}

/// A backend's reply.
#[derive(Debug, Clone, Serialize)]
pub struct Reply {
    /// The backend that replied.
    pub backend: &'static str,
    /// The reply's text.
    pub text: String,
    /// The reply as a JSON document, when it is one.
    pub structured: Option<Value>,
    /// The attempts it took (more than 1 after malformed replies).
    pub attempts: u32,
}

/// Asks `backend` for a reply to `request`.
///
/// # Failure
/// Api-key-refused before anything starts when the tool would bill an API
/// key (or, for claude, when its output shows it does: it is stopped);
/// no-slot when no slot frees up within the wait; command-not-found;
/// timeout; llm-unavailable, llm-auth or llm-failed as the tool's failure
/// is classified; llm-failed after `1 + malformed_retries` malformed replies.
pub fn run(config: &Config, backend: Backend, request: &Request) -> Result<Reply> {
    if !request.allow_api_key {
        guard::refuse_api_keys(backend, &|name| std::env::var_os(name))?;
    }
    let program = program(config, backend);
    let model = match &request.model {
        Some(model) => {
            check_model(model)?;
            Some(model.as_str())
        }
        None => config.model(backend)?,
    };
    let pool = Pool::open(&config.runtime_dir, POOL, config.llm_slots()?)?;
    let signals = SignalWatch::start_at(request.signals_since);
    let interrupted = || signals.received().is_some();
    let cancel = Cancel::when(&interrupted);
    let mut attempts = 0;
    loop {
        attempts += 1;
        match attempt(
            &pool,
            backend,
            &program,
            model,
            (cancel, signals.mark()),
            request,
        )?
        .and_then(|p| checked(request, p))
        {
            Ok(parsed) => {
                return Ok(Reply {
                    backend: backend.name(),
                    text: parsed.text,
                    structured: parsed.structured,
                    attempts,
                });
            }
            Err(failure)
                if failure.class == FailureClass::Malformed
                    && attempts <= request.malformed_retries =>
            {
                tracing::warn!(
                    "{} attempt {attempts}: {}; retrying",
                    backend.name(),
                    failure.message
                );
            }
            Err(failure) => return Err(failure.into_error(backend.name())),
        }
    }
}

/// The parsed reply, unless the request's check rejects it as malformed.
fn checked(request: &Request, parsed: Parsed) -> std::result::Result<Parsed, Failure> {
    let (Some(check), Some(structured)) = (request.check_reply, &parsed.structured) else {
        return Ok(parsed);
    };
    match check(structured) {
        Ok(()) => Ok(parsed),
        Err(message) => Err(Failure::new(FailureClass::Malformed, message)),
    }
}

/// Checks, before anything else is done, what would keep `backend` from
/// being run at all: an API key it would bill (see [`guard`]), and the
/// LLM settings of the configuration.
///
/// # Failure
/// Api-key-refused; invalid input for bad settings.
pub fn preflight(config: &Config, backend: Backend) -> Result<()> {
    guard::refuse_api_keys(backend, &|name| std::env::var_os(name))?;
    config.llm_slots()?;
    config.llm_wait()?;
    config.model(backend)?;
    Ok(())
}

/// The longest model name passed to a tool.
const MAX_MODEL_LEN: usize = 200;

/// Checks that `model` can only be read as a model name: not empty, not
/// an option (a leading `-`), no control characters, at most
/// [`MAX_MODEL_LEN`] bytes.
pub fn check_model(model: &str) -> Result<()> {
    let bad = model.is_empty()
        || model.starts_with('-')
        || model.len() > MAX_MODEL_LEN
        || model.chars().any(char::is_control);
    if bad {
        return Err(Error::invalid(format!(
            "{model:?} is not a model name: it must be 1 to {MAX_MODEL_LEN} bytes, \
             not start with '-', and hold no control characters"
        )));
    }
    Ok(())
}

/// Runs the tool once under a slot, in a fresh working folder.
fn attempt(
    pool: &Pool,
    backend: Backend,
    program: &OsString,
    model: Option<&str>,
    (cancel, signals): (Cancel, SignalMark),
    request: &Request,
) -> Result<Result<Parsed, Failure>> {
    let spec = backend.spec();
    let workdir = WorkDir::create()?;
    let invocation = Invocation {
        model,
        schema: request.schema.as_ref(),
        workdir: workdir.path(),
    };
    let args = (spec.args)(&invocation).map_err(|e| {
        Error::io(
            format!("preparing {} in {}", spec.name, workdir.path().display()),
            e,
        )
    })?;
    let mut job = Job::new(program)
        .args(args)
        .current_dir(workdir.path())
        .environment(Environment::Essentials {
            extra: backend.passed_vars(request.allow_api_key),
        })
        .capture(Capture {
            input: Some(request.prompt.clone()),
            stdout_limit: request.max_output,
            stderr_limit: STDERR_LIMIT,
        })
        .timeout(Some(request.timeout))
        .signals_since(signals);
    if let (Some(rejects), false) = (spec.rejects_stdout, request.allow_api_key) {
        job = job.check_stdout(StdoutCheck::new(rejects));
    }
    let shown = vec![spec.name.to_owned(), "(llm)".to_owned()];
    let guard = pool.acquire_unless(request.slot_wait, shown, cancel)?;
    tracing::info!(
        "running {} in slot {} of pool {}",
        spec.name,
        guard.slot(),
        pool.name()
    );
    let job = guarded(job, &guard);
    let finished = crate::process::run(&job);
    drop(guard);
    let finished = finished?;
    read_reply(backend, request, &finished)
}

/// Turns a finished run into a reply, a failure, or (for the runner's own
/// reasons to stop it) an error.
fn read_reply(
    backend: Backend,
    request: &Request,
    finished: &Finished,
) -> Result<Result<Parsed, Failure>> {
    let name = backend.name();
    let exit_code = match finished.end {
        End::TimedOut => {
            return Err(Error::new(
                ErrorKind::Timeout,
                format!(
                    "{name} ran longer than {:.1} s; its process group was stopped (SIGKILL after {} s)",
                    request.timeout.as_secs_f64(),
                    KILL_GRACE.as_secs()
                ),
            ));
        }
        End::StdoutOverflow => {
            return Ok(Err(Failure::new(
                FailureClass::Malformed,
                format!("it printed more than {} bytes", request.max_output),
            )));
        }
        End::Rejected => {
            return Ok(Err(Failure::new(
                FailureClass::BillsApiKey,
                "its init event shows it (apiKeySource is not \"none\"); it was stopped at once",
            )));
        }
        End::Interrupted(signal) => {
            return Err(Error::new(
                ErrorKind::Interrupted,
                format!("signal {signal} arrived while {name} ran; its process group was stopped"),
            ));
        }
        End::Exited(code) => Some(code),
        End::Signaled(_) => None,
    };
    let stderr = String::from_utf8_lossy(&finished.stderr.bytes);
    let output = Output {
        stdout: &finished.stdout.bytes,
        stderr: &stderr,
        exit_code,
        structured: request.schema.is_some(),
        allow_api_key: request.allow_api_key,
    };
    Ok((backend.spec().parse)(&output))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_model_name_cannot_be_read_as_an_option() {
        assert!(check_model("claude-sonnet-4-5").is_ok());
        assert!(check_model("gpt-5.1-codex").is_ok());
        for bad in [
            "",
            "-x",
            "--dangerously-skip-permissions",
            "a\nb",
            &"m".repeat(201),
        ] {
            assert_eq!(
                check_model(bad).unwrap_err().kind(),
                ErrorKind::InvalidInput,
                "{bad:?}"
            );
        }
    }
}
