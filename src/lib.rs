#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

#[rustfmt::skip]
mod generated;
pub mod auth;
mod client;
pub mod config;
mod error;
pub mod failure;
pub mod layer;
pub mod partial_failure;
pub mod resource_name;
pub mod retry;
pub mod search;
mod secret;
pub mod transport;

pub use client::{AdsChannel, BuildError, GoogleAdsClient, with_login_customer_id};
pub use config::{Config, ConfigError, Credentials};
pub use error::Error;
pub use partial_failure::{MutateResponse, PartialFailure};
pub use secret::Secret;

#[cfg(feature = "fake")]
pub mod fake;

include!(concat!(env!("GOOGLE_ADS_GENERATED"), "/api_version.rs"));

pub use generated::FILE_DESCRIPTOR_SET;
pub use generated::resource_names;

/// `google.api` annotations the API's protos import.
pub use generated::google::api;
/// `google.longrunning`: the operations service that batch jobs run under.
pub use generated::google::longrunning;
/// `google.rpc`: status, error details and codes.
pub use generated::google::rpc;
/// `google.type` messages the API uses (e.g. `Money`).
pub use generated::google::r#type;
