//! Splitting one customer's work into jobs: at most `job_size` operations each, cut only
//! where nothing links across (a temporary name's create and every use of it, an
//! all-or-nothing sub-batch), read in one pass over the source with a few bytes per
//! temporary id; and what each job touches (the campaigns and ad groups it names), so two
//! jobs of one customer on the same objects never run at once.

use std::collections::BTreeSet;

use futures_util::StreamExt as _;
use rustc_hash::FxHashMap;

use crate::batch::OperationSource;
use crate::batch::checks::sub_batch;
use crate::error::Violation;
use crate::latest::services::MutateOperation;
use crate::mutate::{FieldPath, Owner, Verb, cut_points, info, parse};
use crate::{CustomerId, Error, GoogleAdsClient};

/// The first and last operation of every linked group, for the cut points.
#[derive(Default)]
struct Spans {
    /// Temporary id -> (first, last) mention.
    temps: FxHashMap<i64, (u64, u64)>,
    /// Runs of one sub-batch.
    groups: Vec<(u64, u64)>,
    open: Option<(String, u64, u64)>,
}

impl Spans {
    fn mention(&mut self, id: i64, at: u64) {
        let span = self.temps.entry(id).or_insert((at, at));
        span.1 = at;
    }

    fn operation(&mut self, customer: CustomerId, at: u64, operation: &MutateOperation) {
        temp_mentions(customer, operation, |id, _, _| self.mention(id, at));
        let key = sub_batch(operation).map(|(kind, parent)| format!("{kind} {parent}"));
        match (&mut self.open, key) {
            (Some((open, _, last)), Some(key)) if *open == key => *last = at,
            (open, key) => {
                if let Some((_, first, last)) = open.take() {
                    self.groups.push((first, last));
                }
                *open = key.map(|k| (k, at, at));
            }
        }
    }

    /// The linked stretches (first, last), merged and in order.
    fn stretches(mut self) -> Vec<(u64, u64)> {
        if let Some((_, first, last)) = self.open.take() {
            self.groups.push((first, last));
        }
        let mut all: Vec<(u64, u64)> = self
            .temps
            .into_values()
            .chain(self.groups)
            .filter(|(a, b)| a < b)
            .collect();
        all.sort_unstable();
        let mut merged: Vec<(u64, u64)> = Vec::new();
        for (a, b) in all {
            match merged.last_mut() {
                Some(last) if a <= last.1 => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        merged
    }
}

/// A planned job: operations `start..end` of the customer's work, and what it touches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PlannedJob {
    pub start: u64,
    pub end: u64,
    pub touches: BTreeSet<String>,
}

/// Cuts `customer`'s work into jobs of at most `job_size`, never inside a linked stretch; a
/// stretch longer than a job is an error naming it.
pub(crate) async fn plan(
    customer: CustomerId,
    source: &mut OperationSource,
    job_size: u64,
) -> Result<Vec<PlannedJob>, Error> {
    let mut spans = Spans::default();
    let mut total = 0u64;
    let mut stream = source.open().ok_or_else(|| {
        Error::invalid(
            "source",
            "a fleet reads each customer's work twice: give a re-openable source",
        )
    })?;
    while let Some(operation) = stream.next().await {
        spans.operation(customer, total, &operation?);
        total += 1;
    }
    let cuts = cut_points(total, &spans.stretches(), job_size)
        .map_err(|(a, b)| group_too_large(customer, a, b, job_size, false))?;
    let bounds: Vec<(u64, u64)> = std::iter::once(0)
        .chain(cuts.iter().copied())
        .zip(cuts.iter().copied().chain(std::iter::once(total)))
        .filter(|(a, b)| a < b)
        .collect();
    // What each job touches: a second pass.
    let mut jobs: Vec<PlannedJob> = bounds
        .into_iter()
        .map(|(start, end)| PlannedJob {
            start,
            end,
            touches: BTreeSet::new(),
        })
        .collect();
    let mut stream = source
        .open()
        .ok_or_else(|| Error::invalid("source", "cannot be read again"))?;
    let (mut at, mut job) = (0u64, 0usize);
    while let Some(operation) = stream.next().await {
        let operation = operation?;
        while job + 1 < jobs.len() && at >= jobs[job].end {
            job += 1;
        }
        if let Some(planned) = jobs.get_mut(job) {
            touches(customer, &operation, &mut planned.touches);
        }
        at += 1;
    }
    Ok(jobs)
}

/// The operations `source` gives, counted in one pass.
pub(crate) async fn count(source: &mut OperationSource) -> Result<u64, Error> {
    let mut stream = source
        .open()
        .ok_or_else(|| Error::invalid("source", "cannot be read again"))?;
    let mut total = 0u64;
    while let Some(operation) = stream.next().await {
        operation?;
        total += 1;
    }
    Ok(total)
}

/// Every temporary id `operation` names, in the order met: `(id, created, name)`, `created`
/// when the operation creates the resource the id stands for (its own name, in a create),
/// `name` the resource name the id is in. A body's own `resource_name` repeats the
/// operation's name and is not visited twice.
pub(crate) fn temp_mentions<'a>(
    customer: CustomerId,
    operation: &'a MutateOperation,
    mut visit: impl FnMut(i64, bool, &'a str),
) {
    let info = info(operation);
    if let Some(own) = info.own_name
        && let Owner::Ours(name) = parse(customer, own)
    {
        for (id, _) in name.parent_temps() {
            visit(id, false, own);
        }
        if let Some(id) = name.own_temp() {
            visit(id, info.verb == Verb::Create, own);
        }
    }
    if let Some(body) = info.body {
        let action = info.verb == Verb::Action;
        let mut strings = |path: &FieldPath, value: &'a str, _: &'static str| {
            if !value.starts_with("customers/") || (!action && path.is("resource_name")) {
                return;
            }
            if let Owner::Ours(name) = parse(customer, value) {
                for (id, _) in name.parent_temps() {
                    visit(id, false, value);
                }
                if let Some(id) = name.own_temp() {
                    visit(id, false, value);
                }
            }
        };
        body.strings(&mut FieldPath::default(), &mut strings);
    }
}

/// The error for linked operations `first..=last` of `customer`'s work that do not fit one
/// job; `at_least` when more may follow (a stream read once sees only so far).
pub(crate) fn group_too_large(
    customer: CustomerId,
    first: u64,
    last: u64,
    job_size: u64,
    at_least: bool,
) -> Error {
    let count = last.saturating_sub(first).saturating_add(1);
    let count = if at_least {
        format!("at least {count}")
    } else {
        count.to_string()
    };
    Error::violated(vec![Violation::new(
        usize::try_from(first).ok(),
        format!("customer {customer}: mutate_operations[{first}..={last}]"),
        format!(
            "{count} linked operations (temporary names, an all-or-nothing sub-batch) must go in one job, which holds at most {job_size}"
        ),
    )])
}

/// Adds to `touches` (a job's) the campaign of each ad group it names: one GAQL query.
pub(crate) async fn add_campaigns(
    client: &GoogleAdsClient,
    customer: CustomerId,
    touches: &mut BTreeSet<String>,
) -> Result<(), Error> {
    let groups: Vec<String> = touches
        .iter()
        .filter_map(|t| t.strip_prefix("adGroups/"))
        .map(|id| format!("'customers/{customer}/adGroups/{id}'"))
        .collect();
    if groups.is_empty() {
        return Ok(());
    }
    let query = format!(
        "SELECT ad_group.resource_name, ad_group.campaign FROM ad_group WHERE ad_group.resource_name IN ({})",
        groups.join(", ")
    );
    // A stream: a job may touch more ad groups than one page of Search holds.
    let mut rows = client.search_stream(customer, &query).await?;
    while let Some(row) = rows.next().await {
        if let Some(campaign) = row?.ad_group.and_then(|g| g.campaign)
            && let Some(id) = campaign.rsplit('/').next()
            && !id.is_empty()
            && id.bytes().all(|b| b.is_ascii_digit())
        {
            touches.insert(format!("campaigns/{id}"));
        }
    }
    Ok(())
}

/// The campaigns and ad groups (with real ids) `operation` names, as `campaigns/ID` and
/// `adGroups/ID`: its own name and its references, composite names' parents included.
pub(crate) fn touches(
    customer: CustomerId,
    operation: &MutateOperation,
    into: &mut BTreeSet<String>,
) {
    let info = info(operation);
    let mut add = |value: &str| {
        let Owner::Ours(name) = parse(customer, value) else {
            return;
        };
        let variables = crate::resource_names::ALL
            .iter()
            .find(|p| p.resource_type == name.pattern.resource_type)
            .map_or(&[][..], |p| p.variables);
        for (var, part) in variables.iter().skip(1).zip(name.parts()) {
            let kind = match *var {
                "campaign_id" => "campaigns",
                "ad_group_id" => "adGroups",
                _ => continue,
            };
            if part.bytes().all(|b| b.is_ascii_digit()) {
                into.insert(format!("{kind}/{part}"));
            }
        }
    };
    if let Some(own) = info.own_name {
        add(own);
    }
    if let Some(body) = info.body {
        let mut visit = |_: &FieldPath, value: &str, _: &'static str| {
            if value.starts_with("customers/") {
                add(value);
            }
        };
        body.strings(&mut FieldPath::default(), &mut visit);
    }
}

/// One customer's operations read from a merged stream and not yet in a job, cut into jobs
/// online (the rule is [`FleetRunner::from_stream`](super::FleetRunner::from_stream)'s),
/// and the temporary ids of the jobs already cut, to refuse a late use of one.
pub(crate) struct OpenWork {
    customer: CustomerId,
    /// The index, in the customer's work, of `operations[0]`.
    base: u64,
    operations: Vec<MutateOperation>,
    /// Temporary id -> the job (first operation, the one after its last) it went into.
    retired: FxHashMap<i64, (u64, u64)>,
}

impl OpenWork {
    /// Nothing read yet; `base` operations of the customer's work are in jobs already.
    pub(crate) fn new(customer: CustomerId, base: u64) -> Self {
        Self {
            customer,
            base,
            operations: Vec::new(),
            retired: FxHashMap::default(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.operations.len()
    }

    /// Remembers the temporary ids of `operation`, in the job `start..end` already cut.
    pub(crate) fn retire(&mut self, (start, end): (u64, u64), operation: &MutateOperation) {
        temp_mentions(self.customer, operation, |id, _, _| {
            self.retired.insert(id, (start, end));
        });
    }

    /// Adds the customer's next operation; one that uses a temporary name of a job already
    /// cut is refused, naming the customer and the operation's index in its work. A create
    /// of such an id starts a new resource (the id's scope was the other job).
    pub(crate) fn push(&mut self, operation: MutateOperation) -> Result<(), Error> {
        let index = self.base.saturating_add(self.operations.len() as u64);
        let mut late = None;
        temp_mentions(self.customer, &operation, |id, created, name| {
            if created {
                self.retired.remove(&id);
            } else if late.is_none()
                && let Some(job) = self.retired.get(&id)
            {
                late = Some((id, name.to_owned(), *job));
            }
        });
        if let Some((id, name, (start, end))) = late {
            return Err(Error::violated(vec![Violation::new(
                usize::try_from(index).ok(),
                format!("customer {}: mutate_operations[{index}]", self.customer),
                format!(
                    "uses temporary id {id} ({name}) of a job already cut (operations {start}..{end}): in a merged stream every use of a temporary name must come before the customer's operations move on to others not linked to it"
                ),
            )]));
        }
        self.operations.push(operation);
        Ok(())
    }

    /// How many operations from the front make the next job: at most `job_size`, never
    /// inside a linked stretch seen so far. While `open` (the stream goes on) the buffer is
    /// cut only when it holds more than `job_size`: a stretch reaching the newest operation
    /// and starting before `job_size` holds the candidate cut, so it stays whole in the
    /// buffer. A stretch that cannot fit is an error (`at least`, when open).
    pub(crate) fn cut(&self, job_size: u64, open: bool) -> Result<usize, Error> {
        let mut spans = Spans::default();
        for (at, operation) in self.operations.iter().enumerate() {
            spans.operation(self.customer, at as u64, operation);
        }
        let len = self.operations.len() as u64;
        // The first cut of the buffer, or all of it when it fits one job.
        let cut = cut_points(len, &spans.stretches(), job_size)
            .map_err(|(a, b)| {
                group_too_large(
                    self.customer,
                    self.base.saturating_add(a),
                    self.base.saturating_add(b),
                    job_size,
                    open,
                )
            })?
            .first()
            .copied()
            .unwrap_or(len);
        Ok(usize::try_from(cut).unwrap_or(usize::MAX))
    }

    /// Takes the first `count` operations out as a job: its first index and its operations.
    pub(crate) fn take(&mut self, count: usize) -> (u64, Vec<MutateOperation>) {
        let count = count.min(self.operations.len());
        let start = self.base;
        let taken: Vec<MutateOperation> = self.operations.drain(..count).collect();
        self.base = self.base.saturating_add(count as u64);
        let job = (start, self.base);
        for operation in &taken {
            self.retire(job, operation);
        }
        (start, taken)
    }
}
