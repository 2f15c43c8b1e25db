//! The stdio loop.
//!
//! A reader thread reads the client's lines and passes them on, noting
//! cancellations as they arrive; this thread answers them in order and runs
//! tool calls one at a time. A call cancelled before or while it runs gets
//! no answer (its writes, if it made any, stay: each is its own
//! transaction). The loop ends when the client closes stdin, after the
//! lines already read are answered; a closed stdout ends it too. SIGTERM,
//! SIGINT or SIGHUP end the process with status 0, at once when no call is
//! running, else as soon as the running one has answered.

use std::collections::VecDeque;
use std::io::{self, BufRead, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::Duration;

use serde_json::Value;

use crate::mcp::session::{ServerInfo, Session, Step, Tools, call_result};
use crate::mcp::wire::{self, Incoming, result_line};
use crate::process::SignalWatch;

/// How many cancelled ids are remembered (a client may cancel requests that
/// already finished; those are never looked up again).
const CANCELLED_KEPT: usize = 256;
/// How often the signal watcher looks.
const SIGNAL_POLL: Duration = Duration::from_millis(100);
/// The longest line read; a longer one is answered with a parse error.
const MAX_LINE_BYTES: u64 = 64 * 1024 * 1024;

/// The state the reader, the signal watcher and this thread share.
#[derive(Default)]
struct Calls {
    /// A tool call is running.
    running: bool,
    /// A termination signal arrived while it ran.
    stopping: bool,
    /// The ids (as JSON text) of requests cancelled, newest last.
    cancelled: VecDeque<String>,
}

impl Calls {
    fn take_cancelled(&mut self, id: &Value) -> bool {
        let key = id.to_string();
        match self.cancelled.iter().position(|k| *k == key) {
            Some(at) => self.cancelled.remove(at).is_some(),
            None => false,
        }
    }
}

/// Serves MCP on this process's stdin and stdout until the client closes
/// stdin. Logs go to stderr, never to stdout.
///
/// # Failure
/// Only I/O errors reading stdin; a closed stdout ends the loop quietly.
pub fn serve_stdio(tools: &dyn Tools, info: ServerInfo) -> io::Result<()> {
    let calls = Arc::new(Mutex::new(Calls::default()));
    let watch = SignalWatch::start();
    let watching = Arc::new(AtomicBool::new(true));
    spawn_signal_watcher(watch, Arc::clone(&calls), Arc::clone(&watching));
    let lines = spawn_reader(Arc::clone(&calls));
    let result = answer(tools, info, lines, &mut io::stdout().lock(), &calls);
    watching.store(false, Ordering::SeqCst);
    result
}

/// Answers each line read, in order, until the reader ends or stdout closes.
fn answer(
    tools: &dyn Tools,
    info: ServerInfo,
    lines: mpsc::Receiver<io::Result<Incoming>>,
    out: &mut dyn Write,
    calls: &Mutex<Calls>,
) -> io::Result<()> {
    let mut session = Session::new(tools, info);
    for incoming in lines {
        let line = match session.handle(incoming?) {
            Step::Answer(line) => line,
            Step::Call(call) => {
                if lock(calls).take_cancelled(&call.id) {
                    continue;
                }
                lock(calls).running = true;
                let outcome = tools.call(&call.name, &call.arguments);
                let mut state = lock(calls);
                state.running = false;
                let cancelled = state.take_cancelled(&call.id);
                let stopping = state.stopping;
                drop(state);
                if !cancelled && send(out, &result_line(&call.id, call_result(outcome))).is_err() {
                    return Ok(());
                }
                if stopping {
                    std::process::exit(0);
                }
                continue;
            }
            Step::Cancel(_) | Step::Nothing => continue,
        };
        if send(out, &line).is_err() {
            return Ok(());
        }
    }
    Ok(())
}

fn lock(calls: &Mutex<Calls>) -> std::sync::MutexGuard<'_, Calls> {
    calls.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Writes one message and its newline, and flushes.
fn send(out: &mut dyn Write, line: &str) -> io::Result<()> {
    out.write_all(line.as_bytes())?;
    out.write_all(b"\n")?;
    out.flush()
}

/// Reads lines on a thread of their own and passes them on parsed. A
/// cancellation is noted at once, so that a call still waiting or running
/// learns of it. The channel closes at the end of input.
fn spawn_reader(calls: Arc<Mutex<Calls>>) -> mpsc::Receiver<io::Result<Incoming>> {
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        let mut input = io::stdin().lock();
        let mut bytes = Vec::new();
        loop {
            bytes.clear();
            let read = input
                .by_ref()
                .take(MAX_LINE_BYTES)
                .read_until(b'\n', &mut bytes);
            let incoming = match read {
                Ok(0) => return,
                Ok(_) if !bytes.ends_with(b"\n") && bytes.len() as u64 == MAX_LINE_BYTES => {
                    skip_rest_of_line(&mut input);
                    wire::too_long(MAX_LINE_BYTES)
                }
                Ok(_) => {
                    let text = String::from_utf8_lossy(&bytes);
                    wire::parse(text.strip_suffix('\n').unwrap_or(&text))
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let _ = sender.send(Err(e));
                    return;
                }
            };
            if let Incoming::Notification { method, params } = &incoming
                && method == "notifications/cancelled"
                && let Some(id) = params.get("requestId")
            {
                let mut state = lock(&calls);
                if state.cancelled.len() == CANCELLED_KEPT {
                    state.cancelled.pop_front();
                }
                state.cancelled.push_back(id.to_string());
            }
            if sender.send(Ok(incoming)).is_err() {
                return;
            }
        }
    });
    receiver
}

/// Discards input up to and including the next newline.
fn skip_rest_of_line(input: &mut impl BufRead) {
    let mut sink = Vec::new();
    loop {
        sink.clear();
        match input.by_ref().take(1 << 20).read_until(b'\n', &mut sink) {
            Ok(0) => return,
            Ok(_) if sink.ends_with(b"\n") => return,
            Ok(_) => continue,
            Err(_) => return,
        }
    }
}

/// Ends the process with status 0 on a termination signal: at once when no
/// call runs, else by asking the loop to stop after the running call.
fn spawn_signal_watcher(watch: SignalWatch, calls: Arc<Mutex<Calls>>, watching: Arc<AtomicBool>) {
    thread::spawn(move || {
        while watching.load(Ordering::SeqCst) {
            if let Some(signal) = watch.received() {
                tracing::info!("signal {signal}: stopping");
                let mut state = lock(&calls);
                if !state.running {
                    std::process::exit(0);
                }
                state.stopping = true;
                return;
            }
            thread::sleep(SIGNAL_POLL);
        }
    });
}
