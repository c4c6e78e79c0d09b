//! Bodies: the request's one message (kept, so a retry can send it again) and the response
//! body watched on its way to tonic (a first frame read ahead, the call's end logged when its
//! trailers pass, a failure in them turned into the call's `Error` once).

use std::pin::Pin;
use std::task::{Context, Poll};

use http_body_util::BodyExt as _;
use hyper::body::Bytes;
use tonic::body::Body;

use super::budget::Permit;
use super::telemetry::{self, CallEnd, Ended};
use crate::Error;

type Frame = http_body::Frame<Bytes>;

/// The body of a request: its one gRPC-framed message, read whole.
pub(super) async fn one_message(body: Body) -> Result<Bytes, tonic::Status> {
    let mut body = std::pin::pin!(body);
    let mut message = Bytes::new();
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
pub(super) struct OneMessage(Option<Bytes>);

impl OneMessage {
    pub(super) fn new(message: Bytes) -> Self {
        Self(Some(message))
    }
}

impl http_body::Body for OneMessage {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame, Self::Error>>> {
        Poll::Ready(self.0.take().map(|data| Ok(Frame::data(data))))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_none()
    }
}

/// tonic's `Status::from_header_map` panics on a `grpc-status-details-bin` that is not
/// base64: such a header from the server is dropped here (the status itself is kept).
pub(super) fn sanitize_status_details(headers: &mut http::HeaderMap) {
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

/// A response body passed through unchanged after an optional first frame read ahead,
/// logging the call's end when its trailers pass and turning failed trailers into the
/// call's `Error` (carried by the status tonic gets).
pub(super) struct Watched {
    first: Option<Frame>,
    inner: Body,
    pub(super) end: Option<CallEnd>,
    /// The call's turn in the quota budget, given back when the answer ends.
    pub(super) permit: Option<Permit>,
}

impl Watched {
    pub(super) fn new(inner: Body) -> Self {
        Self {
            first: None,
            inner,
            end: None,
            permit: None,
        }
    }

    /// Reads the first frame ahead. `Ok(Some(trailers))` when the answer is a failure before
    /// any message (trailers with a non-zero `grpc-status`); otherwise the frame is kept for
    /// the caller.
    pub(super) async fn read_first(&mut self) -> Result<Option<http::HeaderMap>, tonic::Status> {
        match self.inner.frame().await {
            Some(Ok(mut frame)) => {
                if let Some(trailers) = frame.trailers_mut() {
                    sanitize_status_details(trailers);
                    if trailers.get("grpc-status").is_some_and(|c| c != "0") {
                        return Ok(frame.into_trailers().ok());
                    }
                }
                self.first = Some(frame);
                Ok(None)
            }
            Some(Err(status)) => Err(status),
            None => Ok(None),
        }
    }

    /// As a body: the inner one itself when nothing was read ahead and nothing is watched
    /// (no second box).
    pub(super) fn into_body(self) -> Body {
        match (self.first, self.end, self.permit) {
            (None, None, None) => self.inner,
            (first, end, permit) => Body::new(Self {
                first,
                inner: self.inner,
                end,
                permit,
            }),
        }
    }
}

impl http_body::Body for Watched {
    type Data = Bytes;
    type Error = tonic::Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame, Self::Error>>> {
        let polled = match self.first.take() {
            Some(frame) => Poll::Ready(Some(Ok(frame))),
            None => Pin::new(&mut self.inner).poll_frame(cx),
        };
        match polled {
            Poll::Ready(Some(Ok(mut frame))) => {
                let Some(trailers) = frame.trailers_mut() else {
                    return Poll::Ready(Some(Ok(frame)));
                };
                sanitize_status_details(trailers);
                let failed = trailers.get("grpc-status").is_some_and(|c| c != "0");
                let end = self.end.take();
                self.permit = None;
                if !failed {
                    if let Some(end) = end {
                        telemetry::ended(end, Ended::Ok);
                    }
                    return Poll::Ready(Some(Ok(frame)));
                }
                // A failure after the first message: the call's Error, built once here.
                let Some(status) = tonic::Status::from_header_map(trailers) else {
                    return Poll::Ready(Some(Ok(frame)));
                };
                let error = Error::from(status);
                if let Some(end) = end {
                    telemetry::ended(end, Ended::Failed(&error));
                }
                Poll::Ready(Some(Err(error.to_status())))
            }
            Poll::Ready(None) => {
                self.permit = None;
                if let Some(end) = self.end.take() {
                    telemetry::ended(end, Ended::NoStatus);
                }
                Poll::Ready(None)
            }
            Poll::Ready(Some(Err(status))) => {
                self.permit = None;
                if let Some(end) = self.end.take() {
                    telemetry::ended(end, Ended::NoStatus);
                }
                // The connection failed after the first frame: UNAVAILABLE, as before it.
                Poll::Ready(Some(Err(broken_connection(status))))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.first.is_none() && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// A connection that failed under a call: UNAVAILABLE, as gRPC names it, with the cause chain
/// in the message. tonic says UNKNOWN for most transport errors, and CANCELLED when hyper saw
/// the connection close before the answer (the caller cancelled nothing: a dropped call never
/// gets here).
pub(super) fn broken_connection(status: tonic::Status) -> tonic::Status {
    let message = crate::transport::causes(&status);
    let code = match status.code() {
        tonic::Code::Unknown | tonic::Code::Internal | tonic::Code::Cancelled => {
            tonic::Code::Unavailable
        }
        code => code,
    };
    tonic::Status::new(code, format!("connection broken: {message}"))
}
