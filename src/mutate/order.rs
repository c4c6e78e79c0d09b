//! Which operations must stay in order, and what that allows: grouping a request into runs of
//! one resource type, and splitting work over several requests (or batch jobs) without cutting
//! what belongs together.
//!
//! The ordering edges: two operations that mention the same resource name of the customer
//! (temporary or real) are ordered when at least one of them writes it (creates, updates or
//! removes it): a create before every use of its temporary name, "remove ad group X" before
//! "create a criterion in X". Two operations that only read the same name are not ordered.
//! Operations of one resource type always keep their relative order.

use std::collections::{HashMap, VecDeque};

use rustc_hash::FxHashMap;

use super::members;
use super::names;
use super::strings::FieldPath;
use crate::CustomerId;
use crate::error::Violation;
use crate::latest::services::MutateOperation;

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
        let position: FxHashMap<usize, u32> = part
            .iter()
            .enumerate()
            .map(|(k, i)| (*i, k as u32))
            .collect();
        let mut sub = Deps::with_capacity(part.len());
        for i in part {
            let preds = self
                .preds(*i)
                .iter()
                .filter_map(|p| position.get(&(*p as usize)).copied());
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

/// Who last wrote a name, and who read it since.
#[derive(Default)]
struct NameState {
    last_writer: Option<u32>,
    readers: Vec<u32>,
}

/// The ordering edges of `operations` (see the module doc).
pub(crate) fn deps<'o>(customer: CustomerId, operations: &'o [MutateOperation]) -> Deps {
    let mut names: FxHashMap<&'o str, NameState> = FxHashMap::default();
    let mut deps = Deps::with_capacity(operations.len());
    let mut mentions: Vec<&'o str> = Vec::new();
    let mut before: Vec<u32> = Vec::new();
    let mut path = FieldPath::default();
    for (i, operation) in operations.iter().enumerate() {
        let i = u32::try_from(i).unwrap_or(u32::MAX);
        let info = members::info(operation);
        let own = info.own_name.filter(|name| names::is_ours(customer, name));
        mentions.clear();
        before.clear();
        if let Some(body) = info.body {
            let mut visit = |_: &FieldPath, value: &'o str, _: &'static str| {
                if Some(value) != own && names::is_ours(customer, value) {
                    mentions.push(value);
                }
            };
            body.strings(&mut path, &mut visit);
        }
        if mentions.len() > 1 {
            mentions.sort_unstable();
            mentions.dedup();
        }
        for name in &mentions {
            let state = names.entry(name).or_default();
            before.extend(state.last_writer);
            state.readers.push(i);
        }
        if let Some(own) = own {
            let state = names.entry(own).or_default();
            before.extend(state.last_writer);
            before.extend(state.readers.drain(..).filter(|r| *r != i));
            state.last_writer = Some(i);
        }
        if before.len() > 1 {
            before.sort_unstable();
            before.dedup();
        }
        deps.push(info.kind, before.iter().copied());
    }
    deps
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
    let mut succs: Vec<Vec<u32>> = vec![Vec::new(); n];
    for i in 0..n {
        for p in deps.preds(i) {
            succs[*p as usize].push(i as u32);
        }
    }
    let mut queues: HashMap<u16, VecDeque<usize>> = HashMap::new();
    for (i, kind) in deps.kinds.iter().enumerate() {
        queues.entry(*kind).or_default().push_back(i);
    }
    let ready = |queue: &VecDeque<usize>, remaining: &[u32]| {
        queue.front().is_some_and(|i| remaining[*i] == 0)
    };
    let mut order = Vec::with_capacity(n);
    let mut current = deps.kinds.first().copied();
    while order.len() < n {
        let kind = match current.filter(|k| ready(&queues[k], &remaining)) {
            Some(kind) => kind,
            None => {
                let next = queues
                    .iter()
                    .filter(|(_, q)| ready(q, &remaining))
                    .min_by_key(|(_, q)| q.front().copied())
                    .map(|(k, _)| *k);
                match next {
                    Some(kind) => kind,
                    // A cycle cannot come from edges that all point forward; stop rather than
                    // loop if it ever did.
                    None => break,
                }
            }
        };
        current = Some(kind);
        let queue = queues.get_mut(&kind).expect("kind has a queue");
        while let Some(&i) = queue.front() {
            if remaining[i] != 0 {
                break;
            }
            queue.pop_front();
            order.push(i);
            for s in &succs[i] {
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

/// Splits operations into parts of at most `limit`, never separating two operations joined by
/// an edge of `deps` (nor by `links`: pairs that must travel together, like a batch job's
/// all-or-nothing sub-batches). Parts keep the caller's order inside, and come in the order of
/// their first operation, so an edge between parts (there is none) could not be broken either.
/// A linked group larger than `limit` is an error naming its operations.
pub(crate) fn partition(
    deps: &Deps,
    links: &[(usize, usize)],
    limit: usize,
    list: &str,
) -> Result<Vec<Vec<usize>>, Vec<Violation>> {
    let n = deps.kinds.len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let join = |a: usize, b: usize, parent: &mut Vec<usize>| {
        let (ra, rb) = (root(parent, a), root(parent, b));
        if ra != rb {
            // The earlier operation's root stays the root: groups are named by their first.
            let (low, high) = if ra < rb { (ra, rb) } else { (rb, ra) };
            parent[high] = low;
        }
    };
    for i in 0..n {
        for p in deps.preds(i) {
            join(i, *p as usize, &mut parent);
        }
    }
    for (a, b) in links {
        if *a < n && *b < n {
            join(*a, *b, &mut parent);
        }
    }
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut group_of: HashMap<usize, usize> = HashMap::new();
    for i in 0..n {
        let r = root(&mut parent, i);
        let g = *group_of.entry(r).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[g].push(i);
    }
    let too_big: Vec<Violation> = groups
        .iter()
        .filter(|g| g.len() > limit)
        .map(|g| {
            Violation::new(
                g.first().copied(),
                format!("{list}[{}..={}]", g[0], g[g.len() - 1]),
                format!(
                    "{} operations are linked (temporary names, or a resource one writes and another uses) and must go in one request, which holds at most {limit}",
                    g.len()
                ),
            )
        })
        .collect();
    if !too_big.is_empty() {
        return Err(too_big);
    }
    let mut parts: Vec<Vec<usize>> = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    for group in groups {
        if current.len() + group.len() > limit {
            parts.push(std::mem::take(&mut current));
        }
        current.extend(group);
    }
    if !current.is_empty() {
        parts.push(current);
    }
    for part in &mut parts {
        part.sort_unstable();
    }
    Ok(parts)
}
