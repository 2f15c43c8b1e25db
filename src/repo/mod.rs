//! The namespace of the git repository a command runs in, for
//! `--namespace auto`.
//!
//! The repository's files are read directly, without running `git`: it is
//! faster, and nothing in `PATH` can stand in for it. Every read is bounded
//! (a file's size is checked before it is opened, and only regular files are
//! opened), and no file leads to more than one other, so an odd or hostile
//! `.git` (a huge file, a FIFO, a symlink loop, a `gitdir:` pointing at
//! itself) gives an error, never a hang.

mod remote;

use std::fs;
use std::io::{ErrorKind as IoKind, Read};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::memory::{NamespaceOrigin, validate_namespace};

pub use remote::normalise_remote;

/// Largest `.git` file or `commondir` file read, in bytes.
const MAX_POINTER_BYTES: u64 = 4096;
/// Largest repository `config` file read, in bytes.
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// A namespace derived from a repository, with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Derived {
    /// The namespace: `host/owner/repo`, or the repository's folder name.
    pub namespace: String,
    /// How it was derived.
    pub origin: NamespaceOrigin,
}

/// Where a repository keeps its files.
#[derive(Debug)]
struct Repository {
    /// The folder holding `config` (shared by every worktree).
    common_dir: PathBuf,
    /// The folder the repository is named after: the main worktree's
    /// top-level folder, or the bare repository itself.
    home: PathBuf,
}

/// Derives the namespace of the repository holding `cwd`: its `origin`
/// remote normalised to `host/owner/repo`, else its top-level folder name.
/// Linked worktrees of one repository get the same namespace.
///
/// # Failure
/// Invalid input outside any repository, for a `.git` that cannot be read
/// as one, and for a derived name that breaks the namespace rules.
pub fn derive(cwd: &Path) -> Result<Derived> {
    let repo = discover(cwd)?.ok_or_else(|| {
        Error::invalid(format!(
            "--namespace auto: {} is not inside a git repository",
            cwd.display()
        ))
        .with_hint("run it inside a repository, or name one with --namespace NAME")
    })?;
    let derived = match origin_url(&repo.common_dir)?
        .as_deref()
        .and_then(normalise_remote)
    {
        Some(namespace) => Derived {
            origin: NamespaceOrigin::new("git-remote", &namespace),
            namespace,
        },
        None => {
            let namespace = folder_namespace(&repo.home).ok_or_else(|| {
                Error::invalid(format!(
                    "--namespace auto: no namespace can be made of the folder name {}",
                    repo.home.display()
                ))
                .with_hint("name one with --namespace NAME")
            })?;
            Derived {
                origin: NamespaceOrigin::new("git-folder", &repo.home.display().to_string()),
                namespace,
            }
        }
    };
    validate_namespace(&derived.namespace).map_err(|e| {
        Error::new(
            e.kind(),
            format!("--namespace auto derived an unusable name: {}", e.message()),
        )
        .with_hint("name one with --namespace NAME")
    })?;
    Ok(derived)
}

/// Finds the repository holding `cwd`: the nearest folder at or above it
/// with a `.git` folder or file. `None` when there is none up to the root.
fn discover(cwd: &Path) -> Result<Option<Repository>> {
    for dir in cwd.ancestors() {
        let dot_git = dir.join(".git");
        let meta = match fs::metadata(&dot_git) {
            Ok(meta) => meta,
            Err(e) if matches!(e.kind(), IoKind::NotFound | IoKind::NotADirectory) => continue,
            Err(e) => return Err(unreadable(&dot_git, &e.to_string())),
        };
        let git_dir = if meta.is_dir() {
            dot_git
        } else if meta.is_file() {
            let text = read_bounded(&dot_git, MAX_POINTER_BYTES)?;
            let target = text
                .strip_prefix("gitdir:")
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .ok_or_else(|| unreadable(&dot_git, "a .git file must hold `gitdir: PATH`"))?;
            dir.join(target)
        } else {
            return Err(unreadable(&dot_git, "neither a folder nor a file"));
        };
        require_dir(&git_dir)?;
        let commondir = git_dir.join("commondir");
        let common_dir = match fs::symlink_metadata(&commondir) {
            Err(e) if e.kind() == IoKind::NotFound => git_dir.clone(),
            _ => git_dir.join(read_bounded(&commondir, MAX_POINTER_BYTES)?.trim()),
        };
        require_dir(&common_dir)?;
        let home = if common_dir == git_dir && meta.is_dir() {
            dir.to_owned()
        } else {
            home_of(&common_dir)
        };
        return Ok(Some(Repository { common_dir, home }));
    }
    Ok(None)
}

/// The folder a repository whose shared files are in `common_dir` is named
/// after: the parent of a `.git` folder, else (a bare repository) itself.
fn home_of(common_dir: &Path) -> PathBuf {
    let common = fs::canonicalize(common_dir).unwrap_or_else(|_| common_dir.to_owned());
    match (common.file_name(), common.parent()) {
        (Some(name), Some(parent)) if name == ".git" => parent.to_owned(),
        _ => common,
    }
}

/// The URL of the `origin` remote in the repository's `config`, if any.
fn origin_url(common_dir: &Path) -> Result<Option<String>> {
    let config = common_dir.join("config");
    match fs::symlink_metadata(&config) {
        Err(e) if e.kind() == IoKind::NotFound => Ok(None),
        _ => Ok(remote::origin_url(&read_bounded(
            &config,
            MAX_CONFIG_BYTES,
        )?)),
    }
}

/// The namespace made of a repository folder's name: its characters outside
/// the namespace set become `-`, and a bare repository's `.git` goes.
fn folder_namespace(home: &Path) -> Option<String> {
    let name = home.file_name()?.to_string_lossy();
    let name = name.strip_suffix(".git").unwrap_or(&name);
    remote::clean_part(name)
}

/// Reads a small text file: only a regular file (after symlinks), only up
/// to `limit` bytes.
fn read_bounded(path: &Path, limit: u64) -> Result<String> {
    let meta = fs::metadata(path).map_err(|e| unreadable(path, &e.to_string()))?;
    if !meta.is_file() {
        return Err(unreadable(path, "not a regular file"));
    }
    if meta.len() > limit {
        return Err(unreadable(
            path,
            &format!("{} bytes, more than the {limit} read", meta.len()),
        ));
    }
    let mut text = String::new();
    fs::File::open(path)
        .and_then(|file| file.take(limit).read_to_string(&mut text))
        .map_err(|e| unreadable(path, &e.to_string()))?;
    Ok(text)
}

fn require_dir(path: &Path) -> Result<()> {
    match fs::metadata(path) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(unreadable(path, "not a folder")),
        Err(e) => Err(unreadable(path, &e.to_string())),
    }
}

fn unreadable(path: &Path, why: &str) -> Error {
    Error::invalid(format!(
        "--namespace auto: cannot read the git repository at {}: {why}",
        path.display()
    ))
    .with_hint("name the namespace with --namespace NAME")
}

#[cfg(test)]
mod tests;
