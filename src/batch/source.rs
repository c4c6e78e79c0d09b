//! Where a job's operations come from: a source that can be opened again (a first pass checks
//! the whole job before anything is sent, a second uploads), or a stream read once (checked
//! chunk by chunk as it uploads).

use std::sync::Arc;

use futures_util::StreamExt as _;
use futures_util::stream::{self, BoxStream};

use crate::latest::services::MutateOperation;

type Open = Arc<dyn Fn() -> BoxStream<'static, MutateOperation> + Send + Sync>;

/// A job's operations, in the order they are uploaded.
pub struct OperationSource {
    kind: Kind,
}

enum Kind {
    Reopenable(Open),
    OnePass(Option<BoxStream<'static, MutateOperation>>),
}

impl std::fmt::Debug for OperationSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.kind {
            Kind::Reopenable(_) => "OperationSource::Reopenable",
            Kind::OnePass(_) => "OperationSource::OnePass",
        })
    }
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
            kind: Kind::Reopenable(Arc::new(move || stream::iter(open()).boxed())),
        }
    }

    /// [`reopenable`](Self::reopenable) over an async stream.
    pub fn reopenable_stream<F, S>(open: F) -> Self
    where
        F: Fn() -> S + Send + Sync + 'static,
        S: futures_util::Stream<Item = MutateOperation> + Send + 'static,
    {
        Self {
            kind: Kind::Reopenable(Arc::new(move || open().boxed())),
        }
    }

    /// A stream read once: checked chunk by chunk as it uploads. A problem found late (a
    /// temporary name never created, say) leaves the job unrun, and the job is removed.
    pub fn one_pass<S>(stream: S) -> Self
    where
        S: futures_util::Stream<Item = MutateOperation> + Send + 'static,
    {
        Self {
            kind: Kind::OnePass(Some(stream.boxed())),
        }
    }

    /// Operations `start..end` of a re-openable source, re-openable (each opening reads the
    /// source from its start and skips what comes before).
    pub(crate) fn part(&self, start: u64, end: u64) -> Result<Self, crate::Error> {
        let Kind::Reopenable(open) = &self.kind else {
            return Err(crate::Error::invalid(
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
            kind: Kind::Reopenable(Arc::new(move || open().skip(skip).take(take).boxed())),
        })
    }

    /// Whether the source can be read twice.
    pub fn is_reopenable(&self) -> bool {
        matches!(self.kind, Kind::Reopenable(_))
    }

    /// The operations from the start; `None` for a one-pass stream already taken.
    pub(crate) fn open(&mut self) -> Option<BoxStream<'static, MutateOperation>> {
        match &mut self.kind {
            Kind::Reopenable(open) => Some(open()),
            Kind::OnePass(stream) => stream.take(),
        }
    }
}
