//! A client for the Google Ads API over gRPC: a typed handle for every service of the API
//! version vendored in `proto/`, one [`Error`] type with the `GoogleAdsFailure` already
//! decoded, retries that respect quotas and idempotency, and engines for the heavy work
//! (reports, mutates with temporary names, batch jobs).
//!
//! # Quick start
//!
//! Configuration comes from google-ads.yaml, `GOOGLE_ADS_*` variables or a builder
//! ([`Config`]); the client is built once and cloned freely.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use google_ads::latest::services::ListAccessibleCustomersRequest;
//! use google_ads::search::StreamExt as _;
//! use google_ads::{Config, GoogleAdsClient};
//!
//! // GOOGLE_ADS_* variables, else ~/google-ads.yaml, as the README says.
//! let config = Config::discover()?.ok_or("no google-ads.yaml and no GOOGLE_ADS_* variables")?;
//! let client = GoogleAdsClient::builder(config).build()?;
//!
//! // A plain call through a service handle: the response, or an Error whose Display shows
//! // the failure's codes, field paths and request id.
//! let customers = client
//!     .customer()
//!     .list_accessible_customers(ListAccessibleCustomersRequest {})
//!     .await?;
//! println!("{} accessible customers", customers.resource_names.len());
//!
//! // A report, read row by row by field path.
//! let query = "SELECT campaign.id, campaign.name FROM campaign";
//! let mut rows = client.search_stream("1234567890", query).await?.lazy();
//! while let Some(row) = rows.next().await {
//!     let row = row?;
//!     println!("{} {}", row.get("campaign.id")?, row.get("campaign.name")?);
//! }
//! # Ok(()) }
//! ```
//!
//! To try it without an account, feature `fake` has an in-memory server (`google_ads::fake`,
//! with that feature) that any client can be pointed at.
//!
//! # Modules
//!
//! | Module | What it gives you |
//! |---|---|
//! | [`client`] | [`GoogleAdsClient`], its builder, and one handle per service (`client.campaign()`...) |
//! | [`config`] | [`Config`] from google-ads.yaml, `GOOGLE_ADS_*` variables or code |
//! | [`auth`] | Where access tokens come from ([`auth::TokenSource`]) and their cache |
//! | [`transport`] | The TLS channel's options |
//! | [`layer`] | What every call goes through: headers, token, quota budget, attempts, tracing; [`CallOptions`], [`QuotaBudget`] |
//! | [`retry`] | Retry policies ([`retry::GoogleRetry`], the default) and their decorators |
//! | [`error`] | [`Error`]; [`failure`] (reading a GoogleAdsFailure); [`partial_failure`] |
//! | [`search`] | GAQL reports as streams of rows read by path; CSV and JSON-lines writers |
//! | [`accounts`] | Every account under some managers ([`accounts::AccountTree`]), walked through sub-managers |
//! | [`account_report`] | One query over many accounts into one file ([`account_report::AccountReport`]) |
//! | [`mutate`] | Typed mutates with temporary names, checked before sending, results in order |
//! | [`batch`] | Batch jobs: [`batch::BatchJobDriver`] for one, [`batch::FleetRunner`] for many |
//! | [`customer_id`] | [`CustomerId`], checked once |
//! | [`resource_name`], [`resource_names`] | Typed resource names, one struct per pattern |
//! | [`latest`], `v25`, `v26`, [`rpc`], [`longrunning`] | The generated messages (and, with feature `raw-clients`, tonic clients) of each enabled API version (features `v25`, `v26`; the newest is the default); `client.v25()` for an older version's handles |
//!
//! How the pieces fit together is in ARCHITECTURE.md at the root of the repository.
#![warn(missing_docs)]

#[rustfmt::skip]
mod generated;

pub mod account_report;
pub mod accounts;
pub mod auth;
pub mod batch;
pub mod client;
pub mod config;
pub mod customer_id;
pub mod error;
pub mod layer;
pub mod mutate;
pub mod resource_name;
mod schema;
pub mod search;
mod secret;
pub mod transport;

#[cfg(feature = "fake")]
pub mod fake;

pub use client::{AdsChannel, GoogleAdsClient, GoogleAdsClientBuilder};
pub use config::{Config, ConfigError, Credentials};
pub use customer_id::CustomerId;
pub use error::partial_failure::{MutateResponse, PartialFailure};
pub use error::{Error, Violation};
pub use error::{failure, partial_failure};
pub use layer::{CallOptions, QuotaBudget, retry};
pub use secret::Secret;

/// The crates whose types appear in this one's API, so users need no matching versions of
/// their own.
pub use {prost, prost_types, tonic};

/// The API version modules of the enabled version features (`google_ads::v25`,
/// `google_ads::v26`); `latest` names the newest enabled.
pub use generated::google::ads::googleads::*;
/// The newest API version's module: the same items as `v26`, documented there once (a full
/// second copy of the docs was half of `cargo doc`'s time and size).
#[doc(no_inline)]
pub use generated::latest;
pub use generated::{
    API_VERSION, API_VERSIONS, AVAILABLE_API_VERSIONS, FAILURE_TRAILER_KEY, FAILURE_TRAILER_KEYS,
    FILE_DESCRIPTOR_SET,
};

/// Resource-name structs, one per `google.api.resource` pattern of the API (`CampaignName`,
/// `AdGroupAdName`...), built with `new` (each part checked; negative temporary ids
/// allowed), printed with `Display`, parsed with `FromStr`; [`resource_names::ALL`] lists
/// every pattern. What they share is in [`resource_name`].
///
/// ```
/// use google_ads::resource_names::CampaignName;
///
/// // A temporary name for a campaign created in the same request.
/// let campaign = CampaignName::new(1234567890, -1)?;
/// assert_eq!(campaign.to_string(), "customers/1234567890/campaigns/-1");
/// # Ok::<(), google_ads::resource_name::ResourceNameError>(())
/// ```
pub mod resource_names {
    use crate::resource_name::define_resource_names;
    crate::generated::resource_name_table!(define_resource_names);
}

/// `google.api` annotations the API's protos import.
pub use generated::google::api;
/// `google.longrunning`: the operations service that batch jobs run under.
pub use generated::google::longrunning;
/// `google.rpc`: status, error details and codes.
pub use generated::google::rpc;
/// `google.type` messages the API uses (e.g. `Money`).
pub use generated::google::r#type;

/// The README's code blocks, compiled as doc tests (the crate docs are written above; the
/// README is not part of them).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
