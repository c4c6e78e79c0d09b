//! Where a job's operations come from: a source that can be opened again (a first pass checks
//! the whole job before anything is sent, a second uploads), or a stream read once (checked
//! chunk by chunk as it uploads). Either may fail as it is read (a file, a database): a
//! failure is an error of the job, never an early end of its operations.

use std::sync::Arc;

use futures_util::StreamExt as _;
use futures_util::stream::{self, BoxStream};

use crate::Error;
use crate::latest::services::MutateOperation;

/// The operations as the driver reads them: each one, or why the source could not give it.
pub(crate) type Operations = BoxStream<'static, Result<MutateOperation, Error>>;

type Open = Arc<dyn Fn() -> Operations + Send + Sync>;

/// A job's operations, in the order they are uploaded.
pub struct OperationSource {
    kind: Kind,
}

enum Kind {
    Reopenable(Open),
    OnePass(Option<Operations>),
}

impl std::fmt::Debug for OperationSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.kind {
            Kind::Reopenable(_) => "OperationSource::Reopenable",
            Kind::OnePass(_) => "OperationSource::OnePass",
        })
    }
}

/// A source's own failure as the crate's error: the operation it failed at and why.
fn read_error(at: u64, error: impl std::fmt::Display) -> Error {
    Error::stopped(
        format!("the operation source failed at operation {at}: {error}"),
        false,
    )
}

/// Numbers each item and turns a failure into the crate's error.
fn fallible<S, E>(stream: S) -> Operations
where
    S: futures_util::Stream<Item = Result<MutateOperation, E>> + Send + 'static,
    E: std::fmt::Display,
{
    let mut at = 0u64;
    stream
        .map(move |item| {
            let index = at;
            at += 1;
            item.map_err(|e| read_error(index, e))
        })
        // A caller's stream may not be fused: after its end it stays ended.
        .fuse()
        .boxed()
}

impl OperationSource {
    /// Operations held in memory (for jobs that fit there).
    pub fn from_vec(operations: Vec<MutateOperation>) -> Self {
        let operations = Arc::new(operations);
        Self::reopenable(move || {
            let operations = operations.clone();
            (0..operations.len()).map(move |i| operations[i].clone())
        })
    }

    /// A source opened as often as needed by calling `open`, which must give the same
    /// operations each time (a file read again, a generator): the job is checked whole before
    /// anything is sent, and a resumed job is compared with what was uploaded.
    pub fn reopenable<F, I>(open: F) -> Self
    where
        F: Fn() -> I + Send + Sync + 'static,
        I: IntoIterator<Item = MutateOperation>,
        I::IntoIter: Send + 'static,
    {
        Self {
            kind: Kind::Reopenable(Arc::new(move || stream::iter(open()).map(Ok).boxed())),
        }
    }

    /// [`reopenable`](Self::reopenable) over an async stream.
    pub fn reopenable_stream<F, S>(open: F) -> Self
    where
        F: Fn() -> S + Send + Sync + 'static,
        S: futures_util::Stream<Item = MutateOperation> + Send + 'static,
    {
        Self {
            kind: Kind::Reopenable(Arc::new(move || open().map(Ok).boxed())),
        }
    }

    /// [`reopenable_stream`](Self::reopenable_stream) over a stream that can fail (a file, a
    /// database): a failure ends the job's upload with an error naming the operation it
    /// failed at, never a shorter job.
    pub fn try_reopenable_stream<F, S, E>(open: F) -> Self
    where
        F: Fn() -> S + Send + Sync + 'static,
        S: futures_util::Stream<Item = Result<MutateOperation, E>> + Send + 'static,
        E: std::fmt::Display,
    {
        Self {
            kind: Kind::Reopenable(Arc::new(move || fallible(open()))),
        }
    }

    /// A stream read once: checked chunk by chunk as it uploads. A problem found late (a
    /// temporary name never created, say) leaves the job unrun, and the job is removed.
    pub fn one_pass<S>(stream: S) -> Self
    where
        S: futures_util::Stream<Item = MutateOperation> + Send + 'static,
    {
        Self {
            kind: Kind::OnePass(Some(stream.map(Ok).boxed())),
        }
    }

    /// [`one_pass`](Self::one_pass) over a stream that can fail: a failure is an error of the
    /// job (it is left unrun and removed), never its end.
    pub fn try_one_pass<S, E>(stream: S) -> Self
    where
        S: futures_util::Stream<Item = Result<MutateOperation, E>> + Send + 'static,
        E: std::fmt::Display,
    {
        Self {
            kind: Kind::OnePass(Some(fallible(stream))),
        }
    }

    /// Operations `start..end` of a re-openable source, re-openable (each opening reads the
    /// source from its start and skips what comes before). A source that ends before `end`
    /// is an error at its end, naming both counts: the part was planned on a longer reading.
    pub(crate) fn part(&self, start: u64, end: u64) -> Result<Self, Error> {
        let Kind::Reopenable(open) = &self.kind else {
            return Err(Error::invalid(
                "source",
                "only a re-openable source can be split into jobs",
            ));
        };
        let open = open.clone();
        let (skip, take) = (
            usize::try_from(start).unwrap_or(usize::MAX),
            usize::try_from(end.saturating_sub(start)).unwrap_or(usize::MAX),
        );
        Ok(Self {
            kind: Kind::Reopenable(Arc::new(move || {
                let wanted = end.saturating_sub(start);
                let body = open().skip(skip).take(take);
                // (the part, operations read, ended): after the part's last item, a source that
                // gave fewer than planned yields one error instead of ending short.
                stream::unfold((body, 0u64, false), move |(mut body, seen, ended)| async move {
                    if ended {
                        return None;
                    }
                    match body.next().await {
                        Some(item) => Some((item, (body, seen + 1, false))),
                        None if seen < wanted => Some((
                            Err(Error::stopped(
                                format!(
                                    "the operation source ended after {} operations; the plan holds {end} (this job is operations {start}..{end}): it must give the same operations each time it is opened",
                                    start + seen
                                ),
                                false,
                            )),
                            (body, seen, true),
                        )),
                        None => None,
                    }
                })
                // The driver may ask again after the end: it stays ended.
                .fuse()
                .boxed()
            })),
        })
    }

    /// Whether the source can be read twice.
    pub fn is_reopenable(&self) -> bool {
        matches!(self.kind, Kind::Reopenable(_))
    }

    /// The operations from the start; `None` for a one-pass stream already taken.
    pub(crate) fn open(&mut self) -> Option<Operations> {
        match &mut self.kind {
            Kind::Reopenable(open) => Some(open()),
            Kind::OnePass(stream) => stream.take(),
        }
    }
}
