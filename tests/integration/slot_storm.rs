//! A storm of real `slots exec` processes, and the helper each one guards.
//!
//! The guarded command is this test binary itself, re-run with a filter
//! that selects [`helper`] and an environment that tells it what to do. It
//! appends `enter` and `exit` records to a shared log while holding the log
//! file's lock, so the log's order is the true order of those events and
//! the overlap can be counted exactly, without comparing clocks.

// Killing holders mid-storm needs /proc, so that half runs on Linux only.
#![cfg_attr(not(target_os = "linux"), allow(dead_code))]

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::common::{SpawnRetrying, bare_cmd};

/// How long storm commands hold their slot, in ms. Processes start slowly
/// and one after another under wine, so holds there are longer, or they
/// would hardly ever overlap.
pub const HOLD_MS: (u64, u64) = if cfg!(windows) { (150, 400) } else { (5, 50) };
/// Holds for the negative control: long enough that without the lock many
/// commands surely overlap.
pub const LONG_HOLD_MS: (u64, u64) = if cfg!(windows) {
    (1500, 2500)
} else {
    (300, 600)
};

/// What the helper should do, and where it writes.
const ENV_MODE: &str = "GRAPHRAG_TEST_HELPER";
const ENV_LOG: &str = "GRAPHRAG_TEST_LOG";
const ENV_HOLD_MS: &str = "GRAPHRAG_TEST_HOLD_MS";

/// Microseconds since the Unix epoch: comparable across processes.
pub fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros() as u64
}

/// Appends one line to the log while holding the log's exclusive lock
/// (appends from many processes are not atomic everywhere, e.g. under wine).
pub fn append_locked(log: &Path, line: &str) {
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    fs4::FileExt::lock(&file).unwrap();
    (&file).write_all(format!("{line}\n").as_bytes()).unwrap();
    file.sync_data().unwrap();
    fs4::FileExt::unlock(&file).unwrap();
}

/// Runs `work` while holding the log's lock, so that no helper can log in between.
pub fn with_log_locked<T>(log: &Path, work: impl FnOnce(&mut std::fs::File) -> T) -> T {
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    fs4::FileExt::lock(&file).unwrap();
    let value = work(&mut file);
    fs4::FileExt::unlock(&file).unwrap();
    value
}

/// The guarded command: inert in a normal test run; with `GRAPHRAG_TEST_HELPER`
/// set it logs `enter`, holds for the given time, and logs `exit`.
#[test]
fn helper() {
    let Ok(mode) = std::env::var(ENV_MODE) else {
        return;
    };
    let started = now_us();
    let log = PathBuf::from(std::env::var(ENV_LOG).unwrap());
    let hold: Vec<u64> = std::env::var(ENV_HOLD_MS)
        .unwrap()
        .split(',')
        .map(|n| n.parse().unwrap())
        .collect();
    let hold_ms = hold[0] + (started / 7 + u64::from(std::process::id())) % (hold[1] - hold[0] + 1);
    let pid = std::process::id();
    #[cfg(unix)]
    let ppid = std::os::unix::process::parent_id();
    #[cfg(not(unix))]
    let ppid = 0;
    append_locked(&log, &format!("enter {pid} {ppid} {started}"));
    std::thread::sleep(Duration::from_millis(hold_ms));
    if mode == "storm" {
        append_locked(&log, &format!("exit {pid} {}", now_us()));
    }
}

/// A command line that runs [`helper`] from this test binary.
pub fn helper_command() -> Vec<String> {
    let exe = std::env::current_exe().unwrap();
    vec![
        exe.to_string_lossy().into_owned(),
        "slot_storm::helper".into(),
        "--exact".into(),
        "--nocapture".into(),
        "--test-threads=1".into(),
        "-q".into(),
    ]
}

/// Starts `sqlite-graphrag slots exec` on the helper.
pub fn spawn_guarded(
    runtime: &Path,
    log: &Path,
    exec_args: &[&str],
    mode: &str,
    hold_ms: (u64, u64),
    fault: bool,
) -> Child {
    let mut cmd: Command = bare_cmd(runtime);
    cmd.arg("--runtime-dir")
        .arg(runtime)
        .args(["slots", "exec"])
        .args(exec_args)
        .arg("--");
    cmd.args(helper_command());
    cmd.env(ENV_MODE, mode)
        .env(ENV_LOG, log)
        .env(ENV_HOLD_MS, format!("{},{}", hold_ms.0, hold_ms.1))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if fault {
        cmd.env("SQLITE_GRAPHRAG_FAULT", "skip-slot-lock");
    }
    cmd.spawn_retrying()
}

/// Starts a guarded helper in `mode` and returns once it holds its slot
/// (its `enter` record is in the log).
pub fn start_holder(runtime: &Path, log: &Path, exec_args: &[&str], hold_ms: u64) -> Child {
    let child = spawn_guarded(runtime, log, exec_args, "hold", (hold_ms, hold_ms), false);
    crate::common::wait_until(20, "the holder never started", || !read_log(log).is_empty());
    child
}

/// One parsed log record.
#[derive(Debug, Clone)]
pub enum Event {
    /// A helper began: pid, parent pid, and when its process started (µs).
    Enter {
        pid: u32,
        ppid: u32,
        started_us: u64,
    },
    /// A helper finished, or was confirmed dead after a kill.
    Exit { pid: u32 },
    /// The killer sent a kill at this time; the helper was dead before this record.
    Killed { pid: u32, sent_us: u64 },
}

/// Reads the log's records in order.
pub fn read_log(log: &Path) -> Vec<Event> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines()
        .map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let n = |i: usize| f[i].parse::<u64>().unwrap();
            match f[0] {
                "enter" => Event::Enter {
                    pid: n(1) as u32,
                    ppid: n(2) as u32,
                    started_us: n(3),
                },
                "exit" => Event::Exit { pid: n(1) as u32 },
                "killed" => Event::Killed {
                    pid: n(1) as u32,
                    sent_us: n(2),
                },
                other => panic!("bad log line {other:?}"),
            }
        })
        .collect()
}

/// The most helpers that were between `enter` and `exit`/`killed` at once.
pub fn max_overlap(events: &[Event]) -> usize {
    let mut inside = std::collections::HashSet::new();
    let mut most = 0;
    for event in events {
        match event {
            Event::Enter { pid, .. } => {
                inside.insert(*pid);
                most = most.max(inside.len());
            }
            Event::Exit { pid } | Event::Killed { pid, .. } => {
                inside.remove(pid);
            }
        }
    }
    most
}

/// Helpers that entered and have not left, as (pid, parent pid).
pub fn inside_now(events: &[Event]) -> Vec<(u32, u32)> {
    let mut inside = Vec::new();
    for event in events {
        match event {
            Event::Enter { pid, ppid, .. } => inside.push((*pid, *ppid)),
            Event::Exit { pid } | Event::Killed { pid, .. } => inside.retain(|(p, _)| p != pid),
        }
    }
    inside
}

/// Milliseconds from each kill to the start of the next helper that began after it.
pub fn reuse_delays_ms(events: &[Event]) -> Vec<f64> {
    let starts: Vec<u64> = events
        .iter()
        .filter_map(|e| match e {
            Event::Enter { started_us, .. } => Some(*started_us),
            _ => None,
        })
        .collect();
    events
        .iter()
        .filter_map(|e| match e {
            Event::Killed { sent_us, .. } => starts
                .iter()
                .filter(|s| **s >= *sent_us)
                .min()
                .map(|s| (s - sent_us) as f64 / 1000.0),
            _ => None,
        })
        .collect()
}

/// Under the log lock, picks a helper that is inside, kills it (or its
/// guarding parent), waits until the helper is dead and records the kill,
/// so no helper can log an `enter` the kill made room for before the
/// `killed` record. Returns false if no helper was inside.
#[cfg(target_os = "linux")]
pub fn kill_one(log: &Path, kill_parent: bool) -> bool {
    use rustix::process::{Pid, Signal, kill_process};
    with_log_locked(log, |file| {
        let Some(&(helper, parent)) = inside_now(&read_log(log)).first() else {
            return false;
        };
        let victim = if kill_parent { parent } else { helper };
        let sent = now_us();
        let _ = kill_process(Pid::from_raw(victim as i32).unwrap(), Signal::KILL);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while process_alive(helper) {
            assert!(
                std::time::Instant::now() < deadline,
                "helper {helper} did not die"
            );
            std::thread::sleep(Duration::from_micros(200));
        }
        file.write_all(format!("killed {helper} {sent}\n").as_bytes())
            .unwrap();
        file.sync_data().unwrap();
        true
    })
}

/// True while the process exists and is not a zombie.
#[cfg(target_os = "linux")]
pub fn process_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat[stat.rfind(')').unwrap() + 1..]
                .split_whitespace()
                .next()
                .unwrap_or("X");
            state != "Z" && state != "X"
        }
        Err(_) => false,
    }
}

/// What one storm did.
#[derive(Debug)]
pub struct StormReport {
    pub max_overlap: usize,
    pub exit_codes: Vec<Option<i32>>,
    pub kills: usize,
    pub reuse_delays_ms: Vec<f64>,
}

/// How a storm runs.
pub struct Storm {
    pub processes: usize,
    pub max: u32,
    /// How long each guarded command holds its slot, in ms (least, most).
    pub hold_ms: (u64, u64),
    pub kill_parents: usize,
    pub kill_children: usize,
    pub fault: bool,
}

impl Storm {
    /// Starts every process at once, kills some holders while they run, and
    /// waits for all of them.
    pub fn run(&self, dir: &Path) -> StormReport {
        let runtime = dir.join("runtime");
        let log = dir.join("storm.log");
        let max = self.max.to_string();
        let mut children: Vec<Child> = (0..self.processes)
            .map(|_| {
                spawn_guarded(
                    &runtime,
                    &log,
                    &["--max", &max, "--wait", "120"],
                    "storm",
                    self.hold_ms,
                    self.fault,
                )
            })
            .collect();
        let kills = self.kill_some(&log);
        let exit_codes = children
            .iter_mut()
            .map(|c| c.wait().unwrap().code())
            .collect();
        let events = read_log(&log);
        StormReport {
            max_overlap: max_overlap(&events),
            exit_codes,
            kills,
            reuse_delays_ms: reuse_delays_ms(&events),
        }
    }

    #[cfg(target_os = "linux")]
    fn kill_some(&self, log: &Path) -> usize {
        let mut plan: Vec<bool> = std::iter::repeat_n(true, self.kill_parents)
            .chain(std::iter::repeat_n(false, self.kill_children))
            .collect();
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        let mut kills = 0;
        while let Some(&kill_parent) = plan.last() {
            std::thread::sleep(Duration::from_millis(15));
            if kill_one(log, kill_parent) {
                plan.pop();
                kills += 1;
            } else {
                assert!(std::time::Instant::now() < deadline, "no holder to kill");
            }
        }
        kills
    }

    #[cfg(not(target_os = "linux"))]
    fn kill_some(&self, _log: &Path) -> usize {
        0
    }
}
