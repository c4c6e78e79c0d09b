//! Resource names: `customers/{customer_id}/campaigns/{campaign_id}` and the like.
//!
//! google-ads-types/build.rs writes one struct per `google.api.resource` pattern of the
//! protos (in [`crate::resource_names`]); this module holds what they share, so the generated
//! code stays a thin list of fields. Parts are kept as strings: most are numeric ids, but some
//! are enum names, dates or base64 text, and temporary ids are negative numbers.

use std::fmt;

/// A typed resource name: built from its parts, printed with `Display`, parsed with `FromStr`.
pub trait ResourceName: Sized + fmt::Display + std::str::FromStr<Err = ResourceNameError> {
    /// The resource type, e.g. `googleads.googleapis.com/Campaign`.
    const RESOURCE_TYPE: &'static str;
    /// The pattern, e.g. `customers/{customer_id}/campaigns/{campaign_id}`.
    const PATTERN: &'static str;
    /// The variables of [`Self::PATTERN`] in order.
    const VARIABLES: &'static [&'static str];
    /// The parts in the order of [`Self::VARIABLES`].
    fn parts(&self) -> Vec<&str>;
    /// Builds the name from parts in the order of [`Self::VARIABLES`], checking each.
    fn from_parts(parts: Vec<String>) -> Result<Self, ResourceNameError>;
}

/// Why a resource name could not be built or parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceNameError {
    pattern: &'static str,
    kind: ErrorKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum ErrorKind {
    /// A part broke a rule; the part's variable name and the rule.
    Part {
        variable: &'static str,
        rule: &'static str,
    },
    /// A whole name that does not fit the pattern.
    Mismatch { name: String },
    /// The wrong number of parts was given.
    Count { given: usize },
}

impl ResourceNameError {
    /// The pattern the name was checked against.
    pub fn pattern(&self) -> &'static str {
        self.pattern
    }

    /// The variable whose part broke a rule, when one did.
    pub fn variable(&self) -> Option<&'static str> {
        match self.kind {
            ErrorKind::Part { variable, .. } => Some(variable),
            _ => None,
        }
    }
}

impl fmt::Display for ResourceNameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ErrorKind::Part { variable, rule } => {
                write!(f, "{variable} in resource name {}: {rule}", self.pattern)
            }
            ErrorKind::Mismatch { name } => {
                write!(f, "resource name {name:?} does not match {}", self.pattern)
            }
            ErrorKind::Count { given } => write!(
                f,
                "{} takes a different number of parts than {given}",
                self.pattern
            ),
        }
    }
}

impl std::error::Error for ResourceNameError {}

// The helpers below take the pattern as data rather than being generic over the name type:
// ~190 generated types would otherwise each get their own copy, and that costs seconds of
// every user's build.

/// Checks parts against a pattern's variables and returns them as an array (used by the
/// generated structs; `N` is the number of variables).
#[doc(hidden)]
pub fn check<const N: usize>(
    pattern: &'static str,
    variables: &'static [&'static str],
    parts: Vec<String>,
) -> Result<[String; N], ResourceNameError> {
    let given = parts.len();
    if let Some((variable, rule)) = variables
        .iter()
        .zip(&parts)
        .find_map(|(v, p)| Some((*v, broken_rule(v, p)?)))
    {
        return Err(ResourceNameError {
            pattern,
            kind: ErrorKind::Part { variable, rule },
        });
    }
    parts.try_into().map_err(|_| ResourceNameError {
        pattern,
        kind: ErrorKind::Count { given },
    })
}

fn broken_rule(variable: &str, part: &str) -> Option<&'static str> {
    if part.is_empty() {
        Some("must not be empty")
    } else if part.contains('/') || part.contains('~') {
        Some("must not contain '/' or '~'")
    } else if variable.ends_with("customer_id") && !part.bytes().all(|b| b.is_ascii_digit()) {
        Some("a customer id is digits only, without dashes")
    } else {
        None
    }
}

/// Writes `pattern` with its variables replaced by `parts`.
#[doc(hidden)]
pub fn format(f: &mut fmt::Formatter<'_>, pattern: &str, parts: &[&str]) -> fmt::Result {
    let mut parts = parts.iter();
    let mut rest = pattern;
    while let Some(open) = rest.find('{') {
        f.write_str(&rest[..open])?;
        f.write_str(parts.next().copied().unwrap_or_default())?;
        rest = rest[open..]
            .find('}')
            .map_or("", |close| &rest[open + close + 1..]);
    }
    f.write_str(rest)
}

/// Splits `name` into the parts of `pattern` (unchecked: `check` follows).
#[doc(hidden)]
pub fn split(pattern: &'static str, name: &str) -> Result<Vec<String>, ResourceNameError> {
    let mismatch = || ResourceNameError {
        pattern,
        kind: ErrorKind::Mismatch {
            name: name.to_owned(),
        },
    };
    let pattern_segments: Vec<&str> = pattern.split('/').collect();
    let name_segments: Vec<&str> = name.split('/').collect();
    if pattern_segments.len() != name_segments.len() {
        return Err(mismatch());
    }
    let mut parts = Vec::new();
    for (pattern, segment) in pattern_segments.iter().zip(&name_segments) {
        if !pattern.starts_with('{') {
            if pattern != segment {
                return Err(mismatch());
            }
            continue;
        }
        let pieces: Vec<&str> = segment.split('~').collect();
        if pieces.len() != pattern.split('~').count() {
            return Err(mismatch());
        }
        parts.extend(pieces.into_iter().map(str::to_owned));
    }
    Ok(parts)
}

/// Implements `Display` and `FromStr` for a generated resource-name struct.
macro_rules! impl_display_from_str {
    ($name:ident) => {
        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                use $crate::resource_name::ResourceName;
                $crate::resource_name::format(f, Self::PATTERN, &self.parts())
            }
        }
        impl ::std::str::FromStr for $name {
            type Err = $crate::resource_name::ResourceNameError;
            fn from_str(name: &str) -> Result<Self, Self::Err> {
                use $crate::resource_name::ResourceName;
                Self::from_parts($crate::resource_name::split(Self::PATTERN, name)?)
            }
        }
    };
}
pub(crate) use impl_display_from_str;

/// One pattern with a type-erased builder and parser: lets tools walk every pattern.
#[derive(Clone, Copy, Debug)]
pub struct PatternInfo {
    /// The resource type, e.g. `googleads.googleapis.com/Campaign`.
    pub resource_type: &'static str,
    /// The pattern, e.g. `customers/{customer_id}/campaigns/{campaign_id}`.
    pub pattern: &'static str,
    /// The variables of the pattern in order.
    pub variables: &'static [&'static str],
    /// Builds a name from parts in the order of `variables`.
    pub build: fn(Vec<String>) -> Result<String, ResourceNameError>,
    /// Parses a name into its parts in the order of `variables`.
    pub parse: fn(&str) -> Result<Vec<String>, ResourceNameError>,
}

impl PatternInfo {
    #[doc(hidden)]
    pub const fn of<T: ResourceName>() -> Self {
        Self {
            resource_type: T::RESOURCE_TYPE,
            pattern: T::PATTERN,
            variables: T::VARIABLES,
            build: build_erased::<T>,
            parse: parse_erased::<T>,
        }
    }
}

fn build_erased<T: ResourceName>(parts: Vec<String>) -> Result<String, ResourceNameError> {
    T::from_parts(parts).map(|name| name.to_string())
}

fn parse_erased<T: ResourceName>(name: &str) -> Result<Vec<String>, ResourceNameError> {
    let name: T = name.parse()?;
    Ok(name.parts().into_iter().map(str::to_owned).collect())
}
