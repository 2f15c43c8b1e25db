//! A private, empty working folder for one LLM run, removed afterwards.
//!
//! A folder's name says whose it is: the process's id, start time and pid
//! namespace. A process killed before it could remove its folder leaves
//! it behind; the first run of a later process removes such folders of
//! processes that are gone (in its own pid namespace, owned by its user).

use std::path::{Path, PathBuf};
use std::sync::Once;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::error::{Error, Result};
use crate::slots::HolderInfo;

/// Folders made by this process so far, to keep their names apart.
static MADE: AtomicU32 = AtomicU32::new(0);
/// Left-behind folders are looked for once per process.
static SWEPT: Once = Once::new();
/// How many names are tried before giving up.
const ATTEMPTS: u32 = 100;
/// The start of every working folder's name.
const PREFIX: &str = "sqlite-graphrag-llm-";

/// A folder only this user may enter, deleted with its content on drop.
#[derive(Debug)]
pub(super) struct WorkDir {
    path: PathBuf,
}

impl WorkDir {
    /// Creates a new folder in the system's temporary folder (mode 0700 on
    /// Unix). Creation fails rather than reuse a folder that exists.
    ///
    /// # Failure
    /// I/O errors creating it.
    pub(super) fn create() -> Result<Self> {
        let base = std::env::temp_dir();
        let base = std::path::absolute(&base)
            .map_err(|e| Error::io(format!("finding the folder {}", base.display()), e))?;
        let me = HolderInfo::current(Vec::new());
        SWEPT.call_once(|| sweep(&base, &me));
        let mut last = None;
        for _ in 0..ATTEMPTS {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0);
            let name = format!(
                "{PREFIX}{}-{}-{}-{}-{nanos:x}",
                me.pid,
                me.start_time.unwrap_or(0),
                namespace_number(me.pid_namespace.as_deref()),
                MADE.fetch_add(1, Ordering::Relaxed)
            );
            let path = base.join(name);
            match builder().create(&path) {
                Ok(()) => return Ok(WorkDir { path }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => return Err(Error::io(format!("creating {}", path.display()), e)),
            }
        }
        let e = last.unwrap_or_else(|| std::io::Error::other("no free name"));
        Err(Error::io(
            format!("creating a working folder in {}", base.display()),
            e,
        ))
    }

    /// The folder.
    pub(super) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.path) {
            tracing::warn!("cannot remove {}: {e}", self.path.display());
        }
    }
}

/// The number of a pid namespace (`pid:[4026531836]` → `4026531836`),
/// `0` when unknown.
fn namespace_number(namespace: Option<&str>) -> String {
    let digits: String = namespace
        .unwrap_or_default()
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    if digits.is_empty() {
        "0".to_owned()
    } else {
        digits
    }
}

/// Removes the working folders in `base` left by processes of `me`'s pid
/// namespace that are gone, when `me`'s user owns them.
fn sweep(base: &Path, me: &HolderInfo) {
    let own_namespace = namespace_number(me.pid_namespace.as_deref());
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(owner) = name.to_str().and_then(|n| n.strip_prefix(PREFIX)) else {
            continue;
        };
        let mut parts = owner.split('-');
        let (Some(pid), Some(start), Some(namespace)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        if own_namespace == "0" || namespace != own_namespace {
            continue;
        }
        let (Ok(pid), Ok(start)) = (pid.parse::<u32>(), start.parse::<u64>()) else {
            continue;
        };
        let holder = HolderInfo {
            pid,
            start_time: (start != 0).then_some(start),
            pid_namespace: me.pid_namespace.clone(),
            command: Vec::new(),
            acquired_at_ms: 0,
        };
        if holder.is_alive() == Some(false) && is_own_folder(&entry.path()) {
            tracing::info!(
                "removing {}, left by a run that was killed",
                entry.path().display()
            );
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Whether `path` is a folder (not a link to one) owned by this user.
#[cfg(unix)]
fn is_own_folder(path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::symlink_metadata(path)
        .is_ok_and(|m| m.is_dir() && m.uid() == rustix::process::getuid().as_raw())
}

#[cfg(not(unix))]
fn is_own_folder(_path: &Path) -> bool {
    false
}

#[cfg(unix)]
fn builder() -> std::fs::DirBuilder {
    use std::os::unix::fs::DirBuilderExt;
    let mut builder = std::fs::DirBuilder::new();
    builder.mode(0o700);
    builder
}

#[cfg(not(unix))]
fn builder() -> std::fs::DirBuilder {
    std::fs::DirBuilder::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_folder_is_new_private_and_removed() {
        let a = WorkDir::create().unwrap();
        let b = WorkDir::create().unwrap();
        assert_ne!(a.path(), b.path());
        std::fs::write(a.path().join("f"), "x").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(a.path()).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700);
        }
        let path = a.path().to_owned();
        drop(a);
        assert!(!path.exists());
    }
}
