//! The one integration-test binary (every extra binary re-links the large generated crate).

#[cfg(feature = "fake")]
mod client;
#[cfg(feature = "fake")]
mod errors;
#[cfg(feature = "fake")]
mod fake;
mod protos;
mod resource_names;
