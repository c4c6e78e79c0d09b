//! Everything google-ads-types/build/ writes from `proto/` for this crate, fenced here:
//! generated code gets no lints and no formatting, hand-written code gets both. Do not edit:
//! change `proto/` or that build script.
//!
//! - The module tree of the packages with services (compiled here, next to tonic), with the
//!   other packages re-exported from google-ads-types at the same paths: every enabled API
//!   version (`google::ads::googleads::v25`, `v26`), each with its own constants and `paths`.
//! - The crate-wide version constants, `latest` (the newest enabled) and `version_table!`.
//! - Tables of data as callback macros (`service_table!`, `resource_name_table!`,
//!   `error_code_table!`...): the hand-written modules that own each concern expand them with
//!   their own macros, so this module imports nothing from the rest of the crate.
#![allow(
    clippy::all,
    clippy::pedantic,
    missing_docs,
    rustdoc::all,
    unreachable_pub,
    non_camel_case_types,
    unused_macros,
    unused_imports
)]

include!(concat!(env!("ADS_CODEGEN_DIR"), "/client_tree.rs"));
include!(concat!(env!("ADS_CODEGEN_DIR"), "/api_version.rs"));
include!(concat!(env!("ADS_CODEGEN_DIR"), "/resource_names.rs"));
include!(concat!(env!("ADS_CODEGEN_DIR"), "/error_tables.rs"));
include!(concat!(env!("ADS_CODEGEN_DIR"), "/mutate_tables.rs"));
