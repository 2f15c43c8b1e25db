//! `slots exec`: run any command under a slot.
//!
//! It is a wrapper like timeout(1): the command's stdin, stdout, stderr,
//! terminal and exit code are the command's own, and the wrapper's own
//! failures go to stderr with the codes of [`ErrorKind::wrapper_exit_code`].

use std::ffi::OsString;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use super::{PoolArgs, SlotsArgs, SlotsCommand, parse_seconds};
use crate::cli::Command;
use crate::config::Config;
use crate::error::{Error, ErrorKind, Result};
use crate::process::{End, Job, KILL_GRACE, run};
use crate::slots::guarded;

/// Arguments of `slots exec`.
#[derive(Debug, Clone, Args)]
pub struct ExecArgs {
    /// The pool and its size.
    #[command(flatten)]
    pub pool: PoolArgs,
    /// Seconds to wait for a free slot; 0 fails at once. Exit 75 when it runs out
    #[arg(long, value_name = "SECS", default_value = "300", value_parser = parse_seconds)]
    pub wait: Duration,
    /// Seconds the command may run; then its process group is sent SIGTERM,
    /// SIGKILL 2 s later, and the exit code is 124
    #[arg(long, value_name = "SECS", value_parser = parse_seconds)]
    pub timeout: Option<Duration>,
    /// The command and its arguments, after `--`
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<OsString>,
}

/// Returns whether `command` is `slots exec`: its stdout and stderr belong
/// to the command it wraps, so its own failures are reported on stderr
/// only, with [`ErrorKind::wrapper_exit_code`].
pub fn is_exec(command: &Command) -> bool {
    matches!(
        command,
        Command::Slots(SlotsArgs {
            command: SlotsCommand::Exec(_)
        })
    )
}

/// Takes a slot, runs the command under it, and returns the command's exit code.
pub fn cmd_slots_exec(config: &Config, args: &ExecArgs) -> Result<ExitCode> {
    let pool = args.pool.open(config)?;
    let (program, rest) = args
        .command
        .split_first()
        .ok_or_else(|| Error::usage("no command given"))?;
    let shown: Vec<String> = args
        .command
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let guard = pool.acquire(args.wait, shown)?;
    tracing::info!("holding slot {} of pool {}", guard.slot(), pool.name());
    let job = Job::new(program)
        .args(rest)
        .timeout(args.timeout)
        .share_terminal();
    let job = guarded(job, &guard);
    let end = run(&job)?.end;
    drop(guard);
    match end {
        End::TimedOut => Err(Error::new(
            ErrorKind::Timeout,
            format!(
                "{} ran longer than {:.1} s; its process group was stopped (SIGKILL after {} s)",
                program.to_string_lossy(),
                args.timeout.unwrap_or_default().as_secs_f64(),
                KILL_GRACE.as_secs()
            ),
        )),
        // Only captured output can overflow or be rejected; this command's passes through.
        end => Ok(ExitCode::from((end.shell_code().unwrap_or(1) & 0xff) as u8)),
    }
}
