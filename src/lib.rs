#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

#[rustfmt::skip]
mod generated;

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
pub use layer::{CallOptions, retry};
pub use secret::Secret;

/// The crates whose types appear in this one's API, so users need no matching versions of
/// their own.
pub use {prost, prost_types, tonic};

/// The API version modules (`google_ads::v26`); `latest` names the newest.
pub use generated::google::ads::googleads::*;
pub use generated::{API_VERSION, FAILURE_TRAILER_KEY, FILE_DESCRIPTOR_SET, latest};

/// Resource-name structs, one per `google.api.resource` pattern of the API (`CampaignName`,
/// `AdGroupAdName`...), built with `new` (each part checked; negative temporary ids
/// allowed), printed with `Display`, parsed with `FromStr`; [`resource_names::ALL`] lists
/// every pattern. What they share is in [`resource_name`].
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
