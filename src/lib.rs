//! sqlite-graphrag: persistent GraphRAG memory for AI coding agents in one
//! SQLite file.
//!
//! The binary is a thin shell over this library: [`cli`] parses, [`config`]
//! resolves, [`commands`] runs one verb against the [`store`].

#![warn(missing_docs)]

pub mod cli;
pub mod commands;
pub mod config;
pub mod embed;
pub mod error;
pub mod examples;
pub mod graph;
pub mod http;
pub mod ingest;
pub mod llm;
pub mod logging;
pub mod mcp;
pub mod memory;
pub mod output;
pub mod process;
pub mod progress;
pub mod repo;
pub mod search;
pub mod slots;
pub mod store;
pub mod time;
