//! The runtime folder and the folders and files inside it, opened so that
//! nobody else can redirect a write.
//!
//! The runtime folder is opened once and checked through its descriptor (a
//! folder named explicitly is reached one component at a time, see
//! `walk`); every pool folder,
//! queue folder and file is then opened relative to a folder descriptor,
//! by a single name, never following a symbolic link, and a file must be a
//! regular file with one link. So a planted symbolic link or hard link
//! makes the program refuse, never write through it.
//!
//! Which runtime folders are trusted (Unix):
//! - `$XDG_RUNTIME_DIR` only if it is an absolute path to a folder owned by
//!   this user that nobody else may enter (else the per-user folder in the
//!   temporary folder is used, with a warning);
//! - the default per-user folder must be owned by this user and writable by
//!   nobody else, as ssh and tmux require of theirs;
//! - a folder named explicitly may be shared by several users: it and every
//!   folder on the way to it must be owned by root or this user, and any of
//!   them that group or others may write must have the sticky bit (so
//!   nobody can delete or replace another user's files); a symbolic link on
//!   the way is followed only if root or this user owns it.
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
    /// `sqlite-graphrag` inside `$XDG_RUNTIME_DIR`: used as a per-user
    /// folder only if `$XDG_RUNTIME_DIR` is absolute, owned by this user
    /// and closed to everyone else (see [`RuntimeDir::trusted`]).
    Xdg,
    /// The default folder: owned by this user, writable by nobody else.
    PerUser,
    /// Named by flag, environment or configuration file: may be shared by
    /// several users if it is sticky.
    Named,
}

/// The per-user folder in the temporary folder is `sqlite-graphrag-<uid>`.
const TEMP_DIR_PREFIX: &str = "sqlite-graphrag";

impl RuntimeDir {
    /// The per-user folder in the system's temporary folder:
    /// `sqlite-graphrag-<uid>` (without the uid on Windows).
    pub fn per_user_temp() -> RuntimeDir {
        #[cfg(unix)]
        let name = format!("{TEMP_DIR_PREFIX}-{}", rustix::process::getuid().as_raw());
        #[cfg(not(unix))]
        let name = TEMP_DIR_PREFIX.to_owned();
        RuntimeDir {
            path: std::env::temp_dir().join(name),
            kind: RuntimeDirKind::PerUser,
        }
    }

    /// The folder to use: a folder inside `$XDG_RUNTIME_DIR` becomes a
    /// per-user folder if `$XDG_RUNTIME_DIR` can be trusted, else (with a
    /// warning) [`RuntimeDir::per_user_temp`]; any other is itself.
    pub fn trusted(&self) -> RuntimeDir {
        if self.kind != RuntimeDirKind::Xdg {
            return self.clone();
        }
        let xdg = self.path.parent().unwrap_or(&self.path);
        match xdg_problem(xdg) {
            None => RuntimeDir {
                path: self.path.clone(),
                kind: RuntimeDirKind::PerUser,
            },
            Some(problem) => {
                let fallback = RuntimeDir::per_user_temp();
                tracing::warn!(
                    "ignoring XDG_RUNTIME_DIR={}: {problem}; using {} instead",
                    xdg.display(),
                    fallback.path.display()
                );
                fallback
            }
        }
    }
}

/// Why `$XDG_RUNTIME_DIR` cannot be trusted, if it cannot: it must be an
/// absolute path (the XDG specification says to ignore a relative one) to
/// a folder, not a symbolic link, owned by this user and closed to group
/// and others.
fn xdg_problem(xdg: &std::path::Path) -> Option<String> {
    if !xdg.is_absolute() {
        return Some("it is not an absolute path".to_owned());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let meta = match std::fs::symlink_metadata(xdg) {
            Ok(meta) => meta,
            Err(e) => return Some(format!("it cannot be read ({e})")),
        };
        let me = rustix::process::geteuid().as_raw();
        if !meta.is_dir() {
            return Some("it is not a folder (or is a symbolic link)".to_owned());
        }
        if meta.uid() != me || meta.mode() & 0o077 != 0 {
            return Some(format!(
                "it is owned by uid {}, mode {:04o}, but it must be owned by uid {me} and closed to group and others",
                meta.uid(),
                meta.mode() & 0o7777
            ));
        }
    }
    None
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
    use std::path::{Path, PathBuf};

    use rustix::fs::{self, AtFlags, FileType, Mode, OFlags};
    use rustix::io::Errno;

    use super::{RuntimeDir, RuntimeDirKind, refuse};

    /// A name for an entry being created, unique among the processes of
    /// every container that shares the folder (pids repeat across pid
    /// namespaces, so the time in nanoseconds goes in too): it starts with
    /// a dot, which no name the pools use does.
    fn temporary_name(name: &str) -> String {
        use std::sync::atomic::{AtomicU64, Ordering};
        use std::time::{SystemTime, UNIX_EPOCH};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        format!(".{name}.{}.{nanos}.{n}.new", std::process::id())
    }
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
        /// checked as its kind requires (see [`RuntimeDir::trusted`] for a
        /// folder in `$XDG_RUNTIME_DIR`); `None` if it does not exist and
        /// `create` is false.
        ///
        /// # Failure
        /// Invalid input with a hint when the folder is not safe to use;
        /// I/O errors.
        pub(crate) fn open_root(dir: &RuntimeDir, create: bool) -> Result<Option<Folder>> {
            let dir = dir.trusted();
            let opened = match dir.kind {
                RuntimeDirKind::Named => walk(&dir.path, create)?,
                RuntimeDirKind::PerUser | RuntimeDirKind::Xdg => open_per_user(&dir.path, create)?,
            };
            let Some((fd, path, st)) = opened else {
                return Ok(None);
            };
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
            let mut opened = fs::openat(&self.fd, name, DIR_FLAGS, Mode::empty());
            if create && matches!(opened, Err(Errno::NOENT)) {
                self.create_dir_in_place(name, &path)?;
                opened = fs::openat(&self.fd, name, DIR_FLAGS, Mode::empty());
            }
            let fd = match opened {
                Ok(fd) => fd,
                Err(Errno::NOENT) if !create => return Ok(None),
                Err(Errno::LOOP | Errno::NOTDIR) => {
                    return Err(refuse(&path, "it is a symbolic link or not a folder"));
                }
                Err(e) => return Err(io(&path, "opening", e)),
            };
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
                        match self.create_file_in_place(name, &path, mode)? {
                            Some(fd) => break fd,
                            None => continue,
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

        /// Creates the folder `name` with this folder's folder mode, unless
        /// it exists. See [`Folder::place`] for how nobody sees it with
        /// another mode.
        fn create_dir_in_place(&self, name: &str, path: &Path) -> Result<()> {
            let temporary = temporary_name(name);
            fs::mkdirat(&self.fd, &temporary, Mode::RWXU).map_err(|e| io(path, "creating", e))?;
            let made = fs::openat(&self.fd, &temporary, DIR_FLAGS, Mode::empty())
                .and_then(|fd| fs::fchmod(&fd, Mode::from_raw_mode(self.dir_mode)))
                .map_err(|e| io(path, "setting the mode of", e))
                .and_then(|()| self.place(&temporary, name, path));
            if !matches!(made, Ok(true)) {
                let _ = fs::unlinkat(&self.fd, &temporary, AtFlags::REMOVEDIR);
            }
            made.map(|_| ())
        }

        /// Creates the file `name` with exactly `mode` and returns it open
        /// for reading and writing; `None` if it appeared meanwhile. See
        /// [`Folder::place`] for how nobody sees it with another mode.
        fn create_file_in_place(
            &self,
            name: &str,
            path: &Path,
            mode: Mode,
        ) -> Result<Option<OwnedFd>> {
            let temporary = temporary_name(name);
            let flags = OFlags::RDWR | FILE_FLAGS | OFlags::CREATE | OFlags::EXCL;
            let fd = fs::openat(&self.fd, &temporary, flags, mode)
                .map_err(|e| io(path, "creating", e))?;
            let placed = fs::fchmod(&fd, mode)
                .map_err(|e| io(path, "setting the mode of", e))
                .and_then(|()| self.place(&temporary, name, path));
            match placed {
                Ok(true) => Ok(Some(fd)),
                other => {
                    let _ = fs::unlinkat(&self.fd, &temporary, AtFlags::empty());
                    other.map(|_| None)
                }
            }
        }

        /// Renames the entry `temporary`, already given its final mode, to
        /// `name` unless `name` exists (then returns false): the umask
        /// filters the mode a file or folder is created with, so one made
        /// under its own name would be seen by other users with the narrower
        /// mode until `fchmod` widens it, and they would be refused. Where
        /// the system cannot rename without replacing, a file is linked to
        /// `name` (which fails if it exists) and the temporary name removed,
        /// which leaves a moment in which the file has two links, and a
        /// folder is renamed only if `name` is still missing.
        fn place(&self, temporary: &str, name: &str, path: &Path) -> Result<bool> {
            #[cfg(any(target_os = "linux", target_os = "android", target_vendor = "apple"))]
            match fs::renameat_with(
                &self.fd,
                temporary,
                &self.fd,
                name,
                fs::RenameFlags::NOREPLACE,
            ) {
                Ok(()) => return Ok(true),
                Err(Errno::EXIST) => return Ok(false),
                Err(Errno::INVAL | Errno::NOSYS | Errno::NOTSUP) => {}
                Err(e) => return Err(io(path, "creating", e)),
            }
            match fs::linkat(&self.fd, temporary, &self.fd, name, AtFlags::empty()) {
                Ok(()) => {
                    let _ = fs::unlinkat(&self.fd, temporary, AtFlags::empty());
                    Ok(true)
                }
                Err(Errno::EXIST) => Ok(false),
                Err(Errno::PERM | Errno::ISDIR) => {
                    match fs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW) {
                        Ok(_) => Ok(false),
                        Err(Errno::NOENT) => fs::renameat(&self.fd, temporary, &self.fd, name)
                            .map(|()| true)
                            .map_err(|e| io(path, "creating", e)),
                        Err(e) => Err(io(path, "creating", e)),
                    }
                }
                Err(e) => Err(io(path, "creating", e)),
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

    /// The most symbolic links followed on the way to a runtime folder, as
    /// the kernel allows.
    const MAX_LINK_HOPS: u32 = 40;

    /// An open folder, its path and its status.
    type Opened = (OwnedFd, PathBuf, fs::Stat);

    /// Opens the default per-user folder `path`: its parent is opened as it
    /// is, the folder itself is made there (mode 0700) if `create`, opened
    /// without following a symbolic link, and must be owned by this user
    /// and writable by nobody else.
    fn open_per_user(path: &Path, create: bool) -> Result<Option<Opened>> {
        let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
            return Err(refuse(path, "it is not a folder inside another one"));
        };
        let parent = if parent.as_os_str().is_empty() {
            Path::new(".")
        } else {
            parent
        };
        let parent_fd = match fs::openat(
            fs::CWD,
            parent,
            DIR_FLAGS.difference(OFlags::NOFOLLOW),
            Mode::empty(),
        ) {
            Ok(fd) => fd,
            Err(Errno::NOENT) if !create => return Ok(None),
            Err(e) => return Err(io(parent, "opening", e)),
        };
        if create {
            match fs::mkdirat(&parent_fd, name, Mode::RWXU) {
                Ok(()) | Err(Errno::EXIST) => {}
                Err(e) => return Err(io(path, "creating", e)),
            }
        }
        let Some(fd) = open_dir_at(&parent_fd, name, path)? else {
            return Ok(None);
        };
        let st = fs::fstat(&fd).map_err(|e| io(path, "reading", e))?;
        let me = rustix::process::geteuid().as_raw();
        if st.st_uid != me || st.st_mode & GROUP_OR_OTHER_WRITE != 0 {
            return Err(refuse(
                path,
                format!(
                    "it is {}, but a per-user runtime folder must be owned by uid {me} and writable by nobody else",
                    describe(&st)
                ),
            ));
        }
        Ok(Some((fd, path.to_owned(), st)))
    }

    /// Opens the folder `name` inside `parent` without following a symbolic
    /// link; `None` if it does not exist.
    ///
    /// # Failure
    /// Invalid input, naming its owner and mode, when it is a symbolic
    /// link, not a folder, or cannot be opened; I/O errors.
    fn open_dir_at(
        parent: &OwnedFd,
        name: &std::ffi::OsStr,
        path: &Path,
    ) -> Result<Option<OwnedFd>> {
        match fs::openat(parent, name, DIR_FLAGS, Mode::empty()) {
            Ok(fd) => Ok(Some(fd)),
            Err(Errno::NOENT) => Ok(None),
            Err(e @ (Errno::LOOP | Errno::NOTDIR | Errno::ACCESS)) => {
                let what = match fs::statat(parent, name, AtFlags::SYMLINK_NOFOLLOW) {
                    Ok(st) => {
                        let kind = match FileType::from_raw_mode(st.st_mode) {
                            FileType::Symlink => "a symbolic link",
                            FileType::Directory => "a folder this user cannot open",
                            _ => "not a folder",
                        };
                        format!("it is {kind}, {}", describe(&st))
                    }
                    Err(_) => format!("it cannot be opened ({})", std::io::Error::from(e)),
                };
                Err(refuse(path, what))
            }
            Err(e) => Err(io(path, "opening", e)),
        }
    }

    /// Reaches the runtime folder `path` named by flag, environment or
    /// configuration file one component at a time from `/`, never through
    /// a path the kernel resolves on its own: every folder on the way (and
    /// the runtime folder itself) must be owned by root or this user and,
    /// if group or others may write it, sticky; a symbolic link on the way
    /// is followed only if root or this user owns it, at most 40 of them.
    /// Missing folders are created (if `create`) only once the folder they
    /// go in passed these checks, one level at a time, mode 0700. `None`
    /// if it does not exist and `create` is false.
    fn walk(path: &Path, create: bool) -> Result<Option<Opened>> {
        use std::os::unix::ffi::OsStrExt;
        use std::path::Component;

        let absolute = if path.is_absolute() {
            path.to_owned()
        } else {
            std::env::current_dir()
                .map_err(|e| Error::io("finding the current folder", e))?
                .join(path)
        };
        let root = Path::new("/");
        let root_fd = fs::openat(fs::CWD, root, DIR_FLAGS, Mode::empty())
            .map_err(|e| io(root, "opening", e))?;
        let root_st = fs::fstat(&root_fd).map_err(|e| io(root, "reading", e))?;
        check_on_the_way(root, &root_st)?;
        let mut reached: Vec<Opened> = vec![(root_fd, root.to_owned(), root_st)];
        let mut left: std::collections::VecDeque<std::ffi::OsString> = absolute
            .components()
            .filter_map(|c| match c {
                Component::Normal(name) => Some(name.to_owned()),
                Component::ParentDir => Some("..".into()),
                _ => None,
            })
            .collect();
        let mut hops = 0;
        while let Some(name) = left.pop_front() {
            if name == ".." {
                if reached.len() > 1 {
                    reached.pop();
                }
                continue;
            }
            let (here_fd, here_path, _) = reached.last().expect("the root is never left");
            let next = here_path.join(&name);
            let st = match fs::statat(here_fd, &name, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(st) => st,
                Err(Errno::NOENT) if create => {
                    match fs::mkdirat(here_fd, &name, Mode::RWXU) {
                        Ok(()) | Err(Errno::EXIST) => {}
                        Err(e) => return Err(io(&next, "creating", e)),
                    }
                    left.push_front(name);
                    continue;
                }
                Err(Errno::NOENT) => return Ok(None),
                Err(e) => return Err(io(&next, "reading", e)),
            };
            if FileType::from_raw_mode(st.st_mode) == FileType::Symlink {
                if !owned_by_root_or_me(&st) {
                    return Err(refuse(
                        &next,
                        format!(
                            "it is a symbolic link {}; a link on the way to a runtime folder is followed only if root or uid {} owns it",
                            describe(&st),
                            rustix::process::geteuid().as_raw()
                        ),
                    ));
                }
                hops += 1;
                if hops > MAX_LINK_HOPS {
                    return Err(refuse(
                        path,
                        format!("more than {MAX_LINK_HOPS} symbolic links on the way"),
                    ));
                }
                let target = fs::readlinkat(here_fd, &name, Vec::new())
                    .map_err(|e| io(&next, "reading the link", e))?;
                let target = Path::new(std::ffi::OsStr::from_bytes(target.as_bytes()));
                if target.is_absolute() {
                    reached.truncate(1);
                }
                for component in target.components().rev() {
                    match component {
                        Component::Normal(part) => left.push_front(part.to_owned()),
                        Component::ParentDir => left.push_front("..".into()),
                        _ => {}
                    }
                }
                continue;
            }
            let Some(fd) = open_dir_at(here_fd, &name, &next)? else {
                return Err(refuse(&next, "it was replaced while it was being opened"));
            };
            let st = fs::fstat(&fd).map_err(|e| io(&next, "reading", e))?;
            check_on_the_way(&next, &st)?;
            reached.push((fd, next, st));
        }
        Ok(reached.pop())
    }

    fn owned_by_root_or_me(st: &fs::Stat) -> bool {
        st.st_uid == 0 || st.st_uid == rustix::process::geteuid().as_raw()
    }

    /// A named runtime folder, and every folder on the way to it, must be
    /// owned by root or this user, and sticky if others may write it.
    fn check_on_the_way(path: &Path, st: &fs::Stat) -> Result<()> {
        if owned_by_root_or_me(st) && others_cannot_replace(st.st_mode) {
            return Ok(());
        }
        Err(refuse(
            path,
            format!(
                "it is {}; a runtime folder and every folder on the way to it must be owned by root or uid {}, and have the sticky bit if group or others may write it",
                describe(st),
                rustix::process::geteuid().as_raw()
            ),
        ))
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
            Self::at(dir.trusted().path, create)
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

/// The most spaces [`rewrite`] writes over old content.
const MAX_PADDING: usize = 64 * 1024;

/// Replaces the whole content of `file` with `bytes` without ever leaving
/// it empty, even for a moment: a process killed in between would leave an
/// empty record behind, which reads as "no record". The new bytes are
/// written over the old ones, padded with spaces to the old length (the
/// readers of these files ignore surrounding whitespace), and only then is
/// the file cut to size.
pub(crate) fn rewrite(mut file: &File, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::{Seek, SeekFrom, Write};
    let old_len = usize::try_from(file.metadata()?.len()).unwrap_or(usize::MAX);
    let mut padded = bytes.to_vec();
    // A damaged, huge file is cut in steps: its garbage tail stays damage.
    padded.resize(old_len.min(MAX_PADDING).max(bytes.len()), b' ');
    file.seek(SeekFrom::Start(0))?;
    file.write_all(&padded)?;
    file.set_len(bytes.len() as u64)
}
