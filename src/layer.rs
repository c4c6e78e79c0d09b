//! The tower layer under every generated client: `authorization` (awaiting a token refresh
//! when needed, which a sync tonic interceptor cannot), `developer-token`,
//! `login-customer-id`, `linked-customer-id`, `x-goog-api-client`; retries as the
//! [`RetryPolicy`] says; a tracing span and one summary event per call.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use std::fmt;

use http::HeaderValue;
use http_body_util::BodyExt as _;
use tokio::time::Instant;
use tonic::body::Body;
use tower::{Layer, Service, ServiceExt as _};
use tracing::Instrument as _;

use crate::Error;
use crate::auth::TokenCache;
use crate::error::ATTEMPTS_KEY;
use crate::retry::{CallOptions, FailedAttempt, RetryPolicy};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Headers set on every call, computed once.
#[derive(Clone, Debug)]
pub(crate) struct StaticHeaders {
    pub developer_token: Option<HeaderValue>,
    pub login_customer_id: Option<HeaderValue>,
    pub linked_customer_id: Option<HeaderValue>,
    pub api_client: HeaderValue,
}

/// Adds credentials and headers to every call, and retries it as the retry policy says.
#[derive(Clone, Debug)]
pub struct AdsLayer {
    tokens: Arc<TokenCache>,
    headers: Arc<StaticHeaders>,
    policy: Arc<dyn RetryPolicy>,
}

impl AdsLayer {
    pub(crate) fn new(tokens: Arc<TokenCache>, headers: StaticHeaders) -> Self {
        Self {
            tokens,
            headers: Arc::new(headers),
            policy: crate::retry::default_policy(),
        }
    }
}

impl<S> Layer<S> for AdsLayer {
    type Service = AdsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AdsService {
            inner,
            tokens: self.tokens.clone(),
            headers: self.headers.clone(),
            policy: self.policy.clone(),
        }
    }
}

/// The service [`AdsLayer`] makes: what the generated clients of [`crate::GoogleAdsClient`] run on.
#[derive(Clone, Debug)]
pub struct AdsService<S> {
    inner: S,
    tokens: Arc<TokenCache>,
    headers: Arc<StaticHeaders>,
    pub(crate) policy: Arc<dyn RetryPolicy>,
}

/// How one attempt ended.
// Lives on the stack for one attempt; boxing the large variant would allocate on every call.
#[allow(clippy::large_enum_variant)]
enum Attempt {
    /// An answer to hand to the caller: success, or a stream that has started.
    Done(http::response::Parts, Watched),
    /// A failure before any message arrived, which may be retried.
    Failed {
        status: tonic::Status,
        from_server: bool,
        connect_failed: bool,
    },
}

impl Attempt {
    /// The server answered with a failure: it handled, or refused, the request.
    fn answered(status: tonic::Status) -> Self {
        Self::Failed {
            status,
            from_server: true,
            connect_failed: false,
        }
    }

    /// No answer came (a timeout, a connection broken mid-call): the request may have been
    /// handled.
    fn unanswered(status: tonic::Status) -> Self {
        Self::Failed {
            status,
            from_server: false,
            connect_failed: false,
        }
    }

    /// No connection could be made: nothing was sent.
    fn not_sent(status: tonic::Status) -> Self {
        Self::Failed {
            status,
            from_server: false,
            connect_failed: true,
        }
    }
}

impl<S> Service<http::Request<Body>> for AdsService<S>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError> + Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = crate::auth::BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        // The clone that was made ready goes with this call (tower's usual swap).
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let tokens = self.tokens.clone();
        let headers = self.headers.clone();
        let policy = self.policy.clone();
        // Fields are formatted into the span here, from borrowed parts of the path: no
        // allocation per call for them.
        let span = {
            let path = request.uri().path().trim_start_matches('/');
            let (service, method) = path.rsplit_once('/').unwrap_or(("", ""));
            let service = service.rsplit('.').next().unwrap_or_default();
            tracing::info_span!(
                "google_ads.call",
                service = %service,
                method = %method,
                customer_id = tracing::field::Empty,
                request_id = tracing::field::Empty,
                grpc_status = tracing::field::Empty,
                attempts = tracing::field::Empty,
                duration_ms = tracing::field::Empty,
            )
        };
        Box::pin(call_with_retries(inner, tokens, headers, policy, request).instrument(span))
    }
}

/// One call: headers, then attempts until one is done or the policy gives up.
async fn call_with_retries<S>(
    mut inner: S,
    tokens: Arc<TokenCache>,
    headers: Arc<StaticHeaders>,
    policy: Arc<dyn RetryPolicy>,
    request: http::Request<Body>,
) -> Result<http::Response<Body>, S::Error>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError> + Send + 'static,
{
    let started = Instant::now();
    let span = tracing::Span::current();
    let (mut parts, body) = request.into_parts();
    let options = parts.extensions.remove::<CallOptions>().unwrap_or_default();
    let method = parts.uri.path().rsplit('/').next().unwrap_or_default();
    let idempotent = options
        .idempotent
        .unwrap_or_else(|| crate::retry::idempotent_by_name(method));
    let policy = options.policy.unwrap_or(policy);
    // Every request of the API is one message (there is no client streaming): kept, so a
    // failed attempt can be sent again.
    let body = match one_message(body).await {
        Ok(bytes) => bytes,
        Err(status) => return Ok(status.into_http()),
    };
    if let Some(customer_id) = customer_id_of(&body) {
        span.record("customer_id", tracing::field::display(customer_id));
    }
    // What a retry sends again. Copying the whole header map for every call would cost two
    // allocations on the hot path; the caller's own metadata is usually empty (no allocation)
    // and tonic's two headers are static values.
    let resend = Resend::of(&parts.headers);
    set_call_headers(&mut parts.headers, &headers, options.attempt_timeout);
    tracing::debug!(headers = ?Masked(&parts.headers), bytes = body.len(), "request");

    let mut attempt = 0u32;
    let mut refreshed = false;
    loop {
        attempt += 1;
        let authorization = match tokens.authorization().await {
            Ok(value) => value,
            Err(error) => {
                tracing::warn!(error = %error, "no access token");
                let status = tonic::Status::unauthenticated(error.to_string());
                let error = Error::from(status.clone());
                return Ok(give_up(status, error, attempt, started));
            }
        };
        let mut request = http::Request::new(Body::new(OneMessage(Some(body.clone()))));
        *request.method_mut() = parts.method.clone();
        *request.uri_mut() = parts.uri.clone();
        *request.version_mut() = parts.version;
        *request.headers_mut() = if attempt == 1 {
            std::mem::take(&mut parts.headers)
        } else {
            resend.headers(&headers, options.attempt_timeout)
        };
        request.headers_mut().insert("authorization", authorization);

        let run = run_attempt(&mut inner, request, attempt > 1);
        let outcome = match options.attempt_timeout {
            Some(timeout) => tokio::time::timeout(timeout, run)
                .await
                .unwrap_or_else(|_| {
                    Attempt::unanswered(tonic::Status::deadline_exceeded(format!(
                        "no answer within the attempt timeout of {timeout:?} (client side)"
                    )))
                }),
            None => run.await,
        };
        let (status, from_server, connect_failed) = match outcome {
            Attempt::Done(head, body) => return Ok(finished(head, body, attempt, started)),
            Attempt::Failed {
                status,
                from_server,
                connect_failed,
            } => (status, from_server, connect_failed),
        };
        let error = Error::from(status.clone());
        // An expired or invalid token: a fresh one, once, whatever the policy.
        if status.code() == tonic::Code::Unauthenticated
            && !refreshed
            && (error.has_code("authentication_error", "OAUTH_TOKEN_EXPIRED")
                || error.has_code("authentication_error", "OAUTH_TOKEN_INVALID"))
        {
            refreshed = true;
            tokens.invalidate();
            tracing::info!(
                attempt,
                "access token rejected; refreshing it and trying again"
            );
            continue;
        }
        let failed = FailedAttempt {
            error: &error,
            attempt,
            elapsed: started.elapsed(),
            idempotent,
            from_server,
            connect_failed,
        };
        match policy.retry_after(&failed) {
            Some(delay) => {
                tracing::info!(
                    attempt,
                    fault = %Fault(&error),
                    retry_in_ms = delay.as_millis() as u64,
                    "retrying"
                );
                tokio::time::sleep(delay).await;
            }
            None => return Ok(give_up(status, error, attempt, started)),
        }
    }
}

/// Sends one attempt and waits for its first frame: a failure that arrives before any
/// message can still be retried; after one, the answer is the caller's.
async fn run_attempt<S>(inner: &mut S, request: http::Request<Body>, ready_first: bool) -> Attempt
where
    S: Service<http::Request<Body>, Response = http::Response<Body>>,
    S::Error: Into<BoxError>,
{
    let transport = |error: S::Error| {
        let error: BoxError = error.into();
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error.as_ref());
        while let Some(e) = cause {
            if e.is::<tonic::TimeoutExpired>() {
                // tonic's channel enforcing the grpc-timeout this layer sent.
                return Attempt::unanswered(tonic::Status::deadline_exceeded(
                    "no answer within the attempt timeout (client side)",
                ));
            }
            if e.is::<tonic::ConnectError>() {
                return Attempt::not_sent(tonic::Status::unavailable(format!(
                    "cannot connect: {}",
                    causes(error.as_ref())
                )));
            }
            cause = e.source();
        }
        broken_connection(tonic::Status::from_error(error))
    };
    if ready_first && let Err(error) = inner.ready().await {
        return transport(error);
    }
    let response = match inner.call(request).await {
        Ok(response) => response,
        Err(error) => return transport(error),
    };
    let (mut head, body) = response.into_parts();
    sanitize_status_details(&mut head.headers);
    let mut body = Watched::new(body);
    // Trailers-only: the status is in the headers.
    if let Some(code) = head.headers.get("grpc-status") {
        if code == "0" {
            return Attempt::Done(head, body);
        }
        return match tonic::Status::from_header_map(&head.headers) {
            Some(status) => Attempt::answered(status),
            None => Attempt::Done(head, body),
        };
    }
    if head.status != http::StatusCode::OK {
        // Not a gRPC answer (a proxy's page): tonic turns the HTTP status into a code.
        return Attempt::Done(head, body);
    }
    match body.frame().await {
        Some(Ok(frame)) => {
            if let Some(trailers) = frame.trailers_ref()
                && trailers.get("grpc-status").is_some_and(|c| c != "0")
            {
                let mut all = head.headers.clone();
                all.extend(trailers.clone());
                if let Some(status) = tonic::Status::from_header_map(&all) {
                    return Attempt::answered(status);
                }
            }
            body.first = Some(frame);
            Attempt::Done(head, body)
        }
        Some(Err(status)) => broken_connection(status),
        None => Attempt::Done(head, body),
    }
}

/// A connection that failed under a call: UNAVAILABLE, as gRPC names it (tonic says UNKNOWN
/// for most transport errors), with the cause chain in the message.
fn broken_connection(status: tonic::Status) -> Attempt {
    let message = causes(&status);
    let code = match status.code() {
        tonic::Code::Unknown | tonic::Code::Internal => tonic::Code::Unavailable,
        code => code,
    };
    Attempt::unanswered(tonic::Status::new(
        code,
        format!("connection broken: {message}"),
    ))
}

/// The body of a request: its one gRPC-framed message, read whole.
async fn one_message(body: Body) -> Result<hyper::body::Bytes, tonic::Status> {
    let mut body = std::pin::pin!(body);
    let mut message = hyper::body::Bytes::new();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            // One frame in practice; joined if an encoder ever splits one.
            message = if message.is_empty() {
                data
            } else {
                [message, data].concat().into()
            };
        }
    }
    Ok(message)
}

/// A body of one message. Hand-written rather than `http_body_util::Full`: Full reports an
/// exact size, which makes hyper add a `content-length` header gRPC has no use for.
struct OneMessage(Option<hyper::body::Bytes>);

impl http_body::Body for OneMessage {
    type Data = hyper::body::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Poll::Ready(self.0.take().map(|data| Ok(http_body::Frame::data(data))))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_none()
    }
}

/// The request headers a retry needs, kept without copying the map: tonic's `te` and
/// `content-type` (static values) and the caller's metadata.
struct Resend {
    te: Option<HeaderValue>,
    content_type: Option<HeaderValue>,
    metadata: http::HeaderMap,
}

impl Resend {
    fn of(request: &http::HeaderMap) -> Self {
        let te = http::header::TE;
        let content_type = http::header::CONTENT_TYPE;
        Self {
            te: request.get(&te).cloned(),
            content_type: request.get(&content_type).cloned(),
            metadata: request
                .iter()
                .filter(|(name, _)| **name != te && **name != content_type)
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect(),
        }
    }

    fn headers(
        &self,
        statics: &StaticHeaders,
        timeout: Option<std::time::Duration>,
    ) -> http::HeaderMap {
        let mut headers = self.metadata.clone();
        if let Some(te) = &self.te {
            headers.insert(http::header::TE, te.clone());
        }
        if let Some(content_type) = &self.content_type {
            headers.insert(http::header::CONTENT_TYPE, content_type.clone());
        }
        set_call_headers(&mut headers, statics, timeout);
        headers
    }
}

/// An error and its causes, `a: b: c`, each said once (wrappers often repeat their cause).
fn causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message = format!("{message}: {text}");
        }
        source = cause.source();
    }
    message
}

/// What the layer adds to every attempt but the token: the client's headers, and the
/// attempt timeout as `grpc-timeout`.
fn set_call_headers(
    h: &mut http::HeaderMap,
    headers: &StaticHeaders,
    timeout: Option<std::time::Duration>,
) {
    if let Some(v) = &headers.developer_token {
        h.insert("developer-token", v.clone());
    }
    // A login-customer-id set on the request (per-call override) wins.
    if let Some(v) = &headers.login_customer_id
        && !h.contains_key("login-customer-id")
    {
        h.insert("login-customer-id", v.clone());
    }
    if let Some(v) = &headers.linked_customer_id
        && !h.contains_key("linked-customer-id")
    {
        h.insert("linked-customer-id", v.clone());
    }
    h.insert("x-goog-api-client", headers.api_client.clone());
    if let Some(timeout) = timeout {
        h.insert("grpc-timeout", grpc_timeout(timeout));
    }
}

/// `grpc-timeout`: at most 8 digits and a unit.
fn grpc_timeout(timeout: std::time::Duration) -> HeaderValue {
    let millis = timeout.as_millis();
    let value = if millis < 100_000_000 {
        format!("{millis}m")
    } else {
        format!("{}S", timeout.as_secs().min(99_999_999))
    };
    HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static("99999999S"))
}

/// A failure the policy gave up on, as a trailers-only answer the generated client decodes
/// into its `Status` (with the attempt count for [`Error::attempts`]). `error` is the one the
/// loop decoded from `status`: logged as is, not decoded again.
fn give_up(
    status: tonic::Status,
    error: Error,
    attempts: u32,
    started: Instant,
) -> http::Response<Body> {
    let (mut head, body) = status.into_http::<Body>().into_parts();
    if attempts > 1 {
        head.headers
            .insert(ATTEMPTS_KEY, HeaderValue::from(attempts));
    }
    let span = record_head(&head, attempts);
    summary(&span, started, Ended::Failed(error));
    http::Response::from_parts(head, body)
}

/// Records the end of the call: at once for a trailers-only answer, else when the body's
/// trailers pass. Kept cheap on success (no status built, no header copied): every call
/// goes through here.
fn finished(
    head: http::response::Parts,
    mut body: Watched,
    attempts: u32,
    started: Instant,
) -> http::Response<Body> {
    let span = record_head(&head, attempts);
    if head.headers.contains_key("grpc-status") {
        summary(&span, started, Ended::of(&head.headers));
        return http::Response::from_parts(head, body.into_body());
    }
    body.end = Some(CallEnd { span, started });
    http::Response::from_parts(head, Body::new(body))
}

/// The call's span, with the attempt count and the answer's request id recorded.
fn record_head(head: &http::response::Parts, attempts: u32) -> tracing::Span {
    let span = tracing::Span::current();
    span.record("attempts", attempts);
    if let Some(id) = head.headers.get("request-id").and_then(|v| v.to_str().ok()) {
        span.record("request_id", tracing::field::display(id));
    }
    span
}

/// How a call ended, for its summary event.
enum Ended {
    Ok,
    Failed(Error),
    /// The answer ended without a gRPC status (a broken stream).
    NoStatus,
}

impl Ended {
    /// From the headers or trailers holding `grpc-status`; the error is decoded only when the
    /// call failed.
    fn of(status_headers: &http::HeaderMap) -> Self {
        match status_headers.get("grpc-status") {
            Some(code) if code == "0" => Self::Ok,
            Some(_) => tonic::Status::from_header_map(status_headers)
                .map_or(Self::NoStatus, |status| Self::Failed(Error::from(status))),
            None => Self::NoStatus,
        }
    }
}

/// The one summary event per call: INFO when it succeeded, WARN with the fault when not.
/// The fault names codes and field paths only; messages and triggers, which can hold user
/// data, go to the DEBUG detail with PII masked.
fn summary(span: &tracing::Span, started: Instant, ended: Ended) {
    let code = match &ended {
        Ended::Ok => tonic::Code::Ok,
        Ended::Failed(error) => error.code().unwrap_or(tonic::Code::Unknown),
        Ended::NoStatus => tonic::Code::Unknown,
    };
    span.record("grpc_status", code as i32);
    span.record("duration_ms", started.elapsed().as_millis() as u64);
    let _entered = span.enter();
    match ended {
        Ended::Ok => tracing::info!("call succeeded"),
        Ended::Failed(error) => {
            tracing::warn!(fault = %Fault(&error), "call failed");
            tracing::debug!(errors = %MaskedErrors(&error), "call failure detail");
        }
        Ended::NoStatus => tracing::warn!(
            fault = "the answer ended without a gRPC status",
            "call failed"
        ),
    }
}

/// `INVALID_ARGUMENT campaign_error: DUPLICATE_CAMPAIGN_NAME @ mutate_operations[3]...`:
/// codes and paths, nothing a user typed.
struct Fault<'a>(&'a Error);

impl fmt::Display for Fault<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let error = self.0;
        f.write_str(crate::error::code_name(
            error.code().unwrap_or(tonic::Code::Unknown),
        ))?;
        for e in error.errors() {
            match crate::failure::CodeName::of(e) {
                Some(code) => write!(f, " {code}")?,
                None => f.write_str(" unknown_error_code")?,
            }
            let path = crate::failure::FieldPath::of(e);
            if !path.is_empty() {
                write!(f, " @ {path}")?;
            }
        }
        Ok(())
    }
}

/// Each error in full, with the trigger masked when its field holds personal data.
struct MaskedErrors<'a>(&'a Error);

impl fmt::Display for MaskedErrors<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.errors().iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{}", crate::failure::ErrorLine::masked(error))?;
        }
        Ok(())
    }
}

/// Request headers for the DEBUG detail, credentials masked.
struct Masked<'a>(&'a http::HeaderMap);

impl fmt::Debug for Masked<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (name, value) in self.0 {
            if value.is_sensitive() || matches!(name.as_str(), "authorization" | "developer-token")
            {
                map.entry(&name.as_str(), &"****");
            } else {
                map.entry(&name.as_str(), &value.to_str().unwrap_or("<binary>"));
            }
        }
        map.finish()
    }
}

/// tonic's `Status::from_header_map` panics on a `grpc-status-details-bin` that is not
/// base64: such a header from the server is dropped here (the status itself is kept).
fn sanitize_status_details(headers: &mut http::HeaderMap) {
    use base64::Engine as _;
    const KEY: &str = "grpc-status-details-bin";
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    if let Some(value) = headers.get(KEY)
        && engine.decode(value.as_bytes()).is_err()
    {
        tracing::warn!("dropped an undecodable {KEY} header");
        headers.remove(KEY);
    }
}

type Frame = http_body::Frame<hyper::body::Bytes>;

/// What the summary of a call whose status comes in trailers needs when they pass.
struct CallEnd {
    span: tracing::Span,
    started: Instant,
}

impl CallEnd {
    /// `frame` is `None` when the body ended without trailers or failed.
    fn observe(slot: &mut Option<Self>, frame: Option<&Frame>) {
        let trailers = match frame {
            Some(frame) => match frame.trailers_ref() {
                Some(trailers) => Some(trailers),
                None => return,
            },
            None => None,
        };
        let Some(end) = slot.take() else {
            return;
        };
        let ended = trailers.map_or(Ended::NoStatus, Ended::of);
        summary(&end.span, end.started, ended);
    }
}

/// A body passed through unchanged after an optional first frame read ahead (to see whether
/// an attempt failed before its first message), logging the call's end when its trailers
/// pass, and keeping tonic away from undecodable status details.
struct Watched {
    first: Option<Frame>,
    inner: Body,
    end: Option<CallEnd>,
}

impl Watched {
    fn new(inner: Body) -> Self {
        Self {
            first: None,
            inner,
            end: None,
        }
    }

    /// As a body: the inner one itself when nothing was read ahead (no second box).
    fn into_body(self) -> Body {
        match (self.first, self.end) {
            (None, None) => self.inner,
            (first, end) => Body::new(Self {
                first,
                inner: self.inner,
                end,
            }),
        }
    }
}

impl http_body::Body for Watched {
    type Data = hyper::body::Bytes;
    type Error = tonic::Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let mut polled = match self.first.take() {
            Some(frame) => Poll::Ready(Some(Ok(frame))),
            None => Pin::new(&mut self.inner).poll_frame(cx),
        };
        if let Poll::Ready(Some(Ok(frame))) = &mut polled
            && let Some(trailers) = frame.trailers_mut()
        {
            sanitize_status_details(trailers);
        }
        if self.end.is_some() {
            match &polled {
                Poll::Ready(Some(Ok(frame))) => CallEnd::observe(&mut self.end, Some(frame)),
                Poll::Ready(None | Some(Err(_))) => CallEnd::observe(&mut self.end, None),
                Poll::Pending => {}
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.first.is_none() && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// The customer id in the first field of a gRPC-framed request message, if it holds one.
/// Written by hand: a full decode would need the message type, and this is five bytes of
/// framing and one length-delimited field.
fn customer_id_of(frame: &[u8]) -> Option<&str> {
    // gRPC frame: compressed flag, 4-byte length, then the message.
    let message = frame.get(5..)?;
    // Field 1, wire type 2 (length-delimited): tag byte 0x0a.
    if *message.first()? != 0x0a {
        return None;
    }
    let (mut len, mut at) = (0usize, 1);
    for shift in (0..35).step_by(7) {
        let byte = *message.get(at)?;
        at += 1;
        len |= usize::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            break;
        }
    }
    let value = std::str::from_utf8(message.get(at..at.checked_add(len)?)?).ok()?;
    let id = value
        .strip_prefix("customers/")
        .map_or(value, |rest| rest.split('/').next().unwrap_or_default());
    crate::config::is_customer_id(id).then_some(id)
}
