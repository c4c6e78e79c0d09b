//! What every call passes through before its handler: the call log, scripted faults, and the
//! request checks of the real service (credentials, developer token, customer ids).

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prost::Message;
use tonic::{Code, Status};

use super::failure::{self, AdsError};
use crate::latest::errors::quota_error_details::QuotaRateScope;

/// One call as the fake received it.
#[derive(Clone, Debug)]
pub struct Call {
    /// gRPC path without the leading slash, e.g.
    /// `google.ads.googleads.v26.services.GoogleAdsService/Mutate`.
    pub method: String,
    /// The request's ASCII metadata (headers), in the order received.
    pub metadata: Vec<(String, String)>,
    /// The encoded request message; empty when the fake never decoded it (a method it does not
    /// serve, a request that does not decode).
    pub request: Vec<u8>,
    /// When it came, on tokio's clock, since the fake started (exact under a paused clock).
    /// Every call is logged when it arrives, before any fault or check: a call that lands
    /// late ([`Fault::LandLate`]) has its arrival time here.
    pub at: std::time::Duration,
}

impl Call {
    /// The metadata value of `key`, if sent.
    pub fn header(&self, key: &str) -> Option<&str> {
        self.metadata
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The request decoded as `T`.
    pub fn decode<T: Message + Default>(&self) -> Result<T, prost::DecodeError> {
        T::decode(self.request.as_slice())
    }
}

/// A fault a test scripts for a method.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// Fail with this status code (INTERNAL and DEADLINE_EXCEEDED carry an InternalError
    /// failure; UNAVAILABLE, like the real front end, carries none).
    Status(Code),
    /// RESOURCE_EXHAUSTED with a QuotaError and `retry_delay` in its QuotaErrorDetails:
    /// RESOURCE_TEMPORARILY_EXHAUSTED (account scope) or, with `developer`, RESOURCE_EXHAUSTED
    /// (developer scope).
    Quota {
        /// What QuotaErrorDetails.retry_delay says.
        retry_delay: Duration,
        /// Developer-token scope (daily quota) rather than account scope (rate).
        developer: bool,
    },
    /// Wait this long (on tokio's clock), then handle the call normally.
    Latency(Duration),
    /// Drop every open connection before handling the call: the request is lost.
    ResetBeforeHandling,
    /// Handle the call (its changes commit), then drop every connection: the response is lost.
    ResetAfterHandling,
    /// Handle the call (its changes commit), then its connection goes silent: nothing more
    /// crosses it either way and nobody closes it, as when a NAT or load balancer on the path
    /// forgets the flow. Only the client's HTTP/2 keep-alive can tell (a ping after 30 s with
    /// nothing received, 10 s for its answer), so the call fails as a broken connection 40 s
    /// later, with the answer lost. Over a loopback socket the fake cannot go silent (the
    /// kernel answers for it), so there the call's connection is dropped instead. Reach the
    /// fake over [`FakeServer::in_memory_channel`](crate::fake::FakeServer::in_memory_channel)
    /// to see the silence.
    SilenceAfterHandling,
    /// For streams: send this many rows, then drop every connection.
    ResetAfterRows(usize),
    /// For streams: send this many rows, then nothing more, holding the stream open until the
    /// client goes away (a stalled report).
    StallAfterRows(usize),
    /// UNAVAILABLE with a `grpc-status-details-bin` header that is not base64, as a broken
    /// proxy might send (tonic's own decoder panics on it).
    CorruptStatusDetails,
    /// Fail with `code` and one GoogleAdsError of this code (`category`, e.g.
    /// `batch_job_error`, and `name`, e.g. `INVALID_SEQUENCE_TOKEN`), before handling.
    AdsError {
        /// The gRPC code.
        code: Code,
        /// The ErrorCode member, e.g. `batch_job_error`.
        category: &'static str,
        /// The enum value's name, e.g. `INVALID_SEQUENCE_TOKEN`.
        name: &'static str,
    },
    /// For mutates with partial failure: handle the call, then send a `partial_failure_error`
    /// whose GoogleAdsFailure details do not decode (code and message kept), so no error can
    /// be matched to its operation.
    CorruptPartialFailure,
    /// The call lands late: it is checked when it arrives (credentials, developer token,
    /// customer; for AddBatchJobOperations also the job and the sequence token) and, when a
    /// check fails, answered with that failure at once. Otherwise the client's connection is
    /// dropped, so it gets no answer (to the client it looks like
    /// [`ResetBeforeHandling`](Self::ResetBeforeHandling)), and the request is applied this
    /// much later on tokio's clock, as if it had been stuck in the front end; whatever it
    /// answers then goes nowhere.
    ///
    /// A late AddBatchJobOperations with a sequence token is checked again when it lands
    /// (the server checks the token of the call it applies): if the client has since sent
    /// that chunk again, the late one is stale and dropped. A first, token-less upload has
    /// no token to check: landing after the client (seeing the job still empty) sent it
    /// again, it leaves the job holding those operations twice, and the job's
    /// `next_add_sequence_token` moves on once more. At landing the job must still exist and
    /// be PENDING, else the late operations are dropped. Every other method runs its own
    /// checks (a job's state...) when it lands.
    LandLate(Duration),
    /// For ListBatchJobResults: the page answered starts with the last result of the previous
    /// page again (an `operation_index` lower than one already delivered), then goes on as
    /// asked. No effect on a first page.
    RepeatResults,
    /// For ListBatchJobResults: the first result of the page answered carries this
    /// `operation_index` instead of its own (e.g. 10^12, far past the job's operations).
    BogusResultIndex(i64),
}

/// What a token verifier says of a bearer token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenCheck {
    /// Accepted.
    Valid,
    /// OAUTH_TOKEN_INVALID.
    Invalid,
    /// OAUTH_TOKEN_EXPIRED.
    Expired,
    /// OAUTH_TOKEN_REVOKED.
    Revoked,
}

/// Decides whether an access token is good; by default every non-empty token is.
pub type TokenVerifier = Arc<dyn Fn(&str) -> TokenCheck + Send + Sync>;

#[derive(Clone, Default)]
pub(crate) struct Faults {
    /// What is scripted, in order: the first plan of the call's customer whose suffix matches
    /// fires, else the first such plan for every customer, so scripts read top to bottom.
    plans: Vec<Plan>,
    /// (method suffix, fault, fraction of calls), drawn from `rng` after the plans.
    sometimes: Vec<(String, Fault, f64)>,
    rng: u64,
}

#[derive(Clone)]
struct Plan {
    /// Only calls of this customer; `None` for every call.
    customer: Option<String>,
    suffix: String,
    fault: Fault,
    /// Uses left; `None` = forever.
    times: Option<usize>,
}

impl Fault {
    /// PERMISSION_DENIED with `authorization_error: USER_PERMISSION_DENIED`, as the API answers
    /// for an account the credentials lost access to.
    pub fn user_permission_denied() -> Fault {
        Fault::AdsError {
            code: Code::PermissionDenied,
            category: "authorization_error",
            name: "USER_PERMISSION_DENIED",
        }
    }
}

impl Faults {
    pub fn add(&mut self, method: &str, fault: Fault, times: Option<usize>) {
        self.add_for(None, method, fault, times);
    }

    /// Like [`add`](Self::add), firing only on calls of `customer` (when given).
    pub fn add_for(
        &mut self,
        customer: Option<&str>,
        method: &str,
        fault: Fault,
        times: Option<usize>,
    ) {
        if times == Some(0) {
            return;
        }
        self.plans.push(Plan {
            customer: customer.map(str::to_owned),
            suffix: method.trim_start_matches('/').to_owned(),
            fault,
            times,
        });
    }

    /// Fires `fault` on about `fraction` of the calls of `method`, drawn from a generator
    /// seeded with `seed` (the same seed, the same calls).
    pub fn add_sometimes(&mut self, method: &str, fault: Fault, fraction: f64, seed: u64) {
        self.sometimes
            .push((method.trim_start_matches('/').to_owned(), fault, fraction));
        self.rng = seed | 1;
    }

    /// The next fault for `method` (a full gRPC path) of `customer` (the request's customer,
    /// when it names one), consuming one use of it: the customer's own plans first.
    pub fn next(&mut self, method: &str, customer: Option<&str>) -> Option<Fault> {
        let matches = |plan: &Plan| method.ends_with(plan.suffix.as_str());
        let own = customer.and_then(|customer| {
            self.plans
                .iter()
                .position(|p| p.customer.as_deref() == Some(customer) && matches(p))
        });
        let Some(index) = own.or_else(|| {
            self.plans
                .iter()
                .position(|p| p.customer.is_none() && matches(p))
        }) else {
            return self.draw(method);
        };
        let plan = &mut self.plans[index];
        let fault = plan.fault.clone();
        match &mut plan.times {
            Some(1) => {
                self.plans.remove(index);
            }
            Some(n) => *n -= 1,
            None => {}
        }
        Some(fault)
    }
}

impl Faults {
    /// A fault of `sometimes` for `method`, if the draw says so.
    fn draw(&mut self, method: &str) -> Option<Fault> {
        let (_, fault, fraction) = self
            .sometimes
            .iter()
            .find(|(suffix, _, _)| method.ends_with(suffix.as_str()))?;
        // xorshift64: a test's faults reproduce from its seed.
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let draw = (self.rng >> 11) as f64 / (1u64 << 53) as f64;
        (draw < *fraction).then(|| fault.clone())
    }
}

pub(crate) struct GateConfig {
    pub customers: Vec<String>,
    pub developer_token: Option<String>,
    pub require_login_customer_id: bool,
    pub verifier: TokenVerifier,
}

/// What a handler learns from the gate.
pub(crate) struct Entry {
    pub request_id: String,
    /// A fault the handler itself must act on (resets after handling, mid-stream, results
    /// pages, a late landing the handler checks itself).
    pub late_fault: Option<Fault>,
    /// The client's address, to drop its connection alone.
    pub peer: Option<std::net::SocketAddr>,
    /// Set to let the handler outlive its connection (see [`Arrival`]).
    pub detached: Option<Arc<AtomicBool>>,
}

/// What the fake's front layer gives each call as it arrives: its place in the call log, and
/// the flag a late landing sets so that its handler outlives the connection.
#[derive(Clone)]
pub(crate) struct Arrival {
    pub index: usize,
    pub detached: Arc<AtomicBool>,
}

/// Logs a call as it arrives (method, ASCII metadata, time; the request once a handler has
/// decoded it): every call is in the log, served or not. Returns its index.
pub(crate) fn arrive(
    calls: &Mutex<Vec<Call>>,
    started: tokio::time::Instant,
    method: String,
    headers: &http::HeaderMap,
) -> usize {
    let metadata = headers
        .iter()
        .filter(|(k, _)| !k.as_str().ends_with("-bin"))
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                v.to_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let call = Call {
        method,
        metadata,
        request: Vec::new(),
        at: started.elapsed(),
    };
    let mut calls = calls.lock().unwrap_or_else(|e| e.into_inner());
    calls.push(call);
    calls.len() - 1
}

/// Puts the decoded request into the call's log entry (made by [`arrive`]), and returns the
/// call's method.
pub(crate) fn record<T: Message>(
    calls: &Mutex<Vec<Call>>,
    started: tokio::time::Instant,
    request: &tonic::Request<T>,
) -> String {
    let encoded = request.get_ref().encode_to_vec();
    let mut calls = calls.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(arrival) = request.extensions().get::<Arrival>()
        && let Some(call) = calls.get_mut(arrival.index)
    {
        call.request = encoded;
        return call.method.clone();
    }
    // Not through the front layer (never so in the fake's server): logged now.
    let method = request
        .extensions()
        .get::<MethodPath>()
        .map(|m| m.0.clone())
        .unwrap_or_default();
    let metadata = request
        .metadata()
        .iter()
        .filter_map(|kv| match kv {
            tonic::metadata::KeyAndValueRef::Ascii(k, v) => Some((
                k.as_str().to_owned(),
                v.to_str().unwrap_or_default().to_owned(),
            )),
            tonic::metadata::KeyAndValueRef::Binary(..) => None,
        })
        .collect();
    calls.push(Call {
        method: method.clone(),
        metadata,
        request: encoded,
        at: started.elapsed(),
    });
    method
}

/// The status a fault fails a call with, or None for faults that do not fail it here.
pub(crate) fn fault_status(fault: &Fault, request_id: &str) -> Option<Status> {
    match fault {
        Fault::Status(Code::Unavailable) => {
            let mut status = Status::unavailable("The service is currently unavailable.");
            if let Ok(v) = request_id.parse() {
                status.metadata_mut().insert("request-id", v);
            }
            Some(status)
        }
        Fault::CorruptStatusDetails => {
            let mut headers = http::HeaderMap::new();
            headers.insert(
                "grpc-status-details-bin",
                http::HeaderValue::from_static("%%% not base64 %%%"),
            );
            if let Ok(v) = request_id.parse() {
                headers.insert("request-id", v);
            }
            Some(Status::with_metadata(
                Code::Unavailable,
                "The service is currently unavailable.",
                tonic::metadata::MetadataMap::from_headers(headers),
            ))
        }
        Fault::Status(code @ Code::DeadlineExceeded) => Some(failure::status(
            *code,
            &[AdsError::new(
                "internal_error",
                "DEADLINE_EXCEEDED",
                "The request took longer than the deadline.",
            )],
            request_id,
        )),
        Fault::Status(code @ Code::ResourceExhausted) => Some(failure::status(
            *code,
            &[AdsError::new(
                "quota_error",
                "RESOURCE_EXHAUSTED",
                "Too many requests.",
            )],
            request_id,
        )),
        Fault::AdsError {
            code,
            category,
            name,
        } => Some(failure::status(
            *code,
            &[AdsError::new(
                category,
                name,
                "A fault scripted on the fake.",
            )],
            request_id,
        )),
        Fault::Status(code) => Some(failure::status(
            *code,
            &[AdsError::new(
                "internal_error",
                "INTERNAL_ERROR",
                "An internal error has occurred.",
            )],
            request_id,
        )),
        Fault::Quota {
            retry_delay,
            developer,
        } => {
            let (name, scope) = if *developer {
                ("RESOURCE_EXHAUSTED", QuotaRateScope::Developer)
            } else {
                ("RESOURCE_TEMPORARILY_EXHAUSTED", QuotaRateScope::Account)
            };
            Some(super::quota::quota_status(
                name,
                scope,
                "Number of operations for basic access",
                *retry_delay,
                request_id,
            ))
        }
        _ => None,
    }
}

/// The request checks of the real service, in its order: credentials, developer token,
/// login-customer-id, the customer id.
pub(crate) fn check<T>(
    config: &GateConfig,
    request: &tonic::Request<T>,
    customer_id: Option<&str>,
    request_id: &str,
) -> Result<(), Status> {
    let header = |key: &str| {
        request
            .metadata()
            .get(key)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let fail = |code, field, name, message: &str| {
        Err(failure::status(
            code,
            &[AdsError::new(field, name, message)],
            request_id,
        ))
    };
    let token = match header("authorization").and_then(|v| v.strip_prefix("Bearer ")) {
        Some(token) if !token.trim().is_empty() => token.trim(),
        _ => {
            return fail(
                Code::Unauthenticated,
                "authentication_error",
                "OAUTH_TOKEN_HEADER_INVALID",
                "Oauth token HTTP header is malformed.",
            );
        }
    };
    match (config.verifier)(token) {
        TokenCheck::Valid => {}
        TokenCheck::Invalid => {
            return fail(
                Code::Unauthenticated,
                "authentication_error",
                "OAUTH_TOKEN_INVALID",
                "Oauth token is invalid.",
            );
        }
        TokenCheck::Expired => {
            return fail(
                Code::Unauthenticated,
                "authentication_error",
                "OAUTH_TOKEN_EXPIRED",
                "Oauth token is expired.",
            );
        }
        TokenCheck::Revoked => {
            return fail(
                Code::Unauthenticated,
                "authentication_error",
                "OAUTH_TOKEN_REVOKED",
                "Oauth token is revoked.",
            );
        }
    }
    match (header("developer-token"), &config.developer_token) {
        (None | Some(""), _) => {
            return fail(
                Code::InvalidArgument,
                "request_error",
                "DEVELOPER_TOKEN_PARAMETER_MISSING",
                "Developer token is missing in the request header.",
            );
        }
        (Some(sent), Some(expected)) if sent != expected => {
            return fail(
                Code::PermissionDenied,
                "authorization_error",
                "AUTHORIZATION_ERROR",
                "The developer token is not approved.",
            );
        }
        _ => {}
    }
    match header("login-customer-id") {
        None | Some("") if config.require_login_customer_id => {
            return fail(
                Code::InvalidArgument,
                "request_error",
                "LOGIN_CUSTOMER_ID_PARAMETER_MISSING",
                "The login-customer-id header is required for this account.",
            );
        }
        Some(id) if !id.is_empty() && !is_customer_id(id) => {
            return fail(
                Code::InvalidArgument,
                "authentication_error",
                "CLIENT_CUSTOMER_ID_INVALID",
                "login-customer-id is malformed.",
            );
        }
        _ => {}
    }
    if let Some(id) = customer_id {
        if !is_customer_id(id) {
            return fail(
                Code::InvalidArgument,
                "request_error",
                "INVALID_CUSTOMER_ID",
                "The customer id is not 10 digits.",
            );
        }
        if !config.customers.iter().any(|c| c == id) {
            return fail(
                Code::PermissionDenied,
                "authorization_error",
                "USER_PERMISSION_DENIED",
                "User doesn't have permission to access customer.",
            );
        }
    }
    Ok(())
}

/// The API's rule, the crate's one copy of it.
pub(crate) fn is_customer_id(id: &str) -> bool {
    crate::CustomerId::parse_str(id).is_some()
}

/// The gRPC path of a call (`package.Service/Method`), put in each request's extensions by
/// the front layer, since tonic hands handlers no URI.
#[derive(Clone, Debug)]
pub(crate) struct MethodPath(pub String);
