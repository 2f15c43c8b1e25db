//! Feeding stdin and reading stdout and stderr on threads of their own, so
//! that no pipe can fill up and block the command or the runner.

use std::io::{ErrorKind, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Instant;

use super::{Captured, StdoutCheck};

/// Bytes read per system call.
const CHUNK: usize = 64 * 1024;

/// Writes `input` to `sink` on a thread and closes it. A command that exits
/// without reading makes the write fail, which ends the thread.
pub(super) fn feed(mut sink: impl Write + Send + 'static, input: Vec<u8>) {
    thread::spawn(move || {
        let _ = sink.write_all(&input);
    });
}

/// What a reader thread has read so far.
#[derive(Debug, Default)]
struct Shared {
    output: Captured,
    /// Set when the runner stopped waiting: the thread keeps nothing more.
    abandoned: bool,
}

/// A stream being read on its own thread.
pub(super) struct Reader {
    shared: Arc<Mutex<Shared>>,
    /// Disconnected when the thread ends.
    done: Receiver<()>,
}

impl Reader {
    /// Starts reading `source` until its end, keeping the first `limit`
    /// bytes. Past the limit the output is marked truncated; with
    /// `overflow`, the flag is raised and reading stops, else the rest is
    /// read and dropped. With `check`, the bytes kept are checked after
    /// each read until the check rejects them, which raises its flag.
    pub(super) fn start(
        mut source: impl Read + Send + 'static,
        limit: usize,
        overflow: Option<Arc<AtomicBool>>,
        check: Option<(StdoutCheck, Arc<AtomicBool>)>,
    ) -> Self {
        let shared = Arc::new(Mutex::new(Shared::default()));
        let (alive, done) = mpsc::channel::<()>();
        let buffer = Arc::clone(&shared);
        thread::spawn(move || {
            let _alive = alive;
            let mut chunk = vec![0u8; CHUNK];
            loop {
                let n = match source.read(&mut chunk) {
                    Ok(0) => return,
                    Ok(n) => n,
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    Err(_) => return,
                };
                let mut shared = buffer.lock().unwrap_or_else(|e| e.into_inner());
                if shared.abandoned {
                    return;
                }
                let room = limit.saturating_sub(shared.output.bytes.len());
                let kept = n.min(room);
                shared.output.bytes.extend_from_slice(&chunk[..kept]);
                if let Some((check, rejected)) = &check
                    && !rejected.load(Ordering::SeqCst)
                    && (check.0)(&shared.output.bytes)
                {
                    rejected.store(true, Ordering::SeqCst);
                }
                if kept < n {
                    shared.output.truncated = true;
                    if let Some(flag) = &overflow {
                        flag.store(true, Ordering::SeqCst);
                        return;
                    }
                }
            }
        });
        Reader { shared, done }
    }

    /// Waits until the stream ends or `deadline` passes, and returns what
    /// was kept; a stream still open at the deadline (a process outside the
    /// group kept it) is marked truncated and left to its thread.
    pub(super) fn finish(self, deadline: Instant) -> Captured {
        let wait = deadline.saturating_duration_since(Instant::now());
        let ended = !matches!(self.done.recv_timeout(wait), Err(RecvTimeoutError::Timeout));
        let mut shared = self.shared.lock().unwrap_or_else(|e| e.into_inner());
        shared.abandoned = true;
        let mut output = std::mem::take(&mut shared.output);
        output.truncated |= !ended;
        output
    }
}
