//! Resource names: `customers/{customer_id}/campaigns/{campaign_id}` and the like.
//!
//! google-ads-types/build/ writes a table of every `google.api.resource` pattern of the
//! protos; `define_resource_names!` here turns it into one struct per pattern (in
//! [`crate::resource_names`]), and the functions below hold what they share, so each struct
//! stays a thin list of fields. Parts are kept as strings: most are numeric ids, but some
//! are enum names, dates or base64 text, and temporary ids are negative numbers.
//!
//! Owns: the rules every name shares (no empty part, no `/` or `~` inside one, digits only
//! in a customer id) and [`ResourceName`], the trait each struct implements. Does not own:
//! which names a mutate may use (`mutate` checks temporary names across a request).
//!
//! ```
//! use google_ads::resource_name::ResourceName as _;
//! use google_ads::resource_names::AdGroupCriterionName;
//!
//! let name = AdGroupCriterionName::new(1234567890, 555, 42)?;
//! assert_eq!(name.to_string(), "customers/1234567890/adGroupCriteria/555~42");
//!
//! let parsed: AdGroupCriterionName = "customers/1234567890/adGroupCriteria/555~42".parse()?;
//! assert_eq!((parsed.ad_group_id.as_str(), parsed.criterion_id.as_str()), ("555", "42"));
//! assert_eq!(parsed.parts(), ["1234567890", "555", "42"]);
//!
//! // Each part is checked: a customer id with dashes is refused, naming the part.
//! let refused = AdGroupCriterionName::new("123-456-7890", 555, 42).unwrap_err();
//! assert_eq!(refused.variable(), Some("customer_id"));
//! # Ok::<(), google_ads::resource_name::ResourceNameError>(())
//! ```

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

/// Writes the resource-name structs from the generated table (`resource_name_table!`): one
/// row per pattern, `StructName = "resource type", "pattern", [fields], ["variables"];`.
macro_rules! define_resource_names {
    ($($name:ident = $rtype:literal, $pattern:literal, [$($field:ident),*], [$($var:literal),*];)*) => {
        $(
            #[doc = concat!("`", $pattern, "` (`", $rtype, "`).")]
            #[derive(Clone, Debug, PartialEq, Eq, Hash)]
            pub struct $name {
                $(#[doc = concat!("The `{", $var, "}` part.")] pub $field: String,)*
            }

            impl $name {
                /// Builds the name, checking every part (ids may be negative: temporary names).
                pub fn new($($field: impl ::std::fmt::Display),*) -> Result<Self, $crate::resource_name::ResourceNameError> {
                    <Self as $crate::resource_name::ResourceName>::from_parts(vec![$($field.to_string()),*])
                }
            }

            impl $crate::resource_name::ResourceName for $name {
                const RESOURCE_TYPE: &'static str = $rtype;
                const PATTERN: &'static str = $pattern;
                const VARIABLES: &'static [&'static str] = &[$($var),*];
                fn parts(&self) -> Vec<&str> {
                    vec![$(&self.$field),*]
                }
                fn from_parts(parts: Vec<String>) -> Result<Self, $crate::resource_name::ResourceNameError> {
                    let [$($field),*] = $crate::resource_name::check(Self::PATTERN, Self::VARIABLES, parts)?;
                    Ok(Self { $($field),* })
                }
            }

            impl ::std::fmt::Display for $name {
                fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                    use $crate::resource_name::ResourceName as _;
                    $crate::resource_name::format(f, Self::PATTERN, &self.parts())
                }
            }

            impl ::std::str::FromStr for $name {
                type Err = $crate::resource_name::ResourceNameError;
                fn from_str(name: &str) -> Result<Self, Self::Err> {
                    use $crate::resource_name::ResourceName as _;
                    Self::from_parts($crate::resource_name::split(Self::PATTERN, name)?)
                }
            }
        )*

        /// Every resource-name pattern of the API, with a type-erased builder and parser.
        pub static ALL: &[$crate::resource_name::PatternInfo] = &[
            $($crate::resource_name::PatternInfo::of::<$name>(),)*
        ];
    };
}
pub(crate) use define_resource_names;

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
