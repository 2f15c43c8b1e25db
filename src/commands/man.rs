//! `man`: manual pages in roff, generated from the command line's own
//! definition: one page for the whole command on stdout, or one page per
//! verb written into a folder.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, CommandFactory};
use clap_mangen::Man;
use serde::Serialize;

use crate::cli::Cli;
use crate::error::{Error, Result};

/// Arguments of `man`.
#[derive(Debug, Clone, Args)]
pub struct ManArgs {
    /// Write one page per verb (sqlite-graphrag-<verb>.1, and
    /// sqlite-graphrag.1) into this folder, created if missing, instead of
    /// the main page on stdout
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
}

/// What `man --output-dir` prints: the pages it wrote.
#[derive(Debug, Clone, Serialize)]
pub struct ManPages {
    /// The files written, the main page first.
    pub written: Vec<PathBuf>,
}

/// Writes the main page to `out` (plain roff), or, with `--output-dir`,
/// every page into that folder and their list to `out` as JSON.
pub fn cmd_man(args: &ManArgs, out: &mut dyn Write) -> Result<()> {
    let mut command = Cli::command().disable_help_subcommand(true);
    command.build();
    let Some(dir) = &args.output_dir else {
        let mut page = Vec::new();
        Man::new(command).render(&mut page).map_err(Error::output)?;
        return out
            .write_all(&page)
            .and_then(|()| out.flush())
            .map_err(Error::output);
    };
    fs::create_dir_all(dir).map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    let mut written = Vec::new();
    write_pages(&command, dir, &mut written)?;
    crate::output::write_json(out, &ManPages { written })
}

/// Writes the page of `command` and then those of its verbs, depth first.
fn write_pages(command: &clap::Command, dir: &Path, written: &mut Vec<PathBuf>) -> Result<()> {
    let path = Man::new(command.clone())
        .generate_to(dir)
        .map_err(|e| Error::io(format!("writing a manual page into {}", dir.display()), e))?;
    written.push(path);
    for verb in command.get_subcommands().filter(|verb| !verb.is_hide_set()) {
        write_pages(verb, dir, written)?;
    }
    Ok(())
}
