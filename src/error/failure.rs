//! Reading a `GoogleAdsFailure` (from a call's trailer or a `google.rpc.Status`'s details) and
//! naming its parts for people: error codes, field paths, operation indices, triggers.
//!
//! Everything here is defensive: bytes from the server may be missing, corrupt, or from a newer
//! API version, and none of that may panic.
//!
//! [`crate::Error`] uses these to print itself; they are public for programs that look at the
//! errors one by one:
//!
//! ```
//! use google_ads::failure::{CodeName, FieldPath, operation_index};
//! use google_ads::latest::errors::error_location::FieldPathElement;
//! use google_ads::latest::errors::{ErrorCode, ErrorLocation, GoogleAdsError, error_code};
//!
//! let element = |name: &str, index: Option<i32>| FieldPathElement {
//!     field_name: name.into(),
//!     index,
//! };
//! // An error as a failed mutate's GoogleAdsFailure carries it.
//! let error = GoogleAdsError {
//!     error_code: Some(ErrorCode {
//!         error_code: Some(error_code::ErrorCode::CampaignError(12)),
//!     }),
//!     message: "A campaign with this name already exists.".into(),
//!     location: Some(ErrorLocation {
//!         field_path_elements: vec![
//!             element("mutate_operations", Some(3)),
//!             element("campaign_operation", None),
//!             element("create", None),
//!             element("name", None),
//!         ],
//!     }),
//!     ..Default::default()
//! };
//! let code = CodeName::of(&error).unwrap();
//! assert_eq!(code.to_string(), "campaign_error: DUPLICATE_CAMPAIGN_NAME");
//! assert_eq!(
//!     FieldPath::of(&error).to_string(),
//!     "mutate_operations[3].campaign_operation.create.name"
//! );
//! assert_eq!(operation_index(&error), Some(3));
//! ```

use std::fmt;

use prost::Message as _;
use tonic::metadata::MetadataMap;

use crate::latest::common::value;
use crate::latest::errors::error_location::FieldPathElement;
use crate::latest::errors::{GoogleAdsError, GoogleAdsFailure};

/// The failure in a call's `...googleadsfailure-bin` trailer, of whichever enabled API
/// version answered (newest first), in the newest version's types: `Ok(None)` when there is
/// none, `Err` (with the decoder's reason) when it is unreadable.
///
/// Google keeps field numbers and enum values across versions, so an older version's failure
/// reads the same in the newest's types; a code value only the older version has is still
/// named (by that version's table), and only an error category the newest dropped reads as
/// unknown ([`CodeName::of`] is `None`). That version's own types are a [`decode_from_metadata`]
/// away: `decode_from_metadata::<v25::errors::GoogleAdsFailure>(metadata, v25::FAILURE_TRAILER_KEY)`.
pub fn from_metadata(metadata: &MetadataMap) -> Result<Option<GoogleAdsFailure>, String> {
    match trailer_of(metadata) {
        Some((_, key)) => decode_from_metadata(metadata, key),
        None => Ok(None),
    }
}

/// The enabled API version whose failure trailer `metadata` carries (newest first).
pub fn version_of(metadata: &MetadataMap) -> Option<&'static str> {
    trailer_of(metadata).map(|(version, _)| version)
}

/// The (version, trailer key) of the failure trailer `metadata` carries.
fn trailer_of(metadata: &MetadataMap) -> Option<(&'static str, &'static str)> {
    crate::FAILURE_TRAILER_KEYS
        .iter()
        .rev()
        .copied()
        .find(|(_, key)| metadata.get_bin(*key).is_some())
}

/// The failure under the trailer `key`, decoded as `F` (any version's `GoogleAdsFailure`).
pub fn decode_from_metadata<F: prost::Message + Default>(
    metadata: &MetadataMap,
    key: &str,
) -> Result<Option<F>, String> {
    let Some(value) = metadata.get_bin(key) else {
        return Ok(None);
    };
    let bytes = value
        .to_bytes()
        .map_err(|e| format!("bad base64 in {key}: {e}"))?;
    F::decode(bytes.as_ref())
        .map(Some)
        .map_err(|e| format!("undecodable {key}: {e}"))
}

/// The failures packed in a `google.rpc.Status`'s details (how partial failures and batch-job
/// results carry them). Details of other types, and undecodable ones, are skipped.
pub fn from_rpc_status(status: &crate::rpc::Status) -> Vec<GoogleAdsFailure> {
    status
        .details
        .iter()
        .filter(|any| any.type_url.ends_with(".errors.GoogleAdsFailure"))
        .filter_map(|any| GoogleAdsFailure::decode(any.value.as_slice()).ok())
        .collect()
}

/// An error code as people read it: `campaign_error: DUPLICATE_CAMPAIGN_NAME`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CodeName {
    /// The `ErrorCode` oneof member, e.g. `campaign_error`.
    pub category: &'static str,
    /// The enum value's name, when this build of the crate knows the value.
    pub name: Option<&'static str>,
    /// The raw enum value.
    pub value: i32,
}

impl CodeName {
    /// The code of `error`; `None` when it has none this API version knows (a newer server).
    pub fn of(error: &GoogleAdsError) -> Option<Self> {
        let code = error.error_code.as_ref()?.error_code.as_ref()?;
        let (category, value, name) = error_code_parts(code);
        // A value the newest enabled version dropped, in an older version's failure: named by
        // the version that has it (Google never reuses a value's number for another meaning).
        let name = name.or_else(|| value_name_in_any_version(category, value));
        Some(Self {
            category,
            name,
            value,
        })
    }
}

impl fmt::Display for CodeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name {
            Some(name) => write!(f, "{}: {name}", self.category),
            None => write!(
                f,
                "{}: {} (a value API {} does not know)",
                self.category,
                self.value,
                crate::API_VERSION
            ),
        }
    }
}

/// A field path as written in code: `mutate_operations[3].campaign_operation.create.name`.
#[derive(Clone, Copy, Debug)]
pub struct FieldPath<'a>(pub &'a [FieldPathElement]);

impl<'a> FieldPath<'a> {
    /// The path of `error` (empty when it has no location).
    pub fn of(error: &'a GoogleAdsError) -> Self {
        Self(
            error
                .location
                .as_ref()
                .map_or(&[][..], |l| &l.field_path_elements),
        )
    }

    /// Whether the path has no element.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for FieldPath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, element) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            // Field names come from the server: written with escapes if they are not plain.
            if element
                .field_name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
            {
                f.write_str(&element.field_name)?;
            } else {
                write!(f, "{:?}", element.field_name)?;
            }
            if let Some(index) = element.index {
                write!(f, "[{index}]")?;
            }
        }
        Ok(())
    }
}

/// The index of the operation `error` is about: the index of its path's first element when that
/// element is a request's operation list (`mutate_operations`, `operations`, `conversions`,
/// `conversion_adjustments`... every such field of the API, read from the protos).
pub fn operation_index(error: &GoogleAdsError) -> Option<usize> {
    let first = FieldPath::of(error).0.first()?;
    if !OPERATION_FIELDS.contains(&first.field_name.as_str()) {
        return None;
    }
    usize::try_from(first.index?).ok()
}

/// Rewrites the operation index of `error` (see [`operation_index`]) with `map`.
pub(crate) fn map_operation_index(error: &mut GoogleAdsError, map: impl Fn(usize) -> usize) {
    let Some(first) = error
        .location
        .as_mut()
        .and_then(|l| l.field_path_elements.first_mut())
    else {
        return;
    };
    if !OPERATION_FIELDS.contains(&first.field_name.as_str()) {
        return;
    }
    if let Some(index) = first.index.and_then(|i| usize::try_from(i).ok()) {
        first.index = i32::try_from(map(index)).ok();
    }
}

/// The quota error's `retry_delay`, if `error` has one that makes sense.
pub fn retry_delay(error: &GoogleAdsError) -> Option<std::time::Duration> {
    let delay = error
        .details
        .as_ref()?
        .quota_error_details
        .as_ref()?
        .retry_delay?;
    let secs = u64::try_from(delay.seconds).ok()?;
    let nanos = u32::try_from(delay.nanos)
        .ok()
        .filter(|n| *n < 1_000_000_000)?;
    Some(std::time::Duration::new(secs, nanos))
}

/// Field-name parts whose values are personal data (user emails, lead contacts and the other
/// user-identifying fields of the API): their triggers are masked in logs.
const PII_FIELD_PARTS: &[&str] = &[
    "email",
    "phone",
    "contact",
    "first_name",
    "last_name",
    "street_address",
    "postal_code",
    "hashed_",
    "address_info",
    "mobile_id",
    "third_party_user_id",
    "user_identifier",
    "lead",
];

/// Whether the field `name` holds personal data (its own name says so).
pub(crate) fn is_personal_field(name: &str) -> bool {
    PII_FIELD_PARTS.iter().any(|part| name.contains(part))
}

/// Whether `error`'s path goes through a field holding personal data.
pub fn is_about_personal_data(error: &GoogleAdsError) -> bool {
    FieldPath::of(error)
        .0
        .iter()
        .any(|element| is_personal_field(&element.field_name))
}

/// The line of an error whose quota is used up until a time: which quota, which scope, when.
/// `quota "Number of operations for basic access" (developer token) is used up until Mon, 07
/// Dec 2026 00:00:00 GMT (in 13h 6m): ...`
pub(crate) struct QuotaLine<'a> {
    errors: &'a [GoogleAdsError],
    resets_at: std::time::SystemTime,
}

impl<'a> QuotaLine<'a> {
    pub(crate) fn new(errors: &'a [GoogleAdsError], resets_at: std::time::SystemTime) -> Self {
        Self { errors, resets_at }
    }
}

impl fmt::Display for QuotaLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::latest::errors::quota_error_details::QuotaRateScope;
        let details = self
            .errors
            .iter()
            .find_map(|e| e.details.as_ref()?.quota_error_details.as_ref());
        match details {
            Some(d) if !d.rate_name.is_empty() => write!(f, "quota {:?}", d.rate_name)?,
            _ => f.write_str("the quota")?,
        }
        match details.map(|d| d.rate_scope()) {
            Some(QuotaRateScope::Developer) => f.write_str(" (developer token)")?,
            Some(QuotaRateScope::Account) => f.write_str(" (this account)")?,
            _ => {}
        }
        let left = self
            .resets_at
            .duration_since(std::time::SystemTime::now())
            .unwrap_or_default()
            .as_secs();
        write!(
            f,
            " is used up until {} (in {}h {}m): the client sends nothing more in that scope \
             until then, and each call in it fails at once with this error",
            httpdate::fmt_http_date(self.resets_at),
            left / 3600,
            left % 3600 / 60,
        )
    }
}

/// One error on one line: code, path, message, trigger.
/// `campaign_error: DUPLICATE_CAMPAIGN_NAME at operations[3].create.name: message (trigger "x")`
#[derive(Clone, Copy, Debug)]
pub struct ErrorLine<'a> {
    error: &'a GoogleAdsError,
    mask_personal_data: bool,
}

impl<'a> ErrorLine<'a> {
    /// The whole error.
    pub fn new(error: &'a GoogleAdsError) -> Self {
        Self {
            error,
            mask_personal_data: false,
        }
    }

    /// For logs: the trigger shows as `****` when the error is about personal data.
    pub fn masked(error: &'a GoogleAdsError) -> Self {
        Self {
            error,
            mask_personal_data: true,
        }
    }
}

impl fmt::Display for ErrorLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let error = self.error;
        match CodeName::of(error) {
            Some(code) => code.fmt(f)?,
            None => write!(f, "unknown error code (not in API {})", crate::API_VERSION)?,
        }
        let path = FieldPath::of(error);
        if !path.is_empty() {
            write!(f, " at {path}")?;
        }
        if !error.message.is_empty() {
            write!(f, ": {}", error.message.trim())?;
        }
        if let Some(trigger) = error.trigger.as_ref().and_then(|t| t.value.as_ref()) {
            f.write_str(" (trigger ")?;
            if self.mask_personal_data && is_about_personal_data(error) {
                return f.write_str("****)");
            }
            match trigger {
                value::Value::BooleanValue(v) => write!(f, "{v}")?,
                value::Value::Int64Value(v) => write!(f, "{v}")?,
                value::Value::FloatValue(v) => write!(f, "{v}")?,
                value::Value::DoubleValue(v) => write!(f, "{v}")?,
                value::Value::StringValue(v) => write!(f, "{v:?}")?,
            }
            f.write_str(")")?;
        }
        Ok(())
    }
}

/// `error_code_parts`, from the generated table of every ErrorCode member.
macro_rules! error_code_parts {
    ($($variant:ident $field:literal $module:ident :: $enum_name:ident;)*) => {
        /// The oneof field name, raw value and (if this build knows it) value name of a code.
        fn error_code_parts(
            code: &crate::latest::errors::error_code::ErrorCode,
        ) -> (&'static str, i32, Option<&'static str>) {
            use crate::latest::errors;
            #[allow(unreachable_patterns)]
            match code {
                $(errors::error_code::ErrorCode::$variant(v) => (
                    $field,
                    *v,
                    errors::$module::$enum_name::try_from(*v).ok().map(|e| e.as_str_name()),
                ),)*
                _ => ("error_code", 0, None),
            }
        }
    };
}
crate::generated::error_code_table!(error_code_parts);

/// `value_name(field, value)` for one version, from its error-code table.
macro_rules! value_name_fn {
    ($($variant:ident $field:literal $module:ident :: $enum_name:ident;)*) => {
        pub(super) fn value_name(field: &str, value: i32) -> Option<&'static str> {
            match field {
                $($field => errors::$module::$enum_name::try_from(value).ok().map(|e| e.as_str_name()),)*
                _ => None,
            }
        }
    };
}

/// `value_name_in_any_version`: the name of an error-code value in the newest enabled version
/// that has it.
macro_rules! version_value_names {
    (latest $latest:ident; $($version:ident $table:ident $errors:ident;)*) => {
        $(
            mod $version {
                use crate::$version::errors;
                crate::generated::$errors!(value_name_fn);
            }
        )*
        fn value_name_in_any_version(field: &str, value: i32) -> Option<&'static str> {
            let versions: &[fn(&str, i32) -> Option<&'static str>] = &[$($version::value_name),*];
            versions.iter().rev().find_map(|name| name(field, value))
        }
    };
}
crate::generated::version_table!(version_value_names);

/// `OPERATION_FIELDS`, from the generated list.
macro_rules! operation_fields {
    ($fields:expr) => {
        /// Request fields holding operations (`mutate_operations`, `operations`,
        /// `conversions`...): the first field-path element of an error names one.
        static OPERATION_FIELDS: &[&str] = &$fields;
    };
}
crate::generated::operation_field_table!(operation_fields);
