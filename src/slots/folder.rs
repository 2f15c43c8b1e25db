//! The runtime folder and the folders and files inside it, opened so that
//! nobody else can redirect a write.
//!
//! The runtime folder is opened once (its last component without following
//! a symbolic link) and checked through its descriptor; every pool folder,
//! queue folder and file is then opened relative to a folder descriptor,
//! by a single name, never following a symbolic link, and a file must be a
//! regular file with one link. So a planted symbolic link or hard link
//! makes the program refuse, never write through it.
//!
//! Which runtime folders are trusted (Unix):
//! - the default per-user folder must be owned by this user and writable by
//!   nobody else, as ssh and tmux require of theirs;
//! - a folder named explicitly may be shared by several users: it and every
//!   folder above it must be owned by root or this user, and any of them
//!   that group or others may write must have the sticky bit (so nobody can
//!   delete or replace another user's files).
//!
//! Folders and files created inside take the runtime folder's permission
//! bits (files without the execute bits), whatever the umask: private in a
//! private folder, usable by every user of a shared one.

use std::fs::File;
use std::path::PathBuf;

#[cfg(unix)]
use crate::error::{Error, ErrorKind};

/// Where the pools live, and how far that folder is trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeDir {
    /// The folder.
    pub path: PathBuf,
    /// Whether it is the default per-user folder or one named explicitly.
    pub kind: RuntimeDirKind,
}

/// How a runtime folder was chosen, which decides the checks it must pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuntimeDirKind {
    /// The default folder: owned by this user, writable by nobody else.
    PerUser,
    /// Named by flag, environment or configuration file: may be shared by
    /// several users if it is sticky.
    Named,
}

/// The hint given with every refusal to use a runtime folder or an entry.
#[cfg(unix)]
const UNSAFE_HINT: &str = "another user may have created it to make this program write elsewhere: remove it if you did not make it, or choose another runtime folder with --runtime-dir or SQLITE_GRAPHRAG_RUNTIME_DIR (a folder shared by several users needs the sticky bit: chmod 1777, or 3770 for one group; see README \"Slots\")";

#[cfg(unix)]
fn refuse(path: &std::path::Path, why: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorKind::InvalidInput,
        format!("refusing to use {}: {why}", path.display()),
    )
    .with_hint(UNSAFE_HINT)
}

#[cfg(unix)]
pub(crate) use unix::Folder;

#[cfg(not(unix))]
pub(crate) use portable::Folder;

#[cfg(unix)]
mod unix {
    use std::fs::File;
    use std::os::fd::{BorrowedFd, OwnedFd};
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    use std::path::{Path, PathBuf};

    use rustix::fs::{self, AtFlags, FileType, Mode, OFlags};
    use rustix::io::Errno;

    use super::{RuntimeDir, RuntimeDirKind, refuse};
    use crate::error::{Error, Result};

    const STICKY: u32 = 0o1000;
    const GROUP_OR_OTHER_WRITE: u32 = 0o022;
    const DIR_FLAGS: OFlags = OFlags::RDONLY
        .union(OFlags::DIRECTORY)
        .union(OFlags::NOFOLLOW)
        .union(OFlags::CLOEXEC);
    const FILE_FLAGS: OFlags = OFlags::NOFOLLOW
        .union(OFlags::CLOEXEC)
        .union(OFlags::NOCTTY)
        .union(OFlags::NONBLOCK);

    /// An open folder: everything inside is reached through its descriptor.
    #[derive(Debug)]
    pub(crate) struct Folder {
        fd: OwnedFd,
        path: PathBuf,
        /// Permission bits of folders created inside.
        dir_mode: u32,
        /// Permission bits of files created inside.
        file_mode: u32,
    }

    fn io(path: &Path, what: &str, e: impl Into<std::io::Error>) -> Error {
        Error::io(format!("{what} {}", path.display()), e.into())
    }

    fn describe(st: &fs::Stat) -> String {
        format!(
            "owned by uid {}, mode {:04o}",
            st.st_uid,
            st.st_mode & 0o7777
        )
    }

    /// Others may write it only if it is sticky.
    fn others_cannot_replace(mode: u32) -> bool {
        mode & GROUP_OR_OTHER_WRITE == 0 || mode & STICKY != 0
    }

    impl Folder {
        /// Opens the runtime folder (creating it, mode 0700, if `create`),
        /// checked as its kind requires; `None` if it does not exist and
        /// `create` is false.
        ///
        /// # Failure
        /// Invalid input with a hint when the folder is not safe to use;
        /// I/O errors.
        pub(crate) fn open_root(dir: &RuntimeDir, create: bool) -> Result<Option<Folder>> {
            if create {
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(&dir.path)
                    .map_err(|e| io(&dir.path, "creating", e))?;
            }
            let path = match dir.kind {
                RuntimeDirKind::PerUser => dir.path.clone(),
                RuntimeDirKind::Named => match std::fs::canonicalize(&dir.path) {
                    Ok(path) => path,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                    Err(e) => return Err(io(&dir.path, "resolving", e)),
                },
            };
            let fd = match fs::openat(fs::CWD, &path, DIR_FLAGS, Mode::empty()) {
                Ok(fd) => fd,
                Err(Errno::NOENT) if !create => return Ok(None),
                Err(Errno::LOOP | Errno::NOTDIR) => {
                    return Err(refuse(&path, "it is a symbolic link or not a folder"));
                }
                Err(e) => return Err(io(&path, "opening", e)),
            };
            let st = fs::fstat(&fd).map_err(|e| io(&path, "reading", e))?;
            let me = rustix::process::geteuid().as_raw();
            match dir.kind {
                RuntimeDirKind::PerUser => {
                    if st.st_uid != me || st.st_mode & GROUP_OR_OTHER_WRITE != 0 {
                        return Err(refuse(
                            &path,
                            format!(
                                "it is {}, but a per-user runtime folder must be owned by uid {me} and writable by nobody else",
                                describe(&st)
                            ),
                        ));
                    }
                }
                RuntimeDirKind::Named => {
                    if !(st.st_uid == me || st.st_uid == 0) {
                        return Err(refuse(
                            &path,
                            format!(
                                "it is {}, but a runtime folder must be owned by root or uid {me}",
                                describe(&st)
                            ),
                        ));
                    }
                    check_sticky(&path, &st)?;
                    for ancestor in path.ancestors().skip(1) {
                        let meta =
                            std::fs::metadata(ancestor).map_err(|e| io(ancestor, "reading", e))?;
                        if !(meta.uid() == me || meta.uid() == 0)
                            || !others_cannot_replace(meta.mode())
                        {
                            return Err(refuse(
                                &path,
                                format!(
                                    "the folder above it, {}, is owned by uid {}, mode {:04o}; every folder above a runtime folder must be owned by root or uid {me}, and sticky if others may write it",
                                    ancestor.display(),
                                    meta.uid(),
                                    meta.mode() & 0o7777
                                ),
                            ));
                        }
                    }
                }
            }
            let bits = st.st_mode & 0o3777;
            Ok(Some(Folder {
                fd,
                path,
                dir_mode: bits,
                file_mode: bits & 0o666,
            }))
        }

        /// Returns the folder's path (for messages and display).
        pub(crate) fn path(&self) -> &Path {
            &self.path
        }

        /// Opens the folder `name` inside (creating it if `create`); `None`
        /// if it does not exist and `create` is false.
        ///
        /// # Failure
        /// Invalid input when it is a symbolic link, not a folder, or
        /// writable by others without the sticky bit; I/O errors.
        pub(crate) fn subdir(&self, name: &str, create: bool) -> Result<Option<Folder>> {
            let path = self.path.join(name);
            let created = create
                && match fs::mkdirat(&self.fd, name, Mode::RWXU) {
                    Ok(()) => true,
                    Err(Errno::EXIST) => false,
                    Err(e) => return Err(io(&path, "creating", e)),
                };
            let fd = match fs::openat(&self.fd, name, DIR_FLAGS, Mode::empty()) {
                Ok(fd) => fd,
                Err(Errno::NOENT) if !create => return Ok(None),
                Err(Errno::LOOP | Errno::NOTDIR) => {
                    return Err(refuse(&path, "it is a symbolic link or not a folder"));
                }
                Err(e) => return Err(io(&path, "opening", e)),
            };
            if created {
                fs::fchmod(&fd, Mode::from_raw_mode(self.dir_mode))
                    .map_err(|e| io(&path, "setting the mode of", e))?;
            }
            let st = fs::fstat(&fd).map_err(|e| io(&path, "reading", e))?;
            check_sticky(&path, &st)?;
            Ok(Some(Folder {
                fd,
                path,
                dir_mode: self.dir_mode,
                file_mode: self.file_mode,
            }))
        }

        /// Opens the file `name` inside for reading and writing (read only
        /// if it belongs to another user who did not let us write), creating
        /// it with this folder's file mode if `create`; `None` if it does not
        /// exist (or was just deleted) and `create` is false.
        ///
        /// # Failure
        /// Invalid input when it is a symbolic link, not a regular file, or
        /// has more than one link; I/O errors.
        pub(crate) fn file(&self, name: &str, create: bool) -> Result<Option<File>> {
            let path = self.path.join(name);
            let mode = Mode::from_raw_mode(self.file_mode);
            let fd = loop {
                match fs::openat(&self.fd, name, OFlags::RDWR | FILE_FLAGS, Mode::empty()) {
                    Ok(fd) => break fd,
                    Err(Errno::ACCESS) => {
                        match fs::openat(&self.fd, name, OFlags::RDONLY | FILE_FLAGS, Mode::empty())
                        {
                            Ok(fd) => break fd,
                            Err(e) => return Err(io(&path, "opening", e)),
                        }
                    }
                    Err(Errno::NOENT) if create => {
                        let flags = OFlags::RDWR | FILE_FLAGS | OFlags::CREATE | OFlags::EXCL;
                        match fs::openat(&self.fd, name, flags, mode) {
                            Ok(fd) => {
                                fs::fchmod(&fd, mode)
                                    .map_err(|e| io(&path, "setting the mode of", e))?;
                                break fd;
                            }
                            Err(Errno::EXIST) => continue,
                            Err(e) => return Err(io(&path, "creating", e)),
                        }
                    }
                    Err(Errno::NOENT) => return Ok(None),
                    Err(Errno::LOOP) => return Err(refuse(&path, "it is a symbolic link")),
                    Err(e) => return Err(io(&path, "opening", e)),
                }
            };
            let st = fs::fstat(&fd).map_err(|e| io(&path, "reading", e))?;
            if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
                return Err(refuse(&path, "it is not a regular file"));
            }
            match st.st_nlink {
                0 if !create => Ok(None),
                0 | 1 => Ok(Some(File::from(fd))),
                links => Err(refuse(
                    &path,
                    format!("it has {links} hard links, so it may be someone else's file"),
                )),
            }
        }

        /// The names of the entries inside.
        ///
        /// # Failure
        /// I/O errors reading the folder.
        pub(crate) fn names(&self) -> Result<Vec<String>> {
            let dir = fs::Dir::read_from(&self.fd).map_err(|e| io(&self.path, "reading", e))?;
            let mut names = Vec::new();
            for entry in dir {
                let entry = entry.map_err(|e| io(&self.path, "reading", e))?;
                if let Ok(name) = entry.file_name().to_str() {
                    names.push(name.to_owned());
                }
            }
            Ok(names)
        }

        /// Deletes the entry `name`, if it can.
        pub(crate) fn remove(&self, name: &str) {
            let _ = fs::unlinkat(&self.fd, name, AtFlags::empty());
        }

        /// Renames the entry `from` to `to` inside this folder.
        ///
        /// # Failure
        /// I/O errors.
        pub(crate) fn rename(&self, from: &str, to: &str) -> Result<()> {
            fs::renameat(&self.fd, from, &self.fd, to)
                .map_err(|e| io(&self.path.join(to), "renaming to", e))
        }
        /// True when `fd` is open on this folder's regular file `name` (same
        /// device and inode) and its open file description holds the file's
        /// exclusive lock: flock locks belong to open file descriptions, so
        /// a non-blocking exclusive lock through `fd` succeeds exactly when
        /// that description held it already or has now taken it from a free
        /// slot, and fails when another description holds it.
        pub(crate) fn lock_is_held_through(&self, name: &str, fd: BorrowedFd<'_>) -> bool {
            let (Ok(by_fd), Ok(by_name)) = (
                fs::fstat(fd),
                fs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW),
            ) else {
                return false;
            };
            FileType::from_raw_mode(by_fd.st_mode) == FileType::RegularFile
                && (by_fd.st_dev, by_fd.st_ino) == (by_name.st_dev, by_name.st_ino)
                && fs::flock(fd, fs::FlockOperation::NonBlockingLockExclusive).is_ok()
        }
    }

    /// A folder others may write must have the sticky bit, so that nobody
    /// can delete or replace another user's entries.
    fn check_sticky(path: &Path, st: &fs::Stat) -> Result<()> {
        if others_cannot_replace(st.st_mode) {
            return Ok(());
        }
        Err(refuse(
            path,
            format!(
                "it is {}; a folder that group or others may write needs the sticky bit",
                describe(st)
            ),
        ))
    }
}

#[cfg(not(unix))]
mod portable {
    use std::fs::{File, OpenOptions};
    use std::path::{Path, PathBuf};

    use super::RuntimeDir;
    use crate::error::{Error, Result};

    /// An open folder, reached by path (no descriptor-relative opens here).
    #[derive(Debug)]
    pub(crate) struct Folder {
        path: PathBuf,
    }

    fn io(path: &Path, what: &str, e: std::io::Error) -> Error {
        Error::io(format!("{what} {}", path.display()), e)
    }

    impl Folder {
        /// Opens the runtime folder (creating it if `create`); `None` if it
        /// does not exist and `create` is false.
        pub(crate) fn open_root(dir: &RuntimeDir, create: bool) -> Result<Option<Folder>> {
            Self::at(dir.path.clone(), create)
        }

        fn at(path: PathBuf, create: bool) -> Result<Option<Folder>> {
            if create {
                std::fs::create_dir_all(&path).map_err(|e| io(&path, "creating", e))?;
            } else if !path.is_dir() {
                return Ok(None);
            }
            Ok(Some(Folder { path }))
        }

        /// Returns the folder's path.
        pub(crate) fn path(&self) -> &Path {
            &self.path
        }

        /// Opens the folder `name` inside (creating it if `create`).
        pub(crate) fn subdir(&self, name: &str, create: bool) -> Result<Option<Folder>> {
            Self::at(self.path.join(name), create)
        }

        /// Opens the file `name` inside for reading and writing (creating it if `create`).
        pub(crate) fn file(&self, name: &str, create: bool) -> Result<Option<File>> {
            let path = self.path.join(name);
            match OpenOptions::new()
                .read(true)
                .write(true)
                .create(create)
                .truncate(false)
                .open(&path)
            {
                Ok(file) => Ok(Some(file)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && !create => Ok(None),
                Err(e) => Err(io(&path, "opening", e)),
            }
        }

        /// The names of the entries inside.
        pub(crate) fn names(&self) -> Result<Vec<String>> {
            let entries =
                std::fs::read_dir(&self.path).map_err(|e| io(&self.path, "reading", e))?;
            Ok(entries
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .collect())
        }

        /// Deletes the entry `name`, if it can.
        pub(crate) fn remove(&self, name: &str) {
            let _ = std::fs::remove_file(self.path.join(name));
        }

        /// Renames the entry `from` to `to` inside this folder.
        pub(crate) fn rename(&self, from: &str, to: &str) -> Result<()> {
            let target = self.path.join(to);
            std::fs::rename(self.path.join(from), &target)
                .map_err(|e| io(&target, "renaming to", e))
        }
    }
}

/// Reads at most `limit` bytes of `file` from its start.
pub(crate) fn read_start(mut file: &File, limit: u64) -> std::io::Result<String> {
    use std::io::{Read, Seek, SeekFrom};
    let mut text = String::new();
    file.seek(SeekFrom::Start(0))?;
    file.take(limit).read_to_string(&mut text)?;
    Ok(text)
}

/// Replaces the whole content of `file` with `bytes`.
pub(crate) fn rewrite(mut file: &File, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::{Seek, SeekFrom, Write};
    file.set_len(0)?;
    file.seek(SeekFrom::Start(0))?;
    file.write_all(bytes)
}
