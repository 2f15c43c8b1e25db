//! The flags through which `remember` and `edit` take a graph from the
//! user: `--entities-file`, `--relationships-file`, `--graph-stdin`.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use clap::Args;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::graph::MemoryGraph;
use crate::graph::explicit::{self, GraphInput};

/// Largest graph input read, in bytes.
const MAX_INPUT_BYTES: u64 = 4 << 20;

/// A graph given with a memory.
#[derive(Debug, Clone, Args)]
pub struct GraphInputArgs {
    /// Entities the memory mentions: a JSON array of {"name","type","description"}
    #[arg(long, value_name = "PATH", conflicts_with = "graph_stdin")]
    pub entities_file: Option<PathBuf>,
    /// Relationships it asserts: a JSON array of {"from","to","relation","weight","description"}
    #[arg(long, value_name = "PATH", conflicts_with = "graph_stdin")]
    pub relationships_file: Option<PathBuf>,
    /// Read {"entities":[…],"relationships":[…]} from standard input
    #[arg(long, conflicts_with = "body_stdin")]
    pub graph_stdin: bool,
}

impl GraphInputArgs {
    /// Reads and checks the graph given, or `None` if none was.
    ///
    /// # Failure
    /// I/O errors reading it; invalid input or too-large for a bad graph.
    pub fn read(&self) -> Result<Option<MemoryGraph>> {
        let input = if self.graph_stdin {
            parse("stdin", &read_capped(io::stdin().lock(), "stdin")?)?
        } else if self.entities_file.is_some() || self.relationships_file.is_some() {
            GraphInput {
                entities: self
                    .entities_file
                    .as_deref()
                    .map(parse_file)
                    .transpose()?
                    .unwrap_or_default(),
                relationships: self
                    .relationships_file
                    .as_deref()
                    .map(parse_file)
                    .transpose()?
                    .unwrap_or_default(),
            }
        } else {
            return Ok(None);
        };
        explicit::check(input).map(Some)
    }
}

fn parse_file<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let what = path.display().to_string();
    let file = File::open(path).map_err(|e| Error::io(format!("reading {what}"), e))?;
    parse(&what, &read_capped(file, &what)?)
}

fn parse<T: DeserializeOwned>(what: &str, bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| Error::invalid(format!("{what}: {e}")))
}

fn read_capped(reader: impl Read, what: &str) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    reader
        .take(MAX_INPUT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(format!("reading {what}"), e))?;
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(Error::too_large(format!(
            "{what} is over the limit of {MAX_INPUT_BYTES} bytes"
        )));
    }
    Ok(bytes)
}
