//! A Model Context Protocol server over stdio, written by hand over
//! serde_json: JSON-RPC framing ([`wire`]), the lifecycle and the methods
//! answered at once ([`session`]), and the loop that reads, runs tool calls
//! and answers ([`serve`]). What the tools are and do is the caller's
//! ([`session::Tools`]).

pub mod serve;
pub mod session;
pub mod wire;
