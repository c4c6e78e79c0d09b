//! One call as a series of attempts: each gets the headers and a token, is sent, and is read up
//! to its first frame (a failure before any message can still be retried; after one, the
//! answer is the caller's). The retry policy decides what a failed attempt leads to.

use crate::latest::errors::authentication_error_enum::AuthenticationError;
use crate::latest::errors::error_code::ErrorCode;
use std::sync::Arc;

use tokio::time::Instant;
use tonic::body::Body;
use tower::{Service, ServiceExt as _};

use super::body::{self, OneMessage, Watched};
use super::budget::Budget;
use super::headers::{self, Resend, StaticHeaders};
use super::retry::{self, Failure as Failed, RetryLoop, RetryObserver, RetryPolicy, Retrying};
use super::{BoxError, CallOptions, telemetry};
use crate::Error;
use crate::auth::TokenCache;

/// What a call needs from the layer.
pub(super) struct Call {
    pub tokens: Arc<TokenCache>,
    pub headers: Arc<StaticHeaders>,
    pub policy: Arc<dyn RetryPolicy>,
    pub on_retry: Option<RetryObserver>,
    /// Set once an answer carries the fake's mark (`GoogleAdsClient::answered_as_fake`).
    pub fake_seen: Arc<std::sync::atomic::AtomicBool>,
    /// The client's quota budget, unless turned off.
    pub budget: Option<Arc<Budget>>,
}

/// The header every answer of this crate's fake carries (`fake::FAKE_HEADER`); the real API
/// never sends it.
pub(crate) const FAKE_MARK: &str = "x-google-ads-fake";

/// How one attempt ended.
// Lives on the stack for one attempt; boxing the large variant would allocate on every call.
#[allow(clippy::large_enum_variant)]
enum Attempt {
    /// An answer to hand to the caller: success, or a stream that has started.
    Done(http::response::Parts, Watched),
    /// A failure before any message arrived, which may be retried.
    Failed(Failed),
}

impl Call {
    /// Attempts until one is done or the policy gives up; the `Error` of a failed call is
    /// built here, once per failed attempt, and returned as it is.
    pub(super) async fn run<S>(
        self,
        mut inner: S,
        request: http::Request<Body>,
    ) -> Result<http::Response<Body>, Error>
    where
        S: Service<http::Request<Body>, Response = http::Response<Body>> + Send,
        S::Error: Into<BoxError>,
    {
        let (mut parts, body) = request.into_parts();
        let options = parts.extensions.remove::<CallOptions>().unwrap_or_default();
        let method = parts.uri.path().rsplit('/').next().unwrap_or_default();
        let idempotent = options
            .idempotent
            .unwrap_or_else(|| retry::idempotent_by_name(method));
        let policy = options.policy.clone().unwrap_or(self.policy);
        let on_retry = options.on_retry.clone().or(self.on_retry);
        // Every request of the API is one message (there is no client streaming): kept, so a
        // failed attempt can be sent again.
        let body = body::one_message(body).await.map_err(Error::from)?;
        let customer = telemetry::customer_id_of(&body);
        telemetry::record_customer_id(customer);
        // What a retry sends again. Copying the whole header map for every call would cost two
        // allocations on the hot path; the caller's own metadata is usually empty (no
        // allocation) and tonic's two headers are static values.
        let resend = Resend::of(&parts.headers);
        headers::set_call_headers(&mut parts.headers, &self.headers, &options);
        telemetry::request_detail(&parts.headers, body.len());

        // The policy decides, the loop counts and sizes the waits (retry::RetryLoop).
        let mut attempts = RetryLoop::new(policy.as_ref(), idempotent);
        let started = attempts.started();
        let mut refreshed = false;
        loop {
            let attempt = attempts.next_attempt();
            // The budget's turn comes before the attempt's timeout starts: a call waiting its
            // turn has not started.
            let permit = match &self.budget {
                Some(budget) => match budget.admit(customer).await {
                    Ok(permit) => Some(permit),
                    Err(error) => {
                        telemetry::gave_up(&error, attempt, started);
                        return Err(error);
                    }
                },
                None => None,
            };
            // The attempt's timeout covers the wait for a token too: a token endpoint that
            // never answers ends the attempt like a server that never answers.
            let deadline = options
                .attempt_timeout
                .map(|timeout| (tokio::time::Instant::now() + timeout, timeout));
            let authorization = match deadline {
                Some((at, timeout)) => tokio::time::timeout_at(at, self.tokens.authorization())
                    .await
                    .unwrap_or_else(|_| {
                        Err(crate::auth::AuthError::transient(format!(
                            "no access token within the attempt timeout of {timeout:?}"
                        )))
                    }),
                None => self.tokens.authorization().await,
            };
            let mut failed = match authorization {
                Err(error) => Failed::not_sent(Error::from(error)),
                Ok(authorization) => {
                    let mut request = http::Request::new(Body::new(OneMessage::new(body.clone())));
                    *request.method_mut() = parts.method.clone();
                    *request.uri_mut() = parts.uri.clone();
                    *request.version_mut() = parts.version;
                    *request.headers_mut() = if attempt == 1 {
                        std::mem::take(&mut parts.headers)
                    } else {
                        resend.headers(&self.headers, &options)
                    };
                    request.headers_mut().insert("authorization", authorization);
                    let run = send(&mut inner, request, attempt > 1);
                    let outcome = match deadline {
                        Some((at, timeout)) => tokio::time::timeout_at(at, run)
                            .await
                            .unwrap_or_else(|_| {
                                Attempt::Failed(Failed::unanswered(Error::from(
                                    tonic::Status::deadline_exceeded(format!(
                                        "no answer within the attempt timeout of {timeout:?} (client side)"
                                    )),
                                )))
                            }),
                        None => run.await,
                    };
                    match outcome {
                        Attempt::Done(head, mut body) => {
                            if head.headers.contains_key(FAKE_MARK) {
                                self.fake_seen
                                    .store(true, std::sync::atomic::Ordering::Relaxed);
                            }
                            // In flight until the answer's last message is read.
                            body.permit = permit;
                            return Ok(finished(head, body, attempt, started));
                        }
                        Attempt::Failed(failed) => failed,
                    }
                }
            };
            drop(permit);
            if let Some(budget) = &self.budget
                && let Some(resets_at) =
                    budget.note_failure(customer, &failed.error, policy.server_delay_cap())
            {
                failed.error = failed.error.with_quota_reset(resets_at);
            }
            let error = &failed.error;
            // An expired or invalid token: a fresh one, once, whatever the policy.
            if error.code() == Some(tonic::Code::Unauthenticated)
                && !refreshed
                && (error.has_error_code(ErrorCode::AuthenticationError(
                    AuthenticationError::OauthTokenExpired.into(),
                )) || error.has_error_code(ErrorCode::AuthenticationError(
                    AuthenticationError::OauthTokenInvalid.into(),
                )))
            {
                refreshed = true;
                self.tokens.invalidate();
                tracing::info!(
                    attempt,
                    "access token rejected; refreshing it and trying again"
                );
                continue;
            }
            match attempts.decide(&failed) {
                Ok(delay) => {
                    telemetry::retrying(error, attempt, delay);
                    if let Some(observer) = &on_retry {
                        observer.notify(&Retrying {
                            method: &short_method(parts.uri.path()),
                            attempt,
                            error,
                            delay,
                        });
                    }
                    tokio::time::sleep(delay).await;
                }
                Err(error) => {
                    telemetry::gave_up(&error, attempt, started);
                    return Err(error);
                }
            }
        }
    }
}

/// `Service/Method` of a gRPC path (`/google.ads.googleads.v26.services.Service/Method`).
fn short_method(path: &str) -> String {
    let path = path.trim_start_matches('/');
    match path.rsplit_once('/') {
        Some((service, method)) => {
            format!("{}/{method}", service.rsplit('.').next().unwrap_or(service))
        }
        None => path.to_owned(),
    }
}

/// The answer handed to the caller, its end recorded: at once for a trailers-only answer,
/// else when the body's trailers pass. Kept cheap on success (no status built, no header
/// copied): every call goes through here.
fn finished(
    head: http::response::Parts,
    mut body: Watched,
    attempts: u32,
    started: Instant,
) -> http::Response<Body> {
    telemetry::record_answer(&head, attempts);
    if head.headers.contains_key("grpc-status") {
        // A trailers-only success (failures before any message are the attempts' business).
        telemetry::ended_now(started, telemetry::Ended::Ok);
    } else {
        // No header is copied here (not even the request id, for an error in the trailers:
        // the failure carries its own): a shared buffer's reference count touched on every
        // call costs 3-5% at p50 with 64 callers (BENCHMARKS.md).
        body.end = Some(telemetry::CallEnd::new(started));
    }
    http::Response::from_parts(head, body.into_body())
}

/// Sends one attempt and waits for its first frame.
async fn send<S>(inner: &mut S, request: http::Request<Body>, ready_first: bool) -> Attempt
where
    S: Service<http::Request<Body>, Response = http::Response<Body>>,
    S::Error: Into<BoxError>,
{
    if ready_first && let Err(error) = inner.ready().await {
        return transport_failure(error.into());
    }
    let response = match inner.call(request).await {
        Ok(response) => response,
        Err(error) => return transport_failure(error.into()),
    };
    let (mut head, body) = response.into_parts();
    body::sanitize_status_details(&mut head.headers);
    let mut body = Watched::new(body);
    // Trailers-only: the status is in the headers.
    if let Some(code) = head.headers.get("grpc-status") {
        if code == "0" {
            return Attempt::Done(head, body);
        }
        return match tonic::Status::from_header_map(&head.headers) {
            Some(status) => Attempt::Failed(Failed::answered(Error::from(status))),
            None => Attempt::Done(head, body),
        };
    }
    if head.status != http::StatusCode::OK {
        // Not a gRPC answer (a proxy's page): tonic turns the HTTP status into a code.
        return Attempt::Done(head, body);
    }
    match body.read_first().await {
        Ok(Some(trailers)) => {
            let mut all = head.headers.clone();
            all.extend(trailers);
            match tonic::Status::from_header_map(&all) {
                Some(status) => Attempt::Failed(Failed::answered(Error::from(status))),
                None => Attempt::Done(head, body),
            }
        }
        Ok(None) => Attempt::Done(head, body),
        Err(status) => Attempt::Failed(Failed::unanswered(Error::from(body::broken_connection(
            status,
        )))),
    }
}

/// What a transport error means for the attempt: tonic's own timeout (the grpc-timeout this
/// layer sent) is DEADLINE_EXCEEDED, a failed connect sent nothing, anything else broke the
/// connection under the call.
fn transport_failure(error: BoxError) -> Attempt {
    let deadline = || {
        Attempt::Failed(Failed::unanswered(Error::from(
            tonic::Status::deadline_exceeded("no answer within the attempt timeout (client side)"),
        )))
    };
    if error.is::<tonic::TimeoutExpired>() {
        return deadline();
    }
    // A proxy's refusal lies under the connect error that carries it, and wins over it: the
    // proxy answered and said no (a password, a forbidden host), and the same request gets
    // the same answer, so it is said once, not retried.
    if let Some(refusal) = crate::transport::ProxyError::refusal_in(error.as_ref()) {
        return Attempt::Failed(Failed::not_sent(Error::from(
            crate::transport::TransportError(refusal.to_string()),
        )));
    }
    for e in crate::transport::chain(error.as_ref()) {
        if e.is::<tonic::TimeoutExpired>() {
            return deadline();
        }
        if e.is::<tonic::ConnectError>() {
            return Attempt::Failed(Failed::not_sent(Error::from(tonic::Status::unavailable(
                format!(
                    "cannot connect: {}",
                    crate::transport::causes(error.as_ref())
                ),
            ))));
        }
    }
    Attempt::Failed(Failed::unanswered(Error::from(body::broken_connection(
        tonic::Status::from_error(error),
    ))))
}
