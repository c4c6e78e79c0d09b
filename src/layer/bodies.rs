//! Request and response bodies at DEBUG (target `google_ads::bodies`), as Google's API support
//! asks for them in tickets: the message's text form (its `Debug`), personal data masked, cut
//! past a size cap. Rendered only when DEBUG is enabled for that target: otherwise a call pays
//! one cached callsite check.
//!
//! Masking works on the text form, so it covers every message type the same way the error
//! logs do: the value of any field whose name holds personal data (emails, phone numbers,
//! names, addresses, user identifiers of customer-match and conversion uploads, leads and
//! their contact details) shows as `****`, nested messages and lists included.

use std::fmt::Debug;

use crate::error::failure::is_personal_field;

/// The longest body logged; past it the text is cut with a note of how much was left out.
pub const MAX_LOGGED_BODY: usize = 32 * 1024;

/// Whether bodies are logged at all (DEBUG enabled for `google_ads::bodies`).
pub fn enabled() -> bool {
    tracing::enabled!(target: "google_ads::bodies", tracing::Level::DEBUG)
}

// Messages are taken as `&dyn Debug`: one rendering function for the ~600 handle methods'
// types rather than one per type (the lib unit's build time measured the same either way,
// 17.6 s and 18.3 s, within noise).

/// Logs a request `message` of the call `method`.
pub fn request(method: &str, message: &dyn Debug) {
    if enabled() {
        tracing::debug!(
            target: "google_ads::bodies",
            method,
            body = %render(message),
            "request body"
        );
    }
}

/// Logs a response `message` of the call `method`, with the server's request id when known.
pub fn response(method: &str, request_id: Option<&str>, message: &dyn Debug) {
    if enabled() {
        tracing::debug!(
            target: "google_ads::bodies",
            method,
            request_id = request_id.unwrap_or_default(),
            body = %render(message),
            "response body"
        );
    }
}

/// `message`'s text form, personal data masked, cut at [`MAX_LOGGED_BODY`].
pub fn render(message: &dyn Debug) -> String {
    let text = mask_personal_data(&format!("{message:?}"));
    if text.len() <= MAX_LOGGED_BODY {
        return text;
    }
    let mut end = MAX_LOGGED_BODY;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}... (cut: {} more bytes of {})",
        &text[..end],
        text.len() - end,
        text.len()
    )
}

/// `text` (a `Debug` rendering: `Name { field: value, ... }`, `Some(..)`, `[..]`, quoted
/// strings) with the value of every personal-data field replaced by `****`.
///
/// Written here rather than taken from a crate: it is a small scanner over Rust's own `Debug`
/// syntax, and the list of fields is the one the error masking uses.
pub fn mask_personal_data(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'"' {
            let end = string_end(bytes, i);
            out.push_str(&text[i..end]);
            i = end;
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            let name = &text[start..i];
            // An unset field (`name: None`) says nothing: left out, with its separator, as
            // protobuf's text form leaves unset fields out (a GoogleAdsRow has hundreds).
            if let Some(after) = text[i..].strip_prefix(": None")
                && (after.starts_with(", ") || after.starts_with(" }"))
            {
                i += ": None".len();
                if after.starts_with(", ") {
                    i += 2;
                } else if out.ends_with(", ") || out.ends_with("{ ") {
                    // The last field: its separator before it goes (the ` }` stays).
                    out.truncate(out.len() - if out.ends_with(", ") { 2 } else { 1 });
                }
                continue;
            }
            out.push_str(name);
            if text[i..].starts_with(": ") && is_personal_field(name) {
                out.push_str(": ****");
                i = value_end(bytes, i + 2);
            } else if text[i..].starts_with('(')
                && name.starts_with(|c: char| c.is_ascii_uppercase())
                && is_personal_field(&snake_case(name))
            {
                // A oneof member: `HashedEmail("...")` is the field `hashed_email`.
                out.push_str("(****");
                i = value_end(bytes, i + 1);
            }
        } else {
            // Multi-byte characters are copied whole (their bytes are never ASCII).
            let len = text[i..].chars().next().map_or(1, char::len_utf8);
            out.push_str(&text[i..i + len]);
            i += len;
        }
    }
    out
}

/// `HashedEmail` as `hashed_email`.
fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The index just past the string literal starting at `start` (a `"`), escapes skipped.
fn string_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// The index just past the value starting at `start`: up to the `,` or closing bracket that
/// ends it at its own depth, strings skipped whole.
fn value_end(bytes: &[u8], start: usize) -> usize {
    let mut depth = 0usize;
    let mut i = start;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i = string_end(bytes, i);
                continue;
            }
            b'{' | b'(' | b'[' => depth += 1,
            b'}' | b')' | b']' => {
                if depth == 0 {
                    return i;
                }
                depth -= 1;
            }
            b',' if depth == 0 => return i,
            _ => {}
        }
        i += 1;
    }
    bytes.len()
}
