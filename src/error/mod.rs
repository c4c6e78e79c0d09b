//! [`Error`]: the one error type of the crate, with predicates that say what to do about it;
//! [`failure`]: reading and naming a GoogleAdsFailure; [`partial_failure`]: errors mapped to
//! the operations that caused them.
//!
//! Owns: what went wrong and how it reads. Does not own: deciding to retry (`layer::retry`)
//! or where failures come from (the layer builds each call's `Error` once, when the call
//! fails, and the service handles hand it over as is).
//!
//! ```
//! # async fn demo(client: google_ads::GoogleAdsClient) -> Result<(), Box<dyn std::error::Error>> {
//! use google_ads::latest::services::ListAccessibleCustomersRequest;
//! // `?` keeps the decoded failure: printing the error shows codes, field paths, request id.
//! let customers = client.customer().list_accessible_customers(ListAccessibleCustomersRequest {}).await?;
//! # Ok(()) }
//! ```

pub mod failure;
pub mod partial_failure;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use prost::Message as _;

use crate::auth::AuthError;
use crate::config::ConfigError;
use crate::customer_id::CustomerIdError;
use crate::latest::errors::error_code::ErrorCode;
use crate::latest::errors::internal_error_enum::InternalError;
use crate::latest::errors::{GoogleAdsError, GoogleAdsFailure};
use crate::resource_name::ResourceNameError;
use crate::transport::TransportError;
use failure::ErrorLine;

/// An error from this crate: a failed call (with its decoded GoogleAdsFailure, attempts and
/// request id), or a configuration, credential, transport or input problem found before any
/// call. Cheap to clone.
#[derive(Clone)]
pub struct Error(Arc<Repr>);

#[derive(Clone)]
struct Repr {
    kind: Kind,
    failure: Option<GoogleAdsFailure>,
    /// Why the failure trailer could not be read, if it could not.
    unreadable_failure: Option<String>,
    /// `google.rpc.ErrorInfo` (reason, domain) from the status details: REST-style errors.
    error_info: Option<(String, String)>,
    attempts: u32,
    rows_delivered: Option<u64>,
    /// The longest server delay the retry policy waits out, when the server asked for more.
    delay_cap: Option<Duration>,
    /// When a quota the server said is used up resets (the client's quota budget stopped
    /// the quota's scope until then).
    quota_resets_at: Option<std::time::SystemTime>,
}

#[derive(Clone)]
enum Kind {
    Status(tonic::Status),
    Auth(AuthError),
    Config(ConfigError),
    Transport(TransportError),
    ResourceName(ResourceNameError),
    CustomerId(CustomerIdError),
    /// Arguments refused before anything was sent: each field and the rule it broke.
    Invalid(Vec<Violation>),
    /// Long-running work (a batch job) stopped: waited past its limit, or found the server
    /// in a state that rules out going on safely.
    Stopped {
        message: String,
        timeout: bool,
    },
}

/// A rule an argument breaks, found before anything was sent: which operation (when it is
/// about one), the field as the request names it, and the rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    operation: Option<usize>,
    field: String,
    rule: String,
}

impl Violation {
    pub(crate) fn new(
        operation: Option<usize>,
        field: impl Into<String>,
        rule: impl Into<String>,
    ) -> Self {
        Self {
            operation,
            field: field.into(),
            rule: rule.into(),
        }
    }

    /// The index of the operation at fault, in the order the caller gave them.
    pub fn operation(&self) -> Option<usize> {
        self.operation
    }

    /// The field, as the request names it: `mutate_operations[3].campaign_operation.create.campaign_budget`.
    pub fn field(&self) -> &str {
        &self.field
    }

    /// What is wrong.
    pub fn rule(&self) -> &str {
        &self.rule
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.rule)
    }
}

impl Error {
    fn new(kind: Kind) -> Self {
        Self(Arc::new(Repr {
            kind,
            failure: None,
            unreadable_failure: None,
            error_info: None,
            attempts: 1,
            rows_delivered: None,
            delay_cap: None,
            quota_resets_at: None,
        }))
    }

    /// The gRPC status of a failed call (`None` for errors found before any call).
    pub fn status(&self) -> Option<&tonic::Status> {
        match &self.0.kind {
            Kind::Status(status) => Some(status),
            _ => None,
        }
    }

    /// The gRPC code of a failed call.
    pub fn code(&self) -> Option<tonic::Code> {
        self.status().map(tonic::Status::code)
    }

    /// The server's request id, for support requests and log searches.
    pub fn request_id(&self) -> Option<&str> {
        let from_metadata = self
            .status()
            .and_then(|s| s.metadata().get("request-id"))
            .and_then(|v| v.to_str().ok());
        from_metadata
            .or_else(|| self.0.failure.as_ref().map(|f| f.request_id.as_str()))
            .filter(|id| !id.is_empty())
    }

    /// The decoded GoogleAdsFailure, when the server sent a readable one, in the newest
    /// enabled version's types whichever version answered ([`failure::from_metadata`] says
    /// why that reads the same; [`failure_version`](Self::failure_version) names the version).
    pub fn failure(&self) -> Option<&GoogleAdsFailure> {
        self.0.failure.as_ref()
    }

    /// The API version whose failure trailer the server sent (`"v25"` for a call through
    /// `client.v25()`). That version's own types: [`failure::decode_from_metadata`] on
    /// [`status`](Self::status)`().metadata()` with that version's `FAILURE_TRAILER_KEY`.
    pub fn failure_version(&self) -> Option<&'static str> {
        self.status()
            .and_then(|s| failure::version_of(s.metadata()))
    }

    /// The failure's errors (empty without one).
    pub fn errors(&self) -> &[GoogleAdsError] {
        self.failure().map_or(&[], |f| &f.errors)
    }

    /// The errors grouped by the index of the operation they are about (an atomic mutate
    /// that failed names the operations that broke it).
    pub fn errors_by_operation(&self) -> BTreeMap<usize, Vec<&GoogleAdsError>> {
        let mut out: BTreeMap<usize, Vec<&GoogleAdsError>> = BTreeMap::new();
        for error in self.errors() {
            if let Some(i) = failure::operation_index(error) {
                out.entry(i).or_default().push(error);
            }
        }
        out
    }

    /// A quota error: RESOURCE_EXHAUSTED with a QuotaError (not a response over the size
    /// limit, which is RESOURCE_EXHAUSTED too, with no failure, and will not pass on retry).
    pub fn is_quota(&self) -> bool {
        self.code() == Some(tonic::Code::ResourceExhausted)
            && self.any_error_code(|code| matches!(code, ErrorCode::QuotaError(_)))
    }

    /// Whether the same request may pass later: UNAVAILABLE, DEADLINE_EXCEEDED, a quota error,
    /// or an INTERNAL error the server calls transient. Whether it is *safe* to resend
    /// (mutates that create are not idempotent) is the retry policy's business.
    pub fn is_retryable(&self) -> bool {
        use tonic::Code;
        match self.code() {
            Some(Code::Unavailable | Code::DeadlineExceeded) => true,
            Some(Code::ResourceExhausted) => self.is_quota(),
            Some(Code::Internal) => self.has_error_code(ErrorCode::InternalError(
                InternalError::TransientError.into(),
            )),
            _ => matches!(&self.0.kind, Kind::Auth(e) if !e.is_permanent()),
        }
    }

    /// An authentication or authorization problem: no token, a rejected token, missing access
    /// to the customer.
    pub fn is_auth(&self) -> bool {
        use tonic::Code;
        matches!(self.0.kind, Kind::Auth(_))
            || matches!(
                self.code(),
                Some(Code::Unauthenticated | Code::PermissionDenied)
            )
            || self.any_error_code(|code| {
                matches!(
                    code,
                    ErrorCode::AuthenticationError(_) | ErrorCode::AuthorizationError(_)
                )
            })
    }

    /// How long the server asks to wait before retrying (QuotaErrorDetails.retry_delay; the
    /// longest when several errors give one).
    pub fn retry_delay(&self) -> Option<Duration> {
        self.errors().iter().filter_map(failure::retry_delay).max()
    }

    /// When the quota this error names resets, for a quota whose `retry_delay` was longer
    /// than the retry policy waits out (the daily operations quota): the client's quota
    /// budget ([`crate::QuotaBudget`]) then refuses every call in the quota's scope (the
    /// account, or the whole developer token) at once, without sending it, until this time,
    /// each with this error.
    pub fn quota_resets_at(&self) -> Option<std::time::SystemTime> {
        self.0.quota_resets_at
    }

    /// How many attempts the client made before giving up (1 when it did not retry).
    pub fn attempts(&self) -> u32 {
        self.0.attempts
    }

    /// For a stream that failed after delivering rows: how many it delivered. Such a stream
    /// is never restarted, since the rows would come again.
    pub fn rows_delivered(&self) -> Option<u64> {
        self.0.rows_delivered
    }

    /// Whether the failure has an error with this code, by name (`"quota_error"`,
    /// `"RESOURCE_EXHAUSTED"`). A misspelt name is never found: in code, prefer
    /// [`has_error_code`](Self::has_error_code), which the compiler checks.
    pub fn has_code(&self, category: &str, name: &str) -> bool {
        self.errors().iter().any(|e| {
            failure::CodeName::of(e).is_some_and(|c| c.category == category && c.name == Some(name))
        })
    }

    /// Whether the failure has an error with exactly this code, as the generated enums spell
    /// it (a typo does not compile):
    ///
    /// ```
    /// use google_ads::latest::errors::error_code::ErrorCode;
    /// use google_ads::latest::errors::quota_error_enum::QuotaError;
    /// # fn demo(error: &google_ads::Error) -> bool {
    /// error.has_error_code(ErrorCode::QuotaError(QuotaError::ResourceExhausted.into()))
    /// # }
    /// ```
    pub fn has_error_code(&self, code: ErrorCode) -> bool {
        self.any_error_code(|c| *c == code)
    }

    /// Whether an error of the failure has a code that passes.
    fn any_error_code(&self, test: impl Fn(&ErrorCode) -> bool) -> bool {
        self.errors()
            .iter()
            .filter_map(|e| e.error_code.as_ref()?.error_code.as_ref())
            .any(test)
    }

    /// For arguments refused before anything was sent: the (first) field at fault.
    pub fn invalid_field(&self) -> Option<&str> {
        match &self.0.kind {
            Kind::Invalid(violations) => violations.first().map(Violation::field),
            Kind::Config(e) => e.key(),
            _ => None,
        }
    }

    /// For arguments refused before anything was sent: every rule broken, in order.
    pub fn violations(&self) -> &[Violation] {
        match &self.0.kind {
            Kind::Invalid(violations) => violations,
            _ => &[],
        }
    }

    /// Whether waiting for long-running work (a batch job) went past its limit.
    pub fn is_timeout(&self) -> bool {
        matches!(&self.0.kind, Kind::Stopped { timeout: true, .. })
    }

    /// The token source's error, when no access token could be had.
    pub fn auth_error(&self) -> Option<&AuthError> {
        match &self.0.kind {
            Kind::Auth(e) => Some(e),
            _ => None,
        }
    }

    /// An argument that breaks a rule, found before anything was sent: `field` names it as
    /// the caller wrote it (`operations[3].update_mask`, `--campaigns`), `rule` says what is
    /// wrong. For programs that check their own input the way the crate does.
    pub fn invalid(field: impl Into<String>, rule: impl Into<String>) -> Self {
        Self::new(Kind::Invalid(vec![Violation::new(None, field, rule)]))
    }

    /// Long-running work that stopped: `timeout` when it waited past its limit.
    pub(crate) fn stopped(message: impl Into<String>, timeout: bool) -> Self {
        Self::new(Kind::Stopped {
            message: message.into(),
            timeout,
        })
    }

    /// Arguments that break rules (at least one), found before anything was sent.
    pub(crate) fn violated(violations: Vec<Violation>) -> Self {
        Self::new(Kind::Invalid(violations))
    }

    /// The same failure with the operation indices of its errors rewritten by `map` (an index
    /// in the request as sent -> the caller's index), for requests the crate reordered.
    pub(crate) fn map_operation_indices(mut self, map: impl Fn(usize) -> usize) -> Self {
        let repr = Arc::make_mut(&mut self.0);
        if let Some(failure) = repr.failure.as_mut() {
            for error in &mut failure.errors {
                failure::map_operation_index(error, &map);
            }
        }
        self
    }

    pub(crate) fn with_rows_delivered(mut self, rows: u64) -> Self {
        Arc::make_mut(&mut self.0).rows_delivered = Some(rows);
        self
    }

    /// The server asked for a longer wait than `cap`, the most the retry policy waits out.
    pub(crate) fn with_delay_cap(mut self, cap: Duration) -> Self {
        Arc::make_mut(&mut self.0).delay_cap = Some(cap);
        self
    }

    /// The quota this error names is used up until `at`: the client's quota budget refuses
    /// the calls in its scope until then.
    pub(crate) fn with_quota_reset(mut self, at: std::time::SystemTime) -> Self {
        Arc::make_mut(&mut self.0).quota_resets_at = Some(at);
        self
    }

    pub(crate) fn with_attempts(mut self, attempts: u32) -> Self {
        if self.0.attempts != attempts {
            Arc::make_mut(&mut self.0).attempts = attempts;
        }
        self
    }

    /// The status a raw tonic client sees for this error: the call's own status (or, for an
    /// error found before sending, one that says so), carrying this error as its source, so
    /// `Error::from(status)` gets it back without decoding anything again.
    pub(crate) fn to_status(&self) -> tonic::Status {
        let mut status = match &self.0.kind {
            Kind::Status(status) => status.clone(),
            Kind::Auth(e) => tonic::Status::unauthenticated(e.to_string()),
            _ => tonic::Status::invalid_argument(self.to_string()),
        };
        status.set_source(Arc::new(self.clone()));
        status
    }

    /// Decodes a status's failure once. A status that came out of this crate's layer carries
    /// its `Error` as source: that one is returned as it is.
    fn from_status(status: tonic::Status) -> Self {
        let carried = std::error::Error::source(&status)
            .and_then(|source| source.downcast_ref::<Error>())
            .cloned();
        if let Some(error) = carried {
            return error;
        }
        let (mut decoded, unreadable_failure) = match failure::from_metadata(status.metadata()) {
            Ok(found) => (found, None),
            Err(why) => (None, Some(why)),
        };
        // Richer details in grpc-status-details-bin: a GoogleAdsFailure there (when the trailer
        // is missing) and REST-style ErrorInfo.
        let mut error_info = None;
        if !status.details().is_empty()
            && let Ok(details) = crate::rpc::Status::decode(status.details())
        {
            if decoded.is_none() {
                decoded = failure::from_rpc_status(&details).into_iter().next();
            }
            error_info = details
                .details
                .iter()
                .filter(|any| any.type_url.ends_with("google.rpc.ErrorInfo"))
                .find_map(|any| crate::rpc::ErrorInfo::decode(any.value.as_slice()).ok())
                .map(|info| (info.reason, info.domain));
        }
        Self(Arc::new(Repr {
            kind: Kind::Status(status),
            failure: decoded,
            unreadable_failure,
            error_info,
            attempts: 1,
            rows_delivered: None,
            delay_cap: None,
            quota_resets_at: None,
        }))
    }
}

impl From<tonic::Status> for Error {
    fn from(status: tonic::Status) -> Self {
        Self::from_status(status)
    }
}

impl From<AuthError> for Error {
    fn from(error: AuthError) -> Self {
        Self::new(Kind::Auth(error))
    }
}

impl From<ConfigError> for Error {
    fn from(error: ConfigError) -> Self {
        Self::new(Kind::Config(error))
    }
}

impl From<TransportError> for Error {
    fn from(error: TransportError) -> Self {
        Self::new(Kind::Transport(error))
    }
}

impl From<ResourceNameError> for Error {
    fn from(error: ResourceNameError) -> Self {
        Self::new(Kind::ResourceName(error))
    }
}

impl From<CustomerIdError> for Error {
    fn from(error: CustomerIdError) -> Self {
        Self::new(Kind::CustomerId(error))
    }
}

/// `INVALID_ARGUMENT` for `Code::InvalidArgument`: the names people search for.
pub(crate) fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code::*;
    match code {
        Ok => "OK",
        Cancelled => "CANCELLED",
        Unknown => "UNKNOWN",
        InvalidArgument => "INVALID_ARGUMENT",
        DeadlineExceeded => "DEADLINE_EXCEEDED",
        NotFound => "NOT_FOUND",
        AlreadyExists => "ALREADY_EXISTS",
        PermissionDenied => "PERMISSION_DENIED",
        ResourceExhausted => "RESOURCE_EXHAUSTED",
        FailedPrecondition => "FAILED_PRECONDITION",
        Aborted => "ABORTED",
        OutOfRange => "OUT_OF_RANGE",
        Unimplemented => "UNIMPLEMENTED",
        Internal => "INTERNAL",
        Unavailable => "UNAVAILABLE",
        DataLoss => "DATA_LOSS",
        Unauthenticated => "UNAUTHENTICATED",
    }
}

/// `INVALID_ARGUMENT, request id r-1: campaign_error: DUPLICATE_CAMPAIGN_NAME at
/// mutate_operations[3].campaign_operation.create.name: message (trigger "x")`; several errors
/// go one per line after a count; retries, retry delays and stream progress follow.
impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = match &self.0.kind {
            Kind::Status(status) => status,
            Kind::Auth(e) => {
                write!(f, "credentials: {e}")?;
                if self.0.attempts > 1 {
                    write!(f, "\n  gave up after {} attempts", self.0.attempts)?;
                }
                return Ok(());
            }
            Kind::Config(e) => return e.fmt(f),
            Kind::Transport(e) => return e.fmt(f),
            Kind::ResourceName(e) => return e.fmt(f),
            Kind::CustomerId(e) => return e.fmt(f),
            Kind::Stopped { message, .. } => return f.write_str(message),
            Kind::Invalid(violations) => {
                return match violations.as_slice() {
                    [one] => write!(f, "invalid argument (nothing was sent): {one}"),
                    many => {
                        write!(
                            f,
                            "invalid arguments (nothing was sent): {} problems",
                            many.len()
                        )?;
                        for (i, v) in many.iter().take(20).enumerate() {
                            write!(f, "\n  {}. {v}", i + 1)?;
                        }
                        if many.len() > 20 {
                            write!(f, "\n  ... and {} more", many.len() - 20)?;
                        }
                        Ok(())
                    }
                };
            }
        };
        f.write_str(code_name(status.code()))?;
        if let Some(id) = self.request_id() {
            write!(f, ", request id {id}")?;
        }
        match self.errors() {
            [] => {
                let message = status.message().trim();
                if message.is_empty() {
                    f.write_str(": (no message)")?;
                } else {
                    write!(f, ": {message}")?;
                }
                if let Some((reason, domain)) = &self.0.error_info {
                    write!(f, " (reason {reason}, domain {domain})")?;
                }
            }
            [one] => write!(f, ": {}", ErrorLine::new(one))?,
            many => {
                write!(f, ": {} errors", many.len())?;
                for (i, error) in many.iter().enumerate() {
                    write!(f, "\n  {}. {}", i + 1, ErrorLine::new(error))?;
                }
            }
        }
        if let Some(why) = &self.0.unreadable_failure {
            write!(f, "\n  (failure details unreadable: {why})")?;
        }
        if let Some(delay) = self.retry_delay() {
            write!(f, "\n  the server asks to retry after {delay:?}")?;
            if let Some(cap) = self.0.delay_cap {
                write!(
                    f,
                    ", longer than the {cap:?} the retry policy waits out: not waited"
                )?;
            }
        }
        if let Some(at) = self.0.quota_resets_at {
            write!(f, "\n  {}", failure::QuotaLine::new(self.errors(), at))?;
        }
        if self.0.attempts > 1 {
            write!(f, "\n  gave up after {} attempts", self.0.attempts)?;
        }
        if let Some(rows) = self.0.rows_delivered {
            write!(
                f,
                "\n  the stream broke after delivering {rows} rows; it was not restarted \
                 (the rows would come again)"
            )?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `{:?}` is what `main` returning `Err` prints: the Display text, its lines as lines
        // (a struct would escape them into one line). `{:#?}` adds the code and kind for
        // matching by eye. No secrets reach either: statuses carry server metadata only
        // (request headers are not kept).
        if f.alternate() {
            f.debug_struct("Error")
                .field("code", &self.code())
                .field("retryable", &self.is_retryable())
                .field("message", &self.to_string())
                .finish()
        } else {
            fmt::Display::fmt(self, f)
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.0.kind {
            Kind::Status(e) => Some(e),
            Kind::Auth(e) => Some(e),
            Kind::Config(e) => Some(e),
            Kind::Transport(e) => Some(e),
            Kind::ResourceName(e) => Some(e),
            Kind::CustomerId(e) => Some(e),
            Kind::Invalid(_) | Kind::Stopped { .. } => None,
        }
    }
}
