//! Writing memories on a thread of their own, so that reading and
//! embedding the next files goes on meanwhile and both cores of a small
//! machine work, as `import` does with its lines.

use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread::{self, JoinHandle};

use crate::error::{Error, ErrorKind, Result};
use crate::memory::Memory;
use crate::store::{Outcome, PreparedMemory, Store};

/// What the writer thread is asked to do.
pub enum Job {
    /// Create or update these memories.
    Write(Vec<PreparedMemory>),
    /// Forget these memories, if they are still as read.
    Forget(Vec<Memory>),
}

/// A thread that owns a store and does the jobs it is handed, in order.
pub struct Writer {
    jobs: Option<SyncSender<Job>>,
    done: Receiver<Result<Vec<Outcome>>>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    /// Starts the thread, which writes into `store`.
    pub fn start(mut store: Store) -> Self {
        // One job waits while another is written: the memory held stays bounded.
        let (jobs, received) = mpsc::sync_channel::<Job>(1);
        let (finished, done) = mpsc::channel();
        let thread = thread::spawn(move || {
            for job in received {
                let result = match job {
                    Job::Write(memories) => store.write_prepared_memories(&memories),
                    Job::Forget(memories) => store.forget_memories(&memories),
                };
                let failed = result.is_err();
                if finished.send(result).is_err() || failed {
                    return;
                }
            }
        });
        Writer {
            jobs: Some(jobs),
            done,
            thread: Some(thread),
        }
    }

    /// Hands over a job, waiting while another one is waiting.
    ///
    /// # Failure
    /// When the thread has stopped after a failed job; that job's error
    /// comes from [`Writer::wait`].
    pub fn send(&self, job: Job) -> Result<()> {
        self.jobs
            .as_ref()
            .and_then(|jobs| jobs.send(job).ok())
            .ok_or_else(stopped)
    }

    /// Returns what the oldest job not yet reported did, if it is done.
    pub fn try_finished(&self) -> Option<Result<Vec<Outcome>>> {
        self.done.try_recv().ok()
    }

    /// Returns what the oldest job not yet reported did, waiting for it.
    ///
    /// # Failure
    /// The job's error, or an error if the thread stopped before it.
    pub fn wait(&self) -> Result<Vec<Outcome>> {
        self.done.recv().map_err(|_| stopped())?
    }
}

impl Drop for Writer {
    /// Lets the thread finish the jobs it holds, and waits for it.
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            // A panic of the writer has been reported on stderr already.
            let _ = thread.join();
        }
    }
}

/// The error of a writer thread that stopped.
fn stopped() -> Error {
    Error::new(ErrorKind::Database, "the writing thread stopped")
}
