//! GoogleAdsService.Search and SearchStream: a query's rows from the store (through the GAQL
//! engine, `query.rs`) and from the synthetic source (`synthetic.rs`), pages with tokens,
//! summary rows, `total_results_count` before LIMIT, `query_resource_consumption`, and the
//! stream faults (cut, stall).
//!
//! SearchStream is served by [`GoogleAdsServer`], a wrapper of the generated server that
//! takes that one path and sends messages already encoded ([`Encoded`]): the synthetic
//! source's batches go out as copied bytes, never re-encoded.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};

use bytes::{BufMut, Bytes, BytesMut};
use prost::Message;
use tonic::{Code, Request, Response, Status};

use super::failure::{self, AdsError};
use super::gate::{Entry, Fault};
use super::reflect;
use super::state::{Fake, lock};
use super::store::CustomerData;
use super::synthetic::{self, BATCH, Template};
use crate::latest::common::Metrics;
use crate::latest::enums::summary_row_setting_enum::SummaryRowSetting;
use crate::latest::services::google_ads_service_server::GoogleAdsServiceServer;
use crate::latest::services::{
    GoogleAdsRow, SearchGoogleAdsRequest, SearchGoogleAdsResponse, SearchGoogleAdsStreamRequest,
    SearchGoogleAdsStreamResponse,
};

/// The largest message the fake sends or takes.
pub(crate) const MESSAGE_LIMIT: usize = 64 * 1024 * 1024;

/// The rows a query returns, before paging or batching.
struct Report {
    customer_id: String,
    select: Vec<String>,
    /// Rows from the engine (the store's, and the synthetic ones when the query filters or
    /// sorts), in order.
    rows: Vec<GoogleAdsRow>,
    /// Synthetic rows 0..n served after `rows`, straight from the source.
    synthetic: usize,
    /// Rows the query matched before its LIMIT.
    matched: usize,
}

impl Report {
    fn len(&self) -> usize {
        self.rows.len() + self.synthetic
    }

    /// Row `i` of the report.
    fn row(&self, i: usize) -> GoogleAdsRow {
        match self.rows.get(i) {
            Some(row) => row.clone(),
            None => synthetic::row(&self.customer_id, i - self.rows.len(), &self.select),
        }
    }

    /// The summary row: the selected metrics summed over every row (the real API averages
    /// rates too; the fake sums clicks, impressions and cost).
    fn summary_row(&self) -> GoogleAdsRow {
        let from_source = synthetic::summary(self.synthetic, &self.select);
        let mut sums = (
            from_source.clicks.unwrap_or(0),
            from_source.impressions.unwrap_or(0),
            from_source.cost_micros.unwrap_or(0),
        );
        for metrics in self.rows.iter().filter_map(|row| row.metrics.as_ref()) {
            sums.0 += metrics.clicks.unwrap_or(0);
            sums.1 += metrics.impressions.unwrap_or(0);
            sums.2 += metrics.cost_micros.unwrap_or(0);
        }
        let metrics: Metrics = synthetic::summed(sums, &self.select);
        GoogleAdsRow {
            metrics: Some(Box::new(metrics)),
            ..Default::default()
        }
    }

    /// What serving `rows` rows cost, in the API's unit (the fake's own rule).
    fn consumption(rows: usize) -> i64 {
        (rows / 1000 + 1) as i64
    }
}

impl Fake {
    /// Runs a query for a customer: parse, plan, evaluate over the store and the synthetic
    /// source (straight from the source when the query neither filters nor sorts).
    fn report(&self, entry: &Entry, customer_id: &str, query: &str) -> Result<Report, Status> {
        let plan = super::query::parse(query)
            .and_then(super::query::plan)
            .map_err(|e| failure::status(Code::InvalidArgument, &[e], &entry.request_id))?;
        let synthetic = if plan.query.from == "campaign" {
            lock(&self.0.synthetic_campaigns)
                .get(customer_id)
                .copied()
                .unwrap_or(0)
        } else {
            0
        };
        let direct = plan.passes_all_in_order();
        let select = plan.query.select.clone();
        let (rows, matched) = {
            let store = lock(&self.0.store);
            let empty = CustomerData::default();
            let data = store.get(customer_id).unwrap_or(&empty);
            let engine_rows = if direct { 0 } else { synthetic };
            let row_message = reflect::message(&reflect::full("services.GoogleAdsRow"));
            let generated = (0..engine_rows).map(|i| {
                reflect::to_dynamic(&synthetic::full_row(customer_id, i), row_message.clone())
            });
            super::query::run(&plan, data, generated)
        };
        let rows: Vec<GoogleAdsRow> = rows.iter().map(reflect::to_typed).collect();
        if !direct {
            return Ok(Report {
                customer_id: customer_id.to_owned(),
                select,
                rows,
                synthetic: 0,
                matched,
            });
        }
        let room = plan.query.limit.unwrap_or(usize::MAX) - rows.len();
        Ok(Report {
            customer_id: customer_id.to_owned(),
            select,
            rows,
            synthetic: synthetic.min(room),
            matched: matched + synthetic,
        })
    }

    /// The encoded batch of the customer's synthetic rows for `select`, at least `rows` long
    /// (up to a whole batch), made once.
    fn template(&self, customer_id: &str, select: &[String], rows: usize) -> Arc<Template> {
        let key = (customer_id.to_owned(), select.to_vec());
        let rows = rows.min(BATCH);
        if let Some(template) = lock(&self.0.templates).get(&key)
            && template.rows() >= rows
        {
            return template.clone();
        }
        let template = Arc::new(Template::new(customer_id, select, rows));
        lock(&self.0.templates).insert(key, template.clone());
        template
    }

    pub(crate) async fn search_page(
        &self,
        request: Request<SearchGoogleAdsRequest>,
    ) -> Result<Response<SearchGoogleAdsResponse>, Status> {
        let entry = self
            .enter(&request, Some(&request.get_ref().customer_id))
            .await?;
        let request = request.into_inner();
        let refuse = |error: AdsError| {
            Err(failure::status(
                Code::InvalidArgument,
                &[error],
                &entry.request_id,
            ))
        };
        if request.page_size != 0 {
            return refuse(
                AdsError::new(
                    "request_error",
                    "PAGE_SIZE_NOT_SUPPORTED",
                    "Setting the page size is not supported.",
                )
                .at("page_size"),
            );
        }
        let report = self.report(&entry, &request.customer_id, &request.query)?;
        let settings = request.search_settings.unwrap_or_default();
        let total = report.len();
        let field_mask = Some(prost_types::FieldMask {
            paths: report.select.clone(),
        });
        let count = if settings.return_total_results_count {
            report.matched as i64
        } else {
            0
        };
        // The summary row comes by itself, on a page after the last page of rows.
        if request.page_token == "summary" && settings.return_summary_row {
            let response = SearchGoogleAdsResponse {
                summary_row: Some(report.summary_row()),
                total_results_count: count,
                field_mask,
                query_resource_consumption: 1,
                ..Default::default()
            };
            return self.respond(&entry, response);
        }
        let start = match request.page_token.as_str() {
            "" => 0,
            token => match token
                .strip_prefix("rows-")
                .and_then(|n| n.parse::<usize>().ok())
            {
                Some(n) if n <= total => n,
                _ => {
                    return refuse(
                        AdsError::new(
                            "request_error",
                            "INVALID_PAGE_TOKEN",
                            "Page token is invalid.",
                        )
                        .at("page_token"),
                    );
                }
            },
        };
        let end = total.min(start + BATCH);
        let next_page_token = if end < total {
            format!("rows-{end}")
        } else if settings.return_summary_row {
            "summary".to_owned()
        } else {
            String::new()
        };
        let response = SearchGoogleAdsResponse {
            results: (start..end).map(|i| report.row(i)).collect(),
            next_page_token,
            total_results_count: count,
            field_mask,
            query_resource_consumption: Report::consumption(end - start),
            ..Default::default()
        };
        self.respond(&entry, response)
    }

    /// SearchStream: the messages, encoded, from a task that sends them as the transport
    /// takes them (a channel of one: a client that stops reading stops the task).
    async fn search_stream_encoded(
        &self,
        request: Request<SearchGoogleAdsStreamRequest>,
    ) -> Result<Response<EncodedStream>, Status> {
        let entry = self
            .enter(&request, Some(&request.get_ref().customer_id))
            .await?;
        let request = request.into_inner();
        let report = self.report(&entry, &request.customer_id, &request.query)?;
        let template = (report.synthetic > 0)
            .then(|| self.template(&report.customer_id, &report.select, report.synthetic));
        let setting = request.summary_row_setting;
        let results = setting != SummaryRowSetting::SummaryRowOnly as i32;
        let summary = setting == SummaryRowSetting::SummaryRowWithResults as i32 || !results;
        let (cut, stall) = match entry.late_fault {
            Some(Fault::ResetAfterRows(n)) => (Some(n), false),
            Some(Fault::StallAfterRows(n)) => (Some(n), true),
            _ => (None, false),
        };
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Encoded, Status>>(1);
        let connections = self.0.connections.clone();
        let request_id = entry.request_id.clone();
        tokio::spawn(async move {
            let rows = if results { report.len() } else { 0 };
            let sent_rows = cut.map_or(rows, |n| n.min(rows));
            let plan = Plan::new(&report, sent_rows);
            let tail = Tail::new(&report.select, &request_id);
            for (i, part) in plan.parts.iter().enumerate() {
                let last = i + 1 == plan.parts.len() && cut.is_none();
                let tail = tail.bytes(last.then_some(Report::consumption(rows)));
                let message = match (part, &template) {
                    (Part::Engine(range), _) => {
                        Encoded::Bytes(encode_rows(&report.rows[range.clone()], &tail))
                    }
                    (&Part::Synthetic { batch, rows }, Some(template)) => Encoded::Synthetic {
                        template: template.clone(),
                        batch,
                        rows,
                        tail: tail.into(),
                    },
                    (Part::Synthetic { .. }, None) => Encoded::Bytes(Bytes::new()),
                };
                if tx.send(Ok(message)).await.is_err() {
                    return;
                }
            }
            if cut.is_some() {
                if stall {
                    // Hold the stream open, sending nothing, until the client goes away.
                    tx.closed().await;
                    return;
                }
                // Let the rows already handed over reach the socket, then drop the connection.
                let _ = tx.reserve().await;
                for _ in 0..64 {
                    tokio::task::yield_now().await;
                }
                connections.kill_all();
                return;
            }
            if summary {
                let message = SearchGoogleAdsStreamResponse {
                    summary_row: Some(report.summary_row()),
                    field_mask: Some(prost_types::FieldMask {
                        paths: report.select.clone(),
                    }),
                    request_id: request_id.clone(),
                    query_resource_consumption: 1,
                    ..Default::default()
                };
                let _ = tx
                    .send(Ok(Encoded::Bytes(message.encode_to_vec().into())))
                    .await;
            }
        });
        let state = self.0.clone();
        let stream = futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        });
        // Counted as the transport takes each message: what left the fake, for tests of
        // backpressure.
        let stream = futures_util::StreamExt::map(stream, move |item| {
            if let Ok(message) = &item {
                state
                    .streamed_bytes
                    .fetch_add(message.encoded_len() as u64, Ordering::Relaxed);
            }
            item
        });
        let stream: EncodedStream = Box::pin(stream);
        self.respond(&entry, stream)
    }
}

/// The messages of a stream: runs of engine rows, then synthetic batches.
enum Part {
    Engine(std::ops::Range<usize>),
    Synthetic { batch: usize, rows: usize },
}

struct Plan {
    parts: Vec<Part>,
}

impl Plan {
    /// The messages that carry the first `rows` rows of `report` (one empty message when
    /// there are none, so the field mask and request id still come).
    fn new(report: &Report, rows: usize) -> Self {
        let mut parts = Vec::new();
        let engine = rows.min(report.rows.len());
        for start in (0..engine).step_by(BATCH) {
            parts.push(Part::Engine(start..engine.min(start + BATCH)));
        }
        let synthetic = rows - engine;
        for batch in 0..synthetic.div_ceil(BATCH) {
            parts.push(Part::Synthetic {
                batch,
                rows: (synthetic - batch * BATCH).min(BATCH),
            });
        }
        if parts.is_empty() {
            parts.push(Part::Engine(0..0));
        }
        Self { parts }
    }
}

/// The fields of a stream message after its rows: field mask and request id, encoded once;
/// the consumption in the last message of rows.
struct Tail(Vec<u8>);

impl Tail {
    fn new(select: &[String], request_id: &str) -> Self {
        let message = SearchGoogleAdsStreamResponse {
            field_mask: Some(prost_types::FieldMask {
                paths: select.to_vec(),
            }),
            request_id: request_id.to_owned(),
            ..Default::default()
        };
        Self(message.encode_to_vec())
    }

    fn bytes(&self, consumption: Option<i64>) -> Vec<u8> {
        let mut out = self.0.clone();
        if let Some(consumption) = consumption {
            // query_resource_consumption = 6, varint.
            prost::encoding::int64::encode(6, &consumption, &mut out);
        }
        out
    }
}

/// Rows as the `results` fields of a stream message, then `tail`.
fn encode_rows(rows: &[GoogleAdsRow], tail: &[u8]) -> Bytes {
    let mut out = BytesMut::new();
    for row in rows {
        prost::encoding::message::encode(1, row, &mut out);
    }
    out.put_slice(tail);
    out.freeze()
}

/// A message already encoded, sent as it is: bytes, or a batch of the synthetic source
/// written from its template straight into the transport's buffer.
#[derive(Clone)]
pub(crate) enum Encoded {
    Bytes(Bytes),
    Synthetic {
        template: Arc<Template>,
        batch: usize,
        rows: usize,
        /// The message's fields after its rows.
        tail: Bytes,
    },
}

impl Default for Encoded {
    fn default() -> Self {
        Encoded::Bytes(Bytes::new())
    }
}

impl std::fmt::Debug for Encoded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Encoded({} bytes)", self.encoded_len())
    }
}

impl Message for Encoded {
    fn encode_raw(&self, buf: &mut impl BufMut) {
        match self {
            Encoded::Bytes(bytes) => buf.put_slice(bytes),
            Encoded::Synthetic {
                template,
                batch,
                rows,
                tail,
            } => {
                template.write(*batch, *rows, buf);
                buf.put_slice(tail);
            }
        }
    }

    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: prost::encoding::WireType,
        buf: &mut impl bytes::Buf,
        ctx: prost::encoding::DecodeContext,
    ) -> Result<(), prost::DecodeError> {
        // Never decoded: the fake only sends these.
        prost::encoding::skip_field(wire_type, tag, buf, ctx)
    }

    fn encoded_len(&self) -> usize {
        match self {
            Encoded::Bytes(bytes) => bytes.len(),
            Encoded::Synthetic {
                template,
                rows,
                tail,
                ..
            } => template.len(*rows) + tail.len(),
        }
    }

    fn clear(&mut self) {
        *self = Encoded::default();
    }
}

type EncodedStream =
    Pin<Box<dyn futures_util::Stream<Item = Result<Encoded, Status>> + Send + 'static>>;

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// The GoogleAdsService of the fake: the generated server, with SearchStream taken over to
/// send encoded messages.
#[derive(Clone)]
pub(crate) struct GoogleAdsServer {
    fake: Fake,
    inner: GoogleAdsServiceServer<Fake>,
}

impl GoogleAdsServer {
    pub(crate) fn new(fake: Fake) -> Self {
        let inner = GoogleAdsServiceServer::new(fake.clone())
            .max_decoding_message_size(MESSAGE_LIMIT)
            .max_encoding_message_size(MESSAGE_LIMIT);
        Self { fake, inner }
    }
}

impl tonic::server::NamedService for GoogleAdsServer {
    const NAME: &'static str = <GoogleAdsServiceServer<Fake> as tonic::server::NamedService>::NAME;
}

impl tower::Service<http::Request<tonic::body::Body>> for GoogleAdsServer {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        if !request.uri().path().ends_with("/SearchStream") {
            return Box::pin(self.inner.call(request));
        }
        let handler = StreamHandler(self.fake.clone());
        Box::pin(async move {
            let codec = tonic_prost::ProstCodec::<Encoded, SearchGoogleAdsStreamRequest>::default();
            let mut grpc = tonic::server::Grpc::new(codec)
                .apply_max_message_size_config(Some(MESSAGE_LIMIT), Some(MESSAGE_LIMIT));
            Ok(grpc.server_streaming(handler, request).await)
        })
    }
}

struct StreamHandler(Fake);

impl tonic::server::ServerStreamingService<SearchGoogleAdsStreamRequest> for StreamHandler {
    type Response = Encoded;
    type ResponseStream = EncodedStream;
    type Future = BoxFuture<Result<Response<EncodedStream>, Status>>;

    fn call(&mut self, request: Request<SearchGoogleAdsStreamRequest>) -> Self::Future {
        let fake = self.0.clone();
        Box::pin(async move { fake.search_stream_encoded(request).await })
    }
}
