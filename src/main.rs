//! The `sqlite-graphrag` binary: parse, run one command, turn the result into an exit status.

use std::ffi::OsString;
use std::io;
use std::process::ExitCode;

use clap::Parser;
use sqlite_graphrag::cli::Cli;
use sqlite_graphrag::commands::parse_failure::parse_failure;
use sqlite_graphrag::config::{Config, Env};
use sqlite_graphrag::{commands, logging, output};

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(err) => return parse_failure(err, args.get(1..).unwrap_or_default()),
    };
    let wrapper = commands::slots::exec::is_exec(&cli.command);
    let hook = commands::agents::is_hook(&cli.command);
    let silent = cli.global.quiet >= 2;
    if let Some(result) = commands::describe(&cli.command, &mut io::stdout().lock()) {
        return match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) if err.is_output_closed() => ExitCode::SUCCESS,
            Err(err) => output::report_error(&err, silent),
        };
    }
    let result = Config::resolve(&cli.global, &Env::from_process()).and_then(|config| {
        logging::init(config.log_level);
        for notice in &config.notices {
            tracing::warn!("{notice}");
        }
        commands::run(cli.command, &config, &mut io::stdout().lock())
    });
    match result {
        Ok(code) => code,
        Err(err) if err.is_output_closed() => ExitCode::SUCCESS,
        Err(err) if wrapper => output::report_wrapper_error(&err, silent),
        Err(err) if hook => output::report_hook_error(&err, silent),
        Err(err) => output::report_error(&err, silent),
    }
}
