//! [`CustomerId`]: a Google Ads customer id, checked once where it enters the crate (config,
//! a helper's argument, a request the layer reads) and then passed around as a plain value.
//!
//! The crate's helpers take anything [`IntoCustomerId`] (a `CustomerId`, text, a number), so
//! a bad id is refused before anything is sent, with the rule in the message:
//!
//! ```
//! use google_ads::customer_id::{CustomerId, IntoCustomerId as _};
//!
//! let id: CustomerId = "1234567890".into_customer_id()?;
//! assert_eq!(1234567890u64.into_customer_id()?, id);
//! let refused = "123-456-7890".into_customer_id().unwrap_err();
//! assert!(refused.to_string().contains("10 digits without dashes"));
//! # Ok::<(), google_ads::customer_id::CustomerIdError>(())
//! ```

use std::fmt;
use std::str::FromStr;

/// A customer id as the API takes it: 10 digits, no dashes (`1234567890`, not
/// `123-456-7890`). `Copy`, and prints as the 10 digits.
///
/// ```
/// use google_ads::CustomerId;
/// let id: CustomerId = "1234567890".parse()?;
/// assert_eq!(id.to_string(), "1234567890");
/// assert!("123-456-7890".parse::<CustomerId>().is_err());
/// # Ok::<(), google_ads::customer_id::CustomerIdError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CustomerId([u8; 10]);

impl CustomerId {
    /// The id's 10 digits.
    pub fn as_str(&self) -> &str {
        // Only ASCII digits are ever stored.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The id's 10 digits as bytes (no UTF-8 check: names are matched against it per
    /// string of every operation checked).
    pub(crate) fn as_bytes(&self) -> &[u8; 10] {
        &self.0
    }

    /// Checks `value`: `Some` when it is 10 ASCII digits.
    pub fn parse_str(value: &str) -> Option<Self> {
        let bytes: [u8; 10] = value.as_bytes().try_into().ok()?;
        bytes
            .iter()
            .all(u8::is_ascii_digit)
            .then_some(CustomerId(bytes))
    }
}

impl fmt::Display for CustomerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for CustomerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CustomerId({})", self.as_str())
    }
}

impl AsRef<str> for CustomerId {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl From<CustomerId> for String {
    fn from(id: CustomerId) -> String {
        id.as_str().to_owned()
    }
}

/// A value that is not a customer id; says what was given (ids are not secret) and the rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomerIdError {
    given: String,
}

impl fmt::Display for CustomerIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "customer_id {:?}: must be 10 digits without dashes, e.g. 1234567890",
            self.given
        )
    }
}

impl std::error::Error for CustomerIdError {}

impl FromStr for CustomerId {
    type Err = CustomerIdError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Self::parse_str(value).ok_or_else(|| CustomerIdError {
            // Bounded, so a huge argument does not make a huge error.
            given: value.chars().take(40).collect(),
        })
    }
}

// As its 10 digits: a JSON string, also as a map key.
impl serde::Serialize for CustomerId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for CustomerId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl TryFrom<&str> for CustomerId {
    type Error = CustomerIdError;

    fn try_from(value: &str) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl TryFrom<u64> for CustomerId {
    type Error = CustomerIdError;

    fn try_from(value: u64) -> Result<Self, Self::Error> {
        format!("{value:010}").parse()
    }
}

/// What the crate's helpers accept as a customer id: a [`CustomerId`], or text or a number
/// checked on the way in (so `client.search_stream("1234567890", ...)` works).
pub trait IntoCustomerId {
    /// The checked id.
    fn into_customer_id(self) -> Result<CustomerId, CustomerIdError>;
}

impl IntoCustomerId for CustomerId {
    fn into_customer_id(self) -> Result<CustomerId, CustomerIdError> {
        Ok(self)
    }
}

impl IntoCustomerId for &CustomerId {
    fn into_customer_id(self) -> Result<CustomerId, CustomerIdError> {
        Ok(*self)
    }
}

impl IntoCustomerId for &str {
    fn into_customer_id(self) -> Result<CustomerId, CustomerIdError> {
        self.parse()
    }
}

impl IntoCustomerId for &String {
    fn into_customer_id(self) -> Result<CustomerId, CustomerIdError> {
        self.parse()
    }
}

impl IntoCustomerId for String {
    fn into_customer_id(self) -> Result<CustomerId, CustomerIdError> {
        self.parse()
    }
}

impl IntoCustomerId for u64 {
    fn into_customer_id(self) -> Result<CustomerId, CustomerIdError> {
        CustomerId::try_from(self)
    }
}
