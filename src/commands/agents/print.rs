//! `agents print`: the instruction texts of docs/agents, built into the
//! binary so that the documentation and the output are one text.

use std::io::Write;

use clap::{Args, ValueEnum};

use crate::error::{Error, Result};

/// The Claude Code skill (docs/agents/SKILL.md).
pub const SKILL: &str = include_str!("../../../docs/agents/SKILL.md");
/// The snippet for AGENTS.md and similar files (docs/agents/AGENTS.md).
pub const AGENTS: &str = include_str!("../../../docs/agents/AGENTS.md");

/// The agents `agents print` has instructions for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Agent {
    /// Claude Code: a skill, for ~/.claude/skills/sqlite-graphrag/SKILL.md.
    Claude,
    /// Codex: a snippet for AGENTS.md.
    Codex,
    /// Any other agent: the same snippet, for its instruction file.
    Generic,
}

/// Arguments of `agents print`.
#[derive(Debug, Clone, Args)]
pub struct PrintArgs {
    /// The agent the instructions are for
    #[arg(value_enum)]
    pub agent: Agent,
}

/// Writes the instructions for the agent to `out`, as they are (Markdown).
pub fn cmd_agents_print(args: &PrintArgs, out: &mut dyn Write) -> Result<()> {
    let text = match args.agent {
        Agent::Claude => SKILL,
        Agent::Codex | Agent::Generic => AGENTS,
    };
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(Error::output)
}
