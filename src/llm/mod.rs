//! LLM work through the command-line tools the user is already logged into
//! (`claude -p`, `codex exec`), never through API keys that would bill them
//! by surprise; and graph extraction through a chat-completions API the
//! user gives a key for ([`chat`]).
//!
//! One runner ([`run`]) serves every backend; a [`Backend`] is data: its
//! program, its arguments, the variables it may see, the variables that
//! mean an API key, and the parser of its output. Each run:
//! 1. refuses to start a tool that would bill an API key ([`guard`]);
//! 2. holds one slot of the pool [`POOL`] for the life of the tool's whole
//!    process tree;
//! 3. runs it in a private empty folder with a minimal environment, the
//!    prompt on stdin (then closed), stdout captured up to a bound, stderr
//!    drained on its own thread, and a wall-clock timeout that stops the
//!    whole process group (see [`crate::process`]);
//! 4. parses the reply, and classifies failures ([`FailureClass`]):
//!    malformed replies are retried a bounded number of times, the rest
//!    become errors whose kind says whether to retry later or to stop.

mod backend;
pub mod chat;
mod claude;
mod codex;
pub mod extraction;
mod failure;
mod guard;
mod program;
mod runner;
mod workdir;

pub use backend::Backend;
pub use extraction::ExtractBackend;
use failure::{Failure, FailureClass};
pub use runner::{Reply, Request, check_model, preflight, run};

/// The slot pool every LLM subprocess takes a slot of.
pub const POOL: &str = "llm";
