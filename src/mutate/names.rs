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
    /// The segments after the collection: `Some(literal)`, or `None` for `{a}~{b}` parts.
    tail: Vec<Option<&'static str>>,
    /// Per id part of the name (in order), the resource type that part identifies, when one
    /// pattern alone ends in a variable of that name (`ad_group_id` -> AdGroup).
    part_types: Vec<Option<&'static str>>,
}

/// Every pattern that starts `customers/{customer_id}/`, by its third segment (the collection).
struct Patterns {
    by_collection: FxHashMap<&'static str, Vec<Pattern>>,
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
        let mut by_collection: FxHashMap<&'static str, Vec<Pattern>> = FxHashMap::default();
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
                tail: segments[3..]
                    .iter()
                    .map(|s| (!s.starts_with('{')).then_some(*s))
                    .collect(),
                part_types,
            };
            by_collection.entry(segments[2]).or_default().push(pattern);
        }
        Self { by_collection }
    }
}

/// The most id parts a name has (`{a}~{b}~...` segments included).
const MAX_PARTS: usize = 8;

/// A resource name of the request's customer, found in a string: its pattern, and where
/// each id part after the customer id is (`-3`, `-4` of `adGroupAds/-3~-4`). Small and
/// copied by value: it is made for every name of every operation checked.
#[derive(Debug)]
pub(crate) struct Name<'a> {
    pub pattern: &'static Pattern,
    value: &'a str,
    spans: [(u16, u16); MAX_PARTS],
    len: u8,
}

impl<'a> Name<'a> {
    fn part(&self, i: usize) -> &'a str {
        let (start, end) = self.spans[i];
        self.value
            .get(start as usize..end as usize)
            .unwrap_or_default()
    }

    /// The id parts after the customer id, in order.
    pub fn parts(&self) -> impl Iterator<Item = &'a str> + '_ {
        (0..usize::from(self.len)).map(|i| self.part(i))
    }

    /// The last part: the id of the resource itself.
    pub fn last_part(&self) -> Option<&'a str> {
        usize::from(self.len).checked_sub(1).map(|i| self.part(i))
    }

    /// The temporary id that names this resource itself (its last part), if negative.
    pub fn own_temp(&self) -> Option<i64> {
        self.last_part().and_then(temp_id)
    }

    /// The temporary ids of the parents it names (`-3` in `adGroupAds/-3~-4`), with the type
    /// of resource each stands for, when known.
    pub fn parent_temps(&self) -> impl Iterator<Item = (i64, Option<&'static str>)> + '_ {
        let last = usize::from(self.len).saturating_sub(1);
        (0..last)
            .zip(&self.pattern.part_types)
            .filter_map(|(i, kind)| Some((temp_id(self.part(i))?, *kind)))
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

/// The list slot of a name ending in a temporary id (`.../campaigns/-12` -> 11), by its text
/// alone: its last part, after the last `/` or `~`.
pub(crate) fn name_slot(name: &str) -> Option<usize> {
    let start = name
        .bytes()
        .rposition(|b| b == b'/' || b == b'~')
        .map_or(0, |at| at + 1);
    temp_slot(temp_id(&name[start..])?)
}

/// The temporary id of a name of `customer` with no parents
/// (`customers/{customer_id}/campaigns/-12`: one part after the collection), when negative.
/// The collection is not read.
pub(crate) fn lone_temp(customer: CustomerId, name: &str) -> Option<i64> {
    if !is_ours(customer, name) {
        return None;
    }
    let after = name.get(OURS_PREFIX..)?;
    let slash = after.bytes().position(|b| b == b'/')?;
    // Digits only after the `-`: a `/` or `~` further on is another part.
    temp_id(&after[slash + 1..])
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

/// Reads `value` as a resource name of `customer`. Allocates nothing and reads each byte
/// about once: it runs on every string of every operation checked.
pub(crate) fn parse(customer: CustomerId, value: &str) -> Owner<'_> {
    let Some(rest) = value.strip_prefix("customers/") else {
        return Owner::None;
    };
    if !is_ours(customer, value) {
        return match rest.bytes().position(|b| b == b'/') {
            Some(slash) => Owner::Other(&rest[..slash]),
            None => Owner::None,
        };
    }
    // The customer prefix matched: the collection comes next, then the pattern's tail.
    let after = value.get(OURS_PREFIX..).unwrap_or_default();
    let end = after.bytes().position(|b| b == b'/').unwrap_or(after.len());
    let Some(candidates) = patterns().by_collection.get(&after[..end]) else {
        return Owner::Unknown;
    };
    candidates
        .iter()
        .find_map(|pattern| fit(pattern, after, end + 1))
        .map_or(Owner::Unknown, Owner::Ours)
}

/// `after` (a name past its customer prefix) read against `pattern`'s segments after the
/// collection, from byte `at`: literals equal, each `{a}~{b}` segment split into its
/// non-empty parts, the whole text used.
fn fit<'a>(pattern: &'static Pattern, after: &'a str, mut at: usize) -> Option<Name<'a>> {
    let bytes = after.as_bytes();
    if pattern.tail.is_empty() && at <= bytes.len() {
        // A singleton (`customers/{customer_id}/customerLifecycleGoal`): nothing may follow.
        return None;
    }
    let mut name = Name {
        pattern,
        value: after,
        spans: [(0, 0); MAX_PARTS],
        len: 0,
    };
    for (k, segment) in pattern.tail.iter().enumerate() {
        let end = bytes[at.min(bytes.len())..]
            .iter()
            .position(|b| *b == b'/')
            .map_or(bytes.len(), |slash| at + slash);
        // Every segment but the last ends at a `/`; the last ends the name.
        if (k + 1 == pattern.tail.len()) != (end == bytes.len()) || at > end {
            return None;
        }
        match segment {
            Some(literal) => {
                if after.get(at..end)? != *literal {
                    return None;
                }
            }
            None => {
                let mut start = at;
                for part in bytes[at..end].split(|b| *b == b'~') {
                    let slot = name.spans.get_mut(usize::from(name.len))?;
                    if part.is_empty() {
                        return None;
                    }
                    let end = start + part.len();
                    *slot = (u16::try_from(start).ok()?, u16::try_from(end).ok()?);
                    name.len += 1;
                    start = end + 1;
                }
            }
        }
        at = end + 1;
    }
    (usize::from(name.len) == pattern.part_types.len()).then_some(name)
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
                    && let Some(part) = name.last_part()
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
        // Every part keeps the rules: the customer id was checked, the id is written here,
        // and parents are parts of parsed names (never empty, no `/` or `~`).
        let name = R::Name::from_checked_parts(&parts[..variables.len()])?;
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
