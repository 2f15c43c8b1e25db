//! `mcp`: the memory as an MCP server on stdin and stdout. Each tool runs
//! the verb of the same job in this process, with the arguments the
//! catalogue turns into its command line, so a tool checks its input and
//! answers exactly as the command line does.

pub mod catalogue;
pub mod render;
pub mod schemas;

use std::io::Write;
use std::process::ExitCode;

use clap::{Args, Parser};
use serde_json::{Map, Value};

use crate::cli::Cli;
use crate::commands;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::mcp::serve::serve_stdio;
use crate::mcp::session::{ServerInfo, ToolFailure, ToolOutcome, ToolOutput, Tools};

/// Arguments of `mcp`.
#[derive(Debug, Clone, Args)]
pub struct McpArgs {}

/// What a client may add to the model's instructions.
const INSTRUCTIONS: &str = "A long-term memory shared by every session on this project. Call \
    `recall` before starting a task and whenever earlier work or decisions come up; `read` a \
    result to see it whole. `remember` what a later session should know: decisions and their \
    reasons, conventions, fixes and their causes, preferences; one subject per memory, a short \
    kebab-case name, and `update: true` to revise a memory that exists instead of adding a \
    near-duplicate. `forget` what turned out wrong.";

/// Serves the tools on stdin and `out` (stdout) until the client closes stdin.
///
/// # Failure
/// I/O errors reading stdin.
pub fn cmd_mcp(config: &Config, _args: &McpArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let server = Server { config };
    let info = ServerInfo {
        name: env!("CARGO_PKG_NAME"),
        version: env!("CARGO_PKG_VERSION"),
        instructions: INSTRUCTIONS,
    };
    serve_stdio(&server, info, out)
        .map_err(|e| Error::io("reading the MCP client's messages", e))?;
    Ok(ExitCode::SUCCESS)
}

/// The catalogue's tools, run with this configuration.
struct Server<'a> {
    config: &'a Config,
}

impl Tools for Server<'_> {
    fn definitions(&self) -> Vec<Value> {
        catalogue::TOOLS
            .iter()
            .map(catalogue::Tool::definition)
            .collect()
    }

    fn knows(&self, name: &str) -> bool {
        catalogue::find(name).is_some()
    }

    fn call(&self, name: &str, arguments: &Map<String, Value>) -> ToolOutcome {
        let tool = catalogue::find(name)
            .ok_or_else(|| failure(Error::invalid(format!("no tool {name:?}"))))?;
        let structured = self.run(tool, arguments).map_err(failure)?;
        Ok(ToolOutput {
            text: (tool.render)(&structured),
            structured,
        })
    }
}

impl Server<'_> {
    /// Runs the tool's verb and returns what it printed.
    fn run(&self, tool: &catalogue::Tool, arguments: &Map<String, Value>) -> Result<Value> {
        let (argv, namespace) = tool.command_line(arguments)?;
        let cli =
            Cli::try_parse_from(&argv).map_err(|e| Error::invalid(clap_message(&e.to_string())))?;
        let config = match namespace {
            Some(namespace) => self.config.with_namespace(&namespace),
            None => self.config.clone(),
        };
        let mut printed = Vec::new();
        commands::run(cli.command, &config, &mut printed)?;
        let printed: Value = serde_json::from_slice(&printed)
            .map_err(|e| Error::io(format!("reading what {} printed", tool.name), e.into()))?;
        Ok(match tool.reshape {
            Some(reshape) => reshape(printed),
            None => printed,
        })
    }
}

/// A clap message's first paragraph on one line, without its `error: `
/// prefix (the usage lines that follow name command-line flags).
fn clap_message(message: &str) -> String {
    let paragraph: Vec<&str> = message
        .lines()
        .take_while(|line| !line.trim().is_empty())
        .map(str::trim)
        .collect();
    let text = paragraph.join(" ");
    text.strip_prefix("error: ").unwrap_or(&text).to_owned()
}

/// The failure a tool reports for an error: its kind, and its message with
/// the hint the command line would print.
fn failure(error: Error) -> ToolFailure {
    let message = match error.hint() {
        Some(hint) => format!("{} ({hint})", error.message()),
        None => error.message().to_owned(),
    };
    ToolFailure {
        kind: error.kind().as_str().to_owned(),
        message,
    }
}
