//! `agents`: what coding agents need to use this program — instructions
//! for their instruction files, and context for the start of a session.

pub mod context;
pub mod print;

use clap::{Args, Subcommand};

use crate::cli::Command;

/// Arguments of `agents`.
#[derive(Debug, Clone, Args)]
pub struct AgentsArgs {
    /// What to print.
    #[command(subcommand)]
    pub command: AgentsCommand,
}

/// The `agents` verbs.
#[derive(Debug, Clone, Subcommand)]
pub enum AgentsCommand {
    /// Print instructions for an agent: a Claude Code skill, or a snippet
    /// for AGENTS.md.
    #[command(after_help = crate::examples::AGENTS_PRINT)]
    Print(print::PrintArgs),
    /// Print the memories most relevant to the current repository, as text
    /// for a session-start hook; never fails.
    #[command(after_help = crate::examples::AGENTS_CONTEXT)]
    Context(context::ContextArgs),
}

/// Returns true for `agents context`, whose errors become a note on stderr
/// and exit status 0 (a session-start hook must never fail).
pub fn is_hook(command: &Command) -> bool {
    matches!(
        command,
        Command::Agents(AgentsArgs {
            command: AgentsCommand::Context(_)
        })
    )
}
