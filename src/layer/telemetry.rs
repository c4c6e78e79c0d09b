//! What a call leaves in traces: the `google_ads.call` span (service, method, customer id,
//! request id, status, attempts, duration), one summary event per call (INFO when it
//! succeeded, WARN with codes and field paths when not), and at DEBUG the request headers with
//! credentials masked and each error with personal data masked.

use std::fmt;
use std::time::Duration;

use tokio::time::Instant;

use super::headers::Masked;
use crate::Error;
use crate::error::failure::{CodeName, ErrorLine, FieldPath};

/// The span of one call. Fields are formatted into it here from borrowed parts of the path:
/// no allocation per call for them.
pub(super) fn call_span(path: &str) -> tracing::Span {
    let path = path.trim_start_matches('/');
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
}

/// Records the customer id the request names (its first field), if it names one.
pub(super) fn record_customer_id(customer_id: Option<crate::CustomerId>) {
    if let Some(customer_id) = customer_id {
        tracing::Span::current().record("customer_id", tracing::field::display(customer_id));
    }
}

/// The DEBUG detail of a request: its headers, credentials masked.
pub(super) fn request_detail(headers: &http::HeaderMap, bytes: usize) {
    tracing::debug!(headers = ?Masked(headers), bytes, "request");
}

/// A failed attempt that will be tried again.
pub(super) fn retrying(error: &Error, attempt: u32, delay: Duration) {
    tracing::info!(
        attempt,
        fault = %Fault(error),
        retry_in_ms = delay.as_millis() as u64,
        "retrying"
    );
}

/// The call failed for good: `error` is the one the attempts built, logged as it is.
pub(super) fn gave_up(error: &Error, attempts: u32, started: Instant) {
    let span = tracing::Span::current();
    span.record("attempts", attempts);
    if let Some(id) = error.request_id() {
        span.record("request_id", tracing::field::display(id));
    }
    summary(&span, started, Ended::Failed(error));
}

/// The end of a call whose status comes in trailers, recorded when they pass.
pub(super) struct CallEnd {
    span: tracing::Span,
    started: Instant,
}

/// Records the answer's attempts and request id on the call's span; the call's end is
/// recorded by [`CallEnd`] (trailers) or at once with [`ended_now`] (trailers-only).
pub(super) fn record_answer(head: &http::response::Parts, attempts: u32) {
    let span = tracing::Span::current();
    span.record("attempts", attempts);
    if let Some(id) = head.headers.get("request-id").and_then(|v| v.to_str().ok()) {
        span.record("request_id", tracing::field::display(id));
    }
}

impl CallEnd {
    /// The end of the current call, to record when its trailers pass.
    pub(super) fn new(started: Instant) -> Self {
        Self {
            span: tracing::Span::current(),
            started,
        }
    }
}

/// Logs the end of the current call now (a trailers-only answer).
pub(super) fn ended_now(started: Instant, ended: Ended<'_>) {
    summary(&tracing::Span::current(), started, ended);
}

/// How a call ended, for its summary event.
pub(super) enum Ended<'a> {
    Ok,
    Failed(&'a Error),
    /// The answer ended without a gRPC status (a broken stream).
    NoStatus,
}

/// Logs the end of a call whose status came in trailers.
pub(super) fn ended(end: CallEnd, ended: Ended<'_>) {
    summary(&end.span, end.started, ended);
}

/// The one summary event per call: INFO when it succeeded, WARN with the fault when not.
/// The fault names codes and field paths only; messages and triggers, which can hold user
/// data, go to the DEBUG detail with PII masked.
fn summary(span: &tracing::Span, started: Instant, ended: Ended<'_>) {
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
            tracing::warn!(fault = %Fault(error), "call failed");
            tracing::debug!(errors = %MaskedErrors(error), "call failure detail");
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
        if let Some(auth) = error.auth_error() {
            let kind = if auth.is_permanent() {
                "permanent"
            } else {
                "transient"
            };
            return write!(f, "no access token ({kind})");
        }
        f.write_str(crate::error::code_name(
            error.code().unwrap_or(tonic::Code::Unknown),
        ))?;
        for e in error.errors() {
            match CodeName::of(e) {
                Some(code) => write!(f, " {code}")?,
                None => f.write_str(" unknown_error_code")?,
            }
            let path = FieldPath::of(e);
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
        if let Some(auth) = self.0.auth_error() {
            // Token errors name the endpoint and the grant's answer, never a secret.
            return write!(f, "{auth}");
        }
        for (i, error) in self.0.errors().iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{}", ErrorLine::masked(error))?;
        }
        Ok(())
    }
}

/// The customer id in the first field of a gRPC-framed request message, if it holds one.
/// Written by hand: a full decode would need the message type, and this is five bytes of
/// framing and one length-delimited field.
pub(super) fn customer_id_of(frame: &[u8]) -> Option<crate::CustomerId> {
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
    crate::CustomerId::parse_str(id)
}
