//! Everything build.rs writes from `proto/`, fenced here: generated code gets no lints and
//! no formatting, hand-written code gets both. Do not edit: change `proto/` or build.rs.
#![allow(
    clippy::all,
    clippy::pedantic,
    missing_docs,
    rustdoc::all,
    unreachable_pub,
    non_camel_case_types
)]

include!(concat!(env!("OUT_DIR"), "/protos.rs"));

/// Resource-name structs, one per `google.api.resource` pattern.
pub mod resource_names {
    include!(concat!(env!("OUT_DIR"), "/resource_names.rs"));
}

// One accessor per service on GoogleAdsClient.
include!(concat!(env!("OUT_DIR"), "/client_accessors.rs"));

/// The encoded `FileDescriptorSet` of every vendored proto, without source info.
pub static FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/descriptor_set.bin"));

/// Error-code names, operation fields and `MutateResponse` impls, from the descriptors.
pub(crate) mod error_tables {
    include!(concat!(env!("OUT_DIR"), "/error_tables.rs"));
}
