//! Which operations must stay in order, and what that allows: grouping a request into runs of
//! one resource type, and splitting work over several requests in the caller's order without
//! cutting what belongs together.
//!
//! The ordering edges: two operations that mention the same resource name of the customer
//! (temporary or real) are ordered when at least one of them writes it (creates, updates or
//! removes it): a create before every use of its temporary name, "remove ad group X" before
//! "create a criterion in X". Two operations that only read the same name are not ordered.
//! Operations of one resource type always keep their relative order.

use rustc_hash::FxHashMap;

use super::members;
use super::names;
use crate::CustomerId;
use crate::error::Violation;

/// The ordering edges of a list of operations, and each one's resource type.
pub(crate) struct Deps {
    /// The member index of each operation (its resource type).
    pub kinds: Vec<u16>,
    /// The earlier operations each one must follow, all lists end to end: operation `i`'s are
    /// `pred_list[pred_start[i]..pred_start[i + 1]]` (one allocation, not one per operation).
    pred_start: Vec<u32>,
    pred_list: Vec<u32>,
}

impl Deps {
    /// The earlier operations operation `i` must follow.
    pub fn preds(&self, i: usize) -> &[u32] {
        &self.pred_list[self.pred_start[i] as usize..self.pred_start[i + 1] as usize]
    }

    fn with_capacity(n: usize) -> Self {
        let mut pred_start = Vec::with_capacity(n + 1);
        pred_start.push(0);
        Deps {
            kinds: Vec::with_capacity(n),
            pred_start,
            pred_list: Vec::new(),
        }
    }

    /// The edges among the operations of `part` (ascending indices), renumbered to
    /// positions in `part`.
    pub fn within(&self, part: &[usize]) -> Deps {
        let mut position: Vec<u32> = vec![u32::MAX; self.kinds.len()];
        for (k, i) in part.iter().enumerate() {
            if let Some(slot) = position.get_mut(*i) {
                *slot = k as u32;
            }
        }
        let mut sub = Deps::with_capacity(part.len());
        for i in part {
            let preds = self
                .preds(*i)
                .iter()
                .filter_map(|p| position.get(*p as usize).copied())
                .filter(|k| *k != u32::MAX);
            sub.push(self.kinds[*i], preds);
        }
        sub
    }

    /// Adds the next operation, of `kind`, following `preds`.
    fn push(&mut self, kind: u16, preds: impl IntoIterator<Item = u32>) {
        self.kinds.push(kind);
        self.pred_list.extend(preds);
        self.pred_start.push(self.pred_list.len() as u32);
    }
}

/// Who last wrote a name, and the first of the readers since (a list through
/// [`DepsBuilder::readers`], so a name costs no allocation of its own).
#[derive(Clone, Copy)]
struct NameState {
    last_writer: Option<u32>,
    readers: u32,
}

/// The end of a readers list.
const NO_READER: u32 = u32::MAX;

const UNTOUCHED: NameState = NameState {
    last_writer: None,
    readers: NO_READER,
};

/// Each name's state. Most names end in a temporary id (`.../campaigns/-12`), and an
/// allocator's ids are -1, -2, ...: a name is first looked for in a list at `-id - 1`, whose
/// slot belongs to the first name that claimed it; other names (real ids, a second name with
/// the same id) go in a hash table. The list grows within a few times the lookups made, and a
/// name moves from the table to the list when the list reaches its slot unclaimed, so each
/// name has one state. Names in order mostly come with ids in order: the list is read
/// mostly in order, where the table's buckets are all over memory.
#[derive(Default)]
struct NameTable<'o> {
    dense: Vec<(&'o str, NameState)>,
    sparse: FxHashMap<&'o str, NameState>,
    lookups: usize,
}

impl<'o> NameTable<'o> {
    fn with_capacity(capacity: usize) -> Self {
        Self {
            dense: Vec::with_capacity(capacity),
            sparse: FxHashMap::default(),
            lookups: 0,
        }
    }

    /// The state of `name` (not empty), added untouched when new.
    fn get(&mut self, name: &'o str) -> &mut NameState {
        self.lookups = self.lookups.saturating_add(1);
        if let Some(slot) = names::name_slot(name) {
            if let Some(len) = names::grown_len(slot, self.dense.len(), self.lookups) {
                self.dense.resize(len, ("", UNTOUCHED));
                if !self.sparse.is_empty() {
                    let dense = &mut self.dense;
                    self.sparse.retain(|name, state| {
                        match names::name_slot(name).and_then(|slot| dense.get_mut(slot)) {
                            Some(entry) if entry.0.is_empty() => {
                                *entry = (name, *state);
                                false
                            }
                            _ => true,
                        }
                    });
                }
            }
            if let Some(entry) = self.dense.get_mut(slot) {
                if entry.0.is_empty() {
                    entry.0 = name;
                }
                if entry.0 == name {
                    return &mut self.dense[slot].1;
                }
            }
        }
        self.sparse.entry(name).or_insert(UNTOUCHED)
    }
}

/// Builds [`Deps`] one operation at a time, from the names each mentions (the validator's
/// walk hands them over: one walk of each operation serves both).
pub(crate) struct DepsBuilder<'o> {
    customer: CustomerId,
    names: NameTable<'o>,
    /// Every readers list, end to end: (reader, next).
    readers: Vec<(u32, u32)>,
    deps: Deps,
    mentions: Vec<&'o str>,
    before: Vec<u32>,
}

impl<'o> DepsBuilder<'o> {
    pub fn new(customer: CustomerId, capacity: usize) -> Self {
        Self {
            customer,
            names: NameTable::with_capacity(capacity),
            readers: Vec::with_capacity(capacity),
            deps: Deps::with_capacity(capacity),
            mentions: Vec::new(),
            before: Vec::new(),
        }
    }

    /// A string of the next operation's body (any: those not naming the customer's
    /// resources are skipped).
    pub fn mention(&mut self, value: &'o str) {
        if names::is_ours(self.customer, value) {
            self.mentions.push(value);
        }
    }

    /// Ends the next operation, the one whose strings were just mentioned.
    pub fn push(&mut self, info: &members::OperationInfo<'o>) {
        let i = u32::try_from(self.deps.kinds.len()).unwrap_or(u32::MAX);
        let own = info
            .own_name
            .filter(|name| names::is_ours(self.customer, name));
        let mut mentions = std::mem::take(&mut self.mentions);
        let mut before = std::mem::take(&mut self.before);
        if let Some(own) = own {
            mentions.retain(|name| *name != own);
        }
        if mentions.len() > 1 {
            mentions.sort_unstable();
            mentions.dedup();
        }
        for name in &mentions {
            let state = self.names.get(name);
            before.extend(state.last_writer);
            self.readers.push((i, state.readers));
            state.readers = (self.readers.len() - 1) as u32;
        }
        if let Some(own) = own {
            let state = self.names.get(own);
            before.extend(state.last_writer);
            let mut reader = state.readers;
            while let Some((r, next)) = self.readers.get(reader as usize) {
                if *r != i {
                    before.push(*r);
                }
                reader = *next;
            }
            state.readers = NO_READER;
            state.last_writer = Some(i);
        }
        if before.len() > 1 {
            before.sort_unstable();
            before.dedup();
        }
        self.deps.push(info.kind, before.iter().copied());
        mentions.clear();
        before.clear();
        self.mentions = mentions;
        self.before = before;
    }

    pub fn finish(self) -> Deps {
        self.deps
    }
}

/// A send order with runs of one resource type, keeping every edge of `deps`.
///
/// Greedy: emit operations of the current type while the next one of that type has all its
/// predecessors emitted; when it has not (or none is left), switch to the type whose next
/// operation is ready and comes first in the caller's order. Each type's operations keep their
/// order. Exact minimisation of the type changes is NP-hard in general; on the inputs the
/// tests search exhaustively (up to 8 operations) the greedy order's run count is compared
/// with the minimum. Returns, for each position sent, the caller's index.
pub(crate) fn group_by_type(deps: &Deps) -> Vec<usize> {
    let n = deps.kinds.len();
    let mut remaining: Vec<u32> = (0..n).map(|i| deps.preds(i).len() as u32).collect();
    // Successors, all lists end to end: operation `i`'s are
    // `succ_list[succ_start[i]..succ_start[i + 1]]`.
    let mut succ_start: Vec<u32> = vec![0; n + 1];
    for p in &deps.pred_list {
        succ_start[*p as usize + 1] += 1;
    }
    for i in 0..n {
        succ_start[i + 1] += succ_start[i];
    }
    let mut fill: Vec<u32> = succ_start[..n].to_vec();
    let mut succ_list: Vec<u32> = vec![0; deps.pred_list.len()];
    for i in 0..n {
        for p in deps.preds(i) {
            let slot = &mut fill[*p as usize];
            succ_list[*slot as usize] = i as u32;
            *slot += 1;
        }
    }
    // Each type's operations in order, the same way: type `t` (dense, by first appearance)
    // has `queue_list[queue_start[t]..queue_start[t + 1]]`, its front at `front[t]`.
    let mut dense: Vec<u32> = Vec::new();
    let mut kind_of: Vec<u32> = Vec::with_capacity(n);
    let mut sizes: Vec<u32> = Vec::new();
    for kind in &deps.kinds {
        let k = usize::from(*kind);
        if dense.len() <= k {
            dense.resize(k + 1, u32::MAX);
        }
        if dense[k] == u32::MAX {
            dense[k] = sizes.len() as u32;
            sizes.push(0);
        }
        kind_of.push(dense[k]);
        sizes[dense[k] as usize] += 1;
    }
    let types = sizes.len();
    let mut queue_start: Vec<u32> = vec![0; types + 1];
    for t in 0..types {
        queue_start[t + 1] = queue_start[t] + sizes[t];
    }
    let mut front: Vec<u32> = queue_start[..types].to_vec();
    let mut queue_list: Vec<u32> = vec![0; n];
    {
        let mut fill = front.clone();
        for (i, t) in kind_of.iter().enumerate() {
            queue_list[fill[*t as usize] as usize] = i as u32;
            fill[*t as usize] += 1;
        }
    }
    // The next operation of type `t` when it is ready.
    let ready = |t: usize, front: &[u32], remaining: &[u32]| {
        (front[t] < queue_start[t + 1])
            .then(|| queue_list[front[t] as usize])
            .filter(|i| remaining[*i as usize] == 0)
    };
    let mut order = Vec::with_capacity(n);
    let mut current = kind_of.first().map(|t| *t as usize);
    while order.len() < n {
        let t = match current.filter(|t| ready(*t, &front, &remaining).is_some()) {
            Some(t) => t,
            None => {
                let next = (0..types)
                    .filter_map(|t| Some((ready(t, &front, &remaining)?, t)))
                    .min()
                    .map(|(_, t)| t);
                match next {
                    Some(t) => t,
                    // A cycle cannot come from edges that all point forward; stop rather than
                    // loop if it ever did.
                    None => break,
                }
            }
        };
        current = Some(t);
        while let Some(i) = ready(t, &front, &remaining) {
            front[t] += 1;
            order.push(i as usize);
            let i = i as usize;
            for s in &succ_list[succ_start[i] as usize..succ_start[i + 1] as usize] {
                remaining[*s as usize] -= 1;
            }
        }
    }
    if order.len() < n {
        // Unreachable with forward edges; keep the caller's order rather than drop anything.
        return (0..n).collect();
    }
    order
}

/// Where to cut `n` operations into parts of at most `limit` (at least 1): each cut as late
/// as the limit allows, never inside a linked stretch. `stretches` are (first, last) with
/// first < last, sorted and disjoint; a cut at `c` separates operations `c - 1` and `c`. The
/// error is the first stretch no part can hold. The one cut rule of partial-failure requests
/// ([`partition`]) and of batch jobs (a fleet's plan and its merged stream's buffers).
pub(crate) fn cut_points(
    n: u64,
    stretches: &[(u64, u64)],
    limit: u64,
) -> Result<Vec<u64>, (u64, u64)> {
    let limit = limit.max(1);
    let mut cuts = Vec::new();
    let mut start = 0u64;
    while n - start > limit {
        let mut cut = start + limit;
        // Not inside a stretch (a, b]: a < cut <= b.
        let inside = stretches.partition_point(|(a, _)| *a < cut);
        if let Some(&(a, b)) = inside.checked_sub(1).and_then(|i| stretches.get(i))
            && cut <= b
        {
            if a <= start {
                return Err((a, b));
            }
            cut = a;
        }
        cuts.push(cut);
        start = cut;
    }
    Ok(cuts)
}

/// Splits operations into parts of at most `limit`, each a contiguous range of the caller's
/// order: parts go in order and nothing is reordered across them (an update renaming a
/// campaign stays ahead of a later create taking the old name, though nothing links the two).
/// A cut never falls between two operations joined by an edge of `deps` or by `links` (pairs
/// that must travel together, like a batch job's all-or-nothing sub-batches): the linked
/// stretches (overlapping linked pairs, merged, with whatever lies between) stay whole, and
/// each cut falls as late as the limit allows. A stretch longer than `limit` is an error naming
/// its first and last operation.
pub(crate) fn partition(
    deps: &Deps,
    links: &[(usize, usize)],
    limit: usize,
    list: &str,
) -> Result<Vec<Vec<usize>>, Vec<Violation>> {
    let n = deps.kinds.len();
    let limit = limit.max(1);
    // The earliest operation each one is linked to (itself when none).
    let mut earliest: Vec<usize> = (0..n)
        .map(|i| deps.preds(i).iter().fold(i, |e, p| e.min(*p as usize)))
        .collect();
    for (a, b) in links {
        let (low, high) = if a < b { (*a, *b) } else { (*b, *a) };
        if let Some(e) = earliest.get_mut(high) {
            *e = (*e).min(low);
        }
    }
    // A cut before operation `c` is allowed when nothing from `c` on reaches back before it:
    // one pass from the end, keeping the farthest reach, gives the stretches (start, end).
    let mut stretches: Vec<(usize, usize)> = Vec::new();
    let (mut reach, mut end) = (n, n);
    for c in (0..n).rev() {
        reach = reach.min(earliest[c]);
        if reach >= c {
            stretches.push((c, end));
            end = c;
        }
    }
    stretches.reverse();
    // The stretches that link more than one operation, as the cut rule takes them.
    let linked: Vec<(u64, u64)> = stretches
        .iter()
        .filter(|(a, b)| b - a > 1)
        .map(|(a, b)| (*a as u64, (*b - 1) as u64))
        .collect();
    let Ok(cuts) = cut_points(n as u64, &linked, limit as u64) else {
        // Every stretch too long, not only the first the cut rule met.
        return Err(stretches
            .iter()
            .filter(|(a, b)| b - a > limit)
            .map(|(a, b)| {
                Violation::new(
                    Some(*a),
                    format!("{list}[{a}..={}]", b - 1),
                    format!(
                        "{} operations must go in one request, which holds at most {limit}: linked operations (temporary names, or a resource one writes and another uses) go in one request with those between them, as requests keep the caller's order",
                        b - a
                    ),
                )
            })
            .collect());
    };
    let bounds = std::iter::once(0).chain(cuts.iter().map(|c| *c as usize));
    let ends = cuts.iter().map(|c| *c as usize).chain(std::iter::once(n));
    Ok(bounds
        .zip(ends)
        .filter(|(a, b)| a < b)
        .map(|(a, b)| (a..b).collect())
        .collect())
}
