//! Resource names as the engine reads them in strings: which pattern a name fits, which of its
//! ids are temporary (negative) and of which resource type each is; and [`TempNames`], the
//! allocator of unique negative ids for one request or batch job.

use std::collections::HashMap;
use std::sync::OnceLock;

use rustc_hash::FxHashMap;

use crate::CustomerId;
use crate::resource_name::PatternInfo;

/// One resource-name pattern, split for matching.
#[derive(Debug)]
pub(crate) struct Pattern {
    pub resource_type: &'static str,
    /// The pattern's last variable (`ad_group_id`): the id of the resource itself.
    pub last_var: &'static str,
    /// The segments: `Some(literal)` or `None` for `{a}~{b}` parts.
    segments: Vec<Option<&'static str>>,
    /// Per id part of the name (in order), the resource type that part identifies, when one
    /// pattern alone ends in a variable of that name (`ad_group_id` -> AdGroup).
    part_types: Vec<Option<&'static str>>,
}

/// Every pattern that starts `customers/{customer_id}/`, by its third segment (the collection).
struct Patterns {
    by_collection: FxHashMap<&'static str, Vec<(usize, Pattern)>>,
}

fn patterns() -> &'static Patterns {
    static PATTERNS: OnceLock<Patterns> = OnceLock::new();
    PATTERNS.get_or_init(|| Patterns::new(crate::resource_names::ALL))
}

impl Patterns {
    fn new(all: &'static [PatternInfo]) -> Self {
        // A variable names a resource type when exactly one pattern ends in it.
        let mut last_var: HashMap<&'static str, Option<&'static str>> = HashMap::new();
        for info in all {
            if let Some(var) = info.variables.last() {
                last_var
                    .entry(var)
                    .and_modify(|t| {
                        if *t != Some(info.resource_type) {
                            *t = None;
                        }
                    })
                    .or_insert(Some(info.resource_type));
            }
        }
        let mut by_collection: FxHashMap<&'static str, Vec<(usize, Pattern)>> =
            FxHashMap::default();
        for info in all {
            let segments: Vec<&'static str> = info.pattern.split('/').collect();
            if segments.len() < 3 || segments[0] != "customers" || segments[1] != "{customer_id}" {
                continue;
            }
            let n = info.variables.len();
            let part_types = info
                .variables
                .iter()
                .enumerate()
                .skip(1)
                .map(|(i, var)| {
                    if i + 1 == n {
                        Some(info.resource_type)
                    } else {
                        last_var.get(var).copied().flatten()
                    }
                })
                .collect();
            let pattern = Pattern {
                resource_type: info.resource_type,
                last_var: info.variables.last().copied().unwrap_or_default(),
                segments: segments
                    .iter()
                    .map(|s| (!s.starts_with('{')).then_some(*s))
                    .collect(),
                part_types,
            };
            by_collection
                .entry(segments[2])
                .or_default()
                .push((segments.len(), pattern));
        }
        Self { by_collection }
    }
}

/// The most id parts a name has (`{a}~{b}~...` segments included).
const MAX_PARTS: usize = 8;

/// A resource name of the request's customer, found in a string.
#[derive(Debug)]
pub(crate) struct Name<'a> {
    pub pattern: &'static Pattern,
    /// The id parts after the customer id, in order (`-3`, `-4` of `adGroupAds/-3~-4`).
    parts: [&'a str; MAX_PARTS],
    len: usize,
}

impl<'a> Name<'a> {
    pub fn parts(&self) -> &[&'a str] {
        &self.parts[..self.len]
    }

    /// The temporary id that names this resource itself (its last part), if negative.
    pub fn own_temp(&self) -> Option<i64> {
        self.parts().last().and_then(|p| temp_id(p))
    }

    /// The temporary ids of the parents it names (`-3` in `adGroupAds/-3~-4`), with the type
    /// of resource each stands for, when known.
    pub fn parent_temps(&self) -> impl Iterator<Item = (i64, Option<&'static str>)> + '_ {
        let last = self.len.saturating_sub(1);
        self.parts[..last]
            .iter()
            .zip(&self.pattern.part_types)
            .filter_map(|(part, kind)| Some((temp_id(part)?, *kind)))
    }
}

/// `-12` as a temporary id; anything else (real ids, text) is none. Up to 18 digits are read
/// by hand (they cannot overflow); longer ones go through `str::parse`, which knows where
/// `i64` ends.
pub(crate) fn temp_id(part: &str) -> Option<i64> {
    let digits = part.as_bytes().strip_prefix(b"-")?;
    if digits.is_empty() || digits.len() > 18 {
        return part.parse::<i64>().ok().filter(|id| *id < 0);
    }
    let mut id: i64 = 0;
    for digit in digits {
        if !digit.is_ascii_digit() {
            return None;
        }
        id = id * 10 + i64::from(digit - b'0');
    }
    Some(-id).filter(|id| *id < 0)
}

/// The index of temporary id `id` in a list of per-id state (-1 -> 0, -2 -> 1...): the
/// validator and the ordering edges keep such lists, since an allocator's ids are -1, -2, ...
pub(crate) fn temp_slot(id: i64) -> Option<usize> {
    if id >= 0 {
        return None;
    }
    usize::try_from(id.checked_neg()?).ok().map(|n| n - 1)
}

/// How long such a list may grow before it has been looked up much.
const DENSE_REACH: usize = 4096;

/// The new length of a list of per-id state of `len` entries, to hold `slot`: `None` when it
/// already does, or when `slot` is beyond a few times the `lookups` made so far (ids written
/// far apart by hand cannot make the list huge). Grows geometrically, so whatever the owner
/// moves into the list on growth is moved a few times only.
pub(crate) fn grown_len(slot: usize, len: usize, lookups: usize) -> Option<usize> {
    let reach = lookups.saturating_mul(4).saturating_add(DENSE_REACH);
    (slot >= len && slot < reach).then(|| (slot + 1).max(len.saturating_mul(2)).min(reach))
}

/// What a string starting `customers/` says about its customer.
pub(crate) enum Owner<'a> {
    /// Not a customer's resource name.
    None,
    /// A name of another customer (allowed for references: cross-account resources).
    Other(&'a str),
    /// A name of the request's customer, fitting a known pattern.
    Ours(Name<'a>),
    /// Of the request's customer, but fitting no pattern (a typo, or a newer API's type).
    Unknown,
}

/// The bytes every name of `customer` starts with are `customers/`, the 10 digits and `/`.
const OURS_PREFIX: usize = "customers/".len() + 10 + 1;

/// Whether `value` is a name of `customer`'s (`customers/{customer}/...`), pattern unchecked.
/// Compares fixed-length byte slices: it runs on every string of every operation checked.
pub(crate) fn is_ours(customer: CustomerId, value: &str) -> bool {
    let bytes = value.as_bytes();
    bytes.len() >= OURS_PREFIX
        && bytes[..10] == *b"customers/"
        && bytes[10..20] == customer.as_bytes()[..]
        && bytes[20] == b'/'
}

/// The customer id of a name [`is_ours`] accepted (its bytes 10 to 20).
fn customer_part(value: &str) -> &str {
    value.get(10..20).unwrap_or_default()
}

/// Reads `value` as a resource name of `customer`. Allocates nothing: it runs on every
/// string of every operation checked.
pub(crate) fn parse(customer: CustomerId, value: &str) -> Owner<'_> {
    let Some(rest) = value.strip_prefix("customers/") else {
        return Owner::None;
    };
    let Some(slash) = rest.bytes().position(|b| b == b'/') else {
        return Owner::None;
    };
    if !is_ours(customer, value) {
        return Owner::Other(&rest[..slash]);
    }
    // Only the text after the prefix is split: the first two segments are known.
    let mut segments = [""; MAX_PARTS];
    segments[0] = "customers";
    segments[1] = customer_part(value);
    let after = value.get(OURS_PREFIX..).unwrap_or_default();
    let Some(count) = split_into(after, b'/', &mut segments[2..]).map(|n| n + 2) else {
        return Owner::Unknown;
    };
    let segments = &segments[..count];
    let Some(candidates) = patterns().by_collection.get(segments[2]) else {
        return Owner::Unknown;
    };
    'patterns: for (_, pattern) in candidates.iter().filter(|(n, _)| *n == count) {
        let mut parts = [""; MAX_PARTS];
        let mut len = 0;
        for (i, (p, s)) in pattern.segments.iter().zip(segments).enumerate() {
            match p {
                // Segments 0 and 2 (`customers`, the collection) matched to get here.
                Some(_) if i == 0 || i == 2 => {}
                Some(literal) if literal != s => continue 'patterns,
                Some(_) => {}
                // Segment 1 is the customer id, checked above.
                None if i == 1 => {}
                None => {
                    let Some(n) = split_into(s, b'~', &mut parts[len..]) else {
                        continue 'patterns;
                    };
                    if parts[len..len + n].iter().any(|part| part.is_empty()) {
                        continue 'patterns;
                    }
                    len += n;
                }
            }
        }
        if len == pattern.part_types.len() {
            return Owner::Ours(Name {
                pattern,
                parts,
                len,
            });
        }
    }
    Owner::Unknown
}

/// Splits `value` at every `separator` into `into`, as `str::split` does; `None` when
/// there are more pieces than `into` holds. A byte scan: names are short, and this runs on
/// every string of every operation checked.
fn split_into<'a>(value: &'a str, separator: u8, into: &mut [&'a str]) -> Option<usize> {
    let mut count = 0;
    let mut start = 0;
    for (i, byte) in value.bytes().enumerate() {
        if byte == separator {
            *into.get_mut(count)? = &value[start..i];
            count += 1;
            start = i + 1;
        }
    }
    *into.get_mut(count)? = &value[start..];
    Some(count + 1)
}

/// Hands out temporary ids, unique across every resource type of one request or batch job:
/// -1, -2, -3...
///
/// ```
/// use google_ads::mutate::TempNames;
/// use google_ads::latest::resources::CampaignBudget;
///
/// let mut names = TempNames::new("1234567890")?;
/// let mut budget = CampaignBudget::default();
/// let name = names.assign(&mut budget)?;
/// assert_eq!(name.to_string(), "customers/1234567890/campaignBudgets/-1");
/// assert_eq!(budget.resource_name, "customers/1234567890/campaignBudgets/-1");
/// # Ok::<(), google_ads::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct TempNames {
    customer_id: CustomerId,
    last: i64,
    /// The walk's path when a composite name looks for its parents (allocated once).
    path: super::strings::FieldPath,
}

impl TempNames {
    /// An allocator for `customer_id`'s request or job.
    pub fn new(customer_id: impl crate::customer_id::IntoCustomerId) -> Result<Self, crate::Error> {
        Ok(Self {
            customer_id: customer_id.into_customer_id()?,
            last: 0,
            path: super::strings::FieldPath::default(),
        })
    }

    /// The customer the names are for.
    pub fn customer_id(&self) -> CustomerId {
        self.customer_id
    }

    /// The next unique temporary id; an error once none is left below the lowest id seen
    /// (a name written by hand with an id near `i64::MIN`).
    pub fn next_id(&mut self) -> Result<i64, crate::Error> {
        self.last = self.last.checked_sub(1).ok_or_else(|| {
            crate::Error::invalid(
                "resource_name",
                format!(
                    "no temporary id is left below {}, the lowest one in use",
                    self.last
                ),
            )
        })?;
        Ok(self.last)
    }

    /// Gives `resource` a temporary name when it has none, and returns its name, typed. A
    /// composite name (`adGroupAds/{ad_group_id}~{ad_id}`) takes its parents' ids from the
    /// resource's references (`ad_group`), temporary or real.
    pub fn assign<R: super::MutateResource>(
        &mut self,
        resource: &mut R,
    ) -> Result<R::Name, crate::Error> {
        use crate::resource_name::ResourceName as _;
        if !resource.resource_name().is_empty() {
            let name: R::Name = resource.resource_name().parse()?;
            // A temporary id written by hand: the ids handed out from now on stay below it.
            if let Some(id) = name.parts().last().and_then(|p| p.parse::<i64>().ok()) {
                self.last = self.last.min(id);
            }
            return Ok(name);
        }
        let variables = <R::Name as crate::resource_name::ResourceName>::VARIABLES;
        if !variables.last().is_some_and(|v| v.ends_with("_id")) {
            return Err(crate::Error::invalid(
                "resource_name",
                format!(
                    "a {} is named by its parts ({}), not by an id: it takes no temporary name (create it with `push`)",
                    R::RESOURCE_TYPE,
                    R::Name::PATTERN
                ),
            ));
        }
        let last = variables.len() - 1;
        // Parts borrow the customer id, the resource's references and `digits`: the typed
        // name is formatted once, from them, and the resource gets a copy of its text.
        let customer = self.customer_id;
        let mut digits = [0u8; 20];
        let mut parts = [""; MAX_PARTS];
        if variables.len() > MAX_PARTS {
            return Err(crate::Error::invalid(
                "resource_name",
                format!(
                    "{} has more parts than a temporary name takes",
                    R::Name::PATTERN
                ),
            ));
        }
        parts[0] = customer.as_str();
        if last > 1 {
            // Parent ids come from the references the resource holds: the id part of the
            // first string (in walk order) that names a resource of this customer whose last
            // variable is the one wanted.
            let wanted = &variables[1..last];
            let found = &mut parts[1..last];
            // Typed as a `Visit` so `value` borrows the resource, not the call.
            let collect: &mut super::strings::Visit<'_, '_> = &mut |_, value, _| {
                if !value.starts_with("customers/") {
                    return;
                }
                if let Owner::Ours(name) = parse(customer, value)
                    && let Some(part) = name.parts().last()
                {
                    for (var, slot) in wanted.iter().zip(found.iter_mut()) {
                        if slot.is_empty() && *var == name.pattern.last_var {
                            *slot = part;
                        }
                    }
                }
            };
            super::strings::Strings::strings(&*resource, &mut self.path, collect);
            if let Some((var, _)) = wanted
                .iter()
                .zip(&parts[1..last])
                .find(|(_, p)| p.is_empty())
            {
                return Err(crate::Error::invalid(
                    "resource_name",
                    format!(
                        "a {} needs its `{var}` for a temporary name: set the reference to its parent first",
                        R::RESOURCE_TYPE
                    ),
                ));
            }
        }
        parts[last] = decimal(self.next_id()?, &mut digits);
        let name = R::Name::from_parts(&parts[..variables.len()])?;
        resource.set_resource_name(name.as_str().to_owned());
        Ok(name)
    }
}

/// `id` in decimal, as `to_string` writes it, without the formatting machinery, in `digits`.
fn decimal(id: i64, digits: &mut [u8; 20]) -> &str {
    let mut at = digits.len();
    let mut rest = id.unsigned_abs();
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    if id < 0 {
        at -= 1;
        digits[at] = b'-';
    }
    std::str::from_utf8(&digits[at..]).unwrap_or_default()
}
