//! Resource names: `customers/{customer_id}/campaigns/{campaign_id}` and the like.
//!
//! google-ads-types/build/ writes a table of every `google.api.resource` pattern of the
//! protos; `define_resource_names!` here turns it into one struct per pattern (in
//! [`crate::resource_names`]), and the functions below hold what they share, so each struct
//! stays a thin list of accessors. A name is kept as its text plus where each part is in it
//! (one allocation to build, print or clone); parts are strings: most are numeric ids, but
//! some are enum names, dates or base64 text, and temporary ids are negative numbers.
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
//! assert_eq!((parsed.ad_group_id(), parsed.criterion_id()), ("555", "42"));
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
    /// The whole name, as `Display` writes it (`customers/1234567890/campaigns/-7`).
    fn as_str(&self) -> &str;
    /// The parts in the order of [`Self::VARIABLES`].
    fn parts(&self) -> Vec<&str>;
    /// Builds the name from parts in the order of [`Self::VARIABLES`], checking each.
    fn from_parts(parts: &[&str]) -> Result<Self, ResourceNameError>;
    /// Reads a whole name, as `FromStr` does, keeping the string without a copy.
    fn from_string(name: String) -> Result<Self, ResourceNameError>;
    /// [`from_parts`](Self::from_parts) of parts known to keep every rule (the mutate
    /// allocator's: a checked customer id, ids it wrote, parts of names it parsed): the same
    /// name, without checking each part again.
    #[doc(hidden)]
    fn from_checked_parts(parts: &[&str]) -> Result<Self, ResourceNameError> {
        Self::from_parts(parts)
    }
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

/// A name's text and where each part is in it: the whole name is one `String`, so building
/// one, printing it and cloning it each allocate once (parts kept as strings of their own
/// cost a `Vec` and a `String` per part, and printing went through `Display` per part).
/// `N` is the number of variables of the pattern.
#[doc(hidden)]
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Text<const N: usize> {
    text: String,
    /// Each part's `(start, end)` in `text`, in the order of the pattern's variables.
    spans: [(u32, u32); N],
}

impl<const N: usize> fmt::Debug for Text<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.text, f)
    }
}

impl<const N: usize> Text<N> {
    /// The whole name.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The whole name, owned.
    pub fn into_string(self) -> String {
        self.text
    }

    /// Part `i` ("" past the last: the generated accessors only ask for their own).
    pub fn part(&self, i: usize) -> &str {
        self.spans
            .get(i)
            .and_then(|(start, end)| self.text.get(*start as usize..*end as usize))
            .unwrap_or_default()
    }

    /// Every part, in order.
    pub fn parts(&self) -> Vec<&str> {
        (0..N).map(|i| self.part(i)).collect()
    }

    /// Writes `pattern` with its variables replaced by `parts` (through their `Display`),
    /// then checks each part as written.
    pub fn build(
        pattern: &'static str,
        variables: &'static [&'static str],
        parts: &[&dyn fmt::Display],
    ) -> Result<Self, ResourceNameError> {
        use fmt::Write as _;
        let mut write = |i: usize, text: &mut String| {
            if let Some(part) = parts.get(i) {
                // Writing to a `String` cannot fail; a `Display` that fails leaves its part
                // short.
                let _ = write!(text, "{part}");
            }
        };
        let capacity = pattern.len() + 12 * parts.len();
        Self::filled(pattern, variables, parts.len(), capacity, &mut write)
    }

    /// [`build`](Self::build) from strings, copied as they are (no formatting machinery).
    pub fn from_parts(
        pattern: &'static str,
        variables: &'static [&'static str],
        parts: &[&str],
    ) -> Result<Self, ResourceNameError> {
        let mut write = |i: usize, text: &mut String| {
            text.push_str(parts.get(i).copied().unwrap_or_default());
        };
        let capacity = pattern.len() + parts.iter().map(|p| p.len()).sum::<usize>();
        Self::filled(pattern, variables, parts.len(), capacity, &mut write)
    }

    /// [`from_parts`](Self::from_parts) of parts that keep every rule already (a missing part
    /// is left empty), `braces` being [`braces`]`(pattern)`: slice copies only, as the
    /// mutate allocator builds one name per operation.
    pub fn from_checked_parts(
        pattern: &'static str,
        braces: &[(u16, u16); N],
        parts: &[&str],
    ) -> Self {
        let capacity = pattern.len() + parts.iter().map(|p| p.len()).sum::<usize>();
        let mut text = String::with_capacity(capacity);
        let mut spans = [(0, 0); N];
        let mut literal = 0;
        for (k, (open, close)) in braces.iter().enumerate() {
            text.push_str(pattern.get(literal..usize::from(*open)).unwrap_or_default());
            let start = text.len();
            text.push_str(parts.get(k).copied().unwrap_or_default());
            spans[k] = span(start, text.len()).unwrap_or_default();
            literal = usize::from(*close);
        }
        text.push_str(pattern.get(literal..).unwrap_or_default());
        Self { text, spans }
    }

    /// The name [`fill`] writes from `given` parts, with each part's bounds.
    fn filled(
        pattern: &'static str,
        variables: &'static [&'static str],
        given: usize,
        capacity: usize,
        write: &mut dyn FnMut(usize, &mut String),
    ) -> Result<Self, ResourceNameError> {
        let mut spans = [(0, 0); N];
        let text = fill(pattern, variables, given, capacity, write, &mut spans)?;
        Ok(Self { text, spans })
    }

    /// Reads `name` as a name of `pattern`, keeping it without a copy.
    pub fn from_string(
        pattern: &'static str,
        variables: &'static [&'static str],
        name: String,
    ) -> Result<Self, ResourceNameError> {
        let mut spans = [(0, 0); N];
        scan(pattern, variables, &name, &mut spans)?;
        Ok(Self { text: name, spans })
    }

    /// Reads `name` as a name of `pattern`, copied once it fits.
    pub fn parse(
        pattern: &'static str,
        variables: &'static [&'static str],
        name: &str,
    ) -> Result<Self, ResourceNameError> {
        let mut spans = [(0, 0); N];
        scan(pattern, variables, name, &mut spans)?;
        Ok(Self {
            text: name.to_owned(),
            spans,
        })
    }
}

/// The index of `variable` in `variables` (`usize::MAX` if absent): lets each generated
/// accessor find its part at compile time.
#[doc(hidden)]
pub const fn position(variables: &[&str], variable: &str) -> usize {
    let mut i = 0;
    while i < variables.len() {
        let (a, b) = (variables[i].as_bytes(), variable.as_bytes());
        if a.len() == b.len() {
            let mut k = 0;
            while k < a.len() && a[k] == b[k] {
                k += 1;
            }
            if k == a.len() {
                return i;
            }
        }
        i += 1;
    }
    usize::MAX
}

/// Where each `{variable}` of `pattern` is: the byte offsets of its `{` and past its `}`.
/// Evaluated at compile time for each name type, so building a name scans no pattern.
#[doc(hidden)]
pub const fn braces<const N: usize>(pattern: &str) -> [(u16, u16); N] {
    let bytes = pattern.as_bytes();
    let mut braces = [(0, 0); N];
    let (mut at, mut k) = (0, 0);
    while at < bytes.len() && k < N {
        if bytes[at] == b'{' {
            let open = at;
            while at < bytes.len() && bytes[at] != b'}' {
                at += 1;
            }
            braces[k] = (open as u16, (at + 1) as u16);
            k += 1;
        }
        at += 1;
    }
    braces
}

/// A part's bounds as stored (names past 4 GiB are refused rather than cut).
fn span(start: usize, end: usize) -> Option<(u32, u32)> {
    Some((u32::try_from(start).ok()?, u32::try_from(end).ok()?))
}

/// `pattern` with its variables replaced by `given` parts, part `i` written by `write(i,
/// text)` (an unclosed `{` ends the pattern); each part's bounds written to `spans`, every
/// part checked as written.
fn fill(
    pattern: &'static str,
    variables: &'static [&'static str],
    given: usize,
    capacity: usize,
    write: &mut dyn FnMut(usize, &mut String),
    spans: &mut [(u32, u32)],
) -> Result<String, ResourceNameError> {
    if given != variables.len() || spans.len() != variables.len() {
        // A broken part is named before a wrong count.
        let mut part = String::new();
        for (i, variable) in variables.iter().enumerate().take(given) {
            part.clear();
            write(i, &mut part);
            if let Some(rule) = broken_rule(variable, &part) {
                return Err(ResourceNameError {
                    pattern,
                    kind: ErrorKind::Part { variable, rule },
                });
            }
        }
        return Err(ResourceNameError {
            pattern,
            kind: ErrorKind::Count { given },
        });
    }
    let mut text = String::with_capacity(capacity);
    let mut rest = pattern;
    for (i, (slot, variable)) in spans.iter_mut().zip(variables).enumerate() {
        // Byte scans (`{` and `}` are ASCII, so the cuts fall between characters): `str::find`
        // of a char goes through a searcher, which cost more than the rest of the building.
        let bytes = rest.as_bytes();
        let open = bytes.iter().position(|b| *b == b'{').unwrap_or(bytes.len());
        text.push_str(&rest[..open]);
        rest = bytes[open..]
            .iter()
            .position(|b| *b == b'}')
            .map_or("", |close| &rest[open + close + 1..]);
        let start = text.len();
        write(i, &mut text);
        let broken = match span(start, text.len()) {
            Some(bounds) => {
                *slot = bounds;
                broken_rule(variable, &text[start..])
            }
            None => Some("makes the name longer than 4 GiB"),
        };
        if let Some(rule) = broken {
            return Err(ResourceNameError {
                pattern,
                kind: ErrorKind::Part { variable, rule },
            });
        }
    }
    text.push_str(rest);
    Ok(text)
}

/// Reads `name` against `pattern`: a variable's part runs to the next `/` or `~` (no part
/// may hold either), the text between parts must be the pattern's. Writes each part's
/// bounds to `spans`, then checks the parts in order. A byte scan, nothing allocated unless
/// the name is refused.
fn scan(
    pattern: &'static str,
    variables: &'static [&'static str],
    name: &str,
    spans: &mut [(u32, u32)],
) -> Result<(), ResourceNameError> {
    let mismatch = || ResourceNameError {
        pattern,
        kind: ErrorKind::Mismatch {
            name: name.to_owned(),
        },
    };
    let (p, n) = (pattern.as_bytes(), name.as_bytes());
    let (mut pi, mut ni, mut count) = (0, 0, 0);
    while pi < p.len() {
        if p[pi] != b'{' {
            if n.get(ni) != Some(&p[pi]) {
                return Err(mismatch());
            }
            pi += 1;
            ni += 1;
            continue;
        }
        let end = n[ni..]
            .iter()
            .position(|b| *b == b'/' || *b == b'~')
            .map_or(n.len(), |at| ni + at);
        let slot = spans.get_mut(count).ok_or_else(mismatch)?;
        *slot = span(ni, end).ok_or_else(mismatch)?;
        count += 1;
        ni = end;
        pi = p[pi..]
            .iter()
            .position(|b| *b == b'}')
            .map_or(p.len(), |at| pi + at + 1);
    }
    if ni != n.len() || count != spans.len() {
        return Err(mismatch());
    }
    for (variable, (start, end)) in variables.iter().zip(spans.iter()) {
        if let Some(rule) = broken_rule(variable, &name[*start as usize..*end as usize]) {
            return Err(ResourceNameError {
                pattern,
                kind: ErrorKind::Part { variable, rule },
            });
        }
    }
    Ok(())
}

fn broken_rule(variable: &str, part: &str) -> Option<&'static str> {
    if part.is_empty() {
        Some("must not be empty")
    } else if part.bytes().any(|b| b == b'/' || b == b'~') {
        Some("must not contain '/' or '~'")
    } else if variable.ends_with("customer_id") && !part.bytes().all(|b| b.is_ascii_digit()) {
        Some("a customer id is digits only, without dashes")
    } else {
        None
    }
}

/// Writes the resource-name structs from the generated table (`resource_name_table!`): one
/// row per pattern, `StructName = "resource type", "pattern", [fields], ["variables"];`.
macro_rules! define_resource_names {
    ($($name:ident = $rtype:literal, $pattern:literal, [$($field:ident),*], [$($var:literal),*];)*) => {
        $(
            #[doc = concat!("`", $pattern, "` (`", $rtype, "`).")]
            #[derive(Clone, Debug, PartialEq, Eq, Hash)]
            pub struct $name($crate::resource_name::Text<{ [$($var),*].len() }>);

            impl $name {
                /// Builds the name, checking every part (ids may be negative: temporary names).
                pub fn new($($field: impl ::std::fmt::Display),*) -> Result<Self, $crate::resource_name::ResourceNameError> {
                    Ok(Self($crate::resource_name::Text::build($pattern, &[$($var),*], &[$(&$field as &dyn ::std::fmt::Display),*])?))
                }

                $(
                    #[doc = concat!("The `{", $var, "}` part.")]
                    pub fn $field(&self) -> &str {
                        self.0.part(const { $crate::resource_name::position(<$name as $crate::resource_name::ResourceName>::VARIABLES, $var) })
                    }
                )*
            }

            impl $crate::resource_name::ResourceName for $name {
                const RESOURCE_TYPE: &'static str = $rtype;
                const PATTERN: &'static str = $pattern;
                const VARIABLES: &'static [&'static str] = &[$($var),*];
                fn as_str(&self) -> &str {
                    self.0.as_str()
                }
                fn parts(&self) -> Vec<&str> {
                    self.0.parts()
                }
                fn from_parts(parts: &[&str]) -> Result<Self, $crate::resource_name::ResourceNameError> {
                    Ok(Self($crate::resource_name::Text::from_parts(Self::PATTERN, Self::VARIABLES, parts)?))
                }
                fn from_string(name: String) -> Result<Self, $crate::resource_name::ResourceNameError> {
                    Ok(Self($crate::resource_name::Text::from_string(Self::PATTERN, Self::VARIABLES, name)?))
                }
                fn from_checked_parts(parts: &[&str]) -> Result<Self, $crate::resource_name::ResourceNameError> {
                    const BRACES: [(u16, u16); [$($var),*].len()] = $crate::resource_name::braces($pattern);
                    Ok(Self($crate::resource_name::Text::from_checked_parts(Self::PATTERN, &BRACES, parts)))
                }
            }

            impl ::std::fmt::Display for $name {
                fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                    f.write_str(self.0.as_str())
                }
            }

            impl ::std::str::FromStr for $name {
                type Err = $crate::resource_name::ResourceNameError;
                fn from_str(name: &str) -> Result<Self, Self::Err> {
                    Ok(Self($crate::resource_name::Text::parse($pattern, &[$($var),*], name)?))
                }
            }

            impl From<$name> for String {
                fn from(name: $name) -> String {
                    name.0.into_string()
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

// The erased builder and parser are one-line shims over functions that take the pattern as
// data: a body per name type was ~25,000 lines of LLVM IR in every build (BENCHMARKS.md).
fn build_erased<T: ResourceName>(parts: Vec<String>) -> Result<String, ResourceNameError> {
    build_pattern(T::PATTERN, T::VARIABLES, &parts)
}

fn parse_erased<T: ResourceName>(name: &str) -> Result<Vec<String>, ResourceNameError> {
    parse_pattern(T::PATTERN, T::VARIABLES, name)
}

/// What `T::from_parts(parts)` writes, for the pattern of `T`.
fn build_pattern(
    pattern: &'static str,
    variables: &'static [&'static str],
    parts: &[String],
) -> Result<String, ResourceNameError> {
    let mut write = |i: usize, text: &mut String| {
        text.push_str(parts.get(i).map_or("", String::as_str));
    };
    let capacity = pattern.len() + parts.iter().map(String::len).sum::<usize>();
    let mut spans = vec![(0, 0); variables.len()];
    fill(
        pattern,
        variables,
        parts.len(),
        capacity,
        &mut write,
        &mut spans,
    )
}

/// The parts `name.parse::<T>()` finds, for the pattern of `T`.
fn parse_pattern(
    pattern: &'static str,
    variables: &'static [&'static str],
    name: &str,
) -> Result<Vec<String>, ResourceNameError> {
    let mut spans = vec![(0, 0); variables.len()];
    scan(pattern, variables, name, &mut spans)?;
    Ok(spans
        .iter()
        .map(|(start, end)| {
            name.get(*start as usize..*end as usize)
                .unwrap_or_default()
                .to_owned()
        })
        .collect())
}
