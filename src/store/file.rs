//! The database file on disk: which paths are accepted, and creating a new
//! file and its folders so that only their owner can read them, or their
//! group where a folder says so.
//!
//! On Unix a new database file gets mode 0600 and every folder created for
//! it mode 0700, whatever the umask. A folder with the setgid bit shares
//! what is made in it with its group: there a new database file gets mode
//! 0660 and a new folder 2770 (both in the folder's group, by the setgid
//! bit). SQLite gives the `-wal` and `-shm` files it creates beside the
//! database the database file's own mode, and opening gives it to them
//! again (they outlive a process: see `wal.rs`), so they follow it. Other
//! existing files and folders are never changed.

use std::fs::{self, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, Result};

/// Fails with invalid input for paths that SQLite would not treat as a
/// plain file name: an empty path, `:memory:`, and `file:` URIs.
pub fn check_path(path: &Path) -> Result<()> {
    let text = path.to_string_lossy();
    let refused = if text.is_empty() {
        Some("an empty path")
    } else if text == ":memory:" {
        Some("an in-memory database")
    } else if text.starts_with("file:") {
        Some("a URI")
    } else {
        None
    };
    match refused {
        Some(what) => Err(Error::invalid(format!(
            "--db {text:?} is {what}, not a database file"
        ))
        .with_hint("pass the path of a file; write ./file:name for a file whose name starts with file:")),
        None => Ok(()),
    }
}

/// Returns whether something is at `path`.
///
/// # Failure
/// An I/O error naming the path when the system cannot tell (a folder
/// above it that the user may not enter, say), and for a folder.
pub fn exists(path: &Path) -> Result<bool> {
    match fs::metadata(path) {
        Ok(meta) if meta.is_dir() => Err(Error::new(
            ErrorKind::Io,
            format!("{} is a folder, not a database file", path.display()),
        )
        .with_hint("pass the path of a database file inside it with --db")),
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io(format!("opening {}", path.display()), e)),
    }
}

/// The error for a database file SQLite could not open: when the system
/// says why (permissions, say), an I/O error naming the path and the reason.
pub(crate) fn open_error(path: &Path, err: rusqlite::Error) -> Error {
    if err.sqlite_error_code() == Some(rusqlite::ErrorCode::CannotOpen)
        && let Err(reason) = OpenOptions::new().read(true).write(true).open(path)
    {
        return Error::io(format!("opening {}", path.display()), reason);
    }
    let err = Error::from(err);
    Error::new(err.kind(), format!("{}: {}", path.display(), err.message()))
}

/// Creates an empty database file at `path` (and its missing folders),
/// readable by its owner only, or by the group of a setgid folder it is
/// made in. A file that appeared meanwhile is left as
/// it is: another process created it. On failure, the folders this call
/// made are removed again.
pub(crate) fn create_private(path: &Path) -> Result<()> {
    let mut made = Vec::new();
    let created = create_private_file(path, &mut made);
    if created.is_err() {
        remove_made(&made);
    }
    created
}

fn create_private_file(path: &Path, made: &mut Vec<PathBuf>) -> Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        create_private_dirs(parent, made)
            .map_err(|e| Error::io(format!("creating {}", parent.display()), e))?;
    }
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    let mode = if group_shared(path) { 0o660 } else { 0o600 };
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    match options.open(path) {
        Ok(file) => {
            // The umask may have removed bits: set exactly the chosen mode.
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                if let Err(e) = file.set_permissions(fs::Permissions::from_mode(mode)) {
                    drop(file);
                    let _ = fs::remove_file(path);
                    return Err(create_error(path, e));
                }
            }
            drop(file);
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(create_error(path, e)),
    }
}

fn create_error(path: &Path, err: io::Error) -> Error {
    Error::io(format!("creating {}", path.display()), err)
}

/// Creates `dir` and its missing ancestors, outermost first, each with mode
/// 0700 on Unix (2770 in a setgid folder) whatever the umask (which filters
/// the mode `mkdir` is given, and may even take the owner's bits), and adds
/// each folder it made to `made`.
fn create_private_dirs(dir: &Path, made: &mut Vec<PathBuf>) -> io::Result<()> {
    let missing: Vec<&Path> = dir
        .ancestors()
        .filter(|p| !p.as_os_str().is_empty())
        .take_while(|p| fs::symlink_metadata(p).is_err())
        .collect();
    #[cfg(unix)]
    let builder = {
        let mut builder = fs::DirBuilder::new();
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder
    };
    #[cfg(not(unix))]
    let builder = fs::DirBuilder::new();
    for folder in missing.into_iter().rev() {
        match builder.create(folder) {
            Ok(()) => {
                made.push(folder.to_owned());
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    let mode = if group_shared(folder) { 0o2770 } else { 0o700 };
                    fs::set_permissions(folder, fs::Permissions::from_mode(mode))?;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && folder.is_dir() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Tells whether the folder that holds `path` has the setgid bit, which
/// shares what is made in it with the folder's group.
#[cfg(unix)]
fn group_shared(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    fs::metadata(parent).is_ok_and(|m| m.permissions().mode() & 0o2000 != 0)
}

/// Removes the folders in `made`, innermost first, as far as they are
/// still empty.
fn remove_made(made: &[PathBuf]) {
    for folder in made.iter().rev() {
        if fs::remove_dir(folder).is_err() {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_file_names_are_accepted() {
        for bad in ["", ":memory:", "file:x.db", "file:/tmp/x.db?mode=rwc"] {
            assert!(check_path(Path::new(bad)).is_err(), "{bad:?}");
        }
        for good in ["x.db", "./file:x.db", "/tmp/memory"] {
            check_path(Path::new(good)).unwrap();
        }
    }
}
