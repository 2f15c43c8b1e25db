//! Embedding and extracting a batch of memories on every core: the
//! built-in model's embedding is what a first ingest spends most of its
//! time on.

use std::num::NonZeroUsize;
use std::thread;

use crate::embed::Embedder;
use crate::error::{Error, ErrorKind, Result};
use crate::memory::Content;
use crate::store::PreparedMemory;
use crate::time::Timestamp;

/// Most threads a batch is prepared on.
const MAX_THREADS: usize = 8;

/// Where and when the memories of a batch are written.
#[derive(Debug, Clone, Copy)]
pub struct Destination<'a> {
    /// Their namespace.
    pub namespace: &'a str,
    /// The agent session writing them; `None` keeps the one recorded.
    pub session: Option<&'a str>,
    /// The time a new memory is stamped with.
    pub now: Timestamp,
}

/// Embeds and extracts each `(name, content)` of `batch` for `to`, on as
/// many threads as there are cores (at most [`MAX_THREADS`]), each part
/// with one call of the embedder, and returns them in the order given.
///
/// # Failure
/// The embedder's errors.
pub fn prepare_batch(
    embedder: &dyn Embedder,
    to: Destination<'_>,
    batch: Vec<(String, Content)>,
) -> Result<Vec<PreparedMemory>> {
    let cores = thread::available_parallelism().map_or(1, NonZeroUsize::get);
    let per_thread = batch.len().div_ceil(cores.clamp(1, MAX_THREADS)).max(1);
    let mut parts = Vec::new();
    let mut rest = batch;
    while rest.len() > per_thread {
        let tail = rest.split_off(per_thread);
        parts.push(rest);
        rest = tail;
    }
    parts.push(rest);
    let prepare = |part: Vec<(String, Content)>| -> Result<Vec<PreparedMemory>> {
        PreparedMemory::new_many(embedder, to.namespace, part, to.session, to.now)
    };
    thread::scope(|scope| {
        let last = parts.pop().unwrap_or_default();
        let running: Vec<_> = parts
            .into_iter()
            .map(|part| scope.spawn(move || prepare(part)))
            .collect();
        // The last part is prepared on this thread while the others run.
        let mut last_prepared = prepare(last)?;
        let mut prepared = Vec::new();
        for thread in running {
            let part = thread.join().map_err(|_| {
                Error::new(ErrorKind::Database, "a thread embedding files panicked")
            })??;
            prepared.extend(part);
        }
        prepared.append(&mut last_prepared);
        Ok(prepared)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::StaticModel;

    #[test]
    fn a_batch_keeps_its_order() {
        let model = StaticModel::new();
        let to = Destination {
            namespace: "global",
            session: None,
            now: Timestamp::now(),
        };
        let batch: Vec<(String, Content)> = (0..37)
            .map(|n| {
                let content = Content::new(None, None, format!("text {n}"), None).unwrap();
                (format!("m{n}"), content)
            })
            .collect();
        let prepared = prepare_batch(&model, to, batch).unwrap();
        let names: Vec<&str> = prepared.iter().map(PreparedMemory::name).collect();
        let expected: Vec<String> = (0..37).map(|n| format!("m{n}")).collect();
        assert_eq!(names, expected);
        assert!(prepare_batch(&model, to, Vec::new()).unwrap().is_empty());
    }
}
