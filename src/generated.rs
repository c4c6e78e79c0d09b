//! Everything google-ads-types/build.rs writes from `proto/` for this crate, fenced here:
//! generated code gets no lints and no formatting, hand-written code gets both. Do not edit:
//! change `proto/` or that build script.
//!
//! The module tree holds the packages with services (compiled here, next to tonic) and
//! re-exports the others from google-ads-types at the same paths.
#![allow(
    clippy::all,
    clippy::pedantic,
    missing_docs,
    rustdoc::all,
    unreachable_pub,
    non_camel_case_types
)]

include!(concat!(env!("GOOGLE_ADS_GENERATED"), "/client_tree.rs"));

/// Resource-name structs, one per `google.api.resource` pattern.
pub mod resource_names {
    include!(concat!(env!("GOOGLE_ADS_GENERATED"), "/resource_names.rs"));
}

// One accessor per service on GoogleAdsClient.
include!(concat!(env!("GOOGLE_ADS_GENERATED"), "/client_accessors.rs"));

/// The encoded `FileDescriptorSet` of every vendored proto, without source info.
pub static FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("GOOGLE_ADS_GENERATED"), "/descriptor_set.bin"));

/// Error-code names, operation fields and `MutateResponse` impls, from the descriptors.
pub(crate) mod error_tables {
    include!(concat!(env!("GOOGLE_ADS_GENERATED"), "/error_tables.rs"));
}
