//! Mutates that cannot go wrong: typed operations without the nesting ([`Operations`]),
//! temporary resource names allocated ([`TempNames`]) and checked before anything is sent,
//! dependency-safe grouping by resource type and splitting over requests
//! ([`MutateRequest`]), results back in the caller's order ([`MutateResults`]), and field
//! masks that keep `false` and `0` ([`FieldMaskBuilder`], [`diff`]).
//!
//! Owns: building and checking GoogleAdsService.Mutate requests and mapping their results
//! back to the caller's operations; the typed verbs of every `MutateOperation` member, read
//! from the protos by the code generator. Does not own: the call (the `GoogleAdsService`
//! handle and the layer) or batch jobs (`batch` reuses the validator and the partitioner).
//!
//! ```no_run
//! # async fn demo(client: google_ads::GoogleAdsClient) -> Result<(), google_ads::Error> {
//! use google_ads::latest::resources::{Campaign, CampaignBudget};
//! use google_ads::mutate::{MutateResult as _, Operations};
//!
//! let mut operations = Operations::new("1234567890")?;
//! let budget = operations.create(CampaignBudget {
//!     name: Some("Budget".into()),
//!     amount_micros: Some(50_000_000),
//!     ..Default::default()
//! })?;
//! operations.create(Campaign {
//!     name: Some("Campaign".into()),
//!     campaign_budget: Some(budget.to_string()),
//!     ..Default::default()
//! })?;
//! // Checked (temporary names, customer, masks), sent atomically, results in order.
//! let results = client.mutate(operations).send().await?;
//! for name in results.resource_names() {
//!     println!("{}", name.unwrap_or("-"));
//! }
//! # Ok(()) }
//! ```

mod mask;
mod members;
mod names;
mod order;
mod request;
mod strings;
mod validate;

pub use mask::{FieldMaskBuilder, diff, field_mask};
pub use members::{Create, MutateResource, RemovableName, Remove, Update, describe};
pub use names::TempNames;
pub use request::{
    MutateRequest, MutateResult, MutateResults, Operations, Outcome, PreparedRequest,
};
pub use validate::MAX_OPERATIONS_PER_REQUEST;

// For the batch driver, which checks and splits jobs the same way.
pub(crate) use members::{Verb, info};
pub(crate) use names::{Owner, parse};
pub(crate) use order::cut_points;
pub(crate) use strings::FieldPath;
pub(crate) use validate::Validator;
