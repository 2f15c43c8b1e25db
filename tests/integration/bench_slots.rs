//! Slot semaphore benchmarks, ignored by default; `scripts/bench-slots.sh`
//! runs them on a release build and prints one JSON summary line each.

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use serde_json::json;
use sqlite_graphrag::slots::{Pool, RuntimeDir, RuntimeDirKind, SlotCount};

use crate::slot_storm::{HOLD_MS, Storm};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn runtime(path: &std::path::Path) -> RuntimeDir {
    RuntimeDir {
        path: path.to_owned(),
        kind: RuntimeDirKind::Named,
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn sorted(mut values: Vec<f64>) -> Vec<f64> {
    values.sort_by(f64::total_cmp);
    values
}

/// Storm rounds with kills: the largest overlap seen, and every exit code.
#[test]
#[ignore = "benchmark; run scripts/bench-slots.sh"]
fn bench_slots_storm_rounds() {
    let rounds = env_usize("STORM_ROUNDS", 100);
    let kills = if cfg!(target_os = "linux") { 2 } else { 0 };
    let mut worst = 0;
    let mut failures = 0;
    let started = Instant::now();
    for _ in 0..rounds {
        let dir = tempfile::tempdir().unwrap();
        let storm = Storm {
            processes: 64,
            max: 4,
            hold_ms: HOLD_MS,
            kill_parents: kills,
            kill_children: kills,
            fault: false,
        };
        let report = storm.run(dir.path());
        worst = worst.max(report.max_overlap);
        failures += report
            .exit_codes
            .iter()
            .filter(|c| !matches!(c, Some(0) | Some(137) | None))
            .count();
    }
    println!(
        "{}",
        json!({"bench": "storm", "rounds": rounds, "processes_per_round": 64, "max": 4,
               "kills_per_round": 2 * kills, "max_overlap_seen": worst, "unexpected_exits": failures,
               "seconds": started.elapsed().as_secs_f64()})
    );
    assert!(worst <= 4);
}

/// In-process acquire and release of a free slot, with the holder record written.
#[test]
#[ignore = "benchmark; run scripts/bench-slots.sh"]
fn bench_slots_uncontended_acquire() {
    let dir = tempfile::tempdir().unwrap();
    let pool = Pool::open(
        &runtime(dir.path()),
        "bench",
        SlotCount {
            value: 4,
            explicit: true,
        },
    )
    .unwrap();
    let samples: Vec<f64> = (0..env_usize("ACQUIRE_SAMPLES", 20_000))
        .map(|_| {
            let start = Instant::now();
            let guard = pool.acquire(Duration::ZERO, vec!["bench".into()]).unwrap();
            drop(guard);
            start.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    let s = sorted(samples);
    println!(
        "{}",
        json!({"bench": "uncontended_acquire_release_us", "samples": s.len(),
               "p50": percentile(&s, 0.5), "p99": percentile(&s, 0.99)})
    );
}

/// Threads that take a slot, hold it 5 ms, release it and ask again, for a
/// few seconds: how long single acquisitions wait, worst against mean.
#[test]
#[ignore = "benchmark; run scripts/bench-slots.sh"]
fn bench_slots_fairness() {
    let threads = env_usize("FAIRNESS_THREADS", 16);
    let seconds = env_usize("FAIRNESS_SECONDS", 5) as u64;
    let dir = tempfile::tempdir().unwrap();
    let pool = Pool::open(
        &runtime(dir.path()),
        "bench",
        SlotCount {
            value: 4,
            explicit: true,
        },
    )
    .unwrap();
    let barrier = Arc::new(Barrier::new(threads));
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let (pool, barrier) = (pool.clone(), Arc::clone(&barrier));
            std::thread::spawn(move || {
                barrier.wait();
                let end = Instant::now() + Duration::from_secs(seconds);
                let mut waits = Vec::new();
                while Instant::now() < end {
                    let asked = Instant::now();
                    let guard = pool.acquire(Duration::from_secs(60), vec![]).unwrap();
                    waits.push(asked.elapsed().as_secs_f64() * 1000.0);
                    std::thread::sleep(Duration::from_millis(5));
                    drop(guard);
                }
                waits
            })
        })
        .collect();
    let per_thread: Vec<Vec<f64>> = workers.into_iter().map(|w| w.join().unwrap()).collect();
    let counts: Vec<usize> = per_thread.iter().map(Vec::len).collect();
    let all = sorted(per_thread.into_iter().flatten().collect());
    let mean = all.iter().sum::<f64>() / all.len() as f64;
    let max = *all.last().unwrap();
    println!(
        "{}",
        json!({"bench": "fairness", "threads": threads, "slots": 4, "hold_ms": 5, "acquisitions": all.len(),
               "wait_mean_ms": mean, "wait_p50_ms": percentile(&all, 0.5), "wait_p99_ms": percentile(&all, 0.99),
               "wait_max_ms": max, "fairness_max_over_mean": max / mean,
               "acquisitions_per_thread_min": counts.iter().min(), "acquisitions_per_thread_max": counts.iter().max()})
    );
}

/// A waiter blocked on a one-slot pool; the holder (or its guarded child) is
/// SIGKILLed: milliseconds until the waiter's command starts.
#[cfg(target_os = "linux")]
#[test]
#[ignore = "benchmark; run scripts/bench-slots.sh"]
fn bench_slots_reuse_delay_after_kill() {
    use crate::slot_storm::{Event, read_log, spawn_guarded, start_holder};
    let rounds = env_usize("REUSE_ROUNDS", 50);
    let mut delays = Vec::new();
    for round in 0..rounds * 2 {
        let kill_parent = round % 2 == 0;
        let dir = tempfile::tempdir().unwrap();
        let runtime = dir.path().join("runtime");
        let log = dir.path().join("log");
        let mut holder = start_holder(&runtime, &log, &["--max", "1"], 30_000);
        let Event::Enter { pid: helper, .. } = read_log(&log)[0] else {
            panic!()
        };
        let mut waiter = spawn_guarded(
            &runtime,
            &log,
            &["--max", "1", "--wait", "60"],
            "hold",
            (0, 0),
            false,
        );
        std::thread::sleep(Duration::from_millis(100));
        let victim = if kill_parent { holder.id() } else { helper };
        let sent = crate::slot_storm::now_us();
        rustix::process::kill_process(
            rustix::process::Pid::from_raw(victim as i32).unwrap(),
            rustix::process::Signal::KILL,
        )
        .unwrap();
        waiter.wait().unwrap();
        holder.wait().unwrap();
        let started = read_log(&log)
            .iter()
            .filter_map(|e| match e {
                Event::Enter { started_us, .. } if *started_us >= sent => Some(*started_us),
                _ => None,
            })
            .min()
            .unwrap();
        delays.push((started - sent) as f64 / 1000.0);
    }
    let s = sorted(delays);
    println!(
        "{}",
        json!({"bench": "reuse_delay_after_kill_ms", "samples": s.len(), "kills": "half the guarding process, half its child",
               "p50": percentile(&s, 0.5), "p99": percentile(&s, 0.99), "max": s.last()})
    );
}

/// CPU seconds (user + system) of every child process this process has
/// waited for so far, and of their waited-for descendants.
#[cfg(target_os = "linux")]
fn children_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 1..]
        .split_whitespace()
        .collect();
    // After the command name: cutime and cstime are fields 16 and 17 of the line.
    let ticks: u64 = fields[13].parse::<u64>().unwrap() + fields[14].parse::<u64>().unwrap();
    // /proc reports USER_HZ ticks, 100 per second on Linux.
    ticks as f64 / 100.0
}

/// A crowd of `slots exec --max 2 --wait 30` processes started at once,
/// each running a 20 ms sleep: how many finish within their wait, the wall
/// time, and the CPU time of all of them together.
#[cfg(target_os = "linux")]
#[test]
#[ignore = "benchmark; run scripts/bench-slots.sh"]
fn bench_slots_waiting_crowd() {
    let sizes: Vec<usize> = std::env::var("CROWD_SIZES")
        .unwrap_or_else(|_| "64,200,500".into())
        .split(',')
        .map(|n| n.parse().unwrap())
        .collect();
    for processes in sizes {
        let dir = tempfile::tempdir().unwrap();
        let cpu_before = children_cpu_seconds();
        let started = Instant::now();
        let mut children: Vec<std::process::Child> = (0..processes)
            .map(|_| {
                use crate::common::SpawnRetrying;
                crate::common::bare_cmd(dir.path())
                    .arg("--runtime-dir")
                    .arg(dir.path().join("runtime"))
                    .args(["slots", "exec", "--max", "2", "--wait", "30", "--"])
                    .args(["sleep", "0.02"])
                    .stdin(std::process::Stdio::null())
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .spawn_retrying()
            })
            .collect();
        let codes: Vec<Option<i32>> = children
            .iter_mut()
            .map(|c| c.wait().unwrap().code())
            .collect();
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "{}",
            json!({"bench": "waiting_crowd", "processes": processes, "max": 2, "wait_s": 30, "job": "sleep 0.02",
                   "completed": codes.iter().filter(|c| **c == Some(0)).count(),
                   "no_slot_75": codes.iter().filter(|c| **c == Some(75)).count(),
                   "wall_seconds": seconds, "cpu_seconds": children_cpu_seconds() - cpu_before})
        );
    }
}
