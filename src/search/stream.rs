//! The streams a search hands out, all over one core: [`RowStream`] (decoded rows),
//! [`LazyRows`] (rows read by path) and [`Batches`] (one server message at a time).
//!
//! The core pulls one message from the call only when the caller asks for more rows than it
//! holds (HTTP/2 flow control then holds the server back), ends the stream with an error when
//! a wait for the server outlasts the idle timeout, and never starts the call again.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use futures_util::Stream;
use prost_types::FieldMask;
use tokio::time::{Instant, Sleep};

use super::row::Row;
use super::wire;
use crate::Error;
use crate::latest::paths::google_ads_service;
use crate::latest::services::{
    GoogleAdsRow, SearchGoogleAdsResponse, SearchGoogleAdsStreamResponse,
};

/// One message of a search: a SearchStream response, or a page of Search.
#[derive(Clone, Debug, Default)]
pub struct Batch {
    /// The message as received, and where its rows are in it.
    message: wire::Message,
    /// The first row not handed out yet (a batch made of a partly read one).
    from: usize,
    total_results_count: Option<i64>,
}

impl Batch {
    /// How many rows it holds.
    pub fn len(&self) -> usize {
        self.message.rows.len() - self.from
    }

    /// Whether it holds no row (the summary row's message holds none).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Its rows, undecoded (each shares the message's buffer).
    pub fn rows(&self) -> impl ExactSizeIterator<Item = Row> + '_ {
        (self.from..self.message.rows.len()).map(|i| self.row(i))
    }

    /// Its rows, decoded.
    pub fn decoded_rows(&self) -> impl ExactSizeIterator<Item = Result<GoogleAdsRow, Error>> + '_ {
        self.rows().map(|row| row.decode())
    }

    /// The summary row, in the message that carries it (the last, when asked for).
    pub fn summary_row(&self) -> Option<Row> {
        self.message.summary_row.clone().map(Row::from_bytes)
    }

    /// The fields the query selected, as the server read them.
    pub fn field_mask(&self) -> Option<&FieldMask> {
        self.message.field_mask.as_ref()
    }

    /// The request id (of the SearchStream call, or of this page's Search call).
    pub fn request_id(&self) -> Option<&str> {
        Some(self.message.request_id.as_str()).filter(|id| !id.is_empty())
    }

    /// The resources the server says this message cost (SearchStream reports the rows' cost
    /// in the last message of rows, the summary row's in its own).
    pub fn query_resource_consumption(&self) -> i64 {
        self.message.query_resource_consumption
    }

    /// For a page of Search asked to count: the rows the query matches, before its LIMIT.
    pub fn total_results_count(&self) -> Option<i64> {
        self.total_results_count
    }

    /// Row `i` of the message.
    fn row(&self, i: usize) -> Row {
        let (at, len) = self.message.rows[i];
        let at = at as usize;
        Row::from_bytes(self.message.bytes.slice(at..at + len as usize))
    }

    /// Bytes of the rows not handed out yet.
    fn rest_bytes(&self) -> usize {
        self.message.rows[self.from..]
            .iter()
            .map(|(_, len)| *len as usize)
            .sum()
    }

    /// The rows from `from` on, without the message's other fields (told already).
    fn rest(&self) -> Batch {
        Batch {
            message: wire::Message {
                bytes: self.message.bytes.clone(),
                rows: self.message.rows.clone(),
                ..Default::default()
            },
            from: self.from,
            total_results_count: None,
        }
    }
}

impl From<wire::Message> for Batch {
    fn from(message: wire::Message) -> Self {
        Self {
            message,
            from: 0,
            total_results_count: None,
        }
    }
}

/// A page of Search and the request id of its call.
pub(super) type Page = (wire::Message, String);

/// A page of Search as a batch; `counted` when the request asked for the total.
pub(super) fn page_batch((mut page, request_id): Page, counted: bool) -> (Batch, String) {
    page.request_id = request_id;
    let token = std::mem::take(&mut page.next_page_token);
    let total = counted.then_some(page.total_results_count);
    let batch = Batch {
        message: page,
        from: 0,
        total_results_count: total,
    };
    (batch, token)
}

/// What a search has told so far besides its rows.
#[derive(Clone, Debug, Default)]
pub struct SearchInfo {
    request_id: Option<String>,
    field_mask: Option<FieldMask>,
    summary_row: Option<Row>,
    query_resource_consumption: i64,
    total_results_count: Option<i64>,
}

impl SearchInfo {
    /// The server's request id, once a message carried it.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// The fields the query selected, once a message carried them.
    pub fn field_mask(&self) -> Option<&FieldMask> {
        self.field_mask.as_ref()
    }

    /// The summary row, once it came (the last message, when asked for).
    pub fn summary_row(&self) -> Option<&Row> {
        self.summary_row.as_ref()
    }

    /// The resources the query consumed, summed over the messages so far.
    pub fn query_resource_consumption(&self) -> i64 {
        self.query_resource_consumption
    }

    /// For a Search asked to count: the rows the query matches, before its LIMIT.
    pub fn total_results_count(&self) -> Option<i64> {
        self.total_results_count
    }

    fn note(&mut self, batch: &Batch) {
        if self.request_id.is_none()
            && let Some(id) = batch.request_id()
        {
            self.request_id = Some(id.to_owned());
        }
        if let Some(mask) = batch.field_mask() {
            self.field_mask = Some(mask.clone());
        }
        if let Some(row) = batch.summary_row() {
            self.summary_row = Some(row);
        }
        self.query_resource_consumption += batch.query_resource_consumption();
        if batch.total_results_count.is_some() {
            self.total_results_count = batch.total_results_count;
        }
    }
}

/// A page of Search on its way.
pub(super) type PageFuture = Pin<Box<dyn Future<Output = Result<Page, Error>> + Send>>;

/// Sends the Search call for a page token.
pub(super) type FetchPage = Arc<dyn Fn(String) -> PageFuture + Send + Sync>;

/// Where batches come from.
pub(super) enum Source {
    /// A SearchStream call.
    Stream(tonic::Streaming<wire::Message>),
    /// Search, page after page.
    Pages {
        fetch: FetchPage,
        counted: bool,
        next_token: String,
        in_flight: Option<PageFuture>,
    },
    /// Over (ended, failed, or timed out: the call is dropped, which cancels it).
    Done,
}

impl Source {
    fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Batch, Error>>> {
        match self {
            Source::Done => Poll::Ready(None),
            Source::Stream(stream) => Pin::new(stream).poll_next(cx).map(|item| {
                item.map(|message| {
                    message
                        .inspect(|m| {
                            log_body::<SearchGoogleAdsStreamResponse>(
                                google_ads_service::SEARCH_STREAM,
                                m,
                            )
                        })
                        .map(Batch::from)
                        .map_err(Error::from)
                })
            }),
            Source::Pages {
                fetch,
                counted,
                next_token,
                in_flight,
            } => {
                if in_flight.is_none() {
                    if next_token.is_empty() {
                        return Poll::Ready(None);
                    }
                    *in_flight = Some(fetch(std::mem::take(next_token)));
                }
                let Some(page) = in_flight.as_mut() else {
                    return Poll::Ready(None);
                };
                let page = ready!(page.as_mut().poll(cx));
                *in_flight = None;
                if let Ok((message, _)) = &page {
                    log_body::<SearchGoogleAdsResponse>(google_ads_service::SEARCH, message);
                }
                Poll::Ready(Some(page.map(|page| {
                    let (batch, token) = page_batch(page, *counted);
                    *next_token = token;
                    batch
                })))
            }
        }
    }
}

/// At DEBUG, the message as its typed response (decoded again for the log only): rows are
/// kept as received bytes otherwise. Decoded from a slice, as every decode in the crate: a
/// `Bytes` buffer made rustc build every row message's decoder a second time (BENCHMARKS.md).
fn log_body<T: prost::Message + Default + std::fmt::Debug>(path: &str, message: &wire::Message) {
    if crate::layer::bodies::enabled()
        && let Ok(typed) = T::decode(&message.bytes[..])
    {
        crate::layer::bodies::response(path, Some(&message.request_id), &typed);
    }
}

/// The timer of waits for the server: armed when a wait starts, off when a message arrives.
struct Idle {
    limit: Duration,
    sleep: Pin<Box<Sleep>>,
    armed: bool,
}

impl Idle {
    fn new(limit: Duration) -> Self {
        Self {
            limit,
            sleep: Box::pin(tokio::time::sleep_until(Self::deadline(limit))),
            armed: false,
        }
    }

    /// Now plus `limit`; a limit past what the clock holds (Duration::MAX) is thirty years.
    fn deadline(limit: Duration) -> Instant {
        let now = Instant::now();
        now.checked_add(limit)
            .unwrap_or_else(|| now + Duration::from_secs(30 * 365 * 24 * 3600))
    }

    /// Whether the current wait has lasted the limit (starting it if none is running).
    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        if !self.armed {
            self.armed = true;
            self.sleep.as_mut().reset(Self::deadline(self.limit));
        }
        self.sleep.as_mut().poll(cx).is_ready()
    }
}

/// The error of a wait that outlasted `limit`.
pub(super) fn idle_error(limit: Duration) -> Error {
    Error::from(tonic::Status::deadline_exceeded(format!(
        "no message from the server for {limit:?}, the search's idle timeout (client side)"
    )))
}

/// What every stream of a search shares: the source, the idle timer, what was learnt.
pub(super) struct Core {
    source: Source,
    /// A batch received when the search was sent (Search's first page), not yet handed out.
    first: Option<Batch>,
    idle: Idle,
    info: SearchInfo,
}

impl Core {
    pub(super) fn new(source: Source, first: Option<Batch>, idle_timeout: Duration) -> Self {
        let mut info = SearchInfo::default();
        if let Some(batch) = &first {
            info.note(batch);
        }
        Self {
            source,
            first,
            idle: Idle::new(idle_timeout),
            info,
        }
    }

    /// The next batch; errors are the caller's to annotate with its progress.
    fn poll_batch(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Batch, Error>>> {
        if let Some(batch) = self.first.take() {
            return Poll::Ready(Some(Ok(batch)));
        }
        match self.source.poll_next(cx) {
            Poll::Ready(item) => {
                self.idle.armed = false;
                match &item {
                    Some(Ok(batch)) => self.info.note(batch),
                    // An error or the end: the call is over.
                    _ => self.source = Source::Done,
                }
                Poll::Ready(item)
            }
            Poll::Pending if self.idle.expired(cx) => {
                self.source = Source::Done;
                Poll::Ready(Some(Err(idle_error(self.idle.limit))))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The rows of a search, decoded: a `Stream` of `Result<GoogleAdsRow, Error>`. Each message of
/// the call is pulled when its rows are needed and kept undecoded until then; each row is
/// decoded as it is handed out. After an error the stream ends; the error says how many rows
/// came before it ([`Error::rows_delivered`]). Dropping the stream cancels the call.
///
/// [`lazy`](Self::lazy) gives the rows undecoded, to read by path; [`batches`](Self::batches)
/// one server message at a time.
pub struct RowStream {
    rows: LazyRows,
}

impl RowStream {
    pub(super) fn new(core: Core) -> Self {
        Self {
            rows: LazyRows {
                core,
                pending: Batch::default(),
                delivered: 0,
            },
        }
    }

    /// The same rows undecoded, read by path ([`Row::get`]).
    pub fn lazy(self) -> LazyRows {
        self.rows
    }

    /// The rest as batches (rows taken from the current message come first, as one batch).
    pub fn batches(self) -> Batches {
        self.rows.batches()
    }

    /// Rows handed out so far.
    pub fn rows_delivered(&self) -> u64 {
        self.rows.delivered
    }

    /// What the search has told so far besides rows (request id, summary row...).
    pub fn info(&self) -> &SearchInfo {
        &self.rows.core.info
    }

    /// Every remaining row, or the first error (the whole report in memory: for small ones).
    pub async fn collect_all(mut self) -> Result<Vec<GoogleAdsRow>, Error> {
        use futures_util::StreamExt as _;
        let mut rows = Vec::new();
        while let Some(row) = self.next().await {
            rows.push(row?);
        }
        Ok(rows)
    }
}

impl Stream for RowStream {
    type Item = Result<GoogleAdsRow, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let row = match ready!(Pin::new(&mut this.rows).poll_next(cx)) {
            Some(Ok(row)) => row,
            Some(Err(error)) => return Poll::Ready(Some(Err(error))),
            None => return Poll::Ready(None),
        };
        Poll::Ready(Some(row.decode().map_err(|error| {
            this.rows.core.source = Source::Done;
            error.with_rows_delivered(this.rows.delivered - 1)
        })))
    }
}

/// The rows of a search undecoded ([`Row`]), to read by path: a `Stream` of
/// `Result<Row, Error>`, pulled and ended like [`RowStream`].
pub struct LazyRows {
    core: Core,
    /// The current message; its rows from `pending.from` on are still to hand out.
    pending: Batch,
    delivered: u64,
}

impl LazyRows {
    /// Rows handed out so far.
    pub fn rows_delivered(&self) -> u64 {
        self.delivered
    }

    /// What the search has told so far besides rows (request id, summary row...).
    pub fn info(&self) -> &SearchInfo {
        &self.core.info
    }

    /// The rest as batches (rows taken from the current message come first, as one batch).
    pub fn batches(self) -> Batches {
        Batches {
            first: (!self.pending.is_empty()).then(|| self.pending.rest()),
            core: self.core,
            delivered: self.delivered,
        }
    }

    /// Rows of the current message not handed out yet, in bytes: what the client holds for
    /// the caller beyond the row it is reading (at most one message's worth).
    pub fn buffered_bytes(&self) -> usize {
        self.pending.rest_bytes()
    }
}

impl Stream for LazyRows {
    type Item = Result<Row, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if !this.pending.is_empty() {
                let row = this.pending.row(this.pending.from);
                this.pending.from += 1;
                this.delivered += 1;
                return Poll::Ready(Some(Ok(row)));
            }
            // The spent message is freed before the next one is read.
            this.pending = Batch::default();
            match ready!(this.core.poll_batch(cx)) {
                Some(Ok(batch)) => this.pending = batch,
                Some(Err(error)) => {
                    return Poll::Ready(Some(Err(error.with_rows_delivered(this.delivered))));
                }
                None => return Poll::Ready(None),
            }
        }
    }
}

/// A search one message at a time ([`Batch`]: rows undecoded, field mask, summary row,
/// resource consumption): a `Stream` of `Result<Batch, Error>`.
pub struct Batches {
    core: Core,
    first: Option<Batch>,
    delivered: u64,
}

impl Batches {
    /// Rows handed out so far (in batches).
    pub fn rows_delivered(&self) -> u64 {
        self.delivered
    }

    /// What the search has told so far besides rows.
    pub fn info(&self) -> &SearchInfo {
        &self.core.info
    }
}

impl Stream for Batches {
    type Item = Result<Batch, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let item = match this.first.take() {
            Some(batch) => Some(Ok(batch)),
            None => ready!(this.core.poll_batch(cx)),
        };
        Poll::Ready(match item {
            Some(Ok(batch)) => {
                this.delivered += batch.len() as u64;
                Some(Ok(batch))
            }
            Some(Err(error)) => Some(Err(error.with_rows_delivered(this.delivered))),
            None => None,
        })
    }
}

impl std::fmt::Debug for RowStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RowStream")
            .field("rows_delivered", &self.rows.delivered)
            .field("info", &self.rows.core.info)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for LazyRows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LazyRows")
            .field("rows_delivered", &self.delivered)
            .field("info", &self.core.info)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Batches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batches")
            .field("rows_delivered", &self.delivered)
            .field("info", &self.core.info)
            .finish_non_exhaustive()
    }
}
