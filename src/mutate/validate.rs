//! The checks a request (or a whole batch job) passes before anything is sent: temporary names
//! created once, before use, for one resource type, and used only if created; operations
//! writing only the request's customer's resources; updates with a mask.
//!
//! Operations are fed one at a time ([`Validator::check`]), so a batch job of a million is
//! checked as it streams by. State kept per temporary id: its type and where it was created,
//! 24 bytes in a list indexed by the id (an allocator's ids are -1, -2, ...; ids written far
//! apart go in a hash table instead); references seen before their create are kept only
//! until the create comes (they are errors anyway).

use rustc_hash::FxHashMap;

use super::members::{self, OperationInfo, Verb};
use super::names::{self, Owner};
use super::strings::FieldPath;
use crate::error::Violation;
use crate::latest::services::MutateOperation;
use crate::{CustomerId, Error};

/// The most operations one GoogleAdsService.Mutate request takes.
pub const MAX_OPERATIONS_PER_REQUEST: usize = 10_000;

/// What is known of one temporary id.
#[derive(Clone, Copy)]
struct Temp {
    /// The resource type, by its pattern's address (u16 would do; a pointer keeps it simple).
    resource_type: Option<&'static str>,
    /// The operation that creates it.
    created_at: Option<u32>,
}

/// What is known of each temporary id. The ids an allocator hands out are -1, -2, -3...: those
/// are kept in a list indexed by `-id - 1` (no hashing), as long as the list stays within a
/// few times the number of lookups (so ids written far apart by hand cannot make it huge);
/// other ids go in a hash table. An id is in one or the other, never both.
#[derive(Default)]
struct Temps {
    dense: Vec<Temp>,
    sparse: FxHashMap<i64, Temp>,
    lookups: usize,
}

const UNKNOWN: Temp = Temp {
    resource_type: None,
    created_at: None,
};

impl Temps {
    /// The entry of `id`, added (nothing known yet) when new.
    fn get(&mut self, id: i64) -> &mut Temp {
        self.lookups = self.lookups.saturating_add(1);
        if let Some(slot) = names::temp_slot(id) {
            if slot < self.dense.len() {
                return &mut self.dense[slot];
            }
            if let Some(len) = names::grown_len(slot, self.dense.len(), self.lookups) {
                self.dense.resize(len, UNKNOWN);
                // Ids kept in the table until now that the list covers move to it.
                if !self.sparse.is_empty() {
                    let dense = &mut self.dense;
                    self.sparse.retain(|id, temp| {
                        match names::temp_slot(*id).and_then(|slot| dense.get_mut(slot)) {
                            Some(place) => {
                                *place = *temp;
                                false
                            }
                            None => true,
                        }
                    });
                }
                return &mut self.dense[slot];
            }
        }
        self.sparse.entry(id).or_insert(UNKNOWN)
    }
}

/// A reference to a temporary id before its create: (operation, field path, value).
type Early = (usize, String, String);

/// Checks operations one by one, in the order they will be sent.
pub(crate) struct Validator {
    customer: CustomerId,
    /// The name of the operations list in error paths (`mutate_operations`).
    list: &'static str,
    temps: Temps,
    early: FxHashMap<i64, Vec<Early>>,
    violations: Vec<Violation>,
    /// The walk's path, kept between operations so it is allocated once.
    path: FieldPath,
}

impl Validator {
    pub fn new(customer: CustomerId, list: &'static str) -> Self {
        Self {
            customer,
            list,
            temps: Temps::default(),
            early: FxHashMap::default(),
            violations: Vec::new(),
            path: FieldPath::default(),
        }
    }

    /// Checks operation `index` (the caller's index). Builds no string unless a rule is
    /// broken: it runs on every operation sent.
    pub fn check(&mut self, index: usize, operation: &MutateOperation) {
        self.check_info(index, &members::info(operation), false, &[], &mut |_| {});
    }

    /// [`check`](Self::check) of an operation already read, also handing `mention` every
    /// string of its body that starts `customers/` (what the ordering edges read) but the
    /// resource's own `resource_name` (its own name, which the edges read apart), so one walk
    /// of the operation serves both. `allocated`: the operation creates a resource whose
    /// name `Operations::create` allocated (of this customer, fitting the resource's pattern,
    /// its parents read from references that the walk of its body checks), so only its id
    /// is read from it. `earlier` holds the operations checked before (by index; empty when
    /// they are gone, as in a streamed batch job): a reference that is, byte for byte, the
    /// name its temporary id's create wrote is known without parsing it again.
    pub fn check_info<'a>(
        &mut self,
        index: usize,
        info: &OperationInfo<'a>,
        allocated: bool,
        earlier: &[MutateOperation],
        mention: &mut dyn FnMut(&'a str),
    ) {
        let list = self.list;
        let verb_path = || match info.verb {
            Verb::Action => format!("{list}[{index}].{}", info.member),
            verb => format!("{list}[{index}].{}.{}", info.member, verb.field()),
        };
        if info.verb == Verb::Empty {
            self.violate(index, format!("{list}[{index}]"), "no operation is set");
            return;
        }
        // The resource the operation writes: created, updated or removed.
        if let Some(own) = info.own_name {
            let field = || match info.verb {
                Verb::Remove => verb_path(),
                _ => format!("{}.resource_name", verb_path()),
            };
            // An allocated name with parents is read whole: its parents' checks name its
            // `resource_name` too. The customer is compared even so: `Operations::names`
            // lets a caller swap the allocator for another customer's.
            if allocated
                && info.verb == Verb::Create
                && let Some(id) = names::lone_temp(self.customer, own)
            {
                self.create(index, &field, own, id, Some(info.resource_type));
            } else {
                self.own_name(index, &field, own, info.verb, info.resource_type);
            }
        } else if info.verb == Verb::Update {
            self.violate(
                index,
                format!("{}.resource_name", verb_path()),
                "an update names the resource it changes",
            );
        }
        if info.verb == Verb::Update && info.update_mask.is_none_or(|m| m.paths.is_empty()) {
            self.violate(
                index,
                format!("{list}[{index}].{}.update_mask", info.member),
                "an update needs a mask naming the fields it changes (none is set)",
            );
        }
        let Some(body) = info.body else { return };
        let customer = self.customer;
        let mut path = std::mem::take(&mut self.path);
        let mut visit = |path: &FieldPath, value: &'a str, reference: &'static str| {
            if !value.starts_with("customers/") {
                return;
            }
            // The resource's own name was read above (and is the operation's own name, which
            // the ordering edges take apart from its mentions).
            if info.verb != Verb::Action && path.is("resource_name") {
                return;
            }
            mention(value);
            let field = || format!("{}.{path}", verb_path());
            if let Some(kind) = self.created_as(value, earlier) {
                // Created before, under this very name: the create's checks cover it but
                // for the field's own type.
                self.field_type(index, &field, value, reference, kind);
                return;
            }
            let Owner::Ours(name) = names::parse(customer, value) else {
                return;
            };
            for (id, kind) in name.parent_temps() {
                self.reference(index, &field, value, id, kind);
            }
            if let Some(id) = name.own_temp() {
                let kind = name.pattern.resource_type;
                self.field_type(index, &field, value, reference, kind);
                self.reference(index, &field, value, id, Some(kind));
            }
        };
        body.strings(&mut path, &mut visit);
        self.path = path;
    }

    /// A field annotated with the resource type it takes (`reference`, "" when none) holding
    /// the temporary name `value` of type `kind`: they must agree.
    fn field_type(
        &mut self,
        index: usize,
        field: &dyn Fn() -> String,
        value: &str,
        reference: &'static str,
        kind: &'static str,
    ) {
        if !reference.is_empty() && kind != reference {
            self.violate(
                index,
                field(),
                format!(
                    "takes a {} but the temporary name {value} is a {}",
                    short(reference),
                    short(kind)
                ),
            );
        }
    }

    /// The resource type of the temporary name `value` when it is exactly the name written
    /// by the operation (among `earlier`) that created its id: a slot read and a compare,
    /// where parsing it again costs a table lookup and a split.
    /// Only while every check so far passed: then each id's type is its create's, and the
    /// name's parents were created before it, so parsing it would find nothing new.
    fn created_as(&self, value: &str, earlier: &[MutateOperation]) -> Option<&'static str> {
        if !self.violations.is_empty() || !self.early.is_empty() {
            return None;
        }
        let temp = self.temps.dense.get(names::name_slot(value)?)?;
        let creator = earlier.get(usize::try_from(temp.created_at?).ok()?)?;
        (members::info(creator).own_name? == value)
            .then_some(temp.resource_type)
            .flatten()
    }

    /// The name an operation writes: it must be the request's customer's; a create's
    /// temporary id is created here, an update's or remove's is a use.
    fn own_name(
        &mut self,
        index: usize,
        field: &dyn Fn() -> String,
        value: &str,
        verb: Verb,
        resource_type: &'static str,
    ) {
        match names::parse(self.customer, value) {
            Owner::Other(other) => self.violate(
                index,
                field(),
                format!(
                    "names a resource of customer {other}, but the request is for customer {} (an operation writes only its own customer's resources)",
                    self.customer
                ),
            ),
            Owner::None => self.violate(
                index,
                field(),
                format!("{value:?} is not a resource name of customer {}", self.customer),
            ),
            Owner::Unknown => {}
            Owner::Ours(name) => {
                for (id, kind) in name.parent_temps() {
                    self.reference(index, field, value, id, kind);
                }
                let Some(id) = name.own_temp() else { return };
                let kind = Some(name.pattern.resource_type);
                if name.pattern.resource_type != resource_type && !resource_type.is_empty() {
                    self.violate(
                        index,
                        field(),
                        format!("{value} is not a {} name", short(resource_type)),
                    );
                }
                match verb {
                    Verb::Create => self.create(index, field, value, id, kind),
                    _ => self.reference(index, field, value, id, kind),
                }
            }
        }
    }

    fn create(
        &mut self,
        index: usize,
        field: &dyn Fn() -> String,
        value: &str,
        id: i64,
        kind: Option<&'static str>,
    ) {
        let before = self.typed(index, field, value, id, kind);
        match before.created_at {
            Some(first) => self.violate(
                index,
                field(),
                format!("temporary id {id} is created twice: operation {first} creates it already (each temporary id is unique in a request or job, across resource types)"),
            ),
            None => {
                self.temps.get(id).created_at = Some(u32::try_from(index).unwrap_or(u32::MAX));
            }
        }
        if self.early.is_empty() {
            return;
        }
        for (user, user_field, user_value) in self.early.remove(&id).unwrap_or_default() {
            self.violate(
                user,
                user_field,
                format!("the temporary name {user_value} is used before the operation that creates it (operation {index})"),
            );
        }
    }

    fn reference(
        &mut self,
        index: usize,
        field: &dyn Fn() -> String,
        value: &str,
        id: i64,
        kind: Option<&'static str>,
    ) {
        if self
            .typed(index, field, value, id, kind)
            .created_at
            .is_none()
        {
            self.early
                .entry(id)
                .or_default()
                .push((index, field(), value.to_owned()));
        }
    }

    /// Records that temporary id `id` is of type `kind` (the first type known sticks), names
    /// a clash with the type known before, and returns what was known before.
    fn typed(
        &mut self,
        index: usize,
        field: &dyn Fn() -> String,
        value: &str,
        id: i64,
        kind: Option<&'static str>,
    ) -> Temp {
        let temp = self.temps.get(id);
        let before = *temp;
        if before.resource_type.is_none() {
            temp.resource_type = kind;
        }
        if let (Some(known), Some(kind)) = (before.resource_type, kind)
            && known != kind
        {
            self.violate(
                index,
                field(),
                format!(
                    "temporary id {id} is used for two resource types: {} and {} ({value})",
                    short(known),
                    short(kind)
                ),
            );
        }
        before
    }

    fn violate(&mut self, index: usize, field: impl Into<String>, rule: impl Into<String>) {
        self.violations
            .push(Violation::new(Some(index), field, rule));
    }

    #[allow(dead_code)] // read by the batch driver, which checks a job as it streams
    /// The rules broken so far (references to ids not created yet are not counted until
    /// [`finish`](Self::finish)).
    pub fn violations(&self) -> &[Violation] {
        &self.violations
    }

    /// Ends the check: references to temporary ids never created are errors now.
    pub fn finish(mut self) -> Result<(), Error> {
        let mut never: Vec<(i64, Vec<Early>)> = self.early.drain().collect();
        never.sort_by_key(|(_, uses)| uses.first().map(|u| u.0));
        for (id, uses) in never {
            for (index, field, value) in uses {
                self.violations.push(Violation::new(
                    Some(index),
                    field,
                    format!("the temporary name {value} is never created: no operation creates temporary id {id}"),
                ));
            }
        }
        if self.violations.is_empty() {
            return Ok(());
        }
        self.violations.sort_by_key(Violation::operation);
        Err(Error::violated(self.violations))
    }
}

/// `googleads.googleapis.com/Campaign` -> `Campaign`.
fn short(resource_type: &str) -> &str {
    resource_type.rsplit('/').next().unwrap_or(resource_type)
}
