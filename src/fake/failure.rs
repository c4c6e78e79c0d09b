//! GoogleAdsFailure errors as the real service sends them: the binary failure in the
//! versioned trailer, a `request-id`, and the status code and message of the real API.

use std::sync::atomic::{AtomicU64, Ordering};

use prost::Message;
use prost_reflect::{DynamicMessage, Value};
use tonic::metadata::{MetadataMap, MetadataValue};
use tonic::{Code, Status};

use super::reflect;
use crate::latest::errors::{
    ErrorDetails, ErrorLocation, GoogleAdsError, GoogleAdsFailure, error_location,
};

/// One error of a failure: which error enum and value, a message, where it happened.
#[derive(Clone, Debug)]
pub(crate) struct AdsError {
    /// The `ErrorCode` oneof field, e.g. `campaign_error`.
    pub code_field: &'static str,
    /// The enum value name, e.g. `DUPLICATE_CAMPAIGN_NAME`.
    pub code_name: &'static str,
    /// The human-readable message.
    pub message: String,
    /// Field path elements: name and optional index.
    pub path: Vec<(String, Option<i32>)>,
    /// The offending value, when there is one.
    pub trigger: Option<String>,
    /// Typed details (quota retry delay...); boxed, as they are large and rare.
    pub details: Option<Box<ErrorDetails>>,
}

impl AdsError {
    pub fn new(
        code_field: &'static str,
        code_name: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Self {
            code_field,
            code_name,
            message: message.into(),
            path: Vec::new(),
            trigger: None,
            details: None,
        }
    }

    /// Puts `prefix` in front of the path (an operation index, then deeper fields).
    pub fn under(mut self, prefix: &[(String, Option<i32>)]) -> Self {
        let mut path = prefix.to_vec();
        path.append(&mut self.path);
        self.path = path;
        self
    }

    pub fn at(mut self, field: &str) -> Self {
        self.path
            .extend(field.split('.').map(|f| (f.to_owned(), None)));
        self
    }

    pub fn trigger(mut self, value: impl Into<String>) -> Self {
        self.trigger = Some(value.into());
        self
    }

    pub fn to_proto(&self) -> GoogleAdsError {
        let code_message = reflect::message(&reflect::full("errors.ErrorCode"));
        let mut code = DynamicMessage::new(code_message.clone());
        match reflect::enum_number(&code_message, self.code_field, self.code_name) {
            Some(number) => code.set_field_by_name(self.code_field, Value::EnumNumber(number)),
            // A typo in the fake itself: say so rather than send a wrong code.
            None => code.set_field_by_name(
                "internal_error",
                Value::EnumNumber(
                    reflect::enum_number(&code_message, "internal_error", "INTERNAL_ERROR")
                        .unwrap_or(2),
                ),
            ),
        }
        GoogleAdsError {
            error_code: Some(reflect::to_typed(&code)),
            message: self.message.clone(),
            trigger: self.trigger.clone().map(|s| crate::latest::common::Value {
                value: Some(crate::latest::common::value::Value::StringValue(s)),
            }),
            location: (!self.path.is_empty()).then(|| ErrorLocation {
                field_path_elements: self
                    .path
                    .iter()
                    .map(|(name, index)| error_location::FieldPathElement {
                        field_name: name.clone(),
                        index: *index,
                    })
                    .collect(),
            }),
            details: self.details.as_deref().cloned(),
        }
    }
}

pub(crate) fn next_request_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    // Shaped like the real ones (22 characters of base64 alphabet), unique per process.
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!(
        "fake{:018}",
        n.wrapping_mul(2_654_435_761) % 1_000_000_000_000_000_000
    )
}

/// The status message the real API sends with each code.
fn code_message(code: Code) -> &'static str {
    match code {
        Code::InvalidArgument => "Request contains an invalid argument.",
        Code::Unauthenticated => {
            "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential."
        }
        Code::PermissionDenied => "The caller does not have permission",
        Code::ResourceExhausted => "Resource has been exhausted (e.g. check quota).",
        Code::NotFound => "Requested entity was not found.",
        Code::Unavailable => "The service is currently unavailable.",
        Code::DeadlineExceeded => "Deadline Exceeded",
        Code::Internal => "Internal error encountered.",
        _ => "The request failed.",
    }
}

/// A failed call: `code`, the failure in the trailer, and the request id.
pub(crate) fn status(code: Code, errors: &[AdsError], request_id: &str) -> Status {
    let failure = GoogleAdsFailure {
        errors: errors.iter().map(AdsError::to_proto).collect(),
        request_id: request_id.to_owned(),
    };
    let mut metadata = MetadataMap::new();
    metadata.insert_bin(
        crate::FAILURE_TRAILER_KEY,
        MetadataValue::from_bytes(&failure.encode_to_vec()),
    );
    if let Ok(value) = request_id.parse() {
        metadata.insert("request-id", value);
    }
    Status::with_metadata(code, code_message(code), metadata)
}

/// The `partial_failure_error` of a mutate response: code 3, the first error's message, and
/// the failure packed as the only detail.
pub(crate) fn partial_failure(errors: &[AdsError], request_id: &str) -> crate::rpc::Status {
    let failure = GoogleAdsFailure {
        errors: errors.iter().map(AdsError::to_proto).collect(),
        request_id: request_id.to_owned(),
    };
    let first = errors
        .first()
        .map(|e| e.message.as_str())
        .unwrap_or_default();
    crate::rpc::Status {
        code: Code::InvalidArgument as i32,
        message: format!("Multiple errors in 'details'. First error: {first}"),
        details: vec![prost_types::Any {
            type_url: format!(
                "type.googleapis.com/{}",
                reflect::full("errors.GoogleAdsFailure")
            ),
            value: failure.encode_to_vec(),
        }],
    }
}
