//! What every attempt carries besides its token: the client's static headers (developer
//! token, login and linked customer ids, `x-goog-api-client`), the per-call ones
//! ([`CallOptions`]: login-customer-id, `grpc-timeout`), and what a retry must send again.

use std::fmt;

use http::HeaderValue;

use super::CallOptions;

/// Headers set on every call, computed once.
#[derive(Clone, Debug)]
pub(crate) struct StaticHeaders {
    pub developer_token: Option<HeaderValue>,
    pub login_customer_id: Option<HeaderValue>,
    pub linked_customer_id: Option<HeaderValue>,
    pub api_client: HeaderValue,
}

/// The request headers a retry needs, kept without copying the map: tonic's `te` and
/// `content-type` (static values) and the caller's metadata.
pub(super) struct Resend {
    te: Option<HeaderValue>,
    content_type: Option<HeaderValue>,
    metadata: http::HeaderMap,
}

impl Resend {
    pub(super) fn of(request: &http::HeaderMap) -> Self {
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

    pub(super) fn headers(
        &self,
        statics: &StaticHeaders,
        options: &CallOptions,
    ) -> http::HeaderMap {
        let mut headers = self.metadata.clone();
        if let Some(te) = &self.te {
            headers.insert(http::header::TE, te.clone());
        }
        if let Some(content_type) = &self.content_type {
            headers.insert(http::header::CONTENT_TYPE, content_type.clone());
        }
        set_call_headers(&mut headers, statics, options);
        headers
    }
}

/// What the layer adds to every attempt but the token: the client's headers, then this
/// call's options (a per-call login-customer-id wins over the client's) and its attempt
/// timeout as `grpc-timeout`.
pub(super) fn set_call_headers(
    h: &mut http::HeaderMap,
    headers: &StaticHeaders,
    options: &CallOptions,
) {
    if let Some(v) = &headers.developer_token {
        h.insert("developer-token", v.clone());
    }
    if let Some(id) = options.login_customer_id {
        if let Ok(v) = HeaderValue::from_str(id.as_str()) {
            h.insert("login-customer-id", v);
        }
    } else if let Some(v) = &headers.login_customer_id
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
    if let Some(timeout) = options.attempt_timeout {
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

/// Request headers for the DEBUG detail, credentials masked.
pub(super) struct Masked<'a>(pub &'a http::HeaderMap);

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
