//! Which files a PATH argument of `ingest` stands for: the file itself, or
//! the files of a folder as ripgrep would search them (its `ignore` crate
//! honours `.gitignore`, `.ignore` and hidden files), with the path of
//! each relative to the folder.

use std::fs;
use std::path::{Component, Path, PathBuf};

use ignore::WalkBuilder;
use ignore::overrides::{Override, OverrideBuilder};

use crate::error::{Error, Result};

/// How a folder is walked.
#[derive(Debug, Clone, Default)]
pub struct WalkOptions {
    /// Also walk hidden files and folders (names starting with `.`).
    pub hidden: bool,
    /// Ignore `.gitignore`, `.ignore` and `.git/info/exclude` files.
    pub no_ignore: bool,
    /// Gitignore-style globs a file must match (any of them), if any.
    pub globs: Vec<String>,
    /// Gitignore-style globs a file or folder must not match.
    pub excludes: Vec<String>,
}

/// What one PATH argument stands for.
#[derive(Debug, Clone)]
pub struct Root {
    /// The folder paths are relative to: the folder given, or the folder
    /// of the file given; absolute, with symbolic links resolved.
    pub dir: PathBuf,
    /// `dir` as text, as memories record it.
    pub label: String,
    /// The file given, when the argument is a file.
    pub file: Option<String>,
    /// The globs, rooted at `dir`.
    overrides: Override,
}

/// One entry of a walk.
#[derive(Debug)]
pub enum Entry {
    /// A regular file.
    File {
        /// Where it is.
        full: PathBuf,
        /// Its path relative to the root, with `/` between components.
        relative: String,
    },
    /// Something that is not ingested.
    Skipped {
        /// Its path relative to the root (non-UTF-8 bytes replaced).
        relative: String,
        /// Why.
        reason: WalkSkip,
    },
}

/// Why a walk does not hand over an entry it found.
#[derive(Debug)]
pub enum WalkSkip {
    /// A symbolic link: links are never followed.
    Symlink,
    /// A path that is not valid UTF-8 cannot be named.
    PathNotUtf8,
    /// It could not be read; holds the error.
    Unreadable(String),
}

/// Resolves a PATH argument of `ingest`.
///
/// # Failure
/// Not-found for a path that does not exist, invalid input for a path
/// that is neither a file nor a folder, is not valid UTF-8, or for a bad
/// glob.
pub fn resolve_root(path: &Path, options: &WalkOptions) -> Result<Root> {
    let shown = path.display();
    let metadata = fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => {
            Error::not_found(format!("no such file or folder: {shown}"))
        }
        _ => Error::io(format!("reading {shown}"), e),
    })?;
    let (dir, file) = if metadata.is_dir() {
        (path.to_owned(), None)
    } else if metadata.is_file() {
        let name = path
            .file_name()
            .ok_or_else(|| Error::invalid(format!("{shown} has no file name")))?;
        let name = name
            .to_str()
            .ok_or_else(|| Error::invalid(format!("{shown}: the file name is not valid UTF-8")))?;
        let parent = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
            _ => PathBuf::from("."),
        };
        (parent, Some(name.to_owned()))
    } else {
        return Err(Error::invalid(format!(
            "{shown} is neither a file nor a folder"
        )));
    };
    let dir = fs::canonicalize(&dir).map_err(|e| Error::io(format!("resolving {shown}"), e))?;
    let label = path_label(&dir)
        .ok_or_else(|| Error::invalid(format!("{shown}: the path is not valid UTF-8")))?;
    let overrides = build_overrides(&dir, options)?;
    Ok(Root {
        dir,
        label,
        file,
        overrides,
    })
}

/// The text of an absolute path, without the `\\?\` that Windows puts
/// before a resolved path (it is the same path).
fn path_label(dir: &Path) -> Option<String> {
    let text = dir.to_str()?;
    Some(match text.strip_prefix(r"\\?\") {
        Some(rest) if !rest.starts_with("UNC\\") => rest.to_owned(),
        _ => text.to_owned(),
    })
}

/// Builds the `--glob` and `--exclude` matcher, rooted at `dir`.
fn build_overrides(dir: &Path, options: &WalkOptions) -> Result<Override> {
    let mut builder = OverrideBuilder::new(dir);
    let bad = |glob: &str, e: ignore::Error| Error::invalid(format!("bad glob {glob:?}: {e}"));
    for glob in &options.globs {
        builder.add(glob).map_err(|e| bad(glob, e))?;
    }
    for glob in &options.excludes {
        builder.add(&format!("!{glob}")).map_err(|e| bad(glob, e))?;
    }
    builder
        .build()
        .map_err(|e| Error::invalid(format!("bad glob: {e}")))
}

/// Calls `visit` with every entry of `root`, in the order of their paths:
/// the file given, or the files of the folder given that the ignore
/// rules, hidden-file rule and globs of `options` select. Folders named
/// `.git` are never entered. `visit` returns false to stop the walk.
pub fn walk(root: &Root, options: &WalkOptions, mut visit: impl FnMut(Entry) -> bool) {
    if let Some(file) = &root.file {
        visit(Entry::File {
            full: root.dir.join(file),
            relative: file.clone(),
        });
        return;
    }
    let use_ignore_files = !options.no_ignore;
    let walker = WalkBuilder::new(&root.dir)
        .hidden(!options.hidden)
        .ignore(use_ignore_files)
        .git_ignore(use_ignore_files)
        .git_exclude(use_ignore_files)
        .parents(use_ignore_files)
        .git_global(false)
        .require_git(false)
        .follow_links(false)
        .overrides(root.overrides.clone())
        .filter_entry(|entry| entry.file_name() != ".git")
        .sort_by_file_name(|a, b| a.cmp(b))
        .build();
    for found in walker {
        let entry = match found {
            Ok(entry) => entry,
            Err(err) => {
                let relative = error_path(&err)
                    .map(|p| relative_lossy(&root.dir, p))
                    .unwrap_or_default();
                let reason = WalkSkip::Unreadable(err.to_string());
                if visit(Entry::Skipped { relative, reason }) {
                    continue;
                }
                return;
            }
        };
        if let Some(err) = entry.error() {
            tracing::warn!("{err}");
        }
        let Some(kind) = entry.file_type() else {
            continue;
        };
        let path = entry.path();
        let next = if kind.is_symlink() {
            Entry::Skipped {
                relative: relative_lossy(&root.dir, path),
                reason: WalkSkip::Symlink,
            }
        } else if !kind.is_file() {
            continue;
        } else {
            match relative_utf8(&root.dir, path) {
                Some(relative) => Entry::File {
                    full: path.to_owned(),
                    relative,
                },
                None => Entry::Skipped {
                    relative: relative_lossy(&root.dir, path),
                    reason: WalkSkip::PathNotUtf8,
                },
            }
        };
        if !visit(next) {
            return;
        }
    }
}

/// The path an error of the walk is about, if it names one.
fn error_path(err: &ignore::Error) -> Option<&Path> {
    match err {
        ignore::Error::WithPath { path, .. } => Some(path),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            error_path(err)
        }
        ignore::Error::Loop { child, .. } => Some(child),
        _ => None,
    }
}

/// `path` relative to `dir`, components joined by `/`; `None` if a
/// component is not valid UTF-8.
fn relative_utf8(dir: &Path, path: &Path) -> Option<String> {
    let relative = path.strip_prefix(dir).ok()?;
    let mut parts = Vec::new();
    for component in relative.components() {
        match component {
            Component::Normal(part) => parts.push(part.to_str()?),
            _ => return None,
        }
    }
    Some(parts.join("/"))
}

/// `path` relative to `dir`, components joined by `/`, with any bytes
/// that are not UTF-8 replaced; for reports.
fn relative_lossy(dir: &Path, path: &Path) -> String {
    let relative = path.strip_prefix(dir).unwrap_or(path);
    relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}
