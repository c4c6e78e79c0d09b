//! What a batch job is checked for before its operations go up: the mutate checks (temporary
//! names across the whole job), operations a job cannot hold, all-or-nothing sub-batches kept
//! together, and a warning for a resource written twice.

use rustc_hash::FxHashMap;

use crate::error::Violation;
use crate::latest::services::{MutateOperation, mutate_operation::Operation};
use crate::mutate::{Validator, Verb, info};
use crate::{CustomerId, Error};

/// Members a job refuses: GoogleAdsService.Mutate only (API notes, section 1), and the
/// actions reported to end in INTERNAL_ERROR or to hang.
const NOT_IN_JOBS: &[&str] = &[
    "campaign_conversion_goal_operation",
    "conversion_goal_campaign_config_operation",
    "custom_conversion_goal_operation",
    "customer_conversion_goal_operation",
    "customer_operation",
    "book_campaigns_operation",
    "quote_campaigns_operation",
];

/// The all-or-nothing sub-batch an operation belongs to: an asset group with its asset group
/// assets, one asset group's listing group filters, a campaign with its campaign assets,
/// named by the parent's resource name.
pub(crate) fn sub_batch(operation: &MutateOperation) -> Option<(&'static str, &str)> {
    use crate::latest::services::{
        asset_group_asset_operation as aga, asset_group_listing_group_filter_operation as lgf,
        asset_group_operation as ag, campaign_asset_operation as ca, campaign_operation as c,
    };
    let non_empty = |s: &str| (!s.is_empty()).then_some(());
    match operation.operation.as_ref()? {
        Operation::AssetGroupOperation(op) => match op.operation.as_ref()? {
            ag::Operation::Create(r) | ag::Operation::Update(r) => {
                non_empty(&r.resource_name)?;
                Some(("asset_group", &r.resource_name))
            }
            _ => None,
        },
        Operation::AssetGroupAssetOperation(op) => match op.operation.as_ref()? {
            aga::Operation::Create(r) | aga::Operation::Update(r) => {
                Some(("asset_group", r.asset_group.as_str())).filter(|(_, p)| !p.is_empty())
            }
            _ => None,
        },
        Operation::AssetGroupListingGroupFilterOperation(op) => match op.operation.as_ref()? {
            lgf::Operation::Create(r) | lgf::Operation::Update(r) => {
                Some(("listing_tree", r.asset_group.as_str())).filter(|(_, p)| !p.is_empty())
            }
            _ => None,
        },
        Operation::CampaignOperation(op) => match op.operation.as_ref()? {
            c::Operation::Create(r) | c::Operation::Update(r) => {
                non_empty(&r.resource_name)?;
                Some(("campaign", &r.resource_name))
            }
            _ => None,
        },
        Operation::CampaignAssetOperation(op) => match op.operation.as_ref()? {
            ca::Operation::Create(r) | ca::Operation::Update(r) => r
                .campaign
                .as_deref()
                .filter(|p| !p.is_empty())
                .map(|p| ("campaign", p)),
            _ => None,
        },
        _ => None,
    }
}

/// The checks of one job, fed operations in upload order.
pub(crate) struct JobChecks {
    validator: Validator,
    violations: Vec<Violation>,
    /// Sub-batches of parents the job creates, closed once another operation came between:
    /// (kind, hash of the parent's name) -> (first, last) operation: 24 bytes per parent.
    closed: FxHashMap<(&'static str, u64), (u64, u64)>,
    open: Option<((&'static str, u64), u64, u64)>,
    /// Hash of each real resource name written -> the first operation writing it (a few
    /// bytes per update or remove, for the warning).
    written: FxHashMap<u64, u64>,
    customer: CustomerId,
    checked: u64,
}

impl JobChecks {
    pub fn new(customer: CustomerId) -> Self {
        Self {
            validator: Validator::new(customer, "mutate_operations"),
            violations: Vec::new(),
            closed: FxHashMap::default(),
            open: None,
            written: FxHashMap::default(),
            customer,
            checked: 0,
        }
    }

    /// How many operations were checked.
    pub fn checked(&self) -> u64 {
        self.checked
    }

    /// Checks the next operation.
    pub fn check(&mut self, operation: &MutateOperation) {
        let index = self.checked;
        self.checked += 1;
        let i = usize::try_from(index).unwrap_or(usize::MAX);
        self.validator.check(i, operation);
        let info = info(operation);
        if NOT_IN_JOBS.contains(&info.member) {
            self.violations.push(Violation::new(
                Some(i),
                format!("mutate_operations[{index}].{}", info.member),
                "a batch job cannot hold this operation: send it with GoogleAdsService.Mutate",
            ));
        }
        if let Some(own) = info.own_name
            && matches!(info.verb, Verb::Update | Verb::Remove)
            && !own.contains("/-")
            && !own.contains("~-")
        {
            let hash = crate::batch::state::fnv1a(0xcbf2_9ce4_8422_2325, own.as_bytes());
            if let Some(first) = self.written.get(&hash) {
                tracing::warn!(
                    operation = index,
                    first,
                    resource = own,
                    "the same resource is written twice in one batch job (best practice: once)"
                );
            } else {
                self.written.insert(hash, index);
            }
        }
        self.sub_batch(index, operation);
    }

    /// Keeps the sub-batches of parents the job creates in one run.
    fn sub_batch(&mut self, index: u64, operation: &MutateOperation) {
        let parent = sub_batch(operation);
        let key = parent.map(|(kind, parent)| {
            (
                kind,
                crate::batch::state::fnv1a(0xcbf2_9ce4_8422_2325, parent.as_bytes()),
            )
        });
        if let (Some(key), Some((open, _, last))) = (&key, self.open.as_mut())
            && key == open
        {
            *last = index;
            return;
        }
        if let Some((key, first, last)) = self.open.take() {
            self.closed.insert(key, (first, last));
        }
        let (Some(key), Some((kind, parent))) = (key, parent) else {
            return;
        };
        // Only parents this job creates (temporary names) form a checked sub-batch.
        if !(parent.contains("/-") || parent.contains("~-")) {
            return;
        }
        if let Some((first, last)) = self.closed.get(&key) {
            self.violations.push(Violation::new(
                usize::try_from(index).ok(),
                format!("mutate_operations[{index}]"),
                format!(
                    "belongs to the all-or-nothing group of {parent} (operations {first}..={last}), but other operations come between: keep a {} sub-batch together",
                    kind.replace('_', " ")
                ),
            ));
        }
        self.open = Some((key, index, index));
    }

    /// Whether a rule is already known broken.
    pub fn failed(&self) -> bool {
        !self.violations.is_empty() || !self.validator.violations().is_empty()
    }

    /// Ends the checks: every rule broken, in operation order.
    pub fn finish(self) -> Result<(), Error> {
        let mut violations = self.violations;
        if let Err(error) = self.validator.finish() {
            violations.extend(error.violations().iter().cloned());
        }
        if violations.is_empty() {
            return Ok(());
        }
        violations.sort_by_key(Violation::operation);
        let _ = self.customer;
        Err(Error::violated(violations))
    }
}
