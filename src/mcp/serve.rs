//! The stdio loop, on three threads.
//!
//! A reader thread reads the client's lines: it answers `ping` itself, at
//! once, notes cancellations of calls still waiting or running, and passes
//! everything else on. A worker thread answers the rest in order and runs
//! tool calls one at a time. This thread writes every answer to stdout. A
//! call cancelled before it starts never runs; one cancelled while it runs
//! is not answered (what it wrote stays: each write is its own
//! transaction). The loop ends when the client closes stdin, after the
//! lines already read are answered; a closed stdout ends it too.
//!
//! SIGTERM, SIGINT or SIGHUP end the process with status 0 once the message
//! being handled (if any) is answered and every answer queued is written;
//! nothing new starts meanwhile. After [`STOP_GRACE`] it ends regardless
//! (a call stuck waiting, or a client that stopped reading).

use std::collections::HashSet;
use std::io::{self, BufRead, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::Duration;

use serde_json::{Value, json};

use crate::mcp::session::{ServerInfo, Session, Step, ToolCall, Tools, call_result};
use crate::mcp::wire::{self, Incoming, result_line};
use crate::process::SignalWatch;

/// How often the signal watcher looks.
const SIGNAL_POLL: Duration = Duration::from_millis(50);
/// The longest line read (a memory's body is at most 1 MiB); a longer one
/// is answered with a parse error.
const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;
/// Messages read ahead of the one being handled. Past them the reader
/// waits, and a `ping` behind them waits too.
const READ_AHEAD: usize = 64;
/// A read buffer grown past this by a long line is dropped after it.
const KEPT_BUFFER_BYTES: usize = 64 * 1024;
/// How long a termination signal waits for the work under way.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// What the three threads and the signal watcher share.
#[derive(Default)]
struct Shared {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// The worker is handling a message.
    busy: bool,
    /// Answers queued for stdout and not yet written.
    unwritten: usize,
    /// A termination signal arrived: start nothing new.
    stopping: bool,
    /// stdout is closed.
    closed: bool,
    /// The ids (as JSON text) of tool calls read and not yet answered.
    pending: HashSet<String>,
    /// Those of them the client cancelled.
    cancelled: HashSet<String>,
}

impl State {
    /// Ends the process with status 0 if a signal asked for it and nothing
    /// is under way. Called with the state locked, so nothing starts
    /// meanwhile.
    fn exit_if_stopped(&self) {
        if self.stopping && !self.busy && self.unwritten == 0 {
            std::process::exit(0);
        }
    }
}

/// What the writer is handed.
enum Output {
    /// A message to write.
    Line(String),
    /// The worker has finished: nothing more will come.
    Done,
}

/// Tells the writer the worker is done when dropped, so that a worker that
/// panics does not leave the writer waiting.
struct DoneOnDrop<'a>(&'a Sender<Output>);

impl Drop for DoneOnDrop<'_> {
    fn drop(&mut self) {
        let _ = self.0.send(Output::Done);
    }
}

fn key(id: &Value) -> String {
    id.to_string()
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues a message for the writer.
    fn queue(&self, writer: &Sender<Output>, line: String) {
        self.state().unwritten += 1;
        if writer.send(Output::Line(line)).is_err() {
            self.state().unwritten -= 1;
        }
    }

    fn is_cancelled(&self, id: &Value) -> bool {
        self.state().cancelled.contains(&key(id))
    }
}

/// Serves MCP on this process's stdin and `out` (its stdout) until the
/// client closes stdin. Logs go to stderr, never to `out`.
///
/// # Failure
/// Only I/O errors reading stdin; a closed stdout ends the loop quietly.
pub fn serve_stdio(tools: &dyn Tools, info: ServerInfo, out: &mut dyn Write) -> io::Result<()> {
    let shared = Arc::new(Shared::default());
    let watch = Arc::new(SignalWatch::start());
    let watching = Arc::new(AtomicBool::new(true));
    spawn_signal_watcher(
        Arc::clone(&watch),
        Arc::clone(&shared),
        Arc::clone(&watching),
    );
    let (writer, written) = mpsc::channel();
    let lines = spawn_reader(Arc::clone(&shared), writer.clone());
    let result = thread::scope(|scope| {
        let worker = scope.spawn(|| {
            let _done = DoneOnDrop(&writer);
            work(tools, info, lines, &shared, &watch, &writer)
        });
        write_answers(out, written, &shared);
        worker
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    });
    watching.store(false, Ordering::SeqCst);
    result
}

/// Writes each message handed over, one per line, until the worker is done
/// or stdout closes.
fn write_answers(out: &mut dyn Write, written: Receiver<Output>, shared: &Shared) {
    for output in written {
        let Output::Line(line) = output else {
            return;
        };
        let sent = out
            .write_all(line.as_bytes())
            .and_then(|()| out.write_all(b"\n"))
            .and_then(|()| out.flush());
        let mut state = shared.state();
        state.unwritten -= 1;
        if sent.is_err() {
            state.closed = true;
            return;
        }
        state.exit_if_stopped();
    }
}

/// Answers each message passed on, in order, until the reader ends, stdout
/// closes or a signal arrives.
fn work(
    tools: &dyn Tools,
    info: ServerInfo,
    lines: Receiver<io::Result<Incoming>>,
    shared: &Shared,
    watch: &SignalWatch,
    writer: &Sender<Output>,
) -> io::Result<()> {
    let mut session = Session::new(tools, info);
    for incoming in lines {
        let incoming = incoming?;
        let call_key = match &incoming {
            Incoming::Request { id, method, .. } if method == "tools/call" => Some(key(id)),
            _ => None,
        };
        {
            let mut state = shared.state();
            state.stopping |= watch.received().is_some();
            if state.stopping || state.closed {
                return Ok(());
            }
            state.busy = true;
        }
        let line = match session.handle(incoming) {
            Step::Answer(line) => Some(line),
            Step::Call(call) => run(tools, &call, shared),
            Step::Nothing => None,
        };
        if let Some(line) = line {
            shared.queue(writer, line);
        }
        let mut state = shared.state();
        state.busy = false;
        if let Some(call_key) = call_key {
            state.pending.remove(&call_key);
            state.cancelled.remove(&call_key);
        }
        state.stopping |= watch.received().is_some();
        state.exit_if_stopped();
    }
    Ok(())
}

/// Runs a call unless it was cancelled; returns its answer unless it was
/// cancelled meanwhile.
fn run(tools: &dyn Tools, call: &ToolCall, shared: &Shared) -> Option<String> {
    if shared.is_cancelled(&call.id) {
        return None;
    }
    let outcome = tools.call(&call.name, &call.arguments);
    if shared.is_cancelled(&call.id) {
        tracing::info!(
            "tool call {} was cancelled while it ran; not answered",
            call.id
        );
        return None;
    }
    Some(result_line(&call.id, call_result(outcome)))
}

/// Reads lines on a thread of their own, answers pings, notes
/// cancellations, and passes the rest on parsed. The channel closes at the
/// end of input.
fn spawn_reader(shared: Arc<Shared>, writer: Sender<Output>) -> Receiver<io::Result<Incoming>> {
    let (sender, receiver) = mpsc::sync_channel(READ_AHEAD);
    thread::spawn(move || {
        let mut input = io::stdin().lock();
        let mut bytes = Vec::new();
        loop {
            if bytes.capacity() > KEPT_BUFFER_BYTES {
                bytes = Vec::new();
            }
            bytes.clear();
            let read = input
                .by_ref()
                .take(MAX_LINE_BYTES as u64)
                .read_until(b'\n', &mut bytes);
            let incoming = match read {
                Ok(0) => return,
                Ok(_) if !bytes.ends_with(b"\n") && bytes.len() == MAX_LINE_BYTES => {
                    skip_rest_of_line(&mut input);
                    wire::unreadable(format!("a message is longer than {MAX_LINE_BYTES} bytes"))
                }
                Ok(_) => match std::str::from_utf8(&bytes) {
                    Ok(text) => wire::parse(text.strip_suffix('\n').unwrap_or(text)),
                    Err(e) => wire::unreadable(format!("not UTF-8: {e}")),
                },
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let _ = sender.send(Err(e));
                    return;
                }
            };
            match &incoming {
                Incoming::Request { id, method, .. } if method == "ping" => {
                    shared.queue(&writer, result_line(id, json!({})));
                    continue;
                }
                Incoming::Request { id, method, .. } if method == "tools/call" => {
                    shared.state().pending.insert(key(id));
                }
                Incoming::Notification { method, params } => {
                    if let Some(id) = wire::cancelled_request(method, params) {
                        let mut state = shared.state();
                        if state.pending.contains(&key(id)) {
                            state.cancelled.insert(key(id));
                        }
                    }
                }
                _ => {}
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
    loop {
        let (consumed, done) = match input.fill_buf() {
            Ok([]) | Err(_) => return,
            Ok(buffer) => match buffer.iter().position(|&b| b == b'\n') {
                Some(at) => (at + 1, true),
                None => (buffer.len(), false),
            },
        };
        input.consume(consumed);
        if done {
            return;
        }
    }
}

/// Ends the process on a termination signal once nothing is under way
/// (or after [`STOP_GRACE`]).
fn spawn_signal_watcher(watch: Arc<SignalWatch>, shared: Arc<Shared>, watching: Arc<AtomicBool>) {
    thread::spawn(move || {
        while watching.load(Ordering::SeqCst) {
            if let Some(signal) = watch.received() {
                tracing::info!("signal {signal}: stopping");
                {
                    let mut state = shared.state();
                    state.stopping = true;
                    state.exit_if_stopped();
                }
                thread::sleep(STOP_GRACE);
                std::process::exit(0);
            }
            thread::sleep(SIGNAL_POLL);
        }
    });
}
