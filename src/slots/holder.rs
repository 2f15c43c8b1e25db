//! Who holds a slot: metadata the holder writes into its locked file.
//!
//! This is for display only. Admission never reads it: a slot is held
//! exactly when its file is locked, which the kernel decides.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};

use serde::{Deserialize, Serialize};

use crate::time::Timestamp;

/// The most bytes of the guarded command a record keeps; longer commands
/// are cut, so the record stays well under what [`HolderInfo::read_from`]
/// reads even when JSON escaping makes it six times longer.
const MAX_COMMAND_BYTES: usize = 8 * 1024;
/// The most bytes of a record that are read.
const MAX_RECORD_BYTES: u64 = 64 * 1024;
/// What ends a command that was cut.
const CUT_MARK: &str = "…";

/// What a holder records about itself in its slot file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HolderInfo {
    /// Process id of the holder (the `sqlite-graphrag` process).
    pub pid: u32,
    /// The holder's start time in clock ticks after boot (Linux), to tell a
    /// live holder from a later process that reused its pid.
    pub start_time: Option<u64>,
    /// The holder's pid namespace (Linux), so that a pid recorded in another
    /// container is not checked against this one's processes.
    pub pid_namespace: Option<String>,
    /// The guarded command line.
    pub command: Vec<String>,
    /// When the slot was taken, Unix milliseconds.
    pub acquired_at_ms: i64,
}

impl HolderInfo {
    /// Describes the current process as the holder of a slot for `command`
    /// (cut to its first 8 KiB, ending in `…`, if it is longer).
    pub fn current(command: Vec<String>) -> Self {
        let pid = std::process::id();
        HolderInfo {
            pid,
            start_time: process_start_time(pid),
            pid_namespace: own_pid_namespace().map(str::to_owned),
            command: shortened(command),
            acquired_at_ms: Timestamp::now().0,
        }
    }

    /// Overwrites `file` (whose lock the caller holds) with this record.
    pub fn write_to(&self, mut file: &File) -> std::io::Result<()> {
        file.set_len(0)?;
        file.seek(SeekFrom::Start(0))?;
        let mut line = serde_json::to_vec(self)?;
        line.push(b'\n');
        file.write_all(&line)
    }

    /// Reads the record from a slot file; `None` if it is empty or not a record.
    pub fn read_from(mut file: &File) -> Option<Self> {
        let mut text = String::new();
        file.seek(SeekFrom::Start(0)).ok()?;
        file.take(MAX_RECORD_BYTES).read_to_string(&mut text).ok()?;
        serde_json::from_str(text.trim()).ok()
    }

    /// Tells whether the recorded holder runs in this process's pid
    /// namespace; `None` if the record or this platform does not say.
    pub fn pid_namespace(&self) -> Option<PidNamespace> {
        let recorded = self.pid_namespace.as_ref()?;
        let own = own_pid_namespace()?;
        Some(if recorded == own {
            PidNamespace::Same
        } else {
            PidNamespace::Other
        })
    }

    /// Tells whether the recorded holder is still the same live process:
    /// `Some(false)` if it is gone, a zombie, or its pid now belongs to a
    /// process started at another time; `None` where this cannot be known
    /// (another pid namespace, or a platform without `/proc`).
    pub fn is_alive(&self) -> Option<bool> {
        if self.pid_namespace() != Some(PidNamespace::Same) {
            return None;
        }
        liveness(self.pid, self.start_time)
    }
}

/// Where a holder runs, seen from the process that reads its record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PidNamespace {
    /// The reader's pid namespace: the recorded pid names the holder here.
    Same,
    /// Another pid namespace (another container, or the host seen from a
    /// container): the recorded pid means nothing here.
    Other,
}

/// Keeps the arguments of `command` that fit in [`MAX_COMMAND_BYTES`]; the
/// first one that does not fit is cut and ends in [`CUT_MARK`], and the rest
/// are dropped.
fn shortened(command: Vec<String>) -> Vec<String> {
    let mut left = MAX_COMMAND_BYTES;
    let mut kept = Vec::new();
    for arg in command {
        if arg.len() <= left {
            left -= arg.len();
            kept.push(arg);
            continue;
        }
        let mut end = left;
        while !arg.is_char_boundary(end) {
            end -= 1;
        }
        kept.push(format!("{}{CUT_MARK}", &arg[..end]));
        break;
    }
    kept
}

#[cfg(unix)]
fn liveness(pid: u32, start_time: Option<u64>) -> Option<bool> {
    let raw = i32::try_from(pid).ok()?;
    let pid_handle = rustix::process::Pid::from_raw(raw)?;
    match rustix::process::test_kill_process(pid_handle) {
        Err(rustix::io::Errno::SRCH) => return Some(false),
        Ok(()) | Err(rustix::io::Errno::PERM) => {}
        Err(_) => return None,
    }
    match proc_stat(pid) {
        Some((state, started)) => Some(state != 'Z' && start_time.is_none_or(|t| t == started)),
        None => Some(false),
    }
}

#[cfg(not(unix))]
fn liveness(_pid: u32, _start_time: Option<u64>) -> Option<bool> {
    None
}

/// Returns a process's state letter and start time from `/proc/<pid>/stat`.
fn proc_stat(pid: u32) -> Option<(char, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses; the fields
    // after its closing parenthesis start with field 3 (state).
    let after_name = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let state = fields.first()?.chars().next()?;
    let start_time = fields.get(19)?.parse().ok()?;
    Some((state, start_time))
}

fn process_start_time(pid: u32) -> Option<u64> {
    proc_stat(pid).map(|(_, started)| started)
}

/// This process's pid namespace, read once (it never changes).
fn own_pid_namespace() -> Option<&'static str> {
    static OWN: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    OWN.get_or_init(|| {
        std::fs::read_link("/proc/self/ns/pid")
            .ok()
            .map(|p| p.display().to_string())
    })
    .as_deref()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_round_trips_through_a_file() {
        let file = tempfile::tempfile().unwrap();
        let info = HolderInfo::current(vec!["echo".into(), "hi".into()]);
        info.write_to(&file).unwrap();
        HolderInfo::current(vec!["x".into()])
            .write_to(&file)
            .unwrap();
        info.write_to(&file).unwrap();
        assert_eq!(HolderInfo::read_from(&file), Some(info));
    }

    #[test]
    fn long_commands_are_cut() {
        let short = vec!["echo".to_owned(), "hi".to_owned()];
        assert_eq!(shortened(short.clone()), short);
        let long = vec![
            "a".to_owned(),
            "é".repeat(MAX_COMMAND_BYTES),
            "b".to_owned(),
        ];
        let cut = shortened(long);
        assert_eq!(cut.len(), 2);
        assert!(cut[1].ends_with(CUT_MARK));
        assert!(cut.iter().map(String::len).sum::<usize>() <= MAX_COMMAND_BYTES + CUT_MARK.len());
    }

    #[cfg(not(target_os = "linux"))]
    #[test]
    #[ignore = "liveness is read from /proc, which only Linux has"]
    fn liveness_tells_live_dead_and_reused_pids() {}

    #[cfg(target_os = "linux")]
    #[test]
    fn liveness_tells_live_dead_and_reused_pids() {
        let me = HolderInfo::current(vec![]);
        assert_eq!(me.is_alive(), Some(true));
        let reused = HolderInfo {
            start_time: me.start_time.map(|t| t + 1),
            ..me.clone()
        };
        assert_eq!(reused.is_alive(), Some(false));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        let gone = HolderInfo { pid, ..me.clone() };
        assert_eq!(gone.is_alive(), Some(false));
        let elsewhere = HolderInfo {
            pid_namespace: Some("pid:[1]".into()),
            ..me
        };
        assert_eq!(elsewhere.is_alive(), None);
    }
}
