//! The cross-process slot semaphore: at most N holders per pool, host-wide.
//!
//! A pool is a folder of N permanent files `slot-0.lock` … `slot-{N-1}.lock`.
//! A slot is held by holding an exclusive advisory lock on its file (flock on
//! Unix, LockFileEx on Windows) for as long as the holder lives. The files are
//! never deleted, so there is nothing to clean up: when a holder dies, the
//! kernel drops its lock and the slot is free at once. Nothing about
//! admission depends on pids; the pid, start time and command that a holder
//! writes into its file are for `slots status` only.
//!
//! The pool's N is recorded in `pool.json` when the pool is created, and
//! every process follows it (see [`Pool::open`]).

mod count;
mod folder;
mod holder;
mod inherit;
mod lock;
mod queue;
mod record;

use std::cell::Cell;
use std::fs::File;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::error::{Error, ErrorKind, Result};
use crate::time::Timestamp;

use count::validate_pool_name;
pub use count::{MAX_SLOTS_LIMIT, SlotCount};
use folder::Folder;
pub use folder::{RuntimeDir, RuntimeDirKind};
pub use holder::{HolderInfo, PidNamespace};
pub use inherit::guarded;
use queue::{Place, Ticket};

/// The pool used when none is named.
pub const DEFAULT_POOL: &str = "llm";
/// Environment variable through which a guarded child learns which slot
/// file descriptor it inherited (Unix): `<fd>:<path>`.
pub const ENV_INHERITED_SLOT: &str = "SQLITE_GRAPHRAG_SLOT";
/// Test hook, honoured only by builds with debug assertions (what `cargo
/// test` builds; release builds ignore it): when set to `skip-slot-lock`,
/// acquisition takes no lock at all, so the tests can show that they catch
/// a broken semaphore.
pub const ENV_FAULT: &str = "SQLITE_GRAPHRAG_FAULT";

/// The longest wait honoured; a longer one (any `--wait` is accepted) means
/// the same as this, which is as good as forever.
const LONGEST_WAIT: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
/// Pause between a head's polls of a full pool (before jitter): at least
/// this, and more for a bigger pool (see [`poll_pause`]).
const MIN_POLL_PAUSE: Duration = Duration::from_millis(1);
/// The extra pause per slot of the pool.
const POLL_PAUSE_PER_SLOT: Duration = Duration::from_micros(250);
/// How long one `slots status` keeps reading again records that may be
/// stale (for all its slots together), and the pause between readings.
const RECORD_PATIENCE: Duration = Duration::from_millis(200);
const RECORD_RETRY_PAUSE: Duration = Duration::from_millis(5);

/// How often a wait for a slot asks its [`Cancel`] whether to give up.
const CANCEL_CHECK: Duration = Duration::from_millis(100);

/// Set while a guard for the slot this process inherited is alive: the
/// inherited slot covers one run at a time, and other threads take slots
/// of their own.
static INHERITED_IN_USE: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// Set while this thread holds a slot: a thread never waits for a second
    /// slot while it holds one, which is how a single call can deadlock
    /// itself. (Guards cannot move between threads, so this stays exact.)
    static HOLDING: Cell<bool> = const { Cell::new(false) };
}

/// What ends a wait for a slot early: a check asked every
/// [`CANCEL_CHECK`] while waiting (a signal arrived, say). A cancelled
/// wait fails with `interrupted`.
#[derive(Clone, Copy)]
pub struct Cancel<'a>(Option<&'a (dyn Fn() -> bool + Sync)>);

impl<'a> Cancel<'a> {
    /// A wait nothing cancels.
    pub fn never() -> Self {
        Cancel(None)
    }

    /// A wait cancelled once `cancelled` returns true.
    pub fn when(cancelled: &'a (dyn Fn() -> bool + Sync)) -> Self {
        Cancel(Some(cancelled))
    }

    /// Whether anything can cancel the wait.
    fn can_cancel(&self) -> bool {
        self.0.is_some()
    }

    /// Fails with `interrupted` if the wait is cancelled.
    fn check(&self) -> Result<()> {
        match self.0 {
            Some(cancelled) if cancelled() => Err(Error::new(
                ErrorKind::Interrupted,
                "a signal arrived while waiting for a slot",
            )),
            _ => Ok(()),
        }
    }
}

/// An open pool: its folder and its slot count.
#[derive(Debug, Clone)]
pub struct Pool {
    name: String,
    dir: PathBuf,
    /// The open pool folder; `None` for a pool that [`Pool::find`] did not find.
    folder: Option<Arc<Folder>>,
    max: u32,
}

/// A held slot. Dropping it closes this process's descriptor of the slot
/// file; the lock is released when no process holds a descriptor of it any
/// more (a guarded child inherits one on Unix).
#[derive(Debug)]
pub struct SlotGuard {
    slot: u32,
    path: PathBuf,
    file: Option<File>,
    not_send: PhantomData<*const ()>,
}

/// One slot as `slots status` reports it.
#[derive(Debug, Clone, Serialize)]
pub struct SlotState {
    /// The slot number.
    pub slot: u32,
    /// Whether its lock is held.
    pub held: bool,
    /// The recorded holder's pid (held slots only).
    pub pid: Option<u32>,
    /// The recorded guarded command (held slots only).
    pub command: Option<Vec<String>>,
    /// How long it has been held, in milliseconds (held slots only).
    pub held_for_ms: Option<i64>,
    /// Whether the recorded holder is still the same live process; `false`
    /// for a held slot means the holder died and its child tree still runs.
    /// `null` when unknown (free slot, another pid namespace, no /proc).
    pub alive: Option<bool>,
    /// Whether the holder runs in this process's pid namespace (held slots
    /// with a record only; `null` when unknown).
    pub pid_namespace: Option<PidNamespace>,
}

/// A whole pool as `slots status` reports it.
#[derive(Debug, Clone, Serialize)]
pub struct PoolStatus {
    /// The pool name.
    pub pool: String,
    /// The pool folder.
    pub dir: String,
    /// Its slot count.
    pub max: u32,
    /// Slots held now, including slots at or above `max` that holders
    /// admitted before the pool shrank still hold (so it can exceed `max`).
    pub held: u32,
    /// Slots below `max` free now.
    pub free: u32,
    /// Each slot below `max`, then each held slot at or above it.
    pub slots: Vec<SlotState>,
}

impl Pool {
    /// Opens the pool `name` under `runtime_dir`, creating it with
    /// `count.value` slots if it does not exist.
    ///
    /// An existing pool keeps the slot count it was created with, so every
    /// process on the host enforces the same cap. A default count yields to
    /// it silently; a count the user asked for (flag, environment, config
    /// file) that differs is an error, since obeying it would change the cap
    /// for everyone else. `slots resize` changes it on purpose.
    ///
    /// # Failure
    /// Invalid input for a bad pool name, a conflicting count, a damaged
    /// record, or a runtime folder or entry that is not safe to use (see
    /// `folder`); I/O errors.
    pub fn open(runtime_dir: &RuntimeDir, name: &str, count: SlotCount) -> Result<Self> {
        let folder = pool_folder(runtime_dir, name, true)?.expect("created when missing");
        let recorded = record::read_or_create(&folder, count.value)?;
        Self::agree(
            name,
            folder.path().to_owned(),
            Some(folder),
            recorded,
            count,
        )
    }

    /// Like [`Pool::open`], but never creates anything: a pool that does not
    /// exist yet is described with the count it would be created with.
    ///
    /// # Failure
    /// As [`Pool::open`].
    pub fn find(runtime_dir: &RuntimeDir, name: &str, count: SlotCount) -> Result<Self> {
        let runtime_dir = &runtime_dir.trusted();
        let folder = pool_folder(runtime_dir, name, false)?;
        let recorded = match &folder {
            Some(folder) => record::read(folder)?,
            None => None,
        };
        let dir = match &folder {
            Some(folder) => folder.path().to_owned(),
            None => runtime_dir.path.join(name),
        };
        Self::agree(name, dir, folder, recorded.unwrap_or(count.value), count)
    }

    fn agree(
        name: &str,
        dir: PathBuf,
        folder: Option<Folder>,
        recorded: u32,
        count: SlotCount,
    ) -> Result<Self> {
        if count.explicit && count.value != recorded {
            return Err(Error::invalid(format!(
                "pool {name:?} has {recorded} slots, but {} slots were asked for",
                count.value
            ))
            .with_hint(format!(
                "every process must share one cap: use {recorded}, or change it for everyone with `sqlite-graphrag slots resize --pool {name} --max {}`",
                count.value
            )));
        }
        Ok(Pool {
            name: name.to_owned(),
            dir,
            folder: folder.map(Arc::new),
            max: recorded,
        })
    }

    /// Sets the slot count of pool `name` (creating it if needed). Holders of
    /// slots at or above a smaller count keep them until they finish; no new
    /// holder is admitted there.
    ///
    /// # Failure
    /// Invalid input for a bad pool name or count, or an unsafe runtime
    /// folder; I/O errors.
    pub fn resize(runtime_dir: &RuntimeDir, name: &str, max: u32) -> Result<Self> {
        let count = SlotCount::chosen(max, "the slot count")?;
        let folder = pool_folder(runtime_dir, name, true)?.expect("created when missing");
        record::replace(&folder, count.value)?;
        Self::agree(name, folder.path().to_owned(), Some(folder), max, count)
    }

    /// Returns the pool's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Returns the pool's folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Returns the number of slots.
    pub fn max(&self) -> u32 {
        self.max
    }

    fn slot_path(&self, slot: u32) -> PathBuf {
        self.dir.join(slot_name(slot))
    }

    /// The open pool folder.
    fn folder(&self) -> Result<&Folder> {
        self.folder
            .as_deref()
            .ok_or_else(|| Error::not_found(format!("pool {:?} does not exist", self.name)))
    }

    /// Takes a free slot, waiting up to `wait` for one; `command` is recorded
    /// for `slots status`.
    ///
    /// A process that runs inside a slot of this pool (it inherited the
    /// slot's descriptor from a guarded parent) is already covered by that
    /// slot and gets a guard for it without taking a second one.
    ///
    /// A process that finds every slot held takes a ticket in the pool's
    /// waiting line (see `queue`). Only the `max` oldest waiters (the heads)
    /// try the slots, polling every millisecond or so (see [`poll_pause`]),
    /// so a freed slot is taken at once and no head falls far behind a
    /// newer one; every other waiter sleeps in the kernel on ticket locks
    /// until its place in the line changes.
    ///
    /// # Failure
    /// No-slot (exit 75) when the wait ends with every slot held; invalid
    /// input if this process already holds a slot; I/O errors.
    pub fn acquire(&self, wait: Duration, command: Vec<String>) -> Result<SlotGuard> {
        self.acquire_unless(wait, command, Cancel::never())
    }

    /// [`Pool::acquire`], giving up with `interrupted` once `cancel` says so.
    ///
    /// The slot this process inherited serves one guard at a time; while
    /// it is in use, other threads take slots of their own.
    ///
    /// # Failure
    /// As [`Pool::acquire`]; interrupted when cancelled.
    pub fn acquire_unless(
        &self,
        wait: Duration,
        command: Vec<String>,
        cancel: Cancel,
    ) -> Result<SlotGuard> {
        cancel.check()?;
        if HOLDING.get() {
            return Err(Error::invalid(
                "this thread already holds a slot; it must not wait for a second one",
            ));
        }
        if INHERITED_IN_USE
            .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            if let Some(guard) = self.inherited_slot() {
                tracing::info!(
                    "running inside inherited slot {} of pool {}",
                    guard.slot,
                    self.name
                );
                HOLDING.set(true);
                return Ok(guard);
            }
            INHERITED_IN_USE.store(false, Ordering::SeqCst);
        }
        let guard = self.acquire_fresh(wait, command, cancel)?;
        HOLDING.set(true);
        Ok(guard)
    }

    fn acquire_fresh(
        &self,
        wait: Duration,
        command: Vec<String>,
        cancel: Cancel,
    ) -> Result<SlotGuard> {
        let skip_lock = fault_skips_lock();
        let folder = self.folder()?;
        let deadline = Instant::now() + wait.min(LONGEST_WAIT);
        let mut slots = SlotFiles::open(folder, self.max)?;
        let mut rng = Jitter::seeded();
        let queue = folder.subdir("queue", true)?.expect("created when missing");
        if queue::is_empty(&queue)?
            && let Some(slot) = self.try_slots(&mut slots, &mut rng, skip_lock)?
        {
            return Ok(self.hold(slots.files, slot, command));
        }
        let ticket = Ticket::take(&queue, deadline)?;
        while let Place::Behind(what) = ticket.place(slots.max)? {
            if !queue::wait_for(what, deadline, &cancel)? {
                return Err(self.no_slot(wait));
            }
        }
        ticket.become_head();
        loop {
            if let Some(slot) = self.try_slots(&mut slots, &mut rng, skip_lock)? {
                let guard = self.hold(slots.files, slot, command);
                drop(ticket);
                return Ok(guard);
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(self.no_slot(wait));
            }
            cancel.check()?;
            thread::sleep(rng.jitter(poll_pause(slots.max)).min(deadline - now));
        }
    }

    fn no_slot(&self, wait: Duration) -> Error {
        Error::new(
            ErrorKind::NoSlot,
            format!(
                "all {} slots of pool {:?} stayed held for {:.1} s",
                self.max,
                self.name,
                wait.as_secs_f64()
            ),
        )
        .with_hint("retry later, raise --wait, or see `sqlite-graphrag slots status`")
    }

    /// Tries every slot once, starting at a random one; returns the one
    /// locked. A slot at or above the pool's current size (it shrank while
    /// this process waited) is let go at once, and the smaller size is
    /// followed from then on.
    fn try_slots(
        &self,
        slots: &mut SlotFiles,
        rng: &mut Jitter,
        skip_lock: bool,
    ) -> Result<Option<u32>> {
        let start = rng.below(slots.max);
        for k in 0..slots.max {
            let slot = (start + k) % slots.max;
            let file = &slots.files[slot as usize];
            if !(skip_lock || try_lock(file, &self.slot_path(slot))?) {
                continue;
            }
            if slots.still_within(slot)? {
                return Ok(Some(slot));
            }
            fs4::FileExt::unlock(&slots.files[slot as usize]).map_err(|e| {
                Error::io(format!("unlocking {}", self.slot_path(slot).display()), e)
            })?;
            return Ok(None);
        }
        Ok(None)
    }

    /// Keeps the locked file of `slot` (closing the others) and records the holder.
    fn hold(&self, files: Vec<File>, slot: u32, command: Vec<String>) -> SlotGuard {
        let file = files
            .into_iter()
            .nth(slot as usize)
            .expect("slot index is in range");
        if let Err(e) = HolderInfo::current(command).write_to(&file) {
            tracing::warn!("could not record the holder of slot {slot}: {e}");
        }
        SlotGuard {
            slot,
            path: self.slot_path(slot),
            file: Some(file),
            not_send: PhantomData,
        }
    }

    /// Returns the slot this process inherited from a guarded parent: the
    /// descriptor named in [`ENV_INHERITED_SLOT`] must be open on this
    /// pool's slot file and hold its lock (a descriptor that merely has the
    /// file open proves nothing).
    #[cfg(unix)]
    fn inherited_slot(&self) -> Option<SlotGuard> {
        use std::ffi::OsStr;
        use std::os::fd::BorrowedFd;
        use std::os::unix::ffi::OsStrExt;
        let value = std::env::var_os(ENV_INHERITED_SLOT)?;
        let (fd, path) = value
            .as_bytes()
            .split_at(value.as_bytes().iter().position(|&b| b == b':')?);
        let fd: i32 = std::str::from_utf8(fd)
            .ok()?
            .parse()
            .ok()
            .filter(|fd| *fd >= 0)?;
        let path = PathBuf::from(OsStr::from_bytes(&path[1..]));
        // Any slot of the pool, even one at or above a count that shrank
        // since the parent took it: the parent holds it all the same.
        let slot = (0..MAX_SLOTS_LIMIT).find(|&s| self.slot_path(s) == path)?;
        // SAFETY: the descriptor number is not negative and is only borrowed
        // for fstat and flock within this call; if it is not open they fail
        // with EBADF and nothing else happens.
        let fd = unsafe { BorrowedFd::borrow_raw(fd) };
        self.folder()
            .ok()?
            .lock_is_held_through(&slot_name(slot), fd)
            .then_some(SlotGuard {
                slot,
                path,
                file: None,
                not_send: PhantomData,
            })
    }

    #[cfg(not(unix))]
    fn inherited_slot(&self) -> Option<SlotGuard> {
        None
    }

    /// Reports every slot as free or held by trying its lock (and releasing
    /// it at once), with the recorded holder of each held slot. Creates
    /// nothing: a missing slot file is a free slot.
    pub fn status(&self) -> Result<PoolStatus> {
        let patience = Instant::now() + RECORD_PATIENCE;
        let mut slots = Vec::with_capacity(self.max as usize);
        for slot in 0..self.max {
            slots.push(self.slot_state(slot, patience)?);
        }
        let free = slots.iter().filter(|s| !s.held).count() as u32;
        if let Some(folder) = &self.folder {
            for slot in slots_beyond(folder, self.max)? {
                let state = self.slot_state(slot, patience)?;
                if state.held {
                    slots.push(state);
                }
            }
        }
        let held = slots.iter().filter(|s| s.held).count() as u32;
        Ok(PoolStatus {
            pool: self.name.clone(),
            dir: self.dir.display().to_string(),
            max: self.max,
            held,
            free,
            slots,
        })
    }

    /// Looks at one slot for [`Pool::status`]: the time held and whether
    /// the holder lives are both taken after the record was accepted.
    fn slot_state(&self, slot: u32, patience: Instant) -> Result<SlotState> {
        let path = self.slot_path(slot);
        let file = match &self.folder {
            Some(folder) => folder.file(&slot_name(slot), false)?,
            None => None,
        };
        let seen = match &file {
            Some(file) => observe(file, &path, patience)?,
            None => Seen::Free,
        };
        drop(file);
        let now = Timestamp::now();
        Ok(match seen {
            Seen::Free => SlotState {
                slot,
                held: false,
                pid: None,
                command: None,
                held_for_ms: None,
                alive: None,
                pid_namespace: None,
            },
            Seen::Held(holder) => SlotState {
                slot,
                held: true,
                pid: holder.as_ref().map(|(h, _)| h.pid),
                command: holder.as_ref().map(|(h, _)| h.command.clone()),
                held_for_ms: holder
                    .as_ref()
                    .map(|(h, _)| (now.0 - h.acquired_at_ms).max(0)),
                pid_namespace: holder.as_ref().and_then(|(h, _)| h.pid_namespace()),
                alive: holder.and_then(|(_, alive)| alive),
            },
        })
    }
}

/// The numbers of the slot files at or above `max` in a pool folder: left
/// by a larger size, and maybe still held by holders admitted before the
/// pool shrank.
fn slots_beyond(folder: &Folder, max: u32) -> Result<Vec<u32>> {
    let mut beyond: Vec<u32> = folder
        .names()?
        .iter()
        .filter_map(|name| {
            let slot: u32 = name
                .strip_prefix("slot-")?
                .strip_suffix(".lock")?
                .parse()
                .ok()?;
            (slot >= max && *name == slot_name(slot)).then_some(slot)
        })
        .collect();
    beyond.sort_unstable();
    Ok(beyond)
}

impl SlotGuard {
    /// Returns the slot number.
    pub fn slot(&self) -> u32 {
        self.slot
    }

    /// Returns the slot file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Returns the locked file, or `None` for a slot inherited from a parent.
    pub fn file(&self) -> Option<&File> {
        self.file.as_ref()
    }
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        // Closing the descriptor is the release. An explicit unlock would
        // also release the lock for a child that inherited the descriptor
        // and still runs, since flock locks belong to the shared open file.
        if self.file.take().is_none() {
            INHERITED_IN_USE.store(false, Ordering::SeqCst);
        }
        HOLDING.set(false);
    }
}

/// The open slot files of a pool, and its size as last read from its record.
struct SlotFiles<'f> {
    folder: &'f Folder,
    /// The pool's size; only the first `max` files are tried.
    max: u32,
    /// One open file per slot of the size the pool had at first.
    files: Vec<File>,
    /// Keeps the raised open-file limit while the files are open.
    _open_file_limit: OpenFileLimit,
}

impl<'f> SlotFiles<'f> {
    /// Opens (creating if needed) the files of slots `0..max`.
    fn open(folder: &'f Folder, max: u32) -> Result<Self> {
        let open_file_limit = allow_open_files(max);
        let files = (0..max)
            .map(|slot| {
                Ok(folder
                    .file(&slot_name(slot), true)?
                    .expect("created when missing"))
            })
            .collect::<Result<Vec<File>>>()?;
        Ok(SlotFiles {
            folder,
            max,
            files,
            _open_file_limit: open_file_limit,
        })
    }

    /// Reads the pool's record again once `slot` is locked: true if the
    /// slot is still within the pool; else follows the smaller size. (A
    /// pool that grew meanwhile is not followed: its new slots are left to
    /// processes that started later.)
    fn still_within(&mut self, slot: u32) -> Result<bool> {
        let current = record::read(self.folder)?.unwrap_or(self.max);
        if slot < current {
            return Ok(true);
        }
        self.max = current.min(self.max);
        Ok(false)
    }
}

/// The pause between a head's polls of a pool of `max` slots: 1 ms, or
/// 250 µs per slot in pools of more than four. Up to `max` heads poll `max`
/// slots each, so the polling work grows only linearly with `max`, while
/// some head still notices a freed slot within about 250 µs on average.
fn poll_pause(max: u32) -> Duration {
    (POLL_PAUSE_PER_SLOT * max).max(MIN_POLL_PAUSE)
}

/// What `slots status` saw in one slot.
enum Seen {
    Free,
    /// Held, by the recorded holder if there is a readable record, with
    /// whether that holder was alive when the record was accepted.
    Held(Option<(HolderInfo, Option<bool>)>),
}

/// Looks at one slot: free (its lock could be taken, and is let go at
/// once), or held, with its holder record. A new holder writes its record
/// just after taking the lock, so a missing record, or one of a process
/// that is gone, may be the previous holder's: the slot is looked at again
/// until `patience` runs out before such a record is believed.
fn observe(file: &File, path: &Path, patience: Instant) -> Result<Seen> {
    loop {
        if try_lock(file, path)? {
            fs4::FileExt::unlock(file)
                .map_err(|e| Error::io(format!("unlocking {}", path.display()), e))?;
            return Ok(Seen::Free);
        }
        let holder = HolderInfo::read_from(file).map(|h| {
            let alive = h.is_alive();
            (h, alive)
        });
        let believable = holder
            .as_ref()
            .is_some_and(|(_, alive)| *alive != Some(false));
        if believable || Instant::now() >= patience {
            return Ok(Seen::Held(holder));
        }
        thread::sleep(RECORD_RETRY_PAUSE);
    }
}

/// Descriptors kept free beside the slot files, for the database, the
/// waiting line and the guarded command's pipes.
#[cfg(unix)]
const SPARE_DESCRIPTORS: u64 = 64;

/// Raises this process's soft limit of open files (up to the hard limit)
/// until the returned guard is dropped, so that the files of a pool, which
/// a waiter keeps open together, fit beside the descriptors it needs
/// anyway: the usual soft limit of 1,024 would otherwise make a pool of
/// 1,024 slots fail with "too many open files". Where the hard limit is
/// lower, opening fails as before. The limit is restored before a guarded
/// command starts, so it never sees the raised one.
#[cfg(unix)]
fn allow_open_files(slots: u32) -> OpenFileLimit {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    let needed = u64::from(slots) + SPARE_DESCRIPTORS;
    if limit.current.is_none_or(|current| current >= needed) {
        return OpenFileLimit(None);
    }
    let raised = limit.maximum.map_or(needed, |hard| hard.min(needed));
    let new = Rlimit {
        current: Some(raised),
        maximum: limit.maximum,
    };
    match setrlimit(Resource::Nofile, new) {
        Ok(()) => OpenFileLimit(Some(limit)),
        Err(e) => {
            tracing::debug!("cannot raise the open-file limit to {raised}: {e}");
            OpenFileLimit(None)
        }
    }
}

/// The open-file limit to restore, if it was raised.
#[cfg(unix)]
struct OpenFileLimit(Option<rustix::process::Rlimit>);

#[cfg(unix)]
impl Drop for OpenFileLimit {
    fn drop(&mut self) {
        if let Some(limit) = self.0.take() {
            let _ = rustix::process::setrlimit(rustix::process::Resource::Nofile, limit);
        }
    }
}

/// Windows has no per-process limit of open files to raise.
#[cfg(not(unix))]
struct OpenFileLimit;

#[cfg(not(unix))]
fn allow_open_files(_slots: u32) -> OpenFileLimit {
    OpenFileLimit
}

/// Whether the test hook [`ENV_FAULT`] asks to take no lock (test builds only).
#[cfg(debug_assertions)]
fn fault_skips_lock() -> bool {
    let skip = std::env::var_os(ENV_FAULT).is_some_and(|v| v == "skip-slot-lock");
    if skip {
        tracing::warn!("{ENV_FAULT}=skip-slot-lock: slots are NOT locked (test hook)");
    }
    skip
}

/// Release builds have no fault hook.
#[cfg(not(debug_assertions))]
fn fault_skips_lock() -> bool {
    false
}

/// Tries the exclusive lock on `file` (opened from `path`): `Ok(true)` if
/// taken, `Ok(false)` if held elsewhere.
fn try_lock(file: &File, path: &Path) -> Result<bool> {
    // fs4's trait method, named explicitly: on Rust 1.89 and later the
    // method syntax would pick std's inherent `File::try_lock` instead.
    match fs4::FileExt::try_lock(file) {
        Ok(()) => Ok(true),
        Err(fs4::TryLockError::WouldBlock) => Ok(false),
        Err(fs4::TryLockError::Error(e)) => {
            Err(Error::io(format!("locking {}", path.display()), e))
        }
    }
}

/// The file name of slot `slot`.
pub(crate) fn slot_name(slot: u32) -> String {
    format!("slot-{slot}.lock")
}

/// Checks the pool name and opens its folder (creating both folders if `create`).
fn pool_folder(runtime_dir: &RuntimeDir, name: &str, create: bool) -> Result<Option<Folder>> {
    validate_pool_name(name)?;
    match Folder::open_root(runtime_dir, create)? {
        Some(root) => root.subdir(name, create),
        None => Ok(None),
    }
}

/// A small xorshift generator for jitter and for the slot probed first.
struct Jitter(u64);

impl Jitter {
    fn seeded() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        Jitter((nanos ^ (u64::from(std::process::id()) << 32)) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u32) -> u32 {
        (self.next() % u64::from(n.max(1))) as u32
    }

    /// Returns `base` scaled by a random factor in [0.5, 1.5).
    fn jitter(&mut self, base: Duration) -> Duration {
        base.mul_f64(0.5 + (self.next() % 1000) as f64 / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runtime(dir: &tempfile::TempDir) -> RuntimeDir {
        RuntimeDir {
            path: dir.path().to_owned(),
            kind: RuntimeDirKind::Named,
        }
    }

    fn count(value: u32, explicit: bool) -> SlotCount {
        SlotCount { value, explicit }
    }

    /// Holds a slot on another thread until the returned sender is dropped.
    fn hold(pool: &Pool, name: &str) -> (u32, std::sync::mpsc::Sender<()>) {
        let (pool, name) = (pool.clone(), name.to_owned());
        let (slot_tx, slot_rx) = std::sync::mpsc::channel();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        thread::spawn(move || {
            let guard = pool.acquire(Duration::ZERO, vec![name]).unwrap();
            slot_tx.send(guard.slot()).unwrap();
            let _ = release_rx.recv();
        });
        (slot_rx.recv().unwrap(), release_tx)
    }

    #[test]
    fn a_pool_admits_at_most_max_and_frees_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let pool = Pool::open(&runtime(&dir), "p", count(2, true)).unwrap();
        let (a, release_a) = hold(&pool, "a");
        let (b, _release_b) = hold(&pool, "b");
        assert_ne!(a, b);
        let err = pool.acquire(Duration::from_millis(20), vec![]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NoSlot);
        let status = pool.status().unwrap();
        assert_eq!((status.held, status.free), (2, 0));
        assert_eq!(status.slots[a as usize].command, Some(vec!["a".to_owned()]));
        drop(release_a);
        let freed = pool.acquire(Duration::from_secs(5), vec![]).unwrap();
        assert_eq!(freed.slot(), a);
    }

    // Telling a gone holder from a live one needs /proc.
    #[cfg(target_os = "linux")]
    #[test]
    fn status_waits_for_a_new_holders_record() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("slot");
        let holder = File::create(&path).unwrap();
        fs4::FileExt::lock(&holder).unwrap();
        let gone = HolderInfo {
            pid: u32::MAX / 2,
            ..HolderInfo::current(vec!["old".into()])
        };
        gone.write_to(&holder).unwrap();
        let reader = File::open(&path).unwrap();
        thread::scope(|scope| {
            scope.spawn(|| {
                thread::sleep(Duration::from_millis(20));
                HolderInfo::current(vec!["new".into()])
                    .write_to(&holder)
                    .unwrap();
            });
            let patience = Instant::now() + RECORD_PATIENCE;
            let Seen::Held(Some((seen, _))) = observe(&reader, &path, patience).unwrap() else {
                panic!("a held slot was not seen held with a record");
            };
            assert_eq!(seen.command, vec!["new".to_owned()]);
        });
        drop(holder);
        assert!(matches!(
            observe(&reader, &path, Instant::now()).unwrap(),
            Seen::Free
        ));
    }

    #[test]
    fn status_never_reports_a_negative_time_held() {
        let dir = tempfile::tempdir().unwrap();
        let pool = Pool::open(&runtime(&dir), "p", count(1, true)).unwrap();
        let slot = File::options()
            .read(true)
            .write(true)
            .open(pool.slot_path(0))
            .unwrap();
        fs4::FileExt::lock(&slot).unwrap();
        let ahead = HolderInfo {
            acquired_at_ms: Timestamp::now().0 + 60_000,
            ..HolderInfo::current(vec!["clock ahead".into()])
        };
        ahead.write_to(&slot).unwrap();
        let status = pool.status().unwrap();
        assert_eq!(status.slots[0].held_for_ms, Some(0));
        assert_eq!(status.slots[0].alive, ahead.is_alive());
    }

    #[test]
    fn an_endless_wait_is_a_long_wait_not_an_overflow() {
        let dir = tempfile::tempdir().unwrap();
        let pool = Pool::open(&runtime(&dir), "p", count(1, true)).unwrap();
        let (_, release) = hold(&pool, "holder");
        let waiter = {
            let pool = pool.clone();
            thread::spawn(move || pool.acquire(Duration::MAX, vec![]).map(|g| g.slot()))
        };
        thread::sleep(Duration::from_millis(50));
        drop(release);
        assert_eq!(waiter.join().unwrap().unwrap(), 0);
    }

    #[test]
    fn a_thread_never_waits_for_a_second_slot() {
        let dir = tempfile::tempdir().unwrap();
        let pool = Pool::open(&runtime(&dir), "p", count(4, true)).unwrap();
        let first = pool.acquire(Duration::ZERO, vec![]).unwrap();
        let err = pool.acquire(Duration::ZERO, vec![]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        drop(first);
        pool.acquire(Duration::ZERO, vec![]).unwrap();
    }

    #[test]
    fn the_recorded_count_wins_over_a_default() {
        let dir = tempfile::tempdir().unwrap();
        Pool::open(&runtime(&dir), "p", count(3, true)).unwrap();
        assert_eq!(
            Pool::open(&runtime(&dir), "p", count(8, false))
                .unwrap()
                .max(),
            3
        );
        let err = Pool::open(&runtime(&dir), "p", count(8, true)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        Pool::resize(&runtime(&dir), "p", 8).unwrap();
        assert_eq!(
            Pool::open(&runtime(&dir), "p", count(8, true))
                .unwrap()
                .max(),
            8
        );
        assert!(Pool::open(&runtime(&dir), "../x", count(1, true)).is_err());
    }
}
